/*
 * test_compress.c - response compression's pure parts: Accept-Encoding
 * negotiation (RFC 9110 12.5.3: q-values, "*", identity, refusals, case,
 * whitespace, malformed elements), the Content-Type patterns, and the gzip
 * and Brotli encoders on evbuffers: whole bodies, streams flushed piece by
 * piece (each flush decodable at once), bodies in many chains and in file
 * segments (evbuffer_add_file, as static files add them).
 */
#include <CUnit/Basic.h>
#include <brotli/decode.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <event2/buffer.h>

#include "http/compress_codec.h"
#include "http/compress_negotiate.h"

/* ---- Accept-Encoding ---- */

static void expect_coding(const char *header, int brotli, enum compress_coding want)
{
    enum compress_coding got = compress_negotiate_coding(header, brotli);
    CU_ASSERT_EQUAL(got, want);
    if (got != want)
        fprintf(stderr, "\n\"%s\" (brotli %d): got %d, want %d\n", header ? header : "(null)",
                brotli, got, want);
}

static void test_coding_basic(void)
{
    expect_coding(NULL, 1, COMPRESS_IDENTITY);
    expect_coding("", 1, COMPRESS_IDENTITY);
    expect_coding("gzip", 1, COMPRESS_GZIP);
    expect_coding("br", 1, COMPRESS_BR);
    expect_coding("br", 0, COMPRESS_IDENTITY);
    expect_coding("gzip, br", 1, COMPRESS_BR); /* equal q: br */
    expect_coding("gzip, br", 0, COMPRESS_GZIP);
    expect_coding("gzip, deflate, br, zstd", 1, COMPRESS_BR);
    expect_coding("deflate", 1, COMPRESS_IDENTITY);
    expect_coding("x-gzip", 1, COMPRESS_GZIP);
}

static void test_coding_qvalues(void)
{
    expect_coding("br;q=1.0, gzip;q=0.8", 1, COMPRESS_BR);
    expect_coding("br;q=0.8, gzip;q=1.0", 1, COMPRESS_GZIP);
    expect_coding("br;q=0.5, gzip;q=0.5", 1, COMPRESS_BR);
    expect_coding("gzip;q=0.001", 1, COMPRESS_GZIP);
    expect_coding("gzip;q=0", 1, COMPRESS_IDENTITY);
    expect_coding("gzip;q=0.000", 1, COMPRESS_IDENTITY);
    expect_coding("gzip;q=0, br;q=0", 1, COMPRESS_IDENTITY);
    expect_coding("gzip;q=1", 1, COMPRESS_GZIP);
    expect_coding("gzip;q=1.000", 1, COMPRESS_GZIP);
    expect_coding("gzip;Q=0.5", 1, COMPRESS_GZIP);
    expect_coding("gzip;q=0.5;level=1", 1, COMPRESS_GZIP);   /* other parameters ignored */
    expect_coding("gzip;q=0.5, gzip;q=0", 1, COMPRESS_GZIP); /* named twice: the higher */
}

static void test_coding_star_identity(void)
{
    expect_coding("*", 1, COMPRESS_BR);
    expect_coding("*", 0, COMPRESS_GZIP);
    expect_coding("*;q=0", 1, COMPRESS_IDENTITY);
    expect_coding("*;q=0.5, gzip", 1, COMPRESS_GZIP);
    expect_coding("br;q=0, *", 1, COMPRESS_GZIP);
    expect_coding("gzip;q=0, *;q=0.1", 1, COMPRESS_BR);
    expect_coding("identity", 1, COMPRESS_IDENTITY);
    expect_coding("identity;q=0", 1, COMPRESS_IDENTITY);
    expect_coding("identity;q=0, gzip", 1, COMPRESS_GZIP);
    expect_coding("gzip;q=0.5, identity", 1, COMPRESS_IDENTITY);
    expect_coding("identity;q=0.5, gzip", 1, COMPRESS_GZIP);
    expect_coding("gzip, identity", 1, COMPRESS_GZIP); /* equal: the coding */
}

