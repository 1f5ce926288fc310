/* Unit tests for the Postgres type mapping and text values (src/pg/pgtypes.c).
 * The value texts are what a Postgres 15 server prints with the session
 * settings of PGT_SESSION_OPTIONS (captured from a real server). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "columnar/text.h"
#include "pg/pgtypes.h"

static pgt_desc scalar(uint32_t oid, int32_t typmod) {
  pgt_desc d = {0};
  d.oid = oid;
  d.typmod = typmod;
  d.typtype = 'b';
  return d;
}

static pgt_desc array(uint32_t elem, int32_t typmod) {
  pgt_desc d = {0};
  d.oid = 1; /* the array type's own oid does not matter */
  d.typmod = typmod;
  d.typtype = 'b';
  d.is_array = true;
  d.elem_oid = elem;
  d.elem_typtype = 'b';
  return d;
}

static pgt_map map_of(pgt_desc d) {
  pgt_map m;
  floe_error e;
  if (pgt_map_type(&d, &m, &e) != FLOE_OK) fail_msg("map: %s", e.msg);
  return m;
}

/* A fresh column for m with one value appended (must succeed). */
static void one(const pgt_map *m, col_column *c, const char *text) {
  floe_error e;
  fbuf scratch = FBUF_INIT;
  assert_int_equal(col_init(c, m->type, &e), FLOE_OK);
  floe_status st = pgt_append_text(c, m, text, strlen(text), &scratch, &e);
  fbuf_free(&scratch);
  if (st != FLOE_OK) fail_msg("append \"%s\": %s", text, e.msg);
  assert_int_equal(c->length, 1);
}

/* Appending text must fail with code; the column stays empty; the message
 * must contain want (when not NULL). */
static void bad(const pgt_map *m, const char *text, floe_status code,
                const char *want) {
  col_column c;
  floe_error e;
  fbuf scratch = FBUF_INIT;
  assert_int_equal(col_init(&c, m->type, &e), FLOE_OK);
  floe_status st = pgt_append_text(&c, m, text, strlen(text), &scratch, &e);
  if (st != code)
    fail_msg("\"%s\": got %d (%s), want %d", text, st, st ? e.msg : "ok", code);
  if (want && !strstr(e.msg, want))
    fail_msg("\"%s\": message \"%s\" lacks \"%s\"", text, e.msg, want);
  assert_int_equal(c.length, 0);
  assert_int_equal(c.values.len, 0);
  if (c.child) assert_int_equal(c.child->length, 0);
  fbuf_free(&scratch);
  col_free(&c);
}

static int64_t i64_of(pgt_desc d, const char *text) {
  pgt_map m = map_of(d);
  col_column c;
  one(&m, &c, text);
  int64_t v = 0;
  int w = col_type_width(c.type.id);
  memcpy(&v, col_get_fixed(&c, 0, w), (size_t)w);
  if (w == 2) v = (int16_t)v;
  if (w == 4) v = (int32_t)v;
  col_free(&c);
  return v;
}

/* ---- mapping ---- */

static void expect_map(pgt_desc d, col_type id, pgt_dec dec, bool warn) {
  pgt_map m = map_of(d);
  assert_int_equal(m.type.id, id);
  assert_int_equal(m.dec, dec);
  assert_int_equal(m.warn, warn);
  assert_int_equal(col_dtype_check(m.type, NULL), FLOE_OK);
}

static void test_map_scalars(void **state) {
  (void)state;
  expect_map(scalar(PGT_OID_BOOL, -1), COL_BOOL, PGT_DEC_BOOL, false);
  expect_map(scalar(PGT_OID_INT2, -1), COL_INT16, PGT_DEC_INT2, false);
  expect_map(scalar(PGT_OID_INT4, -1), COL_INT32, PGT_DEC_INT4, false);
  expect_map(scalar(PGT_OID_INT8, -1), COL_INT64, PGT_DEC_INT8, false);
  expect_map(scalar(PGT_OID_OID, -1), COL_INT64, PGT_DEC_INT8, false);
  expect_map(scalar(PGT_OID_FLOAT4, -1), COL_FLOAT32, PGT_DEC_FLOAT4, false);
  expect_map(scalar(PGT_OID_FLOAT8, -1), COL_FLOAT64, PGT_DEC_FLOAT8, false);
  expect_map(scalar(PGT_OID_BYTEA, -1), COL_BINARY, PGT_DEC_BYTEA, false);
  expect_map(scalar(PGT_OID_DATE, -1), COL_DATE, PGT_DEC_DATE, false);
  expect_map(scalar(PGT_OID_TIME, -1), COL_TIME, PGT_DEC_TIME, false);
  expect_map(scalar(PGT_OID_TIMESTAMP, 3), COL_TIMESTAMP, PGT_DEC_TIMESTAMP,
             false);
  expect_map(scalar(PGT_OID_TIMESTAMPTZ, -1), COL_TIMESTAMPTZ,
             PGT_DEC_TIMESTAMPTZ, false);
  expect_map(scalar(PGT_OID_UUID, -1), COL_UUID, PGT_DEC_UUID, false);
  const uint32_t texts[] = {PGT_OID_TEXT,     PGT_OID_VARCHAR,  PGT_OID_BPCHAR,
                            PGT_OID_NAME,     PGT_OID_CHAR,     PGT_OID_JSON,
                            PGT_OID_JSONB,    PGT_OID_XML,      PGT_OID_MONEY,
                            PGT_OID_INET,     PGT_OID_CIDR,     PGT_OID_MACADDR,
                            PGT_OID_MACADDR8, PGT_OID_INTERVAL, PGT_OID_TIMETZ};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    expect_map(scalar(texts[i], -1), COL_UTF8, PGT_DEC_TEXT, false);
  pgt_desc en = scalar(91234, -1);
  en.typtype = 'e';
  expect_map(en, COL_UTF8, PGT_DEC_TEXT, false);
  pgt_desc ci = scalar(91235, -1);
  ci.name = "citext";
  expect_map(ci, COL_UTF8, PGT_DEC_TEXT, false);
  /* unknown: point, a range, a composite -> text with a warning */
  pgt_desc pt = scalar(600, -1);
  pt.name = "point";
  expect_map(pt, COL_UTF8, PGT_DEC_TEXT, true);
  pgt_desc rg = scalar(3904, -1);
  rg.typtype = 'r';
  expect_map(rg, COL_UTF8, PGT_DEC_TEXT, true);
  pgt_desc cp = scalar(91236, -1);
  cp.typtype = 'c';
  expect_map(cp, COL_UTF8, PGT_DEC_TEXT, true);
  assert_non_null(map_of(pt).note);
  /* an unresolved domain is a caller bug */
  pgt_desc dom = scalar(91237, -1);
  dom.typtype = 'd';
  pgt_map m;
  floe_error e;
  assert_int_equal(pgt_map_type(&dom, &m, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "domain"));
  assert_int_equal(pgt_map_type(NULL, &m, &e), FLOE_EINVAL);
}

