/*
 * Randomized round trip: random schema (every floe type, lists, nullable or
 * not) and random values (nulls, empty and long strings, extreme ints, NaN,
 * -0.0, infinities, 38-digit decimals) -> pq_writer with a random codec,
 * page version and small row-group/page targets (so there are many) ->
 * pq_reader. Every value must come back byte-exact (col_value_equal), also
 * when rows are skipped by a bitmap and when columns are projected.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parquet/parquet.h"

typedef struct rng {
  uint64_t s;
} rng;

static uint64_t rnd(rng *r) {
  r->s ^= r->s << 13;
  r->s ^= r->s >> 7;
  r->s ^= r->s << 17;
  return r->s;
}
static uint64_t rn(rng *r, uint64_t n) { return n ? rnd(r) % n : 0; }
static bool rb(rng *r, int pct) { return (int)rn(r, 100) < pct; }

static const col_type scalars[] = {
    COL_BOOL,    COL_INT16,     COL_INT32,       COL_INT64,  COL_FLOAT32,
    COL_FLOAT64, COL_DECIMAL,   COL_UTF8,        COL_BINARY, COL_DATE,
    COL_TIME,    COL_TIMESTAMP, COL_TIMESTAMPTZ, COL_UUID};
#define NSCALARS ((int)(sizeof scalars / sizeof scalars[0]))

static col_dtype random_scalar(rng *r) {
  col_dtype t;
  memset(&t, 0, sizeof t);
  t.id = scalars[rn(r, NSCALARS)];
  if (t.id == COL_DECIMAL) {
    static const int ps[] = {1, 4, 9, 10, 18, 19, 25, 38};
    t.precision = (uint8_t)ps[rn(r, 8)];
    t.scale = (uint8_t)rn(r, (uint64_t)t.precision + 1);
  }
  return t;
}

static col_schema *random_schema(rng *r) {
  int n = 1 + (int)rn(r, 12);
  col_field f[16];
  char names[16][16];
  int32_t next_id = 1;
  memset(f, 0, sizeof f);
  for (int i = 0; i < n; i++) {
    snprintf(names[i], sizeof names[i], "c%d", i);
    f[i].name = names[i];
    f[i].id = next_id++;
    f[i].nullable = rb(r, 60);
    col_dtype t = random_scalar(r);
    if (rb(r, 25)) {
      col_dtype l;
      memset(&l, 0, sizeof l);
      l.id = COL_LIST;
      l.elem = t.id;
      l.elem_precision = t.precision;
      l.elem_scale = t.scale;
      t = l;
      f[i].elem_id = 1000 + i;
      f[i].elem_nullable = rb(r, 50);
    }
    f[i].type = t;
  }
  col_schema *s;
  floe_error e;
  if (col_schema_new(f, n, &s, &e)) fail_msg("%s", e.msg);
  return s;
}

static __int128 pow10_128(int p) {
  __int128 v = 1;
  for (int i = 0; i < p; i++) v *= 10;
  return v;
}

static void append_scalar(rng *r, col_column *c, col_dtype t) {
  floe_error e;
  floe_status st = FLOE_OK;
  switch (t.id) {
  case COL_BOOL: st = col_append_bool(c, rb(r, 50), &e); break;
  case COL_INT16: {
    static const int16_t ex[] = {INT16_MIN, INT16_MAX, 0, -1};
    st = col_append_i16(c, rb(r, 10) ? ex[rn(r, 4)] : (int16_t)rnd(r), &e);
    break;
  }
  case COL_INT32:
  case COL_DATE: {
    static const int32_t ex[] = {INT32_MIN, INT32_MAX, 0, -1};
    int32_t v = rb(r, 10) ? ex[rn(r, 4)] : (int32_t)rnd(r);
    if (rb(r, 40)) v = (int32_t)rn(r, 5); /* repeats: dictionaries */
    st = col_append_i32(c, v, &e);
    break;
  }
  case COL_TIME:
    st = col_append_i64(c, (int64_t)rn(r, 86400000000ULL), &e);
    break;
  case COL_INT64:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: {
    static const int64_t ex[] = {INT64_MIN, INT64_MAX, 0, -1};
    int64_t v = rb(r, 10) ? ex[rn(r, 4)] : (int64_t)rnd(r);
    if (rb(r, 30)) v = (int64_t)rn(r, 7) - 3;
    st = col_append_i64(c, v, &e);
    break;
  }
  case COL_FLOAT32: {
    static const float ex[] = {NAN, -0.0f, INFINITY, -INFINITY, 0.0f};
    float v;
    if (rb(r, 15))
      v = ex[rn(r, 5)];
    else {
      uint32_t bits = (uint32_t)rnd(r);
      memcpy(&v, &bits, 4); /* any bit pattern, NaN payloads too */
    }
    st = col_append_f32(c, v, &e);
    break;
  }
  case COL_FLOAT64: {
    static const double ex[] = {NAN, -0.0, INFINITY, -INFINITY, 0.0};
    double v;
    if (rb(r, 15))
      v = ex[rn(r, 5)];
    else if (rb(r, 50))
      v = (double)(int64_t)rn(r, 1000) / 8;
    else {
      uint64_t bits = rnd(r);
      memcpy(&v, &bits, 8);
    }
    st = col_append_f64(c, v, &e);
    break;
  }
  case COL_DECIMAL: {
    __int128 lim = pow10_128(t.precision);
    unsigned __int128 u = ((unsigned __int128)rnd(r) << 64) | rnd(r);
    __int128 v = (__int128)(u % (unsigned __int128)lim);
    if (rb(r, 10)) v = lim - 1; /* the largest of the precision */
    if (rb(r, 50)) v = -v;
    st = col_append_dec(c, (uint64_t)v, (int64_t)(v >> 64), &e);
    break;
  }
  case COL_UTF8:
  case COL_BINARY: {
    char buf[5000];
    size_t n = rb(r, 20) ? 0 : rb(r, 5) ? 1000 + rn(r, 4000) : rn(r, 20);
    if (rb(r, 40)) n = rn(r, 3); /* repeats */
    for (size_t i = 0; i < n; i++)
      buf[i] = t.id == COL_UTF8 ? (char)('a' + rn(r, 26)) : (char)rnd(r);
    st = col_append_bytes(c, buf, n, &e);
    break;
  }
  case COL_UUID: {
    uint8_t u[16];
    for (int i = 0; i < 16; i++) u[i] = (uint8_t)rnd(r);
    st = col_append_uuid(c, u, &e);
    break;
  }
  default: fail_msg("type %d", t.id);
  }
  if (st) fail_msg("%s", e.msg);
}

