/*
 * fanfloor.c - the kernel's floor for WebSocket fan-out: what one send() per
 * socket costs on this machine, measured the way scripts/bench measures gale.
 *
 *     fanfloor PORT
 *
 * scripts/bench compiles it with cc at run time (no library beyond libc) and
 * runs it as a "server" beside gale in the ws scenario with --ws-client epoll:
 * the same client (scripts/lib/wsfan.py) opens its sockets here, and the same
 * /proc reading of utime+stime gives its CPU per publish. It does nothing a
 * chat server could skip: it listens on 127.0.0.1:PORT, answers a WebSocket
 * upgrade with 101 (the client does not check Sec-WebSocket-Accept, and a
 * SHA-1 here would be code of no use to the measure), and a plain GET with
 * "Hello, world" (bench's readiness probe). When a text frame arrives it
 * builds, once, the frame gale's chat module would send for it
 * ({"messages":[{"id","from","body","time"}]}, same shape and length), then
 * writes it to every socket with one non-blocking send() each, in one loop.
 *
 * Each fan-out also logs to stderr the CPU of the send loop alone
 * (getrusage), a finer cross-check of the /proc figure (10 ms ticks), and
 * the sends that did not write the whole frame (none expected: a socket's
 * buffer holds far more than a frame).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FANFLOOR_BUF 4096
#define FANFLOOR_EVENTS 256

/* Per descriptor: what was read and not yet used, and where the socket sits
 * in the list of upgraded ones (-1: still in its handshake). */
struct fanfloor_conn {
    char buf[FANFLOOR_BUF];
    size_t len;
    int slot;
};

static struct fanfloor_conn **fanfloor_conns; /* by descriptor */
static int *fanfloor_ws;                      /* the upgraded sockets */
static int fanfloor_nws;
static int fanfloor_max;
static unsigned long fanfloor_round;

