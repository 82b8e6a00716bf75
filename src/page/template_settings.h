/*
 * template_settings.h - where templates are read from: `template_path` at
 * the top of the file (with `debug`) and on a route, as two config parts.
 */
#ifndef GALE_TEMPLATE_SETTINGS_H
#define GALE_TEMPLATE_SETTINGS_H

#include <stdio.h>

#include "core/config.h"

/* The top level of the file. */
struct template_settings {
    char *template_path; /* absolute; default "templates" next to the config file */
    int debug;           /* re-read a template whose file changed; error details on the
                            500 page; default false */
};

/* A route. */
struct template_route_settings {
    char *template_path; /* NULL: the top level's */
};

extern struct config_part template_settings_part;
extern struct config_part template_route_settings_part;

static inline const struct template_settings *template_settings(const struct config *cfg)
{
    return config_part(cfg->parts, &template_settings_part);
}

static inline const struct template_route_settings *
template_route_settings(const struct config_route *route)
{
    return config_part(route->parts, &template_route_settings_part);
}

/* Compile every template of every folder the config names (gale -t); print
 * each error to f as "FILE:LINE: what was expected". A folder that does not
 * exist is an error only when the config sets it. Returns the number of
 * errors. */
int template_settings_check(const struct config *cfg, FILE *f);

#endif
