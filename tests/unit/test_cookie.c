/*
 * test_cookie.c - src/cookie.c: the Cookie header parser, Set-Cookie
 * formatting, and Tornado version 2 signed values, checked against vectors
 * made by Tornado 6.2 and, when python3 with tornado is at hand, live
 * against Tornado both ways (tests/unit/tornado_cross.py).
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "http/cookie.h"

#define T0 1700000000 /* the timestamp of every Tornado vector */
#define DAY 86400

/* Made by tornado.web.create_signed_value(secret, name, value, version=2,
 * clock=lambda: T0, key_version=...) with Tornado 6.2. */
#define SECRET "tornado-secret"
#define V_HELLO                                                                                    \
    "2|1:0|10:1700000000|7:session|8:aGVsbG8=|"                                                    \
    "b16159b13548f78d7170660aee4a40b750a554617c0d3d4759bd21e6c5657a72"
#define V_EMPTY                                                                                    \
    "2|1:0|10:1700000000|7:session|0:|"                                                            \
    "0cf07de065351a95f209d94be0370fbb629111b80b5da4f2a1a4d780376669ef"
/* value b"\x00\xff\xfe\x01caf\xc3\xa9 \xe2\x9c\x93" */
#define BINARY                                                                                     \
    "\x00\xff\xfe\x01"                                                                             \
    "caf\xc3\xa9 \xe2\x9c\x93"
#define V_BINARY                                                                                   \
    "2|1:0|10:1700000000|7:session|20:AP/+AWNhZsOpIOKckw==|"                                       \
    "20db3ac8f24aa984d9ce17338e4d904b9b0fb1c014a4bb1d3966018bf257f2be"
/* timestamp 1, values "a" and "ab": both paddings */
#define V_A "2|1:0|1:1|1:s|4:YQ==|312bbd5ae1f6c320b166d146c698907bd9ee06f3018ae757934208ec0832e18e"
#define V_AB "2|1:0|1:1|1:s|4:YWI=|71359d71fcaf3bcc7f5827ea55f365d52a146f178cbedd6813ddf15d2906f554"
/* cookie_secret={1: "old-secret", 2: "new-secret"}, key_version 2 and 1 */
#define V_KEY2                                                                                     \
    "2|1:2|10:1700000000|4:user|8:YWxpY2U=|"                                                       \
    "422b3bb6bd7096a81c484d28a8b4673fbfeff4758cacf53387c1680191afd783"
#define V_KEY1                                                                                     \
    "2|1:1|10:1700000000|4:user|8:YWxpY2U=|"                                                       \
    "afc6ab0f76250767c2b2d6d7eb1d5e3e28bf79c24a2d1e2d464700003515d34f"
/* str secret with key_version=7: Tornado writes 7 but signs with the str */
#define V_KV7                                                                                      \
    "2|1:7|10:1700000000|1:s|4:eA==|"                                                              \
    "9667e7a21bb4f0da200a28229821fbe06f0570efe89d475147cf1d7a7cfb0d6d"

static const struct cookie_key one_key[] = {{0, SECRET, sizeof(SECRET) - 1}};
static const struct cookie_keyset single = {one_key, 1, 1};
static const struct cookie_key rot_keys[] = {{1, "old-secret", 10}, {2, "new-secret", 10}};
static const struct cookie_keyset rotation = {rot_keys, 2, 0};

/* ---- parsing ---------------------------------------------------------- */

/* Parse header into "name=value|name=value|" for easy comparison. */
static const char *parsed(const char *header, size_t len)
{
    static char out[4096];
    struct cookie_iter it;
    struct cookie_pair p;
    size_t n = 0;

    cookie_iter_init(&it, header, len);
    while (cookie_iter_next(&it, &p) == 0) {
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%.*s=%.*s|", (int)p.name_len, p.name,
                              (int)p.value_len, p.value);
        if (n >= sizeof(out))
            break;
    }
    out[n < sizeof(out) ? n : 0] = '\0';
    return out;
}

#define PARSED(s) parsed(s, sizeof(s) - 1)

static void test_parse_basic(void)
{
    CU_ASSERT_STRING_EQUAL(PARSED("a=1; b=2"), "a=1|b=2|");
    CU_ASSERT_STRING_EQUAL(PARSED("a=1;b=2"), "a=1|b=2|");
    CU_ASSERT_STRING_EQUAL(PARSED("  a = 1 ;\tb=2\t;  c=3  "), "a=1|b=2|c=3|");
    CU_ASSERT_STRING_EQUAL(PARSED("a=b=c; d==e"), "a=b=c|d==e|");
    CU_ASSERT_STRING_EQUAL(PARSED("a=; b=;c= "), "a=|b=|c=|");
    CU_ASSERT_STRING_EQUAL(PARSED("x=\"quoted value\"; y=\"\"; z=\"; w=\"a"),
                           "x=quoted value|y=|z=\"|w=\"a|");
    CU_ASSERT_STRING_EQUAL(PARSED("a[b]=1; x:y=2; __Host-id=3"), "a[b]=1|x:y=2|__Host-id=3|");
    CU_ASSERT_STRING_EQUAL(PARSED(""), "");
    CU_ASSERT_STRING_EQUAL(PARSED(";;; ; "), "");
    CU_ASSERT_STRING_EQUAL(parsed(NULL, 0), "");
}

