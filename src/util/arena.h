/*
 * farena: a bump allocator for memory that dies all at once (a batch, a
 * message, a commit). Allocation is a pointer bump inside a chunk; reset keeps
 * the first chunk for reuse and frees the rest; free releases everything.
 *
 * Pointers from farena_alloc are valid until the next farena_reset or
 * farena_free of that arena. Never free() them.
 *
 * limit (0 = none) caps the bytes the arena may hold, so a host can bound
 * memory per lifetime; an allocation over the limit fails with FLOE_ENOMEM.
 */
#ifndef FLOE_UTIL_ARENA_H
#define FLOE_UTIL_ARENA_H

#include <stddef.h>

#include "util/error.h"

typedef struct farena_chunk farena_chunk;

typedef struct farena {
  farena_chunk *head; /* newest chunk first */
  size_t chunk_size;  /* default size of a new chunk */
  size_t total;       /* bytes held in chunks */
  size_t limit;       /* 0 = unlimited */
} farena;

void farena_init(farena *a, size_t chunk_size, size_t limit);
/* 16-byte aligned, uninitialised memory; NULL (and err set) on failure. */
void *farena_alloc(farena *a, size_t n, floe_error *err);
/* Copies n bytes into the arena. */
void *farena_dup(farena *a, const void *p, size_t n, floe_error *err);
char *farena_strdup(farena *a, const char *s, floe_error *err);
void farena_reset(farena *a);
void farena_free(farena *a);

#endif
