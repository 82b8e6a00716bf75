/*
 * hooks.c - a test module for the per-handler prepare and on_finish hooks:
 * prepare refuses requests without an X-Token header (answering 403 itself)
 * and on_finish counts the answers it saw, which /count reports.
 */
#include <string.h>

#include <gale/gale.h>

static int finished;

static int hooks_prepare(gale_request *r)
{
    const char *token = gale_request_header(r, "X-Token");
    if (!token || strcmp(token, "let-me-in") != 0) {
        gale_response_error(r, 403, "no token");
        return GALE_OK; /* the answer is finished: the method's callback does not run */
    }
    return GALE_OK;
}

static int hooks_get(gale_request *r)
{
    gale_response_puts(r, "inside");
    return GALE_OK;
}

static void hooks_finish(gale_request *r)
{
    finished++;
}

static int hooks_count(gale_request *r)
{
    gale_response_printf(r, "%d", finished);
    return GALE_OK;
}

static const gale_handler hooks_handlers[] = {
    {.name = "guarded", .get = hooks_get, .prepare = hooks_prepare, .on_finish = hooks_finish},
    {.name = "count", .get = hooks_count},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "hooks",
    .handlers = hooks_handlers,
};
