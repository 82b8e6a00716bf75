/*
 * pubsub.h - publish/subscribe for modules, and long polling on top of it.
 *
 * Every message goes through one sequencer before any subscriber sees it:
 * the master (backend "local": workers send IPC_PUBLISH, the master sends
 * IPC_MESSAGE to every worker in the order it received them) or a Redis
 * server (backend "redis": PUBLISH, and a PSUBSCRIBE connection per
 * worker). So every subscriber of a channel, in any worker or instance, sees
 * the same messages in the same order, the publisher's worker included.
 *
 * Wire format of IPC_PUBLISH and IPC_MESSAGE: one byte, the channel's
 * length; the channel; the message.
 */
#ifndef GALE_PUBSUB_H
#define GALE_PUBSUB_H

#include <stddef.h>

#include "gale/gale.h"

struct loop;

#define PUBSUB_MAX_CHANNEL 200
#define PUBSUB_MAX_MESSAGE 65000

/* Start the worker's side: read the master's messages from ipc_fd, or
 * connect to Redis. 0, or -1 (logged). */
int pubsub_init(struct loop *loop, int ipc_fd);
/* The worker drains: every long poll is answered now (fn with NULL). */
void pubsub_drain(void);
/* Free everything (after the modules' shutdown). */
void pubsub_shutdown(void);

/* The master: a worker published (payload as above); relay it. Returns the
 * payload length checked, or -1 when it is malformed. */
int pubsub_check_payload(const void *payload, size_t len);

/* ---- between pubsub.c and the Redis backend (pubsub_redis.c) ---- */

struct event_base;
struct config_redis;

/* A message came from the sequencer: call the channel's subscribers. */
void pubsub_deliver(const char *channel, size_t chlen, const char *msg, size_t len);

int pubsub_redis_init(struct event_base *base, const struct config_redis *cfg);
int pubsub_redis_publish(const char *channel, const void *msg, size_t len);
void pubsub_redis_shutdown(void);

#endif
