/*
 * master.c - the master process: config, sockets, workers, signals, reload.
 *
 * The master never serves a request. It parses and checks the config, binds
 * the sockets, forks the workers and watches them: a worker that dies is
 * replaced at once (with a growing delay only when workers keep dying right
 * after they start). Signals arrive through a signalfd, so that no libevent
 * signal state leaks into the forked workers.
 *
 * Reload (SIGHUP): the new config is parsed, its modules loaded in a throw-
 * away child, its sockets bound (shared with the old ones where address and
 * port match). Only when all of that works are new workers forked; when every
 * one of them says it is ready, the old workers get SIGQUIT and drain. A bad
 * config, or new workers that fail to start, leave the old workers serving.
 *
 * Metrics (daemon/metrics.h): each generation has a shared region its
 * workers count into; the master reads it when scraped, and adds a worker's
 * counts to the retired totals when it reaps the worker. SIGUSR2 starts a
 * new binary with the sockets (daemon/upgrade.h).
 */
#include "daemon/master.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/config.h"
#include "core/ipc.h"
#include "core/log.h"
#include "core/log_settings.h"
#include "core/module.h"
#include "core/util.h"
#include "daemon/metrics.h"
#include "daemon/metrics_server.h"
#include "daemon/metrics_settings.h"
#include "daemon/notify.h"
#include "daemon/rlimit.h"
#include "daemon/upgrade.h"
#include "daemon/worker.h"
#include "net/listen.h"
#include "net/tls.h"
#include "page/template_settings.h"
#include "pubsub/pubsub.h"
#include "pubsub/pubsub_history.h"
#include "pubsub/pubsub_presence.h"
#include "pubsub/pubsub_settings.h"

#define MASTER_READY_TIMEOUT 30.0 /* seconds new workers get to start */
#define MASTER_STOP_TIMEOUT 5.0   /* seconds a quick stop waits before SIGKILL */
#define MASTER_IPC_BATCH 256      /* messages read from a worker per loop turn */

enum mw_state { MW_STARTING, MW_READY, MW_DRAINING };

struct mworker {
    pid_t pid;
    int slot;
    unsigned gen;
    enum mw_state state;
    int ipc_fd; /* master's end */
    int log_fd; /* master's end of the pair that carries reopened logs (IPC_LOGS) */
    struct event *ipc_ev;
    struct ipc_queue *out; /* pub/sub messages the worker has not taken yet */
    double started;
    double kill_at;              /* draining: SIGKILL after this (monotonic) */
    int drain_acked;             /* draining: it said it stopped accepting */
    struct metrics_map *metrics; /* its generation's region (a reference), NULL: off */
    uint64_t dropped;            /* pub/sub messages lost since its queue filled */
    struct event *lag_ev;        /* while dropped: retries telling it (IPC_LAGGED) */
};

/* One generation's config and sockets; the current one and, during a reload,
 * the one before it. */
struct generation {
    unsigned id;
    struct config *cfg;
    struct listen_set ls;
    struct tls_set *tls;         /* certificates and keys, read here as root */
    struct metrics_map *metrics; /* the workers' counters (a reference), NULL: off */
};

static struct {
    const char *conf_path;
    struct event_base *base;
    int sigfd;
    struct event *sig_ev;
    struct event *tick; /* 100 ms: respawns, kill deadlines, ready timeout */
    struct generation cur, prev;
    int reloading; /* prev is still serving while cur's workers start */
    double reload_deadline;
    int reload_again; /* another SIGHUP came during a reload */
    int await_drain;  /* reload committed; READY=1 once the old workers stopped accepting */
    double await_deadline;
    int stopping; /* 0, or the signal that started the stop */
    double stop_deadline;
    int started;      /* the first generation was ready once */
    int start_failed; /* a worker of the first generation died before it was ready */
    struct mworker *w;
    size_t nw, capw;
    int *fast_deaths;   /* per slot: deaths right after start, for the back-off */
    double *respawn_at; /* per slot: 0, or when to fork its replacement */
    int nslots;
    pid_t upgrade_pid; /* the new binary started by SIGUSR2, 0: none */
    char *oldbin;      /* the pid file's name while a new binary runs */
} M = {.sigfd = -1};

static void master_fork_worker(struct generation *g, int slot);
static void master_progress(void);

/* ---- the worker table ---- */

static struct mworker *master_find(pid_t pid)
{
    for (size_t i = 0; i < M.nw; i++)
        if (M.w[i].pid == pid)
            return &M.w[i];
    return NULL;
}

