/*
 * client_fetch.c - the module's side of an outgoing transfer (gale_fetch_*
 * in gale.h): made, set up, handed to the worker's client (client.c), its
 * answer gathered by libcurl's header and write callbacks, and its outcome
 * handed to the done callback, after which it is freed.
 *
 * A fetch bound to a request holds a cleanup on the request's arena: the
 * request going away cancels the fetch (no callback), and a fetch that ends
 * first drops that cleanup before it calls done, so that finishing the
 * request inside done does not cancel a fetch that is being finished.
 */
#include "client/client_fetch.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/client.h"
#include "client/client_error.h"
#include "client/client_settings.h"
#include "core/arena.h"
#include "core/loop.h"
#include "core/module.h"
#include "core/util.h"
#include "http/request.h"

/* ---- making and freeing ---- */

static void client_fetch_unbind(gale_fetch *f);

static void client_fetch_request_gone(void *arg)
{
    gale_fetch *f = arg;
    client_fetch_unbind(f); /* its cleanup is running: removing it is harmless */
    f->req = NULL;
    gale_fetch_cancel(f);
}

static void client_fetch_unbind(gale_fetch *f)
{
    if (!f->bound)
        return;
    arena_cleanup_remove(f->req->arena, client_fetch_request_gone, f);
    if (f->rprev)
        f->rprev->rnext = f->rnext;
    else
        f->req->fetches = f->rnext;
    if (f->rnext)
        f->rnext->rprev = f->rprev;
    f->rprev = f->rnext = NULL;
    f->bound = 0; /* req stays readable: done still answers it */
}

/* The request's client went away while its handler waits for fetches:
 * end each with CANCELLED, so that the handler's done finishes the request
 * (an aborted request's writes are dropped). */
static void client_fetch_client_gone(gale_request *r)
{
    /* Only those under way now: a done callback may start others (started
     * for an aborted request, they run to their end), or cancel these. */
    for (gale_fetch *f = r->fetches; f; f = f->rnext)
        f->gone = f->state != FETCH_NEW;
    for (;;) {
        gale_fetch *f = r->fetches;
        while (f && !f->gone)
            f = f->rnext;
        if (!f)
            return;
        client_fetch_unbind(f);
        client_fetch_gone(f);
    }
}

/* request_on_gone's hook: the fetches of a request whose client left (and
 * that is not finished) end. Registered again when a request's list was
 * empty: the second call finds nothing under way. */
static void client_fetch_gone_hook(void *arg)
{
    gale_request *r = arg;
    if (!r->finished)
        client_fetch_client_gone(r);
}

void client_fetch_gone(gale_fetch *f)
{
    f->gone = 1;
    client_end(f->client, f);
}

static void client_fetch_clear_headers(gale_fetch *f)
{
    for (size_t i = 0; i < f->nrh; i++) {
        free(f->rh[i].name);
        free(f->rh[i].value);
    }
    f->nrh = 0;
}

void client_fetch_free(gale_fetch *f)
{
    client_fetch_unbind(f);
    client_fetch_clear_headers(f);
    free(f->rh);
    if (f->easy)
        curl_easy_cleanup(f->easy);
    curl_slist_free_all(f->headers);
    free(f->method);
    free(f->url);
    free(f->body);
    free(f->message);
    free(f->last_url);
    free(f->rbody);
    free(f);
}

static int client_fetch_method_ok(const char *m)
{
    if (!*m)
        return 0;
    for (; *m; m++)
        if (!((*m >= 'A' && *m <= 'Z') || *m == '-' || *m == '_'))
            return 0;
    return 1;
}

gale_fetch *gale_fetch_new(gale_ctx *ctx, const char *method, const char *url)
{
    if (!ctx || !method || !url || !client_fetch_method_ok(method))
        return NULL;
    const struct client_settings *cs = client_settings(ctx->loop->cfg);
    gale_fetch *f = xcalloc(1, sizeof(*f));
    f->ctx = ctx;
    f->easy = curl_easy_init();
    if (!f->easy) {
        free(f);
        return NULL;
    }
    f->method = xstrdup(method);
    f->url = xstrdup(url);
    f->upload_len = -1;
    f->connect_timeout = cs->connect_timeout;
    f->timeout = cs->timeout;
    f->max_redirects = cs->max_redirects;
    f->max_size = cs->max_size;
    f->message = xstrdup("");
    return f;
}

