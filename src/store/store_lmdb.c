/*
 * store_lmdb.c - the LMDB session store: one environment in a state folder,
 * opened by every worker after fork (LMDB is multi-process safe; an
 * environment must not cross fork) and shared through the OS page cache.
 *
 * A value is an 8-byte big-endian expiry (Unix seconds) followed by the
 * caller's bytes. Expired entries read as absent and are deleted lazily by
 * get; they are swept when the map is full, and at most every
 * STORE_LMDB_SWEEP_PERIOD seconds on writes, so the file does not grow
 * forever. Every call answers before it returns, so no operation handle is
 * ever returned and cancel has nothing to do.
 *
 * Keys are 1 to 511 bytes (LMDB's limit): set fails (-1) on others, and a
 * longer one, never stored, reads as absent.
 * Callbacks never run inside a write transaction: one may start any store
 * call without deadlocking on LMDB's writer lock.
 */
#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/log.h"
#include "store/store_impl.h"

#define STORE_LMDB_MAP_DEFAULT ((size_t)64 << 20)
#define STORE_LMDB_SWEEP_PERIOD 600
#define STORE_LMDB_HEADER 8 /* the big-endian expiry */

/* No fsync: a session survives a crash of the process through the page
 * cache, and an fsync per write would block the event loop. MDB_NOTLS lets
 * a get callback start another get while the first read is open. */
#define STORE_LMDB_FLAGS (MDB_NOTLS | MDB_NOSYNC | MDB_NOMETASYNC)

struct store_lmdb {
    struct store base;
    MDB_env *env;
    MDB_dbi dbi;
    time_t last_sweep; /* this process's last periodic sweep; 0: none yet */
};

static MDB_val store_lmdb_key(const char *key)
{
    MDB_val k = {strlen(key), (void *)key};
    return k;
}

/* A value too short to hold its header is treated as expired, so that it
 * reads as absent and gets cleaned up rather than failing forever. Expiry
 * is in whole seconds: an entry goes once its second has passed, so that
 * it lives at least its ttl (ttl to ttl + 1 s), never less (a 1 s entry
 * written at X.999 was gone at X+1.000). */
static int store_lmdb_expired(const MDB_val *v, time_t now)
{
    const unsigned char *p = v->mv_data;
    uint64_t expiry = 0;
    int i;

    if (v->mv_size < STORE_LMDB_HEADER)
        return 1;
    for (i = 0; i < STORE_LMDB_HEADER; i++)
        expiry = expiry << 8 | p[i];
    return expiry < (uint64_t)now;
}

/* Returns an LMDB code. */
static int store_lmdb_begin(struct store_lmdb *s, unsigned flags, MDB_txn **txn)
{
    int rc = mdb_txn_begin(s->env, NULL, flags, txn);

    /* Another process grew the map (a larger map_size after a reload):
     * adopt its size, which LMDB allows only with no transaction open
     * here, and try once more. */
    if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(s->env, 0) == 0)
        rc = mdb_txn_begin(s->env, NULL, flags, txn);
    return rc;
}

/* Delete every expired entry in one write transaction. Returns an LMDB
 * code; on error nothing is deleted. */
