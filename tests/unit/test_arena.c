/*
 * test_arena.c - the request arena: alignment, growth, big blocks, realloc,
 * cleanups in reverse order, reset.
 */
#include <CUnit/Basic.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"

static int order[8];
static int norder;

static void record(void *arg)
{
    order[norder++] = (int)(intptr_t)arg;
}

static void test_alignment_and_growth(void)
{
    struct arena *a = arena_new(256);
    for (int i = 0; i < 1000; i++) {
        void *p = arena_alloc(a, (size_t)(i % 37) + 1);
        CU_ASSERT_EQUAL((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)(i % 37) + 1);
    }
    char *big = arena_alloc(a, 100000);
    memset(big, 1, 100000);
    CU_ASSERT_PTR_NOT_NULL(arena_calloc(a, 10));
    arena_free(a);
}

static void test_strings(void)
{
    struct arena *a = arena_new(64);
    CU_ASSERT_STRING_EQUAL(arena_strndup(a, "hello world", 5), "hello");
    CU_ASSERT_STRING_EQUAL(arena_strdup(a, "x"), "x");
    va_list ap;
    (void)ap;
    arena_free(a);
}

static void test_realloc(void)
{
    struct arena *a = arena_new(1024);
    char *p = arena_alloc(a, 10);
    memcpy(p, "abcdefghi", 10);
    char *q = arena_realloc(a, p, 10, 100);
    CU_ASSERT_PTR_EQUAL(p, q); /* last allocation grows in place */
    CU_ASSERT_STRING_EQUAL(q, "abcdefghi");
    arena_alloc(a, 8);
    char *r = arena_realloc(a, q, 100, 5000);
    CU_ASSERT_STRING_EQUAL(r, "abcdefghi");
    arena_free(a);
}

static void test_cleanups(void)
{
    struct arena *a = arena_new(256);
    norder = 0;
    arena_cleanup_add(a, record, (void *)1);
    arena_cleanup_add(a, record, (void *)2);
    arena_cleanup_add(a, record, (void *)3);
    arena_cleanup_remove(a, record, (void *)2);
    arena_reset(a);
    CU_ASSERT_EQUAL(norder, 2);
    CU_ASSERT_EQUAL(order[0], 3);
    CU_ASSERT_EQUAL(order[1], 1);
    arena_alloc(a, 5000);
    arena_cleanup_add(a, record, (void *)4);
    arena_free(a);
    CU_ASSERT_EQUAL(norder, 3);
    CU_ASSERT_EQUAL(order[2], 4);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("arena", NULL, NULL);
    CU_add_test(s, "alignment and growth", test_alignment_and_growth);
    CU_add_test(s, "strings", test_strings);
    CU_add_test(s, "realloc", test_realloc);
    CU_add_test(s, "cleanups", test_cleanups);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
