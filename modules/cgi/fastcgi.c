/*
 * fastcgi.c - the FastCGI side of the cgi module: a route's requests handed
 * to a FastCGI server (php-fpm) over a Unix or TCP socket, one connection a
 * request (no multiplexing: php-fpm serves one request a connection), the
 * same variables as CGI in PARAMS, the body in STDIN records, STDOUT read
 * as a CGI answer (cgi.c), STDERR to the error log.
 *
 *     { path = "/php/.*"; handler = "fastcgi"; xsrf = false;
 *       settings = { prefix = "/php/"; root = "/srv/php";
 *                    fastcgi = "unix:/run/php/php-fpm.sock"; }; }
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cgi.h"

enum {
    FCGI_BEGIN_REQUEST = 1,
    FCGI_END_REQUEST = 3,
    FCGI_PARAMS = 4,
    FCGI_STDIN = 5,
    FCGI_STDOUT = 6,
    FCGI_STDERR = 7,
    FCGI_RESPONDER = 1,
    FCGI_KEEP_CONN = 1,
    FCGI_HEADER_LEN = 8,
    FCGI_MAX = 65535, /* content bytes of one record */
    /* Connections a worker opens to one server, by default: at most the
     * server's children (php-fpm's pm.max_children) over gale's workers. */
    FASTCGI_CONNECTIONS = 4,
};

struct fastcgi_conn {
    struct cgi_run *run; /* NULL once the request is freed */
    struct bufferevent *bev;
    const char *server;    /* the route's `fastcgi` */
    int reused;            /* bev served another request: the server may have closed it since */
    int waiting;           /* for a connection (fastcgi_pool): bev is NULL */
    int counted;           /* holds one of the server's connections (open, opening or passed) */
    int answered;          /* a record came */
    struct evbuffer *body; /* the STDIN records sent so far, to send again on a new connection */
    int body_ended;        /* and the empty one that ends them */
    int retried;           /* sent again on a new connection once */
    int in_cb;             /* inside a callback of bev: free c at its end */
    int dead;              /* the request was freed */
    int ended;             /* END_REQUEST came */
};

static void fastcgi_record(struct evbuffer *out, int type, const void *data, size_t len)
{
    unsigned char h[FCGI_HEADER_LEN] = {
        1, (unsigned char)type, 0, 1, (unsigned char)(len >> 8), (unsigned char)len, 0, 0};
    evbuffer_add(out, h, sizeof(h));
    if (len)
        evbuffer_add(out, data, len);
}

/* Part of a STDIN stream: records of up to FCGI_MAX. */
static void fastcgi_stream_part(struct evbuffer *out, const char *data, size_t len)
{
    for (size_t at = 0; at < len; at += FCGI_MAX)
        fastcgi_record(out, FCGI_STDIN, data + at, len - at < FCGI_MAX ? len - at : FCGI_MAX);
}

/* A stream (PARAMS, STDIN): in records of up to FCGI_MAX, then an empty one. */
static void fastcgi_stream(struct evbuffer *out, int type, const char *data, size_t len)
{
    for (size_t at = 0; at < len; at += FCGI_MAX)
        fastcgi_record(out, type, data + at, len - at < FCGI_MAX ? len - at : FCGI_MAX);
    fastcgi_record(out, type, NULL, 0);
}

/* A name-value pair's length: one byte below 128, else four (high bit set). */
static unsigned char *fastcgi_length(unsigned char *o, size_t n)
{
    if (n < 128) {
        *o++ = (unsigned char)n;
        return o;
    }
    o[0] = (unsigned char)(n >> 24 | 0x80);
    o[1] = (unsigned char)(n >> 16);
    o[2] = (unsigned char)(n >> 8);
    o[3] = (unsigned char)n;
    return o + 4;
}

/* The PARAMS stream: every pair laid out in one buffer of the request's
 * memory, then added in records (one for a usual request), rather than
 * four evbuffer_add calls a variable. */
