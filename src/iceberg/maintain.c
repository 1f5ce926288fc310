/*
 * Table maintenance: expiring snapshots (spec "Snapshot Retention Policy")
 * and removing orphan files. Both decide what to delete from what the
 * metadata still reaches, and delete only after the metadata that stops
 * referencing a file has been committed.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "iceberg/table_commit.h"

/* From txn.c. */
floe_status ice_md_log_previous(ice_metadata *nm, const ice_metadata *base,
                                const char *base_loc, char ***pruned,
                                int *npruned, floe_error *err);
void ice_md_delete_pruned(ice_table *t, const ice_metadata *nm, char **pruned,
                          int n);

#define MAX_TRIES 4

static bool in_ids(const int64_t *ids, int n, int64_t id) {
  for (int i = 0; i < n; i++)
    if (ids[i] == id) return true;
  return false;
}

/* Ids of the snapshots md retains (refs, their branch ancestry within the
 * limits, and everything newer than the cutoff). */
static floe_status retained_ids(const ice_metadata *md, int64_t older_than_ms,
                                int keep_last, int64_t **out, int *nout,
                                floe_error *err) {
  int64_t *ids = calloc((size_t)md->nsnapshots + 1, sizeof *ids);
  if (!ids) return ferr_nomem(err, (size_t)md->nsnapshots * 8);
  int n = 0;
  for (int r = 0; r < md->nrefs; r++) {
    const ice_ref *ref = &md->refs[r];
    const ice_snapshot *s = ice_metadata_snapshot(md, ref->snapshot_id);
    if (s && !in_ids(ids, n, s->snapshot_id)) ids[n++] = s->snapshot_id;
    if (ref->tag) continue;
    int keep = keep_last;
    if (ref->min_snapshots_to_keep > keep) keep = ref->min_snapshots_to_keep;
    int64_t cutoff = older_than_ms;
    if (ref->max_snapshot_age_ms != ICE_NONE && s)
      cutoff = ice_now_ms() - ref->max_snapshot_age_ms < cutoff
                   ? ice_now_ms() - ref->max_snapshot_age_ms
                   : cutoff;
    for (int k = 0; s; k++) {
      if (k >= keep && s->timestamp_ms < cutoff) break;
      if (!in_ids(ids, n, s->snapshot_id)) ids[n++] = s->snapshot_id;
      s = s->parent_id == ICE_NONE ? NULL
                                   : ice_metadata_snapshot(md, s->parent_id);
    }
  }
  for (int i = 0; i < md->nsnapshots; i++) {
    const ice_snapshot *s = &md->snapshots[i];
    if (s->timestamp_ms >= older_than_ms && !in_ids(ids, n, s->snapshot_id))
      ids[n++] = s->snapshot_id;
  }
  *out = ids;
  *nout = n;
  return FLOE_OK;
}

/* Adds the manifest list, manifests and (when files) every file path of
 * snapshot s to the sets; live_only limits files to entries not DELETED. */
static floe_status reach(ice_table *t, const ice_snapshot *s, ice_strset *lists,
                         ice_strset *mans, ice_strset *files, bool live_only,
                         floe_error *err) {
  FLOE_TRY(ice_strset_add(lists, s->manifest_list, err));
  ice_manifest_file *mfs = NULL;
  int n = 0;
  FLOE_TRY(ice_table_read_list(t, s, &mfs, &n, err));
  floe_status st = FLOE_OK;
  for (int i = 0; i < n && !st; i++) {
    if (ice_strset_has(mans, mfs[i].manifest_path)) continue;
    st = ice_strset_add(mans, mfs[i].manifest_path, err);
    ice_cman *m = NULL;
    if (!st) st = ice_table_cman(t, &mfs[i], &m, err);
    for (int k = 0; !st && k < m->n; k++)
      if (!live_only || m->e[k].status != ICE_STATUS_DELETED)
        st = ice_strset_add(files, m->e[k].file.file_path, err);
  }
  ice_manifest_files_free(mfs, n);
  return st;
}

