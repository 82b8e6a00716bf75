/*
 * pubsub_presence_redis.c - presence with the Redis backend, shared by every
 * gale using the server (see pubsub_presence.h).
 *
 * Per channel C: a sorted set PREFIX "presence:" C of member ids scored by
 * when a handle last said it was there (Redis' own clock, so instances
 * need not agree on time), a hash PREFIX "presence-info:" C of their info,
 * and C in the set PREFIX "presence-channels". Every worker refreshes its
 * handles' scores each timeout/3 seconds (the heartbeat) and sweeps every
 * channel: members not refreshed for `timeout` leave. The scripts run
 * atomically, so exactly one worker publishes a join (the one whose ZADD
 * added the member) or a leave (the one that removed it) on the channel's
 * presence stream, PREFIX NUL C, which every worker's PSUBSCRIBE PREFIX*
 * receives.
 *
 * A handle that goes refreshes its member one last time: the member leaves
 * once no handle anywhere refreshed it for `timeout` (found by the next
 * sweep, up to timeout/3 later), as a client that vanished does.
 */
#include "pubsub/pubsub_presence.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/async.h>
#include <jansson.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "pubsub/pubsub.h"
#include "store/redis_script.h"

/* KEYS: the set, the info hash, the channels. ARGV: member, info, the
 * presence stream, the channel. Returns 1 when the member is new. */
static const char pubsub_presence_redis_join_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) + tonumber(t[2]) / 1e6\n"
    "local new = redis.call('ZADD', KEYS[1], now, ARGV[1])\n"
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
    "redis.call('SADD', KEYS[3], ARGV[4])\n"
    "if new == 1 then redis.call('PUBLISH', ARGV[3], '{\"event\":\"join\",\"id\":' ..\n"
    "  cjson.encode(ARGV[1]) .. ',\"info\":' .. ARGV[2] .. '}') end\n"
    "return new\n";

/* KEYS: the channels. ARGV: the key prefix, the timeout, the stream
 * prefix (PREFIX NUL). Members not refreshed for the timeout leave. */
static const char pubsub_presence_redis_sweep_lua[] =
    "local t = redis.call('TIME')\n"
    "local limit = tonumber(t[1]) + tonumber(t[2]) / 1e6 - tonumber(ARGV[2])\n"
    "for _, ch in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n"
    "  local z = ARGV[1] .. 'presence:' .. ch\n"
    "  local h = ARGV[1] .. 'presence-info:' .. ch\n"
    "  for _, m in ipairs(redis.call('ZRANGEBYSCORE', z, '-inf', '(' .. limit)) do\n"
    "    local info = redis.call('HGET', h, m) or '{}'\n"
    "    redis.call('ZREM', z, m)\n"
    "    redis.call('HDEL', h, m)\n"
    "    redis.call('PUBLISH', ARGV[3] .. ch, '{\"event\":\"leave\",\"id\":' ..\n"
    "      cjson.encode(m) .. ',\"info\":' .. info .. '}')\n"
    "  end\n"
    "  if redis.call('ZCARD', z) == 0 then\n"
    "    redis.call('SREM', KEYS[1], ch)\n"
    "    redis.call('DEL', h)\n"
    "  end\n"
    "end\n"
    "return 0\n";

/* KEYS: the set, the info hash. ARGV: the timeout. Returns id, info, ...
 * of the members refreshed within the timeout. */
static const char pubsub_presence_redis_get_lua[] =
    "local t = redis.call('TIME')\n"
    "local limit = tonumber(t[1]) + tonumber(t[2]) / 1e6 - tonumber(ARGV[1])\n"
    "local out = {}\n"
    "for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], limit, '+inf')) do\n"
    "  out[#out + 1] = m\n"
    "  out[#out + 1] = redis.call('HGET', KEYS[2], m) or '{}'\n"
    "end\n"
    "return out\n";

/* Run by EVALSHA: the texts above cross the network once per server. */
static struct redis_script pubsub_presence_redis_join_script =
    REDIS_SCRIPT(pubsub_presence_redis_join_lua);
static struct redis_script pubsub_presence_redis_sweep_script =
    REDIS_SCRIPT(pubsub_presence_redis_sweep_lua);
static struct redis_script pubsub_presence_redis_get_script =
    REDIS_SCRIPT(pubsub_presence_redis_get_lua);

static struct {
    const struct config_redis *cfg;
    double timeout;
    struct event *beat;
} PR;

/* A gale_presence_get waiting for Redis. */
struct pubsub_presence_redis_ask {
    gale_presence_fn fn;
    void *arg;
    char channel[PUBSUB_MAX_CHANNEL + 1];
};

/* "PREFIX" what channel, in buf (cap bytes). */
static const char *pubsub_presence_redis_key(char *buf, size_t cap, const char *what,
                                             const char *channel)
{
    snprintf(buf, cap, "%s%s%s", PR.cfg->prefix, what, channel);
    return buf;
}

static void pubsub_presence_redis_logged(struct redisAsyncContext *ac, void *r, void *privdata)
{
    const redisReply *reply = r;
    (void)ac;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_warn("presence: redis %s: %s", (const char *)privdata, reply->str);
}

