/*
 * compress.c - the compression output stage. An answer is compressed when
 * its Content-Type is on the list, the route has compression on, the
 * client's Accept-Encoding takes gzip or br, and nothing forbids it: no body
 * (1xx, 204, 304), a range (206, Content-Range), a Content-Encoding already
 * (a precompressed file), Cache-Control: no-transform, or a finished body
 * under min_size or over max_size. A streamed answer of unknown length is compressed as it
 * streams, each gale_response_flush flushing the encoder so that server-sent
 * events and long polls reach the client at once.
 *
 * Every answer of a listed type says Vary: Accept-Encoding, compressed or
 * not, so that caches keep the two apart. A strong ETag on a compressed
 * answer becomes weak, as nginx does: the bytes differ from the
 * uncompressed answer's, and If-None-Match compares weakly (etag.c).
 *
 * A streamed answer is given gzip, not Brotli, unless brotli_streams: its
 * encoder lives as long as the stream, and Brotli's is several times larger.
 *
 * HEAD: a finished body is compressed too, so that Content-Length is what
 * GET would send; a streamed one only gets the headers.
 *
 * Request bodies are never inflated: a request with Content-Encoding
 * reaches the handler as it was sent.
 */
#include "http/compress.h"

#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "core/arena.h"
#include "core/loop.h"
#include "core/module.h"
#include "core/util.h"
#include "http/compress_codec.h"
#include "http/compress_negotiate.h"
#include "http/compress_settings.h"
#include "http/pipeline.h"
#include "http/request.h"

/* Whether the comma-separated list `value` has the element `token` (case
 * ignored; an element with arguments, "max-age=5", is its name). */
static int compress_list_has(const char *value, const char *token)
{
    size_t tlen = strlen(token);
    for (const char *p = value; *p;) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, ",= \t");
        if (len == tlen && !strncasecmp(p, token, len))
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

/* What the stage needs of the response headers, found in one pass: every
 * answer goes through here, and most are never compressed. */
struct compress_scan {
    const char *type;          /* the first Content-Type, or NULL */
    struct http_kv *vary;      /* the last Vary, or NULL */
    unsigned varies : 1;       /* a Vary has Accept-Encoding or "*" already */
    unsigned range : 1;        /* Content-Range */
    unsigned encoded : 1;      /* Content-Encoding */
    unsigned no_transform : 1; /* Cache-Control: no-transform */
};

static void compress_scan(gale_request *r, struct compress_scan *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = 0; i < r->nrh; i++) {
        struct http_kv *h = &r->rh[i];
        char c = (char)(h->name[0] | 0x20); /* most names are ruled out by it */
        if (c == 'v' && !strcasecmp(h->name, "Vary")) {
            s->vary = h;
            s->varies |=
                compress_list_has(h->value, "Accept-Encoding") || compress_list_has(h->value, "*");
        } else if (c != 'c') {
            continue;
        } else if (!strcasecmp(h->name, "Content-Type")) {
            s->type = s->type ? s->type : h->value;
        } else if (!strcasecmp(h->name, "Content-Range")) {
            s->range = 1;
        } else if (!strcasecmp(h->name, "Content-Encoding")) {
            s->encoded = 1;
        } else if (!strcasecmp(h->name, "Cache-Control")) {
            s->no_transform |= compress_list_has(h->value, "no-transform");
        }
    }
}

/* Vary: Accept-Encoding, added to the last Vary the answer has (Origin from
 * CORS, the handler's own) or as a new header. */
static void compress_vary(gale_request *r, const struct compress_scan *s)
{
    if (s->varies)
        return;
    if (s->vary)
        s->vary->value = gale_request_printf(r, "%s, Accept-Encoding", s->vary->value);
    else
        response_header_add_static(r, "Vary", "Accept-Encoding");
}

/* A strong ETag becomes weak: the compressed bytes are another
 * representation of the same content. */
static void compress_weaken_etag(gale_request *r)
{
    for (size_t i = 0; i < r->nrh; i++)
        if (!strcasecmp(r->rh[i].name, "ETag") && r->rh[i].value[0] == '"')
            r->rh[i].value = gale_request_printf(r, "W/%s", r->rh[i].value);
}

/* Whether `type` matches the patterns, remembering the last verdict: most
 * answers of a worker share a few types, every answer asks, and comparing
 * the string costs a fraction of matching it. One per worker process (the
 * loop is single-threaded); `types` is the config's list, which outlives
 * the worker. */
static int compress_type_ok(const char *const *types, size_t ntypes, const char *type)
{
    static struct {
        const char *const *types;
        size_t len;
        int match;
        char type[64];
    } last;
    size_t len = type ? strlen(type) : 0;
    if (type && last.types == types && last.len == len && !memcmp(last.type, type, len))
        return last.match;
    int match = compress_negotiate_type(types, ntypes, type);
    if (type && len < sizeof(last.type)) {
        last.types = types;
        last.len = len;
        last.match = match;
        memcpy(last.type, type, len);
    }
    return match;
}

/* Whether the answer is of a type worth compressing and may be compressed
 * at all (the checks that do not depend on the client or the size). */
