/*
 * Changes inside open source transactions: private rows, private deletes,
 * the op log of deletes of committed rows, subtransaction aborts, and spills
 * of large transactions to Parquet. Everything here runs on the ingest
 * thread; the committed view is only read (under ix) to copy unchanged
 * TOAST values.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table/ingest.h"
#include "table/txn_int.h"
#include "util/hash.h"

static floe_status grow(void **p, int *cap, int need, size_t sz,
                        floe_error *err) {
  if (need <= *cap) return FLOE_OK;
  int c = *cap ? *cap * 2 : 8;
  while (c < need) c *= 2;
  void *q = realloc(*p, (size_t)c * sz);
  if (!q) return ferr_nomem(err, (size_t)c * sz);
  *p = q;
  *cap = c;
  return FLOE_OK;
}

/* ---- the transaction table ---- */

tbl_txn *tbl_txn_find(floe_table *t, uint32_t xid) {
  for (int i = 0; i < t->ntxn; i++)
    if (t->txns[i]->xid == xid) return t->txns[i];
  return NULL;
}

void tbl_txn_forget(floe_table *t, tbl_txn *x) {
  for (int i = 0; i < t->ntxn; i++)
    if (t->txns[i] == x) {
      t->txns[i] = t->txns[--t->ntxn];
      atomic_fetch_sub(&t->open_txns, 1);
      break;
    }
}

static void chunk_free(tbl_chunk *c) {
  col_batch_free(c->b);
  free(c->hash);
  tbl_bits_unref(c->del);
}

/* Returns chunk c to the pool when it can be reused as it is (nobody else
 * holds its bitmap, its buffers are small, same schema), else frees it. */
static void chunk_release(floe_table *t, tbl_chunk *c) {
  tbl_pool *p = t->pool;
  if (p && p->nchunk < TBL_POOL_CHUNKS && c->b && c->hash && c->del &&
      atomic_load(&c->del->refs) == 1 && c->bytes <= TBL_POOL_CHUNK_BYTES &&
      c->b->schema == t->schema->cols) {
    col_batch_clear(c->b);
    memset(c->del->w, 0, (size_t)c->del->nwords * 8);
    c->del->ndel = 0;
    c->g0 = 0;
    c->bytes = 0;
    p->chunk[p->nchunk++] = *c;
    return;
  }
  chunk_free(c);
}

static void seg_free(tbl_seg *s) {
  if (s->tmp) unlink(s->tmp);
  free(s->tmp);
  ice_data_file_free(&s->df);
  if (s->idx) {
    s->idx->unlink = true;
    tbl_fidx_unref(s->idx);
  }
  tbl_schema_unref(s->schema);
}

static void txn_destroy(tbl_txn *x) {
  free(x->chunks);
  free(x->segs);
  tidx_mem_free(x->idx);
  tidx_mem_free(x->sdel);
  free(x->runs);
  free(x->pdels);
  free(x->tmarks);
  free(x->subs);
  col_batch_free(x->opkeys);
  free(x->ops);
  free(x);
}

/* Whether x's arrays stayed small enough to keep for the next txn. */
static bool txn_reusable(const floe_table *t, const tbl_txn *x) {
  return t->pool && t->pool->ntxn < TBL_POOL_TXNS && x->opkeys &&
         x->opkeys->schema == t->schema->ident_schema && x->capchunk <= 64 &&
         x->capseg <= 16 && x->caprun <= 256 && x->cappdel <= 256 &&
         x->captmark <= 64 && x->capsub <= 256 && x->capop <= 1024 &&
         tbl_cols_bytes(x->opkeys) <= TBL_POOL_CHUNK_BYTES;
}

void tbl_txn_free(floe_table *t, tbl_txn *x) {
  if (!x) return;
  for (int i = 0; i < x->nchunk; i++) chunk_release(t, &x->chunks[i]);
  for (int i = 0; i < x->nseg; i++) seg_free(&x->segs[i]);
  atomic_fetch_sub(&t->txn_bytes, x->bytes);
  tbl_schema_unref(x->schema);
  if (!txn_reusable(t, x)) {
    txn_destroy(x);
    return;
  }
  /* emptied, arrays kept; a private index only while it is small (clearing
   * costs its capacity), and apart (a txn gets one on its first lookup) */
  if (x->idx && !t->pool->idx && tidx_mem_bytes(x->idx) <= (16 << 10)) {
    tidx_mem_clear(x->idx);
    t->pool->idx = x->idx;
  } else {
    tidx_mem_free(x->idx);
  }
  x->idx = NULL;
  tidx_mem_free(x->sdel);
  x->sdel = NULL;
  col_batch_clear(x->opkeys);
  if (x->nsub) memset(x->subs, 0, (size_t)x->capsub * sizeof *x->subs);
  x->nsub = 0;
  x->schema = NULL;
  x->nchunk = x->nseg = x->nrun = x->npdel = x->ntmark = x->naborted = 0;
  x->nop = 0;
  x->nrows = x->spilled = x->idx_upto = x->tmax = x->bytes = 0;
  t->pool->txn[t->pool->ntxn++] = x;
}

/* Drops pooled memory built for an earlier schema. */
static void pool_check_schema(floe_table *t) {
  tbl_pool *p = t->pool;
  int k = 0;
  for (int i = 0; i < p->nchunk; i++)
    if (p->chunk[i].b->schema == t->schema->cols)
      p->chunk[k++] = p->chunk[i];
    else
      chunk_free(&p->chunk[i]);
  p->nchunk = k;
  k = 0;
  for (int i = 0; i < p->ntxn; i++)
    if (p->txn[i]->opkeys->schema == t->schema->ident_schema)
      p->txn[k++] = p->txn[i];
    else
      txn_destroy(p->txn[i]);
  p->ntxn = k;
}

