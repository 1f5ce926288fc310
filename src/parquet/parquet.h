/*
 * Parquet files: a writer that turns record batches into a file, and a reader
 * that turns a file back into record batches.
 *
 * Mapping of floe types to Parquet (physical / logical, converted):
 *   bool        BOOLEAN
 *   int16       INT32 / INT(16,true), INT_16
 *   int32       INT32
 *   int64       INT64
 *   float32     FLOAT          float64  DOUBLE
 *   decimal(p,s)  INT32 (p<=9), INT64 (p<=18), else FIXED_LEN_BYTE_ARRAY of
 *               the fewest bytes that hold p digits; DECIMAL(p,s), DECIMAL
 *   utf8        BYTE_ARRAY / STRING, UTF8
 *   binary      BYTE_ARRAY
 *   date        INT32 / DATE, DATE
 *   time        INT64 / TIME(false, MICROS)
 *   timestamp   INT64 / TIMESTAMP(false, MICROS)
 *   timestamptz INT64 / TIMESTAMP(true, MICROS), TIMESTAMP_MICROS
 *   uuid        FIXED_LEN_BYTE_ARRAY(16) / UUID
 *   list<T>     3-level LIST: optional|required group (LIST) {
 *                 repeated group list { optional|required T element; } }
 * Every schema element of a field carries its Iceberg field_id (the list
 * element carries elem_id; the middle "list" group carries none, as Iceberg
 * Java writes it).
 */
#ifndef FLOE_PARQUET_PARQUET_H
#define FLOE_PARQUET_PARQUET_H

#include <stdbool.h>
#include <stdint.h>

#include "columnar/batch.h"

/* Values are Parquet's CompressionCodec numbers. */
typedef enum pq_codec {
  PQ_CODEC_NONE = 0,
  PQ_CODEC_SNAPPY = 1,
  PQ_CODEC_GZIP = 2,
  PQ_CODEC_ZSTD = 6,
} pq_codec;

/* "zstd", "snappy", "none"/"uncompressed", "gzip" -> codec; -1 if unknown. */
int pq_codec_parse(const char *s);
const char *pq_codec_name(pq_codec c);

/* Where the writer's bytes go. write must take all n bytes or fail. */
typedef struct pq_sink {
  floe_status (*write)(void *ctx, const void *p, size_t n, floe_error *err);
  void *ctx;
} pq_sink;

typedef struct pq_writer_opts {
  pq_codec codec;          /* default PQ_CODEC_ZSTD */
  int compression_level;   /* 0 = codec default (zstd: 3) */
  int64_t row_group_bytes; /* target uncompressed row group size; 0 = 64 MiB */
  int64_t page_bytes;      /* target uncompressed page size; 0 = 1 MiB */
  int64_t page_rows;       /* at most this many rows per page; 0 = no limit
                              (Iceberg writes 20000: its page-row-limit, so a
                              row-range read decodes at most that many) */
  int64_t dict_max_bytes;  /* dictionary larger than this falls back to PLAIN;
                              0 = 1 MiB */
  bool data_page_v2;       /* write DataPageV2 headers instead of v1 */
  const char *created_by;  /* NULL = "floe version X.Y.Z" */
} pq_writer_opts;

/* Fills opts with the defaults described above. */
void pq_writer_opts_default(pq_writer_opts *opts);

/* Metrics of one leaf column, what an Iceberg manifest entry needs.
 * Bounds are in Iceberg's single-value binary serialization (Iceberg spec,
 * Appendix D): little-endian ints/floats, UTF-8 strings truncated to 16
 * characters (the upper bound then rounded up), big-endian uuid, decimals as
 * minimal big-endian two's complement, booleans as one byte. NaN never
 * counts toward bounds. */
typedef struct pq_column_metrics {
  int32_t field_id;    /* the leaf's field id (list element: elem_id) */
  int64_t column_size; /* compressed bytes of all its chunks, headers incl. */
  int64_t value_count; /* values incl. nulls (list: element slots) */
  int64_t null_count;
  int64_t nan_count; /* floats only, else 0 */
  bool has_bounds;
  fbuf lower, upper;
} pq_column_metrics;

typedef struct pq_file_metrics {
  int64_t record_count;
  int64_t file_size;
  int ncolumns; /* leaf columns, in schema order */
  pq_column_metrics *columns;
  int nsplits;
  int64_t *split_offsets; /* file offset of each row group's first page */
} pq_file_metrics;

void pq_file_metrics_free(pq_file_metrics *m);

typedef struct pq_writer pq_writer;

/* Starts a file for schema (referenced). opts may be NULL for defaults. The
 * sink must outlive the writer. Caller frees with pq_writer_free. */
