/*
 * Engine scenarios through the public API (floe.h): visibility of commits,
 * updates and deletes, aborts and subtransaction aborts, interleaved
 * transactions, truncate, key changes, key-less duplicates, unchanged TOAST
 * values, flush + Iceberg commit, reopen after close and after a crash, LSN
 * skip on replay, read-state isolation. Every check scans a fresh read state
 * and compares it row by row with the expected rows.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_util.h"

static int setup_keyed(void **state) {
  *state = efx_new(1);
  return 0;
}

static int setup_keyless(void **state) {
  *state = efx_new(0);
  return 0;
}

static int teardown(void **state) {
  efx_free(*state);
  return 0;
}

#define CHECK(f, want) assert_int_equal(check_view((f)->t, (want), __func__), 0)

static void ins(efx *f, uint32_t xid, int64_t id, const char *v, int32_t n) {
  erow_set(f->r, id, v, 1, n);
  EOK(floe_insert(f->t, xid, xid, f->r, E));
}

static void del(efx *f, uint32_t xid, int64_t id) {
  erow_set(f->o, id, NULL, 0, 0);
  EOK(floe_delete(f->t, xid, xid, f->o, E));
}

static void test_insert_commit_visible(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  CHECK(f, &want);
  for (int i = 0; i < 20; i++) ins(f, 100, i, "a", i);
  /* not visible before commit */
  CHECK(f, &want);
  EOK(floe_commit(f->t, 100, 1000, E));
  for (int i = 0; i < 20; i++) eset_add(&want, i, "a", 1, i);
  CHECK(f, &want);
  assert_int_equal(floe_applied_lsn(f->t), 1000);
  /* a read state waiting for a later LSN times out */
  floe_read_state *rs = NULL;
  floe_error e;
  assert_int_equal(floe_read_state_get(f->t, 2000, 10, &rs, &e),
                   FLOE_ETIMEDOUT);
  EOK(floe_advance(f->t, 2000, E));
  EOK(floe_read_state_get(f->t, 2000, 10, &rs, E));
  assert_int_equal(floe_read_state_lsn(rs), 2000);
  floe_read_state_release(rs);
  eset_free(&want);
}

static void test_update_delete(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  for (int i = 0; i < 30; i++) ins(f, 1, i, "x", i);
  EOK(floe_commit(f->t, 1, 10, E));
  for (int i = 0; i < 30; i++) eset_add(&want, i, "x", 1, i);
  /* updates of committed rows, deletes, an update of a row inserted in the
   * same txn */
  erow_set(f->r, 5, "five", 1, 55);
  EOK(floe_update(f->t, 2, 2, NULL, f->r, E));
  del(f, 2, 7);
  ins(f, 2, 100, "new", 1);
  erow_set(f->r, 100, "newer", 1, 2);
  EOK(floe_update(f->t, 2, 2, NULL, f->r, E));
  del(f, 2, 29);
  CHECK(f, &want);
  EOK(floe_commit(f->t, 2, 20, E));
  eset_del_id(&want, 5);
  eset_add(&want, 5, "five", 1, 55);
  eset_del_id(&want, 7);
  eset_del_id(&want, 29);
  eset_add(&want, 100, "newer", 1, 2);
  CHECK(f, &want);
  /* a delete of a missing row fails at commit and changes nothing */
  del(f, 3, 7);
  del(f, 3, 8);
  floe_error e;
  assert_int_equal(floe_commit(f->t, 3, 30, &e), FLOE_ENOTFOUND);
  CHECK(f, &want);
  eset_free(&want);
}

