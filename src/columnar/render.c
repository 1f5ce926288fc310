/*
 * Batches to bytes (see render.h). One code path per format works on an
 * "output batch": the projected columns of the input, either borrowed
 * (struct copies of the input's col_column, never freed here) or, when a
 * key filter drops rows, copied range by range into a reused batch.
 */
#include "columnar/render.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "columnar/arrow.h"
#include "columnar/ipc.h"
#include "columnar/text.h"
#include "parquet/parquet.h"

#define RENDER_CHUNK_DEFAULT ((size_t)256 << 10)

static const char *const format_names[] = {NULL, "arrow", "csv", "jsonl",
                                           "parquet"};

int col_format_parse(const char *s) {
  for (int f = 1; s && f <= COL_FMT_MAX; f++)
    if (strcmp(s, format_names[f]) == 0) return f;
  return -1;
}

const char *col_format_name(col_format f) {
  return f >= 1 && f <= COL_FMT_MAX ? format_names[f] : "unknown";
}

/* ---- text fields ---- */

floe_status col_csv_put_field(fbuf *out, const char *s, size_t n,
                              floe_error *err) {
  bool quote = n == 0 || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' ||
               s[n - 1] == '\t';
  size_t quotes = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '"') quotes++;
    if (c == ',' || c == '"' || c == '\r' || c == '\n') quote = true;
  }
  if (!quote) return fbuf_append(out, s, n, err);
  FLOE_TRY(fbuf_reserve(out, n + quotes + 2, err));
  uint8_t *d = out->data + out->len;
  *d++ = '"';
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') *d++ = '"';
    *d++ = (uint8_t)s[i];
  }
  *d++ = '"';
  out->len = (size_t)(d - out->data);
  return FLOE_OK;
}

floe_status col_json_put_string(fbuf *out, const char *s, size_t n,
                                floe_error *err) {
  static const char hex[] = "0123456789abcdef";
  FLOE_TRY(fbuf_put_u8(out, '"', err));
  size_t run = 0; /* bytes that need no escape, copied in one go */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    FLOE_TRY(fbuf_append(out, s + run, i - run, err));
    run = i + 1;
    char esc[6] = {'\\', 0, 0, 0, 0, 0};
    size_t en = 2;
    switch (c) {
    case '"': esc[1] = '"'; break;
    case '\\': esc[1] = '\\'; break;
    case '\n': esc[1] = 'n'; break;
    case '\r': esc[1] = 'r'; break;
    case '\t': esc[1] = 't'; break;
    case '\b': esc[1] = 'b'; break;
    case '\f': esc[1] = 'f'; break;
    default:
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      en = 6;
    }
    FLOE_TRY(fbuf_append(out, esc, en, err));
  }
  FLOE_TRY(fbuf_append(out, s + run, n - run, err));
  return fbuf_put_u8(out, '"', err);
}

/* ---- the renderer ---- */

struct col_render {
  col_format fmt;
  col_schema *in;  /* input schema (a reference) */
  col_schema *out; /* output schema (a reference; == in without projection) */
  int *idx;        /* output column k is input column idx[k] */
  int n;
  col_column *view; /* n borrowed column structs for the output batch */
  /* key filter */
  int nkeys;
  int *key_idx;         /* input column of each key */
  col_column *key_vals; /* one-row columns holding the wanted values */
  col_batch *kept;      /* rows that passed, output schema (owned) */

  col_write_fn write;
  void *ctx;
  size_t chunk;
  fbuf buf;      /* output not yet handed to the sink */
  fbuf val;      /* one CSV value's text */
  pq_writer *pq; /* parquet only */
  int64_t rows;
  uint64_t bytes;
  bool failed; /* a sink or writer failure: nothing more may be written */
  bool finished;
};

