/*
 * Flush and Iceberg commit (maintenance thread, maint held).
 *
 *   pin      (ix + mu) the active batch is sealed; every mem batch and its
 *            bitmap pinned; a new mem-index generation started; for a
 *            commit also the applied LSN, every file with its deletes and
 *            the removed-file list: one commit boundary
 *   write    (no lock) the pinned batches' live rows -> one Parquet data
 *            file + its index file
 *   commit   (no lock) one ice_txn: the new file, files not yet in Iceberg
 *            (+ their deletes), new deletes of Iceberg files, removals;
 *            summary floe.source-lsn = the pinned LSN
 *   install  (ix + mu) the batches leave the mem slice, the file joins the
 *            list with the rows deleted since the pin (remapped), the
 *            covered index generations are dropped; after a commit the
 *            files' committed deletes and durable_lsn move up
 *
 * A commit always flushes first: a snapshot must hold exactly the effects
 * of the commits <= its LSN, and rows of those commits may still sit in
 * the mem slice.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table/table_int.h"
#include "util/log.h"

typedef struct fpin {
  int nb;
  tbl_batch **b;
  tbl_bits **bits;
  uint32_t max_id;
  bool have_batches;
  uint64_t trunc_gen;
  uint32_t slot;
  bool newgen;
  bool commit, dirty;
  uint64_t lsn, changes;
  int nf;
  tbl_file **f;
  tbl_dv **fdel;
  int *fice;
  int nrm;
  tbl_file **rm;
} fpin;

static void fpin_free(fpin *p) {
  for (int i = 0; i < p->nb; i++) {
    tbl_batch_unref(p->b[i]);
    tbl_bits_unref(p->bits[i]);
  }
  free(p->b);
  free(p->bits);
  for (int i = 0; i < p->nf; i++) {
    tbl_file_unref(p->f[i]);
    tbl_dv_unref(p->fdel[i]);
  }
  free(p->f);
  free(p->fdel);
  free(p->fice);
  for (int i = 0; i < p->nrm; i++) tbl_file_unref(p->rm[i]);
  free(p->rm);
}

/* ix + mu held. */
static floe_status pin(floe_table *t, bool commit, fpin *p, floe_error *err) {
  memset(p, 0, sizeof *p);
  p->b = calloc((size_t)t->nmem + 1, sizeof *p->b);
  p->bits = calloc((size_t)t->nmem + 1, sizeof *p->bits);
  if (!p->b || !p->bits) return ferr_nomem(err, (size_t)t->nmem * 16);
  if (commit) {
    p->f = calloc((size_t)t->nfiles + 1, sizeof *p->f);
    p->fdel = calloc((size_t)t->nfiles + 1, sizeof *p->fdel);
    p->fice = calloc((size_t)t->nfiles + 1, sizeof *p->fice);
    p->rm = calloc((size_t)t->removed.n + 1, sizeof *p->rm);
    if (!p->f || !p->fdel || !p->fice || !p->rm)
      return ferr_nomem(err, (size_t)t->nfiles * 16);
  }
  if (t->nmem && t->ngen == (int)(sizeof t->gen / sizeof t->gen[0]))
    /* generations piled up (failed flushes): the install removes this
     * flush's entries one by one instead */
    p->newgen = false;
  else
    p->newgen = t->nmem > 0;
  if (p->newgen) {
    /* a small table: it grows incrementally (index_mem.c), no commit
     * pays for a doubling. Batches made from now on have ids >= next_id */
    tidx_mem *m = NULL;
    FLOE_TRY(tidx_mem_new_batches(t->cfg.batch_rows, t->next_id,
                                  t->cfg.batch_rows, &m, err));
    t->gen[t->ngen - 1].max_id = t->mem[t->nmem - 1]->id;
    t->gen[t->ngen].m = m;
    t->gen[t->ngen].max_id = UINT32_MAX;
    t->ngen++;
  }
  t->active = NULL; /* sealed: ingest starts a new one */
  for (int i = 0; i < t->nmem; i++) {
    p->b[i] = tbl_batch_ref(t->mem[i]);
    p->bits[i] = tbl_bits_ref(t->mem[i]->del);
    p->nb++;
  }
  p->have_batches = t->nmem > 0;
  p->max_id = t->nmem ? t->mem[t->nmem - 1]->id : 0;
  p->trunc_gen = t->trunc_gen;
  p->slot = TBL_FILE_BIT | t->next_slot++;
  p->commit = commit;
  if (!commit) return FLOE_OK;
  p->lsn = t->applied;
  p->changes = t->changes;
  p->dirty = t->changes != t->committed_changes || t->removed.n > 0;
  for (int i = 0; i < t->nfiles; i++) {
    tbl_file *f = t->files[i];
    p->f[i] = tbl_file_ref(f);
    p->fdel[i] = tbl_dv_ref(f->del);
    p->fice[i] = f->ice;
    p->nf++;
    if (f->ice != TBL_ICE_LIVE) p->dirty = true;
  }
  for (int i = 0; i < t->removed.n; i++)
    p->rm[p->nrm++] = tbl_file_ref(t->removed.v[i]);
  return FLOE_OK;
}

