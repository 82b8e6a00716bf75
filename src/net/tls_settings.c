/*
 * tls_settings.c - the `tls` group of a listen entry, as a config part.
 */
#include "net/tls_settings.h"

#include "core/config_table.h"

static const char *const tls_settings_protocols[] = {"TLSv1.2", "TLSv1.3", NULL};
static const char *const tls_settings_verify_words[] = {"off", "optional", "require", NULL};

/* Mozilla's "intermediate" TLS 1.2 suites: forward secret AEADs only. */
#define TLS_SETTINGS_TLS12_CIPHERS                                                                 \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_SETTINGS_TLS13_SUITES                                                                  \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static const struct config_directive tls_settings_cert_table[] = {
    CONFIG_STRING(struct tls_sni_cert, server_name, CONFIG_REQUIRED, NULL),
    CONFIG_PATH(struct tls_sni_cert, certificate, CONFIG_REQUIRED, NULL, NULL),
    CONFIG_PATH(struct tls_sni_cert, key, CONFIG_REQUIRED, NULL, NULL),
    CONFIG_END,
};

static const struct config_directive tls_settings_table[] = {
    CONFIG_PATH(struct tls_settings, certificate, 0, NULL, NULL),
    CONFIG_PATH(struct tls_settings, key, 0, NULL, NULL),
    CONFIG_LIST("certificates", struct tls_settings, certificates, ncertificates, 0, 0,
                struct tls_sni_cert, tls_settings_cert_table, NULL),
    CONFIG_ENUM(struct tls_settings, min_protocol, 0, tls_settings_protocols),
    CONFIG_STRING(struct tls_settings, ciphers, 0, TLS_SETTINGS_TLS12_CIPHERS),
    CONFIG_STRING(struct tls_settings, ciphersuites, 0, TLS_SETTINGS_TLS13_SUITES),
    CONFIG_BOOL(struct tls_settings, session_tickets, 1),
    CONFIG_SECONDS(struct tls_settings, ticket_rotation, 43200, 60, 7 * CONFIG_ONE_DAY),
    CONFIG_INT(struct tls_settings, ticket_count, 0, 2, 1, 8),
    CONFIG_ENUM(struct tls_settings, verify_client, TLS_VERIFY_OFF, tls_settings_verify_words),
    CONFIG_PATH(struct tls_settings, client_ca, 0, NULL, NULL),
    CONFIG_INT(struct tls_settings, hsts_max_age, 0, 0, 0, 2 * 365 * 86400),
    CONFIG_BOOL(struct tls_settings, hsts_subdomains, 0),
    CONFIG_BOOL(struct tls_settings, http2, 1),
    CONFIG_END,
};

/* A tls group turns a listen entry into HTTPS: it needs a certificate and
 * its key, and client verification needs the CAs to verify against. */
static void tls_settings_check(struct config_ctx *ctx, const config_setting_t *g, void *settings)
{
    struct tls_settings *t = settings;

    t->line = g ? config_line(g) : 0;
    if (g == NULL)
        return;
    if (t->certificate == NULL || t->key == NULL)
        config_error(ctx, g, "expected certificate and key (PEM files)");
    else if (t->verify_client != TLS_VERIFY_OFF && t->client_ca == NULL)
        config_error(ctx, g, "verify_client needs client_ca (the CAs to verify against)");
}

struct config_part tls_settings_part = {
    .name = "tls",
    .scope = CONFIG_SCOPE_LISTEN,
    .size = sizeof(struct tls_settings),
    .table = tls_settings_table,
    .check = tls_settings_check,
};
