/*
 * pubsub_redis_history.c - offsets, epochs and history with the Redis
 * backend, so that every gale sharing the server agrees on them.
 *
 * Per channel C with a `history` rule: a hash PREFIX "history-meta:" C
 * holding the epoch and the last offset given (top), and a stream
 * PREFIX "history:" C whose entry ids are OFFSET-0, each with the time it
 * was added (t, Redis' clock) and the message (m). A publish runs one
 * script: the next offset, XADD with an exact MAXLEN (the rule's size: an
 * approximate ~ would keep up to a hundred more, and recovery would then
 * answer differently than with the master), the entries older than the
 * ttl trimmed (XTRIM MINID) and the stream's expiry pushed back, then
 * PUBLISH of the message with its position. Its reply is the position:
 * Redis sequenced it, so gale_publish_then reports then.
 *
 * The epoch is created with HSETNX when the hash does not exist (the first
 * publish, or Redis lost its data), drawn at random by the worker that
 * runs the script; a new epoch starts an empty stream.
 *
 * A keyed publish (gale_publish_keyed) runs the same script, with or
 * without a rule: a hash PREFIX "keys:" C of key -> "EPOCH:OFFSET" and a
 * sorted set PREFIX "keys-order:" C of key -> time keep the channel's last
 * key_window keys, none older than key_ttl; a key found there returns the
 * first message's position and publishes nothing.
 *
 * A positioned message on the pub/sub channel is NUL "EPOCH:OFFSET" LF
 * then the message (pubsub_redis.c parses it).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <hiredis/async.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "pubsub/pubsub.h"
#include "pubsub/pubsub_settings.h"
#include "store/redis_script.h"

/* KEYS: stream, meta, keys (a hash: key -> "EPOCH:OFFSET"), key order (a
 * sorted set: key -> when). ARGV: a new epoch, size (-1: the channel has no
 * history rule: a plain PUBLISH, position 0:0), ttl, the pub/sub channel,
 * key_window, key_ttl, the message, the key ("": none). Returns {epoch,
 * offset, 1 when the key was seen: nothing was published}. The key is
 * checked and remembered in the same script as the message is added, so
 * that two instances sending the same key at once publish it once. */
static const char pubsub_redis_history_publish_lua[] =
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) + tonumber(t[2]) / 1e6\n"
    "local key, window, keyttl = ARGV[8], tonumber(ARGV[5]), tonumber(ARGV[6])\n"
    "if key ~= '' and window > 0 then\n"
    "  local seen = redis.call('HGET', KEYS[3], key)\n"
    /* the hash lives key_ttl after its last write: a key in it may be
     * older than that, and counts as gone */
    "  local at = seen and tonumber(redis.call('ZSCORE', KEYS[4], key) or '0')\n"
    "  if seen and (keyttl <= 0 or at >= now - keyttl) then\n"
    "    local e, o = string.match(seen, '^(%d+):(%d+)$')\n"
    "    return {e, o, 1}\n"
    "  end\n"
    "end\n"
    "local size, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])\n"
    "local epoch, top = '0', 0\n"
    "if size < 0 then\n"
    "  local m = ARGV[7]\n"
    "  if string.byte(m, 1) == 0 then m = '\\0' .. '0:0\\n' .. m end\n"
    "  redis.call('PUBLISH', ARGV[4], m)\n"
    "else\n"
    "  if redis.call('HSETNX', KEYS[2], 'epoch', ARGV[1]) == 1 then\n"
    "    redis.call('DEL', KEYS[1])\n"
    "  end\n"
    "  epoch = redis.call('HGET', KEYS[2], 'epoch')\n"
    "  top = redis.call('HINCRBY', KEYS[2], 'top', 1)\n"
    "  if size > 0 then\n"
    "    redis.call('XADD', KEYS[1], 'MAXLEN', size, top .. '-0', 't',\n"
    "               string.format('%.6f', now), 'm', ARGV[7])\n"
    "    if ttl > 0 then\n"
    "      for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 100)) do\n"
    "        if tonumber(e[2][2]) >= now - ttl then\n"
    "          redis.call('XTRIM', KEYS[1], 'MINID', e[1])\n"
    "          break\n"
    "        end\n"
    "      end\n"
    "      redis.call('PEXPIRE', KEYS[1], math.ceil(ttl * 1000))\n"
    "    end\n"
    "  end\n"
    "  redis.call('PUBLISH', ARGV[4], '\\0' .. epoch .. ':' .. top .. '\\n' .. ARGV[7])\n"
    "end\n"
    "if key ~= '' and window > 0 then\n"
    "  redis.call('HSET', KEYS[3], key, epoch .. ':' .. top)\n"
    "  redis.call('ZADD', KEYS[4], now, key)\n"
    "  local old = redis.call('ZCARD', KEYS[4]) - window\n"
    "  local gone = old > 0 and redis.call('ZRANGE', KEYS[4], 0, old - 1) or {}\n"
    "  if keyttl > 0 then\n"
    "    for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. (now - keyttl))) "
    "do\n"
    "      gone[#gone + 1] = k\n"
    "    end\n"
    "  end\n"
    "  for _, k in ipairs(gone) do\n"
    "    redis.call('HDEL', KEYS[3], k)\n"
    "    redis.call('ZREM', KEYS[4], k)\n"
    "  end\n"
    "  if keyttl > 0 then\n"
    "    redis.call('PEXPIRE', KEYS[3], math.ceil(keyttl * 1000))\n"
    "    redis.call('PEXPIRE', KEYS[4], math.ceil(keyttl * 1000))\n"
    "  end\n"
    "end\n"
    "return {epoch, top, 0}\n";