void tbl_pool_free(floe_table *t) {
  tbl_pool *p = t->pool;
  if (!p) return;
  for (int i = 0; i < p->nchunk; i++) chunk_free(&p->chunk[i]);
  for (int i = 0; i < p->ntxn; i++) txn_destroy(p->txn[i]);
  tidx_mem_free(p->idx);
  free(p);
  t->pool = NULL;
}

static floe_status txn_get(floe_table *t, uint32_t xid, tbl_txn **out,
                           floe_error *err) {
  if (t->broken)
    return ferr_set(err, FLOE_EIO, "table is broken by an earlier failure");
  tbl_txn *x = tbl_txn_find(t, xid);
  if (x) {
    if (x->schema != t->schema)
      return ferr_set(err, FLOE_EINVAL,
                      "transaction %u started before a schema change that "
                      "did not convert it",
                      xid);
    *out = x;
    return FLOE_OK;
  }
  FLOE_TRY(
      grow((void **)&t->txns, &t->captxn, t->ntxn + 1, sizeof *t->txns, err));
  if (!t->pool && !(t->pool = calloc(1, sizeof *t->pool)))
    return ferr_nomem(err, sizeof *t->pool);
  pool_check_schema(t);
  if (t->pool->ntxn) {
    x = t->pool->txn[--t->pool->ntxn];
  } else {
    x = calloc(1, sizeof *x);
    if (!x) return ferr_nomem(err, sizeof *x);
    floe_status st = col_batch_new(t->schema->ident_schema, &x->opkeys, err);
    if (st) {
      free(x);
      return st;
    }
    t->pool->fresh_txns++;
  }
  x->xid = xid;
  x->schema = tbl_schema_ref(t->schema);
  x->batch_rows = t->cfg.batch_rows;
  t->txns[t->ntxn++] = x;
  atomic_fetch_add(&t->open_txns, 1);
  *out = x;
  return FLOE_OK;
}

/* ---- private rows ---- */

/* Whether the run holding row g belongs to an aborted subtransaction. */
static bool run_dead(const tbl_txn *x, int64_t g) {
  int lo = 0, hi = x->nrun - 1, best = 0;
  while (lo <= hi) {
    int m = (lo + hi) / 2;
    if (x->runs[m].g0 <= g) {
      best = m;
      lo = m + 1;
    } else {
      hi = m - 1;
    }
  }
  return x->nrun && x->runs[best].dead;
}

/* The entry of subtransaction sub (created when missing; NULL when out of
 * memory). */
static tbl_sub *sub_get(tbl_txn *x, uint32_t sub, floe_error *err) {
  if ((x->nsub + 1) * 4 > x->capsub * 3) {
    int cap = x->capsub ? x->capsub * 2 : 16;
    tbl_sub *n = calloc((size_t)cap, sizeof *n);
    if (!n) {
      ferr_nomem(err, (size_t)cap * sizeof *n);
      return NULL;
    }
    for (int i = 0; i < x->capsub; i++) {
      if (!x->subs[i].used) continue;
      int j = (int)(fhash_u64(x->subs[i].sub) & (uint64_t)(cap - 1));
      while (n[j].used) j = (j + 1) & (cap - 1);
      n[j] = x->subs[i];
    }
    free(x->subs);
    x->subs = n;
    x->capsub = cap;
  }
  int i = (int)(fhash_u64(sub) & (uint64_t)(x->capsub - 1));
  while (x->subs[i].used) {
    if (x->subs[i].sub == sub) return &x->subs[i];
    i = (i + 1) & (x->capsub - 1);
  }
  tbl_sub *s = &x->subs[i];
  s->sub = sub;
  s->used = true;
  s->aborted = false;
  s->run0 = s->pdel0 = s->op0 = s->tmark0 = -1;
  x->nsub++;
  return s;
}

/* Notes that sub made item `at` of a list (*first: the sub's first one).
 * The top-level transaction is never aborted alone: not noted. */
static floe_status sub_note(tbl_txn *x, uint32_t sub, int which, int at,
                            floe_error *err) {
  if (sub == x->xid) return FLOE_OK;
  tbl_sub *s = sub_get(x, sub, err);
  if (!s) return FLOE_ENOMEM;
  int *first = which == 0   ? &s->run0
               : which == 1 ? &s->pdel0
               : which == 2 ? &s->op0
                            : &s->tmark0;
  if (*first < 0) *first = at;
  return FLOE_OK;
}

static bool aborted_has(tbl_txn *x, uint32_t sub) {
  if (!x->naborted) return false;
  tbl_sub *s = sub_get(x, sub, NULL);
  return s && s->aborted;
}

static tbl_chunk *chunk_of(const tbl_txn *x, int64_t g, int64_t *row) {
  int64_t k = (g - x->spilled) / x->batch_rows;
  tbl_chunk *c = &x->chunks[k];
  *row = g - c->g0;
  return c;
}

static int seg_of(const tbl_txn *x, int64_t g) {
  int lo = 0, hi = x->nseg - 1;
  while (lo < hi) {
    int m = (lo + hi + 1) / 2;
    if (x->segs[m].g0 <= g)
      lo = m;
    else
      hi = m - 1;
  }
  return lo;
}

static int find_g(void *arg, uint64_t loc) {
  int64_t *want = arg;
  if ((int64_t)loc == want[0]) {
    want[1] = 1;
    return 1;
  }
  return 0;
}

static bool sdel_has(const tbl_txn *x, int64_t g) {
  if (!x->sdel) return false;
  int64_t w[2] = {g, 0};
  tidx_mem_lookup(x->sdel, fhash_u64((uint64_t)g), find_g, w);
  return w[1] != 0;
}

