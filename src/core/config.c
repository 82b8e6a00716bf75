/*
 * config.c - read the config file with libconfig, check it against the
 * directive tables below and build the immutable struct config.
 *
 * Every setting is one line of a table: its name, the setter that reads,
 * checks and stores it, the offset of its field, its default and its range.
 * A setter called without a value stores the default, so a struct is always
 * complete. Tables nest: a group setting names the table of its members, a
 * list of groups the table of one entry. The same tables drive config_free,
 * so adding a setting is adding one line.
 *
 * Errors are collected, not returned at the first one: the user fixes the
 * whole file in one go. Each is "FILE:LINE: where: what was expected", where
 * "where" is the setting's path such as "listen[0].port".
 */
/* asprintf, strndup, realpath. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/config_table.h"
#include "core/router.h"

#define CONFIG_MAX_WORKERS 1024
/* Module settings deeper than this are refused: a module (and jansson's own
 * encoder) walks them recursively, in a worker, with a finite stack. */
#define CONFIG_MAX_DEPTH 64

/* One error; its text is the whole "FILE:LINE: ...\n" line. */
struct config_msg {
    const char *file;
    int line;
    size_t seq; /* order of discovery, for a stable sort */
    char *text;
};

struct config_ctx {
    const char *name; /* the file, for settings libconfig knows no file of */
    const char *dir;  /* relative paths are joined to it */
    struct config *cfg;
    struct config_msg *msgs; /* the errors so far; sorted into file order at the end */
    size_t nmsgs, capmsgs;
    int nerrors;    /* may exceed nmsgs when memory for a message ran out */
    char path[512]; /* where we are, "modules[0].routes[1]": message prefix */
    size_t pathlen;
};

/* ---- errors and the position in the file ---- */

int config_line(const config_setting_t *s)
{
    int line = s ? (int)config_setting_source_line(s) : 0;

    /* The root group and settings found missing have no line of their own:
     * point at the top of the file rather than at a line 0. */
    return line > 0 ? line : 1;
}

/* dir + "/" + rel, malloc'd, or NULL. */
static char *config_join(const char *dir, const char *rel)
{
    size_t dlen = strlen(dir);
    int slash = dlen > 0 && dir[dlen - 1] == '/';
    size_t len = dlen + !slash + strlen(rel) + 1;
    char *p = malloc(len);

    if (p != NULL)
        snprintf(p, len, "%s%s%s", dir, slash ? "" : "/", rel);
    return p;
}

static void config_msg_add(struct config_ctx *ctx, const char *file, int line, char *text)
{
    struct config_msg *m;

    if (ctx->nmsgs == ctx->capmsgs) {
        size_t cap = ctx->capmsgs ? ctx->capmsgs * 2 : 16;

        m = realloc(ctx->msgs, cap * sizeof(*m));
        if (m == NULL) {
            free(text);
            return;
        }
        ctx->msgs = m;
        ctx->capmsgs = cap;
    }
    ctx->msgs[ctx->nmsgs] = (struct config_msg){file, line, ctx->nmsgs, text};
    ctx->nmsgs++;
}

static void config_verror(struct config_ctx *ctx, const char *file, int line, const char *fmt,
                          va_list ap)
{
    /* libconfig names an included file as the @include line wrote it, but
     * opened it relative to the config's folder: show the path it opened. */
    char *joined = file && file[0] != '/' ? config_join(ctx->dir, file) : NULL;
    const char *shown = joined ? joined : file ? file : ctx->name;
    char *what = NULL, *text;

    ctx->nerrors++;
    if (vasprintf(&what, fmt, ap) < 0)
        what = NULL;
    else if (asprintf(&text, "%s:%d: %s%s%s\n", shown, line, ctx->path, ctx->pathlen ? ": " : "",
                      what) >= 0)
        config_msg_add(ctx, file ? file : ctx->name, line, text);
    free(what);
    free(joined);
}

/* Report an error at setting s (NULL: the top of the file), prefixed with
 * the current path. Returns -1 so that setters can `return config_error()`. */
__attribute__((format(printf, 3, 4))) int
config_error(struct config_ctx *ctx, const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    config_verror(ctx, s ? config_setting_source_file(s) : NULL, config_line(s), fmt, ap);
    va_end(ap);
    return -1;
}

/* The same at a place libconfig gave, not a setting (syntax errors). */
__attribute__((format(printf, 4, 5))) static void
config_error_at(struct config_ctx *ctx, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    config_verror(ctx, file, line, fmt, ap);
    va_end(ap);
}

static size_t config_path_add(struct config_ctx *ctx, const char *fmt, const char *name, size_t i)
{
    size_t mark = ctx->pathlen;
    size_t room = sizeof(ctx->path) - mark;
    int n = name ? snprintf(ctx->path + mark, room, fmt, mark ? "." : "", name)
                 : snprintf(ctx->path + mark, room, fmt, i);

    /* A truncated path still makes a readable message. */
    if (n > 0)
        ctx->pathlen += (size_t)n < room ? (size_t)n : room - 1;
    return mark;
}

/* Enter member `name` or entry `i`; returns the mark config_path_pop takes. */
static size_t config_path_name(struct config_ctx *ctx, const char *name)
{
    return config_path_add(ctx, "%s%s", name, 0);
}

static size_t config_path_index(struct config_ctx *ctx, size_t i)
{
    return config_path_add(ctx, "[%zu]", NULL, i);
}

static void config_path_pop(struct config_ctx *ctx, size_t mark)
{
    ctx->pathlen = mark;
    ctx->path[mark] = '\0';
}

/* ---- small helpers ---- */

void *config_field(const struct config_directive *d, void *base)
{
    return (char *)base + d->offset;
}

