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
 * The process must ignore SIGPIPE (the worker does): hiredis writes to the
 * socket with write(2), and a dead server would otherwise kill the worker.
 * The host is an address: the config resolves names when it is loaded, since
 * redisAsyncConnect would resolve them with a blocking getaddrinfo.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>

#include "core/log.h"
#include "store/store_impl.h"

/* Seconds between connection attempts while Redis is unreachable. */
#define STORE_REDIS_RETRY_SEC 1

struct store_redis_op {
    struct store_op base;
    struct store_redis_op *prev, *next; /* pending list, while not cancelled */
    int cancelled;                      /* answer nobody: just free on reply */
    store_get_cb get_cb;                /* GET */
    store_done_cb done_cb;              /* SET, DEL; may be NULL */
    void *arg;
};

struct store_redis {
    struct store base;
    struct event_base *evbase; /* borrowed: the worker's loop */
    redisAsyncContext *ac;     /* NULL while disconnected; hiredis frees it */
    struct event *retry;       /* the reconnection timer */
    int failing;               /* a failure was logged: stay quiet until connected */
    char *host, *password;     /* owned copies; password NULL: no AUTH */
    int port, db;
    char *prefix; /* owned copy, prepended to every key */
    size_t prefix_len;
    struct store_redis_op *pending; /* ops to cancel on close */
};

static void store_redis_connect(struct store_redis *s);

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
        op->done_cb(op->arg, status);
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

    if (s->ac && (op = malloc(sizeof(*op)))) {
        *op = *want;
        va_start(ap, fmt);
        rc = redisvAsyncCommand(s->ac, store_redis_on_reply, op, fmt, ap);
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

/* Log the first failure of a series only: retries happen every second. */
static void store_redis_failed(struct store_redis *s, const char *why)
{
    const struct timeval later = {STORE_REDIS_RETRY_SEC, 0};

    if (!s->failing)
        store_redis_log("%s:%d: %s; retrying every %d s", s->host, s->port, why,
                        STORE_REDIS_RETRY_SEC);
    s->failing = 1;
    evtimer_add(s->retry, &later);
}

static void store_redis_on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    store_redis_connect(arg);
}

/* Connection callbacks find the store in ac->data, which close clears: they
 * may run after the store is gone, while hiredis tears the context down. */
static void store_redis_on_connect(const redisAsyncContext *ac, int status)
{
    struct store_redis *s = ac->data;

    if (!s)
        return;
    if (status != REDIS_OK) {
        s->ac = NULL; /* hiredis frees it on return, answering its queue -1 */
        store_redis_failed(s, ac->errstr);
        return;
    }
    if (s->failing)
        store_redis_log("%s:%d: connected", s->host, s->port);
    s->failing = 0;
}

static void store_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct store_redis *s = ac->data;

    (void)status;
    if (!s)
        return;
    s->ac = NULL;
    store_redis_failed(s, ac->err ? ac->errstr : "disconnected");
}

/* AUTH and SELECT are not ops: privdata names the command for the log. */
static void store_redis_on_setup(redisAsyncContext *ac, void *r, void *privdata)
{
    const redisReply *reply = r;

    (void)ac;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        store_redis_log("%s: %s", (const char *)privdata, reply->str);
}

/* hiredis sends queued commands in order once connected, so AUTH and SELECT
 * queued here run before any operation started meanwhile. */
static void store_redis_setup(struct store_redis *s)
{
    if (s->password)
        redisAsyncCommand(s->ac, store_redis_on_setup, "AUTH", "AUTH %s", s->password);
    if (s->db > 0)
        redisAsyncCommand(s->ac, store_redis_on_setup, "SELECT", "SELECT %d", s->db);
}

static void store_redis_connect(struct store_redis *s)
{
    redisAsyncContext *ac = redisAsyncConnect(s->host, s->port);

    if (!ac || ac->err) {
        store_redis_failed(s, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac); /* not attached yet: no callback can run */
        return;
    }
    ac->data = s;
    if (redisLibeventAttach(ac, s->evbase) != REDIS_OK) {
        store_redis_failed(s, "cannot attach to the event loop");
        redisAsyncFree(ac);
        return;
    }
    redisAsyncSetConnectCallback(ac, store_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, store_redis_on_disconnect);
    s->ac = ac;
    store_redis_setup(s);
}

static void store_redis_free(struct store_redis *s)
{
    if (s->retry)
        event_free(s->retry);
    free(s->host);
    free(s->password);
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
    if (s->ac) {
        s->ac->data = NULL;
        redisAsyncFree(s->ac);
    }
    store_redis_free(s);
}

static const struct store_vt store_redis_vt = {
    .get = store_redis_get,
    .set = store_redis_set,
    .del = store_redis_del,
    .cancel = store_redis_cancel,
    .close = store_redis_close,
};

static void store_redis_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "redis: %s", msg);
}

static char *store_redis_strdup(const char *str, int *oom)
{
    char *copy = str ? strdup(str) : NULL;

    if (str && !copy)
        *oom = 1;
    return copy;
}

/* An unreachable server is not an error here: the store retries by itself,
 * as it does after a disconnect, so a worker can start before Redis. */
struct store *store_redis_open(struct event_base *base, const struct store_redis_conf *conf,
                               char *err, size_t errlen)
{
    struct store_redis *s;
    int oom = 0;

    if (!base || !conf || !conf->host || conf->port <= 0 || conf->port > 65535) {
        store_redis_err(err, errlen, "a host and a port from 1 to 65535 are required");
        return NULL;
    }
    if (!(s = calloc(1, sizeof(*s)))) {
        store_redis_err(err, errlen, "out of memory");
        return NULL;
    }
    s->base.vt = &store_redis_vt;
    s->evbase = base;
    s->port = conf->port;
    s->db = conf->db;
    s->host = store_redis_strdup(conf->host, &oom);
    s->password = store_redis_strdup(conf->password, &oom);
    s->prefix = store_redis_strdup(conf->prefix ? conf->prefix : "", &oom);
    s->retry = evtimer_new(base, store_redis_on_retry, s);
    if (oom || !s->retry) {
        store_redis_free(s);
        store_redis_err(err, errlen, "out of memory");
        return NULL;
    }
    s->prefix_len = strlen(s->prefix);
    store_redis_connect(s);
    return &s->base;
}
