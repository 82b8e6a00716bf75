/*
 * pubsub_settings.c - the `pubsub` group, as a config part.
 */
#include "pubsub/pubsub_settings.h"

#include "core/config_table.h"

static const char *const pubsub_settings_backends[] = {"local", "redis", NULL};

CONFIG_REDIS_TABLE(pubsub_settings_redis_table, "gale:pubsub:");

static const struct config_directive pubsub_settings_history_table[] = {
    CONFIG_STRING(struct pubsub_history_rule, channel, CONFIG_REQUIRED, NULL),
    CONFIG_COUNT(struct pubsub_history_rule, size, 100, 0, 1000000),
    CONFIG_SECONDS(struct pubsub_history_rule, ttl, 0, 0, 365 * CONFIG_ONE_DAY),
    CONFIG_END,
};

static const struct config_directive pubsub_settings_table[] = {
    CONFIG_ENUM(struct pubsub_settings, backend, PUBSUB_LOCAL, pubsub_settings_backends),
    CONFIG_SIZE(struct pubsub_settings, relay_queue_size, 67108864, 65536, 1LL << 32),
    CONFIG_GROUP(struct pubsub_settings, redis, pubsub_settings_redis_table),
    CONFIG_LIST("history", struct pubsub_settings, history, nhistory, 0, 0,
                struct pubsub_history_rule, pubsub_settings_history_table, NULL),
    CONFIG_SECONDS(struct pubsub_settings, presence_timeout, 15, 0.1, CONFIG_ONE_DAY),
    CONFIG_COUNT(struct pubsub_settings, key_window, 1000, 0, 1000000),
    CONFIG_SECONDS(struct pubsub_settings, key_ttl, 3600, 0, 30 * CONFIG_ONE_DAY),
    CONFIG_END,
};

static void pubsub_settings_check(struct config_ctx *ctx, const config_setting_t *g, void *settings)
{
    ((struct pubsub_settings *)settings)->line = g ? config_line(g) : 0;
}

struct config_part pubsub_settings_part = {
    .name = "pubsub",
    .scope = CONFIG_SCOPE_MAIN,
    .size = sizeof(struct pubsub_settings),
    .table = pubsub_settings_table,
    .check = pubsub_settings_check,
};