static char *config_dup(struct config_ctx *ctx, const config_setting_t *s, const char *str)
{
    char *copy = strdup(str);

    if (copy == NULL)
        config_error(ctx, s, "out of memory");
    return copy;
}

/* The value of an integer setting (int or int64), or -1 when it is not one.
 * Floats are refused on purpose: "port = 80.5" is a mistake, not 80. */
static int config_integer(const config_setting_t *s, long long *v)
{
    int type = config_setting_type(s);

    if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
        return -1;
    *v = config_setting_get_int64(s);
    return 0;
}

static int config_ranged(struct config_ctx *ctx, const config_setting_t *s,
                         const struct config_directive *d, const char *what, long long *v)
{
    if (config_integer(s, v) == 0 && *v >= d->min && *v <= d->max)
        return 0;
    return config_error(ctx, s, "expected %s from %.15g to %.15g", what, d->min, d->max);
}

static const char *config_string(const config_setting_t *s)
{
    return config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
}

/* A non-empty string without control characters: names, header values and
 * paths all end up in logs, headers or system calls where those do harm. */
static const char *config_text(struct config_ctx *ctx, const config_setting_t *s)
{
    const char *str = config_string(s);

    if (str == NULL || *str == '\0') {
        config_error(ctx, s, "expected a non-empty string");
        return NULL;
    }
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            config_error(ctx, s, "expected a string without control characters");
            return NULL;
        }
    }
    return str;
}

static int config_word(const char *const *words, const char *str)
{
    for (int i = 0; words != NULL && words[i] != NULL; i++) {
        if (strcmp(words[i], str) == 0)
            return i;
    }
    return -1;
}

/* ---- generic setters, one per kind of value ---- */

int config_set_int(struct config_ctx *ctx, const config_setting_t *s,
                   const struct config_directive *d, void *base)
{
    long long v = d->def.i;

    if (s != NULL && config_ranged(ctx, s, d, "an integer", &v) < 0)
        return -1;
    *(int *)config_field(d, base) = (int)v;
    return 0;
}

int config_set_uint(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base)
{
    long long v = d->def.i;

    if (s != NULL && config_ranged(ctx, s, d, "an integer", &v) < 0)
        return -1;
    *(unsigned *)config_field(d, base) = (unsigned)v;
    return 0;
}

int config_set_size(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base)
{
    long long v = d->def.i;

    if (s != NULL && config_ranged(ctx, s, d, "a size in bytes", &v) < 0)
        return -1;
    *(size_t *)config_field(d, base) = (size_t)v;
    return 0;
}

/* A size_t that counts things, not bytes. */
int config_set_count(struct config_ctx *ctx, const config_setting_t *s,
                     const struct config_directive *d, void *base)
{
    long long v = d->def.i;

    if (s != NULL && config_ranged(ctx, s, d, "an integer", &v) < 0)
        return -1;
    *(size_t *)config_field(d, base) = (size_t)v;
    return 0;
}

/* Durations: seconds as an int or a float, "timeout = 10;" or "= 0.25;". */
int config_set_seconds(struct config_ctx *ctx, const config_setting_t *s,
                       const struct config_directive *d, void *base)
{
    double v = d->def.d;
    long long i;

    if (s != NULL) {
        if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
            v = config_setting_get_float(s);
        else
            v = config_integer(s, &i) == 0 ? (double)i : -1.0;
        /* Written so that a NaN fails too. */
        if (!(v >= d->min && v <= d->max))
            return config_error(ctx, s, "expected a number of seconds from %.15g to %.15g", d->min,
                                d->max);
    }
    *(double *)config_field(d, base) = v;
    return 0;
}

int config_set_string(struct config_ctx *ctx, const config_setting_t *s,
                      const struct config_directive *d, void *base)
{
    const char *str = s ? config_text(ctx, s) : d->def.s;

    if (s != NULL && str == NULL)
        return -1;
    if (str != NULL && (*(char **)config_field(d, base) = config_dup(ctx, s, str)) == NULL)
        return -1;
    return 0;
}

/* A path: the words of the directive ("stderr", "off") are kept as they
 * are, a relative path is joined to the config file's folder so that it
 * means the same whatever the server's working directory. */
int config_set_path(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base)
{
    const char *str = s ? config_text(ctx, s) : d->def.s;
    char **field = config_field(d, base);

    if (str == NULL)
        return s ? -1 : 0;
    if (config_word(d->words, str) >= 0 || str[0] == '/')
        *field = strdup(str);
    else
        *field = config_join(ctx->dir, str);
    if (*field == NULL)
        return config_error(ctx, s, "out of memory");
    return 0;
}

/* "one of \"error\", \"warn\"": the words of an enum, for its message. */
static void config_words(const char *const *words, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (int w = 0; words[w] != NULL && len < size; w++)
        len += (size_t)snprintf(buf + len, size - len, "%s\"%s\"", w ? ", " : "", words[w]);
}

int config_set_enum(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base)
{
    const char *str = s ? config_string(s) : NULL;
    int i = str ? config_word(d->words, str) : -1;
    char list[256];

    if (s != NULL && i < 0) {
        config_words(d->words, list, sizeof(list));
        return config_error(ctx, s, "expected one of %s", list);
    }
    *(int *)config_field(d, base) = s ? i : (int)d->def.i;
    return 0;
}

int config_set_bool(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base)
{
    if (s != NULL && config_setting_type(s) != CONFIG_TYPE_BOOL)
        return config_error(ctx, s, "expected true or false");
    *(int *)config_field(d, base) = s ? config_setting_get_bool(s) : (int)d->def.i;
    return 0;
}

