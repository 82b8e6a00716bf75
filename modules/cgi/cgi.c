/*
 * cgi.c - routes that run CGI programs (RFC 3875), php-cgi among them: the
 * URL below the route's prefix names a script inside its root (the rest is
 * PATH_INFO), which runs (or `program` runs it) with the request body on
 * its stdin and the meta-variables in its environment; its answer's head
 * sets the status and headers, its body is streamed to the client as it
 * comes, at the client's pace. A program that prints no head, fails or
 * cannot start gets 502, one that runs past its timeout 504.
 *
 *     { path = "/php/.*"; handler = "cgi"; xsrf = false;
 *       settings = { prefix = "/php/"; root = "/srv/php";
 *                    program = "/usr/bin/php-cgi"; index = "index.php"; }; }
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgi.h"

#define CGI_HEAD_MAX 65536 /* bytes of an answer's head */
#define CGI_REDIRECTS 5    /* local redirects followed for one request */

static const char *cgi_setting(gale_request *r, const char *name)
{
    return json_string_value(json_object_get(gale_request_route_settings(r), name));
}

/* The URL path of uri (up to '?'), percent-decoded; NULL when it holds a
 * NUL or a bad escape. */
static char *cgi_decode(gale_request *r, const char *uri)
{
    size_t n = strcspn(uri, "?");
    char *out = gale_request_alloc(r, n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (uri[i] != '%') {
            *o++ = uri[i];
            continue;
        }
        char hex[3] = {0};
        if (i + 2 >= n)
            return NULL;
        memcpy(hex, uri + i + 1, 2);
        char *end;
        char c = (char)strtol(hex, &end, 16);
        if (end != hex + 2)
            return NULL;
        if (!c)
            return NULL;
        *o++ = c;
        i += 2;
    }
    *o = 0;
    return out;
}

/* Whether file (resolved) lies inside root (resolved): no symlink leads out. */
static int cgi_inside(const char *root, const char *file)
{
    char real[PATH_MAX];
    size_t n = strlen(root);
    return realpath(file, real) && !strncmp(real, root, n) && real[n] == '/';
}

/* A segment that may name a file: not empty, not ".", "..", nor hidden. */
static int cgi_segment_ok(const char *seg, size_t len)
{
    return len > 0 && seg[0] != '.';
}

/* realpath(where) into root, remembering the last answer: a route's root is
 * the same folder at every request, and resolving it took a readlink per
 * component each time (the worker is one process on one thread; a reload
 * starts new workers, which resolve it again). */
static int cgi_root(const char *where, char *root)
{
    static char last_where[PATH_MAX], last_root[PATH_MAX];
    if (last_where[0] && !strcmp(where, last_where)) {
        memcpy(root, last_root, strlen(last_root) + 1);
        return 0;
    }
    if (!realpath(where, root))
        return -1;
    if (strlen(where) < sizeof(last_where)) {
        memcpy(last_where, where, strlen(where) + 1);
        memcpy(last_root, root, strlen(root) + 1);
    }
    return 0;
}

static char *cgi_strndup(gale_request *r, const char *s, size_t n)
{
    char *out = gale_request_alloc(r, n + 1);
    memcpy(out, s, n);
    out[n] = 0;
    return out;
}

/* stat(path), noting in *linked when path itself is a symbolic link. */
static int cgi_stat(const char *path, struct stat *st, int *linked)
{
    if (lstat(path, st) < 0)
        return -1;
    if (!S_ISLNK(st->st_mode))
        return 0;
    *linked = 1;
    return stat(path, st);
}

/* The script t->uri names below the prefix, walking the folders of root
 * from the left: the first regular file is the script, the rest PATH_INFO.
 * 0, or -1 (404). */
int cgi_resolve(gale_request *r, struct cgi_target *t)
{
    const char *prefix = cgi_setting(r, "prefix"), *index = cgi_setting(r, "index");
    char root[PATH_MAX];
    char *path = cgi_decode(r, t->uri);
    const char *where = gale_request_config_path(r, cgi_setting(r, "root"));
    if (!prefix || !path || !where || cgi_root(where, root) < 0 ||
        strncmp(path, prefix, strlen(prefix)))
        return -1;
    t->root = gale_request_strdup(r, root);
    char *cur = gale_request_strdup(r, root);
    const char *rest = path + strlen(prefix);
    struct stat st;
    /* root is resolved and no segment is "." or "..": only a symbolic link
     * met on the way could lead out, and only then is the whole checked */
    int linked = 0;
    for (;;) {
        while (*rest == '/')
            rest++;
        size_t len = strcspn(rest, "/");
        if (!len && index && *index) {
            cur = cgi_cat(r, cur, "/", index, NULL);
            if (cgi_stat(cur, &st, &linked) < 0 || !S_ISREG(st.st_mode))
                return -1;
            break;
        }
        if (!cgi_segment_ok(rest, len))
            return -1;
        cur = cgi_cat(r, cur, "/", cgi_strndup(r, rest, len), NULL);
        rest += len;
        if (cgi_stat(cur, &st, &linked) < 0)
            return -1;
        if (S_ISREG(st.st_mode))
            break;
        if (!S_ISDIR(st.st_mode))
            return -1;
    }
    if (linked && !cgi_inside(root, cur))
        return -1;
    t->script = cur;
    t->script_name = cgi_strndup(r, path, (size_t)(rest - path));
    t->path_info = rest;
    return 0;
}

