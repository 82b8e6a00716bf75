/*
 * wstest.c - a test module for WebSockets and publish/subscribe, driven by
 * tests/blackbox/16-websocket.py (and usable by any test of the API):
 *
 *   echo         WebSocket: every message back with its type, except text
 *                commands: "close:CODE:REASON" closes (CODE 0: no code),
 *                "ping:DATA" pings, "big:N" sends N 'x' bytes, "send-after-
 *                close:CODE" closes then logs what a send returned, "buffered"
 *                answers gale_ws_buffered(). A pong is answered "pong:DATA".
 *                Subprotocol: the first offered that starts with "x-ok".
 *                ?greet=1: open sends "open:TAG"; ?close=CODE: open closes.
 *   publish      POST ?channel=NAME: publish the body; 204 (500 on failure).
 *   wait         GET ?channel=NAME&timeout=S: the next message (200), or 204.
 *   subscribers  GET ?channel=NAME: "COUNT WORKER\n" for this worker.
 *   subws        WebSocket on ?channel=NAME: its messages to the client as
 *                text; the client's messages published to it.
 *   wspid        WebSocket whose open sends "WORKER PID" (drain tests).
 *
 * Server-side events go to gale's error log, one line each, so tests can
 * check them: "wstest: error tag=TAG code=CODE reason=..." and "wstest:
 * close tag=TAG code=CODE reason=...". TAG is the query argument "tag".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gale/gale.h>

/* The state of one echo connection, freed by its close callback. */
struct echo_conn {
    char tag[64];
    int error_code; /* from the error callback, 0 when none came */
};

static int starts_with(const char *data, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(data, prefix, n) == 0;
}

static const char *conn_tag(gale_ws *ws)
{
    struct echo_conn *c = gale_ws_data(ws);
    return c ? c->tag : "";
}

static void echo_open(gale_ws *ws, gale_request *r)
{
    struct echo_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        gale_ws_close(ws, 1011, "out of memory");
        return;
    }
    const char *tag = gale_request_query(r, "tag");
    snprintf(c->tag, sizeof(c->tag), "%s", tag ? tag : "");
    gale_ws_set_data(ws, c);
    const char *greet = gale_request_query(r, "greet");
    if (greet && strcmp(greet, "1") == 0) {
        char msg[80];
        int n = snprintf(msg, sizeof(msg), "open:%s", c->tag);
        gale_ws_send(ws, msg, (size_t)n, 0);
    }
    const char *close = gale_request_query(r, "close");
    if (close)
        gale_ws_close(ws, atoi(close), "closed in open");
}

/* "close:CODE:REASON" or "close:CODE" (text after the prefix, NUL-terminated). */
static void echo_close_cmd(gale_ws *ws, const char *arg)
{
    int code = atoi(arg);
    const char *reason = strchr(arg, ':');
    if (gale_ws_close(ws, code, reason ? reason + 1 : NULL) < 0)
        gale_ws_send(ws, "close refused", 13, 0);
}

static void echo_big(gale_ws *ws, const char *arg)
{
    long n = atol(arg);
    if (n < 0 || n > 64L * 1024 * 1024) {
        gale_ws_send(ws, "bad size", 8, 0);
        return;
    }
    char *buf = malloc(n ? (size_t)n : 1);
    if (!buf) {
        gale_ws_close(ws, 1011, "out of memory");
        return;
    }
    memset(buf, 'x', (size_t)n);
    gale_ws_send(ws, buf, (size_t)n, 0);
    free(buf);
}

static void echo_ping_cmd(gale_ws *ws, const char *data, size_t len)
{
    if (gale_ws_ping(ws, data, len) < 0)
        gale_ws_send(ws, "ping refused", 12, 0);
}

/* Close, then check that the API refuses to send on a closing connection. */
static void echo_send_after_close(gale_ws *ws, const char *arg)
{
    int closed = gale_ws_close(ws, atoi(arg), "send after close");
    int sent = gale_ws_send(ws, "late", 4, 0);
    int again = gale_ws_close(ws, 1000, NULL);
    gale_log(GALE_LOG_INFO, "wstest: send-after-close tag=%s close=%d send=%d close-again=%d",
             conn_tag(ws), closed, sent, again);
}

/* Text commands; 0 when the message is not one (echo it). */
static int echo_command(gale_ws *ws, const char *data, size_t len)
{
    if (starts_with(data, len, "close:"))
        echo_close_cmd(ws, data + 6);
    else if (starts_with(data, len, "ping:"))
        echo_ping_cmd(ws, data + 5, len - 5);
    else if (starts_with(data, len, "big:"))
        echo_big(ws, data + 4);
    else if (starts_with(data, len, "send-after-close:"))
        echo_send_after_close(ws, data + 17);
    else if (len == 8 && memcmp(data, "buffered", 8) == 0) {
        char msg[40];
        int n = snprintf(msg, sizeof(msg), "buffered:%zu", gale_ws_buffered(ws));
        gale_ws_send(ws, msg, (size_t)n, 0);
    } else
        return 0;
    return 1;
}

static void echo_message(gale_ws *ws, const char *data, size_t len, int binary)
{
    if (!binary && echo_command(ws, data, len))
        return;
    gale_ws_send(ws, data, len, binary);
}

static void echo_pong(gale_ws *ws, const char *data, size_t len)
{
    char msg[140];
    int n = snprintf(msg, sizeof(msg), "pong:%.*s", (int)len, data);
    gale_ws_send(ws, msg, (size_t)n, 0);
}

