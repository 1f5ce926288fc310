/* Unit tests for the Arrow C Data Interface export (src/columnar/arrow.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "columnar/arrow.h"

#define NTYPES 15

static col_dtype type_at(int i) {
  col_dtype t = {0};
  if (i < COL_LIST) {
    t.id = (col_type)i;
    if (t.id == COL_DECIMAL) {
      t.precision = 12;
      t.scale = 3;
    }
  } else {
    t.id = COL_LIST;
    t.elem = COL_UUID;
  }
  return t;
}

static const char *expected_format[NTYPES] = {
    "b", "s",   "i",   "l",    "f",       "g",    "d:12,3", "u",
    "z", "tdD", "ttu", "tsu:", "tsu:UTC", "w:16", "+l"};

/* A schema with one field per type (ids 100+i, names c0..c14, odd fields
 * nullable) plus a list<uuid> whose element id is 500. */
static col_schema *make_schema(void) {
  col_field f[NTYPES];
  char names[NTYPES][8];
  for (int i = 0; i < NTYPES; i++) {
    snprintf(names[i], sizeof names[i], "c%d", i);
    f[i] = (col_field){100 + i, names[i], type_at(i), i & 1, 0, false};
  }
  f[NTYPES - 1].elem_id = 500;
  f[NTYPES - 1].elem_nullable = true;
  col_schema *s;
  floe_error e;
  assert_int_equal(col_schema_new(f, NTYPES, &s, &e), FLOE_OK);
  return s;
}

/* Decodes Arrow metadata into "k=v;k=v;" for easy comparison, checking the
 * byte layout on the way. */
static void decode_metadata(const char *md, char *out, size_t n) {
  out[0] = 0;
  if (!md) return;
  int32_t count;
  memcpy(&count, md, 4);
  const char *p = md + 4;
  size_t used = 0;
  for (int32_t i = 0; i < count; i++) {
    int32_t kl, vl;
    memcpy(&kl, p, 4);
    const char *k = p + 4;
    memcpy(&vl, k + kl, 4);
    const char *v = k + kl + 4;
    used += (size_t)snprintf(out + used, n - used, "%.*s=%.*s;", (int)kl, k,
                             (int)vl, v);
    p = v + vl;
  }
}

static void test_schema_export(void **state) {
  (void)state;
  col_schema *s = make_schema();
  struct ArrowSchema a;
  floe_error e;
  assert_int_equal(col_schema_export(s, &a, &e), FLOE_OK);
  assert_string_equal(a.format, "+s");
  assert_null(a.metadata);
  assert_int_equal(a.n_children, NTYPES);
  char md[256];
  for (int i = 0; i < NTYPES; i++) {
    struct ArrowSchema *c = a.children[i];
    char name[8], want[128];
    snprintf(name, sizeof name, "c%d", i);
    assert_string_equal(c->format, expected_format[i]);
    assert_string_equal(c->name, name);
    assert_int_equal(c->flags, (i & 1) ? ARROW_FLAG_NULLABLE : 0);
    assert_non_null(c->release);
    assert_null(c->dictionary);
    decode_metadata(c->metadata, md, sizeof md);
    if (i == COL_UUID)
      snprintf(want, sizeof want,
               "PARQUET:field_id=%d;ARROW:extension:name=arrow.uuid;"
               "ARROW:extension:metadata=;",
               100 + i);
    else
      snprintf(want, sizeof want, "PARQUET:field_id=%d;", 100 + i);
    assert_string_equal(md, want);
  }
  /* exact bytes of one metadata blob */
  static const char want_bytes[] = "\x01\x00\x00\x00"
                                   "\x10\x00\x00\x00PARQUET:field_id"
                                   "\x03\x00\x00\x00"
                                   "102";
  assert_memory_equal(a.children[2]->metadata, want_bytes,
                      sizeof want_bytes - 1);
  struct ArrowSchema *l = a.children[NTYPES - 1];
  assert_int_equal(l->n_children, 1);
  assert_string_equal(l->children[0]->format, "w:16");
  assert_string_equal(l->children[0]->name, "item");
  assert_int_equal(l->children[0]->flags, ARROW_FLAG_NULLABLE);
  decode_metadata(l->children[0]->metadata, md, sizeof md);
  assert_string_equal(md, "PARQUET:field_id=500;ARROW:extension:name=arrow."
                          "uuid;ARROW:extension:metadata=;");

  /* a consumer may move a child out: the parent release skips it */
  struct ArrowSchema moved = *a.children[3];
  a.children[3]->release = NULL;
  a.release(&a);
  assert_null(a.release);
  assert_string_equal(moved.format, "l");
  moved.release(&moved);
  assert_null(moved.release);
  col_schema_unref(s);
}

