/*
 * locale.c - the loaded locales, the closest match to a code and the
 * translation of a message, as tornado.locale's CSVLocale and
 * GettextLocale (Tornado 6.2) answer them.
 */
#include "page/locale.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "page/locale_catalog.h"

#define LOCALE_MAX_FILE (64u * 1024 * 1024)
#define LOCALE_CONTEXT_SEPARATOR '\x04'

#define LOCALE_MONTHS                                                                              \
    {                                                                                              \
        "January", "February", "March", "April", "May", "June", "July", "August", "September",     \
            "October", "November", "December"                                                      \
    }
#define LOCALE_WEEKDAYS                                                                            \
    {                                                                                              \
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"               \
    }

static const char *const locale_months[12] = LOCALE_MONTHS;
static const char *const locale_weekdays[7] = LOCALE_WEEKDAYS;

/* The locale of a process that has no set in use: untranslated en_US. */
static struct locale locale_builtin = {
    .code = "en_US", .months = LOCALE_MONTHS, .weekdays = LOCALE_WEEKDAYS};
static const struct locale *locale_builtin_v[1] = {&locale_builtin};
static const struct locale_set locale_builtin_set = {(struct locale **)locale_builtin_v, 1,
                                                     &locale_builtin};
static const struct locale_set *locale_current = &locale_builtin_set;

__attribute__((format(printf, 2, 3))) static void locale_error(char **err, const char *fmt, ...)
{
    va_list ap;

    if (*err != NULL)
        return;
    va_start(ap, fmt);
    if (vasprintf(err, fmt, ap) < 0)
        *err = NULL;
    va_end(ap);
}

static void locale_names(struct locale *l)
{
    l->rtl = strncmp(l->code, "fa", 2) == 0 || strncmp(l->code, "ar", 2) == 0 ||
             strncmp(l->code, "he", 2) == 0;
    for (int i = 0; i < 12; i++)
        l->months[i] = locale_translate(l, NULL, locale_months[i], NULL, 0);
    for (int i = 0; i < 7; i++)
        l->weekdays[i] = locale_translate(l, NULL, locale_weekdays[i], NULL, 0);
}

static void locale_free(struct locale *l)
{
    if (l == NULL)
        return;
    for (int t = 0; t < 3; t++)
        locale_catalog_free(&l->csv[t]);
    locale_catalog_free(&l->mo);
    free(l->code);
    free(l);
}

/* The whole file, malloc'd (caller frees), or NULL with errno. */
static unsigned char *locale_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    struct stat st;

    if (f == NULL)
        return NULL;
    if (fstat(fileno(f), &st) == 0 && st.st_size >= 0 && (size_t)st.st_size <= LOCALE_MAX_FILE &&
        (buf = malloc((size_t)st.st_size + 1)) != NULL) {
        *len = fread(buf, 1, (size_t)st.st_size, f);
        if (ferror(f) || *len != (size_t)st.st_size) {
            free(buf);
            buf = NULL;
            errno = EIO;
        }
    } else if (buf == NULL)
        errno = EFBIG;
    fclose(f);
    return buf;
}

static struct locale *locale_find(const struct locale_set *set, const char *code)
{
    for (size_t i = 0; i < set->n; i++)
        if (strcmp(set->v[i]->code, code) == 0)
            return set->v[i];
    return NULL;
}

/* A new locale named code in set; NULL (with *err) when it exists already. */
static struct locale *locale_add(struct locale_set *set, const char *code, const char *path,
                                 char **err)
{
    struct locale *l, **v;

    if (locale_find(set, code) != NULL) {
        locale_error(err, "%s: locale %s has a catalog already (one of CSV or .mo a language)",
                     path, code);
        return NULL;
    }
    v = realloc(set->v, (set->n + 1) * sizeof(*v));
    l = calloc(1, sizeof(*l));
    if (v != NULL)
        set->v = v;
    if (v == NULL || l == NULL || (l->code = strdup(code)) == NULL) {
        free(l);
        locale_error(err, "%s: out of memory", path);
        return NULL;
    }
    set->v[set->n++] = l;
    return l;
}

/* "es", "pt_BR": Tornado's pattern for the name of a CSV catalog. */
static int locale_csv_name(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && s[i] >= 'a' && s[i] <= 'z')
        i++;
    if (i == 0)
        return 0;
    if (i == len)
        return 1;
    if (s[i++] != '_' || i == len)
        return 0;
    while (i < len && s[i] >= 'A' && s[i] <= 'Z')
        i++;
    return i == len;
}

