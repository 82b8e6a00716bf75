/*
 * localetest.c - a test module for translations
 * (tests/blackbox/24-locale.py): one handler that answers with the
 * request's locale and what the translation API gives in it, one line a
 * call, so that the test sees the locale's choice and the catalogs.
 */
#include <stdlib.h>
#include <time.h>

#include <gale/gale.h>

static int localetest_show(gale_request *r)
{
    const char *n = gale_request_query(r, "n"), *parts[] = {"A", "B", "C"};
    long count = n ? strtol(n, NULL, 10) : 1;
    double now = (double)time(NULL);

    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    gale_response_printf(r, "locale %s\n", gale_locale(r));
    gale_response_printf(r, "signout %s\n", gale_translate(r, "Sign out"));
    gale_response_printf(r, "files %s\n", gale_ntranslate(r, "%(n)d file", "%(n)d files", count));
    gale_response_printf(r, "law %s\n", gale_pgettext(r, "law", "right"));
    gale_response_printf(r, "club %s\n", gale_npgettext(r, "stick", "club", "clubs", count));
    gale_response_printf(r, "list %s\n", gale_format_list(r, parts, 3));
    gale_response_printf(r, "number %s\n", gale_friendly_number(r, 1234567));
    gale_response_printf(r, "ago %s\n", gale_format_date(r, now - 3600 * 3, 0, 0));
    gale_response_printf(r, "date %s\n", gale_format_date(r, 0, 0, GALE_DATE_FULL));
    gale_response_printf(r, "day %s\n",
                         gale_format_date(r, 0, 0, GALE_DATE_FULL | GALE_DATE_SHORTER));
    gale_response_printf(r, "weekday %s\n", gale_format_day(r, 0, 0, 1));
    gale_response_printf(r, "rtl %d\n", gale_locale_rtl(r));
    return GALE_OK;
}

static const gale_handler localetest_handlers[] = {
    {.name = "show", .get = localetest_show, .post = localetest_show},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "localetest",
    .handlers = localetest_handlers,
};
