/*
 * tls.c - OpenSSL server contexts for HTTPS listeners.
 *
 * Defaults follow current practice: TLS 1.2 and 1.3 only, forward-secret
 * AEAD suites, the server's preference, no renegotiation, no compression.
 *
 * Session resumption across workers: every worker must decrypt the tickets
 * any other worker issued. The master draws one random secret when it
 * starts; each ticket key is derived from it and the current period
 * (time / ticket_rotation), so all workers of all generations agree on the
 * keys without talking, keys rotate on their own, and a ticket stays valid
 * for the period it was made in and the next one.
 */
#include "net/tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "core/config.h"
#include "core/util.h"
#include "net/tls_settings.h"

struct tls_named {
    const char *name; /* borrowed from the config */
    SSL_CTX *ctx;
};

struct tls_server {
    const struct tls_settings *conf;
    SSL_CTX *def;
    struct tls_named *named;
    size_t nnamed;
};

struct tls_set {
    struct tls_server **servers; /* by listen index; NULL for plain entries */
    size_t n;
};

static unsigned char tls_secret[32];
static int tls_secret_ready;

/* ---- errors ---- */

static void tls_error(struct strbuf *err, const char *file, int line, const char *what,
                      const char *path)
{
    char reason[256] = "";
    unsigned long e = ERR_peek_last_error();
    if (e)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    strbuf_addf(err, "%s:%d: %s%s%s%s%s\n", file, line, what, path ? " " : "", path ? path : "",
                *reason ? ": " : "", reason);
}

/* OpenSSL reports a file it cannot open as "system lib", naming neither the
 * file nor the reason: try it first, and say both. */
static int tls_readable(struct strbuf *err, const char *file, int line, const char *what,
                        const char *path)
{
    FILE *f = fopen(path, "r");
    if (f) {
        fclose(f);
        return 0;
    }
    strbuf_addf(err, "%s:%d: cannot read the %s %s: %s\n", file, line, what, path, strerror(errno));
    return -1;
}

/* ---- session tickets ---- */

static void tls_derive(const char *label, unsigned long long period, unsigned char out[32])
{
    unsigned char msg[64];
    unsigned int len = 32;
    int n = snprintf((char *)msg, sizeof(msg), "%s %llu", label, period);
    HMAC(EVP_sha256(), tls_secret, sizeof(tls_secret), msg, (size_t)n, out, &len);
}

/* A period's ticket keys, derived once a worker: a derivation is three
 * HMACs, each with OpenSSL 3's fetches of its algorithms (some 60,000
 * instructions), and every full handshake issues two tickets; derived each
 * time, they were 4% of a handshake's work in the worker (callgrind), what
 * set gale's CPU per handshake above nginx's. Slot period % 2 keeps the
 * current period's keys beside the one before's. */
struct tls_keys {
    unsigned long long period;
    int ready;
    unsigned char name[16], aes[32], mac[32];
};

static const struct tls_keys *tls_ticket_keys(unsigned long long period)
{
    static struct tls_keys cache[2];
    struct tls_keys *k = &cache[period % 2];
    if (k->ready && k->period == period)
        return k;
    unsigned char full[32];
    tls_derive("name", period, full);
    memcpy(k->name, full, 16);
    tls_derive("aes", period, k->aes);
    tls_derive("mac", period, k->mac);
    k->period = period;
    k->ready = 1;
    return k;
}

static int tls_ticket_mac(EVP_MAC_CTX *hctx, const unsigned char mac[32])
{
    OSSL_PARAM params[] = {
        /* OpenSSL copies the key: the cast only meets its signature */
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)mac, 32),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

/* AES-256-CBC fetched once: EVP_aes_256_cbc() makes every cipher init
 * fetch the provider's implementation again (5,000 instructions a ticket). */
static const EVP_CIPHER *tls_ticket_cipher(void)
{
    static EVP_CIPHER *fetched;
    if (!fetched)
        fetched = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    return fetched ? fetched : EVP_aes_256_cbc();
}

