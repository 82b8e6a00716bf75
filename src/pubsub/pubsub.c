/*
 * pubsub.c - the worker's side of publish/subscribe: channels and their
 * subscriptions, the local backend (through the master), and long polls
 * (gale_request_wait) as one-shot subscriptions tied to a request.
 *
 * Subscriptions may end inside a delivery (a long poll answered, a socket
 * closed by its callback): a channel being delivered only marks them dead,
 * and sweeps them when the delivery is over.
 */
#include "pubsub/pubsub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/ipc.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/module.h"
#include "core/util.h"
#include "http/request.h"
#include "pubsub/pubsub_history.h"
#include "pubsub/pubsub_keys.h"
#include "pubsub/pubsub_presence.h"
#include "pubsub/pubsub_settings.h"

#define PUBSUB_QUEUE_LIMIT (64 * 1024 * 1024) /* messages waiting for the master */
#define PUBSUB_READ_BATCH 256                 /* messages read per loop turn */

struct pubsub_channel {
    char *name;
    size_t len;
    uint32_t hash;
    struct gale_subscription *head, *tail;
    size_t n;                    /* live subscriptions */
    int delivering;              /* nesting depth of deliveries under way */
    uint64_t epoch, top;         /* the last live message (local backend): a jump is a loss */
    struct pubsub_channel *next; /* hash chain */
};

struct gale_subscription {
    struct pubsub_channel *ch;
    gale_message_fn fn;
    gale_position_fn pfn;       /* gale_subscribe_since: fn is NULL */
    gale_presence_event_fn efn; /* gale_presence_subscribe: fn and pfn are NULL */
    gale_history_fn hfn;        /* gale_history_read: the others are NULL */
    void *arg;
    struct gale_subscription *prev, *next;
    /* gale_subscribe_since: where the subscriber is; while the master
     * answers its history request (token), live messages are dropped: the
     * ones sequenced before the answer are in it, the later ones follow it. */
    uint64_t epoch, last;
    uint32_t token;
    struct gale_subscription *rnext; /* P.recovering */
    /* Redis: live messages that came while recovering, in order. They may
     * come before the history's answer (another connection), so they
     * wait for it instead of being dropped as the master's are. */
    struct pubsub_pending *pending, *pending_end;
    unsigned dead : 1;
    unsigned recovering : 1;
    unsigned now : 1; /* pubsub_subscribe_now: told where "now" is */
};

struct pubsub_pending {
    uint64_t epoch, offset;
    size_t len;
    struct pubsub_pending *next;
    char msg[]; /* len bytes and a NUL */
};

/* A gale_publish_then waiting for the master's IPC_SEQUENCED. */
struct pubsub_then {
    uint32_t token;
    int keyed;            /* counted when the answer tells a repeat apart */
    gale_published_fn fn; /* NULL: a keyed publish nobody asked to hear of */
    void *arg;
    char channel[PUBSUB_MAX_CHANNEL + 1];
    struct pubsub_then *next;
};

struct pubsub_waiter {
    gale_request *r;
    gale_subscription *sub;
    struct event timer;
    void (*fn)(gale_request *r, void *arg, const char *msg, size_t len);
    gale_wait_position_fn pfn; /* gale_request_wait_since: fn is NULL */
    void *arg;
    struct pubsub_waiter *prev, *next; /* every waiter of the worker, for the drain */
    unsigned done : 1;
};

static struct {
    struct loop *loop;
    struct event_base *base;
    int backend;
    int ipc_fd;
    struct event *ipc_ev;
    struct ipc_queue *out;
    struct pubsub_channel **buckets;
    size_t nbuckets, nchannels;
    struct pubsub_waiter *waiters;
    int draining;
    uint32_t token;                      /* the last one given */
    struct pubsub_then *then, *then_end; /* in the order sent: the master answers in order */
    gale_subscription *recovering;
} P = {.ipc_fd = -1};

/* ---- channels ---- */

uint32_t pubsub_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static struct pubsub_channel *pubsub_find(const char *name, size_t len, uint32_t h)
{
    if (!P.nbuckets)
        return NULL;
    for (struct pubsub_channel *ch = P.buckets[h & (P.nbuckets - 1)]; ch; ch = ch->next)
        if (ch->hash == h && ch->len == len && !memcmp(ch->name, name, len))
            return ch;
    return NULL;
}