/* The live rows of the pinned batches as batches to write (a batch with
 * no deletes goes as it is). *k: kept rows; hashes: theirs. */
static floe_status live_rows(const fpin *p, col_batch ***out, int *nout,
                             uint64_t **hashes, int64_t *k, floe_error *err) {
  *out = calloc((size_t)p->nb + 1, sizeof **out);
  int64_t total = 0;
  for (int i = 0; i < p->nb; i++)
    total += p->b[i]->b->length - p->bits[i]->ndel;
  *hashes = malloc((size_t)(total ? total : 1) * sizeof **hashes);
  if (!*out || !*hashes) return ferr_nomem(err, (size_t)total * 8);
  *k = 0;
  *nout = 0;
  for (int i = 0; i < p->nb; i++) {
    const tbl_batch *b = p->b[i];
    const tbl_bits *d = p->bits[i];
    int64_t n = b->b->length;
    if (n - d->ndel <= 0) continue;
    if (!d->ndel) {
      (*out)[(*nout)++] = b->b;
      memcpy(*hashes + *k, b->hash, (size_t)n * sizeof **hashes);
      *k += n;
      continue;
    }
    col_batch *c = NULL;
    FLOE_TRY(col_batch_new(b->b->schema, &c, err));
    (*out)[(*nout)++] = c; /* a copy: write_file frees it */
    int64_t r = 0, len = 0;
    while (r < n) {
      if (tbl_bits_get(d, r)) {
        r++;
        continue;
      }
      int64_t e = r + 1;
      while (e < n && !tbl_bits_get(d, e)) e++;
      for (int j = 0; j < b->b->schema->nfields; j++)
        FLOE_TRY(col_append_range(&c->cols[j], &b->b->cols[j], r, e - r, err));
      memcpy(*hashes + *k, b->hash + r, (size_t)(e - r) * sizeof **hashes);
      *k += e - r;
      len += e - r;
      r = e;
    }
    c->length = len;
  }
  return FLOE_OK;
}

/* Writes the pinned rows; *f (NULL when nothing survives) and *x its
 * index. */
static floe_status write_file(floe_table *t, const fpin *p, tbl_file **f,
                              tbl_fidx **x, floe_error *err) {
  *f = NULL;
  *x = NULL;
  col_batch **bs = NULL;
  int nbs = 0;
  uint64_t *hashes = NULL;
  int64_t k = 0;
  ice_data_file *dfs = NULL;
  int ndf = 0;
  char *ixpath = NULL;
  tidx_file *tf = NULL;
  floe_status st = live_rows(p, &bs, &nbs, &hashes, &k, err);
  if (!st && k > 0) st = ice_table_write_data(t->ice, bs, nbs, &dfs, &ndf, err);
  if (!st && k > 0 && (ndf != 1 || dfs[0].record_count != k))
    st =
        ferr_set(err, FLOE_EUNSUPPORTED,
                 "flush wrote %d files (%lld rows) for %lld rows: floe "
                 "writes unpartitioned tables",
                 ndf, ndf ? (long long)dfs[0].record_count : 0LL, (long long)k);
  if (!st && k > 0) {
    char *dir = malloc(strlen(t->state_dir) + 8);
    if (!dir) st = ferr_nomem(err, strlen(t->state_dir));
    if (!st) {
      sprintf(dir, "%s/index", t->state_dir);
      st = tbl_path_uuid(dir, "", ".tidx", &ixpath, err);
    }
    free(dir);
  }
  if (!st && k > 0) {
    tidx_cover cv = {dfs[0].file_path, k, p->slot};
    st = tidx_file_build(ixpath, &cv, 1, hashes, &tf, err);
  }
  if (!st && k > 0) {
    *x = tbl_fidx_wrap(tf);
    if (!*x) {
      tidx_file_close(tf, 1);
      st = ferr_nomem(err, sizeof(tbl_fidx));
    }
  }
  if (!st && k > 0) {
    st = tbl_file_new(&dfs[0], p->slot, f, err);
    if (st) {
      (*x)->unlink = true;
      tbl_fidx_unref(*x);
      *x = NULL;
    }
  }
  for (int i = 0; i < nbs; i++) {
    bool copy = true;
    for (int j = 0; j < p->nb; j++)
      if (p->b[j]->b == bs[i]) copy = false;
    if (copy) col_batch_free(bs[i]);
  }
  free(bs);
  free(hashes);
  free(ixpath);
  for (int i = 0; i < ndf; i++) ice_data_file_free(&dfs[i]);
  free(dfs);
  return st;
}

