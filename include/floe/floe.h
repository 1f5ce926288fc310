/*
 * floe: a streaming storage engine that mirrors Postgres tables into Apache
 * Iceberg. This header is the public contract of the library.
 *
 * Conventions that hold for every floe_ function:
 *   - A function that can fail returns floe_status; FLOE_OK is 0. On failure
 *     the message goes into the caller's floe_error (which may be NULL when
 *     the caller does not want the text).
 *   - The library keeps no global state, never exits, never installs signal
 *     handlers and never starts threads on its own: its host owns those.
 *   - Every returned pointer says who owns it and for how long.
 *   - Every *_free(NULL) is a no-op.
 */
#ifndef FLOE_FLOE_H
#define FLOE_FLOE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_VERSION_MAJOR 0
#define FLOE_VERSION_MINOR 1
#define FLOE_VERSION_PATCH 0
#define FLOE_VERSION_NUMBER                                                    \
  ((FLOE_VERSION_MAJOR << 24) | (FLOE_VERSION_MINOR << 16) | FLOE_VERSION_PATCH)

/* Run-time version, to compare with FLOE_VERSION_NUMBER from the header a
 * host compiled against. */
uint32_t floe_version(void);

/*
 * Status codes. The numbers are pinned: new codes are only appended. They sit
 * in their own range (1000+) so they are never mistaken for errno values.
 */
typedef enum floe_status {
  FLOE_OK = 0,
  FLOE_ENOMEM = 1001,       /* an allocation failed or a limit was hit */
  FLOE_EINVAL = 1002,       /* the caller passed something wrong */
  FLOE_EIO = 1003,          /* the operating system refused a read/write */
  FLOE_ECORRUPT = 1004,     /* outside bytes are malformed or inconsistent */
  FLOE_EUNSUPPORTED = 1005, /* well-formed, but a feature floe lacks */
  FLOE_ENOTFOUND = 1006,    /* a named thing does not exist */
  FLOE_ERANGE = 1007,       /* a value does not fit its type */
  FLOE_EEOF = 1008,         /* end of stream (not an error for iterators) */
  FLOE_EEXIST = 1009,       /* something already exists */
  FLOE_ECONFLICT = 1010,    /* a concurrent commit won; reload and retry */
  FLOE_ETIMEDOUT = 1011,    /* a wait ran out of time */
} floe_status;

/* A short constant name for a status ("corrupt data"); never NULL. */
const char *floe_strerror(floe_status st);

#define FLOE_ERROR_MSG_MAX 512

/*
 * Where a failing call explains itself. Callers allocate it (usually on the
 * stack); the library only ever writes into it.
 */
typedef struct floe_error {
  floe_status code;
  char msg[FLOE_ERROR_MSG_MAX];
} floe_error;


/* ====================================================================== */
/* The streaming table engine (src/table/)                                */
/* ====================================================================== */

/*
 * A floe table mirrors one source table into one Iceberg table. The source
 * (the Postgres replication client, or any host) feeds it changes grouped in
 * source transactions; the engine keeps recent rows in memory, flushes them
 * to Parquet, commits Iceberg snapshots on an interval and serves fresh,
 * consistent read states that merge memory with Iceberg.
 *
 * Threads: the library starts none. One thread (the "ingest" thread) calls
 * the change functions (floe_insert .. floe_commit/abort, floe_advance) for a
 * table; another (the "maintenance" thread) calls floe_table_tick (and the
 * forced variants); any thread may take and scan read states. Ingest is
 * never blocked by a flush, an Iceberg commit, a compaction or a reader:
 * those work on pinned immutable state and take the table's lock only to
 * install their result. src/table/README.md has the full rules.
 *
 * LSNs are Postgres WAL positions as uint64 (text form "X/Y" is
 * hi32/lo32 in hex; floe_lsn_format/floe_lsn_parse convert).
 */

/* Column types: the same numbering as the columnar layer's col_type. */
typedef enum floe_type {
  FLOE_BOOL = 0,
  FLOE_INT16,
  FLOE_INT32,
  FLOE_INT64,
  FLOE_FLOAT32,
  FLOE_FLOAT64,
  FLOE_DECIMAL, /* decimal128(precision, scale) */
  FLOE_UTF8,
  FLOE_BINARY,
  FLOE_DATE,        /* int32 days since 1970-01-01 */
  FLOE_TIME,        /* int64 microseconds since midnight */
  FLOE_TIMESTAMP,   /* int64 microseconds since epoch, no zone */
  FLOE_TIMESTAMPTZ, /* int64 microseconds since epoch, UTC */
  FLOE_UUID,        /* 16 bytes, big-endian (canonical) order */
  FLOE_LIST         /* list of elem (a scalar type) */
} floe_type;