static void pubsub_rehash(void)
{
    size_t n = P.nbuckets ? P.nbuckets * 2 : 64;
    struct pubsub_channel **b = xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < P.nbuckets; i++) {
        for (struct pubsub_channel *ch = P.buckets[i], *next; ch; ch = next) {
            next = ch->next;
            ch->next = b[ch->hash & (n - 1)];
            b[ch->hash & (n - 1)] = ch;
        }
    }
    free(P.buckets);
    P.buckets = b;
    P.nbuckets = n;
}

static struct pubsub_channel *pubsub_channel(const char *name, size_t len)
{
    uint32_t h = pubsub_hash(name, len);
    struct pubsub_channel *ch = pubsub_find(name, len, h);
    if (ch)
        return ch;
    if (P.nchannels >= P.nbuckets)
        pubsub_rehash();
    ch = xcalloc(1, sizeof(*ch));
    ch->name = xmalloc(len + 1);
    memcpy(ch->name, name, len);
    ch->name[len] = '\0';
    ch->len = len;
    ch->hash = h;
    ch->next = P.buckets[h & (P.nbuckets - 1)];
    P.buckets[h & (P.nbuckets - 1)] = ch;
    P.nchannels++;
    return ch;
}

/* A channel with no subscription left goes (unless a delivery walks it). */
static void pubsub_channel_gc(struct pubsub_channel *ch)
{
    if (ch->head || ch->delivering)
        return;
    struct pubsub_channel **pp = &P.buckets[ch->hash & (P.nbuckets - 1)];
    while (*pp != ch)
        pp = &(*pp)->next;
    *pp = ch->next;
    P.nchannels--;
    free(ch->name);
    free(ch);
}

static void pubsub_pending_free(gale_subscription *s)
{
    while (s->pending) {
        struct pubsub_pending *q = s->pending;
        s->pending = q->next;
        free(q);
    }
    s->pending_end = NULL;
}

static void pubsub_unlink(gale_subscription *s)
{
    struct pubsub_channel *ch = s->ch;
    pubsub_pending_free(s);
    if (s->recovering) {
        gale_subscription **pp = &P.recovering;
        while (*pp != s)
            pp = &(*pp)->rnext;
        *pp = s->rnext;
    }
    if (s->prev)
        s->prev->next = s->next;
    else
        ch->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        ch->tail = s->prev;
    free(s);
}

/* Drop the subscriptions that ended during a delivery. */
static void pubsub_sweep(struct pubsub_channel *ch)
{
    for (gale_subscription *s = ch->head, *next; s; s = next) {
        next = s->next;
        if (s->dead)
            pubsub_unlink(s);
    }
    pubsub_channel_gc(ch);
}

/* The worker's counters, NULL when metrics are off (or before pubsub_init). */
static struct metrics_slot *pubsub_metrics(void)
{
    return P.loop ? P.loop->metrics : NULL;
}

void pubsub_count_keyed(int status)
{
    if (status == GALE_PUBLISH_REPEATED)
        METRICS_ADD(pubsub_metrics(), repeats, 1);
    else
        METRICS_ADD(pubsub_metrics(), published, 1);
}

/* One message to one subscription; a positioned one skips what it has. */
static void pubsub_deliver_one(gale_subscription *s, const char *msg, size_t len, uint64_t epoch,
                               uint64_t offset)
{
    if (s->fn) {
        METRICS_ADD(pubsub_metrics(), delivered, 1);
        s->fn(s->arg, s->ch->name, msg, len);
        return;
    }
    if (s->hfn) /* a read takes the history only */
        return;
    if (s->efn) { /* the name is NUL + the channel's */
        pubsub_presence_event(s->efn, s->arg, s->ch->name + 1, msg, len);
        return;
    }
    if (s->recovering && P.backend == PUBSUB_REDIS) {
        struct pubsub_pending *q = xmalloc(sizeof(*q) + len + 1);
        q->epoch = epoch;
        q->offset = offset;
        q->len = len;
        q->next = NULL;
        memcpy(q->msg, msg, len);
        q->msg[len] = '\0';
        if (s->pending_end)
            s->pending_end->next = q;
        else
            s->pending = q;
        s->pending_end = q;
        return;
    }
    /* offset 0: a message with no place (Redis, a channel with no history
     * rule): never taken for one already had */
    if (s->recovering || (offset && epoch == s->epoch && offset <= s->last))
        return;
    s->epoch = epoch;
    s->last = offset;
    METRICS_ADD(pubsub_metrics(), delivered, 1);
    s->pfn(s->arg, s->ch->name, msg, len, epoch, offset);
}