/* Deletes a file we wrote that will never be used (best effort). */
static void drop_data_file(floe_table *t, const char *path) {
  char *key = NULL;
  floe_error e;
  if (ice_catalog_key(t->cat, path, &key, &e) == FLOE_OK)
    (void)fstore_del(t->cat->store, key, &e);
  free(key);
}

floe_status tbl_commit_landed(floe_table *t, const char *id, bool *landed,
                              floe_error *err) {
  *landed = false;
  FLOE_TRY(ice_table_refresh(t->ice, err));
  const ice_metadata *md = ice_table_metadata(t->ice);
  for (int i = 0; i < md->nsnapshots && !*landed; i++) {
    const char *v = ice_kv_get(&md->snapshots[i].summary, TBL_COMMIT_ID);
    *landed = v && !strcmp(v, id);
  }
  return FLOE_OK;
}

floe_status tbl_commit_ready(floe_table *t, floe_error *err) {
  if (atomic_load(&t->broken))
    return ferr_set(err, FLOE_EIO,
                    "table is broken by an earlier failure: reopen it");
  if (!t->unsure) return FLOE_OK;
  bool landed = false;
  floe_status st = tbl_commit_landed(t, t->unsure, &landed, err);
  if (st)
    return ferr_prefix(err, st, "the outcome of Iceberg commit %s is unknown",
                       t->unsure);
  free(t->unsure);
  t->unsure = NULL;
  if (!landed) return FLOE_OK; /* what it held is still pending: retried */
  /* it landed, but the view took it as failed (its files still pending,
   * durable_lsn behind): only a reopen reconciles the two */
  atomic_store(&t->broken, true);
  return ferr_set(err, FLOE_EIO,
                  "an Iceberg commit reported as failed did land: the table "
                  "must be reopened");
}

bool tbl_commit_landed_anyway(floe_table *t, const char *id) {
  bool landed = false;
  floe_error e;
  if (tbl_commit_landed(t, id, &landed, &e) == FLOE_OK) return landed;
  free(t->unsure);
  t->unsure = strdup(id);
  if (!t->unsure) atomic_store(&t->broken, true); /* cannot look for it */
  return false;
}

static floe_status ice_commit(floe_table *t, const fpin *p, tbl_file *nf,
                              const char *id, int64_t *parent_ts,
                              floe_error *err) {
  const ice_snapshot *cur =
      ice_metadata_current_snapshot(ice_table_metadata(t->ice));
  *parent_ts = cur ? cur->timestamp_ms : 0;
  ice_txn *x = NULL;
  FLOE_TRY(ice_txn_begin(t->ice, &x, err));
  floe_status st = FLOE_OK;
  if (nf) st = ice_txn_append(x, &nf->df, err);
  for (int i = 0; i < p->nf && !st; i++) {
    tbl_file *f = p->f[i];
    tbl_dv *d = p->fdel[i];
    if (p->fice[i] == TBL_ICE_NO) {
      st = ice_txn_append(x, &f->df, err);
      if (!st && d->ndel)
        st = ice_txn_delete_rows(x, f->df.file_path, d->dv, err);
    } else if (p->fice[i] == TBL_ICE_LIVE && d->ndel && d != f->committed) {
      /* the whole set: the txn merges it with the file's DV */
      st = ice_txn_delete_rows(x, f->df.file_path, d->dv, err);
    }
  }
  for (int i = 0; i < p->nrm && !st; i++)
    if (p->rm[i]->ice == TBL_ICE_LIVE)
      st = ice_txn_remove_file(x, p->rm[i]->df.file_path, err);
  char lsn[24];
  snprintf(lsn, sizeof lsn, "%" PRIu64, p->lsn);
  if (!st) st = ice_txn_set_summary(x, "floe.source-lsn", lsn, err);
  if (!st) st = ice_txn_set_summary(x, TBL_COMMIT_ID, id, err);
  if (st) {
    ice_txn_abort(x);
    return st;
  }
  st = ice_txn_commit(x, NULL, err);
  if (st && tbl_commit_landed_anyway(t, id)) {
    ferr_clear(err);
    st = FLOE_OK;
  }
  return st;
}

