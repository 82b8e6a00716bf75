/*
 * h2_answer.c - the way out of an HTTP/2 stream's answer: the head as
 * HEADERS (HTTP/1's connection-specific fields dropped, names lowercased),
 * the body through a deferred data provider as the client's windows allow,
 * and the answer's end. These are the wire operations of h2.c's table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <nghttp2/nghttp2.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/util.h"
#include "http/h2_impl.h"
#include "http/pipeline.h"
#include "http/request.h"
#include "net/conn.h"

static void h2_nv(nghttp2_nv *nv, const char *name, size_t nlen, const char *value, size_t vlen)
{
    nv->name = (uint8_t *)name;
    nv->namelen = nlen;
    nv->value = (uint8_t *)value;
    nv->valuelen = vlen;
    nv->flags = NGHTTP2_NV_FLAG_NONE;
}

/* HTTP/1's connection-specific fields have no place in HTTP/2 (RFC 9113
 * 8.2.2): a handler's or stage's are dropped. */
static int h2_connection_field(const char *name)
{
    static const char *const names[] = {"connection", "keep-alive", "proxy-connection",
                                        "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* Field names are lowercase in HTTP/2 (RFC 9113 8.2.1). */
static char *h2_lower(struct arena *a, const char *s, size_t *len)
{
    *len = strlen(s);
    char *l = arena_alloc(a, *len + 1);
    for (size_t i = 0; i <= *len; i++)
        l[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
    return l;
}

static ssize_t h2_data_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                            uint32_t *flags, nghttp2_data_source *source, void *user)
{
    struct h2_stream *st = source->ptr;
    size_t have = evbuffer_get_length(st->out);
    if (have == 0 && !st->ended) {
        st->deferred = 1;
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = have < length ? have : length;
    /* the bytes move to the socket's buffer in h2_data_send: no copy here,
     * and file segments stay sendfile's */
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == have && st->ended)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

int h2_data_send(nghttp2_session *s, nghttp2_frame *frame, const uint8_t *framehd, size_t length,
                 nghttp2_data_source *source, void *user)
{
    struct h2_conn *hc = user;
    struct h2_stream *st = source->ptr;
    struct evbuffer *out = conn_out(hc->c);
    if (conn_pending(hc->c) > H2_OUT_HIGH)
        return NGHTTP2_ERR_WOULDBLOCK;
    evbuffer_add(out, framehd, 9);
    evbuffer_remove_buffer(st->out, out, length);
    st->moved = util_now();
    if (st->req)
        st->req->bytes_out += length;
    return 0;
}

int h2_send_head(gale_request *r, int streaming)
{
    struct h2_stream *st = r->stream;
    struct h2_conn *hc = st->hc;
    nghttp2_nv *nva = arena_alloc(r->arena, sizeof(nghttp2_nv) * (r->nrh + 4));
    size_t n = 0;
    char *status = arena_alloc(r->arena, 4);
    status[0] = (char)('0' + r->status / 100 % 10);
    status[1] = (char)('0' + r->status / 10 % 10);
    status[2] = (char)('0' + r->status % 10);
    status[3] = '\0';
    h2_nv(&nva[n++], ":status", 7, status, 3);
    size_t dlen;
    const char *date = loop_date_header(r->loop, &dlen);
    /* the loop's "Date: ...\r\n": the value alone */
    if (dlen > 8)
        h2_nv(&nva[n++], "date", 4, date + 6, dlen - 8);
    if (r->loop->server_len > 10)
        h2_nv(&nva[n++], "server", 6, r->loop->server + 8, r->loop->server_len - 10);
    for (size_t i = 0; i < r->nrh; i++) {
        if (h2_connection_field(r->rh[i].name))
            continue;
        size_t nlen;
        char *name = h2_lower(r->arena, r->rh[i].name, &nlen);
        h2_nv(&nva[n++], name, nlen, r->rh[i].value, strlen(r->rh[i].value));
    }
    int body = !pipeline_status_no_body(r->status);
    if (body && (!streaming || r->length_known)) {
        char *len = arena_alloc(r->arena, 24);
        unsigned long long v = r->length_known ? r->known_length : evbuffer_get_length(r->out);
        int l = snprintf(len, 24, "%llu", v);
        h2_nv(&nva[n++], "content-length", 14, len, (size_t)l);
    }
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = h2_data_read};
    st->moved = util_now();
    int rc = nghttp2_submit_response(hc->s, st->id, nva, n, body && !r->is_head ? &prd : NULL);
    if (rc != 0)
        return -1;
    r->head_sent = 1;
    return 0;
}

void h2_resume(struct h2_stream *st)
{
    if (st->deferred) {
        st->deferred = 0;
        st->moved = util_now(); /* the answer waits from now, not from its last piece */
        nghttp2_session_resume_data(st->hc->s, st->id);
    }
}

void h2_send_body(gale_request *r)
{
    struct h2_stream *st = r->stream;
    size_t len = evbuffer_get_length(r->out);
    if (r->is_head || pipeline_status_no_body(r->status) || len == 0) {
        evbuffer_drain(r->out, len);
        return;
    }
    evbuffer_add_buffer(st->out, r->out);
    h2_resume(st);
}

/* Frames leave from the loop, never inside a call of the pipeline's:
 * sending may close the stream, and its request must be done by then. */
void h2_flush(gale_request *r)
{
    struct h2_stream *st = r->stream;
    if (st->hc->processing)
        return; /* h2_read sends when nghttp2 returns */
    h2_later(st->hc);
}

void h2_end(gale_request *r)
{
    struct h2_stream *st = r->stream;
    if (r->upgrade) {
        /* a WebSocket's handshake: the stream lives on (h2_done) */
    } else if (r->broken) {
        nghttp2_submit_rst_stream(st->hc->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    } else {
        st->ended = 1;
        h2_resume(st);
        /* the answer came before the body's end (an error, or a handler
         * that did not wait): the rest is not wanted (RFC 9113 8.1) */
        if (!st->closed && !st->remote_ended &&
            !nghttp2_session_get_stream_remote_close(st->hc->s, st->id))
            st->reset_after = 1; /* once the answer is out: h2_on_frame_send */
    }
    h2_flush(r);
}
