/*
 * template.c - the templates of a folder, compiled once and kept by name;
 * with debug, compiled again when their file changes. Also the check that
 * `gale -t` runs over every template of a folder.
 *
 * Names are relative to the folder and may not leave it: a template can
 * only ever read templates.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "page/template_impl.h"

#define TEMPLATE_MAX_FILE (16 * 1024 * 1024)

struct template_entry {
    char *name;
    struct template *t;
    int from_file;
    struct timespec mtime;
    off_t size;
    struct template_entry *next;
};

struct template_cache {
    char *root;
    int debug;
    struct template_entry *entries;
    /* With debug, templates replaced by a newer file: kept until the cache
     * is freed, since a render under way may still hold them. */
    struct template_entry *retired_list;
};

struct template_cache *template_cache_new(const char *root, int debug)
{
    struct template_cache *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->root = strdup(root ? root : ".")) == NULL)
        abort();
    c->debug = debug;
    return c;
}

static void template_entries_free(struct template_entry *e)
{
    while (e != NULL) {
        struct template_entry *next = e->next;
        template_free(e->t);
        free(e->name);
        free(e);
        e = next;
    }
}

void template_cache_free(struct template_cache *c)
{
    if (c == NULL)
        return;
    template_entries_free(c->entries);
    template_entries_free(c->retired_list);
    free(c->root);
    free(c);
}

const char *template_cache_root(const struct template_cache *c)
{
    return c->root;
}

int template_cache_resolve(const char *from, const char *name, char *out, size_t outsz)
{
    char path[1024];
    const char *slash = from ? strrchr(from, '/') : NULL;
    int n;
    if (*name == '/' || slash == NULL)
        n = snprintf(path, sizeof(path), "%s", name + (*name == '/'));
    else
        n = snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - from), from, name);
    if (n < 0 || (size_t)n >= sizeof(path) || outsz == 0)
        return -1;
    /* normalize ".", ".." and empty parts; ".." may not leave the folder */
    size_t len = 0;
    char *save = NULL;
    out[0] = '\0';
    for (char *part = strtok_r(path, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (strcmp(part, ".") == 0)
            continue;
        if (strcmp(part, "..") == 0) {
            if (len == 0)
                return -1;
            char *up = strrchr(out, '/');
            len = up ? (size_t)(up - out) : 0;
            out[len] = '\0';
            continue;
        }
        size_t plen = strlen(part);
        if (len + plen + 2 > outsz)
            return -1;
        if (len > 0)
            out[len++] = '/';
        memcpy(out + len, part, plen + 1);
        len += plen;
    }
    return len > 0 ? 0 : -1;
}

/* The whole file, NUL-terminated; NULL with errno set. */
static char *template_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    struct template_buf b = {0};
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < TEMPLATE_MAX_FILE)
        template_buf_add(&b, chunk, n);
    int bad = ferror(f) || b.len >= TEMPLATE_MAX_FILE;
    fclose(f);
    if (bad) {
        template_buf_free(&b);
        errno = EFBIG;
        return NULL;
    }
    *len = b.len;
    if (b.s == NULL)
        template_buf_add(&b, "", 0);
    return b.s;
}

static struct template *template_load(const char *path, const char *name, struct template_err *err)
{
    size_t len;
    char *text = template_read(path, &len);
    if (text == NULL) {
        template_err_set(err, name, 0, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    struct template *t = template_compile(name, text, len, NULL, err);
    free(text);
    return t;
}

static struct template_entry *template_cache_find(struct template_cache *c, const char *name)
{
    for (struct template_entry *e = c->entries; e; e = e->next)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

static struct template_entry *template_cache_add(struct template_cache *c, const char *name,
                                                 struct template *t)
{
    struct template_entry *e = calloc(1, sizeof(*e));
    if (e == NULL || (e->name = strdup(name)) == NULL)
        abort();
    e->t = t;
    e->next = c->entries;
    c->entries = e;
    return e;
}

int template_cache_put(struct template_cache *c, const char *name, const char *text,
                       struct template_err *err)
{
    struct template *t = template_compile(name, text, strlen(text), NULL, err);
    if (t == NULL)
        return -1;
    struct template_entry *e = template_cache_find(c, name);
    if (e != NULL) {
        template_free(e->t);
        e->t = t;
        e->from_file = 0;
    } else {
        template_cache_add(c, name, t);
    }
    return 0;
}

/* With debug, an entry whose file changed is compiled again; the old
 * template is retired, not freed. */
static int template_cache_refresh(struct template_cache *c, struct template_entry *e,
                                  const char *path, const struct stat *st, struct template_err *err)
{
    struct template *t = template_load(path, e->name, err);
    if (t == NULL)
        return -1;
    struct template_entry *old = calloc(1, sizeof(*old));
    if (old == NULL)
        abort();
    old->t = e->t;
    old->next = c->retired_list;
    c->retired_list = old;
    e->t = t;
    e->mtime = st->st_mtim;
    e->size = st->st_size;
    return 0;
}

const struct template *template_cache_get(struct template_cache *c, const char *name,
                                          struct template_err *err)
{
    char rel[512], path[1600];
    struct stat st;
    if (template_cache_resolve(NULL, name, rel, sizeof(rel)) < 0 || name[0] == '/') {
        template_err_set(err, name, 0, "expected a template name inside the template folder");
        return NULL;
    }
    struct template_entry *e = template_cache_find(c, rel);
    if (e != NULL && (!c->debug || !e->from_file))
        return e->t;
    snprintf(path, sizeof(path), "%.1000s/%s", c->root, rel);
    if (stat(path, &st) < 0) {
        template_err_set(err, rel, 0, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if (e != NULL) {
        if ((st.st_mtim.tv_sec != e->mtime.tv_sec || st.st_mtim.tv_nsec != e->mtime.tv_nsec ||
             st.st_size != e->size) &&
            template_cache_refresh(c, e, path, &st, err) < 0)
            return NULL;
        return e->t;
    }
    struct template *t = template_load(path, rel, err);
    if (t == NULL)
        return NULL;
    e = template_cache_add(c, rel, t);
    e->from_file = 1;
    e->mtime = st.st_mtim;
    e->size = st.st_size;
    return t;
}

static int template_check_dir(const char *root, const char *sub,
                              void (*report)(void *arg, const char *msg), void *arg)
{
    char dir[1024], path[2200], name[1024];
    int failed = 0;
    snprintf(dir, sizeof(dir), "%.500s%s%.500s", root, *sub ? "/" : "", sub);
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(path, sizeof(path), "%s: cannot read the template folder: %s", dir,
                 strerror(errno));
        report(arg, path);
        return 1;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat st;
        if (de->d_name[0] == '.')
            continue;
        snprintf(name, sizeof(name), "%.500s%s%.256s", sub, *sub ? "/" : "", de->d_name);
        snprintf(path, sizeof(path), "%.1000s/%s", root, name);
        if (stat(path, &st) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            failed += template_check_dir(root, name, report, arg);
            continue;
        }
        struct template_err err = {.msg = ""};
        struct template *t = template_load(path, name, &err);
        if (t == NULL) {
            /* the message names the template relative to its folder: name
             * the file as the user can open it */
            snprintf(path, sizeof(path), "%.1000s/%s", root, err.msg);
            report(arg, path);
            failed++;
        }
        template_free(t);
    }
    closedir(d);
    return failed;
}

int template_cache_check(const char *root, void (*report)(void *arg, const char *msg), void *arg)
{
    return template_check_dir(root, "", report, arg);
}
