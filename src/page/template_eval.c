/*
 * template_eval.c - evaluating a compiled expression against a render's
 * variables and context, with Python's semantics for the values JSON has
 * (ints, floats, str, list, dict, bool, None), and the fixed set of
 * functions and methods the compiler allowed.
 *
 * Every value returned is a new reference; NULL means an error was set.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page/template_impl.h"

#define TEVAL_MAX_ITEMS 1000000 /* range() and repetition: a typo must not eat the worker */

/* The text b made, as a value (b is emptied). Not checked as UTF-8: what a
 * function makes of valid text (an entity of a lone surrogate, say) is
 * written out as it is rather than failing without a reason. */
static json_t *teval_string(struct template_buf *b)
{
    json_t *v = json_stringn_nocheck(b->s ? b->s : "", b->len);
    template_buf_free(b);
    return v;
}

/* Code points in UTF-8 s[0..n). */
static size_t teval_ulen(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

/* The byte offset of code point i in s[0..n). */
static size_t teval_uoff(const char *s, size_t n, size_t i)
{
    size_t off = 0;
    while (off < n && i > 0) {
        off++;
        while (off < n && ((unsigned char)s[off] & 0xc0) == 0x80)
            off++;
        i--;
    }
    return off;
}

static int teval_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int teval_is_int(const json_t *v)
{
    return json_is_integer(v) || json_is_boolean(v);
}

static json_int_t teval_int(const json_t *v)
{
    return json_is_integer(v) ? json_integer_value(v) : json_is_true(v);
}

static int teval_is_num(const json_t *v)
{
    return teval_is_int(v) || json_is_real(v);
}

static double teval_num(const json_t *v)
{
    return json_is_real(v) ? json_real_value(v) : (double)teval_int(v);
}

/* a[0..n) == b[0..n): keys and names are short, a call to memcmp costs more */
static inline int teval_same(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* Borrowed: from the variables or the context. */
static json_t *teval_lookup(struct trender *r, const char *name, size_t len)
{
    for (size_t i = r->nslots; i-- > r->slot_base;) {
        struct tslot *sl = &r->slots[i];
        if (sl->len == len && sl->value && !sl->shadowed && teval_same(sl->name, name, len))
            return sl->value;
    }
    json_t *v = json_object_size(r->vars) ? json_object_getn(r->vars, name, len) : NULL;
    if (v == NULL && r->ctx != NULL)
        v = json_object_getn(r->ctx, name, len);
    if (v == NULL)
        return trender_fail(r, "NameError: name '%s' is not defined", name);
    return v;
}

/* Python's index i (negative from the end) into n items; -1 outside. */
static long long teval_index(long long i, size_t n)
{
    if (i < 0)
        i += (long long)n;
    return i < 0 || i >= (long long)n ? -1 : i;
}

#define TEVAL_HINT_MAX 16 /* keys walked past at most before hashing */

/* obj[key] (borrowed), trying the key's position in the last object first
 * (e->hint), then the first TEVAL_HINT_MAX keys (and remembering where it
 * was), then the hash table. */
static json_t *teval_key(const struct texpr *e, json_t *obj, const char *key, size_t len)
{
    void *it = json_object_iter(obj);
    for (unsigned i = 0; it != NULL && i < e->hint; i++)
        it = json_object_iter_next(obj, it);
    if (it != NULL) {
        const char *k = json_object_iter_key(it);
        if (teval_same(k, key, len) && k[len] == '\0')
            return json_object_iter_value(it);
    }
    it = json_object_iter(obj);
    for (unsigned i = 0; it != NULL && i < TEVAL_HINT_MAX; i++) {
        const char *k = json_object_iter_key(it);
        if (teval_same(k, key, len) && k[len] == '\0') {
            ((struct texpr *)e)->hint = i; /* see struct texpr */
            return json_object_iter_value(it);
        }
        it = json_object_iter_next(obj, it);
    }
    return json_object_getn(obj, key, len);
}

/* base[key]: borrowed from base, but for a string's character (*owned). */
static json_t *teval_subscript(struct trender *r, json_t *base, json_t *key, int *owned)
{
    *owned = 0;
    if (json_is_object(base)) {
        if (!json_is_string(key))
            return trender_fail(r, "KeyError: keys are strings, not %s", tval_type(key));
        json_t *v = json_object_getn(base, json_string_value(key), json_string_length(key));
        if (v == NULL)
            return trender_fail(r, "KeyError: '%s'", json_string_value(key));
        return v;
    }
    if (!teval_is_int(key))
        return trender_fail(r, "TypeError: %s indices must be integers, not %s", tval_type(base),
                            tval_type(key));
    if (json_is_array(base)) {
        long long i = teval_index(teval_int(key), json_array_size(base));
        if (i < 0)
            return trender_fail(r, "IndexError: list index out of range");
        return json_array_get(base, (size_t)i);
    }
    if (json_is_string(base)) {
        const char *s = json_string_value(base);
        size_t n = json_string_length(base);
        long long i = teval_index(teval_int(key), teval_ulen(s, n));
        if (i < 0)
            return trender_fail(r, "IndexError: string index out of range");
        size_t a = teval_uoff(s, n, (size_t)i), b = teval_uoff(s, n, (size_t)i + 1);
        *owned = 1;
        return json_stringn_nocheck(s + a, b - a);
    }
    return trender_fail(r, "TypeError: '%s' object is not subscriptable", tval_type(base));
}

static long long teval_clamp(const json_t *v, long long dflt, size_t n)
{
    if (v == NULL || json_is_null(v))
        return dflt;
    long long i = teval_int(v);
    if (i < 0)
        i += (long long)n;
    return i < 0 ? 0 : i > (long long)n ? (long long)n : i;
}

static json_t *teval_slice(struct trender *r, json_t *base, json_t *lo, json_t *hi)
{
    if ((lo && !teval_is_int(lo) && !json_is_null(lo)) ||
        (hi && !teval_is_int(hi) && !json_is_null(hi)))
        return trender_fail(r, "TypeError: slice indices must be integers");
    if (json_is_array(base)) {
        size_t n = json_array_size(base);
        long long a = teval_clamp(lo, 0, n), b = teval_clamp(hi, (long long)n, n);
        json_t *out = json_array();
        for (long long i = a; i < b; i++)
            json_array_append(out, json_array_get(base, (size_t)i));
        return out;
    }
    if (json_is_string(base)) {
        const char *s = json_string_value(base);
        size_t n = json_string_length(base), u = teval_ulen(s, n);
        long long a = teval_clamp(lo, 0, u), b = teval_clamp(hi, (long long)u, u);
        if (b <= a)
            return json_string("");
        size_t x = teval_uoff(s, n, (size_t)a), y = teval_uoff(s, n, (size_t)b);
        return json_stringn_nocheck(s + x, y - x);
    }
    return trender_fail(r, "TypeError: '%s' object is not subscriptable", tval_type(base));
}

static json_t *teval_repeat(struct trender *r, json_t *seq, json_int_t times)
{
    size_t n = json_is_string(seq) ? json_string_length(seq) : json_array_size(seq);
    if (times > 0 && n * (size_t)times > TEVAL_MAX_ITEMS * 10)
        return trender_fail(r, "MemoryError: repetition too large");
    if (json_is_string(seq)) {
        struct template_buf b = {0};
        for (json_int_t i = 0; i < times; i++)
            template_buf_add(&b, json_string_value(seq), n);
        return teval_string(&b);
    }
    json_t *out = json_array();
    for (json_int_t i = 0; i < times; i++)
        json_array_extend(out, seq);
    return out;
}

static json_t *teval_int_op(struct trender *r, int op, json_int_t a, json_int_t b)
{
    json_int_t v;
    switch (op) {
    case TO_ADD:
        if (__builtin_add_overflow(a, b, &v))
            return trender_fail(r, "OverflowError: integer too large");
        return json_integer(v);
    case TO_SUB:
        if (__builtin_sub_overflow(a, b, &v))
            return trender_fail(r, "OverflowError: integer too large");
        return json_integer(v);
    case TO_MUL:
        if (__builtin_mul_overflow(a, b, &v))
            return trender_fail(r, "OverflowError: integer too large");
        return json_integer(v);
    case TO_FLOORDIV:
    case TO_MOD:
        if (b == 0)
            return trender_fail(r, "ZeroDivisionError: integer division or modulo by zero");
        if (b == -1)
            return json_integer(op == TO_MOD ? 0 : -a);
        v = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0)))
            v--;
        return json_integer(op == TO_FLOORDIV ? v : a - v * b);
    case TO_POW:
        if (b >= 0) {
            json_int_t p = 1;
            for (json_int_t i = 0; i < b; i++)
                if (__builtin_mul_overflow(p, a, &p))
                    return trender_fail(r, "OverflowError: integer too large");
            return json_integer(p);
        }
        return json_real(pow((double)a, (double)b));
    }
    return NULL;
}

