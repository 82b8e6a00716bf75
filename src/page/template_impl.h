/*
 * template_impl.h - the compiled form of a template, shared by the parser
 * (template_parse.c), the expression compiler (template_expr.c) and the
 * renderer (template_render.c). Not for users of the engine: template.h is.
 */
#ifndef GALE_TEMPLATE_IMPL_H
#define GALE_TEMPLATE_IMPL_H

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "page/template.h"

/* ---- expressions ---- */

enum texpr_kind {
    TE_CONST,  /* value */
    TE_NAME,   /* name */
    TE_ATTR,   /* args[0].name */
    TE_INDEX,  /* args[0][args[1]] */
    TE_SLICE,  /* args[0][args[1]:args[2]], either may be NULL */
    TE_CALL,   /* fn(args...), kw[i] names keyword arguments */
    TE_METHOD, /* args[0].name(args[1...]) */
    TE_LIST,   /* [args...] or a tuple */
    TE_DICT,   /* {args[0]: args[1], ...} */
    TE_NEG,    /* -args[0] */
    TE_POS,    /* +args[0] */
    TE_NOT,    /* not args[0] */
    TE_BINARY, /* args[0] op args[1] */
    TE_CMP,    /* args[0] ops[0] args[1] ops[1] args[2]... (Python's chains) */
    TE_AND,
    TE_OR,
    TE_COND, /* args[1] if args[0] else args[2] */
};

enum texpr_op {
    TO_ADD,
    TO_SUB,
    TO_MUL,
    TO_DIV,
    TO_FLOORDIV,
    TO_MOD,
    TO_POW,
    TO_EQ,
    TO_NE,
    TO_LT,
    TO_LE,
    TO_GT,
    TO_GE,
    TO_IN,
    TO_NOTIN,
    TO_IS,
    TO_ISNOT,
};

/* The functions a template may call: a fixed set, nothing else runs. */
enum texpr_fn {
    TF_NONE,
    TF_LEN,
    TF_STR,
    TF_INT,
    TF_FLOAT,
    TF_BOOL,
    TF_RANGE,
    TF_ENUMERATE,
    TF_ABS,
    TF_MIN,
    TF_MAX,
    TF_SORTED,
    TF_XHTML_ESCAPE, /* escape, xhtml_escape */
    TF_XHTML_UNESCAPE,
    TF_URL_ESCAPE,
    TF_JSON_ENCODE,
    TF_LINKIFY,
    TF_SQUEEZE,
    TF_STATIC_URL,
    TF_XSRF_FORM_HTML,
    TF_TRANSLATE, /* _ */
    TF_FORMAT_DATE,
    TF_REVERSE_URL,
    TF_TEMPLATE, /* Template(name, k=v): only in {% module %} */
};

struct texpr {
    enum texpr_kind kind;
    enum texpr_fn fn;
    json_t *value;   /* TE_CONST: owned */
    char *name;      /* TE_NAME, TE_ATTR, TE_METHOD; TE_CALL: the function's name */
    size_t nlen;     /* strlen(name), or the length of a TE_CONST string */
    const char *str; /* name, or a TE_CONST string's bytes (borrowed from value) */
    uint64_t word;   /* tname_word(str, nlen): compared before the bytes */
    /* TE_INDEX with a constant key, TE_ATTR: where the key was, in order, in
     * the last object looked in. Rows of a list mostly have their keys in
     * the same order: walking a few steps there beats hashing the key. A
     * hint written during renders, which run on the worker's one thread. */
    unsigned hint;
    /* TE_INDEX of a name by a constant string, TE_ATTR of a name: maybe a
     * loop variable's row["key"] (see struct tslot) */
    int rowkey;
    struct texpr **args;
    char **kw; /* TE_CALL: kw[i] is args[i]'s keyword, or NULL */
    int *ops;  /* TE_BINARY: ops[0]; TE_CMP: nargs - 1 of them */
    size_t nargs;
};

/* Compile src[0..len) as one expression. Returns NULL with a message in
 * what (what was expected, and where). */
struct texpr *texpr_compile(const char *src, size_t len, char *what, size_t whatsz);
/* The names `a` or `a, b` of a for loop's target, before " in ". */
void texpr_free(struct texpr *e);
enum texpr_fn texpr_fn_lookup(const char *name);

/* The first eight bytes of a name or key as one word, zero-padded: names
 * and keys are short, so two of the same length mostly compare in one step
 * (tname_same) instead of a loop over their bytes. */
