/* Unit tests for src/iceberg/partition: Appendix B hashes, transforms,
 * Appendix D values and their ordering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iceberg/partition.h"

static ice_transform tr(ice_transform_kind k, int32_t param) {
  ice_transform t = {k, param, NULL};
  return t;
}

static col_column col(col_type t) {
  col_column c;
  col_dtype d = {.id = t};
  if (t == COL_DECIMAL) {
    d.precision = 9;
    d.scale = 2;
  }
  assert_int_equal(col_init(&c, d, NULL), FLOE_OK);
  return c;
}

static col_column col_i64(col_type t, int64_t v) {
  col_column c = col(t);
  assert_int_equal(col_append_i64(&c, v, NULL), FLOE_OK);
  return c;
}

static col_column col_i32(col_type t, int32_t v) {
  col_column c = col(t);
  assert_int_equal(col_append_i32(&c, v, NULL), FLOE_OK);
  return c;
}

static col_column col_bytes(col_type t, const void *p, size_t n) {
  col_column c = col(t);
  assert_int_equal(col_append_bytes(&c, p, n, NULL), FLOE_OK);
  return c;
}

static col_column col_dec(int64_t unscaled) {
  col_column c = col(COL_DECIMAL);
  assert_int_equal(
      col_append_dec(&c, (uint64_t)unscaled, unscaled < 0 ? -1 : 0, NULL),
      FLOE_OK);
  return c;
}

static int32_t hash_of(col_column c) {
  int32_t h;
  floe_error e;
  assert_int_equal(ice_value_hash(&c, 0, &h, &e), FLOE_OK);
  col_free(&c);
  return h;
}

#define TS_2017_11_16_223108 INT64_C(1510871468000000)

static const uint8_t uuid_bytes[16] = {0xF7, 0x9C, 0x3E, 0x09, 0x67, 0x7C,
                                       0x4B, 0xBD, 0xA4, 0x79, 0x3F, 0x34,
                                       0x9C, 0xB7, 0x85, 0xE7};

/* Every test value of the spec's Appendix B table. */
static void test_appendix_b_hashes(void **state) {
  (void)state;
  assert_int_equal(hash_of(col_i32(COL_INT32, 34)), 2017239379);
  assert_int_equal(hash_of(col_i64(COL_INT64, 34)), 2017239379);
  col_column i16 = col(COL_INT16);
  assert_int_equal(col_append_i16(&i16, 34, NULL), FLOE_OK);
  assert_int_equal(hash_of(i16), 2017239379);
  assert_int_equal(hash_of(col_dec(1420)), -500754589); /* 14.20 */
  assert_int_equal(hash_of(col_i32(COL_DATE, 17486)), -653330422);
  assert_int_equal(hash_of(col_i64(COL_TIME, INT64_C(81068000000))),
                   -662762989);
  assert_int_equal(hash_of(col_i64(COL_TIMESTAMP, TS_2017_11_16_223108)),
                   -2047944441);
  assert_int_equal(hash_of(col_i64(COL_TIMESTAMP, TS_2017_11_16_223108 + 1)),
                   -1207196810);
  assert_int_equal(hash_of(col_i64(COL_TIMESTAMPTZ, TS_2017_11_16_223108)),
                   -2047944441);
  assert_int_equal(hash_of(col_i64(COL_TIMESTAMPTZ, TS_2017_11_16_223108 + 1)),
                   -1207196810);
  assert_int_equal(hash_of(col_bytes(COL_UTF8, "iceberg", 7)), 1210000089);
  col_column u = col(COL_UUID);
  assert_int_equal(col_append_uuid(&u, uuid_bytes, NULL), FLOE_OK);
  assert_int_equal(hash_of(u), 1488055340);
  static const uint8_t bin[4] = {0, 1, 2, 3};
  assert_int_equal(hash_of(col_bytes(COL_BINARY, bin, 4)), -188683207);
  /* the non-bucketable types' table (hashLong of the double's bits) */
  double one = 1.0;
  int64_t bits;
  memcpy(&bits, &one, 8);
  assert_int_equal(ice_hash_long(bits), -142385009);
  assert_int_equal(ice_hash_long(0), 1669671676);
  assert_int_equal(ice_hash_long(1), 1392991556); /* true as hashInt(1) */
  /* ...which bucket refuses */
  col_column f = col(COL_FLOAT64);
  assert_int_equal(col_append_f64(&f, 1.0, NULL), FLOE_OK);
  int32_t h;
  floe_error e;
  assert_int_equal(ice_value_hash(&f, 0, &h, &e), FLOE_EINVAL);
  col_free(&f);
  /* murmur3 tails of every length */
  assert_int_equal(ice_murmur3_32("", 0, 0), 0);
  assert_int_equal(ice_murmur3_32("a", 1, 0), 0x3c2569b2u);
  assert_int_equal(ice_murmur3_32("ab", 2, 0), 0x9bbfd75fu);
  assert_int_equal(ice_murmur3_32("abc", 3, 0), 0xb3dd93fau);
  assert_int_equal(ice_murmur3_32("abcd", 4, 0), 0x43ed676au);
}

