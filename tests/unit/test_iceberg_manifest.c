/* Unit tests for src/iceberg/manifest: manifests and manifest lists written
 * and read back, their Avro schemas checked field id by field id against
 * the spec's tables, inheritance, and corrupt input.
 *
 * With FLOE_DUMP_DIR set, the manifest and manifest list of the round trip
 * test are also written there (manifest.avro, manifest-deletes.avro,
 * manifest-list.avro) for tests/interop to decode with another Avro
 * library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iceberg/avro.h"
#include "iceberg/manifest.h"
#include "iceberg/partition.h"

/* ---- fixtures ---- */

typedef struct fixture {
  ice_schema schema;
  ice_partition_spec spec;
  ice_partition_field pf[8];
} fixture;

static void fixture_init(fixture *fx) {
  memset(fx, 0, sizeof *fx);
  col_field cols[] = {
      {1, "id", {.id = COL_INT32}, false, 0, false},
      {2, "ts", {.id = COL_TIMESTAMPTZ}, true, 0, false},
      {3, "name", {.id = COL_UTF8}, true, 0, false},
      {4,
       "price",
       {.id = COL_DECIMAL, .precision = 10, .scale = 2},
       true,
       0,
       false},
      {5, "f", {.id = COL_FLOAT64}, true, 0, false},
      {6, "u", {.id = COL_UUID}, true, 0, false},
      {7,
       "price2",
       {.id = COL_DECIMAL, .precision = 10, .scale = 2},
       true,
       0,
       false},
  };
  assert_int_equal(col_schema_new(cols, 7, &fx->schema.cols, NULL), FLOE_OK);
  fx->schema.schema_id = 3;
  struct {
    int32_t src;
    const char *name;
    ice_transform_kind k;
    int32_t p;
    const char *text;
  } pf[] = {
      {1, "id_bucket", ICE_T_BUCKET, 16, "bucket[16]"},
      {2, "ts_day", ICE_T_DAY, 0, "day"},
      {3, "name_trunc", ICE_T_TRUNCATE, 4, "truncate[4]"},
      {4, "price", ICE_T_IDENTITY, 0, "identity"},
      {5, "f-val", ICE_T_IDENTITY, 0, "identity"}, /* not an Avro name */
      {6, "u", ICE_T_IDENTITY, 0, "identity"},
      {7, "price2", ICE_T_IDENTITY, 0, "identity"}, /* decimal_10_2 again */
      {3, "name_void", ICE_T_VOID, 0, "void"},
  };
  for (int i = 0; i < 8; i++) {
    fx->pf[i].source_id = pf[i].src;
    fx->pf[i].field_id = 1000 + i;
    fx->pf[i].name = (char *)pf[i].name;
    fx->pf[i].transform = (ice_transform){pf[i].k, pf[i].p, (char *)pf[i].text};
  }
  fx->spec.spec_id = 2;
  fx->spec.nfields = 8;
  fx->spec.fields = fx->pf;
}

static void fixture_free(fixture *fx) { col_schema_unref(fx->schema.cols); }

static ice_pvalue pv(const void *p, size_t n) {
  ice_pvalue v = {false, FBUF_INIT};
  assert_int_equal(fbuf_append(&v.bytes, p, n, NULL), FLOE_OK);
  return v;
}
static ice_pvalue pnull(void) {
  ice_pvalue v = {true, FBUF_INIT};
  return v;
}
static ice_pvalue pi32(int32_t x) { return pv(&x, 4); }
static ice_pvalue pf64(double x) { return pv(&x, 8); }

static const uint8_t uuid1[16] = {0xF7, 0x9C, 0x3E, 0x09, 0x67, 0x7C,
                                  0x4B, 0xBD, 0xA4, 0x79, 0x3F, 0x34,
                                  0x9C, 0xB7, 0x85, 0xE7};

static char *sdup(const char *s) {
  char *d = strdup(s);
  assert_non_null(d);
  return d;
}

/* A data file with every field set; k varies the values. */
static void full_file(ice_data_file *f, int k, const ice_pvalue *part,
                      int npart) {
  memset(f, 0, sizeof *f);
  f->content = ICE_CONTENT_DATA;
  char path[64];
  snprintf(path, sizeof path, "s3://b/t/data/%05d.parquet", k);
  f->file_path = sdup(path);
  f->file_format = sdup("PARQUET");
  f->npartition = npart;
  f->partition = calloc((size_t)npart, sizeof *f->partition);
  for (int i = 0; i < npart; i++) f->partition[i] = part[i];
  f->record_count = 100 + k;
  f->file_size_in_bytes = 4096 + k;
  f->nmetrics = 3;
  f->metrics = calloc(3, sizeof *f->metrics);
  for (int i = 0; i < 3; i++) {
    ice_metric *m = &f->metrics[i];
    m->field_id = i + 1;
    m->column_size = 1000 + i;
    m->value_count = 100 + k;
    m->null_count = i;
    m->nan_count = i == 2 ? 1 : ICE_NONE;
    m->has_lower = m->has_upper = i != 1;
    if (m->has_lower) {
      int32_t lo = -i - k, hi = i + k;
      assert_int_equal(fbuf_append(&m->lower, &lo, 4, NULL), FLOE_OK);
      assert_int_equal(fbuf_append(&m->upper, &hi, 4, NULL), FLOE_OK);
    }
  }
  f->nsplit_offsets = 2;
  f->split_offsets = calloc(2, sizeof(int64_t));
  f->split_offsets[0] = 4;
  f->split_offsets[1] = 2048 + k;
  f->sort_order_id = 1;
  f->first_row_id = 5000 + k;
  f->referenced_data_file = NULL;
  f->content_offset = ICE_NONE;
  f->content_size_in_bytes = ICE_NONE;
}

/* A data file with only the required fields. */
static void bare_file(ice_data_file *f, const char *path, int64_t rows,
                      int npart) {
  memset(f, 0, sizeof *f);
  f->content = ICE_CONTENT_DATA;
  f->file_path = sdup(path);
  f->file_format = sdup("PARQUET");
  f->npartition = npart;
  f->partition = calloc((size_t)npart + 1, sizeof *f->partition);
  for (int i = 0; i < npart; i++) f->partition[i] = pnull();
  f->record_count = rows;
  f->file_size_in_bytes = 10;
  f->sort_order_id = ICE_NONE;
  f->first_row_id = ICE_NONE;
  f->content_offset = ICE_NONE;
  f->content_size_in_bytes = ICE_NONE;
}

static void assert_buf_equal(const fbuf *a, const fbuf *b) {
  assert_int_equal(a->len, b->len);
  if (a->len) assert_memory_equal(a->data, b->data, a->len);
}

