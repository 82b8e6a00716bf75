/*
 * h2_settings.c - the `http2` group of a listen entry, as a config part.
 */
#include "http/h2_settings.h"

#include "core/config_table.h"

static const struct config_directive h2_settings_table[] = {
    CONFIG_BOOL(struct h2_settings, cleartext, 0),
    CONFIG_UINT(struct h2_settings, max_concurrent_streams, 128, 1, 65536),
    CONFIG_UINT(struct h2_settings, initial_window, 65535, 1024, 2147483647),
    CONFIG_UINT(struct h2_settings, max_resets, 1000, 1, 1000000),
    CONFIG_UINT(struct h2_settings, reset_rate, 33, 1, 1000000),
    CONFIG_END,
};

struct config_part h2_settings_part = {
    .name = "http2",
    .scope = CONFIG_SCOPE_LISTEN,
    .size = sizeof(struct h2_settings),
    .table = h2_settings_table,
};