/* One column of a table definition. */
typedef struct floe_column {
  const char *name;
  floe_type type;
  uint8_t precision, scale;           /* decimal */
  floe_type elem;                     /* list element type */
  uint8_t elem_precision, elem_scale; /* list of decimal */
  int nullable;                       /* nonzero: may hold NULL */
  /* The value rows that existed before this column was added read as
   * (Iceberg initial-default), as JSON text ("42", "\"abc\""); NULL = null.
   * Only used when a column is added to an existing table. */
  const char *initial_default;
} floe_column;

/* Tuning; floe_table_config_init fills the defaults documented here. */
typedef struct floe_table_config {
  /* Rows per in-memory batch (default 4096: a batch's deletion bitmap is
   * 512 bytes and a read state copies at most one unsealed batch). */
  int batch_rows;
  /* Flush the mem slice to a Parquet file past this many rows (default
   * 1M), bytes (default 64 MiB) or age of its oldest row (default 0 =
   * flush at every Iceberg commit). */
  int64_t flush_rows, flush_bytes, flush_age_ms;
  /* Iceberg commit interval (default 1000 ms): how far durable_lsn may
   * trail the applied LSN under load. */
  int64_t commit_interval_ms;
  /* Memory this table may hold in row data (mem slice + open transactions)
   * before it spills (default 256 MiB). */
  int64_t memory_limit;
  /* An open transaction spills its rows to a Parquet file past this many
   * bytes (default 16 MiB). */
  int64_t txn_spill_bytes;
  /* Housekeeping: keep the newest keep_snapshots snapshots (default 100)
   * and any younger than snapshot_max_age_ms (default 1 h); delete orphan
   * files older than orphan_age_ms (default 1 h) once per
   * housekeeping_interval_ms (default 10 min; 0 = never). */
  int keep_snapshots;
  int64_t snapshot_max_age_ms, orphan_age_ms, housekeeping_interval_ms;
  /* Compaction: merge data files smaller than target_file_bytes / 4
   * (target default 128 MiB) once at least compact_min_files (default 8)
   * exist; rewrite a file whose deleted fraction passes
   * compact_delete_fraction (default 0.2). compact_interval_ms (default
   * 10 s; 0 = never) spaces the checks. */
  int64_t target_file_bytes;
  int compact_min_files;
  double compact_delete_fraction;
  int64_t compact_interval_ms;
  /* Local directory for the persisted index and transaction spill files
   * (NULL: "<warehouse>/.floe/<namespace>.<table>" when the catalog's
   * warehouse is a local directory). Borrowed during open only. */
  const char *state_dir;
} floe_table_config;

void floe_table_config_init(floe_table_config *c);

/* Where a table lives: a catalog URI as the iceberg layer takes it (a
 * directory = filesystem catalog, "sqlite:PATH", "postgresql://..."), the
 * warehouse directory (needed by SQL catalogs, NULL for a directory
 * catalog), and the Iceberg namespace + table name. Strings are borrowed
 * during open only. */
typedef struct floe_table_ref {
  const char *catalog_uri;
  const char *warehouse;
  const char *catalog_name; /* SQL catalogs' catalog_name; NULL = "floe" */
  const char *ns;
  const char *name;
} floe_table_ref;

typedef struct floe_table floe_table;

/*
 * Opens the table, creating it when it does not exist. cols/ncols define
 * the schema for a new table (field ids are assigned 1..n); key_cols (column
 * indexes into cols, nkey of them) are the row identity, recorded as the
 * Iceberg schema's identifier fields; nkey = 0 makes the whole row the
 * identity (rows compared by value; duplicates allowed).
 *
 * An existing table recovers: its state is the last Iceberg snapshot (whose
 * summary holds the source LSN it covers, floe_durable_lsn), its index is
 * loaded from state_dir or rebuilt from the data files. cols may then be
 * NULL; when given they must match the table's current schema by name and
 * type (else FLOE_EINVAL naming the difference: evolve with
 * floe_table_alter). The caller frees *out with floe_table_close or
 * floe_table_free.
 */
floe_status floe_table_open(const floe_table_ref *ref, const floe_column *cols,
                            int ncols, const int *key_cols, int nkey,
                            const floe_table_config *cfg, floe_table **out,
                            floe_error *err);

/* Clean shutdown: flushes, commits what is applied to Iceberg (durable_lsn
 * = applied LSN afterwards), then frees t. Open transactions are dropped
 * (the source resends them). t is freed even when the commit fails. */
floe_status floe_table_close(floe_table *t, floe_error *err);
/* Frees t without flushing: like a crash, nothing past durable_lsn is kept.
 * Read states and streams still open keep what they pinned (and the
 * memory of t) until they are released. */
void floe_table_free(floe_table *t);

