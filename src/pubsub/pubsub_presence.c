/*
 * pubsub_presence.c - the worker's side of presence (pubsub_presence.h):
 * the module API, the handles of this worker, and the local backend's
 * questions to the master.
 *
 * A handle's id is what the master knows it by (with the worker's pid);
 * with Redis the handles are what the heartbeat refreshes.
 */
#include "pubsub/pubsub_presence.h"

#include <stdlib.h>
#include <string.h>

#include "core/ipc.h"
#include "core/log.h"
#include "core/util.h"
#include "pubsub/pubsub.h"
#include "pubsub/pubsub_settings.h"

struct gale_presence {
    uint32_t id;
    char *channel, *member, *info; /* owned; info is compact JSON text */
    struct gale_presence *prev, *next;
};

/* A gale_presence_get waiting for the master's IPC_PRESENCE_LIST. */
struct pubsub_presence_ask {
    uint32_t token;
    gale_presence_fn fn;
    void *arg;
    char channel[PUBSUB_MAX_CHANNEL + 1];
    struct pubsub_presence_ask *next;
};

static struct {
    gale_presence *handles;
    struct pubsub_presence_ask *asks; /* in the order sent */
} Q;

const char *pubsub_presence_channel(const gale_presence *h)
{
    return h->channel;
}

const char *pubsub_presence_member(const gale_presence *h)
{
    return h->member;
}

const char *pubsub_presence_info(const gale_presence *h)
{
    return h->info;
}

void pubsub_presence_each(void (*fn)(gale_presence *h, void *arg), void *arg)
{
    for (gale_presence *h = Q.handles, *next; h; h = next) {
        next = h->next;
        fn(h, arg);
    }
}

static void pubsub_presence_free(gale_presence *h)
{
    if (h->prev)
        h->prev->next = h->next;
    else
        Q.handles = h->next;
    if (h->next)
        h->next->prev = h->prev;
    free(h->channel);
    free(h->member);
    free(h->info);
    free(h);
}

/* IPC_PRESENCE_JOIN of h to the master. */
static int pubsub_presence_send_join(const gale_presence *h)
{
    size_t chlen = strlen(h->channel), idlen = strlen(h->member);
    unsigned char head[4 + 1 + PUBSUB_MAX_CHANNEL + 1 + PUBSUB_PRESENCE_MAX_ID];
    memcpy(head, &h->id, 4);
    head[4] = (unsigned char)chlen;
    memcpy(head + 5, h->channel, chlen);
    head[5 + chlen] = (unsigned char)idlen;
    memcpy(head + 6 + chlen, h->member, idlen);
    return pubsub_send(IPC_PRESENCE_JOIN, head, 6 + chlen + idlen, h->info, strlen(h->info));
}

gale_presence *gale_presence_join(gale_ctx *ctx, const char *channel, const char *member_id,
                                  const json_t *info)
{
    (void)ctx;
    size_t chlen = channel ? strlen(channel) : 0, idlen = member_id ? strlen(member_id) : 0;
    if (!chlen || chlen > PUBSUB_MAX_CHANNEL || !idlen || idlen > PUBSUB_PRESENCE_MAX_ID ||
        (info && !json_is_object(info)) || pubsub_backend() < 0)
        return NULL;
    char *text = info ? json_dumps(info, JSON_COMPACT) : xstrdup("{}");
    if (!text || strlen(text) > PUBSUB_PRESENCE_MAX_INFO) {
        free(text);
        return NULL;
    }
    gale_presence *h = xcalloc(1, sizeof(*h));
    h->id = pubsub_token();
    h->channel = xstrdup(channel);
    h->member = xstrdup(member_id);
    h->info = text;
    h->next = Q.handles;
    if (Q.handles)
        Q.handles->prev = h;
    Q.handles = h;
    int rc = pubsub_backend() == PUBSUB_REDIS ? pubsub_presence_redis_join(h)
                                              : pubsub_presence_send_join(h);
    if (rc < 0) {
        pubsub_presence_free(h);
        return NULL;
    }
    return h;
}

void gale_presence_leave(gale_presence *h)
{
    if (!h)
        return;
    if (pubsub_backend() == PUBSUB_REDIS)
        pubsub_presence_redis_leave(h);
    else if (pubsub_send(IPC_PRESENCE_LEAVE, &h->id, 4, NULL, 0) < 0)
        log_warn("presence: cannot tell the master that %s left %s", h->member, h->channel);
    pubsub_presence_free(h);
}

int gale_presence_get(gale_ctx *ctx, const char *channel, gale_presence_fn fn, void *arg)
{
    (void)ctx;
    size_t chlen = channel ? strlen(channel) : 0;
    if (!fn || !chlen || chlen > PUBSUB_MAX_CHANNEL || pubsub_backend() < 0)
        return -1;
    if (pubsub_backend() == PUBSUB_REDIS)
        return pubsub_presence_redis_get(channel, fn, arg);
    struct pubsub_presence_ask *a = xcalloc(1, sizeof(*a));
    a->token = pubsub_token();
    a->fn = fn;
    a->arg = arg;
    memcpy(a->channel, channel, chlen + 1);
    unsigned char head[5 + PUBSUB_MAX_CHANNEL];
    memcpy(head, &a->token, 4);
    head[4] = (unsigned char)chlen;
    memcpy(head + 5, channel, chlen);
    if (pubsub_send(IPC_PRESENCE_GET, head, 5 + chlen, NULL, 0) < 0) {
        free(a);
        return -1;
    }
    struct pubsub_presence_ask **pp = &Q.asks;
    while (*pp)
        pp = &(*pp)->next;
    *pp = a;
    return 0;
}

/* The master answers in order: questions before this answer's were lost
 * (their answers dropped while this worker was not reading). */
void pubsub_presence_list(const unsigned char *p, size_t len)
{
    uint32_t token;
    if (len < 4)
        return;
    memcpy(&token, p, 4);
    json_t *list = json_loadb((const char *)p + 4, len - 4, 0, NULL);
    json_t *members = json_object_get(list, "members");
    json_int_t count = json_integer_value(json_object_get(list, "count"));
    while (Q.asks) {
        struct pubsub_presence_ask *a = Q.asks;
        Q.asks = a->next;
        int mine = a->token == token;
        if (mine && json_is_array(members))
            a->fn(a->arg, a->channel, 0, (size_t)count, members);
        else
            a->fn(a->arg, a->channel, -1, 0, NULL);
        free(a);
        if (mine)
            break;
    }
    json_decref(list);
}

void pubsub_presence_event(gale_presence_event_fn fn, void *arg, const char *channel,
                           const char *msg, size_t len)
{
    json_t *ev = json_loadb(msg, len, 0, NULL);
    const char *event = json_string_value(json_object_get(ev, "event"));
    const char *id = json_string_value(json_object_get(ev, "id"));
    json_t *info = json_object_get(ev, "info");
    if (event && id && (!strcmp(event, "join") || !strcmp(event, "leave")))
        fn(arg, channel, event, id, json_is_object(info) ? info : NULL);
    json_decref(ev);
}

gale_subscription *gale_presence_subscribe(gale_ctx *ctx, const char *channel,
                                           gale_presence_event_fn fn, void *arg)
{
    (void)ctx;
    return pubsub_subscribe_presence(channel, fn, arg);
}

void pubsub_presence_shutdown(void)
{
    while (Q.handles)
        pubsub_presence_free(Q.handles);
    while (Q.asks) {
        struct pubsub_presence_ask *a = Q.asks;
        Q.asks = a->next;
        free(a);
    }
}
