/*
 * test_ws_frame.c - WebSocket pure logic: accept key, the frame parser on
 * RFC 6455 5.7's examples, lengths, every protocol error, 1-byte feeding,
 * the UTF-8 validator, close payloads and codes.
 */
#include <CUnit/Basic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ws/ws_frame.h"

/* A parse run flattened to text, so feeding styles compare with strcmp:
 * H<fin>,<op>,<msgop>,<rsv1>,<len> then the payload then E; X<code> on error. */
struct trace {
    char s[70000];
    size_t n;
};

static void trace_add(struct trace *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    t->n += (size_t)vsnprintf(t->s + t->n, sizeof(t->s) - t->n, fmt, ap);
    va_end(ap);
}

static int trace_event(struct trace *t, enum ws_frame_result r, const struct ws_frame_event *ev)
{
    switch (r) {
    case WS_FRAME_HEADER:
        trace_add(t, "H%llu,%d,%d,%d,%d:", (unsigned long long)ev->length, ev->fin, ev->opcode,
                  ev->msg_opcode, ev->rsv1);
        break;
    case WS_FRAME_DATA:
        CU_ASSERT_FATAL(t->n + ev->data_len < sizeof(t->s));
        memcpy(t->s + t->n, ev->data, ev->data_len);
        t->n += ev->data_len;
        t->s[t->n] = '\0';
        break;
    case WS_FRAME_END:
        trace_add(t, ":E%llu;", (unsigned long long)ev->length);
        break;
    case WS_FRAME_ERROR:
        trace_add(t, "X%d", ev->close_code);
        CU_ASSERT_PTR_NOT_NULL(ev->reason);
        return -1;
    case WS_FRAME_MORE:
        break;
    }
    return 0;
}

/* Feed in[0..len) in chunks of `step` bytes (0: all at once). */
static void run(const unsigned char *in, size_t len, size_t step, uint64_t max, int deflate,
                struct trace *t)
{
    unsigned char buf[70000];
    struct ws_frame_parser p;
    struct ws_frame_event ev;
    size_t off = 0, used;

    memcpy(buf, in, len);
    ws_frame_parser_init(&p, max, deflate);
    t->n = 0;
    t->s[0] = '\0';
    while (off < len) {
        size_t chunk = step && len - off > step ? step : len - off, pos = 0;
        for (;;) {
            enum ws_frame_result r = ws_frame_parse(&p, buf + off + pos, chunk - pos, &used, &ev);
            pos += used;
            if (trace_event(t, r, &ev) < 0)
                return;
            if (r == WS_FRAME_MORE)
                break;
        }
        CU_ASSERT_EQUAL(pos, chunk);
        off += chunk;
    }
}

/* Parse whole and byte by byte; both must give `want`. */
static void expect(const void *in, size_t len, uint64_t max, int deflate, const char *want)
{
    struct trace whole, bytes;

    run(in, len, 0, max, deflate, &whole);
    run(in, len, 1, max, deflate, &bytes);
    CU_ASSERT_STRING_EQUAL(whole.s, want);
    CU_ASSERT_STRING_EQUAL(bytes.s, want);
    if (strcmp(whole.s, want) || strcmp(bytes.s, want))
        fprintf(stderr, "\nwant %s\nwhole %s\nbytes %s\n", want, whole.s, bytes.s);
}

#define EXPECT(in, want) expect(in, sizeof(in) - 1, 1 << 20, 0, want)

static void test_accept_key(void)
{
    char out[29];

    CU_ASSERT_EQUAL(ws_frame_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 24, out), 0);
    CU_ASSERT_STRING_EQUAL(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CU_ASSERT_EQUAL(ws_frame_accept_key("dGhlIHNhbXBsZSBub25jZQ==", 23, out), -1);
    CU_ASSERT_EQUAL(ws_frame_accept_key("dGhlIHNhbXBsZSBub25jZQ=", 23, out), -1);
    CU_ASSERT_EQUAL(ws_frame_accept_key("dGhlIHNhbXBsZSBub25jZR==", 24, out), -1); /* pad bits */
    CU_ASSERT_EQUAL(ws_frame_accept_key("dGhlIHNhbXBsZSBub25j*Q==", 24, out), -1);
    CU_ASSERT_EQUAL(ws_frame_accept_key("dGhlIHNhbXBsZSBub25jZQ=A", 24, out), -1);
    CU_ASSERT_EQUAL(ws_frame_accept_key("dGhlIHNhbXBsZSBub25jZQ==x", 25, out), -1);
    CU_ASSERT_EQUAL(ws_frame_accept_key(NULL, 24, out), -1);
    CU_ASSERT_EQUAL(ws_frame_accept_key("AAAAAAAAAAAAAAAAAAAAAA==", 24, out), 0);
}

