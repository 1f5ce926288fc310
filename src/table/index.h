/*
 * The hybrid primary-key index: key hash -> row locations.
 *
 *   tidx_mem   in-memory open-addressing multimap for the mem slice (and for
 *              a transaction's private rows): hash -> 64-bit location.
 *   tidx_file  an immutable, persisted index over one or more data files:
 *              entries sorted by hash, a bucket directory on the top bits,
 *              8 bytes per row (hash bits below the directory's + a row
 *              ordinal across the covered files), mmap'ed on open.
 *   tidx       the engine's whole index: one tidx_mem + a list of tidx_file,
 *              merged in the background when the list grows.
 *
 * The index only narrows: a lookup returns candidate locations whose hashes
 * match. The caller drops candidates that are deleted and compares key values
 * when more than one remains (a hash collision, or duplicate rows of a key-less
 * table, which are interchangeable).
 *
 * Budget: <= 16 bytes of RAM per indexed row, counting the mem table's slots
 * and the resident pages of the maps (tidx_bytes reports both).
 *
 * Threads: a tidx_mem is not synchronised (the caller locks). A tidx_file is
 * immutable once its slots are set: lookups from any number of threads.
 *
 * Locations: TIDX_LOC(kind_id, row) packs a 32-bit batch id or data-file slot
 * and a 32-bit row. File indexes return (file slot, row) where the slot is
 * the one the caller gave the data file's path when opening the index.
 */
#ifndef FLOE_TABLE_INDEX_H
#define FLOE_TABLE_INDEX_H

#include "columnar/batch.h"

#define TIDX_LOC(id, row) (((uint64_t)(uint32_t)(id) << 32) | (uint32_t)(row))
#define TIDX_LOC_ID(loc) ((uint32_t)((loc) >> 32))
#define TIDX_LOC_ROW(loc) ((uint32_t)(loc))

/* ---- key values (key.c) ---- */

/*
 * Hashes of the identity columns (key[0..nkey) are column indexes of cols) for
 * rows [from, from+n) into out[0..n): one columnar pass per key column. The
 * hash of a value depends on its value, not its physical width: integer-like
 * columns (int16/32/64, date, time, timestamp[tz]) hash as int64, floats as
 * float64 bits, decimals as their 128-bit unscaled value, so a row hashes the
 * same before and after a widening. NULL hashes as a fixed marker.
 */
void tkey_hash(const col_column *cols, const int *key, int nkey, int64_t from,
               int64_t n, uint64_t *out);
/* True when row i of (a, akey) and row j of (b, bkey) have equal identity
 * values, column by column (same normalisation as the hash). */
bool tkey_equal(const col_column *a, const int *akey, int64_t i,
                const col_column *b, const int *bkey, int64_t j, int nkey);

/* ---- in-memory multimap ---- */

typedef struct tidx_mem tidx_mem;

/* A table of 16-byte slots taking any location but UINT64_MAX, and
 * returning exactly the entries whose 64-bit hash equals the one looked
 * up. */
floe_status tidx_mem_new(int64_t expected, tidx_mem **out, floe_error *err);
/* A table of 8-byte slots for batch locations: TIDX_LOC(id, row) with
 * id >= base_id, row < batch_rows (rounded up to a power of two, <= 2^24)
 * and (id - base_id) * that + row < 2^32 - 1; other locations are refused
 * (FLOE_ERANGE). A lookup also returns entries whose hash merely agrees
 * with the one looked up in 32 mixed bits (callers compare key values). */
floe_status tidx_mem_new_batches(int64_t expected, uint32_t base_id,
                                 int64_t batch_rows, tidx_mem **out,
                                 floe_error *err);
void tidx_mem_free(tidx_mem *m);
/* loc must not be TIDX_LOC(UINT32_MAX, UINT32_MAX) (the empty marker). */
floe_status tidx_mem_insert(tidx_mem *m, uint64_t hash, uint64_t loc,
                            floe_error *err);
/* Inserts hashes[r] -> TIDX_LOC(id, row0 + r) for r in [0, n): one growth
 * check and prefetched probes (publishing a batch's rows). */