gale_fetch *gale_request_fetch(gale_request *r, const char *method, const char *url)
{
    gale_fetch *f = r ? gale_fetch_new(gale_request_ctx(r), method, url) : NULL;
    if (!f)
        return NULL;
    f->req = r;
    f->bound = 1;
    arena_cleanup_add(r->arena, client_fetch_request_gone, f);
    if (!r->fetches) /* the first bound now: hear when the client leaves */
        request_on_gone(r, client_fetch_gone_hook, r);
    f->rnext = r->fetches;
    if (r->fetches)
        r->fetches->rprev = f;
    r->fetches = f;
    return f;
}

gale_request *gale_fetch_request(const gale_fetch *f)
{
    return f ? f->req : NULL;
}

/* ---- setting it up ---- */

static int client_fetch_token(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s <= ' ' || *s >= 127 || strchr("()<>@,;:\\\"/[]?={}", *s))
            return 0;
    return 1;
}

int gale_fetch_set_header(gale_fetch *f, const char *name, const char *value)
{
    if (!f || f->state != FETCH_NEW || !name || !value || !client_fetch_token(name) ||
        strpbrk(value, "\r\n"))
        return -1;
    struct strbuf b = {0};
    /* "Name;" is libcurl's way to send a header with an empty value. */
    if (*value)
        strbuf_addf(&b, "%s: %s", name, value);
    else
        strbuf_addf(&b, "%s;", name);
    char *line = strbuf_take(&b);
    struct curl_slist *l = curl_slist_append(f->headers, line);
    free(line);
    if (!l)
        return -1;
    f->headers = l;
    return 0;
}

int gale_fetch_set_body(gale_fetch *f, const void *data, size_t len)
{
    if (!f || f->state != FETCH_NEW || (!data && len))
        return -1;
    free(f->body);
    f->body = xmalloc(len + 1);
    if (len)
        memcpy(f->body, data, len);
    f->body_len = len;
    f->upload = NULL;
    return 0;
}

int gale_fetch_set_json(gale_fetch *f, const json_t *json)
{
    if (!f || !json)
        return -1;
    char *text = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return -1;
    int rc = gale_fetch_set_body(f, text, strlen(text));
    free(text);
    if (rc == 0)
        rc = gale_fetch_set_header(f, "Content-Type", "application/json");
    return rc;
}

int gale_fetch_set_upload(gale_fetch *f, long long length,
                          long (*fn)(gale_fetch *f, void *arg, char *buf, size_t size), void *arg)
{
    if (!f || f->state != FETCH_NEW || !fn || length < -1)
        return -1;
    free(f->body);
    f->body = NULL;
    f->upload = fn;
    f->upload_arg = arg;
    f->upload_len = length;
    return 0;
}

int gale_fetch_set_download(gale_fetch *f,
                            int (*fn)(gale_fetch *f, void *arg, const char *data, size_t len),
                            void *arg)
{
    if (!f || f->state != FETCH_NEW || !fn)
        return -1;
    f->download = fn;
    f->download_arg = arg;
    return 0;
}

int gale_fetch_set_timeouts(gale_fetch *f, double connect, double total)
{
    if (!f || f->state != FETCH_NEW || connect != connect || total != total || connect > 1e6 ||
        total > 1e6)
        return -1;
    if (connect >= 0)
        f->connect_timeout = connect;
    if (total >= 0)
        f->timeout = total;
    return 0;
}

int gale_fetch_set_max_redirects(gale_fetch *f, int n)
{
    if (!f || f->state != FETCH_NEW || n < 0 || n > 1000)
        return -1;
    f->max_redirects = n;
    return 0;
}

int gale_fetch_set_max_size(gale_fetch *f, size_t bytes)
{
    if (!f || f->state != FETCH_NEW)
        return -1;
    f->max_size = bytes;
    return 0;
}

/* ---- libcurl's callbacks ---- */

/* One line of an answer's head. A status line starts a new answer (after a
 * redirect or a 100 Continue): only the last answer's headers are kept. */
static size_t client_fetch_header_cb(char *data, size_t size, size_t n, void *arg)
{
    gale_fetch *f = arg;
    size_t len = size * n, end = len;
    if (f->cancelled)
        return 0;
    while (end && (data[end - 1] == '\r' || data[end - 1] == '\n'))
        end--;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        client_fetch_clear_headers(f);
        long status = 0;
        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
        f->status = (int)status;
        return len;
    }
    const char *colon = memchr(data, ':', end);
    if (!colon)
        return len;
    const char *v = colon + 1;
    while (v < data + end && (*v == ' ' || *v == '\t'))
        v++;
    if (f->nrh == f->rh_cap) {
        f->rh_cap = f->rh_cap ? f->rh_cap * 2 : 16;
        f->rh = xrealloc(f->rh, f->rh_cap * sizeof(*f->rh));
    }
    f->rh[f->nrh].name = strndup(data, (size_t)(colon - data));
    f->rh[f->nrh].value = strndup(v, (size_t)(data + end - v));
    if (!f->rh[f->nrh].name || !f->rh[f->nrh].value)
        util_oom();
    f->nrh++;
    return len;
}

