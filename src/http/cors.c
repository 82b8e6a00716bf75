/*
 * cors.c - CORS headers and preflight answers.
 */
#include "http/cors.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "http/http_settings.h"

static int cors_origin_allowed(const struct http_cors *c, const char *origin)
{
    for (size_t i = 0; i < c->origins.n; i++)
        if (!strcmp(c->origins.v[i], "*") || !strcasecmp(c->origins.v[i], origin))
            return 1;
    return 0;
}

static int cors_wildcard(const struct http_cors *c)
{
    return c->origins.n == 1 && !strcmp(c->origins.v[0], "*");
}

static char *cors_join(gale_request *r, const struct config_strlist *l)
{
    size_t len = 1;
    for (size_t i = 0; i < l->n; i++)
        len += strlen(l->v[i]) + 2;
    char *s = gale_request_alloc(r, len), *p = s;
    *p = '\0';
    for (size_t i = 0; i < l->n; i++)
        p += sprintf(p, "%s%s", i ? ", " : "", l->v[i]);
    return s;
}

int cors_apply(gale_request *r, const struct http_cors *c, const char *allow)
{
    const char *origin = gale_request_header(r, "Origin");
    gale_response_header(r, "Vary", "Origin");
    if (!origin || !cors_origin_allowed(c, origin))
        return 0;
    /* With credentials a browser refuses "*": name the origin instead. */
    gale_response_header(r, "Access-Control-Allow-Origin",
                         cors_wildcard(c) && !c->credentials ? "*" : origin);
    if (c->credentials)
        gale_response_header(r, "Access-Control-Allow-Credentials", "true");
    int preflight = !strcmp(gale_request_method(r), "OPTIONS") &&
                    gale_request_header(r, "Access-Control-Request-Method");
    if (!preflight) {
        if (c->expose.n)
            gale_response_header(r, "Access-Control-Expose-Headers", cors_join(r, &c->expose));
        return 0;
    }
    gale_response_header(r, "Access-Control-Allow-Methods",
                         c->methods.n ? cors_join(r, &c->methods) : allow);
    if (c->headers.n)
        gale_response_header(r, "Access-Control-Allow-Headers", cors_join(r, &c->headers));
    char age[16];
    snprintf(age, sizeof(age), "%d", c->max_age);
    gale_response_header(r, "Access-Control-Max-Age", age);
    return 1;
}
