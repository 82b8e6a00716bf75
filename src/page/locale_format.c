/*
 * locale_format.c - the formats of Tornado 6.2's Locale: format_date (the
 * relative "5 minutes ago" and "yesterday at 1:03 pm", or full dates),
 * format_day, list and friendly_number, with every phrase translated
 * through the locale's catalog as Tornado does, and its quirks kept: a
 * date less than a minute ahead (modulo a day) counts as now, "yesterday"
 * needs the same day of month as a day ago, 24-hour clocks everywhere but
 * en, en_US and zh_CN.
 *
 * Times are counted in whole microseconds, as Python's datetime rounds a
 * timestamp, so that the day and second boundaries fall where Tornado's do.
 */
#include "page/locale.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"

#define LOCALE_US 1000000LL
#define LOCALE_DAY_US (86400LL * LOCALE_US)
/* 0001-01-01 and 9999-12-31T23:59:59.999999 UTC: datetime's range */
#define LOCALE_MIN_US (-62135596800LL * LOCALE_US)
#define LOCALE_MAX_US (253402300800LL * LOCALE_US - 1)

/* ---- Python's % with a dict ---- */

/* Write fmt with its %(name)s and %(name)d filled into out (when not
 * NULL); the length. */
static size_t locale_fill(char *out, const char *fmt, const char *const *names,
                          const char *const *values, size_t n)
{
    size_t len = 0;

    for (const char *p = fmt; *p != '\0';) {
        const char *v = NULL, *close;
        size_t skip = 1, vlen = 1;
        if (p[0] == '%' && p[1] == '%') {
            v = "%", skip = 2;
        } else if (p[0] == '%' && p[1] == '(' && (close = strchr(p + 2, ')')) != NULL &&
                   (close[1] == 's' || close[1] == 'd')) {
            for (size_t i = 0; i < n && v == NULL; i++)
                if (strlen(names[i]) == (size_t)(close - p - 2) &&
                    memcmp(names[i], p + 2, (size_t)(close - p - 2)) == 0)
                    v = values[i], vlen = strlen(v), skip = (size_t)(close + 2 - p);
        }
        if (v == NULL)
            v = p, vlen = 1;
        if (out != NULL)
            memcpy(out + len, v, vlen);
        len += vlen;
        p += skip;
    }
    return len;
}

char *locale_substitute(struct arena *a, const char *fmt, const char *const *names,
                        const char *const *values, size_t n)
{
    size_t len = locale_fill(NULL, fmt, names, values, n);
    char *out = arena_alloc(a, len + 1);

    locale_fill(out, fmt, names, values, n);
    out[len] = '\0';
    return out;
}

/* ---- dates ---- */

/* Python's datetime.utcfromtimestamp(t) in microseconds: the fraction
 * rounded half to even. */
static int locale_us(double t, long long *us)
{
    double whole, frac = modf(t, &whole);
    double f = rint(frac * 1e6);

    if (!isfinite(t) || whole < -62135596800.0 || whole > 253402300799.0)
        return -1;
    *us = (long long)whole * LOCALE_US + (long long)f;
    return *us < LOCALE_MIN_US || *us > LOCALE_MAX_US ? -1 : 0;
}

