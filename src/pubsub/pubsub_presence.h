/*
 * pubsub_presence.h - who is in a channel (gale_presence_*).
 *
 * A member is a channel and a member id, with the info (a JSON object) its
 * latest join gave. It is present while a client holds it (a handle from
 * gale_presence_join in any worker, or any instance with Redis) and for
 * `presence_timeout` seconds after the last one went: a client that
 * reconnects at once (to another worker, after a reload) never shows as
 * leaving and joining again, and one that vanished without a word leaves
 * within that time after its connection was found dead.
 *
 * Join and leave events are published on the channel's presence stream: the
 * pub/sub channel named NUL + channel (no module can name it: module
 * channels are C strings), as {"event": "join"|"leave", "id": ID, "info":
 * INFO}.
 *
 * Backend "local": the master keeps the table (pubsub_presence_table.c),
 * keyed by worker and handle, so the members of a worker that dies go with
 * it (after the timeout). Wire formats (integers in the host's order):
 *   IPC_PRESENCE_JOIN   u32 handle, u8 channel length, channel,
 *                       u8 id length, id, info (JSON text)
 *   IPC_PRESENCE_LEAVE  u32 handle
 *   IPC_PRESENCE_GET    u32 token, u8 channel length, channel
 *   IPC_PRESENCE_LIST   u32 token, {"count": N, "members": [{"id", "info"}]}
 * Backend "redis": pubsub_presence_redis.c.
 */
#ifndef GALE_PUBSUB_PRESENCE_H
#define GALE_PUBSUB_PRESENCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gale/gale.h"

#define PUBSUB_PRESENCE_MAX_ID 200     /* bytes of a member id */
#define PUBSUB_PRESENCE_MAX_INFO 16384 /* bytes of a member's info as JSON */

struct event_base;
struct config_redis;

/* ---- the worker's side (pubsub_presence.c) ---- */

/* The IPC_PRESENCE_LIST answer of the master. */
void pubsub_presence_list(const unsigned char *p, size_t len);
/* A message on a presence stream, for a subscription made by
 * gale_presence_subscribe (pubsub.c calls it from its delivery). */
void pubsub_presence_event(gale_presence_event_fn fn, void *arg, const char *channel,
                           const char *msg, size_t len);
/* The worker exits: forget every handle and question (nothing is sent). */
void pubsub_presence_shutdown(void);

/* ---- the master's side (pubsub_presence_table.c) ---- */

/* Relays an event to every worker, as pubsub_master_publish's each(). */
typedef void (*pubsub_relay_fn)(void *arg, const void *a, size_t alen, const void *b, size_t blen);
/* What the master answers one worker, as pubsub.h's pubsub_send_fn. */
typedef int (*pubsub_answer_fn)(void *arg, uint32_t type, const void *a, size_t alen, const void *b,
                                size_t blen);

/* IPC_PRESENCE_JOIN from worker pid. -1 when malformed. */
int pubsub_presence_table_join(pid_t pid, const void *payload, size_t len, pubsub_relay_fn each,
                               void *each_arg);
/* IPC_PRESENCE_LEAVE from worker pid: the member lingers for timeout. */
int pubsub_presence_table_leave(pid_t pid, const void *payload, size_t len, double timeout);
/* Worker pid is gone: its handles go as if each left. */
void pubsub_presence_table_worker_gone(pid_t pid, double timeout);
/* IPC_PRESENCE_GET: answer through to. */
int pubsub_presence_table_get(const void *payload, size_t len, pubsub_answer_fn to, void *to_arg);
/* Members whose linger ran out leave (their events go through each). */
void pubsub_presence_table_tick(pubsub_relay_fn each, void *each_arg);
void pubsub_presence_table_free(void);

/* ---- between pubsub_presence.c and the Redis backend ---- */

int pubsub_presence_redis_init(struct event_base *base, const struct config_redis *cfg,
                               double timeout);
/* A handle (opaque to Redis) joined or left; the heartbeat keeps the joined. */
int pubsub_presence_redis_join(gale_presence *h);
void pubsub_presence_redis_leave(gale_presence *h);
int pubsub_presence_redis_get(const char *channel, gale_presence_fn fn, void *arg);
void pubsub_presence_redis_shutdown(void);

/* The fields Redis reads from a handle. */
const char *pubsub_presence_channel(const gale_presence *h);
const char *pubsub_presence_member(const gale_presence *h);
const char *pubsub_presence_info(const gale_presence *h);
/* Call fn for every handle of this worker (the heartbeat). */
void pubsub_presence_each(void (*fn)(gale_presence *h, void *arg), void *arg);

#endif