static int compress_eligible(const struct compress_settings *cs, const struct compress_scan *s)
{
    const char *const *types = (const char *const *)cs->types.v;
    size_t ntypes = cs->types.n;
    if (!ntypes) {
        types = compress_negotiate_default_types;
        ntypes = compress_negotiate_ndefault_types;
    }
    return !s->range && !s->no_transform && compress_type_ok(types, ntypes, s->type);
}

/* Accept-Encoding as one list: a client may split it over several lines,
 * which mean the same joined with commas (RFC 9110 5.3). NULL when absent. */
static const char *compress_accept_encoding(gale_request *r)
{
    const char *all = NULL;
    for (size_t i = 0; i < r->nhdrs; i++)
        if (!strcasecmp(r->hdrs[i].name, "Accept-Encoding"))
            all = all ? gale_request_printf(r, "%s,%s", all, r->hdrs[i].value) : r->hdrs[i].value;
    return all;
}

static void compress_cleanup(void *arg)
{
    gale_request *r = arg;
    compress_codec_free(r->compress);
    r->compress = NULL;
}

/* Replace the finished body in r->out by its compressed form. The encoder
 * fails only for want of memory. */
static void compress_whole(gale_request *r, struct compress_codec *c)
{
    struct evbuffer *plain = evbuffer_new();
    if (!plain || evbuffer_add_buffer(plain, r->out) < 0 ||
        compress_codec_run(c, plain, r->out, COMPRESS_FINISH) < 0)
        util_oom();
    evbuffer_free(plain);
}

/* Whether r's answer may be compressed as the head stands (the checks that
 * do not depend on the body); fills cs and s. */
static int compress_head_ok(gale_request *r, struct compress_settings *cs, struct compress_scan *s)
{
    if ((pipeline_status_no_body(r->status) && !r->not_modified) || r->status == 206)
        return 0;
    compress_settings_get(r->loop->cfg, r->route ? r->route->conf : NULL, cs);
    if (!cs->enabled)
        return 0;
    compress_scan(r, s);
    return compress_eligible(cs, s);
}

/* The coding for r's answer, streamed or complete. */
static enum compress_coding compress_coding_for(gale_request *r, const struct compress_settings *cs,
                                                int complete)
{
    /* A stream holds its encoder as long as it is open (server-sent events:
     * hours, thousands of them): Brotli's takes 1 to 2 MiB at quality 4,
     * gzip's about 256 KiB, so streams get gzip unless brotli_streams. */
    int brotli = cs->brotli && (complete || cs->brotli_streams);
    return compress_negotiate_coding(compress_accept_encoding(r), brotli);
}

/* http_stage.rewrites: a large file streams through here when this is so. */
static int compress_rewrites(gale_request *r)
{
    struct compress_settings cs;
    struct compress_scan s;
    return compress_head_ok(r, &cs, &s) && !s.encoded &&
           compress_coding_for(r, &cs, 0) != COMPRESS_IDENTITY;
}

static void compress_head(gale_request *r, int complete)
{
    struct compress_settings cs;
    struct compress_scan s;
    if (!compress_head_ok(r, &cs, &s))
        return;
    compress_vary(r, &s);
    /* A file that only sendfile reads, or a body whose length went in the
     * head: not ours to rewrite (a static folder streams a large file
     * through here instead when compress_rewrites says so). */
    if (r->file_body || r->length_known)
        return;
    size_t len = r->not_modified ? r->not_modified_len : evbuffer_get_length(r->out);
    /* A finished body is compressed at once, before the head goes: a huge
     * one (a file) would hold the worker up, so it goes as it is. */
    if (s.encoded || (complete && (len < cs.min_size || len > cs.max_size)))
        return;
    enum compress_coding coding = compress_coding_for(r, &cs, complete);
    if (coding == COMPRESS_IDENTITY)
        return;
    if (r->not_modified) { /* its 200 would have been compressed */
        compress_weaken_etag(r);
        return;
    }
    int level = coding == COMPRESS_GZIP ? cs.gzip_level : cs.brotli_quality;
    struct compress_codec *c = compress_codec_new(coding, level, complete ? len : 0);
    if (!c)
        return; /* out of memory: the answer goes as it is */
    if (complete || r->is_head) {
        if (complete)
            compress_whole(r, c);
        compress_codec_free(c);
    } else {
        r->compress = c;
        arena_cleanup_add(r->arena, compress_cleanup, r); /* an answer cut short */
    }
    response_header_add_static(r, "Content-Encoding", coding == COMPRESS_GZIP ? "gzip" : "br");
    compress_weaken_etag(r);
}

/* A piece of a streamed answer: compressed and flushed, so that the client
 * can decode everything sent so far; the last one ends the stream. */
static void compress_body(gale_request *r, struct evbuffer *data, int last)
{
    if (!r->compress || (!last && evbuffer_get_length(data) == 0))
        return;
    struct evbuffer *plain = evbuffer_new();
    if (!plain || evbuffer_add_buffer(plain, data) < 0 ||
        compress_codec_run(r->compress, plain, data, last ? COMPRESS_FINISH : COMPRESS_FLUSH) < 0)
        util_oom();
    evbuffer_free(plain);
    if (last)
        compress_cleanup(r); /* the encoder's memory goes now, not with the connection */
}

const struct http_stage compress_stage = {
    .name = "compress",
    .head = compress_head,
    .body = compress_body,
    .rewrites = compress_rewrites,
};