static void assert_file_equal(const ice_data_file *a, const ice_data_file *b) {
  assert_int_equal(a->content, b->content);
  assert_string_equal(a->file_path, b->file_path);
  assert_string_equal(a->file_format, b->file_format);
  assert_int_equal(a->npartition, b->npartition);
  for (int i = 0; i < a->npartition; i++) {
    assert_int_equal(a->partition[i].is_null, b->partition[i].is_null);
    assert_buf_equal(&a->partition[i].bytes, &b->partition[i].bytes);
  }
  assert_int_equal(a->record_count, b->record_count);
  assert_int_equal(a->file_size_in_bytes, b->file_size_in_bytes);
  assert_int_equal(a->nmetrics, b->nmetrics);
  for (int i = 0; i < a->nmetrics; i++) {
    const ice_metric *x = &a->metrics[i], *y = &b->metrics[i];
    assert_int_equal(x->field_id, y->field_id);
    assert_int_equal(x->column_size, y->column_size);
    assert_int_equal(x->value_count, y->value_count);
    assert_int_equal(x->null_count, y->null_count);
    assert_int_equal(x->nan_count, y->nan_count);
    assert_int_equal(x->has_lower, y->has_lower);
    assert_int_equal(x->has_upper, y->has_upper);
    assert_buf_equal(&x->lower, &y->lower);
    assert_buf_equal(&x->upper, &y->upper);
  }
  assert_int_equal(a->nsplit_offsets, b->nsplit_offsets);
  for (int i = 0; i < a->nsplit_offsets; i++)
    assert_int_equal(a->split_offsets[i], b->split_offsets[i]);
  assert_int_equal(a->nequality_ids, b->nequality_ids);
  for (int i = 0; i < a->nequality_ids; i++)
    assert_int_equal(a->equality_ids[i], b->equality_ids[i]);
  assert_int_equal(a->sort_order_id, b->sort_order_id);
  assert_int_equal(a->first_row_id, b->first_row_id);
  if (a->referenced_data_file || b->referenced_data_file) {
    assert_non_null(a->referenced_data_file);
    assert_non_null(b->referenced_data_file);
    assert_string_equal(a->referenced_data_file, b->referenced_data_file);
  }
  assert_int_equal(a->content_offset, b->content_offset);
  assert_int_equal(a->content_size_in_bytes, b->content_size_in_bytes);
}

/* Collects copies of every entry read. */
typedef struct collected {
  int n;
  ice_manifest_entry e[16];
} collected;

static floe_status collect(void *ctx, const ice_manifest_entry *e,
                           floe_error *err) {
  collected *c = ctx;
  if (c->n == 16) return ferr_set(err, FLOE_EINVAL, "too many entries");
  ice_manifest_entry *d = &c->e[c->n];
  *d = *e;
  FLOE_TRY(ice_data_file_copy(&d->file, &e->file, err));
  c->n++;
  return FLOE_OK;
}

static void collected_free(collected *c) {
  for (int i = 0; i < c->n; i++) ice_manifest_entry_free(&c->e[i]);
  c->n = 0;
}

static void dump(const char *name, const fbuf *b) {
  const char *dir = getenv("FLOE_DUMP_DIR");
  if (!dir || !*dir) return;
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
  assert_int_equal(fclose(f), 0);
}

static const char *meta_str(const avro_reader *r, const char *key, char *buf,
                            size_t n) {
  const uint8_t *p;
  size_t len;
  if (!avro_reader_meta(r, key, &p, &len)) return NULL;
  assert_true(len < n);
  memcpy(buf, p, len);
  buf[len] = 0;
  return buf;
}

/* The three entries of the data manifest round trip. */
static void data_entries(const fixture *fx, ice_manifest_entry e[3]) {
  (void)fx;
  double nan = __builtin_nan("");
  int64_t lo_price = 1065; /* 10.65 */
  uint8_t price_be[2] = {0x04, 0x29};
  uint8_t neg_be[2] = {0xfb, 0xd7}; /* -1065 */
  (void)lo_price;
  ice_pvalue p0[8] = {pi32(3),   pi32(17486),   pv("iceb", 4), pv(price_be, 2),
                      pf64(1.5), pv(uuid1, 16), pv(neg_be, 2), pnull()};
  ice_pvalue p1[8] = {pnull(), pnull(), pnull(), pnull(),
                      pnull(), pnull(), pnull(), pnull()};
  ice_pvalue p2[8] = {pi32(11),          pi32(-3),  pv("", 0),
                      pv("\x80", 1),     pf64(nan), pv(uuid1, 16),
                      pv("\x00\x80", 2), pnull()};
  memset(e, 0, 3 * sizeof *e);
  e[0].status = ICE_STATUS_EXISTING;
  e[0].snapshot_id = 41;
  e[0].sequence_number = 5;
  e[0].file_sequence_number = 6;
  full_file(&e[0].file, 0, p0, 8);
  e[1].status = ICE_STATUS_ADDED;
  e[1].snapshot_id = ICE_NONE;
  e[1].sequence_number = ICE_NONE;
  e[1].file_sequence_number = ICE_NONE;
  bare_file(&e[1].file, "s3://b/t/data/added.parquet", 7, 0);
  free(e[1].file.partition);
  e[1].file.partition = calloc(8, sizeof(ice_pvalue));
  e[1].file.npartition = 8;
  for (int i = 0; i < 8; i++) e[1].file.partition[i] = p1[i];
  e[2].status = ICE_STATUS_DELETED;
  e[2].snapshot_id = 42;
  e[2].sequence_number = 3;
  e[2].file_sequence_number = 4;
  full_file(&e[2].file, 2, p2, 8);
}

