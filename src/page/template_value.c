/*
 * template_value.c - jansson values as a Tornado template (Python) sees
 * them: truth, str() and repr(), ==, ordering, and Tornado's escape
 * functions, so that the output matches Tornado's byte for byte.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page/template_impl.h"

void template_buf_grow(struct template_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n + 1)
        cap *= 2;
    b->s = realloc(b->s, cap);
    if (b->s == NULL)
        abort(); /* as the arena: a worker without memory cannot answer */
    b->cap = cap;
}

void template_buf_adds(struct template_buf *b, const char *s)
{
    template_buf_add(b, s, strlen(s));
}

void template_buf_addc(struct template_buf *b, char c)
{
    template_buf_add(b, &c, 1);
}

void template_buf_free(struct template_buf *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

int tval_truthy(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return json_object_size(v) > 0;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0.0;
    case JSON_TRUE:
        return 1;
    default:
        return 0;
    }
}

const char *tval_type(const json_t *v)
{
    static const char *const names[] = {"dict",  "list", "str",  "int",
                                        "float", "bool", "bool", "NoneType"};
    return names[json_typeof(v)];
}

/* The decimal digits of u, at least `width` of them (zeros before), written
 * backwards to end: returns where they start. Two digits a step, by a
 * constant divisor (a multiplication), no printf. */
static inline char *tval_digits(char *end, unsigned long long u, int width)
{
    static const char pairs[] =
        "000102030405060708091011121314151617181920212223242526272829303132333435363738394041424344"
        "454647484950515253545556575859606162636465666768697071727374757677787980818283848586878889"
        "90919293949596979899";
    char *p = end;
    while (u >= 100) {
        p -= 2;
        memcpy(p, pairs + 2 * (u % 100), 2);
        u /= 100;
    }
    if (u >= 10) {
        p -= 2;
        memcpy(p, pairs + 2 * u, 2);
    } else {
        *--p = (char)('0' + u);
    }
    while (end - p < width)
        *--p = '0';
    return p;
}

/* The longest number the fast ways below write; each writes its digits in a
 * buffer with TVAL_NUM_MAX bytes readable from the first, for
 * template_buf_add_padded. */
#define TVAL_NUM_MAX 32

void tval_int(struct template_buf *b, long long v)
{
    char buf[2 * TVAL_NUM_MAX], *end = buf + TVAL_NUM_MAX;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    char *p = tval_digits(end, u, 1);
    if (v < 0)
        *--p = '-';
    template_buf_add_padded(b, p, (size_t)(end - p), TVAL_NUM_MAX);
}

/* The common case of tval_float without printf: a value in fixed notation
 * whose shortest form has at most 15 significant digits. With k decimals
 * (from 0 up), m = |d| * 10^k rounded is exact and m / 10^k is the double
 * nearest the decimal m * 10^-k: when that is |d|, the decimal reads back
 * as |d|; and no other decimal of 15 digits or fewer does (DBL_DIG), so the
 * first k that works gives the shortest. The digits of m are written once
 * and the point put k from their end. 0: not this case. */
static int tval_float_fixed(struct template_buf *b, double d)
{
    static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    char buf[2 * TVAL_NUM_MAX], *end = buf + TVAL_NUM_MAX, *p;
    double a = fabs(d);
    if (!(a >= 1e-4 && a < 1e15))
        return 0;
    for (int k = 0; k < 16; k++) {
        /* below 2^50 the sum rounds no candidate away, and the cast
         * truncates: half up (nearbyint's ties to even would be a call) */
        double m = (double)(long long)(a * pow10[k] + 0.5);
        if (m >= 1e15)
            return 0; /* more than 15 digits: the general case */
        if (m / pow10[k] != a)
            continue;
        if (k == 0) {
            p = tval_digits(end, (unsigned long long)m, 1);
            *end++ = '.';
            *end++ = '0';
        } else {
            p = tval_digits(end, (unsigned long long)m, k + 1);
            /* the k decimals one to the right: a move of a constant size
             * (a loop of k would become a call to memmove) */
            memmove(end - k + 1, end - k, 16);
            end[-k] = '.';
            end++;
        }
        if (d < 0)
            *--p = '-';
        template_buf_add_padded(b, p, (size_t)(end - p), TVAL_NUM_MAX);
        return 1;
    }
    return 0;
}

/* Python's repr(float): the shortest digits that read back the same, in
 * fixed notation for exponents -4..15, else scientific. */
