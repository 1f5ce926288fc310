/*
 * The maintenance thread's entry points: floe_table_tick (whatever is due),
 * the forced floe_table_flush / floe_table_compact, index merges and
 * housekeeping (snapshot expiry, orphan removal). All run under maint, so
 * they never overlap each other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table/table_int.h"

/* Merge the persisted indexes when there are more than this many. */
#define MERGE_AT 8

typedef struct live_slots {
  int n;
  uint32_t *v; /* sorted */
} live_slots;

static bool slot_live(void *arg, uint32_t slot) {
  const live_slots *l = arg;
  int lo = 0, hi = l->n - 1;
  while (lo <= hi) {
    int m = (lo + hi) / 2;
    if (l->v[m] == slot) return true;
    if (l->v[m] < slot)
      lo = m + 1;
    else
      hi = m - 1;
  }
  return false;
}

floe_status tbl_index_merge(floe_table *t, int min_files, floe_error *err) {
  pthread_mutex_lock(&t->ix);
  int n = t->nfidx;
  if (n < min_files || n < 2) {
    pthread_mutex_unlock(&t->ix);
    return FLOE_OK;
  }
  tbl_fidx **in = calloc((size_t)n, sizeof *in);
  tidx_file **tf = calloc((size_t)n, sizeof *tf);
  live_slots ls = {0, NULL};
  pthread_mutex_lock(&t->mu);
  ls.v = calloc((size_t)t->nfiles + 1, sizeof *ls.v);
  uint64_t gen = t->trunc_gen;
  if (ls.v)
    for (int i = 0; i < t->nfiles; i++) ls.v[ls.n++] = t->files[i]->slot;
  pthread_mutex_unlock(&t->mu);
  floe_status st = FLOE_OK;
  if (!in || !tf || !ls.v) st = ferr_nomem(err, (size_t)n * 8);
  for (int i = 0; i < n && !st; i++) {
    in[i] = tbl_fidx_ref(t->fidx[i]);
    tf[i] = in[i]->f;
  }
  pthread_mutex_unlock(&t->ix);
  char *dir = NULL, *path = NULL;
  tidx_file *out = NULL;
  if (!st) {
    dir = malloc(strlen(t->state_dir) + 8);
    if (!dir)
      st = ferr_nomem(err, strlen(t->state_dir));
    else
      sprintf(dir, "%s/index", t->state_dir);
  }
  if (!st) st = tbl_path_uuid(dir, "", ".tidx", &path, err);
  if (!st) st = tidx_file_merge(path, tf, n, slot_live, &ls, &out, err);
  tbl_fidx *nx = NULL;
  if (!st) {
    nx = tbl_fidx_wrap(out);
    if (!nx) {
      tidx_file_close(out, 1);
      st = ferr_nomem(err, sizeof *nx);
    }
  }
  if (!st) {
    pthread_mutex_lock(&t->ix);
    if (t->trunc_gen != gen) {
      /* a truncate dropped the inputs meanwhile */
      nx->unlink = true;
      tbl_fidx_unref(nx);
    } else {
      int k = 0;
      for (int i = 0; i < t->nfidx; i++) {
        bool merged = false;
        for (int j = 0; j < n && !merged; j++) merged = t->fidx[i] == in[j];
        if (merged) {
          t->fidx[i]->unlink = true;
          tbl_fidx_unref(t->fidx[i]);
        } else {
          t->fidx[k++] = t->fidx[i];
        }
      }
      /* the merged index goes first: lookups visit newest first */
      t->nfidx = k;
      st = tbl_fidx_push(t, nx, err);
      if (!st) {
        memmove(&t->fidx[1], &t->fidx[0], (size_t)k * sizeof *t->fidx);
        t->fidx[0] = nx;
      } else {
        nx->unlink = true;
        tbl_fidx_unref(nx);
      }
    }
    pthread_mutex_unlock(&t->ix);
  }
  for (int i = 0; i < n && in; i++) tbl_fidx_unref(in[i]);
  free(in);
  free(tf);
  free(ls.v);
  free(dir);
  free(path);
  return st ? ferr_prefix(err, st, "index merge") : FLOE_OK;
}

/* Whether path names the store key `key` (mu held; rare: asked only for
 * orphan candidates). */
static bool path_has_key(const floe_table *t, const char *path,
                         const char *key) {
  char *k = NULL;
  floe_error e;
  bool eq = ice_catalog_key(t->cat, path, &k, &e) == FLOE_OK && !strcmp(k, key);
  free(k);
  return eq;
}

bool tbl_keep_file(void *arg, const char *key) {
  floe_table *t = arg;
  bool keep = false;
  pthread_mutex_lock(&t->mu);
  for (int i = 0; i < t->nmoving && !keep; i++)
    keep = !strcmp(t->moving[i], key);
  for (int i = 0; i < t->nfiles && !keep; i++)
    keep = t->files[i]->ice != TBL_ICE_LIVE &&
           path_has_key(t, t->files[i]->df.file_path, key);
  for (int i = 0; i < t->trash.n && !keep; i++)
    keep = path_has_key(t, t->trash.v[i]->df.file_path, key);
  pthread_mutex_unlock(&t->mu);
  return keep;
}

