/*
 * request.c - the module API for reading a request: method, path, headers,
 * query arguments, body; per-request memory, cleanups, timers and aborts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/module.h"
#include "core/router.h"
#include "core/util.h"
#include "http/form.h"
#include "http/pipeline.h"
#include "http/request.h"
#include "http/upload.h"
#include "net/conn.h"
#include "net/tls.h"

gale_ctx *gale_request_ctx(const gale_request *r)
{
    return r->route ? &r->route->module->ctx : NULL;
}

void *gale_request_module_data(const gale_request *r)
{
    return r->route ? r->route->module->ctx.data : NULL;
}

const char *gale_request_method(const gale_request *r)
{
    return r->method;
}

const char *gale_request_target(const gale_request *r)
{
    return r->target;
}

const char *gale_request_path(const gale_request *r)
{
    return r->path;
}

const char *gale_request_query_string(const gale_request *r)
{
    return r->query;
}

int gale_request_http_minor(const gale_request *r)
{
    return r->minor;
}

const char *gale_request_scheme(const gale_request *r)
{
    return r->https ? "https" : "http";
}

const char *gale_request_client(const gale_request *r)
{
    return r->client;
}

const char *gale_request_client_cert(const gale_request *r)
{
    char buf[1024];
    struct conn *c = pipeline_conn(r);
    struct ssl_st *ssl = c ? conn_ssl(c) : NULL;
    const char *subject = ssl ? tls_peer_subject(ssl, buf, sizeof(buf)) : NULL;
    return subject ? arena_strdup(r->arena, subject) : NULL;
}

const char *gale_request_host(const gale_request *r)
{
    return r->host;
}

size_t gale_request_capture_count(const gale_request *r)
{
    return r->ncaps;
}

const char *gale_request_capture(const gale_request *r, size_t i)
{
    return i >= 1 && i <= r->ncaps ? r->caps[i - 1] : NULL;
}

const json_t *gale_request_route_settings(const gale_request *r)
{
    return r->route ? r->route->conf->settings : NULL;
}

const char *gale_request_config_path(gale_request *r, const char *path)
{
    if (!path || path[0] == '/')
        return path;
    return gale_request_printf(r, "%s/%s", r->loop->cfg->dir, path);
}

const char *gale_request_header(const gale_request *r, const char *name)
{
    for (size_t i = 0; i < r->nhdrs; i++)
        if (http_name_eq(r->hdrs[i].name, name))
            return r->hdrs[i].value;
    return NULL;
}

int gale_request_header_at(const gale_request *r, size_t i, const char **name, const char **value)
{
    if (i >= r->nhdrs)
        return -1;
    *name = r->hdrs[i].name;
    *value = r->hdrs[i].value;
    return 0;
}

/* Append the decoded pairs of an urlencoded text (query or body). */
static void request_add_urlencoded(gale_request *r, const char *text, size_t len, size_t *cap)
{
    const char *pos = text, *end = text + len;
    struct form_pair p;
    while (form_urlencoded_next(&pos, end, 0, &p) == 1) {
        if (r->nargs == *cap) {
            size_t ncap = *cap ? *cap * 2 : 16;
            r->args =
                arena_realloc(r->arena, r->args, *cap * sizeof(*r->args), ncap * sizeof(*r->args));
            *cap = ncap;
        }
        char *name = arena_alloc(r->arena, p.name_len + 1);
        char *value = arena_alloc(r->arena, p.value_len + 1);
        form_decode(name, p.name_len + 1, p.name, p.name_len, FORM_PLUS);
        form_decode(value, p.value_len + 1, p.value, p.value_len, FORM_PLUS);
        r->args[r->nargs].name = name;
        r->args[r->nargs].value = value;
        r->nargs++;
    }
}

static int request_is_urlencoded(gale_request *r)
{
    const char *ctype = gale_request_header(r, "Content-Type");
    struct form_ctype ct;
    return ctype && form_ctype_parse(ctype, strlen(ctype), &ct) == 0 &&
           form_ctype_is(&ct, "application/x-www-form-urlencoded");
}

/* The query's arguments, then the form body's, decoded once. */
static void request_parse_args(gale_request *r)
{
    size_t cap = 0;
    r->args_parsed = 1;
    request_add_urlencoded(r, r->query, strlen(r->query), &cap);
    r->nquery = r->nargs;
    if (r->upload) {
        size_t n = upload_nfields(r->upload);
        r->args = arena_realloc(r->arena, r->args, cap * sizeof(*r->args),
                                (r->nargs + n) * sizeof(*r->args));
        for (size_t i = 0; i < n; i++, r->nargs++)
            upload_field(r->upload, i, &r->args[r->nargs].name, &r->args[r->nargs].value);
    } else if (r->body && request_is_urlencoded(r)) {
        size_t len;
        const char *body = gale_request_body(r, &len);
        request_add_urlencoded(r, body, len, &cap);
    }
}

const char *gale_request_argument_at(gale_request *r, const char *name, size_t i)
{
    if (!r->args_parsed)
        request_parse_args(r);
    for (size_t k = 0; k < r->nargs; k++)
        if (!strcmp(r->args[k].name, name) && i-- == 0)
            return r->args[k].value;
    return NULL;
}

const char *gale_request_argument(gale_request *r, const char *name)
{
    return gale_request_argument_at(r, name, 0);
}

const char *gale_request_require_argument(gale_request *r, const char *name)
{
    const char *v = gale_request_argument(r, name);
    if (!v)
        gale_response_error(r, 400, gale_request_printf(r, "missing argument %s", name));
    return v;
}