static void test_abort_subxact(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  for (int i = 0; i < 10; i++) ins(f, 1, i, "x", i);
  EOK(floe_commit(f->t, 1, 10, E));
  for (int i = 0; i < 10; i++) eset_add(&want, i, "x", 1, i);
  /* a whole txn aborted */
  ins(f, 2, 50, "gone", 0);
  del(f, 2, 3);
  EOK(floe_abort(f->t, 2, 2, E));
  EOK(floe_commit(f->t, 2, 15, E)); /* unknown now: a no-op commit */
  CHECK(f, &want);
  /* subtransactions: 31 aborted, 32 kept */
  ins(f, 3, 60, "top", 1);
  erow_set(f->r, 61, "sub", 1, 2);
  EOK(floe_insert(f->t, 3, 31, f->r, E));
  erow_set(f->o, 4, NULL, 0, 0);
  EOK(floe_delete(f->t, 3, 31, f->o, E));
  erow_set(f->o, 60, NULL, 0, 0);
  EOK(floe_delete(f->t, 3, 31, f->o, E)); /* a private delete, undone */
  erow_set(f->r, 62, "kept", 1, 3);
  EOK(floe_insert(f->t, 3, 32, f->r, E));
  erow_set(f->o, 5, NULL, 0, 0);
  EOK(floe_delete(f->t, 3, 32, f->o, E));
  EOK(floe_abort(f->t, 3, 31, E));
  EOK(floe_commit(f->t, 3, 20, E));
  eset_add(&want, 60, "top", 1, 1);
  eset_add(&want, 62, "kept", 1, 3);
  eset_del_id(&want, 5);
  CHECK(f, &want);
  eset_free(&want);
}

static void test_interleaved(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  for (int i = 0; i < 40; i++) {
    ins(f, 1 + (uint32_t)(i % 3), i, "i", i);
    if (i % 3 == 0) eset_add(&want, i, "i", 1, i);
  }
  EOK(floe_commit(f->t, 1, 100, E));
  CHECK(f, &want);
  EOK(floe_abort(f->t, 2, 2, E));
  for (int i = 2; i < 40; i += 3) eset_add(&want, i, "i", 1, i);
  EOK(floe_commit(f->t, 3, 200, E));
  CHECK(f, &want);
  eset_free(&want);
}

static void test_truncate(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  for (int i = 0; i < 20; i++) ins(f, 1, i, "x", i);
  EOK(floe_commit(f->t, 1, 10, E));
  EOK(floe_table_flush(f->t, E));
  for (int i = 20; i < 30; i++) ins(f, 2, i, "y", i);
  EOK(floe_commit(f->t, 2, 20, E));
  /* truncate: committed rows (file + mem) and the txn's earlier rows go */
  ins(f, 3, 100, "before", 1);
  EOK(floe_truncate(f->t, 3, 3, E));
  ins(f, 3, 101, "after", 2);
  EOK(floe_commit(f->t, 3, 30, E));
  eset_add(&want, 101, "after", 1, 2);
  CHECK(f, &want);
  EOK(floe_table_flush(f->t, E));
  CHECK(f, &want);
  /* a truncate in an aborted subtransaction does nothing */
  EOK(floe_truncate(f->t, 4, 41, E));
  ins(f, 4, 102, "z", 3);
  EOK(floe_abort(f->t, 4, 41, E));
  EOK(floe_commit(f->t, 4, 40, E));
  eset_add(&want, 102, "z", 1, 3);
  CHECK(f, &want);
  eset_free(&want);
}

static void test_key_change(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  for (int i = 0; i < 10; i++) ins(f, 1, i, "x", i);
  EOK(floe_commit(f->t, 1, 10, E));
  EOK(floe_table_flush(f->t, E));
  erow_set(f->o, 3, NULL, 0, 0);
  erow_set(f->r, 300, "moved", 1, 3);
  EOK(floe_update(f->t, 2, 2, f->o, f->r, E));
  erow_set(f->o, 300, NULL, 0, 0);
  erow_set(f->r, 301, "again", 1, 4);
  EOK(floe_update(f->t, 2, 2, f->o, f->r, E));
  EOK(floe_commit(f->t, 2, 20, E));
  for (int i = 0; i < 10; i++)
    if (i != 3) eset_add(&want, i, "x", 1, i);
  eset_add(&want, 301, "again", 1, 4);
  CHECK(f, &want);
  eset_free(&want);
}

