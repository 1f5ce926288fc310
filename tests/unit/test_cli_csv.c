/* Unit tests for the floe command's SPEC parser and CSV reader/writer. The
 * CLI sources are compiled in directly: they belong to the command, not the
 * library. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/csv.c"
#include "columnar/render.h"
#include "cli/spec.c"

/* ---- SPEC ---- */

static void test_spec_all_types(void **state) {
  (void)state;
  floe_error e;
  cli_spec s;
  assert_int_equal(
      cli_spec_parse("b:bool,s:int16!,i:int32,l:int64,f:float32,d:float64,"
                     "m:decimal(10,2)!, u:utf8 ,x:binary,dt:date,t:time,"
                     "ts:timestamp,tz:timestamptz,id:uuid,"
                     "li:list<int32>,ls:list<utf8!>!,ld:list<decimal(38, 9)>",
                     &s, &e),
      FLOE_OK);
  assert_int_equal(s.nfields, 17);
  static const col_type want[] = {
      COL_BOOL,    COL_INT16,     COL_INT32,       COL_INT64,  COL_FLOAT32,
      COL_FLOAT64, COL_DECIMAL,   COL_UTF8,        COL_BINARY, COL_DATE,
      COL_TIME,    COL_TIMESTAMP, COL_TIMESTAMPTZ, COL_UUID,   COL_LIST,
      COL_LIST,    COL_LIST};
  for (int i = 0; i < 17; i++) {
    assert_int_equal(s.fields[i].type.id, want[i]);
    assert_int_equal(s.fields[i].id, i + 1);
  }
  assert_string_equal(s.fields[7].name, "u");
  assert_true(s.fields[0].nullable);
  assert_false(s.fields[1].nullable);
  assert_false(s.fields[6].nullable);
  assert_int_equal(s.fields[6].type.precision, 10);
  assert_int_equal(s.fields[6].type.scale, 2);
  /* list element types, nullability and ids after all columns */
  assert_int_equal(s.fields[14].type.elem, COL_INT32);
  assert_true(s.fields[14].elem_nullable);
  assert_true(s.fields[14].nullable);
  assert_int_equal(s.fields[14].elem_id, 18);
  assert_int_equal(s.fields[15].type.elem, COL_UTF8);
  assert_false(s.fields[15].elem_nullable);
  assert_false(s.fields[15].nullable);
  assert_int_equal(s.fields[15].elem_id, 19);
  assert_int_equal(s.fields[16].type.elem, COL_DECIMAL);
  assert_int_equal(s.fields[16].type.elem_precision, 38);
  assert_int_equal(s.fields[16].type.elem_scale, 9);
  assert_int_equal(s.fields[16].elem_id, 20);
  cli_spec_free(&s);
}

static void expect_spec_error(const char *spec, const char *fragment) {
  floe_error e;
  cli_spec s;
  assert_int_equal(cli_spec_parse(spec, &s, &e), FLOE_EINVAL);
  if (!strstr(e.msg, fragment))
    fail_msg("spec '%s': message '%s' lacks '%s'", spec, e.msg, fragment);
  cli_spec_free(&s);
}

static void test_spec_errors(void **state) {
  (void)state;
  expect_spec_error("a:int32,b:int33", "column 2 (b): unknown type 'int33'");
  expect_spec_error("a:int32,b", "column 2 'b': expected name:type");
  expect_spec_error(":int32", "column 1: empty name");
  expect_spec_error("a:", "column 1 (a): missing type");
  expect_spec_error("a:int32,a:utf8", "name 'a' repeats column 1");
  expect_spec_error("p:decimal(39,2)", "precision 39 is outside 1..38");
  expect_spec_error("p:decimal(5,6)", "scale 6 is larger than precision 5");
  expect_spec_error("p:decimal(5,2", "column 1: unclosed '('");
  expect_spec_error("p:decimal", "bad decimal type");
  expect_spec_error("l:list<list<int32>>", "list elements must be scalar");
  expect_spec_error("l:list<>", "list without element type");
  expect_spec_error("a:int32)", "column 1: unbalanced ')'");
  expect_spec_error("", "column 1");
  expect_spec_error("a:int32,b:list<int32", "column 2: unclosed '<'");
}

/* ---- CSV reader ---- */

/* Input served in pieces of `chunk` bytes, to cross every buffer edge. */
typedef struct mem_src {
  const char *p;
  size_t len, pos, chunk;
} mem_src;

static floe_status mem_read(void *ctx, void *buf, size_t cap, size_t *got,
                            floe_error *err) {
  (void)err;
  mem_src *m = ctx;
  size_t n = m->len - m->pos;
  if (n > cap) n = cap;
  if (n > m->chunk) n = m->chunk;
  memcpy(buf, m->p + m->pos, n);
  m->pos += n;
  *got = n;
  return FLOE_OK;
}

/* Reads all of text and renders records as "[field|field]" with NULL-ish
 * (unquoted empty) fields as "~", so one string compares everything. */
