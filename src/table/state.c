/*
 * The engine's shared objects: deletion bitmaps, batches, data files, file
 * indexes (all refcounted, so a read state or a maintenance pass keeps what
 * it pinned alive without holding a lock), and lookups in the view.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "iceberg/table_commit.h"
#include "table/table_int.h"

int64_t tbl_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t tbl_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- bitmaps ---- */

tbl_bits *tbl_bits_new(int64_t nbits) {
  int64_t nw = (nbits + 63) / 64;
  tbl_bits *b = calloc(1, sizeof *b + (size_t)nw * 8);
  if (!b) return NULL;
  atomic_init(&b->refs, 1);
  b->nwords = nw;
  return b;
}

tbl_bits *tbl_bits_clone(const tbl_bits *src, int64_t nbits) {
  tbl_bits *b = tbl_bits_new(nbits);
  if (!b) return NULL;
  int64_t nw = src->nwords < b->nwords ? src->nwords : b->nwords;
  memcpy(b->w, src->w, (size_t)nw * 8);
  b->ndel = src->ndel;
  return b;
}

void tbl_bits_unref(tbl_bits *b) {
  if (b && atomic_fetch_sub(&b->refs, 1) == 1) free(b);
}

floe_status tbl_dv_new(tbl_dv **out, floe_error *err) {
  tbl_dv *d = calloc(1, sizeof *d);
  if (!d) return ferr_nomem(err, sizeof *d);
  atomic_init(&d->refs, 1);
  *out = d;
  return FLOE_OK;
}

floe_status tbl_dv_clone(const tbl_dv *src, tbl_dv **out, floe_error *err) {
  FLOE_TRY(tbl_dv_new(out, err));
  if (!src || !src->dv) return FLOE_OK;
  floe_status st = ice_dv_new(&(*out)->dv, err);
  if (!st) st = ice_dv_merge((*out)->dv, src->dv, err);
  if (st) {
    tbl_dv_unref(*out);
    *out = NULL;
    return st;
  }
  (*out)->ndel = src->ndel;
  return FLOE_OK;
}

void tbl_dv_unref(tbl_dv *d) {
  if (!d || atomic_fetch_sub(&d->refs, 1) != 1) return;
  ice_dv_free(d->dv);
  free(d);
}

floe_status tbl_dv_add(tbl_dv *d, uint64_t pos, floe_error *err) {
  if (d->dv && ice_dv_contains(d->dv, pos)) return FLOE_OK;
  return tbl_dv_add_new(d, pos, err);
}

floe_status tbl_dv_add_new(tbl_dv *d, uint64_t pos, floe_error *err) {
  if (!d->dv) FLOE_TRY(ice_dv_new(&d->dv, err));
  FLOE_TRY(ice_dv_add(d->dv, pos, err));
  d->ndel++;
  return FLOE_OK;
}

/* ---- batches ---- */

floe_status tbl_batch_new(col_schema *schema, int64_t cap, tbl_batch **out,
                          floe_error *err) {
  tbl_batch *b = calloc(1, sizeof *b);
  if (!b) return ferr_nomem(err, sizeof *b);
  atomic_init(&b->refs, 1);
  b->cap = cap;
  b->hash = malloc((size_t)(cap ? cap : 1) * sizeof *b->hash);
  b->del = tbl_bits_new(cap);
  floe_status st = FLOE_OK;
  if (!b->hash || !b->del) st = ferr_nomem(err, (size_t)cap * sizeof *b->hash);
  if (!st) st = col_batch_new(schema, &b->b, err);
  if (st) {
    tbl_batch_unref(b);
    return st;
  }
  *out = b;
  return FLOE_OK;
}

void tbl_batch_unref(tbl_batch *b) {
  if (!b || atomic_fetch_sub(&b->refs, 1) != 1) return;
  col_batch_free(b->b);
  free(b->hash);
  tbl_bits_unref(b->del);
  free(b);
}

static int64_t col_bytes(const col_column *c) {
  int64_t n = (int64_t)(c->validity.len + c->values.len + c->offsets.len);
  if (c->child) n += col_bytes(c->child);
  return n;
}

