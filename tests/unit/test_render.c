/*
 * columnar/render + columnar/ipc: the Arrow IPC stream is decoded here by a
 * small flatbuffer reader of the test's own (message framing, Schema and
 * RecordBatch tables field by field, buffer offsets, alignment and bytes);
 * csv/jsonl are compared byte for byte; parquet is read back with the
 * Parquet reader; the Arrow C stream path must give the same bytes as
 * rendering the batches directly, also for arrays with an offset; errors
 * name what is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "columnar/arrow.h"
#include "columnar/ipc.h"
#include "columnar/render.h"
#include "columnar/text.h"
#include "parquet/parquet.h"

/* ---- a table of every type, built from text ---- */

enum { NF = 15, NROWS = 5 };

static col_schema *all_schema(void) {
  col_field f[NF] = {
      {1, "id", {COL_INT64, 0, 0, 0, 0, 0}, false, 0, false},
      {2, "b", {COL_BOOL, 0, 0, 0, 0, 0}, true, 0, false},
      {3, "s", {COL_INT16, 0, 0, 0, 0, 0}, true, 0, false},
      {4, "i", {COL_INT32, 0, 0, 0, 0, 0}, true, 0, false},
      {5, "f", {COL_FLOAT32, 0, 0, 0, 0, 0}, true, 0, false},
      {6, "d", {COL_FLOAT64, 0, 0, 0, 0, 0}, true, 0, false},
      {7, "m", {COL_DECIMAL, 20, 3, 0, 0, 0}, true, 0, false},
      {8, "t", {COL_UTF8, 0, 0, 0, 0, 0}, true, 0, false},
      {9, "bin", {COL_BINARY, 0, 0, 0, 0, 0}, true, 0, false},
      {10, "dt", {COL_DATE, 0, 0, 0, 0, 0}, true, 0, false},
      {11, "tm", {COL_TIME, 0, 0, 0, 0, 0}, true, 0, false},
      {12, "ts", {COL_TIMESTAMP, 0, 0, 0, 0, 0}, true, 0, false},
      {13, "tz", {COL_TIMESTAMPTZ, 0, 0, 0, 0, 0}, true, 0, false},
      {14, "u", {COL_UUID, 0, 0, 0, 0, 0}, true, 0, false},
      {15, "li", {COL_LIST, 0, 0, COL_INT64, 0, 0}, true, 16, true},
  };
  col_schema *s = NULL;
  assert_int_equal(col_schema_new(f, NF, &s, NULL), FLOE_OK);
  return s;
}

static const char *const rows_text[NROWS][NF] = {
    {"1", "true", "-7", "42", "1.5", "-0.25", "12345.678", "plain", "\\x00ff",
     "2024-02-29", "13:45:00.5", "2024-02-29 13:45:00",
     "1999-12-31 23:59:59+00", "00112233-4455-6677-8899-aabbccddeeff",
     "[1,null,3]"},
    {"2", NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL},
    {"3", "false", "32767", "-2147483648", "NaN", "Infinity", "-0.001",
     "a,\"b\"\nc", "\\x", "0001-01-01", "00:00:00", "1970-01-01 00:00:00",
     "1970-01-01 00:00:00+00", "ffffffff-ffff-ffff-ffff-ffffffffffff", "[]"},
    {"4", "true", "0", "7", "-0", "1e+300", "-99999999999999999.999", "",
     "\\x41", "2000-01-01", "23:59:59.999999", "2262-04-11 23:47:16.854775",
     "1677-09-21 00:12:43.145225+00", "00000000-0000-0000-0000-000000000000",
     "[9223372036854775807]"},
    {"5", "false", "1", "8", "0.1", "1e-7", "0.000", "ü ✓", "\\x0102",
     "1969-12-31", "12:00:00", "1969-12-31 23:59:59.999999",
     "2038-01-19 03:14:08+00", "12345678-9abc-def0-1234-56789abcdef0",
     "[null]"},
};

static col_batch *all_batch(col_schema *s, int from, int to) {
  col_batch *b = NULL;
  assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
  for (int r = from; r < to; r++)
    for (int k = 0; k < NF; k++) {
      const char *t = rows_text[r][k];
      floe_error e;
      floe_status st = t ? col_text_append(&b->cols[k], t, strlen(t), &e)
                         : col_append_null(&b->cols[k], &e);
      if (st) fail_msg("row %d col %d: %s", r, k, e.msg);
    }
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  return b;
}

