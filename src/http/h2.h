/*
 * h2.h - the HTTP/2 wire (RFC 9113) on a connection, with libnghttp2.
 */
#ifndef GALE_H2_H
#define GALE_H2_H

struct conn;

/* Start speaking HTTP/2 on a connection whose client chose it (ALPN "h2",
 * or the connection preface on an h2c listener): what was read so far is
 * still in its input. */
void h2_conn_start(struct conn *c);

#endif
