/*
 * The reader on hand-made files: forms other writers produce that DuckDB
 * and floe do not (legacy 2-level lists, TIMESTAMP MILLIS/NANOS, TIME
 * MILLIS, INT(8), UINT_*, decimals in odd byte widths, ENUM/JSON, the
 * deprecated BIT_PACKED levels, INT96, structs) and inconsistent files
 * (dictionary index out of range, row counts, unknown encodings). Files are
 * built with the thrift encoder so each case is a few lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parquet/format.h"
#include "parquet/parquet.h"
#include "parquet/thrift_write.h"

/* one SchemaElement; absent optional fields are -1 (ltype 0 = none) */
typedef struct selem {
  const char *name;
  int type, tlen, rep, nchild, conv, scale, prec, fid;
  int ltype, lp1, lp2; /* DECIMAL: scale, precision; TIME/TS: unit, utc;
                          INTEGER: bits, signed */
} selem;

#define LEAF(n, t, r)                                                          \
  { n, t, -1, r, -1, -1, -1, -1, -1, 0, 0, 0 }

typedef struct ccol {
  int type;
  const char *path[3];
  int npath;
  fbuf pages;
  int64_t nvals;
} ccol;

static void put_page(fbuf *out, int ptype, int32_t nvals, int enc, int def_enc,
                     const void *body, size_t n) {
  tc_writer w;
  tc_init(&w, out, NULL);
  tc_struct_begin(&w);
  tc_field_i32(&w, 1, ptype);
  tc_field_i32(&w, 2, (int32_t)n);
  tc_field_i32(&w, 3, (int32_t)n);
  tc_field_struct_begin(&w, ptype == PQP_DICTIONARY_PAGE ? 7 : 5);
  tc_field_i32(&w, 1, nvals);
  tc_field_i32(&w, 2, enc);
  if (ptype == PQP_DATA_PAGE) {
    tc_field_i32(&w, 3, def_enc);
    tc_field_i32(&w, 4, PQE_RLE);
  }
  tc_struct_end(&w);
  tc_struct_end(&w);
  assert_int_equal(tc_status(&w), FLOE_OK);
  assert_int_equal(fbuf_append(out, body, n, NULL), FLOE_OK);
}

/* Levels as one RLE/bit-packed hybrid bit-packed run with the v1 length
 * prefix. */
static void put_levels(fbuf *out, const int *lv, int n, int bw) {
  int groups = (n + 7) / 8;
  uint8_t run[256] = {0};
  for (int i = 0; i < n; i++)
    for (int b = 0; b < bw; b++)
      if ((lv[i] >> b) & 1)
        run[(i * bw + b) / 8] |= (uint8_t)(1 << ((i * bw + b) % 8));
  uint32_t len = 1 + (uint32_t)(groups * bw);
  fbuf_put_le32(out, len, NULL);
  fbuf_put_u8(out, (uint8_t)((groups << 1) | 1), NULL);
  fbuf_append(out, run, (size_t)(groups * bw), NULL);
}

