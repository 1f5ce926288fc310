/*
 * floe_row and the small public helpers: every column type set, inserted,
 * flushed to Parquet and read back byte-exact through the Arrow stream
 * (from memory and from the data file); setter type and range checks,
 * lists with FLOE_ELEM, NOT NULL; LSN text; config defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_util.h"

static const floe_column ALL[] = {
    {"k", FLOE_INT64, 0, 0, FLOE_BOOL, 0, 0, 0, NULL},
    {"b", FLOE_BOOL, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"i16", FLOE_INT16, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"i32", FLOE_INT32, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"f32", FLOE_FLOAT32, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"f64", FLOE_FLOAT64, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"dec", FLOE_DECIMAL, 10, 2, FLOE_BOOL, 0, 0, 1, NULL},
    {"s", FLOE_UTF8, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"bin", FLOE_BINARY, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"d", FLOE_DATE, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"tm", FLOE_TIME, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"ts", FLOE_TIMESTAMP, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"tz", FLOE_TIMESTAMPTZ, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"u", FLOE_UUID, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"l", FLOE_LIST, 0, 0, FLOE_INT32, 0, 0, 1, NULL},
    {"nn", FLOE_INT32, 0, 0, FLOE_BOOL, 0, 0, 0, NULL},
};
#define NALL ((int)(sizeof ALL / sizeof ALL[0]))

static void fill(floe_row *r, int64_t k) {
  floe_row_reset(r);
  EOK(floe_row_set_int(r, 0, k, E));
  EOK(floe_row_set_bool(r, 1, (int)(k & 1), E));
  EOK(floe_row_set_int(r, 2, -(int16_t)k, E));
  EOK(floe_row_set_int(r, 3, (int32_t)k * 1000, E));
  EOK(floe_row_set_float(r, 4, 1.5 * (double)k, E));
  EOK(floe_row_set_float(r, 5, -0.25 * (double)k, E));
  EOK(floe_row_set_decimal(r, 6, (uint64_t)(k * 101), k < 0 ? -1 : 0, E));
  char s[32];
  snprintf(s, sizeof s, "row-%lld", (long long)k);
  EOK(floe_row_set_bytes(r, 7, s, strlen(s), E));
  uint8_t bin[3] = {0, (uint8_t)k, 0xff};
  EOK(floe_row_set_bytes(r, 8, bin, 3, E));
  EOK(floe_row_set_int(r, 9, 19000 + k, E));
  EOK(floe_row_set_int(r, 10, k * 1000000, E));
  EOK(floe_row_set_int(r, 11, 1700000000000000LL + k, E));
  EOK(floe_row_set_int(r, 12, 1700000000000001LL + k, E));
  uint8_t u[16];
  for (int i = 0; i < 16; i++) u[i] = (uint8_t)(k + i);
  EOK(floe_row_set_bytes(r, 13, u, 16, E));
  if (k % 3 == 0) {
    EOK(floe_row_set_null(r, 14, E));
  } else {
    EOK(floe_row_list_begin(r, 14, E));
    for (int i = 0; i < (int)(k % 3); i++)
      EOK(floe_row_set_int(r, FLOE_ELEM, k + i, E));
    EOK(floe_row_set_null(r, FLOE_ELEM, E));
    EOK(floe_row_list_end(r, E));
  }
  EOK(floe_row_set_int(r, 15, 7, E));
}

/* Checks row i of the stream batch a against fill(k). */
static void check(const struct ArrowArray *a, int64_t i) {
  struct ArrowArray **c = a->children;
  int64_t k = ((const int64_t *)c[0]->buffers[1])[i];
  assert_int_equal(abit(c[1]->buffers[1], i), (int)(k & 1));
  assert_int_equal(((const int32_t *)c[2]->buffers[1])[i], -(int16_t)k);
  assert_int_equal(((const int32_t *)c[3]->buffers[1])[i], (int32_t)k * 1000);
  assert_true(((const float *)c[4]->buffers[1])[i] == (float)(1.5 * (double)k));
  assert_true(((const double *)c[5]->buffers[1])[i] == -0.25 * (double)k);
  const uint64_t *dec = (const uint64_t *)c[6]->buffers[1] + 2 * i;
  assert_int_equal(dec[0], (uint64_t)(k * 101));
  assert_int_equal(dec[1], 0);
  char s[32];
  snprintf(s, sizeof s, "row-%lld", (long long)k);
  const int32_t *o = c[7]->buffers[1];
  assert_int_equal(o[i + 1] - o[i], (int)strlen(s));
  assert_memory_equal((const char *)c[7]->buffers[2] + o[i], s, strlen(s));
  o = c[8]->buffers[1];
  uint8_t bin[3] = {0, (uint8_t)k, 0xff};
  assert_int_equal(o[i + 1] - o[i], 3);
  assert_memory_equal((const uint8_t *)c[8]->buffers[2] + o[i], bin, 3);
  assert_int_equal(((const int32_t *)c[9]->buffers[1])[i], 19000 + k);
  assert_int_equal(((const int64_t *)c[10]->buffers[1])[i], k * 1000000);
  assert_int_equal(((const int64_t *)c[11]->buffers[1])[i],
                   1700000000000000LL + k);
  assert_int_equal(((const int64_t *)c[12]->buffers[1])[i],
                   1700000000000001LL + k);
  const uint8_t *u = (const uint8_t *)c[13]->buffers[1] + 16 * i;
  for (int j = 0; j < 16; j++) assert_int_equal(u[j], (uint8_t)(k + j));
  if (k % 3 == 0) {
    assert_false(abit(c[14]->buffers[0], i));
  } else {
    assert_true(abit(c[14]->buffers[0], i));
    o = c[14]->buffers[1];
    int n = (int)(k % 3);
    assert_int_equal(o[i + 1] - o[i], n + 1);
    const struct ArrowArray *el = c[14]->children[0];
    for (int j = 0; j < n; j++) {
      assert_true(abit(el->buffers[0], o[i] + j));
      assert_int_equal(((const int32_t *)el->buffers[1])[o[i] + j], k + j);
    }
    assert_false(abit(el->buffers[0], o[i] + n));
  }
  assert_int_equal(((const int32_t *)c[15]->buffers[1])[i], 7);
}

