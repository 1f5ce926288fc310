/*
 * Connections, publications, slots and table discovery against a real
 * server (run by tests/pg/test_setup.sh).
 */
#include "pgx_test.h"

#include "pg/relinfo.h"
#include "pg/slot.h"

/* Every connection carries the settings the text parsers rely on, also
 * when the user's own options try to change them, and keeps the user's
 * other options. */
static void test_session_settings(void **state) {
  (void)state;
  floe_error err;
  for (int kind = 0; kind < 2; kind++) {
    pgx_conn *c = NULL;
    const char *ci = "options='-c work_mem=7MB -c TimeZone=Europe/Paris'";
    if (pgx_conn_open(ci, (pgx_conn_kind)kind, &c, &err) != FLOE_OK)
      fail_msg("%s", err.msg);
    assert_int_equal(c->kind, kind);
    assert_true(c->server_version >= 150000);
    t_expect(c, "SHOW DateStyle", "ISO, MDY");
    t_expect(c, "SHOW IntervalStyle", "postgres");
    t_expect(c, "SHOW TimeZone", "UTC");
    t_expect(c, "SHOW extra_float_digits", "3");
    t_expect(c, "SHOW bytea_output", "hex");
    t_expect(c, "SHOW client_encoding", "UTF8");
    t_expect(c, "SHOW work_mem", "7MB");
    if (kind == PGX_CONN_REPLICATION) {
      /* a walsender: IDENTIFY_SYSTEM answers */
      PGresult *r = PQexec(c->pg, "IDENTIFY_SYSTEM");
      assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
      PQclear(r);
    }
    /* the description names the target and nothing secret */
    char want[128];
    snprintf(want, sizeof want, "host=%s port=%s dbname=%s user=%s",
             getenv("PGHOST"), getenv("PGPORT"), getenv("PGDATABASE"),
             getenv("PGUSER"));
    assert_string_equal(pgx_conn_desc(c), want);
    pgx_conn_close(c);
  }
  /* a URI works as well */
  pgx_conn *c = NULL;
  char uri[256];
  snprintf(uri, sizeof uri, "postgresql://%s@%s:%s/%s", getenv("PGUSER"),
           getenv("PGHOST"), getenv("PGPORT"), getenv("PGDATABASE"));
  if (pgx_conn_open(uri, PGX_CONN_SQL, &c, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  t_expect(c, "SELECT 1", "1");
  pgx_conn_close(c);
}

/* No error or description contains the password, however it is given. */
static void test_password_never_shown(void **state) {
  (void)state;
  const char *cases[] = {
      "host=127.0.0.1 port=1 user=u password=S3cretPw connect_timeout=2",
      "postgresql://u:S3cretPw@127.0.0.1:1/db?connect_timeout=2",
      "host=127.0.0.1 password=S3cretPw port",     /* missing "=" */
      "host=127.0.0.1 password='S3cretPw",         /* unterminated */
      "postgresql://u:S3cretPw%zz@127.0.0.1:1/db", /* bad escape */
      "host=127.0.0.1 port=x password=S3cretPw",   /* bad port */
      "host=127.0.0.1 port=1 nosuch=S3cretPw password=S3cretPw",
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    pgx_conn *c = NULL;
    floe_error err;
    assert_int_not_equal(pgx_conn_open(cases[i], PGX_CONN_SQL, &c, &err),
                         FLOE_OK);
    assert_null(c);
    if (strstr(err.msg, "S3cretPw")) fail_msg("case %zu: %s", i, err.msg);
    assert_true(strlen(err.msg) > 10);
    char desc[256];
    if (pgx_conninfo_describe(cases[i], desc, sizeof desc, &err) == FLOE_OK)
      assert_null(strstr(desc, "S3cretPw"));
    else
      assert_null(strstr(err.msg, "S3cretPw"));
  }
  char desc[256];
  floe_error err;
  assert_int_equal(
      pgx_conninfo_describe("host=h port=5 dbname=d user=u password=pw", desc,
                            sizeof desc, &err),
      FLOE_OK);
  assert_string_equal(desc, "host=h port=5 dbname=d user=u");
}

static void test_lsn_text(void **state) {
  (void)state;
  uint64_t v = 0;
  char s[PGX_LSN_STR];
  assert_true(pgx_lsn_parse("0/16B3748", &v));
  assert_int_equal(v, 0x16B3748);
  assert_string_equal(pgx_lsn_format(v, s), "0/16B3748");
  assert_true(pgx_lsn_parse("FFFFFFFF/FFFFFFFF", &v));
  assert_true(v == UINT64_MAX);
  assert_string_equal(pgx_lsn_format(v, s), "FFFFFFFF/FFFFFFFF");
  assert_true(pgx_lsn_parse("a/0", &v));
  assert_true(v == 0xA00000000ull);
  const char *bad[] = {"",    "/",    "1/", "/1", "1/2/3", "123456789/0",
                       "x/1", "1/ 2", "1"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_false(pgx_lsn_parse(bad[i], &v));
}

static void test_mirror_names(void **state) {
  (void)state;
  floe_error err;
  char name[PGX_NAME_MAX];
  assert_int_equal(pgx_mirror_object_name("shop_1", name, &err), FLOE_OK);
  assert_string_equal(name, "floe_shop_1");
  char longest[PGX_MIRROR_NAME_MAX + 2];
  memset(longest, 'a', sizeof longest);
  longest[PGX_MIRROR_NAME_MAX] = '\0';
  assert_int_equal(pgx_mirror_object_name(longest, name, &err), FLOE_OK);
  assert_int_equal(strlen(name), 63);
  longest[PGX_MIRROR_NAME_MAX] = 'a';
  longest[PGX_MIRROR_NAME_MAX + 1] = '\0';
  const char *bad[] = {"", "Shop", "a-b", "a b", "x\"y", "é", longest};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    assert_int_equal(pgx_mirror_name_check(bad[i], &err), FLOE_EINVAL);
    assert_non_null(strstr(err.msg, "a-z, 0-9 and _"));
  }
}

static const char WEIRD_SCHEMA[] = "Sch \"1\"";
static const char WEIRD_TABLE[] = "Weird \"Name\"; x";

static void make_weird(pgx_conn *c) {
  t_exec(c, "DROP SCHEMA IF EXISTS \"Sch \"\"1\"\"\" CASCADE");
  t_exec(c, "CREATE SCHEMA \"Sch \"\"1\"\"\"");
  t_exec(c, "CREATE TABLE \"Sch \"\"1\"\"\".\"Weird \"\"Name\"\"; x\" "
            "(\"Id\" int PRIMARY KEY, \"v;\" text)");
  t_exec(c, "CREATE TABLE IF NOT EXISTS plain_a (id int PRIMARY KEY)");
  t_exec(c, "CREATE TABLE IF NOT EXISTS plain_b (id int PRIMARY KEY)");
}

static char *pub_tables(pgx_conn *c, const char *pub) {
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT coalesce(string_agg(schemaname || '.' || tablename, ',' "
           "ORDER BY schemaname, tablename), '') FROM pg_publication_tables "
           "WHERE pubname = '%s'",
           pub);
  return t_query1(c, sql);
}

static void expect_pub_tables(pgx_conn *c, const char *pub, const char *want) {
  char *got = pub_tables(c, pub);
  assert_string_equal(got, want);
  free(got);
}

static void test_publication(void **state) {
  (void)state;
  pgx_conn *c = t_open(PGX_CONN_SQL);
  make_weird(c);
  floe_error err;
  const char *pub = "floe_pubtest";
  pgx_table_name t[] = {{WEIRD_SCHEMA, WEIRD_TABLE}, {"public", "plain_a"}};
  bool created = false;
  if (pgx_pub_ensure(c, pub, t, 2, &created, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  assert_true(created);
  expect_pub_tables(c, pub, "Sch \"1\".Weird \"Name\"; x,public.plain_a");
  t_expect(c,
           "SELECT pubviaroot FROM pg_publication WHERE pubname = "
           "'floe_pubtest'",
           "t");
  /* again: nothing new; a table it lacks is added */
  pgx_table_name t2[] = {{WEIRD_SCHEMA, WEIRD_TABLE}, {"public", "plain_b"}};
  assert_int_equal(pgx_pub_ensure(c, pub, t2, 2, &created, &err), FLOE_OK);
  assert_false(created);
  expect_pub_tables(
      c, pub, "Sch \"1\".Weird \"Name\"; x,public.plain_a,public.plain_b");
  bool has = false;
  assert_int_equal(
      pgx_pub_has_table(c, pub, WEIRD_SCHEMA, WEIRD_TABLE, &has, &err),
      FLOE_OK);
  assert_true(has);
  /* remove and add one at a time; twice is harmless */
  for (int i = 0; i < 2; i++)
    assert_int_equal(
        pgx_pub_remove_table(c, pub, WEIRD_SCHEMA, WEIRD_TABLE, &err), FLOE_OK);
  expect_pub_tables(c, pub, "public.plain_a,public.plain_b");
  for (int i = 0; i < 2; i++)
    assert_int_equal(pgx_pub_add_table(c, pub, WEIRD_SCHEMA, WEIRD_TABLE, &err),
                     FLOE_OK);
  expect_pub_tables(
      c, pub, "Sch \"1\".Weird \"Name\"; x,public.plain_a,public.plain_b");
  /* a missing table is a clear error */
  assert_int_equal(pgx_pub_add_table(c, pub, "public", "nosuch", &err),
                   FLOE_ENOTFOUND);
  assert_non_null(strstr(err.msg, "nosuch"));

  /* a user's publication: verified, never changed */
  t_exec(c, "DROP PUBLICATION IF EXISTS \"User Pub\"");
  t_exec(c, "CREATE PUBLICATION \"User Pub\" FOR TABLE plain_a");
  pgx_table_name ua[] = {{"public", "plain_a"}};
  assert_int_equal(pgx_pub_verify(c, "User Pub", ua, 1, &err), FLOE_OK);
  assert_int_equal(pgx_pub_verify(c, "User Pub", t, 1, &err), FLOE_ENOTFOUND);
  assert_non_null(strstr(err.msg, "ALTER PUBLICATION \"User Pub\" ADD TABLE "
                                  "\"Sch \"\"1\"\"\".\"Weird \"\"Name\"\"; "
                                  "x\";"));
  assert_int_equal(pgx_pub_verify(c, "No Pub", ua, 1, &err), FLOE_ENOTFOUND);
  assert_non_null(strstr(err.msg, "\"No Pub\" does not exist"));
  bool exists = true, all = true;
  assert_int_equal(pgx_pub_exists(c, "No Pub", &exists, &all, &err), FLOE_OK);
  assert_false(exists);

  /* FOR ALL TABLES publishes everything; adding is a no-op */
  t_exec(c, "DROP PUBLICATION IF EXISTS all_pub");
  t_exec(c, "CREATE PUBLICATION all_pub FOR ALL TABLES");
  assert_int_equal(pgx_pub_verify(c, "all_pub", t, 2, &err), FLOE_OK);
  assert_int_equal(pgx_pub_add_table(c, "all_pub", "public", "plain_a", &err),
                   FLOE_OK);

  for (int i = 0; i < 2; i++)
    assert_int_equal(pgx_pub_drop(c, pub, &err), FLOE_OK);
  assert_int_equal(pgx_pub_exists(c, pub, &exists, NULL, &err), FLOE_OK);
  assert_false(exists);
  t_exec(c, "DROP PUBLICATION all_pub");
  t_exec(c, "DROP PUBLICATION \"User Pub\"");
  pgx_conn_close(c);
}

static void test_slot(void **state) {
  (void)state;
  floe_error err;
  pgx_conn *sql = t_open(PGX_CONN_SQL);
  pgx_conn *repl = t_open(PGX_CONN_REPLICATION);
  t_exec(sql, "CREATE TABLE IF NOT EXISTS snap_t (id int PRIMARY KEY)");
  t_exec(sql, "TRUNCATE snap_t");
  t_exec(sql, "INSERT INTO snap_t VALUES (1), (2)");
  pgx_slot s;
  if (pgx_slot_ensure(repl, "floe_slottest", &s, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  assert_true(s.created);
  assert_string_equal(s.name, "floe_slottest");
  assert_true(s.lsn > 0);
  assert_true(s.snapshot[0] != '\0');
  /* rows after the slot are not in its snapshot */
  t_exec(sql, "INSERT INTO snap_t VALUES (3)");
  pgx_conn *imp = t_open(PGX_CONN_SQL);
  t_exec(imp, "BEGIN ISOLATION LEVEL REPEATABLE READ");
  char set[160];
  snprintf(set, sizeof set, "SET TRANSACTION SNAPSHOT '%s'", s.snapshot);
  t_exec(imp, set);
  t_expect(imp, "SELECT count(*) FROM snap_t", "2");
  t_exec(imp, "COMMIT");
  pgx_conn_close(imp);

  pgx_slot_state st;
  assert_int_equal(pgx_slot_lookup(sql, "floe_slottest", &st, &err), FLOE_OK);
  assert_true(st.exists && st.logical && !st.temporary);
  assert_string_equal(st.plugin, "pgoutput");
  assert_true(st.confirmed_flush == s.lsn);

  /* reuse: same slot, no snapshot, its confirmed position */
  pgx_conn_close(repl);
  repl = t_open(PGX_CONN_REPLICATION);
  pgx_slot s2;
  assert_int_equal(pgx_slot_ensure(repl, "floe_slottest", &s2, &err), FLOE_OK);
  assert_false(s2.created);
  assert_string_equal(s2.snapshot, "");
  assert_true(s2.lsn == s.lsn);
  assert_int_equal(pgx_slot_create(repl, "floe_slottest", false, &s2, &err),
                   FLOE_EEXIST);
  /* a physical slot of that name is refused */
  t_exec(sql, "SELECT pg_create_physical_replication_slot('floe_phys')");
  assert_int_equal(pgx_slot_ensure(repl, "floe_phys", &s2, &err), FLOE_EINVAL);
  assert_non_null(strstr(err.msg, "physical"));

  /* a temporary slot disappears with its connection */
  pgx_conn *tmp = t_open(PGX_CONN_REPLICATION);
  assert_int_equal(pgx_slot_create(tmp, "floe_tmp", true, &s2, &err), FLOE_OK);
  assert_true(s2.created && s2.snapshot[0]);
  assert_true(s2.lsn >= s.lsn);
  assert_int_equal(pgx_slot_lookup(sql, "floe_tmp", &st, &err), FLOE_OK);
  assert_true(st.exists && st.temporary);
  pgx_conn_close(tmp);
  for (int i = 0; i < 50; i++) {
    assert_int_equal(pgx_slot_lookup(sql, "floe_tmp", &st, &err), FLOE_OK);
    if (!st.exists) break;
    usleep(100000);
  }
  assert_false(st.exists);

  bool dropped = false;
  assert_int_equal(pgx_slot_drop(sql, "floe_slottest", &dropped, &err),
                   FLOE_OK);
  assert_true(dropped);
  assert_int_equal(pgx_slot_drop(repl, "floe_slottest", &dropped, &err),
                   FLOE_OK);
  assert_false(dropped);
  assert_int_equal(pgx_slot_drop(sql, "floe_phys", &dropped, &err), FLOE_OK);
  pgx_conn_close(repl);
  pgx_conn_close(sql);
}

static pgx_rel *load(pgx_conn *c, const char *schema, const char *table) {
  floe_error err;
  pgx_rel *r = NULL;
  if (pgx_rel_load(c, schema, table, NULL, &r, &err) != FLOE_OK)
    fail_msg("%s.%s: %s", schema, table, err.msg);
  return r;
}

static void test_relinfo_columns(void **state) {
  (void)state;
  pgx_conn *c = t_open(PGX_CONN_SQL);
  t_exec(c, "DROP TABLE IF EXISTS ri_types; DROP DOMAIN IF EXISTS money2;"
            "DROP DOMAIN IF EXISTS money3; DROP DOMAIN IF EXISTS posint;"
            "DROP TYPE IF EXISTS mood");
  t_exec(c, "CREATE DOMAIN money2 AS numeric(10,2);"
            "CREATE DOMAIN money3 AS money2 CHECK (VALUE > 0);"
            "CREATE DOMAIN posint AS int CHECK (VALUE > 0);"
            "CREATE TYPE mood AS ENUM ('sad', 'ok');"
            "CREATE TABLE ri_types (b text, a int NOT NULL, gone int,"
            " m money3, tags varchar(5)[], ps posint[], md mood,"
            " g int GENERATED ALWAYS AS (a * 2) STORED,"
            " PRIMARY KEY (b, a));"
            "ALTER TABLE ri_types DROP COLUMN gone");
  pgx_rel *r = load(c, "public", "ri_types");
  assert_int_equal(r->relkind, 'r');
  assert_int_equal(r->ident, PGX_IDENT_PK);
  assert_int_equal(r->ncols, 6);
  const char *names[] = {"b", "a", "m", "tags", "ps", "md"};
  for (int i = 0; i < 6; i++) assert_string_equal(r->cols[i].name, names[i]);
  assert_int_equal(r->cols[0].attnum, 1);
  assert_int_equal(r->cols[2].attnum, 4); /* dropped attnum 3 skipped */
  assert_true(r->cols[0].not_null && r->cols[1].not_null);
  assert_false(r->cols[2].not_null);
  /* key order is the key's, not the table's */
  assert_int_equal(r->nkey, 2);
  assert_int_equal(r->key[0], 0);
  assert_int_equal(r->key[1], 1);
  assert_int_equal(r->cols[0].key, 0);
  assert_int_equal(r->cols[1].key, 1);
  assert_int_equal(r->cols[2].key, -1);
  /* int4 */
  assert_int_equal(r->cols[1].type_oid, 23);
  assert_int_equal(r->cols[1].base_oid, 23);
  assert_int_equal(r->cols[1].typtype, 'b');
  assert_null(r->cols[1].elem_name);
  /* domain over a domain over numeric(10,2) */
  const pgx_col *m = &r->cols[2];
  assert_int_equal(m->typtype, 'd');
  assert_string_equal(m->type_sql, "money3");
  assert_int_equal(m->base_oid, 1700);
  assert_string_equal(m->base_name, "numeric");
  assert_int_equal(m->base_typmod, ((10 << 16) | 2) + 4);
  /* varchar(5)[] */
  const pgx_col *tg = &r->cols[3];
  assert_string_equal(tg->type_sql, "character varying(5)[]");
  assert_string_equal(tg->base_name, "_varchar");
  assert_int_equal(tg->elem_oid, 1043);
  assert_string_equal(tg->elem_name, "varchar");
  assert_int_equal(tg->elem_typmod, 5 + 4);
  /* array of a domain: the element resolves to int4 */
  const pgx_col *ps = &r->cols[4];
  assert_int_equal(ps->elem_oid, 23);
  assert_string_equal(ps->elem_name, "int4");
  /* enum */
  assert_int_equal(r->cols[5].typtype, 'e');
  assert_int_equal(r->cols[5].base_typtype, 'e');
  assert_string_equal(r->cols[5].base_name, "mood");
  assert_int_equal(pgx_rel_find_col(r, "md"), 5);
  assert_int_equal(pgx_rel_find_col(r, "g"), -1);
  assert_int_equal(r->nparts, 1);
  assert_string_equal(r->parts[0].name, "ri_types");
  assert_int_equal(r->block_size, 8192);
  pgx_rel_free(r);

  floe_error err;
  assert_int_equal(pgx_rel_load(c, "public", "nosuch", NULL, &r, &err),
                   FLOE_ENOTFOUND);
  t_exec(c, "CREATE OR REPLACE VIEW ri_view AS SELECT 1 AS x");
  assert_int_equal(pgx_rel_load(c, "public", "ri_view", NULL, &r, &err),
                   FLOE_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "not a table"));
  pgx_conn_close(c);
}

static void test_relinfo_identity(void **state) {
  (void)state;
  pgx_conn *c = t_open(PGX_CONN_SQL);
  floe_error err;
  t_exec(c, "DROP TABLE IF EXISTS ri_idx, ri_full, ri_none, ri_fullpk");
  t_exec(c, "CREATE TABLE ri_idx (x int, u int NOT NULL, v int NOT NULL);"
            "CREATE UNIQUE INDEX ri_idx_uv ON ri_idx (v, u);"
            "ALTER TABLE ri_idx REPLICA IDENTITY USING INDEX ri_idx_uv;"
            "CREATE TABLE ri_full (x int, y text);"
            "ALTER TABLE ri_full REPLICA IDENTITY FULL;"
            "CREATE TABLE ri_fullpk (x int, y text PRIMARY KEY);"
            "ALTER TABLE ri_fullpk REPLICA IDENTITY FULL;"
            "CREATE TABLE ri_none (x int, y text)");
  pgx_rel *r = load(c, "public", "ri_idx");
  assert_int_equal(r->ident, PGX_IDENT_INDEX);
  assert_int_equal(r->nkey, 2);
  assert_string_equal(r->cols[r->key[0]].name, "v");
  assert_string_equal(r->cols[r->key[1]].name, "u");
  assert_int_equal(r->cols[0].key, -1);
  pgx_rel_free(r);

  r = load(c, "public", "ri_full");
  assert_int_equal(r->ident, PGX_IDENT_FULL);
  assert_int_equal(r->replident, 'f');
  assert_int_equal(r->nkey, 2);
  pgx_rel_free(r);

  r = load(c, "public", "ri_fullpk");
  assert_int_equal(r->ident, PGX_IDENT_PK);
  assert_int_equal(r->nkey, 1);
  assert_string_equal(r->cols[r->key[0]].name, "y");
  pgx_rel_free(r);

  /* no identity: refused with the exact statement, the table untouched */
  assert_int_equal(pgx_rel_load(c, "public", "ri_none", NULL, &r, &err),
                   FLOE_EUNSUPPORTED);
  assert_null(r);
  assert_non_null(strstr(err.msg,
                         "Run: ALTER TABLE \"public\".\"ri_none\" REPLICA "
                         "IDENTITY FULL;"));
  t_expect(c, "SELECT relreplident FROM pg_class WHERE relname = 'ri_none'",
           "d");
  /* NOTHING as well */
  t_exec(c, "ALTER TABLE ri_none REPLICA IDENTITY NOTHING");
  assert_int_equal(pgx_rel_load(c, "public", "ri_none", NULL, &r, &err),
                   FLOE_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "NOTHING"));
  /* with the flag floe runs it */
  pgx_rel_opts opts = {.set_replica_full = true, .lock_timeout_ms = 2000};
  if (pgx_rel_load(c, "public", "ri_none", &opts, &r, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  assert_int_equal(r->ident, PGX_IDENT_FULL);
  pgx_rel_free(r);
  t_expect(c, "SELECT relreplident FROM pg_class WHERE relname = 'ri_none'",
           "f");

  /* the weird name is quoted in the statement */
  make_weird(c);
  t_exec(c, "ALTER TABLE \"Sch \"\"1\"\"\".\"Weird \"\"Name\"\"; x\" DROP "
            "CONSTRAINT \"Weird \"\"Name\"\"; x_pkey\"");
  assert_int_equal(pgx_rel_load(c, WEIRD_SCHEMA, WEIRD_TABLE, NULL, &r, &err),
                   FLOE_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "ALTER TABLE \"Sch \"\"1\"\"\".\"Weird "
                                  "\"\"Name\"\"; x\" REPLICA IDENTITY FULL;"));
  if (pgx_rel_load(c, WEIRD_SCHEMA, WEIRD_TABLE, &opts, &r, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  assert_int_equal(r->ident, PGX_IDENT_FULL);
  assert_string_equal(r->cols[1].name, "v;");
  pgx_rel_free(r);

  /* the lock timeout bounds the wait for a busy table */
  t_exec(c, "ALTER TABLE ri_none REPLICA IDENTITY DEFAULT");
  pgx_conn *locker = t_open(PGX_CONN_SQL);
  t_exec(locker, "BEGIN; LOCK TABLE ri_none IN ACCESS SHARE MODE");
  opts.lock_timeout_ms = 200;
  assert_int_equal(pgx_rel_load(c, "public", "ri_none", &opts, &r, &err),
                   FLOE_EIO);
  assert_non_null(strstr(err.msg, "lock timeout"));
  t_exec(locker, "ROLLBACK");
  pgx_conn_close(locker);
  /* the connection is usable after the failed ALTER */
  t_expect(c, "SELECT 1", "1");
  pgx_conn_close(c);
}

static void test_relinfo_partitioned(void **state) {
  (void)state;
  pgx_conn *c = t_open(PGX_CONN_SQL);
  floe_error err;
  t_exec(c, "DROP TABLE IF EXISTS pt, pn");
  t_exec(c, "CREATE TABLE pt (id int, k text, PRIMARY KEY (id, k)) "
            "PARTITION BY RANGE (id);"
            "CREATE TABLE pt_1 PARTITION OF pt FOR VALUES FROM (0) TO (100);"
            "CREATE TABLE pt_2 PARTITION OF pt FOR VALUES FROM (100) TO (200)"
            " PARTITION BY RANGE (id);"
            "CREATE TABLE pt_2a PARTITION OF pt_2 FOR VALUES FROM (100) TO "
            "(150);"
            "CREATE TABLE pt_2b PARTITION OF pt_2 FOR VALUES FROM (150) TO "
            "(200);"
            "INSERT INTO pt SELECT g, 'x' || g FROM generate_series(0, 199) g");
  pgx_rel *r = load(c, "public", "pt");
  assert_int_equal(r->relkind, 'p');
  assert_int_equal(r->ident, PGX_IDENT_PK);
  assert_int_equal(r->nparts, 3);
  assert_string_equal(r->parts[0].name, "pt_1");
  assert_string_equal(r->parts[1].name, "pt_2a");
  assert_string_equal(r->parts[2].name, "pt_2b");
  assert_true(r->parts[0].pages >= 1);
  assert_true(r->pages ==
              r->parts[0].pages + r->parts[1].pages + r->parts[2].pages);
  assert_true(r->bytes == r->pages * 8192);
  pgx_rel_free(r);

  /* FULL on the root does not reach the leaves: each is named */
  t_exec(c, "CREATE TABLE pn (id int, v text) PARTITION BY LIST (id);"
            "CREATE TABLE pn_1 PARTITION OF pn FOR VALUES IN (1);"
            "CREATE TABLE pn_2 PARTITION OF pn FOR VALUES IN (2);"
            "ALTER TABLE pn REPLICA IDENTITY FULL;"
            "ALTER TABLE pn_2 REPLICA IDENTITY FULL");
  assert_int_equal(pgx_rel_load(c, "public", "pn", NULL, &r, &err),
                   FLOE_EUNSUPPORTED);
  assert_non_null(strstr(err.msg,
                         "ALTER TABLE \"public\".\"pn_1\" REPLICA IDENTITY "
                         "FULL;"));
  pgx_rel_opts opts = {.set_replica_full = true};
  if (pgx_rel_load(c, "public", "pn", &opts, &r, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  assert_int_equal(r->ident, PGX_IDENT_FULL);
  assert_int_equal(r->nparts, 2);
  pgx_rel_free(r);
  t_expect(c, "SELECT relreplident FROM pg_class WHERE relname = 'pn_1'", "f");
  pgx_conn_close(c);
}

int main(void) {
  if (t_skip_unless_server()) return 77;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_session_settings),
      cmocka_unit_test(test_password_never_shown),
      cmocka_unit_test(test_lsn_text),
      cmocka_unit_test(test_mirror_names),
      cmocka_unit_test(test_publication),
      cmocka_unit_test(test_slot),
      cmocka_unit_test(test_relinfo_columns),
      cmocka_unit_test(test_relinfo_identity),
      cmocka_unit_test(test_relinfo_partitioned),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
