/* Unit tests for the text form of values (src/columnar/text.c). */
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

static col_dtype T(col_type id) {
  col_dtype t = {0};
  t.id = id;
  return t;
}

static col_dtype DEC(int p, int s) {
  col_dtype t = {0};
  t.id = COL_DECIMAL;
  t.precision = (uint8_t)p;
  t.scale = (uint8_t)s;
  return t;
}

static col_dtype LIST(col_type elem) {
  col_dtype t = {0};
  t.id = COL_LIST;
  t.elem = elem;
  if (elem == COL_DECIMAL) {
    t.elem_precision = 10;
    t.elem_scale = 2;
  }
  return t;
}

/* Formats row i into a NUL-terminated static buffer. */
static const char *fmt_row(const col_column *c, int64_t i, bool json) {
  static char s[4096];
  fbuf out = FBUF_INIT;
  floe_error e;
  floe_status st = col_text_format(c, i, json, &out, &e);
  if (st != FLOE_OK) fail_msg("format failed: %s", e.msg);
  assert_true(out.len < sizeof s);
  if (out.len) memcpy(s, out.data, out.len);
  s[out.len] = 0;
  fbuf_free(&out);
  return s;
}

/* Parses in (n bytes), expects the text want back (non-json) and wjson in
 * json mode (NULL: same as want), then parses want and checks it reads back
 * as the same value. */
static void rtn(col_dtype t, const char *in, size_t n, const char *want,
                const char *wjson) {
  col_column c;
  floe_error e;
  assert_int_equal(col_init(&c, t, &e), FLOE_OK);
  if (col_text_append(&c, in, n, &e) != FLOE_OK)
    fail_msg("parse of \"%s\" failed: %s", in, e.msg);
  assert_int_equal(c.length, 1);
  const char *got = fmt_row(&c, 0, false);
  if (strcmp(got, want) != 0)
    fail_msg("\"%s\" formats as \"%s\", want \"%s\"", in, got, want);
  char quoted[512];
  if (!wjson) {
    /* json mode quotes every type but bool, ints, floats and lists */
    col_type id = t.id;
    if (id == COL_BOOL || id == COL_INT16 || id == COL_INT32 ||
        id == COL_INT64 || id == COL_FLOAT32 || id == COL_FLOAT64 ||
        id == COL_LIST) {
      wjson = want;
    } else {
      size_t o = 0;
      quoted[o++] = '"';
      for (const char *p = want; *p; p++) {
        if (*p == '"' || *p == '\\') quoted[o++] = '\\';
        quoted[o++] = *p;
      }
      quoted[o++] = '"';
      quoted[o] = 0;
      wjson = quoted;
    }
  }
  got = fmt_row(&c, 0, true);
  if (strcmp(got, wjson) != 0)
    fail_msg("\"%s\" formats (json) as \"%s\", want \"%s\"", in, got, wjson);
  if (col_text_append(&c, want, strlen(want), &e) != FLOE_OK)
    fail_msg("reparse of \"%s\" failed: %s", want, e.msg);
  assert_true(col_value_equal(&c, 0, &c, 1));
  col_free(&c);
}

static void rt(col_dtype t, const char *in, const char *want) {
  rtn(t, in, strlen(in), want, NULL);
}

static void rtj(col_dtype t, const char *in, const char *want,
                const char *wjson) {
  rtn(t, in, strlen(in), want, wjson);
}

/* Expects in to be rejected with FLOE_EINVAL and a message containing msg,
 * and the column to stay unchanged. */
static void badn(col_dtype t, const char *in, size_t n, const char *msg) {
  col_column c;
  floe_error e;
  assert_int_equal(col_init(&c, t, &e), FLOE_OK);
  floe_status st = col_text_append(&c, in, n, &e);
  if (st != FLOE_EINVAL) fail_msg("\"%s\" was not rejected", in);
  if (!strstr(e.msg, msg))
    fail_msg("\"%s\": message \"%s\" lacks \"%s\"", in, e.msg, msg);
  assert_int_equal(c.length, 0);
  if (c.child) assert_int_equal(c.child->length, 0);
  col_free(&c);
}

static void bad(col_dtype t, const char *in, const char *msg) {
  badn(t, in, strlen(in), msg);
}

