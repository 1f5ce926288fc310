/*
 * Unit tests for the Parquet writer. Files are written to memory and their
 * footers and page headers decoded by a small independent thrift decoder
 * below, so layout, metadata and metrics are checked byte for byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "parquet/format.h"
#include "parquet/parquet.h"
#include "pq_write_data.h"

/* ---- a minimal thrift compact decoder (test oracle) ---- */

typedef struct tn {
  int type; /* TC_*; bools as TC_TRUE with i = 0/1 */
  int16_t id;
  int64_t i;
  const uint8_t *bin;
  size_t len;
  struct tn *kid;
  int nkid;
} tn;

typedef struct tp {
  const uint8_t *p;
  size_t len, pos;
} tp;

static uint64_t tp_varint(tp *t) {
  uint64_t v = 0;
  for (int sh = 0;; sh += 7) {
    assert_true(t->pos < t->len && sh < 64);
    uint8_t c = t->p[t->pos++];
    v |= (uint64_t)(c & 0x7F) << sh;
    if (!(c & 0x80)) return v;
  }
}

static int64_t unzig(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static void tp_value(tp *t, int type, tn *n);

static void tn_push(tn *n, const tn *k) {
  n->kid = realloc(n->kid, (size_t)(n->nkid + 1) * sizeof *n->kid);
  n->kid[n->nkid++] = *k;
}

static void tp_struct(tp *t, tn *n) {
  memset(n, 0, sizeof *n);
  n->type = TC_STRUCT;
  int16_t last = 0;
  for (;;) {
    assert_true(t->pos < t->len);
    uint8_t b = t->p[t->pos++];
    if (b == 0) return;
    int type = b & 0x0F;
    int16_t id =
        (b >> 4) ? (int16_t)(last + (b >> 4)) : (int16_t)unzig(tp_varint(t));
    last = id;
    tn k;
    memset(&k, 0, sizeof k);
    if (type == TC_TRUE || type == TC_FALSE) {
      k.type = TC_TRUE;
      k.i = type == TC_TRUE;
    } else {
      tp_value(t, type, &k);
    }
    k.id = id;
    tn_push(n, &k);
  }
}

static void tp_value(tp *t, int type, tn *n) {
  memset(n, 0, sizeof *n);
  n->type = type;
  switch (type) {
  case TC_BYTE:
    assert_true(t->pos < t->len);
    n->i = (int8_t)t->p[t->pos++];
    return;
  case TC_I16:
  case TC_I32:
  case TC_I64: n->i = unzig(tp_varint(t)); return;
  case TC_DOUBLE: t->pos += 8; return;
  case TC_BINARY:
    n->len = (size_t)tp_varint(t);
    assert_true(n->len <= t->len - t->pos);
    n->bin = t->p + t->pos;
    t->pos += n->len;
    return;
  case TC_STRUCT: tp_struct(t, n); return;
  case TC_LIST: {
    assert_true(t->pos < t->len);
    uint8_t h = t->p[t->pos++];
    size_t cnt = h >> 4;
    int et = h & 0x0F;
    if (cnt == 15) cnt = (size_t)tp_varint(t);
    for (size_t i = 0; i < cnt; i++) {
      tn k;
      if (et == TC_TRUE || et == TC_FALSE) {
        memset(&k, 0, sizeof k);
        k.type = TC_TRUE;
        k.i = t->p[t->pos++] == 1;
      } else {
        tp_value(t, et, &k);
      }
      tn_push(n, &k);
    }
    n->type = TC_LIST;
    return;
  }
  default: fail_msg("thrift type %d", type);
  }
}

static void tn_free(tn *n) {
  for (int i = 0; i < n->nkid; i++) tn_free(&n->kid[i]);
  free(n->kid);
}

/* Field id of struct s, or NULL. */
static tn *tf(tn *s, int id) {
  assert_non_null(s);
  for (int i = 0; i < s->nkid; i++)
    if (s->kid[i].id == id) return &s->kid[i];
  return NULL;
}
static int64_t tfi(tn *s, int id) {
  tn *f = tf(s, id);
  assert_non_null(f);
  return f->i;
}
static tn *tl(tn *l, int k) {
  assert_non_null(l);
  assert_true(k < l->nkid);
  return &l->kid[k];
}
static void assert_tstr(tn *n, const char *s) {
  assert_non_null(n);
  assert_int_equal(n->len, strlen(s));
  assert_memory_equal(n->bin, s, n->len);
}

/* Decodes the footer of file f, checking the magic at both ends and that
 * the footer length covers exactly the FileMetaData. */
static void parse_footer(const fbuf *f, tn *root) {
  assert_true(f->len >= 12);
  assert_memory_equal(f->data, "PAR1", 4);
  assert_memory_equal(f->data + f->len - 4, "PAR1", 4);
  uint32_t flen = fle32(f->data + f->len - 8);
  assert_true(flen <= f->len - 12);
  tp t = {f->data + f->len - 8 - flen, flen, 0};
  tp_struct(&t, root);
  assert_int_equal(t.pos, flen);
}

/* Decodes the page header at off; *body gets the offset past it. */
static void parse_page_header(const fbuf *f, int64_t off, tn *h, size_t *body) {
  tp t = {f->data, f->len, (size_t)off};
  tp_struct(&t, h);
  *body = t.pos;
}

/* ---- helpers ---- */

static col_dtype ty(col_type id) { return pqd_t(id, 0, 0); }

static pq_writer *open_buf(col_schema *s, const pq_writer_opts *o, fbuf *out) {
  pq_writer *w = NULL;
  floe_error e;
  pq_sink sink = {pq_sink_buf_write, out};
  assert_int_equal(pq_writer_open(s, o, sink, &w, &e), FLOE_OK);
  return w;
}

static void close_ok(pq_writer *w, pq_file_metrics *m) {
  floe_error e;
  floe_status st = pq_writer_close(w, m, &e);
  if (st) fail_msg("close: %s", e.msg);
  pq_writer_free(w);
}

static void write_ok(pq_writer *w, col_batch *b) {
  floe_error e;
  floe_status st = pq_writer_write(w, b, &e);
  if (st) fail_msg("write: %s", e.msg);
}

/* Minimal big-endian two's complement of v (Iceberg decimal bounds). */
static size_t min_be(pqd_i128 v, uint8_t out[16]) {
  uint8_t be[16];
  for (int i = 0; i < 16; i++)
    be[15 - i] = (uint8_t)((__uint128_t)v >> (8 * i));
  int i = 0;
  while (i < 15 && ((be[i] == 0 && !(be[i + 1] & 0x80)) ||
                    (be[i] == 0xFF && (be[i + 1] & 0x80))))
    i++;
  memcpy(out, be + i, (size_t)(16 - i));
  return (size_t)(16 - i);
}

static void assert_bound(const fbuf *b, const void *exp, size_t n) {
  assert_int_equal(b->len, n);
  if (n) assert_memory_equal(b->data, exp, n);
}

/* ---- tests ---- */

enum { ROWS = 3000 };

static void test_all_types_footer_and_metrics(void **state) {
  (void)state;
  floe_error e;
  col_schema *s;
  assert_int_equal(pqd_schema(&s, &e), FLOE_OK);
  fbuf out = FBUF_INIT;
  pq_writer *w = open_buf(s, NULL, &out);
  for (int64_t from = 0; from < ROWS; from += 700) {
    col_batch *b;
    assert_int_equal(col_batch_new(s, &b, &e), FLOE_OK);
    int64_t n = ROWS - from < 700 ? ROWS - from : 700;
    assert_int_equal(pqd_fill(b, from, n, &e), FLOE_OK);
    write_ok(w, b);
    col_batch_free(b);
  }
  pq_file_metrics m;
  close_ok(w, &m);

  tn root;
  parse_footer(&out, &root);
  assert_int_equal(tfi(&root, 1), 1);
  assert_int_equal(tfi(&root, 3), ROWS);
  assert_tstr(tf(&root, 6), "floe version 0.1.0");
  tn *schema = tf(&root, 2);
  assert_int_equal(schema->nkid, 1 + 17 + 2 * 3);
  assert_tstr(tf(tl(schema, 0), 4), "schema");
  assert_int_equal(tfi(tl(schema, 0), 5), PQD_NFIELDS);
  assert_null(tf(tl(schema, 0), 9));
  /* i16: INT32, INT_16 and INTEGER(16, signed) */
  tn *i16 = tl(schema, 2);
  assert_int_equal(tfi(i16, 1), PQT_INT32);
  assert_int_equal(tfi(i16, 3), PQR_REQUIRED);
  assert_int_equal(tfi(i16, 6), PQCT_INT_16);
  assert_int_equal(tfi(i16, 9), 2);
  tn *it = tf(tf(i16, 10), PQL_INTEGER);
  assert_int_equal(tfi(it, 1), 16);
  assert_int_equal(tfi(it, 2), 1);
  /* decimal(38,10): FLBA(16) */
  tn *d38 = tl(schema, 9);
  assert_tstr(tf(d38, 4), "d38");
  assert_int_equal(tfi(d38, 1), PQT_FIXED_LEN_BYTE_ARRAY);
  assert_int_equal(tfi(d38, 2), 16);
  assert_int_equal(tfi(d38, 3), PQR_OPTIONAL);
  assert_int_equal(tfi(d38, 6), PQCT_DECIMAL);
  assert_int_equal(tfi(d38, 7), 10);
  assert_int_equal(tfi(d38, 8), 38);
  assert_int_equal(tfi(tf(tf(d38, 10), PQL_DECIMAL), 2), 38);
  /* timestamptz: TIMESTAMP(true, MICROS) + TIMESTAMP_MICROS; timestamp has
   * no converted type */
  tn *tz = tl(schema, 16);
  assert_int_equal(tfi(tz, 6), PQCT_TIMESTAMP_MICROS);
  tn *tsl = tf(tf(tz, 10), PQL_TIMESTAMP);
  assert_int_equal(tfi(tsl, 1), 1);
  assert_non_null(tf(tf(tsl, 2), PQU_MICROS));
  assert_null(tf(tl(schema, 15), 6));
  assert_non_null(tf(tf(tl(schema, 17), 10), PQL_UUID));
  /* list<int32>: group (LIST, id 18) / repeated "list" (no id) / element */
  tn *l = tl(schema, 18), *mid = tl(schema, 19), *el = tl(schema, 20);
  assert_tstr(tf(l, 4), "l");
  assert_int_equal(tfi(l, 5), 1);
  assert_int_equal(tfi(l, 6), PQCT_LIST);
  assert_int_equal(tfi(l, 9), 18);
  assert_null(tf(l, 1));
  assert_tstr(tf(mid, 4), "list");
  assert_int_equal(tfi(mid, 3), PQR_REPEATED);
  assert_null(tf(mid, 9));
  assert_tstr(tf(el, 4), "element");
  assert_int_equal(tfi(el, 9), 19);
  assert_int_equal(tfi(el, 3), PQR_OPTIONAL);
  assert_int_equal(tfi(tl(schema, 23), 3), PQR_REQUIRED); /* ls element */
  /* column orders: TYPE_ORDER per leaf */
  tn *co = tf(&root, 7);
  assert_int_equal(co->nkid, PQD_NFIELDS);
  assert_non_null(tf(tl(co, 0), 1));

  tn *rgs = tf(&root, 4);
  assert_int_equal(rgs->nkid, 1);
  tn *rg = tl(rgs, 0);
  assert_int_equal(tfi(rg, 3), ROWS);
  assert_int_equal(tfi(rg, 5), 4);
  assert_int_equal(tfi(rg, 7), 0);
  tn *cols = tf(rg, 1);
  assert_int_equal(cols->nkid, PQD_NFIELDS);
  int64_t total_c = 0;
  for (int i = 0; i < PQD_NFIELDS; i++) {
    tn *md = tf(tl(cols, i), 3);
    assert_int_equal(tfi(md, 4), PQ_CODEC_ZSTD);
    assert_int_equal(tfi(md, 5), m.columns[i].value_count);
    assert_int_equal(tfi(md, 7), m.columns[i].column_size);
    assert_int_equal(tfi(tf(md, 12), 3), m.columns[i].null_count);
    assert_int_equal(tfi(tl(cols, i), 2),
                     tf(md, 11) ? tfi(md, 11) : tfi(md, 9));
    total_c += tfi(md, 7);
  }
  assert_int_equal(tfi(rg, 6), total_c);
  /* list leaf path */
  tn *path = tf(tf(tl(cols, 17), 3), 3);
  assert_int_equal(path->nkid, 3);
  assert_tstr(tl(path, 2), "element");

  /* metrics */
  assert_int_equal(m.record_count, ROWS);
  assert_int_equal(m.file_size, (int64_t)out.len);
  assert_int_equal(m.ncolumns, PQD_NFIELDS);
  assert_int_equal(m.nsplits, 1);
  assert_int_equal(m.split_offsets[0], 4);
  int64_t nulls[PQD_NFIELDS] = {0}, nans = 0, lvals = 0, lnulls = 0;
  int64_t lsvals = 0, lsnulls = 0;
  int32_t i32min = INT32_MAX, i32max = INT32_MIN;
  float fmin = INFINITY, fmax = -INFINITY;
  pqd_i128 d38min = 0, d38max = 0;
  bool d38any = false;
  uint8_t umin[16], umax[16], binmax[4];
  size_t binmaxn = 0;
  bool uany = false, bany = false;
  for (int64_t i = 0; i < ROWS; i++) {
    bool bv;
    int32_t x;
    float f;
    int64_t v64;
    pqd_i128 d;
    uint8_t u[16];
    char sb[64];
    size_t n;
    nulls[0] += !pqd_b(i, &bv);
    if (pqd_i32(i, &x)) {
      i32min = x < i32min ? x : i32min;
      i32max = x > i32max ? x : i32max;
    } else {
      nulls[2]++;
    }
    if (!pqd_f32(i, &f))
      nulls[4]++;
    else if (isnan(f))
      nans++;
    else {
      fmin = f < fmin ? f : fmin;
      fmax = f > fmax ? f : fmax;
    }
    nulls[6] += !pqd_d9(i, &v64);
    if (pqd_d38(i, &d)) {
      if (!d38any || d < d38min) d38min = d;
      if (!d38any || d > d38max) d38max = d;
      d38any = true;
    } else {
      nulls[8]++;
    }
    nulls[9] += !pqd_s(i, sb, sizeof sb);
    if (pqd_bin(i, u, &n)) {
      int c = memcmp(u, binmax, n < binmaxn ? n : binmaxn);
      if (!bany || c > 0 || (c == 0 && n > binmaxn)) {
        memcpy(binmax, u, n);
        binmaxn = n;
      }
      bany = true;
    } else {
      nulls[11]++;
    }
    nulls[13] += !pqd_time(i, &v64);
    nulls[15] += !pqd_tz(i, &v64);
    if (pqd_uuid(i, u)) {
      if (!uany || memcmp(u, umin, 16) < 0) memcpy(umin, u, 16);
      if (!uany || memcmp(u, umax, 16) > 0) memcpy(umax, u, 16);
      uany = true;
    } else {
      nulls[16]++;
    }
    int nl = pqd_l(i);
    if (nl <= 0) {
      lvals++;
      lnulls++;
    } else {
      for (int k = 0; k < nl; k++) {
        lvals++;
        lnulls += !pqd_l_elem(i, k, &x);
      }
    }
    int ns = pqd_ls(i);
    lsvals += ns ? ns : 1;
    lsnulls += ns ? 0 : 1;
  }
  for (int i = 0; i < PQD_NFIELDS; i++) {
    pq_column_metrics *c = &m.columns[i];
    int64_t expv = i == 17 ? lvals : i == 18 ? lsvals : ROWS;
    int64_t expn = i == 17 ? lnulls : i == 18 ? lsnulls : nulls[i];
    assert_int_equal(c->value_count, expv);
    assert_int_equal(c->null_count, expn);
    assert_int_equal(c->nan_count, i == 4 ? nans : 0);
    assert_true(c->column_size > 0);
    assert_int_equal(c->has_bounds, i < 17);
  }
  assert_int_equal(m.columns[0].field_id, 1);
  assert_int_equal(m.columns[17].field_id, 19); /* list: the element's id */
  assert_int_equal(m.columns[18].field_id, 21);
  uint8_t b0 = 0, b1 = 1;
  assert_bound(&m.columns[0].lower, &b0, 1);
  assert_bound(&m.columns[0].upper, &b1, 1);
  int32_t i16lo = pqd_i16(0), i16hi = INT32_MIN; /* int16 -> 4-byte int */
  for (int64_t i = 0; i < ROWS; i++) {
    i16lo = pqd_i16(i) < i16lo ? pqd_i16(i) : i16lo;
    i16hi = pqd_i16(i) > i16hi ? pqd_i16(i) : i16hi;
  }
  assert_bound(&m.columns[1].lower, &i16lo, 4);
  assert_bound(&m.columns[1].upper, &i16hi, 4);
  assert_bound(&m.columns[2].lower, &i32min, 4);
  assert_bound(&m.columns[2].upper, &i32max, 4);
  int64_t i64lo = pqd_i64(0), i64hi = pqd_i64(ROWS - 1);
  assert_bound(&m.columns[3].lower, &i64lo, 8);
  assert_bound(&m.columns[3].upper, &i64hi, 8);
  assert_bound(&m.columns[4].lower, &fmin, 4);
  assert_bound(&m.columns[4].upper, &fmax, 4);
  double f64lo = pqd_f64(0), f64hi = pqd_f64(ROWS - 1);
  assert_bound(&m.columns[5].lower, &f64lo, 8);
  assert_bound(&m.columns[5].upper, &f64hi, 8);
  uint8_t be[16];
  size_t n = min_be(1 * 101 - 5000, be); /* d9: row 0 is null */
  assert_bound(&m.columns[6].lower, be, n);
  assert_int_equal(n, 2);
  n = min_be((ROWS - 1) * 101 - 5000, be);
  assert_bound(&m.columns[6].upper, be, n);
  n = min_be(pqd_d18(0), be);
  assert_bound(&m.columns[7].lower, be, n);
  n = min_be(d38min, be);
  assert_bound(&m.columns[8].lower, be, n);
  n = min_be(d38max, be);
  assert_bound(&m.columns[8].upper, be, n);
  assert_bound(&m.columns[9].lower, "val-0", 5);
  assert_bound(&m.columns[9].upper, "val-9", 5);
  assert_bound(&m.columns[11].lower, "", 0);
  assert_bound(&m.columns[11].upper, binmax, binmaxn);
  int32_t dlo = pqd_date(0), dhi = pqd_date(ROWS - 1);
  assert_bound(&m.columns[12].lower, &dlo, 4);
  assert_bound(&m.columns[12].upper, &dhi, 4);
  int64_t tslo = pqd_ts(0), tshi = pqd_ts(ROWS - 1);
  assert_bound(&m.columns[14].lower, &tslo, 8);
  assert_bound(&m.columns[14].upper, &tshi, 8);
  assert_bound(&m.columns[16].lower, umin, 16);
  assert_bound(&m.columns[16].upper, umax, 16);
  /* Parquet statistics agree: i32 min_value (field 6) is 4 bytes LE */
  tn *st = tf(tf(tl(cols, 2), 3), 12);
  assert_int_equal(tf(st, 6)->len, 4);
  assert_memory_equal(tf(st, 6)->bin, &i32min, 4);
  assert_memory_equal(tf(st, 5)->bin, &i32max, 4);
  /* decimal(38) statistics are the 16 FLBA bytes, big-endian */
  st = tf(tf(tl(cols, 8), 3), 12);
  assert_int_equal(tf(st, 6)->len, 16);
  assert_int_equal(tf(st, 6)->bin[0], 0xFF); /* negative min */
  assert_null(tf(st, 9));                    /* nan_count only for floats */
  assert_non_null(tf(tf(tf(tl(cols, 4), 3), 12), 9)); /* f32 nan_count */
  assert_int_equal(tfi(tf(tf(tl(cols, 4), 3), 12), 9), nans);

  tn_free(&root);
  pq_file_metrics_free(&m);
  fbuf_free(&out);
  col_schema_unref(s);
}

/* A one-field schema. */
static col_schema *schema1(col_dtype t, bool nullable) {
  col_field f = {1, "x", t, nullable, 2, true};
  col_schema *s;
  assert_int_equal(col_schema_new(&f, 1, &s, NULL), FLOE_OK);
  return s;
}

static void test_truncated_bounds(void **state) {
  (void)state;
  col_field f[3] = {{1, "s", ty(COL_UTF8), false, 0, false},
                    {2, "bin", ty(COL_BINARY), false, 0, false},
                    {3, "u", ty(COL_UTF8), false, 0, false}};
  col_schema *s;
  assert_int_equal(col_schema_new(f, 3, &s, NULL), FLOE_OK);
  col_batch *b;
  assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
  char a70[71], z20[21];
  memset(a70, 'a', 70);
  memset(z20, 'z', 20);
  uint8_t bin1[20], bin0 = 0;
  bin1[0] = 1;
  memset(bin1 + 1, 0xFF, 19);
  uint8_t u[2 + 15 * 4];
  u[0] = 'a';
  u[1] = 'b';
  for (int i = 0; i < 15; i++) memcpy(u + 2 + 4 * i, "\xF4\x8F\xBF\xBF", 4);
  col_column *c = b->cols;
  assert_int_equal(col_append_bytes(&c[0], a70, 70, NULL), FLOE_OK);
  assert_int_equal(col_append_bytes(&c[0], z20, 20, NULL), FLOE_OK);
  assert_int_equal(col_append_bytes(&c[1], bin1, 20, NULL), FLOE_OK);
  assert_int_equal(col_append_bytes(&c[1], &bin0, 1, NULL), FLOE_OK);
  assert_int_equal(col_append_bytes(&c[2], u, sizeof u, NULL), FLOE_OK);
  assert_int_equal(col_append_bytes(&c[2], "a", 1, NULL), FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  fbuf out = FBUF_INIT;
  pq_writer *w = open_buf(s, NULL, &out);
  write_ok(w, b);
  pq_file_metrics m;
  close_ok(w, &m);
  assert_true(m.columns[0].has_bounds);
  assert_bound(&m.columns[0].lower, a70, 16);
  char zup[16];
  memset(zup, 'z', 15);
  zup[15] = '{';
  assert_bound(&m.columns[0].upper, zup, 16);
  uint8_t two = 2;
  assert_bound(&m.columns[1].lower, &bin0, 1);
  assert_bound(&m.columns[1].upper, &two, 1);
  /* 17 code points: cut to 16, U+10FFFF cannot grow, so 'b' becomes 'c' */
  assert_bound(&m.columns[2].lower, "a", 1);
  assert_bound(&m.columns[2].upper, "ac", 2);
  /* Parquet stats drop min/max past 64 bytes but keep the null count */
  tn root;
  parse_footer(&out, &root);
  tn *st = tf(tf(tl(tf(tl(tf(&root, 4), 0), 1), 0), 3), 12);
  assert_null(tf(st, 5));
  assert_null(tf(st, 6));
  assert_int_equal(tfi(st, 3), 0);
  st = tf(tf(tl(tf(tl(tf(&root, 4), 0), 1), 1), 3), 12);
  assert_int_equal(tf(st, 5)->len, 20); /* binary max kept whole */
  tn_free(&root);
  pq_file_metrics_free(&m);
  fbuf_free(&out);
  col_batch_free(b);

  /* nothing to increment: no bounds at all */
  assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
  uint8_t ff[17];
  memset(ff, 0xFF, 17);
  uint8_t maxcp[17 * 4];
  for (int i = 0; i < 17; i++) memcpy(maxcp + 4 * i, "\xF4\x8F\xBF\xBF", 4);
  assert_int_equal(col_append_bytes(&b->cols[0], "short", 5, NULL), FLOE_OK);
  assert_int_equal(col_append_bytes(&b->cols[1], ff, 17, NULL), FLOE_OK);
  assert_int_equal(col_append_bytes(&b->cols[2], maxcp, sizeof maxcp, NULL),
                   FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  fbuf_reset(&out);
  w = open_buf(s, NULL, &out);
  write_ok(w, b);
  close_ok(w, &m);
  assert_true(m.columns[0].has_bounds);
  assert_false(m.columns[1].has_bounds);
  assert_false(m.columns[2].has_bounds);
  assert_int_equal(m.columns[1].lower.len, 0);
  pq_file_metrics_free(&m);
  fbuf_free(&out);
  col_batch_free(b);
  col_schema_unref(s);
}

static void test_float_nan_and_zero(void **state) {
  (void)state;
  col_field f[3] = {{1, "a", ty(COL_FLOAT64), true, 0, false},
                    {2, "n", ty(COL_FLOAT32), true, 0, false},
                    {3, "p", ty(COL_FLOAT64), false, 0, false}};
  col_schema *s;
  assert_int_equal(col_schema_new(f, 3, &s, NULL), FLOE_OK);
  col_batch *b;
  assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
  double a[4] = {NAN, 0.0, -0.0, NAN};
  double p[4] = {0.0, 2.0, 1.5, 0.0};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(col_append_f64(&b->cols[0], a[i], NULL), FLOE_OK);
    assert_int_equal(i == 2 ? col_append_null(&b->cols[1], NULL)
                            : col_append_f32(&b->cols[1], NAN, NULL),
                     FLOE_OK);
    assert_int_equal(col_append_f64(&b->cols[2], p[i], NULL), FLOE_OK);
  }
  assert_int_equal(col_append_null(&b->cols[0], NULL), FLOE_OK);
  assert_int_equal(col_append_f32(&b->cols[1], NAN, NULL), FLOE_OK);
  assert_int_equal(col_append_f64(&b->cols[2], 3.0, NULL), FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  fbuf out = FBUF_INIT;
  pq_writer *w = open_buf(s, NULL, &out);
  write_ok(w, b);
  pq_file_metrics m;
  close_ok(w, &m);
  double nz = -0.0, pz = 0.0, three = 3.0;
  assert_int_equal(m.columns[0].nan_count, 2);
  assert_int_equal(m.columns[0].null_count, 1);
  assert_true(m.columns[0].has_bounds);
  assert_bound(&m.columns[0].lower, &nz, 8); /* zero min written as -0.0 */
  assert_bound(&m.columns[0].upper, &pz, 8); /* zero max written as +0.0 */
  assert_int_equal(m.columns[1].nan_count, 4);
  assert_int_equal(m.columns[1].null_count, 1);
  assert_false(m.columns[1].has_bounds); /* only NaNs */
  assert_bound(&m.columns[2].lower, &nz, 8);
  assert_bound(&m.columns[2].upper, &three, 8);
  tn root;
  parse_footer(&out, &root);
  tn *cols = tf(tl(tf(&root, 4), 0), 1);
  tn *st = tf(tf(tl(cols, 0), 3), 12);
  assert_memory_equal(tf(st, 6)->bin, &nz, 8);
  assert_memory_equal(tf(st, 5)->bin, &pz, 8);
  assert_int_equal(tfi(st, 9), 2);
  st = tf(tf(tl(cols, 1), 3), 12);
  assert_null(tf(st, 5));
  assert_null(tf(st, 6));
  assert_int_equal(tfi(st, 9), 4);
  tn_free(&root);
  pq_file_metrics_free(&m);
  fbuf_free(&out);
  col_batch_free(b);
  col_schema_unref(s);
}

static void test_row_group_split(void **state) {
  (void)state;
  col_schema *s = schema1(ty(COL_INT64), false);
  for (int one_batch = 0; one_batch < 2; one_batch++) {
    pq_writer_opts o;
    pq_writer_opts_default(&o);
    o.row_group_bytes = 80000;
    fbuf out = FBUF_INIT;
    pq_writer *w = open_buf(s, &o, &out);
    col_batch *b;
    assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
    for (int64_t i = 0; i < 100000; i++) {
      assert_int_equal(col_append_i64(&b->cols[0], i * 3, NULL), FLOE_OK);
      if (!one_batch && (i + 1) % 1000 == 0) {
        assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
        write_ok(w, b);
        col_batch_clear(b);
      }
    }
    if (one_batch) {
      assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
      write_ok(w, b);
    }
    col_batch_free(b);
    pq_file_metrics m;
    close_ok(w, &m);
    tn root;
    parse_footer(&out, &root);
    tn *rgs = tf(&root, 4);
    assert_int_equal(rgs->nkid, m.nsplits);
    assert_true(m.nsplits >= 9 && m.nsplits <= 12);
    int64_t total = 0;
    for (int g = 0; g < rgs->nkid; g++) {
      tn *rg = tl(rgs, g);
      int64_t rows = tfi(rg, 3);
      total += rows;
      /* 8 bytes + 1 validity bit per staged row: 80000 bytes ~ 9846 rows */
      if (g + 1 < rgs->nkid) assert_true(rows >= 9000 && rows <= 10000);
      assert_int_equal(tfi(rg, 5), m.split_offsets[g]);
      assert_int_equal(tfi(rg, 7), g);
      tn *md = tf(tl(tf(rg, 1), 0), 3);
      assert_int_equal(tfi(md, 9), m.split_offsets[g]); /* first page */
      assert_int_equal(tfi(md, 5), rows);
      if (g) assert_true(m.split_offsets[g] > m.split_offsets[g - 1]);
    }
    assert_int_equal(total, 100000);
    assert_int_equal(tfi(&root, 3), 100000);
    assert_int_equal(m.split_offsets[0], 4);
    assert_int_equal(m.columns[0].value_count, 100000);
    int64_t lo = 0, hi = 99999 * 3;
    assert_bound(&m.columns[0].lower, &lo, 8);
    assert_bound(&m.columns[0].upper, &hi, 8);
    tn_free(&root);
    pq_file_metrics_free(&m);
    fbuf_free(&out);
  }
  col_schema_unref(s);
}

/* Encodings list of column 0 of row group 0 as a bit mask. */
static unsigned encodings_mask(tn *md) {
  unsigned mask = 0;
  tn *l = tf(md, 2);
  for (int i = 0; i < l->nkid; i++) mask |= 1u << tl(l, i)->i;
  return mask;
}

static void test_dictionary_and_fallback(void **state) {
  (void)state;
  col_schema *s = schema1(ty(COL_UTF8), false);
  for (int variant = 0; variant < 2; variant++) {
    pq_writer_opts o;
    pq_writer_opts_default(&o);
    if (variant == 1) o.dict_max_bytes = 1000;
    fbuf out = FBUF_INIT;
    pq_writer *w = open_buf(s, &o, &out);
    col_batch *b;
    assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
    char k[32];
    for (int i = 0; i < 10000; i++) {
      snprintf(k, sizeof k, "key-%05d", (i * 37) % 500);
      assert_int_equal(col_append_bytes(&b->cols[0], k, strlen(k), NULL),
                       FLOE_OK);
    }
    assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
    write_ok(w, b);
    col_batch_free(b);
    pq_file_metrics m;
    close_ok(w, &m);
    tn root;
    parse_footer(&out, &root);
    tn *cc = tl(tf(tl(tf(&root, 4), 0), 1), 0);
    tn *md = tf(cc, 3);
    unsigned enc = encodings_mask(md);
    if (variant == 0) {
      assert_int_equal(enc, 1u << PQE_PLAIN | 1u << PQE_RLE |
                                1u << PQE_RLE_DICTIONARY);
      int64_t doff = tfi(md, 11);
      assert_int_equal(doff, 4);
      assert_int_equal(tfi(cc, 2), 4);
      assert_true(tfi(md, 9) > doff);
      tn h;
      size_t body;
      parse_page_header(&out, doff, &h, &body);
      assert_int_equal(tfi(&h, 1), PQP_DICTIONARY_PAGE);
      assert_int_equal(tfi(&h, 2), 500 * (4 + 9));
      assert_int_equal(tfi(tf(&h, 7), 1), 500);
      assert_int_equal(tfi(tf(&h, 7), 2), PQE_PLAIN);
      assert_int_equal(body + (size_t)tfi(&h, 3), (size_t)tfi(md, 9));
      tn_free(&h);
      parse_page_header(&out, tfi(md, 9), &h, &body);
      assert_int_equal(tfi(tf(&h, 5), 2), PQE_RLE_DICTIONARY);
      assert_int_equal(tfi(tf(&h, 5), 1), 10000);
      tn_free(&h);
    } else {
      assert_int_equal(enc, 1u << PQE_PLAIN | 1u << PQE_RLE);
      assert_null(tf(md, 11));
      assert_int_equal(tfi(md, 9), 4);
    }
    assert_bound(&m.columns[0].lower, "key-00000", 9);
    assert_bound(&m.columns[0].upper, "key-00499", 9);
    tn_free(&root);
    pq_file_metrics_free(&m);
    fbuf_free(&out);
  }
  col_schema_unref(s);

  /* distinct values: a dictionary would not pay */
  s = schema1(ty(COL_INT64), false);
  pq_writer_opts o;
  pq_writer_opts_default(&o);
  o.codec = PQ_CODEC_NONE;
  fbuf out = FBUF_INIT;
  pq_writer *w = open_buf(s, &o, &out);
  col_batch *b;
  assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
  for (int i = 0; i < 5000; i++)
    assert_int_equal(col_append_i64(&b->cols[0], (int64_t)i * 7919, NULL),
                     FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  write_ok(w, b);
  col_batch_free(b);
  close_ok(w, NULL);
  tn root;
  parse_footer(&out, &root);
  tn *md = tf(tl(tf(tl(tf(&root, 4), 0), 1), 0), 3);
  assert_int_equal(encodings_mask(md), 1u << PQE_PLAIN | 1u << PQE_RLE);
  assert_null(tf(md, 11));
  tn_free(&root);
  fbuf_free(&out);
  col_schema_unref(s);
}

/* Writes one batch with codec NONE and returns the first data page's
 * header and body. */
static void one_page(col_schema *s, col_batch *b, bool v2, fbuf *out, tn *h,
                     size_t *body, int64_t *dict_off) {
  pq_writer_opts o;
  pq_writer_opts_default(&o);
  o.codec = PQ_CODEC_NONE;
  o.data_page_v2 = v2;
  pq_writer *w = open_buf(s, &o, out);
  write_ok(w, b);
  close_ok(w, NULL);
  tn root;
  parse_footer(out, &root);
  assert_int_equal(tfi(&root, 1), v2 ? 2 : 1);
  tn *md = tf(tl(tf(tl(tf(&root, 4), 0), 1), 0), 3);
  assert_int_equal(tfi(md, 4), PQ_CODEC_NONE);
  *dict_off = tf(md, 11) ? tfi(md, 11) : -1;
  parse_page_header(out, tfi(md, 9), h, body);
  tn_free(&root);
}

static void test_page_bytes(void **state) {
  (void)state;
  /* optional int32 [1, null, 3]: v1 */
  col_schema *s = schema1(ty(COL_INT32), true);
  col_batch *b;
  assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
  assert_int_equal(col_append_i32(&b->cols[0], 1, NULL), FLOE_OK);
  assert_int_equal(col_append_null(&b->cols[0], NULL), FLOE_OK);
  assert_int_equal(col_append_i32(&b->cols[0], 3, NULL), FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  fbuf out = FBUF_INIT;
  tn h;
  size_t body;
  int64_t doff;
  one_page(s, b, false, &out, &h, &body, &doff);
  const uint8_t v1[] = {2, 0, 0, 0, 0x03, 0x05, 1, 0, 0, 0, 3, 0, 0, 0};
  assert_int_equal(tfi(&h, 1), PQP_DATA_PAGE);
  assert_int_equal(tfi(&h, 2), sizeof v1);
  assert_int_equal(tfi(&h, 3), sizeof v1);
  tn *dh = tf(&h, 5);
  assert_int_equal(tfi(dh, 1), 3);
  assert_int_equal(tfi(dh, 2), PQE_PLAIN);
  assert_int_equal(tfi(dh, 3), PQE_RLE);
  assert_int_equal(tfi(dh, 4), PQE_RLE);
  assert_memory_equal(out.data + body, v1, sizeof v1);
  assert_int_equal(doff, -1);
  tn_free(&h);
  fbuf_reset(&out);

  /* v2: levels uncompressed up front, lengths in the header */
  one_page(s, b, true, &out, &h, &body, &doff);
  const uint8_t v2[] = {0x03, 0x05, 1, 0, 0, 0, 3, 0, 0, 0};
  assert_int_equal(tfi(&h, 1), PQP_DATA_PAGE_V2);
  assert_int_equal(tfi(&h, 2), sizeof v2);
  dh = tf(&h, 8);
  assert_int_equal(tfi(dh, 1), 3);
  assert_int_equal(tfi(dh, 2), 1);
  assert_int_equal(tfi(dh, 3), 3);
  assert_int_equal(tfi(dh, 4), PQE_PLAIN);
  assert_int_equal(tfi(dh, 5), 2);
  assert_int_equal(tfi(dh, 6), 0);
  assert_int_equal(tfi(dh, 7), 0); /* is_compressed = false */
  assert_memory_equal(out.data + body, v2, sizeof v2);
  tn_free(&h);
  fbuf_reset(&out);
  col_batch_free(b);
  col_schema_unref(s);

  /* list<int32>: [1, null], null, [] */
  col_dtype lt = pqd_list(COL_INT32);
  s = schema1(lt, true);
  assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
  col_column *c = &b->cols[0];
  assert_int_equal(col_append_i32(c->child, 1, NULL), FLOE_OK);
  assert_int_equal(col_append_null(c->child, NULL), FLOE_OK);
  assert_int_equal(col_list_end(c, NULL), FLOE_OK);
  assert_int_equal(col_append_null(c, NULL), FLOE_OK);
  assert_int_equal(col_list_end(c, NULL), FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  one_page(s, b, false, &out, &h, &body, &doff);
  /* rep 0,1,0,0 (width 1); def 3,2,0,1 (width 2) */
  const uint8_t lv[] = {2, 0,    0,    0,    0x03, 0x02, 3, 0, 0,
                        0, 0x03, 0x4B, 0x00, 1,    0,    0, 0};
  assert_int_equal(tfi(tf(&h, 5), 1), 4);
  assert_int_equal(tfi(&h, 2), sizeof lv);
  assert_memory_equal(out.data + body, lv, sizeof lv);
  tn_free(&h);
  fbuf_reset(&out);
  one_page(s, b, true, &out, &h, &body, &doff);
  dh = tf(&h, 8);
  assert_int_equal(tfi(dh, 1), 4); /* level entries */
  assert_int_equal(tfi(dh, 2), 3); /* not values: null elem, null, empty */
  assert_int_equal(tfi(dh, 3), 3); /* rows */
  assert_int_equal(tfi(dh, 5), 3);
  assert_int_equal(tfi(dh, 6), 2);
  const uint8_t lv2[] = {0x03, 0x02, 0x03, 0x4B, 0x00, 1, 0, 0, 0};
  assert_memory_equal(out.data + body, lv2, sizeof lv2);
  tn_free(&h);
  fbuf_reset(&out);
  col_batch_free(b);
  col_schema_unref(s);

  /* dictionary page and indices: required utf8 a,b,a,a,a,a,a,a */
  s = schema1(ty(COL_UTF8), false);
  assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
  for (int i = 0; i < 8; i++)
    assert_int_equal(col_append_bytes(&b->cols[0], i == 1 ? "b" : "a", 1, NULL),
                     FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  one_page(s, b, false, &out, &h, &body, &doff);
  const uint8_t idx[] = {1, 0x03, 0x02}; /* width 1; one bit-packed group */
  assert_int_equal(tfi(tf(&h, 5), 2), PQE_RLE_DICTIONARY);
  assert_int_equal(tfi(&h, 2), sizeof idx);
  assert_memory_equal(out.data + body, idx, sizeof idx);
  tn_free(&h);
  assert_int_equal(doff, 4);
  const uint8_t dict[] = {1, 0, 0, 0, 'a', 1, 0, 0, 0, 'b'};
  parse_page_header(&out, doff, &h, &body);
  assert_int_equal(tfi(&h, 2), sizeof dict);
  assert_memory_equal(out.data + body, dict, sizeof dict);
  tn_free(&h);
  fbuf_free(&out);
  col_batch_free(b);
  col_schema_unref(s);
}

static void test_decimal_flba(void **state) {
  (void)state;
  col_field f[2] = {{1, "a", pqd_t(COL_DECIMAL, 19, 0), false, 0, false},
                    {2, "b", pqd_t(COL_DECIMAL, 10, 2), false, 0, false}};
  col_schema *s;
  assert_int_equal(col_schema_new(f, 2, &s, NULL), FLOE_OK);
  col_batch *b;
  assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
  assert_int_equal(col_append_dec(&b->cols[0], (uint64_t)-1, -1, NULL),
                   FLOE_OK);
  assert_int_equal(col_append_dec(&b->cols[0], 258, 0, NULL), FLOE_OK);
  assert_int_equal(col_append_dec(&b->cols[1], (uint64_t)-5, -1, NULL),
                   FLOE_OK);
  assert_int_equal(col_append_dec(&b->cols[1], 7, 0, NULL), FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  pq_writer_opts o;
  pq_writer_opts_default(&o);
  o.codec = PQ_CODEC_NONE;
  fbuf out = FBUF_INIT;
  pq_writer *w = open_buf(s, &o, &out);
  write_ok(w, b);
  pq_file_metrics m;
  close_ok(w, &m);
  tn root;
  parse_footer(&out, &root);
  tn *schema = tf(&root, 2);
  /* 10^19 - 1 needs 65 bits with the sign: 9 bytes */
  assert_int_equal(tfi(tl(schema, 1), 1), PQT_FIXED_LEN_BYTE_ARRAY);
  assert_int_equal(tfi(tl(schema, 1), 2), 9);
  assert_int_equal(tfi(tl(schema, 2), 1), PQT_INT64);
  tn *md = tf(tl(tf(tl(tf(&root, 4), 0), 1), 0), 3);
  tn h;
  size_t body;
  parse_page_header(&out, tfi(md, 9), &h, &body);
  const uint8_t vals[] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                          0,    0,    0,    0,    0,    0,    0,    1,    2};
  assert_int_equal(tfi(&h, 2), sizeof vals);
  assert_memory_equal(out.data + body, vals, sizeof vals);
  tn *st = tf(md, 12);
  assert_memory_equal(tf(st, 6)->bin, vals, 9);     /* -1 */
  assert_memory_equal(tf(st, 5)->bin, vals + 9, 9); /* 258 */
  tn_free(&h);
  const uint8_t lo_a = 0xFF, hi_a[2] = {1, 2}, lo_b = 0xFB, hi_b = 7;
  assert_bound(&m.columns[0].lower, &lo_a, 1);
  assert_bound(&m.columns[0].upper, hi_a, 2);
  assert_bound(&m.columns[1].lower, &lo_b, 1);
  assert_bound(&m.columns[1].upper, &hi_b, 1);
  tn_free(&root);
  pq_file_metrics_free(&m);
  fbuf_free(&out);
  col_batch_free(b);
  col_schema_unref(s);
}

static void test_errors(void **state) {
  (void)state;
  floe_error e;
  col_schema *s = schema1(ty(COL_INT32), false);
  col_schema *n = schema1(ty(COL_INT32), true);
  col_schema *other = schema1(ty(COL_INT64), false);
  fbuf out = FBUF_INIT;
  pq_writer *w = open_buf(s, NULL, &out);
  col_batch *b;
  assert_int_equal(col_batch_new(n, &b, NULL), FLOE_OK);
  assert_int_equal(col_append_null(&b->cols[0], NULL), FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  assert_int_equal(pq_writer_write(w, b, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "required"));
  col_batch_free(b);
  assert_int_equal(col_batch_new(other, &b, NULL), FLOE_OK);
  assert_int_equal(col_append_i64(&b->cols[0], 1, NULL), FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  assert_int_equal(pq_writer_write(w, b, &e), FLOE_EINVAL);
  col_batch_free(b);
  /* nothing written: a valid empty file */
  pq_file_metrics m;
  assert_int_equal(pq_writer_close(w, &m, &e), FLOE_OK);
  assert_int_equal(m.record_count, 0);
  assert_int_equal(m.nsplits, 0);
  assert_int_equal(m.file_size, (int64_t)out.len);
  assert_false(m.columns[0].has_bounds);
  pq_file_metrics_free(&m);
  assert_int_equal(pq_writer_close(w, NULL, &e), FLOE_EINVAL);
  assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
  assert_int_equal(pq_writer_write(w, b, &e), FLOE_EINVAL);
  col_batch_free(b);
  pq_writer_free(w);
  tn root;
  parse_footer(&out, &root);
  assert_int_equal(tfi(&root, 3), 0);
  assert_int_equal(tf(&root, 4)->nkid, 0);
  tn_free(&root);
  fbuf_free(&out);

  /* required list elements with a null */
  col_field lf = {1, "l", pqd_list(COL_INT32), true, 2, false};
  col_schema *ls;
  assert_int_equal(col_schema_new(&lf, 1, &ls, NULL), FLOE_OK);
  w = open_buf(ls, NULL, &out);
  assert_int_equal(col_batch_new(ls, &b, NULL), FLOE_OK);
  assert_int_equal(col_append_null(b->cols[0].child, NULL), FLOE_OK);
  assert_int_equal(col_list_end(&b->cols[0], NULL), FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  assert_int_equal(pq_writer_write(w, b, &e), FLOE_EINVAL);
  col_batch_free(b);
  pq_writer_free(w); /* unclosed: just released */
  fbuf_free(&out);

  /* a failing sink surfaces its error */
  pq_sink bad = {NULL, NULL};
  assert_int_equal(pq_writer_open(s, NULL, bad, &w, &e), FLOE_EINVAL);
  assert_null(w);
  col_schema_unref(ls);
  col_schema_unref(s);
  col_schema_unref(n);
  col_schema_unref(other);
}

static floe_status failing_sink(void *ctx, const void *p, size_t n,
                                floe_error *err) {
  (void)p;
  int *left = ctx;
  if (*left <= 0) return ferr_set(err, FLOE_EIO, "disk full (%zu)", n);
  (*left)--;
  return FLOE_OK;
}

static void test_sinks(void **state) {
  (void)state;
  floe_error e;
  col_schema *s;
  assert_int_equal(pqd_schema(&s, &e), FLOE_OK);
  col_batch *b;
  assert_int_equal(col_batch_new(s, &b, &e), FLOE_OK);
  assert_int_equal(pqd_fill(b, 0, 500, &e), FLOE_OK);
  fbuf mem = FBUF_INIT;
  pq_writer *w = open_buf(s, NULL, &mem);
  write_ok(w, b);
  close_ok(w, NULL);
  FILE *f = tmpfile();
  assert_non_null(f);
  pq_sink fs = {pq_sink_file_write, f};
  assert_int_equal(pq_writer_open(s, NULL, fs, &w, &e), FLOE_OK);
  write_ok(w, b);
  close_ok(w, NULL);
  assert_int_equal(ftell(f), (long)mem.len);
  rewind(f);
  uint8_t *back = malloc(mem.len);
  assert_int_equal(fread(back, 1, mem.len, f), mem.len);
  assert_memory_equal(back, mem.data, mem.len);
  free(back);
  fclose(f);

  int left = 3;
  pq_sink fail = {failing_sink, &left};
  assert_int_equal(pq_writer_open(s, NULL, fail, &w, &e), FLOE_OK);
  write_ok(w, b);
  assert_int_equal(pq_writer_close(w, NULL, &e), FLOE_EIO);
  assert_non_null(strstr(e.msg, "disk full"));
  assert_int_equal(pq_writer_close(w, NULL, &e), FLOE_EINVAL);
  pq_writer_free(w);
  fbuf_free(&mem);
  col_batch_free(b);
  col_schema_unref(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_all_types_footer_and_metrics),
      cmocka_unit_test(test_truncated_bounds),
      cmocka_unit_test(test_float_nan_and_zero),
      cmocka_unit_test(test_row_group_split),
      cmocka_unit_test(test_dictionary_and_fallback),
      cmocka_unit_test(test_page_bytes),
      cmocka_unit_test(test_decimal_flba),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_sinks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
