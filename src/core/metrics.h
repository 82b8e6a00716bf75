/*
 * metrics.h - a worker's counters, as the master reads them for a scrape.
 *
 * The master maps one shared, anonymous region per generation before it
 * forks that generation's workers (MAP_SHARED | MAP_ANONYMOUS), one slot per
 * worker: the worker counts into its slot with plain increments (it is the
 * only writer, so no atomics and no locks), and the master reads every slot
 * when it is scraped, with no message to the workers. A torn read cannot
 * happen on the aligned 64-bit words of the machines gale runs on; a read
 * that sees one counter of a request and not yet the next is off by one
 * request for one scrape, which Prometheus tolerates.
 *
 * What a request costs: a NULL test, an index, a few increments and a
 * short walk over the latency bounds. Nothing is formatted or allocated.
 */
#ifndef GALE_METRICS_H
#define GALE_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Status codes 100..599 each have a counter per route; anything else (a
 * module's odd number) counts as 599's neighbour: the last one. */
#define METRICS_CODE_FIRST 100
#define METRICS_CODES 500

/* The latency histogram's upper bounds in microseconds (Prometheus' own
 * default buckets); one more bucket holds what is above the last. */
#define METRICS_BOUNDS 11
extern const uint64_t metrics_bounds_us[METRICS_BOUNDS];

struct metrics_slot {
    uint64_t connections;                 /* gauge: open client connections */
    uint64_t websockets;                  /* gauge: open WebSockets */
    uint64_t published;                   /* pub/sub messages this worker published */
    uint64_t repeats;                     /* keyed ones dropped as repeats, not published */
    uint64_t delivered;                   /* pub/sub messages handed to this worker's subscribers */
    uint64_t latency_us;                  /* the sum of every request's latency */
    uint64_t buckets[METRICS_BOUNDS + 1]; /* per bucket, not cumulative */
    /* [route][code - METRICS_CODE_FIRST]: route 0 is "no module route"
     * (static files, 404s, redirects), route i the i-th route of the config
     * in the order of module_set.routes */
    uint64_t requests[];
};

/* The bytes of one slot for a config with `nroutes` routes (a multiple of
 * 64, so that two workers never write the same cache line). */
size_t metrics_slot_size(size_t nroutes);

/* A shared region of `nslots` slots, zeroed; NULL when mmap fails. */
void *metrics_region_new(size_t nslots, size_t nroutes);
void metrics_region_free(void *region, size_t nslots, size_t nroutes);
static inline struct metrics_slot *metrics_region_slot(void *region, size_t nroutes, size_t i)
{
    return (struct metrics_slot *)((char *)region + i * metrics_slot_size(nroutes));
}

/* A finished request: its route (0: none), status and latency. */
static inline void metrics_request(struct metrics_slot *m, size_t route, int status, double seconds)
{
    if (!m)
        return;
    unsigned code = (unsigned)(status - METRICS_CODE_FIRST);
    if (code >= METRICS_CODES)
        code = METRICS_CODES - 1;
    m->requests[route * METRICS_CODES + code]++;
    uint64_t us = seconds > 0 ? (uint64_t)(seconds * 1e6) : 0;
    m->latency_us += us;
    unsigned b = 0;
    while (b < METRICS_BOUNDS && us > metrics_bounds_us[b])
        b++;
    m->buckets[b]++;
}

/* The gauges and pub/sub counters: m may be NULL (metrics are off). */
static inline void metrics_add(struct metrics_slot *m, size_t field, int64_t n)
{
    if (m)
        *(uint64_t *)((char *)m + field) += (uint64_t)n;
}
#define METRICS_ADD(m, field, n) metrics_add(m, offsetof(struct metrics_slot, field), n)

#endif