static void test_coding_case_space(void)
{
    expect_coding("GZIP", 1, COMPRESS_GZIP);
    expect_coding("Br", 1, COMPRESS_BR);
    expect_coding("  gzip ;  q=0.5 ,\tbr ; q=0.4 ", 1, COMPRESS_GZIP);
    expect_coding("gzip\t;\tq=0.9,br;q=0.8", 1, COMPRESS_GZIP);
    expect_coding(",,, ,gzip,,", 1, COMPRESS_GZIP);
    expect_coding("IDENTITY;Q=0, X-GZIP", 1, COMPRESS_GZIP);
}

static void test_coding_malformed(void)
{
    /* a malformed element is ignored, the rest counts */
    expect_coding("gzip;q=5", 1, COMPRESS_IDENTITY);
    expect_coding("gzip;q=-1", 1, COMPRESS_IDENTITY);
    expect_coding("gzip;q=abc", 1, COMPRESS_IDENTITY);
    expect_coding("gzip;q=1.001", 1, COMPRESS_IDENTITY);
    expect_coding("gzip;q=0.0001", 1, COMPRESS_IDENTITY);
    expect_coding("gzip;q=", 1, COMPRESS_IDENTITY);
    expect_coding("gzip;q", 1, COMPRESS_IDENTITY);
    expect_coding("gzip;", 1, COMPRESS_IDENTITY);
    expect_coding("gzip;=1", 1, COMPRESS_IDENTITY);
    expect_coding("gzip q=1", 1, COMPRESS_IDENTITY);
    expect_coding("g zip, br", 1, COMPRESS_BR);
    expect_coding("gz\"ip, br;q=0.2", 1, COMPRESS_BR);
    expect_coding("gzip;q=0.5x, br;q=0.1", 1, COMPRESS_BR);
    expect_coding(";q=1", 1, COMPRESS_IDENTITY);
    expect_coding("gzipp, gzi, brr", 1, COMPRESS_IDENTITY);
    expect_coding("\xff\xfe, gzip", 1, COMPRESS_GZIP);
}

static void test_coding_long(void)
{
    /* many codings, linear: the header's size is bounded by max_header_size */
    size_t n = 200000;
    char *h = malloc(n + 16);
    size_t at = 0;
    while (at + 12 < n)
        at += (size_t)sprintf(h + at, "gzip;q=0, ");
    strcpy(h + at, "br;q=0.1");
    expect_coding(h, 1, COMPRESS_BR);
    expect_coding(h, 0, COMPRESS_IDENTITY);
    memset(h, 'q', n);
    h[n] = '\0';
    expect_coding(h, 1, COMPRESS_IDENTITY);
    free(h);
}

/* ---- types ---- */

static void expect_type(const char *type, int want)
{
    int got = compress_negotiate_type(compress_negotiate_default_types,
                                      compress_negotiate_ndefault_types, type);
    CU_ASSERT_EQUAL(got, want);
    if (got != want)
        fprintf(stderr, "\ntype \"%s\": got %d, want %d\n", type ? type : "(null)", got, want);
}

static void test_types_default(void)
{
    expect_type("text/html", 1);
    expect_type("text/html; charset=utf-8", 1);
    expect_type("  text/plain ;charset=utf-8", 1);
    expect_type("TEXT/CSS", 1);
    expect_type("text/event-stream", 1);
    expect_type("application/json", 1);
    expect_type("application/json;charset=utf-8", 1);
    expect_type("application/javascript", 1);
    expect_type("application/xml", 1);
    expect_type("image/svg+xml", 1);
    expect_type("application/ld+json", 1);
    expect_type("application/problem+json", 1);
    expect_type("application/atom+xml", 1);
    expect_type("application/vnd.api+JSON", 1);
    expect_type(NULL, 0);
    expect_type("", 0);
    expect_type("text", 0);
    expect_type("text/", 0);
    expect_type("image/png", 0);
    expect_type("application/octet-stream", 0);
    expect_type("application/jsonx", 0);
    expect_type("application/json5", 0);
    expect_type("+json", 0);
    expect_type("texts/html", 0);
    expect_type("application/x-json+zip", 0);
}

