/* Unit tests for src/iceberg/avro: encoding primitives, schemas, container
 * files (both codecs) and hostile input.
 *
 * Set FLOE_AVRO_DUMP_DIR to also write the test files there (manifest-*.avro
 * for checking with another Avro implementation, the small ones as fuzz
 * seeds). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "iceberg/avro.h"

#define OK(expr) assert_int_equal((expr), FLOE_OK)

/* ---------- primitives ---------- */

static void expect_long_bytes(int64_t v, const char *hex) {
  fbuf b = FBUF_INIT;
  OK(avro_put_long(&b, v, NULL));
  char got[64] = "";
  for (size_t i = 0; i < b.len; i++)
    snprintf(got + 2 * i, sizeof got - 2 * i, "%02x", b.data[i]);
  assert_string_equal(got, hex);
  fcur c = fcur_make(b.data, b.len, "t", 0);
  int64_t back;
  OK(avro_get_long(&c, &back, NULL));
  assert_true(back == v);
  OK(fcur_end(&c, NULL));
  fbuf_free(&b);
}

static void test_longs(void **state) {
  (void)state;
  expect_long_bytes(0, "00");
  expect_long_bytes(-1, "01");
  expect_long_bytes(1, "02");
  expect_long_bytes(-64, "7f");
  expect_long_bytes(64, "8001");
  expect_long_bytes(-65, "8101");
  expect_long_bytes(INT64_MAX, "feffffffffffffffff01");
  expect_long_bytes(INT64_MIN, "ffffffffffffffffff01");
  expect_long_bytes((int64_t)INT32_MAX + 1, "8080808010");

  fbuf b = FBUF_INIT;
  floe_error e;
  int32_t i32;
  OK(avro_put_int(&b, INT32_MIN, NULL));
  OK(avro_put_int(&b, INT32_MAX, NULL));
  OK(avro_put_long(&b, (int64_t)INT32_MAX + 1, NULL));
  fcur c = fcur_make(b.data, b.len, "ints", 0);
  OK(avro_get_int(&c, &i32, NULL));
  assert_int_equal(i32, INT32_MIN);
  OK(avro_get_int(&c, &i32, NULL));
  assert_int_equal(i32, INT32_MAX);
  assert_int_equal(avro_get_int(&c, &i32, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "ints at offset"));
  assert_non_null(strstr(e.msg, "32-bit"));

  /* an 11-byte varint, and one that overflows 64 bits */
  static const uint8_t longv[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                    0x80, 0x80, 0x80, 0x80, 0x01};
  static const uint8_t over[10] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0x02};
  int64_t l;
  c = fcur_make(longv, sizeof longv, "v", 0);
  assert_int_equal(avro_get_long(&c, &l, &e), FLOE_ECORRUPT);
  c = fcur_make(over, sizeof over, "v", 0);
  assert_int_equal(avro_get_long(&c, &l, &e), FLOE_ECORRUPT);
  c = fcur_make(over, 3, "v", 0); /* truncated */
  assert_int_equal(avro_get_long(&c, &l, &e), FLOE_ECORRUPT);
  fbuf_free(&b);
}

static void test_scalars(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  floe_error e;
  OK(avro_put_bool(&b, true, NULL));
  OK(avro_put_bool(&b, false, NULL));
  OK(avro_put_float(&b, -0.0f, NULL));
  OK(avro_put_double(&b, -0.0, NULL));
  double qnan;
  uint64_t nanbits = 0x7ff8000000012345ULL; /* NaN with a payload */
  memcpy(&qnan, &nanbits, 8);
  OK(avro_put_double(&b, qnan, NULL));
  OK(avro_put_float(&b, INFINITY, NULL));
  OK(avro_put_double(&b, 1.5, NULL));
  /* spec bytes: 1.5 as little-endian IEEE double */
  static const uint8_t d15[8] = {0, 0, 0, 0, 0, 0, 0xf8, 0x3f};
  assert_memory_equal(b.data + b.len - 8, d15, 8);
  assert_int_equal(b.data[0], 1);
  assert_int_equal(b.data[1], 0);

  fcur c = fcur_make(b.data, b.len, "s", 0);
  bool bv;
  float f;
  double d;
  OK(avro_get_bool(&c, &bv, NULL));
  assert_true(bv);
  OK(avro_get_bool(&c, &bv, NULL));
  assert_false(bv);
  OK(avro_get_float(&c, &f, NULL));
  assert_true(f == 0.0f && signbit(f));
  OK(avro_get_double(&c, &d, NULL));
  assert_true(d == 0.0 && signbit(d));
  OK(avro_get_double(&c, &d, NULL));
  uint64_t bits;
  memcpy(&bits, &d, 8);
  assert_true(isnan(d) && bits == nanbits);
  OK(avro_get_float(&c, &f, NULL));
  assert_true(isinf(f) && f > 0);
  OK(avro_get_double(&c, &d, NULL));
  assert_true(d == 1.5);
  assert_int_equal(avro_get_double(&c, &d, &e), FLOE_ECORRUPT);

  static const uint8_t two = 2;
  c = fcur_make(&two, 1, "bool", 100);
  assert_int_equal(avro_get_bool(&c, &bv, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "bool at offset 100"));
  fbuf_free(&b);
}

static void test_bytes_strings(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  floe_error e;
  size_t big = 100000;
  char *s = malloc(big + 1);
  for (size_t i = 0; i < big; i++) s[i] = (char)('a' + i % 26);
  s[big] = 0;
  static const uint8_t nul[3] = {'a', 0, 'b'};
  static const uint8_t fx[4] = {1, 2, 3, 4};
  OK(avro_put_string(&b, "", NULL));
  OK(avro_put_string(&b, "foo", NULL));
  OK(avro_put_string(&b, s, NULL));
  OK(avro_put_bytes(&b, nul, 3, NULL));
  OK(avro_put_fixed(&b, fx, 4, NULL));
  assert_int_equal(b.data[0], 0);
  assert_memory_equal(b.data + 1,
                      "\x06"
                      "foo",
                      4);
  fcur c = fcur_make(b.data, b.len, "b", 0);
  const uint8_t *p;
  size_t n;
  OK(avro_get_bytes(&c, &p, &n, NULL));
  assert_int_equal(n, 0);
  OK(avro_get_bytes(&c, &p, &n, NULL));
  assert_int_equal(n, 3);
  assert_memory_equal(p, "foo", 3);
  OK(avro_get_bytes(&c, &p, &n, NULL));
  assert_int_equal(n, big);
  assert_memory_equal(p, s, big);
  OK(avro_get_bytes(&c, &p, &n, NULL));
  assert_int_equal(n, 3);
  assert_memory_equal(p, nul, 3);
  OK(fcur_bytes(&c, 4, &p, NULL));
  assert_memory_equal(p, fx, 4);
  OK(fcur_end(&c, NULL));

  /* negative length, length past the end */
  fbuf h = FBUF_INIT;
  OK(avro_put_long(&h, -5, NULL));
  c = fcur_make(h.data, h.len, "neg", 0);
  assert_int_equal(avro_get_bytes(&c, &p, &n, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "negative length"));
  h.len = 0;
  OK(avro_put_long(&h, 1000, NULL));
  OK(fbuf_append(&h, "abc", 3, NULL));
  c = fcur_make(h.data, h.len, "long", 0);
  assert_int_equal(avro_get_bytes(&c, &p, &n, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "exceeds"));
  h.len = 0;
  OK(avro_put_long(&h, INT64_MAX, NULL));
  c = fcur_make(h.data, h.len, "huge", 0);
  assert_int_equal(avro_get_bytes(&c, &p, &n, &e), FLOE_ECORRUPT);
  fbuf_free(&h);
  fbuf_free(&b);
  free(s);
}

