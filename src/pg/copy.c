/* The initial copy: N connections in one snapshot, COPY text by ctid range,
 * multiplexed with poll() in the caller's thread, rows parsed into columnar
 * batches as they arrive. */
#include "pg/copy.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pg/copytext.h"
#include "pg/pgtypes.h"
#include "pg/slot.h"

/* Automatic splitting: a range is at least this many pages (80 MiB of
 * heap), and a table gets up to RANGES_PER_CONN ranges per connection, so
 * a connection that finishes early takes another range instead of idling
 * while the last one runs alone. */
#define MIN_RANGE_PAGES 10240
#define RANGES_PER_CONN 4

typedef struct task {
  int part;
  int64_t from, to; /* block range [from, to); to < 0: no upper bound */
  int64_t pages;    /* the range's share of the table's pages */
} task;

typedef enum wstate { W_IDLE = 0, W_STARTING, W_COPYING } wstate;

typedef struct worker {
  pgx_conn *c;
  wstate st;
  int task;
  int64_t bytes; /* COPY bytes of the current task */
  bool header;   /* binary: the file header of this COPY was read */
} worker;

struct pgx_copy {
  pgx_copy_opts o;
  int n;
  worker *w;
  bool broken; /* a failure left connections mid-statement */
};

/* ---- time ---- */

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- descriptions and schema ---- */

void pgx_col_desc(const pgx_col *col, pgt_desc *out) {
  memset(out, 0, sizeof *out);
  out->oid = col->base_oid;
  out->typmod = col->base_typmod;
  out->typtype = col->base_typtype;
  out->name = col->base_name;
  if (col->elem_oid) {
    out->is_array = true;
    out->elem_oid = col->elem_oid;
    out->elem_typtype = col->elem_typtype;
    out->elem_name = col->elem_name;
    out->elem_delim = col->elem_delim;
    out->typmod = col->elem_typmod;
  }
}

static floe_status map_cols(const pgx_rel *rel, pgt_map *maps, const flog *log,
                            floe_error *err) {
  for (int i = 0; i < rel->ncols; i++) {
    pgt_desc d;
    pgx_col_desc(&rel->cols[i], &d);
    floe_status st = pgt_map_type(&d, &maps[i], err);
    if (st != FLOE_OK)
      return ferr_prefix(err, st, "%s.%s column %s", rel->schema, rel->name,
                         rel->cols[i].name);
    if (maps[i].warn)
      flog_write(log, FLOG_WARN,
                 "%s.%s column %s: type %s has no columnar mapping; kept as "
                 "its text",
                 rel->schema, rel->name, rel->cols[i].name,
                 rel->cols[i].type_sql);
  }
  return FLOE_OK;
}

floe_status pgx_copy_schema(const pgx_rel *rel, col_schema **out,
                            floe_error *err) {
  *out = NULL;
  pgt_map *maps = calloc((size_t)rel->ncols, sizeof *maps);
  col_field *f = calloc((size_t)rel->ncols, sizeof *f);
  floe_status st = FLOE_OK;
  if (!maps || !f) st = ferr_nomem(err, sizeof *f * (size_t)rel->ncols);
  if (st == FLOE_OK) {
    flog quiet = {FLOG_OFF, NULL, NULL};
    st = map_cols(rel, maps, &quiet, err);
  }
  for (int i = 0; st == FLOE_OK && i < rel->ncols; i++) {
    f[i].id = i + 1;
    f[i].name = (char *)rel->cols[i].name;
    f[i].type = maps[i].type;
    f[i].nullable = !rel->cols[i].not_null;
    if (maps[i].type.id == COL_LIST) {
      f[i].elem_id = rel->ncols + i + 1;
      f[i].elem_nullable = true;
    }
  }
  if (st == FLOE_OK) st = col_schema_new(f, rel->ncols, out, err);
  free(maps);
  free(f);
  return st;
}

static bool dtype_equal(col_dtype a, col_dtype b) {
  if (a.id != b.id) return false;
  if (a.id == COL_DECIMAL)
    return a.precision == b.precision && a.scale == b.scale;
  if (a.id == COL_LIST)
    return a.elem == b.elem &&
           (a.elem != COL_DECIMAL || (a.elem_precision == b.elem_precision &&
                                      a.elem_scale == b.elem_scale));
  return true;
}