static void test_types_patterns(void)
{
    const char *const pats[] = {"application/x-custom", "font/*", "*+yaml"};
    CU_ASSERT_TRUE(compress_negotiate_type(pats, 3, "application/x-custom"));
    CU_ASSERT_TRUE(compress_negotiate_type(pats, 3, "Application/X-Custom; v=1"));
    CU_ASSERT_TRUE(compress_negotiate_type(pats, 3, "font/woff2"));
    CU_ASSERT_TRUE(compress_negotiate_type(pats, 3, "application/vnd.x+yaml"));
    CU_ASSERT_FALSE(compress_negotiate_type(pats, 3, "font/"));
    CU_ASSERT_FALSE(compress_negotiate_type(pats, 3, "fonts/woff"));
    CU_ASSERT_FALSE(compress_negotiate_type(pats, 3, "application/x-customer"));
    CU_ASSERT_FALSE(compress_negotiate_type(pats, 3, "text/html"));
    CU_ASSERT_FALSE(compress_negotiate_type(pats, 0, "text/html"));
}

/* ---- encoders ---- */

static unsigned char *sample(size_t n)
{
    unsigned char *p = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)("the quick brown fox jumps over the lazy dog\n"[i % 44] ^
                               (i % 997 == 0 ? (i >> 7) & 0x1f : 0));
    return p;
}