floe_status tbl_housekeep(floe_table *t, floe_error *err) {
  int64_t older = tbl_wall_ms() - t->cfg.snapshot_max_age_ms;
  bool orphans_ok = true;
  pthread_mutex_lock(&t->mu);
  /* a read state may still read a file only expired snapshots hold: keep
   * the snapshot that last had it */
  for (int i = 0; i < t->retired.n; i++) {
    tbl_file *f = t->retired.v[i];
    if (atomic_load(&f->refs) > 1 && f->gone_ts < older) older = f->gone_ts;
  }
  /* files no snapshot references yet are not orphans; those that appear
   * while the sweep runs (a commit moving spill files in) are spared by
   * tbl_keep_file */
  if (t->trash.n) orphans_ok = false;
  for (int i = 0; i < t->nfiles && orphans_ok; i++)
    if (t->files[i]->ice != TBL_ICE_LIVE) orphans_ok = false;
  pthread_mutex_unlock(&t->mu);
  floe_status st = ice_table_expire_snapshots(t->ice, older,
                                              t->cfg.keep_snapshots, NULL, err);
  if (!st && orphans_ok)
    st = ice_table_remove_orphans_keep(t->ice,
                                       tbl_wall_ms() - t->cfg.orphan_age_ms,
                                       tbl_keep_file, t, NULL, err);
  pthread_mutex_lock(&t->mu);
  t->nsnapshots = ice_table_metadata(t->ice)->nsnapshots;
  t->snapshot_id = ice_table_metadata(t->ice)->current_snapshot_id;
  pthread_mutex_unlock(&t->mu);
  return st ? ferr_prefix(err, st, "housekeeping") : FLOE_OK;
}

static bool due(int64_t last, int64_t interval, int64_t now) {
  return interval > 0 && (last == INT64_MIN || now - last >= interval);
}

static int64_t next_at(int64_t last, int64_t interval, int64_t now) {
  if (interval <= 0) return INT64_MAX;
  if (last == INT64_MIN) return now;
  return last + interval;
}

floe_status floe_table_tick(floe_table *t, int64_t now_ms, int64_t *next_ms,
                            floe_error *err) {
  if (!t) return ferr_set(err, FLOE_EINVAL, "floe_table_tick: NULL table");
  pthread_mutex_lock(&t->maint);
  floe_status st = FLOE_OK, s2;
  floe_error e2;
  pthread_mutex_lock(&t->mu);
  int64_t rows = t->mem_rows, bytes = t->mem_bytes;
  int64_t born = t->nmem ? t->mem[0]->born_ms : 0;
  pthread_mutex_unlock(&t->mu);
  bool flush_due = rows >= t->cfg.flush_rows || bytes >= t->cfg.flush_bytes ||
                   (t->cfg.flush_age_ms > 0 && rows > 0 &&
                    tbl_mono_ms() - born >= t->cfg.flush_age_ms);
  if (due(t->last_commit_ms, t->cfg.commit_interval_ms, now_ms) ||
      t->cfg.commit_interval_ms <= 0) {
    st = tbl_flush(t, true, err);
    t->last_commit_ms = now_ms;
  } else if (flush_due) {
    st = tbl_flush(t, false, err);
  }
  s2 = tbl_index_merge(t, MERGE_AT, st ? &e2 : err);
  if (!st) st = s2;
  if (due(t->last_compact_ms, t->cfg.compact_interval_ms, now_ms)) {
    s2 = tbl_compact(t, 0, st ? &e2 : err);
    if (!st) st = s2;
    t->last_compact_ms = now_ms;
  }
  if (due(t->last_house_ms, t->cfg.housekeeping_interval_ms, now_ms)) {
    s2 = tbl_housekeep(t, st ? &e2 : err);
    if (!st) st = s2;
    t->last_house_ms = now_ms;
  }
  if (next_ms) {
    int64_t n = next_at(t->last_commit_ms, t->cfg.commit_interval_ms, now_ms);
    int64_t c = next_at(t->last_compact_ms, t->cfg.compact_interval_ms, now_ms);
    int64_t h =
        next_at(t->last_house_ms, t->cfg.housekeeping_interval_ms, now_ms);
    if (c < n) n = c;
    if (h < n) n = h;
    pthread_mutex_lock(&t->mu);
    bool over =
        t->mem_rows >= t->cfg.flush_rows || t->mem_bytes >= t->cfg.flush_bytes;
    pthread_mutex_unlock(&t->mu);
    if (over) n = now_ms;
    *next_ms = n;
  }
  pthread_mutex_unlock(&t->maint);
  return st;
}

floe_status floe_table_flush(floe_table *t, floe_error *err) {
  if (!t) return ferr_set(err, FLOE_EINVAL, "floe_table_flush: NULL table");
  pthread_mutex_lock(&t->maint);
  floe_status st = tbl_flush(t, true, err);
  pthread_mutex_unlock(&t->maint);
  return st;
}

floe_status floe_table_compact(floe_table *t, int force, floe_error *err) {
  if (!t) return ferr_set(err, FLOE_EINVAL, "floe_table_compact: NULL table");
  pthread_mutex_lock(&t->maint);
  floe_status st = tbl_compact(t, force, err);
  pthread_mutex_unlock(&t->maint);
  return st;
}
