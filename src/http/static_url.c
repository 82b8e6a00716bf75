/*
 * static_url.c - URLs of static files that change with their content
 * (see static.h): "/static/css/site.css?v=HASH", the SHA-512 of the file in hex as
 * Tornado 6's static_url (the same URL as a Tornado site's), so that the answer to it may be cached
 * for a year.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/arena.h"
#include "core/config.h"
#include "core/loop.h"
#include "core/util.h"
#include "http/request.h"
#include "http/static.h"
#include "http/static_file.h"
#include "http/static_settings.h"

/* The hashes a worker computed, by folder and path, with the mtime and size
 * they were computed at: a file that changes gets a new one. The table
 * grows with the files linked to, which a site bounds. */
struct static_url_entry {
    struct static_url_entry *next;
    const struct static_root *root;
    struct timespec mtime;
    off_t size;
    char hash[2 * 64 + 1];
    char path[];
};

#define STATIC_URL_BUCKETS 256
static struct static_url_entry *static_url_table[STATIC_URL_BUCKETS];

static size_t static_url_bucket(const struct static_root *root, const char *path)
{
    size_t h = (size_t)(uintptr_t)root;
    for (const char *p = path; *p; p++)
        h = h * 31 + (unsigned char)*p;
    return h % STATIC_URL_BUCKETS;
}

/* The SHA-512 of the file open at fd, in hex into out (129 bytes); -1 when it
 * cannot be read. Blocks the loop once per file and worker, as Tornado's. */
static int static_url_hash(int fd, char *out)
{
    static EVP_MD *sha512;
    unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    ssize_t n;
    off_t off = 0;
    if (!sha512 && !(sha512 = EVP_MD_fetch(NULL, "SHA512", NULL)))
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex2(ctx, sha512, NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return -1;
    }
    while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
        EVP_DigestUpdate(ctx, buf, (size_t)n);
        off += n;
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    if (n < 0 || mdlen != 64)
        return -1;
    util_hex(out, md, mdlen);
    out[2 * mdlen] = '\0';
    return 0;
}

/* The cached hash of root's file `path`, made again when it changed; NULL
 * when there is no such file. */
static const char *static_url_version(struct loop *loop, const struct static_root *root,
                                      const char *path)
{
    struct static_file f;
    if (static_file_open(loop, root, path, 0, NULL, &f) != 0)
        return NULL;
    struct static_url_entry **head = &static_url_table[static_url_bucket(root, path)], *e;
    for (e = *head; e; e = e->next)
        if (e->root == root && !strcmp(e->path, path))
            break;
    if (!e) {
        e = xcalloc(1, sizeof(*e) + strlen(path) + 1);
        e->root = root;
        strcpy(e->path, path);
        e->next = *head;
        *head = e;
    }
    if (!e->hash[0] || e->size != f.st.st_size || e->mtime.tv_sec != f.st.st_mtim.tv_sec ||
        e->mtime.tv_nsec != f.st.st_mtim.tv_nsec) {
        e->hash[0] = '\0';
        if (static_url_hash(f.fd, e->hash) == 0) {
            e->mtime = f.st.st_mtim;
            e->size = f.st.st_size;
        }
    }
    static_file_close(&f);
    return e->hash[0] ? e->hash : NULL;
}

const char *static_url_in(gale_request *r, const char *name, const char *path)
{
    const struct static_settings *ss = static_settings(r->loop->cfg);
    const struct static_root *root = ss->nroots && !name ? &ss->roots[0] : NULL;
    for (size_t i = 0; name && i < ss->nroots; i++)
        if (ss->roots[i].name && !strcmp(ss->roots[i].name, name))
            root = &ss->roots[i];
    if (!root || !path)
        return NULL;
    while (*path == '/')
        path++;
    size_t cap = 3 * strlen(path) + 1;
    char *enc = arena_alloc(r->arena, cap);
    util_url_encode(enc, cap, path, "/");
    const char *v = static_url_version(r->loop, root, path);
    return gale_request_printf(r, "%s%s%s%s", root->prefix, enc, v ? "?v=" : "", v ? v : "");
}

const char *static_url(gale_request *r, const char *path)
{
    return static_url_in(r, NULL, path);
}

const char *gale_static_url(gale_request *r, const char *path)
{
    return static_url_in(r, NULL, path);
}
