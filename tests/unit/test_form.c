/*
 * test_form.c - unit tests for src/form.c.
 *
 * Multipart bodies are checked through a transcript of the callbacks (part
 * headers, data bytes joined, part ends) so that a body can be fed whole,
 * split at every point, split at every pair of points, and one byte at a
 * time, and every way must give the same transcript, result and reason.
 * Each piece is fed from a fresh heap block that is freed right after, so
 * ASan catches a data slice or a kept pointer into an old piece.
 */
#include "http/form.h"

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

/* ---- urlencoded ---- */

struct pairs {
    char text[1024]; /* "name=value|" for each pair, decoded */
    size_t n;
    size_t stop_at; /* 1-based pair at which the callback stops; 0 never */
};

static int pairs_add(void *arg, const struct form_pair *p)
{
    struct pairs *ps = arg;
    char name[256], value[256];
    size_t len = strlen(ps->text);

    CU_ASSERT(p->name_len > 0);
    CU_ASSERT(p->value != NULL);
    CU_ASSERT_FATAL(form_decode(name, sizeof(name), p->name, p->name_len, FORM_PLUS) >= 0);
    CU_ASSERT_FATAL(form_decode(value, sizeof(value), p->value, p->value_len, FORM_PLUS) >= 0);
    snprintf(ps->text + len, sizeof(ps->text) - len, "%s=%s|", name, value);
    return ++ps->n == ps->stop_at ? -1 : 0;
}

/* The decoded pairs of s, or "ERR" when the parse fails. */
static const char *pairs_of(const char *s, unsigned flags)
{
    static struct pairs ps;

    memset(&ps, 0, sizeof(ps));
    if (form_urlencoded_parse(s, strlen(s), flags, pairs_add, &ps) < 0)
        return "ERR";
    return ps.text;
}

static void test_urlencoded(void)
{
    CU_ASSERT_STRING_EQUAL(pairs_of("", 0), "");
    CU_ASSERT_STRING_EQUAL(pairs_of("a=1&b=2", 0), "a=1|b=2|");
    CU_ASSERT_STRING_EQUAL(pairs_of("a+b=c+d%20e", 0), "a b=c d e|");
    CU_ASSERT_STRING_EQUAL(pairs_of("%41%62%2b=%2B%26%3d", 0), "Ab+=+&=|");
    CU_ASSERT_STRING_EQUAL(pairs_of("a=%zz&b=%4&c=%&d=100%", 0), "a=%zz|b=%4|c=%|d=100%|");
    CU_ASSERT_STRING_EQUAL(pairs_of("&&a=1&&&b&", 0), "a=1|b=|");
    CU_ASSERT_STRING_EQUAL(pairs_of("=skipped&=&x==y=", 0), "x==y=|");
    CU_ASSERT_STRING_EQUAL(pairs_of("a=1;b=2", 0), "a=1;b=2|"); /* WHATWG: '&' only */
    CU_ASSERT_STRING_EQUAL(pairs_of("a=", 0), "a=|");
    CU_ASSERT_STRING_EQUAL(pairs_of("caf%C3%A9=%E2%82%AC", 0), "caf\xc3\xa9=\xe2\x82\xac|");
    CU_ASSERT_STRING_EQUAL(pairs_of("a=1&b=2", FORM_STRICT), "a=1|b=2|");
    CU_ASSERT_STRING_EQUAL(pairs_of("a=1&b=%zz", FORM_STRICT), "ERR");
    CU_ASSERT_STRING_EQUAL(pairs_of("a=%4", FORM_STRICT), "ERR");
    CU_ASSERT_STRING_EQUAL(pairs_of("a%=1", FORM_STRICT), "ERR");
    CU_ASSERT_STRING_EQUAL(pairs_of("=%", FORM_STRICT), "ERR"); /* skipped, still refused */
    CU_ASSERT_STRING_EQUAL(pairs_of("a=%41%", FORM_STRICT), "ERR");
}

static void test_urlencoded_iterator(void)
{
    const char *s = "x=1&&y&z=%zz", *p = s, *end = s + strlen(s);
    struct form_pair pr;

    CU_ASSERT_EQUAL(form_urlencoded_next(&p, end, FORM_STRICT, &pr), 1);
    CU_ASSERT(pr.name == s && pr.name_len == 1 && pr.value == s + 2 && pr.value_len == 1);
    CU_ASSERT_EQUAL(form_urlencoded_next(&p, end, FORM_STRICT, &pr), 1);
    CU_ASSERT(pr.name == s + 5 && pr.name_len == 1 && pr.value == s + 6 && pr.value_len == 0);
    CU_ASSERT_EQUAL(form_urlencoded_next(&p, end, FORM_STRICT, &pr), -1);
    CU_ASSERT(p == s + 7); /* on the bad pair */
    CU_ASSERT_EQUAL(form_urlencoded_next(&p, end, 0, &pr), 1);
    CU_ASSERT(pr.value == s + 9 && pr.value_len == 3);
    CU_ASSERT_EQUAL(form_urlencoded_next(&p, end, 0, &pr), 0);
    CU_ASSERT_EQUAL(form_urlencoded_next(&p, end, 0, &pr), 0);
    CU_ASSERT(p == end);
}

static void test_urlencoded_stop(void)
{
    struct pairs ps;

    memset(&ps, 0, sizeof(ps));
    ps.stop_at = 2;
    CU_ASSERT_EQUAL(form_urlencoded_parse(S("a=1&b=2&c=3"), 0, pairs_add, &ps), -1);
    CU_ASSERT_STRING_EQUAL(ps.text, "a=1|b=2|");
    CU_ASSERT_EQUAL(form_urlencoded_parse(NULL, 0, 0, pairs_add, &ps), 0);
}

