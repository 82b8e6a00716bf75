/*
 * test_router.c - unit tests of src/router.c: whole-path matching, order,
 * captures and the errors of bad patterns.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/router.h"

static char err[256];

/* A router holding `n` patterns, route i carrying data (void *)(i + 1). */
static struct router *make(const char *const *patterns, size_t n)
{
    struct router *rt = router_new();

    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    for (size_t i = 0; i < n; i++) {
        int rc = router_add(rt, patterns[i], (void *)(i + 1), err, sizeof(err));
        if (rc != 0)
            fprintf(stderr, "router_add(%s): %s\n", patterns[i], err);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
    }
    return rt;
}

/* Which route (1-based) matches s, 0 for none. */
static size_t which(const struct router *rt, const char *s, struct router_match *m)
{
    if (router_match(rt, s, strlen(s), m) < 0)
        return 0;
    return (size_t)m->data;
}

static void test_whole_path(void)
{
    const char *p[] = {"/a", "/b/.*"};
    struct router *rt = make(p, 2);
    struct router_match m;

    CU_ASSERT_EQUAL(which(rt, "/a", &m), 1);
    CU_ASSERT_EQUAL(m.ncaps, 0);
    CU_ASSERT_EQUAL(which(rt, "/ab", &m), 0); /* a prefix is not enough */
    CU_ASSERT_EQUAL(which(rt, "x/a", &m), 0); /* nor a suffix */
    CU_ASSERT_EQUAL(which(rt, "/a/", &m), 0);
    CU_ASSERT_EQUAL(which(rt, "", &m), 0);
    CU_ASSERT_EQUAL(which(rt, "/b/", &m), 2);
    CU_ASSERT_EQUAL(which(rt, "/b/c/d", &m), 2);
    CU_ASSERT_EQUAL(which(rt, "/bb/", &m), 0);
    router_free(rt);
}

static void test_first_match_wins(void)
{
    const char *p[] = {"/x/special", "/x/[a-z]+", "/.*"};
    struct router *rt = make(p, 3);
    struct router_match m;

    CU_ASSERT_EQUAL(which(rt, "/x/special", &m), 1);
    CU_ASSERT_EQUAL(which(rt, "/x/other", &m), 2);
    CU_ASSERT_EQUAL(which(rt, "/x/9", &m), 3);
    CU_ASSERT_EQUAL(which(rt, "/", &m), 3);
    router_free(rt);
}

static void test_captures(void)
{
    const char *p[] = {"/greet/([a-z]+)/(\\d+)"};
    struct router *rt = make(p, 1);
    struct router_match m;

    CU_ASSERT_EQUAL_FATAL(which(rt, "/greet/bob/42", &m), 1);
    CU_ASSERT_EQUAL(m.ncaps, 2);
    CU_ASSERT_EQUAL(m.start[0], 7);
    CU_ASSERT_EQUAL(m.end[0], 10);
    CU_ASSERT_EQUAL(m.start[1], 11);
    CU_ASSERT_EQUAL(m.end[1], 13);
    CU_ASSERT_EQUAL(which(rt, "/greet/Bob/42", &m), 0);
    router_free(rt);
}

static void test_unset_group(void)
{
    const char *p[] = {"/item(/(\\d+))?(/edit)?(x)?"};
    struct router *rt = make(p, 1);
    struct router_match m;

    CU_ASSERT_EQUAL_FATAL(which(rt, "/item/edit", &m), 1);
    CU_ASSERT_EQUAL(m.ncaps, 4);
    CU_ASSERT_EQUAL(m.start[0], (size_t)-1);
    CU_ASSERT_EQUAL(m.end[0], (size_t)-1);
    CU_ASSERT_EQUAL(m.start[1], (size_t)-1);
    CU_ASSERT_EQUAL(m.start[2], 5);
    CU_ASSERT_EQUAL(m.end[2], 10);
    CU_ASSERT_EQUAL(m.start[3], (size_t)-1); /* a trailing unset group */
    CU_ASSERT_EQUAL(m.end[3], (size_t)-1);

    CU_ASSERT_EQUAL_FATAL(which(rt, "/item/7", &m), 1);
    CU_ASSERT_EQUAL(m.start[0], 5);
    CU_ASSERT_EQUAL(m.start[1], 6);
    CU_ASSERT_EQUAL(m.end[1], 7);
    CU_ASSERT_EQUAL(m.start[2], (size_t)-1);
    router_free(rt);
}

