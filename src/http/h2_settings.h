/*
 * h2_settings.h - the `http2` group of a listen entry: h2c with prior
 * knowledge on a plain listener, the streams a connection may open, the
 * resets it may send (CVE-2023-44487). Offering h2 by ALPN on a TLS
 * listener is tls.http2 (net/tls_settings.h): TLS is below HTTP.
 */
#ifndef GALE_H2_SETTINGS_H
#define GALE_H2_SETTINGS_H

#include "core/config.h"

struct h2_settings {
    int cleartext;                   /* plain listener: h2c with prior knowledge; default off */
    unsigned max_concurrent_streams; /* SETTINGS_MAX_CONCURRENT_STREAMS; default 128 */
    unsigned initial_window;         /* bytes a stream's body may send ahead; default 65535 */
    unsigned max_resets;             /* resets a connection may send in a burst; default 1000 */
    unsigned reset_rate;             /* and then per second; default 33 */
};

extern struct config_part h2_settings_part;

static inline const struct h2_settings *h2_settings(const struct config_listen *lc)
{
    return config_part(lc->parts, &h2_settings_part);
}

#endif
