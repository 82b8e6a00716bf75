/*
 * template_funcs.c - the functions and methods a template may call: a
 * fixed set (template_expr.c refuses any other name), Python's built-ins
 * that make sense over JSON, Tornado's escape functions, and those that need
 * gale or the request, through the render's struct template_funcs.
 *
 * Every value returned is a new reference; NULL means an error was set.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page/template_impl.h"

/* Evaluate every argument: positional ones at their place, keywords at the
 * place `kwnames` gives them. Returns 0, or -1 after an error (all freed). */
static int teval_args(struct trender *r, const struct texpr *e, json_t **argv, size_t max,
                      const char *const *kwnames)
{
    size_t pos = 0;
    memset(argv, 0, max * sizeof(*argv));
    for (size_t i = 0; i < e->nargs; i++) {
        size_t at = pos++;
        if (e->kw && e->kw[i]) {
            for (at = 0; kwnames && kwnames[at] && strcmp(kwnames[at], e->kw[i]); at++)
                ;
            if (!kwnames || !kwnames[at]) {
                trender_fail(r, "TypeError: unexpected keyword argument '%s'", e->kw[i]);
                goto fail;
            }
        }
        if (at >= max) {
            trender_fail(r, "TypeError: %s takes at most %zu arguments", e->name, max);
            goto fail;
        }
        json_decref(argv[at]);
        if ((argv[at] = texpr_eval(r, e->args[i])) == NULL)
            goto fail;
    }
    return 0;
fail:
    for (size_t i = 0; i < max; i++)
        json_decref(argv[i]);
    return -1;
}

static int teval_want_str(struct trender *r, json_t *v, const char *fn)
{
    if (v != NULL && json_is_string(v))
        return 0;
    trender_fail(r, "TypeError: %s() expects a string, not %s", fn, v ? tval_type(v) : "nothing");
    return -1;
}

static json_t *teval_minmax(struct trender *r, const struct texpr *e, json_t **argv, size_t n)
{
    json_t *items = n == 1 ? argv[0] : NULL, *best = NULL;
    if (n == 0 || (n == 1 && !json_is_array(items)))
        return trender_fail(r, "TypeError: %s() expects a list or several values", e->name);
    size_t count = items ? json_array_size(items) : n;
    for (size_t i = 0; i < count; i++) {
        json_t *x = items ? json_array_get(items, i) : argv[i];
        int c = best ? tval_compare(x, best) : 0;
        if (c == -2)
            return trender_fail(r, "TypeError: cannot compare %s and %s", tval_type(x),
                                tval_type(best));
        if (best == NULL || (e->fn == TF_MIN ? c < 0 : c > 0))
            best = x;
    }
    if (best == NULL)
        return trender_fail(r, "ValueError: %s() arg is an empty sequence", e->name);
    return json_incref(best);
}

static int teval_sort_cmp(const void *a, const void *b)
{
    int c = tval_compare(*(json_t *const *)a, *(json_t *const *)b);
    return c == -2 ? 0 : c;
}

