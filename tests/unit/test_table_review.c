/*
 * Regression tests for defects found in the review of the table engine
 * (src/table): each test failed before its fix.
 *
 *   orphan race       an orphan sweep (orphan_age 0) running while a commit
 *                     moves a transaction's spill file into the data
 *                     directory deleted the file the view then pointed to
 *   hot key           a row updated over and over left one dead entry per
 *                     update under its hash, in the mem index (committed
 *                     updates) and in a transaction's private index
 *                     (updates inside one transaction): every lookup and
 *                     insert of that key walked them all (quadratic)
 *   dead rows         whether a private row is dead cost O(truncates +
 *                     aborted subtransactions), asked for every row at
 *                     commit
 *   lost reply        an Iceberg commit that landed but reported a failure
 *                     (the catalog swap went through, a later step failed:
 *                     here an fsync of the metadata directory) was retried:
 *                     its data files appended twice (duplicate rows), its
 *                     removals failing forever, and a compaction deleted the
 *                     file its landed snapshot references
 *   keyless alter     a table without a key hashes whole rows: after a
 *                     column was added or dropped no old row could be found
 *                     any more (every delete: "the table needs a resync"),
 *                     nor after a reopen (the old index files were reused)
 *   bad arguments     NULL tables / rows to the getters and row setters
 *                     crashed; negative or NaN config values were taken
 *   stats race        floe_table_stats_get from another thread read the
 *                     ingest thread's transaction count unlocked (TSan)
 *   spill durability  a spill file renamed into the data directory at
 *                     commit had no fsync of that directory: a power loss
 *                     after the Iceberg commit could lose the file the
 *                     snapshot names
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_util.h"

static efx *efx_cfg(int keyed, void (*tune)(floe_table_config *)) {
  efx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/floe-review-XXXXXX");
  if (!mkdtemp(f->dir)) abort();
  f->ref.catalog_uri = f->dir;
  f->ref.ns = "public";
  f->ref.name = "t";
  floe_table_config_init(&f->cfg);
  f->cfg.batch_rows = 8;
  if (tune) tune(&f->cfg);
  efx_open(f, keyed);
  return f;
}

/* Rows of a fresh read state; -1 when the scan fails. */
static int scan_count(floe_table *t, eset *out) {
  floe_read_state *rs = NULL;
  EOK(floe_read_state_get(t, 0, 0, &rs, E));
  eset s = {0, 0, NULL};
  struct ArrowArrayStream st;
  EOK(floe_scan(rs, NULL, 0, &st, E));
  int bad = read_stream(&st, &s);
  floe_read_state_release(rs);
  int n = bad ? -1 : s.n;
  if (out && !bad) {
    eset_sort(&s);
    *out = s;
  } else {
    eset_free(&s);
  }
  return n;
}

/* ---- orphan race ---- */

typedef struct hk {
  floe_table *t;
  atomic_int stop;
  atomic_int ticks;
} hk;

static void *hk_main(void *arg) {
  hk *h = arg;
  int64_t now = 0;
  while (!atomic_load(&h->stop)) {
    floe_error e;
    now += 10;
    (void)floe_table_tick(h->t, now, NULL, &e);
    atomic_fetch_add(&h->ticks, 1);
  }
  return NULL;
}

static void tune_orphans(floe_table_config *c) {
  c->txn_spill_bytes = 600; /* a few rows per spill file */
  c->commit_interval_ms = 10;
  c->housekeeping_interval_ms = 10; /* every tick */
  c->orphan_age_ms = 0;
  c->snapshot_max_age_ms = 0;
  c->keep_snapshots = 2;
  c->compact_interval_ms = 0;
}

