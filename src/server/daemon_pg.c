/* The Postgres source (src/pg/source.h) behind dmn_source_ops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg/conn.h"
#include "pg/source.h"
#include "server/daemon_int.h"

typedef struct pgsrc {
  pgs_source *s;
  char *conninfo;
  pgx_conn *lsn_conn; /* the aux thread's: pg_current_wal_lsn() */
  const flog *log;
} pgsrc;

static floe_status pg_open(const dmn_source_args *a, void **out,
                           floe_error *err) {
  pgsrc *p = calloc(1, sizeof *p);
  if (!p) return ferr_nomem(err, sizeof *p);
  p->log = a->log;
  p->conninfo = strdup(a->conninfo);
  pgs_table_spec *specs =
      calloc((size_t)(a->ntables ? a->ntables : 1), sizeof *specs);
  if (!p->conninfo || !specs) {
    free(specs);
    free(p->conninfo);
    free(p);
    return ferr_nomem(err, 64);
  }
  for (int i = 0; i < a->ntables; i++)
    specs[i] = (pgs_table_spec){.schema = a->tables[i].schema,
                                .table = a->tables[i].table,
                                .copy = PGS_COPY_AUTO,
                                .cfg = &a->tables[i].cfg};
  pgs_opts o;
  pgs_opts_init(&o);
  o.conninfo = a->conninfo;
  o.mirror = a->mirror;
  o.catalog_uri = a->catalog_uri;
  o.warehouse = a->warehouse;
  o.table = a->table_cfg;
  /* A daemon run by hand on a terminal draws the copy's progress bar
   * there; otherwise (stderr a file or pipe, or JSON lines that a bar
   * would corrupt) its stderr is a log and progress goes in log lines. */
  const dmn_log *dl = a->log && a->log->sink == dmn_log_sink
                          ? (const dmn_log *)a->log->ctx
                          : NULL;
  o.progress = dl && !dl->json && isatty(STDERR_FILENO) ? PGX_PROGRESS_BAR
                                                        : PGX_PROGRESS_LOG;
  o.log = a->log;
  floe_status st = pgs_open(&o, specs, a->ntables, &p->s, err);
  free(specs);
  if (st != FLOE_OK) {
    free(p->conninfo);
    free(p);
    return st;
  }
  *out = p;
  return FLOE_OK;
}

static floe_status pg_poll(void *src, int timeout_ms, floe_error *err) {
  pgsrc *p = src;
  return pgs_poll(p->s, timeout_ms, err);
}

static floe_status pg_add(void *src, const dmn_table_def *t, floe_error *err) {
  pgsrc *p = src;
  pgs_table_spec sp = {.schema = t->schema,
                       .table = t->table,
                       .copy = PGS_COPY_AUTO,
                       .cfg = &t->cfg};
  return pgs_add_table(p->s, &sp, err);
}

static floe_status pg_remove(void *src, const char *schema, const char *table,
                             floe_error *err) {
  pgsrc *p = src;
  return pgs_remove_table(p->s, schema, table, err);
}

typedef struct schema_ctx {
  farena *a;
  rpc_schema_ok *out;
} schema_ctx;

static floe_status schema_fn(void *ctx, floe_table *t, floe_error *err) {
  schema_ctx *c = ctx;
  const floe_column *cols;
  const int *key;
  int nc = floe_table_columns(t, &cols);
  int nk = floe_table_key(t, &key);
  rpc_schema_ok *o = c->out;
  memset(o, 0, sizeof *o);
  o->ncolumns = (uint32_t)nc;
  o->nkey = (uint32_t)nk;
  o->columns =
      farena_alloc(c->a, (size_t)(nc ? nc : 1) * sizeof *o->columns, err);
  o->key = farena_alloc(c->a, (size_t)(nk ? nk : 1) * sizeof *o->key, err);
  if (!o->columns || !o->key) return FLOE_ENOMEM;
  for (int i = 0; i < nc; i++) {
    const floe_column *fc = &cols[i];
    rpc_column *rc = &o->columns[i];
    *rc = (rpc_column){.type = (uint8_t)fc->type,
                       .precision = fc->precision,
                       .scale = fc->scale,
                       .elem = (uint8_t)fc->elem,
                       .elem_precision = fc->elem_precision,
                       .elem_scale = fc->elem_scale,
                       .nullable = fc->nullable != 0};
    if (!(rc->name = farena_strdup(c->a, fc->name, err))) return FLOE_ENOMEM;
    if (fc->initial_default &&
        !(rc->initial_default = farena_strdup(c->a, fc->initial_default, err)))
      return FLOE_ENOMEM;
  }
  for (int i = 0; i < nk; i++) o->key[i] = (uint32_t)key[i];
  floe_table_stats st;
  floe_table_stats_get(t, &st);
  o->schema_id = (uint32_t)st.schema_id;
  return FLOE_OK;
}

