/*
 * static_path.h - the part of a URL path under a static prefix, made into a
 * relative file path that cannot leave the folder by its spelling. (What it
 * resolves to on disk, symbolic links included, is checked when the file is
 * opened: static.c.)
 */
#ifndef GALE_STATIC_PATH_H
#define GALE_STATIC_PATH_H

#include <stddef.h>
#include <sys/types.h>

/* Decode raw[0..len) (percent-encoded, as received, no query) into `out`
 * (cap bytes, NUL-terminated): its non-empty segments joined by '/', with no
 * leading or trailing '/' ("" for the folder itself). Refused (-1): a "." or
 * ".." segment, a NUL, a backslash, an encoded '/', a bad %-escape, a result
 * longer than cap - 1, and a segment starting with '.' unless `hidden`.
 * Returns the length of out. */
ssize_t static_path_clean(const char *raw, size_t len, int hidden, char *out, size_t cap);

#endif
