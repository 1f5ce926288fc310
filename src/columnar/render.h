/*
 * col_render: a stream of record batches to bytes in an output format, for
 * everything that hands table data to a person or another program: `floe
 * scan`, `floe parquet cat`, `floe iceberg scan` and the daemon's SCAN
 * reply (whose RPC_SCAN_DATA payloads, concatenated, are exactly these
 * bytes).
 *
 * Formats (the numbers are rpc_format's, docs/rpc.md, so a SCAN request's
 * format converts by cast):
 *   csv      RFC 4180: a header row of column names, then one record per
 *            row; values in the text forms of columnar/text.h, NULL as an
 *            empty unquoted field, the empty string as "" (quoted)
 *   jsonl    one JSON object per row, keys in column order, NULL as null
 *            (text forms of columnar/text.h in json mode)
 *   arrow    the Arrow IPC streaming format: a Schema message, one
 *            RecordBatch message per non-empty input batch, the
 *            end-of-stream marker (columnar/ipc.h has the mapping)
 *   parquet  one Parquet file of the whole stream (src/parquet writer,
 *            default options unless given); the file's bytes go to the
 *            sink as the writer produces them and its footer at
 *            col_render_finish
 *
 * Projection and filtering: opts name columns of the INPUT schema. Key
 * conditions (column = canonical text value, ANDed) select rows first, then
 * the projection picks and orders the output columns; a key column need not
 * be in the projection. The output schema keeps each field's id, name,
 * type and nullability. (A daemon answering SCAN thus scans every column,
 * floe_scan with none named, and passes the request's columns and keys
 * here.)
 *
 * Bytes reach the sink in pieces of about chunk_bytes (a daemon sends one
 * data frame per write); col_render_finish writes the rest. A sink error
 * stops the render and is returned as it is.
 *
 * Ownership: the renderer references schema (col_schema_ref); opts and the
 * strings in it are only read during col_render_open. Batches given to
 * col_render_batch stay the caller's. Free with col_render_free (also after
 * a failure; an unfinished render leaves an incomplete output).
 */
#ifndef FLOE_COLUMNAR_RENDER_H
#define FLOE_COLUMNAR_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "columnar/batch.h"

struct ArrowArrayStream;
struct ArrowSchema;
struct pq_writer_opts;

typedef enum col_format {
  COL_FMT_ARROW = 1,
  COL_FMT_CSV = 2,
  COL_FMT_JSONL = 3,
  COL_FMT_PARQUET = 4,
} col_format;
#define COL_FMT_MAX COL_FMT_PARQUET

/* "csv", "jsonl", "arrow", "parquet" -> format; -1 when unknown. */
int col_format_parse(const char *s);
/* The name of f ("csv"); "unknown" outside the enum. */
const char *col_format_name(col_format f);

/* Where the bytes go: must take all n bytes or fail (setting err). */
typedef floe_status (*col_write_fn)(void *ctx, const void *p, size_t n,
                                    floe_error *err);

/* One key condition: the column's value equals value, given in the
 * canonical text form of columnar/text.h ("42", "2024-01-31", uuid text).
 * Compared as typed values, so "1.50" matches decimal 1.5. */
typedef struct col_key_eq {
  const char *column;
  const char *value;
} col_key_eq;

typedef struct col_render_opts {
  col_format format;
  /* Output columns by input name, in output order; NULL/0 = every column
   * in schema order. A name given twice or unknown: FLOE_EINVAL /
   * FLOE_ENOTFOUND at open. */
  const char *const *columns;
  int ncolumns;
  /* Rows to keep (ANDed); NULL/0 = every row. An unknown column is
   * FLOE_ENOTFOUND, a value that does not parse as the column's type
   * FLOE_EINVAL, a list column FLOE_EUNSUPPORTED, at open. */
  const col_key_eq *keys;
  int nkeys;
  /* Sink write size; 0 = 256 KiB. Output is written when this much is
   * buffered (an Arrow message or CSV row is never split across calls
   * unless it alone is larger). */
  size_t chunk_bytes;
  /* Parquet writer options (format parquet only); NULL = defaults. */
  const struct pq_writer_opts *parquet;
} col_render_opts;

