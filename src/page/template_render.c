/*
 * template_render.c - running a compiled template: text as it is,
 * expressions through str() and the file's autoescape, the control blocks
 * with Python's semantics (for/while/else, break, continue, try/except/
 * else/finally), and the inheritance of {% extends %}: the root template
 * is rendered, each {% block %} by the most derived template that defines
 * it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "page/template_impl.h"

#define TRENDER_MAX_CHAIN 16
/* A template must not hang or exhaust its worker: limits on the nodes one
 * render runs and on its output (far lower when fuzzing). */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define TRENDER_MAX_WHILE 10000
#define TRENDER_MAX_STEPS 100000ul
#define TRENDER_MAX_OUTPUT (1u << 20)
#else
#define TRENDER_MAX_WHILE 10000000
#define TRENDER_MAX_STEPS 100000000ul
#define TRENDER_MAX_OUTPUT (256u << 20)
#endif

json_t *trender_fail(struct trender *r, const char *fmt, ...)
{
    char what[TEMPLATE_ERR_SIZE];
    va_list ap;
    if (r->err->msg[0] != '\0') /* the innermost error is the one to report */
        return NULL;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    template_err_set(r->err, r->cur ? r->cur->name : "?", r->line, "%s", what);
    return NULL;
}

static int trender_body(struct trender *r, const struct tbody *b);

/* trender_value's way for all but the common cases. */
__attribute__((noinline)) static int trender_value_other(struct trender *r, json_t *v, int fn)
{
    struct template_buf tmp = {0};
    const char *s;
    size_t n;
    if ((fn == TF_NONE || fn == TF_XHTML_ESCAPE) && !json_is_string(v) && !json_is_array(v) &&
        !json_is_object(v)) {
        tval_str(r->out, v); /* "True", "None"...: nothing to escape */
        return 0;
    }
    if (json_is_string(v)) {
        s = json_string_value(v);
        n = json_string_length(v);
    } else {
        tval_str(&tmp, v);
        s = tmp.s ? tmp.s : "";
        n = tmp.len;
    }
    switch (fn) {
    case TF_NONE:
        template_buf_add(r->out, s, n);
        break;
    case TF_XHTML_ESCAPE:
        tval_xhtml_escape(r->out, s, n);
        break;
    case TF_URL_ESCAPE:
        tval_url_escape(r->out, s, n, 1);
        break;
    case TF_SQUEEZE:
        tval_squeeze(r->out, s, n);
        break;
    case TF_LINKIFY:
        tval_linkify(r->out, s, n);
        break;
    case TF_XHTML_UNESCAPE:
        tval_xhtml_unescape(r->out, s, n);
        break;
    default: { /* json_encode of the string */
        json_t *str = json_stringn_nocheck(s, n);
        tval_json_encode(r->out, str);
        json_decref(str);
    }
    }
    template_buf_free(&tmp);
    return 0;
}

/* Append str(v) through the escape function fn (TF_NONE: as it is): the
 * common cases (an escaped string, a number: digits and signs need no
 * escape) here, with a small frame; the rest in trender_value_other. */
static inline int trender_value(struct trender *r, json_t *v, int fn)
{
    int plain = fn == TF_NONE || fn == TF_XHTML_ESCAPE;
    if (json_is_string(v) && fn == TF_XHTML_ESCAPE) {
        tval_xhtml_escape(r->out, json_string_value(v), json_string_length(v));
        return 0;
    }
    if (json_is_integer(v) && plain) {
        tval_int(r->out, json_integer_value(v));
        return 0;
    }
    if (json_is_real(v) && plain) {
        tval_float(r->out, json_real_value(v));
        return 0;
    }
    return trender_value_other(r, v, fn);
}

/* {% set %}: into vars, shadowing a loop variable of the same name. */
static void trender_set_var(struct trender *r, const char *name, json_t *v)
{
    size_t len = strlen(name);
    json_object_set(r->vars, name, v);
    for (size_t i = r->slot_base; i < r->nslots; i++)
        if (r->slots[i].len == len && memcmp(r->slots[i].name, name, len) == 0)
            r->slots[i].shadowed = 1;
}