static floe_status to_buf(void *ctx, const void *p, size_t n, floe_error *err) {
  return fbuf_append(ctx, p, n, err);
}

/* Renders batches [0..2) and [2..5) of the table with opts into out. */
static floe_status render_all(const col_render_opts *o, fbuf *out,
                              floe_error *e) {
  col_schema *s = all_schema();
  col_render *r = NULL;
  floe_status st = col_render_open(s, o, to_buf, out, &r, e);
  for (int part = 0; part < 2 && !st; part++) {
    col_batch *b = all_batch(s, part ? 2 : 0, part ? NROWS : 2);
    st = col_render_batch(r, b, e);
    col_batch_free(b);
  }
  if (!st) st = col_render_finish(r, e);
  col_render_free(r);
  col_schema_unref(s);
  return st;
}

/* ---- csv / jsonl ---- */

static void test_csv_jsonl(void **state) {
  (void)state;
  fbuf out = FBUF_INIT;
  floe_error e;
  const char *cols[] = {"t", "id", "li", "m"};
  col_render_opts o = {.format = COL_FMT_CSV, .columns = cols, .ncolumns = 4};
  assert_int_equal(render_all(&o, &out, &e), FLOE_OK);
  const char *want = "t,id,li,m\n"
                     "plain,1,\"[1,null,3]\",12345.678\n"
                     ",2,,\n"
                     "\"a,\"\"b\"\"\nc\",3,[],-0.001\n"
                     "\"\",4,[9223372036854775807],-99999999999999999.999\n"
                     "ü ✓,5,[null],0.000\n";
  assert_int_equal(out.len, strlen(want));
  assert_memory_equal(out.data, want, out.len);
  fbuf_reset(&out);
  o.format = COL_FMT_JSONL;
  col_key_eq k[] = {{"id", "3"}};
  o.keys = k;
  o.nkeys = 1;
  assert_int_equal(render_all(&o, &out, &e), FLOE_OK);
  const char *wj =
      "{\"t\":\"a,\\\"b\\\"\\nc\",\"id\":3,\"li\":[],\"m\":\"-0.001\"}\n";
  assert_int_equal(out.len, strlen(wj));
  assert_memory_equal(out.data, wj, out.len);
  /* typed key match: "-7.0"? no: int16 "-7" and a uuid in upper case */
  fbuf_reset(&out);
  const char *idonly[] = {"id"};
  col_key_eq k2[] = {{"u", "00112233-4455-6677-8899-AABBCCDDEEFF"},
                     {"s", "-7"}};
  col_render_opts o2 = {.format = COL_FMT_CSV,
                        .columns = idonly,
                        .ncolumns = 1,
                        .keys = k2,
                        .nkeys = 2};
  assert_int_equal(render_all(&o2, &out, &e), FLOE_OK);
  assert_int_equal(out.len, 5);
  assert_memory_equal(out.data, "id\n1\n", 5);
  /* a key value matching nothing, and NULL never matching */
  fbuf_reset(&out);
  col_key_eq k3[] = {{"m", "12345.6780"}};
  o2.keys = k3;
  o2.nkeys = 1;
  assert_int_equal(render_all(&o2, &out, &e), FLOE_OK);
  assert_memory_equal(out.data, "id\n1\n", 5); /* decimals compare as values */
  fbuf_free(&out);
}

/* Small chunks: more sink calls, the same bytes. */
typedef struct counting {
  fbuf b;
  int calls;
  size_t max;
} counting;

static floe_status count_sink(void *ctx, const void *p, size_t n,
                              floe_error *err) {
  counting *c = ctx;
  c->calls++;
  if (n > c->max) c->max = n;
  return fbuf_append(&c->b, p, n, err);
}

