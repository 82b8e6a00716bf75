/*
 * upload.c - multipart/form-data bodies collected while they arrive.
 *
 * Part data is never held whole by the parser (form.c); here fields are
 * appended to arena memory and files to memory until mem_limit, then to a
 * temporary file: a large upload costs a file, not a worker's memory. The
 * writes are plain write(2) to a local file, as nginx writes request bodies
 * to its temporary files: the page cache absorbs them.
 */
#include "http/upload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/util.h"
#include "http/form.h"
#include "http/request.h"

struct upload_field {
    char *name;
    char *value;
    size_t len, cap;
};

struct upload_file {
    gale_file pub;
    char *mem;
    size_t cap;
    int fd;
};

struct upload {
    gale_request *r;
    struct form_multipart mp;
    size_t mem_limit;
    const char *dir;
    const char *error;
    struct upload_field *fields;
    size_t nfields, capfields;
    struct upload_file **files;
    size_t nfiles, capfiles;
    struct upload_field *cur_field; /* the part being read: a field, */
    struct upload_file *cur_file;   /* or a file */
};

static void upload_file_free(void *arg)
{
    struct upload_file *f = arg;
    if (f->fd >= 0)
        close(f->fd);
    if (f->pub.path)
        unlink(f->pub.path);
    free(f->mem);
}

static char *upload_dup(struct upload *u, const char *s, size_t len)
{
    return arena_strndup(u->r->arena, s ? s : "", s ? len : 0);
}

static int upload_begin_file(struct upload *u, const struct form_part *p)
{
    if (u->nfiles == u->capfiles) {
        size_t cap = u->capfiles ? u->capfiles * 2 : 4;
        u->files = arena_realloc(u->r->arena, u->files, u->capfiles * sizeof(*u->files),
                                 cap * sizeof(*u->files));
        u->capfiles = cap;
    }
    struct upload_file *f = arena_calloc(u->r->arena, sizeof(*f));
    f->fd = -1;
    f->pub.name = upload_dup(u, p->name, p->name_len);
    f->pub.filename = upload_dup(u, p->filename, p->filename_len);
    f->pub.content_type = upload_dup(u, p->content_type, p->content_type_len);
    f->pub.data = "";
    arena_cleanup_add(u->r->arena, upload_file_free, f);
    u->files[u->nfiles++] = f;
    u->cur_file = f;
    return 0;
}

static int upload_begin_field(struct upload *u, const struct form_part *p)
{
    if (u->nfields == u->capfields) {
        size_t cap = u->capfields ? u->capfields * 2 : 8;
        u->fields = arena_realloc(u->r->arena, u->fields, u->capfields * sizeof(*u->fields),
                                  cap * sizeof(*u->fields));
        u->capfields = cap;
    }
    struct upload_field *f = &u->fields[u->nfields++];
    memset(f, 0, sizeof(*f));
    f->name = upload_dup(u, p->name, p->name_len);
    f->value = arena_alloc(u->r->arena, 1);
    f->value[0] = '\0';
    u->cur_field = f;
    return 0;
}

static int upload_on_begin(void *arg, const struct form_part *p)
{
    struct upload *u = arg;
    u->cur_field = NULL;
    u->cur_file = NULL;
    return p->filename ? upload_begin_file(u, p) : upload_begin_field(u, p);
}

/* Move a file that outgrew memory into a temporary file. */
static int upload_spill(struct upload *u, struct upload_file *f)
{
    char *path = gale_request_printf(u->r, "%s/gale-upload-XXXXXX", u->dir);
    f->fd = mkstemp(path);
    if (f->fd < 0) {
        u->error = "cannot store the upload";
        return -1;
    }
    f->pub.path = path;
    if (f->pub.size && write(f->fd, f->mem, f->pub.size) != (ssize_t)f->pub.size) {
        u->error = "cannot store the upload";
        return -1;
    }
    free(f->mem);
    f->mem = NULL;
    f->pub.data = NULL;
    return 0;
}

static int upload_file_data(struct upload *u, struct upload_file *f, const char *d, size_t n)
{
    if (f->fd < 0 && f->pub.size + n > u->mem_limit && upload_spill(u, f) < 0)
        return -1;
    if (f->fd >= 0) {
        for (size_t off = 0; off < n;) {
            ssize_t w = write(f->fd, d + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                u->error = "cannot store the upload";
                return -1;
            }
            off += (size_t)w;
        }
    } else {
        if (f->pub.size + n + 1 > f->cap) {
            f->cap = (f->pub.size + n + 1) * 2;
            f->mem = xrealloc(f->mem, f->cap);
        }
        memcpy(f->mem + f->pub.size, d, n);
        f->mem[f->pub.size + n] = '\0';
        f->pub.data = f->mem;
    }
    f->pub.size += n;
    return 0;
}

static int upload_on_data(void *arg, const char *d, size_t n)
{
    struct upload *u = arg;
    if (u->cur_file)
        return upload_file_data(u, u->cur_file, d, n);
    struct upload_field *f = u->cur_field;
    if (f->len + n + 1 > f->cap) {
        size_t cap = (f->len + n + 1) * 2;
        f->value = arena_realloc(u->r->arena, f->value, f->len + 1, cap);
        f->cap = cap;
    }
    memcpy(f->value + f->len, d, n);
    f->len += n;
    f->value[f->len] = '\0';
    return 0;
}

static int upload_on_end(void *arg)
{
    struct upload *u = arg;
    u->cur_field = NULL;
    u->cur_file = NULL;
    return 0;
}

static const struct form_multipart_cb upload_cb = {
    .on_part_begin = upload_on_begin,
    .on_part_data = upload_on_data,
    .on_part_end = upload_on_end,
};

struct upload *upload_new(gale_request *r, const char *ctype, size_t mem_limit, const char *dir)
{
    struct form_ctype ct;
    if (!ctype || form_ctype_parse(ctype, strlen(ctype), &ct) < 0 ||
        !form_ctype_is(&ct, "multipart/form-data"))
        return NULL;
    struct upload *u = arena_calloc(r->arena, sizeof(*u));
    u->r = r;
    u->mem_limit = mem_limit;
    u->dir = dir;
    if (form_multipart_init(&u->mp, ct.boundary, ct.boundary_len, NULL) < 0) {
        u->error = "bad multipart boundary";
        return u; /* reported at the first feed */
    }
    return u;
}

int upload_feed(struct upload *u, const char *data, size_t len)
{
    if (u->error)
        return -1;
    if (form_multipart_feed(&u->mp, data, len, &upload_cb, u) < 0) {
        if (!u->error)
            u->error = u->mp.reason ? u->mp.reason : "malformed multipart body";
        return -1;
    }
    return 0;
}

int upload_finish(struct upload *u)
{
    if (u->error)
        return -1;
    if (form_multipart_end(&u->mp) < 0) {
        u->error = u->mp.reason ? u->mp.reason : "multipart body cut short";
        return -1;
    }
    return 0;
}

const char *upload_error(const struct upload *u)
{
    return u->error;
}

size_t upload_nfields(const struct upload *u)
{
    return u->nfields;
}

void upload_field(const struct upload *u, size_t i, const char **name, const char **value)
{
    *name = u->fields[i].name;
    *value = u->fields[i].value;
}

size_t upload_nfiles(const struct upload *u)
{
    return u->nfiles;
}

const gale_file *upload_file(const struct upload *u, size_t i)
{
    return &u->files[i]->pub;
}
