/*
 * The SQL catalog: the tables and statements of Iceberg Java's JdbcCatalog
 * (org.apache.iceberg.jdbc.JdbcUtil), on SQLite (embedded) or Postgres
 * (libpq), so Java engines configured with the same database, warehouse and
 * catalog name see floe's tables and floe sees theirs.
 *
 *   iceberg_tables(catalog_name, table_namespace, table_name,
 *                  metadata_location, previous_metadata_location
 *                  [, iceberg_type])
 *   iceberg_namespace_properties(catalog_name, namespace, property_key,
 *                                property_value)
 *
 * A missing iceberg_tables is created with Java's V0 DDL followed by its V1
 * upgrade (ALTER TABLE ... ADD COLUMN iceberg_type VARCHAR(5)), i.e. what
 * JdbcCatalog with jdbc.schema-version=V1 leaves behind; an existing V0 table
 * (no iceberg_type) is used as it is, never altered. Rows floe inserts carry
 * iceberg_type 'TABLE' under V1, and previous_metadata_location NULL on
 * create, as Java's.
 *
 * Metadata files are <location>/metadata/<VVVVV>-<uuid>.metadata.json, V the
 * previous file's version + 1 (0 for a new table), zero-padded to 5 digits
 * as Java's "%05d". A commit writes its file first (unique name), then runs
 *   UPDATE iceberg_tables SET metadata_location = new,
 *          previous_metadata_location = old
 *    WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?
 *      AND metadata_location = old
 * in autocommit: one row changed means it won; none means another commit
 * won (FLOE_ECONFLICT) and the unreferenced file is deleted again. Every
 * user value is a bound parameter; the statements are constant text.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "iceberg/catalog.h"

#define MD_SUFFIX ".metadata.json"
#define KEY_MAX 1024
#define STMT_CACHE 24

typedef enum db_kind { DB_SQLITE, DB_PG } db_kind;

typedef struct sql_catalog {
  ice_catalog base;
  db_kind db;
  sqlite3 *lite;
  PGconn *pg;
  char *name; /* catalog_name */
  bool v1;    /* iceberg_tables has iceberg_type */
  /* SQLite statements prepared once, keyed by their (constant) text */
  int nstmt;
  const char *stmt_sql[STMT_CACHE];
  sqlite3_stmt *stmt[STMT_CACHE];
} sql_catalog;

/* Result rows: ncols cells per row, each malloc'd text or NULL (SQL NULL). */
typedef struct rows {
  int n, ncols, cap;
  char **cells;
} rows;

static void rows_free(rows *r) {
  for (int i = 0; i < r->n * r->ncols; i++) free(r->cells[i]);
  free(r->cells);
  r->cells = NULL;
  r->n = r->cap = 0;
}

static const char *cell(const rows *r, int row, int col) {
  return r->cells[row * r->ncols + col];
}

static floe_status rows_add(rows *r, int ncols, const char *const *vals,
                            floe_error *err) {
  if (r->n == 0) r->ncols = ncols;
  if (r->n == r->cap) {
    int ncap = r->cap ? r->cap * 2 : 8;
    size_t bytes = (size_t)ncap * (size_t)ncols * sizeof(char *);
    char **c = realloc(r->cells, bytes);
    if (!c) return ferr_nomem(err, bytes);
    r->cells = c;
    r->cap = ncap;
  }
  char **row = r->cells + (size_t)r->n * (size_t)ncols;
  for (int i = 0; i < ncols; i++) {
    row[i] = NULL;
    if (vals[i] && !(row[i] = strdup(vals[i]))) {
      for (int j = 0; j < i; j++) free(row[j]);
      return ferr_nomem(err, strlen(vals[i]) + 1);
    }
  }
  r->n++;
  return FLOE_OK;
}

/* ---- the two drivers behind one call ---- */

typedef struct run_out {
  rows *rows;      /* NULL: result rows are not wanted */
  int64_t changes; /* rows changed by INSERT/UPDATE/DELETE */
  bool unknown;    /* the statement may or may not have taken effect */
} run_out;

