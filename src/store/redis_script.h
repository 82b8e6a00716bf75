/*
 * redis_script.h - a Lua script run with EVALSHA: the script's text crosses
 * the network only when the server does not know it (a restart, SCRIPT
 * FLUSH, a new server), not with every call.
 *
 * The SHA1 is computed here, once; a call is sent as EVALSHA and, when the
 * answer is NOSCRIPT, sent again as EVAL (which also loads the script for
 * the calls after it). No SCRIPT LOAD on connect: it could not help with a
 * SCRIPT FLUSH on a live connection anyway.
 *
 * Order: a call that met NOSCRIPT runs later than the calls sent after it
 * on the same connection when those found the script (another client's EVAL
 * loaded it meanwhile). Callers whose scripts give offsets get them in the
 * order the scripts ran, so subscribers still see one order, without gaps.
 */
#ifndef GALE_REDIS_SCRIPT_H
#define GALE_REDIS_SCRIPT_H

#include <stddef.h>

struct redisAsyncContext;

struct redis_script {
    const char *source; /* the Lua text (static, borrowed) */
    char sha[41];       /* its SHA1 in hex; "" until the first call */
};

#define REDIS_SCRIPT(src)                                                                          \
    {                                                                                              \
        .source = (src), .sha = ""                                                                 \
    }

/* The reply callback, as hiredis' redisCallbackFn: reply NULL when the
 * connection went before an answer. */
typedef void redis_script_fn(struct redisAsyncContext *ac, void *reply, void *privdata);

/* Run s with argc arguments (argv[i] of lens[i] bytes: the nkeys keys
 * first, then the script's ARGV), copied: the caller's may go at once.
 * fn gets the reply (of the EVAL when the EVALSHA met NOSCRIPT). 0, or -1
 * when nothing was sent (fn is not called then). */
int redis_script_run(struct redisAsyncContext *ac, struct redis_script *s, int nkeys, int argc,
                     const char *const *argv, const size_t *lens, redis_script_fn *fn,
                     void *privdata);

#endif
