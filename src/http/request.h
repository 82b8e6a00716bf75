/*
 * request.h - a request and its answer as the request pipeline sees them,
 * whatever protocol carried them: what a module's gale_request is.
 *
 * Ownership: the request and everything it points to live in its arena
 * (r->arena), freed at once when the request is over (pipeline.h says
 * when); cleanups registered on the arena free what is not arena memory
 * (the JSON of the session, the body buffers).
 */
#ifndef GALE_REQUEST_H
#define GALE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/router.h"
#include "gale/gale.h"
#include "http/http_parser.h"

struct arena;
struct compress_codec;
struct evbuffer;
struct http_tunnel;
struct http_wire;
struct locale;
struct loop;
struct pubsub_waiter;
struct route;
struct static_root;
struct store_op;
struct upload;

struct http_kv {
    const char *name;
    const char *value;
};

struct gale_request {
    /* The protocol under the request (HTTP/1 now, HTTP/2 later) and its
     * side of it (an HTTP/1 connection, a stream): the pipeline speaks to
     * the client only through `wire`. stream is NULL once the client has
     * gone away. */
    const struct http_wire *wire;
    void *stream;
    struct arena *arena;
    struct loop *loop;
    const struct route *route;             /* NULL when no route matched */
    const struct static_root *static_root; /* a static folder answers r instead (static.c) */
    gale_handler_fn fn;                    /* the callback to run, NULL for an error answer */
    double start;                          /* monotonic seconds */

    /* the request: strings point into the connection's head buffer,
     * NUL-terminated in place, or into the arena */
    const char *method;
    int mid; /* enum http_method */
    const char *target, *path, *query;
    int minor; /* HTTP/1.minor (1 over HTTP/2: its semantics) */
    int http2; /* the request came on an HTTP/2 stream */
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
    unsigned finish_waiting : 1;  /* pipeline_finish waits for the session store */
    int json_parsed;

    /* the body */
    struct evbuffer *body;
    const char *body_flat; /* contiguous, NUL-terminated, made on first use */
    size_t body_len;

    /* the response */
    int status;
    struct http_kv *rh;
    size_t nrh, caprh;
    size_t nrh_keep;      /* headers gale set before the handler: kept by error pages */
    struct evbuffer *out; /* body written and not sent yet */
    size_t bytes_out;     /* body bytes sent */
    int error_status;     /* an answer gale gives instead of a handler (404, 405, ...) */
    const char *error_reason;
    const char *reason; /* the status line's reason phrase; NULL: the status's own */
    /* The body's length when the head goes before the body is in r->out (a
     * large file over TLS, sent in pieces; HEAD of a file): framed with
     * Content-Length, not chunks. */
    uint64_t known_length;
    unsigned length_known : 1;
    /* A 304 the ETag stage made of a finished 200: the later stages give it
     * the headers that 200 would have had (RFC 9110 15.4.5: ETag, Vary),
     * knowing its body's length; the pipeline then drops the
     * representation's own (Content-Type, -Encoding, -Language). */
    unsigned not_modified : 1;
    size_t not_modified_len;
    /* r->out holds file segments that only sendfile reads (static.c): an
     * output stage must not peek at or rewrite the body. */
    unsigned file_body : 1;
    /* the encoder of a streamed answer being compressed (compress.c): freed
     * by its arena cleanup, or when the answer ends */
    struct compress_codec *compress;

    unsigned is_head : 1;
    unsigned head_sent : 1;
    unsigned finished : 1;
    unsigned in_handler : 1;
    unsigned aborted : 1;
    unsigned broken : 1;         /* the body could not be completed: the wire must not end it */
    unsigned error_hook_ran : 1; /* the module's write_error ran: never twice */

    unsigned body_streams : 1; /* the handler takes the body in pieces (data_received) */
    unsigned body_flowing : 1; /* prepare ran: the pieces go to data_received now */

    struct gale_ws *upgrade; /* the WebSocket taking the connection over after 101 */
    /* An HTTP/2 extended CONNECT for a WebSocket (RFC 8441): the stream
     * carries the socket's frames through these operations, on r->stream. */
    const struct http_tunnel *tunnel;
    struct pubsub_waiter *waiter; /* gale_request_wait under way */
    /* Set by the layer above that holds the request (a long poll): told when
     * the client goes away, after the module's abort callback. */
    void (*gone)(gale_request *r);
    /* More of the same, any number (request_on_gone): a child process. */
    struct request_gone_hook *gone_hooks;
    /* The outgoing fetches bound to the request (client/client_fetch.c),
     * ended through request_on_gone when the client goes away. */
    struct gale_fetch *fetches;

    void (*abort_cb)(gale_request *, void *);
    void *abort_arg;
    /* gale_response_flush_then: called once the wire has written what was
     * sent (pipeline_drained), unless the client goes or the answer ends */
    void (*drained_fn)(gale_request *r, void *arg);
    void *drained_arg;
    gale_request *orphan_prev, *orphan_next; /* while aborted and unfinished */
    const struct locale *locale;             /* page/locale_request.c: chosen on first use */
};

struct request_gone_hook {
    void (*fn)(void *arg);
    void *arg;
    struct request_gone_hook *next;
};

/* Call fn(arg) when the client goes away before the answer is finished
 * (after the module's abort callback), for the layers above http that hold
 * something for the request. The hook lives in r's arena. */
void request_on_gone(gale_request *r, void (*fn)(void *), void *arg);

/* Add a response header without gale_response_header's checks (gale's own
 * Connection, Upgrade...): name and value are trusted. */
void response_header_add(gale_request *r, const char *name, const char *value);
/* The same without copying name and value: string literals, or memory that
 * lives as long as r (the header a stage adds to every answer). */
void response_header_add_static(gale_request *r, const char *name, const char *value);
/* The first response header named name (case-insensitive), or NULL. */
const char *response_header_find(const gale_request *r, const char *name);
/* Remove every response header named name, gale's own included. */
void response_header_remove(gale_request *r, const char *name);

#endif
