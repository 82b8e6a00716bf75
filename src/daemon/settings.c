/*
 * settings.c - the config parts gale is made of (see settings.h).
 */
#include "daemon/settings.h"

#include <stdlib.h>

#include "client/client_settings.h"
#include "core/config.h"
#include "core/log_settings.h"
#include "daemon/metrics_settings.h"
#include "daemon/rlimit.h"
#include "http/compress_settings.h"
#include "http/h2_settings.h"
#include "http/http_settings.h"
#include "http/static_settings.h"
#include "net/tls_settings.h"
#include "page/locale_settings.h"
#include "page/template_settings.h"
#include "proc/process_settings.h"
#include "pubsub/pubsub_settings.h"
#include "ws/ws_settings.h"

void settings_register(void)
{
    struct config_part *parts[] = {
        &tls_settings_part,      &http_listen_settings_part,
        &http_settings_part,     &ws_settings_part,
        &pubsub_settings_part,   &http_route_settings_part,
        &locale_settings_part,   &log_settings_part,
        &rlimit_settings_part,   &static_settings_part,
        &compress_settings_part, &compress_route_settings_part,
        &template_settings_part, &template_route_settings_part,
        &process_settings_part,  &client_settings_part,
        &h2_settings_part,       &metrics_settings_part,
    };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        if (config_part_register(parts[i]) < 0)
            abort(); /* CONFIG_MAX_PARTS is too small: a build error, not a user's */
}