static floe_status lite_stmt(sql_catalog *c, const char *sql,
                             sqlite3_stmt **out, floe_error *err) {
  for (int i = 0; i < c->nstmt; i++)
    if (c->stmt_sql[i] == sql) {
      *out = c->stmt[i];
      return FLOE_OK;
    }
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(c->lite, sql, -1, &s, NULL) != SQLITE_OK)
    return ferr_set(err, FLOE_EIO, "sqlite catalog: %s",
                    sqlite3_errmsg(c->lite));
  if (c->nstmt < STMT_CACHE) {
    c->stmt_sql[c->nstmt] = sql;
    c->stmt[c->nstmt++] = s;
  } else {
    sqlite3_finalize(s);
    return ferr_set(err, FLOE_ENOMEM, "sqlite catalog: statement cache full");
  }
  *out = s;
  return FLOE_OK;
}

static floe_status lite_error(sql_catalog *c, int rc, floe_error *err) {
  int base = rc & 0xff;
  if (base == SQLITE_CONSTRAINT)
    return ferr_set(err, FLOE_EEXIST, "sqlite catalog: %s",
                    sqlite3_errmsg(c->lite));
  return ferr_set(err, FLOE_EIO, "sqlite catalog: %s (%s)",
                  sqlite3_errmsg(c->lite), sqlite3_errstr(rc));
}

static floe_status lite_run(sql_catalog *c, const char *sql, int np,
                            const char *const *params, run_out *out,
                            floe_error *err) {
  sqlite3_stmt *s = NULL;
  FLOE_TRY(lite_stmt(c, sql, &s, err));
  floe_status st = FLOE_OK;
  for (int i = 0; i < np && st == FLOE_OK; i++) {
    int rc = params[i]
                 ? sqlite3_bind_text(s, i + 1, params[i], -1, SQLITE_TRANSIENT)
                 : sqlite3_bind_null(s, i + 1);
    if (rc != SQLITE_OK) st = lite_error(c, rc, err);
  }
  while (st == FLOE_OK) {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      st = lite_error(c, rc, err);
      break;
    }
    if (!out->rows) continue;
    int nc = sqlite3_column_count(s);
    const char *vals[8];
    if (nc > 8) nc = 8;
    for (int i = 0; i < nc; i++)
      vals[i] = (const char *)sqlite3_column_text(s, i);
    st = rows_add(out->rows, nc, vals, err);
  }
  if (st == FLOE_OK) out->changes = sqlite3_changes(c->lite);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return st;
}

/* "?" placeholders to "$n" (the statements are constants without quoted
 * question marks). */
static floe_status pg_sql(const char *sql, fbuf *b, floe_error *err) {
  int n = 0;
  for (const char *p = sql; *p; p++) {
    if (*p == '?')
      FLOE_TRY(fbuf_printf(b, err, "$%d", ++n));
    else
      FLOE_TRY(fbuf_put_u8(b, (uint8_t)*p, err));
  }
  return fbuf_put_u8(b, 0, err);
}

static floe_status pg_error(sql_catalog *c, PGresult *res, run_out *out,
                            floe_error *err) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  char msg[FLOE_ERROR_MSG_MAX];
  snprintf(msg, sizeof msg, "%s",
           res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
  size_t n = strlen(msg);
  while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
  /* A server-reported error rolled the statement back; a broken connection
   * leaves its fate unknown. */
  if (!state || PQstatus(c->pg) != CONNECTION_OK) out->unknown = true;
  floe_status code =
      state && strcmp(state, "23505") == 0 ? FLOE_EEXIST : FLOE_EIO;
  return ferr_set(err, code, "postgres catalog: %s%s%s%s", msg,
                  state ? " (SQLSTATE " : "", state ? state : "",
                  state ? ")" : "");
}

