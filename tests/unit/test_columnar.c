/* Unit tests for src/columnar: columns, append_range, lists, batches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "columnar/batch.h"
#include "columnar/column.h"

static col_dtype ty(col_type id) {
  col_dtype t = {0};
  t.id = id;
  if (id == COL_DECIMAL) {
    t.precision = 38;
    t.scale = 10;
  }
  return t;
}

static col_dtype list_of(col_type elem) {
  col_dtype t = {0};
  t.id = COL_LIST;
  t.elem = elem;
  if (elem == COL_DECIMAL) {
    t.elem_precision = 10;
    t.elem_scale = 2;
  }
  return t;
}

/* Checks the layout invariants column.h promises. */
static void check_layout(const col_column *c) {
  assert_int_equal(c->validity.len, (size_t)((c->length + 7) / 8));
  if (c->length & 7)
    assert_int_equal(c->validity.data[c->length >> 3] >> (c->length & 7), 0);
  int64_t nulls = 0;
  for (int64_t i = 0; i < c->length; i++) nulls += !col_is_valid(c, i);
  assert_int_equal(nulls, c->null_count);
  int w = col_type_width(c->type.id);
  if (c->type.id == COL_BOOL) {
    assert_int_equal(c->values.len, (size_t)((c->length + 7) / 8));
  } else if (w) {
    assert_int_equal(c->values.len, (size_t)c->length * (size_t)w);
  } else {
    assert_int_equal(c->offsets.len, (size_t)(c->length + 1) * 4);
    const int32_t *o = col_offsets(c);
    assert_int_equal(o[0], 0);
    for (int64_t i = 0; i < c->length; i++) assert_true(o[i] <= o[i + 1]);
    if (c->type.id == COL_LIST) {
      assert_int_equal(o[c->length], c->child->length);
      check_layout(c->child);
    } else {
      assert_int_equal((size_t)o[c->length], c->values.len);
    }
  }
}

/* Appends a deterministic value k (or a null when k % 5 == 3) of c's type. */
static void append_value(col_column *c, int64_t k) {
  floe_error e;
  if (k % 5 == 3) {
    assert_int_equal(col_append_null(c, &e), FLOE_OK);
    return;
  }
  char s[32];
  uint8_t u[16];
  floe_status st = FLOE_OK;
  switch (c->type.id) {
  case COL_BOOL: st = col_append_bool(c, k % 3 == 0, &e); break;
  case COL_INT16: st = col_append_i16(c, (int16_t)(k * 7 - 100), &e); break;
  case COL_INT32:
  case COL_DATE: st = col_append_i32(c, (int32_t)(k * 1000 - 7), &e); break;
  case COL_INT64:
  case COL_TIME:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: st = col_append_i64(c, k * 1000000007LL - 5, &e); break;
  case COL_FLOAT32: st = col_append_f32(c, (float)k * 0.5f, &e); break;
  case COL_FLOAT64: st = col_append_f64(c, (double)k * -0.25, &e); break;
  case COL_DECIMAL: st = col_append_dec(c, (uint64_t)k, -(k & 1), &e); break;
  case COL_UUID:
    for (int i = 0; i < 16; i++) u[i] = (uint8_t)(k + i);
    st = col_append_uuid(c, u, &e);
    break;
  case COL_UTF8:
  case COL_BINARY: {
    int n = snprintf(s, sizeof s, "v%lld", (long long)(k * k));
    st = col_append_bytes(c, s, (size_t)(n * (k % 4 != 1)), &e);
    break;
  }
  case COL_LIST:
    for (int64_t j = 0; j < k % 4; j++) append_value(c->child, k + j);
    st = col_list_end(c, &e);
    break;
  case COL_TYPE_COUNT: fail();
  }
  assert_int_equal(st, FLOE_OK);
}