static void master_forget(struct mworker *mw)
{
    metrics_map_drop(mw->metrics);
    if (mw->ipc_ev)
        event_free(mw->ipc_ev);
    if (mw->lag_ev)
        event_free(mw->lag_ev);
    ipc_queue_free(mw->out);
    if (mw->ipc_fd >= 0)
        close(mw->ipc_fd);
    if (mw->log_fd >= 0)
        close(mw->log_fd);
    *mw = M.w[--M.nw];
}

static size_t master_count(unsigned gen, int state)
{
    size_t n = 0;
    for (size_t i = 0; i < M.nw; i++)
        if (M.w[i].gen == gen && (state < 0 || (int)M.w[i].state == state))
            n++;
    return n;
}

static void master_signal_gen(unsigned gen, int sig)
{
    for (size_t i = 0; i < M.nw; i++)
        if (M.w[i].gen == gen)
            kill(M.w[i].pid, sig);
}

/* ---- config ---- */

static void master_log_errors(const char *errors)
{
    char *copy = xstrdup(errors), *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        log_error("%s", line);
    free(copy);
}

static int master_check_user(const struct config *cfg, char **errors)
{
    struct strbuf b = {0};
    if (cfg->user && !getpwnam(cfg->user))
        strbuf_addf(&b, "%s: user '%s' does not exist\n", cfg->file, cfg->user);
    if (cfg->group && !getgrnam(cfg->group))
        strbuf_addf(&b, "%s: group '%s' does not exist\n", cfg->file, cfg->group);
    if (!b.len)
        return 0;
    *errors = strbuf_take(&b);
    return -1;
}

/* A file the master will create or append to (a log, the pid file): its
 * folder must exist and the file be writable, or the start fails after
 * `gale -t` said the config is valid. Returns 0 or adds an error. */
static void master_check_file(struct strbuf *b, const struct config *cfg, int line,
                              const char *what, const char *path)
{
    if (!path || !strcmp(path, "stderr") || !strcmp(path, "off"))
        return;
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    struct stat st;
    if (stat(dir, &st) < 0)
        strbuf_addf(b, "%s:%d: %s: cannot create %s: its folder %s: %s\n", cfg->file, line, what,
                    path, dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        strbuf_addf(b, "%s:%d: %s: cannot create %s: %s is not a folder\n", cfg->file, line, what,
                    path, dir);
    else if (access(path, F_OK) == 0 ? access(path, W_OK) < 0 : access(dir, W_OK | X_OK) < 0)
        strbuf_addf(b, "%s:%d: %s: cannot write %s: %s\n", cfg->file, line, what, path,
                    strerror(errno));
    free(dir);
}

static int master_check_files(const struct config *cfg, char **errors)
{
    const struct log_settings *ls = log_settings(cfg);
    struct strbuf b = {0};
    master_check_file(&b, cfg, ls->error_log_line, "error_log", cfg->error_log);
    master_check_file(&b, cfg, ls->access_log_line, "access_log", cfg->access_log);
    master_check_file(&b, cfg, ls->pid_file_line, "pid_file", cfg->pid_file);
    if (!b.len)
        return 0;
    *errors = strbuf_take(&b);
    return -1;
}

/* Whether two addresses of one port overlap: equal, or one is the wildcard
 * of the other's family (listeners are IPV6_V6ONLY: "::" is IPv6 alone). */
static int master_same_socket(const char *a, const char *b)
{
    int v6 = strchr(a, ':') != NULL;
    if (v6 != (strchr(b, ':') != NULL))
        return 0;
    const char *any = v6 ? "::" : "0.0.0.0";
    return !strcmp(a, b) || !strcmp(a, any) || !strcmp(b, any);
}

/* The metrics never share a public listener's address and port (they
 * would be served to the world, or the bind would fail later). */
static int master_check_metrics(const struct config *cfg, char **errors)
{
    const struct metrics_settings *ms = metrics_settings(cfg);
    for (size_t i = 0; ms->line && i < cfg->nlistens; i++) {
        if (cfg->listens[i].port != ms->port ||
            !master_same_socket(cfg->listens[i].address, ms->address))
            continue;
        struct strbuf b = {0};
        strbuf_addf(&b,
                    "%s:%d: metrics: %s port %d is a public listener (line %d): give the "
                    "metrics an address or port of their own\n",
                    cfg->file, ms->line, ms->address, ms->port, cfg->listens[i].line);
        *errors = strbuf_take(&b);
        return -1;
    }
    return 0;
}

static int master_modules_here(const struct config *cfg, char **errors)
{
    struct module_set *ms = module_load_all(cfg, errors);
    int rc = ms ? module_check_all(ms, cfg, errors) : -1;
    module_free_all(ms);
    return rc;
}

/* The same in a child that then exits: a module's constructors and mappings
 * never enter the long-lived master. */
static int master_modules_apart(const struct config *cfg, char **errors)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *err = NULL;
        if (master_modules_here(cfg, &err) < 0) {
            master_log_errors(err);
            _exit(1);
        }
        _exit(0);
    }
    int status = 0;
    while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    *errors = xstrdup(pid < 0 ? "cannot fork to check the modules\n"
                              : "the modules failed to load (see above)\n");
    return -1;
}