static void test_block_writer(void **state) {
  (void)state;
  fbuf b = FBUF_INIT, want = FBUF_INIT;
  OK(fbuf_append(&b, "X", 1, NULL));
  avro_block blk;
  avro_block_begin(&b, &blk);
  OK(avro_block_end(&b, &blk, NULL));
  assert_int_equal(b.len, 2);
  assert_int_equal(b.data[1], 0);

  /* 100 streamed longs == count up front */
  b.len = 0;
  avro_block_begin(&b, &blk);
  for (int i = 0; i < 100; i++) {
    avro_block_item(&blk);
    OK(avro_put_long(&b, i * 7 - 50, NULL));
  }
  OK(avro_block_end(&b, &blk, NULL));
  OK(avro_put_long(&want, 100, NULL));
  for (int i = 0; i < 100; i++) OK(avro_put_long(&want, i * 7 - 50, NULL));
  OK(avro_put_long(&want, 0, NULL));
  assert_int_equal(b.len, want.len);
  assert_memory_equal(b.data, want.data, b.len);

  /* decode with a schema */
  farena a;
  farena_init(&a, 0, 0);
  const avro_schema *s;
  const char *js = "{\"type\":\"array\",\"items\":\"long\"}";
  OK(avro_schema_parse(js, strlen(js), &a, &s, NULL));
  fcur c = fcur_make(b.data, b.len, "arr", 0);
  const avro_value *v;
  OK(avro_decode(s, &c, &a, NULL, &v, NULL));
  OK(fcur_end(&c, NULL));
  assert_int_equal(avro_value_array_len(v), 100);
  for (size_t i = 0; i < 100; i++) {
    int64_t l;
    OK(avro_value_long(avro_value_array_at(v, i), &l, NULL));
    assert_true(l == (int64_t)i * 7 - 50);
  }
  assert_null(avro_value_array_at(v, 100));
  farena_free(&a);
  fbuf_free(&b);
  fbuf_free(&want);
}

/* ---------- schemas ---------- */

/* Iceberg-manifest-like: field-id on every field, element-id, key-id and
 * value-id, logical types, named-type references, odd whitespace (which
 * must survive into the header byte for byte). */
static const char MANIFEST_SCHEMA[] =
    "{\"type\": \"record\", \"name\": \"manifest_entry\", \"fields\": [\n"
    "  {\"name\": \"status\", \"type\": \"int\", \"field-id\": 0},\n"
    "  {\"name\": \"snapshot_id\", \"type\": [\"null\", \"long\"], "
    "\"default\": null, \"field-id\": 1},\n"
    "  {\"name\": \"sequence_number\", \"type\": [\"null\", \"long\"], "
    "\"default\": null, \"field-id\": 3},\n"
    "  {\"name\": \"data_file\", \"field-id\": 2, \"type\": {\"type\": "
    "\"record\", \"name\": \"r2\", \"fields\": [\n"
    "    {\"name\": \"content\", \"type\": \"int\", \"doc\": \"0=data\", "
    "\"field-id\": 134},\n"
    "    {\"name\": \"file_path\", \"type\": \"string\", \"field-id\": 100},\n"
    "    {\"name\": \"file_format\", \"type\": \"string\", \"field-id\": "
    "101},\n"
    "    {\"name\": \"partition\", \"field-id\": 102, \"type\": {\"type\": "
    "\"record\", \"name\": \"r102\", \"fields\": [{\"name\": \"day\", "
    "\"type\": [\"null\", {\"type\": \"int\", \"logicalType\": \"date\"}], "
    "\"default\": null, \"field-id\": 1000}]}},\n"
    "    {\"name\": \"record_count\", \"type\": \"long\", \"field-id\": 103},\n"
    "    {\"name\": \"file_size_in_bytes\", \"type\": \"long\", \"field-id\": "
    "104},\n"
    "    {\"name\": \"column_sizes\", \"type\": [\"null\", {\"type\": "
    "\"array\", \"items\": {\"type\": \"record\", \"name\": \"k117_v118\", "
    "\"fields\": [{\"name\": \"key\", \"type\": \"int\", \"field-id\": 117}, "
    "{\"name\": \"value\", \"type\": \"long\", \"field-id\": 118}]}, "
    "\"logicalType\": \"map\"}], \"default\": null, \"field-id\": 108},\n"
    "    {\"name\": \"lower_bounds\", \"type\": [\"null\", {\"type\": "
    "\"array\", \"items\": {\"type\": \"record\", \"name\": \"k126_v127\", "
    "\"fields\": [{\"name\": \"key\", \"type\": \"int\", \"field-id\": 126}, "
    "{\"name\": \"value\", \"type\": \"bytes\", \"field-id\": 127}]}, "
    "\"logicalType\": \"map\"}], \"default\": null, \"field-id\": 125},\n"
    "    {\"name\": \"split_offsets\", \"type\": [\"null\", {\"type\": "
    "\"array\", \"items\": \"long\", \"element-id\": 133}], \"default\": "
    "null, \"field-id\": 132},\n"
    "    {\"name\": \"props\", \"type\": {\"type\": \"map\", \"values\": "
    "\"string\", \"key-id\": 200, \"value-id\": 201}, \"field-id\": 199},\n"
    "    {\"name\": \"ts\", \"type\": {\"type\": \"long\", \"logicalType\": "
    "\"timestamp-micros\", \"adjust-to-utc\": true}, \"field-id\": 202},\n"
    "    {\"name\": \"score\", \"type\": \"double\", \"field-id\": 203},\n"
    "    {\"name\": \"ratio\", \"type\": \"float\", \"field-id\": 204},\n"
    "    {\"name\": \"ok\", \"type\": \"boolean\", \"field-id\": 205},\n"
    "    {\"name\": \"kind\", \"type\": {\"type\": \"enum\", \"name\": "
    "\"kind_enum\", \"symbols\": [\"A\", \"B\", \"C\"]}, \"field-id\": 206},\n"
    "    {\"name\": \"uuid\", \"type\": {\"type\": \"fixed\", \"name\": "
    "\"uuid_fixed\", \"size\": 16, \"logicalType\": \"uuid\"}, "
    "\"field-id\": 207},\n"
    "    {\"name\": \"kind2\", \"type\": [\"null\", \"kind_enum\"], "
    "\"field-id\": 208}\n"
    "  ]}}\n"
    "]}";