static int trender_assign(struct trender *r, const struct tnode *n, json_t *v)
{
    if (n->nvars == 1) {
        trender_set_var(r, n->vars[0], v);
        return 0;
    }
    if (!json_is_array(v) || json_array_size(v) != 2) {
        trender_fail(r, "ValueError: expected 2 values to unpack, not %s", tval_type(v));
        return -1;
    }
    trender_set_var(r, n->vars[0], json_array_get(v, 0));
    trender_set_var(r, n->vars[1], json_array_get(v, 1));
    return 0;
}

/* Bind a for loop's slots (at `at`) to item v, borrowed. */
static int trender_bind(struct trender *r, const struct tnode *n, size_t at, json_t *v)
{
    if (n->nvars == 2) {
        if (!json_is_array(v) || json_array_size(v) != 2) {
            trender_fail(r, "ValueError: expected 2 values to unpack, not %s", tval_type(v));
            return -1;
        }
        r->slots[at + 1].value = json_array_get(v, 1);
        r->slots[at + 1].shadowed = 0;
        r->slots[at + 1].nview = -1;
        v = json_array_get(v, 0);
    }
    r->slots[at].value = v;
    r->slots[at].shadowed = 0;
    r->slots[at].nview = -1;
    return 0;
}

/* The loop is over: as in Python, its variables keep their last values
 * (those a {% set %} did not replace since), hiding an outer loop's
 * variable of the same name until that loop binds it again. */
static void trender_unbind(struct trender *r, size_t at)
{
    size_t n = r->nslots;
    r->nslots = at;
    for (size_t i = at; i < n; i++)
        if (r->slots[i].value && !r->slots[i].shadowed)
            trender_set_var(r, r->slots[i].name, r->slots[i].value);
}

/* The items a for loop walks: a list, a dict's keys, a string's
 * characters. A new reference, or NULL after an error. */
static json_t *trender_iterable(struct trender *r, json_t *v)
{
    const char *k;
    json_t *x, *out;
    if (json_is_array(v))
        return json_incref(v);
    out = json_array();
    if (json_is_object(v)) {
        json_object_foreach(v, k, x) json_array_append_new(out, json_string(k));
        return out;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        for (size_t i = 0; i < n;) {
            size_t j = i + 1;
            while (j < n && ((unsigned char)s[j] & 0xc0) == 0x80)
                j++;
            json_array_append_new(out, json_stringn_nocheck(s + i, j - i));
            i = j;
        }
        return out;
    }
    json_decref(out);
    return trender_fail(r, "TypeError: '%s' object is not iterable", tval_type(v));
}

static int trender_for(struct trender *r, const struct tnode *n)
{
    int owned;
    json_t *v = texpr_value(r, n->e, &owned), *items;
    if (v == NULL)
        return -1;
    if (json_is_array(v)) {
        items = v;
        if (!owned) /* held: a {% set %} in the body may drop the variable's list */
            json_incref(items);
    } else {
        items = trender_iterable(r, v);
        if (owned)
            json_decref(v);
        if (items == NULL)
            return -1;
    }
    int rc = 0, broke = 0;
    size_t at = r->nslots;
    if (at + (size_t)n->nvars > TRENDER_MAX_SLOTS) {
        json_decref(items);
        trender_fail(r, "RecursionError: for loops nested too deep");
        return -1;
    }
    for (int k = 0; k < n->nvars; k++) {
        struct tslot *sl = &r->slots[r->nslots++];
        sl->name = n->vars[k];
        sl->len = strlen(sl->name);
        sl->word = tname_word(sl->name, sl->len);
        sl->value = NULL;
        sl->shadowed = 0;
        sl->nview = -1;
    }
    for (size_t i = 0; i < json_array_size(items) && rc == 0; i++) {
        r->line = n->line;
        /* the body's text and expressions are not counted: the loop is */
        if (++r->steps > TRENDER_MAX_STEPS || r->out->len > TRENDER_MAX_OUTPUT) {
            trender_fail(r, "RuntimeError: the template ran too long or wrote too much");
            rc = -1;
            break;
        }
        if ((rc = trender_bind(r, n, at, json_array_get(items, i))) < 0)
            break;
        rc = trender_body(r, &n->bodies[0]);
        if (r->flow == TFLOW_BREAK) {
            r->flow = TFLOW_NONE;
            broke = 1;
            break;
        }
        r->flow = TFLOW_NONE;
    }
    trender_unbind(r, at); /* before items goes: the slots borrow from it */
    json_decref(items);
    if (rc == 0 && !broke)
        rc = trender_body(r, &n->bodies[1]);
    return rc;
}

