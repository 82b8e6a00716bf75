/*
 * static.c - serving the static folders (see static.h).
 *
 * Opening and fstat run on the loop, as in nginx without aio: on a warm page
 * cache they cost microseconds. Bodies: a small file is read into the answer
 * (one writev with the head); a large one goes by sendfile as a file segment
 * on a plain connection, and in pieces read as the client drains them over
 * TLS (an mmap'd segment would fault if the file shrank under it). A file
 * that shrinks while it is sent ends the connection: the Content-Length
 * promised cannot be kept.
 */
#include "http/static.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/loop.h"
#include "core/util.h"
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

/* ---- dates ---- */

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), or -1: the obsolete
 * formats are read by no client still sending them to a current server. */
static time_t static_parse_date(const char *s)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm = {0};
    char mon[4];
    if (!s || sscanf(s, "%*3s, %2d %3s %4d %2d:%2d:%2d GMT", &tm.tm_mday, mon, &tm.tm_year,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    const char *m = strstr(months, mon);
    if (!m || (m - months) % 3)
        return -1;
    tm.tm_mon = (int)(m - months) / 3;
    tm.tm_year -= 1900;
    return timegm(&tm);
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

/* If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2): 1 when the
 * client's copy is current. */
static int static_not_modified(gale_request *r, const struct static_file *f, const char *etag)
{
    const char *inm = gale_request_header(r, "If-None-Match");
    if (inm) {
        for (const char *p = inm; *p;) { /* the weak comparison: W/ is ignored */
            p += strspn(p, " \t,");
            if (*p == '*')
                return 1;
            if (p[0] == 'W' && p[1] == '/')
                p += 2;
            size_t n = strcspn(p, ", \t");
            if (n == strlen(etag) && !memcmp(p, etag, n))
                return 1;
            p += n;
        }
        return 0;
    }
    time_t ims = static_parse_date(gale_request_header(r, "If-Modified-Since"));
    return ims >= 0 && f->st.st_mtim.tv_sec <= ims;
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

struct static_send {
    int fd;
    uint64_t off, left;
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

/* Read up to `want` bytes at s->off into r->out. Returns the bytes read, 0
 * when the file ended early (it shrank). */
static size_t static_read(gale_request *r, struct static_send *s, size_t want)
{
    struct evbuffer_iovec v;
    if (evbuffer_reserve_space(r->out, (ev_ssize_t)want, &v, 1) < 1)
        util_oom();
    size_t got = 0;
    while (got < want) {
        ssize_t n = pread(s->fd, (char *)v.iov_base + got, want - got, (off_t)(s->off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    v.iov_len = got;
    evbuffer_commit_space(r->out, &v, 1);
    s->off += got;
    s->left -= got;
    return got;
}

/* The next piece of a large file over TLS, once the last one has left. */
static void static_pump(gale_request *r, void *arg)
{
    struct static_send *s = arg;
    size_t want = s->left < STATIC_PIECE ? (size_t)s->left : STATIC_PIECE;
    if (static_read(r, s, want) < want) {
        pipeline_error(r, 500, "the file shrank while it was sent"); /* cuts the answer */
        return;
    }
    if (s->left == 0) {
        pipeline_finish(r);
        return;
    }
    pipeline_send_body(r);
    pipeline_flush(r);
    pipeline_when_drained(r, static_pump, s);
}

/* Send bytes [first, first + len) of f, and finish. Takes f->fd. */
static void static_body(gale_request *r, struct static_file *f, uint64_t first, uint64_t len)
{
    struct static_send *s = arena_alloc(r->arena, sizeof(*s));
    *s = (struct static_send){f->fd, first, len};
    f->fd = -1;
    arena_cleanup_add(r->arena, static_send_close, s);
    struct conn *c = pipeline_conn(r);
    if (r->is_head || len == 0) {
        r->length_known = 1;
        r->known_length = len;
    } else if (len <= STATIC_SMALL) {
        if (static_read(r, s, (size_t)len) < len) {
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
        struct evbuffer_file_segment *seg = evbuffer_file_segment_new(
            s->fd, (ev_off_t)first, (ev_off_t)len, EVBUF_FS_CLOSE_ON_FREE);
        if (!seg) {
            pipeline_error(r, 500, "cannot send the file");
            return;
        }
        s->fd = -1; /* the segment closes it when the last chain goes */
        evbuffer_set_flags(r->out, EVBUFFER_FLAG_DRAINS_TO_FD); /* sendfile, not mmap */
        r->file_body = 1;
        int rc = evbuffer_add_file_segment(r->out, seg, 0, (ev_off_t)len);
        evbuffer_file_segment_free(seg); /* the buffer holds its own reference */
        if (rc < 0) {
            pipeline_error(r, 500, "cannot send the file");
            return;
        }
    } else {
        r->length_known = 1;
        r->known_length = len;
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

/* Answer with the file f (open): conditional, range, headers, body. */
static void static_answer(gale_request *r, struct static_file *f)
{
    char lastmod[COOKIE_DATE_SIZE];
    cookie_format_date(lastmod, sizeof(lastmod), f->st.st_mtim.tv_sec);
    const char *etag = static_etag(r, f);
    uint64_t size = (uint64_t)f->st.st_size, first = 0, last = size ? size - 1 : 0;
    static_headers(r, f, etag, lastmod);
    if (static_not_modified(r, f, etag)) {
        r->status = 304;
        response_header_remove(r, "Content-Type");
        response_header_remove(r, "Content-Encoding");
        pipeline_finish(r);
        return;
    }
    enum range_result rr = RANGE_NONE;
    if (static_if_range(r, etag, lastmod))
        rr = range_parse(gale_request_header(r, "Range"), size, &first, &last);
    /* A range of the whole file is answered 200, as Tornado does: Chrome
     * would not play audio answered 206 to "bytes=0-". */
    if (rr == RANGE_OK && first == 0 && last + 1 == size)
        rr = RANGE_NONE;
    if (rr == RANGE_UNSATISFIABLE) {
        r->nrh = r->nrh_keep; /* the file's headers are not this answer's */
        response_header_add(r, "Content-Range",
                            gale_request_printf(r, "bytes */%llu", (unsigned long long)size));
        r->nrh_keep = r->nrh;
        pipeline_error(r, 416, "the range is not in the file");
        return;
    }
    if (rr == RANGE_OK) {
        r->status = 206;
        response_header_add(r, "Content-Range",
                            gale_request_printf(r, "bytes %llu-%llu/%llu",
                                                (unsigned long long)first, (unsigned long long)last,
                                                (unsigned long long)size));
    }
    static_body(r, f, first, size ? last - first + 1 : 0);
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
