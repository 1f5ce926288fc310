/*
 * The source's setup and life cycle: publication + slot, discovery, floe
 * tables, initial copy, the stream and its callbacks (feedback), tables
 * added and removed while it runs, dropped source tables, status, stop.
 * The message -> engine mapping is source_apply.c; schema changes are
 * source_schema.c. README "The source" has the rules.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg/source_int.h"
#include "table/ingest.h"

void pgs_opts_init(pgs_opts *o) {
  memset(o, 0, sizeof *o);
  floe_table_config_init(&o->table);
  /* binary: cheaper on both sides since pgtypes reads send formats without
   * per-value formatting (bench/source_run) */
  o->copy_format = PGX_COPY_BINARY;
  o->progress = PGX_PROGRESS_AUTO;
}

const char *pgs_state_name(pgs_state st) {
  switch (st) {
  case PGS_STARTING: return "starting";
  case PGS_COPYING: return "copying";
  case PGS_STREAMING: return "streaming";
  case PGS_PAUSED: return "paused";
  case PGS_STOPPED: return "stopped";
  case PGS_ERROR: return "error";
  }
  return "?";
}

int64_t pgs_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static char *dupz(const char *s) { return s ? strdup(s) : NULL; }

/* ---- tables ---- */

static void tab_destroy(pgs_tab *tab) {
  floe_row_free(tab->row);
  floe_row_free(tab->old);
  if (tab->t) {
    if (tab->close_clean) {
      floe_error e;
      if (floe_table_close(tab->t, &e))
        fprintf(stderr, "floe: closing %s.%s: %s\n", tab->ns, tab->name, e.msg);
    } else {
      floe_table_free(tab->t);
    }
  }
  pgs_tab_rc_free(tab);
  pgs_spool_free(tab->spool);
  free(tab->rel_raw);
  free(tab->att);
  for (int i = 0; i < tab->nleaf; i++) free(tab->leaf[i].name);
  free(tab->leaf);
  free(tab->state_dir);
  free(tab->schema);
  free(tab->table);
  free(tab->ns);
  free(tab->name);
  free(tab);
}

static pgs_tab *tab_ref(pgs_tab *tab) {
  atomic_fetch_add(&tab->refs, 1);
  return tab;
}

static void tab_unref(pgs_tab *tab) {
  if (tab && atomic_fetch_sub(&tab->refs, 1) == 1) tab_destroy(tab);
}

static floe_status tab_new(const pgs_table_spec *sp, pgs_tab **out,
                           floe_error *err) {
  if (!sp->schema || !sp->table || !*sp->schema || !*sp->table)
    return ferr_set(err, FLOE_EINVAL, "a table needs a schema and a name");
  pgs_tab *tab = calloc(1, sizeof *tab);
  if (!tab) return ferr_nomem(err, sizeof *tab);
  atomic_init(&tab->refs, 1);
  atomic_init(&tab->tick_failed, 0);
  tab->schema = strdup(sp->schema);
  tab->table = strdup(sp->table);
  tab->ns = strdup(sp->ns ? sp->ns : sp->schema);
  tab->name = strdup(sp->name ? sp->name : sp->table);
  tab->copy = sp->copy;
  if (sp->cfg) {
    tab->own_cfg = true;
    tab->cfg = *sp->cfg;
    tab->cfg.state_dir = NULL;
    if (sp->cfg->state_dir &&
        !(tab->cfg.state_dir = tab->state_dir = strdup(sp->cfg->state_dir))) {
      tab_destroy(tab);
      return ferr_nomem(err, strlen(sp->cfg->state_dir) + 1);
    }
  }
  tab->state = PGS_STARTING;
  tab->copy_eta = -1;
  if (!tab->schema || !tab->table || !tab->ns || !tab->name) {
    tab_destroy(tab);
    return ferr_nomem(err, 256);
  }
  *out = tab;
  return FLOE_OK;
}

static floe_status tab_push(pgs_source *s, pgs_tab *tab, floe_error *err) {
  pthread_mutex_lock(&s->mu);
  floe_status st = FLOE_OK;
  if (s->ntab == s->captab) {
    int cap = s->captab ? s->captab * 2 : 8;
    pgs_tab **v = realloc(s->tabs, (size_t)cap * sizeof *v);
    if (!v)
      st = ferr_nomem(err, (size_t)cap * sizeof *v);
    else {
      s->tabs = v;
      s->captab = cap;
    }
  }
  if (!st) s->tabs[s->ntab++] = tab;
  pthread_mutex_unlock(&s->mu);
  return st;
}

static void tab_pop(pgs_source *s, pgs_tab *tab) {
  pthread_mutex_lock(&s->mu);
  for (int i = 0; i < s->ntab; i++)
    if (s->tabs[i] == tab) {
      memmove(&s->tabs[i], &s->tabs[i + 1],
              (size_t)(s->ntab - i - 1) * sizeof *s->tabs);
      s->ntab--;
      break;
    }
  pthread_mutex_unlock(&s->mu);
}

pgs_tab *pgs_tab_by_oid(pgs_source *s, uint32_t oid) {
  for (int i = 0; i < s->ntab; i++)
    if (s->tabs[i]->oid == oid) return s->tabs[i];
  return NULL;
}

static pgs_tab *tab_by_name(pgs_source *s, const char *schema,
                            const char *table) {
  for (int i = 0; i < s->ntab; i++)
    if (!strcmp(s->tabs[i]->schema, schema) &&
        !strcmp(s->tabs[i]->table, table))
      return s->tabs[i];
  return NULL;
}

void pgs_tab_set_state(pgs_source *s, pgs_tab *tab, pgs_state st,
                       const char *msg) {
  pthread_mutex_lock(&s->mu);
  pgs_state was = tab->state;
  tab->state = st;
  if (msg) snprintf(tab->last_error, sizeof tab->last_error, "%s", msg);
  pthread_mutex_unlock(&s->mu);
  if (msg && st != was)
    flog_write(s->o.log,
               st == PGS_ERROR    ? FLOG_ERROR
               : st == PGS_PAUSED ? FLOG_WARN
                                  : FLOG_INFO,
               "%s.%s: %s: %s", tab->schema, tab->table, pgs_state_name(st),
               msg);
  if (st != PGS_STREAMING && st != PGS_COPYING) pgs_xacts_forget_tab(s, tab);
}

floe_status pgs_sql(pgs_source *s, pgx_conn **out, floe_error *err) {
  if (s->sql && PQstatus(s->sql->pg) != CONNECTION_OK) {
    pgx_conn_close(s->sql);
    s->sql = NULL;
  }
  if (!s->sql) FLOE_TRY(pgx_conn_open(s->conninfo, PGX_CONN_SQL, &s->sql, err));
  *out = s->sql;
  return FLOE_OK;
}

floe_status pgs_rel_columns(pgs_source *s, const pgx_rel *rel,
                            floe_column **out, floe_error *err) {
  (void)s;
  floe_column *cols = calloc((size_t)rel->ncols + 1, sizeof *cols);
  if (!cols) return ferr_nomem(err, (size_t)rel->ncols * sizeof *cols);
  for (int i = 0; i < rel->ncols; i++) {
    const pgx_col *c = &rel->cols[i];
    pgt_desc d;
    pgx_col_desc(c, &d);
    pgt_map m;
    floe_status st = pgt_map_type(&d, &m, err);
    if (st) {
      free(cols);
      return ferr_prefix(err, st, "%s.%s column %s", rel->schema, rel->name,
                         c->name);
    }
    if (m.warn)
      flog_write(s->o.log, FLOG_WARN,
                 "%s.%s column %s: type %s has no native mapping: kept as "
                 "its text",
                 rel->schema, rel->name, c->name, c->type_sql);
    /* Iceberg has one 32-bit int: int2 is stored as int (values parse
     * straight into it, see pgs_col_map) */
    if (m.type.id == COL_INT16) m.type.id = COL_INT32;
    if (m.type.id == COL_LIST && m.type.elem == COL_INT16)
      m.type.elem = COL_INT32;
    cols[i].name = c->name;
    cols[i].type = (floe_type)m.type.id;
    cols[i].precision = m.type.precision;
    cols[i].scale = m.type.scale;
    cols[i].elem = (floe_type)m.type.elem;
    cols[i].elem_precision = m.type.elem_precision;
    cols[i].elem_scale = m.type.elem_scale;
    /* only key columns are required: Postgres can drop a NOT NULL at any
     * time without a word in the stream */
    cols[i].nullable = c->key < 0 || rel->ident == PGX_IDENT_FULL;
  }
  *out = cols;
  return FLOE_OK;
}