/* Checks row i of c holds value k as append_value wrote it. */
static void check_value(const col_column *c, int64_t i, int64_t k) {
  if (k % 5 == 3) {
    assert_false(col_is_valid(c, i));
    return;
  }
  assert_true(col_is_valid(c, i));
  int w = col_type_width(c->type.id);
  const void *p = w ? col_get_fixed(c, i, w) : NULL;
  switch (c->type.id) {
  case COL_BOOL: assert_int_equal(col_get_bool(c, i), k % 3 == 0); break;
  case COL_INT16: {
    int16_t v;
    memcpy(&v, p, 2);
    assert_int_equal(v, (int16_t)(k * 7 - 100));
    break;
  }
  case COL_INT32:
  case COL_DATE: {
    int32_t v;
    memcpy(&v, p, 4);
    assert_int_equal(v, (int32_t)(k * 1000 - 7));
    break;
  }
  case COL_INT64:
  case COL_TIME:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: {
    int64_t v;
    memcpy(&v, p, 8);
    assert_true(v == k * 1000000007LL - 5);
    break;
  }
  case COL_FLOAT32: {
    float v;
    memcpy(&v, p, 4);
    assert_true(v == (float)k * 0.5f);
    break;
  }
  case COL_FLOAT64: {
    double v;
    memcpy(&v, p, 8);
    assert_true(v == (double)k * -0.25);
    break;
  }
  case COL_DECIMAL: {
    uint64_t v[2];
    memcpy(v, p, 16);
    assert_true(v[0] == (uint64_t)k);
    assert_true(v[1] == (uint64_t)(-(k & 1)));
    break;
  }
  case COL_UUID:
    for (int j = 0; j < 16; j++)
      assert_int_equal(((const uint8_t *)p)[j], (uint8_t)(k + j));
    break;
  case COL_UTF8:
  case COL_BINARY: {
    char s[32];
    int n = snprintf(s, sizeof s, "v%lld", (long long)(k * k));
    size_t len;
    const uint8_t *b = col_get_bytes(c, i, &len);
    assert_int_equal(len, (size_t)(n * (k % 4 != 1)));
    assert_memory_equal(b, s, len);
    break;
  }
  case COL_LIST: {
    const int32_t *o = col_offsets(c);
    assert_int_equal(o[i + 1] - o[i], k % 4);
    for (int64_t j = 0; j < k % 4; j++) check_value(c->child, o[i] + j, k + j);
    break;
  }
  case COL_TYPE_COUNT: fail();
  }
}

static void test_type_names(void **state) {
  (void)state;
  char buf[48];
  assert_string_equal(col_type_name(COL_TIMESTAMPTZ), "timestamptz");
  assert_int_equal(col_type_width(COL_DECIMAL), 16);
  assert_int_equal(col_type_width(COL_DATE), 4);
  assert_int_equal(col_type_width(COL_UTF8), 0);
  col_dtype d = {COL_DECIMAL, 10, 2, 0, 0, 0};
  assert_string_equal(col_dtype_format(d, buf, sizeof buf), "decimal(10,2)");
  assert_string_equal(col_dtype_format(list_of(COL_UTF8), buf, sizeof buf),
                      "list<utf8>");
  assert_string_equal(col_dtype_format(list_of(COL_DECIMAL), buf, sizeof buf),
                      "list<decimal(10,2)>");
  col_dtype e = col_dtype_elem(list_of(COL_DECIMAL));
  assert_int_equal(e.id, COL_DECIMAL);
  assert_int_equal(e.precision, 10);
  assert_int_equal(e.scale, 2);

  floe_error err;
  col_column c;
  col_dtype bad = {COL_DECIMAL, 39, 0, 0, 0, 0};
  assert_int_equal(col_init(&c, bad, &err), FLOE_EINVAL);
  assert_non_null(strstr(err.msg, "decimal(39,0)"));
  col_dtype nested = {COL_LIST, 0, 0, COL_LIST, 0, 0};
  assert_int_equal(col_init(&c, nested, &err), FLOE_EINVAL);
  col_dtype unknown = {COL_TYPE_COUNT, 0, 0, 0, 0, 0};
  assert_int_equal(col_dtype_check(unknown, &err), FLOE_EINVAL);
}