static void test_schema_parse(void **state) {
  (void)state;
  farena a;
  farena_init(&a, 0, 0);
  const avro_schema *s;
  OK(avro_schema_parse(MANIFEST_SCHEMA, strlen(MANIFEST_SCHEMA), &a, &s, NULL));
  assert_int_equal(s->type, AV_RECORD);
  assert_string_equal(s->name, "manifest_entry");
  assert_int_equal(s->nfields, 4);
  const avro_field *f = avro_schema_field(s, "status");
  assert_true(f->has_id && f->id == 0);
  f = avro_schema_field(s, "snapshot_id");
  assert_true(f->has_id && f->id == 1);
  assert_int_equal(f->type->type, AV_UNION);
  assert_int_equal(f->type->nbranches, 2);
  assert_int_equal(f->type->branches[0]->type, AV_NULL);
  assert_int_equal(f->type->branches[1]->type, AV_LONG);
  assert_int_equal(f->nattrs, 1);
  assert_string_equal(f->attrs[0].key, "default");
  assert_string_equal(f->attrs[0].json, "null");
  const avro_schema *df = avro_schema_field(s, "data_file")->type;
  assert_int_equal(avro_schema_field(s, "data_file")->id, 2);
  assert_string_equal(df->name, "r2");
  assert_int_equal(df->nfields, 17);
  f = avro_schema_field(df, "content");
  assert_int_equal(f->id, 134);
  assert_string_equal(f->attrs[0].json, "\"0=data\"");
  const avro_schema *part = avro_schema_field(df, "partition")->type;
  const avro_field *day = avro_schema_field(part, "day");
  assert_int_equal(day->id, 1000);
  assert_string_equal(day->type->branches[1]->logical, "date");
  const avro_schema *cs = avro_schema_field(df, "column_sizes")->type;
  assert_int_equal(avro_schema_field(df, "column_sizes")->id, 108);
  const avro_schema *arr = cs->branches[1];
  assert_int_equal(arr->type, AV_ARRAY);
  assert_string_equal(arr->logical, "map");
  assert_int_equal(arr->items->type, AV_RECORD);
  assert_int_equal(avro_schema_field(arr->items, "key")->id, 117);
  assert_int_equal(avro_schema_field(arr->items, "value")->id, 118);
  const avro_schema *so = avro_schema_field(df, "split_offsets")->type;
  assert_true(so->branches[1]->has_element_id);
  assert_int_equal(so->branches[1]->element_id, 133);
  const avro_schema *pm = avro_schema_field(df, "props")->type;
  assert_int_equal(pm->type, AV_MAP);
  assert_true(pm->has_key_id && pm->has_value_id);
  assert_int_equal(pm->key_id, 200);
  assert_int_equal(pm->value_id, 201);
  assert_false(pm->has_element_id);
  const avro_schema *ts = avro_schema_field(df, "ts")->type;
  assert_string_equal(ts->logical, "timestamp-micros");
  assert_string_equal(avro_schema_attr(ts, "adjust-to-utc"), "true");
  assert_null(avro_schema_attr(ts, "logicalType"));
  const avro_schema *kind = avro_schema_field(df, "kind")->type;
  assert_int_equal(kind->nsymbols, 3);
  assert_string_equal(kind->symbols[2], "C");
  /* a reference resolves to the same node */
  assert_ptr_equal(avro_schema_field(df, "kind2")->type->branches[1], kind);
  const avro_schema *u = avro_schema_field(df, "uuid")->type;
  assert_int_equal(u->type, AV_FIXED);
  assert_int_equal(u->size, 16);
  assert_string_equal(u->logical, "uuid");
  farena_free(&a);
}

static void expect_schema_error(const char *js, const char *needle) {
  farena a;
  farena_init(&a, 0, 0);
  const avro_schema *s;
  floe_error e;
  floe_status st = avro_schema_parse(js, strlen(js), &a, &s, &e);
  if (st == FLOE_OK) fail_msg("schema accepted: %s", js);
  assert_int_equal(st, FLOE_ECORRUPT);
  if (!strstr(e.msg, needle)) fail_msg("'%s' lacks '%s'", e.msg, needle);
  farena_free(&a);
}

static void test_schema_errors_and_names(void **state) {
  (void)state;
  expect_schema_error("{\"type\":", "bad JSON");
  expect_schema_error("\"nope\"", "unknown type \"nope\"");
  expect_schema_error("[]", "empty union");
  expect_schema_error("[\"null\", [\"int\"]]", "union directly inside");
  expect_schema_error("{\"type\":\"record\",\"name\":\"a\"}", "fields");
  expect_schema_error("{\"type\":\"record\",\"name\":\"a\",\"fields\":["
                      "{\"name\":\"x\",\"type\":\"int\"},"
                      "{\"name\":\"x\",\"type\":\"int\"}]}",
                      "appears twice");
  expect_schema_error("[{\"type\":\"fixed\",\"name\":\"f\",\"size\":1},"
                      "{\"type\":\"fixed\",\"name\":\"f\",\"size\":2}]",
                      "defined twice");
  expect_schema_error("{\"type\":\"fixed\",\"name\":\"long\",\"size\":1}",
                      "primitive");
  expect_schema_error("{\"type\":\"fixed\",\"name\":\"f\",\"size\":-1}",
                      "size");
  expect_schema_error("{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[\"a\","
                      "\"a\"]}",
                      "appears twice");
  expect_schema_error("{\"type\":\"array\"}", "items");
  expect_schema_error("{\"type\":\"record\",\"name\":\"a\",\"fields\":["
                      "{\"name\":\"x\",\"type\":\"int\",\"field-id\":\"7\"}]}",
                      "field-id");
  expect_schema_error("42", "must be");
  /* nesting past the cap */
  char deep[4000];
  size_t n = 0;
  for (int i = 0; i < 100; i++)
    n += (size_t)snprintf(deep + n, sizeof deep - n,
                          "{\"type\":\"array\",\"items\":");
  n += (size_t)snprintf(deep + n, sizeof deep - n, "\"int\"");
  for (int i = 0; i < 100; i++) deep[n++] = '}';
  deep[n] = 0;
  expect_schema_error(deep, "nested deeper");

  /* namespaces: short names resolve in the enclosing namespace; a
   * recursive record (linked list) refers to itself */
  const char *js =
      "{\"type\":\"record\",\"name\":\"Node\",\"namespace\":\"x.y\","
      "\"fields\":[{\"name\":\"v\",\"type\":\"int\"},"
      "{\"name\":\"h\",\"type\":{\"type\":\"fixed\",\"name\":\"H\",\"size\":2}}"
      ","
      "{\"name\":\"h2\",\"type\":\"x.y.H\"},"
      "{\"name\":\"o\",\"type\":{\"type\":\"fixed\",\"name\":\"q.O\",\"size\":"
      "1}},"
      "{\"name\":\"o2\",\"type\":\"q.O\"},"
      "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}";
  farena a;
  farena_init(&a, 0, 0);
  const avro_schema *s;
  OK(avro_schema_parse(js, strlen(js), &a, &s, NULL));
  assert_string_equal(s->name, "x.y.Node");
  assert_string_equal(avro_schema_field(s, "h")->type->name, "x.y.H");
  assert_ptr_equal(avro_schema_field(s, "h2")->type,
                   avro_schema_field(s, "h")->type);
  assert_string_equal(avro_schema_field(s, "o2")->type->name, "q.O");
  assert_ptr_equal(avro_schema_field(s, "next")->type->branches[1], s);
  /* the list 1 -> 2 -> 3 */
  fbuf b = FBUF_INIT;
  for (int i = 1; i <= 3; i++) {
    if (i > 1) OK(avro_put_union(&b, 1, NULL));
    OK(avro_put_int(&b, i, NULL));
    OK(avro_put_fixed(&b, "ab", 2, NULL));
    OK(avro_put_fixed(&b, "cd", 2, NULL));
    OK(avro_put_fixed(&b, "e", 1, NULL));
    OK(avro_put_fixed(&b, "f", 1, NULL));
  }
  OK(avro_put_union(&b, 0, NULL));
  fcur c = fcur_make(b.data, b.len, "list", 0);
  const avro_value *v;
  OK(avro_decode(s, &c, &a, NULL, &v, NULL));
  OK(fcur_end(&c, NULL));
  for (int i = 1; i <= 3; i++) {
    int32_t x;
    OK(avro_value_int(avro_value_field(v, "v"), &x, NULL));
    assert_int_equal(x, i);
    const uint8_t *p;
    size_t pn;
    OK(avro_value_bytes(avro_value_field(v, "h2"), &p, &pn, NULL));
    assert_int_equal(pn, 2);
    assert_memory_equal(p, "cd", 2);
    v = avro_value_field(v, "next");
    assert_int_equal(v->branch, i < 3 ? 1 : 0);
  }
  assert_true(avro_value_is_null(v));
  /* a self-recursive chain deeper than the cap fails cleanly */
  b.len = 0;
  for (int i = 0; i < 200; i++) {
    OK(avro_put_int(&b, i, NULL));
    OK(avro_put_fixed(&b, "abcdef", 6, NULL));
    OK(avro_put_union(&b, 1, NULL));
  }
  c = fcur_make(b.data, b.len, "deep", 0);
  floe_error e;
  assert_int_equal(avro_decode(s, &c, &a, NULL, &v, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "nested deeper"));
  fbuf_free(&b);
  farena_free(&a);
}

