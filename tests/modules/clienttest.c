/*
 * clienttest.c - routes that drive the HTTP client (gale_fetch_*) for
 * tests/blackbox/28-http-client.py: each fetches the URL given in its
 * query and answers what came back as JSON, so that the test sees the
 * outcome (status, headers, body, error kind and message) from outside.
 * Counters are per worker: the test runs one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gale/gale.h>

static long clienttest_done_calls; /* done callbacks run, for the cancel tests */
static int clienttest_last_error;  /* the error of the last one */
static long clienttest_pauses;     /* GALE_FETCH_PAUSE returned by the relay */

static double clienttest_number(gale_request *r, const char *name, double def)
{
    const char *v = gale_request_query(r, name);
    return v ? strtod(v, NULL) : def;
}

/* The outcome of f as a JSON object (new reference). */
static json_t *clienttest_outcome(gale_fetch *f)
{
    size_t len;
    const char *body = gale_fetch_body(f, &len);
    json_t *headers = json_object();
    const char *name, *value;
    for (size_t i = 0; gale_fetch_header_at(f, i, &name, &value) == 0; i++)
        json_object_set_new(headers, name, json_string(value));
    json_t *parsed = gale_fetch_json(f);
    return json_pack("{s:i, s:s, s:i, s:s%, s:s, s:o, s:o}", "error", gale_fetch_error(f),
                     "message", gale_fetch_message(f), "status", gale_fetch_status(f), "body", body,
                     len, "url", gale_fetch_url(f), "headers", headers, "json",
                     parsed ? parsed : json_null());
}

static void clienttest_answer(gale_fetch *f, void *arg)
{
    gale_request *r = gale_fetch_request(f);
    (void)arg;
    clienttest_done_calls++;
    clienttest_last_error = gale_fetch_error(f);
    json_t *out = clienttest_outcome(f);
    gale_response_json(r, out);
    json_decref(out);
    gale_response_finish(r);
}

/* The query's method, headers (hdr=Name:value), body or JSON body, and limits. */
static gale_fetch *clienttest_make(gale_request *r)
{
    const char *url = gale_request_query(r, "url");
    const char *method = gale_request_query(r, "method");
    gale_fetch *f = gale_request_fetch(r, method ? method : "GET", url ? url : "");
    if (!f)
        return NULL;
    const char *hdr = gale_request_query(r, "hdr");
    const char *colon = hdr ? strchr(hdr, ':') : NULL;
    if (colon) {
        char *name = gale_request_strdup(r, hdr);
        name[colon - hdr] = '\0';
        gale_fetch_set_header(f, name, colon + 1);
    }
    const char *body = gale_request_query(r, "body");
    if (body)
        gale_fetch_set_body(f, body, strlen(body));
    if (gale_request_query(r, "json")) {
        json_t *j = json_pack("{s:s, s:i}", "hello", "gale", "n", 1);
        gale_fetch_set_json(f, j);
        json_decref(j);
    }
    gale_fetch_set_timeouts(f, clienttest_number(r, "connect", -1),
                            clienttest_number(r, "timeout", -1));
    if (gale_request_query(r, "redirects"))
        gale_fetch_set_max_redirects(f, (int)clienttest_number(r, "redirects", 0));
    if (gale_request_query(r, "max"))
        gale_fetch_set_max_size(f, (size_t)clienttest_number(r, "max", 0));
    return f;
}

/* GET /fetch?url=...: one fetch, its outcome as JSON. */
static int clienttest_fetch(gale_request *r)
{
    gale_fetch *f = clienttest_make(r);
    if (!f || gale_fetch_start(f, clienttest_answer, NULL) < 0)
        return GALE_ERROR;
    return GALE_ASYNC;
}

/* GET /many?url=&n=: n fetches at once; answers the count of each outcome. */
struct clienttest_many {
    long left;
    json_t *errors; /* error kind -> count */
};

static void clienttest_many_one(gale_fetch *f, void *arg)
{
    struct clienttest_many *m = arg;
    char key[16];
    snprintf(key, sizeof(key), "%d",
             gale_fetch_error(f) ? gale_fetch_error(f) : gale_fetch_status(f));
    json_object_set_new(m->errors, key,
                        json_integer(json_integer_value(json_object_get(m->errors, key)) + 1));
    if (--m->left == 0) {
        gale_request *r = gale_fetch_request(f);
        gale_response_json(r, m->errors);
        json_decref(m->errors);
        gale_response_finish(r);
    }
}

static int clienttest_many(gale_request *r)
{
    struct clienttest_many *m = gale_request_alloc(r, sizeof(*m));
    long n = (long)clienttest_number(r, "n", 10);
    m->left = n;
    m->errors = json_object();
    for (long i = 0; i < n; i++) {
        gale_fetch *f = gale_request_fetch(r, "GET", gale_request_query(r, "url"));
        if (!f || gale_fetch_start(f, clienttest_many_one, m) < 0)
            return GALE_ERROR;
    }
    return GALE_ASYNC;
}

/* GET /down?url=: the answer streamed to our client piece by piece. */
static int clienttest_down_piece(gale_fetch *f, void *arg, const char *data, size_t len)
{
    gale_request *r = gale_fetch_request(f);
    (void)arg;
    if (!gale_response_started(r))
        gale_response_header(r, "X-Upstream-Status",
                             gale_request_printf(r, "%d", gale_fetch_status(f)));
    gale_response_write(r, data, len);
    return gale_response_flush(r) < 0 ? -1 : 0;
}

static void clienttest_down_done(gale_fetch *f, void *arg)
{
    gale_request *r = gale_fetch_request(f);
    (void)arg;
    if (gale_fetch_error(f))
        gale_response_printf(r, "\nERROR %d: %s", gale_fetch_error(f), gale_fetch_message(f));
    gale_response_finish(r);
}