static floe_status render(const char *text, size_t chunk, size_t bufsize,
                          char *out, size_t outcap, floe_error *e) {
  mem_src m = {text, strlen(text), 0, chunk};
  cli_csv r;
  floe_status st = cli_csv_init(&r, mem_read, &m, "in.csv", bufsize, e);
  size_t o = 0;
  out[0] = '\0';
  while (st == FLOE_OK) {
    bool got;
    st = cli_csv_next(&r, &got, e);
    if (st || !got) break;
    o += (size_t)snprintf(out + o, outcap - o, "%lld[",
                          (long long)r.record_line);
    for (int i = 0; i < r.nfields; i++) {
      const cli_csv_field *f = &r.fields[i];
      if (!f->quoted && f->len == 0)
        o += (size_t)snprintf(out + o, outcap - o, "%s~", i ? "|" : "");
      else
        o += (size_t)snprintf(out + o, outcap - o, "%s%.*s", i ? "|" : "",
                              (int)f->len, (const char *)r.data.data + f->off);
    }
    o += (size_t)snprintf(out + o, outcap - o, "]");
  }
  cli_csv_free(&r);
  return st;
}

static void expect_records(const char *text, const char *want) {
  static const size_t chunks[] = {1, 2, 3, 7, 1 << 20};
  for (size_t k = 0; k < sizeof chunks / sizeof *chunks; k++) {
    char out[4096];
    floe_error e;
    /* a small reader buffer as well as the default */
    size_t bufsize = k % 2 ? 4 : 0;
    floe_status st = render(text, chunks[k], bufsize, out, sizeof out, &e);
    if (st != FLOE_OK) fail_msg("chunk %zu: %s", chunks[k], e.msg);
    if (strcmp(out, want) != 0)
      fail_msg("chunk %zu: got %s want %s", chunks[k], out, want);
  }
}

static void test_csv_records(void **state) {
  (void)state;
  expect_records("", "");
  expect_records("a,b\n1,2\n", "1[a|b]2[1|2]");
  expect_records("a,b\r\n1,2\r\n", "1[a|b]2[1|2]");
  expect_records("a,b\n1,2", "1[a|b]2[1|2]"); /* no final newline */
  expect_records("x,,\"\"\n", "1[x|~|]");     /* NULL vs empty string */
  expect_records(",\n", "1[~|~]");
  expect_records("\n\n", "1[~]2[~]"); /* blank lines: one NULL field */
  expect_records("\"a,b\",\"say \"\"hi\"\"\",\"\"\"\"\n",
                 "1[a,b|say \"hi\"|\"]");
  /* embedded newlines count toward line numbers */
  expect_records("\"l1\nl2\r\nl3\",x\ny,z\n", "1[l1\nl2\r\nl3|x]4[y|z]");
  expect_records("\xEF\xBB\xBF"
                 "a\n",
                 "1[a]");                    /* byte order mark skipped */
  expect_records(" a , b \n", "1[ a | b ]"); /* spaces are data */
}

static void expect_csv_error(const char *text, const char *fragment) {
  char out[4096];
  floe_error e;
  assert_int_equal(render(text, 3, 0, out, sizeof out, &e), FLOE_EINVAL);
  if (!strstr(e.msg, fragment))
    fail_msg("'%s': message '%s' lacks '%s'", text, e.msg, fragment);
}

static void test_csv_errors(void **state) {
  (void)state;
  expect_csv_error("a,b\n1,\"2\n", "in.csv line 2, column 2: quoted field "
                                   "never closed");
  expect_csv_error("a,b\n1,\"2\"x\n", "in.csv line 2, column 2: text after");
  expect_csv_error("a,b\n1,2\"\n", "in.csv line 2, column 2: quote inside");
  expect_csv_error("a,b\n1\r2\n", "in.csv line 2, column 1: carriage return");
}

static void test_csv_colnames(void **state) {
  (void)state;
  mem_src m = {"a,\"b\n", 5, 0, 100};
  cli_csv r;
  floe_error e;
  static const char *const names[] = {"id", "price"};
  assert_int_equal(cli_csv_init(&r, mem_read, &m, "x.csv", 0, &e), FLOE_OK);
  r.colnames = names;
  r.ncolnames = 2;
  bool got;
  assert_int_equal(cli_csv_next(&r, &got, &e), FLOE_EINVAL);
  assert_string_equal(e.msg, "x.csv line 1, column 2 (price): quoted field "
                             "never closed (input ends inside it)");
  cli_csv_free(&r);
}

/* ---- CSV and JSON output ---- */

static void expect_field(const char *in, size_t n, const char *want) {
  fbuf b = FBUF_INIT;
  assert_int_equal(col_csv_put_field(&b, in, n, NULL), FLOE_OK);
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  fbuf_free(&b);
}

static void test_csv_put_field(void **state) {
  (void)state;
  expect_field("abc", 3, "abc");
  expect_field("", 0, "\"\"");
  expect_field("a,b", 3, "\"a,b\"");
  expect_field("a\"b", 3, "\"a\"\"b\"");
  expect_field("a\nb", 3, "\"a\nb\"");
  expect_field("a\rb", 3, "\"a\rb\"");
  expect_field(" a", 2, "\" a\"");
  expect_field("a ", 2, "\"a \"");
  expect_field("a b", 3, "a b");
  expect_field("[1,2]", 5, "\"[1,2]\"");
}

static void test_json_string(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  assert_int_equal(
      col_json_put_string(&b, "a\"b\\c\n\x01\x7f\xc3\xa9", 10, NULL), FLOE_OK);
  const char *want = "\"a\\\"b\\\\c\\n\\u0001\x7f\xc3\xa9\"";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  fbuf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spec_all_types),
      cmocka_unit_test(test_spec_errors),
      cmocka_unit_test(test_csv_records),
      cmocka_unit_test(test_csv_errors),
      cmocka_unit_test(test_csv_colnames),
      cmocka_unit_test(test_csv_put_field),
      cmocka_unit_test(test_json_string),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