static int pubsub_recover(gale_subscription *s, uint64_t epoch, uint64_t offset);

/* Offsets of a channel only grow by one: a jump says that messages for
 * this worker were dropped (it fell behind: the master's queue for it was
 * full, master.c, or Redis cut its subscribed connection). Positioned
 * subscriptions ask the history for what they missed (the message that
 * showed the gap is in the answer); plain ones cannot, and the log says so. */
static void pubsub_gap(struct pubsub_channel *ch, uint64_t epoch, uint64_t offset)
{
    int gap = ch->top && epoch == ch->epoch && offset > ch->top + 1;
    uint64_t missed = gap ? offset - ch->top - 1 : 0;
    if (epoch != ch->epoch || offset > ch->top) {
        ch->epoch = epoch;
        ch->top = offset;
    }
    if (!gap)
        return;
    log_warn("pubsub: %llu messages on %s did not reach this worker (it fell behind): "
             "subscriptions with a position recover them from the history",
             (unsigned long long)missed, ch->name);
    for (gale_subscription *s = ch->head; s; s = s->next)
        if (!s->dead && !s->fn && !s->recovering && s->epoch == epoch && s->last < offset - 1)
            pubsub_recover(s, s->epoch, s->last);
}

void pubsub_deliver(const char *channel, size_t chlen, const char *msg, size_t len, uint64_t epoch,
                    uint64_t offset)
{
    struct pubsub_channel *ch = pubsub_find(channel, chlen, pubsub_hash(channel, chlen));
    if (!ch)
        return;
    pubsub_gap(ch, epoch, offset);
    ch->delivering++;
    /* Subscriptions made by the callbacks start with the next message. */
    gale_subscription *last = ch->tail;
    for (gale_subscription *s = ch->head; s; s = s->next) {
        if (!s->dead)
            pubsub_deliver_one(s, msg, len, epoch, offset);
        if (s == last)
            break;
    }
    if (--ch->delivering == 0)
        pubsub_sweep(ch);
}

/* ---- the module API ---- */

static int pubsub_channel_ok(const char *channel, size_t *len)
{
    *len = channel ? strlen(channel) : 0;
    return *len > 0 && *len <= PUBSUB_MAX_CHANNEL;
}

/* key: NULL, or keylen bytes (gale_publish_keyed). */
static int pubsub_publish(const char *channel, const void *key, size_t keylen, const void *msg,
                          size_t len, gale_published_fn fn, void *arg)
{
    size_t chlen;
    if (!pubsub_channel_ok(channel, &chlen) || (!msg && len) ||
        (key && (keylen == 0 || keylen > PUBSUB_MAX_KEY))) {
        errno = EINVAL;
        return -1;
    }
    if (len > PUBSUB_MAX_MESSAGE) {
        /* one IPC packet carries a message: refused here, said once, rather
         * than lost on the way */
        log_warn("pubsub: a message of %zu bytes on %s is refused: the limit is %d bytes", len,
                 channel, PUBSUB_MAX_MESSAGE);
        errno = EMSGSIZE;
        return -1;
    }
    if (P.backend == PUBSUB_REDIS) {
        const struct pubsub_settings *ps = pubsub_settings(P.loop->cfg);
        const struct pubsub_history_rule *rule = pubsub_history_rule(ps, channel);
        int rc = rule || key ? pubsub_redis_history_publish(ps, rule, channel, key, keylen, msg,
                                                            len, fn, arg)
                             : pubsub_redis_publish(channel, msg, len, fn, arg);
        if (rc == 0 && !key) /* a keyed one counts at the script's answer */
            METRICS_ADD(pubsub_metrics(), published, 1);
        return rc;
    }
    if (!P.out)
        return -1;
    /* a keyed publish always asks for the report: only the sequencer knows
     * whether it was a repeat, which is not counted as published */
    uint32_t token = 0;
    int report = fn || key;
    if (report && !++P.token)
        P.token = 1; /* 0 says "no report" */
    if (report)
        token = P.token;
    unsigned char head[4 + 2 + PUBSUB_MAX_KEY + 1 + PUBSUB_MAX_CHANNEL];
    size_t at = 4;
    memcpy(head, &token, 4);
    if (key) { /* pubsub.h: a 0 where a channel's length would be says a key follows */
        head[at++] = 0;
        head[at++] = (unsigned char)keylen;
        memcpy(head + at, key, keylen);
        at += keylen;
    }
    head[at++] = (unsigned char)chlen;
    memcpy(head + at, channel, chlen);
    if (ipc_queue_send(P.out, IPC_PUBLISH, head, at + chlen, msg, len) < 0) {
        log_warn("pubsub: cannot send to the master: message on %s dropped", channel);
        return -1;
    }
    if (!key)
        METRICS_ADD(pubsub_metrics(), published, 1);
    if (report) {
        struct pubsub_then *t = xcalloc(1, sizeof(*t));
        t->token = token;
        t->keyed = key != NULL;
        t->fn = fn;
        t->arg = arg;
        memcpy(t->channel, channel, chlen + 1);
        if (P.then_end)
            P.then_end->next = t;
        else
            P.then = t;
        P.then_end = t;
    }
    return 0;
}

