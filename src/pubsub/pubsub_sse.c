/*
 * pubsub_sse.c - Server-Sent Events: a request answered as a
 * text/event-stream of a channel's messages (gale_request_sse).
 *
 * Each event's id is "EPOCH:OFFSET", so a browser's EventSource that
 * reconnects (after a network error, or because the worker drained) sends it
 * back as Last-Event-ID and resumes through the channel's history: the
 * messages it missed, then the live ones, none twice. When they cannot be
 * recovered it gets an event "lost" (its id the position to go on from).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "http/request.h"
#include "pubsub/pubsub.h"

#define PUBSUB_SSE_RETRY_MS 1000 /* how soon EventSource comes back */

struct pubsub_sse {
    gale_request *r;
    gale_subscription *sub;
    const char *event; /* NULL: the default "message" */
    double keepalive;
    int fresh;                      /* no Last-Event-ID: told the position first, with no event */
    struct pubsub_sse *prev, *next; /* every stream of the worker, for the drain */
    unsigned ended : 1;
};

static struct {
    struct pubsub_sse *streams;
    int draining;
} S;

/* "EPOCH:OFFSET" (or just OFFSET, taken as of an unknown epoch). */
static void pubsub_sse_parse_id(const char *id, uint64_t *epoch, uint64_t *offset)
{
    char *end;
    errno = 0;
    unsigned long long a = strtoull(id, &end, 10);
    if (errno || end == id) {
        *epoch = *offset = 0;
        return;
    }
    if (*end != ':') {
        *epoch = 1; /* not one the master gave: recovery reports "lost" */
        *offset = a;
        return;
    }
    const char *b = end + 1;
    unsigned long long o = strtoull(b, &end, 10);
    if (errno || end == b || *end || a == 0) {
        *epoch = *offset = 0;
        return;
    }
    *epoch = a;
    *offset = o;
}

/* The stream is over (drain, or the subscription failed): finish it so that
 * the client reconnects. */
static void pubsub_sse_end(gale_request *r, void *arg)
{
    struct pubsub_sse *s = arg;
    if (s->ended)
        return;
    s->ended = 1;
    gale_response_finish(r); /* may free r, and s with it */
}

static void pubsub_sse_send(struct pubsub_sse *s, const char *event, const char *msg, size_t len,
                            uint64_t epoch, uint64_t offset)
{
    gale_request *r = s->r;
    if (s->ended)
        return;
    if (epoch)
        gale_response_printf(r, "id: %" PRIu64 ":%" PRIu64 "\n", epoch, offset);
    if (event)
        gale_response_printf(r, "event: %s\n", event);
    /* one data line per line: the client joins them with LF (so CR and
     * CR LF in a message come out as LF) */
    const char *p = msg, *end = msg + len;
    for (;;) {
        const char *nl = p;
        while (nl < end && *nl != '\n' && *nl != '\r')
            nl++;
        gale_response_write(r, "data: ", 6);
        gale_response_write(r, p, (size_t)(nl - p));
        gale_response_write(r, "\n", 1);
        if (nl == end)
            break;
        if (nl[0] == '\r' && nl + 1 < end && nl[1] == '\n')
            nl++;
        p = nl + 1;
    }
    gale_response_write(r, "\n", 1);
    if (gale_response_flush(r) < 0)
        pubsub_sse_end(r, s);
}

static void pubsub_sse_message(void *arg, const char *channel, const char *msg, size_t len,
                               uint64_t epoch, uint64_t offset)
{
    struct pubsub_sse *s = arg;
    if (msg) {
        pubsub_sse_send(s, s->event, msg, len, epoch, offset);
    } else if (s->fresh) {
        /* an id with no data: EventSource keeps it as its last event id
         * without an event, so even a stream that never got a message
         * resumes from here */
        s->fresh = 0;
        if (!s->ended && epoch) {
            gale_response_printf(s->r, "id: %" PRIu64 ":%" PRIu64 "\n\n", epoch, offset);
            if (gale_response_flush(s->r) < 0)
                pubsub_sse_end(s->r, s);
        }
    } else { /* what it missed is gone: say so, and where it goes on from */
        char pos[48];
        int n = snprintf(pos, sizeof(pos), "%" PRIu64 ":%" PRIu64, epoch, offset);
        pubsub_sse_send(s, "lost", pos, (size_t)n, epoch, offset);
    }
}

static void pubsub_sse_keepalive(gale_request *r, void *arg)
{
    struct pubsub_sse *s = arg;
    if (s->ended)
        return;
    gale_response_write(r, ": keepalive\n\n", 13);
    if (gale_response_flush(r) < 0 ||
        gale_request_later(r, s->keepalive, pubsub_sse_keepalive, s) < 0)
        pubsub_sse_end(r, s);
}

static void pubsub_sse_abort(gale_request *r, void *arg)
{
    pubsub_sse_end(r, arg);
}

/* The request is freed: the stream goes with it. */
static void pubsub_sse_cleanup(void *arg)
{
    struct pubsub_sse *s = arg;
    gale_unsubscribe(s->sub);
    s->sub = NULL;
    if (s->prev)
        s->prev->next = s->next;
    else
        S.streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

int gale_request_sse(gale_request *r, const char *channel, const char *event, double keepalive)
{
    if (!r || r->finished || keepalive < 0 || (event && strpbrk(event, "\r\n")))
        return -1;
    struct pubsub_sse *s = gale_request_alloc(r, sizeof(*s));
    memset(s, 0, sizeof(*s));
    s->r = r;
    s->event = event ? gale_request_strdup(r, event) : NULL;
    s->keepalive = keepalive;
    /* EventSource sends the header when it reconnects; a page that knows
     * where to start (its first connection) can only say it in the URL */
    const char *last = gale_request_header(r, "Last-Event-ID");
    if (!last)
        last = gale_request_query(r, "last_event_id");
    uint64_t epoch = 0, offset = 0;
    if (last)
        pubsub_sse_parse_id(last, &epoch, &offset);
    if (epoch)
        s->sub = gale_subscribe_since(gale_request_ctx(r), channel, epoch, offset,
                                      pubsub_sse_message, s);
    else
        s->sub = pubsub_subscribe_now(channel, pubsub_sse_message, s);
    s->fresh = !epoch;
    if (!s->sub)
        return -1;
    gale_request_cleanup(r, pubsub_sse_cleanup, s);
    s->next = S.streams;
    if (S.streams)
        S.streams->prev = s;
    S.streams = s;
    gale_request_on_abort(r, pubsub_sse_abort, s);
    gale_response_header(r, "Content-Type", "text/event-stream; charset=utf-8");
    gale_response_header(r, "Cache-Control", "no-cache");
    gale_response_printf(r, "retry: %d\n\n", PUBSUB_SSE_RETRY_MS);
    gale_response_flush(r);
    if (S.draining)
        gale_request_later(r, 0, pubsub_sse_end, s);
    else if (keepalive > 0)
        gale_request_later(r, keepalive, pubsub_sse_keepalive, s);
    return 0;
}

void pubsub_sse_drain(void)
{
    S.draining = 1;
    for (struct pubsub_sse *s = S.streams; s; s = s->next)
        gale_request_later(s->r, 0, pubsub_sse_end, s);
}
