/*
 * chat.c - the chat demo: one room where everyone sees every message as it
 * is posted, as Tornado's chatdemo, on gale's publish/subscribe. Run it from
 * the repository's root with
 *
 *     src/gale -c conf/chat.conf
 *
 * and open http://127.0.0.1:8888/ in two browsers (http://127.0.0.1:8888/?ws=1
 * for the WebSocket variant of the page, ?sse=1 for Server-Sent Events).
 *
 * How it works. The module keeps no messages of its own: the room is its
 * channel's history, which the `history` rule of the pubsub settings gives
 * it (conf/chat.conf has one) and which lives in the master (or in Redis,
 * shared by every gale using it), so it survives reloads and every worker
 * sees the same one. A post is published, and reaches every worker through
 * the channel in the same order everywhere; it is answered only once the
 * master (or Redis) has sequenced it (gale_publish_then): a reply posted
 * after that answer can never reach anyone before it. A message id is a
 * cursor that every worker understands, "what came after the message I saw
 * last": the page, a poll and a socket's catch-up read the history
 * (gale_history_read) and answer what came after it. Without a history
 * rule the room has no past: pages start empty and polls wait.
 *
 * Routes (conf/chat.conf binds them; the names are the handlers'):
 *     GET  /                   page     index.html with the XSRF token, the
 *                                       room's last messages and their cursor
 *     GET  /static/(NAME)      static   chat.js and chat.css, read at init
 *     POST /a/message/new      new      fields body (1-2000 bytes) and name
 *                                       (0-40 bytes): publishes the message and
 *                                       answers it as JSON, or redirects 303
 *                                       to a local `next` (a form without JS)
 *     POST /a/message/updates  updates  field cursor: long polling. The
 *                                       messages after the cursor at once when
 *                                       there are some; a cursor the history
 *                                       does not hold (gone, another life, "")
 *                                       gets all of it; with no cursor, or
 *                                       when nothing is new, it waits for the
 *                                       next message (poll_timeout, then
 *                                       {"messages": []}: poll again)
 *     GET  /a/message/events   events   Server-Sent Events: each message's
 *                                       JSON as an event (id "EPOCH:OFFSET";
 *                                       Last-Event-ID, or last_event_id for
 *                                       the first connection, resumes
 *                                       through the history)
 *     GET  /a/here             here     who is here: {"count": N, "names":
 *                                       [...]}
 *     GET  /chatsocket         socket   WebSocket: ?cursor=ID catches up on
 *                                       open, then every message arrives as
 *                                       {"messages": [m]}; a text frame
 *                                       {"body": ..., "name": ...} posts, and a
 *                                       bad one is answered {"error": ...};
 *                                       with "id" (32 hex digits, chosen by
 *                                       the page) the post is answered
 *                                       {"ack": ID} once it is sequenced, and
 *                                       a post sent again with the same id
 *                                       (no ack came: a reload closed the
 *                                       socket) is acknowledged again but
 *                                       not published again: the id is its
 *                                       key (gale_publish_keyed), checked
 *                                       where the room is sequenced
 * Polls, event streams and sockets may carry visitor (8-32 hex digits,
 * drawn by the page once per tab) and name: the visitor is then in the
 * room (gale_presence_join) while the connection is open, and for the
 * pubsub presence_timeout after it, so that the gaps between polls and the
 * reconnections after a reload never show as leaving. Each socket gets
 * {"here": {"count": N, "names": [...]}} whenever someone joins or leaves.
 *
 * A message is {"id": 32 hex digits, "from": name, "body": text, "time": unix
 * seconds}. The posts are XSRF-protected by gale (xsrf_cookies = true); the
 * socket by gale's Origin check.
 *
 * The page (static/index.html, whose {{slots}} are filled per answer) starts
 * with the room's last messages and the id of the last as its cursor, or an
 * empty cursor when there were none: "" is never an id, so it gets the whole
 * history, and nothing posted between the page and its first poll or
 * connection is lost; and with the room's position (EPOCH:OFFSET), where
 * its event stream starts. chat.js shows each id once and keeps the cursor
 * of the stream. A restart of gale loses the master's history: a cursor
 * from before then gets the whole (new) history.
 *
 * The sockets of a worker share the module's one live subscription: a
 * message is turned into its frame once and sent to each (a socket whose
 * peer does not read is closed by gale, 1008, past websocket.max_queue_size
 * rather than buffered without end; it reconnects with its cursor and loses
 * nothing still in the history). A new
 * socket keeps the live messages aside while its catch-up is read, and
 * sends those the history did not hold yet after it.
 *
 * Settings: static (a folder to read index.html, chat.js and chat.css from at
 * init, relative to gale's working directory, for working on the page; by
 * default the copies compiled into chat.so by embed.sh are served, so the
 * workers' user needs no access to the tree), channel (default "chat"),
 * cache_size (the most messages a page or a catch-up carries, the last ones
 * of the history; default 200), poll_timeout (seconds a long poll waits, default 60; 0: no limit),
 * title (default "Chat"), prefix (the path the routes are mounted under,
 * as conf/gale.conf mounts the room at /chat/; default "").
 *
 * Tests: tests/blackbox/18-chat.py (curl-level flow across two workers, the
 * npm ws client in tests/node/chat-ws.js, headless Chromium in
 * tests/node/chat-browser.js, and two instances sharing a redis-server);
 * tests/blackbox/54-publish-keys.py (a post sent again on another worker,
 * instance, or after a reload, shows once).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gale/gale.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "chat_static.h" /* the page, script and style (embed.sh) */

#define CHAT_BODY_MAX 2000
#define CHAT_NAME_MAX 40
#define CHAT_ID_HEX 32
#define CHAT_FILE_MAX (1 << 20) /* bytes of a static file */
#define CHAT_REPEAT_WINDOW 256  /* messages looked back for a repeated post */
#define CHAT_CSP                                                                                   \
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "                      \
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

/* One message of the room, checked. obj and json are owned by its list. */
struct chat_msg {
    char id[CHAT_ID_HEX + 1];
    json_t *obj; /* {"id", "from", "body", "time"}: for the page */
    char *json;  /* its compact text: for the answers and frames */
    size_t len;
};

/* Messages in the room's order: a read of the room's history, or the live
 * ones a socket got while its catch-up was read. */
struct chat_list {
    struct chat_msg *m; /* owned, n of cap */
    size_t n, cap;
};

