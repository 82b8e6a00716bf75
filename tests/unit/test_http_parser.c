/*
 * test_http_parser.c - unit tests for src/http_parser.c.
 *
 * Every valid request is also fed one prefix at a time, each prefix in a
 * fresh heap block, to prove that the parser resumes from offsets and never
 * keeps a pointer into an old buffer (ASan catches a stale read). Every error
 * is checked both whole and fed incrementally, because a smuggling shape
 * that is only caught when it arrives in one piece is not caught.
 */
#include "http/http_parser.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXH 32
#define HEAD_MAX 8192
#define TARGET_MAX 2048

struct limits {
    size_t head, target, headers;
};

static const struct limits deflim = {HEAD_MAX, TARGET_MAX, MAXH};

static struct http_header hdrs[MAXH];
static struct http_parser P;
static struct http_head H;

/* A head with its slices as offsets into the buffer it was parsed from, so
 * that results from different buffers can be compared. */
struct flat {
    long method, method_len, target, target_len, path, path_len, query, query_len;
    long version_minor, nheaders, content_length, chunked, close, keepalive, upgrade_flag;
    long expect, host, host_len, upgrade, upgrade_len, head_len;
    long name[MAXH], name_len[MAXH], value[MAXH], value_len[MAXH];
};

/* Offsets of a slice; -1 for NULL, -2 for a slice outside buf (the static
 * "/" of an absolute-form target without a path). Fails the test when a
 * slice straddles the buffer's edge. */
static long off(const char *s, size_t n, const char *buf, size_t len)
{
    if (s == NULL)
        return -1;
    if (s >= buf && s <= buf + len) {
        CU_ASSERT(s + n <= buf + len);
        return (long)(s - buf);
    }
    CU_ASSERT(n == 1 && *s == '/');
    return -2;
}

static void flatten(const struct http_head *h, const char *buf, size_t len, struct flat *f)
{
    size_t i;

    memset(f, 0, sizeof(*f));
    f->method = off(h->method, h->method_len, buf, len);
    f->method_len = (long)h->method_len;
    f->target = off(h->target, h->target_len, buf, len);
    f->target_len = (long)h->target_len;
    f->path = off(h->path, h->path_len, buf, len);
    f->path_len = (long)h->path_len;
    f->query = off(h->query, h->query_len, buf, len);
    f->query_len = (long)h->query_len;
    f->version_minor = h->version_minor;
    f->nheaders = (long)h->nheaders;
    f->content_length = (long)h->content_length;
    f->chunked = h->chunked;
    f->close = h->conn_close;
    f->keepalive = h->conn_keepalive;
    f->upgrade_flag = h->conn_upgrade;
    f->expect = h->expect_continue;
    f->host = off(h->host, h->host_len, buf, len);
    f->host_len = (long)h->host_len;
    f->upgrade = off(h->upgrade, h->upgrade_len, buf, len);
    f->upgrade_len = (long)h->upgrade_len;
    f->head_len = (long)h->head_len;
    CU_ASSERT_FATAL(h->nheaders <= MAXH);
    for (i = 0; i < h->nheaders; i++) {
        f->name[i] = off(h->headers[i].name, h->headers[i].name_len, buf, len);
        f->name_len[i] = (long)h->headers[i].name_len;
        f->value[i] = off(h->headers[i].value, h->headers[i].value_len, buf, len);
        f->value_len[i] = (long)h->headers[i].value_len;
    }
}

