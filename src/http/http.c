/*
 * http.c - the HTTP/1.1 life cycle of a connection.
 *
 * One request at a time per connection: the head is parsed, the body read,
 * the handler called; bytes of pipelined requests wait in the input buffer
 * until the answer before them is complete, so answers leave in order.
 *
 * Ownership: the connection (struct http_conn) owns the head buffer `in`
 * and the arena each request lives in. A request whose client goes away
 * while its handler is still working (GALE_ASYNC) takes both over and frees
 * them when the module finishes it.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <openssl/evp.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/module.h"
#include "core/util.h"
#include "http/cookie_api.h"
#include "http/cors.h"
#include "http/handler.h"
#include "http/realip.h"
#include "http/session.h"
#include "http/upload.h"
#include "net/conn.h"

#define HTTP_IN_INITIAL 2048
#define HTTP_OUT_PAUSE (256 * 1024) /* stop reading pipelined requests above this */
#define HTTP_ARENA_SIZE 4096

enum http_state { HC_IDLE, HC_HEAD, HC_BODY, HC_HANDLER, HC_UPGRADED };

struct http_conn {
    struct conn *c;
    struct loop *loop;
    const struct config_limits *lim;
    char *in; /* the current request head; request strings point into it */
    size_t inlen, incap;
    struct http_header *hdrs;
    struct http_parser parser;
    struct http_head head;
    gale_request *req;
    struct arena *arena;
    struct evbuffer *spare_out; /* kept between requests */
    enum http_state state;
    gale_ws *upgrade; /* HC_UPGRADED inside http_process: hand over when it returns */
    unsigned nreq;
    unsigned processing : 1;
};

static void http_process(struct http_conn *hc);
static void http_hand_over(struct http_conn *hc, gale_ws *ws);

static struct http_upgrade http_upgrade;

void http_set_upgrade(const struct http_upgrade *u)
{
    http_upgrade = *u;
}
static void http_run(gale_request *r);
static void http_orphan_unlink(gale_request *r);