static floe_status sink(col_render *r, floe_error *err) {
  if (!r->buf.len) return FLOE_OK;
  floe_status st = r->write(r->ctx, r->buf.data, r->buf.len, err);
  if (st) {
    r->failed = true;
    return st;
  }
  r->bytes += r->buf.len;
  fbuf_reset(&r->buf);
  return FLOE_OK;
}

static floe_status maybe_sink(col_render *r, floe_error *err) {
  return r->buf.len >= r->chunk ? sink(r, err) : FLOE_OK;
}

/* The Parquet writer's bytes go through the same buffer. */
static floe_status pq_to_buf(void *ctx, const void *p, size_t n,
                             floe_error *err) {
  col_render *r = ctx;
  FLOE_TRY(fbuf_append(&r->buf, p, n, err));
  return maybe_sink(r, err);
}

static floe_status csv_header(col_render *r, floe_error *err) {
  const col_schema *s = r->out;
  for (int k = 0; k < s->nfields; k++) {
    const char *name = s->fields[k].name;
    if (k) FLOE_TRY(fbuf_put_u8(&r->buf, ',', err));
    FLOE_TRY(col_csv_put_field(&r->buf, name, strlen(name), err));
  }
  return fbuf_put_u8(&r->buf, '\n', err);
}

/* Columnar: the column types are fixed per render, the row loop is the
 * formatting itself (text forms are per value by nature). */
static floe_status text_rows(col_render *r, const col_batch *b,
                             floe_error *err) {
  const col_schema *s = r->out;
  fbuf *out = &r->buf;
  bool json = r->fmt == COL_FMT_JSONL;
  for (int64_t i = 0; i < b->length; i++) {
    if (json) FLOE_TRY(fbuf_put_u8(out, '{', err));
    for (int k = 0; k < s->nfields; k++) {
      const col_column *c = &b->cols[k];
      if (json) {
        const char *name = s->fields[k].name;
        if (k) FLOE_TRY(fbuf_put_u8(out, ',', err));
        FLOE_TRY(col_json_put_string(out, name, strlen(name), err));
        FLOE_TRY(fbuf_put_u8(out, ':', err));
        if (!col_is_valid(c, i))
          FLOE_TRY(fbuf_append(out, "null", 4, err));
        else
          FLOE_TRY(col_text_format(c, i, true, out, err));
      } else {
        if (k) FLOE_TRY(fbuf_put_u8(out, ',', err));
        if (!col_is_valid(c, i)) continue;
        fbuf_reset(&r->val);
        FLOE_TRY(col_text_format(c, i, false, &r->val, err));
        FLOE_TRY(
            col_csv_put_field(out, (const char *)r->val.data, r->val.len, err));
      }
    }
    if (json) FLOE_TRY(fbuf_put_u8(out, '}', err));
    FLOE_TRY(fbuf_put_u8(out, '\n', err));
    FLOE_TRY(maybe_sink(r, err));
  }
  return FLOE_OK;
}

/* Input column i by name; fails naming the column and what exists. */
static floe_status find_column(const col_schema *s, const char *name, int *i,
                               floe_error *err) {
  *i = col_schema_find(s, name);
  if (*i >= 0) return FLOE_OK;
  char list[256];
  size_t o = 0;
  list[0] = '\0';
  for (int k = 0; k < s->nfields && o < sizeof list - 8; k++) {
    int w = snprintf(list + o, sizeof list - o, "%s%s", k ? ", " : "",
                     s->fields[k].name);
    if (w < 0 || (size_t)w >= sizeof list - o) {
      snprintf(list + o, sizeof list - o, ", ...");
      break;
    }
    o += (size_t)w;
  }
  return ferr_set(err, FLOE_ENOTFOUND, "no column '%s' (the columns are: %s)",
                  name, list);
}

