/*
 * A table's life: open (create, or recover from the last Iceberg snapshot),
 * close (flush + commit), free (a crash), plus config defaults, stats and
 * LSN text.
 *
 * Recovery: durable = applied = floe.source-lsn of the newest snapshot that
 * records one; the files are the current plan's tasks with their DVs; file
 * indexes are taken from state_dir/index when every file they cover is live
 * (same path, same rows), and rebuilt from the key columns of the files no
 * index covers. Spill files of transactions that were open are deleted (the
 * source resends those transactions). A clean close that left durable_lsn
 * past that snapshot's LSN (floe_advance, commits with nothing for this
 * table) records it in state_dir/durable-lsn (see durable_save).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iceberg/scan.h"
#include "table/row_int.h"
#include "table/txn_int.h"

void floe_table_config_init(floe_table_config *c) {
  memset(c, 0, sizeof *c);
  c->batch_rows = 4096;
  c->flush_rows = 1000000;
  c->flush_bytes = 64LL << 20;
  c->flush_age_ms = 0;
  c->commit_interval_ms = 1000;
  c->memory_limit = 256LL << 20;
  c->txn_spill_bytes = 16LL << 20;
  c->keep_snapshots = 100;
  c->snapshot_max_age_ms = 3600LL * 1000;
  c->orphan_age_ms = 3600LL * 1000;
  c->housekeeping_interval_ms = 600LL * 1000;
  c->target_file_bytes = 128LL << 20;
  c->compact_min_files = 8;
  c->compact_delete_fraction = 0.2;
  c->compact_interval_ms = 10000;
  c->state_dir = NULL;
}

char *floe_lsn_format(uint64_t lsn, char *buf) {
  snprintf(buf, 18, "%X/%X", (unsigned)(lsn >> 32), (unsigned)lsn);
  return buf;
}

floe_status floe_lsn_parse(const char *s, uint64_t *out, floe_error *err) {
  if (!s || !out) return ferr_set(err, FLOE_EINVAL, "floe_lsn_parse: NULL");
  uint64_t part[2] = {0, 0};
  const char *p = s;
  for (int k = 0; k < 2; k++) {
    int n = 0;
    while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
           (*p >= 'A' && *p <= 'F')) {
      int d = *p <= '9' ? *p - '0' : (*p | 32) - 'a' + 10;
      part[k] = part[k] * 16 + (uint64_t)d;
      if (++n > 8) break;
      p++;
    }
    if (n == 0 || n > 8 || (k == 0 && *p != '/') || (k == 1 && *p))
      return ferr_set(err, FLOE_EINVAL,
                      "LSN \"%s\": want X/Y (two hex numbers of at most 8 "
                      "digits)",
                      s);
    p++;
  }
  *out = part[0] << 32 | part[1];
  return FLOE_OK;
}

/* ---- the durable LSN past the last snapshot ---- */

static uint64_t recovered_lsn(const ice_metadata *md);

#define DURABLE_FILE "durable-lsn"

/*
 * floe_advance and commits that change nothing move durable_lsn past the
 * floe.source-lsn of the last snapshot without writing one. A clean close
 * records it in state_dir/durable-lsn: "<table uuid> <snapshot id> <lsn>",
 * written after the close's commit (so every commit <= lsn is in that
 * snapshot or changed nothing), fsynced, renamed into place, directory
 * fsynced. A reopen takes it only when the table's current snapshot is still
 * that one (any later snapshot carries its own LSN; a file of another table
 * or an older snapshot says nothing about the current one), so it never
 * claims more than that snapshot holds. Called with maint held.
 */
