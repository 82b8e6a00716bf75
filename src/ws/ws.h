/*
 * ws.h - WebSocket connections (RFC 6455, with RFC 7692 compression): the
 * opening handshake on a route marked `websocket = true`, then a protocol
 * of its own on the connection (struct conn), calling the module's
 * gale_websocket callbacks.
 */
#ifndef GALE_WS_H
#define GALE_WS_H

#include "gale/gale.h"

struct conn;
struct loop;

/* Set up what WebSocket connections on this loop share (its timeouts):
 * once per worker, before serving. Returns 0 or -1. */
int ws_init(struct loop *loop);

/* The handler gale runs for GET on a websocket route: checks the opening
 * handshake and answers it (101, or 400/403/426 saying why). On success
 * r->upgrade is set, the module's open callback has run, and http.c hands
 * the connection over with ws_attach once the 101 is queued. */
int ws_accept(gale_request *r);

/* The connection now speaks WebSocket: bytes after the upgrade request that
 * are already buffered are parsed at once. */
void ws_attach(struct conn *c, gale_ws *ws);

/* A socket on an HTTP/2 stream (RFC 8441; ws_accept saw r->tunnel): the
 * stream's DATA, the client's END_STREAM, the stream gone (the module's
 * close callback runs and ws is freed), the worker draining (1001). */
void ws_stream_read(gale_ws *ws, const void *data, size_t len);
void ws_stream_end(gale_ws *ws);
void ws_stream_gone(gale_ws *ws);
void ws_stream_drain(gale_ws *ws);

#endif
