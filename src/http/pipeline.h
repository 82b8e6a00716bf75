/*
 * pipeline.h - the request pipeline, apart from the protocol that carries
 * requests: route (with the https redirect), CORS, XSRF, session,
 * authentication, dispatch to the module's handler, the answer's output
 * stages (the ETag and conditional requests now; compression, ranges and
 * file bodies later), error pages, the access log.
 *
 * A protocol (HTTP/1 in h1.c; HTTP/2 later) parses requests, fills in a
 * gale_request made by pipeline_request_new, and calls pipeline_head when
 * the head is in, pipeline_body_* for the body, pipeline_dispatch when the
 * request is complete. The pipeline answers through the protocol's table of
 * operations, struct http_wire, and nothing else.
 *
 * Life of a request: made by the protocol in an arena of its own; over when
 * it is finished and no handler runs (then pipeline_request_done gives it
 * back to the protocol through wire->done, which frees the arena). A request
 * whose client went away while its handler still works is an orphan: the
 * pipeline keeps it until the module finishes it, then frees its arena.
 */
#ifndef GALE_PIPELINE_H
#define GALE_PIPELINE_H

#include <stddef.h>

#include "gale/gale.h"

struct arena;
struct conn;
struct evbuffer;
struct loop;

/* What the pipeline asks of the protocol under a request. Each is called
 * only while r->stream is set (the client is there). */
struct http_wire {
    /* Write the status line and headers (r->status, r->rh). `streaming`: the
     * body follows in pieces of unknown total length. 0, or -1 when the
     * answer cannot go (the client is gone). */
    int (*send_head)(gale_request *r, int streaming);
    /* Send r->out (the buffer is emptied) with the framing in use. */
    void (*send_body)(gale_request *r);
    /* Send what was queued now, unless answers are being batched. */
    void (*flush)(gale_request *r);
    /* The answer is complete (or r->broken: cut short): end its framing. */
    void (*end)(gale_request *r);
    /* The request is over: free it and go on with the connection. */
    void (*done)(gale_request *r);
    /* The connection under the request (its TLS session, a hand-over). */
    struct conn *(*conn)(const gale_request *r);
    /* The body of a request that streams it (pipeline_body_begin returned
     * 1) is wanted now: feed it to pipeline_body_data as it arrives (after a
     * 100 Continue the client waits for). Later, from the loop, when called
     * outside the protocol's own processing. */
    void (*read_body)(gale_request *r);
    /* Call pipeline_drained(r) once everything sent so far has been written
     * to the socket: later, from the loop, never inside this call (at the
     * next loop turn when it already was). Forgotten when r is done. */
    void (*watch_drained)(gale_request *r);
};

/* An output stage: sees every answer on its way to the wire, in the order
 * the stages were added. Stages are how features join the output (the ETag
 * now; compression, ranges, file bodies) without editing the pipeline. */
struct http_stage {
    const char *name;
    /* The head is about to be sent. `complete`: the whole body is in r->out
     * (a finished answer); else the answer streams. May change the status,
     * the headers (r->rh) and a complete body. */
    void (*head)(gale_request *r, int complete);
    /* A piece of the body is about to be sent (`last` on the last one, which
     * may be empty); may replace what `data` holds. When r->file_body is
     * set, the body is file segments only sendfile reads (static files):
     * a stage must neither peek at nor rewrite it. */
    void (*body)(gale_request *r, struct evbuffer *data, int last);
    /* Whether this stage would rewrite the body of r's answer as its head
     * now stands, streamed (NULL: never). A producer that could send bytes
     * no stage may touch (sendfile, a length in the head) asks first, and
     * streams them through the stages when one would. */
    int (*rewrites)(gale_request *r);
};

/* Add a stage at the end of the list (the worker, before it serves). At
 * most PIPELINE_MAX_STAGES. Returns 0, or -1 when full. */
#define PIPELINE_MAX_STAGES 8
int pipeline_stage_add(const struct http_stage *stage);
/* Whether any stage would rewrite r's answer if it streamed (see rewrites). */
int pipeline_body_rewritten(gale_request *r);

/* A stream that carries a layer above HTTP in both directions (RFC 8441:
 * a WebSocket over an HTTP/2 stream), as the protocol offers it to that
 * layer. `stream` is the request's r->stream. */
struct http_tunnel {
    struct evbuffer *(*out)(void *stream); /* where bytes to send go */
    void (*flush)(void *stream);           /* send what was added to out, from the loop */
    size_t (*pending)(void *stream);       /* bytes queued and not yet sent */
    void (*end)(void *stream);             /* end our side once out is sent */
    void (*reset)(void *stream);           /* abort the stream now */
    const char *(*client)(void *stream);   /* the client's address */
};