int64_t tbl_cols_bytes(const col_batch *b) {
  int64_t n = 0;
  for (int i = 0; i < b->schema->nfields; i++) n += col_bytes(&b->cols[i]);
  return n;
}

/* ---- files ---- */

floe_status tbl_file_new(ice_data_file *df, uint32_t slot, tbl_file **out,
                         floe_error *err) {
  tbl_file *f = calloc(1, sizeof *f);
  if (!f) return ferr_nomem(err, sizeof *f);
  atomic_init(&f->refs, 1);
  f->slot = slot;
  f->df = *df;
  memset(df, 0, sizeof *df);
  f->rows = f->df.record_count;
  floe_status st = tbl_dv_new(&f->del, err);
  if (st) {
    tbl_file_unref(f);
    return st;
  }
  *out = f;
  return FLOE_OK;
}

void tbl_file_unref(tbl_file *f) {
  if (!f || atomic_fetch_sub(&f->refs, 1) != 1) return;
  ice_data_file_free(&f->df);
  tbl_dv_unref(f->del);
  tbl_dv_unref(f->committed);
  free(f);
}

tbl_fidx *tbl_fidx_wrap(tidx_file *f) {
  tbl_fidx *x = calloc(1, sizeof *x);
  if (!x) return NULL;
  atomic_init(&x->refs, 1);
  x->f = f;
  return x;
}

void tbl_fidx_unref(tbl_fidx *x) {
  if (!x || atomic_fetch_sub(&x->refs, 1) != 1) return;
  tidx_file_close(x->f, x->unlink);
  free(x);
}

floe_status tbl_flist_push(tbl_flist *l, tbl_file *f, floe_error *err) {
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 8;
    void *p = realloc(l->v, (size_t)cap * sizeof *l->v);
    if (!p) return ferr_nomem(err, (size_t)cap * sizeof *l->v);
    l->v = p;
    l->cap = cap;
  }
  l->v[l->n++] = f;
  return FLOE_OK;
}