/* Ticket IVs come from random bytes drawn 4 KiB at a time: one RAND_bytes
 * call costs some 26,000 instructions (the DRBG's reseed checks and
 * update), whatever its length, and a full handshake issues two tickets.
 * A forked child starts with an empty pool, so no two processes hand out
 * the same IVs. */
static unsigned char tls_iv_pool[4096];
static size_t tls_iv_left;
static int tls_iv_pooled; /* the fork handler is in place: the pool may be used */

static void tls_iv_forked(void)
{
    tls_iv_left = 0;
}

/* Before any worker is forked: the contexts are made in the master. */
static void tls_iv_setup(void)
{
    if (!tls_iv_pooled && pthread_atfork(NULL, NULL, tls_iv_forked) == 0)
        tls_iv_pooled = 1;
}

static int tls_ticket_iv(unsigned char iv[16])
{
    if (!tls_iv_pooled)
        return RAND_bytes(iv, 16) == 1 ? 0 : -1;
    if (tls_iv_left < 16) {
        if (RAND_bytes(tls_iv_pool, sizeof(tls_iv_pool)) != 1)
            return -1;
        tls_iv_left = sizeof(tls_iv_pool);
    }
    tls_iv_left -= 16;
    memcpy(iv, tls_iv_pool + tls_iv_left, 16);
    OPENSSL_cleanse(tls_iv_pool + tls_iv_left, 16); /* used once */
    return 0;
}

/* OpenSSL's ticket key callback: enc = 1 makes a ticket with this period's
 * key; enc = 0 finds the key of a ticket (this period or the one before;
 * 2 asks OpenSSL to issue a fresh ticket). */
static int tls_ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char iv[16],
                         EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    struct tls_server *srv = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    double rotation = srv ? srv->conf->ticket_rotation : 43200;
    unsigned long long now = (unsigned long long)((double)time(NULL) / rotation);
    if (enc) {
        const struct tls_keys *k = tls_ticket_keys(now);
        memcpy(key_name, k->name, 16);
        if (tls_ticket_iv(iv) < 0 ||
            EVP_EncryptInit_ex(cctx, tls_ticket_cipher(), NULL, k->aes, iv) != 1 ||
            tls_ticket_mac(hctx, k->mac) < 0)
            return -1;
        return 1;
    }
    unsigned long long periods[2] = {now, now ? now - 1 : now};
    for (int i = 0; i < 2; i++) {
        const struct tls_keys *k = tls_ticket_keys(periods[i]);
        if (memcmp(key_name, k->name, 16) != 0)
            continue;
        if (tls_ticket_mac(hctx, k->mac) < 0 ||
            EVP_DecryptInit_ex(cctx, tls_ticket_cipher(), NULL, k->aes, iv) != 1)
            return -1;
        return i == 0 ? 1 : 2;
    }
    return 0; /* unknown key: a full handshake */
}

/* ---- ALPN and SNI ---- */

