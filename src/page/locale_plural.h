/*
 * locale_plural.h - the plural rule of a gettext catalog: the C-like
 * expression of its Plural-Forms header ("n != 1", Polish's and Arabic's
 * chains of ?:), checked and compiled once when the catalog loads, then
 * evaluated for each count.
 *
 * Only what gettext's grammar allows is accepted: n, decimal integers,
 * ! * / % + - < > <= >= == != && || ?: and parentheses. The expression is
 * bounded in length and nesting, so a hostile catalog cannot exhaust the
 * stack; division by zero makes the evaluation fail instead of trapping.
 */
#ifndef GALE_LOCALE_PLURAL_H
#define GALE_LOCALE_PLURAL_H

#include <stddef.h>

#define LOCALE_PLURAL_MAX_LEN 1000 /* bytes of expression, as Python's gettext */
#define LOCALE_PLURAL_MAX_DEPTH 64 /* nesting of operators and parentheses */
#define LOCALE_PLURAL_MAX_NODES 512

struct locale_plural_node {
    unsigned char op;       /* an operator, or 'n' / '0' (a number in value) */
    unsigned short a, b, c; /* operand nodes */
    unsigned long value;
};

struct locale_plural {
    struct locale_plural_node nodes[LOCALE_PLURAL_MAX_NODES];
    unsigned short root, nnodes;
};

/* Compile expr[0..len): 0, or -1 with a static reason in *why. */
int locale_plural_compile(struct locale_plural *p, const char *expr, size_t len, const char **why);

/* The rule "n != 1" (gettext's default when a catalog has no Plural-Forms). */
void locale_plural_default(struct locale_plural *p);

/* The form index for count n (unsigned arithmetic, as GNU gettext), or -1
 * when the expression divides by zero. */
long locale_plural_eval(const struct locale_plural *p, unsigned long n);

#endif
