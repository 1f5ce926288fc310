/* Unit tests for src/iceberg deletion vectors and Puffin files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iceberg/puffin.h"

static const uint64_t positions[] = {0,
                                     1,
                                     2,
                                     3,
                                     100,
                                     65535,
                                     65536,
                                     1000000,
                                     4294967295ULL,
                                     4294967296ULL,
                                     4294967297ULL,
                                     (5ULL << 32) + 7,
                                     (1ULL << 62)};
#define NPOS (sizeof positions / sizeof *positions)

static ice_dv *make_dv(void) {
  ice_dv *dv;
  assert_int_equal(ice_dv_new(&dv, NULL), FLOE_OK);
  for (size_t i = 0; i < NPOS; i++)
    assert_int_equal(ice_dv_add(dv, positions[i], NULL), FLOE_OK);
  /* a long run, which run-optimisation turns into a run container */
  for (uint64_t p = 200000; p < 300000; p++)
    assert_int_equal(ice_dv_add(dv, p, NULL), FLOE_OK);
  return dv;
}

static bool collect(void *ctx, uint64_t pos) {
  uint64_t **w = ctx;
  *(*w)++ = pos;
  return true;
}

static void test_dv_roundtrip(void **state) {
  (void)state;
  ice_dv *dv = make_dv();
  floe_error e;
  assert_int_equal(ice_dv_add(dv, 1ULL << 63, &e), FLOE_ERANGE);
  assert_int_equal(ice_dv_cardinality(dv), NPOS + 100000);
  assert_true(ice_dv_contains(dv, 4294967296ULL));
  assert_false(ice_dv_contains(dv, 4294967298ULL));
  assert_false(ice_dv_contains(dv, 99));
  fbuf b = FBUF_INIT;
  assert_int_equal(ice_dv_serialize(dv, &b, &e), FLOE_OK);
  /* header: BE length, magic; trailer: BE crc over magic + vector */
  assert_int_equal(fbe32(b.data), b.len - 8);
  static const uint8_t magic[4] = {0xD1, 0xD3, 0x39, 0x64};
  assert_memory_equal(b.data + 4, magic, 4);
  assert_int_equal(fle64(b.data + 8), 4); /* keys 0, 1, 5 and 2^30 */
  ice_dv *back;
  assert_int_equal(ice_dv_deserialize(b.data, b.len, &back, &e), FLOE_OK);
  assert_int_equal(ice_dv_cardinality(back), ice_dv_cardinality(dv));
  uint64_t *all = malloc(sizeof(uint64_t) * (NPOS + 100000));
  uint64_t *w = all;
  ice_dv_iterate(back, collect, &w);
  assert_int_equal(w - all, NPOS + 100000);
  for (size_t i = 1; i < (size_t)(w - all); i++)
    assert_true(all[i] > all[i - 1]);
  for (size_t i = 0; i < NPOS; i++)
    assert_true(ice_dv_contains(back, positions[i]));
  free(all);
  /* merge keeps the union */
  ice_dv *other;
  assert_int_equal(ice_dv_new(&other, NULL), FLOE_OK);
  assert_int_equal(ice_dv_add(other, 99, NULL), FLOE_OK);
  assert_int_equal(ice_dv_add(other, 3, NULL), FLOE_OK);
  assert_int_equal(ice_dv_merge(back, other, &e), FLOE_OK);
  assert_int_equal(ice_dv_cardinality(back), NPOS + 100000 + 1);
  ice_dv_free(other);
  ice_dv_free(back);
  ice_dv_free(dv);
  fbuf_free(&b);
}

static void test_dv_rejects_bad_bytes(void **state) {
  (void)state;
  ice_dv *dv = make_dv();
  fbuf b = FBUF_INIT;
  floe_error e;
  assert_int_equal(ice_dv_serialize(dv, &b, &e), FLOE_OK);
  ice_dv *back = NULL;
  /* every truncation fails cleanly */
  for (size_t n = 0; n < b.len; n++) {
    assert_int_equal(ice_dv_deserialize(b.data, n, &back, &e), FLOE_ECORRUPT);
    assert_null(back);
  }
  /* every single bit flip is caught (CRC, magic or length) */
  for (size_t i = 0; i < b.len; i += 7) {
    b.data[i] ^= 0x10;
    assert_int_not_equal(ice_dv_deserialize(b.data, b.len, &back, &e), FLOE_OK);
    b.data[i] ^= 0x10;
  }
  b.data[5] ^= 1;
  assert_int_equal(ice_dv_deserialize(b.data, b.len, &back, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "magic"));
  ice_dv_free(dv);
  fbuf_free(&b);
}

static void test_puffin_file(void **state) {
  (void)state;
  ice_dv *a = make_dv(), *b;
  assert_int_equal(ice_dv_new(&b, NULL), FLOE_OK);
  assert_int_equal(ice_dv_add(b, 42, NULL), FLOE_OK);
  ice_dv *dvs[2] = {a, b};
  const char *files[2] = {"s3://w/t/data/a.parquet",
                          "/w/t/data/b \"q\".parquet"};
  ice_puffin_blob meta[2];
  fbuf f = FBUF_INIT;
  floe_error e;
  assert_int_equal(
      ice_puffin_write_dvs(dvs, files, 2, "floe test", &f, meta, &e), FLOE_OK);
  assert_memory_equal(f.data, "PFA1", 4);
  assert_memory_equal(f.data + f.len - 4, "PFA1", 4);
  assert_int_equal(meta[0].offset, 4);
  assert_int_equal(meta[1].offset, meta[0].offset + meta[0].length);
  assert_int_equal(meta[1].cardinality, 1);
  ice_puffin *pf;
  assert_int_equal(ice_puffin_read(f.data, f.len, "t.puffin", &pf, &e),
                   FLOE_OK);
  assert_int_equal(pf->nblobs, 2);
  for (int i = 0; i < 2; i++) {
    assert_string_equal(pf->blobs[i].type, "deletion-vector-v1");
    assert_string_equal(pf->blobs[i].referenced_data_file, files[i]);
    assert_int_equal(pf->blobs[i].offset, meta[i].offset);
    assert_int_equal(pf->blobs[i].length, meta[i].length);
    assert_int_equal(pf->blobs[i].cardinality, meta[i].cardinality);
    assert_int_equal(pf->blobs[i].snapshot_id, -1);
    assert_int_equal(pf->blobs[i].sequence_number, -1);
    assert_int_equal(pf->blobs[i].field0, ICE_FIELD_ID_POS);
    ice_dv *dv;
    assert_int_equal(ice_puffin_read_dv(f.data, f.len, &pf->blobs[i], &dv, &e),
                     FLOE_OK);
    assert_int_equal(ice_dv_cardinality(dv), ice_dv_cardinality(dvs[i]));
    ice_dv_free(dv);
  }
  ice_puffin_free(pf);
  /* truncations and a wrong cardinality are rejected */
  for (size_t n = 0; n < f.len; n += 3)
    assert_int_not_equal(ice_puffin_read(f.data, n, "t.puffin", &pf, &e),
                         FLOE_OK);
  ice_puffin_blob lie = meta[1];
  lie.cardinality = 2;
  ice_dv *dv;
  assert_int_equal(ice_puffin_read_dv(f.data, f.len, &lie, &dv, &e),
                   FLOE_ECORRUPT);
  fbuf_free(&f);
  ice_dv_free(a);
  ice_dv_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_dv_roundtrip),
      cmocka_unit_test(test_dv_rejects_bad_bytes),
      cmocka_unit_test(test_puffin_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
