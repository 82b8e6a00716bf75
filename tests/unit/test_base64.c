/*
 * test_base64.c - src/core/base64.c: RFC 4648's test vectors (section 10)
 * in both alphabets, bytes that differ between them, and the strictness of
 * decoding.
 */
#include <CUnit/Basic.h>
#include <string.h>

#include "core/base64.h"
#include "gale/gale.h"

static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *const padded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                     "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
static const char *const url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};

static void test_vectors(void)
{
    char out[32];
    unsigned char back[32];
    size_t n;
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        size_t len = strlen(plain[i]);
        CU_ASSERT_EQUAL(base64_encoded_len(len, 0), strlen(padded[i]));
        CU_ASSERT_EQUAL(base64_encode(out, plain[i], len, 0), strlen(padded[i]));
        CU_ASSERT_NSTRING_EQUAL(out, padded[i], strlen(padded[i]));
        CU_ASSERT_EQUAL(GALE_BASE64URL_LEN(len), strlen(url[i]));
        CU_ASSERT_EQUAL(gale_base64url_encode(out, plain[i], len), strlen(url[i]));
        CU_ASSERT_STRING_EQUAL(out, url[i]);
        CU_ASSERT_EQUAL(base64_decode(back, &n, padded[i], strlen(padded[i]), 0), 0);
        CU_ASSERT(n == len && !memcmp(back, plain[i], n));
        CU_ASSERT_EQUAL(gale_base64url_decode(back, &n, url[i], strlen(url[i])), 0);
        CU_ASSERT(n == len && !memcmp(back, plain[i], n));
    }
}

/* 0xfb 0xff 0xbf: "+/+/" in one alphabet, "-_-_" in the other. */
static void test_alphabets(void)
{
    static const unsigned char bytes[] = {0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe};
    char out[16];
    unsigned char back[16];
    size_t n;
    base64_encode(out, bytes, sizeof(bytes), 0);
    CU_ASSERT_NSTRING_EQUAL(out, "++++++++", 8);
    gale_base64url_encode(out, bytes, sizeof(bytes));
    CU_ASSERT_STRING_EQUAL(out, "--------");
    CU_ASSERT_EQUAL(base64_decode(back, &n, "--------", 8, 0), -1);
    CU_ASSERT_EQUAL(gale_base64url_decode(back, &n, "++++++++", 8), -1);
}

static void test_strict(void)
{
    unsigned char back[16];
    size_t n;
    CU_ASSERT_EQUAL(gale_base64url_decode(back, &n, "Zg==", 4), -1);  /* no padding */
    CU_ASSERT_EQUAL(gale_base64url_decode(back, &n, "Zm9vY", 5), -1); /* 4k + 1 */
    CU_ASSERT_EQUAL(gale_base64url_decode(back, &n, "Zm 9", 4), -1);
    CU_ASSERT_EQUAL(base64_decode(back, &n, "Zg", 2, 0), -1); /* whole quanta */
    CU_ASSERT_EQUAL(base64_decode(back, &n, "Z===", 4, 0), -1);
    CU_ASSERT_EQUAL(base64_decode(back, &n, "Zg=a", 4, 0), -1);     /* padding only at the end */
    CU_ASSERT_EQUAL(base64_decode(back, &n, "Zg==Zg==", 8, 0), -1); /* and only once */
    CU_ASSERT_EQUAL(base64_decode(back, &n, "Zg\0=", 4, 0), -1);
}

int main(void)
{
    CU_pSuite suite;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    suite = CU_add_suite("base64", NULL, NULL);
    CU_add_test(suite, "RFC 4648 vectors", test_vectors);
    CU_add_test(suite, "the two alphabets", test_alphabets);
    CU_add_test(suite, "strict decoding", test_strict);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