static void test_parse_skips_bad_pairs(void)
{
    CU_ASSERT_STRING_EQUAL(PARSED("noeq; =v; = ; a b=1; ok=1; \x01x=2; q\"=3; c,d=4; e\\=5"),
                           "ok=1|");
    CU_ASSERT_STRING_EQUAL(PARSED("\xc3\xa9=1; k=\xc3\xa9"), "k=\xc3\xa9|");
    CU_ASSERT_STRING_EQUAL(PARSED("a\0b=1; c=2"), "c=2|");
    CU_ASSERT_STRING_EQUAL(PARSED("c=x\0y"), "c=x|"); /* the NUL is kept; %.*s stops */
}

static void test_parse_duplicates_and_find(void)
{
    static const char h[] = "a=1; b=2; a=3; A=4; a=5";
    struct cookie_pair p;

    CU_ASSERT_STRING_EQUAL(parsed(h, sizeof(h) - 1), "a=1|b=2|a=3|A=4|a=5|");
    CU_ASSERT_EQUAL(cookie_find(h, sizeof(h) - 1, "a", &p), 0);
    CU_ASSERT_EQUAL(p.value_len, 1);
    CU_ASSERT_EQUAL(p.value[0], '1');
    CU_ASSERT_EQUAL(cookie_find(h, sizeof(h) - 1, "A", &p), 0);
    CU_ASSERT_EQUAL(p.value[0], '4');
    CU_ASSERT_EQUAL(cookie_find(h, sizeof(h) - 1, "c", &p), -1);
    CU_ASSERT_EQUAL(cookie_find(h, sizeof(h) - 1, "", &p), -1);
    CU_ASSERT_EQUAL(cookie_find(h, 3, "b", &p), -1); /* only "a=1" is in range */
}

static void test_parse_long(void)
{
    size_t n = 200000, i, count = 0;
    char *h = malloc(n);
    struct cookie_iter it;
    struct cookie_pair p;

    for (i = 0; i + 8 <= n; i += 8)
        memcpy(h + i, "k=vvvv; ", 8);
    cookie_iter_init(&it, h, n);
    while (cookie_iter_next(&it, &p) == 0)
        count++;
    CU_ASSERT_EQUAL(count, n / 8);
    memset(h, 'v', n);
    memcpy(h, "big=", 4);
    CU_ASSERT_EQUAL(cookie_find(h, n, "big", &p), 0);
    CU_ASSERT_EQUAL(p.value_len, n - 4);
    free(h);
}

/* Whatever the bytes, pairs lie inside the header and obey the rules. */
static void test_parse_junk(void)
{
    unsigned char h[512];
    unsigned seed = 12345;
    int round;

    for (round = 0; round < 20000; round++) {
        size_t n = (size_t)(round % (int)sizeof(h)), i;
        struct cookie_iter it;
        struct cookie_pair p;

        for (i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            h[i] = round & 1 ? (unsigned char)"a=; \"\t\x01\xff"[(seed >> 16) % 9]
                             : (unsigned char)(seed >> 16);
        }
        cookie_iter_init(&it, (const char *)h, n);
        while (cookie_iter_next(&it, &p) == 0) {
            CU_ASSERT_FATAL(p.name >= (const char *)h && p.name + p.name_len <= (char *)h + n);
            CU_ASSERT_FATAL(p.value >= p.name && p.value + p.value_len <= (char *)h + n);
            CU_ASSERT_FATAL(p.name_len > 0 && memchr(p.name, ';', p.name_len) == NULL);
            CU_ASSERT_FATAL(memchr(p.value, ';', p.value_len) == NULL);
            CU_ASSERT_FATAL(memchr(p.name, '=', p.name_len) == NULL);
        }
    }
}

/* ---- formatting --------------------------------------------------------- */

static char out[COOKIE_SET_MAX];

static void test_format_attributes(void)
{
    struct cookie_attrs a = {0};

    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "id", "abc", NULL), 0);
    CU_ASSERT_STRING_EQUAL(out, "id=abc");
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "id", "", &a), 0);
    CU_ASSERT_STRING_EQUAL(out, "id=");
    a.path = "/app";
    a.domain = "example.com";
    a.has_expires = 1;
    a.expires = 784111777;
    a.has_max_age = 1;
    a.max_age = 3600;
    a.secure = 1;
    a.httponly = 1;
    a.samesite = COOKIE_SAMESITE_LAX;
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "id", "abc", &a), 0);
    CU_ASSERT_STRING_EQUAL(out, "id=abc; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=3600; "
                                "Domain=example.com; Path=/app; Secure; HttpOnly; SameSite=Lax");
    a = (struct cookie_attrs){.samesite = COOKIE_SAMESITE_STRICT};
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "id", "x", &a), 0);
    CU_ASSERT_STRING_EQUAL(out, "id=x; SameSite=Strict");
    a = (struct cookie_attrs){.samesite = COOKIE_SAMESITE_NONE, .secure = 1};
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "id", "x", &a), 0);
    CU_ASSERT_STRING_EQUAL(out, "id=x; Secure; SameSite=None");
    a = (struct cookie_attrs){.has_max_age = 1, .max_age = 0, .httponly = 1};
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "id", "x", &a), 0);
    CU_ASSERT_STRING_EQUAL(out, "id=x; Max-Age=0; HttpOnly");
    a = (struct cookie_attrs){.secure = 1, .path = "/"};
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "__Host-id", "x", &a), 0);
    CU_ASSERT_STRING_EQUAL(out, "__Host-id=x; Path=/; Secure");
    a = (struct cookie_attrs){.secure = 1, .domain = "a.example"};
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "__Secure-id", "x", &a), 0);
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "!#$%&'*+-.^_`|~09AZaz", "!#+:<[]~", NULL), 0);
}

