/*
 * h2_guard.c - what HTTP/2 clients may not do beyond what nghttp2 checks:
 * new streams below the highest id and frames on closed streams (RFC 9113
 * 5.1.1, 5.1), DATA beyond the windows we advertised and SETTINGS that push
 * a window past 2^31-1 (6.9.1, 6.9.2), resets and empty frames faster than
 * a rate (rapid reset, CVE-2023-44487; empty-frame floods), and the GOAWAY
 * code for the errors nghttp2 stops reading at.
 */
#include <stdint.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "core/log.h"
#include "core/util.h"
#include "http/h2_impl.h"
#include "http/h2_settings.h"
#include "net/conn.h"

/* Remember which of the last 64 stream ids below the highest the client
 * opened, so that a new stream with a lower id is told from late frames
 * on a stream that was open (h2_on_begin_frame). */
void h2_opened(struct h2_conn *hc, int32_t id)
{
    if (id > hc->max_id) {
        int32_t shift = (id - hc->max_id) / 2;
        hc->opened = shift >= 64 ? 0 : hc->opened << shift;
        hc->shut = shift >= 64 ? 0 : hc->shut << shift;
        hc->max_id = id;
    }
    int32_t back = (hc->max_id - id) / 2;
    if (back < 64)
        hc->opened |= (uint64_t)1 << back;
}

void h2_guard_closed(struct h2_conn *hc, const struct h2_stream *st)
{
    int32_t back = (hc->max_id - st->id) / 2;
    if (!st->reset_sent && back < 64)
        hc->shut |= (uint64_t)1 << back;
}

/* HEADERS or DATA on a stream below the highest id that nghttp2 no longer
 * knows. RFC 9113 5.1.1: a new stream's id must be above every id used
 * before; an id never opened is a new stream out of order. 5.1: a stream
 * closed by both ends' END_STREAM, or by the client's RST_STREAM, takes no
 * more frames: STREAM_CLOSED. nghttp2 would tell the latter by the closed
 * streams it keeps, but keeps none once SETTINGS_NO_RFC7540_PRIORITIES is
 * ours. Frames on a stream we reset may have been in flight: ignored, and
 * so are trailers there. */
static void h2_guard_late(struct h2_conn *hc, uint8_t type, int32_t id)
{
    if (!(id & 1) || id > hc->max_id || nghttp2_session_find_stream(hc->s, id))
        return;
    int32_t back = (hc->max_id - id) / 2;
    if (back >= 64)
        return;
    uint64_t bit = (uint64_t)1 << back;
    if (type == NGHTTP2_HEADERS && !(hc->opened & bit)) {
        log_debug("%s: HTTP/2: stream %d opened after %d", hc->c->client, id, hc->max_id);
        nghttp2_session_terminate_session(hc->s, NGHTTP2_PROTOCOL_ERROR);
    } else if (hc->shut & bit) {
        log_debug("%s: HTTP/2: a frame on closed stream %d", hc->c->client, id);
        nghttp2_session_terminate_session(hc->s, NGHTTP2_STREAM_CLOSED);
    }
}

/* RFC 9113 5.3.1: a stream cannot depend on itself (PROTOCOL_ERROR). The
 * deprecated priority block is still parsed by every endpoint, but nghttp2
 * skips it unread once the client sent SETTINGS_NO_RFC7540_PRIORITIES = 1;
 * it is read here for every client (nghttp2's own check, for the others,
 * ends the connection the same way). */
static void h2_guard_priority(struct h2_conn *hc)
{
    const uint8_t *d = hc->scan_pri + hc->scan_pri_need - 4; /* past a pad length */
    int32_t dep = (int32_t)((uint32_t)(d[0] & 0x7f) << 24 | (uint32_t)d[1] << 16 |
                            (uint32_t)d[2] << 8 | d[3]);
    if (dep != hc->scan_pri_sid)
        return;
    log_debug("%s: HTTP/2: stream %d depends on itself", hc->c->client, dep);
    nghttp2_session_terminate_session(hc->s, NGHTTP2_PROTOCOL_ERROR);
}

/* The octets of a frame's priority block, from its head: a PRIORITY frame
 * of the right size, or HEADERS with the PRIORITY flag (after the pad
 * length, when PADDED); 0 for any other frame. */
static uint8_t h2_guard_priority_len(const uint8_t h[9], size_t len)
{
    size_t need = 0;
    if (h[3] == NGHTTP2_PRIORITY && len == 5) /* the dependency and the weight */
        need = 4;
    else if (h[3] == NGHTTP2_HEADERS && (h[4] & NGHTTP2_FLAG_PRIORITY))
        need = (h[4] & NGHTTP2_FLAG_PADDED) ? 5 : 4;
    return need <= len ? (uint8_t)need : 0;
}

/* nghttp2 ignores DATA on a stream it does not know without a callback,
 * even on_begin_frame: the heads of DATA frames are read here, from the
 * bytes it is about to take (after the client's preface), and so are the
 * priority blocks. Streams only ever close, so a look ahead of nghttp2
 * within the bytes sees no stream closed that is not. */
