/* Rows as CSV / JSON lines, for every command that prints table data. */
#include "cli/rows.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/csv.h"
#include "columnar/text.h"

/* stdout is written in chunks of about this size. */
#define CLI_OUT_CHUNK ((size_t)256 << 10)

floe_status cli_out_flush(fbuf *out, floe_error *err) {
  if (out->len && fwrite(out->data, 1, out->len, stdout) != out->len)
    return ferr_set(err, FLOE_EIO, "writing to standard output: %s",
                    strerror(errno));
  fbuf_reset(out);
  return FLOE_OK;
}

floe_status cli_rows_begin(cli_rows *r, const col_schema *s, const int *idx,
                           int n, bool json, floe_error *err) {
  memset(r, 0, sizeof *r);
  r->schema = s;
  r->idx = idx;
  r->n = n;
  r->json = json;
  if (json) return FLOE_OK;
  floe_status st = FLOE_OK;
  for (int k = 0; k < n && !st; k++) {
    const char *name = s->fields[idx[k]].name;
    if (k) st = fbuf_put_u8(&r->out, ',', err);
    if (!st) st = cli_csv_put_field(&r->out, name, strlen(name), err);
  }
  if (!st) st = fbuf_put_u8(&r->out, '\n', err);
  return st;
}

floe_status cli_rows_batch(cli_rows *r, const col_batch *b, floe_error *err) {
  const col_schema *s = r->schema;
  fbuf *out = &r->out;
  floe_status st = FLOE_OK;
  for (int64_t i = 0; i < b->length && !st; i++) {
    if (r->json) st = fbuf_put_u8(out, '{', err);
    for (int k = 0; k < r->n && !st; k++) {
      const col_column *c = &b->cols[r->idx[k]];
      if (r->json) {
        const char *name = s->fields[r->idx[k]].name;
        if (k) st = fbuf_put_u8(out, ',', err);
        if (!st) st = cli_json_put_string(out, name, strlen(name), err);
        if (!st) st = fbuf_put_u8(out, ':', err);
        if (st) break;
        if (!col_is_valid(c, i))
          st = fbuf_append(out, "null", 4, err);
        else
          st = col_text_format(c, i, true, out, err);
      } else {
        if (k) st = fbuf_put_u8(out, ',', err);
        if (st || !col_is_valid(c, i)) continue;
        fbuf_reset(&r->val);
        st = col_text_format(c, i, false, &r->val, err);
        if (!st)
          st = cli_csv_put_field(out, (const char *)r->val.data, r->val.len,
                                 err);
      }
    }
    if (r->json && !st) st = fbuf_put_u8(out, '}', err);
    if (!st) st = fbuf_put_u8(out, '\n', err);
    if (!st && out->len >= CLI_OUT_CHUNK) st = cli_out_flush(out, err);
  }
  return st;
}

floe_status cli_rows_end(cli_rows *r, floe_error *err) {
  FLOE_TRY(cli_out_flush(&r->out, err));
  if (fflush(stdout) != 0)
    return ferr_set(err, FLOE_EIO, "writing to standard output: %s",
                    strerror(errno));
  return FLOE_OK;
}

void cli_rows_free(cli_rows *r) {
  fbuf_free(&r->out);
  fbuf_free(&r->val);
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

int cli_parse_format(const char *cmd, const char *format, bool *json) {
  *json = false;
  if (!format || strcmp(format, "csv") == 0) return -1;
  if (strcmp(format, "jsonl") == 0) {
    *json = true;
    return -1;
  }
  return cli_usage_error(cmd, "--format: '%s' is not csv or jsonl", format);
}
