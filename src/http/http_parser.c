/*
 * http_parser.c - the strict, incremental HTTP/1.1 request parser.
 *
 * Requests reach us through proxies we do not control, so every ambiguity
 * that two parsers could read differently (bare LF, obs-fold, a space before
 * the colon, two framings) is an error here rather than a guess: the
 * cheapest defence against request smuggling is to refuse what a stricter or
 * laxer peer might frame differently (RFC 9112 sections 2.2, 5, 6.3, 11.2).
 *
 * The head parser is a byte state machine whose states own tight loops over
 * a class table, so the common bytes (method, target, names, values) cost one
 * load and one test each. It keeps offsets, never pointers, because the
 * caller's buffer may move between calls.
 */
#include "http/http_parser.h"

#include <string.h>

/* Character classes, one bit each (RFC 9110 5.5, 5.6.2, 5.6.4; RFC 3986). */
#define HP_C_TCHAR 0x01  /* token */
#define HP_C_TARGET 0x02 /* request-target: visible ASCII except '#' */
#define HP_C_VALUE 0x04  /* field-vchar, obs-text, SP, HTAB */
#define HP_C_HEX 0x08    /* HEXDIG */
#define HP_C_HOST 0x10   /* unreserved / sub-delims: reg-name without '%' */
#define HP_C_QDTEXT 0x20 /* qdtext: quoted-string text except '"' and '\\' */
#define HP_C_DIGIT 0x40  /* DIGIT */

/* Generated from the definitions above; tests/unit checks every byte of it
 * through the parser. */
static const unsigned char http_parse_class[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x24, 0x37, 0x06, 0x25, 0x37, 0x27, 0x37, 0x37, 0x36, 0x36, 0x37, 0x37, 0x36, 0x37, 0x37, 0x26,
    0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x26, 0x36, 0x26, 0x36, 0x26, 0x26,
    0x26, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37,
    0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x26, 0x06, 0x26, 0x27, 0x37,
    0x27, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37,
    0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x26, 0x27, 0x26, 0x37, 0x00,
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24,
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24,
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24,
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24,
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24,
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24,
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24,
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24,
};

#define HP_IS(c, cls) (http_parse_class[(unsigned char)(c)] & (cls))
#define HP_WS(c) ((c) == ' ' || (c) == '\t')
#define HP_FALLTHROUGH __attribute__((fallthrough))

/* RFC 9112 2.2 lets a server skip "at least one" empty line before the
 * request line; a few cover clients that add CRLF after a POST body, more is
 * a client writing garbage. */
#define HP_MAX_EMPTY_LINES 4

enum http_parse_state {
    HP_EMPTY_LINE, /* before the request line: a CRLF to skip or the method */
    HP_EMPTY_LF,
    HP_METHOD,
    HP_TARGET,
    HP_VERSION,
    HP_LINE_LF,
    HP_FIELD_START,
    HP_NAME,
    HP_VALUE_OWS,
    HP_VALUE,
    HP_VALUE_LF,
    HP_END_LF,
    HP_DONE,
    HP_ERROR,
};

/* p->flags */
#define HP_F_HOST 0x01
#define HP_F_TE 0x02
#define HP_F_CHUNKED 0x04
#define HP_F_CLOSE 0x08
#define HP_F_KEEPALIVE 0x10
#define HP_F_CONN_UPGRADE 0x20
#define HP_F_CONTINUE 0x40
#define HP_F_UPGRADE 0x80
#define HP_F_ABSOLUTE 0x100 /* absolute-form target: its authority is the host */
#define HP_F_TE_OTHER 0x200 /* a transfer coding other than chunked */

#define HP_NONE ((size_t)-1) /* no query, or the path is the implicit "/" */

void http_parser_init(struct http_parser *p, size_t max_head, size_t max_target,
                      struct http_header *headers, size_t max_headers)
{
    memset(p, 0, sizeof(*p));
    p->max_head = max_head;
    p->max_target = max_target;
    p->max_headers = max_headers;
    p->headers = headers;
    p->state = HP_EMPTY_LINE;
    p->content_length = -1;
    p->query_start = HP_NONE;
}

static int http_parse_fail(struct http_parser *p, int status, const char *reason)
{
    p->state = HP_ERROR;
    p->status = status;
    p->reason = reason;
    return -1;
}

/* A 400 whose reason names the line-ending mistake when that is what c is,
 * since bare CR/LF are the smuggling shapes an operator looks for. */
static int http_parse_bad(struct http_parser *p, unsigned char c, const char *reason)
{
    if (c == '\n')
        reason = "bare LF";
    return http_parse_fail(p, 400, reason);
}

/* ASCII case-insensitive compare of s[0..n) with the lower-case lit. */
static int http_parse_ieq(const unsigned char *s, size_t n, const char *lit)
{
    size_t i;

    if (strlen(lit) != n)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (c != (unsigned char)lit[i])
            return 0;
    }
    return 1;
}

size_t http_token_span(const char *s)
{
    size_t i = 0;
    while (HP_IS(s[i], HP_C_TCHAR)) /* NUL is none */
        i++;
    return i;
}

/* Four bytes a turn (each module header's value passes here): a byte is
 * read only after the one before it was in the class, so never past the
 * NUL. */
