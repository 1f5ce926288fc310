/*
 * A byte-array column whose only values are empty strings: its statistics
 * have an empty min and max, so the writer's statistics buffer holds no
 * bytes at all. The footer must still be written without pointer
 * arithmetic on that empty (NULL) buffer (UBSan in the ASan build flagged
 * NULL + 0, found by test_table_model's compaction), and read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parquet/parquet.h"

static void test_only_empty_values(void **state) {
  (void)state;
  floe_error e;
  col_dtype t;
  memset(&t, 0, sizeof t);
  t.id = COL_UTF8;
  col_field f = {1, "s", t, false, 0, false};
  col_schema *s = NULL;
  assert_int_equal(col_schema_new(&f, 1, &s, &e), FLOE_OK);
  col_batch *b = NULL;
  assert_int_equal(col_batch_new(s, &b, &e), FLOE_OK);
  for (int i = 0; i < 3; i++)
    assert_int_equal(col_append_bytes(&b->cols[0], "", 0, &e), FLOE_OK);
  b->length = 3;
  assert_int_equal(col_batch_seal(b, &e), FLOE_OK);
  for (int dict = 0; dict < 2; dict++) {
    pq_writer_opts wo;
    pq_writer_opts_default(&wo);
    if (!dict) wo.dict_max_bytes = 1; /* PLAIN */
    fbuf file = FBUF_INIT;
    pq_writer *w = NULL;
    pq_sink sink = {pq_sink_buf_write, &file};
    assert_int_equal(pq_writer_open(s, &wo, sink, &w, &e), FLOE_OK);
    assert_int_equal(pq_writer_write(w, b, &e), FLOE_OK);
    assert_int_equal(pq_writer_close(w, NULL, &e), FLOE_OK);
    pq_writer_free(w);
    pq_reader *r = NULL;
    assert_int_equal(
        pq_reader_open(pq_source_mem(file.data, file.len, "mem"), NULL, &r, &e),
        FLOE_OK);
    col_batch *got = NULL;
    assert_int_equal(pq_reader_next(r, &got, &e), FLOE_OK);
    assert_non_null(got);
    assert_int_equal(got->length, 3);
    size_t n = 1;
    (void)col_get_bytes(&got->cols[0], 2, &n);
    assert_int_equal(n, 0);
    col_batch_free(got);
    pq_reader_free(r);
    fbuf_free(&file);
  }
  col_batch_free(b);
  col_schema_unref(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_only_empty_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
