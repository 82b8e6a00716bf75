/*
 * ws_deflate.c - permessage-deflate (RFC 7692): the offer parser and the
 * per-connection zlib streams. See ws_deflate.h for the contracts.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <zlib.h>

#include "ws/ws_deflate.h"

/* zlib's default: deflate state is about 2^(memLevel + 9) bytes on top of
 * the window, so 8 gives 128 KiB; lower saves memory but compresses worse. */
#define WS_DEFLATE_MEM_LEVEL 8
/* Inflate with the largest window: it decodes whatever window the client
 * used, so we never need to ask for client_max_window_bits. */
#define WS_DEFLATE_INFLATE_BITS 15
#define WS_DEFLATE_DEFAULT_BITS 15
/* Output is produced in slices of this size (evbuffer chains). */
#define WS_DEFLATE_CHUNK 16384

static const unsigned char ws_deflate_tail[4] = {0x00, 0x00, 0xff, 0xff};

/* ---- negotiation ---- */

/* Parameters of one offer, as bits, to spot repeats. */
enum {
    WS_DEFLATE_P_SNCT = 1,
    WS_DEFLATE_P_CNCT = 2,
    WS_DEFLATE_P_SMWB = 4,
    WS_DEFLATE_P_CMWB = 8,
};

struct ws_deflate_offer {
    struct ws_deflate_params p;
    unsigned seen; /* WS_DEFLATE_P_* */
    int is_pmd;    /* the extension is permessage-deflate */
    int ok;        /* no parameter declined it */
};

/* RFC 7230 3.2.6 tchar. */
static int ws_deflate_tchar(int c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void ws_deflate_ows(const char **s)
{
    while (**s == ' ' || **s == '\t')
        (*s)++;
}

static size_t ws_deflate_token(const char **s)
{
    const char *start = *s;

    while (ws_deflate_tchar((unsigned char)**s))
        (*s)++;
    return (size_t)(*s - start);
}

/*
 * A parameter value: a token, or a quoted-string whose unescaped content
 * must be a token (RFC 6455 9.1). The unescaped value goes to val (cut to
 * cap; *len is its full length, so a long value never matches a short one).
 */
static int ws_deflate_value(const char **s, char *val, size_t cap, size_t *len)
{
    const char *p = *s;
    size_t n = 0;
    int quoted = *p == '"';

    if (quoted)
        p++;
    for (;;) {
        int c = (unsigned char)*p;
        if (quoted && c == '"') {
            p++;
            break;
        }
        if (quoted && c == '\\') {
            c = (unsigned char)*++p;
            if (c == '\0')
                return -1;
        }
        if (!ws_deflate_tchar(c)) {
            if (quoted)
                return -1;
            break;
        }
        if (n < cap)
            val[n] = (char)c;
        n++;
        p++;
    }
    *s = p;
    *len = n;
    return n > 0 ? 0 : -1;
}

/* 8..15, decimal, no leading zero (RFC 7692 7.1.2); -1 otherwise. */
static int ws_deflate_bits(const char *val, size_t len)
{
    if (len == 1 && (val[0] == '8' || val[0] == '9'))
        return val[0] - '0';
    if (len == 2 && val[0] == '1' && val[1] >= '0' && val[1] <= '5')
        return 10 + val[1] - '0';
    return -1;
}

static int ws_deflate_name_is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && strncasecmp(name, want, len) == 0;
}

/* Apply one parameter of a permessage-deflate offer; anything unknown,
 * repeated or out of range declines the offer (RFC 7692 7.1). */
static void ws_deflate_offer_param(struct ws_deflate_offer *o, const char *name, size_t nlen,
                                   const char *val, size_t vlen, int has_val)
{
    unsigned bit = 0;
    int bits = has_val ? ws_deflate_bits(val, vlen) : -1;

    if (ws_deflate_name_is(name, nlen, "server_no_context_takeover")) {
        bit = WS_DEFLATE_P_SNCT;
        o->p.server_no_context_takeover = 1;
        o->ok &= !has_val;
    } else if (ws_deflate_name_is(name, nlen, "client_no_context_takeover")) {
        bit = WS_DEFLATE_P_CNCT;
        o->p.client_no_context_takeover = 1;
        o->ok &= !has_val;
    } else if (ws_deflate_name_is(name, nlen, "server_max_window_bits")) {
        /* zlib has no 256-byte raw deflate window: with 8 we accept and send
         * every message uncompressed (RSV1 is per message), which is valid. */
        bit = WS_DEFLATE_P_SMWB;
        o->p.server_max_window_bits = bits;
        o->ok &= bits >= 8;
    } else if (ws_deflate_name_is(name, nlen, "client_max_window_bits")) {
        bit = WS_DEFLATE_P_CMWB;
        o->p.client_max_window_bits = has_val ? bits : WS_DEFLATE_DEFAULT_BITS;
        o->ok &= !has_val || bits >= 8;
    } else {
        o->ok = 0;
    }
    if (o->seen & bit)
        o->ok = 0;
    o->seen |= bit;
}

