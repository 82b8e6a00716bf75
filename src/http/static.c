/*
 * static.c - serving the static folders (see static.h).
 *
 * Opening and fstat run on the loop, as in nginx without aio: on a warm page
 * cache they cost microseconds. Bodies: a small file is read into the answer
 * (one writev with the head); a large one goes by sendfile as a file segment
 * on a plain connection, and in pieces read as the client drains them over
 * TLS and HTTP/2 (an mmap'd segment would fault if the file shrank under
 * it; HTTP/2 frames what it sends, which sendfile cannot). Several ranges
 * make a multipart/byteranges body: the parts' heads from memory between
 * the file's segments. A file that shrinks while it is sent ends the
 * connection: the Content-Length promised cannot be kept.
 */
#include "http/static.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/loop.h"
#include "core/util.h"
#include "http/conditional.h"
#include "http/cookie.h"
#include "http/http_parser.h"
#include "http/mime.h"
#include "http/pipeline.h"
#include "http/range.h"
#include "http/request.h"
#include "http/static_file.h"
#include "http/static_path.h"
#include "http/static_settings.h"
#include "net/conn.h"

/* Files up to this size are read into the answer; larger ones are sent by
 * sendfile (plain HTTP/1), or in pieces of STATIC_PIECE (TLS, HTTP/2, or
 * when an output stage such as compression rewrites them). */
#define STATIC_SMALL (64 * 1024)
#define STATIC_PIECE (256 * 1024)

int static_match(gale_request *r, const char *path, size_t len)
{
    const struct static_settings *ss = static_settings(r->loop->cfg);
    for (size_t i = 0; i < ss->nroots; i++) {
        const struct static_root *root = &ss->roots[i];
        size_t n = strlen(root->prefix);
        if (len < n || memcmp(path, root->prefix, n) != 0)
            continue;
        r->static_root = root;
        if (r->mid == HTTP_M_GET || r->mid == HTTP_M_HEAD)
            return 1;
        gale_response_header(r, "Allow", "GET, HEAD");
        r->nrh_keep = r->nrh;
        r->error_status = r->mid == HTTP_M_OPTIONS ? 204 : 405;
        r->error_reason = "static files answer GET and HEAD";
        return 1;
    }
    return 0;
}

/* ---- the answer's headers ---- */

/* The strong validator of what is served: its mtime and size as nginx's,
 * with nanoseconds (a file rewritten within a second at the same size gets
 * a new tag), and the coding for a precompressed sibling. */
static const char *static_etag(gale_request *r, const struct static_file *f)
{
    return gale_request_printf(r, "\"%llx%09lx-%llx%s%s\"",
                               (unsigned long long)f->st.st_mtim.tv_sec,
                               (long)f->st.st_mtim.tv_nsec, (unsigned long long)f->st.st_size,
                               f->encoding ? "-" : "", f->encoding ? f->encoding : "");
}

/* Whether query string q has the argument v (a versioned URL). */
static int static_versioned(const char *q)
{
    for (const char *p = q; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL)
        if (p[0] == 'v' && (p[1] == '=' || p[1] == '&' || !p[1]))
            return 1;
    return 0;
}

static void static_headers(gale_request *r, const struct static_file *f, const char *etag,
                           const char *lastmod)
{
    const struct static_root *root = r->static_root;
    const char *type = mime_type(f->name);
    if (!type)
        type = "application/octet-stream";
    if (root->charset && mime_is_text(type))
        type = gale_request_printf(r, "%s; charset=%s", type, root->charset);
    response_header_add(r, "Content-Type", type);
    response_header_add(r, "ETag", etag);
    response_header_add(r, "Last-Modified", lastmod);
    response_header_add(r, "Accept-Ranges", "bytes");
    if (f->encoding)
        response_header_add(r, "Content-Encoding", f->encoding);
    if (root->precompressed)
        response_header_add(r, "Vary", "Accept-Encoding");
    if (static_versioned(r->query)) /* the URL changes with the content: keep it a year */
        response_header_add(r, "Cache-Control", "max-age=31536000, public");
    else if (root->max_age > 0)
        response_header_add(r, "Cache-Control",
                            gale_request_printf(r, "max-age=%d", root->max_age));
}

