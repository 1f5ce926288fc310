/*
 * durable_lsn across a clean close and reopen when floe_advance or commits
 * with nothing for the table moved it past the last snapshot's LSN
 * (state_dir/durable-lsn), and never past what the current snapshot holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_util.h"

static void reopen(efx *f) {
  efx_drop_rows(f);
  EOK(floe_table_close(f->t, E));
  f->t = NULL;
  efx_open(f, 1);
}

/* A crash: no close. */
static void crash(efx *f) {
  efx_drop_rows(f);
  floe_table_free(f->t);
  f->t = NULL;
  efx_open(f, 1);
}

static void insert(efx *f, uint32_t xid, int64_t id, uint64_t lsn) {
  erow_set(f->r, id, "x", 1, (int32_t)id);
  EOK(floe_insert(f->t, xid, xid, f->r, E));
  EOK(floe_commit(f->t, xid, lsn, E));
}

static void want_rows(efx *f, int64_t n) {
  floe_read_state *rs = NULL;
  EOK(floe_read_state_get(f->t, 0, 0, &rs, E));
  assert_int_equal(floe_read_state_rows(rs), n);
  floe_read_state_release(rs);
}

static void test_advance_survives_close(void **state) {
  efx *f = *state;
  insert(f, 10, 1, 100);
  EOK(floe_table_flush(f->t, E)); /* snapshot at 100 */
  EOK(floe_advance(f->t, 200, E));
  /* an empty commit moves it too */
  EOK(floe_commit(f->t, 11, 250, E));
  assert_int_equal(floe_durable_lsn(f->t), 250);
  reopen(f);
  assert_int_equal(floe_durable_lsn(f->t), 250);
  assert_int_equal(floe_applied_lsn(f->t), 250);
  /* a reader of 250 need not wait for the next advance */
  floe_read_state *rs = NULL;
  EOK(floe_read_state_get(f->t, 250, 0, &rs, E));
  assert_int_equal(floe_read_state_rows(rs), 1);
  floe_read_state_release(rs);
  /* a replay of what is below it is skipped */
  insert(f, 12, 2, 240);
  want_rows(f, 1);

  /* a crash after a close: the record still holds (same snapshot) */
  crash(f);
  assert_int_equal(floe_durable_lsn(f->t), 250);

  /* a later snapshot carries its own LSN; the record of the old one is
   * ignored even after a crash that loses a later advance */
  insert(f, 13, 3, 300);
  EOK(floe_table_flush(f->t, E));
  EOK(floe_advance(f->t, 400, E));
  crash(f);
  assert_int_equal(floe_durable_lsn(f->t), 300);
  want_rows(f, 2);

  /* a close whose commit carries the LSN leaves no record behind */
  insert(f, 14, 4, 500);
  reopen(f);
  assert_int_equal(floe_durable_lsn(f->t), 500);
  char path[256];
  snprintf(path, sizeof path, "%s/.floe/public.t/durable-lsn", f->dir);
  assert_int_not_equal(access(path, F_OK), 0);
  want_rows(f, 3);
}

static void test_record_of_other_snapshot_ignored(void **state) {
  efx *f = *state;
  insert(f, 10, 1, 100);
  EOK(floe_table_flush(f->t, E));
  EOK(floe_advance(f->t, 150, E));
  reopen(f);
  assert_int_equal(floe_durable_lsn(f->t), 150);
  char path[256];
  snprintf(path, sizeof path, "%s/.floe/public.t/durable-lsn", f->dir);
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  char uuid[64];
  long long snap = 0;
  unsigned long long lsn = 0;
  assert_int_equal(fscanf(fp, "%63s %lld %llu", uuid, &snap, &lsn), 3);
  fclose(fp);
  assert_int_equal(lsn, 150);
  /* the same LSN claimed for another snapshot, or by another table: not
   * believed */
  for (int k = 0; k < 2; k++) {
    fp = fopen(path, "w");
    assert_non_null(fp);
    if (k == 0)
      fprintf(fp, "%s %lld 999\n", uuid, snap + 1);
    else
      fprintf(fp, "00000000-0000-0000-0000-000000000000 %lld 999\n", snap);
    fclose(fp);
    crash(f);
    assert_int_equal(floe_durable_lsn(f->t), 100);
  }
  /* garbage: ignored */
  fp = fopen(path, "w");
  assert_non_null(fp);
  fputs("not a record\n", fp);
  fclose(fp);
  crash(f);
  assert_int_equal(floe_durable_lsn(f->t), 100);
  want_rows(f, 1);
}

static int setup(void **state) {
  *state = efx_new(1);
  return 0;
}

static int teardown(void **state) {
  efx_free(*state);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_advance_survives_close, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_record_of_other_snapshot_ignored,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
