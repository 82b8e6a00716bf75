/*
 * chantest.c - a test module for causal publish, history and Server-Sent
 * Events, driven by tests/blackbox/32-channels.py:
 *
 *   pub      POST ?channel=NAME: publish the body with gale_publish_then;
 *            answered once sequenced: "WORKER EPOCH OFFSET\n" (500 if lost).
 *   pubfast  POST ?channel=NAME: gale_publish; "WORKER\n" at once.
 *   events   GET ?channel=NAME[&event=E][&keepalive=S]: gale_request_sse,
 *            then a comment ": worker N".
 *   since    WebSocket on ?channel=NAME&epoch=E&offset=O: the messages
 *            after O (gale_subscribe_since) as text "EPOCH OFFSET MSG", a
 *            loss as "lost EPOCH OFFSET".
 *   whoami   GET: "WORKER PID\n".
 *   waitsince GET ?channel=NAME&epoch=E&offset=O[&timeout=S]: a long poll
 *            with recovery: "EPOCH OFFSET MSG", "lost EPOCH OFFSET", or 204.
 *   read     GET ?channel=NAME&epoch=E&offset=O: gale_history_read, a line
 *            "EPOCH OFFSET MSG" per message, then "end STATUS EPOCH TOP".
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gale/gale.h>

/* A publish waiting for its report; r is NULL once the request is gone.
 * Freed by whichever comes last: the report or the request's end. */
struct pending {
    gale_request *r;
    int reported;
};

static void pending_gone(void *arg)
{
    struct pending *p = arg;
    if (p->reported)
        free(p);
    else
        p->r = NULL;
}

static void pub_done(void *arg, const char *channel, int status, uint64_t epoch, uint64_t offset)
{
    struct pending *p = arg;
    gale_request *r = p->r;
    if (!r) {
        free(p);
        return;
    }
    p->reported = 1;
    if (status < 0) {
        gale_response_error(r, 500, "lost");
    } else {
        gale_response_header(r, "Content-Type", "text/plain");
        gale_response_printf(r, "%d %" PRIu64 " %" PRIu64 "\n",
                             gale_ctx_worker_id(gale_request_ctx(r)), epoch, offset);
    }
    gale_response_finish(r);
}

static int pub_post(gale_request *r)
{
    const char *channel = gale_request_require_argument(r, "channel");
    if (!channel)
        return GALE_OK;
    size_t len;
    const char *body = gale_request_body(r, &len);
    struct pending *p = calloc(1, sizeof(*p));
    if (!p) {
        gale_response_error(r, 500, "out of memory");
        return GALE_OK;
    }
    p->r = r;
    if (gale_publish_then(gale_request_ctx(r), channel, body, len, pub_done, p) < 0) {
        free(p);
        gale_response_error(r, 500, "publish failed");
        return GALE_OK;
    }
    gale_request_cleanup(r, pending_gone, p);
    return GALE_ASYNC;
}

static int pubfast_post(gale_request *r)
{
    const char *channel = gale_request_require_argument(r, "channel");
    if (!channel)
        return GALE_OK;
    size_t len;
    const char *body = gale_request_body(r, &len);
    if (gale_publish(gale_request_ctx(r), channel, body, len) < 0) {
        gale_response_error(r, 500, "publish failed");
        return GALE_OK;
    }
    gale_response_header(r, "Content-Type", "text/plain");
    gale_response_printf(r, "%d\n", gale_ctx_worker_id(gale_request_ctx(r)));
    return GALE_OK;
}

static int events_get(gale_request *r)
{
    const char *channel = gale_request_require_argument(r, "channel");
    if (!channel)
        return GALE_OK;
    const char *ka = gale_request_query(r, "keepalive");
    if (gale_request_sse(r, channel, gale_request_query(r, "event"), ka ? strtod(ka, NULL) : 0) <
        0) {
        gale_response_error(r, 500, "sse failed");
        return GALE_OK;
    }
    /* which worker streams, for the tests (a comment, ignored by clients) */
    gale_response_printf(r, ": worker %d\n\n", gale_ctx_worker_id(gale_request_ctx(r)));
    gale_response_flush(r);
    return GALE_ASYNC;
}

static void waitsince_done(gale_request *r, void *arg, const char *msg, size_t len, uint64_t epoch,
                           uint64_t offset)
{
    gale_response_header(r, "Content-Type", "text/plain");
    if (msg)
        gale_response_printf(r, "%" PRIu64 " %" PRIu64 " %.*s", epoch, offset, (int)len, msg);
    else if (epoch)
        gale_response_printf(r, "lost %" PRIu64 " %" PRIu64, epoch, offset);
    else
        gale_response_status(r, 204);
    gale_response_finish(r);
}

static int waitsince_get(gale_request *r)
{
    const char *channel = gale_request_require_argument(r, "channel");
    if (!channel)
        return GALE_OK;
    const char *e = gale_request_query(r, "epoch"), *o = gale_request_query(r, "offset");
    const char *t = gale_request_query(r, "timeout");
    if (gale_request_wait_since(r, channel, e ? strtoull(e, NULL, 10) : 0,
                                o ? strtoull(o, NULL, 10) : 0, t ? strtod(t, NULL) : 0,
                                waitsince_done, NULL) < 0) {
        gale_response_error(r, 500, "wait failed");
        return GALE_OK;
    }
    return GALE_ASYNC;
}

