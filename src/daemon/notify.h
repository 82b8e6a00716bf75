/*
 * notify.h - systemd's service notification (Type=notify). Every call is a
 * no-op when NOTIFY_SOCKET is not set.
 */
#ifndef GALE_NOTIFY_H
#define GALE_NOTIFY_H

void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
