/*
 * process_settings.c - the `process` group, as a config part.
 */
#include "proc/process_settings.h"

#include "core/config_table.h"

static const struct config_directive process_settings_table[] = {
    CONFIG_INT(struct process_settings, max_children, 0, 32, 1, 100000),
    CONFIG_SECONDS(struct process_settings, timeout, 60, 0, CONFIG_ONE_DAY),
    CONFIG_SECONDS(struct process_settings, kill_grace, 5, 0, 3600),
    CONFIG_SIZE(struct process_settings, max_output, 67108864, 1, 1LL << 40),
    CONFIG_END,
};

struct config_part process_settings_part = {
    .name = "process",
    .scope = CONFIG_SCOPE_MAIN,
    .size = sizeof(struct process_settings),
    .table = process_settings_table,
};
