/*
 * ipc.h - typed, size-checked messages between the master and a worker over
 * a SOCK_SEQPACKET socketpair (one message per packet, never split).
 */
#ifndef GALE_IPC_H
#define GALE_IPC_H

#include <stddef.h>
#include <stdint.h>

#define IPC_MAX_PAYLOAD 65000

enum ipc_type {
    IPC_READY = 1, /* worker -> master: listening and modules initialised */
    IPC_DRAINING,  /* worker -> master: stopped accepting (SIGQUIT) */
    IPC_TYPE_MAX,
};

struct ipc_hdr {
    uint32_t type;
    uint32_t len; /* payload bytes after the header */
};

/* A socketpair: fds[0] for the master, fds[1] for the worker. */
int ipc_pair(int fds[2]);
/* Send one message; 0, or -1 (errno; EAGAIN when the peer is slow). */
int ipc_send(int fd, uint32_t type, const void *payload, size_t len);
/* Receive one message into buf (cap bytes). Returns the payload length and
 * sets *type; 0 with *type == 0 at end of file; -1 on error or a malformed
 * message (wrong size, unknown type). */
int ipc_recv(int fd, uint32_t *type, void *buf, size_t cap);

#endif
