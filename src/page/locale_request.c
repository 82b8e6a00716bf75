/*
 * locale_request.c - the locale of a request, and the translation API of
 * gale.h that answers in it.
 */
#include "page/locale.h"

#include <string.h>
#include <time.h>

#include "core/loop.h"
#include "http/request.h"
#include "page/locale_settings.h"

#define LOCALE_REQUEST_MAX_RANGES 32

static const struct locale *locale_request_accept(const struct locale_set *set, gale_request *r)
{
    const char *value = gale_request_header(r, "Accept-Language"),
               *codes[LOCALE_REQUEST_MAX_RANGES];
    const struct locale *l = NULL;
    char buf[1024];
    size_t n;

    if (value == NULL)
        return NULL;
    n = locale_accept_parse(value, buf, sizeof(buf), codes, LOCALE_REQUEST_MAX_RANGES);
    for (size_t i = 0; i < n && l == NULL; i++)
        l = locale_match(set, codes[i]);
    return l;
}

const struct locale *locale_for_request(gale_request *r)
{
    const struct locale_settings *ls;
    const struct locale *l = NULL;

    if (r->locale != NULL)
        return r->locale;
    ls = locale_settings(r->loop->cfg);
    if (strcmp(ls->locale_argument, "off") != 0)
        l = locale_match(ls->set, gale_request_argument(r, ls->locale_argument));
    if (l == NULL && strcmp(ls->locale_cookie, "off") != 0)
        l = locale_match(ls->set, gale_request_cookie(r, ls->locale_cookie));
    if (l == NULL)
        l = locale_request_accept(ls->set, r);
    r->locale = l ? l : ls->set->dflt;
    return r->locale;
}

const char *gale_locale(gale_request *r)
{
    return locale_code(locale_for_request(r));
}

const char *gale_translate(gale_request *r, const char *msg)
{
    return locale_translate(locale_for_request(r), NULL, msg, NULL, 0);
}

const char *gale_ntranslate(gale_request *r, const char *singular, const char *plural, long n)
{
    return locale_translate(locale_for_request(r), NULL, singular, plural, n);
}

const char *gale_pgettext(gale_request *r, const char *context, const char *msg)
{
    return locale_translate(locale_for_request(r), context, msg, NULL, 0);
}

const char *gale_npgettext(gale_request *r, const char *context, const char *singular,
                           const char *plural, long n)
{
    return locale_translate(locale_for_request(r), context, singular, plural, n);
}

char *gale_format_date(gale_request *r, double when, int gmt_offset_minutes, int flags)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return locale_format_date(locale_for_request(r), r->arena, when, gmt_offset_minutes,
                              !(flags & GALE_DATE_ABSOLUTE), !!(flags & GALE_DATE_SHORTER),
                              !!(flags & GALE_DATE_FULL),
                              (double)now.tv_sec + (double)now.tv_nsec / 1e9);
}

char *gale_format_day(gale_request *r, double when, int gmt_offset_minutes, int weekday)
{
    return locale_format_day(locale_for_request(r), r->arena, when, gmt_offset_minutes, weekday);
}

int gale_locale_rtl(gale_request *r)
{
    return locale_for_request(r)->rtl;
}

char *gale_format_list(gale_request *r, const char *const *parts, size_t n)
{
    return locale_list(locale_for_request(r), r->arena, parts, n);
}

char *gale_friendly_number(gale_request *r, long long value)
{
    return locale_friendly_number(locale_for_request(r), r->arena, value);
}
