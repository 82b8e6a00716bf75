/*
 * apiv2b.c - a test module for part B of module API 2, driven by
 * tests/blackbox/20-api-v2-streams.py:
 *
 *   settings   GET: the route's settings as JSON.
 *   timers     GET: what the module's timers (started by init) did, as JSON.
 *   stream     GET ?size=N&piece=P: N bytes in pieces of P, each written
 *              from the previous one's gale_response_flush_then callback.
 *              Piece i is its index (4 bytes, big-endian) then bytes j & 0xff.
 *   flushed    GET: "first;" then, from the flush_then callback, "later"
 *              (or "inside" if the callback ran inside the call).
 *   upload     POST, body streamed to data_received: answers JSON with the
 *              body's sha256, bytes, pieces, what gale_request_body gave.
 *              ?fail=N: data_received fails once N bytes arrived; ?answer=N:
 *              it answers 422 itself once N bytes arrived.
 *   token      GET: an XSRF token (and its cookie).
 *   stats      GET: the module's counters as JSON.
 *   wsinfo     WebSocket: the message "info" is answered with the upgrade
 *              request's path, captures and user as JSON, read after open.
 *              check_origin allows no Origin and https://good.example only.
 *
 * Module setting fail_init = true: init fails (a worker that cannot start).
 * The current user is the X-User header (the module's current_user hook).
 * Lines in gale's error log: "apiv2b: ..." (shutdown, aborts).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <gale/gale.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long query_number(gale_request *r, const char *name, long long dflt)
{
    const char *v = gale_request_query(r, name);
    return v ? atoll(v) : dflt;
}

/* ---- route settings ---- */

static int settings_get(gale_request *r)
{
    const json_t *s = gale_request_route_settings(r);
    if (!s)
        return GALE_ERROR;
    return gale_response_json(r, s) == 0 ? GALE_OK : GALE_ERROR;
}

/* ---- timers ---- */

#define OVERRUN_CALLS 12

static struct {
    int once;          /* the once-timer ran */
    int cancelled;     /* the timer cancelled before it was due ran (never) */
    int self_once;     /* the once-timer that cancels itself inside its call */
    int self_periodic; /* the periodic timer that cancels itself on its 3rd call */
    int bad_args_refused;
    int overrun_calls;
    double overrun_start[OVERRUN_CALLS], overrun_end[OVERRUN_CALLS];
    gale_timer *self_periodic_t, *self_once_t, *overrun_t, *pending_t;
} timers;

static void once_cb(gale_ctx *ctx, void *arg)
{
    timers.once++;
}

static void cancelled_cb(gale_ctx *ctx, void *arg)
{
    timers.cancelled++;
}

static void self_once_cb(gale_ctx *ctx, void *arg)
{
    timers.self_once++;
    gale_timer_cancel(timers.self_once_t); /* allowed inside its own call */
    timers.self_once_t = NULL;
}

static void self_periodic_cb(gale_ctx *ctx, void *arg)
{
    if (++timers.self_periodic == 3) {
        gale_timer_cancel(timers.self_periodic_t);
        timers.self_periodic_t = NULL;
    }
}

/* Every 50 ms; the third call blocks for 500 ms: the ten times it ran past
 * must not come in a burst afterwards. */
static void overrun_cb(gale_ctx *ctx, void *arg)
{
    int i = timers.overrun_calls++;
    timers.overrun_start[i] = now();
    if (i == 2)
        usleep(500 * 1000);
    timers.overrun_end[i] = now();
    if (timers.overrun_calls == OVERRUN_CALLS) {
        gale_timer_cancel(timers.overrun_t);
        timers.overrun_t = NULL;
    }
}

static void never_cb(gale_ctx *ctx, void *arg)
{
}

static int timers_start(gale_ctx *ctx)
{
    timers.bad_args_refused =
        !gale_call_later(ctx, -1, once_cb, NULL) && !gale_call_later(ctx, 1, NULL, NULL) &&
        !gale_periodic(ctx, 0, once_cb, NULL) && !gale_periodic(ctx, NAN, once_cb, NULL);
    gale_timer *never = gale_call_later(ctx, 0.1, cancelled_cb, NULL);
    gale_timer_cancel(never);
    timers.self_once_t = gale_call_later(ctx, 0.02, self_once_cb, NULL);
    timers.self_periodic_t = gale_periodic(ctx, 0.02, self_periodic_cb, NULL);
    timers.overrun_t = gale_periodic(ctx, 0.05, overrun_cb, NULL);
    /* still pending when the worker stops: one cancelled by shutdown, one
     * left for gale to free */
    timers.pending_t = gale_periodic(ctx, 3600, never_cb, NULL);
    return gale_call_later(ctx, 0.05, once_cb, NULL) && never && timers.self_once_t &&
                   timers.self_periodic_t && timers.overrun_t && timers.pending_t &&
                   gale_call_later(ctx, 3600, never_cb, NULL)
               ? 0
               : -1;
}

