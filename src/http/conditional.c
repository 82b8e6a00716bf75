/*
 * conditional.c - the preconditions of a request (see conditional.h).
 */
#include "http/conditional.h"

#include <stdio.h>
#include <string.h>

int conditional_tag_match(const char *header, const char *tag, int strong)
{
    int tag_weak = tag[0] == 'W' && tag[1] == '/';
    if (tag_weak)
        tag += 2;
    size_t tlen = strlen(tag);
    for (const char *p = header; *p;) {
        p += strspn(p, " \t,");
        if (*p == '*')
            return 1;
        int weak = p[0] == 'W' && p[1] == '/';
        if (weak)
            p += 2;
        /* a tag is quoted and may hold commas; an unquoted word is taken
         * whole up to the next comma, to step over it */
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        size_t len = end ? (size_t)(end - p) + 1 : strcspn(p, ",");
        if (!len)
            break;
        /* a weak tag on either side never matches strongly */
        if (len == tlen && !memcmp(p, tag, len) && !(strong && (weak || tag_weak)))
            return 1;
        p += len;
    }
    return 0;
}

time_t conditional_parse_date(const char *s)
{
    /* The obsolete formats (RFC 850, asctime) are read by no client still
     * sending them to a current server. */
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm = {0};
    char mon[4];
    if (!s || sscanf(s, "%*3s, %2d %3s %4d %2d:%2d:%2d GMT", &tm.tm_mday, mon, &tm.tm_year,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    const char *m = strstr(months, mon);
    if (!m || (m - months) % 3)
        return -1;
    tm.tm_mon = (int)(m - months) / 3;
    tm.tm_year -= 1900;
    return timegm(&tm);
}

/* RFC 9110 13.2.2: If-Match, else If-Unmodified-Since (412 when false);
 * then If-None-Match, else If-Modified-Since for GET and HEAD (304 when
 * false, 412 for other methods). A date precondition without a date to
 * compare with is ignored, as a malformed date is. */
int conditional_evaluate(const struct conditional_headers *h, int get, const char *etag,
                         time_t modified)
{
    if (h->if_match) {
        if (!conditional_tag_match(h->if_match, etag ? etag : "", 1)) /* "*": any answer */
            return 412;
    } else if (modified >= 0) {
        time_t ius = conditional_parse_date(h->if_unmodified_since);
        if (ius >= 0 && modified > ius)
            return 412;
    }
    if (h->if_none_match) {
        if (conditional_tag_match(h->if_none_match, etag ? etag : "", 0))
            return get ? 304 : 412;
    } else if (get && modified >= 0) {
        time_t ims = conditional_parse_date(h->if_modified_since);
        if (ims >= 0 && modified <= ims)
            return 304;
    }
    return 0;
}