/* ---------- the manifest-like container ---------- */

#define NREC 50

static int64_t snap_of(int i) {
  /* +-(2^52 - 1): the widest longs avsc's default long type decodes, so
   * the dumped files can be checked with it (INT64 edges are tested in
   * test_longs) */
  if (i == 1) return 4503599627370495LL;
  if (i == 2) return -4503599627370495LL;
  return (int64_t)i * 1000003;
}

static void path_of(int i, char *out, size_t n) {
  if (i == 4) {
    out[0] = 0;
  } else if (i == 5) {
    snprintf(out, n,
             "s3://b/donn\xc3\xa9"
             "es/\xc3\xa9t\xc3\xa9.parquet");
  } else if (i % 10 == 3) {
    size_t k = (size_t)snprintf(out, n, "s3://bucket/");
    for (; k < 300; k++) out[k] = (char)('a' + k % 26);
    out[k] = 0;
  } else {
    snprintf(out, n, "s3://bucket/data/part-%05d.parquet", i);
  }
}

static void encode_entry(fbuf *b, int i) {
  char path[400];
  OK(avro_put_int(b, i % 3, NULL));
  if (i % 5 == 0) {
    OK(avro_put_union(b, 0, NULL));
  } else {
    OK(avro_put_union(b, 1, NULL));
    OK(avro_put_long(b, snap_of(i), NULL));
  }
  if (i % 4 == 0) {
    OK(avro_put_union(b, 0, NULL));
  } else {
    OK(avro_put_union(b, 1, NULL));
    OK(avro_put_long(b, i, NULL));
  }
  /* data_file */
  OK(avro_put_int(b, i % 3, NULL));
  path_of(i, path, sizeof path);
  OK(avro_put_string(b, path, NULL));
  OK(avro_put_string(b, "PARQUET", NULL));
  if (i % 6 == 0) {
    OK(avro_put_union(b, 0, NULL));
  } else {
    OK(avro_put_union(b, 1, NULL));
    OK(avro_put_int(b, 19000 + i, NULL));
  }
  OK(avro_put_long(b, (int64_t)i * 100, NULL));
  OK(avro_put_long(b, (int64_t)i * 4096 + 7, NULL));
  if (i % 4 == 1) {
    OK(avro_put_union(b, 0, NULL));
  } else { /* streamed */
    OK(avro_put_union(b, 1, NULL));
    avro_block blk;
    avro_block_begin(b, &blk);
    for (int j = 0; j < i % 3; j++) {
      avro_block_item(&blk);
      OK(avro_put_int(b, j + 1, NULL));
      OK(avro_put_long(b, (int64_t)(j + 1) * i, NULL));
    }
    OK(avro_block_end(b, &blk, NULL));
  }
  if (i % 2) {
    OK(avro_put_union(b, 0, NULL));
  } else { /* count known up front */
    OK(avro_put_union(b, 1, NULL));
    OK(avro_put_long(b, 1, NULL));
    OK(avro_put_int(b, 1, NULL));
    uint8_t v[4] = {(uint8_t)i, 0, 255, (uint8_t)(i >> 8)};
    OK(avro_put_bytes(b, v, 4, NULL));
    OK(avro_put_long(b, 0, NULL));
  }
  if (i % 3 == 0) {
    OK(avro_put_union(b, 0, NULL));
  } else {
    OK(avro_put_union(b, 1, NULL));
    int n = i % 5;
    if (n) {
      OK(avro_put_long(b, n, NULL));
      for (int j = 0; j < n; j++) OK(avro_put_long(b, 4 + j * 1000, NULL));
    }
    OK(avro_put_long(b, 0, NULL));
  }
  /* props: odd records use the negative-count form (count, byte size) */
  int np = i % 3;
  if (np && i % 2) {
    fbuf items = FBUF_INIT;
    for (int j = 0; j < np; j++) {
      char k[16], v[32];
      snprintf(k, sizeof k, "k%d", j);
      snprintf(v, sizeof v, "v%d-%d", j, i);
      OK(avro_put_string(&items, k, NULL));
      OK(avro_put_string(&items, v, NULL));
    }
    OK(avro_put_long(b, -np, NULL));
    OK(avro_put_long(b, (int64_t)items.len, NULL));
    OK(fbuf_append(b, items.data, items.len, NULL));
    fbuf_free(&items);
  } else if (np) {
    OK(avro_put_long(b, np, NULL));
    for (int j = 0; j < np; j++) {
      char k[16], v[32];
      snprintf(k, sizeof k, "k%d", j);
      snprintf(v, sizeof v, "v%d-%d", j, i);
      OK(avro_put_string(b, k, NULL));
      OK(avro_put_string(b, v, NULL));
    }
  }
  OK(avro_put_long(b, 0, NULL));
  OK(avro_put_long(b, 1700000000000000LL + i, NULL));
  OK(avro_put_double(b, i * 0.5 - 10, NULL));
  OK(avro_put_float(b, (float)i * 0.25f, NULL));
  OK(avro_put_bool(b, i % 2 == 0, NULL));
  OK(avro_put_enum(b, i % 3, NULL));
  uint8_t u[16];
  for (int k = 0; k < 16; k++) u[k] = (uint8_t)(i + k);
  OK(avro_put_fixed(b, u, 16, NULL));
  if (i % 4 == 0) {
    OK(avro_put_union(b, 0, NULL));
  } else {
    OK(avro_put_union(b, 1, NULL));
    OK(avro_put_enum(b, i % 3, NULL));
  }
}

static const avro_value *F(const avro_value *v, const char *name) {
  const avro_value *f;
  OK(avro_value_get(v, name, &f, NULL));
  return f;
}

