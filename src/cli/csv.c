/* CSV reading and writing for the floe command (see csv.h). */
#include "cli/csv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A record is held whole in memory, so one absurd record must not take the
 * machine: values are bounded by Arrow's int32 offsets anyway. */
#define CLI_CSV_MAX_RECORD ((size_t)1 << 30)
#define CLI_CSV_MAX_FIELDS (1 << 20)

floe_status cli_csv_init(cli_csv *r, cli_read_fn fn, void *ctx,
                         const char *name, size_t bufsize, floe_error *err) {
  memset(r, 0, sizeof *r);
  r->read = fn;
  r->ctx = ctx;
  r->name = name;
  r->line = 1;
  r->in_cap = bufsize ? bufsize : (size_t)1 << 20;
  r->in = malloc(r->in_cap);
  if (!r->in) return ferr_nomem(err, r->in_cap);
  return FLOE_OK;
}

void cli_csv_free(cli_csv *r) {
  if (!r) return;
  free(r->in);
  free(r->fields);
  fbuf_free(&r->data);
  r->in = NULL;
  r->fields = NULL;
}

floe_status cli_read_file(void *ctx, void *buf, size_t cap, size_t *got,
                          floe_error *err) {
  FILE *f = ctx;
  *got = fread(buf, 1, cap, f);
  if (*got == 0 && ferror(f))
    return ferr_set(err, FLOE_EIO, "read error: %s", strerror(errno));
  return FLOE_OK;
}

/* "<name> line L, column C (colname): msg", C being the field read now. */
static floe_status csv_error(const cli_csv *r, floe_error *err, int64_t line,
                             const char *msg) {
  int col = r->nfields + 1;
  if (r->colnames && col <= r->ncolnames)
    return ferr_set(err, FLOE_EINVAL, "%s line %lld, column %d (%s): %s",
                    r->name, (long long)line, col, r->colnames[col - 1], msg);
  return ferr_set(err, FLOE_EINVAL, "%s line %lld, column %d: %s", r->name,
                  (long long)line, col, msg);
}

/* Makes the next byte available; *c = -1 at end of input. */
static inline floe_status peek(cli_csv *r, int *c, floe_error *err) {
  if (FLOE_UNLIKELY(r->in_pos == r->in_len)) {
    r->in_pos = r->in_len = 0;
    if (!r->eof) {
      size_t got = 0;
      FLOE_TRY(r->read(r->ctx, r->in, r->in_cap, &got, err));
      if (got == 0) r->eof = true;
      r->in_len = got;
    }
    if (r->in_len == 0) {
      *c = -1;
      return FLOE_OK;
    }
  }
  *c = r->in[r->in_pos];
  return FLOE_OK;
}

/* Skips a UTF-8 byte order mark at the very start (spreadsheets write one).
 * Reads until three bytes are buffered so a short first read cannot split
 * the mark. */
static floe_status skip_bom(cli_csv *r, floe_error *err) {
  while (!r->eof && r->in_len < 3 && r->in_len < r->in_cap) {
    size_t got = 0;
    FLOE_TRY(
        r->read(r->ctx, r->in + r->in_len, r->in_cap - r->in_len, &got, err));
    if (got == 0) r->eof = true;
    r->in_len += got;
  }
  if (r->in_len >= 3 && memcmp(r->in, "\xEF\xBB\xBF", 3) == 0) r->in_pos = 3;
  return FLOE_OK;
}

static floe_status append(cli_csv *r, const uint8_t *p, size_t n,
                          floe_error *err) {
  if (FLOE_UNLIKELY(n > CLI_CSV_MAX_RECORD - r->data.len))
    return csv_error(r, err, r->record_line, "record longer than 1 GiB");
  return fbuf_append(&r->data, p, n, err);
}

