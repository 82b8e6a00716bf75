/*
 * upgrade.h - replacing the binary without dropping a connection, as nginx
 * does: SIGUSR2 makes the master start the binary again (the file its
 * command line names, which may have been replaced) with every listening
 * socket inherited; the new master serves with them instead of binding, the
 * old pid file becomes NAME.oldbin, and SIGQUIT to the old master then
 * drains its workers. If the new binary fails, the old master never stopped
 * serving and takes its pid file back.
 *
 * The sockets travel in the environment variable GALE_INHERIT:
 * "ADDRESS PORT FD FD ...;" per socket, the descriptors in slot order.
 */
#ifndef GALE_UPGRADE_H
#define GALE_UPGRADE_H

#include <sys/types.h>

struct listen_set;

/* Remember the command line (main, before anything else). */
void upgrade_init(int argc, char **argv);

/* Fork and exec the binary again, handing over the sockets of ls and the
 * extra socket `fd` on `address` `port` (fd -1: none). Returns the child's
 * pid, or -1 with errno set. */
pid_t upgrade_start(const struct listen_set *ls, int fd, const char *address, int port);

/* In a master started by an upgrade: the sockets handed over, as a set
 * whose sockets listen_open and metrics_server_prepare take over (by address
 * and port); the caller closes it with listen_close once they have. An
 * empty set when there is none. */
void upgrade_inherited(struct listen_set *ls);

#endif