floe_status pgs_tab_rows(pgs_tab *tab, floe_error *err) {
  floe_row_free(tab->row);
  floe_row_free(tab->old);
  tab->row = tab->old = NULL;
  FLOE_TRY(floe_row_new(tab->t, &tab->row, err));
  return floe_row_new(tab->t, &tab->old, err);
}

/* Source attnums of the floe columns, by name. */
static floe_status tab_attnums(pgs_tab *tab, const pgx_rel *rel,
                               floe_error *err) {
  const floe_column *ec = NULL;
  int ne = floe_table_columns(tab->t, &ec);
  int16_t *att = calloc((size_t)ne + 1, sizeof *att);
  if (!att) return ferr_nomem(err, (size_t)ne * 2);
  for (int e = 0; e < ne; e++) {
    int k = pgx_rel_find_col(rel, ec[e].name);
    att[e] = (int16_t)(k >= 0 ? rel->cols[k].attnum : -1);
  }
  free(tab->att);
  tab->att = att;
  tab->natt = ne;
  return FLOE_OK;
}

static floe_status check_leaves_of(pgs_source *s, pgs_tab *tab,
                                   floe_error *err);

/* Opens (or creates) the floe table of tab for discovered rel. */
static floe_status open_engine(pgs_source *s, pgs_tab *tab, const pgx_rel *rel,
                               floe_error *err) {
  tab->oid = rel->oid;
  tab->ident = rel->ident;
  floe_table_ref ref = {s->catalog_uri, s->warehouse, s->catalog_name, tab->ns,
                        tab->name};
  const floe_table_config *cfg = tab->own_cfg ? &tab->cfg : &s->o.table;
  floe_status st = floe_table_open(&ref, NULL, 0, NULL, 0, cfg, &tab->t, err);
  if (st == FLOE_ENOTFOUND) {
    floe_column *cols = NULL;
    FLOE_TRY(pgs_rel_columns(s, rel, &cols, err));
    /* REPLICA IDENTITY FULL without a key: the whole row is the identity,
     * which the engine calls key-less (rows compared by value) */
    st = floe_table_open(&ref, cols, rel->ncols, rel->key,
                         rel->ident == PGX_IDENT_FULL ? 0 : rel->nkey, cfg,
                         &tab->t, err);
    free(cols);
    if (!st)
      flog_write(s->o.log, FLOG_INFO, "%s.%s: created floe table %s.%s",
                 tab->schema, tab->table, tab->ns, tab->name);
  }
  if (st) return ferr_prefix(err, st, "floe table %s.%s", tab->ns, tab->name);
  /* the identity must be the same columns */
  const floe_column *ec = NULL;
  floe_table_columns(tab->t, &ec);
  const int *key = NULL;
  int nkey = floe_table_key(tab->t, &key);
  bool ok = nkey == (rel->ident == PGX_IDENT_FULL ? 0 : rel->nkey);
  for (int k = 0; ok && k < nkey; k++)
    ok = !strcmp(ec[key[k]].name, rel->cols[rel->key[k]].name);
  if (!ok)
    return ferr_set(err, FLOE_EINVAL,
                    "floe table %s.%s has a different row identity than "
                    "%s.%s: drop it or mirror into another name",
                    tab->ns, tab->name, tab->schema, tab->table);
  FLOE_TRY(pgs_tab_rows(tab, err));
  FLOE_TRY(tab_attnums(tab, rel, err));
  tab->partitioned = rel->relkind == 'p';
  if (tab->partitioned) {
    /* the leaves' first picture, before the copy's snapshot (without it
     * the first catalog check takes it) */
    floe_error e;
    if (check_leaves_of(s, tab, &e))
      flog_write(s->o.log, FLOG_WARN, "%s.%s: %s", tab->schema, tab->table,
                 e.msg);
  }
  return FLOE_OK;
}

/* Brings the floe table's columns to the source's (before a copy). */
static floe_status match_schema(pgs_source *s, pgs_tab *tab, const pgx_rel *rel,
                                floe_error *err) {
  floe_column *cols = NULL;
  FLOE_TRY(pgs_rel_columns(s, rel, &cols, err));
  const floe_column *ec = NULL;
  int ne = floe_table_columns(tab->t, &ec);
  bool same = ne == rel->ncols;
  for (int i = 0; same && i < ne; i++)
    same = !strcmp(ec[i].name, cols[i].name) && ec[i].type == cols[i].type &&
           ec[i].precision == cols[i].precision &&
           ec[i].scale == cols[i].scale && ec[i].elem == cols[i].elem;
  floe_status st = FLOE_OK;
  if (!same) {
    for (int i = 0; i < rel->ncols; i++) {
      /* keep a column's nullability and an int16 that reads as int32 */
      for (int e = 0; e < ne; e++)
        if (!strcmp(ec[e].name, cols[i].name)) {
          cols[i].nullable = ec[e].nullable;
          if (cols[i].type == FLOE_INT16 && ec[e].type == FLOE_INT32)
            cols[i].type = FLOE_INT32;
        }
    }
    st = floe_table_alter(tab->t, cols, rel->ncols, err);
    if (st == FLOE_EUNSUPPORTED) {
      /* a type Iceberg cannot evolve into: the copy replaces every row, so
       * such a column is dropped and added again (a new field id) */
      floe_column *keep = calloc((size_t)ne + 1, sizeof *keep);
      int nk = 0;
      for (int e = 0; keep && e < ne; e++) {
        bool clash = false;
        for (int i = 0; i < rel->ncols; i++)
          if (!strcmp(ec[e].name, cols[i].name))
            clash = ec[e].type != cols[i].type ||
                    ec[e].precision != cols[i].precision ||
                    ec[e].scale != cols[i].scale || ec[e].elem != cols[i].elem;
        if (!clash) keep[nk++] = ec[e];
      }
      st = keep ? floe_table_alter(tab->t, keep, nk, err) : ferr_nomem(err, 64);
      free(keep);
      ec = NULL; /* gone with the alter */
      if (!st) st = floe_table_alter(tab->t, cols, rel->ncols, err);
    }
    if (!st) st = pgs_tab_rows(tab, err);
    if (!st) st = tab_attnums(tab, rel, err);
  }
  free(cols);
  return st;
}

/* ---- the copy ---- */

/* The engine's share of a copy (tbl_insert_batch: columnar appends and
 * the Parquet spills of a large transaction) runs on a worker thread, so
 * the thread reading the COPY connections keeps reading and parsing while
 * a batch goes into the engine: without it, the connections wait (their
 * socket buffers fill) whenever the engine works, and the server's work
 * and floe's do not overlap. The worker owns the copy's floe table between
 * the copy's floe_truncate and its end (the ingest thread does not touch
 * that table meanwhile: a table being copied takes no stream changes);
 * hand-offs go through mu, which orders the engine's memory between the
 * two threads. */
#define COPY_QUEUE 2

typedef struct copy_worker {
  pthread_t th;
  bool running;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  col_batch *q[COPY_QUEUE]; /* (mu) FIFO, n entries from head */
  int head, n;
  /* (mu) batches the engine is done with, given back to the copy in
   * exchange for full ones (their buffers stay allocated) */
  col_batch *spare[COPY_QUEUE + 1];
  int nspare;
  bool busy;      /* (mu) a batch is in the engine */
  bool end;       /* (mu) no more batches */
  floe_status st; /* (mu) the first failure */
  floe_error err; /* (mu) */
  floe_table *t;
} copy_worker;

typedef struct copy_ctx {
  pgs_source *s;
  pgs_tab *tab;
  bool service;   /* keep the stream going during the copy */
  copy_worker *w; /* NULL: batches go into the engine on the caller's thread */
} copy_ctx;

/* Appends list column src widened element by element into out (a list of
 * a wider integer element). */
static floe_status widen_list(col_column *out, const col_column *src,
                              floe_error *err) {
  const int32_t *off = col_offsets(src);
  const col_column *ch = src->child;
  for (int64_t i = 0; i < src->length; i++) {
    if (!col_is_valid(src, i)) {
      FLOE_TRY(col_append_null(out, err));
      continue;
    }
    for (int32_t j = off[i]; j < off[i + 1]; j++) {
      if (!col_is_valid(ch, j)) {
        FLOE_TRY(col_append_null(out->child, err));
        continue;
      }
      int64_t v = ch->type.id == COL_INT16
                      ? *(const int16_t *)col_get_fixed(ch, j, 2)
                      : *(const int32_t *)col_get_fixed(ch, j, 4);
      if (out->child->type.id == COL_INT32)
        FLOE_TRY(col_append_i32(out->child, (int32_t)v, err));
      else
        FLOE_TRY(col_append_i64(out->child, v, err));
    }
    FLOE_TRY(col_list_end(out, err));
  }
  return FLOE_OK;
}

