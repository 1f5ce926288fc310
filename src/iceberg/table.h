/*
 * An Iceberg table as floe writes and reads it: commits (append, delete rows
 * through deletion vectors, overwrite, replace), maintenance (expire
 * snapshots, remove orphan files) and the read path (plan, scan).
 *
 * One commit (ice_txn_commit) goes through these states; a failure before
 * the last step leaves the table as it was (written files become orphans
 * that ice_table_remove_orphans collects):
 *
 *   staged      data files written by the caller (ice_table_write_data)
 *   -> puffin   one Puffin file: for every data file gaining deletes, its
 *               old DV (if any) merged with the new positions
 *   -> manifests  new manifests only for what changed: one data manifest
 *               for added files, one delete manifest for new DVs; an old
 *               manifest is rewritten only when an entry in it goes away
 *               (a replaced DV, a removed file); all others are reused, and
 *               small manifests are merged so their count stays bounded
 *   -> list     the manifest list (sequence number, first-row-id assigned)
 *   -> metadata vN+1 with the snapshot, logs, next-row-id, committed
 *               through the catalog's compare-and-swap
 *   on FLOE_ECONFLICT: reload, check that every file the txn removes or
 *   deletes from is still live and that no file it removes gained deletes
 *   since ice_txn_begin (else FLOE_ECONFLICT to the caller), then
 *   redo from "puffin" (data files are reused as they are)
 *
 * The operation written in the summary: "append" (only added data files),
 * "delete" (only DVs / removals), "overwrite" (both), "replace" when the
 * caller marks the txn as a rewrite that changes no rows (compaction).
 * Summary keys: operation, the spec's counts (added-data-files,
 * added-records, added-dvs, removed-dvs, added-delete-files,
 * added-position-deletes, deleted-data-files, deleted-records, total-*...),
 * plus whatever the caller sets (floe sets "floe.source-lsn").
 *
 * Ownership: the catalog is borrowed and must outlive the table. Metadata
 * returned by
 * ice_table_metadata is borrowed until the next refresh or commit.
 */
#ifndef FLOE_ICEBERG_TABLE_H
#define FLOE_ICEBERG_TABLE_H

#include "columnar/arrow.h"
#include "iceberg/catalog.h"
#include "iceberg/dv.h"
#include "iceberg/manifest.h"
#include "iceberg/metadata.h"
#include "iceberg/schema.h"

typedef struct ice_table ice_table;

/* Creates namespace.name in cat (location from the catalog) and opens it.
 * spec may be NULL (unpartitioned); props may be NULL. */
floe_status ice_table_create(ice_catalog *cat, const char *ns, const char *name,
                             col_schema *schema, const ice_partition_spec *spec,
                             const ice_kv *props, ice_table **out,
                             floe_error *err);
/* Opens an existing table at its current metadata. */
floe_status ice_table_load(ice_catalog *cat, const char *ns, const char *name,
                           ice_table **out, floe_error *err);
/* Reloads the current metadata from the catalog. */
floe_status ice_table_refresh(ice_table *t, floe_error *err);
const ice_metadata *ice_table_metadata(const ice_table *t);
/* The current metadata file location (borrowed, like the metadata). */
const char *ice_table_metadata_location(const ice_table *t);
void ice_table_free(ice_table *t);
/* The catalog t was opened on (borrowed; its store holds the files). */
ice_catalog *ice_table_catalog(const ice_table *t);

/* Writes the rows of batches (current schema) as Parquet data files under
 * <location>/data/, one file per partition tuple (per ~target size), and
 * returns their entries (*files: array of *nfiles, caller frees each with
 * ice_data_file_free and the array with free()). */
floe_status ice_table_write_data(ice_table *t, col_batch *const *batches,
                                 int nbatches, ice_data_file **files,
                                 int *nfiles, floe_error *err);

/* ---- commits ---- */

typedef struct ice_txn ice_txn;

/* The txn's base is t's current snapshot now: a file the txn removes must
 * have gained no deletes since (another txn, of this handle or any other,
 * adding a DV to it makes the commit fail with FLOE_ECONFLICT), because a
 * rewrite of rows read at the base would bring deleted rows back. So begin
 * before reading what a rewrite rewrites. */
floe_status ice_txn_begin(ice_table *t, ice_txn **out, floe_error *err);
/* Adds a data file (copied). */
floe_status ice_txn_append(ice_txn *x, const ice_data_file *f, floe_error *err);
/* Marks rows of a live data file (by its file_path), or of one appended
 * earlier in this txn, deleted: merged into the file's DV at commit. rows is
 * copied. */
floe_status ice_txn_delete_rows(ice_txn *x, const char *data_file,
                                const ice_dv *rows, floe_error *err);
/* Removes a live data file (and its DV) from the table. */
floe_status ice_txn_remove_file(ice_txn *x, const char *data_file,
                                floe_error *err);
