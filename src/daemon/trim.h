/*
 * trim.h - memory taken for a burst of connections goes back to the system
 * once the burst is over.
 */
#ifndef GALE_TRIM_H
#define GALE_TRIM_H

#include <stddef.h>

struct event_base;

/* The worker's connection count changed to nconns. */
void trim_conns(struct event_base *base, size_t nconns);
/* Free the timer (the worker exits). */
void trim_shutdown(void);
/* Before any connection: make libevent's per-descriptor records for the
 * descriptors 0 to nfds - 1 (see trim.c: otherwise they pin the heap). */
void trim_prepare(struct event_base *base, int nfds);

#endif
