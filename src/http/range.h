/*
 * range.h - the Range request header (RFC 9110 14.2): byte ranges of a
 * file. One range is answered 206 with its bytes; several with a
 * multipart/byteranges body (15.3.7.2), once ranges that overlap or touch
 * are merged. As nginx does, a header that asks for more than RANGE_MAX
 * ranges, or for more bytes in all than the file holds (overlaps that would
 * make the answer larger than the file), is answered with the whole file.
 */
#ifndef GALE_RANGE_H
#define GALE_RANGE_H

#include <stddef.h>
#include <stdint.h>

#define RANGE_MAX 16

enum range_result {
    RANGE_NONE,         /* absent, malformed, another unit, too many: the whole file */
    RANGE_OK,           /* the ranges of the set: 206 */
    RANGE_UNSATISFIABLE /* no byte of any range is in the file: 416 */
};

struct range {
    uint64_t first, last; /* inclusive */
};

/* Ranges in ascending order, none overlapping or touching another. */
struct range_set {
    size_t n;
    struct range r[RANGE_MAX];
};

/* Parse `header` (NULL: absent) against a file of `size` bytes into `set`
 * (filled when RANGE_OK). */
enum range_result range_parse(const char *header, uint64_t size, struct range_set *set);

#endif
