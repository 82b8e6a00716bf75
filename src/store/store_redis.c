/*
 * store_redis.c - the session store in Redis, shared by every instance,
 * through hiredis' async API on the worker's libevent loop.
 *
 * Ownership: once a command is queued, hiredis holds its op and calls
 * store_redis_on_reply exactly once (with a NULL reply when the connection
 * goes away or the context is freed); that call, and only it, frees the op.
 * Cancel and close therefore only mark ops and take them off the store's
 * pending list; a cancelled op never touches its store again, so the store
 * can be freed while hiredis still holds cancelled ops.
 *
 * The connection, its retries, AUTH and SELECT are redis_link's.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>

#include "core/log.h"
#include "store/redis_link.h"
#include "store/store_impl.h"

struct store_redis_op {
    struct store_op base;
    struct store_redis_op *prev, *next; /* pending list, while not cancelled */
    int cancelled;                      /* answer nobody: just free on reply */
    store_get_cb get_cb;                /* GET */
    store_done_cb done_cb;              /* SET, SET NX, DEL; may be NULL */
    void *arg;
};

struct store_redis {
    struct store base;
    struct redis_link link;
    char *prefix; /* owned copy, prepended to every key */
    size_t prefix_len;
    struct store_redis_op *pending; /* ops to cancel on close */
};

/* Errors go to gale's error log (the unit test supplies its own log_msg). */
static void store_redis_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void store_redis_log(const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_msg(LOG_ERR, "sessions: redis: %s", msg);
}

static void store_redis_link(struct store_redis *s, struct store_redis_op *op)
{
    op->prev = NULL;
    op->next = s->pending;
    if (s->pending)
        s->pending->prev = op;
    s->pending = op;
}

static void store_redis_unlink(struct store_redis *s, struct store_redis_op *op)
{
    if (op->prev)
        op->prev->next = op->next;
    else
        s->pending = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
}

/* Call the user's callback; it may start operations or close the store. */
static void store_redis_answer(const struct store_redis_op *op, const redisReply *reply)
{
    int status = reply ? 0 : -1;

    if (reply && reply->type == REDIS_REPLY_ERROR) {
        store_redis_log("%s", reply->str);
        status = -1;
    }
    if (op->get_cb) {
        if (status == 0 && reply->type == REDIS_REPLY_STRING)
            op->get_cb(op->arg, 0, reply->str, reply->len);
        else if (status == 0 && reply->type == REDIS_REPLY_NIL)
            op->get_cb(op->arg, 1, NULL, 0);
        else
            op->get_cb(op->arg, -1, NULL, 0);
    } else if (op->done_cb) {
        /* only SET NX answers nil: the key was there, nothing written */
        op->done_cb(op->arg, status == 0 && reply->type == REDIS_REPLY_NIL ? 1 : status);
    }
}

static void store_redis_on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct store_redis_op *op = privdata;

    (void)ac;
    if (!op->cancelled) {
        store_redis_unlink((struct store_redis *)op->base.store, op);
        store_redis_answer(op, reply);
    }
    free(op);
}

/* Queue a command for a copy of want; when that is impossible (disconnected,
 * out of memory) answer -1 before returning NULL, as store.h promises. */
static struct store_op *store_redis_send(struct store_redis *s, const struct store_redis_op *want,
                                         const char *fmt, ...)
{
    struct store_redis_op *op = NULL;
    int rc = REDIS_ERR;
    va_list ap;

    if (s->link.ac && (op = malloc(sizeof(*op)))) {
        *op = *want;
        va_start(ap, fmt);
        rc = redisvAsyncCommand(s->link.ac, store_redis_on_reply, op, fmt, ap);
        va_end(ap);
    }
    if (rc != REDIS_OK) {
        free(op);
        store_redis_answer(want, NULL); /* may free s: do not touch it after */
        return NULL;
    }
    store_redis_link(s, op);
    return &op->base;
}