static int tls_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    /* h2 first: a client offering both gets HTTP/2 (RFC 7301 3.2 lets the
     * server prefer) */
    static const unsigned char both[] = "\x02h2\x08http/1.1";
    static const unsigned char http11[] = "\x08http/1.1";
    int h2 = arg != NULL; /* tls_ctx_settings: non-NULL when tls.http2 is on */
    unsigned char *sel;
    if (SSL_select_next_proto(&sel, outlen, h2 ? both : http11,
                              h2 ? sizeof(both) - 1 : sizeof(http11) - 1, in,
                              inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK; /* nothing we speak: go on without ALPN */
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* "*.example.com" matches exactly one label before ".example.com". */
static int tls_name_matches(const char *pattern, const char *name)
{
    if (pattern[0] != '*' || pattern[1] != '.')
        return strcasecmp(pattern, name) == 0;
    const char *dot = strchr(name, '.');
    return dot && dot != name && strcasecmp(dot, pattern + 1) == 0;
}

static int tls_sni_cb(SSL *ssl, int *alert, void *arg)
{
    struct tls_server *srv = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name)
        return SSL_TLSEXT_ERR_OK;
    for (int wild = 0; wild < 2; wild++)
        for (size_t i = 0; i < srv->nnamed; i++)
            if ((srv->named[i].name[0] == '*') == wild &&
                tls_name_matches(srv->named[i].name, name)) {
                SSL_set_SSL_CTX(ssl, srv->named[i].ctx);
                return SSL_TLSEXT_ERR_OK;
            }
    return SSL_TLSEXT_ERR_OK; /* the default certificate */
}

/* ---- contexts ---- */

static int tls_ctx_settings(SSL_CTX *ctx, const struct tls_settings *t, size_t index,
                            const char *file, struct strbuf *err)
{
    /* A session (ticket) resumes only on the listener that made it: one made
     * where client certificates are not asked for must not skip them on
     * another listener that requires them. */
    char sid[32];
    int sidlen = snprintf(sid, sizeof(sid), "gale:%zu:%d", index, t->verify_client);
    SSL_CTX_set_min_proto_version(ctx, t->min_protocol ? TLS1_3_VERSION : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_NO_COMPRESSION);
    /* Idle connections keep no read/write buffers: tens of thousands of them fit. */
    /* conn_flush writes with SSL_write itself and, when the socket is full,
     * hands the rest to the bufferevent, whose retry passes the same bytes
     * from another address. */
    /* The chain sent is the certificate file's (use_certificate_chain_file
     * below): without NO_AUTO_CHAIN, OpenSSL would try to build one from
     * the verify store at every handshake, a certificate verification that
     * changes nothing (and a client CA store could lend it a wrong chain). */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_NO_AUTO_CHAIN);
    /* Read-ahead: a record's header and body in one read(2), not two; conn.c
     * wakes libevent's OpenSSL bufferevent (2.1) for records OpenSSL holds
     * past the one it asked for, which it would not see otherwise. */
    SSL_CTX_set_read_ahead(ctx, 1);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)sid, (unsigned)sidlen);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* tickets resume, across workers */
    if (SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1) {
        tls_error(err, file, t->line, "tls.ciphers: no usable cipher in", t->ciphers);
        return -1;
    }
    if (SSL_CTX_set_ciphersuites(ctx, t->ciphersuites) != 1) {
        tls_error(err, file, t->line, "tls.ciphersuites: no usable suite in", t->ciphersuites);
        return -1;
    }
    SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384");
    if (t->session_tickets) {
        tls_iv_setup();
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb);
        /* each TLS 1.3 ticket is some 6% of a full handshake's work (callgrind) */
        SSL_CTX_set_num_tickets(ctx, (size_t)t->ticket_count);
    } else
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_cb, t->http2 ? (void *)ctx : NULL);
    if (t->verify_client != TLS_VERIFY_OFF) {
        if (t->client_ca && tls_readable(err, file, t->line, "tls.client_ca", t->client_ca) < 0)
            return -1;
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->client_ca);
        if (!names || SSL_CTX_load_verify_locations(ctx, t->client_ca, NULL) != 1) {
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            tls_error(err, file, t->line, "tls.client_ca: cannot load", t->client_ca);
            return -1;
        }
        SSL_CTX_set_client_CA_list(ctx, names);
        SSL_CTX_set_verify(
            ctx,
            SSL_VERIFY_PEER |
                (t->verify_client == TLS_VERIFY_REQUIRE ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
            NULL);
    }
    return 0;
}