/* Applies t to row 0 of c and returns the bytes (caller frees). */
static ice_pvalue apply(ice_transform t, const col_column *c) {
  ice_pvalue v = {false, FBUF_INIT};
  floe_error e;
  assert_int_equal(ice_transform_apply(&t, c, 0, &v, &e), FLOE_OK);
  return v;
}

static int32_t apply_i32(ice_transform t, const col_column *c) {
  ice_pvalue v = apply(t, c);
  assert_false(v.is_null);
  assert_int_equal(v.bytes.len, 4);
  int32_t r = (int32_t)fle32(v.bytes.data);
  fbuf_free(&v.bytes);
  return r;
}

static int64_t apply_i64(ice_transform t, const col_column *c) {
  ice_pvalue v = apply(t, c);
  assert_false(v.is_null);
  assert_int_equal(v.bytes.len, 8);
  int64_t r = (int64_t)fle64(v.bytes.data);
  fbuf_free(&v.bytes);
  return r;
}

static void expect_bytes(ice_transform t, const col_column *c, const void *want,
                         size_t n) {
  ice_pvalue v = apply(t, c);
  assert_false(v.is_null);
  assert_int_equal(v.bytes.len, n);
  if (n) assert_memory_equal(v.bytes.data, want, n);
  fbuf_free(&v.bytes);
}

static void time_parts(col_column c, int32_t y, int32_t m, int32_t d,
                       int32_t h) {
  assert_int_equal(apply_i32(tr(ICE_T_YEAR, 0), &c), y);
  assert_int_equal(apply_i32(tr(ICE_T_MONTH, 0), &c), m);
  assert_int_equal(apply_i32(tr(ICE_T_DAY, 0), &c), d);
  if (c.type.id != COL_DATE)
    assert_int_equal(apply_i32(tr(ICE_T_HOUR, 0), &c), h);
  col_free(&c);
}

