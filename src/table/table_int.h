/*
 * Internals of the table engine shared by src/table/ files. Not a public
 * contract: floe.h is. src/table/README.md explains the design; this header
 * states who may touch what and under which lock.
 *
 * Locks (always taken in this order; never held across I/O):
 *   maint  serialises maintenance (tick, flush, compact, alter, close): held
 *          for a whole pass, I/O included; ingest and readers never take it.
 *   ix     the index and the row locations: held by ingest while it resolves
 *          and applies a commit or looks up a row, and by maintenance to pin
 *          and to install. Whoever holds ix sees a view whose rows do not
 *          move.
 *   mu     the committed view (file and batch lists, deletion bitmaps,
 *          LSNs, counters) + the condvar read states wait on. Held briefly by
 *          ingest (publish a commit), maintenance (pin, install) and readers
 *          (pin).
 * Transactions (tbl_txn) belong to the ingest thread alone and take no lock.
 */
#ifndef FLOE_TABLE_TABLE_INT_H
#define FLOE_TABLE_TABLE_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "columnar/arrow.h"
#include "iceberg/table.h"
#include "table/index.h"

/* Location ids with this bit set name a data file slot, others a batch. */
#define TBL_FILE_BIT 0x80000000u
#define TBL_LOC_NONE UINT64_MAX

/* ---- schema ---- */

/*
 * The table's schema at one point in time. Immutable, refcounted: read
 * states, rows and open transactions hold the version they were built with.
 */
typedef struct tbl_schema {
  atomic_int refs;
  ice_schema ice;   /* copy of Iceberg's schema (defaults, ids) */
  col_schema *cols; /* == ice.cols (borrowed from it) */
  int ncols;
  floe_column *fcols; /* the public view; names borrowed from cols */
  int nkey;
  int *key; /* key column indexes; nkey == 0: keyless */
  /* identity columns: the key, or every column of a keyless table */
  int nident;
  int *ident;
  int *seq; /* 0..nident-1: identity positions inside a key-only batch */
  col_schema *ident_schema; /* the identity columns alone */
} tbl_schema;

tbl_schema *tbl_schema_ref(tbl_schema *s);
void tbl_schema_unref(tbl_schema *s);
/* Builds the schema object for Iceberg schema is (copied) and the key
 * columns by field id (nkey ids; 0 = keyless). */
floe_status tbl_schema_make(const ice_schema *is, const int32_t *key_ids,
                            int nkey, tbl_schema **out, floe_error *err);
/* A new table's col_schema from floe columns: ids 1..n, then list
 * element ids n+1.. . */
floe_status tbl_schema_from_columns(const floe_column *cols, int ncols,
                                    col_schema **out, floe_error *err);
col_dtype tbl_dtype(const floe_column *c);

/* ---- deletion bitmaps ---- */

/* A batch's deleted rows: a plain bitmap, copy-on-write (a pinned one is
 * cloned before a change). */
typedef struct tbl_bits {
  atomic_int refs;
  int64_t ndel;
  int64_t nwords;
  uint64_t w[];
} tbl_bits;

tbl_bits *tbl_bits_new(int64_t nbits);
tbl_bits *tbl_bits_clone(const tbl_bits *b, int64_t nbits);
static inline tbl_bits *tbl_bits_ref(tbl_bits *b) {
  if (b) atomic_fetch_add(&b->refs, 1);
  return b;
}
void tbl_bits_unref(tbl_bits *b);
static inline bool tbl_bits_get(const tbl_bits *b, int64_t i) {
  return (b->w[i >> 6] >> (i & 63)) & 1;
}
static inline void tbl_bits_set(tbl_bits *b, int64_t i) {
  uint64_t m = (uint64_t)1 << (i & 63);
  if (!(b->w[i >> 6] & m)) {
    b->w[i >> 6] |= m;
    b->ndel++;
  }
}
static inline void tbl_bits_clear(tbl_bits *b, int64_t i) {
  uint64_t m = (uint64_t)1 << (i & 63);
  if (b->w[i >> 6] & m) {
    b->w[i >> 6] &= ~m;
    b->ndel--;
  }
}

