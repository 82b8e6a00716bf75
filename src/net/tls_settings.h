/*
 * tls_settings.h - the `tls` group of a listen entry: certificates (with
 * SNI), protocols, suites, tickets, client certificates, HSTS.
 */
#ifndef GALE_TLS_SETTINGS_H
#define GALE_TLS_SETTINGS_H

#include <stddef.h>

#include "core/config.h"

/* A certificate chosen by SNI. */
struct tls_sni_cert {
    char *server_name; /* "www.example.com" or "*.example.com" */
    char *certificate; /* PEM: the certificate, then its chain */
    char *key;         /* PEM private key */
    int line;
};

enum tls_verify { TLS_VERIFY_OFF = 0, TLS_VERIFY_OPTIONAL, TLS_VERIFY_REQUIRE };

struct tls_settings {
    int line;          /* 0: the listen entry has no tls group (plain HTTP) */
    char *certificate; /* the default certificate (PEM chain) and its key */
    char *key;
    struct tls_sni_cert *certificates; /* more, picked by the client's server name */
    size_t ncertificates;
    int min_protocol;       /* 0: TLS 1.2 (default), 1: TLS 1.3 */
    char *ciphers;          /* TLS 1.2 cipher list (OpenSSL syntax) */
    char *ciphersuites;     /* TLS 1.3 suites */
    int session_tickets;    /* default on: resumption across all workers */
    double ticket_rotation; /* seconds a ticket key encrypts; default 43200 (12 h) */
    int ticket_count;       /* TLS 1.3 tickets after a full handshake; default 2 */
    int verify_client;      /* enum tls_verify */
    char *client_ca;        /* PEM CAs that client certificates must chain to */
    int hsts_max_age;       /* seconds; 0 (default): no Strict-Transport-Security */
    int hsts_subdomains;
    int http2; /* offer h2 by ALPN; default on */
};

extern struct config_part tls_settings_part;

/* The tls settings of a listen entry (line 0: plain HTTP). */
static inline const struct tls_settings *tls_settings(const struct config_listen *lc)
{
    return config_part(lc->parts, &tls_settings_part);
}

#endif
