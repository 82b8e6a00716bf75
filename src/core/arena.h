/*
 * arena.h - a region allocator with cleanup hooks.
 *
 * Everything a request allocates comes from its arena and is freed at once
 * when the request ends (arena_reset or arena_free); cleanup hooks free what
 * was not allocated here (jansson values, timers, files). Allocation failure
 * aborts the process: a worker without memory cannot answer anyway, and the
 * master replaces it.
 */
#ifndef GALE_ARENA_H
#define GALE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

/* A new arena whose first block holds `size` bytes (kept across resets). */
struct arena *arena_new(size_t size);
/* Run the cleanups (last added first) and free everything. NULL is fine. */
void arena_free(struct arena *a);
/* Run the cleanups and forget every allocation, keeping the first block. */
void arena_reset(struct arena *a);

void *arena_alloc(struct arena *a, size_t size); /* aligned for any type */
void *arena_calloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap);
/* Grow the last allocation `p` (of `old` bytes) to `size`, in place if it was
 * the last one, else by copying. */
void *arena_realloc(struct arena *a, void *p, size_t old, size_t size);

void arena_cleanup_add(struct arena *a, void (*fn)(void *), void *arg);
/* Drop a cleanup before it runs (the object was freed early). */
void arena_cleanup_remove(struct arena *a, void (*fn)(void *), void *arg);

#endif