static void test_keyless_duplicates(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  for (int k = 0; k < 3; k++)
    for (int i = 0; i < 5; i++) {
      ins(f, 1, i, "dup", 7);
      eset_add(&want, i, "dup", 1, 7);
    }
  EOK(floe_commit(f->t, 1, 10, E));
  CHECK(f, &want);
  /* a delete takes one copy; two in one txn take two */
  erow_set(f->o, 2, "dup", 1, 7);
  EOK(floe_delete(f->t, 2, 2, f->o, E));
  EOK(floe_delete(f->t, 2, 2, f->o, E));
  EOK(floe_commit(f->t, 2, 20, E));
  eset_del_id(&want, 2);
  eset_del_id(&want, 2);
  CHECK(f, &want);
  EOK(floe_table_flush(f->t, E));
  CHECK(f, &want);
  /* from the file now: the last copy, then one too many */
  EOK(floe_delete(f->t, 3, 3, f->o, E));
  EOK(floe_commit(f->t, 3, 30, E));
  eset_del_id(&want, 2);
  CHECK(f, &want);
  EOK(floe_delete(f->t, 4, 4, f->o, E));
  floe_error e;
  assert_int_equal(floe_commit(f->t, 4, 40, &e), FLOE_ENOTFOUND);
  /* three copies in a file: deletes tell candidates apart by reading */
  for (int k = 0; k < 3; k++) {
    ins(f, 6, 9, "tri", 9);
    ins(f, 6, 9, "tri", 10); /* same id, different row: a near miss */
  }
  EOK(floe_commit(f->t, 6, 60, E));
  EOK(floe_table_flush(f->t, E));
  erow_set(f->o, 9, "tri", 1, 9);
  EOK(floe_delete(f->t, 7, 7, f->o, E));
  EOK(floe_delete(f->t, 7, 7, f->o, E));
  EOK(floe_commit(f->t, 7, 70, E));
  eset_add(&want, 9, "tri", 1, 9);
  for (int k = 0; k < 3; k++) eset_add(&want, 9, "tri", 1, 10);
  CHECK(f, &want);
  /* an update of a row without a key needs the old row */
  erow_set(f->o, 1, "dup", 1, 7);
  erow_set(f->r, 1, "changed", 1, 8);
  EOK(floe_update(f->t, 8, 8, f->o, f->r, E));
  EOK(floe_commit(f->t, 8, 80, E));
  eset_del_id(&want, 1);
  eset_add(&want, 1, "changed", 1, 8);
  CHECK(f, &want);
  assert_int_equal(floe_update(f->t, 6, 6, NULL, f->r, &e), FLOE_EINVAL);
  eset_free(&want);
}

static void test_toast_unchanged(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  ins(f, 1, 1, "big-in-file", 1);
  ins(f, 1, 2, "big-in-mem", 2);
  EOK(floe_commit(f->t, 1, 10, E));
  EOK(floe_table_flush(f->t, E)); /* rows 1, 2 in a data file */
  ins(f, 2, 3, "big-in-batch", 3);
  EOK(floe_commit(f->t, 2, 20, E)); /* row 3 in the mem slice */
  /* unchanged v from the file, from a mem batch, from the txn's own row */
  erow_set(f->r, 1, NULL, 1, 10);
  EOK(floe_row_set_unchanged(f->r, 1, E));
  EOK(floe_update(f->t, 3, 3, NULL, f->r, E));
  erow_set(f->r, 3, NULL, 1, 30);
  EOK(floe_row_set_unchanged(f->r, 1, E));
  EOK(floe_update(f->t, 3, 3, NULL, f->r, E));
  erow_set(f->r, 3, NULL, 1, 31);
  EOK(floe_row_set_unchanged(f->r, 1, E));
  EOK(floe_update(f->t, 3, 3, NULL, f->r, E));
  EOK(floe_commit(f->t, 3, 30, E));
  eset_add(&want, 1, "big-in-file", 1, 10);
  eset_add(&want, 2, "big-in-mem", 1, 2);
  eset_add(&want, 3, "big-in-batch", 1, 31);
  CHECK(f, &want);
  /* unchanged outside an update is refused; a missing row is ENOTFOUND */
  floe_error e;
  erow_set(f->r, 9, NULL, 1, 1);
  EOK(floe_row_set_unchanged(f->r, 1, E));
  assert_int_equal(floe_insert(f->t, 4, 4, f->r, &e), FLOE_EINVAL);
  assert_int_equal(floe_update(f->t, 4, 4, NULL, f->r, &e), FLOE_ENOTFOUND);
  eset_free(&want);
}

