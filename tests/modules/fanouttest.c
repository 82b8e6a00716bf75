/*
 * fanouttest.c - a test module for fan-out at scale and its limits, driven
 * by tests/blackbox/43-fanout.py:
 *
 *   room     WebSocket on ?channel=NAME: "hello PID" first, then every
 *            message of the channel as "OFFSET MSG" (a loss the history
 *            cannot cover as "lost EPOCH OFFSET"). One subscription per
 *            worker and channel (gale_subscribe_since from the start), each
 *            message framed once for all the worker's sockets
 *            (gale_ws_message).
 *   pub      POST ?channel=NAME[&count=N&size=S]: publish the body, or N
 *            messages "I:xxx..." of S bytes (I from 1); 204, 413 "EMSGSIZE"
 *            for a message above the limit, 500 otherwise.
 *   block    GET ?ms=N: the worker sleeps N ms (it reads nothing meanwhile:
 *            the master's queue for it fills), then "PID".
 *   whoami   GET: "PID".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gale/gale.h>

struct member {
    gale_ws *ws;
    struct room *room;
    struct member *prev, *next;
};

struct room {
    char *name;
    gale_subscription *sub;
    struct member *members;
    struct room *next;
};

static struct room *rooms; /* this worker's */

static void room_send(struct room *room, const char *text, size_t len)
{
    gale_ws_message *m = gale_ws_message_new(text, len, 0);
    for (struct member *p = room->members, *next; p; p = next) {
        next = p->next; /* a socket that is too slow closes, but stays until its close callback */
        gale_ws_send_message(p->ws, m);
    }
    gale_ws_message_free(m);
}

static void room_message(void *arg, const char *channel, const char *msg, size_t len,
                         uint64_t epoch, uint64_t offset)
{
    char head[64];
    int n = snprintf(head, sizeof(head), msg ? "%" PRIu64 " " : "lost %" PRIu64 " %" PRIu64,
                     msg ? offset : epoch, offset);
    char *out = malloc((size_t)n + len + 1);
    if (!out)
        return;
    memcpy(out, head, (size_t)n);
    if (msg)
        memcpy(out + n, msg, len);
    room_send(arg, out, (size_t)n + (msg ? len : 0));
    free(out);
}

static struct room *room_get(gale_ctx *ctx, const char *name)
{
    for (struct room *room = rooms; room; room = room->next)
        if (!strcmp(room->name, name))
            return room;
    struct room *room = calloc(1, sizeof(*room));
    if (!room || !(room->name = strdup(name)))
        abort();
    room->sub = gale_subscribe_since(ctx, name, 0, 0, room_message, room);
    if (!room->sub)
        abort();
    room->next = rooms;
    rooms = room;
    return room;
}

static void room_open(gale_ws *ws, gale_request *r)
{
    const char *channel = gale_request_query(r, "channel");
    if (!channel) {
        gale_ws_close(ws, 1011, "no channel");
        return;
    }
    struct member *p = calloc(1, sizeof(*p));
    if (!p)
        abort();
    p->ws = ws;
    p->room = room_get(gale_ws_ctx(ws), channel);
    p->next = p->room->members;
    if (p->next)
        p->next->prev = p;
    p->room->members = p;
    gale_ws_set_data(ws, p);
    char hello[32];
    int n = snprintf(hello, sizeof(hello), "hello %d", (int)getpid());
    gale_ws_send(ws, hello, (size_t)n, 0);
}

static void room_close(gale_ws *ws, int code, const char *reason)
{
    struct member *p = gale_ws_data(ws);
    if (!p)
        return;
    if (p->prev)
        p->prev->next = p->next;
    else
        p->room->members = p->next;
    if (p->next)
        p->next->prev = p->prev;
    free(p);
    gale_ws_set_data(ws, NULL);
}

static const gale_websocket room_ws = {
    .open = room_open,
    .close = room_close,
};

static int pub_answer(gale_request *r, int rc)
{
    if (rc < 0 && errno == EMSGSIZE)
        gale_response_error(r, 413, "EMSGSIZE");
    else if (rc < 0)
        gale_response_error(r, 500, "publish failed");
    else
        gale_response_status(r, 204);
    return GALE_OK;
}

static int pub_post(gale_request *r)
{
    const char *channel = gale_request_require_argument(r, "channel");
    if (!channel)
        return GALE_OK;
    const char *count = gale_request_query(r, "count"), *size = gale_request_query(r, "size");
    if (!count) {
        size_t len;
        const char *body = gale_request_body(r, &len);
        return pub_answer(r, gale_publish(gale_request_ctx(r), channel, body, len));
    }
    long n = strtol(count, NULL, 10), s = size ? strtol(size, NULL, 10) : 16;
    char *msg = malloc((size_t)s + 32);
    if (!msg)
        abort();
    int rc = 0;
    for (long i = 1; i <= n && rc == 0; i++) {
        int k = snprintf(msg, 32, "%ld:", i);
        if (s > k)
            memset(msg + k, 'x', (size_t)(s - k));
        rc = gale_publish(gale_request_ctx(r), channel, msg, s > k ? (size_t)s : (size_t)k);
    }
    free(msg);
    return pub_answer(r, rc);
}

static int block_get(gale_request *r)
{
    const char *ms = gale_request_query(r, "ms");
    usleep((useconds_t)(ms ? strtol(ms, NULL, 10) : 0) * 1000);
    gale_response_header(r, "Content-Type", "text/plain");
    gale_response_printf(r, "%d\n", (int)getpid());
    return GALE_OK;
}

static int whoami_get(gale_request *r)
{
    gale_response_header(r, "Content-Type", "text/plain");
    gale_response_printf(r, "%d\n", (int)getpid());
    return GALE_OK;
}

/* The worker stops: its sockets are gone (their close callbacks ran). */
static void fanouttest_shutdown(gale_ctx *ctx)
{
    while (rooms) {
        struct room *room = rooms;
        rooms = room->next;
        gale_unsubscribe(room->sub);
        free(room->name);
        free(room);
    }
}

static const gale_handler fanouttest_handlers[] = {
    {.name = "room", .websocket = &room_ws},
    {.name = "pub", .post = pub_post},
    {.name = "block", .get = block_get},
    {.name = "whoami", .get = whoami_get},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "fanouttest",
    .version = "1",
    .handlers = fanouttest_handlers,
    .shutdown = fanouttest_shutdown,
};