static floe_status del_count(ice_table *t, const char *path, int64_t *n,
                             floe_error *err) {
  FLOE_TRY(ice_table_del(t, path, err));
  (*n)++;
  return FLOE_OK;
}

/* The current manifests stay cached; the rest was read for this run. */
static void trim_cache(ice_table *t) {
  ice_manifest_file *mfs = NULL;
  int n = 0;
  floe_error e;
  if (ice_table_read_list(t, ice_metadata_current_snapshot(t->md), &mfs, &n,
                          &e) == FLOE_OK)
    ice_table_cache_trim(t, mfs, n);
  ice_manifest_files_free(mfs, n);
}

static floe_status expire_commit(ice_table *t, int64_t older_than_ms,
                                 int keep_last, int64_t **gone, int *ngone,
                                 char ***pruned, int *npruned,
                                 floe_error *err) {
  const ice_metadata *md = t->md;
  int64_t *keep = NULL;
  int nkeep = 0;
  FLOE_TRY(retained_ids(md, older_than_ms, keep_last, &keep, &nkeep, err));
  int64_t *ex = calloc((size_t)md->nsnapshots + 1, sizeof *ex);
  ice_metadata *nm = NULL;
  floe_status st = ex ? FLOE_OK : ferr_nomem(err, 8);
  int nex = 0;
  for (int i = 0; ex && i < md->nsnapshots; i++)
    if (!in_ids(keep, nkeep, md->snapshots[i].snapshot_id))
      ex[nex++] = md->snapshots[i].snapshot_id;
  free(keep);
  if (!st && nex == 0) {
    free(ex);
    return FLOE_OK;
  }
  if (!st) st = ice_metadata_clone(md, &nm, err);
  if (!st) {
    int w = 0;
    for (int i = 0; i < nm->nsnapshots; i++) {
      if (in_ids(ex, nex, nm->snapshots[i].snapshot_id)) {
        free(nm->snapshots[i].manifest_list);
        ice_kv_free(&nm->snapshots[i].summary);
      } else {
        nm->snapshots[w++] = nm->snapshots[i];
      }
    }
    nm->nsnapshots = w;
    /* the log stays a history of the current branch: drop everything up
     * to the last expired entry */
    int cut = 0;
    for (int i = 0; i < nm->nsnapshot_log; i++)
      if (in_ids(ex, nex, nm->snapshot_log[i].snapshot_id)) cut = i + 1;
    memmove(nm->snapshot_log, nm->snapshot_log + cut,
            (size_t)(nm->nsnapshot_log - cut) * sizeof *nm->snapshot_log);
    nm->nsnapshot_log -= cut;
    int64_t now = ice_now_ms();
    nm->last_updated_ms =
        now > md->last_updated_ms ? now : md->last_updated_ms + 1;
    st = ice_md_log_previous(nm, md, t->md_loc, pruned, npruned, err);
  }
  char *loc = NULL;
  if (!st)
    st = ice_catalog_commit_table(t->cat, t->ns, t->name, t->md_loc, nm, &loc,
                                  err);
  if (!st) {
    ice_table_set_md(t, nm, loc);
    nm = NULL;
    *gone = ex;
    *ngone = nex;
    ex = NULL;
  }
  ice_metadata_free(nm);
  free(ex);
  return st;
}

