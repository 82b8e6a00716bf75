/*
 * worker.c - a worker process: one libevent loop, its listeners, its
 * connections, its modules and router.
 *
 * Life: load the modules (as the user the master runs as, so module files
 * need only be readable by it), drop privileges, initialise the modules,
 * accept until told to stop. SIGQUIT drains: stop accepting, let every
 * request in flight finish (its answer says Connection: close), close idle
 * connections shortly after, and exit when none is left or the grace period
 * ends. SIGTERM/SIGINT exit at once.
 */
#include "daemon/worker.h"

#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "client/client.h"
#include "core/config.h"
#include "core/ipc.h"
#include "core/log.h"
#include "core/log_settings.h"
#include "core/loop.h"
#include "core/metrics.h"
#include "core/module.h"
#include "core/router.h"
#include "core/threadpool.h"
#include "core/timer.h"
#include "core/util.h"
#include "daemon/trim.h"
#include "http/compress.h"
#include "http/etag.h"
#include "http/h1.h"
#include "http/pipeline.h"
#include "http/proto.h"
#include "http/session.h"
#include "net/conn.h"
#include "net/listen.h"
#include "net/tls.h"
#include "page/locale.h"
#include "page/locale_settings.h"
#include "proc/process.h"
#include "pubsub/pubsub.h"
#include "ws/ws.h"

/* What the accept callback of one listener needs. */
struct worker_listener {
    struct worker *w;
    const struct config_listen *lc;
    struct tls_server *tls;
    int held; /* off for the rest of this loop turn (worker_accept_cb) */
};

/* Threads for blocking work (gale_request_blocking): a slow hash at a
 * time per core is enough to keep logins from stalling the loop. */
#define WORKER_POOL_THREADS 2

#define WORKER_ACCEPT_PAUSE 0.5   /* seconds without accepting when out of descriptors */
#define WORKER_ACCEPT_REPORT 10.0 /* seconds between two logs of that */

struct worker {
    struct loop loop; /* what the layers below share: base, config, connections */
    unsigned gen;
    struct module_set *ms;
    struct router *rt;
    struct evconnlistener **lsn;
    struct worker_listener *lsn_arg;
    size_t nlsn;
    int ipc_fd;
    int log_fd;         /* the master sends reopened logs here (IPC_LOGS) */
    struct event *logs; /* reading log_fd */
    struct event *signals[5];
    struct event *tick;          /* every access_log_flush seconds: flush the access log */
    struct event *accept_resume; /* out of descriptors: accepting again after a pause */
    struct event *accept_again;  /* the listeners held in this turn take connections again */
    int accept_paused;
    int orphan;                    /* the master died: draining with no one to tell */
    unsigned long accept_failures; /* since the last report */
    double accept_reported;        /* when (monotonic), 0: never */
    struct event *grace;           /* end of the drain */
};

static void worker_exit_if_done(struct worker *w);

/* A connection came or went (net/conn.c keeps the list): stop accepting at
 * max_connections and start again below it; end a drain with the last one. */
static void worker_conns_changed(struct loop *loop, int added)
{
    struct worker *w = (struct worker *)loop; /* loop is w's first member */
    size_t max = loop->cfg->limits.max_connections;
    METRICS_ADD(loop->metrics, connections, added ? 1 : -1);
    if (added && loop->nconns >= max)
        for (size_t i = 0; i < w->nlsn; i++)
            evconnlistener_disable(w->lsn[i]);
    if (!added && loop->nconns + 1 == max && !loop->draining && !w->accept_paused)
        for (size_t i = 0; i < w->nlsn; i++)
            evconnlistener_enable(w->lsn[i]);
    if (!added)
        trim_conns(loop->base, loop->nconns);
    if (loop->draining)
        worker_exit_if_done(w);
}

/* ---- accepting ---- */

static int worker_may_accept(const struct worker *w)
{
    return !w->accept_paused && !w->loop.draining &&
           w->loop.nconns < w->loop.cfg->limits.max_connections;
}

