/* Unit tests for src/iceberg/catalog*: the filesystem and SQLite catalogs
 * (Postgres runs the same suite from tests/pg). */
#include <sqlite3.h>

#include "catalog_suite.h"

typedef struct fixture {
  char tmp[64];
  cat_env env;
} fixture;

static int setup(void **state, bool sqlite) {
  fixture *f = calloc(1, sizeof *f);
  strcpy(f->tmp, "/tmp/floe-catalog-XXXXXX");
  if (!mkdtemp(f->tmp)) return -1;
  snprintf(f->env.wh, sizeof f->env.wh, "%s/wh", f->tmp);
  if (sqlite) {
    snprintf(f->env.uri, sizeof f->env.uri, "sqlite:%s/catalog.db", f->tmp);
    f->env.whp = f->env.wh;
    f->env.sql = true;
  } else {
    snprintf(f->env.uri, sizeof f->env.uri, "file:%s", f->env.wh);
  }
  *state = f;
  return 0;
}

static int setup_fs(void **state) { return setup(state, false); }
static int setup_lite(void **state) { return setup(state, true); }

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

static void write_file(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  fclose(fp);
}

static void read_text(const char *path, char *buf, size_t n) {
  FILE *fp = fopen(path, "r");
  assert_non_null(fp);
  size_t r = fread(buf, 1, n - 1, fp);
  buf[r] = '\0';
  fclose(fp);
}

/* ---- filesystem catalog ---- */

/* The Hadoop layout byte for byte, and a stale / missing / garbled / ahead
 * version hint changes nothing. */
static void test_fs_layout_and_hint(void **state) {
  fixture *f = *state;
  cat_env *e = &f->env;
  ice_catalog *c = env_open(e);
  floe_error err;
  char *l = NULL, path[512], text[64];
  assert_int_equal(ice_catalog_create(c, "db", "t", "v1", 2, &l, &err),
                   FLOE_OK);
  snprintf(path, sizeof path, "%s/db/t/metadata/v1.metadata.json", e->wh);
  assert_string_equal(l, path);
  free(l);
  snprintf(path, sizeof path, "%s/db/t/metadata/version-hint.text", e->wh);
  read_text(path, text, sizeof text);
  assert_string_equal(text, "1");
  char exp[512];
  for (int v = 1; v < 3; v++) {
    char md[8];
    snprintf(md, sizeof md, "v%d", v + 1);
    snprintf(exp, sizeof exp, "%s/db/t/metadata/v%d.metadata.json", e->wh, v);
    assert_int_equal(
        ice_catalog_commit(c, "db", "t", exp, md, strlen(md), &l, &err),
        FLOE_OK);
    snprintf(exp, sizeof exp, "%s/db/t/metadata/v%d.metadata.json", e->wh,
             v + 1);
    assert_string_equal(l, exp);
    free(l);
  }
  read_text(path, text, sizeof text);
  assert_string_equal(text, "3");
  const char *hints[] = {"1", "2\n", "junk", "9", "", "-3", "99999999999"};
  for (size_t i = 0; i < sizeof hints / sizeof *hints; i++) {
    write_file(path, hints[i]);
    ice_catalog_table t;
    assert_int_equal(ice_catalog_load(c, "db", "t", &t, &err), FLOE_OK);
    assert_int_equal(t.version, 3);
    assert_int_equal(t.metadata.len, 2);
    assert_memory_equal(t.metadata.data, "v3", 2);
    ice_catalog_table_free(&t);
  }
  unlink(path);
  expect_load(c, "db", "t", "v3", exp);
  /* a commit based on a stale hint's version still conflicts */
  write_file(path, "1");
  snprintf(exp, sizeof exp, "%s/db/t/metadata/v2.metadata.json", e->wh);
  assert_int_equal(ice_catalog_commit(c, "db", "t", exp, "x", 1, NULL, &err),
                   FLOE_ECONFLICT);
  assert_non_null(strstr(err.msg, "version 3 is current"));
  /* a location that is not one of the table's version files */
  snprintf(exp, sizeof exp, "%s/db/t/metadata/00003-x.metadata.json", e->wh);
  assert_int_equal(ice_catalog_commit(c, "db", "t", exp, "x", 1, NULL, &err),
                   FLOE_EINVAL);
  assert_int_equal(ice_catalog_commit(c, "db", "t",
                                      "/elsewhere/v3.metadata.json", "x", 1,
                                      NULL, &err),
                   FLOE_EINVAL);
  /* even if v4 is gone again (cleanup), v2 cannot resurrect it */
  assert_int_equal(count_metadata(e, "db", "t"), 3);
  /* directories that are not tables are not listed as tables */
  snprintf(path, sizeof path, "%s/db/notatable/data", e->wh);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "mkdir -p %s", path);
  assert_int_equal(system(cmd), 0);
  ice_names names;
  assert_int_equal(ice_catalog_list_tables(c, "db", &names, &err), FLOE_OK);
  assert_int_equal(names.n, 1);
  assert_string_equal(names.v[0], "t");
  ice_names_free(&names);
  ice_catalog_free(c);
}

