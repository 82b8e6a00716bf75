/*
 * pipeline.c - the request pipeline (see pipeline.h): what happens to a
 * request between the protocol that parsed it and the one that carries its
 * answer, the same for every protocol.
 */
#include "http/pipeline.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/access_format.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/module.h"
#include "core/util.h"
#include "http/cookie_api.h"
#include "http/cors.h"
#include "http/handler.h"
#include "http/http_settings.h"
#include "http/realip.h"
#include "http/request.h"
#include "http/session.h"
#include "http/static.h"
#include "http/upload.h"
#include "net/conn.h"
#include "net/tls_settings.h"

static void pipeline_run(gale_request *r);
static void pipeline_request_done(gale_request *r);

static const struct {
    int code;
    const char *text;
} pipeline_statuses[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Content"},
    {426, "Upgrade Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

const char *pipeline_status_text(int status)
{
    for (size_t i = 0; i < ARRAY_SIZE(pipeline_statuses); i++)
        if (pipeline_statuses[i].code == status)
            return pipeline_statuses[i].text;
    return status < 200   ? "Informational"
           : status < 300 ? "OK"
           : status < 400 ? "Redirect"
           : status < 500 ? "Client Error"
                          : "Server Error";
}

/* ---- stages and the upgrade ---- */

static const struct http_stage *pipeline_stages[PIPELINE_MAX_STAGES];
static size_t pipeline_nstages;

int pipeline_stage_add(const struct http_stage *stage)
{
    if (pipeline_nstages == PIPELINE_MAX_STAGES)
        return -1;
    pipeline_stages[pipeline_nstages++] = stage;
    return 0;
}

int pipeline_body_rewritten(gale_request *r)
{
    for (size_t i = 0; i < pipeline_nstages; i++)
        if (pipeline_stages[i]->rewrites && pipeline_stages[i]->rewrites(r))
            return 1;
    return 0;
}

static struct http_upgrade pipeline_upgrade_table;

void pipeline_set_upgrade(const struct http_upgrade *u)
{
    pipeline_upgrade_table = *u;
}

const struct http_upgrade *pipeline_upgrade(void)
{
    return &pipeline_upgrade_table;
}

/* ---- requests ---- */

static void pipeline_request_cleanup(void *arg)
{
    gale_request *r = arg;
    json_decref(r->session);
    json_decref(r->session_orig);
    if (r->body)
        evbuffer_free(r->body);
    if (r->out)
        evbuffer_free(r->out);
}

gale_request *pipeline_request_new(struct arena *arena, struct loop *loop,
                                   const struct http_wire *wire, void *stream, const char *client,
                                   int https, struct evbuffer *out)
{
    gale_request *r = arena_calloc(arena, sizeof(*r));
    r->wire = wire;
    r->stream = stream;
    r->arena = arena;
    r->loop = loop;
    r->start = util_now();
    r->method = "-";
    r->target = r->path = "-";
    r->query = "";
    r->host = "";
    r->minor = 1;
    r->mid = HTTP_M_OTHER;
    r->client = arena_strdup(arena, client);
    r->https = https;
    r->status = 200;
    r->out = out ? out : evbuffer_new();
    if (!r->out)
        util_oom();
    arena_cleanup_add(arena, pipeline_request_cleanup, r);
    return r;
}

struct conn *pipeline_conn(const gale_request *r)
{
    return r->stream ? r->wire->conn(r) : NULL;
}

/* ---- the head: client, redirect, route ---- */

/* Behind a trusted proxy the client and scheme are the ones it reports. */
static void pipeline_realip(gale_request *r)
{
    const struct http_settings *cfg = http_settings(r->loop->cfg);
    if (cfg->ntrusted_proxies == 0 ||
        !realip_trusted(cfg->trusted_proxies, cfg->ntrusted_proxies, r->client))
        return;
    char *client = arena_alloc(r->arena, INET6_ADDRSTRLEN + 1);
    realip_client(cfg->trusted_proxies, cfg->ntrusted_proxies, r->client,
                  gale_request_header(r, "X-Real-IP"), gale_request_header(r, "X-Forwarded-For"),
                  client, INET6_ADDRSTRLEN + 1);
    r->client = client;
    const char *scheme = realip_scheme(gale_request_header(r, "X-Forwarded-Proto"));
    if (scheme)
        r->https = scheme[4] == 's';
}

/* A listener with redirect_https answers everything with a redirect to the
 * same target on the HTTPS port. */
static void pipeline_redirect_https(gale_request *r, int port)
{
    const char *host = r->host;
    size_t len = strlen(host);
    if (host[0] == '[') { /* [v6]:port */
        const char *end = strchr(host, ']');
        len = end ? (size_t)(end - host) + 1 : len;
    } else if (strchr(host, ':')) {
        len = (size_t)(strchr(host, ':') - host);
    }
    if (len == 0) {
        r->error_status = 400;
        r->error_reason = "a Host header is needed for the redirect to https";
        return;
    }
    char portpart[8] = "";
    if (port != 443)
        snprintf(portpart, sizeof(portpart), ":%d", port);
    /* The path and query only: an absolute-form target's own scheme and
     * host are not repeated, and OPTIONS * or CONNECT's authority become "/". */
    int path = r->path[0] == '/';
    char *loc = gale_request_printf(r, "https://%.*s%s%s%s%s", (int)len, host, portpart,
                                    path ? r->path : "/", path && *r->query ? "?" : "",
                                    path ? r->query : "");
    gale_response_header(r, "Location", loc);
    r->error_status = r->mid == HTTP_M_GET || r->mid == HTTP_M_HEAD ? 301 : 308;
    r->error_reason = "this site is served over https";
}

/* The methods the route's handler answers ("GET" for a WebSocket route). */
static void pipeline_allow(const gale_request *r, char *buf, size_t cap)
{
    if (r->route->conf->websocket)
        snprintf(buf, cap, "GET");
    else
        handler_allow(r->route->handler, buf, cap);
}

/* Route the request and pick the callback, or the error gale answers instead. */
static void pipeline_route(gale_request *r, const char *path, size_t path_len)
{
    struct router_match m;
    struct conn *c = pipeline_conn(r);
    int redirect = c && c->lc ? http_listen_settings(c->lc)->redirect_https : 0;
    if (redirect) {
        pipeline_redirect_https(r, redirect);
    } else if (r->mid == HTTP_M_CONNECT) {
        r->error_status = 501;
        r->error_reason = "CONNECT is not supported";
    } else if (path_len == 1 && path[0] == '*') {
        /* OPTIONS * (the parser allows "*" for nothing else) asks about the
         * server, not a resource (RFC 9110 9.3.7): the methods gale's
         * handlers may take, rather than a 404 for a path no route has. */
        gale_response_header(r, "Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
        r->error_status = 204;
    }
    r->nrh_keep = r->nrh; /* Location or Allow survive the error page */
    if (r->error_status)
        return;
    if (static_match(r, path, path_len))
        return; /* a static folder: before the modules' routes */
    if (router_match(r->loop->router, path, path_len, &m) < 0) {
        r->error_status = 404;
        r->error_reason = "no route matches this path";
        return;
    }
    r->route = m.data;
    r->ncaps = m.ncaps;
    for (size_t i = 0; i < m.ncaps; i++) {
        if (m.start[i] == (size_t)-1)
            continue;
        size_t len = m.end[i] - m.start[i];
        r->caps[i] = arena_alloc(r->arena, len + 1);
        util_url_decode(r->caps[i], path + m.start[i], len, 0);
    }
    r->fn = handler_fn(r->route->handler, r->mid);
    if (r->route->conf->websocket) /* only the opening handshake, a GET */
        r->fn = r->mid == HTTP_M_GET ? pipeline_upgrade_table.accept : NULL;
    const struct http_cors *cors = &http_route_settings(r->route->conf)->cors;
    /* The Allow list, only when an answer needs it (a preflight, 405, OPTIONS):
     * making it costs more than the rest of routing. */
    char allow[128] = "";
    if (cors->line || !r->fn)
        pipeline_allow(r, allow, sizeof(allow));
    if (cors->line && cors_apply(r, cors, allow)) {
        r->fn = NULL;
        r->error_status = 204; /* a preflight, answered here */
    }
    r->nrh_keep = r->nrh; /* CORS headers stay on error pages too */
    if (r->fn || r->error_status)
        return;
    gale_response_header(r, "Allow", arena_strdup(r->arena, allow));
    r->nrh_keep = r->nrh;
    if (r->mid == HTTP_M_OPTIONS) {
        r->error_status = 204; /* gale answers OPTIONS itself with the Allow list */
    } else if (r->mid == HTTP_M_OTHER) {
        r->error_status = 501;
        r->error_reason = "method not implemented";
    } else {
        r->error_status = 405;
        r->error_reason = "method not allowed here";
    }
}

void pipeline_head(gale_request *r, const char *path, size_t path_len)
{
    pipeline_realip(r);
    pipeline_route(r, path, path_len);
}

/* ---- the body ---- */

int pipeline_body_begin(gale_request *r)
{
    if (r->fn && r->route->handler->data_received && !r->route->conf->websocket) {
        r->body_streams = 1; /* nothing is kept: the pieces go to the handler */
        return 1;
    }
    r->body = evbuffer_new();
    if (!r->body)
        util_oom();
    if (r->fn) { /* only a handler reads arguments: an error answer skips the body */
        const struct config *cfg = r->loop->cfg;
        r->upload = upload_new(r, gale_request_header(r, "Content-Type"),
                               cfg->limits.upload_memory_limit, http_settings(cfg)->upload_dir);
    }
    return 0;
}

static void pipeline_handler_done(gale_request *r, int rc);

/* A piece of a streamed body, to the handler. An answer it finished, or its
 * failure, ends the request: -1 with *why NULL (pipeline.h). */
static int pipeline_data_received(gale_request *r, const char *data, size_t len, const char **why)
{
    r->in_handler = 1;
    int rc = r->route->handler->data_received(r, data, len);
    r->in_handler = 0;
    if (!r->finished && rc != GALE_ERROR)
        return 0;
    *why = NULL;
    pipeline_handler_done(r, rc);
    return -1;
}

/* Body bytes: to the handler that streams them, to the multipart collector,
 * else kept whole for the handler. */
int pipeline_body_data(gale_request *r, const char *data, size_t len, const char **why)
{
    if (r->body_streams)
        return pipeline_data_received(r, data, len, why);
    if (!r->upload) {
        evbuffer_add(r->body, data, len);
        return 0;
    }
    if (upload_feed(r->upload, data, len) < 0) {
        *why = upload_error(r->upload);
        return -1;
    }
    return 0;
}

int pipeline_body_end(gale_request *r, const char **why)
{
    if (r->upload && upload_finish(r->upload) < 0) {
        *why = upload_error(r->upload);
        return -1;
    }
    return 0;
}

/* ---- calling the handler ---- */

void pipeline_dispatch(gale_request *r)
{
    if (r->body_flowing) { /* the end of a streamed body: prepare ran at its head */
        r->in_handler = 1;
        int rc = r->fn(r);
        r->in_handler = 0;
        pipeline_handler_done(r, rc);
        return;
    }
    if (r->error_status) {
        pipeline_error(r, r->error_status, r->error_reason);
        return;
    }
    if (r->static_root) {
        static_serve(r);
        return;
    }
    const char *why;
    if (cookie_api_xsrf_check(r, http_route_settings(r->route->conf)->xsrf, &why) < 0) {
        pipeline_error(r, 403, why); /* no handler runs */
        return;
    }
    session_load(r, pipeline_run); /* at once, or when the session store answers */
}

/* Routes marked authenticated need a user: a visitor is sent to log in (GET,
 * HEAD) or refused (other methods). Returns 0 when r may go on. */
static int pipeline_authenticate(gale_request *r)
{
    if (!http_route_settings(r->route->conf)->authenticated || gale_request_user(r))
        return 0;
    /* a WebSocket handshake cannot follow a redirect to a login page */
    if ((r->mid != HTTP_M_GET && r->mid != HTTP_M_HEAD) || r->route->conf->websocket) {
        pipeline_error(r, 403, "log in first");
        return -1;
    }
    const char *login = http_settings(r->loop->cfg)->login_url;
    size_t cap = strlen(r->target) * 3 + 1;
    char *next = arena_alloc(r->arena, cap);
    util_url_encode(next, cap, r->target, NULL); /* as Tornado's urlencode: '/' too */
    const char *url =
        gale_request_printf(r, "%s%cnext=%s", login, strchr(login, '?') ? '&' : '?', next);
    if (gale_response_redirect(r, 302, url) < 0)
        pipeline_error(r, 403, "log in first");
    return -1;
}

/* The session is there: check the user, then prepare and the method's
 * callback, or, before a streamed body, prepare and then the body. */
static void pipeline_run(gale_request *r)
{
    if (pipeline_authenticate(r) < 0)
        return; /* answered: a redirect to the login page, or 403 */
    r->in_handler = 1;
    gale_handler_fn prepare = r->route->handler->prepare;
    int rc = prepare ? prepare(r) : GALE_OK;
    if (r->body_streams && !r->finished && rc == GALE_ASYNC) {
        /* the protocol still reads the body and would not keep r for it */
        log_error("handler %s: prepare returned GALE_ASYNC before a streamed body",
                  r->route->handler->name);
        rc = GALE_ERROR;
    }
    if (r->body_streams && !r->finished && rc == GALE_OK) {
        r->in_handler = 0;
        r->body_flowing = 1;
        r->wire->read_body(r);
        return;
    }
    if (rc == GALE_OK && !r->finished)
        rc = r->fn(r);
    r->in_handler = 0;
    pipeline_handler_done(r, rc);
}

/* What a handler's callback returned: a failure is answered 500, an answer
 * neither finished nor left for later (GALE_ASYNC) is finished now, and a
 * finished one is over. */
static void pipeline_handler_done(gale_request *r, int rc)
{
    if (!r->finished && rc == GALE_ERROR) {
        log_error("handler %s failed on %s %s", r->route->handler->name, r->method, r->target);
        pipeline_error(r, 500, "the handler failed");
    } else if (!r->finished && rc != GALE_ASYNC) {
        pipeline_finish(r);
    } else if (r->finished) {
        pipeline_request_done(r);
    }
}

/* ---- the answer ---- */

/* Strict-Transport-Security on every answer of an HTTPS listener that asks
 * for it. */
static void pipeline_hsts(gale_request *r)
{
    if (!r->https)
        return; /* the common case first: no call through the wire */
    struct conn *c = pipeline_conn(r);
    const struct tls_settings *tls = c && c->lc ? tls_settings(c->lc) : NULL;
    if (!tls || tls->hsts_max_age <= 0)
        return;
    response_header_add(r, "Strict-Transport-Security",
                        gale_request_printf(r, "max-age=%d%s", tls->hsts_max_age,
                                            tls->hsts_subdomains ? "; includeSubDomains" : ""));
}

/* The route's module may name a Content-Type for answers with a body that
 * set none; before the stages, which may read it (a 304 loses it after
 * them). A streamed answer counts as having a body. */
static void pipeline_default_type(gale_request *r, int streaming)
{
    const char *type = r->route ? r->route->module->desc->default_content_type : NULL;
    if (!type || pipeline_status_no_body(r->status))
        return;
    if ((streaming || evbuffer_get_length(r->out)) && !response_header_find(r, "Content-Type"))
        response_header_add(r, "Content-Type", type);
}

static int pipeline_head_out(gale_request *r, int streaming, int complete)
{
    if (!r->stream || r->head_sent)
        return r->stream ? 0 : -1;
    session_save(r, NULL); /* streamed answers: a new session's cookie goes with this head */
    pipeline_hsts(r);
    pipeline_default_type(r, streaming);
    for (size_t i = 0; i < pipeline_nstages; i++)
        if (pipeline_stages[i]->head)
            pipeline_stages[i]->head(r, complete);
    if (r->status == 304) { /* RFC 9110 15.4.5: no representation metadata but its list */
        response_header_remove(r, "Content-Type");
        response_header_remove(r, "Content-Encoding");
        response_header_remove(r, "Content-Language");
    }
    return r->wire->send_head(r, streaming);
}

static void pipeline_body_out(gale_request *r, int last)
{
    for (size_t i = 0; i < pipeline_nstages; i++)
        if (pipeline_stages[i]->body)
            pipeline_stages[i]->body(r, r->out, last);
    r->wire->send_body(r);
}

int pipeline_send_head(gale_request *r, int streaming)
{
    return pipeline_head_out(r, streaming, 0);
}

void pipeline_send_body(gale_request *r)
{
    if (r->stream)
        pipeline_body_out(r, 0);
}

void pipeline_flush(gale_request *r)
{
    if (r->stream)
        r->wire->flush(r);
}

void pipeline_when_drained(gale_request *r, void (*fn)(gale_request *r, void *arg), void *arg)
{
    r->drained_fn = fn;
    r->drained_arg = arg;
    if (r->stream)
        r->wire->watch_drained(r);
}

void pipeline_drained(gale_request *r)
{
    void (*fn)(gale_request *, void *) = r->drained_fn;
    if (!fn || r->finished)
        return;
    r->drained_fn = NULL; /* before the call: fn may ask again */
    fn(r, r->drained_arg);
}

static void pipeline_saved(gale_request *r)
{
    r->finish_waiting = 0;
    pipeline_finish(r);
}

/* The access log line and the metrics of a finished request. */
static void pipeline_log(gale_request *r)
{
    double seconds = util_now() - r->start;
    int status = r->aborted ? 499 : r->status;
    /* route 0 is "no module route"; the routes are counted in config order */
    size_t route = r->route ? (size_t)(r->route - r->loop->modules->routes) + 1 : 0;
    metrics_request(r->loop->metrics, route, status, seconds);
    if (!log_access_on())
        return; /* no entry to gather */
    struct access_entry e = {
        .client = r->client,
        .method = r->method,
        .target = r->target,
        .host = r->host,
        .referer = gale_request_header(r, "Referer"),
        .user_agent = gale_request_header(r, "User-Agent"),
        .minor = r->minor,
        .http2 = r->http2,
        .status = status,
        .bytes = r->bytes_out,
        .seconds = seconds,
    };
    log_access(&e);
}

void pipeline_finish(gale_request *r)
{
    if (r->finished || r->finish_waiting)
        return;
    /* The answer leaves once a changed session is stored: the client's next
     * request may reach another worker or instance. */
    if (r->stream && !r->head_sent && session_save(r, pipeline_saved) == 1) {
        r->finish_waiting = 1;
        return;
    }
    r->finished = 1;
    r->drained_fn = NULL;
    if (r->stream) {
        pipeline_head_out(r, 0, 1);
        pipeline_body_out(r, 1);
        r->wire->end(r);
    }
    pipeline_log(r);
    if (r->route && r->route->handler->on_finish)
        r->route->handler->on_finish(r);
    if (!r->in_handler)
        pipeline_request_done(r);
}

static const struct http_error_page *pipeline_error_page(const struct loop *loop, int status)
{
    const struct http_settings *cfg = http_settings(loop->cfg);
    for (size_t i = 0; i < cfg->nerror_pages; i++)
        if (cfg->error_pages[i].status == status)
            return &cfg->error_pages[i];
    return NULL;
}

/* Start the error answer afresh: gale's own headers (Allow, Location, CORS)
 * stay, the handler's headers, body and reason phrase go. */
static void pipeline_error_reset(gale_request *r, int status)
{
    r->nrh = r->nrh_keep;
    evbuffer_drain(r->out, evbuffer_get_length(r->out));
    r->status = status;
    r->reason = NULL;
}

/* The route's module writes the error page when it has a write_error hook.
 * Returns 1 when the hook answered (r may be freed then), 0 when gale must
 * answer its own page. The hook runs at most once per request, so an error
 * inside it falls back to gale's page instead of recursing. */
static int pipeline_error_hook(gale_request *r, int status, const char *reason)
{
    const gale_module *d = r->route ? r->route->module->desc : NULL;
    if (!d || !d->write_error || status < 400 || r->error_hook_ran)
        return 0;
    r->error_hook_ran = 1;
    int outer = r->in_handler;
    r->in_handler = 1; /* as for a handler: a finish inside the hook does not free r */
    int rc = d->write_error(r, status, reason ? reason : pipeline_status_text(status));
    r->in_handler = outer;
    if (!r->finished && !r->finish_waiting && rc != GALE_OK) {
        if (!r->head_sent) {
            pipeline_error_reset(r, status); /* declined: drop what it wrote */
            return 0;
        }
        r->broken = 1; /* it flushed a head, then declined: too late for a page */
    }
    if (!r->finished)
        pipeline_finish(r);
    else if (!outer)
        pipeline_request_done(r); /* it finished inside: the release it skipped */
    return 1;
}

/* Does the client read HTML? Browsers name text/html in Accept; curl and
 * most API clients send only star-slash-star and get the short text. */
static int pipeline_wants_html(gale_request *r)
{
    const char *accept = gale_request_header(r, "Accept");
    return accept && strstr(accept, "text/html") != NULL;
}

/* gale's own error page: a small HTML page for browsers, one line of text
 * for everyone else. */
static void pipeline_error_body(gale_request *r, int status, const char *reason)
{
    const char *text = pipeline_status_text(status);
    if (!pipeline_wants_html(r)) {
        gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
        evbuffer_add_printf(r->out, "%d %s: %s\n", status, text, reason);
        return;
    }
    gale_response_header(r, "Content-Type", "text/html; charset=utf-8");
    gale_response_printf(
        r,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>%d %s</title>\n<style>body{font:16px/1.5 system-ui,sans-serif;"
        "max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1d1f21}"
        "h1{font-size:1.5rem}p{color:#5f6368}</style>\n</head>\n<body>\n"
        "<h1>%d %s</h1>\n<p>",
        status, text, status, text);
    gale_response_puts_html(r, reason);
    gale_response_puts(r, "</p>\n</body>\n</html>\n");
}

void pipeline_error(gale_request *r, int status, const char *reason)
{
    if (r->head_sent) {
        r->broken = 1; /* too late for an error page: cut the answer short */
        pipeline_finish(r);
        return;
    }
    pipeline_error_reset(r, status);
    if (pipeline_error_hook(r, status, reason))
        return;
    const struct http_error_page *page = pipeline_error_page(r->loop, status);
    if (page) {
        gale_response_header(r, "Content-Type", page->type);
        evbuffer_add(r->out, page->body, page->len);
    } else if (!pipeline_status_no_body(status)) {
        pipeline_error_body(r, status, reason ? reason : pipeline_status_text(status));
    }
    pipeline_finish(r);
}

/* ---- the end of a request, and clients that leave ---- */

/* Requests whose client left while their handler works on: the module still
 * has to finish them. Kept in a list so that a worker that exits first can
 * free them. */
static gale_request *pipeline_orphans;

static void pipeline_orphan_unlink(gale_request *r)
{
    if (r->orphan_prev)
        r->orphan_prev->orphan_next = r->orphan_next;
    else
        pipeline_orphans = r->orphan_next;
    if (r->orphan_next)
        r->orphan_next->orphan_prev = r->orphan_prev;
}

void pipeline_free_orphans(void)
{
    while (pipeline_orphans) {
        gale_request *r = pipeline_orphans;
        pipeline_orphan_unlink(r);
        arena_free(r->arena);
    }
}

/* The request is over (answered, or abandoned by a client that left). */
static void pipeline_request_done(gale_request *r)
{
    if (!r->stream) {
        pipeline_orphan_unlink(r);
        arena_free(r->arena); /* an orphan owns its arena */
        return;
    }
    r->wire->done(r);
}

/* The client left in the middle of a streamed body: the handler has seen
 * the request (prepare ran) though no callback of its works on it. Tell it
 * (abort callback, then on_finish through the finish), while the request
 * still goes with the protocol's arena: in_handler keeps the finish from
 * freeing it. */
static void pipeline_body_abandoned(gale_request *r)
{
    r->aborted = 1;
    r->in_handler = 1;
    if (r->abort_cb)
        r->abort_cb(r, r->abort_arg);
    pipeline_finish(r);
    r->in_handler = 0;
}

void pipeline_client_gone(gale_request *r, int handler_running)
{
    int reading_session = r->session_op != NULL;
    if (reading_session)
        session_cancel(r); /* still waiting for the store: no handler holds it */
    r->stream = NULL;
    r->drained_fn = NULL; /* the abort callback is the module's news now */
    if (!reading_session && !handler_running && r->body_flowing && !r->finished)
        pipeline_body_abandoned(r);
    if (reading_session || !handler_running)
        return;
    r->orphan_next = pipeline_orphans;
    r->orphan_prev = NULL;
    if (pipeline_orphans)
        pipeline_orphans->orphan_prev = r;
    pipeline_orphans = r;
    r->aborted = 1;
    /* The module's abort callback is meant to finish the request: it is then
     * freed after the callbacks, not inside one, so that the next still has
     * r (a long poll's hook after the module's callback). */
    unsigned inside = r->in_handler;
    r->in_handler = 1;
    if (r->abort_cb)
        r->abort_cb(r, r->abort_arg);
    if (r->gone && !r->finished)
        r->gone(r);
    for (struct request_gone_hook *h = r->gone_hooks; h; h = h->next)
        h->fn(h->arg);
    r->in_handler = inside;
    if (!inside && r->finished)
        pipeline_request_done(r);
}
