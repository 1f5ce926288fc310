/*
 * Iceberg table metadata (spec.md "Table Metadata", Appendix C): the
 * in-memory form of a vN.metadata.json file, its JSON parser and writer, and
 * the schema / partition-spec / sort-order / snapshot pieces inside it.
 *
 * floe writes format-version 3 and reads 1..3 (a higher version is refused,
 * as the spec demands). Everything here is plain data: commit logic lives in
 * table.c, storage in the catalog. Writers emit fields in the order and shape
 * Iceberg Java writes them.
 *
 * Ownership: an ice_metadata owns every string and array inside it;
 * ice_metadata_free releases all of it. ice_metadata_clone makes a deep copy
 * (a commit edits a copy of the base version, never the base).
 */
#ifndef FLOE_ICEBERG_METADATA_H
#define FLOE_ICEBERG_METADATA_H

#include <stdbool.h>
#include <stdint.h>

#include "columnar/batch.h"

#define ICE_FORMAT_VERSION 3
#define ICE_NONE (-1) /* "absent" for optional ids and counts */

/* ---- string maps (properties, snapshot summaries) ---- */

typedef struct ice_kv {
  int n, cap;
  char **keys; /* owned */
  char **vals; /* owned */
} ice_kv;

/* Sets (or replaces) key. */
floe_status ice_kv_set(ice_kv *kv, const char *key, const char *val,
                       floe_error *err);
/* Borrowed value or NULL. */
const char *ice_kv_get(const ice_kv *kv, const char *key);
void ice_kv_free(ice_kv *kv);
floe_status ice_kv_copy(ice_kv *dst, const ice_kv *src, floe_error *err);

/* ---- schemas ---- */

/* Iceberg-only facts about one field (by id) that col_schema does not hold:
 * default values as JSON single-value text (Appendix D), and doc. */
typedef struct ice_field_ext {
  int32_t field_id;
  char *initial_default; /* JSON text or NULL */
  char *write_default;   /* JSON text or NULL */
  char *doc;             /* or NULL */
} ice_field_ext;

/*
 * A schema. Types map to Iceberg as: bool->boolean, int16/int32->int,
 * int64->long, float32->float, float64->double, decimal(P,S), utf8->string,
 * binary, date, time, timestamp, timestamptz, uuid, list<T>. Iceberg types
 * floe has no column for (struct, map, fixed, variant, ns timestamps, ...)
 * make parsing fail with FLOE_EUNSUPPORTED naming the field.
 */
typedef struct ice_schema {
  int32_t schema_id;
  col_schema *cols; /* one reference held */
  int nidentifier;
  int32_t *identifier_ids;
  int next;
  ice_field_ext *ext;
} ice_schema;

/* Borrowed ext entry for field_id, or NULL. */
const ice_field_ext *ice_schema_ext(const ice_schema *s, int32_t field_id);
/* Highest field id used by s (elements included). */
int32_t ice_schema_max_id(const ice_schema *s);
/* "long", "decimal(10,2)", ... for a (scalar) col type. */
const char *ice_type_name(col_dtype t, char *buf, size_t n);
/* Releases what s holds (not s itself) and zeroes it. */
void ice_schema_clear(ice_schema *s);
/* Deep copy of src into dst (ext and identifier arrays copied; cols shared
 * with one more reference, since a col_schema is immutable). dst is
 * overwritten; the caller clears it. */
floe_status ice_schema_copy(ice_schema *dst, const ice_schema *src,
                            floe_error *err);
/* Checks a field default (Appendix D JSON single-value text, "null" allowed)
 * against the field's type, and returns its canonical compact text (the
 * form written into metadata); *out is malloc'd, caller frees. Fails with
 * FLOE_EINVAL saying why. elem_nullable matters for lists only. */
floe_status ice_default_canonical(col_dtype t, bool elem_nullable,
                                  const char *json, char **out,
                                  floe_error *err);

/* ---- partition specs and sort orders ---- */

typedef enum ice_transform_kind {
  ICE_T_IDENTITY = 0,
  ICE_T_BUCKET,   /* param = N */
  ICE_T_TRUNCATE, /* param = W */
  ICE_T_YEAR,
  ICE_T_MONTH,
  ICE_T_DAY,
  ICE_T_HOUR,
  ICE_T_VOID,
  ICE_T_UNKNOWN, /* kept verbatim and ignored when filtering (v3 rule) */
} ice_transform_kind;

typedef struct ice_transform {
  ice_transform_kind kind;
  int32_t param;
  char *text; /* the transform string as read/written, owned */
} ice_transform;

/* Parses "bucket[16]" etc. (names case-insensitive, as Java); unknown names
 * give ICE_T_UNKNOWN with the text kept verbatim; known ones get canonical
 * text. A bucket/truncate parameter of 0 or past INT32_MAX is FLOE_EINVAL.
 * out->text is owned by out (ice_transform_clear). */
floe_status ice_transform_parse(const char *s, ice_transform *out,
                                floe_error *err);
void ice_transform_clear(ice_transform *t);
floe_status ice_transform_copy(ice_transform *dst, const ice_transform *src,
                               floe_error *err);
/* FLOE_OK when t may be applied to a column of type source (spec "Partition
 * Transforms" source types); FLOE_EINVAL otherwise, and for unknown
 * transforms, which writers must not use. */
floe_status ice_transform_check(const ice_transform *t, col_dtype source,
                                floe_error *err);
/* The partition value type t produces from source (day gives date). */
col_dtype ice_transform_result_type(const ice_transform *t, col_dtype source);

typedef struct ice_partition_field {
  int32_t source_id;
  int32_t field_id; /* 1000+ */
  char *name;
  ice_transform transform;
} ice_partition_field;