static void test_decode(void)
{
    char buf[32], in[] = "a%20b+c%zz";

    CU_ASSERT_EQUAL(form_decode(buf, sizeof(buf), S("a+b%2Bc"), 0), 5);
    CU_ASSERT_STRING_EQUAL(buf, "a+b+c");
    CU_ASSERT_EQUAL(form_decode(buf, sizeof(buf), S("a+b%2bc"), FORM_PLUS), 5);
    CU_ASSERT_STRING_EQUAL(buf, "a b+c");
    CU_ASSERT_EQUAL(form_decode(buf, sizeof(buf), S("%00x"), 0), 2);
    CU_ASSERT(buf[0] == '\0' && buf[1] == 'x' && buf[2] == '\0');
    CU_ASSERT_EQUAL(form_decode(buf, sizeof(buf), S("%fF%Ff"), 0), 2);
    CU_ASSERT(memcmp(buf, "\xff\xff", 3) == 0);
    CU_ASSERT_EQUAL(form_decode(buf, sizeof(buf), S("%g0%0g%"), 0), 7);
    CU_ASSERT_STRING_EQUAL(buf, "%g0%0g%");
    CU_ASSERT_EQUAL(form_decode(buf, sizeof(buf), S("%g0"), FORM_STRICT), -1);
    CU_ASSERT_EQUAL(form_decode(buf, sizeof(buf), S("ok%41"), FORM_STRICT), 3);
    /* sizes: len + 1 always fits; less only when the result is shorter */
    CU_ASSERT_EQUAL(form_decode(buf, 4, S("abc"), 0), 3);
    CU_ASSERT_EQUAL(form_decode(buf, 3, S("abc"), 0), -1);
    CU_ASSERT_EQUAL(form_decode(buf, 2, S("%41"), 0), 1);
    CU_ASSERT_EQUAL(form_decode(buf, 1, "", 0, 0), 0);
    CU_ASSERT_EQUAL(form_decode(buf, 0, "", 0, 0), -1);
    /* in place */
    CU_ASSERT_EQUAL(form_decode(in, sizeof(in), in, strlen(in), FORM_PLUS), 8);
    CU_ASSERT_STRING_EQUAL(in, "a b c%zz");
}

/* ---- Content-Type and parameters ---- */

/* Parse a Content-Type; "type|boundary|charset" or "ERR". */
static const char *ctype_of(const char *s)
{
    static char out[256];
    struct form_ctype ct;

    if (form_ctype_parse(s, strlen(s), &ct) < 0)
        return "ERR";
    CU_ASSERT(strlen(ct.boundary) == ct.boundary_len && strlen(ct.charset) == ct.charset_len);
    snprintf(out, sizeof(out), "%.*s|%s|%s", (int)ct.type_len, ct.type, ct.boundary, ct.charset);
    return out;
}

static void test_ctype(void)
{
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain"), "text/plain||");
    CU_ASSERT_STRING_EQUAL(ctype_of("multipart/form-data; boundary=abc"),
                           "multipart/form-data|abc|");
    CU_ASSERT_STRING_EQUAL(ctype_of("Multipart/Form-Data;BOUNDARY=\"a b:c\"\t;\tcharset=UTF-8 "),
                           "Multipart/Form-Data|a b:c|UTF-8");
    CU_ASSERT_STRING_EQUAL(ctype_of(" text/html ;; charset=\"utf\\-8\";"), "text/html||utf-8");
    CU_ASSERT_STRING_EQUAL(ctype_of("a/b; x=\"q\\\"uo\\\\te\"; boundary=\"\""), "a/b||");
    CU_ASSERT_STRING_EQUAL(ctype_of("a/b; other=\"\xc3\xa9\"; boundary=z"), "a/b|z|");
    CU_ASSERT_STRING_EQUAL(ctype_of(""), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("/plain"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text /plain"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain x"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain; boundary"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain; boundary =x"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain; boundary= x"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain; boundary="), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain; =x"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain; b=\"open"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain; b=\"esc\\"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain; b=\"ctl\x01\""), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain; b=\"x\"y"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain; b=x y"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("multipart/form-data; boundary=a; Boundary=b"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("text/plain; charset=a; charset=a"), "ERR");
    CU_ASSERT_STRING_EQUAL(ctype_of("a/b; boundary=\"\"; boundary=x"), "ERR");
}

static void test_ctype_limits(void)
{
    char s[200], b[80];

    memset(b, 'x', sizeof(b));
    snprintf(s, sizeof(s), "multipart/form-data; boundary=%.*s", FORM_BOUNDARY_MAX, b);
    CU_ASSERT_STRING_NOT_EQUAL(ctype_of(s), "ERR");
    snprintf(s, sizeof(s), "multipart/form-data; boundary=\"%.*s\"", FORM_BOUNDARY_MAX + 1, b);
    CU_ASSERT_STRING_EQUAL(ctype_of(s), "ERR");
    /* escapes count after unquoting */
    snprintf(s, sizeof(s), "multipart/form-data; boundary=\"\\%.*s\"", FORM_BOUNDARY_MAX, b);
    CU_ASSERT_STRING_NOT_EQUAL(ctype_of(s), "ERR");
    snprintf(s, sizeof(s), "text/plain; charset=%.*s", FORM_CHARSET_MAX, b);
    CU_ASSERT_STRING_NOT_EQUAL(ctype_of(s), "ERR");
    snprintf(s, sizeof(s), "text/plain; charset=%.*s", FORM_CHARSET_MAX + 1, b);
    CU_ASSERT_STRING_EQUAL(ctype_of(s), "ERR");
}

static void test_ctype_is(void)
{
    struct form_ctype ct;

    CU_ASSERT_EQUAL(form_ctype_parse(S("Multipart/FORM-data; boundary=x"), &ct), 0);
    CU_ASSERT_EQUAL(form_ctype_is(&ct, "multipart/form-data"), 1);
    CU_ASSERT_EQUAL(form_ctype_is(&ct, "MULTIPART/FORM-DATA"), 1);
    CU_ASSERT_EQUAL(form_ctype_is(&ct, "multipart/form-dat"), 0);
    CU_ASSERT_EQUAL(form_ctype_is(&ct, "multipart/form-data2"), 0);
    CU_ASSERT_EQUAL(form_ctype_is(&ct, "application/x-www-form-urlencoded"), 0);
    CU_ASSERT_EQUAL(form_ctype_parse(S("application/x-www-form-urlencoded"), &ct), 0);
    CU_ASSERT_EQUAL(form_ctype_is(&ct, "application/x-www-form-urlencoded"), 1);
    CU_ASSERT_EQUAL(form_ctype_parse(S("bad"), &ct), -1);
    CU_ASSERT_EQUAL(form_ctype_is(&ct, "bad"), 0);
}