/* If-Range: the range applies only when the client's validator is still
 * the file's (an exact strong ETag, or the exact Last-Modified date). */
static int static_if_range(gale_request *r, const char *etag, const char *lastmod)
{
    const char *ir = gale_request_header(r, "If-Range");
    if (!ir)
        return 1;
    return ir[0] == '"' ? !strcmp(ir, etag) : !strcmp(ir, lastmod);
}

/* ---- the body ---- */

/* A piece of the answer's body: bytes of the file, or text made here (the
 * heads of a multipart answer's parts). */
struct static_seg {
    const char *text; /* NULL: the file's bytes [off, off + len) */
    uint64_t off, len;
};

struct static_send {
    int fd;
    const struct static_seg *segs;
    size_t nsegs, i; /* the segment being sent */
    uint64_t done;   /* of segs[i], the bytes already sent */
};

static void static_send_close(void *arg)
{
    struct static_send *s = arg;
    if (s->fd >= 0)
        close(s->fd);
}

static void static_send_abort(gale_request *r, void *arg)
{
    pipeline_finish(r); /* the client left: nothing more to send */
}

/* Read up to `want` bytes at `off` into r->out. Returns the bytes read,
 * fewer when the file ended early (it shrank). */
static size_t static_read(gale_request *r, int fd, uint64_t off, size_t want)
{
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(r->out, (ev_ssize_t)want, &v, 1) < 1)
        util_oom();
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread(fd, (char *)v.iov_base + got, want - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    v.iov_len = got;
    evbuffer_commit_space(r->out, &v, 1);
    return got;
}

/* Add the next bytes of the body to r->out, about `budget` of them (a part's
 * head goes whole). Returns 0, or -1 when the file shrank. */
static int static_fill(gale_request *r, struct static_send *s, uint64_t budget)
{
    uint64_t added = 0;
    while (s->i < s->nsegs && added < budget) {
        const struct static_seg *g = &s->segs[s->i];
        uint64_t n = g->len - s->done;
        if (g->text) {
            evbuffer_add(r->out, g->text + s->done, (size_t)n);
        } else {
            n = n < budget - added ? n : budget - added;
            if (static_read(r, s->fd, g->off + s->done, (size_t)n) < n)
                return -1;
        }
        added += n;
        s->done += n;
        if (s->done == g->len) {
            s->i++;
            s->done = 0;
        }
    }
    return 0;
}

/* The next piece of a large body (TLS, or a stage rewrites it), once the
 * last one has left. */
static void static_pump(gale_request *r, void *arg)
{
    struct static_send *s = arg;
    if (static_fill(r, s, STATIC_PIECE) < 0) {
        pipeline_error(r, 500, "the file shrank while it was sent"); /* cuts the answer */
        return;
    }
    if (s->i == s->nsegs) {
        pipeline_finish(r);
        return;
    }
    pipeline_send_body(r);
    pipeline_flush(r);
    pipeline_when_drained(r, static_pump, s);
}

/* The file's segments by sendfile, the text between them from memory: one
 * file segment of the whole file, added once per range. */
static int static_sendfile(gale_request *r, struct static_send *s, uint64_t size)
{
    struct evbuffer_file_segment *seg =
        evbuffer_file_segment_new(s->fd, 0, (ev_off_t)size, EVBUF_FS_CLOSE_ON_FREE);
    if (!seg)
        return -1;
    s->fd = -1; /* the segment closes it when the last chain goes */
    evbuffer_set_flags(r->out, EVBUFFER_FLAG_DRAINS_TO_FD); /* sendfile, not mmap */
    r->file_body = 1;
    int rc = 0;
    for (size_t i = 0; i < s->nsegs && rc == 0; i++) {
        const struct static_seg *g = &s->segs[i];
        if (g->text)
            rc = evbuffer_add(r->out, g->text, (size_t)g->len);
        else
            rc = evbuffer_add_file_segment(r->out, seg, (ev_off_t)g->off, (ev_off_t)g->len);
    }
    evbuffer_file_segment_free(seg); /* the buffer holds its own references */
    return rc;
}

