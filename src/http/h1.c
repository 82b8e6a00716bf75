/*
 * h1.c - the HTTP/1 wire: a connection's requests parsed one at a time,
 * their bodies read with Content-Length or chunked framing (and 100
 * Continue), their answers framed and written (status line, headers,
 * Content-Length or chunked, Connection), keep-alive and pipelining. What
 * happens to a request in between is the pipeline's (pipeline.h), which
 * answers through the operations table h1_wire.
 *
 * One request at a time per connection: bytes of pipelined requests wait in
 * the input buffer until the answer before them is complete, so answers
 * leave in order; answers of one batch of pipelined requests leave in one
 * write.
 *
 * Ownership: the connection (struct h1_conn) owns the head buffer `in` and
 * the arena each request lives in. A request whose client goes away while
 * its handler is still working (GALE_ASYNC) takes both over and frees them
 * when the module finishes it (pipeline_client_gone).
 */
#include "http/h1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/util.h"
#include "http/http_parser.h"
#include "http/pipeline.h"
#include "http/request.h"
#include "net/conn.h"

#define H1_IN_INITIAL 2048
#define H1_OUT_PAUSE (256 * 1024) /* stop reading pipelined requests above this */
#define H1_ARENA_SIZE 4096

enum h1_state { HC_IDLE, HC_HEAD, HC_BODY, HC_HANDLER, HC_UPGRADED };

struct h1_conn {
    struct conn *c; /* c->loop: the worker's loop */
    const struct config_limits *lim;
    char *in; /* the current request head; request strings point into it */
    size_t inlen, incap;
    struct http_header *hdrs;
    struct h1_parse *p; /* while a request is read or answered */
    gale_request *req;
    struct arena *arena;
    struct evbuffer *spare_out; /* kept between requests */
    gale_ws *upgrade;           /* HC_UPGRADED inside h1_process: hand over when it returns */
    struct evbuffer *flat_out;  /* its body, kept from the request's cleanup (h1_done) */
    struct event *drained_ev;   /* tells the pipeline the output was written; made on first use */
    /* the small fields together: thousands of idle connections wait (no
     * holes; 120 bytes take a 128-byte malloc chunk) */
    enum h1_state state;
    unsigned nreq;
    unsigned head_flat; /* bytes of this answer's head waiting in h1_head_flat */
    unsigned processing : 1;
    unsigned flat : 1;        /* the head's bytes were read straight into `in` (h1_read_space) */
    unsigned drain_watch : 1; /* the pipeline waits for the output to be written */

    /* the framing of the current request and its answer */
    unsigned keepalive : 1; /* the connection stays open after this answer */
    unsigned body_chunked : 1;
    unsigned chunked_out : 1;     /* streaming with chunked framing */
    unsigned eof_framed : 1;      /* streaming to an HTTP/1.0 client: the close ends the body */
    unsigned body_held : 1;       /* a streamed body waits for wire->read_body */
    unsigned expect_continue : 1; /* a streamed body's client waits for 100 Continue */
    unsigned head_timed : 1;      /* the header timeout runs for this head */
};

/* The parsers' state: needed from a request's first byte to its answer
 * (lent, as the request's buffers below: an idle connection holds none). */
struct h1_parse {
    struct http_parser parser;
    struct http_head head;
    struct http_chunked chunked;
    int64_t body_left;    /* Content-Length bytes still to read */
    size_t body_received; /* chunked: data bytes so far */
};

/* A finished answer on a plain socket with nothing queued before it and no
 * pipelined request behind it leaves in one sendmsg(2): the head from this
 * flat buffer and the body from the answer's own buffer, nothing staged in
 * buffer chains (h1_send_flat). Inside h1_process it leaves when the request
 * is over, as a batched answer did, so that its cleanups (upload files) are
 * done before the client can see it. The worker has one such buffer: its
 * owner is the connection whose head waits there, and other answers take
 * the staged path meanwhile. */
#define H1_HEAD_FLAT 4096
#define H1_FLAT_IOV 8
static char h1_head_flat[H1_HEAD_FLAT];
static struct h1_conn *h1_flat_owner;

static void h1_process(struct h1_conn *hc);
static void h1_hand_over(struct h1_conn *hc, gale_ws *ws);

static int h1_send_head(gale_request *r, int streaming);
static void h1_send_body(gale_request *r);
static void h1_flush(gale_request *r);
static void h1_end(gale_request *r);
static void h1_done(gale_request *r);
static void h1_send_flat_done(struct h1_conn *hc);
static struct conn *h1_conn_of(const gale_request *r);
static void h1_watch_drained(gale_request *r);
static void h1_body_wanted(gale_request *r);

static const struct http_wire h1_wire = {
    .send_head = h1_send_head,
    .send_body = h1_send_body,
    .flush = h1_flush,
    .end = h1_end,
    .done = h1_done,
    .conn = h1_conn_of,
    .read_body = h1_body_wanted,
    .watch_drained = h1_watch_drained,
};

/* ---- the buffers of a request, lent while one is under way ---- */