static void show(const char *what, const char *req, size_t len)
{
    size_t i;

    fprintf(stderr, "\n%s: \"", what);
    for (i = 0; i < len && i < 200; i++) {
        unsigned char c = (unsigned char)req[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            fputc(c, stderr);
        else
            fprintf(stderr, "\\x%02x", c);
    }
    fprintf(stderr, "\" status %d reason %s\n", P.status, P.reason ? P.reason : "-");
}

static int parse_lim(const char *req, size_t len, struct limits l)
{
    http_parser_init(&P, l.head, l.target, hdrs, l.headers);
    memset(&H, 0, sizeof(H));
    return http_parse_request(&P, req, len, &H);
}

static int parse(const char *req)
{
    return parse_lim(req, strlen(req), deflim);
}

static char *dup_block(const char *s, size_t n)
{
    char *b = malloc(n ? n : 1);

    CU_ASSERT_FATAL(b != NULL);
    memcpy(b, s, n);
    return b;
}

/* Feeds req one more byte a call, each call in a fresh block of exactly the
 * prefix's size, and checks that the outcome and the head equal want_rc and
 * the head of the one-piece parse. */
static void check_every_prefix(const char *req, size_t len, struct limits l, int want_rc,
                               const struct flat *want, int want_status, const char *want_reason)
{
    struct flat got;
    size_t k;
    int rc = 0;

    http_parser_init(&P, l.head, l.target, hdrs, l.headers);
    for (k = 0; k <= len && rc == 0; k++) {
        char *b = dup_block(req, k);
        memset(&H, 0, sizeof(H));
        rc = http_parse_request(&P, b, k, &H);
        if (rc == 1)
            flatten(&H, b, k, &got);
        free(b);
        if (rc == 0 && k == len)
            break;
    }
    if (rc != want_rc)
        show("prefix-fed result differs", req, len);
    CU_ASSERT_EQUAL(rc, want_rc);
    if (rc == 1 && want_rc == 1) {
        CU_ASSERT(memcmp(&got, want, sizeof(got)) == 0);
        /* complete exactly when the last byte of the head arrived */
        CU_ASSERT_EQUAL((size_t)got.head_len, k - 1);
    }
    if (rc == -1 && want_rc == -1) {
        CU_ASSERT_EQUAL(P.status, want_status);
        CU_ASSERT_PTR_EQUAL(P.reason, want_reason);
    }
}

/* Two pieces split at every point, each call in a fresh block. */
static void check_every_split(const char *req, size_t len, struct limits l, int want_rc,
                              const struct flat *want, int want_status)
{
    struct flat got;
    size_t k;

    for (k = 0; k < len; k++) {
        char *a = dup_block(req, k), *b;
        int rc;
        http_parser_init(&P, l.head, l.target, hdrs, l.headers);
        rc = http_parse_request(&P, a, k, &H);
        free(a);
        if (rc == 0) {
            b = dup_block(req, len);
            rc = http_parse_request(&P, b, len, &H);
            if (rc == 1)
                flatten(&H, b, len, &got);
            free(b);
        } else if (rc == 1) {
            continue; /* complete in the first piece: compared by the prefix walk */
        }
        CU_ASSERT_EQUAL(rc, want_rc);
        if (rc == 1 && want_rc == 1)
            CU_ASSERT(memcmp(&got, want, sizeof(got)) == 0);
        if (rc == -1)
            CU_ASSERT_EQUAL(P.status, want_status);
    }
}

/* Parses a valid request whole and in pieces; leaves the whole parse's
 * result in H (pointing into req) for the caller to inspect. */
static int ok_lim(const char *req, size_t len, struct limits l)
{
    struct flat whole;
    int rc = parse_lim(req, len, l);

    if (rc != 1) {
        show("expected a valid request", req, len);
        return 0;
    }
    flatten(&H, req, len, &whole);
    check_every_prefix(req, len, l, 1, &whole, 0, NULL);
    check_every_split(req, len, l, 1, &whole, 0);
    /* leave H describing the whole parse for the caller */
    parse_lim(req, len, l);
    return 1;
}

static int ok(const char *req)
{
    return ok_lim(req, strlen(req), deflim);
}

/* An invalid request: status and reason whole, and the same when fed in
 * pieces. want_reason may be NULL to skip the reason check. */
static void bad_lim(const char *req, size_t len, struct limits l, int want_status,
                    const char *want_reason)
{
    int rc = parse_lim(req, len, l);
    const char *reason = P.reason;

    if (rc != -1 || P.status != want_status ||
        (want_reason && (!reason || strcmp(reason, want_reason) != 0))) {
        show("expected an error", req, len);
        fprintf(stderr, "  wanted %d %s, got rc %d\n", want_status, want_reason ? want_reason : "",
                rc);
    }
    CU_ASSERT_EQUAL(rc, -1);
    CU_ASSERT_EQUAL(P.status, want_status);
    if (want_reason)
        CU_ASSERT(reason && strcmp(reason, want_reason) == 0);
    /* Once failed, it stays failed. */
    CU_ASSERT_EQUAL(http_parse_request(&P, req, len, &H), -1);
    check_every_prefix(req, len, l, -1, NULL, want_status, reason);
    check_every_split(req, len, l, -1, NULL, want_status);
}

static void bad_str(const char *req, int status, const char *reason)
{
    bad_lim(req, strlen(req), deflim, status, reason);
}

/* For literals, so that a NUL inside one is part of the request. */
#define bad(lit, status, reason) bad_lim(lit, sizeof(lit) - 1, deflim, status, reason)

static int slice_is(const char *s, size_t n, const char *want)
{
    if (s == NULL)
        return want == NULL;
    return want && strlen(want) == n && memcmp(s, want, n) == 0;
}

#define SLICE(s, n, want) CU_ASSERT(slice_is(s, n, want))

static void test_method_lookup(void)
{
    CU_ASSERT_EQUAL(http_method_lookup("GET", 3), HTTP_M_GET);
    CU_ASSERT_EQUAL(http_method_lookup("HEAD", 4), HTTP_M_HEAD);
    CU_ASSERT_EQUAL(http_method_lookup("POST", 4), HTTP_M_POST);
    CU_ASSERT_EQUAL(http_method_lookup("PUT", 3), HTTP_M_PUT);
    CU_ASSERT_EQUAL(http_method_lookup("PATCH", 5), HTTP_M_PATCH);
    CU_ASSERT_EQUAL(http_method_lookup("DELETE", 6), HTTP_M_DELETE);
    CU_ASSERT_EQUAL(http_method_lookup("OPTIONS", 7), HTTP_M_OPTIONS);
    CU_ASSERT_EQUAL(http_method_lookup("CONNECT", 7), HTTP_M_CONNECT);
    CU_ASSERT_EQUAL(http_method_lookup("TRACE", 5), HTTP_M_TRACE);
    CU_ASSERT_EQUAL(http_method_lookup("get", 3), HTTP_M_OTHER);
    CU_ASSERT_EQUAL(http_method_lookup("GETS", 4), HTTP_M_OTHER);
    CU_ASSERT_EQUAL(http_method_lookup("GET", 2), HTTP_M_OTHER);
    CU_ASSERT_EQUAL(http_method_lookup("", 0), HTTP_M_OTHER);
    CU_ASSERT_EQUAL(http_method_lookup("PROPFIND", 8), HTTP_M_OTHER);
}

static void test_simple_get(void)
{
    const char *req = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";

    CU_ASSERT_FATAL(ok(req));
    SLICE(H.method, H.method_len, "GET");
    SLICE(H.target, H.target_len, "/index.html");
    SLICE(H.path, H.path_len, "/index.html");
    CU_ASSERT_PTR_NULL(H.query);
    CU_ASSERT_EQUAL(H.version_minor, 1);
    CU_ASSERT_EQUAL(H.nheaders, 1);
    SLICE(H.headers[0].name, H.headers[0].name_len, "Host");
    SLICE(H.headers[0].value, H.headers[0].value_len, "example.com");
    SLICE(H.host, H.host_len, "example.com");
    CU_ASSERT_EQUAL(H.content_length, -1);
    CU_ASSERT_FALSE(H.chunked);
    CU_ASSERT_FALSE(H.conn_close || H.conn_keepalive || H.conn_upgrade || H.expect_continue);
    CU_ASSERT_PTR_NULL(H.upgrade);
    CU_ASSERT_EQUAL(H.head_len, strlen(req));
    CU_ASSERT_PTR_EQUAL(H.headers, hdrs);
}

static void test_headers_and_ows(void)
{
    const char *req = "POST /form HTTP/1.1\r\n"
                      "Host:a.b\r\n"
                      "X-Empty:\r\n"
                      "X-Blank: \t \r\n"
                      "X-Ows:  \t inner  value \t\r\n"
                      "X-Obs: caf\xc3\xa9 \x80\xff\r\n"
                      "X-Tab:a\tb\r\n"
                      "Content-Length: 5\r\n"
                      "\r\nhello";

    CU_ASSERT_FATAL(ok(req));
    CU_ASSERT_EQUAL(H.nheaders, 7);
    SLICE(H.headers[0].value, H.headers[0].value_len, "a.b");
    SLICE(H.headers[1].name, H.headers[1].name_len, "X-Empty");
    CU_ASSERT_EQUAL(H.headers[1].value_len, 0);
    CU_ASSERT_EQUAL(H.headers[2].value_len, 0);
    SLICE(H.headers[3].value, H.headers[3].value_len, "inner  value");
    SLICE(H.headers[4].value, H.headers[4].value_len, "caf\xc3\xa9 \x80\xff");
    SLICE(H.headers[5].value, H.headers[5].value_len, "a\tb");
    CU_ASSERT_EQUAL(H.content_length, 5);
    CU_ASSERT_EQUAL(H.head_len, strlen(req) - 5);
}

static void test_query_split(void)
{
    CU_ASSERT_FATAL(ok("GET /a/b?x=1&y=2?z HTTP/1.1\r\nHost: h\r\n\r\n"));
    SLICE(H.path, H.path_len, "/a/b");
    SLICE(H.query, H.query_len, "x=1&y=2?z");
    CU_ASSERT_FATAL(ok("GET /? HTTP/1.1\r\nHost: h\r\n\r\n"));
    SLICE(H.path, H.path_len, "/");
    CU_ASSERT_PTR_NOT_NULL(H.query);
    CU_ASSERT_EQUAL(H.query_len, 0);
    CU_ASSERT_FATAL(ok("GET /%20a'b!$&()*+,;=:@~ HTTP/1.1\r\nHost: h\r\n\r\n"));
    SLICE(H.path, H.path_len, "/%20a'b!$&()*+,;=:@~");
}

static void test_absolute_form(void)
{
    CU_ASSERT_FATAL(ok("GET http://example.com:8080/p/q?r=s HTTP/1.1\r\nHost: x\r\n\r\n"));
    SLICE(H.target, H.target_len, "http://example.com:8080/p/q?r=s");
    SLICE(H.path, H.path_len, "/p/q");
    SLICE(H.query, H.query_len, "r=s");
    /* RFC 9112 3.2.2: the authority of the target overrides Host. */
    SLICE(H.host, H.host_len, "example.com:8080");
    SLICE(H.headers[0].value, H.headers[0].value_len, "x");
    CU_ASSERT_FATAL(ok("GET HTTPS://Example.COM HTTP/1.1\r\nHost: x\r\n\r\n"));
    SLICE(H.path, H.path_len, "/");
    SLICE(H.host, H.host_len, "Example.COM");
    CU_ASSERT_PTR_NULL(H.query);
    CU_ASSERT_FATAL(ok("GET http://h?q HTTP/1.1\r\nHost: x\r\n\r\n"));
    SLICE(H.path, H.path_len, "/");
    SLICE(H.query, H.query_len, "q");
    CU_ASSERT_FATAL(ok("GET http://[::1]:80/ HTTP/1.1\r\nHost: x\r\n\r\n"));
    SLICE(H.path, H.path_len, "/");
    CU_ASSERT_FATAL(ok("OPTIONS http://h/ HTTP/1.0\r\n\r\n"));
    SLICE(H.host, H.host_len, "h");
    CU_ASSERT_FATAL(ok("GET http://a%41b:/ HTTP/1.1\r\nHost: x\r\n\r\n"));
}

static void test_asterisk_and_connect(void)
{
    CU_ASSERT_FATAL(ok("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"));
    SLICE(H.target, H.target_len, "*");
    SLICE(H.path, H.path_len, "*");
    CU_ASSERT_PTR_NULL(H.query);
    CU_ASSERT_FATAL(ok("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"));
    SLICE(H.target, H.target_len, "example.com:443");
    SLICE(H.path, H.path_len, "example.com:443");
    CU_ASSERT_PTR_NULL(H.query);
    CU_ASSERT_FATAL(ok("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: h\r\n\r\n"));
}

static void test_http10(void)
{
    CU_ASSERT_FATAL(ok("GET / HTTP/1.0\r\n\r\n"));
    CU_ASSERT_EQUAL(H.version_minor, 0);
    CU_ASSERT_PTR_NULL(H.host);
    CU_ASSERT_EQUAL(H.nheaders, 0);
    CU_ASSERT_EQUAL(H.head_len, 18);
    CU_ASSERT_FATAL(ok("GET / HTTP/1.0\r\nHost: h\r\nConnection: keep-alive\r\n\r\n"));
    CU_ASSERT_TRUE(H.conn_keepalive);
    SLICE(H.host, H.host_len, "h");
}

static void test_leading_empty_lines(void)
{
    CU_ASSERT_FATAL(ok("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"));
    SLICE(H.method, H.method_len, "GET");
    CU_ASSERT_FATAL(ok("\r\n\r\n\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n"));
    SLICE(H.method, H.method_len, "GET");
    SLICE(H.path, H.path_len, "/x");
    CU_ASSERT_EQUAL(H.head_len, strlen("\r\n\r\n\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n"));
    bad("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "too many empty lines");
    bad("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bare LF");
    bad("\r\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bare CR");
    bad("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bare CR");
}

static void test_connection_expect_upgrade(void)
{
    CU_ASSERT_FATAL(ok("GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n"));
    CU_ASSERT_TRUE(H.conn_close);
    CU_ASSERT_FALSE(H.conn_keepalive);
    CU_ASSERT_FATAL(ok("GET / HTTP/1.1\r\nHost: h\r\nconnection: ,, foo , KEEP-ALIVE,\r\n"
                       "CONNECTION: Upgrade\r\nUpgrade: websocket\r\nUpgrade: h2c\r\n\r\n"));
    CU_ASSERT_FALSE(H.conn_close);
    CU_ASSERT_TRUE(H.conn_keepalive);
    CU_ASSERT_TRUE(H.conn_upgrade);
    SLICE(H.upgrade, H.upgrade_len, "websocket");
    CU_ASSERT_FATAL(ok("GET / HTTP/1.1\r\nHost: h\r\nConnection:\r\n\r\n"));
    CU_ASSERT_FALSE(H.conn_close || H.conn_keepalive || H.conn_upgrade);
    CU_ASSERT_FATAL(ok("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed, upgrades\r\n\r\n"));
    CU_ASSERT_FALSE(H.conn_close || H.conn_upgrade);
    CU_ASSERT_FATAL(
        ok("PUT / HTTP/1.1\r\nHost: h\r\nExpect:  100-Continue \r\nContent-Length: 1\r\n\r\n"));
    CU_ASSERT_TRUE(H.expect_continue);
    CU_ASSERT_FATAL(ok("PUT / HTTP/1.1\r\nHost: h\r\nExpect: ,100-continue,\r\n"
                       "Expect:\r\nExpect: 100-continue\r\n\r\n"));
    CU_ASSERT_TRUE(H.expect_continue);
    /* Any other expectation cannot be met (RFC 9110 10.1.1): 417. */
    bad("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", 417, "unsupported expectation");
    bad("PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, foo=1\r\n\r\n", 417,
        "unsupported expectation");
    bad("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continued\r\n\r\n", 417,
        "unsupported expectation");
    /* HTTP/1.0 knows neither (RFC 9110 10.1.1, 7.8): ignored. */
    CU_ASSERT_FATAL(ok("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nUpgrade: h2c\r\n"
                       "Connection: upgrade\r\n\r\n"));
    CU_ASSERT_FALSE(H.expect_continue);
    CU_ASSERT_PTR_NULL(H.upgrade);
    CU_ASSERT_TRUE(H.conn_upgrade);
    CU_ASSERT_FATAL(ok("GET / HTTP/1.0\r\nExpect: 200-ok\r\n\r\n"));
    CU_ASSERT_FATAL(ok("GET / HTTP/1.1\r\nHost: h\r\nUpgrade:\r\n\r\n"));
    CU_ASSERT_PTR_NOT_NULL(H.upgrade);
    CU_ASSERT_EQUAL(H.upgrade_len, 0);
    bad("GET / HTTP/1.1\r\nHost: h\r\nConnection: a b\r\n\r\n", 400, "bad Connection");
    bad("GET / HTTP/1.1\r\nHost: h\r\nConnection: \"close\"\r\n\r\n", 400, "bad Connection");
}

/* Names as long as the ones with meaning, but different: plain fields. */
static void test_lookalike_names(void)
{
    CU_ASSERT_FATAL(ok("POST / HTTP/1.1\r\nHost: h\r\nHosz: a b\r\nExpecz: 100-continue\r\n"
                       "Upgradz: x\r\nConnectioz: close\r\nContent-Lengtz: x\r\n"
                       "Transfer-Encodinz: gzip\r\nContent-Length2: 1\r\n\r\n"));
    CU_ASSERT_EQUAL(H.nheaders, 8);
    CU_ASSERT_EQUAL(H.content_length, -1);
    CU_ASSERT_FALSE(H.chunked || H.conn_close || H.expect_continue);
    CU_ASSERT_PTR_NULL(H.upgrade);
    SLICE(H.host, H.host_len, "h");
}

static void test_content_length(void)
{
    CU_ASSERT_FATAL(ok("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n"));
    CU_ASSERT_EQUAL(H.content_length, 0);
    CU_ASSERT_FATAL(ok("POST / HTTP/1.1\r\nHost: h\r\ncontent-length: 42\r\n"
                       "Content-Length: 42\r\n\r\n"));
    CU_ASSERT_EQUAL(H.content_length, 42);
    CU_ASSERT_FATAL(ok("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 7 ,7,  7\r\n\r\n"));
    CU_ASSERT_EQUAL(H.content_length, 7);
    CU_ASSERT_FATAL(
        ok("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n"));
    CU_ASSERT_EQUAL(H.content_length, INT64_MAX);
    CU_ASSERT_FATAL(ok("POST / HTTP/1.0\r\nContent-Length: 0003\r\n\r\n"));
    CU_ASSERT_EQUAL(H.content_length, 3);

    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n", 400,
        "Content-Length too large");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 400,
        "Content-Length too large");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400,
        "conflicting Content-Length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n", 400,
        "conflicting Content-Length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n", 400, "bad Content-Length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", 400, "bad Content-Length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1 2\r\n\r\n", 400, "bad Content-Length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400, "bad Content-Length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n", 400, "bad Content-Length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1,\r\n\r\n", 400, "bad Content-Length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ,1\r\n\r\n", 400, "bad Content-Length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1.0\r\n\r\n", 400, "bad Content-Length");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: \xd9\xa1\r\n\r\n", 400,
        "bad Content-Length");
}