static void test_format_refusals(void)
{
    static const char *bad_names[] = {"",     "a b", "a;b", "a=b",      "a,b",   "a\"b", "a\tb",
                                      "a\rb", "(a)", "a/b", "\xc3\xa9", "a\x7f", "a@b",  "a:b"};
    static const char *bad_values[] = {"a b",  "a;b",  "a,b",  "\"ab\"",   "a\\b", "a\rb",
                                       "a\nb", "\x01", "\x7f", "\xc3\xa9", "a\tb"};
    struct cookie_attrs a = {0};
    size_t i;

    for (i = 0; i < sizeof(bad_names) / sizeof(*bad_names); i++)
        CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), bad_names[i], "v", NULL), -1);
    for (i = 0; i < sizeof(bad_values) / sizeof(*bad_values); i++)
        CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "n", bad_values[i], NULL), -1);
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), NULL, "v", NULL), -1);
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "n", NULL, NULL), -1);
#define REFUSED(...)                                                                               \
    do {                                                                                           \
        a = (struct cookie_attrs){__VA_ARGS__};                                                    \
        CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "n", "v", &a), -1);                        \
    } while (0)
    REFUSED(.path = "");
    REFUSED(.path = "app");
    REFUSED(.path = "/a;b");
    REFUSED(.path = "/a\r\nSet-Cookie: x=y");
    REFUSED(.domain = "");
    REFUSED(.domain = "a.com/x");
    REFUSED(.domain = "a.com; Secure");
    REFUSED(.has_max_age = 1, .max_age = -1);
    REFUSED(.has_expires = 1, .expires = -1);
    REFUSED(.has_expires = 1, .expires = 253402300800);
    REFUSED(.samesite = COOKIE_SAMESITE_NONE);
    REFUSED(.samesite = (enum cookie_samesite)7);
#undef REFUSED
    a = (struct cookie_attrs){.path = "/"};
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "__Secure-n", "v", &a), -1);
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "__Host-n", "v", &a), -1);
    a = (struct cookie_attrs){.secure = 1};
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "__Host-n", "v", &a), -1);
    a = (struct cookie_attrs){.secure = 1, .path = "/x"};
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "__Host-n", "v", &a), -1);
    a = (struct cookie_attrs){.secure = 1, .path = "/", .domain = "a.com"};
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "__Host-n", "v", &a), -1);
}

static void test_format_buffer_size(void)
{
    struct cookie_attrs a = {.path = "/", .httponly = 1};
    const char *want = "name=value; Path=/; HttpOnly";
    size_t len = strlen(want), size;

    CU_ASSERT_EQUAL(cookie_format(out, len + 1, "name", "value", &a), 0);
    CU_ASSERT_STRING_EQUAL(out, want);
    for (size = 0; size <= len; size++) {
        memset(out, 'x', sizeof(out));
        CU_ASSERT_EQUAL(cookie_format(out, size, "name", "value", &a), -1);
        if (size > 0)
            CU_ASSERT_EQUAL(out[0], '\0');
    }
    CU_ASSERT_EQUAL(cookie_format(NULL, 100, "name", "value", &a), -1);
}

static void test_format_dates(void)
{
    char d[COOKIE_DATE_SIZE];

    CU_ASSERT_EQUAL(cookie_format_date(d, sizeof(d), 0), 0);
    CU_ASSERT_STRING_EQUAL(d, "Thu, 01 Jan 1970 00:00:00 GMT");
    CU_ASSERT_EQUAL(cookie_format_date(d, sizeof(d), 951782400), 0);
    CU_ASSERT_STRING_EQUAL(d, "Tue, 29 Feb 2000 00:00:00 GMT");
    CU_ASSERT_EQUAL(cookie_format_date(d, sizeof(d), 253402300799), 0);
    CU_ASSERT_STRING_EQUAL(d, "Fri, 31 Dec 9999 23:59:59 GMT");
    CU_ASSERT_EQUAL(cookie_format_date(d, sizeof(d), 253402300800), -1);
    CU_ASSERT_EQUAL(cookie_format_date(d, sizeof(d), -1), -1);
    CU_ASSERT_EQUAL(cookie_format_date(d, 29, 0), -1);
    CU_ASSERT_EQUAL(cookie_format_date(d, 30, 0), 0);
}

