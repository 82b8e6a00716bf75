/*
 * test_ws_deflate.c - permessage-deflate: offer parsing and answers (RFC 7692
 * 7.1, RFC 6455 9.1 syntax), round trips with and without context takeover,
 * the RFC 7692 7.2.3 examples, the bomb limit, corrupt input and the lazily
 * allocated zlib memory.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "ws/ws_deflate.h"

/* ---- negotiation ---- */

static struct ws_deflate_params params;
static char answer[128];

static int nego(const char *header)
{
    memset(&params, 0x55, sizeof(params));
    return ws_deflate_negotiate(header, &params, answer, sizeof(answer));
}

/* Accepted, with this answer. */
static void expect_answer(const char *header, const char *want)
{
    int r = nego(header);

    CU_ASSERT_EQUAL(r, 1);
    CU_ASSERT_STRING_EQUAL(answer, want);
    if (r != 1 || strcmp(answer, want) != 0)
        fprintf(stderr, "\n%s: got %d \"%s\", want \"%s\"\n", header, r, answer, want);
}

static void expect_result(const char *header, int want)
{
    int r = nego(header);

    CU_ASSERT_EQUAL(r, want);
    if (r != want)
        fprintf(stderr, "\n%s: got %d, want %d\n", header, r, want);
    if (r != 1)
        CU_ASSERT_STRING_EQUAL(answer, "");
}

static void expect_params(int snct, int cnct, int smwb, int cmwb)
{
    CU_ASSERT_EQUAL(params.server_no_context_takeover, snct);
    CU_ASSERT_EQUAL(params.client_no_context_takeover, cnct);
    CU_ASSERT_EQUAL(params.server_max_window_bits, smwb);
    CU_ASSERT_EQUAL(params.client_max_window_bits, cmwb);
}

static void test_negotiate_plain(void)
{
    expect_answer("permessage-deflate", "permessage-deflate");
    expect_params(0, 0, 15, 15);
    /* What browsers send: client_max_window_bits without a value. We may
     * leave it out of the answer, and do (we inflate with 15 bits). */
    expect_answer("permessage-deflate; client_max_window_bits", "permessage-deflate");
    expect_params(0, 0, 15, 15);
}