/* The table's current columns (borrowed until the next floe_table_alter or
 * close; names owned by t) and key column indexes. */
int floe_table_columns(const floe_table *t, const floe_column **cols);
int floe_table_key(const floe_table *t, const int **key_cols);

/* ---- rows ---- */

/*
 * A row buffer: the values of one row (or of the key/old-row for deletes)
 * before they are handed to the table. Built against one table's columns;
 * reusable after floe_row_reset. Setters copy the value in; a column left
 * unset is NULL. floe_row_set_unchanged marks a column whose value must be
 * taken from the row being replaced (Postgres' unchanged TOAST value) and is
 * only valid in the new row of floe_update.
 */
typedef struct floe_row floe_row;

floe_status floe_row_new(floe_table *t, floe_row **out, floe_error *err);
void floe_row_free(floe_row *r);
void floe_row_reset(floe_row *r);
floe_status floe_row_set_null(floe_row *r, int col, floe_error *err);
floe_status floe_row_set_unchanged(floe_row *r, int col, floe_error *err);
floe_status floe_row_set_bool(floe_row *r, int col, int v, floe_error *err);
/* int16/int32/int64/date/time/timestamp(tz): the value as int64 (checked
 * against the column's range). */
floe_status floe_row_set_int(floe_row *r, int col, int64_t v, floe_error *err);
/* float32/float64 (a float32 column stores (float)v). */
floe_status floe_row_set_float(floe_row *r, int col, double v,
                               floe_error *err);
/* decimal: the unscaled value, 128-bit two's complement. */
floe_status floe_row_set_decimal(floe_row *r, int col, uint64_t lo, int64_t hi,
                                 floe_error *err);
/* utf8, binary, uuid (n == 16). */
floe_status floe_row_set_bytes(floe_row *r, int col, const void *p, size_t n,
                               floe_error *err);
/* Lists: begin, then the element setters above with col = FLOE_ELEM, then
 * end. A NULL list is floe_row_set_null. */
#define FLOE_ELEM (-1)
floe_status floe_row_list_begin(floe_row *r, int col, floe_error *err);
floe_status floe_row_list_end(floe_row *r, floe_error *err);

/* ---- changes (ingest thread) ---- */

/*
 * Changes belong to a source transaction xid; subxid is the subtransaction
 * that made the change (xid itself outside savepoints). They stay invisible
 * until floe_commit and vanish on floe_abort. Several transactions may be
 * open at once (streamed in progress). Within a transaction changes apply
 * in call order.
 *
 * floe_delete takes the key columns (or, without a key, the whole old row);
 * other columns are ignored. floe_update = delete(old) + insert(new_row); old
 * may be NULL when the key did not change (then the key is new_row's).
 * Columns of new_row marked unchanged take the replaced row's values.
 * A delete or update whose row does not exist fails with FLOE_ENOTFOUND at
 * the call or at commit (the source and the mirror disagree: the table
 * needs a resync) and leaves the table as it was.
 */
floe_status floe_insert(floe_table *t, uint32_t xid, uint32_t subxid,
                        const floe_row *row, floe_error *err);
floe_status floe_delete(floe_table *t, uint32_t xid, uint32_t subxid,
                        const floe_row *old, floe_error *err);
floe_status floe_update(floe_table *t, uint32_t xid, uint32_t subxid,
                        const floe_row *old, const floe_row *new_row,
                        floe_error *err);
/* Removes every row visible to the transaction at this point. */
floe_status floe_truncate(floe_table *t, uint32_t xid, uint32_t subxid,
                          floe_error *err);
/* Makes xid's changes visible as of commit_lsn. A commit_lsn at or below
 * the table's applied LSN is skipped (a replay after restart): its changes
 * are dropped and FLOE_OK returned. */
floe_status floe_commit(floe_table *t, uint32_t xid, uint64_t commit_lsn,
                        floe_error *err);
/* Drops the changes of subxid (and only those) from open transaction xid;
 * subxid == xid drops the whole transaction. Unknown xids are no-ops. */
floe_status floe_abort(floe_table *t, uint32_t xid, uint32_t subxid,
                       floe_error *err);
/* Declares that every source commit <= lsn has been delivered (the source
 * saw commits of other tables or keepalives): read states waiting for lsn
 * may proceed, and a table with nothing pending can report durable_lsn =
 * lsn. */
floe_status floe_advance(floe_table *t, uint64_t lsn, floe_error *err);

/* Highest LSN whose commits are all applied (visible to new read states). */
uint64_t floe_applied_lsn(floe_table *t);
/* Highest LSN whose commits are all in a committed Iceberg snapshot (or had
 * no changes for this table): the only LSN a source may confirm upstream. */
uint64_t floe_durable_lsn(floe_table *t);