static void test_param_next(void)
{
    const char *s = "; a=1 ;;\tB=\"x\\\"y\" ;", *p = s, *end = s + strlen(s);
    struct form_param prm;
    char buf[8];

    CU_ASSERT_EQUAL(form_param_next(&p, end, &prm), 1);
    CU_ASSERT(prm.name_len == 1 && prm.name[0] == 'a' && prm.value_len == 1 && !prm.quoted);
    CU_ASSERT_EQUAL(form_param_next(&p, end, &prm), 1);
    CU_ASSERT(prm.name_len == 1 && prm.name[0] == 'B' && prm.quoted);
    CU_ASSERT(prm.value_len == 4 && memcmp(prm.value, "x\\\"y", 4) == 0);
    CU_ASSERT_EQUAL(form_unquote(buf, sizeof(buf), prm.value, prm.value_len), 3);
    CU_ASSERT_STRING_EQUAL(buf, "x\"y");
    CU_ASSERT_EQUAL(form_param_next(&p, end, &prm), 0);
    CU_ASSERT(p == end);
    CU_ASSERT_EQUAL(form_unquote(buf, 3, S("a\\bc")), -1);
    CU_ASSERT_EQUAL(form_unquote(buf, 4, S("a\\bc")), 3);
    CU_ASSERT_STRING_EQUAL(buf, "abc");
}

/* ---- multipart: the transcript recorder ---- */

struct rec {
    char *log; /* "<name|filename|type>" data... "</>" per part */
    size_t len, cap;
    const char *piece; /* the piece being fed: data must lie in it or in mp */
    size_t piece_len;
    const struct form_multipart *mp;
    size_t begins;
    int abort_begin, abort_data, abort_end; /* 1-based call that aborts; 0 never */
    int ndata, nend;
};

static void rec_add(struct rec *r, const char *s, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        r->log = realloc(r->log, r->cap);
        CU_ASSERT_FATAL(r->log != NULL);
    }
    memcpy(r->log + r->len, s, n);
    r->len += n;
    r->log[r->len] = '\0';
}

static int rec_begin(void *arg, const struct form_part *p)
{
    struct rec *r = arg;

    CU_ASSERT(p->index == r->begins);
    CU_ASSERT(p->name != NULL && p->name[p->name_len] == '\0');
    CU_ASSERT(p->filename == NULL || p->filename[p->filename_len] == '\0');
    CU_ASSERT(p->content_type != NULL && p->content_type[p->content_type_len] == '\0');
    r->begins++;
    rec_add(r, "<", 1);
    rec_add(r, p->name, p->name_len);
    if (p->filename) {
        rec_add(r, "|", 1);
        rec_add(r, p->filename, p->filename_len);
    }
    rec_add(r, "|", 1);
    rec_add(r, p->content_type, p->content_type_len);
    rec_add(r, ">", 1);
    return (int)r->begins == r->abort_begin ? -1 : 0;
}

static int rec_data(void *arg, const char *data, size_t len)
{
    struct rec *r = arg;
    const char *m = (const char *)r->mp;
    int in_piece = data >= r->piece && data + len <= r->piece + r->piece_len;
    int in_mp = data >= m && data + len <= m + sizeof(*r->mp);

    CU_ASSERT(len > 0);
    CU_ASSERT(in_piece || in_mp);
    rec_add(r, data, len);
    return ++r->ndata == r->abort_data ? -1 : 0;
}

static int rec_end(void *arg)
{
    struct rec *r = arg;

    rec_add(r, "</>", 3);
    return ++r->nend == r->abort_end ? -1 : 0;
}

static const struct form_multipart_cb rec_cb = {rec_begin, rec_data, rec_end};

static struct form_multipart MP;

struct outcome {
    int rc; /* 1: complete, -1: failed */
    const char *reason;
    char *log;
    size_t len;
};

/* Feed body in the pieces that end at cuts[0..ncuts) (and at len), each
 * from its own heap block; then end(). r may carry abort settings. */
static void mp_run_cuts(const char *boundary, const char *body, size_t len, const size_t *cuts,
                        size_t ncuts, const struct form_limits *lim, struct rec *r,
                        struct outcome *o)
{
    size_t at = 0, k;
    int rc = 0;

    CU_ASSERT_FATAL(form_multipart_init(&MP, boundary, strlen(boundary), lim) == 0);
    r->mp = &MP;
    for (k = 0; k <= ncuts && rc == 0; k++) {
        size_t stop = k < ncuts ? cuts[k] : len, n = stop - at;
        char *piece = malloc(n ? n : 1);

        CU_ASSERT_FATAL(piece != NULL);
        memcpy(piece, body + at, n);
        r->piece = piece;
        r->piece_len = n;
        rc = form_multipart_feed(&MP, piece, n, &rec_cb, r);
        free(piece);
        at = stop;
    }
    if (rc == 0)
        rc = form_multipart_end(&MP) == 0 ? 1 : -1;
    CU_ASSERT((rc < 0) == (MP.reason != NULL));
    o->rc = rc;
    o->reason = MP.reason;
    o->log = r->log;
    o->len = r->len;
}

static void mp_run(const char *boundary, const char *body, size_t len,
                   const struct form_limits *lim, struct outcome *o)
{
    struct rec r;

    memset(&r, 0, sizeof(r));
    mp_run_cuts(boundary, body, len, NULL, 0, lim, &r, o);
}

static void outcome_free(struct outcome *o)
{
    free(o->log);
    memset(o, 0, sizeof(*o));
}

static int outcome_same(const struct outcome *a, const struct outcome *b)
{
    return a->rc == b->rc && a->reason == b->reason && a->len == b->len &&
           (a->len == 0 || memcmp(a->log, b->log, a->len) == 0);
}

/* Every way of cutting body must agree with feeding it whole. */
static void mp_check_splits(const char *boundary, const char *body, size_t len,
                            const struct form_limits *lim, const struct outcome *whole)
{
    struct outcome o;
    struct rec r;
    size_t i, j, cuts[2], *bytes = malloc((len + 1) * sizeof(*bytes));
    int bad = 0;

    CU_ASSERT_FATAL(bytes != NULL);
    for (i = 0; i <= len && !bad; i++) {
        memset(&r, 0, sizeof(r));
        cuts[0] = i;
        mp_run_cuts(boundary, body, len, cuts, 1, lim, &r, &o);
        bad = !outcome_same(&o, whole);
        outcome_free(&o);
        for (j = i; len <= 300 && j <= len && !bad; j++) {
            memset(&r, 0, sizeof(r));
            cuts[1] = j;
            mp_run_cuts(boundary, body, len, cuts, 2, lim, &r, &o);
            bad = !outcome_same(&o, whole);
            outcome_free(&o);
        }
    }
    CU_ASSERT(!bad);
    for (i = 0; i < len; i++)
        bytes[i] = i + 1;
    memset(&r, 0, sizeof(r));
    mp_run_cuts(boundary, body, len, bytes, len ? len - 1 : 0, lim, &r, &o);
    CU_ASSERT(outcome_same(&o, whole));
    outcome_free(&o);
    free(bytes);
}