/* KEYS: stream, meta. ARGV: a new epoch, the epoch asked (0: everything
 * kept), since ("now": the position only), ttl. Returns {status (0, or 1
 * lost), epoch, top, {offset, message, ...}}. */
static const char pubsub_redis_history_since_lua[] =
    "if redis.call('HSETNX', KEYS[2], 'epoch', ARGV[1]) == 1 then\n"
    "  redis.call('DEL', KEYS[1])\n"
    "end\n"
    "local epoch = redis.call('HGET', KEYS[2], 'epoch')\n"
    "local top = tonumber(redis.call('HGET', KEYS[2], 'top') or '0')\n"
    "if ARGV[3] == 'now' then return {0, epoch, top, {}} end\n"
    "local since, ttl, all = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[2] == '0'\n"
    "if not all and (ARGV[2] ~= epoch or since > top) then return {1, epoch, top, {}} end\n"
    "local t = redis.call('TIME')\n"
    "local oldest = tonumber(t[1]) + tonumber(t[2]) / 1e6 - ttl\n"
    "local from = all and '-' or (since + 1) .. '-0'\n"
    "local out, first = {}, nil\n"
    "for _, e in ipairs(redis.call('XRANGE', KEYS[1], from, '+')) do\n"
    "  if ttl <= 0 or tonumber(e[2][2]) >= oldest then\n"
    "    local off = tonumber(string.match(e[1], '^(%d+)'))\n"
    "    first = first or off\n"
    "    out[#out + 1] = off\n"
    "    out[#out + 1] = e[2][4]\n"
    "  end\n"
    "end\n"
    "if not all and since < top and first ~= since + 1 then return {1, epoch, top, {}} end\n"
    "return {0, epoch, top, out}\n";

/* Run by EVALSHA: the texts above cross the network once per server. */
static struct redis_script pubsub_redis_history_publish_script =
    REDIS_SCRIPT(pubsub_redis_history_publish_lua);
static struct redis_script pubsub_redis_history_since_script =
    REDIS_SCRIPT(pubsub_redis_history_since_lua);

/* A fresh epoch, in case the script needs one: random, never 0, below
 * 2^53 so that a JSON number holds it exactly. */
static void pubsub_redis_history_epoch(char out[24])
{
    uint64_t e = 0;
    while (!e) {
        if (getrandom(&e, sizeof(e), 0) != sizeof(e))
            e = (uint64_t)(util_now() * 1e6) ^ ((uint64_t)getpid() << 32);
        e &= (1ull << 53) - 1;
    }
    snprintf(out, 24, "%" PRIu64, e);
}

static void pubsub_redis_history_keys(const char *prefix, const char *channel, char *stream,
                                      char *meta, size_t cap)
{
    snprintf(stream, cap, "%shistory:%s", prefix, channel);
    snprintf(meta, cap, "%shistory-meta:%s", prefix, channel);
}

/* The idempotency keys of a channel (gale_publish_keyed): a hash of
 * their positions and a sorted set of their ages. */
static void pubsub_redis_history_key_keys(const char *prefix, const char *channel, char *keys,
                                          char *order, size_t cap)
{
    snprintf(keys, cap, "%skeys:%s", prefix, channel);
    snprintf(order, cap, "%skeys-order:%s", prefix, channel);
}

/* A gale_publish_then waiting for the script. */
struct pubsub_redis_history_then {
    int keyed;            /* counted at the answer: published, or a repeat */
    gale_published_fn fn; /* NULL: a keyed publish nobody asked to hear of */
    void *arg;
    char channel[PUBSUB_MAX_CHANNEL + 1];
};

static uint64_t pubsub_redis_history_u64(const redisReply *r)
{
    if (r->type == REDIS_REPLY_INTEGER)
        return (uint64_t)r->integer;
    return r->type == REDIS_REPLY_STRING ? strtoull(r->str, NULL, 10) : 0;
}

static void pubsub_redis_history_on_published(redisAsyncContext *ac, void *r, void *privdata)
{
    const redisReply *reply = r;
    struct pubsub_redis_history_then *t = privdata;
    (void)ac;
    int ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_warn("pubsub: redis history publish: %s", reply->str);
    if (!t)
        return;
    int status = !ok ? -1 : pubsub_redis_history_u64(reply->element[2]) ? GALE_PUBLISH_REPEATED : 0;
    if (t->keyed && ok)
        pubsub_count_keyed(status);
    if (t->fn && ok)
        t->fn(t->arg, t->channel, status, pubsub_redis_history_u64(reply->element[0]),
              pubsub_redis_history_u64(reply->element[1]));
    else if (t->fn)
        t->fn(t->arg, t->channel, -1, 0, 0);
    free(t);
}

