/*
 * h2_guard.c - what HTTP/2 clients may not do beyond what nghttp2 checks:
 * new streams below the highest id (RFC 9113 5.1.1), resets and empty
 * frames faster than a rate (rapid reset, CVE-2023-44487; empty-frame
 * floods), and the GOAWAY code for the errors nghttp2 stops reading at.
 */
#include <stdint.h>

#include <nghttp2/nghttp2.h>

#include "core/log.h"
#include "core/util.h"
#include "http/h2_impl.h"
#include "net/conn.h"

/* Remember which of the last 64 stream ids below the highest the client
 * opened, so that a new stream with a lower id is told from late frames
 * on a stream that was open (h2_on_begin_frame). */
void h2_opened(struct h2_conn *hc, int32_t id)
{
    if (id > hc->max_id) {
        int32_t shift = (id - hc->max_id) / 2;
        hc->opened = shift >= 64 ? 0 : hc->opened << shift;
        hc->max_id = id;
    }
    int32_t back = (hc->max_id - id) / 2;
    if (back < 64)
        hc->opened |= (uint64_t)1 << back;
}

/* RFC 9113 5.1.1: a new stream's id must be above every id used before.
 * nghttp2 ignores HEADERS on a lower id it no longer knows, since they
 * may be trailers on a stream it reset; an id that was never opened is a
 * new stream out of order: a connection error. */
int h2_on_begin_frame(nghttp2_session *s, const nghttp2_frame_hd *hd, void *user)
{
    struct h2_conn *hc = user;
    if (hd->type != NGHTTP2_HEADERS || !(hd->stream_id & 1) || hd->stream_id >= hc->max_id ||
        nghttp2_session_find_stream(s, hd->stream_id))
        return 0;
    int32_t back = (hc->max_id - hd->stream_id) / 2;
    if (back < 64 && !(hc->opened & ((uint64_t)1 << back))) {
        log_debug("%s: HTTP/2: stream %d opened after %d", hc->c->client, hd->stream_id,
                  hc->max_id);
        nghttp2_session_terminate_session(s, NGHTTP2_PROTOCOL_ERROR);
    }
    return 0;
}

/* Take a token; a client that empties the bucket is told to calm down and
 * is closed: rapid reset (CVE-2023-44487), empty-frame floods. */
int h2_bucket_take(struct h2_conn *hc, struct h2_bucket *b, double burst, double rate,
                   const char *what)
{
    double now = util_now();
    b->tokens += (now - b->time) * rate;
    if (b->tokens > burst)
        b->tokens = burst;
    b->time = now;
    if (b->tokens < 1) {
        log_info("%s: HTTP/2 client sends %s too fast: closing", hc->c->client, what);
        nghttp2_session_terminate_session(hc->s, NGHTTP2_ENHANCE_YOUR_CALM);
        return -1;
    }
    b->tokens -= 1;
    return 0;
}

/* The GOAWAY code for an error nghttp2 stops reading at. */
uint32_t h2_fatal_code(int rc)
{
    switch (rc) {
    case NGHTTP2_ERR_FLOODED:
    case NGHTTP2_ERR_TOO_MANY_CONTINUATIONS: /* CVE-2024-27316 */
    case NGHTTP2_ERR_TOO_MANY_SETTINGS:
        return NGHTTP2_ENHANCE_YOUR_CALM;
    case NGHTTP2_ERR_NOMEM:
    case NGHTTP2_ERR_CALLBACK_FAILURE:
        return NGHTTP2_INTERNAL_ERROR;
    default: /* a bad preface, a frame out of place */
        return NGHTTP2_PROTOCOL_ERROR;
    }
}
