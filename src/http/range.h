/*
 * range.h - the Range request header (RFC 9110 14.2), for one range of
 * bytes. Several ranges are answered with the whole file (200), as
 * Tornado's StaticFileHandler does: a multipart/byteranges answer is rarely
 * asked for and never by browsers fetching media.
 */
#ifndef GALE_RANGE_H
#define GALE_RANGE_H

#include <stdint.h>

enum range_result {
    RANGE_NONE,         /* absent, malformed, another unit or several ranges: the whole file */
    RANGE_OK,           /* bytes *first..*last (inclusive) of the file: 206 */
    RANGE_UNSATISFIABLE /* no byte of the range is in the file: 416 */
};

/* Parse `header` (NULL: absent) against a file of `size` bytes. */
enum range_result range_parse(const char *header, uint64_t size, uint64_t *first, uint64_t *last);

#endif