int gale_publish(gale_ctx *ctx, const char *channel, const void *msg, size_t len)
{
    (void)ctx;
    return pubsub_publish(channel, NULL, 0, msg, len, NULL, NULL);
}

int gale_publish_then(gale_ctx *ctx, const char *channel, const void *msg, size_t len,
                      gale_published_fn fn, void *arg)
{
    (void)ctx;
    if (!fn)
        return -1;
    return pubsub_publish(channel, NULL, 0, msg, len, fn, arg);
}

int gale_publish_keyed(gale_ctx *ctx, const char *channel, const void *key, size_t keylen,
                       const void *msg, size_t len, gale_published_fn fn, void *arg)
{
    (void)ctx;
    if (!key) {
        errno = EINVAL;
        return -1;
    }
    return pubsub_publish(channel, key, keylen, msg, len, fn, arg);
}

/* IPC_SEQUENCED: the oldest publish waiting is this one (the master
 * answers in order; one it could not sequence was malformed, never sent). */
static void pubsub_sequenced(const unsigned char *p, size_t len)
{
    uint32_t token;
    uint64_t pos[2];
    if (len != 21)
        return;
    memcpy(&token, p, 4);
    memcpy(pos, p + 4, 16);
    int status = p[20] == 1 ? GALE_PUBLISH_REPEATED : 0;
    while (P.then) {
        struct pubsub_then *t = P.then;
        P.then = t->next;
        if (!P.then)
            P.then_end = NULL;
        int mine = t->token == token;
        if (t->keyed) /* an answer dropped: most likely published */
            pubsub_count_keyed(mine ? status : 0);
        if (t->fn && mine)
            t->fn(t->arg, t->channel, status, pos[0], pos[1]);
        else if (t->fn) /* the master dropped its answer (this worker was not reading) */
            t->fn(t->arg, t->channel, -1, 0, 0);
        free(t);
        if (mine)
            break;
    }
}

/* A subscription to the channel named by len bytes (a presence stream's
 * name starts with NUL). */
static gale_subscription *pubsub_subscribe_name(const char *name, size_t len, gale_message_fn fn,
                                                gale_position_fn pfn, void *arg)
{
    struct pubsub_channel *ch = pubsub_channel(name, len);
    gale_subscription *s = xcalloc(1, sizeof(*s));
    s->ch = ch;
    s->fn = fn;
    s->pfn = pfn;
    s->arg = arg;
    s->prev = ch->tail;
    if (ch->tail)
        ch->tail->next = s;
    else
        ch->head = s;
    ch->tail = s;
    ch->n++;
    return s;
}

static gale_subscription *pubsub_subscribe(const char *channel, gale_message_fn fn,
                                           gale_position_fn pfn, void *arg)
{
    size_t chlen;
    if ((!fn && !pfn) || !pubsub_channel_ok(channel, &chlen))
        return NULL;
    return pubsub_subscribe_name(channel, chlen, fn, pfn, arg);
}

gale_subscription *pubsub_subscribe_presence(const char *channel, gale_presence_event_fn fn,
                                             void *arg)
{
    size_t chlen;
    char name[PUBSUB_MAX_NAME];
    if (!fn || !pubsub_channel_ok(channel, &chlen))
        return NULL;
    name[0] = '\0';
    memcpy(name + 1, channel, chlen);
    gale_subscription *s = pubsub_subscribe_name(name, chlen + 1, NULL, NULL, arg);
    s->efn = fn;
    return s;
}

int pubsub_send(uint32_t type, const void *a, size_t alen, const void *b, size_t blen)
{
    return P.out ? ipc_queue_send(P.out, type, a, alen, b, blen) : -1;
}

uint32_t pubsub_token(void)
{
    if (!++P.token)
        P.token = 1;
    return P.token;
}

int pubsub_backend(void)
{
    return P.base ? P.backend : -1;
}