static void test_map_numeric(void **state) {
  (void)state;
  int p, s;
  /* typmods as a Postgres 15 server reports them */
  assert_true(pgt_numeric_typmod(327686, &p, &s)); /* numeric(5,2) */
  assert_int_equal(p, 5);
  assert_int_equal(s, 2);
  assert_true(pgt_numeric_typmod(329730, &p, &s)); /* numeric(5,-2) */
  assert_int_equal(p, 5);
  assert_int_equal(s, -2);
  assert_true(pgt_numeric_typmod(196617, &p, &s)); /* numeric(3,5) */
  assert_int_equal(p, 3);
  assert_int_equal(s, 5);
  assert_false(pgt_numeric_typmod(-1, &p, &s));
  assert_false(pgt_numeric_typmod(3, &p, &s));

  pgt_map m = map_of(scalar(PGT_OID_NUMERIC, 327686));
  assert_int_equal(m.type.id, COL_DECIMAL);
  assert_int_equal(m.type.precision, 5);
  assert_int_equal(m.type.scale, 2);
  m = map_of(scalar(PGT_OID_NUMERIC, 329730)); /* 5 digits * 100 */
  assert_int_equal(m.type.precision, 7);
  assert_int_equal(m.type.scale, 0);
  m = map_of(scalar(PGT_OID_NUMERIC, 196617)); /* 0.00xxx */
  assert_int_equal(m.type.precision, 5);
  assert_int_equal(m.type.scale, 5);
  m = map_of(scalar(PGT_OID_NUMERIC, (38 << 16) + 4));
  assert_int_equal(m.type.id, COL_DECIMAL);
  assert_int_equal(m.type.precision, 38);
  m = map_of(scalar(PGT_OID_NUMERIC, (39 << 16) + 4));
  assert_int_equal(m.type.id, COL_UTF8);
  assert_false(m.warn);
  assert_non_null(m.note);
  m = map_of(scalar(PGT_OID_NUMERIC, (37 << 16) + (0x7ff & -2) + 4));
  assert_int_equal(m.type.id, COL_UTF8); /* 37 digits * 100: 39 > 38 */
  m = map_of(scalar(PGT_OID_NUMERIC, -1));
  assert_int_equal(m.type.id, COL_UTF8);
  assert_int_equal(m.dec, PGT_DEC_TEXT);
  assert_false(m.warn);
  assert_non_null(m.note);
}

static void test_map_arrays(void **state) {
  (void)state;
  pgt_map m = map_of(array(PGT_OID_INT4, -1));
  assert_int_equal(m.type.id, COL_LIST);
  assert_int_equal(m.type.elem, COL_INT32);
  assert_int_equal(m.dec, PGT_DEC_ARRAY);
  assert_int_equal(m.elem_dec, PGT_DEC_INT4);
  assert_int_equal(m.delim, ',');
  m = map_of(array(PGT_OID_NUMERIC, 655366)); /* numeric(10,2)[] */
  assert_int_equal(m.type.elem, COL_DECIMAL);
  assert_int_equal(m.type.elem_precision, 10);
  assert_int_equal(m.type.elem_scale, 2);
  assert_int_equal(col_dtype_check(m.type, NULL), FLOE_OK);
  m = map_of(array(PGT_OID_NUMERIC, -1));
  assert_int_equal(m.type.elem, COL_UTF8);
  pgt_desc en = array(91234, -1);
  en.elem_typtype = 'e';
  m = map_of(en);
  assert_int_equal(m.type.id, COL_LIST);
  assert_int_equal(m.type.elem, COL_UTF8);
  assert_false(m.warn);
  /* box[]: the element is unknown (and uses ';'): the whole text, warned */
  pgt_desc bx = array(603, -1);
  bx.elem_delim = ';';
  m = map_of(bx);
  assert_int_equal(m.type.id, COL_UTF8);
  assert_int_equal(m.dec, PGT_DEC_TEXT);
  assert_true(m.warn);
  pgt_desc dom = array(91237, -1);
  dom.elem_typtype = 'd';
  assert_int_equal(pgt_map_type(&dom, &m, NULL), FLOE_EINVAL);
}

/* ---- scalar values ---- */