static floe_status pg_run(sql_catalog *c, const char *sql, int np,
                          const char *const *params, run_out *out,
                          floe_error *err) {
  /* A long-lived handle outlives server restarts: reconnect once. Every
   * statement outside setup runs in autocommit, so nothing is lost. */
  if (PQstatus(c->pg) == CONNECTION_BAD) PQreset(c->pg);
  fbuf text = FBUF_INIT;
  floe_status st = pg_sql(sql, &text, err);
  if (st != FLOE_OK) {
    fbuf_free(&text);
    return st;
  }
  PGresult *res = PQexecParams(c->pg, (const char *)text.data, np, NULL, params,
                               NULL, NULL, 0);
  fbuf_free(&text);
  ExecStatusType es = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (es != PGRES_COMMAND_OK && es != PGRES_TUPLES_OK) {
    st = pg_error(c, res, out, err);
    PQclear(res);
    return st;
  }
  if (out->rows && es == PGRES_TUPLES_OK) {
    int nc = PQnfields(res);
    if (nc > 8) nc = 8;
    for (int r = 0; r < PQntuples(res) && st == FLOE_OK; r++) {
      const char *vals[8];
      for (int i = 0; i < nc; i++)
        vals[i] = PQgetisnull(res, r, i) ? NULL : PQgetvalue(res, r, i);
      st = rows_add(out->rows, nc, vals, err);
    }
  }
  const char *t = PQcmdTuples(res);
  out->changes = t && *t ? strtoll(t, NULL, 10) : 0;
  PQclear(res);
  return st;
}

/* Runs one statement with text parameters (NULL = SQL NULL). */
static floe_status db_run(sql_catalog *c, const char *sql, int np,
                          const char *const *params, run_out *out,
                          floe_error *err) {
  run_out ignored = {NULL, 0, false};
  if (!out) out = &ignored;
  out->changes = 0;
  out->unknown = false;
  return c->db == DB_SQLITE ? lite_run(c, sql, np, params, out, err)
                            : pg_run(c, sql, np, params, out, err);
}

/* Does the query return a row? */
static floe_status db_exists(sql_catalog *c, const char *sql, int np,
                             const char *const *params, bool *found,
                             floe_error *err) {
  rows r = {0, 0, 0, NULL};
  run_out o = {&r, 0, false};
  floe_status st = db_run(c, sql, np, params, &o, err);
  *found = r.n > 0;
  rows_free(&r);
  return st;
}

/* ---- statements (JdbcUtil's, column for column) ---- */

#define IS_TABLE " AND (iceberg_type = 'TABLE' OR iceberg_type IS NULL)"
#define IDENT_WHERE                                                            \
  " WHERE catalog_name = ? AND table_namespace = ? AND table_name = ?"

static const char SQL_V0_CREATE_TABLES[] =
    "CREATE TABLE iceberg_tables(catalog_name VARCHAR(255) NOT NULL,"
    "table_namespace VARCHAR(255) NOT NULL,"
    "table_name VARCHAR(255) NOT NULL,"
    "metadata_location VARCHAR(1000),"
    "previous_metadata_location VARCHAR(1000),"
    "PRIMARY KEY (catalog_name, table_namespace, table_name))";
static const char SQL_V1_UPGRADE[] =
    "ALTER TABLE iceberg_tables ADD COLUMN iceberg_type VARCHAR(5)";
static const char SQL_CREATE_NS_PROPS[] =
    "CREATE TABLE iceberg_namespace_properties("
    "catalog_name VARCHAR(255) NOT NULL,"
    "namespace VARCHAR(255) NOT NULL,"
    "property_key VARCHAR(255),"
    "property_value VARCHAR(1000),"
    "PRIMARY KEY (catalog_name, namespace, property_key))";

static const char LITE_HAS_TABLE[] =
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?";
static const char LITE_HAS_TYPE[] =
    "SELECT 1 FROM pragma_table_info('iceberg_tables') "
    "WHERE name = 'iceberg_type'";
static const char PG_HAS_TABLE[] = "SELECT 1 WHERE to_regclass(?) IS NOT NULL";
static const char PG_HAS_TYPE[] =
    "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('iceberg_tables')"
    " AND attname = 'iceberg_type' AND NOT attisdropped";
/* Serialises first-time setup between processes (an arbitrary constant). */
static const char PG_INIT_LOCK[] =
    "SELECT pg_advisory_xact_lock(7306132585112379205)";

static const char SQL_INSERT_V1[] =
    "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, "
    "metadata_location, previous_metadata_location, iceberg_type) "
    " VALUES (?,?,?,?,null,'TABLE')";
