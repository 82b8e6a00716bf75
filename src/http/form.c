/*
 * form.c - HTML form bodies: urlencoded pairs, Content-Type parameters and
 * the streaming multipart/form-data parser. The contracts and the reasons
 * for each strictness are in form.h.
 *
 * The multipart parser's one hard part is finding the delimiter without
 * buffering the part bodies. The delimiter is CRLF "--" boundary and a
 * boundary cannot contain CR, so a CR is the only place a match can start
 * and a failed match never needs to look back: the scan costs one memchr
 * per CR, and the bytes held back at the end of a piece are always the
 * first bytes of the delimiter, so the parser gives them back as data from
 * its own copy of it.
 */
#include "http/form.h"

#include <string.h>

enum form_mp_state {
    FORM_MP_PREAMBLE,   /* before the first delimiter: scanned and dropped */
    FORM_MP_DELIM,      /* just after a delimiter's boundary */
    FORM_MP_PAD,        /* transport padding on a delimiter line */
    FORM_MP_DELIM_LF,   /* the CR of a delimiter line seen */
    FORM_MP_CLOSE_DASH, /* "--boundary-": the second '-' must follow */
    FORM_MP_CLOSE_PAD,  /* after "--boundary--": padding, then CRLF */
    FORM_MP_CLOSE_LF,
    FORM_MP_HEAD, /* buffering a part's header block */
    FORM_MP_BODY, /* a part's data: scanned and handed on */
    FORM_MP_DONE,
    FORM_MP_ERROR,
};

static int form_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* RFC 9110 5.6.2 tchar */
static int form_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field-value and quoted-pair bytes: anything but controls, HTAB allowed. */
static int form_vchar(unsigned char c)
{
    return (c >= 0x20 && c != 0x7f) || c == '\t';
}

static int form_ows(char c)
{
    return c == ' ' || c == '\t';
}

static int form_caseeq(const char *a, size_t alen, const char *b)
{
    size_t i;

    for (i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (y == 0)
            return 0;
        if (x >= 'A' && x <= 'Z')
            x |= 0x20;
        if (y >= 'A' && y <= 'Z')
            y |= 0x20;
        if (x != y)
            return 0;
    }
    return b[alen] == '\0';
}

static const char *form_skip_ows(const char *s, const char *end)
{
    while (s < end && form_ows(*s))
        s++;
    return s;
}

static const char *form_token_end(const char *s, const char *end)
{
    while (s < end && form_tchar((unsigned char)*s))
        s++;
    return s;
}

/* 1 when src[0..len) holds a '%' without two hex digits after it. */
static int form_bad_escape(const char *src, size_t len)
{
    const char *p = src, *end = src + len;

    while ((p = memchr(p, '%', (size_t)(end - p))) != NULL) {
        if (end - p < 3 || form_hex((unsigned char)p[1]) < 0 || form_hex((unsigned char)p[2]) < 0)
            return 1;
        p += 3;
    }
    return 0;
}

ssize_t form_decode(char *dst, size_t dstsize, const char *src, size_t len, unsigned flags)
{
    size_t i, o = 0;

    if (dstsize == 0)
        return -1;
    for (i = 0; i < len; i++, o++) {
        char c = src[i];
        int hi, lo;

        if (o + 1 >= dstsize)
            return -1;
        if (c == '%' && i + 2 < len && (hi = form_hex((unsigned char)src[i + 1])) >= 0 &&
            (lo = form_hex((unsigned char)src[i + 2])) >= 0) {
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '%' && (flags & FORM_STRICT)) {
            return -1;
        } else if (c == '+' && (flags & FORM_PLUS)) {
            c = ' ';
        }
        dst[o] = c;
    }
    dst[o] = '\0';
    return (ssize_t)o;
}

int form_urlencoded_next(const char **pos, const char *end, unsigned flags, struct form_pair *pair)
{
    const char *p = *pos;

    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *name_end = eq ? eq : stop;

        if ((flags & FORM_STRICT) && form_bad_escape(p, (size_t)(stop - p))) {
            *pos = p;
            return -1;
        }
        if (name_end == p) { /* "&&" or "=v": nothing a name could find */
            p = amp ? amp + 1 : end;
            continue;
        }
        pair->name = p;
        pair->name_len = (size_t)(name_end - p);
        pair->value = eq ? eq + 1 : name_end;
        pair->value_len = (size_t)(stop - pair->value);
        *pos = amp ? amp + 1 : end;
        return 1;
    }
    *pos = end;
    return 0;
}

