/*
 * compress_negotiate.h - what an answer may be compressed with: the coding
 * a client's Accept-Encoding prefers (RFC 9110 12.5.3), and whether a
 * Content-Type is one worth compressing. Pure functions of their input, so
 * that the unit tests and the fuzzer reach them without a server.
 */
#ifndef GALE_COMPRESS_NEGOTIATE_H
#define GALE_COMPRESS_NEGOTIATE_H

#include <stddef.h>

enum compress_coding { COMPRESS_IDENTITY = 0, COMPRESS_GZIP, COMPRESS_BR };

/* The coding to answer with, given the request's Accept-Encoding (NULL:
 * none was sent, which gets identity as nginx and Tornado give) and
 * whether Brotli is allowed. The highest q-value among the codings gale
 * has wins, br over gzip on equal q; "*" stands for any coding the header
 * does not name; q=0 refuses; identity named with a higher q than the best
 * coding keeps the answer as it is. Malformed elements (a bad q-value, a
 * bad token) are ignored, never an error: any header is harmless. Linear
 * in the header's length. */
enum compress_coding compress_negotiate_coding(const char *accept_encoding, int brotli);

/* Whether content_type (a Content-Type value, parameters allowed) matches
 * one of the n patterns: "type/subtype" exactly, "type/" followed by a star
 * for every subtype, or a star and "+suffix" ("+json") for every type ending
 * in +suffix. Case is ignored. */
int compress_negotiate_type(const char *const *patterns, size_t n, const char *content_type);

/* The patterns used when the config names none. */
extern const char *const compress_negotiate_default_types[];
extern const size_t compress_negotiate_ndefault_types;

#endif