static bool flist_remove(tbl_flist *l, const tbl_file *f) {
  for (int i = 0; i < l->n; i++)
    if (l->v[i] == f) {
      memmove(&l->v[i], &l->v[i + 1], (size_t)(l->n - i - 1) * sizeof *l->v);
      l->n--;
      return true;
    }
  return false;
}

/* Maps the rows deleted since the pin onto the new file's positions. */
static floe_status remap_late(const fpin *p, tbl_file *nf, floe_error *err) {
  int64_t base = 0;
  for (int i = 0; i < p->nb; i++) {
    const tbl_batch *b = p->b[i];
    const tbl_bits *P = p->bits[i], *C = b->del;
    int64_t n = b->b->length;
    if (C != P && C->ndel > P->ndel) {
      int64_t before = 0; /* P's bits below the current word */
      for (int64_t w = 0; w * 64 < n; w++) {
        uint64_t diff = C->w[w] & ~P->w[w];
        while (diff) {
          int bit = __builtin_ctzll(diff);
          diff &= diff - 1;
          int64_t r = w * 64 + bit;
          int64_t rank = before + __builtin_popcountll(
                                      P->w[w] & (((uint64_t)1 << bit) - 1));
          FLOE_TRY(tbl_dv_add(nf->del, (uint64_t)(base + r - rank), err));
        }
        before += __builtin_popcountll(P->w[w]);
      }
    }
    base += n - P->ndel;
  }
  return FLOE_OK;
}

void tbl_sweep(floe_table *t, tbl_flist *drop) {
  int k = 0;
  for (int i = 0; i < t->trash.n; i++) {
    tbl_file *f = t->trash.v[i];
    if (atomic_load(&f->refs) == 1 && tbl_flist_push(drop, f, NULL) == FLOE_OK)
      continue;
    t->trash.v[k++] = f;
  }
  t->trash.n = k;
  k = 0;
  for (int i = 0; i < t->retired.n; i++) {
    tbl_file *f = t->retired.v[i];
    if (atomic_load(&f->refs) == 1)
      tbl_file_unref(f);
    else
      t->retired.v[k++] = f;
  }
  t->retired.n = k;
}

void tbl_drop_files(floe_table *t, tbl_flist *drop) {
  for (int i = 0; i < drop->n; i++) drop_data_file(t, drop->v[i]->df.file_path);
  tbl_flist_clear(drop);
}

/* ix + mu held. Drops the index generations the flush covered (returned
 * in dropped[] to free outside the locks). */
static floe_status install(floe_table *t, const fpin *p, tbl_file *nf,
                           tbl_fidx *nx, bool committed, int64_t parent_ts,
                           tidx_mem **dropped, int *ndropped, floe_error *err) {
  floe_status st = FLOE_OK;
  bool truncated = t->trunc_gen != p->trunc_gen;
  *ndropped = 0;
  if (!truncated && p->have_batches) {
    int k = 0;
    for (int i = 0; i < t->nmem; i++) {
      tbl_batch *b = t->mem[i];
      if (b->id <= p->max_id) {
        t->mem_rows -= b->b->length;
        t->mem_bytes -= b->bytes;
        if (!p->newgen && t->ngen)
          for (int64_t r = 0; r < b->b->length; r++)
            tidx_mem_remove(t->gen[t->ngen - 1].m, b->hash[r],
                            TIDX_LOC(b->id, r));
        tbl_batch_unref(b);
      } else {
        t->mem[k++] = b;
      }
    }
    t->nmem = k;
    int g = 0;
    for (int i = 0; i < t->ngen; i++) {
      if (t->gen[i].max_id <= p->max_id)
        dropped[(*ndropped)++] = t->gen[i].m;
      else
        t->gen[g++] = t->gen[i];
    }
    t->ngen = g;
  }
  if (nf) {
    nf->ice = committed ? TBL_ICE_LIVE : TBL_ICE_NO;
    floe_status s2;
    if (truncated) {
      st = tbl_flist_push(committed ? &t->removed : &t->trash, nf, err);
      if (st) tbl_file_unref(nf);
      nx->unlink = true;
      tbl_fidx_unref(nx);
    } else {
      st = remap_late(p, nf, err);
      if ((s2 = tbl_files_push(t, nf, err))) tbl_file_unref(nf);
      if (!st) st = s2;
      if ((s2 = tbl_fidx_push(t, nx, err))) {
        nx->unlink = true;
        tbl_fidx_unref(nx);
      }
      if (!st) st = s2;
    }
  }
  if (!committed) return st;
  for (int i = 0; i < p->nf; i++) {
    tbl_file *f = p->f[i];
    tbl_dv_unref(f->committed);
    f->committed = tbl_dv_ref(p->fdel[i]);
    if (f->ice == TBL_ICE_NO) {
      f->ice = TBL_ICE_LIVE;
      /* truncated after the pin, while this commit added it */
      if (flist_remove(&t->trash, f)) {
        floe_status s2 = tbl_flist_push(&t->removed, f, err);
        if (!st) st = s2;
      }
    }
  }
  for (int i = 0; i < p->nrm; i++) {
    tbl_file *f = p->rm[i];
    if (f->ice != TBL_ICE_LIVE) continue;
    if (flist_remove(&t->removed, f)) {
      f->ice = TBL_ICE_GONE;
      f->gone_ts = parent_ts;
      floe_status s2 = tbl_flist_push(&t->retired, f, err);
      if (s2) tbl_file_unref(f);
      if (!st) st = s2;
    }
  }
  if (p->lsn > t->durable) t->durable = p->lsn;
  t->committed_changes = p->changes;
  return st;
}

