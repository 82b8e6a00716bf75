/*
 * static_settings.h - the folders served as static files: a top-level list
 * `static = ( { prefix = "/static/"; path = "www"; ... } )`, each entry a URL
 * prefix bound to a folder. Static routes need no module; they are matched
 * before the modules' routes.
 */
#ifndef GALE_STATIC_SETTINGS_H
#define GALE_STATIC_SETTINGS_H

#include <stddef.h>

#include "core/config.h"

struct static_root {
    char *prefix;      /* the URL prefix, starting and ending with '/' */
    char *path;        /* the folder, absolute */
    char *index;       /* served for a folder's URL ("default"); "index.html" */
    int max_age;       /* Cache-Control max-age in seconds; 0 (default): no Cache-Control */
    char *name;        /* for static_url(); NULL: none (the first root is the default) */
    char *charset;     /* added to text types ("utf-8"); NULL (default): none */
    int hidden;        /* serve names starting with '.'; default false (404) */
    int precompressed; /* serve x.br / x.gz siblings to clients that accept them; true */
    int line;
};

struct static_settings {
    struct static_root *roots;
    size_t nroots;
};

extern struct config_part static_settings_part;

static inline const struct static_settings *static_settings(const struct config *cfg)
{
    return config_part(cfg->parts, &static_settings_part);
}

#endif