static void fastcgi_params(struct evbuffer *out, gale_request *r, const struct cgi_var *v, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += 8 + strlen(v[i].name) + strlen(v[i].value);
    unsigned char *buf = gale_request_alloc(r, len), *o = buf;
    for (size_t i = 0; i < n; i++) {
        size_t nlen = strlen(v[i].name), vlen = strlen(v[i].value);
        o = fastcgi_length(o, nlen);
        o = fastcgi_length(o, vlen);
        memcpy(o, v[i].name, nlen);
        memcpy(o + nlen, v[i].value, vlen);
        o += nlen + vlen;
    }
    fastcgi_stream(out, FCGI_PARAMS, (const char *)buf, (size_t)(o - buf));
}

/* c has no connection any more: out of the queue, its connection closed
 * and counted no more (another request may take its place). Idempotent. */
static void fastcgi_release(struct fastcgi_conn *c)
{
    if (c->waiting)
        fastcgi_pool_forget(c, c->server);
    c->waiting = 0;
    if (c->bev)
        bufferevent_free(c->bev);
    c->bev = NULL;
    if (c->counted) {
        c->counted = 0;
        fastcgi_pool_leave(c->server);
    }
}

static void fastcgi_free(struct fastcgi_conn *c)
{
    fastcgi_release(c);
    if (c->body)
        evbuffer_free(c->body);
    free(c);
}

/* The request is freed: drop the connection (php-fpm ends the script). */
static void fastcgi_request_gone(void *arg)
{
    struct fastcgi_conn *c = arg;
    c->run = NULL;
    c->dead = 1;
    if (!c->in_cb)
        fastcgi_free(c);
}

/* One record from the input; 0 when more bytes are needed, 1 after one. */
static int fastcgi_read_record(struct fastcgi_conn *c, struct evbuffer *in)
{
    unsigned char h[FCGI_HEADER_LEN];
    if (evbuffer_copyout(in, h, sizeof(h)) < (ev_ssize_t)sizeof(h))
        return 0;
    size_t len = (size_t)h[4] << 8 | h[5], total = FCGI_HEADER_LEN + len + h[6];
    if (evbuffer_get_length(in) < total)
        return 0;
    const char *data = (const char *)evbuffer_pullup(in, (ev_ssize_t)total) + FCGI_HEADER_LEN;
    c->answered = 1;
    if (h[1] == FCGI_END_REQUEST) {
        int status = len >= 4 ? data[3] : 0;
        evbuffer_drain(in, total);
        c->ended = 1;
        if (evbuffer_get_length(in) == 0) { /* the connection serves the next request */
            struct bufferevent *bev = c->bev;
            bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
            bufferevent_set_timeouts(bev, NULL, NULL);
            c->bev = NULL;
            c->counted = 0;
            fastcgi_pool_pass(c->server, bev);
        } else {
            fastcgi_release(c); /* it said more than FastCGI allows */
        }
        cgi_done(c->run, 0, status);
        return 1;
    }
    if (h[1] == FCGI_STDOUT && len)
        cgi_output(c->run, data, len);
    else if (h[1] == FCGI_STDERR && len)
        cgi_log_stderr(c->run, data, len);
    if (!c->dead)
        evbuffer_drain(in, total);
    return 1;
}

static void fastcgi_read_cb(struct bufferevent *bev, void *arg)
{
    struct fastcgi_conn *c = arg;
    c->in_cb = 1;
    while (!c->dead && !c->ended && fastcgi_read_record(c, bufferevent_get_input(bev)))
        if (c->run && c->run->flushing)
            break; /* paused: the rest when the client took this */
    c->in_cb = 0;
    if (c->dead)
        fastcgi_free(c);
    else if (!c->ended)
        cgi_flush(c->run);
}

static int fastcgi_connect(struct fastcgi_conn *c);

/* Whether a connection lost before any answer may be replaced and the
 * request sent again: one that served another request may have been
 * closed by the server meanwhile (its STDIN records were kept); a new one
 * may have been reset by a child that was ending (php-fpm reloading), and
 * is tried once more for a GET or HEAD, which nothing has answered. */
