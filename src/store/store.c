/*
 * store.c - the session store calls, dispatched to the store's functions.
 */
#include "store/store_impl.h"

struct store_op *store_get(struct store *s, const char *key, store_get_cb cb, void *arg)
{
    return s->vt->get(s, key, cb, arg);
}

struct store_op *store_set(struct store *s, const char *key, const void *value, size_t len,
                           unsigned ttl, store_done_cb cb, void *arg)
{
    return s->vt->set(s, key, value, len, ttl, cb, arg);
}

struct store_op *store_add(struct store *s, const char *key, const void *value, size_t len,
                           unsigned ttl, store_done_cb cb, void *arg)
{
    return s->vt->add(s, key, value, len, ttl, cb, arg);
}

struct store_op *store_del(struct store *s, const char *key, store_done_cb cb, void *arg)
{
    return s->vt->del(s, key, cb, arg);
}

void store_cancel(struct store_op *op)
{
    if (op)
        op->store->vt->cancel(op->store, op);
}

void store_close(struct store *s)
{
    if (s)
        s->vt->close(s);
}