static void test_format_clear(void)
{
    struct cookie_attrs a = {.path = "/",
                             .domain = "example.com",
                             .has_max_age = 1,
                             .max_age = 99,
                             .has_expires = 1,
                             .expires = 2000000000};

    CU_ASSERT_EQUAL(cookie_format_clear(out, sizeof(out), "sid", NULL), 0);
    CU_ASSERT_STRING_EQUAL(out, "sid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0");
    CU_ASSERT_EQUAL(cookie_format_clear(out, sizeof(out), "sid", &a), 0);
    CU_ASSERT_STRING_EQUAL(out, "sid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; "
                                "Domain=example.com; Path=/");
    a = (struct cookie_attrs){.path = "/", .secure = 1, .samesite = COOKIE_SAMESITE_STRICT};
    CU_ASSERT_EQUAL(cookie_format_clear(out, sizeof(out), "__Host-sid", &a), 0);
    CU_ASSERT_STRING_EQUAL(out, "__Host-sid=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; "
                                "Path=/; Secure; SameSite=Strict");
    CU_ASSERT_EQUAL(cookie_format_clear(out, sizeof(out), "__Host-sid", NULL), -1);
    CU_ASSERT_EQUAL(cookie_format_clear(out, sizeof(out), "bad name", NULL), -1);
}

/* ---- signed values ------------------------------------------------------ */

static unsigned char val[8192];
static size_t val_len;

static int verify_at(const struct cookie_keyset *ks, const char *name, const char *s, size_t len,
                     double max_age_days, time_t now)
{
    return cookie_verify(val, sizeof(val), &val_len, ks, name, s, len, max_age_days, now);
}

static int verify(const struct cookie_keyset *ks, const char *name, const char *s)
{
    return verify_at(ks, name, s, strlen(s), 31, T0);
}

static void test_sign_tornado_vectors(void)
{
    char s[512];

    CU_ASSERT_EQUAL(cookie_sign(s, sizeof(s), &single, "session", "hello", 5, T0), 0);
    CU_ASSERT_STRING_EQUAL(s, V_HELLO);
    CU_ASSERT_EQUAL(cookie_sign(s, sizeof(s), &single, "session", "", 0, T0), 0);
    CU_ASSERT_STRING_EQUAL(s, V_EMPTY);
    CU_ASSERT_EQUAL(cookie_sign(s, sizeof(s), &single, "session", NULL, 0, T0), 0);
    CU_ASSERT_STRING_EQUAL(s, V_EMPTY);
    CU_ASSERT_EQUAL(cookie_sign(s, sizeof(s), &single, "session", BINARY, sizeof(BINARY) - 1, T0),
                    0);
    CU_ASSERT_STRING_EQUAL(s, V_BINARY);
    CU_ASSERT_EQUAL(cookie_sign(s, sizeof(s), &single, "s", "a", 1, 1), 0);
    CU_ASSERT_STRING_EQUAL(s, V_A);
    CU_ASSERT_EQUAL(cookie_sign(s, sizeof(s), &single, "s", "ab", 2, 1), 0);
    CU_ASSERT_STRING_EQUAL(s, V_AB);
    /* a signed value is a valid cookie value */
    CU_ASSERT_EQUAL(cookie_format(out, sizeof(out), "session", V_BINARY, NULL), 0);
}

static void test_verify_tornado_vectors(void)
{
    CU_ASSERT_EQUAL(verify(&single, "session", V_HELLO), 0);
    CU_ASSERT_EQUAL(val_len, 5);
    CU_ASSERT_STRING_EQUAL(val, "hello");
    CU_ASSERT_EQUAL(verify(&single, "session", V_EMPTY), 0);
    CU_ASSERT_EQUAL(val_len, 0);
    CU_ASSERT_EQUAL(verify(&single, "session", V_BINARY), 0);
    CU_ASSERT_EQUAL(val_len, sizeof(BINARY) - 1);
    CU_ASSERT_EQUAL(memcmp(val, BINARY, val_len), 0);
    CU_ASSERT_EQUAL(verify_at(&single, "s", V_A, strlen(V_A), 31, 1), 0);
    CU_ASSERT_STRING_EQUAL(val, "a");
    CU_ASSERT_EQUAL(verify_at(&single, "s", V_AB, strlen(V_AB), 31, 1), 0);
    CU_ASSERT_STRING_EQUAL(val, "ab");
    /* a str secret ignores the key version the value names, as Tornado */
    CU_ASSERT_EQUAL(verify(&single, "s", V_KV7), 0);
    CU_ASSERT_STRING_EQUAL(val, "x");
}