static void test_manifest_roundtrip(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx);
  ice_manifest_entry e[3];
  data_entries(&fx, e);
  fbuf out = FBUF_INIT;
  ice_manifest_file sum;
  floe_error err;
  assert_int_equal(ice_manifest_write(&fx.schema, &fx.spec, ICE_MANIFEST_DATA,
                                      e, 3, 77, &out, &sum, &err),
                   FLOE_OK);
  dump("manifest.avro", &out);
  /* deterministic: the same call gives the same bytes */
  fbuf again = FBUF_INIT;
  assert_int_equal(ice_manifest_write(&fx.schema, &fx.spec, ICE_MANIFEST_DATA,
                                      e, 3, 77, &again, NULL, &err),
                   FLOE_OK);
  assert_buf_equal(&out, &again);
  fbuf_free(&again);

  /* header keys */
  avro_reader *r;
  assert_int_equal(avro_reader_open(out.data, out.len, "m", NULL, &r, &err),
                   FLOE_OK);
  char b[4096];
  assert_int_equal(avro_reader_codec(r), AVRO_CODEC_DEFLATE);
  assert_string_equal(meta_str(r, "format-version", b, sizeof b), "3");
  assert_string_equal(meta_str(r, "content", b, sizeof b), "data");
  assert_string_equal(meta_str(r, "schema-id", b, sizeof b), "3");
  assert_string_equal(meta_str(r, "partition-spec-id", b, sizeof b), "2");
  assert_non_null(strstr(meta_str(r, "partition-spec", b, sizeof b),
                         "\"transform\":\"bucket[16]\""));
  assert_non_null(strstr(meta_str(r, "schema", b, sizeof b), "\"struct\""));
  static const char *order[] = {
      "avro.schema",    "avro.codec",        "schema",         "schema-id",
      "partition-spec", "partition-spec-id", "format-version", "content"};
  assert_int_equal(avro_reader_meta_count(r), 8);
  for (size_t i = 0; i < 8; i++) {
    const char *k;
    const uint8_t *v;
    size_t n;
    avro_reader_meta_at(r, i, &k, &v, &n);
    assert_string_equal(k, order[i]);
  }
  avro_reader_free(r);

  /* summary */
  assert_int_equal(sum.partition_spec_id, 2);
  assert_int_equal(sum.content, ICE_MANIFEST_DATA);
  assert_int_equal(sum.added_snapshot_id, 77);
  assert_int_equal(sum.added_files_count, 1);
  assert_int_equal(sum.existing_files_count, 1);
  assert_int_equal(sum.deleted_files_count, 1);
  assert_int_equal(sum.added_rows_count, 7);
  assert_int_equal(sum.existing_rows_count, 100);
  assert_int_equal(sum.deleted_rows_count, 102);
  assert_int_equal(sum.sequence_number, ICE_NONE);
  assert_int_equal(sum.min_sequence_number, 5); /* the deleted 3 is not live */
  assert_int_equal(sum.first_row_id, ICE_NONE);
  assert_int_equal(sum.manifest_length, (int64_t)out.len);
  assert_int_equal(sum.npartitions, 8);
  const ice_field_summary *ps = sum.partitions;
  /* id_bucket: 3 and 11, one null */
  assert_true(ps[0].contains_null);
  assert_int_equal(ps[0].contains_nan, 0);
  assert_int_equal(fle32(ps[0].lower.data), 3);
  assert_int_equal(fle32(ps[0].upper.data), 11);
  /* ts_day: -3 .. 17486 (signed order) */
  assert_int_equal((int32_t)fle32(ps[1].lower.data), -3);
  assert_int_equal((int32_t)fle32(ps[1].upper.data), 17486);
  /* name_trunc: "" .. "iceb" */
  assert_int_equal(ps[2].lower.len, 0);
  assert_true(ps[2].has_lower);
  assert_int_equal(ps[2].upper.len, 4);
  /* price: -128 (0x80) .. 1065 */
  assert_memory_equal(ps[3].lower.data, "\x80", 1);
  assert_memory_equal(ps[3].upper.data, "\x04\x29", 2);
  /* f: a NaN is flagged and stays out of the bounds */
  assert_int_equal(ps[4].contains_nan, 1);
  double d;
  memcpy(&d, ps[4].lower.data, 8);
  assert_true(d == 1.5);
  memcpy(&d, ps[4].upper.data, 8);
  assert_true(d == 1.5);
  /* price2: -1065 .. 128 */
  assert_memory_equal(ps[6].lower.data, "\xfb\xd7", 2);
  assert_memory_equal(ps[6].upper.data, "\x00\x80", 2);
  /* name_void: all null, no bounds */
  assert_true(ps[7].contains_null);
  assert_false(ps[7].has_lower);
  assert_false(ps[7].has_upper);

  /* read back without inheritance: exactly what was written, plus the
   * writer's snapshot id on the ADDED entry */
  collected c = {0};
  assert_int_equal(
      ice_manifest_read(out.data, out.len, "m", NULL, collect, &c, &err),
      FLOE_OK);
  assert_int_equal(c.n, 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(c.e[i].status, e[i].status);
    assert_int_equal(c.e[i].sequence_number, e[i].sequence_number);
    assert_int_equal(c.e[i].file_sequence_number, e[i].file_sequence_number);
    assert_file_equal(&c.e[i].file, &e[i].file);
  }
  assert_int_equal(c.e[0].snapshot_id, 41);
  assert_int_equal(c.e[1].snapshot_id, 77);
  assert_int_equal(c.e[2].snapshot_id, 42);
  collected_free(&c);

  /* copies are deep */
  ice_data_file cp;
  assert_int_equal(ice_data_file_copy(&cp, &e[0].file, &err), FLOE_OK);
  assert_file_equal(&cp, &e[0].file);
  assert_ptr_not_equal(cp.metrics[0].lower.data,
                       e[0].file.metrics[0].lower.data);
  ice_data_file_free(&cp);
  ice_manifest_file mcp;
  assert_int_equal(ice_manifest_file_copy(&mcp, &sum, &err), FLOE_OK);
  assert_int_equal(mcp.npartitions, 8);
  assert_buf_equal(&mcp.partitions[3].upper, &sum.partitions[3].upper);
  ice_manifest_file_free(&mcp);

  ice_manifest_file_free(&sum);
  for (int i = 0; i < 3; i++) ice_manifest_entry_free(&e[i]);
  fbuf_free(&out);
  fixture_free(&fx);
}

/* A coder writes the bytes ice_manifest_write writes, and entries handed
 * over pre-encoded (all, some, or none of them) change nothing: the bytes a
 * commit copies for kept entries are the bytes it would have encoded. */
static void test_coded_write(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx);
  ice_manifest_entry e[3];
  data_entries(&fx, e);
  floe_error err;
  fbuf want = FBUF_INIT;
  ice_manifest_file wsum;
  assert_int_equal(ice_manifest_write(&fx.schema, &fx.spec, ICE_MANIFEST_DATA,
                                      e, 3, 77, &want, &wsum, &err),
                   FLOE_OK);
  ice_manifest_coder *c = NULL, *c2 = NULL;
  assert_int_equal(ice_manifest_coder_new(&fx.schema, &fx.spec, &c, &err),
                   FLOE_OK);
  assert_int_equal(ice_manifest_coder_new(&fx.schema, &fx.spec, &c2, &err),
                   FLOE_OK);
  assert_true(ice_manifest_coder_key(c) != 0);
  assert_true(ice_manifest_coder_key(c) == ice_manifest_coder_key(c2));
  fbuf enc[3] = {FBUF_INIT, FBUF_INIT, FBUF_INIT};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(ice_manifest_encode_file(c2, &e[i].file, &enc[i], &err),
                     FLOE_OK);
    assert_true(enc[i].len > 0);
  }
  for (int mask = 0; mask < 8; mask++) {
    const fbuf *pre[3];
    for (int i = 0; i < 3; i++) pre[i] = (mask >> i) & 1 ? &enc[i] : NULL;
    fbuf got = FBUF_INIT;
    ice_manifest_file sum;
    assert_int_equal(ice_manifest_write_coded(c, ICE_MANIFEST_DATA, e,
                                              mask ? pre : NULL, 3, 77, &got,
                                              &sum, &err),
                     FLOE_OK);
    assert_buf_equal(&got, &want);
    assert_int_equal(sum.manifest_length, wsum.manifest_length);
    assert_int_equal(sum.added_files_count, wsum.added_files_count);
    assert_int_equal(sum.existing_rows_count, wsum.existing_rows_count);
    assert_int_equal(sum.npartitions, wsum.npartitions);
    ice_manifest_file_free(&sum);
    fbuf_free(&got);
  }
  /* entries are still checked when their bytes are given */
  const fbuf *pre[3] = {&enc[0], &enc[1], &enc[2]};
  int64_t seq = e[0].sequence_number;
  e[0].sequence_number = ICE_NONE; /* EXISTING without a sequence number */
  fbuf bad = FBUF_INIT;
  assert_int_equal(ice_manifest_write_coded(c, ICE_MANIFEST_DATA, e, pre, 3, 77,
                                            &bad, NULL, &err),
                   FLOE_EINVAL);
  assert_int_equal(bad.len, 0);
  e[0].sequence_number = seq;
  /* another partition spec: another key; a file of the wrong arity fails */
  ice_partition_spec unpart = fx.spec;
  unpart.nfields = 0;
  ice_manifest_coder *c3 = NULL;
  assert_int_equal(ice_manifest_coder_new(&fx.schema, &unpart, &c3, &err),
                   FLOE_OK);
  assert_true(ice_manifest_coder_key(c3) != ice_manifest_coder_key(c));
  assert_int_equal(ice_manifest_encode_file(c3, &e[0].file, &bad, &err),
                   FLOE_EINVAL);
  assert_int_equal(bad.len, 0);
  ice_manifest_coder_free(c3);
  ice_manifest_coder_free(c);
  ice_manifest_coder_free(c2);
  ice_manifest_coder_free(NULL);
  for (int i = 0; i < 3; i++) fbuf_free(&enc[i]);
  ice_manifest_file_free(&wsum);
  for (int i = 0; i < 3; i++) ice_manifest_entry_free(&e[i]);
  fbuf_free(&want);
  fixture_free(&fx);
}