bool tbl_txn_dead(const tbl_txn *x, int64_t g) {
  if (g >= x->spilled) {
    int64_t r;
    const tbl_chunk *c = chunk_of(x, g, &r);
    if (tbl_bits_get(c->del, r)) return true;
  } else if (sdel_has(x, g)) {
    return true;
  }
  /* O(log runs) whatever the number of truncates and aborted
   * subtransactions: commit asks this for every row */
  if (g < x->tmax) return true;
  return x->naborted && run_dead(x, g);
}

static floe_status index_chunks(floe_table *t, tbl_txn *x, floe_error *err) {
  if (!x->idx) {
    /* starts small (a few rows is the common txn) and doubles */
    int64_t n = x->nrows - x->spilled;
    if (t->pool->idx) {
      x->idx = t->pool->idx;
      t->pool->idx = NULL;
    } else {
      FLOE_TRY(tidx_mem_new(n > 16 ? n : 16, &x->idx, err));
    }
    x->idx_upto = x->spilled;
  }
  for (int64_t g = x->idx_upto; g < x->nrows; g++) {
    int64_t r;
    tbl_chunk *c = chunk_of(x, g, &r);
    if (tbl_bits_get(c->del, r)) continue; /* see mark_deleted */
    FLOE_TRY(tidx_mem_insert(x->idx, c->hash[r], (uint64_t)g, err));
  }
  x->idx_upto = x->nrows;
  return FLOE_OK;
}

/* Room in chunk c's hash array and bitmap for `need` rows (<= batch_rows):
 * they start small and double. */
static floe_status chunk_fit(tbl_txn *x, tbl_chunk *c, int64_t need,
                             floe_error *err) {
  if (need <= c->hcap) return FLOE_OK;
  int64_t cap = c->hcap ? c->hcap : 16;
  while (cap < need) cap *= 2;
  if (cap > x->batch_rows) cap = x->batch_rows;
  uint64_t *h = realloc(c->hash, (size_t)cap * sizeof *h);
  if (!h) return ferr_nomem(err, (size_t)cap * sizeof *h);
  c->hash = h;
  /* the bitmap is the chunk's alone while the txn is open (commit shares
   * it only after the last change) */
  int64_t nw = (cap + 63) / 64;
  if (!c->del || c->del->nwords < nw) {
    int64_t old = c->del ? c->del->nwords : 0;
    tbl_bits *b = realloc(c->del, sizeof *b + (size_t)nw * 8);
    if (!b) return ferr_nomem(err, (size_t)nw * 8);
    if (!old) {
      atomic_init(&b->refs, 1);
      b->ndel = 0;
    }
    memset(b->w + old, 0, (size_t)(nw - old) * 8);
    b->nwords = nw;
    c->del = b;
  }
  c->hcap = cap;
  return FLOE_OK;
}

/* The chunk the next row goes into (a new one when the last is full),
 * with room for its hash. */
static floe_status chunk_room(floe_table *t, tbl_txn *x, tbl_chunk **out,
                              floe_error *err) {
  tbl_chunk *c = x->nchunk ? &x->chunks[x->nchunk - 1] : NULL;
  if (!c || c->b->length >= x->batch_rows) {
    FLOE_TRY(grow((void **)&x->chunks, &x->capchunk, x->nchunk + 1,
                  sizeof *x->chunks, err));
    c = &x->chunks[x->nchunk];
    memset(c, 0, sizeof *c);
    tbl_pool *p = t->pool;
    /* a schema change since the txn began may have left older chunks */
    if (p->nchunk && p->chunk[p->nchunk - 1].b->schema != x->schema->cols)
      pool_check_schema(t);
    if (p->nchunk) {
      *c = p->chunk[--p->nchunk];
    } else {
      floe_status st = col_batch_new(x->schema->cols, &c->b, err);
      if (!st) st = chunk_fit(x, c, 1, err);
      if (st) {
        chunk_free(c);
        return st;
      }
      p->fresh_chunks++;
    }
    c->g0 = x->nrows;
    x->nchunk++;
  }
  FLOE_TRY(chunk_fit(x, c, c->b->length + 1, err));
  *out = c;
  return FLOE_OK;
}

/* Rows from ordinal x->nrows on belong to subtransaction sub. */
static floe_status run_mark(tbl_txn *x, uint32_t sub, floe_error *err) {
  if (!x->nrun || x->runs[x->nrun - 1].sub != sub) {
    FLOE_TRY(
        grow((void **)&x->runs, &x->caprun, x->nrun + 1, sizeof *x->runs, err));
    FLOE_TRY(sub_note(x, sub, 0, x->nrun, err));
    x->runs[x->nrun].g0 = x->nrows;
    x->runs[x->nrun].sub = sub;
    x->runs[x->nrun].dead = sub != x->xid && aborted_has(x, sub);
    x->nrun++;
  }
  return FLOE_OK;
}

static floe_status append_row(floe_table *t, tbl_txn *x, const floe_row *row,
                              uint32_t sub, uint64_t h, floe_error *err) {
  tbl_chunk *c = NULL;
  FLOE_TRY(chunk_room(t, x, &c, err));
  FLOE_TRY(run_mark(x, sub, err));
  int64_t len = c->b->length;
  floe_status st = FLOE_OK;
  int i = 0;
  for (; i < x->schema->ncols && !st; i++)
    st = col_append_range(&c->b->cols[i], &row->cols[i], 0, 1, err);
  if (!st && x->idx) st = tidx_mem_insert(x->idx, h, (uint64_t)x->nrows, err);
  if (st) {
    for (int k = 0; k < i; k++) col_truncate(&c->b->cols[k], len);
    return st;
  }
  if (x->idx) x->idx_upto = x->nrows + 1;
  c->hash[len] = h;
  c->b->length = len + 1;
  int64_t bytes = row->bytes + 16;
  c->bytes += bytes;
  x->bytes += bytes;
  atomic_fetch_add(&t->txn_bytes, bytes);
  x->nrows++;
  return FLOE_OK;
}