floe_status tbl_flush(floe_table *t, bool commit, floe_error *err) {
  /* a broken table's view may hold half a source commit: nothing of it
   * may reach Iceberg */
  if (atomic_load(&t->broken) || commit) {
    floe_status st = tbl_commit_ready(t, err);
    if (st) return ferr_prefix(err, st, "flush");
  }
  fpin p;
  pthread_mutex_lock(&t->ix);
  pthread_mutex_lock(&t->mu);
  floe_status st = pin(t, commit, &p, err);
  pthread_mutex_unlock(&t->mu);
  pthread_mutex_unlock(&t->ix);
  if (st) {
    fpin_free(&p);
    return st;
  }
  tbl_file *nf = NULL;
  tbl_fidx *nx = NULL;
  if (p.have_batches) st = write_file(t, &p, &nf, &nx, err);
  if (st) {
    fpin_free(&p);
    return ferr_prefix(err, st, "flush");
  }
  bool committed = false;
  int64_t parent_ts = 0;
  floe_status cst = FLOE_OK;
  floe_error cerr;
  ferr_clear(&cerr);
  if (commit && (p.dirty || nf)) {
    char id[37];
    cst = tbl_uuid(id, &cerr);
    if (!cst) cst = ice_commit(t, &p, nf, id, &parent_ts, &cerr);
    committed = cst == FLOE_OK;
  } else if (commit) {
    committed = true; /* nothing to write: durable catches up */
  }
  tidx_mem *dropped[8];
  int ndropped = 0;
  pthread_mutex_lock(&t->ix);
  pthread_mutex_lock(&t->mu);
  st = install(t, &p, nf, nx, committed, parent_ts, dropped, &ndropped, err);
  /* out of memory half-way through: the view lost rows or deletes it had
   * (or kept ones Iceberg dropped); only a reopen puts it right */
  if (st) atomic_store(&t->broken, true);
  if (nf) t->n_flushes++;
  t->nsnapshots = ice_table_metadata(t->ice)->nsnapshots;
  t->snapshot_id = ice_table_metadata(t->ice)->current_snapshot_id;
  if (committed && (p.dirty || nf)) {
    t->n_commits++;
    t->commit_wall_ms = tbl_wall_ms();
  }
  tbl_flist drop = {0, 0, NULL};
  tbl_sweep(t, &drop);
  tbl_wake(t); /* ingest may wait for the mem slice to shrink */
  pthread_mutex_unlock(&t->mu);
  pthread_mutex_unlock(&t->ix);
  tbl_drop_files(t, &drop);
  /* No spare generation is kept for the next flush any more: the mem index
   * grows without a stall (incremental migration), and an idle table the
   * size of the last mem slice cost as much RAM as the live one. Freed
   * outside the locks (unmapping tens of MiB). */
  for (int i = 0; i < ndropped; i++) tidx_mem_free(dropped[i]);
  fpin_free(&p);
  if (st)
    return ferr_prefix(err, st,
                       "installing a flush (the table must be reopened)");
  if (cst) {
    if (err) *err = cerr;
    st = ferr_prefix(err, cst, "iceberg commit");
  }
  return st;
}
