/*
 * The maintenance thread's entry points: floe_table_tick (whatever is due),
 * the forced floe_table_flush / floe_table_compact, index merges and
 * housekeeping (snapshot expiry, orphan removal). All run under maint, so
 * they never overlap each other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "table/table_int.h"

/* Merge persisted indexes once there are this many. Every lookup of a
 * committed key probes each of them (a cache miss or two each in a big
 * table), so few is better; merges are size-tiered (see pick_merge) so
 * keeping them few does not rewrite the big one at every merge. */
#define MERGE_AT 5

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

/* The first of the newest indexes to merge (ix held): the newest run in
 * which each older index holds at most twice the rows of all the newer
 * ones together, at least two. Sizes stay geometric, so a table of N rows
 * flushed F rows at a time keeps O(log(N / F)) indexes and rewrites each
 * entry O(log(N / F)) times, instead of rewriting the whole index every
 * few flushes (20M rows: 1-2 s of the maintenance thread's CPU each). */
static int pick_merge(const floe_table *t) {
  int n = t->nfidx, s = n - 1;
  int64_t tail = tidx_file_rows(t->fidx[s]->f);
  while (s > 0 && tidx_file_rows(t->fidx[s - 1]->f) <= 2 * tail) {
    s--;
    tail += tidx_file_rows(t->fidx[s]->f);
  }
  return s < n - 2 ? s : n - 2;
}

floe_status tbl_index_merge(floe_table *t, int min_files, floe_error *err) {
  pthread_mutex_lock(&t->ix);
  if (t->nfidx < min_files || t->nfidx < 2) {
    pthread_mutex_unlock(&t->ix);
    return FLOE_OK;
  }
  int first = pick_merge(t), n = t->nfidx - first;
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
    in[i] = tbl_fidx_ref(t->fidx[first + i]);
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
      /* the merged index takes the place of its inputs (oldest first:
       * lookups visit newest first) */
      int k = 0;
      bool placed = false;
      for (int i = 0; i < t->nfidx; i++) {
        bool merged = false;
        for (int j = 0; j < n && !merged; j++) merged = t->fidx[i] == in[j];
        if (merged) {
          t->fidx[i]->unlink = true;
          tbl_fidx_unref(t->fidx[i]);
          if (!placed) t->fidx[k++] = nx;
          placed = true;
        } else {
          t->fidx[k++] = t->fidx[i];
        }
      }
      t->nfidx = k;
      if (!placed) {
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

bool tbl_mem_hard_over(const floe_table *t, int64_t rows, int64_t bytes) {
  int64_t hb =
      t->cfg.flush_bytes > INT64_MAX / 2 ? INT64_MAX : 2 * t->cfg.flush_bytes;
  if (t->cfg.memory_limit / 2 < hb) hb = t->cfg.memory_limit / 2;
  int64_t hr =
      t->cfg.flush_rows > INT64_MAX / 2 ? INT64_MAX : 2 * t->cfg.flush_rows;
  /* never below one batch: a limit of 0 would flush a row at a time */
  return rows > t->cfg.batch_rows && (rows >= hr || bytes >= hb);
}

void tbl_relieve(floe_table *t) {
  pthread_mutex_lock(&t->mu);
  bool over = tbl_mem_hard_over(t, t->mem_rows, t->mem_bytes);
  pthread_mutex_unlock(&t->mu);
  floe_error e;
  /* an error is the next tick's to report (its flush fails the same way) */
  if (over && tbl_flush(t, false, &e) == FLOE_OK) {
    pthread_mutex_lock(&t->mu);
    t->n_inline_flushes++;
    pthread_mutex_unlock(&t->mu);
  }
}

/* The ingest thread flushes the mem slice itself only when it is still over
 * the hard limit and maint was free at two tries at least this far apart:
 * a maintenance thread that ticks as floe_table_tick asks (at once, past
 * the flush threshold) starts its flush well within that, and its flush is
 * not charged to ingest. */
#define BP_GRACE_MS 50

floe_status tbl_backpressure(floe_table *t, floe_error *err) {
  int64_t free_since = -1;
  pthread_mutex_lock(&t->mu);
  while (tbl_mem_hard_over(t, t->mem_rows, t->mem_bytes)) {
    /* trylock under mu: never blocks, so the lock order (maint first)
     * cannot deadlock */
    bool got = pthread_mutex_trylock(&t->maint) == 0;
    if (got && free_since < 0) {
      free_since = tbl_mono_ms();
      got = false;
      pthread_mutex_unlock(&t->maint);
    } else if (got && tbl_mono_ms() - free_since < BP_GRACE_MS) {
      got = false;
      pthread_mutex_unlock(&t->maint);
    }
    /* (free_since is not reset when maint is busy: a maintenance thread
     * whose flushes fail would keep it busy now and then, and ingest must
     * then get to flush, and report the error, instead of waiting for
     * good) */
    if (got) {
      /* no maintenance pass for BP_GRACE_MS (no maintenance thread, or
       * one that does not tick): flush here (the loop condition, checked
       * under mu, says the slice is over the limit) */
      t->n_inline_flushes++;
      pthread_mutex_unlock(&t->mu);
      floe_status st = tbl_flush(t, false, err);
      /* without a maintenance thread nobody else merges the indexes a
       * flush adds; every lookup visits each of them */
      if (!st) st = tbl_index_merge(t, 2 * MERGE_AT, err);
      pthread_mutex_unlock(&t->maint);
      return st ? ferr_prefix(err, st, "back-pressure") : FLOE_OK;
    }
    /* a maintenance pass runs: its flush (or the relief flush a long
     * compaction makes, tbl_relieve) wakes us when it installs; the timeout
     * retries maint when the pass ends without flushing */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 5 * 1000000;
    if (until.tv_nsec >= 1000000000) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&t->cv, &t->mu, &until);
  }
  pthread_mutex_unlock(&t->mu);
  return FLOE_OK;
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
