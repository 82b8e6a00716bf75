/*
 * h2.c - the HTTP/2 wire: libnghttp2 frames the connection and keeps its
 * streams' states, flow control and HPACK; each stream carries one request
 * through the pipeline (pipeline.h), which answers through h2_wire as it
 * does through h1.c's table.
 *
 * Flow control, in: the connection's and the streams' windows open only as
 * the pipeline takes the body (nghttp2_session_consume), so a body held for
 * a handler that has not asked for it yet fills no memory beyond the
 * window. Out: each stream's answer waits in the stream's own buffer and
 * leaves through a deferred data provider as the client's windows allow;
 * nghttp2 is asked for more frames only while the socket keeps up.
 *
 * Ownership: a stream (struct h2_stream) lives until nghttp2 closes it and
 * its request is over. The request lives in the stream's arena; a request
 * whose client went away while its handler works takes the arena over
 * (pipeline_client_gone), as in h1.c.
 */
#include "http/h2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/util.h"
#include "http/h2_impl.h"
#include "http/h2_settings.h"
#include "http/http_parser.h"
#include "http/pipeline.h"
#include "http/request.h"
#include "net/conn.h"

#define H2_DRAIN_PING "gale-bye" /* the PING of h2_drain: 8 octets */

static void h2_done(gale_request *r);
static struct conn *h2_conn_of(const gale_request *r);
static void h2_body_wanted(gale_request *r);
static void h2_watch_drained(gale_request *r);

static const struct http_wire h2_wire = {
    .send_head = h2_send_head,
    .send_body = h2_send_body,
    .flush = h2_flush,
    .end = h2_end,
    .done = h2_done,
    .conn = h2_conn_of,
    .read_body = h2_body_wanted,
    .watch_drained = h2_watch_drained,
};

static int h2_send(struct h2_conn *hc);
static void h2_body_release(struct h2_stream *st);

/* ---- streams ---- */

static struct h2_stream *h2_stream_new(struct h2_conn *hc, int32_t id)
{
    struct h2_stream *st = xcalloc(1, sizeof(*st));
    st->hc = hc;
    st->id = id;
    st->state = HS_HEAD;
    st->heard = util_now();
    st->arena = arena_new(H2_ARENA_SIZE);
    st->out = evbuffer_new();
    if (!st->out)
        util_oom();
    st->hdrs = arena_calloc(st->arena, sizeof(struct http_header) * hc->lim->max_headers);
    st->next = hc->streams;
    if (hc->streams)
        hc->streams->prev = st;
    hc->streams = st;
    hc->nstreams++;
    return st;
}

/* Free the stream once both nghttp2 and the pipeline are done with it. */
static void h2_stream_maybe_free(struct h2_stream *st)
{
    if (!st->closed || st->req)
        return;
    struct h2_conn *hc = st->hc;
    if (st->prev)
        st->prev->next = st->next;
    else
        hc->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    hc->nstreams--;
    if (st->arena)
        arena_free(st->arena);
    evbuffer_free(st->out);
    if (st->held)
        evbuffer_free(st->held);
    free(st);
}

static struct conn *h2_conn_of(const gale_request *r)
{
    return ((const struct h2_stream *)r->stream)->hc->c;
}

/* ---- the request's end ---- */

static void h2_done(gale_request *r)
{
    struct h2_stream *st = r->stream;
    gale_ws *ws = st->tunnel ? r->upgrade : NULL;
    st->req = NULL;
    st->drain_watch = 0;
    st->state = HS_DONE;
    arena_free(st->arena);
    st->arena = NULL;
    if (ws) {
        h2_tunnel_attach(st, ws);
        return;
    }
    h2_stream_maybe_free(st);
}

/* ---- output drained ---- */

static void h2_watch_drained(gale_request *r)
{
    struct h2_stream *st = r->stream;
    st->drain_watch = 1;
    h2_later(st->hc);
}

