/*
 * Manifests and manifest lists (spec.md "Manifests", "Manifest Lists"):
 * Avro container files with the exact Iceberg schemas (every field-id,
 * element-id, key-id and value-id) and header keys, written through avro.h.
 *
 * Manifest header keys: schema, schema-id, partition-spec, partition-spec-id,
 * format-version ("3"), content ("data" | "deletes").
 * Manifest list header keys: snapshot-id, parent-snapshot-id (when there is
 * a parent), sequence-number, first-row-id, format-version ("3").
 *
 * Inheritance (spec "Sequence Number Inheritance", "First Row ID
 * Inheritance"): ADDED entries are written with null sequence numbers and a
 * null first_row_id; readers fill them from the manifest list entry
 * (ice_manifest_read does this when given the ice_manifest_file).
 */
#ifndef FLOE_ICEBERG_MANIFEST_H
#define FLOE_ICEBERG_MANIFEST_H

#include "iceberg/metadata.h"
#include "parquet/parquet.h"

enum {
  ICE_CONTENT_DATA = 0,
  ICE_CONTENT_POS_DELETES = 1,
  ICE_CONTENT_EQ_DELETES = 2
};
enum { ICE_STATUS_EXISTING = 0, ICE_STATUS_ADDED = 1, ICE_STATUS_DELETED = 2 };
/* manifest list `content` */
enum { ICE_MANIFEST_DATA = 0, ICE_MANIFEST_DELETES = 1 };

/* One partition value in Iceberg's binary single-value serialization (the
 * type is the partition field's result type, known from the spec + schema). */
typedef struct ice_pvalue {
  bool is_null;
  fbuf bytes;
} ice_pvalue;

/* Per-column metrics of a data file; ICE_NONE for counts not present. */
typedef struct ice_metric {
  int32_t field_id;
  int64_t column_size;
  int64_t value_count;
  int64_t null_count;
  int64_t nan_count;
  bool has_lower, has_upper;
  fbuf lower, upper; /* Appendix D bytes */
} ice_metric;

typedef struct ice_data_file {
  int content;       /* ICE_CONTENT_* */
  char *file_path;   /* full location */
  char *file_format; /* "PARQUET" | "PUFFIN" (as Iceberg Java writes) */
  int npartition;
  ice_pvalue *partition; /* one per field of the manifest's spec */
  int64_t record_count;  /* DV: cardinality */
  int64_t file_size_in_bytes;
  int nmetrics;
  ice_metric *metrics;
  int nsplit_offsets;
  int64_t *split_offsets;
  int32_t sort_order_id;      /* ICE_NONE = null */
  int64_t first_row_id;       /* ICE_NONE = null */
  char *referenced_data_file; /* DVs: required; else NULL */
  int64_t content_offset;     /* DVs: blob offset; ICE_NONE = null */
  int64_t content_size_in_bytes;
  int nequality_ids;
  int32_t *equality_ids;
} ice_data_file;

typedef struct ice_manifest_entry {
  int status;                   /* ICE_STATUS_* */
  int64_t snapshot_id;          /* ICE_NONE = null (inherit) */
  int64_t sequence_number;      /* data sequence number; ICE_NONE = null */
  int64_t file_sequence_number; /* ICE_NONE = null */
  ice_data_file file;
} ice_manifest_entry;

void ice_data_file_free(ice_data_file *f);
void ice_manifest_entry_free(ice_manifest_entry *e);
floe_status ice_data_file_copy(ice_data_file *dst, const ice_data_file *src,
                               floe_error *err);

/* Fills a data file entry for a Parquet file floe wrote (metrics converted
 * from pq_file_metrics; partition values left for the caller). */
floe_status ice_data_file_from_parquet(const char *path,
                                       const pq_file_metrics *m,
                                       ice_data_file *out, floe_error *err);
/* The same, with the file's schema: NaN counts are then kept for exactly
 * the float/double columns (as Iceberg Java writes them, zeros included);
 * without it (above) a NaN count is kept only when it is non-zero, since
 * pq_file_metrics does not say which columns are floats. */
floe_status ice_data_file_from_parquet_schema(const char *path,
                                              const pq_file_metrics *m,
                                              const col_schema *schema,
                                              ice_data_file *out,
                                              floe_error *err);

typedef struct ice_field_summary {
  bool contains_null;
  int contains_nan; /* -1 = null, 0, 1 */
  bool has_lower, has_upper;
  fbuf lower, upper;
} ice_field_summary;

/* A manifest list entry (`manifest_file`). */
typedef struct ice_manifest_file {
  char *manifest_path;
  int64_t manifest_length;
  int32_t partition_spec_id;
  int content; /* ICE_MANIFEST_* */
  int64_t sequence_number;
  int64_t min_sequence_number;
  int64_t added_snapshot_id;
  int32_t added_files_count, existing_files_count, deleted_files_count;
  int64_t added_rows_count, existing_rows_count, deleted_rows_count;
  int npartitions;
  ice_field_summary *partitions;
  int64_t first_row_id; /* ICE_NONE = null */
} ice_manifest_file;

