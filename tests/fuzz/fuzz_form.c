/*
 * fuzz_form.c - libFuzzer target for src/form.c.
 *
 * Input: one control byte, then a Content-Type value up to the first LF,
 * then a multipart body. The whole input after the control byte also goes
 * through the urlencoded iterator (lax and strict, whose verdicts are
 * checked against a plain scan for bad escapes) and form_decode.
 *
 * The body is parsed with the Content-Type's boundary (or "b") whole, in
 * pieces whose sizes come from the input, and a byte at a time; all must
 * give the same transcript of callbacks, result and reason, since a form
 * whose fields depend on how TCP cut the body is a bug. Each piece lives in
 * its own heap block freed right after its feed, so a data slice that
 * outlives its piece is an ASan report. A last run aborts from a callback
 * and must stop with a prefix of the transcript.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc src/form.c \
 *       tests/fuzz/fuzz_form.c -o fuzz_form
 *   ./fuzz_form tests/fuzz/corpus_form
 */
#ifndef _GNU_SOURCE /* memmem; scripts/fuzz defines it already */
#define _GNU_SOURCE
#endif
#include "http/form.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static int fuzz_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* Does s hold a '%' that is not followed by two hex digits? */
static int fuzz_bad_escape(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] == '%' && (i + 2 >= n || !fuzz_hex((unsigned char)s[i + 1]) ||
                            !fuzz_hex((unsigned char)s[i + 2])))
            return 1;
    return 0;
}

static void fuzz_decode_slice(const char *s, size_t n)
{
    char *a = malloc(n + 1), *b = malloc(n + 1);
    ssize_t la, lb;

    CHECK(a != NULL && b != NULL);
    la = form_decode(a, n + 1, s, n, FORM_PLUS);
    CHECK(la >= 0 && (size_t)la <= n && a[la] == '\0');
    if (n > 0)
        memcpy(b, s, n);
    lb = form_decode(b, n + 1, b, n, FORM_PLUS); /* in place */
    CHECK(lb == la && memcmp(a, b, (size_t)la) == 0);
    CHECK((form_decode(a, n + 1, s, n, FORM_STRICT) < 0) == fuzz_bad_escape(s, n));
    CHECK(form_decode(a, n, s, n, 0) < 0 || n > (size_t)la); /* too small unless shorter */
    free(a);
    free(b);
}

static int fuzz_count(void *arg, const struct form_pair *pair)
{
    (void)pair;
    return --*(size_t *)arg == 0 ? -1 : 0;
}

static void fuzz_urlencoded(const char *s, size_t n)
{
    const char *p = s, *q = s, *end = s + n;
    struct form_pair pair, strict;
    int rc, src = 0;
    size_t npairs = 0, left = (size_t)-1;

    while ((rc = form_urlencoded_next(&p, end, 0, &pair)) == 1) {
        CHECK(pair.name >= s && pair.name_len > 0 && pair.name + pair.name_len <= end);
        CHECK(pair.value >= pair.name + pair.name_len && pair.value + pair.value_len <= end);
        CHECK(!memchr(pair.name, '&', pair.name_len) && !memchr(pair.name, '=', pair.name_len));
        CHECK(!memchr(pair.value, '&', pair.value_len));
        npairs++;
        fuzz_decode_slice(pair.name, pair.name_len);
        fuzz_decode_slice(pair.value, pair.value_len);
        /* strict mode gives the same pairs until it refuses one */
        if (src == 0 && (src = form_urlencoded_next(&q, end, FORM_STRICT, &strict)) == 1) {
            CHECK(strict.name == pair.name && strict.value_len == pair.value_len);
            src = 0;
        }
    }
    CHECK(rc == 0 && p == end);
    while (src == 0 && (src = form_urlencoded_next(&q, end, FORM_STRICT, &strict)) == 1)
        src = 0; /* "=%" pieces are skipped yet still refused */
    CHECK((src == -1) == fuzz_bad_escape(s, n));
    CHECK(form_urlencoded_parse(n ? s : NULL, n, 0, fuzz_count, &left) == 0);
    CHECK(left == (size_t)-1 - npairs);
    if (npairs > 0) { /* the callback stops the walk on the last pair */
        left = npairs;
        CHECK(form_urlencoded_parse(s, n, 0, fuzz_count, &left) == -1 && left == 0);
    }
}