/* extension = token *( OWS ";" OWS param ), param = token [ OWS "=" OWS
 * value ]. Stops before whatever follows the extension. */
static int ws_deflate_parse_extension(const char **s, struct ws_deflate_offer *o)
{
    const char *name = *s, *pname;
    size_t nlen = ws_deflate_token(s), plen, vlen = 0;
    char val[4];

    if (nlen == 0)
        return -1;
    memset(o, 0, sizeof(*o));
    o->is_pmd = ws_deflate_name_is(name, nlen, "permessage-deflate");
    o->ok = 1;
    o->p.server_max_window_bits = WS_DEFLATE_DEFAULT_BITS;
    o->p.client_max_window_bits = WS_DEFLATE_DEFAULT_BITS;
    for (;;) {
        int has_val = 0;
        ws_deflate_ows(s);
        if (**s != ';')
            return 0;
        (*s)++;
        ws_deflate_ows(s);
        pname = *s;
        if ((plen = ws_deflate_token(s)) == 0)
            return -1;
        ws_deflate_ows(s);
        if (**s == '=') {
            (*s)++;
            ws_deflate_ows(s);
            if (ws_deflate_value(s, val, sizeof(val), &vlen) < 0)
                return -1;
            has_val = 1;
        }
        if (o->is_pmd)
            ws_deflate_offer_param(o, pname, plen, val, vlen, has_val);
    }
}

/* We echo the client's choices; client_max_window_bits is never sent since
 * our 15-bit inflater reads any window (RFC 7692 7.1.2.2 makes it optional). */
static int ws_deflate_answer(const struct ws_deflate_offer *o, char *out, size_t cap)
{
    char bits[40] = "";
    int n;

    if (o->seen & WS_DEFLATE_P_SMWB)
        snprintf(bits, sizeof(bits), "; server_max_window_bits=%d", o->p.server_max_window_bits);
    n = snprintf(out, cap, "permessage-deflate%s%s%s",
                 o->p.server_no_context_takeover ? "; server_no_context_takeover" : "",
                 o->p.client_no_context_takeover ? "; client_no_context_takeover" : "", bits);
    return n >= 0 && (size_t)n < cap ? 0 : -1;
}

int ws_deflate_negotiate(const char *header, struct ws_deflate_params *p, char *out, size_t cap)
{
    struct ws_deflate_offer o, chosen = {0};
    const char *s = header;
    int found = 0;

    if (out != NULL && cap > 0)
        out[0] = '\0';
    if (s == NULL)
        return 0;
    for (;;) {
        ws_deflate_ows(&s);
        if (*s == ',') { /* an empty list element, which 1#rule allows */
            s++;
            continue;
        }
        if (*s == '\0')
            break;
        if (ws_deflate_parse_extension(&s, &o) < 0)
            return -1;
        if (*s != ',' && *s != '\0')
            return -1;
        if (!found && o.is_pmd && o.ok) {
            chosen = o;
            found = 1;
        }
    }
    /* The whole header is checked before answering: a syntax error anywhere
     * is a bad request even after a good offer. */
    if (!found || out == NULL || ws_deflate_answer(&chosen, out, cap) < 0) {
        if (out != NULL && cap > 0)
            out[0] = '\0';
        return 0;
    }
    *p = chosen.p;
    return 1;
}

/* ---- the streams ---- */

struct ws_deflate {
    struct ws_deflate_params p;
    int level;
    int def_ready, inf_ready; /* deflateInit2 / inflateInit2 done */
    int in_msg;               /* bytes of the message being inflated came */
    int ended;                /* it ended its stream (a final block): ignore the rest */
    size_t mem;               /* bytes zlib holds through ws_deflate_alloc */
    z_stream def, inf;
};

/* Each zlib allocation carries its size in front so that frees can be
 * counted; the union keeps the payload aligned for any type. */
union ws_deflate_hdr {
    size_t size;
    max_align_t align;
};

static voidpf ws_deflate_alloc(voidpf opaque, uInt items, uInt size)
{
    struct ws_deflate *d = opaque;
    union ws_deflate_hdr *h;
    size_t n;

    if (size != 0 && items > (SIZE_MAX - sizeof(*h)) / size)
        return Z_NULL;
    n = (size_t)items * size;
    if ((h = malloc(sizeof(*h) + n)) == NULL)
        return Z_NULL;
    h->size = n;
    d->mem += n;
    return h + 1;
}