size_t http_value_span(const char *s)
{
    size_t i = 0;
    for (;; i += 4) { /* NUL is none */
        if (!HP_IS(s[i], HP_C_VALUE))
            return i;
        if (!HP_IS(s[i + 1], HP_C_VALUE))
            return i + 1;
        if (!HP_IS(s[i + 2], HP_C_VALUE))
            return i + 2;
        if (!HP_IS(s[i + 3], HP_C_VALUE))
            return i + 3;
    }
}

static int http_parse_is_token(const unsigned char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (!HP_IS(s[i], HP_C_TCHAR))
            return 0;
    return n > 0;
}

/* Next element of a comma list (RFC 9110 5.6.1) in v[*off..n), OWS trimmed;
 * empty elements are returned too, as length 0, for the callers that must
 * refuse them. Returns 0 when the list is exhausted. */
static int http_parse_list_next(const unsigned char *v, size_t n, size_t *off,
                                const unsigned char **el, size_t *el_len)
{
    size_t i = *off, s, e;

    if (i > n)
        return 0;
    while (i < n && HP_WS(v[i]))
        i++;
    s = i;
    while (i < n && v[i] != ',')
        i++;
    e = i;
    while (e > s && HP_WS(v[e - 1]))
        e--;
    *el = v + s;
    *el_len = e - s;
    *off = i + 1;
    return 1;
}

/* IP-literal (RFC 3986 3.2.2) at s[0] == '[', up to and including ']':
 * IPvFuture by its grammar, IPv6 by its alphabet and colon count (enough to
 * keep anything but an address out; the resolver is not our business).
 * Returns its length, or 0 when it is not one. */
static size_t http_parse_ip_literal(const unsigned char *s, size_t n)
{
    size_t i, from, colons = 0;

    if (n > 1 && (s[1] == 'v' || s[1] == 'V')) {
        for (i = 2; i < n && HP_IS(s[i], HP_C_HEX); i++)
            ;
        if (i == 2 || i == n || s[i] != '.')
            return 0;
        for (from = ++i; i < n && (HP_IS(s[i], HP_C_HOST) || s[i] == ':'); i++)
            ;
        if (i == from)
            return 0;
    } else {
        for (i = 1; i < n && (HP_IS(s[i], HP_C_HEX) || s[i] == ':' || s[i] == '.'); i++)
            colons += s[i] == ':';
        if (colons < 2 || colons > 7)
            return 0;
    }
    return i < n && s[i] == ']' ? i + 1 : 0;
}

/* reg-name or IPv4address: unreserved, sub-delims and pct-encoded, up to a
 * ':' or the end. Returns its length, or 0 when empty or invalid. */
static size_t http_parse_reg_name(const unsigned char *s, size_t n)
{
    size_t i = 0;

    for (;;) {
        while (i < n && HP_IS(s[i], HP_C_HOST)) /* ':' is none */
            i++;
        if (i < n && s[i] == '%' && n - i >= 3 && HP_IS(s[i + 1], HP_C_HEX) &&
            HP_IS(s[i + 2], HP_C_HEX))
            i += 3;
        else
            return i == n || s[i] == ':' ? i : 0;
    }
}

/* uri-host [ ":" port ] (RFC 9110 4.2.1, RFC 3986 3.2.2), as in Host and in
 * the authority of absolute-form and authority-form. Empty hosts and userinfo
 * are refused: RFC 9110 4.2.1 and 4.2.4 make both invalid for http(s). */
static int http_parse_host(const unsigned char *s, size_t n, int need_port)
{
    size_t i;

    if (n > 0 && s[0] == '[')
        i = http_parse_ip_literal(s, n);
    else
        i = http_parse_reg_name(s, n);
    if (i == 0)
        return -1;
    if (i == n)
        return need_port ? -1 : 0;
    if (s[i++] != ':' || (need_port && i == n))
        return -1;
    while (i < n && HP_IS(s[i], HP_C_DIGIT))
        i++;
    return i == n ? 0 : -1;
}

/* Split path and query at the first '?' of t[from..end). */
static void http_parse_split_query(struct http_parser *p, const unsigned char *b, size_t from)
{
    const unsigned char *q = memchr(b + from, '?', p->target_end - from);

    p->path_start = from;
    if (q == NULL) {
        p->path_len = p->target_end - from;
        return;
    }
    p->path_len = (size_t)(q - b) - from;
    p->query_start = p->path_start + p->path_len + 1;
    p->query_len = p->target_end - p->query_start;
}

/* absolute-form (RFC 9112 3.2.2): only the schemes we serve, a valid
 * authority, and an empty path standing for "/". */
static int http_parse_absolute(struct http_parser *p, const unsigned char *b)
{
    size_t t = p->target_start, n = p->target_end - t, a, e;

    if (n >= 7 && http_parse_ieq(b + t, 7, "http://"))
        a = t + 7;
    else if (n >= 8 && http_parse_ieq(b + t, 8, "https://"))
        a = t + 8;
    else
        return http_parse_fail(p, 400, "bad request-target");
    for (e = a; e < p->target_end && b[e] != '/' && b[e] != '?'; e++)
        ;
    if (http_parse_host(b + a, e - a, 0) < 0)
        return http_parse_fail(p, 400, "bad authority in request-target");
    p->flags |= HP_F_ABSOLUTE;
    p->authority_start = a;
    p->authority_len = e - a;
    if (e < p->target_end && b[e] == '/') {
        http_parse_split_query(p, b, e);
        return 0;
    }
    p->path_start = HP_NONE;
    p->path_len = 1;
    if (e < p->target_end) {
        p->query_start = e + 1;
        p->query_len = p->target_end - e - 1;
    }
    return 0;
}