static void test_key_rotation(void)
{
    static const struct cookie_key reversed[] = {{2, "new-secret", 10}, {1, "old-secret", 10}};
    static const struct cookie_keyset rev = {reversed, 2, 0};
    static const struct cookie_key only_new[] = {{2, "new-secret", 10}};
    static const struct cookie_keyset newest = {only_new, 1, 0};
    static const struct cookie_key as_v0[] = {{0, "new-secret", 10}};
    static const struct cookie_keyset v0 = {as_v0, 1, 0};
    unsigned int kv = 99;
    char s[512];

    CU_ASSERT_EQUAL(cookie_sign(s, sizeof(s), &rotation, "user", "alice", 5, T0), 0);
    CU_ASSERT_STRING_EQUAL(s, V_KEY2);
    CU_ASSERT_EQUAL(cookie_sign(s, sizeof(s), &rev, "user", "alice", 5, T0), 0);
    CU_ASSERT_STRING_EQUAL(s, V_KEY2); /* the greatest version signs, wherever it is */
    CU_ASSERT_EQUAL(verify(&rotation, "user", V_KEY2), 0);
    CU_ASSERT_STRING_EQUAL(val, "alice");
    CU_ASSERT_EQUAL(verify(&rotation, "user", V_KEY1), 0);
    CU_ASSERT_STRING_EQUAL(val, "alice");
    CU_ASSERT_EQUAL(verify(&rev, "user", V_KEY1), 0);
    CU_ASSERT_EQUAL(verify(&newest, "user", V_KEY1), -1); /* dropped key */
    CU_ASSERT_EQUAL(verify(&newest, "user", V_KEY2), 0);
    CU_ASSERT_EQUAL(verify(&v0, "user", V_KEY2), -1);           /* versioned: no key 2 */
    CU_ASSERT_EQUAL(verify(&rotation, "s", V_KV7), -1);         /* unknown version 7 */
    CU_ASSERT_EQUAL(verify(&rotation, "session", V_HELLO), -1); /* no key 0 */
    CU_ASSERT_EQUAL(cookie_signed_key_version(V_KEY1, strlen(V_KEY1), &kv), 0);
    CU_ASSERT_EQUAL(kv, 1);
    CU_ASSERT_EQUAL(cookie_signed_key_version(V_KV7, strlen(V_KV7), &kv), 0);
    CU_ASSERT_EQUAL(kv, 7);
    CU_ASSERT_EQUAL(cookie_signed_key_version("2|1:x", 5, &kv), -1);
    CU_ASSERT_EQUAL(cookie_signed_key_version(NULL, 0, &kv), -1);
}

static void test_bad_keysets(void)
{
    static const struct cookie_key empty[] = {{0, "", 0}};
    static const struct cookie_key nullkey[] = {{0, NULL, 3}};
    static const struct cookie_key dup[] = {{1, "a", 1}, {1, "b", 1}};
    const struct cookie_keyset sets[] = {
        {empty, 1, 1},    {nullkey, 1, 1}, {dup, 2, 0},
        {rot_keys, 2, 1}, {NULL, 1, 0},    {one_key, 0, 0},
    };
    char s[512];
    size_t i;

    for (i = 0; i < sizeof(sets) / sizeof(*sets); i++) {
        CU_ASSERT_EQUAL(cookie_sign(s, sizeof(s), &sets[i], "n", "v", 1, T0), -1);
        CU_ASSERT_EQUAL(verify(&sets[i], "session", V_HELLO), -1);
    }
    CU_ASSERT_EQUAL(cookie_sign(s, sizeof(s), NULL, "n", "v", 1, T0), -1);
    CU_ASSERT_EQUAL(verify(NULL, "session", V_HELLO), -1);
}

static void test_max_age_and_future(void)
{
    size_t n = strlen(V_HELLO);

    CU_ASSERT_EQUAL(verify_at(&single, "session", V_HELLO, n, 31, T0 + 31 * DAY), 0);
    CU_ASSERT_EQUAL(verify_at(&single, "session", V_HELLO, n, 31, T0 + 31 * DAY + 1), -1);
    CU_ASSERT_EQUAL(verify_at(&single, "session", V_HELLO, n, 0.5, T0 + DAY / 2), 0);
    CU_ASSERT_EQUAL(verify_at(&single, "session", V_HELLO, n, 0.5, T0 + DAY / 2 + 1), -1);
    CU_ASSERT_EQUAL(verify_at(&single, "session", V_HELLO, n, 0, T0), 0);
    CU_ASSERT_EQUAL(verify_at(&single, "session", V_HELLO, n, 0, T0 + 1), -1);
    CU_ASSERT_EQUAL(verify_at(&single, "session", V_HELLO, n, 365, T0 + 300 * DAY), 0);
    CU_ASSERT_EQUAL(verify_at(&single, "session", V_HELLO, n, 0.0 / 0.0, T0), -1); /* NaN */
    /* from the future: 31 days of clock skew are tolerated, no more */
    CU_ASSERT_EQUAL(verify_at(&single, "session", V_HELLO, n, 31, T0 - 31 * DAY), 0);
    CU_ASSERT_EQUAL(verify_at(&single, "session", V_HELLO, n, 31, T0 - 31 * DAY - 1), -1);
    CU_ASSERT_EQUAL(verify_at(&single, "session", V_HELLO, n, 31, 0), -1);
}

/* V_HELLO with its version "2" replaced by prefix. */
static const char *reversioned(const char *prefix)
{
    static char s[512];

    snprintf(s, sizeof(s), "%s%s", prefix, &V_HELLO[1]);
    return s;
}

static void test_wrong_name_and_version(void)
{
    CU_ASSERT_EQUAL(verify(&single, "other", V_HELLO), -1);
    CU_ASSERT_EQUAL(verify(&single, "sessio", V_HELLO), -1);
    CU_ASSERT_EQUAL(verify(&single, "sessionX", V_HELLO), -1);
    CU_ASSERT_EQUAL(verify(&single, "", V_HELLO), -1);
    CU_ASSERT_EQUAL(verify(&single, "Session", V_HELLO), -1);
    CU_ASSERT_EQUAL(verify(&single, "session", reversioned("2")), 0);
    CU_ASSERT_EQUAL(verify(&single, "session", reversioned("3")), -1);
    CU_ASSERT_EQUAL(verify(&single, "session", reversioned("1")), -1);
    CU_ASSERT_EQUAL(verify(&single, "session", reversioned("02")), -1);
    CU_ASSERT_EQUAL(verify(&single, "session", reversioned("")), -1);
    /* a version 1 value (Tornado's old format) is refused: min_version=2 */
    CU_ASSERT_EQUAL(
        verify(&single, "session", "aGVsbG8=|1700000000|0123456789abcdef0123456789abcdef01234567"),
        -1);
    CU_ASSERT_EQUAL(verify(&single, "session", ""), -1);
    CU_ASSERT_EQUAL(verify_at(&single, "session", NULL, 0, 31, T0), -1);
    CU_ASSERT_EQUAL(
        cookie_verify(val, sizeof(val), &val_len, &single, NULL, V_HELLO, strlen(V_HELLO), 31, T0),
        -1);
}

