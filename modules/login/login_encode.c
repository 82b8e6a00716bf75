/*
 * login_encode.c - the text encodings the login flows speak: base64url
 * (JWS, PKCE: gale's, in malloc'd strings), base64 (OAuth 1.0a
 * signatures), RFC 3986 percent-encoding (OAuth 1.0a base strings, query
 * strings) and form decoding.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <gale/gale.h>

#include "login_pure.h"

static void *login_encode_alloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort(); /* as gale_request_alloc: out of memory ends the worker */
    return p;
}

char *login_encode_b64url(const unsigned char *in, size_t n)
{
    char *out = login_encode_alloc(GALE_BASE64URL_LEN(n) + 1);
    gale_base64url_encode(out, in, n);
    return out;
}

unsigned char *login_encode_b64url_decode(const char *in, size_t n, size_t *out_len)
{
    unsigned char *out = login_encode_alloc(n / 4 * 3 + 3);
    if (gale_base64url_decode(out, out_len, in, n) < 0) {
        free(out);
        return NULL;
    }
    out[*out_len] = 0;
    return out;
}

char *login_encode_b64(const unsigned char *in, size_t n)
{
    char *out = login_encode_alloc(n / 3 * 4 + 5);
    EVP_EncodeBlock((unsigned char *)out, in, (int)n);
    return out;
}

static int login_encode_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

char *login_encode_percent(const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = login_encode_alloc(n * 3 + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (login_encode_unreserved(c)) {
            *o++ = (char)c;
            continue;
        }
        *o++ = '%';
        *o++ = hex[c >> 4];
        *o++ = hex[c & 15];
    }
    *o = 0;
    return out;
}

char *login_encode_percent_decode(const char *s, size_t n)
{
    char *out = login_encode_alloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
            continue;
        }
        if (s[i] != '%') {
            *o++ = s[i];
            continue;
        }
        /* OpenSSL's digit value: gale's own (util_hex_value) is not in the
         * module API, and one function is not worth widening it */
        int hi = i + 2 < n ? OPENSSL_hexchar2int((unsigned char)s[i + 1]) : -1;
        int lo = hi >= 0 ? OPENSSL_hexchar2int((unsigned char)s[i + 2]) : -1;
        if (hi < 0 || lo < 0 || (hi | lo) == 0) {
            free(out);
            return NULL;
        }
        *o++ = (char)(hi << 4 | lo);
        i += 2;
    }
    *o = 0;
    return out;
}
