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
#include "http/conditional.h"
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

/* A finished 200 answer to GET or HEAD gets an ETag (unless the handler set
 * one); a client that has it already gets 304 and no body, one whose
 * precondition fails 412. */
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
    const char *lm = response_header_find(r, "Last-Modified");
    int cond = conditional_check(r, tag, lm ? conditional_parse_date(lm) : -1);
    if (!cond)
        return;
    r->status = cond;
    r->reason = NULL; /* the handler's phrase was for its 200 */
    r->not_modified = cond == 304;
    r->not_modified_len = evbuffer_get_length(r->out);
    evbuffer_drain(r->out, evbuffer_get_length(r->out));
    response_header_remove(r, "Content-Length");
    if (cond == 412) { /* the short text of gale's error pages, for a reader */
        response_header_remove(r, "Content-Encoding");
        response_header_remove(r, "Content-Language");
        response_header_remove(r, "Content-Type");
        response_header_add(r, "Content-Type", "text/plain; charset=utf-8");
        evbuffer_add_printf(r->out, "412 %s: a precondition of the request failed\n",
                            pipeline_status_text(412));
    }
}

const struct http_stage etag_stage = {
    .name = "etag",
    .head = etag_head,
};
