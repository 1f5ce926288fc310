/*
 * Compaction (maintenance thread, maint held): merges small data files and
 * rewrites files whose deleted fraction passed the threshold, as one Iceberg
 * "replace" snapshot per pass.
 *
 *   pick     (mu) Iceberg files: those with committed deletes past
 *            compact_delete_fraction, and the small ones (< target / 4) once
 *            compact_min_files of them exist; pinned with the deletes the
 *            last Iceberg commit holds for them
 *   rewrite  (no lock) their rows minus those committed deletes, streamed
 *            into one new Parquet file + index; so the rewrite holds exactly
 *            the rows Iceberg holds and the commit changes no rows
 *   commit   (no lock) replace: the old files removed, the new one added
 *   install  (ix + mu) the old files leave the view; deletes they gained
 *            since their last Iceberg commit are remapped onto the new
 *            file, for the next regular commit to write as its DV
 *
 * Ingest never waits: deletes keep landing on the old files (copy-on-write)
 * while the pass runs and move over at install; when the mem slice reaches
 * the back-pressure limit meanwhile, the rewrite loop flushes it
 * (tbl_relieve: a flush without Iceberg commit touches no file of the
 * pass). Regular commits wait for
 * the pass (both hold maint), so durable_lsn lags by its duration.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg/scan.h"
#include "table/table_int.h"

typedef struct cpin {
  int n;
  tbl_file **f;
  tbl_dv **com; /* committed deletes at the pin (what C leaves out) */
  uint64_t trunc_gen;
  uint32_t slot;
  uint64_t lsn;
} cpin;

static void cpin_free(cpin *p) {
  for (int i = 0; i < p->n; i++) {
    tbl_file_unref(p->f[i]);
    tbl_dv_unref(p->com[i]);
  }
  free(p->f);
  free(p->com);
}

static int64_t committed_del(const tbl_file *f) {
  return f->committed ? f->committed->ndel : 0;
}

/* Chooses the files of this pass (ix + mu held). */
static floe_status pick(floe_table *t, int force, cpin *p, floe_error *err) {
  memset(p, 0, sizeof *p);
  p->f = calloc((size_t)t->nfiles + 1, sizeof *p->f);
  p->com = calloc((size_t)t->nfiles + 1, sizeof *p->com);
  if (!p->f || !p->com) return ferr_nomem(err, (size_t)t->nfiles * 16);
  int64_t target = t->cfg.target_file_bytes > 0 ? t->cfg.target_file_bytes
                                                : (int64_t)128 << 20;
  /* the rewrite streams, but bound a pass so the commit it delays stays
   * short */
  int64_t budget = target;
  int64_t small_at = target / 4;
  int nsmall = 0;
  for (int i = 0; i < t->nfiles; i++) {
    const tbl_file *f = t->files[i];
    if (f->ice == TBL_ICE_LIVE && f->df.file_size_in_bytes < small_at) nsmall++;
  }
  bool merge_small =
      nsmall >=
      (force ? 2
             : (t->cfg.compact_min_files > 1 ? t->cfg.compact_min_files : 2));
  int64_t bytes = 0;
  for (int i = 0; i < t->nfiles; i++) {
    tbl_file *f = t->files[i];
    if (f->ice != TBL_ICE_LIVE) continue;
    int64_t cd = committed_del(f);
    bool rewrite = f->rows > 0 && (force ? cd > 0
                                         : (double)cd / (double)f->rows >
                                               t->cfg.compact_delete_fraction);
    bool small = merge_small && f->df.file_size_in_bytes < small_at;
    if (!rewrite && !small) continue;
    if (p->n && bytes + f->df.file_size_in_bytes > budget) continue;
    bytes += f->df.file_size_in_bytes;
    p->f[p->n] = tbl_file_ref(f);
    p->com[p->n] = tbl_dv_ref(f->committed);
    p->n++;
  }
  /* one file without deletes alone: nothing to gain */
  if (p->n == 1 && !committed_del(p->f[0])) {
    tbl_file_unref(p->f[0]);
    tbl_dv_unref(p->com[0]);
    p->n = 0;
  }
  p->trunc_gen = t->trunc_gen;
  p->lsn = t->durable;
  if (p->n) p->slot = TBL_FILE_BIT | t->next_slot++;
  return FLOE_OK;
}

/* ---- streaming Parquet output through the table's store ---- */

typedef struct cwriter {
  char *path;
  fstore_writer *fw;
  pq_writer *w;
} cwriter;

static floe_status sink_store(void *ctx, const void *p, size_t n,
                              floe_error *err) {
  return fstore_writer_write(ctx, p, n, err);
}

