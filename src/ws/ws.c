/*
 * ws.c - WebSocket connections: the opening handshake (RFC 6455 4.2), then
 * frames both ways on the connection that HTTP handed over.
 *
 * Life cycle: OPEN until either side sends a close frame; CLOSING while we
 * wait for the peer's answer to ours (close_timeout bounds it); then the
 * connection closes, the server first as RFC 6455 7.1.1 prefers. Whatever
 * ends it (a close frame, an error, the peer's EOF, a drain, the worker's
 * exit), the connection's release calls the module's close callback exactly
 * once and frees the gale_ws: that is the one place it is freed.
 *
 * Nothing here closes the connection synchronously from inside an API
 * call (gale_ws_send, gale_ws_close): a module may broadcast over its list
 * of sockets without one of them vanishing under it.
 *
 * Over HTTP/2 (RFC 8441) a socket runs on one stream instead of a whole
 * connection: the same frames, carried in the stream's DATA through the
 * protocol's struct http_tunnel, with a timer of the socket's own; the
 * stream's end plays the connection's close, and ws_stream_gone the
 * release.
 */
#include "ws/ws.h"

#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/module.h"
#include "core/util.h"
#include "http/pipeline.h"
#include "http/request.h"
#include "net/conn.h"
#include "ws/ws_deflate.h"
#include "ws/ws_frame.h"
#include "ws/ws_message.h"
#include "ws/ws_settings.h"

#define WS_COMPRESS_MIN 64 /* smaller messages are not worth deflating */
#define WS_PING_PAYLOAD "gale"
#define WS_MAX_PROTOCOLS 16 /* subprotocols offered that the module sees */
/* Stop reading while this much waits to be sent, or half the queue limit
 * if that is less: a client that sends faster than it reads is paused
 * well before it could be closed as too slow (max_queue_size). */
#define WS_OUT_PAUSE (512 * 1024)

enum ws_state { WS_OPEN, WS_CLOSING, WS_CLOSED };

struct gale_ws {
    struct conn *c; /* NULL once the connection is gone, and over HTTP/2 */
    /* over HTTP/2: the stream (NULL once gone) and its operations */
    const struct http_tunnel *tunnel;
    void *stream;
    struct event *timer; /* keepalive and close timeouts, as conn_timer's */
    struct evbuffer *in; /* DATA not yet parsed */
    struct loop *loop;
    const struct ws_settings *cfg;
    const gale_websocket *cb;
    gale_ctx *ctx;
    void *data;
    /* the upgrade request's, kept for the socket's life (owned) */
    char *path;
    char **caps; /* NULL entries: groups that took no part in the match */
    size_t ncaps;
    char *user; /* NULL: none */
    struct ws_frame_parser parser;
    struct ws_utf8 utf8;
    struct evbuffer *msg;       /* the data message being received */
    struct ws_deflate *deflate; /* NULL without permessage-deflate */
    unsigned char *ctl;         /* the control frame being received (and a NUL): WS_CTL_SIZE bytes,
                                 * made for each one, as an idle socket needs none */
    size_t ctl_len;
    int msg_binary;
    int close_code;     /* what close reports */
    char *close_reason; /* NULL: none (""); set at the close only */
    enum ws_state state;
    unsigned msg_compressed : 1;
    unsigned ping_out : 1; /* a keepalive ping waits for its pong */
    unsigned reading : 1;  /* inside ws_read: flush once at its end */
    /* closed by a drain (1001): the messages the peer sent before it saw
     * our close are still delivered, as the peer cannot know that they
     * came late (a chat line typed during a reload is not lost) */
    unsigned drained : 1;
    /* our keepalive ping was answered: ws_read gives back the buffers */
    unsigned give_back : 1;
};

/* The keepalive and close timeouts of the config, as libevent common
 * timeouts (O(1) to add), made by ws_init. */
enum ws_tv { WS_TV_PING, WS_TV_PONG, WS_TV_CLOSE, WS_TV_COUNT };
static const struct timeval *ws_tv[WS_TV_COUNT];

#define WS_CTL_SIZE 126   /* a control frame's payload (at most 125) and a NUL */
#define WS_REASON_MAX 123 /* a close reason's bytes (125 less the code) */

int ws_init(struct loop *loop)
{
    const struct ws_settings *cfg = ws_settings(loop->cfg);
    ws_tv[WS_TV_PING] = loop_timeout(loop, cfg->ping_interval);
    ws_tv[WS_TV_PONG] = loop_timeout(loop, cfg->ping_timeout);
    ws_tv[WS_TV_CLOSE] = loop_timeout(loop, cfg->close_timeout);
    return ws_tv[WS_TV_PING] && ws_tv[WS_TV_PONG] && ws_tv[WS_TV_CLOSE] ? 0 : -1;
}

/* ---- the connection or stream under the socket ---- */

static int ws_linked(const gale_ws *ws)
{
    return ws->c || ws->stream;
}