static void test_chunks(void **state) {
  (void)state;
  for (int f = 1; f <= COL_FMT_MAX; f++) {
    fbuf whole = FBUF_INIT;
    col_render_opts o = {.format = (col_format)f};
    assert_int_equal(render_all(&o, &whole, NULL), FLOE_OK);
    counting c = {FBUF_INIT, 0, 0};
    col_schema *s = all_schema();
    col_render *r = NULL;
    o.chunk_bytes = 64;
    assert_int_equal(col_render_open(s, &o, count_sink, &c, &r, NULL), FLOE_OK);
    for (int part = 0; part < 2; part++) {
      col_batch *b = all_batch(s, part ? 2 : 0, part ? NROWS : 2);
      assert_int_equal(col_render_batch(r, b, NULL), FLOE_OK);
      col_batch_free(b);
    }
    assert_int_equal(col_render_finish(r, NULL), FLOE_OK);
    assert_int_equal(col_render_rows(r), NROWS);
    assert_int_equal(col_render_bytes(r), c.b.len);
    assert_int_equal(c.b.len, whole.len);
    assert_memory_equal(c.b.data, whole.data, whole.len);
    /* several writes, each about a chunk (one row or message past it) */
    assert_true(c.calls >= 3);
    col_render_free(r);
    col_schema_unref(s);
    fbuf_free(&c.b);
    fbuf_free(&whole);
  }
}

/* ---- a flatbuffer reader for the test (bounds-checked) ---- */

typedef struct fbr {
  const uint8_t *p;
  size_t n;
} fbr;

static uint32_t rd32(fbr f, size_t at) {
  assert_true(at + 4 <= f.n);
  uint32_t v;
  memcpy(&v, f.p + at, 4);
  return v;
}
static uint16_t rd16(fbr f, size_t at) {
  assert_true(at + 2 <= f.n);
  uint16_t v;
  memcpy(&v, f.p + at, 2);
  return v;
}
static int64_t rd64(fbr f, size_t at) {
  assert_true(at + 8 <= f.n);
  int64_t v;
  memcpy(&v, f.p + at, 8);
  return v;
}

/* Position of slot i of the table at t, or 0 when absent. */
static size_t slot(fbr f, size_t t, int i) {
  int32_t so = (int32_t)rd32(f, t);
  size_t vt = (size_t)((int64_t)t - so);
  uint16_t vlen = rd16(f, vt);
  if (4 + 2 * (size_t)i >= vlen) return 0;
  uint16_t off = rd16(f, vt + 4 + 2 * (size_t)i);
  return off ? t + off : 0;
}
static size_t deref(fbr f, size_t at) { return at + rd32(f, at); }
static size_t table_at(fbr f, size_t t, int i) {
  size_t s = slot(f, t, i);
  assert_true(s != 0);
  return deref(f, s);
}
static const char *str_at(fbr f, size_t t, int i, size_t *len) {
  size_t s = deref(f, slot(f, t, i));
  *len = rd32(f, s);
  assert_true(s + 4 + *len < f.n);
  assert_int_equal(f.p[s + 4 + *len], 0);
  return (const char *)f.p + s + 4;
}
static void assert_str(fbr f, size_t t, int i, const char *want) {
  size_t n;
  const char *s = str_at(f, t, i, &n);
  assert_int_equal(n, strlen(want));
  assert_memory_equal(s, want, n);
}
/* Vector at slot i: element count, *first = position of element 0. */
static uint32_t vec_at(fbr f, size_t t, int i, size_t *first) {
  size_t v = deref(f, slot(f, t, i));
  *first = v + 4;
  return rd32(f, v);
}
static int64_t scalar_or(fbr f, size_t t, int i, int size, int64_t dflt) {
  size_t s = slot(f, t, i);
  if (!s) return dflt;
  assert_int_equal(s % (size_t)size, 0); /* aligned to its size */
  return size == 1   ? f.p[s]
         : size == 2 ? (int16_t)rd16(f, s)
         : size == 4 ? (int32_t)rd32(f, s)
                     : rd64(f, s);
}

/* One encapsulated message at *pos of the stream; returns the Message table
 * and moves *pos past the message (and its body: *body gets where it
 * starts, *body_len its length). */
static fbr message(const uint8_t *p, size_t n, size_t *pos, size_t *msg,
                   size_t *body, int64_t *body_len) {
  assert_true(*pos + 8 <= n);
  assert_int_equal(*pos % 8, 0);
  assert_int_equal(fle32(p + *pos), 0xFFFFFFFFu);
  uint32_t meta = fle32(p + *pos + 4);
  assert_int_equal(meta % 8, 0);
  assert_true(meta > 0 && *pos + 8 + meta <= n);
  fbr f = {p + *pos + 8, meta};
  *msg = deref(f, 0);
  assert_int_equal(scalar_or(f, *msg, 0, 2, 0), 4); /* V5 */
  *body_len = scalar_or(f, *msg, 3, 8, 0);
  *body = *pos + 8 + meta;
  *pos = *body + (size_t)*body_len;
  assert_true(*pos <= n);
  return f;
}