static void test_alternation_anchored(void)
{
    const char *p[] = {"/a|/b", "a|ab"};
    struct router *rt = make(p, 2);
    struct router_match m;

    CU_ASSERT_EQUAL(which(rt, "/a", &m), 1);
    CU_ASSERT_EQUAL(which(rt, "/b", &m), 1);
    CU_ASSERT_EQUAL(which(rt, "/a/b", &m), 0); /* "/a" then anything: no */
    CU_ASSERT_EQUAL(which(rt, "x/b", &m), 0);  /* anything then "/b": no */
    /* The end anchor makes the engine backtrack into the next branch. */
    CU_ASSERT_EQUAL(which(rt, "ab", &m), 2);
    router_free(rt);
}

static void test_raw_bytes(void)
{
    const char *p[] = {"/a$", "/\\xff.", "/n.l"};
    struct router *rt = make(p, 3);
    struct router_match m;

    CU_ASSERT_EQUAL(which(rt, "/a\n", &m), 0); /* "$" only at the very end */
    CU_ASSERT_EQUAL(which(rt, "/\xff\xfe", &m), 2);
    CU_ASSERT_EQUAL(router_match(rt, "/n\0l", 4, &m), 0); /* len, not NUL, ends the path */
    CU_ASSERT_EQUAL((size_t)m.data, 3);
    CU_ASSERT_EQUAL(router_match(rt, "/a\0b", 2, &m), 0);
    CU_ASSERT_EQUAL((size_t)m.data, 1);
    CU_ASSERT_EQUAL(router_check_pattern("(*UTF)/a", err, sizeof(err)), -1);
    router_free(rt);
}

static void test_too_many_groups(void)
{
    char pat[256] = "/";
    struct router *rt = router_new();

    for (int i = 0; i < ROUTER_MAX_CAPTURES; i++)
        strcat(pat, "(a)");
    CU_ASSERT_EQUAL(router_check_pattern(pat, err, sizeof(err)), 0);
    CU_ASSERT_EQUAL(router_add(rt, pat, NULL, err, sizeof(err)), 0);
    strcat(pat, "(a)");
    CU_ASSERT_EQUAL(router_check_pattern(pat, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "too many capture groups (17, at most 16)"));
    CU_ASSERT_EQUAL(router_add(rt, pat, NULL, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "too many capture groups"));
    /* Non-capturing groups do not count. */
    CU_ASSERT_EQUAL(router_check_pattern("/(?:a)(?:b)(?:c)(?:d)(?:e)(?:f)(?:g)(?:h)(?:i)(?:j)"
                                         "(?:k)(?:l)(?:m)(?:n)(?:o)(?:p)(?:q)(?:r)",
                                         err, sizeof(err)),
                    0);
    router_free(rt);
}

