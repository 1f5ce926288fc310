/*
 * What every command that prints table data shares: standard output as a
 * renderer sink (columnar/render.h does the formats), and the --columns and
 * --format values.
 */
#ifndef FLOE_CLI_ROWS_H
#define FLOE_CLI_ROWS_H

#include <stdbool.h>

#include "columnar/render.h"
#include "iceberg/table.h"

/* A col_write_fn writing to standard output (ctx unused). */
floe_status cli_stdout_write(void *ctx, const void *p, size_t n,
                             floe_error *err);

/* Writes out to stdout and empties it. */
floe_status cli_out_flush(fbuf *out, floe_error *err);
/* fflush(stdout), as a floe_status. */
floe_status cli_out_end(floe_error *err);

/* What a command that prints rows was asked for: --format and --columns. */
typedef struct cli_rows {
  col_format fmt;
  const char **names; /* NULL: every column; else points into list */
  int ncolumns;
  char *list; /* the cut copy of --columns */
} cli_rows;

/* Parses --format (binary formats allowed) and --columns (NULL: all) into
 * r. Returns -1 to go on (then cli_rows_free frees r), else the exit code
 * of the usage error it printed (r is freed already). */
int cli_rows_args(const char *cmd, const char *format, const char *columns,
                  cli_rows *r);
void cli_rows_free(cli_rows *r);

/* Gives the next batch to render in *b, borrowed until the next call; NULL
 * or an empty batch: no more. */
typedef floe_status (*cli_next_fn)(void *ctx, col_batch **b, floe_error *err);

/* Renders to standard output every batch next gives (schema s, options ro),
 * then the format's end, and flushes standard output. */
floe_status cli_render_stdout(col_schema *s, const col_render_opts *ro,
                              cli_next_fn next, void *ctx, floe_error *err);
/* cli_render_stdout of the rows of an Iceberg scan (s stays the caller's). */
floe_status cli_render_ice_scan(ice_scan *s, const col_render_opts *ro,
                                floe_error *err);

/* Splits a --columns value "a,b" into names: *list (the cut copy) and
 * *names (pointing into it) are malloc'd for the caller to free. Returns
 * -1 on success, else the exit code of the usage error it printed (empty
 * or repeated name) naming cmd. */
int cli_split_columns(const char *cmd, const char *columns, char **list,
                      const char ***names, int *n);

/* Parses a --format value (NULL = csv) into *fmt; only csv and jsonl
 * unless binary (then arrow and parquet too, refused when standard output
 * is a terminal). Returns -1 on success, else the exit code of the usage
 * error it printed naming cmd. */
int cli_parse_format(const char *cmd, const char *format, bool binary,
                     col_format *fmt);

#endif
