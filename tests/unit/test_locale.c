/*
 * test_locale.c - src/page/locale*.c: plural-form expressions (several
 * languages' rules, hostile ones), Accept-Language, locale matching, the
 * CSV and .mo parsers (a .mo built here in both byte orders, corrupt
 * ones), contexts, and the formats. The byte-for-byte comparison with
 * tornado.locale over many inputs is locale_tornado.py.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "page/locale.h"
#include "page/locale_catalog.h"

#define T0 1700000000.0 /* Tuesday 2023-11-14 22:13:20 UTC */

static long plural_of(const char *expr, unsigned long n)
{
    static struct locale_plural p;
    const char *why;

    if (locale_plural_compile(&p, expr, strlen(expr), &why) < 0)
        return -100;
    return locale_plural_eval(&p, n);
}

#define POLISH "n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2"
#define RUSSIAN "(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)"
#define ARABIC "n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5"

static void test_plural_languages(void)
{
    static const unsigned long ns[] = {0,  1,  2,  3,  4,   5,   11,  12,
                                       14, 21, 22, 25, 101, 102, 111, 112};
    static const long pl[] = {2, 0, 1, 1, 1, 2, 2, 2, 2, 2, 1, 2, 2, 1, 2, 2};
    static const long ru[] = {2, 0, 1, 1, 1, 2, 2, 2, 2, 0, 1, 2, 0, 1, 2, 2};
    static const long ar[] = {0, 1, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 5, 5, 4, 4};

    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        CU_ASSERT_EQUAL(plural_of(POLISH, ns[i]), pl[i]);
        CU_ASSERT_EQUAL(plural_of(RUSSIAN, ns[i]), ru[i]);
        CU_ASSERT_EQUAL(plural_of(ARABIC, ns[i]), ar[i]);
        CU_ASSERT_EQUAL(plural_of("n != 1", ns[i]), ns[i] != 1);
        CU_ASSERT_EQUAL(plural_of("(n > 1)", ns[i]), ns[i] > 1);
        CU_ASSERT_EQUAL(plural_of("0", ns[i]), 0);
    }
    CU_ASSERT_EQUAL(plural_of("!(n == 1)", 1), 0);
    CU_ASSERT_EQUAL(plural_of("!!n", 7), 1);
    CU_ASSERT_EQUAL(plural_of("2 + 3 * 4 - 10 / 5", 0), 12);
    CU_ASSERT_EQUAL(plural_of("(2 + 3) * 4 % 7", 0), 6);
    CU_ASSERT_EQUAL(plural_of("n <= 2 ? n >= 1 : 3", 2), 1);
    CU_ASSERT_EQUAL(plural_of("n == 0 || n == 1 && 0", 1), 0);
    CU_ASSERT_EQUAL(plural_of("1 ? 2 ? 3 : 4 : 5", 0), 3); /* ?: binds to the right */
}

static void test_plural_hostile(void)
{
    char deep[400], longexpr[1200];
    const char *bad[] = {"",        "n +",
                         "(n",      "n)",
                         "n ? 1",   "n = 1",
                         "m",       "nn",
                         "n; 1",    "-n",
                         "n & 1",   "n | 1",
                         "1.5",     "n ** 2",
                         "0x10",    "n!=1;",
                         "a(n)",    "__import__('os')",
                         "n ? : 1", "99999999999999"};
    struct locale_plural p;
    const char *why = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL(locale_plural_compile(&p, bad[i], strlen(bad[i]), &why), -1);
        CU_ASSERT_PTR_NOT_NULL(why);
    }
    /* nesting beyond the bound is refused, not recursed into */
    memset(deep, '(', 200);
    strcpy(deep + 200, "n");
    memset(deep + 201, ')', 198);
    deep[399] = '\0';
    CU_ASSERT_EQUAL(locale_plural_compile(&p, deep, strlen(deep), &why), -1);
    memset(deep, '!', 300);
    strcpy(deep + 300, "n");
    CU_ASSERT_EQUAL(locale_plural_compile(&p, deep, strlen(deep), &why), -1);
    for (size_t i = 0; i < 1100; i += 2)
        memcpy(longexpr + i, "n+", 2);
    strcpy(longexpr + 1100, "n");
    CU_ASSERT_EQUAL(locale_plural_compile(&p, longexpr, strlen(longexpr), &why), -1);
    /* a long flat chain within the bounds is fine */
    strcpy(longexpr + 600, "n");
    CU_ASSERT_EQUAL(locale_plural_compile(&p, longexpr + 500, 101, &why), 0);
    CU_ASSERT_EQUAL(locale_plural_eval(&p, 1), 51);
    /* division by zero fails the evaluation instead of trapping */
    CU_ASSERT_EQUAL(plural_of("n / 0", 5), -1);
    CU_ASSERT_EQUAL(plural_of("n % (n - n)", 5), -1);
    CU_ASSERT_EQUAL(plural_of("n == 0 || 1 / n", 0), 1); /* || short-circuits */
}