static void test_time_transforms(void **state) {
  (void)state;
  time_parts(col_i32(COL_DATE, 0), 0, 0, 0, 0);
  time_parts(col_i32(COL_DATE, 17486), 47, 47 * 12 + 10, 17486, 0);
  /* before 1970: floor, not truncation toward zero */
  time_parts(col_i32(COL_DATE, -1), -1, -1, -1, 0);
  time_parts(col_i32(COL_DATE, -672), -2, -23, -672, 0); /* 1968-02-29 */
  time_parts(col_i32(COL_DATE, -719162), -1969, -1969 * 12, -719162, 0);
  time_parts(col_i32(COL_DATE, 2932896), 8029, 8029 * 12 + 11, 2932896, 0);
  time_parts(col_i64(COL_TIMESTAMP, TS_2017_11_16_223108), 47, 574, 17486,
             419686);
  time_parts(col_i64(COL_TIMESTAMPTZ, -1), -1, -1, -1, -1);
  time_parts(col_i64(COL_TIMESTAMP, -INT64_C(3600000000)), -1, -1, -1, -1);
  time_parts(col_i64(COL_TIMESTAMP, -INT64_C(3600000001)), -1, -1, -1, -2);
  time_parts(col_i64(COL_TIMESTAMP, -INT64_C(86400000000)), -1, -1, -1, -24);
  time_parts(col_i64(COL_TIMESTAMP, -INT64_C(86400000001)), -1, -1, -2, -25);
  /* extremes do not overflow into UB (hour wraps like Java's (int)) */
  col_column c = col_i64(COL_TIMESTAMP, INT64_MIN);
  (void)apply_i32(tr(ICE_T_YEAR, 0), &c);
  (void)apply_i32(tr(ICE_T_HOUR, 0), &c);
  col_free(&c);
}

static void test_truncate(void **state) {
  (void)state;
  ice_transform t10 = tr(ICE_T_TRUNCATE, 10);
  col_column c = col_i32(COL_INT32, 1);
  assert_int_equal(apply_i32(t10, &c), 0);
  col_free(&c);
  c = col_i32(COL_INT32, -1);
  assert_int_equal(apply_i32(t10, &c), -10);
  col_free(&c);
  c = col_i32(COL_INT32, -10);
  assert_int_equal(apply_i32(t10, &c), -10);
  col_free(&c);
  c = col_i32(COL_INT32, INT32_MIN); /* wraps as Java's int arithmetic */
  assert_int_equal(apply_i32(t10, &c), INT32_MAX - 1);
  col_free(&c);
  c = col_i64(COL_INT64, -1);
  assert_int_equal(apply_i64(t10, &c), -10);
  col_free(&c);
  c = col_i64(COL_INT64, INT64_C(1234567890123));
  assert_int_equal(apply_i64(t10, &c), INT64_C(1234567890120));
  col_free(&c);
  /* decimal(9,2), W=50: 10.65 -> 10.50, -10.65 -> -11.00 */
  c = col_dec(1065);
  expect_bytes(tr(ICE_T_TRUNCATE, 50), &c, "\x04\x1a", 2);
  col_free(&c);
  c = col_dec(-1065);
  expect_bytes(tr(ICE_T_TRUNCATE, 50), &c, "\xfb\xb4", 2);
  col_free(&c);
  /* strings by code points, never splitting a UTF-8 sequence */
  c = col_bytes(COL_UTF8, "iceberg", 7);
  expect_bytes(tr(ICE_T_TRUNCATE, 3), &c, "ice", 3);
  expect_bytes(tr(ICE_T_TRUNCATE, 100), &c, "iceberg", 7);
  col_free(&c);
  static const char mb[] = "a\xc3\xb1"
                           "b\xe2\x82\xac"
                           "c\xf0\x9f\x98\x80"
                           "d";
  c = col_bytes(COL_UTF8, mb, sizeof mb - 1);
  expect_bytes(tr(ICE_T_TRUNCATE, 2), &c, "a\xc3\xb1", 3);
  expect_bytes(tr(ICE_T_TRUNCATE, 4), &c,
               "a\xc3\xb1"
               "b\xe2\x82\xac",
               7);
  expect_bytes(tr(ICE_T_TRUNCATE, 6), &c, mb, 12);
  expect_bytes(tr(ICE_T_TRUNCATE, 7), &c, mb, 13);
  col_free(&c);
  /* a long string of 2-byte characters: 16 code points = 32 bytes */
  char lng[400];
  for (int i = 0; i < 200; i++) memcpy(lng + 2 * i, "\xc3\xa9", 2);
  c = col_bytes(COL_UTF8, lng, sizeof lng);
  expect_bytes(tr(ICE_T_TRUNCATE, 16), &c, lng, 32);
  col_free(&c);
  c = col_bytes(COL_BINARY, "\x01\x02\x03\x04\x05", 5);
  expect_bytes(tr(ICE_T_TRUNCATE, 3), &c, "\x01\x02\x03", 3);
  col_free(&c);
}

