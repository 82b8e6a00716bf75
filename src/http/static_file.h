/*
 * static_file.h - opening a file of a static folder so that it cannot be
 * anything outside the folder, whatever its path's symbolic links say: the
 * folder's default file for a folder, the precompressed sibling the client
 * takes. The folders' descriptors are opened once per worker.
 */
#ifndef GALE_STATIC_FILE_H
#define GALE_STATIC_FILE_H

#include <limits.h>
#include <sys/stat.h>

struct loop;
struct static_root;

struct static_file {
    int fd; /* owned: static_file_close */
    struct stat st;
    char name[PATH_MAX];  /* the file asked for, relative ("css/a.css"): its type */
    const char *encoding; /* "br" or "gzip" when a sibling is served, else NULL */
};

#define STATIC_FILE_FOLDER 1

/* Open the regular file `rel` (cleaned by static_path_clean) of `root`: a
 * folder's default file when rel is a folder and `slash` (the URL ended with
 * '/'), else STATIC_FILE_FOLDER (redirect to the URL with '/'). A file asked
 * for with `slash` is no file. `accept`: the client's Accept-Encoding to
 * choose a sibling by (br first, then gzip), or NULL for none. Returns 0 with
 * f filled, STATIC_FILE_FOLDER, or -1 (nothing there: 404). */
int static_file_open(struct loop *loop, const struct static_root *root, const char *rel, int slash,
                     const char *accept, struct static_file *f);

void static_file_close(struct static_file *f);

/* 0: open as on kernels without openat2 (openat, then the opened file's
 * real path checked against the folder's); 1 (default): openat2 where the
 * kernel has it. For tests of the fallback. */
void static_file_set_openat2(int on);

/* Whether Accept-Encoding `header` takes `coding` (q > 0), by name or by "*"
 * when the name is not listed (RFC 9110 12.5.3). */
int static_file_accepts(const char *header, const char *coding);

#endif