static void kv_find(fbr f, size_t field, const char *key, const char *val) {
  size_t first;
  uint32_t n = vec_at(f, field, 6, &first);
  for (uint32_t i = 0; i < n; i++) {
    size_t kv = deref(f, first + 4 * i);
    size_t kl;
    const char *k = str_at(f, kv, 0, &kl);
    if (kl == strlen(key) && memcmp(k, key, kl) == 0) {
      assert_str(f, kv, 1, val);
      return;
    }
  }
  fail_msg("metadata %s missing", key);
}

static void test_ipc_schema(void **state) {
  (void)state;
  col_schema *s = all_schema();
  fbuf out = FBUF_INIT;
  assert_int_equal(col_ipc_schema(s, &out, NULL), FLOE_OK);
  size_t pos = 0, msg, body;
  int64_t blen;
  fbr f = message(out.data, out.len, &pos, &msg, &body, &blen);
  assert_int_equal(pos, out.len);
  assert_int_equal(blen, 0);
  assert_int_equal(scalar_or(f, msg, 1, 1, 0), 1); /* header: Schema */
  size_t sch = table_at(f, msg, 2);
  assert_int_equal(scalar_or(f, sch, 0, 2, 0), 0); /* little endian */
  size_t first;
  assert_int_equal(vec_at(f, sch, 1, &first), NF);
  /* type union id, then the type table's slots */
  static const struct {
    uint8_t tt;
    int64_t a, b, c; /* slot values, -1: absent */
  } want[NF] = {
      {2, 64, 1, -1},  {6, -1, -1, -1},  {2, 16, 1, -1},   {2, 32, 1, -1},
      {3, 1, -1, -1},  {3, 2, -1, -1},   {7, 20, 3, 128},  {5, -1, -1, -1},
      {4, -1, -1, -1}, {8, 0, -1, -1},   {9, 2, 64, -1},   {10, 2, -1, -1},
      {10, 2, -1, -1}, {15, 16, -1, -1}, {12, -1, -1, -1},
  };
  for (int i = 0; i < NF; i++) {
    size_t fld = deref(f, first + 4 * (size_t)i);
    assert_str(f, fld, 0, s->fields[i].name);
    assert_int_equal(scalar_or(f, fld, 1, 1, 0), s->fields[i].nullable);
    assert_int_equal(scalar_or(f, fld, 2, 1, 0), want[i].tt);
    size_t ty = table_at(f, fld, 3);
    int sizes[] = {want[i].tt == 3 || want[i].tt == 8 || want[i].tt == 9 ||
                           want[i].tt == 10
                       ? 2
                       : 4,
                   want[i].tt == 2 ? 1 : 4, 4};
    int64_t vals[] = {want[i].a, want[i].b, want[i].c};
    for (int k = 0; k < 3; k++) {
      if (vals[k] < 0 && !(want[i].tt == 10 && k == 1)) {
        assert_int_equal(slot(f, ty, k), 0);
        continue;
      }
      if (vals[k] >= 0) {
        /* Date's DAY is 0 but its default is MILLISECOND: must be there */
        assert_true(slot(f, ty, k) != 0);
        assert_int_equal(scalar_or(f, ty, k, sizes[k], -99), vals[k]);
      }
    }
    if (want[i].tt == 10) { /* timezone: "UTC" for timestamptz only */
      if (s->fields[i].type.id == COL_TIMESTAMPTZ)
        assert_str(f, ty, 1, "UTC");
      else
        assert_int_equal(slot(f, ty, 1), 0);
    }
    char id[8];
    snprintf(id, sizeof id, "%d", s->fields[i].id);
    kv_find(f, fld, "PARQUET:field_id", id);
    if (s->fields[i].type.id == COL_UUID)
      kv_find(f, fld, "ARROW:extension:name", "arrow.uuid");
    size_t kids;
    uint32_t nk = vec_at(f, fld, 5, &kids);
    assert_int_equal(nk, s->fields[i].type.id == COL_LIST ? 1 : 0);
    if (nk) {
      size_t el = deref(f, kids);
      assert_str(f, el, 0, "item");
      assert_int_equal(scalar_or(f, el, 1, 1, 0), 1);
      assert_int_equal(scalar_or(f, el, 2, 1, 0), 2); /* Int */
      size_t ety = table_at(f, el, 3);
      assert_int_equal(scalar_or(f, ety, 0, 4, 0), 64);
      kv_find(f, el, "PARQUET:field_id", "16");
    }
  }
  fbuf_free(&out);
  col_schema_unref(s);
}

