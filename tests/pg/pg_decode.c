/*
 * The byte-level Postgres pieces against a real server (run by
 * tests/pg/test_decode_pg.sh, which starts a private server and sets
 * FLOE_PG_TEST; without it the binary skips with exit 77).
 *
 * One table with a column of every mapped type gets rows of edge values.
 * The same rows are read twice: through `COPY ... TO STDOUT` (copytext +
 * pgtypes) and through pgoutput protocol 2 messages taken from a logical
 * slot with pg_logical_slot_get_binary_changes (pgoutput + pgtypes). Both
 * must give exactly the expected column values. Then the change messages
 * (TOAST 'u', key-changing updates, REPLICA IDENTITY FULL, TRUNCATE, logical
 * messages) and a streamed transaction with an aborted subtransaction are
 * decoded from the real server's bytes.
 */
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "columnar/text.h"
#include "pg/copytext.h"
#include "pg/pgoutput.h"
#include "pg/pgtypes.h"

static PGconn *pg;

static void exec(const char *sql) {
  PGresult *r = PQexec(pg, sql);
  ExecStatusType s = PQresultStatus(r);
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQerrorMessage(pg));
  PQclear(r);
}

/* ---- the table ---- */

#define NROW 4
typedef struct cell {
  const char *lit;  /* SQL literal */
  const char *want; /* floe text of the value (floats: hex bits); NULL: null */
} cell;
typedef struct coldef {
  const char *name, *type;
  cell rows[NROW - 1]; /* row 4 is all NULL (but id) */
} coldef;