floe_status ice_table_expire_snapshots(ice_table *t, int64_t older_than_ms,
                                       int keep_last, int64_t *removed,
                                       floe_error *err) {
  if (removed) *removed = 0;
  if (keep_last < 1) keep_last = 1;
  /* the expired snapshots' lists, read before they leave the metadata */
  ice_metadata *before = NULL;
  FLOE_TRY(ice_metadata_clone(t->md, &before, err));
  int64_t *gone = NULL;
  int ngone = 0;
  char **pruned = NULL;
  int npruned = 0;
  floe_status st = FLOE_OK;
  for (int tries = 0;; tries++) {
    st = expire_commit(t, older_than_ms, keep_last, &gone, &ngone, &pruned,
                       &npruned, err);
    if (st != FLOE_OK) {
      /* files trimmed from a log that never committed are still listed in
       * the current metadata: forget them, never delete them */
      for (int i = 0; i < npruned; i++) free(pruned[i]);
      free(pruned);
      pruned = NULL;
      npruned = 0;
    }
    if (st != FLOE_ECONFLICT || tries + 1 >= MAX_TRIES) break;
    floe_error e2;
    if ((st = ice_table_refresh(t, &e2)) != FLOE_OK) {
      if (err) *err = e2;
      break;
    }
    ice_metadata_free(before);
    before = NULL;
    if ((st = ice_metadata_clone(t->md, &before, err))) break;
  }
  int64_t count = 0;
  ice_strset ll = {0}, lm = {0}, lf = {0}, xl = {0}, xm = {0}, xf = {0};
  for (int i = 0; !st && i < t->md->nsnapshots; i++)
    st = reach(t, &t->md->snapshots[i], &ll, &lm, &lf, true, err);
  for (int i = 0; !st && i < ngone; i++) {
    const ice_snapshot *s = ice_metadata_snapshot(before, gone[i]);
    if (s) st = reach(t, s, &xl, &xm, &xf, false, err);
  }
  /* a set's slots are its members: walk them directly */
  for (uint32_t i = 0; !st && i < xf.cap; i++)
    if (xf.v[i] && !ice_strset_has(&lf, xf.v[i]))
      st = del_count(t, xf.v[i], &count, err);
  for (uint32_t i = 0; !st && i < xm.cap; i++)
    if (xm.v[i] && !ice_strset_has(&lm, xm.v[i]))
      st = del_count(t, xm.v[i], &count, err);
  for (uint32_t i = 0; !st && i < xl.cap; i++)
    if (xl.v[i] && !ice_strset_has(&ll, xl.v[i]))
      st = del_count(t, xl.v[i], &count, err);
  const char *v = ice_kv_get(&t->md->properties,
                             "write.metadata.delete-after-commit.enabled");
  if (v && !strcmp(v, "true")) count += npruned;
  ice_md_delete_pruned(t, t->md, pruned, npruned);
  ice_strset_free(&ll);
  ice_strset_free(&lm);
  ice_strset_free(&lf);
  ice_strset_free(&xl);
  ice_strset_free(&xm);
  ice_strset_free(&xf);
  ice_metadata_free(before);
  free(gone);
  trim_cache(t);
  if (removed) *removed = count;
  return st;
}

/* ---- orphans ---- */

typedef struct orphans {
  ice_table *t;
  ice_strset keep;      /* referenced locations, as metadata spells them */
  ice_strset keep_keys; /* the same as store keys: what listings compare */
  int64_t older_than_ms;
  int nvictims, cap;
  char **victims; /* store keys */
} orphans;

static floe_status orphan_key(void *ctx, const char *key, uint64_t size,
                              floe_error *err) {
  (void)size;
  orphans *o = ctx;
  const char *wh = o->t->cat->warehouse;
  if (strcmp(wh, "/") == 0) wh = "";
  size_t n = strlen(wh) + strlen(key) + 2;
  char *path = malloc(n);
  if (!path) return ferr_nomem(err, n);
  snprintf(path, n, "%s/%s", wh, key);
  /* compare store keys, not spellings: metadata may say file:/x or /x */
  bool victim = !ice_strset_has(&o->keep_keys, key);
  size_t kl = strlen(key);
  if (kl >= 17 && !strcmp(key + kl - 17, "version-hint.text")) victim = false;
  /* the store has no timestamps yet: the local file's mtime stands in */
  struct stat sb;
  if (victim && stat(path, &sb) == 0) {
    int64_t ms =
        (int64_t)sb.st_mtim.tv_sec * 1000 + sb.st_mtim.tv_nsec / 1000000;
    victim = ms < o->older_than_ms;
  } else {
    victim = false;
  }
  free(path);
  if (!victim) return FLOE_OK;
  if (o->nvictims == o->cap) {
    int cap = o->cap ? o->cap * 2 : 16;
    void *p = realloc(o->victims, (size_t)cap * sizeof *o->victims);
    if (!p) return ferr_nomem(err, (size_t)cap * sizeof *o->victims);
    o->victims = p;
    o->cap = cap;
  }
  o->victims[o->nvictims] = strdup(key);
  if (!o->victims[o->nvictims]) return ferr_nomem(err, kl + 1);
  o->nvictims++;
  return FLOE_OK;
}

