/*
 * test_store_lmdb.c - src/store_lmdb.c through the store.h calls: round
 * trips, expiry, sharing between handles and processes, a full map.
 *
 * Each test works in its own folder under /tmp. Expiry needs real time to
 * pass, so the one test that waits does so once (2 s) for everything.
 */
#include <CUnit/Basic.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store.h"

/* The store logs its errors; keep the last line to check it. */
static char last_log[512];

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;

    (void)level;
    va_start(ap, fmt);
    vsnprintf(last_log, sizeof(last_log), fmt, ap);
    va_end(ap);
}

struct got {
    int calls, status;
    char value[1024];
    size_t len;
};

struct done {
    int calls, status;
};

static void on_get(void *arg, int status, const char *value, size_t len)
{
    struct got *g = arg;

    g->calls++;
    g->status = status;
    g->len = len;
    if (status == 0 && len <= sizeof(g->value))
        memcpy(g->value, value, len);
}

static void on_done(void *arg, int status)
{
    struct done *d = arg;

    d->calls++;
    d->status = status;
}

static char *tmpdir(void)
{
    char *dir = strdup("/tmp/gale-store-XXXXXX");

    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    return dir;
}

static void rmdir_store(char *dir)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
    free(dir);
}

static struct store *open_store(const char *dir, size_t map_size)
{
    char err[256] = "";
    struct store *s = store_lmdb_open(dir, map_size, err, sizeof(err));

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_STRING_EQUAL(err, "");
    return s;
}

/* get key; returns the status, the value in g */
static int get(struct store *s, const char *key, struct got *g)
{
    memset(g, 0, sizeof(*g));
    CU_ASSERT_PTR_NULL(store_get(s, key, on_get, g));
    CU_ASSERT_EQUAL(g->calls, 1);
    return g->status;
}

static int set(struct store *s, const char *key, const void *value, size_t len, unsigned ttl)
{
    struct done d = {0, 42};

    CU_ASSERT_PTR_NULL(store_set(s, key, value, len, ttl, on_done, &d));
    CU_ASSERT_EQUAL(d.calls, 1);
    return d.status;
}

static int del(struct store *s, const char *key)
{
    struct done d = {0, 42};

    CU_ASSERT_PTR_NULL(store_del(s, key, on_done, &d));
    CU_ASSERT_EQUAL(d.calls, 1);
    return d.status;
}

static int has(struct store *s, const char *key, const char *value)
{
    struct got g;

    return get(s, key, &g) == 0 && g.len == strlen(value) && memcmp(g.value, value, g.len) == 0;
}