/* Parses in and returns the fixed-width value's first 8 bytes as int64. */
static int64_t parse_i64(col_dtype t, const char *in) {
  col_column c;
  floe_error e;
  assert_int_equal(col_init(&c, t, &e), FLOE_OK);
  if (col_text_append(&c, in, strlen(in), &e) != FLOE_OK)
    fail_msg("parse of \"%s\" failed: %s", in, e.msg);
  int64_t v = 0;
  int w = col_type_width(t.id);
  memcpy(&v, col_get_fixed(&c, 0, w), w < 8 ? (size_t)w : 8);
  if (w == 4) v = (int32_t)v;
  if (w == 2) v = (int16_t)v;
  col_free(&c);
  return v;
}

static void test_bool_and_ints(void **state) {
  (void)state;
  rt(T(COL_BOOL), "true", "true");
  rt(T(COL_BOOL), "F", "false");
  rt(T(COL_BOOL), "1", "true");
  rt(T(COL_BOOL), "FALSE", "false");
  bad(T(COL_BOOL), "yes", "bool: not a boolean");
  bad(T(COL_BOOL), "", "bool");

  rt(T(COL_INT16), "32767", "32767");
  rt(T(COL_INT16), "-32768", "-32768");
  rt(T(COL_INT16), "+5", "5");
  rt(T(COL_INT16), "-0", "0");
  bad(T(COL_INT16), "32768", "int16: out of range: \"32768\"");
  bad(T(COL_INT16), "-32769", "out of range");
  rt(T(COL_INT32), "2147483647", "2147483647");
  rt(T(COL_INT32), "-2147483648", "-2147483648");
  rt(T(COL_INT32), "007", "7");
  bad(T(COL_INT32), "2147483648", "out of range");
  bad(T(COL_INT32), "12a", "int32: not an integer: \"12a\"");
  bad(T(COL_INT32), " 1", "not an integer");
  bad(T(COL_INT32), "1 ", "not an integer");
  bad(T(COL_INT32), "", "not an integer");
  bad(T(COL_INT32), "-", "not an integer");
  bad(T(COL_INT32), "0x10", "not an integer");
  bad(T(COL_INT32), "1.0", "not an integer");
  rt(T(COL_INT64), "-9223372036854775808", "-9223372036854775808");
  rt(T(COL_INT64), "9223372036854775807", "9223372036854775807");
  assert_true(parse_i64(T(COL_INT64), "-9223372036854775808") == INT64_MIN);
  bad(T(COL_INT64), "9223372036854775808", "out of range");
  bad(T(COL_INT64), "-9223372036854775809", "out of range");
  bad(T(COL_INT64), "99999999999999999999999999", "out of range");
  /* syntax errors win over range errors */
  bad(T(COL_INT64), "99999999999999999999x", "not an integer");
}