static json_t *teval_float_op(struct trender *r, int op, double a, double b)
{
    switch (op) {
    case TO_ADD:
        return json_real(a + b);
    case TO_SUB:
        return json_real(a - b);
    case TO_MUL:
        return json_real(a * b);
    case TO_DIV:
        if (b == 0)
            return trender_fail(r, "ZeroDivisionError: division by zero");
        return json_real(a / b);
    case TO_FLOORDIV:
    case TO_MOD: {
        if (b == 0)
            return trender_fail(r, "ZeroDivisionError: float modulo");
        double m = fmod(a, b);
        if (m != 0 && ((m < 0) != (b < 0)))
            m += b;
        return json_real(op == TO_MOD ? m : floor((a - m) / b + 0.5));
    }
    case TO_POW:
        return json_real(pow(a, b));
    }
    return NULL;
}

static json_t *teval_binary(struct trender *r, int op, json_t *a, json_t *b)
{
    static const char *const names[] = {"+", "-", "*", "/", "//", "%", "**"};
    if (teval_is_int(a) && teval_is_int(b) && op != TO_DIV)
        return teval_int_op(r, op, teval_int(a), teval_int(b));
    if (teval_is_num(a) && teval_is_num(b))
        return teval_float_op(r, op, teval_num(a), teval_num(b));
    if (op == TO_ADD && json_is_string(a) && json_is_string(b)) {
        struct template_buf s = {0};
        template_buf_add(&s, json_string_value(a), json_string_length(a));
        template_buf_add(&s, json_string_value(b), json_string_length(b));
        return teval_string(&s);
    }
    if (op == TO_ADD && json_is_array(a) && json_is_array(b)) {
        json_t *out = json_copy(a);
        json_array_extend(out, b);
        return out;
    }
    if (op == TO_MUL && teval_is_int(b) && (json_is_string(a) || json_is_array(a)))
        return teval_repeat(r, a, teval_int(b));
    if (op == TO_MUL && teval_is_int(a) && (json_is_string(b) || json_is_array(b)))
        return teval_repeat(r, b, teval_int(a));
    return trender_fail(r, "TypeError: unsupported operand type(s) for %s: '%s' and '%s'",
                        names[op], tval_type(a), tval_type(b));
}