static json_t *teval_builtin(struct trender *r, const struct texpr *e, json_t **argv, size_t n)
{
    struct template_buf b = {0};
    json_t *a = argv[0];
    switch (e->fn) {
    case TF_LEN:
        if (a && json_is_string(a))
            return json_integer(
                (json_int_t)teval_ulen(json_string_value(a), json_string_length(a)));
        if (a && (json_is_array(a) || json_is_object(a)))
            return json_integer(
                (json_int_t)(json_is_array(a) ? json_array_size(a) : json_object_size(a)));
        return trender_fail(r, "TypeError: object of type '%s' has no len()",
                            a ? tval_type(a) : "nothing");
    case TF_STR:
        if (a)
            tval_str(&b, a);
        return teval_string(&b);
    case TF_BOOL:
        return json_boolean(a && tval_truthy(a));
    case TF_INT:
    case TF_FLOAT:
        if (a == NULL)
            return e->fn == TF_INT ? json_integer(0) : json_real(0);
        if (json_is_string(a)) {
            char *end;
            double d = strtod(json_string_value(a), &end);
            if (end == json_string_value(a) || *end != '\0' ||
                (e->fn == TF_INT && strpbrk(json_string_value(a), ".eEn")))
                return trender_fail(r, "ValueError: invalid literal for %s(): '%s'", e->name,
                                    json_string_value(a));
            if (!isfinite(d) || (e->fn == TF_INT && fabs(d) >= 9.2e18))
                return trender_fail(r, "ValueError: %s(): '%s' is out of range", e->name,
                                    json_string_value(a));
            return e->fn == TF_INT ? json_integer((json_int_t)d) : json_real(d);
        }
        if (!teval_is_num(a))
            return trender_fail(r, "TypeError: %s() cannot convert %s", e->name, tval_type(a));
        if (e->fn == TF_INT && json_is_real(a) && fabs(json_real_value(a)) >= 9.2e18)
            return trender_fail(r, "OverflowError: int() of a float beyond 64 bits");
        return e->fn == TF_INT
                   ? json_integer(teval_is_int(a) ? teval_int(a) : (json_int_t)json_real_value(a))
                   : json_real(teval_num(a));
    case TF_ABS:
        if (a && teval_is_int(a))
            return json_integer(llabs(teval_int(a)));
        if (a && json_is_real(a))
            return json_real(fabs(json_real_value(a)));
        return trender_fail(r, "TypeError: bad operand type for abs()");
    case TF_MIN:
    case TF_MAX:
        return teval_minmax(r, e, argv, n);
    case TF_SORTED: {
        if (a == NULL || !json_is_array(a))
            return trender_fail(r, "TypeError: sorted() expects a list");
        size_t len = json_array_size(a);
        json_t **items = malloc((len + 1) * sizeof(*items)), *out = json_array();
        if (items == NULL)
            abort();
        for (size_t i = 0; i < len; i++)
            items[i] = json_array_get(a, i);
        qsort(items, len, sizeof(*items), teval_sort_cmp); /* mixed types: kept in place */
        for (size_t i = 0; i < len; i++)
            json_array_append(out, items[i]);
        free(items);
        return out;
    }
    case TF_RANGE: {
        for (size_t i = 0; i < n; i++)
            if (!teval_is_int(argv[i]))
                return trender_fail(r, "TypeError: range() expects integers");
        json_int_t lo = n > 1 ? teval_int(argv[0]) : 0, hi = n ? teval_int(argv[n > 1]) : 0,
                   step = n > 2 ? teval_int(argv[2]) : 1;
        if (step == 0)
            return trender_fail(r, "ValueError: range() arg 3 must not be zero");
        json_t *out = json_array();
        for (json_int_t i = lo; step > 0 ? i < hi : i > hi; i += step)
            if (json_array_size(out) >= TEVAL_MAX_ITEMS ||
                json_array_append_new(out, json_integer(i)) < 0) {
                json_decref(out);
                return trender_fail(r, "MemoryError: range() too long");
            }
        return out;
    }
    case TF_ENUMERATE: {
        if (a == NULL || !json_is_array(a))
            return trender_fail(r, "TypeError: enumerate() expects a list");
        json_int_t start = n > 1 && teval_is_int(argv[1]) ? teval_int(argv[1]) : 0;
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(a); i++)
            json_array_append_new(out,
                                  json_pack("[IO]", start + (json_int_t)i, json_array_get(a, i)));
        return out;
    }
    default:
        break;
    }
    return NULL;
}