static void check_entry(const avro_value *v, int i) {
  int32_t x;
  int64_t l;
  const char *s;
  size_t n;
  char path[400];
  OK(avro_value_int(F(v, "status"), &x, NULL));
  assert_int_equal(x, i % 3);
  const avro_value *sn = F(v, "snapshot_id");
  if (i % 5 == 0) {
    assert_true(avro_value_is_null(sn));
    assert_int_equal(sn->branch, 0);
  } else {
    OK(avro_value_long(sn, &l, NULL));
    assert_true(l == snap_of(i));
    assert_int_equal(sn->branch, 1);
  }
  const avro_value *df = avro_value_field_by_id(v, 2);
  assert_ptr_equal(df, F(v, "data_file"));
  OK(avro_value_int(avro_value_field_by_id(df, 134), &x, NULL));
  assert_int_equal(x, i % 3);
  path_of(i, path, sizeof path);
  OK(avro_value_string(F(df, "file_path"), &s, &n, NULL));
  assert_int_equal(n, strlen(path));
  assert_string_equal(s, path);
  OK(avro_value_string(F(df, "file_format"), &s, &n, NULL));
  assert_string_equal(s, "PARQUET");
  const avro_value *day = F(F(df, "partition"), "day");
  if (i % 6 == 0) {
    assert_true(avro_value_is_null(day));
  } else {
    OK(avro_value_int(day, &x, NULL));
    assert_int_equal(x, 19000 + i);
    assert_string_equal(day->schema->logical, "date");
  }
  OK(avro_value_long(F(df, "record_count"), &l, NULL));
  assert_true(l == (int64_t)i * 100);
  OK(avro_value_long(F(df, "file_size_in_bytes"), &l, NULL));
  assert_true(l == (int64_t)i * 4096 + 7);
  const avro_value *cs = F(df, "column_sizes");
  if (i % 4 == 1) {
    assert_true(avro_value_is_null(cs));
  } else {
    OK(avro_value_array(cs, &n, NULL));
    assert_int_equal(n, i % 3);
    for (size_t j = 0; j < n; j++) {
      const avro_value *kv = avro_value_array_at(cs, j);
      OK(avro_value_int(F(kv, "key"), &x, NULL));
      assert_int_equal(x, j + 1);
      OK(avro_value_long(F(kv, "value"), &l, NULL));
      assert_true(l == (int64_t)(j + 1) * i);
    }
  }
  const avro_value *lb = F(df, "lower_bounds");
  if (i % 2) {
    assert_true(avro_value_is_null(lb));
  } else {
    assert_int_equal(avro_value_array_len(lb), 1);
    const uint8_t *p;
    OK(avro_value_bytes(F(avro_value_array_at(lb, 0), "value"), &p, &n, NULL));
    uint8_t want[4] = {(uint8_t)i, 0, 255, (uint8_t)(i >> 8)};
    assert_int_equal(n, 4);
    assert_memory_equal(p, want, 4);
  }
  const avro_value *so = F(df, "split_offsets");
  if (i % 3 == 0) {
    assert_true(avro_value_is_null(so));
  } else {
    assert_int_equal(avro_value_array_len(so), i % 5);
    for (int j = 0; j < i % 5; j++) {
      OK(avro_value_long(avro_value_array_at(so, (size_t)j), &l, NULL));
      assert_true(l == 4 + j * 1000);
    }
  }
  const avro_value *pm = F(df, "props");
  OK(avro_value_map(pm, &n, NULL));
  assert_int_equal(n, i % 3);
  for (size_t j = 0; j < n; j++) {
    const avro_pair *pr = avro_value_map_at(pm, j);
    char k[32], want[64];
    snprintf(k, sizeof k, "k%d", (int)j);
    snprintf(want, sizeof want, "v%d-%d", (int)j, i);
    assert_string_equal(pr->key, k);
    OK(avro_value_string(&pr->value, &s, NULL, NULL));
    assert_string_equal(s, want);
  }
  OK(avro_value_long(F(df, "ts"), &l, NULL));
  assert_true(l == 1700000000000000LL + i);
  double d;
  float f;
  bool bo;
  OK(avro_value_double(F(df, "score"), &d, NULL));
  assert_true(d == i * 0.5 - 10);
  OK(avro_value_float(F(df, "ratio"), &f, NULL));
  assert_true(f == (float)i * 0.25f);
  OK(avro_value_bool(F(df, "ok"), &bo, NULL));
  assert_true(bo == (i % 2 == 0));
  const char *sym;
  OK(avro_value_enum(F(df, "kind"), &x, &sym, NULL));
  assert_int_equal(x, i % 3);
  assert_int_equal(sym[0], 'A' + i % 3);
  const uint8_t *p;
  OK(avro_value_bytes(F(df, "uuid"), &p, &n, NULL));
  assert_int_equal(n, 16);
  for (int k = 0; k < 16; k++) assert_int_equal(p[k], (uint8_t)(i + k));
  const avro_value *k2 = F(df, "kind2");
  if (i % 4 == 0) {
    assert_true(avro_value_is_null(k2));
  } else {
    OK(avro_value_enum(k2, &x, NULL, NULL));
    assert_int_equal(x, i % 3);
  }
}

static const avro_meta_entry CUSTOM_META[] = {
    {"schema", "{\"type\":\"struct\"}", 17},
    {"partition-spec-id", "0", 1},
    {"format-version", "2", 1},
    {"content", "data", 4},
    {"empty", "", 0},
};
#define NMETA (sizeof CUSTOM_META / sizeof *CUSTOM_META)

static void write_manifest(avro_codec codec, size_t block_records, int nrec,
                           fbuf *out) {
  avro_writer_opts o = {0};
  o.schema_json = MANIFEST_SCHEMA;
  o.codec = codec;
  o.meta = CUSTOM_META;
  o.nmeta = NMETA;
  o.sync_seed = 42;
  o.block_records = block_records;
  avro_writer *w;
  OK(avro_writer_open(&o, out, &w, NULL));
  fbuf rec = FBUF_INIT;
  for (int i = 0; i < nrec; i++) {
    if (i % 2) { /* straight into the block */
      encode_entry(avro_writer_record_buf(w), i);
      OK(avro_writer_commit_record(w, NULL));
    } else {
      rec.len = 0;
      encode_entry(&rec, i);
      OK(avro_writer_append_record(w, rec.data, rec.len, NULL));
    }
  }
  assert_int_equal(avro_writer_count(w), nrec);
  OK(avro_writer_finish(w, NULL));
  avro_writer_free(w);
  fbuf_free(&rec);
}

/* Reads every record; returns the count, or -1 on an error (in *e). */
static int read_all(const uint8_t *p, size_t n, bool check, floe_error *e) {
  avro_reader *r;
  floe_status st = avro_reader_open(p, n, "t.avro", NULL, &r, e);
  if (st != FLOE_OK) return -1;
  farena a;
  farena_init(&a, 0, 0);
  int count = 0;
  for (;;) {
    const avro_value *v;
    st = avro_reader_next(r, &a, &v, e);
    if (st == FLOE_EEOF) break;
    if (st != FLOE_OK) {
      count = -1;
      break;
    }
    if (check) check_entry(v, count);
    count++;
    farena_reset(&a);
  }
  farena_free(&a);
  avro_reader_free(r);
  return count;
}

static void dump(const char *name, const fbuf *b) {
  const char *dir = getenv("FLOE_AVRO_DUMP_DIR");
  if (!dir) return;
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b->data, 1, b->len, f), b->len);
  fclose(f);
}

static void test_container(void **state) {
  (void)state;
  for (int codec = 0; codec < 2; codec++) {
    fbuf b = FBUF_INIT;
    write_manifest((avro_codec)codec, 7, NREC, &b);
    dump(codec ? "manifest-deflate.avro" : "manifest-null.avro", &b);
    assert_memory_equal(b.data, "Obj\x01", 4);
    avro_reader *r;
    floe_error e;
    OK(avro_reader_open(b.data, b.len, "m.avro", NULL, &r, &e));
    assert_int_equal(avro_reader_codec(r), (avro_codec)codec);
    /* the header schema is the caller's text, byte for byte */
    const uint8_t *p;
    size_t n;
    assert_true(avro_reader_meta(r, "avro.schema", &p, &n));
    assert_int_equal(n, strlen(MANIFEST_SCHEMA));
    assert_memory_equal(p, MANIFEST_SCHEMA, n);
    assert_true(avro_reader_meta(r, "avro.codec", &p, &n));
    assert_int_equal(n, codec ? 7 : 4);
    assert_memory_equal(p, codec ? "deflate" : "null", n);
    /* custom keys, in order, after the two avro.* keys */
    assert_int_equal(avro_reader_meta_count(r), 2 + NMETA);
    for (size_t i = 0; i < NMETA; i++) {
      const char *k;
      avro_reader_meta_at(r, 2 + i, &k, &p, &n);
      assert_string_equal(k, CUSTOM_META[i].key);
      assert_int_equal(n, CUSTOM_META[i].len);
      if (n) assert_memory_equal(p, CUSTOM_META[i].val, n);
    }
    assert_true(avro_reader_meta(r, "format-version", &p, &n));
    assert_memory_equal(p, "2", 1);
    assert_false(avro_reader_meta(r, "nope", &p, &n));
    const avro_schema *s = avro_reader_schema(r);
    assert_int_equal(
        avro_schema_field(avro_schema_field(s, "data_file")->type, "file_path")
            ->id,
        100);
    avro_reader_free(r);
    /* 50 records in blocks of 7: 8 blocks */
    assert_int_equal(read_all(b.data, b.len, true, &e), NREC);
    /* deterministic: the same input gives the same bytes */
    fbuf again = FBUF_INIT;
    write_manifest((avro_codec)codec, 7, NREC, &again);
    assert_int_equal(again.len, b.len);
    assert_memory_equal(again.data, b.data, b.len);
    /* one big block reads the same */
    again.len = 0;
    write_manifest((avro_codec)codec, 0, NREC, &again);
    assert_int_equal(read_all(again.data, again.len, true, &e), NREC);
    fbuf_free(&again);
    fbuf_free(&b);
  }
}