/* Every scalar type and every list element type: append, read back, nulls,
 * then append_range at odd offsets into a non-empty column. */
static void roundtrip_type(col_dtype t) {
  floe_error e;
  col_column c, d;
  assert_int_equal(col_init(&c, t, &e), FLOE_OK);
  const int64_t n = 203;
  for (int64_t k = 0; k < n; k++) append_value(&c, k);
  assert_int_equal(c.length, n);
  check_layout(&c);
  for (int64_t k = 0; k < n; k++) check_value(&c, k, k);

  /* d = 3 own rows + src[7, 7+150) + src[0, 1) + src[n-5, n) */
  assert_int_equal(col_init(&d, t, &e), FLOE_OK);
  for (int64_t k = 0; k < 3; k++) append_value(&d, k + 1000);
  assert_int_equal(col_append_range(&d, &c, 7, 150, &e), FLOE_OK);
  assert_int_equal(col_append_range(&d, &c, 0, 1, &e), FLOE_OK);
  assert_int_equal(col_append_range(&d, &c, n - 5, 5, &e), FLOE_OK);
  assert_int_equal(col_append_range(&d, &c, n, 0, &e), FLOE_OK);
  assert_int_equal(d.length, 3 + 150 + 1 + 5);
  check_layout(&d);
  for (int64_t k = 0; k < 3; k++) check_value(&d, k, k + 1000);
  for (int64_t k = 0; k < 150; k++) {
    check_value(&d, 3 + k, 7 + k);
    assert_true(col_value_equal(&d, 3 + k, &c, 7 + k));
  }
  check_value(&d, 153, 0);
  for (int64_t k = 0; k < 5; k++) check_value(&d, 154 + k, n - 5 + k);
  /* rows that differ compare unequal (unless both null) */
  assert_false(col_value_equal(&d, 3, &c, 9));
  assert_true(col_value_equal(&c, 3, &c, 13)); /* both null */

  assert_int_equal(col_append_range(&d, &c, n - 1, 2, &e), FLOE_EINVAL);
  assert_int_equal(col_append_range(&d, &c, -1, 1, &e), FLOE_EINVAL);

  /* truncate then re-append gives the same rows: the bitmaps' stale bits
   * were cleared */
  col_truncate(&d, 5);
  check_layout(&d);
  for (int64_t k = 0; k < 10; k++) append_value(&d, k);
  check_layout(&d);
  for (int64_t k = 0; k < 10; k++) check_value(&d, 5 + k, k);

  /* appending a column to itself (buffers move while copying) */
  for (int round = 0; round < 3; round++)
    assert_int_equal(col_append_range(&c, &c, 0, c.length, &e), FLOE_OK);
  assert_int_equal(c.length, 8 * n);
  check_layout(&c);
  for (int64_t k = 0; k < 8 * n; k += 7) check_value(&c, k, k % n);

  col_clear(&c);
  assert_int_equal(c.length, 0);
  assert_int_equal(c.null_count, 0);
  check_layout(&c);
  append_value(&c, 4);
  check_value(&c, 0, 4);
  col_free(&c);
  col_free(&d);
}

static void test_every_type(void **state) {
  (void)state;
  for (int t = 0; t < COL_LIST; t++) roundtrip_type(ty((col_type)t));
}

static void test_list_of_every_type(void **state) {
  (void)state;
  for (int t = 0; t < COL_LIST; t++) roundtrip_type(list_of((col_type)t));
}

