/*
 * render.c - templates rendered for a request: the folder from the route's
 * or the top level's `template_path`, the worker's cache of that folder,
 * the template functions that need the request, and the answer.
 */
#include "page/render.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/module.h"
#include "core/router.h"
#include "http/request.h"
#include "http/static.h"
#include "page/locale.h"
#include "page/template_settings.h"

#define RENDER_MAX_CACHES 32
#define RENDER_URL_SIZE 2048

/* The worker's caches, one per folder (see render.h: a worker is a
 * process, and nothing here is shared with another). */
static struct {
    char *root;
    struct template_cache *cache;
} render_caches[RENDER_MAX_CACHES];
static size_t render_ncaches;

void render_caches_free(void)
{
    for (size_t i = 0; i < render_ncaches; i++) {
        template_cache_free(render_caches[i].cache);
        free(render_caches[i].root);
    }
    render_ncaches = 0;
}

static const char *render_root(const gale_request *r)
{
    const struct template_route_settings *rs =
        r->route ? template_route_settings(r->route->conf) : NULL;
    if (rs != NULL && rs->template_path != NULL)
        return rs->template_path;
    return template_settings(r->loop->cfg)->template_path;
}

static struct template_cache *render_cache(const gale_request *r)
{
    const char *root = render_root(r);
    for (size_t i = 0; i < render_ncaches; i++)
        if (strcmp(render_caches[i].root, root) == 0)
            return render_caches[i].cache;
    if (render_ncaches == RENDER_MAX_CACHES)
        return NULL;
    render_caches[render_ncaches].root = strdup(root);
    if (render_caches[render_ncaches].root == NULL)
        abort();
    render_caches[render_ncaches].cache =
        template_cache_new(root, template_settings(r->loop->cfg)->debug);
    return render_caches[render_ncaches++].cache;
}

/* ---- the template functions that need the request ---- */

/* One render's ud: the request, and the names every template of it sees
 * (render_global), made when first used and dropped when it ends. */
struct render_call {
    gale_request *r;
    json_t *locale, *current_user, *request;
};

static gale_request *render_request(void *ud)
{
    return ((struct render_call *)ud)->r;
}

/* _(s) and _(singular, plural, n): the request's locale (argument, cookie,
 * Accept-Language, default), as Tornado's handler.locale.translate. */
static int render_translate(void *ud, const char *s, const char *plural, long long n,
                            struct template_buf *out, struct template_err *err)
{
    (void)err;
    const struct locale *l = locale_for_request(render_request(ud));
    long count = n > LONG_MAX ? LONG_MAX : n < LONG_MIN ? LONG_MIN : (long)n;
    template_buf_adds(out, l                  ? locale_translate(l, NULL, s, plural, count)
                           : plural && n != 1 ? plural
                                              : s);
    return 0;
}

/* Tornado's locale.format_date in the request's locale, now. */
static int render_format_date(void *ud, double t, int gmt_offset, int relative, int shorter,
                              int full_format, struct template_buf *out, struct template_err *err)
{
    gale_request *r = render_request(ud);
    const struct locale *l = locale_for_request(r);
    char *s = l ? locale_format_date(l, r->arena, t, gmt_offset, relative, shorter, full_format,
                                     (double)time(NULL))
                : NULL;
    if (s == NULL)
        return template_funcs_fallback.format_date(NULL, t, gmt_offset, relative, shorter,
                                                   full_format, out, err);
    template_buf_adds(out, s);
    return 0;
}

/* static_url(path): the file under the first static folder with "?v=" and
 * its content hash (static_url in src/http/static.c). */
static int render_static_url(void *ud, const char *path, struct template_buf *out,
                             struct template_err *err)
{
    const char *url = static_url(render_request(ud), path);
    if (url == NULL) {
        snprintf(err->msg, sizeof(err->msg), "static_url(%.200s): the config has no static folder",
                 path);
        return -1;
    }
    template_buf_adds(out, url);
    return 0;
}

/* Tornado's xsrf_form_html: the hidden form field with this answer's
 * masked token (which also sets the _xsrf cookie when needed). */
static int render_xsrf_form_html(void *ud, struct template_buf *out, struct template_err *err)
{
    const char *token = gale_request_xsrf_token(render_request(ud));
    if (token == NULL) {
        snprintf(err->msg, sizeof(err->msg), "no XSRF token for this request");
        return -1;
    }
    template_buf_adds(out, "<input type=\"hidden\" name=\"_xsrf\" value=\"");
    template_buf_adds(out, token); /* hex digits and '|': nothing to escape */
    template_buf_adds(out, "\"/>");
    return 0;
}