static void append_row(rng *r, col_column *c, const col_field *f) {
  floe_error e;
  if (f->nullable && rb(r, 15)) {
    assert_int_equal(col_append_null(c, &e), FLOE_OK);
    return;
  }
  if (f->type.id != COL_LIST) {
    append_scalar(r, c, f->type);
    return;
  }
  col_dtype et = col_dtype_elem(f->type);
  int n = rb(r, 5) ? 30 + (int)rn(r, 40) : (int)rn(r, 5);
  for (int k = 0; k < n; k++) {
    if (f->elem_nullable && rb(r, 20))
      assert_int_equal(col_append_null(c->child, &e), FLOE_OK);
    else
      append_scalar(r, c->child, et);
  }
  assert_int_equal(col_list_end(c, &e), FLOE_OK);
}

/* skip bitmap for the reader */
typedef struct bits {
  const uint8_t *b;
  int64_t n;
} bits;

static bool skip_bit(void *ctx, int64_t row) {
  const bits *s = ctx;
  assert_true(row >= 0 && row < s->n);
  return s->b[row];
}

/* Reads file back with opts; compares with ref's columns map[k] (projected
 * column k is ref column map[k]) for rows not skipped. */
static void check_read(const fbuf *file, const col_batch *ref,
                       const pq_reader_opts *o, const int *map, int nmap,
                       const uint8_t *skipped) {
  pq_source src = pq_source_mem(file->data, file->len, "roundtrip.parquet");
  pq_reader *r;
  floe_error e;
  if (pq_reader_open(src, o, &r, &e)) fail_msg("%s", e.msg);
  assert_int_equal(pq_reader_num_rows(r), ref->length);
  const col_schema *s = pq_reader_schema(r);
  assert_int_equal(s->nfields, nmap);
  for (int k = 0; k < nmap; k++) {
    const col_field *want = &ref->schema->fields[map[k]];
    assert_string_equal(s->fields[k].name, want->name);
    assert_int_equal(s->fields[k].id, want->id);
    assert_int_equal(s->fields[k].type.id, want->type.id);
    assert_int_equal(s->fields[k].nullable, want->nullable);
    if (want->type.id == COL_LIST) {
      assert_int_equal(s->fields[k].elem_id, want->elem_id);
      assert_int_equal(s->fields[k].elem_nullable, want->elem_nullable);
    }
  }
  int64_t i = 0;
  for (;;) {
    col_batch *b;
    if (pq_reader_next(r, &b, &e)) fail_msg("%s", e.msg);
    if (!b) break;
    if (o->batch_rows) assert_true(b->length <= o->batch_rows);
    for (int64_t k = 0; k < b->length; k++, i++) {
      while (skipped && skipped[i]) i++;
      assert_true(i < ref->length);
      for (int c = 0; c < nmap; c++)
        if (!col_value_equal(&b->cols[c], k, &ref->cols[map[c]], i))
          fail_msg("row %lld column %s differs", (long long)i,
                   ref->schema->fields[map[c]].name);
    }
    col_batch_free(b);
  }
  while (skipped && i < ref->length && skipped[i]) i++;
  assert_int_equal(i, ref->length);
  pq_reader_free(r);
}