static void fuzz_ctype(const char *s, size_t n, struct form_ctype *ct)
{
    const char *p = s, *end = s + n;
    struct form_param prm;
    char *buf = malloc(n + 1);
    int rc;

    CHECK(buf != NULL);
    while ((rc = form_param_next(&p, end, &prm)) == 1) {
        CHECK(prm.name_len > 0 && prm.value + prm.value_len <= end);
        CHECK(form_unquote(buf, prm.value_len + 1, prm.value, prm.value_len) >= 0);
    }
    free(buf);
    if (form_ctype_parse(s, n, ct) < 0) {
        ct->boundary_len = 0;
        return;
    }
    CHECK(ct->type >= s && ct->type + ct->type_len <= end);
    CHECK(memchr(ct->type, '/', ct->type_len) != NULL);
    CHECK(form_ctype_is(ct, "multipart/form-data") <= 1);
    CHECK(ct->boundary_len <= FORM_BOUNDARY_MAX && ct->charset_len <= FORM_CHARSET_MAX);
    CHECK(strlen(ct->boundary) == ct->boundary_len && strlen(ct->charset) == ct->charset_len);
}

/* ---- multipart ---- */

/* A transcript: 'B' and length-prefixed name, filename ("\xff" when none)
 * and type; 'D' and a length-prefixed run of data, consecutive runs joined
 * so that transcripts of different cuts compare; 'E'. */
struct rec {
    char *log;
    size_t len, cap;
    size_t data_at; /* offset of the open data run's length; 0 when none */
    const char *piece, *mp;
    size_t piece_len, mp_size;
    size_t begins, ends, events, abort_at;
    int in_part;
};

static void rec_add(struct rec *r, const void *s, size_t n)
{
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2 + 64;
        r->log = realloc(r->log, r->cap);
        CHECK(r->log != NULL);
    }
    if (n > 0)
        memcpy(r->log + r->len, s, n);
    r->len += n;
}

static void rec_field(struct rec *r, const char *s, size_t n)
{
    rec_add(r, &n, sizeof(n));
    rec_add(r, s, n);
}

static int rec_event(struct rec *r, char tag)
{
    r->data_at = 0;
    rec_add(r, &tag, 1);
    return ++r->events == r->abort_at ? -1 : 0;
}

static int rec_begin(void *arg, const struct form_part *p)
{
    struct rec *r = arg;
    int rc;

    CHECK(!r->in_part && p->index == r->begins);
    CHECK(p->name != NULL && p->name[p->name_len] == '\0');
    CHECK(p->content_type != NULL && p->content_type[p->content_type_len] == '\0');
    CHECK(p->filename == NULL || p->filename[p->filename_len] == '\0');
    CHECK(!memchr(p->name, '\r', p->name_len) && !memchr(p->name, '\n', p->name_len));
    r->in_part = 1;
    r->begins++;
    rc = rec_event(r, 'B');
    rec_field(r, p->name, p->name_len);
    rec_field(r, p->filename ? p->filename : "\xff", p->filename ? p->filename_len : 1);
    rec_field(r, p->content_type, p->content_type_len);
    return rc;
}

static int rec_data(void *arg, const char *data, size_t len)
{
    struct rec *r = arg;
    size_t run;

    CHECK(r->in_part && len > 0);
    CHECK((data >= r->piece && data + len <= r->piece + r->piece_len) ||
          (data >= r->mp && data + len <= r->mp + r->mp_size));
    if (r->data_at == 0) {
        rec_add(r, "D", 1);
        r->data_at = r->len;
        run = 0;
        rec_add(r, &run, sizeof(run));
    }
    memcpy(&run, r->log + r->data_at, sizeof(run));
    run += len;
    memcpy(r->log + r->data_at, &run, sizeof(run));
    rec_add(r, data, len);
    return ++r->events == r->abort_at ? -1 : 0;
}

static int rec_end(void *arg)
{
    struct rec *r = arg;

    CHECK(r->in_part);
    r->in_part = 0;
    r->ends++;
    return rec_event(r, 'E');
}

static const struct form_multipart_cb rec_cb = {rec_begin, rec_data, rec_end};

struct run {
    int rc;
    const char *reason;
    size_t nparts;
    struct rec r;
};

static struct form_multipart MP;

/* Feed body in pieces of sizes[0..nsizes) (0 meaning 1), the last piece
 * taking the rest; then end(). abort_at: the callback that aborts, or 0. */