static floe_status pg_schema(void *src, const char *schema, const char *table,
                             farena *a, rpc_schema_ok *out, floe_error *err) {
  pgsrc *p = src;
  schema_ctx c = {a, out};
  return pgs_with_table(p->s, schema, table, schema_fn, &c, err);
}

static floe_status pg_keepalive(void *src, floe_error *err) {
  pgsrc *p = src;
  return pgs_request_keepalive(p->s, err);
}

static floe_status pg_stop(void *src, floe_error *err) {
  pgsrc *p = src;
  return pgs_stop(p->s, err);
}

static floe_status pg_tick(void *src, int64_t now_ms, int64_t *next_ms,
                           floe_error *err) {
  pgsrc *p = src;
  return pgs_tick(p->s, now_ms, next_ms, err);
}

typedef struct flush_ctx {
  uint64_t durable;
  int64_t snapshot_id;
} flush_ctx;

static floe_status flush_fn(void *ctx, floe_table *t, floe_error *err) {
  flush_ctx *c = ctx;
  FLOE_TRY(floe_table_flush(t, err));
  floe_table_stats st;
  floe_table_stats_get(t, &st);
  c->durable = floe_durable_lsn(t);
  c->snapshot_id = st.snapshot_id;
  return FLOE_OK;
}

static floe_status pg_flush(void *src, const char *schema, const char *table,
                            uint64_t *durable, int64_t *snapshot_id,
                            floe_error *err) {
  pgsrc *p = src;
  flush_ctx c = {0, -1};
  FLOE_TRY(pgs_with_table(p->s, schema, table, flush_fn, &c, err));
  *durable = c.durable;
  *snapshot_id = c.snapshot_id;
  return FLOE_OK;
}

typedef struct compact_ctx {
  int force;
  int64_t before, after;
} compact_ctx;

static floe_status compact_fn(void *ctx, floe_table *t, floe_error *err) {
  compact_ctx *c = ctx;
  floe_table_stats st;
  floe_table_stats_get(t, &st);
  c->before = st.data_files;
  FLOE_TRY(floe_table_compact(t, c->force, err));
  floe_table_stats_get(t, &st);
  c->after = st.data_files;
  return FLOE_OK;
}

static floe_status pg_compact(void *src, const char *schema, const char *table,
                              int force, int64_t *before, int64_t *after,
                              floe_error *err) {
  pgsrc *p = src;
  compact_ctx c = {force, 0, 0};
  FLOE_TRY(pgs_with_table(p->s, schema, table, compact_fn, &c, err));
  *before = c.before;
  *after = c.after;
  return FLOE_OK;
}