/* One connection per TLS listener per loop turn, as nginx takes them:
 * libevent's listener would call accept(2) until it fails, and an accept
 * that finds the queue empty still makes and frees a socket in the kernel
 * (~1% of a full handshake's CPU when clients come one at a time). The
 * listener is turned off for the rest of the turn and on again at its end,
 * which libevent's change list applies as one EPOLL_CTL_MOD (cheaper than
 * the empty accept); connections waiting behind are taken after the next
 * poll (the socket stays readable).
 * Plain listeners keep libevent's loop: a plain connection costs so little
 * that a poll per connection in a burst cost 13% more CPU per request
 * (Connection: close, 50 clients) than the empty accept saves. */
static void worker_accept_again_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    for (size_t i = 0; i < w->nlsn; i++) {
        if (!w->lsn_arg[i].held)
            continue;
        w->lsn_arg[i].held = 0;
        if (worker_may_accept(w))
            evconnlistener_enable(w->lsn[i]);
    }
}

static void worker_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                             int socklen, void *arg)
{
    struct worker_listener *wl = arg;
    struct worker *w = wl->w;
    struct conn *c = conn_new(&w->loop, fd, sa, wl->lc, wl->tls);
    if (c) {
        proto_conn_start(c);
        conn_read_now(c);
    }
    if (wl->tls && worker_may_accept(w) && w->accept_again) {
        evconnlistener_disable(l); /* libevent's loop stops when its callback disables */
        wl->held = 1;
        event_active(w->accept_again, EV_TIMEOUT, 1);
    }
}

static void worker_accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    w->accept_paused = 0;
    if (w->loop.draining || w->loop.nconns >= w->loop.cfg->limits.max_connections)
        return; /* worker_conns_changed enables them when it may */
    for (size_t i = 0; i < w->nlsn; i++)
        evconnlistener_enable(w->lsn[i]);
}

/* Out of descriptors or memory: the connection stays in the listen queue and
 * the socket stays readable, so retrying at once would spin the loop (and
 * log) without end. Stop accepting for a moment instead, as nginx does, keep
 * serving the connections held (their closing frees descriptors), and say
 * so once per WORKER_ACCEPT_REPORT seconds with a count. */
static void worker_accept_pause(struct worker *w, int err)
{
    double now = util_now();
    w->accept_failures++;
    if (!w->accept_reported || now - w->accept_reported >= WORKER_ACCEPT_REPORT) {
        log_error("accept: %s (%lu times since the last report): new connections wait %.1f s "
                  "at a time while %zu held ones are served",
                  strerror(err), w->accept_failures, WORKER_ACCEPT_PAUSE, w->loop.nconns);
        w->accept_failures = 0;
        w->accept_reported = now;
    }
    if (w->accept_paused)
        return;
    w->accept_paused = 1;
    for (size_t i = 0; i < w->nlsn; i++)
        evconnlistener_disable(w->lsn[i]);
    if (!w->accept_resume)
        w->accept_resume = evtimer_new(w->loop.base, worker_accept_resume_cb, w);
    struct timeval tv = util_timeval(WORKER_ACCEPT_PAUSE);
    evtimer_add(w->accept_resume, &tv);
}

static void worker_accept_error_cb(struct evconnlistener *l, void *arg)
{
    struct worker_listener *wl = arg;
    int err = errno;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM)
        worker_accept_pause(wl->w, err);
    else
        log_error("accept: %s", strerror(err));
}

