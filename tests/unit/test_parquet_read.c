/*
 * Parquet reader against files written by DuckDB 1.5 (tests/data): every
 * floe type incl. lists and nulls, dictionary and plain, zstd/snappy/gzip,
 * data page v1 and v2 (DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
 * BYTE_STREAM_SPLIT), several row groups. The files were made by
 * COPY (SELECT ... FROM range(N) t(i)) with the formulas in expect_row()
 * below; each value read is compared byte-exact with its formula.
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

static char *data_path(const char *name) {
  const char *dir = getenv("FLOE_TEST_DATA");
  static char buf[4][1024];
  static int k;
  char *p = buf[k++ & 3];
  snprintf(p, 1024, "%s/%s", dir ? dir : "tests/data", name);
  return p;
}

static uint8_t *slurp(const char *name, size_t *n) {
  FILE *f = fopen(data_path(name), "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)len);
  assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return p;
}

/* ---- expected values ---- */

static void expect_null(const col_column *c, int64_t r, bool null) {
  if (null != !col_is_valid(c, r))
    fail_msg("row %lld: expected %s", (long long)r, null ? "null" : "value");
}

static void expect_i64(const col_column *c, int64_t r, int64_t v) {
  expect_null(c, r, false);
  int64_t got;
  memcpy(&got, col_get_fixed(c, r, 8), 8);
  assert_int_equal(got, v);
}

static void expect_i32(const col_column *c, int64_t r, int32_t v) {
  expect_null(c, r, false);
  int32_t got;
  memcpy(&got, col_get_fixed(c, r, 4), 4);
  assert_int_equal(got, v);
}

static void expect_i16(const col_column *c, int64_t r, int16_t v) {
  expect_null(c, r, false);
  int16_t got;
  memcpy(&got, col_get_fixed(c, r, 2), 2);
  assert_int_equal(got, v);
}

static void expect_dec(const col_column *c, int64_t r, __int128 v) {
  expect_null(c, r, false);
  __int128 got;
  memcpy(&got, col_get_fixed(c, r, 16), 16);
  assert_true(got == v);
}

static void expect_bytes(const col_column *c, int64_t r, const void *p,
                         size_t n) {
  expect_null(c, r, false);
  size_t got;
  const uint8_t *q = col_get_bytes(c, r, &got);
  assert_int_equal(got, n);
  if (n) assert_memory_equal(q, p, n);
}

static void expect_str(const col_column *c, int64_t r, const char *s) {
  expect_bytes(c, r, s, strlen(s));
}

/* Checks row r of batch b against the formulas for source row i. Fields
 * missing from the batch's schema are skipped (projection, narrow files). */
