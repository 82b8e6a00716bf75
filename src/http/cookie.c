/*
 * cookie.c - the Cookie header parser, Set-Cookie formatting and Tornado's
 * version 2 signed values. See cookie.h for the contracts.
 *
 * Everything here reads attacker-controlled bytes with explicit lengths:
 * no function relies on a NUL inside the input, and every write goes
 * through struct cookie_buf, which refuses to overrun rather than truncate.
 */
#include "http/cookie.h"

#include "core/base64.h"
#include "core/util.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#define COOKIE_SIG_HEX 64                /* hex HMAC-SHA256 */
#define COOKIE_FUTURE_MAX (31.0 * 86400) /* Tornado's bound for v1 values */
#define COOKIE_TIME_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */

/* An output buffer that is always NUL-terminated and marks itself failed,
 * instead of truncating, when a write does not fit. */
struct cookie_buf {
    char *p;
    size_t len, size;
    int failed;
};

static void cookie_buf_init(struct cookie_buf *b, char *out, size_t size)
{
    b->p = out;
    b->len = 0;
    b->size = size;
    b->failed = out == NULL || size == 0;
    if (!b->failed)
        out[0] = '\0';
}

/* Room for n more bytes plus the NUL, or NULL (and the buffer fails). */
static char *cookie_buf_reserve(struct cookie_buf *b, size_t n)
{
    char *at;

    if (b->failed || n >= b->size - b->len) {
        b->failed = 1;
        return NULL;
    }
    at = b->p + b->len;
    b->len += n;
    b->p[b->len] = '\0';
    return at;
}

static void cookie_buf_add(struct cookie_buf *b, const char *s, size_t n)
{
    char *at = cookie_buf_reserve(b, n);

    if (at != NULL)
        memcpy(at, s, n);
}

static void cookie_buf_adds(struct cookie_buf *b, const char *s)
{
    cookie_buf_add(b, s, strlen(s));
}

/* An unsigned number in decimal. */
static void cookie_buf_addu(struct cookie_buf *b, unsigned long long v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%llu", v);

    cookie_buf_add(b, num, (size_t)n);
}

/* ---- parsing the Cookie header ---------------------------------------- */

static int cookie_is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static void cookie_trim(const char **s, size_t *n)
{
    while (*n > 0 && cookie_is_ws(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && cookie_is_ws((*s)[*n - 1]))
        (*n)--;
}

/* Lenient on purpose (see cookie.h): refuses only what no sane cookie name
 * holds, so junk and smuggled control bytes never reach a handler as a
 * name. */
static int cookie_name_ok(const char *s, size_t n)
{
    size_t i;

    if (n == 0)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == '\\')
            return -1;
    }
    return 0;
}

/* Split one ';'-delimited piece s[0..n) into a pair: 0, or -1 to skip it. */
static int cookie_split(const char *s, size_t n, struct cookie_pair *pair)
{
    const char *eq = memchr(s, '=', n);

    if (eq == NULL)
        return -1;
    pair->name = s;
    pair->name_len = (size_t)(eq - s);
    pair->value = eq + 1;
    pair->value_len = n - pair->name_len - 1;
    cookie_trim(&pair->name, &pair->name_len);
    cookie_trim(&pair->value, &pair->value_len);
    if (pair->value_len >= 2 && pair->value[0] == '"' && pair->value[pair->value_len - 1] == '"') {
        pair->value++;
        pair->value_len -= 2;
    }
    return cookie_name_ok(pair->name, pair->name_len);
}

void cookie_iter_init(struct cookie_iter *it, const char *header, size_t len)
{
    it->p = header;
    it->end = header == NULL ? NULL : header + len;
}

int cookie_iter_next(struct cookie_iter *it, struct cookie_pair *pair)
{
    struct cookie_pair p;

    while (it->p < it->end) {
        const char *start = it->p;
        size_t n = (size_t)(it->end - start);
        const char *semi = memchr(start, ';', n);

        if (semi != NULL)
            n = (size_t)(semi - start);
        it->p = semi != NULL ? semi + 1 : it->end;
        if (cookie_split(start, n, &p) == 0) {
            *pair = p;
            return 0;
        }
    }
    return -1;
}

int cookie_find(const char *header, size_t len, const char *name, struct cookie_pair *pair)
{
    struct cookie_iter it;
    size_t name_len;

    if (name == NULL)
        return -1;
    name_len = strlen(name);
    cookie_iter_init(&it, header, len);
    while (cookie_iter_next(&it, pair) == 0) {
        if (pair->name_len == name_len && memcmp(pair->name, name, name_len) == 0)
            return 0;
    }
    return -1;
}

/* ---- formatting Set-Cookie -------------------------------------------- */

