/*
 * tls_bio.h - the BIO under a TLS connection: a socket BIO that gathers
 * what OpenSSL writes during the handshake into one write(2), and can hold
 * a closing answer for the close_notify behind it.
 *
 * OpenSSL flushes every handshake message it sends on its own: the two
 * TLS 1.3 session tickets go out as two writes and two TCP segments, and a
 * closing answer and its close_notify as two more. On loopback and on a
 * busy server each segment costs the sender the receiver's TCP input too.
 */
#ifndef GALE_TLS_BIO_H
#define GALE_TLS_BIO_H

#include <openssl/ssl.h>

/* Attach a new BIO for socket fd (not closed by the BIO) to ssl, gathering:
 * writes are kept until the next read, which sends them first (the peer
 * answers nothing before it has them), or until tls_bio_release. Returns 0,
 * or -1 when out of memory. */
int tls_bio_attach(SSL *ssl, int fd);

/* The handshake ended (or failed): send what was gathered, and from now on
 * write through. Returns 0 when everything went out, 1 when the socket took
 * only part (the rest goes first at the next read or write, which report
 * that they must wait for writability), -1 on a socket error. */
int tls_bio_release(SSL *ssl);

/* While on, writes go out with MSG_MORE, so that the kernel joins them to
 * the next write without it (a closing answer and its close_notify in one
 * segment). Turn it off before the last write of a burst. */
void tls_bio_more(SSL *ssl, int on);

#endif