static void build(fbuf *out, const selem *el, int nel, int64_t rg_rows,
                  int64_t file_rows, ccol *cols, int ncols) {
  fbuf_append(out, "PAR1", 4, NULL);
  int64_t offs[8];
  for (int c = 0; c < ncols; c++) {
    offs[c] = (int64_t)out->len;
    fbuf_append(out, cols[c].pages.data, cols[c].pages.len, NULL);
  }
  size_t fstart = out->len;
  tc_writer w;
  tc_init(&w, out, NULL);
  tc_struct_begin(&w);
  tc_field_i32(&w, 1, 1);
  tc_field_list_begin(&w, 2, TC_STRUCT, (size_t)nel);
  for (int i = 0; i < nel; i++) {
    const selem *e = &el[i];
    tc_struct_begin(&w);
    if (e->type >= 0) tc_field_i32(&w, 1, e->type);
    if (e->tlen >= 0) tc_field_i32(&w, 2, e->tlen);
    if (e->rep >= 0) tc_field_i32(&w, 3, e->rep);
    tc_field_string(&w, 4, e->name);
    if (e->nchild >= 0) tc_field_i32(&w, 5, e->nchild);
    if (e->conv >= 0) tc_field_i32(&w, 6, e->conv);
    if (e->scale >= 0) tc_field_i32(&w, 7, e->scale);
    if (e->prec >= 0) tc_field_i32(&w, 8, e->prec);
    if (e->fid >= 0) tc_field_i32(&w, 9, e->fid);
    if (e->ltype) {
      tc_field_struct_begin(&w, 10);
      tc_field_struct_begin(&w, (int16_t)e->ltype);
      if (e->ltype == PQL_DECIMAL) {
        tc_field_i32(&w, 1, e->lp1);
        tc_field_i32(&w, 2, e->lp2);
      } else if (e->ltype == PQL_TIME || e->ltype == PQL_TIMESTAMP) {
        tc_field_bool(&w, 1, e->lp2 != 0);
        tc_field_struct_begin(&w, 2);
        tc_field_struct_begin(&w, (int16_t)e->lp1);
        tc_struct_end(&w);
        tc_struct_end(&w);
      } else if (e->ltype == PQL_INTEGER) {
        tc_field_i8(&w, 1, (int8_t)e->lp1);
        tc_field_bool(&w, 2, e->lp2 != 0);
      }
      tc_struct_end(&w);
      tc_struct_end(&w);
    }
    tc_struct_end(&w);
  }
  tc_field_i64(&w, 3, file_rows);
  tc_field_list_begin(&w, 4, TC_STRUCT, 1);
  tc_struct_begin(&w);
  tc_field_list_begin(&w, 1, TC_STRUCT, (size_t)ncols);
  for (int c = 0; c < ncols; c++) {
    tc_struct_begin(&w);
    tc_field_i64(&w, 2, offs[c]);
    tc_field_struct_begin(&w, 3);
    tc_field_i32(&w, 1, cols[c].type);
    tc_field_list_begin(&w, 2, TC_I32, 1);
    tc_i32(&w, PQE_PLAIN);
    tc_field_list_begin(&w, 3, TC_BINARY, (size_t)cols[c].npath);
    for (int k = 0; k < cols[c].npath; k++) tc_string(&w, cols[c].path[k]);
    tc_field_i32(&w, 4, 0);
    tc_field_i64(&w, 5, cols[c].nvals);
    tc_field_i64(&w, 6, (int64_t)cols[c].pages.len);
    tc_field_i64(&w, 7, (int64_t)cols[c].pages.len);
    tc_field_i64(&w, 9, offs[c]);
    tc_struct_end(&w);
    tc_struct_end(&w);
  }
  tc_field_i64(&w, 2, 100);
  tc_field_i64(&w, 3, rg_rows);
  tc_struct_end(&w);
  tc_field_string(&w, 6, "floe craft test");
  tc_struct_end(&w);
  assert_int_equal(tc_status(&w), FLOE_OK);
  fbuf_put_le32(out, (uint32_t)(out->len - fstart), NULL);
  fbuf_append(out, "PAR1", 4, NULL);
  for (int c = 0; c < ncols; c++) fbuf_free(&cols[c].pages);
}

/* Opens and reads the single batch of file; returns the status. */
static floe_status read1(const fbuf *f, const pq_reader_opts *o,
                         col_batch **out, floe_error *e) {
  pq_source src = pq_source_mem(f->data, f->len, "craft.parquet");
  pq_reader *r;
  *out = NULL;
  floe_status st = pq_reader_open(src, o, &r, e);
  if (st) return st;
  st = pq_reader_next(r, out, e);
  pq_reader_free(r);
  return st;
}

static selem root(int n) {
  selem s = {"schema", -1, -1, -1, n, -1, -1, -1, -1, 0, 0, 0};
  return s;
}

static int64_t geti64(const col_column *c, int64_t i) {
  int64_t v;
  memcpy(&v, col_get_fixed(c, i, 8), 8);
  return v;
}