static void test_floats(void **state) {
  (void)state;
  col_dtype d = T(COL_FLOAT64), f = T(COL_FLOAT32);
  rt(d, "0.1", "0.1");
  rt(d, "0", "0");
  rt(d, "-0.0", "-0");
  rt(d, "100", "100");
  rt(d, "1.5", "1.5");
  rt(d, "+2.50", "2.5");
  rt(d, ".5", "0.5");
  rt(d, "5.", "5");
  rt(d, "3.141592653589793", "3.141592653589793");
  rt(d, "0.30000000000000004", "0.30000000000000004");
  rt(d, "1e16", "10000000000000000");
  rt(d, "1e17", "1e+17");
  rt(d, "123456789012345680000", "1.2345678901234568e+20");
  rt(d, "0.0001", "0.0001");
  rt(d, "0.00001", "1e-05");
  rt(d, "1e308", "1e+308");
  rt(d, "1.7976931348623157e308", "1.7976931348623157e+308");
  rt(d, "2.2250738585072014E-308", "2.2250738585072014e-308"); /* min normal */
  rt(d, "4.9e-324", "5e-324"); /* smallest denormal */
  rt(d, "2.225073858507201e-308", "2.225073858507201e-308"); /* max denormal */
  rtj(d, "NaN", "NaN", "\"NaN\"");
  rtj(d, "nan", "NaN", "\"NaN\"");
  rtj(d, "inf", "Infinity", "\"Infinity\"");
  rtj(d, "Infinity", "Infinity", "\"Infinity\"");
  rtj(d, "-Infinity", "-Infinity", "\"-Infinity\"");
  rtj(d, "-1.25e-3", "-0.00125", "-0.00125");
  bad(d, "1e400", "float64: out of range: \"1e400\"");
  bad(d, "-1e400", "out of range");
  bad(d, "0x1p3", "not a number");
  bad(d, "1.5e", "not a number");
  bad(d, "1e+", "not a number");
  bad(d, "abc", "float64: not a number");
  bad(d, "", "not a number");
  bad(d, ".", "not a number");
  bad(d, " 1", "not a number");
  bad(d, "nan(0x1)", "not a number");
  /* a long spelling still parses (heap copy path) */
  char longnum[400];
  memset(longnum, '0', sizeof longnum);
  longnum[0] = '1';
  longnum[1] = '.';
  longnum[sizeof longnum - 2] = '1';
  longnum[sizeof longnum - 1] = 0;
  rt(d, longnum, "1");
  /* -0.0 keeps its sign bit */
  col_column c;
  floe_error e;
  assert_int_equal(col_init(&c, d, &e), FLOE_OK);
  assert_int_equal(col_text_append(&c, "-0", 2, &e), FLOE_OK);
  double v;
  memcpy(&v, col_get_fixed(&c, 0, 8), 8);
  assert_true(v == 0 && signbit(v));
  col_free(&c);

  rt(f, "0.1", "0.1");
  rt(f, "3.4028235e38", "3.4028235e+38");
  rt(f, "1.4e-45", "1e-45");
  rt(f, "1.17549435e-38", "1.1754944e-38");
  rt(f, "16777217", "16777216");
  rt(f, "-2.5", "-2.5");
  rt(f, "3.14159265358979", "3.1415927");
  rtj(f, "NaN", "NaN", "\"NaN\"");
  rtj(f, "-inf", "-Infinity", "\"-Infinity\"");
  bad(f, "1e39", "float32: out of range");
}

static void dec_value(col_dtype t, const char *in, uint64_t lo, int64_t hi) {
  col_column c;
  floe_error e;
  assert_int_equal(col_init(&c, t, &e), FLOE_OK);
  if (col_text_append(&c, in, strlen(in), &e) != FLOE_OK)
    fail_msg("parse of \"%s\" failed: %s", in, e.msg);
  uint64_t v[2];
  memcpy(v, col_get_fixed(&c, 0, 16), 16);
  assert_true(v[0] == lo);
  assert_true(v[1] == (uint64_t)hi);
  col_free(&c);
}

static void test_decimals(void **state) {
  (void)state;
  col_dtype big = DEC(38, 10);
  rtj(big, "9999999999999999999999999999.9999999999",
      "9999999999999999999999999999.9999999999",
      "\"9999999999999999999999999999.9999999999\"");
  rt(big, "-9999999999999999999999999999.9999999999",
     "-9999999999999999999999999999.9999999999");
  /* 10^38 - 1 = 0x4b3b4ca85a86c47a098a223fffffffff */
  dec_value(big, "9999999999999999999999999999.9999999999",
            0x098a223fffffffffULL, 0x4b3b4ca85a86c47aLL);
  dec_value(big, "-0.0000000001", UINT64_MAX, -1);
  dec_value(big, "1", 10000000000ULL, 0);
  bad(big, "99999999999999999999999999999", "more digits than the precision");
  bad(big, "10000000000000000000000000000", "precision");
  rt(big, "1.5", "1.5000000000");
  rt(big, "0", "0.0000000000");
  rt(big, "-0", "0.0000000000");
  rt(big, "1.", "1.0000000000");
  rt(big, ".5", "0.5000000000");
  rt(big, "+00012.3400000000000", "12.3400000000");
  rt(big, "-0.0000000001", "-0.0000000001");
  rt(big, "1e3", "1000.0000000000");
  rt(big, "2E-10", "0.0000000002");
  rt(big, "150e-2", "1.5000000000");
  bad(big, "1.5E-10", "more fraction digits than the scale");
}

