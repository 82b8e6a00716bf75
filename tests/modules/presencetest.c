/*
 * presencetest.c - a test module for presence, driven by
 * tests/blackbox/44-presence.py:
 *
 *   member   WebSocket on ?channel=C&id=ID&name=N[&events=1]: joins C as ID
 *            with info {"name": N, "worker": W} on open and leaves on close;
 *            with events=1 each join and leave of C arrives as the text
 *            "join ID NAME" or "leave ID NAME".
 *   who      GET ?channel=C: gale_presence_get as
 *            {"worker": W, "count": N, "members": [...]} (500 when lost).
 *   whoami   GET: "WORKER PID\n".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gale/gale.h>

/* A socket's membership; freed by its close callback. */
struct member {
    gale_presence *presence;
    gale_subscription *events;
};

static void member_event(void *arg, const char *channel, const char *event, const char *id,
                         const json_t *info)
{
    const char *name = json_string_value(json_object_get(info, "name"));
    char text[512];
    int n = snprintf(text, sizeof(text), "%s %s %s", event, id, name ? name : "-");
    gale_ws_send(arg, text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1, 0);
}

static void member_open(gale_ws *ws, gale_request *r)
{
    const char *channel = gale_request_query(r, "channel"), *id = gale_request_query(r, "id");
    const char *name = gale_request_query(r, "name"), *events = gale_request_query(r, "events");
    struct member *m = calloc(1, sizeof(*m));
    if (!m || !channel || !id) {
        free(m);
        gale_ws_close(ws, 1011, "bad member");
        return;
    }
    gale_ws_set_data(ws, m);
    if (events && !strcmp(events, "1"))
        m->events = gale_presence_subscribe(gale_ws_ctx(ws), channel, member_event, ws);
    json_t *info = json_pack("{s:s, s:i}", "name", name ? name : id, "worker",
                             gale_ctx_worker_id(gale_ws_ctx(ws)));
    m->presence = gale_presence_join(gale_ws_ctx(ws), channel, id, info);
    json_decref(info);
    if (!m->presence)
        gale_ws_close(ws, 1011, "join failed");
    else
        gale_ws_send(ws, "joined", 6, 0);
}

static void member_close(gale_ws *ws, int code, const char *reason)
{
    struct member *m = gale_ws_data(ws);
    if (!m)
        return;
    gale_presence_leave(m->presence);
    gale_unsubscribe(m->events);
    free(m);
    gale_ws_set_data(ws, NULL);
}

static const gale_websocket member_ws = {
    .open = member_open,
    .close = member_close,
};

/* A question waiting for its answer; r is NULL once the request is gone.
 * Freed by whichever comes last. */
struct asking {
    gale_request *r;
    int answered;
};

static void asking_gone(void *arg)
{
    struct asking *a = arg;
    if (a->answered)
        free(a);
    else
        a->r = NULL;
}

static void who_answer(void *arg, const char *channel, int status, size_t count,
                       const json_t *members)
{
    struct asking *a = arg;
    gale_request *r = a->r;
    if (!r) {
        free(a);
        return;
    }
    a->answered = 1;
    if (status < 0) {
        gale_response_error(r, 500, "lost");
    } else {
        json_t *out =
            json_pack("{s:i, s:I, s:O}", "worker", gale_ctx_worker_id(gale_request_ctx(r)), "count",
                      (json_int_t)count, "members", members);
        gale_response_json(r, out);
        json_decref(out);
    }
    gale_response_finish(r);
}

static int who_get(gale_request *r)
{
    const char *channel = gale_request_require_argument(r, "channel");
    if (!channel)
        return GALE_OK;
    struct asking *a = calloc(1, sizeof(*a));
    if (!a) {
        gale_response_error(r, 500, "out of memory");
        return GALE_OK;
    }
    a->r = r;
    if (gale_presence_get(gale_request_ctx(r), channel, who_answer, a) < 0) {
        free(a);
        gale_response_error(r, 500, "presence failed");
        return GALE_OK;
    }
    gale_request_cleanup(r, asking_gone, a);
    return GALE_ASYNC;
}

static int whoami_get(gale_request *r)
{
    gale_response_header(r, "Content-Type", "text/plain");
    gale_response_printf(r, "%d %d\n", gale_ctx_worker_id(gale_request_ctx(r)), (int)getpid());
    return GALE_OK;
}

static const gale_handler presencetest_handlers[] = {
    {.name = "member", .websocket = &member_ws},
    {.name = "who", .get = who_get},
    {.name = "whoami", .get = whoami_get},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "presencetest",
    .version = "1",
    .handlers = presencetest_handlers,
};
