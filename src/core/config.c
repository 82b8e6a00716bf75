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
#include "core/router.h"

#define CONFIG_MAX_WORKERS 1024
#define CONFIG_ONE_DAY 86400.0
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

struct config_directive;

/* Read setting s (NULL: absent, store the default) into the field at
 * base + d->offset. Returns 0, or -1 after reporting the error. */
typedef int (*config_setter)(struct config_ctx *ctx, const config_setting_t *s,
                             const struct config_directive *d, void *base);

/* Free what a setter stored in the field at base + d->offset. */
typedef void (*config_releaser)(const struct config_directive *d, void *base);

/* A list's optional check across its entries, once entry i is stored
 * (duplicates). Reports its own errors. */
typedef void (*config_checker)(struct config_ctx *ctx, const config_setting_t *s, void *entries,
                               size_t i);

struct config_directive {
    const char *name;
    config_setter set;
    config_releaser release; /* NULL when the field owns no memory */
    size_t offset;
    unsigned flags;
    union {
        long long i;
        double d;
        const char *s;
    } def;
    double min, max;                    /* numbers: inclusive range; lists: min entries */
    const char *const *words;           /* enum: its words; paths: values kept verbatim */
    const struct config_directive *sub; /* group, list: the table of a member/entry */
    size_t size, count, line;           /* list: entry size, offsets of count and entry line */
    config_checker check;               /* list: NULL or a check across entries */
};

#define CONFIG_REQUIRED 1u

/* ---- errors and the position in the file ---- */

static int config_line(const config_setting_t *s)
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
__attribute__((format(printf, 3, 4))) static int
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

static void *config_field(const struct config_directive *d, void *base)
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

static int config_set_int(struct config_ctx *ctx, const config_setting_t *s,
                          const struct config_directive *d, void *base)
{
    long long v = d->def.i;

    if (s != NULL && config_ranged(ctx, s, d, "an integer", &v) < 0)
        return -1;
    *(int *)config_field(d, base) = (int)v;
    return 0;
}

static int config_set_uint(struct config_ctx *ctx, const config_setting_t *s,
                           const struct config_directive *d, void *base)
{
    long long v = d->def.i;

    if (s != NULL && config_ranged(ctx, s, d, "an integer", &v) < 0)
        return -1;
    *(unsigned *)config_field(d, base) = (unsigned)v;
    return 0;
}

static int config_set_size(struct config_ctx *ctx, const config_setting_t *s,
                           const struct config_directive *d, void *base)
{
    long long v = d->def.i;

    if (s != NULL && config_ranged(ctx, s, d, "a size in bytes", &v) < 0)
        return -1;
    *(size_t *)config_field(d, base) = (size_t)v;
    return 0;
}

/* A size_t that counts things, not bytes. */
static int config_set_count(struct config_ctx *ctx, const config_setting_t *s,
                            const struct config_directive *d, void *base)
{
    long long v = d->def.i;

    if (s != NULL && config_ranged(ctx, s, d, "an integer", &v) < 0)
        return -1;
    *(size_t *)config_field(d, base) = (size_t)v;
    return 0;
}