/* entries in the file, expired ones included, seen through LMDB itself */
static size_t entries(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_stat st = {0};

    CU_ASSERT_EQUAL_FATAL(mdb_env_create(&env), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_env_open(env, dir, MDB_RDONLY, 0600), 0);
    CU_ASSERT_EQUAL_FATAL(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    mdb_stat(txn, 1, &st); /* the main database is dbi 1 */
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return st.ms_entries;
}

static void test_round_trip(void)
{
    char *dir = tmpdir();
    struct store *s = open_store(dir, 0);
    struct got g;

    CU_ASSERT_EQUAL(set(s, "sid1", "hello", 5, 60), 0);
    CU_ASSERT(has(s, "sid1", "hello"));
    CU_ASSERT_EQUAL(del(s, "sid1"), 0);
    CU_ASSERT_EQUAL(get(s, "sid1", &g), 1);
    CU_ASSERT_EQUAL(del(s, "sid1"), 0); /* absent: still done */
    /* NULL callbacks are allowed on writes */
    CU_ASSERT_PTR_NULL(store_set(s, "sid2", "x", 1, 60, NULL, NULL));
    CU_ASSERT(has(s, "sid2", "x"));
    CU_ASSERT_PTR_NULL(store_del(s, "sid2", NULL, NULL));
    CU_ASSERT_EQUAL(get(s, "sid2", &g), 1);
    store_cancel(NULL);
    store_close(s);
    rmdir_store(dir);
}

static void test_binary_and_empty(void)
{
    static const char bin[] = {'a', 0, 'b', 0, 0, (char)0xff, 'c'};
    char *dir = tmpdir();
    struct store *s = open_store(dir, 0);
    struct got g;

    CU_ASSERT_EQUAL(set(s, "bin", bin, sizeof(bin), 60), 0);
    CU_ASSERT_EQUAL(get(s, "bin", &g), 0);
    CU_ASSERT_EQUAL(g.len, sizeof(bin));
    CU_ASSERT_EQUAL(memcmp(g.value, bin, sizeof(bin)), 0);
    CU_ASSERT_EQUAL(set(s, "empty", "", 0, 60), 0);
    CU_ASSERT_EQUAL(get(s, "empty", &g), 0);
    CU_ASSERT_EQUAL(g.len, 0);
    store_close(s);
    rmdir_store(dir);
}

static void test_absent_and_overwrite(void)
{
    char *dir = tmpdir();
    struct store *s = open_store(dir, 0);
    struct got g;

    CU_ASSERT_EQUAL(get(s, "nope", &g), 1);
    CU_ASSERT_EQUAL(g.len, 0);
    CU_ASSERT_EQUAL(set(s, "k", "one", 3, 60), 0);
    CU_ASSERT_EQUAL(set(s, "k", "a longer value", 14, 60), 0);
    CU_ASSERT(has(s, "k", "a longer value"));
    CU_ASSERT_EQUAL(set(s, "k", "z", 1, 60), 0);
    CU_ASSERT(has(s, "k", "z"));
    CU_ASSERT_EQUAL(entries(dir), 1);
    store_close(s);
    rmdir_store(dir);
}

/* Two workers' handles on one folder (two environments in one process
 * stand in for them here). */
static void test_two_handles(void)
{
    char *dir = tmpdir();
    struct store *a = open_store(dir, 0), *b = open_store(dir, 0);
    struct got g;

    CU_ASSERT_EQUAL(set(a, "shared", "from a", 6, 60), 0);
    CU_ASSERT(has(b, "shared", "from a"));
    CU_ASSERT_EQUAL(set(b, "shared", "from b", 6, 60), 0);
    CU_ASSERT(has(a, "shared", "from b"));
    CU_ASSERT_EQUAL(del(b, "shared"), 0);
    CU_ASSERT_EQUAL(get(a, "shared", &g), 1);
    store_close(b);
    store_close(a);
    rmdir_store(dir);
}

/* A forked worker opens its own environment, writes, and exits; the
 * parent, whose environment was open all along, sees the write. */
static void test_fork(void)
{
    char *dir = tmpdir();
    struct store *s = open_store(dir, 0);
    int wstatus = -1;
    pid_t pid;

    CU_ASSERT_EQUAL(set(s, "before", "p", 1, 60), 0);
    pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char err[256];
        struct store *c = store_lmdb_open(dir, 0, err, sizeof(err));
        struct done d = {0, -1};

        if (c)
            store_set(c, "child", "written by child", 16, 60, on_done, &d);
        store_close(c);
        _exit(c && d.calls == 1 && d.status == 0 ? 0 : 1);
    }
    CU_ASSERT_EQUAL(waitpid(pid, &wstatus, 0), pid);
    CU_ASSERT(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    CU_ASSERT(has(s, "child", "written by child"));
    CU_ASSERT(has(s, "before", "p"));
    store_close(s);
    rmdir_store(dir);
}

/* Fill a 64 KiB map with entries that live 1 s, up to the first write
 * that does not fit; returns its number, its key in key. */
static int fill(struct store *s, char *key, size_t keylen, char *value, size_t len)
{
    int n;

    for (n = 0; n < 1000; n++) {
        snprintf(key, keylen, "fill%d", n);
        if (set(s, key, value, len, 1) != 0)
            break;
    }
    return n;
}

/* Expiry, lazy deletion and the full map's sweep share the one wait. */
static void test_expiry_and_map_full(void)
{
    char *dir = tmpdir(), *tiny_dir = tmpdir(), value[500], key[32];
    struct store *s = open_store(dir, 0), *tiny = open_store(tiny_dir, 64 << 10);
    struct got g;
    int n;

    memset(value, 'v', sizeof(value));
    CU_ASSERT_EQUAL(set(s, "short", "gone soon", 9, 1), 0);
    CU_ASSERT_EQUAL(set(s, "long", "stays", 5, 3600), 0);
    CU_ASSERT(has(s, "short", "gone soon"));
    last_log[0] = '\0';
    n = fill(tiny, key, sizeof(key), value, sizeof(value));
    CU_ASSERT(n > 10 && n < 1000);
    CU_ASSERT_PTR_NOT_NULL(strstr(last_log, "MDB_MAP_FULL"));
    /* nothing has expired yet: the sweep finds no room, the same again */
    CU_ASSERT_EQUAL(set(tiny, key, value, sizeof(value), 3600), -1);

    sleep(2);

    CU_ASSERT_EQUAL(entries(dir), 2);
    CU_ASSERT_EQUAL(get(s, "short", &g), 1);
    CU_ASSERT_EQUAL(entries(dir), 1); /* deleted by the get */
    CU_ASSERT(has(s, "long", "stays"));
    /* the same write, still too big for the full map, now makes it sweep
     * the expired fillers and then fits */
    CU_ASSERT_EQUAL(set(tiny, key, value, sizeof(value), 3600), 0);
    CU_ASSERT_EQUAL(entries(tiny_dir), 1);
    CU_ASSERT_EQUAL(get(tiny, "fill0", &g), 1);
    CU_ASSERT_EQUAL(get(tiny, key, &g), 0);
    CU_ASSERT_EQUAL(g.len, sizeof(value));
    store_close(tiny);
    store_close(s);
    rmdir_store(tiny_dir);
    rmdir_store(dir);
}

static void test_errors(void)
{
    char *dir = tmpdir(), path[300], err[512] = "", longkey[600];
    struct store *s;
    struct got g;
    FILE *f;

    /* a folder below a plain file cannot be made, even by root */
    snprintf(path, sizeof(path), "%s/file", dir);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/file/store", dir);
    CU_ASSERT_PTR_NULL(store_lmdb_open(path, 0, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "Not a directory"));
    /* the folder is a plain file: mdb_env_open fails */
    snprintf(path, sizeof(path), "%s/file", dir);
    err[0] = '\0';
    CU_ASSERT_PTR_NULL(store_lmdb_open(path, 0, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "mdb_env_open"));
    unlink(path);

    s = open_store(dir, 0);
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    /* over LMDB's 511: cannot be stored, so it is never found */
    CU_ASSERT_EQUAL(set(s, longkey, "x", 1, 60), -1);
    CU_ASSERT_EQUAL(get(s, longkey, &g), 1);
    CU_ASSERT_EQUAL(del(s, longkey), 0);
    CU_ASSERT_EQUAL(set(s, "", "x", 1, 60), -1);
    CU_ASSERT_EQUAL(set(s, "k", "x", 1, 0), -1); /* ttl must be > 0 */
    CU_ASSERT_EQUAL(get(s, "k", &g), 1);
    store_close(s);
    rmdir_store(dir);
}

static int add(struct store *s, const char *key, const char *value, unsigned ttl)
{
    struct done d = {0, 42};

    CU_ASSERT_PTR_NULL(store_add(s, key, value, strlen(value), ttl, on_done, &d));
    CU_ASSERT_EQUAL(d.calls, 1);
    return d.status;
}

/* add writes only what is absent (1 otherwise, the value kept), through
 * any handle, and again once the key is gone. */
static void test_add(void)
{
    char *dir = tmpdir();
    struct store *a = open_store(dir, 0), *b = open_store(dir, 0);

    CU_ASSERT_EQUAL(add(a, "once", "first", 60), 0);
    CU_ASSERT_EQUAL(add(a, "once", "second", 60), 1);
    CU_ASSERT_EQUAL(add(b, "once", "third", 60), 1);
    CU_ASSERT(has(b, "once", "first"));
    CU_ASSERT_EQUAL(del(b, "once"), 0);
    CU_ASSERT_EQUAL(add(a, "once", "again", 60), 0);
    CU_ASSERT(has(a, "once", "again"));
    CU_ASSERT_EQUAL(add(a, "k", "x", 0), -1); /* ttl must be > 0 */
    CU_ASSERT_PTR_NULL(store_add(a, "nocb", "x", 1, 60, NULL, NULL));
    CU_ASSERT(has(a, "nocb", "x"));
    store_close(b);
    store_close(a);
    rmdir_store(dir);
}

#define RACERS 8

/* RACERS processes (workers) released at once add the same key: exactly
 * one writes it. */
static void test_add_race(void)
{
    char *dir = tmpdir();
    int go[2], won = 0, lost = 0, wstatus;
    pid_t pids[RACERS];

    CU_ASSERT_FATAL(pipe(go) == 0);
    for (int i = 0; i < RACERS; i++) {
        pids[i] = fork();
        CU_ASSERT_FATAL(pids[i] >= 0);
        if (pids[i] == 0) {
            char err[256], c;
            struct store *s = store_lmdb_open(dir, 0, err, sizeof(err));
            struct done d = {0, -1};

            close(go[1]);
            if (read(go[0], &c, 1) != 0 || !s) /* EOF: the parent let go */
                _exit(2);
            store_add(s, "state", "used", 4, 60, on_done, &d);
            store_close(s);
            _exit(d.calls == 1 && d.status >= 0 ? d.status : 2);
        }
    }
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < RACERS; i++) {
        CU_ASSERT_EQUAL(waitpid(pids[i], &wstatus, 0), pids[i]);
        won += WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
        lost += WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 1;
    }
    CU_ASSERT_EQUAL(won, 1);
    CU_ASSERT_EQUAL(lost, RACERS - 1);
    rmdir_store(dir);
}

int main(void)
{
    CU_pSuite suite;
    int failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    suite = CU_add_suite("store_lmdb", NULL, NULL);
    CU_add_test(suite, "set, get, del", test_round_trip);
    CU_add_test(suite, "binary and empty values", test_binary_and_empty);
    CU_add_test(suite, "absent key, overwrite", test_absent_and_overwrite);
    CU_add_test(suite, "two handles on one folder", test_two_handles);
    CU_add_test(suite, "a forked child writes", test_fork);
    CU_add_test(suite, "expiry and a full map", test_expiry_and_map_full);
    CU_add_test(suite, "errors", test_errors);
    CU_add_test(suite, "add: only what is absent", test_add);
    CU_add_test(suite, "add: one of racing processes wins", test_add_race);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