typedef struct ice_partition_spec {
  int32_t spec_id;
  int nfields;
  ice_partition_field *fields;
} ice_partition_spec;

typedef struct ice_sort_field {
  ice_transform transform;
  int32_t source_id;
  bool descending;
  bool nulls_first;
} ice_sort_field;

typedef struct ice_sort_order {
  int32_t order_id;
  int nfields;
  ice_sort_field *fields;
} ice_sort_order;

/* ---- snapshots, refs, logs ---- */

typedef struct ice_snapshot {
  int64_t snapshot_id;
  int64_t parent_id; /* ICE_NONE when it has no parent */
  int64_t sequence_number;
  int64_t timestamp_ms;
  char *manifest_list;
  ice_kv summary;       /* "operation" first, then counts, then floe's keys */
  int32_t schema_id;    /* ICE_NONE when absent */
  int64_t first_row_id; /* v3; ICE_NONE when absent (never negative) */
  int64_t added_rows;   /* v3; ICE_NONE when absent (never negative) */
} ice_snapshot;

typedef struct ice_ref {
  char *name;
  int64_t snapshot_id;
  bool tag;                      /* false: branch */
  int32_t min_snapshots_to_keep; /* ICE_NONE when absent */
  int64_t max_snapshot_age_ms;   /* ICE_NONE when absent */
  int64_t max_ref_age_ms;        /* ICE_NONE when absent */
} ice_ref;

typedef struct ice_log_entry {
  int64_t timestamp_ms;
  int64_t snapshot_id; /* snapshot-log */
  char *file;          /* metadata-log */
} ice_log_entry;

/* ---- the table metadata ---- */

typedef struct ice_metadata {
  int format_version;
  char table_uuid[37];
  char *location;
  int64_t last_sequence_number;
  int64_t last_updated_ms;
  int32_t last_column_id;
  int nschemas;
  ice_schema *schemas;
  int32_t current_schema_id;
  int nspecs;
  ice_partition_spec *specs;
  int32_t default_spec_id;
  int32_t last_partition_id;
  ice_kv properties;
  int64_t current_snapshot_id; /* ICE_NONE when the table is empty */
  int nsnapshots;
  ice_snapshot *snapshots;
  int nsnapshot_log;
  ice_log_entry *snapshot_log;
  int nmetadata_log;
  ice_log_entry *metadata_log;
  int nsort_orders;
  ice_sort_order *sort_orders;
  int32_t default_sort_order_id;
  int nrefs;
  ice_ref *refs;
  int64_t next_row_id;
} ice_metadata;

/* A new v3 table: schema (field ids already assigned; referenced), spec
 * (NULL = unpartitioned; ids assigned from 1000), unsorted, no snapshots,
 * table_uuid given (canonical text) or generated when NULL. Caller frees. */
floe_status ice_metadata_new(const char *location, col_schema *schema,
                             const ice_partition_spec *spec,
                             const char *table_uuid, int64_t now_ms,
                             ice_metadata **out, floe_error *err);
void ice_metadata_free(ice_metadata *md);
floe_status ice_metadata_clone(const ice_metadata *md, ice_metadata **out,
                               floe_error *err);

/* Parses metadata JSON (name is for error messages). Rejects
 * format-version > 3, missing required fields, ids that do not resolve.
 * Caller frees. */
floe_status ice_metadata_parse(const char *json, size_t len, const char *name,
                               ice_metadata **out, floe_error *err);
/* Appends the metadata JSON to out (pretty = indented). */
floe_status ice_metadata_write(const ice_metadata *md, bool pretty, fbuf *out,
                               floe_error *err);

/* A render cache: a table's metadata is rewritten on every commit with all
 * its (immutable) snapshots and logs, so a writer that keeps one of these
 * keeps the last compact document and copies every snapshot, snapshot-log
 * and metadata-log entry found again from it (consecutive ones in one
 * copy), rendering only new ones: a commit's render costs a copy of the
 * document, not the formatting of every snapshot.
 * Create with ice_md_jcache_new (NULL on out of memory), free with
 * ice_md_jcache_free (NULL is fine). */
typedef struct ice_md_jcache ice_md_jcache;
ice_md_jcache *ice_md_jcache_new(void);
void ice_md_jcache_free(ice_md_jcache *c);
/* ice_metadata_write with a cache (NULL: none). Output is byte-identical;
 * compact output splices cached text (a snapshot hit must match the id,
 * sequence number, timestamp and manifest list; a log entry its fields),
 * pretty ignores the cache. Afterwards c holds exactly md's elements. */
floe_status ice_metadata_write_cached(const ice_metadata *md, bool pretty,
                                      ice_md_jcache *c, fbuf *out,
                                      floe_error *err);
/* The same for compact output, without the copy: the document stays in c
 * (*doc, *len bytes, borrowed until the next call on c). */
floe_status ice_metadata_render_cached(const ice_metadata *md, ice_md_jcache *c,
                                       const char **doc, size_t *len,
                                       floe_error *err);

/* Borrowed lookups; NULL when absent. */
const ice_schema *ice_metadata_schema(const ice_metadata *md, int32_t id);
const ice_schema *ice_metadata_current_schema(const ice_metadata *md);
const ice_partition_spec *ice_metadata_spec(const ice_metadata *md, int32_t id);
const ice_snapshot *ice_metadata_snapshot(const ice_metadata *md, int64_t id);
const ice_snapshot *ice_metadata_current_snapshot(const ice_metadata *md);

/* JSON of one schema / spec (as written in manifests' header keys). */
floe_status ice_schema_write_json(const ice_schema *s, fbuf *out,
                                  floe_error *err);
/* Only the fields array, as the manifest `partition-spec` key wants. */
floe_status ice_spec_fields_write_json(const ice_partition_spec *spec,
                                       fbuf *out, floe_error *err);

#endif
