/*
 * worker.h - one worker process: composes the loop context (core/loop.h),
 * its listeners, modules and router, and runs its graceful drain.
 */
#ifndef GALE_WORKER_H
#define GALE_WORKER_H

#include <stddef.h>
#include <sys/time.h>
#include <sys/types.h>

struct config;
struct listen_set;
struct metrics_slot;
struct tls_set;

/* Run worker `slot` of generation `gen` on sockets ls (slot's fds) with the
 * TLS contexts tls (per listen entry), sending IPC to `ipc_fd` and counting
 * into `metrics` (NULL: metrics are off); the master sends reopened logs on
 * `log_fd`. Never returns: exits 0 after a stop, 3 when modules fail to
 * load or initialise. */
void worker_run(const struct config *cfg, const struct listen_set *ls, const struct tls_set *tls,
                int slot, unsigned gen, int ipc_fd, int log_fd, struct metrics_slot *metrics)
    __attribute__((noreturn));

/* The user and group workers run as: 1 and the ids when privileges are to
 * be dropped (started as root: `user`, by default "nobody"), 0 when not,
 * -1 when the user or group does not exist. */
int worker_credentials(const struct config *cfg, uid_t *uid, gid_t *gid);

#endif
