/*
 * config.h - the checked, immutable configuration.
 *
 * The master parses and checks the whole file once (config_load); a worker
 * gets the result by fork and never changes it. A reload builds a new one.
 * Every error names the place: "FILE:LINE: what was expected".
 */
#ifndef GALE_CONFIG_H
#define GALE_CONFIG_H

#include <stddef.h>
#include <jansson.h>

/* A certificate chosen by SNI. */
struct config_cert {
    char *server_name; /* "www.example.com" or "*.example.com" */
    char *certificate; /* PEM: the certificate, then its chain */
    char *key;         /* PEM private key */
    int line;
};

enum config_verify { CONFIG_VERIFY_OFF = 0, CONFIG_VERIFY_OPTIONAL, CONFIG_VERIFY_REQUIRE };

struct config_tls {
    int line;          /* 0: the listen entry has no tls group (plain HTTP) */
    char *certificate; /* the default certificate (PEM chain) and its key */
    char *key;
    struct config_cert *certificates; /* more, picked by the client's server name */
    size_t ncertificates;
    int min_protocol;       /* 0: TLS 1.2 (default), 1: TLS 1.3 */
    char *ciphers;          /* TLS 1.2 cipher list (OpenSSL syntax) */
    char *ciphersuites;     /* TLS 1.3 suites */
    int session_tickets;    /* default on: resumption across all workers */
    double ticket_rotation; /* seconds a ticket key encrypts; default 43200 (12 h) */
    int verify_client;      /* enum config_verify */
    char *client_ca;        /* PEM CAs that client certificates must chain to */
    int hsts_max_age;       /* seconds; 0 (default): no Strict-Transport-Security */
    int hsts_subdomains;
};

struct config_listen {
    char *address;      /* numeric IPv4 or IPv6 address: "0.0.0.0", "::", "127.0.0.1", "::1" */
    int port;           /* 1..65535 */
    int backlog;        /* listen(2) backlog, default 511 */
    int redirect_https; /* 0, or answer every request with a redirect to https on this port */
    struct config_tls tls;
    int line;
};

/* A list of strings from a libconfig array ["a", "b"] (or one string). */
struct config_strlist {
    char **v;
    size_t n;
};

/* Cross-origin requests a route allows (gale answers preflights itself). */
struct config_cors {
    int line;                      /* 0: no cors group, no CORS headers */
    struct config_strlist origins; /* "*" or exact origins such as "https://a.example" */
    struct config_strlist methods; /* default: the handler's methods */
    struct config_strlist headers; /* request headers allowed; default none */
    struct config_strlist expose;  /* response headers scripts may read */
    int credentials;               /* Access-Control-Allow-Credentials; default false */
    int max_age;                   /* seconds a preflight may be cached; default 600 */
};

/* A versioned cookie signing key. */
struct config_cookie_key {
    int version; /* 0..1000000 */
    char *secret;
    int line;
};

/* Server-side sessions, shared by every worker (LMDB) or instance (Redis). */
enum config_store { CONFIG_STORE_LMDB = 0, CONFIG_STORE_REDIS };

struct config_redis {
    char *host;     /* default "127.0.0.1" */
    int port;       /* default 6379 */
    char *password; /* NULL: none */
    int db;         /* default 0 */
    char *prefix;   /* default "gale:session:" */
};

struct config_sessions {
    int line;        /* 0: no sessions group, no sessions */
    int store;       /* enum config_store; default lmdb */
    char *dir;       /* lmdb: the state folder; default "state" next to the config */
    size_t map_size; /* lmdb: the most the file may grow to; default 256 MiB */
    struct config_redis redis;
    char *cookie;   /* the session cookie's name; default "gale_session" */
    double max_age; /* seconds a session lives unused; default 1209600 (14 days) */
};

/* WebSocket connections (routes marked websocket = true). */
struct config_websocket {
    size_t max_message_size; /* bytes, after decompression; above: close 1009; default 16 MiB */
    double ping_interval;    /* seconds between keepalive pings; 0: none; default 30 */
    double ping_timeout;     /* seconds a pong may take before the peer counts as dead; 30 */
    double close_timeout;    /* seconds to wait for the peer's close frame; default 5 */
    struct config_strlist origins; /* allowed Origin values; empty: same origin; "*": any */
    int compression;               /* offer permessage-deflate (RFC 7692); default false */
    int compression_level;         /* zlib level 1..9; default 6 */
};

/* Publish/subscribe between workers (local: through the master) or instances (redis). */
enum config_pubsub_backend { CONFIG_PUBSUB_LOCAL = 0, CONFIG_PUBSUB_REDIS };

