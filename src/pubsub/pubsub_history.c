/*
 * pubsub_history.c - offsets, epochs and per-channel history, in the master.
 *
 * A channel is remembered once published to, for its offset (offsets only
 * grow, so they must outlive quiet periods); its kept messages are a ring
 * of at most `size` entries, dropped from the oldest when the ring is full
 * or when they are older than `ttl`.
 */
#include "pubsub/pubsub_history.h"

#include <fnmatch.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "core/ipc.h"
#include "core/util.h"
#include "pubsub/pubsub.h"
#include "pubsub/pubsub_keys.h"
#include "pubsub/pubsub_settings.h"

/* A fixed table: channels are few next to the buckets' cost, and chains
 * stay short for the tens of thousands a big chat would use. */
#define PUBSUB_HISTORY_BUCKETS 4096

struct pubsub_history_msg {
    uint64_t offset;
    double at; /* util_now() when sequenced */
    char *data;
    size_t len;
};

struct pubsub_history_channel {
    char *name;
    size_t len;
    uint32_t hash;
    uint64_t top;                    /* last offset given */
    struct pubsub_history_msg *ring; /* cap entries; n kept from first */
    size_t cap, first, n;
    struct pubsub_keys keys; /* its last keyed publishes */
    struct pubsub_history_channel *next;
};

static struct {
    uint64_t epoch;
    struct pubsub_history_channel *buckets[PUBSUB_HISTORY_BUCKETS];
} H;

uint64_t pubsub_history_epoch(void)
{
    while (!H.epoch) {
        if (getrandom(&H.epoch, sizeof(H.epoch), 0) != sizeof(H.epoch))
            H.epoch = (uint64_t)util_now() ^ ((uint64_t)getpid() << 32);
        H.epoch &= 0x7fffffffffffffffull; /* fits a signed JSON number too */
    }
    return H.epoch;
}

/* The rule for a channel: the first whose pattern matches, or NULL. */
const struct pubsub_history_rule *pubsub_history_rule(const struct pubsub_settings *ps,
                                                      const char *channel)
{
    for (size_t i = 0; ps && i < ps->nhistory; i++)
        if (fnmatch(ps->history[i].channel, channel, 0) == 0)
            return &ps->history[i];
    return NULL;
}

static struct pubsub_history_channel *pubsub_history_find(const char *name, size_t len, int make)
{
    uint32_t h = pubsub_hash(name, len);
    struct pubsub_history_channel **pp = &H.buckets[h % PUBSUB_HISTORY_BUCKETS];
    for (struct pubsub_history_channel *c = *pp; c; c = c->next)
        if (c->hash == h && c->len == len && !memcmp(c->name, name, len))
            return c;
    if (!make)
        return NULL;
    struct pubsub_history_channel *c = xcalloc(1, sizeof(*c));
    c->name = xmalloc(len + 1);
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    c->len = len;
    c->hash = h;
    c->next = *pp;
    *pp = c;
    return c;
}

static void pubsub_history_drop_first(struct pubsub_history_channel *c)
{
    free(c->ring[c->first].data);
    c->first = (c->first + 1) % c->cap;
    c->n--;
}

/* Apply the channel's rule as it is now (a reload may change it), and
 * forget what is too old. */
static void pubsub_history_trim(const struct pubsub_settings *ps, struct pubsub_history_channel *c)
{
    const struct pubsub_history_rule *rule = pubsub_history_rule(ps, c->name);
    size_t size = rule ? rule->size : 0;
    while (c->n > size)
        pubsub_history_drop_first(c);
    if (size != c->cap) {
        struct pubsub_history_msg *ring = size ? xcalloc(size, sizeof(*ring)) : NULL;
        for (size_t i = 0; i < c->n; i++)
            ring[i] = c->ring[(c->first + i) % c->cap];
        free(c->ring);
        c->ring = ring;
        c->cap = size;
        c->first = 0;
    }
    double now = util_now();
    while (c->n && rule && rule->ttl > 0 && now - c->ring[c->first].at > rule->ttl)
        pubsub_history_drop_first(c);
}