void ice_manifest_file_free(ice_manifest_file *m);
floe_status ice_manifest_file_copy(ice_manifest_file *dst,
                                   const ice_manifest_file *src,
                                   floe_error *err);

/*
 * Writes a manifest of n entries (all data or all deletes: content) for
 * schema + spec into out (appended, deflate codec). snapshot_id is the
 * snapshot that adds the manifest. On success *summary is filled (path and
 * length left for the caller, who stores the bytes; sequence numbers left
 * ICE_NONE for the manifest-list writer to assign).
 */
floe_status ice_manifest_write(const ice_schema *schema,
                               const ice_partition_spec *spec, int content,
                               const ice_manifest_entry *entries, int n,
                               int64_t snapshot_id, fbuf *out,
                               ice_manifest_file *summary, floe_error *err);

/*
 * Encoding reuse for rewrites. A commit that rewrites a manifest copies most
 * entries unchanged (EXISTING, explicit ids), and an entry's data_file record
 * encodes to the same bytes every time: a writer may keep them and pass them
 * back instead of encoding again. A coder holds what the encoding depends on
 * (the partition result types over schema + spec, the entry schema) and the
 * header texts, built once. Its key identifies the encoding: bytes made by
 * ice_manifest_encode_file under one key are valid for any coder with the
 * same key (never 0).
 *
 * Ownership: the coder borrows spec (it must outlive the coder); free with
 * ice_manifest_coder_free.
 */
typedef struct ice_manifest_coder ice_manifest_coder;
floe_status ice_manifest_coder_new(const ice_schema *schema,
                                   const ice_partition_spec *spec,
                                   ice_manifest_coder **out, floe_error *err);
void ice_manifest_coder_free(ice_manifest_coder *c);
uint64_t ice_manifest_coder_key(const ice_manifest_coder *c);
/* Appends f's data_file record (field 2) as the writer encodes it. */
floe_status ice_manifest_encode_file(const ice_manifest_coder *c,
                                     const ice_data_file *f, fbuf *out,
                                     floe_error *err);
/* ice_manifest_write through a coder. pre (may be NULL, and so may pre[i])
 * gives entry i's data_file record as ice_manifest_encode_file gave it for
 * entries[i].file under this coder's key: it is copied, not encoded (the
 * caller vouches that the bytes match; the entry is still checked). */
floe_status ice_manifest_write_coded(const ice_manifest_coder *c, int content,
                                     const ice_manifest_entry *entries,
                                     const fbuf *const *pre, int n,
                                     int64_t snapshot_id, fbuf *out,
                                     ice_manifest_file *summary,
                                     floe_error *err);

/* Calls fn for each entry of the manifest in p[0..n); mf (may be NULL)
 * supplies inherited snapshot id, sequence numbers and first_row_id. The
 * entry is only valid during the call (fn copies what it keeps). */
typedef floe_status (*ice_entry_fn)(void *ctx, const ice_manifest_entry *e,
                                    floe_error *err);
floe_status ice_manifest_read(const uint8_t *p, size_t n, const char *name,
                              const ice_manifest_file *mf, ice_entry_fn fn,
                              void *ctx, floe_error *err);

/*
 * Writes a manifest list for snapshot (id, parent, sequence number,
 * first-row-id). Entries whose sequence_number is ICE_NONE get
 * sequence_number (and min_sequence_number when ICE_NONE); data manifests
 * whose first_row_id is ICE_NONE are assigned ids from first_row_id on, in
 * order (spec "First Row ID Assignment"). *next_row_id gets the table's
 * next-row-id after this snapshot. mfs is updated in place with what was
 * assigned.
 */
floe_status ice_manifest_list_write(ice_manifest_file *mfs, int n,
                                    int64_t snapshot_id, int64_t parent_id,
                                    int64_t sequence_number,
                                    int64_t first_row_id, fbuf *out,
                                    int64_t *next_row_id, floe_error *err);

/* The Avro schema JSON of a manifest (manifest_entry with the r102
 * partition struct of spec over schema) and of a manifest list
 * (manifest_file), exactly as the writers store them. Caller frees *out
 * with free(). */
floe_status ice_manifest_entry_schema_json(const ice_schema *schema,
                                           const ice_partition_spec *spec,
                                           char **out, floe_error *err);
floe_status ice_manifest_list_schema_json(char **out, floe_error *err);

/* Reads a manifest list; caller frees each entry and the array. */
floe_status ice_manifest_list_read(const uint8_t *p, size_t n, const char *name,
                                   ice_manifest_file **out, int *nout,
                                   floe_error *err);

#endif
