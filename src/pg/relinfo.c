/* Table discovery from the system catalogs: three queries (relation,
 * columns with types, physical relations with their identity facts) plus the
 * identity index's columns. */
#include "pg/relinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Domains resolved in SQL (a recursive walk down typbasetype), once for the
 * column's type and once for an array base type's element, so a table of
 * any width costs one round trip. */
static const char COLUMNS_SQL[] =
    "WITH RECURSIVE cols AS ("
    " SELECT a.attnum, a.attname, a.atttypid, a.atttypmod, a.attnotnull"
    " FROM pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0"
    " AND NOT a.attisdropped AND a.attgenerated = ''),"
    " dom(attnum, oid, typmod, depth) AS ("
    " SELECT attnum, atttypid, atttypmod, 0 FROM cols UNION ALL"
    " SELECT d.attnum, t.typbasetype, t.typtypmod, d.depth + 1"
    " FROM dom d JOIN pg_type t ON t.oid = d.oid"
    " WHERE t.typtype = 'd' AND d.depth < 32),"
    " base AS (SELECT DISTINCT ON (attnum) attnum, oid, typmod FROM dom"
    " ORDER BY attnum, depth DESC),"
    " edom(attnum, oid, typmod, depth) AS ("
    " SELECT b.attnum, t.typelem, b.typmod, 0 FROM base b"
    " JOIN pg_type t ON t.oid = b.oid"
    " WHERE t.typsubscript = 'array_subscript_handler'::regproc UNION ALL"
    " SELECT d.attnum, t.typbasetype, t.typtypmod, d.depth + 1"
    " FROM edom d JOIN pg_type t ON t.oid = d.oid"
    " WHERE t.typtype = 'd' AND d.depth < 32),"
    " ebase AS (SELECT DISTINCT ON (attnum) attnum, oid, typmod FROM edom"
    " ORDER BY attnum, depth DESC)"
    " SELECT c.attnum, c.attname, c.atttypid, c.atttypmod, c.attnotnull,"
    " t.typtype, format_type(c.atttypid, c.atttypmod),"
    " b.oid, b.typmod, bt.typtype, bt.typname,"
    " e.oid, e.typmod, et.typtype, et.typname, et.typdelim"
    " FROM cols c JOIN pg_type t ON t.oid = c.atttypid"
    " JOIN base b ON b.attnum = c.attnum JOIN pg_type bt ON bt.oid = b.oid"
    " LEFT JOIN ebase e ON e.attnum = c.attnum"
    " LEFT JOIN pg_type et ON et.oid = e.oid"
    " ORDER BY c.attnum";

/* The relations that hold rows: a plain table is its own only leaf
 * (pg_partition_tree lists nothing for it). */
static const char PARTS_SQL[] =
    "SELECT c.oid, n.nspname, c.relname, c.relkind, c.relreplident,"
    " EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid"
    "  AND i.indisprimary),"
    " EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid"
    "  AND i.indisreplident),"
    " pg_relation_size(c.oid), current_setting('block_size')::int"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE (c.oid = $1::oid AND c.relkind = 'r') OR c.oid IN"
    " (SELECT relid FROM pg_partition_tree($1::oid) WHERE isleaf)"
    " ORDER BY n.nspname, c.relname";

static floe_status dup_str(pgx_rel *r, const char *s, const char **out,
                           floe_error *err) {
  char *d = farena_strdup(&r->arena, s, err);
  if (!d) return err ? err->code : FLOE_ENOMEM;
  *out = d;
  return FLOE_OK;
}

static uint32_t parse_oid(const char *s) {
  return (uint32_t)strtoul(s, NULL, 10);
}

void pgx_rel_free(pgx_rel *r) {
  if (!r) return;
  farena_free(&r->arena);
  free(r);
}

int pgx_rel_find_col(const pgx_rel *r, const char *name) {
  for (int i = 0; i < r->ncols; i++)
    if (strcmp(r->cols[i].name, name) == 0) return i;
  return -1;
}

