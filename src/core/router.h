/*
 * router.h - routes: regular expressions (PCRE2) matched against the whole
 * request path, first match wins, captures handed to the handler.
 */
#ifndef GALE_ROUTER_H
#define GALE_ROUTER_H

#include <stddef.h>

struct router;

/* Check that `pattern` compiles. Returns 0, or -1 with a message in err. */
int router_check_pattern(const char *pattern, char *err, size_t errlen);

struct router *router_new(void);
void router_free(struct router *rt);

/* Append a route; `data` is what router_match returns for it (borrowed).
 * Returns 0, or -1 with a message in err. Patterns are JIT-compiled when
 * PCRE2 supports it. */
int router_add(struct router *rt, const char *pattern, void *data, char *err, size_t errlen);

#define ROUTER_MAX_CAPTURES 16

struct router_match {
    void *data;   /* the matched route's data */
    size_t ncaps; /* capture groups of the pattern (<= ROUTER_MAX_CAPTURES) */
    /* capture i (1-based) is path[start[i-1] .. end[i-1]); start == (size_t)-1 when unset */
    size_t start[ROUTER_MAX_CAPTURES];
    size_t end[ROUTER_MAX_CAPTURES];
};

/* Match path[0..len) against the routes in order. Returns 0 and fills m on a
 * match, -1 when no route matches. */
int router_match(const struct router *rt, const char *path, size_t len, struct router_match *m);

/* The URL path a pattern stands for with its capture groups replaced, in
 * order, by args (percent-encoded but for '/'), as Tornado's reverse_url:
 * into out (cap bytes, NUL-terminated). Returns 0, or -1 when the pattern
 * has regular-expression syntax outside its groups, a non-capturing group,
 * another number of groups than args, or out is too small. */
int router_reverse(const char *pattern, const char *const *args, size_t nargs, char *out,
                   size_t cap);

#endif