static void test_mismatch_and_limits(void **state) {
  (void)state;
  floe_error e;
  col_column c, d;
  assert_int_equal(col_init(&c, ty(COL_INT32), &e), FLOE_OK);
  assert_int_equal(col_init(&d, ty(COL_INT64), &e), FLOE_OK);
#ifndef NDEBUG
  assert_int_equal(col_append_i64(&c, 1, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "int32"));
  assert_int_equal(c.length, 0);
#endif
  assert_int_equal(col_append_i64(&d, 1, &e), FLOE_OK);
  assert_int_equal(col_append_range(&c, &d, 0, 1, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "int64 rows into a int32 column"));
  col_free(&c);
  col_free(&d);

  /* The int32 offset limit: fake a column that already holds almost 2 GiB
   * by bumping its bookkeeping (the bytes are never touched). */
  assert_int_equal(col_init(&c, ty(COL_UTF8), &e), FLOE_OK);
  assert_int_equal(col_append_bytes(&c, "abc", 3, &e), FLOE_OK);
  size_t real = c.values.len;
  c.values.len = (size_t)INT32_MAX - 2;
  assert_int_equal(col_append_bytes(&c, "abc", 3, &e), FLOE_ERANGE);
  assert_non_null(strstr(e.msg, "2^31-1"));
  assert_int_equal(c.length, 1);
  c.values.len = real;
  col_free(&c);
}

static void test_growth_1m(void **state) {
  (void)state;
  floe_error e;
  col_column a, s, b, l;
  assert_int_equal(col_init(&a, ty(COL_INT64), &e), FLOE_OK);
  assert_int_equal(col_init(&s, ty(COL_UTF8), &e), FLOE_OK);
  assert_int_equal(col_init(&b, ty(COL_BOOL), &e), FLOE_OK);
  assert_int_equal(col_init(&l, list_of(COL_INT32), &e), FLOE_OK);
  const int64_t n = 1000000;
  for (int64_t i = 0; i < n; i++) {
    if (i % 1000 == 999) {
      assert_int_equal(col_append_null(&a, &e), FLOE_OK);
    } else {
      assert_int_equal(col_append_i64(&a, i * 3, &e), FLOE_OK);
    }
    char t[24];
    int len = snprintf(t, sizeof t, "%lld", (long long)i);
    assert_int_equal(col_append_bytes(&s, t, (size_t)len, &e), FLOE_OK);
    assert_int_equal(col_append_bool(&b, (i & 3) == 1, &e), FLOE_OK);
    assert_int_equal(col_append_i32(l.child, (int32_t)i, &e), FLOE_OK);
    assert_int_equal(col_list_end(&l, &e), FLOE_OK);
  }
  assert_int_equal(a.length, n);
  assert_int_equal(a.null_count, 1000);
  check_layout(&a);
  check_layout(&s);
  check_layout(&b);
  check_layout(&l);
  for (int64_t i = 0; i < n; i += 9973) {
    assert_int_equal(col_is_valid(&a, i), i % 1000 != 999);
    int64_t v;
    memcpy(&v, col_get_fixed(&a, i, 8), 8);
    assert_true(v == (i % 1000 == 999 ? 0 : i * 3));
    size_t len;
    const uint8_t *p = col_get_bytes(&s, i, &len);
    char t[24];
    assert_int_equal(len, (size_t)snprintf(t, sizeof t, "%lld", (long long)i));
    assert_memory_equal(p, t, len);
    assert_int_equal(col_get_bool(&b, i), (i & 3) == 1);
  }
  /* one big range copy at an unaligned offset */
  col_column a2;
  assert_int_equal(col_init(&a2, ty(COL_INT64), &e), FLOE_OK);
  assert_int_equal(col_append_i64(&a2, 42, &e), FLOE_OK);
  assert_int_equal(col_append_range(&a2, &a, 3, n - 3, &e), FLOE_OK);
  assert_int_equal(a2.null_count, 1000);
  check_layout(&a2);
  for (int64_t i = 3; i < n; i += 997)
    assert_true(col_value_equal(&a2, i - 2, &a, i));
  col_free(&a2);
  col_free(&a);
  col_free(&s);
  col_free(&b);
  col_free(&l);
}