static void test_identity_bucket_void(void **state) {
  (void)state;
  col_column c = col_i32(COL_INT32, 34);
  assert_int_equal(apply_i32(tr(ICE_T_BUCKET, 16), &c), 2017239379 % 16);
  assert_int_equal(apply_i32(tr(ICE_T_IDENTITY, 0), &c), 34);
  ice_pvalue v = apply(tr(ICE_T_VOID, 0), &c);
  assert_true(v.is_null);
  assert_int_equal(v.bytes.len, 0);
  assert_int_equal(col_append_null(&c, NULL), FLOE_OK);
  ice_transform b = tr(ICE_T_BUCKET, 16);
  assert_int_equal(ice_transform_apply(&b, &c, 1, &v, NULL), FLOE_OK);
  assert_true(v.is_null); /* null in, null out */
  fbuf_free(&v.bytes);
  col_free(&c);
  /* a negative hash loses its sign bit before the modulo */
  c = col_dec(1420);
  assert_int_equal(apply_i32(tr(ICE_T_BUCKET, 7), &c),
                   (-500754589 & INT32_MAX) % 7);
  expect_bytes(tr(ICE_T_IDENTITY, 0), &c, "\x05\x8c", 2); /* 1420 */
  col_free(&c);
  c = col(COL_INT16);
  assert_int_equal(col_append_i16(&c, -2, NULL), FLOE_OK);
  expect_bytes(tr(ICE_T_IDENTITY, 0), &c, "\xfe\xff\xff\xff", 4);
  col_free(&c);
  c = col(COL_UUID);
  assert_int_equal(col_append_uuid(&c, uuid_bytes, NULL), FLOE_OK);
  expect_bytes(tr(ICE_T_IDENTITY, 0), &c, uuid_bytes, 16);
  col_free(&c);
  c = col(COL_BOOL);
  assert_int_equal(col_append_bool(&c, true, NULL), FLOE_OK);
  expect_bytes(tr(ICE_T_IDENTITY, 0), &c, "\x01", 1);
  col_free(&c);
}

static void test_result_types(void **state) {
  (void)state;
  col_dtype out;
  floe_error e;
  ice_transform t = tr(ICE_T_DAY, 0);
  assert_int_equal(
      ice_transform_result(&t, (col_dtype){.id = COL_TIMESTAMP}, &out, &e),
      FLOE_OK);
  assert_int_equal(out.id, COL_DATE);
  t = tr(ICE_T_HOUR, 0);
  assert_int_equal(
      ice_transform_result(&t, (col_dtype){.id = COL_DATE}, &out, &e),
      FLOE_EINVAL);
  t = tr(ICE_T_BUCKET, 4);
  assert_int_equal(
      ice_transform_result(&t, (col_dtype){.id = COL_UTF8}, &out, &e), FLOE_OK);
  assert_int_equal(out.id, COL_INT32);
  assert_int_equal(
      ice_transform_result(&t, (col_dtype){.id = COL_FLOAT32}, &out, &e),
      FLOE_EINVAL);
  t = tr(ICE_T_BUCKET, 0);
  assert_int_equal(
      ice_transform_result(&t, (col_dtype){.id = COL_INT32}, &out, &e),
      FLOE_EINVAL);
  t = tr(ICE_T_TRUNCATE, 4);
  col_dtype dec = {.id = COL_DECIMAL, .precision = 12, .scale = 3};
  assert_int_equal(ice_transform_result(&t, dec, &out, &e), FLOE_OK);
  assert_int_equal(out.id, COL_DECIMAL);
  assert_int_equal(out.precision, 12);
  assert_int_equal(
      ice_transform_result(&t, (col_dtype){.id = COL_DATE}, &out, &e),
      FLOE_EINVAL);
  t = tr(ICE_T_IDENTITY, 0);
  assert_int_equal(
      ice_transform_result(&t, (col_dtype){.id = COL_INT16}, &out, &e),
      FLOE_OK);
  assert_int_equal(out.id, COL_INT32);
  t = tr(ICE_T_VOID, 0);
  assert_int_equal(
      ice_transform_result(&t, (col_dtype){.id = COL_UTF8}, &out, &e), FLOE_OK);
  assert_int_equal(out.id, COL_UTF8);
  t = (ice_transform){ICE_T_UNKNOWN, 0, "zorder"};
  assert_int_equal(
      ice_transform_result(&t, (col_dtype){.id = COL_UTF8}, &out, &e),
      FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "zorder"));
}