/* Every change of every byte, every truncation and every extension. */
static void test_tamper(void)
{
    static const char *const vectors[] = {V_HELLO, V_EMPTY, V_BINARY, V_A, V_KEY2};
    static const char *const names[] = {"session", "session", "session", "s", "user"};
    static const unsigned char flips[] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff};
    char s[512];
    size_t v, i, f, n;

    for (v = 0; v < sizeof(vectors) / sizeof(*vectors); v++) {
        const struct cookie_keyset *ks = v == 4 ? &rotation : &single;
        time_t now = v == 3 ? 1 : T0;

        n = strlen(vectors[v]);
        CU_ASSERT_EQUAL_FATAL(verify_at(ks, names[v], vectors[v], n, 31, now), 0);
        for (i = 0; i < n; i++) {
            for (f = 0; f < sizeof(flips); f++) {
                memcpy(s, vectors[v], n);
                s[i] ^= (char)flips[f];
                CU_ASSERT_EQUAL(verify_at(ks, names[v], s, n, 31, now), -1);
            }
            CU_ASSERT_EQUAL(verify_at(ks, names[v], vectors[v], i, 31, now), -1);
            CU_ASSERT_EQUAL(verify_at(ks, names[v], vectors[v] + i + 1, n - i - 1, 31, now), -1);
        }
        memcpy(s, vectors[v], n);
        memcpy(s + n, "0", 1);
        CU_ASSERT_EQUAL(verify_at(ks, names[v], s, n + 1, 31, now), -1);
    }
}

/* Append the right signature to body: malformed values that a key holder
 * could make, so that the parser, not the HMAC, must refuse them. */
static const char *resign(const char *key, const char *body)
{
    static char s[1024];
    unsigned char md[32];
    unsigned int md_len, i;
    size_t n = strlen(body);

    HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)body, n, md, &md_len);
    memcpy(s, body, n);
    for (i = 0; i < md_len; i++)
        sprintf(s + n + 2 * i, "%02x", md[i]);
    return s;
}

static void test_malformed_but_signed(void)
{
    static const char *const bad[] = {
        "2|1:0|11:01700000000|1:s|4:YQ==|",              /* leading zero: Tornado takes it */
        "2|01:0|10:1700000000|1:s|4:YQ==|",              /* leading zero in a length */
        "2|1:0|10:+700000000|1:s|4:YQ==|",               /* sign */
        "2|1:0|10: 700000000|1:s|4:YQ==|",               /* space */
        "2|1:0|10:17000000a0|1:s|4:YQ==|",               /* non-digit */
        "2|1:0|0:|1:s|4:YQ==|",                          /* empty timestamp */
        "2|0:|10:1700000000|1:s|4:YQ==|",                /* empty key version */
        "2|2:-1|10:1700000000|1:s|4:YQ==|",              /* negative key version */
        "2|10:4294967296|10:1700000000|1:s|4:YQ==|",     /* key version overflow */
        "2|1:0|19:9223372036854775808|1:s|4:YQ==|",      /* timestamp overflow */
        "2|1:0|20:18446744073709551616|1:s|4:YQ==|",     /* even more */
        "2|1:0|10:1700000000|1:s|18446744073709551616:", /* length overflow */
        "2|1:0|10:1700000000|1:s|99999999999999999999999:YQ==|",
        "2|1:0|10:1700000000|1:s|5:YQ==|", /* length past the field */
        "2|1:0|10:1700000000|1:s|3:YQ==|", /* length short of it */
        "2|1:0|10:1700000000|1:s|4:Y Q=|", /* not base64 */
        "2|1:0|10:1700000000|1:s|4:Y=Q=|", /* padding inside */
        "2|1:0|10:1700000000|1:s|4:====|",
        "2|1:0|10:1700000000|1:s|3:YQ=|", /* not whole quanta */
        "2|1:0|10:1700000000|1:s|8:YQ==YQ==|",
        "2|1:0|10:1700000000|1:s|4:YQ-_|", /* URL-safe alphabet */
        "2|1:0|10:1700000000|1:s|4:YQ==",  /* no '|' before the signature */
        "2|1:0|10:1700000000|1:s|",        /* no value field */
        "2|1:0|10:1700000000|",
        "2|1:0|",
        "2|",
    };
    size_t i;

    CU_ASSERT_EQUAL(verify(&single, "s", resign(SECRET, "2|1:0|10:1700000000|1:s|4:YQ==|")), 0);
    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        if (verify(&single, "s", resign(SECRET, bad[i])) != -1)
            fprintf(stderr, "\naccepted: %s\n", bad[i]);
        CU_ASSERT_EQUAL(verify(&single, "s", resign(SECRET, bad[i])), -1);
    }
    /* a signature in upper case is not what Tornado writes */
    {
        char s[512];
        size_t n = strlen(V_HELLO), j;
        memcpy(s, V_HELLO, n + 1);
        for (j = n - 64; j < n; j++)
            s[j] = (char)(s[j] >= 'a' ? s[j] - 32 : s[j]);
        CU_ASSERT_EQUAL(verify(&single, "session", s), -1);
    }
}

