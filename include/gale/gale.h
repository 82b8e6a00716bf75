/*
 * gale.h - the whole module API of gale.
 *
 * A module is a shared object (.so) named in the config file. It exports one
 * descriptor, `gale_module_entry`, that gale checks when it loads the file:
 *
 *     #include <gale/gale.h>
 *
 *     static int hello(gale_request *r)
 *     {
 *         gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
 *         gale_response_write(r, "Hello, world\n", 13);
 *         return GALE_OK;
 *     }
 *
 *     static const gale_handler handlers[] = {
 *         {.name = "hello", .get = hello},
 *         {0},
 *     };
 *
 *     GALE_MODULE_EXPORT const gale_module gale_module_entry = {
 *         GALE_MODULE_HEADER,
 *         .name = "hello",
 *         .handlers = handlers,
 *     };
 *
 * Build it out of tree with
 *     cc -shared -fPIC mymod.c $(pkg-config --cflags --libs gale) -o mymod.so
 * (gale.pc brings jansson's flags, and libevent's for a module that uses the
 * worker's event base).
 *
 * Threading: every function here must be called from the worker's event loop
 * thread (the thread that called the module's hooks). Nothing may block that
 * loop (gale_request_blocking() runs blocking work on a pool thread): to
 * answer later, return GALE_ASYNC and finish from a timer
 * (gale_request_later()) or another event of the loop (gale_ctx_base() gives
 * the worker's libevent base; gale_request_ctx() gives a request's gale_ctx).
 *
 * Errors: functions that can fail return 0 on success and -1 on error.
 *
 * Ownership: strings returned by gale_request_* are owned by the request and
 * valid until the request is freed (after gale_response_finish() and the
 * response is sent, or when the client goes away). Memory from
 * gale_request_alloc() is freed with the request; use gale_request_cleanup()
 * to free anything else with it.
 */
#ifndef GALE_GALE_H
#define GALE_GALE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/* gale itself is built with hidden visibility; these are what it exports. */
#pragma GCC visibility push(default)

/* The ABI version a module was built against; gale refuses any other. Bumped
 * whenever a structure below changes layout or a function changes meaning.
 * Version 2 added the write_error, check and default_content_type members of
 * gale_module (in slots that were reserved: the descriptor kept its size). */
#define GALE_ABI_VERSION 2
#define GALE_MODULE_MAGIC 0x67616c65u /* "gale" */

#define GALE_MODULE_EXPORT __attribute__((visibility("default")))
#define GALE_MODULE_HEADER .magic = GALE_MODULE_MAGIC, .abi_version = GALE_ABI_VERSION
#define GALE_MODULE_SYMBOL "gale_module_entry"

#define GALE_VERSION_STRING "0.1.0"

typedef struct gale_request gale_request; /* one HTTP request and its response */
typedef struct gale_ctx gale_ctx;         /* one loaded module in one worker */
typedef struct gale_ws gale_ws;           /* one WebSocket connection */
typedef struct gale_timer gale_timer;     /* a module's timer: gale_call_later, gale_periodic */

/* What a handler returns. */
enum gale_result {
    GALE_ERROR = -1, /* failed: gale answers 500 unless a response was started */
    GALE_OK = 0,     /* done: gale finishes the response when the handler returns */
    GALE_ASYNC = 1,  /* the handler will call gale_response_finish() later */
};

/* The methods a handler can implement, one callback each. */
typedef int (*gale_handler_fn)(gale_request *r);

/* The callbacks of a WebSocket handler (RFC 6455), for routes marked
 * `websocket = true`. gale answers the opening handshake itself (GET with
 * Upgrade: websocket, version 13, the Origin check of the config's
 * `websocket` group, permessage-deflate when enabled); the handler's
 * `prepare` runs before it and may refuse with an error answer (403...).
 * Every callback may be NULL. */
typedef struct gale_websocket {
    /* The handshake is done (101 sent). r is the upgrade request: read its
     * headers, arguments, cookies, session and user now; it is freed when
     * open returns. open may send, subscribe and close. */
    void (*open)(gale_ws *ws, gale_request *r);
    /* One whole message, text (valid UTF-8, checked by gale) or binary,
     * reassembled from its fragments and decompressed. data is valid
     * during the call only; a NUL follows it. */
    void (*message)(gale_ws *ws, const char *data, size_t len, int binary);
    /* The connection failed: the peer broke the protocol (code 1002), sent
     * text that is not UTF-8 (1007) or a message above max_message_size
     * (1009), stopped answering pings or the socket failed (1006). close
     * follows. */
    void (*error)(gale_ws *ws, int code, const char *reason);
    /* The last call: the connection is closed. code and reason are the
     * peer's close frame's (1005 when it had no code; 1006 when the peer
     * went away without a close frame; the code gale sent on an error or a
     * drain). ws is freed when close returns: drop every pointer to it. */
    void (*close)(gale_ws *ws, int code, const char *reason);
    /* A pong arrived: the answer to gale_ws_ping, to gale's own keepalive
     * ping (payload "gale"), or unsolicited. */
    void (*pong)(gale_ws *ws, const char *data, size_t len);
    /* Choose the subprotocol among those the client offered in
     * Sec-WebSocket-Protocol (n of them, in its order of preference), during
     * the handshake: return one of the offered strings, or NULL for none
     * (browsers then fail the connection). NULL callback: none is ever
     * chosen. */
    const char *(*subprotocol)(gale_request *r, const char *const *offered, size_t n);
    /* Decide on the Origin of the handshake instead of the config's
     * `websocket` origins list (as Tornado's check_origin): origin is the
     * Origin header, NULL when the client sent none (not a browser). Return
     * 1 to allow; anything else refuses with 403. Runs after prepare, before
     * subprotocol. NULL callback: the config's check. */
    int (*check_origin)(gale_request *r, const char *origin);
    const void *reserved[1]; /* zero */
} gale_websocket;

