/*
 * The initial copy against a real server (run by tests/pg/test_copy.sh):
 * what arrives in batches equals SELECT, compared through a bit-exact text
 * rendering computed on both sides; snapshot consistency; partitioned and
 * oddly named tables; progress; failures.
 */
#include "pgx_test.h"

#include <inttypes.h>

#include "pg/copy.h"
#include "pg/slot.h"

/* ---- a canonical rendering, computed from batches and by SQL ---- */

static void hex(fbuf *o, const uint8_t *p, size_t n) {
  static const char d[] = "0123456789abcdef";
  floe_error err;
  for (size_t i = 0; i < n; i++) {
    char two[2] = {d[p[i] >> 4], d[p[i] & 15]};
    assert_int_equal(fbuf_append(o, two, 2, &err), FLOE_OK);
  }
}

static void render_value(fbuf *o, const col_column *c, int64_t i) {
  floe_error err;
  if (!col_is_valid(c, i)) {
    assert_int_equal(fbuf_append(o, "\\N", 2, &err), FLOE_OK);
    return;
  }
  switch (c->type.id) {
  case COL_BOOL:
    fbuf_printf(o, &err, "%c", col_get_bool(c, i) ? 't' : 'f');
    break;
  case COL_INT16:
    fbuf_printf(o, &err, "%d", *(const int16_t *)col_get_fixed(c, i, 2));
    break;
  case COL_INT32:
  case COL_DATE:
    fbuf_printf(o, &err, "%d", *(const int32_t *)col_get_fixed(c, i, 4));
    break;
  case COL_INT64:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ:
  case COL_TIME:
    fbuf_printf(o, &err, "%" PRId64, *(const int64_t *)col_get_fixed(c, i, 8));
    break;
  case COL_FLOAT32: {
    uint32_t bits;
    memcpy(&bits, col_get_fixed(c, i, 4), 4);
    fbuf_printf(o, &err, "%08" PRIx32, bits);
    break;
  }
  case COL_FLOAT64: {
    uint64_t bits;
    memcpy(&bits, col_get_fixed(c, i, 8), 8);
    fbuf_printf(o, &err, "%016" PRIx64, bits);
    break;
  }
  case COL_DECIMAL: {
    __int128 v;
    memcpy(&v, col_get_fixed(c, i, 16), 16);
    char digits[48];
    int k = 0;
    bool neg = v < 0;
    unsigned __int128 u =
        neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
      digits[k++] = (char)('0' + (int)(u % 10));
      u /= 10;
    } while (u);
    if (neg) fbuf_put_u8(o, '-', &err);
    while (k) fbuf_put_u8(o, (uint8_t)digits[--k], &err);
    break;
  }
  case COL_UTF8:
  case COL_BINARY: {
    size_t n;
    const uint8_t *p = col_get_bytes(c, i, &n);
    hex(o, p, n);
    break;
  }
  case COL_UUID: hex(o, col_get_fixed(c, i, 16), 16); break;
  case COL_LIST: {
    const int32_t *off = col_offsets(c);
    fbuf_put_u8(o, '[', &err);
    for (int32_t j = off[i]; j < off[i + 1]; j++) {
      if (j > off[i]) fbuf_put_u8(o, ',', &err);
      if (!col_is_valid(c->child, j))
        fbuf_printf(o, &err, "null");
      else
        render_value(o, c->child, j);
    }
    fbuf_put_u8(o, ']', &err);
    break;
  }
  default: fail_msg("render: type %d", c->type.id);
  }
}

typedef struct sink {
  char **rows; /* rendered rows */
  int64_t n, cap;
  int batches;
  int64_t max_batch;
  int take_every; /* take ownership of every k-th batch (0: never) */
  int fail_at;    /* fail on this batch (1-based; 0: never) */
  int progress_calls;
  pgx_copy_progress last;
} sink;

static floe_status on_batch(void *ctx, col_batch **bp, floe_error *err) {
  sink *s = ctx;
  col_batch *b = *bp;
  s->batches++;
  if (s->fail_at && s->batches == s->fail_at)
    return ferr_set(err, FLOE_EIO, "sink is full");
  if (b->length > s->max_batch) s->max_batch = b->length;
  fbuf line = FBUF_INIT;
  for (int64_t r = 0; r < b->length; r++) {
    fbuf_reset(&line);
    for (int c = 0; c < b->schema->nfields; c++) {
      if (c) fbuf_put_u8(&line, '|', err);
      render_value(&line, &b->cols[c], r);
    }
    fbuf_put_u8(&line, 0, err);
    if (s->n == s->cap) {
      s->cap = s->cap ? s->cap * 2 : 1024;
      s->rows = realloc(s->rows, sizeof *s->rows * (size_t)s->cap);
    }
    s->rows[s->n++] = strdup((const char *)line.data);
  }
  fbuf_free(&line);
  if (s->take_every && s->batches % s->take_every == 0) {
    col_batch_free(b);
    *bp = NULL;
  }
  return FLOE_OK;
}