static void client_fetch_keep(gale_fetch *f, const char *data, size_t len)
{
    if (f->rbody_len + len + 1 > f->rbody_cap) {
        f->rbody_cap = f->rbody_cap ? f->rbody_cap : 4096;
        while (f->rbody_len + len + 1 > f->rbody_cap)
            f->rbody_cap *= 2;
        f->rbody = xrealloc(f->rbody, f->rbody_cap);
    }
    memcpy(f->rbody + f->rbody_len, data, len);
    f->rbody_len += len;
    f->rbody[f->rbody_len] = '\0';
}

/* Returning less than len stops the transfer (CURLE_WRITE_ERROR): the
 * flags set here tell client_fetch_finish why. */
static size_t client_fetch_write_cb(char *data, size_t size, size_t n, void *arg)
{
    gale_fetch *f = arg;
    size_t len = size * n;
    if (f->cancelled)
        return 0;
    f->received += len;
    if (f->max_size && f->received > f->max_size) {
        f->oversize = 1;
        return 0;
    }
    if (!f->download) {
        client_fetch_keep(f, data, len);
        return len;
    }
    int rc = f->download(f, f->download_arg, data, len);
    if (rc == GALE_FETCH_PAUSE && !f->cancelled) {
        f->received -= len; /* libcurl hands the same piece again on resume */
        f->paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (rc < 0) {
        f->stopped = 1;
        return 0;
    }
    return f->cancelled ? 0 : len;
}

static size_t client_fetch_read_cb(char *buf, size_t size, size_t n, void *arg)
{
    gale_fetch *f = arg;
    if (f->cancelled)
        return CURL_READFUNC_ABORT;
    long got = f->upload(f, f->upload_arg, buf, size * n);
    if (got == GALE_FETCH_PAUSE && !f->cancelled) {
        f->paused = 1;
        return CURL_READFUNC_PAUSE;
    }
    if (got < 0 || (size_t)got > size * n || f->cancelled) {
        f->stopped = 1;
        return CURL_READFUNC_ABORT;
    }
    return (size_t)got;
}

/* ---- running ---- */

static long client_fetch_ms(double seconds)
{
    return seconds > 0 ? (long)(seconds * 1000 + 0.5) : 0;
}

static void client_fetch_set_method(gale_fetch *f)
{
    CURL *e = f->easy;
    int has_body = f->body || f->upload;
    if (strcmp(f->method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (has_body)
        curl_easy_setopt(e, CURLOPT_POST, 1L);
    if (f->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, f->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->body_len);
    } else if (f->upload) {
        curl_easy_setopt(e, CURLOPT_READFUNCTION, client_fetch_read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, f);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)f->upload_len);
    }
    /* GET, HEAD and POST are libcurl's own; any other is named as is. */
    if (strcmp(f->method, "GET") && strcmp(f->method, "HEAD") && strcmp(f->method, "POST"))
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, f->method);
}

static void client_fetch_set_client(gale_fetch *f, const struct client_settings *cs)
{
    CURL *e = f->easy;
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, cs->verify ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, cs->verify ? 2L : 0L);
    if (cs->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, cs->ca_file);
    /* "" rather than NULL: libcurl would otherwise obey http_proxy from the
     * environment, and the config is where gale's proxy is said. */
    curl_easy_setopt(e, CURLOPT_PROXY, cs->proxy ? cs->proxy : "");
    if (cs->no_proxy)
        curl_easy_setopt(e, CURLOPT_NOPROXY, cs->no_proxy);
    curl_easy_setopt(e, CURLOPT_USERAGENT, cs->user_agent);
}