/* From the loop: streams whose output was all written hear of it. */
static void h2_after_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h2_conn *hc = arg;
    int again;
    do { /* a body given to the pipeline may change the list */
        again = 0;
        for (struct h2_stream *st = hc->streams; st; st = st->next)
            if (st->body_wanted && st->req) {
                h2_body_release(st);
                again = 1;
                break;
            }
    } while (again);
    for (struct h2_stream *st = hc->streams; st; st = st->next)
        if (st->ws && st->held)
            h2_tunnel_resume(st); /* frames only: the list stays */
    if (h2_send(hc) < 0)
        return;
    if (hc->c->closing || conn_pending(hc->c) != 0)
        return; /* the write callback comes back here */
    struct h2_stream *st = hc->streams;
    while (st) {
        struct h2_stream *next = st->next;
        if (st->drain_watch && st->req && evbuffer_get_length(st->out) == 0) {
            st->drain_watch = 0;
            pipeline_drained(st->req);
        }
        st = next;
    }
}

void h2_later(struct h2_conn *hc)
{
    if (!hc->after_ev && !(hc->after_ev = event_new(hc->loop->base, -1, 0, h2_after_cb, hc)))
        util_oom();
    event_active(hc->after_ev, EV_TIMEOUT, 1);
}

/* ---- the request ---- */

void h2_fail(struct h2_stream *st, int status, const char *why)
{
    log_info("%s: HTTP/2 stream %d: %d %s", st->hc->c->client, st->id, status, why);
    st->state = HS_HANDLER;
    pipeline_error(st->req, status, why);
}

static gale_request *h2_request_new(struct h2_conn *hc, struct h2_stream *st)
{
    gale_request *r =
        pipeline_request_new(st->arena, hc->loop, &h2_wire, st, hc->c->client, hc->c->https, NULL);
    st->req = r;
    r->minor = 1; /* the semantics of HTTP/1.1: keep-alive, no 1.0 framing */
    r->http2 = 1;
    r->method = st->method;
    r->mid = http_method_lookup(st->method, strlen(st->method));
    r->is_head = r->mid == HTTP_M_HEAD;
    const char *q = strchr(st->path, '?');
    r->target = st->path;
    r->path = q ? arena_strndup(st->arena, st->path, (size_t)(q - st->path)) : st->path;
    r->query = q ? q + 1 : "";
    if (st->cookie) {
        struct http_header *h = &st->hdrs[st->nhdrs++];
        h->name = "cookie";
        h->name_len = 6;
        h->value = st->cookie;
        h->value_len = strlen(st->cookie);
    }
    r->hdrs = st->hdrs;
    r->nhdrs = st->nhdrs;
    if (st->authority)
        r->host = st->authority;
    else
        for (size_t i = 0; i < st->nhdrs; i++)
            if (strcasecmp(st->hdrs[i].name, "host") == 0)
                r->host = st->hdrs[i].value;
    return r;
}

static void h2_dispatch(struct h2_stream *st)
{
    st->state = HS_HANDLER;
    pipeline_dispatch(st->req);
}

/* The head is in (END_HEADERS): make the request. */
static void h2_head_done(struct h2_conn *hc, struct h2_stream *st, int end_stream)
{
    if (!st->fail_status && (!st->method || !st->path))
        st->fail_status = 400, st->fail_why = "missing pseudo-header";
    if (!st->method)
        st->method = "GET";
    if (!st->path)
        st->path = "/";
    gale_request *r = h2_request_new(hc, st);
    if (st->fail_status) {
        h2_fail(st, st->fail_status, st->fail_why);
        return;
    }
    if (st->protocol) {
        if (h2_tunnel_open(st, r) == 0)
            h2_dispatch(st);
        return;
    }
    pipeline_head(r, r->path, strlen(r->path));
    if (end_stream) {
        h2_dispatch(st);
        return;
    }
    st->state = HS_BODY;
    int streams = pipeline_body_begin(r);
    st->body_held = streams;
    if (streams)
        pipeline_dispatch(r); /* up to prepare; the body waits for h2_body_wanted */
}