/* A data file's deleted positions (roaring through ice_dv), copy-on-write
 * like tbl_bits. dv is NULL while empty. */
typedef struct tbl_dv {
  atomic_int refs;
  ice_dv *dv;
  int64_t ndel;
} tbl_dv;

floe_status tbl_dv_new(tbl_dv **out, floe_error *err);
floe_status tbl_dv_clone(const tbl_dv *d, tbl_dv **out, floe_error *err);
static inline tbl_dv *tbl_dv_ref(tbl_dv *d) {
  if (d) atomic_fetch_add(&d->refs, 1);
  return d;
}
void tbl_dv_unref(tbl_dv *d);
floe_status tbl_dv_add(tbl_dv *d, uint64_t pos, floe_error *err);
/* tbl_dv_add for a pos the caller knows is not in d (a commit's resolved
 * deletes: found live under ix, each once): one roaring lookup fewer */
floe_status tbl_dv_add_new(tbl_dv *d, uint64_t pos, floe_error *err);
static inline bool tbl_dv_has(const tbl_dv *d, uint64_t pos) {
  /* most files have no deletes: skip the roaring lookup */
  return d && d->ndel && d->dv && ice_dv_contains(d->dv, pos);
}

/* ---- batches (the mem slice) ---- */

typedef struct tbl_batch {
  atomic_int refs;
  uint32_t id;
  col_batch *b;    /* rows; immutable once sealed */
  uint64_t *hash;  /* identity hash per row (cap entries) */
  int64_t cap;     /* rows the hash array holds */
  tbl_bits *del;   /* deleted rows (COW; nbits = cap) */
  int64_t bytes;   /* row data held */
  int64_t born_ms; /* monotonic time of its first row (flush_age_ms) */
} tbl_batch;

floe_status tbl_batch_new(col_schema *schema, int64_t cap, tbl_batch **out,
                          floe_error *err);
static inline tbl_batch *tbl_batch_ref(tbl_batch *b) {
  atomic_fetch_add(&b->refs, 1);
  return b;
}
void tbl_batch_unref(tbl_batch *b);
/* Bytes of row data in columns (buffers in use, not capacity). */
int64_t tbl_cols_bytes(const col_batch *b);

/* ---- data files ---- */

enum { TBL_ICE_NO = 0, TBL_ICE_LIVE, TBL_ICE_GONE };

typedef struct tbl_file {
  atomic_int refs;
  uint32_t slot; /* TBL_FILE_BIT | n */
  ice_data_file df;
  int64_t rows;
  tbl_dv *del;       /* current deletes (mu; COW) */
  tbl_dv *committed; /* the deletes the last Iceberg commit holds (mu) */
  int ice;           /* TBL_ICE_* (mu) */
  int64_t gone_ts;   /* TBL_ICE_GONE: wall ms of the last snapshot with it */
} tbl_file;

/* Takes df (moved in; zeroed in the caller). */
floe_status tbl_file_new(ice_data_file *df, uint32_t slot, tbl_file **out,
                         floe_error *err);
static inline tbl_file *tbl_file_ref(tbl_file *f) {
  atomic_fetch_add(&f->refs, 1);
  return f;
}
void tbl_file_unref(tbl_file *f);
static inline int64_t tbl_file_live(const tbl_file *f) {
  return f->rows - (f->del ? f->del->ndel : 0);
}

/* A persisted file index, refcounted (an index merge reads it while the
 * ingest thread looks things up in it). */
typedef struct tbl_fidx {
  atomic_int refs;
  tidx_file *f;
  bool unlink; /* delete the file when the last reference goes */
} tbl_fidx;

