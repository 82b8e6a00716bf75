/*
 * log_settings.c - the access log's settings table (see log_settings.h).
 */
#include "core/log_settings.h"

#include <stdlib.h>

#include "core/access_format.h"
#include "core/config_table.h"

/* The format is compiled while the config is read: an unknown variable is
 * an error at `gale -t`, not a surprise in every worker. */
static int log_settings_set_format(struct config_ctx *ctx, const config_setting_t *s,
                                   const struct config_directive *d, void *base)
{
    struct log_settings *ls = base;
    char err[256];
    if (config_set_string(ctx, s, d, base) < 0)
        return -1;
    ls->format = access_format_compile(ls->access_log_format, err, sizeof(err));
    if (!ls->format)
        return config_error(ctx, s, "%s", err);
    return 0;
}

static void log_settings_release_format(const struct config_directive *d, void *base)
{
    struct log_settings *ls = base;
    access_format_free(ls->format);
    ls->format = NULL;
}

static const struct config_directive log_settings_table[] = {
    CONFIG_SIZE(struct log_settings, access_log_buffer, 65536, 0, 16 << 20),
    CONFIG_SECONDS(struct log_settings, access_log_flush, 1, 0.01, 3600),
    {.name = "access_log_format",
     .set = log_settings_set_format,
     .release = config_release_string,
     .offset = offsetof(struct log_settings, access_log_format),
     .def.s = "default"},
    /* frees the compiled format; the config sets no field by this name */
    {.name = "format", .release = log_settings_release_format},
    CONFIG_END,
};

static void log_settings_check(struct config_ctx *ctx, const config_setting_t *g, void *settings)
{
    struct log_settings *ls = settings;
    const config_setting_t *s;
    if (!g)
        return;
    if ((s = config_setting_get_member(g, "error_log")))
        ls->error_log_line = config_line(s);
    if ((s = config_setting_get_member(g, "access_log")))
        ls->access_log_line = config_line(s);
    if ((s = config_setting_get_member(g, "pid_file")))
        ls->pid_file_line = config_line(s);
}

struct config_part log_settings_part = {
    .check = log_settings_check,
    .name = NULL,
    .scope = CONFIG_SCOPE_MAIN,
    .size = sizeof(struct log_settings),
    .table = log_settings_table,
};