static void expect_row(const col_batch *b, int64_t r, int64_t i) {
  const col_schema *s = b->schema;
  char buf[128];
  int f;
#define COL(name) ((f = col_schema_find(s, name)) >= 0 ? &b->cols[f] : NULL)
  const col_column *c;
  if ((c = COL("id"))) expect_i32(c, r, (int32_t)i);
  if ((c = COL("b"))) {
    expect_null(c, r, i % 7 == 3);
    if (i % 7 != 3) assert_int_equal(col_get_bool(c, r), i % 3 == 0);
  }
  if ((c = COL("i8"))) {
    expect_null(c, r, i % 7 == 4);
    if (i % 7 != 4) expect_i16(c, r, (int16_t)(i * 37 % 256 - 128));
  }
  if ((c = COL("i16"))) expect_i16(c, r, (int16_t)(i * 1000 % 60000 - 30000));
  if ((c = COL("i32"))) {
    expect_null(c, r, i % 5 == 0);
    if (i % 5) expect_i32(c, r, (int32_t)(i * 123457 - 3000000));
  }
  if ((c = COL("i64")))
    expect_i64(c, r, i * 1234567890123LL - 9000000000000000LL);
  if ((c = COL("u8"))) expect_i32(c, r, (int32_t)(i * 3 % 256));
  if ((c = COL("u16"))) expect_i32(c, r, (int32_t)(i * 1000 % 65536));
  if ((c = COL("u32"))) expect_i64(c, r, i * 80000000LL % 4294967296LL);
  if ((c = COL("f32"))) {
    expect_null(c, r, i % 8 == 7);
    if (i % 8 != 7) {
      float v = (float)(i / 4.0 - 3), got;
      memcpy(&got, col_get_fixed(c, r, 4), 4);
      assert_memory_equal(&got, &v, 4);
    }
  }
  if ((c = COL("f64"))) {
    double got;
    expect_null(c, r, false);
    memcpy(&got, col_get_fixed(c, r, 8), 8);
    if (i == 1)
      assert_true(isnan(got));
    else if (i == 2)
      assert_true(isinf(got) && got < 0);
    else if (i == 3)
      assert_true(got == 0 && signbit(got));
    else
      assert_true(got == i * 1.5 - 10);
  }
  if ((c = COL("d9"))) expect_dec(c, r, (__int128)(i * 125 - 2000));
  if ((c = COL("d18"))) expect_dec(c, r, (__int128)i * 98765432101LL - 3);
  if ((c = COL("d38"))) {
    expect_null(c, r, i % 10 == 9);
    __int128 k = (__int128)1234567890123LL * 10000000000LL + 4567890123LL;
    if (i % 10 != 9) expect_dec(c, r, (__int128)i * k - 7);
  }
  if ((c = COL("s"))) {
    expect_null(c, r, i % 6 == 5);
    if (i % 6 == 1)
      expect_str(c, r, "");
    else if (i % 6 != 5) {
      int n = snprintf(buf, sizeof buf, "row-%lld", (long long)i);
      for (int k = 0; k < i % 4; k++) n += snprintf(buf + n, 8, "\xc3\xa9");
      expect_str(c, r, buf);
    }
  }
  if ((c = COL("cat"))) {
    snprintf(buf, sizeof buf, "c%lld", (long long)(i % 3));
    expect_str(c, r, buf);
  }
  if ((c = COL("bin"))) {
    expect_null(c, r, i % 4 == 2);
    if (i % 4 != 2) {
      int n = snprintf(buf, sizeof buf, "..b%lld", (long long)i);
      buf[0] = 0;
      buf[1] = (char)0xff;
      expect_bytes(c, r, buf, (size_t)n);
    }
  }
  if ((c = COL("dt"))) expect_i32(c, r, (int32_t)(i * 400 - 10000));
  if ((c = COL("tm"))) expect_i64(c, r, i * 1734567891LL % 86400000000LL);
  int64_t ts = i * 3600000123457LL - 1000000000000000LL;
  if ((c = COL("ts"))) expect_i64(c, r, ts);
  if ((c = COL("tstz"))) expect_i64(c, r, ts);
  if ((c = COL("u"))) {
    uint8_t u[16] = {0xf0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc};
    u[1] = (uint8_t)(i >> 16);
    u[2] = (uint8_t)(i >> 8);
    u[3] = (uint8_t)i;
    uint64_t h = (uint64_t)i * 7919;
    for (int k = 0; k < 6; k++) u[15 - k] = (uint8_t)(h >> (8 * k));
    expect_null(c, r, false);
    assert_memory_equal(col_get_fixed(c, r, 16), u, 16);
  }
  if ((c = COL("li"))) {
    expect_null(c, r, i % 9 == 0);
    const int32_t *o = col_offsets(c);
    if (i % 9 == 0) {
      assert_int_equal(o[r + 1], o[r]);
    } else {
      assert_int_equal(o[r + 1] - o[r], i % 5);
      for (int64_t x = 0; x < i % 5; x++) {
        const col_column *ch = c->child;
        if (x == 2)
          expect_null(ch, o[r] + x, true);
        else
          expect_i32(ch, o[r] + x, (int32_t)(x * i));
      }
    }
  }
  if ((c = COL("ls"))) {
    expect_null(c, r, false);
    const int32_t *o = col_offsets(c);
    assert_int_equal(o[r + 1] - o[r], i % 4);
    for (int64_t x = 0; x < i % 4; x++) {
      snprintf(buf, sizeof buf, "s%lld_%lld", (long long)x, (long long)i);
      expect_str(c->child, o[r] + x, buf);
    }
  }
#undef COL
}