static void test_orphan_sweep_spares_moving_spill_files(void **state) {
  (void)state;
  efx *f = efx_cfg(1, tune_orphans);
  hk h;
  memset(&h, 0, sizeof h);
  h.t = f->t;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, hk_main, &h), 0);
  int64_t id = 0;
  int bad = 0;
  for (int k = 1; k <= 60 && !bad; k++) {
    for (int i = 0; i < 40; i++, id++) {
      erow_set(f->r, id, "spilled row padding padding", 1, (int32_t)k);
      EOK(floe_insert(f->t, (uint32_t)k, (uint32_t)k, f->r, E));
    }
    EOK(floe_commit(f->t, (uint32_t)k, (uint64_t)k * 10, E));
    int n = scan_count(f->t, NULL);
    if (n != id) {
      fprintf(stderr, "after commit %d: scan gave %d rows, want %lld\n", k, n,
              (long long)id);
      bad = 1;
    }
  }
  atomic_store(&h.stop, 1);
  pthread_join(th, NULL);
  assert_int_equal(bad, 0);
  /* and what Iceberg holds after a clean close is complete */
  EOK(floe_table_close(f->t, E));
  f->t = NULL;
  efx_drop_rows(f);
  efx_open(f, 1);
  assert_int_equal(scan_count(f->t, NULL), (int)id);
  efx_free(f);
}

/* ---- hot key ---- */

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_hot_key_committed_updates(void **state) {
  (void)state;
  efx *f = efx_cfg(1, NULL);
  erow_set(f->r, 1, "x", 1, 0);
  EOK(floe_insert(f->t, 1, 1, f->r, E));
  EOK(floe_commit(f->t, 1, 10, E));
  for (int i = 1; i <= 3000; i++) {
    erow_set(f->r, 1, "x", 1, i);
    EOK(floe_update(f->t, 100 + (uint32_t)i, 100 + (uint32_t)i, NULL, f->r, E));
    EOK(floe_commit(f->t, 100 + (uint32_t)i, 100 + (uint64_t)i, E));
  }
  /* one live row, one index entry (a deleted row's entry goes with it) */
  floe_table_stats st;
  floe_table_stats_get(f->t, &st);
  assert_int_equal(st.rows, 1);
  assert_int_equal(st.index_rows, 1);
  eset got = {0, 0, NULL};
  assert_int_equal(scan_count(f->t, &got), 1);
  assert_int_equal(got.r[0].n, 3000);
  eset_free(&got);
  /* and a delete still finds it after a flush moved it into a file */
  EOK(floe_table_flush(f->t, E));
  EOK(floe_delete(f->t, 9000, 9000, f->r, E));
  EOK(floe_commit(f->t, 9000, 9000, E));
  assert_int_equal(scan_count(f->t, NULL), 0);
  efx_free(f);
}

static void test_hot_key_updates_in_one_txn(void **state) {
  (void)state;
  efx *f = efx_cfg(1, NULL);
  double t0 = mono_s();
  erow_set(f->r, 1, "x", 1, 0);
  EOK(floe_insert(f->t, 1, 1, f->r, E));
  /* a savepoint whose updates roll back, in the middle */
  for (int i = 1; i <= 60000; i++) {
    uint32_t sub = i > 30000 && i <= 30010 ? 7 : 1;
    erow_set(f->r, 1, "x", 1, i);
    EOK(floe_update(f->t, 1, sub, NULL, f->r, E));
    if (i == 30010) EOK(floe_abort(f->t, 1, 7, E));
  }
  EOK(floe_commit(f->t, 1, 10, E));
  double dt = mono_s() - t0;
  /* linear: well under 100 ms; the quadratic walk took over 10 s */
  if (dt > 5.0) fail_msg("60000 updates of one key took %.1f s", dt);
  eset got = {0, 0, NULL};
  assert_int_equal(scan_count(f->t, &got), 1);
  assert_int_equal(got.r[0].n, 60000);
  eset_free(&got);
  efx_free(f);
}

/* ---- dead rows ---- */

/* Seconds floe_commit takes for a txn of nrows rows (batch_rows 4096) after
 * nsub rolled-back savepoints and ntrunc truncates (at least one of each,
 * so every row goes through the dead-row check). */
static void tune_big_batches(floe_table_config *c) { c->batch_rows = 4096; }