static floe_status mark_deleted(tbl_txn *x, int64_t g, uint32_t sub,
                                floe_error *err) {
  FLOE_TRY(grow((void **)&x->pdels, &x->cappdel, x->npdel + 1, sizeof *x->pdels,
                err));
  FLOE_TRY(sub_note(x, sub, 1, x->npdel, err));
  if (g >= x->spilled) {
    int64_t r;
    tbl_chunk *c = chunk_of(x, g, &r);
    tbl_bits_set(c->del, r);
    /* the private index keeps live rows only: a key updated over and over
     * inside one transaction would otherwise pile dead entries under one
     * hash for every later lookup to walk (quadratic) */
    if (x->idx && g < x->idx_upto)
      tidx_mem_remove(x->idx, c->hash[r], (uint64_t)g);
  } else {
    if (!x->sdel) FLOE_TRY(tidx_mem_new(64, &x->sdel, err));
    FLOE_TRY(
        tidx_mem_insert(x->sdel, fhash_u64((uint64_t)g), (uint64_t)g, err));
  }
  x->pdels[x->npdel].g = g;
  x->pdels[x->npdel].sub = sub;
  x->pdels[x->npdel].dead = false;
  x->npdel++;
  return FLOE_OK;
}

/* ---- finding rows ---- */

typedef struct pfind {
  const tbl_txn *x;
  const floe_row *key;
  int64_t found;
  int nseg_cand;
  int64_t seg_cand[16];
} pfind;

static int visit_chunk(void *arg, uint64_t loc) {
  pfind *p = arg;
  int64_t g = (int64_t)loc, r;
  if (g < p->x->spilled || g >= p->x->nrows || tbl_txn_dead(p->x, g)) return 0;
  const tbl_chunk *c = chunk_of(p->x, g, &r);
  const tbl_schema *s = p->x->schema;
  if (tkey_equal(c->b->cols, s->ident, r, p->key->cols, s->ident, 0,
                 s->nident)) {
    p->found = g;
    return 1;
  }
  return 0;
}

static int visit_seg(void *arg, uint64_t loc) {
  pfind *p = arg;
  uint32_t k = TIDX_LOC_ID(loc);
  if (k >= (uint32_t)p->x->nseg) return 0;
  int64_t g = p->x->segs[k].g0 + TIDX_LOC_ROW(loc);
  if (tbl_txn_dead(p->x, g)) return 0;
  if (p->nseg_cand < 16) p->seg_cand[p->nseg_cand++] = g;
  return 0;
}

/* Reads spilled row g into out (a new batch of x->schema). */
static floe_status read_spilled(const tbl_txn *x, int64_t g, col_batch *out,
                                floe_error *err) {
  const tbl_seg *s = &x->segs[seg_of(x, g)];
  int64_t pos = g - s->g0;
  return tbl_read_file_rows(NULL, s->tmp, true, x->schema, &pos, 1, out, err);
}

/* The live private row with key's identity (-1 when none). With src, the
 * row's values are copied there (a batch of x->schema; spilled rows are
 * read back) and *src_row says which row. */
static floe_status private_find(floe_table *t, tbl_txn *x, const floe_row *key,
                                uint64_t h, int64_t *found, col_batch **src,
                                int64_t *src_row, floe_error *err) {
  *found = -1;
  pfind p = {x, key, -1, 0, {0}};
  if (x->nrows > x->spilled) {
    FLOE_TRY(index_chunks(t, x, err));
    tidx_mem_lookup(x->idx, h, visit_chunk, &p);
  }
  if (p.found >= 0) {
    *found = p.found;
    if (src) {
      int64_t r;
      tbl_chunk *c = chunk_of(x, p.found, &r);
      *src = c->b;
      *src_row = r;
    }
    return FLOE_OK;
  }
  for (int k = 0; k < x->nseg; k++)
    tidx_file_lookup(x->segs[k].idx->f, h, visit_seg, &p);
  for (int i = 0; i < p.nseg_cand; i++) {
    col_batch *b = NULL;
    FLOE_TRY(col_batch_new(x->schema->cols, &b, err));
    floe_status st = read_spilled(x, p.seg_cand[i], b, err);
    if (st) {
      col_batch_free(b);
      return st;
    }
    if (tkey_equal(b->cols, x->schema->ident, 0, key->cols, x->schema->ident, 0,
                   x->schema->nident)) {
      *found = p.seg_cand[i];
      if (src) {
        *src = b; /* the caller frees it (see fill_from) */
        *src_row = -1;
      } else {
        col_batch_free(b);
      }
      return FLOE_OK;
    }
    col_batch_free(b);
  }
  return FLOE_OK;
}

/* Committed-row lookup for unchanged values. */
typedef struct cfind {
  const floe_table *t;
  const floe_row *key;
  tbl_batch *batch;
  int64_t row;
  int nfile;
  tbl_file *files[8];
  int64_t frow[8];
} cfind;

static int visit_committed(void *arg, uint64_t loc) {
  cfind *c = arg;
  tbl_batch *b;
  tbl_file *f;
  if (!tbl_loc_live(c->t, loc, &b, &f)) return 0;
  const tbl_schema *s = c->key->schema;
  if (b) {
    if (b->b->schema != s->cols) return 0; /* not converted yet: skip */
    if (tkey_equal(b->b->cols, s->ident, TIDX_LOC_ROW(loc), c->key->cols,
                   s->ident, 0, s->nident)) {
      c->batch = tbl_batch_ref(b);
      c->row = TIDX_LOC_ROW(loc);
      return 1;
    }
    return 0;
  }
  if (c->nfile < 8) {
    c->files[c->nfile] = tbl_file_ref(f);
    c->frow[c->nfile] = TIDX_LOC_ROW(loc);
    c->nfile++;
  }
  return 0;
}

