/*
 * store.h - the session stores: a key -> bytes map with expiry, shared by
 * every worker of an instance (LMDB, a file in a state folder) or by every
 * instance (Redis, through hiredis' async API on the worker's libevent loop).
 *
 * Asynchronous by contract so that Redis never blocks the loop: each call
 * takes a callback and returns an operation handle. LMDB answers at once,
 * calling the callback before the call returns (and returning NULL then).
 * A caller that no longer wants an answer (its request was freed) cancels
 * the handle: the callback will not run. Callbacks may start new operations.
 */
#ifndef GALE_STORE_H
#define GALE_STORE_H

#include <stddef.h>

struct event_base;
struct store;
struct store_op;

/* status: 0 found (value/len valid during the call only), 1 absent or
 * expired, -1 error (logged by the store). */
typedef void (*store_get_cb)(void *arg, int status, const char *value, size_t len);
/* status: 0 done, -1 error (store_add: 1 not written, the key was there). */
typedef void (*store_done_cb)(void *arg, int status);

/* Open the LMDB store in folder dir (created if missing, mode 0700), in the
 * worker (an LMDB environment must not cross fork). NULL with err set. */
struct store *store_lmdb_open(const char *dir, size_t map_size, char *err, size_t errlen);

struct store_redis_conf {
    const char *host;     /* "127.0.0.1" */
    int port;             /* 6379 */
    const char *password; /* NULL: no AUTH */
    int db;               /* SELECT db when > 0 */
    const char *prefix;   /* prepended to every key, e.g. "gale:session:" */
};
/* Connect to Redis on the worker's loop; reconnects by itself after a
 * disconnect (operations meanwhile fail with -1). NULL with err set. */
struct store *store_redis_open(struct event_base *base, const struct store_redis_conf *conf,
                               char *err, size_t errlen);

/* Read key. */
struct store_op *store_get(struct store *s, const char *key, store_get_cb cb, void *arg);
/* Write key = value[0..len), expiring after ttl seconds (> 0). cb may be NULL. */
struct store_op *store_set(struct store *s, const char *key, const void *value, size_t len,
                           unsigned ttl, store_done_cb cb, void *arg);
/* Write key = value[0..len) with ttl as store_set does, but only when key is
 * absent or expired: one atomic step for every worker and every instance
 * sharing the store (LMDB: one write transaction; Redis: SET NX), so that
 * of two callers adding the same key at the same instant exactly one wins.
 * cb's status: 0 written, 1 not written (key was there), -1 error. */
struct store_op *store_add(struct store *s, const char *key, const void *value, size_t len,
                           unsigned ttl, store_done_cb cb, void *arg);
/* Remove key. cb may be NULL. */
struct store_op *store_del(struct store *s, const char *key, store_done_cb cb, void *arg);
/* Forget a pending operation: its callback will not run. NULL is fine. */
void store_cancel(struct store_op *op);
/* Close the store; pending operations are cancelled. */
void store_close(struct store *s);

#endif
