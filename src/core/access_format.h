/*
 * access_format.h - the access log's line format: nginx-style log_format
 * text with $variables, compiled once when the config is read, rendered per
 * request without allocating.
 */
#ifndef GALE_ACCESS_FORMAT_H
#define GALE_ACCESS_FORMAT_H

#include <stddef.h>

/* What a finished request tells the access log. Strings may be NULL
 * (logged as "-"); client-supplied ones are escaped when written. */
struct access_entry {
    const char *client; /* remote address */
    const char *method;
    const char *target;
    const char *host;       /* Host header */
    const char *referer;    /* Referer header */
    const char *user_agent; /* User-Agent header */
    int minor;              /* HTTP/1.minor */
    int http2;              /* HTTP/2 (minor then says nothing) */
    int status;
    size_t bytes;   /* body bytes sent */
    double seconds; /* from the first byte of the request to the end of the answer */
};

struct access_format;

/* Compile `text`: "default" (gale's own line), "combined" (Apache/nginx
 * combined) or a format with $variables. Returns NULL with a message in
 * err (an unknown variable) when it cannot. The caller frees it. */
struct access_format *access_format_compile(const char *text, char *err, size_t errlen);
void access_format_free(struct access_format *f);

/* Render one line of e into buf (cap > 1), always ending in '\n' (a line
 * too long is cut). Returns its length. */
size_t access_format_line(const struct access_format *f, const struct access_entry *e, char *buf,
                          size_t cap);

#endif