/* ---- connections ---- */

static void close_workers(pgx_copy *c) {
  for (int i = 0; i < c->n; i++) {
    worker *w = &c->w[i];
    if (!w->c) continue;
    /* a read-only transaction: ending it or dropping the connection is
     * the same to the server; end it politely when the line is idle */
    if (!c->broken && w->st == W_IDLE &&
        PQtransactionStatus(w->c->pg) == PQTRANS_INTRANS) {
      PGresult *r = PQexec(w->c->pg, "COMMIT");
      PQclear(r);
    }
    pgx_conn_close(w->c);
    w->c = NULL;
  }
}

void pgx_copy_free(pgx_copy *c) {
  if (!c) return;
  close_workers(c);
  free(c->w);
  free(c);
}

floe_status pgx_copy_open(const pgx_copy_opts *opts, pgx_copy **out,
                          floe_error *err) {
  *out = NULL;
  if (!opts->conninfo || !opts->on_batch)
    return ferr_set(err, FLOE_EINVAL, "copy: conninfo and on_batch needed");
  pgx_copy *c = calloc(1, sizeof *c);
  if (!c) return ferr_nomem(err, sizeof *c);
  c->o = *opts;
  c->o.conninfo = NULL;
  c->o.snapshot = NULL;
  c->n = opts->connections > 0 ? opts->connections : 2;
  if (c->o.batch_rows <= 0) c->o.batch_rows = 65536;
  if (c->o.batch_bytes == 0) c->o.batch_bytes = 64u << 20;
  if (c->o.progress_ms <= 0) c->o.progress_ms = 500;
  if (c->o.log_every_ms <= 0) c->o.log_every_ms = 10000;
  if (c->o.progress == PGX_PROGRESS_AUTO)
    c->o.progress = isatty(STDERR_FILENO) ? PGX_PROGRESS_BAR : PGX_PROGRESS_LOG;
  c->w = calloc((size_t)c->n, sizeof *c->w);
  if (!c->w) {
    size_t want = sizeof *c->w * (size_t)c->n;
    free(c);
    return ferr_nomem(err, want);
  }
  bool snap = opts->snapshot && *opts->snapshot;
  floe_status st = FLOE_OK;
  for (int i = 0; st == FLOE_OK && i < c->n; i++) {
    st = pgx_conn_open(opts->conninfo, PGX_CONN_SQL, &c->w[i].c, err);
    if (st == FLOE_OK)
      st = pgx_exec(c->w[i].c, "copy: begin",
                    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", err);
    if (st == FLOE_OK && snap) {
      fbuf b = FBUF_INIT;
      st = fbuf_printf(&b, err, "SET TRANSACTION SNAPSHOT ");
      if (st == FLOE_OK)
        st = pgx_sql_literal(c->w[i].c, &b, opts->snapshot, err);
      if (st == FLOE_OK) st = pgx_sql_cstr(&b, err);
      if (st == FLOE_OK)
        st = pgx_exec(c->w[i].c, "copy: import snapshot", (const char *)b.data,
                      err);
      fbuf_free(&b);
    }
  }
  if (st != FLOE_OK) {
    c->broken = true;
    pgx_copy_free(c);
    return st;
  }
  *out = c;
  return FLOE_OK;
}

floe_status pgx_copy_open_fresh(const pgx_copy_opts *opts, const char *tmp_slot,
                                pgx_copy **out, uint64_t *lsn,
                                floe_error *err) {
  *out = NULL;
  pgx_conn *repl = NULL;
  FLOE_TRY(pgx_conn_open(opts->conninfo, PGX_CONN_REPLICATION, &repl, err));
  pgx_slot slot;
  floe_status st = pgx_slot_create(repl, tmp_slot, true, &slot, err);
  if (st == FLOE_OK) {
    pgx_copy_opts o = *opts;
    o.snapshot = slot.snapshot;
    st = pgx_copy_open(&o, out, err);
  }
  /* every copy connection holds the snapshot now: the temporary slot may
   * go (it dies with its connection) */
  pgx_conn_close(repl);
  if (st == FLOE_OK) *lsn = slot.lsn;
  return st;
}

/* ---- planning ---- */

/* Splits the table's relations into ranges. */
static floe_status plan(const pgx_copy *c, const pgx_rel *rel, task **out,
                        int *ntask, floe_error *err) {
  int want = c->o.ranges;
  if (want <= 0) {
    int64_t by_size = rel->pages / MIN_RANGE_PAGES;
    int64_t cap = (int64_t)c->n * RANGES_PER_CONN;
    want = (int)(by_size < 1 ? 1 : by_size > cap ? cap : by_size);
  }
  /* each part gets ranges in proportion to its size, at least one */
  int total = 0;
  for (int i = 0; i < rel->nparts; i++) {
    int64_t share =
        rel->pages > 0
            ? (want * rel->parts[i].pages + rel->pages / 2) / rel->pages
            : 0;
    if (share < 1) share = 1;
    if (share > rel->parts[i].pages && rel->parts[i].pages > 0)
      share = rel->parts[i].pages;
    total += (int)share;
  }
  task *t = calloc((size_t)(total > 0 ? total : 1), sizeof *t);
  if (!t) return ferr_nomem(err, sizeof *t * (size_t)total);
  int k = 0;
  for (int i = 0; i < rel->nparts; i++) {
    int64_t pages = rel->parts[i].pages;
    int64_t share =
        rel->pages > 0 ? (want * pages + rel->pages / 2) / rel->pages : 0;
    if (share < 1) share = 1;
    if (share > pages && pages > 0) share = pages;
    for (int64_t j = 0; j < share; j++) {
      t[k].part = i;
      t[k].from = pages * j / share;
      t[k].to = j + 1 == share ? -1 : pages * (j + 1) / share;
      t[k].pages = (j + 1 == share ? pages : t[k].to) - t[k].from;
      k++;
    }
  }
  *out = t;
  *ntask = k;
  return FLOE_OK;
}

/* The COPY statement for task t. */
static floe_status task_sql(pgx_conn *conn, const pgx_rel *rel, const task *t,
                            bool whole, bool binary, const bool *as_text,
                            fbuf *b, floe_error *err) {
  const pgx_part *p = &rel->parts[t->part];
  fbuf_reset(b);
  fbuf cols = FBUF_INIT;
  floe_status st = FLOE_OK;
  bool exprs = false;
  for (int i = 0; st == FLOE_OK && i < rel->ncols; i++) {
    if (i) st = fbuf_append(&cols, ", ", 2, err);
    if (st != FLOE_OK) break;
    if (binary && as_text[i]) {
      /* the output function's text, NULL kept NULL */
      exprs = true;
      st = fbuf_printf(&cols, err, "CASE WHEN ");
      if (st == FLOE_OK)
        st = pgx_sql_ident(conn, &cols, rel->cols[i].name, err);
      if (st == FLOE_OK)
        st = fbuf_printf(&cols, err, " IS NULL THEN NULL ELSE format('%%s', ");
      if (st == FLOE_OK)
        st = pgx_sql_ident(conn, &cols, rel->cols[i].name, err);
      if (st == FLOE_OK) st = fbuf_printf(&cols, err, ") END");
    } else {
      st = pgx_sql_ident(conn, &cols, rel->cols[i].name, err);
    }
  }
  /* the plain COPY form takes column names only */
  if (exprs) whole = false;
  if (st == FLOE_OK && whole) {
    /* the plain form reads the heap directly: the fastest COPY there is */
    st = fbuf_printf(b, err, "COPY ");
    if (st == FLOE_OK) st = pgx_sql_qname(conn, b, p->schema, p->name, err);
    if (st == FLOE_OK)
      st = fbuf_printf(b, err, " (%.*s) TO STDOUT", (int)cols.len,
                       (const char *)cols.data);
    if (st == FLOE_OK && binary) st = fbuf_printf(b, err, " (FORMAT binary)");
  } else if (st == FLOE_OK) {
    st = fbuf_printf(b, err, "COPY (SELECT %.*s FROM ", (int)cols.len,
                     (const char *)cols.data);
    if (st == FLOE_OK) st = pgx_sql_qname(conn, b, p->schema, p->name, err);
    if (st == FLOE_OK && (t->from > 0 || t->to >= 0))
      st =
          fbuf_printf(b, err, " WHERE ctid >= '(%" PRId64 ",0)'::tid", t->from);
    if (st == FLOE_OK && t->to >= 0)
      st = fbuf_printf(b, err, " AND ctid < '(%" PRId64 ",0)'::tid", t->to);
    if (st == FLOE_OK)
      st = fbuf_printf(b, err, ") TO STDOUT%s",
                       binary ? " (FORMAT binary)" : "");
  }
  if (st == FLOE_OK) st = pgx_sql_cstr(b, err);
  fbuf_free(&cols);
  return st;
}

/* ---- one table ---- */

typedef struct run {
  pgx_copy *c;
  const pgx_rel *rel;
  char name[160];
  col_schema *schema;
  pgt_map *maps;
  pgcp_field *fields;
  col_column **cols;
  col_batch *batch;
  size_t batch_text;
  fbuf scratch;
  bool binary;    /* COPY (FORMAT binary), read by bin_rows */
  pgt_map *bmaps; /* binary: maps, text-only columns read as text bytes */
  bool *as_text;  /* binary: columns selected as their output text */
  task *tasks;
  int ntask, next_task, done_tasks;
  int64_t rows, bytes;
  int64_t done_pages, done_bytes; /* of finished ranges */
  double t0, last_progress, last_log;
  bool bar_drawn;
} run;

static void bind_cols(run *r) {
  for (int i = 0; i < r->rel->ncols; i++) r->cols[i] = &r->batch->cols[i];
}

static floe_status flush_batch(run *r, floe_error *err) {
  if (r->batch->cols[0].length == 0) return FLOE_OK;
  FLOE_TRY(col_batch_seal(r->batch, err));
  col_batch *b = r->batch;
  floe_status st = r->c->o.on_batch(r->c->o.ctx, &b, err);
  if (b == NULL) {
    /* the host took it */
    r->batch = NULL;
    FLOE_TRY(col_batch_new(r->schema, &r->batch, err));
  } else {
    /* the same batch, or one the host gave back in exchange */
    r->batch = b;
    col_batch_clear(r->batch);
  }
  bind_cols(r);
  r->batch_text = 0;
  return st;
}

static void fill_progress(const run *r, pgx_copy_progress *p, bool done) {
  memset(p, 0, sizeof *p);
  p->table = r->name;
  p->rows = r->rows;
  p->bytes = r->bytes;
  p->pages_total = r->rel->pages;
  p->ranges_total = r->ntask;
  p->ranges_done = r->done_tasks;
  p->elapsed_s = mono_s() - r->t0;
  p->done = done;
  p->binary = r->binary;
  double el = p->elapsed_s > 1e-6 ? p->elapsed_s : 1e-6;
  p->rows_per_s = (double)r->rows / el;
  p->mb_per_s = (double)r->bytes / el / (1024.0 * 1024.0);
  p->eta_s = -1;
  if (done) {
    p->eta_s = 0;
  } else if (r->bytes > 0 && r->rel->pages > 0) {
    /* text bytes per heap page: measured on finished ranges once there
     * are some, else guessed as the heap's own size */
    double per_page = r->done_pages > 0
                          ? (double)r->done_bytes / (double)r->done_pages
                          : (double)r->rel->block_size;
    double total = per_page * (double)r->rel->pages;
    if (total < (double)r->bytes) total = (double)r->bytes * 1.01;
    p->eta_s = (total - (double)r->bytes) / ((double)r->bytes / el);
  }
}

static void human(double v, char *out, size_t n) {
  if (v >= 1e9)
    snprintf(out, n, "%.2fG", v / 1e9);
  else if (v >= 1e6)
    snprintf(out, n, "%.2fM", v / 1e6);
  else if (v >= 1e4)
    snprintf(out, n, "%.1fk", v / 1e3);
  else
    snprintf(out, n, "%.0f", v);
}

static void show_progress(run *r, const pgx_copy_progress *p) {
  pgx_copy *c = r->c;
  double now = mono_s();
  char rows[32], rate[32], eta[32] = "?";
  human((double)p->rows, rows, sizeof rows);
  human(p->rows_per_s, rate, sizeof rate);
  if (p->eta_s >= 0)
    snprintf(eta, sizeof eta, "%d:%02d", (int)p->eta_s / 60,
             (int)p->eta_s % 60);
  int pct = 0;
  if (p->done)
    pct = 100;
  else if (p->eta_s > 0)
    pct = (int)(100.0 * p->elapsed_s / (p->elapsed_s + p->eta_s));
  if (c->o.progress == PGX_PROGRESS_BAR) {
    char bar[31];
    int fill = pct * 30 / 100;
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr,
            "\r%-28.28s [%s] %3d%% %s rows %.1f MiB %.1f MiB/s %s rows/s "
            "ETA %s ",
            p->table, bar, pct, rows, (double)p->bytes / (1024.0 * 1024.0),
            p->mb_per_s, rate, eta);
    if (p->done) fputc('\n', stderr);
    fflush(stderr);
  } else if (c->o.progress == PGX_PROGRESS_LOG &&
             (p->done || (now - r->last_log) * 1000 >= c->o.log_every_ms)) {
    r->last_log = now;
    flog_write(c->o.log, FLOG_INFO,
               "copy %s: %s%d%%, %s rows, %.1f MiB, %.1f MiB/s, %s rows/s, "
               "ETA %s",
               p->table, p->done ? "done, " : "", pct, rows,
               (double)p->bytes / (1024.0 * 1024.0), p->mb_per_s, rate, eta);
  }
}