/* A required column of n PLAIN values. */
static void one_plain(fbuf *f, selem leaf, const void *vals, size_t bytes,
                      int n) {
  selem el[2] = {root(1), leaf};
  ccol c = {leaf.type, {leaf.name}, 1, FBUF_INIT, n};
  put_page(&c.pages, PQP_DATA_PAGE, n, PQE_PLAIN, PQE_RLE, vals, bytes);
  build(f, el, 2, n, n, &c, 1);
}

static void test_time_units(void **state) {
  (void)state;
  floe_error e;
  col_batch *b;
  int64_t v[3] = {1500, -1, 0};
  struct {
    selem leaf;
    col_type want;
    int64_t out[3];
  } cases[] = {
      {{"ts", PQT_INT64, -1, PQR_REQUIRED, -1, -1, -1, -1, -1, PQL_TIMESTAMP,
        PQU_MILLIS, 1},
       COL_TIMESTAMPTZ,
       {1500000, -1000, 0}},
      {{"ts", PQT_INT64, -1, PQR_REQUIRED, -1, -1, -1, -1, -1, PQL_TIMESTAMP,
        PQU_NANOS, 0},
       COL_TIMESTAMP,
       {1, -1, 0}},
      {{"ts", PQT_INT64, -1, PQR_REQUIRED, -1, PQCT_TIMESTAMP_MILLIS, -1, -1,
        -1, 0, 0, 0},
       COL_TIMESTAMPTZ,
       {1500000, -1000, 0}},
      {{"t", PQT_INT64, -1, PQR_REQUIRED, -1, -1, -1, -1, -1, PQL_TIME,
        PQU_NANOS, 0},
       COL_TIME,
       {1, -1, 0}},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    fbuf f = FBUF_INIT;
    one_plain(&f, cases[k].leaf, v, sizeof v, 3);
    if (read1(&f, NULL, &b, &e)) fail_msg("%s", e.msg);
    assert_int_equal(b->schema->fields[0].type.id, cases[k].want);
    for (int i = 0; i < 3; i++)
      assert_int_equal(geti64(&b->cols[0], i), cases[k].out[i]);
    col_batch_free(b);
    fbuf_free(&f);
  }
  /* TIME(MILLIS) on INT32 */
  int32_t ms[2] = {86399999, 0};
  fbuf f = FBUF_INIT;
  selem t = {"t", PQT_INT32, -1, PQR_REQUIRED, -1, PQCT_TIME_MILLIS, -1, -1, -1,
             0,   0,         0};
  one_plain(&f, t, ms, sizeof ms, 2);
  if (read1(&f, NULL, &b, &e)) fail_msg("%s", e.msg);
  assert_int_equal(b->schema->fields[0].type.id, COL_TIME);
  assert_int_equal(geti64(&b->cols[0], 0), 86399999000LL);
  col_batch_free(b);
  fbuf_free(&f);
}

