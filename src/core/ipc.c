/*
 * ipc.c - master <-> worker messages.
 */
#include "core/ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

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

int ipc_send_fds(int fd, uint32_t type, const void *payload, size_t len, const int *fds,
                 size_t nfds)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
    } ctl;
    if (len > IPC_MAX_PAYLOAD || nfds == 0 || nfds > IPC_MAX_FDS) {
        errno = EINVAL;
        return -1;
    }
    memset(&ctl, 0, sizeof(ctl));
    struct ipc_hdr h = {.type = type, .len = (uint32_t)len};
    struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, len}};
    struct msghdr m = {.msg_iov = iov,
                       .msg_iovlen = 2,
                       .msg_control = ctl.buf,
                       .msg_controllen = CMSG_SPACE(sizeof(int) * nfds)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    ssize_t n;
    do
        n = sendmsg(fd, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)(sizeof(h) + len) ? 0 : -1;
}

/* Take the descriptors of an SCM_RIGHTS message; -1 when there were more
 * than cap or the control data was cut (all that came are closed). With fds
 * NULL they are closed. */
static int ipc_take_fds(struct msghdr *m, int *fds, size_t cap, size_t *nfds)
{
    int bad = (m->msg_flags & MSG_CTRUNC) != 0;
    *nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int got;
            memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (fds && *nfds < cap)
                fds[(*nfds)++] = got;
            else {
                close(got);
                bad |= fds != NULL; /* where none are expected they only leak */
            }
        }
    }
    if (!bad)
        return 0;
    while (*nfds > 0)
        close(fds[--*nfds]);
    return -1;
}

/* One message; descriptors attached go to fds (up to IPC_MAX_FDS) when fds
 * is not NULL, and are closed otherwise. */
static int ipc_recv_msg(int fd, uint32_t *type, void *buf, size_t cap, int *fds, size_t *nfds)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * IPC_MAX_FDS)];
    } ctl;
    struct ipc_hdr h;
    struct iovec iov[2] = {{&h, sizeof(h)}, {buf, cap}};
    struct msghdr m = {
        .msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.buf, .msg_controllen = sizeof(ctl)};
    size_t dummy;
    ssize_t n;
    do
        n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n == 0) {
        *type = 0;
        return 0;
    }
    if (n < 0)
        return -1;
    int fds_ok = ipc_take_fds(&m, fds, fds ? IPC_MAX_FDS : 0, nfds ? nfds : &dummy);
    if (fds_ok < 0 || (m.msg_flags & MSG_TRUNC) || (size_t)n < sizeof(h) ||
        h.len != (size_t)n - sizeof(h) || h.type == 0 || h.type >= IPC_TYPE_MAX) {
        errno = EPROTO;
        return -1;
    }
    *type = h.type;
    return (int)h.len;
}

int ipc_recv(int fd, uint32_t *type, void *buf, size_t cap)
{
    return ipc_recv_msg(fd, type, buf, cap, NULL, NULL);
}

int ipc_recv_fds(int fd, uint32_t *type, void *buf, size_t cap, int *fds, size_t *nfds)
{
    return ipc_recv_msg(fd, type, buf, cap, fds, nfds);
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
