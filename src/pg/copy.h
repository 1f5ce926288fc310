/*
 * The initial copy: a table's rows as of a snapshot, read over several
 * connections in parallel and handed to the host as columnar batches.
 *
 * Consistency. Every copy connection runs
 *   BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
 *   SET TRANSACTION SNAPSHOT '<name>';
 * with the snapshot a slot exported when it was created (pgx_slot_create).
 * That snapshot shows exactly the transactions that committed before the
 * slot's consistent point, and the slot streams exactly those that commit
 * after it, so copy + stream = every change once. pgx_copy_open imports the
 * snapshot on all connections before it returns: from then on the
 * replication connection that exported it may run other commands (or
 * close). For a table added later see pgx_copy_open_fresh and
 * src/pg/README.md.
 *
 * Parallelism. floe starts no threads: the N connections run their COPY
 * statements at the same time and one thread (the caller's) multiplexes
 * them with poll(), parsing each row as it arrives. A table is split into
 * block ranges by ctid:
 *   COPY (SELECT "a", "b" FROM "s"."t"
 *         WHERE ctid >= '(x,0)' AND ctid < '(y,0)') TO STDOUT
 * (a TID range scan; the last range has no upper bound, so rows in pages
 * added since the size was read are never missed). A partitioned table is
 * copied leaf by leaf, big leaves split the same way. Connections take the
 * next range when they finish one.
 *
 * Rows arrive in COPY text format (or binary, pgx_copy_opts.format), are
 * split by copytext (pgcp_split / pgcp_binary_row) and parsed by pgtypes
 * (pgt_append_text / pgt_append_binary) straight into the columns of a
 * col_batch; a batch is handed to on_batch when it holds batch_rows rows or
 * batch_bytes bytes of text, and at the end.
 *
 * A copy that fails or is cancelled leaves nothing behind on the server
 * (read-only transactions); the host discards what it received and starts
 * the copy again with a new snapshot.
 */
#ifndef FLOE_PG_COPY_H
#define FLOE_PG_COPY_H

#include "columnar/batch.h"
#include "pg/conn.h"
#include "pg/pgtypes.h"
#include "pg/relinfo.h"
#include "util/log.h"

typedef struct pgx_copy_progress {
  const char *table;   /* "schema.table" of the table being copied */
  int64_t rows;        /* rows parsed so far (this table) */
  int64_t bytes;       /* COPY text bytes received so far */
  int64_t pages_total; /* the table's size in pages at discovery */
  int ranges_total;
  int ranges_done;
  double elapsed_s;
  double rows_per_s;
  double mb_per_s; /* MiB of COPY text per second */
  double eta_s;    /* estimated seconds left; < 0 when unknown */
  bool done;       /* the last report of this table */
  bool binary;     /* read as COPY (FORMAT binary) */
} pgx_copy_progress;

typedef enum pgx_progress_mode {
  PGX_PROGRESS_NONE = 0, /* only the on_progress callback */
  PGX_PROGRESS_AUTO,     /* a bar when stderr is a TTY, else log lines */
  PGX_PROGRESS_BAR,      /* a bar on stderr, redrawn in place */
  PGX_PROGRESS_LOG,      /* an info line through log every log_every_ms */
} pgx_progress_mode;

typedef enum pgx_copy_format {
  PGX_COPY_TEXT = 0, /* COPY text (copytext + pgtypes' text parsers) */
  /* COPY (FORMAT binary), read by pgtypes' send-format readers; columns of
   * types without one are selected as their output text (format('%s')).
   * Not the default yet: see the benchmark in src/pg/README.md */
  PGX_COPY_BINARY,
} pgx_copy_format;

typedef struct pgx_copy_opts {
  const char *conninfo; /* as for pgx_conn_open */
  /* the exported snapshot to read; NULL or "": each connection takes its
   * own (consistent only with connections == 1) */
  const char *snapshot;
  int connections; /* 0: 2 */
  int ranges;      /* ranges per table; 0: automatic (see copy.c) */
  pgx_copy_format format;
  int batch_rows;     /* 0: 65536 */
  size_t batch_bytes; /* 0: 64 MiB of text per batch */
  pgx_progress_mode progress;
  int progress_ms;  /* on_progress and bar interval; 0: 500 */
  int log_every_ms; /* PGX_PROGRESS_LOG interval; 0: 10000 */
  const flog *log;  /* NULL: warnings to stderr */

  /* A full batch. The callee either leaves *batch alone (it is cleared and
   * refilled after the call) or takes it, setting *batch = NULL (it then
   * owns it and frees it with col_batch_free; a new one is made) or to
   * another batch of the same schema (batch->schema) that it gives to the
   * copy (cleared and refilled, then owned by the copy: a host recycles
   * the batches it took, sparing their buffers' allocation). An error
   * aborts the copy with it. Required. */
  floe_status (*on_batch)(void *ctx, col_batch **batch, floe_error *err);
  /* Progress every progress_ms and once at the end; an error cancels the
   * copy (e.g. the host is shutting down). Optional. */
  floe_status (*on_progress)(void *ctx, const pgx_copy_progress *p,
                             floe_error *err);
  void *ctx;
} pgx_copy_opts;

typedef struct pgx_copy pgx_copy;

/* Opens the connections and imports opts->snapshot on each. The strings in
 * opts are not kept (conninfo and snapshot are used here only). On success
 * the caller owns *out (pgx_copy_free). */
floe_status pgx_copy_open(const pgx_copy_opts *opts, pgx_copy **out,
                          floe_error *err);

/* For a table added to a running mirror (or a copy restarted after a
 * crash): opens a replication connection, creates temporary slot tmp_slot
 * with an exported snapshot, opens the copy connections on it, and closes
 * the replication connection (the temporary slot goes with it). *lsn is the
 * snapshot's consistent point: the copy holds every transaction that
 * committed before it, so the running stream must skip this table's
 * changes in transactions whose commit end LSN is <= *lsn (see README). */
floe_status pgx_copy_open_fresh(const pgx_copy_opts *opts, const char *tmp_slot,
                                pgx_copy **out, uint64_t *lsn, floe_error *err);

/* The schema pgx_copy_table builds for rel when the caller gives none:
 * field i is rel->cols[i] with id i + 1, its mapped type, nullable unless
 * NOT NULL. The caller owns *out (col_schema_unref). */
floe_status pgx_copy_schema(const pgx_rel *rel, col_schema **out,
                            floe_error *err);

/* Copies every row of rel (blocking) and delivers it in batches of schema
 * (NULL: pgx_copy_schema's; otherwise it must have rel->ncols fields of the
 * mapped types, in column order). Can be called again for other tables in
 * the same snapshot. *rows (may be NULL) receives the row count. */
floe_status pgx_copy_table(pgx_copy *c, const pgx_rel *rel, col_schema *schema,
                           int64_t *rows, floe_error *err);

/* Ends the transactions and closes the connections. */
void pgx_copy_free(pgx_copy *c);

/* The pgt description of a discovered column (for pgt_map_type). Borrows
 * col's strings. */
void pgx_col_desc(const pgx_col *col, pgt_desc *out);

#endif
