/* Publication and replication slot management. All names reach SQL quoted
 * (PQescapeIdentifier) or as parameters; statements are built in an fbuf. */
#include "pg/slot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

floe_status pgx_mirror_name_check(const char *mirror, floe_error *err) {
  size_t n = strlen(mirror);
  bool ok = n >= 1 && n <= PGX_MIRROR_NAME_MAX;
  for (size_t i = 0; ok && i < n; i++) {
    char ch = mirror[i];
    ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_';
  }
  if (ok) return FLOE_OK;
  return ferr_set(err, FLOE_EINVAL,
                  "invalid mirror name \"%.80s\": use 1 to %d characters of "
                  "a-z, 0-9 and _ (it names the replication slot floe_<name>, "
                  "and Postgres allows only those in slot names)",
                  mirror, PGX_MIRROR_NAME_MAX);
}

floe_status pgx_mirror_object_name(const char *mirror, char out[PGX_NAME_MAX],
                                   floe_error *err) {
  FLOE_TRY(pgx_mirror_name_check(mirror, err));
  snprintf(out, PGX_NAME_MAX, "floe_%s", mirror);
  return FLOE_OK;
}

/* Runs a statement built in b (not yet NUL-terminated). */
static floe_status exec_buf(pgx_conn *c, const char *what, fbuf *b,
                            char *sqlstate, floe_error *err) {
  FLOE_TRY(pgx_sql_cstr(b, err));
  PGresult *r = NULL;
  FLOE_TRY(
      pgx_query(c, what, (const char *)b->data, 0, NULL, &r, sqlstate, err));
  PQclear(r);
  return FLOE_OK;
}

/* Runs a query whose answer is "is there a row". */
static floe_status any_row(pgx_conn *c, const char *what, const char *sql,
                           int n, const char *const *params, bool *yes,
                           floe_error *err) {
  PGresult *r = NULL;
  FLOE_TRY(pgx_query(c, what, sql, n, params, &r, NULL, err));
  *yes = PQntuples(r) > 0;
  PQclear(r);
  return FLOE_OK;
}

/* ---- publication ---- */

static floe_status pub_flags(pgx_conn *c, const char *pub, bool *exists,
                             bool *all_tables, bool *via_root,
                             floe_error *err) {
  const char *params[] = {pub};
  PGresult *r = NULL;
  FLOE_TRY(pgx_query(c, "look up publication",
                     "SELECT puballtables, pubviaroot FROM pg_publication "
                     "WHERE pubname = $1",
                     1, params, &r, NULL, err));
  *exists = PQntuples(r) == 1;
  bool all = *exists && PQgetvalue(r, 0, 0)[0] == 't';
  bool root = *exists && PQgetvalue(r, 0, 1)[0] == 't';
  PQclear(r);
  if (all_tables) *all_tables = all;
  if (via_root) *via_root = root;
  return FLOE_OK;
}

floe_status pgx_pub_exists(pgx_conn *c, const char *pub, bool *exists,
                           bool *all_tables, floe_error *err) {
  return pub_flags(c, pub, exists, all_tables, NULL, err);
}

floe_status pgx_pub_has_table(pgx_conn *c, const char *pub, const char *schema,
                              const char *table, bool *has, floe_error *err) {
  const char *params[] = {pub, schema, table};
  return any_row(c, "check publication tables",
                 "SELECT 1 FROM pg_publication_tables WHERE pubname = $1 "
                 "AND schemaname = $2 AND tablename = $3",
                 3, params, has, err);
}

/* Whether schema.table is listed in pub itself (pg_publication_rel), which
 * is what ALTER PUBLICATION ADD/DROP TABLE change. */
static floe_status pub_lists_table(pgx_conn *c, const char *pub,
                                   const char *schema, const char *table,
                                   bool *has, floe_error *err) {
  const char *params[] = {pub, schema, table};
  return any_row(c, "check publication members",
                 "SELECT 1 FROM pg_publication_rel pr "
                 "JOIN pg_publication p ON p.oid = pr.prpubid "
                 "JOIN pg_class c ON c.oid = pr.prrelid "
                 "JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE p.pubname = $1 AND n.nspname = $2 AND c.relname = $3",
                 3, params, has, err);
}