static double commit_time(int nsub, int ntrunc, int nrows, int64_t *rows) {
  efx *f = efx_cfg(1, tune_big_batches);
  int64_t id = 0;
  for (uint32_t s = 2; s < 2 + (uint32_t)nsub; s++) {
    erow_set(f->r, id++, "gone", 1, 0);
    EOK(floe_insert(f->t, 1, s, f->r, E));
    EOK(floe_abort(f->t, 1, s, E));
  }
  for (int i = 0; i < ntrunc; i++) EOK(floe_truncate(f->t, 1, 1, E));
  for (int i = 0; i < nrows; i++) {
    erow_set(f->r, id++, "kept", 1, i);
    EOK(floe_insert(f->t, 1, 1, f->r, E));
  }
  double t0 = mono_s();
  EOK(floe_commit(f->t, 1, 10, E));
  double dt = mono_s() - t0;
  eset got = {0, 0, NULL};
  *rows = scan_count(f->t, &got);
  if (got.n && (got.r[0].id != nsub || strcmp(got.r[0].v, "kept")))
    fail_msg("first row %lld %s", (long long)got.r[0].id, got.r[0].v);
  eset_free(&got);
  efx_free(f);
  return dt;
}

static void test_many_subxact_aborts_and_truncates(void **state) {
  (void)state;
  int64_t rows = 0;
  double base = commit_time(1, 1, 100000, &rows);
  assert_int_equal(rows, 100000);
  double many = commit_time(20000, 20000, 100000, &rows);
  assert_int_equal(rows, 100000);
  /* O(log runs) per row: a few times the base; at O(truncates + aborts)
   * per row it was thousands of times */
  if (many > 0.3 && many > 50 * base)
    fail_msg("commit took %.3f s after 20000 aborts + truncates, %.3f s "
             "after one",
             many, base);
}

/* ---- lost reply ---- */

/* fsync(2) for this test binary (it wins over libc's for the library linked
 * in): once armed, the fsync of a table's metadata directory fails, either
 * the first one after v<fail_version>.metadata.json exists (the commit
 * landed, its reply says it failed) or, with fail_before, the first one
 * while it does not (a manifest: the commit never lands). */
static atomic_int fail_version;
static atomic_int fail_before;
static atomic_int fail_hide;   /* also move the metadata directory away */
static atomic_int data_fsyncs; /* fsyncs of a directory named data */

int fsync(int fd) {
  int v = atomic_load(&fail_version);
  struct stat sb;
  if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    char link[64], dir[512], md[600];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, dir, sizeof dir - 1);
    if (n > 5 && !strcmp((dir[n] = 0, dir + n - 5), "/data"))
      atomic_fetch_add(&data_fsyncs, 1);
    if (v <= 0) n = 0;
    if (n > 9 && !strcmp((dir[n] = 0, dir + n - 9), "/metadata")) {
      snprintf(md, sizeof md, "%s/v%d.metadata.json", dir, v);
      bool exists = access(md, F_OK) == 0;
      if (exists != (atomic_load(&fail_before) != 0) &&
          atomic_compare_exchange_strong(&fail_version, &v, 0)) {
        /* the catalog cannot be read back either */
        snprintf(md, sizeof md, "%s.hidden", dir);
        if (atomic_load(&fail_hide) && rename(dir, md) != 0) abort();
        errno = EIO;
        return -1;
      }
    }
  }
  return (int)syscall(SYS_fsync, fd);
}

/* The newest metadata version of the test table. */
static int md_version(const efx *f) {
  char dir[128];
  snprintf(dir, sizeof dir, "%s/public/t/metadata", f->dir);
  DIR *d = opendir(dir);
  int v = 0;
  struct dirent *e;
  while (d && (e = readdir(d))) {
    int x = 0;
    if (sscanf(e->d_name, "v%d.metadata.json", &x) == 1 && x > v) v = x;
  }
  if (d) closedir(d);
  return v;
}

static void arm(const efx *f, int before) {
  atomic_store(&fail_before, before);
  atomic_store(&fail_version, md_version(f) + 1);
}

static void ins_rows(efx *f, uint32_t xid, int64_t from, int64_t to,
                     uint64_t lsn) {
  for (int64_t id = from; id < to; id++) {
    erow_set(f->r, id, "r", 1, (int32_t)id);
    EOK(floe_insert(f->t, xid, xid, f->r, E));
  }
  EOK(floe_commit(f->t, xid, lsn, E));
}

/* Reopens the table from Iceberg alone (indexes and state dropped) and
 * checks it holds exactly ids [from, to). */