static floe_status setup_projection(col_render *r, const col_render_opts *o,
                                    floe_error *err) {
  const col_schema *s = r->in;
  int n = o->columns && o->ncolumns > 0 ? o->ncolumns : s->nfields;
  r->n = n;
  r->idx = malloc((size_t)(n ? n : 1) * sizeof *r->idx);
  r->view = calloc((size_t)(n ? n : 1), sizeof *r->view);
  if (!r->idx || !r->view) return ferr_nomem(err, (size_t)n * sizeof *r->view);
  if (!(o->columns && o->ncolumns > 0)) {
    for (int k = 0; k < n; k++) r->idx[k] = k;
    r->out = col_schema_ref(r->in);
    return FLOE_OK;
  }
  col_field *f = malloc((size_t)n * sizeof *f);
  if (!f) return ferr_nomem(err, (size_t)n * sizeof *f);
  floe_status st = FLOE_OK;
  for (int k = 0; k < n && !st; k++) {
    st = find_column(s, o->columns[k], &r->idx[k], err);
    for (int j = 0; j < k && !st; j++)
      if (r->idx[j] == r->idx[k])
        st = ferr_set(err, FLOE_EINVAL, "column '%s' is named twice",
                      o->columns[k]);
    if (!st) f[k] = s->fields[r->idx[k]];
  }
  if (!st) st = col_schema_new(f, n, &r->out, err);
  free(f);
  return st;
}

static floe_status setup_keys(col_render *r, const col_render_opts *o,
                              floe_error *err) {
  if (!o->keys || o->nkeys <= 0) return FLOE_OK;
  int n = o->nkeys;
  r->key_idx = malloc((size_t)n * sizeof *r->key_idx);
  r->key_vals = calloc((size_t)n, sizeof *r->key_vals);
  if (!r->key_idx || !r->key_vals)
    return ferr_nomem(err, (size_t)n * sizeof *r->key_vals);
  for (int k = 0; k < n; k++) {
    const col_key_eq *q = &o->keys[k];
    FLOE_TRY(find_column(r->in, q->column, &r->key_idx[k], err));
    const col_field *f = &r->in->fields[r->key_idx[k]];
    if (f->type.id == COL_LIST)
      return ferr_set(err, FLOE_EUNSUPPORTED,
                      "key column '%s' is a list: lists cannot be matched",
                      q->column);
    FLOE_TRY(col_init(&r->key_vals[k], f->type, err));
    r->nkeys = k + 1; /* key_vals[0..nkeys) are initialised */
    floe_error e2;
    if (col_text_append(&r->key_vals[k], q->value, strlen(q->value), &e2))
      return ferr_set(err, FLOE_EINVAL, "key %s=%s: %s", q->column, q->value,
                      e2.msg);
  }
  return col_batch_new(r->out, &r->kept, err);
}

floe_status col_render_open(col_schema *schema, const col_render_opts *o,
                            col_write_fn write, void *ctx, col_render **out,
                            floe_error *err) {
  *out = NULL;
  if (o->format < 1 || o->format > COL_FMT_MAX)
    return ferr_set(err, FLOE_EINVAL, "unknown output format %d",
                    (int)o->format);
  col_render *r = calloc(1, sizeof *r);
  if (!r) return ferr_nomem(err, sizeof *r);
  r->fmt = o->format;
  r->in = col_schema_ref(schema);
  r->write = write;
  r->ctx = ctx;
  r->chunk = o->chunk_bytes ? o->chunk_bytes : RENDER_CHUNK_DEFAULT;
  floe_status st = setup_projection(r, o, err);
  if (!st) st = setup_keys(r, o, err);
  if (!st) {
    switch (r->fmt) {
    case COL_FMT_CSV: st = csv_header(r, err); break;
    case COL_FMT_JSONL: break;
    case COL_FMT_ARROW: st = col_ipc_schema(r->out, &r->buf, err); break;
    case COL_FMT_PARQUET: {
      pq_sink ps = {pq_to_buf, r};
      st = pq_writer_open(r->out, o->parquet, ps, &r->pq, err);
      break;
    }
    }
  }
  if (st) {
    col_render_free(r);
    return st;
  }
  *out = r;
  return FLOE_OK;
}