/* Load and check a config: its users, certificates and modules (loaded in a
 * child when `apart`). On success *tls holds its TLS contexts (caller frees). */
static struct config *master_load(const char *path, int apart, struct tls_set **tls, char **errors)
{
    struct config *cfg = config_load(path, errors);
    *tls = NULL;
    if (!cfg)
        return NULL;
    if (master_check_user(cfg, errors) == 0 && master_check_files(cfg, errors) == 0 &&
        master_check_metrics(cfg, errors) == 0 && (*tls = tls_load(cfg, errors)) != NULL &&
        (apart ? master_modules_apart(cfg, errors) : master_modules_here(cfg, errors)) == 0)
        return cfg;
    tls_free(*tls);
    *tls = NULL;
    config_free(cfg);
    return NULL;
}

int master_check(const char *path)
{
    char *errors = NULL;
    struct tls_set *tls;
    struct config *cfg = master_load(path, 0, &tls, &errors);
    if (!cfg) {
        fputs(errors, stderr);
        free(errors);
        return 1;
    }
    if (template_settings_check(cfg, stderr) > 0) {
        fprintf(stderr, "%s: templates have errors (above)\n", path);
        tls_free(tls);
        config_free(cfg);
        return 1;
    }
    fprintf(stderr, "%s: the configuration is valid\n", path);
    tls_free(tls);
    config_free(cfg);
    return 0;
}

/* ---- workers ---- */

/* A worker that lost messages is told (IPC_LAGGED) once half its queue is
 * free (not at the first byte of room: it would fall behind again at once),
 * before any later message: its subscribers with a position then recover
 * through the history (pubsub.c). 0 once told (or nothing to tell). */
static int master_tell_lag(struct mworker *mw)
{
    if (!mw->dropped)
        return 0;
    if (!ipc_queue_half_empty(mw->out) ||
        ipc_queue_send(mw->out, IPC_LAGGED, &mw->dropped, sizeof(mw->dropped), NULL, 0) < 0)
        return -1;
    log_warn("worker %d (pid %d) reads again: %llu pub/sub messages for it were dropped", mw->slot,
             (int)mw->pid, (unsigned long long)mw->dropped);
    mw->dropped = 0;
    event_del(mw->lag_ev);
    return 0;
}

static void master_lag_cb(evutil_socket_t fd, short what, void *arg)
{
    struct mworker *mw = master_find((pid_t)(intptr_t)arg);
    if (mw)
        master_tell_lag(mw);
}

/* Said once when a worker starts losing messages, and once when it takes
 * them again; a timer retries telling it when no message comes. */
static void master_relay_one(struct mworker *mw, const void *a, size_t alen, const void *b,
                             size_t blen)
{
    if (!mw->out)
        return;
    if (master_tell_lag(mw) == 0 && ipc_queue_send(mw->out, IPC_MESSAGE, a, alen, b, blen) == 0)
        return;
    if (mw->dropped++ > 0)
        return;
    log_warn("worker %d (pid %d) is not reading: pub/sub messages are dropped until it "
             "catches up (pubsub.relay_queue_size)",
             mw->slot, (int)mw->pid);
    static const struct timeval retry = {0, 50000};
    if (!mw->lag_ev &&
        !(mw->lag_ev = event_new(M.base, -1, EV_PERSIST, master_lag_cb, (void *)(intptr_t)mw->pid)))
        util_oom();
    event_add(mw->lag_ev, &retry);
}

/* A pub/sub message, sequenced (pubsub_history.h): to every worker, old
 * generation included, in the order messages arrive here (the one order
 * every subscriber sees). A worker that cannot keep up loses messages
 * rather than stall the others. */
static void master_relay(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
    (void)arg;
    for (size_t i = 0; i < M.nw; i++)
        master_relay_one(&M.w[i], a, alen, b, blen);
}