/* Every file ends with the sync marker, which also ends the header and
 * every block: occurrences - 1 = blocks. */
static size_t count_blocks(const fbuf *b) {
  const uint8_t *last = b->data + b->len - AVRO_SYNC_SIZE;
  size_t hits = 0;
  for (size_t i = 0; i + AVRO_SYNC_SIZE <= b->len; i++)
    if (memcmp(b->data + i, last, AVRO_SYNC_SIZE) == 0) hits++;
  return hits - 1;
}

static void test_blocks_and_sync(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  write_manifest(AVRO_CODEC_NULL, 7, NREC, &b);
  assert_int_equal(count_blocks(&b), 8);
  /* a caller-given sync marker is used as is */
  avro_writer_opts o = {0};
  o.schema_json = "\"long\"";
  uint8_t sync[16];
  for (int i = 0; i < 16; i++) sync[i] = (uint8_t)(0xA0 + i);
  o.sync = sync;
  o.block_bytes = 15; /* a block every two 10-byte records */
  fbuf c = FBUF_INIT;
  avro_writer *w;
  OK(avro_writer_open(&o, &c, &w, NULL));
  fbuf *rb;
  for (int i = 0; i < 5; i++) {
    rb = avro_writer_record_buf(w);
    OK(avro_put_long(rb, INT64_MIN + i, NULL));
    OK(avro_writer_commit_record(w, NULL));
  }
  OK(avro_writer_finish(w, NULL));
  avro_writer_free(w);
  assert_memory_equal(c.data + c.len - 16, sync, 16);
  assert_int_equal(count_blocks(&c), 3);
  avro_reader *r;
  OK(avro_reader_open(c.data, c.len, "l", NULL, &r, NULL));
  farena a;
  farena_init(&a, 0, 0);
  for (int i = 0; i < 5; i++) {
    const avro_value *v;
    int64_t l;
    OK(avro_reader_next(r, &a, &v, NULL));
    OK(avro_value_long(v, &l, NULL));
    assert_true(l == INT64_MIN + i);
  }
  const avro_value *v;
  floe_error e;
  assert_int_equal(avro_reader_next(r, &a, &v, &e), FLOE_EEOF);
  avro_reader_free(r);
  farena_free(&a);
  /* different seeds give different derived sync markers */
  fbuf d1 = FBUF_INIT, d2 = FBUF_INIT;
  o.sync = NULL;
  o.sync_seed = 1;
  OK(avro_writer_open(&o, &d1, &w, NULL));
  avro_writer_free(w);
  o.sync_seed = 2;
  OK(avro_writer_open(&o, &d2, &w, NULL));
  avro_writer_free(w);
  assert_int_equal(d1.len, d2.len);
  assert_memory_not_equal(d1.data + d1.len - 16, d2.data + d2.len - 16, 16);
  /* an empty file (header only) has no records */
  assert_int_equal(read_all(d1.data, d1.len, false, &e), 0);
  fbuf_free(&d1);
  fbuf_free(&d2);
  fbuf_free(&c);
  fbuf_free(&b);
}

static void test_writer_refuses(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  floe_error e;
  avro_writer *w;
  avro_writer_opts o = {0};
  o.schema_json = "{\"type\":\"recrd\"}";
  assert_int_equal(avro_writer_open(&o, &b, &w, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "recrd"));
  o.schema_json = "\"int\"";
  avro_meta_entry bad[2] = {{"avro.foo", "x", 1}, {"k", "v", 1}};
  o.meta = bad;
  o.nmeta = 1;
  assert_int_equal(avro_writer_open(&o, &b, &w, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "reserved"));
  bad[0].key = "k";
  o.nmeta = 2;
  assert_int_equal(avro_writer_open(&o, &b, &w, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "twice"));
  o.nmeta = 0;
  o.codec = (avro_codec)7;
  assert_int_equal(avro_writer_open(&o, &b, &w, &e), FLOE_EINVAL);
  assert_int_equal(b.len, 0);
  /* bytes in the record buffer must be committed before finish */
  o.codec = AVRO_CODEC_NULL;
  OK(avro_writer_open(&o, &b, &w, NULL));
  OK(avro_put_int(avro_writer_record_buf(w), 5, NULL));
  assert_int_equal(avro_writer_finish(w, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "not committed"));
  OK(avro_writer_commit_record(w, NULL));
  OK(avro_writer_finish(w, NULL));
  avro_writer_free(w);
  fbuf_free(&b);
}

/* ---------- value accessors ---------- */

static void test_accessor_errors(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  write_manifest(AVRO_CODEC_NULL, 0, 2, &b);
  avro_reader *r;
  OK(avro_reader_open(b.data, b.len, "m", NULL, &r, NULL));
  farena a;
  farena_init(&a, 0, 0);
  const avro_value *v;
  OK(avro_reader_next(r, &a, &v, NULL));
  floe_error e;
  int64_t l;
  const char *s;
  int32_t x;
  const avro_value *df = avro_value_field(v, "data_file");
  assert_int_equal(avro_value_long(avro_value_field(df, "file_path"), &l, &e),
                   FLOE_ECORRUPT);
  assert_string_equal(e.msg,
                      "avro field 'file_path': expected long, got string");
  assert_int_equal(
      avro_value_string(avro_value_field(v, "snapshot_id"), &s, NULL, &e),
      FLOE_ECORRUPT);
  assert_string_equal(e.msg,
                      "avro field 'snapshot_id': expected string, got null");
  assert_int_equal(avro_value_int(avro_value_field(v, "nope"), &x, &e),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "missing value"));
  const avro_value *f;
  assert_int_equal(avro_value_get(v, "nope", &f, &e), FLOE_ECORRUPT);
  assert_string_equal(e.msg, "avro record \"manifest_entry\" has no field "
                             "'nope'");
  assert_null(avro_value_field_by_id(v, 999));
  /* widening: int -> long -> double */
  OK(avro_value_long(avro_value_field(v, "status"), &l, NULL));
  double d;
  OK(avro_value_double(avro_value_field(v, "status"), &d, NULL));
  assert_int_equal(avro_value_array_len(v), 0);
  assert_null(avro_value_map_at(v, 0));
  farena_free(&a);
  avro_reader_free(r);
  fbuf_free(&b);
}

/* ---------- hostile input ---------- */

static void test_truncation(void **state) {
  (void)state;
  for (int codec = 0; codec < 2; codec++) {
    fbuf b = FBUF_INIT;
    write_manifest((avro_codec)codec, 3, 7, &b);
    dump(codec ? "manifest7-deflate.avro" : "manifest7-null.avro", &b);
    floe_error e;
    assert_int_equal(read_all(b.data, b.len, true, &e), 7);
    for (size_t len = 0; len < b.len; len++) {
      uint8_t *copy = malloc(len ? len : 1); /* exact size for ASan */
      memcpy(copy, b.data, len);
      int got = read_all(copy, len, true, &e);
      /* a cut at a block boundary is a shorter valid file; anything else
       * must fail with a message naming the problem */
      if (got < 0) {
        assert_int_equal(e.code, FLOE_ECORRUPT);
        assert_true(strlen(e.msg) > 0);
      } else {
        assert_true(got < 7);
      }
      free(copy);
    }
    fbuf_free(&b);
  }
}