static floe_status cw_open(floe_table *t, col_schema *schema, cwriter *w,
                           floe_error *err) {
  memset(w, 0, sizeof *w);
  char *dir = malloc(strlen(t->location) + 8);
  if (!dir) return ferr_nomem(err, strlen(t->location));
  sprintf(dir, "%s/data", t->location);
  floe_status st = tbl_path_uuid(dir, "", ".parquet", &w->path, err);
  free(dir);
  char *key = NULL;
  if (!st) st = ice_catalog_key(t->cat, w->path, &key, err);
  if (!st) st = fstore_writer_open(t->cat->store, key, &w->fw, err);
  free(key);
  if (st) return st;
  pq_writer_opts o;
  pq_writer_opts_default(&o);
  o.codec = PQ_CODEC_ZSTD;
  o.page_rows = 20000; /* as Iceberg: a one-row read decodes <= a page */
  pq_sink sink = {sink_store, w->fw};
  return pq_writer_open(schema, &o, sink, &w->w, err);
}

static void cw_abort(cwriter *w) {
  pq_writer_free(w->w);
  if (w->fw) fstore_writer_abort(w->fw);
  free(w->path);
  memset(w, 0, sizeof *w);
}

static floe_status cw_close(cwriter *w, col_schema *schema, ice_data_file *df,
                            floe_error *err) {
  pq_file_metrics m;
  memset(&m, 0, sizeof m);
  floe_status st = pq_writer_close(w->w, &m, err);
  if (!st) {
    st = fstore_writer_commit(w->fw, true, err);
    w->fw = NULL;
  }
  if (!st) st = ice_data_file_from_parquet_schema(w->path, &m, schema, df, err);
  pq_file_metrics_free(&m);
  return st;
}

/* ---- rewrite ---- */

/* Rewrites the pinned files' rows (minus committed deletes) into *nf and
 * its index *nx; *nf NULL when no row is left. */
static floe_status rewrite(floe_table *t, const tbl_schema *s, const cpin *p,
                           tbl_file **nf, tbl_fidx **nx, floe_error *err) {
  *nf = NULL;
  *nx = NULL;
  ice_plan plan;
  memset(&plan, 0, sizeof plan);
  plan.tasks = calloc((size_t)p->n, sizeof *plan.tasks);
  int64_t total = 0;
  for (int i = 0; i < p->n; i++)
    total += p->f[i]->rows - committed_del(p->f[i]);
  uint64_t *h = malloc((size_t)(total ? total : 1) * sizeof *h);
  if (!plan.tasks || !h) {
    free(plan.tasks);
    free(h);
    return ferr_nomem(err, (size_t)total * 8);
  }
  for (int i = 0; i < p->n; i++) {
    plan.tasks[i].file = p->f[i]->df;
    plan.tasks[i].deletes = p->com[i] && p->com[i]->ndel ? p->com[i]->dv : NULL;
  }
  plan.ntasks = p->n;
  plan.schema_id = s->ice.schema_id;
  plan.snapshot_id = ICE_NONE;
  ice_metadata md;
  memset(&md, 0, sizeof md);
  md.location = t->location;
  md.nschemas = 1;
  md.schemas = (ice_schema *)&s->ice;
  ice_scan *sc = NULL;
  cwriter w;
  memset(&w, 0, sizeof w);
  floe_status st = ice_scan_open_md(t->cat, &md, &plan, NULL, 0, &sc, err);
  if (!st && total > 0) st = cw_open(t, ice_scan_schema(sc), &w, err);
  int64_t got = 0;
  while (!st) {
    col_batch *b = NULL;
    st = ice_scan_next(sc, &b, err);
    if (st || !b) break;
    if (got + b->length > total)
      st = ferr_corrupt(err, "compaction read more rows than the files hold");
    if (!st) {
      tkey_hash(b->cols, s->ident, s->nident, 0, b->length, h + got);
      got += b->length;
      st = pq_writer_write(w.w, b, err);
    }
    col_batch_free(b);
    /* a rewrite of millions of rows takes seconds: the mem slice must not
     * wait for it (back-pressure would stall ingest that long) */
    if (!st) tbl_relieve(t);
  }
  if (!st && got != total)
    st = ferr_corrupt(err, "compaction read %lld rows, expected %lld",
                      (long long)got, (long long)total);
  ice_data_file df;
  memset(&df, 0, sizeof df);
  if (!st && total > 0) st = cw_close(&w, ice_scan_schema(sc), &df, err);
  ice_scan_free(sc);
  free(plan.tasks);
  char *ixpath = NULL, *dir = NULL;
  tidx_file *tf = NULL;
  if (!st && total > 0) {
    dir = malloc(strlen(t->state_dir) + 8);
    if (!dir)
      st = ferr_nomem(err, strlen(t->state_dir));
    else
      sprintf(dir, "%s/index", t->state_dir);
    if (!st) st = tbl_path_uuid(dir, "", ".tidx", &ixpath, err);
    if (!st) {
      tidx_cover cv = {df.file_path, total, p->slot};
      st = tidx_file_build(ixpath, &cv, 1, h, &tf, err);
    }
    if (!st) {
      *nx = tbl_fidx_wrap(tf);
      if (!*nx) {
        tidx_file_close(tf, 1);
        st = ferr_nomem(err, sizeof(tbl_fidx));
      }
    }
    if (!st) st = tbl_file_new(&df, p->slot, nf, err);
  }
  if (st) {
    if (*nx) {
      (*nx)->unlink = true;
      tbl_fidx_unref(*nx);
      *nx = NULL;
    }
    if (df.file_path) {
      char *key = NULL;
      floe_error e2;
      if (ice_catalog_key(t->cat, df.file_path, &key, &e2) == FLOE_OK)
        (void)fstore_del(t->cat->store, key, &e2);
      free(key);
    }
  }
  ice_data_file_free(&df);
  cw_abort(&w);
  free(ixpath);
  free(dir);
  free(h);
  return st;
}