typedef struct col_render col_render;

/* Starts a render of batches of schema (the input schema). csv writes its
 * header row and arrow its schema message into the buffer (reaching the
 * sink at the first chunk or at finish). Caller frees *out with
 * col_render_free. */
floe_status col_render_open(col_schema *schema, const col_render_opts *opts,
                            col_write_fn write, void *ctx, col_render **out,
                            floe_error *err);
/* The output schema (after projection; borrowed from r). */
const col_schema *col_render_schema(const col_render *r);
/* Renders the rows of b; b's fields must be the input schema's (same
 * count, names and types; FLOE_EINVAL otherwise). */
floe_status col_render_batch(col_render *r, const col_batch *b,
                             floe_error *err);
/* Ends the output (arrow end-of-stream marker, parquet footer) and writes
 * everything still buffered to the sink. Call once; nothing may follow. */
floe_status col_render_finish(col_render *r, floe_error *err);
/* Rows rendered so far (after key filtering). */
int64_t col_render_rows(const col_render *r);
/* Bytes handed to the sink so far. */
uint64_t col_render_bytes(const col_render *r);
void col_render_free(col_render *r);

/*
 * Renders a whole Arrow C stream (e.g. floe_scan's, or any producer whose
 * arrays are struct arrays of the supported types: b, s, i, l, f, g,
 * d:P,S, u, z, tdD, ttu, tsu:, tsu:UTC (or any zone: read as UTC),
 * w:16 (read as uuid), +l of a scalar), consuming it: the stream is released
 * before return, also on failure. Arrays are read in place (no copy) except
 * when they carry an offset (then they are copied; a list whose element array
 * has an offset of its own is FLOE_EUNSUPPORTED). *rows (may be NULL) gets the
 * rows rendered. Calls col_render_open/batch/finish.
 */
floe_status col_render_stream(struct ArrowArrayStream *in,
                              const col_render_opts *opts, col_write_fn write,
                              void *ctx, int64_t *rows, floe_error *err);

/*
 * The same, one input batch at a time, for a producer that renders as its
 * consumer reads (the daemon's SCAN stream, under backpressure): open takes
 * the stream (moved out of *in, which is left released: the renderer copies
 * the struct and keeps no pointer to the caller's, so it may be a local;
 * released by col_stream_render_free, or at once when open fails; write and
 * ctx are kept until col_stream_render_free, opts only read) and writes
 * the output's start (csv header, arrow schema) to the buffer; each step
 * renders the next array of the stream, or, past the last one, finishes the
 * output and sets *done. Bytes reach write as in col_render (chunks of about
 * chunk_bytes, the rest at the end).
 */
typedef struct col_stream_render col_stream_render;
floe_status col_stream_render_open(struct ArrowArrayStream *in,
                                   const col_render_opts *opts,
                                   col_write_fn write, void *ctx,
                                   col_stream_render **out, floe_error *err);
floe_status col_stream_render_step(col_stream_render *sr, bool *done,
                                   floe_error *err);
/* The renderer inside (its rows, bytes and output schema). */
col_render *col_stream_render_renderer(col_stream_render *sr);
void col_stream_render_free(col_stream_render *sr);

/* Converts an Arrow C schema (a struct "+s" of the types listed above)
 * into a col_schema (field ids from "PARQUET:field_id" metadata, else
 * 1..n in order, list elements n+1..). Caller unrefs *out. in stays the
 * caller's. */
floe_status col_schema_import(const struct ArrowSchema *in, col_schema **out,
                              floe_error *err);

/* The text pieces of the csv and jsonl formats, for other writers of them
 * (the CLI's tests): s (n bytes) as one CSV field, quoted when it is empty,
 * contains ',', '"', CR or LF, or starts or ends with a space or tab, bare
 * otherwise (NULL is written by appending nothing); s as a JSON string
 * literal (control characters escaped, other bytes as they are). */
floe_status col_csv_put_field(fbuf *out, const char *s, size_t n,
                              floe_error *err);
floe_status col_json_put_string(fbuf *out, const char *s, size_t n,
                                floe_error *err);

#endif