/* RFC 7230 tchar. */
static int cookie_is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int cookie_token_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (!cookie_is_tchar((unsigned char)*s))
            return -1;
    }
    return 0;
}

/* RFC 6265 4.1.1 cookie-octet. */
static int cookie_value_ok(const char *s)
{
    if (s == NULL)
        return -1;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\')
            return -1;
    }
    return 0;
}

/* RFC 6265 path-value, and absolute, or the browser ignores it. */
static int cookie_path_ok(const char *s)
{
    if (s[0] != '/')
        return -1;
    for (; *s != '\0'; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == ';')
            return -1;
    }
    return 0;
}

static int cookie_domain_ok(const char *s)
{
    if (*s == '\0' || strlen(s) > 255)
        return -1;
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              c == '-' || c == '.'))
            return -1;
    }
    return 0;
}

/* The combinations browsers drop without a word (see cookie.h). */
static int cookie_browser_rules_ok(const char *name, const struct cookie_attrs *a)
{
    if (a->samesite == COOKIE_SAMESITE_NONE && !a->secure)
        return -1;
    if (strncmp(name, "__Secure-", 9) == 0 && !a->secure)
        return -1;
    if (strncmp(name, "__Host-", 7) == 0 &&
        (!a->secure || a->domain != NULL || a->path == NULL || strcmp(a->path, "/") != 0))
        return -1;
    return 0;
}

static int cookie_attrs_ok(const char *name, const char *value, const struct cookie_attrs *a)
{
    if (cookie_token_ok(name) < 0 || cookie_value_ok(value) < 0)
        return -1;
    if ((a->path != NULL && cookie_path_ok(a->path) < 0) ||
        (a->domain != NULL && cookie_domain_ok(a->domain) < 0))
        return -1;
    if ((a->has_max_age && a->max_age < 0) ||
        (a->has_expires && (a->expires < 0 || a->expires > COOKIE_TIME_MAX)))
        return -1;
    if ((int)a->samesite < COOKIE_SAMESITE_UNSET || (int)a->samesite > COOKIE_SAMESITE_NONE)
        return -1;
    return cookie_browser_rules_ok(name, a);
}

int cookie_format_date(char *out, size_t outsz, time_t t)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    int n;

    /* Own name tables, not strftime: %a and %b follow the locale. */
    if (out == NULL || t < 0 || t > COOKIE_TIME_MAX || gmtime_r(&t, &tm) == NULL)
        return -1;
    n = snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

static void cookie_add_attrs(struct cookie_buf *b, const struct cookie_attrs *a)
{
    static const char *const samesite[] = {NULL, "Lax", "Strict", "None"};
    char date[COOKIE_DATE_SIZE];

    if (a->has_expires) {
        if (cookie_format_date(date, sizeof(date), a->expires) < 0) {
            b->failed = 1;
            return;
        }
        cookie_buf_adds(b, "; Expires=");
        cookie_buf_adds(b, date);
    }
    if (a->has_max_age) {
        cookie_buf_adds(b, "; Max-Age=");
        cookie_buf_addu(b, (unsigned long long)a->max_age);
    }
    if (a->domain != NULL) {
        cookie_buf_adds(b, "; Domain=");
        cookie_buf_adds(b, a->domain);
    }
    if (a->path != NULL) {
        cookie_buf_adds(b, "; Path=");
        cookie_buf_adds(b, a->path);
    }
    if (a->secure)
        cookie_buf_adds(b, "; Secure");
    if (a->httponly)
        cookie_buf_adds(b, "; HttpOnly");
    if (a->samesite != COOKIE_SAMESITE_UNSET) {
        cookie_buf_adds(b, "; SameSite=");
        cookie_buf_adds(b, samesite[a->samesite]);
    }
}

