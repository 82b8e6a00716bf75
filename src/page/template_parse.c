/*
 * template_parse.c - reading a template's text into its compiled tree, with
 * Tornado's rules: "{{", "{%" and "{#" open tags (the innermost of three or
 * more braces), "{{!" and "{%!" are the braces themselves, text between tags
 * is filtered by the whitespace mode in force where it stands, and
 * {% autoescape %} holds for the whole file.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page/template_impl.h"

enum { TWS_ALL, TWS_SINGLE, TWS_ONELINE };

struct tparser {
    struct template *t;
    const char *text;
    size_t len, pos;
    int line;
    int ws;
    struct template_err *err;
    int failed;
};

/* How a body ended: at the end of the text, at {% end %}, or at an
 * intermediate tag (else, elif, except, finally) whose op and suffix are
 * given back. */
enum { TEND_EOF, TEND_END, TEND_MID, TEND_ERROR };

void template_err_set(struct template_err *err, const char *file, int line, const char *fmt, ...)
{
    char what[TEMPLATE_ERR_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(err->file, sizeof(err->file), "%s", file);
    err->line = line;
    snprintf(err->msg, sizeof(err->msg), "%.255s:%d: %.240s", file, line, what);
}

__attribute__((format(printf, 2, 3))) static int tparse_fail(struct tparser *p, const char *fmt,
                                                             ...)
{
    char what[TEMPLATE_ERR_SIZE];
    va_list ap;
    if (p->failed)
        return TEND_ERROR;
    p->failed = 1;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    template_err_set(p->err, p->t->name, p->line, "%s", what);
    return TEND_ERROR;
}

static int tparse_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

/* Tornado's filter_whitespace: "single" makes runs of spaces and tabs one
 * space and any run of white space holding a newline one newline;
 * "oneline" makes every run of white space one space. */
static char *tparse_filter(const char *s, size_t n, int mode, size_t *outlen)
{
    char *out = calloc(1, n + TNODE_TEXT_PAD), *o = out;
    if (out == NULL)
        abort();
    int keep = mode == TWS_ALL || memmem(s, n, "<pre>", 5) != NULL;
    for (size_t i = 0; i < n;) {
        if (keep || !tparse_space(s[i])) {
            *o++ = s[i++];
            continue;
        }
        size_t j = i;
        int nl = 0;
        while (j < n && tparse_space(s[j]))
            nl |= s[j++] == '\n';
        if (mode == TWS_ONELINE) {
            *o++ = ' ';
        } else if (nl) {
            *o++ = '\n';
        } else {
            for (size_t k = i; k < j; k++) /* only runs of spaces and tabs collapse */
                if (s[k] != ' ' && s[k] != '\t')
                    *o++ = s[k];
                else if (k == i || (s[k - 1] != ' ' && s[k - 1] != '\t'))
                    *o++ = ' ';
        }
        i = j;
    }
    *outlen = (size_t)(o - out);
    *o = '\0';
    return out;
}

static struct tnode *tparse_node(struct tparser *p, enum tnode_kind kind, int line)
{
    struct tnode *n = calloc(1, sizeof(*n));
    if (n == NULL)
        abort();
    n->kind = kind;
    n->line = line;
    n->owner = p->t;
    return n;
}

static void tbody_push(struct tbody *b, struct tnode *n)
{
    b->nodes = realloc(b->nodes, (b->n + 1) * sizeof(*b->nodes));
    if (b->nodes == NULL)
        abort();
    b->nodes[b->n++] = n;
}

static void tparse_text(struct tparser *p, struct tbody *b, const char *s, size_t n, int line)
{
    size_t len;
    char *text = tparse_filter(s, n, p->ws, &len);
    if (len == 0) {
        free(text);
        return;
    }
    struct tnode *node = tparse_node(p, TN_TEXT, line);
    node->text = text;
    node->len = len;
    tbody_push(b, node);
}

static struct texpr *tparse_expr(struct tparser *p, const char *s, size_t n)
{
    char what[256];
    struct texpr *e = texpr_compile(s, n, what, sizeof(what));
    if (e == NULL)
        tparse_fail(p, "%s in \"%.*s\"", what, (int)(n > 80 ? 80 : n), s);
    return e;
}

static char *tparse_strip_quotes(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '"' || s[n - 1] == '\''))
        n--;
    while (n > 0 && (*s == '"' || *s == '\'')) /* Tornado strips '"' then '\'' */
        s++, n--;
    char *out = strndup(s, n);
    if (out == NULL)
        abort();
    return out;
}