static int worker_listen(struct worker *w, const struct listen_set *ls, const struct tls_set *tls,
                         int slot)
{
    w->lsn = xcalloc(ls->n, sizeof(*w->lsn));
    w->lsn_arg = xcalloc(ls->n, sizeof(*w->lsn_arg));
    for (size_t i = 0; i < ls->n; i++) {
        struct worker_listener *wl = &w->lsn_arg[i];
        wl->w = w;
        wl->lc = &w->loop.cfg->listens[i]; /* the set was built from this config, in order */
        wl->tls = tls_server_at(tls, i);
        /* backlog 0: the master's listen(2) with the configured backlog
         * stands (libevent's -1 would listen again with 128) */
        w->lsn[i] = evconnlistener_new(w->loop.base, worker_accept_cb, wl, LEV_OPT_CLOSE_ON_FREE, 0,
                                       ls->socks[i].fds[slot]);
        if (!w->lsn[i])
            return -1;
        evconnlistener_set_error_cb(w->lsn[i], worker_accept_error_cb);
        /* Accepted sockets inherit TCP_NODELAY from their listener: Nagle
         * would hold a small answer (or a TLS handshake's last flight and
         * tickets) for the client's delayed ACK, 40 ms, and setting it on
         * each connection costs a system call. Set here, not where the
         * socket was made: a reload or a binary upgrade hands sockets on. */
        int one = 1;
        setsockopt(ls->socks[i].fds[slot], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        w->nlsn++;
    }
    w->accept_again = event_new(w->loop.base, -1, 0, worker_accept_again_cb, w);
    return 0;
}

/* ---- stopping ---- */

static void __attribute__((noreturn)) worker_exit(struct worker *w, int status)
{
    while (w->loop.conns)
        conn_close(w->loop.conns);
    module_shutdown_all(w->ms);
    timer_free_all(&w->loop);   /* after shutdown: the modules' handles were valid in it */
    process_free_all(&w->loop); /* after the connections: their requests ended theirs */
    client_free(&w->loop);      /* before the base its events are on */
    pipeline_free_orphans();
    pubsub_shutdown();
    session_shutdown();
    threadpool_shutdown();
    log_flush();
    for (size_t i = 0; i < w->nlsn; i++)
        if (w->lsn[i])
            evconnlistener_free(w->lsn[i]);
    free(w->lsn);
    free(w->lsn_arg);
    for (size_t i = 0; i < ARRAY_SIZE(w->signals); i++)
        if (w->signals[i])
            event_free(w->signals[i]);
    if (w->tick)
        event_free(w->tick);
    if (w->logs)
        event_free(w->logs);
    if (w->accept_resume)
        event_free(w->accept_resume);
    if (w->accept_again)
        event_free(w->accept_again);
    h1_shutdown();
    trim_shutdown();
    if (w->grace)
        event_free(w->grace);
    router_free(w->rt);
    event_base_free(w->loop.base);
    module_free_all(w->ms);
    loop_free(&w->loop);
    exit(status);
}

static void worker_exit_if_done(struct worker *w)
{
    if (w->loop.draining && w->loop.nconns == 0)
        event_base_loopbreak(w->loop.base);
}

static void worker_grace_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    log_warn("grace period over: closing %zu connections", w->loop.nconns);
    event_base_loopbreak(w->loop.base);
}

static void worker_drain(struct worker *w)
{
    if (w->loop.draining)
        return;
    w->loop.draining = 1;
    log_info("draining %zu connections", w->loop.nconns);
    for (size_t i = 0; i < w->nlsn; i++) {
        evconnlistener_free(w->lsn[i]); /* closes our copy of the socket */
        w->lsn[i] = NULL;
    }
    w->nlsn = 0;
    /* The master waits for this before it tells systemd the reload is done:
     * from now on no new connection reaches the old configuration. */
    if (!w->orphan && ipc_send(w->ipc_fd, IPC_DRAINING, NULL, 0) < 0)
        log_warn("telling the master we drain: %s", strerror(errno));
    struct timeval tv = util_timeval(w->loop.cfg->grace_period);
    w->grace = evtimer_new(w->loop.base, worker_grace_cb, w);
    evtimer_add(w->grace, &tv);
    for (struct conn *c = w->loop.conns, *next; c; c = next) {
        next = c->next;
        if (c->proto && c->proto->drain)
            c->proto->drain(c);
    }
    pubsub_drain(); /* long polls answer now: their clients come back to new workers */
    worker_exit_if_done(w);
}