static void test_rfc_examples(void)
{
    /* RFC 6455 5.7: a masked "Hello", fragmented "Hel" "lo", masked ping. */
    EXPECT("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", "H5,1,1,1,0:Hello:E5;");
    EXPECT("\x01\x83\x00\x00\x00\x00Hel"
           "\x80\x82\x00\x00\x00\x00lo",
           "H3,0,1,1,0:Hel:E3;H2,1,0,1,0:lo:E2;");
    EXPECT("\x89\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", "H5,1,9,9,0:Hello:E5;");
    /* Control frames between fragments, empty payloads. */
    EXPECT("\x02\x81\x01\x02\x03\x04\x61"
           "\x8a\x80\x01\x02\x03\x04"
           "\x00\x80\x01\x02\x03\x04"
           "\x80\x81\x00\x00\x00\x00z",
           "H1,0,2,2,0:`:E1;H0,1,10,10,0::E0;H0,0,0,2,0::E0;H1,1,0,2,0:z:E1;");
}

static void test_lengths(void)
{
    static unsigned char in[14 + 65536];
    static char want[65536 + 64];
    struct trace t;

    /* 16-bit: 126 and 65535; 64-bit: 65536. Zero mask keeps bytes as is. */
    size_t sizes[] = {126, 200, 65535, 65536};
    for (size_t k = 0; k < 4; k++) {
        size_t n = sizes[k], h;
        in[0] = 0x82;
        if (n <= 0xffff) {
            in[1] = 0x80 | 126;
            in[2] = (unsigned char)(n >> 8);
            in[3] = (unsigned char)n;
            h = 4;
        } else {
            in[1] = 0x80 | 127;
            memset(in + 2, 0, 8);
            in[7] = 1;
            h = 10;
        }
        memset(in + h, 0, 4);
        memset(in + h + 4, 'a', n);
        int w = snprintf(want, sizeof(want), "H%zu,1,2,2,0:", n);
        memset(want + w, 'a', n);
        snprintf(want + w + n, sizeof(want) - w - n, ":E%zu;", n);
        run(in, h + 4 + n, 0, 1 << 20, 0, &t);
        CU_ASSERT_STRING_EQUAL(t.s, want);
        run(in, h + 4 + n, 7, 1 << 20, 0, &t);
        CU_ASSERT_STRING_EQUAL(t.s, want);
    }
}

static void test_encoder(void)
{
    unsigned char out[10];
    struct trace t;

    CU_ASSERT_EQUAL(ws_frame_header(out, 1, WS_FRAME_TEXT, 5, 0), 2);
    CU_ASSERT(out[0] == 0x81 && out[1] == 5);
    CU_ASSERT_EQUAL(ws_frame_header(out, 0, WS_FRAME_BINARY, 125, 1), 2);
    CU_ASSERT(out[0] == 0x42 && out[1] == 125);
    CU_ASSERT_EQUAL(ws_frame_header(out, 1, WS_FRAME_BINARY, 126, 0), 4);
    CU_ASSERT(out[1] == 126 && out[2] == 0 && out[3] == 126);
    CU_ASSERT_EQUAL(ws_frame_header(out, 1, WS_FRAME_BINARY, 65535, 0), 4);
    CU_ASSERT(out[2] == 0xff && out[3] == 0xff);
    CU_ASSERT_EQUAL(ws_frame_header(out, 1, WS_FRAME_BINARY, 65536, 0), 10);
    CU_ASSERT_EQUAL(memcmp(out + 1, "\x7f\0\0\0\0\0\x01\0\0", 9), 0);
    CU_ASSERT_EQUAL(ws_frame_header(out, 1, WS_FRAME_PING, 0x0102030405060708ull, 0), 10);
    CU_ASSERT_EQUAL(memcmp(out, "\x89\x7f\x01\x02\x03\x04\x05\x06\x07\x08", 10), 0);

    /* What we encode, with a mask bit added, the parser takes back. */
    unsigned char in[4 + 4 + 300];
    size_t h = ws_frame_header(in, 1, WS_FRAME_BINARY, 300, 0);
    in[1] |= 0x80;
    memset(in + h, 0, 4 + 300);
    run(in, h + 4 + 300, 0, 1000, 0, &t);
    CU_ASSERT_EQUAL(strncmp(t.s, "H300,1,2,2,0:", 13), 0);
}