static void test_order_and_sizes(void **state) {
  (void)state;
  col_dtype f64 = {.id = COL_FLOAT64}, i32 = {.id = COL_INT32},
            dec = {.id = COL_DECIMAL, .precision = 20, .scale = 0},
            str = {.id = COL_UTF8};
  double nz = -0.0, pz = 0.0, one = 1.0, nan = __builtin_nan("");
  assert_true(ice_value_cmp(f64, (uint8_t *)&nz, 8, (uint8_t *)&pz, 8) < 0);
  assert_true(ice_value_cmp(f64, (uint8_t *)&one, 8, (uint8_t *)&pz, 8) > 0);
  assert_true(ice_value_is_nan(f64, (uint8_t *)&nan, 8));
  assert_false(ice_value_is_nan(f64, (uint8_t *)&one, 8));
  int32_t a = -5, b = 3;
  assert_true(ice_value_cmp(i32, (uint8_t *)&a, 4, (uint8_t *)&b, 4) < 0);
  /* decimals of different minimal lengths: -1 (ff) < 255 (00 ff) */
  assert_true(ice_value_cmp(dec, (const uint8_t *)"\xff", 1,
                            (const uint8_t *)"\x00\xff", 2) < 0);
  assert_true(ice_value_cmp(dec, (const uint8_t *)"\x80\x00", 2,
                            (const uint8_t *)"\xff", 1) < 0);
  /* UTF-8 byte order is code point order ("\xef\xbd\x81" > "\xf0..." no) */
  assert_true(ice_value_cmp(str, (const uint8_t *)"ab", 2,
                            (const uint8_t *)"abc", 3) < 0);
  assert_true(ice_value_cmp(str, (const uint8_t *)"\xc3\xa9", 2,
                            (const uint8_t *)"z", 1) > 0);
  static const int sizes[][2] = {{1, 1},   {2, 1},   {3, 2},  {4, 2},
                                 {9, 4},   {10, 5},  {18, 8}, {19, 9},
                                 {28, 12}, {38, 16}, {0, 0},  {39, 0}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    assert_int_equal(ice_decimal_fixed_size(sizes[i][0]), sizes[i][1]);
  fbuf o = FBUF_INIT;
  assert_int_equal(ice_decimal_to_be(0, 0, &o, NULL), FLOE_OK);
  assert_int_equal(ice_decimal_to_be(128, 0, &o, NULL), FLOE_OK);
  assert_int_equal(ice_decimal_to_be((uint64_t)-129, -1, &o, NULL), FLOE_OK);
  assert_int_equal(ice_decimal_to_be(UINT64_MAX, INT64_MAX, &o, NULL), FLOE_OK);
  assert_int_equal(o.len, 1 + 2 + 2 + 16);
  assert_memory_equal(o.data, "\x00\x00\x80\xff\x7f\x7f\xff", 7);
  fbuf_free(&o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_appendix_b_hashes),
      cmocka_unit_test(test_time_transforms),
      cmocka_unit_test(test_truncate),
      cmocka_unit_test(test_identity_bucket_void),
      cmocka_unit_test(test_result_types),
      cmocka_unit_test(test_order_and_sizes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
