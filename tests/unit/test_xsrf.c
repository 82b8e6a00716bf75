/*
 * test_xsrf.c - src/xsrf.c: Tornado's XSRF tokens, against vectors made by
 * Tornado 6.2's RequestHandler.xsrf_token and _decode_xsrf_token (with
 * os.urandom and time.time patched to known values).
 */
#include <CUnit/Basic.h>
#include <limits.h>
#include <string.h>

#include "http/xsrf.h"

#define T0 1700000000

/* raw 10 11 .. 1f, mask de ad be ef: Tornado's new "_xsrf" cookie */
static const unsigned char RAW_A[16] = {0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                        0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
static const unsigned char MASK_A[4] = {0xde, 0xad, 0xbe, 0xef};
#define TOKEN_A "2|deadbeef|cebcacfccab8a8f8c6b4a4f4c2b0a0f0|1700000000"

/* the cookie COOKIE_B, which Tornado decodes to RAW_B and re-masks with
 * 01 02 03 04 as TOKEN_B */
#define COOKIE_B "2|deadbeef|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0|1700000000"
static const unsigned char RAW_B[16] = {0x10, 0x10, 0x20, 0x23, 0x17, 0x1c, 0x1a, 0x27,
                                        0x1a, 0x18, 0x1c, 0x23, 0x13, 0x1c, 0x18, 0x2f};
static const unsigned char MASK_B[4] = {1, 2, 3, 4};
#define TOKEN_B "2|01020304|11122327161e19231b1a1f27121e1b2b|1700000000"

/* a version 1 cookie, unmasked hex, re-masked by Tornado with a0 b1 c2 d3 */
#define COOKIE_V1 "000102030405060708090a0b0c0d0e0f"
static const unsigned char MASK_V1[4] = {0xa0, 0xb1, 0xc2, 0xd3};
#define TOKEN_V1_PREFIX "2|a0b1c2d3|a0b0c0d0a4b4c4d4a8b8c8d8acbcccdc|"

static int decode(struct xsrf_token *t, const char *s)
{
    return xsrf_token_decode(t, s, strlen(s));
}

static int check(const char *a, const char *b)
{
    return xsrf_token_check(a, strlen(a), b, strlen(b));
}

static void test_tornado_vectors(void)
{
    struct xsrf_token t;
    char s[XSRF_TOKEN_SIZE];
    unsigned char v1raw[16];
    int i;

    CU_ASSERT_EQUAL(xsrf_token_format(s, sizeof(s), RAW_A, T0, MASK_A), 0);
    CU_ASSERT_STRING_EQUAL(s, TOKEN_A);
    CU_ASSERT_EQUAL(decode(&t, TOKEN_A), 0);
    CU_ASSERT_EQUAL(t.version, 2);
    CU_ASSERT_EQUAL(t.timestamp, T0);
    CU_ASSERT_EQUAL(memcmp(t.raw, RAW_A, 16), 0);

    CU_ASSERT_EQUAL(decode(&t, COOKIE_B), 0);
    CU_ASSERT_EQUAL(memcmp(t.raw, RAW_B, 16), 0);
    CU_ASSERT_EQUAL(xsrf_token_format(s, sizeof(s), t.raw, t.timestamp, MASK_B), 0);
    CU_ASSERT_STRING_EQUAL(s, TOKEN_B);

    CU_ASSERT_EQUAL(decode(&t, COOKIE_V1), 0);
    CU_ASSERT_EQUAL(t.version, 1);
    CU_ASSERT_EQUAL(t.timestamp, -1);
    for (i = 0; i < 16; i++)
        v1raw[i] = (unsigned char)i;
    CU_ASSERT_EQUAL(memcmp(t.raw, v1raw, 16), 0);
    CU_ASSERT_EQUAL(xsrf_token_format(s, sizeof(s), t.raw, T0, MASK_V1), 0);
    CU_ASSERT_STRING_EQUAL(s, TOKEN_V1_PREFIX "1700000000");

    /* a2b_hex takes upper case; Tornado decodes this to RAW_B at time 0 */
    CU_ASSERT_EQUAL(decode(&t, "2|DEADBEEF|CEBD9ECCC9B1A4C8C4B5A2CCCDB1A6C0|0"), 0);
    CU_ASSERT_EQUAL(memcmp(t.raw, RAW_B, 16), 0);
    CU_ASSERT_EQUAL(t.timestamp, 0);
    CU_ASSERT_EQUAL(decode(&t, "000102030405060708090A0B0C0D0E0F"), 0);
    CU_ASSERT_EQUAL(memcmp(t.raw, v1raw, 16), 0);
}

static void test_round_trip_fresh_masks(void)
{
    unsigned char raw[XSRF_RAW_LEN];
    char first[XSRF_TOKEN_SIZE], s[XSRF_TOKEN_SIZE];
    struct xsrf_token t;
    int i, same = 0;

    CU_ASSERT_EQUAL_FATAL(xsrf_raw_new(raw), 0);
    CU_ASSERT_EQUAL_FATAL(xsrf_token_new(first, sizeof(first), raw, T0), 0);
    for (i = 0; i < 200; i++) {
        CU_ASSERT_EQUAL_FATAL(xsrf_token_new(s, sizeof(s), raw, T0 + i), 0);
        same += strncmp(s, first, 11) == 0; /* "2|" and the mask */
        CU_ASSERT_EQUAL(decode(&t, s), 0);
        CU_ASSERT_EQUAL(t.version, 2);
        CU_ASSERT_EQUAL(t.timestamp, T0 + i);
        CU_ASSERT_EQUAL(memcmp(t.raw, raw, sizeof(raw)), 0);
        CU_ASSERT_EQUAL(check(s, first), 0);
    }
    CU_ASSERT(same <= 1); /* 4 random bytes: a repeat is a 1 in 2^25 event */
    CU_ASSERT_EQUAL(xsrf_raw_new(NULL), -1);
}

static void test_check(void)
{
    char a2[XSRF_TOKEN_SIZE], other[XSRF_TOKEN_SIZE];
    unsigned char raw[16];

    memcpy(raw, RAW_A, 16);
    CU_ASSERT_EQUAL(xsrf_token_format(a2, sizeof(a2), RAW_A, 5, MASK_B), 0);
    CU_ASSERT_EQUAL(check(TOKEN_A, TOKEN_A), 0);
    CU_ASSERT_EQUAL(check(a2, TOKEN_A), 0); /* other mask and timestamp */
    CU_ASSERT_EQUAL(check(TOKEN_B, COOKIE_B), 0);
    CU_ASSERT_EQUAL(check(TOKEN_A, COOKIE_B), -1);
    CU_ASSERT_EQUAL(check(TOKEN_V1_PREFIX "1", COOKIE_V1), 0); /* v2 against a v1 cookie */
    CU_ASSERT_EQUAL(check(COOKIE_V1, TOKEN_V1_PREFIX "99"), 0);
    raw[15] ^= 0x80;
    CU_ASSERT_EQUAL(xsrf_token_format(other, sizeof(other), raw, T0, MASK_A), 0);
    CU_ASSERT_EQUAL(check(other, TOKEN_A), -1);
    CU_ASSERT_EQUAL(check("", TOKEN_A), -1);
    CU_ASSERT_EQUAL(check(TOKEN_A, ""), -1);
    CU_ASSERT_EQUAL(check("junk", "junk"), -1); /* Tornado would take both as b"junk" */
    CU_ASSERT_EQUAL(xsrf_token_check(NULL, 0, TOKEN_A, strlen(TOKEN_A)), -1);
}

static void test_malformed(void)
{
    static const char *const bad[] = {
        "",
        "2",
        "2|",
        "2|||",
        "2|deadbeef|cebd9ecc|1", /* short token: Tornado takes it, no gale token is */
        "2|deadbeef|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0|x",
        "2|deadbeef|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0|",
        "2|deadbeef|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0|-1",
        "2|deadbeef|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0| 1",
        "2|deadbeef|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0|9223372036854775808",
        "2|deadbeef|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0|1|2",
        "2|deadbe|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0|1",
        "2|deadbeef00|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0|1",
        "2|deadbeeg|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0|1",
        "2|deadbeef|cebd9eccc9b1a4c8c4b5a2cccdb1a6c|1",
        "2|deadbeef|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0ff|1",
        "2|deadbeef|cebd9eccc9b1a4c8c4b5a2cccdb1a6cz|1",
        "3|deadbeef|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0|1",
        "1|000102030405060708090a0b0c0d0e0f",
        "zz",
        "abc", /* Tornado's non-hex v1 fallback: refused */
        "000102030405060708090a0b0c0d0e0",
        "000102030405060708090a0b0c0d0e0f0",
        "000102030405060708090a0b0c0d0e0f00",
        " 000102030405060708090a0b0c0d0e0f",
    };
    struct xsrf_token t;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        CU_ASSERT_EQUAL(decode(&t, bad[i]), -1);
    CU_ASSERT_EQUAL(xsrf_token_decode(&t, NULL, 0), -1);
    CU_ASSERT_EQUAL(xsrf_token_decode(NULL, TOKEN_A, strlen(TOKEN_A)), -1);
    /* the length counts, not a NUL */
    CU_ASSERT_EQUAL(xsrf_token_decode(&t, TOKEN_A, strlen(TOKEN_A) - 1), 0);
    CU_ASSERT_EQUAL(t.timestamp, 170000000);
    CU_ASSERT_EQUAL(xsrf_token_decode(&t, COOKIE_V1 "ff", strlen(COOKIE_V1)), 0);
    CU_ASSERT_EQUAL(xsrf_token_decode(&t, "2|deadbeef|cebd9eccc9b1a4c8c4b5a2cccdb1a6c0|1\0", 46),
                    -1);
}

static void test_buffers(void)
{
    char s[XSRF_TOKEN_SIZE];
    struct xsrf_token t;
    size_t len;

    CU_ASSERT_EQUAL(xsrf_token_format(s, sizeof(s), RAW_A, LLONG_MAX, MASK_A), 0);
    len = strlen(s);
    CU_ASSERT_EQUAL(len, XSRF_TOKEN_SIZE - 1);
    CU_ASSERT_EQUAL(xsrf_token_decode(&t, s, len), 0);
    CU_ASSERT_EQUAL(t.timestamp, LLONG_MAX);
    CU_ASSERT_EQUAL(xsrf_token_format(s, strlen(TOKEN_A) + 1, RAW_A, T0, MASK_A), 0);
    CU_ASSERT_EQUAL(xsrf_token_format(s, strlen(TOKEN_A), RAW_A, T0, MASK_A), -1);
    CU_ASSERT_EQUAL(s[0], '\0');
    CU_ASSERT_EQUAL(xsrf_token_format(s, 0, RAW_A, T0, MASK_A), -1);
    CU_ASSERT_EQUAL(xsrf_token_format(s, sizeof(s), RAW_A, -1, MASK_A), -1);
    CU_ASSERT_EQUAL(xsrf_token_format(s, sizeof(s), NULL, T0, MASK_A), -1);
    CU_ASSERT_EQUAL(xsrf_token_format(s, sizeof(s), RAW_A, T0, NULL), -1);
    CU_ASSERT_EQUAL(xsrf_token_new(s, 10, RAW_A, T0), -1);
}

int main(void)
{
    CU_pSuite s;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("xsrf", NULL, NULL);
    CU_add_test(s, "tornado vectors", test_tornado_vectors);
    CU_add_test(s, "round trip, fresh masks", test_round_trip_fresh_masks);
    CU_add_test(s, "check", test_check);
    CU_add_test(s, "malformed", test_malformed);
    CU_add_test(s, "buffers", test_buffers);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
