/*
 * redis_link.h - one connection to a Redis server that keeps itself up, on
 * the worker's loop (hiredis' async API): AUTH and SELECT are queued first
 * on every connection, a new attempt is made every second while the server
 * is away, the first failure of a series is logged and so is the return.
 * The session store (store_redis.c) and pub/sub (pubsub_redis.c) both talk
 * to Redis through it.
 *
 * The host must be an address: redisAsyncConnect would resolve a name with
 * a blocking getaddrinfo (the config resolves names when it is loaded). The
 * process must ignore SIGPIPE (workers do): hiredis writes with write(2).
 */
#ifndef GALE_REDIS_LINK_H
#define GALE_REDIS_LINK_H

struct event;
struct event_base;
struct redisAsyncContext;

struct redis_link {
    struct redisAsyncContext *ac; /* the connection; NULL while there is none */
    struct event_base *base;      /* borrowed: the worker's loop */
    struct event *retry;          /* the next attempt */
    char *host, *password;        /* owned copies; password NULL: no AUTH */
    int port, db;                 /* db > 0: SELECT it */
    const char *what;             /* the log's prefix, "sessions: redis" (borrowed) */
    int failing;                  /* a failure was logged: quiet until connected again */
    /* Called at each attempt, after AUTH and SELECT were queued: queue what
     * every connection starts with (PSUBSCRIBE); hiredis sends it once
     * connected. May be NULL. */
    void (*queue)(struct redis_link *l, void *arg);
    void *arg;
};

/* Fill l and make the first attempt; an unreachable server is no error
 * (it is tried again every second). -1 only on bad arguments or OOM. */
int redis_link_open(struct redis_link *l, struct event_base *base, const char *host, int port,
                    const char *password, int db, const char *what,
                    void (*queue)(struct redis_link *l, void *arg), void *arg);

/* Drop the connection and free what open made. Inside a hiredis callback
 * the context is freed when the callback returns; its callbacks then find
 * no link (ac->data is cleared) and answer nobody. */
void redis_link_close(struct redis_link *l);

#endif
