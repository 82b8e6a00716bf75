/*
 * session.h - server-side sessions: a JSON object per visitor, kept in the
 * session store (LMDB or Redis) under a random id that travels in a signed,
 * HttpOnly, SameSite=Lax cookie.
 */
#ifndef GALE_SESSION_H
#define GALE_SESSION_H

#include <stddef.h>
#include <sys/types.h>

#include "gale/gale.h"

struct config;
struct event_base;
struct store;

/* As root, before privileges are dropped: make the LMDB folder and give it
 * to the workers' user. 0, or -1 (logged). */
int session_prepare(const struct config *cfg, uid_t uid, gid_t gid, int drop);
/* In the worker: open the store. 0 (also without sessions), or -1 (logged). */
int session_init(const struct config *cfg, struct event_base *base);
void session_shutdown(void);
/* The store (NULL without sessions). */
struct store *session_store_of(const gale_request *r);
/* Whether the config has sessions. */
int session_enabled(const gale_request *r);

/* Load r's session, then call done(r): at once when there is no session
 * cookie (or no sessions), else when the store answers. */
void session_load(gale_request *r, void (*done)(gale_request *r));
/* Stop waiting for the store (the request goes away). */
void session_cancel(gale_request *r);
/* Before the head is sent: store a changed session, set or clear the
 * cookie (once per request). With done, the answer waits for the store:
 * returns 1 and calls done(r) once the write is confirmed, so that the
 * client's next request, on any worker or instance, sees it; returns 0 when
 * there was nothing to wait for. Without done, the write goes on alone. */
int session_save(gale_request *r, void (*done)(gale_request *r));

#endif