const gale_file *gale_request_file(gale_request *r, const char *name, size_t i)
{
    size_t n = r->upload ? upload_nfiles(r->upload) : 0;
    for (size_t k = 0; k < n; k++) {
        const gale_file *f = upload_file(r->upload, k);
        if ((!name || !strcmp(f->name, name)) && i-- == 0)
            return f;
    }
    return NULL;
}

/* Query-string arguments only: they come first in r->args. */
const char *gale_request_query(const gale_request *r, const char *name)
{
    gale_request *w = (gale_request *)r; /* decoding on first use is not a visible change */
    if (!r->args_parsed)
        request_parse_args(w);
    for (size_t i = 0; i < r->nquery; i++)
        if (!strcmp(r->args[i].name, name))
            return r->args[i].value;
    return NULL;
}

const char *gale_request_body(const gale_request *r, size_t *len)
{
    gale_request *w = (gale_request *)r;
    if (!r->body_flat) {
        if (!r->body) {
            w->body_flat = "";
            w->body_len = 0;
        } else {
            w->body_len = evbuffer_get_length(r->body);
            evbuffer_add(r->body, "", 1); /* the NUL after the bytes */
            w->body_flat = (const char *)evbuffer_pullup(r->body, -1);
        }
    }
    if (len)
        *len = r->body_len;
    return r->body_flat;
}

static void request_json_free(void *json)
{
    json_decref(json);
}

json_t *gale_request_json(gale_request *r)
{
    if (!r->json_parsed) {
        size_t len;
        const char *body = gale_request_body(r, &len);
        r->json_parsed = 1;
        r->json = json_loadb(body, len, JSON_DECODE_ANY, NULL);
        if (r->json)
            arena_cleanup_add(r->arena, request_json_free, r->json);
    }
    return r->json;
}

const char *gale_url_for(gale_request *r, const char *name, ...)
{
    const struct route *route = module_route_named(r->loop->modules, name);
    const char *args[ROUTER_MAX_CAPTURES];
    size_t n = 0;
    va_list ap;
    va_start(ap, name);
    for (const char *a; (a = va_arg(ap, const char *)) != NULL;)
        if (n < ROUTER_MAX_CAPTURES)
            args[n++] = a;
        else
            route = NULL; /* more than any pattern can take */
    va_end(ap);
    if (!route)
        return NULL;
    size_t cap = strlen(route->conf->path) * 3 + 1;
    for (size_t i = 0; i < n; i++)
        cap += strlen(args[i]) * 3;
    char *out = arena_alloc(r->arena, cap);
    return router_reverse(route->conf->path, args, n, out, cap) == 0 ? out : NULL;
}

void *gale_request_alloc(gale_request *r, size_t size)
{
    return arena_alloc(r->arena, size);
}

char *gale_request_strdup(gale_request *r, const char *s)
{
    return arena_strdup(r->arena, s);
}

char *gale_request_printf(gale_request *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = arena_vprintf(r->arena, fmt, ap);
    va_end(ap);
    return s;
}

void gale_request_cleanup(gale_request *r, void (*fn)(void *), void *arg)
{
    arena_cleanup_add(r->arena, fn, arg);
}

const char *gale_request_user(gale_request *r)
{
    const gale_module *m = r->route ? r->route->module->desc : NULL;
    if (m && m->current_user)
        return m->current_user(r);
    return r->session ? json_string_value(json_object_get(r->session, "user")) : NULL;
}

/* The longest target a log line repeats: enough to tell the request. */
#define REQUEST_LOG_TARGET_MAX 256

void gale_request_log(gale_request *r, int level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return; /* formatting costs more than the check */
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_msg(level, "%s \"%s %.*s\": %s", r->client, r->method, REQUEST_LOG_TARGET_MAX, r->target,
            msg);
}

int gale_request_aborted(const gale_request *r)
{
    return r->aborted;
}

void gale_request_on_abort(gale_request *r, void (*fn)(gale_request *, void *), void *arg)
{
    r->abort_cb = fn;
    r->abort_arg = arg;
}

void request_on_gone(gale_request *r, void (*fn)(void *), void *arg)
{
    struct request_gone_hook *h = arena_calloc(r->arena, sizeof(*h));
    h->fn = fn;
    h->arg = arg;
    h->next = r->gone_hooks;
    r->gone_hooks = h;
}

/* ---- timers tied to a request ---- */

struct request_timer {
    gale_request *r;
    struct event ev;
    void (*fn)(gale_request *, void *);
    void *arg;
    int pending;
};

static void request_timer_free(void *arg)
{
    struct request_timer *t = arg;
    if (t->pending)
        evtimer_del(&t->ev);
}

static void request_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct request_timer *t = arg;
    t->pending = 0;
    t->fn(t->r, t->arg);
}

int gale_request_later(gale_request *r, double seconds, void (*fn)(gale_request *, void *),
                       void *arg)
{
    if (seconds < 0 || r->finished)
        return -1;
    struct request_timer *t = arena_calloc(r->arena, sizeof(*t));
    t->r = r;
    t->fn = fn;
    t->arg = arg;
    if (evtimer_assign(&t->ev, r->loop->base, request_timer_cb, t) < 0)
        return -1;
    struct timeval tv = util_timeval(seconds);
    if (evtimer_add(&t->ev, &tv) < 0)
        return -1;
    t->pending = 1;
    arena_cleanup_add(r->arena, request_timer_free, t);
    return 0;
}
