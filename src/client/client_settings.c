/*
 * client_settings.c - the `client` group, as a config part.
 */
#include "client/client_settings.h"

#include "core/config_table.h"
#include "gale/gale.h"

static const struct config_directive client_settings_table[] = {
    CONFIG_SECONDS(struct client_settings, connect_timeout, 10, 0, CONFIG_ONE_DAY),
    CONFIG_SECONDS(struct client_settings, timeout, 60, 0, CONFIG_ONE_DAY),
    CONFIG_INT(struct client_settings, max_redirects, 0, 5, 0, 100),
    CONFIG_SIZE(struct client_settings, max_size, 16777216, 0, 1LL << 40),
    CONFIG_INT(struct client_settings, max_concurrent, 0, 64, 1, 100000),
    CONFIG_BOOL(struct client_settings, verify, 1),
    CONFIG_PATH(struct client_settings, ca_file, 0, NULL, NULL),
    CONFIG_STRING(struct client_settings, proxy, 0, NULL),
    CONFIG_STRING(struct client_settings, no_proxy, 0, NULL),
    CONFIG_STRING(struct client_settings, user_agent, 0, "gale/" GALE_VERSION_STRING),
    CONFIG_END,
};

struct config_part client_settings_part = {
    .name = "client",
    .scope = CONFIG_SCOPE_MAIN,
    .size = sizeof(struct client_settings),
    .table = client_settings_table,
};