/* An answer to one worker (its publish sequenced, the history it asked). */
static int master_answer(void *arg, uint32_t type, const void *a, size_t alen, const void *b,
                         size_t blen)
{
    struct mworker *mw = arg;
    if (!mw->out || ipc_queue_send(mw->out, type, a, alen, b, blen) < 0) {
        log_warn("worker %d (pid %d) is not reading: a pub/sub answer is dropped", mw->slot,
                 (int)mw->pid);
        return -1;
    }
    return 0;
}

/* The presence messages of a worker (pubsub_presence.h); -1 for others. */
static int master_presence(struct mworker *mw, uint32_t type, const void *buf, size_t n)
{
    double timeout = pubsub_settings(M.cur.cfg)->presence_timeout;
    if (type == IPC_PRESENCE_JOIN)
        pubsub_presence_table_join(mw->pid, buf, n, master_relay, NULL);
    else if (type == IPC_PRESENCE_LEAVE)
        pubsub_presence_table_leave(mw->pid, buf, n, timeout);
    else if (type == IPC_PRESENCE_GET)
        pubsub_presence_table_get(buf, n, master_answer, mw);
    else
        return -1;
    return 0;
}

static void master_ipc_cb(evutil_socket_t fd, short what, void *arg)
{
    static char buf[IPC_MAX_PAYLOAD];
    pid_t pid = (pid_t)(intptr_t)arg;
    for (int i = 0; i < MASTER_IPC_BATCH; i++) {
        uint32_t type;
        int n = ipc_recv(fd, &type, buf, sizeof(buf));
        struct mworker *mw = master_find(pid);
        if (!mw || (n < 0 && errno == EAGAIN))
            return;
        if (n < 0 || type == 0) {
            event_del(mw->ipc_ev); /* closed or broken: SIGCHLD will tell the rest */
            return;
        }
        if (type == IPC_PUBLISH) {
            pubsub_master_publish(pubsub_settings(M.cur.cfg), buf, (size_t)n, master_relay, NULL,
                                  master_answer, mw);
            continue;
        }
        if (type == IPC_HISTORY) {
            pubsub_master_history(pubsub_settings(M.cur.cfg), buf, (size_t)n, master_answer, mw);
            continue;
        }
        if (master_presence(mw, type, buf, (size_t)n) == 0)
            continue;
        if (type == IPC_READY && mw->state == MW_STARTING) {
            mw->state = MW_READY;
            log_debug("worker %d (pid %d) ready", mw->slot, (int)mw->pid);
        } else if (type == IPC_DRAINING) {
            mw->drain_acked = 1;
        }
        master_progress();
    }
}

/* In the child: leave nothing of the master's behind but what the worker needs. */
static void master_child_setup(struct generation *g, int slot, int ipc_fd)
{
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    close(M.sigfd);
    metrics_server_child();
    for (size_t i = 0; i < M.nw; i++) {
        close(M.w[i].ipc_fd);
        close(M.w[i].log_fd);
    }
    struct generation *other = g == &M.cur ? &M.prev : &M.cur;
    if (other->cfg)
        listen_close(&other->ls);
    for (size_t i = 0; i < g->ls.n; i++)
        for (int k = 0; k < g->ls.slots; k++)
            if (k != slot && g->ls.socks[i].fds[k] >= 0)
                close(g->ls.socks[i].fds[k]);
    (void)ipc_fd;
}

static void master_close_pair(int p[2])
{
    for (int i = 0; i < 2; i++)
        if (p[i] >= 0)
            close(p[i]);
}