/* Declares the txn a rewrite that changes no rows ("replace"). */
void ice_txn_set_replace(ice_txn *x);
/* Adds a snapshot summary key (e.g. "floe.source-lsn"). */
floe_status ice_txn_set_summary(ice_txn *x, const char *key, const char *val,
                                floe_error *err);
/* Commits (retrying on conflicts as described above) and frees x.
 * *snapshot_id (may be NULL) gets the new snapshot's id. */
floe_status ice_txn_commit(ice_txn *x, int64_t *snapshot_id, floe_error *err);
void ice_txn_abort(ice_txn *x);

/* Where the last successful commit on t spent its time (wall seconds, the
 * attempt that landed) and what it wrote, for benchmarks and logs. */
typedef struct ice_commit_stats {
  double locate_s;    /* manifest list read, cached manifests, DV lookup */
  double puffin_s;    /* old DVs read, merged, Puffin file written */
  double manifests_s; /* manifests planned, encoded, written */
  double list_s;      /* manifest list encoded, written */
  double metadata_s;  /* metadata built, serialized */
  double swap_s;      /* metadata file written, catalog compare-and-swap */
  int nmanifests_written, nentries_written, nlist; /* nlist: list length */
  int64_t puffin_bytes, manifest_bytes, list_bytes, metadata_bytes;
} ice_commit_stats;
/* Borrowed from t; zeroed until a commit lands. */
const ice_commit_stats *ice_table_last_commit(const ice_table *t);

/* ---- schema ---- */

/* Commits u (started from t's metadata, see schema.h) as a new current
 * schema: a metadata-only change (no snapshot). On a lost race the table
 * is reloaded and u applied again, which succeeds only while the table's
 * schema is still the one u started from (else FLOE_ECONFLICT: start a new
 * update). u stays the caller's. Data files written afterwards
 * (ice_table_write_data) use the new schema. */
floe_status ice_table_update_schema(ice_table *t, ice_schema_update *u,
                                    floe_error *err);

/* ---- maintenance ---- */

/* Expires snapshots older than older_than_ms except the newest keep_last
 * (and those refs retain), then deletes the files only they referenced
 * (manifest lists, manifests, data files, Puffin files) and trims the
 * snapshot log and old metadata files (write.metadata.previous-versions-max).
 * *removed (may be NULL) counts deleted files. */
floe_status ice_table_expire_snapshots(ice_table *t, int64_t older_than_ms,
                                       int keep_last, int64_t *removed,
                                       floe_error *err);
/* Deletes files under the table location that no live snapshot or metadata
 * file references and that are older than older_than_ms (so a commit in
 * flight is never robbed). Age is the file's mtime, which the kernel takes
 * from a coarse clock lagging the wall clock by up to a tick: leave a margin
 * well above that (Java's default is 3 days). */
floe_status ice_table_remove_orphans(ice_table *t, int64_t older_than_ms,
                                     int64_t *removed, floe_error *err);
/* The same, sparing every file for which keep(arg, key) (key: the file's
 * store key) returns true, asked just before the file would be deleted: a
 * writer that adds files to the table without a snapshot yet (moved into the
 * data directory while the sweep lists it) says which are its own. */
typedef bool (*ice_keep_fn)(void *arg, const char *key);
floe_status ice_table_remove_orphans_keep(ice_table *t, int64_t older_than_ms,
                                          ice_keep_fn keep, void *arg,
                                          int64_t *removed, floe_error *err);

/* ---- reading ---- */

/* One data file to read and the rows to leave out. */
typedef struct ice_scan_task {
  ice_data_file file;
  ice_dv *deletes; /* NULL when no DV applies */
  int64_t data_sequence_number;
} ice_scan_task;

typedef struct ice_plan {
  int64_t snapshot_id; /* ICE_NONE for an empty table */
  int32_t schema_id;
  int ntasks;
  ice_scan_task *tasks;
} ice_plan;

/* Live data files and their DVs at snapshot_id (ICE_NONE = current). */
floe_status ice_table_plan(ice_table *t, int64_t snapshot_id, ice_plan **out,
                           floe_error *err);
void ice_plan_free(ice_plan *p);

typedef struct ice_scan ice_scan;

/* Reads the plan's files, skipping deleted rows, projecting field_ids (NULL
 * = every field of the plan's schema) by field id: renamed columns read by
 * id, columns missing from older files come back as their initial-default
 * (or null), widened types are widened. plan must outlive the scan. */
floe_status ice_scan_open(ice_table *t, const ice_plan *plan,
                          const int32_t *field_ids, int nids, ice_scan **out,
                          floe_error *err);
col_schema *ice_scan_schema(const ice_scan *s);
/* Next batch or *out = NULL at the end; caller frees the batch. */
floe_status ice_scan_next(ice_scan *s, col_batch **out, floe_error *err);
void ice_scan_free(ice_scan *s);
/* Wraps a scan as an Arrow stream (which then owns s). */
floe_status ice_scan_export(ice_scan *s, struct ArrowArrayStream *out,
                            floe_error *err);

#endif
