/*
 * log.c - the error log and the access log.
 *
 * Both are plain file descriptors opened by the master and inherited by the
 * workers. Error lines are written at once (one write(2) each, O_APPEND, so
 * lines from several processes never interleave). Access lines are buffered
 * (access_log_buffer) and written when the buffer would overflow, every
 * access_log_flush seconds (log_flush from the worker's timer), on reopen and
 * at exit: a write per request would cost more than the request. The buffer
 * only ever holds whole lines, so each write(2) does too and lines of several
 * workers appending to one file never mix.
 */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/access_format.h"
#include "core/util.h"
#include "gale/gale.h"

#define LOG_ACCESS_LINE 4096 /* the longest access line; longer ones are cut */

static struct {
    int error_fd;
    int access_fd; /* -1 when off */
    int level;
    char *error_path; /* NULL for stderr */
    char *access_path;
    char who[32];
    int journal; /* stderr is the journal: lines carry <N> priority prefixes */
    const struct access_format *format; /* borrowed from the config; NULL: the default */
    char *abuf;                         /* access lines not written yet */
    size_t alen, acap;
} log_state = {.error_fd = 2, .access_fd = -1, .level = LOG_INFO, .who = "gale"};

static const char *const log_level_names[] = {"error", "warn", "info", "debug"};
/* sd-daemon(3) priorities of the levels: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
static const char log_level_priorities[] = {'3', '4', '6', '7'};

/* systemd connects stderr to the journal and names that stream in
 * JOURNAL_STREAM ("device:inode"); stderr redirected elsewhere no longer
 * matches, so a shell's `gale 2>file` under a journal gets plain lines. */
static int log_stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) < 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static int log_open_path(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    return fd;
}

static int log_open_one(const char *path, int *fd, char **saved)
{
    free(*saved);
    *saved = NULL;
    if (!strcmp(path, "stderr")) {
        *fd = 2;
        return 0;
    }
    if (!strcmp(path, "off")) {
        *fd = -1;
        return 0;
    }
    int nfd = log_open_path(path);
    if (nfd < 0)
        return -1;
    *fd = nfd;
    *saved = xstrdup(path);
    return 0;
}

int log_open(const char *error_path, int level, const char *access_path)
{
    int efd = 2, afd = -1;
    char *epath = NULL, *apath = NULL;
    if (log_open_one(error_path, &efd, &epath) < 0)
        return -1;
    if (log_open_one(access_path, &afd, &apath) < 0) {
        int e = errno;
        if (efd > 2)
            close(efd);
        free(epath);
        errno = e;
        return -1;
    }
    log_flush();
    if (log_state.error_fd > 2)
        close(log_state.error_fd);
    if (log_state.access_fd > 2)
        close(log_state.access_fd);
    free(log_state.error_path);
    free(log_state.access_path);
    log_state.error_fd = efd;
    log_state.access_fd = afd;
    log_state.error_path = epath;
    log_state.access_path = apath;
    log_state.level = level;
    log_state.journal = log_stderr_is_journal();
    return 0;
}

static int log_reopen_one(int *fd, const char *path)
{
    if (!path)
        return 0;
    int nfd = log_open_path(path);
    if (nfd < 0)
        return -1;
    dup2(nfd, *fd); /* keeps the descriptor number: other code may hold it */
    close(nfd);
    return 0;
}

int log_reopen(void)
{
    log_flush();
    int r = log_reopen_one(&log_state.error_fd, log_state.error_path);
    if (log_reopen_one(&log_state.access_fd, log_state.access_path) < 0)
        r = -1;
    return r;
}

void log_file_fds(int *error_fd, int *access_fd)
{
    *error_fd = log_state.error_path ? log_state.error_fd : -1;
    *access_fd = log_state.access_path ? log_state.access_fd : -1;
}

/* Onto the numbers held, as log_reopen does: a worker's lines go to the new
 * file from the next write on, its buffered access lines included. */
static void log_adopt_one(int held, int fd)
{
    if (fd < 0)
        return;
    if (held >= 0 && held != fd)
        dup2(fd, held);
    close(fd);
}

void log_adopt(int error_fd, int access_fd)
{
    log_flush(); /* what was logged before the rotation stays in the old file */
    log_adopt_one(log_state.error_path ? log_state.error_fd : -1, error_fd);
    log_adopt_one(log_state.access_path ? log_state.access_fd : -1, access_fd);
}

void log_set_prefix(const char *who)
{
    snprintf(log_state.who, sizeof(log_state.who), "%s", who);
}

int log_enabled(int level)
{
    return level <= log_state.level;
}

static size_t log_timestamp(char *buf, size_t cap)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, cap - n, ".%03ld", (long)(tv.tv_usec / 1000));
    return n;
}

static void log_vmsg(int level, const char *fmt, va_list ap)
{
    if (level > log_state.level || log_state.error_fd < 0)
        return;
    char line[2048];
    int e = errno;
    int l = level < 0 ? 0 : level > 3 ? 3 : level;
    size_t n = 0;
    if (log_state.journal && log_state.error_fd == 2) {
        /* the journal reads the priority and stamps the time itself */
        line[n++] = '<';
        line[n++] = log_level_priorities[l];
        line[n++] = '>';
    } else {
        n = log_timestamp(line, sizeof(line));
        line[n++] = ' ';
    }
    n += (size_t)snprintf(line + n, sizeof(line) - n, "[%s] %s[%d]: ", log_level_names[l],
                          log_state.who, (int)getpid());
    int m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    n += (size_t)m;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(log_state.error_fd, line, n);
    (void)w;
    errno = e;
}

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

/* The module API's logger; the same error log. */
void gale_log(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

void log_flush(void)
{
    size_t off = 0;
    while (off < log_state.alen && log_state.access_fd >= 0) {
        ssize_t w = write(log_state.access_fd, log_state.abuf + off, log_state.alen - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break; /* a log that cannot be written must not stop serving */
        off += (size_t)w;
    }
    log_state.alen = 0;
}

void log_access_setup(size_t buffer, const struct access_format *format)
{
    log_flush();
    free(log_state.abuf);
    log_state.abuf = buffer ? xmalloc(buffer) : NULL;
    log_state.acap = buffer;
    log_state.format = format;
}

static void log_access_write(const char *line, size_t n)
{
    ssize_t w = write(log_state.access_fd, line, n);
    (void)w; /* a log that cannot be written must not stop serving */
}

int log_access_on(void)
{
    return log_state.access_fd >= 0;
}

void log_access(const struct access_entry *e)
{
    static struct access_format *fallback;
    if (log_state.access_fd < 0)
        return;
    if (!log_state.format && !fallback) {
        char err[64];
        fallback = access_format_compile("default", err, sizeof(err));
    }
    char line[LOG_ACCESS_LINE];
    /* one write, prefix included: the journal's <N> must not be split from
     * its line by another worker's write to the same stream */
    size_t off = log_state.access_fd == 2 && log_state.journal ? 3 : 0;
    memcpy(line, "<6>", off);
    size_t n = off + access_format_line(log_state.format ? log_state.format : fallback, e,
                                        line + off, sizeof(line) - off);
    /* stderr: a terminal or journal reader wants lines as they happen */
    if (log_state.access_fd == 2 || n > log_state.acap) {
        log_flush();
        log_access_write(line, n);
        return;
    }
    if (log_state.alen + n > log_state.acap)
        log_flush();
    memcpy(log_state.abuf + log_state.alen, line, n);
    log_state.alen += n;
}