gale_subscription *gale_subscribe(gale_ctx *ctx, const char *channel, gale_message_fn fn, void *arg)
{
    (void)ctx;
    return fn ? pubsub_subscribe(channel, fn, NULL, arg) : NULL;
}

gale_subscription *pubsub_subscribe_live(const char *channel, gale_position_fn fn, void *arg)
{
    return fn ? pubsub_subscribe(channel, NULL, fn, arg) : NULL;
}

/* Ask the master (or Redis) for ch's history since offset of epoch. */
static int pubsub_ask_history(const struct pubsub_channel *ch, uint64_t epoch, uint64_t offset,
                              uint32_t token)
{
    if (P.backend == PUBSUB_REDIS) {
        const struct pubsub_settings *ps = pubsub_settings(P.loop->cfg);
        return pubsub_redis_history_since(&ps->redis, pubsub_history_rule(ps, ch->name), ch->name,
                                          epoch, offset, token);
    }
    unsigned char req[21 + PUBSUB_MAX_CHANNEL];
    memcpy(req, &token, 4);
    memcpy(req + 4, &epoch, 8);
    memcpy(req + 12, &offset, 8);
    req[20] = (unsigned char)ch->len;
    memcpy(req + 21, ch->name, ch->len);
    return ipc_queue_send(P.out, IPC_HISTORY, req, 21 + ch->len, NULL, 0);
}

static gale_subscription *pubsub_subscribe_from(const char *channel, uint64_t epoch,
                                                uint64_t offset, gale_position_fn fn, void *arg)
{
    if (!fn || (P.backend != PUBSUB_REDIS && !P.out))
        return NULL;
    gale_subscription *s = pubsub_subscribe(channel, NULL, fn, arg);
    if (!s)
        return NULL;
    if (pubsub_recover(s, epoch, offset) < 0) {
        gale_unsubscribe(s);
        return NULL;
    }
    return s;
}

/* Ask for s's messages after offset of epoch; live ones are held back
 * until the answer's end (pubsub_pending_flush). 0, or -1. */
static int pubsub_recover(gale_subscription *s, uint64_t epoch, uint64_t offset)
{
    uint32_t token = pubsub_token();
    if (pubsub_ask_history(s->ch, epoch, offset, token) < 0)
        return -1;
    s->epoch = epoch;
    s->last = offset;
    s->token = token;
    s->recovering = 1;
    s->rnext = P.recovering;
    P.recovering = s;
    return 0;
}

int gale_history_read(gale_ctx *ctx, const char *channel, uint64_t epoch, uint64_t offset,
                      gale_history_fn fn, void *arg)
{
    size_t chlen;
    (void)ctx;
    if (!fn || offset == PUBSUB_NOW || !pubsub_channel_ok(channel, &chlen) ||
        (P.backend != PUBSUB_REDIS && !P.out) || !P.base)
        return -1;
    gale_subscription *s = pubsub_subscribe_name(channel, chlen, NULL, NULL, arg);
    s->hfn = fn;
    uint32_t token = pubsub_token();
    if (pubsub_ask_history(s->ch, epoch, offset, token) < 0) {
        gale_unsubscribe(s);
        return -1;
    }
    s->token = token;
    s->recovering = 1;
    s->rnext = P.recovering;
    P.recovering = s;
    return 0;
}

gale_subscription *gale_subscribe_since(gale_ctx *ctx, const char *channel, uint64_t epoch,
                                        uint64_t offset, gale_position_fn fn, void *arg)
{
    (void)ctx;
    return offset == PUBSUB_NOW ? NULL : pubsub_subscribe_from(channel, epoch, offset, fn, arg);
}

gale_subscription *pubsub_subscribe_now(const char *channel, gale_position_fn fn, void *arg)
{
    gale_subscription *s = pubsub_subscribe_from(channel, 0, PUBSUB_NOW, fn, arg);
    if (s)
        s->now = 1;
    return s;
}

static gale_subscription *pubsub_recovering(uint32_t token)
{
    for (gale_subscription *s = P.recovering; s; s = s->rnext)
        if (s->token == token)
            return s;
    return NULL;
}