int form_urlencoded_parse(const char *body, size_t len, unsigned flags,
                          int (*fn)(void *arg, const struct form_pair *pair), void *arg)
{
    const char *p = body, *end;
    struct form_pair pair;
    int rc;

    if (len == 0)
        return 0; /* before any arithmetic: body may be NULL then */
    end = body + len;
    while ((rc = form_urlencoded_next(&p, end, flags, &pair)) == 1)
        if (fn(arg, &pair) != 0)
            return -1;
    return rc;
}

/* A quoted-string from just after its opening quote: sets *out to the
 * closing quote. -1 when unterminated or holding a control character. */
static int form_quoted_end(const char *s, const char *end, const char **out)
{
    while (s < end && *s != '"') {
        if (*s == '\\' && ++s == end)
            return -1;
        if (!form_vchar((unsigned char)*s))
            return -1;
        s++;
    }
    if (s == end)
        return -1;
    *out = s;
    return 0;
}

/* Past the OWS ";" OWS separators before the next parameter; NULL when
 * something else is in the way. Empty parameters are skipped. */
static const char *form_param_start(const char *s, const char *end)
{
    for (;;) {
        s = form_skip_ows(s, end);
        if (s == end)
            return s;
        if (*s != ';')
            return NULL;
        s = form_skip_ows(s + 1, end);
        if (s < end && *s != ';')
            return s;
    }
}

int form_param_next(const char **pos, const char *end, struct form_param *param)
{
    const char *s = form_param_start(*pos, end), *v;

    if (s == NULL)
        return -1;
    if (s == end) {
        *pos = end;
        return 0;
    }
    param->name = s;
    s = form_token_end(s, end);
    param->name_len = (size_t)(s - param->name);
    if (param->name_len == 0 || s == end || *s != '=')
        return -1;
    v = ++s;
    param->quoted = s < end && *s == '"';
    if (param->quoted) {
        if (form_quoted_end(++v, end, &s) < 0)
            return -1;
        param->value = v;
        param->value_len = (size_t)(s - v);
        *pos = s + 1;
        return 1;
    }
    s = form_token_end(s, end);
    if (s == v)
        return -1;
    param->value = v;
    param->value_len = (size_t)(s - v);
    *pos = s;
    return 1;
}

/* Unquote, taking a backslash as an escape before anything (RFC 9110
 * quoted-pair) or, when `lenient`, only before '"' and '\\' (form.h says
 * why). dst may be src: the output never overtakes the input. */
static ssize_t form_unquote_as(char *dst, size_t dstsize, const char *src, size_t len, int lenient)
{
    size_t i, o = 0;

    if (dstsize == 0)
        return -1;
    for (i = 0; i < len; i++, o++) {
        if (o + 1 >= dstsize)
            return -1;
        if (src[i] == '\\' && i + 1 < len && (!lenient || src[i + 1] == '"' || src[i + 1] == '\\'))
            i++;
        dst[o] = src[i];
    }
    dst[o] = '\0';
    return (ssize_t)o;
}

ssize_t form_unquote(char *dst, size_t dstsize, const char *src, size_t len)
{
    return form_unquote_as(dst, dstsize, src, len, 0);
}

/* Copy one parameter's unquoted value into a fixed field, refusing a
 * repeat: two boundaries would be two readings of one body. */
static int form_ctype_param(const struct form_param *prm, char *dst, size_t size, size_t *len,
                            int *seen)
{
    ssize_t n;

    if (*seen)
        return -1;
    *seen = 1;
    n = form_unquote(dst, size, prm->value, prm->value_len);
    if (n < 0)
        return -1;
    *len = (size_t)n;
    return 0;
}