static int teval_contains(const json_t *hay, const json_t *x)
{
    if (json_is_object(hay))
        return json_is_string(x) && json_object_get(hay, json_string_value(x)) != NULL;
    if (json_is_array(hay)) {
        for (size_t i = 0; i < json_array_size(hay); i++)
            if (tval_equal(json_array_get(hay, i), x))
                return 1;
        return 0;
    }
    if (json_is_string(hay) && json_is_string(x))
        return memmem(json_string_value(hay), json_string_length(hay), json_string_value(x),
                      json_string_length(x)) != NULL;
    return -1;
}

/* One comparison; -1 after an error. */
static int teval_cmp1(struct trender *r, int op, json_t *a, json_t *b)
{
    static const char *const names[] = {"<", "<=", ">", ">="};
    int c;
    switch (op) {
    case TO_EQ:
        return tval_equal(a, b);
    case TO_NE:
        return !tval_equal(a, b);
    case TO_IS:
    case TO_ISNOT:
        c = a == b || (json_typeof(a) == json_typeof(b) && (json_is_null(a) || json_is_boolean(a)));
        return op == TO_IS ? c : !c;
    case TO_IN:
    case TO_NOTIN:
        c = teval_contains(b, a);
        if (c < 0) {
            trender_fail(r, "TypeError: argument of type '%s' is not iterable", tval_type(b));
            return -1;
        }
        return op == TO_IN ? c : !c;
    }
    c = tval_compare(a, b);
    if (c == -2) {
        trender_fail(r, "TypeError: '%s' not supported between instances of '%s' and '%s'",
                     names[op - TO_LT], tval_type(a), tval_type(b));
        return -1;
    }
    return op == TO_LT ? c < 0 : op == TO_LE ? c <= 0 : op == TO_GT ? c > 0 : c >= 0;
}

json_t *texpr_value(struct trender *r, const struct texpr *e, int *owned);
static void teval_drop(json_t *v, int owned);

static json_t *teval_cmp(struct trender *r, const struct texpr *e)
{
    int ao, bo;
    json_t *a = texpr_value(r, e->args[0], &ao);
    int res = 1;
    for (size_t i = 1; a != NULL && i < e->nargs && res == 1; i++) {
        json_t *b = texpr_value(r, e->args[i], &bo);
        res = b ? teval_cmp1(r, e->ops[i - 1], a, b) : -1;
        teval_drop(a, ao);
        a = b;
        ao = bo;
    }
    if (a != NULL)
        teval_drop(a, ao);
    return a == NULL || res < 0 ? NULL : json_boolean(res);
}

/* Evaluate every argument: positional ones at their place, keywords at the
 * place `kwnames` gives them. Returns 0, or -1 after an error (all freed). */
static int teval_args(struct trender *r, const struct texpr *e, json_t **argv, size_t max,
                      const char *const *kwnames)
{
    size_t pos = 0;
    memset(argv, 0, max * sizeof(*argv));
    for (size_t i = 0; i < e->nargs; i++) {
        size_t at = pos++;
        if (e->kw && e->kw[i]) {
            for (at = 0; kwnames && kwnames[at] && strcmp(kwnames[at], e->kw[i]); at++)
                ;
            if (!kwnames || !kwnames[at]) {
                trender_fail(r, "TypeError: unexpected keyword argument '%s'", e->kw[i]);
                goto fail;
            }
        }
        if (at >= max) {
            trender_fail(r, "TypeError: %s takes at most %zu arguments", e->name, max);
            goto fail;
        }
        json_decref(argv[at]);
        if ((argv[at] = texpr_eval(r, e->args[i])) == NULL)
            goto fail;
    }
    return 0;
fail:
    for (size_t i = 0; i < max; i++)
        json_decref(argv[i]);
    return -1;
}

json_t *teval_call(struct trender *r, const struct texpr *e);
json_t *teval_method(struct trender *r, const struct texpr *e);

