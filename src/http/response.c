/*
 * response.c - the module API for answers: status, headers, body, streaming.
 */
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "core/arena.h"
#include "http/http_parser.h"
#include "http/pipeline.h"
#include "http/request.h"

/* The longest reason phrase gale_response_reason takes: longer ones are
 * prose that belongs in the body. */
#define RESPONSE_REASON_MAX 64

/* Headers whose framing or meaning gale owns, with their lengths: most
 * names a module sets have none of these lengths, and are not compared. */
static const struct {
    const char *name;
    size_t len;
} response_reserved[] = {
    {"Content-Length", 14}, {"Transfer-Encoding", 17}, {"Connection", 10}, {"Date", 4},
    {"Server", 6},          {"Keep-Alive", 10},        {"Upgrade", 7},
};

static int response_value_ok(const char *v)
{
    return v[http_value_span(v)] == '\0';
}

int gale_response_status(gale_request *r, int status)
{
    if (status < 100 || status > 599 || r->head_sent)
        return -1;
    r->status = status;
    return 0;
}

/* A header name a module may set or remove, while it still may: a token
 * that is not one of gale's own. Its length, or 0 when it may not. */
static size_t response_name_ok(const gale_request *r, const char *name)
{
    if (r->head_sent || !name)
        return 0;
    size_t n = http_token_span(name);
    if (n == 0 || name[n] != '\0')
        return 0;
    for (size_t i = 0; i < sizeof(response_reserved) / sizeof(*response_reserved); i++)
        if (n == response_reserved[i].len && !strcasecmp(name, response_reserved[i].name))
            return 0;
    return n;
}

static int response_header_ok(const gale_request *r, const char *name, const char *value)
{
    return response_name_ok(r, name) && value && response_value_ok(value);
}

int gale_response_header(gale_request *r, const char *name, const char *value)
{
    size_t n = response_name_ok(r, name), vn = value ? http_value_span(value) : 0;
    if (!n || !value || value[vn] != '\0')
        return -1;
    /* name and value in one piece of the arena, their lengths known */
    char *copy = arena_alloc(r->arena, n + vn + 2);
    memcpy(copy, name, n + 1);
    memcpy(copy + n + 1, value, vn + 1);
    response_header_add_static(r, copy, copy + n + 1);
    return 0;
}

int gale_response_set_header(gale_request *r, const char *name, const char *value)
{
    if (!response_header_ok(r, name, value))
        return -1;
    response_header_remove(r, name);
    response_header_add(r, name, value);
    return 0;
}

int gale_response_remove_header(gale_request *r, const char *name)
{
    if (!response_name_ok(r, name))
        return -1;
    response_header_remove(r, name);
    return 0;
}

/* Visible ASCII and spaces: no tab, control or obs-text, which some clients
 * mangle (RFC 9112 allows them in a reason phrase; nothing needs them). */
static int response_reason_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e)
            return 0;
    return n <= RESPONSE_REASON_MAX;
}

int gale_response_reason(gale_request *r, const char *reason)
{
    if (r->head_sent || (reason && !response_reason_ok(reason)))
        return -1;
    r->reason = reason ? arena_strdup(r->arena, reason) : NULL;
    return 0;
}

const char *response_header_find(const gale_request *r, const char *name)
{
    for (size_t i = 0; i < r->nrh; i++)
        if (http_name_eq(r->rh[i].name, name))
            return r->rh[i].value;
    return NULL;
}

void response_header_remove(gale_request *r, const char *name)
{
    size_t o = 0, keep = r->nrh_keep;
    for (size_t i = 0; i < r->nrh; i++) {
        if (!http_name_eq(r->rh[i].name, name))
            r->rh[o++] = r->rh[i];
        else if (i < r->nrh_keep)
            keep--; /* one of gale's own that error pages keep: no longer there */
    }
    r->nrh = o;
    r->nrh_keep = keep;
}