static void test_delete_manifest(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx);
  fx.spec.nfields = 0; /* unpartitioned */
  ice_manifest_entry e[2];
  memset(e, 0, sizeof e);
  e[0].status = ICE_STATUS_ADDED;
  e[0].snapshot_id = e[0].sequence_number = e[0].file_sequence_number =
      ICE_NONE;
  bare_file(&e[0].file, "s3://b/t/data/dv-1.puffin", 3, 0);
  e[0].file.content = ICE_CONTENT_POS_DELETES;
  free(e[0].file.file_format);
  e[0].file.file_format = sdup("PUFFIN");
  e[0].file.referenced_data_file = sdup("s3://b/t/data/00000.parquet");
  e[0].file.content_offset = 4;
  e[0].file.content_size_in_bytes = 57;
  e[0].file.file_size_in_bytes = 300;
  e[0].file.first_row_id = 9; /* never written for delete files */
  e[1].status = ICE_STATUS_EXISTING;
  e[1].snapshot_id = 5;
  e[1].sequence_number = 2;
  e[1].file_sequence_number = 2;
  bare_file(&e[1].file, "s3://b/t/data/eq.parquet", 12, 0);
  e[1].file.content = ICE_CONTENT_EQ_DELETES;
  e[1].file.nequality_ids = 2;
  e[1].file.equality_ids = calloc(2, sizeof(int32_t));
  e[1].file.equality_ids[0] = 1;
  e[1].file.equality_ids[1] = 3;

  fbuf out = FBUF_INIT;
  ice_manifest_file sum;
  floe_error err;
  assert_int_equal(ice_manifest_write(&fx.schema, &fx.spec,
                                      ICE_MANIFEST_DELETES, e, 2, 8, &out, &sum,
                                      &err),
                   FLOE_OK);
  dump("manifest-deletes.avro", &out);
  assert_int_equal(sum.content, ICE_MANIFEST_DELETES);
  assert_int_equal(sum.npartitions, 0);
  assert_int_equal(sum.added_rows_count, 3);
  assert_int_equal(sum.existing_rows_count, 12);
  assert_int_equal(sum.min_sequence_number, 2);
  avro_reader *r;
  assert_int_equal(avro_reader_open(out.data, out.len, "m", NULL, &r, &err),
                   FLOE_OK);
  char b[64];
  assert_string_equal(meta_str(r, "content", b, sizeof b), "deletes");
  assert_string_equal(meta_str(r, "partition-spec", b, sizeof b), "[]");
  avro_reader_free(r);

  /* inheritance from the list entry: seq 9, and no first_row_id for
   * delete files even though the list entry... has none either */
  ice_manifest_file mf = sum;
  mf.sequence_number = 9;
  mf.min_sequence_number = 2;
  collected c = {0};
  assert_int_equal(
      ice_manifest_read(out.data, out.len, "m", &mf, collect, &c, &err),
      FLOE_OK);
  assert_int_equal(c.n, 2);
  e[0].file.first_row_id = ICE_NONE;
  assert_file_equal(&c.e[0].file, &e[0].file);
  assert_file_equal(&c.e[1].file, &e[1].file);
  assert_int_equal(c.e[0].snapshot_id, 8);
  assert_int_equal(c.e[0].sequence_number, 9);
  assert_int_equal(c.e[0].file_sequence_number, 9);
  assert_int_equal(c.e[1].sequence_number, 2); /* EXISTING keeps its own */
  assert_string_equal(c.e[0].file.file_format, "PUFFIN");
  assert_string_equal(c.e[0].file.referenced_data_file,
                      "s3://b/t/data/00000.parquet");
  collected_free(&c);

  /* a DV without its blob reference, a data file in a delete manifest, an
   * EXISTING entry without a sequence number: refused, nothing appended */
  size_t len = out.len;
  e[0].file.content_offset = ICE_NONE;
  e[0].file.content_size_in_bytes = ICE_NONE;
  assert_int_equal(ice_manifest_write(&fx.schema, &fx.spec,
                                      ICE_MANIFEST_DELETES, e, 2, 8, &out, NULL,
                                      &err),
                   FLOE_EINVAL);
  assert_non_null(strstr(err.msg, "entry 0"));
  e[0].file.content_offset = 4;
  e[0].file.content_size_in_bytes = 57;
  assert_int_equal(ice_manifest_write(&fx.schema, &fx.spec, ICE_MANIFEST_DATA,
                                      e, 2, 8, &out, NULL, &err),
                   FLOE_EINVAL);
  e[1].sequence_number = ICE_NONE;
  assert_int_equal(ice_manifest_write(&fx.schema, &fx.spec,
                                      ICE_MANIFEST_DELETES, e, 2, 8, &out, NULL,
                                      &err),
                   FLOE_EINVAL);
  assert_int_equal(out.len, len);

  ice_manifest_file_free(&sum);
  for (int i = 0; i < 2; i++) ice_manifest_entry_free(&e[i]);
  fbuf_free(&out);
  fixture_free(&fx);
}

static void test_inheritance(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx);
  fx.spec.nfields = 0;
  ice_manifest_entry e[5];
  memset(e, 0, sizeof e);
  const int64_t rows[5] = {10, 20, 30, 40, 50};
  for (int i = 0; i < 5; i++) {
    char p[32];
    snprintf(p, sizeof p, "f%d", i);
    e[i].status = ICE_STATUS_ADDED;
    e[i].snapshot_id = e[i].sequence_number = e[i].file_sequence_number =
        ICE_NONE;
    bare_file(&e[i].file, p, rows[i], 0);
  }
  e[2].file.first_row_id = 7; /* explicit: kept, and not counted */
  e[3].status = ICE_STATUS_EXISTING;
  e[3].snapshot_id = 3;
  e[3].sequence_number = 1;
  e[3].file_sequence_number = 2;
  e[4].sequence_number = 4; /* an added file with an older data sequence */
  fbuf out = FBUF_INIT;
  ice_manifest_file sum;
  floe_error err;
  /* no snapshot id in the entries: it is inherited too */
  assert_int_equal(ice_manifest_write(&fx.schema, &fx.spec, ICE_MANIFEST_DATA,
                                      e, 5, ICE_NONE, &out, &sum, &err),
                   FLOE_OK);
  assert_int_equal(sum.min_sequence_number, 1);
  ice_manifest_file mf = sum;
  mf.added_snapshot_id = 99;
  mf.sequence_number = 12;
  mf.first_row_id = 1000;
  collected c = {0};
  assert_int_equal(
      ice_manifest_read(out.data, out.len, "m", &mf, collect, &c, &err),
      FLOE_OK);
  assert_int_equal(c.n, 5);
  const int64_t want_frid[5] = {1000, 1010, 7, 1030, 1070};
  const int64_t want_seq[5] = {12, 12, 12, 1, 4};
  const int64_t want_fseq[5] = {12, 12, 12, 2, 12};
  const int64_t want_sid[5] = {99, 99, 99, 3, 99};
  for (int i = 0; i < 5; i++) {
    assert_int_equal(c.e[i].file.first_row_id, want_frid[i]);
    assert_int_equal(c.e[i].sequence_number, want_seq[i]);
    assert_int_equal(c.e[i].file_sequence_number, want_fseq[i]);
    assert_int_equal(c.e[i].snapshot_id, want_sid[i]);
  }
  collected_free(&c);
  /* a manifest list entry without a first_row_id assigns none */
  mf.first_row_id = ICE_NONE;
  assert_int_equal(
      ice_manifest_read(out.data, out.len, "m", &mf, collect, &c, &err),
      FLOE_OK);
  assert_int_equal(c.e[0].file.first_row_id, ICE_NONE);
  assert_int_equal(c.e[2].file.first_row_id, 7);
  collected_free(&c);
  ice_manifest_file_free(&sum);
  for (int i = 0; i < 5; i++) ice_manifest_entry_free(&e[i]);
  fbuf_free(&out);
  fixture_free(&fx);
}