/* The expected buffers of column c in pre-order (validity only when it has
 * nulls). */
static int expect_bufs(const col_column *c, const uint8_t **p, size_t *n) {
  int k = 0;
  size_t bits = ((size_t)c->length + 7) / 8;
  p[k] = c->validity.data;
  n[k++] = c->null_count ? bits : 0;
  switch (c->type.id) {
  case COL_BOOL:
    p[k] = c->values.data;
    n[k++] = bits;
    break;
  case COL_UTF8:
  case COL_BINARY:
    p[k] = c->offsets.data;
    n[k++] = ((size_t)c->length + 1) * 4;
    p[k] = c->values.data;
    n[k++] = c->values.len;
    break;
  case COL_LIST:
    p[k] = c->offsets.data;
    n[k++] = ((size_t)c->length + 1) * 4;
    k += expect_bufs(c->child, p + k, n + k);
    break;
  default:
    p[k] = c->values.data;
    n[k++] = (size_t)c->length * (size_t)col_type_width(c->type.id);
  }
  return k;
}

static void test_ipc_batch(void **state) {
  (void)state;
  col_schema *s = all_schema();
  col_batch *b = all_batch(s, 0, NROWS);
  fbuf out = FBUF_INIT;
  assert_int_equal(col_ipc_batch(b, &out, NULL), FLOE_OK);
  size_t pos = 0, msg, body;
  int64_t blen;
  fbr f = message(out.data, out.len, &pos, &msg, &body, &blen);
  assert_int_equal(pos, out.len);
  assert_int_equal(scalar_or(f, msg, 1, 1, 0), 3); /* RecordBatch */
  size_t rb = table_at(f, msg, 2);
  assert_int_equal(scalar_or(f, rb, 0, 8, 0), NROWS);
  size_t nodes, bufs;
  uint32_t nn = vec_at(f, rb, 1, &nodes);
  uint32_t nb = vec_at(f, rb, 2, &bufs);
  assert_int_equal(nn, NF + 1); /* the list's element node too */
  assert_int_equal(nodes % 8, 0);
  assert_int_equal(bufs % 8, 0);
  const uint8_t *ep[64];
  size_t en[64];
  int ne = 0, node = 0;
  for (int i = 0; i < NF; i++) {
    const col_column *c = &b->cols[i];
    assert_int_equal(rd64(f, nodes + 16 * (size_t)node), c->length);
    assert_int_equal(rd64(f, nodes + 16 * (size_t)node + 8), c->null_count);
    node++;
    if (c->type.id == COL_LIST) {
      assert_int_equal(rd64(f, nodes + 16 * (size_t)node), c->child->length);
      assert_int_equal(rd64(f, nodes + 16 * (size_t)node + 8),
                       c->child->null_count);
      node++;
    }
    ne += expect_bufs(c, ep + ne, en + ne);
  }
  assert_int_equal(nb, ne);
  int64_t expect_off = 0;
  for (int k = 0; k < ne; k++) {
    int64_t off = rd64(f, bufs + 16 * (size_t)k);
    int64_t len = rd64(f, bufs + 16 * (size_t)k + 8);
    assert_int_equal(off, expect_off);
    assert_int_equal(off % 8, 0);
    assert_int_equal(len, (int64_t)en[k]);
    if (len) assert_memory_equal(out.data + body + off, ep[k], (size_t)len);
    for (int64_t z = len; z < ((len + 7) & ~7); z++) /* zero padding */
      assert_int_equal(out.data[body + (size_t)(off + z)], 0);
    expect_off = off + ((len + 7) & ~7);
  }
  assert_int_equal(blen, expect_off);
  fbuf_reset(&out);
  assert_int_equal(col_ipc_eos(&out, NULL), FLOE_OK);
  assert_int_equal(out.len, 8);
  assert_memory_equal(out.data, "\xff\xff\xff\xff\0\0\0\0", 8);
  fbuf_free(&out);
  col_batch_free(b);
  col_schema_unref(s);
}

