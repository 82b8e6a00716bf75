/*
 * conn.h - one client connection: its bufferevent, its timer, its place in
 * the worker's list, and the one way it is torn down.
 *
 * A protocol (HTTP now; WebSocket after an upgrade) sits on top through a
 * table of callbacks and owns `data`. TLS will slot in under the bufferevent
 * without the protocols noticing.
 */
#ifndef GALE_CONN_H
#define GALE_CONN_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/event_struct.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct worker;
struct conn;

struct conn_proto {
    void (*read)(struct conn *c);    /* input arrived */
    void (*write)(struct conn *c);   /* output fully sent */
    void (*eof)(struct conn *c);     /* the peer closed, or a socket error */
    void (*timeout)(struct conn *c); /* the conn timer fired */
    void (*drain)(struct conn *c);   /* the worker stops: finish up and close */
    void (*release)(struct conn *c); /* free `data`; the connection is going away */
};

struct conn {
    struct worker *w;
    struct bufferevent *bev;
    int fd;
    char client[INET6_ADDRSTRLEN]; /* address without port */
    int https;                     /* arrived on a TLS listener */
    const struct conn_proto *proto;
    void *data; /* the protocol's state, freed by proto->release */
    struct event timer;
    struct conn *prev, *next; /* the worker's list */
    unsigned closing : 1;     /* flushing output before the close */
    unsigned lingering : 1;   /* write side shut, discarding input until EOF */
    unsigned eof : 1;         /* the peer closed its side */
    unsigned error : 1;       /* the socket failed: nothing more can be sent */
};

/* Take an accepted socket. Returns the connection or NULL (fd closed). */
struct conn *conn_new(struct worker *w, int fd, const struct sockaddr *sa);
/* Arm the timer (NULL disarms). Use worker_timeout() values: common timeouts. */
void conn_timer(struct conn *c, const struct timeval *tv);
/* Close now: pending output is dropped. */
void conn_close(struct conn *c);
/* Send what is queued, then shut the write side, read and drop what the
 * client still sends (so that it reads our answer instead of a reset), and
 * close at its EOF or after a short linger. */
void conn_close_after_write(struct conn *c);

#endif