/* Which of the four target forms (RFC 9112 3.2) this is, and whether the
 * method allows it: CONNECT takes only authority-form, "*" only OPTIONS. */
static int http_parse_target(struct http_parser *p, const unsigned char *b)
{
    const unsigned char *t = b + p->target_start;
    size_t n = p->target_end - p->target_start;
    enum http_method m =
        http_method_lookup((const char *)b + p->method_start, p->method_end - p->method_start);

    if (m == HTTP_M_CONNECT) {
        if (http_parse_host(t, n, 1) < 0)
            return http_parse_fail(p, 400, "CONNECT needs authority-form");
        p->path_start = p->target_start;
        p->path_len = n;
        return 0;
    }
    if (t[0] == '/') {
        http_parse_split_query(p, b, p->target_start);
        return 0;
    }
    if (n == 1 && t[0] == '*') {
        if (m != HTTP_M_OPTIONS)
            return http_parse_fail(p, 400, "asterisk-form only for OPTIONS");
        p->path_start = p->target_start;
        p->path_len = 1;
        return 0;
    }
    return http_parse_absolute(p, b);
}

/* The complete request line ends at p->pos (after its LF). HTTP/1.0 and
 * HTTP/1.1 are served, and a later 1.x as 1.1, the highest minor version we
 * implement (RFC 9110 6.2, as nginx does); a well-formed other major version
 * gets 505 so that a client can tell it from garbage (RFC 9110 15.6.6). */
static int http_parse_line_done(struct http_parser *p, const unsigned char *b)
{
    const unsigned char *v = b + p->target_end + 1;

    if (p->pos - 2 - (p->target_end + 1) != 8 || memcmp(v, "HTTP/", 5) != 0 ||
        !HP_IS(v[5], HP_C_DIGIT) || v[6] != '.' || !HP_IS(v[7], HP_C_DIGIT))
        return http_parse_fail(p, 400, "bad HTTP version");
    if (v[5] != '1')
        return http_parse_fail(p, 505, "HTTP version not supported");
    p->version_minor = v[7] == '0' ? 0 : 1;
    if (http_parse_target(p, b) < 0)
        return -1;
    p->state = HP_FIELD_START;
    return 0;
}

/* Whether eight bytes of a field value need no closer look: no control byte
 * (HTAB included, it just takes the slow path) and no DEL. Both tests are
 * exact for "is there any such byte", which is all that is asked; bytes
 * from 0x80 are obs-text and pass. */
static int http_parse_word_plain(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t del = w ^ (ones * 0x7f);

    return (((w - ones * 0x20) & ~w) | ((del - ones) & ~del)) & highs ? 0 : 1;
}

/* Whether eight bytes of a request-target are all visible ASCII but '#':
 * exact for "is there any other byte", like the test above. A carry out of
 * a byte in w + ones only happens from 0xff, which w's own high bit flags. */
static int http_parse_word_target(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t hash = w ^ (ones * '#');

    return (((w - ones * 0x21) & ~w) | (w + ones) | w | ((hash - ones) & ~hash)) & highs ? 0 : 1;
}

/* End of the request-target bytes from i, a word at a time while it can. */
static size_t http_parse_scan_target(const unsigned char *b, size_t i, size_t end)
{
    uint64_t w;

    while (end - i >= 8) {
        memcpy(&w, b + i, 8);
        if (!http_parse_word_target(w))
            break;
        i += 8;
    }
    while (i < end && HP_IS(b[i], HP_C_TARGET))
        i++;
    return i;
}

/* The method and the request-target, each ending at its single SP. */
static int http_parse_method_target(struct http_parser *p, const unsigned char *b, size_t end)
{
    size_t i = p->pos;

    if (p->state == HP_METHOD) {
        while (i < end && HP_IS(b[i], HP_C_TCHAR))
            i++;
        p->pos = i;
        if (i == end)
            return 0;
        if (b[i] != ' ' || i == p->method_start)
            return http_parse_bad(p, b[i], "bad method");
        p->method_end = i++;
        p->target_start = i;
        p->state = HP_TARGET;
    }
    i = http_parse_scan_target(b, i, end);
    p->pos = i;
    /* Checked before looking at why the scan stopped, so that an endless
     * target is refused as soon as it is too long, whatever follows. */
    if (i - p->target_start > p->max_target)
        return http_parse_fail(p, 414, "request-target too long");
    if (i == end)
        return 0;
    if (b[i] != ' ' || i == p->target_start)
        return http_parse_bad(p, b[i],
                              b[i] == '#' ? "fragment in request-target" : "bad request-target");
    p->target_end = i;
    p->pos = i + 1;
    p->state = HP_VERSION;
    return 0;
}