static void fuzz_feed(const char *boundary, const char *body, size_t n,
                      const struct form_limits *lim, const uint8_t *sizes, size_t nsizes,
                      size_t abort_at, struct run *out)
{
    size_t at = 0, k = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    CHECK(form_multipart_init(&MP, boundary, strlen(boundary), lim) == 0);
    out->r.mp = (const char *)&MP;
    out->r.mp_size = sizeof(MP);
    out->r.abort_at = abort_at;
    do {
        size_t len = k < nsizes ? (size_t)sizes[k] + 1 : n - at;
        char *piece;

        if (len > n - at)
            len = n - at;
        piece = malloc(len ? len : 1);
        CHECK(piece != NULL);
        if (len > 0)
            memcpy(piece, body + at, len);
        out->r.piece = piece;
        out->r.piece_len = len;
        rc = form_multipart_feed(&MP, piece, len, &rec_cb, &out->r);
        free(piece);
        at += len;
        k++;
    } while (rc == 0 && at < n);
    CHECK(rc >= -1 && rc <= 1);
    CHECK((rc == -1) == (MP.reason != NULL));
    if (rc == 0)
        rc = form_multipart_end(&MP) == 0 ? 1 : -1;
    CHECK((rc == -1) == (MP.reason != NULL));
    CHECK(MP.nparts == out->r.begins);
    if (rc == 1)
        CHECK(out->r.begins == out->r.ends && !out->r.in_part);
    CHECK(form_multipart_feed(&MP, body, n, &rec_cb, NULL) == rc); /* sticky, no calls */
    CHECK(form_multipart_end(&MP) == (rc == 1 ? 0 : -1));
    out->rc = rc;
    out->reason = MP.reason;
    out->nparts = MP.nparts;
}

static void fuzz_same(const struct run *a, const struct run *b)
{
    CHECK(a->rc == b->rc && a->reason == b->reason && a->nparts == b->nparts);
    CHECK(a->r.len == b->r.len && (a->r.len == 0 || memcmp(a->r.log, b->r.log, a->r.len) == 0));
}

static size_t fuzz_len(const char *at)
{
    size_t n;

    memcpy(&n, at, sizeof(n));
    return n;
}

/* A part's data is one run of the body's own bytes, and a delimiter
 * ("\r\n--" boundary) never hides inside it. */
static void fuzz_check_data(const struct rec *r, const char *boundary, const char *body, size_t n)
{
    size_t i = 0, k, dlen = strlen(boundary) + 4;
    char delim[4 + FORM_BOUNDARY_MAX];

    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, dlen - 4);
    while (i < r->len) {
        char tag = r->log[i++];

        if (tag == 'B') {
            for (k = 0; k < 3; k++)
                i += sizeof(size_t) + fuzz_len(r->log + i);
        } else if (tag == 'D') {
            size_t len = fuzz_len(r->log + i);
            const char *run = r->log + i + sizeof(size_t);

            CHECK(len > 0 && memmem(body, n, run, len) != NULL);
            CHECK(memmem(run, len, delim, dlen) == NULL);
            i += sizeof(size_t) + len;
        }
    }
    CHECK(i == r->len);
}

static void fuzz_multipart(uint8_t ctl, const char *boundary, const char *body, size_t n)
{
    struct form_limits lim = {0, 0};
    struct run whole, cut;
    uint8_t *ones;

    if (ctl & 0x01)
        lim.max_parts = 1 + (ctl >> 5);
    if (ctl & 0x02)
        lim.max_head = 8 + (size_t)(ctl >> 2) * 4;
    fuzz_feed(boundary, body, n, &lim, NULL, 0, 0, &whole);
    CHECK(lim.max_parts == 0 || whole.nparts <= lim.max_parts);
    fuzz_check_data(&whole.r, boundary, body, n);
    /* pieces sized by the body's own bytes, then by its bytes read from the end */
    fuzz_feed(boundary, body, n, &lim, (const uint8_t *)body, n, 0, &cut);
    fuzz_same(&whole, &cut);
    free(cut.r.log);
    if (n <= 2048) {
        ones = calloc(n + 1, 1);
        CHECK(ones != NULL);
        fuzz_feed(boundary, body, n, &lim, ones, n, 0, &cut);
        fuzz_same(&whole, &cut);
        free(cut.r.log);
        free(ones);
    }
    if (whole.r.events > 0) {
        size_t at = 1 + (size_t)ctl % whole.r.events;

        fuzz_feed(boundary, body, n, &lim, (const uint8_t *)body, n, at, &cut);
        CHECK(cut.rc == -1 && strcmp(cut.reason, "aborted by callback") == 0);
        CHECK(cut.r.events == at);
        CHECK(cut.r.len <= whole.r.len);
        free(cut.r.log);
    }
    free(whole.r.log);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data + 1, *lf;
    struct form_ctype ct;
    struct form_multipart probe;
    size_t n, hl;

    if (size < 1)
        return 0;
    n = size - 1;
    fuzz_urlencoded(s, n);
    fuzz_decode_slice(s, n);
    lf = memchr(s, '\n', n);
    hl = lf ? (size_t)(lf - s) : 0;
    fuzz_ctype(s, hl, &ct);
    if (ct.boundary_len > 0 &&
        form_multipart_init(&probe, ct.boundary, ct.boundary_len, NULL) < 0) {
        CHECK(probe.reason != NULL);
        ct.boundary_len = 0;
    }
    if (lf != NULL)
        hl++;
    fuzz_multipart(data[0], ct.boundary_len ? ct.boundary : "b", s + hl, n - hl);
    return 0;
}