/* A Hadoop table written by someone else without a hint loads too. */
static void test_fs_no_hint(void **state) {
  fixture *f = *state;
  cat_env *e = &f->env;
  char cmd[600], path[512];
  snprintf(cmd, sizeof cmd, "mkdir -p %s/n/t/metadata", e->wh);
  assert_int_equal(system(cmd), 0);
  for (int v = 1; v <= 12; v++) {
    snprintf(path, sizeof path, "%s/n/t/metadata/v%d.metadata.json", e->wh, v);
    char md[8];
    snprintf(md, sizeof md, "m%d", v);
    write_file(path, md);
  }
  ice_catalog *c = env_open(e);
  expect_load(c, "n", "t", "m12", path);
  ice_catalog_free(c);
}

/* ---- SQLite ---- */

typedef struct col_info {
  const char *name, *type;
  int notnull, pk;
} col_info;

static void expect_columns(sqlite3 *db, const char *table, const col_info *cols,
                           int n) {
  char sql[128];
  snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
  sqlite3_stmt *s;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
  int i = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    assert_true(i < n);
    assert_string_equal((const char *)sqlite3_column_text(s, 1), cols[i].name);
    assert_string_equal((const char *)sqlite3_column_text(s, 2), cols[i].type);
    assert_int_equal(sqlite3_column_int(s, 3), cols[i].notnull);
    assert_int_equal(sqlite3_column_int(s, 5), cols[i].pk);
    i++;
  }
  assert_int_equal(i, n);
  sqlite3_finalize(s);
}

/* "<dir>/VVVVV-<uuid v4>.metadata.json" */
static void expect_sql_name(const char *loc, const char *dir, int version) {
  size_t dl = strlen(dir);
  assert_true(strncmp(loc, dir, dl) == 0);
  const char *p = loc + dl;
  char v[8];
  snprintf(v, sizeof v, "%05d-", version);
  assert_true(strncmp(p, v, 6) == 0);
  p += 6;
  assert_int_equal(strlen(p), 36 + 14);
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23)
      assert_int_equal(p[i], '-');
    else
      assert_non_null(strchr("0123456789abcdef", p[i]));
  }
  assert_int_equal(p[14], '4');
  assert_non_null(strchr("89ab", p[19]));
  assert_string_equal(p + 36, ".metadata.json");
}

