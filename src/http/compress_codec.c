/*
 * compress_codec.c - gzip and Brotli encoders on evbuffers (see
 * compress_codec.h).
 */
#include "http/compress_codec.h"

#include <stdlib.h>
#include <string.h>

#include <brotli/encode.h>
#include <event2/buffer.h>
#include <zlib.h>

/* Output is written straight into the destination buffer, this much space
 * at a time. */
#define COMPRESS_CODEC_CHUNK 16384

/* The largest Brotli window (2^18 = 256 KiB): with the low qualities used
 * on the fly, an encoder then stays near 1 MiB however long a stream runs,
 * where the library's default window (4 MiB) would take several. */
#define COMPRESS_CODEC_BR_LGWIN 18

struct compress_codec {
    enum compress_coding coding;
    z_stream z;
    BrotliEncoderState *br;
};

/* The smallest window (as log2) that holds a body of `size` bytes, between
 * lo and hi; hi when the size is unknown. A small body then costs a small
 * window and hash table, which matters when each answer gets its own. */
static int compress_codec_window(size_t size, int lo, int hi)
{
    int bits = lo;
    if (size == 0)
        return hi;
    while (bits < hi && ((size_t)1 << bits) < size)
        bits++;
    return bits;
}

struct compress_codec *compress_codec_new(enum compress_coding coding, int level, size_t size_hint)
{
    struct compress_codec *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->coding = coding;
    if (coding == COMPRESS_GZIP) {
        /* zlib's window is 9..15 bits; the hash table shrinks with it
         * (memLevel 8 at 15 bits). +16: a gzip wrapper, not zlib's. */
        int bits = compress_codec_window(size_hint, 9, 15);
        int mem = bits - 7 < 1 ? 1 : bits - 7;
        if (deflateInit2(&c->z, level, Z_DEFLATED, bits + 16, mem, Z_DEFAULT_STRATEGY) == Z_OK)
            return c;
    } else if (coding == COMPRESS_BR && (c->br = BrotliEncoderCreateInstance(NULL, NULL, NULL))) {
        BrotliEncoderSetParameter(c->br, BROTLI_PARAM_QUALITY, (uint32_t)level);
        BrotliEncoderSetParameter(c->br, BROTLI_PARAM_LGWIN,
                                  (uint32_t)compress_codec_window(size_hint, BROTLI_MIN_WINDOW_BITS,
                                                                  COMPRESS_CODEC_BR_LGWIN));
        if (size_hint)
            BrotliEncoderSetParameter(c->br, BROTLI_PARAM_SIZE_HINT,
                                      size_hint > (1u << 30) ? 1u << 30 : (uint32_t)size_hint);
        return c;
    }
    free(c);
    return NULL;
}

/* One call of the encoder on [data, data+len) with flush mode `op`, its
 * output appended to out until the encoder has no more to give. */
static int compress_codec_gzip(struct compress_codec *c, const void *data, size_t len,
                               enum compress_op op, struct evbuffer *out)
{
    static const int flush[] = {Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FINISH};
    struct evbuffer_iovec v;
    c->z.next_in = (Bytef *)(uintptr_t)data;
    c->z.avail_in = (uInt)len;
    do {
        if (evbuffer_reserve_space(out, COMPRESS_CODEC_CHUNK, &v, 1) < 1)
            return -1;
        c->z.next_out = v.iov_base;
        c->z.avail_out = (uInt)v.iov_len;
        int rc = deflate(&c->z, flush[op]);
        v.iov_len -= c->z.avail_out;
        evbuffer_commit_space(out, &v, 1);
        if (rc == Z_STREAM_ERROR)
            return -1;
    } while (c->z.avail_out == 0 || c->z.avail_in > 0);
    return 0;
}

static int compress_codec_brotli(struct compress_codec *c, const void *data, size_t len,
                                 enum compress_op op, struct evbuffer *out)
{
    static const BrotliEncoderOperation mode[] = {BROTLI_OPERATION_PROCESS, BROTLI_OPERATION_FLUSH,
                                                  BROTLI_OPERATION_FINISH};
    const uint8_t *in = data;
    struct evbuffer_iovec v;
    for (;;) {
        if (evbuffer_reserve_space(out, COMPRESS_CODEC_CHUNK, &v, 1) < 1)
            return -1;
        uint8_t *next = v.iov_base;
        size_t room = v.iov_len;
        int ok = BrotliEncoderCompressStream(c->br, mode[op], &len, &in, &room, &next, NULL);
        v.iov_len -= room;
        evbuffer_commit_space(out, &v, 1);
        if (!ok)
            return -1;
        if (len == 0 && !BrotliEncoderHasMoreOutput(c->br) &&
            (op != COMPRESS_FINISH || BrotliEncoderIsFinished(c->br)))
            return 0;
    }
}

static int compress_codec_step(struct compress_codec *c, const void *data, size_t len,
                               enum compress_op op, struct evbuffer *out)
{
    return c->coding == COMPRESS_GZIP ? compress_codec_gzip(c, data, len, op, out)
                                      : compress_codec_brotli(c, data, len, op, out);
}

int compress_codec_run(struct compress_codec *c, struct evbuffer *in, struct evbuffer *out,
                       enum compress_op op)
{
    struct evbuffer_iovec v[16];
    /* evbuffer_peek maps a file segment (evbuffer_add_file) into memory
     * like any chain unless the buffer drains to a socket, which r->out
     * never does: see test_compress's file test. */
    while (evbuffer_get_length(in) > 0) {
        int n = evbuffer_peek(in, -1, NULL, v, 16);
        int take = n < 16 ? n : 16;
        size_t got = 0;
        for (int i = 0; i < take; i++) {
            if (compress_codec_step(c, v[i].iov_base, v[i].iov_len, COMPRESS_PROCESS, out) < 0)
                return -1;
            got += v[i].iov_len;
        }
        evbuffer_drain(in, got);
        if (n <= 0)
            break;
    }
    return op == COMPRESS_PROCESS ? 0 : compress_codec_step(c, NULL, 0, op, out);
}

void compress_codec_free(struct compress_codec *c)
{
    if (!c)
        return;
    if (c->coding == COMPRESS_GZIP)
        deflateEnd(&c->z);
    else if (c->br)
        BrotliEncoderDestroyInstance(c->br);
    free(c);
}