static void test_negotiate_params(void)
{
    expect_answer("permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                  "server_max_window_bits=10; client_max_window_bits=9",
                  "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                  "server_max_window_bits=10");
    expect_params(1, 1, 10, 9);
    expect_answer("permessage-deflate; client_no_context_takeover",
                  "permessage-deflate; client_no_context_takeover");
    expect_params(0, 1, 15, 15);
    expect_answer("permessage-deflate; server_max_window_bits=9",
                  "permessage-deflate; server_max_window_bits=9");
    expect_params(0, 0, 9, 15);
    expect_answer("permessage-deflate; client_max_window_bits=8", "permessage-deflate");
    expect_params(0, 0, 15, 8);
    /* The answer's order is ours, whatever the offer's was. */
    expect_answer("permessage-deflate; server_max_window_bits=15; server_no_context_takeover",
                  "permessage-deflate; server_no_context_takeover; server_max_window_bits=15");
    /* OWS around every separator. */
    expect_answer(" \tpermessage-deflate ;\tclient_max_window_bits = 10 ; "
                  "server_no_context_takeover\t , x-other ",
                  "permessage-deflate; server_no_context_takeover");
    expect_params(1, 0, 15, 10);
}

static void test_negotiate_quoted(void)
{
    expect_answer("permessage-deflate; server_max_window_bits=\"12\"",
                  "permessage-deflate; server_max_window_bits=12");
    expect_params(0, 0, 12, 15);
    /* A quoted-pair unescapes to its character. */
    expect_answer("permessage-deflate; client_max_window_bits=\"1\\1\"", "permessage-deflate");
    expect_params(0, 0, 15, 11);
    /* Quoting does not hide a bad value. */
    expect_result("permessage-deflate; server_max_window_bits=\"16\"", 0);
    /* The unquoted value must be a token: a syntax error otherwise. */
    expect_result("permessage-deflate; server_max_window_bits=\"1 2\"", -1);
    expect_result("x-foo; a=\"\"", -1);
    expect_result("x-foo; a=\"b,c\"", -1);
    expect_result("x-foo; a=\"abc", -1);
    expect_result("x-foo; a=\"abc\\", -1);
    /* Long values of other extensions are fine. */
    expect_answer("x-foo; a=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", permessage-deflate",
                  "permessage-deflate");
}

static void test_negotiate_several(void)
{
    /* The first offer is declined (unknown parameter), the second taken. */
    expect_answer("permessage-deflate; foo, permessage-deflate; server_max_window_bits=12",
                  "permessage-deflate; server_max_window_bits=12");
    expect_params(0, 0, 12, 15);
    /* The first acceptable one wins, later ones are not looked at. */
    expect_answer("permessage-deflate; client_no_context_takeover, "
                  "permessage-deflate; server_no_context_takeover",
                  "permessage-deflate; client_no_context_takeover");
    expect_params(0, 1, 15, 15);
    /* Several header fields joined with ", ", and empty list elements. */
    expect_answer(", ,x-webkit-deflate-frame,, permessage-deflate; server_max_window_bits=17 ,"
                  "permessage-deflate; client_max_window_bits,",
                  "permessage-deflate");
}

static void test_negotiate_declined(void)
{
    /* zlib cannot deflate with a 256-byte window: accepted, sent plain. */
    expect_answer("permessage-deflate; server_max_window_bits=8",
                  "permessage-deflate; server_max_window_bits=8");
    expect_result("permessage-deflate; server_max_window_bits=16", 0);
    expect_result("permessage-deflate; server_max_window_bits=7", 0);
    expect_result("permessage-deflate; server_max_window_bits=09", 0);
    expect_result("permessage-deflate; server_max_window_bits=012", 0);
    expect_result("permessage-deflate; server_max_window_bits=1.5", 0);
    expect_result("permessage-deflate; server_max_window_bits", 0);
    expect_result("permessage-deflate; client_max_window_bits=7", 0);
    expect_result("permessage-deflate; client_max_window_bits=abc", 0);
    expect_result("permessage-deflate; server_no_context_takeover=1", 0);
    expect_result("permessage-deflate; client_no_context_takeover=\"x\"", 0);
    expect_result("permessage-deflate; unknown", 0);
    expect_result("permessage-deflate; unknown=1", 0);
    /* An answer that does not fit is no answer. */
    CU_ASSERT_EQUAL(ws_deflate_negotiate("permessage-deflate", &params, answer, 10), 0);
    CU_ASSERT_STRING_EQUAL(answer, "");
}

static void test_negotiate_duplicates(void)
{
    expect_result("permessage-deflate; server_no_context_takeover; server_no_context_takeover", 0);
    expect_result("permessage-deflate; client_no_context_takeover; client_no_context_takeover", 0);
    expect_result("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", 0);
    expect_result("permessage-deflate; client_max_window_bits; client_max_window_bits=10", 0);
    expect_result("permessage-deflate; SERVER_NO_CONTEXT_TAKEOVER; server_no_context_takeover", 0);
}

static void test_negotiate_syntax(void)
{
    expect_result("permessage-deflate;", -1);
    expect_result("permessage-deflate; ", -1);
    expect_result(";", -1);
    expect_result("; server_no_context_takeover", -1);
    expect_result("permessage-deflate x", -1);
    expect_result("permessage-deflate; a=", -1);
    expect_result("permessage-deflate; a==1", -1);
    expect_result("permessage-deflate; =1", -1);
    expect_result("permessage-deflate=1", -1);
    expect_result("permessage-deflate; a=1 2", -1);
    expect_result("permessage-deflate/1", -1);
    expect_result("permessage\x01-deflate", -1);
    expect_result("permessage-deflate\r\n", -1);
    expect_result("\"permessage-deflate\"", -1);
    expect_result("perméssage-deflate", -1);
    /* Checked to the end, even after an acceptable offer. */
    expect_result("permessage-deflate, x-foo;", -1);
    expect_result("permessage-deflate, {}", -1);
}

static void test_negotiate_other(void)
{
    expect_result("x-webkit-deflate-frame", 0);
    expect_result("x-foo; permessage-deflate", 0);
    expect_result("permessage-deflat", 0);
    expect_result("permessage-deflate-x", 0);
    expect_result("", 0);
    expect_result("  , ,\t", 0);
    CU_ASSERT_EQUAL(ws_deflate_negotiate(NULL, &params, answer, sizeof(answer)), 0);
    /* Other extensions' parameters are theirs: no check, no decline. */
    expect_answer("x-foo; server_max_window_bits=8; a; a, permessage-deflate",
                  "permessage-deflate");
}

static void test_negotiate_case(void)
{
    /* Tokens compare case-insensitively; the answer is in our spelling. */
    expect_answer("PerMessage-Deflate; Server_No_Context_Takeover; CLIENT_MAX_WINDOW_BITS=10",
                  "permessage-deflate; server_no_context_takeover");
    expect_params(1, 0, 15, 10);
    expect_answer("PERMESSAGE-DEFLATE; server_MAX_window_BITS=11",
                  "permessage-deflate; server_max_window_bits=11");
    expect_params(0, 0, 11, 15);
}

/* ---- compression ---- */

static struct ws_deflate_params mkparams(int snct, int cnct, int smwb)
{
    struct ws_deflate_params p = {snct, cnct, smwb, 15};
    return p;
}

/* Deterministic bytes: xorshift64. */
static void fill_random(unsigned char *buf, size_t len, uint64_t seed)
{
    uint64_t x = seed | 1;

    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (unsigned char)x;
    }
}