void tval_float(struct template_buf *b, double d)
{
    char digits[40], out[64];
    int prec, exp10;

    if (isnan(d)) {
        template_buf_adds(b, "nan");
        return;
    }
    if (isinf(d)) {
        template_buf_adds(b, d < 0 ? "-inf" : "inf");
        return;
    }
    if (d == 0) {
        template_buf_adds(b, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    if (tval_float_fixed(b, d))
        return;
    /* Any decimal of at most 15 digits survives the trip through a double
     * (DBL_DIG), so when 15 digits read back the same, they are the shortest
     * ones padded with zeros; else 16, else 17 (always enough). */
    /* A subnormal has fewer significant bits: its shortest digits may be
     * fewer than 15 with the 15-digit form reading back the same too
     * (5e-324, not 4.94065645841247e-324): searched from one digit. */
    for (prec = fabs(d) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
        snprintf(digits, sizeof(digits), "%.*e", prec - 1, d);
        if (strtod(digits, NULL) == d)
            break;
    }
    /* digits is [-]D[.DDD]e[+-]XX: take the significant digits apart */
    char *e = strchr(digits, 'e');
    exp10 = atoi(e + 1);
    *e = '\0';
    char sig[24];
    size_t n = 0;
    for (char *p = digits; *p; p++)
        if (*p >= '0' && *p <= '9')
            sig[n++] = *p;
    while (n > 1 && sig[n - 1] == '0')
        n--;
    sig[n] = '\0';
    char *o = out;
    if (d < 0 || (d == 0 && signbit(d)))
        *o++ = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            o += sprintf(o, "0.");
            for (int i = -1; i > exp10; i--)
                *o++ = '0';
            o += sprintf(o, "%s", sig);
        } else {
            for (int i = 0; i <= exp10; i++)
                *o++ = (size_t)i < n ? sig[i] : '0';
            *o++ = '.';
            if ((size_t)exp10 + 1 < n)
                o += sprintf(o, "%s", sig + exp10 + 1);
            else
                *o++ = '0';
        }
    } else {
        *o++ = sig[0];
        if (n > 1)
            o += sprintf(o, ".%s", sig + 1);
        o += sprintf(o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    *o = '\0';
    template_buf_adds(b, out);
}

static void tval_repr_string(struct template_buf *b, const char *s, size_t n)
{
    char q = (memchr(s, '\'', n) && !memchr(s, '"', n)) ? '"' : '\'';
    template_buf_addc(b, q);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '\\' || c == (unsigned char)q) {
            esc[0] = '\\', esc[1] = (char)c;
            template_buf_add(b, esc, 2);
        } else if (c == '\n') {
            template_buf_add(b, "\\n", 2);
        } else if (c == '\r') {
            template_buf_add(b, "\\r", 2);
        } else if (c == '\t') {
            template_buf_add(b, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(esc, sizeof(esc), "\\x%02x", c);
            template_buf_add(b, esc, 4);
        } else {
            template_buf_addc(b, (char)c);
        }
    }
    template_buf_addc(b, q);
}

/* A list or dict as Python prints it, and as JSON, which writes them alike:
 * `item` writes each value, `key` each key. */
static void tval_container(struct template_buf *b, const json_t *v,
                           void (*item)(struct template_buf *, const json_t *),
                           void (*key)(struct template_buf *, const char *, size_t))
{
    size_t i;
    const char *k;
    json_t *x;
    if (json_is_array(v)) {
        template_buf_addc(b, '[');
        json_array_foreach(v, i, x)
        {
            if (i > 0)
                template_buf_add(b, ", ", 2);
            item(b, x);
        }
        template_buf_addc(b, ']');
        return;
    }
    template_buf_addc(b, '{');
    i = 0;
    json_object_foreach((json_t *)v, k, x)
    {
        if (i++ > 0)
            template_buf_add(b, ", ", 2);
        key(b, k, strlen(k));
        template_buf_add(b, ": ", 2);
        item(b, x);
    }
    template_buf_addc(b, '}');
}

static void tval_print(struct template_buf *b, const json_t *v, int repr)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        if (repr)
            tval_repr_string(b, json_string_value(v), json_string_length(v));
        else
            template_buf_add(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        tval_int(b, json_integer_value(v));
        break;
    case JSON_REAL:
        tval_float(b, json_real_value(v));
        break;
    case JSON_TRUE:
        template_buf_adds(b, "True");
        break;
    case JSON_FALSE:
        template_buf_adds(b, "False");
        break;
    case JSON_NULL:
        template_buf_adds(b, "None");
        break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        tval_container(b, v, tval_repr, tval_repr_string);
        break;
    }
}

void tval_str(struct template_buf *b, const json_t *v)
{
    tval_print(b, v, 0);
}

void tval_repr(struct template_buf *b, const json_t *v)
{
    tval_print(b, v, 1);
}

