/*
 * process.c - gale_process_*: a child started with posix_spawn (exec
 * failures such as a missing program come back as errors at once), stdin
 * written and stdout/stderr read through non-blocking pipes, its end seen on
 * a pidfd, a timeout that sends SIGTERM then SIGKILL, a cap on output.
 *
 * A process lives until it is reaped and its pipes are drained; only then is
 * on_exit called and the process freed. A process tied to a request loses
 * its callbacks when the request is freed (and is ended unless it may
 * outlive it), so no callback ever sees a freed request.
 */
#include "proc/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/arena.h"
#include "core/loop.h"
#include "core/module.h"
#include "core/util.h"
#include "gale/gale.h"
#include "http/request.h"
#include "proc/process_settings.h"

/* In the request's arena, between it and the process: whichever goes first
 * cuts the link. */
struct process_link {
    gale_process *p;
};

enum { PROCESS_IN, PROCESS_OUT, PROCESS_ERR, PROCESS_PIPES };

struct gale_process {
    struct loop *loop;
    struct gale_process *next, **pprev; /* the worker's children */
    gale_request *r;                    /* NULL when not, or no longer, tied to one */
    struct process_link *link;          /* with r */
    gale_process_options o;             /* callbacks and arg only: the rest was used at start */
    pid_t pid;
    int pidfd;
    int fd[PROCESS_PIPES];
    struct event *ev[PROCESS_PIPES]; /* write to stdin, read from stdout and stderr */
    struct event *ev_exit;           /* the pidfd became readable: the child ended */
    struct event *ev_timer;          /* the timeout, then the kill grace */
    struct evbuffer *in;             /* queued for stdin */
    size_t output, output_max;
    double grace;
    int why;      /* enum gale_process_end; EXITED until gale ends it */
    int killing;  /* SIGTERM sent; ev_timer now waits for the grace */
    int close_in; /* close stdin once `in` is written */
    int paused;
    int reaped; /* its pid may belong to another process now: never signal it */
};

/* The worker's children (one list for the process: a worker has one loop). */
static struct gale_process *process_list;
static int process_count;

static void process_close_fd(gale_process *p, int i)
{
    if (p->ev[i]) {
        event_free(p->ev[i]);
        p->ev[i] = NULL;
    }
    if (p->fd[i] >= 0) {
        close(p->fd[i]);
        p->fd[i] = -1;
    }
}

static void process_free(gale_process *p)
{
    for (int i = 0; i < PROCESS_PIPES; i++)
        process_close_fd(p, i);
    if (p->ev_exit)
        event_free(p->ev_exit);
    if (p->ev_timer)
        event_free(p->ev_timer);
    if (p->pidfd >= 0)
        close(p->pidfd);
    if (p->in)
        evbuffer_free(p->in);
    if (p->link)
        p->link->p = NULL;
    if (p->pprev) {
        *p->pprev = p->next;
        if (p->next)
            p->next->pprev = p->pprev;
        process_count--;
    }
    free(p);
}

static void process_signal(gale_process *p, int sig)
{
    if (p->reaped)
        return;
    /* The group first (a shell script's children, php-cgi's workers), the
     * child itself should it have left the group. */
    kill(-p->pid, sig);
    kill(p->pid, sig);
}

/* SIGTERM now, SIGKILL after the grace (at once without one). */
static void process_end(gale_process *p, int why)
{
    if (p->killing)
        return;
    p->killing = 1;
    if (p->why == GALE_PROCESS_EXITED)
        p->why = why;
    if (p->grace <= 0) {
        process_signal(p, SIGKILL);
        return;
    }
    process_signal(p, SIGTERM);
    struct timeval tv = util_timeval(p->grace);
    evtimer_add(p->ev_timer, &tv);
}

static void process_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    gale_process *p = arg;
    if (p->killing)
        process_signal(p, SIGKILL);
    else
        process_end(p, GALE_PROCESS_TIMEOUT);
}

/* Read what a pipe holds now: 1 at its end (EOF, error, flood), 0 once it
 * is empty for now, 2 when it stopped early (a turn's share read, paused). */
static int process_read(gale_process *p, int i)
{
    char buf[16384];
    for (int turns = 0; turns < 8; turns++) {
        ssize_t n = read(p->fd[i], buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0)
            return 1;
        p->output += (size_t)n;
        if (p->output > p->output_max) {
            /* No grace for a flood: it would only write more. */
            p->why = GALE_PROCESS_FLOODED;
            p->killing = 1;
            process_signal(p, SIGKILL);
            return 1;
        }
        void (*fn)(gale_process *, void *, const char *, size_t) =
            i == PROCESS_OUT ? p->o.on_stdout : p->o.on_stderr;
        if (fn)
            fn(p, p->o.arg, buf, (size_t)n);
        if (p->paused)
            return 2;
    }
    return 2;
}

