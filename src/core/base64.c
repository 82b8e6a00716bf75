/*
 * base64.c - base64 and base64url (see base64.h). Strict on input: signed
 * cookies and ID tokens hold what an encoder made, so there is no reason to
 * accept anything looser (stray padding, foreign characters).
 */
#include "core/base64.h"

#include <string.h>

#include "gale/gale.h"

static const char base64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char base64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t base64_encoded_len(size_t n, int url)
{
    return url ? n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0) : (n + 2) / 3 * 4;
}

size_t base64_encode(char *out, const void *data, size_t n, int url)
{
    const unsigned char *in = data;
    const char *abc = url ? base64_url : base64_std;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 | (unsigned long)in[i + 1] << 8 | in[i + 2];
        for (int k = 18; k >= 0; k -= 6)
            *o++ = abc[v >> k & 63];
    }
    if (i < n) {
        unsigned long v = (unsigned long)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned long)in[i + 1] << 8;
        *o++ = abc[v >> 18 & 63];
        *o++ = abc[v >> 12 & 63];
        if (i + 1 < n)
            *o++ = abc[v >> 6 & 63];
        else if (!url)
            *o++ = '=';
        if (!url)
            *o++ = '=';
    }
    return (size_t)(o - out);
}

static int base64_digit(const char *abc, char c)
{
    const char *at = c ? strchr(abc, c) : NULL;
    return at ? (int)(at - abc) : -1;
}

int base64_decode(unsigned char *out, size_t *out_len, const char *in, size_t n, int url)
{
    const char *abc = url ? base64_url : base64_std;
    size_t pad = 0, o = 0;
    unsigned long v = 0;
    *out_len = 0;
    if (url ? n % 4 == 1 : n % 4 != 0)
        return -1;
    if (!url && n >= 4) /* "==" or "=" ends the last quantum, nowhere else */
        pad = (in[n - 1] == '=') + (in[n - 1] == '=' && in[n - 2] == '=');
    n -= pad;
    if (pad && n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int d = base64_digit(abc, in[i]);
        if (d < 0)
            return -1;
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
    *out_len = o;
    return 0;
}

size_t gale_base64url_encode(char *out, const void *in, size_t n)
{
    size_t len = base64_encode(out, in, n, 1);
    out[len] = 0;
    return len;
}

int gale_base64url_decode(unsigned char *out, size_t *out_len, const char *in, size_t n)
{
    return base64_decode(out, out_len, in, n, 1);
}
