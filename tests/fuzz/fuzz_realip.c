/*
 * fuzz_realip.c - libFuzzer target for src/http/realip.c: who the client is
 * behind trusted proxies (X-Real-IP, X-Forwarded-For, X-Forwarded-Proto).
 *
 * Input: lines. The first is the trusted_proxies list, blocks "ADDR[/BITS]"
 * separated by spaces (bits taken modulo the family's width + 1); then the
 * peer's address (cut to 45 bytes, the longest numeric address, as
 * realip_client's contract expects); then X-Real-IP, X-Forwarded-For and
 * X-Forwarded-Proto. A header whose line is missing is absent (NULL); an
 * empty line is an empty header.
 *
 * Beyond not crashing, each result is checked against realip.h's contract:
 * - realip_trusted agrees with a bit-by-bit comparison of the address with
 *   each block, for the peer, every X-Forwarded-For entry and the result;
 * - the client written to the output buffer (malloc'd at exactly the given
 *   capacity, so that ASan sees an overrun) is NUL-terminated within it, and
 *   is either the peer or a numeric address that inet_pton accepts;
 * - an untrusted peer always gets itself, whatever the headers say;
 * - from a trusted peer, a valid X-Real-IP (trimmed of spaces and tabs)
 *   wins; otherwise the result is what walking X-Forwarded-For from the
 *   right gives: each valid entry replaces the result, the walk stops after
 *   the first entry that is not trusted, and at the first that is not an
 *   address (which is never believed, nor anything left of it);
 * - the result does not depend on the capacity (46, the minimum, or more);
 * - realip_scheme gives NULL, "http" or "https", and one of the latter
 *   exactly when the first word of the last comma-separated entry is that
 *   scheme, in any case.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Iinclude src/http/realip.c \
 *       tests/fuzz/fuzz_realip.c $(pkg-config --cflags jansson) -o fuzz_realip
 *   ./fuzz_realip tests/fuzz/corpus_realip
 */
#include "http/realip.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

#define FUZZ_MAX_BLOCKS 8
#define FUZZ_MAX_PEER 45 /* INET6_ADDRSTRLEN - 1 */
#define FUZZ_MIN_CAP 46  /* realip_client's contract */

/* The family of a numeric address, its 16 bytes in a; 0 when it is none. */
static int fuzz_parse(const char *s, unsigned char a[16])
{
    memset(a, 0, 16);
    if (inet_pton(AF_INET, s, a) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, s, a) == 1)
        return AF_INET6;
    return 0;
}

/* The reference for realip_trusted: compare the first `bits` bits one by one. */
static int fuzz_trusted(const struct config_cidr *blocks, size_t n, const char *ip)
{
    unsigned char a[16];
    int family = fuzz_parse(ip, a);
    for (size_t i = 0; family && i < n; i++) {
        int same = blocks[i].family == family;
        for (int b = 0; same && b < blocks[i].bits; b++)
            same = ((blocks[i].addr[b / 8] ^ a[b / 8]) & (0x80 >> (b % 8))) == 0;
        if (same)
            return 1;
    }
    return 0;
}

/* Blocks from "ADDR[/BITS] ..." (unparsable words are skipped). */
static size_t fuzz_blocks(const char *line, struct config_cidr *blocks)
{
    size_t n = 0;
    char word[64];
    while (*line && n < FUZZ_MAX_BLOCKS) {
        size_t len = strcspn(line, " ");
        if (len > 0 && len < sizeof(word)) {
            memcpy(word, line, len);
            word[len] = '\0';
            char *slash = strchr(word, '/');
            if (slash)
                *slash = '\0';
            struct config_cidr *c = &blocks[n];
            c->family = fuzz_parse(word, c->addr);
            int max = c->family == AF_INET ? 32 : 128;
            c->bits = slash ? (int)(strtoul(slash + 1, NULL, 10) % (unsigned long)(max + 1)) : max;
            if (c->family)
                n++;
        }
        line += len;
        line += strspn(line, " ");
    }
    return n;
}

/* s[0..len) without the spaces and tabs around it, as a new string. */
static char *fuzz_trim(const char *s, size_t len)
{
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    char *t = malloc(len + 1);
    CHECK(t != NULL);
    memcpy(t, s, len);
    t[len] = '\0';
    return t;
}

/* The client the contract promises for a trusted peer and no usable
 * X-Real-IP: X-Forwarded-For walked from the right. Returns a new string. */
