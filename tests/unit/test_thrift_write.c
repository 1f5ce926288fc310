/* Unit tests for the thrift compact encoder and the RLE/bit-packed hybrid,
 * against bytes worked out by hand from the specs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parquet/encode.h"
#include "parquet/thrift_write.h"

#define ASSERT_BYTES(buf, ...)                                                 \
  do {                                                                         \
    const uint8_t exp_[] = {__VA_ARGS__};                                      \
    assert_int_equal((buf).len, sizeof exp_);                                  \
    assert_memory_equal((buf).data, exp_, sizeof exp_);                        \
  } while (0)

static void test_small_struct(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  tc_writer w;
  tc_init(&w, &b, NULL);
  tc_struct_begin(&w);
  tc_field_i32(&w, 1, 5);       /* delta 1, i32: 0x15, zigzag 10 */
  tc_field_i64(&w, 2, -1);      /* delta 1, i64: 0x16, zigzag 1 */
  tc_field_string(&w, 4, "ab"); /* delta 2, binary: 0x28 */
  tc_struct_end(&w);
  assert_int_equal(tc_status(&w), FLOE_OK);
  ASSERT_BYTES(b, 0x15, 0x0A, 0x16, 0x01, 0x28, 0x02, 'a', 'b', 0x00);
  fbuf_free(&b);
}

static void test_long_form_and_zigzag(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  tc_writer w;
  tc_init(&w, &b, NULL);
  tc_struct_begin(&w);
  tc_field_i32(&w, 1, -64);  /* zigzag 127 */
  tc_field_i32(&w, 20, 64);  /* delta 19: long form, id zigzag 40 */
  tc_field_i32(&w, 3, -65);  /* id going down: long form; zigzag 129 */
  tc_field_i64(&w, 4, -300); /* delta 1; zigzag 599 = 0x257 */
  tc_field_i16(&w, 5, 1);    /* i16 type 4 */
  tc_field_i8(&w, 6, -2);    /* byte type 3: raw byte */
  tc_struct_end(&w);
  ASSERT_BYTES(b, 0x15, 0x7F,          /* field 1 */
               0x05, 0x28, 0x80, 0x01, /* field 20 = 64 */
               0x05, 0x06, 0x81, 0x01, /* field 3 = -65 */
               0x16, 0xD7, 0x04,       /* field 4 = -300 */
               0x14, 0x02,             /* field 5 = 1 */
               0x13, 0xFE,             /* field 6 = -2 */
               0x00);
  fbuf_free(&b);
}

static void test_bools_and_double(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  tc_writer w;
  tc_init(&w, &b, NULL);
  tc_struct_begin(&w);
  tc_field_bool(&w, 1, true);
  tc_field_bool(&w, 2, false);
  tc_field_double(&w, 3, 1.0);
  tc_field_list_begin(&w, 4, TC_FALSE, 2);
  tc_bool(&w, true);
  tc_bool(&w, false);
  tc_struct_end(&w);
  ASSERT_BYTES(b, 0x11, 0x12, 0x17, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x19, 0x22,
               0x01, 0x02, 0x00);
  fbuf_free(&b);
}

static void test_lists(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  tc_writer w;
  tc_init(&w, &b, NULL);
  tc_struct_begin(&w);
  tc_field_list_begin(&w, 1, TC_I32, 20); /* >14 elements: 0xF5 + varint */
  for (int i = 0; i < 20; i++) tc_i32(&w, i);
  tc_field_list_begin(&w, 2, TC_BINARY, 2);
  tc_string(&w, "x");
  tc_string(&w, "");
  tc_field_list_begin(&w, 3, TC_STRUCT, 1);
  tc_struct_begin(&w);
  tc_field_i64(&w, 7, 1);
  tc_struct_end(&w);
  tc_struct_end(&w);
  assert_int_equal(tc_status(&w), FLOE_OK);
  uint8_t exp[64];
  size_t n = 0;
  exp[n++] = 0x19;
  exp[n++] = 0xF5;
  exp[n++] = 20;
  for (int i = 0; i < 20; i++) exp[n++] = (uint8_t)(2 * i);
  exp[n++] = 0x19;
  exp[n++] = 0x28;
  exp[n++] = 1;
  exp[n++] = 'x';
  exp[n++] = 0;
  exp[n++] = 0x19;
  exp[n++] = 0x1C;
  exp[n++] = 0x76; /* field 7 in a fresh struct: delta 7 */
  exp[n++] = 0x02;
  exp[n++] = 0x00;
  exp[n++] = 0x00;
  assert_int_equal(b.len, n);
  assert_memory_equal(b.data, exp, n);
  fbuf_free(&b);
}