void pubsub_history_item_at(uint32_t token, uint64_t epoch, uint64_t offset, const char *msg,
                            size_t len)
{
    gale_subscription *s = pubsub_recovering(token);
    if (!s || s->dead)
        return;
    struct pubsub_channel *ch = s->ch;
    ch->delivering++;
    s->recovering = 0; /* for pubsub_deliver_one */
    if (s->hfn) {
        s->hfn(s->arg, ch->name, 0, msg, len, epoch, offset);
        s->epoch = epoch; /* where the next page starts */
        s->last = offset;
    } else {
        pubsub_deliver_one(s, msg, len, epoch, offset);
    }
    s->recovering = 1;
    if (--ch->delivering == 0)
        pubsub_sweep(ch);
}

/* One message of a history asked for: deliver it as if live. */
static void pubsub_history_item(const unsigned char *p, size_t len)
{
    uint32_t token;
    uint64_t epoch, offset;
    if (len < 20)
        return;
    memcpy(&token, p, 4);
    memcpy(&epoch, p + 4, 8);
    memcpy(&offset, p + 12, 8);
    pubsub_history_item_at(token, epoch, offset, (const char *)p + 20, len - 20);
}

/* The live messages that came while s recovered, after what it got. */
static void pubsub_pending_flush(gale_subscription *s)
{
    while (s->pending && !s->dead) {
        struct pubsub_pending *q = s->pending;
        s->pending = q->next;
        if (!s->pending)
            s->pending_end = NULL;
        pubsub_deliver_one(s, q->msg, q->len, q->epoch, q->offset);
        free(q);
    }
}

/* The history is complete, or lost: either way, live messages from now. */
static void pubsub_history_end(const unsigned char *p, size_t len)
{
    uint32_t token, status;
    uint64_t epoch, top;
    if (len != 24)
        return;
    memcpy(&token, p, 4);
    memcpy(&status, p + 4, 4);
    memcpy(&epoch, p + 8, 8);
    memcpy(&top, p + 16, 8);
    pubsub_history_end_at(token, status, epoch, top);
}

void pubsub_history_end_at(uint32_t token, uint32_t status, uint64_t epoch, uint64_t top)
{
    gale_subscription *s = pubsub_recovering(token);
    if (!s)
        return;
    /* a page of a long history: the next one from the last item (whatever
     * was sequenced meanwhile is in the history, or reported lost) */
    if (status == 2 && !s->dead) {
        if (pubsub_ask_history(s->ch, s->epoch, s->last, token) == 0)
            return;
        status = 1;
    }
    gale_subscription **pp = &P.recovering;
    while (*pp != s)
        pp = &(*pp)->rnext;
    *pp = s->rnext;
    s->recovering = 0;
    if (s->dead)
        return;
    if (s->hfn) { /* a read is over: its end, and it goes */
        struct pubsub_channel *ch = s->ch;
        ch->delivering++;
        s->hfn(s->arg, ch->name, !status ? 0 : epoch ? 1 : -1, NULL, 0, epoch, top);
        gale_unsubscribe(s);
        if (--ch->delivering == 0)
            pubsub_sweep(ch);
        return;
    }
    int lost = status != 0, now = s->now;
    s->epoch = epoch;
    s->now = 0;
    if (s->last < top || lost || now)
        s->last = top;
    struct pubsub_channel *ch = s->ch;
    ch->delivering++;
    if (lost || now)
        s->pfn(s->arg, ch->name, NULL, 0, epoch, top);
    pubsub_pending_flush(s);
    if (--ch->delivering == 0)
        pubsub_sweep(ch);
}

void gale_unsubscribe(gale_subscription *s)
{
    if (!s || s->dead)
        return;
    struct pubsub_channel *ch = s->ch;
    s->dead = 1;
    ch->n--;
    if (ch->delivering)
        return; /* swept when the delivery is over */
    pubsub_unlink(s);
    pubsub_channel_gc(ch);
}

size_t gale_subscribers(gale_ctx *ctx, const char *channel)
{
    size_t chlen;
    (void)ctx;
    if (!pubsub_channel_ok(channel, &chlen))
        return 0;
    struct pubsub_channel *ch = pubsub_find(channel, chlen, pubsub_hash(channel, chlen));
    return ch ? ch->n : 0;
}

/* ---- long polling ---- */

/* Stop listening; 0 the first time, -1 when it was over already. */
static int pubsub_waiter_stop(struct pubsub_waiter *wt)
{
    if (wt->done)
        return -1;
    wt->done = 1;
    gale_unsubscribe(wt->sub);
    wt->sub = NULL;
    event_del(&wt->timer);
    if (wt->prev)
        wt->prev->next = wt->next;
    else
        P.waiters = wt->next;
    if (wt->next)
        wt->next->prev = wt->prev;
    wt->r->waiter = NULL;
    wt->r->gone = NULL;
    return 0;
}