/* An idle keep-alive connection needs none of its request's buffers until
 * bytes arrive, and thousands of them may wait: each gives back its arena,
 * head buffer, header array and spare output buffer when it goes idle
 * (h1_idle) and takes them again when a request starts. A few are kept on
 * the worker's free lists for the next request (H1_SPARES of each, so the
 * lists never hold much once a burst is over); the rest go back to malloc. */
#define H1_SPARES 64

static struct {
    struct arena *arena[H1_SPARES];
    char *in[H1_SPARES]; /* H1_IN_INITIAL bytes each */
    struct http_header *hdrs[H1_SPARES];
    struct evbuffer *out[H1_SPARES];
    struct h1_parse *parse[H1_SPARES];
    size_t narena, nin, nhdrs, nout, nparse;
    size_t hdrs_size; /* max_headers of the arrays kept (one config per worker) */
} h1_spares;

static struct arena *h1_arena_take(void)
{
    return h1_spares.narena ? h1_spares.arena[--h1_spares.narena] : arena_new(H1_ARENA_SIZE);
}

static char *h1_in_take(void)
{
    return h1_spares.nin ? h1_spares.in[--h1_spares.nin] : xmalloc(H1_IN_INITIAL);
}

static struct http_header *h1_hdrs_take(size_t n)
{
    if (h1_spares.nhdrs && h1_spares.hdrs_size == n)
        return h1_spares.hdrs[--h1_spares.nhdrs];
    return xmalloc(sizeof(struct http_header) * n);
}

static struct evbuffer *h1_out_take(void)
{
    return h1_spares.nout ? h1_spares.out[--h1_spares.nout]
                          : NULL; /* NULL: the pipeline makes one */
}

static struct h1_parse *h1_parse_take(void)
{
    return h1_spares.nparse ? h1_spares.parse[--h1_spares.nparse]
                            : xmalloc(sizeof(struct h1_parse));
}

static void h1_out_give(struct evbuffer *out)
{
    if (h1_spares.nout < H1_SPARES)
        h1_spares.out[h1_spares.nout++] = out;
    else
        evbuffer_free(out);
}

/* Give back what an idle connection holds (the request is over: nothing
 * points into these any more). */
static void h1_idle(struct h1_conn *hc)
{
    if (hc->arena) {
        if (h1_spares.narena < H1_SPARES)
            h1_spares.arena[h1_spares.narena++] = hc->arena;
        else
            arena_free(hc->arena);
        hc->arena = NULL;
    }
    if (hc->in) {
        if (hc->incap == H1_IN_INITIAL && h1_spares.nin < H1_SPARES)
            h1_spares.in[h1_spares.nin++] = hc->in;
        else
            free(hc->in); /* grown for a big head: not worth keeping */
        hc->in = NULL;
        hc->incap = hc->inlen = 0;
    }
    if (hc->hdrs) {
        size_t n = hc->lim->max_headers;
        if (h1_spares.nhdrs == 0)
            h1_spares.hdrs_size = n;
        if (h1_spares.hdrs_size == n && h1_spares.nhdrs < H1_SPARES)
            h1_spares.hdrs[h1_spares.nhdrs++] = hc->hdrs;
        else
            free(hc->hdrs);
        hc->hdrs = NULL;
    }
    if (hc->spare_out) {
        h1_out_give(hc->spare_out);
        hc->spare_out = NULL;
    }
    if (hc->p) {
        if (h1_spares.nparse < H1_SPARES)
            h1_spares.parse[h1_spares.nparse++] = hc->p;
        else
            free(hc->p);
        hc->p = NULL;
    }
    if (hc->drained_ev && !hc->drain_watch) {
        event_free(hc->drained_ev);
        hc->drained_ev = NULL;
    }
    conn_idle(hc->c);
}

/* ---- the connection ---- */

/* Everything HTTP holds for a connection (the request in it is over or was
 * taken over by its handler). */
static void h1_conn_free(struct h1_conn *hc)
{
    if (h1_flat_owner == hc)
        h1_flat_owner = NULL; /* its answer goes with it */
    if (hc->flat_out)
        evbuffer_free(hc->flat_out);
    if (hc->drained_ev)
        event_free(hc->drained_ev);
    arena_free(hc->arena);
    if (hc->spare_out)
        evbuffer_free(hc->spare_out);
    free(hc->in);
    free(hc->hdrs);
    free(hc->p);
    free(hc);
}

static void h1_release(struct conn *c);
static void h1_read(struct conn *c);
static void h1_write(struct conn *c);
static void h1_eof(struct conn *c);
static void h1_timeout(struct conn *c);
static void h1_drain(struct conn *c);
static char *h1_read_space(struct conn *c, size_t *room);
static void h1_read_into(struct conn *c, size_t n);

static void h1_drained_cb(evutil_socket_t fd, short what, void *arg);

static const struct conn_proto h1_proto = {
    .read = h1_read,
    .write = h1_write,
    .eof = h1_eof,
    .timeout = h1_timeout,
    .drain = h1_drain,
    .release = h1_release,
    .read_space = h1_read_space,
    .read_into = h1_read_into,
};

void h1_conn_start(struct conn *c)
{
    struct h1_conn *hc = xcalloc(1, sizeof(*hc));
    hc->c = c;
    hc->lim = &c->loop->cfg->limits;
    hc->state = HC_IDLE;
    c->proto = &h1_proto;
    c->data = hc;
    conn_read(c, 1);
    conn_timer(c, c->loop->tv[LOOP_TV_HEADER]);
}

