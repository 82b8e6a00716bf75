/*
 * access_format.c - compiling and rendering access log formats.
 *
 * A format is a list of pieces, each literal text or one variable, so that
 * a request costs a walk over the list and no parsing. Bytes a client chose
 * (the target, headers) are escaped as \xHH: a log line must not be forged
 * with a newline, nor carry a terminal escape sequence.
 */
#include "core/access_format.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/util.h"

enum access_var {
    AV_LITERAL,
    AV_REMOTE_ADDR,
    AV_REMOTE_USER,
    AV_TIME_LOCAL,
    AV_TIME_ISO8601,
    AV_TIME_LOG,
    AV_MSEC,
    AV_REQUEST,
    AV_REQUEST_METHOD,
    AV_REQUEST_URI,
    AV_SERVER_PROTOCOL,
    AV_STATUS,
    AV_BODY_BYTES_SENT,
    AV_REQUEST_TIME,
    AV_HOST,
    AV_HTTP_REFERER,
    AV_HTTP_USER_AGENT,
    AV_PID,
};

/* Longest names first where one is a prefix of another (request_time). */
static const struct {
    const char *name;
    enum access_var var;
} access_vars[] = {
    {"remote_addr", AV_REMOTE_ADDR},
    {"remote_user", AV_REMOTE_USER},
    {"time_local", AV_TIME_LOCAL},
    {"time_iso8601", AV_TIME_ISO8601},
    {"time_log", AV_TIME_LOG},
    {"msec", AV_MSEC},
    {"request_method", AV_REQUEST_METHOD},
    {"request_uri", AV_REQUEST_URI},
    {"request_time", AV_REQUEST_TIME},
    {"request", AV_REQUEST},
    {"server_protocol", AV_SERVER_PROTOCOL},
    {"status", AV_STATUS},
    {"body_bytes_sent", AV_BODY_BYTES_SENT},
    {"host", AV_HOST},
    {"http_referer", AV_HTTP_REFERER},
    {"http_user_agent", AV_HTTP_USER_AGENT},
    {"pid", AV_PID},
};

struct access_piece {
    enum access_var var;
    size_t off, len; /* literal: its bytes in text */
};

struct access_format {
    char *text;
    struct access_piece *p;
    size_t n;
};

static const char access_default[] =
    "$time_log $remote_addr \"$request\" $status $body_bytes_sent $request_time";
static const char access_combined[] = "$remote_addr - $remote_user [$time_local] \"$request\" "
                                      "$status $body_bytes_sent \"$http_referer\" "
                                      "\"$http_user_agent\"";

/* The variable named at s (after the '$'): its length in *len, or -1. */
static int access_format_var(const char *s, size_t *len)
{
    size_t n = 0;
    while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_')
        n++;
    for (size_t i = 0; i < ARRAY_SIZE(access_vars); i++)
        if (strlen(access_vars[i].name) == n && !memcmp(access_vars[i].name, s, n)) {
            *len = n;
            return (int)access_vars[i].var;
        }
    *len = n;
    return -1;
}

static void access_format_add(struct access_format *f, enum access_var v, size_t off, size_t len)
{
    f->p = xrealloc(f->p, (f->n + 1) * sizeof(*f->p));
    f->p[f->n++] = (struct access_piece){v, off, len};
}

struct access_format *access_format_compile(const char *text, char *err, size_t errlen)
{
    if (!strcmp(text, "default"))
        text = access_default;
    else if (!strcmp(text, "combined"))
        text = access_combined;
    struct access_format *f = xcalloc(1, sizeof(*f));
    f->text = xstrdup(text);
    size_t i = 0, lit = 0;
    while (f->text[i]) {
        if (f->text[i] != '$') {
            i++;
            continue;
        }
        size_t len;
        int v = access_format_var(f->text + i + 1, &len);
        if (v < 0 && len == 0) { /* a '$' followed by no name is itself */
            i++;
            continue;
        }
        if (v < 0) {
            snprintf(err, errlen, "unknown variable $%.*s in the access log format", (int)len,
                     f->text + i + 1);
            access_format_free(f);
            return NULL;
        }
        if (i > lit)
            access_format_add(f, AV_LITERAL, lit, i - lit);
        access_format_add(f, (enum access_var)v, 0, 0);
        i += 1 + len;
        lit = i;
    }
    if (i > lit)
        access_format_add(f, AV_LITERAL, lit, i - lit);
    return f;
}

void access_format_free(struct access_format *f)
{
    if (!f)
        return;
    free(f->text);
    free(f->p);
    free(f);
}

/* ---- rendering ---- */

struct access_out {
    char *buf;
    size_t len, cap; /* cap excludes the room kept for the final '\n' */
};