static char *tparse_resolve(struct tparser *p, const char *suffix, const char *what)
{
    char *name = tparse_strip_quotes(suffix), path[512];
    if (*name == '\0') {
        free(name);
        tparse_fail(p, "%s missing file path", what);
        return NULL;
    }
    if (template_cache_resolve(p->t->name, name, path, sizeof(path)) < 0) {
        tparse_fail(p, "%s: expected a template name inside the template folder, not %s", what,
                    name);
        free(name);
        return NULL;
    }
    free(name);
    char *out = strdup(path);
    if (out == NULL)
        abort();
    return out;
}

/* "x" or "k, v" (or "(k, v)"): a for loop's or set's names. */
static int tparse_vars(struct tparser *p, struct tnode *n, const char *s, size_t len)
{
    char buf[256];
    if (len >= sizeof(buf)) {
        tparse_fail(p, "expected one or two names, not \"%.*s\"", (int)len, s);
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *save = NULL;
    for (char *tok = strtok_r(buf, ", ()\t", &save); tok; tok = strtok_r(NULL, ", ()\t", &save)) {
        int ok = n->nvars < 2 && !(*tok >= '0' && *tok <= '9');
        for (char *c = tok; *c; c++)
            ok &= (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || *c == '_' ||
                  (*c >= '0' && *c <= '9');
        if (!ok) {
            tparse_fail(p, "expected one or two names to assign, not \"%.*s\"", (int)len, s);
            return -1;
        }
        n->vars[n->nvars] = strdup(tok);
        if (n->vars[n->nvars++] == NULL)
            abort();
    }
    if (n->nvars == 0) {
        tparse_fail(p, "expected a name to assign");
        return -1;
    }
    return 0;
}

/* Note a block or an include in the file's list of them (see struct
 * template), in the order they open. */
static void tparse_named(struct tparser *p, struct tnode *n)
{
    p->t->blocks = realloc(p->t->blocks, (p->t->nblocks + 1) * sizeof(*p->t->blocks));
    if (p->t->blocks == NULL)
        abort();
    p->t->blocks[p->t->nblocks++] = n;
}

static int tparse_body(struct tparser *p, struct tbody *b, const char *in_block, int in_loop,
                       char **mid_op, char **mid_suffix);

static struct tbody *tparse_add_body(struct tnode *n)
{
    n->bodies = realloc(n->bodies, (n->nbodies + 1) * sizeof(*n->bodies));
    if (n->bodies == NULL)
        abort();
    memset(&n->bodies[n->nbodies], 0, sizeof(n->bodies[0]));
    return &n->bodies[n->nbodies++];
}

/* Parse a block's bodies up to its {% end %}: the first one, then one
 * after each intermediate tag its kind allows, in Python's order (elif may
 * repeat). if: bodies[i] for conds[i], then the else body; for, while:
 * body, else; try: body, except, else, finally (empty when absent). */
static int tparse_bodies(struct tparser *p, struct tnode *n, const char *op, int in_loop)
{
    static const char *const if_mid[] = {"elif", "else", NULL};
    static const char *const loop_mid[] = {"else", NULL};
    static const char *const try_mid[] = {"except", "else", "finally", NULL};
    static const char *const none[] = {NULL};
    int is_try = strcmp(op, "try") == 0, is_if = strcmp(op, "if") == 0;
    const char *const *allowed = is_if                                                ? if_mid
                                 : is_try                                             ? try_mid
                                 : strcmp(op, "for") == 0 || strcmp(op, "while") == 0 ? loop_mid
                                                                                      : none;
    size_t cur = 0; /* an index: adding a body moves them */
    tparse_add_body(n);
    if (!is_if)
        for (int i = 0; i < (is_try ? 3 : 1); i++)
            tparse_add_body(n);
    int stage = -1; /* the index in allowed of the last intermediate tag */
    for (;;) {
        char *mop = NULL, *msuf = NULL;
        int end = tparse_body(p, &n->bodies[cur], op, in_loop, &mop, &msuf);
        if (end != TEND_MID)
            return end == TEND_END ? 0 : TEND_ERROR;
        int k = 0;
        while (allowed[k] && strcmp(allowed[k], mop) != 0)
            k++;
        if (allowed[k] == NULL || k < stage || (k == stage && strcmp(mop, "elif") != 0)) {
            tparse_fail(p, "%s block cannot be attached to %s block here: expected {%% end %%}",
                        mop, op);
            free(mop), free(msuf);
            return TEND_ERROR;
        }
        stage = k;
        if (is_if) {
            if (k == 0) {
                n->conds = realloc(n->conds, (n->nconds + 1) * sizeof(*n->conds));
                if (n->conds == NULL)
                    abort();
                n->conds[n->nconds++] = tparse_expr(p, msuf, strlen(msuf));
            }
            tparse_add_body(n);
            cur = n->nbodies - 1;
        } else {
            cur = (size_t)k + 1;
            if (is_try && k == 0)
                n->has_except = 1;
        }
        free(mop), free(msuf);
        if (p->failed)
            return TEND_ERROR;
    }
}

static int tparse_control(struct tparser *p, struct tbody *b, const char *op, const char *suffix,
                          int line, int in_loop)
{
    struct tnode *n = tparse_node(p, TN_IF, line);
    tbody_push(b, n);
    int loop = in_loop;
    if (strcmp(op, "if") == 0) {
        n->conds = calloc(1, sizeof(*n->conds));
        if (n->conds == NULL)
            abort();
        n->nconds = 1;
        n->conds[0] = tparse_expr(p, suffix, strlen(suffix));
    } else if (strcmp(op, "for") == 0) {
        n->kind = TN_FOR;
        const char *in = strstr(suffix, " in ");
        if (in == NULL)
            return tparse_fail(p, "expected {%% for NAME in EXPRESSION %%}");
        if (tparse_vars(p, n, suffix, (size_t)(in - suffix)) < 0)
            return TEND_ERROR;
        n->e = tparse_expr(p, in + 4, strlen(in + 4));
        loop = 1;
    } else if (strcmp(op, "while") == 0) {
        n->kind = TN_WHILE;
        n->e = tparse_expr(p, suffix, strlen(suffix));
        loop = 1;
    } else if (strcmp(op, "apply") == 0) {
        n->kind = TN_APPLY;
        n->fn = texpr_fn_lookup(suffix);
        if (*suffix == '\0')
            return tparse_fail(p, "apply missing method name");
        if (n->fn < TF_XHTML_ESCAPE || n->fn > TF_SQUEEZE)
            return tparse_fail(p, "expected a function of one string to apply, not %s", suffix);
        loop = 0;
    } else if (strcmp(op, "block") == 0) {
        n->kind = TN_BLOCK;
        if (*suffix == '\0')
            return tparse_fail(p, "block missing name");
        n->text = strdup(suffix);
        if (n->text == NULL)
            abort();
        tparse_named(p, n);
    } else { /* try */
        n->kind = TN_TRY;
    }
    if (p->failed)
        return TEND_ERROR;
    return tparse_bodies(p, n, op, loop);
}

/* The one-tag directives: extends, include, set, raw, module, autoescape,
 * whitespace, comment, break, continue. 1: not one of them. */
static int tparse_simple(struct tparser *p, struct tbody *b, const char *op, const char *suffix,
                         int line, int in_loop)
{
    struct tnode *n;
    if (strcmp(op, "comment") == 0)
        return 0;
    if (strcmp(op, "extends") == 0) {
        free(p->t->parent);
        p->t->parent = tparse_resolve(p, suffix, "extends");
        return p->failed ? TEND_ERROR : 0;
    }
    if (strcmp(op, "autoescape") == 0) {
        enum texpr_fn fn = strcmp(suffix, "None") == 0 ? TF_NONE : texpr_fn_lookup(suffix);
        if (fn != TF_NONE && (fn < TF_XHTML_ESCAPE || fn > TF_SQUEEZE))
            return tparse_fail(p, "expected None or an escape function, not %s", suffix);
        p->t->autoescape = fn;
        return 0;
    }
    if (strcmp(op, "whitespace") == 0) {
        static const char *const modes[] = {"all", "single", "oneline"};
        for (int i = 0; i < 3; i++)
            if (strcmp(suffix, modes[i]) == 0) {
                p->ws = i;
                return 0;
            }
        return tparse_fail(p, "invalid whitespace mode %s: expected all, single or oneline",
                           suffix);
    }
    if (strcmp(op, "break") == 0 || strcmp(op, "continue") == 0) {
        if (!in_loop)
            return tparse_fail(p, "%s outside {'for', 'while'} block", op);
        tbody_push(b, tparse_node(p, op[0] == 'b' ? TN_BREAK : TN_CONTINUE, line));
        return 0;
    }
    if (strcmp(op, "include") == 0) {
        char *name = tparse_resolve(p, suffix, "include");
        if (name == NULL)
            return TEND_ERROR;
        n = tparse_node(p, TN_INCLUDE, line);
        n->text = name;
        tbody_push(b, n);
        tparse_named(p, n);
        return 0;
    }
    if (strcmp(op, "set") == 0) {
        const char *eq = strchr(suffix, '=');
        if (*suffix == '\0')
            return tparse_fail(p, "set missing statement");
        if (eq == NULL || eq[1] == '=')
            return tparse_fail(p, "expected {%% set NAME = EXPRESSION %%}");
        n = tparse_node(p, TN_SET, line);
        tbody_push(b, n);
        int plus = eq > suffix && eq[-1] == '+';
        if (tparse_vars(p, n, suffix, (size_t)(eq - suffix - plus)) < 0)
            return TEND_ERROR;
        n->e = tparse_expr(p, eq + 1, strlen(eq + 1));
        if (plus && n->e) { /* x += e is x = x + e */
            char what[8];
            struct texpr *sum = texpr_compile("a + b", 5, what, sizeof(what));
            free(sum->args[0]->name);
            sum->args[0]->name = strdup(n->vars[0]);
            texpr_free(sum->args[1]);
            sum->args[1] = n->e;
            n->e = sum;
        }
        return p->failed ? TEND_ERROR : 0;
    }
    if (strcmp(op, "raw") == 0 || strcmp(op, "module") == 0) {
        n = tparse_node(p, TN_EXPR, line);
        n->raw = 1;
        tbody_push(b, n);
        n->e = tparse_expr(p, suffix, strlen(suffix));
        return p->failed ? TEND_ERROR : 0;
    }
    if (strcmp(op, "import") == 0 || strcmp(op, "from") == 0)
        return tparse_fail(p,
                           "%s: templates here cannot import Python modules (a Tornado "
                           "template runs Python; gale's run only their safe expressions)",
                           op);
    return 1;
}

/* The tag at p->pos (after its opening braces) up to close; its trimmed
 * contents in *s, *n. */
static int tparse_tag_end(struct tparser *p, const char *close, const char **s, size_t *n,
                          const char *missing)
{
    const char *start = p->text + p->pos;
    const char *end = memmem(start, p->len - p->pos, close, 2);
    if (end == NULL) {
        tparse_fail(p, "%s", missing);
        return -1;
    }
    for (const char *c = start; c < end; c++)
        p->line += *c == '\n';
    p->pos = (size_t)(end - p->text) + 2;
    while (start < end && tparse_space(*start))
        start++;
    while (end > start && tparse_space(end[-1]))
        end--;
    *s = start;
    *n = (size_t)(end - start);
    return 0;
}

/* The next tag's opening brace at or after p->pos, or p->len. */
static size_t tparse_find(const struct tparser *p)
{
    size_t i = p->pos;
    for (;;) {
        const char *c = memchr(p->text + i, '{', p->len - i);
        if (c == NULL || (size_t)(c - p->text) + 1 >= p->len)
            return p->len;
        i = (size_t)(c - p->text);
        char next = p->text[i + 1];
        if (next != '{' && next != '%' && next != '#') {
            i++;
            continue;
        }
        if (i + 2 < p->len && next == '{' && p->text[i + 2] == '{') {
            i++; /* the innermost braces open the tag */
            continue;
        }
        return i;
    }
}

static int tparse_directive(struct tparser *p, struct tbody *b, const char *in_block, int in_loop,
                            const char *s, size_t n, int line, char **mid_op, char **mid_suffix)
{
    char *contents = strndup(s, n);
    if (contents == NULL)
        abort();
    char *sp = strchr(contents, ' ');
    const char *suffix = "";
    if (sp != NULL) {
        *sp = '\0';
        suffix = sp + 1;
        while (tparse_space(*suffix))
            suffix++;
    }
    const char *op = contents;
    int rc = 0;
    p->line = line;
    if (strcmp(op, "else") == 0 || strcmp(op, "elif") == 0 || strcmp(op, "except") == 0 ||
        strcmp(op, "finally") == 0) {
        if (in_block == NULL)
            rc = tparse_fail(p, "%s outside a block it can follow", op);
        else {
            *mid_op = strdup(op);
            *mid_suffix = strdup(suffix);
            rc = TEND_MID;
        }
    } else if (strcmp(op, "end") == 0) {
        rc = in_block ? TEND_END : tparse_fail(p, "Extra {%% end %%} block");
    } else if (strcmp(op, "if") == 0 || strcmp(op, "for") == 0 || strcmp(op, "while") == 0 ||
               strcmp(op, "try") == 0 || strcmp(op, "apply") == 0 || strcmp(op, "block") == 0) {
        rc = tparse_control(p, b, op, suffix, line, in_loop);
    } else if ((rc = tparse_simple(p, b, op, suffix, line, in_loop)) == 1) {
        rc = tparse_fail(p, "unknown operator: '%s'", op);
    }
    free(contents);
    return rc;
}

static int tparse_body(struct tparser *p, struct tbody *b, const char *in_block, int in_loop,
                       char **mid_op, char **mid_suffix)
{
    while (!p->failed) {
        size_t at = tparse_find(p);
        int tline = p->line;
        for (size_t i = p->pos; i < at; i++)
            p->line += p->text[i] == '\n';
        if (at > p->pos)
            tparse_text(p, b, p->text + p->pos, at - p->pos, tline);
        p->pos = at;
        if (at >= p->len) {
            if (in_block)
                return tparse_fail(p, "Missing {%% end %%} block for %s", in_block);
            return TEND_EOF;
        }
        char kind = p->text[at + 1];
        int line = p->line;
        p->pos += 2;
        if (p->pos < p->len && p->text[p->pos] == '!') {
            p->pos++;
            tparse_text(p, b, p->text + at, 2, line);
            continue;
        }
        const char *s;
        size_t n;
        if (kind == '#') {
            tparse_tag_end(p, "#}", &s, &n, "Missing end comment #}");
        } else if (kind == '{') {
            if (tparse_tag_end(p, "}}", &s, &n, "Missing end expression }}") < 0)
                break;
            if (n == 0) {
                p->line = line;
                return tparse_fail(p, "Empty expression");
            }
            struct tnode *node = tparse_node(p, TN_EXPR, line);
            tbody_push(b, node);
            int l = p->line;
            p->line = line;
            node->e = tparse_expr(p, s, n);
            p->line = l;
        } else {
            if (tparse_tag_end(p, "%}", &s, &n, "Missing end block %}") < 0)
                break;
            if (n == 0) {
                p->line = line;
                return tparse_fail(p, "Empty block tag ({%% %%})");
            }
            int l = p->line;
            int rc = tparse_directive(p, b, in_block, in_loop, s, n, line, mid_op, mid_suffix);
            if (!p->failed)
                p->line = l;
            if (rc == TEND_MID || rc == TEND_END || rc == TEND_ERROR)
                return rc;
        }
    }
    return TEND_ERROR;
}

void tbody_free(struct tbody *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct tnode *n = b->nodes[i];
        free(n->text);
        texpr_free(n->e);
        for (size_t k = 0; k < n->nconds; k++)
            texpr_free(n->conds[k]);
        free(n->conds);
        for (size_t k = 0; k < n->nbodies; k++)
            tbody_free(&n->bodies[k]);
        free(n->bodies);
        free(n->vars[0]);
        free(n->vars[1]);
        free(n);
    }
    free(b->nodes);
    b->nodes = NULL;
    b->n = 0;
}

/* The final {% autoescape %} of the file holds for all its expressions. */
static void tparse_set_escape(struct tbody *b, int fn)
{
    for (size_t i = 0; i < b->n; i++) {
        b->nodes[i]->escape = fn;
        for (size_t k = 0; k < b->nodes[i]->nbodies; k++)
            tparse_set_escape(&b->nodes[i]->bodies[k], fn);
    }
}

static int template_default_ws(const char *name)
{
    size_t n = strlen(name);
    return (n >= 5 && strcmp(name + n - 5, ".html") == 0) ||
                   (n >= 3 && strcmp(name + n - 3, ".js") == 0)
               ? TWS_SINGLE
               : TWS_ALL;
}

struct template *template_compile(const char *name, const char *text, size_t len,
                                  const char *whitespace, struct template_err *err)
{
    struct template *t = calloc(1, sizeof(*t));
    if (t == NULL || (t->name = strdup(name)) == NULL)
        abort();
    t->autoescape = TF_XHTML_ESCAPE;
    struct tparser p = {.t = t, .text = text, .len = len, .line = 1, .err = err};
    p.ws = template_default_ws(name);
    if (whitespace != NULL && tparse_simple(&p, NULL, "whitespace", whitespace, 1, 0) != 0) {
        template_free(t);
        return NULL;
    }
    char *mop = NULL, *msuf = NULL;
    tparse_body(&p, &t->body, NULL, 0, &mop, &msuf);
    free(mop), free(msuf);
    if (p.failed) {
        template_free(t);
        return NULL;
    }
    tparse_set_escape(&t->body, t->autoescape);
    return t;
}

void template_free(struct template *t)
{
    if (t == NULL)
        return;
    tbody_free(&t->body);
    free(t->blocks);
    free(t->parent);
    free(t->name);
    free(t);
}

const char *template_name(const struct template *t)
{
    return t->name;
}
