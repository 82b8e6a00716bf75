/*
 * h2_impl.h - what the files of the HTTP/2 wire share: a connection and
 * its streams (h2.c), the WebSocket tunnels on streams (h2_tunnel.c).
 * Nothing outside src/http/h2*.c includes it.
 */
#ifndef GALE_H2_IMPL_H
#define GALE_H2_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "gale/gale.h"

struct arena;
struct conn;
struct config_limits;
struct event;
struct evbuffer;
struct h2_settings;
struct http_header;
struct loop;

#define H2_ARENA_SIZE 4096
#define H2_OUT_HIGH (256 * 1024) /* ask nghttp2 for no more frames above this */

/* HS_TUNNEL: the request is over and the stream carries a WebSocket
 * (RFC 8441, h2_tunnel.c). */
enum h2_stream_state { HS_HEAD, HS_BODY, HS_HANDLER, HS_DONE, HS_TUNNEL };

/* Empty DATA frames cost the server work and the client nothing: a burst of
 * H2_EMPTY_BURST, then H2_EMPTY_RATE a second. */
#define H2_EMPTY_BURST 100
#define H2_EMPTY_RATE 10

struct h2_conn;

/* A token bucket: what a client may do in a burst, then at a rate. */
struct h2_bucket {
    double tokens, time;
};

struct h2_stream {
    struct h2_conn *hc;
    struct h2_stream *prev, *next;
    int32_t id;
    enum h2_stream_state state;
    struct arena *arena;
    gale_request *req;
    struct evbuffer *out;  /* the answer's body, waiting for the windows */
    struct evbuffer *held; /* a streamed body the handler has not asked for yet */
    struct http_header *hdrs;
    size_t nhdrs;
    size_t head_bytes; /* the header list's size so far (limits.max_header_size) */
    const char *method, *path, *scheme, *authority;
    const char *protocol;   /* :protocol of an extended CONNECT (RFC 8441) */
    gale_ws *ws;            /* HS_TUNNEL: the socket on the stream */
    char *cookie;           /* cookie fields joined (RFC 9113 8.2.3) */
    int fail_status;        /* the head is refused: answered when it is complete */
    const char *fail_why;   /* ... saying why */
    uint64_t body_received; /* DATA bytes so far */
    double heard;           /* when the client last sent on it (util_now) */
    double moved;           /* when its answer last moved on (or began to wait) */
    uint64_t data_in;       /* DATA payload octets the client sent, padding included */
    uint64_t granted;       /* octets our WINDOW_UPDATEs on it gave back, once sent */
    unsigned closed : 1;    /* nghttp2 closed it */
    unsigned deferred : 1;  /* the data provider waits for more body */
    unsigned ended : 1;     /* the answer is complete: EOF after `out` */
    unsigned body_held : 1; /* wire->read_body has not come yet */
    unsigned drain_watch : 1;
    unsigned body_wanted : 1;  /* wire->read_body came: feed what was held, from the loop */
    unsigned reset_after : 1;  /* RST_STREAM NO_ERROR after the answer's last frame */
    unsigned remote_ended : 1; /* END_STREAM came (nghttp2 marks it after our callback) */
    unsigned tunnel : 1;       /* an extended CONNECT: a WebSocket once accepted */
    unsigned reset_sent : 1;   /* a RST_STREAM of ours went: late frames are ignored */
};

struct h2_conn {
    struct conn *c;
    struct loop *loop;
    const struct config_limits *lim;
    const struct h2_settings *set;
    nghttp2_session *s;
    struct h2_stream *streams;
    size_t nstreams;
    struct event *after_ev; /* drained checks and sends, from the loop */
    unsigned processing : 1;
    unsigned goaway : 1;         /* draining */
    unsigned goaway_sent : 1;    /* the shutdown notice went (h2_goaway_start) */
    unsigned goaway_final : 1;   /* ... and the GOAWAY with the last stream id */
    struct event *drain_ev;      /* draining: the notice at the latest */
    struct h2_bucket resets;     /* rapid reset: max_resets, refilled at reset_rate/s */
    struct h2_bucket empty;      /* DATA frames that carry nothing and end nothing */
    int32_t max_id;              /* the highest stream the client opened */
    uint64_t data_in;            /* DATA octets on the connection (h2_guard_data) */
    uint64_t granted;            /* octets our connection WINDOW_UPDATEs gave back, once sent */
    int64_t window_top;          /* the largest window of a stream for our DATA, and */
    uint32_t initial_before;     /* ... the client's initial window, before its SETTINGS */
    unsigned settings_acked : 1; /* the client took our SETTINGS: its initial window holds */
    uint64_t opened;             /* bit i: stream max_id - 2i was opened */
    uint64_t shut;               /* ... and closed without a RST_STREAM of ours */
    uint8_t scan_head[9];        /* h2_guard_scan: a frame's head read so far, */
    size_t scan_have;            /* ... its octets, */
    size_t scan_skip;            /* ... and the payload octets still to pass */
    uint8_t scan_pri[5];         /* a priority block's octets read so far, */
    uint8_t scan_pri_have;       /* ... their count, */
    uint8_t scan_pri_need;       /* ... how many it takes (0: none comes), */
    int32_t scan_pri_sid;        /* ... and the stream of its frame */
};