static struct evbuffer *ws_out(gale_ws *ws)
{
    return ws->c ? conn_out(ws->c) : ws->tunnel->out(ws->stream);
}

static void ws_timer(gale_ws *ws, const struct timeval *tv)
{
    if (ws->c)
        conn_timer(ws->c, tv);
    else if (tv)
        evtimer_add(ws->timer, tv);
    else
        evtimer_del(ws->timer);
}

/* End our side once what was queued is sent. */
static void ws_end(gale_ws *ws)
{
    if (ws->c)
        conn_close_after_write(ws->c);
    else if (ws->stream)
        ws->tunnel->end(ws->stream);
}

/* Drop the connection or stream now (a connection's release runs at once
 * and frees ws; a stream's comes later, from the protocol). */
static void ws_abort(gale_ws *ws)
{
    if (ws->c)
        conn_close(ws->c);
    else if (ws->stream)
        ws->tunnel->reset(ws->stream);
}

/* The next keepalive ping, unless the config has none. */
static void ws_arm_ping(gale_ws *ws)
{
    ws_timer(ws, ws->cfg->ping_interval > 0 ? ws_tv[WS_TV_PING] : NULL);
}

/* ---- sending ---- */

static void ws_flush(gale_ws *ws)
{
    if (ws->reading)
        return;
    if (ws->c)
        conn_flush(ws->c);
    else if (ws->stream)
        ws->tunnel->flush(ws->stream);
}

static void ws_put_frame(gale_ws *ws, int opcode, int rsv1, const void *data, size_t len,
                         struct evbuffer *payload)
{
    unsigned char hdr[10];
    struct evbuffer *out = ws_out(ws);
    size_t n = ws_frame_header(hdr, 1, opcode, payload ? evbuffer_get_length(payload) : len, rsv1);
    evbuffer_add(out, hdr, n);
    if (payload)
        evbuffer_add_buffer(out, payload);
    else if (len)
        evbuffer_add(out, data, len);
}

static void ws_send_close(gale_ws *ws, int code, const char *reason)
{
    unsigned char payload[125];
    size_t len = 0;
    if (ws_frame_close_payload(payload, &len, code, reason, reason ? strlen(reason) : 0) < 0)
        ws_frame_close_payload(payload, &len, WS_FRAME_CLOSE_NORMAL, NULL, 0);
    ws_put_frame(ws, WS_FRAME_CLOSE, 0, payload, len, NULL);
}

static void ws_set_close(gale_ws *ws, int code, const char *reason, size_t len)
{
    ws->close_code = code;
    if (!reason)
        len = 0;
    if (len > WS_REASON_MAX)
        len = WS_REASON_MAX;
    ws->close_reason = xrealloc(ws->close_reason, len + 1);
    memcpy(ws->close_reason, reason ? reason : "", len);
    ws->close_reason[len] = '\0';
}

static void ws_close_now(gale_ws *ws, int code, const char *reason, int send_frame, int tell);

/* The client does not read what we send: close it (1008) rather than let
 * its queue grow, or slow the other sockets of a broadcast. 1 when it was
 * closed: the frame of `add` bytes is not sent. A frame alone above the
 * limit still goes to a socket that has nothing waiting. */
static int ws_too_slow(gale_ws *ws, size_t add)
{
    size_t pending = gale_ws_buffered(ws);
    if (pending == 0 || pending + add <= ws->cfg->max_queue_size)
        return 0;
    if (ws->c && ws->c->error)
        return 1; /* failed already: its event closes it, not this call */
    log_warn("%s: WebSocket closed: 1008 too slow: %zu bytes wait to be sent "
             "(websocket.max_queue_size is %zu)",
             gale_ws_client(ws), pending, ws->cfg->max_queue_size);
    /* no error callback here: it would run inside the module's broadcast
     * loop; the close callback (1008) tells the module, from the loop */
    ws_close_now(ws, WS_FRAME_CLOSE_POLICY, "too slow: messages were dropped", 1, 0);
    return 1;
}

/* A data frame: written at once when nothing waits before it (no copy, no
 * poll registration); else, or for what the kernel did not take, queued:
 * the payload by reference to m where that is worth it, copied when m is
 * NULL (f's bytes are the caller's, valid during the call only). */
static int ws_put(gale_ws *ws, gale_ws_message *m, const struct ws_message_frame *f)
{
    if (ws_too_slow(ws, f->hlen + f->len))
        return -1;
    size_t done = 0;
    if (!ws->reading && ws->c) { /* a stream (HTTP/2) has its own framing to go through */
        struct iovec iov[2] = {{(void *)f->hdr, f->hlen}, {(void *)f->data, f->len}};
        done = conn_write_now(ws->c, iov, f->len ? 2 : 1);
        if (done == f->hlen + f->len)
            return 0;
    }
    ws_message_add_to(m, f, done, ws_out(ws));
    ws_flush(ws);
    return 0;
}