const col_schema *col_render_schema(const col_render *r) { return r->out; }
int64_t col_render_rows(const col_render *r) { return r->rows; }
uint64_t col_render_bytes(const col_render *r) { return r->bytes; }

void col_render_free(col_render *r) {
  if (!r) return;
  for (int k = 0; k < r->nkeys; k++) col_free(&r->key_vals[k]);
  free(r->key_vals);
  free(r->key_idx);
  col_batch_free(r->kept);
  pq_writer_free(r->pq);
  free(r->idx);
  free(r->view);
  fbuf_free(&r->buf);
  fbuf_free(&r->val);
  col_schema_unref(r->out);
  col_schema_unref(r->in);
  free(r);
}

static bool same_fields(const col_schema *a, const col_schema *b) {
  if (a == b) return true;
  if (a->nfields != b->nfields) return false;
  for (int i = 0; i < a->nfields; i++) {
    const col_field *x = &a->fields[i], *y = &b->fields[i];
    if (strcmp(x->name, y->name) != 0 || x->type.id != y->type.id ||
        x->type.precision != y->type.precision ||
        x->type.scale != y->type.scale || x->type.elem != y->type.elem ||
        x->type.elem_precision != y->type.elem_precision ||
        x->type.elem_scale != y->type.elem_scale)
      return false;
  }
  return true;
}

static bool row_matches(const col_render *r, const col_batch *b, int64_t i) {
  for (int k = 0; k < r->nkeys; k++)
    if (!col_is_valid(&b->cols[r->key_idx[k]], i) ||
        !col_value_equal(&b->cols[r->key_idx[k]], i, &r->key_vals[k], 0))
      return false;
  return true;
}

/* Copies the runs of rows that match the keys into r->kept. */
static floe_status filter(col_render *r, const col_batch *b, floe_error *err) {
  col_batch_clear(r->kept);
  for (int64_t i = 0; i < b->length;) {
    if (!row_matches(r, b, i)) {
      i++;
      continue;
    }
    int64_t from = i;
    while (i < b->length && row_matches(r, b, i)) i++;
    for (int k = 0; k < r->n; k++)
      FLOE_TRY(col_append_range(&r->kept->cols[k], &b->cols[r->idx[k]], from,
                                i - from, err));
  }
  r->kept->length = r->n ? r->kept->cols[0].length : 0;
  return FLOE_OK;
}

floe_status col_render_batch(col_render *r, const col_batch *b,
                             floe_error *err) {
  if (r->failed || r->finished)
    return ferr_set(err, FLOE_EINVAL, "render: batch after the output %s",
                    r->finished ? "was finished" : "failed");
  if (!same_fields(b->schema, r->in))
    return ferr_set(err, FLOE_EINVAL,
                    "render: the batch's columns are not the stream's");
  col_batch view = {r->out, b->length, r->view};
  const col_batch *ob = &view;
  if (r->nkeys) {
    FLOE_TRY(filter(r, b, err));
    ob = r->kept;
  } else {
    for (int k = 0; k < r->n; k++) r->view[k] = b->cols[r->idx[k]];
  }
  if (ob->length == 0) return FLOE_OK;
  floe_status st = FLOE_OK;
  switch (r->fmt) {
  case COL_FMT_CSV:
  case COL_FMT_JSONL: st = text_rows(r, ob, err); break;
  case COL_FMT_ARROW:
    st = col_ipc_batch(ob, &r->buf, err);
    if (!st) st = maybe_sink(r, err);
    break;
  case COL_FMT_PARQUET: st = pq_writer_write(r->pq, ob, err); break;
  }
  if (st) {
    r->failed = true;
    return st;
  }
  r->rows += ob->length;
  return FLOE_OK;
}