/* Numbers, booleans included (True == 1 in Python), as doubles. */
static int tval_number(const json_t *v, double *d)
{
    if (json_is_integer(v))
        *d = (double)json_integer_value(v);
    else if (json_is_real(v))
        *d = json_real_value(v);
    else if (json_is_boolean(v))
        *d = json_is_true(v);
    else
        return -1;
    return 0;
}

int tval_equal(const json_t *a, const json_t *b)
{
    double da, db;
    if (tval_number(a, &da) == 0 && tval_number(b, &db) == 0) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return da == db;
    }
    if (json_typeof(a) != json_typeof(b))
        return 0;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!tval_equal(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    }
    if (json_is_object(a)) {
        const char *k;
        json_t *x;
        if (json_object_size(a) != json_object_size(b))
            return 0;
        json_object_foreach((json_t *)a, k, x)
        {
            json_t *o = json_object_get(b, k);
            if (o == NULL || !tval_equal(x, o))
                return 0;
        }
        return 1;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

int tval_compare(const json_t *a, const json_t *b)
{
    double x, y;
    if (tval_number(a, &x) == 0 && tval_number(b, &y) == 0) {
        if (json_is_integer(a) && json_is_integer(b)) {
            json_int_t i = json_integer_value(a), j = json_integer_value(b);
            return (i > j) - (i < j);
        }
        return (x > y) - (x < y);
    }
    if (json_is_string(a) && json_is_string(b)) {
        size_t n = json_string_length(a), m = json_string_length(b);
        int c = memcmp(json_string_value(a), json_string_value(b), n < m ? n : m);
        if (c == 0)
            return (n > m) - (n < m);
        return c < 0 ? -1 : 1;
    }
    if (json_is_array(a) && json_is_array(b)) {
        size_t n = json_array_size(a), m = json_array_size(b);
        for (size_t i = 0; i < n && i < m; i++) {
            json_t *p = json_array_get(a, i), *q = json_array_get(b, i);
            if (tval_equal(p, q))
                continue;
            return tval_compare(p, q);
        }
        return (n > m) - (n < m);
    }
    return -2;
}

/* For each byte, what it becomes (the byte itself, or its entity: at most
 * 6 bytes) in the first 7 bytes of a word as it lies in memory, and that
 * length in the last one: one load gives both (see tval_xhtml_escape). */
static uint64_t tval_xhtml[256];

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TVAL_XHTML_LEN(w) ((w) >> 56)
#else
#define TVAL_XHTML_LEN(w) ((w)&0xff)
#endif

static void tval_xhtml_init(void)
{
    static const char *const entity[256] = {
        ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;", ['\''] = "&#39;",
    };
    for (int c = 0; c < 256; c++) {
        unsigned char w[8] = {(unsigned char)c, 0, 0, 0, 0, 0, 0, 1};
        if (entity[c] != NULL) {
            w[7] = (unsigned char)strlen(entity[c]);
            memcpy(w, entity[c], w[7]);
        }
        memcpy(&tval_xhtml[c], w, 8);
    }
}

void tval_xhtml_escape(struct template_buf *b, const char *s, size_t n)
{
    if (tval_xhtml[0] == 0) /* made once; workers render on one thread */
        tval_xhtml_init();
    if (b->len + 6 * n + 8 > b->cap) /* the worst case, and the padding */
        template_buf_grow(b, 6 * n + 8);
    char *o = b->s + b->len;
    /* Without a branch on the byte: a page's values are short and full of
     * quotes and brackets, and a mispredicted branch for each of those cost
     * more than writing 8 bytes for every byte (the length byte among them:
     * it lands past the byte's output, in room the next output overwrites
     * or past the end of the string). */
#pragma GCC unroll 4
    for (size_t i = 0; i < n; i++) {
        uint64_t w = tval_xhtml[(unsigned char)s[i]];
        memcpy(o, &w, 8);
        o += TVAL_XHTML_LEN(w);
    }
    *o = '\0';
    b->len = (size_t)(o - b->s);
}

/* Append the UTF-8 form of code point c. */
static void tval_utf8(struct template_buf *b, unsigned long c)
{
    char u[4];
    if (c < 0x80) {
        u[0] = (char)c;
        template_buf_add(b, u, 1);
    } else if (c < 0x800) {
        u[0] = (char)(0xc0 | (c >> 6)), u[1] = (char)(0x80 | (c & 0x3f));
        template_buf_add(b, u, 2);
    } else if (c < 0x10000) {
        u[0] = (char)(0xe0 | (c >> 12)), u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        u[2] = (char)(0x80 | (c & 0x3f));
        template_buf_add(b, u, 3);
    } else if (c < 0x110000) {
        u[0] = (char)(0xf0 | (c >> 18)), u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((c >> 6) & 0x3f)), u[3] = (char)(0x80 | (c & 0x3f));
        template_buf_add(b, u, 4);
    }
}