static floe_status progress(run *r, bool done, floe_error *err) {
  double now = mono_s();
  if (!done && (now - r->last_progress) * 1000 < r->c->o.progress_ms)
    return FLOE_OK;
  r->last_progress = now;
  pgx_copy_progress p;
  fill_progress(r, &p, done);
  if (r->c->o.progress != PGX_PROGRESS_NONE) show_progress(r, &p);
  if (r->c->o.on_progress) return r->c->o.on_progress(r->c->o.ctx, &p, err);
  return FLOE_OK;
}

static floe_status row(run *r, char *line, size_t n, floe_error *err) {
  const pgx_rel *rel = r->rel;
  floe_status st =
      pgcp_split(line, n, '\t', r->fields, (size_t)rel->ncols, err);
  if (st == FLOE_OK)
    st = pgcp_append_row(r->fields, (size_t)rel->ncols, r->cols, r->maps,
                         &r->scratch, err);
  if (st != FLOE_OK)
    return ferr_prefix(err, st, "copy %s, row %" PRId64, r->name, r->rows + 1);
  r->rows++;
  r->bytes += (int64_t)n;
  r->batch_text += n;
  if (r->batch->cols[0].length >= r->c->o.batch_rows ||
      r->batch_text >= r->c->o.batch_bytes)
    return flush_batch(r, err);
  return FLOE_OK;
}