static void test_bitflips(void **state) {
  (void)state;
  const char *js =
      "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
      "{\"name\":\"a\",\"type\":[\"null\",\"long\"]},"
      "{\"name\":\"b\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
      "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":\"double\"}}]}";
  for (int codec = 0; codec < 2; codec++) {
    avro_writer_opts o = {0};
    o.schema_json = js;
    o.codec = (avro_codec)codec;
    o.block_records = 2;
    fbuf b = FBUF_INIT;
    avro_writer *w;
    OK(avro_writer_open(&o, &b, &w, NULL));
    for (int i = 0; i < 5; i++) {
      fbuf *rb = avro_writer_record_buf(w);
      OK(avro_put_union(rb, i % 2, NULL));
      if (i % 2) OK(avro_put_long(rb, i * 1000, NULL));
      OK(avro_put_long(rb, i, NULL));
      for (int j = 0; j < i; j++) OK(avro_put_string(rb, "str", NULL));
      if (i) OK(avro_put_long(rb, 0, NULL));
      OK(avro_put_long(rb, 1, NULL));
      OK(avro_put_string(rb, "key", NULL));
      OK(avro_put_double(rb, i, NULL));
      OK(avro_put_long(rb, 0, NULL));
      OK(avro_writer_commit_record(w, NULL));
    }
    OK(avro_writer_finish(w, NULL));
    avro_writer_free(w);
    dump(codec ? "small-deflate.avro" : "small-null.avro", &b);
    floe_error e;
    assert_int_equal(read_all(b.data, b.len, false, &e), 5);
    uint8_t *copy = malloc(b.len);
    for (size_t i = 0; i < b.len; i++) {
      for (int bit = 0; bit < 8; bit++) {
        memcpy(copy, b.data, b.len);
        copy[i] ^= (uint8_t)(1u << bit);
        if (read_all(copy, b.len, false, &e) < 0) {
          assert_true(e.code == FLOE_ECORRUPT || e.code == FLOE_EUNSUPPORTED);
          assert_true(strlen(e.msg) > 0);
        }
      }
    }
    free(copy);
    fbuf_free(&b);
  }
  /* one flipped bit per byte of the big manifest, deflated and not */
  for (int codec = 0; codec < 2; codec++) {
    fbuf b = FBUF_INIT;
    write_manifest((avro_codec)codec, 4, 9, &b);
    floe_error e;
    for (size_t i = 0; i < b.len; i++) {
      b.data[i] ^= (uint8_t)(1u << (i % 8));
      (void)read_all(b.data, b.len, false, &e);
      b.data[i] ^= (uint8_t)(1u << (i % 8));
    }
    fbuf_free(&b);
  }
}

/* A header with the given schema and codec; blocks are appended by hand. */
static void raw_header(fbuf *b, const char *schema, const char *codec,
                       const uint8_t sync[16]) {
  OK(fbuf_append(b, "Obj\x01", 4, NULL));
  OK(avro_put_long(b, codec ? 2 : 1, NULL));
  OK(avro_put_string(b, "avro.schema", NULL));
  OK(avro_put_string(b, schema, NULL));
  if (codec) {
    OK(avro_put_string(b, "avro.codec", NULL));
    OK(avro_put_string(b, codec, NULL));
  }
  OK(avro_put_long(b, 0, NULL));
  OK(fbuf_append(b, sync, 16, NULL));
}

static floe_status read_one(const fbuf *b, const avro_reader_opts *o,
                            const avro_value **v, farena *a, floe_error *e) {
  avro_reader *r;
  FLOE_TRY(avro_reader_open(b->data, b->len, "h", o, &r, e));
  floe_status st = avro_reader_next(r, a, v, e);
  avro_reader_free(r);
  return st;
}