static void master_fork_worker(struct generation *g, int slot)
{
    int fds[2] = {-1, -1}, logs[2] = {-1, -1};
    if (ipc_pair(fds) < 0 || ipc_pair(logs) < 0) {
        log_error("socketpair: %s", strerror(errno));
        master_close_pair(fds);
        master_close_pair(logs);
        M.respawn_at[slot] = util_now() + 1.0;
        return;
    }
    log_flush();
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork: %s", strerror(errno));
        master_close_pair(fds);
        master_close_pair(logs);
        M.respawn_at[slot] = util_now() + 1.0;
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        close(logs[0]);
        master_child_setup(g, slot, fds[1]);
        worker_run(g->cfg, &g->ls, g->tls, slot, g->id, fds[1], logs[1],
                   metrics_map_slot(g->metrics, slot));
    }
    close(fds[1]);
    close(logs[1]);
    if (M.nw == M.capw) {
        M.capw = M.capw ? M.capw * 2 : 16;
        M.w = xrealloc(M.w, M.capw * sizeof(*M.w));
    }
    struct mworker *mw = &M.w[M.nw++];
    memset(mw, 0, sizeof(*mw));
    mw->pid = pid;
    mw->slot = slot;
    mw->gen = g->id;
    mw->state = MW_STARTING;
    mw->ipc_fd = fds[0];
    mw->metrics = metrics_map_hold(g->metrics);
    mw->log_fd = logs[0];
    mw->started = util_now();
    mw->ipc_ev =
        event_new(M.base, fds[0], EV_READ | EV_PERSIST, master_ipc_cb, (void *)(intptr_t)pid);
    event_add(mw->ipc_ev, NULL);
    mw->out = ipc_queue_new(M.base, fds[0], pubsub_settings(g->cfg)->relay_queue_size);
    M.respawn_at[slot] = 0;
}

static void master_resize_slots(int n)
{
    M.fast_deaths = xrealloc(M.fast_deaths, sizeof(int) * (size_t)n);
    M.respawn_at = xrealloc(M.respawn_at, sizeof(double) * (size_t)n);
    for (int i = M.nslots; i < n; i++) {
        M.fast_deaths[i] = 0;
        M.respawn_at[i] = 0;
    }
    M.nslots = n;
}

static void master_start_generation(struct generation *g)
{
    master_resize_slots(g->cfg->workers > M.nslots ? g->cfg->workers : M.nslots);
    for (int i = 0; i < g->cfg->workers; i++) {
        M.fast_deaths[i] = 0;
        master_fork_worker(g, i);
    }
}

static void master_describe_exit(const struct mworker *mw, int status)
{
    if (WIFSIGNALED(status))
        log_error("worker %d (pid %d) killed by signal %d (%s)", mw->slot, (int)mw->pid,
                  WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (WEXITSTATUS(status) != 0 || (mw->state != MW_DRAINING && !M.stopping))
        log_error("worker %d (pid %d) exited with status %d", mw->slot, (int)mw->pid,
                  WEXITSTATUS(status));
    else
        log_info("worker %d (pid %d) of generation %u finished", mw->slot, (int)mw->pid, mw->gen);
}

static void master_abort_reload(const char *why);
static void master_stop(int sig);
static void master_upgrade_ended(int status);

/* A worker ended: replace it if it belonged to the serving generation. */
static void master_reap_one(pid_t pid, int status)
{
    if (pid == M.upgrade_pid) {
        master_upgrade_ended(status);
        return;
    }
    struct mworker *mwp = master_find(pid);
    if (!mwp)
        return;
    struct mworker mw = *mwp;
    master_describe_exit(&mw, status);
    metrics_retire(mwp->metrics, mwp->slot, mwp->slot);
    /* its members linger: their clients may come back to another worker */
    pubsub_presence_table_worker_gone(pid, pubsub_settings(M.cur.cfg)->presence_timeout);
    master_forget(mwp);
    if (M.stopping || mw.state == MW_DRAINING)
        return;
    if (mw.gen == M.cur.id && M.reloading && mw.state == MW_STARTING) {
        master_abort_reload("a new worker failed to start");
        return;
    }
    if (!M.started && mw.state == MW_STARTING) {
        log_error("a worker failed to start: stopping");
        M.start_failed = 1;
        master_stop(SIGTERM);
        return;
    }
    int slot = mw.slot;
    if (mw.gen != M.cur.id || slot >= M.cur.cfg->workers)
        return;
    /* Back off only when workers die again and again right after they start. */
    double lived = util_now() - mw.started;
    M.fast_deaths[slot] = lived < 1.0 ? M.fast_deaths[slot] + 1 : 0;
    double delay = 0;
    if (M.fast_deaths[slot] > 1) {
        delay = 0.1 * (double)(1 << (M.fast_deaths[slot] < 8 ? M.fast_deaths[slot] : 8));
        if (delay > 10.0)
            delay = 10.0;
        log_warn("worker %d keeps dying: next start in %.1f s", slot, delay);
    }
    M.respawn_at[slot] = util_now() + delay;
}

static void master_reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        master_reap_one(pid, status);
}

/* ---- reload ---- */

/* The workers forked from now on write access lines as cfg says. */
static void master_access_setup(const struct config *cfg)
{
    const struct log_settings *ls = log_settings(cfg);
    log_access_setup(ls->access_log_buffer, ls->format);
}