floe_status pq_writer_open(col_schema *schema, const pq_writer_opts *opts,
                           pq_sink sink, pq_writer **out, floe_error *err);
/* Adds the rows of b (schema must be the writer's). b stays the caller's. */
floe_status pq_writer_write(pq_writer *w, const col_batch *b, floe_error *err);
/* Flushes the last row group and writes the footer. metrics may be NULL;
 * otherwise the caller frees it with pq_file_metrics_free. */
floe_status pq_writer_close(pq_writer *w, pq_file_metrics *metrics,
                            floe_error *err);
/* Frees the writer (closed or not; an unclosed file is incomplete). */
void pq_writer_free(pq_writer *w);

/* A sink writing to a stdio FILE (ctx is the FILE*). */
floe_status pq_sink_file_write(void *ctx, const void *p, size_t n,
                               floe_error *err);
/* A sink appending to an fbuf (ctx is the fbuf*). */
floe_status pq_sink_buf_write(void *ctx, const void *p, size_t n,
                              floe_error *err);

/* ---- reader ---- */

/* Random-access input. read_at must fill exactly n bytes or fail. */
typedef struct pq_source {
  floe_status (*read_at)(void *ctx, uint64_t off, void *buf, size_t n,
                         floe_error *err);
  void *ctx;
  uint64_t size;
  const char *name;   /* for error messages: "<name> at offset N: ..." */
  const uint8_t *mem; /* set by pq_source_mem: the whole file in memory */
} pq_source;

/* A source over n bytes at p (borrowed: they must outlive the reader). */
static inline pq_source pq_source_mem(const void *p, size_t n,
                                      const char *name) {
  pq_source s = {NULL, NULL, n, name, (const uint8_t *)p};
  return s;
}

/* Rows to leave out, by position in the file (0-based). Iceberg deletion
 * vectors and positional deletes become this. */
typedef bool (*pq_skip_fn)(void *ctx, int64_t row);

typedef struct pq_reader_opts {
  const char *const *columns; /* names to project, NULL = all */
  int ncolumns;
  const int32_t *field_ids; /* or project by field id (wins over names) */
  int nfield_ids;
  /* Ids the file lacks are left out of the projection instead of failing
   * (an Iceberg scan fills them from defaults); pq_reader_schema tells
   * which ones the file had. */
  bool missing_ids_ok;
  int64_t batch_rows; /* max rows per batch; 0 = 65536 */
  pq_skip_fn skip;    /* NULL = keep every row */
  void *skip_ctx;
  int64_t max_alloc; /* cap on any single allocation; 0 = 1 GiB */
} pq_reader_opts;

typedef struct pq_reader pq_reader;

/* Opens src (which must outlive the reader), reads and validates the footer
 * and schema. Caller frees with pq_reader_free. */
floe_status pq_reader_open(pq_source src, const pq_reader_opts *opts,
                           pq_reader **out, floe_error *err);
/* Opens a file by path (the reader owns the descriptor). */
floe_status pq_reader_open_file(const char *path, const pq_reader_opts *opts,
                                pq_reader **out, floe_error *err);
/* The projected schema (borrowed; lives as long as the reader). */
col_schema *pq_reader_schema(const pq_reader *r);
int64_t pq_reader_num_rows(const pq_reader *r);
/* Next batch of surviving rows, or *out = NULL at the end. The caller owns
 * the batch (col_batch_free). With an empty projection the batches have a
 * length (the surviving rows) and no columns. */
floe_status pq_reader_next(pq_reader *r, col_batch **out, floe_error *err);
/* The same into a batch the caller reuses (made with pq_reader_schema):
 * b is cleared and refilled, keeping its buffers, so a scan touches the
 * same memory batch after batch. b->length == 0 means the end. */
floe_status pq_reader_next_into(pq_reader *r, col_batch *b, floe_error *err);
void pq_reader_free(pq_reader *r);
/* Limits the reader to file rows [first, first + n) (positions as the skip
 * callback sees them; the skip still applies). Row groups outside the range
 * are never read; in the group where it starts, whole pages before it are
 * passed over by their headers' row counts (not read, not decompressed:
 * flat columns, and list columns written with DataPageV2) and the rest of
 * the rows before it decoded and dropped. Call before the first
 * pq_reader_next. */
floe_status pq_reader_set_rows(pq_reader *r, int64_t first, int64_t n,
                               floe_error *err);

/* ---- metadata for `floe parquet meta` ---- */

/* Appends a human-readable description of the file's footer (schema with
 * field ids, row groups, column chunks with encodings, codecs, sizes and
 * statistics) to out. */
floe_status pq_reader_describe(const pq_reader *r, fbuf *out, floe_error *err);

#endif