static void test_bool_ints(void **state) {
  (void)state;
  assert_int_equal(i64_of(scalar(PGT_OID_INT2, -1), "-32768"), -32768);
  assert_int_equal(i64_of(scalar(PGT_OID_INT2, -1), "32767"), 32767);
  assert_int_equal(i64_of(scalar(PGT_OID_INT4, -1), "-2147483648"), INT32_MIN);
  assert_int_equal(i64_of(scalar(PGT_OID_INT4, -1), "2147483647"), INT32_MAX);
  assert_true(i64_of(scalar(PGT_OID_INT8, -1), "-9223372036854775808") ==
              INT64_MIN);
  assert_true(i64_of(scalar(PGT_OID_INT8, -1), "9223372036854775807") ==
              INT64_MAX);
  assert_int_equal(i64_of(scalar(PGT_OID_OID, -1), "4294967295"), 4294967295LL);
  assert_int_equal(i64_of(scalar(PGT_OID_INT4, -1), "0"), 0);
  pgt_map m = map_of(scalar(PGT_OID_INT2, -1));
  bad(&m, "32768", FLOE_ERANGE, "out of range");
  bad(&m, "-32769", FLOE_ERANGE, "int2");
  bad(&m, "", FLOE_ECORRUPT, "not an integer");
  bad(&m, "-", FLOE_ECORRUPT, NULL);
  bad(&m, "1 ", FLOE_ECORRUPT, NULL);
  bad(&m, "99999999999999999999x", FLOE_ECORRUPT, NULL);
  m = map_of(scalar(PGT_OID_INT8, -1));
  bad(&m, "9223372036854775808", FLOE_ERANGE, NULL);

  m = map_of(scalar(PGT_OID_BOOL, -1));
  const char *in[] = {"t", "f", "true", "false"};
  for (int i = 0; i < 4; i++) {
    col_column c;
    one(&m, &c, in[i]);
    assert_int_equal(col_get_bool(&c, 0), i % 2 == 0);
    col_free(&c);
  }
  bad(&m, "T", FLOE_ECORRUPT, "postgres bool value \"T\"");
  bad(&m, "", FLOE_ECORRUPT, NULL);
  bad(&m, "yes", FLOE_ECORRUPT, NULL);
}

static uint64_t f64_bits(const char *text) {
  pgt_map m = map_of(scalar(PGT_OID_FLOAT8, -1));
  col_column c;
  one(&m, &c, text);
  uint64_t b;
  memcpy(&b, col_get_fixed(&c, 0, 8), 8);
  col_free(&c);
  return b;
}

static uint32_t f32_bits(const char *text) {
  pgt_map m = map_of(scalar(PGT_OID_FLOAT4, -1));
  col_column c;
  one(&m, &c, text);
  uint32_t b;
  memcpy(&b, col_get_fixed(&c, 0, 4), 4);
  col_free(&c);
  return b;
}

static void test_floats(void **state) {
  (void)state;
  double d;
  uint64_t b = f64_bits("NaN");
  memcpy(&d, &b, 8);
  assert_true(isnan(d));
  assert_true(f64_bits("Infinity") == 0x7ff0000000000000ULL);
  assert_true(f64_bits("-Infinity") == 0xfff0000000000000ULL);
  assert_true(f64_bits("-0") == 0x8000000000000000ULL);
  assert_true(f64_bits("0") == 0);
  assert_true(f64_bits("0.1") == 0x3fb999999999999aULL);
  assert_true(f64_bits("5e-324") == 1);
  assert_true(f64_bits("1.7976931348623157e+308") == 0x7fefffffffffffffULL);
  assert_true(f64_bits("1.2345678901234568e+17") == 0x437b69b4ba630f35ULL);
  float f;
  uint32_t fb = f32_bits("NaN");
  memcpy(&f, &fb, 4);
  assert_true(isnan(f));
  assert_true(f32_bits("-0") == 0x80000000u);
  assert_true(f32_bits("Infinity") == 0x7f800000u);
  assert_true(f32_bits("-Infinity") == 0xff800000u);
  assert_true(f32_bits("3.4028235e+38") == 0x7f7fffffu);
  assert_true(f32_bits("1e-45") == 1);
  assert_true(f32_bits("1.6777216e+07") == 0x4b800000u);
  pgt_map m = map_of(scalar(PGT_OID_FLOAT8, -1));
  bad(&m, "abc", FLOE_ECORRUPT, "postgres float8 value");
  bad(&m, "1e999", FLOE_ERANGE, NULL);
}

static void dec_is(int32_t typmod, const char *text, uint64_t lo, int64_t hi) {
  pgt_map m = map_of(scalar(PGT_OID_NUMERIC, typmod));
  col_column c;
  one(&m, &c, text);
  uint64_t v[2];
  memcpy(v, col_get_fixed(&c, 0, 16), 16);
  if (v[0] != lo || (int64_t)v[1] != hi)
    fail_msg("\"%s\": got %016llx %016llx", text, (unsigned long long)v[1],
             (unsigned long long)v[0]);
  col_free(&c);
}

static void test_numeric(void **state) {
  (void)state;
  const int32_t n52 = (5 << 16) + 2 + 4;
  dec_is(n52, "12.30", 1230, 0);
  dec_is(n52, "-999.99", (uint64_t)-99999, -1);
  dec_is(n52, "0.00", 0, 0);
  dec_is(329730, "12300", 12300, 0); /* numeric(5,-2) */
  dec_is(196617, "0.00123", 123, 0); /* numeric(3,5) */
  const int32_t n38 = (38 << 16) + 4;
  dec_is(n38, "99999999999999999999999999999999999999", 0x098a223fffffffffULL,
         0x4b3b4ca85a86c47aLL);
  dec_is(n38, "-99999999999999999999999999999999999999",
         ~0x098a223fffffffffULL + 1, ~0x4b3b4ca85a86c47aLL);
  pgt_map m = map_of(scalar(PGT_OID_NUMERIC, n52));
  bad(&m, "NaN", FLOE_ERANGE, "\"NaN\": has no value in decimal(5,2)");
  bad(&m, "Infinity", FLOE_ERANGE, "Infinity");
  bad(&m, "-Infinity", FLOE_ERANGE, "-Infinity");
  bad(&m, "1234.00", FLOE_ERANGE, "precision");
  bad(&m, "1.2.3", FLOE_ECORRUPT, NULL);
  /* unconstrained: the exact text */
  m = map_of(scalar(PGT_OID_NUMERIC, -1));
  const char *texts[] = {
      "NaN",  "Infinity", "-Infinity", "123.4500", "100000000000000000000",
      "0.000"};
  for (size_t i = 0; i < 6; i++) {
    col_column c;
    one(&m, &c, texts[i]);
    size_t n;
    const uint8_t *p = col_get_bytes(&c, 0, &n);
    assert_int_equal(n, strlen(texts[i]));
    assert_memory_equal(p, texts[i], n);
    col_free(&c);
  }
}