/* The functions on strings and the values Tornado's escape module takes. */
static json_t *teval_escape_fn(struct trender *r, const struct texpr *e, json_t **argv)
{
    struct template_buf b = {0};
    json_t *a = argv[0];
    if (e->fn == TF_JSON_ENCODE) {
        if (a == NULL)
            return trender_fail(r, "TypeError: json_encode() expects a value");
        tval_json_encode(&b, a);
        return teval_string(&b);
    }
    if (teval_want_str(r, a, e->name) < 0)
        return NULL;
    const char *s = json_string_value(a);
    size_t n = json_string_length(a);
    switch (e->fn) {
    case TF_XHTML_ESCAPE:
        tval_xhtml_escape(&b, s, n);
        break;
    case TF_XHTML_UNESCAPE:
        tval_xhtml_unescape(&b, s, n);
        break;
    case TF_URL_ESCAPE:
        tval_url_escape(&b, s, n, argv[1] == NULL || tval_truthy(argv[1]));
        break;
    case TF_LINKIFY:
        tval_linkify(&b, s, n);
        break;
    default:
        tval_squeeze(&b, s, n);
        break;
    }
    return teval_string(&b);
}

/* The functions of the template_funcs table: what needs gale. */
static json_t *teval_env_fn(struct trender *r, const struct texpr *e, json_t **argv, size_t n)
{
    const struct template_funcs *f = r->funcs;
    struct template_buf b = {0};
    struct template_err fe = {.msg = ""};
    int rc = -1;
    switch (e->fn) {
    case TF_STATIC_URL:
        if (teval_want_str(r, argv[0], e->name) < 0)
            return NULL;
        rc = f->static_url(r->env->ud, json_string_value(argv[0]), &b, &fe);
        break;
    case TF_XSRF_FORM_HTML:
        rc = f->xsrf_form_html(r->env->ud, &b, &fe);
        break;
    case TF_TRANSLATE:
        if (teval_want_str(r, argv[0], e->name) < 0 ||
            (argv[1] && teval_want_str(r, argv[1], e->name) < 0))
            return NULL;
        if (argv[1] && (argv[2] == NULL || !teval_is_int(argv[2])))
            return trender_fail(r, "TypeError: _(singular, plural, count) needs an int count");
        rc = f->translate(r->env->ud, json_string_value(argv[0]),
                          argv[1] ? json_string_value(argv[1]) : NULL,
                          argv[2] ? teval_int(argv[2]) : 1, &b, &fe);
        break;
    case TF_FORMAT_DATE:
        if (argv[0] == NULL || !teval_is_num(argv[0]))
            return trender_fail(r, "TypeError: format_date() expects seconds since the epoch");
        rc = f->format_date(r->env->ud, teval_num(argv[0]), argv[1] ? (int)teval_num(argv[1]) : 0,
                            argv[2] ? tval_truthy(argv[2]) : 1, argv[3] && tval_truthy(argv[3]),
                            argv[4] && tval_truthy(argv[4]), &b, &fe);
        break;
    default: { /* TF_REVERSE_URL */
        const char *args[16];
        struct template_buf parts[16];
        if (teval_want_str(r, argv[0], e->name) < 0)
            return NULL;
        for (size_t i = 1; i < n; i++) {
            memset(&parts[i], 0, sizeof(parts[i]));
            tval_str(&parts[i], argv[i]);
            args[i - 1] = parts[i].s ? parts[i].s : "";
        }
        rc = f->reverse_url(r->env->ud, json_string_value(argv[0]), args, n ? n - 1 : 0, &b, &fe);
        for (size_t i = 1; i < n; i++)
            template_buf_free(&parts[i]);
    }
    }
    if (rc < 0) {
        template_buf_free(&b);
        return trender_fail(r, "%s() failed: %s", e->name, fe.msg);
    }
    return teval_string(&b);
}

/* Template(name, k=v...): the named template rendered with only k=v... as
 * its context (as Tornado's TemplateModule, which sees the handler's
 * namespace and its arguments, not the caller's variables). */