static void test_hostile_blocks(void **state) {
  (void)state;
  static const uint8_t sync[16] = {1, 2,  3,  4,  5,  6,  7,  8,
                                   9, 10, 11, 12, 13, 14, 15, 16};
  floe_error e;
  farena a;
  farena_init(&a, 0, 0);
  const avro_value *v;
  fbuf b = FBUF_INIT;

  /* unsupported codec */
  raw_header(&b, "\"long\"", "snappy", sync);
  assert_int_equal(read_one(&b, NULL, &v, &a, &e), FLOE_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "snappy"));

  /* no schema */
  b.len = 0;
  OK(fbuf_append(&b, "Obj\x01\x00", 5, NULL));
  OK(fbuf_append(&b, sync, 16, NULL));
  assert_int_equal(read_one(&b, NULL, &v, &a, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "avro.schema"));

  /* bad magic */
  b.len = 0;
  raw_header(&b, "\"long\"", NULL, sync);
  b.data[3] = 2;
  assert_int_equal(read_one(&b, NULL, &v, &a, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "magic"));

  /* duplicate header key */
  b.len = 0;
  OK(fbuf_append(&b, "Obj\x01", 4, NULL));
  OK(avro_put_long(&b, 2, NULL));
  for (int i = 0; i < 2; i++) {
    OK(avro_put_string(&b, "avro.schema", NULL));
    OK(avro_put_string(&b, "\"long\"", NULL));
  }
  OK(avro_put_long(&b, 0, NULL));
  OK(fbuf_append(&b, sync, 16, NULL));
  assert_int_equal(read_one(&b, NULL, &v, &a, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "twice"));

  /* header map in the negative-count form */
  b.len = 0;
  OK(fbuf_append(&b, "Obj\x01", 4, NULL));
  fbuf items = FBUF_INIT;
  OK(avro_put_string(&items, "avro.schema", NULL));
  OK(avro_put_string(&items, "\"int\"", NULL));
  OK(avro_put_long(&b, -1, NULL));
  OK(avro_put_long(&b, (int64_t)items.len, NULL));
  OK(fbuf_append(&b, items.data, items.len, NULL));
  OK(avro_put_long(&b, 0, NULL));
  OK(fbuf_append(&b, sync, 16, NULL));
  size_t hdr = b.len;
  OK(avro_put_long(&b, 1, NULL));
  OK(avro_put_long(&b, 1, NULL));
  OK(avro_put_int(&b, -3, NULL));
  OK(fbuf_append(&b, sync, 16, NULL));
  OK(read_one(&b, NULL, &v, &a, NULL));
  int32_t x;
  OK(avro_value_int(v, &x, NULL));
  assert_int_equal(x, -3);
  /* its byte size disagreeing with the entries */
  b.data[5]++;
  assert_int_equal(read_one(&b, NULL, &v, &a, &e), FLOE_ECORRUPT);
  b.data[5]--;

  /* wrong sync marker on a block */
  b.data[b.len - 1] ^= 1;
  assert_int_equal(read_one(&b, NULL, &v, &a, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "sync marker"));

  /* negative object count, oversized block, a count that cannot fit */
  b.len = hdr;
  OK(avro_put_long(&b, -1, NULL));
  assert_int_equal(read_one(&b, NULL, &v, &a, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "negative block object count"));
  b.len = hdr;
  OK(avro_put_long(&b, 1, NULL));
  OK(avro_put_long(&b, 1000, NULL));
  assert_int_equal(read_one(&b, NULL, &v, &a, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "block size 1000 out of range"));
  b.len = hdr;
  OK(avro_put_long(&b, 5, NULL));
  OK(avro_put_long(&b, 1, NULL));
  OK(avro_put_int(&b, 1, NULL));
  OK(fbuf_append(&b, sync, 16, NULL));
  assert_int_equal(read_one(&b, NULL, &v, &a, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "at most 1 fit"));
  /* trailing bytes in a block */
  b.len = hdr;
  OK(avro_put_long(&b, 1, NULL));
  OK(avro_put_long(&b, 2, NULL));
  OK(avro_put_int(&b, 1, NULL));
  OK(avro_put_int(&b, 1, NULL));
  OK(fbuf_append(&b, sync, 16, NULL));
  assert_int_equal(read_one(&b, NULL, &v, &a, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "trailing"));

  /* arrays of nulls: huge counts hit the value limit, not the allocator */
  b.len = 0;
  raw_header(&b, "{\"type\":\"array\",\"items\":\"null\"}", NULL, sync);
  hdr = b.len;
  fbuf blk = FBUF_INIT;
  OK(avro_put_long(&blk, INT64_MAX / 2, NULL));
  OK(avro_put_long(&blk, 0, NULL));
  OK(avro_put_long(&b, 1, NULL));
  OK(avro_put_long(&b, (int64_t)blk.len, NULL));
  OK(fbuf_append(&b, blk.data, blk.len, NULL));
  OK(fbuf_append(&b, sync, 16, NULL));
  assert_int_equal(read_one(&b, NULL, &v, &a, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "value limit"));
  /* ... but 1000 nulls are fine, and a smaller limit is honoured */
  b.len = hdr;
  blk.len = 0;
  for (int i = 0; i < 1000; i++) OK(avro_put_long(&blk, 1, NULL));
  OK(avro_put_long(&blk, -1000, NULL));
  OK(avro_put_long(&blk, 0, NULL));
  OK(avro_put_long(&blk, 0, NULL));
  OK(avro_put_long(&b, 1, NULL));
  OK(avro_put_long(&b, (int64_t)blk.len, NULL));
  OK(fbuf_append(&b, blk.data, blk.len, NULL));
  OK(fbuf_append(&b, sync, 16, NULL));
  OK(read_one(&b, NULL, &v, &a, NULL));
  assert_int_equal(avro_value_array_len(v), 2000);
  assert_int_equal(avro_value_array_at(v, 1999)->type, AV_NULL);
  avro_reader_opts ro = {0, 500};
  assert_int_equal(read_one(&b, &ro, &v, &a, &e), FLOE_ECORRUPT);

  /* records that take no bytes: the per-block value budget stops a block
   * claiming a million of them (each with 3 null fields) */
  b.len = 0;
  raw_header(&b,
             "{\"type\":\"record\",\"name\":\"z\",\"fields\":["
             "{\"name\":\"a\",\"type\":\"null\"},"
             "{\"name\":\"b\",\"type\":\"null\"},"
             "{\"name\":\"c\",\"type\":\"null\"}]}",
             NULL, sync);
  hdr = b.len;
  OK(avro_put_long(&b, 1000000, NULL));
  OK(avro_put_long(&b, 0, NULL));
  OK(fbuf_append(&b, sync, 16, NULL));
  {
    avro_reader *r;
    OK(avro_reader_open(b.data, b.len, "z", NULL, &r, NULL));
    floe_status st;
    int got = 0;
    while ((st = avro_reader_next(r, &a, &v, &e)) == FLOE_OK) got++;
    assert_int_equal(st, FLOE_ECORRUPT);
    assert_non_null(strstr(e.msg, "limit"));
    assert_true(got > 1000 && got < 1000000);
    avro_reader_free(r);
  }
  /* ... while 1000 of them read fine */
  b.len = hdr;
  OK(avro_put_long(&b, 1000, NULL));
  OK(avro_put_long(&b, 0, NULL));
  OK(fbuf_append(&b, sync, 16, NULL));
  {
    avro_reader *r;
    OK(avro_reader_open(b.data, b.len, "z", NULL, &r, NULL));
    int got = 0;
    while (avro_reader_next(r, &a, &v, &e) == FLOE_OK) got++;
    assert_int_equal(e.code, FLOE_EEOF);
    assert_int_equal(got, 1000);
    assert_int_equal(v->u.list.n, 3);
    avro_reader_free(r);
  }

  /* an array of longs whose count exceeds the bytes left */
  b.len = 0;
  raw_header(&b, "{\"type\":\"array\",\"items\":\"long\"}", NULL, sync);
  blk.len = 0;
  OK(avro_put_long(&blk, 100, NULL));
  OK(avro_put_long(&blk, 1, NULL));
  OK(avro_put_long(&blk, 0, NULL));
  OK(avro_put_long(&b, 1, NULL));
  OK(avro_put_long(&b, (int64_t)blk.len, NULL));
  OK(fbuf_append(&b, blk.data, blk.len, NULL));
  OK(fbuf_append(&b, sync, 16, NULL));
  assert_int_equal(read_one(&b, NULL, &v, &a, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "cannot fit"));

  /* deflate: garbage, a truncated stream, a bomb past the block limit */
  for (int k = 0; k < 3; k++) {
    b.len = 0;
    raw_header(&b, "\"bytes\"", "deflate", sync);
    fbuf raw = FBUF_INIT, z = FBUF_INIT;
    if (k == 0) {
      OK(fbuf_append(&z, "\xff\xff\xff\xff", 4, NULL));
    } else {
      size_t big = k == 2 ? 300000 : 1000;
      OK(avro_put_long(&raw, (int64_t)big, NULL));
      OK(fbuf_zero(&raw, big, NULL));
      z_stream zs;
      memset(&zs, 0, sizeof zs);
      assert_int_equal(
          deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
      OK(fbuf_reserve(&z, deflateBound(&zs, raw.len), NULL));
      zs.next_in = raw.data;
      zs.avail_in = (uInt)raw.len;
      zs.next_out = z.data;
      zs.avail_out = (uInt)z.cap;
      assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
      z.len = z.cap - zs.avail_out;
      deflateEnd(&zs);
      if (k == 1) z.len /= 2;
    }
    OK(avro_put_long(&b, 1, NULL));
    OK(avro_put_long(&b, (int64_t)z.len, NULL));
    OK(fbuf_append(&b, z.data, z.len, NULL));
    OK(fbuf_append(&b, sync, 16, NULL));
    avro_reader_opts lim = {100000, 0};
    assert_int_equal(read_one(&b, &lim, &v, &a, &e), FLOE_ECORRUPT);
    assert_non_null(strstr(e.msg, k == 0   ? "bad deflate"
                                  : k == 1 ? "truncated"
                                           : "past the limit"));
    if (k == 2) { /* within the default limit it decodes */
      OK(read_one(&b, NULL, &v, &a, NULL));
      assert_int_equal(v->u.bytes.n, 300000);
    }
    fbuf_free(&raw);
    fbuf_free(&z);
  }
  fbuf_free(&blk);
  fbuf_free(&items);
  fbuf_free(&b);
  farena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_longs),
      cmocka_unit_test(test_scalars),
      cmocka_unit_test(test_bytes_strings),
      cmocka_unit_test(test_block_writer),
      cmocka_unit_test(test_schema_parse),
      cmocka_unit_test(test_schema_errors_and_names),
      cmocka_unit_test(test_container),
      cmocka_unit_test(test_blocks_and_sync),
      cmocka_unit_test(test_writer_refuses),
      cmocka_unit_test(test_accessor_errors),
      cmocka_unit_test(test_truncation),
      cmocka_unit_test(test_bitflips),
      cmocka_unit_test(test_hostile_blocks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
