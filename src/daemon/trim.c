/*
 * trim.c - give the memory of a burst back to the system.
 *
 * glibc keeps what is freed in its heaps for reuse: after a flood of
 * connections the worker's RSS stayed at its peak (47 MB for good where 6
 * had served). When the number of connections has fallen to half of its
 * peak since the last trim, and that peak was a burst (TRIM_BURST or more),
 * malloc_trim(0) hands the free pages back. It runs TRIM_DELAY seconds
 * after the fall, once, so a wave of closes costs one trim rather than one
 * per close, and a steady load (no fall) costs none.
 */
#include "daemon/trim.h"

#include <malloc.h>

#include <event2/event.h>

#include "core/log.h"

#define TRIM_BURST 256
#define TRIM_DELAY 2

static struct {
    struct event *ev;
    size_t peak; /* connections at most since the last trim */
    size_t nconns;
} trim;

static void trim_cb(evutil_socket_t fd, short what, void *arg)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
    log_debug("memory trimmed after a burst of %zu connections", trim.peak);
    trim.peak = trim.nconns;
}

void trim_conns(struct event_base *base, size_t nconns)
{
    trim.nconns = nconns;
    if (nconns > trim.peak)
        trim.peak = nconns;
    if (trim.peak < TRIM_BURST || nconns > trim.peak / 2)
        return;
    if (!trim.ev && !(trim.ev = evtimer_new(base, trim_cb, NULL)))
        return; /* no memory for a timer: the trim can wait */
    if (evtimer_pending(trim.ev, NULL))
        return;
    struct timeval tv = {TRIM_DELAY, 0};
    evtimer_add(trim.ev, &tv);
}

void trim_shutdown(void)
{
    if (trim.ev)
        event_free(trim.ev);
    trim.ev = NULL;
}

/* libevent keeps a small record for every descriptor number it has ever
 * watched, made the first time and kept until the loop is freed. Made
 * during a flood, one lands between each connection's allocations, and
 * those few live bytes pin every page of the heap: malloc_trim then frees
 * nothing. Made here first, for every number the worker may use, they sit
 * together at the start of the heap (about 60 bytes per descriptor; nginx
 * likewise makes its connection table up front). With the epoll
 * changelist an add undone in the same turn makes no system call. */
static void trim_nop_cb(evutil_socket_t fd, short what, void *arg)
{
}

void trim_prepare(struct event_base *base, int nfds)
{
    struct event *ev = event_new(base, 0, EV_READ, trim_nop_cb, NULL);
    if (!ev)
        return;
    for (int fd = nfds - 1; fd >= 0; fd--) {
        event_assign(ev, base, fd, EV_READ, trim_nop_cb, NULL);
        event_add(ev, NULL);
        event_del(ev);
    }
    event_free(ev);
}
