/*
 * arena.c - region allocator: a chain of blocks, bump allocation, cleanups.
 */
#include "core/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define ARENA_ALIGN 16
#define ARENA_BIG 4096 /* allocations above this get a block of their own */

struct arena_block {
    struct arena_block *next;
    size_t size;
    size_t used;
    _Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena_cleanup {
    struct arena_cleanup *next;
    void (*fn)(void *);
    void *arg;
};

struct arena {
    struct arena_block *head; /* current block; the first block is last in the chain */
    struct arena_block *first;
    struct arena_cleanup *cleanups;
    void *last; /* the last allocation, for arena_realloc in place */
    size_t block_size;
};

static struct arena_block *arena_block_new(size_t size)
{
    struct arena_block *b = xmalloc(sizeof(*b) + size);
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

struct arena *arena_new(size_t size)
{
    struct arena *a = xmalloc(sizeof(*a));
    if (size < 256)
        size = 256;
    a->first = a->head = arena_block_new(size);
    a->cleanups = NULL;
    a->last = NULL;
    a->block_size = size;
    return a;
}

static void arena_run_cleanups(struct arena *a)
{
    while (a->cleanups) {
        struct arena_cleanup *c = a->cleanups;
        a->cleanups = c->next;
        c->fn(c->arg);
    }
}

static void arena_free_blocks(struct arena *a)
{
    struct arena_block *b = a->head;
    while (b) {
        struct arena_block *next = b->next;
        if (b != a->first)
            free(b);
        b = next;
    }
    a->head = a->first;
    a->first->next = NULL;
    a->first->used = 0;
    a->last = NULL;
}

void arena_reset(struct arena *a)
{
    arena_run_cleanups(a);
    arena_free_blocks(a);
}

void arena_free(struct arena *a)
{
    if (!a)
        return;
    arena_reset(a);
    free(a->first);
    free(a);
}

/* A big allocation gets a block of its own, linked behind the current one so
 * that the current block's free space is still used. */
static void *arena_alloc_big(struct arena *a, size_t size)
{
    struct arena_block *b = arena_block_new(size);
    b->used = size;
    b->next = a->head->next;
    a->head->next = b;
    return b->data;
}

void *arena_alloc(struct arena *a, size_t size)
{
    size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    struct arena_block *b = a->head;
    if (need < size)
        util_oom();
    if (b->size - b->used < need) {
        if (need > ARENA_BIG)
            return a->last = arena_alloc_big(a, need);
        b = arena_block_new(a->block_size > need ? a->block_size : need);
        b->next = a->head;
        a->head = b;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->last = p;
    return p;
}

void *arena_calloc(struct arena *a, size_t size)
{
    void *p = arena_alloc(a, size);
    memset(p, 0, size);
    return p;
}

void *arena_realloc(struct arena *a, void *p, size_t old, size_t size)
{
    struct arena_block *b = a->head;
    if (p && p == a->last && (unsigned char *)p >= b->data &&
        (unsigned char *)p < b->data + b->size) {
        size_t off = (size_t)((unsigned char *)p - b->data);
        size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
        if (off + need <= b->size && need >= size) {
            b->used = off + need;
            return p;
        }
    }
    void *n = arena_alloc(a, size);
    if (p && old)
        memcpy(n, p, old < size ? old : size);
    return n;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0)
        return arena_strdup(a, "");
    char *p = arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

void arena_cleanup_add(struct arena *a, void (*fn)(void *), void *arg)
{
    struct arena_cleanup *c = arena_alloc(a, sizeof(*c));
    c->fn = fn;
    c->arg = arg;
    c->next = a->cleanups;
    a->cleanups = c;
}

void arena_cleanup_remove(struct arena *a, void (*fn)(void *), void *arg)
{
    for (struct arena_cleanup **pp = &a->cleanups; *pp; pp = &(*pp)->next) {
        if ((*pp)->fn == fn && (*pp)->arg == arg) {
            *pp = (*pp)->next;
            return;
        }
    }
}
