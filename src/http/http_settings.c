/*
 * http_settings.c - the HTTP settings of the three scopes, as config parts.
 */
/* open_memstream */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "http/http_settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_table.h"

/* Key versions are unique. */
static void http_settings_check_cookie_key(struct config_ctx *ctx, const config_setting_t *s,
                                           void *entries, size_t i)
{
    struct http_cookie_key *k = entries;
    for (size_t j = 0; j < i; j++)
        if (k[j].version == k[i].version)
            config_error(ctx, s, "key version %d is already used at line %d", k[i].version,
                         k[j].line);
}

/* Sessions travel in a signed cookie: they need a cookie secret. */
static int http_settings_set_sessions(struct config_ctx *ctx, const config_setting_t *s,
                                      const struct config_directive *d, void *base)
{
    const struct http_settings *http = base; /* cookie_secret and cookie_keys are read first */
    struct http_sessions *ss = config_field(d, base);
    int rc = config_set_group(ctx, s, d, base);

    ss->line = s ? config_line(s) : 0;
    if (s != NULL && rc == 0 && http->cookie_secret == NULL && http->ncookie_keys == 0)
        return config_error(ctx, s,
                            "sessions need cookie_secret or cookie_keys (the session "
                            "cookie is signed)");
    return rc;
}

/* A cors group needs the origins it allows. */
static int http_settings_set_cors(struct config_ctx *ctx, const config_setting_t *s,
                                  const struct config_directive *d, void *base)
{
    struct http_cors *c = config_field(d, base);
    int rc = config_set_group(ctx, s, d, base);

    c->line = s ? config_line(s) : 0;
    if (s != NULL && rc == 0 && c->origins.n == 0)
        return config_error(ctx, s, "expected origins (\"*\" or a list of origins)");
    return rc;
}

/* The contents of an error page are read now: a missing file is a config
 * error, and workers need no access to it. */
