/*
 * Deterministic test data for the Parquet writer tests: a schema with every
 * floe type (nullable and required, lists of nullable ints and of required
 * strings) and a function giving row i's values. Header-only so tests and
 * ad-hoc checkers can share it.
 */
#ifndef FLOE_TESTS_PQ_WRITE_DATA_H
#define FLOE_TESTS_PQ_WRITE_DATA_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "columnar/batch.h"

#define PQD_NFIELDS 19

__extension__ typedef __int128 pqd_i128;

static inline col_dtype pqd_t(col_type id, int p, int s) {
  col_dtype t;
  memset(&t, 0, sizeof t);
  t.id = id;
  t.precision = (uint8_t)p;
  t.scale = (uint8_t)s;
  return t;
}

static inline col_dtype pqd_list(col_type elem) {
  col_dtype t;
  memset(&t, 0, sizeof t);
  t.id = COL_LIST;
  t.elem = elem;
  return t;
}

static inline floe_status pqd_schema(col_schema **out, floe_error *err) {
  col_field f[PQD_NFIELDS] = {
      {1, "b", pqd_t(COL_BOOL, 0, 0), true, 0, false},
      {2, "i16", pqd_t(COL_INT16, 0, 0), false, 0, false},
      {3, "i32", pqd_t(COL_INT32, 0, 0), true, 0, false},
      {4, "i64", pqd_t(COL_INT64, 0, 0), false, 0, false},
      {5, "f32", pqd_t(COL_FLOAT32, 0, 0), true, 0, false},
      {6, "f64", pqd_t(COL_FLOAT64, 0, 0), false, 0, false},
      {7, "d9", pqd_t(COL_DECIMAL, 9, 2), true, 0, false},
      {8, "d18", pqd_t(COL_DECIMAL, 18, 4), false, 0, false},
      {9, "d38", pqd_t(COL_DECIMAL, 38, 10), true, 0, false},
      {10, "s", pqd_t(COL_UTF8, 0, 0), true, 0, false},
      {11, "s2", pqd_t(COL_UTF8, 0, 0), false, 0, false},
      {12, "bin", pqd_t(COL_BINARY, 0, 0), true, 0, false},
      {13, "d", pqd_t(COL_DATE, 0, 0), false, 0, false},
      {14, "t", pqd_t(COL_TIME, 0, 0), true, 0, false},
      {15, "ts", pqd_t(COL_TIMESTAMP, 0, 0), false, 0, false},
      {16, "tz", pqd_t(COL_TIMESTAMPTZ, 0, 0), true, 0, false},
      {17, "u", pqd_t(COL_UUID, 0, 0), true, 0, false},
      {18, "l", pqd_list(COL_INT32), true, 19, true},
      {20, "ls", pqd_list(COL_UTF8), false, 21, false},
  };
  return col_schema_new(f, PQD_NFIELDS, out, err);
}

/* Row i's values. Each helper returns false for a null. */
static inline bool pqd_b(int64_t i, bool *v) {
  *v = i % 2 == 0;
  return i % 3 != 0;
}
static inline int16_t pqd_i16(int64_t i) {
  return (int16_t)((i * 7) % 30000 - 15000);
}
static inline bool pqd_i32(int64_t i, int32_t *v) {
  *v = (int32_t)(i * 13 - 50000);
  return i % 5 != 0;
}
static inline int64_t pqd_i64(int64_t i) { return i * 1000003 - 5000000000LL; }
/* NaN when i % 11 == 0 */
static inline bool pqd_f32(int64_t i, float *v) {
  *v = i % 11 == 0 ? (float)NAN : (float)(i % 100) * 0.5f - 10.0f;
  return i % 7 != 0;
}
static inline double pqd_f64(int64_t i) { return (double)i * 1.25 - 100.0; }
static inline bool pqd_d9(int64_t i, int64_t *v) {
  *v = i * 101 - 5000;
  return i % 6 != 0;
}
static inline int64_t pqd_d18(int64_t i) {
  return i * 123456789LL - 1000000000000LL;
}
static inline bool pqd_d38(int64_t i, pqd_i128 *v) {
  pqd_i128 big = (pqd_i128)100000000000000000LL * 1000; /* 1e20 */
  *v = (pqd_i128)(i - 2500) * big + i;
  return i % 4 != 0;
}
static inline bool pqd_s(int64_t i, char *buf, size_t n) {
  snprintf(buf, n, "val-%d", (int)(i % 50));
  return i % 9 != 0;
}
static inline void pqd_s2(int64_t i, char *buf, size_t n) {
  snprintf(buf, n,
           "row-%lld-\xc3\xbc"
           "n\xc3\xaf"
           "c\xc3\xb8"
           "de",
           (long long)i);
}
static inline bool pqd_bin(int64_t i, uint8_t *b, size_t *n) {
  uint8_t v[4] = {(uint8_t)i, (uint8_t)(i >> 8), 0, 0xFF};
  *n = (size_t)(i % 5);
  memcpy(b, v, *n);
  return i % 10 != 0;
}
static inline int32_t pqd_date(int64_t i) { return (int32_t)(i - 2000); }
static inline bool pqd_time(int64_t i, int64_t *v) {
  *v = (i * 1234567) % 86400000000LL;
  return i % 8 != 0;
}
static inline int64_t pqd_ts(int64_t i) {
  return i * 3600000000LL + 1600000000000000LL;
}
static inline bool pqd_tz(int64_t i, int64_t *v) {
  *v = -(i * 1000003);
  return i % 13 != 0;
}
static inline bool pqd_uuid(int64_t i, uint8_t u[16]) {
  for (int k = 0; k < 16; k++) u[k] = (uint8_t)(i * 31 + k * 7);
  return i % 7 != 3;
}
/* list<int32>: null when i%4==0, empty when i%4==1, else i%3+1 elements,
 * element 1 null for odd i */
