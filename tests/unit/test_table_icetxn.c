/*
 * The Iceberg commit feature the engine relies on: deletes of rows of a
 * data file appended in the same ice_txn (a file flushed, then partly
 * deleted, before its first Iceberg commit). The snapshot must hold the file
 * and a DV on it; a scan must skip exactly those rows; a later commit adds
 * to the same DV.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iceberg/table.h"

#define OK(x)                                                                  \
  do {                                                                         \
    floe_error e_;                                                             \
    floe_status s_ = (x);                                                      \
    if (s_ != FLOE_OK) fail_msg("%s: %s", #x, e_.msg);                         \
  } while (0)
#define E (&e_)

static ice_dv *dv_of(const uint64_t *pos, int n) {
  ice_dv *dv = NULL;
  OK(ice_dv_new(&dv, E));
  for (int i = 0; i < n; i++) OK(ice_dv_add(dv, pos[i], E));
  return dv;
}

/* The ids a scan of the current snapshot returns, in order. */
static int scan_ids(ice_table *t, int64_t *out, int max) {
  ice_plan *p = NULL;
  OK(ice_table_plan(t, ICE_NONE, &p, E));
  ice_scan *s = NULL;
  OK(ice_scan_open(t, p, NULL, 0, &s, E));
  int n = 0;
  for (;;) {
    col_batch *b = NULL;
    OK(ice_scan_next(s, &b, E));
    if (!b) break;
    for (int64_t i = 0; i < b->length && n < max; i++)
      out[n++] = ((const int64_t *)(const void *)b->cols[0].values.data)[i];
    col_batch_free(b);
  }
  ice_scan_free(s);
  ice_plan_free(p);
  return n;
}

static void test_dv_on_file_of_same_txn(void **state) {
  (void)state;
  char dir[64] = "/tmp/floe-icetxn-XXXXXX";
  assert_non_null(mkdtemp(dir));
  ice_catalog *cat = NULL;
  OK(ice_catalog_fs_open(dir, &cat, E));
  col_field fl[1] = {{1, "id", {.id = COL_INT64}, false, 0, false}};
  col_schema *cs = NULL;
  OK(col_schema_new(fl, 1, &cs, E));
  ice_table *t = NULL;
  OK(ice_table_create(cat, "ns", "t", cs, NULL, NULL, &t, E));
  col_batch *b = NULL;
  OK(col_batch_new(cs, &b, E));
  for (int64_t i = 0; i < 10; i++) OK(col_append_i64(&b->cols[0], i, E));
  OK(col_batch_seal(b, E));
  ice_data_file *files = NULL;
  int nf = 0;
  OK(ice_table_write_data(t, &b, 1, &files, &nf, E));
  assert_int_equal(nf, 1);

  ice_txn *x = NULL;
  OK(ice_txn_begin(t, &x, E));
  OK(ice_txn_append(x, &files[0], E));
  uint64_t pos[3] = {1, 4, 9};
  ice_dv *dv = dv_of(pos, 3);
  OK(ice_txn_delete_rows(x, files[0].file_path, dv, E));
  ice_dv_free(dv);
  OK(ice_txn_commit(x, NULL, E));

  const ice_snapshot *s = ice_metadata_current_snapshot(ice_table_metadata(t));
  assert_non_null(s);
  assert_string_equal(ice_kv_get(&s->summary, "added-data-files"), "1");
  assert_string_equal(ice_kv_get(&s->summary, "added-dvs"), "1");
  assert_string_equal(ice_kv_get(&s->summary, "added-position-deletes"), "3");
  int64_t ids[16];
  int n = scan_ids(t, ids, 16);
  int64_t want[7] = {0, 2, 3, 5, 6, 7, 8};
  assert_int_equal(n, 7);
  for (int i = 0; i < 7; i++) assert_int_equal(ids[i], want[i]);

  /* a later delete merges into that DV */
  OK(ice_txn_begin(t, &x, E));
  uint64_t pos2[1] = {0};
  dv = dv_of(pos2, 1);
  OK(ice_txn_delete_rows(x, files[0].file_path, dv, E));
  ice_dv_free(dv);
  OK(ice_txn_commit(x, NULL, E));
  n = scan_ids(t, ids, 16);
  assert_int_equal(n, 6);
  assert_int_equal(ids[0], 2);

  /* a file neither live nor appended is still refused */
  OK(ice_txn_begin(t, &x, E));
  dv = dv_of(pos2, 1);
  OK(ice_txn_delete_rows(x, "/nowhere.parquet", dv, E));
  ice_dv_free(dv);
  floe_error e;
  assert_int_equal(ice_txn_commit(x, NULL, &e), FLOE_ENOTFOUND);

  ice_data_file_free(&files[0]);
  free(files);
  col_batch_free(b);
  ice_table_free(t);
  col_schema_unref(cs);
  ice_catalog_free(cat);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dv_on_file_of_same_txn),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