/* The join script for h: its first join, and every heartbeat after. */
static int pubsub_presence_redis_send(gale_presence *h)
{
    struct redisAsyncContext *ac = pubsub_redis_context();
    const char *channel = pubsub_presence_channel(h);
    char z[512], hk[512], set[512], stream[512];
    size_t plen = strlen(PR.cfg->prefix), chlen = strlen(channel);
    if (!ac || plen + chlen + 2 > sizeof(stream))
        return -1;
    memcpy(stream, PR.cfg->prefix, plen);
    stream[plen] = '\0'; /* the presence stream: PREFIX NUL channel */
    memcpy(stream + plen + 1, channel, chlen);
    const char *argv[] = {pubsub_presence_redis_key(z, sizeof(z), "presence:", channel),
                          pubsub_presence_redis_key(hk, sizeof(hk), "presence-info:", channel),
                          pubsub_presence_redis_key(set, sizeof(set), "presence-channels", ""),
                          pubsub_presence_member(h),
                          pubsub_presence_info(h),
                          stream,
                          channel};
    size_t lens[ARRAY_SIZE(argv)];
    for (size_t i = 0; i < ARRAY_SIZE(argv); i++)
        lens[i] = strlen(argv[i]);
    lens[5] = plen + 1 + chlen;
    return redis_script_run(ac, &pubsub_presence_redis_join_script, 3, (int)ARRAY_SIZE(argv), argv,
                            lens, pubsub_presence_redis_logged, "join");
}

int pubsub_presence_redis_join(gale_presence *h)
{
    /* Redis away: the heartbeat joins it once Redis is back */
    pubsub_presence_redis_send(h);
    return 0;
}

void pubsub_presence_redis_leave(gale_presence *h)
{
    /* a last refresh, so that the timeout counts from now, as with the
     * master; none after it: its member leaves once the timeout ran out */
    pubsub_presence_redis_send(h);
}

static void pubsub_presence_redis_refresh(gale_presence *h, void *arg)
{
    (void)arg;
    pubsub_presence_redis_send(h);
}

static void pubsub_presence_redis_sweep(void)
{
    struct redisAsyncContext *ac = pubsub_redis_context();
    char set[512], timeout[32], stream[512];
    if (!ac)
        return;
    size_t plen = strlen(PR.cfg->prefix);
    if (plen + 1 > sizeof(stream))
        return;
    memcpy(stream, PR.cfg->prefix, plen);
    stream[plen] = '\0';
    snprintf(timeout, sizeof(timeout), "%.3f", PR.timeout);
    const char *argv[] = {pubsub_presence_redis_key(set, sizeof(set), "presence-channels", ""),
                          PR.cfg->prefix, timeout, stream};
    size_t lens[ARRAY_SIZE(argv)];
    for (size_t i = 0; i < ARRAY_SIZE(argv); i++)
        lens[i] = strlen(argv[i]);
    lens[3] = plen + 1;
    redis_script_run(ac, &pubsub_presence_redis_sweep_script, 1, (int)ARRAY_SIZE(argv), argv, lens,
                     pubsub_presence_redis_logged, "sweep");
}

static void pubsub_presence_redis_beat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    pubsub_presence_each(pubsub_presence_redis_refresh, NULL);
    pubsub_presence_redis_sweep();
}

static void pubsub_presence_redis_on_list(struct redisAsyncContext *ac, void *r, void *privdata)
{
    const redisReply *reply = r;
    struct pubsub_presence_redis_ask *a = privdata;
    (void)ac;
    if (!PR.cfg) { /* the worker exits (the link is closed after the modules' shutdown) */
        free(a);
        return;
    }
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            log_warn("presence: redis get: %s", reply->str);
        a->fn(a->arg, a->channel, -1, 0, NULL);
        free(a);
        return;
    }
    json_t *members = json_array();
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const redisReply *id = reply->element[i], *info = reply->element[i + 1];
        if (id->type != REDIS_REPLY_STRING || info->type != REDIS_REPLY_STRING)
            continue;
        json_t *obj = json_loadb(info->str, info->len, 0, NULL);
        json_array_append_new(members, json_pack("{s:s%, s:o}", "id", id->str, id->len, "info",
                                                 json_is_object(obj) ? obj : json_object()));
        if (obj && !json_is_object(obj))
            json_decref(obj);
    }
    a->fn(a->arg, a->channel, 0, json_array_size(members), members);
    json_decref(members);
    free(a);
}

int pubsub_presence_redis_get(const char *channel, gale_presence_fn fn, void *arg)
{
    struct redisAsyncContext *ac = pubsub_redis_context();
    if (!ac)
        return -1;
    struct pubsub_presence_redis_ask *a = xcalloc(1, sizeof(*a));
    a->fn = fn;
    a->arg = arg;
    snprintf(a->channel, sizeof(a->channel), "%s", channel);
    char z[512], hk[512], timeout[32];
    snprintf(timeout, sizeof(timeout), "%.3f", PR.timeout);
    const char *argv[] = {pubsub_presence_redis_key(z, sizeof(z), "presence:", channel),
                          pubsub_presence_redis_key(hk, sizeof(hk), "presence-info:", channel),
                          timeout};
    size_t lens[ARRAY_SIZE(argv)];
    for (size_t i = 0; i < ARRAY_SIZE(argv); i++)
        lens[i] = strlen(argv[i]);
    if (redis_script_run(ac, &pubsub_presence_redis_get_script, 2, (int)ARRAY_SIZE(argv), argv,
                         lens, pubsub_presence_redis_on_list, a) == 0)
        return 0;
    free(a);
    return -1;
}

int pubsub_presence_redis_init(struct event_base *base, const struct config_redis *cfg,
                               double timeout)
{
    PR.cfg = cfg;
    PR.timeout = timeout;
    PR.beat = event_new(base, -1, EV_PERSIST, pubsub_presence_redis_beat, NULL);
    if (!PR.beat)
        util_oom();
    struct timeval tv = util_timeval(timeout / 3);
    return event_add(PR.beat, &tv);
}

void pubsub_presence_redis_shutdown(void)
{
    if (PR.beat)
        event_free(PR.beat);
    memset(&PR, 0, sizeof(PR));
}