/* "auto" (the default) is one worker per online CPU. */
int config_set_workers(struct config_ctx *ctx, const config_setting_t *s,
                       const struct config_directive *d, void *base)
{
    const char *str = s ? config_string(s) : d->def.s;
    int *field = config_field(d, base);
    long long v;

    if (str != NULL && strcmp(str, "auto") == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        *field = cpus < 1 ? 1 : cpus > (long)d->max ? (int)d->max : (int)cpus;
        return 0;
    }
    if (str == NULL && config_integer(s, &v) == 0 && v >= d->min && v <= d->max) {
        *field = (int)v;
        return 0;
    }
    return config_error(ctx, s, "expected a number from %.15g to %.15g or \"auto\"", d->min,
                        d->max);
}

/* inet_pton into buf; returns the family, or -1 for anything else (host
 * names included: the config is checked without asking DNS). */
int config_address(const char *str, unsigned char buf[16])
{
    if (inet_pton(AF_INET, str, buf) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, str, buf) == 1)
        return AF_INET6;
    return -1;
}

int config_set_address(struct config_ctx *ctx, const config_setting_t *s,
                       const struct config_directive *d, void *base)
{
    const char *str = s ? config_string(s) : d->def.s;
    unsigned char buf[16];

    if (str == NULL || config_address(str, buf) < 0)
        return config_error(ctx, s,
                            "expected a numeric IPv4 or IPv6 address such as "
                            "\"0.0.0.0\", \"127.0.0.1\", \"::\" or \"::1\"");
    *(char **)config_field(d, base) = config_dup(ctx, s, str);
    return 0;
}

/* A server's host: an address, or a name resolved now (by the master, at
 * load and reload) and stored as its address, because the clients that use
 * it (hiredis) would resolve it with a blocking call inside a worker's
 * loop. Fuzzing builds never ask the resolver. */
int config_set_host(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base)
{
    const char *str = s ? config_string(s) : d->def.s;
    unsigned char buf[16];
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    char addr[INET6_ADDRSTRLEN];
    int rc;

    if (str == NULL || *str == '\0')
        return config_error(ctx, s, "expected a host name or address");
    if (config_address(str, buf) == 0) {
        *(char **)config_field(d, base) = config_dup(ctx, s, str);
        return 0;
    }
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    hints.ai_flags = AI_NUMERICHOST;
#endif
    rc = getaddrinfo(str, NULL, &hints, &ai);
    if (rc != 0 || ai == NULL)
        return config_error(ctx, s, "cannot resolve host '%s': %s", str,
                            rc ? gai_strerror(rc) : "no address");
    rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0, NI_NUMERICHOST);
    freeaddrinfo(ai);
    if (rc != 0)
        return config_error(ctx, s, "cannot resolve host '%s': %s", str, gai_strerror(rc));
    *(char **)config_field(d, base) = config_dup(ctx, s, addr);
    return 0;
}