static void check_reopened(efx *f, int64_t from, int64_t to) {
  floe_table_free(f->t); /* a crash: nothing but Iceberg counts */
  f->t = NULL;
  efx_drop_rows(f);
  efx_open(f, 1);
  eset got = {0, 0, NULL};
  int n = scan_count(f->t, &got);
  if (n != to - from)
    fail_msg("reopened: %d rows, want %lld", n, (long long)(to - from));
  for (int i = 0; i < n; i++)
    if (got.r[i].id != from + i)
      fail_msg("reopened: row %d is %lld", i, (long long)got.r[i].id);
  eset_free(&got);
}

static void test_commit_landed_but_failed(void **state) {
  (void)state;
  efx *f = efx_cfg(1, NULL);
  ins_rows(f, 1, 0, 5, 10);
  EOK(floe_table_flush(f->t, E));
  ins_rows(f, 2, 5, 8, 20);
  arm(f, 0);
  floe_error e;
  floe_status st = floe_table_flush(f->t, &e);
  assert_int_equal(atomic_load(&fail_version), 0); /* it fired */
  /* it landed: that is a success */
  if (st) fail_msg("flush: %s", e.msg);
  assert_int_equal(floe_durable_lsn(f->t), 20);
  ins_rows(f, 3, 8, 9, 30);
  EOK(floe_table_flush(f->t, E));
  check_reopened(f, 0, 9);
  efx_free(f);
}

static void test_commit_failed_before_landing(void **state) {
  (void)state;
  efx *f = efx_cfg(1, NULL);
  ins_rows(f, 1, 0, 5, 10);
  EOK(floe_table_flush(f->t, E));
  ins_rows(f, 2, 5, 8, 20);
  arm(f, 1);
  floe_error e;
  assert_int_not_equal(floe_table_flush(f->t, &e), FLOE_OK);
  assert_int_equal(atomic_load(&fail_version), 0);
  assert_int_equal(floe_durable_lsn(f->t), 10);
  EOK(floe_table_flush(f->t, E)); /* the retry */
  assert_int_equal(floe_durable_lsn(f->t), 20);
  check_reopened(f, 0, 8);
  efx_free(f);
}

static void test_truncate_commit_landed_but_failed(void **state) {
  (void)state;
  efx *f = efx_cfg(1, NULL);
  ins_rows(f, 1, 0, 5, 10);
  EOK(floe_table_flush(f->t, E));
  EOK(floe_truncate(f->t, 2, 2, E));
  ins_rows(f, 2, 100, 103, 20);
  arm(f, 0);
  floe_error e;
  floe_status st = floe_table_flush(f->t, &e);
  assert_int_equal(atomic_load(&fail_version), 0);
  if (st) fail_msg("flush: %s", e.msg);
  ins_rows(f, 3, 103, 104, 30);
  /* a retry of the removal would conflict forever */
  EOK(floe_table_flush(f->t, E));
  assert_int_equal(floe_durable_lsn(f->t), 30);
  check_reopened(f, 100, 104);
  efx_free(f);
}

static void test_compaction_landed_but_failed(void **state) {
  (void)state;
  efx *f = efx_cfg(1, NULL);
  for (int k = 0; k < 3; k++) {
    ins_rows(f, (uint32_t)k + 1, k * 10, k * 10 + 10, (uint64_t)k * 10 + 10);
    EOK(floe_table_flush(f->t, E));
  }
  arm(f, 0);
  floe_error e;
  floe_status st = floe_table_compact(f->t, 1, &e);
  assert_int_equal(atomic_load(&fail_version), 0);
  if (st) fail_msg("compact: %s", e.msg);
  floe_table_stats ts;
  floe_table_stats_get(f->t, &ts);
  assert_int_equal(ts.data_files, 1);
  assert_int_equal(scan_count(f->t, NULL), 30);
  ins_rows(f, 9, 30, 31, 90);
  EOK(floe_table_flush(f->t, E));
  check_reopened(f, 0, 31);
  efx_free(f);
}

