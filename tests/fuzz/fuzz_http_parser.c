/*
 * fuzz_http_parser.c - libFuzzer target for src/http_parser.c.
 *
 * The input is a request as it would arrive on a socket. It is parsed in one
 * piece, in two pieces split at a point derived from the input, and one byte
 * more a call alternating between two copies of the buffer; all three must
 * agree, since a parser whose verdict depends on how TCP cut the bytes is a
 * smuggling bug. Each completed head is checked against the grammar it
 * claims to have enforced. What follows the head (or the whole input when
 * there is no head) goes through the chunked decoder whole, a byte at a time
 * and in two pieces, which must agree too.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc src/http_parser.c \
 *       tests/fuzz/fuzz_http_parser.c -o fuzz_http_parser
 *   ./fuzz_http_parser tests/fuzz/corpus_http
 */
#include "http/http_parser.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAXH 64

/* A result with its slices as offsets, comparable across buffers. */
struct outcome {
    int rc, status;
    const char *reason;
    long slice[8][2];
    long fields[MAXH][4];
    long nheaders, minor, content_length, flags, head_len;
};

struct limits {
    size_t head, target, headers;
};

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static uint32_t fuzz_hash(const uint8_t *d, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ d[i]) * 16777619u;
    return h;
}

static uint8_t *fuzz_copy(const uint8_t *d, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);

    CHECK(b != NULL);
    if (n)
        memcpy(b, d, n);
    return b;
}

static int fuzz_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Offset of a slice that must lie inside the head; -1 for NULL. The
 * implicit "/" path of an absolute-form target is the one exception. */
static long fuzz_slice(const char *s, size_t n, const char *buf, size_t head_len, int may_static)
{
    if (s == NULL) {
        CHECK(n == 0);
        return -1;
    }
    if (may_static && (s < buf || s > buf + head_len)) {
        CHECK(n == 1 && s[0] == '/');
        return -2;
    }
    CHECK(s >= buf && s <= buf + head_len && n <= head_len && s + n <= buf + head_len);
    return (long)(s - buf);
}

static void fuzz_check_field(const struct http_header *f)
{
    size_t i;

    CHECK(f->name_len > 0);
    for (i = 0; i < f->name_len; i++)
        CHECK(fuzz_tchar((unsigned char)f->name[i]));
    CHECK(f->name[f->name_len] == ':');
    if (f->value_len > 0) {
        CHECK(f->value[0] != ' ' && f->value[0] != '\t');
        CHECK(f->value[f->value_len - 1] != ' ' && f->value[f->value_len - 1] != '\t');
    }
    for (i = 0; i < f->value_len; i++) {
        unsigned char c = (unsigned char)f->value[i];
        CHECK(c == '\t' || c >= 0x20);
        CHECK(c != 0x7f);
    }
}

/* The head must be what the grammar allows; records it as offsets. */
static void fuzz_check_head(const struct http_head *h, const char *buf, size_t len, struct limits l,
                            struct outcome *o)
{
    size_t i, hl = h->head_len;

    CHECK(hl <= len && hl <= l.head && hl >= 16);
    CHECK(memcmp(buf + hl - 4, "\r\n\r\n", 4) == 0);
    o->slice[0][0] = fuzz_slice(h->method, h->method_len, buf, hl, 0);
    o->slice[1][0] = fuzz_slice(h->target, h->target_len, buf, hl, 0);
    o->slice[2][0] = fuzz_slice(h->path, h->path_len, buf, hl, 1);
    o->slice[3][0] = fuzz_slice(h->query, h->query_len, buf, hl, 0);
    o->slice[4][0] = fuzz_slice(h->host, h->host_len, buf, hl, 0);
    o->slice[5][0] = fuzz_slice(h->upgrade, h->upgrade_len, buf, hl, 0);
    o->slice[0][1] = (long)h->method_len;
    o->slice[1][1] = (long)h->target_len;
    o->slice[2][1] = (long)h->path_len;
    o->slice[3][1] = (long)h->query_len;
    o->slice[4][1] = (long)h->host_len;
    o->slice[5][1] = (long)h->upgrade_len;
    CHECK(h->method_len > 0 && h->target_len > 0 && h->target_len <= l.target);
    for (i = 0; i < h->method_len; i++)
        CHECK(fuzz_tchar((unsigned char)h->method[i]));
    CHECK(h->method[h->method_len] == ' ' && h->target[-1] == ' ');
    for (i = 0; i < h->target_len; i++)
        CHECK(h->target[i] > 0x20 && h->target[i] < 0x7f && h->target[i] != '#');
    CHECK(h->target[h->target_len] == ' ');
    CHECK(h->query == NULL || h->query[-1] == '?');
    CHECK(h->version_minor == 0 || h->version_minor == 1);
    CHECK(h->nheaders <= l.headers && h->headers != NULL);
    for (i = 0; i < h->nheaders; i++) {
        const struct http_header *f = &h->headers[i];
        o->fields[i][0] = fuzz_slice(f->name, f->name_len, buf, hl, 0);
        o->fields[i][1] = (long)f->name_len;
        o->fields[i][2] = fuzz_slice(f->value, f->value_len, buf, hl, 0);
        o->fields[i][3] = (long)f->value_len;
        fuzz_check_field(f);
        /* any Transfer-Encoding of a served request ends with chunked */
        if (f->name_len == 17 && strncasecmp(f->name, "transfer-encoding", 17) == 0)
            CHECK(h->chunked);
    }
    CHECK(h->content_length >= -1);
    CHECK(!(h->chunked && h->content_length >= 0));
    CHECK(!h->chunked || h->version_minor == 1);
    CHECK(h->version_minor == 0 || h->host != NULL);
    o->nheaders = (long)h->nheaders;
    o->minor = h->version_minor;
    o->content_length = (long)h->content_length;
    o->flags = h->chunked | h->conn_close << 1 | h->conn_keepalive << 2 | h->conn_upgrade << 3 |
               h->expect_continue << 4;
    o->head_len = (long)hl;
}