/* Fills a batch: row r of every column is null when r % 4 == 2. */
static col_batch *make_batch(col_schema *s, int64_t rows, int seed) {
  col_batch *b;
  floe_error e;
  assert_int_equal(col_batch_new(s, &b, &e), FLOE_OK);
  for (int64_t r = 0; r < rows; r++) {
    for (int i = 0; i < NTYPES; i++) {
      col_column *c = &b->cols[i];
      if (r % 4 == 2) {
        assert_int_equal(col_append_null(c, &e), FLOE_OK);
        continue;
      }
      int64_t v = r + seed;
      uint8_t u[16] = {0};
      memcpy(u, &v, 8);
      floe_status st = FLOE_OK;
      switch (c->type.id) {
      case COL_BOOL: st = col_append_bool(c, v & 1, &e); break;
      case COL_INT16: st = col_append_i16(c, (int16_t)v, &e); break;
      case COL_INT32:
      case COL_DATE: st = col_append_i32(c, (int32_t)v, &e); break;
      case COL_INT64:
      case COL_TIME:
      case COL_TIMESTAMP:
      case COL_TIMESTAMPTZ: st = col_append_i64(c, v, &e); break;
      case COL_FLOAT32: st = col_append_f32(c, (float)v, &e); break;
      case COL_FLOAT64: st = col_append_f64(c, (double)v, &e); break;
      case COL_DECIMAL: st = col_append_dec(c, (uint64_t)v, 0, &e); break;
      case COL_UUID: st = col_append_uuid(c, u, &e); break;
      case COL_UTF8:
      case COL_BINARY: {
        char t[24];
        int n = snprintf(t, sizeof t, "s%lld", (long long)v);
        st = col_append_bytes(c, t, (size_t)n, &e);
        break;
      }
      case COL_LIST:
        for (int k = 0; k < (int)(r % 3); k++)
          assert_int_equal(col_append_uuid(c->child, u, &e), FLOE_OK);
        st = col_list_end(c, &e);
        break;
      case COL_TYPE_COUNT: fail();
      }
      assert_int_equal(st, FLOE_OK);
    }
  }
  assert_int_equal(col_batch_seal(b, &e), FLOE_OK);
  return b;
}