/* Batch b (in the copy's column order) into floe table t's transaction 0,
 * mapped to t's columns. */
static floe_status insert_batch(floe_table *t, col_batch *b, floe_error *err) {
  const floe_column *ec = NULL;
  int ne = floe_table_columns(t, &ec);
  /* lists whose integer elements the floe table keeps wider */
  for (int i = 0; i < ne && i < b->schema->nfields; i++) {
    col_column *src = &b->cols[i];
    if (src->type.id != COL_LIST || ec[i].type != FLOE_LIST ||
        (floe_type)src->type.elem == ec[i].elem)
      continue;
    col_dtype t = src->type;
    t.elem = (col_type)ec[i].elem;
    col_column w;
    FLOE_TRY(col_init(&w, t, err));
    floe_status st = widen_list(&w, src, err);
    if (st) {
      col_free(&w);
      return st;
    }
    col_free(src);
    *src = w;
  }
  /* the floe table may order its columns differently (a column dropped and
   * added again sits at the end): a shallow batch in its order */
  bool same = true;
  for (int i = 0; i < ne && i < b->schema->nfields; i++)
    same &= !strcmp(ec[i].name, b->schema->fields[i].name);
  if (same || ne != b->schema->nfields)
    return tbl_insert_batch(t, 0, 0, b, err);
  col_column *perm = calloc((size_t)ne, sizeof *perm);
  if (!perm) return ferr_nomem(err, (size_t)ne * sizeof *perm);
  floe_status st = FLOE_OK;
  for (int i = 0; i < ne && !st; i++) {
    int k = col_schema_find(b->schema, ec[i].name);
    if (k < 0)
      st = ferr_set(err, FLOE_EINVAL, "copy: no column %s", ec[i].name);
    else
      perm[i] = b->cols[k]; /* borrowed buffers: freed with b only */
  }
  col_batch view = {b->schema, b->length, perm};
  if (!st) st = tbl_insert_batch(t, 0, 0, &view, err);
  free(perm);
  return st;
}

static void *copy_worker_main(void *arg) {
  copy_worker *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->n && !w->end) pthread_cond_wait(&w->cv, &w->mu);
    if (!w->n) break;
    col_batch *b = w->q[w->head];
    w->head = (w->head + 1) % COPY_QUEUE;
    w->n--;
    w->busy = true;
    bool failed = w->st != FLOE_OK;
    pthread_mutex_unlock(&w->mu);
    floe_error e;
    ferr_clear(&e);
    floe_status st = failed ? FLOE_OK : insert_batch(w->t, b, &e);
    pthread_mutex_lock(&w->mu);
    if (!st && !failed && w->nspare < COPY_QUEUE + 1)
      w->spare[w->nspare++] = b;
    else
      col_batch_free(b);
    w->busy = false;
    if (st && !w->st) {
      w->st = st;
      w->err = e;
    }
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

static floe_status copy_worker_start(copy_worker *w, floe_table *t,
                                     floe_error *err) {
  memset(w, 0, sizeof *w);
  w->t = t;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  int rc = pthread_create(&w->th, NULL, copy_worker_main, w);
  if (rc) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    return ferr_set(err, FLOE_EIO, "copy worker: %s", strerror(rc));
  }
  w->running = true;
  return FLOE_OK;
}

/* Waits for the queued batches to be in the engine (or dropped after a
 * failure) and ends the worker; returns its first failure. */
static floe_status copy_worker_finish(copy_worker *w, floe_error *err) {
  if (!w->running) return FLOE_OK;
  pthread_mutex_lock(&w->mu);
  w->end = true;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->th, NULL);
  w->running = false;
  floe_status st = w->st;
  if (st && err) *err = w->err;
  for (int i = 0; i < w->nspare; i++) col_batch_free(w->spare[i]);
  w->nspare = 0;
  pthread_cond_destroy(&w->cv);
  pthread_mutex_destroy(&w->mu);
  return st;
}

