/*
 * metrics_settings.c - the `metrics` group, as a config part.
 */
#include "daemon/metrics_settings.h"

#include "core/config_table.h"

static const struct config_directive metrics_settings_table[] = {
    CONFIG_ADDRESS(struct metrics_settings, address, "127.0.0.1"),
    CONFIG_INT(struct metrics_settings, port, 0, 9145, 1, 65535),
    CONFIG_STRING(struct metrics_settings, path, 0, "/metrics"),
    CONFIG_END,
};

static void metrics_settings_check(struct config_ctx *ctx, const config_setting_t *g,
                                   void *settings)
{
    struct metrics_settings *ms = settings;
    ms->line = g ? config_line(g) : 0;
    if (ms->path && ms->path[0] != '/')
        config_error(ctx, config_setting_get_member(g, "path"),
                     "expected a path that starts with /");
}

struct config_part metrics_settings_part = {
    .name = "metrics",
    .scope = CONFIG_SCOPE_MAIN,
    .size = sizeof(struct metrics_settings),
    .table = metrics_settings_table,
    .check = metrics_settings_check,
};