/* Parse body whole and cut every way; the result must be rc with the
 * transcript `want` (when rc is 1) or the reason `why` (when rc is -1). */
static void mp_expect_lim(const char *boundary, const char *body, size_t len,
                          const struct form_limits *lim, int rc, const char *want, size_t want_len,
                          const char *why)
{
    struct outcome whole;

    mp_run(boundary, body, len, lim, &whole);
    CU_ASSERT_EQUAL(whole.rc, rc);
    if (rc > 0 && (whole.len != want_len || memcmp(whole.log ? whole.log : "", want, want_len)))
        CU_FAIL("transcript differs");
    if (rc < 0 && (whole.reason == NULL || strcmp(whole.reason, why) != 0)) {
        CU_FAIL("reason differs");
        fprintf(stderr, "\n  want \"%s\", got \"%s\"\n", why, whole.reason);
    }
    mp_check_splits(boundary, body, len, lim, &whole);
    outcome_free(&whole);
}

static void mp_expect(const char *boundary, const char *body, size_t len, const char *want,
                      size_t want_len)
{
    mp_expect_lim(boundary, body, len, NULL, 1, want, want_len, NULL);
}

static void mp_fails(const char *boundary, const char *body, size_t len, const char *why)
{
    mp_expect_lim(boundary, body, len, NULL, -1, "", 0, why);
}

#define CD "Content-Disposition: form-data; "

/* ---- multipart tests ---- */

static void test_mp_simple(void)
{
    mp_expect("XyZ",
              S("--XyZ\r\n" CD "name=\"a\"\r\n\r\none\r\n"
                "--XyZ\r\n" CD "name=b\r\n\r\ntwo words\r\n"
                "--XyZ--\r\n"),
              S("<a|text/plain>one</><b|text/plain>two words</>"));
    /* header names and the disposition type ignore case; OWS is trimmed */
    mp_expect("b",
              S("--b\r\ncontent-DISPOSITION:FORM-DATA ;\tNAME=\"x\" ;  \r\n"
                "CONTENT-TYPE: \t text/csv; charset=utf-8 \t\r\n\r\n1,2\r\n--b--\r\n"),
              S("<x|text/csv; charset=utf-8>1,2</>"));
}

static void test_mp_file(void)
{
    /* data full of near-delimiters: CR, LF, "--", boundary prefixes */
    mp_expect("bound",
              S("--bound\r\n" CD "name=\"f\"; filename=\"a.bin\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n"
                "\r\n--\r\n-\r\r\n\r\n--b\r\n--boun\r\n--bounD\r\n\x00\xff--bound\r--bound\n"
                "\r\r\n--bou\r\n\r\n--boun\r\n"
                "--bound\r\n" CD "name=\"g\"\r\n\r\nx\r\n--bound--\r\n"),
              S("<f|a.bin|application/octet-stream>"
                "\r\n--\r\n-\r\r\n\r\n--b\r\n--boun\r\n--bounD\r\n\x00\xff--bound\r--bound\n"
                "\r\r\n--bou\r\n\r\n--boun</><g|text/plain>x</>"));
}

static void test_mp_empty_parts(void)
{
    /* an empty body, with its blank line or with none (RFC 2046 allows
     * the headers' last CRLF to be the delimiter's) */
    mp_expect("b",
              S("--b\r\n" CD "name=a\r\n\r\n\r\n--b\r\n" CD "name=b\r\n\r\n--b\r\n" CD
                "name=c\r\n\r\n--b--"),
              S("<a|text/plain></><b|text/plain></><c|text/plain></>"));
    /* a body that is only CRLF, or starts with one */
    mp_expect("b",
              S("--b\r\n" CD "name=a\r\n\r\n\r\n\r\n--b\r\n" CD "name=b\r\n\r\n\r\nz\r\n--b--"),
              S("<a|text/plain>\r\n</><b|text/plain>\r\nz</>"));
    /* no fields at all: what browsers send for an empty FormData */
    mp_expect("b", S("--b--\r\n"), S(""));
    mp_expect("b", S("--b--"), S(""));
    mp_expect("b", S("preamble\r\n--b-- \t\r\nepilogue"), S(""));
}

static void test_mp_crlf_before_boundary(void)
{
    mp_expect("b", S("--b\r\n" CD "name=a\r\n\r\nx\r\n\r\n--b--\r\n"), S("<a|text/plain>x\r\n</>"));
    mp_expect("b", S("--b\r\n" CD "name=a\r\n\r\nx\r\r\n--b--\r\n"), S("<a|text/plain>x\r</>"));
    mp_expect("b", S("--b\r\n" CD "name=a\r\n\r\n\r\n\r\n\r\n--b--\r\n"),
              S("<a|text/plain>\r\n\r\n</>"));
    mp_expect("b", S("--b\r\n" CD "name=a\r\n\r\n--\r\n--b--\r\n"), S("<a|text/plain>--</>"));
}

static void test_mp_preamble_epilogue(void)
{
    mp_expect("b",
              S("This is a preamble --b\r\n-b\r\n--c\r\n--b\r\n" CD "name=a\r\n\r\n1\r\n--b--\r\n"
                "epilogue --b\r\n" CD "name=z\r\n\r\n"),
              S("<a|text/plain>1</>"));
    mp_expect("b", S("\r\n--b\r\n" CD "name=a\r\n\r\n1\r\n--b--"), S("<a|text/plain>1</>"));
    /* transport padding on delimiter lines */
    mp_expect("b", S("--b \t \r\n" CD "name=a\r\n\r\n1\r\n--b\t\r\n" CD "name=b\r\n\r\n2\r\n--b--"),
              S("<a|text/plain>1</><b|text/plain>2</>"));
}

