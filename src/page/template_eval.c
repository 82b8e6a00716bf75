/*
 * template_eval.c - evaluating a compiled expression against a render's
 * variables and context, with Python's semantics for the values JSON has
 * (ints, floats, str, list, dict, bool, None), and the fixed set of
 * functions and methods the compiler allowed.
 *
 * Every value returned is a new reference (texpr_value: or borrowed); NULL
 * means an error was set. The functions and methods are template_funcs.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page/template_impl.h"

/* a[0..n) == b[0..n): keys and names are short, a call to memcmp costs more */
static inline int teval_same(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* teval_name's way when no loop variable has the name. */
__attribute__((noinline)) static json_t *teval_global(struct trender *r, const struct texpr *e)
{
    json_t *v = json_object_size(r->vars) ? json_object_getn(r->vars, e->name, e->nlen) : NULL;
    if (v == NULL && r->ctx != NULL)
        v = json_object_getn(r->ctx, e->name, e->nlen);
    if (v == NULL && r->funcs->global != NULL)
        v = r->funcs->global(r->env->ud, e->name, e->nlen);
    if (v == NULL)
        return trender_fail(r, "NameError: name '%s' is not defined", e->name);
    return v;
}

/* teval_slot for names longer than a word. */
__attribute__((noinline)) static struct tslot *teval_slot_long(struct trender *r,
                                                               const struct texpr *e)
{
    for (size_t i = r->nslots; i-- > r->slot_base;) {
        struct tslot *sl = &r->slots[i];
        if (tname_same(sl->name, sl->len, sl->word, e->name, e->nlen, e->word) && sl->value &&
            !sl->shadowed)
            return sl;
    }
    return NULL;
}

/* The loop variable that name e is, or NULL. No call in the loop: the
 * callers stay small, without registers to save. */
static inline struct tslot *teval_slot(struct trender *r, const struct texpr *e)
{
    for (size_t i = r->nslots; i-- > r->slot_base;) {
        struct tslot *sl = &r->slots[i];
        if (sl->word == e->word && sl->len == e->nlen && sl->value && !sl->shadowed)
            return e->nlen <= 8 ? sl : teval_slot_long(r, e);
    }
    return NULL;
}

/* The value of name e (borrowed): from the variables or the context. *slot
 * is the loop variable that holds it, or NULL. */
static inline json_t *teval_name(struct trender *r, const struct texpr *e, struct tslot **slot)
{
    if ((*slot = teval_slot(r, e)) != NULL)
        return (*slot)->value;
    return teval_global(r, e);
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

/* The keys of a loop variable's object, in the object's order (see struct
 * tslot); nview -2 when the value is no object or has too many keys. */
__attribute__((noinline)) static void teval_view(struct tslot *sl)
{
    json_t *obj = sl->value;
    int n = 0;
    sl->nview = -2;
    if (!json_is_object(obj))
        return;
    for (void *it = json_object_iter(obj); it != NULL; it = json_object_iter_next(obj, it)) {
        if (n == TSLOT_VIEW_MAX)
            return;
        struct tslot_key *k = &sl->view[n++];
        k->key = json_object_iter_key(it);
        k->len = json_object_iter_key_len(it);
        k->word = tname_word(k->key, k->len);
        k->value = json_object_iter_value(it);
    }
    sl->nview = n;
}

/* teval_slot_key's way when the key is not at its usual place. */
__attribute__((noinline)) static json_t *teval_slot_find(const struct texpr *e, struct tslot *sl,
                                                         const struct texpr *k)
{
    if (sl->nview == -1)
        teval_view(sl);
    if (sl->nview == -2)
        return json_is_object(sl->value) ? teval_key(e, sl->value, k->str, k->nlen) : NULL;
    for (int i = 0; i < sl->nview; i++) {
        if (tname_same(sl->view[i].key, sl->view[i].len, sl->view[i].word, k->str, k->nlen,
                       k->word)) {
            ((struct texpr *)e)->hint = (unsigned)i; /* see struct texpr */
            return sl->view[i].value;
        }
    }
    return NULL;
}

/* Key k (a name or a constant string) of loop variable sl's value, borrowed;
 * NULL when it has none (or is no object: teval_subscript says which). The
 * key's position is remembered in e->hint, as teval_key does. */
static inline json_t *teval_slot_key(const struct texpr *e, struct tslot *sl, const struct texpr *k)
{
    int h = (int)e->hint; /* below TSLOT_VIEW_MAX and TEVAL_HINT_MAX */
    if (h < sl->nview &&
        tname_same(sl->view[h].key, sl->view[h].len, sl->view[h].word, k->str, k->nlen, k->word))
        return sl->view[h].value;
    return teval_slot_find(e, sl, k);
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

/* A float result: JSON has no inf or nan, so where Python would make one
 * (1e308 * 10, 7 ** 2100.0) the render fails with Python's OverflowError. */
static json_t *teval_real(struct trender *r, double d)
{
    if (!isfinite(d))
        return trender_fail(r, "OverflowError: float result out of range");
    return json_real(d);
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
        return teval_real(r, pow((double)a, (double)b));
    }
    return NULL;
}

static json_t *teval_float_op(struct trender *r, int op, double a, double b)
{
    switch (op) {
    case TO_ADD:
        return teval_real(r, a + b);
    case TO_SUB:
        return teval_real(r, a - b);
    case TO_MUL:
        return teval_real(r, a * b);
    case TO_DIV:
        if (b == 0)
            return trender_fail(r, "ZeroDivisionError: division by zero");
        return teval_real(r, a / b);
    case TO_FLOORDIV:
    case TO_MOD: {
        if (b == 0)
            return trender_fail(r, "ZeroDivisionError: float modulo");
        double m = fmod(a, b);
        if (m != 0 && ((m < 0) != (b < 0)))
            m += b;
        return teval_real(r, op == TO_MOD ? m : floor((a - m) / b + 0.5));
    }
    case TO_POW:
        return teval_real(r, pow(a, b));
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

/* texpr_value's way for all but the common cases (see there). */
__attribute__((noinline)) static json_t *texpr_value_other(struct trender *r, const struct texpr *e,
                                                           int *owned)
{
    json_t *a, *b, *v;
    struct tslot *sl;
    int ao, bo, t;
    switch (e->kind) {
    case TE_CONST:
        *owned = 0;
        return e->value;
    case TE_NAME:
        *owned = 0;
        return teval_name(r, e, &sl);
    case TE_ATTR:
        if (e->args[0]->kind == TE_NAME) { /* row.name */
            if ((a = teval_name(r, e->args[0], &sl)) == NULL)
                return NULL;
            ao = 0;
            v = sl                  ? teval_slot_key(e, sl, e)
                : json_is_object(a) ? teval_key(e, a, e->name, e->nlen)
                                    : NULL;
        } else {
            if ((a = texpr_value(r, e->args[0], &ao)) == NULL)
                return NULL;
            v = json_is_object(a) ? teval_key(e, a, e->name, e->nlen) : NULL;
        }
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
            if ((a = teval_name(r, e->args[0], &sl)) == NULL)
                return NULL;
            *owned = 0;
            if (sl != NULL
                    ? (v = teval_slot_key(e, sl, e->args[1])) != NULL
                    : json_is_object(a) && (v = teval_key(e, a, e->args[1]->str, e->args[1]->nlen)))
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

/* The value of e either borrowed (*owned = 0: from the context, the
 * variables or the compiled constants, which outlive the expression) or a
 * new reference (*owned = 1). Most values a page prints are borrowed: no
 * reference counting (atomic) on the hot path. */
json_t *texpr_value(struct trender *r, const struct texpr *e, int *owned)
{
    /* the common cases in a small frame: a constant, a name, a loop
     * variable's row["key"]; texpr_value_other does the rest, and these
     * again when they fail (to say why) */
    struct tslot *sl;
    json_t *v;
    *owned = 0;
    switch (e->kind) {
    case TE_CONST:
        return e->value;
    case TE_NAME:
        return teval_name(r, e, &sl);
    case TE_INDEX:
    case TE_ATTR:
        if (e->rowkey && (sl = teval_slot(r, e->args[0])) != NULL &&
            (v = teval_slot_key(e, sl, e->kind == TE_ATTR ? e : e->args[1])) != NULL)
            return v;
        break;
    default:
        break;
    }
    return texpr_value_other(r, e, owned);
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
