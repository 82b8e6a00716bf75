/*
 * compress_negotiate.c - Accept-Encoding and Content-Type matching for the
 * compression stage (see compress_negotiate.h).
 */
#include "http/compress_negotiate.h"

#include <string.h>
#include <strings.h>

const char *const compress_negotiate_default_types[] = {
    "text/*",          "application/json", "application/javascript",
    "application/xml", "image/svg+xml",    "*+json",
    "*+xml",
};
const size_t compress_negotiate_ndefault_types =
    sizeof(compress_negotiate_default_types) / sizeof(*compress_negotiate_default_types);

/* The weights the header gave, in thousandths; -1: not named. */
struct compress_negotiate_q {
    int gzip, br, identity, any;
};

static int compress_negotiate_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* A token character of RFC 9110 5.6.2. */
static int compress_negotiate_is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* A qvalue ("0", "0.5", "1.000"; RFC 9110 12.4.2) in thousandths, or -1. */
static int compress_negotiate_qvalue(const char *p, size_t len)
{
    if (len == 0 || (p[0] != '0' && p[0] != '1') || (len > 1 && p[1] != '.') || len > 5)
        return -1;
    int q = (p[0] - '0') * 1000, scale = 100;
    for (size_t i = 2; i < len; i++, scale /= 10) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        q += (p[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* The weight of one element's parameters (after the coding): 1000 when
 * there is no q, -1 when they are malformed. Other parameters are allowed
 * and ignored. */
static int compress_negotiate_params(const char *p, const char *end)
{
    int q = 1000;
    while (p < end) {
        while (p < end && compress_negotiate_is_ows(*p))
            p++;
        if (p == end)
            break;
        if (*p++ != ';')
            return -1;
        while (p < end && compress_negotiate_is_ows(*p))
            p++;
        const char *name = p;
        while (p < end && compress_negotiate_is_tchar(*p))
            p++;
        size_t nlen = (size_t)(p - name);
        if (nlen == 0 || p == end || *p++ != '=')
            return -1;
        const char *val = p;
        while (p < end && !compress_negotiate_is_ows(*p) && *p != ';')
            p++;
        if (nlen == 1 && (*name == 'q' || *name == 'Q') &&
            (q = compress_negotiate_qvalue(val, (size_t)(p - val))) < 0)
            return -1;
    }
    return q;
}

/* Record one element "coding[;q=x]" of [p, end). */
static void compress_negotiate_element(const char *p, const char *end,
                                       struct compress_negotiate_q *w)
{
    while (p < end && compress_negotiate_is_ows(*p))
        p++;
    const char *coding = p;
    while (p < end && compress_negotiate_is_tchar(*p))
        p++;
    size_t len = (size_t)(p - coding);
    int q = len ? compress_negotiate_params(p, end) : -1;
    if (q < 0)
        return;
    int *slot = NULL;
    if ((len == 4 && !strncasecmp(coding, "gzip", 4)) ||
        (len == 6 && !strncasecmp(coding, "x-gzip", 6)))
        slot = &w->gzip;
    else if (len == 2 && !strncasecmp(coding, "br", 2))
        slot = &w->br;
    else if (len == 8 && !strncasecmp(coding, "identity", 8))
        slot = &w->identity;
    else if (len == 1 && *coding == '*')
        slot = &w->any;
    /* Named twice: the higher weight, so a repeat cannot refuse what the
     * client accepted (RFC 9110 leaves it open). */
    if (slot && q > *slot)
        *slot = q;
}

enum compress_coding compress_negotiate_coding(const char *accept_encoding, int brotli)
{
    if (!accept_encoding)
        return COMPRESS_IDENTITY;
    struct compress_negotiate_q w = {-1, -1, -1, -1};
    const char *p = accept_encoding;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        compress_negotiate_element(p, end, &w);
        if (!comma)
            break;
        p = comma + 1;
    }
    int gzip = w.gzip >= 0 ? w.gzip : w.any;
    int br = !brotli ? -1 : w.br >= 0 ? w.br : w.any;
    int best = br >= gzip ? br : gzip;
    if (best <= 0 || w.identity > best)
        return COMPRESS_IDENTITY;
    return br == best ? COMPRESS_BR : COMPRESS_GZIP;
}

/* [a, a+n) and [b, b+n) are equal, ASCII case ignored. Inline rather than
 * strncasecmp: every answer's type goes through here, and the strings are
 * a few bytes. */
static int compress_negotiate_ieq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? (char)(a[i] + 32) : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? (char)(b[i] + 32) : b[i];
        if (x != y)
            return 0;
    }
    return 1;
}

/* Whether the media type [t, t+len) matches one pattern. */
static int compress_negotiate_pattern(const char *pat, const char *t, size_t len)
{
    size_t plen = strlen(pat);
    if (plen >= 2 && pat[0] == '*' && pat[1] != '/') /* "*+json": a suffix */
        return len >= plen - 1 && compress_negotiate_ieq(t + len - (plen - 1), pat + 1, plen - 1);
    if (plen >= 2 && pat[plen - 1] == '*' && pat[plen - 2] == '/') /* "text/" and a star */
        return len > plen - 1 && compress_negotiate_ieq(t, pat, plen - 1);
    return len == plen && compress_negotiate_ieq(t, pat, len);
}

int compress_negotiate_type(const char *const *patterns, size_t n, const char *content_type)
{
    if (!content_type)
        return 0;
    const char *t = content_type;
    while (compress_negotiate_is_ows(*t))
        t++;
    size_t len = 0;
    int slash = 0;
    for (; t[len] && t[len] != ';' && !compress_negotiate_is_ows(t[len]); len++)
        slash |= t[len] == '/';
    if (len == 0 || !slash)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (compress_negotiate_pattern(patterns[i], t, len))
            return 1;
    return 0;
}
