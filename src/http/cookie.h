/*
 * cookie.h - HTTP cookies: the Cookie request header, Set-Cookie values, and
 * signed values in Tornado's version 2 format.
 *
 * Pure functions: no I/O, no clock, no allocation. Callers pass buffers with
 * their sizes; a result that does not fit is an error (-1), never truncated.
 * Every function returns 0 on success and -1 on error unless it says
 * otherwise.
 */
#ifndef GALE_COOKIE_H
#define GALE_COOKIE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Parsing the Cookie request header.
 *
 * Pairs are separated by ';' with optional spaces or tabs around names and
 * values (RFC 6265 5.4 says "; ", clients differ). A value wrapped in double
 * quotes is returned without them; backslash escapes inside are not undone
 * (RFC 6265 has none; only Python's http.cookies writes them). Skipped, as
 * browsers and Tornado do with what they cannot use: pairs without '=',
 * and pairs whose name is empty or holds bytes outside 0x21-0x7e or any of
 * '"' ',' '\'. Names are otherwise lenient on purpose: real clients send
 * names such as "a[b]" or "x:y" that are not RFC tokens. Values are
 * returned as sent, whatever bytes they hold: treat them as untrusted.
 * Duplicates are all returned, in header order.
 */
struct cookie_pair {
    const char *name; /* points into the header, not NUL-terminated */
    size_t name_len;
    const char *value; /* idem; may be empty */
    size_t value_len;
};

struct cookie_iter {
    const char *p, *end;
};

/* Start iterating over header[0..len). The header must outlive the iterator
 * and the pairs it returns. */
void cookie_iter_init(struct cookie_iter *it, const char *header, size_t len);
/* Fill *pair with the next pair: 0, or -1 when there is none left (and
 * *pair is left alone). */
int cookie_iter_next(struct cookie_iter *it, struct cookie_pair *pair);
/* The first pair called `name` (NUL-terminated): 0, or -1 if absent. The
 * first, not the last as Tornado's dict keeps: browsers send the cookie with
 * the longest Path first (RFC 6265 5.4 step 2), the most specific one. */
int cookie_find(const char *header, size_t len, const char *name, struct cookie_pair *pair);

/*
 * Formatting a Set-Cookie header value.
 *
 * The name must be an RFC 7230 token and the value cookie-octets (RFC 6265
 * 4.1.1: printable ASCII except space, DQUOTE, ',', ';' and '\'), so that
 * what is sent is what comes back; anything else is refused (-1) and the
 * caller encodes the value (base64, percent-encoding or cookie_sign).
 *
 * Browser rules that would make a browser silently drop the cookie are
 * refused rather than patched over, so the mistake shows at the call site:
 * SameSite=None without Secure (adding Secure behind the caller's back
 * would make the cookie vanish on plain http), a "__Secure-" name without
 * Secure, a "__Host-" name without Secure, with a Domain or with a Path
 * other than "/".
 */
enum cookie_samesite {
    COOKIE_SAMESITE_UNSET = 0, /* no attribute: the browser's default (Lax today) */
    COOKIE_SAMESITE_LAX,
    COOKIE_SAMESITE_STRICT,
    COOKIE_SAMESITE_NONE, /* requires secure */
};

/* Zero-initialise and set what is wanted: {.path = "/", .httponly = 1}. */
struct cookie_attrs {
    const char *path;   /* NULL: none; else starts with '/', printable ASCII but ';' */
    const char *domain; /* NULL: none (host-only); else letters, digits, '-', '.' */
    int has_expires;
    time_t expires; /* seconds since 1970, at most year 9999; sent as IMF-fixdate */
    int has_max_age;
    long long max_age; /* seconds, >= 0; 0 removes the cookie */
    int secure;
    int httponly;
    enum cookie_samesite samesite;
};

/* A Set-Cookie buffer that holds what browsers keep (4096 bytes of name and
 * value) with room for attributes. */
#define COOKIE_SET_MAX 4608

/* Write "name=value; Expires=...; Max-Age=...; Domain=...; Path=...;
 * Secure; HttpOnly; SameSite=..." (attributes only when set) into
 * out[0..outsz), NUL-terminated. attrs may be NULL. */
int cookie_format(char *out, size_t outsz, const char *name, const char *value,
                  const struct cookie_attrs *attrs);
/* The Set-Cookie value that removes cookie `name`: an empty value with
 * Max-Age=0 and Expires=Thu, 01 Jan 1970 00:00:00 GMT. A browser only
 * removes a cookie whose Path and Domain match, so pass the attrs the cookie
 * was set with (its expiry fields are ignored; NULL means none). */
int cookie_format_clear(char *out, size_t outsz, const char *name,
                        const struct cookie_attrs *attrs);
/* Format t as an IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", into out
 * (at least COOKIE_DATE_SIZE bytes). -1 for t < 0 or past year 9999. */
#define COOKIE_DATE_SIZE 30
int cookie_format_date(char *out, size_t outsz, time_t t);

/*
 * Signed values, byte for byte Tornado's version 2 (create_signed_value and
 * decode_signed_value with min_version=2):
 *
 *   2|<len>:<key version>|<len>:<timestamp>|<len>:<name>|<len>:<base64 value>|<hmac>
 *
 * where <hmac> is the lowercase hex HMAC-SHA256 of everything before it,
 * keyed with the secret of that key version. The value is authenticated,
 * not encrypted: anyone can read it.
 */
struct cookie_key {
    unsigned int version;
    const void *secret; /* borrowed; must not be empty */
    size_t secret_len;
};

/* The secrets, as Tornado's cookie_secret setting: either one unversioned
 * secret (Tornado's str: nkeys == 1 and unversioned set; it signs as key
 * version 0 and verifies a value whatever key version it names), or
 * versioned keys (Tornado's dict): the greatest version signs, and a value
 * verifies with the key of the version it names, so keys can be rotated by
 * adding a greater version and dropping old ones once their values expire.
 * Keys are borrowed: the caller keeps them alive and secret. */
struct cookie_keyset {
    const struct cookie_key *keys;
    size_t nkeys;
    int unversioned;
};

/* Size of a buffer that holds any signed value of this name and value
 * length (an upper bound, NUL included); 0 if the lengths are absurd. */
size_t cookie_signed_size(size_t name_len, size_t value_len);
/* Sign value[0..value_len) under `name` at time `now` (seconds since 1970,
 * >= 0; the caller's clock) into out, NUL-terminated. The result is made
 * of cookie-octets, ready for cookie_format when the name is. */
int cookie_sign(char *out, size_t outsz, const struct cookie_keyset *keys, const char *name,
                const void *value, size_t value_len, time_t now);
/*
 * Verify signed[0..len) as a value of `name` and decode it into out, with
 * its length in *out_len; out is NUL-terminated too (values may hold NULs,
 * so trust *out_len). outsz >= len is always enough. The value is refused
 * (-1: treat the cookie as absent) if anything is off: not version 2, any
 * field malformed (lengths and numbers must be canonical decimal, no
 * sign, no leading zero, no overflow), an unknown key version, a wrong
 * signature (compared in constant time), another name, a timestamp older
 * than max_age_days before `now`, or more than 31 days after it. Tornado
 * checks the future bound for version 1 values only; gale applies it to
 * version 2 too, since a value from the future means a clock gone wrong or
 * a leaked key.
 */
int cookie_verify(unsigned char *out, size_t outsz, size_t *out_len,
                  const struct cookie_keyset *keys, const char *name, const char *signed_value,
                  size_t len, double max_age_days, time_t now);
/* The key version a signed value names, without verifying it (Tornado's
 * get_signature_key_version): after cookie_verify succeeds, a version below
 * the signing key's tells that the value should be signed again. */
int cookie_signed_key_version(const char *signed_value, size_t len, unsigned int *version);

#endif