static int h2_body_piece(struct h2_conn *hc, struct h2_stream *st, const uint8_t *data, size_t len)
{
    gale_request *r = st->req;
    const char *why;
    st->body_received += len;
    if (st->body_received > hc->lim->max_body_size) {
        h2_fail(st, 413, "request body too large");
        return -1;
    }
    if (r->upload || r->body_streams) {
        if (pipeline_body_data(r, (const char *)data, len, &why) < 0) {
            if (why)
                h2_fail(st, 400, why);
            return -1;
        }
    } else {
        evbuffer_add(r->body, data, len);
    }
    return 0;
}

static void h2_body_end(struct h2_stream *st)
{
    const char *why;
    if (pipeline_body_end(st->req, &why) < 0) {
        h2_fail(st, 400, why);
        return;
    }
    h2_dispatch(st);
}

/* wire->read_body: prepare let a streamed body come: what was held goes
 * to the handler, and the windows open. */
static void h2_body_wanted(gale_request *r)
{
    struct h2_stream *st = r->stream;
    st->body_held = 0;
    st->body_wanted = 1;
    h2_later(st->hc);
}

static void h2_body_release(struct h2_stream *st)
{
    struct h2_conn *hc = st->hc;
    st->body_wanted = 0;
    if (st->held) {
        size_t len = evbuffer_get_length(st->held);
        const uint8_t *p = evbuffer_pullup(st->held, -1);
        int rc = h2_body_piece(hc, st, p, len);
        evbuffer_free(st->held);
        st->held = NULL;
        nghttp2_session_consume(hc->s, st->id, len); /* refused or taken */
        if (rc < 0)
            return;
    }
    if (st->closed || nghttp2_session_get_stream_remote_close(hc->s, st->id))
        if (st->state == HS_BODY && st->req)
            h2_body_end(st);
}

/* ---- nghttp2's callbacks ---- */

static int h2_on_begin_headers(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    struct h2_conn *hc = user;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2_stream *st = h2_stream_new(hc, frame->hd.stream_id);
    nghttp2_session_set_stream_user_data(s, frame->hd.stream_id, st);
    h2_opened(hc, frame->hd.stream_id);
    return 0;
}

static int h2_on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                        size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                        void *user)
{
    struct h2_conn *hc = user;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (!st || st->state != HS_HEAD)
        return 0; /* trailers: ignored */
    st->head_bytes += namelen + valuelen + 4;
    if (st->head_bytes > hc->lim->max_header_size) {
        st->fail_status = 431;
        st->fail_why = "request head too large";
    }
    if (st->fail_status)
        return 0;
    const char *v = arena_strndup(st->arena, (const char *)value, valuelen);
    if (name[0] == ':') {
        if (namelen == 7 && memcmp(name, ":method", 7) == 0)
            st->method = v;
        else if (namelen == 5 && memcmp(name, ":path", 5) == 0)
            st->path = v;
        else if (namelen == 7 && memcmp(name, ":scheme", 7) == 0)
            st->scheme = v;
        else if (namelen == 10 && memcmp(name, ":authority", 10) == 0)
            st->authority = v;
        else if (namelen == 9 && memcmp(name, ":protocol", 9) == 0)
            st->protocol = v; /* nghttp2 let it through: we sent ENABLE_CONNECT_PROTOCOL */
        if (st->path && valuelen > hc->lim->max_uri_size) {
            st->fail_status = 414;
            st->fail_why = "request target too long";
        }
        return 0;
    }
    if (namelen == 6 && memcmp(name, "cookie", 6) == 0) {
        if (st->cookie) {
            size_t a = strlen(st->cookie);
            char *j = arena_alloc(st->arena, a + 2 + valuelen + 1);
            memcpy(j, st->cookie, a);
            memcpy(j + a, "; ", 2);
            memcpy(j + a + 2, v, valuelen + 1);
            st->cookie = j;
        } else {
            st->cookie = (char *)v;
        }
        return 0;
    }
    if (st->nhdrs + 1 >= hc->lim->max_headers) { /* one kept for the joined cookie */
        st->fail_status = 431;
        st->fail_why = "too many header fields";
        return 0;
    }
    struct http_header *h = &st->hdrs[st->nhdrs++];
    h->name = arena_strndup(st->arena, (const char *)name, namelen);
    h->name_len = namelen;
    h->value = v;
    h->value_len = valuelen;
    return 0;
}