int form_ctype_parse(const char *value, size_t len, struct form_ctype *ct)
{
    const char *end = value + len, *t = form_skip_ows(value, end), *s, *sub;
    struct form_param prm;
    int rc, seen_boundary = 0, seen_charset = 0;

    memset(ct, 0, sizeof(*ct));
    sub = form_token_end(t, end);
    if (sub == t || sub == end || *sub != '/')
        return -1;
    s = form_token_end(++sub, end);
    if (s == sub)
        return -1;
    ct->type = t;
    ct->type_len = (size_t)(s - t);
    while ((rc = form_param_next(&s, end, &prm)) == 1) {
        if (form_caseeq(prm.name, prm.name_len, "boundary"))
            rc = form_ctype_param(&prm, ct->boundary, sizeof(ct->boundary), &ct->boundary_len,
                                  &seen_boundary);
        else if (form_caseeq(prm.name, prm.name_len, "charset"))
            rc = form_ctype_param(&prm, ct->charset, sizeof(ct->charset), &ct->charset_len,
                                  &seen_charset);
        if (rc < 0)
            return -1;
    }
    return rc;
}

int form_ctype_is(const struct form_ctype *ct, const char *type)
{
    return ct->type != NULL && form_caseeq(ct->type, ct->type_len, type);
}

/* ---- multipart/form-data ---- */

static int form_mp_fail(struct form_multipart *mp, const char *reason)
{
    mp->state = FORM_MP_ERROR;
    mp->reason = reason;
    return -1;
}

/* RFC 2046 5.1.1 bchars */
static int form_bchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
        return 1;
    return c != 0 && strchr("'()+_,-./:=? ", c) != NULL;
}

int form_multipart_init(struct form_multipart *mp, const char *boundary, size_t len,
                        const struct form_limits *limits)
{
    size_t i;

    memset(mp, 0, offsetof(struct form_multipart, head));
    mp->state = FORM_MP_ERROR;
    mp->max_parts = limits && limits->max_parts ? limits->max_parts : FORM_MAX_PARTS;
    mp->max_head = limits && limits->max_head ? limits->max_head : FORM_HEAD_MAX;
    if (mp->max_head > FORM_HEAD_MAX)
        return form_mp_fail(mp, "part header limit above FORM_HEAD_MAX");
    if (len == 0 || len > FORM_BOUNDARY_MAX)
        return form_mp_fail(mp, "boundary length not 1 to 70");
    for (i = 0; i < len; i++)
        if (!form_bchar((unsigned char)boundary[i]))
            return form_mp_fail(mp, "bad character in boundary");
    if (boundary[len - 1] == ' ')
        return form_mp_fail(mp, "boundary ends in a space");
    memcpy(mp->delim, "\r\n--", 4);
    memcpy(mp->delim + 4, boundary, len);
    mp->delim_len = len + 4;
    /* The body's first line needs no CRLF before the delimiter: act as if
     * it had been matched already. */
    mp->match = mp->skip = 2;
    mp->state = FORM_MP_PREAMBLE;
    return 0;
}

static int form_mp_emit(struct form_multipart *mp, const char *data, size_t len,
                        const struct form_multipart_cb *cb, void *arg)
{
    if (len == 0 || mp->state != FORM_MP_BODY || cb == NULL || cb->on_part_data == NULL)
        return 0;
    if (cb->on_part_data(arg, data, len) != 0)
        return form_mp_fail(mp, "aborted by callback");
    return 0;
}

/*
 * Look for the delimiter in data[*pos..len), handing the bytes before it
 * to the part (or dropping them in the preamble). Returns 1 with *pos just
 * past a whole delimiter, 0 when the piece ran out (a partial match held
 * back in mp->match), -1 when a callback aborted.
 */