static void test_batch_export(void **state) {
  (void)state;
  col_schema *s = make_schema();
  const int64_t rows = 77;
  col_batch *b = make_batch(s, rows, 5);
  /* remember where the data lives: the export must hand out these pointers */
  const void *validity[NTYPES], *values[NTYPES], *offsets[NTYPES];
  int64_t nulls[NTYPES];
  const void *child_values = b->cols[NTYPES - 1].child->values.data;
  int64_t child_len = b->cols[NTYPES - 1].child->length;
  for (int i = 0; i < NTYPES; i++) {
    validity[i] = b->cols[i].validity.data;
    values[i] = b->cols[i].values.data;
    offsets[i] = b->cols[i].offsets.data;
    nulls[i] = b->cols[i].null_count;
    assert_int_equal(nulls[i], 19); /* rows 2, 6, ..., 74 */
  }
  struct ArrowArray a;
  floe_error e;
  assert_int_equal(col_batch_export(b, &a, &e), FLOE_OK); /* frees b */
  assert_int_equal(a.length, rows);
  assert_int_equal(a.null_count, 0);
  assert_int_equal(a.offset, 0);
  assert_int_equal(a.n_buffers, 1);
  assert_null(a.buffers[0]);
  assert_int_equal(a.n_children, NTYPES);
  for (int i = 0; i < NTYPES; i++) {
    struct ArrowArray *c = a.children[i];
    assert_int_equal(c->length, rows);
    assert_int_equal(c->null_count, nulls[i]);
    assert_int_equal(c->offset, 0);
    assert_ptr_equal(c->buffers[0], validity[i]);
    col_type id = type_at(i).id;
    if (id == COL_UTF8 || id == COL_BINARY) {
      assert_int_equal(c->n_buffers, 3);
      assert_ptr_equal(c->buffers[1], offsets[i]);
      assert_ptr_equal(c->buffers[2], values[i]);
      const int32_t *o = c->buffers[1];
      /* row 3 holds "s8" */
      assert_int_equal(o[4] - o[3], 2);
      assert_memory_equal((const char *)c->buffers[2] + o[3], "s8", 2);
      assert_int_equal(o[3], o[2]); /* the null row 2 repeats its offset */
    } else if (id == COL_LIST) {
      assert_int_equal(c->n_buffers, 2);
      assert_ptr_equal(c->buffers[1], offsets[i]);
      assert_int_equal(c->n_children, 1);
      struct ArrowArray *ch = c->children[0];
      assert_int_equal(ch->length, child_len);
      assert_int_equal(ch->null_count, 0);
      assert_ptr_equal(ch->buffers[1], child_values);
      const int32_t *o = c->buffers[1];
      assert_int_equal(o[rows], child_len);
    } else {
      assert_int_equal(c->n_buffers, 2);
      assert_int_equal(c->n_children, 0);
      assert_ptr_equal(c->buffers[1], values[i]);
    }
    /* bit 2 (row 2) is null, rows 0, 1, 3 valid */
    assert_int_equal(((const uint8_t *)c->buffers[0])[0] & 0x0f, 0x0b);
  }
  int64_t v;
  memcpy(&v, (const char *)a.children[COL_INT64]->buffers[1] + 8 * 3, 8);
  assert_int_equal(v, 8);
  memcpy(&v, (const char *)a.children[COL_DECIMAL]->buffers[1] + 16 * 5, 8);
  assert_int_equal(v, 10);
  assert_int_equal(((const uint8_t *)a.children[COL_BOOL]->buffers[1])[0] &
                       0x0f,
                   0x01); /* v = r + 5: odd only at r = 0 (r = 2 is null) */

  /* consumer moves one child out and releases it separately */
  struct ArrowArray moved = *a.children[COL_UTF8];
  a.children[COL_UTF8]->release = NULL;
  a.release(&a);
  assert_null(a.release);
  assert_int_equal(moved.length, rows);
  moved.release(&moved);
  assert_null(moved.release);
  col_schema_unref(s);
}

static void test_empty_batch_export(void **state) {
  (void)state;
  col_schema *s = make_schema();
  col_batch *b;
  floe_error e;
  assert_int_equal(col_batch_new(s, &b, &e), FLOE_OK);
  struct ArrowArray a;
  assert_int_equal(col_batch_export(b, &a, &e), FLOE_OK);
  assert_int_equal(a.length, 0);
  for (int i = 0; i < NTYPES; i++) {
    struct ArrowArray *c = a.children[i];
    assert_int_equal(c->length, 0);
    for (int64_t k = 1; k < c->n_buffers; k++)
      assert_non_null(c->buffers[k]); /* old importers reject NULL */
    if (c->n_buffers == 3 || type_at(i).id == COL_LIST)
      assert_int_equal(((const int32_t *)c->buffers[1])[0], 0);
  }
  a.release(&a);
  col_schema_unref(s);
}

static void test_export_unsealed_fails(void **state) {
  (void)state;
  col_schema *s = make_schema();
  col_batch *b;
  floe_error e;
  assert_int_equal(col_batch_new(s, &b, &e), FLOE_OK);
  assert_int_equal(col_append_bool(&b->cols[0], true, &e), FLOE_OK);
  struct ArrowArray a;
  assert_int_equal(col_batch_export(b, &a, &e), FLOE_EINVAL); /* frees b */
  assert_null(a.release);
  assert_non_null(strstr(e.msg, "rows"));
  col_schema_unref(s);
}

