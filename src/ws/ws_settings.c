/*
 * ws_settings.c - the `websocket` group, as a config part.
 */
#include "ws/ws_settings.h"

#include "core/config_table.h"

static const struct config_directive ws_settings_table[] = {
    CONFIG_SIZE(struct ws_settings, max_message_size, 16777216, 1, 1LL << 32),
    CONFIG_SIZE(struct ws_settings, max_queue_size, 1048576, 1024, 1LL << 32),
    CONFIG_SECONDS(struct ws_settings, ping_interval, 30, 0, CONFIG_ONE_DAY),
    CONFIG_SECONDS(struct ws_settings, ping_timeout, 30, 0.001, CONFIG_ONE_DAY),
    CONFIG_SECONDS(struct ws_settings, close_timeout, 5, 0.001, 3600),
    CONFIG_STRLIST(struct ws_settings, origins),
    CONFIG_BOOL(struct ws_settings, compression, 0),
    CONFIG_INT(struct ws_settings, compression_level, 0, 6, 1, 9),
    CONFIG_END,
};

struct config_part ws_settings_part = {
    .name = "websocket",
    .scope = CONFIG_SCOPE_MAIN,
    .size = sizeof(struct ws_settings),
    .table = ws_settings_table,
};