static void test_nested_struct_restores_last_id(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  tc_writer w;
  tc_init(&w, &b, NULL);
  tc_struct_begin(&w);
  tc_field_struct_begin(&w, 3);
  tc_field_i32(&w, 1, 1);
  tc_struct_end(&w);
  tc_field_i32(&w, 4, 0); /* delta from 3, not from the inner 1 */
  tc_struct_end(&w);
  ASSERT_BYTES(b, 0x3C, 0x15, 0x02, 0x00, 0x15, 0x00, 0x00);
  fbuf_free(&b);
}

static void test_errors_are_sticky(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  tc_writer w;
  floe_error e;
  tc_init(&w, &b, &e);
  assert_int_equal(tc_field_i32(&w, 1, 1), FLOE_EINVAL); /* no struct */
  assert_int_equal(tc_struct_begin(&w), FLOE_EINVAL);
  assert_int_equal(b.len, 0);
  tc_init(&w, &b, &e);
  for (int i = 0; i < TC_MAX_DEPTH; i++)
    assert_int_equal(tc_struct_begin(&w), FLOE_OK);
  assert_int_equal(tc_struct_begin(&w), FLOE_EINVAL);
  assert_int_equal(tc_struct_end(&w), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "nested"));
  fbuf_free(&b);
}

/* ---- RLE / bit-packed hybrid ---- */

static void test_bit_width(void **state) {
  (void)state;
  assert_int_equal(fbit_width(0), 0);
  assert_int_equal(fbit_width(1), 1);
  assert_int_equal(fbit_width(7), 3);
  assert_int_equal(fbit_width(8), 4);
  assert_int_equal(fbit_width(UINT32_MAX), 32);
}