static void access_put(struct access_out *o, const char *s, size_t n)
{
    if (n > o->cap - o->len)
        n = o->cap - o->len;
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

static void access_putf(struct access_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void access_putf(struct access_out *o, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        access_put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A client's bytes, escaped; "-" when absent or empty (as nginx). */
static void access_version(struct access_out *o, const struct access_entry *e)
{
    if (e->http2)
        access_put(o, "HTTP/2.0", 8);
    else
        access_putf(o, "HTTP/1.%d", e->minor);
}

static void access_put_escaped(struct access_out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    if (!s || !*s) {
        access_put(o, "-", 1);
        return;
    }
    for (; *s && o->len < o->cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\' || c >= 0x80) {
            char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
            access_put(o, e, 4);
        } else {
            access_put(o, (const char *)&c, 1);
        }
    }
}

/* The seconds part of each time variable, formatted once a second:
 * localtime_r and strftime per line would cost more than the rest of it. */
static size_t access_time_text(enum access_var v, time_t sec, char *out, size_t cap)
{
    static struct {
        time_t sec;
        char text[40];
        size_t len;
    } cache[3];
    size_t k = v == AV_TIME_LOCAL ? 0 : v == AV_TIME_ISO8601 ? 1 : 2;
    if (cache[k].sec != sec || !cache[k].len) {
        struct tm tm;
        char *t = cache[k].text;
        size_t n;
        localtime_r(&sec, &tm);
        if (v == AV_TIME_LOCAL)
            n = strftime(t, sizeof(cache[k].text), "%d/%b/%Y:%H:%M:%S %z", &tm);
        else if (v == AV_TIME_ISO8601)
            n = strftime(t, sizeof(cache[k].text), "%Y-%m-%dT%H:%M:%S%z", &tm);
        else
            n = strftime(t, sizeof(cache[k].text), "%Y-%m-%d %H:%M:%S", &tm);
        if (v == AV_TIME_ISO8601 && n >= 5) { /* +0100 -> +01:00, as ISO 8601 writes it */
            memmove(t + n - 1, t + n - 2, 3);
            t[n - 2] = ':';
            n++;
        }
        cache[k].sec = sec;
        cache[k].len = n;
    }
    size_t n = cache[k].len < cap ? cache[k].len : cap;
    memcpy(out, cache[k].text, n);
    return n;
}

static void access_put_time(struct access_out *o, enum access_var v, const struct timeval *tv)
{
    char tmp[40];
    access_put(o, tmp, access_time_text(v, tv->tv_sec, tmp, sizeof(tmp)));
    if (v == AV_TIME_LOG)
        access_putf(o, ".%03ld", (long)(tv->tv_usec / 1000));
}

static void access_put_var(struct access_out *o, enum access_var v, const struct access_entry *e,
                           const struct timeval *tv)
{
    switch (v) {
    case AV_LITERAL:
        break;
    case AV_REMOTE_ADDR:
        access_put_escaped(o, e->client);
        break;
    case AV_REMOTE_USER:
        access_put(o, "-", 1); /* no HTTP authentication: there is never one */
        break;
    case AV_TIME_LOCAL:
    case AV_TIME_ISO8601:
    case AV_TIME_LOG:
        access_put_time(o, v, tv);
        break;
    case AV_MSEC:
        access_putf(o, "%ld.%03ld", (long)tv->tv_sec, (long)(tv->tv_usec / 1000));
        break;
    case AV_REQUEST:
        access_put_escaped(o, e->method);
        access_put(o, " ", 1);
        access_put_escaped(o, e->target);
        access_put(o, " ", 1);
        access_version(o, e);
        break;
    case AV_REQUEST_METHOD:
        access_put_escaped(o, e->method);
        break;
    case AV_REQUEST_URI:
        access_put_escaped(o, e->target);
        break;
    case AV_SERVER_PROTOCOL:
        access_version(o, e);
        break;
    case AV_STATUS:
        access_putf(o, "%d", e->status);
        break;
    case AV_BODY_BYTES_SENT:
        access_putf(o, "%zu", e->bytes);
        break;
    case AV_REQUEST_TIME:
        access_putf(o, "%.6f", e->seconds);
        break;
    case AV_HOST:
        access_put_escaped(o, e->host);
        break;
    case AV_HTTP_REFERER:
        access_put_escaped(o, e->referer);
        break;
    case AV_HTTP_USER_AGENT:
        access_put_escaped(o, e->user_agent);
        break;
    case AV_PID:
        access_putf(o, "%d", (int)getpid());
        break;
    }
}

size_t access_format_line(const struct access_format *f, const struct access_entry *e, char *buf,
                          size_t cap)
{
    struct access_out o = {buf, 0, cap - 1};
    struct timeval tv;
    gettimeofday(&tv, NULL);
    for (size_t i = 0; i < f->n; i++) {
        if (f->p[i].var == AV_LITERAL)
            access_put(&o, f->text + f->p[i].off, f->p[i].len);
        else
            access_put_var(&o, f->p[i].var, e, &tv);
    }
    buf[o.len++] = '\n';
    return o.len;
}
