/*
 * pgs: a mirror's Postgres source. Turns a mirror definition (connection
 * string, mirror name, list of schema.table, where the Iceberg tables live,
 * engine settings) into engine calls: publication + slot, discovery, one
 * floe table per source table, the initial copy, then the replication
 * stream applied change by change, with feedback that confirms only what is
 * durable in Iceberg. src/pg/README.md ("The source") has the rules: message
 * -> engine mapping, LSN rules, the table-add protocol, status states.
 *
 * Threads (the library starts none):
 *   ingest thread       pgs_open, pgs_poll, pgs_add_table, pgs_remove_table,
 *                       pgs_resync_table, pgs_stop, pgs_free
 *   maintenance thread  pgs_tick (floe_table_tick on every table), unless
 *                       opts.inline_tick makes pgs_poll do it
 *   any thread          pgs_status_get, pgs_read_state_get, pgs_request_stop
 *
 *   pgs_open(&opts, specs, n, &src, &err);     // setup + initial copy
 *   while (!stop) pgs_poll(src, 100, &err);    // stream, apply, feedback
 *   pgs_stop(src, &err);                       // final commit + confirm
 *   pgs_free(src);
 */
#ifndef FLOE_PG_SOURCE_H
#define FLOE_PG_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "floe/floe.h"
#include "pg/copy.h"
#include "util/log.h"

typedef enum pgs_copy_mode {
  /* copy when the floe table holds nothing durable yet (new table, a copy
   * that never reached Iceberg), the slot is new, or floe's publication did
   * not publish the table yet (its changes were never in the slot); else
   * resume streaming */
  PGS_COPY_AUTO = 0,
  PGS_COPY_SKIP,  /* never copy: changes only */
  PGS_COPY_FORCE, /* copy again (the floe table is replaced atomically) */
} pgs_copy_mode;

typedef struct pgs_table_spec {
  const char *schema, *table; /* the source table, names as stored */
  const char *ns, *name;      /* the floe table; NULL: schema / table */
  pgs_copy_mode copy;
  /* this table's engine settings (copied; a state_dir too); NULL:
   * opts.table */
  const floe_table_config *cfg;
} pgs_table_spec;

typedef struct pgs_opts {
  const char *conninfo; /* libpq string or URI (never logged) */
  const char *mirror;   /* 1..58 of [a-z0-9_]: slot and publication floe_M */
  /* NULL: floe_<mirror>, created or extended by floe; else a user's own
   * publication, only verified (floe never changes it) */
  const char *publication;
  /* where the floe tables live (floe_table_ref) */
  const char *catalog_uri, *warehouse, *catalog_name;
  floe_table_config table; /* for every table (floe_table_config_init) */
  bool skip_copy;          /* PGS_COPY_AUTO tables start from the stream */
  bool set_replica_full;   /* tables without a key get REPLICA IDENTITY FULL
                              (else they are refused, naming the ALTER) */
  int lock_timeout_ms;     /* for that ALTER; 0: 5000 */
  int copy_connections;    /* 0: 2 */
  int copy_ranges;         /* 0: automatic */
  pgx_copy_format copy_format;
  /* the engine's share of a copy on the thread that reads the COPY
   * connections (default: on a worker thread, overlapping them) */
  bool copy_inline;
  pgx_progress_mode progress;
  bool inline_tick;       /* pgs_poll calls floe_table_tick itself */
  int status_interval_ms; /* standby status updates; 0: 1000 */
  int backoff_min_ms, backoff_max_ms, max_retries; /* see pgx_stream_opts */
  int catalog_check_ms; /* look for dropped source tables; 0: 2000 */
  /* a table added to a running mirror spools its stream changes here
   * while its copy runs (an unlinked temp file); NULL: $TMPDIR or /tmp */
  const char *spool_dir;
  const flog *log;
} pgs_opts;

void pgs_opts_init(pgs_opts *o);

typedef struct pgs_source pgs_source;

/*
 * Connects, ensures the publication and the slot (created with an exported
 * snapshot, or reused), discovers every table (refusing tables without a
 * row identity unless set_replica_full), opens or creates the floe tables,
 * copies the tables that need it (one engine transaction per table,
 * committed at the snapshot's LSN: a crash mid-copy leaves nothing
 * visible), and starts the stream. A table that fails alone (discovery,
 * copy, schema) is left in PGS_ERROR with its message; the others run.
 * Fails as a whole for connection, slot and publication errors. The
 * strings of opts and specs are copied. The caller owns *out (pgs_free).
 */
floe_status pgs_open(const pgs_opts *opts, const pgs_table_spec *specs, int n,
                     pgs_source **out, floe_error *err);

/*
 * Receives and applies what the stream delivers within timeout_ms, sends
 * feedback, handles due work (dropped-table checks, queued requests; ticks
 * with inline_tick). Returns FLOE_OK on timeout; an error when the mirror
 * as a whole failed (a corrupt message, a final server error): the mirror
 * is then in PGS_ERROR and every later call returns the same error.
 */
floe_status pgs_poll(pgs_source *s, int timeout_ms, floe_error *err);

/* Maintenance: floe_table_tick on every table (flush, Iceberg commit,
 * compaction, ...). *next_ms (may be NULL): when to call again. A table
 * whose tick fails goes to PGS_ERROR; the call itself fails only when
 * every table failed. */
floe_status pgs_tick(pgs_source *s, int64_t now_ms, int64_t *next_ms,
                     floe_error *err);