/* ---- install ---- */

typedef struct posv {
  int64_t n, cap;
  uint64_t *v;
} posv;

static bool collect_pos(void *ctx, uint64_t pos) {
  posv *p = ctx;
  if (p->n == p->cap) {
    int64_t cap = p->cap ? p->cap * 2 : 256;
    void *q = realloc(p->v, (size_t)cap * sizeof *p->v);
    if (!q) return false;
    p->v = q;
    p->cap = cap;
  }
  p->v[p->n++] = pos;
  return true;
}

/* Deletes the old files gained since the pin's committed state, as
 * positions of the new file (mu held). */
static floe_status remap(const cpin *p, tbl_file *nf, bool *any,
                         floe_error *err) {
  int64_t base = 0;
  floe_status st = FLOE_OK;
  for (int i = 0; i < p->n && !st; i++) {
    const tbl_file *f = p->f[i];
    const tbl_dv *com = p->com[i];
    int64_t cnd = com ? com->ndel : 0;
    if (f->del->ndel > cnd) {
      posv cur = {0, 0, NULL}, old = {0, 0, NULL};
      if (f->del->dv) ice_dv_iterate(f->del->dv, collect_pos, &cur);
      if (com && com->dv) ice_dv_iterate(com->dv, collect_pos, &old);
      if (cur.n != f->del->ndel || old.n != cnd)
        st = ferr_nomem(err, (size_t)f->del->ndel * 8);
      int64_t j = 0; /* old positions below cur.v[k] */
      for (int64_t k = 0; k < cur.n && !st; k++) {
        while (j < old.n && old.v[j] < cur.v[k]) j++;
        if (j < old.n && old.v[j] == cur.v[k]) continue; /* not in C */
        st = tbl_dv_add(nf->del, (uint64_t)(base + (int64_t)cur.v[k] - j), err);
        *any = true;
      }
      free(cur.v);
      free(old.v);
    }
    base += f->rows - cnd;
  }
  return st;
}

static bool flist_take(tbl_flist *l, const tbl_file *f) {
  for (int i = 0; i < l->n; i++)
    if (l->v[i] == f) {
      memmove(&l->v[i], &l->v[i + 1], (size_t)(l->n - i - 1) * sizeof *l->v);
      l->n--;
      return true;
    }
  return false;
}

