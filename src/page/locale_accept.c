/*
 * locale_accept.c - the Accept-Language header as Tornado 6.2's
 * get_browser_locale reads it: comma-separated ranges, each with an
 * optional ";q=" weight (malformed or negative: 0), those above 0 kept in
 * the order of their weight, equal weights in the header's order.
 */
#include "page/locale.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LOCALE_ACCEPT_MAX 64 /* ranges kept: browsers send a handful */

static int locale_accept_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f);
}

static void locale_accept_strip(const char **s, const char **end)
{
    while (*s < *end && locale_accept_space(**s))
        (*s)++;
    while (*end > *s && locale_accept_space((*end)[-1]))
        (*end)--;
}

/* Python's float() of s[0..end) (stripped already): decimal or inf/nan;
 * malformed is 0. */
static double locale_accept_q(const char *s, const char *end)
{
    char buf[64], *stop;
    size_t len = (size_t)(end - s);
    double q;

    if (len == 0 || len >= sizeof(buf) || memchr(s, 'x', len) || memchr(s, 'X', len) ||
        memchr(s, '(', len))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    q = strtod(buf, &stop);
    if (*stop != '\0' || isnan(q) || q < 0)
        return 0;
    return q;
}

size_t locale_accept_parse(const char *value, char *buf, size_t size, const char **codes,
                           size_t max)
{
    double score[LOCALE_ACCEPT_MAX];
    size_t n = 0, used = 0;
    const char *p = value;

    if (max > LOCALE_ACCEPT_MAX)
        max = LOCALE_ACCEPT_MAX;
    while (value != NULL && n < max) {
        const char *comma = strchr(p, ','), *end = comma ? comma : p + strlen(p);
        const char *s = p, *e = end, *semi, *q, *qe;
        double w = 1;
        locale_accept_strip(&s, &e);
        semi = memchr(s, ';', (size_t)(e - s));
        if (semi != NULL) {
            const char *next = memchr(semi + 1, ';', (size_t)(e - semi - 1));
            q = semi + 1;
            qe = next ? next : e;
            locale_accept_strip(&q, &qe);
            if (qe - q >= 2 && q[0] == 'q' && q[1] == '=') {
                q += 2;
                locale_accept_strip(&q, &qe);
                w = locale_accept_q(q, qe);
            }
        }
        size_t len = (size_t)((semi ? semi : e) - s);
        if (w > 0 && used + len + 1 <= size) {
            size_t at = n;
            memcpy(buf + used, s, len);
            buf[used + len] = '\0';
            /* insert after every range of a weight at least as high */
            while (at > 0 && score[at - 1] < w) {
                score[at] = score[at - 1];
                codes[at] = codes[at - 1];
                at--;
            }
            score[at] = w;
            codes[at] = buf + used;
            used += len + 1;
            n++;
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return n;
}