static int h2_on_frame_recv(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    struct h2_conn *hc = user;
    if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK) && hc->goaway &&
        !hc->goaway_final && memcmp(frame->ping.opaque_data, H2_DRAIN_PING, 8) == 0) {
        hc->goaway_final = 1; /* the second step of h2_drain */
        nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s),
                              NGHTTP2_NO_ERROR, NULL, 0);
        return 0;
    }
    if (frame->hd.type == NGHTTP2_SETTINGS) {
        h2_guard_settings(hc, frame);
        return 0;
    }
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
        h2_bucket_take(hc, &hc->resets, hc->set->max_resets, hc->set->reset_rate, "resets");
        return 0;
    }
    if (frame->hd.type == NGHTTP2_DATA && frame->hd.length == 0 &&
        !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) &&
        h2_bucket_take(hc, &hc->empty, H2_EMPTY_BURST, H2_EMPTY_RATE, "empty DATA frames") < 0)
        return 0;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (!st)
        return 0;
    int end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (end_stream)
        st->remote_ended = 1;
    if (st->tunnel && st->state != HS_HEAD) {
        if (end_stream)
            h2_tunnel_end(st);
        return 0;
    }
    if (frame->hd.type == NGHTTP2_HEADERS && st->state == HS_HEAD) {
        h2_head_done(hc, st, end_stream);
        return 0;
    }
    if (end_stream && st->state == HS_BODY && !st->body_held && st->req)
        h2_body_end(st);
    return 0;
}

static int h2_on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                      size_t len, void *user)
{
    struct h2_conn *hc = user;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (st)
        st->heard = util_now();
    if (st && st->tunnel && h2_tunnel_data(st, data, len))
        return 0;
    if (!st || st->state != HS_BODY || !st->req) {
        nghttp2_session_consume(s, id, len); /* not wanted: the windows stay open */
        return 0;
    }
    if (st->body_held) { /* the window stays closed by what waits here */
        if (!st->held && !(st->held = evbuffer_new()))
            util_oom();
        evbuffer_add(st->held, data, len);
        return 0;
    }
    /* a piece refused (413, 400) gives its octets back all the same: the
     * connection's window must not shrink by it */
    h2_body_piece(hc, st, data, len);
    nghttp2_session_consume(s, id, len);
    return 0;
}

static int h2_on_stream_close(nghttp2_session *s, int32_t id, uint32_t error_code, void *user)
{
    struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (!st)
        return 0;
    st->closed = 1;
    h2_guard_closed(st->hc, st);
    h2_tunnel_gone(st);
    gale_request *r = st->req;
    if (r) { /* as in h1_release */
        int running = !r->session_op && st->state == HS_HANDLER && !r->finished;
        st->req = NULL;
        if (running)
            st->arena = NULL; /* the orphan's now */
        pipeline_client_gone(r, running);
    }
    h2_stream_maybe_free(st);
    return 0;
}

/* A WINDOW_UPDATE of ours went (h2_guard.c counts them). A RST_STREAM
 * submitted with the answer would overtake its DATA frames: it goes when
 * the last of them went. */