static void test_errors(void)
{
    EXPECT("\x91\x80\0\0\0\0", "X1002");         /* RSV3 */
    EXPECT("\xa1\x80\0\0\0\0", "X1002");         /* RSV2 */
    EXPECT("\xc1\x80\0\0\0\0", "X1002");         /* RSV1 without deflate */
    EXPECT("\x83\x80\0\0\0\0", "X1002");         /* opcode 3 */
    EXPECT("\x87\x80\0\0\0\0", "X1002");         /* opcode 7 */
    EXPECT("\x8b\x80\0\0\0\0", "X1002");         /* opcode 0xb */
    EXPECT("\x8f\x80\0\0\0\0", "X1002");         /* opcode 0xf */
    EXPECT("\x81\x05Hello", "X1002");            /* unmasked */
    EXPECT("\x09\x80\0\0\0\0", "X1002");         /* fragmented ping */
    EXPECT("\x88\xfe\x00\x7e\0\0\0\0", "X1002"); /* close of 126 */
    EXPECT("\x8a\xff\0\0\0\0\0\0\0\x01\0\0\0\0", "X1002");
    EXPECT("\x80\x80\0\0\0\0", "X1002"); /* lone continuation */
    EXPECT("\x00\x80\0\0\0\0", "X1002");
    EXPECT("\x01\x80\0\0\0\0\x81\x80\0\0\0\0", "H0,0,1,1,0::E0;X1002");
    EXPECT("\x01\x80\0\0\0\0\x02\x80\0\0\0\0", "H0,0,1,1,0::E0;X1002");
    EXPECT("\x81\x80\0\0\0\0\x80\x80\0\0\0\0", "H0,1,1,1,0::E0;X1002");
    EXPECT("\x82\xfe\x00\x7d\0\0\0\0", "X1002");             /* 125 in 16 bits */
    EXPECT("\x82\xff\0\0\0\0\0\0\xff\xff\0\0\0\0", "X1002"); /* 65535 in 64 */
    EXPECT("\x82\xff\x80\0\0\0\0\0\0\0\0\0\0\0", "X1002");   /* top bit */
    expect("\x82\xfe\x01\x00\0\0\0\0", 8, 255, 0, "X1009");
    expect("\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff\0\0\0\0", 14, 1 << 20, 0, "X1009");
    expect("\x82\x81\0\0\0\0x", 7, 0, 0, "X1009");
    /* After an error the parser keeps answering it. */
    struct ws_frame_parser p;
    struct ws_frame_event ev;
    unsigned char bad[] = "\x83\x80\0\0\0\0";
    size_t used;
    ws_frame_parser_init(&p, 100, 0);
    CU_ASSERT_EQUAL(ws_frame_parse(&p, bad, 6, &used, &ev), WS_FRAME_ERROR);
    CU_ASSERT_EQUAL(used, 1 + 1);
    CU_ASSERT_EQUAL(ws_frame_parse(&p, bad, 6, &used, &ev), WS_FRAME_ERROR);
    CU_ASSERT_EQUAL(used, 0);
    CU_ASSERT_EQUAL(ev.close_code, 1002);
}

