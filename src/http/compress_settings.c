/*
 * compress_settings.c - the `compress` group of the top level and of a
 * route, as config parts (see compress_settings.h).
 */
#include "http/compress_settings.h"

#include <string.h>

#include "core/config_table.h"

/* One table's shape for both scopes: the top level's defaults are the real
 * ones, a route's are "unset" (-1) so that the top level's value holds. */
#define COMPRESS_SETTINGS_TABLE(name, on, level, br, quality, streams, min, max)                   \
    static const struct config_directive name[] = {                                                \
        CONFIG_BOOL(struct compress_settings, enabled, on),                                        \
        CONFIG_INT(struct compress_settings, gzip_level, 0, level, 1, 9),                          \
        CONFIG_BOOL(struct compress_settings, brotli, br),                                         \
        CONFIG_INT(struct compress_settings, brotli_quality, 0, quality, 0, 11),                   \
        CONFIG_BOOL(struct compress_settings, brotli_streams, streams),                            \
        CONFIG_SIZE(struct compress_settings, min_size, min, 0, 1LL << 40),                        \
        CONFIG_SIZE(struct compress_settings, max_size, max, 0, 1LL << 40),                        \
        CONFIG_STRLIST(struct compress_settings, types),                                           \
        CONFIG_END,                                                                                \
    }

COMPRESS_SETTINGS_TABLE(compress_settings_table, 1, 6, 1, 4, 0, 256, 16777216);
COMPRESS_SETTINGS_TABLE(compress_settings_route_table, -1, -1, -1, -1, -1, -1, -1);

/* Patterns are "type/subtype", "type/" and a star, or a star and "+suffix". */
static void compress_settings_check(struct config_ctx *ctx, const config_setting_t *g,
                                    void *settings)
{
    const struct compress_settings *cs = settings;
    for (size_t i = 0; i < cs->types.n; i++) {
        const char *t = cs->types.v[i];
        const char *slash = strchr(t, '/');
        if ((t[0] == '*' && t[1] == '+' && t[2]) || (slash && slash != t && slash[1]))
            continue;
        config_error(ctx, config_setting_get_member(g, "types"),
                     "types: expected \"type/subtype\", \"type/*\" or \"*+suffix\", not \"%s\"", t);
    }
}

struct config_part compress_settings_part = {
    .name = "compress",
    .scope = CONFIG_SCOPE_MAIN,
    .size = sizeof(struct compress_settings),
    .table = compress_settings_table,
    .check = compress_settings_check,
};

struct config_part compress_route_settings_part = {
    .name = "compress",
    .scope = CONFIG_SCOPE_ROUTE,
    .size = sizeof(struct compress_settings),
    .table = compress_settings_route_table,
    .check = compress_settings_check,
};

void compress_settings_get(const struct config *cfg, const struct config_route *route,
                           struct compress_settings *out)
{
    *out = *(const struct compress_settings *)config_part(cfg->parts, &compress_settings_part);
    const struct compress_settings *rs =
        route ? config_part(route->parts, &compress_route_settings_part) : NULL;
    if (!rs)
        return;
    if (rs->enabled >= 0)
        out->enabled = rs->enabled;
    if (rs->gzip_level >= 0)
        out->gzip_level = rs->gzip_level;
    if (rs->brotli >= 0)
        out->brotli = rs->brotli;
    if (rs->brotli_quality >= 0)
        out->brotli_quality = rs->brotli_quality;
    if (rs->brotli_streams >= 0)
        out->brotli_streams = rs->brotli_streams;
    if (rs->min_size != (size_t)-1)
        out->min_size = rs->min_size;
    if (rs->max_size != (size_t)-1)
        out->max_size = rs->max_size;
    if (rs->types.n)
        out->types = rs->types;
}
