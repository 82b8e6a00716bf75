/*
 * xsrf.h - Tornado's XSRF tokens, compatible both ways with
 * tornado.web.RequestHandler.xsrf_token and check_xsrf_cookie.
 *
 * A session holds a raw token of XSRF_RAW_LEN random bytes. It travels,
 * in the "_xsrf" cookie and in forms or the X-XSRFToken header, in the
 * version 2 form
 *
 *   2|<mask, 8 hex digits>|<token XOR mask repeated, 32 hex digits>|<timestamp>
 *
 * with a fresh random mask for every response, so that the bytes on the
 * wire change each time and a compressed page does not leak the token
 * (BREACH). Version 1 is the raw token as 32 hex digits, unmasked, which
 * old Tornado cookies still hold; it is read, never written.
 *
 * The request flow, as Tornado's:
 *   1. xsrf_token_decode() the "_xsrf" cookie; if it fails, xsrf_raw_new()
 *      and take the caller's clock as timestamp, and remember to set the
 *      cookie.
 *   2. xsrf_token_new() for the page (and the new cookie, if any).
 *   3. On an unsafe method, xsrf_token_check() the submitted token against
 *      the cookie; -1 means answer 403.
 *
 * Pure functions: no I/O, no clock. Return 0 on success, -1 on error.
 */
#ifndef GALE_XSRF_H
#define GALE_XSRF_H

#include <stddef.h>
#include <time.h>

#define XSRF_RAW_LEN 16
#define XSRF_MASK_LEN 4
/* "2|" + 8 + "|" + 32 + "|" + at most 19 digits, and the NUL. */
#define XSRF_TOKEN_SIZE 64

struct xsrf_token {
    int version; /* 1 or 2: the form it was read from */
    unsigned char raw[XSRF_RAW_LEN];
    time_t timestamp; /* when the raw token was made; -1 for version 1 (none) */
};

/* Fill raw with XSRF_RAW_LEN bytes from OpenSSL's CSPRNG (RAND_bytes). */
int xsrf_raw_new(unsigned char *raw);
/* Write the version 2 form of raw under a fresh random mask (RAND_bytes)
 * into out (XSRF_TOKEN_SIZE bytes are enough), NUL-terminated. timestamp is
 * the raw token's (>= 0), carried so that it survives re-masking. */
int xsrf_token_new(char *out, size_t outsz, const unsigned char *raw, time_t timestamp);
/* The same with the caller's mask of XSRF_MASK_LEN bytes: deterministic,
 * for tests and for callers with their own random source. */
int xsrf_token_format(char *out, size_t outsz, const unsigned char *raw, time_t timestamp,
                      const unsigned char *mask);
/* Read a token in version 2 or version 1 form from s[0..len) into *t.
 * Tornado-compatible but strict: -1 unless the form is exact (hex of either
 * case, a 4-byte mask, a 16-byte token, a decimal timestamp). Unlike
 * Tornado, a non-hex version 1 value is not taken as the token itself: no
 * Tornado release since 3.2.2 writes one. */
int xsrf_token_decode(struct xsrf_token *t, const char *s, size_t len);
/* 0 if the submitted token and the cookie's both decode and hold the same
 * raw token (compared in constant time), else -1. Masks and timestamps may
 * differ. */
int xsrf_token_check(const char *submitted, size_t submitted_len, const char *cookie,
                     size_t cookie_len);

#endif