/* Bytes of the request line, from any leading empty lines to its LF. */
static int http_parse_request_line(struct http_parser *p, const unsigned char *b, size_t end)
{
    while (p->pos < end && p->state != HP_FIELD_START) {
        unsigned char c = b[p->pos];
        switch (p->state) {
        case HP_EMPTY_LINE:
            if (c == '\r') {
                p->state = HP_EMPTY_LF;
                p->pos++;
            } else {
                p->method_start = p->pos;
                p->state = HP_METHOD;
            }
            break;
        case HP_EMPTY_LF:
            if (c != '\n')
                return http_parse_fail(p, 400, "bare CR");
            if (++p->empty_lines > HP_MAX_EMPTY_LINES)
                return http_parse_fail(p, 400, "too many empty lines");
            p->state = HP_EMPTY_LINE;
            p->pos++;
            break;
        case HP_METHOD:
        case HP_TARGET:
            if (http_parse_method_target(p, b, end) < 0)
                return -1;
            break;
        case HP_VERSION:
            /* "HTTP/1.x" CRLF whole (nearly every request): one test for
             * ten bytes; anything else goes byte by byte below */
            if (end - p->pos >= 10 && memcmp(b + p->pos, "HTTP/1.", 7) == 0 &&
                HP_IS(b[p->pos + 7], HP_C_DIGIT) && b[p->pos + 8] == '\r' &&
                b[p->pos + 9] == '\n') {
                p->pos += 10;
                if (http_parse_line_done(p, b) < 0)
                    return -1;
                break;
            }
            if (c == '\r')
                p->state = HP_LINE_LF;
            else if (c == '\n' || p->pos - p->target_end > 8)
                return http_parse_bad(p, c, "bad HTTP version");
            p->pos++;
            break;
        case HP_LINE_LF:
            if (c != '\n')
                return http_parse_fail(p, 400, "bare CR");
            p->pos++;
            if (http_parse_line_done(p, b) < 0)
                return -1;
            break;
        }
    }
    return 0;
}

/* Content-Length (RFC 9110 8.6, RFC 9112 6.3): 1*DIGIT; a list or a repeat
 * only when every value is the same number. */
static int http_parse_content_length(struct http_parser *p, const unsigned char *v, size_t n)
{
    const unsigned char *el;
    size_t len, off = 0, i;

    if (p->flags & HP_F_TE)
        return http_parse_fail(p, 400, "Content-Length with Transfer-Encoding");
    while (http_parse_list_next(v, n, &off, &el, &len)) {
        int64_t cl = 0;
        if (len == 0)
            return http_parse_fail(p, 400, "bad Content-Length");
        for (i = 0; i < len; i++) {
            if (!HP_IS(el[i], HP_C_DIGIT))
                return http_parse_fail(p, 400, "bad Content-Length");
            if (cl > (INT64_MAX - (el[i] - '0')) / 10)
                return http_parse_fail(p, 400, "Content-Length too large");
            cl = cl * 10 + (el[i] - '0');
        }
        if (p->content_length >= 0 && p->content_length != cl)
            return http_parse_fail(p, 400, "conflicting Content-Length");
        p->content_length = cl;
    }
    return 0;
}

/* One Transfer-Encoding element that is not "chunked". Whether it is 400
 * or 501 depends on what follows it, in this field or in a later one, so
 * the verdict waits for the end of the head (http_parse_te_verdict). Only
 * something that is no coding at all is refused at once. */
static int http_parse_coding(struct http_parser *p, const unsigned char *el, size_t len)
{
    size_t i = 0;

    if (p->flags & HP_F_CHUNKED)
        return http_parse_fail(p, 400, "chunked not final");
    while (i < len && HP_IS(el[i], HP_C_TCHAR))
        i++;
    while (i > 0 && i < len && HP_WS(el[i]))
        i++;
    if (i == 0 || (i < len && el[i] != ';'))
        return http_parse_fail(p, 400, "bad Transfer-Encoding");
    p->flags |= HP_F_TE_OTHER;
    return 0;
}

/* RFC 9112 6.1: a request whose last coding is not chunked has no knowable
 * length, which is a 400 (a MUST: "identity" and "chunked;x=1" included);
 * chunked last after a coding we do not implement (gzip, chunked) is 501. */
static int http_parse_te_verdict(struct http_parser *p)
{
    if ((p->flags & HP_F_TE) && !(p->flags & HP_F_CHUNKED))
        return http_parse_fail(p, 400, "chunked not final");
    if (p->flags & HP_F_TE_OTHER)
        return http_parse_fail(p, 501, "unsupported transfer coding");
    return 0;
}

/* Transfer-Encoding (RFC 9112 6.1, 6.3): the list over all such fields must
 * end with chunked, which may appear once. HTTP/1.0 had no transfer codings,
 * so one there means a peer that frames differently: refused. */
static int http_parse_transfer_encoding(struct http_parser *p, const unsigned char *v, size_t n)
{
    const unsigned char *el;
    size_t len, off = 0, count = 0;

    if (p->version_minor == 0)
        return http_parse_fail(p, 400, "Transfer-Encoding in HTTP/1.0");
    if (p->content_length >= 0)
        return http_parse_fail(p, 400, "Content-Length with Transfer-Encoding");
    p->flags |= HP_F_TE;
    while (http_parse_list_next(v, n, &off, &el, &len)) {
        if (len == 0)
            continue;
        count++;
        if (!http_parse_ieq(el, len, "chunked")) {
            if (http_parse_coding(p, el, len) < 0)
                return -1;
            continue;
        }
        if (p->flags & HP_F_CHUNKED)
            return http_parse_fail(p, 400, "chunked applied twice");
        p->flags |= HP_F_CHUNKED;
    }
    if (count == 0)
        return http_parse_fail(p, 400, "empty Transfer-Encoding");
    return 0;
}

