/*
 * redis_script.c - EVALSHA, with EVAL when the server lost the script
 * (redis_script.h).
 */
#include "store/redis_script.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <openssl/evp.h>

#include "core/util.h"

/* A call in flight: what EVAL needs if EVALSHA meets NOSCRIPT. The
 * arguments' bytes follow the struct; argv[0..2] are filled per send. */
struct redis_script_call {
    struct redis_script *s;
    redis_script_fn *fn;
    void *privdata;
    int argc; /* the command's, 3 + the script's arguments */
    int retried;
    char nkeys[16];
    const char **argv;
    size_t *lens;
};

static void redis_script_sha(struct redis_script *s)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (s->sha[0])
        return;
    if (EVP_Digest(s->source, strlen(s->source), md, &n, EVP_sha1(), NULL) != 1 || n != 20)
        util_oom(); /* SHA1 is always there: only memory can fail */
    for (unsigned int i = 0; i < n; i++)
        snprintf(s->sha + 2 * i, 3, "%02x", md[i]);
}

static struct redis_script_call *redis_script_call_new(struct redis_script *s, int nkeys, int argc,
                                                       const char *const *argv, const size_t *lens)
{
    size_t bytes = 0;
    for (int i = 0; i < argc; i++)
        bytes += lens[i];
    size_t n = (size_t)argc + 3;
    struct redis_script_call *c =
        xmalloc(sizeof(*c) + n * (sizeof(char *) + sizeof(size_t)) + bytes);
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->argc = (int)n;
    c->argv = (const char **)(c + 1);
    c->lens = (size_t *)(c->argv + n);
    char *p = (char *)(c->lens + n);
    snprintf(c->nkeys, sizeof(c->nkeys), "%d", nkeys);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i], lens[i]);
        c->argv[3 + i] = p;
        c->lens[3 + i] = lens[i];
        p += lens[i];
    }
    c->argv[2] = c->nkeys;
    c->lens[2] = strlen(c->nkeys);
    return c;
}

static void redis_script_on_reply(redisAsyncContext *ac, void *r, void *privdata);

/* EVALSHA the first time, EVAL after a NOSCRIPT. */
static int redis_script_send(redisAsyncContext *ac, struct redis_script_call *c)
{
    c->argv[0] = c->retried ? "EVAL" : "EVALSHA";
    c->argv[1] = c->retried ? c->s->source : c->s->sha;
    c->lens[0] = strlen(c->argv[0]);
    c->lens[1] = strlen(c->argv[1]);
    return redisAsyncCommandArgv(ac, redis_script_on_reply, c, c->argc, c->argv, c->lens) ==
                   REDIS_OK
               ? 0
               : -1;
}

static void redis_script_on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    const redisReply *reply = r;
    struct redis_script_call *c = privdata;
    if (reply && reply->type == REDIS_REPLY_ERROR && !c->retried &&
        !strncmp(reply->str, "NOSCRIPT", 8)) {
        c->retried = 1;
        if (redis_script_send(ac, c) == 0)
            return;
        r = NULL; /* the connection is closing: as if it went before answering */
    }
    c->fn(ac, r, c->privdata);
    free(c);
}

int redis_script_run(struct redisAsyncContext *ac, struct redis_script *s, int nkeys, int argc,
                     const char *const *argv, const size_t *lens, redis_script_fn *fn,
                     void *privdata)
{
    if (!ac)
        return -1;
    redis_script_sha(s);
    struct redis_script_call *c = redis_script_call_new(s, nkeys, argc, argv, lens);
    c->fn = fn;
    c->privdata = privdata;
    if (redis_script_send(ac, c) == 0)
        return 0;
    free(c);
    return -1;
}