static void test_bad_pattern(void)
{
    struct router *rt = router_new();
    struct router_match m;

    CU_ASSERT_EQUAL(router_check_pattern("/(a", err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(err, "bad regular expression at offset 3: missing closing parenthesis");
    CU_ASSERT_EQUAL(router_add(rt, "/[z-a]", NULL, err, sizeof(err)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad regular expression at offset"));
    /* A pattern cannot escape the anchoring by closing a group we opened. */
    CU_ASSERT_EQUAL(router_check_pattern("a)|(b", err, sizeof(err)), -1);
    CU_ASSERT_EQUAL(router_match(rt, "/(a", 3, &m), -1); /* nothing was added */
    router_free(rt);
}

static void test_no_match(void)
{
    const char *p[] = {"/only"};
    struct router *rt = router_new();
    struct router_match m;

    CU_ASSERT_EQUAL(router_match(rt, "/", 1, &m), -1); /* empty router */
    router_free(rt);
    rt = make(p, 1);
    CU_ASSERT_EQUAL(router_match(rt, "/other", 6, &m), -1);
    router_free(rt);
    router_free(NULL);
}

static void test_many_routes(void)
{
    char pats[40][16];
    const char *p[40];
    struct router *rt;
    struct router_match m;

    for (int i = 0; i < 40; i++) {
        snprintf(pats[i], sizeof(pats[i]), "/r%d", i);
        p[i] = pats[i];
    }
    rt = make(p, 40);
    CU_ASSERT_EQUAL(which(rt, "/r0", &m), 1);
    CU_ASSERT_EQUAL(which(rt, "/r39", &m), 40);
    CU_ASSERT_EQUAL(which(rt, "/r40", &m), 0);
    router_free(rt);
}

/* A pattern that backtracks exponentially must not stall the worker: the
 * route is given up (as not matching) and the next one is tried. */
static void test_backtracking_bounded(void)
{
    const char *p[] = {"/(a+)+b", "/.*"};
    struct router *rt = make(p, 2);
    struct router_match m;
    char path[64] = "/";
    clock_t t0 = clock();

    memset(path + 1, 'a', 40);
    CU_ASSERT_EQUAL(which(rt, path, &m), 2);
    CU_ASSERT(clock() - t0 < 2 * CLOCKS_PER_SEC);
    router_free(rt);
}

static void expect_reverse(const char *pattern, const char *const *args, size_t n, const char *want)
{
    char out[256];
    int rc = router_reverse(pattern, args, n, out, sizeof(out));
    if (want == NULL) {
        CU_ASSERT_EQUAL(rc, -1);
        return;
    }
    CU_ASSERT_EQUAL(rc, 0);
    if (rc == 0)
        CU_ASSERT_STRING_EQUAL(out, want);
}

static void test_reverse(void)
{
    const char *one[] = {"bob"};
    const char *two[] = {"a b", "x/y"};
    const char *odd[] = {"caf\xc3\xa9?&#"};
    expect_reverse("/", NULL, 0, "/");
    expect_reverse("^/about$", NULL, 0, "/about");
    expect_reverse("/greet/([a-z]+)", one, 1, "/greet/bob");
    expect_reverse("/f/([^/]+)/g/(.*)", two, 2, "/f/a%20b/g/x/y");
    expect_reverse("/file\\.txt", NULL, 0, "/file.txt");
    expect_reverse("/q/(.+)", odd, 1, "/q/caf%C3%A9%3F%26%23");
    expect_reverse("/greet/([a-z]+)", NULL, 0, NULL); /* too few */
    expect_reverse("/", one, 1, NULL);                /* too many */
    expect_reverse("/a.*", NULL, 0, NULL);            /* regex outside groups */
    expect_reverse("/(?:x)", NULL, 0, NULL);          /* non-capturing */
    expect_reverse("/(a", one, 1, NULL);              /* unbalanced */
    char small[4];
    CU_ASSERT_EQUAL(router_reverse("/greet/([a-z]+)", one, 1, small, sizeof(small)), -1);
}

int main(void)
{
    CU_pSuite s;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("router", NULL, NULL);
    CU_add_test(s, "whole path", test_whole_path);
    CU_add_test(s, "first match wins", test_first_match_wins);
    CU_add_test(s, "captures", test_captures);
    CU_add_test(s, "unset group", test_unset_group);
    CU_add_test(s, "alternation anchored", test_alternation_anchored);
    CU_add_test(s, "raw bytes", test_raw_bytes);
    CU_add_test(s, "too many groups", test_too_many_groups);
    CU_add_test(s, "bad pattern", test_bad_pattern);
    CU_add_test(s, "no match", test_no_match);
    CU_add_test(s, "many routes", test_many_routes);
    CU_add_test(s, "backtracking bounded", test_backtracking_bounded);
    CU_add_test(s, "reverse", test_reverse);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
