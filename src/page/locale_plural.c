/*
 * locale_plural.c - gettext's plural expressions: a recursive-descent
 * parser bounded in depth into a node array, and its evaluator.
 */
#include "page/locale_plural.h"

#include <ctype.h>
#include <string.h>

struct locale_plural_parser {
    struct locale_plural *p;
    const char *s, *end;
    int depth;
    const char *why;
};

static int locale_plural_ternary(struct locale_plural_parser *ps);

static void locale_plural_space(struct locale_plural_parser *ps)
{
    while (ps->s < ps->end && (*ps->s == ' ' || *ps->s == '\t' || *ps->s == '\n' || *ps->s == '\r'))
        ps->s++;
}

/* Consume token tok when it comes next (and, for a one-character
 * operator that is also the start of a longer one, only when not). */
static int locale_plural_eat(struct locale_plural_parser *ps, const char *tok)
{
    size_t len = strlen(tok);

    locale_plural_space(ps);
    if ((size_t)(ps->end - ps->s) < len || memcmp(ps->s, tok, len) != 0)
        return 0;
    if (len == 1 && ps->s + 1 < ps->end && ps->s[1] == '=' && strchr("<>!=", tok[0]))
        return 0;
    if (len == 1 && ps->s + 1 < ps->end && ps->s[1] == tok[0] && strchr("&|", tok[0]))
        return 0;
    ps->s += len;
    return 1;
}

static int locale_plural_node(struct locale_plural_parser *ps, unsigned char op, int a, int b,
                              int c, unsigned long value)
{
    struct locale_plural *p = ps->p;

    if (a < 0 || b < 0 || c < 0)
        return -1;
    if (p->nnodes >= LOCALE_PLURAL_MAX_NODES) {
        ps->why = "expression too long";
        return -1;
    }
    p->nodes[p->nnodes] = (struct locale_plural_node){op, (unsigned short)a, (unsigned short)b,
                                                      (unsigned short)c, value};
    return p->nnodes++;
}

static int locale_plural_enter(struct locale_plural_parser *ps)
{
    if (++ps->depth > LOCALE_PLURAL_MAX_DEPTH) {
        ps->why = "expression nested too deeply";
        return -1;
    }
    return 0;
}

static int locale_plural_primary(struct locale_plural_parser *ps)
{
    unsigned long v = 0;
    int r;

    locale_plural_space(ps);
    if (ps->s >= ps->end) {
        ps->why = "expression ends too early";
        return -1;
    }
    if (*ps->s == 'n' &&
        (ps->s + 1 >= ps->end || !(isalnum((unsigned char)ps->s[1]) || ps->s[1] == '_'))) {
        ps->s++;
        return locale_plural_node(ps, 'n', 0, 0, 0, 0);
    }
    if (isdigit((unsigned char)*ps->s)) {
        while (ps->s < ps->end && isdigit((unsigned char)*ps->s)) {
            if (v > 1000000000UL) {
                ps->why = "number too large";
                return -1;
            }
            v = v * 10 + (unsigned long)(*ps->s++ - '0');
        }
        return locale_plural_node(ps, '0', 0, 0, 0, v);
    }
    if (*ps->s == '(') {
        ps->s++;
        if (locale_plural_enter(ps) < 0)
            return -1;
        r = locale_plural_ternary(ps);
        ps->depth--;
        if (r >= 0 && !locale_plural_eat(ps, ")")) {
            ps->why = "expected )";
            return -1;
        }
        return r;
    }
    ps->why = "unexpected character (only n, numbers and C operators are allowed)";
    return -1;
}

static int locale_plural_unary(struct locale_plural_parser *ps)
{
    int r;

    if (!locale_plural_eat(ps, "!"))
        return locale_plural_primary(ps);
    if (locale_plural_enter(ps) < 0)
        return -1;
    r = locale_plural_node(ps, '~', locale_plural_unary(ps), 0, 0, 0);
    ps->depth--;
    return r;
}

/* The binary operators, by level from the loosest: each level's tokens
 * and the op codes the evaluator knows them by. */