/* Send the body made of `segs` (`total` bytes) from f, and finish. Takes
 * f->fd. */
static void static_body(gale_request *r, struct static_file *f, const struct static_seg *segs,
                        size_t nsegs, uint64_t total)
{
    struct static_send *s = arena_alloc(r->arena, sizeof(*s));
    *s = (struct static_send){.fd = f->fd, .segs = segs, .nsegs = nsegs};
    f->fd = -1;
    arena_cleanup_add(r->arena, static_send_close, s);
    struct conn *c = pipeline_conn(r);
    if (r->is_head || total == 0) {
        r->length_known = 1;
        r->known_length = total;
    } else if (total <= STATIC_SMALL) {
        if (static_fill(r, s, total) < 0) {
            pipeline_error(r, 500, "the file shrank while it was read");
            return;
        }
    } else if (pipeline_body_rewritten(r)) {
        /* a stage rewrites it (compression): the file goes through the
         * stages in pieces, its length unknown until the end */
        gale_request_on_abort(r, static_send_abort, s);
        if (pipeline_send_head(r, 1) == 0)
            static_pump(r, s);
        return;
    } else if (c && !c->https && !r->http2) {
        /* not over HTTP/2: it cuts the body into DATA frames, and a piece of
         * a sendfile segment has no bytes in memory to copy (libevent copied
         * whatever lay at the chain's address: heap memory went out) */
        if (static_sendfile(r, s, (uint64_t)f->st.st_size) < 0) {
            pipeline_error(r, 500, "cannot send the file");
            return;
        }
    } else {
        r->length_known = 1;
        r->known_length = total;
        gale_request_on_abort(r, static_send_abort, s);
        if (pipeline_send_head(r, 1) == 0)
            static_pump(r, s);
        return;
    }
    pipeline_finish(r);
}

/* ---- the request ---- */

/* A folder's URL without its '/': send the client to the one with it. */
static void static_redirect_folder(gale_request *r)
{
    const char *url = gale_request_printf(r, "%s/%s%s", r->path, *r->query ? "?" : "", r->query);
    gale_response_header(r, "Location", url);
    r->status = 301;
    pipeline_finish(r);
}

/* The body of a multipart/byteranges answer (RFC 9110 14.6) for the ranges
 * of `set`: each part's head, its bytes, the closing delimiter. Sets the
 * answer's Content-Type; the segments' total into *total. */
static const struct static_seg *static_multipart(gale_request *r, const struct range_set *set,
                                                 uint64_t size, size_t *nsegs, uint64_t *total)
{
    unsigned char rnd[8];
    char boundary[sizeof(rnd) * 2 + 1];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        memset(rnd, 0x5a, sizeof(rnd)); /* any boundary works; a random one is just unlikely
                                           to occur in the file's bytes */
    util_hex(boundary, rnd, sizeof(rnd));
    boundary[sizeof(boundary) - 1] = '\0';
    const char *type = response_header_find(r, "Content-Type");
    struct static_seg *segs = arena_alloc(r->arena, (set->n * 2 + 1) * sizeof(*segs));
    size_t k = 0;
    *total = 0;
    for (size_t i = 0; i < set->n; i++) {
        const char *head = gale_request_printf(
            r, "\r\n--%s\r\nContent-Type: %s\r\nContent-Range: bytes %llu-%llu/%llu\r\n\r\n",
            boundary, type, (unsigned long long)set->r[i].first, (unsigned long long)set->r[i].last,
            (unsigned long long)size);
        segs[k++] = (struct static_seg){head, 0, strlen(head)};
        segs[k++] =
            (struct static_seg){NULL, set->r[i].first, set->r[i].last - set->r[i].first + 1};
    }
    const char *tail = gale_request_printf(r, "\r\n--%s--\r\n", boundary);
    segs[k++] = (struct static_seg){tail, 0, strlen(tail)};
    for (size_t i = 0; i < k; i++)
        *total += segs[i].len;
    *nsegs = k;
    response_header_remove(r, "Content-Type");
    response_header_add(r, "Content-Type",
                        gale_request_printf(r, "multipart/byteranges; boundary=%s", boundary));
    return segs;
}