/* A file from the static folder, read once at init. */
struct chat_file {
    char *data; /* owned, NUL-terminated */
    size_t len;
    char version[17]; /* the start of its SHA-256, for cache-busting URLs */
};

struct chat_read;
struct chat_ack;

/* An open socket of this worker; freed by its close callback (or shutdown). */
struct chat_sock {
    gale_ws *ws;
    gale_presence *here;       /* the visitor in the room, NULL when it gave no id */
    struct chat_read *reading; /* its catch-up while the history is read; NULL after */
    struct chat_list pending;  /* the live messages that came meanwhile */
    struct chat_ack *acks;     /* its posts not sequenced yet (chat_ack.sprev/snext) */
    struct chat_sock *prev, *next;
};

/* The module's state in one worker. It keeps no messages: they live in the
 * room's channel history (the master's, or Redis's), read when a page, a
 * poll or a socket needs them. */
struct chat {
    char *channel, *title; /* owned */
    char *prefix;          /* owned: where the routes are mounted, "" or "/chat" */
    size_t cache_size;     /* the most messages a page or a catch-up carries */
    double poll_timeout;
    struct chat_file page, js, css;
    gale_subscription *sub;      /* the live messages, for the sockets */
    gale_subscription *presence; /* joins and leaves: the sockets get who is here */
    gale_ctx *ctx;               /* borrowed: the module's, for presence questions */
    struct chat_sock *socks;
    struct chat_read *reads; /* not ended yet: freed at shutdown */
    struct chat_ack *acks;   /* socket posts not sequenced yet: freed at shutdown */
};

/* A post sent on a socket, waiting to be sequenced before the socket is
 * told {"ack": ID}. */
struct chat_ack {
    struct chat *c;
    struct chat_sock *s; /* NULL once the socket closed: no one to tell */
    char id[CHAT_ID_HEX + 1];
    struct chat_ack *prev, *next;   /* c->acks: every one, freed at shutdown */
    struct chat_ack *sprev, *snext; /* s->acks while s is open: its close forgets them */
};

/* A read of the room's history for a request (page, poll) or a socket's
 * catch-up: the list, then done(rd), which must not use rd after it
 * finished the request. Freed when it ended and its request is gone (the
 * request's cleanup, or at once when the request went first), or by done
 * for a socket. */
struct chat_read {
    struct chat *c;
    gale_request *r;     /* the request's; NULL once it is gone */
    struct chat_sock *s; /* the socket's; NULL once it closed */
    int for_socket;
    char *cursor; /* owned copy, or NULL */
    struct chat_list list;
    uint64_t epoch, top; /* where the room is (epoch 0: unknown) */
    int status;          /* gale_history_read's: 0, 1 lost, -1 no answer */
    int ended;
    void (*done)(struct chat_read *rd);
    struct chat_read *prev, *next; /* c->reads while not ended */
};

/* ---- messages and lists ---- */

static int chat_is_id(const char *s)
{
    return s && strlen(s) == CHAT_ID_HEX && strspn(s, "0123456789abcdef") == CHAT_ID_HEX;
}

/* Check a message from the channel and make its canonical form: anything
 * published there by others (Redis is shared) is checked, not trusted. 0, or
 * -1 for one that is not a chat message. */
static int chat_msg_parse(struct chat_msg *m, const char *text, size_t len)
{
    json_t *in = json_loadb(text, len, 0, NULL);
    const char *id = json_string_value(json_object_get(in, "id"));
    const char *from = json_string_value(json_object_get(in, "from"));
    const char *body = json_string_value(json_object_get(in, "body"));
    json_t *t = json_object_get(in, "time");

    m->obj = NULL;
    m->json = NULL;
    if (chat_is_id(id) && from && body && json_is_number(t)) {
        memcpy(m->id, id, CHAT_ID_HEX + 1);
        m->obj = json_pack("{s:s, s:s, s:s, s:f}", "id", id, "from", from, "body", body, "time",
                           json_number_value(t));
        m->json = m->obj ? json_dumps(m->obj, JSON_COMPACT) : NULL;
    }
    json_decref(in);
    if (!m->json) {
        json_decref(m->obj);
        return -1;
    }
    m->len = strlen(m->json);
    return 0;
}

static void chat_msg_free(struct chat_msg *m)
{
    json_decref(m->obj);
    free(m->json);
    m->obj = NULL;
    m->json = NULL;
}

/* Append m (its memory moves into the list). */
static void chat_list_push(struct chat_list *l, const struct chat_msg *m)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct chat_msg *more = realloc(l->m, cap * sizeof(*more));
        if (!more) {
            struct chat_msg lost = *m;
            chat_msg_free(&lost);
            return;
        }
        l->m = more;
        l->cap = cap;
    }
    l->m[l->n++] = *m;
}

static void chat_list_clear(struct chat_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        chat_msg_free(&l->m[i]);
    free(l->m);
    memset(l, 0, sizeof(*l));
}

/* Keep the last max messages. */
static void chat_list_trim(struct chat_list *l, size_t max)
{
    if (l->n <= max)
        return;
    size_t drop = l->n - max;
    for (size_t i = 0; i < drop; i++)
        chat_msg_free(&l->m[i]);
    memmove(l->m, l->m + drop, max * sizeof(*l->m));
    l->n = max;
}

/* Where the answer to `cursor` starts: after the message with that id; 0
 * (all of them) for an id the list does not hold; n (nothing) for no
 * cursor. */
static size_t chat_after(const struct chat_list *l, const char *cursor)
{
    if (!cursor)
        return l->n;
    for (size_t i = l->n; i-- > 0;)
        if (strcmp(l->m[i].id, cursor) == 0)
            return i + 1;
    return 0;
}

/* Whether one of the last CHAT_REPEAT_WINDOW messages of l has this id. A
 * socket's post that was not acknowledged is sent again on the next
 * connection with the same id (chat.js); the sequencer drops such repeats
 * now (gale_publish_keyed), but a history may still hold some: written
 * before that, with pubsub.key_window 0, or repeated after key_ttl. The
 * repeat comes moments after the original, so a short look back finds
 * it. */
static int chat_list_has(const struct chat_list *l, const char *id)
{
    size_t stop = l->n > CHAT_REPEAT_WINDOW ? l->n - CHAT_REPEAT_WINDOW : 0;
    for (size_t i = l->n; i-- > stop;)
        if (memcmp(l->m[i].id, id, CHAT_ID_HEX) == 0)
            return 1;
    return 0;
}

