/*
 * conn.c - connections: accept, callbacks to the protocol, timers, close.
 *
 * Reads: a plain socket is read here, one recv(2) per readiness, into the
 * connection's own input buffer (a bufferevent's reader costs an
 * ioctl(FIONREAD) and a readv(2) each time), or, while that is empty, into
 * a flat buffer the protocol offers (an HTTP/1 head is parsed where it
 * lands: no chain is allocated, filled, copied out and freed); a TLS connection is read by its
 * OpenSSL bufferevent. Writes: answers are staged in `wbuf` and conn_flush
 * sends them straight to a plain socket when nothing is queued before them;
 * only what the kernel does not take goes through a bufferevent, which then
 * waits for the socket and enforces the send timeout. Both save the poll
 * registrations a bufferevent makes per answer.
 *
 * A plain socket gets its bufferevent (about 1 KiB) only when the kernel
 * pushes back, and gives it back once all it queued is sent and the
 * protocol is idle (conn_idle): most connections never need one, and an
 * idle one holds none.
 */
#include "net/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "core/log.h"
#include "core/loop.h"
#include "core/util.h"
#include "net/tls.h"
#include "net/tls_bio.h"

#define CONN_READ_SIZE 16384
#define CONN_TLS_RECORD 16384      /* the largest TLS record's payload */
#define CONN_IN_HIGH (1024 * 1024) /* stop reading with this much unparsed */

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

/* A plain socket's input and every connection's staging buffer are made on
 * first use and given back by conn_idle: an idle connection holds neither
 * (each is a libevent struct of about 150 bytes). */
static struct evbuffer *conn_buf(struct evbuffer **b)
{
    if (!*b && !(*b = evbuffer_new()))
        util_oom();
    return *b;
}

static size_t conn_len(const struct evbuffer *b)
{
    return b ? evbuffer_get_length(b) : 0;
}

struct evbuffer *conn_in(struct conn *c)
{
    return c->https ? bufferevent_get_input(c->bev) : conn_buf(&c->rbuf);
}

size_t conn_in_len(struct conn *c)
{
    return c->https ? evbuffer_get_length(bufferevent_get_input(c->bev)) : conn_len(c->rbuf);
}

/* Bytes handed to the bufferevent and not yet sent. */
static size_t conn_queued(struct conn *c)
{
    return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

void conn_idle(struct conn *c)
{
    if (c->rbuf && !evbuffer_get_length(c->rbuf)) {
        evbuffer_free(c->rbuf);
        c->rbuf = NULL;
    }
    if (c->wbuf && !evbuffer_get_length(c->wbuf)) {
        evbuffer_free(c->wbuf);
        c->wbuf = NULL;
    }
    /* A plain socket's bufferevent only queued what the kernel once left
     * over (conn_flush makes it again when that happens again): its ~1 KiB
     * is not kept by a connection that waits. */
    if (!c->https && c->bev && conn_queued(c) == 0) {
        bufferevent_free(c->bev); /* inside its own callback too: libevent holds a reference */
        c->bev = NULL;
    }
}

/* Callbacks from libevent enter and leave the connection: a close asked for
 * inside (by the protocol, deep in its own stack) waits until the outermost
 * callback returns, so no caller is left holding a freed connection. */
static void conn_enter(struct conn *c)
{
    c->busy++;
}

static void conn_leave(struct conn *c)
{
    if (--c->busy == 0 && c->close_pending)
        conn_close(c);
}

static void conn_dispatch_read(struct conn *c)
{
    if (c->lingering || c->closing) {
        struct evbuffer *in = conn_in(c);
        evbuffer_drain(in, evbuffer_get_length(in));
        c->linger = 1; /* the client is still sending: linger at the close */
    } else {
        c->proto->read(c); /* may close c */
    }
}

/* The protocol's own buffer for this read, when it offers one (conn.h). */
static char *conn_read_space(struct conn *c, size_t *room)
{
    if (!c->proto->read_space || c->lingering || c->closing || conn_len(c->rbuf))
        return NULL;
    return c->proto->read_space(c, room);
}

static void conn_timer_fire(struct conn *c);
static void conn_rev_set(struct conn *c);

static void conn_sock_read_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (what & EV_TIMEOUT) {
        conn_timer_fire(c);
        return; /* input waiting too is seen on the next turn */
    }
    struct evbuffer *in = NULL;
    struct evbuffer_iovec v;
    char *flat = conn_read_space(c, &v.iov_len);
    if (flat)
        v.iov_base = flat;
    else if (evbuffer_reserve_space(in = conn_in(c), CONN_READ_SIZE, &v, 1) < 1)
        util_oom();
    ssize_t n;
    do
        n = recv(fd, v.iov_base, v.iov_len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (flat)
            c->proto->read_into(c, 0);
        return;
    }
    if (n > 0) {
        conn_enter(c);
        if (flat) {
            c->proto->read_into(c, (size_t)n);
        } else {
            v.iov_len = (size_t)n;
            evbuffer_commit_space(in, &v, 1);
            conn_dispatch_read(c);
        }
        conn_leave(c);
        return;
    }
    c->reading = 0;
    conn_rev_set(c);
    conn_event_cb(NULL, BEV_EVENT_READING | (n == 0 ? BEV_EVENT_EOF : BEV_EVENT_ERROR), c);
}