/* ["a", "b"], or a lone "a": a list of strings. */
int config_set_strlist(struct config_ctx *ctx, const config_setting_t *s,
                       const struct config_directive *d, void *base)
{
    struct config_strlist *l = config_field(d, base);
    int type = s ? config_setting_type(s) : CONFIG_TYPE_ARRAY;
    size_t n = s == NULL ? 0 : type == CONFIG_TYPE_STRING ? 1 : (size_t)config_setting_length(s);

    if (type != CONFIG_TYPE_STRING && type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
        return config_error(ctx, s, "expected a string or a list of strings [\"a\", \"b\"]");
    if (n == 0)
        return 0;
    l->v = calloc(n, sizeof(char *));
    if (l->v == NULL)
        return config_error(ctx, s, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *e =
            type == CONFIG_TYPE_STRING ? s : config_setting_get_elem(s, (unsigned)i);
        const char *str = config_string(e);
        if (str == NULL || *str == '\0')
            return config_error(ctx, e, "expected a non-empty string");
        l->v[l->n++] = config_dup(ctx, e, str);
    }
    return 0;
}

void config_release_strlist(const struct config_directive *d, void *base)
{
    struct config_strlist *l = config_field(d, base);
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* "10.0.0.0/8", "::1", "192.168.1.7": an address block. */
static int config_cidr(const char *str, struct config_cidr *c)
{
    char addr[64];
    const char *slash = strchr(str, '/');
    size_t len = slash ? (size_t)(slash - str) : strlen(str);
    char *end;

    if (len >= sizeof(addr))
        return -1;
    memcpy(addr, str, len);
    addr[len] = '\0';
    c->family = config_address(addr, c->addr);
    if (c->family < 0)
        return -1;
    int max = c->family == AF_INET ? 32 : 128;
    long bits = slash ? strtol(slash + 1, &end, 10) : max;
    if (slash && (slash[1] == '\0' || *end != '\0'))
        return -1;
    if (bits < 0 || bits > max)
        return -1;
    c->bits = (int)bits;
    return 0;
}

int config_set_cidrs(struct config_ctx *ctx, const config_setting_t *s,
                     const struct config_directive *d, void *base)
{
    struct config_strlist l = {0};
    struct config_directive sd = *d;
    sd.offset = 0;
    int rc = config_set_strlist(ctx, s, &sd, &l);
    struct config_cidr *v = l.n ? calloc(l.n, sizeof(*v)) : NULL;

    for (size_t i = 0; rc == 0 && i < l.n; i++)
        if (v == NULL || config_cidr(l.v[i], &v[i]) < 0)
            rc = config_error(ctx, s,
                              "expected addresses or blocks such as \"127.0.0.1\", "
                              "\"10.0.0.0/8\" or \"::1\", not \"%s\"",
                              l.v[i]);
    sd.release = NULL;
    config_release_strlist(&sd, &l);
    if (rc < 0) {
        free(v);
        return -1;
    }
    *(struct config_cidr **)config_field(d, base) = v;
    *(size_t *)((char *)base + d->count) = v ? l.n : 0;
    return 0;
}

void config_release_ptr(const struct config_directive *d, void *base)
{
    free(*(void **)config_field(d, base));
}

/* A route pattern: compiled here, as the router will, so that a bad one is
 * reported with its line before any worker starts. */
int config_set_pattern(struct config_ctx *ctx, const config_setting_t *s,
                       const struct config_directive *d, void *base)
{
    const char *str = s ? config_text(ctx, s) : NULL;
    char err[300];

    if (str == NULL)
        return -1;
    if (router_check_pattern(str, err, sizeof(err)) < 0)
        return config_error(ctx, s, "%s", err);
    *(char **)config_field(d, base) = config_dup(ctx, s, str);
    return 0;
}

static void config_group(struct config_ctx *ctx, const config_setting_t *g,
                         const struct config_directive *table, void *base);

int config_set_group(struct config_ctx *ctx, const config_setting_t *s,
                     const struct config_directive *d, void *base)
{
    int bad = s != NULL && config_setting_type(s) != CONFIG_TYPE_GROUP;

    if (bad)
        config_error(ctx, s, "expected a group { name = value; ... }");
    /* Without a usable group every member takes its default. */
    config_group(ctx, bad ? NULL : s, d->sub, config_field(d, base));
    return bad ? -1 : 0;
}

static json_t *config_json(struct config_ctx *ctx, const config_setting_t *s, int depth);

/* Free-form module settings: a libconfig group becomes a JSON object. */
int config_set_json(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base)
{
    json_t **field = config_field(d, base);

    if (s == NULL) {
        *field = json_object();
        return *field ? 0 : config_error(ctx, s, "out of memory");
    }
    if (config_setting_type(s) != CONFIG_TYPE_GROUP)
        return config_error(ctx, s, "expected a group { name = value; ... }");
    *field = config_json(ctx, s, 0);
    return *field ? 0 : -1;
}

static void config_scope(struct config_ctx *ctx, const config_setting_t *g, enum config_scope scope,
                         const struct config_directive *table, void *base, void **parts);

static void config_list_entry(struct config_ctx *ctx, const config_setting_t *e,
                              const struct config_directive *d, char *entries, size_t i)
{
    size_t mark = config_path_index(ctx, i);
    char *entry = entries + i * d->size;

    *(int *)(entry + d->line) = config_line(e);
    if (config_setting_type(e) != CONFIG_TYPE_GROUP)
        config_error(ctx, e, "expected a group { name = value; ... }");
    else if (d->scope)
        config_scope(ctx, e, (enum config_scope)(d->scope - 1), d->sub, entry,
                     (void **)(entry + d->parts));
    else
        config_group(ctx, e, d->sub, entry);
    if (d->check != NULL)
        d->check(ctx, e, entries, i);
    config_path_pop(ctx, mark);
}

/* A list of groups, "( { ... }, { ... } )", into a calloc'd array. The array
 * and its count are stored before the entries are read so that config_free
 * can release whatever the entries got, whichever entry failed. */
int config_set_list(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base)
{
    int type = s ? config_setting_type(s) : CONFIG_TYPE_LIST;
    size_t n = s ? (size_t)config_setting_length(s) : 0;
    char *entries;

    /* "[]" is an empty array to libconfig, and an empty list to anyone. */
    if (type != CONFIG_TYPE_LIST && !(type == CONFIG_TYPE_ARRAY && n == 0))
        return config_error(ctx, s, "expected a list ( { ... }, { ... } )");
    if (n < d->min)
        return config_error(ctx, s, "expected at least %.15g entry", d->min);
    if (n == 0)
        return 0;
    entries = calloc(n, d->size);
    if (entries == NULL)
        return config_error(ctx, s, "out of memory");
    *(char **)config_field(d, base) = entries;
    *(size_t *)((char *)base + d->count) = n;
    for (size_t i = 0; i < n; i++)
        config_list_entry(ctx, config_setting_get_elem(s, (unsigned)i), d, entries, i);
    return 0;
}

/* ---- releasers, for config_free ---- */

void config_release_string(const struct config_directive *d, void *base)
{
    free(*(char **)config_field(d, base));
}

void config_release_json(const struct config_directive *d, void *base)
{
    json_decref(*(json_t **)config_field(d, base));
}

void config_release(const struct config_directive *table, void *base);

void config_release_group(const struct config_directive *d, void *base)
{
    config_release(d->sub, config_field(d, base));
}

static void config_release_parts(enum config_scope scope, void **parts);

void config_release_list(const struct config_directive *d, void *base)
{
    char *entries = *(char **)config_field(d, base);
    size_t n = *(size_t *)((char *)base + d->count);

    for (size_t i = 0; i < n; i++) {
        config_release(d->sub, entries + i * d->size);
        if (d->scope)
            config_release_parts((enum config_scope)(d->scope - 1),
                                 (void **)(entries + i * d->size + d->parts));
    }
    free(entries);
}

void config_release(const struct config_directive *table, void *base)
{
    for (const struct config_directive *d = table; d->name != NULL; d++) {
        if (d->release != NULL)
            d->release(d, base);
    }
}

/* ---- module settings to JSON ---- */

/* jansson refuses invalid UTF-8 (and returns NULL on OOM too): tell which. */
static json_t *config_json_string(struct config_ctx *ctx, const config_setting_t *s)
{
    const char *str = config_setting_get_string(s);
    json_t *j = json_string(str);

    if (j == NULL && (j = json_string_nocheck(str)) != NULL) {
        json_decref(j);
        config_error(ctx, s, "expected UTF-8 text");
        return NULL;
    }
    if (j == NULL)
        config_error(ctx, s, "out of memory");
    return j;
}

static json_t *config_json_scalar(struct config_ctx *ctx, const config_setting_t *s)
{
    json_t *j = NULL;

    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        j = json_integer((json_int_t)config_setting_get_int64(s));
        break;
    case CONFIG_TYPE_FLOAT:
        /* jansson has no infinity ("1e999"); json_real refuses it. */
        j = json_real(config_setting_get_float(s));
        if (j == NULL)
            config_error(ctx, s, "expected a finite number");
        return j;
    case CONFIG_TYPE_BOOL:
        j = json_boolean(config_setting_get_bool(s));
        break;
    case CONFIG_TYPE_STRING:
        return config_json_string(ctx, s);
    }
    if (j == NULL)
        config_error(ctx, s, "out of memory");
    return j;
}

/* Add v (stolen, even on failure) to object or array j under e's name. */
static int config_json_add(struct config_ctx *ctx, json_t *j, const config_setting_t *e, json_t *v)
{
    int rc = json_is_object(j) ? json_object_set_new(j, config_setting_name(e), v)
                               : json_array_append_new(j, v);

    return rc < 0 ? config_error(ctx, e, "out of memory") : 0;
}

/* A group or list/array: every member is converted, all errors reported;
 * NULL if any failed. */
static json_t *config_json_compound(struct config_ctx *ctx, const config_setting_t *s, int depth)
{
    int group = config_setting_type(s) == CONFIG_TYPE_GROUP;
    json_t *j = group ? json_object() : json_array();
    int ok = 1;

    if (j == NULL) {
        config_error(ctx, s, "out of memory");
        return NULL;
    }
    for (int i = 0; i < config_setting_length(s); i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        size_t mark = group ? config_path_name(ctx, config_setting_name(e))
                            : config_path_index(ctx, (size_t)i);
        json_t *v = config_json(ctx, e, depth + 1);

        if (v == NULL || config_json_add(ctx, j, e, v) < 0)
            ok = 0;
        config_path_pop(ctx, mark);
    }
    if (!ok) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *config_json(struct config_ctx *ctx, const config_setting_t *s, int depth)
{
    int type = config_setting_type(s);

    if (type != CONFIG_TYPE_GROUP && type != CONFIG_TYPE_LIST && type != CONFIG_TYPE_ARRAY)
        return config_json_scalar(ctx, s);
    if (depth >= CONFIG_MAX_DEPTH) {
        config_error(ctx, s, "nested deeper than %d levels", CONFIG_MAX_DEPTH);
        return NULL;
    }
    return config_json_compound(ctx, s, depth);
}

/* ---- checks across entries ---- */

static void config_check_listen(struct config_ctx *ctx, const config_setting_t *s, void *entries,
                                size_t i)
{
    struct config_listen *l = entries;
    unsigned char a[16], b[16];
    int family = l[i].address ? config_address(l[i].address, a) : -1;

    /* Compare the binary form: "::1" and "0:0::1" are the same address. */
    for (size_t j = 0; family > 0 && l[i].port > 0 && j < i; j++) {
        if (l[j].address == NULL || l[j].port != l[i].port)
            continue;
        if (config_address(l[j].address, b) != family)
            continue;
        if (memcmp(a, b, family == AF_INET ? 4 : 16) == 0) {
            config_error(ctx, s, "address %s port %d is already in listen[%zu] at line %d",
                         l[i].address, l[i].port, j, l[j].line);
            return;
        }
    }
}

/* Route names are global (reverse URLs name a route, not a module): look
 * through every route stored so far. Entries not read yet are zeroed. */
static void config_check_route(struct config_ctx *ctx, const config_setting_t *s, void *entries,
                               size_t i)
{
    const struct config_route *self = (struct config_route *)entries + i;
    const struct config *cfg = ctx->cfg;

    for (size_t m = 0; self->name != NULL && m < cfg->nmodules; m++) {
        for (size_t r = 0; r < cfg->modules[m].nroutes; r++) {
            const struct config_route *other = &cfg->modules[m].routes[r];

            if (other == self)
                return;
            if (other->name != NULL && strcmp(other->name, self->name) == 0) {
                config_error(ctx, config_setting_get_member(s, "name"),
                             "route name '%s' is already used by the route at line %d", self->name,
                             other->line);
                return;
            }
        }
    }
}

/* ---- the tables ---- */

static const char *const config_log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const config_error_log_words[] = {"stderr", NULL};
static const char *const config_access_log_words[] = {"stderr", "off", NULL};

static const struct config_directive config_route_table[] = {
    CONFIG_PATTERN(struct config_route, path, CONFIG_REQUIRED),
    CONFIG_STRING(struct config_route, handler, CONFIG_REQUIRED, NULL),
    CONFIG_STRING(struct config_route, name, 0, NULL),
    CONFIG_BOOL(struct config_route, websocket, 0),
    CONFIG_JSON(struct config_route, settings),
    CONFIG_END,
};

static const struct config_directive config_module_table[] = {
    CONFIG_PATH(struct config_module, path, CONFIG_REQUIRED, NULL, NULL),
    CONFIG_JSON(struct config_module, settings),
    CONFIG_SCOPED_LIST("routes", struct config_module, routes, nroutes, 0, 0, struct config_route,
                       config_route_table, config_check_route, CONFIG_SCOPE_ROUTE),
    CONFIG_END,
};

static const struct config_directive config_listen_table[] = {
    CONFIG_ADDRESS(struct config_listen, address, "0.0.0.0"),
    CONFIG_INT(struct config_listen, port, CONFIG_REQUIRED, 0, 1, 65535),
    CONFIG_INT(struct config_listen, backlog, 0, 511, 1, 65535),
    CONFIG_END,
};

static const struct config_directive config_limits_table[] = {
    CONFIG_SIZE(struct config_limits, max_header_size, 16384, 1, 1 << 20),
    CONFIG_SIZE(struct config_limits, max_uri_size, 8192, 1, 1 << 20),
    CONFIG_COUNT(struct config_limits, max_headers, 100, 1, 10000),
    CONFIG_SIZE(struct config_limits, max_body_size, 10485760, 1, 1LL << 40),
    CONFIG_SECONDS(struct config_limits, header_timeout, 10, 0.001, CONFIG_ONE_DAY),
    CONFIG_SECONDS(struct config_limits, body_timeout, 30, 0.001, CONFIG_ONE_DAY),
    CONFIG_SECONDS(struct config_limits, idle_timeout, 60, 0.001, CONFIG_ONE_DAY),
    CONFIG_SECONDS(struct config_limits, send_timeout, 30, 0.001, CONFIG_ONE_DAY),
    CONFIG_UINT(struct config_limits, keepalive_requests, 0, 0, UINT_MAX),
    CONFIG_COUNT(struct config_limits, max_connections, 10000, 1, 1000000),
    CONFIG_SIZE(struct config_limits, upload_memory_limit, 1048576, 0, 1LL << 40),
    CONFIG_END,
};

static const struct config_directive config_table[] = {
    CONFIG_WORKERS(struct config, workers, 1, CONFIG_MAX_WORKERS),
    CONFIG_STRING(struct config, user, 0, NULL),
    CONFIG_STRING(struct config, group, 0, NULL),
    CONFIG_PATH(struct config, pid_file, 0, NULL, NULL),
    CONFIG_PATH(struct config, error_log, 0, "stderr", config_error_log_words),
    CONFIG_ENUM(struct config, log_level, CONFIG_LOG_INFO, config_log_levels),
    CONFIG_PATH(struct config, access_log, 0, "stderr", config_access_log_words),
    CONFIG_STRING(struct config, server_header, 0, "gale"),
    CONFIG_SECONDS(struct config, grace_period, 30, 0, CONFIG_ONE_DAY),
    CONFIG_GROUP(struct config, limits, config_limits_table),
    CONFIG_SCOPED_LIST("listen", struct config, listens, nlistens, CONFIG_REQUIRED, 1,
                       struct config_listen, config_listen_table, config_check_listen,
                       CONFIG_SCOPE_LISTEN),
    CONFIG_LIST("modules", struct config, modules, nmodules, 0, 0, struct config_module,
                config_module_table, NULL),
    /* Features add their own settings as config parts (config.h). */
    CONFIG_END,
};

/* ---- walking a group against its table ---- */

static const struct config_directive *config_find(const struct config_directive *table,
                                                  const char *name)
{
    for (const struct config_directive *d = table; d->name != NULL; d++) {
        if (d->set != NULL && name != NULL && strcmp(d->name, name) == 0)
            return d;
    }
    return NULL;
}

/* Every member of g the table does not know is a mistake: most often a
 * misspelt name whose intended setting silently keeps its default. */
static void config_unknown(struct config_ctx *ctx, const config_setting_t *g,
                           const struct config_directive *table)
{
    for (int i = 0; g != NULL && i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);

        if (config_find(table, config_setting_name(s)) == NULL)
            config_error(ctx, s, "unknown setting '%s'", config_setting_name(s));
    }
}

/* Read the members of g (NULL: absent, all defaults) that `table` names into
 * base; what the table does not know is left to the caller. */
static void config_members(struct config_ctx *ctx, const config_setting_t *g,
                           const struct config_directive *table, void *base)
{
    for (const struct config_directive *d = table; d->name != NULL; d++) {
        const config_setting_t *s = g ? config_setting_get_member(g, d->name) : NULL;
        size_t mark;

        if (d->set == NULL)
            continue; /* a field the config does not set, only frees (see below) */

        if (s == NULL && (d->flags & CONFIG_REQUIRED)) {
            config_error(ctx, g, "missing required setting '%s'", d->name);
            continue;
        }
        mark = config_path_name(ctx, d->name);
        d->set(ctx, s, d, base);
        config_path_pop(ctx, mark);
    }
}

/* Read group g (NULL: absent, all defaults) into base by its table. */
static void config_group(struct config_ctx *ctx, const config_setting_t *g,
                         const struct config_directive *table, void *base)
{
    config_members(ctx, g, table, base);
    config_unknown(ctx, g, table);
}

/* ---- parts: the features' settings in each scope ---- */

static struct config_part *config_parts[CONFIG_MAX_PARTS];
static size_t config_nparts;

int config_part_register(struct config_part *part)
{
    for (size_t i = 0; i < config_nparts; i++)
        if (config_parts[i] == part)
            return 0;
    if (config_nparts == CONFIG_MAX_PARTS)
        return -1;
    part->index = config_nparts;
    config_parts[config_nparts++] = part;
    return 0;
}

/* Read one part of a scope instance whose group is g into a new struct. */
static void config_part_read(struct config_ctx *ctx, const config_setting_t *g,
                             struct config_part *p, void **parts)
{
    void *settings = calloc(1, p->size);
    size_t mark = p->name ? config_path_name(ctx, p->name) : ctx->pathlen;

    parts[p->index] = settings;
    if (settings == NULL) {
        config_error(ctx, g, "out of memory");
        return;
    }
    if (p->name) {
        g = g ? config_setting_get_member(g, p->name) : NULL;
        if (g != NULL && config_setting_type(g) != CONFIG_TYPE_GROUP) {
            config_error(ctx, g, "expected a group { name = value; ... }");
            g = NULL; /* every member takes its default */
        }
    }
    config_members(ctx, g, p->table, settings);
    if (p->name)
        config_unknown(ctx, g, p->table);
    if (p->check)
        p->check(ctx, g, settings);
    config_path_pop(ctx, mark);
}

/* Whether `name` is a setting of the scope: of its own table, of a part
 * whose settings sit among its own, or a part's group. */
static int config_scope_knows(enum config_scope scope, const struct config_directive *table,
                              const char *name)
{
    if (config_find(table, name) != NULL)
        return 1;
    for (size_t i = 0; i < config_nparts; i++) {
        const struct config_part *p = config_parts[i];
        if (p->scope != scope)
            continue;
        if (p->name ? name != NULL && strcmp(p->name, name) == 0
                    : config_find(p->table, name) != NULL)
            return 1;
    }
    return 0;
}

/* Read a scope instance (the file's top level, a listen entry, a route):
 * its own table into base, then every registered part of the scope. */
static void config_scope(struct config_ctx *ctx, const config_setting_t *g, enum config_scope scope,
                         const struct config_directive *table, void *base, void **parts)
{
    config_members(ctx, g, table, base);
    for (size_t i = 0; i < config_nparts; i++)
        if (config_parts[i]->scope == scope)
            config_part_read(ctx, g, config_parts[i], parts);
    for (int i = 0; g != NULL && i < config_setting_length(g); i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);

        if (!config_scope_knows(scope, table, config_setting_name(s)))
            config_error(ctx, s, "unknown setting '%s'", config_setting_name(s));
    }
}