void response_header_add_static(gale_request *r, const char *name, const char *value)
{
    if (r->nrh == r->caprh) {
        size_t cap = r->caprh ? r->caprh * 2 : 8;
        r->rh = arena_realloc(r->arena, r->rh, r->caprh * sizeof(*r->rh), cap * sizeof(*r->rh));
        r->caprh = cap;
    }
    r->rh[r->nrh].name = name;
    r->rh[r->nrh].value = value;
    r->nrh++;
}

void response_header_add(gale_request *r, const char *name, const char *value)
{
    response_header_add_static(r, arena_strdup(r->arena, name), arena_strdup(r->arena, value));
}

int gale_response_write(gale_request *r, const void *data, size_t len)
{
    if (r->finished)
        return -1;
    if (r->aborted || !len)
        return 0;
    return evbuffer_add(r->out, data, len);
}

int gale_response_puts(gale_request *r, const char *s)
{
    return gale_response_write(r, s, strlen(s));
}

int gale_response_puts_html(gale_request *r, const char *s)
{
    static const char *const entity[] = {
        ['<'] = "&lt;", ['>'] = "&gt;", ['&'] = "&amp;", ['"'] = "&quot;", ['\''] = "&#39;"};
    while (*s) {
        size_t n = strcspn(s, "<>&\"'");
        if (gale_response_write(r, s, n) < 0)
            return -1;
        s += n;
        if (*s && gale_response_puts(r, entity[(unsigned char)*s++]) < 0)
            return -1;
    }
    return 0;
}

int gale_response_vprintf(gale_request *r, const char *fmt, va_list ap)
{
    if (r->finished)
        return -1;
    return evbuffer_add_vprintf(r->out, fmt, ap) < 0 ? -1 : 0;
}

int gale_response_printf(gale_request *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = gale_response_vprintf(r, fmt, ap);
    va_end(ap);
    return rc;
}

int gale_response_flush(gale_request *r)
{
    if (r->finished || r->aborted || !r->stream)
        return -1;
    if (!r->head_sent && pipeline_send_head(r, 1) < 0)
        return -1;
    pipeline_send_body(r);
    pipeline_flush(r);
    return 0;
}

int gale_response_flush_then(gale_request *r, void (*fn)(gale_request *r, void *arg), void *arg)
{
    if (!fn || gale_response_flush(r) < 0)
        return -1;
    pipeline_when_drained(r, fn, arg);
    return 0;
}

void gale_response_finish(gale_request *r)
{
    pipeline_finish(r);
}

void gale_response_error(gale_request *r, int status, const char *reason)
{
    if (status < 100 || status > 599)
        status = 500;
    pipeline_error(r, status, reason);
}

int gale_response_json(gale_request *r, const json_t *json)
{
    if (r->finished || r->head_sent)
        return -1;
    char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return -1;
    gale_response_header(r, "Content-Type", "application/json; charset=utf-8");
    /* "</" would end an enclosing <script> element: write "<\/" (the same
     * string to any JSON reader), as Tornado's json_encode does. */
    const char *p = text, *lt;
    while ((lt = strstr(p, "</")) != NULL) {
        gale_response_write(r, p, (size_t)(lt - p));
        gale_response_write(r, "<\\/", 3);
        p = lt + 2;
    }
    gale_response_puts(r, p);
    free(text);
    return 0;
}

int gale_response_redirect(gale_request *r, int status, const char *url)
{
    if ((status < 301 || status > 303) && status != 307 && status != 308)
        return -1;
    if (r->finished || r->head_sent || !url || !*url || !response_value_ok(url))
        return -1;
    r->status = status;
    if (gale_response_header(r, "Location", url) < 0)
        return -1;
    evbuffer_drain(r->out, evbuffer_get_length(r->out));
    pipeline_finish(r);
    return 0;
}

int gale_response_started(const gale_request *r)
{
    return r->head_sent;
}
