/* Thrift compact protocol decoder: field headers, every type, skipping,
 * and the bounds that keep hostile input from costing memory or stack. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "parquet/thrift_read.h"

static void test_fields_and_values(void **state) {
  (void)state;
  /* struct { 1: i32 -3; 2: bool true; 5: i64 300; 3: binary "ab";
   *          20: double 1.5 (long form); 21: bool false } */
  uint8_t b[] = {0x15, 0x05,                 /* id 1 (delta 1), i32 zigzag 5 */
                 0x11,                       /* id 2, TRUE */
                 0x36, 0xd8, 0x04,           /* id 5 (delta 3), i64 300 */
                 0x08, 0x06, 2,    'a', 'b', /* id 3 (long form), binary */
                 0x07, 0x28, 0,    0,   0,   0, 0, 0, 0xf8, 0x3f, /* id 20 */
                 0x12, /* id 21 (delta 1), FALSE */
                 0x00};
  tc_reader t;
  floe_error e;
  tc_reader_init(&t, b, sizeof b, "test", 100);
  assert_int_equal(tc_read_struct_begin(&t, &e), FLOE_OK);
  int16_t last = 0, id;
  int ty;
  int32_t i32;
  int64_t i64;
  bool bv;
  const uint8_t *p;
  size_t n;
  double d;
  assert_int_equal(tc_read_field(&t, &last, &ty, &id, &e), FLOE_OK);
  assert_int_equal(id, 1);
  assert_int_equal(tc_read_i32(&t, ty, &i32, &e), FLOE_OK);
  assert_int_equal(i32, -3);
  assert_int_equal(tc_read_field(&t, &last, &ty, &id, &e), FLOE_OK);
  assert_int_equal(id, 2);
  assert_int_equal(tc_read_bool(&t, ty, &bv, &e), FLOE_OK);
  assert_true(bv);
  assert_int_equal(tc_read_field(&t, &last, &ty, &id, &e), FLOE_OK);
  assert_int_equal(id, 5);
  /* an i64 field read as i32 is a type error */
  assert_int_equal(tc_read_i32(&t, ty, &i32, &e), FLOE_ECORRUPT);
  assert_int_equal(tc_read_i64(&t, ty, &i64, &e), FLOE_OK);
  assert_int_equal(i64, 300);
  assert_int_equal(tc_read_field(&t, &last, &ty, &id, &e), FLOE_OK);
  assert_int_equal(id, 3);
  assert_int_equal(tc_read_binary(&t, ty, &p, &n, &e), FLOE_OK);
  assert_int_equal(n, 2);
  assert_memory_equal(p, "ab", 2);
  assert_int_equal(tc_read_field(&t, &last, &ty, &id, &e), FLOE_OK);
  assert_int_equal(id, 20);
  assert_int_equal(tc_read_double(&t, ty, &d, &e), FLOE_OK);
  assert_true(d == 1.5);
  assert_int_equal(tc_read_field(&t, &last, &ty, &id, &e), FLOE_OK);
  assert_int_equal(id, 21);
  assert_int_equal(tc_read_bool(&t, ty, &bv, &e), FLOE_OK);
  assert_false(bv);
  assert_int_equal(tc_read_field(&t, &last, &ty, &id, &e), FLOE_OK);
  assert_int_equal(ty, TC_STOP);
  tc_read_struct_end(&t);
  assert_int_equal(fcur_end(&t.c, &e), FLOE_OK);
}