static void test_accept(void)
{
    char buf[256];
    const char *codes[8];
    size_t n;

    n = locale_accept_parse("da, en-gb;q=0.8, en;q=0.7", buf, sizeof(buf), codes, 8);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_STRING_EQUAL(codes[0], "da");
    CU_ASSERT_STRING_EQUAL(codes[1], "en-gb");
    CU_ASSERT_STRING_EQUAL(codes[2], "en");
    n = locale_accept_parse("fr;q=0.5, es;q=0.8, de;q=0, pt;q=x, it;q=-1, ja;q=0.8, ru", buf,
                            sizeof(buf), codes, 8);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_STRING_EQUAL(codes[0], "ru");
    CU_ASSERT_STRING_EQUAL(codes[1], "es"); /* equal weights keep the header's order */
    CU_ASSERT_STRING_EQUAL(codes[2], "ja");
    CU_ASSERT_STRING_EQUAL(codes[3], "fr");
    CU_ASSERT_EQUAL(locale_accept_parse("a,b,c,d", buf, sizeof(buf), codes, 2), 2);
    CU_ASSERT_EQUAL(locale_accept_parse("abcdefgh,ijk", buf, 10, codes, 8), 1);
    CU_ASSERT_EQUAL(locale_accept_parse(NULL, buf, sizeof(buf), codes, 8), 0);
}

/* ---- catalogs on disk ---- */

static char tmpdir[64];

static void write_file(const char *name, const void *data, size_t len)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(data, 1, len, f);
    fclose(f);
}

static void remove_file(const char *name)
{
    char path[256];

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    unlink(path);
}

/* A .mo image of n (msgid, msgstr) pairs, ids sorted, in either byte
 * order; lengths include embedded NULs (plurals). Caller frees. */
static unsigned char *make_mo(const char *const *ids, const size_t *idlens, const char *const *strs,
                              const size_t *strlens, uint32_t n, int big, size_t *len)
{
    size_t size = 28 + 16 * (size_t)n, off;
    unsigned char *m;

    for (uint32_t i = 0; i < n; i++)
        size += idlens[i] + strlens[i] + 2;
    m = calloc(1, size);
    uint32_t words[7] = {0x950412de, 0, n, 28, 28 + 8 * n, 0, 0};
    for (int w = 0; w < 7; w++)
        for (int b = 0; b < 4; b++)
            m[w * 4 + b] = (unsigned char)(words[w] >> (big ? 24 - 8 * b : 8 * b));
    off = 28 + 16 * (size_t)n;
    for (int t = 0; t < 2; t++)
        for (uint32_t i = 0; i < n; i++) {
            size_t l = t ? strlens[i] : idlens[i];
            uint32_t entry[2] = {(uint32_t)l, (uint32_t)off};
            memcpy(m + off, t ? strs[i] : ids[i], l);
            for (int w = 0; w < 2; w++)
                for (int b = 0; b < 4; b++)
                    m[28 + 8 * (t * n + i) + 4 * w + b] =
                        (unsigned char)(entry[w] >> (big ? 24 - 8 * b : 8 * b));
            off += l + 1;
        }
    *len = size;
    return m;
}

