/*
 * router.c - routes: PCRE2 patterns matched against the whole request path.
 *
 * Patterns are compiled once, when the worker starts; router_match runs per
 * request and must not allocate, so one match_data sized for the largest
 * allowed pattern is made up front and reused. That is safe because a worker
 * is single-threaded: the router belongs to one event loop.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/router.h"
#include "core/util.h"

/*
 * Whole-path matching is asked of PCRE2 itself (ANCHORED and ENDANCHORED)
 * rather than by wrapping the text in "^(?:...)$": wrapping would let a
 * pattern such as "a)|(b" close our group and match a prefix, and it would
 * shift the offsets PCRE2 reports in error messages. Alternation therefore
 * covers the whole path: "a|b" matches "a" or "b", never "ab".
 *
 * Paths are raw bytes (percent-decoding happens later, per capture), so UTF
 * is forbidden even from inside a pattern "(*UTF)"; DOLLAR_ENDONLY keeps "$"
 * from matching before a trailing newline, which a request path may carry
 * encoded.
 */
#define ROUTER_COMPILE_OPTIONS                                                                     \
    (PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_UTF | PCRE2_NEVER_UCP)

/*
 * Bounds on the work one match may do. Patterns come from the trusted config
 * but paths from anyone: a pattern that backtracks badly must not let one
 * request stall the worker. A route that hits a limit counts as not matching.
 */
#define ROUTER_MATCH_LIMIT 1000000
#define ROUTER_DEPTH_LIMIT 10000

struct router_route {
    pcre2_code *code;
    void *data; /* borrowed from the caller of router_add */
    uint32_t ncaps;
    /* A pattern without a special character matches only itself: compared
     * as bytes, which costs a tenth of running the regex (router_literal) */
    const char *literal;
    size_t literal_len;
};

struct router {
    struct router_route *routes;
    size_t nroutes;
    size_t cap;
    pcre2_match_data *md;      /* reused by every router_match */
    pcre2_match_context *mctx; /* the limits above */
};

static void router_compile_error(int code, size_t offset, char *err, size_t errlen)
{
    PCRE2_UCHAR msg[256];

    if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
        snprintf((char *)msg, sizeof(msg), "error %d", code);
    snprintf(err, errlen, "bad regular expression at offset %zu: %s", offset, (char *)msg);
}

/* Compile `pattern` the way every route is compiled and enforce the capture
 * limit. Returns the code (caller frees), or NULL with a message in err. */
static pcre2_code *router_compile(const char *pattern, uint32_t *ncaps, char *err, size_t errlen)
{
    int code;
    PCRE2_SIZE offset;
    pcre2_code *re;

    re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, ROUTER_COMPILE_OPTIONS, &code,
                       &offset, NULL);
    if (re == NULL) {
        router_compile_error(code, offset, err, errlen);
        return NULL;
    }
    pcre2_pattern_info(re, PCRE2_INFO_CAPTURECOUNT, ncaps);
    if (*ncaps > ROUTER_MAX_CAPTURES) {
        snprintf(err, errlen,
                 "too many capture groups (%u, at most %d); use (?:...) for groups "
                 "that need not be captured",
                 *ncaps, ROUTER_MAX_CAPTURES);
        pcre2_code_free(re);
        return NULL;
    }
    return re;
}

int router_check_pattern(const char *pattern, char *err, size_t errlen)
{
    uint32_t ncaps;
    pcre2_code *re = router_compile(pattern, &ncaps, err, errlen);

    if (re == NULL)
        return -1;
    pcre2_code_free(re);
    return 0;
}

struct router *router_new(void)
{
    struct router *rt = calloc(1, sizeof(*rt));

    if (rt == NULL)
        return NULL;
    rt->md = pcre2_match_data_create(ROUTER_MAX_CAPTURES + 1, NULL);
    rt->mctx = pcre2_match_context_create(NULL);
    if (rt->md == NULL || rt->mctx == NULL) {
        router_free(rt);
        return NULL;
    }
    pcre2_set_match_limit(rt->mctx, ROUTER_MATCH_LIMIT);
    pcre2_set_depth_limit(rt->mctx, ROUTER_DEPTH_LIMIT);
    return rt;
}

void router_free(struct router *rt)
{
    if (rt == NULL)
        return;
    for (size_t i = 0; i < rt->nroutes; i++) {
        pcre2_code_free(rt->routes[i].code);
        free((char *)rt->routes[i].literal);
    }
    free(rt->routes);
    pcre2_match_data_free(rt->md);
    pcre2_match_context_free(rt->mctx);
    free(rt);
}