static int locale_load_csv(struct locale_set *set, const char *path, const char *code, char **err)
{
    size_t len = 0;
    unsigned char *data = locale_read(path, &len);
    struct locale *l;
    const char *why = NULL;
    int line = 0, rc;

    if (data == NULL) {
        locale_error(err, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    l = locale_add(set, code, path, err);
    rc = l ? locale_csv_parse(l, (const char *)data, len, &line, &why) : -1;
    if (l != NULL && rc < 0) {
        if (line > 0)
            locale_error(err, "%s:%d: %s", path, line, why);
        else
            locale_error(err, "%s: %s", path, why);
    }
    free(data);
    return rc;
}

static int locale_load_mo(struct locale_set *set, const char *path, const char *code, char **err)
{
    size_t len = 0;
    unsigned char *data = locale_read(path, &len);
    struct locale *l;
    const char *why = NULL;
    int rc;

    if (data == NULL) {
        locale_error(err, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    l = locale_add(set, code, path, err);
    rc = l ? locale_mo_parse(l, data, len, &why) : -1;
    if (l != NULL && rc < 0)
        locale_error(err, "%s: %s", path, why);
    free(data);
    return rc;
}

/* One entry of the folder: LANG.csv, or LANG/LC_MESSAGES/DOMAIN.mo. */
static int locale_load_entry(struct locale_set *set, const char *dir, const char *name,
                             const char *domain, char **err)
{
    size_t len = strlen(name);
    char *path = NULL, *code = NULL;
    struct stat st;
    int rc = 0;

    if (name[0] == '.')
        return 0;
    if (len > 4 && strcmp(name + len - 4, ".csv") == 0) {
        code = strndup(name, len - 4);
        if (asprintf(&path, "%s/%s", dir, name) < 0)
            path = NULL;
        if (code == NULL || path == NULL)
            locale_error(err, "%s: out of memory", dir), rc = -1;
        else if (!locale_csv_name(code, len - 4))
            locale_error(err,
                         "%s: expected a file name LANG.csv or LANG_COUNTRY.csv (es.csv, "
                         "pt_BR.csv)",
                         path),
                rc = -1;
        else
            rc = locale_load_csv(set, path, code, err);
    } else if (asprintf(&path, "%s/%s/LC_MESSAGES/%s.mo", dir, name, domain) < 0) {
        path = NULL;
        locale_error(err, "%s: out of memory", dir), rc = -1;
    } else if (stat(path, &st) == 0)
        rc = locale_load_mo(set, path, name, err);
    free(path);
    free(code);
    return rc;
}

static int locale_cmp(const void *x, const void *y)
{
    return strcmp((*(struct locale *const *)x)->code, (*(struct locale *const *)y)->code);
}

struct locale_set *locale_set_load(const char *dir, const char *domain, const char *dflt,
                                   char **err)
{
    struct locale_set *set = calloc(1, sizeof(*set));
    DIR *d = NULL;
    struct dirent *e;
    int rc = 0;

    *err = NULL;
    if (set == NULL) {
        locale_error(err, "out of memory");
        return NULL;
    }
    if (dir != NULL && (d = opendir(dir)) == NULL) {
        locale_error(err, "%s: cannot open the folder: %s", dir, strerror(errno));
        rc = -1;
    }
    while (rc == 0 && d != NULL && (e = readdir(d)) != NULL)
        rc = locale_load_entry(set, dir, e->d_name, domain, err);
    if (d != NULL)
        closedir(d);
    if (rc == 0 && locale_find(set, dflt) == NULL && locale_add(set, dflt, dflt, err) == NULL)
        rc = -1;
    if (rc < 0) {
        locale_set_free(set);
        return NULL;
    }
    qsort(set->v, set->n, sizeof(*set->v), locale_cmp);
    for (size_t i = 0; i < set->n; i++)
        locale_names(set->v[i]);
    set->dflt = locale_find(set, dflt);
    return set;
}

void locale_set_free(struct locale_set *set)
{
    if (set == NULL)
        return;
    if (locale_current == set)
        locale_current = &locale_builtin_set;
    for (size_t i = 0; i < set->n; i++)
        locale_free(set->v[i]);
    free(set->v);
    free(set);
}

void locale_use(const struct locale_set *set)
{
    locale_current = set ? set : &locale_builtin_set;
}

const struct locale *locale_match(const struct locale_set *set, const char *code)
{
    char buf[64], lang[64];
    size_t len, cut = 0, parts = 1;
    const struct locale *l;

    if (code == NULL || (len = strlen(code)) == 0 || len >= sizeof(buf))
        return NULL;
    /* "en-us" -> "en_US"; three parts or more match nothing (Tornado) */
    for (size_t i = 0; i <= len; i++) {
        buf[i] = code[i] == '-' ? '_' : code[i];
        if (buf[i] == '_' && parts++ == 1)
            cut = i;
    }
    if (parts > 2)
        return NULL;
    if (parts == 1)
        cut = len;
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)(i < cut ? (parts == 2 ? tolower((unsigned char)buf[i]) : buf[i])
                                : toupper((unsigned char)buf[i]));
    if ((l = locale_find(set, buf)) != NULL)
        return l;
    for (size_t i = 0; i < cut; i++)
        lang[i] = (char)tolower((unsigned char)code[i]);
    lang[cut] = '\0';
    return locale_find(set, lang);
}

const struct locale *locale_get(const char *code)
{
    const struct locale *l = locale_match(locale_current, code);

    return l ? l : locale_current->dflt;
}

const char *locale_code(const struct locale *l)
{
    return l->code;
}

static const char *locale_csv_translate(const struct locale *l, const char *msg, const char *plural,
                                        long count)
{
    const struct locale_catalog *c = &l->csv[LOCALE_CSV_UNKNOWN];
    const struct locale_entry *e;

    if (plural != NULL) {
        c = &l->csv[count != 1 ? LOCALE_CSV_PLURAL : LOCALE_CSV_SINGULAR];
        if (count != 1)
            msg = plural;
    }
    e = locale_catalog_find(c, msg);
    return e ? e->forms[0] : msg;
}

/* The entry of msg, in context when not NULL. */
static const struct locale_entry *locale_mo_find(const struct locale *l, const char *context,
                                                 const char *msg)
{
    if (context != NULL)
        return locale_catalog_find_context(&l->mo, context, msg);
    return locale_catalog_find(&l->mo, msg);
}

/* Python's GNUTranslations.gettext: a message, or a plural's form for 1. */
static const char *locale_mo_gettext(const struct locale *l, const char *context, const char *msg)
{
    const struct locale_entry *e = locale_mo_find(l, context, msg);
    long i;

    if (e == NULL)
        return NULL;
    if (!e->is_plural)
        return e->forms[0];
    i = locale_plural_eval(&l->plural, 1);
    return i >= 0 && (size_t)i < e->nforms ? e->forms[i] : NULL;
}

/* Python's GNUTranslations.ngettext, NULL where it falls back to English. */
static const char *locale_mo_ngettext(const struct locale *l, const char *context, const char *msg,
                                      long count)
{
    const struct locale_entry *e = locale_mo_find(l, context, msg);
    long i;

    if (e == NULL || !e->is_plural)
        return NULL;
    i = locale_plural_eval(&l->plural, (unsigned long)count);
    return i >= 0 && (size_t)i < e->nforms ? e->forms[i] : NULL;
}

/* Tornado's GettextLocale.translate and pgettext. */
static const char *locale_mo_translate(const struct locale *l, const char *context, const char *msg,
                                       const char *plural, long count)
{
    const char *t;

    if (context != NULL) {
        t = plural ? locale_mo_ngettext(l, context, msg, count)
                   : locale_mo_gettext(l, context, msg);
        if (t != NULL && strchr(t, LOCALE_CONTEXT_SEPARATOR) == NULL)
            return t;
        if (plural == NULL) /* Tornado: no second lookup without the context */
            return msg;
    }
    t = plural ? locale_mo_ngettext(l, NULL, msg, count) : locale_mo_gettext(l, NULL, msg);
    if (t != NULL)
        return t;
    return plural != NULL && count != 1 ? plural : msg;
}

const char *locale_translate(const struct locale *l, const char *context, const char *msg,
                             const char *plural, long count)
{
    switch (l->kind) {
    case LOCALE_CSV:
        return locale_csv_translate(l, msg, plural, count);
    case LOCALE_MO:
        return locale_mo_translate(l, context, msg, plural, count);
    default:
        return plural != NULL && count != 1 ? plural : msg;
    }
}