static int h2_on_frame_send(nghttp2_session *s, const nghttp2_frame *frame, void *user)
{
    if (frame->hd.type == NGHTTP2_WINDOW_UPDATE) {
        h2_guard_granted(user, frame);
        return 0;
    }
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
        struct h2_stream *st = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
        if (st)
            st->reset_sent = 1;
        return 0;
    }
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
        (frame->hd.type != NGHTTP2_DATA && frame->hd.type != NGHTTP2_HEADERS))
        return 0;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(s, frame->hd.stream_id);
    if (st && st->reset_after) {
        st->reset_after = 0;
        if (st->remote_ended || nghttp2_session_get_stream_remote_close(s, st->id))
            return 0; /* the request ended meanwhile: the stream is closed */
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
    }
    return 0;
}

static ssize_t h2_on_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
                          void *user)
{
    struct h2_conn *hc = user;
    if (conn_pending(hc->c) > H2_OUT_HIGH)
        return NGHTTP2_ERR_WOULDBLOCK;
    evbuffer_add(conn_out(hc->c), data, len);
    return (ssize_t)len;
}

/* ---- the connection ---- */

static void h2_release(struct conn *c);
static void h2_read(struct conn *c);
static void h2_write(struct conn *c);
static void h2_eof(struct conn *c);
static void h2_timeout(struct conn *c);
static void h2_drain(struct conn *c);

static const struct conn_proto h2_proto = {
    .read = h2_read,
    .write = h2_write,
    .eof = h2_eof,
    .timeout = h2_timeout,
    .drain = h2_drain,
    .release = h2_release,
};

static nghttp2_session_callbacks *h2_callbacks;
static nghttp2_option *h2_options;

static void h2_setup_once(void)
{
    if (h2_callbacks)
        return;
    if (nghttp2_session_callbacks_new(&h2_callbacks) != 0 || nghttp2_option_new(&h2_options))
        util_oom();
    nghttp2_session_callbacks *cb = h2_callbacks;
    nghttp2_session_callbacks_set_send_callback(cb, h2_on_send);
    nghttp2_session_callbacks_set_send_data_callback(cb, h2_data_send);
    nghttp2_session_callbacks_set_on_begin_frame_callback(cb, h2_on_begin_frame);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, h2_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2_on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, h2_on_frame_send);
    /* windows open as the pipeline takes the body, not as bytes arrive */
    nghttp2_option_set_no_auto_window_update(h2_options, 1);
    /* SETTINGS and PING floods: acknowledgements that pile up unsent */
    nghttp2_option_set_max_outbound_ack(h2_options, 1000);
    nghttp2_option_set_max_settings(h2_options, 32);
    /* CONTINUATION floods (CVE-2024-27316) */
    nghttp2_option_set_max_continuations(h2_options, 16);
    /* priorities (RFC 9218): the priority header nghttp2 reads by itself
     * once SETTINGS_NO_RFC7540_PRIORITIES is ours, and PRIORITY_UPDATE
     * frames when asked for. A client that does not send the setting in
     * turn keeps RFC 7540's tree, as browsers send it: without it nghttp2
     * would also drop closed streams and PRIORITY frames unchecked, and
     * frames on closed streams or invalid PRIORITY frames would go
     * unanswered (RFC 9113 5.1, 5.3.1). */
    nghttp2_option_set_builtin_recv_extension_type(h2_options, NGHTTP2_PRIORITY_UPDATE);
    nghttp2_option_set_server_fallback_rfc7540_priorities(h2_options, 1);
}

/* Nothing more to read or write: the connection ends. */
static int h2_check_end(struct h2_conn *hc)
{
    if (nghttp2_session_want_read(hc->s) || nghttp2_session_want_write(hc->s))
        return 0;
    conn_close_after_write(hc->c);
    return 1;
}

/* A head still coming: its stream's own clock runs from its first HEADERS
 * frame, so that CONTINUATIONs dripping in do not keep it alive, and the
 * streams before it go on meanwhile. */
static int h2_head_waits(const struct h2_stream *st)
{
    return st->state == HS_HEAD && !st->closed;
}

