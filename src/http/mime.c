/*
 * mime.c - media types by file extension (see mime.h).
 */
#include "http/mime.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"

struct mime_entry {
    const char *ext;
    const char *type;
    size_t seq; /* its place in the file: of two lines naming an extension, the last wins */
};

/* When /etc/mime.types is missing (a minimal container): the types a web
 * site is made of, as Debian's file names them. Sorted by extension. */
static const struct mime_entry mime_builtin[] = {
    {"avif", "image/avif", 0},
    {"css", "text/css", 0},
    {"csv", "text/csv", 0},
    {"gif", "image/gif", 0},
    {"htm", "text/html", 0},
    {"html", "text/html", 0},
    {"ico", "image/vnd.microsoft.icon", 0},
    {"jpeg", "image/jpeg", 0},
    {"jpg", "image/jpeg", 0},
    {"js", "text/javascript", 0},
    {"json", "application/json", 0},
    {"map", "application/json", 0},
    {"mjs", "text/javascript", 0},
    {"mp3", "audio/mpeg", 0},
    {"mp4", "video/mp4", 0},
    {"ogg", "audio/ogg", 0},
    {"otf", "font/otf", 0},
    {"pdf", "application/pdf", 0},
    {"png", "image/png", 0},
    {"svg", "image/svg+xml", 0},
    {"ttf", "font/ttf", 0},
    {"txt", "text/plain", 0},
    {"wasm", "application/wasm", 0},
    {"webm", "video/webm", 0},
    {"webmanifest", "application/manifest+json", 0},
    {"webp", "image/webp", 0},
    {"woff", "font/woff", 0},
    {"woff2", "font/woff2", 0},
    {"xml", "application/xml", 0},
    {"zip", "application/zip", 0},
};

/* The table in use: the built-in one, or one read from a file (owned: kept
 * until the next mime_load, for the life of a worker). */
static const struct mime_entry *mime_table = mime_builtin;
static size_t mime_count = ARRAY_SIZE(mime_builtin);
static int mime_loaded;

static int mime_cmp(const void *a, const void *b)
{
    return strcasecmp(((const struct mime_entry *)a)->ext, ((const struct mime_entry *)b)->ext);
}

static int mime_cmp_seq(const void *a, const void *b)
{
    const struct mime_entry *x = a, *y = b;
    int c = mime_cmp(a, b);
    return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* One line of mime.types: "type ext ext ..."; '#' starts a comment.
 * Extensions with a dot ("cwl.json") are left out: lookups use the last. */
static void mime_parse_line(char *line, struct mime_entry **v, size_t *n, size_t *cap)
{
    char *save = NULL;
    line[strcspn(line, "#\n")] = '\0';
    char *type = strtok_r(line, " \t", &save);
    char *ext;
    while (type && (ext = strtok_r(NULL, " \t", &save))) {
        if (strchr(ext, '.'))
            continue;
        if (*n == *cap) {
            *cap = *cap ? *cap * 2 : 512;
            *v = xrealloc(*v, *cap * sizeof(**v));
        }
        (*v)[(*n)++] = (struct mime_entry){xstrdup(ext), xstrdup(type), *n};
    }
}

/* Free a table read from a file (mime_load runs before serving: no lookup
 * holds its strings). */
static void mime_free_table(void)
{
    if (mime_table == mime_builtin)
        return;
    for (size_t i = 0; i < mime_count; i++) {
        free((char *)mime_table[i].ext);
        free((char *)mime_table[i].type);
    }
    free((struct mime_entry *)mime_table);
    mime_table = mime_builtin;
    mime_count = ARRAY_SIZE(mime_builtin);
}

int mime_load(const char *file)
{
    FILE *f = file ? fopen(file, "r") : NULL;
    mime_loaded = 1;
    mime_free_table();
    if (!f)
        return file ? -1 : 0;
    struct mime_entry *v = NULL;
    size_t n = 0, cap = 0;
    char line[1024];
    while (fgets(line, sizeof(line), f))
        mime_parse_line(line, &v, &n, &cap);
    fclose(f);
    if (!v)
        return 0; /* an empty file: the built-in table */
    qsort(v, n, sizeof(*v), mime_cmp_seq);
    mime_table = v;
    mime_count = n;
    return 0;
}

const char *mime_type(const char *name)
{
    if (!mime_loaded)
        mime_load("/etc/mime.types");
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash + 1 : name, '.');
    if (!dot || !dot[1])
        return NULL;
    struct mime_entry key = {dot + 1, NULL, 0};
    const struct mime_entry *e = bsearch(&key, mime_table, mime_count, sizeof(key), mime_cmp);
    while (e && e + 1 < mime_table + mime_count && !mime_cmp(e, e + 1))
        e++; /* the file's last line for it, as Python's mimetypes */
    return e ? e->type : NULL;
}

int mime_is_text(const char *type)
{
    static const char *const texts[] = {"application/javascript", "application/json",
                                        "application/xml", "image/svg+xml"};
    if (!strncasecmp(type, "text/", 5))
        return 1;
    for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
        if (!strcasecmp(type, texts[i]))
            return 1;
    return 0;
}
