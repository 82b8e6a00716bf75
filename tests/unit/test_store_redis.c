/*
 * test_store_redis.c - the Redis session store against real redis-server
 * processes on free loopback ports: round trips, binary values, expiry,
 * prefix and db, cancel and close, two instances, AUTH, and a server killed
 * and restarted under a live store. Skipped when redis-server is missing.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "core/log.h"
#include "store/store.h"

#define PASSWORD "s3cret pass"
#define PREFIX "gale:test:"

struct server {
    pid_t pid;
    int port;
};

struct result {
    int calls;
    int status;
    size_t len;
    char value[64];
};

/* The store logs through gale's log_msg; here, to stderr. */
void log_msg(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static struct event_base *base;
static struct server plain;  /* no password; most tests */
static struct server locked; /* --requirepass */

static int have_redis_server(void)
{
    const char *path = getenv("PATH");
    char dir[4096];

    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(dir, sizeof(dir), "%.*s/redis-server", (int)n, path);
        if (access(dir, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

static int free_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(sin.sin_port);
}

static int accepts(int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int ok;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void exec_redis(int port, const char *password)
{
    char p[16];
    int null = open("/dev/null", O_WRONLY);

    snprintf(p, sizeof(p), "%d", port);
    dup2(null, 1);
    dup2(null, 2);
    execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", "--daemonize", "no", password ? "--requirepass" : NULL, password,
           (char *)NULL);
    _exit(127);
}

/* Start redis-server on srv->port and wait (up to 5 s) until it accepts. */
static int server_start(struct server *srv, const char *password)
{
    if ((srv->pid = fork()) < 0)
        return -1;
    if (srv->pid == 0)
        exec_redis(srv->port, password);
    for (int i = 0; i < 250; i++) {
        if (accepts(srv->port))
            return 0;
        if (waitpid(srv->pid, NULL, WNOHANG) == srv->pid)
            break;
        usleep(20000);
    }
    srv->pid = 0;
    return -1;
}

static void server_stop(struct server *srv)
{
    if (srv->pid > 0) {
        kill(srv->pid, SIGKILL);
        waitpid(srv->pid, NULL, 0);
    }
    srv->pid = 0;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

/* Run the loop until *count reaches want or ms pass; 0 when reached. */
static int run_until(const int *count, int want, int ms)
{
    const struct timeval every = {0, 10000};
    struct event *ev = event_new(base, -1, EV_PERSIST, tick, NULL);
    double end = now() + ms / 1000.0;

    event_add(ev, &every);
    while (*count < want && now() < end)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(ev);
    return *count >= want ? 0 : -1;
}

static void run_for(int ms)
{
    int never = 0;

    run_until(&never, 1, ms);
}

static void on_get(void *arg, int status, const char *value, size_t len)
{
    struct result *r = arg;

    r->calls++;
    r->status = status;
    r->len = len;
    if (value && len <= sizeof(r->value))
        memcpy(r->value, value, len);
}

static void on_done(void *arg, int status)
{
    struct result *r = arg;

    r->calls++;
    r->status = status;
}

static struct store *open_store(int port, const char *password, int db, const char *prefix)
{
    struct store_redis_conf conf = {"127.0.0.1", port, password, db, prefix};
    char err[256] = "";
    struct store *s = store_redis_open(base, &conf, err, sizeof(err));

    if (!s)
        fprintf(stderr, "store_redis_open: %s\n", err);
    return s;
}

/* Synchronous wrappers: the status, or -2 when no answer came in 2 s. */
static int sync_set(struct store *s, const char *key, const void *value, size_t len, unsigned ttl)
{
    struct result r = {0};

    store_set(s, key, value, len, ttl, on_done, &r);
    return run_until(&r.calls, 1, 2000) ? -2 : r.status;
}

static int sync_del(struct store *s, const char *key)
{
    struct result r = {0};

    store_del(s, key, on_done, &r);
    return run_until(&r.calls, 1, 2000) ? -2 : r.status;
}

static int sync_get(struct store *s, const char *key, struct result *r)
{
    memset(r, 0, sizeof(*r));
    store_get(s, key, on_get, r);
    return run_until(&r->calls, 1, 2000) ? -2 : r->status;
}

/* The raw value of key in db, through a blocking hiredis connection. */
static int raw_get(int port, int db, const char *key, char *out, size_t outlen)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    redisReply *r;
    int rc = -1;

    if (!c || c->err)
        goto done;
    if (db > 0)
        freeReplyObject(redisCommand(c, "SELECT %d", db));
    r = redisCommand(c, "GET %s", key);
    if (r && r->type == REDIS_REPLY_STRING && r->len < outlen) {
        memcpy(out, r->str, r->len + 1);
        rc = 0;
    } else if (r && r->type == REDIS_REPLY_NIL) {
        rc = 1;
    }
    freeReplyObject(r);
done:
    redisFree(c);
    return rc;
}

static void test_round_trip(void)
{
    struct store *s = open_store(plain.port, NULL, 0, PREFIX);
    struct result r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(sync_set(s, "sid 1", "hello", 5, 60), 0);
    CU_ASSERT_EQUAL(sync_get(s, "sid 1", &r), 0);
    CU_ASSERT_EQUAL(r.len, 5);
    CU_ASSERT_NSTRING_EQUAL(r.value, "hello", 5);
    CU_ASSERT_EQUAL(sync_set(s, "sid 1", "bye", 3, 60), 0);
    CU_ASSERT_EQUAL(sync_get(s, "sid 1", &r), 0);
    CU_ASSERT_EQUAL(r.len, 3);
    CU_ASSERT_EQUAL(sync_del(s, "sid 1"), 0);
    CU_ASSERT_EQUAL(sync_get(s, "sid 1", &r), 1);
    CU_ASSERT_EQUAL(sync_del(s, "sid 1"), 0); /* deleting an absent key is fine */
    store_close(s);
}

static void test_binary_value(void)
{
    static const char bin[] = {'a', 0, 'b', 0, (char)0xff, '\r', '\n', 0};
    struct store *s = open_store(plain.port, NULL, 0, PREFIX);
    struct result r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(sync_set(s, "bin", bin, sizeof(bin), 60), 0);
    CU_ASSERT_EQUAL(sync_get(s, "bin", &r), 0);
    CU_ASSERT_EQUAL(r.len, sizeof(bin));
    CU_ASSERT_EQUAL(memcmp(r.value, bin, sizeof(bin)), 0);
    CU_ASSERT_EQUAL(sync_set(s, "empty", "", 0, 60), 0);
    CU_ASSERT_EQUAL(sync_get(s, "empty", &r), 0);
    CU_ASSERT_EQUAL(r.len, 0);
    store_close(s);
}

/* add (SET NX) writes only what is absent; of two stores (two instances)
 * adding one key with both commands in flight, exactly one writes. */
static void test_add(void)
{
    struct store *a = open_store(plain.port, NULL, 0, PREFIX);
    struct store *b = open_store(plain.port, NULL, 0, PREFIX);
    struct result ra = {0}, rb = {0}, r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(sync_set(a, "warm", "x", 1, 60), 0); /* both connected */
    CU_ASSERT_EQUAL(sync_get(b, "warm", &r), 0);
    store_add(a, "state", "from a", 6, 60, on_done, &ra);
    store_add(b, "state", "from b", 6, 60, on_done, &rb);
    CU_ASSERT_EQUAL(run_until(&ra.calls, 1, 2000), 0);
    CU_ASSERT_EQUAL(run_until(&rb.calls, 1, 2000), 0);
    CU_ASSERT_EQUAL(ra.status + rb.status, 1); /* one 0, one 1 */
    CU_ASSERT(ra.status == 0 || ra.status == 1);
    CU_ASSERT_EQUAL(sync_get(a, "state", &r), 0);
    CU_ASSERT_NSTRING_EQUAL(r.value, ra.status == 0 ? "from a" : "from b", 6);
    CU_ASSERT_EQUAL(sync_del(a, "state"), 0);
    memset(&ra, 0, sizeof(ra));
    store_add(a, "state", "again", 5, 60, on_done, &ra);
    CU_ASSERT_EQUAL(run_until(&ra.calls, 1, 2000), 0);
    CU_ASSERT_EQUAL(ra.status, 0);
    CU_ASSERT_EQUAL(sync_del(a, "state"), 0);
    CU_ASSERT_EQUAL(sync_del(a, "warm"), 0);
    store_close(b);
    store_close(a);
}

static void test_absent_key(void)
{
    struct store *s = open_store(plain.port, NULL, 0, PREFIX);
    struct result r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(sync_get(s, "never-set", &r), 1);
    CU_ASSERT_EQUAL(r.len, 0);
    store_close(s);
}

static void test_ttl(void)
{
    struct store *s = open_store(plain.port, NULL, 0, PREFIX);
    struct result r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(sync_set(s, "short", "x", 1, 1), 0);
    CU_ASSERT_EQUAL(sync_set(s, "long", "y", 1, 60), 0);
    CU_ASSERT_EQUAL(sync_get(s, "short", &r), 0);
    run_for(1500);
    CU_ASSERT_EQUAL(sync_get(s, "short", &r), 1);
    CU_ASSERT_EQUAL(sync_get(s, "long", &r), 0);
    store_close(s);
}

/* The prefix is copied at open, applied to every key, and db is selected. */
static void test_prefix_and_db(void)
{
    char prefix[32] = "app7:";
    char raw[64] = "";
    struct store *s = open_store(plain.port, NULL, 0, prefix);
    struct store *s3 = open_store(plain.port, NULL, 3, prefix);

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s3);
    strcpy(prefix, "overwritten:");
    CU_ASSERT_EQUAL(sync_set(s, "k", "v0", 2, 60), 0);
    CU_ASSERT_EQUAL(sync_set(s3, "k", "v3", 2, 60), 0);
    CU_ASSERT_EQUAL(raw_get(plain.port, 0, "app7:k", raw, sizeof(raw)), 0);
    CU_ASSERT_STRING_EQUAL(raw, "v0");
    CU_ASSERT_EQUAL(raw_get(plain.port, 3, "app7:k", raw, sizeof(raw)), 0);
    CU_ASSERT_STRING_EQUAL(raw, "v3");
    CU_ASSERT_EQUAL(raw_get(plain.port, 0, "k", raw, sizeof(raw)), 1);
    CU_ASSERT_EQUAL(raw_get(plain.port, 0, "overwritten:k", raw, sizeof(raw)), 1);
    store_close(s);
    store_close(s3);
}

/* A cancelled callback never runs; ASan's leak check sees the op freed. */
static void test_cancel(void)
{
    struct store *s = open_store(plain.port, NULL, 0, PREFIX);
    struct result gone = {0}, gone2 = {0}, after = {0};
    struct store_op *op;

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    op = store_get(s, "c", on_get, &gone);
    CU_ASSERT_PTR_NOT_NULL(op);
    store_cancel(op);
    store_cancel(store_set(s, "c", "1", 1, 60, on_done, &gone2));
    store_cancel(NULL);
    store_get(s, "c", on_get, &after);
    CU_ASSERT_EQUAL(run_until(&after.calls, 1, 2000), 0);
    CU_ASSERT_EQUAL(after.status, 0); /* the cancelled SET was still sent */
    CU_ASSERT_EQUAL(gone.calls, 0);
    CU_ASSERT_EQUAL(gone2.calls, 0);
    store_close(s);
}

/* Closing cancels what is pending, before any reply came. */
static void test_close_pending(void)
{
    struct store *s = open_store(plain.port, NULL, 0, PREFIX);
    struct result r1 = {0}, r2 = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    store_get(s, "p", on_get, &r1);
    store_set(s, "p", "x", 1, 60, on_done, &r2);
    store_close(s);
    run_for(100);
    CU_ASSERT_EQUAL(r1.calls, 0);
    CU_ASSERT_EQUAL(r2.calls, 0);
}

static struct store *closing;

static void on_get_close(void *arg, int status, const char *value, size_t len)
{
    on_get(arg, status, value, len);
    store_close(closing);
}

/* A callback may close its store while hiredis is delivering replies. */
static void test_close_in_callback(void)
{
    struct result r1 = {0}, r2 = {0};

    closing = open_store(plain.port, NULL, 0, PREFIX);
    CU_ASSERT_PTR_NOT_NULL_FATAL(closing);
    store_get(closing, "q", on_get_close, &r1);
    store_get(closing, "q", on_get, &r2);
    CU_ASSERT_EQUAL(run_until(&r1.calls, 1, 2000), 0);
    run_for(100);
    CU_ASSERT_EQUAL(r1.calls, 1);
    CU_ASSERT_EQUAL(r2.calls, 0);
}

/* Two instances of gale share sessions through one Redis. */
static void test_two_stores(void)
{
    struct store *a = open_store(plain.port, NULL, 0, PREFIX);
    struct store *b = open_store(plain.port, NULL, 0, PREFIX);
    struct result r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(sync_set(a, "shared", "from a", 6, 60), 0);
    CU_ASSERT_EQUAL(sync_get(b, "shared", &r), 0);
    CU_ASSERT_NSTRING_EQUAL(r.value, "from a", 6);
    CU_ASSERT_EQUAL(sync_del(b, "shared"), 0);
    CU_ASSERT_EQUAL(sync_get(a, "shared", &r), 1);
    store_close(a);
    store_close(b);
}

static void test_password(void)
{
    struct store *good = open_store(locked.port, PASSWORD, 2, PREFIX);
    struct store *none = open_store(locked.port, NULL, 0, PREFIX);
    struct store *bad = open_store(locked.port, "wrong", 0, PREFIX);
    struct result r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(good);
    CU_ASSERT_PTR_NOT_NULL_FATAL(none);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    CU_ASSERT_EQUAL(sync_set(good, "a", "ok", 2, 60), 0);
    CU_ASSERT_EQUAL(sync_get(good, "a", &r), 0);
    CU_ASSERT_NSTRING_EQUAL(r.value, "ok", 2);
    CU_ASSERT_EQUAL(sync_get(none, "a", &r), -1);
    CU_ASSERT_EQUAL(sync_set(bad, "a", "no", 2, 60), -1);
    store_close(good);
    store_close(none);
    store_close(bad);
}

static void test_open_rejects_bad_conf(void)
{
    struct store_redis_conf conf = {"127.0.0.1", 0, NULL, 0, NULL};
    char err[128] = "";

    CU_ASSERT_PTR_NULL(store_redis_open(base, &conf, err, sizeof(err)));
    CU_ASSERT_NOT_EQUAL(err[0], '\0');
    conf.port = 70000;
    CU_ASSERT_PTR_NULL(store_redis_open(base, &conf, err, sizeof(err)));
    conf.host = NULL;
    conf.port = 6379;
    CU_ASSERT_PTR_NULL(store_redis_open(base, &conf, NULL, 0));
}

/* Kill the server under a live store: pending and new operations fail; a
 * server restarted on the same port is found again by the retry timer. */
static void test_reconnect(void)
{
    struct server srv = {0, free_port()};
    struct result p1 = {0}, p2 = {0}, now1 = {0}, r;
    struct store *s;
    struct store_op *op;
    int ok = -1;

    CU_ASSERT_FATAL(srv.port > 0 && server_start(&srv, NULL) == 0);
    s = open_store(srv.port, NULL, 0, PREFIX);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(sync_set(s, "r", "before", 6, 60), 0);

    store_get(s, "r", on_get, &p1);
    store_set(s, "r", "lost", 4, 60, on_done, &p2);
    server_stop(&srv);
    CU_ASSERT_EQUAL(run_until(&p2.calls, 1, 2000), 0);
    CU_ASSERT_EQUAL(p1.calls, 1);
    CU_ASSERT_EQUAL(p1.status, -1);
    CU_ASSERT_EQUAL(p2.status, -1);

    op = store_get(s, "r", on_get, &now1);
    CU_ASSERT_PTR_NULL(op);
    CU_ASSERT_EQUAL(now1.calls, 1); /* answered before store_get returned */
    CU_ASSERT_EQUAL(now1.status, -1);
    run_for(1200); /* a retry fails against the dead port */

    CU_ASSERT_FATAL(server_start(&srv, NULL) == 0);
    for (int i = 0; i < 40 && ok != 0; i++) {
        ok = sync_set(s, "r", "after", 5, 60);
        if (ok != 0)
            run_for(100);
    }
    CU_ASSERT_EQUAL(ok, 0);
    CU_ASSERT_EQUAL(sync_get(s, "r", &r), 0);
    CU_ASSERT_NSTRING_EQUAL(r.value, "after", 5);
    store_close(s);
    server_stop(&srv);
}

static int suite_init(void)
{
    plain.port = free_port();
    if (plain.port < 0 || server_start(&plain, NULL) < 0)
        return -1;
    locked.port = free_port();
    if (locked.port < 0 || server_start(&locked, PASSWORD) < 0)
        return -1;
    return 0;
}

static int suite_clean(void)
{
    server_stop(&plain);
    server_stop(&locked);
    return 0;
}

static const struct {
    const char *name;
    CU_TestFunc fn;
} tests[] = {
    {"round trip", test_round_trip},
    {"binary value", test_binary_value},
    {"absent key", test_absent_key},
    {"ttl", test_ttl},
    {"prefix and db", test_prefix_and_db},
    {"add", test_add},
    {"cancel", test_cancel},
    {"close with pending ops", test_close_pending},
    {"close in a callback", test_close_in_callback},
    {"two stores", test_two_stores},
    {"password", test_password},
    {"open rejects a bad conf", test_open_rejects_bad_conf},
    {"reconnect", test_reconnect},
};

int main(void)
{
    CU_pSuite suite;
    unsigned failed;

    if (!have_redis_server()) {
        printf("test_store_redis: redis-server not installed, skipped\n");
        return 0;
    }
    signal(SIGPIPE, SIG_IGN); /* as the worker does: hiredis writes with write(2) */
    base = event_base_new();
    if (!base || CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    suite = CU_add_suite("store_redis", suite_init, suite_clean);
    for (size_t i = 0; suite && i < sizeof(tests) / sizeof(tests[0]); i++)
        CU_add_test(suite, tests[i].name, tests[i].fn);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    suite_clean(); /* CUnit skips it when suite_init failed half-way */
    event_base_free(base);
    return failed ? 1 : 0;
}