/* Tornado's xhtml_unescape: the named entities it knows and &#N; / &#xN;. */
void tval_xhtml_unescape(struct template_buf *b, const char *s, size_t n)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    for (size_t i = 0; i < n; i++) {
        const char *semi = s[i] == '&' ? memchr(s + i, ';', n - i) : NULL;
        if (semi == NULL || semi - (s + i) > 10) {
            template_buf_addc(b, s[i]);
            continue;
        }
        size_t len = (size_t)(semi - (s + i)) - 1;
        const char *ent = s + i + 1;
        int done = 0;
        if (len > 1 && ent[0] == '#') {
            int hex = ent[1] == 'x' || ent[1] == 'X';
            char tmp[12], *end;
            memcpy(tmp, ent + 1 + hex, len - 1 - hex);
            tmp[len - 1 - hex] = '\0';
            unsigned long c = strtoul(tmp, &end, hex ? 16 : 10);
            if (*end == '\0' && end != tmp) {
                tval_utf8(b, c);
                done = 1;
            }
        }
        for (size_t k = 0; !done && k < sizeof(named) / sizeof(named[0]); k++)
            if (strlen(named[k].name) == len && memcmp(named[k].name, ent, len) == 0) {
                template_buf_addc(b, named[k].c);
                done = 1;
            }
        if (!done) {
            template_buf_addc(b, s[i]);
            continue;
        }
        i += len + 1;
    }
}

/* urllib.parse.quote_plus (plus) or quote with "/" safe. */
void tval_url_escape(struct template_buf *b, const char *s, size_t n, int plus)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || c == '.' || c == '-' || c == '~' || (!plus && c == '/')) {
            template_buf_addc(b, (char)c);
        } else if (plus && c == ' ') {
            template_buf_addc(b, '+');
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            template_buf_add(b, e, 3);
        }
    }
}

/* Runs of control characters and spaces become one space; the ends are
 * trimmed. */
void tval_squeeze(struct template_buf *b, const char *s, size_t n)
{
    size_t i = 0;
    int pending = 0, started = 0;
    for (; i < n; i++) {
        if ((unsigned char)s[i] <= 0x20) {
            pending = started;
            continue;
        }
        if (pending)
            template_buf_addc(b, ' ');
        pending = 0;
        started = 1;
        template_buf_addc(b, s[i]);
    }
}

static int tval_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (unsigned char)c >= 0x80;
}

/* A character that may end a URL: not punctuation, not space. */
static int tval_url_end(char c)
{
    return c > ' ' && !strchr("!\"#$%&'()*+,.:;<=>?@[]^`{|}~", c);
}

/* The length of the token at s (in escaped text): &amp; and &quot; are
 * one; other & ( ) and spaces are none (0). */
static size_t tval_url_token(const char *s, size_t n)
{
    if (n == 0 || (unsigned char)*s <= ' ' || *s == '(' || *s == ')')
        return 0;
    if (*s != '&')
        return 1;
    if (n >= 5 && memcmp(s, "&amp;", 5) == 0)
        return 5;
    if (n >= 6 && memcmp(s, "&quot;", 6) == 0)
        return 6;
    return 0;
}

/* The end of the URL body starting at p, or p when there is none: pieces
 * that end in a character tval_url_end allows, or parenthesised runs. */
static size_t tval_url_body(const char *s, size_t n, size_t p)
{
    for (;;) {
        size_t q = p, last = p, t;
        while ((t = tval_url_token(s + q, n - q)) > 0) {
            q += t;
            if (t == 1 && tval_url_end(s[q - 1]))
                last = q;
        }
        if (last > p) {
            p = last;
            continue;
        }
        if (p < n && s[p] == '(') {
            q = p + 1;
            while ((t = tval_url_token(s + q, n - q)) > 0)
                q += t;
            if (q < n && s[q] == ')') {
                p = q + 1;
                continue;
            }
        }
        return p;
    }
}

/* Tornado's linkify with its defaults: escape, then turn http(s) URLs and
 * www. names into links (any other scheme's URL is left as text). */