int cookie_format(char *out, size_t outsz, const char *name, const char *value,
                  const struct cookie_attrs *attrs)
{
    static const struct cookie_attrs none;
    struct cookie_buf b;

    if (attrs == NULL)
        attrs = &none;
    cookie_buf_init(&b, out, outsz);
    if (b.failed || cookie_attrs_ok(name, value, attrs) < 0)
        return -1;
    cookie_buf_adds(&b, name);
    cookie_buf_add(&b, "=", 1);
    cookie_buf_adds(&b, value);
    cookie_add_attrs(&b, attrs);
    if (b.failed) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

int cookie_format_clear(char *out, size_t outsz, const char *name, const struct cookie_attrs *attrs)
{
    struct cookie_attrs a = {0};

    if (attrs != NULL)
        a = *attrs;
    /* Both: Max-Age wins where it is understood, and the 1970 date removes
     * the cookie in the old clients that only know Expires. */
    a.has_expires = 1;
    a.expires = 0;
    a.has_max_age = 1;
    a.max_age = 0;
    return cookie_format(out, outsz, name, "", &a);
}

/* ---- signed values ----------------------------------------------------- */

/* Every key usable and every version distinct, so that a version names one
 * key. */
static int cookie_keyset_ok(const struct cookie_keyset *ks)
{
    size_t i, j;

    if (ks == NULL || ks->keys == NULL || ks->nkeys == 0 || (ks->unversioned && ks->nkeys != 1))
        return -1;
    for (i = 0; i < ks->nkeys; i++) {
        const struct cookie_key *k = &ks->keys[i];
        if (k->secret == NULL || k->secret_len == 0 || k->secret_len > INT_MAX)
            return -1;
        for (j = 0; j < i; j++) {
            if (ks->keys[j].version == k->version)
                return -1;
        }
    }
    return 0;
}

static const struct cookie_key *cookie_keyset_signer(const struct cookie_keyset *ks)
{
    const struct cookie_key *best;
    size_t i;

    if (cookie_keyset_ok(ks) < 0)
        return NULL;
    best = &ks->keys[0];
    for (i = 1; i < ks->nkeys; i++) {
        if (ks->keys[i].version > best->version)
            best = &ks->keys[i];
    }
    return best;
}

static const struct cookie_key *cookie_keyset_find(const struct cookie_keyset *ks,
                                                   unsigned int version)
{
    size_t i;

    if (cookie_keyset_ok(ks) < 0)
        return NULL;
    if (ks->unversioned)
        return &ks->keys[0];
    for (i = 0; i < ks->nkeys; i++) {
        if (ks->keys[i].version == version)
            return &ks->keys[i];
    }
    return NULL;
}

/* The lowercase hex HMAC-SHA256 of data under key, as Tornado's
 * _create_signature_v2, into hex[COOKIE_SIG_HEX]. */
static int cookie_hmac_hex(char *hex, const struct cookie_key *key, const char *data, size_t n)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (HMAC(EVP_sha256(), key->secret, (int)key->secret_len, (const unsigned char *)data, n, md,
             &md_len) == NULL ||
        md_len * 2 != COOKIE_SIG_HEX)
        return -1;
    util_hex(hex, md, md_len);
    OPENSSL_cleanse(md, sizeof(md));
    return 0;
}

size_t cookie_signed_size(size_t name_len, size_t value_len)
{
    /* "2|", four "<len>:" prefixes of at most 20 digits with their '|',
     * a key version and a timestamp of at most 20 digits, the signature
     * and the NUL. */
    size_t fixed = 2 + 4 * 22 + 20 + 20 + COOKIE_SIG_HEX + 1;

    if (name_len > SIZE_MAX / 4 || value_len > SIZE_MAX / 4)
        return 0;
    return fixed + name_len + base64_encoded_len(value_len, 0);
}

static void cookie_buf_field(struct cookie_buf *b, const char *s, size_t n)
{
    cookie_buf_addu(b, n);
    cookie_buf_add(b, ":", 1);
    cookie_buf_add(b, s, n);
    cookie_buf_add(b, "|", 1);
}

static void cookie_buf_field_u(struct cookie_buf *b, unsigned long long v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%llu", v);

    cookie_buf_field(b, num, (size_t)n);
}

static void cookie_buf_field_b64(struct cookie_buf *b, const void *value, size_t n)
{
    size_t len = base64_encoded_len(n, 0);
    char *at;

    cookie_buf_addu(b, len);
    cookie_buf_add(b, ":", 1);
    at = cookie_buf_reserve(b, len);
    if (at != NULL)
        base64_encode(at, value, n, 0);
    cookie_buf_add(b, "|", 1);
}

int cookie_sign(char *out, size_t outsz, const struct cookie_keyset *keys, const char *name,
                const void *value, size_t value_len, time_t now)
{
    const struct cookie_key *key = cookie_keyset_signer(keys);
    struct cookie_buf b;
    char *sig;

    cookie_buf_init(&b, out, outsz);
    if (b.failed || key == NULL || name == NULL || (value == NULL && value_len > 0) || now < 0)
        return -1;
    cookie_buf_add(&b, "2|", 2);
    cookie_buf_field_u(&b, keys->unversioned ? 0 : key->version);
    cookie_buf_field_u(&b, (unsigned long long)now);
    cookie_buf_field(&b, name, strlen(name));
    cookie_buf_field_b64(&b, value, value_len);
    sig = cookie_buf_reserve(&b, COOKIE_SIG_HEX);
    if (sig == NULL || cookie_hmac_hex(sig, key, out, b.len - COOKIE_SIG_HEX) < 0) {
        out[0] = '\0';
        return -1;
    }
    return 0;
}