int pubsub_redis_history_publish(const struct pubsub_settings *ps,
                                 const struct pubsub_history_rule *rule, const char *channel,
                                 const void *key, size_t keylen, const void *msg, size_t len,
                                 gale_published_fn fn, void *arg)
{
    redisAsyncContext *ac = pubsub_redis_context();
    if (!ac)
        return -1;
    const struct config_redis *cfg = &ps->redis;
    char stream[512], meta[512], keys[512], order[512], pubch[512], epoch[24], size[24], ttl[32],
        window[24], keyttl[32];
    pubsub_redis_history_keys(cfg->prefix, channel, stream, meta, sizeof(stream));
    pubsub_redis_history_key_keys(cfg->prefix, channel, keys, order, sizeof(keys));
    snprintf(pubch, sizeof(pubch), "%s%s", cfg->prefix, channel);
    pubsub_redis_history_epoch(epoch);
    if (rule)
        snprintf(size, sizeof(size), "%zu", rule->size);
    else
        snprintf(size, sizeof(size), "-1");
    snprintf(ttl, sizeof(ttl), "%.3f", rule ? rule->ttl : 0.0);
    snprintf(window, sizeof(window), "%zu", ps->key_window);
    snprintf(keyttl, sizeof(keyttl), "%.3f", ps->key_ttl);
    /* the message and the key last: bytes, not strings */
    const char *argv[] = {stream, meta,  keys,   order,  epoch, size,
                          ttl,    pubch, window, keyttl, msg,   key ? key : ""};
    size_t lens[ARRAY_SIZE(argv)];
    for (size_t i = 0; i + 2 < ARRAY_SIZE(argv); i++)
        lens[i] = strlen(argv[i]);
    lens[ARRAY_SIZE(argv) - 2] = len;
    lens[ARRAY_SIZE(argv) - 1] = key ? keylen : 0;
    struct pubsub_redis_history_then *t = NULL;
    if (fn || key) {
        t = xcalloc(1, sizeof(*t));
        t->keyed = key != NULL;
        t->fn = fn;
        t->arg = arg;
        snprintf(t->channel, sizeof(t->channel), "%s", channel);
    }
    if (redis_script_run(ac, &pubsub_redis_history_publish_script, 4, (int)ARRAY_SIZE(argv), argv,
                         lens, pubsub_redis_history_on_published, t) == 0)
        return 0;
    free(t);
    return -1;
}

static void pubsub_redis_history_on_since(redisAsyncContext *ac, void *r, void *privdata)
{
    const redisReply *reply = r;
    uint32_t token = (uint32_t)(uintptr_t)privdata;
    (void)ac;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4 ||
        reply->element[3]->type != REDIS_REPLY_ARRAY) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            log_warn("pubsub: redis history: %s", reply->str);
        pubsub_history_end_at(token, 1, 0, 0); /* nothing known: lost, from nowhere */
        return;
    }
    uint64_t epoch = pubsub_redis_history_u64(reply->element[1]);
    const redisReply *items = reply->element[3];
    for (size_t i = 0; i + 1 < items->elements; i += 2) {
        const redisReply *m = items->element[i + 1];
        if (m->type == REDIS_REPLY_STRING)
            pubsub_history_item_at(token, epoch, pubsub_redis_history_u64(items->element[i]),
                                   m->str, m->len);
    }
    pubsub_history_end_at(token, reply->element[0]->integer != 0, epoch,
                          pubsub_redis_history_u64(reply->element[2]));
}

int pubsub_redis_history_since(const struct config_redis *cfg,
                               const struct pubsub_history_rule *rule, const char *channel,
                               uint64_t epoch, uint64_t since, uint32_t token)
{
    redisAsyncContext *ac = pubsub_redis_context();
    if (!ac)
        return -1;
    char stream[512], meta[512], fresh[24], asked[24], from[24], ttl[32];
    pubsub_redis_history_keys(cfg->prefix, channel, stream, meta, sizeof(stream));
    pubsub_redis_history_epoch(fresh);
    snprintf(asked, sizeof(asked), "%" PRIu64, epoch);
    if (since == PUBSUB_NOW)
        snprintf(from, sizeof(from), "now");
    else
        snprintf(from, sizeof(from), "%" PRIu64, since);
    snprintf(ttl, sizeof(ttl), "%.3f", rule ? rule->ttl : 0.0);
    const char *argv[] = {stream, meta, fresh, asked, from, ttl};
    size_t lens[ARRAY_SIZE(argv)];
    for (size_t i = 0; i < ARRAY_SIZE(argv); i++)
        lens[i] = strlen(argv[i]);
    return redis_script_run(ac, &pubsub_redis_history_since_script, 2, (int)ARRAY_SIZE(argv), argv,
                            lens, pubsub_redis_history_on_since, (void *)(uintptr_t)token);
}
