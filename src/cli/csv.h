/*
 * CSV reading, RFC 4180: fields separated by ',', records ended by
 * LF or CRLF, a field in double quotes may hold ',', CR, LF and '""' (one '"').
 *
 * floe's reading adds one distinction RFC 4180 leaves open: an empty unquoted
 * field is NULL, a quoted empty field ("") is the empty string. The reader
 * reports which fields were quoted; the caller decides.
 *
 * The reader streams: it pulls input through a fixed buffer and keeps the
 * current record's field bytes in one reusable buffer, so reading a file makes
 * no allocation per row once the buffers have grown to the widest record.
 */
#ifndef FLOE_CLI_CSV_H
#define FLOE_CLI_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Reads up to cap bytes into buf; *got = 0 means end of input. */
typedef floe_status (*cli_read_fn)(void *ctx, void *buf, size_t cap,
                                   size_t *got, floe_error *err);

typedef struct cli_csv_field {
  size_t off; /* into cli_csv.data */
  size_t len;
  int64_t line; /* 1-based line where the field starts */
  bool quoted;
} cli_csv_field;

typedef struct cli_csv {
  cli_read_fn read;
  void *ctx;
  const char *name; /* the input in messages: "<name> line 7, column 3" */
  /* Optional column names for messages: "column 3 (price)". Borrowed. */
  const char *const *colnames;
  int ncolnames;

  uint8_t *in; /* input buffer (owned) */
  size_t in_cap, in_pos, in_len;
  bool eof;
  bool started; /* a leading UTF-8 byte order mark has been looked for */

  fbuf data;             /* the current record's field bytes, unescaped */
  cli_csv_field *fields; /* the current record's fields (owned) */
  int nfields, fields_cap;
  int64_t line;        /* line of the read position */
  int64_t record_line; /* line where the current record starts */
  int64_t records;     /* records returned so far */
} cli_csv;

/* Prepares r to read through fn; bufsize 0 = 1 MiB. name is borrowed. Free
 * with cli_csv_free, also after a failure. */
floe_status cli_csv_init(cli_csv *r, cli_read_fn fn, void *ctx,
                         const char *name, size_t bufsize, floe_error *err);
/* Reads the next record into r->fields / r->data (valid until the next call).
 * *got is false at the end of input. Errors name the line and column. */
floe_status cli_csv_next(cli_csv *r, bool *got, floe_error *err);
void cli_csv_free(cli_csv *r);

/* A cli_read_fn over a stdio FILE (ctx is the FILE*). */
floe_status cli_read_file(void *ctx, void *buf, size_t cap, size_t *got,
                          floe_error *err);

/* The writing side is the library's (columnar/render.h: col_csv_put_field,
 * the csv output format), so `floe parquet cat` and the daemon's scans
 * quote alike. */

#endif