static floe_status install(floe_table *t, const cpin *p, tbl_file *nf,
                           tbl_fidx *nx, int64_t parent_ts, floe_error *err) {
  floe_status st = FLOE_OK;
  bool truncated = t->trunc_gen != p->trunc_gen;
  for (int i = 0; i < p->n; i++) {
    tbl_file *f = p->f[i];
    tbl_file *owned = NULL; /* the view's reference */
    int k = tbl_find_file_index(t, f->slot);
    if (k >= 0 && t->files[k] == f) {
      owned = f;
      memmove(&t->files[k], &t->files[k + 1],
              (size_t)(t->nfiles - k - 1) * sizeof *t->files);
      t->nfiles--;
    } else if (flist_take(&t->removed, f)) {
      owned = f; /* truncated meanwhile: the replace already removed it */
    }
    f->ice = TBL_ICE_GONE;
    f->gone_ts = parent_ts;
    if (owned) {
      floe_status s2 = tbl_flist_push(&t->retired, owned, err);
      if (s2) tbl_file_unref(owned);
      if (!st) st = s2;
    }
  }
  if (!nf) return st;
  nf->ice = TBL_ICE_LIVE;
  if (truncated) {
    /* the truncate's commit must remove the new file instead */
    nx->unlink = true;
    tbl_fidx_unref(nx);
    floe_status s2 = tbl_flist_push(&t->removed, nf, err);
    if (s2) tbl_file_unref(nf);
    return st ? st : s2;
  }
  bool any = false;
  floe_status s2 = remap(p, nf, &any, err);
  if (!st) st = s2;
  if (any) t->changes++; /* the next commit writes these as nf's DV */
  s2 = tbl_files_push(t, nf, err);
  if (s2) tbl_file_unref(nf);
  if (!st) st = s2;
  s2 = tbl_fidx_push(t, nx, err);
  if (s2) {
    nx->unlink = true;
    tbl_fidx_unref(nx);
  }
  return st ? st : s2;
}

floe_status tbl_compact(floe_table *t, int force, floe_error *err) {
  floe_status st = tbl_commit_ready(t, err);
  if (st) return ferr_prefix(err, st, "compaction");
  cpin p;
  pthread_mutex_lock(&t->ix); /* next_slot */
  pthread_mutex_lock(&t->mu);
  st = pick(t, force, &p, err);
  tbl_schema *s = tbl_schema_ref(t->schema);
  pthread_mutex_unlock(&t->mu);
  pthread_mutex_unlock(&t->ix);
  if (st || !p.n) {
    cpin_free(&p);
    tbl_schema_unref(s);
    return st;
  }
  const ice_snapshot *cur =
      ice_metadata_current_snapshot(ice_table_metadata(t->ice));
  int64_t parent_ts = cur ? cur->timestamp_ms : 0;
  ice_txn *x = NULL;
  tbl_file *nf = NULL;
  tbl_fidx *nx = NULL;
  st = ice_txn_begin(t->ice, &x, err);
  if (!st) st = rewrite(t, s, &p, &nf, &nx, err);
  for (int i = 0; i < p.n && !st; i++)
    st = ice_txn_remove_file(x, p.f[i]->df.file_path, err);
  if (!st && nf) st = ice_txn_append(x, &nf->df, err);
  char lsn[24], id[37];
  snprintf(lsn, sizeof lsn, "%" PRIu64, p.lsn);
  if (!st) st = ice_txn_set_summary(x, "floe.source-lsn", lsn, err);
  if (!st) st = tbl_uuid(id, err);
  if (!st) st = ice_txn_set_summary(x, TBL_COMMIT_ID, id, err);
  bool unknown = false;
  if (!st) {
    ice_txn_set_replace(x);
    st = ice_txn_commit(x, NULL, err);
    x = NULL;
    if (st && tbl_commit_landed_anyway(t, id)) {
      ferr_clear(err);
      st = FLOE_OK;
    }
    unknown = st && t->unsure && !strcmp(t->unsure, id);
  }
  ice_txn_abort(x);
  if (st) {
    /* the new file goes unless the commit may have landed with it */
    if (nf && !unknown) {
      char *key = NULL;
      floe_error e2;
      if (ice_catalog_key(t->cat, nf->df.file_path, &key, &e2) == FLOE_OK)
        (void)fstore_del(t->cat->store, key, &e2);
      free(key);
      nx->unlink = true;
    }
    tbl_fidx_unref(nx);
    tbl_file_unref(nf);
    cpin_free(&p);
    tbl_schema_unref(s);
    return ferr_prefix(err, st, "compaction");
  }
  pthread_mutex_lock(&t->ix);
  pthread_mutex_lock(&t->mu);
  st = install(t, &p, nf, nx, parent_ts, err);
  if (st) atomic_store(&t->broken, true); /* as a failed flush install */
  t->n_compactions++;
  t->nsnapshots = ice_table_metadata(t->ice)->nsnapshots;
  t->snapshot_id = ice_table_metadata(t->ice)->current_snapshot_id;
  tbl_flist drop = {0, 0, NULL};
  tbl_sweep(t, &drop);
  pthread_mutex_unlock(&t->mu);
  pthread_mutex_unlock(&t->ix);
  tbl_drop_files(t, &drop);
  cpin_free(&p);
  tbl_schema_unref(s);
  return st;
}
