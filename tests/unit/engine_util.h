/*
 * Test helper for the table engine tests (header-only): a temp warehouse, a
 * table of (id int64 key, v utf8, n int32), rows built through floe_row, and
 * scans read back from the Arrow stream into sorted (id, v, n) triples that
 * tests compare with an expected set row by row.
 */
#ifndef FLOE_TESTS_ENGINE_UTIL_H
#define FLOE_TESTS_ENGINE_UTIL_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "columnar/arrow.h"
#include "floe/floe.h"

#define EOK(x)                                                                 \
  do {                                                                         \
    floe_error e_;                                                             \
    memset(&e_, 0, sizeof e_);                                                 \
    floe_status s_ = (x);                                                      \
    if (s_ != FLOE_OK) {                                                       \
      fprintf(stderr, "%s:%d: %s: %s (%d)\n", __FILE__, __LINE__, #x, e_.msg,  \
              (int)s_);                                                        \
      abort();                                                                 \
    }                                                                          \
  } while (0)
#define E (&e_)

typedef struct erow {
  int64_t id;
  int has_v;
  char v[64];
  int has_n;
  int32_t n;
} erow;

typedef struct eset {
  int n, cap;
  erow *r;
} eset;

static inline void eset_add(eset *s, int64_t id, const char *v, int has_n,
                            int32_t n) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->r = realloc(s->r, (size_t)s->cap * sizeof *s->r);
  }
  erow *r = &s->r[s->n++];
  memset(r, 0, sizeof *r);
  r->id = id;
  r->has_v = v != NULL;
  if (v) snprintf(r->v, sizeof r->v, "%s", v);
  r->has_n = has_n;
  r->n = n;
}

/* Removes one row equal to (id, v, n); returns 1 if found. */
static inline int eset_del_id(eset *s, int64_t id) {
  for (int i = 0; i < s->n; i++)
    if (s->r[i].id == id) {
      s->r[i] = s->r[--s->n];
      return 1;
    }
  return 0;
}

static inline int erow_cmp(const void *a, const void *b) {
  const erow *x = a, *y = b;
  if (x->id != y->id) return x->id < y->id ? -1 : 1;
  if (x->has_v != y->has_v) return x->has_v - y->has_v;
  int c = strcmp(x->v, y->v);
  if (c) return c;
  if (x->has_n != y->has_n) return x->has_n - y->has_n;
  return x->n < y->n ? -1 : x->n > y->n;
}

static inline void eset_sort(eset *s) {
  if (s->n) qsort(s->r, (size_t)s->n, sizeof *s->r, erow_cmp);
}

static inline void eset_free(eset *s) {
  free(s->r);
  memset(s, 0, sizeof *s);
}

static inline int abit(const void *buf, int64_t i) {
  return !buf || ((((const uint8_t *)buf)[i >> 3] >> (i & 7)) & 1);
}

/* Reads a stream of (id, v, n) columns (any subset in that order: ncols
 * 1..3) into out. */
static inline int read_stream(struct ArrowArrayStream *st, eset *out) {
  struct ArrowArray a;
  for (;;) {
    memset(&a, 0, sizeof a);
    if (st->get_next(st, &a)) {
      fprintf(stderr, "stream: %s\n", st->get_last_error(st));
      st->release(st);
      return -1;
    }
    if (!a.release) break;
    for (int64_t i = 0; i < a.length; i++) {
      erow r;
      memset(&r, 0, sizeof r);
      const struct ArrowArray *c0 = a.children[0];
      const int64_t *ids = c0->buffers[1];
      r.id = ids[i + c0->offset];
      if (a.n_children > 1) {
        const struct ArrowArray *c1 = a.children[1];
        int64_t k = i + c1->offset;
        if (abit(c1->buffers[0], k)) {
          const int32_t *off = c1->buffers[1];
          const char *d = c1->buffers[2];
          int len = off[k + 1] - off[k];
          r.has_v = 1;
          snprintf(r.v, sizeof r.v, "%.*s", len, d ? d + off[k] : "");
        }
      }
      if (a.n_children > 2) {
        const struct ArrowArray *c2 = a.children[2];
        int64_t k = i + c2->offset;
        if (abit(c2->buffers[0], k)) {
          r.has_n = 1;
          r.n = ((const int32_t *)c2->buffers[1])[k];
        }
      }
      if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 64;
        out->r = realloc(out->r, (size_t)out->cap * sizeof *out->r);
      }
      out->r[out->n++] = r;
    }
    a.release(&a);
  }
  st->release(st);
  return 0;
}