int client_fetch_prepare(gale_fetch *f)
{
    CURL *e = f->easy;
    const struct client_settings *cs = client_settings(f->ctx->loop->cfg);
    if (curl_easy_setopt(e, CURLOPT_URL, f->url) != CURLE_OK)
        return -1;
    curl_easy_setopt(e, CURLOPT_PRIVATE, f);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, f->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* file://, dict:// and the rest stay out, also behind a redirect. */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, f->max_redirects > 0 ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)f->max_redirects);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, client_fetch_ms(f->connect_timeout));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, client_fetch_ms(f->timeout));
    if (f->max_size)
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_size);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, client_fetch_header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, f);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, client_fetch_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, f);
    /* No "Expect: 100-continue": many servers never answer it, and the wait
     * for them would cost every upload a second. */
    f->headers = curl_slist_append(f->headers, "Expect:");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, f->headers);
    client_fetch_set_method(f);
    client_fetch_set_client(f, cs);
    return 0;
}

static void client_fetch_outcome(gale_fetch *f, CURLcode code)
{
    int kind = client_error_kind(code);
    if (f->gone)
        kind = GALE_FETCH_CANCELLED;
    else if (f->oversize)
        kind = GALE_FETCH_TOO_LARGE;
    else if (f->stopped)
        kind = GALE_FETCH_CANCELLED;
    f->error = kind;
    char *url = NULL;
    if (curl_easy_getinfo(f->easy, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK && url)
        f->last_url = xstrdup(url);
    if (kind == GALE_FETCH_OK)
        return;
    struct strbuf b = {0};
    const char *why = f->gone        ? "the client went away"
                      : f->errbuf[0] ? f->errbuf
                                     : curl_easy_strerror(code);
    if (kind == GALE_FETCH_TOO_LARGE)
        strbuf_addf(&b, "%s: above %zu bytes (%s)", client_error_what(kind), f->max_size, f->url);
    else
        strbuf_addf(&b, "%s: %s (%s)", client_error_what(kind), why, f->url);
    free(f->message);
    f->message = strbuf_take(&b);
}

void client_fetch_finish(gale_fetch *f, CURLcode code)
{
    client_fetch_outcome(f, code);
    client_fetch_unbind(f);
    f->state = FETCH_DONE;
    if (f->done)
        f->done(f, f->done_arg);
    client_fetch_free(f);
}

int gale_fetch_start(gale_fetch *f, gale_fetch_done_fn done, void *arg)
{
    if (!f)
        return -1;
    struct client *c = f->state == FETCH_NEW && done ? client_get(f->ctx->loop) : NULL;
    if (!c) {
        if (f->state == FETCH_NEW)
            client_fetch_free(f);
        return -1;
    }
    f->done = done;
    f->done_arg = arg;
    if (client_add(c, f) < 0) {
        client_fetch_free(f);
        return -1;
    }
    return 0;
}

int gale_fetch_resume(gale_fetch *f)
{
    if (!f || f->state != FETCH_RUNNING || !f->paused || f->cancelled)
        return -1;
    f->paused = 0;
    return client_resume(f->client, f);
}

void gale_fetch_cancel(gale_fetch *f)
{
    if (!f || f->state == FETCH_DONE || f->cancelled)
        return;
    if (f->state != FETCH_NEW && client_cancel(f->client, f))
        return; /* inside libcurl: reaped and freed once it returns */
    client_fetch_free(f);
}

/* ---- the outcome ---- */

int gale_fetch_error(const gale_fetch *f)
{
    return f ? f->error : GALE_FETCH_FAILED;
}

const char *gale_fetch_message(const gale_fetch *f)
{
    return f ? f->message : "";
}

int gale_fetch_status(const gale_fetch *f)
{
    return f ? f->status : 0;
}

const char *gale_fetch_url(const gale_fetch *f)
{
    return !f ? NULL : f->last_url ? f->last_url : f->url;
}

const char *gale_fetch_header(const gale_fetch *f, const char *name)
{
    for (size_t i = 0; f && name && i < f->nrh; i++)
        if (strcasecmp(f->rh[i].name, name) == 0)
            return f->rh[i].value;
    return NULL;
}

int gale_fetch_header_at(const gale_fetch *f, size_t i, const char **name, const char **value)
{
    if (!f || i >= f->nrh)
        return -1;
    if (name)
        *name = f->rh[i].name;
    if (value)
        *value = f->rh[i].value;
    return 0;
}

const char *gale_fetch_body(const gale_fetch *f, size_t *len)
{
    if (len)
        *len = f && f->rbody ? f->rbody_len : 0;
    return f && f->rbody ? f->rbody : "";
}

json_t *gale_fetch_json(const gale_fetch *f)
{
    if (!f || !f->rbody)
        return NULL;
    return json_loadb(f->rbody, f->rbody_len, JSON_DECODE_ANY, NULL);
}