/* The rows and tables are what Java's JdbcCatalog writes (V1 schema). */
static void test_sqlite_java_rows(void **state) {
  fixture *f = *state;
  cat_env *e = &f->env;
  strcpy(e->name, "prod");
  ice_catalog *c = env_open(e);
  floe_error err;
  char *l0 = NULL, *l1 = NULL, dir[512];
  assert_int_equal(ice_catalog_create(c, "public", "orders", "a", 1, &l0, &err),
                   FLOE_OK);
  snprintf(dir, sizeof dir, "%s/public/orders/metadata/", e->wh);
  expect_sql_name(l0, dir, 0);
  assert_int_equal(
      ice_catalog_commit(c, "public", "orders", l0, "b", 1, &l1, &err),
      FLOE_OK);
  expect_sql_name(l1, dir, 1);
  ice_catalog_table t;
  assert_int_equal(ice_catalog_load(c, "public", "orders", &t, &err), FLOE_OK);
  assert_int_equal(t.version, 1);
  ice_catalog_table_free(&t);
  ice_catalog_free(c);

  sqlite3 *db;
  char path[128];
  snprintf(path, sizeof path, "%s/catalog.db", f->tmp);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  const col_info tables[] = {
      {"catalog_name", "VARCHAR(255)", 1, 1},
      {"table_namespace", "VARCHAR(255)", 1, 2},
      {"table_name", "VARCHAR(255)", 1, 3},
      {"metadata_location", "VARCHAR(1000)", 0, 0},
      {"previous_metadata_location", "VARCHAR(1000)", 0, 0},
      {"iceberg_type", "VARCHAR(5)", 0, 0},
  };
  expect_columns(db, "iceberg_tables", tables, 6);
  const col_info props[] = {
      {"catalog_name", "VARCHAR(255)", 1, 1},
      {"namespace", "VARCHAR(255)", 1, 2},
      {"property_key", "VARCHAR(255)", 0, 3},
      {"property_value", "VARCHAR(1000)", 0, 0},
  };
  expect_columns(db, "iceberg_namespace_properties", props, 4);
  sqlite3_stmt *s;
  assert_int_equal(
      sqlite3_prepare_v2(db, "SELECT * FROM iceberg_tables", -1, &s, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_string_equal(sqlite3_column_text(s, 0), "prod");
  assert_string_equal(sqlite3_column_text(s, 1), "public");
  assert_string_equal(sqlite3_column_text(s, 2), "orders");
  assert_string_equal(sqlite3_column_text(s, 3), l1);
  assert_string_equal(sqlite3_column_text(s, 4), l0);
  assert_string_equal(sqlite3_column_text(s, 5), "TABLE");
  for (int i = 0; i < 6; i++)
    assert_int_equal(sqlite3_column_type(s, i), SQLITE_TEXT);
  assert_int_equal(sqlite3_step(s), SQLITE_DONE);
  sqlite3_finalize(s);
  sqlite3_close(db);
  free(l0);
  free(l1);

  /* a fresh table's row: previous_metadata_location NULL */
  c = env_open(e);
  assert_int_equal(ice_catalog_create(c, "public", "fresh", "a", 1, &l0, &err),
                   FLOE_OK);
  ice_catalog_free(c);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(
      sqlite3_prepare_v2(db,
                         "SELECT metadata_location, previous_metadata_location,"
                         " iceberg_type FROM iceberg_tables WHERE "
                         "table_name = 'fresh'",
                         -1, &s, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_string_equal(sqlite3_column_text(s, 0), l0);
  assert_int_equal(sqlite3_column_type(s, 1), SQLITE_NULL);
  assert_string_equal(sqlite3_column_text(s, 2), "TABLE");
  sqlite3_finalize(s);
  sqlite3_close(db);
  free(l0);
}

static void exec_sql(const char *path, const char *sql) {
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
    fail_msg("%s: %s", sql, msg);
  sqlite3_close(db);
}

/* A database made by an older Java (V0: no iceberg_type) is used as it is:
 * its tables load and commit, and the schema is not altered. Views of a V1
 * database are not tables. */
static void test_sqlite_v0_and_views(void **state) {
  fixture *f = *state;
  cat_env *e = &f->env;
  char path[128], sql[2048], md[600];
  snprintf(path, sizeof path, "%s/catalog.db", f->tmp);
  snprintf(md, sizeof md, "%s/ns/old/metadata/00007-x.metadata.json", e->wh);
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "mkdir -p %s/ns/old/metadata && printf java > %s",
           e->wh, md);
  assert_int_equal(system(cmd), 0);
  snprintf(sql, sizeof sql,
           "CREATE TABLE iceberg_tables(catalog_name VARCHAR(255) NOT NULL,"
           "table_namespace VARCHAR(255) NOT NULL,table_name VARCHAR(255) NOT "
           "NULL,metadata_location VARCHAR(1000),previous_metadata_location "
           "VARCHAR(1000),PRIMARY KEY (catalog_name, table_namespace, "
           "table_name));"
           "INSERT INTO iceberg_tables VALUES ('floe','ns','old','file:%s',"
           "NULL);",
           md);
  exec_sql(path, sql);
  ice_catalog *c = env_open(e);
  floe_error err;
  char *l = NULL;
  snprintf(sql, sizeof sql, "file:%s", md);
  expect_load(c, "ns", "old", "java", sql);
  assert_int_equal(ice_catalog_commit(c, "ns", "old", sql, "floe", 4, &l, &err),
                   FLOE_OK);
  char dir[512];
  snprintf(dir, sizeof dir, "%s/ns/old/metadata/", e->wh);
  expect_sql_name(l, dir, 8);
  expect_load(c, "ns", "old", "floe", l);
  free(l);
  ice_catalog_free(c);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_stmt *s;
  assert_int_equal(
      sqlite3_prepare_v2(db,
                         "SELECT count(*) FROM pragma_table_info("
                         "'iceberg_tables') WHERE name = 'iceberg_type'",
                         -1, &s, NULL),
      SQLITE_OK);
  assert_int_equal(sqlite3_step(s), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(s, 0), 0);
  sqlite3_finalize(s);
  sqlite3_close(db);

  /* V1 with a view: not loadable, not listed, its name is taken */
  exec_sql(path, "ALTER TABLE iceberg_tables ADD COLUMN iceberg_type "
                 "VARCHAR(5);"
                 "INSERT INTO iceberg_tables VALUES ('floe','ns','v',"
                 "'/x/v.metadata.json',NULL,'VIEW');");
  c = env_open(e);
  ice_catalog_table t;
  assert_int_equal(ice_catalog_load(c, "ns", "v", &t, &err), FLOE_ENOTFOUND);
  ice_names names;
  assert_int_equal(ice_catalog_list_tables(c, "ns", &names, &err), FLOE_OK);
  assert_int_equal(names.n, 1);
  assert_string_equal(names.v[0], "old");
  ice_names_free(&names);
  assert_int_equal(ice_catalog_create(c, "ns", "v", "x", 1, NULL, &err),
                   FLOE_EEXIST);
  assert_int_equal(count_metadata(e, "ns", "v"), 0);
  assert_int_equal(ice_catalog_drop(c, "ns", "v", false, &err), FLOE_ENOTFOUND);
  /* another catalog name sees none of it */
  strcpy(e->name, "other");
  ice_catalog *o = env_open(e);
  assert_int_equal(ice_catalog_list_namespaces(o, &names, &err), FLOE_OK);
  assert_int_equal(names.n, 0);
  ice_names_free(&names);
  assert_int_equal(ice_catalog_load(o, "ns", "old", &t, &err), FLOE_ENOTFOUND);
  ice_catalog_free(o);
  /* namespaces known only by their properties exist (empty) */
  exec_sql(path, "INSERT INTO iceberg_namespace_properties VALUES "
                 "('floe','empty','exists','true');");
  assert_int_equal(ice_catalog_list_tables(c, "empty", &names, &err), FLOE_OK);
  assert_int_equal(names.n, 0);
  assert_int_equal(ice_catalog_list_namespaces(c, &names, &err), FLOE_OK);
  assert_int_equal(names.n, 2);
  assert_string_equal(names.v[0], "empty");
  assert_string_equal(names.v[1], "ns");
  ice_names_free(&names);
  ice_catalog_free(c);
}

/* A SQL row whose metadata file is outside the warehouse is refused on load
 * with a clear error, not read from wherever it points. */
static void test_sqlite_outside_warehouse(void **state) {
  fixture *f = *state;
  cat_env *e = &f->env;
  ice_catalog *c = env_open(e);
  ice_catalog_free(c);
  char path[128];
  snprintf(path, sizeof path, "%s/catalog.db", f->tmp);
  exec_sql(path, "INSERT INTO iceberg_tables VALUES ('floe','ns','t',"
                 "'/etc/passwd',NULL,'TABLE');");
  c = env_open(e);
  ice_catalog_table t;
  floe_error err;
  assert_int_equal(ice_catalog_load(c, "ns", "t", &t, &err), FLOE_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "outside the warehouse"));
  assert_int_equal(
      ice_catalog_commit(c, "ns", "t", "/etc/passwd", "x", 1, NULL, &err),
      FLOE_EUNSUPPORTED);
  /* a row whose file is gone is damage, not a missing table */
  char *l = NULL;
  assert_int_equal(ice_catalog_create(c, "ns", "gone", "x", 1, &l, &err),
                   FLOE_OK);
  assert_int_equal(unlink(l), 0);
  assert_int_equal(ice_catalog_load(c, "ns", "gone", &t, &err), FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "is missing"));
  free(l);
  ice_catalog_free(c);
}

/* ---- URIs ---- */

static void expect_open_fails(const char *uri, const char *wh, floe_status code,
                              const char *text) {
  ice_catalog *c = (ice_catalog *)1;
  floe_error err;
  floe_status st = ice_catalog_open(uri, wh, NULL, &c, &err);
  if (st != code)
    fail_msg("%s: status %d (%s), want %d", uri, st, st ? err.msg : "ok", code);
  assert_null(c);
  if (!strstr(err.msg, text))
    fail_msg("%s: message '%s' lacks '%s'", uri, err.msg, text);
}

static void test_uris(void **state) {
  fixture *f = *state;
  char wh[128], uri[256];
  snprintf(wh, sizeof wh, "%s/wh", f->tmp);
  expect_open_fails("", NULL, FLOE_EINVAL, "empty catalog URI");
  expect_open_fails("s3://bucket/wh", NULL, FLOE_EUNSUPPORTED,
                    "unsupported scheme 's3:'");
  expect_open_fails("hive://x", wh, FLOE_EUNSUPPORTED, "scheme 'hive:'");
  expect_open_fails("file://otherhost/wh", NULL, FLOE_EINVAL,
                    "only local file: URIs");
  expect_open_fails("file:", NULL, FLOE_EINVAL, "empty path");
  snprintf(uri, sizeof uri, "sqlite:%s/x.db", f->tmp);
  expect_open_fails(uri, NULL, FLOE_EINVAL, "needs a warehouse directory");
  expect_open_fails("sqlite:", wh, FLOE_EINVAL, "empty database path");
  expect_open_fails("sqlite://host/x.db", wh, FLOE_EINVAL,
                    "want sqlite:/path/file.db");
  expect_open_fails("sqlite:/nonexistent-floe-dir/x.db", wh, FLOE_EIO,
                    "unable to open database file");
  expect_open_fails(uri, "s3://b/wh", FLOE_EINVAL, "only local directories");
  snprintf(wh, sizeof wh, "%s/x.db", f->tmp);
  assert_false(path_exists(wh));
  snprintf(wh, sizeof wh, "%s/wh", f->tmp);
  /* not a database */
  snprintf(uri, sizeof uri, "%s/junk.db", f->tmp);
  write_file(uri, "this is not an sqlite database, not at all, no sir...");
  snprintf(uri, sizeof uri, "sqlite:%s/junk.db", f->tmp);
  expect_open_fails(uri, wh, FLOE_EIO, "file is not a database");
  snprintf(uri, sizeof uri, "%s/other", f->tmp);
  expect_open_fails(uri, wh, FLOE_EINVAL, "is its own warehouse");
  /* nothing listens on port 1; the password is not echoed */
  expect_open_fails("postgresql://u:secretpw@127.0.0.1:1/db", wh, FLOE_EIO,
                    "cannot connect");
  {
    ice_catalog *c = NULL;
    floe_error err;
    ice_catalog_open("postgresql://u:secretpw@127.0.0.1:1/db", wh, NULL, &c,
                     &err);
    assert_null(strstr(err.msg, "secretpw"));
  }
  expect_open_fails("host=127.0.0.1 port=1 dbname=x", wh, FLOE_EIO,
                    "cannot connect");
  snprintf(uri, sizeof uri, "sqlite:%s/c.db", f->tmp);
  {
    ice_catalog *c = NULL;
    floe_error err;
    assert_int_equal(ice_catalog_open(uri, wh, "bad/name", &c, &err),
                     FLOE_EINVAL);
    assert_null(c);
  }

  /* the accepted spellings, and where each puts the warehouse */
  const char *ok[] = {"file:%s/wh", "file://%s/wh", "%s/wh/", "file:%s/wh//"};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    snprintf(uri, sizeof uri, ok[i], f->tmp);
    ice_catalog *c = NULL;
    floe_error err;
    if (ice_catalog_open(uri, NULL, NULL, &c, &err) != FLOE_OK)
      fail_msg("%s: %s", uri, err.msg);
    assert_string_equal(c->kind, "file");
    assert_string_equal(c->warehouse, wh);
    ice_catalog_free(c);
  }
  snprintf(uri, sizeof uri, "sqlite://%s/c.db", f->tmp);
  ice_catalog *c = NULL;
  floe_error err;
  char fw[160];
  snprintf(fw, sizeof fw, "file:%s/", wh);
  assert_int_equal(ice_catalog_open(uri, fw, NULL, &c, &err), FLOE_OK);
  assert_string_equal(c->kind, "sqlite");
  assert_string_equal(c->warehouse, wh);
  ice_catalog_free(c);
  snprintf(uri, sizeof uri, "%s/c.db", f->tmp);
  assert_true(path_exists(uri));
  /* relative paths resolve against the working directory */
  char cwd[256];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(f->tmp), 0);
  assert_int_equal(ice_catalog_open("sqlite:rel.db", "relwh", "cat", &c, &err),
                   FLOE_OK);
  char want[200];
  snprintf(want, sizeof want, "%s/relwh", f->tmp);
  /* mkdtemp under /tmp: no symlinks to resolve */
  assert_string_equal(c->warehouse, want);
  ice_catalog_free(c);
  assert_int_equal(ice_catalog_open("relfs", NULL, NULL, &c, &err), FLOE_OK);
  snprintf(want, sizeof want, "%s/relfs", f->tmp);
  assert_string_equal(c->warehouse, want);
  ice_catalog_free(c);
  assert_int_equal(chdir(cwd), 0);
  snprintf(uri, sizeof uri, "%s/rel.db", f->tmp);
  assert_true(path_exists(uri));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_basic, setup_fs, teardown),
      cmocka_unit_test_setup_teardown(test_conflict, setup_fs, teardown),
      cmocka_unit_test_setup_teardown(test_race, setup_fs, teardown),
      cmocka_unit_test_setup_teardown(test_rename, setup_fs, teardown),
      cmocka_unit_test_setup_teardown(test_fs_layout_and_hint, setup_fs,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_fs_no_hint, setup_fs, teardown),
      cmocka_unit_test_setup_teardown(test_basic, setup_lite, teardown),
      cmocka_unit_test_setup_teardown(test_conflict, setup_lite, teardown),
      cmocka_unit_test_setup_teardown(test_race, setup_lite, teardown),
      cmocka_unit_test_setup_teardown(test_rename, setup_lite, teardown),
      cmocka_unit_test_setup_teardown(test_sqlite_java_rows, setup_lite,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sqlite_v0_and_views, setup_lite,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_sqlite_outside_warehouse, setup_lite,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_uris, setup_fs, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
