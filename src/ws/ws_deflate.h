/*
 * ws_deflate.h - permessage-deflate (RFC 7692) for WebSocket connections:
 * negotiating the extension from a client's Sec-WebSocket-Extensions offers,
 * and compressing / decompressing whole messages with zlib.
 *
 * Functions return 0 on success and -1 on error unless they say otherwise.
 */
#ifndef GALE_WS_DEFLATE_H
#define GALE_WS_DEFLATE_H

#include <stddef.h>

struct evbuffer;

/* What was agreed for one connection. */
struct ws_deflate_params {
    int server_no_context_takeover; /* we reset our compressor after each message */
    int client_no_context_takeover; /* the client resets its own; we may reset our inflater */
    int server_max_window_bits;     /* 9..15: the window our compressor uses */
    int client_max_window_bits;     /* 8..15: the window the client compresses with */
};

/*
 * Pick the first acceptable permessage-deflate offer among the values of
 * the client's Sec-WebSocket-Extensions header fields (several fields
 * joined with ", ", as RFC 9110 5.3 allows), following RFC 7692 section 7.1:
 * parameters server_no_context_takeover, client_no_context_takeover,
 * server_max_window_bits=8..15 and client_max_window_bits[=8..15]; an offer
 * with an unknown parameter, a repeated one or a bad value is declined
 * (the next one is tried). server_max_window_bits=8 is accepted, but zlib
 * cannot compress with a 256-byte window: such a connection sends every
 * message uncompressed (ws_deflate_compress returns -1). Other extensions are ignored.
 *
 * Returns 1 and fills *p and the Sec-WebSocket-Extensions value to answer
 * (NUL-terminated, into out[0..cap)) when an offer was accepted; 0 when none
 * was (answer without the extension); -1 when the header is not valid
 * extension syntax (RFC 6455 9.1; answer 400). The whole header is checked,
 * also after an acceptable offer; one with no extension at all (empty, or
 * only commas) is 0. Every answer fits in 128 bytes; one that does not fit
 * in cap gives 0.
 */
int ws_deflate_negotiate(const char *header, struct ws_deflate_params *p, char *out, size_t cap);

/* One connection's compressor and decompressor (zlib raw deflate streams,
 * allocated on first use so that idle connections cost nothing). */
struct ws_deflate;

/* level: zlib compression level 1..9. */
struct ws_deflate *ws_deflate_new(const struct ws_deflate_params *p, int level);
void ws_deflate_free(struct ws_deflate *d);
/* What was agreed for d's connection. */
const struct ws_deflate_params *ws_deflate_params(const struct ws_deflate *d);

/* Compress one whole message (data, len) into out, as RFC 7692 7.2.1 says:
 * deflate with a sync flush, the final 00 00 ff ff removed. Resets the
 * compressor afterwards when server_no_context_takeover was agreed.
 * -1 with server_max_window_bits 8: send the message uncompressed. */
int ws_deflate_compress(struct ws_deflate *d, const void *data, size_t len, struct evbuffer *out);

/* Decompress one whole message (the payloads of its frames, concatenated,
 * in `in`, which is drained) into out, appending 00 00 ff ff first (RFC 7692
 * 7.2.2). Returns 0, -1 for corrupt data, or -2 as soon as the output would
 * exceed max_size bytes (a compression bomb: answer 1009). After an error
 * out may hold part of the message and the decompressor starts afresh;
 * the connection is to be closed anyway. An empty `in` is an empty message
 * and leaves the decompressor as it was. */
int ws_deflate_decompress(struct ws_deflate *d, struct evbuffer *in, struct evbuffer *out,
                          size_t max_size);

/*
 * The same, one frame at a time, as the frames of a message arrive: inflate
 * data[0..len) (a frame's payload, or any part of it) into out; with fin,
 * the message is over (data may then be empty). *total counts the output
 * of the whole message: the caller sets it to 0 at the message's start and
 * keeps it across calls. Returns 0, -1 for corrupt data, or -2 as soon as
 * the message's output would exceed max_size bytes: a bomb is stopped at
 * the frame that carries it, long before the message's end, and a failure
 * is final for the message (the connection is to be closed).
 */
int ws_deflate_inflate(struct ws_deflate *d, const void *data, size_t len, int fin,
                       struct evbuffer *out, size_t max_size, size_t *total);

/* Memory held by the zlib streams now (for the bench's per-connection figure). */
size_t ws_deflate_memory(const struct ws_deflate *d);

#endif