static floe_status alter_pub_table(pgx_conn *c, const char *pub,
                                   const char *verb, const char *schema,
                                   const char *table, char *sqlstate,
                                   floe_error *err) {
  fbuf b = FBUF_INIT;
  floe_status st = fbuf_printf(&b, err, "ALTER PUBLICATION ");
  if (st == FLOE_OK) st = pgx_sql_ident(c, &b, pub, err);
  if (st == FLOE_OK) st = fbuf_printf(&b, err, " %s TABLE ", verb);
  if (st == FLOE_OK) st = pgx_sql_qname(c, &b, schema, table, err);
  if (st == FLOE_OK) st = exec_buf(c, "alter publication", &b, sqlstate, err);
  fbuf_free(&b);
  return st;
}

floe_status pgx_pub_add_table(pgx_conn *c, const char *pub, const char *schema,
                              const char *table, floe_error *err) {
  bool exists = false, all = false, has = false;
  FLOE_TRY(pub_flags(c, pub, &exists, &all, NULL, err));
  if (!exists)
    return ferr_set(err, FLOE_ENOTFOUND, "publication \"%s\" does not exist",
                    pub);
  if (all) return FLOE_OK;
  FLOE_TRY(pub_lists_table(c, pub, schema, table, &has, err));
  if (has) return FLOE_OK;
  char state[6];
  floe_status st = alter_pub_table(c, pub, "ADD", schema, table, state, err);
  /* a concurrent add got there first */
  if (st != FLOE_OK && strcmp(state, "42710") == 0) return FLOE_OK;
  return st;
}

floe_status pgx_pub_remove_table(pgx_conn *c, const char *pub,
                                 const char *schema, const char *table,
                                 floe_error *err) {
  bool has = false;
  FLOE_TRY(pub_lists_table(c, pub, schema, table, &has, err));
  if (!has) return FLOE_OK;
  char state[6];
  floe_status st = alter_pub_table(c, pub, "DROP", schema, table, state, err);
  if (st != FLOE_OK && strcmp(state, "42704") == 0) return FLOE_OK;
  return st;
}

floe_status pgx_pub_ensure(pgx_conn *c, const char *pub,
                           const pgx_table_name *tables, int n, bool *created,
                           floe_error *err) {
  *created = false;
  bool exists = false, all = false, via_root = false;
  FLOE_TRY(pub_flags(c, pub, &exists, &all, &via_root, err));
  if (!exists) {
    fbuf b = FBUF_INIT;
    floe_status st = fbuf_printf(&b, err, "CREATE PUBLICATION ");
    if (st == FLOE_OK) st = pgx_sql_ident(c, &b, pub, err);
    for (int i = 0; st == FLOE_OK && i < n; i++) {
      st = fbuf_printf(&b, err, i ? ", " : " FOR TABLE ");
      if (st == FLOE_OK)
        st = pgx_sql_qname(c, &b, tables[i].schema, tables[i].name, err);
    }
    if (st == FLOE_OK)
      st = fbuf_printf(&b, err, " WITH (publish_via_partition_root = true)");
    char state[6] = "";
    if (st == FLOE_OK) st = exec_buf(c, "create publication", &b, state, err);
    fbuf_free(&b);
    if (st == FLOE_OK) {
      *created = true;
      return FLOE_OK;
    }
    /* anything but "created meanwhile by someone else" is final */
    if (strcmp(state, "42710") != 0) return st;
    FLOE_TRY(pub_flags(c, pub, &exists, &all, &via_root, err));
  }
  if (!via_root && !all) {
    fbuf b = FBUF_INIT;
    floe_status st = fbuf_printf(&b, err, "ALTER PUBLICATION ");
    if (st == FLOE_OK) st = pgx_sql_ident(c, &b, pub, err);
    if (st == FLOE_OK)
      st = fbuf_printf(&b, err, " SET (publish_via_partition_root = true)");
    if (st == FLOE_OK) st = exec_buf(c, "alter publication", &b, NULL, err);
    fbuf_free(&b);
    FLOE_TRY(st);
  }
  for (int i = 0; i < n; i++)
    FLOE_TRY(pgx_pub_add_table(c, pub, tables[i].schema, tables[i].name, err));
  return FLOE_OK;
}

