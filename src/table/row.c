/*
 * floe_row: one row's values as one-row columns of the table's schema, so a
 * change is appended to a batch with the same columnar copy (col_append_range)
 * whatever the types. Reused rows keep their buffers: no malloc per row.
 */
#include <stdlib.h>
#include <string.h>

#include "columnar/text.h"
#include "table/ingest.h"
#include "table/row_int.h"

floe_status floe_row_new(floe_table *t, floe_row **out, floe_error *err) {
  if (!t || !out) return ferr_set(err, FLOE_EINVAL, "floe_row_new: NULL");
  pthread_mutex_lock(&t->mu);
  tbl_schema *s = tbl_schema_ref(t->schema);
  pthread_mutex_unlock(&t->mu);
  floe_row *r = calloc(1, sizeof *r);
  if (!r) {
    tbl_schema_unref(s);
    return ferr_nomem(err, sizeof *r);
  }
  r->schema = s;
  r->list_col = -1;
  r->cols = calloc((size_t)s->ncols, sizeof *r->cols);
  r->st = calloc((size_t)s->ncols, 1);
  if (!r->cols || !r->st) {
    floe_row_free(r);
    return ferr_nomem(err, (size_t)s->ncols * sizeof *r->cols);
  }
  for (int i = 0; i < s->ncols; i++) {
    floe_status st = col_init(&r->cols[i], s->cols->fields[i].type, err);
    if (!st) {
      r->ninit = i + 1;
      st = col_append_null(&r->cols[i], err);
    }
    if (st) {
      floe_row_free(r);
      return st;
    }
  }
  r->ninit = s->ncols;
  *out = r;
  return FLOE_OK;
}

void floe_row_free(floe_row *r) {
  if (!r) return;
  for (int i = 0; i < r->ninit; i++) col_free(&r->cols[i]);
  free(r->cols);
  free(r->st);
  tbl_schema_unref(r->schema);
  free(r);
}

/* Puts column i back to one NULL row (keeping its buffers). */
static void set_null(floe_row *r, int i) {
  col_column *c = &r->cols[i];
  if (c->length == 1 && !col_is_valid(c, 0)) return;
  col_clear(c);
  if (c->child) col_clear(c->child);
  /* cannot fail: the column held a row before, so the room is there */
  (void)col_append_null(c, NULL);
}

void floe_row_reset(floe_row *r) {
  if (!r) return;
  for (int i = 0; i < r->schema->ncols; i++) {
    set_null(r, i);
    r->st[i] = TBL_ROW_NULL;
  }
  r->list_col = -1;
  r->bytes = 0;
}

/* The column a setter writes into (a list's child while a list is open),
 * emptied for the new value; its type in *t. A column setter leaves the
 * column NULL until done() (so a failed set reads as NULL). */
static floe_status target(floe_row *r, int col, col_column **c, col_dtype *t,
                          floe_error *err) {
  if (!r) return ferr_set(err, FLOE_EINVAL, "NULL row");
  if (col == FLOE_ELEM) {
    if (r->list_col < 0)
      return ferr_set(err, FLOE_EINVAL, "list element outside a list");
    *c = r->cols[r->list_col].child;
    *t = col_dtype_elem(r->cols[r->list_col].type);
    return FLOE_OK;
  }
  if (col < 0 || col >= r->schema->ncols)
    return ferr_set(err, FLOE_EINVAL, "column %d out of range (%d columns)",
                    col, r->schema->ncols);
  if (r->list_col >= 0)
    return ferr_set(err, FLOE_EINVAL, "column %s set inside an open list",
                    r->schema->fcols[col].name);
  set_null(r, col);
  r->st[col] = TBL_ROW_NULL;
  *c = &r->cols[col];
  *t = (*c)->type;
  return FLOE_OK;
}

/* A column value goes in by replacing the NULL placeholder: truncate it
 * just before the append (the append then reuses its room). */
static void take(int col, col_column *c) {
  if (col != FLOE_ELEM) {
    col_clear(c);
    if (c->child) col_clear(c->child);
  }
}

/* PUT(append): take() the placeholder, append, and on failure put the NULL
 * back so the row keeps one row per column. */
#define PUT(expr)                                                              \
  do {                                                                         \
    take(col, c);                                                              \
    floe_status put_st_ = (expr);                                              \
    if (put_st_) return put(col, c, put_st_);                                  \
  } while (0)