static long long locale_floordiv(long long a, long long b)
{
    long long q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The civil date of microsecond us: 0, or -1 outside years 1..9999. */
static int locale_tm(long long us, struct tm *tm)
{
    time_t s;

    if (us < LOCALE_MIN_US || us > LOCALE_MAX_US)
        return -1;
    s = (time_t)locale_floordiv(us, LOCALE_US);
    return gmtime_r(&s, tm) ? 0 : -1;
}

static const char *locale_tr(const struct locale *l, const char *msg)
{
    return locale_translate(l, NULL, msg, NULL, 0);
}

/* "%(seconds)d seconds ago" and its kin, for count. */
static char *locale_ago(const struct locale *l, struct arena *a, const char *one, const char *many,
                        const char *name, long count)
{
    char num[24];
    const char *v = num;

    snprintf(num, sizeof(num), "%ld", count);
    return locale_substitute(a, locale_translate(l, NULL, one, many, count), &name, &v, 1);
}

/* The phrase for a date `days` (and `seconds`) before now, or NULL for
 * the full date: Tornado's choice of format. */
static const char *locale_date_format(const struct locale *l, long long days, int yesterday,
                                      int relative, int shorter)
{
    if (days == 0)
        return locale_tr(l, "%(time)s");
    if (days == 1 && yesterday && relative)
        return locale_tr(l, shorter ? "yesterday" : "yesterday at %(time)s");
    if (days < 5)
        return locale_tr(l, shorter ? "%(weekday)s" : "%(weekday)s at %(time)s");
    if (days < 334) /* 11 months: the same month last year would confuse */
        return locale_tr(l,
                         shorter ? "%(month_name)s %(day)s" : "%(month_name)s %(day)s at %(time)s");
    return NULL;
}

static void locale_clock(const struct locale *l, const struct tm *t, char *buf, size_t size)
{
    if (strcmp(l->code, "zh_CN") == 0)
        snprintf(buf, size, "%s%d:%02d",
                 t->tm_hour >= 12 ? "\xe4\xb8\x8b\xe5\x8d\x88" : "\xe4\xb8\x8a\xe5\x8d\x88",
                 t->tm_hour % 12 ? t->tm_hour % 12 : 12, t->tm_min);
    else if (strcmp(l->code, "en") == 0 || strcmp(l->code, "en_US") == 0)
        snprintf(buf, size, "%d:%02d %s", t->tm_hour % 12 ? t->tm_hour % 12 : 12, t->tm_min,
                 t->tm_hour >= 12 ? "pm" : "am");
    else
        snprintf(buf, size, "%d:%02d", t->tm_hour, t->tm_min);
}

char *locale_format_date(const struct locale *l, struct arena *a, double when,
                         int gmt_offset_minutes, int relative, int shorter, int full_format,
                         double now)
{
    long long d, n, off = (long long)gmt_offset_minutes * 60 * LOCALE_US, days, seconds;
    const char *fmt = NULL;
    struct tm local, yesterday;
    char time[32], day[16], year[16];

    if (locale_us(when, &d) < 0 || locale_us(now, &n) < 0)
        return NULL;
    if (d > n) {
        /* clock skew: a moment ahead is now (Tornado compares the seconds
         * of the difference only, whatever its days) */
        if (relative && (d - n) % LOCALE_DAY_US / LOCALE_US < 60)
            d = n;
        else
            full_format = 1;
    }
    if (locale_tm(d - off, &local) < 0 || locale_tm(n - off - LOCALE_DAY_US, &yesterday) < 0)
        return NULL;
    days = locale_floordiv(n - d, LOCALE_DAY_US);
    seconds = (n - d - days * LOCALE_DAY_US) / LOCALE_US;
    if (!full_format) {
        if (relative && days == 0) {
            if (seconds < 50)
                return locale_ago(l, a, "1 second ago", "%(seconds)d seconds ago", "seconds",
                                  (long)seconds);
            if (seconds < 50 * 60)
                return locale_ago(l, a, "1 minute ago", "%(minutes)d minutes ago", "minutes",
                                  (long)rint((double)seconds / 60.0));
            return locale_ago(l, a, "1 hour ago", "%(hours)d hours ago", "hours",
                              (long)rint((double)seconds / 3600.0));
        }
        fmt = locale_date_format(l, days, local.tm_mday == yesterday.tm_mday, relative, shorter);
    }
    if (fmt == NULL)
        fmt = locale_tr(l, shorter ? "%(month_name)s %(day)s, %(year)s"
                                   : "%(month_name)s %(day)s, %(year)s at %(time)s");
    locale_clock(l, &local, time, sizeof(time));
    snprintf(day, sizeof(day), "%d", local.tm_mday);
    snprintf(year, sizeof(year), "%d", local.tm_year + 1900);
    const char *names[] = {"month_name", "weekday", "day", "year", "time"};
    const char *values[] = {l->months[local.tm_mon], l->weekdays[(local.tm_wday + 6) % 7], day,
                            year, time};
    return locale_substitute(a, fmt, names, values, 5);
}

char *locale_format_day(const struct locale *l, struct arena *a, double when,
                        int gmt_offset_minutes, int dow)
{
    long long d;
    struct tm local;
    char day[16];

    if (locale_us(when, &d) < 0 ||
        locale_tm(d - (long long)gmt_offset_minutes * 60 * LOCALE_US, &local) < 0)
        return NULL;
    snprintf(day, sizeof(day), "%d", local.tm_mday);
    const char *names[] = {"month_name", "day", "weekday"};
    const char *values[] = {l->months[local.tm_mon], day, l->weekdays[(local.tm_wday + 6) % 7]};
    return locale_substitute(
        a, locale_tr(l, dow ? "%(weekday)s, %(month_name)s %(day)s" : "%(month_name)s %(day)s"),
        names, values, 3);
}

/* ---- lists and numbers ---- */

char *locale_list(const struct locale *l, struct arena *a, const char *const *parts, size_t n)
{
    const char *comma = strncmp(l->code, "fa", 2) == 0 ? " \xd9\x88 " : ", ";
    size_t len = 0, clen = strlen(comma);
    char *commas, *p;

    if (n == 0)
        return arena_strdup(a, "");
    if (n == 1)
        return arena_strdup(a, parts[0]);
    for (size_t i = 0; i + 1 < n; i++)
        len += strlen(parts[i]) + (i ? clen : 0);
    p = commas = arena_alloc(a, len + 1);
    for (size_t i = 0; i + 1 < n; i++) {
        if (i) {
            memcpy(p, comma, clen);
            p += clen;
        }
        memcpy(p, parts[i], strlen(parts[i]));
        p += strlen(parts[i]);
    }
    *p = '\0';
    const char *names[] = {"commas", "last"};
    const char *values[] = {commas, parts[n - 1]};
    return locale_substitute(a, locale_tr(l, "%(commas)s and %(last)s"), names, values, 2);
}

char *locale_friendly_number(const struct locale *l, struct arena *a, long long value)
{
    char digits[24], *out, *p;
    size_t len, groups;

    snprintf(digits, sizeof(digits), "%lld", value);
    if (strcmp(l->code, "en") != 0 && strcmp(l->code, "en_US") != 0)
        return arena_strdup(a, digits);
    /* Tornado groups the text of the number, its minus sign included
     * ("-123" -> "-,123") */
    len = strlen(digits);
    groups = (len + 2) / 3;
    p = out = arena_alloc(a, len + groups);
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            *p++ = ',';
        *p++ = digits[i];
    }
    *p = '\0';
    return out;
}
