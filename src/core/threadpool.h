/*
 * threadpool.h - a few threads per worker for work that would block the event
 * loop (slow password hashes, file work): the work runs on a pool thread,
 * its completion comes back to the loop as an event.
 */
#ifndef GALE_THREADPOOL_H
#define GALE_THREADPOOL_H

#include <stddef.h>

struct event_base;
struct threadpool_job;

/* Start the pool on the worker's loop. 0, or -1. */
int threadpool_init(struct event_base *base, int threads);
/* Stop the threads (after they finish their current job) and free. */
void threadpool_shutdown(void);

/* Run work(data) on a pool thread, then done(data) on the loop; data is a
 * copy of size bytes owned by the job (freed after done, or after work when
 * the job was cancelled), so work never touches memory the loop may free.
 * Returns the job, or NULL (done is then never called). work must not call
 * gale. */
struct threadpool_job *threadpool_run(void (*work)(void *data), void (*done)(void *data, void *ctx),
                                      void *ctx, const void *data, size_t size);
/* The caller no longer wants done (its request went away): not called. */
void threadpool_cancel(struct threadpool_job *job);

#endif