static void http_settings_check_error_page(struct config_ctx *ctx, const config_setting_t *s,
                                           void *entries, size_t i)
{
    struct http_error_page *p = (struct http_error_page *)entries + i;
    FILE *f = p->file ? fopen(p->file, "rb") : NULL;
    char *buf = NULL;
    size_t len = 0;

    for (size_t j = 0; j < i; j++)
        if (((struct http_error_page *)entries)[j].status == p->status)
            config_error(ctx, s, "status %d already has a page", p->status);
    if (p->file == NULL)
        return;
    if (f == NULL) {
        config_error(ctx, s, "cannot read %s: %s", p->file, strerror(errno));
        return;
    }
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while (m != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    if (m != NULL)
        fclose(m);
    fclose(f);
    if (buf == NULL || len > 1024 * 1024) {
        free(buf);
        config_error(ctx, s, "%s: expected a readable file of at most 1 MiB", p->file);
        return;
    }
    p->body = buf;
    p->len = len;
}

static void http_settings_release_page_body(const struct config_directive *d, void *base)
{
    free(((struct http_error_page *)base)->body);
}

static const struct config_directive http_settings_cors_table[] = {
    CONFIG_STRLIST(struct http_cors, origins),
    CONFIG_STRLIST(struct http_cors, methods),
    CONFIG_STRLIST(struct http_cors, headers),
    CONFIG_STRLIST(struct http_cors, expose),
    CONFIG_BOOL(struct http_cors, credentials, 0),
    CONFIG_INT(struct http_cors, max_age, 0, 600, 0, 86400),
    CONFIG_END,
};

static const struct config_directive http_settings_cookie_key_table[] = {
    CONFIG_INT(struct http_cookie_key, version, CONFIG_REQUIRED, 0, 0, 1000000),
    CONFIG_STRING(struct http_cookie_key, secret, CONFIG_REQUIRED, NULL),
    CONFIG_END,
};

static const char *const http_settings_stores[] = {"lmdb", "redis", NULL};

CONFIG_REDIS_TABLE(http_settings_redis_table, "gale:session:");

static const struct config_directive http_settings_sessions_table[] = {
    CONFIG_ENUM(struct http_sessions, store, HTTP_STORE_LMDB, http_settings_stores),
    CONFIG_PATH(struct http_sessions, dir, 0, "state", NULL),
    CONFIG_SIZE(struct http_sessions, map_size, 268435456, 1048576, 1LL << 40),
    CONFIG_GROUP(struct http_sessions, redis, http_settings_redis_table),
    CONFIG_STRING(struct http_sessions, cookie, 0, "gale_session"),
    CONFIG_SECONDS(struct http_sessions, max_age, 1209600, 60, 366 * CONFIG_ONE_DAY),
    CONFIG_END,
};

static const struct config_directive http_settings_error_page_table[] = {
    CONFIG_INT(struct http_error_page, status, CONFIG_REQUIRED, 0, 400, 599),
    CONFIG_PATH(struct http_error_page, file, CONFIG_REQUIRED, NULL, NULL),
    CONFIG_STRING(struct http_error_page, type, 0, "text/html; charset=utf-8"),
    /* not a setting: read from `file`, freed with the entry */
    {.name = "body", .release = http_settings_release_page_body},
    CONFIG_END,
};

static const struct config_directive http_settings_table[] = {
    CONFIG_PATH(struct http_settings, upload_dir, 0, "/tmp", NULL),
    CONFIG_STRING(struct http_settings, cookie_secret, 0, NULL),
    CONFIG_LIST("cookie_keys", struct http_settings, cookie_keys, ncookie_keys, 0, 0,
                struct http_cookie_key, http_settings_cookie_key_table,
                http_settings_check_cookie_key),
    CONFIG_BOOL(struct http_settings, xsrf_cookies, 0),
    {.name = "sessions",
     .set = http_settings_set_sessions,
     .release = config_release_group,
     .offset = offsetof(struct http_settings, sessions),
     .sub = http_settings_sessions_table},
    CONFIG_STRING(struct http_settings, login_url, 0, "/login"),
    CONFIG_BOOL(struct http_settings, etag, 1),
    {.name = "trusted_proxies",
     .set = config_set_cidrs,
     .release = config_release_ptr,
     .offset = offsetof(struct http_settings, trusted_proxies),
     .count = offsetof(struct http_settings, ntrusted_proxies)},
    CONFIG_LIST("error_pages", struct http_settings, error_pages, nerror_pages, 0, 0,
                struct http_error_page, http_settings_error_page_table,
                http_settings_check_error_page),
    CONFIG_END,
};

/* cookie_keys replaces cookie_secret: one or the other. */
static void http_settings_check(struct config_ctx *ctx, const config_setting_t *g, void *settings)
{
    const struct http_settings *http = settings;

    if (http->cookie_secret != NULL && http->ncookie_keys > 0)
        config_error(ctx, config_setting_get_elem(config_setting_get_member(g, "cookie_keys"), 0),
                     "expected cookie_secret or cookie_keys, not both");
}

struct config_part http_settings_part = {
    .scope = CONFIG_SCOPE_MAIN,
    .size = sizeof(struct http_settings),
    .table = http_settings_table,
    .check = http_settings_check,
};

static const struct config_directive http_listen_settings_table[] = {
    CONFIG_INT(struct http_listen_settings, redirect_https, 0, 0, 0, 65535),
    CONFIG_END,
};

struct config_part http_listen_settings_part = {
    .scope = CONFIG_SCOPE_LISTEN,
    .size = sizeof(struct http_listen_settings),
    .table = http_listen_settings_table,
};

static const struct config_directive http_route_settings_table[] = {
    CONFIG_BOOL(struct http_route_settings, xsrf, 1),
    CONFIG_BOOL(struct http_route_settings, authenticated, 0),
    {.name = "cors",
     .set = http_settings_set_cors,
     .release = config_release_group,
     .offset = offsetof(struct http_route_settings, cors),
     .sub = http_settings_cors_table},
    CONFIG_END,
};

struct config_part http_route_settings_part = {
    .scope = CONFIG_SCOPE_ROUTE,
    .size = sizeof(struct http_route_settings),
    .table = http_route_settings_table,
};
