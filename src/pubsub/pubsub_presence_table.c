/*
 * pubsub_presence_table.c - the master's table of who is in each channel
 * (backend "local"; see pubsub_presence.h).
 *
 * Channel -> member -> the handles (worker pid, handle id) holding it. A
 * member whose last handle went keeps its place until `gone_at`, so that a
 * client reconnecting at once takes it back without a visible leave; the
 * master's tick makes the lingering ones leave. Channels are few and
 * members per channel a chat's worth: lists, walked in full.
 */
#include "pubsub/pubsub_presence.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/ipc.h"
#include "core/log.h"
#include "core/util.h"
#include "pubsub/pubsub.h"

struct pubsub_presence_ref {
    pid_t pid;
    uint32_t id;
    struct pubsub_presence_ref *next;
};

struct pubsub_presence_member {
    char *id, *info; /* owned; info: JSON text of the latest join */
    struct pubsub_presence_ref *refs;
    double gone_at; /* no handle left: leaves then (util_now() time) */
    struct pubsub_presence_member *next;
};

struct pubsub_presence_channel {
    char *name; /* owned */
    size_t len;
    struct pubsub_presence_member *members;
    size_t count;
    struct pubsub_presence_channel *next;
};

static struct {
    struct pubsub_presence_channel *channels;
} T;

static struct pubsub_presence_channel *pubsub_presence_table_channel(const char *name, size_t len,
                                                                     int make)
{
    for (struct pubsub_presence_channel *c = T.channels; c; c = c->next)
        if (c->len == len && !memcmp(c->name, name, len))
            return c;
    if (!make)
        return NULL;
    struct pubsub_presence_channel *c = xcalloc(1, sizeof(*c));
    c->name = xmalloc(len + 1);
    memcpy(c->name, name, len);
    c->name[len] = '\0';
    c->len = len;
    c->next = T.channels;
    T.channels = c;
    return c;
}

/* {"event": event, "id": id, "info": info} on c's presence stream. */
static void pubsub_presence_table_event(const struct pubsub_presence_channel *c,
                                        const struct pubsub_presence_member *m, const char *event,
                                        pubsub_relay_fn each, void *each_arg)
{
    json_t *info = json_loads(m->info, 0, NULL);
    json_t *ev = json_pack("{s:s, s:s, s:o}", "event", event, "id", m->id, "info",
                           info ? info : json_object());
    char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
    json_decref(ev);
    if (!text)
        return;
    uint64_t pos[2] = {0, 0}; /* presence events have no place in a history */
    unsigned char head[16 + 1 + PUBSUB_MAX_NAME];
    memcpy(head, pos, 16);
    head[16] = (unsigned char)(c->len + 1);
    head[17] = '\0';
    memcpy(head + 18, c->name, c->len);
    each(each_arg, head, 18 + c->len, text, strlen(text));
    free(text);
}

int pubsub_presence_table_join(pid_t pid, const void *payload, size_t len, pubsub_relay_fn each,
                               void *each_arg)
{
    const unsigned char *p = payload;
    if (len < 6 || p[4] == 0 || p[4] > PUBSUB_MAX_CHANNEL || len < 6 + (size_t)p[4])
        return -1;
    size_t chlen = p[4], idlen = p[5 + chlen];
    if (idlen == 0 || len < 6 + chlen + idlen)
        return -1;
    struct pubsub_presence_ref *ref = xcalloc(1, sizeof(*ref));
    ref->pid = pid;
    memcpy(&ref->id, p, 4);
    const char *id = (const char *)p + 6 + chlen;
    const char *info = id + idlen;
    size_t infolen = len - 6 - chlen - idlen;
    struct pubsub_presence_channel *c =
        pubsub_presence_table_channel((const char *)p + 5, chlen, 1);
    struct pubsub_presence_member *m = c->members;
    while (m && (strlen(m->id) != idlen || memcmp(m->id, id, idlen)))
        m = m->next;
    int fresh = !m;
    if (fresh) {
        m = xcalloc(1, sizeof(*m));
        m->id = xmalloc(idlen + 1);
        memcpy(m->id, id, idlen);
        m->id[idlen] = '\0';
        m->next = c->members;
        c->members = m;
        c->count++;
    }
    free(m->info);
    m->info = xmalloc(infolen + 1);
    memcpy(m->info, info, infolen);
    m->info[infolen] = '\0';
    ref->next = m->refs;
    m->refs = ref;
    m->gone_at = 0;
    if (fresh)
        pubsub_presence_table_event(c, m, "join", each, each_arg);
    return 0;
}

