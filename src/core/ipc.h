/*
 * ipc.h - typed, size-checked messages between the master and a worker over
 * a SOCK_SEQPACKET socketpair (one message per packet, never split).
 */
#ifndef GALE_IPC_H
#define GALE_IPC_H

#include <stddef.h>
#include <stdint.h>

#define IPC_MAX_PAYLOAD 65536

struct event_base;

enum ipc_type {
    IPC_READY = 1,    /* worker -> master: listening and modules initialised */
    IPC_DRAINING,     /* worker -> master: stopped accepting (SIGQUIT) */
    IPC_PUBLISH,      /* worker -> master: a pub/sub message (pubsub.h's format) */
    IPC_MESSAGE,      /* master -> every worker: a pub/sub message, in the master's order */
    IPC_SEQUENCED,    /* master -> a worker: its publish got this offset */
    IPC_HISTORY,      /* worker -> master: the messages of a channel since an offset */
    IPC_HISTORY_ITEM, /* master -> a worker: one of them */
    IPC_HISTORY_END,  /* master -> a worker: all sent, or they cannot be */
    IPC_LAGGED,       /* master -> a worker: messages for it were dropped (it fell behind) */
    /* presence (pubsub_presence.h): worker -> master, a member joined a
     * channel, its client went, who is in a channel; master -> a worker,
     * the answer */
    IPC_PRESENCE_JOIN,
    IPC_PRESENCE_LEAVE,
    IPC_PRESENCE_GET,
    IPC_PRESENCE_LIST,
    IPC_LOGS, /* master -> a worker: reopened log files (descriptors attached) */
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

/* Send one message with descriptors attached (SCM_RIGHTS): the receiver gets
 * its own copies of open files it may have no right to open by name. */
int ipc_send_fds(int fd, uint32_t type, const void *payload, size_t len, const int *fds,
                 size_t nfds);
/* ipc_recv that also takes up to IPC_MAX_FDS attached descriptors (close-on-
 * exec) into fds, their number into *nfds; the caller owns them. A message
 * with more descriptors than that is an error (those that came are closed). */
#define IPC_MAX_FDS 4
int ipc_recv_fds(int fd, uint32_t *type, void *buf, size_t cap, int *fds, size_t *nfds);

/*
 * An outgoing queue on a non-blocking socket: messages the peer cannot take
 * yet (EAGAIN) wait here, in order, and leave when the socket is writable.
 * A message is sent as two parts (a small header of the caller's and a
 * body) so that nothing is copied on the fast path.
 */
struct ipc_queue;

/* limit: the most bytes that may wait; beyond it messages are refused. */
struct ipc_queue *ipc_queue_new(struct event_base *base, int fd, size_t limit);
/* Send or queue one message; -1 when it is too big or the queue is full
 * (the message is dropped: the peer is stuck or gone). */
int ipc_queue_send(struct ipc_queue *q, uint32_t type, const void *a, size_t alen, const void *b,
                   size_t blen);
/* Whether at most half of the limit waits (room again after a drop). */
int ipc_queue_half_empty(const struct ipc_queue *q);
void ipc_queue_free(struct ipc_queue *q);

#endif