static int http_parse_connection(struct http_parser *p, const unsigned char *v, size_t n)
{
    const unsigned char *el;
    size_t len, off = 0;

    while (http_parse_list_next(v, n, &off, &el, &len)) {
        if (len == 0)
            continue;
        if (!http_parse_is_token(el, len))
            return http_parse_fail(p, 400, "bad Connection");
        if (http_parse_ieq(el, len, "close"))
            p->flags |= HP_F_CLOSE;
        else if (http_parse_ieq(el, len, "keep-alive"))
            p->flags |= HP_F_KEEPALIVE;
        else if (http_parse_ieq(el, len, "upgrade"))
            p->flags |= HP_F_CONN_UPGRADE;
    }
    return 0;
}

/* Expect (RFC 9110 10.1.1): 100-continue is the only expectation defined;
 * any other one cannot be met, and 417 tells the client so before it sends
 * a body that would be answered as if it had been met. */
static int http_parse_expect(struct http_parser *p, const unsigned char *v, size_t n)
{
    const unsigned char *el;
    size_t len, off = 0;

    while (http_parse_list_next(v, n, &off, &el, &len)) {
        if (len == 0)
            continue;
        if (!http_parse_ieq(el, len, "100-continue"))
            return http_parse_fail(p, 417, "unsupported expectation");
        p->flags |= HP_F_CONTINUE;
    }
    return 0;
}

/* Two Host fields could name two origins to two parsers (RFC 9112 3.2). */
static int http_parse_host_field(struct http_parser *p, size_t start, const unsigned char *v,
                                 size_t n)
{
    if (p->flags & HP_F_HOST)
        return http_parse_fail(p, 400, "duplicate Host");
    if (http_parse_host(v, n, 0) < 0)
        return http_parse_fail(p, 400, "bad Host");
    p->flags |= HP_F_HOST;
    p->host_start = start;
    p->host_len = n;
    return 0;
}

/* The fields whose meaning the parser must know to frame the message or to
 * refuse a smuggling shape; the rest are only recorded. */
static int http_parse_derive(struct http_parser *p, const unsigned char *name, size_t name_len,
                             const unsigned char *b, size_t vs, size_t vn)
{
    const unsigned char *v = b + vs;

    switch (name_len) {
    case 4:
        if (http_parse_ieq(name, 4, "host"))
            return http_parse_host_field(p, vs, v, vn);
        break;
    case 6:
        /* HTTP/1.0 had neither 100 Continue nor Upgrade: RFC 9110 10.1.1 and
         * 7.8 make the server ignore both there. */
        if (http_parse_ieq(name, 6, "expect") && p->version_minor == 1)
            return http_parse_expect(p, v, vn);
        break;
    case 7:
        /* Repeats are a list; the first is enough to pick a protocol. */
        if (http_parse_ieq(name, 7, "upgrade") && !(p->flags & HP_F_UPGRADE) &&
            p->version_minor == 1) {
            p->flags |= HP_F_UPGRADE;
            p->upgrade_start = vs;
            p->upgrade_len = vn;
        }
        break;
    case 10:
        if (http_parse_ieq(name, 10, "connection"))
            return http_parse_connection(p, v, vn);
        break;
    case 14:
        if (http_parse_ieq(name, 14, "content-length"))
            return http_parse_content_length(p, v, vn);
        break;
    case 17:
        if (http_parse_ieq(name, 17, "transfer-encoding"))
            return http_parse_transfer_encoding(p, v, vn);
        break;
    }
    return 0;
}

/* The caller's header array holds offsets until the head is complete: the
 * buffer may move, and the struct has no room for four offsets otherwise.
 * The integer survives the round trip through uintptr_t on every platform
 * gale builds for; the pointer is never dereferenced before the rebase. */
static const char *http_parse_off(size_t off)
{
    return (const char *)(uintptr_t)off;
}

/* A field line ends with the CR at cr: trim OWS and record it. */
static int http_parse_field(struct http_parser *p, const unsigned char *b, size_t cr)
{
    struct http_header *f = &p->headers[p->nheaders++];
    size_t vs = p->value_start, ve = cr;

    while (ve > vs && HP_WS(b[ve - 1]))
        ve--;
    f->name = http_parse_off(p->line_start);
    f->name_len = p->name_end - p->line_start;
    f->value = http_parse_off(vs);
    f->value_len = ve - vs;
    return http_parse_derive(p, b + p->line_start, f->name_len, b, vs, ve - vs);
}

/* The first byte of a field line that is not the empty line. */
static int http_parse_field_start(struct http_parser *p, unsigned char c)
{
    if (!HP_IS(c, HP_C_TCHAR)) {
        if (HP_WS(c))
            return http_parse_fail(p, 400, "obs-fold not allowed");
        return http_parse_bad(p, c, c == ':' ? "empty field name" : "bad field name");
    }
    if (p->nheaders == p->max_headers)
        return http_parse_fail(p, 431, "too many header fields");
    return 0;
}

/* End of the field-value bytes from i: values (cookies, user agents) are
 * most of a head, so they go a word at a time, then byte by byte through the
 * table only around a word that needs it. */
static size_t http_parse_scan_value(const unsigned char *b, size_t i, size_t end)
{
    for (;;) {
        size_t stop;
        uint64_t w;
        while (end - i >= 8) {
            memcpy(&w, b + i, 8);
            if (!http_parse_word_plain(w))
                break;
            i += 8;
        }
        stop = end - i > 8 ? i + 8 : end;
        while (i < stop && HP_IS(b[i], HP_C_VALUE))
            i++;
        if (i < stop || i == end)
            return i;
    }
}

/* Field lines up to the empty line. Returns 1 at the end of the head. The
 * cases fall through in line order, so a line that arrived whole costs one
 * dispatch; the state lives in a local until the bytes run out. */