/* Copies the columns of new_row marked unchanged from row r of src into
 * the scratch row (which starts as a copy of new_row). */
static floe_status fill_scratch(floe_row *sc, const floe_row *new_row,
                                const col_batch *src, int64_t r,
                                floe_error *err) {
  const tbl_schema *s = new_row->schema;
  for (int i = 0; i < s->ncols; i++) {
    col_column *c = &sc->cols[i];
    col_clear(c);
    if (c->child) col_clear(c->child);
    bool take_old = new_row->st[i] == TBL_ROW_UNCHANGED;
    const col_column *from = take_old ? &src->cols[i] : &new_row->cols[i];
    FLOE_TRY(col_append_range(c, from, take_old ? r : 0, 1, err));
    sc->st[i] = take_old ? TBL_ROW_SET : new_row->st[i];
  }
  sc->bytes =
      new_row->bytes + tbl_cols_bytes(src) / (src->length ? src->length : 1);
  return FLOE_OK;
}

static floe_status scratch_get(floe_table *t, floe_row **out, floe_error *err) {
  if (t->scratch && t->scratch->schema != t->schema) {
    floe_row_free(t->scratch);
    t->scratch = NULL;
  }
  if (!t->scratch) FLOE_TRY(floe_row_new(t, &t->scratch, err));
  *out = t->scratch;
  return FLOE_OK;
}

/* Finds the committed row with key's identity and fills the scratch row
 * from it. FLOE_ENOTFOUND when there is none. */
static floe_status committed_fill(floe_table *t, const floe_row *key,
                                  uint64_t h, const floe_row *new_row,
                                  floe_row *sc, floe_error *err) {
  cfind c;
  memset(&c, 0, sizeof c);
  c.t = t;
  c.key = key;
  pthread_mutex_lock(&t->ix);
  tbl_lookup(t, h, visit_committed, &c);
  floe_status st = FLOE_OK;
  bool done = false;
  if (c.batch) {
    /* batch rows never change once written: safe to read under ix */
    st = fill_scratch(sc, new_row, c.batch->b, c.row, err);
    done = true;
  }
  pthread_mutex_unlock(&t->ix);
  tbl_batch_unref(c.batch);
  const tbl_schema *s = key->schema;
  /* a file row is read for the unchanged columns and the identity (to tell
   * it is the row) only */
  bool *want = NULL;
  if (c.nfile && !st) {
    want = calloc((size_t)s->ncols, sizeof *want);
    if (!want) st = ferr_nomem(err, (size_t)s->ncols);
    for (int i = 0; want && i < s->ncols; i++)
      want[i] = new_row->st[i] == TBL_ROW_UNCHANGED;
    for (int k = 0; want && k < s->nident; k++) want[s->ident[k]] = true;
  }
  for (int i = 0; i < c.nfile; i++) {
    if (!st && !done) {
      col_batch *b = NULL;
      st = col_batch_new(s->cols, &b, err);
      if (!st)
        st = tbl_read_file_cols(t->cat, c.files[i]->df.file_path, false, s,
                                want, &c.frow[i], 1, b, err);
      if (!st &&
          tkey_equal(b->cols, s->ident, 0, key->cols, s->ident, 0, s->nident)) {
        st = fill_scratch(sc, new_row, b, 0, err);
        done = true;
      }
      col_batch_free(b);
    }
    tbl_file_unref(c.files[i]);
  }
  free(want);
  if (!st && !done)
    st = ferr_set(err, FLOE_ENOTFOUND,
                  "update of a row that does not exist (unchanged columns "
                  "cannot be copied): the table needs a resync");
  return st;
}

/* ---- checks ---- */

static floe_status check_key(floe_table *t, const floe_row *r,
                             floe_error *err) {
  if (!r) return ferr_set(err, FLOE_EINVAL, "NULL row");
  if (r->schema != t->schema)
    return ferr_set(err, FLOE_EINVAL,
                    "row was built for an earlier schema of the table");
  if (r->list_col >= 0)
    return ferr_set(err, FLOE_EINVAL, "row has an open list");
  const tbl_schema *s = r->schema;
  for (int k = 0; k < s->nident; k++) {
    int i = s->ident[k];
    if (r->st[i] == TBL_ROW_UNCHANGED)
      return ferr_set(err, FLOE_EINVAL,
                      "identity column %s cannot be unchanged",
                      s->fcols[i].name);
    if (s->nkey && r->st[i] != TBL_ROW_SET)
      return ferr_set(err, FLOE_EINVAL, "key column %s is not set",
                      s->fcols[i].name);
  }
  return FLOE_OK;
}

/* ---- spills ---- */

/* Writes the chunks to s->tmp and fills s->df for the data file it
 * becomes at commit (final). */
