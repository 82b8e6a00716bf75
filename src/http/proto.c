/*
 * proto.c - choosing HTTP/1 or HTTP/2 for a new connection (proto.h).
 */
#include "http/proto.h"

#include <string.h>

#include <event2/buffer.h>
#include <openssl/ssl.h>

#include "core/loop.h"
#include "http/h1.h"
#include "http/h2.h"
#include "http/h2_settings.h"
#include "net/conn.h"

#define PROTO_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define PROTO_PREFACE_LEN (sizeof(PROTO_PREFACE) - 1)
/* "PRI * HTTP/2.0\r\n": no HTTP/1 request starts so; a client that sends
 * it speaks HTTP/2, and a wrong rest of the preface is HTTP/2's to refuse
 * (GOAWAY PROTOCOL_ERROR), not HTTP/1's. */
#define PROTO_PREFACE_H2 16

/* 1: HTTP/2, 0: HTTP/1, -1: too few bytes to tell. */
static int proto_choose(struct conn *c)
{
    struct ssl_st *ssl = conn_ssl(c);
    if (ssl) {
        const unsigned char *alpn = NULL;
        unsigned len = 0;
        SSL_get0_alpn_selected(ssl, &alpn, &len);
        return len == 2 && memcmp(alpn, "h2", 2) == 0;
    }
    if (!h2_settings(c->lc)->cleartext)
        return 0;
    struct evbuffer *in = conn_in(c);
    size_t have = evbuffer_get_length(in);
    size_t n = have < PROTO_PREFACE_LEN ? have : PROTO_PREFACE_LEN;
    const unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)n);
    if (n >= PROTO_PREFACE_H2 && memcmp(p, PROTO_PREFACE, PROTO_PREFACE_H2) == 0)
        return n == PROTO_PREFACE_LEN || memcmp(p, PROTO_PREFACE, n) != 0 ? 1 : -1;
    if (n && memcmp(p, PROTO_PREFACE, n) != 0)
        return 0;
    return -1;
}

static void proto_start(struct conn *c, int h2)
{
    if (h2)
        h2_conn_start(c);
    else
        h1_conn_start(c);
    if (conn_in_len(c))
        c->proto->read(c);
}

static void proto_read(struct conn *c)
{
    int h2 = proto_choose(c);
    if (h2 >= 0)
        proto_start(c, h2);
}

static void proto_eof(struct conn *c)
{
    conn_close(c);
}

static void proto_timeout(struct conn *c)
{
    conn_close(c);
}

/* The worker stops: a connection that sent nothing yet gets the short
 * idle time of a drain, as an idle HTTP/1 one does (h1_drain). */
static void proto_drain(struct conn *c)
{
    if (!conn_in_len(c))
        conn_timer(c, c->loop->tv[LOOP_TV_DRAIN_IDLE]);
}

static void proto_nothing(struct conn *c)
{
}

static const struct conn_proto proto_choosing = {
    .read = proto_read,
    .write = proto_nothing,
    .eof = proto_eof,
    .timeout = proto_timeout,
    .drain = proto_drain,
    .release = proto_nothing,
};

void proto_conn_start(struct conn *c)
{
    /* A plain listener without h2c speaks HTTP/1 at once, as before. */
    if (!c->https && !h2_settings(c->lc)->cleartext) {
        h1_conn_start(c);
        return;
    }
    c->proto = &proto_choosing;
    c->data = NULL;
    conn_read(c, 1);
    conn_timer(c, c->loop->tv[LOOP_TV_HEADER]);
}