/* Reads rows [first, first + n) of file (pq_reader_set_rows; rows with
 * skipped[i] left out too) and compares them with ref. */
static void check_range(const fbuf *file, const col_batch *ref,
                        pq_reader_opts *o, const uint8_t *skipped,
                        int64_t first, int64_t n) {
  pq_source src = pq_source_mem(file->data, file->len, "range.parquet");
  pq_reader *r;
  floe_error e;
  if (pq_reader_open(src, o, &r, &e)) fail_msg("%s", e.msg);
  if (pq_reader_set_rows(r, first, n, &e)) fail_msg("%s", e.msg);
  int64_t end = first + n < ref->length ? first + n : ref->length;
  int64_t i = first;
  for (;;) {
    col_batch *b;
    if (pq_reader_next(r, &b, &e))
      fail_msg("rows %lld+%lld: %s", (long long)first, (long long)n, e.msg);
    if (!b) break;
    for (int64_t k = 0; k < b->length; k++, i++) {
      while (skipped && i < end && skipped[i]) i++;
      assert_true(i < end);
      for (int c = 0; c < ref->schema->nfields; c++)
        if (!col_value_equal(&b->cols[c], k, &ref->cols[c], i))
          fail_msg("rows %lld+%lld: row %lld column %s differs",
                   (long long)first, (long long)n, (long long)i,
                   ref->schema->fields[c].name);
    }
    col_batch_free(b);
  }
  while (skipped && i < end && skipped[i]) i++;
  if (i < end)
    fail_msg("rows %lld+%lld: stopped at %lld", (long long)first, (long long)n,
             (long long)i);
  pq_reader_free(r);
}

