/*
 * metrics_server.h - the master answers Prometheus' scrapes on the address
 * of the `metrics` group, apart from the public listeners: GET PATH gets
 * the exposition, anything else a short error. The master, not a worker,
 * answers: it alone sees every worker's counters without asking them.
 */
#ifndef GALE_METRICS_SERVER_H
#define GALE_METRICS_SERVER_H

struct config;
struct event_base;
struct evbuffer;
struct listen_set;

/* Writes the exposition into out (the master's metrics_render). */
typedef void (*metrics_server_render_fn)(struct evbuffer *out);

/* Make cfg's metrics socket ready: bound now, or taken over from `inherited`
 * (a binary upgrade, may be NULL), or kept when the running one has the same
 * address and port. Returns 0 (nothing to do when metrics are off), or -1
 * with a "FILE:LINE: ..." message in *err (caller frees); the running one
 * is left as it was. */
int metrics_server_prepare(const struct config *cfg, struct listen_set *inherited, char **err);
/* Serve what the last prepare made ready (or stop, when metrics are off). */
void metrics_server_commit(struct event_base *base, const struct config *cfg,
                           metrics_server_render_fn render);
/* Drop what prepare made ready (a reload that failed after it). */
void metrics_server_abort(void);
/* The listening descriptor, -1 when none (a binary upgrade hands it on). */
int metrics_server_fd(void);
/* In a forked worker: close the master's metrics descriptors, without
 * touching the master's event loop. */
void metrics_server_child(void);
/* The master stops: free everything. */
void metrics_server_close(void);

#endif