int gale_ws_send_message(gale_ws *ws, gale_ws_message *m)
{
    if (!ws || !m || !ws_linked(ws) || ws->state != WS_OPEN)
        return -1;
    struct ws_message_frame f;
    const struct ws_deflate_params *dp = ws->deflate ? ws_deflate_params(ws->deflate) : NULL;
    if (dp && ws_message_deflated(m, dp, ws->cfg->compression_level, WS_COMPRESS_MIN, &f) == 0)
        return ws_put(ws, m, &f);
    ws_message_plain(m, &f);
    if (dp && !dp->server_no_context_takeover && f.len >= WS_COMPRESS_MIN)
        return gale_ws_send(ws, f.data, f.len, f.binary);
    return ws_put(ws, m, &f);
}

int gale_ws_send(gale_ws *ws, const void *data, size_t len, int binary)
{
    if (!ws || !ws_linked(ws) || ws->state != WS_OPEN)
        return -1;
    int opcode = binary ? WS_FRAME_BINARY : WS_FRAME_TEXT;
    if (ws->deflate && len >= WS_COMPRESS_MIN) {
        if (ws_too_slow(ws, len))
            return -1;
        struct evbuffer *z = evbuffer_new();
        if (!z)
            util_oom();
        if (ws_deflate_compress(ws->deflate, data, len, z) == 0) {
            ws_put_frame(ws, opcode, 1, NULL, 0, z);
            evbuffer_free(z);
            ws_flush(ws);
            return 0;
        }
        evbuffer_free(z); /* a 256-byte window was asked for (or no memory): send it plain */
    }
    unsigned char hdr[10];
    struct ws_message_frame f = {.hdr = hdr, .data = data, .len = len, .binary = binary};
    f.hlen = ws_frame_header(hdr, 1, opcode, len, 0);
    return ws_put(ws, NULL, &f);
}

int gale_ws_ping(gale_ws *ws, const void *data, size_t len)
{
    if (!ws || !ws_linked(ws) || ws->state != WS_OPEN || len > 125)
        return -1;
    ws_put_frame(ws, WS_FRAME_PING, 0, data, len, NULL);
    ws_flush(ws);
    return 0;
}

/* Send our close frame and wait (close_timeout) for the peer's. */
static void ws_start_close(gale_ws *ws, int code, const char *reason)
{
    ws->state = WS_CLOSING;
    ws_set_close(ws, code ? code : 1005, reason, reason ? strlen(reason) : 0);
    ws_send_close(ws, code, reason);
    ws_timer(ws, ws_tv[WS_TV_CLOSE]);
    ws_flush(ws);
}

int gale_ws_close(gale_ws *ws, int code, const char *reason)
{
    if (!ws || !ws_linked(ws) || ws->state != WS_OPEN)
        return -1;
    if (code != 0 && !ws_frame_close_code_ok(code))
        return -1;
    ws_start_close(ws, code, reason);
    return 0;
}

void gale_ws_set_data(gale_ws *ws, void *data)
{
    ws->data = data;
}

void *gale_ws_data(const gale_ws *ws)
{
    return ws->data;
}

gale_ctx *gale_ws_ctx(const gale_ws *ws)
{
    return ws->ctx;
}

const char *gale_ws_client(const gale_ws *ws)
{
    if (ws->c)
        return ws->c->client;
    return ws->stream ? ws->tunnel->client(ws->stream) : "-";
}

size_t gale_ws_buffered(const gale_ws *ws)
{
    if (ws->c)
        return conn_pending(ws->c);
    return ws->stream ? ws->tunnel->pending(ws->stream) : 0;
}

const char *gale_ws_path(const gale_ws *ws)
{
    return ws->path;
}

size_t gale_ws_capture_count(const gale_ws *ws)
{
    return ws->ncaps;
}

const char *gale_ws_capture(const gale_ws *ws, size_t i)
{
    return i >= 1 && i <= ws->ncaps ? ws->caps[i - 1] : NULL;
}

const char *gale_ws_user(const gale_ws *ws)
{
    return ws->user;
}

/* What the module may read of the upgrade request after open: the request
 * is freed once open returns, the socket lives on. */
static void ws_keep_request(gale_ws *ws, gale_request *r)
{
    const char *user = gale_request_user(r);
    ws->path = xstrdup(gale_request_path(r));
    ws->user = user ? xstrdup(user) : NULL;
    ws->ncaps = gale_request_capture_count(r);
    ws->caps = ws->ncaps ? xcalloc(ws->ncaps, sizeof(*ws->caps)) : NULL;
    for (size_t i = 0; i < ws->ncaps; i++) {
        const char *cap = gale_request_capture(r, i + 1);
        ws->caps[i] = cap ? xstrdup(cap) : NULL;
    }
}

static void ws_free(gale_ws *ws)
{
    if (ws->msg)
        evbuffer_free(ws->msg);
    if (ws->in)
        evbuffer_free(ws->in);
    if (ws->timer)
        event_free(ws->timer);
    ws_deflate_free(ws->deflate);
    for (size_t i = 0; i < ws->ncaps; i++)
        free(ws->caps[i]);
    free(ws->caps);
    free(ws->path);
    free(ws->user);
    free(ws->ctl);
    free(ws->close_reason);
    free(ws);
}