floe_status col_render_finish(col_render *r, floe_error *err) {
  if (r->failed || r->finished)
    return ferr_set(err, FLOE_EINVAL, "render: finish after the output %s",
                    r->finished ? "was finished" : "failed");
  r->finished = true;
  floe_status st = FLOE_OK;
  if (r->fmt == COL_FMT_ARROW) st = col_ipc_eos(&r->buf, err);
  if (r->fmt == COL_FMT_PARQUET) st = pq_writer_close(r->pq, NULL, err);
  if (!st) st = sink(r, err);
  if (st) r->failed = true;
  return st;
}

/* ---- Arrow C data in ---- */

static floe_status bad_format(const char *fmt, const char *name,
                              floe_error *err) {
  return ferr_set(err, FLOE_EUNSUPPORTED,
                  "arrow import: column '%s' has type '%s', which floe does "
                  "not read",
                  name ? name : "", fmt ? fmt : "(null)");
}

static floe_status parse_type(const struct ArrowSchema *s, col_type *id,
                              int *prec, int *scale, floe_error *err) {
  const char *f = s->format ? s->format : "";
  *prec = *scale = 0;
  static const struct {
    const char *fmt;
    col_type id;
  } simple[] = {{"b", COL_BOOL},   {"s", COL_INT16},        {"i", COL_INT32},
                {"l", COL_INT64},  {"f", COL_FLOAT32},      {"g", COL_FLOAT64},
                {"u", COL_UTF8},   {"z", COL_BINARY},       {"tdD", COL_DATE},
                {"ttu", COL_TIME}, {"tsu:", COL_TIMESTAMP}, {"w:16", COL_UUID},
                {"+l", COL_LIST}};
  for (size_t i = 0; i < sizeof simple / sizeof *simple; i++)
    if (strcmp(f, simple[i].fmt) == 0) {
      *id = simple[i].id;
      return FLOE_OK;
    }
  if (strncmp(f, "tsu:", 4) == 0) { /* any zone: the values are UTC */
    *id = COL_TIMESTAMPTZ;
    return FLOE_OK;
  }
  int p, sc, used = 0;
  if (sscanf(f, "d:%d,%d%n", &p, &sc, &used) == 2 && f[used] == '\0' &&
      p >= 1 && p <= 38 && sc >= 0 && sc <= p) {
    *id = COL_DECIMAL;
    *prec = p;
    *scale = sc;
    return FLOE_OK;
  }
  return bad_format(f, s->name, err);
}

/* The value of metadata key (or NULL): Arrow's encoding is int32 count,
 * then int32 length + bytes for each key and value. The producer is in
 * this process, so its lengths are trusted. */
static bool metadata_int(const char *md, const char *key, int32_t *out) {
  if (!md) return false;
  int32_t n;
  memcpy(&n, md, 4);
  const char *p = md + 4;
  size_t kl = strlen(key);
  for (int32_t i = 0; i < n; i++) {
    int32_t l;
    memcpy(&l, p, 4);
    const char *k = p + 4;
    p = k + l;
    int32_t vl;
    memcpy(&vl, p, 4);
    const char *v = p + 4;
    p = v + vl;
    if ((size_t)l == kl && memcmp(k, key, kl) == 0) {
      char buf[16];
      if (vl <= 0 || vl >= (int32_t)sizeof buf) return false;
      memcpy(buf, v, (size_t)vl);
      buf[vl] = '\0';
      char *end;
      long id = strtol(buf, &end, 10);
      if (*end || id < 0 || id > INT32_MAX) return false;
      *out = (int32_t)id;
      return true;
    }
  }
  return false;
}