void conn_read_now(struct conn *c)
{
    /* The listening sockets defer accept until data has arrived, so the
     * request (or the ClientHello) is most likely there already: read it
     * without a poll first. The OpenSSL bufferevent's reader runs the
     * handshake in this loop turn. */
    if (!c->reading)
        return;
    if (c->https)
        event_active(&c->bev->ev_read, EV_READ, 1);
    else
        conn_sock_read_cb(c->fd, EV_READ, c);
}

/* TLS reads ahead (tls.c): one read(2) brings a record's header and body,
 * or the client's Finished with the request behind it. OpenSSL may then
 * hold whole records past the one libevent's OpenSSL bufferevent (2.1)
 * asked for, and that bufferevent reads again only when the socket is
 * readable: wake its reader for them (or, with `always`, for a request
 * that may be in the socket already). */
static void conn_tls_wake(struct conn *c, int always)
{
    if (c->https && c->handshake_done && c->reading && !c->close_pending &&
        (always || SSL_has_pending(bufferevent_openssl_get_ssl(c->bev))))
        event_active(&c->bev->ev_read, EV_READ, 1);
}

static void conn_tls_kick(struct conn *c)
{
    conn_tls_wake(c, 0);
}

void conn_read_check(struct conn *c)
{
    int on = c->want_read && !c->eof && conn_in_len(c) < CONN_IN_HIGH;
    if (on == (int)c->reading)
        return;
    c->reading = on;
    if (c->https) {
        if (on) {
            bufferevent_enable(c->bev, EV_READ);
            conn_tls_kick(c);
        } else {
            bufferevent_disable(c->bev, EV_READ);
        }
    } else {
        conn_rev_set(c);
    }
}

void conn_read(struct conn *c, int on)
{
    c->want_read = on != 0;
    conn_read_check(c);
}

/* Seconds in tv, a common timeout's too: libevent keeps its marks in the
 * bits of tv_usec above the 20 that hold the microseconds (< 2^20). */
static double conn_tv_secs(const struct timeval *tv)
{
    return (double)tv->tv_sec + (double)(tv->tv_usec & 0xfffff) / 1e6;
}

/* One event per connection, `rev`, is both the timer and, on a plain
 * socket that reads, the read readiness (a second struct event cost 128
 * bytes per idle connection). libevent remembers the timeout a persistent
 * event was added with and adds it again after every read; the timer here
 * is lazy instead (conn_timer), so that memory is cleared: a read then
 * leaves the pending timeout alone, and the timeout, once it fires, is not
 * armed again by libevent. */
static void conn_timer_arm(struct conn *c, const struct timeval *tv, double at)
{
    event_add(&c->rev, tv);
    evutil_timerclear(&c->rev.ev_.ev_io.ev_timeout);
    c->armed_at = at;
}

/* Arm for what is left until the deadline. */
static void conn_timer_rest(struct conn *c)
{
    double left = c->deadline - util_now();
    if (left < 0)
        left = 0;
    struct timeval tv = {(time_t)left, (suseconds_t)((left - (double)(time_t)left) * 1e6)};
    conn_timer_arm(c, &tv, c->deadline);
}

/* The event reads exactly when c->reading (a plain socket): libevent cannot
 * take the read off an event and keep its timeout, so a change assigns it
 * anew and arms it again for the deadline (rare: at the start, on a pause
 * for too much unread input or output, at the EOF). A TLS connection's
 * event is a timer only (its bufferevent reads). */
