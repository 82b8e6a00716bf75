/*
 * template_expr.c - the expression language of templates: a small, safe
 * subset of Python's expressions, compiled once into a tree of struct
 * texpr (evaluated by template_eval.c).
 *
 * Names are looked up in the render's variables and its JSON context only;
 * calls go to a fixed table of functions and methods, checked here, so that
 * nothing runs that the template's author did not write in this language.
 */
/* asprintf */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page/template_impl.h"

enum tok_kind { TK_END, TK_NAME, TK_INT, TK_FLOAT, TK_STRING, TK_OP };

struct texpr_lexer {
    const char *s, *end;
    enum tok_kind kind;
    const char *start; /* the token's text */
    size_t len;
    json_t *value; /* TK_INT, TK_FLOAT, TK_STRING: owned until taken */
    char *what;
    size_t whatsz;
    int failed;
};

static const struct {
    const char *name;
    enum texpr_fn fn;
} texpr_fns[] = {
    {"len", TF_LEN},
    {"str", TF_STR},
    {"int", TF_INT},
    {"float", TF_FLOAT},
    {"bool", TF_BOOL},
    {"range", TF_RANGE},
    {"enumerate", TF_ENUMERATE},
    {"abs", TF_ABS},
    {"min", TF_MIN},
    {"max", TF_MAX},
    {"sorted", TF_SORTED},
    {"escape", TF_XHTML_ESCAPE},
    {"xhtml_escape", TF_XHTML_ESCAPE},
    {"xhtml_unescape", TF_XHTML_UNESCAPE},
    {"url_escape", TF_URL_ESCAPE},
    {"json_encode", TF_JSON_ENCODE},
    {"linkify", TF_LINKIFY},
    {"squeeze", TF_SQUEEZE},
    {"static_url", TF_STATIC_URL},
    {"xsrf_form_html", TF_XSRF_FORM_HTML},
    {"_", TF_TRANSLATE},
    {"format_date", TF_FORMAT_DATE},
    {"reverse_url", TF_REVERSE_URL},
    {"Template", TF_TEMPLATE},
};

static const char *const texpr_methods[] = {
    "items",      "keys",       "values",   "get",  "upper", "lower",   "strip", "title",
    "capitalize", "startswith", "endswith", "join", "split", "replace", NULL,
};

enum texpr_fn texpr_fn_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof(texpr_fns) / sizeof(texpr_fns[0]); i++)
        if (strcmp(texpr_fns[i].name, name) == 0)
            return texpr_fns[i].fn;
    return TF_NONE;
}

__attribute__((format(printf, 2, 3))) static void texpr_fail(struct texpr_lexer *lx,
                                                             const char *fmt, ...)
{
    va_list ap;
    if (lx->failed)
        return;
    lx->failed = 1;
    va_start(ap, fmt);
    vsnprintf(lx->what, lx->whatsz, fmt, ap);
    va_end(ap);
}