/* Send frames from the loop, not from inside the caller. */
void h2_later(struct h2_conn *hc);
/* The answer's data provider waits for more: wake it. */
void h2_resume(struct h2_stream *st);
/* Draining: tell the client to open no more streams (h2.c). */
void h2_goaway_start(struct h2_conn *hc);
/* Refuse a request whose head is in: an error answer, the stream reset. */
void h2_fail(struct h2_stream *st, int status, const char *why);

/* ---- answers (h2_answer.c): the wire operations, and nghttp2's way to
 * move a DATA frame's bytes without a copy ---- */
int h2_send_head(gale_request *r, int streaming);
void h2_send_body(gale_request *r);
void h2_flush(gale_request *r);
void h2_end(gale_request *r);
int h2_data_send(nghttp2_session *s, nghttp2_frame *frame, const uint8_t *framehd, size_t length,
                 nghttp2_data_source *source, void *user);

/* ---- guards (h2_guard.c) ---- */
/* A new stream of the client's: remembered for h2_on_begin_frame. */
void h2_opened(struct h2_conn *hc, int32_t id);
/* A stream nghttp2 closed: frames on it now are STREAM_CLOSED errors,
 * unless we reset it. */
void h2_guard_closed(struct h2_conn *hc, const struct h2_stream *st);
/* The client's bytes, before nghttp2 reads them: the heads of the frames
 * it would ignore without a callback. */
void h2_guard_scan(struct h2_conn *hc, const uint8_t *p, size_t len);
int h2_on_begin_frame(nghttp2_session *s, const nghttp2_frame_hd *hd, void *user);
/* Take a token from b (burst, then rate a second): -1, the connection told
 * to calm down, when it is empty. */
int h2_bucket_take(struct h2_conn *hc, struct h2_bucket *b, double burst, double rate,
                   const char *what);
/* The GOAWAY code for an error of nghttp2_session_mem_recv. */
uint32_t h2_fatal_code(int rc);
/* Flow control in (RFC 9113 6.9.1): a WINDOW_UPDATE of ours has gone. */
void h2_guard_granted(struct h2_conn *hc, const nghttp2_frame *frame);
/* A SETTINGS frame of the client's was taken: a new initial window that
 * pushes an open stream's window past 2^31-1 is a connection error (6.9.2). */
void h2_guard_settings(struct h2_conn *hc, const nghttp2_frame *frame);

/* ---- WebSockets on streams (h2_tunnel.c) ---- */

/* The head of an extended CONNECT is in (st->protocol set): make r the
 * WebSocket handshake's GET on the stream. 0, or -1 when refused (answered). */
int h2_tunnel_open(struct h2_stream *st, gale_request *r);
/* The handshake's request is over: the socket it accepted takes the stream. */
void h2_tunnel_attach(struct h2_stream *st, gale_ws *ws);
/* From the loop, after sending: a socket whose output went down takes the
 * input that waited for it. */
void h2_tunnel_resume(struct h2_stream *st);
/* DATA on a tunnel stream: 1 when taken (the windows are the caller's). */
int h2_tunnel_data(struct h2_stream *st, const uint8_t *data, size_t len);
/* The client's END_STREAM; the stream gone; the worker draining. */
void h2_tunnel_end(struct h2_stream *st);
void h2_tunnel_gone(struct h2_stream *st);
void h2_tunnel_drain(struct h2_stream *st);

#endif
