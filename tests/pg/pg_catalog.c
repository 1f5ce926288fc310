/*
 * The catalog suite against Postgres. Run by tests/pg/test_catalog_pg.sh,
 * which starts a private server and sets FLOE_PG_TEST; the server is found
 * through the PG* environment variables. Without FLOE_PG_TEST it skips
 * (exit 77) so it can be run by hand harmlessly.
 *
 * Each test uses its own catalog name (the catalog_name column), so tests
 * share the database without seeing each other; the setup tests use fresh
 * databases of their own.
 */
#include <libpq-fe.h>

#include "catalog_suite.h"

typedef struct fixture {
  char tmp[64];
  cat_env env;
} fixture;

static int counter;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  strcpy(f->tmp, "/tmp/floe-pgcat-XXXXXX");
  if (!mkdtemp(f->tmp)) return -1;
  snprintf(f->env.wh, sizeof f->env.wh, "%s/wh", f->tmp);
  snprintf(f->env.uri, sizeof f->env.uri, "postgresql://");
  f->env.whp = f->env.wh;
  f->env.sql = true;
  snprintf(f->env.name, sizeof f->env.name, "t%d_%d", (int)getpid(), ++counter);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->tmp);
  int rc = system(cmd);
  free(f);
  return rc == 0 ? 0 : -1;
}

static void test_basic(void **state) { suite_basic(&((fixture *)*state)->env); }
static void test_conflict(void **state) {
  suite_conflict(&((fixture *)*state)->env);
}
static void test_race(void **state) { suite_race(&((fixture *)*state)->env); }
static void test_rename(void **state) {
  suite_rename(&((fixture *)*state)->env);
}

static PGconn *connect_db(const char *dbname) {
  char ci[128];
  snprintf(ci, sizeof ci, "dbname=%s", dbname);
  PGconn *pg = PQconnectdb(ci);
  if (PQstatus(pg) != CONNECTION_OK)
    fail_msg("connect: %s", PQerrorMessage(pg));
  return pg;
}

static void exec_ok(PGconn *pg, const char *sql) {
  PGresult *r = PQexec(pg, sql);
  ExecStatusType s = PQresultStatus(r);
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  PQclear(r);
}

/* A one-row, one-column query's value (static buffer). */
static const char *query1(PGconn *pg, const char *sql) {
  static char out[1024];
  PGresult *r = PQexec(pg, sql);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  assert_int_equal(PQntuples(r), 1);
  snprintf(out, sizeof out, "%s",
           PQgetisnull(r, 0, 0) ? "<null>" : PQgetvalue(r, 0, 0));
  PQclear(r);
  return out;
}

/* Columns and rows as Java's JdbcCatalog (V1) leaves them. */
static void test_java_rows(void **state) {
  fixture *f = *state;
  cat_env *e = &f->env;
  ice_catalog *c = env_open(e);
  floe_error err;
  char *l0 = NULL, *l1 = NULL;
  assert_int_equal(ice_catalog_create(c, "public", "orders", "a", 1, &l0, &err),
                   FLOE_OK);
  assert_int_equal(
      ice_catalog_commit(c, "public", "orders", l0, "b", 1, &l1, &err),
      FLOE_OK);
  ice_catalog_free(c);

  PGconn *pg = connect_db("postgres");
  assert_string_equal(
      query1(pg, "SELECT string_agg(column_name || ' ' || data_type || "
                 "coalesce('(' || character_maximum_length || ')', '') || ' ' "
                 "|| is_nullable, ', ' ORDER BY ordinal_position) FROM "
                 "information_schema.columns WHERE table_name = "
                 "'iceberg_tables'"),
      "catalog_name character varying(255) NO, "
      "table_namespace character varying(255) NO, "
      "table_name character varying(255) NO, "
      "metadata_location character varying(1000) YES, "
      "previous_metadata_location character varying(1000) YES, "
      "iceberg_type character varying(5) YES");
  assert_string_equal(
      query1(pg, "SELECT string_agg(column_name || ' ' || data_type || "
                 "coalesce('(' || character_maximum_length || ')', '') || ' ' "
                 "|| is_nullable, ', ' ORDER BY ordinal_position) FROM "
                 "information_schema.columns WHERE table_name = "
                 "'iceberg_namespace_properties'"),
      "catalog_name character varying(255) NO, "
      "namespace character varying(255) NO, "
      "property_key character varying(255) NO, "
      "property_value character varying(1000) YES");
  assert_string_equal(
      query1(pg, "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE "
                 "conrelid = 'iceberg_tables'::regclass AND contype = 'p'"),
      "PRIMARY KEY (catalog_name, table_namespace, table_name)");
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT concat_ws('|', catalog_name, table_namespace, table_name, "
           "metadata_location, previous_metadata_location, iceberg_type) "
           "FROM iceberg_tables WHERE catalog_name = '%s'",
           e->name);
  char want[1200];
  snprintf(want, sizeof want, "%s|public|orders|%s|%s|TABLE", e->name, l1, l0);
  assert_string_equal(query1(pg, sql), want);
  PQfinish(pg);
  free(l0);
  free(l1);
}

/* Handles opening a brand-new database at once all set it up (serialised
 * by the advisory lock); a V0 table made by older Java is left as it is. */