static void one_seed(uint64_t seed) {
  rng r = {seed * 0x9E3779B97F4A7C15ULL + 1};
  for (int k = 0; k < 4; k++) rnd(&r);
  col_schema *s = random_schema(&r);
  col_batch *ref;
  floe_error e;
  assert_int_equal(col_batch_new(s, &ref, &e), FLOE_OK);
  int64_t nrows = (int64_t)rn(&r, 3000);
  if (rb(&r, 10)) nrows = 0;
  for (int64_t i = 0; i < nrows; i++)
    for (int c = 0; c < s->nfields; c++)
      append_row(&r, &ref->cols[c], &s->fields[c]);
  assert_int_equal(col_batch_seal(ref, &e), FLOE_OK);

  pq_writer_opts wo;
  pq_writer_opts_default(&wo);
  static const pq_codec codecs[] = {PQ_CODEC_NONE, PQ_CODEC_SNAPPY,
                                    PQ_CODEC_GZIP, PQ_CODEC_ZSTD};
  wo.codec = codecs[rn(&r, 4)];
  wo.data_page_v2 = rb(&r, 50);
  wo.row_group_bytes = 2000 + (int64_t)rn(&r, 100000);
  wo.page_bytes = 100 + (int64_t)rn(&r, 8000);
  wo.page_rows = rb(&r, 30) ? 1 + (int64_t)rn(&r, 400) : 0;
  wo.dict_max_bytes = rb(&r, 30) ? 64 : 1 << 20;
  fbuf file = FBUF_INIT;
  pq_writer *w;
  pq_sink sink = {pq_sink_buf_write, &file};
  if (pq_writer_open(s, &wo, sink, &w, &e)) fail_msg("%s", e.msg);
  /* write in slices of random size */
  for (int64_t at = 0; at < nrows;) {
    int64_t n = 1 + (int64_t)rn(&r, 700);
    if (n > nrows - at) n = nrows - at;
    col_batch *b;
    assert_int_equal(col_batch_new(s, &b, &e), FLOE_OK);
    for (int c = 0; c < s->nfields; c++)
      assert_int_equal(col_append_range(&b->cols[c], &ref->cols[c], at, n, &e),
                       FLOE_OK);
    assert_int_equal(col_batch_seal(b, &e), FLOE_OK);
    if (pq_writer_write(w, b, &e)) fail_msg("%s", e.msg);
    col_batch_free(b);
    at += n;
  }
  if (pq_writer_close(w, NULL, &e)) fail_msg("%s", e.msg);
  pq_writer_free(w);

  /* everything */
  int map[16];
  for (int c = 0; c < s->nfields; c++) map[c] = c;
  pq_reader_opts o;
  memset(&o, 0, sizeof o);
  o.batch_rows = 1 + (int64_t)rn(&r, 2000);
  check_read(&file, ref, &o, map, s->nfields, NULL);

  /* skip by bitmap */
  uint8_t *sk = calloc((size_t)nrows + 1, 1);
  int pct = (int)rn(&r, 101);
  for (int64_t i = 0; i < nrows; i++) sk[i] = rb(&r, pct);
  bits bs = {sk, nrows};
  o.skip = skip_bit;
  o.skip_ctx = &bs;
  check_read(&file, ref, &o, map, s->nfields, sk);

  /* row ranges (one row, a few, from the start, to the end), with and
   * without skipping */
  for (int k = 0; k < 6 && nrows; k++) {
    int64_t first = (int64_t)rn(&r, (uint64_t)nrows);
    int64_t n = k < 2 ? 1 : 1 + (int64_t)rn(&r, 300);
    if (k == 4) first = 0;
    if (k == 5) n = nrows - first + 5; /* past the end */
    o.skip = k & 1 ? skip_bit : NULL;
    check_range(&file, ref, &o, k & 1 ? sk : NULL, first, n);
  }
  o.skip = skip_bit;

  /* projection by name in a random order, with skipping */
  int nproj = 1 + (int)rn(&r, (uint64_t)s->nfields);
  for (int c = s->nfields - 1; c > 0; c--) {
    int j = (int)rn(&r, (uint64_t)c + 1);
    int t = map[c];
    map[c] = map[j];
    map[j] = t;
  }
  const char *names[16];
  int32_t ids[16];
  for (int k = 0; k < nproj; k++) {
    names[k] = s->fields[map[k]].name;
    ids[k] = s->fields[map[k]].id;
  }
  o.columns = names;
  o.ncolumns = nproj;
  check_read(&file, ref, &o, map, nproj, sk);
  /* and by field id, no skipping */
  o.columns = NULL;
  o.ncolumns = 0;
  o.field_ids = ids;
  o.nfield_ids = nproj;
  o.skip = NULL;
  check_read(&file, ref, &o, map, nproj, NULL);

  free(sk);
  fbuf_free(&file);
  col_batch_free(ref);
  col_schema_unref(s);
}

