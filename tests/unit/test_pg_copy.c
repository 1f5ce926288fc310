/* Unit tests for COPY text rows (src/pg/copytext.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pg/copytext.h"

/* Splits a copy of text into n fields; must succeed. buf receives the line
 * (the fields point into it). */
static void split_ok(const char *text, size_t len, char *buf, pgcp_field *f,
                     size_t n) {
  floe_error e;
  memcpy(buf, text, len);
  if (pgcp_split(buf, len, '\t', f, n, &e) != FLOE_OK)
    fail_msg("split: %s", e.msg);
}

static void field_is(const pgcp_field *f, const char *want, size_t wn) {
  assert_false(f->null);
  if (f->n != wn)
    fail_msg("field \"%.*s\" has %zu bytes, want %zu", (int)f->n, f->p, f->n,
             wn);
  if (wn) assert_memory_equal(f->p, want, wn);
}

static void test_plain(void **state) {
  (void)state;
  char buf[128];
  pgcp_field f[4];
  split_ok("1\tabc\t\\N\t\n", 10, buf, f, 4);
  field_is(&f[0], "1", 1);
  field_is(&f[1], "abc", 3);
  assert_true(f[2].null);
  assert_int_equal(f[2].n, 0);
  field_is(&f[3], "", 0); /* empty string, not NULL */
  split_ok("x", 1, buf, f, 1);
  field_is(&f[0], "x", 1);
  split_ok("", 0, buf, f, 1); /* one empty field */
  field_is(&f[0], "", 0);
  split_ok("\\N", 2, buf, f, 1);
  assert_true(f[0].null);
  split_ok("\t\n", 2, buf, f, 2);
  field_is(&f[0], "", 0);
  field_is(&f[1], "", 0);
}

static void test_escapes(void **state) {
  (void)state;
  char buf[128];
  pgcp_field f[3];
  /* what COPY TO prints for "a<TAB>b<LF>c\d<CR>" and friends */
  const char *l1 = "a\\tb\\nc\\\\d\\r\t\\b\\f\\v\tq";
  split_ok(l1, strlen(l1), buf, f, 3);
  field_is(&f[0], "a\tb\nc\\d\r", 8);
  field_is(&f[1], "\b\f\v", 3);
  field_is(&f[2], "q", 1);
  /* octal: 1..3 digits, low 8 bits; hex: 1..2 digits */
  const char *l2 = "\\101\\0\\7x\t\\x41\\x4g\\xZ\t\\777\\1234";
  split_ok(l2, strlen(l2), buf, f, 3);
  field_is(&f[0], "A\0\ax", 4);
  field_is(&f[1], "A\x04gxZ", 5);
  field_is(&f[2], "\xff\x53\x34", 3);
  /* \N inside a longer field is a plain N; other escapes are the byte */
  const char *l3 = "a\\N\t\\Nb\\q\\\t";
  split_ok(l3, strlen(l3), buf, f, 2);
  field_is(&f[0], "aN", 2);
  field_is(&f[1], "Nbq\t", 4); /* escaped delimiter stays in the field */
  /* \N followed by an escape of the delimiter: not NULL */
  split_ok("\\N\\\t", 4, buf, f, 1);
  field_is(&f[0], "N\t", 2);
}

static void test_errors(void **state) {
  (void)state;
  char buf[64];
  pgcp_field f[2];
  floe_error e;
  strcpy(buf, "a\tb\tc");
  assert_int_equal(pgcp_split(buf, 5, '\t', f, 2, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "more than the 2 fields"));
  strcpy(buf, "a");
  assert_int_equal(pgcp_split(buf, 1, '\t', f, 2, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "1 fields, expected 2"));
  strcpy(buf, "a\tb\\");
  assert_int_equal(pgcp_split(buf, 4, '\t', f, 2, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "field 2: backslash at the end"));
  strcpy(buf, "\\.\n");
  assert_int_equal(pgcp_split(buf, 3, '\t', f, 2, &e), FLOE_EEOF);
  assert_int_equal(pgcp_split(buf, 3, '\\', f, 2, &e), FLOE_EINVAL);
  assert_int_equal(pgcp_split(buf, 3, '\t', f, 0, &e), FLOE_EINVAL);
}