static int http_parse_fields(struct http_parser *p, const unsigned char *b, size_t end)
{
    size_t i = p->pos;
    int state = p->state, rc = 0;

    while (i < end && rc == 0) {
        switch (state) {
        case HP_FIELD_START:
            if (b[i] == '\r') {
                state = HP_END_LF;
                i++;
                break;
            }
            if ((rc = http_parse_field_start(p, b[i])) < 0)
                break;
            p->line_start = i++;
            state = HP_NAME;
            HP_FALLTHROUGH;
        case HP_NAME:
            while (i < end && HP_IS(b[i], HP_C_TCHAR))
                i++;
            if (i == end)
                break;
            if (b[i] != ':') {
                rc = http_parse_bad(p, b[i], HP_WS(b[i]) ? "space before colon" : "bad field name");
                break;
            }
            p->name_end = i++;
            state = HP_VALUE_OWS;
            HP_FALLTHROUGH;
        case HP_VALUE_OWS:
            while (i < end && HP_WS(b[i]))
                i++;
            if (i == end)
                break;
            p->value_start = i;
            state = HP_VALUE;
            HP_FALLTHROUGH;
        case HP_VALUE:
            i = http_parse_scan_value(b, i, end);
            if (i == end)
                break;
            if (b[i] != '\r') {
                rc = http_parse_bad(p, b[i], "bad field value");
                break;
            }
            state = HP_VALUE_LF;
            if (++i == end)
                break;
            HP_FALLTHROUGH;
        case HP_VALUE_LF:
            if (b[i] != '\n') {
                rc = http_parse_fail(p, 400, "bare CR");
                break;
            }
            state = HP_FIELD_START;
            rc = http_parse_field(p, b, i - 1);
            i++;
            break;
        case HP_END_LF:
            rc = b[i] == '\n' ? 1 : http_parse_fail(p, 400, "bare CR");
            i++;
            break;
        }
    }
    p->pos = i;
    if (rc >= 0) /* an error has set its own state */
        p->state = state;
    return rc;
}

/* h from the offsets, as pointers into buf. */
static void http_parse_fill(const struct http_parser *p, const char *buf, struct http_head *h)
{
    memset(h, 0, sizeof(*h));
    h->method = buf + p->method_start;
    h->method_len = p->method_end - p->method_start;
    h->target = buf + p->target_start;
    h->target_len = p->target_end - p->target_start;
    h->path = p->path_start == HP_NONE ? "/" : buf + p->path_start;
    h->path_len = p->path_len;
    h->query = p->query_start == HP_NONE ? NULL : buf + p->query_start;
    h->query_len = p->query_len;
    h->version_minor = p->version_minor;
    h->headers = p->headers;
    h->nheaders = p->nheaders;
    h->content_length = p->content_length;
    h->chunked = !!(p->flags & HP_F_CHUNKED);
    h->conn_close = !!(p->flags & HP_F_CLOSE);
    h->conn_keepalive = !!(p->flags & HP_F_KEEPALIVE);
    h->conn_upgrade = !!(p->flags & HP_F_CONN_UPGRADE);
    h->expect_continue = !!(p->flags & HP_F_CONTINUE);
    if (p->flags & HP_F_ABSOLUTE) {
        /* RFC 9112 3.2.2: the target's authority overrides Host. */
        h->host = buf + p->authority_start;
        h->host_len = p->authority_len;
    } else if (p->flags & HP_F_HOST) {
        h->host = buf + p->host_start;
        h->host_len = p->host_len;
    }
    h->upgrade = p->flags & HP_F_UPGRADE ? buf + p->upgrade_start : NULL;
    h->upgrade_len = p->upgrade_len;
    h->head_len = p->pos;
}

/* Checks that need the whole head; then the offsets become pointers. */
static int http_parse_finish(struct http_parser *p, const char *buf, struct http_head *h)
{
    size_t i;

    if (p->version_minor == 1 && !(p->flags & HP_F_HOST))
        return http_parse_fail(p, 400, "missing Host");
    if (http_parse_te_verdict(p) < 0)
        return -1;
    p->state = HP_DONE;
    for (i = 0; i < p->nheaders; i++) {
        p->headers[i].name = buf + (uintptr_t)p->headers[i].name;
        p->headers[i].value = buf + (uintptr_t)p->headers[i].value;
    }
    http_parse_fill(p, buf, h);
    return 1;
}

int http_parse_request(struct http_parser *p, const char *buf, size_t len, struct http_head *h)
{
    const unsigned char *b = (const unsigned char *)buf;
    /* Never look past max_head: what lies beyond can only be a 431. */
    size_t end = len < p->max_head ? len : p->max_head;
    int rc = 0;

    if (p->state == HP_ERROR)
        return -1;
    if (p->state == HP_DONE)
        return 1;
    if (p->state < HP_FIELD_START && http_parse_request_line(p, b, end) < 0)
        return -1;
    if (p->state >= HP_FIELD_START)
        rc = http_parse_fields(p, b, end);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return len > p->max_head ? http_parse_fail(p, 431, "header too large") : 0;
    return http_parse_finish(p, buf, h);
}

/* Whether name[0..len) is the method m, len being its length. */
static int http_method_is(const char *name, const char *m, size_t len)
{
    return memcmp(name, m, len) == 0;
}

