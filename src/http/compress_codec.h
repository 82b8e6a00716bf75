/*
 * compress_codec.h - a gzip (zlib) or Brotli (libbrotli) encoder working on
 * evbuffers, for the compression stage: the whole body of a finished answer
 * at once, or a streamed answer piece by piece, each piece flushed so that
 * the client can decode it at once.
 *
 * Memory: an encoder holds its window and tables (a few hundred KiB at
 * most: see compress_codec.c) until compress_codec_free; the stage frees it
 * at the end of each answer and on abort, through the request's arena.
 */
#ifndef GALE_COMPRESS_CODEC_H
#define GALE_COMPRESS_CODEC_H

#include <stddef.h>

#include "http/compress_negotiate.h"

struct evbuffer;
struct compress_codec;

/* What compress_codec_run does after it took its input in. */
enum compress_op {
    COMPRESS_PROCESS, /* nothing more: output may lag behind */
    COMPRESS_FLUSH,   /* everything so far decodable now (Z_SYNC_FLUSH, BROTLI_OPERATION_FLUSH) */
    COMPRESS_FINISH,  /* the end of the stream */
};

/* A new encoder for coding (gzip or br) at `level` (gzip 1..9, Brotli
 * 0..11). size_hint: the body's whole length when known, else 0 (a smaller
 * window for small bodies). NULL when out of memory. */
struct compress_codec *compress_codec_new(enum compress_coding coding, int level, size_t size_hint);

/* Compress all of `in` (which is emptied; file segments are read like any
 * other) onto the end of `out`, then do `op`. 0, or -1 when the encoder
 * failed (then the stream is unusable). */
int compress_codec_run(struct compress_codec *c, struct evbuffer *in, struct evbuffer *out,
                       enum compress_op op);

/* Free c (NULL is allowed). */
void compress_codec_free(struct compress_codec *c);

#endif