static void process_read_cb(evutil_socket_t fd, short what, void *arg)
{
    gale_process *p = arg;
    int i = fd == p->fd[PROCESS_OUT] ? PROCESS_OUT : PROCESS_ERR;
    if (process_read(p, i) == 1)
        process_close_fd(p, i);
}

static void process_write_cb(evutil_socket_t fd, short what, void *arg)
{
    gale_process *p = arg;
    while (evbuffer_get_length(p->in) > 0) {
        int n = evbuffer_write(p->in, fd);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) { /* EPIPE: the child closed stdin (SIGPIPE is ignored in workers) */
            evbuffer_drain(p->in, evbuffer_get_length(p->in));
            process_close_fd(p, PROCESS_IN);
            return;
        }
    }
    event_del(p->ev[PROCESS_IN]);
    if (p->close_in)
        process_close_fd(p, PROCESS_IN);
}

static void process_exit_cb(evutil_socket_t fd, short what, void *arg)
{
    gale_process *p = arg;
    int status;
    pid_t got;
    while ((got = waitpid(p->pid, &status, WNOHANG)) < 0 && errno == EINTR)
        ;
    if (got == 0)
        return; /* not yet (cannot happen with a pidfd; harmless) */
    p->reaped = 1;
    /* The child is gone: what it wrote is in its pipes. Read it all, paused
     * or not; a grandchild that kept a pipe open is not waited for. */
    p->paused = 0;
    for (int i = PROCESS_OUT; i <= PROCESS_ERR; i++) {
        while (p->fd[i] >= 0 && process_read(p, i) == 2)
            p->paused = 0; /* a callback may pause again: the child is gone */
        process_close_fd(p, i);
    }
    int code = got < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    if (p->o.on_exit)
        p->o.on_exit(p, p->o.arg, code, p->why);
    process_free(p);
}

/* The client went away: end the child unless it may outlive the request.
 * Its callbacks still run (on_exit finishes the orphaned request). */
static void process_client_gone(void *arg)
{
    struct process_link *link = arg;
    if (link->p && !link->p->o.outlive_request)
        process_end(link->p, GALE_PROCESS_KILLED);
}

/* The request is freed: no callback may run for it any more; a child that
 * must not outlive it is ended. */
static void process_request_gone(void *arg)
{
    struct process_link *link = arg;
    gale_process *p = link->p;
    if (!p)
        return; /* it ended first */
    int outlive = p->o.outlive_request;
    memset(&p->o, 0, sizeof(p->o));
    p->r = NULL;
    p->link = NULL;
    if (!outlive)
        process_end(p, GALE_PROCESS_KILLED);
}

/* The child's side of the pipes and its signals: stdin/stdout/stderr on the
 * pipes, nothing else of the worker's open (sockets, the store), a group of
 * its own, and default signals (the worker ignores SIGPIPE, which a child
 * inherits through exec otherwise). */