static floe_status spill_write(tbl_txn *x, tbl_seg *s, const char *final,
                               floe_error *err) {
  FILE *fp = fopen(s->tmp, "wb");
  if (!fp)
    return ferr_set(err, FLOE_EIO, "spill %s: %s", s->tmp, strerror(errno));
  pq_writer_opts o;
  pq_writer_opts_default(&o);
  o.codec = PQ_CODEC_ZSTD;
  o.compression_level = 1; /* spills favour speed */
  o.page_rows = 20000;     /* it becomes a data file (compact.c) */
  pq_sink sink = {pq_sink_file_write, fp};
  pq_writer *w = NULL;
  pq_file_metrics m;
  memset(&m, 0, sizeof m);
  floe_status st = pq_writer_open(x->schema->cols, &o, sink, &w, err);
  for (int i = 0; i < x->nchunk && !st; i++)
    st = pq_writer_write(w, x->chunks[i].b, err);
  if (!st) st = pq_writer_close(w, &m, err);
  pq_writer_free(w);
  /* the file becomes a data file at commit: it must be on disk by then */
  if (!st && (fflush(fp) != 0 || fsync(fileno(fp)) != 0))
    st = ferr_set(err, FLOE_EIO, "spill %s: %s", s->tmp, strerror(errno));
  if (fclose(fp) != 0 && !st)
    st = ferr_set(err, FLOE_EIO, "spill %s: %s", s->tmp, strerror(errno));
  if (!st)
    st = ice_data_file_from_parquet_schema(final, &m, x->schema->cols, &s->df,
                                           err);
  pq_file_metrics_free(&m);
  return st;
}

static char *join3(const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s%s%s", a, b, c);
  return p;
}

static floe_status spill(floe_table *t, tbl_txn *x, floe_error *err) {
  if (!x->nchunk) return FLOE_OK;
  FLOE_TRY(
      grow((void **)&x->segs, &x->capseg, x->nseg + 1, sizeof *x->segs, err));
  tbl_seg *s = &x->segs[x->nseg];
  memset(s, 0, sizeof *s);
  s->g0 = x->spilled;
  s->rows = x->nrows - x->spilled;
  /* one uuid names the spill file, the data file it becomes at commit, and
   * its index */
  char *base = NULL, *final = NULL, *ixpath = NULL, *spdir = NULL;
  uint64_t *hashes = NULL;
  tidx_file *tf = NULL;
  spdir = join3(t->state_dir, "/spill", "");
  floe_status st = spdir ? FLOE_OK : ferr_nomem(err, strlen(t->state_dir));
  if (!st) st = tbl_path_uuid(spdir, "", "", &base, err);
  if (!st) {
    const char *uuid = strrchr(base, '/') + 1;
    s->tmp = join3(base, ".parquet", "");
    final = join3(t->location, "/data/", uuid);
    char *ixdir = join3(t->state_dir, "/index/", uuid);
    ixpath = ixdir ? join3(ixdir, ".tidx", "") : NULL;
    free(ixdir);
    char *f2 = final ? join3(final, ".parquet", "") : NULL;
    free(final);
    final = f2;
    if (!s->tmp || !final || !ixpath) st = ferr_nomem(err, strlen(base));
  }
  if (!st) st = spill_write(x, s, final, err);
  if (!st) {
    hashes = malloc((size_t)s->rows * sizeof *hashes + 8);
    if (!hashes) st = ferr_nomem(err, (size_t)s->rows * 8);
  }
  if (!st) {
    int64_t o = 0;
    for (int i = 0; i < x->nchunk; i++) {
      memcpy(hashes + o, x->chunks[i].hash,
             (size_t)x->chunks[i].b->length * sizeof *hashes);
      o += x->chunks[i].b->length;
    }
    tidx_cover cv = {s->df.file_path, s->rows, (uint32_t)x->nseg};
    st = tidx_file_build(ixpath, &cv, 1, hashes, &tf, err);
  }
  if (!st) {
    s->idx = tbl_fidx_wrap(tf);
    if (!s->idx) {
      tidx_file_close(tf, 1);
      st = ferr_nomem(err, sizeof(tbl_fidx));
    }
  }
  /* explicit deletes move from chunk bits to sdel */
  for (int i = 0; i < x->nchunk && !st; i++) {
    tbl_chunk *c = &x->chunks[i];
    if (!c->del->ndel) continue;
    if (!x->sdel) st = tidx_mem_new(64, &x->sdel, err);
    for (int64_t r = 0; r < c->b->length && !st; r++)
      if (tbl_bits_get(c->del, r))
        st = tidx_mem_insert(x->sdel, fhash_u64((uint64_t)(c->g0 + r)),
                             (uint64_t)(c->g0 + r), err);
  }
  free(hashes);
  free(ixpath);
  free(base);
  free(spdir);
  free(final);
  if (st) {
    seg_free(s);
    return ferr_prefix(err, st, "spilling transaction %u", x->xid);
  }
  s->schema = tbl_schema_ref(x->schema);
  x->nseg++;
  int64_t freed = 0;
  for (int i = 0; i < x->nchunk; i++) {
    freed += x->chunks[i].bytes;
    chunk_release(t, &x->chunks[i]);
  }
  x->nchunk = 0;
  x->spilled = x->nrows;
  if (x->idx) tidx_mem_clear(x->idx);
  x->idx_upto = x->nrows;
  x->bytes -= freed;
  atomic_fetch_sub(&t->txn_bytes, freed);
  return FLOE_OK;
}

static floe_status maybe_spill(floe_table *t, tbl_txn *x, floe_error *err) {
  if (x->bytes >= t->cfg.txn_spill_bytes) return spill(t, x, err);
  /* over the table's memory limit: the transaction spills early */
  int64_t total = atomic_load(&t->txn_bytes) + t->mem_bytes;
  if (total > t->cfg.memory_limit && x->bytes >= t->cfg.txn_spill_bytes / 4 &&
      x->nchunk > 1)
    return spill(t, x, err);
  return FLOE_OK;
}

/* ---- the change functions ---- */

floe_status floe_insert(floe_table *t, uint32_t xid, uint32_t subxid,
                        const floe_row *row, floe_error *err) {
  if (!t) return ferr_set(err, FLOE_EINVAL, "floe_insert: NULL table");
  FLOE_TRY(tbl_row_check(row, t->schema, false, err));
  tbl_txn *x = NULL;
  FLOE_TRY(txn_get(t, xid, &x, err));
  uint64_t h;
  tbl_row_hash(row, &h);
  FLOE_TRY(append_row(t, x, row, subxid, h, err));
  return maybe_spill(t, x, err);
}

