/*
 * rlimit.c - RLIMIT_NOFILE for the workers (see rlimit.h).
 *
 * Every connection is a descriptor. Most systems start processes with a soft
 * limit of 1024, far below the default max_connections of 10000, and a
 * worker that reaches it can only refuse connections. Like nginx's
 * worker_rlimit_nofile, gale raises the limit itself; unlike nginx it does so
 * by default, up to the hard limit, which any process may do.
 */
#include "daemon/rlimit.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "core/config_table.h"
#include "core/log.h"

/* Descriptors a worker holds besides its connections: listeners, the event
 * loop, logs, the master's socket, modules' files, upload temporaries. */
#define RLIMIT_SPARE 64

static const struct config_directive rlimit_settings_table[] = {
    CONFIG_INT(struct rlimit_settings, worker_rlimit_nofile, 0, 0, 0, 1 << 30),
    CONFIG_END,
};

struct config_part rlimit_settings_part = {
    .name = NULL,
    .scope = CONFIG_SCOPE_MAIN,
    .size = sizeof(struct rlimit_settings),
    .table = rlimit_settings_table,
};

static void rlimit_set(rlim_t soft, rlim_t hard)
{
    struct rlimit want = {soft, hard};
    if (setrlimit(RLIMIT_NOFILE, &want) < 0)
        log_warn("cannot set the descriptor limit (RLIMIT_NOFILE) to %llu: %s",
                 (unsigned long long)soft, strerror(errno));
}

void rlimit_apply(const struct config *cfg)
{
    const struct rlimit_settings *rs = config_part(cfg->parts, &rlimit_settings_part);
    struct rlimit cur;
    if (getrlimit(RLIMIT_NOFILE, &cur) < 0)
        return;
    if (rs->worker_rlimit_nofile > 0) {
        rlim_t n = (rlim_t)rs->worker_rlimit_nofile;
        rlimit_set(n, cur.rlim_max == RLIM_INFINITY || n > cur.rlim_max ? n : cur.rlim_max);
    } else if (cur.rlim_cur != cur.rlim_max) {
        rlimit_set(cur.rlim_max, cur.rlim_max);
    }
    getrlimit(RLIMIT_NOFILE, &cur);
    unsigned long long need = cfg->limits.max_connections + RLIMIT_SPARE;
    if (cur.rlim_cur != RLIM_INFINITY && cur.rlim_cur < need)
        log_warn("max_connections = %zu needs about %llu descriptors per worker, but the "
                 "limit (RLIMIT_NOFILE) is %llu: connections beyond it wait; raise "
                 "worker_rlimit_nofile, LimitNOFILE= (systemd) or ulimit -Hn",
                 cfg->limits.max_connections, need, (unsigned long long)cur.rlim_cur);
}