static floe_status durable_save(floe_table *t, floe_error *err) {
  const ice_metadata *md = ice_table_metadata(t->ice);
  pthread_mutex_lock(&t->mu);
  uint64_t lsn = t->durable;
  pthread_mutex_unlock(&t->mu);
  size_t n = strlen(t->state_dir) + sizeof DURABLE_FILE + 8;
  char *path = malloc(n), *tmp = malloc(n);
  floe_status st = path && tmp ? FLOE_OK : ferr_nomem(err, n);
  if (!st) {
    snprintf(path, n, "%s/" DURABLE_FILE, t->state_dir);
    snprintf(tmp, n, "%s/" DURABLE_FILE ".tmp", t->state_dir);
  }
  if (!st && lsn <= recovered_lsn(md)) {
    /* the snapshot says as much: an old record only goes stale */
    if (unlink(path) != 0 && errno != ENOENT)
      st = ferr_set(err, FLOE_EIO, "unlink %s: %s", path, strerror(errno));
    free(path);
    free(tmp);
    return st;
  }
  FILE *fp = st ? NULL : fopen(tmp, "w");
  if (!st && !fp) st = ferr_set(err, FLOE_EIO, "%s: %s", tmp, strerror(errno));
  if (!st) {
    int ok = fprintf(fp, "%s %" PRId64 " %" PRIu64 "\n", md->table_uuid,
                     md->current_snapshot_id, lsn) > 0;
    ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    if (fclose(fp) != 0) ok = 0;
    if (!ok || rename(tmp, path) != 0)
      st = ferr_set(err, FLOE_EIO, "%s: %s", path, strerror(errno));
  }
  if (!st) {
    int fd = open(t->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
      st = ferr_set(err, FLOE_EIO, "fsync %s: %s", t->state_dir,
                    strerror(errno));
    if (fd >= 0) close(fd);
  }
  if (st && tmp) unlink(tmp);
  free(path);
  free(tmp);
  return st;
}

/* Raises applied = durable to state_dir/durable-lsn's LSN when it belongs
 * to this table's current snapshot (durable_save). Anything else in it,
 * or no file, leaves them as the snapshot says. */
static void durable_load(floe_table *t) {
  const ice_metadata *md = ice_table_metadata(t->ice);
  size_t n = strlen(t->state_dir) + sizeof DURABLE_FILE + 2;
  char *path = malloc(n);
  if (!path) return;
  snprintf(path, n, "%s/" DURABLE_FILE, t->state_dir);
  FILE *fp = fopen(path, "r");
  free(path);
  if (!fp) return;
  char uuid[64];
  int64_t snap = 0;
  uint64_t lsn = 0;
  int got = fscanf(fp, "%63s %" SCNd64 " %" SCNu64, uuid, &snap, &lsn);
  fclose(fp);
  if (got == 3 && !strcmp(uuid, md->table_uuid) &&
      snap == md->current_snapshot_id && lsn > t->applied)
    t->applied = t->durable = lsn;
}

/* ---- lifetime ---- */

static void table_destroy(floe_table *t) {
  while (t->ntxn) {
    tbl_txn *x = t->txns[t->ntxn - 1];
    t->ntxn--;
    tbl_txn_free(t, x);
  }
  free(t->txns);
  tbl_pool_free(t);
  floe_row_free(t->scratch);
  for (int i = 0; i < t->nfiles; i++) tbl_file_unref(t->files[i]);
  free(t->files);
  for (int i = 0; i < t->nmem; i++) tbl_batch_unref(t->mem[i]);
  free(t->mem);
  tbl_batch_unref(t->asnap);
  tbl_flist_clear(&t->removed);
  tbl_flist_clear(&t->trash);
  tbl_flist_clear(&t->retired);
  for (int i = 0; i < t->nmoving; i++) free(t->moving[i]);
  free(t->moving);
  for (int i = 0; i < t->ngen; i++) tidx_mem_free(t->gen[i].m);
  for (int i = 0; i < t->nfidx; i++) tbl_fidx_unref(t->fidx[i]);
  free(t->fidx);
  tbl_schema_unref(t->schema);
  ice_table_free(t->ice);
  ice_catalog_free(t->cat);
  free(t->ns);
  free(t->name);
  free(t->state_dir);
  free(t->location);
  free(t->unsure);
  pthread_mutex_destroy(&t->maint);
  pthread_mutex_destroy(&t->ix);
  pthread_mutex_destroy(&t->mu);
  pthread_cond_destroy(&t->cv);
  free(t);
}

void tbl_table_unref(floe_table *t) {
  if (t && atomic_fetch_sub(&t->refs, 1) == 1) table_destroy(t);
}

void floe_table_free(floe_table *t) { tbl_table_unref(t); }

floe_status floe_table_close(floe_table *t, floe_error *err) {
  if (!t) return FLOE_OK;
  /* open transactions are dropped: the source resends them */
  while (t->ntxn) {
    tbl_txn *x = t->txns[t->ntxn - 1];
    tbl_txn_forget(t, x);
    tbl_txn_free(t, x);
  }
  /* a broken table commits nothing: say so (durable_lsn stays behind) */
  floe_status st = ferr_set(err, FLOE_EIO,
                            "table is broken by an earlier failure: closed "
                            "without a commit (reopen it)");
  if (!atomic_load(&t->broken)) {
    ferr_clear(err);
    pthread_mutex_lock(&t->maint);
    st = tbl_flush(t, true, err);
    if (!st) st = durable_save(t, err);
    pthread_mutex_unlock(&t->maint);
  }
  tbl_table_unref(t);
  return st;
}

int floe_table_columns(const floe_table *t, const floe_column **cols) {
  if (cols) *cols = t ? t->schema->fcols : NULL;
  return t ? t->schema->ncols : 0;
}

int floe_table_key(const floe_table *t, const int **key_cols) {
  if (key_cols) *key_cols = t ? t->schema->key : NULL;
  return t ? t->schema->nkey : 0;
}

uint64_t floe_applied_lsn(floe_table *t) {
  if (!t) return 0;
  pthread_mutex_lock(&t->mu);
  uint64_t v = t->applied;
  pthread_mutex_unlock(&t->mu);
  return v;
}

uint64_t floe_durable_lsn(floe_table *t) {
  if (!t) return 0;
  pthread_mutex_lock(&t->mu);
  /* nothing changed since the last commit: everything applied is durable */
  uint64_t v = t->changes == t->committed_changes && !t->removed.n ? t->applied
                                                                   : t->durable;
  bool pending = false;
  for (int i = 0; i < t->nfiles && !pending; i++)
    pending = t->files[i]->ice != TBL_ICE_LIVE;
  if (pending) v = t->durable;
  /* keep what was reported: once nothing was pending at applied, every
   * commit up to it is durable, and stays so when new changes arrive (a
   * source may already have confirmed it) */
  if (v > t->durable) t->durable = v;
  pthread_mutex_unlock(&t->mu);
  return v;
}

void floe_table_stats_get(floe_table *t, floe_table_stats *o) {
  if (!o) return;
  memset(o, 0, sizeof *o);
  if (!t) return;
  pthread_mutex_lock(&t->ix);
  for (int g = 0; g < t->ngen; g++) {
    o->index_bytes += tidx_mem_bytes(t->gen[g].m);
    o->index_rows += tidx_mem_count(t->gen[g].m);
  }
  /* the file indexes' resident bytes (mincore over maps of up to hundreds
   * of MiB) are counted after the locks: ingest commits wait for ix */
  int nfx = t->nfidx;
  tbl_fidx **fx = calloc((size_t)nfx + 1, sizeof *fx);
  for (int i = 0; i < nfx && fx; i++) {
    fx[i] = tbl_fidx_ref(t->fidx[i]);
    o->index_rows += tidx_file_rows(t->fidx[i]->f);
  }
  pthread_mutex_lock(&t->mu);
  o->applied_lsn = t->applied;
  o->durable_lsn = t->durable;
  o->mem_rows = t->mem_rows;
  o->mem_bytes = t->mem_bytes + atomic_load(&t->txn_bytes);
  o->open_txns = atomic_load(&t->open_txns);
  o->data_files = t->nfiles;
  for (int i = 0; i < t->nfiles; i++) {
    o->rows += tbl_file_live(t->files[i]);
    if (t->files[i]->del->ndel) o->deletion_vectors++;
  }
  for (int i = 0; i < t->nmem; i++)
    o->rows += t->mem[i]->b->length - t->mem[i]->del->ndel;
  o->commits = t->n_commits;
  o->flushes = t->n_flushes;
  o->compactions = t->n_compactions;
  o->changes = t->n_changes;
  o->last_commit_ms = t->commit_wall_ms;
  pthread_mutex_unlock(&t->mu);
  pthread_mutex_unlock(&t->ix);
  for (int i = 0; i < nfx && fx; i++) {
    o->index_bytes += tidx_file_bytes(fx[i]->f);
    tbl_fidx_unref(fx[i]);
  }
  free(fx);
  o->durable_lsn = floe_durable_lsn(t);
  pthread_mutex_lock(&t->mu);
  o->snapshots = t->nsnapshots;
  o->snapshot_id = t->snapshot_id;
  o->schema_id = t->schema->ice.schema_id;
  pthread_mutex_unlock(&t->mu);
}

/* ---- open ---- */

/* Values no table can run with (the defaults are floe_table_config_init's;
 * 0 means "never" / "every time" where floe.h says so). */
static floe_status check_config(const floe_table_config *c, floe_error *err) {
  const char *bad = NULL;
  if (c->batch_rows < 1 || c->batch_rows > (1 << 24))
    return ferr_set(err, FLOE_EINVAL, "batch_rows %d out of 1..2^24",
                    c->batch_rows);
  if (c->flush_rows < 1) bad = "flush_rows";
  if (c->flush_bytes < 1) bad = "flush_bytes";
  if (c->txn_spill_bytes < 1) bad = "txn_spill_bytes";
  if (c->keep_snapshots < 1) bad = "keep_snapshots";
  if (bad) return ferr_set(err, FLOE_EINVAL, "%s must be at least 1", bad);
  if (c->flush_age_ms < 0) bad = "flush_age_ms";
  if (c->commit_interval_ms < 0) bad = "commit_interval_ms";
  if (c->memory_limit < 0) bad = "memory_limit";
  if (c->snapshot_max_age_ms < 0) bad = "snapshot_max_age_ms";
  if (c->orphan_age_ms < 0) bad = "orphan_age_ms";
  if (c->housekeeping_interval_ms < 0) bad = "housekeeping_interval_ms";
  if (c->target_file_bytes < 0) bad = "target_file_bytes";
  if (c->compact_min_files < 0) bad = "compact_min_files";
  if (c->compact_interval_ms < 0) bad = "compact_interval_ms";
  if (bad) return ferr_set(err, FLOE_EINVAL, "%s must not be negative", bad);
  if (!(c->compact_delete_fraction >= 0 && c->compact_delete_fraction <= 1))
    return ferr_set(err, FLOE_EINVAL, "compact_delete_fraction %g out of 0..1",
                    c->compact_delete_fraction);
  return FLOE_OK;
}

static floe_status check_key_column(const floe_column *c, floe_error *err) {
  if (c->nullable)
    return ferr_set(err, FLOE_EINVAL, "key column %s must be NOT NULL",
                    c->name);
  if (c->type == FLOE_FLOAT32 || c->type == FLOE_FLOAT64 ||
      c->type == FLOE_LIST)
    return ferr_set(err, FLOE_EINVAL,
                    "key column %s: Iceberg identifier fields cannot be "
                    "float, double or list",
                    c->name);
  return FLOE_OK;
}

/* The current schema must be the caller's columns (by name and type). */
static floe_status match_columns(const tbl_schema *s, const floe_column *cols,
                                 int ncols, const int *key_cols, int nkey,
                                 floe_error *err) {
  if (ncols != s->ncols)
    return ferr_set(err, FLOE_EINVAL,
                    "the table has %d columns, the definition %d (evolve "
                    "with floe_table_alter)",
                    s->ncols, ncols);
  for (int i = 0; i < ncols; i++) {
    const col_field *f = &s->cols->fields[i];
    col_dtype t = tbl_dtype(&cols[i]);
    char a[64], b[64];
    if (!cols[i].name || strcmp(cols[i].name, f->name))
      return ferr_set(err, FLOE_EINVAL,
                      "column %d is %s in the table, %s in the definition", i,
                      f->name, cols[i].name ? cols[i].name : "(null)");
    if (!tbl_same_type(f->type, t))
      return ferr_set(err, FLOE_EINVAL,
                      "column %s is %s in the table, %s in the definition",
                      f->name, col_dtype_format(f->type, a, sizeof a),
                      col_dtype_format(t, b, sizeof b));
  }
  if (nkey != s->nkey)
    return ferr_set(err, FLOE_EINVAL,
                    "the table has %d key columns, the definition %d", s->nkey,
                    nkey);
  for (int k = 0; k < nkey; k++)
    if (key_cols[k] != s->key[k])
      return ferr_set(err, FLOE_EINVAL,
                      "key column %d differs from the table's (%s)", k,
                      s->fcols[s->key[k]].name);
  return FLOE_OK;
}

static floe_status create_table(floe_table *t, const floe_table_ref *ref,
                                const floe_column *cols, int ncols,
                                const int *key_cols, int nkey,
                                floe_error *err) {
  for (int k = 0; k < nkey; k++) {
    if (key_cols[k] < 0 || key_cols[k] >= ncols)
      return ferr_set(err, FLOE_EINVAL, "key column index %d out of range",
                      key_cols[k]);
    for (int j = 0; j < k; j++)
      if (key_cols[j] == key_cols[k])
        return ferr_set(err, FLOE_EINVAL, "key column %s given twice",
                        cols[key_cols[k]].name);
    FLOE_TRY(check_key_column(&cols[key_cols[k]], err));
  }
  col_schema *cs = NULL;
  FLOE_TRY(tbl_schema_from_columns(cols, ncols, &cs, err));
  floe_status st = ice_table_create(t->cat, ref->ns, ref->name, cs, NULL, NULL,
                                    &t->ice, err);
  col_schema_unref(cs);
  FLOE_TRY(st);
  if (!nkey) return FLOE_OK;
  const char **names = calloc((size_t)nkey, sizeof *names);
  if (!names) return ferr_nomem(err, (size_t)nkey * sizeof *names);
  for (int k = 0; k < nkey; k++) names[k] = cols[key_cols[k]].name;
  ice_schema_update *u = NULL;
  st = ice_schema_update_new(ice_table_metadata(t->ice), &u, err);
  if (!st) st = ice_schema_set_identifier_fields(u, names, nkey, err);
  if (!st) st = ice_table_update_schema(t->ice, u, err);
  ice_schema_update_free(u);
  free(names);
  return st;
}

/* floe.source-lsn of the newest snapshot (walking parents) that has one. */
static uint64_t recovered_lsn(const ice_metadata *md) {
  const ice_snapshot *s = ice_metadata_current_snapshot(md);
  for (int hops = 0; s && hops < md->nsnapshots + 1; hops++) {
    const char *v = ice_kv_get(&s->summary, "floe.source-lsn");
    if (v) {
      char *end = NULL;
      errno = 0;
      unsigned long long x = strtoull(v, &end, 10);
      if (!errno && end && !*end && end != v) return (uint64_t)x;
    }
    s = s->parent_id == ICE_NONE ? NULL
                                 : ice_metadata_snapshot(md, s->parent_id);
  }
  return 0;
}

static floe_status load_files(floe_table *t, floe_error *err) {
  ice_plan *plan = NULL;
  FLOE_TRY(ice_table_plan(t->ice, ICE_NONE, &plan, err));
  floe_status st = FLOE_OK;
  for (int i = 0; i < plan->ntasks && !st; i++) {
    ice_scan_task *tk = &plan->tasks[i];
    tbl_file *f = NULL;
    ice_data_file df;
    memset(&df, 0, sizeof df);
    st = ice_data_file_copy(&df, &tk->file, err);
    if (!st) st = tbl_file_new(&df, TBL_FILE_BIT | t->next_slot++, &f, err);
    if (st) {
      ice_data_file_free(&df);
      break;
    }
    f->ice = TBL_ICE_LIVE;
    if (tk->deletes) {
      f->del->dv = tk->deletes;
      f->del->ndel = (int64_t)ice_dv_cardinality(tk->deletes);
      tk->deletes = NULL;
    }
    f->committed = tbl_dv_ref(f->del);
    st = tbl_files_push(t, f, err);
    if (st) tbl_file_unref(f);
  }
  ice_plan_free(plan);
  return st;
}

static char *join(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 2;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s", a, b);
  return p;
}

static void clear_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char *p = join(dir, e->d_name);
    if (p) unlink(p);
    free(p);
  }
  closedir(d);
}

