/*
 * ipc.c - master <-> worker messages.
 */
#include "core/ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "core/util.h"

/* Pub/sub bursts ride on these sockets: room for many messages before a
 * sender sees EAGAIN (root may exceed wmem_max; others get what it allows). */
#define IPC_SOCKBUF (4 * 1024 * 1024)

static void ipc_grow_buffers(int fd)
{
    int size = IPC_SOCKBUF;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

int ipc_pair(int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
        return -1;
    if (util_set_nonblock(fds[0]) < 0 || util_set_nonblock(fds[1]) < 0)
        return -1;
    ipc_grow_buffers(fds[0]);
    ipc_grow_buffers(fds[1]);
    return 0;
}

static int ipc_send2(int fd, uint32_t type, const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen + blen > IPC_MAX_PAYLOAD) {
        errno = EMSGSIZE;
        return -1;
    }
    struct ipc_hdr h = {.type = type, .len = (uint32_t)(alen + blen)};
    struct iovec iov[3] = {{&h, sizeof(h)}, {(void *)a, alen}, {(void *)b, blen}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 3};
    ssize_t n;
    do
        n = sendmsg(fd, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)(sizeof(h) + alen + blen) ? 0 : -1;
}

int ipc_send(int fd, uint32_t type, const void *payload, size_t len)
{
    return ipc_send2(fd, type, payload, len, NULL, 0);
}

int ipc_recv(int fd, uint32_t *type, void *buf, size_t cap)
{
    struct ipc_hdr h;
    struct iovec iov[2] = {{&h, sizeof(h)}, {buf, cap}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n;
    do
        n = recvmsg(fd, &m, 0);
    while (n < 0 && errno == EINTR);
    if (n == 0) {
        *type = 0;
        return 0;
    }
    if (n < 0)
        return -1;
    if ((m.msg_flags & MSG_TRUNC) || (size_t)n < sizeof(h) || h.len != (size_t)n - sizeof(h) ||
        h.type == 0 || h.type >= IPC_TYPE_MAX) {
        errno = EPROTO;
        return -1;
    }
    *type = h.type;
    return (int)h.len;
}

/* ---- the outgoing queue ---- */

struct ipc_queue {
    int fd;
    size_t limit;
    struct evbuffer *q; /* records: struct ipc_hdr, then the payload */
    struct event *ev;   /* EV_WRITE while q is not empty */
};

/* Send queued records until the socket is full. */
static void ipc_queue_drain(struct ipc_queue *q)
{
    struct ipc_hdr h;
    while (evbuffer_copyout(q->q, &h, sizeof(h)) == (ev_ssize_t)sizeof(h)) {
        unsigned char *rec = evbuffer_pullup(q->q, (ev_ssize_t)(sizeof(h) + h.len));
        if (ipc_send2(q->fd, h.type, rec + sizeof(h), h.len, NULL, 0) < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                event_add(q->ev, NULL);
                return;
            }
            evbuffer_drain(q->q, evbuffer_get_length(q->q)); /* the peer is gone */
            break;
        }
        evbuffer_drain(q->q, sizeof(h) + h.len);
    }
    event_del(q->ev);
}

static void ipc_queue_cb(evutil_socket_t fd, short what, void *arg)
{
    ipc_queue_drain(arg);
}

struct ipc_queue *ipc_queue_new(struct event_base *base, int fd, size_t limit)
{
    struct ipc_queue *q = xcalloc(1, sizeof(*q));
    q->fd = fd;
    q->limit = limit;
    q->q = evbuffer_new();
    q->ev = event_new(base, fd, EV_WRITE, ipc_queue_cb, q);
    if (!q->q || !q->ev)
        util_oom();
    return q;
}

int ipc_queue_send(struct ipc_queue *q, uint32_t type, const void *a, size_t alen, const void *b,
                   size_t blen)
{
    if (alen + blen > IPC_MAX_PAYLOAD)
        return -1;
    size_t queued = evbuffer_get_length(q->q);
    if (queued == 0) {
        if (ipc_send2(q->fd, type, a, alen, b, blen) == 0)
            return 0;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
    }
    if (queued + alen + blen > q->limit)
        return -1;
    struct ipc_hdr h = {.type = type, .len = (uint32_t)(alen + blen)};
    evbuffer_add(q->q, &h, sizeof(h));
    evbuffer_add(q->q, a, alen);
    evbuffer_add(q->q, b, blen);
    if (queued == 0)
        event_add(q->ev, NULL);
    return 0;
}

int ipc_queue_half_empty(const struct ipc_queue *q)
{
    return evbuffer_get_length(q->q) <= q->limit / 2;
}

void ipc_queue_free(struct ipc_queue *q)
{
    if (!q)
        return;
    event_free(q->ev);
    evbuffer_free(q->q);
    free(q);
}