typedef struct gale_handler {
    const char *name; /* bound to routes by `handler = "name"` in the config */
    gale_handler_fn get;
    gale_handler_fn head; /* when NULL, HEAD runs get and the body is dropped */
    gale_handler_fn post;
    gale_handler_fn put;
    gale_handler_fn patch;
    gale_handler_fn del; /* DELETE */
    gale_handler_fn options;
    gale_handler_fn any; /* every method that has no callback of its own */
    /* Runs before the method's callback (as Tornado's prepare): GALE_OK goes
     * on to it; when prepare finished the answer (a redirect, an error) or
     * returns anything else, the callback is not run. May be NULL. */
    gale_handler_fn prepare;
    /* Runs once the answer is complete or the client went away (as
     * Tornado's on_finish): logging, counters, releasing what the handler
     * holds. Must not answer. May be NULL. */
    void (*on_finish)(gale_request *r);
    /* A WebSocket handler: needed by routes marked `websocket = true`. */
    const gale_websocket *websocket;
    /* Take the request body piece by piece as it arrives, instead of whole
     * (as Tornado's stream_request_body): for uploads to hash, store or
     * forward without holding them in memory. With it, once the request
     * head is in, gale checks XSRF (from headers and the query only: the
     * body is not seen), loads the session, checks authentication and runs
     * prepare, all before any body byte is read (a client that sent
     * Expect: 100-continue gets its 100 then); then data_received gets each
     * piece (data valid during the call only, len > 0; chunked framing
     * removed); then the method's callback runs at the end of the body.
     * gale keeps none of it: gale_request_body() returns "" and arguments
     * come from the query string only. max_body_size still applies (413).
     * Return GALE_OK for more; GALE_ERROR stops reading the body and
     * answers 500 (the handler failed, as a callback returning GALE_ERROR)
     * unless it already answered; an answer finished inside data_received
     * also stops the body. The connection closes after an answer given
     * before the body's end. prepare must not return GALE_ASYNC here (it is
     * answered 500). When the client goes away mid-body, the abort callback
     * (gale_request_on_abort) and on_finish run and the request is freed;
     * the method's callback never runs. NULL: the body is read whole first. */
    int (*data_received)(gale_request *r, const char *data, size_t len);
    const void *reserved[4]; /* zero; kept for later ABI-compatible additions */
} gale_handler;

typedef struct gale_module {
    uint32_t magic;       /* GALE_MODULE_MAGIC */
    uint32_t abi_version; /* GALE_ABI_VERSION */
    const char *name;
    const char *version;
    /* Called once in each worker, after privileges were dropped and before any
     * request, with the module's `settings` from the config (a JSON object,
     * borrowed: valid until shutdown returns; json_incref what you keep).
     * Return 0, or -1 to stop the worker (the error is logged). May be NULL. */
    int (*init)(gale_ctx *ctx, const json_t *settings);
    /* Called once when the worker stops. May be NULL. */
    void (*shutdown)(gale_ctx *ctx);
    const gale_handler *handlers; /* terminated by an entry whose name is NULL */
    /* How this module finds the current user of a request (a login cookie,
     * a token header...); NULL: the session's "user" key. May be NULL. */
    const char *(*current_user)(gale_request *r);

    /* ---- since ABI 2: errors, settings check, default Content-Type ---- */

    /* Writes the error pages of requests routed to this module (Tornado's
     * write_error): called when gale answers status 400..599 for such a
     * request, whether gale decided it (405, 403 of an XSRF or login check,
     * 413...) or the handler did (gale_response_error(), GALE_ERROR: 500).
     * reason is gale's or the handler's text, never NULL. When it is
     * called, the status is set and the headers and body the handler had
     * written are gone (gale's own, as Allow or CORS, stay); the hook may
     * set headers, the reason phrase and the status, and write a body.
     * Return GALE_OK when it answered (gale then finishes the answer); any
     * other value drops what it wrote and gale answers its own page (the
     * config's error_pages, else a short text). Runs at most once per
     * request: an error inside it (gale_response_error()) answers gale's
     * own page. Not called once the head was sent, for a request no route
     * matched, or for statuses below 400. May be NULL. */
    int (*write_error)(gale_request *r, int status, const char *reason);
    /* Checks the module's `settings` (the same object init gets, borrowed:
     * valid during the call only) when the config is checked: by `gale -t`,
     * at start and at each reload, in the master before any worker starts,
     * so that a bad setting is a config error instead of a worker that fails
     * in init. Return 0, or -1 with a NUL-terminated message of at most
     * errlen bytes in err: gale prints "FILE:LINE: modules[I].settings:
     * MESSAGE" and refuses the config. Must not call gale functions (there
     * is no worker, no loop) nor keep anything. May be NULL. */
    int (*check)(const json_t *settings, char *err, size_t errlen);
    /* The Content-Type of this module's answers that set none (as
     * "text/html; charset=utf-8"): added when a handler, prepare or
     * write_error of this module sends an answer with status 200..599, a
     * body (or streamed with gale_response_flush()), and no Content-Type.
     * Never added to 204, 304 or 1xx answers. NULL: none is added. */
    const char *default_content_type;
    const void *reserved[4]; /* zero */
} gale_module;

/* ---- module context: one per module per worker ---- */

void gale_ctx_set_data(gale_ctx *ctx, void *data); /* the module's own state */
void *gale_ctx_data(const gale_ctx *ctx);
const json_t *gale_ctx_settings(const gale_ctx *ctx);  /* borrowed */
struct event_base *gale_ctx_base(const gale_ctx *ctx); /* the worker's libevent loop */
int gale_ctx_worker_id(const gale_ctx *ctx);           /* 0 .. workers-1 */

/* ---- logging (to gale's error log) ---- */

enum gale_log_level { GALE_LOG_ERROR = 0, GALE_LOG_WARN, GALE_LOG_INFO, GALE_LOG_DEBUG };
void gale_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same line prefixed with the request's context, so that a line can be
 * tied to its request: CLIENT "METHOD TARGET": MESSAGE (the client address
 * as gale_request_client() gives it; a long target is cut). Any time while
 * the request lives, from the loop's thread. */
