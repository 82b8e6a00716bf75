/*
 * locale_driver.c - src/page's translations as a filter, for the
 * differential test against tornado.locale (locale_tornado.py).
 *
 *   locale_driver DIR DOMAIN DEFAULT  (DIR "-": no catalogs)
 *
 * Reads one request a line, fields separated by tabs, and writes one
 * answer a line (ERROR when the function returns NULL):
 *   get CODE                         locale_get's code
 *   accept HEADER                    the code Accept-Language chooses
 *   tr CODE CTX MSG PLURAL COUNT     locale_translate ("\x01": NULL)
 *   date CODE WHEN OFFSET REL SHORT FULL NOW
 *   day CODE WHEN OFFSET DOW
 *   list CODE PARTS                  parts separated by \x1f
 *   num CODE VALUE
 *   dump CODE                        the CSV tables: TABLE\x1fKEY\x1fVALUE entries
 *                                    separated by \x1e, newlines written \n and
 *                                    backslashes \\
 * Catalog errors are printed to stderr with exit status 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "page/locale.h"

#define DRIVER_MAX_FIELDS 10

static const char *driver_arg(const char *s)
{
    return strcmp(s, "\x01") == 0 ? NULL : s;
}

static const char *driver_accept(const struct locale_set *set, const char *header)
{
    char buf[4096];
    const char *codes[64];
    size_t n = locale_accept_parse(header, buf, sizeof(buf), codes, 64);

    for (size_t i = 0; i < n; i++) {
        const struct locale *l = locale_match(set, codes[i]);
        if (l != NULL)
            return locale_code(l);
    }
    return locale_code(set->dflt);
}

static const char *driver_list(struct arena *a, const struct locale *l, char *s)
{
    const char *parts[64];
    size_t n = 0;

    if (*s != '\0')
        for (char *p = s; n < 64; n++) {
            char *sep = strchr(p, '\x1f');
            parts[n] = p;
            if (sep == NULL) {
                n++;
                break;
            }
            *sep = '\0';
            p = sep + 1;
        }
    return locale_list(l, a, parts, n);
}

/* s with newlines and backslashes escaped, appended to out at *len. */
static void driver_escape(char *out, size_t *len, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\n' || *s == '\\')
            out[(*len)++] = '\\';
        out[(*len)++] = *s == '\n' ? 'n' : *s;
    }
}

static const char *driver_dump(struct arena *a, const struct locale *l)
{
    static const char *const tables[] = {"unknown", "singular", "plural"};
    size_t size = 1, len = 0;
    char *out;

    for (int t = 0; t < 3; t++)
        for (size_t i = 0; i < l->csv[t].n; i++)
            size += 2 * (strlen(l->csv[t].v[i].key) + strlen(l->csv[t].v[i].forms[0])) + 16;
    out = arena_alloc(a, size);
    for (int t = 0; t < 3; t++)
        for (size_t i = 0; i < l->csv[t].n; i++) {
            if (len > 0)
                out[len++] = '\x1e';
            memcpy(out + len, tables[t], strlen(tables[t]));
            len += strlen(tables[t]);
            out[len++] = '\x1f';
            driver_escape(out, &len, l->csv[t].v[i].key);
            out[len++] = '\x1f';
            driver_escape(out, &len, l->csv[t].v[i].forms[0]);
        }
    out[len] = '\0';
    return out;
}

static const char *driver_run(struct arena *a, const struct locale_set *set, char **f, int n)
{
    const struct locale *l = n > 1 ? locale_get(f[1]) : NULL;

    if (n == 2 && strcmp(f[0], "get") == 0)
        return locale_code(l);
    if (n == 2 && strcmp(f[0], "dump") == 0)
        return driver_dump(a, l);
    if (n == 2 && strcmp(f[0], "accept") == 0)
        return driver_accept(set, f[1]);
    if (n == 6 && strcmp(f[0], "tr") == 0)
        return locale_translate(l, driver_arg(f[2]), f[3], driver_arg(f[4]), atol(f[5]));
    if (n == 8 && strcmp(f[0], "date") == 0)
        return locale_format_date(l, a, strtod(f[2], NULL), atoi(f[3]), atoi(f[4]), atoi(f[5]),
                                  atoi(f[6]), strtod(f[7], NULL));
    if (n == 5 && strcmp(f[0], "day") == 0)
        return locale_format_day(l, a, strtod(f[2], NULL), atoi(f[3]), atoi(f[4]));
    if (n == 3 && strcmp(f[0], "list") == 0)
        return driver_list(a, l, f[2]);
    if (n == 3 && strcmp(f[0], "num") == 0)
        return locale_friendly_number(l, a, strtoll(f[2], NULL, 10));
    return "BAD REQUEST";
}

int main(int argc, char **argv)
{
    struct locale_set *set;
    struct arena *a;
    char *err = NULL, *line = NULL, *f[DRIVER_MAX_FIELDS];
    size_t cap = 0;
    ssize_t len;

    if (argc != 4) {
        fprintf(stderr, "usage: locale_driver DIR DOMAIN DEFAULT\n");
        return 2;
    }
    set = locale_set_load(strcmp(argv[1], "-") ? argv[1] : NULL, argv[2], argv[3], &err);
    if (set == NULL) {
        fprintf(stderr, "%s\n", err);
        free(err);
        return 2;
    }
    locale_use(set);
    a = arena_new(4096);
    while ((len = getline(&line, &cap, stdin)) > 0) {
        int n = 0;
        const char *out;
        if (line[len - 1] == '\n')
            line[len - 1] = '\0';
        for (char *p = line; p != NULL && n < DRIVER_MAX_FIELDS;)
            f[n++] = strsep(&p, "\t");
        out = driver_run(a, set, f, n);
        printf("%s\n", out ? out : "ERROR");
        arena_reset(a);
    }
    fflush(stdout);
    free(line);
    arena_free(a);
    locale_set_free(set);
    return 0;
}
