/*
 * listen.c - binding the listening sockets (IPv4 and IPv6, one per slot).
 */
#include "net/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"

static int listen_sockaddr(const char *address, int port, struct sockaddr_storage *ss,
                           socklen_t *len)
{
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, address, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((unsigned short)port);
        *len = sizeof(*in4);
        return 0;
    }
    if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((unsigned short)port);
        *len = sizeof(*in6);
        return 0;
    }
    errno = EINVAL;
    return -1;
}

/* One bound socket: non-blocking, close-on-exec, IPV6_V6ONLY so that "::"
 * and "0.0.0.0" can share a port, and for the public listeners (`slots`)
 * SO_REUSEPORT and TCP_DEFER_ACCEPT. */
static int listen_bind(const char *address, int port, int slots)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int one = 1;
    if (listen_sockaddr(address, port, &ss, &len) < 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        (slots && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
        (ss.ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
        /* Accept only once the client has sent something (the request, or a
         * TLS ClientHello): the worker then reads it without waiting. */
        (slots && setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one)) < 0) ||
        bind(fd, (struct sockaddr *)&ss, len) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int listen_socket(const char *address, int port, int backlog, int slots)
{
    int fd = listen_bind(address, port, slots);
    if (fd >= 0 && listen(fd, backlog) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Whether nobody listens on address:port. SO_REUSEPORT lets every socket of
 * the same user that sets it share a port, so a second gale on a port the
 * first holds would bind without a word and take half its connections: a
 * bind without SO_REUSEPORT fails on any listener there, ours or not
 * (SO_REUSEADDR still passes the TIME_WAIT left by a gale just stopped). */
static int listen_probe(const char *address, int port)
{
    int fd = listen_bind(address, port, 0);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

struct listen_sock *listen_find(struct listen_set *ls, const char *address, int port)
{
    for (size_t i = 0; ls && i < ls->n; i++)
        if (ls->socks[i].port == port && !strcmp(ls->socks[i].address, address))
            return &ls->socks[i];
    return NULL;
}

static void listen_sock_close(struct listen_sock *s, int slots)
{
    for (int i = 0; s->fds && i < slots; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    free(s->fds);
    free(s->address);
}

void listen_close(struct listen_set *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        listen_sock_close(&ls->socks[i], ls->slots);
    free(ls->socks);
    memset(ls, 0, sizeof(*ls));
}

/* Fill s->fds for `slots` slots, reusing the old socket's fds where it has them. */
static int listen_fill(struct listen_sock *s, int slots, struct listen_sock *prev, int prev_slots)
{
    for (int i = 0; i < slots; i++) {
        if (prev && i < prev_slots && prev->fds[i] >= 0) {
            s->fds[i] = fcntl(prev->fds[i], F_DUPFD_CLOEXEC, 3);
            /* a reload may change the backlog: listen(2) again sets it */
            if (s->fds[i] >= 0 && listen(s->fds[i], s->backlog) < 0)
                return -1;
        } else
            s->fds[i] = listen_socket(s->address, s->port, s->backlog, 1);
        if (s->fds[i] < 0)
            return -1;
    }
    return 0;
}

/* The kernel silently caps every backlog at net.core.somaxconn. */
static void listen_check_backlog(const struct config *cfg, const struct config_listen *cl)
{
    FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
    long cap = 0;
    if (!f)
        return;
    if (fscanf(f, "%ld", &cap) == 1 && cap > 0 && cl->backlog > cap)
        log_warn("%s:%d: backlog %d exceeds the kernel's cap of %ld "
                 "(/proc/sys/net/core/somaxconn): the queue holds %ld connections",
                 cfg->file, cl->line, cl->backlog, cap, cap);
    fclose(f);
}

/* "file:line: what failed", naming the address as a client would write it. */
static char *listen_error(const struct config *cfg, const struct config_listen *cl)
{
    int e = errno;
    struct strbuf b = {0};
    const char *fmt = strchr(cl->address, ':') ? "[%s]:%d" : "%s:%d";
    strbuf_addf(&b, "%s:%d: ", cfg->file, cl->line);
    strbuf_addf(&b, fmt, cl->address, cl->port);
    if (e == EADDRINUSE)
        strbuf_addf(&b, ": address already in use (another gale or program listens there)");
    else
        strbuf_addf(&b, ": cannot listen: %s", strerror(e));
    return strbuf_take(&b);
}

/* Probe every address of cfg that `old` holds nothing on, before any is
 * bound: our own new sockets would fail the probe of an overlapping address
 * (0.0.0.0 and 127.0.0.1 on one port), as would the old set's, hence a port
 * the old set holds on any address is not probed. */
static int listen_probe_new(const struct config *cfg, struct listen_set *old, char **err)
{
    for (size_t i = 0; i < cfg->nlistens; i++) {
        const struct config_listen *cl = &cfg->listens[i];
        int held = 0;
        for (size_t k = 0; old && k < old->n; k++)
            held |= old->socks[k].port == cl->port;
        if (!held && listen_probe(cl->address, cl->port) < 0) {
            *err = listen_error(cfg, cl);
            return -1;
        }
    }
    return 0;
}

int listen_open(struct listen_set *ls, const struct config *cfg, int slots, struct listen_set *old,
                char **err)
{
    if (listen_probe_new(cfg, old, err) < 0)
        return -1;
    struct listen_set n = {.socks = xcalloc(cfg->nlistens, sizeof(struct listen_sock)),
                           .n = cfg->nlistens,
                           .slots = slots};
    for (size_t i = 0; i < cfg->nlistens; i++) {
        struct listen_sock *s = &n.socks[i];
        const struct config_listen *cl = &cfg->listens[i];
        s->address = xstrdup(cl->address);
        s->port = cl->port;
        s->backlog = cl->backlog;
        listen_check_backlog(cfg, cl);
        s->fds = xmalloc(sizeof(int) * (size_t)slots);
        for (int k = 0; k < slots; k++)
            s->fds[k] = -1;
        struct listen_sock *prev = listen_find(old, cl->address, cl->port);
        if (listen_fill(s, slots, prev, old ? old->slots : 0) < 0) {
            *err = listen_error(cfg, cl);
            listen_close(&n);
            return -1;
        }
    }
    *ls = n;
    return 0;
}