static void config_release_parts(enum config_scope scope, void **parts)
{
    for (size_t i = 0; i < config_nparts; i++) {
        const struct config_part *p = config_parts[i];
        if (p->scope != scope || parts[p->index] == NULL)
            continue;
        config_release(p->table, parts[p->index]);
        free(parts[p->index]);
        parts[p->index] = NULL;
    }
}

/* ---- the result: the config, or the errors ---- */

/* Errors are found in table order; the user reads the file top down. */
static int config_msg_cmp(const void *a, const void *b)
{
    const struct config_msg *x = a, *y = b;
    int c = strcmp(x->file, y->file);

    if (c != 0)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* All messages as one malloc'd text, in file order; frees them. */
static char *config_msg_text(struct config_ctx *ctx)
{
    size_t len = 0;
    char *text;

    qsort(ctx->msgs, ctx->nmsgs, sizeof(*ctx->msgs), config_msg_cmp);
    for (size_t i = 0; i < ctx->nmsgs; i++)
        len += strlen(ctx->msgs[i].text);
    text = ctx->nmsgs ? malloc(len + 1) : NULL;
    for (size_t i = 0, at = 0; i < ctx->nmsgs; i++) {
        size_t n = strlen(ctx->msgs[i].text);

        if (text != NULL)
            memcpy(text + at, ctx->msgs[i].text, n + 1);
        at += n;
        free(ctx->msgs[i].text);
    }
    free(ctx->msgs);
    /* Every message was lost for want of memory: say at least that. */
    return text ? text : strdup("out of memory\n");
}

static struct config *config_finish(struct config_ctx *ctx, struct config *cfg, char **errors)
{
    if (ctx->nerrors == 0 && cfg != NULL) {
        free(ctx->msgs);
        *errors = NULL;
        return cfg;
    }
    config_free(cfg);
    *errors = config_msg_text(ctx);
    return NULL;
}

/* ---- integers libconfig 1.5 would cut to 32 bits ---- */

/*
 * libconfig 1.5 (Debian 12) keeps only the low 32 bits of an integer written
 * without the L suffix, silently: "max_body_size = 5000000000;" is read as
 * 705032704, and hex above 0x7FFFFFFF turns negative. Nothing in the value
 * shows it afterwards, so the text is scanned for such literals. With the L
 * suffix they are 64-bit in every libconfig version, which keeps the file
 * portable; later versions that widen them on their own lose nothing.
 */
static const char *config_scan_number(struct config_ctx *ctx, const char *file, int line,
                                      const char *p, int negative)
{
    int hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
    unsigned long long v, minus;
    const char *sign = negative ? "-" : "";
    char *end;
    int len;

    errno = 0;
    v = strtoull(p, &end, hex ? 16 : 10);
    if (!hex && (*end == '.' || *end == 'e' || *end == 'E'))
        return end; /* a float: the caller skips the rest of it */
    len = (int)(end - p);
    minus = negative && !hex; /* -2147483648 fits, 2147483648 does not */
    if (errno == ERANGE || v > INT64_MAX + minus)
        config_error_at(ctx, file, line, "integer %s%.*s does not fit in 64 bits", sign, len, p);
    else if (*end != 'L' && v > INT32_MAX + minus)
        config_error_at(ctx, file, line,
                        "integer %s%.*s does not fit in 32 bits: write it %s%.*sL for a 64-bit one",
                        sign, len, p, sign, len, p);
    return end;
}

static int config_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '*';
}