void tbl_flist_clear(tbl_flist *l) {
  for (int i = 0; i < l->n; i++) tbl_file_unref(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

/* ---- the view ---- */

tbl_batch *tbl_find_batch(const floe_table *t, uint32_t id) {
  int lo = 0, hi = t->nmem - 1;
  while (lo <= hi) {
    int m = (lo + hi) / 2;
    uint32_t v = t->mem[m]->id;
    if (v == id) return t->mem[m];
    if (v < id)
      lo = m + 1;
    else
      hi = m - 1;
  }
  return NULL;
}

int tbl_find_file_index(const floe_table *t, uint32_t slot) {
  int lo = 0, hi = t->nfiles - 1;
  while (lo <= hi) {
    int m = (lo + hi) / 2;
    uint32_t v = t->files[m]->slot;
    if (v == slot) return m;
    if (v < slot)
      lo = m + 1;
    else
      hi = m - 1;
  }
  return -1;
}

tbl_file *tbl_find_file(const floe_table *t, uint32_t slot) {
  int i = tbl_find_file_index(t, slot);
  return i < 0 ? NULL : t->files[i];
}

static floe_status grow(void **p, int *cap, int need, size_t sz,
                        floe_error *err) {
  if (need <= *cap) return FLOE_OK;
  int c = *cap ? *cap * 2 : 16;
  while (c < need) c *= 2;
  void *q = realloc(*p, (size_t)c * sz);
  if (!q) return ferr_nomem(err, (size_t)c * sz);
  *p = q;
  *cap = c;
  return FLOE_OK;
}

floe_status tbl_mem_push(floe_table *t, tbl_batch *b, floe_error *err) {
  FLOE_TRY(
      grow((void **)&t->mem, &t->capmem, t->nmem + 1, sizeof *t->mem, err));
  t->mem[t->nmem++] = b;
  return FLOE_OK;
}

floe_status tbl_files_push(floe_table *t, tbl_file *f, floe_error *err) {
  FLOE_TRY(grow((void **)&t->files, &t->capfiles, t->nfiles + 1,
                sizeof *t->files, err));
  /* slots grow, but a recovered table may push in plan order: keep sorted */
  int i = t->nfiles;
  while (i > 0 && t->files[i - 1]->slot > f->slot) {
    t->files[i] = t->files[i - 1];
    i--;
  }
  t->files[i] = f;
  t->nfiles++;
  return FLOE_OK;
}

floe_status tbl_fidx_reserve(floe_table *t, int n, floe_error *err) {
  return grow((void **)&t->fidx, &t->capfidx, n, sizeof *t->fidx, err);
}

floe_status tbl_fidx_push(floe_table *t, tbl_fidx *x, floe_error *err) {
  FLOE_TRY(
      grow((void **)&t->fidx, &t->capfidx, t->nfidx + 1, sizeof *t->fidx, err));
  t->fidx[t->nfidx++] = x;
  return FLOE_OK;
}

typedef struct stopper {
  tidx_visit_fn fn;
  void *arg;
  int stop;
} stopper;

static int visit_stop(void *arg, uint64_t loc) {
  stopper *w = arg;
  w->stop = w->fn(w->arg, loc);
  return w->stop;
}

void tbl_lookup(const floe_table *t, uint64_t hash, tidx_visit_fn fn,
                void *arg) {
  /* the visitor stops early by returning nonzero: carry that across the
   * sub-indexes; newest first (recent rows are the likeliest targets) */
  stopper w = {fn, arg, 0};
  for (int g = t->ngen - 1; g >= 0 && !w.stop; g--)
    tidx_mem_lookup(t->gen[g].m, hash, visit_stop, &w);
  for (int i = t->nfidx - 1; i >= 0 && !w.stop; i--)
    tidx_file_lookup(t->fidx[i]->f, hash, visit_stop, &w);
}

void tbl_lookup_prefetch(const floe_table *t, uint64_t hash, int stage) {
  if (stage == 0)
    for (int g = 0; g < t->ngen; g++) tidx_mem_prefetch(t->gen[g].m, hash);
  for (int i = 0; i < t->nfidx; i++)
    tidx_file_prefetch(t->fidx[i]->f, hash, stage);
}

bool tbl_loc_live(const floe_table *t, uint64_t loc, tbl_batch **b,
                  tbl_file **f) {
  uint32_t id = TIDX_LOC_ID(loc);
  uint32_t row = TIDX_LOC_ROW(loc);
  *b = NULL;
  *f = NULL;
  if (id & TBL_FILE_BIT) {
    tbl_file *x = tbl_find_file(t, id);
    if (!x || (int64_t)row >= x->rows || tbl_dv_has(x->del, row)) return false;
    *f = x;
    return true;
  }
  tbl_batch *x = tbl_find_batch(t, id);
  if (!x || (int64_t)row >= x->b->length || tbl_bits_get(x->del, row))
    return false;
  *b = x;
  return true;
}

/* ---- files on disk ---- */

floe_status tbl_mkdirs(const char *path, floe_error *err) {
  size_t n = strlen(path);
  char *p = malloc(n + 1);
  if (!p) return ferr_nomem(err, n + 1);
  memcpy(p, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (p[i] != '/' && p[i] != 0) continue;
    char c = p[i];
    p[i] = 0;
    if (mkdir(p, 0777) != 0 && errno != EEXIST) {
      floe_status st =
          ferr_set(err, FLOE_EIO, "mkdir %s: %s", p, strerror(errno));
      free(p);
      return st;
    }
    p[i] = c;
  }
  free(p);
  return FLOE_OK;
}

/* One random-UUID generator for the project: the iceberg layer's. */
floe_status tbl_uuid(char u[37], floe_error *err) { return ice_uuid(u, err); }

floe_status tbl_path_uuid(const char *dir, const char *prefix,
                          const char *suffix, char **out, floe_error *err) {
  char u[37];
  FLOE_TRY(tbl_uuid(u, err));
  size_t n = strlen(dir) + strlen(prefix) + strlen(suffix) + 40;
  *out = malloc(n);
  if (!*out) return ferr_nomem(err, n);
  snprintf(*out, n, "%s/%s%s%s", dir, prefix, u, suffix);
  return FLOE_OK;
}