static ice_manifest_file list_entry(const char *path, int content, int64_t seq,
                                    int64_t frid, int64_t added,
                                    int64_t existing, int64_t sid) {
  ice_manifest_file m;
  memset(&m, 0, sizeof m);
  m.manifest_path = sdup(path);
  m.manifest_length = 1234;
  m.partition_spec_id = 0;
  m.content = content;
  m.sequence_number = seq;
  m.min_sequence_number = seq;
  m.added_snapshot_id = sid;
  m.added_files_count = 2;
  m.existing_files_count = 1;
  m.deleted_files_count = 0;
  m.added_rows_count = added;
  m.existing_rows_count = existing;
  m.deleted_rows_count = 3;
  m.first_row_id = frid;
  return m;
}

static void test_manifest_list(void **state) {
  (void)state;
  ice_manifest_file m[4];
  m[0] = list_entry("s3://m/new-data.avro", ICE_MANIFEST_DATA, ICE_NONE,
                    ICE_NONE, 10, 5, 20);
  m[1] = list_entry("s3://m/new-dv.avro", ICE_MANIFEST_DELETES, ICE_NONE,
                    ICE_NONE, 4, 0, 20);
  m[2] = list_entry("s3://m/old.avro", ICE_MANIFEST_DATA, 2, 40, 7, 0, 11);
  m[3] = list_entry("s3://m/new-data-2.avro", ICE_MANIFEST_DATA, ICE_NONE,
                    ICE_NONE, 1, 100, 20);
  m[0].min_sequence_number = 3; /* known from its entries: kept */
  m[3].npartitions = 2;
  m[3].partitions = calloc(2, sizeof *m[3].partitions);
  m[3].partitions[0].contains_null = true;
  m[3].partitions[0].contains_nan = -1;
  m[3].partitions[1].contains_nan = 1;
  m[3].partitions[1].has_lower = m[3].partitions[1].has_upper = true;
  assert_int_equal(fbuf_append(&m[3].partitions[1].lower, "\x01", 1, NULL),
                   FLOE_OK);
  assert_int_equal(fbuf_append(&m[3].partitions[1].upper, "\x09\x00", 2, NULL),
                   FLOE_OK);
  fbuf out = FBUF_INIT;
  int64_t next = -5;
  floe_error err;
  assert_int_equal(
      ice_manifest_list_write(m, 4, 20, 19, 6, 100, &out, &next, &err),
      FLOE_OK);
  dump("manifest-list.avro", &out);
  assert_int_equal(next, 100 + 15 + 101);
  assert_int_equal(m[0].sequence_number, 6);
  assert_int_equal(m[0].min_sequence_number, 3);
  assert_int_equal(m[0].first_row_id, 100);
  assert_int_equal(m[1].sequence_number, 6);
  assert_int_equal(m[1].min_sequence_number, 6);
  assert_int_equal(m[1].first_row_id, ICE_NONE);
  assert_int_equal(m[2].sequence_number, 2);
  assert_int_equal(m[2].first_row_id, 40);
  assert_int_equal(m[3].first_row_id, 115);

  avro_reader *r;
  assert_int_equal(avro_reader_open(out.data, out.len, "l", NULL, &r, &err),
                   FLOE_OK);
  char b[64];
  assert_string_equal(meta_str(r, "snapshot-id", b, sizeof b), "20");
  assert_string_equal(meta_str(r, "parent-snapshot-id", b, sizeof b), "19");
  assert_string_equal(meta_str(r, "sequence-number", b, sizeof b), "6");
  assert_string_equal(meta_str(r, "first-row-id", b, sizeof b), "100");
  assert_string_equal(meta_str(r, "format-version", b, sizeof b), "3");
  avro_reader_free(r);

  ice_manifest_file *got;
  int n;
  assert_int_equal(
      ice_manifest_list_read(out.data, out.len, "l", &got, &n, &err), FLOE_OK);
  assert_int_equal(n, 4);
  for (int i = 0; i < 4; i++) {
    const ice_manifest_file *x = &m[i], *y = &got[i];
    assert_string_equal(x->manifest_path, y->manifest_path);
    assert_int_equal(x->manifest_length, y->manifest_length);
    assert_int_equal(x->partition_spec_id, y->partition_spec_id);
    assert_int_equal(x->content, y->content);
    assert_int_equal(x->sequence_number, y->sequence_number);
    assert_int_equal(x->min_sequence_number, y->min_sequence_number);
    assert_int_equal(x->added_snapshot_id, y->added_snapshot_id);
    assert_int_equal(x->added_files_count, y->added_files_count);
    assert_int_equal(x->existing_files_count, y->existing_files_count);
    assert_int_equal(x->deleted_files_count, y->deleted_files_count);
    assert_int_equal(x->added_rows_count, y->added_rows_count);
    assert_int_equal(x->existing_rows_count, y->existing_rows_count);
    assert_int_equal(x->deleted_rows_count, y->deleted_rows_count);
    assert_int_equal(x->first_row_id, y->first_row_id);
    assert_int_equal(x->npartitions, y->npartitions);
    for (int j = 0; j < x->npartitions; j++) {
      const ice_field_summary *s = &x->partitions[j], *t = &y->partitions[j];
      assert_int_equal(s->contains_null, t->contains_null);
      assert_int_equal(s->contains_nan, t->contains_nan);
      assert_int_equal(s->has_lower, t->has_lower);
      assert_int_equal(s->has_upper, t->has_upper);
      assert_buf_equal(&s->lower, &t->lower);
      assert_buf_equal(&s->upper, &t->upper);
    }
  }
  for (int i = 0; i < n; i++) ice_manifest_file_free(&got[i]);
  free(got);

  /* no parent: no parent-snapshot-id key */
  fbuf o2 = FBUF_INIT;
  assert_int_equal(
      ice_manifest_list_write(m, 4, 20, ICE_NONE, 6, 100, &o2, NULL, &err),
      FLOE_OK);
  assert_int_equal(avro_reader_open(o2.data, o2.len, "l", NULL, &r, &err),
                   FLOE_OK);
  assert_null(meta_str(r, "parent-snapshot-id", b, sizeof b));
  avro_reader_free(r);
  fbuf_free(&o2);

  /* a manifest of another snapshot without a sequence number is refused */
  ice_manifest_file bad = list_entry("s3://m/x.avro", ICE_MANIFEST_DATA,
                                     ICE_NONE, ICE_NONE, 1, 0, 3);
  assert_int_equal(
      ice_manifest_list_write(&bad, 1, 20, 19, 6, 100, &o2, NULL, &err),
      FLOE_EINVAL);
  assert_int_equal(bad.sequence_number, ICE_NONE);
  ice_manifest_file_free(&bad);
  fbuf_free(&o2);

  for (int i = 0; i < 4; i++) ice_manifest_file_free(&m[i]);
  fbuf_free(&out);
}

/* ---- schemas against the spec's tables ---- */

