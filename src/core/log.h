/*
 * log.h - the error log (levels, to stderr or a file) and the access log.
 */
#ifndef GALE_LOG_H
#define GALE_LOG_H

#include <stddef.h>

enum log_level { LOG_ERR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Open the logs: path "stderr", "off" (access log only) or a file (appended).
 * Returns 0 or -1 (errno set). Called by the master; workers inherit. */
int log_open(const char *error_path, int level, const char *access_path);
int log_reopen(void); /* SIGUSR1: reopen the files at the same paths */
/* The descriptors of the logs that are files (-1 for stderr and off): what
 * the master hands its workers after log_reopen. Workers run as another user
 * and, under systemd's unit, nobody may chown: they cannot reopen root's
 * files by name themselves. */
void log_file_fds(int *error_fd, int *access_fd);
/* In a worker: write to these descriptors (from log_file_fds in the master,
 * -1: keep that log) from now on; takes them. */
void log_adopt(int error_fd, int access_fd);
void log_set_prefix(const char *who); /* "master" or "worker 3" */

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
int log_enabled(int level);

struct access_entry;
struct access_format;

/* The access log's buffer (0: a write per line) and line format (borrowed:
 * it must live as long as the logs are used; NULL: the default format).
 * Flushes what the old buffer held. */
void log_access_setup(size_t buffer, const struct access_format *format);
/* Whether requests are logged (the access log is not off): the caller may
 * then skip gathering an entry. */
int log_access_on(void);
/* One access log line; buffered, see log_access_setup. */
void log_access(const struct access_entry *e);
/* Write the buffered access lines (whole lines only). */
void log_flush(void);

#endif