/* ---- reading (any thread) ---- */

typedef struct floe_read_state floe_read_state;

/*
 * Waits up to timeout_ms (< 0: forever) until every commit <= min_lsn is
 * applied, then returns a pinned view at a commit boundary: data files and
 * their deletion vectors, in-memory batches and their deleted rows. Files a
 * read state uses stay on disk until it is released. FLOE_ETIMEDOUT when the
 * LSN was not reached in time. Release with floe_read_state_release.
 */
floe_status floe_read_state_get(floe_table *t, uint64_t min_lsn,
                                int64_t timeout_ms, floe_read_state **out,
                                floe_error *err);
/* The LSN the view is at (>= min_lsn). */
uint64_t floe_read_state_lsn(const floe_read_state *rs);
/* Live rows in the view. */
int64_t floe_read_state_rows(const floe_read_state *rs);
/* Streams the view's live rows as Arrow arrays (ArrowArrayStream, the
 * Arrow C stream interface; declare it by including "columnar/arrow.h" or
 * Arrow's own abi header). columns: names to project (NULL/0 = all). The
 * stream holds its own pin: rs may be released before the stream ends. */
struct ArrowArrayStream;
floe_status floe_scan(floe_read_state *rs, const char *const *columns,
                      int ncolumns, struct ArrowArrayStream *out,
                      floe_error *err);
void floe_read_state_release(floe_read_state *rs);

/* ---- background work (maintenance thread) ---- */

/*
 * Does whatever is due at now_ms (a monotonic clock in ms): flush, Iceberg
 * commit (advancing durable_lsn), compaction, index merge, housekeeping.
 * *next_ms (may be NULL) gets when it wants to be called again. Calls on
 * one table must not overlap each other or floe_table_flush/compact/alter.
 */
floe_status floe_table_tick(floe_table *t, int64_t now_ms, int64_t *next_ms,
                            floe_error *err);
/* Flushes and commits everything applied now; durable_lsn == applied LSN
 * when it returns FLOE_OK. */
floe_status floe_table_flush(floe_table *t, floe_error *err);
/* Runs a compaction pass now (whatever its thresholds select; force != 0:
 * merge all small files and rewrite every file with deletes). */
floe_status floe_table_compact(floe_table *t, int force, floe_error *err);

/*
 * Schema change: cols is the new full column list. A column matches an
 * existing one by name (rename first with floe_table_rename_column). New
 * names are added (with their initial_default) after the existing columns,
 * missing ones dropped (not key columns), a changed type must be a widening
 * (int16->int32->int64, float32->float64, decimal precision up, same
 * scale), nullability may relax. Anything else: FLOE_EUNSUPPORTED
 * and the table is unchanged. Flushes and commits first; open transactions
 * keep working (their rows are converted), so call it on the ingest thread.
 * Rows (floe_row) made before the change are refused afterwards: make new
 * ones. Iceberg has a single 32-bit int: int16 columns are int32 columns
 * (floe_table_columns says FLOE_INT32), and int16 <-> int32 is no change.
 */
floe_status floe_table_alter(floe_table *t, const floe_column *cols, int ncols,
                             floe_error *err);
floe_status floe_table_rename_column(floe_table *t, const char *from,
                                     const char *to, floe_error *err);

/* Counters and sizes, for status and metrics (a consistent copy). */
typedef struct floe_table_stats {
  uint64_t applied_lsn, durable_lsn;
  int64_t rows;            /* live rows in the current view */
  int64_t mem_rows;        /* rows in the mem slice (incl. deleted) */
  int64_t mem_bytes;       /* mem slice + open transactions */
  int64_t open_txns;       /* transactions in progress */
  int64_t data_files;      /* live data files (Iceberg + flushed) */
  int64_t deletion_vectors; /* files with deleted rows */
  int64_t index_bytes;     /* RAM of the index (heap + resident maps) */
  int64_t index_rows;      /* rows the index covers */
  int64_t snapshots;       /* Iceberg snapshots kept */
  int64_t commits, flushes, compactions; /* since open */
  int64_t changes;         /* rows inserted + deleted since open */
  int64_t last_commit_ms;  /* wall time of the last Iceberg commit */
  int32_t schema_id;       /* the current Iceberg schema id */
  int64_t snapshot_id;     /* the current Iceberg snapshot id; -1: none */
} floe_table_stats;
void floe_table_stats_get(floe_table *t, floe_table_stats *out);

/* LSN text form "X/Y" (as Postgres prints it) into buf (>= 18 bytes). */
char *floe_lsn_format(uint64_t lsn, char *buf);
floe_status floe_lsn_parse(const char *s, uint64_t *out, floe_error *err);

#ifdef __cplusplus
}
#endif
#endif /* FLOE_FLOE_H */