static void test_mp_sticky(void)
{
    static const char body[] = "--b\r\n" CD "name=a\r\n\r\n1\r\n--b--\r\nmore";
    struct rec r;

    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(form_multipart_init(&MP, "b", 1, NULL), 0);
    r.mp = &MP;
    r.piece = body;
    r.piece_len = sizeof(body) - 1;
    CU_ASSERT_EQUAL(form_multipart_feed(&MP, body, sizeof(body) - 1, &rec_cb, &r), 1);
    CU_ASSERT_EQUAL(form_multipart_feed(&MP, body, sizeof(body) - 1, &rec_cb, &r), 1);
    CU_ASSERT_EQUAL(form_multipart_feed(&MP, "", 0, &rec_cb, &r), 1);
    CU_ASSERT_EQUAL(form_multipart_end(&MP), 0);
    CU_ASSERT_EQUAL(MP.nparts, 1);
    CU_ASSERT(r.len == 18 && memcmp(r.log, "<a|text/plain>1</>", 18) == 0);
    free(r.log);
    /* errors stick too, and a NULL callback table is fine */
    CU_ASSERT_EQUAL(form_multipart_init(&MP, "b", 1, NULL), 0);
    CU_ASSERT_EQUAL(form_multipart_feed(&MP, S("--b\n"), NULL, NULL), -1);
    CU_ASSERT_EQUAL(form_multipart_feed(&MP, S("--b\r\n"), NULL, NULL), -1);
    CU_ASSERT_EQUAL(form_multipart_end(&MP), -1);
    CU_ASSERT_STRING_EQUAL(MP.reason, "boundary line without CRLF");
    /* 0 while more is expected */
    CU_ASSERT_EQUAL(form_multipart_init(&MP, "b", 1, NULL), 0);
    CU_ASSERT_EQUAL(form_multipart_feed(&MP, S("--b\r\n" CD "name=a\r\n\r\nxyz"), NULL, NULL), 0);
    CU_ASSERT_EQUAL(form_multipart_feed(&MP, S("\r\n--b--"), NULL, NULL), 0);
    CU_ASSERT_EQUAL(form_multipart_feed(&MP, S("\r\n"), NULL, NULL), 1);
}

static void test_mp_part_headers(void)
{
    /* as browsers send them: '"' as %22, backslashes unescaped */
    mp_expect("b",
              S("--b\r\n" CD "name=\"a%22b\"; filename=\"C:\\dir\\x%22y.txt\"\r\n\r\n1\r\n"
                "--b\r\n" CD "name=\"q\\\"q\\\\\"; filename=\"\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n\r\n"
                "--b\r\n" CD "name=\"\"\r\nX-Other: whatever; \"\r\n"
                "Content-Transfer-Encoding: 8bit\r\n\r\n3\r\n--b--\r\n"),
              S("<a%22b|C:\\dir\\x%22y.txt|text/plain>1</>"
                "<q\"q\\||application/octet-stream></><|text/plain>3</>"));
    /* raw UTF-8 in quoted values (obs-text), unknown parameters */
    mp_expect("b",
              S("--b\r\n" CD "x=1; name=\"caf\xc3\xa9\"; filename=\"\xe2\x82\xac.txt\"; y=\"2\"\r\n"
                "\r\n1\r\n--b--\r\n"),
              S("<caf\xc3\xa9|\xe2\x82\xac.txt|text/plain>1</>"));
}

static void test_mp_filename_ext(void)
{
    /* filename* (RFC 8187) wins over filename, when it is UTF-8 and well formed */
    mp_expect("b",
              S("--b\r\n" CD "name=f; filename=\"euro.txt\"; filename*=UTF-8''%e2%82%ac.txt\r\n"
                "\r\n1\r\n--b\r\n" CD "name=g; filename*=utf-8'en'a%20b\r\n\r\n2\r\n"
                "--b\r\n" CD "name=h; filename=\"l.txt\"; filename*=iso-8859-1''%a3.txt\r\n"
                "\r\n3\r\n--b\r\n" CD "name=i; filename=\"m.txt\"; filename*=UTF-8''%zz\r\n"
                "\r\n4\r\n--b\r\n" CD "name=j; filename=\"n.txt\"; filename*=\"UTF-8''q\"\r\n"
                "\r\n5\r\n--b\r\n" CD "name=k; filename=\"o.txt\"; filename*=UTF-8''a%00.php\r\n"
                "\r\n6\r\n--b\r\n" CD "name=l; filename*=UTF-8'x\r\n\r\n7\r\n"
                "--b\r\n" CD "name=m; filename*=UTF-8'x'y'z\r\n\r\n8\r\n--b--\r\n"),
              S("<f|\xe2\x82\xac.txt|text/plain>1</><g|a b|text/plain>2</>"
                "<h|l.txt|text/plain>3</><i|m.txt|text/plain>4</><j|n.txt|text/plain>5</>"
                "<k|o.txt|text/plain>6</><l|text/plain>7</><m|text/plain>8</>"));
}

static void test_mp_boundary_chars(void)
{
    struct form_ctype ct;
    static const char body[] = "--'()+_,-./:=? x\r\n" CD "name=a\r\n\r\n1\r\n--'()+_,-./:=? x--";

    CU_ASSERT_EQUAL(form_ctype_parse(S("multipart/form-data; boundary=\"'()+_,-./:=? x\""), &ct),
                    0);
    CU_ASSERT_STRING_EQUAL(ct.boundary, "'()+_,-./:=? x");
    mp_expect(ct.boundary, S(body), S("<a|text/plain>1</>"));
    /* a boundary that is all dashes, as some clients make them */
    mp_expect("----", S("------\r\n" CD "name=a\r\n\r\n---\r\n-----\r\n--------\r\n"),
              S("<a|text/plain>---\r\n-----</>"));
}

