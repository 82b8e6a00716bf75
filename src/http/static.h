/*
 * static.h - static files: the folders of the `static` list
 * (static_settings.h) served under their URL prefixes, with the validators
 * and conditional requests (RFC 9110 13: If-Match and If-Unmodified-Since
 * 412, If-None-Match and If-Modified-Since 304), byte ranges (206, one or
 * several as multipart/byteranges, 416, If-Range), HEAD, Cache-Control, precompressed .br/.gz
 * siblings, and static_url() for links that carry the file's content hash.
 *
 * Static routes are matched before the modules' routes and answer GET and
 * HEAD only. Paths that could leave the folder are answered 404: "." and
 * ".." segments, encoded '/', backslashes, NUL bytes, symbolic links that
 * lead outside (openat2 RESOLVE_BENEATH, or a check of the opened file's
 * real path where the kernel lacks it), and names starting with '.' unless
 * the folder's `hidden` is on. A folder's URL without its final '/' is
 * redirected (301) to it, and the folder's default file is served; there
 * are no listings.
 */
#ifndef GALE_STATIC_H
#define GALE_STATIC_H

#include <stddef.h>

#include "gale/gale.h"

/* The head is in: when `path` (as received) is under a static prefix, bind
 * r to that folder and return 1 (a method other than GET and HEAD is set up
 * to be refused); else 0 and the modules' routes are tried. */
int static_match(gale_request *r, const char *path, size_t len);

/* Answer r (bound by static_match) and finish it. */
void static_serve(gale_request *r);

/* The URL of `path` (relative to a static folder: "css/site.css") under the
 * first static folder, with "?v=" and the file's content hash (the
 * SHA-512 in hex, as Tornado 6's static_url), in r's arena. The hash is computed once per file and
 * worker, again when the file's mtime or size changes. A missing file gets
 * its URL without a version. NULL when there is no static folder. */
const char *static_url(gale_request *r, const char *path);
/* The same under the static folder named `name` (NULL: the first). */
const char *static_url_in(gale_request *r, const char *name, const char *path);

#endif