static floe_status on_batch(void *ctx, col_batch **bp, floe_error *err) {
  copy_ctx *c = ctx;
  copy_worker *w = c->w;
  if (!w) return insert_batch(c->tab->t, *bp, err);
  pthread_mutex_lock(&w->mu);
  while (w->n == COPY_QUEUE && !w->st) pthread_cond_wait(&w->cv, &w->mu);
  floe_status st = w->st;
  if (st) {
    if (err) *err = w->err;
  } else {
    /* taken; the copy gets a spare one of the same schema back (or makes
     * a new one) for the next rows */
    col_batch *full = *bp;
    w->q[(w->head + w->n) % COPY_QUEUE] = full;
    w->n++;
    *bp = NULL;
    while (w->nspare && !*bp) {
      col_batch *sp = w->spare[--w->nspare];
      if (sp->schema == full->schema)
        *bp = sp;
      else
        col_batch_free(sp);
    }
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  return st;
}

static floe_status on_progress(void *ctx, const pgx_copy_progress *p,
                               floe_error *err) {
  copy_ctx *c = ctx;
  pthread_mutex_lock(&c->s->mu);
  c->tab->copy_rows = p->rows;
  c->tab->copy_eta = p->eta_s;
  pthread_mutex_unlock(&c->s->mu);
  if (atomic_load(&c->s->stop_req))
    return ferr_set(err, FLOE_EEOF, "stop requested during the copy");
  if (c->service && c->s->stream && !c->s->failed) {
    floe_error e;
    if (pgx_stream_poll(c->s->stream, 0, &e) && !c->s->failed) {
      c->s->failed = true;
      c->s->fail = e;
    }
  }
  return FLOE_OK;
}

/* One table in open copy cp at snapshot LSN lsn: one engine transaction
 * (xid 0, which no source transaction has) replacing the table's rows,
 * committed at lsn. */
static floe_status copy_one(pgs_source *s, pgs_tab *tab, pgx_copy *cp,
                            copy_ctx *cc, const pgx_rel *rel, uint64_t lsn,
                            bool service, floe_error *err) {
  pgs_tab_set_state(s, tab, PGS_COPYING, NULL);
  uint64_t applied = floe_applied_lsn(tab->t);
  if (lsn <= applied)
    return ferr_set(err, FLOE_EINVAL,
                    "floe table %s.%s is ahead of the source (applied %" PRIX64
                    " >= snapshot %" PRIX64 "): another server?",
                    tab->ns, tab->name, applied, lsn);
  FLOE_TRY(match_schema(s, tab, rel, err));
  (void)service;
  floe_status st = floe_truncate(tab->t, 0, 0, err);
  int64_t rows = 0;
  int64_t t0 = pgs_now_ms();
  copy_worker w;
  if (!st && !s->o.copy_inline) {
    st = copy_worker_start(&w, tab->t, err);
    if (!st) cc->w = &w;
  }
  if (!st) st = pgx_copy_table(cp, rel, NULL, &rows, err);
  if (cc->w) {
    floe_error we;
    floe_status wst = copy_worker_finish(&w, &we);
    cc->w = NULL;
    if (wst && !st) {
      st = wst;
      if (err) *err = we;
    }
  }
  int64_t t1 = pgs_now_ms();
  if (!st) st = floe_commit(tab->t, 0, lsn, err);
  if (st) {
    (void)floe_abort(tab->t, 0, 0, NULL);
    return ferr_prefix(err, st, "copy of %s.%s", tab->schema, tab->table);
  }
  pthread_mutex_lock(&s->mu);
  tab->copy_rows = rows;
  tab->copy_lsn = lsn;
  tab->copy_eta = 0;
  pthread_mutex_unlock(&s->mu);
  char l[PGX_LSN_STR];
  flog_write(s->o.log, FLOG_INFO,
             "%s.%s: copied %" PRId64 " rows in %.2f s, committed in %.2f s "
             "(snapshot %s)",
             tab->schema, tab->table, rows, (double)(t1 - t0) / 1000,
             (double)(pgs_now_ms() - t1) / 1000, pgx_lsn_format(lsn, l));
  return FLOE_OK;
}

static void copy_opts(pgs_source *s, pgx_copy_opts *o, copy_ctx *cc,
                      const char *snapshot) {
  memset(o, 0, sizeof *o);
  o->conninfo = s->conninfo;
  o->snapshot = snapshot;
  o->connections = s->o.copy_connections;
  o->ranges = s->o.copy_ranges;
  o->format = s->o.copy_format;
  o->progress = s->o.progress;
  o->progress_ms = cc->service ? 50 : 0;
  o->log = s->o.log;
  o->on_batch = on_batch;
  o->on_progress = on_progress;
  o->ctx = cc;
}

/* A temporary slot's name: unique among this server's slots while it
 * lives (pid + sequence), within the 63-byte limit. */
static void tmp_slot_name(pgs_source *s, char out[PGX_NAME_MAX]) {
  snprintf(out, PGX_NAME_MAX, "floe_tmp_%ld_%d_%lld", (long)getpid(),
           ++s->tmpseq, (long long)(wall_us() % 1000000));
}

/* Copies tables tabs[0..n) (rels alike) in one fresh snapshot (a temporary
 * slot); a table that fails goes to PGS_ERROR and the rest get a new
 * snapshot. */
static floe_status copy_fresh(pgs_source *s, pgs_tab **tabs,
                              const pgx_rel **rels, int n, bool service,
                              floe_error *err) {
  int done = 0;
  while (done < n) {
    copy_ctx cc = {s, NULL, service, NULL};
    pgx_copy_opts o;
    copy_opts(s, &o, &cc, NULL);
    char tmp[PGX_NAME_MAX];
    tmp_slot_name(s, tmp);
    pgx_copy *cp = NULL;
    uint64_t lsn = 0;
    FLOE_TRY(pgx_copy_open_fresh(&o, tmp, &cp, &lsn, err));
    for (; done < n; done++) {
      cc.tab = tabs[done];
      floe_error e;
      if (copy_one(s, tabs[done], cp, &cc, rels[done], lsn, service, &e)) {
        pgs_tab_set_state(s, tabs[done], PGS_ERROR, e.msg);
        if (e.code == FLOE_EEOF) {
          pgx_copy_free(cp);
          return ferr_set(err, FLOE_EEOF, "%s", e.msg);
        }
        done++;
        break; /* the snapshot's connections may be unusable: a new one */
      }
    }
    pgx_copy_free(cp);
  }
  return FLOE_OK;
}

/* ---- stream callbacks ---- */

static void mirror_fail(pgs_source *s, const floe_error *e) {
  if (!s->failed) {
    s->failed = true;
    s->fail = *e;
  }
  flog_write(s->o.log, FLOG_ERROR, "mirror %s: %s", s->mirror, s->fail.msg);
  pthread_mutex_lock(&s->mu);
  s->state = PGS_ERROR;
  snprintf(s->last_error, sizeof s->last_error, "%s", s->fail.msg);
  pthread_mutex_unlock(&s->mu);
  char msg[FLOE_ERROR_MSG_MAX];
  snprintf(msg, sizeof msg, "mirror stopped: %.400s", s->fail.msg);
  for (int i = 0; i < s->ntab; i++)
    if (s->tabs[i]->state == PGS_STREAMING || s->tabs[i]->state == PGS_COPYING)
      pgs_tab_set_state(s, s->tabs[i], PGS_ERROR, msg);
}

static floe_status cb_message(void *ctx, uint64_t wal_start, uint64_t wal_end,
                              const uint8_t *data, size_t len,
                              floe_error *err) {
  (void)wal_end;
  pgs_source *s = ctx;
  if (s->failed) {
    if (err) *err = s->fail;
    return s->fail.code;
  }
  floe_status st = pgs_handle(s, wal_start, data, len, err);
  if (st) {
    ferr_prefix(err, st, "message at %" PRIX64, wal_start);
    mirror_fail(s, err);
  }
  return st;
}

/* What the slot may confirm: the lowest durable LSN over the tables that
 * follow the stream. A table whose copy is not durable yet does not count
 * (after a crash it is copied again from a fresh snapshot), nor one that
 * stopped applying (paused, error, stopped: resuming it means a resync). */
static uint64_t cb_durable(void *ctx) {
  pgs_source *s = ctx;
  uint64_t v = UINT64_MAX;
  for (int i = 0; i < s->ntab; i++) {
    pgs_tab *tab = s->tabs[i];
    if (!tab->t || tab->state != PGS_STREAMING || tab->spool) continue;
    uint64_t d = floe_durable_lsn(tab->t);
    if (tab->copy_lsn && d < tab->copy_lsn) continue;
    if (d < v) v = d;
  }
  if (v == UINT64_MAX) v = s->last_durable;
  if (v > s->last_durable) s->last_durable = v;
  return s->last_durable;
}

static floe_status cb_restart(void *ctx, uint64_t start, floe_error *err) {
  pgs_source *s = ctx;
  char l[PGX_LSN_STR];
  flog_write(s->o.log, FLOG_INFO, "mirror %s: streaming from %s", s->mirror,
             pgx_lsn_format(start, l));
  pgs_drop_xacts(s);
  for (int i = 0; i < s->ntab; i++) pgs_tab_rc_free(s->tabs[i]);
  pgo_decoder_free(&s->dec);
  FLOE_TRY(pgo_decoder_init(&s->dec, 2, err));
  return pgs_spool_restart(s, err);
}

static void cb_keepalive(void *ctx, uint64_t wal_end) {
  pgs_source *s = ctx;
  /* nothing of a non-streamed transaction is pending: every commit up to
   * the server's decoding position has been delivered (open streamed ones
   * commit later, past it) */
  if (s->in_txn || s->failed) return;
  pgs_advance_all(s, wal_end);
  if (!s->nstx) atomic_store(&s->caught_up, 1);
  if (wal_end > s->pos) s->pos = wal_end;
}

static floe_status open_stream(pgs_source *s, floe_error *err) {
  pgx_stream_opts o;
  memset(&o, 0, sizeof o);
  o.conninfo = s->conninfo;
  o.slot = s->slot;
  o.publication = s->pub;
  o.status_interval_ms = s->o.status_interval_ms;
  o.backoff_min_ms = s->o.backoff_min_ms;
  o.backoff_max_ms = s->o.backoff_max_ms;
  o.max_retries = s->o.max_retries;
  o.log = s->o.log;
  pgx_stream_cbs cb = {cb_message, cb_durable, cb_restart, cb_keepalive, s};
  return pgx_stream_open(&o, &cb, &s->stream, err);
}

/* ---- open ---- */

static floe_status source_new(const pgs_opts *o, pgs_source **out,
                              floe_error *err) {
  if (!o || !o->conninfo || !o->mirror || !o->catalog_uri)
    return ferr_set(err, FLOE_EINVAL,
                    "pgs_open: conninfo, mirror and catalog_uri are required");
  char slot[PGX_NAME_MAX];
  FLOE_TRY(pgx_mirror_object_name(o->mirror, slot, err));
  pgs_source *s = calloc(1, sizeof *s);
  if (!s) return ferr_nomem(err, sizeof *s);
  s->o = *o;
  s->conninfo = dupz(o->conninfo);
  s->mirror = dupz(o->mirror);
  s->pubname_opt = dupz(o->publication);
  s->catalog_uri = dupz(o->catalog_uri);
  s->warehouse = dupz(o->warehouse);
  s->catalog_name = dupz(o->catalog_name);
  s->spool_dir = dupz(o->spool_dir);
  s->o.table.state_dir = NULL;
  pthread_mutex_init(&s->mu, NULL);
  farena_init(&s->arena, 4096, 0);
  atomic_init(&s->stop_req, 0);
  atomic_init(&s->caught_up, 0);
  s->state = PGS_STARTING;
  snprintf(s->slot, sizeof s->slot, "%s", slot);
  s->own_pub = !o->publication;
  snprintf(s->pub, sizeof s->pub, "%s", o->publication ? o->publication : slot);
  if (s->o.catalog_check_ms <= 0) s->o.catalog_check_ms = 2000;
  *out = s;
  if (!s->conninfo || !s->mirror || !s->catalog_uri ||
      (o->warehouse && !s->warehouse) || (o->catalog_name && !s->catalog_name))
    return ferr_nomem(err, 256);
  return pgo_decoder_init(&s->dec, 2, err);
}

floe_status pgs_open(const pgs_opts *opts, const pgs_table_spec *specs, int n,
                     pgs_source **out, floe_error *err) {
  *out = NULL;
  pgs_source *s = NULL;
  floe_status st = source_new(opts, &s, err);
  pgx_rel **rels = calloc((size_t)n + 1, sizeof *rels);
  pgx_conn *repl = NULL;
  pgx_copy *cp = NULL;
  if (!st && !rels) st = ferr_nomem(err, (size_t)n * sizeof *rels);
  if (!st) st = pgs_sql(s, &s->sql, err);
  if (!st) snprintf(s->desc, sizeof s->desc, "%s", pgx_conn_desc(s->sql));

  /* discovery and floe tables; a table fails alone */
  pgx_rel_opts ro = {opts ? opts->set_replica_full : false,
                     opts ? opts->lock_timeout_ms : 0};
  for (int i = 0; i < n && !st; i++) {
    pgs_tab *tab = NULL;
    st = tab_new(&specs[i], &tab, err);
    if (!st && tab_by_name(s, tab->schema, tab->table)) {
      st = ferr_set(err, FLOE_EINVAL, "%s.%s is listed twice", tab->schema,
                    tab->table);
      tab_destroy(tab);
    }
    if (!st) st = tab_push(s, tab, err);
    if (st) break;
    floe_error e;
    if (pgx_rel_load(s->sql, tab->schema, tab->table, &ro, &rels[i], &e) ||
        open_engine(s, tab, rels[i], &e)) {
      pgs_tab_set_state(s, tab, PGS_ERROR, e.msg);
      continue;
    }
  }

  /* publication. A table it did not publish yet was never in the slot's
   * stream: whatever its floe table holds, it needs a copy. */
  bool *unpublished = calloc((size_t)n + 1, sizeof *unpublished);
  if (!st && !unpublished) st = ferr_nomem(err, (size_t)n);
  if (!st && s->own_pub) {
    bool exists = false;
    st = pgx_pub_exists(s->sql, s->pub, &exists, NULL, err);
    for (int i = 0; !st && i < n; i++) {
      bool has = false;
      if (exists && rels[i] && s->tabs[i]->t)
        st = pgx_pub_has_table(s->sql, s->pub, s->tabs[i]->schema,
                               s->tabs[i]->table, &has, err);
      unpublished[i] = !has;
    }
    pgx_table_name *names = calloc((size_t)n + 1, sizeof *names);
    int k = 0;
    for (int i = 0; names && i < n; i++)
      if (rels[i] && s->tabs[i]->t)
        names[k++] = (pgx_table_name){s->tabs[i]->schema, s->tabs[i]->table};
    bool created = false;
    st = names ? pgx_pub_ensure(s->sql, s->pub, names, k, &created, err)
               : ferr_nomem(err, 64);
    free(names);
  } else if (!st) {
    for (int i = 0; i < n; i++) {
      if (!s->tabs[i]->t) continue;
      pgx_table_name nm = {s->tabs[i]->schema, s->tabs[i]->table};
      floe_error e;
      if (pgx_pub_verify(s->sql, s->pub, &nm, 1, &e))
        pgs_tab_set_state(s, s->tabs[i], PGS_ERROR, e.msg);
    }
  }

  /* slot, and which tables need a copy */
  pgx_slot slot;
  memset(&slot, 0, sizeof slot);
  if (!st) st = pgx_conn_open(s->conninfo, PGX_CONN_REPLICATION, &repl, err);
  if (!st) st = pgx_slot_ensure(repl, s->slot, &slot, err);
  pgs_tab **need = calloc((size_t)n + 1, sizeof *need);
  const pgx_rel **nrel = calloc((size_t)n + 1, sizeof *nrel);
  int nneed = 0;
  if (!st && (!need || !nrel)) st = ferr_nomem(err, (size_t)n * 16);
  for (int i = 0; i < n && !st; i++) {
    pgs_tab *tab = s->tabs[i];
    if (!tab->t || tab->state == PGS_ERROR) continue;
    bool copy =
        tab->copy == PGS_COPY_FORCE ||
        (tab->copy == PGS_COPY_AUTO && !s->o.skip_copy &&
         (slot.created || unpublished[i] || floe_durable_lsn(tab->t) == 0));
    if (copy) {
      need[nneed] = tab;
      nrel[nneed++] = rels[i];
    }
  }
  if (!st && nneed && slot.created) {
    /* the slot's own snapshot: copy + stream meet exactly at its LSN */
    copy_ctx cc = {s, NULL, false, NULL};
    pgx_copy_opts o;
    copy_opts(s, &o, &cc, slot.snapshot);
    st = pgx_copy_open(&o, &cp, err);
    pgx_conn_close(repl);
    repl = NULL;
    int i = 0;
    for (; i < nneed && !st; i++) {
      cc.tab = need[i];
      floe_error e;
      if (copy_one(s, need[i], cp, &cc, nrel[i], slot.lsn, false, &e)) {
        pgs_tab_set_state(s, need[i], PGS_ERROR, e.msg);
        if (e.code == FLOE_EEOF) st = ferr_set(err, FLOE_EEOF, "%s", e.msg);
        i++;
        break;
      }
      pgs_tab_set_state(s, need[i], PGS_STREAMING, NULL);
    }
    pgx_copy_free(cp);
    cp = NULL;
    /* after a failure the snapshot may be gone: the rest get a fresh one */
    if (!st && i < nneed)
      st = copy_fresh(s, need + i, nrel + i, nneed - i, false, err);
  } else if (!st && nneed) {
    pgx_conn_close(repl);
    repl = NULL;
    st = copy_fresh(s, need, nrel, nneed, false, err);
  }
  pgx_conn_close(repl);
  free(need);
  free(nrel);
  free(unpublished);
  for (int i = 0; i < s->ntab && !st; i++) {
    pgs_tab *tab = s->tabs[i];
    if (tab->t && (tab->state == PGS_STARTING || tab->state == PGS_COPYING))
      pgs_tab_set_state(s, tab, PGS_STREAMING, NULL);
  }
  if (!st) st = open_stream(s, err);
  for (int i = 0; i < n; i++) pgx_rel_free(rels[i]);
  free(rels);
  if (st) {
    pgs_free(s);
    return st;
  }
  pthread_mutex_lock(&s->mu);
  s->state = PGS_STREAMING;
  pthread_mutex_unlock(&s->mu);
  s->last_check_ms = s->last_rate_ms = pgs_now_ms();
  *out = s;
  return FLOE_OK;
}

/* ---- running ---- */

/* ---- leaf partitions that lose rows outside the stream ----
 *
 * With publish_via_partition_root, pgoutput drops a TRUNCATE of a leaf
 * partition on its own (it sends only truncates naming the root), and
 * DETACH PARTITION or DROP of a leaf send nothing: the rows leave the table
 * without a change in the stream. Each of these gives the leaf a new
 * relfilenode or removes it from the partition tree, which a catalog check
 * sees. A new relfilenode is explained by a TRUNCATE of the whole table
 * streamed between the two checks; anything else pauses the table once the
 * stream has passed the check (its rows can no longer be trusted; a resync
 * copies it again). VACUUM FULL and CLUSTER of a leaf also give it a new
 * relfilenode and pause the table the same way: from the catalog they look
 * the same as a TRUNCATE, and guessing wrong would diverge silently. */

static void leaves_free(pgs_leaf *v, int n) {
  for (int i = 0; i < n; i++) free(v[i].name);
  free(v);
}

static void leaf_event(pgs_source *s, pgs_tab *tab, uint64_t seen,
                       const char *what) {
  if (tab->nlev == PGS_LEAF_EVENTS) {
    /* too many to judge one by one: the last one stands for them all, and
     * no TRUNCATE can explain it */
    pgs_leaf_event *e = &tab->lev[PGS_LEAF_EVENTS - 1];
    e->base = e->seen = seen;
    snprintf(e->what, sizeof e->what, "%s", what);
    return;
  }
  pgs_leaf_event *e = &tab->lev[tab->nlev++];
  e->base = tab->leaf_base;
  e->seen = seen;
  snprintf(e->what, sizeof e->what, "%s", what);
  char l[PGX_LSN_STR];
  flog_write(s->o.log, FLOG_INFO,
             "%s.%s: catalog: %s; judged once the stream passes %s",
             tab->schema, tab->table, what, pgx_lsn_format(seen, l));
}

/* Reads tab's leaves; compares them with the last check (unless this is
 * the first) and records what lost its rows. */
static floe_status check_leaves_of(pgs_source *s, pgs_tab *tab,
                                   floe_error *err) {
  pgx_conn *c = NULL;
  FLOE_TRY(pgs_sql(s, &c, err));
  PGresult *r = NULL;
  uint64_t base = 0, seen = 0;
  FLOE_TRY(pgx_query(c, "read the WAL position",
                     "SELECT pg_current_wal_lsn()::text", 0, NULL, &r, NULL,
                     err));
  bool ok = pgx_lsn_parse(PQgetvalue(r, 0, 0), &base);
  PQclear(r);
  if (!ok) return ferr_set(err, FLOE_EIO, "bad WAL position");
  char oid[16];
  snprintf(oid, sizeof oid, "%u", tab->oid);
  const char *params[] = {oid};
  FLOE_TRY(pgx_query(
      c, "read leaf partitions",
      "SELECT c.oid, c.relfilenode, format('%s.%s', n.nspname, c.relname), "
      "pg_current_wal_lsn()::text FROM pg_partition_tree($1::oid) t JOIN "
      "pg_class c ON c.oid = t.relid JOIN pg_namespace n ON n.oid = "
      "c.relnamespace WHERE t.isleaf AND c.relkind = 'r'",
      1, params, &r, NULL, err));
  int n = PQntuples(r);
  pgs_leaf *v = calloc((size_t)n + 1, sizeof *v);
  floe_status st = v ? FLOE_OK : ferr_nomem(err, (size_t)n * sizeof *v);
  for (int i = 0; i < n && !st; i++) {
    v[i].oid = (uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10);
    v[i].node = (uint32_t)strtoul(PQgetvalue(r, i, 1), NULL, 10);
    if (!(v[i].name = strdup(PQgetvalue(r, i, 2)))) st = ferr_nomem(err, 64);
  }
  if (!st && n && !pgx_lsn_parse(PQgetvalue(r, 0, 3), &seen))
    st = ferr_set(err, FLOE_EIO, "bad WAL position");
  if (!st && !n) seen = base;
  PQclear(r);
  if (st) {
    leaves_free(v, n);
    return st;
  }
  for (int i = 0; tab->leaf_init && i < tab->nleaf; i++) {
    const pgs_leaf *o = &tab->leaf[i];
    int j = 0;
    while (j < n && v[j].oid != o->oid) j++;
    char what[320];
    if (j == n)
      snprintf(what, sizeof what,
               "partition %.80s was detached or dropped: its rows left the "
               "table without a change in the stream",
               o->name);
    else if (v[j].node != o->node)
      snprintf(what, sizeof what,
               "partition %.80s has a new relfilenode: unless a streamed "
               "TRUNCATE of the table explains it, it was truncated or "
               "rewritten on its own (TRUNCATE of one partition is not "
               "streamed; VACUUM FULL and CLUSTER look the same)",
               o->name);
    else
      continue;
    leaf_event(s, tab, seen, what);
  }
  leaves_free(tab->leaf, tab->nleaf);
  tab->leaf = v;
  tab->nleaf = n;
  tab->leaf_base = base;
  tab->leaf_init = true;
  return FLOE_OK;
}

static void check_leaves(pgs_source *s) {
  for (int i = 0; i < s->ntab; i++) {
    pgs_tab *tab = s->tabs[i];
    if (!tab->t || !tab->partitioned || tab->drop_lsn ||
        tab->state == PGS_STOPPED || tab->state == PGS_PAUSED ||
        tab->state == PGS_ERROR)
      continue;
    floe_error e;
    if (check_leaves_of(s, tab, &e))
      flog_write(s->o.log, FLOG_WARN, "%s.%s: %s", tab->schema, tab->table,
                 e.msg);
  }
}

/* Judges the leaf events the stream has passed. */
static void judge_leaves(pgs_source *s) {
  for (int i = 0; i < s->ntab; i++) {
    pgs_tab *tab = s->tabs[i];
    while (tab->nlev && s->pos >= tab->lev[0].seen &&
           tab->state != PGS_COPYING && tab->state != PGS_STARTING) {
      pgs_leaf_event ev = tab->lev[0];
      memmove(&tab->lev[0], &tab->lev[1],
              (size_t)(tab->nlev - 1) * sizeof tab->lev[0]);
      tab->nlev--;
      if (tab->state != PGS_STREAMING) continue;
      if (tab->root_trunc_lsn > ev.base && tab->root_trunc_lsn <= ev.seen &&
          strstr(ev.what, "new relfilenode")) {
        flog_write(s->o.log, FLOG_DEBUG,
                   "%s.%s: new leaf file explained by a streamed TRUNCATE",
                   tab->schema, tab->table);
        continue;
      }
      char msg[FLOE_ERROR_MSG_MAX];
      snprintf(msg, sizeof msg,
               "%.60s.%.60s: %.320s: floe cannot tell which rows it lost; "
               "resync the table",
               tab->schema, tab->table, ev.what);
      pgs_tab_set_state(s, tab, PGS_PAUSED, msg);
    }
  }
}

/* Looks for mirrored tables that no longer exist at the source. Their last
 * changes may still be on the way: the table stops once the stream has
 * passed the WAL position at which the drop was seen. */
static void check_dropped(pgs_source *s) {
  fbuf b = FBUF_INIT;
  floe_error e;
  int k = 0;
  fbuf_printf(&b, &e, "{");
  for (int i = 0; i < s->ntab; i++) {
    pgs_tab *tab = s->tabs[i];
    if (!tab->t || tab->drop_lsn || tab->state == PGS_STOPPED) continue;
    fbuf_printf(&b, &e, "%s%u", k++ ? "," : "", tab->oid);
  }
  fbuf_printf(&b, &e, "}");
  fbuf_put_u8(&b, 0, &e);
  pgx_conn *c = NULL;
  PGresult *r = NULL;
  const char *params[] = {(const char *)b.data};
  if (k && !pgs_sql(s, &c, &e) &&
      !pgx_query(c, "look for dropped tables",
                 "SELECT o, pg_current_wal_lsn()::text, EXISTS (SELECT 1 FROM "
                 "pg_class WHERE oid = o) FROM unnest($1::oid[]) o",
                 1, params, &r, NULL, &e)) {
    for (int i = 0; i < PQntuples(r); i++) {
      if (PQgetvalue(r, i, 2)[0] == 't') continue;
      uint32_t oid = (uint32_t)strtoul(PQgetvalue(r, i, 0), NULL, 10);
      pgs_tab *tab = pgs_tab_by_oid(s, oid);
      uint64_t lsn = 0;
      if (tab && pgx_lsn_parse(PQgetvalue(r, i, 1), &lsn)) {
        tab->drop_lsn = lsn;
        flog_write(s->o.log, FLOG_INFO,
                   "%s.%s: dropped at the source; stopping once the stream "
                   "reaches %s",
                   tab->schema, tab->table, PQgetvalue(r, i, 1));
      }
    }
    PQclear(r);
    if (s->stream) (void)pgx_stream_send_status(s->stream, true, NULL);
  }
  fbuf_free(&b);
}

static void stop_dropped(pgs_source *s) {
  for (int i = 0; i < s->ntab; i++) {
    pgs_tab *tab = s->tabs[i];
    if (!tab->drop_lsn || tab->state != PGS_STREAMING || s->pos < tab->drop_lsn)
      continue;
    char msg[FLOE_ERROR_MSG_MAX], l[PGX_LSN_STR];
    snprintf(msg, sizeof msg,
             "source table %s.%s was dropped (seen at %s): mirroring stopped; "
             "the Iceberg table keeps its rows",
             tab->schema, tab->table, pgx_lsn_format(tab->drop_lsn, l));
    pgs_tab_set_state(s, tab, PGS_STOPPED, msg);
  }
}

static void publish_stats(pgs_source *s, int64_t now) {
  pgx_stream_stats ss;
  if (s->stream) pgx_stream_get_stats(s->stream, &ss);
  pthread_mutex_lock(&s->mu);
  if (s->stream) s->sst = ss;
  s->messages = s->n_msg;
  s->ignored = s->n_ign;
  s->transactions = s->n_txn;
  if (now - s->last_rate_ms >= 1000) {
    double dt = (double)(now - s->last_rate_ms) / 1000.0;
    for (int i = 0; i < s->ntab; i++) {
      pgs_tab *tab = s->tabs[i];
      tab->rate = (double)(tab->changes - tab->rate_base) / dt;
      tab->rate_base = tab->changes;
    }
    s->last_rate_ms = now;
  }
  pthread_mutex_unlock(&s->mu);
}

floe_status pgs_poll(pgs_source *s, int timeout_ms, floe_error *err) {
  if (s->failed) {
    if (err) *err = s->fail;
    return s->fail.code;
  }
  if (s->stopped || !s->stream)
    return ferr_set(err, FLOE_EINVAL, "mirror %s is stopped", s->mirror);
  if (atomic_load(&s->stop_req))
    return ferr_set(err, FLOE_EEOF, "stop requested");
  floe_error e;
  ferr_clear(&e);
  floe_status st = pgx_stream_poll(s->stream, timeout_ms, &e);
  if (st && !s->failed) mirror_fail(s, &e);
  int64_t now = pgs_now_ms();
  if (!s->failed && now - s->last_check_ms >= s->o.catalog_check_ms) {
    s->last_check_ms = now;
    check_dropped(s);
    check_leaves(s);
  }
  stop_dropped(s);
  judge_leaves(s);
  for (int i = 0; i < s->ntab; i++) {
    pgs_tab *tab = s->tabs[i];
    if (atomic_exchange(&tab->tick_failed, 0)) {
      pthread_mutex_lock(&s->mu);
      snprintf(e.msg, sizeof e.msg, "%s", tab->last_error);
      pthread_mutex_unlock(&s->mu);
      flog_write(s->o.log, FLOG_WARN, "%s.%s: %s", tab->schema, tab->table,
                 e.msg);
    }
  }
  if (s->o.inline_tick) (void)pgs_tick(s, now, NULL, NULL);
  publish_stats(s, now);
  if (s->failed) {
    if (err) *err = s->fail;
    return s->fail.code;
  }
  return FLOE_OK;
}

floe_status pgs_tick(pgs_source *s, int64_t now_ms, int64_t *next_ms,
                     floe_error *err) {
  pthread_mutex_lock(&s->mu);
  int n = s->ntab;
  pgs_tab **v = calloc((size_t)n + 1, sizeof *v);
  for (int i = 0; v && i < n; i++) v[i] = tab_ref(s->tabs[i]);
  pthread_mutex_unlock(&s->mu);
  if (!v) return ferr_nomem(err, (size_t)n * sizeof *v);
  int64_t next = now_ms + 1000;
  int ok = 0, tried = 0;
  bool caught = atomic_load(&s->caught_up);
  floe_error e;
  for (int i = 0; i < n; i++) {
    pgs_tab *tab = v[i];
    if (tab->t && tab->state != PGS_ERROR) {
      int64_t nx = next;
      tried++;
      floe_status ts = floe_table_tick(tab->t, now_ms, &nx, &e);
      /* Caught up after a burst: commit what is applied now instead of at
       * the end of the commit interval, so a drained backlog is durable
       * (and confirmed) at once; at most 4 such commits per interval. */
      if (!ts && caught && tab->state == PGS_STREAMING) {
        floe_table_stats es;
        floe_table_stats_get(tab->t, &es);
        int64_t iv = tab->own_cfg ? tab->cfg.commit_interval_ms
                                  : s->o.table.commit_interval_ms;
        if (es.applied_lsn > es.durable_lsn &&
            wall_us() / 1000 - es.last_commit_ms >= iv / 4)
          ts = floe_table_flush(tab->t, &e);
      }
      if (ts) {
        pthread_mutex_lock(&s->mu);
        snprintf(tab->last_error, sizeof tab->last_error, "maintenance: %.480s",
                 e.msg);
        pthread_mutex_unlock(&s->mu);
        atomic_store(&tab->tick_failed, 1);
        if (err) *err = e;
      } else {
        ok++;
      }
      if (nx < next) next = nx;
    }
    tab_unref(tab);
  }
  free(v);
  if (next_ms) *next_ms = next;
  return tried && !ok ? (err ? err->code : FLOE_EIO) : FLOE_OK;
}

/* ---- tables added and removed ---- */

/* rel_raw, rel_len: the table's last Relation message in this stream
 * session (a resync), or NULL */
static floe_status add_table(pgs_source *s, const pgs_table_spec *spec,
                             const uint8_t *rel_raw, size_t rel_len,
                             floe_error *err) {
  if (s->failed || s->stopped || !s->stream)
    return ferr_set(err, FLOE_EINVAL, "mirror %s is not running", s->mirror);
  if (s->adding)
    return ferr_set(err, FLOE_EINVAL, "another table is being added");
  if (tab_by_name(s, spec->schema, spec->table))
    return ferr_set(err, FLOE_EEXIST, "%s.%s is already mirrored", spec->schema,
                    spec->table);
  pgs_tab *tab = NULL;
  FLOE_TRY(tab_new(spec, &tab, err));
  pgx_rel *rel = NULL;
  pgx_conn *c = NULL;
  pgx_rel_opts ro = {s->o.set_replica_full, s->o.lock_timeout_ms};
  floe_status st = pgs_sql(s, &c, err);
  if (!st) st = pgx_rel_load(c, tab->schema, tab->table, &ro, &rel, err);
  if (!st) st = open_engine(s, tab, rel, err);
  if (!st && s->own_pub)
    st = pgx_pub_add_table(c, s->pub, tab->schema, tab->table, err);
  else if (!st) {
    pgx_table_name nm = {tab->schema, tab->table};
    st = pgx_pub_verify(c, s->pub, &nm, 1, err);
  }
  /* from the publication's change on, the stream carries the table: its
   * changes wait in the spool until the copy is committed */
  if (!st) st = pgs_spool_open(s, &tab->spool, err);
  if (!st && rel_raw)
    st = pgs_spool_relation(tab->spool, rel_raw, rel_len, err);
  if (!st) st = tab_push(s, tab, err);
  if (st) {
    pgx_rel_free(rel);
    tab_destroy(tab);
    return st;
  }
  tab->state = PGS_COPYING;
  s->adding = true;
  const pgx_rel *r1 = rel;
  st = copy_fresh(s, &tab, &r1, 1, true, err);
  s->adding = false;
  pgx_rel_free(rel);
  if (!st && tab->state == PGS_COPYING) {
    pgs_tab_set_state(s, tab, PGS_STREAMING, NULL);
    st = pgs_spool_replay(s, tab, err);
    if (st) pgs_tab_set_state(s, tab, PGS_ERROR, err->msg);
    if (!st && !s->in_txn) (void)floe_advance(tab->t, s->pos, NULL);
  } else {
    pgs_spool_free(tab->spool);
    tab->spool = NULL;
    if (!st) {
      if (err) snprintf(err->msg, sizeof err->msg, "%s", tab->last_error);
      st = FLOE_EIO;
      if (err) err->code = st;
    }
  }
  if (s->failed && !st) {
    if (err) *err = s->fail;
    st = s->fail.code;
  }
  return st;
}

floe_status pgs_add_table(pgs_source *s, const pgs_table_spec *spec,
                          floe_error *err) {
  if (!s || !spec) return ferr_set(err, FLOE_EINVAL, "pgs_add_table: NULL");
  pgs_table_spec sp = *spec;
  if (sp.copy == PGS_COPY_SKIP)
    return ferr_set(err, FLOE_EINVAL,
                    "a table added to a running mirror is always copied");
  return add_table(s, &sp, NULL, 0, err);
}

static void remove_tab(pgs_source *s, pgs_tab *tab, bool clean) {
  pgs_xacts_forget_tab(s, tab);
  tab_pop(s, tab);
  tab->close_clean = clean;
  tab_unref(tab);
}

floe_status pgs_remove_table(pgs_source *s, const char *schema,
                             const char *table, floe_error *err) {
  pgs_tab *tab = tab_by_name(s, schema, table);
  if (!tab)
    return ferr_set(err, FLOE_ENOTFOUND, "%s.%s is not mirrored", schema,
                    table);
  if (s->adding && tab->spool)
    return ferr_set(err, FLOE_EINVAL, "%s.%s is being copied", schema, table);
  pgx_conn *c = NULL;
  if (s->own_pub && tab->state != PGS_STOPPED) {
    FLOE_TRY(pgs_sql(s, &c, err));
    FLOE_TRY(pgx_pub_remove_table(c, s->pub, schema, table, err));
  }
  flog_write(s->o.log, FLOG_INFO, "%s.%s: removed from mirror %s", schema,
             table, s->mirror);
  remove_tab(s, tab, tab->t && tab->state == PGS_STREAMING);
  return FLOE_OK;
}

floe_status pgs_resync_table(pgs_source *s, const char *schema,
                             const char *table, floe_error *err) {
  pgs_tab *tab = tab_by_name(s, schema, table);
  if (!tab)
    return ferr_set(err, FLOE_ENOTFOUND, "%s.%s is not mirrored", schema,
                    table);
  pgs_table_spec sp = {tab->schema, tab->table,     tab->ns,
                       tab->name,   PGS_COPY_FORCE, NULL};
  char *a = strdup(tab->schema), *b = strdup(tab->table), *c = strdup(tab->ns),
       *d = strdup(tab->name);
  /* the table's own settings survive its removal */
  floe_table_config cfg = tab->cfg;
  bool own = tab->own_cfg;
  char *sd = tab->state_dir ? strdup(tab->state_dir) : NULL;
  cfg.state_dir = sd;
  floe_status st = FLOE_OK;
  if (!a || !b || !c || !d || (tab->state_dir && !sd))
    st = ferr_nomem(err, 256);
  if (!st) {
    sp = (pgs_table_spec){a, b, c, d, PGS_COPY_FORCE, own ? &cfg : NULL};
    /* the old floe table state is dropped as after a crash: the copy
     * replaces every row in one commit anyway */
    uint8_t *raw = tab->rel_raw;
    size_t rawlen = tab->rel_raw_len;
    tab->rel_raw = NULL;
    remove_tab(s, tab, false);
    st = add_table(s, &sp, raw, rawlen, err);
    free(raw);
  }
  free(sd);
  free(a);
  free(b);
  free(c);
  free(d);
  return st;
}

/* ---- stop ---- */

void pgs_request_stop(pgs_source *s) {
  if (s) atomic_store(&s->stop_req, 1);
}

floe_status pgs_stop(pgs_source *s, floe_error *err) {
  if (!s || s->stopped) return FLOE_OK;
  floe_status st = FLOE_OK;
  /* everything applied becomes durable, then the slot confirms it */
  for (int i = 0; i < s->ntab; i++) {
    pgs_tab *tab = s->tabs[i];
    if (!tab->t || tab->state != PGS_STREAMING) continue;
    floe_error e;
    if (floe_table_flush(tab->t, &e)) {
      flog_write(s->o.log, FLOG_ERROR, "%s.%s: final flush: %s", tab->schema,
                 tab->table, e.msg);
      if (!st) {
        st = e.code;
        if (err) *err = e;
      }
    }
  }
  if (s->stream) {
    floe_error e;
    if (pgx_stream_stop(s->stream, 5000, &e) && !st) {
      st = e.code;
      if (err) *err = e;
    }
    publish_stats(s, pgs_now_ms());
    pgx_stream_free(s->stream);
    s->stream = NULL;
  }
  pgs_drop_xacts(s);
  while (s->ntab) {
    pgs_tab *tab = s->tabs[s->ntab - 1];
    if (tab->state == PGS_STREAMING || tab->state == PGS_COPYING)
      pgs_tab_set_state(s, tab, PGS_STOPPED, "mirror stopped");
    remove_tab(s, tab,
               tab->t &&
                   (tab->state == PGS_STOPPED || tab->state == PGS_PAUSED));
  }
  s->stopped = true;
  pthread_mutex_lock(&s->mu);
  if (s->state != PGS_ERROR) s->state = PGS_STOPPED;
  pthread_mutex_unlock(&s->mu);
  char l[PGX_LSN_STR];
  flog_write(s->o.log, FLOG_INFO, "mirror %s stopped; slot confirmed at %s",
             s->mirror, pgx_lsn_format(s->last_durable, l));
  return st;
}

void pgs_free(pgs_source *s) {
  if (!s) return;
  if (s->stream) pgx_stream_free(s->stream);
  s->stream = NULL;
  pgs_drop_xacts(s);
  free(s->cur.v);
  for (int i = 0; i < s->nstx; i++) free(s->stx[i].v);
  free(s->stx);
  while (s->ntab) remove_tab(s, s->tabs[s->ntab - 1], false);
  free(s->tabs);
  pgx_conn_close(s->sql);
  pgo_decoder_free(&s->dec);
  fbuf_free(&s->scratch);
  farena_free(&s->arena);
  free(s->types);
  pthread_mutex_destroy(&s->mu);
  free(s->conninfo);
  free(s->mirror);
  free(s->pubname_opt);
  free(s->catalog_uri);
  free(s->warehouse);
  free(s->catalog_name);
  free(s->spool_dir);
  free(s);
}

/* ---- status and reads ---- */

floe_status pgs_status_get(pgs_source *s, pgs_status *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&s->mu);
  out->state = s->state;
  snprintf(out->last_error, sizeof out->last_error, "%s", s->last_error);
  snprintf(out->source, sizeof out->source, "%s", s->desc);
  snprintf(out->slot, sizeof out->slot, "%s", s->slot);
  snprintf(out->publication, sizeof out->publication, "%s", s->pub);
  out->connected = s->sst.connected;
  out->received_lsn = s->sst.received_lsn;
  out->server_wal_end = s->sst.server_wal_end;
  out->confirmed_lsn = s->sst.sent_flush;
  out->reconnects = s->sst.reconnects;
  out->messages = s->messages;
  out->ignored = s->ignored;
  out->transactions = s->transactions;
  out->ntables = s->ntab;
  out->tables = calloc((size_t)s->ntab + 1, sizeof *out->tables);
  if (!out->tables) {
    pthread_mutex_unlock(&s->mu);
    return ferr_nomem(err, (size_t)s->ntab * sizeof *out->tables);
  }
  int64_t now_us = wall_us();
  for (int i = 0; i < s->ntab; i++) {
    pgs_tab *tab = s->tabs[i];
    pgs_table_status *ts = &out->tables[i];
    snprintf(ts->schema, sizeof ts->schema, "%s", tab->schema);
    snprintf(ts->table, sizeof ts->table, "%s", tab->table);
    snprintf(ts->ns, sizeof ts->ns, "%s", tab->ns);
    snprintf(ts->name, sizeof ts->name, "%s", tab->name);
    snprintf(ts->last_error, sizeof ts->last_error, "%s", tab->last_error);
    ts->state = tab->state;
    ts->changes = tab->changes;
    ts->changes_per_s = tab->rate;
    ts->copy_rows = tab->copy_rows;
    ts->copy_eta_s = tab->copy_eta;
    ts->copy_lsn = tab->copy_lsn;
    if (tab->t) {
      floe_table_stats_get(tab->t, &ts->engine);
      ts->rows = ts->engine.rows;
      ts->applied_lsn = ts->engine.applied_lsn;
      ts->durable_lsn = ts->engine.durable_lsn;
    }
    if (tab->state == PGS_STREAMING && out->server_wal_end > ts->applied_lsn) {
      ts->lag_bytes = out->server_wal_end - ts->applied_lsn;
      if (tab->last_commit_us && now_us > tab->last_commit_us)
        ts->lag_ms = (now_us - tab->last_commit_us) / 1000;
    }
  }
  pthread_mutex_unlock(&s->mu);
  return FLOE_OK;
}

