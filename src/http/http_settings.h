/*
 * http_settings.h - the HTTP settings: at the top of the file (cookies and
 * their keys, XSRF, sessions, the login page, ETags, trusted proxies, error
 * pages, uploads), on a listen entry (the redirect to https) and on a route
 * (authentication, XSRF, CORS). Three config parts, one per scope.
 */
#ifndef GALE_HTTP_SETTINGS_H
#define GALE_HTTP_SETTINGS_H

#include <stddef.h>

#include "core/config.h"

/* A versioned cookie signing key. */
struct http_cookie_key {
    int version; /* 0..1000000 */
    char *secret;
    int line;
};

/* The page answered for one error status instead of gale's short text. */
struct http_error_page {
    int status; /* 400..599 */
    char *file; /* absolute path */
    char *body; /* its contents, read when the config is loaded */
    size_t len;
    char *type; /* Content-Type; default "text/html; charset=utf-8" */
    int line;
};

/* Server-side sessions, shared by every worker (LMDB) or instance (Redis). */
enum http_session_store { HTTP_STORE_LMDB = 0, HTTP_STORE_REDIS };

struct http_sessions {
    int line;                  /* 0: no sessions group, no sessions */
    int store;                 /* enum http_session_store; default lmdb */
    char *dir;                 /* lmdb: the state folder; default "state" next to the config */
    size_t map_size;           /* lmdb: the most the file may grow to; default 256 MiB */
    struct config_redis redis; /* prefix default "gale:session:" */
    char *cookie;              /* the session cookie's name; default "gale_session" */
    double max_age;            /* seconds a session lives unused; default 1209600 (14 days) */
};

/* The top level of the file. */
struct http_settings {
    char *upload_dir;                    /* temporary files of large uploads; default "/tmp" */
    char *cookie_secret;                 /* signs cookies (Tornado's unversioned str); NULL: none */
    struct http_cookie_key *cookie_keys; /* or versioned keys (Tornado's dict) */
    size_t ncookie_keys;
    int xsrf_cookies; /* refuse unsafe methods without a matching XSRF token; default false */
    struct http_sessions sessions;
    char *login_url; /* where authenticated routes send visitors without a user; "/login" */
    int etag;        /* add an ETag to finished 200 answers to GET/HEAD; default true */
    struct config_cidr *trusted_proxies; /* X-Forwarded-* / X-Real-IP believed from these */
    size_t ntrusted_proxies;
    struct http_error_page *error_pages;
    size_t nerror_pages;
};

/* A listen entry. */
struct http_listen_settings {
    int redirect_https; /* 0, or answer every request with a redirect to https on this port */
};

/* Cross-origin requests a route allows (gale answers preflights itself). */
struct http_cors {
    int line;                      /* 0: no cors group, no CORS headers */
    struct config_strlist origins; /* "*" or exact origins such as "https://a.example" */
    struct config_strlist methods; /* default: the handler's methods */
    struct config_strlist headers; /* request headers allowed; default none */
    struct config_strlist expose;  /* response headers scripts may read */
    int credentials;               /* Access-Control-Allow-Credentials; default false */
    int max_age;                   /* seconds a preflight may be cached; default 600 */
};

/* A route. */
struct http_route_settings {
    int authenticated; /* no user: GET/HEAD redirect to login_url, other methods 403 */
    int xsrf;          /* check XSRF tokens on this route when xsrf_cookies is on; default true */
    struct http_cors cors;
};

extern struct config_part http_settings_part;
extern struct config_part http_listen_settings_part;
extern struct config_part http_route_settings_part;

static inline const struct http_settings *http_settings(const struct config *cfg)
{
    return config_part(cfg->parts, &http_settings_part);
}

static inline const struct http_listen_settings *
http_listen_settings(const struct config_listen *lc)
{
    return config_part(lc->parts, &http_listen_settings_part);
}

static inline const struct http_route_settings *http_route_settings(const struct config_route *rc)
{
    return config_part(rc->parts, &http_route_settings_part);
}

#endif