/* ---- failing ---- */

/* The peer broke the protocol (or died, or does not read): tell the module
 * (its error callback, when tell), send our close frame when the connection
 * can still carry one, and close without waiting for an answer (RFC 6455
 * 7.1.7). */
static void ws_close_now(gale_ws *ws, int code, const char *reason, int send_frame, int tell)
{
    if (ws->state == WS_CLOSED || !ws_linked(ws))
        return;
    int was_open = ws->state == WS_OPEN;
    ws->state = WS_CLOSED;
    ws_set_close(ws, code, reason, strlen(reason));
    if (was_open && tell && ws->cb->error)
        ws->cb->error(ws, code, reason);
    if (send_frame && was_open)
        ws_send_close(ws, code, reason);
    ws_timer(ws, NULL);
    ws_end(ws);
}

/* As ws_close_now, logged. */
static void ws_fail(gale_ws *ws, int code, const char *reason, int send_frame)
{
    if (ws->state == WS_CLOSED || !ws_linked(ws))
        return;
    /* peers that just vanish are routine (phones, laptops closing): debug */
    if (code == 1006)
        log_debug("%s: WebSocket closed: %d %s", gale_ws_client(ws), code, reason);
    else
        log_info("%s: WebSocket closed: %d %s", gale_ws_client(ws), code, reason);
    ws_close_now(ws, code, reason, send_frame, 1);
}

/* ---- receiving ---- */

/* Whether data messages still reach the module. */
static int ws_takes_data(const gale_ws *ws)
{
    return ws->state == WS_OPEN || (ws->state == WS_CLOSING && ws->drained);
}

/* Feed the text message's bytes from offset `from` of ws->msg on to the
 * UTF-8 validator (what the last inflate call appended). */
static int ws_utf8_from(gale_ws *ws, size_t from)
{
    struct evbuffer *m = ws->msg;
    size_t len = evbuffer_get_length(m);
    while (from < len) {
        struct evbuffer_ptr at;
        struct evbuffer_iovec v[8];
        if (evbuffer_ptr_set(m, &at, from, EVBUFFER_PTR_SET) < 0)
            return -1;
        int n = evbuffer_peek(m, (ev_ssize_t)(len - from), &at, v, 8);
        if (n < 1)
            return -1;
        for (int i = 0; i < n && i < 8; i++) {
            if (ws_frame_utf8_feed(&ws->utf8, v[i].iov_base, v[i].iov_len) < 0)
                return -1;
            from += v[i].iov_len;
        }
    }
    return 0;
}

/* A compressed message is inflated frame by frame as it arrives, so that a
 * bomb (1009) or text that is not UTF-8 (1007) is stopped at the frame that
 * carries it, and only the inflated message is held. -1: it failed. */
static int ws_inflate(gale_ws *ws, const unsigned char *data, size_t len, int fin)
{
    size_t before = evbuffer_get_length(ws->msg), total = before;
    int rc =
        ws_deflate_inflate(ws->deflate, data, len, fin, ws->msg, ws->cfg->max_message_size, &total);
    if (rc < 0) {
        ws_fail(ws, rc == -2 ? WS_FRAME_CLOSE_TOO_BIG : WS_FRAME_CLOSE_PROTOCOL,
                rc == -2 ? "message too big" : "bad compressed data", 1);
        return -1;
    }
    if (!ws->msg_binary && ws_utf8_from(ws, before) < 0) {
        ws_fail(ws, WS_FRAME_CLOSE_INVALID_DATA, "text is not UTF-8", 1);
        return -1;
    }
    return 0;
}

static void ws_deliver(gale_ws *ws)
{
    struct evbuffer *m = ws->msg;
    if (ws->msg_compressed && ws_inflate(ws, NULL, 0, 1) < 0)
        return;
    if (!ws->msg_binary && ws_frame_utf8_finish(&ws->utf8) < 0) {
        ws_fail(ws, WS_FRAME_CLOSE_INVALID_DATA, "text is not UTF-8", 1);
        return;
    }
    size_t len = evbuffer_get_length(m);
    evbuffer_add(m, "", 1);
    const char *data = (const char *)evbuffer_pullup(m, -1);
    if (ws->cb->message && ws_takes_data(ws))
        ws->cb->message(ws, data, len, ws->msg_binary);
    evbuffer_drain(m, len + 1);
}

static void ws_on_close_frame(gale_ws *ws)
{
    int code;
    const char *reason;
    size_t rlen;
    if (ws_frame_close_parse(ws->ctl, ws->ctl_len, &code, &reason, &rlen) < 0) {
        ws_fail(ws, code,
                code == WS_FRAME_CLOSE_INVALID_DATA ? "close reason is not UTF-8"
                                                    : "bad close frame",
                1);
        return;
    }
    int answered = ws->state == WS_CLOSING;
    ws_set_close(ws, code, reason, rlen);
    ws->state = WS_CLOSED;
    if (!answered) /* echo the code (RFC 6455 5.5.1); 1000 to a close without one */
        ws_send_close(ws, code == 1005 ? WS_FRAME_CLOSE_NORMAL : code, NULL);
    ws_timer(ws, NULL);
    ws_end(ws);
}