static void fill_text(unsigned char *buf, size_t len, unsigned seed)
{
    static const char *words[] = {"gale ", "websocket ", "deflate ", "message ", "chat ", "\n"};

    for (size_t i = 0; i < len;) {
        const char *w = words[(i / 7 + seed) % 6];
        for (size_t k = 0; w[k] && i < len; k++)
            buf[i++] = (unsigned char)w[k];
    }
}

static void expect_bytes(struct evbuffer *b, const void *want, size_t len)
{
    CU_ASSERT_EQUAL_FATAL(evbuffer_get_length(b), len);
    CU_ASSERT(len == 0 || memcmp(evbuffer_pullup(b, -1), want, len) == 0);
}

/* Compress with tx, decompress with rx, compare; returns the compressed size. */
static size_t round_trip(struct ws_deflate *tx, struct ws_deflate *rx, const unsigned char *data,
                         size_t len)
{
    struct evbuffer *z = evbuffer_new(), *back = evbuffer_new();
    size_t zlen;

    CU_ASSERT_EQUAL(ws_deflate_compress(tx, data, len, z), 0);
    zlen = evbuffer_get_length(z);
    CU_ASSERT(zlen > 0);
    CU_ASSERT_EQUAL(ws_deflate_decompress(rx, z, back, len), 0);
    CU_ASSERT_EQUAL(evbuffer_get_length(z), 0);
    expect_bytes(back, data, len);
    evbuffer_free(z);
    evbuffer_free(back);
    return zlen;
}

static void round_trips(int no_takeover, int bits)
{
    struct ws_deflate_params p = mkparams(no_takeover, no_takeover, bits);
    struct ws_deflate *tx = ws_deflate_new(&p, 6), *rx = ws_deflate_new(&p, 6);
    size_t big = 1 << 20;
    unsigned char *buf = malloc(big);

    CU_ASSERT_PTR_NOT_NULL_FATAL(tx);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rx);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    /* RFC 7692 7.2.3.6: an empty message is one 0x00 byte. */
    CU_ASSERT_EQUAL(round_trip(tx, rx, (const unsigned char *)"", 0), 1);
    round_trip(tx, rx, (const unsigned char *)"Hello, world", 12);
    fill_random(buf, big, 42);
    CU_ASSERT(round_trip(tx, rx, buf, big) > big); /* random does not shrink */
    fill_text(buf, big, 0);
    CU_ASSERT(round_trip(tx, rx, buf, big) < big / 20);
    CU_ASSERT_EQUAL(round_trip(tx, rx, (const unsigned char *)"", 0), 1);
    round_trip(tx, rx, (const unsigned char *)"x", 1);
    ws_deflate_free(tx);
    ws_deflate_free(rx);
    free(buf);
}