void cgi_fail(struct cgi_run *run, int status, const char *what)
{
    gale_log(GALE_LOG_ERROR, "cgi %s: %s", run->t.script ? run->t.script : "?", what);
    run->failed = 1;
    gale_response_error(run->r, status, what); /* frees r and run: touch neither after */
}

static void cgi_drained(gale_request *r, void *arg)
{
    struct cgi_run *run = arg;
    run->flushing = 0;
    run->pause(run, 0);
}

void cgi_flush(struct cgi_run *run)
{
    if (!run->unflushed)
        return;
    run->unflushed = 0;
    if (!run->flushing && !gale_request_aborted(run->r) &&
        gale_response_flush_then(run->r, cgi_drained, run) == 0) {
        run->flushing = 1;
        run->pause(run, 1);
    }
}

/* Body bytes: to the client, reading no more until they are written (with
 * flush_later, once the caller has handed over all it had). */
static void cgi_body(struct cgi_run *run, const char *data, size_t len)
{
    if (!len || run->local)
        return;
    gale_response_write(run->r, data, len);
    run->unflushed = 1;
    if (!run->flush_later)
        cgi_flush(run);
}

static void cgi_head(struct cgi_run *run, size_t end)
{
    const char *why = NULL;
    char *local = NULL;
    size_t have = run->head_len;
    char *rest = run->head + end;
    int rc = cgi_head_apply(run->r, run->head, end - 1, &local, &why);
    run->head_done = 1;
    if (rc < 0)
        return cgi_fail(run, 502, why);
    if (rc == 1) {
        run->local = gale_request_strdup(run->r, local);
        gale_response_remove_header(run->r, "Location");
        return;
    }
    cgi_body(run, rest, have - end);
}

void cgi_output(struct cgi_run *run, const char *data, size_t len)
{
    if (run->failed)
        return;
    if (run->head_done)
        return cgi_body(run, data, len);
    if (run->head_len + len > CGI_HEAD_MAX)
        return cgi_fail(run, 502, "a head longer than 64 KiB"); /* ends the program */
    run->head = realloc(run->head, run->head_len + len + 1);
    if (!run->head)
        abort();
    memcpy(run->head + run->head_len, data, len);
    run->head_len += len;
    size_t end = cgi_head_end(run->head, run->head_len);
    if (end)
        cgi_head(run, end);
}

static void cgi_stdout(gale_process *p, void *arg, const char *data, size_t len)
{
    cgi_output(arg, data, len);
}

void cgi_log_stderr(struct cgi_run *run, const char *data, size_t len)
{
    while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    gale_log(GALE_LOG_WARN, "cgi %s: %.*s", run->t.script, (int)len, data);
}

static void cgi_stderr(gale_process *p, void *arg, const char *data, size_t len)
{
    cgi_log_stderr(arg, data, len);
}

static void cgi_pause(struct cgi_run *run, int paused)
{
    gale_process_pause(run->p, paused);
}

static void cgi_exit(gale_process *p, void *arg, int code, int why)
{
    struct cgi_run *run = arg;
    run->p = NULL;
    if (why == GALE_PROCESS_FLOODED && run->head_done && !run->failed)
        gale_log(GALE_LOG_ERROR, "cgi %s: wrote too much, its answer cut short", run->t.script);
    cgi_done(run, why == GALE_PROCESS_TIMEOUT, code);
}

void cgi_done(struct cgi_run *run, int timeout, int code)
{
    if (run->failed)
        return; /* answered already */
    if (run->local && !gale_request_aborted(run->r)) {
        if (++run->redirects > CGI_REDIRECTS)
            return cgi_fail(run, 502, "too many local redirects");
        run->t.uri = run->local;
        run->t.redirected = 1;
        run->local = NULL;
        free(run->head);
        run->head = NULL;
        run->head_len = 0;
        run->head_done = 0;
        gale_response_status(run->r, 200);
        if (cgi_resolve(run->r, &run->t) < 0) {
            gale_response_error(run->r, 404, "no such script");
            return;
        }
        run->start(run);
        return;
    }
    if (!run->head_done) {
        if (timeout)
            return cgi_fail(run, 504, "the program ran past its timeout");
        char *what = gale_request_printf(run->r, "the program ended (%d) without a head", code);
        return cgi_fail(run, 502, what);
    }
    if (timeout)
        gale_log(GALE_LOG_ERROR, "cgi %s: ran past its timeout, its answer cut short",
                 run->t.script);
    gale_response_finish(run->r);
}

/* The script's folder, its working folder (RFC 3875 section 7.2). */
static char *cgi_folder(gale_request *r, const char *script)
{
    char *dir = gale_request_strdup(r, script);
    *strrchr(dir, '/') = 0;
    return dir;
}