static void ws_on_control(gale_ws *ws, int opcode)
{
    if (opcode == WS_FRAME_CLOSE) {
        ws_on_close_frame(ws);
    } else if (opcode == WS_FRAME_PING) {
        if (ws->state == WS_OPEN)
            ws_put_frame(ws, WS_FRAME_PONG, 0, ws->ctl, ws->ctl_len, NULL);
    } else if (opcode == WS_FRAME_PONG) {
        if (ws->ping_out && ws->state == WS_OPEN) {
            ws->ping_out = 0;
            ws->give_back = 1;
            ws_arm_ping(ws);
        }
        if (ws->cb->pong && ws->state == WS_OPEN) {
            ws->ctl[ws->ctl_len] = '\0';
            ws->cb->pong(ws, (const char *)ws->ctl, ws->ctl_len);
        }
    }
}

static void ws_on_header(gale_ws *ws, const struct ws_frame_event *ev)
{
    if (ev->msg_opcode >= WS_FRAME_CLOSE) {
        if (!ws->ctl)
            ws->ctl = xmalloc(WS_CTL_SIZE);
        ws->ctl_len = 0;
        return;
    }
    if (ev->opcode != WS_FRAME_CONT) { /* a new message */
        ws->msg_binary = ev->opcode == WS_FRAME_BINARY;
        ws->msg_compressed = ev->rsv1;
        ws_frame_utf8_init(&ws->utf8);
        if (!ws->msg && !(ws->msg = evbuffer_new()))
            util_oom();
    }
    /* a compressed message's size is checked as it inflates */
    if (!ws->msg_compressed &&
        evbuffer_get_length(ws->msg) + ev->length > ws->cfg->max_message_size)
        ws_fail(ws, WS_FRAME_CLOSE_TOO_BIG, "message too big", 1);
}

static void ws_on_data(gale_ws *ws, const struct ws_frame_event *ev)
{
    if (ev->msg_opcode >= WS_FRAME_CLOSE) {
        memcpy(ws->ctl + ws->ctl_len, ev->data, ev->data_len); /* the parser caps it at 125 */
        ws->ctl_len += ev->data_len;
        return;
    }
    if (!ws_takes_data(ws))
        return; /* data after our close frame is dropped (but see drained) */
    if (ws->msg_compressed) {
        ws_inflate(ws, ev->data, ev->data_len, 0);
        return;
    }
    if (!ws->msg_binary && ws_frame_utf8_feed(&ws->utf8, ev->data, ev->data_len) < 0) {
        ws_fail(ws, WS_FRAME_CLOSE_INVALID_DATA, "text is not UTF-8", 1);
        return;
    }
    evbuffer_add(ws->msg, ev->data, ev->data_len);
}

static void ws_on_event(gale_ws *ws, enum ws_frame_result rc, const struct ws_frame_event *ev)
{
    switch (rc) {
    case WS_FRAME_HEADER:
        ws_on_header(ws, ev);
        break;
    case WS_FRAME_DATA:
        ws_on_data(ws, ev);
        break;
    case WS_FRAME_END:
        if (ev->msg_opcode >= WS_FRAME_CLOSE) {
            ws_on_control(ws, ev->msg_opcode);
            free(ws->ctl); /* control frames are rare: an idle socket holds none */
            ws->ctl = NULL;
        } else if (ev->fin && ws_takes_data(ws))
            ws_deliver(ws);
        break;
    case WS_FRAME_ERROR:
        ws_fail(ws, ev->close_code, ev->reason, 1);
        break;
    default:
        break;
    }
}

/* Parse one contiguous slice of input; returns the bytes consumed. */
static size_t ws_parse(gale_ws *ws, unsigned char *buf, size_t len)
{
    size_t off = 0;
    while (ws->state != WS_CLOSED) {
        struct ws_frame_event ev;
        size_t used = 0;
        enum ws_frame_result rc = ws_frame_parse(&ws->parser, buf + off, len - off, &used, &ev);
        off += used;
        if (rc == WS_FRAME_MORE)
            break;
        ws_on_event(ws, rc, &ev);
    }
    return off;
}