/* {"messages":[...]} of n messages. Malloc'd (the caller frees), NULL when
 * out of memory. */
static char *chat_batch(const struct chat_msg *m, size_t n, size_t *len)
{
    static const char head[] = "{\"messages\":[", tail[] = "]}";
    size_t size = sizeof(head) + sizeof(tail), at;
    for (size_t i = 0; i < n; i++)
        size += m[i].len + 1;
    char *out = malloc(size);
    if (!out)
        return NULL;
    memcpy(out, head, sizeof(head) - 1);
    at = sizeof(head) - 1;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            out[at++] = ',';
        memcpy(out + at, m[i].json, m[i].len);
        at += m[i].len;
    }
    memcpy(out + at, tail, sizeof(tail));
    *len = at + sizeof(tail) - 1;
    return out;
}

/* ---- reading the room's history ---- */

static void chat_read_free(struct chat_read *rd)
{
    if (!rd->ended) { /* shutdown: gale drops the read unanswered */
        if (rd->prev)
            rd->prev->next = rd->next;
        else
            rd->c->reads = rd->next;
        if (rd->next)
            rd->next->prev = rd->prev;
    }
    chat_list_clear(&rd->list);
    free(rd->cursor);
    free(rd);
}

static void chat_read_step(void *arg, const char *channel, int status, const char *msg, size_t len,
                           uint64_t epoch, uint64_t offset)
{
    struct chat_read *rd = arg;
    struct chat_msg m;
    if (msg) {
        if (chat_msg_parse(&m, msg, len) < 0)
            return;
        if (chat_list_has(&rd->list, m.id))
            chat_msg_free(&m); /* a post sent again after a reconnection */
        else
            chat_list_push(&rd->list, &m);
        return;
    }
    if (rd->prev)
        rd->prev->next = rd->next;
    else
        rd->c->reads = rd->next;
    if (rd->next)
        rd->next->prev = rd->prev;
    rd->ended = 1;
    rd->status = status;
    rd->epoch = status < 0 ? 0 : epoch;
    rd->top = offset;
    chat_list_trim(&rd->list, rd->c->cache_size);
    if (rd->for_socket ? !rd->s : !rd->r) {
        chat_read_free(rd); /* nobody waits for it any more */
        return;
    }
    rd->done(rd);
}

/* Read the room's history for done; NULL when it cannot be asked. */
static struct chat_read *chat_read_start(struct chat *c, gale_ctx *ctx, const char *cursor,
                                         void (*done)(struct chat_read *rd))
{
    struct chat_read *rd = calloc(1, sizeof(*rd));
    if (!rd || (cursor && !(rd->cursor = strdup(cursor))) ||
        gale_history_read(ctx, c->channel, 0, 0, chat_read_step, rd) < 0) {
        if (rd)
            free(rd->cursor);
        free(rd);
        return NULL;
    }
    rd->c = c;
    rd->done = done;
    rd->next = c->reads;
    if (c->reads)
        c->reads->prev = rd;
    c->reads = rd;
    return rd;
}

/* A request's cleanup: its read goes now, or when it ends. */
static void chat_read_gone(void *arg)
{
    struct chat_read *rd = arg;
    if (rd->ended)
        chat_read_free(rd);
    else
        rd->r = NULL;
}

/* A read for request r (its cleanup frees it). */
static struct chat_read *chat_read_for(gale_request *r, const char *cursor,
                                       void (*done)(struct chat_read *rd))
{
    struct chat *c = gale_request_module_data(r);
    struct chat_read *rd = chat_read_start(c, gale_request_ctx(r), cursor, done);
    if (rd) {
        rd->r = r;
        gale_request_cleanup(r, chat_read_gone, rd);
    }
    return rd;
}

/* ---- composing and publishing a message ---- */

