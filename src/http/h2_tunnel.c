/*
 * h2_tunnel.c - WebSockets over HTTP/2 (RFC 8441): an extended CONNECT
 * with :protocol = websocket is the handshake's GET on a websocket route,
 * answered 200 by the same accept as over HTTP/1; the socket's frames then
 * ride the stream's DATA both ways, through struct http_tunnel. The socket
 * (src/ws) sees the stream as it sees a connection.
 *
 * Ownership: the stream holds the socket from the handshake's end until it
 * closes; closing it calls the upgrade's stream_gone, which frees the
 * socket, and st->ws is forgotten at once.
 */
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "core/loop.h"
#include "http/h2_impl.h"
#include "http/http_parser.h"
#include "http/pipeline.h"
#include "http/request.h"
#include "net/conn.h"

/* A socket's output above this: stop taking its input. Half the WebSocket
 * layer's default queue limit (websocket.max_queue_size, 1 MiB), past which
 * it closes the socket as too slow: a client that sends faster than it
 * reads is paused first. */
#define H2_TUNNEL_HIGH (512 * 1024)

static struct evbuffer *h2_tunnel_out(void *stream)
{
    return ((struct h2_stream *)stream)->out;
}

static void h2_tunnel_flush(void *stream)
{
    struct h2_stream *st = stream;
    h2_resume(st);
    if (!st->hc->processing)
        h2_later(st->hc); /* else h2_read sends when nghttp2 returns */
}

static size_t h2_tunnel_pending(void *stream)
{
    return evbuffer_get_length(((struct h2_stream *)stream)->out);
}

/* Our END_STREAM after the close frame; a client that does not end its
 * side in turn is reset once ours went (h2_on_frame_send). */
static void h2_tunnel_end_ours(void *stream)
{
    struct h2_stream *st = stream;
    st->ended = 1;
    if (!st->remote_ended && !nghttp2_session_get_stream_remote_close(st->hc->s, st->id))
        st->reset_after = 1;
    h2_tunnel_flush(st);
}

static void h2_tunnel_reset(void *stream)
{
    struct h2_stream *st = stream;
    nghttp2_submit_rst_stream(st->hc->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
    h2_later(st->hc);
}

static const char *h2_tunnel_client(void *stream)
{
    return ((struct h2_stream *)stream)->hc->c->client;
}

static const struct http_tunnel h2_tunnel = {
    .out = h2_tunnel_out,
    .flush = h2_tunnel_flush,
    .pending = h2_tunnel_pending,
    .end = h2_tunnel_end_ours,
    .reset = h2_tunnel_reset,
    .client = h2_tunnel_client,
};

int h2_tunnel_open(struct h2_stream *st, gale_request *r)
{
    /* nghttp2 checked the rest: CONNECT with :scheme, :path, :authority */
    if (strcasecmp(st->protocol, "websocket") != 0) {
        h2_fail(st, 501, "no such :protocol");
        return -1;
    }
    r->method = "GET";
    r->mid = HTTP_M_GET;
    pipeline_head(r, r->path, strlen(r->path));
    if (!r->error_status && r->fn != pipeline_upgrade()->accept) {
        h2_fail(st, 400, "not a WebSocket route");
        return -1;
    }
    r->tunnel = &h2_tunnel;
    st->tunnel = 1;
    return 0;
}

/* The socket takes what waited in st->held, and the windows open by it. */
static void h2_tunnel_feed(struct h2_stream *st)
{
    struct evbuffer *held = st->held;
    size_t len = evbuffer_get_length(held);
    st->held = NULL;
    pipeline_upgrade()->stream_read(st->ws, evbuffer_pullup(held, -1), len);
    evbuffer_free(held);
    if (st->ws)
        nghttp2_session_consume(st->hc->s, st->id, len);
}

void h2_tunnel_attach(struct h2_stream *st, gale_ws *ws)
{
    st->ws = ws;
    st->state = HS_TUNNEL;
    if (st->held) /* frames sent before the handshake's end */
        h2_tunnel_feed(st);
    if (st->ws && st->remote_ended)
        pipeline_upgrade()->stream_end(ws);
}

void h2_tunnel_resume(struct h2_stream *st)
{
    if (st->ws && st->held && evbuffer_get_length(st->out) <= H2_TUNNEL_HIGH)
        h2_tunnel_feed(st);
}

int h2_tunnel_data(struct h2_stream *st, const uint8_t *data, size_t len)
{
    if (st->ws && !st->held && evbuffer_get_length(st->out) <= H2_TUNNEL_HIGH) {
        nghttp2_session_consume(st->hc->s, st->id, len);
        pipeline_upgrade()->stream_read(st->ws, data, len);
        return 1;
    }
    if (st->ws) {
        /* the client sends faster than it reads the answers (an echo): what
         * it sends waits unconsumed, so its window closes, until our output
         * goes down (h2_tunnel_resume), as ws.c stops reading a connection */
        if (!st->held && !(st->held = evbuffer_new()))
            return 0;
        evbuffer_add(st->held, data, len);
        return 1;
    }
    if (st->state != HS_HANDLER)
        return 0; /* refused, or over: not a socket's */
    /* the handshake is under way (a session read): the window stays
     * closed by what waits here */
    if (!st->held && !(st->held = evbuffer_new()))
        return 0;
    evbuffer_add(st->held, data, len);
    return 1;
}

void h2_tunnel_end(struct h2_stream *st)
{
    if (st->ws)
        pipeline_upgrade()->stream_end(st->ws);
}

void h2_tunnel_gone(struct h2_stream *st)
{
    gale_ws *ws = st->ws;
    if (!ws)
        return;
    st->ws = NULL;
    pipeline_upgrade()->stream_gone(ws);
}

void h2_tunnel_drain(struct h2_stream *st)
{
    if (st->ws)
        pipeline_upgrade()->stream_drain(st->ws);
}