/* The arrow format: schema, one message per non-empty batch, end marker. */
static void test_arrow_stream(void **state) {
  (void)state;
  fbuf out = FBUF_INIT;
  col_key_eq k[] = {{"id", "9"}}; /* matches nothing: no batch messages */
  col_render_opts o = {.format = COL_FMT_ARROW, .keys = k, .nkeys = 1};
  assert_int_equal(render_all(&o, &out, NULL), FLOE_OK);
  size_t pos = 0, msg, body;
  int64_t blen;
  fbr f = message(out.data, out.len, &pos, &msg, &body, &blen);
  assert_int_equal(scalar_or(f, msg, 1, 1, 0), 1);
  assert_int_equal(out.len - pos, 8);
  fbuf_reset(&out);
  o.nkeys = 0;
  assert_int_equal(render_all(&o, &out, NULL), FLOE_OK);
  pos = 0;
  int types[4], n = 0;
  while (pos + 8 < out.len && fle32(out.data + pos + 4) != 0) {
    f = message(out.data, out.len, &pos, &msg, &body, &blen);
    assert_true(n < 4);
    types[n++] = (int)scalar_or(f, msg, 1, 1, 0);
    if (types[n - 1] == 3)
      assert_int_equal(scalar_or(f, table_at(f, msg, 2), 0, 8, 0),
                       n == 2 ? 2 : 3);
  }
  assert_int_equal(n, 3);
  assert_int_equal(types[0], 1);
  assert_int_equal(types[1], 3);
  assert_int_equal(types[2], 3);
  assert_int_equal(out.len - pos, 8);
  fbuf_free(&out);
}

/* ---- parquet ---- */

static void test_parquet(void **state) {
  (void)state;
  fbuf pq = FBUF_INIT, csv = FBUF_INIT, back = FBUF_INIT;
  const char *cols[] = {"li", "id", "u", "m", "tz", "t"};
  col_render_opts o = {
      .format = COL_FMT_PARQUET, .columns = cols, .ncolumns = 6};
  assert_int_equal(render_all(&o, &pq, NULL), FLOE_OK);
  assert_memory_equal(pq.data, "PAR1", 4);
  o.format = COL_FMT_CSV;
  assert_int_equal(render_all(&o, &csv, NULL), FLOE_OK);
  pq_reader *r = NULL;
  assert_int_equal(
      pq_reader_open(pq_source_mem(pq.data, pq.len, "out"), NULL, &r, NULL),
      FLOE_OK);
  col_schema *s = pq_reader_schema(r);
  assert_int_equal(s->nfields, 6);
  assert_string_equal(s->fields[0].name, "li");
  assert_int_equal(s->fields[0].id, 15); /* ids kept through projection */
  assert_int_equal(s->fields[0].elem_id, 16);
  assert_int_equal(s->fields[1].id, 1);
  assert_false(s->fields[1].nullable);
  col_render *rr = NULL;
  col_render_opts oc = {.format = COL_FMT_CSV};
  assert_int_equal(col_render_open(s, &oc, to_buf, &back, &rr, NULL), FLOE_OK);
  for (;;) {
    col_batch *b = NULL;
    assert_int_equal(pq_reader_next(r, &b, NULL), FLOE_OK);
    if (!b) break;
    assert_int_equal(col_render_batch(rr, b, NULL), FLOE_OK);
    col_batch_free(b);
  }
  assert_int_equal(col_render_finish(rr, NULL), FLOE_OK);
  assert_int_equal(back.len, csv.len);
  assert_memory_equal(back.data, csv.data, csv.len);
  col_render_free(rr);
  pq_reader_free(r);
  fbuf_free(&pq);
  fbuf_free(&csv);
  fbuf_free(&back);
}

/* ---- the Arrow C stream path ---- */

typedef struct src {
  col_schema *s;
  int part;
  int shift; /* export the struct arrays with offset 1 */
} src;

static floe_status next_batch(void *ctx, col_batch **out, floe_error *err) {
  (void)err;
  src *c = ctx;
  *out = NULL;
  if (c->part < 2) {
    *out = all_batch(c->s, c->part ? 2 : 0, c->part ? NROWS : 2);
    c->part++;
  }
  return FLOE_OK;
}

/* get_next wrapper that gives the struct array an offset of 1 (its first
 * row skipped): the renderer must copy those arrays, not view them. */