static void test_int_annotations(void **state) {
  (void)state;
  floe_error e;
  col_batch *b;
  int32_t v[2] = {-128, 127};
  fbuf f = FBUF_INIT;
  selem i8 = {"i8", PQT_INT32, -1, PQR_REQUIRED, -1, -1,
              -1,   -1,        7,  PQL_INTEGER,  8,  1};
  one_plain(&f, i8, v, sizeof v, 2);
  if (read1(&f, NULL, &b, &e)) fail_msg("%s", e.msg);
  assert_int_equal(b->schema->fields[0].type.id, COL_INT16);
  assert_int_equal(b->schema->fields[0].id, 7);
  assert_false(b->schema->fields[0].nullable);
  int16_t h;
  memcpy(&h, col_get_fixed(&b->cols[0], 0, 2), 2);
  assert_int_equal(h, -128);
  col_batch_free(b);
  fbuf_free(&f);

  uint32_t u[2] = {0xffffffffu, 7};
  selem u32 = {"u32", PQT_INT32, -1, PQR_REQUIRED, -1, PQCT_UINT_32, -1, -1, -1,
               0,     0,         0};
  one_plain(&f, u32, u, sizeof u, 2);
  if (read1(&f, NULL, &b, &e)) fail_msg("%s", e.msg);
  assert_int_equal(b->schema->fields[0].type.id, COL_INT64);
  assert_int_equal(geti64(&b->cols[0], 0), 4294967295LL);
  col_batch_free(b);
  fbuf_free(&f);

  int32_t u8v[1] = {255};
  selem u8 = {"u8", PQT_INT32, -1, PQR_REQUIRED, -1, PQCT_UINT_8, -1, -1, -1,
              0,    0,         0};
  one_plain(&f, u8, u8v, sizeof u8v, 1);
  if (read1(&f, NULL, &b, &e)) fail_msg("%s", e.msg);
  assert_int_equal(b->schema->fields[0].type.id, COL_INT32);
  col_batch_free(b);
  fbuf_free(&f);

  /* INT(16) holding a value that does not fit: a clean range error */
  int32_t big[1] = {70000};
  selem i16 = {"i16", PQT_INT32, -1, PQR_REQUIRED, -1, PQCT_INT_16, -1, -1, -1,
               0,     0,         0};
  one_plain(&f, i16, big, sizeof big, 1);
  assert_int_equal(read1(&f, NULL, &b, &e), FLOE_ERANGE);
  fbuf_free(&f);

  /* UINT_64 has no floe type */
  int64_t u64[1] = {1};
  selem u64e = {
      "u64", PQT_INT64, -1, PQR_REQUIRED, -1, PQCT_UINT_64, -1, -1, -1,
      0,     0,         0};
  one_plain(&f, u64e, u64, sizeof u64, 1);
  assert_int_equal(read1(&f, NULL, &b, &e), FLOE_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "u64"));
  fbuf_free(&f);
}

static void test_decimals_and_strings(void **state) {
  (void)state;
  floe_error e;
  col_batch *b;
  fbuf f = FBUF_INIT;
  /* FLBA(5) decimal: -2 and 0x0102030405 */
  uint8_t flba[10] = {0xff, 0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5};
  selem d5 = {"d", PQT_FIXED_LEN_BYTE_ARRAY,
              5,   PQR_REQUIRED,
              -1,  PQCT_DECIMAL,
              2,   11,
              -1,  0,
              0,   0};
  one_plain(&f, d5, flba, sizeof flba, 2);
  if (read1(&f, NULL, &b, &e)) fail_msg("%s", e.msg);
  assert_int_equal(b->schema->fields[0].type.id, COL_DECIMAL);
  assert_int_equal(b->schema->fields[0].type.precision, 11);
  __int128 v;
  memcpy(&v, col_get_fixed(&b->cols[0], 0, 16), 16);
  assert_true(v == -2);
  memcpy(&v, col_get_fixed(&b->cols[0], 1, 16), 16);
  assert_true(v == 0x0102030405LL);
  col_batch_free(b);
  fbuf_free(&f);

  /* BYTE_ARRAY decimal: 1 byte (-1) and 17 bytes (sign-extended 5) */
  uint8_t ba[4 + 1 + 4 + 17] = {1, 0, 0, 0, 0xff, 17, 0, 0, 0};
  ba[4 + 1 + 4 + 16] = 5;
  selem dba = {
      "d", PQT_BYTE_ARRAY, -1, PQR_REQUIRED, -1, -1, -1, -1, -1, PQL_DECIMAL, 0,
      38};
  one_plain(&f, dba, ba, sizeof ba, 2);
  if (read1(&f, NULL, &b, &e)) fail_msg("%s", e.msg);
  memcpy(&v, col_get_fixed(&b->cols[0], 0, 16), 16);
  assert_true(v == -1);
  memcpy(&v, col_get_fixed(&b->cols[0], 1, 16), 16);
  assert_true(v == 5);
  col_batch_free(b);
  fbuf_free(&f);

  /* ENUM and JSON read as utf8 */
  uint8_t s[] = {2, 0, 0, 0, 'h', 'i'};
  int kinds[2][2] = {{PQCT_ENUM, 0}, {-1, PQL_JSON}};
  for (int k = 0; k < 2; k++) {
    selem en = {"e", PQT_BYTE_ARRAY, -1, PQR_REQUIRED,
                -1,  kinds[k][0],    -1, -1,
                -1,  kinds[k][1],    0,  0};
    one_plain(&f, en, s, sizeof s, 1);
    if (read1(&f, NULL, &b, &e)) fail_msg("%s", e.msg);
    assert_int_equal(b->schema->fields[0].type.id, COL_UTF8);
    size_t n;
    const uint8_t *p = col_get_bytes(&b->cols[0], 0, &n);
    assert_int_equal(n, 2);
    assert_memory_equal(p, "hi", 2);
    col_batch_free(b);
    fbuf_free(&f);
  }
}

