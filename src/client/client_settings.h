/*
 * client_settings.h - the `client` group: the defaults of the outgoing HTTP
 * client (gale_fetch_*): timeouts, redirects, size limit, TLS trust, proxy
 * and the cap on transfers a worker runs at once.
 */
#ifndef GALE_CLIENT_SETTINGS_H
#define GALE_CLIENT_SETTINGS_H

#include <stddef.h>

#include "core/config.h"

struct client_settings {
    double connect_timeout; /* seconds to connect (TLS included); 0: none; default 10 */
    double timeout;         /* seconds for a whole transfer; 0: none; default 60 */
    int max_redirects;      /* redirects followed; 0: none; default 5 */
    size_t max_size;        /* largest answer body in bytes; 0: none; default 16 MiB */
    int max_concurrent;     /* transfers a worker runs at once, the rest queued; default 64 */
    int verify;             /* check the server's certificate and name; default true */
    char *ca_file;          /* PEM file of the trusted CAs; NULL: the system's */
    char *proxy;            /* "http://host:port" (or socks5://...); NULL: none */
    char *no_proxy;         /* hosts reached without the proxy, comma-separated */
    char *user_agent;       /* the User-Agent sent; default "gale/VERSION" */
};

extern struct config_part client_settings_part;

static inline const struct client_settings *client_settings(const struct config *cfg)
{
    return config_part(cfg->parts, &client_settings_part);
}

#endif