static int fastcgi_may_retry(const struct fastcgi_conn *c, short what)
{
    if (c->answered || (what & BEV_EVENT_TIMEOUT))
        return 0;
    if (c->reused)
        return 1;
    const char *m = gale_request_method(c->run->r);
    int safe = c->run->t.redirected || !strcmp(m, "GET") || !strcmp(m, "HEAD"); /* redirects GET */
    return safe && !c->retried;
}

static void fastcgi_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct fastcgi_conn *c = arg;
    if ((what & BEV_EVENT_CONNECTED) || c->ended || c->dead)
        return;
    if (fastcgi_may_retry(c, what)) {
        bufferevent_free(c->bev);
        c->bev = NULL;
        c->reused = 0;
        c->retried = 1;
        if (fastcgi_connect(c) < 0)
            cgi_fail(c->run, 502, gale_request_printf(c->run->r, "cannot reach %s", c->server));
        return;
    }
    c->in_cb = 1;
    if (what & BEV_EVENT_TIMEOUT)
        cgi_done(c->run, 1, -1);
    else if (!c->run->head_done)
        cgi_fail(c->run, 502,
                 (what & BEV_EVENT_ERROR)
                     ? gale_request_printf(c->run->r, "the FastCGI server: %s", strerror(errno))
                     : "the FastCGI server closed before an answer");
    else
        cgi_done(c->run, 0, -1);
    c->in_cb = 0;
    if (c->dead)
        fastcgi_free(c);
}

static void fastcgi_pause(struct cgi_run *run, int paused)
{
    if (!run->fcgi || !run->fcgi->bev)
        return;
    if (paused) {
        bufferevent_disable(run->fcgi->bev, EV_READ);
        return;
    }
    bufferevent_enable(run->fcgi->bev, EV_READ);
    fastcgi_read_cb(run->fcgi->bev, run->fcgi); /* what came while paused */
}

/* "unix:/path" or "host:port" (IPv4 or [IPv6]) into ss; 0 or -1. */
static int fastcgi_address(const char *a, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof(*ss));
    if (!strncmp(a, "unix:", 5)) {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        if (strlen(a + 5) >= sizeof(un->sun_path))
            return -1;
        un->sun_family = AF_UNIX;
        strcpy(un->sun_path, a + 5);
        *len = sizeof(*un);
        return 0;
    }
    int n = (int)sizeof(*ss);
    if (evutil_parse_sockaddr_port(a, (struct sockaddr *)ss, &n) < 0)
        return -1;
    *len = (socklen_t)n;
    return 0;
}

/* The STDIN records the request has so far (fastcgi_body kept them while
 * it waited, or for a resend): moved to out, or copied on a connection
 * that served another request, as the server may have closed it since. */
static void fastcgi_send_stdin(struct fastcgi_conn *c, struct evbuffer *out)
{
    if (c->run->t.redirected) { /* no body: else it streams in (fastcgi_body) */
        fastcgi_record(out, FCGI_STDIN, NULL, 0);
        return;
    }
    size_t n = c->body ? evbuffer_get_length(c->body) : 0;
    if (n && c->reused)
        evbuffer_add(out, evbuffer_pullup(c->body, (ev_ssize_t)n), n);
    else if (n)
        evbuffer_add_buffer(out, c->body);
    if (c->body_ended)
        fastcgi_record(out, FCGI_STDIN, NULL, 0);
}