static SSL_CTX *tls_ctx_new(const struct tls_settings *t, size_t index, const char *cert,
                            const char *key, const char *file, int line, struct strbuf *err)
{
    if (tls_readable(err, file, line, "certificate", cert) < 0 ||
        tls_readable(err, file, line, "key", key) < 0)
        return NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        tls_error(err, file, line, "cannot create a TLS context", NULL);
        return NULL;
    }
    if (tls_ctx_settings(ctx, t, index, file, err) < 0)
        goto fail;
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        tls_error(err, file, line, "cannot load the certificate", cert);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        tls_error(err, file, line, "cannot load the key", key);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        tls_error(err, file, line, "the key does not match the certificate", cert);
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

static void tls_server_free(struct tls_server *srv)
{
    if (!srv)
        return;
    SSL_CTX_free(srv->def);
    for (size_t i = 0; i < srv->nnamed; i++)
        SSL_CTX_free(srv->named[i].ctx);
    free(srv->named);
    free(srv);
}

static struct tls_server *tls_server_new(const struct tls_settings *t, size_t index,
                                         const char *file, struct strbuf *err)
{
    struct tls_server *srv = xcalloc(1, sizeof(*srv));
    srv->conf = t;
    srv->def = tls_ctx_new(t, index, t->certificate, t->key, file, t->line, err);
    srv->named = xcalloc(t->ncertificates, sizeof(*srv->named));
    int ok = srv->def != NULL;
    for (size_t i = 0; i < t->ncertificates; i++) {
        const struct tls_sni_cert *c = &t->certificates[i];
        SSL_CTX *ctx = tls_ctx_new(t, index, c->certificate, c->key, file, c->line, err);
        if (!ctx) {
            ok = 0;
            continue;
        }
        SSL_CTX_set_app_data(ctx, srv);
        srv->named[srv->nnamed].name = c->server_name;
        srv->named[srv->nnamed++].ctx = ctx;
    }
    if (!ok) {
        tls_server_free(srv);
        return NULL;
    }
    SSL_CTX_set_app_data(srv->def, srv);
    SSL_CTX_set_tlsext_servername_callback(srv->def, tls_sni_cb);
    SSL_CTX_set_tlsext_servername_arg(srv->def, srv);
    return srv;
}

struct tls_set *tls_load(const struct config *cfg, char **errors)
{
    struct strbuf err = {0};
    struct tls_set *ts = xcalloc(1, sizeof(*ts));
    if (!tls_secret_ready) {
        if (RAND_bytes(tls_secret, sizeof(tls_secret)) != 1) {
            *errors = xstrdup("cannot draw random bytes for the session ticket keys\n");
            free(ts);
            return NULL;
        }
        tls_secret_ready = 1;
    }
    ts->n = cfg->nlistens;
    ts->servers = xcalloc(ts->n, sizeof(*ts->servers));
    for (size_t i = 0; i < cfg->nlistens; i++)
        if (tls_settings(&cfg->listens[i])->line)
            ts->servers[i] = tls_server_new(tls_settings(&cfg->listens[i]), i, cfg->file, &err);
    if (err.len) {
        *errors = strbuf_take(&err);
        tls_free(ts);
        return NULL;
    }
    return ts;
}

void tls_free(struct tls_set *ts)
{
    if (!ts)
        return;
    for (size_t i = 0; i < ts->n; i++)
        tls_server_free(ts->servers[i]);
    free(ts->servers);
    free(ts);
}

struct tls_server *tls_server_at(const struct tls_set *ts, size_t i)
{
    return ts && i < ts->n ? ts->servers[i] : NULL;
}

SSL *tls_ssl_new(struct tls_server *srv)
{
    return SSL_new(srv->def);
}

const char *tls_peer_subject(SSL *ssl, char *buf, size_t cap)
{
    X509 *cert = SSL_get0_peer_certificate(ssl);
    if (!cert || SSL_get_verify_result(ssl) != X509_V_OK)
        return NULL;
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return NULL;
    X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    int n = BIO_read(bio, buf, (int)cap - 1);
    BIO_free(bio);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    return buf;
}