static void test_commit_outcome_unknown(void **state) {
  (void)state;
  efx *f = efx_cfg(1, NULL);
  ins_rows(f, 1, 0, 5, 10);
  EOK(floe_table_flush(f->t, E));
  ins_rows(f, 2, 5, 8, 20);
  atomic_store(&fail_hide, 1);
  arm(f, 0);
  floe_error e;
  assert_int_not_equal(floe_table_flush(f->t, &e), FLOE_OK);
  atomic_store(&fail_hide, 0);
  assert_int_equal(atomic_load(&fail_version), 0);
  assert_int_equal(floe_durable_lsn(f->t), 10);
  /* still unreadable: no commit is tried */
  assert_int_not_equal(floe_table_flush(f->t, &e), FLOE_OK);
  char md[128], hidden[160];
  snprintf(md, sizeof md, "%s/public/t/metadata", f->dir);
  snprintf(hidden, sizeof hidden, "%s.hidden", md);
  assert_int_equal(rename(hidden, md), 0);
  /* readable again: it landed, the view cannot tell what it took: broken */
  assert_int_equal(floe_table_flush(f->t, &e), FLOE_EIO);
  assert_non_null(strstr(e.msg, "reopen"));
  assert_int_equal(floe_durable_lsn(f->t), 10);
  erow_set(f->r, 50, "r", 1, 50);
  assert_int_equal(floe_insert(f->t, 3, 3, f->r, &e), FLOE_EIO);
  assert_int_equal(floe_table_compact(f->t, 1, &e), FLOE_EIO);
  /* and a close says it committed nothing */
  assert_int_equal(floe_table_close(f->t, &e), FLOE_EIO);
  f->t = NULL;
  efx_drop_rows(f);
  efx_open(f, 1);
  check_reopened(f, 0, 8);
  efx_free(f);
}

/* ---- keyless alter ---- */

static void tune_keyless(floe_table_config *c) {
  c->txn_spill_bytes = 600; /* the open txn spills */
}

/* (id, v, n[, w]) with w NULL; ncols 2 leaves n out (dropped). */
static void krow(floe_row *r, int64_t id, int ncols) {
  floe_row_reset(r);
  EOK(floe_row_set_int(r, 0, id, E));
  EOK(floe_row_set_bytes(r, 1, "k", 1, E));
  if (ncols > 2) EOK(floe_row_set_int(r, 2, (int32_t)id, E));
}

/* Deletes (id, ...) in its own txn and commits. */
static floe_status kdel(efx *f, int64_t id, int ncols, uint32_t xid,
                        floe_error *e) {
  krow(f->o, id, ncols);
  floe_status st = floe_delete(f->t, xid, xid, f->o, e);
  if (!st) st = floe_commit(f->t, xid, xid, e);
  return st;
}