struct config_pubsub {
    int line;                  /* 0: no pubsub group (local) */
    int backend;               /* enum config_pubsub_backend */
    struct config_redis redis; /* prefix default "gale:pubsub:" */
};

struct config_route {
    int websocket;     /* the route upgrades to WebSocket (its handler has callbacks for it) */
    int authenticated; /* no user: GET/HEAD redirect to login_url, other methods 403 */
    int xsrf;          /* check XSRF tokens on this route when xsrf_cookies is on; default true */
    char *path;        /* regular expression matched against the whole path */
    char *handler;     /* a handler name of the module the route is declared in */
    char *name;        /* optional route name (reverse URLs), NULL when none */
    struct config_cors cors;
    int line;
};

/* An address block: trusted proxies. */
struct config_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
};

/* The page answered for one error status instead of gale's short text. */
struct config_error_page {
    int status; /* 400..599 */
    char *file; /* absolute path */
    char *body; /* its contents, read when the config is loaded */
    size_t len;
    char *type; /* Content-Type; default "text/html; charset=utf-8" */
    int line;
};

struct config_module {
    char *path;       /* absolute (relative paths resolved against the config's folder) */
    json_t *settings; /* owned: an object, empty when the config has none */
    struct config_route *routes;
    size_t nroutes;
    int line;
};

struct config_limits {
    size_t max_header_size;      /* request line + headers, bytes; default 16384 -> 431 */
    size_t max_uri_size;         /* request-target, bytes; default 8192 -> 414 */
    size_t max_headers;          /* header fields; default 100 -> 431 */
    size_t max_body_size;        /* bytes; default 10485760 -> 413 */
    double header_timeout;       /* seconds to receive a whole request head; default 10 */
    double body_timeout;         /* seconds without body bytes; default 30 */
    double idle_timeout;         /* seconds a keep-alive connection may wait; default 60 */
    double send_timeout;         /* seconds without progress sending; default 30 */
    unsigned keepalive_requests; /* requests per connection, 0 = unlimited; default 0 */
    size_t max_connections;      /* per worker; default 10000 */
    size_t upload_memory_limit;  /* uploaded files above this go to a temporary file; 1 MiB */
};

enum config_log_level { CONFIG_LOG_ERROR = 0, CONFIG_LOG_WARN, CONFIG_LOG_INFO, CONFIG_LOG_DEBUG };

struct config {
    char *file;          /* the path given to config_load */
    char *dir;           /* its folder, for relative paths */
    int workers;         /* resolved: "auto" is the number of online CPUs */
    char *user;          /* NULL: "nobody" when started as root (as nginx), else unchanged */
    char *group;         /* NULL: the user's primary group */
    char *pid_file;      /* NULL: none */
    char *error_log;     /* "stderr" (default) or a path */
    int log_level;       /* enum config_log_level; default info */
    char *access_log;    /* "stderr" (default), "off", or a path */
    char *server_header; /* value of the Server header; default "gale" */
    char *upload_dir;    /* temporary files of large uploads; default "/tmp" */
    char *cookie_secret; /* signs cookies (Tornado's unversioned str); NULL: none */
    struct config_cookie_key *cookie_keys; /* or versioned keys (Tornado's dict) */
    size_t ncookie_keys;
    int xsrf_cookies; /* refuse unsafe methods without a matching XSRF token; default false */
    struct config_sessions sessions;
    struct config_websocket websocket;
    struct config_pubsub pubsub;
    char *login_url; /* where authenticated routes send visitors without a user; "/login" */
    int etag;        /* add an ETag to finished 200 answers to GET/HEAD; default true */
    struct config_cidr *trusted_proxies; /* X-Forwarded-* / X-Real-IP believed from these */
    size_t ntrusted_proxies;
    struct config_error_page *error_pages;
    size_t nerror_pages;
    double grace_period; /* seconds old workers may drain on reload or SIGQUIT; default 30 */
    struct config_limits limits;
    struct config_listen *listens;
    size_t nlistens;
    struct config_module *modules;
    size_t nmodules;
};

/* Read and check `file`. Returns the config, or NULL with *errors set to a
 * malloc'd text of one "FILE:LINE: message\n" line per error (caller frees).
 * *errors is NULL on success. Relative paths in the file (module path,
 * pid_file, error_log, access_log, @include) are taken relative to the
 * file's folder and stored absolute; `dir` is that folder, made absolute. */
struct config *config_load(const char *file, char **errors);

/* The same from text in memory (tests, fuzzing); `name` stands for the file
 * in messages and `dir` resolves relative paths. */
struct config *config_load_string(const char *text, const char *name, const char *dir,
                                  char **errors);

void config_free(struct config *cfg);

#endif