#define MO_HEADER                                                                                  \
    "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=3; plural=" POLISH ";\n"
static const char *const mo_ids[] = {"", "%d file\0%d files", "Sign out", "law\4right", "right"};
static const size_t mo_idlens[] = {0, 16, 8, 9, 5};
static const char *const mo_strs[] = {MO_HEADER, "%d plik\0%d pliki\0%d plików", "Wyloguj", "prawo",
                                      "dobrze"};
static const size_t mo_strlens[] = {sizeof(MO_HEADER) - 1, 27, 7, 5, 6};

static void test_mo(void)
{
    for (int big = 0; big < 2; big++) {
        size_t len;
        unsigned char *m = make_mo(mo_ids, mo_idlens, mo_strs, mo_strlens, 5, big, &len);
        struct locale l = {.code = "pl"};
        const char *why = NULL;

        CU_ASSERT_EQUAL_FATAL(locale_mo_parse(&l, m, len, &why), 0);
        CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "Sign out", NULL, 0), "Wyloguj");
        CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "%d file", "%d files", 1), "%d plik");
        CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "%d file", "%d files", 3), "%d pliki");
        CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "%d file", "%d files", 5), "%d plików");
        CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "%d file", "%d files", 22), "%d pliki");
        CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "%d file", NULL, 0), "%d plik");
        CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "missing", "missings", 1), "missing");
        CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "missing", "missings", 2), "missings");
        /* pgettext: the context's translation, else the message untranslated */
        CU_ASSERT_STRING_EQUAL(locale_translate(&l, "law", "right", NULL, 0), "prawo");
        CU_ASSERT_STRING_EQUAL(locale_translate(&l, "other", "right", NULL, 0), "right");
        CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "right", NULL, 0), "dobrze");
        /* with a plural the lookup falls back to no context */
        CU_ASSERT_STRING_EQUAL(locale_translate(&l, "x", "%d file", "%d files", 2), "%d pliki");
        locale_catalog_free(&l.mo);

        /* a string that ends past the file; a bad magic; too short */
        struct locale c = {.code = "pl"};
        CU_ASSERT_EQUAL(locale_mo_parse(&c, m, len - 3, &why), -1);
        locale_catalog_free(&c.mo);
        m[big ? 3 : 0] ^= 1;
        CU_ASSERT_EQUAL(locale_mo_parse(&c, m, len, &why), -1);
        CU_ASSERT_EQUAL(locale_mo_parse(&c, m, 10, &why), -1);
        locale_catalog_free(&c.mo);
        free(m);
    }
}

static void test_mo_bad_plural(void)
{
    const char *ids[] = {""}, *strs[] = {"Plural-Forms: nplurals=2; plural=n != 1 ; system(1);\n"};
    const char *strs2[] = {"Plural-Forms: nplurals=2; plural=exec(n);\n"};
    size_t idl[] = {0}, sl[] = {strlen(strs[0])}, sl2[] = {strlen(strs2[0])}, len;
    unsigned char *m = make_mo(ids, idl, strs, sl, 1, 0, &len);
    struct locale l = {.code = "x"};
    const char *why = NULL;

    /* the expression ends at its ';' as gettext reads it */
    CU_ASSERT_EQUAL(locale_mo_parse(&l, m, len, &why), 0);
    CU_ASSERT_EQUAL(locale_plural_eval(&l.plural, 1), 0);
    free(m);
    m = make_mo(ids, idl, strs2, sl2, 1, 1, &len);
    CU_ASSERT_EQUAL(locale_mo_parse(&l, m, len, &why), -1);
    free(m);
    /* strings are handed out as they are: only UTF-8 (or ASCII) catalogs */
    const char *latin1[] = {"Content-Type: text/plain; charset=ISO-8859-1\n"};
    const char *utf8[] = {"Content-Type: text/plain; charset=utf-8\n"};
    size_t ll[] = {strlen(latin1[0])}, ul[] = {strlen(utf8[0])};
    m = make_mo(ids, idl, latin1, ll, 1, 0, &len);
    CU_ASSERT_EQUAL(locale_mo_parse(&l, m, len, &why), -1);
    free(m);
    m = make_mo(ids, idl, utf8, ul, 1, 0, &len);
    CU_ASSERT_EQUAL(locale_mo_parse(&l, m, len, &why), 0);
    free(m);
    locale_catalog_free(&l.mo);
}