static void test_reserve_and_nulls(void **state) {
  (void)state;
  floe_error e;
  col_column c;
  assert_int_equal(col_init(&c, ty(COL_UTF8), &e), FLOE_OK);
  assert_int_equal(col_reserve(&c, 100, 1000, &e), FLOE_OK);
  uint8_t *before = c.values.data;
  for (int i = 0; i < 100; i++)
    assert_int_equal(col_append_bytes(&c, "0123456789", 10, &e), FLOE_OK);
  assert_ptr_equal(c.values.data, before); /* no regrowth */
  assert_int_equal(col_append_nulls(&c, 20, &e), FLOE_OK);
  assert_int_equal(c.null_count, 20);
  check_layout(&c);
  assert_int_equal(col_offsets(&c)[120], 1000);
  assert_int_equal(col_reserve(&c, -1, 0, &e), FLOE_EINVAL);
  col_free(&c);
  col_free(&c); /* idempotent */
}

static void test_list_nulls_and_rollback(void **state) {
  (void)state;
  floe_error e;
  col_column l;
  assert_int_equal(col_init(&l, list_of(COL_UTF8), &e), FLOE_OK);
  /* ["a", null], null, [] */
  assert_int_equal(col_append_bytes(l.child, "a", 1, &e), FLOE_OK);
  assert_int_equal(col_append_null(l.child, &e), FLOE_OK);
  assert_int_equal(col_list_end(&l, &e), FLOE_OK);
  assert_int_equal(col_append_null(&l, &e), FLOE_OK);
  assert_int_equal(col_list_end(&l, &e), FLOE_OK);
  check_layout(&l);
  const int32_t *o = col_offsets(&l);
  assert_int_equal(o[1], 2);
  assert_int_equal(o[2], 2);
  assert_int_equal(o[3], 2);
  assert_false(col_is_valid(&l, 1));
  assert_true(col_is_valid(&l, 2));
  assert_int_equal(l.null_count, 1);
  assert_int_equal(l.child->null_count, 1);
  col_truncate(&l, 1);
  check_layout(&l);
  assert_int_equal(l.child->length, 2);
  col_truncate(&l, 0);
  assert_int_equal(l.child->length, 0);
  assert_int_equal(l.child->null_count, 0);
  col_free(&l);
}

static void test_schema_and_batch(void **state) {
  (void)state;
  floe_error e;
  char name[] = "id";
  col_field f[3] = {
      {1, name, ty(COL_INT64), false, 0, false},
      {2, "tags", list_of(COL_UTF8), true, 5, true},
      {3, "amount", ty(COL_DECIMAL), true, 0, false},
  };
  col_schema *s;
  assert_int_equal(col_schema_new(f, 3, &s, &e), FLOE_OK);
  name[0] = 'X'; /* names were copied */
  assert_string_equal(s->fields[0].name, "id");
  assert_int_equal(col_schema_find(s, "tags"), 1);
  assert_int_equal(col_schema_find(s, "nope"), -1);
  assert_int_equal(col_schema_find_id(s, 3), 2);
  assert_int_equal(col_schema_find_id(s, 9), -1);
  assert_int_equal(s->fields[1].elem_id, 5);

  col_batch *b;
  assert_int_equal(col_batch_new(s, &b, &e), FLOE_OK);
  assert_int_equal(s->refcount, 2);
  assert_int_equal(b->cols[1].type.id, COL_LIST);
  assert_int_equal(col_append_i64(&b->cols[0], 7, &e), FLOE_OK);
  assert_int_equal(col_batch_seal(b, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "tags"));
  assert_int_equal(col_list_end(&b->cols[1], &e), FLOE_OK);
  assert_int_equal(col_append_dec(&b->cols[2], 5, 0, &e), FLOE_OK);
  assert_int_equal(col_batch_seal(b, &e), FLOE_OK);
  assert_int_equal(b->length, 1);
  col_batch_clear(b);
  assert_int_equal(b->length, 0);
  assert_int_equal(b->cols[0].length, 0);

  col_schema_unref(s); /* the batch keeps it alive */
  assert_string_equal(b->schema->fields[2].name, "amount");
  col_batch_free(b);
  col_batch_free(NULL);
  col_schema_unref(NULL);

  f[2].id = 1;
  assert_int_equal(col_schema_new(f, 3, &s, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "share id 1"));
  f[2].id = 3;
  f[2].type.precision = 0;
  assert_int_equal(col_schema_new(f, 3, &s, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "amount"));
  assert_int_equal(col_schema_new(NULL, 0, &s, &e), FLOE_OK);
  assert_int_equal(s->nfields, 0);
  col_schema_unref(s);
}

