/*
 * http_parser.h - the strict, incremental HTTP/1.1 request parser (RFC 9112).
 *
 * Pure logic: no I/O, no allocation, no copies. The caller keeps the bytes of
 * the request head in one buffer and calls http_parse_request() again with
 * the same prefix plus whatever arrived since; the parser resumes where it
 * stopped (it records offsets, so the buffer may move between calls). When
 * the head is complete the slices in `struct http_head` point into the buffer
 * given to the last call.
 */
#ifndef GALE_HTTP_PARSER_H
#define GALE_HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>
#include <strings.h>

struct http_header {
    const char *name;
    size_t name_len;
    const char *value; /* optional whitespace around it trimmed */
    size_t value_len;
};

struct http_head {
    const char *method;
    size_t method_len;
    const char *target; /* the request-target as received */
    size_t target_len;
    const char *path; /* origin-form: target up to '?'; absolute-form: its path ("/" if none);
                       * asterisk-form ("*") and authority-form (CONNECT): the whole target */
    size_t path_len;
    const char *query; /* after '?', NULL when there is no '?' */
    size_t query_len;
    int version_minor;           /* 0 or 1 (HTTP/1.2 and later 1.x: 1) */
    struct http_header *headers; /* the caller's array, filled */
    size_t nheaders;
    /* Derived from the headers, already checked for smuggling shapes: */
    int64_t content_length;       /* -1 when there is none */
    unsigned chunked : 1;         /* Transfer-Encoding ends with chunked */
    unsigned conn_close : 1;      /* Connection: close */
    unsigned conn_keepalive : 1;  /* Connection: keep-alive */
    unsigned conn_upgrade : 1;    /* Connection: upgrade */
    unsigned expect_continue : 1; /* Expect: 100-continue, in HTTP/1.1 */
    /* Host value; for absolute-form the target's authority instead, which
     * RFC 9112 3.2.2 says overrides Host; NULL when absent. */
    const char *host;
    size_t host_len;
    const char *upgrade; /* first Upgrade value; NULL when absent or in HTTP/1.0 */
    size_t upgrade_len;
    size_t head_len; /* bytes of the head, final CRLF CRLF included */
};

struct http_parser {
    /* limits, set by http_parser_init */
    size_t max_head;    /* whole head, bytes: 431 past it */
    size_t max_target;  /* request-target, bytes: 414 past it */
    size_t max_headers; /* header count (and the capacity of `headers`): 431 past it */
    struct http_header *headers;
    /* result of a failed parse */
    int status;         /* 400, 414, 417, 431, 501 or 505 */
    const char *reason; /* short, static, for the error body and the log */
    /* private state (offsets into the buffer); the implementation owns these */
    int state;
    unsigned flags;       /* what the fields seen so far said */
    unsigned empty_lines; /* CRLFs skipped before the request line */
    int version_minor;
    size_t pos;        /* next byte to examine */
    size_t line_start; /* first byte of the current line */
    size_t method_start, method_end, target_start, target_end;
    size_t path_start, path_len, query_start, query_len;
    size_t name_end, value_start;
    size_t host_start, host_len, upgrade_start, upgrade_len;
    size_t authority_start, authority_len;
    size_t nheaders;
    int64_t content_length;
};

/* Prepare p for one request head. `headers` has room for max_headers; the
 * caller owns it. Until http_parse_request() returns 1 the array holds the
 * parser's private offsets, not pointers: do not read it before. */
void http_parser_init(struct http_parser *p, size_t max_head, size_t max_target,
                      struct http_header *headers, size_t max_headers);

/* Parse buf[0..len). Returns 1 when the head is complete (h filled,
 * h->head_len tells where the body starts), 0 when more bytes are needed, -1
 * on an error (p->status and p->reason say which; the connection must be
 * answered and closed). Once it has returned 1 or -1 it returns the same
 * again without reading buf or touching h: call http_parser_init() for the
 * next request. Never allocates; O(n) over all calls together. */
int http_parse_request(struct http_parser *p, const char *buf, size_t len, struct http_head *h);

/* Decoder for a chunked request body (RFC 9112 section 7.1). */
struct http_chunked {
    int state;
    uint64_t remaining;   /* bytes left in the current chunk */
    size_t line_len;      /* bytes of the current size/extension/trailer line */
    size_t trailer_bytes; /* all trailer field bytes so far */
    size_t max_line;      /* chunk-size line and trailer line limit */
    size_t max_trailer;   /* all trailers together */
    const char *reason;   /* on error */
};

enum {
    HTTP_CHUNKED_ERROR = -1, /* bad framing: 400 and close; reason says why */
    HTTP_CHUNKED_MORE = 0,   /* everything given was consumed; give more */
    HTTP_CHUNKED_DATA = 1,   /* *data / *data_len is body data inside buf */
    HTTP_CHUNKED_DONE = 2,   /* last chunk and trailers read */
};

void http_chunked_init(struct http_chunked *c);

/* Consume framing from buf[0..len); *used tells how many bytes were consumed
 * (data bytes returned included). Call again with the rest. DATA slices point
 * into this call's buf; each call returns at most one. On DONE, *used ends
 * the body within buf (what follows is the next request); on ERROR it is 0
 * and c->reason says why. After DONE or ERROR further calls consume nothing
 * and return the same. http_chunked_init sets max_line 4096 (bytes of a
 * line before its CRLF) and max_trailer 16384 (all trailer field lines,
 * CRLFs included); change them after it if needed. */
int http_chunked_parse(struct http_chunked *c, const char *buf, size_t len, size_t *used,
                       const char **data, size_t *data_len);

/* Method names gale knows; HTTP_M_OTHER for any other valid token. */
enum http_method {
    HTTP_M_GET,
    HTTP_M_HEAD,
    HTTP_M_POST,
    HTTP_M_PUT,
    HTTP_M_PATCH,
    HTTP_M_DELETE,
    HTTP_M_OPTIONS,
    HTTP_M_CONNECT,
    HTTP_M_TRACE,
    HTTP_M_OTHER,
};
enum http_method http_method_lookup(const char *name, size_t len);

/* How many bytes of the string s are token characters (RFC 9110 5.6.2),
 * and how many may be in a field value (field-vchar, obs-text, SP, HTAB):
 * s is all of them when s[span] is its NUL. */
size_t http_token_span(const char *s);
size_t http_value_span(const char *s);

/* Whether two field names are the same, ASCII case-insensitively. Lookups
 * by name go through every field of a head: the first bytes, which may
 * differ only in case (bit 0x20), rule out nearly every other name before
 * strcasecmp is called. Inline: it runs per field and per lookup. */
static inline int http_name_eq(const char *a, const char *b)
{
    return ((a[0] ^ b[0]) & ~0x20) == 0 && strcasecmp(a, b) == 0;
}

#endif
