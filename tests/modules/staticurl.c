/*
 * staticurl.c - a test module that answers with gale_static_url of the
 * query's `path` argument (tests/blackbox/21-static.py): the URL a
 * template would put in a page.
 */
#include <string.h>

#include <gale/gale.h>

static int staticurl_get(gale_request *r)
{
    const char *path = gale_request_argument(r, "path");
    const char *url = gale_static_url(r, path ? path : "");
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    return gale_response_write(r, url ? url : "(none)", strlen(url ? url : "(none)"));
}

static const gale_handler staticurl_handlers[] = {
    {.name = "url", .get = staticurl_get},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "staticurl",
    .handlers = staticurl_handlers,
};