static void test_csv(void)
{
    const char *text = "\xef\xbb\xbf\"Sign out\",\"Cerrar sesi\xc3\xb3n\"\r\n"
                       "\"He said \"\"hi\"\"\",\"Dijo \"\"hola\"\"\"\n"
                       "\n"
                       "  plain  , sin comillas ,\n"
                       "\"two\nlines\",\"dos\nl\xc3\xadneas\",\"unknown\"\n"
                       "\"%(n)s liked\",\"les gust\xc3\xb3\",\"plural\"\n"
                       "\"%(n)s liked\",\"le gust\xc3\xb3\",\"singular\"\n"
                       "\"dup\",\"first\"\n"
                       "\"dup\",\"second\"\n"
                       "\"ab\"cd,x\"y\n"
                       "lonely\n";
    struct locale l = {.code = "es"};
    const char *why = NULL;
    int line = 0;

    CU_ASSERT_EQUAL_FATAL(locale_csv_parse(&l, text, strlen(text), &line, &why), 0);
    CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "Sign out", NULL, 0), "Cerrar sesi\xc3\xb3n");
    CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "He said \"hi\"", NULL, 0), "Dijo \"hola\"");
    CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "plain", NULL, 0), "sin comillas");
    CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "two\nlines", NULL, 0), "dos\nl\xc3\xadneas");
    CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "%(n)s liked", "%(n)s liked", 1),
                           "le gust\xc3\xb3");
    CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "%(n)s liked", "%(n)s liked", 2),
                           "les gust\xc3\xb3");
    CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "%(n)s liked", NULL, 0), "%(n)s liked");
    CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "dup", NULL, 0), "second");
    CU_ASSERT_STRING_EQUAL(locale_translate(&l, NULL, "abcd", NULL, 0), "x\"y");
    CU_ASSERT_STRING_EQUAL(locale_translate(&l, "ctx", "dup", NULL, 0), "second");
    for (int t = 0; t < 3; t++)
        locale_catalog_free(&l.csv[t]);

    struct {
        const char *text;
        int line;
    } bad[] = {
        {"\"a\",\"b\"\n\"c\",\"d\"\n\"e\",\"f\",\"several\"\n", 3},
        {"\"a\",\"b\"\n\"c\nd\",\"e\"\n\"never closed,x\n", 4},
        {"\"a\",\"\xff\"\n", 0},
        {"\xff\xfe\"\0a\0\"\0", 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct locale b = {.code = "es"};
        CU_ASSERT_EQUAL(
            locale_csv_parse(&b, bad[i].text, strlen(bad[i].text) + (i == 3 ? 7 : 0), &line, &why),
            -1);
        if (bad[i].line)
            CU_ASSERT_EQUAL(line, bad[i].line);
        for (int t = 0; t < 3; t++)
            locale_catalog_free(&b.csv[t]);
    }
}

