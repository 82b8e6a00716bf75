/*
 * fuzz_cookie.c - libFuzzer target for src/cookie.c and src/xsrf.c.
 *
 * The input is taken as a Cookie header, a signed value and an XSRF token
 * at once. Beyond not crashing, each result is checked against what its
 * function promised: parsed pairs lie inside the header and obey the name
 * rules; a value that verifies decodes within its buffer; signing the
 * input verifies back to it; a decoded XSRF token re-masks to a token that
 * decodes and checks equal; a Set-Cookie that formats parses back to its
 * name and value. Buffers are malloc'd at their exact size so that ASan
 * sees every overrun.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc src/cookie.c src/xsrf.c \
 *       tests/fuzz/fuzz_cookie.c -lcrypto -o fuzz_cookie
 *   ./fuzz_cookie tests/fuzz/corpus_cookie
 */
#include "http/cookie.h"
#include "http/xsrf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

#define T0 1700000000

static const struct cookie_key fuzz_one[] = {{0, "tornado-secret", 14}};
static const struct cookie_keyset fuzz_single = {fuzz_one, 1, 1};
static const struct cookie_key fuzz_rot[] = {{1, "old-secret", 10}, {2, "new-secret", 10}};
static const struct cookie_keyset fuzz_rotation = {fuzz_rot, 2, 0};

static int fuzz_name_ok(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == '\\' || c == ';' || c == '=')
            return 0;
    }
    return n > 0;
}

static void fuzz_parse(const char *h, size_t n)
{
    struct cookie_iter it;
    struct cookie_pair p, first, found;
    int count = 0;

    cookie_iter_init(&it, h, n);
    while (cookie_iter_next(&it, &p) == 0) {
        CHECK(p.name >= h && p.name + p.name_len <= h + n);
        CHECK(p.value >= p.name + p.name_len && p.value + p.value_len <= h + n);
        CHECK(fuzz_name_ok(p.name, p.name_len));
        CHECK(memchr(p.value, ';', p.value_len) == NULL);
        if (count++ == 0)
            first = p;
    }
    if (count > 0) {
        char *name = strndup(first.name, first.name_len);
        CHECK(name != NULL);
        CHECK(cookie_find(h, n, name, &found) == 0);
        CHECK(found.name == first.name && found.value == first.value);
        free(name);
    }
}

static void fuzz_verify(const char *s, size_t n)
{
    size_t size = n + 1, len = 0;
    unsigned char *out = malloc(size);
    unsigned int kv;
    time_t now = T0;

    CHECK(out != NULL);
    if (n > 0) /* +-64 days around T0, past both the max age and the future bound */
        now += ((int)(unsigned char)s[n - 1] - 128) * 86400 / 2;
    if (cookie_verify(out, size, &len, &fuzz_single, "session", s, n, 31, T0) == 0)
        CHECK(len < size && out[len] == '\0');
    if (cookie_verify(out, size, &len, &fuzz_rotation, "user", s, n, 31, now) == 0) {
        CHECK(len < size);
        CHECK(cookie_signed_key_version(s, n, &kv) == 0 && (kv == 1 || kv == 2));
    }
    (void)cookie_signed_key_version(s, n, &kv);
    free(out);
}

/* The input with the signature it needs appended: what a key holder could
 * send, so that the checks behind the HMAC (fields, name, age, base64) see
 * fuzzed bytes too. */
static void fuzz_verify_resigned(const char *s, size_t n)
{
    unsigned char md[32], *out;
    unsigned int md_len = 0, i;
    char *signed_value = malloc(n + 64);
    size_t len = 0;

    CHECK(signed_value != NULL);
    CHECK(HMAC(EVP_sha256(), fuzz_one[0].secret, (int)fuzz_one[0].secret_len,
               (const unsigned char *)s, n, md, &md_len) != NULL);
    memcpy(signed_value, s, n);
    for (i = 0; i < md_len; i++) {
        signed_value[n + 2 * i] = "0123456789abcdef"[md[i] >> 4];
        signed_value[n + 2 * i + 1] = "0123456789abcdef"[md[i] & 15];
    }
    out = malloc(n + 64);
    CHECK(out != NULL);
    if (cookie_verify(out, n + 64, &len, &fuzz_single, "s", signed_value, n + 64, 31, T0) == 0)
        CHECK(len < n && out[len] == '\0');
    free(out);
    free(signed_value);
}

/* Sign the input as a value: it must verify back to itself, and be a valid
 * cookie value. */