static const char SQL_INSERT_V0[] =
    "INSERT INTO iceberg_tables (catalog_name, table_namespace, table_name, "
    "metadata_location, previous_metadata_location) "
    " VALUES (?,?,?,?,null)";
static const char SQL_GET_V1[] =
    "SELECT metadata_location FROM iceberg_tables" IDENT_WHERE IS_TABLE;
static const char SQL_GET_V0[] =
    "SELECT metadata_location FROM iceberg_tables" IDENT_WHERE;
static const char SQL_COMMIT_V1[] =
    "UPDATE iceberg_tables SET metadata_location = ? , "
    "previous_metadata_location = ?" IDENT_WHERE
    " AND metadata_location = ?" IS_TABLE;
static const char SQL_COMMIT_V0[] =
    "UPDATE iceberg_tables SET metadata_location = ? , "
    "previous_metadata_location = ?" IDENT_WHERE " AND metadata_location = ?";
static const char SQL_LIST_V1[] =
    "SELECT table_name FROM iceberg_tables WHERE catalog_name = ? AND "
    "table_namespace = ?" IS_TABLE;
static const char SQL_LIST_V0[] =
    "SELECT table_name FROM iceberg_tables WHERE catalog_name = ? AND "
    "table_namespace = ?";
static const char SQL_NS_IN_TABLES[] =
    "SELECT 1 FROM iceberg_tables WHERE catalog_name = ? AND "
    "table_namespace = ? LIMIT 1";
static const char SQL_NS_IN_PROPS[] =
    "SELECT 1 FROM iceberg_namespace_properties WHERE catalog_name = ? AND "
    "namespace = ? LIMIT 1";
static const char SQL_ALL_NS_TABLES[] =
    "SELECT DISTINCT table_namespace FROM iceberg_tables WHERE "
    "catalog_name = ?";
static const char SQL_ALL_NS_PROPS[] =
    "SELECT DISTINCT namespace FROM iceberg_namespace_properties WHERE "
    "catalog_name = ?";
static const char SQL_DROP_V1[] =
    "DELETE FROM iceberg_tables" IDENT_WHERE IS_TABLE
    " RETURNING metadata_location";
static const char SQL_DROP_V0[] =
    "DELETE FROM iceberg_tables" IDENT_WHERE " RETURNING metadata_location";
static const char SQL_RENAME_V1[] =
    "UPDATE iceberg_tables SET table_namespace = ?, table_name = ?" IDENT_WHERE
        IS_TABLE;
static const char SQL_RENAME_V0[] =
    "UPDATE iceberg_tables SET table_namespace = ?, table_name = ?" IDENT_WHERE;

/* ---- helpers ---- */

/* A random (version 4) UUID in canonical text. */
static floe_status random_uuid(char out[37], floe_error *err) {
  uint8_t b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t r = getrandom(b + got, sizeof b - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ferr_set(err, FLOE_EIO, "getrandom: %s", strerror(errno));
    got += (size_t)r;
  }
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
  static const char hex[] = "0123456789abcdef";
  int o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  out[o] = '\0';
  return FLOE_OK;
}

/* Java's parseVersion: the digits between the last '/' and the next '-';
 * -1 when that is not a number. */
static int64_t parse_version(const char *loc) {
  const char *s = strrchr(loc, '/');
  s = s ? s + 1 : loc;
  const char *e = strchr(s, '-');
  if (!e || e == s || e - s > 10) return -1;
  int64_t v = 0;
  for (const char *p = s; p < e; p++) {
    if (*p < '0' || *p > '9') return -1;
    v = v * 10 + (*p - '0');
  }
  return v <= INT32_MAX ? v : -1;
}

/* Writes md as "<dir>/<VVVVV>-<uuid>.metadata.json" (dir a store key);
 * *key and *location are malloc'd. */
