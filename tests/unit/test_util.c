/* Unit tests for src/util: errors, buffers, cursor, arena, hashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/log.h"

static void test_error_set_and_prefix(void **state) {
  (void)state;
  floe_error e;
  ferr_clear(&e);
  assert_int_equal(e.code, FLOE_OK);
  assert_int_equal(ferr_set(&e, FLOE_EINVAL, "bad %d", 7), FLOE_EINVAL);
  assert_string_equal(e.msg, "bad 7");
  ferr_prefix(&e, e.code, "file %s", "x.parquet");
  assert_string_equal(e.msg, "file x.parquet: bad 7");
  assert_int_equal(ferr_set(NULL, FLOE_EIO, "ignored"), FLOE_EIO);
  assert_string_equal(floe_strerror(FLOE_ECORRUPT), "corrupt data");
  assert_int_equal(floe_version(), FLOE_VERSION_NUMBER);
}

static void test_buf_growth(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  for (uint32_t i = 0; i < 100000; i++)
    assert_int_equal(fbuf_put_le32(&b, i, NULL), FLOE_OK);
  assert_int_equal(b.len, 400000);
  assert_int_equal(fle32(b.data + 4 * 99999), 99999);
  assert_int_equal(fbuf_printf(&b, NULL, "%s-%d", "x", 5), FLOE_OK);
  assert_memory_equal(b.data + 400000, "x-5", 3);
  uint8_t *p = fbuf_take(&b);
  assert_null(b.data);
  free(p);
  fbuf_free(&b);
}

static void test_cursor_bounds(void **state) {
  (void)state;
  uint8_t data[] = {0x96, 0x01, 0xff, 0xff, 0xff, 0xff, 1, 2, 3};
  fcur c = fcur_make(data, sizeof data, "test", 100);
  uint64_t v;
  floe_error e;
  assert_int_equal(fcur_uvarint(&c, &v, &e), FLOE_OK);
  assert_int_equal(v, 150);
  uint32_t u;
  assert_int_equal(fcur_le32(&c, &u, &e), FLOE_OK);
  assert_int_equal(u, 0xffffffffu);
  const uint8_t *p;
  assert_int_equal(fcur_bytes(&c, 4, &p, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "test at offset 106"));
  assert_int_equal(fcur_bytes(&c, 3, &p, &e), FLOE_OK);
  assert_int_equal(fcur_end(&c, &e), FLOE_OK);
  /* a varint that never ends */
  uint8_t bad[11];
  memset(bad, 0xff, sizeof bad);
  fcur d = fcur_make(bad, sizeof bad, "v", 0);
  assert_int_equal(fcur_uvarint(&d, &v, &e), FLOE_ECORRUPT);
  /* SIZE_MAX length never wraps */
  fcur f = fcur_make(data, sizeof data, "w", 0);
  f.pos = 2;
  assert_int_equal(fcur_skip(&f, SIZE_MAX, &e), FLOE_ECORRUPT);
}

static void test_arena(void **state) {
  (void)state;
  farena a;
  farena_init(&a, 1024, 8192);
  char *s = farena_strdup(&a, "hello", NULL);
  assert_string_equal(s, "hello");
  for (int i = 0; i < 5; i++) {
    void *p = farena_alloc(&a, 1000, NULL);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 16, 0);
  }
  floe_error e;
  assert_null(farena_alloc(&a, 100000, &e));
  assert_int_equal(e.code, FLOE_ENOMEM);
  farena_reset(&a);
  assert_true(a.total <= 1024);
  assert_non_null(farena_alloc(&a, 10, NULL));
  farena_free(&a);
}

static void test_hashes(void **state) {
  (void)state;
  /* crc32 of "123456789" is the standard check value */
  assert_int_equal(fcrc32(0, "123456789", 9), 0xCBF43926u);
  assert_int_equal(fhash64("abc", 3), fhash64("abc", 3));
  assert_int_not_equal(fhash64("abc", 3), fhash64("abd", 3));
  assert_int_not_equal(fhash_u64(1), fhash_u64(2));
  assert_int_equal(flog_level_parse("warn"), FLOG_WARN);
  assert_int_equal(flog_level_parse("nope"), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_set_and_prefix),
      cmocka_unit_test(test_buf_growth),
      cmocka_unit_test(test_cursor_bounds),
      cmocka_unit_test(test_arena),
      cmocka_unit_test(test_hashes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