static void test_round_trip_takeover(void)
{
    round_trips(0, 15);
}

static void test_round_trip_no_takeover(void)
{
    round_trips(1, 15);
}

static void test_round_trip_small_window(void)
{
    round_trips(0, 9);
    round_trips(1, 9);
}

/* Many messages on one pair of contexts: sizes that cross the slices,
 * empty ones between, repeats that context takeover shrinks. */
static void test_sequence(void)
{
    for (int nct = 0; nct < 2; nct++) {
        struct ws_deflate_params p = mkparams(nct, nct, 15);
        struct ws_deflate *tx = ws_deflate_new(&p, 1 + nct * 8), *rx = ws_deflate_new(&p, 6);
        unsigned char buf[70000];
        size_t first = 0, last = 0;

        for (unsigned i = 0; i < 300; i++) {
            size_t len = (i * 7919u) % sizeof(buf);
            if (i % 5 == 0)
                len = 0;
            if (i % 3 == 0)
                fill_random(buf, len, i);
            else
                fill_text(buf, len, i);
            round_trip(tx, rx, buf, len);
        }
        fill_random(buf, 2000, 12345);
        first = round_trip(tx, rx, buf, 2000);
        last = round_trip(tx, rx, buf, 2000);
        /* The same message again is nearly free only with the context kept. */
        CU_ASSERT(nct ? last == first : last < first / 4);
        ws_deflate_free(tx);
        ws_deflate_free(rx);
    }
}

static void compress_expect(struct ws_deflate *d, const char *msg, const void *want, size_t len)
{
    struct evbuffer *z = evbuffer_new();

    CU_ASSERT_EQUAL(ws_deflate_compress(d, msg, strlen(msg), z), 0);
    expect_bytes(z, want, len);
    evbuffer_free(z);
}

static void decompress_expect(struct ws_deflate *d, const void *in, size_t len, const char *want)
{
    struct evbuffer *z = evbuffer_new(), *out = evbuffer_new();

    evbuffer_add(z, in, len);
    CU_ASSERT_EQUAL(ws_deflate_decompress(d, z, out, 1000), 0);
    expect_bytes(out, want, strlen(want));
    evbuffer_free(z);
    evbuffer_free(out);
}