static inline uint64_t tname_word(const char *s, size_t n)
{
    uint64_t w = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* two loads that may overlap, never a byte past s[n - 1] */
    uint32_t a, b;
    uint16_t c, d;
    if (n >= 8) {
        memcpy(&w, s, 8);
    } else if (n >= 4) {
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        w = a | (uint64_t)b << (8 * (n - 4));
    } else if (n >= 2) {
        memcpy(&c, s, 2);
        memcpy(&d, s + n - 2, 2);
        w = c | (uint64_t)d << (8 * (n - 2));
    } else if (n == 1) {
        w = (unsigned char)s[0];
    }
#else
    for (size_t i = 0; i < n && i < 8; i++)
        w |= (uint64_t)(unsigned char)s[i] << (8 * i);
#endif
    return w;
}

static inline int tname_same(const char *a, size_t alen, uint64_t aword, const char *b, size_t blen,
                             uint64_t bword)
{
    return alen == blen && aword == bword && (alen <= 8 || memcmp(a + 8, b + 8, alen - 8) == 0);
}

/* ---- nodes ---- */

enum tnode_kind {
    TN_TEXT,
    TN_EXPR,    /* {{ e }}, {% raw e %}, {% module e %} */
    TN_IF,      /* conds[i] -> bodies[i]; else: bodies[nconds] */
    TN_FOR,     /* for vars in e: body[0]; else body[1] */
    TN_WHILE,   /* while e: body[0]; else body[1] */
    TN_SET,     /* vars[0] = e (or vars[0], vars[1] = e) */
    TN_BLOCK,   /* {% block name %} */
    TN_INCLUDE, /* {% include name %} */
    TN_APPLY,   /* fn(body[0]) */
    TN_TRY,     /* body[0] except body[1] else body[2] finally body[3] */
    TN_BREAK,
    TN_CONTINUE,
};

struct tnode;

struct tbody {
    struct tnode **nodes;
    size_t n;
};

/* A text node's text is followed by this many readable bytes: short texts
 * are appended with a copy of this constant size (template_buf_add_text). */
#define TNODE_TEXT_PAD 32

struct tnode {
    enum tnode_kind kind;
    int line;
    int escape;     /* TN_EXPR: the template's autoescape (an enum texpr_fn, TF_NONE: none) */
    int raw;        /* TN_EXPR: never escaped */
    int has_except; /* TN_TRY */
    /* TN_TEXT: the text, whitespace filtered (and TNODE_TEXT_PAD zeros);
     * TN_BLOCK, TN_INCLUDE: the name */
    char *text;
    size_t len;
    struct texpr *e;
    struct texpr **conds; /* TN_IF */
    size_t nconds;
    struct tbody *bodies; /* TN_IF: nconds, + 1 with else; others: as above */
    size_t nbodies;
    char *vars[2]; /* TN_FOR, TN_SET: one or two names */
    int nvars;
    enum texpr_fn fn; /* TN_APPLY */
    const struct template *owner;
};

struct template
{
    char *name;
    char *parent; /* {% extends %}, resolved; NULL: none */
    struct tbody body;
    int autoescape; /* enum texpr_fn; TF_NONE after {% autoescape None %} */
    /* Every {% block %} in the file, nested ones too, and every {% include %},
     * in the order they open: the blocks of an included file take part in
     * the inheritance where it is included, as in Tornado. */
    struct tnode **blocks;
    size_t nblocks;
};

void tbody_free(struct tbody *b);

/* Append a text node's text: most are short, and their text is padded to
 * TNODE_TEXT_PAD readable bytes for a copy of that constant size. */
static inline void template_buf_add_text(struct template_buf *b, const struct tnode *n)
{
    if (n->len < TNODE_TEXT_PAD)
        template_buf_add_padded(b, n->text, n->len, TNODE_TEXT_PAD);
    else
        template_buf_add(b, n->text, n->len);
}

/* ---- values: Python's view of jansson values (template_value.c) ---- */

int tval_truthy(const json_t *v);
/* Append Python's str(v) / repr(v). */
void tval_str(struct template_buf *b, const json_t *v);
void tval_repr(struct template_buf *b, const json_t *v);
/* The decimal digits of v (any sign). */
void tval_int(struct template_buf *b, long long v);
/* Python's repr of a float. */
void tval_float(struct template_buf *b, double d);
/* The Python type name of v, for error messages. */
const char *tval_type(const json_t *v);
/* Python ==, and the order of two values (-2: not comparable). */
int tval_equal(const json_t *a, const json_t *b);
int tval_compare(const json_t *a, const json_t *b);

/* Tornado's escape functions, appending to b. */
void tval_xhtml_escape(struct template_buf *b, const char *s, size_t n);
void tval_xhtml_unescape(struct template_buf *b, const char *s, size_t n);
void tval_url_escape(struct template_buf *b, const char *s, size_t n, int plus);
void tval_squeeze(struct template_buf *b, const char *s, size_t n);
void tval_linkify(struct template_buf *b, const char *s, size_t n);
/* json.dumps(v) with "</" written "<\/", as Tornado's json_encode. */
void tval_json_encode(struct template_buf *b, const json_t *v);

