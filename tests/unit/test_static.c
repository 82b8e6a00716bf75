/*
 * test_static.c - the pure parts of static files: the Range header parser
 * (range.c), the URL path to relative file path (static_path.c) and the
 * media types by extension (mime.c).
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/conditional.h"
#include "http/mime.h"
#include "http/range.h"
#include "http/static_path.h"

/* One range expected: its bounds in *a, *b. */
static enum range_result rp(const char *h, uint64_t size, uint64_t *a, uint64_t *b)
{
    struct range_set set;
    *a = *b = 12345;
    enum range_result rc = range_parse(h, size, &set);
    if (rc == RANGE_OK) {
        CU_ASSERT_EQUAL(set.n, 1);
        *a = set.r[0].first;
        *b = set.r[0].last;
    }
    return rc;
}

static void test_range_single(void)
{
    uint64_t a, b;
    CU_ASSERT_EQUAL(rp("bytes=0-0", 10, &a, &b), RANGE_OK);
    CU_ASSERT(a == 0 && b == 0);
    CU_ASSERT_EQUAL(rp("bytes=2-4", 10, &a, &b), RANGE_OK);
    CU_ASSERT(a == 2 && b == 4);
    CU_ASSERT_EQUAL(rp("bytes=5-", 10, &a, &b), RANGE_OK);
    CU_ASSERT(a == 5 && b == 9);
    CU_ASSERT_EQUAL(rp("bytes=5-100", 10, &a, &b), RANGE_OK); /* clamped to the end */
    CU_ASSERT(a == 5 && b == 9);
    CU_ASSERT_EQUAL(rp("bytes=-3", 10, &a, &b), RANGE_OK); /* a suffix */
    CU_ASSERT(a == 7 && b == 9);
    CU_ASSERT_EQUAL(rp("bytes=-30", 10, &a, &b), RANGE_OK); /* longer than the file: all */
    CU_ASSERT(a == 0 && b == 9);
    CU_ASSERT_EQUAL(rp("Bytes = 1-2 ", 10, &a, &b), RANGE_OK);
    CU_ASSERT(a == 1 && b == 2);
    CU_ASSERT_EQUAL(rp("bytes=0-99999999999999999999999", 10, &a, &b), RANGE_OK);
    CU_ASSERT(a == 0 && b == 9);
}

static void test_range_unsatisfiable(void)
{
    uint64_t a, b;
    CU_ASSERT_EQUAL(rp("bytes=10-", 10, &a, &b), RANGE_UNSATISFIABLE);
    CU_ASSERT_EQUAL(rp("bytes=10-20", 10, &a, &b), RANGE_UNSATISFIABLE);
    CU_ASSERT_EQUAL(rp("bytes=-0", 10, &a, &b), RANGE_UNSATISFIABLE);
    CU_ASSERT_EQUAL(rp("bytes=0-", 0, &a, &b), RANGE_UNSATISFIABLE);
    CU_ASSERT_EQUAL(rp("bytes=-5", 0, &a, &b), RANGE_UNSATISFIABLE);
    CU_ASSERT_EQUAL(rp("bytes=99999999999999999999999-", 10, &a, &b), RANGE_UNSATISFIABLE);
}

static void test_range_ignored(void)
{
    uint64_t a, b;
    CU_ASSERT_EQUAL(rp(NULL, 10, &a, &b), RANGE_NONE);
    CU_ASSERT_EQUAL(rp("", 10, &a, &b), RANGE_NONE);
    CU_ASSERT_EQUAL(rp("items=0-1", 10, &a, &b), RANGE_NONE);
    CU_ASSERT_EQUAL(rp("bytes=4-2", 10, &a, &b), RANGE_NONE);
    CU_ASSERT_EQUAL(rp("bytes=-", 10, &a, &b), RANGE_NONE);
    CU_ASSERT_EQUAL(rp("bytes=2", 10, &a, &b), RANGE_NONE); /* no dash: nothing read past the end */
    CU_ASSERT_EQUAL(rp("bytes=a-b", 10, &a, &b), RANGE_NONE);
    CU_ASSERT_EQUAL(rp("bytes 0-1", 10, &a, &b), RANGE_NONE);
    CU_ASSERT_EQUAL(rp("bytes=1-2x", 10, &a, &b), RANGE_NONE);
    CU_ASSERT_EQUAL(rp("bytes=--1", 10, &a, &b), RANGE_NONE);
    CU_ASSERT_EQUAL(rp("bytes=0-1,x", 10, &a, &b), RANGE_NONE); /* one bad spec: all */
    CU_ASSERT_EQUAL(rp("bytes=,", 10, &a, &b), RANGE_NONE);
}

