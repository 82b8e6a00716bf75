/*
 * test_pubsub_keys.c - a channel's window of idempotency keys: a key is
 * found while it is among the last `window` and younger than ttl, the ring
 * grows on demand and gives its memory back, and a smaller window (a
 * reload) takes effect.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "pubsub/pubsub_keys.h"

static void add(struct pubsub_keys *k, size_t window, const char *key, uint64_t offset, double now)
{
    pubsub_keys_add(k, window, key, strlen(key), offset, now);
}

/* The offset of key, or 0 when it is not in the window. */
static uint64_t find(const struct pubsub_keys *k, const char *key)
{
    uint64_t offset = 0;
    return pubsub_keys_find(k, key, strlen(key), &offset) ? offset : 0;
}

static void test_find(void)
{
    struct pubsub_keys k = {0};
    CU_ASSERT_EQUAL(find(&k, "a"), 0);
    add(&k, 10, "a", 1, 100);
    add(&k, 10, "bb", 2, 100);
    CU_ASSERT_EQUAL(find(&k, "a"), 1);
    CU_ASSERT_EQUAL(find(&k, "bb"), 2);
    CU_ASSERT_EQUAL(find(&k, "b"), 0); /* a prefix is another key */
    CU_ASSERT_EQUAL(find(&k, "bbb"), 0);
    char longest[PUBSUB_MAX_KEY + 2];
    memset(longest, 'x', sizeof(longest));
    longest[PUBSUB_MAX_KEY] = '\0';
    add(&k, 10, longest, 3, 100);
    CU_ASSERT_EQUAL(find(&k, longest), 3);
    longest[PUBSUB_MAX_KEY] = 'x'; /* too long: never kept */
    longest[PUBSUB_MAX_KEY + 1] = '\0';
    add(&k, 10, longest, 4, 100);
    CU_ASSERT_EQUAL(find(&k, longest), 0);
    CU_ASSERT_EQUAL(k.n, 3);
    pubsub_keys_free(&k);
    CU_ASSERT_PTR_NULL(k.ring);
}

static void test_window(void)
{
    struct pubsub_keys k = {0};
    char key[16];
    for (int i = 1; i <= 50; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        add(&k, 20, key, (uint64_t)i, 100);
    }
    CU_ASSERT_EQUAL(k.n, 20);
    CU_ASSERT(k.cap <= 20); /* grown on demand, never past the window */
    CU_ASSERT_EQUAL(find(&k, "k30"), 0);
    CU_ASSERT_EQUAL(find(&k, "k31"), 31);
    CU_ASSERT_EQUAL(find(&k, "k50"), 50);
    pubsub_keys_trim(&k, 5, 0, 100); /* a reload made it smaller */
    CU_ASSERT_EQUAL(k.n, 5);
    CU_ASSERT_EQUAL(find(&k, "k45"), 0);
    CU_ASSERT_EQUAL(find(&k, "k46"), 46);
    add(&k, 5, "new", 51, 100);
    CU_ASSERT_EQUAL(k.n, 5);
    CU_ASSERT_EQUAL(find(&k, "k46"), 0);
    CU_ASSERT_EQUAL(find(&k, "new"), 51);
    add(&k, 0, "off", 52, 100); /* window 0: no check, nothing kept */
    CU_ASSERT_EQUAL(find(&k, "off"), 0);
    pubsub_keys_free(&k);
}

static void test_ttl(void)
{
    struct pubsub_keys k = {0};
    add(&k, 100, "old", 1, 100);
    add(&k, 100, "mid", 2, 150);
    add(&k, 100, "new", 3, 200);
    pubsub_keys_trim(&k, 100, 60, 200);
    CU_ASSERT_EQUAL(find(&k, "old"), 0);
    CU_ASSERT_EQUAL(find(&k, "mid"), 2);
    pubsub_keys_trim(&k, 100, 0, 1e9); /* ttl 0: no age limit */
    CU_ASSERT_EQUAL(find(&k, "mid"), 2);
    pubsub_keys_trim(&k, 100, 60, 1000); /* all too old: the memory goes back */
    CU_ASSERT_EQUAL(k.n, 0);
    CU_ASSERT_PTR_NULL(k.ring);
    add(&k, 100, "again", 4, 1000);
    CU_ASSERT_EQUAL(find(&k, "again"), 4);
    pubsub_keys_free(&k);
}

int main(void)
{
    CU_pSuite suite;
    unsigned failed;

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    suite = CU_add_suite("pubsub_keys", NULL, NULL);
    CU_add_test(suite, "a key is found by its bytes", test_find);
    CU_add_test(suite, "the last `window` keys", test_window);
    CU_add_test(suite, "keys older than ttl go", test_ttl);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
