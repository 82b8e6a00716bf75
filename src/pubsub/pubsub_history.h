/*
 * pubsub_history.h - the master's side of the local backend: the sequencer.
 * Every message gets the next offset of its channel, and channels whose name
 * matches a `history` rule of the pubsub settings keep their last messages
 * (size, ttl) so that a subscriber can ask for what it missed. Kept in the
 * master, so it survives reloads; the epoch, drawn at random when the master
 * starts, says that a history was lost.
 */
#ifndef GALE_PUBSUB_HISTORY_H
#define GALE_PUBSUB_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct pubsub_settings;

/* The stream's epoch: random, never 0, the same for the master's life. */
uint64_t pubsub_history_epoch(void);

/* Sequence a message on channel: returns its offset (1, 2, ...), and keeps
 * it when a rule of ps gives the channel a history. */
uint64_t pubsub_history_add(const struct pubsub_settings *ps, const char *channel, size_t chlen,
                            const void *msg, size_t len);

/* The messages after offset `since` of `epoch`, in order: fn(arg, offset,
 * msg, len) for each. Returns 0 when they are all there (also none), or -1
 * when some are lost (another epoch, or fell out of the history: nothing is
 * called then). Epoch 0 asks for every message kept, since PUBSUB_NOW for none. *top is the
 * channel's last offset. */
int pubsub_history_since(const struct pubsub_settings *ps, const char *channel, size_t chlen,
                         uint64_t epoch, uint64_t since, uint64_t *top,
                         void (*fn)(void *arg, uint64_t offset, const void *msg, size_t len),
                         void *arg);

/* The history rule of channel: the first whose pattern matches, or NULL. */
struct pubsub_history_rule;
const struct pubsub_history_rule *pubsub_history_rule(const struct pubsub_settings *ps,
                                                      const char *channel);

/* Free every channel (the master exits). */
void pubsub_history_free(void);

#endif