/* "bytes=..." against a file of `size`: the set as "a-b a-b", or the result. */
static const char *rs(const char *spec, uint64_t size)
{
    static char out[512];
    struct range_set set;
    char h[256];
    snprintf(h, sizeof(h), "bytes=%s", spec);
    enum range_result rc = range_parse(h, size, &set);
    if (rc != RANGE_OK)
        return rc == RANGE_NONE ? "none" : "unsatisfiable";
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < set.n; i++)
        n +=
            (size_t)snprintf(out + n, sizeof(out) - n, "%s%llu-%llu", i ? " " : "",
                             (unsigned long long)set.r[i].first, (unsigned long long)set.r[i].last);
    return out;
}

static void test_range_several(void)
{
    CU_ASSERT_STRING_EQUAL(rs("0-9,20-29", 100), "0-9 20-29");
    CU_ASSERT_STRING_EQUAL(rs("20-29, 0-9", 100), "0-9 20-29");  /* sorted */
    CU_ASSERT_STRING_EQUAL(rs("0-9,,20-29,", 100), "0-9 20-29"); /* empty elements */
    CU_ASSERT_STRING_EQUAL(rs("0-9,5-14", 100), "0-14");         /* overlapping: merged */
    CU_ASSERT_STRING_EQUAL(rs("0-9,10-19", 100), "0-19");        /* touching: merged */
    CU_ASSERT_STRING_EQUAL(rs("0-9,-5", 100), "0-9 95-99");      /* a suffix */
    CU_ASSERT_STRING_EQUAL(rs("0-9,200-300", 100), "0-9");       /* one outside: dropped */
    CU_ASSERT_STRING_EQUAL(rs("200-300,300-", 100), "unsatisfiable");
}

static void test_range_limits(void)
{
    /* more bytes than the file: the whole file, as nginx */
    CU_ASSERT_STRING_EQUAL(rs("0-59,30-89", 100), "none");
    CU_ASSERT_STRING_EQUAL(rs("0-99,0-0", 100), "none");
    /* RANGE_MAX ranges are taken, one more is too many */
    CU_ASSERT_STRING_EQUAL(rs("0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,"
                              "24-24,26-26,28-28,30-30",
                              100),
                           "0-0 2-2 4-4 6-6 8-8 10-10 12-12 14-14 16-16 18-18 20-20 22-22 "
                           "24-24 26-26 28-28 30-30");
    CU_ASSERT_STRING_EQUAL(rs("0-0,2-2,4-4,6-6,8-8,10-10,12-12,14-14,16-16,18-18,20-20,22-22,"
                              "24-24,26-26,28-28,30-30,32-32",
                              100),
                           "none");
}

static void test_conditional_tags(void)
{
    CU_ASSERT(conditional_tag_match("\"a\"", "\"a\"", 1));
    CU_ASSERT(conditional_tag_match("\"x\", \"a\"", "\"a\"", 1));
    CU_ASSERT(conditional_tag_match(" ,\"x\",,\"a\" ", "\"a\"", 1));
    CU_ASSERT(conditional_tag_match("*", "\"a\"", 1));
    CU_ASSERT(conditional_tag_match("*", "W/\"a\"", 1)); /* "*": the answer exists */
    CU_ASSERT(conditional_tag_match("*", "", 1));
    CU_ASSERT(!conditional_tag_match("\"x\"", "\"a\"", 1));
    CU_ASSERT(!conditional_tag_match("W/\"a\"", "\"a\"", 1)); /* strong: weak never */
    CU_ASSERT(!conditional_tag_match("\"a\"", "W/\"a\"", 1));
    CU_ASSERT(conditional_tag_match("W/\"a\"", "\"a\"", 0)); /* weak: W/ dropped */
    CU_ASSERT(conditional_tag_match("\"a\"", "W/\"a\"", 0));
    CU_ASSERT(conditional_tag_match("\"x,y\", \"a\"", "\"a\"", 0)); /* a comma inside */
    CU_ASSERT(!conditional_tag_match("\"x,\"a\"\"", "\"a\"", 0));
    CU_ASSERT(!conditional_tag_match("", "\"a\"", 0));
    CU_ASSERT(!conditional_tag_match("a", "\"a\"", 0)); /* unquoted: no tag */
    CU_ASSERT(!conditional_tag_match("\"a", "\"a\"", 0));
}