static void test_rsv1_deflate(void)
{
    expect("\xc1\x81\0\0\0\0x", 7, 100, 1, "H1,1,1,1,1:x:E1;");
    expect("\x41\x81\0\0\0\0x\x80\x81\0\0\0\0y", 14, 100, 1, "H1,0,1,1,1:x:E1;H1,1,0,1,0:y:E1;");
    expect("\x41\x80\0\0\0\0\xc0\x80\0\0\0\0", 12, 100, 1, "H0,0,1,1,1::E0;X1002");
    expect("\xc9\x80\0\0\0\0", 6, 100, 1, "X1002"); /* not on control frames */
}

static void test_partial_calls(void)
{
    struct ws_frame_parser p;
    struct ws_frame_event ev;
    unsigned char in[] = "\x82\x82\x01\x02\x03\x04\x01\x02";
    size_t used;

    ws_frame_parser_init(&p, 100, 0);
    CU_ASSERT_EQUAL(ws_frame_parse(&p, in, 0, &used, &ev), WS_FRAME_MORE);
    CU_ASSERT_EQUAL(ws_frame_parse(&p, in, 5, &used, &ev), WS_FRAME_MORE);
    CU_ASSERT_EQUAL(used, 5);
    CU_ASSERT_EQUAL(ws_frame_parse(&p, in + 5, 3, &used, &ev), WS_FRAME_HEADER);
    CU_ASSERT_EQUAL(used, 1);
    CU_ASSERT_EQUAL(ws_frame_parse(&p, in + 6, 2, &used, &ev), WS_FRAME_DATA);
    CU_ASSERT(ev.data == in + 6 && ev.data_len == 2 && in[6] == 0 && in[7] == 0);
    CU_ASSERT_EQUAL(ws_frame_parse(&p, in + 8, 0, &used, &ev), WS_FRAME_END);
    CU_ASSERT_EQUAL(ws_frame_parse(&p, in + 8, 0, &used, &ev), WS_FRAME_MORE);
}

static int utf8_ok(const char *s, size_t len, size_t split)
{
    struct ws_utf8 u;

    ws_frame_utf8_init(&u);
    if (ws_frame_utf8_feed(&u, (const unsigned char *)s, split) < 0)
        return 0;
    if (ws_frame_utf8_feed(&u, (const unsigned char *)s + split, len - split) < 0)
        return 0;
    return ws_frame_utf8_finish(&u) == 0;
}

static int utf8_all_splits(const char *s, size_t len)
{
    int r = utf8_ok(s, len, 0);
    for (size_t i = 1; i <= len; i++)
        CU_ASSERT_EQUAL(utf8_ok(s, len, i), r);
    return r;
}

#define U8(s) utf8_all_splits(s, sizeof(s) - 1)

/* Unmasking a word at a time: a masked frame of every length to 40, fed
 * in chunks of every size to 11 (so slices start at every key phase and
 * byte offset), gives the payload back. */
static void test_unmask_phases(void)
{
    static const unsigned char key[4] = {0x9a, 0x01, 0x7f, 0xe3};
    unsigned char frame[50], want[41];
    char expected[120];
    struct trace t;

    for (size_t n = 0; n <= 40; n++) {
        frame[0] = 0x82;
        frame[1] = (unsigned char)(0x80 | n);
        memcpy(frame + 2, key, 4);
        for (size_t i = 0; i < n; i++) {
            want[i] = (unsigned char)('A' + (i * 7) % 26);
            frame[6 + i] = want[i] ^ key[i & 3];
        }
        want[n] = '\0';
        snprintf(expected, sizeof(expected), "H%zu,1,2,2,0:%s:E%zu;", n, (const char *)want, n);
        for (size_t step = 0; step <= 11; step++) {
            run(frame, 6 + n, step, 1 << 20, 0, &t);
            CU_ASSERT_STRING_EQUAL(t.s, expected);
        }
    }
}

/* The validator's word-at-a-time ASCII path: a code point, a bad byte or
 * a cut sequence at every offset of a long ASCII run, split anywhere. */