static void test_set(void)
{
    const char *es = "\"Sign out\",\"Salir\"\n\"Monday\",\"lunes\"\n\"%(commas)s and %(last)s\","
                     "\"%(commas)s y %(last)s\"\n";
    struct locale_set *set;
    char *err = NULL, dir[128];
    size_t len;
    unsigned char *m = make_mo(mo_ids, mo_idlens, mo_strs, mo_strlens, 5, 1, &len);

    snprintf(dir, sizeof(dir), "%s/pl/LC_MESSAGES", tmpdir);
    write_file("es.csv", es, strlen(es));
    write_file("pt_BR.csv", "\"Sign out\",\"Sair\"\n", 18);
    CU_ASSERT_EQUAL(mkdir(strcat(strcpy(dir, tmpdir), "/pl"), 0700), 0);
    CU_ASSERT_EQUAL(mkdir(strcat(dir, "/LC_MESSAGES"), 0700), 0);
    write_file("pl/LC_MESSAGES/app.mo", m, len);
    free(m);

    set = locale_set_load(tmpdir, "app", "en_US", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    CU_ASSERT_EQUAL(set->n, 4);
    CU_ASSERT_STRING_EQUAL(locale_code(locale_match(set, "es-MX")), "es");
    CU_ASSERT_STRING_EQUAL(locale_code(locale_match(set, "pt-br")), "pt_BR");
    CU_ASSERT_PTR_NULL(locale_match(set, "pt")); /* pt_BR does not serve pt */
    CU_ASSERT_STRING_EQUAL(locale_code(locale_match(set, "en-us")), "en_US");
    CU_ASSERT_STRING_EQUAL(locale_code(locale_match(set, "PL")), "pl");
    CU_ASSERT_PTR_NULL(locale_match(set, "en_US_POSIX"));
    CU_ASSERT_PTR_NULL(locale_match(set, ""));
    CU_ASSERT_PTR_NULL(locale_match(set, NULL));
    locale_use(set);
    CU_ASSERT_STRING_EQUAL(locale_code(locale_get("de")), "en_US");
    CU_ASSERT_STRING_EQUAL(locale_translate(locale_get("pl_PL"), NULL, "Sign out", NULL, 0),
                           "Wyloguj");
    CU_ASSERT_STRING_EQUAL(locale_get("es")->weekdays[0], "lunes");
    CU_ASSERT_EQUAL(locale_get("es")->rtl, 0);
    locale_set_free(set);
    CU_ASSERT_STRING_EQUAL(locale_code(locale_get("es")), "en_US"); /* the built-in again */

    /* the default need not have a catalog; a missing folder is an error */
    set = locale_set_load(tmpdir, "app", "fr", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(set);
    CU_ASSERT_STRING_EQUAL(locale_code(set->dflt), "fr");
    locale_set_free(set);
    CU_ASSERT_PTR_NULL(locale_set_load("/nonexistent/gale", "app", "en_US", &err));
    CU_ASSERT_PTR_NOT_NULL(err);
    free(err);

    /* a broken catalog names its file and line */
    write_file("fr.csv", "\"a\",\"b\"\n\"c\",\"d\",\"dual\"\n", 23);
    set = locale_set_load(tmpdir, "app", "en_US", &err);
    CU_ASSERT_PTR_NULL(set);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/fr.csv:2: "));
    free(err);
    remove_file("fr.csv");
    write_file("README.csv", "", 0);
    set = locale_set_load(tmpdir, "app", "en_US", &err);
    CU_ASSERT_PTR_NULL(set);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "README.csv"));
    free(err);
    remove_file("README.csv");
    write_file("pl.csv", "\"a\",\"b\"\n", 8);
    set = locale_set_load(tmpdir, "app", "en_US", &err);
    CU_ASSERT_PTR_NULL(set);
    free(err);
    remove_file("pl.csv");
    write_file("pl/LC_MESSAGES/app.mo", "junk", 4);
    set = locale_set_load(tmpdir, "app", "en_US", &err);
    CU_ASSERT_PTR_NULL(set);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "pl/LC_MESSAGES/app.mo: not a .mo file"));
    free(err);
    remove_file("pl/LC_MESSAGES/app.mo");
    remove_file("es.csv");
    remove_file("pt_BR.csv");
    snprintf(dir, sizeof(dir), "%s/pl/LC_MESSAGES", tmpdir);
    rmdir(dir);
    snprintf(dir, sizeof(dir), "%s/pl", tmpdir);
    rmdir(dir);
}

