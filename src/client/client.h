/*
 * client.h - a worker's HTTP client: one libcurl multi handle driven by the
 * worker's libevent loop (libcurl's socket and timer callbacks turned into
 * events), so that every transfer of the worker shares one connection
 * cache, plus the queue of transfers above the cap.
 *
 * Made at the first fetch of a worker and kept in its loop context
 * (loop->client); the worker frees it when it stops, before the event base.
 */
#ifndef GALE_CLIENT_H
#define GALE_CLIENT_H

struct client;
struct gale_fetch;
struct loop;

/* The loop's client, made on first use; NULL when libcurl cannot start. */
struct client *client_get(struct loop *loop);
/* Stop every transfer (no done callback runs) and free the loop's client. */
void client_free(struct loop *loop);

/* Run f now, or queue it when the cap is reached. 0, or -1 (f untouched). */
int client_add(struct client *c, struct gale_fetch *f);
/* Take f out of the client (running or queued) without a callback; the
 * caller frees it. Inside libcurl's callbacks the removal is deferred: f is
 * marked and reaped, then freed, once libcurl returns. Returns 1 when f was
 * freed by then or will be, 0 when the caller must free it now. */
int client_cancel(struct client *c, struct gale_fetch *f);

/* Stop f (running or queued) and end it with its done callback: at once,
 * or once libcurl returns when inside it. */
void client_end(struct client *c, struct gale_fetch *f);

/* Unpause f's transfer: libcurl may call f's callbacks at once, so this
 * counts as being inside libcurl and settles afterwards. 0 or -1. */
int client_resume(struct client *c, struct gale_fetch *f);

#endif