static void test_rle_spec_example(void **state) {
  (void)state;
  /* Encodings.md: 0..7 at bit width 3 pack to 10001000 11000110 11111010 */
  uint32_t v[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  fbuf b = FBUF_INIT;
  assert_int_equal(pq_rle_encode_u32(v, 8, 3, &b, NULL), FLOE_OK);
  ASSERT_BYTES(b, 0x03, 0x88, 0xC6, 0xFA);
  fbuf_free(&b);
}

static void test_rle_runs_and_groups(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  /* 100 x 5 at width 3: one RLE run, header 200 as varint, 1 value byte */
  uint32_t run[100];
  for (int i = 0; i < 100; i++) run[i] = 5;
  assert_int_equal(pq_rle_encode_u32(run, 100, 3, &b, NULL), FLOE_OK);
  ASSERT_BYTES(b, 0xC8, 0x01, 0x05);

  /* a full group of literals, then a run of 10 */
  uint32_t v[18] = {1, 2, 3, 4, 5, 6, 7, 0, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4};
  fbuf_reset(&b);
  assert_int_equal(pq_rle_encode_u32(v, 18, 3, &b, NULL), FLOE_OK);
  ASSERT_BYTES(b, 0x03, 0xD1, 0x58, 0x1F, 0x14, 0x04);

  /* 3 literals borrow 5 values of the following run of 13 to fill their
   * group; the remaining 8 still make an RLE run */
  uint8_t l[16] = {1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  fbuf_reset(&b);
  assert_int_equal(pq_rle_encode_u8(l, 16, 2, &b, NULL), FLOE_OK);
  ASSERT_BYTES(b, 0x03, 0x39, 0x00, 0x10, 0x00);

  /* a run too short once it lent its values stays bit-packed */
  uint8_t m[12] = {1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  fbuf_reset(&b);
  assert_int_equal(pq_rle_encode_u8(m, 12, 2, &b, NULL), FLOE_OK);
  ASSERT_BYTES(b, 0x05, 0x39, 0x00, 0x00, 0x00);

  /* the last group is zero-padded */
  uint8_t t[3] = {1, 0, 1};
  fbuf_reset(&b);
  assert_int_equal(pq_rle_encode_u8(t, 3, 1, &b, NULL), FLOE_OK);
  ASSERT_BYTES(b, 0x03, 0x05);

  /* width 32: a run's value takes 4 bytes */
  uint32_t big[8];
  for (int i = 0; i < 8; i++) big[i] = 0xDEADBEEF;
  fbuf_reset(&b);
  assert_int_equal(pq_rle_encode_u32(big, 8, 32, &b, NULL), FLOE_OK);
  ASSERT_BYTES(b, 0x10, 0xEF, 0xBE, 0xAD, 0xDE);

  fbuf_reset(&b);
  assert_int_equal(pq_rle_encode_run(1, 1000, 1, &b, NULL), FLOE_OK);
  ASSERT_BYTES(b, 0xD0, 0x0F, 0x01);
  fbuf_free(&b);
}

/* Decodes a hybrid stream back (test oracle for the round trip). */
static void rle_decode(const uint8_t *p, size_t len, int bw, uint32_t *out,
                       size_t n) {
  size_t pos = 0, k = 0;
  while (k < n) {
    uint64_t h = 0;
    int sh = 0;
    for (;;) {
      assert_true(pos < len);
      uint8_t c = p[pos++];
      h |= (uint64_t)(c & 0x7F) << sh;
      sh += 7;
      if (!(c & 0x80)) break;
    }
    if (h & 1) {
      size_t cnt = (size_t)(h >> 1) * 8;
      uint64_t acc = 0;
      int nb = 0;
      for (size_t i = 0; i < cnt; i++) {
        while (nb < bw) {
          assert_true(pos < len);
          acc |= (uint64_t)p[pos++] << nb;
          nb += 8;
        }
        uint32_t v =
            (uint32_t)(acc & ((bw == 32) ? 0xFFFFFFFFu : ((1u << bw) - 1)));
        acc >>= bw;
        nb -= bw;
        if (k < n) out[k++] = v;
      }
    } else {
      size_t cnt = (size_t)(h >> 1);
      uint32_t v = 0;
      for (int i = 0; i < (bw + 7) / 8; i++) v |= (uint32_t)p[pos++] << (8 * i);
      for (size_t i = 0; i < cnt; i++) out[k++] = v;
    }
  }
  assert_int_equal(pos, len);
}

static void test_rle_round_trip(void **state) {
  (void)state;
  enum { N = 5000 };
  uint32_t *v = malloc(N * sizeof *v), *back = malloc(N * sizeof *back);
  uint64_t x = 12345;
  for (int bw = 1; bw <= 32; bw += 3) {
    uint32_t mask = bw == 32 ? 0xFFFFFFFFu : (1u << bw) - 1;
    for (int i = 0; i < N; i++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      /* mixture of runs and noise */
      v[i] = (i / 37) % 3 == 0 ? (uint32_t)(i / 37) & mask
                               : (uint32_t)(x >> 29) & mask;
    }
    fbuf b = FBUF_INIT;
    assert_int_equal(pq_rle_encode_u32(v, N, bw, &b, NULL), FLOE_OK);
    rle_decode(b.data, b.len, bw, back, N);
    assert_memory_equal(v, back, N * sizeof *v);
    fbuf_free(&b);
  }
  free(v);
  free(back);
}

static void test_plain_bools(void **state) {
  (void)state;
  uint8_t bits[2] = {0xB5, 0x03};  /* 1,0,1,0,1,1,0,1, 1,1 */
  uint8_t valid[2] = {0xFB, 0x03}; /* row 2 null */
  fbuf b = FBUF_INIT;
  assert_int_equal(pq_plain_bools(bits, NULL, 0, 10, &b, NULL), FLOE_OK);
  ASSERT_BYTES(b, 0xB5, 0x03);
  fbuf_reset(&b);
  /* without row 2: 1,0,0,1,1,0,1,1, 1 */
  assert_int_equal(pq_plain_bools(bits, valid, 0, 10, &b, NULL), FLOE_OK);
  ASSERT_BYTES(b, 0xD9, 0x01);
  fbuf_reset(&b);
  assert_int_equal(pq_plain_bools(bits, NULL, 3, 10, &b, NULL), FLOE_OK);
  ASSERT_BYTES(b, 0x76); /* 0,1,1,0,1,1,1 */
  assert_int_equal(pq_count_bits(valid, 0, 10), 9);
  assert_int_equal(pq_count_bits(valid, 3, 9), 6);
  fbuf_free(&b);
}

static void test_dict_fixed_and_bytes(void **state) {
  (void)state;
  pq_dict d;
  pq_dict_init(&d);
  pq_dict_reset(&d, 4, 1 << 20);
  int32_t vals[3000];
  for (int i = 0; i < 3000; i++) vals[i] = (i * 7) % 1500 - 700;
  uint32_t idx[3000];
  bool full;
  assert_int_equal(
      pq_dict_add_fixed(&d, (const uint8_t *)vals, 3000, idx, &full, NULL),
      FLOE_OK);
  assert_false(full);
  assert_int_equal(d.count, 1500); /* table grew past its first size */
  assert_int_equal(d.page.len, 1500 * 4);
  for (int i = 0; i < 3000; i++)
    assert_memory_equal(d.page.data + idx[i] * 4, &vals[i], 4);
  assert_int_equal(idx[1500], idx[0]);

  /* a dictionary over max_bytes gives up */
  pq_dict_reset(&d, 4, 100);
  assert_int_equal(
      pq_dict_add_fixed(&d, (const uint8_t *)vals, 3000, idx, &full, NULL),
      FLOE_OK);
  assert_true(full);

  /* 16-byte keys compare through the dictionary */
  uint8_t wide[4][16] = {{1}, {2}, {1}, {3}};
  pq_dict_reset(&d, 16, 1 << 20);
  assert_int_equal(pq_dict_add_fixed(&d, &wide[0][0], 4, idx, &full, NULL),
                   FLOE_OK);
  assert_int_equal(d.count, 3);
  assert_int_equal(idx[0], 0);
  assert_int_equal(idx[2], 0);
  assert_int_equal(idx[3], 2);

  /* byte strings: the page is the PLAIN (length-prefixed) encoding */
  col_column c;
  col_dtype t = {0};
  t.id = COL_UTF8;
  assert_int_equal(col_init(&c, t, NULL), FLOE_OK);
  const char *s[] = {"ab", "", "ab", "c"};
  for (int i = 0; i < 4; i++)
    assert_int_equal(col_append_bytes(&c, s[i], strlen(s[i]), NULL), FLOE_OK);
  assert_int_equal(col_append_null(&c, NULL), FLOE_OK);
  assert_int_equal(col_append_bytes(&c, "c", 1, NULL), FLOE_OK);
  pq_dict_reset(&d, 0, 1 << 20);
  assert_int_equal(pq_dict_add_bytes(&d, &c, 0, 6, idx, &full, NULL), FLOE_OK);
  assert_false(full);
  assert_int_equal(d.count, 3);
  const uint8_t page[] = {2, 0, 0, 0, 'a', 'b', 0, 0, 0, 0, 1, 0, 0, 0, 'c'};
  assert_int_equal(d.page.len, sizeof page);
  assert_memory_equal(d.page.data, page, sizeof page);
  uint32_t exp[5] = {0, 1, 0, 2, 2}; /* the null has no index */
  assert_memory_equal(idx, exp, sizeof exp);
  col_free(&c);
  pq_dict_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_struct),
      cmocka_unit_test(test_long_form_and_zigzag),
      cmocka_unit_test(test_bools_and_double),
      cmocka_unit_test(test_lists),
      cmocka_unit_test(test_nested_struct_restores_last_id),
      cmocka_unit_test(test_errors_are_sticky),
      cmocka_unit_test(test_bit_width),
      cmocka_unit_test(test_rle_spec_example),
      cmocka_unit_test(test_rle_runs_and_groups),
      cmocka_unit_test(test_rle_round_trip),
      cmocka_unit_test(test_plain_bools),
      cmocka_unit_test(test_dict_fixed_and_bytes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