static void test_rfc_examples(void)
{
    static const unsigned char hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const unsigned char hello2[] = {0xf2, 0x00, 0x11, 0x00, 0x00};
    static const unsigned char stored[] = {0x00, 0x05, 0x00, 0xfa, 0xff, 0x48,
                                           0x65, 0x6c, 0x6c, 0x6f, 0x00};
    static const unsigned char bfinal[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00};
    static const unsigned char two[] = {0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff,
                                        0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00};
    struct ws_deflate_params keep = mkparams(0, 0, 15), reset = mkparams(1, 1, 15);
    struct ws_deflate *k = ws_deflate_new(&keep, 6), *r = ws_deflate_new(&reset, 6);

    /* 7.2.3.1 and 7.2.3.2: "Hello" twice, the second a back-reference. */
    compress_expect(k, "Hello", hello, sizeof(hello));
    compress_expect(k, "Hello", hello2, sizeof(hello2));
    compress_expect(r, "Hello", hello, sizeof(hello));
    compress_expect(r, "Hello", hello, sizeof(hello));
    ws_deflate_free(k);
    ws_deflate_free(r);

    k = ws_deflate_new(&keep, 6);
    r = ws_deflate_new(&reset, 6);
    decompress_expect(k, hello, sizeof(hello), "Hello");
    decompress_expect(k, hello2, sizeof(hello2), "Hello");
    decompress_expect(r, hello, sizeof(hello), "Hello");
    /* 7.2.3.3 no compression, 7.2.3.4 BFINAL set, 7.2.3.5 two blocks,
     * 7.2.3.6 empty: each also resets nothing it should not. */
    decompress_expect(r, stored, sizeof(stored), "Hello");
    decompress_expect(r, bfinal, sizeof(bfinal), "Hello");
    decompress_expect(r, two, sizeof(two), "Hello");
    decompress_expect(r, "", 1, "");
    /* No payload at all (not what RFC 7692 senders do): an empty message,
     * and the context is left as it was. */
    decompress_expect(k, "", 0, "");
    /* After a final block the client starts a new stream, even with
     * context takeover. */
    decompress_expect(k, bfinal, sizeof(bfinal), "Hello");
    decompress_expect(k, hello, sizeof(hello), "Hello");
    decompress_expect(k, "", 0, "");
    decompress_expect(k, hello2, sizeof(hello2), "Hello");
    ws_deflate_free(k);
    ws_deflate_free(r);
}

/* Input spread over many evbuffer chains decompresses the same. */
static void test_chains(void)
{
    struct ws_deflate_params p = mkparams(0, 0, 15);
    struct ws_deflate *tx = ws_deflate_new(&p, 6), *rx = ws_deflate_new(&p, 6);
    struct evbuffer *z = evbuffer_new(), *split = evbuffer_new(), *out = evbuffer_new();
    unsigned char buf[50000], *flat;
    size_t zlen;

    fill_text(buf, sizeof(buf), 3);
    fill_random(buf + 20000, 5000, 9);
    CU_ASSERT_EQUAL(ws_deflate_compress(tx, buf, sizeof(buf), z), 0);
    zlen = evbuffer_get_length(z);
    flat = evbuffer_pullup(z, -1);
    for (size_t i = 0; i < zlen; i++)
        evbuffer_add_reference(split, flat + i, 1, NULL, NULL);
    CU_ASSERT(evbuffer_peek(split, -1, NULL, NULL, 0) == (int)zlen);
    CU_ASSERT_EQUAL(ws_deflate_decompress(rx, split, out, sizeof(buf)), 0);
    CU_ASSERT_EQUAL(evbuffer_get_length(split), 0);
    expect_bytes(out, buf, sizeof(buf));
    ws_deflate_free(tx);
    ws_deflate_free(rx);
    evbuffer_free(z);
    evbuffer_free(split);
    evbuffer_free(out);
}

/* Decompress `z` (kept) with a fresh context and this limit. */
static int bomb_try(struct evbuffer *z, size_t max, size_t *out_len)
{
    struct ws_deflate_params p = mkparams(0, 0, 15);
    struct ws_deflate *rx = ws_deflate_new(&p, 6);
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    int r;

    evbuffer_add(in, evbuffer_pullup(z, -1), evbuffer_get_length(z));
    r = ws_deflate_decompress(rx, in, out, max);
    CU_ASSERT_EQUAL(evbuffer_get_length(in), 0);
    *out_len = evbuffer_get_length(out);
    ws_deflate_free(rx);
    evbuffer_free(in);
    evbuffer_free(out);
    return r;
}

