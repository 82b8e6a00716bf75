/*
 * cookie_api.c - cookies, signed cookies and XSRF tokens for modules.
 */
#include "http/cookie_api.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/loop.h"
#include "http/cookie.h"
#include "http/request.h"
#include "http/http_parser.h"
#include "http/xsrf.h"
#include "http/http_settings.h"

#define COOKIE_API_MAX_KEYS 16
#define COOKIE_API_XSRF "_xsrf"

const char *gale_request_cookie(gale_request *r, const char *name)
{
    const char *header = gale_request_header(r, "Cookie");
    struct cookie_pair p;
    if (!header || cookie_find(header, strlen(header), name, &p) < 0)
        return NULL;
    return arena_strndup(r->arena, p.value, p.value_len);
}

static void cookie_api_attrs(struct cookie_attrs *a, const gale_cookie_options *o)
{
    memset(a, 0, sizeof(*a));
    if (!o)
        return;
    a->path = o->path;
    a->domain = o->domain;
    a->has_max_age = o->has_max_age;
    a->max_age = o->max_age;
    a->has_expires = o->expires != 0;
    a->expires = (time_t)o->expires;
    a->secure = o->secure;
    a->httponly = o->httponly;
    a->samesite = (enum cookie_samesite)o->samesite;
}

int gale_response_set_cookie(gale_request *r, const char *name, const char *value,
                             const gale_cookie_options *opts)
{
    struct cookie_attrs a;
    char *line = arena_alloc(r->arena, COOKIE_SET_MAX);
    cookie_api_attrs(&a, opts);
    if (cookie_format(line, COOKIE_SET_MAX, name, value, &a) < 0)
        return -1;
    return gale_response_header(r, "Set-Cookie", line);
}

int gale_response_clear_cookie(gale_request *r, const char *name, const gale_cookie_options *opts)
{
    struct cookie_attrs a;
    char *line = arena_alloc(r->arena, COOKIE_SET_MAX);
    cookie_api_attrs(&a, opts);
    if (cookie_format_clear(line, COOKIE_SET_MAX, name, &a) < 0)
        return -1;
    return gale_response_header(r, "Set-Cookie", line);
}

/* The config's secrets as a key set (borrowed from the config). */
static int cookie_api_keys(gale_request *r, struct cookie_keyset *ks, struct cookie_key *keys)
{
    const struct http_settings *cfg = http_settings(r->loop->cfg);
    memset(ks, 0, sizeof(*ks));
    ks->keys = keys;
    if (cfg->cookie_secret) {
        keys[0] = (struct cookie_key){0, cfg->cookie_secret, strlen(cfg->cookie_secret)};
        ks->nkeys = 1;
        ks->unversioned = 1;
        return 0;
    }
    for (size_t i = 0; i < cfg->ncookie_keys && i < COOKIE_API_MAX_KEYS; i++) {
        const struct http_cookie_key *k = &cfg->cookie_keys[i];
        keys[ks->nkeys++] = (struct cookie_key){(unsigned)k->version, k->secret, strlen(k->secret)};
    }
    return ks->nkeys ? 0 : -1;
}

const char *gale_request_signed_cookie(gale_request *r, const char *name, double max_age_days)
{
    struct cookie_key keys[COOKIE_API_MAX_KEYS];
    struct cookie_keyset ks;
    const char *signed_value = gale_request_cookie(r, name);
    if (!signed_value || cookie_api_keys(r, &ks, keys) < 0)
        return NULL;
    size_t len = strlen(signed_value), out_len;
    unsigned char *out = arena_alloc(r->arena, len + 1);
    if (cookie_verify(out, len + 1, &out_len, &ks, name, signed_value, len,
                      max_age_days > 0 ? max_age_days : 31, time(NULL)) < 0)
        return NULL;
    return memchr(out, '\0', out_len) ? NULL : (const char *)out; /* a NUL inside: not text */
}

int gale_response_set_signed_cookie(gale_request *r, const char *name, const char *value,
                                    const gale_cookie_options *opts)
{
    struct cookie_key keys[COOKIE_API_MAX_KEYS];
    struct cookie_keyset ks;
    if (cookie_api_keys(r, &ks, keys) < 0)
        return -1;
    size_t size = cookie_signed_size(strlen(name), strlen(value));
    if (size == 0)
        return -1;
    char *out = arena_alloc(r->arena, size);
    if (cookie_sign(out, size, &ks, name, value, strlen(value), time(NULL)) < 0)
        return -1;
    return gale_response_set_cookie(r, name, out, opts);
}

/* ---- XSRF ---- */

const char *gale_request_xsrf_token(gale_request *r)
{
    if (r->xsrf_token)
        return r->xsrf_token;
    struct xsrf_token t;
    const char *cookie = gale_request_cookie(r, COOKIE_API_XSRF);
    char *token = arena_alloc(r->arena, XSRF_TOKEN_SIZE);
    int fresh = !cookie || xsrf_token_decode(&t, cookie, strlen(cookie)) < 0;
    if (fresh) {
        if (xsrf_raw_new(t.raw) < 0)
            return NULL;
        t.timestamp = time(NULL);
    }
    time_t stamp = t.timestamp >= 0 ? t.timestamp : time(NULL);
    if (xsrf_token_new(token, XSRF_TOKEN_SIZE, t.raw, stamp) < 0)
        return NULL;
    if (fresh) {
        /* Readable by scripts (they send it back in X-XSRFToken), kept to
         * this site's own requests. */
        gale_cookie_options o = {.path = "/", .samesite = GALE_SAMESITE_LAX, .secure = r->https};
        gale_response_set_cookie(r, COOKIE_API_XSRF, token, &o);
    }
    r->xsrf_token = token;
    return token;
}

int cookie_api_xsrf_check(gale_request *r, int route_opted_in, const char **why)
{
    if (!http_settings(r->loop->cfg)->xsrf_cookies || !route_opted_in)
        return 0;
    if (r->mid != HTTP_M_POST && r->mid != HTTP_M_PUT && r->mid != HTTP_M_PATCH &&
        r->mid != HTTP_M_DELETE)
        return 0;
    const char *sent = gale_request_header(r, "X-XSRFToken");
    if (!sent)
        sent = gale_request_header(r, "X-CSRFToken");
    if (!sent)
        sent = gale_request_argument(r, COOKIE_API_XSRF);
    const char *cookie = gale_request_cookie(r, COOKIE_API_XSRF);
    if (!sent) {
        *why = "'_xsrf' argument missing from the request";
        return -1;
    }
    if (!cookie) {
        *why = "'_xsrf' cookie missing";
        return -1;
    }
    if (xsrf_token_check(sent, strlen(sent), cookie, strlen(cookie)) < 0) {
        *why = "XSRF cookie does not match the submitted token";
        return -1;
    }
    return 0;
}