/* reverse_url(name, args...): the route whose config names it, its
 * pattern's groups filled by the arguments (as gale_url_for). */
static int render_reverse_url(void *ud, const char *name, const char *const *args, size_t nargs,
                              struct template_buf *out, struct template_err *err)
{
    gale_request *r = render_request(ud);
    char url[RENDER_URL_SIZE];
    const struct route *route = module_route_named(r->loop->modules, name);
    if (route == NULL) {
        snprintf(err->msg, sizeof(err->msg), "no route named %.200s", name);
        return -1;
    }
    if (router_reverse(route->conf->path, args, nargs, url, sizeof(url)) < 0) {
        snprintf(err->msg, sizeof(err->msg),
                 "route %.200s: cannot make its URL from %zu argument(s)", name, nargs);
        return -1;
    }
    template_buf_adds(out, url);
    return 0;
}

/* The names every template of a request sees, as Tornado's handler gives
 * them (a context's own names come first): `locale` (the request's locale
 * code), `current_user` (the user, or None), `request` ({method, path, uri,
 * query, host}). */
static json_t *render_global(void *ud, const char *name, size_t len)
{
    struct render_call *c = ud;
    gale_request *r = c->r;
    if (len == 6 && memcmp(name, "locale", 6) == 0) {
        if (c->locale == NULL) {
            const struct locale *l = locale_for_request(r);
            c->locale = json_string(l ? locale_code(l) : "en_US");
        }
        return c->locale;
    }
    if (len == 12 && memcmp(name, "current_user", 12) == 0) {
        if (c->current_user == NULL) {
            const char *user = gale_request_user(r);
            c->current_user = user ? json_string(user) : json_null();
        }
        return c->current_user;
    }
    if (len == 7 && memcmp(name, "request", 7) == 0) {
        if (c->request == NULL)
            c->request = json_pack("{s:s?, s:s?, s:s?, s:s, s:s?}", "method", r->method, "path",
                                   r->path, "uri", r->target, "query", r->query ? r->query : "",
                                   "host", gale_request_header(r, "Host"));
        return c->request;
    }
    return NULL;
}

/* The template environment of a request: its translations, XSRF token,
 * routes, static files and names. */
static const struct template_funcs render_funcs = {
    .translate = render_translate,
    .format_date = render_format_date,
    .static_url = render_static_url,
    .xsrf_form_html = render_xsrf_form_html,
    .reverse_url = render_reverse_url,
    .global = render_global,
};

/* Render into out; on an error log it with the template's file and line
 * and return -1 with err filled. */
static int render_to(gale_request *r, const char *name, json_t *ctx, struct template_buf *out,
                     struct template_err *err)
{
    struct template_cache *cache = render_cache(r);
    memset(err, 0, sizeof(*err));
    if (cache == NULL) {
        snprintf(err->msg, sizeof(err->msg), "%s: too many template folders", name);
        log_error("template %s", err->msg);
        return -1;
    }
    const struct template *t = template_cache_get(cache, name, err);
    struct render_call call = {.r = r};
    struct template_env env = {.funcs = &render_funcs, .ud = &call, .cache = cache};
    int rc = t == NULL ? -1 : template_render(t, ctx, &env, out, err);
    json_decref(call.locale);
    json_decref(call.current_user);
    json_decref(call.request);
    if (rc < 0) {
        log_error("template error: %s/%s (%s %s)", template_cache_root(cache), err->msg, r->method,
                  r->path);
        return -1;
    }
    return 0;
}

int gale_template_render(gale_request *r, const char *name, json_t *ctx)
{
    struct template_buf out = {0};
    struct template_err err;
    if (r->finished || r->head_sent)
        return -1;
    if (render_to(r, name, ctx, &out, &err) < 0) {
        template_buf_free(&out);
        /* details only in debug: a template's error may show its data */
        gale_response_error(r, 500, template_settings(r->loop->cfg)->debug ? err.msg : NULL);
        return -1;
    }
    if (response_header_find(r, "Content-Type") == NULL)
        gale_response_header(r, "Content-Type", "text/html; charset=UTF-8");
    gale_response_write(r, out.s ? out.s : "", out.len);
    template_buf_free(&out);
    gale_response_finish(r);
    return 0;
}

char *gale_template_render_string(gale_request *r, const char *name, json_t *ctx)
{
    struct template_buf out = {0};
    struct template_err err;
    char *s = NULL;
    if (render_to(r, name, ctx, &out, &err) == 0) {
        s = gale_request_alloc(r, out.len + 1);
        memcpy(s, out.s ? out.s : "", out.len);
        s[out.len] = '\0';
    }
    template_buf_free(&out);
    return s;
}
