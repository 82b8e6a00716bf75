/*
 * locale.h - translations as Tornado's tornado.locale has them: the
 * catalogs loaded from a folder of Tornado CSV files (LANG.csv) and gettext
 * .mo files (LANG/LC_MESSAGES/DOMAIN.mo), the choice of a locale for a
 * request, and the locale-aware formats (dates, lists, numbers).
 *
 * A locale set is loaded once, when the config is read (locale_settings.c),
 * and only read afterwards: workers share it by fork. Strings a locale
 * returns are borrowed from it (valid while the config is in use) unless
 * the function takes an arena.
 */
#ifndef GALE_LOCALE_H
#define GALE_LOCALE_H

#include <stddef.h>

#include "gale/gale.h"
#include "page/locale_plural.h"

struct arena;

/* One message of a catalog: its key (for .mo, "CONTEXT\x04MSGID" with a
 * context; for plurals, the singular msgid) and its forms. */
struct locale_entry {
    char *key;
    char **forms;
    size_t nforms;
    size_t seq;    /* the order added: the last of equal keys wins */
    int is_plural; /* .mo: a msgid with a plural, whose forms the plural rule picks */
};

/* Sorted by key (strcmp), one entry a key. */
struct locale_catalog {
    struct locale_entry *v;
    size_t n;
};

enum locale_kind { LOCALE_NONE, LOCALE_CSV, LOCALE_MO };
enum locale_csv_table { LOCALE_CSV_UNKNOWN, LOCALE_CSV_SINGULAR, LOCALE_CSV_PLURAL };

struct locale {
    char *code;
    int rtl; /* written right to left: Persian, Arabic, Hebrew (as Tornado's Locale.rtl) */
    enum locale_kind kind;
    struct locale_catalog csv[3]; /* LOCALE_CSV: by enum locale_csv_table */
    struct locale_catalog mo;     /* LOCALE_MO */
    struct locale_plural plural;  /* LOCALE_MO: from Plural-Forms, else n != 1 */
    const char *months[12];       /* translated, borrowed from the catalog */
    const char *weekdays[7];      /* Monday first */
};

/* The locales a config loaded, and its default (always among them). */
struct locale_set {
    struct locale **v; /* sorted by code */
    size_t n;
    const struct locale *dflt;
};

/* ---- the set (locale.c) ---- */

/* Load every catalog of folder `dir` (NULL: none) for .mo domain `domain`,
 * with default locale `dflt`. NULL on error with *err a malloc'd message
 * naming the file (and line), which the caller frees. */
struct locale_set *locale_set_load(const char *dir, const char *domain, const char *dflt,
                                   char **err);
void locale_set_free(struct locale_set *set);
/* The set locale_get answers from in this process (the worker's config);
 * NULL: only the built-in en_US. */
void locale_use(const struct locale_set *set);

/* The closest locale of set to code, as Tornado's get_closest for one code
 * ("pt_BR" -> "pt", "en-us" -> "en_US"), or NULL when none is close. */
const struct locale *locale_match(const struct locale_set *set, const char *code);
/* The closest loaded locale to code, or the default. Never NULL. */
const struct locale *locale_get(const char *code);
const char *locale_code(const struct locale *l);

/* The translation of msg (with context: pgettext; NULL: none). With
 * plural non-NULL, the form for count: Tornado's translate(msg, plural,
 * count). Borrowed: the catalog's string, or msg/plural themselves. */
const char *locale_translate(const struct locale *l, const char *context, const char *msg,
                             const char *plural, long count);

/* ---- Accept-Language (locale_accept.c) ---- */

/* The language ranges of an Accept-Language value in Tornado's order
 * (q-value, highest first, stable; q <= 0 or malformed dropped): at most
 * max (64 or fewer) codes copied into buf (NUL-separated, codes[] point into it). The
 * number of codes. */
size_t locale_accept_parse(const char *value, char *buf, size_t size, const char **codes,
                           size_t max);

/* ---- the request (locale_request.c) ---- */

/* The request's locale: the configured argument, then cookie, when it
 * names a loaded locale; else the best of Accept-Language; else the
 * default. Chosen once and kept on the request. */
const struct locale *locale_for_request(gale_request *r);

/* ---- formats (locale_format.c) ---- */

/* Tornado's Locale.format_date of `when` (seconds since 1970, UTC) as seen
 * at `now`; gmt_offset_minutes is subtracted as Tornado does (UTC-5 is
 * 300). In the arena; NULL for a date outside years 1..9999. */
char *locale_format_date(const struct locale *l, struct arena *a, double when,
                         int gmt_offset_minutes, int relative, int shorter, int full_format,
                         double now);
/* Tornado's format_day: "Monday, January 22" (dow 0: "January 22"). */
char *locale_format_day(const struct locale *l, struct arena *a, double when,
                        int gmt_offset_minutes, int dow);
/* "A, B and C", "A and B", "A", "" (Tornado's Locale.list). */
char *locale_list(const struct locale *l, struct arena *a, const char *const *parts, size_t n);
/* "1,234,567" in English; the digits alone in other languages. */
char *locale_friendly_number(const struct locale *l, struct arena *a, long long value);
/* Python's `fmt % {name: value}` for %(name)s and %(name)d and %%: names
 * not in names[] are left as they are. In the arena. */
char *locale_substitute(struct arena *a, const char *fmt, const char *const *names,
                        const char *const *values, size_t n);

#endif