static void ws_read(struct conn *c)
{
    gale_ws *ws = c->data;
    struct evbuffer *in = conn_in(c);
    ws->reading = 1;
    while (ws->state != WS_CLOSED && evbuffer_get_length(in) > 0) {
        size_t pause = ws->cfg->max_queue_size / 2;
        if (conn_pending(c) > (pause < WS_OUT_PAUSE ? pause : WS_OUT_PAUSE)) {
            /* a client that sends faster than it reads our answers waits
             * (ws_write resumes), instead of growing our output without end */
            conn_read(c, 0);
            break;
        }
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            break;
        evbuffer_drain(in, ws_parse(ws, v.iov_base, v.iov_len));
    }
    if (ws->state == WS_CLOSED)
        evbuffer_drain(in, evbuffer_get_length(in));
    ws->reading = 0;
    if (ws->c) {
        conn_flush(c);
        conn_read_check(c);
        /* An idle socket holds no buffers, but a busy one should not make
         * and free them for every message: they go back once a keepalive
         * round trip is over (at most once a ping interval), or after
         * every read when there are no keepalive pings. */
        if (ws->give_back || ws->cfg->ping_interval <= 0) {
            ws->give_back = 0;
            conn_idle(c);
        }
    }
}

/* Everything queued was sent: read again if we had paused. */
static void ws_write(struct conn *c)
{
    gale_ws *ws = c->data;
    if (c->want_read || ws->state == WS_CLOSED)
        return;
    conn_read(c, 1);
    if (conn_in_len(c) > 0)
        ws_read(c);
}

static void ws_eof(struct conn *c)
{
    gale_ws *ws = c->data;
    if (ws->state == WS_OPEN)
        ws_fail(ws, 1006, "the peer went away without a close frame", 0);
    conn_close(c);
}

/* The timer: a keepalive ping is due, its pong is late, or the peer did not
 * answer our close frame in time. */
static void ws_on_timer(gale_ws *ws)
{
    if (ws->state != WS_OPEN) {
        ws_abort(ws);
    } else if (ws->ping_out) {
        ws_fail(ws, 1006, "no pong: the peer is gone", 0);
        ws_abort(ws);
    } else {
        ws->ping_out = 1;
        ws_put_frame(ws, WS_FRAME_PING, 0, WS_PING_PAYLOAD, sizeof(WS_PING_PAYLOAD) - 1, NULL);
        ws_flush(ws);
        if (ws->c)
            conn_idle(ws->c); /* the ping left: a quiet socket holds no buffers meanwhile */
        ws_timer(ws, ws_tv[WS_TV_PONG]);
    }
}

static void ws_timeout(struct conn *c)
{
    ws_on_timer(c->data);
}

/* The worker stops: 1001 going away, so that the client reconnects to a
 * new worker; the peer's answer is awaited at most close_timeout. */
static void ws_going_away(gale_ws *ws)
{
    if (ws->state == WS_OPEN) {
        ws->drained = 1;
        ws_start_close(ws, 1001, "server going away");
    }
}

static void ws_drain(struct conn *c)
{
    ws_going_away(c->data);
}

static void ws_release(struct conn *c)
{
    gale_ws *ws = c->data;
    ws->c = NULL;
    METRICS_ADD(ws->loop->metrics, websockets, -1);
    if (ws->state == WS_OPEN) /* closed under it: the worker exits, a send failed */
        ws_set_close(ws, 1006, "connection lost", 15);
    ws->state = WS_CLOSED;
    if (ws->cb->close)
        ws->cb->close(ws, ws->close_code, ws->close_reason ? ws->close_reason : "");
    ws_free(ws);
    c->data = NULL;
}

static const struct conn_proto ws_proto = {
    .read = ws_read,
    .write = ws_write,
    .eof = ws_eof,
    .timeout = ws_timeout,
    .drain = ws_drain,
    .release = ws_release,
};

void ws_attach(struct conn *c, gale_ws *ws)
{
    c->proto = &ws_proto;
    c->data = ws;
    ws->c = c;
    METRICS_ADD(ws->loop->metrics, websockets, 1); /* ws_release takes it off */
    if (ws->state == WS_OPEN)
        ws_arm_ping(ws);
    else
        conn_timer(c, ws_tv[WS_TV_CLOSE]);
    conn_read(c, 1);
    if (conn_in_len(c) > 0) {
        ws_read(c);
    } else {
        conn_flush(c);
        conn_idle(c); /* the 101 answer's staging buffer, when it left */
    }
}

/* ---- over an HTTP/2 stream ---- */

static void ws_stream_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    ws_on_timer(arg);
}

void ws_stream_read(gale_ws *ws, const void *data, size_t len)
{
    if (ws->state == WS_CLOSED)
        return;
    if (!ws->in && !(ws->in = evbuffer_new()))
        util_oom();
    evbuffer_add(ws->in, data, len); /* the parser unmasks in place */
    ws->reading = 1;
    while (ws->state != WS_CLOSED && evbuffer_get_length(ws->in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(ws->in, -1, NULL, &v, 1) < 1)
            break;
        evbuffer_drain(ws->in, ws_parse(ws, v.iov_base, v.iov_len));
    }
    if (ws->state == WS_CLOSED)
        evbuffer_drain(ws->in, evbuffer_get_length(ws->in));
    ws->reading = 0;
    ws_flush(ws);
}

void ws_stream_end(gale_ws *ws)
{
    if (ws->state == WS_OPEN) {
        ws_fail(ws, 1006, "the peer ended the stream without a close frame", 0);
        return;
    }
    ws->state = WS_CLOSED;
    ws_timer(ws, NULL);
    ws_end(ws);
}

