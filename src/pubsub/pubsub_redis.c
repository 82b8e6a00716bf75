/*
 * pubsub_redis.c - the Redis backend of pub/sub: messages are PUBLISHed to
 * PREFIX+channel, and every worker of every instance receives all of them
 * through one PSUBSCRIBE PREFIX* connection, in the order Redis gives them
 * (one order for every subscriber of a channel).
 *
 * Two Redis links per worker (store/redis_link.h: a subscribed connection
 * can only subscribe), each reconnecting every second while Redis is away;
 * messages published meanwhile fail (gale_publish returns -1) and messages
 * published elsewhere meanwhile are lost to this worker, as with Redis
 * pub/sub itself.
 *
 * A worker that falls behind (stopped, or too slow) has its subscribed
 * connection cut by Redis once the connection's output buffer passes
 * client-output-buffer-limit pubsub. Each subscription that follows again
 * after the first is a sign of that: subscriptions with a position then
 * recover what they missed from the history (pubsub_resync), asked after
 * the subscription is in place so that nothing falls between the two.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "pubsub/pubsub.h"
#include "store/redis_link.h"

static struct {
    const struct config_redis *cfg;
    size_t prefix_len;
    struct redis_link pub, sub; /* a subscribed connection can only subscribe */
    unsigned long subscribed;   /* PSUBSCRIBE confirmations: a connection each */
} R;

/* ---- subscribing ---- */

/* A message that starts with NUL starts with its position, NUL
 * "EPOCH:OFFSET" LF (pubsub_redis_history.c); skip it. -1 for a malformed
 * one (published by something else than gale). */
static int pubsub_redis_position(const char **text, size_t *len, uint64_t *epoch, uint64_t *offset)
{
    if (!*len || (*text)[0] != '\0')
        return 0;
    const char *nl = memchr(*text, '\n', *len);
    char *end;
    if (!nl)
        return -1;
    *epoch = strtoull(*text + 1, &end, 10);
    if (*end != ':')
        return -1;
    *offset = strtoull(end + 1, &end, 10);
    if (end != nl)
        return -1;
    *len -= (size_t)(nl + 1 - *text);
    *text = nl + 1;
    return 0;
}

/* The subscription is in place again on a new connection: what was
 * published since the old one went is lost to this worker, unless the
 * history has it. */
static void pubsub_redis_subscribed(const redisReply *reply)
{
    const redisReply *kind = reply->element[0];
    if (kind->type != REDIS_REPLY_STRING || strcmp(kind->str, "psubscribe") || !R.subscribed++)
        return;
    log_warn("pubsub: redis subscription restored (Redis cut it, or the worker fell behind): "
             "subscriptions with a position recover what they missed from the history, plain "
             "ones lost it");
    pubsub_resync();
}

/* ["pmessage", pattern, channel, message] for every message; the
 * subscription's own confirmation is ["psubscribe", pattern, count]. */
static void pubsub_redis_on_message(redisAsyncContext *ac, void *r, void *privdata)
{
    const redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3)
        pubsub_redis_subscribed(reply);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4)
        return;
    const redisReply *kind = reply->element[0], *ch = reply->element[2], *msg = reply->element[3];
    if (kind->type != REDIS_REPLY_STRING || strcmp(kind->str, "pmessage") ||
        ch->type != REDIS_REPLY_STRING || msg->type != REDIS_REPLY_STRING ||
        ch->len <= R.prefix_len)
        return;
    /* hiredis NUL-terminates string replies */
    const char *text = msg->str;
    size_t len = msg->len;
    uint64_t epoch = 0, offset = 0;
    if (pubsub_redis_position(&text, &len, &epoch, &offset) < 0)
        return;
    pubsub_deliver(ch->str + R.prefix_len, ch->len - R.prefix_len, text, len, epoch, offset);
}

/* Every connection of the subscribing link starts with the subscription. */
static void pubsub_redis_subscribe(struct redis_link *l, void *arg)
{
    (void)arg;
    redisAsyncCommand(l->ac, pubsub_redis_on_message, NULL, "PSUBSCRIBE %s*", R.cfg->prefix);
}

/* ---- publishing ---- */

/* A gale_publish_then waiting for Redis: its PUBLISH reply comes after
 * Redis gave the message to every subscriber's connection, so whatever is
 * published after it (by anyone) is delivered after it. */
struct pubsub_redis_then {
    gale_published_fn fn;
    void *arg;
    char channel[PUBSUB_MAX_CHANNEL + 1];
};

static void pubsub_redis_on_published(redisAsyncContext *ac, void *r, void *privdata)
{
    const redisReply *reply = r;
    struct pubsub_redis_then *t = privdata;
    int ok = reply && reply->type == REDIS_REPLY_INTEGER;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_warn("pubsub: redis PUBLISH: %s", reply->str);
    if (t) {
        /* no offsets with Redis pub/sub (epoch and offset 0) */
        t->fn(t->arg, t->channel, ok ? 0 : -1, 0, 0);
        free(t);
    }
}

int pubsub_redis_publish(const char *channel, const void *msg, size_t len, gale_published_fn fn,
                         void *arg)
{
    if (!R.pub.ac)
        return -1;
    struct pubsub_redis_then *t = NULL;
    if (fn) {
        t = xcalloc(1, sizeof(*t));
        t->fn = fn;
        t->arg = arg;
        snprintf(t->channel, sizeof(t->channel), "%s", channel);
    }
    /* one that starts with NUL would be taken for a position: give it one */
    size_t hlen = len && ((const char *)msg)[0] == '\0' ? 5 : 0;
    if (redisAsyncCommand(R.pub.ac, pubsub_redis_on_published, t, "PUBLISH %s%s %b%b",
                          R.cfg->prefix, channel, "\0000:0\n", hlen, msg, len) == REDIS_OK)
        return 0;
    free(t);
    return -1;
}

struct redisAsyncContext *pubsub_redis_context(void)
{
    return R.pub.ac;
}

int pubsub_redis_init(struct event_base *base, const struct config_redis *cfg)
{
    R.cfg = cfg;
    R.prefix_len = strlen(cfg->prefix);
    if (redis_link_open(&R.sub, base, cfg->host, cfg->port, cfg->password, cfg->db,
                        "pubsub: redis (subscribe)", pubsub_redis_subscribe, NULL) < 0 ||
        redis_link_open(&R.pub, base, cfg->host, cfg->port, cfg->password, cfg->db,
                        "pubsub: redis (publish)", NULL, NULL) < 0)
        util_oom();
    return 0;
}

void pubsub_redis_shutdown(void)
{
    redis_link_close(&R.sub);
    redis_link_close(&R.pub);
}