static void test_skip_every_type(void **state) {
  (void)state;
  /* one struct holding: list<i32>[3], set<binary>[1], map<i32,struct>[1],
   * nested struct with a bool, byte, i16, double, list of 20 bools
   * (varint size), list<struct{}>[2] */
  uint8_t b[] = {
      0x19, 0x35, 2,    4,   6,       /* 1: list<i32> */
      0x1a, 0x18, 1,    'x',          /* 2: set<binary> */
      0x1b, 1,    0x5c, 2,   0x00,    /* 3: map<i32,struct> */
      0x1c, 0x11, 0x13, 7,   0x14, 3, /* 4: struct{bool,byte,i16} */
      0x17, 0,    0,    0,   0,    0, 0, 0, 0, 0x00, /*   double, STOP */
      0x19, 0xf1, 20,   1,   0,    1, 0, 1, 0, 1,    0, 1,
      0,    1,    0,    1,   0,    1, 0, 1, 0, 1,    0, /* 5: 20 bools */
      0x19, 0x2c, 0,    0,                              /* 6: list<struct{}> */
      0x00};
  tc_reader t;
  floe_error e;
  tc_reader_init(&t, b, sizeof b, "test", 0);
  assert_int_equal(tc_read_skip(&t, TC_STRUCT, &e), FLOE_OK);
  assert_int_equal(fcur_end(&t.c, &e), FLOE_OK);
  assert_int_equal(t.depth, 0);
}

static void test_hostile(void **state) {
  (void)state;
  floe_error e;
  tc_reader t;
  /* a list claiming more elements than bytes */
  uint8_t l[] = {0xf5, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2};
  tc_reader_init(&t, l, sizeof l, "footer", 1000);
  int et;
  uint32_t cnt;
  assert_int_equal(tc_read_list(&t, TC_LIST, &et, &cnt, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "footer at offset 1006"));
  /* a string longer than the input */
  uint8_t s[] = {0x10, 'a'};
  tc_reader_init(&t, s, sizeof s, "footer", 0);
  const uint8_t *p;
  size_t n;
  assert_int_equal(tc_read_binary(&t, TC_BINARY, &p, &n, &e), FLOE_ECORRUPT);
  /* deep nesting: a struct in a struct in ... */
  uint8_t deep[200];
  memset(deep, 0x1c, sizeof deep); /* field 1, type struct, forever */
  tc_reader_init(&t, deep, sizeof deep, "footer", 0);
  assert_int_equal(tc_read_skip(&t, TC_STRUCT, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "nested deeper"));
  /* nested lists too */
  memset(deep, 0x19, sizeof deep);
  tc_reader_init(&t, deep, sizeof deep, "footer", 0);
  assert_int_equal(tc_read_skip(&t, TC_LIST, &e), FLOE_ECORRUPT);
  /* i32 out of range, bad type nibble, truncated varint */
  uint8_t big[] = {0x80, 0x80, 0x80, 0x80, 0x20};
  tc_reader_init(&t, big, sizeof big, "x", 0);
  int32_t v;
  assert_int_equal(tc_read_i32(&t, TC_I32, &v, &e), FLOE_ECORRUPT);
  uint8_t badt[] = {0x1d};
  tc_reader_init(&t, badt, sizeof badt, "x", 0);
  int16_t last = 0, id;
  int ty;
  assert_int_equal(tc_read_field(&t, &last, &ty, &id, &e), FLOE_ECORRUPT);
  uint8_t trunc[] = {0x15, 0x80};
  tc_reader_init(&t, trunc, sizeof trunc, "x", 0);
  assert_int_equal(tc_read_skip(&t, TC_STRUCT, &e), FLOE_ECORRUPT);
  /* map with more entries than bytes */
  uint8_t m[] = {0x7f, 0x55, 1, 2};
  tc_reader_init(&t, m, sizeof m, "x", 0);
  assert_int_equal(tc_read_skip(&t, TC_MAP, &e), FLOE_ECORRUPT);
  /* every truncation of a valid struct fails cleanly */
  uint8_t ok[] = {0x19, 0x35, 2, 4, 6, 0x1c, 0x11, 0x13, 7, 0x00, 0x00};
  for (size_t k = 0; k < sizeof ok; k++) {
    tc_reader_init(&t, ok, k, "x", 0);
    assert_int_equal(tc_read_skip(&t, TC_STRUCT, &e), FLOE_ECORRUPT);
  }
  tc_reader_init(&t, ok, sizeof ok, "x", 0);
  assert_int_equal(tc_read_skip(&t, TC_STRUCT, &e), FLOE_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fields_and_values),
      cmocka_unit_test(test_skip_every_type),
      cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