static void test_bomb(void)
{
    struct ws_deflate_params p = mkparams(0, 0, 15);
    struct ws_deflate *tx = ws_deflate_new(&p, 9);
    struct evbuffer *z = evbuffer_new();
    size_t big = 4 << 20, got;
    unsigned char *zeros = calloc(1, big);

    CU_ASSERT_EQUAL(ws_deflate_compress(tx, zeros, big, z), 0);
    CU_ASSERT(evbuffer_get_length(z) < 8192); /* 4 MiB of zeros: about 4 KiB */
    CU_ASSERT_EQUAL(bomb_try(z, 1000, &got), -2);
    CU_ASSERT(got <= 1000);
    CU_ASSERT_EQUAL(bomb_try(z, 0, &got), -2);
    CU_ASSERT_EQUAL(bomb_try(z, big - 1, &got), -2);
    CU_ASSERT_EQUAL(bomb_try(z, big, &got), 0);
    CU_ASSERT_EQUAL(got, big);
    CU_ASSERT_EQUAL(bomb_try(z, SIZE_MAX, &got), 0);
    CU_ASSERT_EQUAL(got, big);
    ws_deflate_free(tx);
    evbuffer_free(z);
    free(zeros);
}

static int corrupt(struct ws_deflate *rx, const void *data, size_t len)
{
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    int r;

    evbuffer_add(in, data, len);
    r = ws_deflate_decompress(rx, in, out, 1 << 20);
    CU_ASSERT_EQUAL(evbuffer_get_length(in), 0);
    evbuffer_free(in);
    evbuffer_free(out);
    return r;
}

static void test_corrupt(void)
{
    struct ws_deflate_params p = mkparams(0, 0, 15);
    struct ws_deflate *rx = ws_deflate_new(&p, 6);

    CU_ASSERT_EQUAL(corrupt(rx, "\x06", 1), -1);                 /* block type 3 */
    CU_ASSERT_EQUAL(corrupt(rx, "\x00\x05\x00\x00\x00", 5), -1); /* NLEN != ~LEN */
    CU_ASSERT_EQUAL(corrupt(rx, "\xff\xff\xff\xff", 4), -1);
    /* The context is usable again after an error (reset). */
    decompress_expect(rx, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7, "Hello");
    ws_deflate_free(rx);
    /* RFC 7692 7.2.3.2's second "Hello" refers back to the first: on a
     * fresh stream the distance is too far back. */
    rx = ws_deflate_new(&p, 6);
    CU_ASSERT_EQUAL(corrupt(rx, "\xf2\x00\x11\x00\x00", 5), -1);
    ws_deflate_free(rx);
}

/* ws_deflate_inflate: a message fed in pieces of `step` bytes gives what
 * the whole gave; a bomb fails at the piece that crosses the limit, long
 * before the message's end; empty frames and a final block mid-message
 * leave the next message intact. */
static void inflate_pieces(struct ws_deflate *rx, const unsigned char *z, size_t zlen, size_t step,
                           struct evbuffer *out, size_t max, int *rc_at_fin)
{
    size_t total = 0;
    int rc = 0;

    for (size_t i = 0; i < zlen && rc == 0; i += step)
        rc = ws_deflate_inflate(rx, z + i, zlen - i < step ? zlen - i : step, 0, out, max, &total);
    if (rc == 0)
        rc = ws_deflate_inflate(rx, NULL, 0, 1, out, max, &total);
    CU_ASSERT_EQUAL(total, evbuffer_get_length(out));
    *rc_at_fin = rc;
}