static void test_decimal_rules(void **state) {
  (void)state;
  col_dtype big = DEC(38, 10);
  bad(big, "1.12345678901", "more fraction digits than the scale");
  rt(big, "1.12345678900", "1.1234567890");
  bad(big, "abc", "decimal(38,10): not a number: \"abc\"");
  bad(big, "", "not a number");
  bad(big, ".", "not a number");
  bad(big, "1.2.3", "not a number");
  bad(big, "1e", "not a number");
  bad(big, "1e99999", "exponent");
  col_dtype d52 = DEC(5, 2);
  rtj(d52, "123.45", "123.45", "\"123.45\"");
  rt(d52, "-1.2", "-1.20");
  rt(d52, "0.01", "0.01");
  rt(d52, "999.99", "999.99");
  bad(d52, "1234.5", "decimal(5,2): more digits than the precision allows");
  bad(d52, "1000", "precision");
  bad(d52, "0.001", "scale");
  rt(d52, "0.0100", "0.01");
  bad(d52, "0.0010", "scale");
}

static void test_decimal_zero_scale(void **state) {
  (void)state;
  col_dtype d30 = DEC(3, 0);
  rt(d30, "999", "999");
  rt(d30, "-999", "-999");
  rt(d30, "5.000", "5");
  bad(d30, "1000", "precision");
  bad(d30, "5.5", "scale");
  col_dtype d11 = DEC(1, 1);
  rt(d11, "0.5", "0.5");
  rt(d11, "-.9", "-0.9");
  bad(d11, "1", "precision");
}

static void test_strings(void **state) {
  (void)state;
  col_dtype u = T(COL_UTF8);
  rtj(u, "", "", "\"\"");
  rtj(u, "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80",
      "h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80",
      "\"h\xc3\xa9llo \xe2\x9c\x93 \xf0\x9f\x98\x80\"");
  rtj(u, "a\"b\\c\n\t\x01/", "a\"b\\c\n\t\x01/",
      "\"a\\\"b\\\\c\\n\\t\\u0001/\"");
  /* an embedded NUL is kept, and escaped in json */
  col_column c;
  floe_error e;
  assert_int_equal(col_init(&c, u, &e), FLOE_OK);
  assert_int_equal(col_text_append(&c, "a\0b", 3, &e), FLOE_OK);
  size_t n;
  const uint8_t *p = col_get_bytes(&c, 0, &n);
  assert_int_equal(n, 3);
  assert_memory_equal(p, "a\0b", 3);
  assert_string_equal(fmt_row(&c, 0, true), "\"a\\u0000b\"");
  col_free(&c);
}

static void test_utf8_validation(void **state) {
  (void)state;
  col_dtype u = T(COL_UTF8);
  bad(u, "\xff", "utf8: invalid UTF-8 at byte 0: \"\\xff\"");
  bad(u, "ab\xc3", "invalid UTF-8 at byte 2");
  bad(u, "\xc0\xaf", "invalid UTF-8 at byte 0");     /* overlong '/' */
  bad(u, "\xe0\x80\xaf", "invalid UTF-8 at byte 0"); /* overlong */
  bad(u, "\xed\xa0\x80", "invalid UTF-8");           /* surrogate */
  bad(u, "\xf4\x90\x80\x80", "invalid UTF-8");       /* > U+10FFFF */
  bad(u, "12345678\xe2\x9c", "invalid UTF-8 at byte 8");
  assert_int_equal(col_utf8_check((const uint8_t *)"\xef\xbf\xbf", 3), 3);
  assert_int_equal(col_utf8_check((const uint8_t *)"\xf4\x8f\xbf\xbf", 4), 4);
  /* a long quoted prefix is cut with "..." */
  char longbad[100];
  memset(longbad, 'x', sizeof longbad);
  longbad[99] = (char)0xff;
  floe_error e;
  col_column c;
  assert_int_equal(col_init(&c, u, &e), FLOE_OK);
  assert_int_equal(col_text_append(&c, longbad, 100, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "xxxxxxxxxx...\""));
  assert_non_null(strstr(e.msg, "byte 99"));
  col_free(&c);
}