static void test_conditional_dates(void)
{
    CU_ASSERT_EQUAL(conditional_parse_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    CU_ASSERT_EQUAL(conditional_parse_date("Sunday, 06-Nov-94 08:49:37 GMT"), -1);
    CU_ASSERT_EQUAL(conditional_parse_date("Sun, 06 Foo 1994 08:49:37 GMT"), -1);
    CU_ASSERT_EQUAL(conditional_parse_date("garbage"), -1);
    CU_ASSERT_EQUAL(conditional_parse_date(NULL), -1);
}

/* RFC 9110 13.2.2's order, for a GET of an answer tagged "t" modified at 1000. */
static int cond(const char *im, const char *ius, const char *inm, const char *ims, int get)
{
    struct conditional_headers h = {im, ius, inm, ims};
    return conditional_evaluate(&h, get, "\"t\"", 1000);
}

static void test_conditional_order(void)
{
    const char *before = "Thu, 01 Jan 1970 00:16:39 GMT"; /* 999 */
    const char *at = "Thu, 01 Jan 1970 00:16:40 GMT";     /* 1000 */
    CU_ASSERT_EQUAL(cond(NULL, NULL, NULL, NULL, 1), 0);
    CU_ASSERT_EQUAL(cond("\"t\"", NULL, NULL, NULL, 1), 0);
    CU_ASSERT_EQUAL(cond("\"u\"", NULL, NULL, NULL, 1), 412);
    CU_ASSERT_EQUAL(cond(NULL, at, NULL, NULL, 1), 0);
    CU_ASSERT_EQUAL(cond(NULL, before, NULL, NULL, 1), 412);
    CU_ASSERT_EQUAL(cond("\"t\"", before, NULL, NULL, 1), 0);    /* If-Match present: IUS ignored */
    CU_ASSERT_EQUAL(cond("\"u\"", NULL, "\"t\"", NULL, 1), 412); /* If-Match first */
    CU_ASSERT_EQUAL(cond(NULL, NULL, "\"t\"", NULL, 1), 304);
    CU_ASSERT_EQUAL(cond(NULL, NULL, "\"t\"", NULL, 0), 412); /* other methods: 412 */
    CU_ASSERT_EQUAL(cond(NULL, NULL, "\"u\"", at, 1), 0);     /* INM present: IMS ignored */
    CU_ASSERT_EQUAL(cond(NULL, NULL, NULL, at, 1), 304);
    CU_ASSERT_EQUAL(cond(NULL, NULL, NULL, before, 1), 0);
    CU_ASSERT_EQUAL(cond(NULL, NULL, NULL, at, 0), 0); /* IMS: GET and HEAD only */
    struct conditional_headers none = {"*", before, NULL, at};
    CU_ASSERT_EQUAL(conditional_evaluate(&none, 1, NULL, -1), 0); /* no validators: "*" only */
    struct conditional_headers star = {"\"t\"", NULL, NULL, NULL};
    CU_ASSERT_EQUAL(conditional_evaluate(&star, 1, NULL, -1), 412);
}

/* static_path_clean into a buffer of `cap`; the result, or "(refused)". */
static const char *clean(const char *raw, int hidden, size_t cap)
{
    static char out[256];
    char buf[256];
    if (static_path_clean(raw, strlen(raw), hidden, buf, cap) < 0)
        return "(refused)";
    snprintf(out, sizeof(out), "%s", buf);
    return out;
}

static void test_path_clean(void)
{
    CU_ASSERT_STRING_EQUAL(clean("", 0, 256), "");
    CU_ASSERT_STRING_EQUAL(clean("a.txt", 0, 256), "a.txt");
    CU_ASSERT_STRING_EQUAL(clean("css/a.css", 0, 256), "css/a.css");
    CU_ASSERT_STRING_EQUAL(clean("dir/", 0, 256), "dir");
    CU_ASSERT_STRING_EQUAL(clean("a//b///c", 0, 256), "a/b/c");
    CU_ASSERT_STRING_EQUAL(clean("/a", 0, 256), "a");
    CU_ASSERT_STRING_EQUAL(clean("a%20b.txt", 0, 256), "a b.txt");
    CU_ASSERT_STRING_EQUAL(clean("a+b", 0, 256), "a+b"); /* '+' is no space in a path */
    CU_ASSERT_STRING_EQUAL(clean("x..y/z..", 0, 256), "x..y/z..");
    CU_ASSERT_STRING_EQUAL(clean(".well/x", 1, 256), ".well/x");
}

static void test_path_refused(void)
{
    const char *bad[] = {"..",     "../x",  "a/../../x", "a/..",     "%2e%2e/x",
                         "%2E%2e", ".",     "a/./b",     "a%2fb",    "a%2F..%2Fb",
                         "a\\b",   "a%5cb", "a%5C..",    "a%00b",    "a%",
                         "a%4",    "a%zz",  ".hidden",   "a/.git/x", "%2ehtaccess"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (strcmp(clean(bad[i], 0, 256), "(refused)") != 0)
            printf("\n  not refused: %s\n", bad[i]);
        CU_ASSERT_STRING_EQUAL(clean(bad[i], 0, 256), "(refused)");
    }
    /* with hidden files allowed, "." and ".." are still refused */
    CU_ASSERT_STRING_EQUAL(clean("..", 1, 256), "(refused)");
    CU_ASSERT_STRING_EQUAL(clean("a/./b", 1, 256), "(refused)");
    CU_ASSERT_STRING_EQUAL(clean("a/%2e%2e/b", 1, 256), "(refused)");
    /* too long for the buffer */
    CU_ASSERT_STRING_EQUAL(clean("abcdef", 0, 6), "(refused)");
    CU_ASSERT_STRING_EQUAL(clean("abcde", 0, 6), "abcde");
}

static void test_mime_builtin(void)
{
    CU_ASSERT_EQUAL(mime_load(NULL), 0);
    CU_ASSERT_STRING_EQUAL(mime_type("index.html"), "text/html");
    CU_ASSERT_STRING_EQUAL(mime_type("a/b/site.CSS"), "text/css");
    CU_ASSERT_STRING_EQUAL(mime_type("x.min.js"), "text/javascript");
    CU_ASSERT_STRING_EQUAL(mime_type("f.woff2"), "font/woff2");
    CU_ASSERT_PTR_NULL(mime_type("README"));
    CU_ASSERT_PTR_NULL(mime_type("a.unknownext"));
    CU_ASSERT_PTR_NULL(mime_type("dir.d/file"));
    CU_ASSERT_PTR_NULL(mime_type("trailing."));
}

static void test_mime_file(void)
{
    char path[] = "/tmp/gale-mime-XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    const char *text = "# comment\n"
                       "text/x-first\tfoo bar\n"
                       "application/x-y  yy  cwl.json # comment\n"
                       "text/x-second foo\n";
    CU_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    CU_ASSERT_EQUAL(mime_load(path), 0);
    CU_ASSERT_STRING_EQUAL(mime_type("a.bar"), "text/x-first");
    CU_ASSERT_STRING_EQUAL(mime_type("a.yy"), "application/x-y");
    CU_ASSERT_STRING_EQUAL(mime_type("a.foo"), "text/x-second"); /* the last line wins */
    CU_ASSERT_PTR_NULL(mime_type("a.html"));                     /* the file replaced the table */
    unlink(path);
    CU_ASSERT_EQUAL(mime_load("/nonexistent/mime.types"), -1);
    CU_ASSERT_STRING_EQUAL(mime_type("a.html"), "text/html"); /* the built-in table again */
    CU_ASSERT(mime_is_text("text/css"));
    CU_ASSERT(mime_is_text("application/json"));
    CU_ASSERT(!mime_is_text("image/png"));
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("static", NULL, NULL);
    CU_add_test(s, "range: one range", test_range_single);
    CU_add_test(s, "range: unsatisfiable", test_range_unsatisfiable);
    CU_add_test(s, "range: ignored", test_range_ignored);
    CU_add_test(s, "range: several", test_range_several);
    CU_add_test(s, "range: limits", test_range_limits);
    CU_add_test(s, "conditional: entity tags", test_conditional_tags);
    CU_add_test(s, "conditional: dates", test_conditional_dates);
    CU_add_test(s, "conditional: the order of evaluation", test_conditional_order);
    CU_add_test(s, "path: cleaned", test_path_clean);
    CU_add_test(s, "path: refused", test_path_refused);
    CU_add_test(s, "mime: built-in table", test_mime_builtin);
    CU_add_test(s, "mime: a mime.types file", test_mime_file);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