static json_t *teval_template(struct trender *r, const struct texpr *e)
{
    json_t *name = e->nargs && !(e->kw && e->kw[0]) ? texpr_eval(r, e->args[0]) : NULL;
    if (name == NULL || !json_is_string(name)) {
        json_decref(name);
        return trender_fail(r, "TypeError: Template() expects a template's name first");
    }
    json_t *ctx = json_object();
    for (size_t i = 1; i < e->nargs; i++) {
        json_t *v = texpr_eval(r, e->args[i]);
        if (v == NULL || !e->kw || !e->kw[i]) {
            if (v != NULL)
                trender_fail(r, "TypeError: Template() takes keyword arguments after the name");
            json_decref(v), json_decref(ctx), json_decref(name);
            return NULL;
        }
        json_object_set_new(ctx, e->kw[i], v);
    }
    struct template_buf *saved = r->out, b = {0};
    json_t *vars = r->vars;
    size_t base = r->slot_base;
    r->out = &b;
    r->vars = json_object();
    r->slot_base = r->nslots; /* the caller's loop variables are not its own */
    int rc = trender_named(r, json_string_value(name), ctx);
    r->slot_base = base;
    json_decref(r->vars);
    r->vars = vars;
    r->out = saved;
    json_decref(ctx);
    json_decref(name);
    if (rc < 0) {
        template_buf_free(&b);
        return NULL;
    }
    return teval_string(&b);
}

json_t *teval_call(struct trender *r, const struct texpr *e)
{
    static const char *const date_kw[] = {"date",    "gmt_offset",  "relative",
                                          "shorter", "full_format", NULL};
    static const char *const url_kw[] = {"value", "plus", NULL};
    json_t *argv[16], *v;
    if (e->fn == TF_TEMPLATE)
        return teval_template(r, e);
    const char *const *kw = e->fn == TF_FORMAT_DATE  ? date_kw
                            : e->fn == TF_URL_ESCAPE ? url_kw
                                                     : NULL;
    if (teval_args(r, e, argv, 16, kw) < 0)
        return NULL;
    size_t n = 0;
    while (n < 16 && argv[n])
        n++;
    if (e->fn >= TF_STATIC_URL)
        v = teval_env_fn(r, e, argv, n);
    else if (e->fn >= TF_XHTML_ESCAPE)
        v = teval_escape_fn(r, e, argv);
    else
        v = teval_builtin(r, e, argv, n);
    for (size_t i = 0; i < 16; i++)
        json_decref(argv[i]);
    return v;
}

static json_t *teval_dict_method(struct trender *r, const struct texpr *e, json_t *d, json_t **argv)
{
    const char *k;
    json_t *x, *out;
    if (strcmp(e->name, "get") == 0) {
        if (argv[0] == NULL || !json_is_string(argv[0]))
            return trender_fail(r, "TypeError: get() expects a string key");
        x = json_object_get(d, json_string_value(argv[0]));
        return json_incref(x ? x : argv[1] ? argv[1] : json_null());
    }
    out = json_array();
    json_object_foreach(d, k, x)
    {
        if (e->name[0] == 'i')
            json_array_append_new(out, json_pack("[sO]", k, x));
        else if (e->name[0] == 'k')
            json_array_append_new(out, json_string(k));
        else
            json_array_append(out, x);
    }
    return out;
}

static json_t *teval_join(struct trender *r, json_t *sep, json_t *items)
{
    struct template_buf b = {0};
    if (items == NULL || !json_is_array(items))
        return trender_fail(r, "TypeError: join() expects a list");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *x = json_array_get(items, i);
        if (!json_is_string(x)) {
            template_buf_free(&b);
            return trender_fail(r, "TypeError: sequence item %zu: expected str, %s found", i,
                                tval_type(x));
        }
        if (i > 0)
            template_buf_add(&b, json_string_value(sep), json_string_length(sep));
        template_buf_add(&b, json_string_value(x), json_string_length(x));
    }
    return teval_string(&b);
}