/* Answer with the error `status` (412, 416) instead of the file: the file's
 * headers are not this answer's. `range`: a Content-Range for 416. */
static void static_refuse(gale_request *r, int status, const char *range, const char *why)
{
    r->nrh = r->nrh_keep;
    if (range)
        response_header_add(r, "Content-Range", range);
    r->nrh_keep = r->nrh;
    pipeline_error(r, status, why);
}

/* Answer with the file f (open): preconditions, ranges, headers, body. */
static void static_answer(gale_request *r, struct static_file *f)
{
    char lastmod[COOKIE_DATE_SIZE];
    cookie_format_date(lastmod, sizeof(lastmod), f->st.st_mtim.tv_sec);
    const char *etag = static_etag(r, f);
    uint64_t size = (uint64_t)f->st.st_size;
    static_headers(r, f, etag, lastmod);
    int cond = conditional_check(r, etag, f->st.st_mtim.tv_sec);
    if (cond == 412) {
        static_refuse(r, 412, NULL, "a precondition of the request failed");
        return;
    }
    if (cond == 304) {
        r->status = 304;
        response_header_remove(r, "Content-Type");
        response_header_remove(r, "Content-Encoding");
        pipeline_finish(r);
        return;
    }
    struct range_set set;
    enum range_result rr = RANGE_NONE;
    if (static_if_range(r, etag, lastmod))
        rr = range_parse(gale_request_header(r, "Range"), size, &set);
    /* A range of the whole file is answered 200, as Tornado does: Chrome
     * would not play audio answered 206 to "bytes=0-". The parts of an
     * encoded sibling would each need its coding: it goes whole. */
    if (rr == RANGE_OK && ((set.n == 1 && set.r[0].first == 0 && set.r[0].last + 1 == size) ||
                           (set.n > 1 && f->encoding)))
        rr = RANGE_NONE;
    if (rr == RANGE_UNSATISFIABLE) {
        static_refuse(r, 416, gale_request_printf(r, "bytes */%llu", (unsigned long long)size),
                      "the range is not in the file");
        return;
    }
    /* in the arena: a large body is sent after this returns */
    struct static_seg *one = arena_alloc(r->arena, sizeof(*one));
    *one = (struct static_seg){NULL, 0, size};
    const struct static_seg *segs = one;
    size_t nsegs = 1;
    uint64_t total = size;
    if (rr == RANGE_OK && set.n == 1) {
        *one = (struct static_seg){NULL, set.r[0].first, set.r[0].last - set.r[0].first + 1};
        total = one->len;
        response_header_add(
            r, "Content-Range",
            gale_request_printf(r, "bytes %llu-%llu/%llu", (unsigned long long)set.r[0].first,
                                (unsigned long long)set.r[0].last, (unsigned long long)size));
    } else if (rr == RANGE_OK) {
        segs = static_multipart(r, &set, size, &nsegs, &total);
    }
    if (rr == RANGE_OK)
        r->status = 206;
    static_body(r, f, segs, nsegs, total);
}

void static_serve(gale_request *r)
{
    const struct static_root *root = r->static_root;
    size_t plen = strlen(root->prefix), rawlen = strlen(r->path) - plen;
    const char *raw = r->path + plen;
    char rel[PATH_MAX];
    struct static_file f;
    int rc = -1;
    if (static_path_clean(raw, rawlen, root->hidden, rel, sizeof(rel)) >= 0)
        rc = static_file_open(
            r->loop, root, rel, rawlen > 0 && raw[rawlen - 1] == '/',
            root->precompressed ? gale_request_header(r, "Accept-Encoding") : NULL, &f);
    if (rc == STATIC_FILE_FOLDER) {
        static_redirect_folder(r);
    } else if (rc < 0) {
        pipeline_error(r, 404, "no such file");
    } else {
        static_answer(r, &f);
        static_file_close(&f);
    }
}