typedef struct source {
  col_schema *schema;
  int produced;
  int limit;
  int fail_at; /* -1: never */
  int *freed;
} source;

static floe_status source_next(void *ctx, col_batch **out, floe_error *err) {
  source *src = ctx;
  *out = NULL;
  if (src->produced == src->fail_at)
    return ferr_set(err, FLOE_ECORRUPT, "page 7: bad checksum");
  if (src->produced == src->limit) return FLOE_OK;
  src->produced++;
  *out = make_batch(src->schema, 10 * src->produced, src->produced);
  return FLOE_OK;
}

static void source_free(void *ctx) {
  source *src = ctx;
  (*src->freed)++;
  col_schema_unref(src->schema);
  free(src);
}

static void test_stream(void **state) {
  (void)state;
  col_schema *s = make_schema();
  int freed = 0;
  source *src = calloc(1, sizeof *src);
  *src = (source){col_schema_ref(s), 0, 3, -1, &freed};
  struct ArrowArrayStream st;
  floe_error e;
  assert_int_equal(col_stream_export(s, source_next, src, source_free, &st, &e),
                   FLOE_OK);
  col_schema_unref(s); /* the stream holds its own reference */

  struct ArrowSchema sch;
  assert_int_equal(st.get_schema(&st, &sch), 0);
  assert_string_equal(sch.format, "+s");
  assert_int_equal(sch.n_children, NTYPES);
  sch.release(&sch);

  for (int i = 1; i <= 3; i++) {
    struct ArrowArray a;
    assert_int_equal(st.get_next(&st, &a), 0);
    assert_non_null(a.release);
    assert_int_equal(a.length, 10 * i);
    assert_int_equal(a.children[COL_INT32]->length, 10 * i);
    int32_t v;
    memcpy(&v, a.children[COL_INT32]->buffers[1], 4);
    assert_int_equal(v, i); /* row 0 of batch i holds seed i */
    a.release(&a);
  }
  struct ArrowArray end;
  assert_int_equal(st.get_next(&st, &end), 0);
  assert_null(end.release);
  assert_int_equal(st.get_next(&st, &end), 0); /* stays at the end */
  assert_null(end.release);
  assert_null(st.get_last_error(&st));
  assert_int_equal(freed, 0);
  st.release(&st);
  assert_null(st.release);
  assert_int_equal(freed, 1);
}

static void test_stream_error(void **state) {
  (void)state;
  col_schema *s = make_schema();
  int freed = 0;
  source *src = calloc(1, sizeof *src);
  *src = (source){col_schema_ref(s), 0, 3, 1, &freed};
  struct ArrowArrayStream st;
  floe_error e;
  assert_int_equal(col_stream_export(s, source_next, src, source_free, &st, &e),
                   FLOE_OK);
  struct ArrowArray a;
  assert_int_equal(st.get_next(&st, &a), 0);
  a.release(&a);
  assert_int_equal(st.get_next(&st, &a), EIO);
  assert_null(a.release);
  assert_string_equal(st.get_last_error(&st), "page 7: bad checksum");
  st.release(&st);
  assert_int_equal(freed, 1);

  /* a batch of another schema is refused */
  col_field f = {1, "x", {COL_INT32, 0, 0, 0, 0, 0}, false, 0, false};
  col_schema *other;
  assert_int_equal(col_schema_new(&f, 1, &other, &e), FLOE_OK);
  src = calloc(1, sizeof *src);
  *src = (source){col_schema_ref(s), 0, 3, -1, &freed};
  assert_int_equal(
      col_stream_export(other, source_next, src, source_free, &st, &e),
      FLOE_OK);
  assert_int_equal(st.get_next(&st, &a), EINVAL);
  assert_non_null(strstr(st.get_last_error(&st), "schema"));
  st.release(&st);
  assert_int_equal(freed, 2);
  col_schema_unref(other);
  col_schema_unref(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schema_export),
      cmocka_unit_test(test_batch_export),
      cmocka_unit_test(test_empty_batch_export),
      cmocka_unit_test(test_export_unsealed_fails),
      cmocka_unit_test(test_stream),
      cmocka_unit_test(test_stream_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