floe_status pgx_rel_set_replica_full(pgx_conn *c, const char *schema,
                                     const char *table, int lock_timeout_ms,
                                     floe_error *err) {
  if (lock_timeout_ms <= 0) lock_timeout_ms = 5000;
  fbuf b = FBUF_INIT;
  floe_status st =
      fbuf_printf(&b, err, "BEGIN; SET LOCAL lock_timeout = %d; ALTER TABLE ",
                  lock_timeout_ms);
  if (st == FLOE_OK) st = pgx_sql_qname(c, &b, schema, table, err);
  if (st == FLOE_OK)
    st = fbuf_printf(&b, err, " REPLICA IDENTITY FULL; COMMIT");
  if (st == FLOE_OK) st = pgx_sql_cstr(&b, err);
  if (st == FLOE_OK)
    st = pgx_exec(c, "set replica identity full", (const char *)b.data, err);
  fbuf_free(&b);
  if (st != FLOE_OK) {
    /* a failed statement leaves the transaction aborted: end it */
    PGresult *r = PQexec(c->pg, "ROLLBACK");
    PQclear(r);
  }
  return st;
}

/* The refusal for a relation without a usable identity. */
static floe_status no_identity(pgx_conn *c, const char *schema,
                               const char *name, const char *why,
                               floe_error *err) {
  fbuf b = FBUF_INIT;
  floe_status st = fbuf_printf(&b, err, "ALTER TABLE ");
  if (st == FLOE_OK) st = pgx_sql_qname(c, &b, schema, name, err);
  if (st == FLOE_OK) st = fbuf_printf(&b, err, " REPLICA IDENTITY FULL;");
  if (st == FLOE_OK) st = pgx_sql_cstr(&b, err);
  if (st == FLOE_OK)
    st = ferr_set(err, FLOE_EUNSUPPORTED,
                  "table %s.%s %s, so its UPDATEs and DELETEs do not say which "
                  "row they change. Run: %s (or add a primary key); floe "
                  "does not alter a table unless told to",
                  schema, name, why, (const char *)b.data);
  fbuf_free(&b);
  return st;
}

static floe_status load_columns(pgx_conn *c, pgx_rel *r, floe_error *err) {
  char oid[16];
  snprintf(oid, sizeof oid, "%u", r->oid);
  const char *params[] = {oid};
  PGresult *res = NULL;
  FLOE_TRY(pgx_query(c, "read table columns", COLUMNS_SQL, 1, params, &res,
                     NULL, err));
  int n = PQntuples(res);
  floe_status st = FLOE_OK;
  r->cols =
      n ? farena_alloc(&r->arena, sizeof(pgx_col) * (size_t)n, err) : NULL;
  if (n && !r->cols) st = err ? err->code : FLOE_ENOMEM;
  for (int i = 0; st == FLOE_OK && i < n; i++) {
    pgx_col *col = &r->cols[i];
    memset(col, 0, sizeof *col);
    col->attnum = (int16_t)atoi(PQgetvalue(res, i, 0));
    st = dup_str(r, PQgetvalue(res, i, 1), &col->name, err);
    col->type_oid = parse_oid(PQgetvalue(res, i, 2));
    col->typmod = atoi(PQgetvalue(res, i, 3));
    col->not_null = PQgetvalue(res, i, 4)[0] == 't';
    col->typtype = PQgetvalue(res, i, 5)[0];
    if (st == FLOE_OK)
      st = dup_str(r, PQgetvalue(res, i, 6), &col->type_sql, err);
    col->base_oid = parse_oid(PQgetvalue(res, i, 7));
    col->base_typmod = atoi(PQgetvalue(res, i, 8));
    col->base_typtype = PQgetvalue(res, i, 9)[0];
    if (st == FLOE_OK)
      st = dup_str(r, PQgetvalue(res, i, 10), &col->base_name, err);
    col->elem_typmod = -1;
    if (!PQgetisnull(res, i, 11)) {
      col->elem_oid = parse_oid(PQgetvalue(res, i, 11));
      col->elem_typmod = atoi(PQgetvalue(res, i, 12));
      col->elem_typtype = PQgetvalue(res, i, 13)[0];
      if (st == FLOE_OK)
        st = dup_str(r, PQgetvalue(res, i, 14), &col->elem_name, err);
      col->elem_delim = PQgetvalue(res, i, 15)[0];
    }
    col->key = -1;
  }
  r->ncols = n;
  PQclear(res);
  return st;
}

/* Reads the columns of the identity index (primary key or replica identity
 * index) of relation oid into r->key. */