/* The wait is over: the module answers. */
static void pubsub_waiter_end(struct pubsub_waiter *wt, const char *msg, size_t len, uint64_t epoch,
                              uint64_t offset)
{
    if (pubsub_waiter_stop(wt) < 0)
        return;
    if (wt->pfn) /* either may free r, and wt with it */
        wt->pfn(wt->r, wt->arg, msg, len, epoch, offset);
    else
        wt->fn(wt->r, wt->arg, msg, len);
}

static void pubsub_waiter_msg(void *arg, const char *channel, const char *msg, size_t len)
{
    pubsub_waiter_end(arg, msg, len, 0, 0);
}

/* The first message after the waiter's position, or the news that the
 * ones after it are lost (msg NULL, where to go on from). */
static void pubsub_waiter_pos(void *arg, const char *channel, const char *msg, size_t len,
                              uint64_t epoch, uint64_t offset)
{
    pubsub_waiter_end(arg, msg, len, epoch, offset);
}

static void pubsub_waiter_timer(evutil_socket_t fd, short what, void *arg)
{
    pubsub_waiter_end(arg, NULL, 0, 0, 0);
}

/* The request is freed (answered, or its worker exits). */
static void pubsub_waiter_cleanup(void *arg)
{
    pubsub_waiter_stop(arg);
}

/* r->gone: the client of a long poll went away. End the wait: fn runs from
 * the loop with NULL (gale_request_aborted(r) is true then). */
static void pubsub_request_gone(gale_request *r)
{
    if (r->waiter)
        event_active(&r->waiter->timer, EV_TIMEOUT, 0);
}

/* A waiter of r on sub (made by the caller, with the waiter as its arg). */
static int pubsub_wait(gale_request *r, struct pubsub_waiter *wt, double timeout)
{
    if (!wt->sub)
        return -1;
    evtimer_assign(&wt->timer, P.base, pubsub_waiter_timer, wt);
    arena_cleanup_add(r->arena, pubsub_waiter_cleanup, wt);
    wt->next = P.waiters;
    if (P.waiters)
        P.waiters->prev = wt;
    P.waiters = wt;
    r->waiter = wt;
    r->gone = pubsub_request_gone;
    if (P.draining || r->aborted) {
        event_active(&wt->timer, EV_TIMEOUT, 0);
    } else if (timeout > 0) {
        struct timeval tv = util_timeval(timeout);
        evtimer_add(&wt->timer, &tv);
    }
    return 0;
}

int gale_request_wait(gale_request *r, const char *channel, double timeout,
                      void (*fn)(gale_request *r, void *arg, const char *msg, size_t len),
                      void *arg)
{
    if (!fn || r->waiter || r->finished || timeout < 0 || !P.base)
        return -1;
    struct pubsub_waiter *wt = arena_calloc(r->arena, sizeof(*wt));
    wt->r = r;
    wt->fn = fn;
    wt->arg = arg;
    wt->sub = gale_subscribe(NULL, channel, pubsub_waiter_msg, wt);
    return pubsub_wait(r, wt, timeout);
}

int gale_request_wait_since(gale_request *r, const char *channel, uint64_t epoch, uint64_t offset,
                            double timeout, gale_wait_position_fn fn, void *arg)
{
    if (!fn || r->waiter || r->finished || timeout < 0 || !P.base)
        return -1;
    struct pubsub_waiter *wt = arena_calloc(r->arena, sizeof(*wt));
    wt->r = r;
    wt->pfn = fn;
    wt->arg = arg;
    wt->sub = gale_subscribe_since(NULL, channel, epoch, offset, pubsub_waiter_pos, wt);
    return pubsub_wait(r, wt, timeout);
}

void pubsub_drain(void)
{
    P.draining = 1;
    pubsub_sse_drain();
    for (struct pubsub_waiter *wt = P.waiters; wt; wt = wt->next)
        event_active(&wt->timer, EV_TIMEOUT, 0);
}

/* ---- the local backend: messages from the master ---- */

static void pubsub_ipc_message(char *buf, size_t n)
{
    const unsigned char *p = (const unsigned char *)buf;
    uint64_t pos[2];
    if (n < 17 || p[16] == 0 || p[16] >= PUBSUB_MAX_NAME || n < 17 + (size_t)p[16])
        return;
    memcpy(pos, p, 16);
    size_t chlen = p[16];
    buf[n] = '\0'; /* messages are NUL-terminated for the callbacks */
    pubsub_deliver(buf + 17, chlen, buf + 17 + chlen, n - 17 - chlen, pos[0], pos[1]);
}