static struct conn *h1_conn_of(const gale_request *r)
{
    return ((const struct h1_conn *)r->stream)->c;
}

/* ---- requests ---- */

static gale_request *h1_request_new(struct h1_conn *hc)
{
    if (!hc->arena)
        hc->arena = h1_arena_take();
    if (!hc->spare_out)
        hc->spare_out = h1_out_take();
    /* The connection's spare body buffer: an answer's chains move to the
     * output, leaving it empty for the next request. */
    gale_request *r = pipeline_request_new(hc->arena, hc->c->loop, &h1_wire, hc, hc->c->client,
                                           hc->c->https, hc->spare_out);
    hc->spare_out = NULL;
    hc->keepalive = 1;
    hc->body_chunked = hc->chunked_out = hc->eof_framed = 0;
    hc->body_held = hc->expect_continue = 0;
    if (hc->p) { /* NULL only for an answer before any head: no body is read then */
        hc->p->body_left = 0;
        hc->p->body_received = 0;
    }
    hc->req = r;
    return r;
}

/* wire->done: the request is over; carry on with the connection. */
static void h1_done(gale_request *r)
{
    struct h1_conn *hc = r->stream;
    int keep = hc->keepalive;
    gale_ws *upgrade = r->upgrade;
    hc->req = NULL;
    hc->drain_watch = 0;
    if (hc->head_flat) { /* its body leaves below */
        hc->flat_out = r->out;
        r->out = NULL; /* not freed by the cleanup */
    } else if (evbuffer_get_length(r->out) == 0) {
        hc->spare_out = r->out;
        r->out = NULL; /* not freed by the cleanup */
    }
    arena_reset(hc->arena);
    if (hc->head_flat) /* after the cleanups, before a close */
        h1_send_flat_done(hc);
    hc->inlen = 0;
    hc->nreq++;
    struct conn *c = hc->c;
    if (upgrade) {
        hc->state = HC_UPGRADED;
        if (!hc->processing)
            h1_hand_over(hc, upgrade);
        else
            hc->upgrade = upgrade; /* when h1_process unwinds */
        return;
    }
    if (!keep) {
        conn_close_after_write(c);
        return;
    }
    hc->state = HC_IDLE;
    if (conn_in_len(c) == 0) {
        if (c->eof) {
            conn_close_after_write(c);
            return;
        }
        conn_timer(c, hc->c->loop->tv[hc->c->loop->draining ? LOOP_TV_DRAIN_IDLE : LOOP_TV_IDLE]);
        h1_idle(hc);
    } else if (!hc->processing) {
        /* an async answer ended; pipelined requests wait: read them from the loop */
        conn_read_later(c);
    }
}

/* After a 101: the connection is the WebSocket's from now on; what HTTP
 * held goes. */
static void h1_hand_over(struct h1_conn *hc, gale_ws *ws)
{
    struct conn *c = hc->c;
    h1_conn_free(hc);
    pipeline_upgrade()->attach(c, ws);
}

static void h1_release(struct conn *c)
{
    struct h1_conn *hc = c->data;
    gale_request *r = hc->req;
    /* Only a handler that is still working holds the request; one that was
     * still being read, or is being answered, goes with the connection. */
    if (r) {
        int running = !r->session_op && hc->state == HC_HANDLER && !r->finished;
        if (running) { /* it keeps what the request points into */
            arena_cleanup_add(r->arena, free, hc->in);
            arena_cleanup_add(r->arena, free, hc->hdrs);
            hc->in = NULL;
            hc->hdrs = NULL;
            hc->arena = NULL;
        }
        hc->req = NULL;
        pipeline_client_gone(r, running);
    }
    h1_conn_free(hc);
    c->data = NULL;
}

/* ---- sending ---- */

static void h1_decide_keepalive(struct h1_conn *hc)
{
    /* an answer before the end of a streamed body: the rest is not read */
    if (hc->c->loop->draining || hc->c->eof || hc->state == HC_BODY)
        hc->keepalive = 0;
    if (hc->lim->keepalive_requests && hc->nreq + 1 >= hc->lim->keepalive_requests)
        hc->keepalive = 0;
}

/* The head is written straight into reserved space of the output buffer:
 * one allocation at most, no formatting calls (this runs per request). */
static char *h1_put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *h1_put_str(char *p, const char *s)
{
    return h1_put(p, s, strlen(s));
}

static char *h1_put_uint(char *p, unsigned long long v)
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
static const char *h1_framing(struct h1_conn *hc, gale_request *r, int streaming)
{
    if (pipeline_status_no_body(r->status))
        return NULL;
    if (streaming && r->length_known)
        return "Content-Length: "; /* the length is known though the body is not in yet */
    if (streaming && r->minor >= 1) {
        hc->chunked_out = 1;
        return "Transfer-Encoding: chunked\r\n";
    }
    if (streaming) {
        hc->eof_framed = 1; /* HTTP/1.0 has no chunks: the close ends the body */
        hc->keepalive = 0;
        return NULL;
    }
    return "Content-Length: ";
}

