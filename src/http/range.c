/*
 * range.c - one byte range of a Range header (see range.h).
 */
#include "http/range.h"

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

enum range_result range_parse(const char *header, uint64_t size, uint64_t *first, uint64_t *last)
{
    uint64_t a = 0, b = 0;
    if (!header || strncasecmp(header, "bytes", 5))
        return RANGE_NONE;
    const char *p = range_skip_ws(header + 5);
    if (*p++ != '=')
        return RANGE_NONE;
    p = range_skip_ws(p);
    size_t na = range_number(&p, &a);
    if (*p++ != '-')
        return RANGE_NONE;
    size_t nb = range_number(&p, &b);
    p = range_skip_ws(p);
    if (*p != '\0' || (na == 0 && nb == 0) || (na && nb && b < a))
        return RANGE_NONE; /* a comma (several ranges) or garbage */
    if (na == 0) {         /* a suffix: the last b bytes */
        if (b == 0 || size == 0)
            return RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return RANGE_OK;
    }
    if (a >= size)
        return RANGE_UNSATISFIABLE;
    *first = a;
    *last = nb == 0 || b >= size ? size - 1 : b;
    return RANGE_OK;
}