static void test_utf8_ascii_runs(void)
{
    static const char *const inserts[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                          "\x80",     "\xed\xa0\x80", "\xc0\xaf",
                                          "\xe2\x82"};
    char buf[64];

    for (size_t k = 0; k < sizeof(inserts) / sizeof(inserts[0]); k++) {
        size_t ilen = strlen(inserts[k]);
        int valid = k < 3;
        for (size_t at = 0; at + ilen <= 40; at++) {
            memset(buf, 'a', 40);
            memcpy(buf + at, inserts[k], ilen);
            CU_ASSERT_EQUAL(utf8_all_splits(buf, 40), valid);
        }
    }
}

static void test_utf8(void)
{
    CU_ASSERT(U8(""));
    CU_ASSERT(U8("hello"));
    CU_ASSERT(U8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5")); /* Autobahn 6.2 */
    CU_ASSERT(U8("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"));
    CU_ASSERT(U8("\xed\x9f\xbf\xee\x80\x80")); /* around the surrogates */
    CU_ASSERT(!U8("\xc0\xaf"));                /* overlong '/' */
    CU_ASSERT(!U8("\xc1\xbf"));
    CU_ASSERT(!U8("\xe0\x80\xaf"));
    CU_ASSERT(!U8("\xe0\x9f\xbf"));
    CU_ASSERT(!U8("\xf0\x80\x80\xaf"));
    CU_ASSERT(!U8("\xf0\x8f\xbf\xbf"));
    CU_ASSERT(!U8("\xed\xa0\x80"));     /* U+D800 */
    CU_ASSERT(!U8("\xed\xbf\xbf"));     /* U+DFFF */
    CU_ASSERT(!U8("\xf4\x90\x80\x80")); /* U+110000 */
    CU_ASSERT(!U8("\xf5\x80\x80\x80"));
    CU_ASSERT(!U8("\xff"));
    CU_ASSERT(!U8("\x80"));
    CU_ASSERT(!U8("a\xbf"));
    CU_ASSERT(!U8("\xc2")); /* truncated */
    CU_ASSERT(!U8("\xe1\x80"));
    CU_ASSERT(!U8("\xf0\x90\x80"));
    CU_ASSERT(!U8("\xe1\x80"
                  "a"));
    CU_ASSERT(
        !U8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64"));

    /* A failure sticks, even if valid bytes follow. */
    struct ws_utf8 u;
    ws_frame_utf8_init(&u);
    CU_ASSERT_EQUAL(ws_frame_utf8_feed(&u, (const unsigned char *)"\xff", 1), -1);
    CU_ASSERT_EQUAL(ws_frame_utf8_feed(&u, (const unsigned char *)"a", 1), -1);
    CU_ASSERT_EQUAL(ws_frame_utf8_finish(&u), -1);
}

static void test_close_payload(void)
{
    unsigned char out[125];
    char reason[200];
    size_t n;

    CU_ASSERT_EQUAL(ws_frame_close_payload(out, &n, 1000, "bye", 3), 0);
    CU_ASSERT(n == 5 && memcmp(out,
                               "\x03\xe8"
                               "bye",
                               5) == 0);
    CU_ASSERT_EQUAL(ws_frame_close_payload(out, &n, 0, "ignored", 7), 0);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(ws_frame_close_payload(out, &n, 4999, NULL, 0), 0);
    CU_ASSERT(n == 2 && out[0] == 0x13 && out[1] == 0x87);
    CU_ASSERT_EQUAL(ws_frame_close_payload(out, &n, 1005, "", 0), -1);
    CU_ASSERT_EQUAL(ws_frame_close_payload(out, &n, 1006, "", 0), -1);

    memset(reason, 'a', sizeof(reason));
    CU_ASSERT_EQUAL(ws_frame_close_payload(out, &n, 1011, reason, 200), 0);
    CU_ASSERT_EQUAL(n, 125);
    CU_ASSERT_EQUAL(ws_frame_close_payload(out, &n, 1011, reason, 123), 0);
    CU_ASSERT_EQUAL(n, 125);
    /* A 2-byte character straddling byte 123 is dropped whole: 122 'a' then
     * U+00E9 at 122..123 leaves 122; at 121..122 it fits in 123. */
    memcpy(reason + 122, "\xc3\xa9", 2);
    CU_ASSERT_EQUAL(ws_frame_close_payload(out, &n, 1000, reason, 124), 0);
    CU_ASSERT_EQUAL(n, 2 + 122);
    memset(reason, 'a', sizeof(reason));
    memcpy(reason + 121, "\xc3\xa9", 2);
    CU_ASSERT_EQUAL(ws_frame_close_payload(out, &n, 1000, reason, 130), 0);
    CU_ASSERT_EQUAL(n, 2 + 123);
    /* A 4-byte character at 120..123 goes too. */
    memset(reason, 'a', sizeof(reason));
    memcpy(reason + 120, "\xf0\x9f\x98\x80", 4);
    CU_ASSERT_EQUAL(ws_frame_close_payload(out, &n, 1000, reason, 130), 0);
    CU_ASSERT_EQUAL(n, 2 + 120);
    int code;
    const char *r;
    size_t rl;
    CU_ASSERT_EQUAL(ws_frame_close_parse(out, n, &code, &r, &rl), 0);
    CU_ASSERT(code == 1000 && rl == 120 && r == (const char *)out + 2);
}

static void test_close_codes(void)
{
    int ok[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1014, 3000, 4000, 4999};
    int bad[] = {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        CU_ASSERT(ws_frame_close_code_ok(ok[i]));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT(!ws_frame_close_code_ok(bad[i]));

    int code;
    const char *r;
    size_t rl;
    CU_ASSERT_EQUAL(ws_frame_close_parse((const unsigned char *)"", 0, &code, &r, &rl), 0);
    CU_ASSERT(code == 1005 && rl == 0);
    CU_ASSERT_EQUAL(ws_frame_close_parse((const unsigned char *)"\x03", 1, &code, &r, &rl), -1);
    CU_ASSERT_EQUAL(code, 1002);
    CU_ASSERT_EQUAL(ws_frame_close_parse((const unsigned char *)"\x03\xe8", 2, &code, &r, &rl), 0);
    CU_ASSERT(code == 1000 && rl == 0);
    CU_ASSERT_EQUAL(ws_frame_close_parse((const unsigned char *)"\x0f\xa0ok", 4, &code, &r, &rl),
                    0);
    CU_ASSERT(code == 4000 && rl == 2 && memcmp(r, "ok", 2) == 0);
    CU_ASSERT_EQUAL(ws_frame_close_parse((const unsigned char *)"\x03\xed", 2, &code, &r, &rl), -1);
    CU_ASSERT_EQUAL(code, 1002); /* 1005 may not be sent */
    CU_ASSERT_EQUAL(ws_frame_close_parse((const unsigned char *)"\x03\xe7", 2, &code, &r, &rl), -1);
    CU_ASSERT_EQUAL(code, 1002);
    CU_ASSERT_EQUAL(
        ws_frame_close_parse((const unsigned char *)"\x03\xe8\xed\xa0\x80", 5, &code, &r, &rl), -1);
    CU_ASSERT_EQUAL(code, 1007);
    CU_ASSERT_EQUAL(ws_frame_close_parse((const unsigned char *)"\x03\xe8\xc3", 3, &code, &r, &rl),
                    -1);
    CU_ASSERT_EQUAL(code, 1007);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("ws_frame", NULL, NULL);
    CU_add_test(s, "accept key", test_accept_key);
    CU_add_test(s, "RFC 6455 5.7 examples", test_rfc_examples);
    CU_add_test(s, "16 and 64-bit lengths", test_lengths);
    CU_add_test(s, "encoder", test_encoder);
    CU_add_test(s, "protocol errors", test_errors);
    CU_add_test(s, "RSV1 with permessage-deflate", test_rsv1_deflate);
    CU_add_test(s, "partial calls", test_partial_calls);
    CU_add_test(s, "UTF-8 validator", test_utf8);
    CU_add_test(s, "UTF-8 validator, ASCII runs", test_utf8_ascii_runs);
    CU_add_test(s, "unmasking at every phase", test_unmask_phases);
    CU_add_test(s, "close payload builder", test_close_payload);
    CU_add_test(s, "close codes and parse", test_close_codes);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned int failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