/* Finishes a failed PUT: the column goes back to NULL. */
static floe_status put(int col, col_column *c, floe_status st) {
  if (col != FLOE_ELEM && c->length == 0) (void)col_append_null(c, NULL);
  return st;
}

static void done(floe_row *r, int col, int64_t bytes) {
  if (col != FLOE_ELEM) r->st[col] = TBL_ROW_SET;
  r->bytes += bytes;
}

static const char *cname(const floe_row *r, int col) {
  if (col == FLOE_ELEM) return "list element";
  return r->schema->fcols[col].name;
}

static floe_status mismatch(const floe_row *r, int col, col_dtype t,
                            const char *what, floe_error *err) {
  char tn[64];
  return ferr_set(err, FLOE_EINVAL, "%s is %s, not settable as %s",
                  cname(r, col), col_dtype_format(t, tn, sizeof tn), what);
}

floe_status floe_row_set_null(floe_row *r, int col, floe_error *err) {
  col_column *c;
  col_dtype t;
  FLOE_TRY(target(r, col, &c, &t, err));
  if (col == FLOE_ELEM) return col_append_null(c, err);
  if (!r->schema->fcols[col].nullable)
    return ferr_set(err, FLOE_EINVAL, "column %s is NOT NULL", cname(r, col));
  return FLOE_OK; /* unset = NULL */
}

floe_status floe_row_set_unchanged(floe_row *r, int col, floe_error *err) {
  col_column *c;
  col_dtype t;
  if (col == FLOE_ELEM)
    return ferr_set(err, FLOE_EINVAL, "a list element cannot be unchanged");
  FLOE_TRY(target(r, col, &c, &t, err));
  r->st[col] = TBL_ROW_UNCHANGED;
  return FLOE_OK;
}

floe_status floe_row_set_bool(floe_row *r, int col, int v, floe_error *err) {
  col_column *c;
  col_dtype t;
  FLOE_TRY(target(r, col, &c, &t, err));
  if (t.id != COL_BOOL) return mismatch(r, col, t, "bool", err);
  PUT(col_append_bool(c, v != 0, err));
  done(r, col, 1);
  return FLOE_OK;
}

floe_status floe_row_set_int(floe_row *r, int col, int64_t v, floe_error *err) {
  col_column *c;
  col_dtype t;
  FLOE_TRY(target(r, col, &c, &t, err));
  switch (t.id) {
  case COL_INT16:
    if (v < INT16_MIN || v > INT16_MAX) break;
    PUT(col_append_i16(c, (int16_t)v, err));
    done(r, col, 2);
    return FLOE_OK;
  case COL_INT32:
  case COL_DATE:
    if (v < INT32_MIN || v > INT32_MAX) break;
    PUT(col_append_i32(c, (int32_t)v, err));
    done(r, col, 4);
    return FLOE_OK;
  case COL_TIME:
    if (v < 0 || v > 86400LL * 1000000) break;
    /* fall through */
  case COL_INT64:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ:
    PUT(col_append_i64(c, v, err));
    done(r, col, 8);
    return FLOE_OK;
  default: return mismatch(r, col, t, "int", err);
  }
  return ferr_set(err, FLOE_ERANGE, "%s: %lld out of range for %s",
                  cname(r, col), (long long)v, col_type_name(t.id));
}

floe_status floe_row_set_float(floe_row *r, int col, double v,
                               floe_error *err) {
  col_column *c;
  col_dtype t;
  FLOE_TRY(target(r, col, &c, &t, err));
  if (t.id == COL_FLOAT32) {
    PUT(col_append_f32(c, (float)v, err));
    done(r, col, 4);
    return FLOE_OK;
  }
  if (t.id != COL_FLOAT64) return mismatch(r, col, t, "float", err);
  PUT(col_append_f64(c, v, err));
  done(r, col, 8);
  return FLOE_OK;
}

floe_status floe_row_set_decimal(floe_row *r, int col, uint64_t lo, int64_t hi,
                                 floe_error *err) {
  col_column *c;
  col_dtype t;
  FLOE_TRY(target(r, col, &c, &t, err));
  if (t.id != COL_DECIMAL) return mismatch(r, col, t, "decimal", err);
  /* |v| < 10^precision */
  unsigned __int128 u = ((unsigned __int128)(uint64_t)hi << 64) | lo;
  if (hi < 0) u = ~u + 1;
  unsigned __int128 lim = 1;
  for (int i = 0; i < t.precision; i++) lim *= 10;
  if (u >= lim)
    return ferr_set(err, FLOE_ERANGE, "%s: value has more than %d digits",
                    cname(r, col), t.precision);
  PUT(col_append_dec(c, lo, hi, err));
  done(r, col, 16);
  return FLOE_OK;
}