static int (*inner_next)(struct ArrowArrayStream *, struct ArrowArray *);
static int shifted_next(struct ArrowArrayStream *s, struct ArrowArray *a) {
  int rc = inner_next(s, a);
  if (!rc && a->release && a->length > 0) {
    a->offset = 1;
    a->length -= 1;
  }
  return rc;
}

static void test_stream(void **state) {
  (void)state;
  for (int f = 1; f <= COL_FMT_MAX; f++) {
    const char *cols[] = {"u", "li", "id", "b", "t"};
    col_key_eq k[] = {{"b", "true"}};
    for (int variant = 0; variant < 2; variant++) {
      col_render_opts o = {.format = (col_format)f};
      if (variant) {
        o.columns = cols;
        o.ncolumns = 5;
        o.keys = k;
        o.nkeys = 1;
      }
      fbuf direct = FBUF_INIT, streamed = FBUF_INIT;
      assert_int_equal(render_all(&o, &direct, NULL), FLOE_OK);
      src c = {all_schema(), 0, 0};
      struct ArrowArrayStream st;
      assert_int_equal(col_stream_export(c.s, next_batch, &c, NULL, &st, NULL),
                       FLOE_OK);
      int64_t rows = -1;
      assert_int_equal(
          col_render_stream(&st, &o, to_buf, &streamed, &rows, NULL), FLOE_OK);
      assert_int_equal(rows, variant ? 2 : NROWS);
      assert_int_equal(streamed.len, direct.len);
      assert_memory_equal(streamed.data, direct.data, direct.len);
      col_schema_unref(c.s);
      fbuf_free(&direct);
      fbuf_free(&streamed);
    }
  }
  /* offsets: rows 1 and 3, 4 (each batch less its first row) */
  fbuf want = FBUF_INIT, got = FBUF_INIT;
  col_render_opts o = {.format = COL_FMT_JSONL};
  col_schema *s = all_schema();
  col_render *r = NULL;
  assert_int_equal(col_render_open(s, &o, to_buf, &want, &r, NULL), FLOE_OK);
  int from[] = {1, 3}, to[] = {2, 5};
  for (int p = 0; p < 2; p++) {
    col_batch *b = all_batch(s, from[p], to[p]);
    assert_int_equal(col_render_batch(r, b, NULL), FLOE_OK);
    col_batch_free(b);
  }
  assert_int_equal(col_render_finish(r, NULL), FLOE_OK);
  col_render_free(r);
  src c = {s, 0, 1};
  struct ArrowArrayStream st;
  assert_int_equal(col_stream_export(s, next_batch, &c, NULL, &st, NULL),
                   FLOE_OK);
  inner_next = st.get_next;
  st.get_next = shifted_next;
  assert_int_equal(col_render_stream(&st, &o, to_buf, &got, NULL, NULL),
                   FLOE_OK);
  assert_int_equal(got.len, want.len);
  assert_memory_equal(got.data, want.data, want.len);
  col_schema_unref(s);
  fbuf_free(&want);
  fbuf_free(&got);
}

/* ---- errors ---- */

static floe_status failing_sink(void *ctx, const void *p, size_t n,
                                floe_error *err) {
  (void)ctx, (void)p, (void)n;
  return ferr_set(err, FLOE_EIO, "disk full");
}

