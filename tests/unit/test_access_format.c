/*
 * test_access_format.c - access log formats: the combined format, a custom
 * format's variables, escaping, unknown variables, truncation.
 */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "core/access_format.h"

static const struct access_entry entry = {
    .client = "192.0.2.7",
    .method = "GET",
    .target = "/a?b=1",
    .host = "example.org",
    .referer = NULL,
    .user_agent = "curl/7.88 \"x\"\n",
    .minor = 1,
    .status = 200,
    .bytes = 1234,
    .seconds = 0.25,
};

static char *render(const char *fmt, const struct access_entry *e, size_t cap)
{
    char err[128];
    struct access_format *f = access_format_compile(fmt, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char *buf = malloc(cap + 1);
    size_t n = access_format_line(f, e, buf, cap);
    buf[n] = '\0';
    access_format_free(f);
    return buf;
}

static void test_combined(void)
{
    char *line = render("combined", &entry, 4096);
    /* 192.0.2.7 - - [07/Dec/2026:04:38:00 +0000] "GET /a?b=1 HTTP/1.1" 200 1234 "-" "..." */
    CU_ASSERT_EQUAL(strncmp(line, "192.0.2.7 - - [", 15), 0);
    char *rest = strstr(line, "] \"GET /a?b=1 HTTP/1.1\" 200 1234 \"-\" ");
    CU_ASSERT_PTR_NOT_NULL(rest);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "\"curl/7.88 \\x22x\\x22\\x0a\"\n"));
    CU_ASSERT_EQUAL(strchr(line, '\n'), line + strlen(line) - 1);
    free(line);
}

static void test_variables(void)
{
    char *line = render("$status|$request_method|$request_uri|$server_protocol|$host|"
                        "$body_bytes_sent|$request_time|$http_referer$",
                        &entry, 4096);
    CU_ASSERT_STRING_EQUAL(line, "200|GET|/a?b=1|HTTP/1.1|example.org|1234|0.250000|-$\n");
    free(line);
}

static void test_unknown_variable(void)
{
    char err[128] = "";
    CU_ASSERT_PTR_NULL(access_format_compile("$status $nosuch", err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "$nosuch"));
}

static void test_truncated(void)
{
    char *line = render("$request_uri $status", &entry, 5);
    CU_ASSERT_STRING_EQUAL(line, "/a?b\n");
    free(line);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("access_format", NULL, NULL);
    CU_add_test(s, "combined", test_combined);
    CU_add_test(s, "variables", test_variables);
    CU_add_test(s, "unknown variable", test_unknown_variable);
    CU_add_test(s, "truncated", test_truncated);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