static const struct {
    int code;
    const char *text;
} http_statuses[] = {
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

const char *http_status_text(int status)
{
    for (size_t i = 0; i < ARRAY_SIZE(http_statuses); i++)
        if (http_statuses[i].code == status)
            return http_statuses[i].text;
    return status < 200   ? "Informational"
           : status < 300 ? "OK"
           : status < 400 ? "Redirect"
           : status < 500 ? "Client Error"
                          : "Server Error";
}

/* ---- the connection ---- */

/* Everything HTTP holds for a connection (the request in it is over or
 * was taken over by http_abort). */
static void http_conn_free(struct http_conn *hc)
{
    arena_free(hc->arena);
    if (hc->spare_out)
        evbuffer_free(hc->spare_out);
    free(hc->in);
    free(hc->hdrs);
    free(hc);
}

static void http_release(struct conn *c);
static void http_read(struct conn *c);
static void http_write(struct conn *c);
static void http_eof(struct conn *c);
static void http_timeout(struct conn *c);
static void http_drain(struct conn *c);

static const struct conn_proto http_proto = {
    .read = http_read,
    .write = http_write,
    .eof = http_eof,
    .timeout = http_timeout,
    .drain = http_drain,
    .release = http_release,
};

void http_conn_start(struct conn *c)
{
    struct http_conn *hc = xcalloc(1, sizeof(*hc));
    hc->c = c;
    hc->loop = c->loop;
    hc->lim = &c->loop->cfg->limits;
    hc->state = HC_IDLE;
    c->proto = &http_proto;
    c->data = hc;
    struct timeval send_tv;
    const struct timeval *tv = c->loop->tv[LOOP_TV_SEND];
    send_tv = *tv;
    bufferevent_set_timeouts(c->bev, NULL, &send_tv);
    conn_read(c, 1);
    conn_timer(c, c->loop->tv[LOOP_TV_HEADER]);
}

/* ---- requests ---- */

static void http_request_cleanup(void *arg)
{
    gale_request *r = arg;
    json_decref(r->session);
    json_decref(r->session_orig);
    if (r->body)
        evbuffer_free(r->body);
    if (r->out)
        evbuffer_free(r->out);
}

static gale_request *http_request_new(struct http_conn *hc)
{
    if (!hc->arena)
        hc->arena = arena_new(HTTP_ARENA_SIZE);
    gale_request *r = arena_calloc(hc->arena, sizeof(*r));
    r->hc = hc;
    r->arena = hc->arena;
    r->loop = hc->loop;
    r->start = util_now();
    r->method = "-";
    r->target = r->path = "-";
    r->query = "";
    r->host = "";
    r->minor = 1;
    r->mid = HTTP_M_OTHER;
    r->client = arena_strdup(r->arena, hc->c->client);
    r->https = hc->c->https;
    r->status = 200;
    r->keepalive = 1;
    /* The connection's spare body buffer: an answer's chains move to the
     * output, leaving it empty for the next request. */
    r->out = hc->spare_out ? hc->spare_out : evbuffer_new();
    hc->spare_out = NULL;
    if (!r->out)
        util_oom();
    arena_cleanup_add(r->arena, http_request_cleanup, r);
    hc->req = r;
    return r;
}

/* The request is over (answered, or abandoned by a client that left): free it
 * and carry on with the connection. */
static void http_request_done(gale_request *r)
{
    struct http_conn *hc = r->hc;
    if (!hc) {
        http_orphan_unlink(r);
        arena_free(r->arena); /* an aborted request owns its arena */
        return;
    }
    int keep = r->keepalive;
    gale_ws *upgrade = r->upgrade;
    hc->req = NULL;
    if (evbuffer_get_length(r->out) == 0) {
        hc->spare_out = r->out;
        r->out = NULL; /* not freed by the cleanup */
    }
    arena_reset(hc->arena);
    hc->inlen = 0;
    hc->nreq++;
    struct conn *c = hc->c;
    if (upgrade) {
        hc->state = HC_UPGRADED;
        if (!hc->processing)
            http_hand_over(hc, upgrade);
        else
            hc->upgrade = upgrade; /* when http_process unwinds */
        return;
    }
    if (!keep) {
        conn_close_after_write(c);
        return;
    }
    hc->state = HC_IDLE;
    struct evbuffer *in = conn_in(c);
    if (evbuffer_get_length(in) == 0) {
        if (c->eof) {
            conn_close_after_write(c);
            return;
        }
        conn_timer(c, hc->loop->tv[hc->loop->draining ? LOOP_TV_DRAIN_IDLE : LOOP_TV_IDLE]);
    } else if (!hc->processing) {
        /* an async answer ended; pipelined requests wait: read them from the loop */
        bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    }
}

/* Requests whose client left while their handler works on: the module still
 * has to finish them. Kept in a list so that a worker that exits first can
 * free them. */
static gale_request *http_orphans;

static void http_orphan_unlink(gale_request *r)
{
    if (r->orphan_prev)
        r->orphan_prev->orphan_next = r->orphan_next;
    else
        http_orphans = r->orphan_next;
    if (r->orphan_next)
        r->orphan_next->orphan_prev = r->orphan_prev;
}

void http_free_orphans(void)
{
    while (http_orphans) {
        gale_request *r = http_orphans;
        http_orphan_unlink(r);
        arena_free(r->arena);
    }
}

/* The client left while a handler was still working on its request. */
static void http_abort(struct http_conn *hc)
{
    gale_request *r = hc->req;
    if (!r)
        return;
    r->orphan_next = http_orphans;
    r->orphan_prev = NULL;
    if (http_orphans)
        http_orphans->orphan_prev = r;
    http_orphans = r;
    r->aborted = 1;
    r->hc = NULL;
    arena_cleanup_add(r->arena, free, hc->in);
    arena_cleanup_add(r->arena, free, hc->hdrs);
    hc->in = NULL;
    hc->hdrs = NULL;
    hc->arena = NULL;
    hc->req = NULL;
    if (r->abort_cb)
        r->abort_cb(r, r->abort_arg);
    if (r->gone)
        r->gone(r);
}

/* After a 101: the connection is the WebSocket's from now on; what HTTP
 * held goes. */
static void http_hand_over(struct http_conn *hc, gale_ws *ws)
{
    struct conn *c = hc->c;
    http_conn_free(hc);
    http_upgrade.attach(c, ws);
}

static void http_release(struct conn *c)
{
    struct http_conn *hc = c->data;
    /* Only a handler that is still working holds the request; one that was
     * still being read, or is being answered, goes with the connection. */
    if (hc->req && hc->req->session_op) {
        session_cancel(hc->req); /* still waiting for the store: no handler holds it */
        hc->req->hc = NULL;
    } else if (hc->req && hc->state == HC_HANDLER && !hc->req->finished)
        http_abort(hc);
    else if (hc->req)
        hc->req->hc = NULL;
    http_conn_free(hc);
    c->data = NULL;
}

/* ---- sending ---- */

static int http_no_body_status(int status)
{
    return status < 200 || status == 204 || status == 304;
}

static void http_decide_keepalive(gale_request *r)
{
    struct http_conn *hc = r->hc;
    if (r->loop->draining || hc->c->eof)
        r->keepalive = 0;
    if (hc->lim->keepalive_requests && hc->nreq + 1 >= hc->lim->keepalive_requests)
        r->keepalive = 0;
}

/* The head is written straight into reserved space of the output buffer:
 * one allocation at most, no formatting calls (this runs per request). */
static char *http_put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *http_put_str(char *p, const char *s)
{
    return http_put(p, s, strlen(s));
}

static char *http_put_uint(char *p, unsigned long long v)
{
    char digits[24];
    size_t n = 0;
    do
        digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

/* How the body is framed, decided when the head is sent. */
static const char *http_framing(gale_request *r, int streaming)
{
    if (http_no_body_status(r->status))
        return NULL;
    if (streaming && r->minor >= 1) {
        r->chunked_out = 1;
        return "Transfer-Encoding: chunked\r\n";
    }
    if (streaming) {
        r->eof_framed = 1; /* HTTP/1.0 has no chunks: the close ends the body */
        r->keepalive = 0;
        return NULL;
    }
    return "Content-Length: ";
}

int http_send_head(gale_request *r, int streaming)
{
    struct http_conn *hc = r->hc;
    if (!hc || r->head_sent)
        return hc ? 0 : -1;
    session_save(r, NULL); /* streamed answers: a new session's cookie goes with this head */
    size_t dlen, slen;
    const char *date = loop_date_header(r->loop, &dlen);
    const char *server = r->loop->server;
    slen = r->loop->server_len;
    const char *text = http_status_text(r->status);
    const struct config_listen *lc = hc->c->lc;
    int hsts = r->https && lc && lc->tls.hsts_max_age > 0;
    http_decide_keepalive(r);
    const char *framing = http_framing(r, streaming);
    size_t need = 128 + strlen(text) + dlen + slen + (hsts ? 96 : 0);
    for (size_t i = 0; i < r->nrh; i++)
        need += strlen(r->rh[i].name) + strlen(r->rh[i].value) + 4;

    struct evbuffer *out = conn_out(hc->c);
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(out, (ev_ssize_t)need, &v, 1) < 1)
        util_oom();
    char *p = v.iov_base;
    p = http_put(p, "HTTP/1.1 ", 9);
    p = http_put_uint(p, (unsigned)r->status);
    *p++ = ' ';
    p = http_put_str(p, text);
    p = http_put(p, "\r\n", 2);
    p = http_put(p, date, dlen);
    p = http_put(p, server, slen);
    if (hsts) {
        p = http_put_str(p, "Strict-Transport-Security: max-age=");
        p = http_put_uint(p, (unsigned)lc->tls.hsts_max_age);
        p = http_put_str(p, lc->tls.hsts_subdomains ? "; includeSubDomains\r\n" : "\r\n");
    }
    for (size_t i = 0; i < r->nrh; i++) {
        p = http_put_str(p, r->rh[i].name);
        p = http_put(p, ": ", 2);
        p = http_put_str(p, r->rh[i].value);
        p = http_put(p, "\r\n", 2);
    }
    if (framing) {
        p = http_put_str(p, framing);
        if (!r->chunked_out) {
            p = http_put_uint(p, evbuffer_get_length(r->out));
            p = http_put(p, "\r\n", 2);
        }
    }
    if (r->status == 101)
        ; /* the upgrade's own Connection: Upgrade is among the headers */
    else if (r->keepalive && r->minor == 0)
        p = http_put_str(p, "Connection: keep-alive\r\n");
    else if (!r->keepalive)
        p = http_put_str(p, "Connection: close\r\n");
    p = http_put(p, "\r\n", 2);
    v.iov_len = (size_t)(p - (char *)v.iov_base);
    evbuffer_commit_space(out, &v, 1);
    r->head_sent = 1;
    return 0;
}

void http_send_body(gale_request *r)
{
    size_t len = evbuffer_get_length(r->out);
    if (!r->hc || r->is_head || http_no_body_status(r->status) || len == 0) {
        evbuffer_drain(r->out, len);
        return;
    }
    struct evbuffer *out = conn_out(r->hc->c);
    if (r->chunked_out) {
        char size[24];
        int n = snprintf(size, sizeof(size), "%zx\r\n", len);
        evbuffer_add(out, size, (size_t)n);
        evbuffer_add_buffer(out, r->out);
        evbuffer_add(out, "\r\n", 2);
    } else {
        evbuffer_add_buffer(out, r->out);
    }
    r->bytes_out += len;
}

struct conn *http_request_conn(const gale_request *r)
{
    return r->hc ? r->hc->c : NULL;
}

void http_flush(gale_request *r)
{
    if (r->hc && !r->hc->processing)
        conn_flush(r->hc->c);
}

/* ---- ETag and conditional requests ---- */

static const char *http_header_of(const gale_request *r, const char *name)
{
    for (size_t i = 0; i < r->nrh; i++)
        if (!strcasecmp(r->rh[i].name, name))
            return r->rh[i].value;
    return NULL;
}

static void http_drop_header(gale_request *r, const char *name)
{
    size_t o = 0;
    for (size_t i = 0; i < r->nrh; i++)
        if (strcasecmp(r->rh[i].name, name))
            r->rh[o++] = r->rh[i];
    r->nrh = o;
}

/* A strong validator of the body: the SHA-1 of its bytes, as Tornado's. */
static const char *http_etag(gale_request *r)
{
    /* Fetched once per worker: an implicit fetch in OpenSSL 3 costs more
     * than hashing a small answer. Single-threaded: the loop owns them. */
    static EVP_MD *sha1;
    static EVP_MD_CTX *ctx;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct evbuffer_iovec v[16];
    struct evbuffer_ptr pos;
    if (!sha1)
        sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    if (!ctx)
        ctx = EVP_MD_CTX_new();
    if (!sha1 || !ctx || EVP_DigestInit_ex2(ctx, sha1, NULL) != 1)
        return NULL;
    evbuffer_ptr_set(r->out, &pos, 0, EVBUFFER_PTR_SET);
    for (;;) {
        int n = evbuffer_peek(r->out, -1, &pos, v, 16);
        int take = n < 16 ? n : 16;
        size_t got = 0;
        for (int i = 0; i < take; i++) {
            EVP_DigestUpdate(ctx, v[i].iov_base, v[i].iov_len);
            got += v[i].iov_len;
        }
        if (n <= 16 || evbuffer_ptr_set(r->out, &pos, got, EVBUFFER_PTR_ADD) < 0)
            break;
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    char *tag = arena_alloc(r->arena, mdlen * 2 + 3);
    tag[0] = '"';
    util_hex(tag + 1, md, mdlen);
    tag[mdlen * 2 + 1] = '"';
    tag[mdlen * 2 + 2] = '\0';
    return tag;
}

/* If-None-Match against our tag, with the weak comparison RFC 9110 13.1.2
 * asks for: "W/" is ignored on both sides; "*" matches any. */
static int http_none_match(const char *header, const char *tag)
{
    if (tag[0] == 'W' && tag[1] == '/')
        tag += 2;
    size_t tlen = strlen(tag);
    const char *p = header;
    while (*p) {
        p += strspn(p, " \t,");
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        size_t len = end ? (size_t)(end - p) + 1 : strcspn(p, ",");
        if (len == tlen && !memcmp(p, tag, len))
            return 1;
        p += len;
        if (!len)
            break;
    }
    return 0;
}

/* A finished 200 answer to GET or HEAD gets an ETag (unless the handler set
 * one); a client that has it already gets 304 and no body. */
static void http_conditional(gale_request *r)
{
    if (r->status != 200 || (r->mid != HTTP_M_GET && r->mid != HTTP_M_HEAD))
        return;
    const char *tag = http_header_of(r, "ETag");
    if (!tag && r->loop->cfg->etag) {
        tag = http_etag(r);
        if (tag)
            gale_response_header(r, "ETag", tag);
    }
    const char *inm = gale_request_header(r, "If-None-Match");
    if (!tag || !inm || !http_none_match(inm, tag))
        return;
    r->status = 304;
    evbuffer_drain(r->out, evbuffer_get_length(r->out));
    http_drop_header(r, "Content-Type");
    http_drop_header(r, "Content-Length");
    http_drop_header(r, "Content-Encoding");
    http_drop_header(r, "Content-Language");
}

static void http_saved(gale_request *r)
{
    r->finish_waiting = 0;
    http_finish(r);
}

void http_finish(gale_request *r)
{
    if (r->finished || r->finish_waiting)
        return;
    /* The answer leaves once a changed session is stored: the client's next
     * request may reach another worker or instance. */
    if (r->hc && !r->head_sent && session_save(r, http_saved) == 1) {
        r->finish_waiting = 1;
        return;
    }
    r->finished = 1;
    if (r->hc) {
        if (!r->head_sent) {
            http_conditional(r);
            http_send_head(r, 0);
        }
        http_send_body(r);
        if (r->chunked_out && !r->broken && !r->is_head)
            evbuffer_add(conn_out(r->hc->c), "0\r\n\r\n", 5);
        if (r->broken || r->eof_framed)
            r->keepalive = 0;
        http_flush(r);
    }
    log_access(r->client, r->method, r->target, r->minor, r->aborted ? 499 : r->status,
               r->bytes_out, util_now() - r->start);
    if (r->route && r->route->handler->on_finish)
        r->route->handler->on_finish(r);
    if (!r->in_handler)
        http_request_done(r);
}

static const struct config_error_page *http_error_page(const struct loop *loop, int status)
{
    const struct config *cfg = loop->cfg;
    for (size_t i = 0; i < cfg->nerror_pages; i++)
        if (cfg->error_pages[i].status == status)
            return &cfg->error_pages[i];
    return NULL;
}

void http_error(gale_request *r, int status, const char *reason)
{
    if (r->head_sent) {
        r->broken = 1; /* too late for an error page: cut the answer short */
        http_finish(r);
        return;
    }
    r->nrh = r->nrh_keep; /* gale's own (Allow, Location); the handler's are dropped */
    evbuffer_drain(r->out, evbuffer_get_length(r->out));
    r->status = status;
    const struct config_error_page *page = http_error_page(r->loop, status);
    if (page) {
        gale_response_header(r, "Content-Type", page->type);
        evbuffer_add(r->out, page->body, page->len);
    } else if (!http_no_body_status(status)) {
        gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
        evbuffer_add_printf(r->out, "%d %s: %s\n", status, http_status_text(status),
                            reason ? reason : http_status_text(status));
    }
    http_finish(r);
}

/* An answer gale gives on its own (parse errors, timeouts), closing after it. */
static void http_fail(struct http_conn *hc, int status, const char *reason)
{
    gale_request *r = hc->req ? hc->req : http_request_new(hc);
    log_info("%s: %d %s", hc->c->client, status, reason);
    r->keepalive = 0;
    hc->c->linger = 1; /* the client may still be sending what we did not read */
    hc->state = HC_HANDLER;
    conn_timer(hc->c, NULL);
    http_error(r, status, reason);
}

/* ---- reading the head ---- */

static int http_fill(struct http_conn *hc, struct evbuffer *in)
{
    size_t limit = hc->lim->max_header_size + 4;
    size_t avail = evbuffer_get_length(in);
    if (avail <= hc->inlen || hc->inlen >= limit)
        return 0;
    size_t want = avail - hc->inlen;
    if (want > limit - hc->inlen)
        want = limit - hc->inlen;
    if (hc->inlen + want + 1 > hc->incap) {
        size_t cap = hc->incap ? hc->incap : HTTP_IN_INITIAL;
        while (cap < hc->inlen + want + 1)
            cap *= 2;
        hc->in = xrealloc(hc->in, cap);
        hc->incap = cap;
    }
    struct evbuffer_ptr p;
    evbuffer_ptr_set(in, &p, hc->inlen, EVBUFFER_PTR_SET);
    ev_ssize_t got = evbuffer_copyout_from(in, &p, hc->in + hc->inlen, want);
    if (got > 0)
        hc->inlen += (size_t)got;
    return 0;
}

static void http_head_begin(struct http_conn *hc)
{
    if (!hc->hdrs)
        hc->hdrs = xmalloc(sizeof(struct http_header) * hc->lim->max_headers);
    http_parser_init(&hc->parser, hc->lim->max_header_size, hc->lim->max_uri_size, hc->hdrs,
                     hc->lim->max_headers);
    hc->inlen = 0;
    hc->state = HC_HEAD;
    conn_timer(hc->c, hc->loop->tv[LOOP_TV_HEADER]);
}

/* Terminate a slice in place: the byte after it is a delimiter we no longer need. */
static const char *http_cut(const char *s, size_t len)
{
    ((char *)s)[len] = '\0';
    return s;
}

/* Behind a trusted proxy the client and scheme are the ones it reports. */
static void http_request_proxied(gale_request *r)
{
    const struct config *cfg = r->loop->cfg;
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

static void http_request_strings(gale_request *r, const struct http_head *h)
{
    int own_path = h->query || h->path != h->target;
    r->method = http_cut(h->method, h->method_len);
    r->mid = http_method_lookup(h->method, h->method_len);
    r->is_head = r->mid == HTTP_M_HEAD;
    if (own_path)
        r->path = arena_strndup(r->arena, h->path, h->path_len);
    r->target = http_cut(h->target, h->target_len);
    if (!own_path)
        r->path = r->target;
    r->query = h->query ? h->query : "";
    r->minor = h->version_minor;
    r->hdrs = h->headers;
    r->nhdrs = h->nheaders;
    for (size_t i = 0; i < h->nheaders; i++) {
        http_cut(h->headers[i].name, h->headers[i].name_len);
        if (h->headers[i].value_len)
            http_cut(h->headers[i].value, h->headers[i].value_len);
        else
            h->headers[i].value = "";
    }
    if (h->host && h->host_len) /* may point into an absolute-form target: copy */
        r->host = arena_strndup(r->arena, h->host, h->host_len);
    r->keepalive = h->version_minor >= 1 ? !h->conn_close : h->conn_keepalive && !h->conn_close;
    http_request_proxied(r);
}

/* A listener with redirect_https answers everything with a redirect to the
 * same target on the HTTPS port. */
static void http_redirect_https(gale_request *r, int port)
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

/* Route the request and pick the callback, or the error gale answers instead. */
static void http_route(gale_request *r, const struct http_head *h)
{
    struct router_match m;
    int redirect = r->hc->c->lc ? r->hc->c->lc->redirect_https : 0;
    if (redirect) {
        http_redirect_https(r, redirect);
    } else if (r->mid == HTTP_M_CONNECT) {
        r->error_status = 501;
        r->error_reason = "CONNECT is not supported";
    }
    r->nrh_keep = r->nrh; /* Location or Allow survive the error page */
    if (r->error_status)
        return;
    if (router_match(r->loop->router, h->path, h->path_len, &m) < 0) {
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
        util_url_decode(r->caps[i], h->path + m.start[i], len, 0);
    }
    r->fn = handler_fn(r->route->handler, r->mid);
    char allow[128];
    handler_allow(r->route->handler, allow, sizeof(allow));
    if (r->route->conf->websocket) { /* only the opening handshake, a GET */
        r->fn = r->mid == HTTP_M_GET ? http_upgrade.accept : NULL;
        strcpy(allow, "GET");
    }
    const struct config_cors *cors = &r->route->conf->cors;
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

/* The head is complete: make the request and decide how its body comes. */
static int http_begin_request(struct http_conn *hc, struct evbuffer *in)
{
    struct http_head *h = &hc->head;
    evbuffer_drain(in, h->head_len);
    gale_request *r = http_request_new(hc);
    http_request_strings(r, h);
    http_route(r, h);
    if (h->chunked) {
        r->body_chunked = 1;
        http_chunked_init(&r->chunked);
    } else if (h->content_length > 0) {
        if ((uint64_t)h->content_length > hc->lim->max_body_size) {
            http_fail(hc, 413, "request body too large");
            return -1;
        }
        r->body_left = h->content_length;
    }
    if (!r->body_chunked && r->body_left == 0)
        return 0;
    r->body = evbuffer_new();
    if (!r->body)
        util_oom();
    if (r->fn) { /* only a handler reads arguments: an error answer skips the body */
        const struct config *cfg = r->loop->cfg;
        r->upload = upload_new(r, gale_request_header(r, "Content-Type"),
                               cfg->limits.upload_memory_limit, cfg->upload_dir);
    }
    if (h->expect_continue && r->minor >= 1) {
        if (r->error_status) {
            /* the body is not wanted: answer now and close rather than read it */
            r->keepalive = 0;
            return 0;
        }
        evbuffer_add(conn_out(hc->c), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    hc->state = HC_BODY;
    conn_timer(hc->c, hc->loop->tv[LOOP_TV_BODY]);
    return 0;
}

/* ---- reading the body ---- */

/* Body bytes: to the multipart collector, else kept whole for the handler. */
static int http_body_data(struct http_conn *hc, gale_request *r, const char *data, size_t len)
{
    r->body_received += len;
    if (!r->upload) {
        evbuffer_add(r->body, data, len);
        return 0;
    }
    if (upload_feed(r->upload, data, len) < 0) {
        http_fail(hc, 400, upload_error(r->upload));
        return -1;
    }
    return 0;
}

/* Feed the first `take` input bytes to the collector, then drop them. */
static int http_body_feed(struct http_conn *hc, gale_request *r, struct evbuffer *in, size_t take)
{
    while (take > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, (ev_ssize_t)take, NULL, &v, 1) < 1)
            break;
        size_t n = v.iov_len < take ? v.iov_len : take;
        if (http_body_data(hc, r, v.iov_base, n) < 0)
            return -1;
        evbuffer_drain(in, n);
        take -= n;
    }
    return 0;
}

/* Returns 1 when the body is complete, 0 for more, -1 after an error answer. */
static int http_read_chunked(struct http_conn *hc, gale_request *r, struct evbuffer *in)
{
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            return 0;
        size_t used = 0, dlen = 0;
        const char *data = NULL;
        int rc = http_chunked_parse(&r->chunked, v.iov_base, v.iov_len, &used, &data, &dlen);
        if (rc == HTTP_CHUNKED_DATA && http_body_data(hc, r, data, dlen) < 0)
            return -1;
        evbuffer_drain(in, used);
        if (rc == HTTP_CHUNKED_ERROR) {
            http_fail(hc, 400, r->chunked.reason ? r->chunked.reason : "bad chunked body");
            return -1;
        }
        /* refuse as soon as a chunk size announces too much, not after reading it */
        if (r->body_received + r->chunked.remaining > hc->lim->max_body_size) {
            http_fail(hc, 413, "request body too large");
            return -1;
        }
        if (rc == HTTP_CHUNKED_DONE)
            return 1;
    }
    return 0;
}

static int http_read_body(struct http_conn *hc, struct evbuffer *in)
{
    gale_request *r = hc->req;
    int done;
    if (r->body_chunked) {
        done = http_read_chunked(hc, r, in);
    } else {
        size_t avail = evbuffer_get_length(in);
        size_t take = (uint64_t)r->body_left < avail ? (size_t)r->body_left : avail;
        if (r->upload && http_body_feed(hc, r, in, take) < 0)
            return -1;
        if (take && !r->upload)
            evbuffer_remove_buffer(in, r->body, take); /* moves chains: no copy */
        r->body_left -= (int64_t)take;
        done = r->body_left == 0;
    }
    if (done == 1 && r->upload && upload_finish(r->upload) < 0) {
        http_fail(hc, 400, upload_error(r->upload));
        return -1;
    }
    return done;
}

/* ---- calling the handler ---- */

static void http_dispatch(struct http_conn *hc)
{
    gale_request *r = hc->req;
    hc->state = HC_HANDLER;
    conn_timer(hc->c, NULL);
    if (r->error_status) {
        http_error(r, r->error_status, r->error_reason);
        return;
    }
    const char *why;
    if (cookie_api_xsrf_check(r, r->route->conf->xsrf, &why) < 0) {
        http_error(r, 403, why); /* no handler runs */
        return;
    }
    session_load(r, http_run); /* at once, or when the session store answers */
}

/* Routes marked authenticated need a user: a visitor is sent to log in (GET,
 * HEAD) or refused (other methods). Returns 0 when r may go on. */
static int http_authenticate(gale_request *r)
{
    if (!r->route->conf->authenticated || gale_request_user(r))
        return 0;
    /* a WebSocket handshake cannot follow a redirect to a login page */
    if ((r->mid != HTTP_M_GET && r->mid != HTTP_M_HEAD) || r->route->conf->websocket) {
        http_error(r, 403, "log in first");
        return -1;
    }
    const char *login = r->loop->cfg->login_url;
    size_t cap = strlen(r->target) * 3 + 1;
    char *next = arena_alloc(r->arena, cap);
    util_url_encode(next, cap, r->target, NULL); /* as Tornado's urlencode: '/' too */
    const char *url =
        gale_request_printf(r, "%s%cnext=%s", login, strchr(login, '?') ? '&' : '?', next);
    if (gale_response_redirect(r, 302, url) < 0)
        http_error(r, 403, "log in first");
    return -1;
}

/* The session is there: check the user, then prepare and the method's callback. */
static void http_run(gale_request *r)
{
    if (http_authenticate(r) < 0)
        return; /* answered: a redirect to the login page, or 403 */
    r->in_handler = 1;
    gale_handler_fn prepare = r->route->handler->prepare;
    int rc = prepare ? prepare(r) : GALE_OK;
    if (rc == GALE_OK && !r->finished)
        rc = r->fn(r);
    r->in_handler = 0;
    if (!r->finished && rc == GALE_ERROR) {
        log_error("handler %s failed on %s %s", r->route->handler->name, r->method, r->target);
        http_error(r, 500, "the handler failed");
    } else if (!r->finished && rc != GALE_ASYNC) {
        http_finish(r);
    } else if (r->finished) {
        http_request_done(r);
    }
}

/* ---- the state machine, run whenever input arrives ---- */

static int http_step_head(struct http_conn *hc, struct evbuffer *in)
{
    http_fill(hc, in);
    int rc = http_parse_request(&hc->parser, hc->in, hc->inlen, &hc->head);
    if (rc < 0) {
        http_fail(hc, hc->parser.status, hc->parser.reason);
        return -1;
    }
    if (rc == 0) {
        if (hc->inlen >= hc->lim->max_header_size + 4) {
            http_fail(hc, 431, "request head too large");
            return -1;
        }
        return 0;
    }
    if (http_begin_request(hc, in) < 0)
        return -1;
    if (hc->state == HC_HEAD)
        http_dispatch(hc);
    return 1;
}

static void http_process(struct http_conn *hc)
{
    struct evbuffer *in = conn_in(hc->c);
    hc->processing = 1;
    for (;;) {
        if (hc->state == HC_IDLE) {
            if (evbuffer_get_length(in) == 0 || conn_pending(hc->c) > HTTP_OUT_PAUSE)
                break;
            http_head_begin(hc);
        }
        if (hc->state == HC_HEAD) {
            if (http_step_head(hc, in) <= 0)
                break;
        } else if (hc->state == HC_BODY) {
            int rc = http_read_body(hc, in);
            if (rc <= 0)
                break;
            http_dispatch(hc);
        } else {
            break; /* HC_HANDLER: the answer before must finish first */
        }
        if (hc->c->closing || hc->c->lingering)
            break;
    }
    /* The request may have been freed above and the connection with it only
     * through conn_close, which nothing here calls: hc is still valid. */
    hc->processing = 0;
    if (hc->state == HC_UPGRADED) {
        http_hand_over(hc, hc->upgrade);
        return;
    }
    conn_flush(hc->c);      /* every answer of this batch in one write */
    conn_read_check(hc->c); /* input was consumed: resume reading if it paused */
}

static void http_read(struct conn *c)
{
    struct http_conn *hc = c->data;
    if (hc->state == HC_BODY)
        conn_timer(c, hc->loop->tv[LOOP_TV_BODY]);
    http_process(hc);
}

static void http_write(struct conn *c)
{
    struct http_conn *hc = c->data;
    if (hc->state == HC_IDLE && evbuffer_get_length(conn_in(c)))
        http_process(hc);
}

static void http_eof(struct conn *c)
{
    struct http_conn *hc = c->data;
    size_t pending = evbuffer_get_length(conn_in(c));
    if (hc->state == HC_HANDLER && pending && !hc->c->error)
        return; /* pipelined requests are still to be answered; then it closes */
    if (hc->state == HC_IDLE && pending && !hc->c->error) {
        http_process(hc);
        if (hc->state == HC_IDLE && !c->closing && !c->lingering)
            conn_close_after_write(c);
        return;
    }
    if (!c->error && conn_pending(c) && hc->state == HC_IDLE) {
        conn_close_after_write(c);
        return;
    }
    conn_close(c); /* aborts a request still in a handler */
}

static void http_timeout(struct conn *c)
{
    struct http_conn *hc = c->data;
    if (hc->state == HC_IDLE) {
        conn_close(c);
    } else if (hc->state == HC_HEAD && hc->inlen == 0) {
        conn_close(c);
    } else if (hc->state == HC_HEAD || hc->state == HC_BODY) {
        http_fail(hc, 408,
                  hc->state == HC_HEAD ? "request head not received in time"
                                       : "request body not received in time");
    }
}

static void http_drain(struct conn *c)
{
    struct http_conn *hc = c->data;
    if (hc->state == HC_IDLE && !evbuffer_get_length(conn_in(c)))
        conn_timer(c, hc->loop->tv[LOOP_TV_DRAIN_IDLE]);
}