/* Drop the refs of pid (with id, or all when all is set); a member left
 * with none starts to linger. */
static void pubsub_presence_table_drop(pid_t pid, uint32_t id, int all, double timeout)
{
    double gone_at = util_now() + timeout;
    for (struct pubsub_presence_channel *c = T.channels; c; c = c->next) {
        for (struct pubsub_presence_member *m = c->members; m; m = m->next) {
            int had = m->refs != NULL;
            for (struct pubsub_presence_ref **pp = &m->refs; *pp;) {
                struct pubsub_presence_ref *r = *pp;
                if (r->pid == pid && (all || r->id == id)) {
                    *pp = r->next;
                    free(r);
                    if (!all) {
                        if (!m->refs)
                            m->gone_at = gone_at;
                        return;
                    }
                } else {
                    pp = &r->next;
                }
            }
            if (had && !m->refs)
                m->gone_at = gone_at;
        }
    }
}

int pubsub_presence_table_leave(pid_t pid, const void *payload, size_t len, double timeout)
{
    uint32_t id;
    if (len != 4)
        return -1;
    memcpy(&id, payload, 4);
    pubsub_presence_table_drop(pid, id, 0, timeout);
    return 0;
}

void pubsub_presence_table_worker_gone(pid_t pid, double timeout)
{
    pubsub_presence_table_drop(pid, 0, 1, timeout);
}

static void pubsub_presence_table_member_free(struct pubsub_presence_member *m)
{
    while (m->refs) {
        struct pubsub_presence_ref *r = m->refs;
        m->refs = r->next;
        free(r);
    }
    free(m->id);
    free(m->info);
    free(m);
}

void pubsub_presence_table_tick(pubsub_relay_fn each, void *each_arg)
{
    double now = util_now();
    for (struct pubsub_presence_channel **cp = &T.channels; *cp;) {
        struct pubsub_presence_channel *c = *cp;
        for (struct pubsub_presence_member **mp = &c->members; *mp;) {
            struct pubsub_presence_member *m = *mp;
            if (m->refs || now < m->gone_at) {
                mp = &m->next;
                continue;
            }
            *mp = m->next;
            c->count--;
            pubsub_presence_table_event(c, m, "leave", each, each_arg);
            pubsub_presence_table_member_free(m);
        }
        if (c->members) {
            cp = &c->next;
            continue;
        }
        *cp = c->next;
        free(c->name);
        free(c);
    }
}

/* {"count": N, "members": [...]}: as many members as fit in one IPC
 * message (count says how many there are). */
static char *pubsub_presence_table_list(const struct pubsub_presence_channel *c)
{
    json_t *members = json_array();
    size_t room = IPC_MAX_PAYLOAD - 64, used = 0;
    for (const struct pubsub_presence_member *m = c ? c->members : NULL; m; m = m->next) {
        used += strlen(m->id) * 6 + strlen(m->info) + 32; /* the worst escaping of the id */
        if (used > room)
            break;
        json_t *info = json_loads(m->info, 0, NULL);
        json_array_append_new(
            members, json_pack("{s:s, s:o}", "id", m->id, "info", info ? info : json_object()));
    }
    json_t *list =
        json_pack("{s:I, s:o}", "count", (json_int_t)(c ? c->count : 0), "members", members);
    char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
    json_decref(list);
    return text;
}

int pubsub_presence_table_get(const void *payload, size_t len, pubsub_answer_fn to, void *to_arg)
{
    const unsigned char *p = payload;
    if (len < 5 || p[4] == 0 || p[4] > PUBSUB_MAX_CHANNEL || len != 5 + (size_t)p[4])
        return -1;
    struct pubsub_presence_channel *c = pubsub_presence_table_channel((const char *)p + 5, p[4], 0);
    char *text = pubsub_presence_table_list(c);
    if (!text)
        util_oom();
    to(to_arg, IPC_PRESENCE_LIST, p, 4, text, strlen(text));
    free(text);
    return 0;
}

void pubsub_presence_table_free(void)
{
    while (T.channels) {
        struct pubsub_presence_channel *c = T.channels;
        T.channels = c->next;
        while (c->members) {
            struct pubsub_presence_member *m = c->members;
            c->members = m->next;
            pubsub_presence_table_member_free(m);
        }
        free(c->name);
        free(c);
    }
}