/* The request's records, on c->bev: BEGIN_REQUEST, PARAMS, STDIN. */
static void fastcgi_send(struct fastcgi_conn *c)
{
    struct cgi_run *run = c->run;
    const json_t *t = json_object_get(gale_request_route_settings(run->r), "timeout");
    struct timeval tv = {60, 0};
    if (json_is_number(t)) {
        double sec = json_number_value(t);
        tv.tv_sec = (time_t)sec;
        tv.tv_usec = (suseconds_t)((sec - (double)tv.tv_sec) * 1e6);
    }
    bufferevent_setcb(c->bev, fastcgi_read_cb, NULL, fastcgi_event_cb, c);
    bufferevent_set_timeouts(c->bev, &tv, &tv);
    unsigned char begin[8] = {0, FCGI_RESPONDER, FCGI_KEEP_CONN, 0, 0, 0, 0, 0};
    struct evbuffer *out = bufferevent_get_output(c->bev);
    fastcgi_record(out, FCGI_BEGIN_REQUEST, begin, sizeof(begin));
    size_t n;
    const struct cgi_var *vars = cgi_env_vars(run->r, &run->t, &n);
    fastcgi_params(out, run->r, vars, n);
    fastcgi_send_stdin(c, out);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* A new connection to c->server, the request sent on it. 0, or -1. */
static int fastcgi_connect(struct fastcgi_conn *c)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (fastcgi_address(c->server, &ss, &sslen) < 0)
        return -1;
    struct event_base *base = gale_ctx_base(gale_request_ctx(c->run->r));
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev)
        return -1;
    fastcgi_send(c);
    return bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, (int)sslen);
}

static int fastcgi_start(struct cgi_run *run)
{
    gale_request *r = run->r;
    const char *server =
        json_string_value(json_object_get(gale_request_route_settings(r), "fastcgi"));
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (!server || fastcgi_address(server, &ss, &sslen) < 0) {
        cgi_fail(run, 502, "no usable `fastcgi` address in the route's settings");
        return -1;
    }
    if (run->fcgi) /* a local redirect: the last connection is done */
        fastcgi_release(run->fcgi);
    struct fastcgi_conn *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->run = run;
    c->server = server;
    run->fcgi = c;
    run->flush_later = 1;
    gale_request_cleanup(r, fastcgi_request_gone, c);
    const json_t *cap = json_object_get(gale_request_route_settings(r), "connections");
    if (!fastcgi_pool_enter(
            c, server, json_is_integer(cap) ? (int)json_integer_value(cap) : FASTCGI_CONNECTIONS)) {
        c->waiting = 1; /* fastcgi_resume when a connection is free */
        return 0;
    }
    c->counted = 1;
    if (fastcgi_connect(c) < 0) {
        cgi_fail(run, 502, gale_request_printf(r, "cannot reach %s", server));
        return -1;
    }
    return 0;
}

void fastcgi_resume(struct fastcgi_conn *c, struct bufferevent *bev)
{
    c->waiting = 0;
    c->counted = 1;
    if (bev) {
        c->bev = bev;
        c->reused = 1;
        fastcgi_send(c);
    } else if (fastcgi_connect(c) < 0) {
        cgi_fail(c->run, 502, gale_request_printf(c->run->r, "cannot reach %s", c->server));
    }
}

/* Body bytes in STDIN records (the empty one at the end). On a kept
 * connection, a copy is kept until the server answers: one it closed
 * meanwhile is replaced and the request sent again. */
static int fastcgi_body(struct cgi_run *run, const char *data, size_t len)
{
    struct fastcgi_conn *c = run->fcgi;
    if (c && c->waiting) { /* kept until a connection is free */
        if (!data)
            c->body_ended = 1;
        else {
            if (!c->body)
                c->body = evbuffer_new();
            fastcgi_stream_part(c->body, data, len);
        }
        return 0;
    }
    if (!c || !c->bev)
        return -1;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int keep = c->reused && !c->answered;
    if (!data) {
        fastcgi_record(out, FCGI_STDIN, NULL, 0);
        c->body_ended = 1; /* for a resend */
        return 0;
    }
    fastcgi_stream_part(out, data, len);
    if (keep) {
        if (!c->body)
            c->body = evbuffer_new();
        fastcgi_stream_part(c->body, data, len);
    }
    return 0;
}

int fastcgi_prepare(gale_request *r)
{
    return cgi_prepare_run(r, fastcgi_pause, fastcgi_start, fastcgi_body);
}