/* Reads all of name with opts; checks each row against the formulas.
 * keep(i) says which source rows should come back. Returns rows read. */
static int64_t read_all(const char *name, pq_reader_opts *opts,
                        bool (*keep)(int64_t), int64_t total) {
  pq_reader *r;
  floe_error e;
  floe_status st = pq_reader_open_file(data_path(name), opts, &r, &e);
  if (st) fail_msg("%s", e.msg);
  assert_int_equal(pq_reader_num_rows(r), total);
  int64_t i = 0, n = 0;
  for (;;) {
    col_batch *b;
    st = pq_reader_next(r, &b, &e);
    if (st) fail_msg("%s", e.msg);
    if (!b) break;
    assert_true(b->length > 0);
    if (opts && opts->batch_rows) assert_true(b->length <= opts->batch_rows);
    for (int64_t k = 0; k < b->length; k++) {
      while (keep && !keep(i)) i++;
      expect_row(b, k, i);
      i++;
      n++;
    }
    col_batch_free(b);
  }
  pq_reader_free(r);
  return n;
}

static void test_types_v1_zstd(void **state) {
  (void)state;
  assert_int_equal(read_all("types_zstd.parquet", NULL, NULL, 50), 50);
  pq_reader_opts o = {0};
  o.batch_rows = 7;
  assert_int_equal(read_all("types_zstd.parquet", &o, NULL, 50), 50);
}

static void test_types_v1_gzip(void **state) {
  (void)state;
  pq_reader_opts o = {0};
  o.batch_rows = 1;
  assert_int_equal(read_all("types_gzip.parquet", &o, NULL, 50), 50);
}

static void test_types_v2_snappy(void **state) {
  (void)state;
  pq_reader_opts o = {0};
  o.batch_rows = 16;
  assert_int_equal(read_all("types_v2_snappy.parquet", &o, NULL, 50), 50);
}

/* narrow uncompressed files (also the fuzz seeds): v1 PLAIN, and
 * PARQUET_VERSION v2 encodings without compression */
static void test_uncompressed(void **state) {
  (void)state;
  pq_reader_opts o = {0};
  o.batch_rows = 4;
  assert_int_equal(read_all("small_none.parquet", &o, NULL, 30), 30);
  assert_int_equal(read_all("small_v2.parquet", &o, NULL, 30), 30);
}

static void test_row_groups(void **state) {
  (void)state;
  assert_int_equal(read_all("rg.parquet", NULL, NULL, 6000), 6000);
  pq_reader_opts o = {0};
  o.batch_rows = 1000;
  assert_int_equal(read_all("rg.parquet", &o, NULL, 6000), 6000);
}

/* A reused batch (pq_reader_next_into) yields the same rows as fresh ones,
 * batch after batch, with the buffers kept between batches. */
