/*
 * Housekeeping through floe_table_tick: snapshot expiry keeps the snapshot
 * count bounded, never deletes a data file a read state still reads (a file
 * compacted away while pinned), deletes it once released; orphan removal
 * takes stray files but never a flushed file that is not committed yet.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_util.h"

static int count_files(const char *dir, const char *suffix) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *e;
  size_t sl = strlen(suffix);
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (e->d_name[0] != '.' && l > sl && !strcmp(e->d_name + l - sl, suffix))
      n++;
  }
  closedir(d);
  return n;
}

static void ins(efx *f, uint32_t xid, int64_t id) {
  erow_set(f->r, id, "h", 1, (int32_t)id);
  EOK(floe_insert(f->t, xid, xid, f->r, E));
}

static void test_expiry_keeps_pinned_files(void **state) {
  (void)state;
  efx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/floe-house-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  f->ref.catalog_uri = f->dir;
  f->ref.ns = "public";
  f->ref.name = "t";
  floe_table_config_init(&f->cfg);
  f->cfg.keep_snapshots = 2;
  f->cfg.snapshot_max_age_ms = 0;
  f->cfg.housekeeping_interval_ms = 1;
  f->cfg.compact_interval_ms = 0;
  f->cfg.orphan_age_ms = 3600 * 1000;
  efx_open(f, 1);
  eset want = {0, 0, NULL};
  for (int k = 0; k < 4; k++) {
    for (int i = 0; i < 5; i++) {
      ins(f, (uint32_t)k + 1, k * 10 + i);
      eset_add(&want, k * 10 + i, "h", 1, k * 10 + i);
    }
    EOK(floe_commit(f->t, (uint32_t)k + 1, (uint64_t)k + 1, E));
    EOK(floe_table_flush(f->t, E));
  }
  char data[128];
  snprintf(data, sizeof data, "%s/public/t/data", f->dir);
  assert_int_equal(count_files(data, ".parquet"), 4);
  /* pin the 4 files, compact them away, expire everything expirable */
  floe_read_state *rs = NULL;
  EOK(floe_read_state_get(f->t, 4, 0, &rs, E));
  EOK(floe_table_compact(f->t, 1, E));
  for (int k = 4; k < 10; k++) {
    ins(f, (uint32_t)k + 1, 100 + k);
    eset_add(&want, 100 + k, "h", 1, 100 + k);
    EOK(floe_commit(f->t, (uint32_t)k + 1, (uint64_t)k + 1, E));
    EOK(floe_table_flush(f->t, E));
  }
  int64_t now = 1000;
  EOK(floe_table_tick(f->t, now, NULL, E));
  floe_table_stats st;
  floe_table_stats_get(f->t, &st);
  /* the old files are still there and readable through the pin */
  eset got = scan_rs(rs);
  assert_int_equal(got.n, 20);
  eset_free(&got);
  floe_read_state_release(rs);
  EOK(floe_table_tick(f->t, now + 10, NULL, E));
  floe_table_stats_get(f->t, &st);
  assert_true(st.snapshots <= 3);
  /* released: the compacted-away files are gone (1 compacted + 6 new) */
  assert_int_equal(count_files(data, ".parquet"), 7);
  assert_int_equal(check_view(f->t, &want, "after expiry"), 0);
  /* reopen from what is left */
  efx_drop_rows(f);
  EOK(floe_table_close(f->t, E));
  efx_open(f, 1);
  assert_int_equal(check_view(f->t, &want, "reopened"), 0);
  eset_free(&want);
  efx_free(f);
}

static void test_orphans_spare_pending(void **state) {
  (void)state;
  efx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/floe-house-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  f->ref.catalog_uri = f->dir;
  f->ref.ns = "public";
  f->ref.name = "t";
  floe_table_config_init(&f->cfg);
  f->cfg.commit_interval_ms = 1000000; /* flushes only, no commits */
  f->cfg.flush_rows = 3;
  f->cfg.housekeeping_interval_ms = 1;
  f->cfg.compact_interval_ms = 0;
  f->cfg.orphan_age_ms = 0;
  efx_open(f, 1);
  eset want = {0, 0, NULL};
  EOK(floe_table_tick(f->t, 0, NULL, E)); /* the first tick commits */
  for (int i = 0; i < 5; i++) {
    ins(f, 1, i);
    eset_add(&want, i, "h", 1, i);
  }
  EOK(floe_commit(f->t, 1, 10, E));
  char data[128], stray[192];
  snprintf(data, sizeof data, "%s/public/t/data", f->dir);
  snprintf(stray, sizeof stray, "%s/stray.parquet", data);
  EOK(floe_table_tick(f->t, 5, NULL, E)); /* flush by rows: pending file */
  floe_table_stats st;
  floe_table_stats_get(f->t, &st);
  assert_int_equal(st.data_files, 1);
  assert_int_equal(floe_durable_lsn(f->t), 0);
  FILE *fp = fopen(stray, "w");
  assert_non_null(fp);
  fclose(fp);
  sleep(1); /* orphan ages come from mtimes (whole seconds apart) */
  EOK(floe_table_tick(f->t, 10, NULL, E)); /* housekeeping: no orphans */
  assert_int_equal(count_files(data, ".parquet"), 2);
  assert_int_equal(check_view(f->t, &want, "pending"), 0);
  EOK(floe_table_flush(f->t, E));
  assert_int_equal(floe_durable_lsn(f->t), 10);
  EOK(floe_table_tick(f->t, 20, NULL, E)); /* now the stray goes */
  assert_int_equal(count_files(data, ".parquet"), 1);
  assert_int_equal(check_view(f->t, &want, "committed"), 0);
  eset_free(&want);
  efx_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_expiry_keeps_pinned_files),
      cmocka_unit_test(test_orphans_spare_pending),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