static int timers_get(gale_request *r)
{
    json_t *o = json_pack("{s:i, s:i, s:i, s:i, s:b, s:i}", "once", timers.once, "cancelled",
                          timers.cancelled, "self_once", timers.self_once, "self_periodic",
                          timers.self_periodic, "bad_args_refused", timers.bad_args_refused,
                          "overrun_calls", timers.overrun_calls);
    json_t *calls = json_array();
    for (int i = 0; i < timers.overrun_calls && i < OVERRUN_CALLS; i++)
        json_array_append_new(calls,
                              json_pack("[f, f]", timers.overrun_start[i], timers.overrun_end[i]));
    json_object_set_new(o, "overrun", calls);
    int rc = gale_response_json(r, o);
    json_decref(o);
    return rc == 0 ? GALE_OK : GALE_ERROR;
}

/* ---- streaming out with flush_then ---- */

static struct {
    int drained;          /* flush_then callbacks */
    int inside;           /* callbacks that ran inside gale_response_flush_then */
    int drained_at_abort; /* drained when the last stream's client went away */
    int aborts;
} out;

static int in_flush_call;

struct stream {
    long long size, piece, sent, index;
};

static void stream_next(gale_request *r, void *arg);

/* Write the next piece and ask to hear when it has left. */
static int stream_piece(gale_request *r, struct stream *s)
{
    long long n = s->size - s->sent < s->piece ? s->size - s->sent : s->piece;
    unsigned char *buf = malloc((size_t)n);
    if (!buf)
        return -1;
    for (long long j = 0; j < n; j++)
        buf[j] = (unsigned char)(j & 0xff);
    for (int k = 0; k < 4 && k < n; k++)
        buf[k] = (unsigned char)(s->index >> (24 - 8 * k));
    int rc = gale_response_write(r, buf, (size_t)n);
    free(buf);
    s->sent += n;
    s->index++;
    in_flush_call = 1;
    if (rc == 0)
        rc = gale_response_flush_then(r, stream_next, s);
    in_flush_call = 0;
    return rc;
}

static void stream_next(gale_request *r, void *arg)
{
    struct stream *s = arg;
    out.drained++;
    out.inside += in_flush_call;
    if (s->sent >= s->size || stream_piece(r, s) < 0)
        gale_response_finish(r);
}

static void stream_abort(gale_request *r, void *arg)
{
    out.aborts++;
    out.drained_at_abort = out.drained;
    gale_log(GALE_LOG_INFO, "apiv2b: stream aborted after %d callbacks", out.drained);
    gale_response_finish(r);
}

static int stream_get(gale_request *r)
{
    struct stream *s = gale_request_alloc(r, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->size = query_number(r, "size", 1 << 20);
    s->piece = query_number(r, "piece", 65536);
    if (s->piece < 4 || s->size < 0)
        return GALE_ERROR;
    gale_request_on_abort(r, stream_abort, NULL);
    gale_response_header(r, "Content-Type", "application/octet-stream");
    return stream_piece(r, s) == 0 ? GALE_ASYNC : GALE_ERROR;
}

static void flushed_next(gale_request *r, void *arg)
{
    gale_response_puts(r, in_flush_call ? "inside" : "later");
    gale_response_finish(r);
}

static int flushed_get(gale_request *r)
{
    gale_response_puts(r, "first;");
    in_flush_call = 1;
    int rc = gale_response_flush_then(r, flushed_next, NULL);
    in_flush_call = 0;
    return rc == 0 ? GALE_ASYNC : GALE_ERROR;
}

/* ---- streamed uploads ---- */

/* An upload in progress: found again from the request (gale has no
 * per-request pointer for modules), unlinked by the request's cleanup. */
struct upload {
    gale_request *r;
    EVP_MD_CTX *md;
    long long bytes, pieces, fail_at, answer_at;
    struct upload *next;
};

static struct upload *uploads;

static struct {
    int prepares, data_calls, finished, aborts, posts;
    long long bytes_now; /* bytes of the uploads in progress so far */
} up;

static struct upload *upload_of(gale_request *r)
{
    for (struct upload *u = uploads; u; u = u->next)
        if (u->r == r)
            return u;
    return NULL;
}

static void upload_free(void *arg)
{
    struct upload *u = arg;
    for (struct upload **p = &uploads; *p; p = &(*p)->next)
        if (*p == u) {
            *p = u->next;
            break;
        }
    EVP_MD_CTX_free(u->md);
    free(u);
}

static void upload_abort(gale_request *r, void *arg)
{
    struct upload *u = upload_of(r);
    up.aborts++;
    gale_log(GALE_LOG_INFO, "apiv2b: upload aborted after %lld bytes", u ? u->bytes : -1);
}

static int upload_prepare(gale_request *r)
{
    struct upload *u = calloc(1, sizeof(*u));
    if (!u)
        return GALE_ERROR;
    up.prepares++;
    u->r = r;
    u->md = EVP_MD_CTX_new();
    u->fail_at = query_number(r, "fail", -1);
    u->answer_at = query_number(r, "answer", -1);
    u->next = uploads;
    uploads = u;
    gale_request_cleanup(r, upload_free, u);
    gale_request_on_abort(r, upload_abort, NULL);
    return u->md && EVP_DigestInit_ex(u->md, EVP_sha256(), NULL) == 1 ? GALE_OK : GALE_ERROR;
}

static int upload_data(gale_request *r, const char *data, size_t len)
{
    struct upload *u = upload_of(r);
    up.data_calls++;
    if (!u || len == 0)
        return GALE_ERROR;
    u->bytes += (long long)len;
    u->pieces++;
    up.bytes_now += (long long)len;
    EVP_DigestUpdate(u->md, data, len);
    if (u->fail_at >= 0 && u->bytes >= u->fail_at)
        return GALE_ERROR;
    if (u->answer_at >= 0 && u->bytes >= u->answer_at)
        gale_response_error(r, 422, "enough of that");
    return GALE_OK;
}

static int upload_post(gale_request *r)
{
    struct upload *u = upload_of(r);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    size_t body_len;
    const char *body = gale_request_body(r, &body_len);
    const char *q = gale_request_argument(r, "q");
    const char *user = gale_request_user(r);
    up.posts++;
    if (!u || EVP_DigestFinal_ex(u->md, md, &mdlen) != 1)
        return GALE_ERROR;
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s?, s:s?}", "sha256", hex, "bytes",
                          (json_int_t)u->bytes, "pieces", (json_int_t)u->pieces, "body_len",
                          (json_int_t)body_len, "body", body, "q", q, "user", user);
    int rc = gale_response_json(r, o);
    json_decref(o);
    return rc == 0 ? GALE_OK : GALE_ERROR;
}

