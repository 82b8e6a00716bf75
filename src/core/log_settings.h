/*
 * log_settings.h - how the access log is written: its buffer, how often it
 * is flushed and the format of its lines (a config part among the top-level
 * settings, beside error_log and access_log).
 */
#ifndef GALE_LOG_SETTINGS_H
#define GALE_LOG_SETTINGS_H

#include <stddef.h>

#include "core/config.h"

struct access_format;

struct log_settings {
    size_t access_log_buffer;     /* bytes of lines kept before a write; default 65536 */
    double access_log_flush;      /* seconds a line may wait in the buffer; default 1 */
    char *access_log_format;      /* "default", "combined" or a format with $variables */
    struct access_format *format; /* compiled from access_log_format (owned) */
    /* where the files are named (0: not in the file), for the master's
     * checks that their folders exist and can be written */
    int error_log_line, access_log_line, pid_file_line;
};

extern struct config_part log_settings_part;

static inline const struct log_settings *log_settings(const struct config *cfg)
{
    return config_part(cfg->parts, &log_settings_part);
}

#endif
