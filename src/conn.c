/*
 * conn.c - connections: accept, callbacks to the protocol, timers, close.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "log.h"
#include "util.h"
#include "worker.h"

#define CONN_MAX_READ 65536 /* bytes per read(2): fewer calls for large bodies */
#define CONN_LINGER_MAX (256 * 1024)

static void conn_read_cb(struct bufferevent *bev, void *arg);
static void conn_write_cb(struct bufferevent *bev, void *arg);
static void conn_event_cb(struct bufferevent *bev, short what, void *arg);

static void conn_timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (c->lingering || c->closing) {
        conn_close(c);
        return;
    }
    c->proto->timeout(c);
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

struct conn *conn_new(struct worker *w, int fd, const struct sockaddr *sa)
{
    int one = 1;
    /* Small answers must leave at once, not wait for Nagle's timer. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct bufferevent *bev = bufferevent_socket_new(worker_base(w), fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        close(fd);
        return NULL;
    }
    struct conn *c = xcalloc(1, sizeof(*c));
    c->w = w;
    c->bev = bev;
    c->fd = fd;
    conn_client_addr(c, sa);
    evtimer_assign(&c->timer, worker_base(w), conn_timer_cb, c);
    bufferevent_set_max_single_read(bev, CONN_MAX_READ);
    bufferevent_setcb(bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
    worker_conn_add(w, c);
    return c;
}

void conn_timer(struct conn *c, const struct timeval *tv)
{
    if (tv)
        evtimer_add(&c->timer, tv);
    else
        evtimer_del(&c->timer);
}

void conn_close(struct conn *c)
{
    if (c->proto && c->proto->release)
        c->proto->release(c);
    c->proto = NULL;
    evtimer_del(&c->timer);
    bufferevent_free(c->bev);
    worker_conn_remove(c->w, c);
    free(c);
}

static void conn_linger(struct conn *c)
{
    c->closing = 0;
    c->lingering = 1;
    shutdown(c->fd, SHUT_WR);
    evbuffer_drain(bufferevent_get_input(c->bev), (size_t)-1);
    bufferevent_enable(c->bev, EV_READ);
    conn_timer(c, worker_timeout(c->w, WORKER_TV_LINGER));
}

void conn_close_after_write(struct conn *c)
{
    if (c->lingering)
        return;
    c->closing = 1;
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        conn_linger(c);
    else
        conn_timer(c, worker_timeout(c->w, WORKER_TV_SEND));
}

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->lingering) {
        struct evbuffer *in = bufferevent_get_input(bev);
        evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    if (!c->closing)
        c->proto->read(c);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    if (c->closing)
        conn_linger(c);
    else if (!c->lingering && c->proto->write)
        c->proto->write(c);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
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