typedef struct idset {
  int n;
  int32_t ids[256];
  const char *names[256];
} idset;

static void add_id(idset *s, int32_t id, const char *name) {
  assert_true(s->n < 256);
  s->ids[s->n] = id;
  s->names[s->n++] = name;
}

/* Every field id and element id reachable from sc. Optional fields must be
 * ["null", T] unions with a null default. */
static void walk(const avro_schema *sc, idset *s, int depth) {
  assert_true(depth < 16);
  switch (sc->type) {
  case AV_RECORD:
    for (size_t i = 0; i < sc->nfields; i++) {
      const avro_field *f = &sc->fields[i];
      assert_true(f->has_id);
      add_id(s, f->id, f->name);
      if (f->type->type == AV_UNION) {
        assert_int_equal(f->type->nbranches, 2);
        assert_int_equal(f->type->branches[0]->type, AV_NULL);
        bool dflt = false;
        for (size_t k = 0; k < f->nattrs; k++)
          if (!strcmp(f->attrs[k].key, "default")) {
            assert_string_equal(f->attrs[k].json, "null");
            dflt = true;
          }
        assert_true(dflt);
      }
      walk(f->type, s, depth + 1);
    }
    break;
  case AV_UNION:
    for (size_t i = 0; i < sc->nbranches; i++)
      walk(sc->branches[i], s, depth + 1);
    break;
  case AV_ARRAY:
    if (sc->has_element_id) add_id(s, sc->element_id, "element");
    walk(sc->items, s, depth + 1);
    break;
  default: break;
  }
}

static const char *find_id(const idset *s, int32_t id) {
  const char *name = NULL;
  for (int i = 0; i < s->n; i++)
    if (s->ids[i] == id) {
      assert_null(name); /* each id exactly once */
      name = s->names[i];
    }
  return name;
}

/* The field named name on the path of records from sc. */
static const avro_schema *field_type(const avro_schema *sc, const char *name) {
  const avro_field *f = avro_schema_field(sc, name);
  assert_non_null(f);
  const avro_schema *t = f->type;
  if (t->type == AV_UNION) t = t->branches[1];
  return t;
}

static void test_manifest_schema_ids(void **state) {
  (void)state;
  fixture fx;
  fixture_init(&fx);
  ice_manifest_entry e[3];
  data_entries(&fx, e);
  fbuf out = FBUF_INIT;
  floe_error err;
  assert_int_equal(ice_manifest_write(&fx.schema, &fx.spec, ICE_MANIFEST_DATA,
                                      e, 3, 77, &out, NULL, &err),
                   FLOE_OK);
  avro_reader *r;
  assert_int_equal(avro_reader_open(out.data, out.len, "m", NULL, &r, &err),
                   FLOE_OK);
  const uint8_t *js;
  size_t jn;
  assert_true(avro_reader_meta(r, "avro.schema", &js, &jn));
  farena a;
  farena_init(&a, 4096, 0);
  const avro_schema *sc;
  assert_int_equal(avro_schema_parse((const char *)js, jn, &a, &sc, &err),
                   FLOE_OK);
  assert_string_equal(sc->name, "manifest_entry");
  idset ids = {0};
  walk(sc, &ids, 0);
  /* the spec's manifest_entry and data_file tables (v3), with the map key
   * and value ids and list element ids */
  static const struct {
    int32_t id;
    const char *name;
  } want[] = {
      {0, "status"},
      {1, "snapshot_id"},
      {3, "sequence_number"},
      {4, "file_sequence_number"},
      {2, "data_file"},
      {134, "content"},
      {100, "file_path"},
      {101, "file_format"},
      {102, "partition"},
      {103, "record_count"},
      {104, "file_size_in_bytes"},
      {108, "column_sizes"},
      {117, "key"},
      {118, "value"},
      {109, "value_counts"},
      {119, "key"},
      {120, "value"},
      {110, "null_value_counts"},
      {121, "key"},
      {122, "value"},
      {137, "nan_value_counts"},
      {138, "key"},
      {139, "value"},
      {125, "lower_bounds"},
      {126, "key"},
      {127, "value"},
      {128, "upper_bounds"},
      {129, "key"},
      {130, "value"},
      {131, "key_metadata"},
      {132, "split_offsets"},
      {133, "element"},
      {135, "equality_ids"},
      {136, "element"},
      {140, "sort_order_id"},
      {142, "first_row_id"},
      {143, "referenced_data_file"},
      {144, "content_offset"},
      {145, "content_size_in_bytes"},
      {1000, "id_bucket"},
      {1001, "ts_day"},
      {1002, "name_trunc"},
      {1003, "price"},
      {1004, "f_x2Dval"},
      {1005, "u"},
      {1006, "price2"},
      {1007, "name_void"},
  };
  size_t nwant = sizeof want / sizeof want[0];
  for (size_t i = 0; i < nwant; i++) {
    const char *got = find_id(&ids, want[i].id);
    if (!got) fail_msg("field id %d (%s) missing", want[i].id, want[i].name);
    assert_string_equal(got, want[i].name);
  }
  assert_int_equal((size_t)ids.n, nwant); /* and nothing else */

  /* types, record names and required-ness as Java writes them */
  const avro_schema *df = field_type(sc, "data_file");
  assert_string_equal(df->name, "r2");
  const avro_schema *part = field_type(df, "partition");
  assert_string_equal(part->name, "r102");
  assert_int_equal(avro_schema_field(sc, "status")->type->type, AV_INT);
  assert_int_equal(avro_schema_field(df, "content")->type->type, AV_INT);
  assert_int_equal(avro_schema_field(df, "file_path")->type->type, AV_STRING);
  assert_int_equal(avro_schema_field(df, "record_count")->type->type, AV_LONG);
  assert_int_equal(avro_schema_field(df, "first_row_id")->type->type, AV_UNION);
  assert_int_equal(field_type(df, "first_row_id")->type, AV_LONG);
  assert_int_equal(field_type(df, "content_offset")->type, AV_LONG);
  assert_int_equal(field_type(df, "referenced_data_file")->type, AV_STRING);
  const avro_schema *cs = field_type(df, "column_sizes");
  assert_int_equal(cs->type, AV_ARRAY);
  assert_string_equal(cs->logical, "map");
  assert_string_equal(cs->items->name, "k117_v118");
  assert_int_equal(cs->items->fields[0].type->type, AV_INT);
  assert_int_equal(cs->items->fields[1].type->type, AV_LONG);
  const avro_schema *lb = field_type(df, "lower_bounds");
  assert_string_equal(lb->items->name, "k126_v127");
  assert_int_equal(lb->items->fields[1].type->type, AV_BYTES);
  assert_string_equal(field_type(df, "nan_value_counts")->items->name,
                      "k138_v139");
  assert_int_equal(field_type(df, "split_offsets")->items->type, AV_LONG);
  assert_int_equal(field_type(df, "equality_ids")->items->type, AV_INT);
  /* partition types: bucket int, day date, truncate string, decimal fixed
   * (named once, referenced after), double, uuid fixed; all optional */
  assert_int_equal(field_type(part, "id_bucket")->type, AV_INT);
  assert_null(field_type(part, "id_bucket")->logical);
  assert_string_equal(field_type(part, "ts_day")->logical, "date");
  assert_int_equal(field_type(part, "name_trunc")->type, AV_STRING);
  const avro_schema *pr = field_type(part, "price");
  assert_int_equal(pr->type, AV_FIXED);
  assert_int_equal(pr->size, 5);
  assert_string_equal(pr->name, "decimal_10_2");
  assert_int_equal(pr->precision, 10);
  assert_int_equal(pr->scale, 2);
  assert_ptr_equal(field_type(part, "price2"), pr);
  assert_int_equal(field_type(part, "f_x2Dval")->type, AV_DOUBLE);
  const avro_field *fv = avro_schema_field(part, "f_x2Dval");
  bool orig = false;
  for (size_t k = 0; k < fv->nattrs; k++)
    if (!strcmp(fv->attrs[k].key, "iceberg-field-name")) {
      assert_string_equal(fv->attrs[k].json, "\"f-val\"");
      orig = true;
    }
  assert_true(orig);
  assert_string_equal(field_type(part, "u")->logical, "uuid");
  assert_int_equal(field_type(part, "name_void")->type, AV_STRING);
  avro_reader_free(r);
  farena_reset(&a);

  /* the manifest list's manifest_file table */
  ice_manifest_file m = list_entry("p", ICE_MANIFEST_DATA, 1, 0, 1, 1, 1);
  fbuf lo = FBUF_INIT;
  assert_int_equal(
      ice_manifest_list_write(&m, 1, 1, ICE_NONE, 1, 0, &lo, NULL, &err),
      FLOE_OK);
  ice_manifest_file_free(&m);
  assert_int_equal(avro_reader_open(lo.data, lo.len, "l", NULL, &r, &err),
                   FLOE_OK);
  assert_true(avro_reader_meta(r, "avro.schema", &js, &jn));
  assert_int_equal(avro_schema_parse((const char *)js, jn, &a, &sc, &err),
                   FLOE_OK);
  assert_string_equal(sc->name, "manifest_file");
  idset lids = {0};
  walk(sc, &lids, 0);
  static const struct {
    int32_t id;
    const char *name;
    avro_type type; /* AV_UNION for optional fields */
  } lwant[] = {
      {500, "manifest_path", AV_STRING},
      {501, "manifest_length", AV_LONG},
      {502, "partition_spec_id", AV_INT},
      {517, "content", AV_INT},
      {515, "sequence_number", AV_LONG},
      {516, "min_sequence_number", AV_LONG},
      {503, "added_snapshot_id", AV_LONG},
      {504, "added_files_count", AV_INT},
      {505, "existing_files_count", AV_INT},
      {506, "deleted_files_count", AV_INT},
      {512, "added_rows_count", AV_LONG},
      {513, "existing_rows_count", AV_LONG},
      {514, "deleted_rows_count", AV_LONG},
      {507, "partitions", AV_UNION},
      {508, "element", AV_RECORD},
      {509, "contains_null", AV_BOOLEAN},
      {518, "contains_nan", AV_UNION},
      {510, "lower_bound", AV_UNION},
      {511, "upper_bound", AV_UNION},
      {519, "key_metadata", AV_UNION},
      {520, "first_row_id", AV_UNION},
  };
  size_t nl = sizeof lwant / sizeof lwant[0];
  for (size_t i = 0; i < nl; i++) {
    const char *got = find_id(&lids, lwant[i].id);
    if (!got) fail_msg("field id %d (%s) missing", lwant[i].id, lwant[i].name);
    assert_string_equal(got, lwant[i].name);
    if ((lwant[i].id >= 508 && lwant[i].id <= 511) || lwant[i].id == 518)
      continue; /* inside r508, checked below */
    assert_int_equal(avro_schema_field(sc, lwant[i].name)->type->type,
                     lwant[i].type);
  }
  assert_int_equal((size_t)lids.n, nl);
  const avro_schema *parts = field_type(sc, "partitions");
  assert_string_equal(parts->items->name, "r508");
  assert_int_equal(avro_schema_field(parts->items, "contains_null")->type->type,
                   AV_BOOLEAN);
  assert_int_equal(field_type(parts->items, "lower_bound")->type, AV_BYTES);
  assert_int_equal(field_type(parts->items, "upper_bound")->type, AV_BYTES);
  assert_int_equal(field_type(parts->items, "contains_nan")->type, AV_BOOLEAN);
  assert_int_equal(avro_schema_field(parts->items, "contains_nan")->type->type,
                   AV_UNION);
  avro_reader_free(r);
  farena_free(&a);
  fbuf_free(&lo);
  for (int i = 0; i < 3; i++) ice_manifest_entry_free(&e[i]);
  fbuf_free(&out);
  fixture_free(&fx);
}