uint64_t pubsub_history_add(const struct pubsub_settings *ps, const char *channel, size_t chlen,
                            const void *msg, size_t len)
{
    struct pubsub_history_channel *c = pubsub_history_find(channel, chlen, 1);
    pubsub_history_trim(ps, c);
    c->top++;
    if (c->cap) {
        if (c->n == c->cap)
            pubsub_history_drop_first(c);
        struct pubsub_history_msg *m = &c->ring[(c->first + c->n++) % c->cap];
        m->offset = c->top;
        m->at = util_now();
        m->data = xmalloc(len ? len : 1);
        memcpy(m->data, msg, len);
        m->len = len;
    }
    return c->top;
}

int pubsub_history_since(const struct pubsub_settings *ps, const char *channel, size_t chlen,
                         uint64_t epoch, uint64_t since, uint64_t *top,
                         void (*fn)(void *arg, uint64_t offset, const void *msg, size_t len),
                         void *arg)
{
    struct pubsub_history_channel *c = pubsub_history_find(channel, chlen, 0);
    *top = c ? c->top : 0;
    if (since == PUBSUB_NOW) /* where the channel is, no more */
        return 0;
    if (!c) /* never published since the master started */
        return epoch == 0 || (epoch == pubsub_history_epoch() && since == 0) ? 0 : -1;
    pubsub_history_trim(ps, c);
    if (epoch == 0) /* a newcomer: whatever is kept */
        since = c->top - c->n;
    else if (epoch != pubsub_history_epoch() || since > c->top)
        return -1;
    /* kept: offsets top-n+1 .. top; since+1 must be among them (or past top) */
    if (since + c->n < c->top)
        return -1;
    for (size_t i = 0; i < c->n; i++) {
        const struct pubsub_history_msg *m = &c->ring[(c->first + i) % c->cap];
        if (m->offset > since)
            fn(arg, m->offset, m->data, m->len);
    }
    return 0;
}

void pubsub_history_free(void)
{
    for (size_t b = 0; b < PUBSUB_HISTORY_BUCKETS; b++) {
        for (struct pubsub_history_channel *c = H.buckets[b], *next; c; c = next) {
            next = c->next;
            while (c->n)
                pubsub_history_drop_first(c);
            free(c->ring);
            pubsub_keys_free(&c->keys);
            free(c->name);
            free(c);
        }
        H.buckets[b] = NULL;
    }
}

/* ---- the wire (pubsub.h) ---- */

/* The offset a key was given, when it is in channel's window (then the
 * message is not sequenced again), or 0. */
static uint64_t pubsub_history_key_seen(const struct pubsub_settings *ps, const char *channel,
                                        size_t chlen, const char *key, size_t keylen)
{
    struct pubsub_history_channel *c = pubsub_history_find(channel, chlen, 0);
    uint64_t offset = 0;
    if (!c || !ps)
        return 0;
    pubsub_keys_trim(&c->keys, ps->key_window, ps->key_ttl, util_now());
    return pubsub_keys_find(&c->keys, key, keylen, &offset) ? offset : 0;
}

static void pubsub_history_key_add(const struct pubsub_settings *ps, const char *channel,
                                   size_t chlen, const char *key, size_t keylen, uint64_t offset)
{
    struct pubsub_history_channel *c = pubsub_history_find(channel, chlen, 1);
    if (ps)
        pubsub_keys_add(&c->keys, ps->key_window, key, keylen, offset, util_now());
}