static void test_inflate_frames(void)
{
    static const unsigned char hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    static const unsigned char bfinal[] = {0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00};
    static const size_t steps[] = {1, 7, 1000, 100000};
    struct ws_deflate_params p = mkparams(0, 0, 15);
    struct ws_deflate *tx = ws_deflate_new(&p, 6), *rx = ws_deflate_new(&p, 6);
    struct evbuffer *z = evbuffer_new(), *out = evbuffer_new();
    unsigned char buf[50000];
    size_t total = 0;
    int rc;

    fill_text(buf, sizeof(buf), 5);
    fill_random(buf + 30000, 3000, 4);
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) { /* one context throughout */
        CU_ASSERT_EQUAL(ws_deflate_compress(tx, buf, sizeof(buf), z), 0);
        inflate_pieces(rx, evbuffer_pullup(z, -1), evbuffer_get_length(z), steps[k], out,
                       sizeof(buf), &rc);
        CU_ASSERT_EQUAL(rc, 0);
        expect_bytes(out, buf, sizeof(buf));
        evbuffer_drain(z, evbuffer_get_length(z));
        evbuffer_drain(out, evbuffer_get_length(out));
    }
    /* Two empty frames then the end: an empty message, the stream intact. */
    CU_ASSERT_EQUAL(ws_deflate_inflate(rx, "", 0, 0, out, 100, &total), 0);
    CU_ASSERT_EQUAL(ws_deflate_inflate(rx, NULL, 0, 1, out, 100, &total), 0);
    CU_ASSERT_EQUAL(evbuffer_get_length(out), 0);
    CU_ASSERT_EQUAL(ws_deflate_compress(tx, buf, 100, z), 0);
    inflate_pieces(rx, evbuffer_pullup(z, -1), evbuffer_get_length(z), 3, out, 100, &rc);
    CU_ASSERT_EQUAL(rc, 0);
    expect_bytes(out, buf, 100);
    evbuffer_drain(z, evbuffer_get_length(z));
    evbuffer_drain(out, evbuffer_get_length(out));
    ws_deflate_free(rx);

    /* A final block, then bytes that are not deflate: ignored; the next
     * message starts a new stream. */
    rx = ws_deflate_new(&p, 6);
    total = 0;
    CU_ASSERT_EQUAL(ws_deflate_inflate(rx, bfinal, sizeof(bfinal), 0, out, 100, &total), 0);
    CU_ASSERT_EQUAL(ws_deflate_inflate(rx, "\xff\xff", 2, 0, out, 100, &total), 0);
    CU_ASSERT_EQUAL(ws_deflate_inflate(rx, NULL, 0, 1, out, 100, &total), 0);
    expect_bytes(out, "Hello", 5);
    evbuffer_drain(out, evbuffer_get_length(out));
    decompress_expect(rx, hello, sizeof(hello), "Hello");

    /* 4 MiB of zeros against a 1000-byte limit: fails in the first of
     * 64 pieces, then the context is usable again. */
    size_t big = 4 << 20;
    unsigned char *zeros = calloc(1, big);
    ws_deflate_free(tx);
    tx = ws_deflate_new(&p, 6); /* a stream of its own, as rx's is new */
    CU_ASSERT_EQUAL(ws_deflate_compress(tx, zeros, big, z), 0);
    size_t zlen = evbuffer_get_length(z), piece = zlen / 64 + 1;
    total = 0;
    CU_ASSERT_EQUAL(ws_deflate_inflate(rx, evbuffer_pullup(z, -1), piece, 0, out, 1000, &total),
                    -2);
    CU_ASSERT(evbuffer_get_length(out) <= 1000);
    evbuffer_drain(out, evbuffer_get_length(out));
    decompress_expect(rx, hello, sizeof(hello), "Hello");
    free(zeros);
    ws_deflate_free(tx);
    ws_deflate_free(rx);
    evbuffer_free(z);
    evbuffer_free(out);
}

static void test_new(void)
{
    struct ws_deflate_params p = mkparams(0, 0, 15);

    CU_ASSERT_PTR_NULL(ws_deflate_new(&p, 0));
    CU_ASSERT_PTR_NULL(ws_deflate_new(&p, 10));
    CU_ASSERT_PTR_NULL(ws_deflate_new(NULL, 6));
    p.server_max_window_bits = 7;
    CU_ASSERT_PTR_NULL(ws_deflate_new(&p, 6));
    /* 8: made, but it never compresses (zlib has no 256-byte window); it
     * still inflates what the client sends. */
    p.server_max_window_bits = 8;
    struct ws_deflate *d = ws_deflate_new(&p, 6);
    struct evbuffer *z = evbuffer_new(), *out = evbuffer_new();
    CU_ASSERT_PTR_NOT_NULL(d);
    CU_ASSERT_EQUAL(ws_deflate_compress(d, "Hello", 5, z), -1);
    CU_ASSERT_EQUAL(evbuffer_get_length(z), 0);
    evbuffer_add(z, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7); /* RFC 7692 7.2.3.1 */
    CU_ASSERT_EQUAL(ws_deflate_decompress(d, z, out, 100), 0);
    CU_ASSERT_EQUAL(evbuffer_get_length(out), 5);
    ws_deflate_free(d);
    evbuffer_free(z);
    evbuffer_free(out);
    p.server_max_window_bits = 16;
    CU_ASSERT_PTR_NULL(ws_deflate_new(&p, 6));
    ws_deflate_free(NULL);
    CU_ASSERT_EQUAL(ws_deflate_memory(NULL), 0);
}

