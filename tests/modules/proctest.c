/*
 * proctest.c - a test module for subprocesses (tests/blackbox/29-subprocess.py):
 * runs the program named by the query (?a=PATH&a=ARG...), feeds it the
 * request body, and answers what it wrote and how it ended; or holds the
 * request while the child runs, to see it ended when the client leaves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/gale.h>

struct proctest_buf {
    char *data;
    size_t len;
};

struct proctest_run {
    gale_request *r;
    struct proctest_buf out, err;
};

static const char *const proctest_env[] = {"PATH=/usr/bin:/bin", "PROCTEST=yes", NULL};

static void proctest_append(struct proctest_buf *b, const char *data, size_t len)
{
    b->data = realloc(b->data, b->len + len + 1);
    if (!b->data)
        abort();
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
}

static void proctest_free(void *arg)
{
    struct proctest_run *run = arg;
    free(run->out.data);
    free(run->err.data);
}

static void proctest_stdout(gale_process *p, void *arg, const char *data, size_t len)
{
    proctest_append(&((struct proctest_run *)arg)->out, data, len);
}

static void proctest_stderr(gale_process *p, void *arg, const char *data, size_t len)
{
    proctest_append(&((struct proctest_run *)arg)->err, data, len);
}

static const char *const proctest_why[] = {"exited", "timeout", "flooded", "killed"};

static void proctest_done(gale_process *p, void *arg, int code, int why)
{
    struct proctest_run *run = arg;
    json_t *j = json_pack("{s:i, s:s, s:s%, s:s%}", "code", code, "why", proctest_why[why], "out",
                          run->out.data ? run->out.data : "", run->out.len, "err",
                          run->err.data ? run->err.data : "", run->err.len);
    gale_response_json(run->r, j);
    json_decref(j);
    gale_response_finish(run->r);
}

/* argv from the a= arguments, in the request's memory. */
static const char **proctest_argv(gale_request *r)
{
    size_t n = 0;
    while (gale_request_argument_at(r, "a", n))
        n++;
    const char **argv = gale_request_alloc(r, (n + 1) * sizeof(*argv));
    for (size_t i = 0; i < n; i++)
        argv[i] = gale_request_argument_at(r, "a", i);
    argv[n] = NULL;
    return argv;
}

static int proctest_refused(gale_request *r)
{
    int e = errno;
    gale_response_status(r, e == EAGAIN ? 503 : 500);
    json_t *j = json_pack("{s:s, s:i}", "error", strerror(e), "errno", e);
    gale_response_json(r, j);
    json_decref(j);
    return GALE_OK;
}

static double proctest_number(gale_request *r, const char *name)
{
    const char *v = gale_request_argument(r, name);
    return v ? strtod(v, NULL) : 0;
}

/* /run?a=...&timeout=&max=&cwd=&keepin=1: the JSON of the run. The body goes
 * to stdin, which is then closed (unless keepin). */
static int proctest_run(gale_request *r)
{
    struct proctest_run *run = gale_request_alloc(r, sizeof(*run));
    memset(run, 0, sizeof(*run));
    run->r = r;
    gale_request_cleanup(r, proctest_free, run);
    gale_process_options o = {
        .argv = proctest_argv(r),
        .env = proctest_env,
        .cwd = gale_request_argument(r, "cwd"),
        .timeout = proctest_number(r, "timeout"),
        .output_max = (size_t)proctest_number(r, "max"),
        .on_stdout = proctest_stdout,
        .on_stderr = proctest_stderr,
        .on_exit = proctest_done,
        .arg = run,
    };
    gale_process *p = gale_process_start(NULL, r, &o);
    if (!p)
        return proctest_refused(r);
    size_t len;
    const char *body = gale_request_body(r, &len);
    if (len)
        gale_process_write(p, body, len);
    if (!gale_request_argument(r, "keepin"))
        gale_process_close_stdin(p);
    return GALE_ASYNC;
}

static void proctest_hold_done(gale_process *p, void *arg, int code, int why)
{
    gale_request *r = arg;
    gale_response_printf(r, "end %d %s\n", code, proctest_why[why]);
    gale_response_finish(r);
}

/* /hold?a=...&outlive=1: "pid N" streamed at once, then held until the
 * child ends ("end CODE WHY"). */
static int proctest_hold(gale_request *r)
{
    gale_process_options o = {
        .argv = proctest_argv(r),
        .env = proctest_env,
        .timeout = proctest_number(r, "timeout"),
        .on_exit = proctest_hold_done,
        .arg = r,
        .outlive_request = gale_request_argument(r, "outlive") != NULL,
    };
    gale_process *p = gale_process_start(NULL, r, &o);
    if (!p)
        return proctest_refused(r);
    gale_process_close_stdin(p);
    gale_response_printf(r, "pid %d\n", gale_process_pid(p));
    gale_response_flush(r);
    return GALE_ASYNC;
}

/* /detach?a=...: started for the worker, not the request; answers its pid. */
static int proctest_detach(gale_request *r)
{
    gale_process_options o = {.argv = proctest_argv(r), .env = proctest_env};
    gale_process *p = gale_process_start(gale_request_ctx(r), NULL, &o);
    if (!p)
        return proctest_refused(r);
    gale_process_close_stdin(p);
    gale_response_printf(r, "pid %d\n", gale_process_pid(p));
    return GALE_OK;
}

static const gale_handler proctest_handlers[] = {
    {.name = "run", .get = proctest_run, .post = proctest_run},
    {.name = "hold", .get = proctest_hold},
    {.name = "detach", .get = proctest_detach},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "proctest",
    .handlers = proctest_handlers,
};