static void test_flush_deletes_commit(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  for (int i = 0; i < 50; i++) {
    ins(f, 1, i, "r", i);
    eset_add(&want, i, "r", 1, i);
  }
  EOK(floe_commit(f->t, 1, 10, E));
  EOK(floe_table_flush(f->t, E));
  assert_int_equal(floe_durable_lsn(f->t), 10);
  for (int i = 0; i < 50; i += 7) {
    del(f, 2, i);
    eset_del_id(&want, i);
  }
  EOK(floe_commit(f->t, 2, 20, E));
  assert_int_equal(floe_durable_lsn(f->t), 10);
  CHECK(f, &want);
  EOK(floe_table_flush(f->t, E));
  assert_int_equal(floe_durable_lsn(f->t), 20);
  CHECK(f, &want);
  /* more deletes on the same file: the DV grows */
  del(f, 3, 1);
  eset_del_id(&want, 1);
  EOK(floe_commit(f->t, 3, 30, E));
  EOK(floe_table_flush(f->t, E));
  CHECK(f, &want);
  /* reopen: the state comes from Iceberg */
  EOK(floe_table_close(f->t, E));
  f->t = NULL;
  efx_drop_rows(f);
  efx_open(f, 1);
  assert_int_equal(floe_durable_lsn(f->t), 30);
  assert_int_equal(floe_applied_lsn(f->t), 30);
  CHECK(f, &want);
  /* deletes resolved through the rebuilt / reloaded index */
  del(f, 4, 2);
  eset_del_id(&want, 2);
  EOK(floe_commit(f->t, 4, 40, E));
  CHECK(f, &want);
  eset_free(&want);
}

static void test_crash_and_replay(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  for (int i = 0; i < 12; i++) {
    ins(f, 1, i, "a", i);
    eset_add(&want, i, "a", 1, i);
  }
  EOK(floe_commit(f->t, 1, 100, E));
  EOK(floe_table_flush(f->t, E));
  /* applied past durable, then a crash */
  ins(f, 2, 500, "lost", 0);
  del(f, 2, 3);
  EOK(floe_commit(f->t, 2, 200, E));
  assert_int_equal(floe_durable_lsn(f->t), 100);
  efx_drop_rows(f);
  floe_table_free(f->t);
  f->t = NULL;
  efx_open(f, 1);
  assert_int_equal(floe_applied_lsn(f->t), 100);
  CHECK(f, &want);
  /* the source replays from 100: the commit at 100 is skipped, 200 applies */
  ins(f, 1, 0, "dup-replay", 0);
  EOK(floe_commit(f->t, 1, 100, E));
  CHECK(f, &want);
  ins(f, 2, 500, "lost", 0);
  del(f, 2, 3);
  EOK(floe_commit(f->t, 2, 200, E));
  eset_add(&want, 500, "lost", 1, 0);
  eset_del_id(&want, 3);
  CHECK(f, &want);
  EOK(floe_table_close(f->t, E));
  f->t = NULL;
  efx_drop_rows(f);
  efx_open(f, 1);
  CHECK(f, &want);
  assert_int_equal(floe_durable_lsn(f->t), 200);
  eset_free(&want);
}