static void test_next_into_reuses(void **state) {
  (void)state;
  pq_reader_opts o = {0};
  o.batch_rows = 700;
  pq_reader *a, *b;
  floe_error e;
  assert_int_equal(pq_reader_open_file(data_path("rg.parquet"), &o, &a, &e),
                   FLOE_OK);
  assert_int_equal(pq_reader_open_file(data_path("rg.parquet"), &o, &b, &e),
                   FLOE_OK);
  col_batch *reuse;
  assert_int_equal(col_batch_new(pq_reader_schema(b), &reuse, &e), FLOE_OK);
  int64_t rows = 0;
  const void *buf0 = NULL;
  for (;;) {
    col_batch *fresh;
    assert_int_equal(pq_reader_next(a, &fresh, &e), FLOE_OK);
    assert_int_equal(pq_reader_next_into(b, reuse, &e), FLOE_OK);
    if (!fresh) {
      assert_int_equal(reuse->length, 0);
      break;
    }
    assert_int_equal(reuse->length, fresh->length);
    for (int c = 0; c < fresh->schema->nfields; c++)
      for (int64_t i = 0; i < fresh->length; i++)
        assert_true(col_value_equal(&fresh->cols[c], i, &reuse->cols[c], i));
    if (!buf0) buf0 = reuse->cols[0].values.data;
    assert_ptr_equal(reuse->cols[0].values.data, buf0);
    rows += fresh->length;
    col_batch_free(fresh);
  }
  assert_int_equal(rows, 6000);
  /* a batch of another schema is refused */
  col_batch *other;
  assert_int_equal(col_batch_new(pq_reader_schema(a), &other, &e), FLOE_OK);
  assert_int_equal(pq_reader_next_into(b, other, &e), FLOE_EINVAL);
  col_batch_free(other);
  col_batch_free(reuse);
  pq_reader_free(a);
  pq_reader_free(b);
}

static void test_schema_and_ids(void **state) {
  (void)state;
  pq_reader *r;
  floe_error e;
  assert_int_equal(
      pq_reader_open_file(data_path("types_zstd.parquet"), NULL, &r, &e),
      FLOE_OK);
  const col_schema *s = pq_reader_schema(r);
  assert_int_equal(s->nfields, 24);
  static const struct {
    const char *name;
    col_type t;
  } want[] = {
      {"id", COL_INT32},    {"b", COL_BOOL},       {"i8", COL_INT16},
      {"i16", COL_INT16},   {"i32", COL_INT32},    {"i64", COL_INT64},
      {"u8", COL_INT32},    {"u16", COL_INT32},    {"u32", COL_INT64},
      {"f32", COL_FLOAT32}, {"f64", COL_FLOAT64},  {"d9", COL_DECIMAL},
      {"d18", COL_DECIMAL}, {"d38", COL_DECIMAL},  {"s", COL_UTF8},
      {"cat", COL_UTF8},    {"bin", COL_BINARY},   {"dt", COL_DATE},
      {"tm", COL_TIME},     {"ts", COL_TIMESTAMP}, {"tstz", COL_TIMESTAMPTZ},
      {"u", COL_UUID},      {"li", COL_LIST},      {"ls", COL_LIST}};
  for (int i = 0; i < 24; i++) {
    assert_string_equal(s->fields[i].name, want[i].name);
    assert_int_equal(s->fields[i].type.id, want[i].t);
    assert_int_equal(s->fields[i].id, i < 23 ? i + 1 : 25);
    assert_true(s->fields[i].nullable);
  }
  assert_int_equal(s->fields[13].type.precision, 38);
  assert_int_equal(s->fields[13].type.scale, 10);
  assert_int_equal(s->fields[22].type.elem, COL_INT32);
  assert_int_equal(s->fields[22].elem_id, 24);
  assert_true(s->fields[22].elem_nullable);
  assert_int_equal(s->fields[23].type.elem, COL_UTF8);
  assert_int_equal(s->fields[23].id, 25);
  assert_int_equal(s->fields[23].elem_id, 26);
  pq_reader_free(r);

  /* no field ids in the file: fields get 1..n, list elements after */
  assert_int_equal(
      pq_reader_open_file(data_path("types_v2_snappy.parquet"), NULL, &r, &e),
      FLOE_OK);
  s = pq_reader_schema(r);
  for (int i = 0; i < 24; i++) assert_int_equal(s->fields[i].id, i + 1);
  assert_int_equal(s->fields[22].elem_id, 25);
  assert_int_equal(s->fields[23].elem_id, 26);
  pq_reader_free(r);
}

