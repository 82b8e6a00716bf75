/*
 * compress_settings.h - the `compress` group: at the top of the file (the
 * defaults) and in a route (which overrides them, setting by setting).
 * Two config parts of one table's shape.
 */
#ifndef GALE_COMPRESS_SETTINGS_H
#define GALE_COMPRESS_SETTINGS_H

#include <stddef.h>

#include "core/config.h"

/* In a route, every field left out of the group is "unset" (-1, or no
 * types) and the top level's value holds. */
struct compress_settings {
    int enabled;                 /* default true */
    int gzip_level;              /* 1..9; default 6 */
    int brotli;                  /* offer br to clients that prefer it; default true */
    int brotli_quality;          /* 0..11; default 4 */
    int brotli_streams;          /* br for streamed answers too (an encoder of MiBs each); false */
    size_t min_size;             /* finished bodies shorter than this go as they are; 256 */
    size_t max_size;             /* and longer than this too (a file): 16 MiB */
    struct config_strlist types; /* patterns (compress_negotiate.h); none: the built-in list */
};

extern struct config_part compress_settings_part;       /* the top level */
extern struct config_part compress_route_settings_part; /* a route */

/* The settings in force for a route (NULL: no route, an error page),
 * merged into *out; out->types points into the config. */
void compress_settings_get(const struct config *cfg, const struct config_route *route,
                           struct compress_settings *out);

#endif