void ws_stream_gone(gale_ws *ws)
{
    ws->stream = NULL;
    if (ws->state == WS_OPEN)
        ws_set_close(ws, 1006, "connection lost", 15);
    ws->state = WS_CLOSED;
    if (ws->cb->close)
        ws->cb->close(ws, ws->close_code, ws->close_reason ? ws->close_reason : "");
    ws_free(ws);
}

void ws_stream_drain(gale_ws *ws)
{
    ws_going_away(ws);
}

/* ---- the opening handshake ---- */

/* Every `name` field joined as one comma-separated list (RFC 9110 5.3),
 * or NULL when there is none. */
static const char *ws_header_list(gale_request *r, const char *name)
{
    const char *hn, *hv, *all = NULL;
    for (size_t i = 0; gale_request_header_at(r, i, &hn, &hv) == 0; i++)
        if (!strcasecmp(hn, name))
            all = all ? gale_request_printf(r, "%s, %s", all, hv) : hv;
    return all;
}

/* The next element of the list at *p without the blanks around it (empty
 * elements are skipped): *elem and its length, 0 at the end. */
static size_t ws_list_next(const char **p, const char **elem)
{
    const char *s = *p + strspn(*p, " \t,");
    size_t n = strcspn(s, ","), len = n;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    *elem = s;
    *p = s + n;
    return len;
}

/* Do the `name` fields list `token` (case-insensitive)? */
static int ws_header_token(gale_request *r, const char *name, const char *token)
{
    const char *p = ws_header_list(r, name), *e;
    size_t len;
    while (p && (len = ws_list_next(&p, &e)) > 0)
        if (len == strlen(token) && !strncasecmp(e, token, len))
            return 1;
    return 0;
}

/* How many `name` fields the request has. */
static size_t ws_header_count(gale_request *r, const char *name)
{
    size_t n = 0;
    const char *hn, *hv;
    for (size_t i = 0; gale_request_header_at(r, i, &hn, &hv) == 0; i++)
        n += !strcasecmp(hn, name);
    return n;
}

/* The module's pick among the subprotocols the client offered, or NULL. */
static const char *ws_subprotocol(gale_request *r, const gale_websocket *cb)
{
    const char *offered[WS_MAX_PROTOCOLS], *p, *e;
    size_t n = 0, len;
    if (!cb->subprotocol || !(p = ws_header_list(r, "Sec-WebSocket-Protocol")))
        return NULL;
    while (n < WS_MAX_PROTOCOLS && (len = ws_list_next(&p, &e)) > 0)
        offered[n++] = arena_strndup(r->arena, e, len);
    if (n == 0)
        return NULL;
    const char *pick = cb->subprotocol(r, offered, n);
    for (size_t i = 0; pick && i < n; i++)
        if (!strcmp(pick, offered[i]))
            return offered[i];
    return NULL; /* not one of the offers: answering it would fail the client */
}

/* The length of host[0..len) without the scheme's default port
 * ("a.example:443" is "a.example" for https). */
static size_t ws_host_len(const char *host, size_t len, int https)
{
    const char *port = https ? ":443" : ":80";
    size_t plen = strlen(port);
    if (len > plen && host[0] != '[' && !strncmp(host + len - plen, port, plen))
        return len - plen;
    if (len > plen && host[0] == '[' && host[len - plen - 1] == ']' &&
        !strncmp(host + len - plen, port, plen))
        return len - plen;
    return len;
}

/* The Origin check: the config's list, or else the same host as Host (as
 * Tornado's check_origin; a default port written or not is the same).
 * Clients that send no Origin are not browsers. */
static int ws_origin_ok(gale_request *r, const struct ws_settings *cfg)
{
    const char *origin = gale_request_header(r, "Origin");
    if (!origin)
        return 1;
    for (size_t i = 0; i < cfg->origins.n; i++)
        if (!strcmp(cfg->origins.v[i], "*") || !strcasecmp(cfg->origins.v[i], origin))
            return 1;
    if (cfg->origins.n)
        return 0;
    const char *host = strstr(origin, "://");
    if (!host)
        return 0;
    int https = host - origin == 5 && !strncasecmp(origin, "https", 5);
    host += 3;
    size_t len = ws_host_len(host, strcspn(host, "/"), https);
    size_t hlen = ws_host_len(r->host, strlen(r->host), https);
    return len == hlen && len > 0 && !strncasecmp(host, r->host, len);
}

/* The handler's check_origin decides when it has one (1: allowed). */
static int ws_origin_allowed(gale_request *r, const struct ws_settings *cfg)
{
    const gale_websocket *cb = r->route->handler->websocket;
    if (cb->check_origin)
        return cb->check_origin(r, gale_request_header(r, "Origin")) == 1;
    return ws_origin_ok(r, cfg);
}

