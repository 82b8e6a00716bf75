/*
 * template.h - Tornado-compatible templates (tornado.template, 6.2): the
 * engine, free of requests.
 *
 * A template is compiled once into a tree of nodes (template_parse.c, with
 * its expressions compiled by template_expr.c) and rendered many times
 * against a JSON context (template_render.c). What needs gale or the request
 * (translations, dates, static URLs, the XSRF form field, reverse URLs)
 * goes through the small table of functions in struct template_env, given
 * at render time, so that the engine runs in unit tests with none of gale.
 *
 * Templates are found by name under a root folder and cached by name in a
 * struct template_cache (template.c); with `debug`, a file whose mtime
 * changed is compiled again at the next lookup.
 *
 * Errors: 0 / -1, with a message "NAME:LINE: what" in a struct template_err.
 */
#ifndef GALE_TEMPLATE_H
#define GALE_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#define TEMPLATE_ERR_SIZE 512

struct template_err {
    char msg[TEMPLATE_ERR_SIZE]; /* "NAME:LINE: what was expected" */
    char file[256];              /* the template's name */
    int line;
};

/* A growable byte string (malloc'd; template_buf_free frees it). */
struct template_buf {
    char *s;
    size_t len, cap;
};

/* Make room for n more bytes and the NUL (aborts without memory). */
void template_buf_grow(struct template_buf *b, size_t n);

/* Append s[0..n), copying `copy` >= n bytes of s (all readable): with a
 * constant `copy` the copy is a few moves, where one of n bytes would be a
 * call to memcpy; the bytes past n are overwritten by the next append.
 * Inline: a render appends thousands of short pieces. */
static inline void template_buf_add_padded(struct template_buf *b, const char *s, size_t n,
                                           size_t copy)
{
    if (b->len + copy + 1 > b->cap)
        template_buf_grow(b, copy);
    __builtin_memcpy(b->s + b->len, s, copy);
    b->len += n;
    b->s[b->len] = '\0';
}

static inline void template_buf_add(struct template_buf *b, const char *s, size_t n)
{
    template_buf_add_padded(b, s, n, n);
}

void template_buf_adds(struct template_buf *b, const char *s);
void template_buf_addc(struct template_buf *b, char c);
void template_buf_free(struct template_buf *b);

/* The functions that need more than the engine. Each appends its result to
 * out and returns 0, or -1 with a message in err. Any may be NULL: the
 * engine then uses its own fallback (template_funcs_fallback says which). */
struct template_funcs {
    /* _(s) and _(singular, plural, n): plural is NULL for the first form. */
    int (*translate)(void *ud, const char *s, const char *plural, long long n,
                     struct template_buf *out, struct template_err *err);
    /* format_date(t, gmt_offset, relative, shorter, full_format): t in
     * seconds since the epoch, as Tornado's locale.format_date. */
    int (*format_date)(void *ud, double t, int gmt_offset, int relative, int shorter,
                       int full_format, struct template_buf *out, struct template_err *err);
    int (*static_url)(void *ud, const char *path, struct template_buf *out,
                      struct template_err *err);
    int (*xsrf_form_html)(void *ud, struct template_buf *out, struct template_err *err);
    /* reverse_url(name, args...): args as Python's str() of each. */
    int (*reverse_url)(void *ud, const char *name, const char *const *args, size_t nargs,
                       struct template_buf *out, struct template_err *err);
    /* A name[0..len) that neither the template nor the context defines:
     * borrowed, valid until the render ends, or NULL (a NameError). Made
     * when first asked for, so that a render pays only for what it uses. */
    json_t *(*global)(void *ud, const char *name, size_t len);
};

/* The engine's own fallbacks, for tests and for a server without the real
 * ones: _ is the identity (plural by n == 1), format_date a UTC
 * "YYYY-MM-DD HH:MM:SS", static_url "/static/" + path, xsrf_form_html and
 * reverse_url errors. */
extern const struct template_funcs template_funcs_fallback;

struct template_cache;

/* What a render sees beyond its context. */
struct template_env {
    const struct template_funcs *funcs; /* NULL: template_funcs_fallback */
    void *ud;                           /* passed to each of funcs */
    struct template_cache *cache;       /* where extends/include/Template() look */
};

struct template;

/* Compile text[0..len) named `name` (for errors, the whitespace default and
 * relative names). Whitespace: NULL means Tornado's default ("single" for
 * .html and .js names, else "all"). Returns NULL with err filled. The
 * template is freed by template_free. */
struct template *template_compile(const char *name, const char *text, size_t len,
                                  const char *whitespace, struct template_err *err);
void template_free(struct template *t);
const char *template_name(const struct template *t);

/* Render t with the JSON context ctx (borrowed; an object, or NULL) and
 * append the output to out. Templates named by extends/include/Template()
 * come from env->cache (absent: an error). Returns 0, or -1 with err naming
 * the template and line where rendering failed. */
int template_render(const struct template *t, json_t *ctx, const struct template_env *env,
                    struct template_buf *out, struct template_err *err);

/* ---- the cache of compiled templates by name (template.c) ---- */

/* A cache of templates read from the folder root. With debug, a template
 * whose file changed (mtime or size) is compiled again when next asked for. */
struct template_cache *template_cache_new(const char *root, int debug);
void template_cache_free(struct template_cache *c);
const char *template_cache_root(const struct template_cache *c);
/* Add a template from memory (no file behind it: never re-read). */
int template_cache_put(struct template_cache *c, const char *name, const char *text,
                       struct template_err *err);
/* The compiled template `name` (relative to root; "..", absolute names and
 * names that leave the root are refused). Owned by the cache: valid until
 * the next lookup of the same name with debug on, or template_cache_free. */
const struct template *template_cache_get(struct template_cache *c, const char *name,
                                          struct template_err *err);
/* Resolve `name` as Tornado's loader does when template `from` refers to it:
 * relative to from's folder, unless it starts with "/". Writes into out. */
int template_cache_resolve(const char *from, const char *name, char *out, size_t outsz);
/* Compile every file under root (recursively, skipping dot files); report
 * each error as "FILE:LINE: what" to `report`. Returns the number of
 * templates that failed. */
int template_cache_check(const char *root, void (*report)(void *arg, const char *msg), void *arg);

#endif