static void master_free_generation(struct generation *g)
{
    if (!g->cfg)
        return;
    listen_close(&g->ls);
    tls_free(g->tls);
    g->tls = NULL;
    metrics_map_drop(g->metrics);
    g->metrics = NULL;
    config_free(g->cfg);
    g->cfg = NULL;
}

static void master_abort_reload(const char *why)
{
    log_error("reload failed: %s; the old workers go on serving", why);
    master_signal_gen(M.cur.id, SIGKILL);
    for (size_t i = 0; i < M.nw; i++)
        if (M.w[i].gen == M.cur.id)
            M.w[i].state = MW_DRAINING; /* reaped without replacement */
    master_free_generation(&M.cur);
    M.cur = M.prev;
    /* the log paths and the access format were the dropped config's */
    if (log_open(M.cur.cfg->error_log, M.cur.cfg->log_level, M.cur.cfg->access_log) < 0)
        log_error("reopening the old logs: %s", strerror(errno));
    master_access_setup(M.cur.cfg);
    memset(&M.prev, 0, sizeof(M.prev));
    M.reloading = 0;
    notify_ready();
}

static void master_commit_reload(void)
{
    double kill_at = util_now() + M.prev.cfg->grace_period + 1.0;
    for (size_t i = 0; i < M.nw; i++) {
        if (M.w[i].gen != M.cur.id && M.w[i].state != MW_DRAINING) {
            M.w[i].state = MW_DRAINING;
            M.w[i].kill_at = kill_at;
            kill(M.w[i].pid, SIGQUIT);
        }
    }
    master_free_generation(&M.prev);
    M.reloading = 0;
    M.await_drain = 1;
    M.await_deadline = util_now() + 2.0;
}

/* The reload is done for systemd once no old worker accepts any more. */
static void master_check_drained(void)
{
    for (size_t i = 0; i < M.nw; i++)
        if (M.w[i].gen != M.cur.id && !M.w[i].drain_acked && util_now() < M.await_deadline)
            return;
    M.await_drain = 0;
    log_info("reload done: generation %u serving with %d workers", M.cur.id, M.cur.cfg->workers);
    notify_ready();
}

static void master_metrics_render(struct evbuffer *out);

static void master_reload(void)
{
    if (M.reloading) {
        M.reload_again = 1;
        return;
    }
    log_info("reloading %s", M.conf_path);
    notify_reloading();
    char *errors = NULL;
    struct tls_set *tls;
    struct config *cfg = master_load(M.conf_path, 1, &tls, &errors);
    if (!cfg) {
        master_log_errors(errors);
        free(errors);
        log_error("reload refused: the old configuration stays");
        notify_ready();
        return;
    }
    struct generation g = {.id = M.cur.id + 1, .cfg = cfg, .tls = tls};
    int bound = listen_open(&g.ls, cfg, cfg->workers, &M.cur.ls, &errors) == 0;
    if (!bound || metrics_server_prepare(cfg, NULL, &errors) < 0) {
        if (bound)
            listen_close(&g.ls);
        tls_free(g.tls);
        master_log_errors(errors);
        free(errors);
        config_free(cfg);
        log_error("reload refused: the old configuration stays");
        notify_ready();
        return;
    }
    if (log_open(cfg->error_log, cfg->log_level, cfg->access_log) < 0)
        log_error("reopening the logs: %s (keeping the old ones)", strerror(errno));
    master_access_setup(cfg);
    rlimit_apply(cfg);
    metrics_server_commit(M.base, cfg, master_metrics_render);
    g.metrics = metrics_map_new(cfg);
    M.prev = M.cur;
    M.cur = g;
    M.reloading = 1;
    M.reload_deadline = util_now() + MASTER_READY_TIMEOUT;
    master_start_generation(&M.cur);
}

/* ---- logs ---- */

/* The master makes the new files and sends every worker its descriptors:
 * a worker cannot open files where root keeps its logs, and giving them to
 * its user would need CAP_CHOWN, which the systemd unit does not grant (and
 * then root, without CAP_DAC_OVERRIDE there, could not reopen them). */
static void master_reopen_logs(void)
{
    if (log_reopen() < 0)
        log_error("reopening logs: %s", strerror(errno));
    int fds[2], n = 0;
    unsigned char which[2];
    log_file_fds(&fds[0], &fds[1]);
    which[0] = fds[0] >= 0;
    which[1] = fds[1] >= 0;
    if (!which[0])
        fds[0] = fds[1];
    n = which[0] + which[1];
    for (size_t i = 0; n > 0 && i < M.nw; i++)
        if (ipc_send_fds(M.w[i].log_fd, IPC_LOGS, which, sizeof(which), fds, (size_t)n) < 0)
            log_warn("handing the reopened logs to worker pid %d: %s", (int)M.w[i].pid,
                     strerror(errno));
}