static double h2_head_due(struct h2_conn *hc)
{
    double first = 0;
    for (struct h2_stream *st = hc->streams; st; st = st->next)
        if (h2_head_waits(st) && (first == 0 || st->heard < first))
            first = st->heard;
    return first ? first + hc->lim->header_timeout : 0;
}

/* A body the client stopped sending: the stream's own last DATA counts, so
 * that its neighbours' traffic does not keep it alive. */
static int h2_body_waits(const struct h2_stream *st)
{
    return st->state == HS_BODY && !st->body_held && !st->closed && st->req;
}

/* When the first waiting body times out, or 0 when none waits. */
static double h2_body_due(struct h2_conn *hc)
{
    double first = 0;
    for (struct h2_stream *st = hc->streams; st; st = st->next)
        if (h2_body_waits(st) && (first == 0 || st->heard < first))
            first = st->heard;
    return first ? first + hc->lim->body_timeout : 0;
}

/* An answer the client's windows hold back: on the stream's own clock too,
 * so that PINGs or a neighbour's traffic do not keep it waiting forever. */
static int h2_answer_waits(const struct h2_stream *st)
{
    return evbuffer_get_length(st->out) && !st->closed;
}

static double h2_send_due(struct h2_conn *hc)
{
    double first = 0;
    for (struct h2_stream *st = hc->streams; st; st = st->next)
        if (h2_answer_waits(st) && (first == 0 || st->moved < first))
            first = st->moved;
    return first ? first + hc->lim->send_timeout : 0;
}

/* The earlier of two times, 0 being none. */
static double h2_first(double a, double b)
{
    return !a || (b && b < a) ? b : a;
}

/* Arm the timer for what the connection waits for: the first stream's
 * time, else the socket's or the idle connection's. */
static void h2_timer(struct h2_conn *hc)
{
    double due = h2_first(h2_head_due(hc), h2_body_due(hc));
    if (!conn_pending(hc->c))
        due = h2_first(due, h2_send_due(hc));
    if (due) {
        double left = due - util_now();
        struct timeval tv = util_timeval(left > 0.001 ? left : 0.001);
        conn_timer(hc->c, &tv);
        return;
    }
    const struct timeval *tv = NULL;
    if (conn_pending(hc->c))
        tv = hc->loop->tv[LOOP_TV_SEND];
    else if (hc->nstreams == 0)
        tv = hc->loop->tv[hc->loop->draining ? LOOP_TV_DRAIN_IDLE : LOOP_TV_IDLE];
    conn_timer(hc->c, tv);
}

/* Send what nghttp2 has ready. -1: the connection was closed or is
 * closing (outside a callback of its own, hc may be gone). */
static int h2_send(struct h2_conn *hc)
{
    if (hc->c->closing || hc->c->lingering)
        return 0;
    int rc = nghttp2_session_send(hc->s);
    conn_flush(hc->c);
    if (rc != 0) {
        log_debug("%s: HTTP/2: %s", hc->c->client, nghttp2_strerror(rc));
        conn_close(hc->c);
        return -1;
    }
    if (h2_check_end(hc))
        return -1;
    h2_timer(hc);
    return 0;
}

static void h2_read(struct conn *c)
{
    struct h2_conn *hc = c->data;
    struct evbuffer *in = conn_in(c);
    hc->processing = 1;
    ssize_t rc = 0;
    while (evbuffer_get_length(in) && rc >= 0 && !c->closing && !c->lingering) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        h2_guard_scan(hc, v.iov_base, v.iov_len);
        rc = nghttp2_session_mem_recv(hc->s, v.iov_base, v.iov_len);
        if (rc > 0)
            evbuffer_drain(in, (size_t)rc);
    }
    hc->processing = 0;
    if (rc < 0) {
        log_debug("%s: HTTP/2: %s", c->client, nghttp2_strerror((int)rc));
        /* nghttp2 queued a GOAWAY for most errors, not for these: the
         * client hears why all the same (a no-op when one is queued) */
        nghttp2_session_terminate_session(hc->s, h2_fatal_code((int)rc));
        nghttp2_session_send(hc->s);
        conn_flush(c);
        c->linger = 1; /* what it still sends is read and dropped, not reset */
        conn_close_after_write(c);
        return;
    }
    if (h2_send(hc) == 0)
        h2_later(hc);
}