/* Keys are sent as "%b%s" (prefix, key): hiredis joins adjacent specifiers
 * into one argument, so keys need no copy and may hold spaces. */
static struct store_op *store_redis_get(struct store *st, const char *key, store_get_cb cb,
                                        void *arg)
{
    struct store_redis *s = (struct store_redis *)st;
    struct store_redis_op want = {.base.store = st, .get_cb = cb, .arg = arg};

    return store_redis_send(s, &want, "GET %b%s", s->prefix, s->prefix_len, key);
}

static struct store_op *store_redis_set(struct store *st, const char *key, const void *value,
                                        size_t len, unsigned ttl, store_done_cb cb, void *arg)
{
    struct store_redis *s = (struct store_redis *)st;
    struct store_redis_op want = {.base.store = st, .done_cb = cb, .arg = arg};

    return store_redis_send(s, &want, "SET %b%s %b EX %u", s->prefix, s->prefix_len, key, value,
                            len, ttl);
}

/* SET NX: Redis runs one command at a time, so the check and the write are
 * one step for every client of the server. */
static struct store_op *store_redis_add(struct store *st, const char *key, const void *value,
                                        size_t len, unsigned ttl, store_done_cb cb, void *arg)
{
    struct store_redis *s = (struct store_redis *)st;
    struct store_redis_op want = {.base.store = st, .done_cb = cb, .arg = arg};

    return store_redis_send(s, &want, "SET %b%s %b EX %u NX", s->prefix, s->prefix_len, key, value,
                            len, ttl);
}

static struct store_op *store_redis_del(struct store *st, const char *key, store_done_cb cb,
                                        void *arg)
{
    struct store_redis *s = (struct store_redis *)st;
    struct store_redis_op want = {.base.store = st, .done_cb = cb, .arg = arg};

    return store_redis_send(s, &want, "DEL %b%s", s->prefix, s->prefix_len, key);
}

static void store_redis_cancel(struct store *st, struct store_op *o)
{
    struct store_redis_op *op = (struct store_redis_op *)o;

    if (op->cancelled)
        return;
    store_redis_unlink((struct store_redis *)st, op);
    op->cancelled = 1;
}

static void store_redis_free(struct store_redis *s)
{
    redis_link_close(&s->link);
    free(s->prefix);
    free(s);
}

/* Inside a reply callback hiredis defers redisAsyncFree until the callback
 * returns; every op it then answers is cancelled and touches nothing here. */
static void store_redis_close(struct store *st)
{
    struct store_redis *s = (struct store_redis *)st;

    while (s->pending)
        store_redis_cancel(st, &s->pending->base);
    store_redis_free(s);
}

static const struct store_vt store_redis_vt = {
    .get = store_redis_get,
    .set = store_redis_set,
    .add = store_redis_add,
    .del = store_redis_del,
    .cancel = store_redis_cancel,
    .close = store_redis_close,
};

static void store_redis_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "redis: %s", msg);
}

/* An unreachable server is not an error here: the store retries by itself,
 * as it does after a disconnect, so a worker can start before Redis. */
struct store *store_redis_open(struct event_base *base, const struct store_redis_conf *conf,
                               char *err, size_t errlen)
{
    struct store_redis *s;

    if (!base || !conf || !conf->host || conf->port <= 0 || conf->port > 65535) {
        store_redis_err(err, errlen, "a host and a port from 1 to 65535 are required");
        return NULL;
    }
    if (!(s = calloc(1, sizeof(*s)))) {
        store_redis_err(err, errlen, "out of memory");
        return NULL;
    }
    s->base.vt = &store_redis_vt;
    s->prefix = strdup(conf->prefix ? conf->prefix : "");
    if (!s->prefix || redis_link_open(&s->link, base, conf->host, conf->port, conf->password,
                                      conf->db, "sessions: redis", NULL, NULL) < 0) {
        store_redis_free(s);
        store_redis_err(err, errlen, "out of memory");
        return NULL;
    }
    s->prefix_len = strlen(s->prefix);
    return &s->base;
}