void tval_linkify(struct template_buf *b, const char *s, size_t n)
{
    struct template_buf e = {0};
    tval_xhtml_escape(&e, s, n);
    const char *t = e.s ? e.s : "";
    size_t i = 0, done = 0;
    while (i < e.len) {
        if (!tval_word(t[i]) || (i > 0 && tval_word(t[i - 1]))) {
            i++;
            continue;
        }
        size_t p = i, scheme = 0;
        while (p < e.len && (tval_word(t[p]) || t[p] == '-'))
            p++;
        if (p < e.len && t[p] == ':' && p + 1 < e.len && t[p + 1] == '/') {
            scheme = p - i;
            p++;
            for (int k = 0; k < 3 && p < e.len && t[p] == '/'; k++)
                p++;
        } else if (e.len - i >= 4 && memcmp(t + i, "www.", 4) == 0) {
            p = i + 4;
        } else {
            i++;
            continue;
        }
        size_t end = tval_url_body(t, e.len, p);
        if (end == p) {
            i++;
            continue;
        }
        template_buf_add(b, t + done, i - done);
        int ok = scheme == 0 || (scheme == 4 && memcmp(t + i, "http", 4) == 0) ||
                 (scheme == 5 && memcmp(t + i, "https", 5) == 0);
        if (ok) {
            template_buf_adds(b, scheme ? "<a href=\"" : "<a href=\"http://");
            template_buf_add(b, t + i, end - i);
            template_buf_adds(b, "\">");
            template_buf_add(b, t + i, end - i);
            template_buf_adds(b, "</a>");
        } else {
            template_buf_add(b, t + i, end - i);
        }
        i = done = end;
    }
    template_buf_add(b, t + done, e.len - done);
    template_buf_free(&e);
}

/* A JSON string as Python's json.dumps writes it (ensure_ascii). */
static void tval_json_string(struct template_buf *b, const char *s, size_t n)
{
    char u[16];
    template_buf_addc(b, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        unsigned long cp = c;
        size_t len = 1;
        if (c >= 0xf0 && i + 3 < n + 0)
            cp = ((c & 7ul) << 18) | ((s[i + 1] & 0x3ful) << 12) | ((s[i + 2] & 0x3ful) << 6) |
                 (s[i + 3] & 0x3ful),
            len = 4;
        else if (c >= 0xe0 && i + 2 < n)
            cp = ((c & 15ul) << 12) | ((s[i + 1] & 0x3ful) << 6) | (s[i + 2] & 0x3ful), len = 3;
        else if (c >= 0xc0 && i + 1 < n)
            cp = ((c & 31ul) << 6) | (s[i + 1] & 0x3ful), len = 2;
        i += len;
        if (cp == '"' || cp == '\\') {
            template_buf_addc(b, '\\');
            template_buf_addc(b, (char)cp);
        } else if (cp == '\n' || cp == '\r' || cp == '\t' || cp == '\b' || cp == '\f') {
            template_buf_addc(b, '\\');
            template_buf_addc(b, "nrtbf"[strchr("\n\r\t\b\f", (int)cp) - "\n\r\t\b\f"]);
        } else if (cp < 0x20 || (cp >= 0x7f && cp < 0x10000)) {
            snprintf(u, sizeof(u), "\\u%04lx", cp);
            template_buf_adds(b, u);
        } else if (cp >= 0x10000) {
            cp -= 0x10000;
            snprintf(u, sizeof(u), "\\u%04lx\\u%04lx", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
            template_buf_adds(b, u);
        } else {
            template_buf_addc(b, (char)cp);
        }
    }
    template_buf_addc(b, '"');
}

static void tval_json(struct template_buf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        tval_json_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_TRUE:
        template_buf_adds(b, "true");
        break;
    case JSON_FALSE:
        template_buf_adds(b, "false");
        break;
    case JSON_NULL:
        template_buf_adds(b, "null");
        break;
    case JSON_REAL:
        if (isinf(json_real_value(v)))
            template_buf_adds(b, json_real_value(v) < 0 ? "-Infinity" : "Infinity");
        else if (isnan(json_real_value(v)))
            template_buf_adds(b, "NaN");
        else
            tval_float(b, json_real_value(v));
        break;
    case JSON_INTEGER:
        tval_str(b, v);
        break;
    case JSON_ARRAY:
    case JSON_OBJECT:
        tval_container(b, v, tval_json, tval_json_string);
        break;
    }
}

void tval_json_encode(struct template_buf *b, const json_t *v)
{
    struct template_buf j = {0};
    tval_json(&j, v);
    for (size_t i = 0; i < j.len; i++) {
        if (j.s[i] == '<' && i + 1 < j.len && j.s[i + 1] == '/') {
            template_buf_add(b, "<\\/", 3);
            i++;
        } else {
            template_buf_addc(b, j.s[i]);
        }
    }
    template_buf_free(&j);
}
