/*
 * range.c - the byte ranges of a Range header (see range.h).
 */
#include "http/range.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Digits at *p into *v (UINT64_MAX when they overflow: past any file's end).
 * Returns the number of digits read. */
static size_t range_number(const char **p, uint64_t *v)
{
    const char *s = *p;
    *v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        *v = *v > (UINT64_MAX - 9) / 10 ? UINT64_MAX : *v * 10 + (uint64_t)(*s - '0');
    size_t n = (size_t)(s - *p);
    *p = s;
    return n;
}

static const char *range_skip_ws(const char *p)
{
    return p + strspn(p, " \t");
}

/* One range-spec at *p (moved past it). Returns -1 when malformed, 0 when
 * no byte of it is in the file, 1 with *out set. */
static int range_spec(const char **p, uint64_t size, struct range *out)
{
    uint64_t a = 0, b = 0;
    size_t na = range_number(p, &a);
    if (**p != '-')
        return -1; /* *p stays on what it found, the NUL perhaps */
    (*p)++;
    size_t nb = range_number(p, &b);
    if ((na == 0 && nb == 0) || (na && nb && b < a))
        return -1;
    if (na == 0) { /* a suffix: the last b bytes */
        if (b == 0 || size == 0)
            return 0;
        out->first = b >= size ? 0 : size - b;
        out->last = size - 1;
        return 1;
    }
    if (a >= size)
        return 0;
    out->first = a;
    out->last = nb == 0 || b >= size ? size - 1 : b;
    return 1;
}

static int range_cmp(const void *x, const void *y)
{
    const struct range *a = x, *b = y;
    return a->first < b->first ? -1 : a->first > b->first;
}

/* Sort the set and merge the ranges that overlap or touch: a client reads
 * each part by its Content-Range, not by the order it asked in. */
static void range_merge(struct range_set *set)
{
    qsort(set->r, set->n, sizeof(set->r[0]), range_cmp);
    size_t k = 0;
    for (size_t i = 1; i < set->n; i++) {
        if (set->r[i].first <= set->r[k].last + 1) {
            if (set->r[i].last > set->r[k].last)
                set->r[k].last = set->r[i].last;
        } else {
            set->r[++k] = set->r[i];
        }
    }
    set->n = set->n ? k + 1 : 0;
}

enum range_result range_parse(const char *header, uint64_t size, struct range_set *set)
{
    uint64_t total = 0;
    size_t specs = 0;
    if (!header || strncasecmp(header, "bytes", 5))
        return RANGE_NONE;
    const char *p = range_skip_ws(header + 5);
    if (*p++ != '=')
        return RANGE_NONE;
    set->n = 0;
    for (;;) {
        p = range_skip_ws(p);
        if (*p == ',') { /* empty list elements are allowed (RFC 9110 5.6.1) */
            p++;
            continue;
        }
        if (!*p)
            break;
        struct range one;
        int rc = range_spec(&p, size, &one);
        if (rc < 0)
            return RANGE_NONE;
        p = range_skip_ws(p);
        if ((*p && *p != ',') || ++specs > RANGE_MAX)
            return RANGE_NONE;
        if (rc == 0)
            continue; /* outside the file: the others may still be in it */
        total += one.last - one.first + 1;
        if (total > size)
            return RANGE_NONE; /* more than the whole file: send it once */
        set->r[set->n++] = one;
    }
    if (specs == 0)
        return RANGE_NONE;
    if (set->n == 0)
        return RANGE_UNSATISFIABLE;
    range_merge(set);
    return RANGE_OK;
}
