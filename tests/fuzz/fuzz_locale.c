/*
 * fuzz_locale.c - libFuzzer target for src/page's parsers: the .mo
 * reader, the plural-form expressions, the Accept-Language reader and the
 * CSV reader, each given the input whole.
 *
 * Beyond not crashing: a .mo that loads has its entries sorted and unique,
 * and every plural index of every entry lies in range when picked; a
 * plural expression that compiles evaluates for any n without trapping;
 * Accept-Language codes lie in the buffer, in order of nothing but the
 * parser's promise (their count is bounded); a CSV that loads translates
 * each of its keys to a string. Buffers are malloc'd at their exact size
 * so that ASan sees every overrun.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc -Iinclude -D_GNU_SOURCE \
 *       src/page/locale.c src/page/locale_catalog.c src/page/locale_csv.c \
 *       src/page/locale_mo.c src/page/locale_plural.c src/page/locale_accept.c \
 *       tests/fuzz/fuzz_locale.c -lm -o fuzz_locale
 *   ./fuzz_locale tests/fuzz/corpus_locale
 */
#include "page/locale.h"
#include "page/locale_catalog.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static void fuzz_free(struct locale *l)
{
    for (int t = 0; t < 3; t++)
        locale_catalog_free(&l->csv[t]);
    locale_catalog_free(&l->mo);
}

static void fuzz_mo(const uint8_t *data, size_t size)
{
    struct locale l = {.code = "xx"};
    const char *why = NULL;
    uint8_t *copy = malloc(size ? size : 1);

    CHECK(copy != NULL);
    memcpy(copy, data, size);
    if (locale_mo_parse(&l, copy, size, &why) == 0) {
        for (size_t i = 0; i < l.mo.n; i++) {
            const struct locale_entry *e = &l.mo.v[i];
            CHECK(i == 0 || strcmp(l.mo.v[i - 1].key, e->key) < 0);
            CHECK(locale_catalog_find(&l.mo, e->key) == e);
            for (unsigned long n = 0; n < 4; n++)
                CHECK(locale_translate(&l, NULL, e->key, "p", (long)n) != NULL);
            CHECK(locale_translate(&l, "ctx", e->key, NULL, 0) != NULL);
        }
    } else {
        CHECK(why != NULL);
    }
    fuzz_free(&l);
    free(copy);
}

static void fuzz_plural(const uint8_t *data, size_t size)
{
    static struct locale_plural p;
    const char *why = NULL;
    char *expr = malloc(size ? size : 1);

    CHECK(expr != NULL);
    memcpy(expr, data, size);
    if (locale_plural_compile(&p, expr, size, &why) == 0) {
        CHECK(p.nnodes <= LOCALE_PLURAL_MAX_NODES && p.root < p.nnodes);
        for (unsigned long n = 0; n < 200; n += 7)
            (void)locale_plural_eval(&p, n);
        (void)locale_plural_eval(&p, (unsigned long)-1);
    } else {
        CHECK(why != NULL);
    }
    free(expr);
}

static void fuzz_accept(const uint8_t *data, size_t size)
{
    char *value = malloc(size + 1), *buf = malloc(64);
    const char *codes[8];
    size_t n;

    CHECK(value != NULL && buf != NULL);
    memcpy(value, data, size);
    value[size] = '\0';
    n = locale_accept_parse(value, buf, 64, codes, 8);
    CHECK(n <= 8);
    for (size_t i = 0; i < n; i++) {
        CHECK(codes[i] >= buf && codes[i] < buf + 64);
        CHECK(strlen(codes[i]) < 64);
        CHECK(strchr(codes[i], ',') == NULL);
    }
    free(value);
    free(buf);
}

static void fuzz_csv(const uint8_t *data, size_t size)
{
    struct locale l = {.code = "xx"};
    const char *why = NULL;
    int line = 0;

    if (locale_csv_parse(&l, (const char *)data, size, &line, &why) == 0) {
        for (int t = 0; t < 3; t++)
            for (size_t i = 0; i < l.csv[t].n; i++)
                CHECK(locale_catalog_find(&l.csv[t], l.csv[t].v[i].key) == &l.csv[t].v[i]);
    } else {
        CHECK(why != NULL && line >= 0);
    }
    fuzz_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_mo(data, size);
    fuzz_plural(data, size);
    fuzz_accept(data, size);
    fuzz_csv(data, size);
    return 0;
}