/* IPC_LAGGED: the master dropped messages for this worker; every later
 * one follows. Positioned subscriptions ask the history for what they
 * missed (an empty answer when nothing of theirs was lost). */
static void pubsub_lagged(const unsigned char *p, size_t len)
{
    uint64_t dropped = 0;
    if (len == sizeof(dropped))
        memcpy(&dropped, p, sizeof(dropped));
    log_warn("pubsub: the master dropped %llu messages for this worker (it fell behind): "
             "subscriptions with a position recover them from the history, plain ones lost them",
             (unsigned long long)dropped);
    pubsub_resync();
}

void pubsub_resync(void)
{
    for (size_t i = 0; i < P.nbuckets; i++)
        for (struct pubsub_channel *ch = P.buckets[i]; ch; ch = ch->next)
            for (gale_subscription *s = ch->head; s; s = s->next)
                if (!s->dead && !s->fn && !s->recovering && s->epoch)
                    pubsub_recover(s, s->epoch, s->last);
}

static void pubsub_ipc_cb(evutil_socket_t fd, short what, void *arg)
{
    static char buf[IPC_MAX_PAYLOAD + 1];
    for (int i = 0; i < PUBSUB_READ_BATCH; i++) {
        uint32_t type;
        int n = ipc_recv(fd, &type, buf, IPC_MAX_PAYLOAD);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n < 0 || type == 0) {
            event_del(P.ipc_ev); /* the master is gone: PDEATHSIG stops us */
            return;
        }
        if (type == IPC_MESSAGE) {
            pubsub_ipc_message(buf, (size_t)n);
        } else if (type == IPC_SEQUENCED) {
            pubsub_sequenced((unsigned char *)buf, (size_t)n);
        } else if (type == IPC_HISTORY_ITEM) {
            buf[n] = '\0';
            pubsub_history_item((unsigned char *)buf, (size_t)n);
        } else if (type == IPC_HISTORY_END) {
            pubsub_history_end((unsigned char *)buf, (size_t)n);
        } else if (type == IPC_LAGGED) {
            pubsub_lagged((unsigned char *)buf, (size_t)n);
        } else if (type == IPC_PRESENCE_LIST) {
            pubsub_presence_list((unsigned char *)buf, (size_t)n);
        }
    }
}

int pubsub_init(struct loop *loop, int ipc_fd)
{
    const struct config *cfg = loop->cfg;
    P.loop = loop;
    P.base = loop->base;
    P.backend = pubsub_settings(cfg)->backend;
    P.ipc_fd = ipc_fd;
    if (P.backend == PUBSUB_REDIS)
        return pubsub_redis_init(P.base, &pubsub_settings(cfg)->redis) < 0 ||
                       pubsub_presence_redis_init(P.base, &pubsub_settings(cfg)->redis,
                                                  pubsub_settings(cfg)->presence_timeout) < 0
                   ? -1
                   : 0;
    P.out = ipc_queue_new(P.base, ipc_fd, PUBSUB_QUEUE_LIMIT);
    P.ipc_ev = event_new(P.base, ipc_fd, EV_READ | EV_PERSIST, pubsub_ipc_cb, NULL);
    if (!P.ipc_ev)
        util_oom();
    event_add(P.ipc_ev, NULL);
    return 0;
}

void pubsub_shutdown(void)
{
    /* closing the Redis links answers what is pending: no history answer
     * may reach a subscriber any more */
    P.recovering = NULL;
    pubsub_presence_shutdown();
    if (P.backend == PUBSUB_REDIS) {
        pubsub_presence_redis_shutdown();
        pubsub_redis_shutdown();
    }
    if (P.ipc_ev)
        event_free(P.ipc_ev);
    ipc_queue_free(P.out);
    for (size_t i = 0; i < P.nbuckets; i++) {
        for (struct pubsub_channel *ch = P.buckets[i], *next; ch; ch = next) {
            next = ch->next;
            while (ch->head) {
                gale_subscription *s = ch->head;
                ch->head = s->next;
                free(s);
            }
            free(ch->name);
            free(ch);
        }
    }
    free(P.buckets);
    while (P.then) { /* the worker exits: nobody waits for these any more */
        struct pubsub_then *t = P.then;
        P.then = t->next;
        free(t);
    }
    memset(&P, 0, sizeof(P));
    P.ipc_fd = -1;
}