/* ---- rendering ---- */

#define TEMPLATE_MAX_DEPTH 32 /* nested includes, modules and blocks */

#define TRENDER_MAX_SLOTS 16 /* loop variables of nested for loops, seen at once */

/* A for loop's variable while the loop runs: its value borrowed from the
 * list the loop holds, so that a row costs no hash table write and no
 * reference count. A {% set %} of the same name shadows it (the value is
 * then in vars) until the next iteration binds it again. */
#define TSLOT_VIEW_MAX 16 /* keys of a row seen as an array; bigger rows are hashed */

/* One key of a loop variable's object, as iterating the object gave it. */
struct tslot_key {
    uint64_t word; /* tname_word(key, len) */
    const char *key;
    size_t len;
    json_t *value; /* borrowed from the object */
};

struct tslot {
    const char *name;
    size_t len;
    uint64_t word; /* tname_word(name, len) */
    json_t *value; /* NULL before the first iteration */
    int shadowed;
    /* The keys of value when it is an object of at most TSLOT_VIEW_MAX keys,
     * taken at its first row["key"] (nview -1 until then; -2: not such an
     * object). A page reads several keys of each row: one walk of the object
     * in jansson, then each key found at its position (struct texpr's hint)
     * in one compare, instead of a hash or a walk per key. Valid while the
     * slot is bound: templates never change a value of the context, and the
     * loop holds the list that holds the row. */
    int nview;
    struct tslot_key view[TSLOT_VIEW_MAX];
};

/* One render in progress. */
struct trender {
    const struct template_env *env;
    const struct template_funcs *funcs;
    json_t *ctx;  /* borrowed: the caller's context */
    json_t *vars; /* owned: what {% set %} and {% for %} assign */
    struct template_buf *out;
    struct template_err *err;
    const struct template *const *chain; /* extends: the template first, its root last */
    size_t nchain;
    const struct template *cur; /* for error messages */
    int line;
    int depth;
    int flow;            /* TFLOW_* */
    unsigned long steps; /* nodes run: see TRENDER_MAX_STEPS */
    size_t nslots;
    size_t slot_base; /* a Template() sees only the slots from here up */
    /* last: slots[nslots..] are never read, and not cleared (9 KiB) */
    struct tslot slots[TRENDER_MAX_SLOTS];
};

enum { TFLOW_NONE, TFLOW_BREAK, TFLOW_CONTINUE };

/* Evaluate e: a new reference, or NULL after setting r->err. */
json_t *texpr_eval(struct trender *r, const struct texpr *e);
/* The same, borrowed when it can be (*owned = 0; else a new reference):
 * valid until the variables change. */
json_t *texpr_value(struct trender *r, const struct texpr *e, int *owned);
/* Whether e is true (Python's truth), or -1 after an error. */
int texpr_truth(struct trender *r, const struct texpr *e);
/* Render a template named by the current one (include, Template()). */
int trender_named(struct trender *r, const char *name, json_t *ctx);
/* The functions and methods a template may call (template_funcs.c). */
json_t *teval_call(struct trender *r, const struct texpr *e);
json_t *teval_method(struct trender *r, const struct texpr *e);

/* ---- small helpers of the evaluator and the functions ---- */

/* range() and repetition: a typo must not eat the worker */
#define TEVAL_MAX_ITEMS 1000000

/* The text b made, as a value (b is emptied). Not checked as UTF-8: what a
 * function makes of valid text (an entity of a lone surrogate, say) is
 * written out as it is rather than failing without a reason. */
static inline json_t *teval_string(struct template_buf *b)
{
    json_t *v = json_stringn_nocheck(b->s ? b->s : "", b->len);
    template_buf_free(b);
    return v;
}

/* Code points in UTF-8 s[0..n). */
static inline size_t teval_ulen(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

/* The byte offset of code point i in s[0..n). */
static inline size_t teval_uoff(const char *s, size_t n, size_t i)
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

static inline int teval_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int teval_is_int(const json_t *v)
{
    return json_is_integer(v) || json_is_boolean(v);
}

static inline json_int_t teval_int(const json_t *v)
{
    return json_is_integer(v) ? json_integer_value(v) : json_is_true(v);
}

static inline int teval_is_num(const json_t *v)
{
    return teval_is_int(v) || json_is_real(v);
}

static inline double teval_num(const json_t *v)
{
    return json_is_real(v) ? json_real_value(v) : (double)teval_int(v);
}

__attribute__((format(printf, 2, 3))) json_t *trender_fail(struct trender *r, const char *fmt, ...);

__attribute__((format(printf, 4, 5))) void
template_err_set(struct template_err *err, const char *file, int line, const char *fmt, ...);

#endif