/* A read's lines, gathered until its end; r is NULL once the request is
 * gone. Freed by whichever comes last. */
struct reading {
    gale_request *r;
    int done;
    char *text;
    size_t len;
};

static void reading_gone(void *arg)
{
    struct reading *rd = arg;
    if (rd->done) {
        free(rd->text);
        free(rd);
    } else {
        rd->r = NULL;
    }
}

static void reading_add(struct reading *rd, const char *line, size_t n)
{
    char *t = realloc(rd->text, rd->len + n + 1);
    if (!t)
        return;
    memcpy(t + rd->len, line, n);
    t[rd->len + n] = '\0';
    rd->text = t;
    rd->len += n;
}

static void read_step(void *arg, const char *channel, int status, const char *msg, size_t len,
                      uint64_t epoch, uint64_t offset)
{
    struct reading *rd = arg;
    char line[1024];
    int n;
    if (msg) {
        n = snprintf(line, sizeof(line), "%" PRIu64 " %" PRIu64 " %.*s\n", epoch, offset,
                     (int)(len < 900 ? len : 900), msg);
        reading_add(rd, line, (size_t)n);
        return;
    }
    n = snprintf(line, sizeof(line), "end %d %" PRIu64 " %" PRIu64 "\n", status, epoch, offset);
    reading_add(rd, line, (size_t)n);
    gale_request *r = rd->r;
    if (!r) {
        free(rd->text);
        free(rd);
        return;
    }
    rd->done = 1; /* freed with the request */
    gale_response_header(r, "Content-Type", "text/plain");
    gale_response_write(r, rd->text, rd->len);
    gale_response_finish(r);
}

static int read_get(gale_request *r)
{
    const char *channel = gale_request_require_argument(r, "channel");
    if (!channel)
        return GALE_OK;
    const char *e = gale_request_query(r, "epoch"), *o = gale_request_query(r, "offset");
    struct reading *rd = calloc(1, sizeof(*rd));
    if (!rd) {
        gale_response_error(r, 500, "out of memory");
        return GALE_OK;
    }
    rd->r = r;
    if (gale_history_read(gale_request_ctx(r), channel, e ? strtoull(e, NULL, 10) : 0,
                          o ? strtoull(o, NULL, 10) : 0, read_step, rd) < 0) {
        free(rd);
        gale_response_error(r, 500, "read failed");
        return GALE_OK;
    }
    gale_request_cleanup(r, reading_gone, rd);
    /* ?stall=MS: the worker does not read for a while, as a busy one, so
     * that the master's answer must wait in its queue (48-channel-limits) */
    const char *stall = gale_request_query(r, "stall");
    if (stall)
        usleep((useconds_t)strtoul(stall, NULL, 10) * 1000);
    return GALE_ASYNC;
}

static int whoami_get(gale_request *r)
{
    gale_response_header(r, "Content-Type", "text/plain");
    gale_response_printf(r, "%d %d\n", gale_ctx_worker_id(gale_request_ctx(r)), (int)getpid());
    return GALE_OK;
}

/* ---- a WebSocket subscribed since a position ---- */

static void since_forward(void *arg, const char *channel, const char *msg, size_t len,
                          uint64_t epoch, uint64_t offset)
{
    char head[64];
    int n = snprintf(head, sizeof(head),
                     msg ? "%" PRIu64 " %" PRIu64 " " : "lost %" PRIu64 " %" PRIu64, epoch, offset);
    char *out = malloc((size_t)n + len + 1);
    if (!out)
        return;
    memcpy(out, head, (size_t)n);
    if (msg)
        memcpy(out + n, msg, len);
    gale_ws_send(arg, out, (size_t)n + (msg ? len : 0), 0);
    free(out);
}

static void since_open(gale_ws *ws, gale_request *r)
{
    const char *channel = gale_request_query(r, "channel");
    const char *e = gale_request_query(r, "epoch"), *o = gale_request_query(r, "offset");
    gale_subscription *sub =
        channel ? gale_subscribe_since(gale_ws_ctx(ws), channel, e ? strtoull(e, NULL, 10) : 0,
                                       o ? strtoull(o, NULL, 10) : 0, since_forward, ws)
                : NULL;
    if (!sub) {
        gale_ws_close(ws, 1011, "subscribe failed");
        return;
    }
    gale_ws_set_data(ws, sub);
}

static void since_close(gale_ws *ws, int code, const char *reason)
{
    gale_unsubscribe(gale_ws_data(ws));
    gale_ws_set_data(ws, NULL);
}

static const gale_websocket since_ws = {
    .open = since_open,
    .close = since_close,
};

static const gale_handler chantest_handlers[] = {
    {.name = "pub", .post = pub_post},     {.name = "pubfast", .post = pubfast_post},
    {.name = "events", .get = events_get}, {.name = "since", .websocket = &since_ws},
    {.name = "whoami", .get = whoami_get}, {.name = "waitsince", .get = waitsince_get},
    {.name = "read", .get = read_get},     {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "chantest",
    .version = "1",
    .handlers = chantest_handlers,
};