void gale_request_log(gale_request *r, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- random tokens ---- */

/* Fill out with size - 1 characters drawn from the OS's CSPRNG (through
 * OpenSSL's RAND_bytes), each one of the 64 URL-safe characters A-Z a-z 0-9
 * '-' '_' (6 bits of entropy each), and a NUL: for ids, nonces and secrets
 * that go in URLs, cookies or file names. 0, or -1 when size < 2 or the
 * generator failed (out is then "" when size > 0). Any thread, any time. */
int gale_random_token(char *out, size_t size);

/* ---- base64url ---- */

/* RFC 4648 section 5, unpadded (as JWS, JWT and PKCE use it). Characters
 * of n bytes encoded: 4 for each 3 bytes, and 2 or 3 for a rest of 1 or 2. */
#define GALE_BASE64URL_LEN(n) ((n) / 3 * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))
/* n bytes of in as base64url into out (GALE_BASE64URL_LEN(n) + 1 bytes),
 * NUL-ended; returns the characters written. Any thread. */
size_t gale_base64url_encode(char *out, const void *in, size_t n);
/* n characters of base64url (no padding, none outside the alphabet, any
 * length but 4k + 1) into out (n / 4 * 3 + 3 bytes); 0 with *out_len set,
 * or -1. Any thread. */
int gale_base64url_decode(unsigned char *out, size_t *out_len, const char *in, size_t n);

/* ---- the request ---- */

gale_ctx *gale_request_ctx(const gale_request *r);
void *gale_request_module_data(const gale_request *r); /* gale_ctx_data() of the handler's module */
const char *gale_request_method(const gale_request *r);       /* "GET", ... */
const char *gale_request_target(const gale_request *r);       /* as received: path and query */
const char *gale_request_path(const gale_request *r);         /* as received, without the query */
const char *gale_request_query_string(const gale_request *r); /* after '?', "" when none */
int gale_request_http_minor(const gale_request *r);           /* 0 for HTTP/1.0, 1 for 1.1 */
const char *gale_request_scheme(const gale_request *r);       /* "http" or "https" */
const char *gale_request_client(const gale_request *r);       /* client address, no port */
const char *gale_request_host(const gale_request *r);         /* Host header, "" when none */
/* The subject (RFC 2253) of the TLS client certificate, verified against the
 * listener's client_ca; NULL when none was presented (or on plain HTTP). */
const char *gale_request_client_cert(const gale_request *r);

/* Route captures, 1-based as in regular expressions, percent-decoded; NULL past
 * the last one or for a group that did not take part in the match. */
size_t gale_request_capture_count(const gale_request *r);
const char *gale_request_capture(const gale_request *r, size_t i);

/* The `settings` group of the request's route in the config, as a JSON
 * object (as Tornado's initialize keyword arguments: one handler, set up
 * differently on two routes). Borrowed: valid while the worker runs (the
 * config is not freed before the module's shutdown); json_incref what you
 * keep past shutdown. An empty object when the route has none; NULL only
 * when no route matched (never inside a handler). */
const json_t *gale_request_route_settings(const gale_request *r);

/* A path from a setting, as gale's own settings take one: relative to the
 * folder of the config file, absolute as it is. In r's memory (freed with
 * r); NULL for a NULL path. */
const char *gale_request_config_path(gale_request *r, const char *path);

/* The first value of a request header (case-insensitive name), or NULL. */
const char *gale_request_header(const gale_request *r, const char *name);
/* Walk every header: i from 0 until it returns -1. */
int gale_request_header_at(const gale_request *r, size_t i, const char **name, const char **value);

/* The first value of a query argument, percent- and '+'-decoded, or NULL. */
const char *gale_request_query(const gale_request *r, const char *name);

/* The whole request body (bytes; a NUL follows them for convenience).
 * A multipart/form-data body is parsed as it arrives into arguments and
 * files (gale_request_argument, gale_request_file) and not kept: "" then. */
const char *gale_request_body(const gale_request *r, size_t *len);

/* Arguments, as Tornado's get_argument: from the query string, then from a
 * form body (application/x-www-form-urlencoded or multipart/form-data
 * fields), percent-decoded. A malformed form body is answered 400 before the
 * handler runs. The first value of `name`, or NULL. */
const char *gale_request_argument(gale_request *r, const char *name);
/* The i-th value (from 0) of a repeated argument, or NULL past the last. */
const char *gale_request_argument_at(gale_request *r, const char *name, size_t i);
/* The first value, or NULL after answering 400 "missing argument NAME": the
 * handler then just returns GALE_OK. */
const char *gale_request_require_argument(gale_request *r, const char *name);

/* A file uploaded in a multipart/form-data body. Small files are in memory
 * (data, NUL-terminated; path NULL); files above the config's
 * upload_memory_limit are in a temporary file (path; data NULL) that is
 * removed with the request. */
typedef struct gale_file {
    const char *name;         /* the form field */
    const char *filename;     /* as the client sent it: never use it as a path */
    const char *content_type; /* as sent, "text/plain" when absent */
    const char *data;
    size_t size;
    const char *path;
} gale_file;

/* The i-th file (from 0) uploaded under field `name` (NULL: any field), or NULL. */
const gale_file *gale_request_file(gale_request *r, const char *name, size_t i);

/* The body parsed as JSON (any JSON value), or NULL when it is not valid
 * JSON. Borrowed: freed with the request (json_incref what you keep). */
json_t *gale_request_json(gale_request *r);

/* The URL path of the route named `name` (its `name` in the config) with its
 * capture groups filled, in order, by the NULL-terminated string arguments
 * (percent-encoded), as Tornado's reverse_url; NULL for an unknown name, a
 * wrong number of arguments or a pattern with no single URL. Freed with the
 * request. */
const char *gale_url_for(gale_request *r, const char *name, ...) __attribute__((sentinel));

/* ---- cookies ---- */

enum gale_samesite {
    GALE_SAMESITE_UNSET = 0,
    GALE_SAMESITE_LAX,
    GALE_SAMESITE_STRICT,
    GALE_SAMESITE_NONE
};

/* Attributes of a cookie to set; zero-initialise and set what you need. */
typedef struct gale_cookie_options {
    const char *path;   /* NULL: none (the browser uses the request's folder) */
    const char *domain; /* NULL: this host only */
    int has_max_age;
    long long max_age; /* seconds, with has_max_age */
    long long expires; /* seconds since 1970; 0: a session cookie */
    int secure;
    int httponly;
    int samesite; /* enum gale_samesite; NONE requires secure */
} gale_cookie_options;

/* The value of cookie `name` from the Cookie header (unquoted), or NULL. */
const char *gale_request_cookie(gale_request *r, const char *name);
/* Add a Set-Cookie header. The value must be cookie-octets (no space, ";",
 * ",", quote, backslash or control): encode it first. 0, or -1 when the
 * name, value or options are not acceptable (nothing is set then). */
int gale_response_set_cookie(gale_request *r, const char *name, const char *value,
                             const gale_cookie_options *opts);
/* Remove a cookie: pass the path and domain it was set with. */
int gale_response_clear_cookie(gale_request *r, const char *name, const gale_cookie_options *opts);

/* Signed cookies, in Tornado's version 2 signed-value format, with the
 * config's cookie_secret (or versioned cookie_keys: the newest signs, all
 * verify), so that gale and Tornado read each other's cookies. The value of
 * a valid signed cookie not older than max_age_days (0: 31), else NULL
 * (tampered, expired, unknown key, malformed: all read as absent). */
const char *gale_request_signed_cookie(gale_request *r, const char *name, double max_age_days);
/* Sign value (any bytes but NUL) and set it; -1 without a cookie_secret. */
int gale_response_set_signed_cookie(gale_request *r, const char *name, const char *value,
                                    const gale_cookie_options *opts);

/* The XSRF token to put in forms (field "_xsrf") or the X-XSRFToken header
 * of scripts, masked anew for this answer (Tornado's version 2). Sets the
 * "_xsrf" cookie when the client has none. With xsrf_cookies = true, gale
 * refuses POST, PUT, PATCH and DELETE whose token does not match the cookie
 * with 403, before the handler runs (routes may opt out: xsrf = false). */
const char *gale_request_xsrf_token(gale_request *r);

/* ---- sessions and users ---- */

/* The visitor's session: a JSON object (borrowed) to read and change in
 * place; gale stores it when the handler changed it (LMDB or Redis, from the
 * config's `sessions`) and sets the signed, HttpOnly, SameSite=Lax session
 * cookie. NULL when the config has no sessions. Values are JSON. */
json_t *gale_session(gale_request *r);
/* Keep the data under a new session id (call it at login: a session id an
 * attacker planted before the login is worth nothing after it). The object
 * gale_session() returned stays valid and is the one stored, under the new
 * id, when the answer's head is sent: call it before the answer starts. */
int gale_session_regenerate(gale_request *r);
/* Forget the session (logout): removed from the store, its cookie cleared. */
void gale_session_destroy(gale_request *r);
/* The current user: the handler module's current_user hook when it has one,
 * else the session's "user" string, else NULL. Routes marked
 * `authenticated = true` need one: without it GET and HEAD are redirected to
 * login_url?next=TARGET, other methods answered 403. */
const char *gale_request_user(gale_request *r);

/* ---- work that would block, and the shared store ---- */

/* Run work(data) on one of the worker's pool threads (a slow password
 * hash, file work), then done(r, data) back on the loop. data (size bytes)
 * is copied: work and done see the same copy, which gale frees after done.
 * When the request goes away first, done is not called. work must not call
 * any gale function. Returns 0, or -1. */
int gale_request_blocking(gale_request *r, void (*work)(void *data),
                          void (*done)(gale_request *r, void *data), const void *data, size_t size);

/* What a gale_store_get or gale_store_set callback is told (its int status
 * argument; the values are those of ABI 1). */
enum gale_store_status {
    GALE_STORE_ERROR = -1, /* the store failed (Redis unreachable...) */
    GALE_STORE_OK = 0,     /* get: found, value/len valid during the call; set: stored */
    GALE_STORE_ABSENT = 1, /* get only: no such key, or it expired */
    GALE_STORE_EXISTS = 2, /* add only: the key was there (and live): nothing written */
};

/* The store that keeps sessions (LMDB for the workers of an instance, Redis
 * for several instances), for the module's own data under its own keys
 * (gale keeps them apart from sessions). The callback runs when the store
 * answers - at once with LMDB, later with Redis - and never after the
 * request went away. status: an enum gale_store_status. Returns -1 at once
 * when the config has no sessions (no store). ttl in seconds, > 0. */
int gale_store_get(gale_request *r, const char *key,
                   void (*fn)(gale_request *r, void *arg, int status, const char *value,
                              size_t len),
                   void *arg);
int gale_store_set(gale_request *r, const char *key, const void *value, size_t len, unsigned ttl,
                   void (*fn)(gale_request *r, void *arg, int status), void *arg);
/* As gale_store_set, but only when key is absent or expired, in one atomic
 * step for every worker and instance sharing the store: of two requests
 * adding the same key at the same instant, one gets GALE_STORE_OK and the
 * other GALE_STORE_EXISTS. For single-use tokens (a login's state, a
 * nonce), where a get then a set would let both requests through. */
int gale_store_add(gale_request *r, const char *key, const void *value, size_t len, unsigned ttl,
                   void (*fn)(gale_request *r, void *arg, int status), void *arg);

/* Memory freed with the request; never NULL (gale aborts the worker on OOM). */
void *gale_request_alloc(gale_request *r, size_t size);
char *gale_request_strdup(gale_request *r, const char *s);
char *gale_request_printf(gale_request *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Run fn(arg) when the request is freed (last added runs first). */
void gale_request_cleanup(gale_request *r, void (*fn)(void *), void *arg);

/* True once the client has gone away; an async handler should then finish
 * quickly (what it writes is dropped). */
int gale_request_aborted(const gale_request *r);
/* Call fn when the client goes away before the response is finished. */
void gale_request_on_abort(gale_request *r, void (*fn)(gale_request *, void *), void *arg);

/* Run fn after `seconds` on the worker's loop; the timer is cancelled if the
 * request is freed first. Returns 0 or -1. */
int gale_request_later(gale_request *r, double seconds, void (*fn)(gale_request *, void *),
                       void *arg);

/* ---- timers of the module, not tied to a request ---- */

/* Run fn(ctx, arg) once, after `seconds` (0 to 1e9), on the worker's loop:
 * a module needs no libevent of its own. Returns the timer, or NULL
 * (seconds out of range or not a number, fn NULL). The handle is gale's: it stays valid
 * until the timer is cancelled, and for a once-timer until its callback
 * returns: after that it is freed and must not be used (not even
 * cancelled). May be called from init on. */
gale_timer *gale_call_later(gale_ctx *ctx, double seconds, void (*fn)(gale_ctx *ctx, void *arg),
                            void *arg);
/* Run fn(ctx, arg) every `interval` seconds (> 0, up to 1e9) until cancelled, as
 * Tornado's PeriodicCallback: the calls keep the rhythm of the first one
 * (interval after creation, then every interval); a call that runs past
 * the next times does not pile up calls: the missed ones are skipped and
 * the next call comes at the next time of the rhythm. NULL on error. */
gale_timer *gale_periodic(gale_ctx *ctx, double interval, void (*fn)(gale_ctx *ctx, void *arg),
                          void *arg);
/* Stop a timer and free it; allowed inside its own callback (no call
 * follows; for a periodic timer, it is freed when the callback returns).
 * NULL is ignored. Every timer still pending when the worker stops is
 * cancelled and freed by gale after the module's shutdown hook returns:
 * handles stay valid (and may be cancelled) inside shutdown, and no
 * callback runs from the moment shutdown is called. */
void gale_timer_cancel(gale_timer *t);

/* ---- the response ---- */

/* Status code (default 200); 0 or -1 for a code outside 100..599. */
int gale_response_status(gale_request *r, int status);
/* Add a header. Refuses (-1) names that are not tokens, values with CR, LF or
 * NUL, and any call after the head was sent. Content-Length, Transfer-Encoding,
 * Connection, Date and Server are gale's own and refused. */
int gale_response_header(gale_request *r, const char *name, const char *value);
/* Append to the body. Buffered until finish, or until flush for streaming. */
int gale_response_write(gale_request *r, const void *data, size_t len);
int gale_response_puts(gale_request *r, const char *s);
/* Append s with the HTML specials < > & " ' escaped (as Tornado's
 * xhtml_escape): safe in element text and in quoted attribute values. */
int gale_response_puts_html(gale_request *r, const char *s);
int gale_response_printf(gale_request *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int gale_response_vprintf(gale_request *r, const char *fmt, va_list ap);
/* Send the head (chunked on HTTP/1.1) and what was written so far, and keep
 * the response open for more: streamed output. */
int gale_response_flush(gale_request *r);
/* gale_response_flush, then fn(r, arg) once all of what was sent so far has
 * been written to the socket (Tornado's `await flush()`): a streaming
 * handler writes its next piece from fn and so never holds more than a
 * piece in memory, however slowly the client reads. fn is always called
 * later, from the loop, never inside this call (at the next loop turn when
 * the socket took everything at once). It is not called when the client
 * goes away first (the abort callback runs instead) nor after the answer
 * was finished. One callback at a time: a second call before fn ran
 * replaces the first's callback. 0, or -1 as gale_response_flush. */
int gale_response_flush_then(gale_request *r, void (*fn)(gale_request *r, void *arg), void *arg);
/* The response is complete. After it the module must not touch r. */
void gale_response_finish(gale_request *r);
/* Answer an error page: status and a short text body saying why, then finish. */
void gale_response_error(gale_request *r, int status, const char *reason);
int gale_response_started(const gale_request *r); /* head already sent */
/* Append `json` (borrowed) to the body and add Content-Type: application/json;
 * "</" is written "<\/" so that the text is safe inside an HTML <script>
 * element. It does not finish the answer: return GALE_OK, or call
 * gale_response_finish(). -1 once the answer started. */
int gale_response_json(gale_request *r, const json_t *json);
/* Redirect (301, 302, 303, 307 or 308) to url and finish; -1 for another
 * status or a url with control characters (nothing is sent then). */
int gale_response_redirect(gale_request *r, int status, const char *url);

/* Replace every header named `name` (case-insensitive) with one `name:
 * value`; remove every header named `name` (0 also when there was none).
 * The checks and refusals of gale_response_header() apply: -1 and nothing
 * changed for a name that is not a token or is gale's own, a value with CR,
 * LF or NUL, or a call after the head was sent. name and value are copied.
 * gale_response_header() still adds a header beside those of the same
 * name (Set-Cookie, Link...). */
int gale_response_set_header(gale_request *r, const char *name, const char *value);
int gale_response_remove_header(gale_request *r, const char *name);
/* The reason phrase of the status line ("HTTP/1.1 200 REASON"), copied:
 * visible ASCII and spaces, up to 64 bytes ("" is allowed; NULL goes back
 * to the default, the standard phrase of the status). -1 for other bytes,
 * a longer text, or a call after the head was sent. Clients mostly ignore
 * it; protocols without one (HTTP/2) drop it. An error page gale answers
 * starts again from the default. */
int gale_response_reason(gale_request *r, const char *reason);

/* ---- templates (Tornado's template language) ---- */

/* Render the template `name` (relative to the route's `template_path`, else
 * the top level's) with the JSON object ctx (borrowed; NULL: empty) as its
 * variables, write it as the body (Content-Type text/html; charset=UTF-8
 * unless one was set) and FINISH the answer, as Tornado's render(): the
 * handler then returns GALE_OK and must not touch r. On an error (syntax,
 * missing template, an error while rendering) it logs the template's file
 * and line, answers 500 itself (details on the page only with `debug`) and
 * returns -1. -1 too, and nothing sent, once the head was sent. */
int gale_template_render(gale_request *r, const char *name, json_t *ctx);
/* The same rendered to a string instead, owned by the request (freed with
 * it); the answer is untouched. NULL on an error, which is logged. */
char *gale_template_render_string(gale_request *r, const char *name, json_t *ctx);

/* ---- WebSockets ---- */

/* Send one message: text (binary = 0; the caller vouches that it is UTF-8)
 * or binary, compressed when the connection negotiated permessage-deflate.
 * 0, or -1 once the connection is closing or closed. A client that does
 * not read is bounded: when the bytes waiting for it would pass the
 * config's websocket.max_queue_size, the socket is closed with 1008 (the
 * close callback tells the module) and -1 is returned. */
int gale_ws_send(gale_ws *ws, const void *data, size_t len, int binary);
/* A message for many sockets, framed once (and compressed once per
 * deflate window size for the sockets that negotiated
 * server_no_context_takeover): make it, gale_ws_send_message it to each
 * socket, free it. The data is copied; sockets that could not send it at
 * once keep their own reference, so it may be freed right after the loop.
 * NULL when data is NULL with len > 0. */
typedef struct gale_ws_message gale_ws_message;
gale_ws_message *gale_ws_message_new(const void *data, size_t len, int binary);
/* As gale_ws_send, with the frame made by gale_ws_message_new. */
int gale_ws_send_message(gale_ws *ws, gale_ws_message *m);
void gale_ws_message_free(gale_ws_message *m); /* NULL is ignored */
/* Send a ping with up to 125 bytes of payload; the pong callback gets the
 * answer. gale also pings by itself (the config's ping_interval). */
int gale_ws_ping(gale_ws *ws, const void *data, size_t len);
/* Start the closing handshake: a close frame with code (1000, 1001,
 * 1002, 1003, 1007-1014, 3000-4999; 0 for none) and a reason (UTF-8, cut
 * to 123 bytes; NULL for none). No more messages are sent or delivered;
 * the close callback runs when the peer answered, or after the config's
 * close_timeout. 0, or -1 for a code that may not be sent or a connection
 * already closing. Neither this nor gale_ws_send frees ws inside the call:
 * a module may walk its list of sockets and send to each. */
int gale_ws_close(gale_ws *ws, int code, const char *reason);
void gale_ws_set_data(gale_ws *ws, void *data); /* the module's own state for ws */
void *gale_ws_data(const gale_ws *ws);
gale_ctx *gale_ws_ctx(const gale_ws *ws);      /* the handler's module */
const char *gale_ws_client(const gale_ws *ws); /* the peer (behind a proxy: the proxy) */
size_t gale_ws_buffered(const gale_ws *ws);    /* bytes queued and not sent yet */
/* The upgrade request's path (as received, without the query), its route
 * captures (1-based, percent-decoded, NULL past the last or for a group
 * that took no part in the match, as gale_request_capture) and its user
 * (gale_request_user when the socket opened; NULL without one): copied when
 * the socket opens, valid until the close callback returns. */
const char *gale_ws_path(const gale_ws *ws);
size_t gale_ws_capture_count(const gale_ws *ws);
const char *gale_ws_capture(const gale_ws *ws, size_t i);
const char *gale_ws_user(const gale_ws *ws);

/* ---- subprocesses ---- */

/* A program run by the worker without a shell, its pipes read and written
 * on the worker's loop (Tornado's process.Subprocess). */
typedef struct gale_process gale_process;

/* Why a process ended, as told to on_exit. */
enum gale_process_end {
    GALE_PROCESS_EXITED = 0,  /* it ended by itself (or by a signal it was not sent by gale) */
    GALE_PROCESS_TIMEOUT = 1, /* it ran past its timeout: terminated, then killed */
    GALE_PROCESS_FLOODED = 2, /* its output passed the limit: killed */
    GALE_PROCESS_KILLED = 3,  /* gale_process_kill() */
};

typedef struct gale_process_options {
    /* argv[0] is the program's path: no PATH search, no shell. NULL-ended;
     * copied at the start. */
    const char *const *argv;
    /* The environment, "NAME=value" strings, NULL-ended, copied; NULL: an
     * empty one (the worker's is not passed on unless given here). */
    const char *const *env;
    const char *cwd;   /* the working folder; NULL: the worker's */
    double timeout;    /* seconds; 0: the config's process.timeout; < 0: none */
    size_t output_max; /* bytes of stdout and stderr together; 0: process.max_output */
    /* Output as it comes, on the loop (data valid during the call). NULL
     * callbacks drop what comes. */
    void (*on_stdout)(gale_process *p, void *arg, const char *data, size_t len);
    void (*on_stderr)(gale_process *p, void *arg, const char *data, size_t len);
    /* The end, once the child is reaped and its output read to the end:
     * code is its exit status (0..255), or minus the signal that killed
     * it; why an enum gale_process_end. p is freed when it returns. */
    void (*on_exit)(gale_process *p, void *arg, int code, int why);
    void *arg;
    /* For a process started for a request: 0 (the default) ends it
     * (SIGTERM, then SIGKILL) when the client goes away, and on_exit
     * follows with GALE_PROCESS_KILLED (to finish the request); 1 lets it
     * run to its end. Either way no callback runs after the request is
     * freed (a child still running then is ended, unless it may outlive). */
    int outlive_request;
} gale_process_options;

/* Start a process on the worker's loop. With r (ctx may then be NULL), it
 * belongs to that request; with r NULL, to the worker (ctx). Its stdin is a
 * pipe that stays open until gale_process_close_stdin(). It runs in a
 * process group of its own, with signals at their defaults. The worker
 * reaps it (no zombie is left): the child is killed and reaped when the
 * worker exits. Returns the process, or NULL with errno set: ENOENT,
 * EACCES... (the program cannot be run), EAGAIN (process.max_children of
 * this worker already run), EINVAL (no argv). The handle stays valid until
 * on_exit returns (or, without on_exit, until the child ends). */
gale_process *gale_process_start(gale_ctx *ctx, gale_request *r, const gale_process_options *o);
/* Queue data for the child's stdin (written as the pipe takes it). -1 once
 * stdin was closed, or the child closed its end (EPIPE: the rest dropped). */
int gale_process_write(gale_process *p, const void *data, size_t len);
/* Close stdin once what was queued is written (the child sees its end). */
int gale_process_close_stdin(gale_process *p);
/* Stop (1) or go on (0) reading stdout and stderr: back-pressure for a
 * reader that forwards the output to a slow client. When the child ends,
 * what is left in its pipes is delivered anyway. */
void gale_process_pause(gale_process *p, int paused);
/* End it: SIGTERM to its group, SIGKILL after process.kill_grace seconds.
 * on_exit follows with GALE_PROCESS_KILLED. */
void gale_process_kill(gale_process *p);
/* Its process id. */
int gale_process_pid(const gale_process *p);

/* ---- publish/subscribe, across workers and instances ---- */

typedef struct gale_subscription gale_subscription;
typedef void (*gale_message_fn)(void *arg, const char *channel, const char *msg, size_t len);

/* Send msg to every subscriber of channel in every worker of this gale
 * (through the master), or of every gale sharing the Redis server of the
 * config's `pubsub` group. Every subscriber of a channel sees its messages
 * in the same order; delivery is always later, from the loop, never inside
 * this call. channel: 1 to 200 bytes; msg: up to 65,000 bytes. 0 when the
 * message left, -1 when it cannot be sent: errno EMSGSIZE for a longer
 * message (refused whole, with a warning in the log; send a reference to
 * it instead: a key of gale_store, a file name), EINVAL for a bad channel. */
int gale_publish(gale_ctx *ctx, const char *channel, const void *msg, size_t len);
/* Call fn(arg, channel, msg, len) for each message published on channel
 * until gale_unsubscribe (msg is valid during the call; a NUL follows it).
 * NULL on error. When this worker falls behind (pubsub.relay_queue_size)
 * it may miss messages, which a warning counts: subscribe with
 * gale_subscribe_since to get them from the history instead (the master
 * tells the worker, which asks for them before any later message). */
gale_subscription *gale_subscribe(gale_ctx *ctx, const char *channel, gale_message_fn fn,
                                  void *arg);
/* Stop a subscription (also from inside its own callback). */
void gale_unsubscribe(gale_subscription *s);
/* Subscriptions to channel in this worker. */
size_t gale_subscribers(gale_ctx *ctx, const char *channel);

/* Causal publish: as gale_publish, then fn(arg, channel, status, epoch,
 * offset) once the message is sequenced (status 0: it has its offset in the
 * channel), or lost (status -1). From that call on, every message published
 * anywhere (any worker; with Redis, any instance) reaches every subscriber
 * after this one: answer a post only then. With Redis, epoch and offset are
 * 0 unless a `history` rule covers the channel (then Redis gives them, for
 * every instance alike). fn is not called if the worker exits first. 0, or -1 (fn never runs). */
typedef void (*gale_published_fn)(void *arg, const char *channel, int status, uint64_t epoch,
                                  uint64_t offset);
int gale_publish_then(gale_ctx *ctx, const char *channel, const void *msg, size_t len,
                      gale_published_fn fn, void *arg);
/* Idempotent publish: as gale_publish_then (fn may be NULL), with a key of
 * 1 to 64 bytes that names the message (a client's id for its post). A
 * second publish with a key still remembered for that channel (its last
 * `key_window` keys, none older than `key_ttl` seconds: the pubsub
 * settings) is not published again, by any worker or, with Redis, any
 * instance: no subscriber sees it and the history keeps one; its fn gets
 * status GALE_PUBLISH_REPEATED and the first message's epoch and offset
 * (both 0 with Redis on a channel without a `history` rule). So a client
 * may send again what it was not told had arrived (a reload cut its socket
 * before the answer). 0, or -1 (errno EINVAL for a bad key, as
 * gale_publish otherwise; fn never runs). */
#define GALE_PUBLISH_REPEATED 1
int gale_publish_keyed(gale_ctx *ctx, const char *channel, const void *key, size_t keylen,
                       const void *msg, size_t len, gale_published_fn fn, void *arg);
/* Subscribe with recovery (the channel's history is set by the `history`
 * rules of the pubsub settings; kept in the master, or with Redis in a
 * Redis stream shared by every instance): fn(arg, channel, msg, len,
 * epoch, offset) gets every message after offset `offset` of epoch `epoch`
 * kept in the history, then the live ones, none twice and none skipped.
 * When some are lost (the epoch changed: the master restarted; or they
 * fell out of the history) fn is called once with msg NULL and the current
 * epoch and last offset, then the live ones follow. epoch 0: everything
 * kept, then the live ones. NULL on error. */
typedef void (*gale_position_fn)(void *arg, const char *channel, const char *msg, size_t len,
                                 uint64_t epoch, uint64_t offset);
gale_subscription *gale_subscribe_since(gale_ctx *ctx, const char *channel, uint64_t epoch,
                                        uint64_t offset, gale_position_fn fn, void *arg);

/* Read channel's history at once, without subscribing (what a page shows
 * before it streams): later, from the loop, fn(arg, channel, 0, msg, len,
 * epoch, offset) for each message kept after offset `offset` of `epoch`
 * (epoch 0: every message kept), in order, then once with msg NULL, the
 * current epoch and the channel's last offset, and status 0 (that was all),
 * 1 (the messages after `offset` are lost: none was given) or -1 (no
 * answer). msg is valid during the call. fn is not called if the worker
 * exits first. 0, or -1 (fn never runs). */
typedef void (*gale_history_fn)(void *arg, const char *channel, int status, const char *msg,
                                size_t len, uint64_t epoch, uint64_t offset);
int gale_history_read(gale_ctx *ctx, const char *channel, uint64_t epoch, uint64_t offset,
                      gale_history_fn fn, void *arg);

/* Long polling: wait, without blocking anything, for the next message on
 * channel. fn runs exactly once: with the message; or with msg NULL after
 * timeout seconds (0: no limit), when the worker drains (a reload: answer,
 * and the client comes back to a new worker), or when the client went away
 * (gale_request_aborted(r) is then true; what fn answers is dropped). The
 * handler returns GALE_ASYNC and fn finishes the answer. 0, or -1. */
int gale_request_wait(gale_request *r, const char *channel, double timeout,
                      void (*fn)(gale_request *r, void *arg, const char *msg, size_t len),
                      void *arg);

/* A long poll with recovery (as gale_subscribe_since): fn(r, arg, msg,
 * len, epoch, offset) runs exactly once, with the first message after
 * offset `offset` of `epoch` (from the history at once, or the next live
 * one) and its position, which the client sends back in its next poll; or
 * with msg NULL and epoch 0 when gale_request_wait would give NULL (timeout,
 * drain, client gone); or with msg NULL and the position to go on from when
 * the messages after `offset` are lost. 0, or -1. */
typedef void (*gale_wait_position_fn)(gale_request *r, void *arg, const char *msg, size_t len,
                                      uint64_t epoch, uint64_t offset);
int gale_request_wait_since(gale_request *r, const char *channel, uint64_t epoch, uint64_t offset,
                            double timeout, gale_wait_position_fn fn, void *arg);

/* Server-Sent Events: answer r as a text/event-stream of channel's
 * messages, each as an event (id "EPOCH:OFFSET", the event name `event`,
 * or EventSource's "message" when NULL; one data line per line of the
 * message), with "retry: 1000" first and a comment line every `keepalive`
 * seconds (0: none). A request with Last-Event-ID (or, for a first
 * connection, the query argument last_event_id) resumes through the
 * channel's history (gale_subscribe_since): the missed messages, then the
 * live ones; when they are lost, an event "lost" whose id is the position
 * it goes on from. The stream ends when the client goes away and when the
 * worker drains (EventSource then reconnects to a new worker and resumes).
 * The handler returns GALE_ASYNC. 0, or -1 (answer the error yourself). */
int gale_request_sse(gale_request *r, const char *channel, const char *event, double keepalive);

/* Presence: who is in a channel, across workers (the master keeps the
 * table) and, with Redis, across instances. gale_presence_join says that
 * member_id (1 to 200 bytes) is in channel, with info (a JSON object, up to
 * 16 KiB as text; borrowed; NULL: {}), until gale_presence_leave: typically
 * one handle per open WebSocket or event stream, left in its close
 * callback. A member with several handles (two tabs, two workers) is one
 * member; its info is the latest join's. It stays present for the pubsub
 * setting presence_timeout after its last handle left (or its worker
 * died), so a client that reconnects at once (a reload, a network blip)
 * never shows as leaving; after that it leaves. NULL on error. */
typedef struct gale_presence gale_presence;
gale_presence *gale_presence_join(gale_ctx *ctx, const char *channel, const char *member_id,
                                  const json_t *info);
/* Let go of a handle (also inside a callback); it is freed. */
void gale_presence_leave(gale_presence *p);
/* Who is in channel: later, from the loop, fn(arg, channel, status, count,
 * members) with status 0, the number of members and a JSON array of
 * {"id": ID, "info": INFO} (borrowed for the call), or status -1 (no
 * answer: count 0, members NULL). 0, or -1 (fn never runs). */
typedef void (*gale_presence_fn)(void *arg, const char *channel, int status, size_t count,
                                 const json_t *members);
int gale_presence_get(gale_ctx *ctx, const char *channel, gale_presence_fn fn, void *arg);
/* Join and leave events of channel: fn(arg, channel, event, member_id,
 * info) with event "join" or "leave" (a member that came back within the
 * timeout neither left nor joined), info borrowed for the call. Every
 * subscriber sees them in one order. Stop with gale_unsubscribe. NULL on
 * error. */
typedef void (*gale_presence_event_fn)(void *arg, const char *channel, const char *event,
                                       const char *member_id, const json_t *info);
gale_subscription *gale_presence_subscribe(gale_ctx *ctx, const char *channel,
                                           gale_presence_event_fn fn, void *arg);

/* ---- translations ---- */

/* The request's locale code ("en_US", "pt_BR"), as Tornado's
 * get_user_locale and get_browser_locale choose it: the argument, then the
 * cookie named by the locale_argument and locale_cookie settings when they
 * name a loaded locale, then the best match of Accept-Language (q-values;
 * "pt_BR" finds "pt", "en-us" finds "en_US"), then default_locale. Chosen
 * on first use and kept for the request. Borrowed from the config. */
const char *gale_locale(gale_request *r);
/* msg translated into the request's locale (the message itself when the
 * catalog lacks it). Borrowed from the catalog (or msg itself). */
const char *gale_translate(gale_request *r, const char *msg);
/* The form for count n: Tornado's translate(singular, plural, n); the
 * catalog's plural rule picks the form (.mo), else plural unless n is 1. */
const char *gale_ntranslate(gale_request *r, const char *singular, const char *plural, long n);
/* msg in context (gettext's msgctxt), as Tornado's pgettext. */
const char *gale_pgettext(gale_request *r, const char *context, const char *msg);
const char *gale_npgettext(gale_request *r, const char *context, const char *singular,
                           const char *plural, long n);

enum gale_date_flags {
    GALE_DATE_ABSOLUTE = 1, /* never "5 minutes ago" (Tornado's relative=False) */
    GALE_DATE_SHORTER = 2,  /* without the time of day */
    GALE_DATE_FULL = 4,     /* always "July 10, 1980 at 9:05 pm" */
};
/* Tornado's Locale.format_date of `when` (seconds since 1970) in the
 * request's locale, compared with the current time; gmt_offset_minutes as
 * Tornado counts it (UTC-5 is 300). In the request's memory; NULL for a
 * date outside years 1 to 9999. */
char *gale_format_date(gale_request *r, double when, int gmt_offset_minutes, int flags);
/* Tornado's Locale.format_day: "Monday, January 22" (weekday 0: "January
 * 22"). In the request's memory; NULL outside years 1 to 9999. */
char *gale_format_day(gale_request *r, double when, int gmt_offset_minutes, int weekday);
/* 1 when the request's language is written right to left (Persian, Arabic,
 * Hebrew: Tornado's Locale.rtl), else 0. */
int gale_locale_rtl(gale_request *r);
/* "A, B and C" in the request's locale (Tornado's Locale.list). */
char *gale_format_list(gale_request *r, const char *const *parts, size_t n);
/* "1,234,567" in English, the plain digits in other languages. */
char *gale_friendly_number(gale_request *r, long long value);
/* The URL of a file of the first static folder of the config (`path`
 * relative to it: "css/site.css"), with "?v=" and a hash of the file's
 * content, in r's memory: answers to such URLs may be cached for a year, and
 * the URL changes when the file does. Without the file: its URL without a
 * version. NULL when the config has no static folder. */
const char *gale_static_url(gale_request *r, const char *path);

/* ---- the HTTP client ---- */

/* An outgoing HTTP/1.1 or HTTPS transfer run on the worker's loop (libcurl),
 * never blocking it: made with gale_fetch_new or gale_request_fetch, set up
 * with the gale_fetch_set_* calls, started with gale_fetch_start; its done
 * callback runs once when it ends. Defaults (timeouts, redirects, size
 * limit, TLS verification, CA file, proxy) come from the config's `client`
 * group. A worker runs at most client.max_concurrent transfers at once and
 * queues the others in order; connections are kept and reused. */
typedef struct gale_fetch gale_fetch;

/* How a transfer ended: gale_fetch_error(). Only GALE_FETCH_OK has an
 * answer (of any status, 404 and 500 included). */
enum gale_fetch_error {
    GALE_FETCH_OK = 0,
    GALE_FETCH_DNS,       /* the host name did not resolve */
    GALE_FETCH_REFUSED,   /* could not connect: refused or unreachable */
    GALE_FETCH_TIMEOUT,   /* the connect or total timeout passed */
    GALE_FETCH_TLS,       /* TLS failed: certificate not trusted, wrong name, handshake */
    GALE_FETCH_TOO_LARGE, /* the answer's body is above the size limit */
    GALE_FETCH_REDIRECTS, /* more redirects than the limit */
    GALE_FETCH_BROKEN,    /* the server closed mid-answer or did not speak HTTP */
    GALE_FETCH_CANCELLED, /* a chunk or upload callback stopped it */
    GALE_FETCH_FAILED,    /* anything else (a bad URL, a protocol other than http/https) */
};

/* Called once when the transfer ends, on the loop; the fetch and what its
 * accessors return are freed when it returns. */
typedef void (*gale_fetch_done_fn)(gale_fetch *f, void *arg);

/* A new transfer of `method` ("GET", "POST", "PUT", "DELETE", "HEAD", ...)
 * to `url` (http or https), for the module ctx. NULL on a bad argument. Not
 * started: set it up, then gale_fetch_start, or gale_fetch_cancel to drop it. */
gale_fetch *gale_fetch_new(gale_ctx *ctx, const char *method, const char *url);
/* The same, bound to the request r: when r goes away (the client left, or
 * the answer was finished) before the transfer ends, the transfer is
 * cancelled and its done callback is NOT called. */
gale_fetch *gale_request_fetch(gale_request *r, const char *method, const char *url);
/* The request a fetch is bound to, or NULL. */
gale_request *gale_fetch_request(const gale_fetch *f);

/* Add a request header; 0, or -1 for a name that is not a token, a value
 * with CR, LF or NUL, or once started. */
int gale_fetch_set_header(gale_fetch *f, const char *name, const char *value);
/* The request body, copied. 0 or -1. */
int gale_fetch_set_body(gale_fetch *f, const void *data, size_t len);
/* The request body as JSON (borrowed; written compact) with Content-Type:
 * application/json. 0 or -1. */
int gale_fetch_set_json(gale_fetch *f, const json_t *json);
/* What an upload or download callback returns to pause the transfer until
 * gale_fetch_resume(f) (back-pressure: the data is not ready yet, or the
 * client reading what is downloaded is slow). */
#define GALE_FETCH_PAUSE (-2)

/* A streamed request body: fn is called whenever the connection can take
 * more and fills buf with up to size bytes: returns the count, 0 at the
 * end, GALE_FETCH_PAUSE when it has nothing yet, or -1 to stop the
 * transfer (ended with GALE_FETCH_CANCELLED). length: the total when known,
 * or -1 (sent chunked). 0 or -1. */
int gale_fetch_set_upload(gale_fetch *f, long long length,
                          long (*fn)(gale_fetch *f, void *arg, char *buf, size_t size), void *arg);
/* A streamed answer: fn gets each piece of the body as it comes (status and
 * headers are readable by then) and the body is not kept; it returns 0 to
 * go on, GALE_FETCH_PAUSE to be given the same piece again after
 * gale_fetch_resume, or -1 to stop (ended with GALE_FETCH_CANCELLED). The
 * size limit still applies; set it to 0 for none. 0 or -1. */
int gale_fetch_set_download(gale_fetch *f,
                            int (*fn)(gale_fetch *f, void *arg, const char *data, size_t len),
                            void *arg);
/* Seconds to connect and for the whole transfer (0: no limit; < 0: keep the
 * config's), the redirects followed (0: none, the 3xx is the answer), the
 * largest answer body (0: no limit). 0 or -1 on a bad value or once started. */
int gale_fetch_set_timeouts(gale_fetch *f, double connect, double total);
int gale_fetch_set_max_redirects(gale_fetch *f, int n);
int gale_fetch_set_max_size(gale_fetch *f, size_t bytes);

/* Start (or queue, above the worker's cap); done(f, arg) is called later,
 * never inside this call. 0, or -1 with f freed. */
int gale_fetch_start(gale_fetch *f, gale_fetch_done_fn done, void *arg);
/* Go on with a transfer paused by GALE_FETCH_PAUSE, never inside its own
 * callbacks (from a timer, gale_response_flush_then...). 0, or -1 when f is
 * not paused. */
int gale_fetch_resume(gale_fetch *f);
/* Stop a transfer and free it: done is not called. Allowed before start,
 * and from any of its callbacks but done (where it does nothing). */
void gale_fetch_cancel(gale_fetch *f);

/* The outcome, in done (status and headers also in a download callback). */
int gale_fetch_error(const gale_fetch *f);           /* an enum gale_fetch_error */
const char *gale_fetch_message(const gale_fetch *f); /* "" when OK, else why, for a log */
/* The status of the last answer's head, 0 when none came; a transfer that
 * failed after the head (timeout, broken) keeps it. */
int gale_fetch_status(const gale_fetch *f);
const char *gale_fetch_url(const gale_fetch *f); /* the last URL, after redirects */
/* A header of the (last) answer, the first of that name; NULL when absent. */
const char *gale_fetch_header(const gale_fetch *f, const char *name);
/* The i-th header of the answer: 0 with *name, *value set, -1 past the end. */
int gale_fetch_header_at(const gale_fetch *f, size_t i, const char **name, const char **value);
/* The body (NUL-terminated, "" when streamed or empty) and its length. */
const char *gale_fetch_body(const gale_fetch *f, size_t *len);
/* The body parsed as JSON: a new reference (json_decref it), NULL if not JSON. */
json_t *gale_fetch_json(const gale_fetch *f);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif /* GALE_GALE_H */