static void test_sign_buffers(void)
{
    unsigned char big[3000];
    char s[8192], *exact;
    size_t need, len, i;

    for (i = 0; i < sizeof(big); i++)
        big[i] = (unsigned char)(i * 7);
    need = cookie_signed_size(7, sizeof(big));
    CU_ASSERT_FATAL(need > 0 && need <= sizeof(s));
    CU_ASSERT_EQUAL(cookie_sign(s, need, &single, "session", big, sizeof(big), T0), 0);
    len = strlen(s);
    CU_ASSERT(len < need);
    exact = malloc(len + 1);
    CU_ASSERT_EQUAL(cookie_sign(exact, len + 1, &single, "session", big, sizeof(big), T0), 0);
    CU_ASSERT_STRING_EQUAL(exact, s);
    CU_ASSERT_EQUAL(cookie_sign(exact, len, &single, "session", big, sizeof(big), T0), -1);
    CU_ASSERT_EQUAL(exact[0], '\0');
    free(exact);
    CU_ASSERT_EQUAL(verify(&single, "session", s), 0);
    CU_ASSERT_EQUAL(val_len, sizeof(big));
    CU_ASSERT_EQUAL(memcmp(val, big, sizeof(big)), 0);
    /* out: len bytes are always enough, 3000 + 1 exactly here */
    CU_ASSERT_EQUAL(
        cookie_verify(val, sizeof(big) + 1, &val_len, &single, "session", s, len, 31, T0), 0);
    CU_ASSERT_EQUAL(cookie_verify(val, sizeof(big), &val_len, &single, "session", s, len, 31, T0),
                    -1);
    CU_ASSERT_EQUAL(cookie_signed_size(SIZE_MAX, 1), 0);
    CU_ASSERT_EQUAL(cookie_signed_size(1, SIZE_MAX), 0);
    CU_ASSERT_EQUAL(cookie_sign(s, sizeof(s), &single, "n", "v", 1, -1), -1);
    CU_ASSERT_EQUAL(cookie_sign(s, sizeof(s), &single, "n", NULL, 1, T0), -1);
    CU_ASSERT_EQUAL(cookie_sign(s, 0, &single, "n", "v", 1, T0), -1);
}

/* Round trips over every length around the base64 boundaries. */
static void test_sign_round_trip(void)
{
    unsigned char v[300];
    char s[1024];
    size_t n;

    for (n = 0; n < sizeof(v); n++) {
        v[n] = (unsigned char)(255 - n);
        CU_ASSERT_EQUAL_FATAL(cookie_sign(s, sizeof(s), &rotation, "k", v, n, T0), 0);
        CU_ASSERT_EQUAL_FATAL(verify(&rotation, "k", s), 0);
        CU_ASSERT_EQUAL(val_len, n);
        CU_ASSERT_EQUAL(memcmp(val, v, n), 0);
    }
}

/* ---- live cross-check with Tornado ---------------------------------------- */

static const char *python; /* an interpreter that imports tornado, or NULL */
static char script[1024];

static void cross_find(void)
{
    const char *candidates[] = {getenv("GALE_PYTHON"), "python3", "/usr/bin/python3"};
    const char *srcdir = getenv("GALE_SRCDIR");
    char cmd[1200];
    size_t i;

    snprintf(script, sizeof(script), "%s%stests/unit/tornado_cross.py", srcdir ? srcdir : "",
             srcdir ? "/" : "");
    if (strchr(script, '\'') != NULL)
        return;
    for (i = 0; i < sizeof(candidates) / sizeof(*candidates); i++) {
        if (candidates[i] == NULL || strchr(candidates[i], '\'') != NULL)
            continue;
        snprintf(cmd, sizeof(cmd), "'%s' -c 'import tornado.web' 2>/dev/null && test -r '%s'",
                 candidates[i], script);
        if (system(cmd) == 0) {
            python = candidates[i];
            return;
        }
    }
}

static void hexarg(char *dst, const void *src, size_t n)
{
    size_t i;

    dst += sprintf(dst, "hex:");
    for (i = 0; i < n; i++)
        dst += sprintf(dst, "%02x", ((const unsigned char *)src)[i]);
}

/* Run the script with args, its output (without the final newline) into
 * res: its length, or -1. */
static long cross_run(const char *args, char *res, size_t size)
{
    char cmd[20000];
    FILE *f;
    size_t n;

    snprintf(cmd, sizeof(cmd), "'%s' '%s' %s", python, script, args);
    f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    n = fread(res, 1, size - 1, f);
    if (pclose(f) != 0 || n == 0 || res[n - 1] != '\n')
        return -1;
    res[--n] = '\0';
    return (long)n;
}

