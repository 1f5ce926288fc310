/* Bump allocation in chunks; see arena.h for the lifetime rules. */
#include "util/arena.h"

#include <stdlib.h>
#include <string.h>

struct farena_chunk {
  farena_chunk *next;
  size_t size; /* usable bytes after the header */
  size_t used;
  _Alignas(16) unsigned char mem[];
};

void farena_init(farena *a, size_t chunk_size, size_t limit) {
  a->head = NULL;
  a->chunk_size = chunk_size ? chunk_size : 64 * 1024;
  a->total = 0;
  a->limit = limit;
}

void *farena_alloc(farena *a, size_t n, floe_error *err) {
  size_t need = (n + 15) & ~(size_t)15;
  if (need < n) {
    ferr_nomem(err, n);
    return NULL;
  }
  farena_chunk *c = a->head;
  if (c && c->size - c->used >= need) {
    void *p = c->mem + c->used;
    c->used += need;
    return p;
  }
  size_t size = need > a->chunk_size ? need : a->chunk_size;
  if (a->limit && (size > a->limit || a->total > a->limit - size)) {
    ferr_set(err, FLOE_ENOMEM, "arena limit of %zu bytes reached", a->limit);
    return NULL;
  }
  c = malloc(sizeof *c + size);
  if (!c) {
    ferr_nomem(err, size);
    return NULL;
  }
  c->size = size;
  c->used = need;
  c->next = a->head;
  a->head = c;
  a->total += size;
  return c->mem;
}

void *farena_dup(farena *a, const void *p, size_t n, floe_error *err) {
  void *q = farena_alloc(a, n ? n : 1, err);
  if (q && n) memcpy(q, p, n);
  return q;
}

char *farena_strdup(farena *a, const char *s, floe_error *err) {
  size_t n = strlen(s) + 1;
  return farena_dup(a, s, n, err);
}

void farena_reset(farena *a) {
  farena_chunk *c = a->head;
  if (!c) return;
  /* keep the oldest chunk: it is the one sized for steady-state use */
  while (c->next) {
    farena_chunk *next = c->next;
    a->total -= c->size;
    free(c);
    c = next;
  }
  c->used = 0;
  a->head = c;
}

void farena_free(farena *a) {
  farena_chunk *c = a->head;
  while (c) {
    farena_chunk *next = c->next;
    free(c);
    c = next;
  }
  a->head = NULL;
  a->total = 0;
}