static inline int pqd_l(int64_t i) {
  if (i % 4 == 0) return -1;
  if (i % 4 == 1) return 0;
  return (int)(i % 3) + 1;
}
static inline bool pqd_l_elem(int64_t i, int k, int32_t *v) {
  *v = (int32_t)(i * 10 + k);
  return !(k == 1 && (i & 1));
}
static inline int pqd_ls(int64_t i) { return (int)(i % 3); }
static inline void pqd_ls_elem(int64_t i, int k, char *buf, size_t n) {
  snprintf(buf, n, "x%d", (int)((i + k) % 20));
}

#define PQD_TRY(x)                                                             \
  do {                                                                         \
    floe_status st_ = (x);                                                     \
    if (st_ != FLOE_OK) return st_;                                            \
  } while (0)

/* Appends rows [from, from + n) to b (then seals it). */
static inline floe_status pqd_fill(col_batch *b, int64_t from, int64_t n,
                                   floe_error *e) {
  col_column *c = b->cols;
  char s[64];
  uint8_t u[16];
  for (int64_t i = from; i < from + n; i++) {
    bool bv;
    int32_t i32;
    int64_t i64;
    float f;
    pqd_i128 d;
    size_t len;
    PQD_TRY(pqd_b(i, &bv) ? col_append_bool(&c[0], bv, e)
                          : col_append_null(&c[0], e));
    PQD_TRY(col_append_i16(&c[1], pqd_i16(i), e));
    PQD_TRY(pqd_i32(i, &i32) ? col_append_i32(&c[2], i32, e)
                             : col_append_null(&c[2], e));
    PQD_TRY(col_append_i64(&c[3], pqd_i64(i), e));
    PQD_TRY(pqd_f32(i, &f) ? col_append_f32(&c[4], f, e)
                           : col_append_null(&c[4], e));
    PQD_TRY(col_append_f64(&c[5], pqd_f64(i), e));
    PQD_TRY(pqd_d9(i, &i64)
                ? col_append_dec(&c[6], (uint64_t)i64, i64 < 0 ? -1 : 0, e)
                : col_append_null(&c[6], e));
    i64 = pqd_d18(i);
    PQD_TRY(col_append_dec(&c[7], (uint64_t)i64, i64 < 0 ? -1 : 0, e));
    PQD_TRY(pqd_d38(i, &d)
                ? col_append_dec(&c[8], (uint64_t)d, (int64_t)(d >> 64), e)
                : col_append_null(&c[8], e));
    PQD_TRY(pqd_s(i, s, sizeof s) ? col_append_bytes(&c[9], s, strlen(s), e)
                                  : col_append_null(&c[9], e));
    pqd_s2(i, s, sizeof s);
    PQD_TRY(col_append_bytes(&c[10], s, strlen(s), e));
    PQD_TRY(pqd_bin(i, u, &len) ? col_append_bytes(&c[11], u, len, e)
                                : col_append_null(&c[11], e));
    PQD_TRY(col_append_i32(&c[12], pqd_date(i), e));
    PQD_TRY(pqd_time(i, &i64) ? col_append_i64(&c[13], i64, e)
                              : col_append_null(&c[13], e));
    PQD_TRY(col_append_i64(&c[14], pqd_ts(i), e));
    PQD_TRY(pqd_tz(i, &i64) ? col_append_i64(&c[15], i64, e)
                            : col_append_null(&c[15], e));
    PQD_TRY(pqd_uuid(i, u) ? col_append_uuid(&c[16], u, e)
                           : col_append_null(&c[16], e));
    int nl = pqd_l(i);
    if (nl < 0) {
      PQD_TRY(col_append_null(&c[17], e));
    } else {
      for (int k = 0; k < nl; k++)
        PQD_TRY(pqd_l_elem(i, k, &i32) ? col_append_i32(c[17].child, i32, e)
                                       : col_append_null(c[17].child, e));
      PQD_TRY(col_list_end(&c[17], e));
    }
    for (int k = 0; k < pqd_ls(i); k++) {
      pqd_ls_elem(i, k, s, sizeof s);
      PQD_TRY(col_append_bytes(c[18].child, s, strlen(s), e));
    }
    PQD_TRY(col_list_end(&c[18], e));
  }
  return col_batch_seal(b, e);
}

#endif