static void test_legacy_lists(void **state) {
  (void)state;
  floe_error e;
  col_batch *b;
  fbuf f = FBUF_INIT;
  /* optional group l (LIST) { repeated int32 element; }:
   * rows [1,2], [], null, [3] */
  selem el[3] = {root(1),
                 {"l", -1, -1, PQR_OPTIONAL, 1, PQCT_LIST, -1, -1, 4, 0, 0, 0},
                 LEAF("element", PQT_INT32, PQR_REPEATED)};
  ccol c = {PQT_INT32, {"l", "element"}, 2, FBUF_INIT, 5};
  fbuf body = FBUF_INIT;
  int rep[5] = {0, 1, 0, 0, 0}, def[5] = {2, 2, 1, 0, 2};
  put_levels(&body, rep, 5, 1);
  put_levels(&body, def, 5, 2);
  int32_t vals[3] = {1, 2, 3};
  fbuf_append(&body, vals, sizeof vals, NULL);
  put_page(&c.pages, PQP_DATA_PAGE, 5, PQE_PLAIN, PQE_RLE, body.data, body.len);
  build(&f, el, 3, 4, 4, &c, 1);
  if (read1(&f, NULL, &b, &e)) fail_msg("%s", e.msg);
  const col_field *fl = &b->schema->fields[0];
  assert_int_equal(fl->type.id, COL_LIST);
  assert_int_equal(fl->type.elem, COL_INT32);
  assert_int_equal(fl->id, 4);
  assert_true(fl->nullable);
  assert_false(fl->elem_nullable);
  const col_column *l = &b->cols[0];
  assert_int_equal(l->length, 4);
  const int32_t *o = col_offsets(l);
  assert_int_equal(o[1], 2);
  assert_int_equal(o[2], 2);
  assert_int_equal(o[3], 2);
  assert_int_equal(o[4], 3);
  assert_false(col_is_valid(l, 2));
  assert_true(col_is_valid(l, 1));
  int32_t x;
  memcpy(&x, col_get_fixed(l->child, 2, 4), 4);
  assert_int_equal(x, 3);
  col_batch_free(b);
  fbuf_free(&f);
  fbuf_free(&body);

  /* a bare repeated primitive: required list of required elements;
   * rows [5,6], [], [7] */
  selem el2[2] = {root(1), LEAF("r", PQT_INT32, PQR_REPEATED)};
  ccol c2 = {PQT_INT32, {"r"}, 1, FBUF_INIT, 4};
  int rep2[4] = {0, 1, 0, 0}, def2[4] = {1, 1, 0, 1};
  put_levels(&body, rep2, 4, 1);
  put_levels(&body, def2, 4, 1);
  int32_t v2[3] = {5, 6, 7};
  fbuf_append(&body, v2, sizeof v2, NULL);
  put_page(&c2.pages, PQP_DATA_PAGE, 4, PQE_PLAIN, PQE_RLE, body.data,
           body.len);
  build(&f, el2, 2, 3, 3, &c2, 1);
  if (read1(&f, NULL, &b, &e)) fail_msg("%s", e.msg);
  assert_int_equal(b->schema->fields[0].type.id, COL_LIST);
  assert_false(b->schema->fields[0].nullable);
  o = col_offsets(&b->cols[0]);
  assert_int_equal(o[1], 2);
  assert_int_equal(o[2], 2);
  assert_int_equal(o[3], 3);
  col_batch_free(b);
  fbuf_free(&f);
  fbuf_free(&body);
}