static void test_binary_uuid(void **state) {
  (void)state;
  col_dtype b = T(COL_BINARY);
  rtj(b, "\\x", "\\x", "\"\\\\x\"");
  rtj(b, "\\xDEADbeef00", "\\xdeadbeef00", "\"\\\\xdeadbeef00\"");
  rt(b, "\\X0a", "\\x0a");
  bad(b, "\\x0", "binary: odd number of hex digits");
  bad(b, "\\xgg", "bad hex digit");
  bad(b, "abc", "expected \\x");
  bad(b, "", "expected \\x");
  col_dtype u = T(COL_UUID);
  rtj(u, "123E4567-E89B-12D3-A456-426614174000",
      "123e4567-e89b-12d3-a456-426614174000",
      "\"123e4567-e89b-12d3-a456-426614174000\"");
  rt(u, "00000000-0000-0000-0000-000000000000",
     "00000000-0000-0000-0000-000000000000");
  rt(u, "ffffffff-ffff-ffff-ffff-ffffffffffff",
     "ffffffff-ffff-ffff-ffff-ffffffffffff");
  bad(u, "123e4567e89b12d3a456426614174000", "uuid: not a uuid");
  bad(u, "123e4567-e89b-12d3-a456-42661417400g", "not a uuid");
  bad(u, "123e4567-e89b-12d3-a456_426614174000", "not a uuid");
  /* canonical byte order: the first byte is 0x12 */
  col_column c;
  floe_error e;
  assert_int_equal(col_init(&c, u, &e), FLOE_OK);
  assert_int_equal(
      col_text_append(&c, "123e4567-e89b-12d3-a456-426614174000", 36, &e),
      FLOE_OK);
  const uint8_t *p = col_get_fixed(&c, 0, 16);
  assert_int_equal(p[0], 0x12);
  assert_int_equal(p[15], 0x00);
  assert_int_equal(p[14], 0x40);
  col_free(&c);
}

static void test_dates(void **state) {
  (void)state;
  col_dtype d = T(COL_DATE);
  assert_int_equal(parse_i64(d, "1970-01-01"), 0);
  assert_int_equal(parse_i64(d, "1969-12-31"), -1);
  assert_int_equal(parse_i64(d, "2000-03-01"), 11017);
  assert_int_equal(parse_i64(d, "0001-01-01"), -719162);
  assert_int_equal(parse_i64(d, "9999-12-31"), 2932896);
  rtj(d, "0001-01-01", "0001-01-01", "\"0001-01-01\"");
  rt(d, "9999-12-31", "9999-12-31");
  rt(d, "2000-02-29", "2000-02-29");
  rt(d, "2024-02-29", "2024-02-29");
  rt(d, "1600-02-29", "1600-02-29");
  rt(d, "0044-03-15 BC", "0044-03-15 BC");
  rt(d, "0001-12-31 bc", "0001-12-31 BC");
  assert_int_equal(parse_i64(d, "0001-12-31 BC"), -719163);
  rt(d, "0005-02-29 BC", "0005-02-29 BC"); /* astronomical -4: leap */
  rt(d, "10000-01-01", "10000-01-01");
  bad(d, "1900-02-29", "date: day out of range: \"1900-02-29\"");
  bad(d, "2023-02-29", "day out of range");
  bad(d, "2021-04-31", "day out of range");
  bad(d, "2021-13-01", "month out of range");
  bad(d, "2021-00-01", "month out of range");
  bad(d, "2021-01-00", "day out of range");
  bad(d, "0000-01-01", "year 0");
  bad(d, "21-01-01", "not a date");
  bad(d, "2021-1-01", "not a date");
  bad(d, "2021-01-01x", "not a date");
  bad(d, "2021-01-01 00:00:00", "not a date");
  bad(d, "", "not a date");
  bad(d, "9999999-01-01", "out of range");
  /* the whole int32 range formats and reads back */
  col_column c;
  floe_error e;
  assert_int_equal(col_init(&c, d, &e), FLOE_OK);
  int32_t ext[] = {INT32_MIN, INT32_MAX, -719163, 2932897};
  for (int i = 0; i < 4; i++) {
    assert_int_equal(col_append_i32(&c, ext[i], &e), FLOE_OK);
    const char *s = fmt_row(&c, c.length - 1, false);
    char copy[64];
    snprintf(copy, sizeof copy, "%s", s);
    if (col_text_append(&c, copy, strlen(copy), &e) != FLOE_OK)
      fail_msg("%s: %s", copy, e.msg);
    assert_true(col_value_equal(&c, c.length - 1, &c, c.length - 2));
  }
  assert_string_equal(fmt_row(&c, 0, false), "5877642-06-23 BC");
  assert_string_equal(fmt_row(&c, 2, false), "5881580-07-11");
  col_free(&c);
}