static void test_projection(void **state) {
  (void)state;
  const char *cols[] = {"ls", "d38", "id"};
  pq_reader_opts o = {0};
  o.columns = cols;
  o.ncolumns = 3;
  pq_reader *r;
  floe_error e;
  assert_int_equal(
      pq_reader_open_file(data_path("types_zstd.parquet"), &o, &r, &e),
      FLOE_OK);
  const col_schema *s = pq_reader_schema(r);
  assert_int_equal(s->nfields, 3);
  assert_string_equal(s->fields[0].name, "ls");
  assert_string_equal(s->fields[2].name, "id");
  pq_reader_free(r);
  assert_int_equal(read_all("types_zstd.parquet", &o, NULL, 50), 50);

  int32_t ids[] = {23, 15};
  pq_reader_opts o2 = {0};
  o2.field_ids = ids;
  o2.nfield_ids = 2;
  o2.batch_rows = 9;
  assert_int_equal(
      pq_reader_open_file(data_path("types_gzip.parquet"), &o2, &r, &e),
      FLOE_OK);
  s = pq_reader_schema(r);
  assert_string_equal(s->fields[0].name, "li");
  assert_string_equal(s->fields[1].name, "s");
  pq_reader_free(r);
  assert_int_equal(read_all("types_gzip.parquet", &o2, NULL, 50), 50);

  const char *bad[] = {"id", "nope"};
  o.columns = bad;
  o.ncolumns = 2;
  assert_int_equal(
      pq_reader_open_file(data_path("types_zstd.parquet"), &o, &r, &e),
      FLOE_ENOTFOUND);
  assert_non_null(strstr(e.msg, "nope"));
  assert_null(r);
  int32_t badid = 99;
  o2.field_ids = &badid;
  o2.nfield_ids = 1;
  assert_int_equal(
      pq_reader_open_file(data_path("types_zstd.parquet"), &o2, &r, &e),
      FLOE_ENOTFOUND);
  /* with missing_ids_ok the absent id is left out, the rest projected */
  int32_t some[] = {99, 15, 98};
  o2.field_ids = some;
  o2.nfield_ids = 3;
  o2.missing_ids_ok = true;
  assert_int_equal(
      pq_reader_open_file(data_path("types_gzip.parquet"), &o2, &r, &e),
      FLOE_OK);
  s = pq_reader_schema(r);
  assert_int_equal(s->nfields, 1);
  assert_string_equal(s->fields[0].name, "s");
  pq_reader_free(r);
}

static bool skip3(void *ctx, int64_t row) {
  (void)ctx;
  return row % 3 == 1;
}
static bool keep3(int64_t i) { return i % 3 != 1; }

/* leaves out all of row group 1 (rows 2048..4095) and every 5th row */
static bool skip_rg(void *ctx, int64_t row) {
  (void)ctx;
  return (row >= 2048 && row < 4096) || row % 5 == 0;
}
static bool keep_rg(int64_t i) {
  return !((i >= 2048 && i < 4096) || i % 5 == 0);
}

static bool skip_all(void *ctx, int64_t row) {
  (void)ctx;
  (void)row;
  return true;
}

static void test_skip(void **state) {
  (void)state;
  pq_reader_opts o = {0};
  o.skip = skip3;
  o.batch_rows = 10;
  assert_int_equal(read_all("types_zstd.parquet", &o, keep3, 50), 33);
  assert_int_equal(read_all("types_v2_snappy.parquet", &o, keep3, 50), 33);
  o.skip = skip_rg;
  o.batch_rows = 777;
  int64_t want = 0;
  for (int64_t i = 0; i < 6000; i++) want += keep_rg(i);
  assert_int_equal(read_all("rg.parquet", &o, keep_rg, 6000), want);
  o.skip = skip_all;
  assert_int_equal(read_all("rg.parquet", &o, NULL, 6000), 0);
}