static void test_bit_packed_levels(void **state) {
  (void)state;
  floe_error e;
  col_batch *b;
  fbuf f = FBUF_INIT;
  /* optional int32, def levels 1,0,1,1,0 MSB-first: 10110000 */
  selem el[2] = {root(1), LEAF("x", PQT_INT32, PQR_OPTIONAL)};
  ccol c = {PQT_INT32, {"x"}, 1, FBUF_INIT, 5};
  uint8_t body[1 + 12] = {0xb0};
  int32_t vals[3] = {10, 20, 30};
  memcpy(body + 1, vals, 12);
  put_page(&c.pages, PQP_DATA_PAGE, 5, PQE_PLAIN, PQE_BIT_PACKED, body,
           sizeof body);
  build(&f, el, 2, 5, 5, &c, 1);
  if (read1(&f, NULL, &b, &e)) fail_msg("%s", e.msg);
  const col_column *x = &b->cols[0];
  assert_int_equal(x->length, 5);
  assert_int_equal(x->null_count, 2);
  assert_false(col_is_valid(x, 1));
  int32_t v;
  memcpy(&v, col_get_fixed(x, 3, 4), 4);
  assert_int_equal(v, 30);
  col_batch_free(b);
  fbuf_free(&f);
}

static void test_unsupported_and_corrupt(void **state) {
  (void)state;
  floe_error e;
  col_batch *b;
  fbuf f = FBUF_INIT;
  /* INT96 */
  uint8_t i96[12] = {0};
  one_plain(&f, (selem)LEAF("legacy_ts", PQT_INT96, PQR_REQUIRED), i96,
            sizeof i96, 1);
  assert_int_equal(read1(&f, NULL, &b, &e), FLOE_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "legacy_ts"));
  assert_non_null(strstr(e.msg, "INT96"));
  /* an empty projection opens any file: `floe parquet meta` works */
  {
    const char *none[1] = {NULL};
    pq_reader_opts o0 = {0};
    o0.columns = none;
    pq_source src = pq_source_mem(f.data, f.len, "craft.parquet");
    pq_reader *r;
    assert_int_equal(pq_reader_open(src, &o0, &r, &e), FLOE_OK);
    assert_int_equal(pq_reader_schema(r)->nfields, 0);
    assert_int_equal(pq_reader_num_rows(r), 1);
    fbuf d = FBUF_INIT;
    assert_int_equal(pq_reader_describe(r, &d, &e), FLOE_OK);
    fbuf_put_u8(&d, 0, NULL);
    assert_non_null(strstr((char *)d.data, "required INT96 legacy_ts"));
    fbuf_free(&d);
    /* ... and still yields the row count, as column-less batches */
    assert_int_equal(pq_reader_next(r, &b, &e), FLOE_OK);
    assert_non_null(b);
    assert_int_equal(b->length, 1);
    assert_int_equal(b->schema->nfields, 0);
    col_batch_free(b);
    assert_int_equal(pq_reader_next(r, &b, &e), FLOE_OK);
    assert_null(b);
    pq_reader_free(r);
  }
  fbuf_free(&f);

  /* a struct next to a plain column: unsupported unless projected away */
  selem el[4] = {root(2),
                 {"st", -1, -1, PQR_OPTIONAL, 1, -1, -1, -1, -1, 0, 0, 0},
                 LEAF("a", PQT_INT32, PQR_REQUIRED),
                 LEAF("x", PQT_INT32, PQR_REQUIRED)};
  ccol cs[2] = {{PQT_INT32, {"st", "a"}, 2, FBUF_INIT, 1},
                {PQT_INT32, {"x"}, 1, FBUF_INIT, 1}};
  uint8_t body[1 + 4 + 1 + 1 + 4] = {0};
  int32_t one = 42;
  /* st.a: def level 1 as an RLE run (length 2: header 0x02, value 1) */
  body[0] = 2;
  body[4] = 2;
  body[5] = 1;
  memcpy(body + 6, &one, 4);
  put_page(&cs[0].pages, PQP_DATA_PAGE, 1, PQE_PLAIN, PQE_RLE, body, 10);
  put_page(&cs[1].pages, PQP_DATA_PAGE, 1, PQE_PLAIN, PQE_RLE, &one, 4);
  build(&f, el, 4, 1, 1, cs, 2);
  assert_int_equal(read1(&f, NULL, &b, &e), FLOE_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "st"));
  const char *cols[] = {"x"};
  pq_reader_opts o = {0};
  o.columns = cols;
  o.ncolumns = 1;
  if (read1(&f, &o, &b, &e)) fail_msg("%s", e.msg);
  int32_t v;
  memcpy(&v, col_get_fixed(&b->cols[0], 0, 4), 4);
  assert_int_equal(v, 42);
  assert_int_equal(b->schema->fields[0].id, 2); /* no ids: assigned 1..n */
  col_batch_free(b);
  fbuf_free(&f);

  /* dictionary index past the dictionary */
  selem el1[2] = {root(1), LEAF("x", PQT_INT32, PQR_REQUIRED)};
  ccol c = {PQT_INT32, {"x"}, 1, FBUF_INIT, 2};
  int32_t dict[2] = {7, 8};
  put_page(&c.pages, PQP_DICTIONARY_PAGE, 2, PQE_PLAIN, 0, dict, 8);
  /* bit width 2: a run of one 1, then a run of one 3 (past the end) */
  uint8_t idx[] = {2, 0x02, 1, 0x02, 3};
  put_page(&c.pages, PQP_DATA_PAGE, 2, PQE_RLE_DICTIONARY, PQE_RLE, idx,
           sizeof idx);
  build(&f, el1, 2, 2, 2, &c, 1);
  floe_status st = read1(&f, NULL, &b, &e);
  assert_int_equal(st, FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "craft.parquet at offset"));
  assert_non_null(strstr(e.msg, "column x"));
  fbuf_free(&f);

  /* row groups that do not add up to num_rows */
  int32_t three[3] = {1, 2, 3};
  ccol c3 = {PQT_INT32, {"x"}, 1, FBUF_INIT, 3};
  put_page(&c3.pages, PQP_DATA_PAGE, 3, PQE_PLAIN, PQE_RLE, three, 12);
  build(&f, el1, 2, 3, 5, &c3, 1);
  assert_int_equal(read1(&f, NULL, &b, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "rows"));
  fbuf_free(&f);

  /* an encoding floe does not know */
  ccol c4 = {PQT_INT32, {"x"}, 1, FBUF_INIT, 3};
  put_page(&c4.pages, PQP_DATA_PAGE, 3, 42, PQE_RLE, three, 12);
  build(&f, el1, 2, 3, 3, &c4, 1);
  assert_int_equal(read1(&f, NULL, &b, &e), FLOE_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "column x"));
  fbuf_free(&f);

  /* a page with fewer values than the row group has rows */
  ccol c5 = {PQT_INT32, {"x"}, 1, FBUF_INIT, 3};
  put_page(&c5.pages, PQP_DATA_PAGE, 2, PQE_PLAIN, PQE_RLE, three, 8);
  build(&f, el1, 2, 3, 3, &c5, 1);
  assert_int_equal(read1(&f, NULL, &b, &e), FLOE_ECORRUPT);
  fbuf_free(&f);

  /* PLAIN values shorter than num_values says */
  ccol c6 = {PQT_INT32, {"x"}, 1, FBUF_INIT, 3};
  put_page(&c6.pages, PQP_DATA_PAGE, 3, PQE_PLAIN, PQE_RLE, three, 10);
  build(&f, el1, 2, 3, 3, &c6, 1);
  assert_int_equal(read1(&f, NULL, &b, &e), FLOE_ECORRUPT);
  fbuf_free(&f);
}