static void test_mp_init_errors(void)
{
    char b[FORM_BOUNDARY_MAX + 2];
    struct form_limits lim = {0, FORM_HEAD_MAX + 1};

    memset(b, 'a', sizeof(b));
    CU_ASSERT_EQUAL(form_multipart_init(&MP, b, FORM_BOUNDARY_MAX, NULL), 0);
    CU_ASSERT_EQUAL(form_multipart_init(&MP, b, FORM_BOUNDARY_MAX + 1, NULL), -1);
    CU_ASSERT_STRING_EQUAL(MP.reason, "boundary length not 1 to 70");
    CU_ASSERT_EQUAL(form_multipart_feed(&MP, S("--aa"), NULL, NULL), -1);
    CU_ASSERT_EQUAL(form_multipart_init(&MP, "", 0, NULL), -1);
    CU_ASSERT_EQUAL(form_multipart_init(&MP, "a\"b", 3, NULL), -1);
    CU_ASSERT_STRING_EQUAL(MP.reason, "bad character in boundary");
    CU_ASSERT_EQUAL(form_multipart_init(&MP, "a\rb", 3, NULL), -1);
    CU_ASSERT_EQUAL(form_multipart_init(&MP, "a;b", 3, NULL), -1);
    CU_ASSERT_EQUAL(form_multipart_init(&MP, "ab ", 3, NULL), -1);
    CU_ASSERT_STRING_EQUAL(MP.reason, "boundary ends in a space");
    CU_ASSERT_EQUAL(form_multipart_init(&MP, " ab", 3, NULL), 0);
    CU_ASSERT_EQUAL(form_multipart_init(&MP, "ab", 2, &lim), -1);
    CU_ASSERT_STRING_EQUAL(MP.reason, "part header limit above FORM_HEAD_MAX");
    lim.max_head = FORM_HEAD_MAX;
    CU_ASSERT_EQUAL(form_multipart_init(&MP, "ab", 2, &lim), 0);
}

static void test_mp_malformed(void)
{
    mp_fails("b", S(""), "no initial boundary");
    mp_fails("b", S("just text\r\n"), "no initial boundary");
    mp_fails("b", S("x--b\r\n" CD "name=a\r\n\r\n1\r\n--c--"), "no initial boundary");
    /* all preamble up to its last line, which closes an empty form */
    mp_expect("b", S("x--b\r\n" CD "name=a\r\n\r\n1\r\n--b--"), S(""));
    mp_fails("b", S("--b"), "truncated body");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n"), "truncated body");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n--b"), "truncated body");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n--b-"), "truncated body");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n--b--\r"), "truncated body");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n--b\r\n"), "truncated body");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n--b \r"), "truncated body");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n"), "truncated body");
    mp_fails("b", S("--b\n" CD "name=a\r\n\r\n1\r\n--b--"), "boundary line without CRLF");
    mp_fails("b", S("--b\r\r\n"), "boundary line without CRLF");
    mp_fails("b", S("--bc\r\n" CD "name=a\r\n\r\n1\r\n--b--"), "junk after boundary");
    mp_fails("b", S("--b \tx\r\n"), "junk after boundary");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n--bb\r\n"), "junk after boundary");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n--b-x"), "junk after boundary");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n--b -- \r\n"), "junk after boundary");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n--b--x"), "data after close delimiter");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n--b-- x\r\n"), "data after close delimiter");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n--b--\r\r\n"), "data after close delimiter");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\r\n1\r\n--b--\n"), "data after close delimiter");
    mp_fails("b", S("--b--x"), "data after close delimiter");
}

static void test_mp_bad_headers(void)
{
    mp_fails("b", S("--b\r\n\r\n1\r\n--b--"), "part without Content-Disposition");
    mp_fails("b", S("--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--"),
             "part without Content-Disposition");
    mp_fails("b", S("--b\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n--b--"),
             "Content-Disposition is not form-data");
    mp_fails("b", S("--b\r\nContent-Disposition: form-datax; name=a\r\n\r\n--b--"),
             "Content-Disposition is not form-data");
    mp_fails("b", S("--b\r\nContent-Disposition: form-data\r\n\r\n1\r\n--b--"),
             "part without a name");
    mp_fails("b", S("--b\r\nContent-Disposition: form-data; filename=x\r\n\r\n--b--"),
             "part without a name");
    mp_fails("b", S("--b\r\n" CD "name=a; NAME=b\r\n\r\n--b--"),
             "repeated Content-Disposition parameter");
    mp_fails("b", S("--b\r\n" CD "name=a; filename=x; filename=y\r\n\r\n--b--"),
             "repeated Content-Disposition parameter");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n" CD "name=a\r\n\r\n--b--"),
             "repeated Content-Disposition");
    mp_fails("b", S("--b\r\n" CD "name=a\r\nContent-Type: a/b\r\ncontent-type: a/b\r\n\r\n--b--"),
             "repeated part Content-Type");
    mp_fails("b", S("--b\r\n" CD "name=\"a\r\n\r\n--b--"), "bad Content-Disposition");
    mp_fails("b", S("--b\r\n" CD "name=a b\r\n\r\n--b--"), "bad Content-Disposition");
    mp_fails("b", S("--b\r\n" CD "name=caf\xc3\xa9\r\n\r\n--b--"), "bad Content-Disposition");
    mp_fails("b", S("--b\r\n" CD "name = a\r\n\r\n--b--"), "bad Content-Disposition");
    mp_fails("b", S("--b\r\n" CD "name=a\r\nX-Bad : 1\r\n\r\n--b--"), "bad part header");
    mp_fails("b", S("--b\r\n" CD "name=a\r\nno colon\r\n\r\n--b--"), "bad part header");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n: empty name\r\n\r\n--b--"), "bad part header");
    mp_fails("b", S("--b\r\n" CD "name=a\r\nX: a\x01z\r\n\r\n--b--"), "bad part header");
    mp_fails("b", S("--b\r\n" CD "name=a\r\nX: \x7f\r\n\r\n--b--"), "bad part header");
    mp_fails("b", S("--b\r\n" CD "name=a\r\nX: \x00\r\n\r\n--b--"), "bad part header");
    mp_fails("b", S("--b\r\n" CD "name=a\r\nX: 1\r\n 2\r\n\r\n--b--"), "folded part header");
    mp_fails("b", S("--b\r\n" CD "name=a\n\r\n--b--"), "bare CR or LF in part headers");
    mp_fails("b", S("--b\r\n" CD "name=a\r\n\n--b--"), "bare CR or LF in part headers");
    mp_fails("b", S("--b\r\n" CD "name=a\rX: 1\r\n\r\n--b--"), "bare CR or LF in part headers");
    mp_fails("b", S("--b\r\n\n"), "bare CR or LF in part headers");
    mp_fails("b", S("--b\r\n\r\r\n"), "bare CR or LF in part headers");
}