/* col_extend_fixed: a bulk run lands after existing rows, valid, with the
 * validity bits set across byte boundaries; bool and var-width refuse. */
static void test_extend_fixed(void **state) {
  (void)state;
  col_dtype t = {.id = COL_INT64};
  col_column c;
  assert_int_equal(col_init(&c, t, NULL), FLOE_OK);
  assert_int_equal(col_append_i64(&c, -1, NULL), FLOE_OK);
  assert_int_equal(col_append_null(&c, NULL), FLOE_OK);
  uint8_t *out;
  assert_int_equal(col_extend_fixed(&c, 21, &out, NULL), FLOE_OK);
  for (int64_t i = 0; i < 21; i++) memcpy(out + 8 * i, &i, 8);
  assert_int_equal(col_append_null(&c, NULL), FLOE_OK);
  assert_int_equal(c.length, 24);
  assert_int_equal(c.null_count, 2);
  assert_true(col_is_valid(&c, 0));
  assert_false(col_is_valid(&c, 1));
  for (int64_t i = 0; i < 21; i++) {
    assert_true(col_is_valid(&c, 2 + i));
    int64_t v;
    memcpy(&v, col_get_fixed(&c, 2 + i, 8), 8);
    assert_int_equal(v, i);
  }
  assert_false(col_is_valid(&c, 23));
  col_free(&c);
  floe_error e;
  col_dtype b = {.id = COL_BOOL}, u = {.id = COL_UTF8};
  assert_int_equal(col_init(&c, b, NULL), FLOE_OK);
  assert_int_equal(col_extend_fixed(&c, 1, &out, &e), FLOE_EINVAL);
  col_free(&c);
  assert_int_equal(col_init(&c, u, NULL), FLOE_OK);
  assert_int_equal(col_extend_fixed(&c, 1, &out, &e), FLOE_EINVAL);
  col_free(&c);
}

/* A column holding only empty strings may have no value buffer at all:
 * reading and copying it must not do pointer arithmetic on NULL. */
static void test_only_empty_strings(void **state) {
  (void)state;
  col_dtype t = {.id = COL_UTF8};
  col_column c, d;
  assert_int_equal(col_init(&c, t, NULL), FLOE_OK);
  assert_int_equal(col_init(&d, t, NULL), FLOE_OK);
  for (int i = 0; i < 3; i++)
    assert_int_equal(col_append_bytes(&c, "", 0, NULL), FLOE_OK);
  size_t n = 99;
  const uint8_t *p = col_get_bytes(&c, 2, &n);
  assert_non_null(p);
  assert_int_equal(n, 0);
  assert_int_equal(col_append_range(&d, &c, 0, 3, NULL), FLOE_OK);
  assert_int_equal(d.length, 3);
  assert_true(col_value_equal(&c, 1, &d, 1));
  col_free(&c);
  col_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_only_empty_strings),
      cmocka_unit_test(test_extend_fixed),
      cmocka_unit_test(test_type_names),
      cmocka_unit_test(test_every_type),
      cmocka_unit_test(test_list_of_every_type),
      cmocka_unit_test(test_mismatch_and_limits),
      cmocka_unit_test(test_growth_1m),
      cmocka_unit_test(test_reserve_and_nulls),
      cmocka_unit_test(test_list_nulls_and_rollback),
      cmocka_unit_test(test_schema_and_batch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
