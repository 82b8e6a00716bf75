/*
 * config_table.h - the config engine, as a feature's settings table sees
 * it: the directive struct, the generic setters and the macros that make a
 * table line, and the helpers a feature's own setters and checks use.
 *
 * A feature declares its settings beside its code: a struct, a table of
 * directives into it (one line a setting: name, setter, offset, default,
 * range) and a struct config_part naming the scope they belong to (see
 * config.h). The engine (config.c) reads the file against every registered
 * table, reports errors as "FILE:LINE: where: what was expected", and frees
 * what the setters stored, by the same tables.
 */
#ifndef GALE_CONFIG_TABLE_H
#define GALE_CONFIG_TABLE_H

#include <libconfig.h>
#include <stddef.h>

#include "core/config.h"

#define CONFIG_ONE_DAY 86400.0

struct config_ctx;

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
    int scope;                          /* list: 1 + the scope of an entry, 0: none */
    size_t parts;                       /* list with a scope: offset of an entry's parts[] */
};

#define CONFIG_REQUIRED 1u

/* ---- for a feature's own setters and checks ---- */

/* Report an error at setting s (NULL: the top of the file), prefixed with
 * the current path. Returns -1 so that setters can `return config_error()`. */
__attribute__((format(printf, 3, 4))) int
config_error(struct config_ctx *ctx, const config_setting_t *s, const char *fmt, ...);
/* The line of s in its file (1 for the root or a missing setting). */
int config_line(const config_setting_t *s);
/* The field a directive stores into, in the struct at base. */
void *config_field(const struct config_directive *d, void *base);
/* Parse a numeric IPv4 or IPv6 address into buf: AF_INET, AF_INET6, or -1. */
int config_address(const char *str, unsigned char buf[16]);

/* ---- generic setters and releasers (the macros below name them) ---- */

int config_set_int(struct config_ctx *ctx, const config_setting_t *s,
                   const struct config_directive *d, void *base);
int config_set_uint(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base);
int config_set_size(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base);
int config_set_count(struct config_ctx *ctx, const config_setting_t *s,
                     const struct config_directive *d, void *base);
int config_set_seconds(struct config_ctx *ctx, const config_setting_t *s,
                       const struct config_directive *d, void *base);
int config_set_string(struct config_ctx *ctx, const config_setting_t *s,
                      const struct config_directive *d, void *base);
int config_set_path(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base);
int config_set_enum(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base);
int config_set_bool(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base);
int config_set_workers(struct config_ctx *ctx, const config_setting_t *s,
                       const struct config_directive *d, void *base);
int config_set_address(struct config_ctx *ctx, const config_setting_t *s,
                       const struct config_directive *d, void *base);
int config_set_host(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base);
int config_set_strlist(struct config_ctx *ctx, const config_setting_t *s,
                       const struct config_directive *d, void *base);
int config_set_cidrs(struct config_ctx *ctx, const config_setting_t *s,
                     const struct config_directive *d, void *base);
int config_set_pattern(struct config_ctx *ctx, const config_setting_t *s,
                       const struct config_directive *d, void *base);
int config_set_group(struct config_ctx *ctx, const config_setting_t *s,
                     const struct config_directive *d, void *base);
int config_set_json(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base);
int config_set_list(struct config_ctx *ctx, const config_setting_t *s,
                    const struct config_directive *d, void *base);

void config_release(const struct config_directive *table, void *base);
void config_release_string(const struct config_directive *d, void *base);
void config_release_strlist(const struct config_directive *d, void *base);
void config_release_ptr(const struct config_directive *d, void *base);
void config_release_json(const struct config_directive *d, void *base);
void config_release_group(const struct config_directive *d, void *base);
void config_release_list(const struct config_directive *d, void *base);

/* ---- the macros: one table line each ---- */

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

/* The same for entries that are a scope (config.h): the registered parts of
 * that scope are read from each entry too, into its `parts` field. */
#define CONFIG_SCOPED_LIST(key, st, f, n, fl, least, est, table, checker, sc)                      \
    {                                                                                              \
        .name = key, .set = config_set_list, .release = config_release_list,                       \
        .offset = offsetof(st, f), .flags = fl, .min = least, .sub = table, .size = sizeof(est),   \
        .count = offsetof(st, n), .line = offsetof(est, line), .check = checker, .scope = sc + 1,  \
        .parts = offsetof(est, parts)                                                              \
    }

/* A number of processes, or "auto" (the default): one per online CPU. */
#define CONFIG_WORKERS(st, f, lo, hi)                                                              \
    {                                                                                              \
        .name = #f, .set = config_set_workers, .offset = offsetof(st, f), .def.s = "auto",         \
        .min = lo, .max = hi                                                                       \
    }

/* The table of a Redis server's settings (struct config_redis), whose key
 * prefix defaults to `prefix_default`: each user of a Redis link defines one. */
#define CONFIG_REDIS_TABLE(name, prefix_default)                                                   \
    static const struct config_directive name[] = {                                                \
        CONFIG_HOST(struct config_redis, host, "127.0.0.1"),                                       \
        CONFIG_INT(struct config_redis, port, 0, 6379, 1, 65535),                                  \
        CONFIG_STRING(struct config_redis, password, 0, NULL),                                     \
        CONFIG_INT(struct config_redis, db, 0, 0, 0, 1000),                                        \
        CONFIG_STRING(struct config_redis, prefix, 0, prefix_default),                             \
        CONFIG_END,                                                                                \
    }

/* The end of a table. */
#define CONFIG_END                                                                                 \
    {                                                                                              \
        .name = NULL                                                                               \
    }

#endif
