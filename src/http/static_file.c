/*
 * static_file.c - opening static files beneath their folder (see
 * static_file.h).
 *
 * The check is made on what is opened, not on a path looked at before
 * (which a rename could change in between): openat2 with RESOLVE_BENEATH
 * refuses any step, symbolic links included, that leaves the folder's
 * descriptor; where the kernel lacks it (before Linux 5.6), the opened
 * file's real path (/proc/self/fd) must lie in the folder's.
 */
#include "http/static_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#include "core/config.h"
#include "core/loop.h"
#include "core/util.h"
#include "http/static_settings.h"

/* The folders' descriptors (O_PATH) for the worker's config, by index. */
static const struct config *static_file_cfg;
static int *static_file_fds;

static int static_file_root(const struct loop *loop, const struct static_root *root)
{
    const struct static_settings *ss = static_settings(loop->cfg);
    if (static_file_cfg != loop->cfg) { /* a worker serves one config: once */
        free(static_file_fds);
        static_file_fds = xcalloc(ss->nroots ? ss->nroots : 1, sizeof(int));
        for (size_t i = 0; i < ss->nroots; i++)
            static_file_fds[i] = -1;
        static_file_cfg = loop->cfg;
    }
    size_t i = (size_t)(root - ss->roots);
    if (static_file_fds[i] < 0) /* again later when the folder was missing */
        static_file_fds[i] = open(root->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return static_file_fds[i];
}

/* Whether the file open at fd lies in the folder open at dirfd, by their
 * real paths; the folder itself does (its index is opened through it). */
static int static_file_inside(int dirfd, int fd)
{
    char link[64], dir[PATH_MAX], file[PATH_MAX];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
    ssize_t dn = readlink(link, dir, sizeof(dir) - 1);
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t fn = readlink(link, file, sizeof(file) - 1);
    if (dn <= 0 || fn <= 0)
        return 0;
    if (dn == 1) /* the folder is "/" */
        return 1;
    if (fn == dn)
        return !memcmp(dir, file, (size_t)dn);
    return fn > dn && !memcmp(dir, file, (size_t)dn) && file[dn] == '/';
}

/* Set once openat2 proved missing (or by tests, to check the fallback). */
static int static_file_no_openat2;

void static_file_set_openat2(int on)
{
    static_file_no_openat2 = !on;
}

/* Open rel beneath dirfd (O_NONBLOCK: a FIFO put in the folder must not
 * block the worker), or -1. */
static int static_file_beneath(int dirfd, const char *rel)
{
    int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    if (!*rel)
        rel = ".";
#ifdef SYS_openat2
    if (!static_file_no_openat2) {
        struct open_how how = {.flags = (unsigned)flags,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
        int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
            return fd;
        static_file_no_openat2 = 1; /* an old kernel, or a seccomp filter that refuses it */
    }
#endif
    int fd = openat(dirfd, rel, flags);
    if (fd >= 0 && !static_file_inside(dirfd, fd)) {
        close(fd);
        return -1;
    }
    return fd;
}

int static_file_accepts(const char *header, const char *coding)
{
    size_t clen = strlen(coding);
    int star = 0;
    for (const char *p = header; p && *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t;,");
        const char *q = strpbrk(p + n, ",;");
        double weight = 1;
        if (q && *q == ';') {
            const char *qv = q + 1 + strspn(q + 1, " \t");
            if ((qv[0] == 'q' || qv[0] == 'Q') && qv[1] == '=')
                weight = strtod(qv + 2, NULL);
        }
        if (n == clen && !strncasecmp(p, coding, n))
            return weight > 0;
        if (n == 1 && *p == '*')
            star = weight > 0;
        p = strchr(p + n, ',');
    }
    return star;
}

/* Replace f's file by its precompressed sibling the client takes, if any. */
static void static_file_sibling(int dirfd, const char *accept, struct static_file *f)
{
    static const struct {
        const char *coding, *suffix;
    } codings[] = {{"br", ".br"}, {"gzip", ".gz"}}; /* br first: smaller */
    char path[PATH_MAX];
    struct stat st;
    for (size_t i = 0; i < ARRAY_SIZE(codings); i++) {
        if (!static_file_accepts(accept, codings[i].coding))
            continue;
        if (snprintf(path, sizeof(path), "%s%s", f->name, codings[i].suffix) >= (int)sizeof(path))
            return;
        int fd = static_file_beneath(dirfd, path);
        if (fd < 0)
            continue;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            close(f->fd);
            f->fd = fd;
            f->st = st;
            f->encoding = codings[i].coding;
            return;
        }
        close(fd);
    }
}

int static_file_open(struct loop *loop, const struct static_root *root, const char *rel, int slash,
                     const char *accept, struct static_file *f)
{
    int dirfd = static_file_root(loop, root);
    f->encoding = NULL;
    f->fd = dirfd < 0 ? -1 : static_file_beneath(dirfd, rel);
    if (f->fd < 0 || fstat(f->fd, &f->st) < 0)
        goto none;
    snprintf(f->name, sizeof(f->name), "%s", rel);
    if (S_ISDIR(f->st.st_mode)) {
        close(f->fd);
        f->fd = -1;
        if (!slash && *rel)
            return STATIC_FILE_FOLDER;
        if (snprintf(f->name, sizeof(f->name), "%s%s%s", rel, *rel ? "/" : "", root->index) >=
            (int)sizeof(f->name))
            goto none;
        f->fd = static_file_beneath(dirfd, f->name);
        if (f->fd < 0 || fstat(f->fd, &f->st) < 0)
            goto none;
    } else if (slash) {
        goto none; /* "file.txt/" names no file */
    }
    if (!S_ISREG(f->st.st_mode))
        goto none;
    if (accept)
        static_file_sibling(dirfd, accept, f);
    return 0;
none:
    static_file_close(f);
    return -1;
}

void static_file_close(struct static_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}
