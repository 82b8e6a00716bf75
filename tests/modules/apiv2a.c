/*
 * apiv2a.c - a test module for module API 2's answers and helpers
 * (tests/blackbox/19-api-v2-responses.py): setting, replacing and removing
 * headers, the reason phrase, a default Content-Type, the write_error and
 * check hooks, random tokens and request logging.
 *
 * Handlers report what the API returned in X-Rc headers or in the body, so
 * that the test sees refusals as well as effects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/gale.h>

/* An argument as an integer, def when absent. */
static long apiv2a_number(gale_request *r, const char *name, long def)
{
    const char *v = gale_request_query(r, name);
    return v ? strtol(v, NULL, 10) : def;
}

/* Adds, replaces and removes, then tries what must be refused. */
static int apiv2a_headers(gale_request *r)
{
    int rc[8];
    gale_response_header(r, "X-Multi", "a");
    gale_response_header(r, "X-Multi", "b");
    gale_response_header(r, "X-Gone", "1");
    gale_response_header(r, "x-gone", "2");
    gale_response_header(r, "X-Kept", "k1");
    gale_response_header(r, "X-Kept", "k2");
    rc[0] = gale_response_set_header(r, "x-multi", "c");
    rc[1] = gale_response_remove_header(r, "X-GONE");
    rc[2] = gale_response_remove_header(r, "X-Never-Set");
    rc[3] = gale_response_set_header(r, "Content-Length", "5");
    rc[4] = gale_response_set_header(r, "Bad Name", "x");
    rc[5] = gale_response_set_header(r, "X-Split", "a\r\nX-Injected: 1");
    rc[6] = gale_response_remove_header(r, "Connection");
    rc[7] = gale_response_remove_header(r, "bad:name");
    gale_response_set_header(r, "X-Fresh", "only");
    gale_response_printf(r, "%d %d %d %d %d %d %d %d", rc[0], rc[1], rc[2], rc[3], rc[4], rc[5],
                         rc[6], rc[7]);
    return GALE_OK;
}

/* After the head left, nothing about it may change. */
static int apiv2a_late(gale_request *r)
{
    gale_response_puts(r, "first\n");
    if (gale_response_flush(r) < 0)
        return GALE_ERROR;
    gale_response_printf(r, "%d %d %d\n", gale_response_set_header(r, "X-Late", "1"),
                         gale_response_remove_header(r, "X-Late"),
                         gale_response_reason(r, "Too Late"));
    return GALE_OK;
}

/* ?text=REASON&status=N: the reason phrase (X-Rc says whether it took). */
static int apiv2a_reason(gale_request *r)
{
    const char *text = gale_request_query(r, "text");
    gale_response_status(r, (int)apiv2a_number(r, "status", 200));
    int rc = gale_response_reason(r, text);
    gale_response_header(r, "X-Rc", rc == 0 ? "0" : "-1");
    if (gale_request_query(r, "reset"))
        gale_response_reason(r, NULL);
    if (apiv2a_number(r, "status", 200) != 204)
        gale_response_puts(r, "reason\n");
    return GALE_OK;
}

/* ?status=N&type=T&body=0|1&stream=1: what the default Content-Type meets. */
static int apiv2a_typed(gale_request *r)
{
    const char *type = gale_request_query(r, "type");
    gale_response_status(r, (int)apiv2a_number(r, "status", 200));
    if (type)
        gale_response_header(r, "Content-Type", type);
    if (apiv2a_number(r, "stream", 0))
        return gale_response_flush(r) == 0 ? GALE_OK : GALE_ERROR;
    if (apiv2a_number(r, "body", 1))
        gale_response_puts(r, "<p>typed</p>\n");
    return GALE_OK;
}

static int apiv2a_fail(gale_request *r)
{
    gale_response_header(r, "X-Handler", "dropped by the error page");
    gale_response_puts(r, "half an answer");
    return GALE_ERROR;
}

