/*
 * util.h - small helpers shared by every file: checked allocation, time,
 * string buffers.
 */
#ifndef GALE_UTIL_H
#define GALE_UTIL_H

#include <stddef.h>
#include <sys/time.h>
#include <stdarg.h>

/* Allocation that never returns NULL: out of memory aborts the process (a
 * worker is then replaced by the master). */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);
void util_oom(void) __attribute__((noreturn));

double util_now(void); /* monotonic seconds */
/* seconds as a struct timeval (non-negative) */
struct timeval util_timeval(double seconds);

/* A growable text buffer for building messages (errors, logs). */
struct strbuf {
    char *s;
    size_t len, cap;
};
void strbuf_addf(struct strbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *b, const char *fmt, va_list ap);
/* Hand the text over (caller frees) and empty the buffer. */
char *strbuf_take(struct strbuf *b);

/* Percent-decode src[0..len) into dst (which has room for len + 1 bytes);
 * `plus` also turns '+' into a space (query strings). Returns the length
 * written (NUL-terminated). Invalid escapes are kept as they are. */
size_t util_url_decode(char *dst, const char *src, size_t len, int plus);

/* The value of a hex digit of either case, or -1. */
int util_hex_value(int c);
/* n bytes as 2n lowercase hex digits into out (no NUL added). */
void util_hex(char *out, const void *in, size_t n);
/* Percent-encode src into dst (cap bytes, NUL-terminated): all but the
 * unreserved characters (RFC 3986) and those in keep (may be NULL). Returns
 * the length, or -1 when dst is too small (3 * strlen(src) + 1 always fits). */
int util_url_encode(char *dst, size_t cap, const char *src, const char *keep);

int util_set_nonblock(int fd);
int util_set_cloexec(int fd);

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