static void fuzz_sign(const char *s, size_t n)
{
    size_t size = cookie_signed_size(4, n), len, out_len = 0;
    char *signed_value = malloc(size), *set_cookie = malloc(size + 5);
    unsigned char *out;

    CHECK(signed_value != NULL && set_cookie != NULL);
    CHECK(cookie_sign(signed_value, size, &fuzz_rotation, "user", s, n, T0) == 0);
    len = strlen(signed_value);
    out = malloc(len); /* the documented bound, exactly */
    CHECK(out != NULL);
    CHECK(cookie_verify(out, len, &out_len, &fuzz_rotation, "user", signed_value, len, 1, T0 + 1) ==
          0);
    CHECK(out_len == n && memcmp(out, s, n) == 0);
    CHECK(cookie_format(set_cookie, size + 5, "user", signed_value, NULL) == 0);
    free(out);
    free(set_cookie);
    free(signed_value);
}

static void fuzz_xsrf(const char *s, size_t n)
{
    static const unsigned char mask[XSRF_MASK_LEN] = {0x5a, 0x00, 0xff, 0x81};
    struct xsrf_token t, u;
    char *token = malloc(XSRF_TOKEN_SIZE);

    CHECK(token != NULL);
    if (xsrf_token_decode(&t, s, n) == 0) {
        CHECK(t.version == 1 || t.version == 2);
        CHECK(xsrf_token_format(token, XSRF_TOKEN_SIZE, t.raw, t.timestamp < 0 ? 0 : t.timestamp,
                                mask) == 0);
        CHECK(xsrf_token_decode(&u, token, strlen(token)) == 0);
        CHECK(memcmp(t.raw, u.raw, XSRF_RAW_LEN) == 0);
        CHECK(xsrf_token_check(s, n, token, strlen(token)) == 0);
    } else {
        CHECK(xsrf_token_check(s, n, s, n) == -1);
    }
    free(token);
}

/* The next '\n'-terminated line of s[*at..n) as a NUL-terminated copy
 * (caller frees), or NULL when there is none. */
static char *fuzz_line(const char *s, size_t n, size_t *at)
{
    const char *nl = memchr(s + *at, '\n', n - *at);
    char *line;

    if (nl == NULL)
        return NULL;
    line = strndup(s + *at, (size_t)(nl - s - *at));
    CHECK(line != NULL);
    *at = (size_t)(nl - s) + 1;
    return line;
}

/* Attributes from the input: lines "path" and "domain" ("-" for none) and
 * the last byte's bits for the flags and the times. */
static void fuzz_attrs(struct cookie_attrs *a, const char *s, size_t n, char *path, char *domain)
{
    unsigned char bits = n > 0 ? (unsigned char)s[n - 1] : 0;

    a->path = path != NULL && strcmp(path, "-") != 0 ? path : NULL;
    a->domain = domain != NULL && strcmp(domain, "-") != 0 ? domain : NULL;
    a->secure = bits & 1;
    a->httponly = bits >> 1 & 1;
    a->samesite = (enum cookie_samesite)(bits >> 2 & 3);
    a->has_max_age = bits >> 4 & 1;
    a->max_age = (long long)(bits & 0x40 ? -1 : 1) * (long long)n * 1000;
    a->has_expires = bits >> 5 & 1;
    a->expires = (time_t)(bits & 0x80 ? 253402300799LL - 1000 + (long long)n : (long long)n - 50);
}

/* "name\nvalue\npath\ndomain\n...": a Set-Cookie that formats must read
 * back as that pair, hold no line break, and obey the browser rules. */
static void fuzz_format(const char *s, size_t n)
{
    size_t at = 0;
    char *name = fuzz_line(s, n, &at), *value = fuzz_line(s, n, &at);
    char *path = fuzz_line(s, n, &at), *domain = fuzz_line(s, n, &at), out[512];
    struct cookie_attrs a = {0};
    struct cookie_pair p;

    if (name != NULL && value != NULL) {
        fuzz_attrs(&a, s, n, path, domain);
        if (cookie_format(out, sizeof(out), name, value, &a) == 0) {
            CHECK(strpbrk(out, "\r\n") == NULL);
            CHECK(cookie_find(out, strlen(out), name, &p) == 0);
            CHECK(p.value_len == strlen(value) && memcmp(p.value, value, p.value_len) == 0);
            CHECK(a.samesite != COOKIE_SAMESITE_NONE || strstr(out, "; Secure") != NULL);
        }
        if (cookie_format_clear(out, sizeof(out), name, &a) == 0)
            CHECK(strstr(out, "; Max-Age=0") != NULL);
    }
    free(name);
    free(value);
    free(path);
    free(domain);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;

    fuzz_parse(s, size);
    fuzz_verify(s, size);
    fuzz_verify_resigned(s, size);
    fuzz_sign(s, size);
    fuzz_xsrf(s, size);
    fuzz_format(s, size);
    return 0;
}
