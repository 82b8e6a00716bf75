/*
 * login_encode.c - the text encodings the login flows speak: base64url
 * (JWS, PKCE), base64 (OAuth 1.0a signatures), RFC 3986 percent-encoding
 * (OAuth 1.0a base strings, query strings) and form decoding.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "login_pure.h"

static const char login_encode_b64url_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void *login_encode_alloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort(); /* as gale_request_alloc: out of memory ends the worker */
    return p;
}

char *login_encode_b64url(const unsigned char *in, size_t n)
{
    char *out = login_encode_alloc(n / 3 * 4 + 5), *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
        for (int k = 18; k >= 0; k -= 6)
            *o++ = login_encode_b64url_chars[v >> k & 63];
    }
    if (n - i) {
        unsigned long v = (unsigned long)in[i] << 16;
        if (n - i == 2)
            v |= (unsigned long)in[i + 1] << 8;
        *o++ = login_encode_b64url_chars[v >> 18 & 63];
        *o++ = login_encode_b64url_chars[v >> 12 & 63];
        if (n - i == 2)
            *o++ = login_encode_b64url_chars[v >> 6 & 63];
    }
    *o = 0;
    return out;
}

static int login_encode_b64url_value(char c)
{
    const char *p = c ? strchr(login_encode_b64url_chars, c) : NULL;
    return p ? (int)(p - login_encode_b64url_chars) : -1;
}

unsigned char *login_encode_b64url_decode(const char *in, size_t n, size_t *out_len)
{
    if (n % 4 == 1)
        return NULL;
    unsigned char *out = login_encode_alloc(n / 4 * 3 + 3);
    size_t o = 0;
    unsigned long v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = login_encode_b64url_value(in[i]);
        if (d < 0) {
            free(out);
            return NULL;
        }
        v = v << 6 | (unsigned long)d;
        if (i % 4 == 3) {
            out[o++] = (unsigned char)(v >> 16);
            out[o++] = (unsigned char)(v >> 8);
            out[o++] = (unsigned char)v;
            v = 0;
        }
    }
    if (n % 4 == 2) {
        out[o++] = (unsigned char)(v >> 4);
    } else if (n % 4 == 3) {
        out[o++] = (unsigned char)(v >> 10);
        out[o++] = (unsigned char)(v >> 2);
    }
    out[o] = 0;
    *out_len = o;
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

static int login_encode_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
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
        int hi = i + 2 < n ? login_encode_hex(s[i + 1]) : -1;
        int lo = hi >= 0 ? login_encode_hex(s[i + 2]) : -1;
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