/* Uses the persisted indexes that still match; *covered[i] says which
 * files have one. */
static floe_status load_indexes(floe_table *t, bool *covered, floe_error *err) {
  char *dir = join(t->state_dir, "index");
  if (!dir) return ferr_nomem(err, strlen(t->state_dir));
  DIR *d = opendir(dir);
  if (!d) {
    free(dir);
    return FLOE_OK;
  }
  floe_status st = FLOE_OK;
  struct dirent *e;
  while (!st && (e = readdir(d))) {
    size_t n = strlen(e->d_name);
    if (e->d_name[0] == '.') continue;
    char *p = join(dir, e->d_name);
    if (!p) {
      st = ferr_nomem(err, n);
      break;
    }
    tidx_file *f = NULL;
    floe_error e2;
    bool ok = n > 5 && !strcmp(e->d_name + n - 5, ".tidx") &&
              tidx_file_open(p, &f, &e2) == FLOE_OK;
    int nc = ok ? tidx_file_ncovers(f) : 0;
    int *idx = ok ? calloc((size_t)nc + 1, sizeof *idx) : NULL;
    ok = ok && idx && nc > 0;
    for (int i = 0; i < nc && ok; i++) {
      int64_t rows = 0;
      const char *cp = tidx_file_cover_path(f, i, &rows);
      idx[i] = -1;
      for (int j = 0; j < t->nfiles; j++)
        if (!covered[j] && t->files[j]->rows == rows &&
            !strcmp(t->files[j]->df.file_path, cp)) {
          idx[i] = j;
          break;
        }
      ok = idx[i] >= 0;
      for (int j = 0; j < i && ok; j++) ok = idx[j] != idx[i];
    }
    tbl_fidx *x = ok ? tbl_fidx_wrap(f) : NULL;
    if (x && tbl_fidx_push(t, x, err) == FLOE_OK) {
      for (int i = 0; i < nc; i++) {
        tidx_file_set_slot(f, i, t->files[idx[i]]->slot);
        covered[idx[i]] = true;
      }
    } else {
      free(x); /* never shared: f is closed below */
      /* stale (a file compacted away, a flush whose commit never landed)
       * or unreadable: rebuilt below */
      if (f) tidx_file_close(f, 0);
      unlink(p);
    }
    free(idx);
    free(p);
  }
  closedir(d);
  free(dir);
  return st;
}