static floe_status load_key(pgx_conn *c, pgx_rel *r, bool primary,
                            floe_error *err) {
  char oid[16];
  snprintf(oid, sizeof oid, "%u", r->oid);
  const char *params[] = {oid};
  PGresult *res = NULL;
  FLOE_TRY(pgx_query(c, "read row identity index",
                     primary ? "SELECT indkey FROM pg_index WHERE indrelid = "
                               "$1::oid AND indisprimary"
                             : "SELECT indkey FROM pg_index WHERE indrelid = "
                               "$1::oid AND indisreplident",
                     1, params, &res, NULL, err));
  floe_status st = FLOE_OK;
  if (PQntuples(res) != 1) {
    st = ferr_set(err, FLOE_EIO, "table %s.%s: its identity index vanished",
                  r->schema, r->name);
    goto done;
  }
  /* int2vector text: attnums separated by spaces */
  const char *p = PQgetvalue(res, 0, 0);
  int cap = r->ncols > 0 ? r->ncols : 1;
  r->key = farena_alloc(&r->arena, sizeof(int) * (size_t)cap, err);
  if (!r->key) {
    st = err ? err->code : FLOE_ENOMEM;
    goto done;
  }
  while (*p) {
    char *end;
    long att = strtol(p, &end, 10);
    if (end == p) break;
    p = end;
    int idx = -1;
    for (int i = 0; i < r->ncols; i++)
      if (r->cols[i].attnum == att) idx = i;
    if (idx < 0 || r->nkey >= cap) {
      st = ferr_set(err, FLOE_EUNSUPPORTED,
                    "table %s.%s: identity index column %ld is not a "
                    "replicated column",
                    r->schema, r->name, att);
      goto done;
    }
    r->cols[idx].key = r->nkey;
    r->key[r->nkey++] = idx;
  }
  if (r->nkey == 0)
    st = ferr_set(err, FLOE_EUNSUPPORTED,
                  "table %s.%s: identity index has no columns", r->schema,
                  r->name);
done:
  PQclear(res);
  return st;
}

/* Whether a leaf's own identity yields the old-row data the table's
 * identity needs. */
static bool leaf_ok(pgx_ident ident, char replident, bool has_pk, bool has_ri) {
  if (replident == 'f') return true;
  switch (ident) {
  case PGX_IDENT_PK: return replident == 'd' && has_pk;
  case PGX_IDENT_INDEX: return replident == 'i' && has_ri;
  case PGX_IDENT_FULL: return false;
  }
  return false;
}

static const char *leaf_why(char replident, bool has_pk) {
  switch (replident) {
  case 'n': return "has REPLICA IDENTITY NOTHING";
  case 'i': return "has a REPLICA IDENTITY index floe cannot use here";
  default:
    return has_pk ? "has a REPLICA IDENTITY that does not match its table's"
                  : "has no primary key and REPLICA IDENTITY DEFAULT";
  }
}

/* One discovery pass; *fixed says it altered something and the caller must
 * look again. */