static int trender_while(struct trender *r, const struct tnode *n)
{
    for (long i = 0;; i++) {
        r->line = n->line;
        int t = texpr_truth(r, n->e);
        if (t < 0)
            return -1;
        if (!t)
            return trender_body(r, &n->bodies[1]);
        if (i >= TRENDER_MAX_WHILE) {
            trender_fail(r, "RuntimeError: while loop ran %d times", TRENDER_MAX_WHILE);
            return -1;
        }
        if (trender_body(r, &n->bodies[0]) < 0)
            return -1;
        int flow = r->flow;
        r->flow = TFLOW_NONE;
        if (flow == TFLOW_BREAK)
            return 0;
    }
}

static int trender_if(struct trender *r, const struct tnode *n)
{
    for (size_t i = 0; i < n->nconds; i++) {
        r->line = n->line;
        int t = texpr_truth(r, n->conds[i]);
        if (t < 0)
            return -1;
        if (t)
            return trender_body(r, &n->bodies[i]);
    }
    return n->nbodies > n->nconds ? trender_body(r, &n->bodies[n->nconds]) : 0;
}

static int trender_try(struct trender *r, const struct tnode *n)
{
    int rc = trender_body(r, &n->bodies[0]);
    struct template_err saved = *r->err;
    if (rc < 0 && n->has_except) {
        memset(r->err, 0, sizeof(*r->err));
        rc = trender_body(r, &n->bodies[1]);
        saved = *r->err;
    } else if (rc == 0) {
        rc = trender_body(r, &n->bodies[2]);
        saved = *r->err;
    }
    memset(r->err, 0, sizeof(*r->err));
    int flow = r->flow;
    r->flow = TFLOW_NONE;
    if (trender_body(r, &n->bodies[3]) < 0)
        return -1; /* an error in finally wins, as in Python */
    if (r->flow == TFLOW_NONE)
        r->flow = flow;
    *r->err = saved;
    return rc;
}

static int trender_apply(struct trender *r, const struct tnode *n)
{
    struct template_buf b = {0}, *saved = r->out;
    r->out = &b;
    int rc = trender_body(r, &n->bodies[0]);
    r->out = saved;
    if (rc == 0) {
        json_t *body = json_stringn_nocheck(b.s ? b.s : "", b.len);
        rc = trender_value(r, body, n->fn);
        json_decref(body);
    }
    template_buf_free(&b);
    return rc;
}

/* The last definition of block `name` in t, the files it includes counted
 * where they are included; NULL when none. An included file that cannot be
 * loaded defines nothing here: rendering its include reports it. */
static const struct tnode *trender_block_in(struct trender *r, const struct template *t,
                                            const char *name, int depth)
{
    for (size_t k = t->nblocks; k-- > 0;) {
        const struct tnode *b = t->blocks[k];
        if (b->kind == TN_BLOCK) {
            if (strcmp(b->text, name) == 0)
                return b;
            continue;
        }
        struct template_err e = {.msg = ""};
        const struct template *inc;
        if (depth < TEMPLATE_MAX_DEPTH && r->env->cache != NULL &&
            (inc = template_cache_get(r->env->cache, b->text, &e)) != NULL &&
            (b = trender_block_in(r, inc, name, depth + 1)) != NULL)
            return b;
    }
    return NULL;
}

/* The most derived definition of block n in the extends chain. */
static const struct tnode *trender_find_block(struct trender *r, const struct tnode *n)
{
    for (size_t i = 0; i < r->nchain; i++) {
        const struct tnode *b = trender_block_in(r, r->chain[i], n->text, 0);
        if (b != NULL)
            return b;
    }
    return n;
}