static void test_read_state_isolation(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  for (int i = 0; i < 20; i++) {
    ins(f, 1, i, "old", i);
    eset_add(&want, i, "old", 1, i);
  }
  EOK(floe_commit(f->t, 1, 10, E));
  EOK(floe_table_flush(f->t, E));
  for (int i = 20; i < 25; i++) {
    ins(f, 2, i, "mem", i);
    eset_add(&want, i, "mem", 1, i);
  }
  EOK(floe_commit(f->t, 2, 20, E));
  floe_read_state *rs = NULL;
  EOK(floe_read_state_get(f->t, 20, -1, &rs, E));
  /* a stream opened now outlives the read state */
  struct ArrowArrayStream st;
  EOK(floe_scan(rs, NULL, 0, &st, E));
  /* changes keep coming: deletes of file and mem rows, inserts, flushes */
  for (int i = 0; i < 25; i += 2) del(f, 3, i);
  for (int i = 100; i < 120; i++) ins(f, 3, i, "later", i);
  EOK(floe_commit(f->t, 3, 30, E));
  EOK(floe_table_flush(f->t, E));
  erow_set(f->o, 1, NULL, 0, 0);
  EOK(floe_delete(f->t, 4, 4, f->o, E));
  EOK(floe_truncate(f->t, 4, 4, E));
  EOK(floe_commit(f->t, 4, 40, E));
  EOK(floe_table_flush(f->t, E));
  eset got = scan_rs(rs);
  eset_sort(&want);
  assert_int_equal(got.n, want.n);
  for (int i = 0; i < got.n; i++)
    assert_int_equal(erow_cmp(&got.r[i], &want.r[i]), 0);
  eset_free(&got);
  floe_read_state_release(rs);
  eset got2 = {0, 0, NULL};
  assert_int_equal(read_stream(&st, &got2), 0);
  eset_sort(&got2);
  assert_int_equal(got2.n, want.n);
  for (int i = 0; i < got2.n; i++)
    assert_int_equal(erow_cmp(&got2.r[i], &want.r[i]), 0);
  eset_free(&got2);
  eset empty = {0, 0, NULL};
  CHECK(f, &empty);
  eset_free(&want);
}

static void test_projection(void **state) {
  efx *f = *state;
  for (int i = 0; i < 20; i++) ins(f, 1, i, "p", i);
  EOK(floe_commit(f->t, 1, 10, E));
  EOK(floe_table_flush(f->t, E));
  for (int i = 20; i < 30; i++) ins(f, 2, i, "q", i);
  EOK(floe_commit(f->t, 2, 20, E));
  floe_read_state *rs = NULL;
  EOK(floe_read_state_get(f->t, 0, 0, &rs, E));
  assert_int_equal(floe_read_state_rows(rs), 30);
  const char *cols[] = {"id"};
  struct ArrowArrayStream st;
  EOK(floe_scan(rs, cols, 1, &st, E));
  eset got = {0, 0, NULL};
  assert_int_equal(read_stream(&st, &got), 0);
  eset_sort(&got);
  assert_int_equal(got.n, 30);
  for (int i = 0; i < 30; i++) {
    assert_int_equal(got.r[i].id, i);
    assert_false(got.r[i].has_v);
  }
  eset_free(&got);
  const char *bad[] = {"nope"};
  floe_error e;
  assert_int_equal(floe_scan(rs, bad, 1, &st, &e), FLOE_ENOTFOUND);
  floe_read_state_release(rs);
}