static void h2_write(struct conn *c)
{
    struct h2_conn *hc = c->data;
    if (h2_send(hc) == 0)
        h2_later(hc);
}

static void h2_eof(struct conn *c)
{
    conn_close(c); /* streams in handlers become orphans in h2_release */
}

/* A head that did not come whole in time. The client may send nothing but
 * the rest of its block now (RFC 9113 6.10), so the connection cannot go
 * on: a GOAWAY below the stream and its RST_STREAM REFUSED_STREAM tell the
 * client it was not taken, and the streams before it finish first. */
static void h2_head_expired(struct h2_conn *hc, struct h2_stream *st)
{
    log_info("%s: HTTP/2 stream %d: request head not received in time", hc->c->client, st->id);
    st->state = HS_DONE;
    /* the reset first: nghttp2 closes the streams above a GOAWAY's last
     * one without a word */
    nghttp2_submit_rst_stream(hc->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_REFUSED_STREAM);
    if (!hc->goaway_sent) {
        hc->goaway = hc->goaway_sent = hc->goaway_final = 1; /* no drain's notice after */
        nghttp2_submit_goaway(hc->s, NGHTTP2_FLAG_NONE, st->id > 2 ? st->id - 2 : 0,
                              NGHTTP2_NO_ERROR, NULL, 0);
    }
}

/* Streams whose time is up, each answered on its own: heads refused,
 * bodies 408. The ids first, since answering may change the list. The
 * count of them. */
static size_t h2_streams_expire(struct h2_conn *hc, double now)
{
    int32_t *ids = xcalloc(hc->nstreams + 1, sizeof(*ids));
    size_t n = 0;
    for (struct h2_stream *st = hc->streams; st; st = st->next)
        if ((h2_head_waits(st) && now - st->heard >= hc->lim->header_timeout - 0.001) ||
            (h2_body_waits(st) && now - st->heard >= hc->lim->body_timeout - 0.001))
            ids[n++] = st->id;
    for (size_t i = 0; i < n; i++) {
        struct h2_stream *st = nghttp2_session_get_stream_user_data(hc->s, ids[i]);
        if (st && h2_head_waits(st))
            h2_head_expired(hc, st);
        else if (st && st->req && st->state == HS_BODY)
            h2_fail(st, 408, "request body not received in time");
    }
    free(ids);
    return n;
}

static void h2_timeout(struct conn *c)
{
    struct h2_conn *hc = c->data;
    double now = util_now();
    size_t n = h2_streams_expire(hc, now);
    int stalled = 0;
    for (struct h2_stream *st = hc->streams; st; st = st->next)
        if (h2_answer_waits(st) && now - st->moved >= hc->lim->send_timeout - 0.001)
            stalled = 1;
    if (!stalled && (n || h2_head_due(hc) || h2_body_due(hc) || h2_send_due(hc))) {
        h2_send(hc); /* others wait: their time is not up */
        return;
    }
    if (hc->goaway && !hc->goaway_sent && hc->nstreams == 0) {
        h2_goaway_start(hc); /* draining, and idle for a while: see h2_drain */
        h2_send(hc);
        return;
    }
    /* idle, or a window that never opens */
    log_debug("%s: HTTP/2 connection timed out", c->client);
    nghttp2_session_terminate_session(hc->s, NGHTTP2_NO_ERROR);
    nghttp2_session_send(hc->s);
    conn_flush(c);
    conn_close_after_write(c);
}

/* GOAWAY in two steps (RFC 9113 6.8): one of 2^31-1 tells the client to
 * open no more streams here, and a PING follows it; its ACK means every
 * stream the client sent before has arrived, and the GOAWAY with the last
 * stream taken goes then (h2_on_frame_recv): no request in flight is
 * refused. A client that never answers the PING is closed once idle
 * (h2_timer). */