tbl_fidx *tbl_fidx_wrap(tidx_file *f);
static inline tbl_fidx *tbl_fidx_ref(tbl_fidx *x) {
  atomic_fetch_add(&x->refs, 1);
  return x;
}
void tbl_fidx_unref(tbl_fidx *x);

/* One generation of the mem index: entries of batches with id <= max_id
 * (the newest generation has max_id UINT32_MAX). A flush drops the
 * generations it covers in one step instead of removing entries one by
 * one. */
typedef struct tbl_mgen {
  tidx_mem *m;
  uint32_t max_id;
} tbl_mgen;

/* ---- transactions (txn.c) ---- */

typedef struct tbl_txn tbl_txn;
/* Ends x: its memory goes back to t->pool for the next transaction (or is
 * freed). */
void tbl_txn_free(floe_table *t, tbl_txn *x);
struct tbl_pool;
/* Frees t->pool (table teardown). */
void tbl_pool_free(floe_table *t);
/* The open transaction xid (NULL when none). */
tbl_txn *tbl_txn_find(floe_table *t, uint32_t xid);
void tbl_txn_forget(floe_table *t, tbl_txn *x);

/* ---- the table ---- */

/* A removed file waiting to leave Iceberg (ice LIVE: the next commit
 * removes it) or the disk (ice NO: deleted once nothing pins it). */
typedef struct tbl_flist {
  int n, cap;
  tbl_file **v;
} tbl_flist;

floe_status tbl_flist_push(tbl_flist *l, tbl_file *f, floe_error *err);
void tbl_flist_clear(tbl_flist *l);

struct floe_table {
  atomic_int refs; /* the host's + one per read state / stream */
  pthread_mutex_t maint, ix, mu;
  pthread_cond_t cv;
  floe_table_config cfg;
  char *ns, *name, *state_dir, *location;
  ice_catalog *cat;
  ice_table *ice; /* maintenance only (maint) */

  /* ---- view (mu) ---- */
  tbl_schema *schema;
  int nfiles, capfiles;
  tbl_file **files; /* sorted by slot */
  int nmem, capmem;
  tbl_batch **mem;   /* sorted by id */
  tbl_batch *active; /* in mem, or NULL; the only batch still growing */
  tbl_flist removed; /* gone from the view, LIVE in Iceberg */
  tbl_flist trash;   /* gone from the view, never in Iceberg */
  tbl_flist retired; /* GONE from Iceberg's current snapshot, maybe pinned */
  uint64_t applied, durable;
  uint64_t version; /* +1 per visible change */
  uint64_t changes; /* +1 per commit that changed rows (dirty tracking) */
  uint64_t committed_changes; /* `changes` covered by the last commit */
  uint64_t trunc_gen;         /* +1 per applied truncate */
  tbl_batch *asnap;           /* copy of the active batch for read states */
  uint64_t asnap_version;
  int64_t mem_rows;
  atomic_llong mem_bytes; /* also read by ingest without a lock (spills) */
  /* store keys of the spill files a commit is moving into the data
   * directory, from before the move until they are in files[]: an orphan
   * sweep listing the directory meanwhile must spare them */
  int nmoving, capmoving;
  char **moving;

  /* ---- index (ix) ---- */
  int ngen;
  tbl_mgen gen[8];
  int nfidx, capfidx;
  tbl_fidx **fidx;
  uint32_t next_id, next_slot;

  /* ---- ingest thread ---- */
  int ntxn, captxn;
  tbl_txn **txns;
  atomic_int open_txns; /* == ntxn, for stats from other threads */
  atomic_llong txn_bytes;
  floe_row *scratch;     /* an update's new row with unchanged values filled */
  struct tbl_pool *pool; /* reused transaction memory (txn_int.h) */
  /* the view and Iceberg can no longer be reconciled (a commit failed
   * half-way, a schema change could not convert the rows, an Iceberg commit
   * reported as failed landed after all): changes and Iceberg commits are
   * refused until the table is reopened. Set by either thread. */
  atomic_bool broken;