static void test_roundtrip_random(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed <= 40; seed++) one_seed(seed);
}

/* Every type at once, many rows, tiny pages: many pages and row groups. */
static void test_roundtrip_all_types(void **state) {
  (void)state;
  for (uint64_t seed = 100; seed < 104; seed++) {
    rng r = {seed};
    col_field f[2 * NSCALARS];
    char names[2 * NSCALARS][16];
    memset(f, 0, sizeof f);
    for (int i = 0; i < NSCALARS; i++) {
      col_dtype t;
      memset(&t, 0, sizeof t);
      t.id = scalars[i];
      if (t.id == COL_DECIMAL) {
        t.precision = (uint8_t)(seed == 100 ? 38 : seed == 101 ? 9 : 18);
        t.scale = 3;
      }
      snprintf(names[i], 16, "s%d", i);
      f[i] = (col_field){i + 1, names[i], t, i % 2 == 0, 0, false};
      col_dtype l = {0};
      l.id = COL_LIST;
      l.elem = t.id;
      l.elem_precision = t.precision;
      l.elem_scale = t.scale;
      snprintf(names[NSCALARS + i], 16, "l%d", i);
      f[NSCALARS + i] = (col_field){100 + i, names[NSCALARS + i], l, i % 3 != 0,
                                    200 + i, i % 2 == 1};
    }
    col_schema *s;
    floe_error e;
    assert_int_equal(col_schema_new(f, 2 * NSCALARS, &s, &e), FLOE_OK);
    col_batch *ref;
    assert_int_equal(col_batch_new(s, &ref, &e), FLOE_OK);
    for (int64_t i = 0; i < 2500; i++)
      for (int c = 0; c < s->nfields; c++)
        append_row(&r, &ref->cols[c], &s->fields[c]);
    assert_int_equal(col_batch_seal(ref, &e), FLOE_OK);
    pq_writer_opts wo;
    pq_writer_opts_default(&wo);
    wo.codec = (pq_codec[]){PQ_CODEC_ZSTD, PQ_CODEC_SNAPPY, PQ_CODEC_NONE,
                            PQ_CODEC_GZIP}[seed - 100];
    wo.data_page_v2 = seed % 2;
    wo.row_group_bytes = 60000;
    wo.page_bytes = 500;
    fbuf file = FBUF_INIT;
    pq_writer *w;
    pq_sink sink = {pq_sink_buf_write, &file};
    assert_int_equal(pq_writer_open(s, &wo, sink, &w, &e), FLOE_OK);
    if (pq_writer_write(w, ref, &e)) fail_msg("%s", e.msg);
    if (pq_writer_close(w, NULL, &e)) fail_msg("%s", e.msg);
    pq_writer_free(w);
    int map[2 * NSCALARS];
    for (int c = 0; c < s->nfields; c++) map[c] = c;
    pq_reader_opts o;
    memset(&o, 0, sizeof o);
    o.batch_rows = 333;
    check_read(&file, ref, &o, map, s->nfields, NULL);
    fbuf_free(&file);
    col_batch_free(ref);
    col_schema_unref(s);
  }
}

