/*
 * store_impl.h - what a session store implements (store_lmdb.c,
 * store_redis.c); callers use store.h only.
 */
#ifndef GALE_STORE_IMPL_H
#define GALE_STORE_IMPL_H

#include "store/store.h"

struct store_vt {
    struct store_op *(*get)(struct store *s, const char *key, store_get_cb cb, void *arg);
    struct store_op *(*set)(struct store *s, const char *key, const void *value, size_t len,
                            unsigned ttl, store_done_cb cb, void *arg);
    struct store_op *(*add)(struct store *s, const char *key, const void *value, size_t len,
                            unsigned ttl, store_done_cb cb, void *arg);
    struct store_op *(*del)(struct store *s, const char *key, store_done_cb cb, void *arg);
    void (*cancel)(struct store *s, struct store_op *op);
    void (*close)(struct store *s);
};

/* Every store's struct starts with this. */
struct store {
    const struct store_vt *vt;
};

/* Which store an operation belongs to: every store's op struct starts with it. */
struct store_op {
    struct store *store;
};

#endif