/* ---- binary COPY ----
 * COPY (FORMAT binary) read with copytext's binary framing and pgtypes'
 * send-format readers: no escapes to scan, numbers as fixed-width
 * big-endian, the same values and errors as the text path. Columns whose
 * type has no binary reader (interval, inet, ... kept as text) are
 * selected as their output function's text, `CASE WHEN c IS NULL THEN NULL
 * ELSE format('%s', c) END`, and read as text bytes. */

/* One CopyData message: the header (first message of a COPY only), then
 * tuples, or the trailer. */
static floe_status bin_rows(run *r, worker *w, const uint8_t *p, size_t n,
                            floe_error *err) {
  size_t ncols = (size_t)r->rel->ncols, pos = 0, used = 0;
  floe_status st = FLOE_OK;
  if (!w->header) {
    st = pgcp_binary_header(p, n, &used, err);
    if (st != FLOE_OK) return ferr_prefix(err, st, "copy %s", r->name);
    pos = used;
    w->header = true;
  }
  while (pos < n) {
    st = pgcp_binary_row(p + pos, n - pos, r->fields, ncols, &used, err);
    if (st == FLOE_EEOF) {
      /* the trailer ends the data */
      st = pos + used == n ? FLOE_OK
                           : ferr_corrupt(err, "%zu bytes after the trailer",
                                          n - pos - used);
      pos = n;
      break;
    }
    if (st == FLOE_OK)
      st = pgcp_append_binary_row(r->fields, ncols, r->cols, r->bmaps, err);
    if (st != FLOE_OK) break;
    pos += used;
    r->rows++;
    r->batch_text += used;
    if (r->batch->cols[0].length >= r->c->o.batch_rows ||
        r->batch_text >= r->c->o.batch_bytes) {
      st = flush_batch(r, err);
      if (st != FLOE_OK) return st;
    }
  }
  r->bytes += (int64_t)n;
  if (st != FLOE_OK)
    return ferr_prefix(err, st, "copy %s, row %" PRId64, r->name, r->rows + 1);
  return FLOE_OK;
}

