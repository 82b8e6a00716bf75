/*
 * fuzz_static.c - libFuzzer target for the pure parts of static files: the
 * Range parser (src/http/range.c) and the URL path cleaner
 * (src/http/static_path.c).
 *
 * Input: the first 8 bytes are the file size (little-endian, taken modulo
 * 2^40) and a flags byte (bit 0: hidden files allowed); the rest is both a
 * Range header (NUL-terminated copy) and a raw URL path.
 *
 * Beyond not crashing, each result is checked against the contracts:
 * - RANGE_OK gives first <= last < size;
 * - the cleaned path (written to a buffer malloc'd at exactly the capacity,
 *   so that ASan sees an overrun) is NUL-terminated at the returned length,
 *   has no NUL, backslash, empty, "." or ".." segment, no leading or
 *   trailing '/', and no segment starting with '.' unless hidden is allowed.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Iinclude src/http/range.c \
 *       src/http/static_path.c src/core/util.c tests/fuzz/fuzz_static.c -o fuzz_static
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/range.h"
#include "http/static_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A set the parser returns is sorted, inside the file, and its ranges
 * neither overlap nor touch. */
static void fuzz_static_range(const char *header, uint64_t filesize)
{
    struct range_set set;
    if (range_parse(header, filesize, &set) != RANGE_OK)
        return;
    if (set.n == 0 || set.n > RANGE_MAX)
        abort();
    for (size_t i = 0; i < set.n; i++) {
        if (!(set.r[i].first <= set.r[i].last && set.r[i].last < filesize))
            abort();
        if (i && set.r[i].first <= set.r[i - 1].last + 1)
            abort();
    }
}

static void fuzz_static_path(const char *raw, size_t len, int hidden)
{
    size_t cap = len + 1 < 64 ? 64 : len + 1;
    char *out = malloc(cap);
    if (!out)
        return;
    ssize_t n = static_path_clean(raw, len, hidden, out, cap);
    if (n >= 0) {
        if ((size_t)n >= cap || out[n] != '\0' || strlen(out) != (size_t)n)
            abort();
        if (n > 0 && (out[0] == '/' || out[n - 1] == '/'))
            abort();
        if (strchr(out, '\\'))
            abort();
        for (char *seg = out; n > 0 && seg;) {
            char *end = strchr(seg, '/');
            size_t sl = end ? (size_t)(end - seg) : strlen(seg);
            if (sl == 0 || (sl == 1 && seg[0] == '.') ||
                (sl == 2 && seg[0] == '.' && seg[1] == '.') || (!hidden && seg[0] == '.'))
                abort();
            seg = end ? end + 1 : NULL;
        }
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 9)
        return 0;
    uint64_t filesize = 0;
    for (int i = 0; i < 8; i++)
        filesize |= (uint64_t)data[i] << (8 * i);
    filesize &= (1ULL << 40) - 1;
    int hidden = data[8] & 1;
    data += 9;
    size -= 9;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_static_range(text, filesize);
    fuzz_static_path(text, size, hidden);
    free(text);
    return 0;
}
