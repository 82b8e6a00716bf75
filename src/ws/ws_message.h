/*
 * ws_message.h - a WebSocket message framed once for many sockets
 * (gale_ws_message): the plain frame, and one compressed frame per
 * permessage-deflate window size for the sockets that agreed to
 * server_no_context_takeover (their compressor starts afresh for every
 * message, so one compressed payload serves them all).
 *
 * Reference counted: the module's gale_ws_message_new is one reference;
 * every socket that could not send the whole frame at once holds another
 * until its output buffer let go of the bytes (ws_message_add_to).
 */
#ifndef GALE_WS_MESSAGE_H
#define GALE_WS_MESSAGE_H

#include <stddef.h>

#include "gale/gale.h"

struct evbuffer;
struct ws_deflate_params;

/* One frame ready to go: header and payload (borrowed from the message). */
struct ws_message_frame {
    const unsigned char *hdr;
    size_t hlen;
    const unsigned char *data;
    size_t len;
    int rsv1;   /* compressed */
    int binary; /* else text */
};

/* The plain frame of m. */
void ws_message_plain(gale_ws_message *m, struct ws_message_frame *f);

/* The frame of m for a socket that negotiated p, compressed at level (made
 * on first use and kept for the message's life). -1 when this socket gets
 * the plain frame: context takeover (each socket compresses its own), a
 * 256-byte window zlib cannot make, too small to gain, or no memory. */
int ws_message_deflated(gale_ws_message *m, const struct ws_deflate_params *p, int level,
                        size_t min_len, struct ws_message_frame *f);

/* Append the bytes of f from `skip` on to out, by reference to m when that
 * is worth it (m is kept alive until out drops them), copied otherwise or
 * when m is NULL. */
void ws_message_add_to(gale_ws_message *m, const struct ws_message_frame *f, size_t skip,
                       struct evbuffer *out);

#endif