static const coldef COLS[] = {
    {"id", "int primary key", {{"1", "1"}, {"2", "2"}, {"3", "3"}}},
    {"b", "bool", {{"true", "true"}, {"false", "false"}, {"true", "true"}}},
    {"i2", "int2", {{"-32768", "-32768"}, {"32767", "32767"}, {"0", "0"}}},
    {"i8",
     "int8",
     {{"-9223372036854775808", "-9223372036854775808"},
      {"9223372036854775807", "9223372036854775807"},
      {"0", "0"}}},
    {"f4",
     "float4",
     {{"'-0'", "80000000"},
      {"'NaN'", "7fc00000"},
      {"'3.4028235e38'", "7f7fffff"}}},
    {"f8",
     "float8",
     {{"'-Infinity'", "fff0000000000000"},
      {"'5e-324'", "0000000000000001"},
      {"0.1", "3fb999999999999a"}}},
    {"n52",
     "numeric(5,2)",
     {{"-999.99", "-999.99"}, {"0", "0.00"}, {"12.3", "12.30"}}},
    {"nneg",
     "numeric(5,-2)",
     {{"12345", "12300"}, {"-99999", "-100000"}, {"0", "0"}}},
    {"nu",
     "numeric",
     {{"'NaN'", "NaN"},
      {"'-Infinity'", "-Infinity"},
      {"123.4500", "123.4500"}}},
    {"t",
     "text",
     {{"'h\xc3\xa9llo'", "h\xc3\xa9llo"},
      {"E'tab\\there\\nnl\\\\bs\\r'", "tab\there\nnl\\bs\r"},
      {"''", ""}}},
    {"vc", "varchar(10)", {{"'abc'", "abc"}, {"' '", " "}, {"'x'", "x"}}},
    {"bp",
     "char(5)",
     {{"'ab'", "ab   "}, {"''", "     "}, {"'abcde'", "abcde"}}},
    {"by",
     "bytea",
     {{"'\\x00ff10'", "\\x00ff10"}, {"''", "\\x"}, {"'\\x5c'", "\\x5c"}}},
    {"d",
     "date",
     {{"'infinity'", "5881580-07-11"},
      {"'4713-01-01 BC'", "4713-01-01 BC"},
      {"'2020-02-29'", "2020-02-29"}}},
    {"tm",
     "time",
     {{"'24:00:00'", "24:00:00"},
      {"'23:59:59.999999'", "23:59:59.999999"},
      {"'00:00:00'", "00:00:00"}}},
    {"ttz",
     "timetz",
     {{"'24:00:00+15:59'", "24:00:00+15:59"},
      {"'12:00:00.5-02'", "12:00:00.5-02"},
      {"'00:00:00+00'", "00:00:00+00"}}},
    {"ts",
     "timestamp",
     {{"'-infinity'", "290309-12-21 19:59:05.224192 BC"},
      {"'4713-01-01 00:00:00 BC'", "4713-01-01 00:00:00 BC"},
      {"'2020-02-29 12:34:56.5'", "2020-02-29 12:34:56.5"}}},
    {"tz",
     "timestamptz",
     {{"'infinity'", "294247-01-10 04:00:54.775807+00"},
      {"'2020-02-29 12:34:56.5+02'", "2020-02-29 10:34:56.5+00"},
      {"'1850-01-01 00:00:00.000001+00'", "1850-01-01 00:00:00.000001+00"}}},
    {"iv",
     "interval",
     {{"'1 year 2 mons -3 days 04:05:06.789'",
       "1 year 2 mons -3 days +04:05:06.789"},
      {"'0'", "00:00:00"},
      {"'-178000000 years'", "-178000000 years"}}},
    {"u",
     "uuid",
     {{"'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'",
       "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
      {"'00000000-0000-0000-0000-000000000000'",
       "00000000-0000-0000-0000-000000000000"},
      {"'ffffffff-ffff-ffff-ffff-ffffffffffff'",
       "ffffffff-ffff-ffff-ffff-ffffffffffff"}}},
    {"js",
     "json",
     {{"' { \"x\" : 1 } '", " { \"x\" : 1 } "},
      {"'[]'", "[]"},
      {"'null'", "null"}}},
    {"jb",
     "jsonb",
     {{"'{\"b\": [1, 2], \"a\": null}'", "{\"a\": null, \"b\": [1, 2]}"},
      {"'\"s\"'", "\"s\""},
      {"'1.50'", "1.50"}}},
    {"e",
     "mood",
     {{"'happy'", "happy"}, {"'sad'", "sad"}, {"'happy'", "happy"}}},
    {"dom", "posint", {{"5", "5"}, {"2147483647", "2147483647"}, {"1", "1"}}},
    {"ai",
     "int[]",
     {{"'{1,NULL,3}'", "[1,null,3]"},
      {"'[0:1]={7,8}'", "[7,8]"},
      {"'{}'", "[]"}}},
    {"at",
     "text[]",
     {{"'{\"a b\",\"x\\\"y\",NULL,\"z\\\\w\",\"NULL\",\"\"}'",
       "[\"a b\",\"x\\\"y\",null,\"z\\\\w\",\"NULL\",\"\"]"},
      {"ARRAY[E'a\\tb', 'c,d', '{e}']", "[\"a\\tb\",\"c,d\",\"{e}\"]"},
      {"'{}'", "[]"}}},
    {"an",
     "numeric(10,2)[]",
     {{"'{1.5,NULL}'", "[\"1.50\",null]"},
      {"'{-99999999.99}'", "[\"-99999999.99\"]"},
      {"'{0}'", "[\"0.00\"]"}}},
    {"ad",
     "date[]",
     {{"'{2020-01-01,infinity}'", "[\"2020-01-01\",\"5881580-07-11\"]"},
      {"'{0044-03-15 BC}'", "[\"0044-03-15 BC\"]"},
      {"'{NULL}'", "[null]"}}},
    {"tags",
     "tags",
     {{"'{a,b}'", "[\"a\",\"b\"]"}, {"'{}'", "[]"}, {"'{\"\"}'", "[\"\"]"}}},
    {"pa",
     "posint[]",
     {{"'{1,2}'", "[1,2]"}, {"'{}'", "[]"}, {"'{3}'", "[3]"}}},
    {"o", "oid", {{"4294967295", "4294967295"}, {"0", "0"}, {"1", "1"}}},
    {"ine",
     "inet",
     {{"'10.1.2.3/8'", "10.1.2.3/8"},
      {"'::1'", "::1"},
      {"'192.168.0.1'", "192.168.0.1"}}},
    {"mac",
     "macaddr",
     {{"'08:00:2b:01:02:03'", "08:00:2b:01:02:03"},
      {"'08002b010203'", "08:00:2b:01:02:03"},
      {"'ff:ff:ff:ff:ff:ff'", "ff:ff:ff:ff:ff:ff"}}},
    {"mo", "money", {{"12.34", "$12.34"}, {"-1", "-$1.00"}, {"0", "$0.00"}}},
    {"pt",
     "point",
     {{"'(1,2)'", "(1,2)"}, {"'(-1.5,0)'", "(-1.5,0)"}, {"'(0,0)'", "(0,0)"}}},
    {"ch", "\"char\"", {{"'a'", "a"}, {"'Z'", "Z"}, {"'0'", "0"}}},
    {"x",
     "xml",
     {{"'<a>1</a>'", "<a>1</a>"}, {"'txt'", "txt"}, {"'<b/>'", "<b/>"}}},
};
#define NCOL (sizeof COLS / sizeof COLS[0])

typedef struct colstate {
  char name[64], elem_name[64];
  pgt_desc desc;
  pgt_map map;
  uint32_t atttypid;
  int32_t atttypmod;
} colstate;

static colstate CS[NCOL];

static PGresult *query1(const char *sql, uint32_t oid) {
  char p[16];
  snprintf(p, sizeof p, "%u", oid);
  const char *pv[1] = {p};
  PGresult *r = PQexecParams(pg, sql, 1, NULL, pv, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
    fail_msg("%s: %s", sql, PQerrorMessage(pg));
  return r;
}

/* Resolves domains down to a base type: what the connection side does with
 * the catalog before calling pgt_map_type. */
static void resolve(uint32_t *oid, int32_t *typmod, char *typtype, char *name,
                    uint32_t *elem, char *delim, bool *is_array) {
  for (;;) {
    PGresult *r = query1(
        "select typtype, typname, typbasetype, typtypmod, typelem, typdelim, "
        "typsubscript = 'array_subscript_handler'::regproc from pg_type "
        "where oid = $1",
        *oid);
    *typtype = PQgetvalue(r, 0, 0)[0];
    snprintf(name, 64, "%s", PQgetvalue(r, 0, 1));
    if (*typtype == 'd') {
      *oid = (uint32_t)strtoul(PQgetvalue(r, 0, 2), NULL, 10);
      if (*typmod == -1) *typmod = atoi(PQgetvalue(r, 0, 3));
      PQclear(r);
      continue;
    }
    if (elem) *elem = (uint32_t)strtoul(PQgetvalue(r, 0, 4), NULL, 10);
    if (delim) *delim = PQgetvalue(r, 0, 5)[0];
    if (is_array) *is_array = PQgetvalue(r, 0, 6)[0] == 't';
    PQclear(r);
    return;
  }
}

static void load_columns(void) {
  PGresult *r = PQexec(pg, "select attname, atttypid, atttypmod from "
                           "pg_attribute where attrelid = 'types'::regclass "
                           "and attnum > 0 order by attnum");
  assert_int_equal(PQntuples(r), NCOL);
  for (size_t k = 0; k < NCOL; k++) {
    colstate *c = &CS[k];
    assert_string_equal(PQgetvalue(r, (int)k, 0), COLS[k].name);
    c->atttypid = (uint32_t)strtoul(PQgetvalue(r, (int)k, 1), NULL, 10);
    c->atttypmod = atoi(PQgetvalue(r, (int)k, 2));
    pgt_desc *d = &c->desc;
    memset(d, 0, sizeof *d);
    d->oid = c->atttypid;
    d->typmod = c->atttypmod;
    uint32_t elem = 0;
    resolve(&d->oid, &d->typmod, &d->typtype, c->name, &elem, NULL,
            &d->is_array);
    d->name = c->name;
    if (d->is_array) {
      d->elem_oid = elem;
      int32_t etm = d->typmod;
      resolve(&d->elem_oid, &etm, &d->elem_typtype, c->elem_name, NULL,
              &d->elem_delim, NULL);
      d->elem_name = c->elem_name;
      d->typmod = etm;
    }
    floe_error e;
    if (pgt_map_type(d, &c->map, &e) != FLOE_OK)
      fail_msg("%s: %s", COLS[k].name, e.msg);
    /* only point is unknown to floe */
    assert_int_equal(c->map.warn, strcmp(COLS[k].name, "pt") == 0);
  }
  PQclear(r);
}

static void init_cols(col_column *cols) {
  for (size_t k = 0; k < NCOL; k++)
    assert_int_equal(col_init(&cols[k], CS[k].map.type, NULL), FLOE_OK);
}

static void free_cols(col_column *cols) {
  for (size_t k = 0; k < NCOL; k++) col_free(&cols[k]);
}

/* Row i of column k as text: floats as the hex of their bits, the rest in
 * floe's text form; "NULL" for null. */
static void cell_text(const col_column *c, int64_t i, char *out, size_t cap) {
  if (!col_is_valid(c, i)) {
    snprintf(out, cap, "NULL");
    return;
  }
  if (c->type.id == COL_FLOAT32) {
    uint32_t b;
    memcpy(&b, col_get_fixed(c, i, 4), 4);
    snprintf(out, cap, "%08x", b);
    return;
  }
  if (c->type.id == COL_FLOAT64) {
    uint64_t b;
    memcpy(&b, col_get_fixed(c, i, 8), 8);
    snprintf(out, cap, "%016llx", (unsigned long long)b);
    return;
  }
  fbuf b = FBUF_INIT;
  floe_error e;
  if (col_text_format(c, i, false, &b, &e) != FLOE_OK)
    fail_msg("format: %s", e.msg);
  snprintf(out, cap, "%.*s", (int)b.len, (const char *)b.data);
  fbuf_free(&b);
}

/* skip: NULL, or columns to leave out (true) */
static void check_cols_skip(const col_column *cols, const char *path,
                            const bool *skip) {
  for (size_t k = 0; k < NCOL; k++) {
    if (skip && skip[k]) continue;
    assert_int_equal(cols[k].length, NROW);
    for (int i = 0; i < NROW; i++) {
      char got[256];
      cell_text(&cols[k], i, got, sizeof got);
      const char *want = i < NROW - 1 ? COLS[k].rows[i].want
                         : k == 0     ? "4"
                                      : "NULL";
      if (strcmp(got, want) != 0)
        fail_msg("%s: column %s row %d: got \"%s\", want \"%s\"", path,
                 COLS[k].name, i + 1, got, want);
    }
  }
}

static void check_cols(const col_column *cols, const char *path) {
  check_cols_skip(cols, path, NULL);
}

static void create_table(void) {
  fbuf sql = FBUF_INIT;
  fbuf_printf(&sql, NULL, "create table types (");
  for (size_t k = 0; k < NCOL; k++)
    fbuf_printf(&sql, NULL, "%s%s %s", k ? ", " : "", COLS[k].name,
                COLS[k].type);
  fbuf_printf(&sql, NULL, ")");
  fbuf_put_u8(&sql, 0, NULL);
  exec((const char *)sql.data);
  fbuf_free(&sql);
}

static void insert_rows(void) {
  fbuf sql = FBUF_INIT;
  fbuf_printf(&sql, NULL, "insert into types values ");
  for (int i = 0; i < NROW - 1; i++) {
    fbuf_printf(&sql, NULL, "%s(", i ? ", " : "");
    for (size_t k = 0; k < NCOL; k++)
      fbuf_printf(&sql, NULL, "%s%s", k ? ", " : "", COLS[k].rows[i].lit);
    fbuf_printf(&sql, NULL, ")");
  }
  fbuf_printf(&sql, NULL, ", (4");
  for (size_t k = 1; k < NCOL; k++) fbuf_printf(&sql, NULL, ", NULL");
  fbuf_printf(&sql, NULL, ")");
  fbuf_put_u8(&sql, 0, NULL);
  exec((const char *)sql.data);
  fbuf_free(&sql);
}

/* All messages of the slot (consumed), as raw bytes. */
static PGresult *slot_changes_opt(const char *slot, bool streaming,
                                  bool binary) {
  char sql[512];
  snprintf(sql, sizeof sql,
           "select data from pg_logical_slot_get_binary_changes('%s', NULL, "
           "NULL, 'proto_version', '2', 'publication_names', 'floe_pub', "
           "'messages', 'true', 'streaming', '%s', 'binary', '%s')",
           slot, streaming ? "on" : "off", binary ? "true" : "false");
  PGresult *r = PQexecParams(pg, sql, 0, NULL, NULL, NULL, NULL, 1);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQerrorMessage(pg));
  return r;
}

static void decode_at(pgo_decoder *d, PGresult *r, int i, pgo_msg *m) {
  floe_error e;
  if (pgo_decode(d, (const uint8_t *)PQgetvalue(r, i, 0),
                 (size_t)PQgetlength(r, i, 0), m, &e) != FLOE_OK)
    fail_msg("message %d: %s", i, e.msg);
}

static void append_tuple(col_column *cols, const pgo_tuple *t, fbuf *scratch) {
  assert_int_equal(t->ncols, NCOL);
  for (size_t k = 0; k < NCOL; k++) {
    const pgo_value *v = &t->cols[k];
    floe_error e;
    floe_status st = FLOE_EINVAL;
    if (v->kind == PGO_NULL)
      st = pgt_append_null(&cols[k], &e);
    else if (v->kind == PGO_TEXT)
      st = pgt_append_text(&cols[k], &CS[k].map, (const char *)v->data, v->len,
                           scratch, &e);
    else
      fail_msg("column %s: value kind %c", COLS[k].name, v->kind);
    if (st != FLOE_OK) fail_msg("column %s: %s", COLS[k].name, e.msg);
  }
}

static PGresult *slot_changes(const char *slot, bool streaming) {
  return slot_changes_opt(slot, streaming, false);
}

/* COPY ... (FORMAT binary), the columns without a binary reader turned into
 * their text output in the select list (text's send format is the text). */
static void copy_binary(col_column *cols) {
  pgt_map maps[NCOL];
  col_column *colp[NCOL];
  fbuf sql = FBUF_INIT;
  fbuf_printf(&sql, NULL, "copy (select ");
  for (size_t k = 0; k < NCOL; k++) {
    maps[k] = CS[k].map;
    colp[k] = &cols[k];
    bool cast = maps[k].bin == PGT_BIN_NONE;
    if (cast) maps[k].bin = PGT_BIN_TEXT;
    /* not ::text: some casts differ from the output function (inet's
     * text() always shows the netmask, bool's says true) */
    if (cast)
      fbuf_printf(&sql, NULL,
                  "%scase when %s is null then null else format('%%s', %s) "
                  "end",
                  k ? ", " : "", COLS[k].name, COLS[k].name);
    else
      fbuf_printf(&sql, NULL, "%s%s", k ? ", " : "", COLS[k].name);
  }
  fbuf_printf(&sql, NULL, " from types) to stdout (format binary)");
  fbuf_put_u8(&sql, 0, NULL);
  PGresult *r = PQexec(pg, (const char *)sql.data);
  fbuf_free(&sql);
  assert_int_equal(PQresultStatus(r), PGRES_COPY_OUT);
  PQclear(r);
  char *buf;
  int len;
  bool header = false, trailer = false;
  pgcp_field f[NCOL];
  while ((len = PQgetCopyData(pg, &buf, 0)) > 0) {
    const uint8_t *p = (const uint8_t *)buf;
    size_t n = (size_t)len, used;
    floe_error e;
    if (!header) {
      if (pgcp_binary_header(p, n, &used, &e) != FLOE_OK)
        fail_msg("header: %s", e.msg);
      header = true;
      p += used;
      n -= used;
    }
    while (n) {
      floe_status st = pgcp_binary_row(p, n, f, NCOL, &used, &e);
      if (st == FLOE_EEOF) {
        trailer = true;
      } else if (st != FLOE_OK ||
                 pgcp_append_binary_row(f, NCOL, colp, maps, &e) != FLOE_OK) {
        fail_msg("binary row: %s", e.msg);
      }
      p += used;
      n -= used;
    }
    PQfreemem(buf);
  }
  assert_true(trailer);
  r = PQgetResult(pg);
  assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
  PQclear(r);
}

/* ---- tests ---- */

static void test_types(void **state) {
  (void)state;
  exec("create type mood as enum ('sad', 'happy')");
  exec("create domain posint as int check (value > 0)");
  exec("create domain tags as text[]");
  create_table();
  exec("create publication floe_pub for table types");
  exec("select pg_create_logical_replication_slot('floe_types', 'pgoutput')");
  exec("select pg_create_logical_replication_slot('floe_types_bin', "
       "'pgoutput')");
  insert_rows();
  load_columns();
  fbuf scratch = FBUF_INIT;

  /* COPY path: copytext + pgtypes */
  col_column cols[NCOL], *colp[NCOL];
  init_cols(cols);
  pgt_map maps[NCOL];
  for (size_t k = 0; k < NCOL; k++) {
    colp[k] = &cols[k];
    maps[k] = CS[k].map;
  }
  PGresult *r = PQexec(pg, "copy types to stdout");
  assert_int_equal(PQresultStatus(r), PGRES_COPY_OUT);
  PQclear(r);
  char *line;
  int len;
  pgcp_field f[NCOL];
  while ((len = PQgetCopyData(pg, &line, 0)) > 0) {
    floe_error e;
    floe_status st = pgcp_split(line, (size_t)len, '\t', f, NCOL, &e);
    if (st == FLOE_OK) st = pgcp_append_row(f, NCOL, colp, maps, &scratch, &e);
    PQfreemem(line);
    if (st != FLOE_OK) fail_msg("copy row: %s", e.msg);
  }
  assert_int_equal(len, -1);
  r = PQgetResult(pg);
  assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
  PQclear(r);
  check_cols(cols, "copy");

  /* pgoutput path: Begin, Type messages for mood/posint/tags..., Relation,
   * 4 Inserts, Commit */
  col_column cols2[NCOL];
  init_cols(cols2);
  r = slot_changes("floe_types", false);
  pgo_decoder d;
  assert_int_equal(pgo_decoder_init(&d, 2, NULL), FLOE_OK);
  int inserts = 0, relations = 0, types = 0;
  for (int i = 0; i < PQntuples(r); i++) {
    pgo_msg m;
    decode_at(&d, r, i, &m);
    if (i == 0) assert_int_equal(m.kind, PGO_BEGIN);
    if (i == PQntuples(r) - 1) assert_int_equal(m.kind, PGO_COMMIT);
    if (m.kind == PGO_TYPE) types++;
    if (m.kind == PGO_RELATION) {
      relations++;
      assert_string_equal(m.relation.nspname, "public");
      assert_string_equal(m.relation.relname, "types");
      assert_int_equal(m.relation.replident, 'd');
      assert_int_equal(m.relation.ncols, NCOL);
      for (size_t k = 0; k < NCOL; k++) {
        const pgo_column *c = &m.relation.cols[k];
        assert_string_equal(c->name, COLS[k].name);
        assert_int_equal(c->flags, k == 0 ? PGO_COL_KEY : 0);
        assert_int_equal(c->type_oid, CS[k].atttypid);
        assert_int_equal(c->typmod, CS[k].atttypmod);
      }
    }
    if (m.kind == PGO_INSERT) {
      inserts++;
      append_tuple(cols2, &m.insert.newtup, &scratch);
    }
  }
  PQclear(r);
  assert_int_equal(relations, 1);
  assert_true(types >= 3); /* mood, posint, tags (and posint[]'s element) */
  assert_int_equal(inserts, NROW);
  check_cols(cols2, "pgoutput");
  for (size_t k = 0; k < NCOL; k++)
    for (int i = 0; i < NROW; i++)
      assert_true(col_value_equal(&cols[k], i, &cols2[k], i));
  pgo_decoder_free(&d);

  /* COPY binary */
  col_column cols3[NCOL];
  init_cols(cols3);
  copy_binary(cols3);
  check_cols(cols3, "copy binary");

  /* pgoutput binary mode: every column arrives in its send format; those
   * without a binary reader are left out of the comparison */
  col_column cols4[NCOL];
  bool skip[NCOL];
  init_cols(cols4);
  r = slot_changes_opt("floe_types_bin", false, true);
  assert_int_equal(pgo_decoder_init(&d, 2, NULL), FLOE_OK);
  inserts = 0;
  for (int i = 0; i < PQntuples(r); i++) {
    pgo_msg m;
    decode_at(&d, r, i, &m);
    if (m.kind != PGO_INSERT) continue;
    inserts++;
    for (size_t k = 0; k < NCOL; k++) {
      const pgo_value *v = &m.insert.newtup.cols[k];
      floe_error e;
      floe_status st;
      skip[k] = CS[k].map.bin == PGT_BIN_NONE;
      if (v->kind == PGO_NULL || skip[k]) {
        st = pgt_append_null(&cols4[k], &e);
      } else {
        assert_int_equal(v->kind, PGO_BINARY);
        st = pgt_append_binary(&cols4[k], &CS[k].map, v->data, v->len, &e);
      }
      if (st != FLOE_OK) fail_msg("binary %s: %s", COLS[k].name, e.msg);
    }
  }
  PQclear(r);
  assert_int_equal(inserts, NROW);
  check_cols_skip(cols4, "pgoutput binary", skip);
  pgo_decoder_free(&d);
  free_cols(cols);
  free_cols(cols2);
  free_cols(cols3);
  free_cols(cols4);
  fbuf_free(&scratch);
}

/* Kinds of the slot's messages, Begin/Commit/Relation/Type left out. */
static void kinds_of(PGresult *r, pgo_decoder *d, char *out) {
  size_t o = 0;
  for (int i = 0; i < PQntuples(r); i++) {
    pgo_msg m;
    decode_at(d, r, i, &m);
    if (m.kind != PGO_BEGIN && m.kind != PGO_COMMIT && m.kind != PGO_RELATION &&
        m.kind != PGO_TYPE)
      out[o++] = (char)m.kind;
  }
  out[o] = 0;
}

static const pgo_msg *nth(PGresult *r, pgo_decoder *d, int kind, int n,
                          pgo_msg *m) {
  for (int i = 0; i < PQntuples(r); i++) {
    decode_at(d, r, i, m);
    if ((int)m->kind == kind && n-- == 0) return m;
  }
  fail_msg("no message %c", kind);
  return NULL;
}

static void text_is(const pgo_value *v, const char *want) {
  assert_int_equal(v->kind, PGO_TEXT);
  assert_int_equal(v->len, strlen(want));
  assert_memory_equal(v->data, want, v->len);
}

static void test_changes(void **state) {
  (void)state;
  exec("create table ch (id int primary key, v int, big text)");
  exec("alter table ch alter column big set storage external");
  exec("create table full_t (a int, b text)");
  exec("alter table full_t replica identity full");
  exec("alter publication floe_pub add table ch, full_t");
  exec("select pg_create_logical_replication_slot('floe_changes', "
       "'pgoutput')");
  exec("insert into ch select 1, 1, string_agg(md5(g::text), '') from "
       "generate_series(1, 200) g");
  exec("update ch set v = 2 where id = 1");
  exec("update ch set id = 10 where id = 1");
  exec("delete from ch where id = 10");
  exec("insert into full_t values (1, 'x'), (1, 'x')");
  exec("delete from full_t where ctid = (select min(ctid) from full_t)");
  exec("update full_t set b = 'y'");
  exec("truncate ch, full_t restart identity cascade");
  exec("select pg_logical_emit_message(true, 'floe', 'payload')");
  PGresult *r = slot_changes("floe_changes", false);
  pgo_decoder d;
  assert_int_equal(pgo_decoder_init(&d, 2, NULL), FLOE_OK);
  char kinds[64];
  kinds_of(r, &d, kinds);
  assert_string_equal(kinds, "IUUDIIDUTM");
  pgo_msg m;
  /* the TOASTed column unchanged: 'u', never a value */
  nth(r, &d, PGO_UPDATE, 0, &m);
  assert_int_equal(m.update.old_kind, 0);
  text_is(&m.update.newtup.cols[0], "1");
  text_is(&m.update.newtup.cols[1], "2");
  assert_int_equal(m.update.newtup.cols[2].kind, PGO_UNCHANGED);
  /* a key change: K with the old key, other key tuple columns null */
  nth(r, &d, PGO_UPDATE, 1, &m);
  assert_int_equal(m.update.old_kind, 'K');
  text_is(&m.update.oldtup.cols[0], "1");
  assert_int_equal(m.update.oldtup.cols[1].kind, PGO_NULL);
  assert_int_equal(m.update.oldtup.cols[2].kind, PGO_NULL);
  text_is(&m.update.newtup.cols[0], "10");
  assert_int_equal(m.update.newtup.cols[2].kind, PGO_UNCHANGED);
  nth(r, &d, PGO_DELETE, 0, &m);
  assert_int_equal(m.del.old_kind, 'K');
  text_is(&m.del.oldtup.cols[0], "10");
  /* REPLICA IDENTITY FULL: the whole old row */
  nth(r, &d, PGO_DELETE, 1, &m);
  assert_int_equal(m.del.old_kind, 'O');
  text_is(&m.del.oldtup.cols[0], "1");
  text_is(&m.del.oldtup.cols[1], "x");
  nth(r, &d, PGO_UPDATE, 2, &m);
  assert_int_equal(m.update.old_kind, 'O');
  text_is(&m.update.oldtup.cols[1], "x");
  text_is(&m.update.newtup.cols[1], "y");
  nth(r, &d, PGO_TRUNCATE, 0, &m);
  assert_int_equal(m.truncate.nrels, 2);
  assert_int_equal(m.truncate.options,
                   PGO_TRUNCATE_CASCADE | PGO_TRUNCATE_RESTART_IDENTITY);
  nth(r, &d, PGO_MESSAGE, 0, &m);
  assert_int_equal(m.message.flags, 1);
  assert_string_equal(m.message.prefix, "floe");
  assert_int_equal(m.message.len, 7);
  assert_memory_equal(m.message.content, "payload", 7);
  PQclear(r);
  pgo_decoder_free(&d);
}

/* A transaction bigger than logical_decoding_work_mem is streamed; a
 * subtransaction rolled back after part of it was streamed arrives as a
 * Stream Abort with its subxid. Inside the stream, a data message's xid is
 * the subtransaction's own xid. */
static void test_stream(void **state) {
  (void)state;
  exec("create table st (a int, b text)");
  exec("alter publication floe_pub add table st");
  exec("select pg_create_logical_replication_slot('floe_stream', "
       "'pgoutput')");
  exec("begin");
  exec("insert into st select g, repeat('z', 100) from generate_series(1, "
       "3000) g");
  exec("savepoint s1");
  exec("insert into st select g, repeat('y', 100) from generate_series(1, "
       "3000) g");
  exec("rollback to s1");
  exec("insert into st values (-1, 'end')");
  exec("commit");
  exec("set logical_decoding_work_mem = '64kB'");
  PGresult *r = slot_changes("floe_stream", true);
  pgo_decoder d;
  assert_int_equal(pgo_decoder_init(&d, 2, NULL), FLOE_OK);
  /* rows per xid: the top transaction, the aborted subtransaction s1, and
   * the subtransaction that runs after ROLLBACK TO (s1 stays defined) */
  uint32_t top = 0, xids[3] = {0};
  int rows[3] = {0}, starts = 0, stops = 0, aborts = 0, commits = 0;
  uint32_t aborted = 0;
  for (int i = 0; i < PQntuples(r); i++) {
    pgo_msg m;
    decode_at(&d, r, i, &m);
    switch (m.kind) {
    case PGO_STREAM_START:
      if (!top) top = m.xid;
      assert_int_equal(m.xid, top);
      assert_int_equal(m.stream_start.first, starts == 0);
      starts++;
      break;
    case PGO_STREAM_STOP: stops++; break;
    case PGO_INSERT: {
      assert_true(m.has_xid);
      assert_true(d.in_stream);
      int k = 0;
      while (k < 3 && xids[k] && xids[k] != m.xid) k++;
      if (k == 3) fail_msg("a fourth xid %u", m.xid);
      xids[k] = m.xid;
      rows[k]++;
      break;
    }
    case PGO_STREAM_ABORT:
      assert_false(d.in_stream);
      assert_int_equal(m.xid, top);
      aborted = m.stream_abort.subxid;
      aborts++;
      break;
    case PGO_STREAM_COMMIT:
      assert_false(d.in_stream);
      assert_int_equal(m.xid, top);
      assert_true(m.stream_commit.end_lsn > m.stream_commit.commit_lsn);
      commits++;
      break;
    case PGO_RELATION: assert_true(m.has_xid); break;
    default: break;
    }
  }
  assert_true(starts >= 2);
  assert_int_equal(starts, stops);
  assert_int_equal(commits, 1);
  assert_int_equal(aborts, 1);
  assert_int_equal(xids[0], top);
  assert_int_equal(rows[0], 3000);
  assert_true(xids[1] != top && xids[1] == aborted);
  assert_true(rows[1] > 0 && rows[1] <= 3000);
  if (rows[1] == 3000 || xids[2]) { /* the later row, if streamed before */
    assert_true(xids[2] != top && xids[2] != aborted);
    assert_int_equal(rows[2], 1);
  }
  PQclear(r);
  pgo_decoder_free(&d);
}

/* Values the server prints that floe refuses, with the documented codes. */
static void test_refused(void **state) {
  (void)state;
  PGresult *r = PQexec(pg, "select 'NaN'::numeric(5,2), "
                           "'{{1,2},{3,4}}'::int[], "
                           "'294276-12-31 23:59:59.999999'::timestamp, "
                           "'[2:3][1:1]={{1},{2}}'::int[]");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  pgt_desc d[4] = {{0}};
  d[0].oid = PGT_OID_NUMERIC;
  d[0].typmod = (5 << 16) + 2 + 4;
  d[1].is_array = d[3].is_array = true;
  d[1].elem_oid = d[3].elem_oid = PGT_OID_INT4;
  d[2].oid = PGT_OID_TIMESTAMP;
  const floe_status want[4] = {FLOE_ERANGE, FLOE_EUNSUPPORTED, FLOE_ERANGE,
                               FLOE_EUNSUPPORTED};
  fbuf scratch = FBUF_INIT;
  for (int k = 0; k < 4; k++) {
    d[k].typtype = d[k].elem_typtype = 'b';
    if (k != 0) d[k].typmod = -1;
    pgt_map m;
    assert_int_equal(pgt_map_type(&d[k], &m, NULL), FLOE_OK);
    col_column c;
    assert_int_equal(col_init(&c, m.type, NULL), FLOE_OK);
    floe_error e;
    floe_status st =
        pgt_append_text(&c, &m, PQgetvalue(r, 0, k),
                        (size_t)PQgetlength(r, 0, k), &scratch, &e);
    if (st != want[k])
      fail_msg("column %d: status %d (%s), want %d", k, st, e.msg, want[k]);
    assert_int_equal(c.length, 0);
    col_free(&c);
  }
  fbuf_free(&scratch);
  PQclear(r);
}

int main(void) {
  if (!getenv("FLOE_PG_TEST")) {
    printf("SKIP: FLOE_PG_TEST is not set (tests/pg/test_decode_pg.sh sets "
           "it after starting a private server)\n");
    return 77;
  }
  const char *keys[] = {"options", NULL};
  const char *vals[] = {PGT_SESSION_OPTIONS, NULL};
  pg = PQconnectdbParams(keys, vals, 0);
  if (PQstatus(pg) != CONNECTION_OK) {
    fprintf(stderr, "connect: %s", PQerrorMessage(pg));
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_types),
      cmocka_unit_test(test_changes),
      cmocka_unit_test(test_stream),
      cmocka_unit_test(test_refused),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  PQfinish(pg);
  return rc;
}