floe_status pgx_pub_verify(pgx_conn *c, const char *pub,
                           const pgx_table_name *tables, int n,
                           floe_error *err) {
  bool exists = false;
  FLOE_TRY(pub_flags(c, pub, &exists, NULL, NULL, err));
  if (!exists)
    return ferr_set(err, FLOE_ENOTFOUND,
                    "publication \"%s\" does not exist in %s: create it, or "
                    "give no publication so floe creates its own",
                    pub, pgx_conn_desc(c));
  for (int i = 0; i < n; i++) {
    bool has = false;
    FLOE_TRY(
        pgx_pub_has_table(c, pub, tables[i].schema, tables[i].name, &has, err));
    if (has) continue;
    fbuf b = FBUF_INIT;
    floe_status st = fbuf_printf(&b, err, "ALTER PUBLICATION ");
    if (st == FLOE_OK) st = pgx_sql_ident(c, &b, pub, err);
    if (st == FLOE_OK) st = fbuf_printf(&b, err, " ADD TABLE ");
    if (st == FLOE_OK)
      st = pgx_sql_qname(c, &b, tables[i].schema, tables[i].name, err);
    if (st == FLOE_OK) st = pgx_sql_cstr(&b, err);
    if (st == FLOE_OK)
      st = ferr_set(err, FLOE_ENOTFOUND,
                    "publication \"%s\" does not publish this table: run "
                    "%s; (a partitioned table also needs the publication's "
                    "publish_via_partition_root = true)",
                    pub, (const char *)b.data);
    fbuf_free(&b);
    return st;
  }
  return FLOE_OK;
}

floe_status pgx_pub_drop(pgx_conn *c, const char *pub, floe_error *err) {
  fbuf b = FBUF_INIT;
  floe_status st = fbuf_printf(&b, err, "DROP PUBLICATION IF EXISTS ");
  if (st == FLOE_OK) st = pgx_sql_ident(c, &b, pub, err);
  if (st == FLOE_OK) st = exec_buf(c, "drop publication", &b, NULL, err);
  fbuf_free(&b);
  return st;
}

/* ---- slot ---- */

static void copy_name(char out[PGX_NAME_MAX], const char *s) {
  snprintf(out, PGX_NAME_MAX, "%s", s ? s : "");
}

floe_status pgx_slot_lookup(pgx_conn *c, const char *name, pgx_slot_state *out,
                            floe_error *err) {
  memset(out, 0, sizeof *out);
  const char *params[] = {name};
  PGresult *r = NULL;
  FLOE_TRY(pgx_query(c, "look up replication slot",
                     "SELECT slot_type, plugin, database, active, temporary, "
                     "confirmed_flush_lsn, restart_lsn "
                     "FROM pg_replication_slots WHERE slot_name = $1",
                     1, params, &r, NULL, err));
  if (PQntuples(r) == 1) {
    out->exists = true;
    out->logical = strcmp(PQgetvalue(r, 0, 0), "logical") == 0;
    copy_name(out->plugin, PQgetvalue(r, 0, 1));
    copy_name(out->database, PQgetvalue(r, 0, 2));
    out->active = PQgetvalue(r, 0, 3)[0] == 't';
    out->temporary = PQgetvalue(r, 0, 4)[0] == 't';
    if (!PQgetisnull(r, 0, 5))
      pgx_lsn_parse(PQgetvalue(r, 0, 5), &out->confirmed_flush);
    if (!PQgetisnull(r, 0, 6))
      pgx_lsn_parse(PQgetvalue(r, 0, 6), &out->restart_lsn);
  }
  PQclear(r);
  return FLOE_OK;
}

