/*
 * pages.c - a test module for templates (tests/blackbox/23-templates.py):
 *
 *   /page?t=NAME&ctx=JSON    gale_template_render of NAME with the context
 *   /string?t=NAME&ctx=JSON  gale_template_render_string, as text/plain
 *                            between [ ], or "NULL" when it failed
 */
#include <string.h>

#include <gale/gale.h>

/* The ctx argument parsed (a new reference), or an empty object. */
static json_t *pages_ctx(gale_request *r)
{
    const char *text = gale_request_query(r, "ctx");
    json_t *ctx = text ? json_loads(text, 0, NULL) : NULL;
    return ctx ? ctx : json_object();
}

static int pages_page(gale_request *r)
{
    const char *name = gale_request_query(r, "t");
    json_t *ctx = pages_ctx(r);
    gale_template_render(r, name ? name : "index.html", ctx);
    json_decref(ctx);
    return GALE_OK; /* rendered or answered 500: finished either way */
}

static int pages_string(gale_request *r)
{
    const char *name = gale_request_query(r, "t");
    json_t *ctx = pages_ctx(r);
    char *s = gale_template_render_string(r, name ? name : "index.html", ctx);
    json_decref(ctx);
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    if (s == NULL)
        gale_response_puts(r, "NULL");
    else
        gale_response_printf(r, "[%s]", s);
    return GALE_OK;
}

static const gale_handler pages_handlers[] = {
    {.name = "page", .get = pages_page},
    {.name = "string", .get = pages_string},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "pages",
    .handlers = pages_handlers,
};