/* Decode a whole gzip or Brotli stream; returns its length into out. */
static size_t decode(enum compress_coding coding, const unsigned char *in, size_t len,
                     unsigned char *out, size_t cap)
{
    if (coding == COMPRESS_BR) {
        size_t n = cap;
        CU_ASSERT_EQUAL(BrotliDecoderDecompress(len, in, &n, out), BROTLI_DECODER_RESULT_SUCCESS);
        return n;
    }
    z_stream z = {0};
    CU_ASSERT_EQUAL(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    CU_ASSERT_EQUAL(inflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = z.total_out;
    inflateEnd(&z);
    return n;
}

static void round_trip(enum compress_coding coding, int level, size_t n, int hint)
{
    unsigned char *plain = sample(n), *back = malloc(n + 64);
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    evbuffer_add(in, plain, n);
    struct compress_codec *c = compress_codec_new(coding, level, hint ? n : 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(compress_codec_run(c, in, out, COMPRESS_FINISH), 0);
    CU_ASSERT_EQUAL(evbuffer_get_length(in), 0);
    size_t clen = evbuffer_get_length(out);
    CU_ASSERT(n < 1000 || clen < n / 4);
    size_t got = decode(coding, evbuffer_pullup(out, -1), clen, back, n + 64);
    CU_ASSERT_EQUAL(got, n);
    CU_ASSERT(got == n && memcmp(back, plain, n) == 0);
    compress_codec_free(c);
    evbuffer_free(in);
    evbuffer_free(out);
    free(plain);
    free(back);
}

static void test_round_trips(void)
{
    size_t sizes[] = {0, 1, 100, 5000, 70000, 1 << 20};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
        for (int hint = 0; hint < 2; hint++) {
            round_trip(COMPRESS_GZIP, 1, sizes[i], hint);
            round_trip(COMPRESS_GZIP, 9, sizes[i], hint);
            round_trip(COMPRESS_BR, 0, sizes[i], hint);
            round_trip(COMPRESS_BR, 4, sizes[i], hint);
        }
    }
    round_trip(COMPRESS_BR, 11, 5000, 1);
    compress_codec_free(NULL);
}

/* Each flushed piece decodes at once to exactly what was written so far. */
static void stream(enum compress_coding coding)
{
    unsigned char *plain = sample(50000), got[8192];
    z_stream z = {0};
    BrotliDecoderState *br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    inflateInit2(&z, 16 + MAX_WBITS);
    struct compress_codec *c = compress_codec_new(coding, coding == COMPRESS_BR ? 4 : 6, 0);
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    size_t total = 0;
    for (int piece = 0; piece < 10; piece++) {
        evbuffer_add(in, plain + piece * 5000, 5000);
        CU_ASSERT_EQUAL(
            compress_codec_run(c, in, out, piece == 9 ? COMPRESS_FINISH : COMPRESS_FLUSH), 0);
        size_t len = evbuffer_get_length(out);
        const uint8_t *next = evbuffer_pullup(out, -1);
        size_t piece_out = 0;
        while (len > 0 || (coding == COMPRESS_BR && BrotliDecoderHasMoreOutput(br))) {
            uint8_t *o = got;
            size_t room = sizeof(got);
            if (coding == COMPRESS_GZIP) {
                z.next_in = (Bytef *)next;
                z.avail_in = (uInt)len;
                z.next_out = got;
                z.avail_out = sizeof(got);
                inflate(&z, Z_SYNC_FLUSH);
                next = z.next_in;
                len = z.avail_in;
                room = z.avail_out;
            } else {
                BrotliDecoderDecompressStream(br, &len, &next, &room, &o, NULL);
            }
            size_t n = sizeof(got) - room;
            CU_ASSERT(memcmp(got, plain + piece * 5000 + piece_out, n) == 0);
            piece_out += n;
            if (n == 0 && len == 0)
                break;
        }
        CU_ASSERT_EQUAL(piece_out, 5000); /* decodable now, not at the end */
        total += piece_out;
        evbuffer_drain(out, evbuffer_get_length(out));
    }
    CU_ASSERT_EQUAL(total, 50000);
    if (coding == COMPRESS_BR)
        CU_ASSERT_TRUE(BrotliDecoderIsFinished(br));
    compress_codec_free(c);
    evbuffer_free(in);
    evbuffer_free(out);
    inflateEnd(&z);
    BrotliDecoderDestroyInstance(br);
    free(plain);
}

static void test_stream_gzip(void)
{
    stream(COMPRESS_GZIP);
}

static void test_stream_brotli(void)
{
    stream(COMPRESS_BR);
}

/* A body made of many small chains and of file segments: libevent 2.1 maps
 * or reads a file segment into memory when the buffer does not drain to a
 * socket (EVBUFFER_FLAG_DRAINS_TO_FD), so evbuffer_peek sees its bytes. */
static void test_file_segments(void)
{
    size_t n = 300000;
    unsigned char *plain = sample(n), *back = malloc(n);
    char path[] = "/tmp/test_compress_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(write(fd, plain + 1000, n - 2000), (ssize_t)(n - 2000));
    unlink(path);
    for (int coding = COMPRESS_GZIP; coding <= COMPRESS_BR; coding++) {
        struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
        for (size_t i = 0; i < 1000; i++)
            evbuffer_add(in, plain + i, 1); /* many chains */
        int copy = dup(fd);
        CU_ASSERT_EQUAL(evbuffer_add_file(in, copy, 0, (ev_off_t)(n - 2000)), 0);
        evbuffer_add(in, plain + n - 1000, 1000);
        struct evbuffer_iovec v;
        CU_ASSERT_EQUAL(evbuffer_peek(in, -1, NULL, &v, 1) > 0, 1);
        struct compress_codec *c = compress_codec_new(coding, 5, n);
        CU_ASSERT_EQUAL(compress_codec_run(c, in, out, COMPRESS_FINISH), 0);
        CU_ASSERT_EQUAL(evbuffer_get_length(in), 0);
        size_t got = decode(coding, evbuffer_pullup(out, -1), evbuffer_get_length(out), back, n);
        CU_ASSERT_EQUAL(got, n);
        CU_ASSERT(got == n && memcmp(back, plain, n) == 0);
        compress_codec_free(c);
        evbuffer_free(in);
        evbuffer_free(out);
    }
    close(fd);
    free(plain);
    free(back);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("compress", NULL, NULL);
    CU_add_test(s, "Accept-Encoding: codings", test_coding_basic);
    CU_add_test(s, "Accept-Encoding: q-values", test_coding_qvalues);
    CU_add_test(s, "Accept-Encoding: * and identity", test_coding_star_identity);
    CU_add_test(s, "Accept-Encoding: case and whitespace", test_coding_case_space);
    CU_add_test(s, "Accept-Encoding: malformed elements", test_coding_malformed);
    CU_add_test(s, "Accept-Encoding: long headers", test_coding_long);
    CU_add_test(s, "types: the default list", test_types_default);
    CU_add_test(s, "types: configured patterns", test_types_patterns);
    CU_add_test(s, "encoders: round trips", test_round_trips);
    CU_add_test(s, "encoders: gzip stream flushed per piece", test_stream_gzip);
    CU_add_test(s, "encoders: Brotli stream flushed per piece", test_stream_brotli);
    CU_add_test(s, "encoders: chains and file segments", test_file_segments);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned int failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
