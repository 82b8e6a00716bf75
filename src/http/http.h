/*
 * http.h - the HTTP/1.1 request/response life cycle on a connection:
 * reading heads and bodies, routing, calling handlers, keep-alive,
 * pipelining (answers in order), chunked output.
 */
#ifndef GALE_HTTP_H
#define GALE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "core/router.h"
#include "gale/gale.h"
#include "http/http_parser.h"

struct conn;
struct arena;
struct evbuffer;
struct route;
struct http_conn;
struct upload;
struct store_op;
struct pubsub_waiter;

struct http_kv {
    const char *name;
    const char *value;
};

struct gale_request {
    struct http_conn *hc; /* NULL once the client has gone away */
    struct arena *arena;
    struct loop *loop;
    const struct route *route; /* NULL when no route matched */
    gale_handler_fn fn;        /* the callback to run, NULL for an error answer */
    double start;              /* monotonic seconds */

    /* the request: strings point into the connection's head buffer,
     * NUL-terminated in place, or into the arena */
    const char *method;
    int mid; /* enum http_method */
    const char *target, *path, *query;
    int minor;
    struct http_header *hdrs;
    size_t nhdrs;
    const char *host;
    char *client;
    int https;
    char *caps[ROUTER_MAX_CAPTURES];
    size_t ncaps;
    struct http_kv *args; /* query and form arguments, decoded on first use */
    size_t nargs;
    size_t nquery; /* the first nquery of args come from the query string */
    int args_parsed;
    struct upload *upload;       /* a multipart/form-data body being collected */
    json_t *json;                /* the body as JSON, parsed on first use */
    const char *xsrf_token;      /* this answer's masked XSRF token, made on first use */
    json_t *session;             /* owned (cleanup decref), NULL without sessions */
    json_t *session_orig;        /* as loaded, to tell whether the handler changed it */
    const char *session_id;      /* NULL until the session has one */
    struct store_op *session_op; /* the store read under way */
    void (*session_done)(gale_request *r);
    unsigned session_regenerate : 1;
    unsigned session_destroy : 1;
    unsigned session_saved : 1;   /* session_save ran */
    unsigned session_writing : 1; /* inside store_set */
    unsigned finish_waiting : 1;  /* http_finish waits for the session store */
    int json_parsed;

    /* the body */
    struct evbuffer *body;
    const char *body_flat; /* contiguous, NUL-terminated, made on first use */
    size_t body_len;
    int64_t body_left;    /* Content-Length bytes still to read */
    size_t body_received; /* chunked: data bytes so far */
    int body_chunked;
    struct http_chunked chunked;

    /* the response */
    int status;
    struct http_kv *rh;
    size_t nrh, caprh;
    size_t nrh_keep;      /* headers gale set before the handler: kept by error pages */
    struct evbuffer *out; /* body written and not sent yet */
    size_t bytes_out;     /* body bytes sent */
    int error_status;     /* an answer gale gives instead of a handler (404, 405, ...) */
    const char *error_reason;

    unsigned is_head : 1;
    unsigned keepalive : 1;
    unsigned head_sent : 1;
    unsigned chunked_out : 1; /* streaming with chunked framing */
    unsigned eof_framed : 1;  /* streaming to an HTTP/1.0 client: the close ends the body */
    unsigned finished : 1;
    unsigned in_handler : 1;
    unsigned aborted : 1;
    unsigned broken : 1; /* the body could not be completed: close without framing end */

    struct gale_ws *upgrade;      /* the WebSocket taking the connection over after 101 */
    struct pubsub_waiter *waiter; /* gale_request_wait under way */
    /* Set by the layer above that holds the request (a long poll): told when
     * the client goes away, after the module's abort callback. */
    void (*gone)(gale_request *r);

    void (*abort_cb)(gale_request *, void *);
    void *abort_arg;
    gale_request *orphan_prev, *orphan_next; /* while aborted and unfinished */
};

/* What takes a connection over after a 101 (WebSocket, a layer above
 * HTTP): the worker sets it before serving, so that HTTP reaches the layer
 * through it and includes nothing of it. */
struct http_upgrade {
    gale_handler_fn accept;                      /* runs for GET on a websocket route */
    void (*attach)(struct conn *c, gale_ws *ws); /* the 101 is queued: the connection is ws's */
};
void http_set_upgrade(const struct http_upgrade *u);

/* Start speaking HTTP on a new connection. */
void http_conn_start(struct conn *c);

/* The connection of r, or NULL once the client has gone. */
struct conn *http_request_conn(const gale_request *r);

/* Free the requests whose clients left and whose modules never finished
 * them: only when the worker exits, after the modules' shutdown. */
void http_free_orphans(void);

/* Send the head (and switch to chunked output when `streaming`). Returns 0,
 * or -1 when the client is gone. */
int http_send_head(gale_request *r, int streaming);
/* Queue r->out to the client with the framing in use. */
void http_send_body(gale_request *r);
/* Send what was queued now, unless the connection is in the middle of a
 * batch of pipelined requests (then it leaves with the batch). */
void http_flush(gale_request *r);
/* The response is complete: end the framing, log it, free the request (now,
 * or when the handler returns) and go on with the connection. */
void http_finish(gale_request *r);
/* Answer with an error page and finish. */
void http_error(gale_request *r, int status, const char *reason);
/* Add a response header without gale_response_header's checks (gale's own
 * Connection, Upgrade...): name and value are trusted. */
void response_header_add(gale_request *r, const char *name, const char *value);
/* The reason phrase for a status code. */
const char *http_status_text(int status);

#endif