/* Durations: seconds as an int or a float, "timeout = 10;" or "= 0.25;". */
static int config_set_seconds(struct config_ctx *ctx, const config_setting_t *s,
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

static int config_set_string(struct config_ctx *ctx, const config_setting_t *s,
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
static int config_set_path(struct config_ctx *ctx, const config_setting_t *s,
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

static int config_set_enum(struct config_ctx *ctx, const config_setting_t *s,
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

static int config_set_bool(struct config_ctx *ctx, const config_setting_t *s,
                           const struct config_directive *d, void *base)
{
    if (s != NULL && config_setting_type(s) != CONFIG_TYPE_BOOL)
        return config_error(ctx, s, "expected true or false");
    *(int *)config_field(d, base) = s ? config_setting_get_bool(s) : (int)d->def.i;
    return 0;
}

/* "auto" (the default) is one worker per online CPU. */
static int config_set_workers(struct config_ctx *ctx, const config_setting_t *s,
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
static int config_address(const char *str, unsigned char buf[16])
{
    if (inet_pton(AF_INET, str, buf) == 1)
        return AF_INET;
    if (inet_pton(AF_INET6, str, buf) == 1)
        return AF_INET6;
    return -1;
}

static int config_set_address(struct config_ctx *ctx, const config_setting_t *s,
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
static int config_set_host(struct config_ctx *ctx, const config_setting_t *s,
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
static int config_set_strlist(struct config_ctx *ctx, const config_setting_t *s,
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

static void config_release_strlist(const struct config_directive *d, void *base)
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

static int config_set_cidrs(struct config_ctx *ctx, const config_setting_t *s,
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

static void config_release_ptr(const struct config_directive *d, void *base)
{
    free(*(void **)config_field(d, base));
}

/* A route pattern: compiled here, as the router will, so that a bad one is
 * reported with its line before any worker starts. */
static int config_set_pattern(struct config_ctx *ctx, const config_setting_t *s,
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

static int config_set_group(struct config_ctx *ctx, const config_setting_t *s,
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

/* Key versions are unique, and cookie_keys replaces cookie_secret. */
static void config_check_cookie_key(struct config_ctx *ctx, const config_setting_t *s,
                                    void *entries, size_t i)
{
    struct config_cookie_key *k = entries;
    for (size_t j = 0; j < i; j++)
        if (k[j].version == k[i].version)
            config_error(ctx, s, "key version %d is already used at line %d", k[i].version,
                         k[j].line);
    if (i == 0 && ctx->cfg->cookie_secret != NULL)
        config_error(ctx, s, "expected cookie_secret or cookie_keys, not both");
}

/* Sessions travel in a signed cookie: they need a cookie secret. */
static int config_set_sessions(struct config_ctx *ctx, const config_setting_t *s,
                               const struct config_directive *d, void *base)
{
    struct config_sessions *ss = config_field(d, base);
    int rc = config_set_group(ctx, s, d, base);

    ss->line = s ? config_line(s) : 0;
    if (s != NULL && rc == 0 && ctx->cfg->cookie_secret == NULL && ctx->cfg->ncookie_keys == 0)
        return config_error(ctx, s,
                            "sessions need cookie_secret or cookie_keys (the session "
                            "cookie is signed)");
    return rc;
}

/* A cors group needs the origins it allows. */
static int config_set_cors(struct config_ctx *ctx, const config_setting_t *s,
                           const struct config_directive *d, void *base)
{
    struct config_cors *c = config_field(d, base);
    int rc = config_set_group(ctx, s, d, base);

    c->line = s ? config_line(s) : 0;
    if (s != NULL && rc == 0 && c->origins.n == 0)
        return config_error(ctx, s, "expected origins (\"*\" or a list of origins)");
    return rc;
}

/* The contents of an error page are read now: a missing file is a config
 * error, and workers need no access to it. */
static void config_check_error_page(struct config_ctx *ctx, const config_setting_t *s,
                                    void *entries, size_t i)
{
    struct config_error_page *p = (struct config_error_page *)entries + i;
    FILE *f = p->file ? fopen(p->file, "rb") : NULL;
    char *buf = NULL;
    size_t len = 0;

    for (size_t j = 0; j < i; j++)
        if (((struct config_error_page *)entries)[j].status == p->status)
            config_error(ctx, s, "status %d already has a page", p->status);
    if (p->file == NULL)
        return;
    if (f == NULL) {
        config_error(ctx, s, "cannot read %s: %s", p->file, strerror(errno));
        return;
    }
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while (m != NULL && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    if (m != NULL)
        fclose(m);
    fclose(f);
    if (buf == NULL || len > 1024 * 1024) {
        free(buf);
        config_error(ctx, s, "%s: expected a readable file of at most 1 MiB", p->file);
        return;
    }
    p->body = buf;
    p->len = len;
}

static void config_release_page_body(const struct config_directive *d, void *base)
{
    free(((struct config_error_page *)base)->body);
}

/* A tls group turns a listen entry into HTTPS: it needs a certificate and
 * its key, and client verification needs the CAs to verify against. */
static int config_set_tls(struct config_ctx *ctx, const config_setting_t *s,
                          const struct config_directive *d, void *base)
{
    struct config_tls *t = config_field(d, base);
    int rc = config_set_group(ctx, s, d, base);

    t->line = s ? config_line(s) : 0;
    if (s == NULL || rc < 0)
        return rc;
    if (t->certificate == NULL || t->key == NULL)
        return config_error(ctx, s, "expected certificate and key (PEM files)");
    if (t->verify_client != CONFIG_VERIFY_OFF && t->client_ca == NULL)
        return config_error(ctx, s, "verify_client needs client_ca (the CAs to verify against)");
    return 0;
}

/* Free-form module settings: a libconfig group becomes a JSON object. */
static int config_set_json(struct config_ctx *ctx, const config_setting_t *s,
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

static void config_list_entry(struct config_ctx *ctx, const config_setting_t *e,
                              const struct config_directive *d, char *entries, size_t i)
{
    size_t mark = config_path_index(ctx, i);
    char *entry = entries + i * d->size;

    *(int *)(entry + d->line) = config_line(e);
    if (config_setting_type(e) != CONFIG_TYPE_GROUP)
        config_error(ctx, e, "expected a group { name = value; ... }");
    else
        config_group(ctx, e, d->sub, entry);
    if (d->check != NULL)
        d->check(ctx, e, entries, i);
    config_path_pop(ctx, mark);
}

/* A list of groups, "( { ... }, { ... } )", into a calloc'd array. The array
 * and its count are stored before the entries are read so that config_free
 * can release whatever the entries got, whichever entry failed. */
static int config_set_list(struct config_ctx *ctx, const config_setting_t *s,
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

static void config_release_string(const struct config_directive *d, void *base)
{
    free(*(char **)config_field(d, base));
}

static void config_release_json(const struct config_directive *d, void *base)
{
    json_decref(*(json_t **)config_field(d, base));
}

static void config_release(const struct config_directive *table, void *base);

static void config_release_group(const struct config_directive *d, void *base)
{
    config_release(d->sub, config_field(d, base));
}

static void config_release_list(const struct config_directive *d, void *base)
{
    char *entries = *(char **)config_field(d, base);
    size_t n = *(size_t *)((char *)base + d->count);

    for (size_t i = 0; i < n; i++)
        config_release(d->sub, entries + i * d->size);
    free(entries);
}

static void config_release(const struct config_directive *table, void *base)
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

#define CONFIG_NUMBER(setter, st, f, fl, dflt, lo, hi)                                             \
    {                                                                                              \
        .name = #f, .set = setter, .offset = offsetof(st, f), .flags = fl, .def.i = dflt,          \
        .min = lo, .max = hi                                                                       \
    }
#define CONFIG_INT(st, f, fl, dflt, lo, hi) CONFIG_NUMBER(config_set_int, st, f, fl, dflt, lo, hi)
#define CONFIG_UINT(st, f, dflt, lo, hi) CONFIG_NUMBER(config_set_uint, st, f, 0, dflt, lo, hi)
#define CONFIG_SIZE(st, f, dflt, lo, hi) CONFIG_NUMBER(config_set_size, st, f, 0, dflt, lo, hi)
#define CONFIG_COUNT(st, f, dflt, lo, hi) CONFIG_NUMBER(config_set_count, st, f, 0, dflt, lo, hi)
#define CONFIG_SECONDS(st, f, dflt, lo, hi)                                                        \
    {                                                                                              \
        .name = #f, .set = config_set_seconds, .offset = offsetof(st, f), .def.d = dflt,           \
        .min = lo, .max = hi                                                                       \
    }
#define CONFIG_STRINGISH(setter, st, f, fl, dflt, wordlist)                                        \
    {                                                                                              \
        .name = #f, .set = setter, .release = config_release_string, .offset = offsetof(st, f),    \
        .flags = fl, .def.s = dflt, .words = wordlist                                              \
    }
#define CONFIG_STRING(st, f, fl, dflt) CONFIG_STRINGISH(config_set_string, st, f, fl, dflt, NULL)
#define CONFIG_PATH(st, f, fl, dflt, words)                                                        \
    CONFIG_STRINGISH(config_set_path, st, f, fl, dflt, words)
#define CONFIG_ADDRESS(st, f, dflt) CONFIG_STRINGISH(config_set_address, st, f, 0, dflt, NULL)
#define CONFIG_HOST(st, f, dflt) CONFIG_STRINGISH(config_set_host, st, f, 0, dflt, NULL)
#define CONFIG_PATTERN(st, f, fl) CONFIG_STRINGISH(config_set_pattern, st, f, fl, NULL, NULL)
#define CONFIG_ENUM(st, f, dflt, wordlist)                                                         \
    {                                                                                              \
        .name = #f, .set = config_set_enum, .offset = offsetof(st, f), .def.i = dflt,              \
        .words = wordlist                                                                          \
    }
#define CONFIG_STRLIST(st, f)                                                                      \
    {                                                                                              \
        .name = #f, .set = config_set_strlist, .release = config_release_strlist,                  \
        .offset = offsetof(st, f)                                                                  \
    }
#define CONFIG_BOOL(st, f, dflt)                                                                   \
    {                                                                                              \
        .name = #f, .set = config_set_bool, .offset = offsetof(st, f), .def.i = dflt               \
    }
#define CONFIG_JSON(st, f)                                                                         \
    {                                                                                              \
        .name = #f, .set = config_set_json, .release = config_release_json,                        \
        .offset = offsetof(st, f)                                                                  \
    }
#define CONFIG_GROUP(st, f, table)                                                                 \
    {                                                                                              \
        .name = #f, .set = config_set_group, .release = config_release_group,                      \
        .offset = offsetof(st, f), .sub = table                                                    \
    }
/* A list named `key` of entries of type est, stored in st's fields f (the
 * array) and n (its length), with at least `least` entries. */
#define CONFIG_LIST(key, st, f, n, fl, least, est, table, checker)                                 \
    {                                                                                              \
        .name = key, .set = config_set_list, .release = config_release_list,                       \
        .offset = offsetof(st, f), .flags = fl, .min = least, .sub = table, .size = sizeof(est),   \
        .count = offsetof(st, n), .line = offsetof(est, line), .check = checker                    \
    }

/* A number of processes, or "auto" (the default): one per online CPU. */
#define CONFIG_WORKERS(st, f, lo, hi)                                                              \
    {                                                                                              \
        .name = #f, .set = config_set_workers, .offset = offsetof(st, f), .def.s = "auto",         \
        .min = lo, .max = hi                                                                       \
    }

/* The end of a table. */
#define CONFIG_END                                                                                 \
    {                                                                                              \
        .name = NULL                                                                               \
    }

static const char *const config_log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const config_error_log_words[] = {"stderr", NULL};
static const char *const config_access_log_words[] = {"stderr", "off", NULL};

static const struct config_directive config_cors_table[] = {
    CONFIG_STRLIST(struct config_cors, origins),
    CONFIG_STRLIST(struct config_cors, methods),
    CONFIG_STRLIST(struct config_cors, headers),
    CONFIG_STRLIST(struct config_cors, expose),
    CONFIG_BOOL(struct config_cors, credentials, 0),
    CONFIG_INT(struct config_cors, max_age, 0, 600, 0, 86400),
    CONFIG_END,
};

static const struct config_directive config_route_table[] = {
    CONFIG_PATTERN(struct config_route, path, CONFIG_REQUIRED),
    CONFIG_STRING(struct config_route, handler, CONFIG_REQUIRED, NULL),
    CONFIG_STRING(struct config_route, name, 0, NULL),
    CONFIG_BOOL(struct config_route, xsrf, 1),
    CONFIG_BOOL(struct config_route, authenticated, 0),
    CONFIG_BOOL(struct config_route, websocket, 0),
    {.name = "cors",
     .set = config_set_cors,
     .release = config_release_group,
     .offset = offsetof(struct config_route, cors),
     .sub = config_cors_table},
    CONFIG_END,
};

static const struct config_directive config_cookie_key_table[] = {
    CONFIG_INT(struct config_cookie_key, version, CONFIG_REQUIRED, 0, 0, 1000000),
    CONFIG_STRING(struct config_cookie_key, secret, CONFIG_REQUIRED, NULL),
    CONFIG_END,
};

static const char *const config_store_words[] = {"lmdb", "redis", NULL};

static const struct config_directive config_redis_table[] = {
    CONFIG_HOST(struct config_redis, host, "127.0.0.1"),
    CONFIG_INT(struct config_redis, port, 0, 6379, 1, 65535),
    CONFIG_STRING(struct config_redis, password, 0, NULL),
    CONFIG_INT(struct config_redis, db, 0, 0, 0, 1000),
    CONFIG_STRING(struct config_redis, prefix, 0, "gale:session:"),
    CONFIG_END,
};

static const struct config_directive config_sessions_table[] = {
    CONFIG_ENUM(struct config_sessions, store, CONFIG_STORE_LMDB, config_store_words),
    CONFIG_PATH(struct config_sessions, dir, 0, "state", NULL),
    CONFIG_SIZE(struct config_sessions, map_size, 268435456, 1048576, 1LL << 40),
    CONFIG_GROUP(struct config_sessions, redis, config_redis_table),
    CONFIG_STRING(struct config_sessions, cookie, 0, "gale_session"),
    CONFIG_SECONDS(struct config_sessions, max_age, 1209600, 60, 366 * CONFIG_ONE_DAY),
    CONFIG_END,
};

static const struct config_directive config_websocket_table[] = {
    CONFIG_SIZE(struct config_websocket, max_message_size, 16777216, 1, 1LL << 32),
    CONFIG_SECONDS(struct config_websocket, ping_interval, 30, 0, CONFIG_ONE_DAY),
    CONFIG_SECONDS(struct config_websocket, ping_timeout, 30, 0.001, CONFIG_ONE_DAY),
    CONFIG_SECONDS(struct config_websocket, close_timeout, 5, 0.001, 3600),
    CONFIG_STRLIST(struct config_websocket, origins),
    CONFIG_BOOL(struct config_websocket, compression, 0),
    CONFIG_INT(struct config_websocket, compression_level, 0, 6, 1, 9),
    CONFIG_END,
};

static const char *const config_pubsub_words[] = {"local", "redis", NULL};

static const struct config_directive config_pubsub_redis_table[] = {
    CONFIG_HOST(struct config_redis, host, "127.0.0.1"),
    CONFIG_INT(struct config_redis, port, 0, 6379, 1, 65535),
    CONFIG_STRING(struct config_redis, password, 0, NULL),
    CONFIG_INT(struct config_redis, db, 0, 0, 0, 1000),
    CONFIG_STRING(struct config_redis, prefix, 0, "gale:pubsub:"),
    CONFIG_END,
};

static const struct config_directive config_pubsub_table[] = {
    CONFIG_ENUM(struct config_pubsub, backend, CONFIG_PUBSUB_LOCAL, config_pubsub_words),
    CONFIG_GROUP(struct config_pubsub, redis, config_pubsub_redis_table),
    CONFIG_END,
};

static const struct config_directive config_error_page_table[] = {
    CONFIG_INT(struct config_error_page, status, CONFIG_REQUIRED, 0, 400, 599),
    CONFIG_PATH(struct config_error_page, file, CONFIG_REQUIRED, NULL, NULL),
    CONFIG_STRING(struct config_error_page, type, 0, "text/html; charset=utf-8"),
    /* not a setting: read from `file`, freed with the entry */
    {.name = "body", .release = config_release_page_body},
    CONFIG_END,
};

static const struct config_directive config_module_table[] = {
    CONFIG_PATH(struct config_module, path, CONFIG_REQUIRED, NULL, NULL),
    CONFIG_JSON(struct config_module, settings),
    CONFIG_LIST("routes", struct config_module, routes, nroutes, 0, 0, struct config_route,
                config_route_table, config_check_route),
    CONFIG_END,
};

static const char *const config_tls_protocols[] = {"TLSv1.2", "TLSv1.3", NULL};
static const char *const config_verify_words[] = {"off", "optional", "require", NULL};

/* Mozilla's "intermediate" TLS 1.2 suites: forward secret AEADs only. */
#define CONFIG_TLS12_CIPHERS                                                                       \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define CONFIG_TLS13_SUITES                                                                        \
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

static const struct config_directive config_cert_table[] = {
    CONFIG_STRING(struct config_cert, server_name, CONFIG_REQUIRED, NULL),
    CONFIG_PATH(struct config_cert, certificate, CONFIG_REQUIRED, NULL, NULL),
    CONFIG_PATH(struct config_cert, key, CONFIG_REQUIRED, NULL, NULL),
    CONFIG_END,
};

static const struct config_directive config_tls_table[] = {
    CONFIG_PATH(struct config_tls, certificate, 0, NULL, NULL),
    CONFIG_PATH(struct config_tls, key, 0, NULL, NULL),
    CONFIG_LIST("certificates", struct config_tls, certificates, ncertificates, 0, 0,
                struct config_cert, config_cert_table, NULL),
    CONFIG_ENUM(struct config_tls, min_protocol, 0, config_tls_protocols),
    CONFIG_STRING(struct config_tls, ciphers, 0, CONFIG_TLS12_CIPHERS),
    CONFIG_STRING(struct config_tls, ciphersuites, 0, CONFIG_TLS13_SUITES),
    CONFIG_BOOL(struct config_tls, session_tickets, 1),
    CONFIG_SECONDS(struct config_tls, ticket_rotation, 43200, 60, 7 * CONFIG_ONE_DAY),
    CONFIG_ENUM(struct config_tls, verify_client, CONFIG_VERIFY_OFF, config_verify_words),
    CONFIG_PATH(struct config_tls, client_ca, 0, NULL, NULL),
    CONFIG_INT(struct config_tls, hsts_max_age, 0, 0, 0, 2 * 365 * 86400),
    CONFIG_BOOL(struct config_tls, hsts_subdomains, 0),
    CONFIG_END,
};

static const struct config_directive config_listen_table[] = {
    CONFIG_ADDRESS(struct config_listen, address, "0.0.0.0"),
    CONFIG_INT(struct config_listen, port, CONFIG_REQUIRED, 0, 1, 65535),
    CONFIG_INT(struct config_listen, backlog, 0, 511, 1, 65535),
    CONFIG_INT(struct config_listen, redirect_https, 0, 0, 0, 65535),
    {.name = "tls",
     .set = config_set_tls,
     .release = config_release_group,
     .offset = offsetof(struct config_listen, tls),
     .sub = config_tls_table},
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
    CONFIG_PATH(struct config, upload_dir, 0, "/tmp", NULL),
    CONFIG_STRING(struct config, cookie_secret, 0, NULL),
    CONFIG_LIST("cookie_keys", struct config, cookie_keys, ncookie_keys, 0, 0,
                struct config_cookie_key, config_cookie_key_table, config_check_cookie_key),
    CONFIG_BOOL(struct config, xsrf_cookies, 0),
    {.name = "sessions",
     .set = config_set_sessions,
     .release = config_release_group,
     .offset = offsetof(struct config, sessions),
     .sub = config_sessions_table},
    CONFIG_GROUP(struct config, websocket, config_websocket_table),
    CONFIG_GROUP(struct config, pubsub, config_pubsub_table),
    CONFIG_STRING(struct config, login_url, 0, "/login"),
    CONFIG_BOOL(struct config, etag, 1),
    {.name = "trusted_proxies",
     .set = config_set_cidrs,
     .release = config_release_ptr,
     .offset = offsetof(struct config, trusted_proxies),
     .count = offsetof(struct config, ntrusted_proxies)},
    CONFIG_LIST("error_pages", struct config, error_pages, nerror_pages, 0, 0,
                struct config_error_page, config_error_page_table, config_check_error_page),
    CONFIG_SECONDS(struct config, grace_period, 30, 0, CONFIG_ONE_DAY),
    CONFIG_GROUP(struct config, limits, config_limits_table),
    CONFIG_LIST("listen", struct config, listens, nlistens, CONFIG_REQUIRED, 1,
                struct config_listen, config_listen_table, config_check_listen),
    CONFIG_LIST("modules", struct config, modules, nmodules, 0, 0, struct config_module,
                config_module_table, NULL),
    /* Later features add a line each, e.g. CONFIG_GROUP(struct config,
     * sessions, config_sessions_table) for `sessions = { ... };`. */
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

/* Read group g (NULL: absent, all defaults) into base by its table. */
static void config_group(struct config_ctx *ctx, const config_setting_t *g,
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
    config_unknown(ctx, g, table);
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
        config_group(&ctx, config_root_setting(lc), config_table, cfg);
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
    free(cfg->file);
    free(cfg->dir);
    free(cfg);
}