static void ws_deflate_release(voidpf opaque, voidpf ptr)
{
    struct ws_deflate *d = opaque;
    union ws_deflate_hdr *h = ptr;

    if (ptr == Z_NULL)
        return;
    h--;
    d->mem -= h->size;
    free(h);
}

struct ws_deflate *ws_deflate_new(const struct ws_deflate_params *p, int level)
{
    struct ws_deflate *d;

    if (p == NULL || level < 1 || level > 9 || p->server_max_window_bits < 8 ||
        p->server_max_window_bits > 15)
        return NULL;
    if ((d = calloc(1, sizeof(*d))) == NULL)
        return NULL;
    d->p = *p;
    d->level = level;
    return d;
}

void ws_deflate_free(struct ws_deflate *d)
{
    if (d == NULL)
        return;
    if (d->def_ready)
        deflateEnd(&d->def);
    if (d->inf_ready)
        inflateEnd(&d->inf);
    free(d);
}

size_t ws_deflate_memory(const struct ws_deflate *d)
{
    return d != NULL ? d->mem : 0;
}

static void ws_deflate_stream_init(struct ws_deflate *d, z_stream *z)
{
    memset(z, 0, sizeof(*z));
    z->zalloc = ws_deflate_alloc;
    z->zfree = ws_deflate_release;
    z->opaque = d;
}