static void worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct worker *w = arg;
    switch (sig) {
    case SIGQUIT:
        worker_drain(w);
        break;
    case SIGUSR1: /* the files come from the master (worker_logs_cb); e.g. from
                     `systemctl kill`, which signals every process of the unit */
        log_flush();
        break;
    case SIGUSR2: /* the parent-death signal: no one will replace us or stop us */
        log_error("the master is gone (killed?): finishing %zu connections, then exiting",
                  w->loop.nconns);
        w->orphan = 1;
        worker_drain(w);
        break;
    default: /* SIGTERM, SIGINT */
        event_base_loopbreak(w->loop.base);
        break;
    }
}

static void worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    log_flush();
}

/* IPC_LOGS: which[0] and which[1] say whether the error and the access log
 * came, in that order. */
static void worker_logs_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    unsigned char which[2];
    int fds[IPC_MAX_FDS];
    size_t n = 0;
    uint32_t type;
    int len = ipc_recv_fds(fd, &type, which, sizeof(which), fds, &n);
    if (len < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (len <= 0 || type == 0) {
        event_del(w->logs); /* the master is gone: SIGUSR2 tells the rest */
        for (size_t i = 0; i < n; i++)
            close(fds[i]);
        return;
    }
    if (type != IPC_LOGS || len != 2 || n != (size_t)(which[0] + which[1])) {
        for (size_t i = 0; i < n; i++)
            close(fds[i]);
        return;
    }
    log_adopt(which[0] ? fds[0] : -1, which[1] ? fds[n - 1] : -1);
    log_info("logs reopened");
}

static void worker_signals(struct worker *w)
{
    static const int sigs[] = {SIGQUIT, SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* the master's business */
    for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
        w->signals[i] = evsignal_new(w->loop.base, sigs[i], worker_signal_cb, w);
        evsignal_add(w->signals[i], NULL);
    }
    struct timeval flush = util_timeval(log_settings(w->loop.cfg)->access_log_flush);
    w->tick = event_new(w->loop.base, -1, EV_PERSIST, worker_tick_cb, w);
    evtimer_add(w->tick, &flush);
    w->logs = event_new(w->loop.base, w->log_fd, EV_READ | EV_PERSIST, worker_logs_cb, w);
    event_add(w->logs, NULL);
}

/* ---- privileges ---- */

int worker_credentials(const struct config *cfg, uid_t *uid, gid_t *gid)
{
    if (getuid() != 0 && geteuid() != 0)
        return 0; /* not root: nothing to drop */
    const char *user = cfg->user ? cfg->user : "nobody";
    struct passwd *pw = getpwnam(user);
    if (!pw)
        return cfg->user ? -1 : 0; /* no 'nobody' on this system: stay */
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    if (cfg->group) {
        struct group *gr = getgrnam(cfg->group);
        if (!gr)
            return -1;
        *gid = gr->gr_gid;
    }
    return 1;
}