static void test_mp_limits(void)
{
    char *body = malloc(128 * 1024), *want = malloc(64 * 1024), head[512];
    size_t n = 0, w = 0, i, hl;
    struct form_limits lim = {3, 0};
    struct outcome o;

    CU_ASSERT_FATAL(body != NULL && want != NULL);
    /* 1000 parts pass by default, 1001 do not */
    for (i = 0; i < FORM_MAX_PARTS; i++) {
        n += (size_t)sprintf(body + n, "--b\r\n" CD "name=p%zu\r\n\r\n%zu\r\n", i, i);
        w += (size_t)sprintf(want + w, "<p%zu|text/plain>%zu</>", i, i);
    }
    memcpy(body + n, "--b--\r\n", 7);
    mp_run("b", body, n + 7, NULL, &o);
    CU_ASSERT(o.rc == 1 && o.len == w && memcmp(o.log, want, w) == 0);
    outcome_free(&o);
    n += (size_t)sprintf(body + n, "--b\r\n" CD "name=last\r\n\r\n\r\n--b--\r\n");
    mp_run("b", body, n, NULL, &o);
    CU_ASSERT(o.rc == -1 && strcmp(o.reason, "too many parts") == 0);
    CU_ASSERT(o.len == w); /* refused before the 1001st part's headers */
    outcome_free(&o);
    /* a smaller limit, checked on every cut */
    mp_expect_lim(
        "b",
        S("--b\r\n" CD "name=a\r\n\r\n--b\r\n" CD "name=b\r\n\r\n--b\r\n" CD "name=c\r\n\r\n--b--"),
        &lim, 1, S("<a|text/plain></><b|text/plain></><c|text/plain></>"), NULL);
    mp_expect_lim("b",
                  S("--b\r\n" CD "name=a\r\n\r\n--b\r\n" CD "name=b\r\n\r\n--b\r\n" CD
                    "name=c\r\n\r\n--b\r\n"),
                  &lim, -1, "", 0, "too many parts");
    /* the header block limit counts every byte up to its empty line */
    hl = (size_t)snprintf(head, sizeof(head), "--b\r\n" CD "name=a\r\nX: ");
    lim.max_parts = 0;
    lim.max_head = 64;
    memset(head + hl, 'x', 64);
    memcpy(head + hl + 64 - (hl - 5) - 4, "\r\n\r\n--b--", 9); /* block exactly 64 bytes */
    mp_expect_lim("b", head, 5 + 64 + 5, &lim, 1, S("<a|text/plain></>"), NULL);
    memcpy(head + hl + 64 - (hl - 5) - 4, "x\r\n\r\n--b--", 10); /* 65 */
    mp_expect_lim("b", head, 5 + 65 + 5, &lim, -1, "", 0, "part header block too big");
    lim.max_head = 0; /* the default: 8192 */
    n = (size_t)sprintf(body, "--b\r\n" CD "name=a\r\nX: ");
    memset(body + n, 'y', FORM_HEAD_MAX);
    n = 5 + FORM_HEAD_MAX - 4;
    memcpy(body + n, "\r\n\r\n--b--", 9);
    mp_run("b", body, n + 9, &lim, &o);
    CU_ASSERT(o.rc == 1);
    outcome_free(&o);
    memcpy(body + n, "y\r\n\r\n--b--", 10);
    mp_run("b", body, n + 10, &lim, &o);
    CU_ASSERT(o.rc == -1 && strcmp(o.reason, "part header block too big") == 0);
    outcome_free(&o);
    free(body);
    free(want);
}

static void test_mp_abort(void)
{
    static const char body[] =
        "--b\r\n" CD "name=a\r\n\r\n1\r\n--b\r\n" CD "name=b\r\n\r\n2\r\n--b--";
    int which, at;

    for (which = 0; which < 3; which++) {
        for (at = 1; at <= 2; at++) {
            struct rec r;
            struct outcome o;

            memset(&r, 0, sizeof(r));
            if (which == 0)
                r.abort_begin = at;
            else if (which == 1)
                r.abort_data = at;
            else
                r.abort_end = at;
            mp_run_cuts("b", S(body), NULL, 0, NULL, &r, &o);
            CU_ASSERT(o.rc == -1 && strcmp(o.reason, "aborted by callback") == 0);
            CU_ASSERT(form_multipart_feed(&MP, S(body), &rec_cb, &r) == -1);
            outcome_free(&o);
        }
    }
}

/* Also the held-back bytes: data that ends in a delimiter prefix, fed one
 * piece at a time, comes back from the parser's copy of the delimiter. */
static void test_mp_held_back(void)
{
    static const char body[] = "--bnd\r\n" CD "name=a\r\n\r\nxy\r\n--bn";
    struct rec r;
    size_t cut[2] = {sizeof(body) - 1 - 6, sizeof(body) - 1};
    struct outcome o;

    memset(&r, 0, sizeof(r));
    mp_run_cuts("bnd", body, sizeof(body) - 1, cut, 1, NULL, &r, &o);
    CU_ASSERT_EQUAL(o.rc, -1); /* truncated */
    CU_ASSERT(o.len == 16 && memcmp(o.log, "<a|text/plain>xy", 16) == 0);
    outcome_free(&o);
    CU_ASSERT_EQUAL(form_multipart_init(&MP, "bnd", 3, NULL), 0);
    memset(&r, 0, sizeof(r));
    r.mp = &MP;
    r.piece = body;
    r.piece_len = sizeof(body) - 1;
    CU_ASSERT_EQUAL(form_multipart_feed(&MP, body, sizeof(body) - 1, &rec_cb, &r), 0);
    r.piece = "X\r\n--bnd--";
    r.piece_len = 10;
    CU_ASSERT_EQUAL(form_multipart_feed(&MP, r.piece, r.piece_len, &rec_cb, &r), 0);
    CU_ASSERT_EQUAL(form_multipart_end(&MP), 0);
    CU_ASSERT(r.len == 26 && memcmp(r.log, "<a|text/plain>xy\r\n--bnX</>", 26) == 0);
    free(r.log);
}

/* A body curl 7.88.1 sent for
 *   curl -F 'title=Hello world' -F 'note=a "quoted" name' \
 *     -F 'file=@upload.bin;type=application/octet-stream;filename="we\"ird na\\me.bin"' \
 *     -F 'empty=' -F $'utf8=caf\xc3\xa9' -F 'file2=@empty.txt'
 * to a python socket server; upload.bin holds CR, LF, NUL, 0xff, dashes. */
static const char curl_ctype[] =
    "multipart/form-data; boundary=------------------------8f34ecd7e5087c6a";