static void test_transfer_encoding(void)
{
    CU_ASSERT_FATAL(ok("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"));
    CU_ASSERT_TRUE(H.chunked);
    CU_ASSERT_EQUAL(H.content_length, -1);
    CU_ASSERT_FATAL(ok("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: , CHUNKED ,\r\n\r\n"));
    CU_ASSERT_TRUE(H.chunked);
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        400, "empty Transfer-Encoding");

    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
        "unsupported transfer coding");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        501, "unsupported transfer coding");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: foo ; q=1, chunked\r\n\r\n", 501,
        "unsupported transfer coding");
    /* chunked not last: the length is unknowable, 400 (RFC 9112 6.1 MUST),
     * though the coding is also one we do not implement */
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n", 400,
        "chunked not final");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n", 400, "chunked not final");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: foo ; q=1\r\n\r\n", 400,
        "chunked not final");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n", 400,
        "chunked not final");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400,
        "chunked not final");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: gzip\r\n\r\n",
        400, "chunked not final");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400,
        "chunked applied twice");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n",
        400, "chunked applied twice");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n", 400, "empty Transfer-Encoding");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: , ,\r\n\r\n", 400,
        "empty Transfer-Encoding");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", 400,
        "bad Transfer-Encoding");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked x\r\n\r\n", 400,
        "bad Transfer-Encoding");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunk\r\n\r\n", 400, "chunked not final");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 400,
        "chunked not final");
    bad("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
        "Transfer-Encoding in HTTP/1.0");
    bad("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        400, "Content-Length with Transfer-Encoding");
    bad("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        400, "Content-Length with Transfer-Encoding");
}

static void test_host(void)
{
    static const char *const good[] = {
        "h",
        "example.com",
        "example.com:80",
        "EXAMPLE.com:",
        "127.0.0.1:8080",
        "[::1]",
        "[::1]:443",
        "[v1.x]",
        "[VaF.a:b!]",
        "[1:2:3:4:5:6:7:8]",
        "[::ffff:1.2.3.4]",
        "a-b_c~d.e",
        "xn--bcher-kva.example",
        "%41bc",
        "a,b",
    };
    static const char *const badh[] = {
        "",       "a b",          "a/b",
        "user@h", "h:80x",        "h:-1",
        "[::1",   "[]",           "[::1]x",
        "h:1:2",  "%4",           "%zz",
        "a\"b",   "a<b",          "\xc3\xa9",
        "a?b",    "a\\b",         ":80",
        "[zz::]", "[1:2]",        "[1:2:3:4:5:6:7:8:9]",
        "[v.x]",  "[vz.x]",       "[v1.]",
        "[v1]",   "[::1%25eth0]", "[::1]]",
        "[[::1]", "[::1]:x",      "[v1",
        "[v1.a",  "[v",           "[",
    };
    char req[256];
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", good[i]);
        CU_ASSERT(ok(req));
        SLICE(H.host, H.host_len, good[i]);
    }
    for (i = 0; i < sizeof(badh) / sizeof(badh[0]); i++) {
        snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", badh[i]);
        bad_str(req, 400, "bad Host");
    }
    bad("GET / HTTP/1.1\r\n\r\n", 400, "missing Host");
    bad("GET / HTTP/1.1\r\nX-Host: h\r\n\r\n", 400, "missing Host");
    bad("GET / HTTP/1.1\r\nHost: h\r\nhost: h\r\n\r\n", 400, "duplicate Host");
    bad("GET / HTTP/1.0\r\nHost: h\r\nHost: i\r\n\r\n", 400, "duplicate Host");
    bad("GET http://h/ HTTP/1.1\r\n\r\n", 400, "missing Host");
}