/* ---- metrics ---- */

/* A scrape: every live worker with a region, old generation included. */
static void master_metrics_render(struct evbuffer *out)
{
    struct metrics_source *src = xcalloc(M.nw + 1, sizeof(*src));
    size_t n = 0;
    for (size_t i = 0; i < M.nw; i++)
        if (M.w[i].metrics)
            src[n++] = (struct metrics_source){M.w[i].slot, M.w[i].metrics, M.w[i].slot};
    metrics_render(out, src, n);
    free(src);
}

/* ---- upgrading the binary ---- */

static void master_upgrade(void)
{
    if (M.upgrade_pid) {
        log_warn("upgrade: a new binary (pid %d) is already running: QUIT this master or that "
                 "one first",
                 (int)M.upgrade_pid);
        return;
    }
    const char *pid_file = M.cur.cfg->pid_file;
    if (pid_file) {
        struct strbuf b = {0};
        strbuf_addf(&b, "%s.oldbin", pid_file);
        M.oldbin = strbuf_take(&b);
        if (rename(pid_file, M.oldbin) < 0)
            log_warn("upgrade: renaming %s to %s: %s", pid_file, M.oldbin, strerror(errno));
    }
    const struct metrics_settings *ms = metrics_settings(M.cur.cfg);
    pid_t pid = upgrade_start(&M.cur.ls, metrics_server_fd(), ms->address, ms->port);
    if (pid < 0) {
        log_error("upgrade: fork: %s", strerror(errno));
        master_upgrade_ended(0);
        return;
    }
    M.upgrade_pid = pid;
    log_info("upgrade: started the new binary (pid %d); QUIT this master (pid %d) once it serves",
             (int)pid, (int)getpid());
}

/* The new binary exited (or never started): this master serves on, under
 * its own pid file again. */
static void master_upgrade_ended(int status)
{
    if (M.upgrade_pid)
        log_error("upgrade: the new binary (pid %d) %s %d: this master (pid %d) goes on serving",
                  (int)M.upgrade_pid, WIFSIGNALED(status) ? "was killed by signal" : "exited with",
                  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), (int)getpid());
    M.upgrade_pid = 0;
    if (M.oldbin && M.cur.cfg && M.cur.cfg->pid_file && rename(M.oldbin, M.cur.cfg->pid_file) < 0)
        log_warn("upgrade: renaming %s back: %s", M.oldbin, strerror(errno));
    free(M.oldbin);
    M.oldbin = NULL;
}

/* ---- stopping ---- */

static void master_stop(int sig)
{
    if (M.stopping && sig != SIGTERM && sig != SIGINT)
        return;
    int graceful = sig == SIGQUIT;
    log_info("%s stop (signal %d)", graceful ? "graceful" : "quick", sig);
    notify_stopping();
    M.stopping = sig;
    double grace = M.cur.cfg ? M.cur.cfg->grace_period : 0;
    M.stop_deadline = util_now() + (graceful ? grace + 1.0 : MASTER_STOP_TIMEOUT);
    for (size_t i = 0; i < M.nw; i++)
        kill(M.w[i].pid, graceful ? SIGQUIT : SIGTERM);
}

/* ---- the loop ---- */

static void master_signal_cb(evutil_socket_t fd, short what, void *arg)
{
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGCHLD:
            master_reap();
            break;
        case SIGHUP:
            if (!M.stopping)
                master_reload();
            break;
        case SIGUSR2:
            if (!M.stopping)
                master_upgrade();
            break;
        case SIGUSR1:
            master_reopen_logs();
            break;
        default:
            master_stop((int)si.ssi_signo);
            break;
        }
    }
}

static void master_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    double now = util_now();
    if (M.stopping) {
        if (M.nw == 0) {
            event_base_loopbreak(M.base);
        } else if (now >= M.stop_deadline) {
            for (size_t i = 0; i < M.nw; i++)
                kill(M.w[i].pid, SIGKILL);
        }
        return;
    }
    for (size_t i = 0; i < M.nw; i++)
        if (M.w[i].state == MW_DRAINING && M.w[i].kill_at > 0 && now >= M.w[i].kill_at) {
            log_warn("worker pid %d did not drain in time: killing it", (int)M.w[i].pid);
            kill(M.w[i].pid, SIGKILL);
            M.w[i].kill_at = 0;
        }
    for (int s = 0; M.cur.cfg && s < M.cur.cfg->workers; s++)
        if (M.respawn_at[s] > 0 && now >= M.respawn_at[s])
            master_fork_worker(&M.cur, s);
    pubsub_presence_table_tick(master_relay, NULL);
    master_progress();
}

