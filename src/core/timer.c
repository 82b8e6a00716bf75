/*
 * timer.c - the modules' timers (see timer.h and gale.h): a once-timer is
 * freed when its callback returns; a periodic one is armed again after each
 * call, at the next time of its rhythm still ahead, so that a slow call
 * skips the times it ran past instead of making them up in a burst.
 *
 * Every timer is on its loop's list (loop->timers) from creation to its
 * free, so that the worker can free those still pending when it stops.
 */
#include "core/timer.h"

#include <stdlib.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "core/loop.h"
#include "core/module.h"
#include "core/util.h"

/* The longest delay accepted: beyond it a timeval's seconds could overflow. */
#define TIMER_MAX_SECONDS 1e9

struct gale_timer {
    struct event ev;
    gale_ctx *ctx;
    void (*fn)(gale_ctx *ctx, void *arg);
    void *arg;
    double interval; /* 0: once */
    double due;      /* periodic: monotonic seconds of the next call */
    unsigned running : 1;
    unsigned cancelled : 1; /* inside its callback: free it when that returns */
    gale_timer *prev, *next;
};

static void timer_link(gale_timer *t)
{
    struct loop *loop = t->ctx->loop;
    t->next = loop->timers;
    t->prev = NULL;
    if (loop->timers)
        loop->timers->prev = t;
    loop->timers = t;
}

static void timer_free(gale_timer *t)
{
    struct loop *loop = t->ctx->loop;
    event_del(&t->ev);
    if (t->prev)
        t->prev->next = t->next;
    else
        loop->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    free(t);
}

void timer_free_all(struct loop *loop)
{
    while (loop->timers)
        timer_free(loop->timers);
}

static int timer_arm(gale_timer *t, double seconds)
{
    struct timeval tv = util_timeval(seconds);
    return evtimer_add(&t->ev, &tv);
}

/* The next time of the rhythm after now. libevent measures the delay from
 * the time it cached when this loop turn began, which a slow callback made
 * stale: refresh it first, or the delay would end at once. */
static void timer_rearm(gale_timer *t)
{
    double now = util_now();
    t->due += t->interval;
    if (t->due <= now) /* skip the missed times (the quotient is >= 0: a cast floors it) */
        t->due += ((double)(long long)((now - t->due) / t->interval) + 1) * t->interval;
    event_base_update_cache_time(t->ctx->loop->base);
    if (timer_arm(t, t->due - now) < 0)
        timer_free(t); /* libevent refused: the timer cannot go on */
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
    gale_timer *t = arg;
    t->running = 1;
    t->fn(t->ctx, t->arg);
    t->running = 0;
    if (t->cancelled || t->interval == 0)
        timer_free(t);
    else
        timer_rearm(t);
}

static gale_timer *timer_new(gale_ctx *ctx, double seconds, double interval,
                             void (*fn)(gale_ctx *ctx, void *arg), void *arg)
{
    if (!ctx || !fn || !(seconds >= 0 && seconds <= TIMER_MAX_SECONDS))
        return NULL;
    gale_timer *t = xcalloc(1, sizeof(*t));
    t->ctx = ctx;
    t->fn = fn;
    t->arg = arg;
    t->interval = interval;
    t->due = util_now() + seconds;
    if (evtimer_assign(&t->ev, ctx->loop->base, timer_cb, t) < 0 || timer_arm(t, seconds) < 0) {
        free(t);
        return NULL;
    }
    timer_link(t);
    return t;
}

gale_timer *gale_call_later(gale_ctx *ctx, double seconds, void (*fn)(gale_ctx *ctx, void *arg),
                            void *arg)
{
    return timer_new(ctx, seconds, 0, fn, arg);
}

gale_timer *gale_periodic(gale_ctx *ctx, double interval, void (*fn)(gale_ctx *ctx, void *arg),
                          void *arg)
{
    if (!(interval > 0))
        return NULL;
    return timer_new(ctx, interval, interval, fn, arg);
}

void gale_timer_cancel(gale_timer *t)
{
    if (!t)
        return;
    if (t->running)
        t->cancelled = 1;
    else
        timer_free(t);
}