floe_status ice_table_remove_orphans(ice_table *t, int64_t older_than_ms,
                                     int64_t *removed, floe_error *err) {
  return ice_table_remove_orphans_keep(t, older_than_ms, NULL, NULL, removed,
                                       err);
}

floe_status ice_table_remove_orphans_keep(ice_table *t, int64_t older_than_ms,
                                          ice_keep_fn keep, void *arg,
                                          int64_t *removed, floe_error *err) {
  if (removed) *removed = 0;
  /* the newest metadata: a file a commit that just landed references is
   * not an orphan */
  FLOE_TRY(ice_table_refresh(t, err));
  orphans o;
  memset(&o, 0, sizeof o);
  o.t = t;
  o.older_than_ms = older_than_ms;
  ice_strset lists = {0}, mans = {0};
  floe_status st = ice_strset_add(&o.keep, t->md_loc, err);
  for (int i = 0; !st && i < t->md->nmetadata_log; i++)
    st = ice_strset_add(&o.keep, t->md->metadata_log[i].file, err);
  for (int i = 0; !st && i < t->md->nsnapshots; i++)
    st = reach(t, &t->md->snapshots[i], &lists, &mans, &o.keep, false, err);
  for (uint32_t i = 0; !st && i < lists.cap; i++)
    if (lists.v[i]) st = ice_strset_add(&o.keep, lists.v[i], err);
  for (uint32_t i = 0; !st && i < mans.cap; i++)
    if (mans.v[i]) st = ice_strset_add(&o.keep, mans.v[i], err);
  for (uint32_t i = 0; !st && i < o.keep.cap; i++) {
    if (!o.keep.v[i]) continue;
    char *k = NULL;
    floe_error e2;
    floe_status ks = ice_catalog_key(t->cat, o.keep.v[i], &k, &e2);
    if (ks == FLOE_EUNSUPPORTED) continue; /* outside the warehouse */
    if (ks) {
      st = ks;
      if (err) *err = e2;
      break;
    }
    st = ice_strset_add(&o.keep_keys, k, err);
    free(k);
  }
  char *key = NULL;
  if (!st) st = ice_catalog_key(t->cat, t->md->location, &key, err);
  fbuf prefix = FBUF_INIT;
  if (!st) st = fbuf_printf(&prefix, err, "%s/%c", key, 0);
  if (!st)
    st = fstore_list(t->cat->store, (const char *)prefix.data, orphan_key, &o,
                     err);
  int64_t count = 0;
  for (int i = 0; !st && i < o.nvictims; i++) {
    /* asked last: a file the caller made part of its table after the
     * listing is spared */
    if (keep && keep(arg, o.victims[i])) continue;
    st = fstore_del(t->cat->store, o.victims[i], err);
    if (st == FLOE_ENOTFOUND) {
      ferr_clear(err);
      st = FLOE_OK;
    } else if (!st) {
      count++;
    }
  }
  for (int i = 0; i < o.nvictims; i++) free(o.victims[i]);
  free(o.victims);
  free(key);
  fbuf_free(&prefix);
  ice_strset_free(&o.keep);
  ice_strset_free(&o.keep_keys);
  ice_strset_free(&lists);
  ice_strset_free(&mans);
  trim_cache(t);
  if (removed) *removed = count;
  return st;
}