/* Scans rs (all columns) into a sorted set. */
static inline eset scan_rs(floe_read_state *rs) {
  eset s = {0, 0, NULL};
  struct ArrowArrayStream st;
  EOK(floe_scan(rs, NULL, 0, &st, E));
  if (read_stream(&st, &s)) abort();
  eset_sort(&s);
  return s;
}

/* Compares the table's current view (a fresh read state) with want. */
static inline int check_view(floe_table *t, eset *want, const char *where) {
  floe_read_state *rs = NULL;
  EOK(floe_read_state_get(t, 0, 0, &rs, E));
  eset got = scan_rs(rs);
  eset_sort(want);
  int bad = 0;
  if (got.n != want->n || floe_read_state_rows(rs) != want->n) {
    fprintf(stderr, "%s: %d rows (read state says %lld), want %d\n", where,
            got.n, (long long)floe_read_state_rows(rs), want->n);
    bad = 1;
  }
  for (int i = 0; i < got.n && i < want->n && !bad; i++)
    if (erow_cmp(&got.r[i], &want->r[i])) {
      fprintf(stderr,
              "%s: row %d is (%" PRId64 ", %s%s, %d%s), want (%" PRId64
              ", %s%s, %d%s)\n",
              where, i, got.r[i].id, got.r[i].v, got.r[i].has_v ? "" : "?",
              got.r[i].n, got.r[i].has_n ? "" : "?", want->r[i].id,
              want->r[i].v, want->r[i].has_v ? "" : "?", want->r[i].n,
              want->r[i].has_n ? "" : "?");
      bad = 1;
    }
  if (bad && getenv("EDEBUG"))
    for (int i = 0; i < got.n || i < want->n; i++)
      fprintf(stderr, "  got %lld %s %d | want %lld %s %d\n",
              i < got.n ? (long long)got.r[i].id : -1,
              i < got.n ? got.r[i].v : "", i < got.n ? got.r[i].n : 0,
              i < want->n ? (long long)want->r[i].id : -1,
              i < want->n ? want->r[i].v : "", i < want->n ? want->r[i].n : 0);
  eset_free(&got);
  floe_read_state_release(rs);
  return bad;
}

typedef struct efx {
  char dir[64];
  floe_table_ref ref;
  floe_table_config cfg;
  floe_table *t;
  floe_row *r, *o;
} efx;

static const floe_column ECOLS[3] = {
    {"id", FLOE_INT64, 0, 0, FLOE_BOOL, 0, 0, 0, NULL},
    {"v", FLOE_UTF8, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"n", FLOE_INT32, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
};
static const int EKEY[1] = {0};

static inline void efx_open(efx *f, int keyed) {
  EOK(floe_table_open(&f->ref, ECOLS, 3, EKEY, keyed ? 1 : 0, &f->cfg, &f->t,
                      E));
  EOK(floe_row_new(f->t, &f->r, E));
  EOK(floe_row_new(f->t, &f->o, E));
}

static inline void efx_drop_rows(efx *f) {
  floe_row_free(f->r);
  floe_row_free(f->o);
  f->r = f->o = NULL;
}

static inline efx *efx_new(int keyed) {
  efx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/floe-engine-XXXXXX");
  if (!mkdtemp(f->dir)) abort();
  f->ref.catalog_uri = f->dir;
  f->ref.ns = "public";
  f->ref.name = "t";
  floe_table_config_init(&f->cfg);
  f->cfg.batch_rows = 8; /* small batches exercise sealing */
  efx_open(f, keyed);
  return f;
}

static inline void efx_free(efx *f) {
  efx_drop_rows(f);
  if (f->t) floe_table_free(f->t);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  if (system(cmd) != 0) abort();
  free(f);
}

/* Fills row r with (id, v, n); v NULL / has_n 0 leave NULLs. */
static inline void erow_set(floe_row *r, int64_t id, const char *v, int has_n,
                            int32_t n) {
  floe_row_reset(r);
  EOK(floe_row_set_int(r, 0, id, E));
  if (v) EOK(floe_row_set_bytes(r, 1, v, strlen(v), E));
  if (has_n) EOK(floe_row_set_int(r, 2, n, E));
}

#endif