static void upload_finish(gale_request *r)
{
    struct upload *u = upload_of(r);
    up.finished++;
    if (u)
        up.bytes_now -= u->bytes;
}

static int token_get(gale_request *r)
{
    return gale_response_puts(r, gale_request_xsrf_token(r)) == 0 ? GALE_OK : GALE_ERROR;
}

static int stats_get(gale_request *r)
{
    json_t *o = json_pack("{s:i, s:i, s:i, s:i, s:i, s:I, s:i, s:i, s:i, s:i}", "prepares",
                          up.prepares, "data_calls", up.data_calls, "finished", up.finished,
                          "upload_aborts", up.aborts, "posts", up.posts, "bytes_now",
                          (json_int_t)up.bytes_now, "drained", out.drained, "inside", out.inside,
                          "drained_at_abort", out.drained_at_abort, "stream_aborts", out.aborts);
    int rc = gale_response_json(r, o);
    json_decref(o);
    return rc == 0 ? GALE_OK : GALE_ERROR;
}

/* ---- WebSocket ---- */

static int wsinfo_origin(gale_request *r, const char *origin)
{
    return !origin || strcmp(origin, "https://good.example") == 0;
}

static void wsinfo_message(gale_ws *ws, const char *data, size_t len, int binary)
{
    if (len != 4 || memcmp(data, "info", 4) != 0)
        return;
    json_t *caps = json_array();
    for (size_t i = 1; i <= gale_ws_capture_count(ws) + 1; i++) /* one past: NULL */
        json_array_append_new(caps, gale_ws_capture(ws, i) ? json_string(gale_ws_capture(ws, i))
                                                           : json_null());
    json_t *o =
        json_pack("{s:s, s:I, s:o, s:s?}", "path", gale_ws_path(ws), "count",
                  (json_int_t)gale_ws_capture_count(ws), "caps", caps, "user", gale_ws_user(ws));
    char *text = json_dumps(o, JSON_COMPACT);
    if (text)
        gale_ws_send(ws, text, strlen(text), 0);
    free(text);
    json_decref(o);
}

static const gale_websocket wsinfo_callbacks = {
    .message = wsinfo_message,
    .check_origin = wsinfo_origin,
};

/* ---- the module ---- */

static const char *apiv2b_user(gale_request *r)
{
    return gale_request_header(r, "X-User");
}

static int apiv2b_init(gale_ctx *ctx, const json_t *settings)
{
    if (json_is_true(json_object_get(settings, "fail_init"))) {
        gale_log(GALE_LOG_ERROR, "apiv2b: init fails, as its settings ask");
        return -1;
    }
    return timers_start(ctx);
}

static void apiv2b_shutdown(gale_ctx *ctx)
{
    /* gale frees pending timers after this hook: the handle is still valid */
    gale_timer_cancel(timers.pending_t);
    gale_log(GALE_LOG_INFO, "apiv2b: shutdown, a pending timer cancelled");
}

static const gale_handler apiv2b_handlers[] = {
    {.name = "settings", .get = settings_get},
    {.name = "timers", .get = timers_get},
    {.name = "stream", .get = stream_get},
    {.name = "flushed", .get = flushed_get},
    {.name = "upload",
     .post = upload_post,
     .put = upload_post,
     .prepare = upload_prepare,
     .on_finish = upload_finish,
     .data_received = upload_data},
    {.name = "token", .get = token_get},
    {.name = "stats", .get = stats_get},
    {.name = "wsinfo", .websocket = &wsinfo_callbacks},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,          .name = "apiv2b",
    .init = apiv2b_init,         .shutdown = apiv2b_shutdown,
    .handlers = apiv2b_handlers, .current_user = apiv2b_user,
};