floe_status floe_row_set_bytes(floe_row *r, int col, const void *p, size_t n,
                               floe_error *err) {
  col_column *c;
  col_dtype t;
  FLOE_TRY(target(r, col, &c, &t, err));
  if (!p && n)
    return ferr_set(err, FLOE_EINVAL, "%s: NULL bytes", cname(r, col));
  if (t.id == COL_UUID) {
    if (n != 16)
      return ferr_set(err, FLOE_EINVAL, "%s: a uuid is 16 bytes, not %zu",
                      cname(r, col), n);
    PUT(col_append_uuid(c, p, err));
    done(r, col, 16);
    return FLOE_OK;
  }
  if (t.id == COL_UTF8) {
    size_t bad = col_utf8_check(p, n);
    if (bad != n)
      return ferr_set(err, FLOE_EINVAL, "%s: invalid UTF-8 at byte %zu",
                      cname(r, col), bad);
  } else if (t.id != COL_BINARY) {
    return mismatch(r, col, t, "bytes", err);
  }
  PUT(col_append_bytes(c, p, n, err));
  done(r, col, (int64_t)n + 4);
  return FLOE_OK;
}

floe_status floe_row_list_begin(floe_row *r, int col, floe_error *err) {
  if (col == FLOE_ELEM) return ferr_set(err, FLOE_EINVAL, "lists do not nest");
  col_column *c;
  col_dtype t;
  FLOE_TRY(target(r, col, &c, &t, err));
  if (t.id != COL_LIST) return mismatch(r, col, t, "list", err);
  take(col, c);
  r->list_col = col;
  return FLOE_OK;
}

floe_status floe_row_list_end(floe_row *r, floe_error *err) {
  if (!r || r->list_col < 0) return ferr_set(err, FLOE_EINVAL, "no open list");
  int col = r->list_col;
  col_column *c = &r->cols[col];
  FLOE_TRY(col_list_end(c, err));
  r->list_col = -1;
  done(r, col, 4 + (int64_t)c->child->values.len);
  return FLOE_OK;
}

floe_status tbl_row_check(const floe_row *r, const tbl_schema *s,
                          bool allow_unchanged, floe_error *err) {
  if (!r) return ferr_set(err, FLOE_EINVAL, "NULL row");
  if (r->schema != s)
    return ferr_set(err, FLOE_EINVAL,
                    "row was built for an earlier schema of the table");
  if (r->list_col >= 0)
    return ferr_set(err, FLOE_EINVAL, "row has an open list (%s)",
                    s->fcols[r->list_col].name);
  for (int i = 0; i < s->ncols; i++) {
    if (r->st[i] == TBL_ROW_UNCHANGED && !allow_unchanged)
      return ferr_set(err, FLOE_EINVAL,
                      "column %s marked unchanged outside an update",
                      s->fcols[i].name);
    if (r->st[i] == TBL_ROW_NULL && !s->fcols[i].nullable)
      return ferr_set(err, FLOE_EINVAL, "column %s is NOT NULL",
                      s->fcols[i].name);
  }
  return FLOE_OK;
}

void tbl_row_hash(const floe_row *r, uint64_t *out) {
  tkey_hash(r->cols, r->schema->ident, r->schema->nident, 0, 1, out);
}

/* ---- decoders writing in place (table/ingest.h) ---- */

col_column *tbl_row_value_begin(floe_row *r, int col) {
  if (!r || col < 0 || col >= r->schema->ncols || r->list_col >= 0) return NULL;
  col_column *c = &r->cols[col];
  r->st[col] = TBL_ROW_NULL;
  col_clear(c);
  if (c->child) col_clear(c->child);
  return c;
}

void tbl_row_value_end(floe_row *r, int col, bool ok) {
  col_column *c = &r->cols[col];
  if (!ok || c->length != 1) {
    col_clear(c);
    if (c->child) col_clear(c->child);
    (void)col_append_null(c, NULL);
    return;
  }
  int64_t w = col_type_width(c->type.id);
  if (c->type.id == COL_LIST) w = 4 + (int64_t)c->child->values.len;
  done(r, col, w ? w : (int64_t)c->values.len + 4);
}