static void test_setup(void **state) {
  fixture *f = *state;
  cat_env *e = &f->env;
  char db[64], sql[160];
  snprintf(db, sizeof db, "floe_init_%d", (int)getpid());
  PGconn *pg = connect_db("postgres");
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
  exec_ok(pg, sql);
  snprintf(e->uri, sizeof e->uri, "dbname=%s", db);
  pid_t pids[NPROC];
  for (int i = 0; i < NPROC; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      ice_catalog *c = NULL;
      floe_error err;
      char name[16];
      snprintf(name, sizeof name, "t%d", i);
      floe_status st = ice_catalog_open(e->uri, e->whp, e->name, &c, &err);
      if (st == FLOE_OK)
        st = ice_catalog_create(c, "ns", name, "x", 1, NULL, &err);
      if (st != FLOE_OK) fprintf(stderr, "child %d: %s\n", i, err.msg);
      ice_catalog_free(c);
      _exit(st == FLOE_OK ? 0 : 1);
    }
  }
  for (int i = 0; i < NPROC; i++) {
    int status;
    assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  ice_catalog *c = env_open(e);
  ice_names names;
  floe_error err;
  assert_int_equal(ice_catalog_list_tables(c, "ns", &names, &err), FLOE_OK);
  assert_int_equal(names.n, NPROC);
  ice_names_free(&names);
  ice_catalog_free(c);

  /* V0 */
  snprintf(sql, sizeof sql, "CREATE DATABASE %s_v0", db);
  exec_ok(pg, sql);
  char v0[80];
  snprintf(v0, sizeof v0, "%s_v0", db);
  PGconn *p0 = connect_db(v0);
  exec_ok(p0, "CREATE TABLE iceberg_tables(catalog_name VARCHAR(255) NOT "
              "NULL,table_namespace VARCHAR(255) NOT NULL,table_name "
              "VARCHAR(255) NOT NULL,metadata_location VARCHAR(1000),"
              "previous_metadata_location VARCHAR(1000),PRIMARY KEY "
              "(catalog_name, table_namespace, table_name))");
  snprintf(e->uri, sizeof e->uri, "dbname=%s", v0);
  c = env_open(e);
  char *l0 = NULL, *l1 = NULL;
  if (ice_catalog_create(c, "ns", "t", "x", 1, &l0, &err) != FLOE_OK)
    fail_msg("create: %s", err.msg);
  assert_int_equal(ice_catalog_commit(c, "ns", "t", l0, "y", 1, &l1, &err),
                   FLOE_OK);
  expect_load(c, "ns", "t", "y", l1);
  ice_catalog_free(c);
  assert_string_equal(
      query1(p0, "SELECT count(*) FROM information_schema.columns WHERE "
                 "table_name = 'iceberg_tables'"),
      "5");
  snprintf(sql, sizeof sql,
           "SELECT concat_ws('|', metadata_location, "
           "previous_metadata_location) FROM iceberg_tables");
  char want[1100];
  snprintf(want, sizeof want, "%s|%s", l1, l0);
  assert_string_equal(query1(p0, sql), want);
  PQfinish(p0);
  free(l0);
  free(l1);
  snprintf(sql, sizeof sql, "DROP DATABASE %s", db);
  exec_ok(pg, sql);
  snprintf(sql, sizeof sql, "DROP DATABASE %s_v0", db);
  exec_ok(pg, sql);
  PQfinish(pg);
}

/* A connection that dies under a handle: a commit on it reports that its
 * outcome is unknown (and keeps its file, which may be referenced), the
 * next call reconnects. */
static void test_reconnect(void **state) {
  fixture *f = *state;
  cat_env *e = &f->env;
  ice_catalog *c = env_open(e);
  floe_error err;
  char *l0 = NULL;
  assert_int_equal(ice_catalog_create(c, "ns", "t", "a", 1, &l0, &err),
                   FLOE_OK);
  PGconn *pg = connect_db("postgres");
  exec_ok(pg, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
              "pid <> pg_backend_pid() AND backend_type = 'client backend'");
  usleep(100 * 1000);
  assert_int_equal(ice_catalog_commit(c, "ns", "t", l0, "b", 1, NULL, &err),
                   FLOE_EIO);
  assert_non_null(strstr(err.msg, "outcome unknown"));
  assert_int_equal(count_metadata(e, "ns", "t"), 2);
  expect_load(c, "ns", "t", "a", l0);
  char *l1 = NULL;
  assert_int_equal(ice_catalog_commit(c, "ns", "t", l0, "c", 1, &l1, &err),
                   FLOE_OK);
  expect_load(c, "ns", "t", "c", l1);
  PQfinish(pg);
  free(l0);
  free(l1);
  ice_catalog_free(c);
}

/* A bad database name is a clear error. */
static void test_bad_db(void **state) {
  fixture *f = *state;
  ice_catalog *c = NULL;
  floe_error err;
  assert_int_equal(
      ice_catalog_open("dbname=floe_no_such_db", f->env.wh, NULL, &c, &err),
      FLOE_EIO);
  assert_null(c);
  assert_non_null(strstr(err.msg, "cannot connect"));
  assert_non_null(strstr(err.msg, "floe_no_such_db"));
}

int main(void) {
  if (!getenv("FLOE_PG_TEST")) {
    printf("SKIP: FLOE_PG_TEST is not set (tests/pg/test_catalog_pg.sh sets "
           "it after starting a private server)\n");
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_basic, setup, teardown),
      cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
      cmocka_unit_test_setup_teardown(test_race, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
      cmocka_unit_test_setup_teardown(test_java_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(test_setup, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_db, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