static int texpr_is_name(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

/* A string literal's body, escapes decoded, after its opening quote. */
static void texpr_lex_string(struct texpr_lexer *lx)
{
    char q = *lx->s++;
    struct template_buf b = {0};
    while (lx->s < lx->end && *lx->s != q) {
        char c = *lx->s++;
        if (c != '\\' || lx->s >= lx->end) {
            template_buf_addc(&b, c);
            continue;
        }
        c = *lx->s++;
        const char *from = "ntr0\\'\"", *to = "\n\t\r\0\\'\"";
        const char *p = strchr(from, c);
        if (p != NULL && c != '\0') {
            template_buf_addc(&b, to[p - from]);
        } else if (c == 'x' && lx->end - lx->s >= 2) {
            char hex[3] = {lx->s[0], lx->s[1], 0};
            template_buf_addc(&b, (char)strtol(hex, NULL, 16));
            lx->s += 2;
        } else {
            template_buf_addc(&b, '\\');
            template_buf_addc(&b, c);
        }
    }
    if (lx->s >= lx->end) {
        texpr_fail(lx, "expected the end of the string literal (%c)", q);
        template_buf_free(&b);
        return;
    }
    lx->s++;
    lx->kind = TK_STRING;
    lx->value = json_stringn(b.s ? b.s : "", b.len);
    template_buf_free(&b);
    if (lx->value == NULL)
        texpr_fail(lx, "expected UTF-8 text in the string literal");
}

static void texpr_lex_number(struct texpr_lexer *lx)
{
    char buf[64], *end;
    size_t n = 0;
    int real = 0;
    while (lx->s < lx->end && n < sizeof(buf) - 1 &&
           ((*lx->s >= '0' && *lx->s <= '9') || *lx->s == '.' || *lx->s == 'e' || *lx->s == 'E' ||
            *lx->s == '_' ||
            ((*lx->s == '-' || *lx->s == '+') && n > 0 && (buf[n - 1] | 32) == 'e'))) {
        if (*lx->s == '.' || *lx->s == 'e' || *lx->s == 'E')
            real = 1;
        if (*lx->s != '_')
            buf[n++] = *lx->s;
        lx->s++;
    }
    buf[n] = '\0';
    errno = 0;
    if (real) {
        double d = strtod(buf, &end);
        lx->value = json_real(d);
        lx->kind = TK_FLOAT;
    } else {
        long long i = strtoll(buf, &end, 10);
        lx->value = json_integer(i);
        lx->kind = TK_INT;
    }
    if (*end != '\0' || errno != 0)
        texpr_fail(lx, "expected a number, not %s", buf);
}

static void texpr_next(struct texpr_lexer *lx)
{
    static const char *const ops[] = {"**", "//", "==", "!=", "<=", ">=", NULL};
    json_decref(lx->value);
    lx->value = NULL;
    while (lx->s < lx->end && (*lx->s == ' ' || *lx->s == '\t' || *lx->s == '\n' || *lx->s == '\r'))
        lx->s++;
    lx->start = lx->s;
    if (lx->failed || lx->s >= lx->end) {
        lx->kind = TK_END;
        lx->len = 0;
        return;
    }
    char c = *lx->s;
    if (texpr_is_name(c, 1) &&
        !((c == 'u' || c == 'r') && lx->s + 1 < lx->end && (lx->s[1] == '\'' || lx->s[1] == '"'))) {
        while (lx->s < lx->end && texpr_is_name(*lx->s, 0))
            lx->s++;
        lx->kind = TK_NAME;
    } else if ((c >= '0' && c <= '9') ||
               (c == '.' && lx->s + 1 < lx->end && lx->s[1] >= '0' && lx->s[1] <= '9')) {
        texpr_lex_number(lx);
    } else if (c == '\'' || c == '"' || c == 'u' || c == 'r') {
        if (c == 'u' || c == 'r')
            lx->s++;
        texpr_lex_string(lx);
    } else {
        lx->kind = TK_OP;
        lx->s++;
        for (int i = 0; ops[i]; i++)
            if (lx->end - lx->start >= 2 && memcmp(lx->start, ops[i], 2) == 0)
                lx->s = lx->start + 2;
        if (!strchr("+-*/%<>()[]{}.,:=!", c))
            texpr_fail(lx, "unexpected character '%c'", c);
    }
    lx->len = (size_t)(lx->s - lx->start);
}

static int texpr_is(struct texpr_lexer *lx, const char *text)
{
    return (lx->kind == TK_OP || lx->kind == TK_NAME) && lx->len == strlen(text) &&
           memcmp(lx->start, text, lx->len) == 0;
}

static int texpr_accept(struct texpr_lexer *lx, const char *text)
{
    if (!texpr_is(lx, text))
        return 0;
    texpr_next(lx);
    return 1;
}

static void texpr_expect(struct texpr_lexer *lx, const char *text)
{
    if (!texpr_accept(lx, text)) {
        if (lx->kind == TK_END)
            texpr_fail(lx, "expected '%s' at the end of the expression", text);
        else
            texpr_fail(lx, "expected '%s', not '%.*s'", text, (int)lx->len, lx->start);
    }
}

static struct texpr *texpr_new(enum texpr_kind kind, size_t nargs)
{
    struct texpr *e = calloc(1, sizeof(*e));
    if (e == NULL)
        abort();
    e->kind = kind;
    e->nargs = nargs;
    e->args = nargs ? calloc(nargs, sizeof(*e->args)) : NULL;
    if (nargs && e->args == NULL)
        abort();
    return e;
}

static void texpr_push(struct texpr *e, struct texpr *arg, char *kw)
{
    int had_kw = e->kw != NULL;
    e->args = realloc(e->args, (e->nargs + 1) * sizeof(*e->args));
    e->kw = realloc(e->kw, (e->nargs + 1) * sizeof(*e->kw));
    if (e->args == NULL || e->kw == NULL)
        abort();
    if (!had_kw) /* the arguments before had no keywords */
        memset(e->kw, 0, e->nargs * sizeof(*e->kw));
    e->args[e->nargs] = arg;
    e->kw[e->nargs++] = kw;
}

void texpr_free(struct texpr *e)
{
    if (e == NULL)
        return;
    for (size_t i = 0; i < e->nargs; i++) {
        texpr_free(e->args[i]);
        if (e->kw)
            free(e->kw[i]);
    }
    free(e->args);
    free(e->kw);
    free(e->ops);
    free(e->name);
    json_decref(e->value);
    free(e);
}

static struct texpr *texpr_ternary(struct texpr_lexer *lx);

static char *texpr_tokdup(struct texpr_lexer *lx)
{
    char *s = strndup(lx->start, lx->len);
    if (s == NULL)
        abort();
    return s;
}

/* Arguments up to ")", the "(" already read; k=v ones name their keyword. */
static void texpr_call_args(struct texpr_lexer *lx, struct texpr *call)
{
    while (!lx->failed && !texpr_is(lx, ")") && lx->kind != TK_END) {
        char *kw = NULL;
        const char *p = lx->s;
        while (p < lx->end && (*p == ' ' || *p == '\t'))
            p++;
        if (lx->kind == TK_NAME && p < lx->end && p[0] == '=' &&
            (p + 1 >= lx->end || p[1] != '=')) {
            kw = texpr_tokdup(lx);
            texpr_next(lx);
            texpr_next(lx);
        }
        texpr_push(call, texpr_ternary(lx), kw);
        if (!texpr_accept(lx, ","))
            break;
    }
    texpr_expect(lx, ")");
}

/* Items up to `close`, the opening bracket read; a dict when `dict`. */
static struct texpr *texpr_items(struct texpr_lexer *lx, const char *close, int dict,
                                 struct texpr *first)
{
    struct texpr *e = texpr_new(dict ? TE_DICT : TE_LIST, 0);
    if (first != NULL)
        texpr_push(e, first, NULL);
    while (!lx->failed && !texpr_is(lx, close) && lx->kind != TK_END) {
        texpr_push(e, texpr_ternary(lx), NULL);
        if (dict) {
            texpr_expect(lx, ":");
            texpr_push(e, texpr_ternary(lx), NULL);
        }
        if (!texpr_accept(lx, ","))
            break;
    }
    texpr_expect(lx, close);
    return e;
}

static struct texpr *texpr_atom(struct texpr_lexer *lx)
{
    struct texpr *e;
    if (lx->kind == TK_INT || lx->kind == TK_FLOAT || lx->kind == TK_STRING) {
        e = texpr_new(TE_CONST, 0);
        e->value = lx->value;
        lx->value = NULL;
        int str = lx->kind == TK_STRING;
        texpr_next(lx);
        while (str && lx->kind == TK_STRING && !lx->failed) { /* "a" "b" is "ab" */
            char *s = NULL;
            if (asprintf(&s, "%s%s", json_string_value(e->value), json_string_value(lx->value)) < 0)
                abort();
            json_decref(e->value);
            e->value = json_string(s);
            free(s);
            texpr_next(lx);
        }
        return e;
    }
    if (lx->kind == TK_NAME) {
        static const char *const reserved[] = {"and",  "or",  "not",    "in",     "is", "if",
                                               "else", "for", "lambda", "import", NULL};
        for (int i = 0; reserved[i]; i++)
            if (texpr_is(lx, reserved[i]))
                texpr_fail(lx, "expected a value, not '%s'", reserved[i]);
        e = texpr_new(TE_CONST, 0);
        if (texpr_is(lx, "True"))
            e->value = json_true();
        else if (texpr_is(lx, "False"))
            e->value = json_false();
        else if (texpr_is(lx, "None"))
            e->value = json_null();
        else {
            e->kind = TE_NAME;
            e->name = texpr_tokdup(lx);
        }
        texpr_next(lx);
        if (e->kind == TE_NAME && texpr_accept(lx, "(")) {
            e->kind = TE_CALL;
            e->fn = texpr_fn_lookup(e->name);
            if (e->fn == TF_NONE)
                texpr_fail(lx, "expected a known function, not '%s'", e->name);
            texpr_call_args(lx, e);
        }
        return e;
    }
    if (texpr_accept(lx, "(")) {
        if (texpr_accept(lx, ")"))
            return texpr_new(TE_LIST, 0);
        e = texpr_ternary(lx);
        if (texpr_accept(lx, ","))
            return texpr_items(lx, ")", 0, e); /* a tuple: a list here */
        texpr_expect(lx, ")");
        return e;
    }
    if (texpr_accept(lx, "["))
        return texpr_items(lx, "]", 0, NULL);
    if (texpr_accept(lx, "{"))
        return texpr_items(lx, "}", 1, NULL);
    if (lx->kind == TK_END)
        texpr_fail(lx, "expected a value at the end of the expression");
    else
        texpr_fail(lx, "expected a value, not '%.*s'", (int)lx->len, lx->start);
    return texpr_new(TE_CONST, 0);
}

static struct texpr *texpr_pair(enum texpr_kind kind, struct texpr *a, struct texpr *b)
{
    struct texpr *e = texpr_new(kind, 2);
    e->args[0] = a;
    e->args[1] = b;
    return e;
}

static struct texpr *texpr_postfix(struct texpr_lexer *lx)
{
    struct texpr *e = texpr_atom(lx);
    while (!lx->failed) {
        if (texpr_accept(lx, ".")) {
            if (lx->kind != TK_NAME) {
                texpr_fail(lx, "expected a name after '.'");
                break;
            }
            char *name = texpr_tokdup(lx);
            texpr_next(lx);
            struct texpr *a = texpr_new(TE_ATTR, 1);
            a->args[0] = e;
            a->name = name;
            e = a;
            if (texpr_accept(lx, "(")) {
                int known = 0;
                for (int i = 0; texpr_methods[i]; i++)
                    known |= strcmp(texpr_methods[i], name) == 0;
                if (!known)
                    texpr_fail(lx, "expected a known method, not '%s'", name);
                e->kind = TE_METHOD;
                texpr_call_args(lx, e);
            }
        } else if (texpr_accept(lx, "[")) {
            struct texpr *lo = NULL, *hi = NULL;
            if (!texpr_is(lx, ":"))
                lo = texpr_ternary(lx);
            if (texpr_accept(lx, ":")) {
                if (!texpr_is(lx, "]"))
                    hi = texpr_ternary(lx);
                struct texpr *s = texpr_new(TE_SLICE, 3);
                s->args[0] = e, s->args[1] = lo, s->args[2] = hi;
                e = s;
            } else {
                e = texpr_pair(TE_INDEX, e, lo);
            }
            texpr_expect(lx, "]");
        } else {
            break;
        }
    }
    return e;
}

static struct texpr *texpr_binary(struct texpr *a, int op, struct texpr *b)
{
    struct texpr *e = texpr_pair(TE_BINARY, a, b);
    e->ops = malloc(sizeof(int));
    if (e->ops == NULL)
        abort();
    e->ops[0] = op;
    return e;
}

static struct texpr *texpr_unary(struct texpr_lexer *lx);

static struct texpr *texpr_power(struct texpr_lexer *lx)
{
    struct texpr *e = texpr_postfix(lx);
    if (texpr_accept(lx, "**"))
        e = texpr_binary(e, TO_POW, texpr_unary(lx));
    return e;
}

static struct texpr *texpr_unary(struct texpr_lexer *lx)
{
    if (texpr_accept(lx, "-")) {
        struct texpr *e = texpr_new(TE_NEG, 1);
        e->args[0] = texpr_unary(lx);
        return e;
    }
    if (texpr_accept(lx, "+")) {
        struct texpr *e = texpr_new(TE_POS, 1);
        e->args[0] = texpr_unary(lx);
        return e;
    }
    return texpr_power(lx);
}

static struct texpr *texpr_term(struct texpr_lexer *lx)
{
    struct texpr *e = texpr_unary(lx);
    for (;;) {
        int op = texpr_accept(lx, "*")    ? TO_MUL
                 : texpr_accept(lx, "//") ? TO_FLOORDIV
                 : texpr_accept(lx, "/")  ? TO_DIV
                 : texpr_accept(lx, "%")  ? TO_MOD
                                          : -1;
        if (op < 0 || lx->failed)
            return e;
        e = texpr_binary(e, op, texpr_unary(lx));
    }
}

static struct texpr *texpr_arith(struct texpr_lexer *lx)
{
    struct texpr *e = texpr_term(lx);
    for (;;) {
        int op = texpr_accept(lx, "+") ? TO_ADD : texpr_accept(lx, "-") ? TO_SUB : -1;
        if (op < 0 || lx->failed)
            return e;
        e = texpr_binary(e, op, texpr_term(lx));
    }
}

static int texpr_cmp_op(struct texpr_lexer *lx)
{
    static const struct {
        const char *text;
        int op;
    } ops[] = {{"==", TO_EQ}, {"!=", TO_NE}, {"<=", TO_LE}, {">=", TO_GE},
               {"<", TO_LT},  {">", TO_GT},  {"in", TO_IN}};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (texpr_accept(lx, ops[i].text))
            return ops[i].op;
    if (texpr_accept(lx, "not")) {
        texpr_expect(lx, "in");
        return TO_NOTIN;
    }
    if (texpr_accept(lx, "is"))
        return texpr_accept(lx, "not") ? TO_ISNOT : TO_IS;
    return -1;
}

static struct texpr *texpr_cmp(struct texpr_lexer *lx)
{
    struct texpr *e = texpr_arith(lx), *c = NULL;
    int op;
    while (!lx->failed && (op = texpr_cmp_op(lx)) >= 0) {
        if (c == NULL) {
            c = texpr_new(TE_CMP, 0);
            texpr_push(c, e, NULL);
        }
        c->ops = realloc(c->ops, c->nargs * sizeof(int));
        if (c->ops == NULL)
            abort();
        c->ops[c->nargs - 1] = op;
        texpr_push(c, texpr_arith(lx), NULL);
    }
    return c ? c : e;
}

static struct texpr *texpr_not(struct texpr_lexer *lx)
{
    if (texpr_accept(lx, "not")) {
        struct texpr *e = texpr_new(TE_NOT, 1);
        e->args[0] = texpr_not(lx);
        return e;
    }
    return texpr_cmp(lx);
}

static struct texpr *texpr_and(struct texpr_lexer *lx)
{
    struct texpr *e = texpr_not(lx);
    while (!lx->failed && texpr_accept(lx, "and"))
        e = texpr_pair(TE_AND, e, texpr_not(lx));
    return e;
}

static struct texpr *texpr_or(struct texpr_lexer *lx)
{
    struct texpr *e = texpr_and(lx);
    while (!lx->failed && texpr_accept(lx, "or"))
        e = texpr_pair(TE_OR, e, texpr_and(lx));
    return e;
}

static struct texpr *texpr_ternary(struct texpr_lexer *lx)
{
    struct texpr *e = texpr_or(lx);
    if (lx->failed || !texpr_accept(lx, "if"))
        return e;
    struct texpr *c = texpr_new(TE_COND, 3);
    c->args[1] = e;
    c->args[0] = texpr_or(lx);
    texpr_expect(lx, "else");
    c->args[2] = texpr_ternary(lx);
    return c;
}

/* Names' and string constants' lengths and words, once, for the look-ups. */
static void texpr_lengths(struct texpr *e)
{
    if (e == NULL)
        return;
    if (e->name != NULL) {
        e->nlen = strlen(e->name);
        e->str = e->name;
    } else if (e->value != NULL && json_is_string(e->value)) {
        e->nlen = json_string_length(e->value);
        e->str = json_string_value(e->value);
    }
    if (e->str != NULL)
        e->word = tname_word(e->str, e->nlen);
    e->rowkey = (e->kind == TE_INDEX && e->args[0]->kind == TE_NAME &&
                 e->args[1]->kind == TE_CONST && json_is_string(e->args[1]->value)) ||
                (e->kind == TE_ATTR && e->args[0]->kind == TE_NAME);
    for (size_t i = 0; i < e->nargs; i++)
        texpr_lengths(e->args[i]);
}

struct texpr *texpr_compile(const char *src, size_t len, char *what, size_t whatsz)
{
    struct texpr_lexer lx = {.s = src, .end = src + len, .what = what, .whatsz = whatsz};
    texpr_next(&lx);
    struct texpr *e = texpr_ternary(&lx);
    if (!lx.failed)
        texpr_lengths(e);
    if (!lx.failed && lx.kind != TK_END)
        texpr_fail(&lx, "expected the end of the expression, not '%.*s'", (int)lx.len, lx.start);
    json_decref(lx.value);
    if (lx.failed) {
        texpr_free(e);
        return NULL;
    }
    return e;
}