/* Move start and reload along: called on every timer tick and worker message. */
static void master_progress(void)
{
    double now = util_now();
    if (M.stopping)
        return;
    size_t want = (size_t)M.cur.cfg->workers;
    if (!M.started && master_count(M.cur.id, MW_READY) == want) {
        M.started = 1;
        log_info("gale %s serving with %d workers", GALE_VERSION_STRING, M.cur.cfg->workers);
        notify_ready();
    }
    if (M.reloading && master_count(M.cur.id, MW_READY) == want)
        master_commit_reload();
    else if (M.reloading && now >= M.reload_deadline)
        master_abort_reload("the new workers did not start in time");
    if (M.await_drain)
        master_check_drained();
    if (!M.reloading && !M.await_drain && M.reload_again) {
        M.reload_again = 0;
        master_reload();
    }
}

static int master_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    int sigs[] = {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
        sigaddset(&set, sigs[i]);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return -1;
    M.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    return M.sigfd < 0 ? -1 : 0;
}

static int master_write_pid(const struct config *cfg)
{
    if (!cfg->pid_file)
        return 0;
    FILE *f = fopen(cfg->pid_file, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", (int)getpid());
    return fclose(f);
}

int master_run(const char *path)
{
    char *errors = NULL;
    M.conf_path = path;
    struct tls_set *tls;
    struct config *cfg = master_load(path, 1, &tls, &errors);
    if (!cfg) {
        fputs(errors, stderr);
        free(errors);
        return 1;
    }
    if (log_open(cfg->error_log, cfg->log_level, cfg->access_log) < 0) {
        fprintf(stderr, "gale: cannot open the logs %s and %s: %s\n", cfg->error_log,
                cfg->access_log, strerror(errno));
        return 1;
    }
    master_access_setup(cfg);
    log_set_prefix("master");
    rlimit_apply(cfg);
    M.cur.id = 1;
    M.cur.cfg = cfg;
    M.cur.tls = tls;
    struct listen_set inherited; /* from the old master, in an upgrade */
    upgrade_inherited(&inherited);
    int bound = listen_open(&M.cur.ls, cfg, cfg->workers, &inherited, &errors) == 0 &&
                metrics_server_prepare(cfg, &inherited, &errors) == 0;
    listen_close(&inherited);
    if (!bound) {
        log_error("%s", errors);
        free(errors);
        return 1;
    }
    if (master_signals() < 0) {
        log_error("starting: %s", strerror(errno));
        return 1;
    }
    if (master_write_pid(cfg) < 0) {
        log_error("writing the pid file %s: %s", cfg->pid_file, strerror(errno));
        return 1;
    }
    M.base = event_base_new();
    M.sig_ev = event_new(M.base, M.sigfd, EV_READ | EV_PERSIST, master_signal_cb, NULL);
    event_add(M.sig_ev, NULL);
    struct timeval tick = {0, 100000};
    M.tick = event_new(M.base, -1, EV_PERSIST, master_tick_cb, NULL);
    event_add(M.tick, &tick);
    metrics_server_commit(M.base, cfg, master_metrics_render);
    M.cur.metrics = metrics_map_new(cfg);
    master_start_generation(&M.cur);
    event_base_dispatch(M.base);

    int failed = M.start_failed;
    /* after an upgrade the pid file is the new master's */
    if (M.upgrade_pid && M.oldbin)
        unlink(M.oldbin);
    else if (M.cur.cfg && M.cur.cfg->pid_file)
        unlink(M.cur.cfg->pid_file);
    free(M.oldbin);
    metrics_server_close();
    log_info("stopped");
    log_flush();
    while (M.nw)
        master_forget(&M.w[0]);
    master_free_generation(&M.prev);
    master_free_generation(&M.cur);
    pubsub_history_free();
    metrics_free();
    pubsub_presence_table_free();
    event_free(M.sig_ev);
    event_free(M.tick);
    event_base_free(M.base);
    close(M.sigfd);
    free(M.fast_deaths);
    free(M.respawn_at);
    free(M.w);
    return failed ? 1 : 0;
}