static void conn_rev_set(struct conn *c)
{
    int rd = c->reading && !c->https;
    event_del(&c->rev);
    event_assign(&c->rev, c->loop->base, rd ? c->fd : -1, rd ? EV_READ | EV_PERSIST : 0,
                 conn_sock_read_cb, c);
    if (c->deadline)
        conn_timer_rest(c);
    else if (rd)
        event_add(&c->rev, NULL);
}

static void conn_timer_fire(struct conn *c)
{
    if (c->reading && !c->https)
        event_add(&c->rev, NULL); /* libevent took the read off with the timeout */
    if (c->deadline == 0)
        return;                             /* disarmed since it was added */
    if (c->deadline > util_now() + 0.001) { /* moved later since it was added */
        conn_timer_rest(c);
        return;
    }
    c->deadline = 0;
    conn_enter(c);
    if (c->lingering || c->closing)
        conn_close(c);
    else
        c->proto->timeout(c);
    conn_leave(c);
}

static void conn_client_addr(struct conn *c, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->client,
                  sizeof(c->client));
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, c->client,
                  sizeof(c->client));
    else
        strcpy(c->client, "-");
}

static struct bufferevent *conn_bev_tls(struct loop *loop, int fd, struct tls_server *tls)
{
    SSL *ssl = tls_ssl_new(tls);
    if (!ssl)
        return NULL;
    if (tls_bio_attach(ssl, fd) < 0) {
        SSL_free(ssl);
        return NULL;
    }
    struct bufferevent *bev = bufferevent_openssl_socket_new(
        loop->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        SSL_free(ssl);
        return NULL;
    }
    /* Most clients close without close_notify; that is no error for HTTP,
     * whose own framing tells where an answer ends. */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    return bev;
}

/* The loop's list of open connections; the worker hears of each change. */
static void conn_link(struct loop *loop, struct conn *c)
{
    c->next = loop->conns;
    c->prev = NULL;
    if (loop->conns)
        loop->conns->prev = c;
    loop->conns = c;
    loop->nconns++;
    if (loop->conns_changed)
        loop->conns_changed(loop, 1);
}

static void conn_unlink(struct loop *loop, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        loop->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    loop->nconns--;
    if (loop->conns_changed)
        loop->conns_changed(loop, 0);
}

