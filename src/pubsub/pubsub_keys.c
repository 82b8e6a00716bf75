/*
 * pubsub_keys.c - a channel's window of idempotency keys (pubsub_keys.h).
 */
#include "pubsub/pubsub_keys.h"

#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static void pubsub_keys_drop_first(struct pubsub_keys *k)
{
    k->first = (k->first + 1) % k->cap;
    k->n--;
}

void pubsub_keys_trim(struct pubsub_keys *k, size_t window, double ttl, double now)
{
    while (k->n > window)
        pubsub_keys_drop_first(k);
    while (k->n && ttl > 0 && now - k->ring[k->first].at > ttl)
        pubsub_keys_drop_first(k);
    if (!k->n) /* a channel gone quiet gives its memory back */
        pubsub_keys_free(k);
}

int pubsub_keys_find(const struct pubsub_keys *k, const char *key, size_t len, uint64_t *offset)
{
    /* A plain scan, newest first: a repeat comes soon after its original,
     * and comparing a thousand short keys costs the master about a
     * microsecond, less than the publish it saves. */
    for (size_t i = k->n; i-- > 0;) {
        const struct pubsub_key *e = &k->ring[(k->first + i) % k->cap];
        if (e->len == len && memcmp(e->key, key, len) == 0) {
            *offset = e->offset;
            return 1;
        }
    }
    return 0;
}

/* Room for one more: a bigger ring (doubled, at most window), its entries
 * laid out from 0. */
static void pubsub_keys_grow(struct pubsub_keys *k, size_t window)
{
    size_t cap = k->cap ? k->cap * 2 : 4;
    if (cap > window)
        cap = window;
    struct pubsub_key *ring = xcalloc(cap, sizeof(*ring));
    for (size_t i = 0; i < k->n; i++)
        ring[i] = k->ring[(k->first + i) % k->cap];
    free(k->ring);
    k->ring = ring;
    k->cap = cap;
    k->first = 0;
}

void pubsub_keys_add(struct pubsub_keys *k, size_t window, const char *key, size_t len,
                     uint64_t offset, double now)
{
    if (!window || !len || len > PUBSUB_MAX_KEY)
        return;
    while (k->n >= window)
        pubsub_keys_drop_first(k);
    if (k->n == k->cap)
        pubsub_keys_grow(k, window);
    struct pubsub_key *e = &k->ring[(k->first + k->n++) % k->cap];
    e->offset = offset;
    e->at = now;
    e->len = (uint8_t)len;
    memcpy(e->key, key, len);
}

void pubsub_keys_free(struct pubsub_keys *k)
{
    free(k->ring);
    memset(k, 0, sizeof(*k));
}