static void test_spill(void **state) {
  efx *f = *state;
  /* reopen with a tiny spill threshold: a txn spills every few rows */
  efx_drop_rows(f);
  EOK(floe_table_close(f->t, E));
  f->cfg.txn_spill_bytes = 600;
  efx_open(f, 1);
  eset want = {0, 0, NULL};
  for (int i = 0; i < 10; i++) {
    ins(f, 1, i, "committed", i);
    eset_add(&want, i, "committed", 1, i);
  }
  EOK(floe_commit(f->t, 1, 10, E));
  char v[32];
  for (int i = 100; i < 400; i++) {
    snprintf(v, sizeof v, "s%d", i);
    ins(f, 2, i, v, i);
  }
  /* updates and deletes of spilled rows, TOAST from a spilled row, a
   * subtransaction that inserts and deletes across spills and aborts */
  erow_set(f->r, 105, NULL, 1, -105);
  EOK(floe_row_set_unchanged(f->r, 1, E));
  EOK(floe_update(f->t, 2, 2, NULL, f->r, E));
  del(f, 2, 110);
  del(f, 2, 3);
  for (int i = 400; i < 450; i++) {
    erow_set(f->r, i, "sub", 1, i);
    EOK(floe_insert(f->t, 2, 21, f->r, E));
  }
  erow_set(f->o, 120, NULL, 0, 0);
  EOK(floe_delete(f->t, 2, 21, f->o, E));
  EOK(floe_abort(f->t, 2, 21, E));
  del(f, 2, 399);
  floe_table_stats st;
  floe_table_stats_get(f->t, &st);
  assert_true(st.open_txns == 1);
  EOK(floe_commit(f->t, 2, 20, E));
  for (int i = 100; i < 400; i++) {
    if (i == 110 || i == 399) continue;
    snprintf(v, sizeof v, "s%d", i);
    eset_add(&want, i, v, 1, i == 105 ? -105 : i);
  }
  eset_del_id(&want, 3);
  CHECK(f, &want);
  floe_table_stats_get(f->t, &st);
  assert_true(st.data_files >= 5); /* the spills became data files */
  assert_true(st.mem_rows < 100);
  /* committed spill rows are deletable through the index */
  del(f, 3, 200);
  del(f, 3, 105);
  EOK(floe_commit(f->t, 3, 30, E));
  eset_del_id(&want, 200);
  eset_del_id(&want, 105);
  CHECK(f, &want);
  EOK(floe_table_flush(f->t, E));
  CHECK(f, &want);
  efx_drop_rows(f);
  EOK(floe_table_close(f->t, E));
  efx_open(f, 1);
  CHECK(f, &want);
  del(f, 4, 300);
  EOK(floe_commit(f->t, 4, 40, E));
  eset_del_id(&want, 300);
  CHECK(f, &want);
  /* an aborted spilled txn leaves no file behind in the spill directory */
  for (int i = 1000; i < 1100; i++) ins(f, 5, i, "never", i);
  EOK(floe_abort(f->t, 5, 5, E));
  char spill[128];
  snprintf(spill, sizeof spill, "%s/.floe/public.t/spill", f->dir);
  DIR *d = opendir(spill);
  assert_non_null(d);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  assert_int_equal(n, 0);
  CHECK(f, &want);
  eset_free(&want);
}

static void test_compaction(void **state) {
  efx *f = *state;
  eset want = {0, 0, NULL};
  /* ten small files */
  for (int k = 0; k < 10; k++) {
    for (int i = 0; i < 20; i++) {
      ins(f, (uint32_t)k + 1, k * 100 + i, "c", i);
      eset_add(&want, k * 100 + i, "c", 1, i);
    }
    EOK(floe_commit(f->t, (uint32_t)k + 1, (uint64_t)(k + 1) * 10, E));
    EOK(floe_table_flush(f->t, E));
  }
  /* deletes committed to Iceberg, then more that are not yet */
  for (int k = 0; k < 10; k++) {
    del(f, 50, k * 100 + 3);
    eset_del_id(&want, k * 100 + 3);
  }
  EOK(floe_commit(f->t, 50, 500, E));
  EOK(floe_table_flush(f->t, E));
  for (int k = 0; k < 10; k += 2) {
    del(f, 51, k * 100 + 7);
    eset_del_id(&want, k * 100 + 7);
  }
  erow_set(f->r, 905, "upd", 1, -1);
  EOK(floe_update(f->t, 51, 51, NULL, f->r, E));
  eset_del_id(&want, 905);
  eset_add(&want, 905, "upd", 1, -1);
  EOK(floe_commit(f->t, 51, 510, E));
  floe_table_stats st;
  floe_table_stats_get(f->t, &st);
  assert_int_equal(st.data_files, 10);
  EOK(floe_table_compact(f->t, 1, E));
  floe_table_stats_get(f->t, &st);
  assert_int_equal(st.data_files, 1);
  assert_int_equal(st.compactions, 1);
  CHECK(f, &want);
  /* deletes resolve against the compacted file */
  del(f, 52, 101);
  eset_del_id(&want, 101);
  EOK(floe_commit(f->t, 52, 520, E));
  CHECK(f, &want);
  EOK(floe_table_flush(f->t, E));
  assert_int_equal(floe_durable_lsn(f->t), 520);
  CHECK(f, &want);
  efx_drop_rows(f);
  EOK(floe_table_close(f->t, E));
  efx_open(f, 1);
  CHECK(f, &want);
  floe_table_stats_get(f->t, &st);
  assert_int_equal(st.data_files, 2); /* compacted + the last flush */
  /* a threshold pass: nothing to do with 2 files */
  EOK(floe_table_compact(f->t, 0, E));
  CHECK(f, &want);
  eset_free(&want);
}

