/*
 * fuzz_ws_deflate.c - libFuzzer target for permessage-deflate: the
 * Sec-WebSocket-Extensions offer parser and the decompressor.
 *
 * Input: byte 0 picks the options (bit 0: client_no_context_takeover, bits
 * 1-7: the message size limit, in 64-byte steps), the rest is both a header
 * value (up to its first NUL) and a compressed message. Checks:
 * - an accepted offer's answer is itself an offer that gets the same answer;
 * - the message inflates the same from one chain and from 1-byte chains,
 *   never past the limit, and always drains its input;
 * - what inflated compresses and inflates back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "ws/ws_deflate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_ws_deflate_negotiate(const uint8_t *data, size_t size)
{
    struct ws_deflate_params p, q;
    char *header = malloc(size + 1), answer[128], again[128];
    int r;

    if (header == NULL)
        abort();
    memcpy(header, data, size);
    header[size] = '\0';
    r = ws_deflate_negotiate(header, &p, answer, sizeof(answer));
    if (r < -1 || r > 1)
        abort();
    if (r != 1 && answer[0] != '\0')
        abort();
    if (r == 1) {
        if (strncmp(answer, "permessage-deflate", 18) != 0)
            abort();
        if (p.server_max_window_bits < 8 || p.server_max_window_bits > 15 ||
            p.client_max_window_bits < 8 || p.client_max_window_bits > 15)
            abort();
        if (ws_deflate_negotiate(answer, &q, again, sizeof(again)) != 1 ||
            strcmp(answer, again) != 0 ||
            q.server_no_context_takeover != p.server_no_context_takeover ||
            q.client_no_context_takeover != p.client_no_context_takeover ||
            q.server_max_window_bits != p.server_max_window_bits)
            abort();
    }
    free(header);
}

/* Inflate data on d, given as one chain or as 1-byte chains (referenced,
 * so each is its own chain); the result and out are returned. */
static int fuzz_ws_deflate_inflate(struct ws_deflate *d, const uint8_t *data, size_t size,
                                   int bytewise, size_t max, struct evbuffer *out)
{
    struct evbuffer *in = evbuffer_new();
    int r;

    if (in == NULL)
        abort();
    if (!bytewise)
        evbuffer_add(in, data, size);
    else
        for (size_t i = 0; i < size; i++)
            evbuffer_add_reference(in, data + i, 1, NULL, NULL);
    r = ws_deflate_decompress(d, in, out, max);
    if (evbuffer_get_length(in) != 0)
        abort();
    if (r != 0 && r != -1 && r != -2)
        abort();
    if (r == 0 && evbuffer_get_length(out) > max)
        abort();
    evbuffer_free(in);
    return r;
}

/* What inflated must survive our own compressor. */
static void fuzz_ws_deflate_round_trip(struct evbuffer *plain, int level)
{
    struct ws_deflate_params p = {level & 1, level & 1, 9 + level % 7, 15};
    struct ws_deflate *tx = ws_deflate_new(&p, level), *rx = ws_deflate_new(&p, 6);
    struct evbuffer *z = evbuffer_new(), *back = evbuffer_new();
    size_t len = evbuffer_get_length(plain);
    const unsigned char *a = evbuffer_pullup(plain, -1);

    if (tx == NULL || rx == NULL || z == NULL || back == NULL)
        abort();
    /* Twice, so the second message uses (or resets) the first's context. */
    for (int i = 0; i < 2; i++) {
        if (ws_deflate_compress(tx, a, len, z) != 0 || evbuffer_get_length(z) == 0)
            abort();
        if (ws_deflate_decompress(rx, z, back, len) != 0 || evbuffer_get_length(back) != len)
            abort();
        if (len > 0 && memcmp(evbuffer_pullup(back, -1), a, len) != 0)
            abort();
        evbuffer_drain(back, len);
    }
    ws_deflate_free(tx);
    ws_deflate_free(rx);
    evbuffer_free(z);
    evbuffer_free(back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ws_deflate_params p = {0, 0, 15, 15};
    struct ws_deflate *whole, *bytes;
    struct evbuffer *out1, *out2;
    size_t max, n1;
    int r1, r2;

    if (size < 1)
        return 0;
    fuzz_ws_deflate_negotiate(data + 1, size - 1);
    p.client_no_context_takeover = data[0] & 1;
    max = (size_t)(data[0] >> 1) * 64;
    whole = ws_deflate_new(&p, 6);
    bytes = ws_deflate_new(&p, 6);
    out1 = evbuffer_new();
    out2 = evbuffer_new();
    if (whole == NULL || bytes == NULL || out1 == NULL || out2 == NULL)
        abort();
    /* The same message twice: the second exercises the kept (or reset)
     * context, as a client's next message would. */
    for (int i = 0; i < 2; i++) {
        r1 = fuzz_ws_deflate_inflate(whole, data + 1, size - 1, 0, max, out1);
        r2 = fuzz_ws_deflate_inflate(bytes, data + 1, size - 1, 1, max, out2);
        n1 = evbuffer_get_length(out1);
        if (r1 != r2)
            abort();
        if (r1 == 0 &&
            (n1 != evbuffer_get_length(out2) ||
             (n1 > 0 && memcmp(evbuffer_pullup(out1, -1), evbuffer_pullup(out2, -1), n1) != 0)))
            abort();
        if (r1 == 0 && i == 0)
            fuzz_ws_deflate_round_trip(out1, 1 + data[0] % 9);
        evbuffer_drain(out1, evbuffer_get_length(out1));
        evbuffer_drain(out2, evbuffer_get_length(out2));
    }
    if ((ws_deflate_memory(whole) == 0) != (size == 1))
        abort();
    ws_deflate_free(whole);
    ws_deflate_free(bytes);
    evbuffer_free(out1);
    evbuffer_free(out2);
    return 0;
}
