/*
 * test_client_error.c - libcurl's codes folded into the error kinds a
 * module acts on, and the words of each kind's message.
 */
#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <string.h>

#include "client/client_error.h"
#include "gale/gale.h"

static void test_kinds(void)
{
    CU_ASSERT_EQUAL(client_error_kind(CURLE_OK), GALE_FETCH_OK);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_COULDNT_RESOLVE_HOST), GALE_FETCH_DNS);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_COULDNT_RESOLVE_PROXY), GALE_FETCH_DNS);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_COULDNT_CONNECT), GALE_FETCH_REFUSED);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_OPERATION_TIMEDOUT), GALE_FETCH_TIMEOUT);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_PEER_FAILED_VERIFICATION), GALE_FETCH_TLS);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_SSL_CONNECT_ERROR), GALE_FETCH_TLS);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_SSL_CACERT_BADFILE), GALE_FETCH_TLS);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_FILESIZE_EXCEEDED), GALE_FETCH_TOO_LARGE);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_TOO_MANY_REDIRECTS), GALE_FETCH_REDIRECTS);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_PARTIAL_FILE), GALE_FETCH_BROKEN);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_GOT_NOTHING), GALE_FETCH_BROKEN);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_RECV_ERROR), GALE_FETCH_BROKEN);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_WEIRD_SERVER_REPLY), GALE_FETCH_BROKEN);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_ABORTED_BY_CALLBACK), GALE_FETCH_CANCELLED);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_URL_MALFORMAT), GALE_FETCH_FAILED);
    CU_ASSERT_EQUAL(client_error_kind(CURLE_UNSUPPORTED_PROTOCOL), GALE_FETCH_FAILED);
    CU_ASSERT_EQUAL(client_error_kind(12345), GALE_FETCH_FAILED);
}

static void test_words(void)
{
    CU_ASSERT_STRING_EQUAL(client_error_what(GALE_FETCH_DNS), "name not resolved");
    CU_ASSERT_STRING_EQUAL(client_error_what(GALE_FETCH_TIMEOUT), "timed out");
    CU_ASSERT_STRING_EQUAL(client_error_what(GALE_FETCH_FAILED), "failed");
    CU_ASSERT_STRING_EQUAL(client_error_what(-1), "failed");
    CU_ASSERT_STRING_EQUAL(client_error_what(999), "failed");
    for (int k = GALE_FETCH_OK; k <= GALE_FETCH_FAILED; k++)
        CU_ASSERT(strlen(client_error_what(k)) > 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("client_error", NULL, NULL);
    CU_add_test(s, "libcurl codes to kinds", test_kinds);
    CU_add_test(s, "the words of each kind", test_words);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned int failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
