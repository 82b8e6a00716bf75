/*
 * cors.h - Cross-Origin Resource Sharing per route, from the config: gale
 * answers preflight requests itself and adds the CORS headers to the
 * answers of allowed origins (which Tornado users write by hand).
 */
#ifndef GALE_CORS_H
#define GALE_CORS_H

#include "gale/gale.h"

struct http_cors;

/* Apply c to r (routed, not answered yet): a preflight OPTIONS gets its
 * headers and returns 1 (answer it with 204); otherwise the headers for an
 * allowed Origin are added and 0 returned. `allow` lists the handler's
 * methods, the default for c->methods. */
int cors_apply(gale_request *r, const struct http_cors *c, const char *allow);

#endif