static int ws_deflate_start_deflate(struct ws_deflate *d)
{
    if (d->def_ready)
        return 0;
    ws_deflate_stream_init(d, &d->def);
    if (deflateInit2(&d->def, d->level, Z_DEFLATED, -d->p.server_max_window_bits,
                     WS_DEFLATE_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    d->def_ready = 1;
    return 0;
}

static int ws_deflate_start_inflate(struct ws_deflate *d)
{
    if (d->inf_ready)
        return 0;
    ws_deflate_stream_init(d, &d->inf);
    if (inflateInit2(&d->inf, -WS_DEFLATE_INFLATE_BITS) != Z_OK)
        return -1;
    d->inf_ready = 1;
    return 0;
}

/*
 * One deflate call into fresh space of out. The last 4 bytes written so far
 * are kept back in held[] (they are copied to the front of each slice), so
 * that when the flush is over the 00 00 ff ff it ends with is simply never
 * committed: an evbuffer cannot cut its end, and the marker may straddle
 * two slices.
 */
static int ws_deflate_deflate_slice(z_stream *z, struct evbuffer *out, unsigned char held[4],
                                    size_t *held_len)
{
    struct evbuffer_iovec v;
    size_t have, keep;
    int rc;

    if (evbuffer_reserve_space(out, WS_DEFLATE_CHUNK + 4, &v, 1) != 1)
        return -1;
    memcpy(v.iov_base, held, *held_len);
    z->next_out = (Bytef *)v.iov_base + *held_len;
    z->avail_out = (uInt)(v.iov_len - *held_len > UINT_MAX ? UINT_MAX : v.iov_len - *held_len);
    have = *held_len + z->avail_out;
    rc = deflate(z, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
        v.iov_len = 0;
        evbuffer_commit_space(out, &v, 1);
        return -1;
    }
    have -= z->avail_out;
    keep = have < 4 ? have : 4;
    memcpy(held, (unsigned char *)v.iov_base + have - keep, keep);
    *held_len = keep;
    v.iov_len = have - keep;
    return evbuffer_commit_space(out, &v, 1);
}

const struct ws_deflate_params *ws_deflate_params(const struct ws_deflate *d)
{
    return &d->p;
}

int ws_deflate_compress(struct ws_deflate *d, const void *data, size_t len, struct evbuffer *out)
{
    unsigned char held[4];
    size_t held_len = 0;
    int rc = 0;

    /* An empty stored block, whose LEN/NLEN are the tail the receiver
     * appends (RFC 7692 7.2.3.6). zlib would give the same on a fresh
     * stream, but nothing at all after a flush, having no input. */
    if (d->p.server_max_window_bits < 9)
        return -1; /* no 256-byte window in zlib: the caller sends it plain */
    if (len == 0)
        return evbuffer_add(out, "", 1);
    if (ws_deflate_start_deflate(d) < 0)
        return -1;
    d->def.next_in = (Bytef *)(uintptr_t)data;
    while (rc == 0 && (len > 0 || d->def.avail_in > 0 || d->def.avail_out == 0)) {
        /* avail_in is 32 bits; feed a large message in parts. */
        if (d->def.avail_in == 0) {
            d->def.avail_in = (uInt)(len > UINT_MAX ? UINT_MAX : len);
            len -= d->def.avail_in;
        }
        rc = ws_deflate_deflate_slice(&d->def, out, held, &held_len);
    }
    if (rc == 0 && (held_len != 4 || memcmp(held, ws_deflate_tail, 4) != 0))
        rc = -1;
    if (rc < 0 || d->p.server_no_context_takeover)
        deflateReset(&d->def);
    return rc;
}

/* One inflate call into fresh space of out, never more than one byte past
 * max_size in all: that byte is what tells a bomb from a message of exactly
 * max_size. 1 when the stream ended (a block with BFINAL set). */
static int ws_deflate_inflate_slice(z_stream *z, struct evbuffer *out, size_t max, size_t *total)
{
    struct evbuffer_iovec v;
    size_t room = max - *total;
    size_t want = room < WS_DEFLATE_CHUNK ? room + 1 : WS_DEFLATE_CHUNK;
    int rc;

    if (evbuffer_reserve_space(out, want, &v, 1) != 1)
        return -1;
    z->next_out = v.iov_base;
    z->avail_out = (uInt)want;
    rc = inflate(z, Z_SYNC_FLUSH);
    v.iov_len = want - z->avail_out;
    *total += v.iov_len;
    if (*total > max)
        rc = -2;
    else if (rc == Z_STREAM_END)
        rc = 1;
    else if (rc == Z_OK || (rc == Z_BUF_ERROR && z->avail_in == 0))
        rc = 0;
    else
        rc = -1;
    if (rc < 0)
        v.iov_len = 0;
    if (evbuffer_commit_space(out, &v, 1) < 0)
        return -1;
    return rc;
}

/* Inflate buf[0..len) whole: 0, 1 when the stream ended, -1 or -2. */
static int ws_deflate_inflate_buf(z_stream *z, const unsigned char *buf, size_t len,
                                  struct evbuffer *out, size_t max, size_t *total)
{
    int rc;

    z->next_in = (Bytef *)(uintptr_t)buf;
    z->avail_in = 0;
    do {
        if (z->avail_in == 0) {
            z->avail_in = (uInt)(len > UINT_MAX ? UINT_MAX : len);
            len -= z->avail_in;
        }
        rc = ws_deflate_inflate_slice(z, out, max, total);
    } while (rc == 0 && (len > 0 || z->avail_in > 0 || z->avail_out == 0));
    return rc;
}

/* The message is over (or failed): a final block (RFC 7692 7.2.3.4) ended
 * the client's stream, so its next message starts a new one; after an
 * error the stream is in an unknown state. */
static void ws_deflate_end_message(struct ws_deflate *d, int rc)
{
    if (d->inf_ready && (rc != 0 || d->ended || d->p.client_no_context_takeover))
        inflateReset(&d->inf);
    d->in_msg = 0;
    d->ended = 0;
}

int ws_deflate_inflate(struct ws_deflate *d, const void *data, size_t len, int fin,
                       struct evbuffer *out, size_t max_size, size_t *total)
{
    int rc = 0;

    /* Whatever follows a final block in this message is ignored. */
    if (len > 0 && !d->ended) {
        rc = ws_deflate_start_inflate(d);
        d->in_msg = 1;
        if (rc == 0)
            rc = ws_deflate_inflate_buf(&d->inf, data, len, out, max_size, total);
    }
    /* No bytes are no message; inflating the bare 00 00 ff ff would leave
     * the stream inside a stored block's header and garble the next one. */
    if (rc == 0 && fin && d->in_msg && !d->ended)
        rc = ws_deflate_inflate_buf(&d->inf, ws_deflate_tail, 4, out, max_size, total);
    if (rc == 1) {
        d->ended = 1;
        rc = 0;
    }
    if (rc < 0 || fin)
        ws_deflate_end_message(d, rc);
    return rc;
}

int ws_deflate_decompress(struct ws_deflate *d, struct evbuffer *in, struct evbuffer *out,
                          size_t max_size)
{
    struct evbuffer_iovec v;
    size_t total = 0;
    int rc = 0;

    /* Chain by chain, without pulling the message up into one block. */
    while (rc == 0 && evbuffer_get_length(in) > 0) {
        /* Up to the length, so that empty chains (evbuffer_add of 0 bytes
         * leaves one) are not counted; one left first would be a bug. */
        if (evbuffer_peek(in, (ev_ssize_t)evbuffer_get_length(in), NULL, &v, 1) < 1 ||
            v.iov_len == 0) {
            rc = -1;
            ws_deflate_end_message(d, rc);
            break;
        }
        rc = ws_deflate_inflate(d, v.iov_base, v.iov_len, 0, out, max_size, &total);
        evbuffer_drain(in, v.iov_len);
    }
    if (rc == 0)
        rc = ws_deflate_inflate(d, NULL, 0, 1, out, max_size, &total);
    evbuffer_drain(in, evbuffer_get_length(in));
    return rc;
}