floe_status col_schema_import(const struct ArrowSchema *in, col_schema **out,
                              floe_error *err) {
  *out = NULL;
  if (!in || !in->release || !in->format || strcmp(in->format, "+s") != 0)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "arrow import: the stream's schema is not a struct");
  int n = (int)in->n_children;
  if (in->n_children < 0 || in->n_children > 100000)
    return ferr_set(err, FLOE_EINVAL, "arrow import: %lld columns",
                    (long long)in->n_children);
  col_field *f = calloc((size_t)(n ? n : 1), sizeof *f);
  if (!f) return ferr_nomem(err, (size_t)n * sizeof *f);
  bool ids = true;
  floe_status st = FLOE_OK;
  for (int i = 0; i < n && !st; i++) {
    const struct ArrowSchema *c = in->children[i];
    col_type id;
    int p, s;
    st = parse_type(c, &id, &p, &s, err);
    if (st) break;
    f[i].name = (char *)(c->name ? c->name : "");
    f[i].nullable = (c->flags & ARROW_FLAG_NULLABLE) != 0;
    f[i].type.id = id;
    f[i].type.precision = (uint8_t)p;
    f[i].type.scale = (uint8_t)s;
    if (!metadata_int(c->metadata, "PARQUET:field_id", &f[i].id)) ids = false;
    if (id == COL_LIST) {
      if (c->n_children != 1) {
        st = ferr_set(err, FLOE_EINVAL,
                      "arrow import: list '%s' without one "
                      "child",
                      f[i].name);
        break;
      }
      const struct ArrowSchema *e = c->children[0];
      col_type eid;
      st = parse_type(e, &eid, &p, &s, err);
      if (!st && eid == COL_LIST) st = bad_format(e->format, f[i].name, err);
      if (st) break;
      f[i].type.elem = eid;
      f[i].type.elem_precision = (uint8_t)p;
      f[i].type.elem_scale = (uint8_t)s;
      f[i].elem_nullable = (e->flags & ARROW_FLAG_NULLABLE) != 0;
      if (!metadata_int(e->metadata, "PARQUET:field_id", &f[i].elem_id))
        ids = false;
    }
  }
  if (!st && !ids) { /* Iceberg's numbering: columns, then list elements */
    int32_t next = n + 1;
    for (int i = 0; i < n; i++) {
      f[i].id = i + 1;
      if (f[i].type.id == COL_LIST) f[i].elem_id = next++;
    }
  }
  if (!st) st = col_schema_new(f, n, out, err);
  free(f);
  return st;
}

/* Views of one imported batch. Columns point into the arrays' buffers;
 * validity bitmaps an array left out (no nulls) are made in valid[]. */
typedef struct import {
  col_column *cols;     /* nfields views */
  col_column *children; /* nfields list element views */
  col_column *copies;   /* nfields: owned copies of columns with an offset */
  fbuf *valid;          /* 2 * nfields made-up validity bitmaps */
  int nfields;
} import;

static floe_status all_valid(fbuf *b, int64_t n, floe_error *err) {
  size_t bytes = ((size_t)n + 7) / 8;
  fbuf_reset(b);
  FLOE_TRY(fbuf_reserve(b, bytes ? bytes : 1, err));
  memset(b->data, 0xFF, bytes);
  if (n & 7) b->data[bytes - 1] = (uint8_t)((1u << (n & 7)) - 1);
  b->len = bytes;
  return FLOE_OK;
}

static int64_t count_nulls(const uint8_t *v, int64_t n) {
  int64_t valid = 0;
  for (int64_t i = 0; i < n; i++) valid += (v[i >> 3] >> (i & 7)) & 1;
  return n - valid;
}

/* A view of array a (length a->offset + a->length, so offsets inside the
 * buffers stay right) as a column of type t. */
