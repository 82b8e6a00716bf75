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
 * The master is the sequencer: it gives each message the next offset of its
 * channel (pubsub_history.h) before relaying it, and tells a publisher that
 * asked (gale_publish_then) only after the message is queued to every
 * worker, so whatever is published after that report, anywhere, comes after
 * it for every subscriber.
 *
 * Wire formats (integers in the host's order: both ends are one machine):
 *   IPC_PUBLISH       u32 token (0: no report), u8 channel length, channel, message;
 *                     keyed (gale_publish_keyed): u32 token, u8 0, u8 key length,
 *                     key, u8 channel length, channel, message (a channel is
 *                     never empty, so the 0 tells the two apart)
 *   IPC_MESSAGE       u64 epoch, u64 offset, u8 channel length, channel, message
 *   IPC_SEQUENCED     u32 token, u64 epoch, u64 offset, u8 status (0 sequenced, 1 a
 *                     repeated key: not published again, the first one's offset)
 *   IPC_HISTORY       u32 token, u64 epoch, u64 since, u8 channel length, channel
 *   IPC_HISTORY_ITEM  u32 token, u64 epoch, u64 offset, message
 *   IPC_HISTORY_END   u32 token, u32 status (0 complete, 1 lost, 2 more: ask again,
 *                     same token, since the last item), u64 epoch, u64 top
 *   IPC_LAGGED        u64 messages dropped (sent before any later message)
 */
#ifndef GALE_PUBSUB_H
#define GALE_PUBSUB_H

#include <stddef.h>
#include <stdint.h>

#include "gale/gale.h"

struct loop;

#define PUBSUB_MAX_CHANNEL 200
#define PUBSUB_MAX_MESSAGE 65000
/* Bytes of a channel's name inside pub/sub, NUL-led presence streams
 * (pubsub_presence.h) included, plus one. */
#define PUBSUB_MAX_NAME (PUBSUB_MAX_CHANNEL + 2)

/* Start the worker's side: read the master's messages from ipc_fd, or
 * connect to Redis. 0, or -1 (logged). */
int pubsub_init(struct loop *loop, int ipc_fd);
/* The worker drains: every long poll is answered now (fn with NULL). */
void pubsub_drain(void);
/* Free everything (after the modules' shutdown). */
void pubsub_shutdown(void);

/* A subscription told each message's position, from the next live one on
 * (no history asked). */
gale_subscription *pubsub_subscribe_live(const char *channel, gale_position_fn fn, void *arg);
/* A subscription from the next message sequenced: fn is called first with
 * msg NULL and the position now (epoch, last offset), then with each
 * message. (With Redis: as pubsub_subscribe_live.) */
gale_subscription *pubsub_subscribe_now(const char *channel, gale_position_fn fn, void *arg);
/* A subscription to channel's presence stream (pubsub_presence.h). */
gale_subscription *pubsub_subscribe_presence(const char *channel, gale_presence_event_fn fn,
                                             void *arg);
/* Queue a message to the master (backend "local"). 0, or -1. */
int pubsub_send(uint32_t type, const void *a, size_t alen, const void *b, size_t blen);
/* A fresh token for a question to the master (never 0). */
uint32_t pubsub_token(void);
/* enum pubsub_backend, or -1 before pubsub_init. */
int pubsub_backend(void);

/* IPC_HISTORY's `since` that asks for the position only. */
#define PUBSUB_NOW UINT64_MAX

/* The worker drains: Server-Sent Event streams end (pubsub_sse.c), so that
 * their clients reconnect to a new worker and resume from their last id. */
void pubsub_sse_drain(void);

/* FNV-1a of a channel name. */
uint32_t pubsub_hash(const char *s, size_t len);

/* ---- the master's side (pubsub_history.c) ---- */

struct pubsub_settings;

/* What the master sends: to one worker's queue (arg). 0, or -1. */
typedef int (*pubsub_send_fn)(void *arg, uint32_t type, const void *a, size_t alen, const void *b,
                              size_t blen);

/* A worker published (IPC_PUBLISH): sequence the message, send it as
 * IPC_MESSAGE to every worker through each(), then IPC_SEQUENCED to the
 * publisher (to, when it asked). -1 when the payload is malformed. */
int pubsub_master_publish(const struct pubsub_settings *ps, const void *payload, size_t len,
                          void (*each)(void *arg, const void *a, size_t alen, const void *b,
                                       size_t blen),
                          void *each_arg, pubsub_send_fn to, void *to_arg);
/* A worker asked for history (IPC_HISTORY): answer it through to. */
int pubsub_master_history(const struct pubsub_settings *ps, const void *payload, size_t len,
                          pubsub_send_fn to, void *to_arg);

/* ---- between pubsub.c and the Redis backend (pubsub_redis.c) ---- */

struct event_base;
struct config_redis;

/* A message came from the sequencer: call the channel's subscribers. */
void pubsub_deliver(const char *channel, size_t chlen, const char *msg, size_t len, uint64_t epoch,
                    uint64_t offset);

/* Messages for this worker may have been lost (the master dropped some, or
 * the subscribed Redis connection was cut): every subscription with a
 * position asks the history for what it missed (nothing, when it missed
 * nothing). */
void pubsub_resync(void);

/* A keyed publish's answer came (status 0 or GALE_PUBLISH_REPEATED): it
 * counts as published, or as a repeat the sequencer dropped. */
void pubsub_count_keyed(int status);

int pubsub_redis_init(struct event_base *base, const struct config_redis *cfg);
int pubsub_redis_publish(const char *channel, const void *msg, size_t len, gale_published_fn fn,
                         void *arg);
void pubsub_redis_shutdown(void);
/* Redis history (pubsub_redis_history.c): a publish on a channel with a
 * history rule, and a history asked for (answered through the two below). */
/* With a key (gale_publish_keyed), also on a channel without a rule (NULL):
 * the script checks and remembers it. */
struct pubsub_history_rule;
struct pubsub_settings;
int pubsub_redis_history_publish(const struct pubsub_settings *ps,
                                 const struct pubsub_history_rule *rule, const char *channel,
                                 const void *key, size_t keylen, const void *msg, size_t len,
                                 gale_published_fn fn, void *arg);
int pubsub_redis_history_since(const struct config_redis *cfg,
                               const struct pubsub_history_rule *rule, const char *channel,
                               uint64_t epoch, uint64_t since, uint32_t token);
/* The answer to a history asked for with token: each message, then the end
 * (status 0 complete, 1 lost; the epoch and the channel's last offset). */
void pubsub_history_item_at(uint32_t token, uint64_t epoch, uint64_t offset, const char *msg,
                            size_t len);
void pubsub_history_end_at(uint32_t token, uint32_t status, uint64_t epoch, uint64_t top);
/* The connection for commands (not the subscribed one); NULL while Redis
 * is away. */
struct redisAsyncContext;
struct redisAsyncContext *pubsub_redis_context(void);

#endif
