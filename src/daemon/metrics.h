/*
 * metrics.h - the master's side of the metrics: the shared regions the
 * workers count into, the totals of workers that are gone, and the text a
 * scrape gets (Prometheus' text exposition format, version 0.0.4).
 *
 * Each series is given per worker (label worker="N", N the worker's slot)
 * and summed over the workers (the same series without a worker label).
 * When a worker ends (it died, a reload replaced it) its counts join a
 * retired total of its slot, so that counters never go back, neither per
 * worker nor summed.
 */
#ifndef GALE_DAEMON_METRICS_H
#define GALE_DAEMON_METRICS_H

#include <stddef.h>

struct config;
struct evbuffer;
struct metrics_slot;

/* One generation's region: a slot per worker, and the route patterns its
 * counters are indexed by. Reference counted: the generation and each of
 * its workers hold it, since old workers outlive their generation. */
struct metrics_map;

/* The region for cfg's workers and routes; NULL when metrics are off (or
 * the memory could not be mapped: logged, and the generation goes
 * uncounted). The caller holds one reference. */
struct metrics_map *metrics_map_new(const struct config *cfg);
struct metrics_map *metrics_map_hold(struct metrics_map *map);
void metrics_map_drop(struct metrics_map *map); /* map may be NULL */
struct metrics_slot *metrics_map_slot(struct metrics_map *map, int slot);

/* A worker counting into `slot` of `map` ended: add its counters to the
 * retired totals of worker label `worker` and zero the slot for the next. */
void metrics_retire(struct metrics_map *map, int slot, int worker);

/* A live worker, for a scrape. */
struct metrics_source {
    int worker; /* its label */
    const struct metrics_map *map;
    int slot;
};

/* The whole exposition for these live workers and the retired totals. */
void metrics_render(struct evbuffer *out, const struct metrics_source *src, size_t n);

/* Free the retired totals (the master exits). */
void metrics_free(void);

#endif