/* Past the string starting at p (its opening quote), counting lines. */
static const char *config_skip_string(const char *p, int *line)
{
    for (p++; *p != '\0' && *p != '"'; p++) {
        if (*p == '\\' && p[1] != '\0')
            p++;
        *line += *p == '\n';
    }
    return *p ? p + 1 : p;
}

/* Past the comment starting at p, if one does, counting lines. */
static const char *config_skip_comment(const char *p, int *line)
{
    if (p[0] == '#' || (p[0] == '/' && p[1] == '/'))
        return p + strcspn(p, "\n");
    if (p[0] != '/' || p[1] != '*')
        return p;
    for (p += 2; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
        *line += *p == '\n';
    return *p ? p + 2 : p;
}

/* Report every integer literal of `text` that libconfig 1.5 would cut. The
 * text parsed already, so it is well formed: strings, comments and names
 * (which may hold digits, as in "h2") are skipped, and what starts with a
 * digit elsewhere is a number. */
static void config_scan_text(struct config_ctx *ctx, const char *text, const char *file)
{
    int line = 1;
    const char *p = text, *q;

    while (*p != '\0') {
        if (*p == '"') {
            p = config_skip_string(p, &line);
        } else if ((q = config_skip_comment(p, &line)) != p) {
            p = q;
        } else if (*p >= '0' && *p <= '9') {
            if (p == text || p[-1] != '.') /* not the fraction of ".5" */
                p = config_scan_number(ctx, file, line, p, p > text && p[-1] == '-');
            while (config_name_char(*p) || *p == '.' || (*p == '+' && (p[-1] | 0x20) == 'e'))
                p++; /* the rest of a float, or the L suffix */
        } else if (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || *p == '*') {
            while (config_name_char(*p))
                p++;
        } else {
            line += *p++ == '\n';
        }
    }
}

/* The whole file as a C string (caller frees), or NULL with errno set. A
 * NUL byte ends the text, as it ends the text of config_load_string. */
static char *config_slurp(const char *path)
{
    FILE *fp = fopen(path, "r");
    struct stat st;
    char *text = NULL;
    size_t cap = 0;
    ssize_t n = 0;
    int err = 0;

    if (fp == NULL)
        return NULL;
    errno = 0;
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode))
        err = EISDIR;
    else if ((n = getdelim(&text, &cap, '\0', fp)) < 0 && (ferror(fp) || !feof(fp)))
        err = errno ? errno : EIO;
    fclose(fp);
    if (err == 0 && n < 0) { /* an empty file */
        free(text);
        text = strdup("");
        err = text ? 0 : ENOMEM;
    }
    if (err != 0) {
        free(text);
        errno = err;
        return NULL;
    }
    return text;
}