static void test_formats(void)
{
    struct arena *a = arena_new(1024);
    const struct locale *en = locale_get("en_US");
    struct locale de = {.code = "de"}, zh = {.code = "zh_CN"}, fa = {.code = "fa"};
    const char *abc[] = {"A", "B", "C"};

    for (int i = 0; i < 12; i++)
        de.months[i] = zh.months[i] = en->months[i];
    for (int i = 0; i < 7; i++)
        de.weekdays[i] = zh.weekdays[i] = en->weekdays[i];
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 - 1, 0, 1, 0, 0, T0), "1 second ago");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 - 30, 0, 1, 0, 0, T0), "30 seconds ago");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 - 90, 0, 1, 0, 0, T0), "2 minutes ago");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 - 150, 0, 1, 0, 0, T0), "2 minutes ago");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 - 3000, 0, 1, 0, 0, T0), "1 hour ago");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 + 30, 0, 1, 0, 0, T0), "0 seconds ago");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 + 60, 0, 1, 0, 0, T0),
                           "November 14, 2023 at 10:14 pm");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 - 86400, 0, 1, 0, 0, T0),
                           "yesterday at 10:13 pm");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 - 86400, 0, 1, 1, 0, T0), "yesterday");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 - 86400 * 3, 0, 1, 0, 0, T0),
                           "Saturday at 10:13 pm");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 - 86400 * 30, 0, 1, 0, 0, T0),
                           "October 15 at 10:13 pm");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 - 86400 * 400, 0, 1, 1, 0, T0),
                           "October 10, 2022");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0 - 60, 300, 0, 0, 0, T0), "5:12 pm");
    CU_ASSERT_STRING_EQUAL(locale_format_date(en, a, T0, -120, 0, 0, 1, T0),
                           "November 15, 2023 at 12:13 am");
    CU_ASSERT_STRING_EQUAL(locale_format_date(&de, a, T0, 0, 0, 0, 1, T0),
                           "November 14, 2023 at 22:13");
    CU_ASSERT_STRING_EQUAL(locale_format_date(&zh, a, T0, 0, 0, 0, 1, T0),
                           "November 14, 2023 at \xe4\xb8\x8b\xe5\x8d\x88"
                           "10:13");
    CU_ASSERT_PTR_NULL(locale_format_date(en, a, 1e15, 0, 1, 0, 0, T0));
    CU_ASSERT_STRING_EQUAL(locale_format_day(en, a, T0, 0, 1), "Tuesday, November 14");
    CU_ASSERT_STRING_EQUAL(locale_format_day(en, a, T0, -120, 0), "November 15");
    CU_ASSERT_STRING_EQUAL(locale_list(en, a, abc, 0), "");
    CU_ASSERT_STRING_EQUAL(locale_list(en, a, abc, 1), "A");
    CU_ASSERT_STRING_EQUAL(locale_list(en, a, abc, 2), "A and B");
    CU_ASSERT_STRING_EQUAL(locale_list(en, a, abc, 3), "A, B and C");
    CU_ASSERT_STRING_EQUAL(locale_list(&fa, a, abc, 3), "A \xd9\x88 B and C");
    CU_ASSERT_STRING_EQUAL(locale_friendly_number(en, a, 1234567), "1,234,567");
    CU_ASSERT_STRING_EQUAL(locale_friendly_number(en, a, 123), "123");
    CU_ASSERT_STRING_EQUAL(locale_friendly_number(en, a, -123), "-,123"); /* as Tornado */
    CU_ASSERT_STRING_EQUAL(locale_friendly_number(&de, a, 1234567), "1234567");
    const char *names[] = {"x"}, *values[] = {"1"};
    CU_ASSERT_STRING_EQUAL(locale_substitute(a, "%(x)s%%%(y)s%(x)d%(x", names, values, 1),
                           "1%%(y)s1%(x");
    arena_free(a);
}

int main(void)
{
    CU_pSuite s;
    unsigned failed;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/gale-test-locale-XXXXXX");
    if (mkdtemp(tmpdir) == NULL || CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("locale", NULL, NULL);
    CU_add_test(s, "plural rules of several languages", test_plural_languages);
    CU_add_test(s, "hostile plural expressions", test_plural_hostile);
    CU_add_test(s, "Accept-Language", test_accept);
    CU_add_test(s, ".mo, both byte orders, contexts", test_mo);
    CU_add_test(s, ".mo Plural-Forms", test_mo_bad_plural);
    CU_add_test(s, "CSV", test_csv);
    CU_add_test(s, "a folder of catalogs", test_set);
    CU_add_test(s, "formats", test_formats);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    rmdir(tmpdir);
    return failed ? 1 : 0;
}