static floe_status pg_status(void *src, farena *a, dmn_source_status *out,
                             floe_error *err) {
  pgsrc *p = src;
  pgs_status s;
  FLOE_TRY(pgs_status_get(p->s, &s, err));
  memset(out, 0, sizeof *out);
  floe_status st = FLOE_OK;
  out->state = pgs_state_name(s.state);
  out->server_wal_end = s.server_wal_end;
  out->connected = s.connected;
  out->last_error = farena_strdup(a, s.last_error, err);
  out->tables = farena_alloc(
      a, (size_t)(s.ntables ? s.ntables : 1) * sizeof *out->tables, err);
  if (!out->last_error || !out->tables) st = FLOE_ENOMEM;
  for (int i = 0; st == FLOE_OK && i < s.ntables; i++) {
    const pgs_table_status *t = &s.tables[i];
    char q[DMN_QNAME_MAX];
    dmn_table_qname(t->schema, t->table, q);
    rpc_table_status *o = &out->tables[i];
    *o = (rpc_table_status){
        .state = pgs_state_name(t->state),
        .rows = t->rows,
        .applied_lsn = t->applied_lsn,
        .durable_lsn = t->durable_lsn,
        .lag_bytes = t->lag_bytes,
        .lag_ms = t->lag_ms,
        .changes_per_sec = t->changes_per_s,
        .changes = (uint64_t)(t->changes > 0 ? t->changes : 0),
        .data_files = t->engine.data_files,
        .deletion_vectors = t->engine.deletion_vectors,
        .memory_bytes = t->engine.mem_bytes,
        .open_txns = t->engine.open_txns,
        .snapshots = t->engine.snapshots,
        .commits = (uint64_t)(t->engine.commits > 0 ? t->engine.commits : 0),
        .last_commit_ms = t->engine.last_commit_ms,
    };
    o->name = farena_strdup(a, q, err);
    o->last_error = farena_strdup(a, t->last_error, err);
    if (!o->name || !o->last_error) st = FLOE_ENOMEM;
  }
  if (st == FLOE_OK) out->ntables = (uint32_t)s.ntables;
  pgs_status_free(&s);
  return st;
}

static floe_status pg_read_state(void *src, const char *schema,
                                 const char *table, uint64_t min_lsn,
                                 floe_read_state **out, floe_error *err) {
  pgsrc *p = src;
  return pgs_read_state_get(p->s, schema, table, min_lsn, 0, out, err);
}

static floe_status pg_wal_lsn(void *src, uint64_t *lsn, floe_error *err) {
  pgsrc *p = src;
  /* one connection, kept: a LATEST read costs one round trip */
  for (int attempt = 0; attempt < 2; attempt++) {
    if (!p->lsn_conn)
      FLOE_TRY(pgx_conn_open(p->conninfo, PGX_CONN_SQL, &p->lsn_conn, err));
    PGresult *r = NULL;
    floe_status st =
        pgx_query(p->lsn_conn, "pg_current_wal_lsn",
                  "SELECT pg_current_wal_lsn()::text", 0, NULL, &r, NULL, err);
    if (st == FLOE_OK) {
      bool ok = PQntuples(r) == 1 && pgx_lsn_parse(PQgetvalue(r, 0, 0), lsn);
      PQclear(r);
      if (!ok)
        return ferr_set(err, FLOE_ECORRUPT,
                        "pg_current_wal_lsn() returned no LSN");
      return FLOE_OK;
    }
    /* a connection the server dropped: once more on a new one */
    pgx_conn_close(p->lsn_conn);
    p->lsn_conn = NULL;
    if (attempt == 1) return st;
  }
  return FLOE_EIO;
}

static void pg_request_stop(void *src) {
  pgsrc *p = src;
  pgs_request_stop(p->s);
}

static void pg_free(void *src) {
  pgsrc *p = src;
  if (!p) return;
  pgs_free(p->s);
  pgx_conn_close(p->lsn_conn);
  free(p->conninfo);
  free(p);
}

const dmn_source_ops dmn_pg_source = {
    .open = pg_open,
    .poll = pg_poll,
    .add_table = pg_add,
    .remove_table = pg_remove,
    .schema = pg_schema,
    .keepalive = pg_keepalive,
    .stop = pg_stop,
    .tick = pg_tick,
    .flush = pg_flush,
    .compact = pg_compact,
    .status = pg_status,
    .read_state = pg_read_state,
    .wal_lsn = pg_wal_lsn,
    .request_stop = pg_request_stop,
    .free = pg_free,
};
