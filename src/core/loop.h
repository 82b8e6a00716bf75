/*
 * loop.h - the per-worker loop context: what everything running on a
 * worker's event loop shares (the event base, the config, the shared
 * timeouts, the cached Date and Server headers, the open connections, the
 * routes, whether the worker drains).
 *
 * The worker fills it in before the loop runs and owns it; the layers
 * above core (net, http, ws, pubsub) are handed a pointer to it when their
 * objects are made and read it from there, never calling up into the worker
 * (the role of H2O's h2o_context_t and nginx's ngx_cycle_t). What the worker
 * must learn from below (a connection came or went) reaches it through the
 * callbacks it set here.
 */
#ifndef GALE_LOOP_H
#define GALE_LOOP_H

#include <stddef.h>
#include <sys/time.h>
#include <time.h>

struct client;
struct config;
struct conn;
struct event_base;
struct gale_timer;
struct metrics_slot;
struct module_set;
struct router;

/* The timeouts of the config, as libevent common timeouts (O(1) to add). */
enum loop_tv {
    LOOP_TV_HEADER,
    LOOP_TV_BODY,
    LOOP_TV_IDLE,
    LOOP_TV_SEND,
    LOOP_TV_LINGER,
    LOOP_TV_DRAIN_IDLE,
    LOOP_TV_COUNT
};

struct loop {
    struct event_base *base;
    const struct config *cfg;
    int id;       /* the worker's slot, 0..workers-1 */
    int draining; /* the worker stops: finish what is in flight, take nothing new */
    const struct module_set *modules; /* the loaded modules and their routes */
    const struct router *router;      /* their route patterns, compiled */
    const struct timeval *tv[LOOP_TV_COUNT];

    /* Open connections: net/conn.c links and unlinks them, then calls
     * conns_changed (the worker pauses accepting at max_connections and ends
     * a drain when the last one goes). */
    struct conn *conns;
    size_t nconns;
    void (*conns_changed)(struct loop *loop, int added);

    struct gale_timer *timers; /* the modules' pending timers (core/timer.c) */
    struct client *client;     /* the outgoing HTTP client (client/client.c), made on first use */
    /* this worker's counters in the master's shared region (core/metrics.h),
     * NULL when metrics are off: every layer counts into it directly */
    struct metrics_slot *metrics;

    char date[64]; /* "Date: ...\r\n", see loop_date_header */
    size_t date_len;
    time_t date_sec;
    char *server; /* "Server: ...\r\n" (owned) */
    size_t server_len;
};

/* Set up the context of a worker `id` on `base` for cfg: the timeouts and
 * headers. The caller sets modules, router and conns_changed. Returns 0, or
 * -1 when libevent refuses a timeout. */
int loop_init(struct loop *loop, struct event_base *base, const struct config *cfg, int id);
/* Free what loop_init made (not the base, which the caller owns). */
void loop_free(struct loop *loop);

/* `seconds` as a libevent common timeout of the loop's base (made once:
 * the same value gives the same timeval), or NULL when libevent refuses. */
const struct timeval *loop_timeout(struct loop *loop, double seconds);

/* "Date: ...\r\n" for now (IMF-fixdate), made again at most once a second. */
const char *loop_date_header(struct loop *loop, size_t *len);

#endif
