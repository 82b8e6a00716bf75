/*
 * pubsub_keys.h - the idempotency keys of a channel (gale_publish_keyed),
 * kept by the master beside the channel's offsets: the keys of its last
 * keyed publishes, each with the offset its message got, so that a
 * publish repeated with the same key (a client that sent again what it was
 * not told had arrived) gets the first one's position instead of being
 * sequenced and delivered a second time.
 *
 * The window is bounded both ways (pubsub key_window and key_ttl): the last
 * `window` keys, none older than `ttl` seconds. Pure logic: the time is
 * given, so that tests/unit/test_pubsub_keys.c drives it.
 */
#ifndef GALE_PUBSUB_KEYS_H
#define GALE_PUBSUB_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* The longest key: a UUID, a hash in hex or base64, a client's own id. */
#define PUBSUB_MAX_KEY 64

struct pubsub_key {
    uint64_t offset; /* the message's, in its channel */
    double at;       /* when it was sequenced */
    uint8_t len;
    char key[PUBSUB_MAX_KEY];
};

/* One channel's keys, the oldest first: a ring grown on demand (a quiet
 * channel costs a few entries, not the whole window). Zeroed: empty. */
struct pubsub_keys {
    struct pubsub_key *ring; /* owned; cap entries, n used from first */
    size_t cap, first, n;
};

/* Forget the keys beyond the last `window` and those older than ttl
 * seconds at now (ttl 0: no age limit). */
void pubsub_keys_trim(struct pubsub_keys *k, size_t window, double ttl, double now);
/* 1 and *offset when key is in the window (trim first), else 0. */
int pubsub_keys_find(const struct pubsub_keys *k, const char *key, size_t len, uint64_t *offset);
/* Remember key (1 to PUBSUB_MAX_KEY bytes, not in the window) for the
 * message at offset; the oldest goes when `window` are kept. Nothing with
 * window 0. */
void pubsub_keys_add(struct pubsub_keys *k, size_t window, const char *key, size_t len,
                     uint64_t offset, double now);
/* Free the ring (k is empty after). */
void pubsub_keys_free(struct pubsub_keys *k);

#endif