struct conn *conn_new(struct loop *loop, int fd, const struct sockaddr *sa,
                      const struct config_listen *lc, struct tls_server *tls)
{
    struct bufferevent *bev = NULL;
    if (tls && !(bev = conn_bev_tls(loop, fd, tls))) {
        close(fd);
        return NULL;
    }
    struct conn *c = xcalloc(1, sizeof(*c));
    c->loop = loop;
    c->bev = bev;
    c->fd = fd;
    c->https = tls != NULL;
    c->own_fd = tls == NULL; /* a TLS bufferevent closes the socket it was given */
    c->lc = lc;
    conn_client_addr(c, sa);
    event_assign(&c->rev, loop->base, -1, 0, conn_sock_read_cb, c); /* conn_rev_set */
    if (tls) {
        bufferevent_setcb(bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
        bufferevent_set_timeouts(bev, NULL, loop->tv[LOOP_TV_SEND]);
        /* Writing is enabled only when conn_flush queues bytes: enabled from
         * the start (a new bufferevent's default), libevent would poll for
         * writability again when the handshake ends (an EPOLL_CTL_MOD and a
         * wake-up per connection). */
        bufferevent_disable(bev, EV_WRITE);
    }
    conn_link(loop, c);
    return c;
}

struct ssl_st *conn_ssl(struct conn *c)
{
    return c->https ? bufferevent_openssl_get_ssl(c->bev) : NULL;
}

/* Lazy: a keep-alive connection arms the idle timer again at the end of
 * every answer, a moment later than the last time, and re-adding the event
 * cost more than the rest of the request's bookkeeping. So only a deadline
 * earlier than the pending event's touches libevent; a later one (or none)
 * is noted, and conn_timer_cb arms the event again for what is left, or
 * does nothing. A connection thus wakes at most once per timeout spent. */
void conn_timer(struct conn *c, const struct timeval *tv)
{
    if (!tv) {
        c->deadline = 0;
        return;
    }
    double at = util_now() + conn_tv_secs(tv);
    c->deadline = at;
    if (!event_pending(&c->rev, EV_TIMEOUT, NULL) || c->armed_at > at)
        conn_timer_arm(c, tv, at);
}

/* close_notify, best effort, in the segment of the answer before it when
 * conn_close_after_write held that answer back (tls_bio_more). */
static void conn_tls_close_notify(struct conn *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    tls_bio_more(ssl, 0);
    SSL_shutdown(ssl);
}

void conn_close(struct conn *c)
{
    if (c->busy) {
        c->close_pending = 1;
        return;
    }
    if (c->proto && c->proto->release)
        c->proto->release(c);
    c->proto = NULL;
    if (c->https && c->handshake_done && !c->error && !c->lingering)
        conn_tls_close_notify(c);
    event_del(&c->rev);
    if (c->later)
        event_free(c->later);
    if (c->bev)
        bufferevent_free(c->bev);
    if (c->own_fd)
        close(c->fd);
    if (c->wbuf)
        evbuffer_free(c->wbuf);
    if (c->rbuf)
        evbuffer_free(c->rbuf);
    conn_unlink(c->loop, c);
    free(c);
}

struct evbuffer *conn_out(struct conn *c)
{
    return conn_buf(&c->wbuf);
}

size_t conn_pending(struct conn *c)
{
    return conn_len(c->wbuf) + conn_queued(c);
}

/* A plain socket's bufferevent, made when the kernel first leaves output
 * over; it writes only that, so it is enabled for writing alone. */
static void conn_bev_plain(struct conn *c)
{
    c->bev = bufferevent_socket_new(c->loop->base, c->fd, 0);
    if (!c->bev)
        util_oom();
    bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    bufferevent_set_timeouts(c->bev, NULL, c->loop->tv[LOOP_TV_SEND]);
}

static void conn_later_cb(evutil_socket_t fd, short what, void *arg);

void conn_read_later(struct conn *c)
{
    if (c->https) {
        bufferevent_trigger(c->bev, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
        return;
    }
    /* Few connections need this (pipelined requests after an async
     * answer): the event is made for the first time, not for every one. */
    if (!c->later && !(c->later = event_new(c->loop->base, -1, 0, conn_later_cb, c)))
        util_oom();
    event_active(c->later, EV_TIMEOUT, 1);
}

/* TLS with nothing queued: SSL_write straight away, one record per 16 KiB.
 * libevent 2.1's OpenSSL bufferevent would instead wait for the socket to
 * be writable, which costs two epoll_ctl and a loop turn per answer. What
 * the socket does not take (SSL_write wants to write, a record half sent)
 * stays in wbuf for the bufferevent, starting with the very bytes OpenSSL
 * must be handed again (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER). */
static void conn_tls_write(struct conn *c)
{
    SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
    if (!SSL_is_init_finished(ssl))
        return;
    size_t len;
    while ((len = evbuffer_get_length(c->wbuf)) > 0) {
        int n = len < CONN_TLS_RECORD ? (int)len : CONN_TLS_RECORD;
        unsigned char *p = evbuffer_pullup(c->wbuf, n);
        ERR_clear_error();
        int w = SSL_write(ssl, p, n);
        if (w <= 0)
            return; /* the bufferevent retries (and reports errors) */
        evbuffer_drain(c->wbuf, (size_t)w);
    }
}

size_t conn_write_now(struct conn *c, const struct iovec *iov, int n)
{
    c->full = 0;
    if (c->https || c->error || c->closing || c->lingering || conn_pending(c) > 0)
        return 0;
    struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
    ssize_t w = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    /* errors other than a full socket are left for the flush to find */
    c->full = (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) || (w >= 0 && (size_t)w < total);
    return w > 0 ? (size_t)w : 0;
}

void conn_flush(struct conn *c)
{
    int full = c->full;
    c->full = 0;
    if (conn_len(c->wbuf) == 0 || c->error)
        return;
    size_t queued = conn_queued(c);
    if (c->https && queued == 0) {
        conn_tls_write(c);
        /* all taken: no write event (an EPOLL_CTL_MOD and a wake-up for
         * nothing on every keep-alive answer), as for a plain socket */
        if (evbuffer_get_length(c->wbuf) == 0)
            return;
    }
    if (!c->https && queued == 0 && !full) {
        /* errors are left for the bufferevent to find on its own write; a
         * write stops where a file segment (sendfile) starts: go on with it */
        while (evbuffer_get_length(c->wbuf) > 0 && evbuffer_write(c->wbuf, c->fd) > 0)
            ;
        if (evbuffer_get_length(c->wbuf) == 0)
            return;
    }
    if (!c->bev)
        conn_bev_plain(c);
    evbuffer_add_buffer(bufferevent_get_output(c->bev), c->wbuf);
    bufferevent_enable(c->bev, EV_WRITE);
}

/* Everything was sent. Close at once when the client has nothing more in
 * flight; otherwise shut our side and drop what it still sends until its
 * EOF, so that it reads our answer instead of a reset. */
static void conn_linger(struct conn *c)
{
    if (!c->linger && conn_in_len(c) == 0) {
        conn_close(c);
        return;
    }
    c->closing = 0;
    c->lingering = 1;
    if (c->https && c->handshake_done)
        conn_tls_close_notify(c);
    shutdown(c->fd, SHUT_WR);
    evbuffer_drain(conn_in(c), (size_t)-1);
    conn_read(c, 1);
    conn_timer(c, c->loop->tv[LOOP_TV_LINGER]);
}

void conn_close_after_write(struct conn *c)
{
    if (c->lingering || c->closing)
        return;
    c->closing = 1; /* input from now on is dropped (conn_dispatch_read) */
    /* The last answer and the close_notify behind it in one segment: the
     * answer waits in the kernel (MSG_MORE) for the close_notify, which
     * conn_tls_close_notify sends without it. */
    int more = c->https && c->handshake_done && conn_queued(c) == 0;
    if (more)
        tls_bio_more(bufferevent_openssl_get_ssl(c->bev), 1);
    conn_flush(c);
    if (more && conn_queued(c) != 0)
        tls_bio_more(bufferevent_openssl_get_ssl(c->bev), 0);
    if (conn_queued(c) == 0)
        conn_linger(c);
    else
        conn_timer(c, c->loop->tv[LOOP_TV_SEND]);
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    conn_enter(c);
    conn_dispatch_read(c);
    conn_tls_kick(c);
    conn_leave(c);
}

static void conn_later_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    conn_enter(c);
    conn_dispatch_read(c);
    conn_leave(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    conn_enter(c);
    if (c->closing && !c->lingering)
        conn_linger(c);
    else if (!c->lingering && c->proto->write)
        c->proto->write(c);
    conn_leave(c);
}

/* A TLS handshake failed (a plain HTTP request on the TLS port, a protocol
 * we refuse, a bad client certificate): the TLS layer is finished, so drop
 * to the raw socket and close cleanly, reading what the client still sends
 * rather than answering it with a reset. */
static void conn_tls_abandon(struct conn *c)
{
    unsigned long e = bufferevent_get_openssl_error(c->bev);
    char reason[160] = "";
    if (e)
        ERR_error_string_n(e, reason, sizeof(reason));
    log_debug("%s: TLS handshake failed: %s", c->client, *reason ? reason : "connection closed");
    tls_bio_release(bufferevent_openssl_get_ssl(c->bev)); /* the alert, best effort */
    bufferevent_disable(c->bev, EV_READ | EV_WRITE);
    c->https = 0;
    c->linger = 1;
    c->want_read = 0;
    c->reading = 0;
    conn_linger(c);
}

static void conn_event(struct conn *c, short what);

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    conn_enter(c);
    conn_event(c, what);
    conn_leave(c);
}

static void conn_event(struct conn *c, short what)
{
    if (what & BEV_EVENT_CONNECTED) {
        /* The request follows the client's Finished at once, most often
         * in the socket by the time the tickets are out: read it without
         * waiting for a poll, as nginx does (a read that finds nothing
         * costs less than the poll). */
        c->handshake_done = 1;
        /* The session tickets (a TLS 1.2 server's last flight) were held
         * back: one write. What the socket does not take goes first at the
         * read. */
        tls_bio_release(bufferevent_openssl_get_ssl(c->bev));
        conn_tls_wake(c, 1);
        return;
    }
    if (c->https && !c->handshake_done && (what & BEV_EVENT_ERROR) && !c->lingering) {
        conn_tls_abandon(c);
        return;
    }
    if (c->lingering || (what & BEV_EVENT_TIMEOUT)) {
        conn_close(c); /* the linger ended, or the client stopped reading our answer */
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        c->eof = 1;
        c->error = (what & BEV_EVENT_ERROR) != 0;
        if (c->closing || c->error) {
            conn_close(c);
            return;
        }
        c->proto->eof(c);
    }
}
