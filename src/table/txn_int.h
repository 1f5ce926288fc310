/*
 * An open source transaction's private state (txn.c builds it, commit.c
 * publishes it). Owned by the ingest thread; no locks.
 *
 * Rows the txn inserts get ordinals g = 0, 1, 2... in call order. The
 * oldest live in spill segments (Parquet files in state_dir, one per
 * spill), the rest in chunks of batch_rows rows. A row is dead when it was
 * deleted explicitly (a chunk bit, or sdel for spilled rows), inserted by an
 * aborted subtransaction (runs + aborted), or truncated (tmarks).
 */
#ifndef FLOE_TABLE_TXN_INT_H
#define FLOE_TABLE_TXN_INT_H

#include "table/row_int.h"

typedef struct tbl_chunk {
  col_batch *b;
  uint64_t *hash; /* per row (hcap entries) */
  tbl_bits *del;  /* explicit private deletes (hcap bits) */
  /* rows hash and del have room for: starts small and doubles up to
   * batch_rows, so a one-row transaction does not carry a 32 KiB array */
  int64_t hcap;
  int64_t g0; /* ordinal of row 0 */
  int64_t bytes;
} tbl_chunk;

typedef struct tbl_seg {
  char *tmp;        /* the spill file in state_dir */
  ice_data_file df; /* its entry, file_path = where a commit moves it */
  int64_t g0, rows;
  tbl_fidx *idx; /* index over it, covering df.file_path, slot = segment # */
  tbl_schema *schema; /* the schema its rows were written with */
} tbl_seg;

/* rows [g0, next run's g0) were inserted by subxid sub; dead once sub
 * aborted */
typedef struct tbl_run {
  int64_t g0;
  uint32_t sub;
  bool dead;
} tbl_run;

/* a private delete (undone when sub aborts) or a truncate point (rows
 * g < g are dead); dead once sub aborted (kept in place: indexes into the
 * arrays stay valid, see tbl_sub) */
typedef struct tbl_mark {
  int64_t g;
  uint32_t sub;
  bool dead;
} tbl_mark;

/* A subtransaction (subxid != xid) that did something: whether it aborted,
 * and the first run, private delete, op and truncate point it made (-1:
 * none). An abort scans each list from there, not from the start: a
 * savepoint rolled back costs what was done since it began. */
typedef struct tbl_sub {
  uint32_t sub;
  bool used, aborted;
  int run0, pdel0, op0, tmark0;
} tbl_sub;

enum { TBL_OP_DEL = 0, TBL_OP_TRUNC = 1 };

/* A change to committed rows, resolved at commit. */
typedef struct tbl_op {
  uint8_t kind;
  bool dead; /* its subtransaction aborted */
  uint32_t sub;
  int64_t key_row; /* row in opkeys (TBL_OP_DEL) */
  uint64_t hash;
} tbl_op;

struct tbl_txn {
  uint32_t xid;
  tbl_schema *schema; /* rows and keys are in this schema */
  int64_t batch_rows;
  int nchunk, capchunk;
  tbl_chunk *chunks;
  int nseg, capseg;
  tbl_seg *segs;
  int64_t nrows;    /* next ordinal */
  int64_t spilled;  /* ordinals below this are in segments */
  tidx_mem *idx;    /* hash -> g of chunk rows; NULL until the first lookup */
  int64_t idx_upto; /* chunk rows below this ordinal are indexed */
  tidx_mem *sdel;   /* deleted spilled ordinals: hash(g) -> g */
  int nrun, caprun;
  tbl_run *runs;
  int npdel, cappdel;
  tbl_mark *pdels; /* explicit private deletes, for subxact abort */
  int ntmark, captmark;
  tbl_mark *tmarks;
  int64_t tmax;     /* the highest truncate point: rows below it are dead */
  int naborted;     /* subtransactions aborted */
  int nsub, capsub; /* subs: open addressing by subxid, capsub a power of 2 */
  tbl_sub *subs;
  col_batch *opkeys; /* identity values of deleted committed rows */
  int nop, capop;
  tbl_op *ops;
  int64_t bytes; /* row data held in memory */
};

/*
 * What finished transactions leave for the next ones (t->pool, ingest
 * thread only): transaction structs with their arrays, op-key batch and a
 * small private index, and emptied chunks (batch buffers, hash array,
 * bitmap). So a transaction of a few rows does no malloc in steady state.
 * Bounded: TBL_POOL_TXNS structs whose arrays stayed small, TBL_POOL_CHUNKS
 * chunks that held at most TBL_POOL_CHUNK_BYTES of row data (their buffers'
 * capacity is then below twice that). Entries built for an earlier schema
 * are dropped when the next transaction starts.
 */
#define TBL_POOL_TXNS 8
#define TBL_POOL_CHUNKS 4
#define TBL_POOL_CHUNK_BYTES (256 << 10)

typedef struct tbl_pool {
  int ntxn;
  tbl_txn *txn[TBL_POOL_TXNS];
  int nchunk;
  tbl_chunk chunk[TBL_POOL_CHUNKS];
  tidx_mem *idx; /* an empty private index, small */
  /* transactions and chunks built new rather than reused (tests) */
  int64_t fresh_txns, fresh_chunks;
} tbl_pool;

/* Whether private row g is dead. */
bool tbl_txn_dead(const tbl_txn *x, int64_t g);

#endif