/* Start the program for run->t. 0, or -1 after answering. */
static int cgi_start(struct cgi_run *run)
{
    gale_request *r = run->r;
    const char *program = cgi_setting(r, "program");
    const char **argv = gale_request_alloc(r, 3 * sizeof(*argv));
    argv[0] = program ? program : run->t.script;
    argv[1] = program ? run->t.script : NULL;
    argv[2] = NULL;
    json_t *timeout = json_object_get(gale_request_route_settings(r), "timeout");
    gale_process_options o = {
        .argv = argv,
        .env = cgi_env(r, &run->t),
        .cwd = cgi_folder(r, run->t.script),
        .timeout = json_is_number(timeout) ? json_number_value(timeout) : 0,
        .on_stdout = cgi_stdout,
        .on_stderr = cgi_stderr,
        .on_exit = cgi_exit,
        .arg = run,
    };
    run->p = gale_process_start(NULL, r, &o);
    if (!run->p) {
        int e = errno;
        cgi_fail(run, e == EAGAIN ? 503 : 502,
                 gale_request_printf(r, "cannot run %s: %s", argv[0], strerror(e)));
        return -1;
    }
    if (run->t.redirected) /* no body: else it streams in (cgi_data) */
        gale_process_close_stdin(run->p);
    return 0;
}

static int cgi_body_in(struct cgi_run *run, const char *data, size_t len)
{
    if (!data)
        return gale_process_close_stdin(run->p);
    gale_process_write(run->p, data, len); /* -1: the child closed stdin, it wants no more */
    return 0;
}

/* The runs whose request body still comes: data_received finds its run here
 * (the API has no per-request pointer for a module). Few at a time. */
static struct cgi_run *cgi_runs;

static void cgi_free(void *arg)
{
    struct cgi_run *run = arg;
    for (struct cgi_run **p = &cgi_runs; *p; p = &(*p)->next)
        if (*p == run) {
            *p = run->next;
            break;
        }
    free(run->head);
}

static struct cgi_run *cgi_run_find(gale_request *r)
{
    for (struct cgi_run *run = cgi_runs; run; run = run->next)
        if (run->r == r)
            return run;
    return NULL;
}

struct cgi_run *cgi_run_new(gale_request *r, void (*pause)(struct cgi_run *, int),
                            int (*start)(struct cgi_run *),
                            int (*body)(struct cgi_run *, const char *, size_t))
{
    struct cgi_run *run = gale_request_alloc(r, sizeof(*run));
    memset(run, 0, sizeof(*run));
    run->r = r;
    run->t.uri = gale_request_target(r);
    run->pause = pause;
    run->start = start;
    run->body = body;
    run->next = cgi_runs;
    cgi_runs = run;
    gale_request_cleanup(r, cgi_free, run);
    return run;
}

/* Before the body: find the script and start it (or reach the FastCGI
 * server), so that the body streams to it as it comes. A chunked body of
 * unknown length cannot: CGI needs CONTENT_LENGTH (411). */
int cgi_prepare_run(gale_request *r, void (*pause)(struct cgi_run *, int),
                    int (*start)(struct cgi_run *),
                    int (*body)(struct cgi_run *, const char *, size_t))
{
    if (gale_request_header(r, "Transfer-Encoding") && !gale_request_header(r, "Content-Length")) {
        gale_response_error(r, 411, "a body needs a Content-Length here");
        return GALE_OK;
    }
    struct cgi_run *run = cgi_run_new(r, pause, start, body);
    if (cgi_resolve(r, &run->t) < 0) {
        gale_response_error(r, 404, "no such script");
        return GALE_OK;
    }
    start(run);
    return GALE_OK;
}

static int cgi_prepare(gale_request *r)
{
    return cgi_prepare_run(r, cgi_pause, cgi_start, cgi_body_in);
}

int cgi_data(gale_request *r, const char *data, size_t len)
{
    struct cgi_run *run = cgi_run_find(r);
    if (run && !run->failed)
        run->body(run, data, len);
    return GALE_OK;
}

/* The body's end: the program or server has all of it. */
int cgi_end(gale_request *r)
{
    struct cgi_run *run = cgi_run_find(r);
    if (!run)
        return GALE_ERROR;
    for (struct cgi_run **p = &cgi_runs; *p; p = &(*p)->next)
        if (*p == run) {
            *p = run->next;
            break;
        }
    if (!run->failed)
        run->body(run, NULL, 0);
    return GALE_ASYNC;
}

static const gale_handler cgi_handlers[] = {
    {.name = "cgi", .prepare = cgi_prepare, .data_received = cgi_data, .any = cgi_end},
    {.name = "fastcgi", .prepare = fastcgi_prepare, .data_received = cgi_data, .any = cgi_end},
    {0},
};

static void cgi_shutdown(gale_ctx *ctx)
{
    fastcgi_pool_free_all();
}

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "cgi",
    .handlers = cgi_handlers,
    .shutdown = cgi_shutdown,
};