static int h1_flat_ok(struct h1_conn *hc, gale_request *r, int streaming, size_t need)
{
    struct conn *c = hc->c;
    return !streaming && r->finished && !r->file_body && r->status != 101 && need <= H1_HEAD_FLAT &&
           !h1_flat_owner && !c->https && conn_pending(c) == 0 && conn_in_len(c) == 0;
}

/* The head in h1_head_flat and the body, in one write when the socket
 * takes them; what it does not take is staged in conn_out, in order, for
 * conn_flush to queue. */
static void h1_send_flat(struct h1_conn *hc, struct evbuffer *body)
{
    struct iovec iov[H1_FLAT_IOV];
    struct evbuffer_iovec v[H1_FLAT_IOV - 1];
    size_t hl = hc->head_flat, w = 0;
    hc->head_flat = 0;
    h1_flat_owner = NULL;
    iov[0].iov_base = h1_head_flat;
    iov[0].iov_len = hl;
    int n = evbuffer_peek(body, -1, NULL, v, H1_FLAT_IOV - 1);
    if (n <= H1_FLAT_IOV - 1) { /* else too many pieces: all staged */
        for (int i = 0; i < n; i++) {
            iov[i + 1].iov_base = v[i].iov_base;
            iov[i + 1].iov_len = v[i].iov_len;
        }
        w = conn_write_now(hc->c, iov, n + 1);
    }
    if (w < hl) {
        evbuffer_add(conn_out(hc->c), h1_head_flat + w, hl - w);
        w = hl;
    }
    evbuffer_drain(body, w - hl);
    if (evbuffer_get_length(body))
        evbuffer_add_buffer(conn_out(hc->c), body);
}

/* The flat answer of the request that just ended in h1_process. */
static void h1_send_flat_done(struct h1_conn *hc)
{
    struct evbuffer *body = hc->flat_out ? hc->flat_out : hc->req->out;
    h1_send_flat(hc, body);
    if (hc->flat_out) {
        hc->flat_out = NULL;
        h1_out_give(body); /* emptied: a spare, not kept by an idle connection */
    }
}

/* The lengths of the first headers' names and values, measured once for
 * the head's size and used again to copy them. */
#define H1_LENS 32
static size_t h1_lens[H1_LENS][2];

static int h1_send_head(gale_request *r, int streaming)
{
    struct h1_conn *hc = r->stream;
    size_t dlen;
    const char *date = loop_date_header(r->loop, &dlen);
    int ok = r->status == 200 && !r->reason; /* most answers: a status line ready made */
    const char *text = ok ? NULL : r->reason ? r->reason : pipeline_status_text(r->status);
    h1_decide_keepalive(hc);
    const char *framing = h1_framing(hc, r, streaming);
    size_t need = 128 + (ok ? 0 : strlen(text)) + dlen + r->loop->server_len;
    for (size_t i = 0; i < r->nrh; i++) {
        size_t n = strlen(r->rh[i].name), v = strlen(r->rh[i].value);
        if (i < H1_LENS) {
            h1_lens[i][0] = n;
            h1_lens[i][1] = v;
        }
        need += n + v + 4;
    }

    /* the staging buffer only when the head goes there: an answer sent
     * whole from the flat buffer makes none (and conn_idle frees none) */
    struct evbuffer *out = NULL;
    struct evbuffer_iovec v;
    int flat = h1_flat_ok(hc, r, streaming, need);
    if (flat) {
        v.iov_base = h1_head_flat;
    } else if (evbuffer_reserve_space(out = conn_out(hc->c), (ev_ssize_t)need, &v, 1) < 1) {
        util_oom();
    }
    char *p = v.iov_base;
    if (ok) {
        p = h1_put(p, "HTTP/1.1 200 OK\r\n", 17);
    } else {
        p = h1_put(p, "HTTP/1.1 ", 9);
        p = h1_put_uint(p, (unsigned)r->status);
        *p++ = ' ';
        p = h1_put_str(p, text);
        p = h1_put(p, "\r\n", 2);
    }
    p = h1_put(p, date, dlen);
    p = h1_put(p, r->loop->server, r->loop->server_len);
    for (size_t i = 0; i < r->nrh; i++) {
        if (i < H1_LENS)
            p = h1_put(p, r->rh[i].name, h1_lens[i][0]);
        else
            p = h1_put_str(p, r->rh[i].name);
        p = h1_put(p, ": ", 2);
        if (i < H1_LENS)
            p = h1_put(p, r->rh[i].value, h1_lens[i][1]);
        else
            p = h1_put_str(p, r->rh[i].value);
        p = h1_put(p, "\r\n", 2);
    }
    if (framing) {
        p = h1_put_str(p, framing);
        if (!hc->chunked_out) {
            p = h1_put_uint(p, r->length_known ? r->known_length : evbuffer_get_length(r->out));
            p = h1_put(p, "\r\n", 2);
        }
    }
    if (r->status == 101)
        ; /* the upgrade's own Connection: Upgrade is among the headers */
    else if (hc->keepalive && r->minor == 0)
        p = h1_put_str(p, "Connection: keep-alive\r\n");
    else if (!hc->keepalive)
        p = h1_put_str(p, "Connection: close\r\n");
    p = h1_put(p, "\r\n", 2);
    v.iov_len = (size_t)(p - (char *)v.iov_base);
    if (flat) {
        hc->head_flat = v.iov_len; /* sent with the body by h1_end or h1_process */
        h1_flat_owner = hc;
    } else
        evbuffer_commit_space(out, &v, 1);
    r->head_sent = 1;
    return 0;
}