static const char curl_body[] =
    "--------------------------8f34ecd7e5087c6a\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Hello world\r\n"
    "--------------------------8f34ecd7e5087c6a\r\n"
    "Content-Disposition: form-data; name=\"note\"\r\n"
    "\r\n"
    "a \"quoted\" name\r\n"
    "--------------------------8f34ecd7e5087c6a\r\n"
    "Content-Disposition: form-data; name=\"file\"; filename=\"we%22ird na\\me.bin\"\r\n"
    "Content-Type: application/octet-stream\r\n"
    "\r\n"
    "line1\r\n"
    "--not-a-boundary\r\n"
    "\x00\x01\xff binary\r\n"
    "--------------------------\r\n"
    "\r\r\n"
    "-\r\n"
    "--------------------------8f34ecd7e5087c6a\r\n"
    "Content-Disposition: form-data; name=\"empty\"\r\n"
    "\r\n"
    "\r\n"
    "--------------------------8f34ecd7e5087c6a\r\n"
    "Content-Disposition: form-data; name=\"utf8\"\r\n"
    "\r\n"
    "caf\xc3\xa9\r\n"
    "--------------------------8f34ecd7e5087c6a\r\n"
    "Content-Disposition: form-data; name=\"file2\"; filename=\"empty.txt\"\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "\r\n"
    "--------------------------8f34ecd7e5087c6a--\r\n";

/* Python 3's email package (MIMEMultipart("form-data"), policy.HTTP): a
 * quoted boundary, Content-Type before Content-Disposition, filename*. */
static const char py_ctype[] =
    "multipart/form-data; boundary=\"===============6153119586008223432==\"";
static const char py_body[] = "--===============6153119586008223432==\r\n"
                              "Content-Type: text/plain; charset=\"utf-8\"\r\n"
                              "Content-Disposition: form-data; name=\"field1\"\r\n"
                              "\r\n"
                              "v1\r\n"
                              "--===============6153119586008223432==\r\n"
                              "Content-Type: application/octet-stream\r\n"
                              "Content-Disposition: form-data; name=\"up\"; "
                              "filename*=utf-8''r%C3%A9sum%C3%A9.txt\r\n"
                              "\r\n"
                              "\x00\r\n"
                              "--x\r\n"
                              "\r\n"
                              "--===============6153119586008223432==--\r\n";

static void test_mp_real_clients(void)
{
    struct form_ctype ct;

    CU_ASSERT_EQUAL_FATAL(form_ctype_parse(S(curl_ctype), &ct), 0);
    CU_ASSERT(form_ctype_is(&ct, "multipart/form-data"));
    mp_expect(ct.boundary, S(curl_body),
              S("<title|text/plain>Hello world</><note|text/plain>a \"quoted\" name</>"
                "<file|we%22ird na\\me.bin|application/octet-stream>line1\r\n--not-a-boundary\r\n"
                "\x00\x01\xff binary\r\n--------------------------\r\n\r\r\n-</>"
                "<empty|text/plain></><utf8|text/plain>caf\xc3\xa9</>"
                "<file2|empty.txt|text/plain></>"));
    CU_ASSERT_EQUAL_FATAL(form_ctype_parse(S(py_ctype), &ct), 0);
    CU_ASSERT_STRING_EQUAL(ct.boundary, "===============6153119586008223432==");
    mp_expect(ct.boundary, S(py_body),
              S("<field1|text/plain; charset=\"utf-8\">v1</>"
                "<up|r\xc3\xa9sum\xc3\xa9.txt|application/octet-stream>\x00\r\n--x\r\n</>"));
}

/* A large file part: data comes back in few slices, none buffered. */
static void test_mp_large(void)
{
    size_t n = 1 << 20, hl, i;
    char *body = malloc(n + 200);
    struct rec r;
    struct outcome o;
    size_t cuts[64];

    CU_ASSERT_FATAL(body != NULL);
    hl = (size_t)sprintf(body, "--XXbig\r\n" CD "name=f; filename=big\r\n\r\n");
    for (i = 0; i < n; i++)
        body[hl + i] = "\r\n-X-abc"[(i * 7 + i / 3) % 8];
    memcpy(body + hl + n, "\r\n--XXbig--\r\n", 13);
    for (i = 0; i < 64; i++)
        cuts[i] = (i + 1) * ((hl + n + 13) / 65);
    memset(&r, 0, sizeof(r));
    mp_run_cuts("XXbig", body, hl + n + 13, cuts, 64, NULL, &r, &o);
    CU_ASSERT_EQUAL(o.rc, 1);
    CU_ASSERT(o.len == 18 + n + 3 && memcmp(o.log, "<f|big|text/plain>", 18) == 0);
    CU_ASSERT(memcmp(o.log + 18, body + hl, n) == 0);
    outcome_free(&o);
    free(body);
}

int main(void)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"urlencoded pairs", test_urlencoded},
        {"urlencoded iterator", test_urlencoded_iterator},
        {"urlencoded callback stop", test_urlencoded_stop},
        {"percent-decoding", test_decode},
        {"Content-Type", test_ctype},
        {"Content-Type limits", test_ctype_limits},
        {"media type compare", test_ctype_is},
        {"parameter iterator and unquote", test_param_next},
        {"multipart simple fields", test_mp_simple},
        {"multipart file with near-delimiters", test_mp_file},
        {"multipart empty parts and forms", test_mp_empty_parts},
        {"multipart CRLF before the delimiter", test_mp_crlf_before_boundary},
        {"multipart preamble, epilogue, padding", test_mp_preamble_epilogue},
        {"multipart sticky results", test_mp_sticky},
        {"multipart part headers", test_mp_part_headers},
        {"multipart filename*", test_mp_filename_ext},
        {"multipart boundary characters", test_mp_boundary_chars},
        {"multipart init errors", test_mp_init_errors},
        {"multipart malformed framing", test_mp_malformed},
        {"multipart malformed part headers", test_mp_bad_headers},
        {"multipart limits", test_mp_limits},
        {"multipart callback abort", test_mp_abort},
        {"multipart held-back bytes", test_mp_held_back},
        {"multipart bodies from curl and python", test_mp_real_clients},
        {"multipart large file", test_mp_large},
    };
    CU_pSuite suite;
    unsigned failures;
    size_t i;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    suite = CU_add_suite("form", NULL, NULL);
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
