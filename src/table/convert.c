/*
 * Rows of an older schema in the current one: widening (int16 -> int32 ->
 * int64, float -> double, decimal precision up), Iceberg initial-defaults for
 * columns added later, and reading single rows back from data files (an
 * unchanged TOAST value, a key compared after a hash collision).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "columnar/text.h"
#include "table/table_int.h"

floe_status tbl_col_convert(col_column *c, const col_column *src, int64_t from,
                            int64_t n, floe_error *err) {
  col_type to = c->type.id, fr = src->type.id;
  if (to == fr) return col_append_range(c, src, from, n, err);
  bool ok = (to == COL_INT64 && (fr == COL_INT16 || fr == COL_INT32)) ||
            (to == COL_INT32 && fr == COL_INT16) ||
            (to == COL_FLOAT64 && fr == COL_FLOAT32);
  if (!ok) {
    char a[64], b[64];
    return ferr_set(err, FLOE_EINVAL, "cannot read %s as %s",
                    col_dtype_format(src->type, a, sizeof a),
                    col_dtype_format(c->type, b, sizeof b));
  }
  for (int64_t i = from; i < from + n; i++) {
    if (!col_is_valid(src, i)) {
      FLOE_TRY(col_append_null(c, err));
      continue;
    }
    int64_t v = 0;
    double d = 0;
    if (fr == COL_INT16) {
      int16_t x;
      memcpy(&x, col_get_fixed(src, i, 2), 2);
      v = x;
    } else if (fr == COL_INT32) {
      int32_t x;
      memcpy(&x, col_get_fixed(src, i, 4), 4);
      v = x;
    } else {
      float x;
      memcpy(&x, col_get_fixed(src, i, 4), 4);
      d = x;
    }
    if (to == COL_INT64)
      FLOE_TRY(col_append_i64(c, v, err));
    else if (to == COL_INT32)
      FLOE_TRY(col_append_i32(c, (int32_t)v, err));
    else
      FLOE_TRY(col_append_f64(c, d, err));
  }
  return FLOE_OK;
}

/* One value of Iceberg's JSON single-value form (Appendix D) appended. */
static floe_status append_json(col_column *c, json_t *v, const char *json,
                               floe_error *err) {
  col_type t = c->type.id;
  char tmp[64];
  if (json_is_null(v)) return col_append_null(c, err);
  if (t == COL_BOOL && json_is_boolean(v))
    return col_append_bool(c, json_is_true(v), err);
  if ((t == COL_INT16 || t == COL_INT32 || t == COL_INT64) &&
      json_is_integer(v)) {
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
    return col_text_append(c, tmp, (size_t)n, err);
  }
  if (t == COL_FLOAT32 && json_is_number(v))
    return col_append_f32(c, (float)json_number_value(v), err);
  if (t == COL_FLOAT64 && json_is_number(v))
    return col_append_f64(c, json_number_value(v), err);
  if (t == COL_UTF8 && json_is_string(v))
    return col_append_bytes(c, json_string_value(v), json_string_length(v),
                            err);
  if (t == COL_BINARY && json_is_string(v)) {
    /* Appendix D: bare hex; the text form wants a \x prefix */
    size_t n = json_string_length(v);
    char *s = malloc(n + 3);
    if (!s) return ferr_nomem(err, n + 3);
    s[0] = '\\';
    s[1] = 'x';
    memcpy(s + 2, json_string_value(v), n);
    floe_status st = col_text_append(c, s, n + 2, err);
    free(s);
    return st;
  }
  if ((t == COL_DECIMAL || t == COL_DATE || t == COL_TIME ||
       t == COL_TIMESTAMP || t == COL_TIMESTAMPTZ || t == COL_UUID) &&
      json_is_string(v))
    return col_text_append(c, json_string_value(v), json_string_length(v), err);
  if (t == COL_LIST && json_is_array(v)) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) return ferr_nomem(err, strlen(json));
    floe_status st = col_text_append(c, s, strlen(s), err);
    free(s);
    return st;
  }
  char tn[64];
  return ferr_set(err, FLOE_EINVAL, "default %s does not fit type %s", json,
                  col_dtype_format(c->type, tn, sizeof tn));
}

floe_status tbl_col_default(col_column *c, const char *json, int64_t n,
                            floe_error *err) {
  if (n <= 0) return FLOE_OK;
  if (!json) return col_append_nulls(c, n, err);
  json_error_t jerr;
  json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);
  if (!v) return ferr_set(err, FLOE_EINVAL, "default %s: %s", json, jerr.text);
  col_column one;
  floe_status st = col_init(&one, c->type, err);
  if (st) {
    json_decref(v);
    return st;
  }
  st = append_json(&one, v, json, err);
  json_decref(v);
  for (int64_t i = 0; i < n && !st; i++)
    st = col_append_range(c, &one, 0, 1, err);
  col_free(&one);
  return st;
}

