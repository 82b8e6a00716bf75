/*
 * xsrf.c - Tornado's XSRF tokens (see xsrf.h): masking, the version 2 and
 * version 1 forms, and the constant-time check.
 */
#include "http/xsrf.h"

#include "core/util.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#define XSRF_HEX_MASK (2 * XSRF_MASK_LEN)
#define XSRF_HEX_RAW (2 * XSRF_RAW_LEN)

/* Tornado's _websocket_mask: data XOR the 4-byte mask repeated. Its own
 * inverse. */
static void xsrf_mask(unsigned char *out, const unsigned char *in, const unsigned char *mask)
{
    size_t i;

    for (i = 0; i < XSRF_RAW_LEN; i++)
        out[i] = in[i] ^ mask[i % XSRF_MASK_LEN];
}

/* Exactly 2 * n hex digits of either case, as binascii.a2b_hex, into out[n]. */
static int xsrf_unhex(unsigned char *out, size_t n, const char *s, size_t len)
{
    size_t i;

    if (len != 2 * n)
        return -1;
    for (i = 0; i < n; i++) {
        int hi = util_hex_value(s[2 * i]), lo = util_hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

/* Decimal digits (leading zeros allowed, as Python's int()) up to
 * LLONG_MAX. */
static int xsrf_timestamp(time_t *out, const char *s, size_t len)
{
    long long v = 0;
    size_t i;

    if (len == 0)
        return -1;
    for (i = 0; i < len; i++) {
        int d = s[i] - '0';
        if (d < 0 || d > 9 || v > (LLONG_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = (time_t)v;
    return 0;
}

int xsrf_raw_new(unsigned char *raw)
{
    return raw != NULL && RAND_bytes(raw, XSRF_RAW_LEN) == 1 ? 0 : -1;
}

int xsrf_token_format(char *out, size_t outsz, const unsigned char *raw, time_t timestamp,
                      const unsigned char *mask)
{
    unsigned char masked[XSRF_RAW_LEN];
    char mask_hex[XSRF_HEX_MASK + 1] = {0}, masked_hex[XSRF_HEX_RAW + 1] = {0};
    int n;

    if (out == NULL || raw == NULL || mask == NULL || timestamp < 0)
        return -1;
    xsrf_mask(masked, raw, mask);
    util_hex(mask_hex, mask, XSRF_MASK_LEN);
    util_hex(masked_hex, masked, XSRF_RAW_LEN);
    n = snprintf(out, outsz, "2|%s|%s|%lld", mask_hex, masked_hex, (long long)timestamp);
    if (n < 0 || (size_t)n >= outsz) {
        if (outsz > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

int xsrf_token_new(char *out, size_t outsz, const unsigned char *raw, time_t timestamp)
{
    unsigned char mask[XSRF_MASK_LEN];

    if (RAND_bytes(mask, sizeof(mask)) != 1)
        return -1;
    return xsrf_token_format(out, outsz, raw, timestamp, mask);
}

/* "2|mask|masked|timestamp": exactly four parts, as Tornado's split("|"). */
static int xsrf_decode_v2(struct xsrf_token *t, const char *s, size_t len)
{
    const char *end = s + len, *p = s + 2, *bar1, *bar2;
    unsigned char mask[XSRF_MASK_LEN], masked[XSRF_RAW_LEN];

    bar1 = memchr(p, '|', (size_t)(end - p));
    if (bar1 == NULL)
        return -1;
    bar2 = memchr(bar1 + 1, '|', (size_t)(end - bar1 - 1));
    if (bar2 == NULL || memchr(bar2 + 1, '|', (size_t)(end - bar2 - 1)) != NULL)
        return -1;
    if (xsrf_unhex(mask, XSRF_MASK_LEN, p, (size_t)(bar1 - p)) < 0 ||
        xsrf_unhex(masked, XSRF_RAW_LEN, bar1 + 1, (size_t)(bar2 - bar1 - 1)) < 0 ||
        xsrf_timestamp(&t->timestamp, bar2 + 1, (size_t)(end - bar2 - 1)) < 0)
        return -1;
    xsrf_mask(t->raw, masked, mask);
    t->version = 2;
    return 0;
}

int xsrf_token_decode(struct xsrf_token *t, const char *s, size_t len)
{
    int rc;

    if (t == NULL || s == NULL)
        return -1;
    /* A leading "2|" can only be version 2: '|' is not a hex digit. Other
     * versions ("<digits>|") are refused, as Tornado treats them as absent. */
    if (len >= 2 && s[0] == '2' && s[1] == '|') {
        rc = xsrf_decode_v2(t, s, len);
    } else {
        rc = xsrf_unhex(t->raw, XSRF_RAW_LEN, s, len);
        t->version = 1;
        t->timestamp = -1;
    }
    if (rc < 0)
        OPENSSL_cleanse(t, sizeof(*t));
    return rc;
}

int xsrf_token_check(const char *submitted, size_t submitted_len, const char *cookie,
                     size_t cookie_len)
{
    struct xsrf_token a, b;
    int rc = -1;

    if (xsrf_token_decode(&a, submitted, submitted_len) == 0 &&
        xsrf_token_decode(&b, cookie, cookie_len) == 0)
        rc = CRYPTO_memcmp(a.raw, b.raw, XSRF_RAW_LEN) == 0 ? 0 : -1;
    OPENSSL_cleanse(&a, sizeof(a));
    OPENSSL_cleanse(&b, sizeof(b));
    return rc;
}