static int store_lmdb_sweep(struct store_lmdb *s)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    time_t now = time(NULL);
    int rc = store_lmdb_begin(s, 0, &txn);

    if (rc != 0)
        return rc;
    rc = mdb_cursor_open(txn, s->dbi, &cur);
    if (rc == 0) {
        /* after mdb_cursor_del, MDB_NEXT yields the entry that followed */
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            if (store_lmdb_expired(&v, now) && (rc = mdb_cursor_del(cur, 0)) != 0)
                break;
        }
        mdb_cursor_close(cur);
    }
    if (rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

static void store_lmdb_sweep_sometimes(struct store_lmdb *s)
{
    time_t now = time(NULL);
    int rc;

    if (now - s->last_sweep < STORE_LMDB_SWEEP_PERIOD)
        return;
    s->last_sweep = now;
    rc = store_lmdb_sweep(s);
    if (rc != 0)
        log_warn("lmdb store: sweeping expired sessions: %s", mdb_strerror(rc));
}

/* Write the entry in txn. Returns an LMDB code. */
static int store_lmdb_write(struct store_lmdb *s, MDB_txn *txn, const char *key, const void *value,
                            size_t len, unsigned ttl)
{
    MDB_val k = store_lmdb_key(key), v = {STORE_LMDB_HEADER + len, NULL};
    uint64_t expiry = (uint64_t)time(NULL) + ttl;
    unsigned char *p;
    int i;
    /* MDB_RESERVE: build the value in place, with no copy to assemble */
    int rc = mdb_put(txn, s->dbi, &k, &v, MDB_RESERVE);

    if (rc != 0)
        return rc;
    p = v.mv_data;
    for (i = STORE_LMDB_HEADER - 1; i >= 0; i--, expiry >>= 8)
        p[i] = expiry & 0xff;
    if (len > 0)
        memcpy(p + STORE_LMDB_HEADER, value, len);
    return 0;
}

/* Returns an LMDB code; with only_absent, MDB_KEYEXIST when a live entry
 * is there (then nothing is written). The look and the write share one
 * write transaction: LMDB's writer lock spans processes, so no other
 * worker can write between them. */
static int store_lmdb_put(struct store_lmdb *s, const char *key, const void *value, size_t len,
                          unsigned ttl, int only_absent)
{
    MDB_txn *txn;
    MDB_val k = store_lmdb_key(key), v;
    int rc = store_lmdb_begin(s, 0, &txn);

    if (rc != 0)
        return rc;
    if (only_absent) {
        rc = mdb_get(txn, s->dbi, &k, &v);
        if (rc == 0 && !store_lmdb_expired(&v, time(NULL)))
            rc = MDB_KEYEXIST;
        else if (rc == 0 || rc == MDB_NOTFOUND)
            rc = 0;
    }
    if (rc == 0)
        rc = store_lmdb_write(s, txn, key, value, len, ttl);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

/* Returns an LMDB code; deleting an absent key is not an error. When only
 * expired is set, a live entry (rewritten by another worker since our read)
 * is kept. */
static int store_lmdb_remove(struct store_lmdb *s, const char *key, int only_expired)
{
    MDB_txn *txn;
    MDB_val k = store_lmdb_key(key), v;
    int rc = store_lmdb_begin(s, 0, &txn);

    if (rc != 0)
        return rc;
    rc = mdb_get(txn, s->dbi, &k, &v);
    if (rc == 0 && (!only_expired || store_lmdb_expired(&v, time(NULL))))
        rc = mdb_del(txn, s->dbi, &k, NULL);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    return mdb_txn_commit(txn);
}

static struct store_op *store_lmdb_get(struct store *base, const char *key, store_get_cb cb,
                                       void *arg)
{
    struct store_lmdb *s = (struct store_lmdb *)base;
    MDB_txn *txn;
    MDB_val k = store_lmdb_key(key), v;
    int rc = store_lmdb_begin(s, MDB_RDONLY, &txn);

    if (rc != 0) {
        log_error("lmdb store: get: %s", mdb_strerror(rc));
        cb(arg, -1, NULL, 0);
        return NULL;
    }
    rc = mdb_get(txn, s->dbi, &k, &v);
    if (rc == 0 && !store_lmdb_expired(&v, time(NULL))) {
        /* v points into the map, valid until the read transaction ends */
        cb(arg, 0, (const char *)v.mv_data + STORE_LMDB_HEADER, v.mv_size - STORE_LMDB_HEADER);
        mdb_txn_abort(txn);
        return NULL;
    }
    mdb_txn_abort(txn);
    if (rc == 0) /* expired: best effort, the sweeps catch what this misses */
        store_lmdb_remove(s, key, 1);
    else if (rc != MDB_NOTFOUND)
        log_error("lmdb store: get: %s", mdb_strerror(rc));
    cb(arg, rc == 0 || rc == MDB_NOTFOUND ? 1 : -1, NULL, 0);
    return NULL;
}

/* set, and add (only_absent): cb's status 0 written, 1 a live entry was
 * there (add), -1 error. */
static void store_lmdb_store(struct store_lmdb *s, const char *key, const void *value, size_t len,
                             unsigned ttl, int only_absent, store_done_cb cb, void *arg)
{
    int rc = EINVAL; /* ttl 0 breaks the contract: refuse, don't store forever */

    if (ttl > 0) {
        store_lmdb_sweep_sometimes(s);
        rc = store_lmdb_put(s, key, value, len, ttl, only_absent);
        if (rc == MDB_MAP_FULL && store_lmdb_sweep(s) == 0)
            rc = store_lmdb_put(s, key, value, len, ttl, only_absent);
    }
    if (rc != 0 && rc != MDB_KEYEXIST)
        log_error("lmdb store: %s: %s", only_absent ? "add" : "set", mdb_strerror(rc));
    if (cb)
        cb(arg, rc == 0 ? 0 : rc == MDB_KEYEXIST ? 1 : -1);
}

static struct store_op *store_lmdb_set(struct store *base, const char *key, const void *value,
                                       size_t len, unsigned ttl, store_done_cb cb, void *arg)
{
    store_lmdb_store((struct store_lmdb *)base, key, value, len, ttl, 0, cb, arg);
    return NULL;
}

static struct store_op *store_lmdb_add(struct store *base, const char *key, const void *value,
                                       size_t len, unsigned ttl, store_done_cb cb, void *arg)
{
    store_lmdb_store((struct store_lmdb *)base, key, value, len, ttl, 1, cb, arg);
    return NULL;
}

static struct store_op *store_lmdb_del(struct store *base, const char *key, store_done_cb cb,
                                       void *arg)
{
    struct store_lmdb *s = (struct store_lmdb *)base;
    int rc;

    store_lmdb_sweep_sometimes(s);
    /* even a delete needs free pages (copy-on-write) in a full map */
    rc = store_lmdb_remove(s, key, 0);
    if (rc == MDB_MAP_FULL && store_lmdb_sweep(s) == 0)
        rc = store_lmdb_remove(s, key, 0);
    if (rc != 0)
        log_error("lmdb store: del: %s", mdb_strerror(rc));
    if (cb)
        cb(arg, rc == 0 ? 0 : -1);
    return NULL;
}

/* Every call answers at once and returns NULL, so there is never an
 * operation to forget. */
static void store_lmdb_cancel(struct store *base, struct store_op *op)
{
    (void)base;
    (void)op;
}

static void store_lmdb_close(struct store *base)
{
    struct store_lmdb *s = (struct store_lmdb *)base;

    mdb_env_close(s->env);
    free(s);
}

static const struct store_vt store_lmdb_vt = {
    store_lmdb_get, store_lmdb_set,    store_lmdb_add,
    store_lmdb_del, store_lmdb_cancel, store_lmdb_close,
};

/* Open the main database once; the handle stays valid for the environment. */
static int store_lmdb_dbi(struct store_lmdb *s)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);

    if (rc != 0)
        return rc;
    rc = mdb_dbi_open(txn, NULL, 0, &s->dbi);
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

static int store_lmdb_env(struct store_lmdb *s, const char *dir, size_t map_size, char *err,
                          size_t errlen)
{
    const char *what = "mdb_env_create";
    int dead, rc = mdb_env_create(&s->env);

    if (rc == 0) {
        what = "mdb_env_set_mapsize";
        rc = mdb_env_set_mapsize(s->env, map_size);
    }
    if (rc == 0) {
        what = "mdb_env_open";
        rc = mdb_env_open(s->env, dir, STORE_LMDB_FLAGS, 0600);
    }
    if (rc == 0) {
        /* free the reader slots of crashed workers, which would otherwise
         * pin old pages and let the file grow */
        mdb_reader_check(s->env, &dead);
        what = "mdb_dbi_open";
        rc = store_lmdb_dbi(s);
    }
    if (rc == 0)
        return 0;
    snprintf(err, errlen, "lmdb store %s: %s: %s", dir, what, mdb_strerror(rc));
    if (s->env)
        mdb_env_close(s->env);
    return -1;
}

struct store *store_lmdb_open(const char *dir, size_t map_size, char *err, size_t errlen)
{
    struct store_lmdb *s;

    if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
        snprintf(err, errlen, "lmdb store %s: mkdir: %s", dir, strerror(errno));
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "lmdb store %s: out of memory", dir);
        return NULL;
    }
    s->base.vt = &store_lmdb_vt;
    if (store_lmdb_env(s, dir, map_size ? map_size : STORE_LMDB_MAP_DEFAULT, err, errlen) == -1) {
        free(s);
        return NULL;
    }
    return &s->base;
}