/* A source over a buffer that counts the bytes read through it. */
typedef struct counted {
  const fbuf *file;
  uint64_t bytes, reads;
} counted;

static floe_status counted_read(void *ctx, uint64_t off, void *buf, size_t n,
                                floe_error *err) {
  counted *c = ctx;
  (void)err;
  memcpy(buf, c->file->data + off, n);
  c->bytes += n;
  c->reads++;
  return FLOE_OK;
}

/* A one-row range of a 200k-row file (one row group, pages of 1000 rows):
 * only the pages holding the row are read, whatever the file's size. */
static void test_range_reads_little(void **state) {
  (void)state;
  col_field f[2] = {{1, "id", {COL_INT64, 0, 0, 0, 0, 0}, false, 0, false},
                    {2, "s", {COL_UTF8, 0, 0, 0, 0, 0}, true, 0, false}};
  col_schema *s;
  col_batch *b;
  floe_error e;
  assert_int_equal(col_schema_new(f, 2, &s, &e), FLOE_OK);
  assert_int_equal(col_batch_new(s, &b, &e), FLOE_OK);
  char v[32];
  const int64_t n = 200000;
  for (int64_t i = 0; i < n; i++) {
    assert_int_equal(col_append_i64(&b->cols[0], i * 3, &e), FLOE_OK);
    int k = snprintf(v, sizeof v, "value %lld", (long long)(i * 7919 % n));
    assert_int_equal(col_append_bytes(&b->cols[1], v, (size_t)k, &e), FLOE_OK);
  }
  assert_int_equal(col_batch_seal(b, &e), FLOE_OK);
  for (int v2 = 0; v2 < 2; v2++) {
    pq_writer_opts wo;
    pq_writer_opts_default(&wo);
    wo.page_rows = 1000;
    wo.data_page_v2 = v2;
    fbuf file = FBUF_INIT;
    pq_writer *w;
    pq_sink sink = {pq_sink_buf_write, &file};
    if (pq_writer_open(s, &wo, sink, &w, &e) || pq_writer_write(w, b, &e) ||
        pq_writer_close(w, NULL, &e))
      fail_msg("%s", e.msg);
    pq_writer_free(w);
    const int64_t rows[] = {0, 999, 1000, 123457, n - 1};
    for (int k = 0; k < 5; k++) {
      counted c = {&file, 0, 0};
      pq_source src = {counted_read, &c, file.len, "counted.parquet", NULL};
      pq_reader *r;
      if (pq_reader_open(src, NULL, &r, &e)) fail_msg("%s", e.msg);
      uint64_t footer = c.bytes;
      if (pq_reader_set_rows(r, rows[k], 1, &e)) fail_msg("%s", e.msg);
      col_batch *got;
      if (pq_reader_next(r, &got, &e)) fail_msg("%s", e.msg);
      assert_non_null(got);
      assert_int_equal(got->length, 1);
      assert_true(col_value_equal(&got->cols[0], 0, &b->cols[0], rows[k]));
      assert_true(col_value_equal(&got->cols[1], 0, &b->cols[1], rows[k]));
      col_batch_free(got);
      if (pq_reader_next(r, &got, &e)) fail_msg("%s", e.msg);
      assert_null(got);
      /* the page holding the row per column, plus a 128-byte header read
       * per page skipped before it (no offset index): a small part of the
       * file, and nothing of the pages after it */
      if (c.bytes - footer >= file.len / 10)
        fail_msg("row %lld: read %llu of %zu bytes", (long long)rows[k],
                 (unsigned long long)(c.bytes - footer), file.len);
      pq_reader_free(r);
    }
    fbuf_free(&file);
  }
  col_batch_free(b);
  col_schema_unref(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_random),
      cmocka_unit_test(test_roundtrip_all_types),
      cmocka_unit_test(test_range_reads_little),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