static floe_status write_metadata(sql_catalog *c, const char *dir,
                                  int64_t version, const void *md, size_t n,
                                  char **key, char **location,
                                  floe_error *err) {
  char uuid[37], k[KEY_MAX];
  FLOE_TRY(random_uuid(uuid, err));
  if ((size_t)snprintf(k, sizeof k, "%s/%05lld-%s" MD_SUFFIX, dir,
                       (long long)version, uuid) >= sizeof k)
    return ferr_set(err, FLOE_EINVAL, "metadata path too long under %s", dir);
  FLOE_TRY(fstore_put_if_absent(c->base.store, k, md, n, err));
  fbuf b = FBUF_INIT;
  const char *w = strcmp(c->base.warehouse, "/") == 0 ? "" : c->base.warehouse;
  floe_status st = fbuf_printf(&b, err, "%s/%s", w, k);
  if (st == FLOE_OK) st = fbuf_put_u8(&b, 0, err);
  if (st == FLOE_OK && !(*key = strdup(k))) st = ferr_nomem(err, sizeof k);
  if (st != FLOE_OK) {
    fbuf_free(&b);
    floe_error ignored;
    (void)fstore_del(c->base.store, k, &ignored);
    return st;
  }
  *location = (char *)fbuf_take(&b);
  return FLOE_OK;
}

static void delete_key(sql_catalog *c, const char *key) {
  floe_error ignored;
  (void)fstore_del(c->base.store, key, &ignored);
}

/* The current metadata location (malloc'd) or FLOE_ENOTFOUND. */
static floe_status get_location(sql_catalog *c, const char *ns,
                                const char *name, char **out, floe_error *err) {
  const char *p[] = {c->name, ns, name};
  rows r = {0, 0, 0, NULL};
  run_out o = {&r, 0, false};
  floe_status st = db_run(c, c->v1 ? SQL_GET_V1 : SQL_GET_V0, 3, p, &o, err);
  if (st == FLOE_OK && (r.n == 0 || !cell(&r, 0, 0)))
    st = ferr_set(err, FLOE_ENOTFOUND, "table %s.%s does not exist", ns, name);
  if (st == FLOE_OK && !(*out = strdup(cell(&r, 0, 0))))
    st = ferr_nomem(err, strlen(cell(&r, 0, 0)) + 1);
  rows_free(&r);
  return st;
}

/* ---- operations ---- */

static floe_status sql_create(ice_catalog *base, const char *ns,
                              const char *name, const void *md, size_t n,
                              char **location, floe_error *err) {
  sql_catalog *c = (sql_catalog *)base;
  char *cur = NULL;
  floe_status st = get_location(c, ns, name, &cur, err);
  free(cur);
  if (st == FLOE_OK)
    return ferr_set(err, FLOE_EEXIST, "table %s.%s already exists", ns, name);
  if (st != FLOE_ENOTFOUND) return st;
  char dir[KEY_MAX], *key = NULL;
  snprintf(dir, sizeof dir, "%s/%s/metadata", ns, name);
  FLOE_TRY(write_metadata(c, dir, 0, md, n, &key, location, err));
  const char *p[] = {c->name, ns, name, *location};
  run_out o = {NULL, 0, false};
  st = db_run(c, c->v1 ? SQL_INSERT_V1 : SQL_INSERT_V0, 4, p, &o, err);
  if (st == FLOE_EEXIST)
    st = ferr_set(err, FLOE_EEXIST, "table %s.%s already exists", ns, name);
  if (st != FLOE_OK && !o.unknown) delete_key(c, key);
  if (st != FLOE_OK && o.unknown)
    ferr_prefix(err, st, "create %s.%s: outcome unknown, %s kept", ns, name,
                *location);
  free(key);
  return st;
}

static floe_status sql_load(ice_catalog *base, const char *ns, const char *name,
                            ice_catalog_table *out, floe_error *err) {
  sql_catalog *c = (sql_catalog *)base;
  FLOE_TRY(get_location(c, ns, name, &out->metadata_location, err));
  char *key = NULL;
  floe_status st = ice_catalog_key(base, out->metadata_location, &key, err);
  if (st == FLOE_OK)
    st = fstore_get_all(base->store, key, ICE_CATALOG_MAX_METADATA,
                        &out->metadata, err);
  free(key);
  /* the row exists: a missing file is damage, not a missing table */
  if (st == FLOE_ENOTFOUND)
    return ferr_set(err, FLOE_ECORRUPT,
                    "load %s.%s: current metadata file %s is missing", ns, name,
                    out->metadata_location);
  if (st != FLOE_OK) return ferr_prefix(err, st, "load %s.%s", ns, name);
  out->version = parse_version(out->metadata_location);
  return FLOE_OK;
}