static floe_status on_progress(void *ctx, const pgx_copy_progress *p,
                               floe_error *err) {
  (void)err;
  sink *s = ctx;
  s->progress_calls++;
  s->last = *p;
  return FLOE_OK;
}

static void sink_free(sink *s) {
  for (int64_t i = 0; i < s->n; i++) free(s->rows[i]);
  free(s->rows);
  memset(s, 0, sizeof *s);
}

/* Rows of the canonical rendering start with the id: sort numerically. */
static int by_id(const void *a, const void *b) {
  long long x = atoll(*(char *const *)a), y = atoll(*(char *const *)b);
  return x < y ? -1 : x > y;
}

static const char RENDER_SQL[] =
    "SELECT concat_ws('|', id::text,"
    " coalesce(i4::text, '\\N'),"
    " coalesce(encode(convert_to(t, 'UTF8'), 'hex'), '\\N'),"
    " coalesce((n * 1000)::numeric(30,0)::text, '\\N'),"
    " coalesce(encode(float8send(f), 'hex'), '\\N'),"
    " coalesce(CASE WHEN b THEN 't' WHEN NOT b THEN 'f' END, '\\N'),"
    " coalesce((d - DATE '1970-01-01')::text, '\\N'),"
    " coalesce((extract(epoch FROM ts) * 1000000)::int8::text, '\\N'),"
    " coalesce(replace(u::text, '-', ''), '\\N'),"
    " coalesce(encode(by, 'hex'), '\\N'),"
    " coalesce('[' || array_to_string(arr, ',', 'null') || ']', '\\N'),"
    " coalesce(encode(convert_to(js::text, 'UTF8'), 'hex'), '\\N'),"
    " coalesce(encode(convert_to(iv::text, 'UTF8'), 'hex'), '\\N'),"
    " coalesce(encode(convert_to(nu::text, 'UTF8'), 'hex'), '\\N'))"
    " FROM %s ORDER BY id";

static void make_table(pgx_conn *c, const char *name, int from, int to) {
  char sql[4096];
  snprintf(
      sql, sizeof sql,
      "INSERT INTO %s SELECT g,"
      " CASE WHEN g %% 7 = 0 THEN NULL ELSE (g * 7919) %% 2000000 - 1000000 "
      "END,"
      " CASE WHEN g %% 11 = 0 THEN NULL WHEN g %% 13 = 0 THEN '' ELSE 'row ' "
      "|| g || E'\\t tab \\\\ back\\nnl \\r' || repeat('é', g %% 5) END,"
      " CASE WHEN g %% 5 = 0 THEN NULL ELSE ((g::int8 * 104729) %% "
      "1000000000)::numeric / 1000 * (CASE WHEN g %% 2 = 0 THEN -1 ELSE 1 "
      "END) END,"
      " CASE g %% 10 WHEN 0 THEN 'NaN'::float8 WHEN 1 THEN 'Infinity' WHEN 2 "
      "THEN '-Infinity' WHEN 3 THEN '-0' WHEN 4 THEN NULL ELSE g / 7.0::float8 "
      "END,"
      " CASE WHEN g %% 17 = 0 THEN NULL ELSE g %% 3 = 0 END,"
      " DATE '2000-01-01' + (g %% 20000 - 10000),"
      " TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * interval '1.234567 "
      "second',"
      " md5(g::text)::uuid,"
      " CASE WHEN g %% 9 = 0 THEN NULL ELSE decode(md5(g::text), 'hex') END,"
      " CASE WHEN g %% 4 = 0 THEN NULL WHEN g %% 4 = 1 THEN '{}'::int4[] ELSE "
      "ARRAY[g, NULL, -g] END,"
      " jsonb_build_object('g', g, 's', 'x\"y'),"
      " make_interval(0, 0, 0, g %% 40, 0, 0, g / 1000.0),"
      " CASE WHEN g %% 3 = 0 THEN 'NaN' ELSE g::numeric / 3 END"
      " FROM generate_series(%d, %d) g",
      name, from, to);
  t_exec(c, sql);
}

