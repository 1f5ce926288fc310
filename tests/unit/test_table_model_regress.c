/*
 * Engine bugs found by the randomized model test (test_table_model),
 * minimized to the few public-API calls that show each one. Every test
 * names what it guards against; all go through include/floe/floe.h only.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "floe/floe.h"

#define OK(x)                                                                  \
  do {                                                                         \
    floe_error e_;                                                             \
    memset(&e_, 0, sizeof e_);                                                 \
    floe_status s_ = (x);                                                      \
    if (s_ != FLOE_OK) fail_msg("%s: %s: %s", #x, floe_strerror(s_), e_.msg);  \
  } while (0)

/* A table (id int64 key, v int64) in a fresh warehouse. */
typedef struct fx {
  char dir[64];
  floe_table *t;
  floe_row *r;
  floe_table_config cfg;
} fx;

static const floe_column COLS[] = {
    {.name = "id", .type = FLOE_INT64},
    {.name = "v", .type = FLOE_INT64, .nullable = 1},
};
static const int KEY[] = {0};

static void fx_open(fx *f) {
  floe_table_ref ref = {.catalog_uri = f->dir, .ns = "db", .name = "t"};
  OK(floe_table_open(&ref, COLS, 2, KEY, 1, &f->cfg, &f->t, &e_));
  OK(floe_row_new(f->t, &f->r, &e_));
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/floe-regress-XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  floe_table_config_init(&f->cfg);
  fx_open(f);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  floe_row_free(f->r);
  floe_table_free(f->t);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  int rc = system(cmd);
  free(f);
  return rc == 0 ? 0 : -1;
}

static void ins(fx *f, uint32_t xid, int64_t id, int64_t v) {
  floe_row_reset(f->r);
  OK(floe_row_set_int(f->r, 0, id, &e_));
  OK(floe_row_set_int(f->r, 1, v, &e_));
  OK(floe_insert(f->t, xid, xid, f->r, &e_));
}

/* durable_lsn never goes back: once a commit with no changes (or
 * floe_advance) made durable = applied, a later commit with changes must
 * not drop durable back to the last snapshot's LSN (the commits up to the
 * reported LSN are still all durable). Found by the model test (wide, seed
 * 1, step 105). */
static void test_durable_monotonic_after_empty_commit(void **state) {
  fx *f = *state;
  ins(f, 10, 1, 1);
  OK(floe_commit(f->t, 10, 100, &e_));
  OK(floe_table_flush(f->t, &e_));
  assert_int_equal(floe_durable_lsn(f->t), 100);
  OK(floe_commit(f->t, 11, 200, &e_)); /* nothing in it */
  assert_int_equal(floe_durable_lsn(f->t), 200);
  ins(f, 12, 2, 2);
  OK(floe_commit(f->t, 12, 300, &e_));
  assert_true(floe_durable_lsn(f->t) >= 200);
}

static void test_durable_monotonic_after_advance(void **state) {
  fx *f = *state;
  ins(f, 10, 1, 1);
  OK(floe_commit(f->t, 10, 100, &e_));
  OK(floe_table_flush(f->t, &e_));
  OK(floe_advance(f->t, 200, &e_));
  assert_int_equal(floe_durable_lsn(f->t), 200);
  ins(f, 12, 2, 2);
  OK(floe_commit(f->t, 12, 300, &e_));
  assert_true(floe_durable_lsn(f->t) >= 200);
}

/* A column chunk whose byte values are all empty has no value buffer, and
 * a file whose only min/max values are empty has no statistics bytes: the
 * Parquet writer must not compute NULL + 0 (UBSan) in its dictionary, its
 * min/max or its footer. A flush of rows whose only column is "" writes
 * such a file. Found by the model test under ASan+UBSan (nokey schema). */
static void test_all_empty_strings_file(void **state) {
  fx *f = *state;
  static const floe_column cols[] = {
      {.name = "s", .type = FLOE_UTF8, .nullable = 1},
  };
  floe_table_ref ref = {.catalog_uri = f->dir, .ns = "db", .name = "e"};
  floe_table *t = NULL;
  floe_row *r = NULL;
  OK(floe_table_open(&ref, cols, 1, NULL, 0, &f->cfg, &t, &e_));
  OK(floe_row_new(t, &r, &e_));
  OK(floe_row_set_bytes(r, 0, "", 0, &e_));
  OK(floe_insert(t, 10, 10, r, &e_));
  OK(floe_insert(t, 10, 10, r, &e_));
  OK(floe_commit(t, 10, 100, &e_));
  OK(floe_table_flush(t, &e_));
  floe_read_state *rs = NULL;
  OK(floe_read_state_get(t, 100, 1000, &rs, &e_));
  assert_int_equal(floe_read_state_rows(rs), 2);
  floe_read_state_release(rs);
  floe_row_free(r);
  OK(floe_table_close(t, &e_));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_durable_monotonic_after_empty_commit,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_durable_monotonic_after_advance,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_all_empty_strings_file, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