/* The included files too: libconfig read them, we read them again. */
static void config_scan_includes(struct config_ctx *ctx, const config_t *lc)
{
    for (unsigned i = 0; lc->filenames != NULL && i < lc->num_filenames; i++) {
        const char *name = lc->filenames[i];
        char *path = name[0] == '/' ? strdup(name) : config_join(ctx->dir, name);
        char *text = path ? config_slurp(path) : NULL;

        if (text != NULL)
            config_scan_text(ctx, text, name);
        free(text);
        free(path);
    }
}

/* ---- loading ---- */

/* Build the config from what libconfig read from `text` (`ok`: whether it
 * could). */
static struct config *config_build(config_t *lc, int ok, const char *text, const char *name,
                                   const char *dir, char **errors)
{
    struct config_ctx ctx = {.name = name, .dir = dir ? dir : "."};
    struct config *cfg = calloc(1, sizeof(*cfg));

    ctx.cfg = cfg;
    if (cfg == NULL) {
        ctx.nerrors++;
    } else if (!ok) {
        config_error_at(&ctx, config_error_file(lc), config_error_line(lc), "%s",
                        config_error_text(lc));
    } else {
        config_scan_text(&ctx, text, NULL);
        config_scan_includes(&ctx, lc);
        cfg->file = config_dup(&ctx, NULL, name);
        cfg->dir = config_dup(&ctx, NULL, ctx.dir);
        config_scope(&ctx, config_root_setting(lc), CONFIG_SCOPE_MAIN, config_table, cfg,
                     cfg->parts);
    }
    return config_finish(&ctx, cfg, errors);
}

