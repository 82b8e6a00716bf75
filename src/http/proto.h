/*
 * proto.h - which HTTP a new connection speaks: HTTP/2 when TLS's ALPN
 * chose "h2" or, on a listener with http2.cleartext, the client opens with
 * the HTTP/2 preface; HTTP/1 otherwise.
 */
#ifndef GALE_PROTO_H
#define GALE_PROTO_H

struct conn;

/* Take a new connection: the choice is made when its first bytes arrive
 * (after the TLS handshake, which is when ALPN is known). */
void proto_conn_start(struct conn *c);

#endif