static void keyless_alter(bool drop) {
  efx *f = efx_cfg(0, tune_keyless);
  /* 0..9 in a file, 10..19 in memory, 100..139 in an open txn (spilled
   * and not), which also deletes committed row 5 */
  for (int i = 0; i < 10; i++) {
    krow(f->r, i, 3);
    EOK(floe_insert(f->t, 1, 1, f->r, E));
  }
  EOK(floe_commit(f->t, 1, 1, E));
  EOK(floe_table_flush(f->t, E));
  for (int i = 10; i < 20; i++) {
    krow(f->r, i, 3);
    EOK(floe_insert(f->t, 2, 2, f->r, E));
  }
  EOK(floe_commit(f->t, 2, 2, E));
  for (int i = 100; i < 140; i++) {
    krow(f->r, i, 3);
    EOK(floe_insert(f->t, 3, 3, f->r, E));
  }
  krow(f->o, 5, 3);
  EOK(floe_delete(f->t, 3, 3, f->o, E));
  char spill[128];
  snprintf(spill, sizeof spill, "%s/.floe/public.t/spill", f->dir);
  DIR *d = opendir(spill);
  int nspill = 0;
  struct dirent *de;
  while (d && (de = readdir(d))) nspill += de->d_name[0] != '.';
  if (d) closedir(d);
  assert_true(nspill >= 1);
  floe_column cols[4];
  memcpy(cols, ECOLS, sizeof ECOLS);
  int ncols = 4;
  if (drop) {
    ncols = 2; /* n dropped */
  } else {
    cols[3] = (floe_column){"w", FLOE_INT64, 0, 0, FLOE_BOOL, 0, 0, 1, NULL};
  }
  EOK(floe_table_alter(f->t, cols, ncols, E));
  efx_drop_rows(f);
  EOK(floe_row_new(f->t, &f->r, E));
  EOK(floe_row_new(f->t, &f->o, E));
  /* the open txn deletes one of its spilled rows, one of its last rows,
   * then commits its earlier delete of 5 */
  krow(f->o, 100, ncols);
  EOK(floe_delete(f->t, 3, 3, f->o, E));
  krow(f->o, 139, ncols);
  EOK(floe_delete(f->t, 3, 3, f->o, E));
  EOK(floe_commit(f->t, 3, 3, E));
  /* a file row (flushed before), a mem row (flushed by the alter) */
  EOK(kdel(f, 3, ncols, 10, E));
  EOK(kdel(f, 15, ncols, 11, E));
  EOK(kdel(f, 120, ncols, 12, E));
  int want = 20 + 40 - 6;
  assert_int_equal(scan_count(f->t, NULL), want);
  /* durable, a crash, a reopen: the indexes come back with the new hashes
   * (none of the old ones is reused) */
  EOK(floe_table_flush(f->t, E));
  floe_table_free(f->t);
  efx_drop_rows(f);
  EOK(floe_table_open(&f->ref, NULL, 0, NULL, 0, &f->cfg, &f->t, E));
  EOK(floe_row_new(f->t, &f->r, E));
  EOK(floe_row_new(f->t, &f->o, E));
  assert_int_equal(scan_count(f->t, NULL), want);
  EOK(kdel(f, 7, ncols, 20, E));
  EOK(kdel(f, 17, ncols, 21, E));
  EOK(kdel(f, 130, ncols, 22, E));
  assert_int_equal(scan_count(f->t, NULL), want - 3);
  floe_error e;
  assert_int_equal(kdel(f, 7, ncols, 23, &e), FLOE_ENOTFOUND);
  efx_free(f);
}

static void test_keyless_add_column(void **state) {
  (void)state;
  keyless_alter(false);
}

static void test_keyless_drop_column(void **state) {
  (void)state;
  keyless_alter(true);
}

/* ---- bad arguments ---- */