floe_status pgx_slot_create(pgx_conn *repl, const char *name, bool temporary,
                            pgx_slot *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  if (repl->kind != PGX_CONN_REPLICATION)
    return ferr_set(err, FLOE_EINVAL,
                    "create slot %s: needs a replication connection", name);
  fbuf b = FBUF_INIT;
  floe_status st = fbuf_printf(&b, err, "CREATE_REPLICATION_SLOT ");
  if (st == FLOE_OK) st = pgx_sql_ident(repl, &b, name, err);
  if (st == FLOE_OK)
    st = fbuf_printf(&b, err, "%s LOGICAL pgoutput %s",
                     temporary ? " TEMPORARY" : "",
                     /* the option list arrived in 15; 14 has the keyword */
                     repl->server_version >= 150000 ? "(SNAPSHOT 'export')"
                                                    : "EXPORT_SNAPSHOT");
  if (st == FLOE_OK) st = pgx_sql_cstr(&b, err);
  PGresult *r = NULL;
  char state[6] = "";
  if (st == FLOE_OK)
    st = pgx_query(repl, "create replication slot", (const char *)b.data, 0,
                   NULL, &r, state, err);
  fbuf_free(&b);
  if (st != FLOE_OK) {
    if (strcmp(state, "42710") == 0)
      return ferr_set(err, FLOE_EEXIST, "replication slot \"%s\" exists", name);
    return st;
  }
  if (PQntuples(r) != 1 || PQnfields(r) < 3 ||
      !pgx_lsn_parse(PQgetvalue(r, 0, 1), &out->lsn)) {
    PQclear(r);
    return ferr_set(err, FLOE_EIO,
                    "create replication slot %s: unexpected reply", name);
  }
  copy_name(out->name, PQgetvalue(r, 0, 0));
  copy_name(out->snapshot, PQgetvalue(r, 0, 2));
  out->created = true;
  PQclear(r);
  return FLOE_OK;
}

floe_status pgx_slot_ensure(pgx_conn *repl, const char *name, pgx_slot *out,
                            floe_error *err) {
  for (int attempt = 0; attempt < 2; attempt++) {
    pgx_slot_state s;
    FLOE_TRY(pgx_slot_lookup(repl, name, &s, err));
    if (!s.exists) {
      floe_status st = pgx_slot_create(repl, name, false, out, err);
      if (st != FLOE_EEXIST) return st;
      continue; /* created meanwhile: look again */
    }
    PGresult *r = NULL;
    FLOE_TRY(pgx_query(repl, "current database", "SELECT current_database()", 0,
                       NULL, &r, NULL, err));
    bool same_db =
        PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), s.database) == 0;
    PQclear(r);
    if (!s.logical || strcmp(s.plugin, "pgoutput") != 0 || !same_db)
      return ferr_set(err, FLOE_EINVAL,
                      "replication slot \"%s\" exists but is not a logical "
                      "pgoutput slot of this database (type %s, plugin "
                      "\"%s\", database \"%s\"): drop it or choose another "
                      "mirror name",
                      name, s.logical ? "logical" : "physical", s.plugin,
                      s.database);
    memset(out, 0, sizeof *out);
    copy_name(out->name, name);
    out->lsn = s.confirmed_flush;
    return FLOE_OK;
  }
  return ferr_set(err, FLOE_EIO,
                  "replication slot \"%s\" keeps appearing and disappearing",
                  name);
}

floe_status pgx_slot_drop(pgx_conn *c, const char *name, bool *dropped,
                          floe_error *err) {
  if (dropped) *dropped = false;
  pgx_slot_state s;
  FLOE_TRY(pgx_slot_lookup(c, name, &s, err));
  if (!s.exists) return FLOE_OK;
  const char *params[] = {name};
  PGresult *r = NULL;
  char state[6] = "";
  floe_status st = pgx_query(c, "drop replication slot",
                             "SELECT pg_drop_replication_slot($1)", 1, params,
                             &r, state, err);
  PQclear(r);
  if (st != FLOE_OK) return strcmp(state, "42704") == 0 ? FLOE_OK : st;
  if (dropped) *dropped = true;
  return FLOE_OK;
}