static floe_status load_once(pgx_conn *c, const char *schema, const char *table,
                             const pgx_rel_opts *opts, pgx_rel *r, bool *fixed,
                             floe_error *err) {
  *fixed = false;
  const char *params[] = {schema, table};
  PGresult *res = NULL;
  FLOE_TRY(pgx_query(c, "look up table",
                     "SELECT c.oid, c.relkind, c.relreplident,"
                     " EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid ="
                     " c.oid AND i.indisprimary),"
                     " EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid ="
                     " c.oid AND i.indisreplident)"
                     " FROM pg_class c JOIN pg_namespace n ON n.oid ="
                     " c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
                     2, params, &res, NULL, err));
  if (PQntuples(res) != 1) {
    PQclear(res);
    return ferr_set(err, FLOE_ENOTFOUND, "table %s.%s does not exist in %s",
                    schema, table, pgx_conn_desc(c));
  }
  r->oid = parse_oid(PQgetvalue(res, 0, 0));
  r->relkind = PQgetvalue(res, 0, 1)[0];
  r->replident = PQgetvalue(res, 0, 2)[0];
  bool has_pk = PQgetvalue(res, 0, 3)[0] == 't';
  bool has_ri = PQgetvalue(res, 0, 4)[0] == 't';
  PQclear(res);
  FLOE_TRY(dup_str(r, schema, &r->schema, err));
  FLOE_TRY(dup_str(r, table, &r->name, err));
  if (r->relkind != 'r' && r->relkind != 'p')
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "%s.%s is not a table (relkind '%c'): floe mirrors "
                    "tables and partitioned tables",
                    schema, table, r->relkind);

  bool none = false;
  const char *why = NULL;
  switch (r->replident) {
  case 'd':
    r->ident = PGX_IDENT_PK;
    none = !has_pk;
    why = "has no primary key and REPLICA IDENTITY DEFAULT";
    break;
  case 'i':
    r->ident = PGX_IDENT_INDEX;
    none = !has_ri;
    why = "has REPLICA IDENTITY USING INDEX but that index is gone";
    break;
  case 'f': r->ident = has_pk ? PGX_IDENT_PK : PGX_IDENT_FULL; break;
  default:
    none = true;
    why = "has REPLICA IDENTITY NOTHING";
    break;
  }
  if (none) {
    if (!opts || !opts->set_replica_full)
      return no_identity(c, schema, table, why, err);
    FLOE_TRY(
        pgx_rel_set_replica_full(c, schema, table, opts->lock_timeout_ms, err));
    *fixed = true;
    return FLOE_OK;
  }

  FLOE_TRY(load_columns(c, r, err));
  if (r->ncols == 0)
    return ferr_set(err, FLOE_EUNSUPPORTED, "table %s.%s has no columns",
                    schema, table);
  if (r->ident == PGX_IDENT_FULL) {
    r->key = farena_alloc(&r->arena, sizeof(int) * (size_t)r->ncols, err);
    if (!r->key) return err ? err->code : FLOE_ENOMEM;
    for (int i = 0; i < r->ncols; i++) r->cols[i].key = i, r->key[i] = i;
    r->nkey = r->ncols;
  } else {
    FLOE_TRY(load_key(c, r, r->ident == PGX_IDENT_PK, err));
  }

  char oid[16];
  snprintf(oid, sizeof oid, "%u", r->oid);
  const char *pparams[] = {oid};
  FLOE_TRY(
      pgx_query(c, "list partitions", PARTS_SQL, 1, pparams, &res, NULL, err));
  int n = PQntuples(res);
  floe_status st = FLOE_OK;
  r->parts =
      n ? farena_alloc(&r->arena, sizeof(pgx_part) * (size_t)n, err) : NULL;
  if (n && !r->parts) st = err ? err->code : FLOE_ENOMEM;
  for (int i = 0; st == FLOE_OK && i < n; i++) {
    pgx_part *p = &r->parts[r->nparts];
    const char *ps = PQgetvalue(res, i, 1), *pn = PQgetvalue(res, i, 2);
    char kind = PQgetvalue(res, i, 3)[0], rid = PQgetvalue(res, i, 4)[0];
    bool lpk = PQgetvalue(res, i, 5)[0] == 't';
    bool lri = PQgetvalue(res, i, 6)[0] == 't';
    if (kind != 'r') {
      st = ferr_set(err, FLOE_EUNSUPPORTED,
                    "partition %s.%s of %s.%s is not a table (relkind '%c')",
                    ps, pn, schema, table, kind);
      break;
    }
    if (!leaf_ok(r->ident, rid, lpk, lri)) {
      if (!opts || !opts->set_replica_full) {
        st = no_identity(c, ps, pn, leaf_why(rid, lpk), err);
        break;
      }
      st = pgx_rel_set_replica_full(c, ps, pn, opts->lock_timeout_ms, err);
      *fixed = true;
      continue;
    }
    p->oid = parse_oid(PQgetvalue(res, i, 0));
    st = dup_str(r, ps, &p->schema, err);
    if (st == FLOE_OK) st = dup_str(r, pn, &p->name, err);
    r->block_size = atoi(PQgetvalue(res, i, 8));
    if (r->block_size <= 0) r->block_size = 8192;
    p->pages = strtoll(PQgetvalue(res, i, 7), NULL, 10) / r->block_size;
    r->pages += p->pages;
    r->nparts++;
  }
  PQclear(res);
  if (r->block_size <= 0) r->block_size = 8192;
  r->bytes = r->pages * r->block_size;
  return st;
}

floe_status pgx_rel_load(pgx_conn *c, const char *schema, const char *table,
                         const pgx_rel_opts *opts, pgx_rel **out,
                         floe_error *err) {
  *out = NULL;
  /* at most: fix the table, then its leaves, then a clean pass */
  for (int pass = 0; pass < 3; pass++) {
    pgx_rel *r = calloc(1, sizeof *r);
    if (!r) return ferr_nomem(err, sizeof *r);
    farena_init(&r->arena, 4096, 0);
    bool fixed = false;
    floe_status st = load_once(c, schema, table, opts, r, &fixed, err);
    if (st != FLOE_OK || fixed) {
      pgx_rel_free(r);
      if (st != FLOE_OK) return st;
      continue;
    }
    *out = r;
    return FLOE_OK;
  }
  return ferr_set(err, FLOE_EIO,
                  "table %s.%s: replica identity still unusable after "
                  "setting it to FULL",
                  schema, table);
}