static floe_status op_push(tbl_txn *x, uint8_t kind, uint32_t sub,
                           const floe_row *key, uint64_t h, floe_error *err) {
  FLOE_TRY(grow((void **)&x->ops, &x->capop, x->nop + 1, sizeof *x->ops, err));
  FLOE_TRY(sub_note(x, sub, 2, x->nop, err));
  tbl_op *o = &x->ops[x->nop];
  memset(o, 0, sizeof *o);
  o->kind = kind;
  o->sub = sub;
  o->hash = h;
  o->key_row = -1;
  if (kind == TBL_OP_DEL) {
    const tbl_schema *s = x->schema;
    int64_t len = x->opkeys->length;
    floe_status st = FLOE_OK;
    int k = 0;
    for (; k < s->nident && !st; k++)
      st = col_append_range(&x->opkeys->cols[k], &key->cols[s->ident[k]], 0, 1,
                            err);
    if (st) {
      for (int j = 0; j < k; j++) col_truncate(&x->opkeys->cols[j], len);
      return st;
    }
    x->opkeys->length = len + 1;
    o->key_row = len;
  }
  x->nop++;
  return FLOE_OK;
}

/* Deletes the row with key's identity: a private one now, a committed one
 * at commit. */
static floe_status do_delete(floe_table *t, tbl_txn *x, uint32_t sub,
                             const floe_row *key, uint64_t h, int64_t g,
                             floe_error *err) {
  (void)t;
  if (g >= 0) return mark_deleted(x, g, sub, err);
  return op_push(x, TBL_OP_DEL, sub, key, h, err);
}

floe_status floe_delete(floe_table *t, uint32_t xid, uint32_t subxid,
                        const floe_row *old, floe_error *err) {
  if (!t) return ferr_set(err, FLOE_EINVAL, "floe_delete: NULL table");
  FLOE_TRY(check_key(t, old, err));
  tbl_txn *x = NULL;
  FLOE_TRY(txn_get(t, xid, &x, err));
  uint64_t h;
  tbl_row_hash(old, &h);
  int64_t g = -1;
  FLOE_TRY(private_find(t, x, old, h, &g, NULL, NULL, err));
  return do_delete(t, x, subxid, old, h, g, err);
}

floe_status floe_update(floe_table *t, uint32_t xid, uint32_t subxid,
                        const floe_row *old, const floe_row *new_row,
                        floe_error *err) {
  if (!t) return ferr_set(err, FLOE_EINVAL, "floe_update: NULL table");
  FLOE_TRY(tbl_row_check(new_row, t->schema, true, err));
  if (!old && !t->schema->nkey)
    return ferr_set(err, FLOE_EINVAL,
                    "an update of a table without a key needs the old row");
  const floe_row *key = old ? old : new_row;
  FLOE_TRY(check_key(t, key, err));
  tbl_txn *x = NULL;
  FLOE_TRY(txn_get(t, xid, &x, err));
  bool fill = false;
  for (int i = 0; i < t->schema->ncols; i++)
    fill |= new_row->st[i] == TBL_ROW_UNCHANGED;
  uint64_t h;
  tbl_row_hash(key, &h);
  int64_t g = -1, srow = 0;
  col_batch *src = NULL;
  FLOE_TRY(private_find(t, x, key, h, &g, fill ? &src : NULL, &srow, err));
  const floe_row *ins = new_row;
  if (fill) {
    floe_row *sc = NULL;
    floe_status st = scratch_get(t, &sc, err);
    if (!st && g >= 0)
      st = fill_scratch(sc, new_row, src, srow < 0 ? 0 : srow, err);
    else if (!st)
      st = committed_fill(t, key, h, new_row, sc, err);
    if (srow < 0) col_batch_free(src); /* a spilled row read back */
    FLOE_TRY(st);
    ins = sc;
  }
  FLOE_TRY(do_delete(t, x, subxid, key, h, g, err));
  uint64_t nh = h;
  if (old) tbl_row_hash(ins, &nh);
  FLOE_TRY(append_row(t, x, ins, subxid, nh, err));
  return maybe_spill(t, x, err);
}

floe_status floe_truncate(floe_table *t, uint32_t xid, uint32_t subxid,
                          floe_error *err) {
  if (!t) return ferr_set(err, FLOE_EINVAL, "floe_truncate: NULL table");
  tbl_txn *x = NULL;
  FLOE_TRY(txn_get(t, xid, &x, err));
  FLOE_TRY(grow((void **)&x->tmarks, &x->captmark, x->ntmark + 1,
                sizeof *x->tmarks, err));
  FLOE_TRY(sub_note(x, subxid, 3, x->ntmark, err));
  FLOE_TRY(op_push(x, TBL_OP_TRUNC, subxid, NULL, 0, err));
  x->tmarks[x->ntmark].g = x->nrows;
  x->tmarks[x->ntmark].sub = subxid;
  x->tmarks[x->ntmark].dead = false;
  x->ntmark++;
  if (x->nrows > x->tmax) x->tmax = x->nrows;
  return FLOE_OK;
}