static void test_errors(void **state) {
  (void)state;
  col_schema *s = all_schema();
  col_render *r = NULL;
  floe_error e;
  fbuf out = FBUF_INIT;
  const char *bad[] = {"id", "nope"};
  col_render_opts o = {.format = COL_FMT_CSV, .columns = bad, .ncolumns = 2};
  assert_int_equal(col_render_open(s, &o, to_buf, &out, &r, &e),
                   FLOE_ENOTFOUND);
  assert_null(r);
  assert_non_null(strstr(e.msg, "no column 'nope' (the columns are: id, b"));
  const char *twice[] = {"id", "t", "id"};
  o.columns = twice;
  o.ncolumns = 3;
  assert_int_equal(col_render_open(s, &o, to_buf, &out, &r, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "'id' is named twice"));
  col_key_eq k1[] = {{"i", "12x"}};
  col_render_opts ok = {.format = COL_FMT_CSV, .keys = k1, .nkeys = 1};
  assert_int_equal(col_render_open(s, &ok, to_buf, &out, &r, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "key i=12x"));
  col_key_eq k2[] = {{"li", "[1]"}};
  ok.keys = k2;
  assert_int_equal(col_render_open(s, &ok, to_buf, &out, &r, &e),
                   FLOE_EUNSUPPORTED);
  col_render_opts of = {.format = (col_format)9};
  assert_int_equal(col_render_open(s, &of, to_buf, &out, &r, &e), FLOE_EINVAL);
  assert_int_equal(col_format_parse("arrow"), COL_FMT_ARROW);
  assert_int_equal(col_format_parse("xml"), -1);
  assert_string_equal(col_format_name(COL_FMT_PARQUET), "parquet");
  /* a batch of another schema */
  col_render_opts oc = {.format = COL_FMT_CSV};
  assert_int_equal(col_render_open(s, &oc, to_buf, &out, &r, &e), FLOE_OK);
  col_field one = {1, "x", {COL_INT32, 0, 0, 0, 0, 0}, true, 0, false};
  col_schema *s2 = NULL;
  assert_int_equal(col_schema_new(&one, 1, &s2, NULL), FLOE_OK);
  col_batch *b2 = NULL;
  assert_int_equal(col_batch_new(s2, &b2, NULL), FLOE_OK);
  assert_int_equal(col_render_batch(r, b2, &e), FLOE_EINVAL);
  col_batch_free(b2);
  col_schema_unref(s2);
  col_render_free(r);
  /* the sink's failure comes back as it is, and the render stops */
  col_render_opts oa = {.format = COL_FMT_ARROW, .chunk_bytes = 1};
  assert_int_equal(col_render_open(s, &oa, failing_sink, NULL, &r, &e),
                   FLOE_OK);
  col_batch *b = all_batch(s, 0, 2);
  assert_int_equal(col_render_batch(r, b, &e), FLOE_EIO);
  assert_string_equal(e.msg, "disk full");
  assert_int_equal(col_render_batch(r, b, &e), FLOE_EINVAL);
  assert_int_equal(col_render_finish(r, &e), FLOE_EINVAL);
  col_batch_free(b);
  col_render_free(r);
  fbuf_free(&out);
  col_schema_unref(s);
}

/* Schemas from other producers: ids numbered when absent, zones as UTC,
 * unknown types refused. */
static void test_schema_import(void **state) {
  (void)state;
  col_schema *s = all_schema();
  struct ArrowSchema as;
  assert_int_equal(col_schema_export(s, &as, NULL), FLOE_OK);
  col_schema *back = NULL;
  assert_int_equal(col_schema_import(&as, &back, NULL), FLOE_OK);
  assert_int_equal(back->nfields, NF);
  for (int i = 0; i < NF; i++) {
    assert_string_equal(back->fields[i].name, s->fields[i].name);
    assert_int_equal(back->fields[i].id, s->fields[i].id);
    assert_int_equal(back->fields[i].nullable, s->fields[i].nullable);
    assert_memory_equal(&back->fields[i].type, &s->fields[i].type,
                        sizeof(col_dtype));
  }
  assert_int_equal(back->fields[14].elem_id, 16);
  col_schema_unref(back);
  /* without metadata: ids 1..n, then list elements */
  for (int i = 0; i < NF; i++) as.children[i]->metadata = NULL;
  as.children[14]->children[0]->metadata = NULL;
  as.children[12]->format = "tsu:Europe/Paris";
  assert_int_equal(col_schema_import(&as, &back, NULL), FLOE_OK);
  assert_int_equal(back->fields[14].id, 15);
  assert_int_equal(back->fields[14].elem_id, 16);
  assert_int_equal(back->fields[12].type.id, COL_TIMESTAMPTZ);
  col_schema_unref(back);
  floe_error e;
  as.children[3]->format = "C"; /* uint8 */
  assert_int_equal(col_schema_import(&as, &back, &e), FLOE_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "'i' has type 'C'"));
  /* the strings we replaced are not the exporter's: put them back */
  as.children[3]->format = "i";
  as.children[12]->format = "tsu:UTC";
  as.release(&as);
  col_schema_unref(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_jsonl),     cmocka_unit_test(test_chunks),
      cmocka_unit_test(test_ipc_schema),    cmocka_unit_test(test_ipc_batch),
      cmocka_unit_test(test_arrow_stream),  cmocka_unit_test(test_parquet),
      cmocka_unit_test(test_stream),        cmocka_unit_test(test_errors),
      cmocka_unit_test(test_schema_import),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