static void test_times(void **state) {
  (void)state;
  col_dtype t = T(COL_TIME);
  assert_int_equal(parse_i64(t, "00:00:00"), 0);
  assert_int_equal(parse_i64(t, "23:59:59.999999"), 86399999999LL);
  assert_int_equal(parse_i64(t, "12:00:00.5"), 43200500000LL);
  rtj(t, "00:00:00", "00:00:00", "\"00:00:00\"");
  rt(t, "23:59:59.999999", "23:59:59.999999");
  rt(t, "12:30", "12:30:00");
  rt(t, "12:00:00.5", "12:00:00.5");
  rt(t, "12:00:00.500000", "12:00:00.5");
  rt(t, "12:00:00.000001", "12:00:00.000001");
  rt(t, "12:00:00.1234560", "12:00:00.123456");
  rt(t, "24:00:00", "24:00:00");
  bad(t, "12:00:00.1234567", "time: more than 6 fraction digits");
  bad(t, "24:00:01", "out of range");
  bad(t, "25:00:00", "out of range");
  bad(t, "12:60:00", "out of range");
  bad(t, "12:00:60", "out of range");
  bad(t, "1:00:00", "not a time");
  bad(t, "12:00:00.", "not a time");
  bad(t, "12:00:00Z", "not a time");
  bad(t, "", "not a time");
  /* a value outside one day (from a foreign file) is refused on output */
  col_column c;
  floe_error e;
  fbuf out = FBUF_INIT;
  assert_int_equal(col_init(&c, t, &e), FLOE_OK);
  assert_int_equal(col_append_i64(&c, -1, &e), FLOE_OK);
  assert_int_equal(col_text_format(&c, 0, false, &out, &e), FLOE_ERANGE);
  assert_int_equal(col_append_null(&c, &e), FLOE_OK);
  assert_int_equal(col_text_format(&c, 1, false, &out, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "null"));
  assert_int_equal(col_text_format(&c, 2, false, &out, &e), FLOE_EINVAL);
  assert_int_equal(out.len, 0);
  col_free(&c);
}