int pubsub_master_publish(const struct pubsub_settings *ps, const void *payload, size_t len,
                          void (*each)(void *arg, const void *a, size_t alen, const void *b,
                                       size_t blen),
                          void *each_arg, pubsub_send_fn to, void *to_arg)
{
    const unsigned char *p = payload;
    const char *key = NULL;
    size_t keylen = 0, at = 4; /* where the channel's length is */
    uint32_t token;
    if (len >= 6 && p[4] == 0) { /* keyed */
        keylen = p[5];
        key = (const char *)p + 6;
        at = 6 + keylen;
        if (keylen == 0 || keylen > PUBSUB_MAX_KEY)
            return -1;
    }
    if (len < at + 1 || p[at] == 0 || p[at] > PUBSUB_MAX_CHANNEL || len < at + 1 + (size_t)p[at])
        return -1;
    memcpy(&token, p, 4);
    size_t chlen = p[at];
    const char *channel = (const char *)p + at + 1, *msg = channel + chlen;
    size_t mlen = len - at - 1 - chlen;
    uint64_t pos[2] = {pubsub_history_epoch(), 0};
    uint8_t status = 0;
    if (key && (pos[1] = pubsub_history_key_seen(ps, channel, chlen, key, keylen)) != 0) {
        status = 1; /* a repeat: its publisher hears where the first one is, no one else */
    } else {
        pos[1] = pubsub_history_add(ps, channel, chlen, msg, mlen);
        if (key)
            pubsub_history_key_add(ps, channel, chlen, key, keylen, pos[1]);
        unsigned char head[16 + 1 + PUBSUB_MAX_CHANNEL];
        memcpy(head, pos, 16);
        memcpy(head + 16, p + at, 1 + chlen);
        each(each_arg, head, 17 + chlen, msg, mlen);
    }
    if (token) {
        unsigned char ack[4 + 16 + 1];
        memcpy(ack, &token, 4);
        memcpy(ack + 4, pos, 16);
        ack[20] = status;
        to(to_arg, IPC_SEQUENCED, ack, sizeof(ack), NULL, 0);
    }
    return 0;
}

struct pubsub_history_reply {
    uint32_t token;
    pubsub_send_fn to;
    void *to_arg;
    size_t budget; /* bytes of messages this answer may carry */
    int failed;    /* an item could not be queued: the rest is not sent */
    int more;      /* the budget is spent: the worker asks for the rest */
};

/* A page of history: at most this share of the worker's queue, so that a
 * long history reaches it piece by piece (each page asked once the one
 * before arrived) instead of overflowing its queue and being lost. */
#define PUBSUB_HISTORY_PAGE_SHARE 4

static void pubsub_history_item(void *arg, uint64_t offset, const void *msg, size_t len)
{
    struct pubsub_history_reply *rp = arg;
    if (rp->failed || rp->more)
        return;
    if (len > rp->budget) { /* not the first of its page: the next page has it */
        rp->more = 1;
        return;
    }
    rp->budget -= len;
    unsigned char head[20];
    uint64_t epoch = pubsub_history_epoch();
    memcpy(head, &rp->token, 4);
    memcpy(head + 4, &epoch, 8);
    memcpy(head + 12, &offset, 8);
    if (rp->to(rp->to_arg, IPC_HISTORY_ITEM, head, sizeof(head), msg, len) < 0)
        rp->failed = 1;
}

int pubsub_master_history(const struct pubsub_settings *ps, const void *payload, size_t len,
                          pubsub_send_fn to, void *to_arg)
{
    const unsigned char *p = payload;
    if (len < 21 || p[20] == 0 || p[20] > PUBSUB_MAX_CHANNEL || len != 21 + (size_t)p[20])
        return -1;
    struct pubsub_history_reply rp = {.to = to, .to_arg = to_arg};
    /* the first message always fits: it is at most PUBSUB_MAX_MESSAGE, the
     * queue's limit at least 64 KiB */
    rp.budget = ps ? ps->relay_queue_size / PUBSUB_HISTORY_PAGE_SHARE : SIZE_MAX;
    if (rp.budget < PUBSUB_MAX_MESSAGE)
        rp.budget = PUBSUB_MAX_MESSAGE;
    uint64_t epoch, since, top;
    memcpy(&rp.token, p, 4);
    memcpy(&epoch, p + 4, 8);
    memcpy(&since, p + 12, 8);
    char channel[PUBSUB_MAX_CHANNEL + 1];
    memcpy(channel, p + 21, p[20]);
    channel[p[20]] = '\0';
    int rc = pubsub_history_since(ps, channel, p[20], epoch, since, &top, pubsub_history_item, &rp);
    unsigned char end[24];
    /* a history the worker could not take in full is a loss, said as such
     * (it goes on from top, and its subscriber knows that it missed some) */
    uint32_t status = rc < 0 || rp.failed ? 1 : rp.more ? 2 : 0;
    uint64_t cur = pubsub_history_epoch();
    memcpy(end, &rp.token, 4);
    memcpy(end + 4, &status, 4);
    memcpy(end + 8, &cur, 8);
    memcpy(end + 16, &top, 8);
    to(to_arg, IPC_HISTORY_END, end, sizeof(end), NULL, 0);
    return 0;
}