static int64_t scan_check(floe_table *t) {
  floe_read_state *rs = NULL;
  EOK(floe_read_state_get(t, 0, 0, &rs, E));
  struct ArrowArrayStream st;
  EOK(floe_scan(rs, NULL, 0, &st, E));
  struct ArrowSchema sc;
  assert_int_equal(st.get_schema(&st, &sc), 0);
  assert_int_equal(sc.n_children, NALL);
  assert_string_equal(sc.children[6]->format, "d:10,2");
  sc.release(&sc);
  int64_t n = 0;
  struct ArrowArray a;
  for (;;) {
    memset(&a, 0, sizeof a);
    assert_int_equal(st.get_next(&st, &a), 0);
    if (!a.release) break;
    assert_int_equal(a.n_children, NALL);
    for (int64_t i = 0; i < a.length; i++) check(&a, i);
    n += a.length;
    a.release(&a);
  }
  st.release(&st);
  floe_read_state_release(rs);
  return n;
}

static void test_all_types(void **state) {
  (void)state;
  char dir[64] = "/tmp/floe-row-XXXXXX";
  assert_non_null(mkdtemp(dir));
  floe_table_ref ref = {dir, NULL, NULL, "public", "all"};
  floe_table_config cfg;
  floe_table_config_init(&cfg);
  cfg.batch_rows = 16;
  int key = 0;
  floe_table *t = NULL;
  EOK(floe_table_open(&ref, ALL, NALL, &key, 1, &cfg, &t, E));
  floe_row *r = NULL;
  EOK(floe_row_new(t, &r, E));
  for (int64_t k = 0; k < 40; k++) {
    fill(r, k);
    EOK(floe_insert(t, 1, 1, r, E));
  }
  EOK(floe_commit(t, 1, 1, E));
  assert_int_equal(scan_check(t), 40);
  EOK(floe_table_flush(t, E));
  for (int64_t k = 40; k < 50; k++) {
    fill(r, k);
    EOK(floe_insert(t, 2, 2, r, E));
  }
  EOK(floe_commit(t, 2, 2, E));
  assert_int_equal(scan_check(t), 50); /* file + memory */

  /* setter checks */
  floe_error e;
  floe_row_reset(r);
  const floe_column *cols = NULL;
  floe_table_columns(t, &cols);
  assert_int_equal(cols[2].type, FLOE_INT32); /* Iceberg's int */
  assert_int_equal(floe_row_set_int(r, 2, (int64_t)1 << 32, &e), FLOE_ERANGE);
  assert_int_equal(floe_row_set_int(r, 3, (int64_t)1 << 40, &e), FLOE_ERANGE);
  assert_int_equal(floe_row_set_int(r, 10, -1, &e), FLOE_ERANGE);
  assert_int_equal(floe_row_set_bool(r, 3, 1, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_float(r, 3, 1, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_bytes(r, 3, "x", 1, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_bytes(r, 13, "short", 5, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_bytes(r, 7, "\xff\xfe", 2, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_decimal(r, 6, 10000000000ULL, 0, &e),
                   FLOE_ERANGE);
  assert_int_equal(floe_row_set_int(r, NALL, 1, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_int(r, FLOE_ELEM, 1, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_list_end(r, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_null(r, 15, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_list_begin(r, 3, &e), FLOE_EINVAL);
  EOK(floe_row_set_int(r, 0, 99, E));
  EOK(floe_row_list_begin(r, 14, E));
  assert_int_equal(floe_row_set_int(r, 3, 1, &e), FLOE_EINVAL);
  assert_int_equal(floe_row_set_bytes(r, FLOE_ELEM, "x", 1, &e), FLOE_EINVAL);
  /* an open list, a missing NOT NULL value: the row is refused */
  assert_int_equal(floe_insert(t, 3, 3, r, &e), FLOE_EINVAL);
  EOK(floe_row_list_end(r, E));
  assert_int_equal(floe_insert(t, 3, 3, r, &e), FLOE_EINVAL); /* nn unset */
  EOK(floe_row_set_int(r, 15, 1, E));
  EOK(floe_insert(t, 3, 3, r, E));
  /* a key-less delete of a row that is not there fails at commit */
  floe_row_reset(r);
  assert_int_equal(floe_delete(t, 4, 4, r, &e), FLOE_EINVAL); /* no key */
  floe_row_free(r);
  EOK(floe_table_close(t, E));
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_lsn_and_config(void **state) {
  (void)state;
  char buf[24];
  assert_string_equal(floe_lsn_format(0, buf), "0/0");
  assert_string_equal(floe_lsn_format(((uint64_t)0x16 << 32) | 0xB374D848, buf),
                      "16/B374D848");
  assert_string_equal(floe_lsn_format(UINT64_MAX, buf), "FFFFFFFF/FFFFFFFF");
  uint64_t v = 0;
  EOK(floe_lsn_parse("16/B374D848", &v, E));
  assert_int_equal(v, ((uint64_t)0x16 << 32) | 0xB374D848);
  EOK(floe_lsn_parse("ffffffff/ffffffff", &v, E));
  assert_int_equal(v, UINT64_MAX);
  floe_error e;
  const char *bad[] = {"",    "/",    "1/",  "/1", "1/2/3", "123456789/0",
                       "g/1", "1 /2", "1/2 "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(floe_lsn_parse(bad[i], &v, &e), FLOE_EINVAL);
  floe_table_config c;
  floe_table_config_init(&c);
  assert_int_equal(c.batch_rows, 4096);
  assert_int_equal(c.flush_rows, 1000000);
  assert_int_equal(c.flush_bytes, 64 << 20);
  assert_int_equal(c.commit_interval_ms, 1000);
  assert_int_equal(c.memory_limit, 256 << 20);
  assert_int_equal(c.txn_spill_bytes, 16 << 20);
  assert_int_equal(c.keep_snapshots, 100);
  assert_int_equal(c.snapshot_max_age_ms, 3600000);
  assert_int_equal(c.orphan_age_ms, 3600000);
  assert_int_equal(c.housekeeping_interval_ms, 600000);
  assert_int_equal(c.target_file_bytes, 128 << 20);
  assert_int_equal(c.compact_min_files, 8);
  assert_true(c.compact_delete_fraction == 0.2);
  assert_int_equal(c.compact_interval_ms, 10000);
  assert_null(c.state_dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_types),
      cmocka_unit_test(test_lsn_and_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