/* By length first: a request's method costs one compare or two. */
enum http_method http_method_lookup(const char *name, size_t len)
{
    switch (len) {
    case 3:
        return http_method_is(name, "GET", 3)   ? HTTP_M_GET
               : http_method_is(name, "PUT", 3) ? HTTP_M_PUT
                                                : HTTP_M_OTHER;
    case 4:
        return http_method_is(name, "HEAD", 4)   ? HTTP_M_HEAD
               : http_method_is(name, "POST", 4) ? HTTP_M_POST
                                                 : HTTP_M_OTHER;
    case 5:
        return http_method_is(name, "PATCH", 5)   ? HTTP_M_PATCH
               : http_method_is(name, "TRACE", 5) ? HTTP_M_TRACE
                                                  : HTTP_M_OTHER;
    case 6:
        return http_method_is(name, "DELETE", 6) ? HTTP_M_DELETE : HTTP_M_OTHER;
    case 7:
        return http_method_is(name, "OPTIONS", 7)   ? HTTP_M_OPTIONS
               : http_method_is(name, "CONNECT", 7) ? HTTP_M_CONNECT
                                                    : HTTP_M_OTHER;
    }
    return HTTP_M_OTHER;
}

/*
 * The chunked body decoder (RFC 9112 7.1). Framing is a few bytes a chunk,
 * so it goes a byte at a time through one switch; data is never touched,
 * only sliced. Everything the grammar does not allow is an error: lenient
 * chunk parsing (whitespace, "0x", LF alone) is the classic smuggling vector.
 */
enum http_chunked_state {
    HC_SIZE_START,
    HC_SIZE,
    HC_SIZE_WS,   /* BWS after the size: only ';' may follow */
    HC_EXT_START, /* after ';' */
    HC_EXT_NAME,
    HC_EXT_NAME_WS, /* BWS after a name: '=' or ';' must follow */
    HC_EXT_VAL_START,
    HC_EXT_TOKEN,
    HC_EXT_QUOTED,
    HC_EXT_PAIR, /* after '\\' in a quoted-string */
    HC_EXT_VAL_END,
    HC_EXT_VAL_WS, /* BWS after a value: only ';' may follow */
    HC_SIZE_LF,
    HC_DATA,
    HC_DATA_CR,
    HC_DATA_LF,
    HC_TRAILER_START,
    HC_TRAILER_NAME,
    HC_TRAILER_VALUE,
    HC_TRAILER_LF,
    HC_FINAL_LF,
    HC_DONE,
    HC_ERROR,
};

void http_chunked_init(struct http_chunked *c)
{
    memset(c, 0, sizeof(*c));
    c->state = HC_SIZE_START;
    c->max_line = 4096;
    c->max_trailer = 16384;
}

static int http_chunked_fail(struct http_chunked *c, const char *reason)
{
    c->state = HC_ERROR;
    c->reason = reason;
    return HC_ERROR;
}

/* A byte the grammar does not allow here; a LF is named as such, as in the
 * head parser. */
static int http_chunked_bad(struct http_chunked *c, unsigned char ch, const char *reason)
{
    return http_chunked_fail(c, ch == '\n' ? "bare LF" : reason);
}

static unsigned http_chunked_hex(unsigned char ch)
{
    if (ch <= '9')
        return ch - '0';
    return (ch | 0x20) - 'a' + 10;
}

/* One more hex digit; sizes stop at INT64_MAX so that callers may keep
 * lengths in signed types. */
static int http_chunked_digit(struct http_chunked *c, unsigned char ch)
{
    if (c->remaining > (uint64_t)INT64_MAX >> 4)
        return http_chunked_fail(c, "chunk size too large");
    c->remaining = c->remaining << 4 | http_chunked_hex(ch);
    return HC_SIZE;
}

/* After a size, a name or a value: what may end it. ws is the state that
 * BWS leads to; CR is allowed only right after the element. */
static int http_chunked_after(struct http_chunked *c, unsigned char ch, int ws)
{
    if (ch == ';')
        return HC_EXT_START;
    if (HP_WS(ch))
        return ws;
    if (ch == '\r')
        return HC_SIZE_LF;
    return http_chunked_bad(c, ch, "bad chunk extension");
}

/* After BWS: the element may only continue with ';' (or '=' after a name). */
static int http_chunked_after_ws(struct http_chunked *c, unsigned char ch, int eq)
{
    if (ch == ';')
        return HC_EXT_START;
    if (HP_WS(ch))
        return c->state;
    if (eq && ch == '=')
        return HC_EXT_VAL_START;
    return http_chunked_bad(c, ch,
                            c->state == HC_SIZE_WS ? "bad chunk size" : "bad chunk extension");
}