__attribute__((noinline)) static int trender_node(struct trender *r, const struct tnode *n)
{
    json_t *v;
    const struct template *cur = r->cur;
    int rc = 0, owned;
    r->cur = n->owner;
    r->line = n->line;
    if (++r->steps > TRENDER_MAX_STEPS || r->out->len > TRENDER_MAX_OUTPUT) {
        trender_fail(r, "RuntimeError: the template ran too long or wrote too much");
        return -1;
    }
    switch (n->kind) {
    case TN_TEXT:
        template_buf_add_text(r->out, n);
        break;
    case TN_EXPR:
        if ((v = texpr_value(r, n->e, &owned)) == NULL) {
            rc = -1;
            break;
        }
        rc = trender_value(r, v, n->raw ? TF_NONE : n->escape);
        if (owned)
            json_decref(v);
        break;
    case TN_IF:
        rc = trender_if(r, n);
        break;
    case TN_FOR:
        rc = trender_for(r, n);
        break;
    case TN_WHILE:
        rc = trender_while(r, n);
        break;
    case TN_SET:
        if ((v = texpr_eval(r, n->e)) == NULL) {
            rc = -1;
            break;
        }
        rc = trender_assign(r, n, v);
        json_decref(v);
        break;
    case TN_BLOCK:
        if (++r->depth > TEMPLATE_MAX_DEPTH) {
            trender_fail(r, "RecursionError: blocks nested too deep");
            rc = -1;
        } else {
            const struct tnode *b = trender_find_block(r, n);
            r->cur = b->owner;
            rc = trender_body(r, &b->bodies[0]);
        }
        r->depth--;
        break;
    case TN_INCLUDE:
        rc = trender_named(r, n->text, NULL);
        break;
    case TN_APPLY:
        rc = trender_apply(r, n);
        break;
    case TN_TRY:
        rc = trender_try(r, n);
        break;
    case TN_BREAK:
        r->flow = TFLOW_BREAK;
        break;
    case TN_CONTINUE:
        r->flow = TFLOW_CONTINUE;
        break;
    }
    if (rc == 0)
        r->cur = cur;
    return rc;
}

static int trender_body(struct trender *r, const struct tbody *b)
{
    for (size_t i = 0; i < b->n && r->flow == TFLOW_NONE; i++) {
        const struct tnode *n = b->nodes[i];
        /* text, and expressions that need no node context of their own,
         * inline: most of a page (trender_node is a large frame to set up) */
        if (n->kind == TN_TEXT) {
            template_buf_add_text(r->out, n);
            continue;
        }
        if (n->kind == TN_EXPR) {
            int owned;
            r->cur = n->owner;
            r->line = n->line;
            json_t *v = texpr_value(r, n->e, &owned);
            if (v == NULL)
                return -1;
            trender_value(r, v, n->raw ? TF_NONE : n->escape);
            if (owned)
                json_decref(v);
            continue;
        }
        if (trender_node(r, n) < 0)
            return -1;
    }
    return 0;
}

/* Render t, following its extends chain, with r's variables and context. */
static int trender_template(struct trender *r, const struct template *t)
{
    const struct template *chain[TRENDER_MAX_CHAIN];
    size_t n = 0;
    chain[n++] = t;
    while (chain[n - 1]->parent != NULL) {
        const struct template *p;
        r->cur = chain[n - 1];
        r->line = 1;
        if (n == TRENDER_MAX_CHAIN) {
            trender_fail(r, "extends chain longer than %d templates", TRENDER_MAX_CHAIN);
            return -1;
        }
        if (r->env->cache == NULL) {
            trender_fail(r, "extends %s: no template folder", chain[n - 1]->parent);
            return -1;
        }
        struct template_err e = {.msg = ""};
        if ((p = template_cache_get(r->env->cache, chain[n - 1]->parent, &e)) == NULL) {
            *r->err = e;
            return -1;
        }
        chain[n++] = p;
    }
    const struct template *const *saved = r->chain;
    size_t nsaved = r->nchain;
    r->chain = chain;
    r->nchain = n;
    r->cur = chain[n - 1];
    int rc = trender_body(r, &chain[n - 1]->body);
    r->flow = TFLOW_NONE;
    r->chain = saved;
    r->nchain = nsaved;
    return rc;
}