static void test_timestamps(void **state) {
  (void)state;
  col_dtype ts = T(COL_TIMESTAMP), tz = T(COL_TIMESTAMPTZ);
  assert_int_equal(parse_i64(ts, "1970-01-01 00:00:00"), 0);
  assert_int_equal(parse_i64(ts, "1969-12-31 23:59:59.999999"), -1);
  assert_int_equal(parse_i64(ts, "2000-01-01 00:00:00"), 946684800000000LL);
  rtj(ts, "2024-02-29 13:45:10.25", "2024-02-29 13:45:10.25",
      "\"2024-02-29 13:45:10.25\"");
  rt(ts, "2024-02-29T13:45:10", "2024-02-29 13:45:10");
  rt(ts, "2020-01-01", "2020-01-01 00:00:00");
  rt(ts, "2020-01-01 10:00", "2020-01-01 10:00:00");
  rt(ts, "0001-01-01 00:00:00", "0001-01-01 00:00:00");
  rt(ts, "9999-12-31 23:59:59.999999", "9999-12-31 23:59:59.999999");
  rt(ts, "1969-12-31 23:59:59.999999", "1969-12-31 23:59:59.999999");
  rt(ts, "0044-03-15 12:00:00 BC", "0044-03-15 12:00:00 BC");
  bad(ts, "2020-01-01 10:00:00+02",
      "timestamp: a timestamp without time "
      "zone takes no UTC offset");
  bad(ts, "2020-01-01 25:00:00", "out of range");
  bad(ts, "2020-01-01 10:00:00 x", "not a timestamp");
  bad(ts, "2020-01-01X10:00:00", "not a timestamp");

  rtj(tz, "2020-01-01 10:00:00+02", "2020-01-01 08:00:00+00",
      "\"2020-01-01 08:00:00+00\"");
  rt(tz, "2020-01-01 10:00:00+02:30", "2020-01-01 07:30:00+00");
  rt(tz, "2020-01-01 10:00:00+0530", "2020-01-01 04:30:00+00");
  rt(tz, "2020-01-01 10:00:00-08", "2020-01-01 18:00:00+00");
  rt(tz, "2020-01-01 10:00:00-08:00", "2020-01-01 18:00:00+00");
  rt(tz, "2020-01-01 10:00:00 +01", "2020-01-01 09:00:00+00");
  rt(tz, "2020-01-01T10:00:00Z", "2020-01-01 10:00:00+00");
  rt(tz, "2020-01-01T10:00:00.123456z", "2020-01-01 10:00:00.123456+00");
  rt(tz, "2020-01-01 10:00:00", "2020-01-01 10:00:00+00");
  rt(tz, "2020-01-01 00:30:00+01", "2019-12-31 23:30:00+00");
  rt(tz, "1900-01-01 00:00:00+00:19:32", "1899-12-31 23:40:28+00");
  rt(tz, "0001-01-01 00:00:00+00", "0001-01-01 00:00:00+00");
  rt(tz, "0001-01-01 00:30:00+01", "0001-12-31 23:30:00+00 BC");
  rt(tz, "9999-12-31 23:59:59.999999+00", "9999-12-31 23:59:59.999999+00");
  assert_int_equal(parse_i64(tz, "1970-01-01 01:00:00+01"), 0);
  bad(tz, "2020-01-01 10:00:00+25", "UTC offset out of range");
  bad(tz, "2020-01-01 10:00:00+0", "bad UTC offset");
  bad(tz, "2020-01-01 10:00:00+02:3", "bad UTC offset");
  bad(tz, "2020-01-01 10:00:00+02x", "not a timestamp");

  /* the whole int64 range formats and reads back */
  col_dtype both[2] = {ts, tz};
  for (int k = 0; k < 2; k++) {
    col_column c;
    floe_error e;
    assert_int_equal(col_init(&c, both[k], &e), FLOE_OK);
    int64_t ext[] = {INT64_MIN, INT64_MAX, -1, 1};
    for (int i = 0; i < 4; i++) {
      assert_int_equal(col_append_i64(&c, ext[i], &e), FLOE_OK);
      char copy[64];
      snprintf(copy, sizeof copy, "%s", fmt_row(&c, c.length - 1, false));
      if (col_text_append(&c, copy, strlen(copy), &e) != FLOE_OK)
        fail_msg("%s: %s", copy, e.msg);
      assert_true(col_value_equal(&c, c.length - 1, &c, c.length - 2));
    }
    assert_string_equal(fmt_row(&c, 2, false),
                        k ? "294247-01-10 04:00:54.775807+00"
                          : "294247-01-10 04:00:54.775807");
    col_free(&c);
  }
  bad(ts, "294247-01-10 04:00:54.775808", "out of range");
}

