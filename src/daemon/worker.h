/*
 * worker.h - one worker process: its event loop, listeners, connections,
 * modules and router, and its graceful drain.
 */
#ifndef GALE_WORKER_H
#define GALE_WORKER_H

#include <stddef.h>
#include <sys/time.h>
#include <sys/types.h>

struct config;
struct listen_set;
struct tls_set;
struct module_set;
struct router;
struct conn;
struct route;
struct worker;

/* The timeouts of the config, as libevent common timeouts (O(1) to add). */
enum worker_tv {
    WORKER_TV_HEADER,
    WORKER_TV_BODY,
    WORKER_TV_IDLE,
    WORKER_TV_SEND,
    WORKER_TV_LINGER,
    WORKER_TV_DRAIN_IDLE,
    WORKER_TV_WS_PING,  /* websocket.ping_interval */
    WORKER_TV_WS_PONG,  /* websocket.ping_timeout */
    WORKER_TV_WS_CLOSE, /* websocket.close_timeout */
    WORKER_TV_COUNT
};

/* Run worker `slot` of generation `gen` on sockets ls (slot's fds) with the
 * TLS contexts tls (per listen entry), sending
 * IPC to `ipc_fd`. Never returns: exits 0 after a stop, 3 when modules fail
 * to load or initialise. */
void worker_run(const struct config *cfg, const struct listen_set *ls, const struct tls_set *tls,
                int slot, unsigned gen, int ipc_fd) __attribute__((noreturn));

/* The user and group workers run as: 1 and the ids when privileges are to
 * be dropped (started as root: `user`, by default "nobody"), 0 when not,
 * -1 when the user or group does not exist. */
int worker_credentials(const struct config *cfg, uid_t *uid, gid_t *gid);

struct event_base *worker_base(const struct worker *w);
int worker_id(const struct worker *w);
const struct config *worker_config(const struct worker *w);
const struct router *worker_router(const struct worker *w);
/* The route whose config gives it this name, or NULL. */
const struct route *worker_route_named(const struct worker *w, const char *name);
const struct timeval *worker_timeout(const struct worker *w, enum worker_tv which);
int worker_draining(const struct worker *w);
/* "Date: ...\r\n" for now, refreshed once a second (IMF-fixdate). */
const char *worker_date_header(struct worker *w, size_t *len);
/* "Server: ...\r\n" */
const char *worker_server_header(const struct worker *w, size_t *len);

void worker_conn_add(struct worker *w, struct conn *c);
void worker_conn_remove(struct worker *w, struct conn *c);

#endif
