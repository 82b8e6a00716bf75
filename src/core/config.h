/*
 * config.h - the checked, immutable configuration.
 *
 * The master parses and checks the whole file once (config_load); a worker
 * gets the result by fork and never changes it. A reload builds a new one.
 * Every error names the place: "FILE:LINE: what was expected".
 *
 * The settings gale itself needs to start (workers, logs, listen addresses,
 * modules and their routes, limits) are here; each feature declares its own
 * beside its code (http/http_settings.h, net/tls_settings.h, ...) as a
 * config_part of one of three scopes: the file's top level, a listen entry
 * or a route. The daemon registers the parts before it loads a config; each
 * scope instance then holds one struct of each part of its scope, found with
 * config_part(). See config_table.h for how a part's table is written.
 */
#ifndef GALE_CONFIG_H
#define GALE_CONFIG_H

#include <stddef.h>
#include <jansson.h>

struct config_ctx;
struct config_directive;
struct config_setting_t;

/* ---- parts: a feature's settings in one scope ---- */

enum config_scope { CONFIG_SCOPE_MAIN, CONFIG_SCOPE_LISTEN, CONFIG_SCOPE_ROUTE };

#define CONFIG_MAX_PARTS 24

struct config_part {
    const char *name; /* its group ("websocket"), or NULL: its settings sit among the scope's own */
    enum config_scope scope;
    size_t size; /* the struct its table fills: one per scope instance */
    const struct config_directive *table;
    /* After the part was read (g: its group, NULL when absent; for an unnamed
     * part the scope's group): checks across its settings, reported with
     * config_error. May be NULL. */
    void (*check)(struct config_ctx *ctx, const struct config_setting_t *g, void *settings);
    size_t index; /* its slot in every scope's parts[], set by config_part_register */
};

/* Register a part (once; the same part again is ignored): every config
 * loaded afterwards reads it. Parts are registered before the first load and
 * never removed. Returns 0, or -1 when CONFIG_MAX_PARTS are registered. */
int config_part_register(struct config_part *part);

/* The settings of `part` in a scope instance's parts[]. */
static inline const void *config_part(void *const *parts, const struct config_part *part)
{
    return parts[part->index];
}

/* ---- value types several features use ---- */

/* A list of strings from a libconfig array ["a", "b"] (or one string). */
struct config_strlist {
    char **v;
    size_t n;
};

/* An address block: trusted proxies. */
struct config_cidr {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    int bits;
};

/* Where a Redis server is (sessions, pub/sub). */
struct config_redis {
    char *host;     /* a name resolved when the config is read; default "127.0.0.1" */
    int port;       /* default 6379 */
    char *password; /* NULL: none */
    int db;         /* default 0 */
    char *prefix;   /* of every key: the user of the link gives its default */
};

/* ---- the scopes' own settings ---- */

struct config_listen {
    char *address; /* numeric IPv4 or IPv6 address: "0.0.0.0", "::", "127.0.0.1", "::1" */
    int port;      /* 1..65535 */
    int backlog;   /* listen(2) backlog, default 511 */
    int line;
    void *parts[CONFIG_MAX_PARTS]; /* CONFIG_SCOPE_LISTEN parts (tls, ...) */
};

struct config_route {
    int websocket; /* the route upgrades to WebSocket (its handler has callbacks for it) */
    char *path;    /* regular expression matched against the whole path */
    char *handler; /* a handler name of the module the route is declared in */
    char *name;    /* optional route name (reverse URLs), NULL when none */
    int line;
    /* owned: the handler's own `settings` (gale_request_route_settings), an
     * object, empty when the route has none */
    json_t *settings;
    void *parts[CONFIG_MAX_PARTS]; /* CONFIG_SCOPE_ROUTE parts (xsrf, cors, ...) */
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
    double grace_period; /* seconds old workers may drain on reload or SIGQUIT; default 30 */
    struct config_limits limits;
    struct config_listen *listens;
    size_t nlistens;
    struct config_module *modules;
    size_t nmodules;
    void *parts[CONFIG_MAX_PARTS]; /* CONFIG_SCOPE_MAIN parts (http, websocket, pubsub, ...) */
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