static void test_other_delim(void **state) {
  (void)state;
  char buf[64];
  pgcp_field f[3];
  floe_error e;
  strcpy(buf, "1|a\\|b|\\N");
  assert_int_equal(pgcp_split(buf, strlen(buf), '|', f, 3, &e), FLOE_OK);
  field_is(&f[0], "1", 1);
  field_is(&f[1], "a|b", 3);
  assert_true(f[2].null);
}

static void test_append_row(void **state) {
  (void)state;
  pgt_desc d[3] = {{0}};
  d[0].oid = PGT_OID_INT4;
  d[1].oid = PGT_OID_TEXT;
  d[2].is_array = true;
  d[2].elem_oid = PGT_OID_INT8;
  pgt_map m[3];
  col_column cs[3], *cols[3];
  floe_error e;
  for (int k = 0; k < 3; k++) {
    d[k].typmod = -1;
    d[k].typtype = d[k].elem_typtype = 'b';
    assert_int_equal(pgt_map_type(&d[k], &m[k], &e), FLOE_OK);
    assert_int_equal(col_init(&cs[k], m[k].type, &e), FLOE_OK);
    cols[k] = &cs[k];
  }
  fbuf scratch = FBUF_INIT;
  char buf[64];
  pgcp_field f[3];
  const char *rows[] = {"1\ttab\\there\t{1,NULL}\n", "\\N\t\\N\t\\N\n",
                        "3\t\t{}\n"};
  for (int r = 0; r < 3; r++) {
    split_ok(rows[r], strlen(rows[r]), buf, f, 3);
    if (pgcp_append_row(f, 3, cols, m, &scratch, &e) != FLOE_OK)
      fail_msg("row %d: %s", r, e.msg);
  }
  /* field 3 fails: fields 1 and 2 are rolled back */
  split_ok("4\tx\t{1,y}", 9, buf, f, 3);
  assert_int_equal(pgcp_append_row(f, 3, cols, m, &scratch, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "copy field 3: array element 2"));
  for (int k = 0; k < 3; k++) assert_int_equal(cs[k].length, 3);
  assert_int_equal(cs[2].child->length, 2);
  assert_int_equal(cs[1].values.len, 8);
  int32_t v;
  memcpy(&v, col_get_fixed(&cs[0], 2, 4), 4);
  assert_int_equal(v, 3);
  assert_false(col_is_valid(&cs[0], 1));
  assert_false(col_is_valid(&cs[1], 1));
  assert_false(col_is_valid(&cs[2], 1));
  size_t n;
  const uint8_t *p = col_get_bytes(&cs[1], 0, &n);
  assert_int_equal(n, 8);
  assert_memory_equal(p, "tab\there", 8);
  p = col_get_bytes(&cs[1], 2, &n);
  assert_int_equal(n, 0);
  assert_true(col_is_valid(&cs[1], 2));
  const int32_t *o = col_offsets(&cs[2]);
  assert_int_equal(o[1], 2);
  assert_int_equal(o[3], 2);
  for (int k = 0; k < 3; k++) col_free(&cs[k]);
  fbuf_free(&scratch);
}

