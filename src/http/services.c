/*
 * services.c - services gale offers modules beyond HTTP: work that would block
 * the loop, run on the worker's thread pool, and the shared store (the one
 * that keeps sessions) for the module's own data. Both call back on the
 * loop, and never after the request went away.
 */
#include <string.h>

#include "core/arena.h"
#include "core/threadpool.h"
#include "http/request.h"
#include "http/session.h"
#include "store/store.h"

#define SERVICES_KEY_PREFIX "app:" /* the modules' keys, apart from session ids */

/* ---- blocking work ---- */

struct services_job {
    gale_request *r;
    void (*done)(gale_request *r, void *data);
    struct threadpool_job *job; /* NULL once done ran */
};

static void services_job_cancel(void *arg)
{
    struct services_job *j = arg;
    threadpool_cancel(j->job);
}

static void services_job_done(void *data, void *ctx)
{
    struct services_job *j = ctx;
    j->job = NULL;
    arena_cleanup_remove(j->r->arena, services_job_cancel, j);
    j->done(j->r, data);
}

int gale_request_blocking(gale_request *r, void (*work)(void *data),
                          void (*done)(gale_request *r, void *data), const void *data, size_t size)
{
    struct services_job *j = arena_calloc(r->arena, sizeof(*j));
    j->r = r;
    j->done = done;
    j->job = threadpool_run(work, services_job_done, j, data, size);
    if (!j->job)
        return -1;
    arena_cleanup_add(r->arena, services_job_cancel, j);
    return 0;
}

/* ---- the shared store ---- */

struct services_op {
    gale_request *r;
    void (*get)(gale_request *r, void *arg, int status, const char *value, size_t len);
    void (*set)(gale_request *r, void *arg, int status);
    void *arg;
    struct store_op *op; /* pending */
};

static void services_op_cancel(void *arg)
{
    struct services_op *o = arg;
    store_cancel(o->op);
}

static void services_op_settle(struct services_op *o)
{
    if (o->op) /* an answer that came later: forget the cancellation */
        arena_cleanup_remove(o->r->arena, services_op_cancel, o);
    o->op = NULL;
}

/* The store's own statuses (store.h) in the module API's terms. */
static enum gale_store_status services_status(int status)
{
    return status < 0 ? GALE_STORE_ERROR : status > 0 ? GALE_STORE_ABSENT : GALE_STORE_OK;
}

static void services_got(void *arg, int status, const char *value, size_t len)
{
    struct services_op *o = arg;
    services_op_settle(o);
    o->get(o->r, o->arg, services_status(status), value, len);
}

static void services_done(void *arg, int status)
{
    struct services_op *o = arg;
    services_op_settle(o);
    if (o->set)
        o->set(o->r, o->arg, status > 0 ? GALE_STORE_EXISTS : services_status(status));
}

static char *services_key(gale_request *r, const char *key)
{
    return gale_request_printf(r, SERVICES_KEY_PREFIX "%s", key);
}

/* The store answers at once (LMDB: the callback ran and may have finished
 * and freed r) or later (Redis: an operation is pending, r is alive). */
static void services_pending(struct services_op *o, struct store_op *op)
{
    if (!op)
        return;
    o->op = op;
    arena_cleanup_add(o->r->arena, services_op_cancel, o);
}

int gale_store_get(gale_request *r, const char *key,
                   void (*fn)(gale_request *r, void *arg, int status, const char *value,
                              size_t len),
                   void *arg)
{
    struct store *s = session_store_of(r);
    if (!s)
        return -1;
    struct services_op *o = arena_calloc(r->arena, sizeof(*o));
    *o = (struct services_op){.r = r, .get = fn, .arg = arg};
    services_pending(o, store_get(s, services_key(r, key), services_got, o));
    return 0;
}

/* set, and add (only_absent): the store's 1 (add: the key was there) is
 * GALE_STORE_EXISTS. */
static int services_store(gale_request *r, const char *key, const void *value, size_t len,
                          unsigned ttl, int only_absent,
                          void (*fn)(gale_request *r, void *arg, int status), void *arg)
{
    struct store *s = session_store_of(r);
    if (!s || ttl == 0)
        return -1;
    struct services_op *o = arena_calloc(r->arena, sizeof(*o));
    *o = (struct services_op){.r = r, .set = fn, .arg = arg};
    const char *k = services_key(r, key);
    services_pending(o, only_absent ? store_add(s, k, value, len, ttl, services_done, o)
                                    : store_set(s, k, value, len, ttl, services_done, o));
    return 0;
}

int gale_store_set(gale_request *r, const char *key, const void *value, size_t len, unsigned ttl,
                   void (*fn)(gale_request *r, void *arg, int status), void *arg)
{
    return services_store(r, key, value, len, ttl, 0, fn, arg);
}

int gale_store_add(gale_request *r, const char *key, const void *value, size_t len, unsigned ttl,
                   void (*fn)(gale_request *r, void *arg, int status), void *arg)
{
    return services_store(r, key, value, len, ttl, 1, fn, arg);
}