static void text_is(pgt_desc d, const char *text, const void *want, size_t wn) {
  pgt_map m = map_of(d);
  col_column c;
  one(&m, &c, text);
  size_t n;
  const uint8_t *p = col_get_bytes(&c, 0, &n);
  assert_int_equal(n, wn);
  if (wn) assert_memory_equal(p, want, wn);
  col_free(&c);
}

static void test_text_bytea_uuid(void **state) {
  (void)state;
  text_is(scalar(PGT_OID_TEXT, -1), "h\xc3\xa9llo", "h\xc3\xa9llo", 6);
  text_is(scalar(PGT_OID_TEXT, -1), "", "", 0);
  text_is(scalar(PGT_OID_BPCHAR, 9), "ab   ", "ab   ", 5);
  text_is(scalar(PGT_OID_TIMETZ, -1), "24:00:00+15:59", "24:00:00+15:59", 14);
  text_is(scalar(PGT_OID_INTERVAL, -1), "1 year 2 mons -3 days +04:05:06.789",
          "1 year 2 mons -3 days +04:05:06.789", 35);
  text_is(scalar(PGT_OID_MONEY, -1), "$12.34", "$12.34", 6);
  text_is(scalar(PGT_OID_JSONB, -1), "{\"a\": 1}", "{\"a\": 1}", 8);
  text_is(scalar(PGT_OID_BYTEA, -1), "\\x00ff10", "\x00\xff\x10", 3);
  text_is(scalar(PGT_OID_BYTEA, -1), "\\x", "", 0);
  pgt_map m = map_of(scalar(PGT_OID_TEXT, -1));
  bad(&m, "a\xff", FLOE_ECORRUPT, "UTF-8");
  m = map_of(scalar(PGT_OID_BYTEA, -1));
  bad(&m, "\\x0", FLOE_ECORRUPT, NULL);
  bad(&m, "\\xzz", FLOE_ECORRUPT, NULL);
  bad(&m, "abc", FLOE_ECORRUPT, "postgres bytea value");

  m = map_of(scalar(PGT_OID_UUID, -1));
  col_column c;
  one(&m, &c, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  const uint8_t want[16] = {0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8,
                            0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11};
  assert_memory_equal(col_get_fixed(&c, 0, 16), want, 16);
  col_free(&c);
  bad(&m, "a0eebc99", FLOE_ECORRUPT, NULL);
}

static void test_dates_times(void **state) {
  (void)state;
  pgt_desc dd = scalar(PGT_OID_DATE, -1);
  assert_int_equal(i64_of(dd, "infinity"), INT32_MAX);
  assert_int_equal(i64_of(dd, "-infinity"), INT32_MIN);
  assert_int_equal(i64_of(dd, "1970-01-01"), 0);
  assert_int_equal(i64_of(dd, "2020-02-29"), 18321);
  assert_int_equal(i64_of(dd, "0001-01-01"), -719162);
  assert_int_equal(i64_of(dd, "0001-12-31 BC"), -719163);
  assert_int_equal(i64_of(dd, "4713-01-01 BC"), -2440550);
  assert_int_equal(i64_of(dd, "5874897-12-31"), 2145042905);
  pgt_map m = map_of(dd);
  bad(&m, "Infinity", FLOE_ECORRUPT, "postgres date value");
  bad(&m, "2020-02-30", FLOE_ECORRUPT, NULL);

  pgt_desc t = scalar(PGT_OID_TIME, -1);
  assert_true(i64_of(t, "24:00:00") == 86400000000LL);
  assert_true(i64_of(t, "00:00:00") == 0);
  assert_true(i64_of(t, "23:59:59.999999") == 86399999999LL);
  assert_true(i64_of(t, "12:00:00.5") == 43200500000LL);

  pgt_desc ts = scalar(PGT_OID_TIMESTAMP, -1);
  assert_true(i64_of(ts, "infinity") == INT64_MAX);
  assert_true(i64_of(ts, "-infinity") == INT64_MIN);
  assert_true(i64_of(ts, "2020-02-29 12:34:56.5") == 1582979696500000LL);
  assert_true(i64_of(ts, "1900-01-01 00:00:00.000001") ==
              -2208988800000000LL + 1);
  assert_true(i64_of(ts, "4713-01-01 00:00:00 BC") == -210863520000000000LL);
  m = map_of(ts);
  /* Postgres' last microseconds (year 294247+) pass int64 since 1970 */
  bad(&m, "294276-12-31 23:59:59.999999", FLOE_ERANGE, "out of range");
  bad(&m, "2020-02-29 12:34:56.5+00", FLOE_ECORRUPT, NULL);

  pgt_desc tz = scalar(PGT_OID_TIMESTAMPTZ, -1);
  assert_true(i64_of(tz, "infinity") == INT64_MAX);
  assert_true(i64_of(tz, "-infinity") == INT64_MIN);
  assert_true(i64_of(tz, "2020-02-29 10:34:56.5+00") == 1582972496500000LL);
  assert_true(i64_of(tz, "4713-01-01 00:00:00+00 BC") == -210863520000000000LL);
  assert_true(i64_of(tz, "1850-01-01 00:00:00.000001+00") ==
              -3786825600000000LL + 1);
}

/* ---- arrays ---- */

/* Appends text to a list column of m and checks the formatted row (floe's
 * list text: JSON array) against want. */
static void arr_is(pgt_desc d, const char *text, const char *want) {
  pgt_map m = map_of(d);
  col_column c;
  one(&m, &c, text);
  fbuf out = FBUF_INIT;
  floe_error e;
  if (col_text_format(&c, 0, false, &out, &e) != FLOE_OK)
    fail_msg("format: %s", e.msg);
  if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
    fail_msg("\"%s\" -> \"%.*s\", want \"%s\"", text, (int)out.len,
             (const char *)out.data, want);
  fbuf_free(&out);
  col_free(&c);
}

static void test_arrays(void **state) {
  (void)state;
  pgt_desc i4 = array(PGT_OID_INT4, -1);
  arr_is(i4, "{1,NULL,3}", "[1,null,3]");
  arr_is(i4, "[0:2]={1,2,3}", "[1,2,3]");
  arr_is(i4, "[-5:-5]={7}", "[7]");
  arr_is(i4, "{}", "[]");
  arr_is(i4, "{ 1 , null ,3 }", "[1,null,3]");
  pgt_desc tx = array(PGT_OID_TEXT, -1);
  arr_is(tx, "{\"a b\",\"NULL\",\"\",NULL,\"x\\\"y\",\"z\\\\w\",\"{}\",\",\"}",
         "[\"a b\",\"NULL\",\"\",null,\"x\\\"y\",\"z\\\\w\",\"{}\",\",\"]");
  arr_is(tx, "{\"  lead\",\"null\",a\\,b}", "[\"  lead\",\"null\",\"a,b\"]");
  arr_is(tx, "{\"{\\\"a\\\": 1}\"}", "[\"{\\\"a\\\": 1}\"]");
  arr_is(tx, "{N\\ULL}", "[\"NULL\"]");
  arr_is(array(PGT_OID_BYTEA, -1), "{\"\\\\x0102\",\"\\\\x\",NULL}",
         "[\"\\\\x0102\",\"\\\\x\",null]");
  arr_is(array(PGT_OID_DATE, -1), "{2020-01-01,infinity,-infinity}",
         "[\"2020-01-01\",\"5881580-07-11\",\"5877642-06-23 BC\"]");
  arr_is(array(PGT_OID_FLOAT8, -1), "{NaN,-0,Infinity}",
         "[\"NaN\",-0,\"Infinity\"]");
  arr_is(array(PGT_OID_TIMESTAMPTZ, -1), "{\"2020-01-01 00:00:00+00\"}",
         "[\"2020-01-01 00:00:00+00\"]");
  arr_is(array(PGT_OID_NUMERIC, 655366), "{1.50,NULL}", "[\"1.50\",null]");
  arr_is(array(PGT_OID_BOOL, -1), "{t,f}", "[true,false]");
  pgt_desc semi = array(PGT_OID_TEXT, -1);
  semi.elem_delim = ';';
  arr_is(semi, "{a,b;c}", "[\"a,b\",\"c\"]");

  pgt_map m = map_of(i4);
  bad(&m, "{{1,2},{3,4}}", FLOE_EUNSUPPORTED, "multi-dimensional");
  bad(&m, "[1:2][1:2]={{1,2},{3,4}}", FLOE_EUNSUPPORTED, "multi-dimensional");
  bad(&m, "[0:3]={1,2,3}", FLOE_ECORRUPT, "dimensions");
  bad(&m, "[0:3={1}", FLOE_ECORRUPT, "dimension");
  bad(&m, "[0:0]{1}", FLOE_ECORRUPT, "=");
  bad(&m, "{1,2", FLOE_ECORRUPT, "unterminated");
  bad(&m, "{1,2}x", FLOE_ECORRUPT, "after");
  bad(&m, "{1,,2}", FLOE_ECORRUPT, "empty");
  bad(&m, "{1,x,2}", FLOE_ECORRUPT, "array element 2");
  bad(&m, "1,2", FLOE_ECORRUPT, "expected {");
  bad(&m, "", FLOE_ECORRUPT, NULL);
  bad(&m, "{\"1}", FLOE_ECORRUPT, "unterminated quoted");
  bad(&m, "{1\"}", FLOE_ECORRUPT, "quote");
  bad(&m, "{1 2}", FLOE_ECORRUPT, NULL);
  bad(&m, "{1,3000000000}", FLOE_ERANGE, "array element 2");
  bad(&m, "{1\\", FLOE_ECORRUPT, NULL);
  m = map_of(array(PGT_OID_NUMERIC, 655366));
  bad(&m, "{1.00,NaN}", FLOE_ERANGE, "array element 2");

  /* a failure leaves earlier rows intact */
  m = map_of(tx);
  col_column c;
  fbuf scratch = FBUF_INIT;
  floe_error e;
  one(&m, &c, "{a,b}");
  assert_int_equal(pgt_append_text(&c, &m, "{c,\"d\\\"", 7, &scratch, &e),
                   FLOE_ECORRUPT);
  assert_int_equal(c.length, 1);
  assert_int_equal(c.child->length, 2);
  assert_int_equal(c.child->values.len, 2);
  assert_int_equal(pgt_append_null(&c, &e), FLOE_OK);
  assert_int_equal(pgt_append_text(&c, &m, "{\"x\\\\\"}", 7, &scratch, &e),
                   FLOE_OK);
  assert_int_equal(c.length, 3);
  assert_false(col_is_valid(&c, 1));
  assert_int_equal(c.child->length, 3);
  size_t n;
  const uint8_t *p = col_get_bytes(c.child, 2, &n);
  assert_int_equal(n, 2);
  assert_memory_equal(p, "x\\", 2);
  /* arrays need a scratch buffer */
  assert_int_equal(pgt_append_text(&c, &m, "{a}", 3, NULL, &e), FLOE_EINVAL);
  fbuf_free(&scratch);
  col_free(&c);
}

static void test_nulls(void **state) {
  (void)state;
  pgt_map m = map_of(scalar(PGT_OID_INT8, -1));
  col_column c;
  floe_error e;
  assert_int_equal(col_init(&c, m.type, &e), FLOE_OK);
  assert_int_equal(pgt_append_null(&c, &e), FLOE_OK);
  assert_int_equal(pgt_append_text(&c, &m, "5", 1, NULL, &e), FLOE_OK);
  assert_int_equal(c.length, 2);
  assert_int_equal(c.null_count, 1);
  assert_false(col_is_valid(&c, 0));
  assert_true(col_is_valid(&c, 1));
  col_free(&c);
}

/* ---- binary values ---- */

/* hex text -> bytes */
static size_t hx(const char *h, uint8_t *out) {
  size_t n = 0;
  for (; h[0] && h[1]; h += 2) {
    if (h[0] == ' ') {
      h--;
      continue;
    }
    unsigned v;
    sscanf(h, "%2x", &v);
    out[n++] = (uint8_t)v;
  }
  return n;
}

/* Appends binary value hex to a fresh column of m; must succeed; returns the
 * floe text of the value (floats: bits). */
static const char *bin_text(const pgt_map *m, const char *hex) {
  static char out[256];
  uint8_t b[128];
  size_t n = hx(hex, b);
  col_column c;
  floe_error e;
  assert_int_equal(col_init(&c, m->type, &e), FLOE_OK);
  /* an exact-size heap copy: ASan sees any over-read */
  uint8_t *p = malloc(n ? n : 1);
  memcpy(p, b, n);
  floe_status st = pgt_append_binary(&c, m, p, n, &e);
  free(p);
  if (st != FLOE_OK) fail_msg("binary %s: %s", hex, e.msg);
  assert_int_equal(c.length, 1);
  fbuf f = FBUF_INIT;
  if (!col_is_valid(&c, 0)) {
    snprintf(out, sizeof out, "NULL");
  } else if (c.type.id == COL_FLOAT64 || c.type.id == COL_FLOAT32) {
    uint64_t bits = 0;
    memcpy(&bits, col_get_fixed(&c, 0, col_type_width(c.type.id)),
           (size_t)col_type_width(c.type.id));
    snprintf(out, sizeof out, "%llx", (unsigned long long)bits);
  } else {
    assert_int_equal(col_text_format(&c, 0, false, &f, &e), FLOE_OK);
    snprintf(out, sizeof out, "%.*s", (int)f.len, (const char *)f.data);
  }
  fbuf_free(&f);
  col_free(&c);
  return out;
}

static void bin_bad(const pgt_map *m, const char *hex, floe_status code,
                    const char *want) {
  uint8_t b[128];
  size_t n = hx(hex, b);
  col_column c;
  floe_error e;
  assert_int_equal(col_init(&c, m->type, &e), FLOE_OK);
  uint8_t *p = malloc(n ? n : 1);
  memcpy(p, b, n);
  floe_status st = pgt_append_binary(&c, m, p, n, &e);
  free(p);
  if (st != code)
    fail_msg("binary %s: status %d (%s), want %d", hex, st, st ? e.msg : "ok",
             code);
  if (want && !strstr(e.msg, want))
    fail_msg("binary %s: \"%s\" lacks \"%s\"", hex, e.msg, want);
  assert_int_equal(c.length, 0);
  if (c.child) assert_int_equal(c.child->length, 0);
  col_free(&c);
}

static void test_binary_map(void **state) {
  (void)state;
  assert_int_equal(map_of(scalar(PGT_OID_INT4, -1)).bin, PGT_BIN_INT4);
  assert_int_equal(map_of(scalar(PGT_OID_OID, -1)).bin, PGT_BIN_OID);
  assert_int_equal(map_of(scalar(PGT_OID_NUMERIC, 327686)).bin,
                   PGT_BIN_NUMERIC);
  assert_int_equal(map_of(scalar(PGT_OID_NUMERIC, -1)).bin,
                   PGT_BIN_NUMERIC_TEXT);
  assert_int_equal(map_of(scalar(PGT_OID_JSONB, -1)).bin, PGT_BIN_JSONB);
  assert_int_equal(map_of(scalar(PGT_OID_VARCHAR, -1)).bin, PGT_BIN_TEXT);
  assert_int_equal(map_of(scalar(PGT_OID_TIMESTAMPTZ, -1)).bin,
                   PGT_BIN_TIMESTAMP);
  const uint32_t none[] = {PGT_OID_INTERVAL, PGT_OID_TIMETZ, PGT_OID_INET,
                           PGT_OID_MONEY,    PGT_OID_CHAR,   600};
  for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
    assert_int_equal(map_of(scalar(none[i], -1)).bin, PGT_BIN_NONE);
  pgt_desc en = scalar(91234, -1);
  en.typtype = 'e';
  assert_int_equal(map_of(en).bin, PGT_BIN_TEXT);
  pgt_map m = map_of(array(PGT_OID_DATE, -1));
  assert_int_equal(m.bin, PGT_BIN_ARRAY);
  assert_int_equal(m.elem_bin, PGT_BIN_DATE);
  assert_int_equal(map_of(array(PGT_OID_INTERVAL, -1)).bin, PGT_BIN_NONE);
  assert_int_equal(map_of(array(603, -1)).bin, PGT_BIN_NONE);
  m = map_of(scalar(PGT_OID_INTERVAL, -1));
  bin_bad(&m, "00", FLOE_EINVAL, "text only");
}

static void test_binary_scalars(void **state) {
  (void)state;
  pgt_map m = map_of(scalar(PGT_OID_BOOL, -1));
  assert_string_equal(bin_text(&m, "01"), "true");
  assert_string_equal(bin_text(&m, "00"), "false");
  bin_bad(&m, "02", FLOE_ECORRUPT, "postgres bool binary value at offset 0");
  bin_bad(&m, "0100", FLOE_ECORRUPT, "2 bytes, expected 1");
  m = map_of(scalar(PGT_OID_INT2, -1));
  assert_string_equal(bin_text(&m, "8000"), "-32768");
  m = map_of(scalar(PGT_OID_INT4, -1));
  assert_string_equal(bin_text(&m, "fffffffe"), "-2");
  bin_bad(&m, "000000", FLOE_ECORRUPT, "3 bytes, expected 4");
  m = map_of(scalar(PGT_OID_INT8, -1));
  assert_string_equal(bin_text(&m, "8000000000000000"), "-9223372036854775808");
  m = map_of(scalar(PGT_OID_OID, -1));
  assert_string_equal(bin_text(&m, "ffffffff"), "4294967295");
  m = map_of(scalar(PGT_OID_FLOAT4, -1));
  assert_string_equal(bin_text(&m, "80000000"), "80000000");
  assert_string_equal(bin_text(&m, "7fc00001"), "7fc00001"); /* payload kept */
  m = map_of(scalar(PGT_OID_FLOAT8, -1));
  assert_string_equal(bin_text(&m, "fff0000000000000"), "fff0000000000000");
  m = map_of(scalar(PGT_OID_TEXT, -1));
  assert_string_equal(bin_text(&m, "68c3a9"), "h\xc3\xa9");
  assert_string_equal(bin_text(&m, ""), "");
  bin_bad(&m, "61ff", FLOE_ECORRUPT, "offset 1: invalid UTF-8");
  m = map_of(scalar(PGT_OID_JSONB, -1));
  assert_string_equal(bin_text(&m, "017b7d"), "{}");
  bin_bad(&m, "027b7d", FLOE_ECORRUPT, "version");
  bin_bad(&m, "", FLOE_ECORRUPT, "version");
  m = map_of(scalar(PGT_OID_BYTEA, -1));
  assert_string_equal(bin_text(&m, "00ff"), "\\x00ff");
  assert_string_equal(bin_text(&m, ""), "\\x");
  m = map_of(scalar(PGT_OID_UUID, -1));
  assert_string_equal(bin_text(&m, "a0eebc999c0b4ef8bb6d6bb9bd380a11"),
                      "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  bin_bad(&m, "a0ee", FLOE_ECORRUPT, "expected 16");

  m = map_of(scalar(PGT_OID_DATE, -1));
  assert_string_equal(bin_text(&m, "00000000"), "2000-01-01");
  assert_string_equal(bin_text(&m, "ffffd533"), "1970-01-01");
  col_column c;
  uint8_t inf[4] = {0x7f, 0xff, 0xff, 0xff}, ninf[4] = {0x80, 0, 0, 0};
  assert_int_equal(col_init(&c, m.type, NULL), FLOE_OK);
  assert_int_equal(pgt_append_binary(&c, &m, inf, 4, NULL), FLOE_OK);
  assert_int_equal(pgt_append_binary(&c, &m, ninf, 4, NULL), FLOE_OK);
  int32_t d0, d1;
  memcpy(&d0, col_get_fixed(&c, 0, 4), 4);
  memcpy(&d1, col_get_fixed(&c, 1, 4), 4);
  assert_int_equal(d0, INT32_MAX);
  assert_int_equal(d1, INT32_MIN);
  col_free(&c);
  bin_bad(&m, "7ffffff0", FLOE_ERANGE, "date out of range");

  m = map_of(scalar(PGT_OID_TIME, -1));
  assert_string_equal(bin_text(&m, "000000141dd76000"), "24:00:00");
  bin_bad(&m, "000000141dd76001", FLOE_ECORRUPT, "not within a day");
  bin_bad(&m, "ffffffffffffffff", FLOE_ECORRUPT, "not within a day");
  m = map_of(scalar(PGT_OID_TIMESTAMPTZ, -1));
  assert_string_equal(bin_text(&m, "0000000000000000"),
                      "2000-01-01 00:00:00+00");
  assert_string_equal(bin_text(&m, "fffca2fec4c82000"),
                      "1970-01-01 00:00:00+00");
  assert_string_equal(bin_text(&m, "7fffffffffffffff"),
                      "294247-01-10 04:00:54.775807+00");
  bin_bad(&m, "7ffffffffffffffe", FLOE_ERANGE, "int64 microsecond range");
  m = map_of(scalar(PGT_OID_TIMESTAMP, -1));
  assert_string_equal(bin_text(&m, "8000000000000000"),
                      "290309-12-21 19:59:05.224192 BC");
}

static void test_binary_numeric(void **state) {
  (void)state;
  pgt_map m = map_of(scalar(PGT_OID_NUMERIC, (5 << 16) + 2 + 4));
  /* ndigits weight sign dscale digits */
  assert_string_equal(bin_text(&m, "0002 0000 0000 0002 000c 0bb8"), "12.30");
  assert_string_equal(bin_text(&m, "0002 0000 4000 0002 03e7 26ac"), "-999.99");
  assert_string_equal(bin_text(&m, "0000 0000 0000 0002"), "0.00");
  assert_string_equal(bin_text(&m, "0001 ffff 0000 0002 0064"), "0.01");
  bin_bad(&m, "0001 0001 0000 0000 0001", FLOE_ERANGE,
          "more digits than the precision"); /* 10000 */
  bin_bad(&m, "0001 ffff 0000 0003 0005", FLOE_ERANGE,
          "more fraction digits"); /* 0.0005 */
  bin_bad(&m, "0000 0000 c000 0000", FLOE_ERANGE,
          "\"NaN\": has no value in decimal(5,2)");
  bin_bad(&m, "0000 0000 d000 0000", FLOE_ERANGE, "Infinity");
  bin_bad(&m, "0001 0000 0000 0000 2710", FLOE_ECORRUPT, "base 10000");
  bin_bad(&m, "0002 0000 0000 0000 0001", FLOE_ECORRUPT, "2 digits in 2");
  bin_bad(&m, "0000 0000 1234 0000", FLOE_ECORRUPT, "sign word 0x1234");
  bin_bad(&m, "0000 0000 0000", FLOE_ECORRUPT, "need at least 8");
  /* numeric(7,0) from numeric(5,-2): 12300 is one digit 1 at weight 1
   * and 2300 */
  m = map_of(scalar(PGT_OID_NUMERIC, 329730));
  assert_string_equal(bin_text(&m, "0002 0001 0000 0000 0001 08fc"), "12300");
  assert_string_equal(bin_text(&m, "0001 0001 4000 0000 000a"), "-100000");
  /* 38 nines: weight 9, first group 99, nine groups of 9999 */
  m = map_of(scalar(PGT_OID_NUMERIC, (38 << 16) + 4));
  assert_string_equal(
      bin_text(&m, "000a 0009 0000 0000 0063 270f 270f 270f 270f 270f 270f "
                   "270f 270f 270f"),
      "99999999999999999999999999999999999999");

  /* unconstrained: numeric_out's exact text */
  m = map_of(scalar(PGT_OID_NUMERIC, -1));
  assert_string_equal(bin_text(&m, "0000 0000 c000 0000"), "NaN");
  assert_string_equal(bin_text(&m, "0000 0000 d000 0000"), "Infinity");
  assert_string_equal(bin_text(&m, "0000 0000 f000 0000"), "-Infinity");
  assert_string_equal(bin_text(&m, "0000 0000 0000 0003"), "0.000");
  assert_string_equal(bin_text(&m, "0002 0000 0000 0004 007b 1194"),
                      "123.4500");
  assert_string_equal(bin_text(&m, "0002 ffff 0000 0005 000c 0bb8"), "0.00123");
  assert_string_equal(bin_text(&m, "0001 0005 4000 0000 0001"),
                      "-100000000000000000000");
  assert_string_equal(bin_text(&m, "0001 0000 0000 0000 0007"), "7");
}

static void test_binary_arrays(void **state) {
  (void)state;
  pgt_map m = map_of(array(PGT_OID_INT4, -1));
  /* ndim flags elem | len lbound | elements */
  assert_string_equal(bin_text(&m,
                               "00000001 00000001 00000017 00000003 00000001 "
                               "00000004 00000001 ffffffff 00000004 00000003"),
                      "[1,null,3]");
  assert_string_equal(bin_text(&m, "00000000 00000000 00000017"), "[]");
  assert_string_equal(bin_text(&m,
                               "00000001 00000000 00000017 00000001 00000000 "
                               "00000004 ffffffff"),
                      "[-1]");
  bin_bad(&m, "00000002 00000000 00000017 00000002 00000001 00000001 00000001",
          FLOE_EUNSUPPORTED, "multi-dimensional");
  bin_bad(&m, "00000001 00000000 00000017 7fffffff 00000001", FLOE_ECORRUPT,
          "2147483647 elements but only 0 bytes left");
  bin_bad(&m, "00000001 00000000 00000017 00000001 00000001 00000009 0000",
          FLOE_ECORRUPT, "element 1 of 9 bytes");
  bin_bad(&m, "00000001 00000000 00000017 00000001 00000001 00000002 0000",
          FLOE_ECORRUPT, "array element 1");
  bin_bad(&m, "00000001 00000000 00000017 00000001 00000001 ffffffff 00",
          FLOE_ECORRUPT, "trailing");
  bin_bad(&m, "00000001 00000002 00000017", FLOE_ECORRUPT, "flags 2");
  /* every truncation of a valid array fails cleanly */
  const char *full = "00000001 00000001 00000017 00000002 00000001 "
                     "00000004 00000001 ffffffff";
  uint8_t b[64];
  size_t n = hx(full, b);
  for (size_t len = 0; len < n; len++) {
    col_column c;
    assert_int_equal(col_init(&c, m.type, NULL), FLOE_OK);
    uint8_t *p = malloc(len ? len : 1);
    memcpy(p, b, len);
    assert_int_equal(pgt_append_binary(&c, &m, p, len, NULL), FLOE_ECORRUPT);
    free(p);
    assert_int_equal(c.length, 0);
    assert_int_equal(c.child->length, 0);
    col_free(&c);
  }
  m = map_of(array(PGT_OID_TEXT, -1));
  assert_string_equal(bin_text(&m,
                               "00000001 00000000 00000019 00000002 00000001 "
                               "00000003 612062 00000000"),
                      "[\"a b\",\"\"]");
  m = map_of(array(PGT_OID_NUMERIC, 655366));
  bin_bad(&m,
          "00000001 00000000 000006a4 00000001 00000001 00000008 "
          "00000000c0000000",
          FLOE_ERANGE, "array element 1");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_map_scalars),
      cmocka_unit_test(test_map_numeric),
      cmocka_unit_test(test_map_arrays),
      cmocka_unit_test(test_bool_ints),
      cmocka_unit_test(test_floats),
      cmocka_unit_test(test_numeric),
      cmocka_unit_test(test_text_bytea_uuid),
      cmocka_unit_test(test_dates_times),
      cmocka_unit_test(test_arrays),
      cmocka_unit_test(test_nulls),
      cmocka_unit_test(test_binary_map),
      cmocka_unit_test(test_binary_scalars),
      cmocka_unit_test(test_binary_numeric),
      cmocka_unit_test(test_binary_arrays),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
