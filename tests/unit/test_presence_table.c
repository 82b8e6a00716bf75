/*
 * test_presence_table.c - the master's presence table: members and their
 * handles, the linger after the last handle went, a dead worker's members,
 * and the events and lists it sends.
 */
#include <CUnit/Basic.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/ipc.h"
#include "pubsub/pubsub.h"
#include "pubsub/pubsub_presence.h"

#define LONG 1000.0 /* a linger that never runs out during a test */

/* The events relayed, as "join ID NAME" lines, and their channel. */
static char events[4096];
static char event_channel[PUBSUB_MAX_NAME];

static void relay(void *arg, const void *a, size_t alen, const void *b, size_t blen)
{
    const unsigned char *head = a;
    (void)arg;
    CU_ASSERT_EQUAL(alen, 17 + (size_t)head[16]);
    CU_ASSERT_EQUAL(head[17], '\0'); /* the presence stream: NUL + channel */
    memcpy(event_channel, head + 18, head[16] - 1);
    event_channel[head[16] - 1] = '\0';
    json_t *ev = json_loadb(b, blen, 0, NULL);
    const char *name = json_string_value(json_object_get(json_object_get(ev, "info"), "name"));
    size_t n = strlen(events);
    snprintf(events + n, sizeof(events) - n, "%s %s %s\n",
             json_string_value(json_object_get(ev, "event")),
             json_string_value(json_object_get(ev, "id")), name ? name : "-");
    json_decref(ev);
}

static void join(pid_t pid, uint32_t handle, const char *channel, const char *id, const char *name)
{
    unsigned char p[1024];
    size_t chlen = strlen(channel), idlen = strlen(id), at;
    memcpy(p, &handle, 4);
    p[4] = (unsigned char)chlen;
    memcpy(p + 5, channel, chlen);
    p[5 + chlen] = (unsigned char)idlen;
    memcpy(p + 6 + chlen, id, idlen);
    at = 6 + chlen + idlen;
    at += (size_t)sprintf((char *)p + at, "{\"name\":\"%s\"}", name);
    CU_ASSERT_EQUAL(pubsub_presence_table_join(pid, p, at, relay, NULL), 0);
}

static void leave(pid_t pid, uint32_t handle, double timeout)
{
    CU_ASSERT_EQUAL(pubsub_presence_table_leave(pid, &handle, 4, timeout), 0);
}

/* The answer to IPC_PRESENCE_GET. */
static json_t *answer;

static int answer_to(void *arg, uint32_t type, const void *a, size_t alen, const void *b,
                     size_t blen)
{
    (void)arg;
    CU_ASSERT_EQUAL(type, IPC_PRESENCE_LIST);
    CU_ASSERT_EQUAL(alen, 4);
    answer = json_loadb(b, blen, 0, NULL);
    return 0;
}

/* "count: id=name id=name" of channel, members in any order sorted. */
static const char *list(const char *channel)
{
    static char out[1024];
    unsigned char p[256];
    uint32_t token = 7;
    size_t chlen = strlen(channel);
    memcpy(p, &token, 4);
    p[4] = (unsigned char)chlen;
    memcpy(p + 5, channel, chlen);
    CU_ASSERT_EQUAL(pubsub_presence_table_get(p, 5 + chlen, answer_to, NULL), 0);
    json_t *members = json_object_get(answer, "members");
    const char *items[64];
    size_t n = json_array_size(members);
    for (size_t i = 0; i < n && i < 64; i++) {
        json_t *m = json_array_get(members, i);
        static char buf[64][128];
        snprintf(buf[i], sizeof(buf[i]), "%s=%s", json_string_value(json_object_get(m, "id")),
                 json_string_value(json_object_get(json_object_get(m, "info"), "name")));
        items[i] = buf[i];
    }
    for (size_t i = 1; i < n; i++) /* sort: the table's order is its own */
        for (size_t j = i; j > 0 && strcmp(items[j - 1], items[j]) > 0; j--) {
            const char *t = items[j];
            items[j] = items[j - 1];
            items[j - 1] = t;
        }
    int at = snprintf(out, sizeof(out),
                      "%lld:", (long long)json_integer_value(json_object_get(answer, "count")));
    for (size_t i = 0; i < n; i++)
        at += snprintf(out + at, sizeof(out) - (size_t)at, " %s", items[i]);
    json_decref(answer);
    answer = NULL;
    return out;
}

static void reset(void)
{
    pubsub_presence_table_free();
    events[0] = '\0';
}