static floe_status sql_commit(ice_catalog *base, const char *ns,
                              const char *name, const char *expected,
                              const void *md, size_t n, char **location,
                              floe_error *err) {
  sql_catalog *c = (sql_catalog *)base;
  char *key = NULL;
  FLOE_TRY(ice_catalog_key(base, expected, &key, err));
  char *slash = strrchr(key, '/');
  if (!slash) {
    free(key);
    return ferr_set(err, FLOE_EINVAL, "commit %s.%s: bad metadata location %s",
                    ns, name, expected);
  }
  *slash = '\0'; /* the new file goes beside the one it replaces */
  int64_t v = parse_version(expected);
  char *newkey = NULL;
  floe_status st =
      write_metadata(c, key, v < 0 ? 0 : v + 1, md, n, &newkey, location, err);
  free(key);
  if (st != FLOE_OK) return st;
  const char *p[] = {*location, expected, c->name, ns, name, expected};
  run_out o = {NULL, 0, false};
  st = db_run(c, c->v1 ? SQL_COMMIT_V1 : SQL_COMMIT_V0, 6, p, &o, err);
  if (st == FLOE_OK && o.changes == 0) {
    char *cur = NULL;
    floe_error why;
    st = get_location(c, ns, name, &cur, &why);
    if (st == FLOE_ENOTFOUND)
      st = ferr_set(err, FLOE_ENOTFOUND,
                    "commit %s.%s: the table no longer exists", ns, name);
    else if (st == FLOE_OK)
      st = ferr_set(err, FLOE_ECONFLICT,
                    "commit %s.%s: based on %s but %s is current", ns, name,
                    expected, cur);
    else if (err)
      *err = why;
    free(cur);
  }
  if (st != FLOE_OK) {
    if (o.unknown)
      ferr_prefix(err, st, "commit %s.%s: outcome unknown, %s kept", ns, name,
                  *location);
    else
      delete_key(c, newkey);
    free(*location);
    *location = NULL;
  }
  free(newkey);
  return st;
}

static floe_status sql_list_tables(ice_catalog *base, const char *ns,
                                   ice_names *out, floe_error *err) {
  sql_catalog *c = (sql_catalog *)base;
  const char *p[] = {c->name, ns};
  rows r = {0, 0, 0, NULL};
  run_out o = {&r, 0, false};
  floe_status st = db_run(c, c->v1 ? SQL_LIST_V1 : SQL_LIST_V0, 2, p, &o, err);
  for (int i = 0; st == FLOE_OK && i < r.n; i++)
    if (cell(&r, i, 0)) st = ice_names_push(out, cell(&r, i, 0), err);
  rows_free(&r);
  if (st != FLOE_OK || out->n > 0) return st;
  /* Empty: is there such a namespace (a view, or namespace properties)? */
  bool found;
  FLOE_TRY(db_exists(c, SQL_NS_IN_TABLES, 2, p, &found, err));
  if (!found) FLOE_TRY(db_exists(c, SQL_NS_IN_PROPS, 2, p, &found, err));
  if (!found)
    return ferr_set(err, FLOE_ENOTFOUND, "namespace %s does not exist", ns);
  return FLOE_OK;
}

static floe_status sql_list_namespaces(ice_catalog *base, ice_names *out,
                                       floe_error *err) {
  sql_catalog *c = (sql_catalog *)base;
  const char *p[] = {c->name};
  const char *queries[] = {SQL_ALL_NS_TABLES, SQL_ALL_NS_PROPS};
  floe_status st = FLOE_OK;
  for (int q = 0; q < 2 && st == FLOE_OK; q++) {
    rows r = {0, 0, 0, NULL};
    run_out o = {&r, 0, false};
    st = db_run(c, queries[q], 1, p, &o, err);
    for (int i = 0; st == FLOE_OK && i < r.n; i++)
      if (cell(&r, i, 0)) st = ice_names_push(out, cell(&r, i, 0), err);
    rows_free(&r);
  }
  return st;
}