static json_t *teval_split(json_t *str, json_t *sep)
{
    const char *s = json_string_value(str), *end = s + json_string_length(str);
    json_t *out = json_array();
    if (sep == NULL || json_is_null(sep) || json_string_length(sep) == 0) {
        while (s < end) {
            while (s < end && strchr(" \t\n\r\v\f", *s))
                s++;
            const char *w = s;
            while (s < end && !strchr(" \t\n\r\v\f", *s))
                s++;
            if (s > w)
                json_array_append_new(out, json_stringn_nocheck(w, (size_t)(s - w)));
        }
        return out;
    }
    size_t n = json_string_length(sep);
    for (;;) {
        const char *p = memmem(s, (size_t)(end - s), json_string_value(sep), n);
        json_array_append_new(out, json_stringn_nocheck(s, (size_t)((p ? p : end) - s)));
        if (p == NULL)
            return out;
        s = p + n;
    }
}

static json_t *teval_strip(const char *s, size_t n)
{
    size_t a = 0;
    while (a < n && strchr(" \t\n\r\v\f", s[a]))
        a++;
    while (n > a && strchr(" \t\n\r\v\f", s[n - 1]))
        n--;
    return json_stringn_nocheck(s + a, n - a);
}

static json_t *teval_str_method(struct trender *r, const struct texpr *e, json_t *str,
                                json_t **argv)
{
    const char *s = json_string_value(str), *m = e->name;
    size_t n = json_string_length(str);
    struct template_buf b = {0};
    if (strcmp(m, "join") == 0)
        return teval_join(r, str, argv[0]);
    if (strcmp(m, "split") == 0)
        return teval_split(str, argv[0]);
    if (strcmp(m, "startswith") == 0 || strcmp(m, "endswith") == 0) {
        if (teval_want_str(r, argv[0], m) < 0)
            return NULL;
        size_t k = json_string_length(argv[0]);
        return json_boolean(
            k <= n && memcmp(m[0] == 's' ? s : s + n - k, json_string_value(argv[0]), k) == 0);
    }
    if (strcmp(m, "replace") == 0) {
        if (teval_want_str(r, argv[0], m) < 0 || teval_want_str(r, argv[1], m) < 0)
            return NULL;
        json_t *parts = teval_split(str, argv[0]);
        json_t *v = json_string_length(argv[0]) ? teval_join(r, argv[1], parts) : json_incref(str);
        json_decref(parts);
        return v;
    }
    if (strcmp(m, "strip") == 0)
        return teval_strip(s, n);
    template_buf_grow(&b, n);
    memcpy(b.s, s, n);
    b.len = n;
    b.s[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        char c = b.s[i];
        int up =
            m[0] == 'u' || (m[0] != 'l' && (i == 0 || (m[0] == 't' && !teval_alpha(b.s[i - 1]))));
        b.s[i] = up ? (c >= 'a' && c <= 'z' ? c - 32 : c) : (c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    return teval_string(&b);
}

json_t *teval_method(struct trender *r, const struct texpr *e)
{
    json_t *argv[4], *v = NULL;
    json_t *base = texpr_eval(r, e->args[0]);
    if (base == NULL)
        return NULL;
    struct texpr call = *e;
    call.args++, call.nargs--;
    call.kw = e->kw ? e->kw + 1 : NULL;
    if (teval_args(r, &call, argv, 4, NULL) < 0) {
        json_decref(base);
        return NULL;
    }
    int dict_m = strchr("ikvg", e->name[0]) != NULL;
    if (json_is_object(base) && dict_m)
        v = teval_dict_method(r, e, base, argv);
    else if (json_is_string(base) && !dict_m)
        v = teval_str_method(r, e, base, argv);
    else
        trender_fail(r, "AttributeError: '%s' object has no attribute '%s'", tval_type(base),
                     e->name);
    for (size_t i = 0; i < 4; i++)
        json_decref(argv[i]);
    json_decref(base);
    return v;
}
