/*
 * Printing rows as CSV or JSON lines (the text forms of columnar/text.h),
 * shared by `floe parquet cat` and `floe iceberg scan`, and the --columns
 * list both take.
 */
#ifndef FLOE_CLI_ROWS_H
#define FLOE_CLI_ROWS_H

#include <stdbool.h>

#include "columnar/batch.h"

typedef struct cli_rows {
  const col_schema *schema; /* borrowed */
  const int *idx;           /* columns to print, in order (borrowed) */
  int n;
  bool json;
  fbuf out, val;
} cli_rows;

/* Starts printing columns idx[0..n) of batches of schema s (both must
 * outlive r); CSV gets its header row. */
floe_status cli_rows_begin(cli_rows *r, const col_schema *s, const int *idx,
                           int n, bool json, floe_error *err);
/* Prints the rows of b (schema s). */
floe_status cli_rows_batch(cli_rows *r, const col_batch *b, floe_error *err);
/* Flushes everything to standard output. */
floe_status cli_rows_end(cli_rows *r, floe_error *err);
void cli_rows_free(cli_rows *r);

/* Writes out to stdout and empties it. */
floe_status cli_out_flush(fbuf *out, floe_error *err);

/* Splits a --columns value "a,b" into names: *list (the cut copy) and
 * *names (pointing into it) are malloc'd for the caller to free. Returns
 * -1 on success, else the exit code of the usage error it printed (empty
 * or repeated name) naming cmd. */
int cli_split_columns(const char *cmd, const char *columns, char **list,
                      const char ***names, int *n);

/* Parses a --format value (NULL = csv): *json says jsonl. Returns -1 on
 * success, else the exit code of the usage error it printed naming cmd. */
int cli_parse_format(const char *cmd, const char *format, bool *json);

#endif