static void chat_hex(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* A new message from what a client sent, or NULL with *why saying what is
 * wrong with it (the answer is 400 or an error frame). id: the one the
 * client chose (a socket's post, sent again with it after a reconnection),
 * or NULL for a new one. A new reference. */
static json_t *chat_compose(const char *body, const char *name, const char *id_given,
                            const char **why)
{
    unsigned char raw[CHAT_ID_HEX / 2];
    char id[CHAT_ID_HEX + 1];
    struct timespec now;

    if (!name || !*name)
        name = "anonymous";
    *why = "the message needs a body of 1 to 2000 bytes of UTF-8";
    if (!body || !*body || strlen(body) > CHAT_BODY_MAX)
        return NULL;
    *why = "a name is at most 40 bytes of UTF-8";
    if (strlen(name) > CHAT_NAME_MAX)
        return NULL;
    *why = "an id is 32 lowercase hex digits";
    if (id_given && !chat_is_id(id_given))
        return NULL;
    *why = "cannot make a message id";
    if (id_given)
        memcpy(id, id_given, sizeof(id));
    else if (RAND_bytes(raw, sizeof(raw)) == 1)
        chat_hex(id, raw, sizeof(raw));
    else
        return NULL;
    clock_gettime(CLOCK_REALTIME, &now);
    /* json_pack fails on text that is not UTF-8: the check comes for free */
    json_t *m = json_pack("{s:s, s:s, s:s, s:f}", "id", id, "from", name, "body", body, "time",
                          (double)now.tv_sec + now.tv_nsec / 1e9);
    *why = "the body and the name must be UTF-8";
    return m;
}

/* Send m to every subscriber of the room (and into its history). fn (may be NULL) runs once the
 * message is sequenced: whatever anyone posts after that comes after it, for every reader. id:
 * the id the client chose, or NULL: the key that makes a repeat of the post a no-op. 0, or -1. */
static int chat_publish(gale_ctx *ctx, struct chat *c, const json_t *m, const char *id,
                        gale_published_fn fn, void *arg)
{
    char *text = json_dumps(m, JSON_COMPACT);
    int rc = !text ? -1
             : id ? gale_publish_keyed(ctx, c->channel, id, strlen(id), text, strlen(text), fn, arg)
             : fn ? gale_publish_then(ctx, c->channel, text, strlen(text), fn, arg)
                  : gale_publish(ctx, c->channel, text, strlen(text));
    free(text);
    return rc;
}

/* ---- the live messages, to the sockets ---- */

static int chat_msg_copy(struct chat_msg *to, const struct chat_msg *m)
{
    *to = *m;
    to->json = strdup(m->json);
    if (!to->json)
        return -1;
    json_incref(m->obj);
    return 0;
}

/* Each message, to every socket of this worker (the frame made once); a
 * socket still reading its catch-up keeps it for later. */
static void chat_on_message(void *arg, const char *channel, const char *text, size_t len)
{
    struct chat *c = arg;
    struct chat_msg m, copy;
    if (chat_msg_parse(&m, text, len) < 0) {
        gale_log(GALE_LOG_WARN, "chat: not a chat message on channel %s: dropped", channel);
        return;
    }
    size_t flen;
    char *frame = chat_batch(&m, 1, &flen);
    gale_ws_message *wm = frame ? gale_ws_message_new(frame, flen, 0) : NULL;
    free(frame);
    for (struct chat_sock *s = c->socks, *next; wm && s; s = next) {
        next = s->next;
        if (s->reading) {
            if (chat_msg_copy(&copy, &m) == 0)
                chat_list_push(&s->pending, &copy);
        } else { /* gale closes a socket that lags past websocket.max_queue_size */
            gale_ws_send_message(s->ws, wm);
        }
    }
    gale_ws_message_free(wm);
    chat_msg_free(&m);
}

/* ---- who is here ---- */

/* A visitor id from the page: 8 to 32 hex digits, drawn by chat.js once per
 * tab, so that a reload or a reconnection is the same visitor. */
static int chat_is_visitor(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 8 && n <= CHAT_ID_HEX && strspn(s, "0123456789abcdef") == n;
}

/* The visitor of a connection is in the room while the connection lasts
 * (and for the pubsub presence_timeout after: a long poll's gaps and a
 * reconnection do not show). NULL when the page gave no visitor id. */
static gale_presence *chat_join(gale_ctx *ctx, struct chat *c, const char *visitor,
                                const char *name)
{
    if (!chat_is_visitor(visitor))
        return NULL;
    if (!name || !*name || strlen(name) > CHAT_NAME_MAX)
        name = "anonymous";
    json_t *info = json_pack("{s:s}", "name", name); /* NULL for a name that is not UTF-8 */
    if (!info)
        info = json_pack("{s:s}", "name", "anonymous");
    gale_presence *p = gale_presence_join(ctx, c->channel, visitor, info);
    json_decref(info);
    return p;
}

/* A request's cleanup: its visitor's connection is over. */
static void chat_leave(void *arg)
{
    gale_presence_leave(arg);
}

/* {"count": N, "names": [...]}, one name per member. A new reference. */
static json_t *chat_here(size_t count, const json_t *members)
{
    json_t *names = json_array(), *m;
    size_t i;
    json_array_foreach(members, i, m)
    {
        const char *name = json_string_value(json_object_get(json_object_get(m, "info"), "name"));
        json_array_append_new(names, json_string(name ? name : "anonymous"));
    }
    return json_pack("{s:I, s:o}", "count", (json_int_t)count, "names", names);
}

/* Who is here, to every socket of this worker: {"here": {...}}. */
static void chat_here_push(void *arg, const char *channel, int status, size_t count,
                           const json_t *members)
{
    struct chat *c = arg;
    if (status < 0 || !c->socks)
        return;
    json_t *frame = json_pack("{s:o}", "here", chat_here(count, members));
    char *text = frame ? json_dumps(frame, JSON_COMPACT) : NULL;
    json_decref(frame);
    for (struct chat_sock *s = c->socks; text && s; s = s->next)
        gale_ws_send(s->ws, text, strlen(text), 0);
    free(text);
}

/* Someone joined or left (anywhere): the sockets here learn who is here. */
static void chat_on_presence(void *arg, const char *channel, const char *event, const char *id,
                             const json_t *info)
{
    struct chat *c = arg;
    if (c->socks)
        gale_presence_get(c->ctx, c->channel, chat_here_push, c);
}

/* ---- HTTP answers ---- */

static void chat_json_head(gale_request *r)
{
    gale_response_header(r, "Content-Type", "application/json; charset=utf-8");
    gale_response_header(r, "Cache-Control", "no-store");
    gale_response_header(r, "X-Content-Type-Options", "nosniff");
}

/* Write {"messages": [...]} of n messages. The caller finishes the answer. */
static void chat_answer(gale_request *r, const struct chat_msg *m, size_t n)
{
    size_t len;
    char *text = chat_batch(m, n, &len);
    if (!text) {
        gale_response_status(r, 503);
        gale_response_puts(r, "out of memory\n");
        return;
    }
    chat_json_head(r);
    gale_response_write(r, text, len);
    free(text);
}

/* One message of the page, in the markup chat.js makes for new ones. */
static void chat_page_message(gale_request *r, const struct chat_msg *m)
{
    double t = json_number_value(json_object_get(m->obj, "time"));
    time_t sec = (time_t)t;
    struct tm tm;
    char iso[32] = "", hhmm[8] = "";
    if (gmtime_r(&sec, &tm)) {
        strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
        strftime(hhmm, sizeof(hhmm), "%H:%M", &tm);
    }
    gale_response_printf(r, "<div class=\"message\" id=\"m%s\" data-id=\"%s\">", m->id, m->id);
    gale_response_printf(r, "<time class=\"time\" datetime=\"%s\">%s</time> ", iso, hhmm);
    gale_response_puts(r, "<span class=\"from\">");
    gale_response_puts_html(r, json_string_value(json_object_get(m->obj, "from")));
    gale_response_puts(r, "</span> <span class=\"body\">");
    gale_response_puts_html(r, json_string_value(json_object_get(m->obj, "body")));
    gale_response_puts(r, "</span></div>\n");
}

/* The value of a {{slot}} of index.html, with the messages read (rd, NULL
 * when none could be); r NULL only checks that the name is known (at
 * init). 0, or -1 for an unknown slot. */
static int chat_slot(gale_request *r, struct chat *c, const struct chat_read *rd, const char *name,
                     size_t len)
{
    const struct chat_list *l = rd ? &rd->list : NULL;
#define CHAT_IS(word) (len == sizeof(word) - 1 && memcmp(name, word, len) == 0)
    if (CHAT_IS("title")) {
        if (r)
            gale_response_puts_html(r, c->title);
    } else if (CHAT_IS("prefix")) {
        if (r)
            gale_response_puts_html(r, c->prefix);
    } else if (CHAT_IS("xsrf")) {
        if (r)
            gale_response_puts_html(r, gale_request_xsrf_token(r));
    } else if (CHAT_IS("cursor")) {
        if (r && l && l->n > 0)
            gale_response_puts(r, l->m[l->n - 1].id);
    } else if (CHAT_IS("position")) {
        /* where the room was when the page was made: the first Server-Sent
         * Events connection resumes from there */
        if (r && rd && rd->epoch)
            gale_response_printf(r, "%llu:%llu", (unsigned long long)rd->epoch,
                                 (unsigned long long)rd->top);
    } else if (CHAT_IS("messages")) {
        for (size_t i = 0; r && l && i < l->n; i++)
            chat_page_message(r, &l->m[i]);
    } else if (CHAT_IS("js_version")) {
        if (r)
            gale_response_puts(r, c->js.version);
    } else if (CHAT_IS("css_version")) {
        if (r)
            gale_response_puts(r, c->css.version);
    } else {
        return -1;
    }
    return 0;
#undef CHAT_IS
}

/* Fill the {{slots}} of the page template (r NULL: only check them). */
static int chat_template(gale_request *r, struct chat *c, const struct chat_read *rd)
{
    const char *t = c->page.data, *open, *close;
    while ((open = strstr(t, "{{")) != NULL && (close = strstr(open + 2, "}}")) != NULL) {
        if (r)
            gale_response_write(r, t, (size_t)(open - t));
        if (chat_slot(r, c, rd, open + 2, (size_t)(close - open - 2)) < 0) {
            gale_log(GALE_LOG_ERROR, "chat: index.html: unknown slot {{%.*s}}",
                     (int)(close - open - 2), open + 2);
            return -1;
        }
        t = close + 2;
    }
    if (r)
        gale_response_puts(r, t);
    return 0;
}

/* The page with the messages read (rd NULL: none could be). */
static void chat_page_write(gale_request *r, struct chat *c, const struct chat_read *rd)
{
    gale_response_header(r, "Content-Type", "text/html; charset=utf-8");
    gale_response_header(r, "Cache-Control", "no-cache");
    gale_response_header(r, "Content-Security-Policy", CHAT_CSP);
    gale_response_header(r, "X-Content-Type-Options", "nosniff");
    gale_response_header(r, "Referrer-Policy", "same-origin");
    chat_template(r, c, rd);
}

static void chat_page_read(struct chat_read *rd)
{
    gale_request *r = rd->r;
    chat_page_write(r, rd->c, rd);
    gale_response_finish(r); /* may free rd */
}

/* GET /: the room, with its last messages from the channel's history.
 * Never cached: it holds a token masked for this answer. */
static int chat_page(gale_request *r)
{
    if (chat_read_for(r, NULL, chat_page_read))
        return GALE_ASYNC;
    chat_page_write(r, gale_request_module_data(r), NULL);
    return GALE_OK;
}

/* GET /static/chat.js, /static/chat.css: the URL the page uses carries the
 * file's version (?v=), so that one is cached for a year; any other for a
 * minute. */
static int chat_static(gale_request *r)
{
    struct chat *c = gale_request_module_data(r);
    const char *name = gale_request_capture(r, 1);
    const char *v = gale_request_query(r, "v");
    const struct chat_file *f;
    const char *type;

    if (!name) {
        name = strrchr(gale_request_path(r), '/');
        name = name ? name + 1 : "";
    }
    if (strcmp(name, "chat.js") == 0) {
        f = &c->js;
        type = "text/javascript; charset=utf-8";
    } else if (strcmp(name, "chat.css") == 0) {
        f = &c->css;
        type = "text/css; charset=utf-8";
    } else {
        gale_response_error(r, 404, "no such file");
        return GALE_OK;
    }
    gale_response_header(r, "Content-Type", type);
    gale_response_header(r, "Cache-Control",
                         v && strcmp(v, f->version) == 0 ? "public, max-age=31536000, immutable"
                                                         : "public, max-age=60");
    gale_response_header(r, "X-Content-Type-Options", "nosniff");
    gale_response_write(r, f->data, f->len);
    return GALE_OK;
}

/* POST /a/message/new: body, name; next (optional) for forms without JS. */

/* A request waiting for an answer from the master (or Redis): a post to be
 * sequenced, a question of who is here. Freed by whichever comes last: the
 * answer, or the end of the request (a client that left). */
struct chat_wait {
    gale_request *r; /* NULL once the request is gone */
    json_t *m;       /* the post; NULL for a question */
    int answered;
};

static struct chat_wait *chat_wait_new(gale_request *r, json_t *m)
{
    struct chat_wait *w = calloc(1, sizeof(*w));
    if (w) {
        w->r = r;
        w->m = m;
    }
    return w;
}

static void chat_wait_free(struct chat_wait *w)
{
    json_decref(w->m);
    free(w);
}

/* The request's cleanup. */
static void chat_wait_gone(void *arg)
{
    struct chat_wait *w = arg;
    if (w->answered)
        chat_wait_free(w);
    else
        w->r = NULL;
}

/* The answer came: the request to answer, or NULL when it is gone (w is
 * then freed). */
static gale_request *chat_wait_answered(struct chat_wait *w)
{
    gale_request *r = w->r;
    if (!r)
        chat_wait_free(w);
    else
        w->answered = 1; /* freed with the request */
    return r;
}

/* The post is sequenced: answer it now, so that a reply the poster sends
 * next can never be shown before it. */
static void chat_new_sequenced(void *arg, const char *channel, int status, uint64_t epoch,
                               uint64_t offset)
{
    struct chat_wait *p = arg;
    gale_request *r = chat_wait_answered(p);
    if (!r)
        return;
    struct chat *c = gale_request_module_data(r);
    const char *next = gale_request_argument(r, "next");
    if (status < 0) {
        gale_response_error(r, 503, "the message could not be sent; try again");
    } else if (next) {
        int local = next[0] == '/' && next[1] != '/' && next[1] != '\\';
        if (!local || gale_response_redirect(r, 303, next) < 0)
            gale_response_redirect(r, 303, gale_request_printf(r, "%s/", c->prefix));
    } else {
        chat_json_head(r);
        char *text = json_dumps(p->m, JSON_COMPACT);
        if (text)
            gale_response_puts(r, text);
        free(text);
    }
    gale_response_finish(r);
}

static int chat_new(gale_request *r)
{
    struct chat *c = gale_request_module_data(r);
    const char *why;
    json_t *m = chat_compose(gale_request_argument(r, "body"), gale_request_argument(r, "name"),
                             NULL, &why);
    if (!m) {
        gale_response_error(r, 400, why);
        return GALE_OK;
    }
    struct chat_wait *p = chat_wait_new(r, m);
    if (!p) {
        json_decref(m);
        gale_response_error(r, 503, "the message could not be sent; try again");
        return GALE_OK;
    }
    if (chat_publish(gale_request_ctx(r), c, m, NULL, chat_new_sequenced, p) < 0) {
        chat_wait_free(p);
        gale_response_error(r, 503, "the message could not be sent; try again");
        return GALE_OK;
    }
    gale_request_cleanup(r, chat_wait_gone, p);
    return GALE_ASYNC;
}

/* The wait of a long poll ended: a message came (msg), or the time is up,
 * the worker drains or what came is lost (msg NULL: an empty answer, and
 * the client polls again). */
static void chat_updates_woke(gale_request *r, void *arg, const char *msg, size_t len)
{
    struct chat_msg m;
    if (msg && chat_msg_parse(&m, msg, len) == 0) {
        chat_answer(r, &m, 1);
        chat_msg_free(&m);
    } else {
        chat_answer(r, NULL, 0);
    }
    gale_response_finish(r);
}

static void chat_updates_woke_at(gale_request *r, void *arg, const char *msg, size_t len,
                                 uint64_t epoch, uint64_t offset)
{
    chat_updates_woke(r, arg, msg, len);
}

/* The history is read: what came after the cursor at once, or wait for
 * the next message from where the room was (no gap between the two). */
static void chat_updates_read(struct chat_read *rd)
{
    gale_request *r = rd->r;
    struct chat *c = rd->c;
    size_t from = chat_after(&rd->list, rd->cursor);
    int rc;
    if (from < rd->list.n) {
        chat_answer(r, rd->list.m + from, rd->list.n - from);
        gale_response_finish(r);
        return;
    }
    if (rd->epoch)
        rc = gale_request_wait_since(r, c->channel, rd->epoch, rd->top, c->poll_timeout,
                                     chat_updates_woke_at, NULL);
    else
        rc = gale_request_wait(r, c->channel, c->poll_timeout, chat_updates_woke, NULL);
    if (rc < 0) {
        gale_response_error(r, 503, "cannot wait for messages now");
        gale_response_finish(r);
    }
}

/* POST /a/message/updates: cursor (optional). */
static int chat_updates(gale_request *r)
{
    struct chat *c = gale_request_module_data(r);
    gale_presence *here = chat_join(gale_request_ctx(r), c, gale_request_argument(r, "visitor"),
                                    gale_request_argument(r, "name"));
    if (here)
        gale_request_cleanup(r, chat_leave, here);
    if (chat_read_for(r, gale_request_argument(r, "cursor"), chat_updates_read))
        return GALE_ASYNC;
    if (gale_request_wait(r, c->channel, c->poll_timeout, chat_updates_woke, NULL) < 0) {
        gale_response_error(r, 503, "cannot wait for messages now");
        return GALE_OK;
    }
    return GALE_ASYNC;
}

/* GET /a/message/events: the room as Server-Sent Events, each message's
 * JSON an event; EventSource resumes after a reload (Last-Event-ID) through
 * the room's history. */
static int chat_events(gale_request *r)
{
    struct chat *c = gale_request_module_data(r);
    gale_presence *here = chat_join(gale_request_ctx(r), c, gale_request_query(r, "visitor"),
                                    gale_request_query(r, "name"));
    if (here)
        gale_request_cleanup(r, chat_leave, here);
    if (gale_request_sse(r, c->channel, NULL, 25.0) < 0) {
        gale_response_error(r, 503, "cannot stream the room now");
        return GALE_OK;
    }
    return GALE_ASYNC;
}

static void chat_here_answer(void *arg, const char *channel, int status, size_t count,
                             const json_t *members)
{
    gale_request *r = chat_wait_answered(arg);
    if (!r)
        return;
    if (status < 0) {
        gale_response_error(r, 503, "cannot tell who is here now");
    } else {
        json_t *here = chat_here(count, members);
        chat_json_head(r);
        gale_response_json(r, here);
        json_decref(here);
    }
    gale_response_finish(r);
}

/* GET /a/here: {"count": N, "names": [...]}, the room's visitors. */
static int chat_here_get(gale_request *r)
{
    struct chat *c = gale_request_module_data(r);
    struct chat_wait *a = chat_wait_new(r, NULL);
    if (!a) {
        gale_response_error(r, 503, "out of memory");
        return GALE_OK;
    }
    if (gale_presence_get(gale_request_ctx(r), c->channel, chat_here_answer, a) < 0) {
        chat_wait_free(a);
        gale_response_error(r, 503, "cannot tell who is here now");
        return GALE_OK;
    }
    gale_request_cleanup(r, chat_wait_gone, a);
    return GALE_ASYNC;
}

/* ---- the socket ---- */

static void chat_ws_error(gale_ws *ws, const char *why)
{
    json_t *e = json_pack("{s:s}", "error", why);
    char *text = e ? json_dumps(e, JSON_COMPACT) : NULL;
    if (text)
        gale_ws_send(ws, text, strlen(text), 0);
    free(text);
    json_decref(e);
}

/* A socket's catch-up is read: what came after its cursor, then the live
 * messages it kept meanwhile that the history did not hold yet. */
static void chat_ws_read(struct chat_read *rd)
{
    struct chat_sock *s = rd->s;
    size_t from = chat_after(&rd->list, rd->cursor), len;
    if (from < rd->list.n) {
        char *text = chat_batch(rd->list.m + from, rd->list.n - from, &len);
        if (text)
            gale_ws_send(s->ws, text, len, 0);
        free(text);
    }
    for (size_t i = 0; i < s->pending.n; i++) {
        if (chat_after(&rd->list, s->pending.m[i].id) != 0)
            continue; /* it was in the history */
        char *text = chat_batch(&s->pending.m[i], 1, &len);
        if (text)
            gale_ws_send(s->ws, text, len, 0);
        free(text);
    }
    chat_list_clear(&s->pending);
    s->reading = NULL;
    chat_read_free(rd);
}

static void chat_ws_open(gale_ws *ws, gale_request *r)
{
    struct chat *c = gale_ctx_data(gale_ws_ctx(ws));
    struct chat_sock *s = calloc(1, sizeof(*s));
    if (!s) {
        gale_ws_close(ws, 1011, "out of memory");
        return;
    }
    s->ws = ws;
    s->here = chat_join(gale_ws_ctx(ws), c, gale_request_query(r, "visitor"),
                        gale_request_query(r, "name"));
    s->next = c->socks;
    if (c->socks)
        c->socks->prev = s;
    c->socks = s;
    gale_ws_set_data(ws, s);
    /* the catch-up comes from the history; live messages wait until it is
     * sent (no socket gets one message twice or out of order) */
    s->reading = chat_read_start(c, gale_ws_ctx(ws), gale_request_query(r, "cursor"), chat_ws_read);
    if (s->reading) {
        s->reading->for_socket = 1;
        s->reading->s = s;
    }
}

static void chat_ack_unlink_sock(struct chat_ack *a)
{
    if (a->sprev)
        a->sprev->snext = a->snext;
    else if (a->s)
        a->s->acks = a->snext;
    if (a->snext)
        a->snext->sprev = a->sprev;
    a->s = NULL;
    a->sprev = a->snext = NULL;
}

static void chat_ack_free(struct chat_ack *a)
{
    chat_ack_unlink_sock(a);
    if (a->prev)
        a->prev->next = a->next;
    else
        a->c->acks = a->next;
    if (a->next)
        a->next->prev = a->prev;
    free(a);
}

/* A socket's post is sequenced: {"ack": ID}, so that the page stops keeping
 * it to send again. A socket closed meanwhile (a reload) hears nothing: its
 * page sends the post again on its next socket, with the same id, and that
 * one is acknowledged (GALE_PUBLISH_REPEATED) without showing twice. */
static void chat_ack_sequenced(void *arg, const char *channel, int status, uint64_t epoch,
                               uint64_t offset)
{
    struct chat_ack *a = arg;
    if (a->s) {
        json_t *f = status < 0 ? json_pack("{s:s, s:s}", "error",
                                           "the message could not be sent; try again", "id", a->id)
                               : json_pack("{s:s}", "ack", a->id);
        char *text = f ? json_dumps(f, JSON_COMPACT) : NULL;
        if (text)
            gale_ws_send(a->s->ws, text, strlen(text), 0);
        free(text);
        json_decref(f);
    }
    chat_ack_free(a);
}

/* Publish a socket's post m; its id (a string, or NULL) is acknowledged
 * once the message is sequenced. 0, or -1. */
static int chat_ws_post(struct chat_sock *s, struct chat *c, gale_ctx *ctx, const json_t *m,
                        const char *id)
{
    if (!id)
        return chat_publish(ctx, c, m, NULL, NULL, NULL);
    struct chat_ack *a = calloc(1, sizeof(*a));
    if (!a)
        return -1;
    a->c = c;
    a->s = s;
    memcpy(a->id, id, CHAT_ID_HEX + 1);
    a->next = c->acks;
    if (c->acks)
        c->acks->prev = a;
    c->acks = a;
    a->snext = s->acks;
    if (s->acks)
        s->acks->sprev = a;
    s->acks = a;
    if (chat_publish(ctx, c, m, id, chat_ack_sequenced, a) < 0) {
        chat_ack_free(a);
        return -1;
    }
    return 0;
}

/* A text frame {"body": "...", "name": "..."} posts a message; with "id"
 * (32 hex digits, the page's choice) it is the message's id and the socket
 * gets {"ack": ID} once the message is sequenced, or {"error": ..., "id":
 * ID}. */
static void chat_ws_message(gale_ws *ws, const char *data, size_t len, int binary)
{
    gale_ctx *ctx = gale_ws_ctx(ws);
    struct chat *c = gale_ctx_data(ctx);
    json_t *in = binary ? NULL : json_loadb(data, len, 0, NULL);
    json_t *name = json_object_get(in, "name"), *id = json_object_get(in, "id");
    const char *why = "send a JSON object {\"body\": \"...\", \"name\": \"...\"}";
    json_t *m = NULL;

    if (json_is_object(in) && (!name || json_is_null(name) || json_is_string(name)) &&
        (!id || json_is_string(id)))
        m = chat_compose(json_string_value(json_object_get(in, "body")), json_string_value(name),
                         json_string_value(id), &why);
    if (!m)
        chat_ws_error(ws, why);
    else if (chat_ws_post(gale_ws_data(ws), c, ctx, m, json_string_value(id)) < 0)
        chat_ws_error(ws, "the message could not be sent; try again");
    json_decref(m);
    json_decref(in);
}

static void chat_ws_close(gale_ws *ws, int code, const char *reason)
{
    struct chat *c = gale_ctx_data(gale_ws_ctx(ws));
    struct chat_sock *s = gale_ws_data(ws);
    if (!s) /* the module shut down first */
        return;
    if (s->prev)
        s->prev->next = s->next;
    else
        c->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    gale_ws_set_data(ws, NULL);
    gale_presence_leave(s->here);
    if (s->reading) /* freed when it ends */
        s->reading->s = NULL;
    while (s->acks) /* its posts' answers go to no one */
        chat_ack_unlink_sock(s->acks);
    chat_list_clear(&s->pending);
    free(s);
}

/* ---- init and shutdown ---- */

/* f->data holds len bytes (and room for one more): end them with a NUL
 * and take their version. */
static int chat_file_finish(struct chat_file *f, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;

    if (EVP_Digest(f->data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
        return -1;
    f->data[len] = '\0';
    f->len = len;
    chat_hex(f->version, md, 8);
    return 0;
}

/* Read dir/name into f (blocking: init runs before any request). */
static int chat_file_load(struct chat_file *f, const char *dir, const char *name)
{
    char path[4096];
    const char *why = NULL;
    long size = -1;
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((fp = fopen(path, "rb")) == NULL)
        why = strerror(errno);
    else if (fseek(fp, 0, SEEK_END) < 0 || (size = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) < 0)
        why = "cannot tell its size";
    else if (size > CHAT_FILE_MAX)
        why = "larger than 1 MiB";
    else if ((f->data = malloc((size_t)size + 1)) == NULL)
        why = "out of memory";
    else if (fread(f->data, 1, (size_t)size, fp) != (size_t)size)
        why = "read error";
    else if (chat_file_finish(f, (size_t)size) < 0)
        why = "SHA-256 failed";
    if (fp)
        fclose(fp);
    if (why)
        gale_log(GALE_LOG_ERROR, "chat: %s: %s%s", path, why,
                 dir[0] == '/' ? ""
                               : " (the static setting is relative to gale's working "
                                 "directory)");
    return why ? -1 : 0;
}

/* The copy of name compiled into the module (chat_static.h). */
static int chat_file_embedded(struct chat_file *f, const char *name)
{
    for (const struct chat_embedded *e = chat_embedded; e->name; e++) {
        if (strcmp(e->name, name))
            continue;
        if ((f->data = malloc(e->len + 1)) == NULL)
            return -1;
        memcpy(f->data, e->data, e->len);
        return chat_file_finish(f, e->len);
    }
    gale_log(GALE_LOG_ERROR, "chat: %s is not compiled in", name);
    return -1;
}

/* name from the static folder when the settings give one, else built in. */
static int chat_file(struct chat_file *f, const char *folder, const char *name)
{
    return folder ? chat_file_load(f, folder, name) : chat_file_embedded(f, name);
}

static void chat_free(struct chat *c)
{
    if (c->sub)
        gale_unsubscribe(c->sub);
    while (c->socks) { /* their close callbacks, if any, find no data */
        struct chat_sock *s = c->socks;
        c->socks = s->next;
        gale_ws_set_data(s->ws, NULL);
        gale_presence_leave(s->here);
        while (s->acks)
            chat_ack_unlink_sock(s->acks);
        chat_list_clear(&s->pending);
        free(s);
    }
    while (c->reads) /* gale drops them unanswered */
        chat_read_free(c->reads);
    while (c->acks) /* as the reads */
        chat_ack_free(c->acks);
    if (c->presence)
        gale_unsubscribe(c->presence);
    free(c->page.data);
    free(c->js.data);
    free(c->css.data);
    free(c->channel);
    free(c->title);
    free(c->prefix);
    free(c);
}

/* The string setting `key` (strdup'd into *out), def when absent; -1 when
 * out of memory. The settings were checked (chat_check). */
static int chat_string(const json_t *settings, const char *key, const char *def, char **out)
{
    json_t *v = json_object_get(settings, key);
    *out = strdup(v ? json_string_value(v) : def);
    return *out ? 0 : -1;
}

static int chat_refuse(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int chat_refuse(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* The module's check hook: gale runs it on the settings when it checks the
 * config (gale -t, start, reload), and init runs it again before reading
 * them. 0, or -1 with what is wrong in err. */
static int chat_check(const json_t *settings, char *err, size_t errlen)
{
    static const char *const strings[] = {"channel", "title", "prefix", "static"};
    json_t *channel = json_object_get(settings, "channel");
    const char *prefix = json_string_value(json_object_get(settings, "prefix"));
    json_t *size = json_object_get(settings, "cache_size");
    json_t *timeout = json_object_get(settings, "poll_timeout");

    for (size_t i = 0; i < sizeof(strings) / sizeof(*strings); i++) {
        json_t *v = json_object_get(settings, strings[i]);
        if (v && !json_is_string(v))
            return chat_refuse(err, errlen, "%s must be a string", strings[i]);
    }
    if (prefix && *prefix && (prefix[0] != '/' || prefix[strlen(prefix) - 1] == '/'))
        return chat_refuse(err, errlen, "prefix must start with / and not end with one");
    if (channel && (json_string_length(channel) < 1 || json_string_length(channel) > 200))
        return chat_refuse(err, errlen, "channel must be 1 to 200 bytes");
    if (size && (!json_is_integer(size) || json_integer_value(size) < 1 ||
                 json_integer_value(size) > 100000))
        return chat_refuse(err, errlen, "cache_size must be an integer 1..100000");
    if (timeout && !(json_is_number(timeout) && json_number_value(timeout) >= 0 &&
                     json_number_value(timeout) <= 86400))
        return chat_refuse(err, errlen, "poll_timeout must be 0..86400 seconds");
    return 0;
}

/* The settings, checked; -1 after logging what is wrong. */
static int chat_settings(struct chat *c, const json_t *settings)
{
    json_t *size = json_object_get(settings, "cache_size");
    json_t *timeout = json_object_get(settings, "poll_timeout");
    char why[256];

    if (chat_check(settings, why, sizeof(why)) < 0) {
        gale_log(GALE_LOG_ERROR, "chat: settings: %s", why);
        return -1;
    }
    c->cache_size = size ? (size_t)json_integer_value(size) : 200;
    c->poll_timeout = timeout ? json_number_value(timeout) : 60;
    return chat_string(settings, "channel", "chat", &c->channel) < 0 ||
                   chat_string(settings, "title", "Chat", &c->title) < 0 ||
                   chat_string(settings, "prefix", "", &c->prefix) < 0
               ? -1
               : 0;
}

static int chat_init(gale_ctx *ctx, const json_t *settings)
{
    struct chat *c = calloc(1, sizeof(*c));
    char *folder = NULL;

    if (!c)
        return -1;
    if (chat_settings(c, settings) < 0 ||
        (json_object_get(settings, "static") &&
         chat_string(settings, "static", NULL, &folder) < 0) ||
        chat_file(&c->page, folder, "index.html") < 0 || chat_file(&c->js, folder, "chat.js") < 0 ||
        chat_file(&c->css, folder, "chat.css") < 0 || chat_template(NULL, c, NULL) < 0 ||
        (c->sub = gale_subscribe(ctx, c->channel, chat_on_message, c)) == NULL) {
        free(folder);
        chat_free(c);
        return -1;
    }
    free(folder);
    c->ctx = ctx;
    c->presence = gale_presence_subscribe(ctx, c->channel, chat_on_presence, c);
    gale_ctx_set_data(ctx, c);
    return 0;
}

static void chat_shutdown(gale_ctx *ctx)
{
    struct chat *c = gale_ctx_data(ctx);
    if (c)
        chat_free(c);
    gale_ctx_set_data(ctx, NULL);
}

static const gale_websocket chat_socket = {
    .open = chat_ws_open,
    .message = chat_ws_message,
    .close = chat_ws_close,
};

static const gale_handler chat_handlers[] = {
    {.name = "page", .get = chat_page},
    {.name = "static", .get = chat_static},
    {.name = "new", .post = chat_new},
    {.name = "events", .get = chat_events},
    {.name = "updates", .post = chat_updates},
    {.name = "here", .get = chat_here_get},
    {.name = "socket", .websocket = &chat_socket},
    {0},
};

GALE_MODULE_EXPORT const gale_module gale_module_entry = {
    GALE_MODULE_HEADER,
    .name = "chat",
    .version = GALE_VERSION_STRING,
    .init = chat_init,
    .shutdown = chat_shutdown,
    .handlers = chat_handlers,
    .check = chat_check,
};
