/*
 * pubsub_redis.c - the Redis backend of pub/sub: messages are PUBLISHed to
 * PREFIX+channel, and every worker of every instance receives all of them
 * through one PSUBSCRIBE PREFIX* connection, in the order Redis gives them
 * (one order for every subscriber of a channel).
 *
 * Two hiredis async connections per worker (a subscribed connection can
 * only subscribe), each reconnecting every second while Redis is away;
 * messages published meanwhile fail (gale_publish returns -1) and messages
 * published elsewhere meanwhile are lost to this worker, as with Redis
 * pub/sub itself. The host is an address (config.c resolved a name when the
 * config was loaded: hiredis would resolve it with a blocking call).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "pubsub/pubsub.h"

#define PUBSUB_REDIS_RETRY_SEC 1

/* One connection that keeps itself up. */
struct pubsub_link {
    const char *name;      /* "publish" or "subscribe", for the log */
    redisAsyncContext *ac; /* NULL while disconnected */
    struct event *retry;
    int failing;                          /* the failure was logged: quiet until connected again */
    void (*ready)(struct pubsub_link *l); /* queue the first commands */
};

static struct {
    struct event_base *base;
    const struct config_redis *cfg;
    size_t prefix_len;
    struct pubsub_link pub, sub;
} R;

static void pubsub_link_connect(struct pubsub_link *l);

static void pubsub_link_failed(struct pubsub_link *l, const char *why)
{
    const struct timeval later = {PUBSUB_REDIS_RETRY_SEC, 0};
    if (!l->failing)
        log_warn("pubsub: redis %s:%d (%s): %s; retrying every %d s", R.cfg->host, R.cfg->port,
                 l->name, why, PUBSUB_REDIS_RETRY_SEC);
    l->failing = 1;
    evtimer_add(l->retry, &later);
}

static void pubsub_link_retry(evutil_socket_t fd, short what, void *arg)
{
    pubsub_link_connect(arg);
}

static void pubsub_link_on_connect(const redisAsyncContext *ac, int status)
{
    struct pubsub_link *l = ac->data;
    if (!l)
        return;
    if (status != REDIS_OK) {
        l->ac = NULL;
        pubsub_link_failed(l, ac->errstr);
        return;
    }
    if (l->failing)
        log_info("pubsub: redis %s:%d (%s): connected", R.cfg->host, R.cfg->port, l->name);
    l->failing = 0;
}

static void pubsub_link_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct pubsub_link *l = ac->data;
    if (!l)
        return;
    l->ac = NULL;
    pubsub_link_failed(l, ac->err ? ac->errstr : "disconnected");
}

static void pubsub_link_on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
    const redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_error("pubsub: redis AUTH: %s", reply->str);
}

static void pubsub_link_connect(struct pubsub_link *l)
{
    redisAsyncContext *ac = redisAsyncConnect(R.cfg->host, R.cfg->port);
    if (!ac || ac->err) {
        pubsub_link_failed(l, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        return;
    }
    ac->data = l;
    if (redisLibeventAttach(ac, R.base) != REDIS_OK) {
        pubsub_link_failed(l, "cannot attach to the event loop");
        redisAsyncFree(ac);
        return;
    }
    redisAsyncSetConnectCallback(ac, pubsub_link_on_connect);
    redisAsyncSetDisconnectCallback(ac, pubsub_link_on_disconnect);
    l->ac = ac;
    /* queued now, sent in order once connected */
    if (R.cfg->password)
        redisAsyncCommand(ac, pubsub_link_on_auth, NULL, "AUTH %s", R.cfg->password);
    l->ready(l);
}

static void pubsub_link_init(struct pubsub_link *l, const char *name,
                             void (*ready)(struct pubsub_link *l))
{
    l->name = name;
    l->ready = ready;
    l->retry = evtimer_new(R.base, pubsub_link_retry, l);
    if (!l->retry)
        util_oom();
    pubsub_link_connect(l);
}

static void pubsub_link_free(struct pubsub_link *l)
{
    if (l->ac) {
        l->ac->data = NULL;
        redisAsyncFree(l->ac);
        l->ac = NULL;
    }
    if (l->retry)
        event_free(l->retry);
    l->retry = NULL;
}

/* ---- subscribing ---- */

/* ["pmessage", pattern, channel, message] for every message; the
 * subscription's own confirmation is ["psubscribe", pattern, count]. */
static void pubsub_redis_on_message(redisAsyncContext *ac, void *r, void *privdata)
{
    const redisReply *reply = r;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4)
        return;
    const redisReply *kind = reply->element[0], *ch = reply->element[2], *msg = reply->element[3];
    if (kind->type != REDIS_REPLY_STRING || strcmp(kind->str, "pmessage") ||
        ch->type != REDIS_REPLY_STRING || msg->type != REDIS_REPLY_STRING ||
        ch->len <= R.prefix_len)
        return;
    /* hiredis NUL-terminates string replies */
    pubsub_deliver(ch->str + R.prefix_len, ch->len - R.prefix_len, msg->str, msg->len);
}

static void pubsub_redis_subscribe(struct pubsub_link *l)
{
    redisAsyncCommand(l->ac, pubsub_redis_on_message, NULL, "PSUBSCRIBE %s*", R.cfg->prefix);
}

static void pubsub_redis_nothing(struct pubsub_link *l)
{
    (void)l;
}

/* ---- publishing ---- */

static void pubsub_redis_on_published(redisAsyncContext *ac, void *r, void *privdata)
{
    const redisReply *reply = r;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_warn("pubsub: redis PUBLISH: %s", reply->str);
}

int pubsub_redis_publish(const char *channel, const void *msg, size_t len)
{
    if (!R.pub.ac)
        return -1;
    return redisAsyncCommand(R.pub.ac, pubsub_redis_on_published, NULL, "PUBLISH %s%s %b",
                             R.cfg->prefix, channel, msg, len) == REDIS_OK
               ? 0
               : -1;
}

int pubsub_redis_init(struct event_base *base, const struct config_redis *cfg)
{
    R.base = base;
    R.cfg = cfg;
    R.prefix_len = strlen(cfg->prefix);
    pubsub_link_init(&R.sub, "subscribe", pubsub_redis_subscribe);
    pubsub_link_init(&R.pub, "publish", pubsub_redis_nothing);
    return 0;
}

void pubsub_redis_shutdown(void)
{
    pubsub_link_free(&R.sub);
    pubsub_link_free(&R.pub);
}