static void fanfloor_close(int ep, int fd)
{
    struct fanfloor_conn *c = fanfloor_conns[fd];

    if (c && c->slot >= 0) {
        /* the last socket takes the freed slot: the list stays dense */
        int last = fanfloor_ws[--fanfloor_nws];
        fanfloor_ws[c->slot] = last;
        fanfloor_conns[last]->slot = c->slot;
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(c);
    fanfloor_conns[fd] = NULL;
}

/* The string value of "key" in the flat JSON object text, copied into out
 * (no escapes: wsfan.py's tokens and name have none). 0, or -1. */
static int fanfloor_field(const char *json, const char *key, char *out, size_t size)
{
    char quoted[64];
    const char *p, *end;

    snprintf(quoted, sizeof(quoted), "\"%s\"", key);
    p = strstr(json, quoted);
    if (!p)
        return -1;
    p += strlen(quoted);
    while (*p == ' ' || *p == ':')
        p++;
    if (*p++ != '"' || !(end = strchr(p, '"')) || (size_t)(end - p) >= size)
        return -1;
    memcpy(out, p, end - p);
    out[end - p] = '\0';
    return 0;
}

static double fanfloor_cpu_us(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

/* One publish: the frame gale's chat module would send, built once, then
 * one send() per socket. */
static void fanfloor_fan_out(const char *payload)
{
    char body[256], name[64], msg[1024], frame[1040];
    struct timespec now;
    size_t n, head;
    int i, partial = 0, failed = 0;

    if (fanfloor_field(payload, "body", body, sizeof(body)) < 0)
        return;
    if (fanfloor_field(payload, "name", name, sizeof(name)) < 0)
        strcpy(name, "anonymous");
    clock_gettime(CLOCK_REALTIME, &now);
    /* a message id is 32 hex digits; the time as jansson prints a real */
    n = snprintf(msg, sizeof(msg),
                 "{\"messages\":[{\"id\":\"%08lx%08lx%08lx%08lx\",\"from\":\"%s\",\"body\":\"%s\","
                 "\"time\":%.17g}]}",
                 (unsigned long)random(), (unsigned long)random(), (unsigned long)random(),
                 fanfloor_round, name, body, (double)now.tv_sec + now.tv_nsec / 1e9);
    frame[0] = (char)0x81; /* final text frame, unmasked (a server's) */
    if (n < 126) {
        frame[1] = (char)n;
        head = 2;
    } else {
        frame[1] = 126;
        frame[2] = (char)(n >> 8);
        frame[3] = (char)(n & 0xff);
        head = 4;
    }
    memcpy(frame + head, msg, n);
    n += head;

    double t0 = fanfloor_cpu_us();
    for (i = 0; i < fanfloor_nws; i++) {
        ssize_t w = send(fanfloor_ws[i], frame, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0)
            failed++;
        else if ((size_t)w < n)
            partial++;
    }
    double t1 = fanfloor_cpu_us();
    fprintf(stderr,
            "fanfloor: round %lu: %d sockets, %zu-byte frame, send loop %.0f us of CPU "
            "(%.2f us a socket), %d partial, %d failed\n",
            fanfloor_round, fanfloor_nws, n, t1 - t0, fanfloor_nws ? (t1 - t0) / fanfloor_nws : 0.0,
            partial, failed);
    fanfloor_round++;
}

/* A socket's first bytes: an HTTP request, answered 101 (an upgrade) or
 * "Hello, world" (then closed). */
static void fanfloor_handshake(int ep, int fd, struct fanfloor_conn *c)
{
    static const char up[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\n\r\n";
    static const char hello[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                "Content-Length: 12\r\nConnection: close\r\n\r\nHello, world";

    c->buf[c->len] = '\0';
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end) {
        if (c->len >= FANFLOOR_BUF - 1)
            fanfloor_close(ep, fd);
        return;
    }
    if (!strcasestr(c->buf, "\r\nUpgrade: websocket")) {
        (void)!write(fd, hello, sizeof(hello) - 1);
        fanfloor_close(ep, fd);
        return;
    }
    if (write(fd, up, sizeof(up) - 1) != (ssize_t)sizeof(up) - 1) {
        fanfloor_close(ep, fd);
        return;
    }
    c->slot = fanfloor_nws;
    fanfloor_ws[fanfloor_nws++] = fd;
    c->len -= (size_t)(end + 4 - c->buf);
    memmove(c->buf, end + 4, c->len);
}

/* The frames a client sent (masked, RFC 6455 5.3): a text frame is a
 * publish, a close frame closes. */
static void fanfloor_frames(int ep, int fd, struct fanfloor_conn *c)
{
    unsigned char *b = (unsigned char *)c->buf;

    while (c->len >= 2) {
        size_t n = b[1] & 0x7f, head = 2;
        if (n == 126) {
            if (c->len < 4)
                return;
            n = (size_t)b[2] << 8 | b[3];
            head = 4;
        } else if (n == 127) {
            fanfloor_close(ep, fd); /* nothing here sends that much */
            return;
        }
        if (b[1] & 0x80)
            head += 4;
        if (head + n >= FANFLOOR_BUF) {
            fanfloor_close(ep, fd);
            return;
        }
        if (c->len < head + n)
            return;
        int op = b[0] & 0x0f;
        char payload[FANFLOOR_BUF];
        for (size_t i = 0; i < n; i++)
            payload[i] =
                (b[1] & 0x80) ? (char)(b[head + i] ^ b[head - 4 + i % 4]) : (char)b[head + i];
        payload[n] = '\0';
        c->len -= head + n;
        memmove(c->buf, c->buf + head + n, c->len);
        if (op == 0x8) {
            fanfloor_close(ep, fd);
            return;
        }
        if (op == 0x1)
            fanfloor_fan_out(payload);
    }
}

static void fanfloor_readable(int ep, int fd)
{
    struct fanfloor_conn *c = fanfloor_conns[fd];
    ssize_t r = read(fd, c->buf + c->len, FANFLOOR_BUF - 1 - c->len);

    if (r <= 0) {
        if (r == 0 || (errno != EAGAIN && errno != EINTR))
            fanfloor_close(ep, fd);
        return;
    }
    c->len += (size_t)r;
    if (c->slot < 0)
        fanfloor_handshake(ep, fd, c);
    else
        fanfloor_frames(ep, fd, c);
}

static void fanfloor_accept(int ep, int lfd)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct fanfloor_conn *c = calloc(1, sizeof(*c));
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        int one = 1;
        if (fd >= fanfloor_max || !c || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            free(c);
            close(fd);
            continue;
        }
        /* as gale's sockets: a small frame goes out at once */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        c->slot = -1;
        fanfloor_conns[fd] = c;
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    struct epoll_event evs[FANFLOOR_EVENTS], ev = {.events = EPOLLIN};
    struct rlimit rl;
    int lfd, ep, one = 1;

    if (argc != 2 || atoi(argv[1]) <= 0 || atoi(argv[1]) > 65535) {
        fprintf(stderr, "usage: fanfloor PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    getrlimit(RLIMIT_NOFILE, &rl);
    fanfloor_max =
        rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1 << 20 ? 1 << 20 : (int)rl.rlim_cur;
    fanfloor_conns = calloc((size_t)fanfloor_max, sizeof(*fanfloor_conns));
    fanfloor_ws = calloc((size_t)fanfloor_max, sizeof(*fanfloor_ws));
    sa.sin_port = htons((unsigned short)atoi(argv[1]));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!fanfloor_conns || !fanfloor_ws || lfd < 0 || ep < 0 ||
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0) {
        perror("fanfloor");
        return 1;
    }
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    srandom((unsigned)getpid());
    for (;;) {
        int n = epoll_wait(ep, evs, FANFLOOR_EVENTS, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == lfd)
                fanfloor_accept(ep, lfd);
            else if (fanfloor_conns[evs[i].data.fd])
                fanfloor_readable(ep, evs[i].data.fd);
        }
    }
}