static int form_mp_scan(struct form_multipart *mp, const char *data, size_t len, size_t *pos,
                        const struct form_multipart_cb *cb, void *arg)
{
    size_t i = *pos, mark = *pos, held = mp->match; /* held: matched before this piece */
    const char *cr;

    for (;;) {
        if (mp->match == 0) {
            cr = i < len ? memchr(data + i, '\r', len - i) : NULL;
            if (cr == NULL)
                break;
            i = (size_t)(cr - data);
        }
        while (i < len && mp->match < mp->delim_len && data[i] == mp->delim[mp->match]) {
            mp->match++;
            i++;
        }
        if (mp->match == mp->delim_len) {
            size_t start = i - (mp->delim_len - held); /* of the delimiter, in this piece */

            *pos = i;
            mp->match = mp->skip = 0;
            if (form_mp_emit(mp, data + mark, start - mark, cb, arg) < 0)
                return -1;
            return 1;
        }
        if (i == len)
            break;
        /* Not a delimiter: what an earlier piece held back was data. */
        if (held > mp->skip && form_mp_emit(mp, mp->delim + mp->skip, held - mp->skip, cb, arg))
            return -1;
        held = mp->match = mp->skip = 0;
        if (data[i] != '\r') /* a CR may begin the next match */
            i++;
    }
    *pos = len;
    return form_mp_emit(mp, data + mark, len - (mp->match - held) - mark, cb, arg);
}

/* Content-Disposition parameters, as raw slices of the header block. */
struct form_disp {
    struct form_param name, filename, filename_ext;
    int has_name, has_filename, has_filename_ext;
};

static int form_disp_param(struct form_disp *d, const struct form_param *prm)
{
    struct form_param *slot = NULL;
    int *seen = NULL;

    if (form_caseeq(prm->name, prm->name_len, "name")) {
        slot = &d->name;
        seen = &d->has_name;
    } else if (form_caseeq(prm->name, prm->name_len, "filename")) {
        slot = &d->filename;
        seen = &d->has_filename;
    } else if (form_caseeq(prm->name, prm->name_len, "filename*")) {
        slot = &d->filename_ext;
        seen = &d->has_filename_ext;
    }
    if (slot == NULL)
        return 0;
    if (*seen)
        return -1;
    *seen = 1;
    *slot = *prm;
    return 0;
}

/* Decode filename*=UTF-8'lang'%xx.. (RFC 8187 3.2) in place. Returns the
 * length, or -1 for anything but a well-formed UTF-8 value. */
static ssize_t form_ext_value(const struct form_param *prm)
{
    const char *v = prm->value, *end = v + prm->value_len, *q1, *q2;
    size_t n;
    ssize_t len;

    if (prm->quoted)
        return -1;
    q1 = memchr(v, '\'', prm->value_len);
    q2 = q1 ? memchr(q1 + 1, '\'', (size_t)(end - q1 - 1)) : NULL;
    if (q2 == NULL || !form_caseeq(v, (size_t)(q1 - v), "utf-8"))
        return -1;
    n = (size_t)(end - q2 - 1);
    if (memchr(q2 + 1, '\'', n) != NULL)
        return -1;
    /* The decoded bytes and a NUL fit from v: q2 + 1 - v >= 7. A NUL
     * inside would cut the name short for C string users ("a.php%00.jpg"). */
    len = form_decode((char *)v, n + 1, q2 + 1, n, FORM_STRICT);
    if (len < 0 || memchr(v, '\0', (size_t)len) != NULL)
        return -1;
    return len;
}

/* Unquote a name or filename in place and NUL-terminate it. Its slice is
 * followed by at least its closing quote or a separator, and the slices of
 * different parameters never overlap, so this writes only its own bytes. */
static size_t form_disp_value(const struct form_param *prm)
{
    char *v = (char *)prm->value;

    return (size_t)form_unquote_as(v, prm->value_len + 1, v, prm->value_len, 1);
}

static int form_mp_disposition(struct form_multipart *mp, char *s, size_t len,
                               struct form_part *part)
{
    const char *p = s, *end = s + len;
    struct form_disp d;
    struct form_param prm;
    ssize_t ext = -1;
    int rc;