  /* ---- maintenance (maint) ---- */
  int64_t last_commit_ms, last_compact_ms, last_house_ms;
  int64_t commit_wall_ms; /* wall ms of the last Iceberg commit */
  /* the floe.commit-id of an Iceberg commit that failed in a way that may
   * have landed (the catalog could not be read back to tell): the next
   * commit looks for it first */
  char *unsure;

  /* ---- counters (mu) ---- */
  int64_t n_commits, n_flushes, n_compactions, n_changes;
  int64_t n_inline_flushes; /* flushes the ingest thread made (back-pressure) */
  int64_t nsnapshots;       /* Iceberg snapshots kept, after the last commit */
  int64_t snapshot_id;      /* Iceberg's current snapshot (ICE_NONE: none) */
};

void tbl_table_unref(floe_table *t);
int64_t tbl_mono_ms(void);
int64_t tbl_wall_ms(void);

/* The batch with id, or NULL (ix or mu held). */
tbl_batch *tbl_find_batch(const floe_table *t, uint32_t id);
tbl_file *tbl_find_file(const floe_table *t, uint32_t slot);
int tbl_find_file_index(const floe_table *t, uint32_t slot);
/* Inserts b into mem (sorted by id; ids grow, so it is an append). mu. */
floe_status tbl_mem_push(floe_table *t, tbl_batch *b, floe_error *err);
floe_status tbl_files_push(floe_table *t, tbl_file *f, floe_error *err);
floe_status tbl_fidx_push(floe_table *t, tbl_fidx *x, floe_error *err);
/* Room for n file indexes in fidx[] (ix). */
floe_status tbl_fidx_reserve(floe_table *t, int n, floe_error *err);

/* Calls fn for every candidate location of hash (mem generations, then
 * file indexes). ix held. */
void tbl_lookup(const floe_table *t, uint64_t hash, tidx_visit_fn fn,
                void *arg);

/* Prefetches what tbl_lookup of hash will read: stage 0 the first lines
 * (mem slots, file index directory words), stage 1 (issued later, once
 * stage 0 landed) the file index entries. ix held. */
void tbl_lookup_prefetch(const floe_table *t, uint64_t hash, int stage);

/* Whether the committed row at loc exists and is not deleted (ix held).
 * *b / *f get its batch or file. */
bool tbl_loc_live(const floe_table *t, uint64_t loc, tbl_batch **b,
                  tbl_file **f);

/* Reads rows of a Parquet file (positions sorted ascending) into out, a
 * new empty batch of s->cols: columns by field id, widened, defaults for
 * columns the file lacks. path is a table path read through cat's store,
 * or a local file when local. */
floe_status tbl_read_file_rows(ice_catalog *cat, const char *path, bool local,
                               const tbl_schema *s, const int64_t *pos, int n,
                               col_batch *out, floe_error *err);
/* The same, reading only the columns with want[i] (NULL: all); the others
 * get nulls. */
floe_status tbl_read_file_cols(ice_catalog *cat, const char *path, bool local,
                               const tbl_schema *s, const bool *want,
                               const int64_t *pos, int n, col_batch *out,
                               floe_error *err);

/* Builds one persisted index over files (rows read by field id in schema
 * s, deletes ignored: every position gets its identity hash). *out NULL
 * when n == 0. No lock: reads the files. (open.c) */
floe_status tbl_index_files(floe_table *t, const tbl_schema *s,
                            tbl_file *const *files, int n, tbl_fidx **out,
                            floe_error *err);

/* ---- flush / commit / compaction (flush.c, compact.c) ---- */

/* Flushes the mem slice to a data file; commit: and commits everything to
 * Iceberg (durable = applied at the pin). maint held. */