static int apiv2a_teapot(gale_request *r)
{
    gale_response_error(r, 418, "short and stout");
    return GALE_OK;
}

static int apiv2a_missing(gale_request *r)
{
    gale_response_error(r, 404, "no such thing");
    return GALE_OK;
}

static int apiv2a_posted(gale_request *r)
{
    gale_response_puts(r, "posted\n");
    return GALE_OK;
}

/* ?size=N&count=K: K tokens of gale_random_token(out, N), a line each;
 * X-Rc: what sizes 0 and 1 return. */
static int apiv2a_token(gale_request *r)
{
    size_t size = (size_t)apiv2a_number(r, "size", 33);
    long count = apiv2a_number(r, "count", 1);
    char small[1] = {'x'};
    char *out = gale_request_alloc(r, size);
    int rc0 = gale_random_token(small, 0), rc1 = gale_random_token(small, 1);
    gale_response_header(r, "X-Rc", gale_request_printf(r, "%d %d %d", rc0, rc1, (int)small[0]));
    gale_response_header(r, "Content-Type", "text/plain");
    for (long i = 0; i < count; i++) {
        if (gale_random_token(out, size) < 0)
            return GALE_ERROR;
        gale_response_printf(r, "%s\n", out);
    }
    return GALE_OK;
}

static int apiv2a_log(gale_request *r)
{
    const char *word = gale_request_query(r, "word");
    gale_request_log(r, GALE_LOG_WARN, "apiv2a says %s", word ? word : "nothing");
    gale_response_puts(r, "logged\n");
    return GALE_OK;
}

/* The error pages of this module's routes. X-Error-Hook on the request
 * steers it: "decline" writes, then declines; "recurse" raises another
 * error inside; "finish" finishes the answer itself. */
static int apiv2a_write_error(gale_request *r, int status, const char *reason)
{
    const char *how = gale_request_header(r, "X-Error-Hook");
    if (how && !strcmp(how, "decline")) {
        gale_response_header(r, "X-Hook", "declined");
        gale_response_puts(r, "not this");
        return GALE_ERROR;
    }
    if (how && !strcmp(how, "recurse")) {
        gale_response_error(r, 503, "raised inside write_error");
        return GALE_OK;
    }
    gale_response_header(r, "X-Hook", "1");
    gale_response_reason(r, "Hooked");
    gale_response_printf(r, "<h1>%d</h1><p>", status);
    gale_response_puts_html(r, reason);
    gale_response_puts(r, "</p>\n");
    if (how && !strcmp(how, "finish"))
        gale_response_finish(r);
    return GALE_OK;
}

/* settings: limit, an integer 1..10 when present. */
static int apiv2a_check(const json_t *settings, char *err, size_t errlen)
{
    json_t *limit = json_object_get(settings, "limit");
    if (limit && (!json_is_integer(limit) || json_integer_value(limit) < 1 ||
                  json_integer_value(limit) > 10)) {
        snprintf(err, errlen, "limit must be an integer 1..10");
        return -1;
    }
    if (json_object_get(settings, "silent"))
        return -1; /* refuses without a reason: gale says so */
    return 0;
}

static const gale_handler apiv2a_handlers[] = {
    {.name = "headers", .get = apiv2a_headers},
    {.name = "late", .get = apiv2a_late},
    {.name = "reason", .get = apiv2a_reason},
    {.name = "typed", .get = apiv2a_typed},
    {.name = "fail", .get = apiv2a_fail},
    {.name = "teapot", .get = apiv2a_teapot},
    {.name = "missing", .get = apiv2a_missing},
    {.name = "posted", .post = apiv2a_posted},
    {.name = "token", .get = apiv2a_token},
    {.name = "log", .get = apiv2a_log},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,          .name = "apiv2a",
    .handlers = apiv2a_handlers, .write_error = apiv2a_write_error,
    .check = apiv2a_check,       .default_content_type = "text/html; charset=utf-8",
};
