/*
 * fuzz_accept_encoding.c - libFuzzer target for src/http/compress_negotiate.c:
 * the Accept-Encoding parser and the Content-Type patterns.
 *
 * Input: the first byte picks whether Brotli is allowed (its low bit); the
 * rest, cut at the first NUL, is an Accept-Encoding value and also a
 * Content-Type. Beyond not crashing (the copy is malloc'd at its exact size,
 * so that ASan sees an overread), each result is checked against
 * compress_negotiate.h's contract:
 * - the coding is identity, gzip or br, and br only when Brotli is allowed;
 * - a header that does not name gzip, br or "*" in any case never gets a
 *   coding;
 * - with Brotli refused, the result is never br;
 * - the type matcher answers 0 or 1, and 0 for a value without '/'.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Iinclude \
 *       src/http/compress_negotiate.c tests/fuzz/fuzz_accept_encoding.c -o fuzz_accept_encoding
 *   ./fuzz_accept_encoding tests/fuzz/corpus_accept_encoding
 */
#include "http/compress_negotiate.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fuzz_names_a_coding(const char *h)
{
    for (const char *p = h; *p; p++)
        if (*p == '*' || !strncasecmp(p, "gzip", 4) || !strncasecmp(p, "br", 2))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int brotli = data[0] & 1;
    size_t len = strnlen((const char *)data + 1, size - 1);
    char *h = malloc(len + 1);
    if (!h)
        return 0;
    memcpy(h, data + 1, len);
    h[len] = '\0';

    enum compress_coding c = compress_negotiate_coding(h, brotli);
    if (c != COMPRESS_IDENTITY && c != COMPRESS_GZIP && c != COMPRESS_BR)
        abort();
    if (c == COMPRESS_BR && !brotli)
        abort();
    if (c != COMPRESS_IDENTITY && !fuzz_names_a_coding(h))
        abort();
    if (brotli && compress_negotiate_coding(h, 0) == COMPRESS_BR)
        abort();

    int t = compress_negotiate_type(compress_negotiate_default_types,
                                    compress_negotiate_ndefault_types, h);
    if (t != 0 && t != 1)
        abort();
    if (t && !strchr(h, '/'))
        abort();
    free(h);
    return 0;
}