static floe_status conn_fail(worker *w, const char *what, floe_error *err) {
  return pgx_result_error(w->c, NULL, what, err);
}

/* Starts the next range on an idle worker, if any is left. */
static floe_status start_task(run *r, worker *w, fbuf *sql, floe_error *err) {
  if (r->next_task >= r->ntask) return FLOE_OK;
  int k = r->next_task++;
  const task *t = &r->tasks[k];
  bool whole = t->from == 0 && t->to < 0;
  FLOE_TRY(task_sql(w->c, r->rel, t, whole, r->binary, r->as_text, sql, err));
  w->header = false;
  if (!PQsendQuery(w->c->pg, (const char *)sql->data))
    return conn_fail(w, "copy: send", err);
  w->st = W_STARTING;
  w->task = k;
  w->bytes = 0;
  return FLOE_OK;
}

/* Reads what the worker's connection has; finishes its range at the end. */
static floe_status service(run *r, worker *w, floe_error *err) {
  if (PQconsumeInput(w->c->pg) != 1) return conn_fail(w, "copy: receive", err);
  if (w->st == W_STARTING) {
    if (PQisBusy(w->c->pg)) return FLOE_OK;
    PGresult *res = PQgetResult(w->c->pg);
    ExecStatusType rs = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (rs != PGRES_COPY_OUT) {
      floe_status st = pgx_result_error(w->c, res, "copy", err);
      PQclear(res);
      return st;
    }
    PQclear(res);
    w->st = W_COPYING;
  }
  for (;;) {
    char *buf = NULL;
    int n = PQgetCopyData(w->c->pg, &buf, 1);
    if (n == 0) return FLOE_OK;
    if (n == -2) return conn_fail(w, "copy: receive", err);
    if (n == -1) break;
    w->bytes += n;
    floe_status st = r->binary
                         ? bin_rows(r, w, (const uint8_t *)buf, (size_t)n, err)
                         : row(r, buf, (size_t)n, err);
    PQfreemem(buf);
    if (st != FLOE_OK) return st;
  }
  /* the COPY finished: its command result, then the end of results */
  PGresult *res;
  floe_status st = FLOE_OK;
  while ((res = PQgetResult(w->c->pg)) != NULL) {
    if (st == FLOE_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
      st = pgx_result_error(w->c, res, "copy", err);
    PQclear(res);
  }
  if (st != FLOE_OK) return st;
  w->st = W_IDLE;
  r->done_tasks++;
  r->done_pages += r->tasks[w->task].pages;
  r->done_bytes += w->bytes;
  return FLOE_OK;
}

static floe_status run_table(run *r, floe_error *err) {
  pgx_copy *c = r->c;
  fbuf sql = FBUF_INIT;
  struct pollfd *pfd = calloc((size_t)c->n, sizeof *pfd);
  int *who = calloc((size_t)c->n, sizeof *who);
  floe_status st = FLOE_OK;
  if (!pfd || !who) st = ferr_nomem(err, sizeof *pfd * (size_t)c->n);
  while (st == FLOE_OK) {
    int busy = 0;
    for (int i = 0; st == FLOE_OK && i < c->n; i++) {
      worker *w = &c->w[i];
      if (w->st == W_IDLE) st = start_task(r, w, &sql, err);
      if (w->st != W_IDLE) {
        pfd[busy].fd = PQsocket(w->c->pg);
        pfd[busy].events = POLLIN;
        pfd[busy].revents = 0;
        who[busy++] = i;
      }
    }
    if (st != FLOE_OK || busy == 0) break;
    int rc = poll(pfd, (nfds_t)busy, r->c->o.progress_ms);
    if (rc < 0 && errno != EINTR) {
      st = ferr_set(err, FLOE_EIO, "copy: poll: %s", strerror(errno));
      break;
    }
    for (int j = 0; st == FLOE_OK && j < busy; j++)
      if (pfd[j].revents) st = service(r, &c->w[who[j]], err);
    if (st == FLOE_OK) st = progress(r, false, err);
  }
  if (st == FLOE_OK) st = flush_batch(r, err);
  if (st == FLOE_OK) st = progress(r, true, err);
  fbuf_free(&sql);
  free(pfd);
  free(who);
  return st;
}

floe_status pgx_copy_table(pgx_copy *c, const pgx_rel *rel, col_schema *schema,
                           int64_t *rows, floe_error *err) {
  if (rows) *rows = 0;
  if (c->broken)
    return ferr_set(err, FLOE_EINVAL,
                    "copy: an earlier failure ended this copy's snapshot");
  run r;
  memset(&r, 0, sizeof r);
  r.c = c;
  r.rel = rel;
  snprintf(r.name, sizeof r.name, "%s.%s", rel->schema, rel->name);
  size_t n = (size_t)rel->ncols;
  r.maps = calloc(n, sizeof *r.maps);
  r.fields = calloc(n, sizeof *r.fields);
  r.cols = calloc(n, sizeof *r.cols);
  floe_status st = FLOE_OK;
  if (!r.maps || !r.fields || !r.cols) st = ferr_nomem(err, n * 64);
  if (st == FLOE_OK) st = map_cols(rel, r.maps, c->o.log, err);
  if (st == FLOE_OK && schema) {
    if (schema->nfields != rel->ncols)
      st = ferr_set(err, FLOE_EINVAL,
                    "copy %s: schema has %d fields, the table %d columns",
                    r.name, schema->nfields, rel->ncols);
    for (int i = 0; st == FLOE_OK && i < rel->ncols; i++)
      if (!dtype_equal(schema->fields[i].type, r.maps[i].type)) {
        char a[64], b[64];
        st = ferr_set(err, FLOE_EINVAL,
                      "copy %s: column %s is %s in the schema but maps to %s",
                      r.name, rel->cols[i].name,
                      col_dtype_format(schema->fields[i].type, a, sizeof a),
                      col_dtype_format(r.maps[i].type, b, sizeof b));
      }
    if (st == FLOE_OK) r.schema = col_schema_ref(schema);
  } else if (st == FLOE_OK) {
    st = pgx_copy_schema(rel, &r.schema, err);
  }
  if (st == FLOE_OK && c->o.format == PGX_COPY_BINARY) {
    r.binary = true;
    r.bmaps = calloc(n, sizeof *r.bmaps);
    r.as_text = calloc(n, sizeof *r.as_text);
    if (!r.bmaps || !r.as_text) st = ferr_nomem(err, n * sizeof *r.bmaps);
    for (size_t i = 0; st == FLOE_OK && i < n; i++) {
      r.bmaps[i] = r.maps[i];
      if (r.maps[i].bin == PGT_BIN_NONE) {
        r.bmaps[i].bin = PGT_BIN_TEXT;
        r.as_text[i] = true;
      }
    }
  }
  if (st == FLOE_OK) st = col_batch_new(r.schema, &r.batch, err);
  if (st == FLOE_OK) {
    bind_cols(&r);
    st = plan(c, rel, &r.tasks, &r.ntask, err);
  }
  if (st == FLOE_OK) {
    r.t0 = r.last_progress = r.last_log = mono_s();
    st = run_table(&r, err);
  }
  if (st != FLOE_OK) {
    /* connections may be mid-COPY: this snapshot is done for */
    c->broken = true;
    if (c->o.progress == PGX_PROGRESS_BAR && r.rows) fputc('\n', stderr);
  }
  if (rows) *rows = r.rows;
  col_batch_free(r.batch);
  col_schema_unref(r.schema);
  fbuf_free(&r.scratch);
  free(r.tasks);
  free(r.bmaps);
  free(r.as_text);
  free(r.maps);
  free(r.fields);
  free(r.cols);
  return st;
}
