/*
 * process_settings.h - the `process` group: limits of the programs a worker
 * runs (gale_process_start, CGI).
 */
#ifndef GALE_PROCESS_SETTINGS_H
#define GALE_PROCESS_SETTINGS_H

#include <stddef.h>

#include "core/config.h"

struct process_settings {
    int max_children;  /* running at once per worker; more are refused; default 32 */
    double timeout;    /* seconds a child may run; 0: no limit; default 60 */
    double kill_grace; /* seconds between SIGTERM and SIGKILL; default 5 */
    size_t max_output; /* bytes of stdout and stderr a child may write; default 64 MiB */
};

extern struct config_part process_settings_part;

static inline const struct process_settings *process_settings(const struct config *cfg)
{
    return config_part(cfg->parts, &process_settings_part);
}

#endif