static int router_grow(struct router *rt)
{
    size_t cap = rt->cap ? rt->cap * 2 : 8;
    struct router_route *routes;

    if (rt->nroutes < rt->cap)
        return 0;
    routes = realloc(rt->routes, cap * sizeof(*routes));
    if (routes == NULL)
        return -1;
    rt->routes = routes;
    rt->cap = cap;
    return 0;
}

/* Whether pattern matches exactly the path equal to it: made of characters
 * that mean themselves in a regex, and common in paths. */
static int router_literal(const char *pattern)
{
    for (const char *p = pattern; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '/' || *p == '-' || *p == '_' || *p == '~' || *p == '%' || *p == ','))
            return 0;
    return 1;
}

int router_add(struct router *rt, const char *pattern, void *data, char *err, size_t errlen)
{
    struct router_route *r;
    uint32_t ncaps;
    pcre2_code *re;

    if (router_grow(rt) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    re = router_compile(pattern, &ncaps, err, errlen);
    if (re == NULL)
        return -1;
    /* Without JIT (not built in, or no executable memory) the interpreter
     * gives the same answers, only slower: not a reason to refuse a route. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    r = &rt->routes[rt->nroutes];
    *r = (struct router_route){.code = re, .data = data, .ncaps = ncaps};
    if (router_literal(pattern)) {
        if ((r->literal = strdup(pattern)) == NULL) {
            pcre2_code_free(re);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        r->literal_len = strlen(pattern);
    }
    rt->nroutes++;
    return 0;
}

static void router_fill(const struct router_route *r, const PCRE2_SIZE *ov, int rc,
                        struct router_match *m)
{
    m->data = r->data;
    m->ncaps = r->ncaps;
    for (uint32_t i = 1; i <= r->ncaps; i++) {
        /* Groups after the last one that took part are beyond rc; PCRE2
         * marks them unset too, but say so here rather than rely on it. */
        int set = (int)i < rc && ov[2 * i] != PCRE2_UNSET;

        m->start[i - 1] = set ? ov[2 * i] : (size_t)-1;
        m->end[i - 1] = set ? ov[2 * i + 1] : (size_t)-1;
    }
}

int router_match(const struct router *rt, const char *path, size_t len, struct router_match *m)
{
    for (size_t i = 0; i < rt->nroutes; i++) {
        const struct router_route *r = &rt->routes[i];
        if (r->literal != NULL) {
            if (len == r->literal_len && memcmp(path, r->literal, len) == 0) {
                m->data = r->data;
                m->ncaps = 0;
                return 0;
            }
            continue;
        }
        int rc = pcre2_match(r->code, (PCRE2_SPTR)path, len, 0, 0, rt->md, rt->mctx);

        /* rc < 0: no match, or a limit was hit; rc == 0 cannot happen as
         * the ovector has room for ROUTER_MAX_CAPTURES groups. */
        if (rc > 0) {
            router_fill(r, pcre2_get_ovector_pointer(rt->md), rc, m);
            return 0;
        }
    }
    return -1;
}

/* ---- reverse URLs ---- */

/* Append a to out, percent-encoding all but unreserved characters and '/'
 * (as Tornado's url_escape with plus=False). */
static int router_put_arg(const char *a, char *out, size_t cap, size_t *o)
{
    int n = util_url_encode(out + *o, cap - *o, a, "/");
    if (n < 0)
        return -1;
    *o += (size_t)n;
    return 0;
}

/* Skip a group starting at p (which is '('): returns the byte after its ')'. */
static const char *router_skip_group(const char *p)
{
    int depth = 0;
    for (; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')' && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

int router_reverse(const char *pattern, const char *const *args, size_t nargs, char *out,
                   size_t cap)
{
    size_t o = 0, used = 0;
    const char *p = pattern;
    size_t len = strlen(p);
    if (*p == '^')
        p++;
    const char *end = pattern + len;
    if (end > p && end[-1] == '$' && (end - 1 == p || end[-2] != '\\'))
        end--;
    while (p < end) {
        if (*p == '(') {
            const char *next = router_skip_group(p);
            if (!next || p[1] == '?' || used == nargs || next > end)
                return -1; /* unbalanced, non-capturing, or too few arguments */
            if (router_put_arg(args[used++], out, cap, &o) < 0)
                return -1;
            p = next;
            continue;
        }
        if (*p == '\\' && p + 1 < end)
            p++; /* an escaped literal: "\." is "." */
        else if (strchr(".[]{}*+?|", *p))
            return -1; /* a pattern outside the groups: no single URL for it */
        if (o + 1 >= cap)
            return -1;
        out[o++] = *p++;
    }
    if (used != nargs)
        return -1;
    out[o] = '\0';
    return 0;
}