static floe_status view_array(const struct ArrowArray *a, col_dtype t,
                              col_column *v, col_column *child, fbuf *valid,
                              fbuf *child_valid, const char *name,
                              floe_error *err) {
  int64_t len = a->offset + a->length;
  int want = t.id == COL_UTF8 || t.id == COL_BINARY ? 3 : 2;
  if (a->n_buffers != want || (t.id == COL_LIST) != (a->n_children == 1) ||
      a->length < 0 || a->offset < 0)
    return ferr_set(err, FLOE_EINVAL,
                    "arrow import: column '%s': %lld buffers, %lld children "
                    "do not fit its type",
                    name, (long long)a->n_buffers, (long long)a->n_children);
  memset(v, 0, sizeof *v);
  v->type = t;
  v->length = len;
  size_t bits = ((size_t)len + 7) / 8;
  if (a->buffers[0]) {
    v->validity.data = (uint8_t *)a->buffers[0];
    v->validity.len = bits;
    v->null_count = a->null_count >= 0 && a->offset == 0
                        ? a->null_count
                        : count_nulls(v->validity.data, len);
  } else {
    FLOE_TRY(all_valid(valid, len, err));
    v->validity.data = valid->data;
    v->validity.len = bits;
  }
  const uint8_t *b1 = a->buffers[1];
  switch (t.id) {
  case COL_BOOL:
    v->values.data = (uint8_t *)b1;
    v->values.len = bits;
    break;
  case COL_UTF8:
  case COL_BINARY:
  case COL_LIST: {
    v->offsets.data = (uint8_t *)b1;
    v->offsets.len = ((size_t)len + 1) * 4;
    int32_t end = 0;
    if (b1) memcpy(&end, b1 + (size_t)len * 4, 4);
    if (t.id != COL_LIST) {
      v->values.data = (uint8_t *)a->buffers[2];
      v->values.len = (size_t)end;
      break;
    }
    const struct ArrowArray *e = a->children[0];
    if (e->offset != 0)
      return ferr_set(err, FLOE_EUNSUPPORTED,
                      "arrow import: list '%s' whose elements have an offset",
                      name);
    FLOE_TRY(view_array(e, col_dtype_elem(t), child, NULL, child_valid, NULL,
                        name, err));
    v->child = child;
    break;
  }
  default:
    v->values.data = (uint8_t *)b1;
    v->values.len = (size_t)len * (size_t)col_type_width(t.id);
  }
  return FLOE_OK;
}

/* Renders one struct array of the stream. */
static floe_status import_batch(col_render *r, import *im,
                                const struct ArrowArray *a, floe_error *err) {
  const col_schema *s = r->in;
  if (a->n_children != s->nfields || a->length < 0)
    return ferr_set(err, FLOE_EINVAL,
                    "arrow import: a batch of %lld columns in a stream of %d",
                    (long long)a->n_children, s->nfields);
  for (int i = 0; i < s->nfields; i++) {
    const struct ArrowArray *c = a->children[i];
    struct ArrowArray shifted = *c;
    shifted.offset += a->offset; /* a struct's offset applies to its fields */
    shifted.length = a->length;
    col_column *v = &im->cols[i];
    FLOE_TRY(view_array(&shifted, s->fields[i].type, v, &im->children[i],
                        &im->valid[2 * i], &im->valid[2 * i + 1],
                        s->fields[i].name, err));
    if (shifted.offset) { /* copy the rows out: views cannot start mid-byte */
      col_column *cp = &im->copies[i];
      col_clear(cp);
      FLOE_TRY(col_append_range(cp, v, shifted.offset, a->length, err));
      im->cols[i] = *cp; /* borrowed again: copies[i] keeps ownership */
    }
  }
  col_batch b = {r->in, a->length, im->cols};
  return col_render_batch(r, &b, err);
}

static floe_status stream_error(struct ArrowArrayStream *in, int rc,
                                const char *what, floe_error *err) {
  const char *m = in->get_last_error ? in->get_last_error(in) : NULL;
  return ferr_set(err, rc == ENOMEM ? FLOE_ENOMEM : FLOE_EIO,
                  "arrow stream: %s failed: %s", what, m ? m : strerror(rc));
}

struct col_stream_render {
  struct ArrowArrayStream *in; /* &moved: released at free */
  struct ArrowArrayStream moved;
  col_schema *schema;
  col_render *r;
import im;
  bool done;
};