static void echo_error(gale_ws *ws, int code, const char *reason)
{
    struct echo_conn *c = gale_ws_data(ws);
    if (c)
        c->error_code = code;
    gale_log(GALE_LOG_INFO, "wstest: error tag=%s code=%d reason=%s", conn_tag(ws), code,
             reason ? reason : "(null)");
}

static void echo_closed(gale_ws *ws, int code, const char *reason)
{
    struct echo_conn *c = gale_ws_data(ws);
    gale_log(GALE_LOG_INFO, "wstest: close tag=%s code=%d reason=%s error=%d", conn_tag(ws), code,
             reason ? reason : "(null)", c ? c->error_code : 0);
    gale_ws_set_data(ws, NULL);
    free(c);
}

/* The first offered subprotocol named "x-ok...", or none. */
static const char *echo_subprotocol(gale_request *r, const char *const *offered, size_t n)
{
    (void)r;
    for (size_t i = 0; i < n; i++)
        if (!strncmp(offered[i], "x-ok", 4))
            return offered[i];
    return n && !strcmp(offered[0], "x-bogus") ? "not-offered" : NULL;
}

static const gale_websocket echo_ws = {
    .subprotocol = echo_subprotocol,
    .open = echo_open,
    .message = echo_message,
    .error = echo_error,
    .close = echo_closed,
    .pong = echo_pong,
};

/* ---- publish/subscribe over HTTP ---- */

static int publish_post(gale_request *r)
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
    gale_response_status(r, 204);
    return GALE_OK;
}

static void wait_done(gale_request *r, void *arg, const char *msg, size_t len)
{
    if (msg) {
        gale_response_header(r, "Content-Type", "application/octet-stream");
        gale_response_write(r, msg, len);
    } else {
        gale_response_status(r, 204);
    }
    gale_response_finish(r);
}

static int wait_get(gale_request *r)
{
    const char *channel = gale_request_require_argument(r, "channel");
    if (!channel)
        return GALE_OK;
    const char *t = gale_request_query(r, "timeout");
    double timeout = t ? strtod(t, NULL) : 0;
    if (gale_request_wait(r, channel, timeout, wait_done, NULL) < 0) {
        gale_response_error(r, 500, "wait failed");
        return GALE_OK;
    }
    return GALE_ASYNC;
}

static int subscribers_get(gale_request *r)
{
    const char *channel = gale_request_require_argument(r, "channel");
    if (!channel)
        return GALE_OK;
    gale_ctx *ctx = gale_request_ctx(r);
    gale_response_header(r, "Content-Type", "text/plain");
    gale_response_printf(r, "%zu %d\n", gale_subscribers(ctx, channel), gale_ctx_worker_id(ctx));
    return GALE_OK;
}

/* ---- a WebSocket bound to a channel ---- */

struct subws {
    gale_subscription *sub;
    char channel[208]; /* channels are 1 to 200 bytes */
};

static void subws_forward(void *arg, const char *channel, const char *msg, size_t len)
{
    gale_ws_send(arg, msg, len, 0);
}

static void subws_open(gale_ws *ws, gale_request *r)
{
    const char *channel = gale_request_query(r, "channel");
    struct subws *s = calloc(1, sizeof(*s));
    if (!s || !channel || strlen(channel) >= sizeof(s->channel)) {
        free(s);
        gale_ws_close(ws, 1011, "no channel");
        return;
    }
    strcpy(s->channel, channel);
    s->sub = gale_subscribe(gale_ws_ctx(ws), channel, subws_forward, ws);
    if (!s->sub) {
        free(s);
        gale_ws_close(ws, 1011, "subscribe failed");
        return;
    }
    gale_ws_set_data(ws, s);
}

static void subws_message(gale_ws *ws, const char *data, size_t len, int binary)
{
    struct subws *s = gale_ws_data(ws);
    if (s && gale_publish(gale_ws_ctx(ws), s->channel, data, len) < 0)
        gale_ws_send(ws, "publish failed", 14, 0);
}

static void subws_close(gale_ws *ws, int code, const char *reason)
{
    struct subws *s = gale_ws_data(ws);
    if (!s)
        return;
    gale_unsubscribe(s->sub);
    gale_ws_set_data(ws, NULL);
    free(s);
}

static const gale_websocket subws_ws = {
    .open = subws_open,
    .message = subws_message,
    .close = subws_close,
};

/* ---- which worker serves a WebSocket ---- */

static void wspid_open(gale_ws *ws, gale_request *r)
{
    char msg[48];
    int n = snprintf(msg, sizeof(msg), "%d %d", gale_ctx_worker_id(gale_ws_ctx(ws)), (int)getpid());
    gale_ws_send(ws, msg, (size_t)n, 0);
}

static const gale_websocket wspid_ws = {
    .open = wspid_open,
    .message = echo_message,
};

static const gale_handler wstest_handlers[] = {
    {.name = "echo", .websocket = &echo_ws},
    {.name = "publish", .post = publish_post},
    {.name = "wait", .get = wait_get},
    {.name = "subscribers", .get = subscribers_get},
    {.name = "subws", .websocket = &subws_ws},
    {.name = "wspid", .websocket = &wspid_ws},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "wstest",
    .version = "1",
    .handlers = wstest_handlers,
};