static int worker_drop_privileges(const struct config *cfg)
{
    uid_t uid = 0;
    gid_t gid = 0;
    int rc = worker_credentials(cfg, &uid, &gid);
    if (rc >= 0 && session_prepare(cfg, uid, gid, rc == 1) < 0)
        return -1;
    if (rc < 0) {
        log_error("user %s or group %s does not exist", cfg->user ? cfg->user : "nobody",
                  cfg->group ? cfg->group : "(primary)");
        return -1;
    }
    if (rc == 0) {
        if (getuid() == 0)
            log_warn("no user 'nobody': workers keep running as root");
        return 0;
    }
    if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
        log_error("dropping privileges to uid %u: %s", (unsigned)uid, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- the run ---- */

static void worker_build_router(struct worker *w)
{
    char err[256];
    w->rt = router_new();
    for (size_t i = 0; i < w->ms->nroutes; i++) {
        struct route *r = &w->ms->routes[i];
        if (router_add(w->rt, r->conf->path, r, err, sizeof(err)) < 0) {
            log_error("%s:%d: %s", w->loop.cfg->file, r->conf->line, err);
            exit(3);
        }
    }
}

static void worker_setup(struct worker *w, const struct listen_set *ls, const struct tls_set *tls,
                         int slot)
{
    char *errors = NULL;
    w->ms = module_load_all(w->loop.cfg, &errors);
    if (!w->ms) {
        log_error("%s", errors);
        exit(3);
    }
    worker_build_router(w);
    /* What the request pipeline is made of in this worker: the WebSocket
     * upgrade, and the output stages in the order answers pass them. */
    static const struct http_upgrade websocket = {
        .accept = ws_accept,
        .attach = ws_attach,
        .stream_read = ws_stream_read,
        .stream_end = ws_stream_end,
        .stream_gone = ws_stream_gone,
        .stream_drain = ws_stream_drain,
    };
    pipeline_set_upgrade(&websocket);
    pipeline_stage_add(&etag_stage);
    pipeline_stage_add(&compress_stage);
    if (worker_drop_privileges(w->loop.cfg) < 0)
        exit(3);
    /* A master that dies (kill -9, a crash) sends SIGUSR2 to its workers,
     * which then finish what they hold as on a graceful stop, and exit. */
    prctl(PR_SET_PDEATHSIG, SIGUSR2);
    /* Connections come and go by the thousand: keep freed heap for the next
     * ones instead of giving it back to the kernel (brk) and asking again. */
    mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TOP_PAD, 4 * 1024 * 1024);
    /* With the changelist, a poll registration made and dropped within one
     * loop turn (a connection accepted, answered and closed at once) costs
     * no epoll_ctl at all. Workers never dup a watched descriptor, which is
     * the one thing the changelist cannot follow. */
    struct event_config *ec = event_config_new();
    if (ec)
        event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
    w->loop.base = ec ? event_base_new_with_config(ec) : NULL;
    if (ec)
        event_config_free(ec);
    if (!w->loop.base) {
        log_error("cannot create the event loop");
        exit(3);
    }
    if (loop_init(&w->loop, w->loop.base, w->loop.cfg, slot) < 0) {
        log_error("cannot set up the event loop's timeouts");
        exit(3);
    }
    struct rlimit nofile;
    size_t nfds = w->loop.cfg->limits.max_connections + 64; /* listeners, logs, modules' */
    if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nfds)
        nfds = nofile.rlim_cur;
    trim_prepare(w->loop.base, (int)nfds);
    w->loop.modules = w->ms;
    w->loop.router = w->rt;
    w->loop.conns_changed = worker_conns_changed;
    worker_signals(w);
    locale_use(locale_settings(w->loop.cfg)->set); /* for locale_get: templates */
    if (ws_init(&w->loop) < 0 || session_init(w->loop.cfg, w->loop.base) < 0 ||
        threadpool_init(w->loop.base, WORKER_POOL_THREADS) < 0 ||
        pubsub_init(&w->loop, w->ipc_fd) < 0 || module_init_all(w->ms, &w->loop) < 0)
        worker_exit(w, 3);
    if (worker_listen(w, ls, tls, slot) < 0) {
        log_error("cannot listen: %s", strerror(errno));
        worker_exit(w, 3);
    }
}

void worker_run(const struct config *cfg, const struct listen_set *ls, const struct tls_set *tls,
                int slot, unsigned gen, int ipc_fd, int log_fd, struct metrics_slot *metrics)
{
    static struct worker w;
    char who[32];
    snprintf(who, sizeof(who), "worker %d", slot);
    log_set_prefix(who);
    w.loop.id = slot;
    w.loop.cfg = cfg;
    w.gen = gen;
    w.ipc_fd = ipc_fd;
    w.loop.metrics = metrics;
    w.log_fd = log_fd;
    pid_t master = getppid();
    worker_setup(&w, ls, tls, slot);
    if (getppid() != master) /* it died before PR_SET_PDEATHSIG was set */
        worker_exit(&w, 0);
    if (ipc_send(ipc_fd, IPC_READY, NULL, 0) < 0)
        log_warn("telling the master we are ready: %s", strerror(errno));
    event_base_dispatch(w.loop.base);
    worker_exit(&w, 0);
}