/* ---- older and broken manifests ---- */

/* A v1-shaped manifest (no content, no sequence numbers, block size), to
 * check defaults; status_zz is the zigzag byte of the status. */
static void v1_manifest(fbuf *out, uint8_t status_zz, const char *version) {
  static const char schema[] =
      "{\"type\":\"record\",\"name\":\"manifest_entry\",\"fields\":["
      "{\"name\":\"status\",\"type\":\"int\",\"field-id\":0},"
      "{\"name\":\"snapshot_id\",\"type\":\"long\",\"field-id\":1},"
      "{\"name\":\"data_file\",\"type\":{\"type\":\"record\",\"name\":\"r2\","
      "\"fields\":["
      "{\"name\":\"file_path\",\"type\":\"string\",\"field-id\":100},"
      "{\"name\":\"file_format\",\"type\":\"string\",\"field-id\":101},"
      "{\"name\":\"partition\",\"type\":{\"type\":\"record\",\"name\":"
      "\"r102\",\"fields\":[{\"name\":\"d\",\"type\":[\"null\",{\"type\":"
      "\"int\",\"logicalType\":\"date\"}],\"field-id\":1000}]},"
      "\"field-id\":102},"
      "{\"name\":\"record_count\",\"type\":\"long\",\"field-id\":103},"
      "{\"name\":\"file_size_in_bytes\",\"type\":\"long\",\"field-id\":104},"
      "{\"name\":\"block_size_in_bytes\",\"type\":\"long\",\"field-id\":105}"
      "]},\"field-id\":2}]}";
  avro_meta_entry meta[] = {{"format-version", version, strlen(version)}};
  avro_writer_opts o;
  memset(&o, 0, sizeof o);
  o.schema_json = schema;
  o.meta = meta;
  o.nmeta = 1;
  avro_writer *w;
  assert_int_equal(avro_writer_open(&o, out, &w, NULL), FLOE_OK);
  fbuf *b = avro_writer_record_buf(w);
  assert_int_equal(fbuf_put_u8(b, status_zz, NULL), FLOE_OK);
  assert_int_equal(avro_put_long(b, 17, NULL), FLOE_OK);
  assert_int_equal(avro_put_string(b, "file:/x.parquet", NULL), FLOE_OK);
  assert_int_equal(avro_put_string(b, "PARQUET", NULL), FLOE_OK);
  assert_int_equal(avro_put_union(b, 1, NULL), FLOE_OK);
  assert_int_equal(avro_put_int(b, -3, NULL), FLOE_OK);
  assert_int_equal(avro_put_long(b, 5, NULL), FLOE_OK);
  assert_int_equal(avro_put_long(b, 6, NULL), FLOE_OK);
  assert_int_equal(avro_put_long(b, 67108864, NULL), FLOE_OK);
  assert_int_equal(avro_writer_commit_record(w, NULL), FLOE_OK);
  assert_int_equal(avro_writer_finish(w, NULL), FLOE_OK);
  avro_writer_free(w);
}

static floe_status count_entries(void *ctx, const ice_manifest_entry *e,
                                 floe_error *err) {
  (void)e;
  (void)err;
  (*(int *)ctx)++;
  return FLOE_OK;
}