int trender_named(struct trender *r, const char *name, json_t *ctx)
{
    const struct template *t;
    struct template_err e = {.msg = ""};
    if (r->env->cache == NULL) {
        trender_fail(r, "%s: no template folder to load it from", name);
        return -1;
    }
    if (r->depth + 1 > TEMPLATE_MAX_DEPTH) {
        trender_fail(r, "RecursionError: templates included %d deep", TEMPLATE_MAX_DEPTH);
        return -1;
    }
    if ((t = template_cache_get(r->env->cache, name, &e)) == NULL) {
        trender_fail(r, "%s", e.msg);
        return -1;
    }
    const struct template *cur = r->cur;
    int line = r->line;
    json_t *saved_ctx = r->ctx;
    r->depth++;
    int rc;
    if (ctx != NULL) { /* Template(): its own context, its own inheritance */
        r->ctx = ctx;
        rc = trender_template(r, t);
    } else { /* include: the same namespace, the included body in place */
        r->cur = t;
        rc = trender_body(r, &t->body);
    }
    r->depth--;
    r->ctx = saved_ctx;
    if (rc == 0) {
        r->cur = cur;
        r->line = line;
    }
    return rc;
}

int template_render(const struct template *t, json_t *ctx, const struct template_env *env,
                    struct template_buf *out, struct template_err *err)
{
    static const struct template_env none = {0};
    struct trender r;
    memset(&r, 0, offsetof(struct trender, slots));
    r.env = env ? env : &none;
    r.ctx = json_is_object(ctx) ? ctx : NULL;
    r.vars = json_object();
    r.out = out;
    r.err = err;
    /* each function the caller left NULL falls back to the engine's own */
    struct template_funcs funcs = template_funcs_fallback;
    const struct template_funcs *f = r.env->funcs;
    if (f != NULL) {
        funcs.translate = f->translate ? f->translate : funcs.translate;
        funcs.format_date = f->format_date ? f->format_date : funcs.format_date;
        funcs.static_url = f->static_url ? f->static_url : funcs.static_url;
        funcs.xsrf_form_html = f->xsrf_form_html ? f->xsrf_form_html : funcs.xsrf_form_html;
        funcs.reverse_url = f->reverse_url ? f->reverse_url : funcs.reverse_url;
        funcs.global = f->global;
    }
    r.funcs = &funcs;
    memset(err, 0, sizeof(*err));
    int rc = trender_template(&r, t);
    json_decref(r.vars);
    return rc;
}

/* ---- the fallbacks of the functions that need more than the engine ---- */

static int template_fallback_translate(void *ud, const char *s, const char *plural, long long n,
                                       struct template_buf *out, struct template_err *err)
{
    (void)ud, (void)err;
    template_buf_adds(out, plural != NULL && n != 1 ? plural : s);
    return 0;
}

static int template_fallback_format_date(void *ud, double t, int gmt_offset, int relative,
                                         int shorter, int full_format, struct template_buf *out,
                                         struct template_err *err)
{
    char buf[64];
    struct tm tm;
    time_t secs = (time_t)t - (time_t)gmt_offset * 60;
    (void)ud, (void)relative, (void)shorter, (void)full_format;
    if (gmtime_r(&secs, &tm) == NULL) {
        snprintf(err->msg, sizeof(err->msg), "date out of range");
        return -1;
    }
    strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
    template_buf_adds(out, buf);
    return 0;
}

static int template_fallback_static_url(void *ud, const char *path, struct template_buf *out,
                                        struct template_err *err)
{
    (void)ud, (void)err;
    template_buf_adds(out, "/static/");
    template_buf_adds(out, path);
    return 0;
}

static int template_fallback_xsrf(void *ud, struct template_buf *out, struct template_err *err)
{
    (void)ud, (void)out;
    snprintf(err->msg, sizeof(err->msg), "no request to take an XSRF token from");
    return -1;
}

static int template_fallback_reverse_url(void *ud, const char *name, const char *const *args,
                                         size_t nargs, struct template_buf *out,
                                         struct template_err *err)
{
    (void)ud, (void)args, (void)nargs, (void)out;
    snprintf(err->msg, sizeof(err->msg), "no route named %.200s", name);
    return -1;
}

const struct template_funcs template_funcs_fallback = {
    .translate = template_fallback_translate,
    .format_date = template_fallback_format_date,
    .static_url = template_fallback_static_url,
    .xsrf_form_html = template_fallback_xsrf,
    .reverse_url = template_fallback_reverse_url,
};