static const char COLUMNS[] =
    "(id int8 PRIMARY KEY, i4 int4, t text, n numeric(12,3), f float8,"
    " b bool, d date, ts timestamptz, u uuid, by bytea, arr int4[],"
    " js jsonb, iv interval, nu numeric)";

static void expect_equal(pgx_conn *c, const char *qname, sink *s) {
  char sql[2048];
  snprintf(sql, sizeof sql, RENDER_SQL, qname);
  PGresult *r = NULL;
  floe_error err;
  if (pgx_query(c, "render", sql, 0, NULL, &r, NULL, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  assert_int_equal(PQntuples(r), s->n);
  qsort(s->rows, (size_t)s->n, sizeof *s->rows, by_id);
  for (int64_t i = 0; i < s->n; i++)
    if (strcmp(PQgetvalue(r, (int)i, 0), s->rows[i]) != 0)
      fail_msg("row %" PRId64 ":\n  pg   %s\n  copy %s", i,
               PQgetvalue(r, (int)i, 0), s->rows[i]);
  PQclear(r);
}

static pgx_copy_opts opts_for(sink *s, const char *snapshot) {
  pgx_copy_opts o = {.conninfo = "",
                     .snapshot = snapshot,
                     .connections = 2,
                     .on_batch = on_batch,
                     .on_progress = on_progress,
                     .progress_ms = 10,
                     .ctx = s};
  return o;
}

static pgx_rel *load(pgx_conn *c, const char *schema, const char *table) {
  floe_error err;
  pgx_rel *r = NULL;
  if (pgx_rel_load(c, schema, table, NULL, &r, &err) != FLOE_OK)
    fail_msg("%s.%s: %s", schema, table, err.msg);
  return r;
}

/* 100k rows of many types in 2 ranges over 2 connections, in a slot's
 * snapshot: exactly the rows before the slot, bit for bit. */
static void test_copy_equals_select(void **state) {
  (void)state;
  pgx_conn *c = t_open(PGX_CONN_SQL);
  char ddl[512];
  snprintf(ddl, sizeof ddl, "DROP TABLE IF EXISTS c_t; CREATE TABLE c_t %s",
           COLUMNS);
  t_exec(c, ddl);
  make_table(c, "c_t", 1, 100000);
  t_exec(c, "VACUUM ANALYZE c_t");
  t_exec(c, "CREATE TABLE c_before AS SELECT * FROM c_t");

  pgx_conn *repl = t_open(PGX_CONN_REPLICATION);
  floe_error err;
  pgx_slot slot;
  if (pgx_slot_create(repl, "floe_copytest", false, &slot, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  /* changes after the slot: not in the copy */
  t_exec(c, "DELETE FROM c_t WHERE id % 10 = 5");
  make_table(c, "c_t", 100001, 100100);
  t_exec(c, "UPDATE c_t SET i4 = -1 WHERE id < 1000");

  sink s = {.take_every = 2};
  pgx_copy_opts o = opts_for(&s, slot.snapshot);
  o.ranges = 2;
  o.batch_rows = 7000;
  o.format = PGX_COPY_BINARY;
  pgx_copy *cp = NULL;
  if (pgx_copy_open(&o, &cp, &err) != FLOE_OK) fail_msg("%s", err.msg);
  /* imported everywhere: the exporter may move on */
  pgx_conn_close(repl);
  pgx_rel *rel = load(c, "public", "c_t");
  assert_true(rel->pages > 100);
  int64_t rows = 0;
  if (pgx_copy_table(cp, rel, NULL, &rows, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  assert_int_equal(rows, 100000);
  assert_int_equal(s.n, 100000);
  assert_true(s.max_batch <= 7000);
  assert_true(s.batches >= 100000 / 7000);
  assert_true(s.last.done);
  assert_int_equal(s.last.rows, 100000);
  assert_int_equal(s.last.ranges_total, 2);
  assert_int_equal(s.last.ranges_done, 2);
  assert_true(s.last.binary); /* interval, via its text, included */
  assert_true(s.last.bytes > 100000 * 50);
  assert_true(s.progress_calls >= 1);
  expect_equal(c, "c_before", &s);
  sink_free(&s);

  /* the same snapshot serves another table too */
  t_exec(c, "DROP TABLE IF EXISTS c_small; CREATE TABLE c_small (id int "
            "PRIMARY KEY, v text)");
  pgx_rel *small = load(c, "public", "c_small");
  assert_int_equal(pgx_copy_table(cp, small, NULL, &rows, &err), FLOE_OK);
  assert_int_equal(rows, 0); /* created after the snapshot: empty in it */
  pgx_rel_free(small);
  pgx_copy_free(cp);

  /* automatic ranges, one connection, no snapshot: today's rows */
  sink s2 = {0};
  o = opts_for(&s2, NULL);
  o.connections = 1;
  assert_int_equal(pgx_copy_open(&o, &cp, &err), FLOE_OK);
  assert_int_equal(pgx_copy_table(cp, rel, NULL, &rows, &err), FLOE_OK);
  assert_int_equal(rows, 90000 + 100);
  expect_equal(c, "c_t", &s2);
  sink_free(&s2);
  pgx_copy_free(cp);

  /* many small ranges over 3 connections, text format */
  sink s3 = {0};
  o = opts_for(&s3, NULL);
  o.connections = 3;
  o.ranges = 17;
  assert_int_equal(pgx_copy_open(&o, &cp, &err), FLOE_OK);
  assert_int_equal(pgx_copy_table(cp, rel, NULL, &rows, &err), FLOE_OK);
  assert_int_equal(s3.last.ranges_total, 17);
  assert_false(s3.last.binary);
  expect_equal(c, "c_t", &s3);
  sink_free(&s3);
  pgx_copy_free(cp);

  pgx_rel_free(rel);
  bool dropped;
  pgx_slot_drop(c, "floe_copytest", &dropped, &err);
  pgx_conn_close(c);
}

/* A partitioned table copies leaf by leaf as one table; a weird name
 * works; a table added later gets its own snapshot and LSN. */
static void test_partitioned_and_fresh(void **state) {
  (void)state;
  pgx_conn *c = t_open(PGX_CONN_SQL);
  char ddl[1024];
  snprintf(ddl, sizeof ddl,
           "DROP TABLE IF EXISTS c_p; CREATE TABLE c_p %s PARTITION BY RANGE "
           "(id); CREATE TABLE c_p1 PARTITION OF c_p FOR VALUES FROM (0) TO "
           "(20000); CREATE TABLE c_p2 PARTITION OF c_p FOR VALUES FROM "
           "(20000) TO (MAXVALUE); CREATE TABLE c_p0 PARTITION OF c_p FOR "
           "VALUES FROM (MINVALUE) TO (0)",
           COLUMNS);
  t_exec(c, ddl);
  make_table(c, "c_p", 1, 30000);
  pgx_rel *rel = load(c, "public", "c_p");
  assert_int_equal(rel->nparts, 3);
  floe_error err;
  sink s = {0};
  pgx_copy_opts o = opts_for(&s, NULL);
  o.ranges = 4;
  pgx_copy *cp = NULL;
  uint64_t lsn = 0;
  if (pgx_copy_open_fresh(&o, "floe_tmp_copy", &cp, &lsn, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  assert_true(lsn > 0);
  /* the temporary slot is gone with its connection */
  pgx_slot_state ss;
  for (int i = 0; i < 50; i++) {
    assert_int_equal(pgx_slot_lookup(c, "floe_tmp_copy", &ss, &err), FLOE_OK);
    if (!ss.exists) break;
    usleep(100000);
  }
  assert_false(ss.exists);
  t_exec(c, "CREATE TABLE c_p_before AS SELECT * FROM c_p");
  t_exec(c, "DELETE FROM c_p WHERE id < 100");
  /* the snapshot was taken before this point */
  char *now = t_query1(c, "SELECT pg_current_wal_lsn()");
  uint64_t now_lsn;
  assert_true(pgx_lsn_parse(now, &now_lsn));
  free(now);
  assert_true(lsn < now_lsn);
  int64_t rows;
  if (pgx_copy_table(cp, rel, NULL, &rows, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  assert_int_equal(rows, 30000);
  /* the empty leaf gets one range, the others share the rest */
  assert_true(s.last.ranges_total >= 3);
  expect_equal(c, "c_p_before", &s);
  sink_free(&s);
  pgx_copy_free(cp);
  pgx_rel_free(rel);

  /* the weird table name */
  t_exec(c, "DROP SCHEMA IF EXISTS \"Sch \"\"1\"\"\" CASCADE; CREATE SCHEMA "
            "\"Sch \"\"1\"\"\"");
  t_exec(c, "CREATE TABLE \"Sch \"\"1\"\"\".\"Weird \"\"Name\"\"; x\" "
            "(\"Id\" int PRIMARY KEY, \"v;\" text, \"Select\" int)");
  t_exec(c, "INSERT INTO \"Sch \"\"1\"\"\".\"Weird \"\"Name\"\"; x\" SELECT "
            "g, 'v' || g, -g FROM generate_series(1, 5000) g");
  rel = load(c, "Sch \"1\"", "Weird \"Name\"; x");
  sink s2 = {0};
  o = opts_for(&s2, NULL);
  o.ranges = 3;
  o.connections = 2;
  assert_int_equal(pgx_copy_open(&o, &cp, &err), FLOE_OK);
  if (pgx_copy_table(cp, rel, NULL, &rows, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  assert_int_equal(rows, 5000);
  qsort(s2.rows, (size_t)s2.n, sizeof *s2.rows, by_id);
  assert_string_equal(s2.rows[0], "1|7631|-1");
  assert_string_equal(s2.rows[4999], "5000|7635303030|-5000");
  sink_free(&s2);
  pgx_copy_free(cp);
  pgx_rel_free(rel);
  pgx_conn_close(c);
}

/* Failures end the copy with a message that says where. */
static void test_failures(void **state) {
  (void)state;
  pgx_conn *c = t_open(PGX_CONN_SQL);
  t_exec(c, "DROP TABLE IF EXISTS c_bad; CREATE TABLE c_bad (id int, n "
            "numeric(5,1)); INSERT INTO c_bad SELECT g, g FROM "
            "generate_series(1, 3000) g; INSERT INTO c_bad VALUES (3001, "
            "'NaN')");
  pgx_rel_opts ro = {.set_replica_full = true};
  pgx_rel *rel = NULL;
  floe_error err;
  assert_int_equal(pgx_rel_load(c, "public", "c_bad", &ro, &rel, &err),
                   FLOE_OK);
  /* NaN does not fit a decimal column: named, never replaced */
  sink s = {0};
  pgx_copy_opts o = opts_for(&s, NULL);
  o.connections = 1;
  pgx_copy *cp = NULL;
  assert_int_equal(pgx_copy_open(&o, &cp, &err), FLOE_OK);
  int64_t rows;
  assert_int_equal(pgx_copy_table(cp, rel, NULL, &rows, &err), FLOE_ERANGE);
  assert_non_null(strstr(err.msg, "copy public.c_bad, row 3001"));
  assert_non_null(strstr(err.msg, "NaN"));
  /* the snapshot is spent */
  assert_int_equal(pgx_copy_table(cp, rel, NULL, &rows, &err), FLOE_EINVAL);
  pgx_copy_free(cp);
  sink_free(&s);

  /* the host's error stops the copy mid-table */
  t_exec(c, "DELETE FROM c_bad WHERE id = 3001");
  sink s2 = {.fail_at = 1};
  o = opts_for(&s2, NULL);
  o.batch_rows = 1000;
  o.ranges = 2;
  assert_int_equal(pgx_copy_open(&o, &cp, &err), FLOE_OK);
  assert_int_equal(pgx_copy_table(cp, rel, NULL, &rows, &err), FLOE_EIO);
  assert_string_equal(err.msg, "sink is full");
  pgx_copy_free(cp);
  sink_free(&s2);

  /* a schema that does not match the table */
  col_field f[] = {{1, "id", {.id = COL_INT32}, true, 0, false},
                   {2, "n", {.id = COL_UTF8}, true, 0, false}};
  col_schema *sc = NULL;
  assert_int_equal(col_schema_new(f, 2, &sc, &err), FLOE_OK);
  sink s3 = {0};
  o = opts_for(&s3, NULL);
  assert_int_equal(pgx_copy_open(&o, &cp, &err), FLOE_OK);
  assert_int_equal(pgx_copy_table(cp, rel, sc, &rows, &err), FLOE_EINVAL);
  assert_non_null(strstr(err.msg, "column n is utf8"));
  pgx_copy_free(cp);
  /* and one that does is used as given */
  col_schema_unref(sc);
  f[1].type = (col_dtype){.id = COL_DECIMAL, .precision = 5, .scale = 1};
  f[1].id = 42;
  assert_int_equal(col_schema_new(f, 2, &sc, &err), FLOE_OK);
  assert_int_equal(pgx_copy_open(&o, &cp, &err), FLOE_OK);
  assert_int_equal(pgx_copy_table(cp, rel, sc, &rows, &err), FLOE_OK);
  assert_int_equal(rows, 3000);
  col_schema_unref(sc);
  pgx_copy_free(cp);
  sink_free(&s3);

  /* a snapshot that does not exist */
  o = opts_for(&s3, "00000003-0000001B-1");
  assert_int_not_equal(pgx_copy_open(&o, &cp, &err), FLOE_OK);
  assert_null(cp);
  assert_non_null(strstr(err.msg, "snapshot"));
  pgx_rel_free(rel);
  pgx_conn_close(c);
}

/* Copies rel in the given format; returns the sink (rows sorted by id). */
static sink copy_as(const pgx_rel *rel, pgx_copy_format fmt, bool *binary) {
  sink s = {0};
  pgx_copy_opts o = opts_for(&s, NULL);
  o.format = fmt;
  o.ranges = 3;
  o.batch_rows = 999;
  pgx_copy *cp = NULL;
  floe_error err;
  if (pgx_copy_open(&o, &cp, &err) != FLOE_OK) fail_msg("%s", err.msg);
  int64_t rows;
  if (pgx_copy_table(cp, rel, NULL, &rows, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  pgx_copy_free(cp);
  *binary = s.last.binary;
  qsort(s.rows, (size_t)s.n, sizeof *s.rows, by_id);
  return s;
}

/* Binary COPY gives exactly the columns the text path
 * gives, edge values included. */
static void test_binary_matches_text(void **state) {
  (void)state;
  pgx_conn *c = t_open(PGX_CONN_SQL);
  t_exec(c,
         "DROP TABLE IF EXISTS c_bin; DROP TYPE IF EXISTS c_mood;"
         "CREATE TYPE c_mood AS ENUM ('sad', 'ok', 'happy');"
         "CREATE TABLE c_bin (id int8 PRIMARY KEY, b bool, i2 int2, "
         "i4 int4, o oid, f4 float4, f8 float8, t text, vc varchar(9), "
         "bp char(5), nm name, js json, md c_mood, by bytea, d date, "
         "tm time, ts timestamp, tz timestamptz, u uuid, ip inet, tt timetz)");
  t_exec(c,
         "INSERT INTO c_bin SELECT g, g % 2 = 0, (g % 65536 - 32768)::int2,"
         " g * 40503 - 1000000000, (g::int8 * 2654435761 % 4294967296)::oid,"
         " CASE g % 6 WHEN 0 THEN 'NaN'::float4 WHEN 1 THEN '-Infinity' WHEN "
         "2 THEN '-0' ELSE g / 3.0 END,"
         " CASE g % 6 WHEN 0 THEN 'Infinity'::float8 WHEN 1 THEN '-0' ELSE "
         "1e300 / g END,"
         " E'a\\\\b\\tc\\nd ' || g || repeat('ü', g % 3),"
         " 'v' || g % 1000, 'x' || g % 10, 'n' || g,"
         " json_build_object('g', g)::json,"
         " (ARRAY['sad', 'ok', 'happy'])[g % 3 + 1]::c_mood,"
         " decode(lpad(to_hex(g), 8, '0'), 'hex'),"
         " CASE g % 50 WHEN 0 THEN 'infinity'::date WHEN 1 THEN '-infinity' "
         "WHEN 2 THEN '4713-01-01 BC' WHEN 3 THEN '5874897-12-31' ELSE DATE "
         "'2000-01-01' + (g - 25000) END,"
         " TIME '00:00' + g * interval '0.864001 s',"
         " CASE g % 40 WHEN 0 THEN 'infinity'::timestamp WHEN 1 THEN "
         "'-infinity' WHEN 2 THEN '4713-01-01 00:00 BC' ELSE TIMESTAMP "
         "'1999-12-31 23:59:59.999999' + g * interval '1 hour 0.000001 s' "
         "END,"
         " TIMESTAMPTZ '1960-01-01 00:00:00+00' + g * interval '17 min "
         "0.5 s',"
         " md5('u' || g)::uuid,"
         " ('10.0.' || g % 256 || '.1/' || 8 + g % 25)::inet,"
         " TIMETZ '12:00:00+02' + g * interval '1.5 s'"
         " FROM generate_series(1, 20000) g");
  t_exec(c, "INSERT INTO c_bin (id) VALUES (0)"); /* all NULL */
  pgx_rel *rel = load(c, "public", "c_bin");
  bool bin = false, txt = true;
  sink a = copy_as(rel, PGX_COPY_BINARY, &bin);
  sink b = copy_as(rel, PGX_COPY_TEXT, &txt);
  assert_true(bin);
  assert_false(txt);
  assert_int_equal(a.n, 20001);
  assert_int_equal(b.n, 20001);
  for (int64_t i = 0; i < a.n; i++)
    if (strcmp(a.rows[i], b.rows[i]) != 0)
      fail_msg("row %" PRId64 ":\n  binary %s\n  text   %s", i, a.rows[i],
               b.rows[i]);
  assert_string_equal(a.rows[0], "0|\\N|\\N|\\N|\\N|\\N|\\N|\\N|\\N|\\N|\\N|"
                                 "\\N|\\N|\\N|\\N|\\N|\\N|\\N|\\N|\\N|\\N");
  /* spot checks against the server's own numbers */
  char *want = t_query1(c, "SELECT concat_ws('|', id, CASE WHEN b THEN 't' "
                           "ELSE 'f' END, i2, i4, o, encode(float4send(f4), "
                           "'hex'), encode(float8send(f8), 'hex')) FROM "
                           "c_bin WHERE id = 7");
  assert_int_equal(strncmp(a.rows[7], want, strlen(want)), 0);
  free(want);
  sink_free(&a);
  sink_free(&b);
  pgx_rel_free(rel);

  /* a timestamp past what int64 microseconds since 1970 hold: the same
   * range error on both paths */
  t_exec(c, "DROP TABLE IF EXISTS c_far; CREATE TABLE c_far (id int "
            "PRIMARY KEY, ts timestamp); INSERT INTO c_far VALUES (1, "
            "'294270-01-01')");
  rel = load(c, "public", "c_far");
  for (int f = 0; f < 2; f++) {
    sink s = {0};
    pgx_copy_opts o = opts_for(&s, NULL);
    o.format = f ? PGX_COPY_TEXT : PGX_COPY_BINARY;
    pgx_copy *cp = NULL;
    floe_error err;
    assert_int_equal(pgx_copy_open(&o, &cp, &err), FLOE_OK);
    int64_t rows;
    assert_int_equal(pgx_copy_table(cp, rel, NULL, &rows, &err), FLOE_ERANGE);
    assert_non_null(strstr(err.msg, "copy public.c_far, row 1"));
    pgx_copy_free(cp);
    sink_free(&s);
  }
  pgx_rel_free(rel);
  pgx_conn_close(c);
}

/* ---- progress as the user sees it: log lines and the bar ---- */

static floe_status count_batch(void *ctx, col_batch **bp, floe_error *err) {
  (void)err;
  *(int64_t *)ctx += (*bp)->length;
  return FLOE_OK;
}

typedef struct lines {
  char *msg[4096];
  int n;
} lines;

static void keep_line(void *ctx, flog_level level, const char *msg) {
  lines *l = ctx;
  if (level == FLOG_INFO && l->n < 4096) l->msg[l->n++] = strdup(msg);
}

/* rows as show_progress prints them ("123", "45.6k", "1.20M") */
static double human_rows(const char *s) {
  char *end;
  double v = strtod(s, &end);
  return *end == 'M' ? v * 1e6 : *end == 'k' ? v * 1e3 : v;
}

static pgx_copy_opts progress_opts(int64_t *rows, pgx_progress_mode mode) {
  pgx_copy_opts o = {.conninfo = "",
                     .connections = 2,
                     .ranges = 4,
                     .batch_rows = 8192,
                     .on_batch = count_batch,
                     .progress = mode,
                     .progress_ms = 1,
                     .log_every_ms = 1,
                     .ctx = rows};
  return o;
}

/* 400k rows with progress every millisecond: in log mode a series of info
 * lines (percent, rows rising, MiB, MiB/s, rows/s, an ETA once bytes are
 * known) ending in "done, 100%" with every row; in bar mode frames on
 * stderr separated by '\r', the last one at 100% ending the line. */
static void test_progress_shown(void **state) {
  (void)state;
  pgx_conn *c = t_open(PGX_CONN_SQL);
  t_exec(c, "DROP TABLE IF EXISTS p_t; CREATE TABLE p_t (id bigint PRIMARY "
            "KEY, s text); INSERT INTO p_t SELECT g, repeat('y', 40) || g "
            "FROM generate_series(1, 400000) g");
  t_exec(c, "VACUUM ANALYZE p_t");
  pgx_rel *rel = load(c, "public", "p_t");
  floe_error err;

  lines l = {.n = 0};
  flog lg = {.level = FLOG_INFO, .sink = keep_line, .ctx = &l};
  int64_t got = 0, rows = 0;
  pgx_copy_opts o = progress_opts(&got, PGX_PROGRESS_LOG);
  o.log = &lg;
  pgx_copy *cp = NULL;
  assert_int_equal(pgx_copy_open(&o, &cp, &err), FLOE_OK);
  if (pgx_copy_table(cp, rel, NULL, &rows, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  pgx_copy_free(cp);
  assert_int_equal(rows, 400000);
  assert_int_equal(got, 400000);
  assert_true(l.n >= 3); /* at least two periodic lines and the last */
  double prev = 0;
  int with_eta = 0;
  for (int i = 0; i < l.n; i++) {
    int pct, n = 0;
    char rws[32], eta[16];
    double mib, mibs;
    bool last = i == l.n - 1;
    const char *fmt =
        last ? "copy public.p_t: done, %d%%, %31s rows, %lf MiB, %lf MiB/s, "
               "%*s rows/s, ETA %15s%n"
             : "copy public.p_t: %d%%, %31s rows, %lf MiB, %lf MiB/s, %*s "
               "rows/s, ETA %15s%n";
    if (sscanf(l.msg[i], fmt, &pct, rws, &mib, &mibs, eta, &n) != 5 ||
        l.msg[i][n] != '\0')
      fail_msg("line %d: '%s'", i, l.msg[i]);
    double r = human_rows(strtok(rws, ","));
    assert_true(r >= prev);
    prev = r;
    assert_true(pct >= 0 && pct <= 100);
    assert_true(mib >= 0 && mibs >= 0);
    if (!last && strcmp(eta, "?") != 0) {
      int m, sec;
      assert_int_equal(sscanf(eta, "%d:%d", &m, &sec), 2);
      with_eta++;
    }
    if (last) {
      assert_int_equal(pct, 100);
      assert_string_equal(rws, "400.0k");
      assert_string_equal(eta, "0:00");
      assert_true(mib > 400000.0 * 40 / (1 << 20));
    }
  }
  print_message("progress: %d log lines, %d with an ETA\n", l.n, with_eta);
  assert_true(with_eta >= 1);
  for (int i = 0; i < l.n; i++) free(l.msg[i]);

  /* the bar: stderr into a file for the copy */
  char path[] = "/tmp/floe-bar-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  assert_true(saved >= 0);
  assert_true(dup2(fd, STDERR_FILENO) >= 0);
  got = 0;
  o = progress_opts(&got, PGX_PROGRESS_BAR);
  floe_status st = pgx_copy_open(&o, &cp, &err);
  if (st == FLOE_OK) st = pgx_copy_table(cp, rel, NULL, &rows, &err);
  pgx_copy_free(cp);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  if (st != FLOE_OK) fail_msg("%s", err.msg);
  assert_int_equal(got, 400000);
  FILE *f = fdopen(fd, "r");
  assert_non_null(f);
  rewind(f);
  static char out[1 << 20];
  size_t len = fread(out, 1, sizeof out - 1, f);
  out[len] = '\0';
  fclose(f);
  unlink(path);
  assert_true(len > 0 && out[0] == '\r' && out[len - 1] == '\n');
  out[len - 1] = '\0';
  int frames = 0;
  char *last = NULL;
  for (char *fr = strtok(out, "\r"); fr; fr = strtok(NULL, "\r")) {
    char name[32], bar[40], rws[32], rate[32], eta[16];
    int pct, n = 0;
    double mib, mibs;
    if (sscanf(fr,
               "%31s [%39[#.]] %d%% %31s rows %lf MiB %lf MiB/s %31s "
               "rows/s ETA %15s %n",
               name, bar, &pct, rws, &mib, &mibs, rate, eta, &n) != 8 ||
        fr[n] != '\0')
      fail_msg("frame %d: '%s'", frames, fr);
    assert_string_equal(name, "public.p_t");
    assert_int_equal(strlen(bar), 30);
    assert_int_equal((int)strspn(bar, "#"), pct * 30 / 100);
    frames++;
    last = fr;
  }
  print_message("progress: %d bar frames\n", frames);
  assert_true(frames >= 2);
  assert_non_null(strstr(last, "[##############################] 100% "
                               "400.0k rows "));
  assert_non_null(strstr(last, " rows/s ETA 0:00 "));
  pgx_rel_free(rel);
  pgx_conn_close(c);
}

int main(void) {
  if (t_skip_unless_server()) return 77;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_copy_equals_select),
      cmocka_unit_test(test_partitioned_and_fresh),
      cmocka_unit_test(test_failures),
      cmocka_unit_test(test_binary_matches_text),
      cmocka_unit_test(test_progress_shown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