static floe_status sql_drop(ice_catalog *base, const char *ns, const char *name,
                            bool purge, floe_error *err) {
  sql_catalog *c = (sql_catalog *)base;
  const char *p[] = {c->name, ns, name};
  rows r = {0, 0, 0, NULL};
  run_out o = {&r, 0, false};
  floe_status st = db_run(c, c->v1 ? SQL_DROP_V1 : SQL_DROP_V0, 3, p, &o, err);
  if (st == FLOE_OK && r.n == 0)
    st = ferr_set(err, FLOE_ENOTFOUND, "table %s.%s does not exist", ns, name);
  char *key = NULL;
  if (st == FLOE_OK && purge && cell(&r, 0, 0)) {
    /* the table's location: the metadata file's directory's parent */
    st = ice_catalog_key(base, cell(&r, 0, 0), &key, err);
    char *s1 = st == FLOE_OK ? strrchr(key, '/') : NULL;
    if (s1) *s1 = '\0';
    char *s2 = s1 ? strrchr(key, '/') : NULL;
    if (st == FLOE_OK && (!s2 || strcmp(s2 + 1, "metadata") != 0))
      st = ferr_set(err, FLOE_EUNSUPPORTED,
                    "%s is not in a metadata/ directory; not purging",
                    cell(&r, 0, 0));
    if (st == FLOE_OK) {
      *s2 = '\0';
      st = ice_catalog_purge(base, key, err);
    }
    if (st != FLOE_OK)
      ferr_prefix(err, st, "dropped %s.%s but could not purge its files", ns,
                  name);
  }
  free(key);
  rows_free(&r);
  return st;
}

static floe_status sql_rename(ice_catalog *base, const char *ns,
                              const char *name, const char *to_ns,
                              const char *to_name, floe_error *err) {
  sql_catalog *c = (sql_catalog *)base;
  const char *p[] = {to_ns, to_name, c->name, ns, name};
  run_out o = {NULL, 0, false};
  floe_status st =
      db_run(c, c->v1 ? SQL_RENAME_V1 : SQL_RENAME_V0, 5, p, &o, err);
  if (st == FLOE_EEXIST)
    return ferr_set(err, FLOE_EEXIST, "rename %s.%s: %s.%s already exists", ns,
                    name, to_ns, to_name);
  if (st == FLOE_OK && o.changes == 0)
    return ferr_set(err, FLOE_ENOTFOUND, "table %s.%s does not exist", ns,
                    name);
  return st;
}

static void sql_free(ice_catalog *base) {
  sql_catalog *c = (sql_catalog *)base;
  for (int i = 0; i < c->nstmt; i++) sqlite3_finalize(c->stmt[i]);
  if (c->lite) sqlite3_close(c->lite);
  if (c->pg) PQfinish(c->pg);
  free(c->name);
  ice_catalog_free_base(base);
  free(c);
}

static const ice_catalog_ops sql_ops = {
    sql_create,          sql_load, sql_commit, sql_list_tables,
    sql_list_namespaces, sql_drop, sql_rename, sql_free,
};

/* ---- setup ---- */

/* Creates the catalog tables when missing and detects the schema version,
 * in one transaction (serialised between processes). */
static floe_status init_schema(sql_catalog *c, floe_error *err) {
  bool lite = c->db == DB_SQLITE;
  FLOE_TRY(db_run(c, lite ? "BEGIN IMMEDIATE" : "BEGIN", 0, NULL, NULL, err));
  floe_status st = lite ? FLOE_OK : db_run(c, PG_INIT_LOCK, 0, NULL, NULL, err);
  const char *has = lite ? LITE_HAS_TABLE : PG_HAS_TABLE;
  bool found = false;
  const char *t1[] = {"iceberg_tables"},
             *t2[] = {"iceberg_namespace_properties"};
  if (st == FLOE_OK) st = db_exists(c, has, 1, t1, &found, err);
  if (st == FLOE_OK && !found) {
    st = db_run(c, SQL_V0_CREATE_TABLES, 0, NULL, NULL, err);
    if (st == FLOE_OK) st = db_run(c, SQL_V1_UPGRADE, 0, NULL, NULL, err);
  }
  if (st == FLOE_OK) st = db_exists(c, has, 1, t2, &found, err);
  if (st == FLOE_OK && !found)
    st = db_run(c, SQL_CREATE_NS_PROPS, 0, NULL, NULL, err);
  if (st == FLOE_OK)
    st = db_exists(c, lite ? LITE_HAS_TYPE : PG_HAS_TYPE, 0, NULL, &c->v1, err);
  if (st == FLOE_OK) st = db_run(c, "COMMIT", 0, NULL, NULL, err);
  if (st != FLOE_OK) {
    floe_error ignored;
    (void)db_run(c, "ROLLBACK", 0, NULL, NULL, &ignored);
    return ferr_prefix(err, st, "setting up the catalog tables");
  }
  return FLOE_OK;
}