static void test_describe(void **state) {
  (void)state;
  pq_reader *r;
  floe_error e;
  assert_int_equal(pq_reader_open_file(data_path("rg.parquet"), NULL, &r, &e),
                   FLOE_OK);
  fbuf out = FBUF_INIT;
  assert_int_equal(pq_reader_describe(r, &out, &e), FLOE_OK);
  assert_int_equal(fbuf_put_u8(&out, 0, &e), FLOE_OK);
  const char *t = (const char *)out.data;
  assert_non_null(strstr(t, "created_by: DuckDB"));
  assert_non_null(strstr(t, "num_rows: 6000"));
  assert_non_null(strstr(t, "optional group li (LIST)"));
  assert_non_null(strstr(t, "optional INT32 element"));
  assert_non_null(strstr(t, "row_group 2: rows=1904"));
  assert_non_null(strstr(t, "column li.list.element: INT32 ZSTD"));
  assert_non_null(strstr(t, "PLAIN_DICTIONARY"));
  /* statistics rendered as values */
  assert_non_null(strstr(t, "min=0 max=2047"));
  assert_non_null(strstr(t, "min=c0 max=c2"));
  fbuf_free(&out);
  pq_reader_free(r);
}

/* Every truncation and a bit flip at every byte: a clean error or (for a
 * benign flip) success, never a crash; run under ASan by make test-asan. */
static floe_status read_mem(const uint8_t *p, size_t n, floe_error *e) {
  pq_source src = pq_source_mem(p, n, "mem.parquet");
  pq_reader_opts o = {0};
  o.max_alloc = 64 << 20;
  pq_reader *r;
  floe_status st = pq_reader_open(src, &o, &r, e);
  if (st) return st;
  col_batch *b;
  while ((st = pq_reader_next(r, &b, e)) == FLOE_OK && b) col_batch_free(b);
  pq_reader_free(r);
  return st;
}

static void test_hostile(void **state) {
  (void)state;
  const char *files[] = {"types_v2_snappy.parquet", "types_zstd.parquet",
                         "small_none.parquet", "small_v2.parquet"};
  for (int f = 0; f < 4; f++) {
    size_t n;
    uint8_t *p = slurp(files[f], &n);
    floe_error e;
    assert_int_equal(read_mem(p, n, &e), FLOE_OK);
    for (size_t len = 0; len < n; len++) {
      floe_status st = read_mem(p, len, &e);
      assert_int_not_equal(st, FLOE_OK);
      assert_true(strlen(e.msg) > 0);
    }
    uint8_t *q = malloc(n);
    uint32_t seed = 12345;
    int ok = 0, bad = 0;
    for (size_t i = 0; i < n; i++) {
      memcpy(q, p, n);
      seed = seed * 1103515245u + 12345u;
      q[i] ^= (uint8_t)(1u << ((seed >> 16) & 7));
      floe_status st = read_mem(q, n, &e);
      if (st == FLOE_OK) {
        ok++;
      } else {
        bad++;
        if (!(st == FLOE_ECORRUPT || st == FLOE_EUNSUPPORTED ||
              st == FLOE_ENOMEM || st == FLOE_ERANGE))
          print_message("flip at %zu: %d %s\n", i, st, e.msg);
        assert_true(st == FLOE_ECORRUPT || st == FLOE_EUNSUPPORTED ||
                    st == FLOE_ENOMEM || st == FLOE_ERANGE);
        assert_true(strlen(e.msg) > 0);
      }
    }
    /* flips in the footer, headers and compressed data are caught */
    /* (flips inside uncompressed PLAIN values are benign: a different
     * value, not a broken file) */
    assert_true(bad > (int)n / 6);
    free(q);
    free(p);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_types_v1_zstd),
      cmocka_unit_test(test_types_v1_gzip),
      cmocka_unit_test(test_types_v2_snappy),
      cmocka_unit_test(test_uncompressed),
      cmocka_unit_test(test_row_groups),
      cmocka_unit_test(test_next_into_reuses),
      cmocka_unit_test(test_schema_and_ids),
      cmocka_unit_test(test_projection),
      cmocka_unit_test(test_skip),
      cmocka_unit_test(test_describe),
      cmocka_unit_test(test_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
