/*
 * listen.h - the listening sockets, bound by the master.
 *
 * Each `listen` entry gets one SO_REUSEPORT socket per worker slot: the
 * kernel spreads new connections evenly over the slots, and no worker can
 * starve the others as with a shared socket and an accept lock. The master
 * keeps every socket open, so connections that arrive while a slot's worker
 * is being replaced wait in that socket's queue; on reload the new worker of
 * a slot takes over the same socket from the old one.
 */
#ifndef GALE_LISTEN_H
#define GALE_LISTEN_H

#include <stddef.h>

struct config;

struct listen_sock {
    char *address;
    int port;
    int backlog;
    int *fds; /* one per slot */
};

struct listen_set {
    struct listen_sock *socks;
    size_t n;
    int slots;
};

/* Build the sockets `cfg` asks for with `slots` slots, sharing (dup) the
 * sockets of `old` (may be NULL) that have the same address and port, so that
 * the old set stays whole until the caller closes it (a failed reload keeps
 * it). Returns 0, or -1 with a message in *err (caller frees). */
int listen_open(struct listen_set *ls, const struct config *cfg, int slots, struct listen_set *old,
                char **err);
/* One listening socket, or -1 with errno set; `slots`: a public one, shared
 * by the worker slots (SO_REUSEPORT), else a socket of its own. */
int listen_socket(const char *address, int port, int backlog, int slots);
/* The socket of ls (may be NULL) on that address and port, or NULL. */
struct listen_sock *listen_find(struct listen_set *ls, const char *address, int port);
/* Close every socket still owned by the set and free it. */
void listen_close(struct listen_set *ls);

#endif