static void h1_send_body(gale_request *r)
{
    struct h1_conn *hc = r->stream;
    size_t len = evbuffer_get_length(r->out);
    if (r->is_head || pipeline_status_no_body(r->status) || len == 0) {
        evbuffer_drain(r->out, len);
        return;
    }
    if (hc->head_flat) { /* the body goes with the head from r->out (h1_send_flat) */
        r->bytes_out += len;
        return;
    }
    struct evbuffer *out = conn_out(hc->c);
    if (hc->chunked_out) {
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

/* ---- telling the pipeline that the output was written ---- */

/* When everything is written already (the kernel took it all in
 * conn_flush, which calls no write callback), say so from the loop: a
 * handler that streams its next piece from the callback must not recurse.
 * Otherwise the connection's write callback (h1_write) says it. */
static void h1_drained_check(struct h1_conn *hc)
{
    if (hc->drain_watch && !hc->processing && conn_pending(hc->c) == 0)
        event_active(hc->drained_ev, EV_TIMEOUT, 1);
}

/* Tell the pipeline; hc may be freed when this returns. */
static void h1_drained(struct h1_conn *hc)
{
    hc->drain_watch = 0;
    pipeline_drained(hc->req);
}

static void h1_drained_cb(evutil_socket_t fd, short what, void *arg)
{
    struct h1_conn *hc = arg;
    /* more may have been queued since: then the write callback tells */
    if (hc->drain_watch && hc->req && conn_pending(hc->c) == 0)
        h1_drained(hc);
}

static void h1_watch_drained(gale_request *r)
{
    struct h1_conn *hc = r->stream;
    /* Few answers wait for their output to drain: the event is made for the
     * first one, not for every connection. */
    if (!hc->drained_ev &&
        !(hc->drained_ev = event_new(hc->c->loop->base, -1, 0, h1_drained_cb, hc)))
        util_oom();
    hc->drain_watch = 1;
    h1_drained_check(hc);
}

static void h1_flush(gale_request *r)
{
    struct h1_conn *hc = r->stream;
    if (hc->processing)
        return; /* h1_process sends the batch when it unwinds */
    conn_flush(hc->c);
    h1_drained_check(hc);
}

static void h1_end(gale_request *r)
{
    struct h1_conn *hc = r->stream;
    if (hc->head_flat && !hc->processing)
        h1_send_flat(hc, r->out);
    if (hc->chunked_out && !r->broken && !r->is_head)
        evbuffer_add(conn_out(hc->c), "0\r\n\r\n", 5);
    if (r->broken || hc->eof_framed)
        hc->keepalive = 0;
    if (hc->state == HC_BODY) { /* see h1_decide_keepalive */
        hc->keepalive = 0;
        hc->c->linger = 1; /* the client may still be sending the body */
    }
    h1_flush(r);
}

/* Answers to bad clients (slow: 408; malformed or too large: 400, 413,
 * 431...) come by the thousand under a slowloris or a scan: each is noise
 * at debug, and info gets one line per H1_REPORT_SECS seconds that had
 * any, with their number. */
#define H1_REPORT_SECS 10

static struct {
    unsigned long timeouts; /* 408s since the report was armed */
    unsigned long refused;  /* the other answers of h1_fail since then */
    struct event *ev;       /* the worker's report timer, made on first use */
} h1_report;

static void h1_report_cb(evutil_socket_t fd, short what, void *arg)
{
    if (h1_report.timeouts)
        log_info("%lu connections timed out (408) in the last %d s; each is logged at debug level",
                 h1_report.timeouts, H1_REPORT_SECS);
    if (h1_report.refused)
        log_info("%lu requests refused as malformed or too large (4xx) in the last %d s; each is "
                 "logged at debug level",
                 h1_report.refused, H1_REPORT_SECS);
    h1_report.timeouts = h1_report.refused = 0;
}

void h1_shutdown(void)
{
    h1_report_cb(-1, 0, NULL);
    if (h1_report.ev)
        event_free(h1_report.ev);
    h1_report.ev = NULL;
    while (h1_spares.narena)
        arena_free(h1_spares.arena[--h1_spares.narena]);
    while (h1_spares.nin)
        free(h1_spares.in[--h1_spares.nin]);
    while (h1_spares.nhdrs)
        free(h1_spares.hdrs[--h1_spares.nhdrs]);
    while (h1_spares.nparse)
        free(h1_spares.parse[--h1_spares.nparse]);
    while (h1_spares.nout)
        evbuffer_free(h1_spares.out[--h1_spares.nout]);
}

static void h1_report_count(struct h1_conn *hc, int status)
{
    unsigned long before = h1_report.timeouts + h1_report.refused;
    if (status == 408)
        h1_report.timeouts++;
    else
        h1_report.refused++;
    if (before > 0)
        return; /* the report is armed */
    if (!h1_report.ev)
        h1_report.ev = evtimer_new(hc->c->loop->base, h1_report_cb, NULL);
    struct timeval tv = {H1_REPORT_SECS, 0};
    if (h1_report.ev)
        evtimer_add(h1_report.ev, &tv);
}

/* An answer gale gives on its own (parse errors, timeouts), closing after it. */
static void h1_fail(struct h1_conn *hc, int status, const char *reason)
{
    gale_request *r = hc->req ? hc->req : h1_request_new(hc);
    log_debug("%s: %d %s", hc->c->client, status, reason);
    h1_report_count(hc, status);
    hc->keepalive = 0;
    hc->c->linger = 1; /* the client may still be sending what we did not read */
    hc->state = HC_HANDLER;
    conn_timer(hc->c, NULL);
    pipeline_error(r, status, reason);
}

/* ---- reading the head ---- */

static int h1_fill(struct h1_conn *hc, struct evbuffer *in)
{
    size_t limit = hc->lim->max_header_size + 4;
    size_t avail = evbuffer_get_length(in);
    if (avail <= hc->inlen || hc->inlen >= limit)
        return 0;
    size_t want = avail - hc->inlen;
    if (want > limit - hc->inlen)
        want = limit - hc->inlen;
    if (hc->inlen + want + 1 > hc->incap) {
        size_t cap = hc->incap ? hc->incap : H1_IN_INITIAL;
        while (cap < hc->inlen + want + 1)
            cap *= 2;
        if (!hc->in && cap == H1_IN_INITIAL)
            hc->in = h1_in_take();
        else
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

static void h1_head_begin(struct h1_conn *hc)
{
    if (!hc->hdrs)
        hc->hdrs = h1_hdrs_take(hc->lim->max_headers);
    if (!hc->p)
        hc->p = h1_parse_take();
    http_parser_init(&hc->p->parser, hc->lim->max_header_size, hc->lim->max_uri_size, hc->hdrs,
                     hc->lim->max_headers);
    hc->inlen = 0;
    hc->flat = 0;
    hc->state = HC_HEAD;
    hc->head_timed = 0; /* armed by h1_step_head if the head is not all here */
}

/* Terminate a slice in place: the byte after it is a delimiter we no longer need. */
static const char *h1_cut(const char *s, size_t len)
{
    ((char *)s)[len] = '\0';
    return s;
}

static void h1_request_strings(struct h1_conn *hc, gale_request *r, const struct http_head *h)
{
    int own_path = h->query || h->path != h->target;
    r->method = h1_cut(h->method, h->method_len);
    r->mid = http_method_lookup(h->method, h->method_len);
    r->is_head = r->mid == HTTP_M_HEAD;
    if (own_path)
        r->path = arena_strndup(r->arena, h->path, h->path_len);
    r->target = h1_cut(h->target, h->target_len);
    if (!own_path)
        r->path = r->target;
    r->query = h->query ? h->query : "";
    r->minor = h->version_minor;
    r->hdrs = h->headers;
    r->nhdrs = h->nheaders;
    for (size_t i = 0; i < h->nheaders; i++) {
        h1_cut(h->headers[i].name, h->headers[i].name_len);
        if (h->headers[i].value_len)
            h1_cut(h->headers[i].value, h->headers[i].value_len);
        else
            h->headers[i].value = "";
    }
    /* Host's value was cut above; an absolute-form target's authority is
     * followed by its path: copied then */
    if (h->host && h->host_len)
        r->host =
            h->host[h->host_len] == '\0' ? h->host : arena_strndup(r->arena, h->host, h->host_len);
    hc->keepalive = h->version_minor >= 1 ? !h->conn_close : h->conn_keepalive && !h->conn_close;
    /* gale tunnels nothing over HTTP/1: a client may already be sending the
     * tunnel's bytes (a TLS ClientHello), which must not be read as requests */
    if (r->mid == HTTP_M_CONNECT)
        hc->keepalive = 0;
}

/* The head is complete: make the request and decide how its body comes. */
static int h1_begin_request(struct h1_conn *hc)
{
    struct http_head *h = &hc->p->head;
    if (!hc->flat) {
        evbuffer_drain(conn_in(hc->c), h->head_len);
    } else if (hc->inlen > h->head_len) {
        /* a body or pipelined requests came with the head: they wait in
         * the input (empty while reading flat), where the rest is read */
        evbuffer_add(conn_in(hc->c), hc->in + h->head_len, hc->inlen - h->head_len);
    }
    hc->flat = 0;
    gale_request *r = h1_request_new(hc);
    h1_request_strings(hc, r, h);
    pipeline_head(r, h->path, h->path_len);
    if (h->chunked) {
        hc->body_chunked = 1;
        http_chunked_init(&hc->p->chunked);
    } else if (h->content_length > 0) {
        if ((uint64_t)h->content_length > hc->lim->max_body_size) {
            h1_fail(hc, 413, "request body too large");
            return -1;
        }
        hc->p->body_left = h->content_length;
    }
    if (!hc->body_chunked && hc->p->body_left == 0)
        return 0;
    int streams = pipeline_body_begin(r);
    if (h->expect_continue && r->minor >= 1) {
        if (r->error_status) {
            /* the body is not wanted: answer now and close rather than read it */
            hc->keepalive = 0;
            return 0;
        }
        if (streams)
            hc->expect_continue = 1; /* once prepare has let the body come */
        else
            evbuffer_add(conn_out(hc->c), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    hc->body_held = streams;
    hc->state = HC_BODY;
    conn_timer(hc->c, hc->c->loop->tv[LOOP_TV_BODY]);
    return 0;
}

/* ---- reading the body ---- */

static int h1_body_data(struct h1_conn *hc, gale_request *r, const char *data, size_t len)
{
    const char *why;
    hc->p->body_received += len;
    if (pipeline_body_data(r, data, len, &why) < 0) {
        if (why)
            h1_fail(hc, 400, why);
        /* else the handler answered or failed: the request is over */
        return -1;
    }
    return 0;
}

/* Feed the first `take` input bytes to the collector, then drop them. */
static int h1_body_feed(struct h1_conn *hc, gale_request *r, struct evbuffer *in, size_t take)
{
    while (take > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, (ev_ssize_t)take, NULL, &v, 1) < 1)
            break;
        size_t n = v.iov_len < take ? v.iov_len : take;
        if (h1_body_data(hc, r, v.iov_base, n) < 0)
            return -1;
        evbuffer_drain(in, n);
        take -= n;
    }
    return 0;
}

/* Returns 1 when the body is complete, 0 for more, -1 after an error answer. */
static int h1_read_chunked(struct h1_conn *hc, gale_request *r, struct evbuffer *in)
{
    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v;
        if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            return 0;
        size_t used = 0, dlen = 0;
        const char *data = NULL;
        int rc = http_chunked_parse(&hc->p->chunked, v.iov_base, v.iov_len, &used, &data, &dlen);
        if (rc == HTTP_CHUNKED_DATA && h1_body_data(hc, r, data, dlen) < 0)
            return -1;
        evbuffer_drain(in, used);
        if (rc == HTTP_CHUNKED_ERROR) {
            h1_fail(hc, 400, hc->p->chunked.reason ? hc->p->chunked.reason : "bad chunked body");
            return -1;
        }
        /* refuse as soon as a chunk size announces too much, not after reading it */
        if (hc->p->body_received + hc->p->chunked.remaining > hc->lim->max_body_size) {
            h1_fail(hc, 413, "request body too large");
            return -1;
        }
        if (rc == HTTP_CHUNKED_DONE)
            return 1;
    }
    return 0;
}

static int h1_read_body(struct h1_conn *hc, struct evbuffer *in)
{
    gale_request *r = hc->req;
    int done;
    if (hc->body_chunked) {
        done = h1_read_chunked(hc, r, in);
    } else {
        size_t avail = evbuffer_get_length(in);
        size_t take = (uint64_t)hc->p->body_left < avail ? (size_t)hc->p->body_left : avail;
        int pieces = r->upload || r->body_streams;
        if (pieces && h1_body_feed(hc, r, in, take) < 0)
            return -1;
        if (take && !pieces)
            evbuffer_remove_buffer(in, r->body, take); /* moves chains: no copy */
        hc->p->body_left -= (int64_t)take;
        done = hc->p->body_left == 0;
    }
    const char *why;
    if (done == 1 && pipeline_body_end(r, &why) < 0) {
        h1_fail(hc, 400, why);
        return -1;
    }
    return done;
}

static void h1_dispatch(struct h1_conn *hc)
{
    hc->state = HC_HANDLER;
    conn_timer(hc->c, NULL);
    pipeline_dispatch(hc->req);
}

/* ---- the state machine, run whenever input arrives ---- */

static int h1_step_head(struct h1_conn *hc)
{
    if (!hc->flat)
        h1_fill(hc, conn_in(hc->c));
    int rc = http_parse_request(&hc->p->parser, hc->in, hc->inlen, &hc->p->head);
    if (rc < 0) {
        h1_fail(hc, hc->p->parser.status, hc->p->parser.reason);
        return -1;
    }
    if (rc == 0) {
        if (hc->inlen >= hc->lim->max_header_size + 4) {
            h1_fail(hc, 431, "request head too large");
            return -1;
        }
        /* from the head's first bytes, once: a client that trickles it in
         * does not push the deadline back */
        if (!hc->head_timed) {
            conn_timer(hc->c, hc->c->loop->tv[LOOP_TV_HEADER]);
            hc->head_timed = 1;
        }
        return 0;
    }
    if (h1_begin_request(hc) < 0)
        return -1;
    if (hc->state == HC_HEAD)
        h1_dispatch(hc);
    else if (hc->body_held) {
        /* no body timeout while the session may be read: a 408 would
         * answer under the store's callback */
        conn_timer(hc->c, NULL);
        pipeline_dispatch(hc->req); /* up to prepare, before the body (h1_body_wanted) */
    }
    return 1;
}

/* The input buffer is taken where bytes wait in it: a head read flat
 * (h1_read_space) is parsed without one. */
static void h1_process(struct h1_conn *hc)
{
    hc->processing = 1;
    for (;;) {
        if (hc->state == HC_IDLE) {
            if (conn_in_len(hc->c) == 0 || conn_pending(hc->c) > H1_OUT_PAUSE)
                break;
            h1_head_begin(hc);
        }
        if (hc->state == HC_HEAD) {
            if (h1_step_head(hc) <= 0)
                break;
        } else if (hc->state == HC_BODY) {
            if (hc->body_held)
                break;
            int rc = h1_read_body(hc, conn_in(hc->c));
            if (rc <= 0)
                break;
            h1_dispatch(hc);
        } else {
            break; /* HC_HANDLER: the answer before must finish first */
        }
        if (hc->c->closing || hc->c->lingering)
            break;
    }
    /* The request may have been freed above and the connection with it only
     * through conn_close, which nothing here calls: hc is still valid. */
    hc->processing = 0;
    if (hc->head_flat) /* finished, but not over yet (h1_done sends it otherwise) */
        h1_send_flat_done(hc);
    if (hc->state == HC_UPGRADED) {
        h1_hand_over(hc, hc->upgrade);
        return;
    }
    conn_flush(hc->c);      /* every answer of this batch in one write */
    conn_read_check(hc->c); /* input was consumed: resume reading if it paused */
    h1_drained_check(hc);
}

/* wire->read_body: prepare let a streamed body come. Inside h1_process
 * (the session was at hand) its loop goes on reading; otherwise read from
 * the loop what waits in the input, as after an async answer. */
static void h1_body_wanted(gale_request *r)
{
    struct h1_conn *hc = r->stream;
    hc->body_held = 0;
    conn_timer(hc->c, hc->c->loop->tv[LOOP_TV_BODY]);
    if (hc->expect_continue) {
        hc->expect_continue = 0;
        evbuffer_add(conn_out(hc->c), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    if (hc->processing)
        return;
    conn_flush(hc->c);
    conn_read_later(hc->c);
}

/* conn's read_space: between requests, and while a head read this way is
 * incomplete, the socket is read straight into the head buffer, which is
 * taken only now that bytes are there (an idle connection holds none). The
 * buffer grows as h1_fill grows it, up to the head's limit. */
static char *h1_read_space(struct conn *c, size_t *room)
{
    struct h1_conn *hc = c->data;
    size_t limit = hc->lim->max_header_size + 4;
    if (hc->state == HC_IDLE) {
        if (!hc->in) {
            hc->in = h1_in_take();
            hc->incap = H1_IN_INITIAL;
        }
        hc->inlen = 0;
    } else if (hc->state != HC_HEAD || !hc->flat || hc->inlen >= limit) {
        return NULL; /* the input buffer's turn (at the limit: h1_step_head refuses) */
    }
    if (hc->inlen + 1 >= hc->incap && hc->inlen < limit) {
        hc->incap *= 2;
        hc->in = xrealloc(hc->in, hc->incap);
    }
    size_t n = hc->incap - 1 - hc->inlen; /* a byte spare, as in h1_fill */
    if (n > limit - hc->inlen)
        n = limit - hc->inlen;
    *room = n;
    return n ? hc->in + hc->inlen : NULL;
}

static void h1_read_into(struct conn *c, size_t n)
{
    struct h1_conn *hc = c->data;
    if (n == 0) {
        if (hc->state == HC_IDLE)
            h1_idle(hc); /* a wake-up with nothing to read: hold nothing */
        return;
    }
    if (hc->state == HC_IDLE) {
        h1_head_begin(hc);
        hc->flat = 1;
    }
    hc->inlen += n;
    h1_process(hc);
}

static void h1_read(struct conn *c)
{
    struct h1_conn *hc = c->data;
    if (hc->state == HC_BODY && !hc->body_held)
        conn_timer(c, hc->c->loop->tv[LOOP_TV_BODY]);
    h1_process(hc);
}

static void h1_write(struct conn *c)
{
    struct h1_conn *hc = c->data;
    if (hc->drain_watch && hc->req && conn_pending(c) == 0) {
        h1_drained(hc); /* inside the connection's callback: c and hc outlive it */
        return;
    }
    if (hc->state == HC_IDLE && conn_in_len(c))
        h1_process(hc);
    else if (hc->state == HC_IDLE)
        h1_idle(hc); /* the answer the kernel pushed back has left: its buffers go too */
}

static void h1_eof(struct conn *c)
{
    struct h1_conn *hc = c->data;
    size_t pending = conn_in_len(c);
    if (hc->state == HC_HANDLER && pending && !hc->c->error)
        return; /* pipelined requests are still to be answered; then it closes */
    if (hc->state == HC_IDLE && pending && !hc->c->error) {
        h1_process(hc);
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

static void h1_timeout(struct conn *c)
{
    struct h1_conn *hc = c->data;
    if (hc->state == HC_IDLE) {
        conn_close(c);
    } else if (hc->state == HC_HEAD && hc->inlen == 0) {
        conn_close(c);
    } else if (hc->state == HC_HEAD || hc->state == HC_BODY) {
        h1_fail(hc, 408,
                hc->state == HC_HEAD ? "request head not received in time"
                                     : "request body not received in time");
    }
}

static void h1_drain(struct conn *c)
{
    struct h1_conn *hc = c->data;
    if (hc->state == HC_IDLE && !conn_in_len(c))
        conn_timer(c, hc->c->loop->tv[LOOP_TV_DRAIN_IDLE]);
}
