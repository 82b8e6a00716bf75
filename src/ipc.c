/*
 * ipc.c - master <-> worker messages.
 */
#include "ipc.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "util.h"

int ipc_pair(int fds[2])
{
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
        return -1;
    if (util_set_nonblock(fds[0]) < 0 || util_set_nonblock(fds[1]) < 0)
        return -1;
    return 0;
}

int ipc_send(int fd, uint32_t type, const void *payload, size_t len)
{
    if (len > IPC_MAX_PAYLOAD) {
        errno = EMSGSIZE;
        return -1;
    }
    struct ipc_hdr h = {.type = type, .len = (uint32_t)len};
    struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)payload, len}};
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
    ssize_t n;
    do
        n = sendmsg(fd, &m, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)(sizeof(h) + len) ? 0 : -1;
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