static json_t *teval_collection(struct trender *r, const struct texpr *e)
{
    json_t *out = e->kind == TE_DICT ? json_object() : json_array();
    for (size_t i = 0; i < e->nargs; i++) {
        json_t *v = texpr_eval(r, e->args[i]);
        if (v == NULL)
            goto fail;
        if (e->kind == TE_LIST) {
            json_array_append_new(out, v);
            continue;
        }
        json_t *val = texpr_eval(r, e->args[++i]);
        if (val == NULL || !json_is_string(v)) {
            if (val != NULL)
                trender_fail(r, "TypeError: dict keys are strings here, not %s", tval_type(v));
            json_decref(v);
            json_decref(val);
            goto fail;
        }
        json_object_set_new(out, json_string_value(v), val);
        json_decref(v);
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

static json_t *teval_unary(struct trender *r, const struct texpr *e)
{
    json_t *a = texpr_eval(r, e->args[0]), *v = NULL;
    if (a == NULL)
        return NULL;
    if (e->kind == TE_NOT)
        v = json_boolean(!tval_truthy(a));
    else if (teval_is_int(a))
        v = json_integer(e->kind == TE_NEG ? -teval_int(a) : teval_int(a));
    else if (json_is_real(a))
        v = json_real(e->kind == TE_NEG ? -json_real_value(a) : json_real_value(a));
    else
        trender_fail(r, "TypeError: bad operand type for unary %c: '%s'",
                     e->kind == TE_NEG ? '-' : '+', tval_type(a));
    json_decref(a);
    return v;
}

static void teval_drop(json_t *v, int owned)
{
    if (owned)
        json_decref(v);
}

/* The value of e either borrowed (*owned = 0: from the context, the
 * variables or the compiled constants, which outlive the expression) or a
 * new reference (*owned = 1). Most values a page prints are borrowed: no
 * reference counting (atomic) on the hot path. */
json_t *texpr_value(struct trender *r, const struct texpr *e, int *owned)
{
    json_t *a, *b, *v;
    int ao, bo, t;
    switch (e->kind) {
    case TE_CONST:
        *owned = 0;
        return e->value;
    case TE_NAME:
        *owned = 0;
        return teval_lookup(r, e->name, e->nlen);
    case TE_ATTR:
        if ((a = texpr_value(r, e->args[0], &ao)) == NULL)
            return NULL;
        v = json_is_object(a) ? teval_key(e, a, e->name, e->nlen) : NULL;
        if (v == NULL)
            trender_fail(r, "AttributeError: '%s' object has no attribute '%s'", tval_type(a),
                         e->name);
        else if (ao)
            json_incref(v); /* outlives its container */
        teval_drop(a, ao);
        *owned = ao;
        return v;
    case TE_INDEX:
        if (e->args[0]->kind == TE_NAME && e->args[1]->kind == TE_CONST &&
            json_is_string(e->args[1]->value)) { /* row["name"]: the common case */
            if ((a = teval_lookup(r, e->args[0]->name, e->args[0]->nlen)) == NULL)
                return NULL;
            *owned = 0;
            if (json_is_object(a) &&
                (v = teval_key(e, a, json_string_value(e->args[1]->value), e->args[1]->nlen)))
                return v;
            return teval_subscript(r, a, e->args[1]->value, owned);
        }
        if ((a = texpr_value(r, e->args[0], &ao)) == NULL)
            return NULL;
        if ((b = texpr_value(r, e->args[1], &bo)) == NULL) {
            teval_drop(a, ao);
            return NULL;
        }
        v = teval_subscript(r, a, b, owned);
        if (v != NULL && ao && !*owned) {
            json_incref(v);
            *owned = 1;
        }
        teval_drop(a, ao);
        teval_drop(b, bo);
        return v;
    case TE_AND:
    case TE_OR:
        if ((a = texpr_value(r, e->args[0], &ao)) == NULL)
            return NULL;
        if (tval_truthy(a) == (e->kind == TE_OR)) {
            *owned = ao;
            return a;
        }
        teval_drop(a, ao);
        return texpr_value(r, e->args[1], owned);
    case TE_COND:
        if ((t = texpr_truth(r, e->args[0])) < 0)
            return NULL;
        return texpr_value(r, e->args[t ? 1 : 2], owned);
    case TE_BINARY:
        *owned = 1;
        if ((a = texpr_value(r, e->args[0], &ao)) == NULL)
            return NULL;
        if ((b = texpr_value(r, e->args[1], &bo)) == NULL) {
            teval_drop(a, ao);
            return NULL;
        }
        v = teval_binary(r, e->ops[0], a, b);
        teval_drop(a, ao);
        teval_drop(b, bo);
        return v;
    default:
        *owned = 1;
        return texpr_eval(r, e);
    }
}

int texpr_truth(struct trender *r, const struct texpr *e)
{
    int ao, bo, t;
    if (e->kind == TE_BINARY && e->ops[0] >= TO_ADD && e->ops[0] <= TO_MOD && e->ops[0] != TO_DIV) {
        /* i % 2 and the like: the int is only tested, never made */
        json_t *a = texpr_value(r, e->args[0], &ao), *b;
        if (a == NULL)
            return -1;
        if ((b = texpr_value(r, e->args[1], &bo)) == NULL) {
            teval_drop(a, ao);
            return -1;
        }
        json_int_t x = json_is_integer(a) ? json_integer_value(a) : 0;
        json_int_t y = json_is_integer(b) ? json_integer_value(b) : 0, z;
        int fast = json_is_integer(a) && json_is_integer(b) && y != 0 && y != -1;
        if (fast) {
            switch (e->ops[0]) {
            case TO_ADD:
                fast = !__builtin_add_overflow(x, y, &z);
                break;
            case TO_SUB:
                fast = !__builtin_sub_overflow(x, y, &z);
                break;
            case TO_MUL:
                fast = !__builtin_mul_overflow(x, y, &z);
                break;
            case TO_MOD:
                z = x % y; /* Python's sign rule does not change whether it is 0 */
                break;
            default: /* floor division: 0 exactly when |x| < |y| and signs agree, or x == 0 */
                z = x / y - ((x % y != 0) && ((x < 0) != (y < 0)));
                break;
            }
        }
        json_t *v = fast ? NULL : teval_binary(r, e->ops[0], a, b);
        teval_drop(a, ao);
        teval_drop(b, bo);
        if (fast)
            return z != 0;
        if (v == NULL)
            return -1;
        t = tval_truthy(v);
        json_decref(v);
        return t;
    }
    json_t *v = texpr_value(r, e, &ao);
    if (v == NULL)
        return -1;
    t = tval_truthy(v);
    teval_drop(v, ao);
    return t;
}

json_t *texpr_eval(struct trender *r, const struct texpr *e)
{
    json_t *a, *b, *c, *v;
    int owned;
    switch (e->kind) {
    case TE_CONST:
    case TE_NAME:
    case TE_ATTR:
    case TE_INDEX:
    case TE_AND:
    case TE_OR:
    case TE_COND:
    case TE_BINARY:
        v = texpr_value(r, e, &owned);
        if (v != NULL && !owned)
            json_incref(v);
        return v;
    case TE_SLICE:
        a = texpr_eval(r, e->args[0]);
        b = a && e->args[1] ? texpr_eval(r, e->args[1]) : NULL;
        c = a && e->args[1] && !b ? NULL : a && e->args[2] ? texpr_eval(r, e->args[2]) : NULL;
        v = NULL;
        if (a && (b || !e->args[1]) && (c || !e->args[2]))
            v = teval_slice(r, a, b, c);
        json_decref(a);
        json_decref(b);
        json_decref(c);
        return v;
    case TE_CALL:
        return teval_call(r, e);
    case TE_METHOD:
        return teval_method(r, e);
    case TE_LIST:
    case TE_DICT:
        return teval_collection(r, e);
    case TE_NEG:
    case TE_POS:
    case TE_NOT:
        return teval_unary(r, e);
    case TE_CMP:
        return teval_cmp(r, e);
    }
    return NULL;
}

/* ---- the functions ---- */

static int teval_want_str(struct trender *r, json_t *v, const char *fn)
{
    if (v != NULL && json_is_string(v))
        return 0;
    trender_fail(r, "TypeError: %s() expects a string, not %s", fn, v ? tval_type(v) : "nothing");
    return -1;
}

static json_t *teval_minmax(struct trender *r, const struct texpr *e, json_t **argv, size_t n)
{
    json_t *items = n == 1 ? argv[0] : NULL, *best = NULL;
    if (n == 0 || (n == 1 && !json_is_array(items)))
        return trender_fail(r, "TypeError: %s() expects a list or several values", e->name);
    size_t count = items ? json_array_size(items) : n;
    for (size_t i = 0; i < count; i++) {
        json_t *x = items ? json_array_get(items, i) : argv[i];
        int c = best ? tval_compare(x, best) : 0;
        if (c == -2)
            return trender_fail(r, "TypeError: cannot compare %s and %s", tval_type(x),
                                tval_type(best));
        if (best == NULL || (e->fn == TF_MIN ? c < 0 : c > 0))
            best = x;
    }
    if (best == NULL)
        return trender_fail(r, "ValueError: %s() arg is an empty sequence", e->name);
    return json_incref(best);
}

static int teval_sort_cmp(const void *a, const void *b)
{
    int c = tval_compare(*(json_t *const *)a, *(json_t *const *)b);
    return c == -2 ? 0 : c;
}

static json_t *teval_builtin(struct trender *r, const struct texpr *e, json_t **argv, size_t n)
{
    struct template_buf b = {0};
    json_t *a = argv[0];
    switch (e->fn) {
    case TF_LEN:
        if (a && json_is_string(a))
            return json_integer(
                (json_int_t)teval_ulen(json_string_value(a), json_string_length(a)));
        if (a && (json_is_array(a) || json_is_object(a)))
            return json_integer(
                (json_int_t)(json_is_array(a) ? json_array_size(a) : json_object_size(a)));
        return trender_fail(r, "TypeError: object of type '%s' has no len()",
                            a ? tval_type(a) : "nothing");
    case TF_STR:
        if (a)
            tval_str(&b, a);
        return teval_string(&b);
    case TF_BOOL:
        return json_boolean(a && tval_truthy(a));
    case TF_INT:
    case TF_FLOAT:
        if (a == NULL)
            return e->fn == TF_INT ? json_integer(0) : json_real(0);
        if (json_is_string(a)) {
            char *end;
            double d = strtod(json_string_value(a), &end);
            if (end == json_string_value(a) || *end != '\0' ||
                (e->fn == TF_INT && strpbrk(json_string_value(a), ".eEn")))
                return trender_fail(r, "ValueError: invalid literal for %s(): '%s'", e->name,
                                    json_string_value(a));
            return e->fn == TF_INT ? json_integer((json_int_t)d) : json_real(d);
        }
        if (!teval_is_num(a))
            return trender_fail(r, "TypeError: %s() cannot convert %s", e->name, tval_type(a));
        return e->fn == TF_INT
                   ? json_integer(teval_is_int(a) ? teval_int(a) : (json_int_t)json_real_value(a))
                   : json_real(teval_num(a));
    case TF_ABS:
        if (a && teval_is_int(a))
            return json_integer(llabs(teval_int(a)));
        if (a && json_is_real(a))
            return json_real(fabs(json_real_value(a)));
        return trender_fail(r, "TypeError: bad operand type for abs()");
    case TF_MIN:
    case TF_MAX:
        return teval_minmax(r, e, argv, n);
    case TF_SORTED: {
        if (a == NULL || !json_is_array(a))
            return trender_fail(r, "TypeError: sorted() expects a list");
        size_t len = json_array_size(a);
        json_t **items = malloc((len + 1) * sizeof(*items)), *out = json_array();
        if (items == NULL)
            abort();
        for (size_t i = 0; i < len; i++)
            items[i] = json_array_get(a, i);
        qsort(items, len, sizeof(*items), teval_sort_cmp); /* mixed types: kept in place */
        for (size_t i = 0; i < len; i++)
            json_array_append(out, items[i]);
        free(items);
        return out;
    }
    case TF_RANGE: {
        for (size_t i = 0; i < n; i++)
            if (!teval_is_int(argv[i]))
                return trender_fail(r, "TypeError: range() expects integers");
        json_int_t lo = n > 1 ? teval_int(argv[0]) : 0, hi = n ? teval_int(argv[n > 1]) : 0,
                   step = n > 2 ? teval_int(argv[2]) : 1;
        if (step == 0)
            return trender_fail(r, "ValueError: range() arg 3 must not be zero");
        json_t *out = json_array();
        for (json_int_t i = lo; step > 0 ? i < hi : i > hi; i += step)
            if (json_array_size(out) >= TEVAL_MAX_ITEMS ||
                json_array_append_new(out, json_integer(i)) < 0) {
                json_decref(out);
                return trender_fail(r, "MemoryError: range() too long");
            }
        return out;
    }
    case TF_ENUMERATE: {
        if (a == NULL || !json_is_array(a))
            return trender_fail(r, "TypeError: enumerate() expects a list");
        json_int_t start = n > 1 && teval_is_int(argv[1]) ? teval_int(argv[1]) : 0;
        json_t *out = json_array();
        for (size_t i = 0; i < json_array_size(a); i++)
            json_array_append_new(out,
                                  json_pack("[IO]", start + (json_int_t)i, json_array_get(a, i)));
        return out;
    }
    default:
        break;
    }
    return NULL;
}

/* The functions on strings and the values Tornado's escape module takes. */
static json_t *teval_escape_fn(struct trender *r, const struct texpr *e, json_t **argv)
{
    struct template_buf b = {0};
    json_t *a = argv[0];
    if (e->fn == TF_JSON_ENCODE) {
        if (a == NULL)
            return trender_fail(r, "TypeError: json_encode() expects a value");
        tval_json_encode(&b, a);
        return teval_string(&b);
    }
    if (teval_want_str(r, a, e->name) < 0)
        return NULL;
    const char *s = json_string_value(a);
    size_t n = json_string_length(a);
    switch (e->fn) {
    case TF_XHTML_ESCAPE:
        tval_xhtml_escape(&b, s, n);
        break;
    case TF_XHTML_UNESCAPE:
        tval_xhtml_unescape(&b, s, n);
        break;
    case TF_URL_ESCAPE:
        tval_url_escape(&b, s, n, argv[1] == NULL || tval_truthy(argv[1]));
        break;
    case TF_LINKIFY:
        tval_linkify(&b, s, n);
        break;
    default:
        tval_squeeze(&b, s, n);
        break;
    }
    return teval_string(&b);
}

/* The functions of the template_funcs table: what needs gale. */
static json_t *teval_env_fn(struct trender *r, const struct texpr *e, json_t **argv, size_t n)
{
    const struct template_funcs *f = r->funcs;
    struct template_buf b = {0};
    struct template_err fe = {.msg = ""};
    int rc = -1;
    switch (e->fn) {
    case TF_STATIC_URL:
        if (teval_want_str(r, argv[0], e->name) < 0)
            return NULL;
        rc = f->static_url(r->env->ud, json_string_value(argv[0]), &b, &fe);
        break;
    case TF_XSRF_FORM_HTML:
        rc = f->xsrf_form_html(r->env->ud, &b, &fe);
        break;
    case TF_TRANSLATE:
        if (teval_want_str(r, argv[0], e->name) < 0 ||
            (argv[1] && teval_want_str(r, argv[1], e->name) < 0))
            return NULL;
        if (argv[1] && (argv[2] == NULL || !teval_is_int(argv[2])))
            return trender_fail(r, "TypeError: _(singular, plural, count) needs an int count");
        rc = f->translate(r->env->ud, json_string_value(argv[0]),
                          argv[1] ? json_string_value(argv[1]) : NULL,
                          argv[2] ? teval_int(argv[2]) : 1, &b, &fe);
        break;
    case TF_FORMAT_DATE:
        if (argv[0] == NULL || !teval_is_num(argv[0]))
            return trender_fail(r, "TypeError: format_date() expects seconds since the epoch");
        rc = f->format_date(r->env->ud, teval_num(argv[0]), argv[1] ? (int)teval_num(argv[1]) : 0,
                            argv[2] ? tval_truthy(argv[2]) : 1, argv[3] && tval_truthy(argv[3]),
                            argv[4] && tval_truthy(argv[4]), &b, &fe);
        break;
    default: { /* TF_REVERSE_URL */
        const char *args[16];
        struct template_buf parts[16];
        if (teval_want_str(r, argv[0], e->name) < 0)
            return NULL;
        for (size_t i = 1; i < n; i++) {
            memset(&parts[i], 0, sizeof(parts[i]));
            tval_str(&parts[i], argv[i]);
            args[i - 1] = parts[i].s ? parts[i].s : "";
        }
        rc = f->reverse_url(r->env->ud, json_string_value(argv[0]), args, n ? n - 1 : 0, &b, &fe);
        for (size_t i = 1; i < n; i++)
            template_buf_free(&parts[i]);
    }
    }
    if (rc < 0) {
        template_buf_free(&b);
        return trender_fail(r, "%s() failed: %s", e->name, fe.msg);
    }
    return teval_string(&b);
}

/* Template(name, k=v...): the named template rendered with only k=v... as
 * its context (as Tornado's TemplateModule, which sees the handler's
 * namespace and its arguments, not the caller's variables). */
static json_t *teval_template(struct trender *r, const struct texpr *e)
{
    json_t *name = e->nargs && !(e->kw && e->kw[0]) ? texpr_eval(r, e->args[0]) : NULL;
    if (name == NULL || !json_is_string(name)) {
        json_decref(name);
        return trender_fail(r, "TypeError: Template() expects a template's name first");
    }
    json_t *ctx = json_object();
    for (size_t i = 1; i < e->nargs; i++) {
        json_t *v = texpr_eval(r, e->args[i]);
        if (v == NULL || !e->kw || !e->kw[i]) {
            if (v != NULL)
                trender_fail(r, "TypeError: Template() takes keyword arguments after the name");
            json_decref(v), json_decref(ctx), json_decref(name);
            return NULL;
        }
        json_object_set_new(ctx, e->kw[i], v);
    }
    struct template_buf *saved = r->out, b = {0};
    json_t *vars = r->vars;
    size_t base = r->slot_base;
    r->out = &b;
    r->vars = json_object();
    r->slot_base = r->nslots; /* the caller's loop variables are not its own */
    int rc = trender_named(r, json_string_value(name), ctx);
    r->slot_base = base;
    json_decref(r->vars);
    r->vars = vars;
    r->out = saved;
    json_decref(ctx);
    json_decref(name);
    if (rc < 0) {
        template_buf_free(&b);
        return NULL;
    }
    return teval_string(&b);
}

json_t *teval_call(struct trender *r, const struct texpr *e)
{
    static const char *const date_kw[] = {"date",    "gmt_offset",  "relative",
                                          "shorter", "full_format", NULL};
    static const char *const url_kw[] = {"value", "plus", NULL};
    json_t *argv[16], *v;
    if (e->fn == TF_TEMPLATE)
        return teval_template(r, e);
    const char *const *kw = e->fn == TF_FORMAT_DATE  ? date_kw
                            : e->fn == TF_URL_ESCAPE ? url_kw
                                                     : NULL;
    if (teval_args(r, e, argv, 16, kw) < 0)
        return NULL;
    size_t n = 0;
    while (n < 16 && argv[n])
        n++;
    if (e->fn >= TF_STATIC_URL)
        v = teval_env_fn(r, e, argv, n);
    else if (e->fn >= TF_XHTML_ESCAPE)
        v = teval_escape_fn(r, e, argv);
    else
        v = teval_builtin(r, e, argv, n);
    for (size_t i = 0; i < 16; i++)
        json_decref(argv[i]);
    return v;
}

static json_t *teval_dict_method(struct trender *r, const struct texpr *e, json_t *d, json_t **argv)
{
    const char *k;
    json_t *x, *out;
    if (strcmp(e->name, "get") == 0) {
        if (argv[0] == NULL || !json_is_string(argv[0]))
            return trender_fail(r, "TypeError: get() expects a string key");
        x = json_object_get(d, json_string_value(argv[0]));
        return json_incref(x ? x : argv[1] ? argv[1] : json_null());
    }
    out = json_array();
    json_object_foreach(d, k, x)
    {
        if (e->name[0] == 'i')
            json_array_append_new(out, json_pack("[sO]", k, x));
        else if (e->name[0] == 'k')
            json_array_append_new(out, json_string(k));
        else
            json_array_append(out, x);
    }
    return out;
}

static json_t *teval_join(struct trender *r, json_t *sep, json_t *items)
{
    struct template_buf b = {0};
    if (items == NULL || !json_is_array(items))
        return trender_fail(r, "TypeError: join() expects a list");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *x = json_array_get(items, i);
        if (!json_is_string(x)) {
            template_buf_free(&b);
            return trender_fail(r, "TypeError: sequence item %zu: expected str, %s found", i,
                                tval_type(x));
        }
        if (i > 0)
            template_buf_add(&b, json_string_value(sep), json_string_length(sep));
        template_buf_add(&b, json_string_value(x), json_string_length(x));
    }
    return teval_string(&b);
}

static json_t *teval_split(json_t *str, json_t *sep)
{
    const char *s = json_string_value(str), *end = s + json_string_length(str);
    json_t *out = json_array();
    if (sep == NULL || json_is_null(sep) || json_string_length(sep) == 0) {
        while (s < end) {
            while (s < end && strchr(" \t\n\r\v\f", *s))
                s++;
            const char *w = s;
            while (s < end && !strchr(" \t\n\r\v\f", *s))
                s++;
            if (s > w)
                json_array_append_new(out, json_stringn_nocheck(w, (size_t)(s - w)));
        }
        return out;
    }
    size_t n = json_string_length(sep);
    for (;;) {
        const char *p = memmem(s, (size_t)(end - s), json_string_value(sep), n);
        json_array_append_new(out, json_stringn_nocheck(s, (size_t)((p ? p : end) - s)));
        if (p == NULL)
            return out;
        s = p + n;
    }
}

static json_t *teval_strip(const char *s, size_t n)
{
    size_t a = 0;
    while (a < n && strchr(" \t\n\r\v\f", s[a]))
        a++;
    while (n > a && strchr(" \t\n\r\v\f", s[n - 1]))
        n--;
    return json_stringn_nocheck(s + a, n - a);
}

static json_t *teval_str_method(struct trender *r, const struct texpr *e, json_t *str,
                                json_t **argv)
{
    const char *s = json_string_value(str), *m = e->name;
    size_t n = json_string_length(str);
    struct template_buf b = {0};
    if (strcmp(m, "join") == 0)
        return teval_join(r, str, argv[0]);
    if (strcmp(m, "split") == 0)
        return teval_split(str, argv[0]);
    if (strcmp(m, "startswith") == 0 || strcmp(m, "endswith") == 0) {
        if (teval_want_str(r, argv[0], m) < 0)
            return NULL;
        size_t k = json_string_length(argv[0]);
        return json_boolean(
            k <= n && memcmp(m[0] == 's' ? s : s + n - k, json_string_value(argv[0]), k) == 0);
    }
    if (strcmp(m, "replace") == 0) {
        if (teval_want_str(r, argv[0], m) < 0 || teval_want_str(r, argv[1], m) < 0)
            return NULL;
        json_t *parts = teval_split(str, argv[0]);
        json_t *v = json_string_length(argv[0]) ? teval_join(r, argv[1], parts) : json_incref(str);
        json_decref(parts);
        return v;
    }
    if (strcmp(m, "strip") == 0)
        return teval_strip(s, n);
    template_buf_grow(&b, n);
    memcpy(b.s, s, n);
    b.len = n;
    b.s[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        char c = b.s[i];
        int up =
            m[0] == 'u' || (m[0] != 'l' && (i == 0 || (m[0] == 't' && !teval_alpha(b.s[i - 1]))));
        b.s[i] = up ? (c >= 'a' && c <= 'z' ? c - 32 : c) : (c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    return teval_string(&b);
}

json_t *teval_method(struct trender *r, const struct texpr *e)
{
    json_t *argv[4], *v = NULL;
    json_t *base = texpr_eval(r, e->args[0]);
    if (base == NULL)
        return NULL;
    struct texpr call = *e;
    call.args++, call.nargs--;
    call.kw = e->kw ? e->kw + 1 : NULL;
    if (teval_args(r, &call, argv, 4, NULL) < 0) {
        json_decref(base);
        return NULL;
    }
    int dict_m = strchr("ikvg", e->name[0]) != NULL;
    if (json_is_object(base) && dict_m)
        v = teval_dict_method(r, e, base, argv);
    else if (json_is_string(base) && !dict_m)
        v = teval_str_method(r, e, base, argv);
    else
        trender_fail(r, "AttributeError: '%s' object has no attribute '%s'", tval_type(base),
                     e->name);
    for (size_t i = 0; i < 4; i++)
        json_decref(argv[i]);
    json_decref(base);
    return v;
}