/* The one .tidx file name in dir (or "" when there is not exactly one). */
static void only_index(const char *dir, char *out, size_t n) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int k = 0;
  out[0] = 0;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l > 5 && !strcmp(e->d_name + l - 5, ".tidx")) {
      k++;
      snprintf(out, n, "%s", e->d_name);
    }
  }
  closedir(d);
  if (k != 1) out[0] = 0;
}

static void test_index_merge(void **state) {
  efx *f = *state;
  efx_drop_rows(f);
  EOK(floe_table_close(f->t, E));
  f->cfg.compact_interval_ms = 0;
  f->cfg.housekeeping_interval_ms = 0;
  efx_open(f, 1);
  eset want = {0, 0, NULL};
  for (int k = 0; k < 12; k++) {
    for (int i = 0; i < 5; i++) {
      ins(f, (uint32_t)k + 1, k * 10 + i, "m", i);
      eset_add(&want, k * 10 + i, "m", 1, i);
    }
    EOK(floe_commit(f->t, (uint32_t)k + 1, (uint64_t)k + 1, E));
    EOK(floe_table_flush(f->t, E));
  }
  EOK(floe_table_tick(f->t, 1, NULL, E));
  char ixdir[128], name[128], again[128];
  snprintf(ixdir, sizeof ixdir, "%s/.floe/public.t/index", f->dir);
  only_index(ixdir, name, sizeof name);
  assert_true(name[0] != 0); /* twelve indexes became one */
  for (int k = 0; k < 12; k++) {
    del(f, 100, k * 10 + k % 5);
    eset_del_id(&want, k * 10 + k % 5);
  }
  EOK(floe_commit(f->t, 100, 100, E));
  CHECK(f, &want);
  EOK(floe_table_flush(f->t, E));
  efx_drop_rows(f);
  EOK(floe_table_close(f->t, E));
  efx_open(f, 1);
  only_index(ixdir, again, sizeof again);
  assert_string_equal(name, again); /* reused, not rebuilt */
  CHECK(f, &want);
  for (int k = 0; k < 12; k++) {
    del(f, 101, k * 10 + (k + 1) % 5);
    eset_del_id(&want, k * 10 + (k + 1) % 5);
  }
  EOK(floe_commit(f->t, 101, 101, E));
  CHECK(f, &want);
  /* a lost index file is rebuilt from the data files */
  efx_drop_rows(f);
  EOK(floe_table_close(f->t, E));
  char path[300];
  snprintf(path, sizeof path, "%s/%s", ixdir, name);
  unlink(path);
  efx_open(f, 1);
  del(f, 102, 32);
  del(f, 102, 110);
  eset_del_id(&want, 32);
  eset_del_id(&want, 110);
  EOK(floe_commit(f->t, 102, 102, E));
  CHECK(f, &want);
  eset_free(&want);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_insert_commit_visible, setup_keyed,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_update_delete, setup_keyed,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_abort_subxact, setup_keyed,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_interleaved, setup_keyed, teardown),
      cmocka_unit_test_setup_teardown(test_truncate, setup_keyed, teardown),
      cmocka_unit_test_setup_teardown(test_key_change, setup_keyed, teardown),
      cmocka_unit_test_setup_teardown(test_keyless_duplicates, setup_keyless,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_toast_unchanged, setup_keyed,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_flush_deletes_commit, setup_keyed,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_crash_and_replay, setup_keyed,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_read_state_isolation, setup_keyed,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_projection, setup_keyed, teardown),
      cmocka_unit_test_setup_teardown(test_spill, setup_keyed, teardown),
      cmocka_unit_test_setup_teardown(test_compaction, setup_keyed, teardown),
      cmocka_unit_test_setup_teardown(test_index_merge, setup_keyed, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