/* Adds a table to the running mirror: discovery, publication, a fresh
 * consistent copy (temporary slot) while the other tables keep streaming
 * (the stream is serviced from inside the copy), then the table streams.
 * Blocks for the copy. A failure of the table alone leaves it in
 * PGS_ERROR (and returns the error). */
floe_status pgs_add_table(pgs_source *s, const pgs_table_spec *spec,
                          floe_error *err);
/* Stops mirroring schema.table: removed from floe's publication (not from a
 * user's), its floe table flushed, committed and closed (the Iceberg table
 * stays). FLOE_ENOTFOUND when it is not mirrored. */
floe_status pgs_remove_table(pgs_source *s, const char *schema,
                             const char *table, floe_error *err);
/* Copies a table again (after PGS_PAUSED or PGS_ERROR): a fresh snapshot,
 * the floe table replaced in one commit, then it streams again. */
floe_status pgs_resync_table(pgs_source *s, const char *schema,
                             const char *table, floe_error *err);

/* Graceful stop: the stream ends cleanly, every table is flushed and
 * committed to Iceberg (durable = applied), the slot confirms that
 * position; the slot stays. The tables are closed: only pgs_status_get and
 * pgs_free remain usable. */
floe_status pgs_stop(pgs_source *s, floe_error *err);
/* Makes the next pgs_poll return FLOE_EEOF at once (any thread, e.g. a
 * signal handler's flag forwarded by the host; async-signal-safe). */
void pgs_request_stop(pgs_source *s);
/* Frees s. Without pgs_stop this is like a crash: nothing past each table's
 * durable LSN is kept (restart resumes from there). */
void pgs_free(pgs_source *s);

/* ---- status (any thread) ---- */

typedef enum pgs_state {
  PGS_STARTING = 0, /* discovered, not yet copying or streaming */
  PGS_COPYING,      /* initial copy (or resync) running */
  PGS_STREAMING,    /* applying the stream */
  PGS_PAUSED,       /* a change floe cannot map: changes are not applied
                       (last_error says which; resync to resume). Like
                       PGS_ERROR, it keeps the slot's WAL from its durable
                       LSN on: a restart resumes it there */
  PGS_STOPPED,      /* the source table was dropped, or the mirror stopped */
  PGS_ERROR,        /* failed (last_error); the others go on */
} pgs_state;

const char *pgs_state_name(pgs_state st);

typedef struct pgs_table_status {
  char schema[64], table[64]; /* source */
  char ns[64], name[64];      /* floe table */
  pgs_state state;
  int64_t rows; /* live rows in the floe table's current view */
  uint64_t applied_lsn, durable_lsn;
  uint64_t lag_bytes; /* server WAL end - applied (0 when caught up) */
  int64_t lag_ms;     /* age of the last applied commit while behind */
  double changes_per_s;
  int64_t changes;         /* rows inserted/updated/deleted since open */
  int64_t copy_rows;       /* rows copied (copying / last copy) */
  double copy_eta_s;       /* < 0: unknown */
  uint64_t copy_lsn;       /* the last copy's snapshot LSN (0: none) */
  floe_table_stats engine; /* files, deletion vectors, memory, ... */
  char last_error[FLOE_ERROR_MSG_MAX];
} pgs_table_status;

typedef struct pgs_status {
  pgs_state state; /* PGS_STREAMING, PGS_STOPPED or PGS_ERROR */
  char last_error[FLOE_ERROR_MSG_MAX];
  char source[256]; /* "host=H port=P dbname=D user=U" */
  char slot[64], publication[64];
  bool connected;
  uint64_t received_lsn, server_wal_end, confirmed_lsn;
  int reconnects;
  int64_t messages;     /* pgoutput messages handled */
  int64_t ignored;      /* Type, Origin, Message (counted, not applied) */
  int64_t transactions; /* commits handled */
  int ntables;
  pgs_table_status *tables; /* owned by the status */
} pgs_status;

/* A consistent copy of the status; free with pgs_status_free. */
floe_status pgs_status_get(pgs_source *s, pgs_status *out, floe_error *err);
void pgs_status_free(pgs_status *st);

/* A read state of the floe table mirroring schema.table (see
 * floe_read_state_get). FLOE_ENOTFOUND when it is not mirrored. */
floe_status pgs_read_state_get(pgs_source *s, const char *schema,
                               const char *table, uint64_t min_lsn,
                               int64_t timeout_ms, floe_read_state **out,
                               floe_error *err);

/* Calls fn(ctx, t) with the floe table mirroring schema.table, holding a
 * reference so it stays open for the call; returns fn's status. The caller
 * keeps the engine's thread rules (floe_table_flush / floe_table_compact on
 * the maintenance thread, like pgs_tick; floe_table_columns, which an
 * ALTER changes, on the ingest thread). FLOE_ENOTFOUND when the table is
 * not mirrored or its floe table is not open. */
floe_status pgs_with_table(pgs_source *s, const char *schema, const char *table,
                           floe_status (*fn)(void *ctx, floe_table *t,
                                             floe_error *err),
                           void *ctx, floe_error *err);

/* ---- for tests and tools ---- */

/* Feeds one pgoutput message as if the stream delivered it (wal_start as
 * the stream tags it). The same path as the stream's: a corrupt message
 * puts the mirror into PGS_ERROR. */
floe_status pgs_inject(pgs_source *s, uint64_t wal_start, const uint8_t *data,
                       size_t len, floe_error *err);
/* Asks the server for a keepalive now, so an idle mirror's tables reach
 * the server's WAL end without waiting for the next one. */
floe_status pgs_request_keepalive(pgs_source *s, floe_error *err);

#endif