    memset(&d, 0, sizeof(d));
    p = form_token_end(p, end);
    if (!form_caseeq(s, (size_t)(p - s), "form-data"))
        return form_mp_fail(mp, "Content-Disposition is not form-data");
    while ((rc = form_param_next(&p, end, &prm)) == 1)
        if (form_disp_param(&d, &prm) < 0)
            return form_mp_fail(mp, "repeated Content-Disposition parameter");
    if (rc < 0)
        return form_mp_fail(mp, "bad Content-Disposition");
    if (!d.has_name)
        return form_mp_fail(mp, "part without a name");
    /* All slices are known: now the in-place rewrites can't disturb parsing. */
    part->name = d.name.value;
    part->name_len = form_disp_value(&d.name);
    if (d.has_filename_ext)
        ext = form_ext_value(&d.filename_ext);
    if (ext >= 0) {
        part->filename = d.filename_ext.value;
        part->filename_len = (size_t)ext;
    } else if (d.has_filename) {
        part->filename = d.filename.value;
        part->filename_len = form_disp_value(&d.filename);
    }
    return 0;
}

/* One header line [s, eol): the length of its name, and its value with
 * the OWS around it trimmed. -1 when the line is not a field. */
static ssize_t form_mp_field(char *s, char *eol, char **value, size_t *vlen)
{
    char *c = s, *v, *colon;

    while (c < eol && form_tchar((unsigned char)*c))
        c++;
    if (c == s || c == eol || *c != ':')
        return -1;
    colon = c;
    for (v = c + 1; v < eol && form_ows(*v); v++)
        ;
    while (eol > v && form_ows(eol[-1]))
        eol--;
    for (c = v; c < eol; c++)
        if (!form_vchar((unsigned char)*c))
            return -1;
    *value = v;
    *vlen = (size_t)(eol - v);
    return colon - s;
}

/* Parse the buffered header block (each line already known to end in
 * CRLF, the block in an empty line) into *part. */
static int form_mp_fields(struct form_multipart *mp, struct form_part *part)
{
    char *s = mp->head, *end = mp->head + mp->head_len - 2, *eol, *v, *disp = NULL, *type = NULL;
    size_t vlen, disp_len = 0, type_len = 0;
    ssize_t n;

    for (; s < end; s = eol + 2) {
        eol = memchr(s, '\r', (size_t)(end - s));
        if (form_ows(*s))
            return form_mp_fail(mp, "folded part header");
        n = form_mp_field(s, eol, &v, &vlen);
        if (n < 0)
            return form_mp_fail(mp, "bad part header");
        if (form_caseeq(s, (size_t)n, "content-disposition")) {
            if (disp != NULL)
                return form_mp_fail(mp, "repeated Content-Disposition");
            disp = v;
            disp_len = vlen;
        } else if (form_caseeq(s, (size_t)n, "content-type")) {
            if (type != NULL)
                return form_mp_fail(mp, "repeated part Content-Type");
            type = v;
            type_len = vlen;
        }
    }
    if (disp == NULL)
        return form_mp_fail(mp, "part without Content-Disposition");
    if (form_mp_disposition(mp, disp, disp_len, part) < 0)
        return -1;
    part->content_type = type ? type : "text/plain";
    part->content_type_len = type ? type_len : 10;
    if (type != NULL)
        type[type_len] = '\0'; /* over trailing OWS or the CR: the lines are parsed */
    return 0;
}

/* The header block is complete: tell the caller, then scan the body. */
static int form_mp_begin(struct form_multipart *mp, const struct form_multipart_cb *cb, void *arg)
{
    struct form_part part;

    memset(&part, 0, sizeof(part));
    if (form_mp_fields(mp, &part) < 0)
        return -1;
    part.index = mp->nparts++;
    mp->in_part = 1;
    mp->state = FORM_MP_BODY;
    /* The header block's last CRLF may be the first delimiter's own: a
     * part with no body ("...\r\n\r\n--b") is allowed by RFC 2046. */
    mp->match = mp->skip = 2;
    if (cb && cb->on_part_begin && cb->on_part_begin(arg, &part) != 0)
        return form_mp_fail(mp, "aborted by callback");
    return 0;
}

/* Buffer header bytes up to the empty line, refusing bare CR and LF as
 * they come so that the block parser sees only CRLF lines. */
