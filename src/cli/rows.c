/* Standard output and the options of every command that prints table data. */
#include "cli/rows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/args.h"

floe_status cli_stdout_write(void *ctx, const void *p, size_t n,
                             floe_error *err) {
  (void)ctx;
  if (n && fwrite(p, 1, n, stdout) != n)
    return ferr_set(err, FLOE_EIO, "writing to standard output: %s",
                    strerror(errno));
  return FLOE_OK;
}

floe_status cli_out_flush(fbuf *out, floe_error *err) {
  FLOE_TRY(cli_stdout_write(NULL, out->data, out->len, err));
  fbuf_reset(out);
  return FLOE_OK;
}

floe_status cli_out_end(floe_error *err) {
  if (fflush(stdout) != 0)
    return ferr_set(err, FLOE_EIO, "writing to standard output: %s",
                    strerror(errno));
  return FLOE_OK;
}

floe_status cli_render_stdout(col_schema *s, const col_render_opts *ro,
                              cli_next_fn next, void *ctx, floe_error *err) {
  col_render *r = NULL;
  floe_status st = col_render_open(s, ro, cli_stdout_write, NULL, &r, err);
  while (!st) {
    col_batch *b = NULL;
    if ((st = next(ctx, &b, err)) || !b || b->length == 0) break;
    st = col_render_batch(r, b, err);
  }
  if (!st) st = col_render_finish(r, err);
  if (!st) st = cli_out_end(err);
  col_render_free(r);
  return st;
}

typedef struct ice_next_ctx {
  ice_scan *s;
  col_batch *last; /* the batch given out last (ice_scan_next's are ours) */
} ice_next_ctx;

static floe_status ice_next(void *ctx, col_batch **b, floe_error *err) {
  ice_next_ctx *c = ctx;
  col_batch_free(c->last);
  c->last = NULL;
  FLOE_TRY(ice_scan_next(c->s, &c->last, err));
  *b = c->last;
  return FLOE_OK;
}

floe_status cli_render_ice_scan(ice_scan *s, const col_render_opts *ro,
                                floe_error *err) {
  ice_next_ctx c = {s, NULL};
  floe_status st = cli_render_stdout(ice_scan_schema(s), ro, ice_next, &c, err);
  col_batch_free(c.last);
  return st;
}

int cli_split_columns(const char *cmd, const char *columns, char **list,
                      const char ***names, int *n) {
  *list = NULL;
  *names = NULL;
  *n = 0;
  size_t len = strlen(columns);
  char *l = malloc(len + 1);
  const char **nm = malloc((len / 2 + 1) * sizeof *nm);
  if (!l || !nm) {
    free(l);
    free(nm);
    fputs("floe: out of memory\n", stderr);
    return CLI_EXIT_FAIL;
  }
  memcpy(l, columns, len + 1);
  int cnt = 0;
  for (char *p = l;;) {
    char *comma = strchr(p, ',');
    if (comma) *comma = '\0';
    int bad = *p == '\0' ? 1 : 0;
    for (int k = 0; k < cnt && !bad; k++)
      if (strcmp(nm[k], p) == 0) bad = 2;
    if (bad) {
      int rc = bad == 1
                   ? cli_usage_error(cmd, "--columns: empty column name")
                   : cli_usage_error(cmd, "--columns: '%s' given twice", p);
      free(l);
      free(nm);
      return rc;
    }
    nm[cnt++] = p;
    if (!comma) break;
    p = comma + 1;
  }
  *list = l;
  *names = nm;
  *n = cnt;
  return -1;
}

int cli_parse_format(const char *cmd, const char *format, bool binary,
                     col_format *fmt) {
  int f = format ? col_format_parse(format) : COL_FMT_CSV;
  if (f == COL_FMT_CSV || f == COL_FMT_JSONL) {
    *fmt = (col_format)f;
    return -1;
  }
  if (binary && (f == COL_FMT_ARROW || f == COL_FMT_PARQUET)) {
    /* bytes that would garble a terminal are refused up front */
    if (isatty(STDOUT_FILENO))
      return cli_usage_error(cmd,
                             "--format %s is binary: redirect standard "
                             "output to a file or a pipe",
                             format);
    *fmt = (col_format)f;
    return -1;
  }
  return binary ? cli_usage_error(
                      cmd, "--format: '%s' is not csv, jsonl, parquet or arrow",
                      format)
                : cli_usage_error(cmd, "--format: '%s' is not csv or jsonl",
                                  format);
}

int cli_rows_args(const char *cmd, const char *format, const char *columns,
                  cli_rows *r) {
  memset(r, 0, sizeof *r);
  int rc = cli_parse_format(cmd, format, true, &r->fmt);
  if (rc < 0 && columns)
    rc = cli_split_columns(cmd, columns, &r->list, &r->names, &r->ncolumns);
  if (rc >= 0) cli_rows_free(r);
  return rc;
}

void cli_rows_free(cli_rows *r) {
  free(r->list);
  free((void *)r->names);
  memset(r, 0, sizeof *r);
}