/* What takes a connection over after a 101 (WebSocket, a layer above
 * HTTP): the worker sets it before serving, so that HTTP reaches the layer
 * through it and includes nothing of it. The stream_* hooks run a socket
 * over an HTTP/2 stream (r->tunnel) instead: what arrives on the stream,
 * the client's end of it, the stream gone (the socket is freed; the
 * protocol forgets it), the worker draining. */
struct http_upgrade {
    gale_handler_fn accept;                      /* runs for GET on a websocket route */
    void (*attach)(struct conn *c, gale_ws *ws); /* the 101 is queued: the connection is ws's */
    void (*stream_read)(gale_ws *ws, const void *data, size_t len);
    void (*stream_end)(gale_ws *ws);
    void (*stream_gone)(gale_ws *ws);
    void (*stream_drain)(gale_ws *ws);
};
void pipeline_set_upgrade(const struct http_upgrade *u);
const struct http_upgrade *pipeline_upgrade(void);

/* A new request in `arena` (which it then lives in) on `loop`, from the
 * client at address `client` (copied), answered through wire and stream.
 * `out`: an empty buffer for the answer's body to reuse, or NULL. */
gale_request *pipeline_request_new(struct arena *arena, struct loop *loop,
                                   const struct http_wire *wire, void *stream, const char *client,
                                   int https, struct evbuffer *out);

/* The head is parsed and r's strings are set: the client and scheme behind
 * trusted proxies, the https redirect, the route, CORS and the allowed
 * methods. `path` is the path as received (not decoded). */
void pipeline_head(gale_request *r, const char *path, size_t path_len);

/* The body: begin (a body follows), then data as it arrives, then end.
 * data and end return 0, or -1 with *why set when the body is refused
 * (a bad multipart body): the protocol answers 400; or -1 with *why NULL
 * when the handler taking a streamed body answered or failed: the request
 * is over (wire->done ran), the protocol reads no more of the body.
 *
 * begin returns 1 when the handler takes the body piece by piece
 * (data_received): the protocol then calls pipeline_dispatch at once,
 * holds the body until wire->read_body, and calls pipeline_dispatch again
 * at the body's end. Otherwise 0: the body is collected whole. */
int pipeline_body_begin(gale_request *r);
int pipeline_body_data(gale_request *r, const char *data, size_t len, const char **why);
int pipeline_body_end(gale_request *r, const char **why);

/* The request is complete: answer an error decided earlier, check XSRF,
 * load the session, check the user, run the handler. For a streamed body,
 * the first call (at the head) runs up to prepare and asks for the body,
 * the second (at the body's end) runs the method's callback. */
void pipeline_dispatch(gale_request *r);

/* Send the head now (streamed answers: gale_response_flush); 0 or -1. */
int pipeline_send_head(gale_request *r, int streaming);
/* Send what r->out holds, through the stages. */
void pipeline_send_body(gale_request *r);
/* Send what was queued (gale_response_flush). */
void pipeline_flush(gale_request *r);
/* Call fn(r, arg) once what was sent has been written to the socket
 * (gale_response_flush_then), unless the client goes away or the answer
 * ends first; a second call replaces the first's callback. */
void pipeline_when_drained(gale_request *r, void (*fn)(gale_request *r, void *arg), void *arg);
/* The wire: what was sent has been written (see wire->watch_drained). */
void pipeline_drained(gale_request *r);
/* The answer is complete: store a changed session first, then send what is
 * left, log it, and end the request (now, or when its handler returns). */
void pipeline_finish(gale_request *r);
/* Answer with an error page (or cut a started answer short) and finish. */
void pipeline_error(gale_request *r, int status, const char *reason);

/* The connection under r, or NULL once the client has gone. */
struct conn *pipeline_conn(const gale_request *r);

/* The client went away. `handler_running`: a handler works on r and must
 * still finish it, so r becomes an orphan (its arena is then r's alone: the
 * protocol must no longer free it). Otherwise r is simply cut off from the
 * stream (a session read under way is cancelled) and goes with the
 * protocol's arena. */
void pipeline_client_gone(gale_request *r, int handler_running);

/* Free the requests whose clients left and whose modules never finished
 * them: only when the worker exits, after the modules' shutdown. */
void pipeline_free_orphans(void);

/* The reason phrase for a status code. */
const char *pipeline_status_text(int status);
/* 1xx, 204 and 304 answers have no body (RFC 9110 6.4.1). Inline: both the
 * pipeline and the wire ask it of every answer. */
static inline int pipeline_status_no_body(int status)
{
    return status < 200 || status == 204 || status == 304;
}

#endif