static int process_spawn(gale_process *p, const gale_process_options *o, int child[3])
{
    static const char *const empty[] = {NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    for (int i = 0; i < 3; i++)
        posix_spawn_file_actions_adddup2(&fa, child[i], i);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (o->cwd)
        posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    char *const *env = (char *const *)(o->env ? o->env : empty);
    int err = posix_spawn(&p->pid, o->argv[0], &fa, &at, (char *const *)o->argv, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

/* The pipes: parent ends non-blocking, every end close-on-exec (the child's
 * ends are dup2'ed onto 0, 1, 2, which clears the flag there). */
static int process_pipes(gale_process *p, int child[3])
{
    for (int i = 0; i < PROCESS_PIPES; i++) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
            return -1;
        int mine = i == PROCESS_IN ? fds[1] : fds[0];
        child[i] = i == PROCESS_IN ? fds[0] : fds[1];
        p->fd[i] = mine;
        if (fcntl(mine, F_SETFL, O_NONBLOCK) < 0)
            return -1;
    }
    return 0;
}

static int process_watch(gale_process *p)
{
    struct event_base *base = p->loop->base;
    p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
    if (p->pidfd < 0)
        return -1;
    p->ev_exit = event_new(base, p->pidfd, EV_READ | EV_PERSIST, process_exit_cb, p);
    p->ev[PROCESS_IN] =
        event_new(base, p->fd[PROCESS_IN], EV_WRITE | EV_PERSIST, process_write_cb, p);
    p->ev[PROCESS_OUT] =
        event_new(base, p->fd[PROCESS_OUT], EV_READ | EV_PERSIST, process_read_cb, p);
    p->ev[PROCESS_ERR] =
        event_new(base, p->fd[PROCESS_ERR], EV_READ | EV_PERSIST, process_read_cb, p);
    p->ev_timer = evtimer_new(base, process_timer_cb, p);
    p->in = evbuffer_new();
    if (!p->ev_exit || !p->ev[PROCESS_IN] || !p->ev[PROCESS_OUT] || !p->ev[PROCESS_ERR] ||
        !p->ev_timer || !p->in)
        return -1;
    event_add(p->ev_exit, NULL);
    event_add(p->ev[PROCESS_OUT], NULL);
    event_add(p->ev[PROCESS_ERR], NULL);
    return 0;
}

static void process_link_in(gale_process *p)
{
    p->next = process_list;
    if (process_list)
        process_list->pprev = &p->next;
    p->pprev = &process_list;
    process_list = p;
    process_count++;
}

gale_process *gale_process_start(gale_ctx *ctx, gale_request *r, const gale_process_options *o)
{
    struct loop *loop = r ? r->loop : ctx ? ctx->loop : NULL;
    if (!loop || !o || !o->argv || !o->argv[0]) {
        errno = EINVAL;
        return NULL;
    }
    const struct process_settings *ps = process_settings(loop->cfg);
    if (process_count >= ps->max_children) {
        errno = EAGAIN;
        return NULL;
    }
    gale_process *p = xcalloc(1, sizeof(*p));
    p->loop = loop;
    p->pidfd = -1;
    p->pid = -1;
    for (int i = 0; i < PROCESS_PIPES; i++)
        p->fd[i] = -1;
    p->o = *o;
    p->output_max = o->output_max ? o->output_max : ps->max_output;
    p->grace = ps->kill_grace;
    int child[3] = {-1, -1, -1};
    int err = 0;
    if (process_pipes(p, child) < 0 || process_spawn(p, o, child) < 0)
        err = errno;
    for (int i = 0; i < 3; i++)
        if (child[i] >= 0)
            close(child[i]);
    if (!err && process_watch(p) < 0) {
        err = errno ? errno : ENOMEM;
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    if (err) {
        process_free(p);
        errno = err;
        return NULL;
    }
    process_link_in(p);
    double timeout = o->timeout ? o->timeout : ps->timeout;
    if (timeout > 0) {
        struct timeval tv = util_timeval(timeout);
        evtimer_add(p->ev_timer, &tv);
    }
    if (r) {
        p->r = r;
        p->link = arena_calloc(r->arena, sizeof(*p->link));
        p->link->p = p;
        arena_cleanup_add(r->arena, process_request_gone, p->link);
        request_on_gone(r, process_client_gone, p->link);
    }
    return p;
}

int gale_process_write(gale_process *p, const void *data, size_t len)
{
    if (!p || p->fd[PROCESS_IN] < 0 || p->close_in)
        return -1;
    if (evbuffer_add(p->in, data, len) < 0)
        return -1;
    return event_add(p->ev[PROCESS_IN], NULL);
}

int gale_process_close_stdin(gale_process *p)
{
    if (!p || p->fd[PROCESS_IN] < 0)
        return -1;
    p->close_in = 1;
    if (evbuffer_get_length(p->in) == 0)
        process_close_fd(p, PROCESS_IN);
    return 0;
}

void gale_process_pause(gale_process *p, int paused)
{
    if (!p || p->paused == !!paused)
        return;
    p->paused = !!paused;
    for (int i = PROCESS_OUT; i <= PROCESS_ERR; i++)
        if (p->ev[i]) {
            if (paused)
                event_del(p->ev[i]);
            else
                event_add(p->ev[i], NULL);
        }
}

void gale_process_kill(gale_process *p)
{
    if (p)
        process_end(p, GALE_PROCESS_KILLED);
}

int gale_process_pid(const gale_process *p)
{
    return p ? (int)p->pid : -1;
}

void process_free_all(struct loop *loop)
{
    (void)loop;
    while (process_list) {
        gale_process *p = process_list;
        process_signal(p, SIGKILL);
        while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
            ;
        process_free(p);
    }
}