floe_status tbl_index_files(floe_table *t, const tbl_schema *s,
                            tbl_file *const *files, int n, tbl_fidx **out,
                            floe_error *err) {
  *out = NULL;
  if (!n) return FLOE_OK;
  ice_plan plan;
  memset(&plan, 0, sizeof plan);
  plan.tasks = calloc((size_t)n, sizeof *plan.tasks);
  tidx_cover *cv = calloc((size_t)n, sizeof *cv);
  int32_t *ids = calloc((size_t)s->nident, sizeof *ids);
  int64_t total = 0;
  for (int i = 0; i < n; i++) total += files[i]->rows;
  uint64_t *h = malloc((size_t)(total ? total : 1) * sizeof *h);
  floe_status st = FLOE_OK;
  if (!plan.tasks || !cv || !ids || !h) st = ferr_nomem(err, (size_t)total * 8);
  for (int i = 0; i < n && !st; i++) {
    plan.tasks[i].file = files[i]->df; /* borrowed; no deletes: every
                                          position gets its hash */
    cv[i].path = files[i]->df.file_path;
    cv[i].rows = files[i]->rows;
    cv[i].slot = files[i]->slot;
  }
  plan.ntasks = n;
  plan.schema_id = s->ice.schema_id;
  plan.snapshot_id = ICE_NONE;
  for (int k = 0; k < s->nident && !st; k++)
    ids[k] = s->cols->fields[s->ident[k]].id;
  ice_scan *sc = NULL;
  if (!st) {
    ice_metadata md;
    memset(&md, 0, sizeof md);
    md.location = t->location;
    md.nschemas = 1;
    md.schemas = (ice_schema *)&s->ice;
    st = ice_scan_open_md(t->cat, &md, &plan, ids, s->nident, &sc, err);
  }
  int64_t got = 0;
  while (!st) {
    col_batch *b = NULL;
    st = ice_scan_next(sc, &b, err);
    if (st || !b) break;
    if (got + b->length > total)
      st = ferr_corrupt(err, "data files hold more rows than their entries");
    else
      tkey_hash(b->cols, s->seq, s->nident, 0, b->length, h + got);
    got += b->length;
    col_batch_free(b);
  }
  ice_scan_free(sc);
  if (!st && got != total)
    st = ferr_corrupt(err, "data files hold %lld rows, their entries %lld",
                      (long long)got, (long long)total);
  char *dir = join(t->state_dir, "index");
  char *path = NULL;
  if (!st && !dir) st = ferr_nomem(err, strlen(t->state_dir));
  if (!st) st = tbl_path_uuid(dir, "", ".tidx", &path, err);
  tidx_file *f = NULL;
  if (!st) st = tidx_file_build(path, cv, n, h, &f, err);
  if (!st && !(*out = tbl_fidx_wrap(f))) {
    tidx_file_close(f, 1);
    st = ferr_nomem(err, sizeof **out);
  }
  free(dir);
  free(path);
  free(plan.tasks);
  free(cv);
  free(ids);
  free(h);
  return st ? ferr_prefix(err, st, "building the key index") : FLOE_OK;
}

