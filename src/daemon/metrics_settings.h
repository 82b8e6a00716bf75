/*
 * metrics_settings.h - the `metrics` group: where the master answers
 * Prometheus' scrapes. Off unless the group is there.
 */
#ifndef GALE_METRICS_SETTINGS_H
#define GALE_METRICS_SETTINGS_H

#include "core/config.h"

struct metrics_settings {
    int line;      /* 0: no metrics group, metrics are off */
    char *address; /* default "127.0.0.1": not the world's business */
    int port;      /* default 9145 */
    char *path;    /* default "/metrics" */
};

extern struct config_part metrics_settings_part;

static inline const struct metrics_settings *metrics_settings(const struct config *cfg)
{
    return config_part(cfg->parts, &metrics_settings_part);
}

#endif