static void test_old_and_corrupt(void **state) {
  (void)state;
  floe_error err;
  fbuf b = FBUF_INIT;
  v1_manifest(&b, 0x00, "1"); /* EXISTING */
  collected c = {0};
  assert_int_equal(
      ice_manifest_read(b.data, b.len, "v1", NULL, collect, &c, &err), FLOE_OK);
  assert_int_equal(c.n, 1);
  assert_int_equal(c.e[0].status, ICE_STATUS_EXISTING);
  assert_int_equal(c.e[0].snapshot_id, 17);
  assert_int_equal(c.e[0].sequence_number, 0); /* v1: 0 */
  assert_int_equal(c.e[0].file_sequence_number, 0);
  assert_int_equal(c.e[0].file.content, ICE_CONTENT_DATA);
  assert_int_equal(c.e[0].file.npartition, 1);
  assert_int_equal((int32_t)fle32(c.e[0].file.partition[0].bytes.data), -3);
  assert_int_equal(c.e[0].file.nmetrics, 0);
  assert_int_equal(c.e[0].file.first_row_id, ICE_NONE);
  collected_free(&c);
  fbuf_reset(&b);

  v1_manifest(&b, 0x0e, "1"); /* status 7 */
  int cnt = 0;
  assert_int_equal(ice_manifest_read(b.data, b.len, "bad.avro", NULL,
                                     count_entries, &cnt, &err),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "bad.avro"));
  assert_non_null(strstr(err.msg, "status 7"));
  fbuf_reset(&b);

  v1_manifest(&b, 0x00, "4");
  assert_int_equal(
      ice_manifest_read(b.data, b.len, "v4", NULL, count_entries, &cnt, &err),
      FLOE_EUNSUPPORTED);
  fbuf_free(&b);

  /* a real manifest cut short, and with bytes flipped: clean errors */
  fixture fx;
  fixture_init(&fx);
  ice_manifest_entry e[3];
  data_entries(&fx, e);
  assert_int_equal(ice_manifest_write(&fx.schema, &fx.spec, ICE_MANIFEST_DATA,
                                      e, 3, 77, &b, NULL, &err),
                   FLOE_OK);
  for (size_t cut = 0; cut < b.len; cut += 7) {
    cnt = 0;
    floe_status st =
        ice_manifest_read(b.data, cut, "cut", NULL, count_entries, &cnt, &err);
    /* only a cut right after the header leaves a valid (empty) file */
    assert_true(st != FLOE_OK || cnt == 0);
    if (st) assert_true(err.msg[0] != 0);
  }
  uint8_t *copy = malloc(b.len);
  for (size_t i = 0; i < b.len; i += 3) {
    memcpy(copy, b.data, b.len);
    copy[i] ^= 0x5a;
    cnt = 0;
    floe_status st =
        ice_manifest_read(copy, b.len, "flip", NULL, count_entries, &cnt, &err);
    assert_true(st == FLOE_OK || err.msg[0] != 0);
  }
  /* a manifest list is not a manifest (no data_file), and vice versa */
  ice_manifest_file *got;
  int n;
  assert_int_equal(
      ice_manifest_list_read(b.data, b.len, "notalist", &got, &n, &err),
      FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "500"));
  free(copy);
  for (int i = 0; i < 3; i++) ice_manifest_entry_free(&e[i]);
  fbuf_free(&b);
  fixture_free(&fx);
}

static void test_from_parquet(void **state) {
  (void)state;
  pq_column_metrics cols[3];
  memset(cols, 0, sizeof cols);
  cols[0] = (pq_column_metrics){1, 100, 10, 1, 0, true, FBUF_INIT, FBUF_INIT};
  cols[1] = (pq_column_metrics){5, 80, 10, 0, 0, false, FBUF_INIT, FBUF_INIT};
  cols[2] = (pq_column_metrics){9, 70, 12, 2, 3, true, FBUF_INIT, FBUF_INIT};
  int32_t lo = -4, hi = 9;
  assert_int_equal(fbuf_append(&cols[0].lower, &lo, 4, NULL), FLOE_OK);
  assert_int_equal(fbuf_append(&cols[0].upper, &hi, 4, NULL), FLOE_OK);
  double dl = 0.5, dh = 2.5;
  assert_int_equal(fbuf_append(&cols[2].lower, &dl, 8, NULL), FLOE_OK);
  assert_int_equal(fbuf_append(&cols[2].upper, &dh, 8, NULL), FLOE_OK);
  int64_t splits[2] = {4, 1000};
  pq_file_metrics m = {10, 2000, 3, cols, 2, splits};
  col_field fs[] = {
      {1, "id", {.id = COL_INT32}, false, 0, false},
      {5, "f", {.id = COL_FLOAT64}, true, 0, false},
      {8, "l", {.id = COL_LIST, .elem = COL_FLOAT32}, true, 9, true},
  };
  col_schema *s;
  assert_int_equal(col_schema_new(fs, 3, &s, NULL), FLOE_OK);
  ice_data_file f;
  floe_error err;
  assert_int_equal(
      ice_data_file_from_parquet_schema("s3://x/a.parquet", &m, s, &f, &err),
      FLOE_OK);
  assert_string_equal(f.file_path, "s3://x/a.parquet");
  assert_string_equal(f.file_format, "PARQUET");
  assert_int_equal(f.content, ICE_CONTENT_DATA);
  assert_int_equal(f.record_count, 10);
  assert_int_equal(f.file_size_in_bytes, 2000);
  assert_int_equal(f.nsplit_offsets, 2);
  assert_int_equal(f.split_offsets[1], 1000);
  assert_int_equal(f.nmetrics, 3);
  assert_int_equal(f.metrics[0].nan_count, ICE_NONE); /* int: no NaN count */
  assert_int_equal(f.metrics[1].nan_count, 0);        /* double: 0 kept */
  assert_int_equal(f.metrics[2].nan_count, 3);        /* list<float> element */
  assert_int_equal(f.metrics[0].column_size, 100);
  assert_int_equal(f.metrics[2].value_count, 12);
  assert_int_equal(f.metrics[2].null_count, 2);
  assert_true(f.metrics[0].has_lower && f.metrics[0].has_upper);
  assert_false(f.metrics[1].has_lower);
  assert_memory_equal(f.metrics[2].upper.data, &dh, 8);
  assert_int_equal(f.sort_order_id, ICE_NONE);
  assert_int_equal(f.first_row_id, ICE_NONE);
  assert_int_equal(f.content_offset, ICE_NONE);
  ice_data_file_free(&f);
  /* without the schema: NaN counts only where non-zero */
  assert_int_equal(ice_data_file_from_parquet("p", &m, &f, &err), FLOE_OK);
  assert_int_equal(f.metrics[1].nan_count, ICE_NONE);
  assert_int_equal(f.metrics[2].nan_count, 3);
  ice_data_file_free(&f);
  col_schema_unref(s);
  for (int i = 0; i < 3; i++) {
    fbuf_free(&cols[i].lower);
    fbuf_free(&cols[i].upper);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_manifest_roundtrip),
      cmocka_unit_test(test_coded_write),
      cmocka_unit_test(test_delete_manifest),
      cmocka_unit_test(test_inheritance),
      cmocka_unit_test(test_manifest_list),
      cmocka_unit_test(test_manifest_schema_ids),
      cmocka_unit_test(test_old_and_corrupt),
      cmocka_unit_test(test_from_parquet),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
