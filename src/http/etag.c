/*
 * etag.c - the output stage for validators: a finished 200 answer to GET or
 * HEAD gets an ETag (the SHA-1 of its body, as Tornado's, unless the handler
 * set one or the config turns them off), and a client whose If-None-Match
 * has it gets 304 and no body (RFC 9110 8.8.3, 13.1.2).
 */
#include "http/etag.h"

#include <string.h>

#include <event2/buffer.h>
#include <openssl/evp.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/loop.h"
#include "core/util.h"
#include "http/pipeline.h"
#include "http/request.h"
#include "http/http_settings.h"

/* A strong validator of the body: the SHA-1 of its bytes, as Tornado's. */
static const char *etag_make(gale_request *r)
{
    /* Fetched once per worker: an implicit fetch in OpenSSL 3 costs more
     * than hashing a small answer. Single-threaded: the loop owns them. */
    static EVP_MD *sha1;
    static EVP_MD_CTX *ctx;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    struct evbuffer_iovec v[16];
    struct evbuffer_ptr pos;
    if (!sha1)
        sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    if (!ctx)
        ctx = EVP_MD_CTX_new();
    if (!sha1 || !ctx || EVP_DigestInit_ex2(ctx, sha1, NULL) != 1)
        return NULL;
    evbuffer_ptr_set(r->out, &pos, 0, EVBUFFER_PTR_SET);
    for (;;) {
        int n = evbuffer_peek(r->out, -1, &pos, v, 16);
        int take = n < 16 ? n : 16;
        size_t got = 0;
        for (int i = 0; i < take; i++) {
            EVP_DigestUpdate(ctx, v[i].iov_base, v[i].iov_len);
            got += v[i].iov_len;
        }
        if (n <= 16 || evbuffer_ptr_set(r->out, &pos, got, EVBUFFER_PTR_ADD) < 0)
            break;
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    char *tag = arena_alloc(r->arena, mdlen * 2 + 3);
    tag[0] = '"';
    util_hex(tag + 1, md, mdlen);
    tag[mdlen * 2 + 1] = '"';
    tag[mdlen * 2 + 2] = '\0';
    return tag;
}

/* If-None-Match against our tag, with the weak comparison RFC 9110 13.1.2
 * asks for: "W/" is ignored on both sides; "*" matches any. */
static int etag_none_match(const char *header, const char *tag)
{
    if (tag[0] == 'W' && tag[1] == '/')
        tag += 2;
    size_t tlen = strlen(tag);
    const char *p = header;
    while (*p) {
        p += strspn(p, " \t,");
        if (*p == '*')
            return 1;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        size_t len = end ? (size_t)(end - p) + 1 : strcspn(p, ",");
        if (len == tlen && !memcmp(p, tag, len))
            return 1;
        p += len;
        if (!len)
            break;
    }
    return 0;
}

/* A finished 200 answer to GET or HEAD gets an ETag (unless the handler set
 * one); a client that has it already gets 304 and no body. */
static void etag_head(gale_request *r, int complete)
{
    if (!complete || r->status != 200 || (r->mid != HTTP_M_GET && r->mid != HTTP_M_HEAD))
        return;
    const char *tag = response_header_find(r, "ETag");
    if (!tag && http_settings(r->loop->cfg)->etag) {
        tag = etag_make(r);
        if (tag)
            gale_response_header(r, "ETag", tag);
    }
    const char *inm = gale_request_header(r, "If-None-Match");
    if (!tag || !inm || !etag_none_match(inm, tag))
        return;
    r->status = 304;
    r->reason = NULL; /* the handler's phrase was for its 200 */
    evbuffer_drain(r->out, evbuffer_get_length(r->out));
    response_header_remove(r, "Content-Type");
    response_header_remove(r, "Content-Length");
    response_header_remove(r, "Content-Encoding");
    response_header_remove(r, "Content-Language");
}

const struct http_stage etag_stage = {
    .name = "etag",
    .head = etag_head,
};