static floe_status sql_new(db_kind db, const char *warehouse, const char *name,
                           sql_catalog **out, floe_error *err) {
  if (!name) name = ICE_CATALOG_DEFAULT_NAME;
  FLOE_TRY(ice_catalog_check_name("catalog", name, false, err));
  if (!warehouse || warehouse[0] != '/')
    return ferr_set(err, FLOE_EINVAL,
                    "SQL catalog: warehouse must be an absolute directory");
  sql_catalog *c = calloc(1, sizeof *c);
  if (!c) return ferr_nomem(err, sizeof *c);
  c->db = db;
  if (!(c->name = strdup(name))) {
    free(c);
    return ferr_nomem(err, strlen(name) + 1);
  }
  floe_status st = ice_catalog_init_base(
      &c->base, &sql_ops, db == DB_SQLITE ? "sqlite" : "postgresql", warehouse,
      err);
  if (st != FLOE_OK) {
    free(c->name);
    free(c);
    return st;
  }
  *out = c;
  return FLOE_OK;
}

floe_status ice_catalog_sqlite_open(const char *path, const char *warehouse,
                                    const char *name, ice_catalog **out,
                                    floe_error *err) {
  if (!path || !*path)
    return ferr_set(err, FLOE_EINVAL, "sqlite catalog: empty database path");
  sql_catalog *c;
  FLOE_TRY(sql_new(DB_SQLITE, warehouse, name, &c, err));
  int rc = sqlite3_open_v2(path, &c->lite,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  floe_status st = FLOE_OK;
  if (rc != SQLITE_OK)
    st = ferr_set(err, FLOE_EIO, "sqlite catalog %s: %s", path,
                  c->lite ? sqlite3_errmsg(c->lite) : sqlite3_errstr(rc));
  if (st == FLOE_OK) {
    sqlite3_extended_result_codes(c->lite, 1);
    /* concurrent committers wait for the write lock instead of failing */
    sqlite3_busy_timeout(c->lite, 30000);
    st = init_schema(c, err);
    if (st != FLOE_OK) ferr_prefix(err, st, "sqlite catalog %s", path);
  }
  if (st != FLOE_OK) {
    sql_free(&c->base);
    return st;
  }
  *out = &c->base;
  return FLOE_OK;
}

/* libpq would print server notices on stderr; a library must not. */
static void pg_quiet(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

floe_status ice_catalog_pg_open(const char *conninfo, const char *warehouse,
                                const char *name, ice_catalog **out,
                                floe_error *err) {
  sql_catalog *c;
  FLOE_TRY(sql_new(DB_PG, warehouse, name, &c, err));
  c->pg = PQconnectdb(conninfo);
  floe_status st = FLOE_OK;
  if (!c->pg) {
    st = ferr_nomem(err, 0);
  } else if (PQstatus(c->pg) != CONNECTION_OK) {
    /* the conninfo is not echoed: it may hold a password */
    char msg[FLOE_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(c->pg));
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = 0;
    st = ferr_set(err, FLOE_EIO, "postgres catalog: cannot connect: %s", msg);
  } else {
    PQsetNoticeProcessor(c->pg, pg_quiet, NULL);
    st = init_schema(c, err);
    if (st != FLOE_OK) ferr_prefix(err, st, "postgres catalog");
  }
  if (st != FLOE_OK) {
    sql_free(&c->base);
    return st;
  }
  *out = &c->base;
  return FLOE_OK;
}
