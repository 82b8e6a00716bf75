/*
 * compresstest.c - a test module for response compression
 * (tests/blackbox/22-compress.py): answers of any size, type, status and
 * headers, JSON, streamed answers and a held server-sent event stream, so
 * that the test reaches every rule of the compression stage through real
 * routes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/gale.h>

/* ?size=N bytes of readable, compressible text (default 4096). */
static void compresstest_text(gale_request *r, long size)
{
    char line[64];
    for (long i = 0; size > 0; i++) {
        int n = snprintf(line, sizeof(line), "line %06ld: the quick brown fox jumps\n", i);
        long take = n < size ? n : size;
        gale_response_write(r, line, (size_t)take);
        size -= take;
    }
}

static long compresstest_number(gale_request *r, const char *name, long def)
{
    const char *v = gale_request_query(r, name);
    return v ? strtol(v, NULL, 10) : def;
}

/* A header from the query argument of the same role, when given. */
static void compresstest_header(gale_request *r, const char *arg, const char *name)
{
    const char *v = gale_request_query(r, arg);
    if (v)
        gale_response_header(r, name, v);
}

/* GET /body?size=&type=&status=&etag=&vary=&cc=&ce=&range=: a finished
 * answer with those (type default text/html). */
static int compresstest_body(gale_request *r)
{
    const char *type = gale_request_query(r, "type");
    gale_response_status(r, (int)compresstest_number(r, "status", 200));
    gale_response_header(r, "Content-Type", type ? type : "text/html; charset=utf-8");
    compresstest_header(r, "etag", "ETag");
    compresstest_header(r, "vary", "Vary");
    compresstest_header(r, "cc", "Cache-Control");
    compresstest_header(r, "ce", "Content-Encoding");
    compresstest_header(r, "range", "Content-Range");
    compresstest_text(r, compresstest_number(r, "size", 4096));
    return GALE_OK;
}

/* GET /json?n=: a JSON array of n objects. */
static int compresstest_json(gale_request *r)
{
    json_t *a = json_array();
    for (long i = 0; i < compresstest_number(r, "n", 100); i++)
        json_array_append_new(a, json_pack("{s:i, s:s}", "id", (int)i, "name", "an item"));
    int rc = gale_response_json(r, a);
    json_decref(a);
    return rc < 0 ? GALE_ERROR : GALE_OK;
}

/* GET /stream?pieces=K&size=N: K pieces of N bytes, each flushed. */
struct compresstest_stream {
    long left, size;
};

static void compresstest_next(gale_request *r, void *arg)
{
    struct compresstest_stream *s = arg;
    compresstest_text(r, s->size);
    if (--s->left <= 0) {
        gale_response_finish(r);
        return;
    }
    if (gale_response_flush(r) < 0 || gale_request_later(r, 0.001, compresstest_next, s) < 0)
        gale_response_finish(r);
}

static int compresstest_stream(gale_request *r)
{
    struct compresstest_stream *s = gale_request_alloc(r, sizeof(*s));
    s->left = compresstest_number(r, "pieces", 10);
    s->size = compresstest_number(r, "size", 1000);
    gale_response_header(r, "Content-Type", "text/plain; charset=utf-8");
    if (gale_response_flush(r) < 0)
        return GALE_ERROR;
    compresstest_next(r, s);
    return GALE_ASYNC;
}

static void compresstest_gone(gale_request *r, void *arg)
{
    gale_response_finish(r);
}

/* GET /events: one server-sent event, then the stream stays open until the
 * client leaves (the encoder must be freed then). */
static int compresstest_events(gale_request *r)
{
    gale_response_header(r, "Content-Type", "text/event-stream");
    gale_response_header(r, "Cache-Control", "no-cache");
    gale_response_puts(r, "data: first\n\n");
    if (gale_response_flush(r) < 0)
        return GALE_ERROR;
    gale_request_on_abort(r, compresstest_gone, NULL);
    return GALE_ASYNC;
}

/* POST /echo: the body back as received, with its Content-Encoding named
 * in X-Got-Encoding (gale never inflates request bodies). */
static int compresstest_echo(gale_request *r)
{
    size_t len;
    const char *body = gale_request_body(r, &len);
    const char *ce = gale_request_header(r, "Content-Encoding");
    gale_response_header(r, "Content-Type", "application/octet-stream");
    gale_response_header(r, "X-Got-Encoding", ce ? ce : "-");
    gale_response_write(r, body, len);
    return GALE_OK;
}

static const gale_handler compresstest_handlers[] = {
    {.name = "body", .get = compresstest_body},     {.name = "json", .get = compresstest_json},
    {.name = "stream", .get = compresstest_stream}, {.name = "events", .get = compresstest_events},
    {.name = "echo", .post = compresstest_echo},    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "compresstest",
    .handlers = compresstest_handlers,
};