static char *fuzz_expect_forwarded(const struct config_cidr *blocks, size_t n, const char *peer,
                                   const char *xff)
{
    char *result = strdup(peer);
    CHECK(result != NULL);
    if (!xff)
        return result;
    size_t end = strlen(xff);
    for (;;) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        char *hop = fuzz_trim(xff + start, end - start);
        unsigned char a[16];
        if (!fuzz_parse(hop, a)) {
            free(hop);
            return result;
        }
        free(result);
        result = hop;
        if (!fuzz_trusted(blocks, n, hop) || start == 0)
            return result;
        end = start - 1;
    }
}

static void fuzz_client(const struct config_cidr *blocks, size_t n, const char *peer,
                        const char *real_ip, const char *xff, size_t cap)
{
    char *out = malloc(cap), *wide = malloc(4 * cap);
    CHECK(out != NULL && wide != NULL);
    memset(out, 0xAA, cap);
    realip_client(blocks, n, peer, real_ip, xff, out, cap);
    CHECK(memchr(out, '\0', cap) != NULL);

    unsigned char a[16];
    CHECK(strcmp(out, peer) == 0 || fuzz_parse(out, a));
    CHECK(realip_trusted(blocks, n, out) == fuzz_trusted(blocks, n, out));

    if (!fuzz_trusted(blocks, n, peer)) {
        CHECK(strcmp(out, peer) == 0);
    } else {
        char *real = real_ip ? fuzz_trim(real_ip, strlen(real_ip)) : NULL;
        char *want = real && fuzz_parse(real, a) ? strdup(real)
                                                 : fuzz_expect_forwarded(blocks, n, peer, xff);
        CHECK(want != NULL && strcmp(out, want) == 0);
        free(real);
        free(want);
    }

    realip_client(blocks, n, peer, real_ip, xff, wide, 4 * cap);
    CHECK(strcmp(out, wide) == 0);
    free(out);
    free(wide);
}

static void fuzz_scheme(const char *proto)
{
    const char *got = realip_scheme(proto);
    CHECK(got == NULL || !strcmp(got, "http") || !strcmp(got, "https"));
    if (!proto) {
        CHECK(got == NULL);
        return;
    }
    const char *last = strrchr(proto, ',');
    last = last ? last + 1 : proto;
    while (*last == ' ' || *last == '\t')
        last++;
    size_t len = 0;
    while (last[len] && last[len] != ' ' && last[len] != '\t')
        len++;
    int https = len == 5 && !strncasecmp(last, "https", 5);
    int http = len == 4 && !strncasecmp(last, "http", 4);
    CHECK((got != NULL) == (https || http));
    CHECK(!got || !strcmp(got, https ? "https" : "http"));
}

/* Line i of data as a new string, or NULL when there are fewer lines. */
static char *fuzz_line(const uint8_t *data, size_t size, int i, size_t max)
{
    const uint8_t *p = data, *end = data + size;
    for (; i > 0; i--) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return NULL;
        p = nl + 1;
    }
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    size_t len = (size_t)((nl ? nl : end) - p);
    if (len > max)
        len = max;
    char *s = malloc(len + 1);
    CHECK(s != NULL);
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line0 = fuzz_line(data, size, 0, size);
    char *peer = fuzz_line(data, size, 1, FUZZ_MAX_PEER);
    char *real_ip = fuzz_line(data, size, 2, size);
    char *xff = fuzz_line(data, size, 3, size);
    char *proto = fuzz_line(data, size, 4, size);
    struct config_cidr blocks[FUZZ_MAX_BLOCKS];
    size_t n = fuzz_blocks(line0, blocks);
    const char *who = peer ? peer : "";

    CHECK(realip_trusted(blocks, n, who) == fuzz_trusted(blocks, n, who));
    if (xff) { /* every entry, as the walk meets them */
        for (char *e = xff;; e++) {
            size_t len = strcspn(e, ",");
            char *hop = fuzz_trim(e, len);
            CHECK(realip_trusted(blocks, n, hop) == fuzz_trusted(blocks, n, hop));
            free(hop);
            e += len;
            if (!*e)
                break;
        }
    }
    fuzz_client(blocks, n, who, real_ip, xff, FUZZ_MIN_CAP);
    fuzz_client(blocks, n, who, real_ip, xff, FUZZ_MIN_CAP + size % 19);
    fuzz_scheme(proto);
    fuzz_scheme(real_ip); /* any text is a header value */

    free(line0);
    free(peer);
    free(real_ip);
    free(xff);
    free(proto);
    return 0;
}