static void test_bad_arguments(void **state) {
  (void)state;
  floe_error e;
  assert_int_equal(floe_row_set_int(NULL, 0, 1, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_null(NULL, 0, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_unchanged(NULL, 0, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_bool(NULL, 0, 1, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_float(NULL, 0, 1, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_decimal(NULL, 0, 1, 0, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_bytes(NULL, 0, "x", 1, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_list_begin(NULL, 0, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_list_end(NULL, &e), FLOE_EINVAL);
  assert_int_equal(floe_applied_lsn(NULL), 0);
  assert_int_equal(floe_durable_lsn(NULL), 0);
  const floe_column *cols = ECOLS;
  const int *key = EKEY;
  assert_int_equal(floe_table_columns(NULL, &cols), 0);
  assert_null(cols);
  assert_int_equal(floe_table_key(NULL, &key), 0);
  assert_null(key);
  floe_table_stats st;
  memset(&st, 0xff, sizeof st);
  floe_table_stats_get(NULL, &st);
  assert_int_equal(st.rows, 0);
  efx *f = efx_cfg(1, NULL);
  floe_table_stats_get(f->t, NULL);
  /* configs no table can run with */
  static const struct {
    size_t off;
    int64_t v;
  } bad[] = {
      {offsetof(floe_table_config, flush_rows), 0},
      {offsetof(floe_table_config, flush_bytes), -1},
      {offsetof(floe_table_config, flush_age_ms), -1},
      {offsetof(floe_table_config, commit_interval_ms), -5},
      {offsetof(floe_table_config, memory_limit), -1},
      {offsetof(floe_table_config, txn_spill_bytes), 0},
      {offsetof(floe_table_config, snapshot_max_age_ms), -1},
      {offsetof(floe_table_config, orphan_age_ms), -1},
      {offsetof(floe_table_config, housekeeping_interval_ms), -1},
      {offsetof(floe_table_config, target_file_bytes), -1},
      {offsetof(floe_table_config, compact_interval_ms), -1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    floe_table_config c = f->cfg;
    memcpy((char *)&c + bad[i].off, &bad[i].v, sizeof bad[i].v);
    floe_table *t = NULL;
    assert_int_equal(floe_table_open(&f->ref, NULL, 0, NULL, 0, &c, &t, &e),
                     FLOE_EINVAL);
    assert_null(t);
  }
  floe_table_config c = f->cfg;
  c.keep_snapshots = 0;
  floe_table *t = NULL;
  assert_int_equal(floe_table_open(&f->ref, NULL, 0, NULL, 0, &c, &t, &e),
                   FLOE_EINVAL);
  c = f->cfg;
  c.compact_delete_fraction = NAN;
  assert_int_equal(floe_table_open(&f->ref, NULL, 0, NULL, 0, &c, &t, &e),
                   FLOE_EINVAL);
  c.compact_delete_fraction = 1.5;
  assert_int_equal(floe_table_open(&f->ref, NULL, 0, NULL, 0, &c, &t, &e),
                   FLOE_EINVAL);
  c = f->cfg;
  c.compact_min_files = -1;
  assert_int_equal(floe_table_open(&f->ref, NULL, 0, NULL, 0, &c, &t, &e),
                   FLOE_EINVAL);
  assert_null(t);
  efx_free(f);
}

/* ---- stats race ---- */

typedef struct sreader {
  floe_table *t;
  atomic_int stop;
  int64_t max_open;
} sreader;

static void *stats_main(void *arg) {
  sreader *r = arg;
  while (!atomic_load(&r->stop)) {
    floe_table_stats st;
    floe_table_stats_get(r->t, &st);
    if (st.open_txns > r->max_open) r->max_open = st.open_txns;
    (void)floe_durable_lsn(r->t);
  }
  return NULL;
}

static void test_stats_while_ingesting(void **state) {
  (void)state;
  efx *f = efx_cfg(1, NULL);
  sreader r;
  memset(&r, 0, sizeof r);
  r.t = f->t;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, stats_main, &r), 0);
  for (int i = 0; i < 1000; i++) {
    erow_set(f->r, i, "x", 1, i);
    EOK(floe_insert(f->t, (uint32_t)i + 1, (uint32_t)i + 1, f->r, E));
    EOK(floe_commit(f->t, (uint32_t)i + 1, 10 + (uint64_t)i, E));
  }
  atomic_store(&r.stop, 1);
  pthread_join(th, NULL);
  assert_true(r.max_open <= 1);
  floe_table_stats st;
  floe_table_stats_get(f->t, &st);
  assert_int_equal(st.open_txns, 0);
  assert_int_equal(st.rows, 1000);
  efx_free(f);
}

/* ---- spill durability ---- */

static void tune_spill_all(floe_table_config *c) { c->txn_spill_bytes = 1; }

static void test_spill_move_is_durable(void **state) {
  (void)state;
  efx *f = efx_cfg(1, tune_spill_all);
  for (int i = 0; i < 3; i++) {
    erow_set(f->r, i, "s", 1, i);
    EOK(floe_insert(f->t, 1, 1, f->r, E));
  }
  int before = atomic_load(&data_fsyncs);
  EOK(floe_commit(f->t, 1, 10, E));
  /* every row was spilled: the commit only moved files into data/ */
  assert_true(atomic_load(&data_fsyncs) > before);
  EOK(floe_table_flush(f->t, E));
  check_reopened(f, 0, 3);
  efx_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_orphan_sweep_spares_moving_spill_files),
      cmocka_unit_test(test_hot_key_committed_updates),
      cmocka_unit_test(test_hot_key_updates_in_one_txn),
      cmocka_unit_test(test_many_subxact_aborts_and_truncates),
      cmocka_unit_test(test_commit_landed_but_failed),
      cmocka_unit_test(test_commit_failed_before_landing),
      cmocka_unit_test(test_truncate_commit_landed_but_failed),
      cmocka_unit_test(test_compaction_landed_but_failed),
      cmocka_unit_test(test_commit_outcome_unknown),
      cmocka_unit_test(test_keyless_add_column),
      cmocka_unit_test(test_keyless_drop_column),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_stats_while_ingesting),
      cmocka_unit_test(test_spill_move_is_durable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