/* Builds one index over the files no persisted index covers, from their
 * key columns. */
static floe_status rebuild_index(floe_table *t, const bool *covered,
                                 floe_error *err) {
  tbl_file **files = calloc((size_t)t->nfiles + 1, sizeof *files);
  if (!files) return ferr_nomem(err, (size_t)t->nfiles * sizeof *files);
  int n = 0;
  for (int i = 0; i < t->nfiles; i++)
    if (!covered[i]) files[n++] = t->files[i];
  tbl_fidx *x = NULL;
  floe_status st = tbl_index_files(t, t->schema, files, n, &x, err);
  free(files);
  if (!st && x && (st = tbl_fidx_push(t, x, err))) {
    x->unlink = true;
    tbl_fidx_unref(x);
  }
  return st;
}

static floe_status open_table(floe_table *t, const floe_table_ref *ref,
                              const floe_column *cols, int ncols,
                              const int *key_cols, int nkey, floe_error *err) {
  FLOE_TRY(ice_catalog_open(ref->catalog_uri, ref->warehouse, ref->catalog_name,
                            &t->cat, err));
  floe_status st = ice_table_load(t->cat, ref->ns, ref->name, &t->ice, err);
  bool created = false;
  if (st == FLOE_ENOTFOUND && cols) {
    ferr_clear(err);
    st = create_table(t, ref, cols, ncols, key_cols, nkey, err);
    created = true;
  }
  FLOE_TRY(st);
  const ice_metadata *md = ice_table_metadata(t->ice);
  const ice_partition_spec *spec = ice_metadata_spec(md, md->default_spec_id);
  if (spec && spec->nfields)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "%s.%s is partitioned: floe writes unpartitioned tables",
                    ref->ns, ref->name);
  const ice_schema *is = ice_metadata_current_schema(md);
  if (!is)
    return ferr_corrupt(err, "%s.%s: no current schema", ref->ns, ref->name);
  FLOE_TRY(tbl_schema_make(is, is->identifier_ids, is->nidentifier, &t->schema,
                           err));
  if (cols && !created)
    FLOE_TRY(match_columns(t->schema, cols, ncols, key_cols, nkey, err));
  t->location = strdup(md->location);
  if (!t->location) return ferr_nomem(err, strlen(md->location));
  t->applied = t->durable = recovered_lsn(md);
  t->nsnapshots = md->nsnapshots;
  t->snapshot_id = md->current_snapshot_id;
  return FLOE_OK;
}