static void put_varint(fbuf *b, uint64_t v) {
  assert_int_equal(fbuf_put_uvarint(b, v, NULL), FLOE_OK);
}

/* Run-length encoding lets a few bytes stand for huge batches; max_alloc
 * must stop them (dictionary strings repeated, one list of 2^30 elements). */
static void test_amplification(void **state) {
  (void)state;
  floe_error e;
  col_batch *b;
  fbuf f = FBUF_INIT, body = FBUF_INIT;
  selem el1[2] = {root(1), LEAF("s", PQT_BYTE_ARRAY, PQR_REQUIRED)};
  ccol c = {PQT_BYTE_ARRAY, {"s"}, 1, FBUF_INIT, 60000};
  fbuf_put_le32(&body, 100000, NULL);
  fbuf_zero(&body, 100000, NULL);
  put_page(&c.pages, PQP_DICTIONARY_PAGE, 1, PQE_PLAIN, 0, body.data, body.len);
  fbuf_reset(&body);
  fbuf_put_u8(&body, 0, NULL); /* bit width 0: every index is 0 */
  put_varint(&body, 60000u << 1);
  put_page(&c.pages, PQP_DATA_PAGE, 60000, PQE_RLE_DICTIONARY, PQE_RLE,
           body.data, body.len);
  build(&f, el1, 2, 60000, 60000, &c, 1);
  pq_reader_opts o = {0};
  o.max_alloc = 1 << 20;
  assert_int_equal(read1(&f, &o, &b, &e), FLOE_ENOMEM);
  assert_non_null(strstr(e.msg, "column s"));
  /* a small batch of the same file reads fine */
  o.batch_rows = 5;
  if (read1(&f, &o, &b, &e)) fail_msg("%s", e.msg);
  assert_int_equal(b->length, 5);
  size_t n;
  col_get_bytes(&b->cols[0], 4, &n);
  assert_int_equal(n, 100000);
  col_batch_free(b);
  fbuf_free(&f);

  /* required list<int32> with one row of 2^30 elements */
  selem el3[4] = {
      root(1),
      {"l", -1, -1, PQR_REQUIRED, 1, PQCT_LIST, -1, -1, -1, 0, 0, 0},
      {"list", -1, -1, PQR_REPEATED, 1, -1, -1, -1, -1, 0, 0, 0},
      LEAF("element", PQT_INT32, PQR_REQUIRED)};
  uint32_t big = 1u << 30;
  ccol c3 = {PQT_INT32, {"l", "list", "element"}, 3, FBUF_INIT, big};
  int32_t zero = 0;
  put_page(&c3.pages, PQP_DICTIONARY_PAGE, 1, PQE_PLAIN, 0, &zero, 4);
  fbuf_reset(&body);
  fbuf lv = FBUF_INIT;
  put_varint(&lv, 1u << 1); /* rep: one 0 ... */
  fbuf_put_u8(&lv, 0, NULL);
  put_varint(&lv, (uint64_t)(big - 1) << 1); /* ... then 2^30-1 ones */
  fbuf_put_u8(&lv, 1, NULL);
  fbuf_put_le32(&body, (uint32_t)lv.len, NULL);
  fbuf_append(&body, lv.data, lv.len, NULL);
  fbuf_reset(&lv);
  put_varint(&lv, (uint64_t)big << 1); /* def: all 1 (element present) */
  fbuf_put_u8(&lv, 1, NULL);
  fbuf_put_le32(&body, (uint32_t)lv.len, NULL);
  fbuf_append(&body, lv.data, lv.len, NULL);
  fbuf_put_u8(&body, 0, NULL);
  put_varint(&body, (uint64_t)big << 1);
  put_page(&c3.pages, PQP_DATA_PAGE, (int32_t)big, PQE_RLE_DICTIONARY, PQE_RLE,
           body.data, body.len);
  build(&f, el3, 4, 1, 1, &c3, 1);
  o.batch_rows = 0;
  assert_int_equal(read1(&f, &o, &b, &e), FLOE_ENOMEM);
  assert_non_null(strstr(e.msg, "column l"));
  fbuf_free(&f);
  fbuf_free(&lv);
  fbuf_free(&body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_time_units),
      cmocka_unit_test(test_int_annotations),
      cmocka_unit_test(test_decimals_and_strings),
      cmocka_unit_test(test_legacy_lists),
      cmocka_unit_test(test_bit_packed_levels),
      cmocka_unit_test(test_unsupported_and_corrupt),
      cmocka_unit_test(test_amplification),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
