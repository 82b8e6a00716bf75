/*
 * cgi_env.c - the environment of a CGI program: RFC 3875's meta-variables
 * and the request's headers as HTTP_*, but never Proxy (httpoxy: a client's
 * "Proxy:" header would become the program's HTTP_PROXY).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cgi.h"

/* Built with memcpy, not printf: a request through php-fpm makes some
 * twenty of these, and printf was a third of the worker's instructions. */
char *cgi_cat(gale_request *r, ...)
{
    va_list ap;
    size_t len = 0;
    va_start(ap, r);
    for (const char *s; (s = va_arg(ap, const char *));)
        len += strlen(s);
    va_end(ap);
    char *out = gale_request_alloc(r, len + 1), *o = out;
    va_start(ap, r);
    for (const char *s; (s = va_arg(ap, const char *));) {
        size_t n = strlen(s);
        memcpy(o, s, n);
        o += n;
    }
    va_end(ap);
    *o = 0;
    return out;
}

struct cgi_env_list {
    gale_request *r;
    struct cgi_var *v;
    size_t n, cap;
};

static void cgi_env_add(struct cgi_env_list *e, const char *name, const char *value)
{
    if (!value)
        return;
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 32;
        struct cgi_var *v = gale_request_alloc(e->r, cap * sizeof(*v));
        if (e->n)
            memcpy(v, e->v, e->n * sizeof(*v));
        e->v = v;
        e->cap = cap;
    }
    e->v[e->n++] = (struct cgi_var){name, value};
}

/* HTTP_NAME for a header, or NULL for one that must not pass: Proxy,
 * those with their own variables, and names with '_' (which would read
 * the same as one with '-', a way to smuggle a header past a proxy). */
static char *cgi_env_header_name(gale_request *r, const char *name)
{
    if (!strcasecmp(name, "Proxy") || !strcasecmp(name, "Content-Type") ||
        !strcasecmp(name, "Content-Length") || strchr(name, '_'))
        return NULL;
    char *v = cgi_cat(r, "HTTP_", name, NULL);
    for (char *c = v + 5; *c; c++)
        *c = *c == '-' ? '_' : (char)toupper((unsigned char)*c);
    return v;
}

/* Every header as HTTP_*; repeated ones joined (", ", or "; " for Cookie). */
static void cgi_env_headers(struct cgi_env_list *e)
{
    const char *name, *value;
    for (size_t i = 0; gale_request_header_at(e->r, i, &name, &value) == 0; i++) {
        char *var = cgi_env_header_name(e->r, name);
        if (!var)
            continue;
        size_t k;
        for (k = 0; k < e->n; k++)
            if (!strcmp(e->v[k].name, var))
                break;
        if (k == e->n) {
            cgi_env_add(e, var, value);
            continue;
        }
        const char *sep = strcasecmp(name, "Cookie") ? ", " : "; ";
        e->v[k].value = cgi_cat(e->r, e->v[k].value, sep, value, NULL);
    }
}

/* SERVER_NAME and SERVER_PORT from Host (the name the client used). */
static void cgi_env_server(struct cgi_env_list *e, int https)
{
    const char *host = gale_request_host(e->r);
    char *name = gale_request_strdup(e->r, host && *host ? host : "localhost");
    const char *port = https ? "443" : "80";
    char *colon = strrchr(name, ':');
    if (colon && !strchr(colon, ']')) {
        *colon = 0;
        port = colon + 1;
    }
    cgi_env_add(e, "SERVER_NAME", name);
    cgi_env_add(e, "SERVER_PORT", port);
}

const struct cgi_var *cgi_env_vars(gale_request *r, const struct cgi_target *t, size_t *n)
{
    struct cgi_env_list e = {.r = r};
    int https = !strcmp(gale_request_scheme(r), "https");
    const char *query = strchr(t->uri, '?');
    cgi_env_add(&e, "GATEWAY_INTERFACE", "CGI/1.1");
    cgi_env_add(&e, "SERVER_SOFTWARE", "gale/" GALE_VERSION_STRING);
    cgi_env_add(&e, "SERVER_PROTOCOL", gale_request_http_minor(r) ? "HTTP/1.1" : "HTTP/1.0");
    cgi_env_server(&e, https);
    cgi_env_add(&e, "REQUEST_METHOD", t->redirected ? "GET" : gale_request_method(r));
    cgi_env_add(&e, "REQUEST_URI", t->uri);
    cgi_env_add(&e, "REQUEST_SCHEME", https ? "https" : "http");
    cgi_env_add(&e, "QUERY_STRING", query ? query + 1 : "");
    cgi_env_add(&e, "SCRIPT_NAME", t->script_name);
    cgi_env_add(&e, "SCRIPT_FILENAME", t->script);
    cgi_env_add(&e, "DOCUMENT_ROOT", t->root);
    if (*t->path_info) {
        cgi_env_add(&e, "PATH_INFO", t->path_info);
        cgi_env_add(&e, "PATH_TRANSLATED", cgi_cat(r, t->root, t->path_info, NULL));
    }
    cgi_env_add(&e, "REMOTE_ADDR", gale_request_client(r));
    /* The body streams in (cgi.c): its length is the client's word, which
     * gale holds it to. */
    const char *length = gale_request_header(r, "Content-Length");
    if (!t->redirected && length)
        cgi_env_add(&e, "CONTENT_LENGTH", length);
    if (!t->redirected)
        cgi_env_add(&e, "CONTENT_TYPE", gale_request_header(r, "Content-Type"));
    if (https)
        cgi_env_add(&e, "HTTPS", "on");
    /* php-cgi answers only when it can tell it runs under a server
     * (cgi.force_redirect). */
    cgi_env_add(&e, "REDIRECT_STATUS", "200");
    cgi_env_add(&e, "PATH", "/usr/local/bin:/usr/bin:/bin");
    cgi_env_headers(&e);
    *n = e.n;
    return e.v;
}

const char *const *cgi_env(gale_request *r, const struct cgi_target *t)
{
    size_t n;
    const struct cgi_var *v = cgi_env_vars(r, t, &n);
    const char **env = gale_request_alloc(r, (n + 1) * sizeof(*env));
    for (size_t i = 0; i < n; i++)
        env[i] = cgi_cat(r, v[i].name, "=", v[i].value, NULL);
    env[n] = NULL;
    return env;
}