floe_status tbl_flush(floe_table *t, bool commit, floe_error *err);
floe_status tbl_compact(floe_table *t, int force, floe_error *err);
floe_status tbl_index_merge(floe_table *t, int min_files, floe_error *err);
floe_status tbl_housekeep(floe_table *t, floe_error *err);
/* Whether a mem slice of rows / bytes is past the hard limit (twice the
 * flush thresholds, half of memory_limit) at which ingest stops adding. */
bool tbl_mem_hard_over(const floe_table *t, int64_t rows, int64_t bytes);
/* Back-pressure, called by the ingest thread after a commit (no lock held):
 * past the hard limit it waits until a flush brings the mem slice under it
 * (woken through cv when a flush installs), and flushes the slice itself
 * whenever maint is free (no maintenance pass in progress, or no
 * maintenance thread at all). */
floe_status tbl_backpressure(floe_table *t, floe_error *err);
/* For long maintenance passes (maint held): flushes the mem slice (no
 * Iceberg commit) when it is past the hard limit, so ingest waiting in
 * tbl_backpressure need not wait for the whole pass. */
void tbl_relieve(floe_table *t);
/* Iceberg commits carry a summary key floe.commit-id = a fresh uuid, so a
 * commit that reported a failure can be looked for: tbl_commit_landed
 * refreshes the table and says whether a snapshot has id (an error when the
 * catalog cannot be read). maint held. */
#define TBL_COMMIT_ID "floe.commit-id"
floe_status tbl_commit_landed(floe_table *t, const char *id, bool *landed,
                              floe_error *err);
/* Before an Iceberg commit: FLOE_OK when the table may commit (not broken,
 * no earlier commit of unknown outcome, or it is known not to have landed).
 * maint held. */
floe_status tbl_commit_ready(floe_table *t, floe_error *err);
/* After ice_txn_commit of id failed: whether it landed anyway (the catalog
 * swap went through and the reply was lost, or a step after it failed).
 * When the catalog cannot tell, t->unsure = id for the next commit to look
 * for (false is returned). maint held. */
bool tbl_commit_landed_anyway(floe_table *t, const char *id);
/* Moves trash files nothing pins into drop (for tbl_drop_files after the
 * locks are released) and forgets retired files nothing pins. mu held. */
void tbl_sweep(floe_table *t, tbl_flist *drop);
/* Deletes the files in drop from disk and clears the list. No lock. */
void tbl_drop_files(floe_table *t, tbl_flist *drop);
/* Whether the file with store key `key` is one of the table's own files
 * that no snapshot holds yet (a flushed or spilled file, or one a commit is
 * moving in): orphan removal spares it. Takes mu. */
bool tbl_keep_file(void *t, const char *key);

/* Converts column src (any type the schema may widen into c's) and appends
 * rows [from, from+n) to c. */
floe_status tbl_col_convert(col_column *c, const col_column *src, int64_t from,
                            int64_t n, floe_error *err);
/* Appends n copies of the Iceberg initial-default json (NULL: nulls). */
floe_status tbl_col_default(col_column *c, const char *json, int64_t n,
                            floe_error *err);
/* Rewrites b (any earlier schema) into schema s by field id. */
floe_status tbl_batch_convert(const col_batch *b, const tbl_schema *s,
                              col_batch **out, floe_error *err);

/* Types equal as Iceberg sees them (int16 reads back as int32). */
bool tbl_same_type(col_dtype a, col_dtype b);

/* Makes directories (mkdir -p). */
floe_status tbl_mkdirs(const char *path, floe_error *err);
/* A random (version 4) uuid in canonical text form. */
floe_status tbl_uuid(char out[37], floe_error *err);
/* "<dir>/<prefix><uuid><suffix>" (malloc'd). */
floe_status tbl_path_uuid(const char *dir, const char *prefix,
                          const char *suffix, char **out, floe_error *err);

/* Wakes read-state waiters (mu held). */
static inline void tbl_wake(floe_table *t) { pthread_cond_broadcast(&t->cv); }

#endif
