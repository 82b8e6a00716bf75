/*
 * conditional.h - the preconditions of a request (RFC 9110 13.1, 13.2.2):
 * If-Match, If-Unmodified-Since, If-None-Match and If-Modified-Since,
 * evaluated in the RFC's order against what the answer would be. Used by
 * the static folders and by the ETag stage for the handlers' answers; the
 * Range and If-Range that come after them are the producer's.
 */
#ifndef GALE_CONDITIONAL_H
#define GALE_CONDITIONAL_H

#include <time.h>

#include "gale/gale.h"
#include "http/http_parser.h"
#include "http/request.h"

/* Whether the entity-tag list `header` ("*" or tags separated by commas)
 * matches `tag`: with the strong comparison (If-Match, If-Range: both
 * strong and equal) when `strong`, else the weak one (If-None-Match: equal
 * once "W/" is dropped). "*" matches any tag, even none (""): the answer
 * exists. */
int conditional_tag_match(const char *header, const char *tag, int strong);

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), or -1 (absent or
 * malformed: the precondition is then ignored, RFC 9110 13.1.3). */
time_t conditional_parse_date(const char *s);

/* A request's precondition headers (NULL: absent). */
struct conditional_headers {
    const char *if_match, *if_unmodified_since, *if_none_match, *if_modified_since;
};

/* Evaluate the preconditions `h` of a request (`get`: GET or HEAD) against
 * the answer's validators: `etag` (NULL: none) and `modified`, its last
 * modification (-1: none). Returns 0 to go on, 304 (Not Modified: GET and
 * HEAD) or 412 (Precondition Failed). */
int conditional_evaluate(const struct conditional_headers *h, int get, const char *etag,
                         time_t modified);

/* The same for request r. */
static inline int conditional_check(gale_request *r, const char *etag, time_t modified)
{
    struct conditional_headers h = {
        .if_match = gale_request_header(r, "If-Match"),
        .if_unmodified_since = gale_request_header(r, "If-Unmodified-Since"),
        .if_none_match = gale_request_header(r, "If-None-Match"),
        .if_modified_since = gale_request_header(r, "If-Modified-Since"),
    };
    return conditional_evaluate(&h, r->mid == HTTP_M_GET || r->mid == HTTP_M_HEAD, etag, modified);
}

#endif