floe_status tbl_batch_convert(const col_batch *b, const tbl_schema *s,
                              col_batch **out, floe_error *err) {
  col_batch *nb = NULL;
  FLOE_TRY(col_batch_new(s->cols, &nb, err));
  floe_status st = FLOE_OK;
  for (int i = 0; i < s->ncols && !st; i++) {
    int k = col_schema_find_id(b->schema, s->cols->fields[i].id);
    if (k >= 0)
      st = tbl_col_convert(&nb->cols[i], &b->cols[k], 0, b->length, err);
    else
      st = tbl_col_default(&nb->cols[i], s->fcols[i].initial_default, b->length,
                           err);
  }
  if (!st) st = col_batch_seal(nb, err);
  if (st) {
    col_batch_free(nb);
    return st;
  }
  *out = nb;
  return FLOE_OK;
}

/* ---- single rows from Parquet files ---- */

typedef struct store_src {
  fstore *store;
  char *key;
} store_src;

static floe_status store_read_at(void *ctx, uint64_t off, void *buf, size_t n,
                                 floe_error *err) {
  store_src *s = ctx;
  return fstore_get_range(s->store, s->key, off, buf, n, err);
}

typedef struct pick {
  const int64_t *pos;
  int n, i;
} pick;

static bool skip_unpicked(void *ctx, int64_t row) {
  pick *p = ctx;
  while (p->i < p->n && p->pos[p->i] < row) p->i++;
  return !(p->i < p->n && p->pos[p->i] == row);
}

floe_status tbl_read_file_rows(ice_catalog *cat, const char *path, bool local,
                               const tbl_schema *s, const int64_t *pos, int n,
                               col_batch *out, floe_error *err) {
  return tbl_read_file_cols(cat, path, local, s, NULL, pos, n, out, err);
}

floe_status tbl_read_file_cols(ice_catalog *cat, const char *path, bool local,
                               const tbl_schema *s, const bool *want,
                               const int64_t *pos, int n, col_batch *out,
                               floe_error *err) {
  int32_t *ids = calloc((size_t)s->ncols, sizeof *ids);
  if (!ids) return ferr_nomem(err, (size_t)s->ncols * sizeof *ids);
  int nids = 0;
  for (int i = 0; i < s->ncols; i++)
    if (!want || want[i]) ids[nids++] = s->cols->fields[i].id;
  pick pk = {pos, n, 0};
  pq_reader_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.field_ids = ids;
  ro.nfield_ids = nids;
  ro.missing_ids_ok = true;
  ro.skip = skip_unpicked;
  ro.skip_ctx = &pk;
  store_src src = {cat ? cat->store : NULL, NULL};
  pq_reader *r = NULL;
  floe_status st = FLOE_OK;
  if (local) {
    st = pq_reader_open_file(path, &ro, &r, err);
  } else {
    uint64_t size = 0;
    st = ice_catalog_key(cat, path, &src.key, err);
    if (!st) st = fstore_size(cat->store, src.key, &size, err);
    pq_source ps = {store_read_at, &src, size, path, NULL};
    if (!st) st = pq_reader_open(ps, &ro, &r, err);
  }
  /* only the row groups and pages holding the rows are read and decoded:
   * a one-row read costs a page, not the file */
  if (!st && n > 0)
    st = pq_reader_set_rows(r, pos[0], pos[n - 1] - pos[0] + 1, err);
  int64_t got = 0;
  while (!st) {
    col_batch *b = NULL;
    st = pq_reader_next(r, &b, err);
    if (st || !b) break;
    const col_schema *fs = b->schema;
    for (int i = 0; i < s->ncols && !st; i++) {
      if (want && !want[i]) {
        st = col_append_nulls(&out->cols[i], b->length, err);
        continue;
      }
      int k = col_schema_find_id(fs, s->cols->fields[i].id);
      if (k >= 0)
        st = tbl_col_convert(&out->cols[i], &b->cols[k], 0, b->length, err);
      else
        st = tbl_col_default(&out->cols[i], s->fcols[i].initial_default,
                             b->length, err);
    }
    got += b->length;
    col_batch_free(b);
  }
  if (!st) st = col_batch_seal(out, err);
  if (!st && got != n)
    st = ferr_corrupt(err, "%s: asked for %d rows, found %lld", path, n,
                      (long long)got);
  if (st) st = ferr_prefix(err, st, "reading rows of %s", path);
  pq_reader_free(r);
  free(src.key);
  free(ids);
  return st;
}
