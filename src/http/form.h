/*
 * form.h - HTML form bodies: application/x-www-form-urlencoded pairs, the
 * media type and parameters of a Content-Type, and a streaming
 * multipart/form-data parser.
 *
 * Pure logic: no I/O, no allocation, no event loop. Results are slices of
 * the caller's bytes (or of the parser's own small buffers) that stay valid
 * as documented at each function; decoding writes into buffers the caller
 * passes. Errors are -1 as everywhere in gale; iterators return 1 for "one
 * more item", 0 for "no more", -1 for an error.
 */
#ifndef GALE_FORM_H
#define GALE_FORM_H

#include <stddef.h>
#include <sys/types.h>

/*
 * application/x-www-form-urlencoded, as the WHATWG URL standard parses it:
 * the body splits on '&' only (not ';'); in each piece the first '=' ends
 * the name, and a piece without '=' is a name with an empty value; '+'
 * means a space and %XX a byte; an invalid escape is kept literally.
 * One deviation: a piece with an empty name ("&=v&") is skipped, where
 * WHATWG keeps it, because no lookup by name could ever reach it. Decoded
 * bytes are not checked to be UTF-8 and may contain NUL (%00): use the
 * lengths.
 */

#define FORM_STRICT 0x01 /* a '%' without two hex digits after it is an error */
#define FORM_PLUS 0x02   /* form_decode(): '+' means a space (form bodies, query strings) */

struct form_pair {
    const char *name; /* raw (still encoded), never empty */
    size_t name_len;
    const char *value; /* raw; empty, not NULL, when the piece has no '=' */
    size_t value_len;
};

/* One pair from *pos (up to end) into *pair, advancing *pos past it.
 * Returns 1 with a pair, 0 when no pair is left, -1 under FORM_STRICT when
 * the pair holds an invalid escape (*pos then stays on that pair). The
 * slices point into the caller's bytes. */
int form_urlencoded_next(const char **pos, const char *end, unsigned flags, struct form_pair *pair);

/* Calls fn for every pair of body[0..len) in order; fn returns 0 to go
 * on, anything else to stop. Returns 0 when every pair was seen, -1 when
 * fn stopped or FORM_STRICT found an invalid escape. */
int form_urlencoded_parse(const char *body, size_t len, unsigned flags,
                          int (*fn)(void *arg, const struct form_pair *pair), void *arg);

/* Percent-decode src[0..len) into dst (dstsize bytes, NUL-terminated);
 * FORM_PLUS also turns '+' into a space, FORM_STRICT refuses invalid
 * escapes. The result is never longer than len, so dstsize = len + 1 is
 * always enough, and dst may be src (decoding in place). Returns the
 * decoded length, or -1 when it does not fit or an escape is refused. */
ssize_t form_decode(char *dst, size_t dstsize, const char *src, size_t len, unsigned flags);

/*
 * Header parameters, RFC 9110 5.6.6 and 8.3.1:
 *     *( OWS ";" OWS [ token "=" ( token / quoted-string ) ] )
 * Empty parameters (";;", a trailing ';') are allowed and skipped; no
 * whitespace is allowed around '='. Content-Disposition (RFC 6266) has the
 * same shape after its disposition type.
 */

struct form_param {
    const char *name; /* a token; compare it ignoring case */
    size_t name_len;
    const char *value; /* a token, or the inside of a quoted-string with its */
    size_t value_len;  /* backslash escapes still in: see form_unquote() */
    int quoted;
};

/* The next parameter from *pos (up to end), advancing *pos past it.
 * Returns 1 with one, 0 at the end of the list, -1 on a syntax error. */
int form_param_next(const char **pos, const char *end, struct form_param *param);

/* Undo the quoted-pairs ("\x" -> "x") of a quoted-string's inside into dst
 * (dstsize bytes, NUL-terminated; dst may be src). Returns the length, or
 * -1 when it does not fit (dstsize = len + 1 always does). */
ssize_t form_unquote(char *dst, size_t dstsize, const char *src, size_t len);

/* RFC 2046 5.1.1: a boundary is 1 to 70 characters. */
#define FORM_BOUNDARY_MAX 70
/* RFC 2978 2.3: registered charset names are at most 40 characters. */
#define FORM_CHARSET_MAX 40

struct form_ctype {
    const char *type; /* "type/subtype" as sent, case kept; points into the header */
    size_t type_len;
    /* Parameters the server acts on, unquoted and NUL-terminated; length 0
     * when absent. Copies, so that they outlive the header. */
    char boundary[FORM_BOUNDARY_MAX + 1];
    size_t boundary_len;
    char charset[FORM_CHARSET_MAX + 1];
    size_t charset_len;
};

/* Parse a Content-Type value (media-type, RFC 9110 8.3.1) into *ct; other
 * parameters are checked and ignored. Returns -1 on a syntax error, a
 * repeated boundary or charset (two readings of one body), or a boundary
 * or charset longer than the limits above. */
int form_ctype_parse(const char *value, size_t len, struct form_ctype *ct);

/* 1 when ct's media type is `type` ("multipart/form-data"), ignoring ASCII
 * case as RFC 9110 8.3.1 says; else 0. */
int form_ctype_is(const struct form_ctype *ct, const char *type);

