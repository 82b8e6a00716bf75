/*
 * test_ws_message.c - a message framed once for many WebSockets: the plain
 * frame, one compressed frame per window size shared by the sockets without
 * context takeover (and none for the others), and the rest of a frame a
 * socket could not send, copied or held by reference past the module's free.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "ws/ws_deflate.h"
#include "ws/ws_frame.h"
#include "ws/ws_message.h"

static const struct ws_deflate_params shared15 = {1, 1, 15, 15};

static char *text(size_t len)
{
    char *s = malloc(len);
    for (size_t i = 0; i < len; i++)
        s[i] = "abcabcabd"[i % 9];
    return s;
}

static void test_plain(void)
{
    char *data = text(300);
    gale_ws_message *m = gale_ws_message_new(data, 300, 0);
    free(data); /* the message has its own copy */
    struct ws_message_frame f;
    ws_message_plain(m, &f);
    CU_ASSERT_EQUAL(f.hlen, 4);
    CU_ASSERT_EQUAL(f.hdr[0], 0x81); /* FIN, text */
    CU_ASSERT_EQUAL(f.hdr[1], 126);
    CU_ASSERT_EQUAL((f.hdr[2] << 8) | f.hdr[3], 300);
    CU_ASSERT_EQUAL(f.len, 300);
    CU_ASSERT(memcmp(f.data, "abcabcabd", 9) == 0);
    CU_ASSERT_EQUAL(f.rsv1, 0);
    CU_ASSERT_EQUAL(f.binary, 0);
    gale_ws_message_free(m);

    m = gale_ws_message_new(NULL, 0, 1);
    ws_message_plain(m, &f);
    CU_ASSERT_EQUAL(f.hlen, 2);
    CU_ASSERT_EQUAL(f.hdr[0], 0x82); /* FIN, binary */
    CU_ASSERT_EQUAL(f.hdr[1], 0);
    CU_ASSERT_EQUAL(f.binary, 1);
    gale_ws_message_free(m);
    CU_ASSERT_PTR_NULL(gale_ws_message_new(NULL, 5, 0));
    gale_ws_message_free(NULL);
}

/* The compressed payload of f, inflated as a client with p would. */
static void expect_inflates_to(const struct ws_message_frame *f, const struct ws_deflate_params *p,
                               const char *want, size_t len)
{
    struct ws_deflate *d = ws_deflate_new(p, 6);
    struct evbuffer *in = evbuffer_new(), *out = evbuffer_new();
    evbuffer_add(in, f->data, f->len);
    CU_ASSERT_EQUAL(ws_deflate_decompress(d, in, out, 1 << 20), 0);
    CU_ASSERT_EQUAL(evbuffer_get_length(out), len);
    CU_ASSERT(memcmp(evbuffer_pullup(out, -1), want, len) == 0);
    evbuffer_free(in);
    evbuffer_free(out);
    ws_deflate_free(d);
}

static void test_deflated_shared(void)
{
    char *data = text(5000);
    gale_ws_message *m = gale_ws_message_new(data, 5000, 0);
    struct ws_message_frame a, b, c;
    CU_ASSERT_EQUAL(ws_message_deflated(m, &shared15, 6, 64, &a), 0);
    CU_ASSERT_EQUAL(a.rsv1, 1);
    CU_ASSERT_EQUAL(a.hdr[0], 0xC1); /* FIN, RSV1, text */
    CU_ASSERT(a.len < 5000);
    expect_inflates_to(&a, &shared15, data, 5000);
    /* a second socket of the same window gets the very same bytes */
    CU_ASSERT_EQUAL(ws_message_deflated(m, &shared15, 6, 64, &b), 0);
    CU_ASSERT_PTR_EQUAL(a.data, b.data);
    /* another window: its own frame, which a 9-bit client can read */
    struct ws_deflate_params w9 = {1, 1, 9, 15};
    CU_ASSERT_EQUAL(ws_message_deflated(m, &w9, 6, 64, &c), 0);
    CU_ASSERT_PTR_NOT_EQUAL(c.data, a.data);
    expect_inflates_to(&c, &w9, data, 5000);
    gale_ws_message_free(m);
    free(data);
}

static void test_deflated_refused(void)
{
    char *data = text(5000);
    gale_ws_message *m = gale_ws_message_new(data, 5000, 1);
    struct ws_message_frame f;
    struct ws_deflate_params takeover = {0, 0, 15, 15}, w8 = {1, 1, 8, 15};
    CU_ASSERT_EQUAL(ws_message_deflated(m, &takeover, 6, 64, &f), -1);   /* its own context */
    CU_ASSERT_EQUAL(ws_message_deflated(m, &w8, 6, 64, &f), -1);         /* zlib has no 256 */
    CU_ASSERT_EQUAL(ws_message_deflated(m, &shared15, 6, 6000, &f), -1); /* too small */
    gale_ws_message_free(m);
    free(data);
}

static void test_rest_of_a_frame(void)
{
    char *data = text(10000);
    gale_ws_message *m = gale_ws_message_new(data, 10000, 0);
    struct ws_message_frame f;
    ws_message_plain(m, &f);
    /* the kernel took the header and 100 bytes: the rest by reference */
    struct evbuffer *big = evbuffer_new();
    ws_message_add_to(m, &f, f.hlen + 100, big);
    /* it took 2 header bytes of 4: the other two, then all the payload */
    struct evbuffer *all = evbuffer_new();
    ws_message_add_to(m, &f, 2, all);
    gale_ws_message_free(m); /* the module is done; the buffers hold on */
    CU_ASSERT_EQUAL(evbuffer_get_length(big), 9900);
    CU_ASSERT(memcmp(evbuffer_pullup(big, -1), data + 100, 9900) == 0);
    CU_ASSERT_EQUAL(evbuffer_get_length(all), 2 + 10000);
    CU_ASSERT(memcmp(evbuffer_pullup(all, -1) + 2, data, 10000) == 0);
    evbuffer_free(big);
    evbuffer_free(all); /* the last reference: the message goes (ASan checks) */
    /* a small rest, and a frame of the caller's (no message): copied */
    struct evbuffer *small = evbuffer_new();
    unsigned char hdr[2] = {0x81, 3};
    struct ws_message_frame own = {hdr, 2, (const unsigned char *)"abc", 3, 0, 0};
    ws_message_add_to(NULL, &own, 1, small);
    CU_ASSERT_EQUAL(evbuffer_get_length(small), 4);
    CU_ASSERT(memcmp(evbuffer_pullup(small, -1),
                     "\x03"
                     "abc",
                     4) == 0);
    evbuffer_free(small);
    free(data);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("ws_message", NULL, NULL);
    CU_add_test(s, "the plain frame", test_plain);
    CU_add_test(s, "one compressed frame per window, shared", test_deflated_shared);
    CU_add_test(s, "sockets that compress their own", test_deflated_refused);
    CU_add_test(s, "the rest of a frame: by reference or copied", test_rest_of_a_frame);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned int failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