static void fuzz_outcome(struct http_parser *p, int rc, const struct http_head *h, const char *buf,
                         size_t len, struct limits l, struct outcome *o)
{
    memset(o, 0, sizeof(*o));
    o->rc = rc;
    CHECK(rc >= -1 && rc <= 1);
    if (rc == -1) {
        o->status = p->status;
        o->reason = p->reason;
        CHECK(p->reason != NULL);
        CHECK(p->status == 400 || p->status == 414 || p->status == 417 || p->status == 431 ||
              p->status == 501 || p->status == 505);
    } else if (rc == 1) {
        fuzz_check_head(h, buf, len, l, o);
    } else {
        CHECK(len <= l.head);
    }
}

static void fuzz_init(struct http_parser *p, struct http_header *hdrs, struct limits l)
{
    http_parser_init(p, l.head, l.target, hdrs, l.headers);
}

/* One piece; returns the head end (0 when none) for the body checks. */
static size_t fuzz_whole(const uint8_t *d, size_t n, struct limits l, struct outcome *o)
{
    struct http_header hdrs[MAXH];
    struct http_parser p;
    struct http_head h;
    uint8_t *b = fuzz_copy(d, n);
    int rc;

    fuzz_init(&p, hdrs, l);
    rc = http_parse_request(&p, (const char *)b, n, &h);
    fuzz_outcome(&p, rc, &h, (const char *)b, n, l, o);
    /* A finished parser repeats itself. */
    CHECK(http_parse_request(&p, (const char *)b, n, &h) == rc || rc == 0);
    free(b);
    return rc == 1 ? h.head_len : 0;
}

/* Two pieces, each in its own block. */
static void fuzz_split(const uint8_t *d, size_t n, size_t cut, struct limits l, struct outcome *o)
{
    struct http_header hdrs[MAXH];
    struct http_parser p;
    struct http_head h;
    uint8_t *a = fuzz_copy(d, cut), *b;
    int rc;

    fuzz_init(&p, hdrs, l);
    rc = http_parse_request(&p, (const char *)a, cut, &h);
    if (rc != 0) {
        fuzz_outcome(&p, rc, &h, (const char *)a, cut, l, o);
        free(a);
        return;
    }
    free(a);
    b = fuzz_copy(d, n);
    rc = http_parse_request(&p, (const char *)b, n, &h);
    fuzz_outcome(&p, rc, &h, (const char *)b, n, l, o);
    free(b);
}

/* One more byte a call, alternating between two copies so that a pointer
 * kept from an earlier call shows up as a wrong offset. */
static void fuzz_bytewise(const uint8_t *d, size_t n, struct limits l, struct outcome *o)
{
    struct http_header hdrs[MAXH];
    struct http_parser p;
    struct http_head h;
    uint8_t *b[2] = {fuzz_copy(d, n), fuzz_copy(d, n)};
    size_t k;
    int rc = 0;

    fuzz_init(&p, hdrs, l);
    for (k = 0; k <= n && rc == 0; k++)
        rc = http_parse_request(&p, (const char *)b[k & 1], k, &h);
    fuzz_outcome(&p, rc, &h, (const char *)b[(k - 1) & 1], k - 1, l, o);
    free(b[0]);
    free(b[1]);
}

static void fuzz_same(const struct outcome *a, const struct outcome *b)
{
    CHECK(a->rc == b->rc);
    if (a->rc == 0)
        return;
    CHECK(memcmp(a, b, sizeof(*a)) == 0);
}