floe_status floe_table_open(const floe_table_ref *ref, const floe_column *cols,
                            int ncols, const int *key_cols, int nkey,
                            const floe_table_config *cfg, floe_table **out,
                            floe_error *err) {
  if (!ref || !out || !ref->catalog_uri || !ref->ns || !ref->name)
    return ferr_set(err, FLOE_EINVAL,
                    "floe_table_open: catalog_uri, ns and name are required");
  *out = NULL;
  if (nkey < 0 || (nkey > 0 && !key_cols) || (cols && ncols <= 0))
    return ferr_set(err, FLOE_EINVAL, "floe_table_open: bad key or columns");
  floe_table *t = calloc(1, sizeof *t);
  if (!t) return ferr_nomem(err, sizeof *t);
  atomic_init(&t->refs, 1);
  atomic_init(&t->txn_bytes, 0);
  atomic_init(&t->mem_bytes, 0);
  atomic_init(&t->broken, false);
  atomic_init(&t->open_txns, 0);
  pthread_mutex_init(&t->maint, NULL);
  pthread_mutex_init(&t->ix, NULL);
  pthread_mutex_init(&t->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (cfg)
    t->cfg = *cfg;
  else
    floe_table_config_init(&t->cfg);
  t->cfg.state_dir = NULL;
  t->last_commit_ms = t->last_compact_ms = t->last_house_ms = INT64_MIN;
  floe_status st = check_config(&t->cfg, err);
  t->ns = strdup(ref->ns);
  t->name = strdup(ref->name);
  if (!st && (!t->ns || !t->name)) st = ferr_nomem(err, strlen(ref->name));
  if (!st) st = open_table(t, ref, cols, ncols, key_cols, nkey, err);
  if (!st) {
    if (cfg && cfg->state_dir) {
      t->state_dir = strdup(cfg->state_dir);
    } else {
      size_t n =
          strlen(t->cat->warehouse) + strlen(ref->ns) + strlen(ref->name) + 16;
      t->state_dir = malloc(n);
      if (t->state_dir)
        snprintf(t->state_dir, n, "%s/.floe/%s.%s", t->cat->warehouse, ref->ns,
                 ref->name);
    }
    if (!t->state_dir) st = ferr_nomem(err, 256);
  }
  char *ixdir = NULL, *spdir = NULL;
  if (!st) {
    ixdir = join(t->state_dir, "index");
    spdir = join(t->state_dir, "spill");
    if (!ixdir || !spdir) st = ferr_nomem(err, 256);
  }
  if (!st) st = tbl_mkdirs(ixdir, err);
  if (!st) st = tbl_mkdirs(spdir, err);
  if (!st) clear_dir(spdir);
  free(ixdir);
  free(spdir);
  if (!st) durable_load(t);
  if (!st) st = load_files(t, err);
  bool *covered = NULL;
  if (!st) {
    covered = calloc((size_t)t->nfiles + 1, sizeof *covered);
    if (!covered) st = ferr_nomem(err, (size_t)t->nfiles);
  }
  if (!st) st = load_indexes(t, covered, err);
  if (!st) st = rebuild_index(t, covered, err);
  free(covered);
  if (!st) {
    st = tidx_mem_new_batches(t->cfg.batch_rows, t->next_id, t->cfg.batch_rows,
                              &t->gen[0].m, err);
    t->gen[0].max_id = UINT32_MAX;
    if (!st) t->ngen = 1;
  }
  if (st) {
    table_destroy(t);
    return st;
  }
  t->committed_changes = t->changes = 0;
  *out = t;
  return FLOE_OK;
}