/* The chunk-size line: chunk-size [ chunk-ext ] CRLF. */
static int http_chunked_size_line(struct http_chunked *c, unsigned char ch)
{
    int tchar = HP_IS(ch, HP_C_TCHAR) != 0;

    switch (c->state) {
    case HC_SIZE_START:
        if (!HP_IS(ch, HP_C_HEX))
            return http_chunked_bad(c, ch, "bad chunk size");
        return http_chunked_digit(c, ch);
    case HC_SIZE:
        if (HP_IS(ch, HP_C_HEX))
            return http_chunked_digit(c, ch);
        if (ch == ';' || ch == '\r' || HP_WS(ch))
            return http_chunked_after(c, ch, HC_SIZE_WS);
        return http_chunked_bad(c, ch, "bad chunk size");
    case HC_SIZE_WS:
    case HC_EXT_VAL_WS:
        return http_chunked_after_ws(c, ch, 0);
    case HC_EXT_NAME_WS:
        return http_chunked_after_ws(c, ch, 1);
    case HC_EXT_START:
        if (HP_WS(ch))
            return HC_EXT_START;
        return tchar ? HC_EXT_NAME : http_chunked_bad(c, ch, "bad chunk extension");
    case HC_EXT_NAME:
        if (tchar)
            return HC_EXT_NAME;
        return ch == '=' ? HC_EXT_VAL_START : http_chunked_after(c, ch, HC_EXT_NAME_WS);
    case HC_EXT_VAL_START:
        if (HP_WS(ch))
            return HC_EXT_VAL_START;
        if (ch == '"')
            return HC_EXT_QUOTED;
        return tchar ? HC_EXT_TOKEN : http_chunked_bad(c, ch, "bad chunk extension");
    case HC_EXT_TOKEN:
        return tchar ? HC_EXT_TOKEN : http_chunked_after(c, ch, HC_EXT_VAL_WS);
    case HC_EXT_QUOTED:
        if (ch == '"')
            return HC_EXT_VAL_END;
        if (ch == '\\')
            return HC_EXT_PAIR;
        return HP_IS(ch, HP_C_QDTEXT) ? HC_EXT_QUOTED
                                      : http_chunked_bad(c, ch, "bad chunk extension");
    case HC_EXT_PAIR:
        return HP_IS(ch, HP_C_VALUE) ? HC_EXT_QUOTED
                                     : http_chunked_bad(c, ch, "bad chunk extension");
    case HC_EXT_VAL_END:
        return http_chunked_after(c, ch, HC_EXT_VAL_WS);
    }
    /* HC_SIZE_LF */
    if (ch != '\n')
        return http_chunked_bad(c, ch, "bare CR");
    c->line_len = 0;
    return c->remaining ? HC_DATA : HC_TRAILER_START;
}

/* trailer-section CRLF after the last chunk: field lines checked like the
 * head's, though their content is not used. */
static int http_chunked_trailer(struct http_chunked *c, unsigned char ch)
{
    switch (c->state) {
    case HC_TRAILER_START:
        if (ch == '\r')
            return HC_FINAL_LF;
        if (HP_IS(ch, HP_C_TCHAR))
            return HC_TRAILER_NAME;
        if (HP_WS(ch))
            return http_chunked_bad(c, ch, "obs-fold not allowed");
        return http_chunked_bad(c, ch, ch == ':' ? "empty field name" : "bad field name");
    case HC_TRAILER_NAME:
        if (HP_IS(ch, HP_C_TCHAR))
            return HC_TRAILER_NAME;
        if (ch == ':')
            return HC_TRAILER_VALUE;
        return http_chunked_bad(c, ch, HP_WS(ch) ? "space before colon" : "bad field name");
    case HC_TRAILER_VALUE:
        if (HP_IS(ch, HP_C_VALUE))
            return HC_TRAILER_VALUE;
        return ch == '\r' ? HC_TRAILER_LF : http_chunked_bad(c, ch, "bad field value");
    case HC_TRAILER_LF:
        c->line_len = 0;
        return ch == '\n' ? HC_TRAILER_START : http_chunked_bad(c, ch, "bare CR");
    }
    /* HC_FINAL_LF */
    return ch == '\n' ? HC_DONE : http_chunked_bad(c, ch, "bare CR");
}

/* One framing byte (never data); returns the next state or HC_ERROR. */
static int http_chunked_byte(struct http_chunked *c, unsigned char ch)
{
    int trailer = c->state >= HC_TRAILER_START;
    /* The empty line that ends the trailers is not one of them: a limit of
     * 0 refuses all trailer fields but not the body. */
    int field = trailer && c->state != HC_FINAL_LF && (c->state != HC_TRAILER_START || ch != '\r');

    if (field && ++c->trailer_bytes > c->max_trailer)
        return http_chunked_fail(c, "trailers too large");
    if (ch != '\r' && ch != '\n' && ++c->line_len > c->max_line)
        return http_chunked_fail(c, trailer ? "trailer line too long" : "chunk line too long");
    switch (c->state) {
    case HC_DATA_CR:
        return ch == '\r' ? HC_DATA_LF : http_chunked_bad(c, ch, "no CRLF after chunk data");
    case HC_DATA_LF:
        c->remaining = 0;
        c->line_len = 0;
        return ch == '\n' ? HC_SIZE_START : http_chunked_bad(c, ch, "bare CR");
    }
    return trailer ? http_chunked_trailer(c, ch) : http_chunked_size_line(c, ch);
}

int http_chunked_parse(struct http_chunked *c, const char *buf, size_t len, size_t *used,
                       const char **data, size_t *data_len)
{
    size_t i = 0;

    *data = NULL;
    *data_len = 0;
    while (i < len && c->state != HC_DONE && c->state != HC_ERROR) {
        if (c->state == HC_DATA) {
            size_t n = len - i < c->remaining ? len - i : (size_t)c->remaining;
            *data = buf + i;
            *data_len = n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = HC_DATA_CR;
            *used = i + n;
            return HTTP_CHUNKED_DATA;
        }
        c->state = http_chunked_byte(c, (unsigned char)buf[i++]);
    }
    if (c->state == HC_ERROR) {
        *used = 0;
        return HTTP_CHUNKED_ERROR;
    }
    *used = i;
    return c->state == HC_DONE ? HTTP_CHUNKED_DONE : HTTP_CHUNKED_MORE;
}