static int clienttest_down(gale_request *r)
{
    gale_fetch *f = clienttest_make(r);
    if (!f || gale_fetch_set_download(f, clienttest_down_piece, NULL) < 0 ||
        gale_fetch_start(f, clienttest_down_done, NULL) < 0)
        return GALE_ERROR;
    return GALE_ASYNC;
}

/* GET /relay?url=: the answer relayed to a client that may read slowly:
 * after each piece the fetch waits until our client took it
 * (gale_response_flush_then), pausing on the next piece meanwhile. */
struct clienttest_relay {
    gale_fetch *f;
    int waiting;
};

static void clienttest_relay_drained(gale_request *r, void *arg)
{
    struct clienttest_relay *rl = arg;
    (void)r;
    rl->waiting = 0;
    gale_fetch_resume(rl->f); /* -1 when no piece came meanwhile: fine */
}

static int clienttest_relay_piece(gale_fetch *f, void *arg, const char *data, size_t len)
{
    struct clienttest_relay *rl = arg;
    gale_request *r = gale_fetch_request(f);
    if (rl->waiting) {
        clienttest_pauses++;
        return GALE_FETCH_PAUSE;
    }
    gale_response_write(r, data, len);
    rl->waiting = 1;
    return gale_response_flush_then(r, clienttest_relay_drained, rl) < 0 ? -1 : 0;
}

static int clienttest_relay(gale_request *r)
{
    struct clienttest_relay *rl = gale_request_alloc(r, sizeof(*rl));
    rl->waiting = 0;
    gale_fetch *f = rl->f = clienttest_make(r);
    if (!f || gale_fetch_set_max_size(f, 0) < 0 ||
        gale_fetch_set_download(f, clienttest_relay_piece, rl) < 0 ||
        gale_fetch_start(f, clienttest_down_done, NULL) < 0)
        return GALE_ERROR;
    return GALE_ASYNC;
}

/* GET /up?url=&size=&pause=: a POST of size bytes ('a' + i % 26) made piece by piece,
 * of unknown length (sent chunked); answers the outcome. */
struct clienttest_up {
    long long sent, size;
    int pause; /* ?pause=1: every other call has nothing yet */
    int ready;
    gale_fetch *f;
};

static void clienttest_up_ready(gale_request *r, void *arg)
{
    struct clienttest_up *u = arg;
    (void)r;
    u->ready = 1;
    gale_fetch_resume(u->f);
}

static long clienttest_up_piece(gale_fetch *f, void *arg, char *buf, size_t size)
{
    struct clienttest_up *u = arg;
    if (u->pause && !u->ready) {
        gale_request_later(gale_fetch_request(f), 0.001, clienttest_up_ready, u);
        return GALE_FETCH_PAUSE;
    }
    u->ready = 0;
    size_t n = 0;
    while (n < size && n < 1000 && u->sent < u->size)
        buf[n++] = (char)('a' + u->sent++ % 26);
    return (long)n;
}

static int clienttest_up(gale_request *r)
{
    struct clienttest_up *u = gale_request_alloc(r, sizeof(*u));
    u->sent = 0;
    u->size = (long long)clienttest_number(r, "size", 100000);
    u->pause = gale_request_query(r, "pause") != NULL;
    u->ready = 0;
    gale_fetch *f = u->f = clienttest_make(r);
    if (!f || gale_fetch_set_upload(f, -1, clienttest_up_piece, u) < 0 ||
        gale_fetch_start(f, clienttest_answer, NULL) < 0)
        return GALE_ERROR;
    return GALE_ASYNC;
}

/* GET /drop?url=: starts a fetch, then answers at once without waiting:
 * the request is freed, which cancels the fetch (its done never runs). */
static int clienttest_drop(gale_request *r)
{
    gale_fetch *f = clienttest_make(r);
    if (!f || gale_fetch_start(f, clienttest_answer, NULL) < 0)
        return GALE_ERROR;
    gale_response_puts(r, "dropped");
    return GALE_OK;
}

/* GET /stats: the done callbacks run so far in this worker. */
static int clienttest_stats(gale_request *r)
{
    json_t *j =
        json_pack("{s:I, s:i, s:I}", "done", (json_int_t)clienttest_done_calls, "last_error",
                  clienttest_last_error, "pauses", (json_int_t)clienttest_pauses);
    gale_response_json(r, j);
    json_decref(j);
    return GALE_OK;
}

/* Any method on /echo: what gale received, for fetches of gale by itself. */
static int clienttest_echo(gale_request *r)
{
    size_t len;
    const char *body = gale_request_body(r, &len);
    const char *ct = gale_request_header(r, "Content-Type");
    const char *x = gale_request_header(r, "X-Test");
    json_t *j = json_pack("{s:s, s:s%, s:s, s:s}", "method", gale_request_method(r), "body", body,
                          len, "type", ct ? ct : "", "x", x ? x : "");
    gale_response_header(r, "X-Echo", "yes");
    gale_response_json(r, j);
    json_decref(j);
    return GALE_OK;
}

static const gale_handler clienttest_handlers[] = {
    {.name = "fetch", .get = clienttest_fetch},
    {.name = "many", .get = clienttest_many},
    {.name = "down", .get = clienttest_down},
    {.name = "up", .get = clienttest_up},
    {.name = "stats", .get = clienttest_stats},
    {.name = "drop", .get = clienttest_drop},
    {.name = "relay", .get = clienttest_relay},
    {.name = "echo", .any = clienttest_echo},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "clienttest",
    .handlers = clienttest_handlers,
};