/*
 * multipart/form-data (RFC 7578 over RFC 2046 5.1), parsed as it arrives:
 * form_multipart_feed() takes the body in pieces of any size, down to one
 * byte, and calls back for each part. Part bodies are never copied: data
 * slices point into the piece being fed, except for the few bytes that
 * could have begun a delimiter at the end of the previous piece, which are
 * handed over from the parser's own copy of the delimiter once they turn
 * out to be data. Only a part's header block is buffered (in the struct).
 *
 * Strictness, and why:
 * - Lines end in CRLF. A bare CR or LF in part headers or on a boundary
 *   line is an error: every browser and HTTP client sends CRLF, and a
 *   parser that also splits on LF reads some bodies differently from one
 *   that does not. Inside part bodies every byte is data.
 * - A delimiter is CRLF "--" boundary at the start of a line (the body's
 *   first line needs no CRLF before it); RFC 2046 makes any line that
 *   starts so a delimiter line, so anything but transport padding (SP,
 *   HTAB) then CRLF, or "--", after it is an error, not data.
 * - The preamble (before the first delimiter) and the epilogue (after the
 *   close delimiter's line) are ignored; the close line itself may only
 *   hold padding before its CRLF ("data after close delimiter" otherwise).
 * - A body with only the close delimiter is a form with no fields (what
 *   browsers send for an empty FormData).
 * - Part headers: field-name ":" OWS value OWS per line, no obs-fold, no
 *   control characters. Content-Disposition must be there, once, of type
 *   form-data, with a name parameter (an empty name is passed on: JS
 *   FormData can send one). Content-Type defaults to text/plain. Other
 *   fields (Content-Transfer-Encoding, which RFC 7578 4.7 deprecates) are
 *   ignored.
 * - name and filename are taken as sent: browsers percent-encode '"', CR
 *   and LF in them (WHATWG HTML, multipart/form-data encoding) and that is
 *   not undone. In a quoted value only \" and \\ are escapes; a backslash
 *   before anything else is kept, because browsers never escape it and old
 *   Internet Explorer sends Windows paths (filename="C:\dir\a.txt").
 * - filename*=UTF-8''%xx... (RFC 5987/8187) overrides filename (RFC 6266
 *   4.3) when its charset is UTF-8 and it decodes; otherwise it is ignored.
 */

#define FORM_MAX_PARTS 1000 /* default part count limit */
#define FORM_HEAD_MAX 8192  /* default, and largest, part header block in bytes */

struct form_limits {
    size_t max_parts; /* parts in the body; 0 means FORM_MAX_PARTS */
    size_t max_head;  /* bytes of one part's header block, its empty line included;
                       * 0 means FORM_HEAD_MAX, more than FORM_HEAD_MAX is refused */
};

/* One part's headers, as on_part_begin sees them. Every slice is
 * NUL-terminated and points into the parser, valid only during the
 * callback: copy what you keep. */
struct form_part {
    const char *name; /* Content-Disposition name, unquoted; may be empty */
    size_t name_len;
    const char *filename;     /* NULL when the part is not a file; may be empty (a file */
    size_t filename_len;      /* input with no file chosen sends filename="") */
    const char *content_type; /* the raw value, "text/plain" when absent; */
    size_t content_type_len;  /* form_ctype_parse() reads it */
    size_t index;             /* 0 for the first part */
};

/* Each callback may be NULL; each returns 0 to go on and anything else to
 * abort the parse (the feed then returns -1, reason "aborted by callback").
 * on_part_data is called zero or more times per part, never with len 0;
 * its bytes are valid only during the call. */
struct form_multipart_cb {
    int (*on_part_begin)(void *arg, const struct form_part *part);
    int (*on_part_data)(void *arg, const char *data, size_t len);
    int (*on_part_end)(void *arg);
};

struct form_multipart {
    const char *reason; /* why the parse failed: short, static */
    size_t nparts;      /* parts begun so far */
    /* private: the implementation owns the rest */
    int state;
    int in_part;
    size_t max_parts, max_head;
    char delim[4 + FORM_BOUNDARY_MAX]; /* CRLF "--" boundary */
    size_t delim_len;
    size_t match; /* bytes of delim matched so far, held back from the data */
    size_t skip;  /* of those, the CRLF assumed before the first line of a part */
    size_t head_len;
    char head[FORM_HEAD_MAX];
};

/* Prepare mp for one body whose Content-Type boundary parameter is
 * boundary[0..len) (struct form_ctype's boundary). limits may be NULL for
 * the defaults. Returns -1 with mp->reason set when the boundary breaks
 * RFC 2046 (1..70 of its characters, not ending in a space) or a limit is
 * out of range. mp holds no pointers to the caller's memory. */
int form_multipart_init(struct form_multipart *mp, const char *boundary, size_t len,
                        const struct form_limits *limits);

/* Parse the next len bytes of the body, calling cb (which may be NULL) with
 * arg. Returns 0 when all was fine and more is expected, 1 once the close
 * delimiter's line is complete (bytes after it, now and in later calls,
 * are the ignored epilogue), -1 on malformed input or an aborting callback
 * with mp->reason set. Both 1 and -1 stick: later calls return them again
 * without calling back. After -1 the whole form is void, including parts
 * whose on_part_end ran. */
int form_multipart_feed(struct form_multipart *mp, const char *data, size_t len,
                        const struct form_multipart_cb *cb, void *arg);

/* The body is over: 0 when the form was complete (the close delimiter was
 * seen; its line may lack the final CRLF, which RFC 2046 allows at the
 * very end), else -1 with mp->reason set ("no initial boundary",
 * "truncated body", or the earlier error). */
int form_multipart_end(struct form_multipart *mp);

#endif