static void test_memory(void)
{
    struct ws_deflate_params p = mkparams(0, 0, 15), small = mkparams(0, 0, 9);
    struct ws_deflate *d = ws_deflate_new(&p, 6), *s = ws_deflate_new(&small, 6);
    struct evbuffer *z = evbuffer_new(), *out = evbuffer_new();
    size_t after_deflate;

    CU_ASSERT_EQUAL(ws_deflate_memory(d), 0);
    /* An empty message needs no compressor, an empty payload no inflater. */
    CU_ASSERT_EQUAL(ws_deflate_compress(d, "", 0, z), 0);
    CU_ASSERT_EQUAL(ws_deflate_decompress(d, out, out, 100), 0);
    CU_ASSERT_EQUAL(ws_deflate_memory(d), 0);
    evbuffer_drain(z, evbuffer_get_length(z));
    CU_ASSERT_EQUAL(ws_deflate_compress(d, "Hello", 5, z), 0);
    after_deflate = ws_deflate_memory(d);
    /* 15-bit window and memLevel 8: window, prev, head and pending
     * buffers of 64 KiB each. */
    CU_ASSERT(after_deflate > 200000 && after_deflate < 300000);
    CU_ASSERT_EQUAL(ws_deflate_decompress(d, z, out, 100), 0);
    CU_ASSERT(ws_deflate_memory(d) > after_deflate + 32768); /* the inflate window */
    CU_ASSERT_EQUAL(ws_deflate_compress(s, "Hello", 5, z), 0);
    CU_ASSERT(ws_deflate_memory(s) > 0 && ws_deflate_memory(s) < after_deflate);
    ws_deflate_free(d);
    ws_deflate_free(s);
    evbuffer_free(z);
    evbuffer_free(out);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("ws_deflate", NULL, NULL);
    CU_add_test(s, "negotiate: plain offer", test_negotiate_plain);
    CU_add_test(s, "negotiate: parameters", test_negotiate_params);
    CU_add_test(s, "negotiate: quoted values", test_negotiate_quoted);
    CU_add_test(s, "negotiate: several offers", test_negotiate_several);
    CU_add_test(s, "negotiate: declined offers", test_negotiate_declined);
    CU_add_test(s, "negotiate: duplicate parameters", test_negotiate_duplicates);
    CU_add_test(s, "negotiate: syntax errors", test_negotiate_syntax);
    CU_add_test(s, "negotiate: other extensions", test_negotiate_other);
    CU_add_test(s, "negotiate: case-insensitive tokens", test_negotiate_case);
    CU_add_test(s, "round trips, context takeover", test_round_trip_takeover);
    CU_add_test(s, "round trips, no context takeover", test_round_trip_no_takeover);
    CU_add_test(s, "round trips, 9-bit window", test_round_trip_small_window);
    CU_add_test(s, "many messages on one context", test_sequence);
    CU_add_test(s, "RFC 7692 7.2.3 examples", test_rfc_examples);
    CU_add_test(s, "input in many chains", test_chains);
    CU_add_test(s, "compression bomb limit", test_bomb);
    CU_add_test(s, "inflating frame by frame", test_inflate_frames);
    CU_add_test(s, "corrupt input", test_corrupt);
    CU_add_test(s, "ws_deflate_new checks", test_new);
    CU_add_test(s, "memory is lazy and counted", test_memory);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned int failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