struct config *config_load_string(const char *text, const char *name, const char *dir,
                                  char **errors)
{
    config_t lc;
    struct config *cfg;
    int ok;

    config_init(&lc);
    /* libconfig 1.5 joins every @include path, absolute ones too, to this. */
    if (dir != NULL)
        config_set_include_dir(&lc, dir);
    ok = config_read_string(&lc, text) == CONFIG_TRUE;
    cfg = config_build(&lc, ok, text, name, dir, errors);
    config_destroy(&lc);
    return cfg;
}

/* The folder of `file`, absolute: workers and reloads may run from another
 * working directory than the one the path was given in. */
static char *config_dir_of(const char *file)
{
    const char *slash = strrchr(file, '/');
    char *dir = slash ? strndup(file, slash == file ? 1 : (size_t)(slash - file)) : strdup(".");
    char *abs = dir ? realpath(dir, NULL) : NULL;

    if (abs == NULL)
        return dir;
    free(dir);
    return abs;
}

struct config *config_load(const char *file, char **errors)
{
    char *text = config_slurp(file);
    char *dir;
    struct config *cfg;

    if (text == NULL) {
        /* No line to name: the file as a whole could not be read. */
        if (asprintf(errors, "%s: cannot read: %s\n", file, strerror(errno)) < 0)
            *errors = NULL;
        return NULL;
    }
    dir = config_dir_of(file);
    cfg = config_load_string(text, file, dir, errors);
    free(dir);
    free(text);
    return cfg;
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    config_release(config_table, cfg);
    config_release_parts(CONFIG_SCOPE_MAIN, cfg->parts);
    free(cfg->file);
    free(cfg->dir);
    free(cfg);
}
