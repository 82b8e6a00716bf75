/*
 * redis_link.c - a Redis connection that keeps itself up (see redis_link.h).
 *
 * Connection callbacks find the link in ac->data, which close clears: they
 * may run after the link is gone, while hiredis tears the context down.
 */
#include "store/redis_link.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>

#include "core/log.h"

/* Seconds between attempts while Redis is unreachable. */
#define REDIS_LINK_RETRY_SEC 1

static void redis_link_connect(struct redis_link *l);

/* Log the first failure of a series only: attempts come every second. */
static void redis_link_failed(struct redis_link *l, const char *why)
{
    const struct timeval later = {REDIS_LINK_RETRY_SEC, 0};

    if (!l->failing)
        log_msg(LOG_ERR, "%s: %s:%d: %s; retrying every %d s", l->what, l->host, l->port, why,
                REDIS_LINK_RETRY_SEC);
    l->failing = 1;
    evtimer_add(l->retry, &later);
}

static void redis_link_on_retry(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    redis_link_connect(arg);
}

static void redis_link_on_connect(const redisAsyncContext *ac, int status)
{
    struct redis_link *l = ac->data;

    if (!l)
        return;
    if (status != REDIS_OK) {
        l->ac = NULL; /* hiredis frees it on return, answering its queue */
        redis_link_failed(l, ac->errstr);
        return;
    }
    if (l->failing)
        log_msg(LOG_INFO, "%s: %s:%d: connected", l->what, l->host, l->port);
    l->failing = 0;
}

static void redis_link_on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_link *l = ac->data;

    (void)status;
    if (!l)
        return;
    l->ac = NULL;
    redis_link_failed(l, ac->err ? ac->errstr : "disconnected");
}

/* AUTH and SELECT: privdata names the command for the log. */
static void redis_link_on_setup(redisAsyncContext *ac, void *r, void *privdata)
{
    const redisReply *reply = r;
    const struct redis_link *l = ac->data;

    if (l && reply && reply->type == REDIS_REPLY_ERROR)
        log_msg(LOG_ERR, "%s: %s: %s", l->what, (const char *)privdata, reply->str);
}

/* hiredis sends queued commands in order once connected, so AUTH and SELECT
 * queued here run before anything queued meanwhile. */
static void redis_link_connect(struct redis_link *l)
{
    redisAsyncContext *ac = redisAsyncConnect(l->host, l->port);

    if (!ac || ac->err) {
        redis_link_failed(l, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac); /* not attached yet: no callback can run */
        return;
    }
    ac->data = l;
    if (redisLibeventAttach(ac, l->base) != REDIS_OK) {
        redis_link_failed(l, "cannot attach to the event loop");
        redisAsyncFree(ac);
        return;
    }
    redisAsyncSetConnectCallback(ac, redis_link_on_connect);
    redisAsyncSetDisconnectCallback(ac, redis_link_on_disconnect);
    l->ac = ac;
    if (l->password)
        redisAsyncCommand(ac, redis_link_on_setup, "AUTH", "AUTH %s", l->password);
    if (l->db > 0)
        redisAsyncCommand(ac, redis_link_on_setup, "SELECT", "SELECT %d", l->db);
    if (l->queue)
        l->queue(l, l->arg);
}

int redis_link_open(struct redis_link *l, struct event_base *base, const char *host, int port,
                    const char *password, int db, const char *what,
                    void (*queue)(struct redis_link *l, void *arg), void *arg)
{
    memset(l, 0, sizeof(*l));
    if (!base || !host || port <= 0 || port > 65535)
        return -1;
    l->base = base;
    l->port = port;
    l->db = db;
    l->what = what;
    l->queue = queue;
    l->arg = arg;
    l->host = strdup(host);
    l->password = password ? strdup(password) : NULL;
    l->retry = evtimer_new(base, redis_link_on_retry, l);
    if (!l->host || (password && !l->password) || !l->retry) {
        redis_link_close(l);
        return -1;
    }
    redis_link_connect(l);
    return 0;
}

void redis_link_close(struct redis_link *l)
{
    if (l->ac) {
        l->ac->data = NULL;
        redisAsyncFree(l->ac);
        l->ac = NULL;
    }
    if (l->retry)
        event_free(l->retry);
    l->retry = NULL;
    free(l->host);
    free(l->password);
    l->host = l->password = NULL;
}