static floe_status push_field(cli_csv *r, const cli_csv_field *f,
                              floe_error *err) {
  if (r->nfields == r->fields_cap) {
    if (r->fields_cap >= CLI_CSV_MAX_FIELDS)
      return csv_error(r, err, f->line, "too many fields in one record");
    int cap = r->fields_cap ? r->fields_cap * 2 : 16;
    cli_csv_field *nf = realloc(r->fields, (size_t)cap * sizeof *nf);
    if (!nf) return ferr_nomem(err, (size_t)cap * sizeof *nf);
    r->fields = nf;
    r->fields_cap = cap;
  }
  r->fields[r->nfields++] = *f;
  return FLOE_OK;
}

/* Reads a quoted field's body; the opening quote is consumed. */
static floe_status read_quoted(cli_csv *r, const cli_csv_field *f,
                               floe_error *err) {
  int c;
  for (;;) {
    FLOE_TRY(peek(r, &c, err));
    if (c < 0)
      return csv_error(r, err, f->line,
                       "quoted field never closed (input ends inside it)");
    const uint8_t *p = r->in + r->in_pos, *end = r->in + r->in_len, *q = p;
    while (q < end && *q != '"' && *q != '\n') q++;
    FLOE_TRY(append(r, p, (size_t)(q - p), err));
    r->in_pos += (size_t)(q - p);
    if (q == end) continue;
    r->in_pos++;
    if (*q == '\n') {
      r->line++;
      FLOE_TRY(append(r, (const uint8_t *)"\n", 1, err));
      continue;
    }
    /* A quote: doubled means one literal quote, else the field ends. */
    FLOE_TRY(peek(r, &c, err));
    if (c != '"') return FLOE_OK;
    r->in_pos++;
    FLOE_TRY(append(r, (const uint8_t *)"\"", 1, err));
  }
}

static floe_status read_bare(cli_csv *r, floe_error *err) {
  for (;;) {
    int c;
    FLOE_TRY(peek(r, &c, err));
    if (c < 0) return FLOE_OK;
    const uint8_t *p = r->in + r->in_pos, *end = r->in + r->in_len, *q = p;
    while (q < end && *q != ',' && *q != '\n' && *q != '\r' && *q != '"') q++;
    FLOE_TRY(append(r, p, (size_t)(q - p), err));
    r->in_pos += (size_t)(q - p);
    if (q < end) return FLOE_OK;
  }
}

floe_status cli_csv_next(cli_csv *r, bool *got, floe_error *err) {
  *got = false;
  r->nfields = 0;
  fbuf_reset(&r->data);
  if (!r->started) {
    r->started = true;
    FLOE_TRY(skip_bom(r, err));
  }
  int c;
  FLOE_TRY(peek(r, &c, err));
  if (c < 0) return FLOE_OK;
  r->record_line = r->line;
  for (;;) {
    cli_csv_field f = {r->data.len, 0, r->line, false};
    FLOE_TRY(peek(r, &c, err));
    if (c == '"') {
      f.quoted = true;
      r->in_pos++;
      FLOE_TRY(read_quoted(r, &f, err));
      FLOE_TRY(peek(r, &c, err));
      if (c >= 0 && c != ',' && c != '\n' && c != '\r')
        return csv_error(r, err, r->line,
                         "text after the closing quote of a quoted field");
    } else {
      FLOE_TRY(read_bare(r, err));
      FLOE_TRY(peek(r, &c, err));
      if (c == '"')
        return csv_error(r, err, r->line,
                         "quote inside an unquoted field (quote the whole "
                         "field and double the quote)");
    }
    f.len = r->data.len - f.off;
    FLOE_TRY(push_field(r, &f, err));
    if (c == ',') {
      r->in_pos++;
      continue;
    }
    if (c == '\r') {
      r->in_pos++;
      FLOE_TRY(peek(r, &c, err));
      if (c != '\n') {
        r->nfields--; /* the error is about the field just read */
        return csv_error(r, err, r->line,
                         "carriage return not followed by line feed");
      }
    }
    if (c == '\n') {
      r->in_pos++;
      r->line++;
    }
    break;
  }
  r->records++;
  *got = true;
  return FLOE_OK;
}