void h2_goaway_start(struct h2_conn *hc)
{
    if (hc->goaway_sent)
        return;
    hc->goaway_sent = 1;
    if (hc->drain_ev)
        evtimer_del(hc->drain_ev);
    nghttp2_submit_shutdown_notice(hc->s);
    nghttp2_submit_ping(hc->s, NGHTTP2_FLAG_NONE, (const uint8_t *)H2_DRAIN_PING);
    h2_later(hc);
}

static void h2_drain_cb(evutil_socket_t fd, short what, void *arg)
{
    h2_goaway_start(arg);
}

/* The worker stops. A client that gets a GOAWAY must open a new connection
 * for its next requests, which some (load testers, simple libraries) never
 * do: a connection is told once it has had no stream for the drain's idle
 * time (h2_timeout), as an idle HTTP/1 one is closed, since a client
 * between two requests has none for a moment; or when half the grace
 * period has gone. WebSockets are closed with 1001 now. The streams taken
 * finish within the grace period. */
static void h2_drain(struct conn *c)
{
    struct h2_conn *hc = c->data;
    if (hc->goaway)
        return;
    hc->goaway = 1;
    for (struct h2_stream *st = hc->streams; st; st = st->next)
        h2_tunnel_drain(st); /* close frames only: the list stays */
    struct timeval tv = util_timeval(hc->loop->cfg->grace_period / 2);
    if (!hc->drain_ev && !(hc->drain_ev = evtimer_new(hc->loop->base, h2_drain_cb, hc)))
        util_oom();
    evtimer_add(hc->drain_ev, &tv);
    h2_send(hc); /* arms the drain's idle time (h2_timer) */
}

static void h2_release(struct conn *c)
{
    struct h2_conn *hc = c->data;
    hc->goaway_sent = 1; /* nothing more to tell the client */
    /* the session goes first: its stream close callbacks must not run later */
    struct h2_stream *st = hc->streams;
    while (st) {
        struct h2_stream *next = st->next;
        gale_request *r = st->req;
        if (r) {
            int running = !r->session_op && st->state == HS_HANDLER && !r->finished;
            st->req = NULL;
            if (running)
                st->arena = NULL;
            pipeline_client_gone(r, running);
        }
        st->closed = 1;
        h2_tunnel_gone(st);
        h2_stream_maybe_free(st);
        st = next;
    }
    nghttp2_session_del(hc->s);
    if (hc->after_ev)
        event_free(hc->after_ev);
    if (hc->drain_ev)
        event_free(hc->drain_ev);
    free(hc);
    c->data = NULL;
}

void h2_conn_start(struct conn *c)
{
    h2_setup_once();
    struct h2_conn *hc = xcalloc(1, sizeof(*hc));
    hc->c = c;
    hc->loop = c->loop;
    hc->lim = &c->loop->cfg->limits;
    hc->set = h2_settings(c->lc);
    hc->resets.tokens = hc->set->max_resets;
    hc->empty.tokens = H2_EMPTY_BURST;
    hc->resets.time = hc->empty.time = util_now();
    hc->scan_skip = NGHTTP2_CLIENT_MAGIC_LEN; /* the preface is nghttp2's to check */
    if (nghttp2_session_server_new2(&hc->s, h2_callbacks, hc, h2_options) != 0)
        util_oom();
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, hc->set->max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, hc->set->initial_window},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)hc->lim->max_header_size},
        {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1}, /* WebSockets (RFC 8441) */
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},   /* urgencies (RFC 9218) */
    };
    nghttp2_submit_settings(hc->s, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
    c->proto = &h2_proto;
    c->data = hc;
    conn_read(c, 1); /* conn.c sets the send timeout on the buffers it makes */
    conn_timer(c, c->loop->tv[LOOP_TV_HEADER]);
    h2_send(hc);
}