static void test_binary(void **state) {
  (void)state;
  const uint8_t hdr[] = {'P',  'G',  'C',  'O', 'P', 'Y',  '\n',
                         0xff, '\r', '\n', 0,   0,   0,    0,
                         0,    0,    0,    0,   2,   0xaa, 0xbb};
  /* header with a 2-byte extension, then tuple (int4 7, NULL, text "hi"),
   * then the trailer */
  const uint8_t rows[] = {0,    3,    0,    0, 0, 4, 0, 0,   0,   7,    0xff,
                          0xff, 0xff, 0xff, 0, 0, 0, 2, 'h', 'i', 0xff, 0xff};
  size_t used;
  floe_error e;
  assert_int_equal(pgcp_binary_header(hdr, sizeof hdr, &used, &e), FLOE_OK);
  assert_int_equal(used, 21);
  for (size_t len = 0; len < sizeof hdr; len++)
    assert_int_equal(pgcp_binary_header(hdr, len, &used, &e), FLOE_ECORRUPT);
  uint8_t bad[sizeof hdr];
  memcpy(bad, hdr, sizeof hdr);
  bad[0] = 'X';
  assert_int_equal(pgcp_binary_header(bad, sizeof bad, &used, &e),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "signature"));
  memcpy(bad, hdr, sizeof hdr);
  bad[12] = 1; /* flags bit 16: OIDs */
  assert_int_equal(pgcp_binary_header(bad, sizeof bad, &used, &e),
                   FLOE_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "OIDs"));

  pgcp_field f[3];
  assert_int_equal(pgcp_binary_row(rows, sizeof rows, f, 3, &used, &e),
                   FLOE_OK);
  assert_int_equal(used, 20);
  assert_false(f[0].null);
  assert_int_equal(f[0].n, 4);
  assert_memory_equal(f[0].p, "\0\0\0\7", 4);
  assert_true(f[1].null);
  assert_int_equal(f[2].n, 2);
  assert_memory_equal(f[2].p, "hi", 2);
  assert_int_equal(pgcp_binary_row(rows + 20, 2, f, 3, &used, &e), FLOE_EEOF);
  assert_int_equal(used, 2);
  assert_int_equal(pgcp_binary_row(rows, sizeof rows, f, 2, &used, &e),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "3 fields, expected 2"));
  for (size_t len = 0; len < 20; len++) {
    uint8_t *p = malloc(len ? len : 1);
    memcpy(p, rows, len);
    assert_int_equal(pgcp_binary_row(p, len, f, 3, &used, &e), FLOE_ECORRUPT);
    free(p);
  }

  /* append: all or nothing */
  pgt_desc d[3] = {{0}};
  d[0].oid = PGT_OID_INT4;
  d[1].oid = PGT_OID_INT8;
  d[2].oid = PGT_OID_TEXT;
  pgt_map m[3];
  col_column cs[3], *cols[3];
  for (int k = 0; k < 3; k++) {
    d[k].typmod = -1;
    d[k].typtype = 'b';
    assert_int_equal(pgt_map_type(&d[k], &m[k], &e), FLOE_OK);
    assert_int_equal(col_init(&cs[k], m[k].type, &e), FLOE_OK);
    cols[k] = &cs[k];
  }
  assert_int_equal(pgcp_binary_row(rows, sizeof rows, f, 3, &used, &e),
                   FLOE_OK);
  assert_int_equal(pgcp_append_binary_row(f, 3, cols, m, &e), FLOE_OK);
  f[2].p = "\xff";
  f[2].n = 1;
  assert_int_equal(pgcp_append_binary_row(f, 3, cols, m, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "copy field 3"));
  for (int k = 0; k < 3; k++) assert_int_equal(cs[k].length, 1);
  int32_t v;
  memcpy(&v, col_get_fixed(&cs[0], 0, 4), 4);
  assert_int_equal(v, 7);
  assert_false(col_is_valid(&cs[1], 0));
  size_t n;
  const uint8_t *p = col_get_bytes(&cs[2], 0, &n);
  assert_int_equal(n, 2);
  assert_memory_equal(p, "hi", 2);
  for (int k = 0; k < 3; k++) col_free(&cs[k]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain),      cmocka_unit_test(test_escapes),
      cmocka_unit_test(test_errors),     cmocka_unit_test(test_other_delim),
      cmocka_unit_test(test_append_row), cmocka_unit_test(test_binary),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
