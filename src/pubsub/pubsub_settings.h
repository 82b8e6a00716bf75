/*
 * pubsub_settings.h - the `pubsub` group: publish/subscribe between workers
 * (local: through the master) or between instances (redis).
 */
#ifndef GALE_PUBSUB_SETTINGS_H
#define GALE_PUBSUB_SETTINGS_H

#include "core/config.h"

enum pubsub_backend { PUBSUB_LOCAL = 0, PUBSUB_REDIS };

struct pubsub_settings {
    int line;                  /* 0: no pubsub group (local) */
    int backend;               /* enum pubsub_backend */
    struct config_redis redis; /* prefix default "gale:pubsub:" */
};

extern struct config_part pubsub_settings_part;

static inline const struct pubsub_settings *pubsub_settings(const struct config *cfg)
{
    return config_part(cfg->parts, &pubsub_settings_part);
}

#endif