struct cross_case {
    const char *secret; /* as tornado_cross.py takes it */
    const struct cookie_keyset *keys;
    const char *kv; /* Tornado's key_version argument */
    const char *name;
    const char *value;
    size_t len;
};

static void cross_one(const struct cross_case *c)
{
    char sec[256], name[256], value[4096], ours[4096], theirs[4096], args[16384];
    char signed_hex[8200];
    long n;

    hexarg(sec, c->secret, strlen(c->secret));
    hexarg(name, c->name, strlen(c->name));
    hexarg(value, c->value, c->len);
    CU_ASSERT_EQUAL_FATAL(cookie_sign(ours, sizeof(ours), c->keys, c->name, c->value, c->len, T0),
                          0);
    /* Tornado signs: byte for byte ours, and we verify it */
    snprintf(args, sizeof(args), "sign %s %s %s %s %d", sec, name, value, c->kv, T0);
    n = cross_run(args, theirs, sizeof(theirs));
    CU_ASSERT(n > 0);
    CU_ASSERT_STRING_EQUAL(theirs, ours);
    CU_ASSERT_EQUAL(verify(c->keys, c->name, theirs), 0);
    CU_ASSERT(val_len == c->len && memcmp(val, c->value, c->len) == 0);
    /* Tornado verifies ours, a day later */
    hexarg(signed_hex, ours, strlen(ours));
    snprintf(args, sizeof(args), "verify %s %s %s %d", sec, name, signed_hex, T0 + DAY);
    n = cross_run(args, theirs, sizeof(theirs));
    CU_ASSERT(n == (long)c->len && memcmp(theirs, c->value, c->len) == 0);
    /* and refuses it tampered */
    ours[strlen(ours) - 1] ^= 1;
    hexarg(signed_hex, ours, strlen(ours));
    snprintf(args, sizeof(args), "verify %s %s %s %d", sec, name, signed_hex, T0 + DAY);
    n = cross_run(args, theirs, sizeof(theirs));
    CU_ASSERT(n == 4 && strcmp(theirs, "NONE") == 0);
}

static void test_tornado_cross(void)
{
    static const char utf8[] = "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x8d\xaa \xd7\xa9\xd7\x9c";
    static const char binary[] = "\x00\x01\xff\xfe\x80|2|1:0|=;,\" \\";
    static const struct cookie_key old_only[] = {{1, "old-secret", 10}};
    static const struct cookie_keyset old = {old_only, 1, 0};
    static const char dict[] = "{\"1\": \"old-secret\", \"2\": \"new-secret\"}";
    char longv[1500];
    struct cross_case cases[] = {
        {SECRET, &single, "-", "session", "hello", 5},
        {SECRET, &single, "-", "session", "", 0},
        {SECRET, &single, "-", "session", utf8, sizeof(utf8) - 1},
        {SECRET, &single, "-", "s", binary, sizeof(binary) - 1},
        {SECRET, &single, "-", "_long", longv, sizeof(longv)},
        {"\xc3\xa9t\xc3\xa9", &single, "-", "a-b.c", "x", 1},
        {dict, &rotation, "2", "user", "alice", 5},
        {dict, &rotation, "2", "user", utf8, sizeof(utf8) - 1},
        {dict, &old, "1", "user", "bob", 3},
    };
    size_t i;

    if (python == NULL) {
        printf("\n  note: python3 with tornado not found: live cross-check skipped ");
        return;
    }
    static const struct cookie_key e_key[] = {{0, "\xc3\xa9t\xc3\xa9", 6}};
    static const struct cookie_keyset e_set = {e_key, 1, 1};
    cases[5].keys = &e_set;
    memset(longv, 'z', sizeof(longv));
    for (i = 0; i < sizeof(longv); i += 7)
        longv[i] = (char)i;
    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++)
        cross_one(&cases[i]);
    printf("\n  note: %zu cases cross-checked with %s ", i, python);
}

int main(void)
{
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"parse basic", test_parse_basic},
        {"parse skips bad pairs", test_parse_skips_bad_pairs},
        {"parse duplicates and find", test_parse_duplicates_and_find},
        {"parse long", test_parse_long},
        {"parse junk", test_parse_junk},
        {"format attributes", test_format_attributes},
        {"format refusals", test_format_refusals},
        {"format buffer size", test_format_buffer_size},
        {"format dates", test_format_dates},
        {"format clear", test_format_clear},
        {"sign tornado vectors", test_sign_tornado_vectors},
        {"verify tornado vectors", test_verify_tornado_vectors},
        {"key rotation", test_key_rotation},
        {"bad keysets", test_bad_keysets},
        {"max age and future", test_max_age_and_future},
        {"wrong name and version", test_wrong_name_and_version},
        {"tamper", test_tamper},
        {"malformed but signed", test_malformed_but_signed},
        {"sign buffers", test_sign_buffers},
        {"sign round trip", test_sign_round_trip},
        {"tornado cross-check", test_tornado_cross},
    };
    CU_pSuite s;
    size_t i;
    int failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    s = CU_add_suite("cookie", NULL, NULL);
    for (i = 0; i < sizeof(tests) / sizeof(*tests); i++)
        CU_add_test(s, tests[i].name, tests[i].fn);
    cross_find();
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = (int)(CU_get_number_of_failures() + CU_get_number_of_tests_failed());
    CU_cleanup_registry();
    return failed != 0;
}
