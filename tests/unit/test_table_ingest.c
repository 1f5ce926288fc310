/*
 * The in-tree fast paths of src/table/ingest.h: tbl_insert_batch (columnar
 * inserts into an open transaction: chunks, spills, widening, private
 * deletes/updates/TOAST of batch rows, subtransaction abort, key NULLs
 * refused) and in-place value decoding into a floe_row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "columnar/text.h"
#include "engine_util.h"
#include "table/ingest.h"

static int setup(void **state) {
  *state = efx_new(1);
  return 0;
}

static int teardown(void **state) {
  efx_free(*state);
  return 0;
}

#define CHECK(f, want) assert_int_equal(check_view((f)->t, (want), __func__), 0)

/* A batch (id int64, v utf8, n of type ntype) of rows [from, to): v is
 * "b<id>", n = id % 1000 (NULL every 7th). */
static col_batch *make_batch(col_type ntype, int64_t from, int64_t to) {
  col_field f[3] = {{1, "id", {COL_INT64, 0, 0, 0, 0, 0}, false, 0, false},
                    {2, "v", {COL_UTF8, 0, 0, 0, 0, 0}, true, 0, false},
                    {3, "n", {ntype, 0, 0, 0, 0, 0}, true, 0, false}};
  col_schema *s = NULL;
  col_batch *b = NULL;
  EOK(col_schema_new(f, 3, &s, E));
  EOK(col_batch_new(s, &b, E));
  col_schema_unref(s);
  char v[32];
  for (int64_t i = from; i < to; i++) {
    EOK(col_append_i64(&b->cols[0], i, E));
    int n = snprintf(v, sizeof v, "b%" PRId64, i);
    EOK(col_append_bytes(&b->cols[1], v, (size_t)n, E));
    if (i % 7 == 0)
      EOK(col_append_null(&b->cols[2], E));
    else if (ntype == COL_INT16)
      EOK(col_append_i16(&b->cols[2], (int16_t)(i % 1000), E));
    else
      EOK(col_append_i32(&b->cols[2], (int32_t)(i % 1000), E));
  }
  EOK(col_batch_seal(b, E));
  return b;
}

static void want_batch(eset *w, int64_t from, int64_t to) {
  char v[32];
  for (int64_t i = from; i < to; i++) {
    snprintf(v, sizeof v, "b%" PRId64, i);
    eset_add(w, i, v, i % 7 != 0, i % 7 ? (int32_t)(i % 1000) : 0);
  }
}

static void test_batch_commit(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  /* 8-row chunks (efx's batch_rows): the batch crosses many of them */
  col_batch *b = make_batch(COL_INT32, 0, 1000);
  EOK(tbl_insert_batch(f->t, 7, 7, b, E));
  col_batch_free(b);
  /* int16 values into the int32 column: widened */
  b = make_batch(COL_INT16, 1000, 1013);
  EOK(tbl_insert_batch(f->t, 7, 7, b, E));
  col_batch_free(b);
  CHECK(f, &want); /* nothing visible before the commit */
  /* row-wise changes on batch rows in the same transaction */
  erow_set(f->o, 5, NULL, 0, 0);
  EOK(floe_delete(f->t, 7, 7, f->o, E));
  erow_set(f->r, 6, NULL, 1, -6);
  EOK(floe_row_set_unchanged(f->r, 1, E));
  EOK(floe_update(f->t, 7, 7, NULL, f->r, E));
  erow_set(f->r, 5000, "row", 1, 1);
  EOK(floe_insert(f->t, 7, 7, f->r, E));
  EOK(floe_commit(f->t, 7, 100, E));
  want_batch(&want, 0, 1013);
  eset_del_id(&want, 5);
  eset_del_id(&want, 6);
  eset_add(&want, 6, "b6", 1, -6);
  eset_add(&want, 5000, "row", 1, 1);
  CHECK(f, &want);
  /* later deletes find batch rows through the committed index */
  erow_set(f->o, 999, NULL, 0, 0);
  EOK(floe_delete(f->t, 8, 8, f->o, E));
  EOK(floe_commit(f->t, 8, 200, E));
  eset_del_id(&want, 999);
  CHECK(f, &want);
  eset_free(&want);
}

