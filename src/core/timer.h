/*
 * timer.h - the modules' timers (gale_call_later, gale_periodic): events
 * of the worker's loop that belong to a module, not to a request, so that
 * a module never needs libevent itself.
 */
#ifndef GALE_TIMER_H
#define GALE_TIMER_H

struct loop;

/* Cancel and free every timer still pending on loop. The worker calls it
 * once the modules' shutdown hooks have returned: until then the modules'
 * handles stay valid, and the loop no longer runs, so no callback comes. */
void timer_free_all(struct loop *loop);

#endif