void h2_guard_scan(struct h2_conn *hc, const uint8_t *p, size_t len)
{
    while (len) {
        size_t n;
        if (hc->scan_pri_need) {
            n = (size_t)(hc->scan_pri_need - hc->scan_pri_have);
            n = n < len ? n : len;
            memcpy(hc->scan_pri + hc->scan_pri_have, p, n);
            hc->scan_pri_have = (uint8_t)(hc->scan_pri_have + n);
            p += n;
            len -= n;
            if (hc->scan_pri_have < hc->scan_pri_need)
                break;
            h2_guard_priority(hc);
            hc->scan_pri_need = 0;
            continue;
        }
        if (hc->scan_skip) {
            n = hc->scan_skip < len ? hc->scan_skip : len;
            hc->scan_skip -= n;
            p += n;
            len -= n;
            continue;
        }
        n = sizeof(hc->scan_head) - hc->scan_have;
        n = n < len ? n : len;
        memcpy(hc->scan_head + hc->scan_have, p, n);
        hc->scan_have += n;
        p += n;
        len -= n;
        if (hc->scan_have < sizeof(hc->scan_head))
            break;
        const uint8_t *h = hc->scan_head;
        hc->scan_have = 0;
        size_t flen = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
        int32_t sid = (int32_t)((uint32_t)(h[5] & 0x7f) << 24 | (uint32_t)h[6] << 16 |
                                (uint32_t)h[7] << 8 | h[8]);
        if (h[3] == NGHTTP2_DATA)
            h2_guard_late(hc, h[3], sid);
        hc->scan_pri_need = h2_guard_priority_len(h, flen);
        hc->scan_pri_have = 0;
        hc->scan_pri_sid = sid;
        hc->scan_skip = flen - hc->scan_pri_need;
    }
}

/* RFC 9113 6.9.1: DATA beyond a window we advertised. nghttp2 checks too,
 * but it counts what gale consumed as given back at once, before the
 * WINDOW_UPDATE has left, so a client that ignores the windows goes
 * unnoticed while gale reads; here only WINDOW_UPDATEs sent count. The
 * whole frame counts when it begins: nghttp2 checks piece by piece. A
 * stream's window overrun ends the connection too (5.4.1 allows it): the
 * client ignores flow control. */
static void h2_guard_data(struct h2_conn *hc, const nghttp2_frame_hd *hd)
{
    if (hd->stream_id == 0)
        return; /* nghttp2's PROTOCOL_ERROR */
    hc->data_in += hd->length;
    int over = hc->data_in > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE + hc->granted;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(hc->s, hd->stream_id);
    if (st) {
        /* until the client takes our SETTINGS, it may go by the default */
        uint64_t initial = hc->set->initial_window;
        if (!hc->settings_acked && initial < NGHTTP2_INITIAL_WINDOW_SIZE)
            initial = NGHTTP2_INITIAL_WINDOW_SIZE;
        st->data_in += hd->length;
        over |= st->data_in > initial + st->granted;
    }
    if (over) {
        log_info("%s: HTTP/2 client sends DATA beyond the window: closing", hc->c->client);
        nghttp2_session_terminate_session(hc->s, NGHTTP2_FLOW_CONTROL_ERROR);
    }
}

void h2_guard_granted(struct h2_conn *hc, const nghttp2_frame *frame)
{
    uint32_t n = (uint32_t)frame->window_update.window_size_increment;
    if (frame->hd.stream_id == 0) {
        hc->granted += n;
        return;
    }
    struct h2_stream *st = nghttp2_session_get_stream_user_data(hc->s, frame->hd.stream_id);
    if (st)
        st->granted += n;
}

/* Before a SETTINGS frame is taken: nghttp2 resets a stream whose window
 * it would push past 2^31-1, where RFC 9113 6.9.2 asks for a connection
 * error; and once it has taken the frame, the windows before are gone. */
static void h2_guard_window_top(struct h2_conn *hc)
{
    hc->window_top = -1;
    hc->initial_before =
        nghttp2_session_get_remote_settings(hc->s, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE);
    for (struct h2_stream *st = hc->streams; st; st = st->next) {
        int32_t w = st->closed ? -1 : nghttp2_session_get_stream_remote_window_size(hc->s, st->id);
        if (w > hc->window_top)
            hc->window_top = w;
    }
}

void h2_guard_settings(struct h2_conn *hc, const nghttp2_frame *frame)
{
    if (frame->hd.flags & NGHTTP2_FLAG_ACK) {
        hc->settings_acked = 1;
        return;
    }
    if (hc->window_top < 0)
        return;
    /* each entry moves every stream's window by its change, as nghttp2 does */
    int64_t w = hc->window_top, initial = hc->initial_before;
    for (size_t i = 0; i < frame->settings.niv; i++) {
        const nghttp2_settings_entry *e = &frame->settings.iv[i];
        if (e->settings_id != NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE)
            continue;
        w += (int64_t)e->value - initial;
        initial = e->value;
        if (w > NGHTTP2_MAX_WINDOW_SIZE) {
            log_info("%s: HTTP/2: SETTINGS push a window past 2^31-1", hc->c->client);
            nghttp2_session_terminate_session(hc->s, NGHTTP2_FLOW_CONTROL_ERROR);
            return;
        }
    }
}

int h2_on_begin_frame(nghttp2_session *s, const nghttp2_frame_hd *hd, void *user)
{
    struct h2_conn *hc = user;
    if (hd->type == NGHTTP2_DATA)
        h2_guard_data(hc, hd);
    else if (hd->type == NGHTTP2_SETTINGS && !(hd->flags & NGHTTP2_FLAG_ACK))
        h2_guard_window_top(hc);
    else if (hd->type == NGHTTP2_HEADERS)
        h2_guard_late(hc, hd->type, hd->stream_id);
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
        hc->c->linger = 1; /* it is still sending: a reset would lose the GOAWAY */
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