static void test_request_line_errors(void)
{
    bad("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad request-target");
    bad("GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad method");
    bad("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad method");
    bad("GET /\tHTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad request-target");
    bad("G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad method");
    bad("GET\r\n\r\n", 400, "bad method");
    bad("GET /\r\n\r\n", 400, "bad request-target");
    bad("GET / \r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTP/1.1\nHost: h\r\n\r\n", 400, "bare LF");
    bad("GET / HTTP/1.1\rHost: h\r\n\r\n", 400, "bare CR");
    bad("GET\n/ HTTP/1.1\r\n\r\n", 400, "bare LF");
    bad("GET /\n HTTP/1.1\r\n\r\n", 400, "bare LF");
    bad("GET / HTTP/1.1\r\r\n", 400, "bare CR");
    bad("GET / http/1.1\r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTP/1.\r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTP/1\r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTP/1.10\r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTP/01.1\r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTP/1,1\r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTP/a.b\r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTP/x.1\r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTP/1.1x\r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTPS/1.1\r\nHost: h\r\n\r\n", 400, "bad HTTP version");
    bad("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "HTTP version not supported");
    /* a later minor version is served as 1.1 (RFC 9110 6.2), Host and all */
    CU_ASSERT_FATAL(ok("GET / HTTP/1.2\r\nHost: h\r\n\r\n"));
    CU_ASSERT_EQUAL(H.version_minor, 1);
    CU_ASSERT_FATAL(ok("GET / HTTP/1.9\r\nHost: h\r\nExpect: 100-continue\r\n\r\n"));
    CU_ASSERT_TRUE(H.version_minor == 1 && H.expect_continue);
    bad("GET / HTTP/1.2\r\n\r\n", 400, "missing Host");
    bad("GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505, "HTTP version not supported");
    bad("GET / HTTP/9.9\r\n", 505, "HTTP version not supported");
    bad("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400, "fragment in request-target");
    bad("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad request-target");
    bad("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad request-target");
    bad("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad request-target");
    bad("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400, "asterisk-form only for OPTIONS");
    bad("OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad request-target");
    bad("GET example.com:80 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad request-target");
    bad("GET a/b HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad request-target");
    bad("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad request-target");
    bad("GET http:/h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad request-target");
    bad("GET http:// HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad authority in request-target");
    bad("GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad authority in request-target");
    bad("GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad authority in request-target");
    bad("GET http://h:x/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "bad authority in request-target");
    bad("CONNECT / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "CONNECT needs authority-form");
    bad("CONNECT h HTTP/1.1\r\nHost: h\r\n\r\n", 400, "CONNECT needs authority-form");
    bad("CONNECT h: HTTP/1.1\r\nHost: h\r\n\r\n", 400, "CONNECT needs authority-form");
    bad("CONNECT http://h:1/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "CONNECT needs authority-form");
    bad("\x00GET / HTTP/1.1\r\n", 400, "bad method");
}

static void test_field_errors(void)
{
    bad("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400, "space before colon");
    bad("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n", 400, "space before colon");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX-A : b\r\n\r\n", 400, "space before colon");
    bad("GET / HTTP/1.1\r\n: h\r\n\r\n", 400, "empty field name");
    bad("GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400, "obs-fold not allowed");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold not allowed");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400, "obs-fold not allowed");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX\r\n\r\n", 400, "bad field name");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX(: a\r\n\r\n", 400, "bad field name");
    bad("GET / HTTP/1.1\r\nHost: h\r\n\xc3\xa9: a\r\n\r\n", 400, "bad field name");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", 400, "bad field value");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", 400, "bad field value");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\x1b[0m\r\n\r\n", 400, "bad field value");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400, "bare CR");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\nY: b\r\n\r\n", 400, "bare LF");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\n", 400, "bare LF");
    bad("GET / HTTP/1.1\r\nHost: h\r\n\n", 400, "bare LF");
    bad("GET / HTTP/1.1\r\nHost: h\r\n\rX", 400, "bare CR");
    bad("GET / HTTP/1.1\r\nHost: h\nX: a\r\n\r\n", 400, "bare LF");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX\n: a\r\n\r\n", 400, "bare LF");
    bad("GET / HTTP/1.1\r\nHost: h\r\nX:\n\r\n", 400, "bare LF");
}

/* Static lengths of the request below, for the limit tests. */
#define REQ_431 "GET /abc HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n"

static void test_limits(void)
{
    const char *req = REQ_431;
    size_t n = strlen(req);
    struct limits l = deflim;
    char big[600];

    l.head = n;
    CU_ASSERT(ok_lim(req, n, l));
    l.head = n - 1;
    bad_lim(req, n, l, 431, "header too large");
    l.head = 10; /* the request line alone is over it */
    bad_lim(req, n, l, 431, "header too large");
    /* Reported as soon as one byte too many is there, not at the line end. */
    http_parser_init(&P, 10, 100, hdrs, MAXH);
    CU_ASSERT_EQUAL(http_parse_request(&P, "GET /abcde", 10, &H), 0);
    CU_ASSERT_EQUAL(http_parse_request(&P, "GET /abcdef", 11, &H), -1);
    CU_ASSERT_EQUAL(P.status, 431);

    l = deflim;
    l.headers = 3;
    CU_ASSERT(ok_lim(req, n, l));
    l.headers = 2;
    bad_lim(req, n, l, 431, "too many header fields");
    l.headers = 0;
    bad_lim(req, n, l, 431, "too many header fields");
    CU_ASSERT(ok_lim("GET / HTTP/1.0\r\n\r\n", 18, l));

    l = deflim;
    l.target = 4;
    CU_ASSERT(ok_lim(req, n, l));
    l.target = 3;
    bad_lim(req, n, l, 414, "request-target too long");
    http_parser_init(&P, HEAD_MAX, 3, hdrs, MAXH);
    CU_ASSERT_EQUAL(http_parse_request(&P, "GET /ab", 7, &H), 0);
    CU_ASSERT_EQUAL(http_parse_request(&P, "GET /abc", 8, &H), -1);
    CU_ASSERT_EQUAL(P.status, 414);
    /* Too long wins over what follows the overflow, consistently. */
    bad_lim("GET /abcd#", 10, l, 414, "request-target too long");
    bad_lim("GET /ab#", 8, l, 400, "fragment in request-target");
    bad_lim("GET /a?cd HTTP/1.1\r\n", 20, l, 414, "request-target too long");

    /* A long, valid head parses, whole and in pieces. */
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /", 5);
    memcpy(big + 400, " HTTP/1.1\r\nHost: h\r\nX: ", 23);
    memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
    CU_ASSERT(ok_lim(big, sizeof(big), deflim));
    CU_ASSERT_EQUAL(H.target_len, 396);
    CU_ASSERT_EQUAL(H.headers[1].value_len, sizeof(big) - 4 - 423);
}

static void test_pipelined_and_sticky(void)
{
    const char *two = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n";
    size_t n = strlen(two);

    CU_ASSERT_EQUAL(parse(two), 1);
    CU_ASSERT_EQUAL(H.head_len, n / 2);
    SLICE(H.path, H.path_len, "/1");
    /* After completion it repeats itself and touches nothing. */
    memset(&H, 0, sizeof(H));
    CU_ASSERT_EQUAL(http_parse_request(&P, two, n, &H), 1);
    CU_ASSERT_PTR_NULL(H.method);
    http_parser_init(&P, HEAD_MAX, TARGET_MAX, hdrs, MAXH);
    CU_ASSERT_EQUAL(http_parse_request(&P, two + n / 2, n / 2, &H), 1);
    SLICE(H.path, H.path_len, "/2");
    /* A shrinking buffer is a caller bug, but must not be read past. */
    http_parser_init(&P, HEAD_MAX, TARGET_MAX, hdrs, MAXH);
    CU_ASSERT_EQUAL(http_parse_request(&P, two, 10, &H), 0);
    CU_ASSERT_EQUAL(http_parse_request(&P, two, 5, &H), 0);
    CU_ASSERT_EQUAL(http_parse_request(&P, two, 0, &H), 0);
    CU_ASSERT_EQUAL(http_parse_request(&P, two, n, &H), 1);
}

/* The same request with a many-header head, fed a byte at a time from a
 * buffer that moves every call; also checks offsets become pointers. */
static void test_moving_buffer(void)
{
    const char *req = "\r\nPATCH /x/y?z HTTP/1.1\r\nHost: [::1]:8\r\nA: 1\r\nBb:  2 \r\n"
                      "Connection: close\r\nUpgrade: foo/1\r\nExpect: 100-continue\r\n"
                      "Content-Length: 12\r\n\r\n";

    CU_ASSERT_FATAL(ok(req));
    CU_ASSERT_EQUAL(http_method_lookup(H.method, H.method_len), HTTP_M_PATCH);
    SLICE(H.query, H.query_len, "z");
    SLICE(H.host, H.host_len, "[::1]:8");
    SLICE(H.headers[2].value, H.headers[2].value_len, "2");
    SLICE(H.upgrade, H.upgrade_len, "foo/1");
    CU_ASSERT_TRUE(H.conn_close && H.expect_continue);
    CU_ASSERT_EQUAL(H.content_length, 12);
    CU_ASSERT_EQUAL(H.nheaders, 7);
}

/* Byte classes, checked one byte at a time against the RFC definitions
 * written out independently of the parser's table. */
static int is_tchar(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_host(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("-._~!$&'()*+,;=", c));
}

static int is_qdtext(int c)
{
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
           (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

static void check_byte(const char *fmt_pre, int c, const char *post, int want)
{
    char req[128];
    size_t n = strlen(fmt_pre);
    int rc;

    memcpy(req, fmt_pre, n);
    req[n++] = (char)c;
    memcpy(req + n, post, strlen(post));
    n += strlen(post);
    rc = parse_lim(req, n, deflim);
    if (rc != (want ? 1 : -1))
        show(want ? "byte should pass" : "byte should fail", req, n);
    CU_ASSERT_EQUAL(rc, want ? 1 : -1);
}

static void test_byte_classes(void)
{
    int c;

    for (c = 0; c < 256; c++) {
        check_byte("G", c, "T / HTTP/1.1\r\nHost: h\r\n\r\n", is_tchar(c));
        check_byte("GET /a", c, "b HTTP/1.1\r\nHost: h\r\n\r\n", c > 0x20 && c < 0x7f && c != '#');
        if (c != ':')
            check_byte("GET / HTTP/1.1\r\nHost: h\r\nX", c, "y: v\r\n\r\n", is_tchar(c));
        check_byte("GET / HTTP/1.1\r\nHost: h\r\nX: a", c, "b\r\n\r\n",
                   c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f));
        check_byte("GET / HTTP/1.1\r\nHost: a", c, "b\r\n\r\n", is_host(c));
    }
}

/* The same classes where the scanners go a word at a time: the probe byte
 * at every position of three words, so each lane of the word tests is hit. */
static void test_byte_classes_wide(void)
{
    char pre[64], post[64];
    int c;
    size_t pos;

    for (pos = 0; pos < 24; pos++) {
        for (c = 0; c < 256; c++) {
            snprintf(pre, sizeof(pre), "GET / HTTP/1.1\r\nHost: h\r\nX: a%.*s", (int)pos,
                     "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
            snprintf(post, sizeof(post), "%.*sz\r\n\r\n", (int)(24 - pos),
                     "cccccccccccccccccccccccccccccc");
            check_byte(pre, c, post, c == '\t' || c == ' ' || (c > 0x20 && c != 0x7f));
            snprintf(pre, sizeof(pre), "GET /%.*s", (int)pos, "dddddddddddddddddddddddddddddd");
            snprintf(post, sizeof(post), "%.*s HTTP/1.1\r\nHost: h\r\n\r\n", (int)(24 - pos),
                     "eeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
            check_byte(pre, c, post, c > 0x20 && c < 0x7f && c != '#');
        }
    }
}

/*
 * Chunked decoder.
 */

struct decoded {
    int rc;        /* last result: DONE, ERROR or MORE when input ran out */
    size_t used;   /* bytes consumed in all */
    char out[512]; /* data, concatenated */
    size_t out_len;
    const char *reason;
};

/* Decodes in[0..len) delivered `step` bytes at a time; each delivery is a
 * fresh heap block holding only the bytes not consumed yet, so a slice that
 * points anywhere else is caught by ASan. */
static void decode(const char *in, size_t len, size_t step, struct http_chunked *c,
                   struct decoded *d)
{
    size_t pos = 0, avail = 0;

    memset(d, 0, sizeof(*d));
    d->rc = HTTP_CHUNKED_MORE;
    while (d->rc == HTTP_CHUNKED_MORE || d->rc == HTTP_CHUNKED_DATA) {
        char *b;
        const char *data;
        size_t used, dlen;
        if (d->rc == HTTP_CHUNKED_MORE) {
            if (avail == len)
                break;
            avail = avail + step < len ? avail + step : len;
        }
        b = dup_block(in + pos, avail - pos);
        d->rc = http_chunked_parse(c, b, avail - pos, &used, &data, &dlen);
        CU_ASSERT(used <= avail - pos);
        if (d->rc == HTTP_CHUNKED_DATA) {
            CU_ASSERT(dlen > 0 && data >= b && data + dlen <= b + used);
            CU_ASSERT_FATAL(d->out_len + dlen <= sizeof(d->out));
            memcpy(d->out + d->out_len, data, dlen);
            d->out_len += dlen;
        } else {
            CU_ASSERT(data == NULL && dlen == 0);
        }
        if (d->rc == HTTP_CHUNKED_MORE)
            CU_ASSERT_EQUAL(used, avail - pos);
        free(b);
        pos += used;
    }
    d->used = pos;
    d->reason = c->reason;
}

static void decode_default(const char *in, size_t len, size_t step, struct decoded *d)
{
    struct http_chunked c;

    http_chunked_init(&c);
    decode(in, len, step, &c, d);
}

/* A valid body: the data and the bytes consumed, at every fragmentation. */
static void chunk_ok(const char *in, const char *want, size_t trailing)
{
    size_t len = strlen(in), step;
    struct decoded d;

    for (step = 1; step <= len; step++) {
        decode_default(in, len, step, &d);
        if (d.rc != HTTP_CHUNKED_DONE)
            fprintf(stderr, "\nchunked body should pass (step %zu): %s (%s)\n", step, in,
                    d.reason ? d.reason : "-");
        CU_ASSERT_EQUAL(d.rc, HTTP_CHUNKED_DONE);
        CU_ASSERT_EQUAL(d.used, len - trailing);
        CU_ASSERT(d.out_len == strlen(want) && memcmp(d.out, want, d.out_len) == 0);
    }
}

static void chunk_bad(const char *in, size_t len, const char *reason)
{
    size_t step;
    struct decoded d;

    for (step = 1; step <= len; step++) {
        decode_default(in, len, step, &d);
        if (d.rc != HTTP_CHUNKED_ERROR || (reason && strcmp(d.reason, reason) != 0))
            fprintf(stderr, "\nchunked body should fail (step %zu) with %s: rc %d %s\n", step,
                    reason ? reason : "-", d.rc, d.reason ? d.reason : "-");
        CU_ASSERT_EQUAL(d.rc, HTTP_CHUNKED_ERROR);
        if (reason)
            CU_ASSERT(d.reason && strcmp(d.reason, reason) == 0);
    }
}

#define REASON_IS(r, want) CU_ASSERT((r) != NULL && strcmp((r), (want)) == 0)
#define CHUNK_BAD(s, reason) chunk_bad(s, sizeof(s) - 1, reason)

static void test_chunked_valid(void)
{
    struct http_chunked c;

    http_chunked_init(&c);
    CU_ASSERT_EQUAL(c.max_line, 4096);
    CU_ASSERT_EQUAL(c.max_trailer, 16384);
    chunk_ok("0\r\n\r\n", "", 0);
    chunk_ok("5\r\nhello\r\n0\r\n\r\n", "hello", 0);
    chunk_ok("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1\r\n", "hello world", 16);
    chunk_ok("a\r\n0123456789\r\nA\r\nabcdefghij\r\n00\r\n\r\n", "0123456789abcdefghij", 0);
    chunk_ok("000000000000000000000000001\r\nx\r\n0\r\n\r\n", "x", 0);
    chunk_ok("1\r\n\r\r\n1\r\n\n\r\n0\r\n\r\n", "\r\n", 0);
    chunk_ok("0\r\nX-Trailer: v\r\nY:\r\nZ: a b\t\xff\r\n\r\nrest", "", 4);
}

static void test_chunked_extensions(void)
{
    chunk_ok("3;a\r\nabc\r\n0\r\n\r\n", "abc", 0);
    chunk_ok("3;a=b\r\nabc\r\n0;last\r\n\r\n", "abc", 0);
    chunk_ok("3;a=b;c;d=e\r\nabc\r\n0\r\n\r\n", "abc", 0);
    chunk_ok("3 ;a\r\nabc\r\n0\r\n\r\n", "abc", 0);
    chunk_ok("3\t; a = b ; c\r\nabc\r\n0\r\n\r\n", "abc", 0);
    chunk_ok("3;a=\"\"\r\nabc\r\n0\r\n\r\n", "abc", 0);
    chunk_ok("3;a=\"x y;z=\\\"q\\\\\"\r\nabc\r\n0\r\n\r\n", "abc", 0);
    chunk_ok("3;a=\"\xe9\t\"\r\nabc\r\n0\r\n\r\n", "abc", 0);
    chunk_ok("3;a=\"x\" ;b\r\nabc\r\n0\r\n\r\n", "abc", 0);
    chunk_ok("3;!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~\r\nabc\r\n0\r\n\r\n", "abc", 0);
}

static void test_chunked_errors(void)
{
    CHUNK_BAD("\r\n", "bad chunk size");
    CHUNK_BAD(";a\r\n", "bad chunk size");
    CHUNK_BAD(" 5\r\nhello\r\n0\r\n\r\n", "bad chunk size");
    CHUNK_BAD("5 \r\nhello\r\n0\r\n\r\n", "bad chunk size");
    CHUNK_BAD("5\t\r\nhello\r\n0\r\n\r\n", "bad chunk size");
    CHUNK_BAD("5 5\r\nhello\r\n0\r\n\r\n", "bad chunk size");
    CHUNK_BAD("0x5\r\nhello\r\n0\r\n\r\n", "bad chunk size");
    CHUNK_BAD("+5\r\nhello\r\n0\r\n\r\n", "bad chunk size");
    CHUNK_BAD("-0\r\n\r\n", "bad chunk size");
    CHUNK_BAD("g\r\n", "bad chunk size");
    CHUNK_BAD("5g\r\n", "bad chunk size");
    CHUNK_BAD("5\n", "bare LF");
    CHUNK_BAD("5\rx", "bare CR");
    CHUNK_BAD("5\r\r\n", "bare CR");
    CHUNK_BAD("8000000000000000\r\n", "chunk size too large");
    CHUNK_BAD("10000000000000000\r\n", "chunk size too large");
    CHUNK_BAD("ffffffffffffffffff\r\n", "chunk size too large");
    CHUNK_BAD("5\r\nhelloX\r\n0\r\n\r\n", "no CRLF after chunk data");
    CHUNK_BAD("5\r\nhello\n0\r\n\r\n", "bare LF");
    CHUNK_BAD("5\r\nhello\r0\r\n\r\n", "bare CR");
    CHUNK_BAD("5\r\nhello0\r\n\r\n", "no CRLF after chunk data");
    CHUNK_BAD("5;\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;=b\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a=\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a= \r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a \r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a=b \r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a=\"b\" \r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a=\"b\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a=\"b\"c\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a=\"\x01\"\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a=\"\\\x01\"\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a=\"\x7f\"\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a=b c\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a b\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a=b=c\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a=b =c\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a=\"b\" =c\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5 =c\r\nhello\r\n", "bad chunk size");
    CHUNK_BAD("5;a(\r\nhello\r\n", "bad chunk extension");
    CHUNK_BAD("5;a\n", "bare LF");
    CHUNK_BAD("5;a=\"x\"\n", "bare LF");
    CHUNK_BAD("5;a\x00\r\n", "bad chunk extension");
    CHUNK_BAD("0\r\n X: y\r\n\r\n", "obs-fold not allowed");
    CHUNK_BAD("0\r\nX: y\r\n\tz\r\n\r\n", "obs-fold not allowed");
    CHUNK_BAD("0\r\nX : y\r\n\r\n", "space before colon");
    CHUNK_BAD("0\r\n: y\r\n\r\n", "empty field name");
    CHUNK_BAD("0\r\nX\r\n\r\n", "bad field name");
    CHUNK_BAD("0\r\nX: \x01\r\n\r\n", "bad field value");
    CHUNK_BAD("0\r\nX: a\rb\r\n\r\n", "bare CR");
    CHUNK_BAD("0\r\nX: y\n\r\n", "bare LF");
    CHUNK_BAD("0\r\n\n", "bare LF");
    CHUNK_BAD("0\r\n\rX", "bare CR");
    CHUNK_BAD("0\r\n\xc3\xa9: y\r\n\r\n", "bad field name");
}

static void test_chunked_limits(void)
{
    char in[300];
    struct http_chunked c;
    struct decoded d;
    const char *data;
    size_t used, dlen;

    /* A line of exactly max_line bytes passes; one more fails. */
    http_chunked_init(&c);
    c.max_line = 10;
    decode("1;abcdefgh\r\nx\r\n0\r\n\r\n", 21, 1, &c, &d);
    CU_ASSERT_EQUAL(d.rc, HTTP_CHUNKED_DONE);
    http_chunked_init(&c);
    c.max_line = 10;
    decode("1;abcdefghi\r\nx\r\n0\r\n\r\n", 22, 1, &c, &d);
    CU_ASSERT_EQUAL(d.rc, HTTP_CHUNKED_ERROR);
    REASON_IS(d.reason, "chunk line too long");
    /* Endless hex zeros are bounded by the line limit too. */
    memset(in, '0', sizeof(in));
    http_chunked_init(&c);
    c.max_line = 100;
    decode(in, sizeof(in), 7, &c, &d);
    CU_ASSERT_EQUAL(d.rc, HTTP_CHUNKED_ERROR);
    REASON_IS(d.reason, "chunk line too long");
    /* Trailer lines and the trailer section. */
    http_chunked_init(&c);
    c.max_line = 6;
    decode("0\r\nA: 123\r\n\r\n", 14, 1, &c, &d);
    CU_ASSERT_EQUAL(d.rc, HTTP_CHUNKED_DONE);
    http_chunked_init(&c);
    c.max_line = 6;
    decode("0\r\nA: 1234\r\n\r\n", 15, 1, &c, &d);
    REASON_IS(d.reason, "trailer line too long");
    http_chunked_init(&c);
    c.max_trailer = 11; /* "A: 1\r\nB: 2\r\n" is 12 */
    decode("0\r\nA: 1\r\nB: 2\r\n\r\n", 17, 1, &c, &d);
    REASON_IS(d.reason, "trailers too large");
    http_chunked_init(&c);
    c.max_trailer = 12;
    decode("0\r\nA: 1\r\nB: 2\r\n\r\n", 17, 3, &c, &d);
    CU_ASSERT_EQUAL(d.rc, HTTP_CHUNKED_DONE);
    /* No trailers allowed, yet a body without them passes. */
    http_chunked_init(&c);
    c.max_trailer = 0;
    decode("1\r\nx\r\n0\r\n\r\n", 13, 1, &c, &d);
    CU_ASSERT_EQUAL(d.rc, HTTP_CHUNKED_DONE);
    http_chunked_init(&c);
    c.max_trailer = 0;
    decode("0\r\nA: 1\r\n\r\n", 13, 1, &c, &d);
    REASON_IS(d.reason, "trailers too large");
    /* The largest size is accepted and then streamed. */
    http_chunked_init(&c);
    CU_ASSERT_EQUAL(http_chunked_parse(&c, "7fffffffffffffff\r\nab", 20, &used, &data, &dlen),
                    HTTP_CHUNKED_DATA);
    CU_ASSERT_EQUAL(used, 20);
    CU_ASSERT_EQUAL(dlen, 2);
    CU_ASSERT_EQUAL(c.remaining, (uint64_t)INT64_MAX - 2);
}

static void test_chunked_sticky(void)
{
    struct http_chunked c;
    const char *data;
    size_t used, dlen;

    http_chunked_init(&c);
    CU_ASSERT_EQUAL(http_chunked_parse(&c, "", 0, &used, &data, &dlen), HTTP_CHUNKED_MORE);
    CU_ASSERT_EQUAL(used, 0);
    CU_ASSERT_EQUAL(http_chunked_parse(&c, "2\r\nabc", 6, &used, &data, &dlen), HTTP_CHUNKED_DATA);
    CU_ASSERT_EQUAL(used, 5);
    CU_ASSERT(dlen == 2 && memcmp(data, "ab", 2) == 0);
    CU_ASSERT_EQUAL(http_chunked_parse(&c, "c", 1, &used, &data, &dlen), HTTP_CHUNKED_ERROR);
    CU_ASSERT_EQUAL(http_chunked_parse(&c, "\r\n", 2, &used, &data, &dlen), HTTP_CHUNKED_ERROR);
    CU_ASSERT_EQUAL(used, 0);

    http_chunked_init(&c);
    CU_ASSERT_EQUAL(http_chunked_parse(&c, "0\r\n\r\nX", 6, &used, &data, &dlen),
                    HTTP_CHUNKED_DONE);
    CU_ASSERT_EQUAL(used, 5);
    CU_ASSERT_EQUAL(http_chunked_parse(&c, "X", 1, &used, &data, &dlen), HTTP_CHUNKED_DONE);
    CU_ASSERT_EQUAL(used, 0);
    CU_ASSERT_PTR_NULL(data);
}

/* Every byte after "1;a" and inside a quoted value, against the grammar. */
static void test_chunked_byte_classes(void)
{
    char in[32];
    int c;
    struct decoded d;

    for (c = 0; c < 256; c++) {
        int want = is_tchar(c) || c == '=' || c == ';';
        memcpy(in, "1;a?b\r\nx\r\n0\r\n\r\n", 16);
        in[3] = (char)c;
        decode_default(in, 16, 16, &d);
        CU_ASSERT_EQUAL(d.rc, want ? HTTP_CHUNKED_DONE : HTTP_CHUNKED_ERROR);
        memcpy(in, "1;a=\"?\"\r\nx\r\n0\r\n\r\n", 18);
        in[5] = (char)c;
        decode_default(in, 18, 18, &d);
        CU_ASSERT_EQUAL(d.rc, is_qdtext(c) ? HTTP_CHUNKED_DONE : HTTP_CHUNKED_ERROR);
        /* a second hex digit makes the chunk longer than the input */
        memcpy(in, "1?\r\nx\r\n0\r\n\r\n", 12);
        in[1] = (char)c;
        decode_default(in, 12, 1, &d);
        CU_ASSERT_EQUAL(d.rc, c && strchr("0123456789abcdefABCDEF", c) ? HTTP_CHUNKED_MORE
                                                                       : HTTP_CHUNKED_ERROR);
    }
}

/* A whole exchange: head, then the chunked body after head_len. */
static void test_head_then_body(void)
{
    const char *req = "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nT: 1\r\n\r\nNEXT";
    size_t n = strlen(req);
    struct decoded d;

    CU_ASSERT_FATAL(parse(req) == 1);
    CU_ASSERT_TRUE(H.chunked);
    decode_default(req + H.head_len, n - H.head_len, 1, &d);
    CU_ASSERT_EQUAL(d.rc, HTTP_CHUNKED_DONE);
    CU_ASSERT(d.out_len == 9 && memcmp(d.out, "Wikipedia", 9) == 0);
    CU_ASSERT_EQUAL(H.head_len + d.used, n - 4);
}

int main(void)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"method lookup", test_method_lookup},
        {"simple GET", test_simple_get},
        {"headers and OWS", test_headers_and_ows},
        {"query split", test_query_split},
        {"absolute-form", test_absolute_form},
        {"asterisk-form and CONNECT", test_asterisk_and_connect},
        {"HTTP/1.0", test_http10},
        {"leading empty lines", test_leading_empty_lines},
        {"Connection, Expect, Upgrade", test_connection_expect_upgrade},
        {"look-alike field names", test_lookalike_names},
        {"Content-Length", test_content_length},
        {"Transfer-Encoding", test_transfer_encoding},
        {"Host", test_host},
        {"request line errors", test_request_line_errors},
        {"field errors", test_field_errors},
        {"limits", test_limits},
        {"pipelined and sticky results", test_pipelined_and_sticky},
        {"moving buffer", test_moving_buffer},
        {"byte classes", test_byte_classes},
        {"byte classes, word scans", test_byte_classes_wide},
        {"chunked valid", test_chunked_valid},
        {"chunked extensions", test_chunked_extensions},
        {"chunked errors", test_chunked_errors},
        {"chunked limits", test_chunked_limits},
        {"chunked sticky results", test_chunked_sticky},
        {"chunked byte classes", test_chunked_byte_classes},
        {"head then chunked body", test_head_then_body},
    };
    CU_pSuite suite;
    unsigned failures;
    size_t i;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    suite = CU_add_suite("http_parser", NULL, NULL);
    if (suite == NULL)
        return 1;
    for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
        if (CU_add_test(suite, tests[i].name, tests[i].fn) == NULL)
            return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failures = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failures != 0;
}
