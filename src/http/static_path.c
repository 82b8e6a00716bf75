/*
 * static_path.c - URL path to relative file path (see static_path.h).
 */
#include "http/static_path.h"

#include <string.h>

#include "core/util.h"

/* The segment out[start..end): "." and ".." never name a file under the
 * root; a leading '.' is a hidden file, refused unless allowed. */
static int static_path_segment_ok(const char *seg, size_t n, int hidden)
{
    if (n == 1 && seg[0] == '.')
        return 0;
    if (n == 2 && seg[0] == '.' && seg[1] == '.')
        return 0;
    return hidden || seg[0] != '.';
}

ssize_t static_path_clean(const char *raw, size_t len, int hidden, char *out, size_t cap)
{
    size_t o = 0, seg = 0; /* where the current segment starts in out */
    for (size_t i = 0; i <= len; i++) {
        int c = i < len ? (unsigned char)raw[i] : '/';
        if (c == '/') { /* a literal '/' ends a segment; empty ones are dropped */
            if (o > seg && !static_path_segment_ok(out + seg, o - seg, hidden))
                return -1;
            if (o > seg && i < len) {
                if (o + 1 >= cap)
                    return -1;
                out[o++] = '/';
            }
            seg = o;
            continue;
        }
        if (c == '%') {
            int hi = i + 2 < len ? util_hex_value(raw[i + 1]) : -1;
            int lo = hi >= 0 ? util_hex_value(raw[i + 2]) : -1;
            if (lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
            if (c == '/') /* an encoded '/' would join segments the checks saw apart */
                return -1;
        }
        if (c == '\0' || c == '\\')
            return -1;
        if (o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    if (o > 0 && out[o - 1] == '/')
        o--; /* "a/" : the trailing separator added before an empty last segment */
    out[o] = '\0';
    return (ssize_t)o;
}