static void test_lists(void **state) {
  (void)state;
  rt(LIST(COL_INT32), "[1, 2 ,null,-3]", "[1,2,null,-3]");
  rt(LIST(COL_INT32), "[]", "[]");
  rt(LIST(COL_INT32), " [ ]\n", "[]");
  rt(LIST(COL_INT32), "[\"5\"]", "[5]");
  rt(LIST(COL_INT32), "[null]", "[null]");
  bad(LIST(COL_INT32), "[1,]",
      "list<int32>: element 1: expected a string, number");
  bad(LIST(COL_INT32), "[1", "expected ',' or ']'");
  bad(LIST(COL_INT32), "[[1]]", "nested arrays");
  bad(LIST(COL_INT32), "[{}]", "nested arrays and objects");
  bad(LIST(COL_INT32), "[1] x", "text after the array");
  bad(LIST(COL_INT32), "1", "expected a JSON array");
  bad(LIST(COL_INT32), "", "expected a JSON array");
  bad(LIST(COL_INT32), "[01]", "expected ',' or ']'");
  bad(LIST(COL_INT32), "[-]", "bad number");
  bad(LIST(COL_INT32), "[nul]", "expected a string, number");
  bad(LIST(COL_INT32), "[1, 2, 1.5]",
      "list<int32>: element 2: int32: not an integer: \"1.5\"");
  bad(LIST(COL_INT32), "[1, 2, 3000000000]", "element 2: int32: out of range");
  bad(LIST(COL_INT32), "[\"1]", "unterminated string");
  rt(LIST(COL_INT16), "[-32768,32767]", "[-32768,32767]");
  rt(LIST(COL_INT64), "[-9223372036854775808]", "[-9223372036854775808]");
  rt(LIST(COL_BOOL), "[true, false, null, \"t\"]", "[true,false,null,true]");
  rt(LIST(COL_FLOAT64), "[1.5, \"NaN\", -0, 1e308, \"-Infinity\"]",
     "[1.5,\"NaN\",-0,1e+308,\"-Infinity\"]");
  rt(LIST(COL_FLOAT32), "[0.1, 1E2]", "[0.1,100]");
  rt(LIST(COL_DECIMAL), "[1.5, \"2.25\", -0.01]",
     "[\"1.50\",\"2.25\",\"-0.01\"]");
  bad(LIST(COL_DECIMAL), "[1.555]", "element 0: decimal(10,2): more fraction");
  rt(LIST(COL_UTF8), "[\"a\\\"b\", \"\\u00e9\\ud83d\\ude00\", null, \"\"]",
     "[\"a\\\"b\",\"\xc3\xa9\xf0\x9f\x98\x80\",null,\"\"]");
  rt(LIST(COL_UTF8), "[\"\\/\\b\\f\\n\\r\\t\\\\\"]",
     "[\"/\\b\\f\\n\\r\\t\\\\\"]");
  bad(LIST(COL_UTF8), "[1]", "expected a JSON string");
  bad(LIST(COL_UTF8), "[true]", "expected a JSON string");
  bad(LIST(COL_UTF8), "[\"\\ud800\"]", "high surrogate without a pair");
  bad(LIST(COL_UTF8), "[\"\\udc00\"]", "lone low surrogate");
  bad(LIST(COL_UTF8), "[\"\\u12\"]", "bad \\u escape");
  bad(LIST(COL_UTF8), "[\"\\q\"]", "bad escape");
  bad(LIST(COL_UTF8), "[\"\xff\"]", "invalid UTF-8");
  rt(LIST(COL_BINARY), "[\"\\\\x00FF\", null]", "[\"\\\\x00ff\",null]");
  rt(LIST(COL_UUID), "[\"123E4567-E89B-12D3-A456-426614174000\"]",
     "[\"123e4567-e89b-12d3-a456-426614174000\"]");
  rt(LIST(COL_DATE), "[\"2020-01-01\", \"0001-01-01\"]",
     "[\"2020-01-01\",\"0001-01-01\"]");
  rt(LIST(COL_TIME), "[\"12:00:00.5\"]", "[\"12:00:00.5\"]");
  rt(LIST(COL_TIMESTAMP), "[\"2020-01-01T10:00:00\"]",
     "[\"2020-01-01 10:00:00\"]");
  rt(LIST(COL_TIMESTAMPTZ), "[\"2020-01-01 10:00:00+02\"]",
     "[\"2020-01-01 08:00:00+00\"]");
}

static void test_list_rollback(void **state) {
  (void)state;
  col_column c;
  floe_error e;
  assert_int_equal(col_init(&c, LIST(COL_UTF8), &e), FLOE_OK);
  const char *ok = "[\"x\", \"y\\n\"]";
  assert_int_equal(col_text_append(&c, ok, strlen(ok), &e), FLOE_OK);
  /* two good elements, then a bad one: nothing of the row remains */
  const char *bad_row = "[\"a\", null, \"b\", 7]";
  assert_int_equal(col_text_append(&c, bad_row, strlen(bad_row), &e),
                   FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "element 3"));
  assert_int_equal(c.length, 1);
  assert_int_equal(c.child->length, 2);
  assert_int_equal(c.child->null_count, 0);
  assert_int_equal(c.child->values.len, 3);
  assert_int_equal(col_text_append(&c, ok, strlen(ok), &e), FLOE_OK);
  assert_string_equal(fmt_row(&c, 1, false), "[\"x\",\"y\\n\"]");
  assert_string_equal(fmt_row(&c, 1, true), "[\"x\",\"y\\n\"]");
  col_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bool_and_ints),
      cmocka_unit_test(test_floats),
      cmocka_unit_test(test_decimals),
      cmocka_unit_test(test_decimal_rules),
      cmocka_unit_test(test_decimal_zero_scale),
      cmocka_unit_test(test_strings),
      cmocka_unit_test(test_utf8_validation),
      cmocka_unit_test(test_binary_uuid),
      cmocka_unit_test(test_dates),
      cmocka_unit_test(test_times),
      cmocka_unit_test(test_timestamps),
      cmocka_unit_test(test_lists),
      cmocka_unit_test(test_list_rollback),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