floe_status floe_abort(floe_table *t, uint32_t xid, uint32_t subxid,
                       floe_error *err) {
  if (!t) return ferr_set(err, FLOE_EINVAL, "floe_abort: NULL table");
  tbl_txn *x = tbl_txn_find(t, xid);
  if (!x) return FLOE_OK;
  if (subxid == xid) {
    tbl_txn_forget(t, x);
    tbl_txn_free(t, x);
    return FLOE_OK;
  }
  tbl_sub *sb = sub_get(x, subxid, err);
  if (!sb) return FLOE_ENOMEM;
  if (!sb->aborted) {
    sb->aborted = true;
    x->naborted++;
  }
  /* what it did: each list from the sub's first item on (a savepoint rolled
   * back costs what was done since it began, not the whole txn) */
  tbl_sub s = *sb;
  /* its rows are dead for good (and out of the private index) */
  for (int i = s.run0 < 0 ? x->nrun : s.run0; i < x->nrun; i++) {
    if (x->runs[i].sub != subxid) continue;
    x->runs[i].dead = true;
    if (!x->idx) continue;
    int64_t end = i + 1 < x->nrun ? x->runs[i + 1].g0 : x->nrows;
    int64_t g = x->runs[i].g0 > x->spilled ? x->runs[i].g0 : x->spilled;
    if (end > x->idx_upto) end = x->idx_upto;
    for (; g < end; g++) {
      int64_t r;
      tbl_chunk *c = chunk_of(x, g, &r);
      if (!tbl_bits_get(c->del, r))
        tidx_mem_remove(x->idx, c->hash[r], (uint64_t)g);
    }
  }
  for (int i = s.pdel0 < 0 ? x->npdel : s.pdel0; i < x->npdel; i++) {
    tbl_mark *m = &x->pdels[i];
    if (m->sub != subxid || m->dead) continue;
    m->dead = true;
    if (m->g >= x->spilled) {
      int64_t r;
      tbl_chunk *c = chunk_of(x, m->g, &r);
      tbl_bits_clear(c->del, r);
      /* back in the private index (rebuilt on the next lookup if that
       * fails) */
      if (x->idx && m->g < x->idx_upto &&
          tidx_mem_insert(x->idx, c->hash[r], (uint64_t)m->g, NULL)) {
        tidx_mem_free(x->idx);
        x->idx = NULL;
      }
    } else {
      tidx_mem_remove(x->sdel, fhash_u64((uint64_t)m->g), (uint64_t)m->g);
    }
  }
  if (s.tmark0 >= 0) {
    /* truncates are rare: tmax is recomputed over all of them */
    for (int i = s.tmark0; i < x->ntmark; i++)
      if (x->tmarks[i].sub == subxid) x->tmarks[i].dead = true;
    x->tmax = 0;
    for (int i = 0; i < x->ntmark; i++)
      if (!x->tmarks[i].dead && x->tmarks[i].g > x->tmax)
        x->tmax = x->tmarks[i].g;
  }
  for (int i = s.op0 < 0 ? x->nop : s.op0; i < x->nop; i++)
    if (x->ops[i].sub == subxid) x->ops[i].dead = true;
  return FLOE_OK;
}

/* ---- batch insert (table/ingest.h) ---- */

floe_status tbl_insert_batch(floe_table *t, uint32_t xid, uint32_t subxid,
                             const col_batch *b, floe_error *err) {
  if (!t || !b) return ferr_set(err, FLOE_EINVAL, "tbl_insert_batch: NULL");
  const tbl_schema *s = t->schema;
  if (b->schema->nfields != s->ncols)
    return ferr_set(err, FLOE_EINVAL,
                    "insert batch: %d fields for a table of %d columns",
                    b->schema->nfields, s->ncols);
  for (int i = 0; i < s->ncols; i++) {
    const col_column *c = &b->cols[i];
    if (c->length != b->length)
      return ferr_set(err, FLOE_EINVAL, "insert batch: column %s is short",
                      s->fcols[i].name);
    if (c->null_count && !s->fcols[i].nullable)
      return ferr_set(err, FLOE_EINVAL, "column %s is NOT NULL",
                      s->fcols[i].name);
  }
  tbl_txn *x = NULL;
  FLOE_TRY(txn_get(t, xid, &x, err));
  if (!b->length) return FLOE_OK;
  const tbl_schema *xs = x->schema;
  for (int64_t from = 0; from < b->length;) {
    tbl_chunk *c = NULL;
    FLOE_TRY(chunk_room(t, x, &c, err));
    FLOE_TRY(run_mark(x, subxid, err));
    int64_t len = c->b->length;
    int64_t n = x->batch_rows - len;
    if (n > b->length - from) n = b->length - from;
    FLOE_TRY(chunk_fit(x, c, len + n, err));
    int64_t before = tbl_cols_bytes(c->b);
    floe_status st = FLOE_OK;
    int i = 0;
    for (; i < xs->ncols && !st; i++) {
      /* same type: a range copy; a narrower one: widened */
      st = tbl_col_convert(&c->b->cols[i], &b->cols[i], from, n, err);
    }
    if (st) {
      for (int k = 0; k < i; k++) col_truncate(&c->b->cols[k], len);
      return ferr_prefix(err, st, "insert batch");
    }
    /* whole-run hashing: one columnar pass per identity column */
    tkey_hash(c->b->cols, xs->ident, xs->nident, len, n, c->hash + len);
    c->b->length = len + n;
    if (x->idx) {
      for (int64_t r = 0; r < n && !st; r++)
        st = tidx_mem_insert(x->idx, c->hash[len + r], (uint64_t)(x->nrows + r),
                             err);
      if (st) {
        /* the rows stay; the index is rebuilt lazily from idx_upto */
        tidx_mem_free(x->idx);
        x->idx = NULL;
      } else {
        x->idx_upto = x->nrows + n;
      }
    }
    int64_t bytes = tbl_cols_bytes(c->b) - before + 16 * n;
    c->bytes += bytes;
    x->bytes += bytes;
    atomic_fetch_add(&t->txn_bytes, bytes);
    x->nrows += n;
    from += n;
    FLOE_TRY(maybe_spill(t, x, err));
  }
  return FLOE_OK;
}