static int ws_refuse(gale_request *r, int status, const char *reason)
{
    if (status == 426) {
        response_header_add(r, "Upgrade", "websocket");
        response_header_add(r, "Connection", "Upgrade");
        response_header_add(r, "Sec-WebSocket-Version", "13");
        r->nrh_keep = r->nrh;
    }
    gale_response_error(r, status, reason);
    return GALE_OK;
}

static gale_ws *ws_new(gale_request *r, const struct ws_deflate_params *dp)
{
    const struct config *cfg = r->loop->cfg;
    gale_ws *ws = xcalloc(1, sizeof(*ws));
    ws->loop = r->loop;
    ws->cfg = ws_settings(cfg);
    ws->cb = r->route->handler->websocket;
    ws->ctx = &r->route->module->ctx;
    if (r->tunnel) {
        ws->tunnel = r->tunnel;
        ws->stream = r->stream;
        if (!(ws->timer = evtimer_new(r->loop->base, ws_stream_timer_cb, ws)))
            util_oom();
    } else {
        ws->c = pipeline_conn(r);
    }
    ws->close_code = 1005;
    if (dp)
        ws->deflate = ws_deflate_new(dp, ws_settings(cfg)->compression_level);
    /* a frame above the message limit cannot be part of a valid message */
    ws_frame_parser_init(&ws->parser, ws_settings(cfg)->max_message_size, dp != NULL);
    return ws;
}

/* The HTTP/1.1 upgrade's own fields (RFC 6455 4.2.1), which a stream opened
 * by an HTTP/2 extended CONNECT has none of (RFC 8441 5): NULL when they
 * are right, else why not and the status to say it with. */
static const char *ws_upgrade_fields(gale_request *r, int *status)
{
    *status = 400;
    if (!ws_header_token(r, "Upgrade", "websocket")) {
        *status = 426;
        return "this resource speaks WebSocket only";
    }
    if (r->minor < 1)
        return "WebSocket needs HTTP/1.1";
    if (!ws_header_token(r, "Connection", "Upgrade"))
        return "Connection: Upgrade expected";
    return NULL;
}

int ws_accept(gale_request *r)
{
    const struct ws_settings *cfg = ws_settings(r->loop->cfg);
    int status;
    const char *why = r->tunnel ? NULL : ws_upgrade_fields(r, &status);
    if (why)
        return ws_refuse(r, status, why);
    const char *version = gale_request_header(r, "Sec-WebSocket-Version");
    if (!version || strcmp(version, "13"))
        return ws_refuse(r, 426, "Sec-WebSocket-Version 13 expected");
    const char *key = gale_request_header(r, "Sec-WebSocket-Key");
    char accept[29];
    if (!r->tunnel && (!key || ws_header_count(r, "Sec-WebSocket-Key") != 1 ||
                       ws_frame_accept_key(key, strlen(key), accept) < 0))
        return ws_refuse(r, 400, "bad Sec-WebSocket-Key");
    if (!ws_origin_allowed(r, cfg))
        return ws_refuse(r, 403, "cross-origin WebSocket refused");
    if (!pipeline_conn(r))
        return ws_refuse(r, 503, "server going away");
    struct ws_deflate_params dp;
    char ext[160];
    const char *offers = cfg->compression ? ws_header_list(r, "Sec-WebSocket-Extensions") : NULL;
    int deflate = offers ? ws_deflate_negotiate(offers, &dp, ext, sizeof(ext)) : 0;
    if (deflate < 0)
        return ws_refuse(r, 400, "bad Sec-WebSocket-Extensions");
    /* cookies set by prepare go with it; over HTTP/2 a 200 opens the
     * stream's tunnel (RFC 8441 5) */
    r->status = r->tunnel ? 200 : 101;
    if (!r->tunnel) {
        response_header_add(r, "Upgrade", "websocket");
        response_header_add(r, "Connection", "Upgrade");
        response_header_add(r, "Sec-WebSocket-Accept", accept);
    }
    if (deflate == 1)
        response_header_add(r, "Sec-WebSocket-Extensions", ext);
    const char *protocol = ws_subprotocol(r, r->route->handler->websocket);
    if (protocol)
        response_header_add(r, "Sec-WebSocket-Protocol", protocol);
    if (pipeline_send_head(r, r->tunnel != NULL) < 0) /* a tunnel's "body" has no length */
        return GALE_OK;
    gale_ws *ws = ws_new(r, deflate == 1 ? &dp : NULL);
    ws_keep_request(ws, r);
    r->upgrade = ws;
    if (ws->stream)
        ws_arm_ping(ws);
    if (ws->cb->open)
        ws->cb->open(ws, r);
    /* An upgrade that reached a draining worker (its connection was accepted
     * just before the drain) opens and is closed at once with 1001, as the
     * drain closes the others: a browser cannot see why a refused upgrade
     * failed and backs off, while a 1001 after an open is a prompt
     * reconnection to a new worker (SSE streams are answered the same way). */
    if (r->loop->draining)
        ws_going_away(ws);
    return GALE_OK;
}
