/*
 * pubsub_settings.h - the `pubsub` group: publish/subscribe between workers
 * (local: through the master) or between instances (redis).
 */
#ifndef GALE_PUBSUB_SETTINGS_H
#define GALE_PUBSUB_SETTINGS_H

#include "core/config.h"

enum pubsub_backend { PUBSUB_LOCAL = 0, PUBSUB_REDIS };

/* history = ( { channel = "room.*"; size = 100; ttl = 3600; }, ... ) */
struct pubsub_history_rule {
    int line;
    char *channel; /* an fnmatch(3) pattern */
    size_t size;   /* messages kept */
    double ttl;    /* seconds a message is kept; 0: no limit */
};

struct pubsub_settings {
    int line;                            /* 0: no pubsub group (local) */
    int backend;                         /* enum pubsub_backend */
    struct config_redis redis;           /* prefix default "gale:pubsub:" */
    struct pubsub_history_rule *history; /* the first that matches a channel applies */
    size_t nhistory;
    size_t relay_queue_size; /* bytes the master holds for a worker that lags; default 64 MiB */
    double presence_timeout; /* seconds a member stays after its last client went */
    size_t key_window;       /* idempotency keys kept per channel (gale_publish_keyed) */
    double key_ttl;          /* seconds a key is kept; 0: no limit */
};

extern struct config_part pubsub_settings_part;

static inline const struct pubsub_settings *pubsub_settings(const struct config *cfg)
{
    return config_part(cfg->parts, &pubsub_settings_part);
}

#endif