static const struct {
    const char *tok[4];
    const char ops[4];
} locale_plural_levels[] = {
    {{"||"}, "|"},        {{"&&"}, "&"},
    {{"==", "!="}, "EN"}, {{"<=", ">=", "<", ">"}, "lg<>"},
    {{"+", "-"}, "+-"},   {{"*", "/", "%"}, "*/%"},
};
#define LOCALE_PLURAL_LEVELS (sizeof(locale_plural_levels) / sizeof(locale_plural_levels[0]))

static int locale_plural_binary(struct locale_plural_parser *ps, size_t level)
{
    int left, matched;

    if (level == LOCALE_PLURAL_LEVELS)
        return locale_plural_unary(ps);
    left = locale_plural_binary(ps, level + 1);
    do {
        matched = 0;
        for (size_t t = 0; left >= 0 && t < 4 && locale_plural_levels[level].tok[t]; t++)
            if (locale_plural_eat(ps, locale_plural_levels[level].tok[t])) {
                int right = locale_plural_binary(ps, level + 1);
                left = locale_plural_node(ps, (unsigned char)locale_plural_levels[level].ops[t],
                                          left, right, 0, 0);
                matched = 1;
                break;
            }
    } while (matched && left >= 0);
    return left;
}

static int locale_plural_ternary(struct locale_plural_parser *ps)
{
    int cond, yes, no;

    if (locale_plural_enter(ps) < 0)
        return -1;
    cond = locale_plural_binary(ps, 0);
    if (cond >= 0 && locale_plural_eat(ps, "?")) {
        yes = locale_plural_ternary(ps);
        if (yes >= 0 && !locale_plural_eat(ps, ":")) {
            ps->why = "expected : after ?";
            return -1;
        }
        no = yes >= 0 ? locale_plural_ternary(ps) : -1;
        cond = locale_plural_node(ps, '?', cond, yes, no, 0);
    }
    ps->depth--;
    return cond;
}

int locale_plural_compile(struct locale_plural *p, const char *expr, size_t len, const char **why)
{
    struct locale_plural_parser ps = {p, expr, expr + len, 0, "invalid expression"};
    int root;

    p->nnodes = 0;
    if (len > LOCALE_PLURAL_MAX_LEN) {
        *why = "expression too long";
        return -1;
    }
    root = locale_plural_ternary(&ps);
    locale_plural_space(&ps);
    if (root >= 0 && ps.s != ps.end) {
        root = -1;
        ps.why = "unexpected text after the expression";
    }
    if (root < 0) {
        *why = ps.why;
        return -1;
    }
    p->root = (unsigned short)root;
    return 0;
}

void locale_plural_default(struct locale_plural *p)
{
    const char *why;

    (void)locale_plural_compile(p, "n != 1", 6, &why);
}

/* Node i's value; -1 in *err on division by zero. The recursion is as deep
 * as the tree, which the compiler bounded (LOCALE_PLURAL_MAX_NODES). */
static unsigned long locale_plural_value(const struct locale_plural *p, unsigned short i,
                                         unsigned long n, int *err)
{
    const struct locale_plural_node *x = &p->nodes[i];
    unsigned long a, b;

    switch (x->op) {
    case 'n':
        return n;
    case '0':
        return x->value;
    case '~':
        return !locale_plural_value(p, x->a, n, err);
    case '?':
        return locale_plural_value(p, x->a, n, err) ? locale_plural_value(p, x->b, n, err)
                                                    : locale_plural_value(p, x->c, n, err);
    case '|':
        return locale_plural_value(p, x->a, n, err) || locale_plural_value(p, x->b, n, err);
    case '&':
        return locale_plural_value(p, x->a, n, err) && locale_plural_value(p, x->b, n, err);
    }
    a = locale_plural_value(p, x->a, n, err);
    b = locale_plural_value(p, x->b, n, err);
    switch (x->op) {
    case 'E':
        return a == b;
    case 'N':
        return a != b;
    case '<':
        return a < b;
    case '>':
        return a > b;
    case 'l':
        return a <= b;
    case 'g':
        return a >= b;
    case '+':
        return a + b;
    case '-':
        return a - b;
    case '*':
        return a * b;
    }
    if (b == 0) {
        *err = 1;
        return 0;
    }
    return x->op == '/' ? a / b : a % b;
}

long locale_plural_eval(const struct locale_plural *p, unsigned long n)
{
    int err = 0;
    unsigned long v = locale_plural_value(p, p->root, n, &err);

    if (err || v > 1000000)
        return -1;
    return (long)v;
}
