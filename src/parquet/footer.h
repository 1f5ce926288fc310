/*
 * The Parquet footer (FileMetaData) as plain structs, parsed from the thrift
 * compact bytes with every size checked against the bytes actually there.
 *
 * Ownership: everything a pq_footer points to (names, lists, statistics
 * bytes) lives in its arena and dies with pq_footer_free. Byte strings are
 * copied out of the input, so the input buffer may be freed after parsing.
 */
#ifndef FLOE_PARQUET_FOOTER_H
#define FLOE_PARQUET_FOOTER_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"

typedef struct pq_bytes {
  const uint8_t *p; /* NULL when absent */
  size_t n;
} pq_bytes;

typedef struct pq_stats {
  bool present;
  pq_bytes min, max;             /* deprecated signed-order min/max */
  pq_bytes min_value, max_value; /* min_value/max_value (field 6/5) */
  bool has_null_count, has_distinct_count, has_nan_count;
  int64_t null_count, distinct_count, nan_count;
} pq_stats;

/* A LogicalType, flattened: ltype is the union member (PQL_*), 0 = none. */
typedef struct pq_logical {
  int ltype;
  int32_t scale, precision; /* DECIMAL */
  bool utc;                 /* TIME, TIMESTAMP: isAdjustedToUTC */
  int unit;                 /* TIME, TIMESTAMP: PQU_*; 0 = unknown */
  int bit_width;            /* INTEGER */
  bool is_signed;           /* INTEGER */
} pq_logical;

typedef struct pq_schema_elem {
  char *name;
  int type; /* PQT_*; -1 for groups (absent) */
  int32_t type_length;
  int repetition;       /* PQR_*; -1 when absent (the root) */
  int32_t num_children; /* 0 for leaves */
  int converted_type;   /* PQCT_*; -1 when absent */
  int32_t scale, precision;
  bool has_scale, has_precision;
  bool has_field_id;
  int32_t field_id;
  pq_logical logical;
} pq_schema_elem;

typedef struct pq_kv {
  char *key;
  char *value; /* NULL when absent */
} pq_kv;

typedef struct pq_col_meta {
  int type;
  int *encodings;
  int nencodings;
  char **path;
  int npath;
  int codec;
  int64_t num_values;
  int64_t total_uncompressed_size;
  int64_t total_compressed_size;
  int64_t data_page_offset;
  bool has_index_page_offset, has_dictionary_page_offset;
  int64_t index_page_offset, dictionary_page_offset;
  pq_stats stats;
} pq_col_meta;

typedef struct pq_chunk {
  char *file_path; /* NULL = this file */
  int64_t file_offset;
  bool has_meta;
  pq_col_meta meta;
} pq_chunk;

typedef struct pq_row_group {
  pq_chunk *columns;
  int ncolumns;
  int64_t total_byte_size;
  int64_t num_rows;
  bool has_file_offset, has_total_compressed_size;
  int64_t file_offset;
  int64_t total_compressed_size;
} pq_row_group;

typedef struct pq_footer {
  int32_t version;
  pq_schema_elem *schema;
  int nschema;
  int64_t num_rows;
  pq_row_group *row_groups;
  int nrow_groups;
  pq_kv *kv;
  int nkv;
  char *created_by; /* NULL when absent */
  bool encrypted;   /* encryption_algorithm present */
  farena arena;
} pq_footer;

/* Parses FileMetaData from the n bytes at p, which sit at file offset base
 * in the file called name (for messages). Checks structure and required
 * fields; semantic checks (row counts, offsets) are pq_footer_validate's.
 * max_alloc caps the arena. On success the caller frees f with
 * pq_footer_free; on failure f holds nothing. */
floe_status pq_footer_parse(const uint8_t *p, size_t n, const char *name,
                            size_t base, size_t max_alloc, pq_footer *f,
                            floe_error *err);

/* Checks what the structure alone cannot: row group row counts are >= 0 and
 * sum to num_rows, every row group has ncolumns chunks, every chunk's byte
 * range lies inside [4, data_end). */
floe_status pq_footer_validate(const pq_footer *f, int ncolumns,
                               uint64_t data_end, const char *name,
                               floe_error *err);

void pq_footer_free(pq_footer *f);

/* The page header, parsed from a column chunk. */
typedef struct pq_page_header {
  int type; /* PQP_* */
  int32_t uncompressed_size;
  int32_t compressed_size;
  /* data page v1 / v2 / dictionary page */
  int32_t num_values;
  int encoding;
  int def_encoding, rep_encoding; /* v1 only */
  /* v2 only */
  int32_t num_nulls, num_rows;
  int32_t def_length, rep_length;
  bool is_compressed;
  bool has_body; /* the header for type was present */
} pq_page_header;

/* Parses one PageHeader from t's cursor (which the caller positions and
 * which advances past the header). Statistics etc. are skipped. */
struct tc_reader;
floe_status pq_page_header_parse(struct tc_reader *t, pq_page_header *h,
                                 floe_error *err);

/* Names for describe and messages ("PLAIN", "INT32", ...). */
const char *pq_encoding_name(int e);
const char *pq_type_name(int t);
const char *pq_converted_name(int ct);

#endif