floe_status tidx_mem_insert_run(tidx_mem *m, const uint64_t *hashes, int64_t n,
                                uint32_t id, uint32_t row0, floe_error *err);
/* Removes one (hash, loc) entry; false when absent. */
bool tidx_mem_remove(tidx_mem *m, uint64_t hash, uint64_t loc);
/* Candidates for hash: calls fn(arg, loc) for each; fn returns nonzero to
 * stop early. fn must not insert into or remove from the index it visits
 * (collect, then remove). */
typedef int (*tidx_visit_fn)(void *arg, uint64_t loc);
void tidx_mem_lookup(const tidx_mem *m, uint64_t hash, tidx_visit_fn fn,
                     void *arg);
/* Prefetches the first slot a lookup of hash reads (batching lookups). */
void tidx_mem_prefetch(const tidx_mem *m, uint64_t hash);
void tidx_mem_clear(tidx_mem *m);
int64_t tidx_mem_count(const tidx_mem *m);
int64_t tidx_mem_bytes(const tidx_mem *m);

/* ---- persisted file index ---- */

typedef struct tidx_file tidx_file;

/* The data files a file index covers, in ordinal order. */
typedef struct tidx_cover {
  const char *path; /* the data file's path as the table names it */
  int64_t rows;     /* its row count (positions 0..rows-1) */
  uint32_t slot;    /* the caller's id for the file (returned in locs) */
} tidx_cover;

/*
 * Builds an index over the given files: hashes[k] is the hash of ordinal k
 * (file 0's rows first, then file 1's...), sum(rows) <= UINT32_MAX entries.
 * Writes it to path (a local file, written to "<path>.tmp-XXXXXX", fsynced,
 * renamed; a crash may leave such temp files for the caller to remove) and
 * opens it with the files' slots.
 * hashes is borrowed (the builder may sort a copy).
 */
floe_status tidx_file_build(const char *path, const tidx_cover *files,
                            int nfiles, const uint64_t *hashes, tidx_file **out,
                            floe_error *err);
/* Opens (mmaps) an index file, checking its header, sizes, CRCs and
 * directory (it reads the whole file once). The i-th covered file's slot is
 * i until tidx_file_set_slot gives it the caller's (tidx_file_cover_path tells
 * which files, in order). Corrupt or truncated files: FLOE_ECORRUPT naming
 * the file; a missing file FLOE_ENOTFOUND. */
floe_status tidx_file_open(const char *path, tidx_file **out, floe_error *err);
int tidx_file_ncovers(const tidx_file *f);
/* The i-th covered file's path (borrowed from f) and rows. */
const char *tidx_file_cover_path(const tidx_file *f, int i, int64_t *rows);
void tidx_file_set_slot(tidx_file *f, int i, uint32_t slot);
uint32_t tidx_file_slot(const tidx_file *f, int i);
void tidx_file_lookup(const tidx_file *f, uint64_t hash, tidx_visit_fn fn,
                      void *arg);
/*
 * Merges indexes into one new file at path, keeping only the covered files
 * for which live(arg, slot) is true (dead files' entries are dropped; live
 * NULL keeps all). The output covers the live files in input order with
 * their slots. Streaming: memory is the output file's mapping only. The
 * inputs stay open and valid; the caller swaps and frees them.
 */
typedef bool (*tidx_live_fn)(void *arg, uint32_t slot);
floe_status tidx_file_merge(const char *path, tidx_file *const *in, int nin,
                            tidx_live_fn live, void *arg, tidx_file **out,
                            floe_error *err);
/* Prefetching for a batch of lookups: stage 0 fetches hash's directory
 * word, stage 1 (later, once that word is cached) the bucket's entries.
 * Issued a key or two ahead, the misses of several lookups overlap. */
void tidx_file_prefetch(const tidx_file *f, uint64_t hash, int stage);
int64_t tidx_file_rows(const tidx_file *f);
/* Bytes of the map resident in RAM now (mincore) plus heap. */
int64_t tidx_file_bytes(const tidx_file *f);
const char *tidx_file_path(const tidx_file *f);
/* Unmaps; unlink (nonzero) also deletes the file. */
void tidx_file_close(tidx_file *f, int unlink_file);

#endif
