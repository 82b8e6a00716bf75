/*
 * badabi.c - a test module built for module API 1, which this gale no longer
 * speaks (it has 2).
 *
 * The descriptor is otherwise well formed (right magic, a handler table), so
 * the only reason to refuse it is abi_version: gale must refuse to load it,
 * name this file and say to rebuild it (tests/blackbox/07-config-check.py,
 * 19-api-v2-responses.py).
 */
#include <gale/gale.h>

/* Calls nothing of gale's, so the file has no undefined gale symbols and
 * dlopen() succeeds even with RTLD_NOW: the ABI check is what must refuse it. */
static int badabi_get(gale_request *r)
{
    (void)r;
    return GALE_ERROR;
}

static const gale_handler handlers[] = {
    {.name = "hello", .get = badabi_get},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    .magic = GALE_MODULE_MAGIC,
    .abi_version = 1, /* what GALE_MODULE_HEADER said before API 2 */
    .name = "badabi",
    .version = "0.0.0",
    .handlers = handlers,
};