static void test_join_list_and_leave(void)
{
    reset();
    join(100, 1, "room", "a", "Ann");
    join(200, 1, "room", "b", "Bob");
    CU_ASSERT_STRING_EQUAL(events, "join a Ann\njoin b Bob\n");
    CU_ASSERT_STRING_EQUAL(event_channel, "room");
    CU_ASSERT_STRING_EQUAL(list("room"), "2: a=Ann b=Bob");
    CU_ASSERT_STRING_EQUAL(list("other"), "0:");
    leave(100, 1, 0);
    CU_ASSERT_STRING_EQUAL(list("room"), "2: a=Ann b=Bob"); /* until the tick */
    pubsub_presence_table_tick(relay, NULL);
    CU_ASSERT_STRING_EQUAL(events, "join a Ann\njoin b Bob\nleave a Ann\n");
    CU_ASSERT_STRING_EQUAL(list("room"), "1: b=Bob");
}

static void test_one_member_many_handles(void)
{
    reset();
    join(100, 1, "room", "a", "Ann");
    join(200, 9, "room", "a", "Annie"); /* another tab, another worker */
    CU_ASSERT_STRING_EQUAL(events, "join a Ann\n");
    CU_ASSERT_STRING_EQUAL(list("room"), "1: a=Annie"); /* the latest join's info */
    leave(100, 1, 0);
    pubsub_presence_table_tick(relay, NULL);
    CU_ASSERT_STRING_EQUAL(list("room"), "1: a=Annie");
    leave(200, 9, 0);
    pubsub_presence_table_tick(relay, NULL);
    CU_ASSERT_STRING_EQUAL(events, "join a Ann\nleave a Annie\n");
    CU_ASSERT_STRING_EQUAL(list("room"), "0:");
}

static void test_a_quick_return_is_no_leave(void)
{
    reset();
    join(100, 1, "room", "a", "Ann");
    leave(100, 1, LONG);
    pubsub_presence_table_tick(relay, NULL);
    CU_ASSERT_STRING_EQUAL(list("room"), "1: a=Ann"); /* lingering */
    join(300, 2, "room", "a", "Ann");                 /* back, on a new worker */
    pubsub_presence_table_tick(relay, NULL);
    CU_ASSERT_STRING_EQUAL(events, "join a Ann\n");
    leave(300, 2, 0);
    pubsub_presence_table_tick(relay, NULL);
    CU_ASSERT_STRING_EQUAL(events, "join a Ann\nleave a Ann\n");
}

static void test_a_dead_workers_members(void)
{
    reset();
    join(100, 1, "room", "a", "Ann");
    join(100, 2, "hall", "b", "Bob");
    join(200, 1, "room", "c", "Cid");
    join(200, 2, "room", "a", "Ann"); /* a is held by the other worker too */
    pubsub_presence_table_worker_gone(100, 0);
    pubsub_presence_table_tick(relay, NULL);
    CU_ASSERT_STRING_EQUAL(events, "join a Ann\njoin b Bob\njoin c Cid\nleave b Bob\n");
    CU_ASSERT_STRING_EQUAL(list("room"), "2: a=Ann c=Cid");
    CU_ASSERT_STRING_EQUAL(list("hall"), "0:");
    leave(100, 1, 0); /* a leave from the dead worker, read late: nothing */
    pubsub_presence_table_tick(relay, NULL);
    CU_ASSERT_STRING_EQUAL(list("room"), "2: a=Ann c=Cid");
}

static void test_malformed(void)
{
    unsigned char p[16] = {0};
    reset();
    CU_ASSERT_EQUAL(pubsub_presence_table_join(1, p, 3, relay, NULL), -1);
    CU_ASSERT_EQUAL(pubsub_presence_table_join(1, p, 8, relay, NULL), -1); /* no channel */
    p[4] = 1;
    p[5] = 'x';
    CU_ASSERT_EQUAL(pubsub_presence_table_join(1, p, 7, relay, NULL), -1); /* no id */
    CU_ASSERT_EQUAL(pubsub_presence_table_leave(1, p, 3, 0), -1);
    CU_ASSERT_EQUAL(pubsub_presence_table_get(p, 7, answer_to, NULL), -1);
    CU_ASSERT_STRING_EQUAL(events, "");
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("presence_table", NULL, NULL);
    CU_add_test(s, "join, list and leave after the linger", test_join_list_and_leave);
    CU_add_test(s, "one member, many handles", test_one_member_many_handles);
    CU_add_test(s, "a quick return is no leave", test_a_quick_return_is_no_leave);
    CU_add_test(s, "a dead worker's members", test_a_dead_workers_members);
    CU_add_test(s, "malformed messages", test_malformed);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned int failed = CU_get_number_of_failures();
    pubsub_presence_table_free();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
