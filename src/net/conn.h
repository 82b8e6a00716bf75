/*
 * conn.h - one client connection: its bufferevent, its event, its place in
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

struct loop;
struct conn;
struct tls_server;
struct config_listen;

struct conn_proto {
    void (*read)(struct conn *c);    /* input arrived */
    void (*write)(struct conn *c);   /* output fully sent */
    void (*eof)(struct conn *c);     /* the peer closed, or a socket error */
    void (*timeout)(struct conn *c); /* the conn timer fired */
    void (*drain)(struct conn *c);   /* the worker stops: finish up and close */
    void (*release)(struct conn *c); /* free `data`; the connection is going away */
    /* Optional, plain sockets only: when nothing waits in conn_in, the
     * protocol may offer its own flat buffer for the next recv(2), so that
     * it parses the bytes where they land instead of copying them out of
     * buffer chains. read_space returns where *room bytes may go (NULL: use
     * conn_in); read_into then says how many arrived there, 0 when none did
     * (the buffer may be given back). A protocol that does this keeps what
     * it does not consume in conn_in, in order. */
    char *(*read_space)(struct conn *c, size_t *room);
    void (*read_into)(struct conn *c, size_t n);
};

struct conn {
    struct loop *loop;
    struct bufferevent *bev; /* TLS: always; plain: made when the kernel first pushes back */
    struct evbuffer *wbuf;   /* answers staged here, sent by conn_flush; NULL: none yet */
    struct evbuffer *rbuf;   /* plain sockets: what was read (TLS: the bufferevent's input); lazy */
    int fd;
    char client[INET6_ADDRSTRLEN]; /* address without port */
    /* the small fields fill the hole after `client`: thousands of idle
     * connections wait (280 bytes: a 288-byte malloc chunk; 8 more take 304) */
    unsigned short busy;            /* libevent callbacks under way on it */
    unsigned https : 1;             /* arrived on a TLS listener */
    unsigned closing : 1;           /* flushing output before the close */
    unsigned lingering : 1;         /* write side shut, discarding input until EOF */
    unsigned eof : 1;               /* the peer closed its side */
    unsigned error : 1;             /* the socket failed: nothing more can be sent */
    unsigned linger : 1;            /* on close, drain what the client still sends */
    unsigned want_read : 1;         /* the protocol wants input */
    unsigned reading : 1;           /* reads are enabled (want_read and below the high mark) */
    unsigned handshake_done : 1;    /* TLS: the handshake completed */
    unsigned close_pending : 1;     /* conn_close was called inside a callback */
    unsigned own_fd : 1;            /* conn_close closes fd (no bufferevent owns it) */
    unsigned full : 1;              /* conn_write_now just found the socket full */
    const struct config_listen *lc; /* the listen entry it arrived on */
    const struct conn_proto *proto;
    void *data;               /* the protocol's state, freed by proto->release */
    double deadline;          /* when the protocol's timeout is due (util_now); 0: none */
    double armed_at;          /* when rev's timeout fires, if pending */
    struct event rev;         /* the timer and, on a plain socket that reads, readable */
    struct event *later;      /* conn_read_later on a plain socket; made on first use */
    struct conn *prev, *next; /* the loop's list */
};

/* Take an accepted socket from listen entry lc, speaking TLS when tls is
 * not NULL. Returns the connection or NULL (fd closed). */
struct conn *conn_new(struct loop *loop, int fd, const struct sockaddr *sa,
                      const struct config_listen *lc, struct tls_server *tls);
/* The connection's SSL, or NULL on a plain socket. */
struct ssl_st *conn_ssl(struct conn *c);
/* Arm the timer for tv from now (NULL disarms): proto->timeout runs then.
 * Use the loop's tv[] values (common timeouts). Lazy: see conn.c. */
void conn_timer(struct conn *c, const struct timeval *tv);
/* What arrived and was not consumed yet. */
struct evbuffer *conn_in(struct conn *c);
/* Its length, without making a buffer for a plain socket that has none. */
size_t conn_in_len(struct conn *c);
/* Give back the input and staging buffers while they are empty (between
 * requests), and a plain socket's bufferevent once it sent all it queued:
 * conn_in, conn_out and conn_flush make them again when needed. */
void conn_idle(struct conn *c);
/* Where protocols put what they send; conn_flush sends it. */
struct evbuffer *conn_out(struct conn *c);
/* Send what was staged. On a plain socket with nothing queued before it the
 * bytes go straight to the socket (one writev, no poll registration); only
 * what the kernel does not take is queued in the bufferevent. */
void conn_flush(struct conn *c);
/* Send iov straight to a plain socket (one sendmsg, nothing copied, no
 * poll registration) when nothing is staged or queued before it. Returns
 * the bytes the kernel took; the caller stages the rest in conn_out and
 * calls conn_flush, which then queues it without trying the full socket
 * again. 0 on TLS, while closing, behind queued output, or on an error
 * (which the flush finds). For one message to many sockets. */
size_t conn_write_now(struct conn *c, const struct iovec *iov, int n);
/* Bytes staged or queued and not yet sent. */
size_t conn_pending(struct conn *c);
/* Ask for input (on) or stop it. Reading also pauses by itself while much
 * input waits unparsed; conn_read_check resumes it once the protocol has
 * consumed some. */
void conn_read(struct conn *c, int on);
void conn_read_check(struct conn *c);
/* Call the protocol's read from the loop soon, for input already buffered
 * (pipelined requests waiting behind an answer that ended outside a read). */
void conn_read_later(struct conn *c);
/* Try reading at once, as if the socket were readable (right after accept). */
void conn_read_now(struct conn *c);
/* Close now (or, inside one of its callbacks, when that returns): pending
 * output is dropped. */
void conn_close(struct conn *c);
/* Send what is queued, then close. With c->linger set (an error answer to a
 * request that was not read to its end), or input left unread, shut the
 * write side first and drop what the client still sends until its EOF or a
 * short linger, so that it reads our answer instead of a reset. */
void conn_close_after_write(struct conn *c);

#endif