static int form_mp_head(struct form_multipart *mp, const char *data, size_t len, size_t *pos,
                        const struct form_multipart_cb *cb, void *arg)
{
    size_t i = *pos, n;
    char c, prev;

    while (i < len) {
        c = data[i++];
        n = mp->head_len;
        prev = n ? mp->head[n - 1] : 0;
        if (n == mp->max_head)
            return form_mp_fail(mp, "part header block too big");
        if ((prev == '\r') != (c == '\n'))
            return form_mp_fail(mp, "bare CR or LF in part headers");
        mp->head[mp->head_len++] = c;
        if (c == '\n' && (n == 1 || (n >= 3 && memcmp(mp->head + n - 3, "\r\n\r", 3) == 0))) {
            *pos = i;
            return form_mp_begin(mp, cb, arg);
        }
    }
    *pos = i;
    return 0;
}

static int form_mp_end_part(struct form_multipart *mp, const struct form_multipart_cb *cb,
                            void *arg)
{
    if (!mp->in_part)
        return 0;
    mp->in_part = 0;
    if (cb && cb->on_part_end && cb->on_part_end(arg) != 0)
        return form_mp_fail(mp, "aborted by callback");
    return 0;
}

/* The short lines around delimiters, one byte at a time. */
static int form_mp_line(struct form_multipart *mp, char c, const struct form_multipart_cb *cb,
                        void *arg)
{
    switch (mp->state) {
    case FORM_MP_DELIM:
    case FORM_MP_PAD:
        if (c == '-' && mp->state == FORM_MP_DELIM)
            mp->state = FORM_MP_CLOSE_DASH;
        else if (form_ows(c))
            mp->state = FORM_MP_PAD;
        else if (c == '\r')
            mp->state = FORM_MP_DELIM_LF;
        else if (c == '\n')
            return form_mp_fail(mp, "boundary line without CRLF");
        else
            return form_mp_fail(mp, "junk after boundary");
        return 0;
    case FORM_MP_DELIM_LF:
        if (c != '\n')
            return form_mp_fail(mp, "boundary line without CRLF");
        if (form_mp_end_part(mp, cb, arg) < 0)
            return -1;
        if (mp->nparts == mp->max_parts)
            return form_mp_fail(mp, "too many parts");
        mp->head_len = 0;
        mp->state = FORM_MP_HEAD;
        return 0;
    case FORM_MP_CLOSE_DASH:
        if (c != '-')
            return form_mp_fail(mp, "junk after boundary");
        mp->state = FORM_MP_CLOSE_PAD;
        return form_mp_end_part(mp, cb, arg);
    case FORM_MP_CLOSE_PAD:
        if (c == '\r')
            mp->state = FORM_MP_CLOSE_LF;
        else if (!form_ows(c))
            return form_mp_fail(mp, "data after close delimiter");
        return 0;
    default: /* FORM_MP_CLOSE_LF */
        if (c != '\n')
            return form_mp_fail(mp, "data after close delimiter");
        mp->state = FORM_MP_DONE;
        return 0;
    }
}

int form_multipart_feed(struct form_multipart *mp, const char *data, size_t len,
                        const struct form_multipart_cb *cb, void *arg)
{
    size_t i = 0;
    int rc = 0;

    while (i < len && rc >= 0 && mp->state != FORM_MP_DONE && mp->state != FORM_MP_ERROR) {
        if (mp->state == FORM_MP_PREAMBLE || mp->state == FORM_MP_BODY) {
            rc = form_mp_scan(mp, data, len, &i, cb, arg);
            if (rc == 1)
                mp->state = FORM_MP_DELIM;
        } else if (mp->state == FORM_MP_HEAD) {
            rc = form_mp_head(mp, data, len, &i, cb, arg);
        } else {
            rc = form_mp_line(mp, data[i++], cb, arg);
        }
    }
    if (mp->state == FORM_MP_ERROR)
        return -1;
    return mp->state == FORM_MP_DONE;
}

int form_multipart_end(struct form_multipart *mp)
{
    switch (mp->state) {
    case FORM_MP_DONE:
    case FORM_MP_CLOSE_PAD:
        mp->state = FORM_MP_DONE;
        return 0;
    case FORM_MP_ERROR:
        return -1;
    case FORM_MP_PREAMBLE:
        return form_mp_fail(mp, "no initial boundary");
    default:
        return form_mp_fail(mp, "truncated body");
    }
}