void col_stream_render_free(col_stream_render *sr) {
  if (!sr) return;
  import *im = &sr->im;
  for (int i = 0; im->copies && i < im->nfields; i++) col_free(&im->copies[i]);
  for (int i = 0; im->valid && i < 2 * im->nfields; i++)
    fbuf_free(&im->valid[i]);
  free(im->cols);
  free(im->children);
  free(im->copies);
  free(im->valid);
  col_render_free(sr->r);
  col_schema_unref(sr->schema);
  if (sr->in->release) sr->in->release(sr->in);
  free(sr);
}

floe_status col_stream_render_open(struct ArrowArrayStream *in,
                                   const col_render_opts *opts,
                                   col_write_fn write, void *ctx,
                                   col_stream_render **out, floe_error *err) {
  *out = NULL;
  col_stream_render *sr = calloc(1, sizeof *sr);
  if (!sr) {
    in->release(in);
    return ferr_nomem(err, sizeof *sr);
  }
  /* moved in (the Arrow way: the caller's struct is left released), so the
   * caller's struct may be a local that goes out of scope */
  sr->moved = *in;
  in->release = NULL;
  sr->in = &sr->moved;
  in = sr->in;
  struct ArrowSchema as;
  memset(&as, 0, sizeof as);
  floe_status st = FLOE_OK;
  int rc = in->get_schema(in, &as);
  if (rc) st = stream_error(in, rc, "get_schema", err);
  if (!st) st = col_schema_import(&as, &sr->schema, err);
  if (as.release) as.release(&as);
  if (!st) st = col_render_open(sr->schema, opts, write, ctx, &sr->r, err);
  import *im = &sr->im;
  if (!st) {
    int n = sr->schema->nfields ? sr->schema->nfields : 1;
    im->nfields = sr->schema->nfields;
    im->cols = calloc((size_t)n, sizeof *im->cols);
    im->children = calloc((size_t)n, sizeof *im->children);
    im->copies = calloc((size_t)n, sizeof *im->copies);
    im->valid = calloc(2 * (size_t)n, sizeof *im->valid);
    if (!im->cols || !im->children || !im->copies || !im->valid)
      st = ferr_nomem(err, 5 * (size_t)n * sizeof *im->cols);
    /* copies[] are initialised one by one: nfields counts the ready ones */
    im->nfields = 0;
    for (int i = 0; i < sr->schema->nfields && !st; i++) {
      st = col_init(&im->copies[i], sr->schema->fields[i].type, err);
      if (!st) im->nfields = i + 1;
    }
  }
  if (st) {
    col_stream_render_free(sr);
    return st;
  }
  *out = sr;
  return FLOE_OK;
}

floe_status col_stream_render_step(col_stream_render *sr, bool *done,
                                   floe_error *err) {
  *done = sr->done;
  if (sr->done) return FLOE_OK;
  struct ArrowArray a;
  memset(&a, 0, sizeof a);
  int rc = sr->in->get_next(sr->in, &a);
  if (rc) return stream_error(sr->in, rc, "get_next", err);
  if (!a.release) { /* the end */
    sr->done = *done = true;
    return col_render_finish(sr->r, err);
  }
  floe_status st = import_batch(sr->r, &sr->im, &a, err);
  a.release(&a);
  return st;
}

col_render *col_stream_render_renderer(col_stream_render *sr) { return sr->r; }

floe_status col_render_stream(struct ArrowArrayStream *in,
                              const col_render_opts *opts, col_write_fn write,
                              void *ctx, int64_t *rows, floe_error *err) {
  if (rows) *rows = 0;
  col_stream_render *sr = NULL;
  FLOE_TRY(col_stream_render_open(in, opts, write, ctx, &sr, err));
  bool done = false;
  floe_status st = FLOE_OK;
  while (!st && !done) st = col_stream_render_step(sr, &done, err);
  if (!st && rows) *rows = col_render_rows(sr->r);
  col_stream_render_free(sr);
  return st;
}