static void fuzz_head(const uint8_t *d, size_t n, struct limits l, size_t cut, size_t *head_len)
{
    static struct outcome whole, split, bytewise;

    *head_len = fuzz_whole(d, n, l, &whole);
    fuzz_split(d, n, cut, l, &split);
    fuzz_same(&whole, &split);
    if (n <= 4096) {
        fuzz_bytewise(d, n, l, &bytewise);
        fuzz_same(&whole, &bytewise);
    }
}

struct body {
    int rc;
    size_t used, out_len;
    const char *reason;
    uint8_t *out;
};

/* Feeds d[0..n) in pieces ending at the cuts (ascending, last is n), each
 * piece in its own block, calling again while the decoder makes progress. */
static void fuzz_chunked(const uint8_t *d, size_t n, const size_t *cuts, size_t ncuts,
                         size_t max_line, size_t max_trailer, struct body *r)
{
    struct http_chunked c;
    size_t k, start = 0;

    http_chunked_init(&c);
    c.max_line = max_line;
    c.max_trailer = max_trailer;
    r->rc = HTTP_CHUNKED_MORE;
    r->used = r->out_len = 0;
    for (k = 0; k < ncuts && r->rc != HTTP_CHUNKED_DONE && r->rc != HTTP_CHUNKED_ERROR; k++) {
        uint8_t *b = fuzz_copy(d + start, cuts[k] - start);
        size_t len = cuts[k] - start, pos = 0;
        do {
            const char *data;
            size_t used, dlen;
            r->rc = http_chunked_parse(&c, (const char *)b + pos, len - pos, &used, &data, &dlen);
            CHECK(used <= len - pos);
            if (r->rc == HTTP_CHUNKED_DATA) {
                CHECK(dlen > 0 && (const uint8_t *)data >= b + pos);
                CHECK((const uint8_t *)data + dlen == b + pos + used);
                CHECK(r->out_len + dlen <= n);
                memcpy(r->out + r->out_len, data, dlen);
                r->out_len += dlen;
            } else {
                CHECK(data == NULL && dlen == 0);
            }
            if (r->rc == HTTP_CHUNKED_MORE)
                CHECK(used == len - pos);
            if (r->rc == HTTP_CHUNKED_ERROR)
                CHECK(used == 0 && c.reason != NULL);
            pos += used;
        } while (r->rc == HTTP_CHUNKED_DATA);
        r->used += pos;
        start = cuts[k];
        free(b);
    }
    r->reason = r->rc == HTTP_CHUNKED_ERROR ? c.reason : NULL;
}

static void fuzz_same_body(const struct body *a, const struct body *b)
{
    CHECK(a->rc == b->rc && a->reason == b->reason);
    /* Data handed out before an error may differ in how it was cut, never in
     * its bytes; on success everything must match. */
    if (a->rc == HTTP_CHUNKED_ERROR) {
        size_t m = a->out_len < b->out_len ? a->out_len : b->out_len;
        CHECK(memcmp(a->out, b->out, m) == 0);
        return;
    }
    CHECK(a->used == b->used && a->out_len == b->out_len);
    CHECK(memcmp(a->out, b->out, a->out_len) == 0);
}

static void fuzz_body(const uint8_t *d, size_t n, uint32_t h)
{
    static size_t cuts[4096];
    struct body whole, bytes, split;
    size_t max_line = h & 1 ? 4096 : 1 + (h >> 1) % 64;
    size_t max_trailer = h & 2 ? 16384 : (h >> 7) % 128;
    size_t i, two[2] = {(h >> 3) % (n + 1), n};

    if (n > sizeof(cuts) / sizeof(cuts[0]))
        return;
    whole.out = malloc(n + 1);
    bytes.out = malloc(n + 1);
    split.out = malloc(n + 1);
    CHECK(whole.out && bytes.out && split.out);
    fuzz_chunked(d, n, &n, 1, max_line, max_trailer, &whole);
    CHECK(whole.used <= n && whole.out_len <= n);
    CHECK(whole.rc != HTTP_CHUNKED_MORE || whole.used == n);
    for (i = 0; i < n; i++)
        cuts[i] = i + 1;
    fuzz_chunked(d, n, cuts, n, max_line, max_trailer, &bytes);
    fuzz_same_body(&whole, &bytes);
    fuzz_chunked(d, n, two, 2, max_line, max_trailer, &split);
    fuzz_same_body(&whole, &split);
    free(whole.out);
    free(bytes.out);
    free(split.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t h = fuzz_hash(data, size);
    struct limits roomy = {8192, 4096, MAXH};
    struct limits tight = {8 + h % 300, (h >> 9) % 80, (h >> 16) % 10};
    size_t cut = size ? (h >> 5) % (size + 1) : 0, head_len;

    fuzz_head(data, size, tight, cut, &head_len);
    fuzz_head(data, size, roomy, cut, &head_len);
    if (head_len > 0)
        fuzz_body(data + head_len, size - head_len, h);
    else
        fuzz_body(data, size, h);
    return 0;
}
