/*
 * ws_settings.h - the `websocket` group: limits, keepalive, origins and
 * compression of WebSocket connections (routes marked websocket = true).
 */
#ifndef GALE_WS_SETTINGS_H
#define GALE_WS_SETTINGS_H

#include <stddef.h>

#include "core/config.h"

struct ws_settings {
    size_t max_message_size; /* bytes, after decompression; above: close 1009; default 16 MiB */
    size_t max_queue_size;   /* bytes waiting for a client; above: close 1008; default 1 MiB */
    double ping_interval;    /* seconds between keepalive pings; 0: none; default 30 */
    double ping_timeout;     /* seconds a pong may take before the peer counts as dead; 30 */
    double close_timeout;    /* seconds to wait for the peer's close frame; default 5 */
    struct config_strlist origins; /* allowed Origin values; empty: same origin; "*": any */
    int compression;               /* offer permessage-deflate (RFC 7692); default false */
    int compression_level;         /* zlib level 1..9; default 6 */
};

extern struct config_part ws_settings_part;

static inline const struct ws_settings *ws_settings(const struct config *cfg)
{
    return config_part(cfg->parts, &ws_settings_part);
}

#endif