static void test_batch_spill_abort(void **state) {
  efx *f = *state;
  efx_drop_rows(f);
  EOK(floe_table_close(f->t, E));
  f->cfg.txn_spill_bytes = 4096; /* spills every few chunks */
  efx_open(f, 1);
  eset want = {0, 0, NULL};
  col_batch *b = make_batch(COL_INT32, 0, 3000);
  EOK(tbl_insert_batch(f->t, 9, 9, b, E));
  col_batch_free(b);
  /* a subtransaction's batch is aborted, the top level's kept */
  b = make_batch(COL_INT32, 3000, 3500);
  EOK(tbl_insert_batch(f->t, 9, 90, b, E));
  col_batch_free(b);
  /* a spilled batch row updated with its TOAST value kept */
  erow_set(f->r, 10, NULL, 1, 77);
  EOK(floe_row_set_unchanged(f->r, 1, E));
  EOK(floe_update(f->t, 9, 9, NULL, f->r, E));
  EOK(floe_abort(f->t, 9, 90, E));
  floe_table_stats st;
  floe_table_stats_get(f->t, &st);
  assert_true(st.mem_bytes < 64 * 1024); /* spilled, not held */
  EOK(floe_commit(f->t, 9, 300, E));
  want_batch(&want, 0, 3000);
  eset_del_id(&want, 10);
  eset_add(&want, 10, "b10", 1, 77);
  CHECK(f, &want);
  floe_table_stats_get(f->t, &st);
  assert_true(st.data_files >= 2);
  EOK(floe_table_flush(f->t, E));
  efx_drop_rows(f);
  EOK(floe_table_close(f->t, E));
  efx_open(f, 1);
  CHECK(f, &want);
  eset_free(&want);
}

static void test_batch_errors(void **state) {
  efx *f = *state;
  floe_error e;
  /* a NULL key */
  col_batch *b = make_batch(COL_INT32, 0, 3);
  col_truncate(&b->cols[0], 2);
  EOK(col_append_null(&b->cols[0], E));
  assert_int_equal(tbl_insert_batch(f->t, 1, 1, b, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "NOT NULL"));
  col_batch_free(b);
  /* a type the column cannot take */
  col_field fl[3] = {{1, "id", {COL_INT64, 0, 0, 0, 0, 0}, false, 0, false},
                     {2, "v", {COL_INT32, 0, 0, 0, 0, 0}, true, 0, false},
                     {3, "n", {COL_INT32, 0, 0, 0, 0, 0}, true, 0, false}};
  col_schema *s = NULL;
  EOK(col_schema_new(fl, 3, &s, E));
  EOK(col_batch_new(s, &b, E));
  col_schema_unref(s);
  EOK(col_append_i64(&b->cols[0], 1, E));
  EOK(col_append_i32(&b->cols[1], 1, E));
  EOK(col_append_i32(&b->cols[2], 1, E));
  EOK(col_batch_seal(b, E));
  assert_int_equal(tbl_insert_batch(f->t, 1, 1, b, &e), FLOE_EINVAL);
  col_batch_free(b);
  /* field count */
  EOK(col_schema_new(fl, 2, &s, E));
  EOK(col_batch_new(s, &b, E));
  col_schema_unref(s);
  assert_int_equal(tbl_insert_batch(f->t, 1, 1, b, &e), FLOE_EINVAL);
  col_batch_free(b);
  EOK(floe_abort(f->t, 1, 1, E));
  eset want = {0, 0, NULL};
  CHECK(f, &want);
}

static void test_row_value_in_place(void **state) {
  efx *f = *state;
  floe_row *r = f->r;
  floe_row_reset(r);
  col_column *c = tbl_row_value_begin(r, 0);
  assert_non_null(c);
  EOK(col_text_append(c, "42", 2, E));
  tbl_row_value_end(r, 0, true);
  c = tbl_row_value_begin(r, 1);
  EOK(col_text_append(c, "hello", 5, E));
  tbl_row_value_end(r, 1, true);
  /* a failed decode leaves NULL */
  c = tbl_row_value_begin(r, 2);
  tbl_row_value_end(r, 2, false);
  assert_null(tbl_row_value_begin(r, 3));
  EOK(floe_insert(f->t, 1, 1, r, E));
  /* a key column left NULL by a failed decode is refused */
  floe_row_reset(r);
  c = tbl_row_value_begin(r, 0);
  tbl_row_value_end(r, 0, false);
  floe_error e;
  assert_int_equal(floe_insert(f->t, 1, 1, r, &e), FLOE_EINVAL);
  EOK(floe_commit(f->t, 1, 10, E));
  eset want = {0, 0, NULL};
  eset_add(&want, 42, "hello", 0, 0);
  CHECK(f, &want);
  eset_free(&want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_batch_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_spill_abort, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_row_value_in_place, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