void pgs_status_free(pgs_status *st) {
  if (!st) return;
  free(st->tables);
  st->tables = NULL;
  st->ntables = 0;
}

floe_status pgs_read_state_get(pgs_source *s, const char *schema,
                               const char *table, uint64_t min_lsn,
                               int64_t timeout_ms, floe_read_state **out,
                               floe_error *err) {
  pthread_mutex_lock(&s->mu);
  pgs_tab *tab = NULL;
  for (int i = 0; i < s->ntab && !tab; i++)
    if (!strcmp(s->tabs[i]->schema, schema) &&
        !strcmp(s->tabs[i]->table, table) && s->tabs[i]->t)
      tab = tab_ref(s->tabs[i]);
  pthread_mutex_unlock(&s->mu);
  if (!tab)
    return ferr_set(err, FLOE_ENOTFOUND, "%s.%s is not mirrored", schema,
                    table);
  floe_status st = floe_read_state_get(tab->t, min_lsn, timeout_ms, out, err);
  tab_unref(tab);
  return st;
}

floe_status pgs_with_table(pgs_source *s, const char *schema, const char *table,
                           floe_status (*fn)(void *ctx, floe_table *t,
                                             floe_error *err),
                           void *ctx, floe_error *err) {
  pthread_mutex_lock(&s->mu);
  pgs_tab *tab = NULL;
  for (int i = 0; i < s->ntab && !tab; i++)
    if (!strcmp(s->tabs[i]->schema, schema) &&
        !strcmp(s->tabs[i]->table, table) && s->tabs[i]->t)
      tab = tab_ref(s->tabs[i]);
  pthread_mutex_unlock(&s->mu);
  if (!tab)
    return ferr_set(err, FLOE_ENOTFOUND, "%s.%s is not mirrored", schema,
                    table);
  floe_status st = fn(ctx, tab->t, err);
  tab_unref(tab);
  return st;
}

floe_status pgs_inject(pgs_source *s, uint64_t wal_start, const uint8_t *data,
                       size_t len, floe_error *err) {
  return cb_message(s, wal_start, 0, data, len, err);
}

floe_status pgs_request_keepalive(pgs_source *s, floe_error *err) {
  if (!s->stream) return FLOE_OK;
  return pgx_stream_send_status(s->stream, true, err);
}