/* The fields of a version 2 value, pointing into it. */
struct cookie_fields {
    unsigned int key_version;
    unsigned long long timestamp;
    const char *name, *value, *sig;
    size_t name_len, value_len, sig_len;
    size_t signed_len; /* what the signature covers */
};

/* Canonical decimal s[0..n): digits only, no leading zero, at most max. */
static int cookie_decimal(const char *s, size_t n, unsigned long long max, unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i;

    if (n == 0 || (n > 1 && s[0] == '0'))
        return -1;
    for (i = 0; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9 || v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

/* One "<len>:<bytes>|" field at *p, advancing *p past it. */
static int cookie_field(const char **p, const char *end, const char **field, size_t *len)
{
    const char *colon = memchr(*p, ':', (size_t)(end - *p));
    unsigned long long n;
    const char *start;

    if (colon == NULL || cookie_decimal(*p, (size_t)(colon - *p), ULLONG_MAX, &n) < 0)
        return -1;
    start = colon + 1;
    if ((unsigned long long)(end - start) <= n || start[n] != '|')
        return -1;
    *field = start;
    *len = (size_t)n;
    *p = start + n + 1;
    return 0;
}

static int cookie_field_number(const char **p, const char *end, unsigned long long max,
                               unsigned long long *v)
{
    const char *s;
    size_t n;

    if (cookie_field(p, end, &s, &n) < 0)
        return -1;
    return cookie_decimal(s, n, max, v);
}

/* Split a version 2 value, as Tornado's _decode_fields_v2 but accepting
 * only the canonical numbers Tornado writes. */
static int cookie_parse_fields(const char *s, size_t len, struct cookie_fields *f)
{
    const char *p, *end;
    unsigned long long kv;

    if (s == NULL || len < 2 || s[0] != '2' || s[1] != '|')
        return -1;
    p = s + 2;
    end = s + len;
    if (cookie_field_number(&p, end, UINT_MAX, &kv) < 0 ||
        cookie_field_number(&p, end, LLONG_MAX, &f->timestamp) < 0 ||
        cookie_field(&p, end, &f->name, &f->name_len) < 0 ||
        cookie_field(&p, end, &f->value, &f->value_len) < 0)
        return -1;
    f->key_version = (unsigned int)kv;
    f->sig = p;
    f->sig_len = (size_t)(end - p);
    f->signed_len = (size_t)(p - s);
    return 0;
}

static int cookie_signature_ok(const struct cookie_keyset *keys, const char *s,
                               const struct cookie_fields *f)
{
    const struct cookie_key *key = cookie_keyset_find(keys, f->key_version);
    char expect[COOKIE_SIG_HEX];
    int rc;

    if (key == NULL || f->sig_len != COOKIE_SIG_HEX ||
        cookie_hmac_hex(expect, key, s, f->signed_len) < 0)
        return -1;
    rc = CRYPTO_memcmp(expect, f->sig, COOKIE_SIG_HEX) == 0 ? 0 : -1;
    OPENSSL_cleanse(expect, sizeof(expect));
    return rc;
}

static int cookie_time_ok(unsigned long long timestamp, double max_age_days, time_t now)
{
    double ts = (double)timestamp, t = (double)now;

    if (isnan(max_age_days) || ts < t - max_age_days * 86400.0)
        return -1;
    return ts > t + COOKIE_FUTURE_MAX ? -1 : 0;
}

int cookie_verify(unsigned char *out, size_t outsz, size_t *out_len,
                  const struct cookie_keyset *keys, const char *name, const char *signed_value,
                  size_t len, double max_age_days, time_t now)
{
    struct cookie_fields f;

    if (out == NULL || outsz == 0 || out_len == NULL || name == NULL)
        return -1;
    out[0] = '\0';
    *out_len = 0;
    if (cookie_parse_fields(signed_value, len, &f) < 0 ||
        cookie_signature_ok(keys, signed_value, &f) < 0)
        return -1;
    if (f.name_len != strlen(name) || memcmp(f.name, name, f.name_len) != 0 ||
        cookie_time_ok(f.timestamp, max_age_days, now) < 0)
        return -1;
    if (f.value_len / 4 * 3 >= outsz || base64_decode(out, out_len, f.value, f.value_len, 0) < 0) {
        out[0] = '\0';
        *out_len = 0;
        return -1;
    }
    out[*out_len] = '\0';
    return 0;
}

int cookie_signed_key_version(const char *signed_value, size_t len, unsigned int *version)
{
    struct cookie_fields f;

    if (version == NULL || cookie_parse_fields(signed_value, len, &f) < 0)
        return -1;
    *version = f.key_version;
    return 0;
}
