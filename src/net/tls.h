/*
 * tls.h - HTTPS listeners: OpenSSL contexts built by the master (which
 * reads the keys before privileges are dropped) and inherited by the
 * workers; SNI, ALPN, shared session ticket keys, client certificates.
 */
#ifndef GALE_TLS_H
#define GALE_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

struct config;
struct tls_set;    /* one generation's contexts: one server per TLS listen entry */
struct tls_server; /* the contexts of one listen entry */

/* Build the contexts of every TLS listen entry of cfg: certificates and keys
 * read and checked against each other. Returns the set (empty when no entry
 * has TLS), or NULL with *errors ("FILE:LINE: ...\n" lines, caller frees). */
struct tls_set *tls_load(const struct config *cfg, char **errors);
void tls_free(struct tls_set *ts);

/* The server of listen entry i, or NULL for a plain one. */
struct tls_server *tls_server_at(const struct tls_set *ts, size_t i);

/* A new server-side SSL for one connection. */
SSL *tls_ssl_new(struct tls_server *srv);

/* The subject (RFC 2253) of the client's verified certificate into buf, or
 * NULL when it presented none. */
const char *tls_peer_subject(SSL *ssl, char *buf, size_t cap);

#endif
