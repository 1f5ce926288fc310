/*
 * Parquet writer. Rows are staged per column (col_append_range into one
 * staging column per field) until the staged bytes reach the row group
 * target; a flush then encodes each column chunk in columnar passes:
 *
 *   1. levels (lists only: one pass over the offsets),
 *   2. the PLAIN bytes of all non-null values (fixed width; skipped when the
 *      staged buffer already is that), statistics over them,
 *   3. a dictionary attempt over the same values, kept only if it is within
 *      dict_max_bytes and smaller than PLAIN,
 *   4. pages of ~page_bytes: levels + values, compressed, written.
 *
 * Buffers (staging, PLAIN bytes, indices, page and compression buffers, the
 * dictionary table, the zstd context) live as long as the writer and are
 * reused by every chunk and page, so steady-state writing does not allocate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/codec.h"
#include "parquet/encode.h"
#include "parquet/format.h"
#include "parquet/parquet.h"
#include "parquet/stats.h"
#include "parquet/thrift_write.h"

#define DEFAULT_ROW_GROUP_BYTES (64 << 20)
#define DEFAULT_PAGE_BYTES (1 << 20)
#define DEFAULT_DICT_BYTES (1 << 20)
/* Staged var-width bytes must stay below int32 offsets' 2 GiB. */
#define MAX_ROW_GROUP_BYTES ((int64_t)1 << 30)
/* Parquet's max_value/min_value are omitted for longer byte strings: they
 * bloat every footer read for little pruning value. */
#define STATS_MAX_BYTES 64
/* Page headers count values in int32; stay far below. */
#define MAX_PAGE_ROWS ((int64_t)1 << 26)

typedef struct pq_leaf {
  col_dtype vt;    /* scalar type of the values */
  bool list;       /* field is list<vt> */
  int ptype;       /* physical type */
  int type_length; /* FIXED_LEN_BYTE_ARRAY length */
  int width;       /* PLAIN bytes per value; 0 for bool and byte arrays */
  int max_def, max_rep;
  pq_stat_kind kind;
  int32_t field_id; /* the leaf's id (list: elem_id) */
  /* file-wide totals for pq_file_metrics */
  pq_stats file_stats;
  int64_t column_size, value_count;
} pq_leaf;

typedef struct pq_chunk_meta {
  int64_t num_values, null_count, nan_count;
  int64_t uncompressed, compressed; /* pages incl. headers */
  int64_t first_offset, data_page_offset, dict_page_offset; /* -1: none */
  bool dict, plain;
  bool has_minmax;
  size_t min_off, min_len, max_off, max_len; /* into statbytes */
} pq_chunk_meta;

typedef struct pq_rg_meta {
  int64_t num_rows, total_bytes, total_compressed, file_offset;
} pq_rg_meta;

struct pq_writer {
  col_schema *schema; /* holds a reference */
  pq_writer_opts opts;
  pq_sink sink;
  char created_by[128];
  int nleaves;
  pq_leaf *leaves;
  col_column *stage; /* one per field */
  int64_t stage_rows;
  int64_t offset; /* bytes handed to the sink so far */
  int64_t num_rows;
  bool closed, broken;
  int nrg, caprg;
  pq_rg_meta *rgs;
  pq_chunk_meta *chunks; /* nrg * nleaves */
  fbuf statbytes;
  pq_stats cstats; /* the current chunk's */
  /* scratch, reused across chunks and pages */
  fbuf plain, idx, def, rep, lvl8, body, vals, comp, hdr;
  pq_dict dict;
  void *zctx;
};

/* ---- options and sinks ---- */

void pq_writer_opts_default(pq_writer_opts *o) {
  memset(o, 0, sizeof *o);
  o->codec = PQ_CODEC_ZSTD;
  o->row_group_bytes = DEFAULT_ROW_GROUP_BYTES;
  o->page_bytes = DEFAULT_PAGE_BYTES;
  o->dict_max_bytes = DEFAULT_DICT_BYTES;
}

floe_status pq_sink_file_write(void *ctx, const void *p, size_t n,
                               floe_error *err) {
  if (n && fwrite(p, 1, n, (FILE *)ctx) != n)
    return ferr_set(err, FLOE_EIO, "parquet: writing %zu bytes failed", n);
  return FLOE_OK;
}

floe_status pq_sink_buf_write(void *ctx, const void *p, size_t n,
                              floe_error *err) {
  return fbuf_append((fbuf *)ctx, p, n, err);
}

void pq_file_metrics_free(pq_file_metrics *m) {
  if (!m) return;
  for (int i = 0; i < m->ncolumns; i++) {
    fbuf_free(&m->columns[i].lower);
    fbuf_free(&m->columns[i].upper);
  }
  free(m->columns);
  free(m->split_offsets);
  memset(m, 0, sizeof *m);
}

/* ---- schema mapping ---- */

/* Fewest bytes whose two's complement holds 10^p - 1. */
static int decimal_flba_len(int p) {
  /* 10^p - 1 < 2^(8n-1)  <=>  p * log2(10) < 8n - 1 (10^p is never a power
   * of two, so the float comparison cannot tie) */
  int n = 1;
  while ((double)p * 3.321928094887362 >= 8.0 * n - 1) n++;
  return n;
}

static void leaf_physical(pq_leaf *lf) {
  col_dtype t = lf->vt;
  lf->type_length = 0;
  switch (t.id) {
  case COL_BOOL:
    lf->ptype = PQT_BOOLEAN;
    lf->width = 0;
    lf->kind = PQS_BOOL;
    return;
  case COL_INT16:
  case COL_INT32:
  case COL_DATE:
    lf->ptype = PQT_INT32;
    lf->width = 4;
    lf->kind = PQS_I32;
    return;
  case COL_INT64:
  case COL_TIME:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ:
    lf->ptype = PQT_INT64;
    lf->width = 8;
    lf->kind = PQS_I64;
    return;
  case COL_FLOAT32:
    lf->ptype = PQT_FLOAT;
    lf->width = 4;
    lf->kind = PQS_F32;
    return;
  case COL_FLOAT64:
    lf->ptype = PQT_DOUBLE;
    lf->width = 8;
    lf->kind = PQS_F64;
    return;
  case COL_DECIMAL:
    if (t.precision <= 9) {
      lf->ptype = PQT_INT32;
      lf->width = 4;
      lf->kind = PQS_I32;
    } else if (t.precision <= 18) {
      lf->ptype = PQT_INT64;
      lf->width = 8;
      lf->kind = PQS_I64;
    } else {
      lf->ptype = PQT_FIXED_LEN_BYTE_ARRAY;
      lf->width = lf->type_length = decimal_flba_len(t.precision);
      lf->kind = PQS_DEC_BE;
    }
    return;
  case COL_UUID:
    lf->ptype = PQT_FIXED_LEN_BYTE_ARRAY;
    lf->width = lf->type_length = 16;
    lf->kind = PQS_BYTES;
    return;
  case COL_UTF8:
  case COL_BINARY:
  default:
    lf->ptype = PQT_BYTE_ARRAY;
    lf->width = 0;
    lf->kind = PQS_BYTES;
    return;
  }
}

static void put_time_unit_micros(tc_writer *t) {
  tc_field_struct_begin(t, 2); /* unit: TimeUnit */
  tc_field_struct_begin(t, PQU_MICROS);
  tc_struct_end(t);
  tc_struct_end(t);
}

/* One SchemaElement for a leaf of scalar type vt. */
static void put_leaf_element(tc_writer *t, const pq_leaf *lf, const char *name,
                             bool nullable, int32_t field_id) {
  col_dtype vt = lf->vt;
  tc_struct_begin(t);
  tc_field_i32(t, 1, lf->ptype);
  if (lf->type_length) tc_field_i32(t, 2, lf->type_length);
  tc_field_i32(t, 3, nullable ? PQR_OPTIONAL : PQR_REQUIRED);
  tc_field_string(t, 4, name);
  switch (vt.id) {
  case COL_INT16: tc_field_i32(t, 6, PQCT_INT_16); break;
  case COL_DECIMAL:
    tc_field_i32(t, 6, PQCT_DECIMAL);
    tc_field_i32(t, 7, vt.scale);
    tc_field_i32(t, 8, vt.precision);
    break;
  case COL_UTF8: tc_field_i32(t, 6, PQCT_UTF8); break;
  case COL_DATE: tc_field_i32(t, 6, PQCT_DATE); break;
  case COL_TIMESTAMPTZ: tc_field_i32(t, 6, PQCT_TIMESTAMP_MICROS); break;
  default: break;
  }
  tc_field_i32(t, 9, field_id);
  bool logical = true;
  switch (vt.id) {
  case COL_INT16:
  case COL_DECIMAL:
  case COL_UTF8:
  case COL_DATE:
  case COL_TIME:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ:
  case COL_UUID: break;
  default: logical = false;
  }
  if (logical) {
    tc_field_struct_begin(t, 10);
    switch (vt.id) {
    case COL_INT16:
      tc_field_struct_begin(t, PQL_INTEGER);
      tc_field_i8(t, 1, 16);
      tc_field_bool(t, 2, true);
      tc_struct_end(t);
      break;
    case COL_DECIMAL:
      tc_field_struct_begin(t, PQL_DECIMAL);
      tc_field_i32(t, 1, vt.scale);
      tc_field_i32(t, 2, vt.precision);
      tc_struct_end(t);
      break;
    case COL_UTF8:
      tc_field_struct_begin(t, PQL_STRING);
      tc_struct_end(t);
      break;
    case COL_DATE:
      tc_field_struct_begin(t, PQL_DATE);
      tc_struct_end(t);
      break;
    case COL_TIME:
    case COL_TIMESTAMP:
    case COL_TIMESTAMPTZ:
      tc_field_struct_begin(t, vt.id == COL_TIME ? PQL_TIME : PQL_TIMESTAMP);
      tc_field_bool(t, 1, vt.id == COL_TIMESTAMPTZ);
      put_time_unit_micros(t);
      tc_struct_end(t);
      break;
    case COL_UUID:
      tc_field_struct_begin(t, PQL_UUID);
      tc_struct_end(t);
      break;
    default: break;
    }
    tc_struct_end(t);
  }
  tc_struct_end(t);
}

static size_t schema_element_count(const col_schema *s) {
  size_t n = 1;
  for (int i = 0; i < s->nfields; i++)
    n += s->fields[i].type.id == COL_LIST ? 3 : 1;
  return n;
}

static void put_schema(tc_writer *t, const pq_writer *w) {
  const col_schema *s = w->schema;
  tc_field_list_begin(t, 2, TC_STRUCT, schema_element_count(s));
  tc_struct_begin(t);
  tc_field_string(t, 4, "schema");
  tc_field_i32(t, 5, s->nfields);
  tc_struct_end(t);
  for (int i = 0; i < s->nfields; i++) {
    const col_field *f = &s->fields[i];
    const pq_leaf *lf = &w->leaves[i];
    if (!lf->list) {
      put_leaf_element(t, lf, f->name, f->nullable, f->id);
      continue;
    }
    tc_struct_begin(t); /* outer group: the field */
    tc_field_i32(t, 3, f->nullable ? PQR_OPTIONAL : PQR_REQUIRED);
    tc_field_string(t, 4, f->name);
    tc_field_i32(t, 5, 1);
    tc_field_i32(t, 6, PQCT_LIST);
    tc_field_i32(t, 9, f->id);
    tc_field_struct_begin(t, 10);
    tc_field_struct_begin(t, PQL_LIST);
    tc_struct_end(t);
    tc_struct_end(t);
    tc_struct_end(t);
    tc_struct_begin(t); /* repeated group list: no field id (as Iceberg) */
    tc_field_i32(t, 3, PQR_REPEATED);
    tc_field_string(t, 4, "list");
    tc_field_i32(t, 5, 1);
    tc_struct_end(t);
    put_leaf_element(t, lf, "element", f->elem_nullable, f->elem_id);
  }
}

/* ---- open / free ---- */

floe_status pq_writer_open(col_schema *schema, const pq_writer_opts *opts,
                           pq_sink sink, pq_writer **out, floe_error *err) {
  *out = NULL;
  if (!schema || schema->nfields < 1)
    return ferr_set(err, FLOE_EINVAL, "parquet writer: empty schema");
  if (!sink.write) return ferr_set(err, FLOE_EINVAL, "parquet writer: no sink");
  for (int i = 0; i < schema->nfields; i++) {
    const col_field *f = &schema->fields[i];
    floe_status st = col_dtype_check(f->type, err);
    if (st) return ferr_prefix(err, st, "parquet writer: field %s", f->name);
    if (!f->name || !f->name[0])
      return ferr_set(err, FLOE_EINVAL, "parquet writer: field %d unnamed", i);
  }
  pq_writer *w = calloc(1, sizeof *w);
  if (!w) return ferr_nomem(err, sizeof *w);
  w->schema = col_schema_ref(schema);
  w->sink = sink;
  if (opts)
    w->opts = *opts;
  else
    pq_writer_opts_default(&w->opts);
  pq_writer_opts *o = &w->opts;
  if (o->row_group_bytes <= 0) o->row_group_bytes = DEFAULT_ROW_GROUP_BYTES;
  if (o->row_group_bytes > MAX_ROW_GROUP_BYTES)
    o->row_group_bytes = MAX_ROW_GROUP_BYTES;
  if (o->page_bytes <= 0) o->page_bytes = DEFAULT_PAGE_BYTES;
  if (o->dict_max_bytes <= 0) o->dict_max_bytes = DEFAULT_DICT_BYTES;
  if (o->codec != PQ_CODEC_NONE && o->codec != PQ_CODEC_SNAPPY &&
      o->codec != PQ_CODEC_GZIP && o->codec != PQ_CODEC_ZSTD) {
    pq_writer_free(w);
    return ferr_set(err, FLOE_EINVAL, "parquet writer: unknown codec %d",
                    (int)o->codec);
  }
  snprintf(w->created_by, sizeof w->created_by, "%s",
           o->created_by ? o->created_by : "");
  if (!o->created_by)
    snprintf(w->created_by, sizeof w->created_by, "floe version %d.%d.%d",
             FLOE_VERSION_MAJOR, FLOE_VERSION_MINOR, FLOE_VERSION_PATCH);
  o->created_by = NULL; /* the caller's string need not outlive open */
  pq_dict_init(&w->dict);
  pq_stats_init(&w->cstats, PQS_I32);

  int n = schema->nfields;
  w->nleaves = n;
  w->leaves = calloc((size_t)n, sizeof *w->leaves);
  w->stage = calloc((size_t)n, sizeof *w->stage);
  if (!w->leaves || !w->stage) {
    pq_writer_free(w);
    return ferr_nomem(err, (size_t)n * sizeof *w->stage);
  }
  for (int i = 0; i < n; i++) {
    const col_field *f = &schema->fields[i];
    pq_leaf *lf = &w->leaves[i];
    lf->list = f->type.id == COL_LIST;
    lf->vt = lf->list ? col_dtype_elem(f->type) : f->type;
    leaf_physical(lf);
    lf->field_id = lf->list ? f->elem_id : f->id;
    lf->max_rep = lf->list ? 1 : 0;
    lf->max_def =
        (f->nullable ? 1 : 0) + (lf->list ? 1 + (f->elem_nullable ? 1 : 0) : 0);
    pq_stats_init(&lf->file_stats, lf->kind);
  }
  for (int i = 0; i < n; i++) {
    floe_status st = col_init(&w->stage[i], schema->fields[i].type, err);
    if (st) {
      /* col_free is safe on the zeroed columns not yet initialised */
      pq_writer_free(w);
      return st;
    }
  }
  if (o->codec == PQ_CODEC_ZSTD && !(w->zctx = pq_zstd_cctx_new())) {
    pq_writer_free(w);
    return ferr_set(err, FLOE_ENOMEM, "parquet writer: no zstd context");
  }
  floe_status st = sink.write(sink.ctx, PQ_MAGIC, 4, err);
  if (st) {
    pq_writer_free(w);
    return st;
  }
  w->offset = 4;
  *out = w;
  return FLOE_OK;
}

void pq_writer_free(pq_writer *w) {
  if (!w) return;
  if (w->stage)
    for (int i = 0; i < w->nleaves; i++) col_free(&w->stage[i]);
  if (w->leaves)
    for (int i = 0; i < w->nleaves; i++)
      pq_stats_free(&w->leaves[i].file_stats);
  free(w->stage);
  free(w->leaves);
  free(w->rgs);
  free(w->chunks);
  fbuf_free(&w->statbytes);
  pq_stats_free(&w->cstats);
  fbuf *bufs[] = {&w->plain, &w->idx,  &w->def,  &w->rep, &w->lvl8,
                  &w->body,  &w->vals, &w->comp, &w->hdr};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) fbuf_free(bufs[i]);
  pq_dict_free(&w->dict);
  if (w->zctx) pq_zstd_cctx_free(w->zctx);
  col_schema_unref(w->schema);
  free(w);
}

/* ---- output ---- */

static floe_status emit(pq_writer *w, const void *p, size_t n,
                        floe_error *err) {
  floe_status st = w->sink.write(w->sink.ctx, p, n, err);
  if (st) {
    w->broken = true;
    return st;
  }
  w->offset += (int64_t)n;
  return FLOE_OK;
}

/* Compresses src into w->comp (or points at src for no codec). */
static floe_status compress(pq_writer *w, const uint8_t *src, size_t n,
                            const uint8_t **out, size_t *out_len,
                            floe_error *err) {
  if (w->opts.codec == PQ_CODEC_NONE) {
    *out = src;
    *out_len = n;
    return FLOE_OK;
  }
  size_t bound = pq_codec_bound(w->opts.codec, n);
  fbuf_reset(&w->comp);
  FLOE_TRY(fbuf_reserve(&w->comp, bound, err));
  FLOE_TRY(pq_compress(w->opts.codec, w->opts.compression_level, w->zctx, src,
                       n, w->comp.data, bound, out_len, err));
  *out = w->comp.data;
  return FLOE_OK;
}

static floe_status check_page_size(size_t n, floe_error *err) {
  if (n > INT32_MAX)
    return ferr_set(err, FLOE_ERANGE, "parquet writer: page of %zu bytes", n);
  return FLOE_OK;
}

/* Writes the dictionary page of the current chunk. */
static floe_status write_dict_page(pq_writer *w, pq_chunk_meta *cm,
                                   floe_error *err) {
  const uint8_t *c;
  size_t clen, ulen = w->dict.page.len;
  FLOE_TRY(check_page_size(ulen, err));
  FLOE_TRY(compress(w, w->dict.page.data, ulen, &c, &clen, err));
  FLOE_TRY(check_page_size(clen, err));
  tc_writer t;
  fbuf_reset(&w->hdr);
  tc_init(&t, &w->hdr, err);
  tc_struct_begin(&t);
  tc_field_i32(&t, 1, PQP_DICTIONARY_PAGE);
  tc_field_i32(&t, 2, (int32_t)ulen);
  tc_field_i32(&t, 3, (int32_t)clen);
  tc_field_struct_begin(&t, 7);
  tc_field_i32(&t, 1, (int32_t)w->dict.count);
  tc_field_i32(&t, 2, PQE_PLAIN);
  tc_struct_end(&t);
  tc_struct_end(&t);
  FLOE_TRY(tc_status(&t));
  cm->dict_page_offset = w->offset;
  FLOE_TRY(emit(w, w->hdr.data, w->hdr.len, err));
  FLOE_TRY(emit(w, c, clen, err));
  cm->uncompressed += (int64_t)(w->hdr.len + ulen);
  cm->compressed += (int64_t)(w->hdr.len + clen);
  return FLOE_OK;
}

/* ---- column chunks ---- */

/* What one chunk's pages draw from. */
typedef struct chunk {
  const pq_leaf *lf;
  const col_column *col; /* the field's column */
  const col_column *vc;  /* the values: col, or its child for lists */
  int64_t rows, slots, nn, nlev;
  const uint8_t *plain; /* fixed width: PLAIN bytes of the nn values */
  const uint32_t *idx;  /* dictionary indices of the nn values */
  bool use_dict;
  int bw; /* index bit width */
  int encoding;
} chunk;

/* Definition and repetition levels of a list column, one pass. */
static floe_status list_levels(pq_writer *w, const pq_leaf *lf,
                               const col_field *f, const col_column *col,
                               int64_t *nlev, floe_error *err) {
  const int32_t *off = col_offsets(col);
  int64_t rows = col->length;
  size_t n = (size_t)(off[rows] - off[0]) + (size_t)rows; /* upper bound */
  fbuf_reset(&w->def);
  fbuf_reset(&w->rep);
  FLOE_TRY(fbuf_reserve(&w->def, n, err));
  FLOE_TRY(fbuf_reserve(&w->rep, n, err));
  uint8_t *d = w->def.data, *r = w->rep.data;
  uint8_t empty = f->nullable ? 1 : 0;
  uint8_t null_elem = (uint8_t)(empty + 1), value = (uint8_t)lf->max_def;
  const uint8_t *lvalid = col->null_count ? col->validity.data : NULL;
  const col_column *ch = col->child;
  const uint8_t *evalid = ch->null_count ? ch->validity.data : NULL;
  size_t k = 0;
  for (int64_t i = 0; i < rows; i++) {
    if (lvalid && !((lvalid[i >> 3] >> (i & 7)) & 1)) {
      d[k] = 0;
      r[k++] = 0;
      continue;
    }
    int32_t a = off[i], b = off[i + 1];
    if (a == b) {
      d[k] = empty;
      r[k++] = 0;
      continue;
    }
    for (int32_t e = a; e < b; e++) {
      r[k] = e == a ? 0 : 1;
      d[k++] =
          (evalid && !((evalid[e >> 3] >> (e & 7)) & 1)) ? null_elem : value;
    }
  }
  w->def.len = w->rep.len = k;
  *nlev = (int64_t)k;
  return FLOE_OK;
}

/* PLAIN bytes of the non-null values of vc (fixed-width leaves). Points at
 * the staged buffer itself when it already is the PLAIN form. */
static floe_status build_plain(pq_writer *w, chunk *c, floe_error *err) {
  const col_column *vc = c->vc;
  const pq_leaf *lf = c->lf;
  int64_t slots = c->slots;
  int sw = col_type_width(vc->type.id); /* staged width */
  const uint8_t *valid = vc->null_count ? vc->validity.data : NULL;
  const uint8_t *src = vc->values.data;
  if (sw == lf->width && vc->type.id != COL_DECIMAL) {
    if (!valid) {
      c->plain = src;
      return FLOE_OK;
    }
    fbuf_reset(&w->plain);
    FLOE_TRY(fbuf_reserve(&w->plain, (size_t)c->nn * (size_t)sw, err));
    uint8_t *o = w->plain.data;
    for (int64_t i = 0; i < slots; i++) {
      if (!((valid[i >> 3] >> (i & 7)) & 1)) continue;
      memcpy(o, src + (size_t)i * (size_t)sw, (size_t)sw);
      o += sw;
    }
    w->plain.len = (size_t)(o - w->plain.data);
    c->plain = w->plain.data;
    return FLOE_OK;
  }
  fbuf_reset(&w->plain);
  FLOE_TRY(fbuf_reserve(&w->plain, (size_t)c->nn * (size_t)lf->width, err));
  uint8_t *o = w->plain.data;
  int ow = lf->width;
  for (int64_t i = 0; i < slots; i++) {
    if (valid && !((valid[i >> 3] >> (i & 7)) & 1)) continue;
    const uint8_t *p = src + (size_t)i * (size_t)sw;
    if (vc->type.id == COL_INT16) {
      int16_t v;
      memcpy(&v, p, 2);
      int32_t x = v;
      memcpy(o, &x, 4);
    } else if (lf->ptype == PQT_FIXED_LEN_BYTE_ARRAY) {
      /* decimal: the low ow bytes of the little-endian int128, reversed */
      for (int b = 0; b < ow; b++) o[b] = p[ow - 1 - b];
    } else {
      memcpy(o, p, (size_t)ow); /* decimal as INT32/INT64: the low bytes */
    }
    o += ow;
  }
  w->plain.len = (size_t)(o - w->plain.data);
  c->plain = w->plain.data;
  return FLOE_OK;
}

/* Values repeating fewer times than this on average leave it open whether a
 * dictionary beats PLAIN once compressed: a sample decides. */
#define DICT_SURE_RATIO 16
#define DICT_SAMPLE_VALUES 65536

static floe_status put_values(const chunk *c, fbuf *b, int64_t s0, int64_t s1,
                              int64_t v0, int64_t v1, floe_error *err);

/* Sorted or clustered values (keys, ids) compress far better PLAIN than as
 * bit-packed indices, which a size estimate before compression cannot see;
 * so the first values are compressed both ways, and the dictionary page
 * once, and the smaller estimate for the whole chunk wins. */
static floe_status dict_sample_check(pq_writer *w, chunk *c, floe_error *err) {
  const uint8_t *valid = c->vc->null_count ? c->vc->validity.data : NULL;
  int64_t ss = c->slots < DICT_SAMPLE_VALUES ? c->slots : DICT_SAMPLE_VALUES;
  int64_t vs = valid ? pq_count_bits(valid, 0, ss) : ss;
  if (vs == 0) return FLOE_OK;
  const uint8_t *out;
  size_t plain_c, dict_c, page_c;
  c->use_dict = false;
  fbuf_reset(&w->vals);
  FLOE_TRY(put_values(c, &w->vals, 0, ss, 0, vs, err));
  FLOE_TRY(compress(w, w->vals.data, w->vals.len, &out, &plain_c, err));
  c->use_dict = true;
  fbuf_reset(&w->vals);
  FLOE_TRY(put_values(c, &w->vals, 0, ss, 0, vs, err));
  FLOE_TRY(compress(w, w->vals.data, w->vals.len, &out, &dict_c, err));
  FLOE_TRY(
      compress(w, w->dict.page.data, w->dict.page.len, &out, &page_c, err));
  double scale = (double)c->nn / (double)vs;
  c->use_dict =
      (double)dict_c * scale + (double)page_c < (double)plain_c * scale;
  return FLOE_OK;
}

/* Decides between dictionary and PLAIN, building the indices. */
static floe_status try_dict(pq_writer *w, chunk *c, floe_error *err) {
  c->use_dict = false;
  if (c->lf->ptype == PQT_BOOLEAN || c->nn == 0) return FLOE_OK;
  pq_dict_reset(&w->dict, c->lf->width, (size_t)w->opts.dict_max_bytes);
  fbuf_reset(&w->idx);
  FLOE_TRY(fbuf_reserve(&w->idx, (size_t)c->nn * 4, err));
  uint32_t *idx = (uint32_t *)(void *)w->idx.data;
  bool full;
  size_t plain_bytes;
  if (c->lf->width) {
    FLOE_TRY(
        pq_dict_add_fixed(&w->dict, c->plain, (size_t)c->nn, idx, &full, err));
    plain_bytes = (size_t)c->nn * (size_t)c->lf->width;
  } else {
    FLOE_TRY(pq_dict_add_bytes(&w->dict, c->vc, 0, c->slots, idx, &full, err));
    const int32_t *off = col_offsets(c->vc);
    plain_bytes = (size_t)(off[c->slots] - off[0]) + 4 * (size_t)c->nn;
  }
  if (full) return FLOE_OK;
  int bw = fbit_width(w->dict.count - 1);
  if (bw == 0) bw = 1;
  size_t dict_bytes = w->dict.page.len + ((size_t)c->nn * (size_t)bw + 7) / 8;
  if (dict_bytes >= plain_bytes) return FLOE_OK;
  c->use_dict = true;
  c->bw = bw;
  c->idx = idx;
  if (w->opts.codec != PQ_CODEC_NONE &&
      (uint64_t)c->nn < (uint64_t)w->dict.count * DICT_SURE_RATIO)
    return dict_sample_check(w, c, err);
  return FLOE_OK;
}

/* Appends a level run for v1 (4-byte length prefix) or v2 (bare). */
/* all_level >= 0: every level equals it (one run); else lv holds them. */
static floe_status put_levels(fbuf *b, bool prefix, const uint8_t *lv, size_t n,
                              int bw, int all_level, floe_error *err) {
  size_t at = b->len;
  if (prefix) FLOE_TRY(fbuf_zero(b, 4, err));
  size_t start = b->len;
  if (all_level >= 0)
    FLOE_TRY(pq_rle_encode_run((uint32_t)all_level, n, bw, b, err));
  else
    FLOE_TRY(pq_rle_encode_u8(lv, n, bw, b, err));
  if (prefix) {
    uint32_t len = (uint32_t)(b->len - start);
    memcpy(b->data + at, &len, 4);
  }
  return FLOE_OK;
}

/* Appends the encoded values of slots [s0, s1) = non-null values [v0, v1). */
static floe_status put_values(const chunk *c, fbuf *b, int64_t s0, int64_t s1,
                              int64_t v0, int64_t v1, floe_error *err) {
  const col_column *vc = c->vc;
  if (c->use_dict) {
    FLOE_TRY(fbuf_put_u8(b, (uint8_t)c->bw, err));
    return pq_rle_encode_u32(c->idx + v0, (size_t)(v1 - v0), c->bw, b, err);
  }
  if (c->lf->ptype == PQT_BOOLEAN)
    return pq_plain_bools(vc->values.data,
                          vc->null_count ? vc->validity.data : NULL, s0, s1, b,
                          err);
  if (c->lf->width) {
    size_t w = (size_t)c->lf->width;
    if (v1 == v0) return FLOE_OK; /* an all-null page has no plain bytes */
    return fbuf_append(b, c->plain + (size_t)v0 * w, (size_t)(v1 - v0) * w,
                       err);
  }
  const int32_t *off = col_offsets(vc);
  size_t need = (size_t)(off[s1] - off[s0]) + 4 * (size_t)(v1 - v0);
  FLOE_TRY(fbuf_reserve(b, need, err));
  uint8_t *o = b->data + b->len;
  const uint8_t *valid = vc->null_count ? vc->validity.data : NULL;
  for (int64_t i = s0; i < s1; i++) {
    if (valid && !((valid[i >> 3] >> (i & 7)) & 1)) continue;
    uint32_t n = (uint32_t)(off[i + 1] - off[i]);
    memcpy(o, &n, 4);
    if (n) memcpy(o + 4, vc->values.data + off[i], n); /* NULL when all empty */
    o += 4 + n;
  }
  b->len = (size_t)(o - b->data);
  return FLOE_OK;
}

/* Encodes and writes one data page: rows [r0, r1), level entries [l0, l1),
 * value slots [s0, s1), non-null values [v0, v1). */
static floe_status write_data_page(pq_writer *w, const chunk *c,
                                   pq_chunk_meta *cm, int64_t r0, int64_t r1,
                                   int64_t l0, int64_t l1, int64_t s0,
                                   int64_t s1, int64_t v0, int64_t v1,
                                   floe_error *err) {
  const pq_leaf *lf = c->lf;
  bool v2 = w->opts.data_page_v2;
  size_t nlev = (size_t)(l1 - l0);
  /* v1: levels and values in one compressed body; v2: levels stay
   * uncompressed in front of the compressed values */
  fbuf *lv = &w->body;
  fbuf_reset(lv);
  size_t rep_len = 0, def_len = 0;
  if (lf->max_rep) {
    FLOE_TRY(put_levels(lv, !v2, w->rep.data + l0, nlev, 1, -1, err));
    rep_len = lv->len;
  }
  if (lf->max_def) {
    int bw = fbit_width((uint64_t)lf->max_def);
    bool all = !lf->list && (v1 - v0) == (s1 - s0);
    const uint8_t *levels = NULL;
    if (lf->list) {
      levels = w->def.data + l0;
    } else if (!all) {
      fbuf_reset(&w->lvl8);
      FLOE_TRY(fbuf_reserve(&w->lvl8, nlev, err));
      const uint8_t *vb = c->vc->validity.data;
      for (int64_t i = s0; i < s1; i++)
        w->lvl8.data[i - s0] = (vb[i >> 3] >> (i & 7)) & 1;
      levels = w->lvl8.data;
    }
    FLOE_TRY(
        put_levels(lv, !v2, levels, nlev, bw, all ? lf->max_def : -1, err));
    def_len = lv->len - rep_len;
  }
  fbuf *vb = v2 ? &w->vals : lv;
  if (v2) fbuf_reset(vb);
  size_t vstart = vb->len;
  FLOE_TRY(put_values(c, vb, s0, s1, v0, v1, err));
  /* v2 compresses only the values */
  const uint8_t *src = v2 ? vb->data : lv->data;
  size_t ulen = v2 ? vb->len - vstart : lv->len;
  const uint8_t *comp;
  size_t clen;
  FLOE_TRY(compress(w, src, ulen, &comp, &clen, err));
  size_t page_u = v2 ? lv->len + ulen : ulen;
  size_t page_c = v2 ? lv->len + clen : clen;
  FLOE_TRY(check_page_size(page_u, err));
  FLOE_TRY(check_page_size(page_c, err));

  tc_writer t;
  fbuf_reset(&w->hdr);
  tc_init(&t, &w->hdr, err);
  tc_struct_begin(&t);
  tc_field_i32(&t, 1, v2 ? PQP_DATA_PAGE_V2 : PQP_DATA_PAGE);
  tc_field_i32(&t, 2, (int32_t)page_u);
  tc_field_i32(&t, 3, (int32_t)page_c);
  if (!v2) {
    tc_field_struct_begin(&t, 5);
    tc_field_i32(&t, 1, (int32_t)nlev);
    tc_field_i32(&t, 2, c->encoding);
    tc_field_i32(&t, 3, PQE_RLE);
    tc_field_i32(&t, 4, PQE_RLE);
    tc_struct_end(&t);
  } else {
    tc_field_struct_begin(&t, 8);
    tc_field_i32(&t, 1, (int32_t)nlev);
    tc_field_i32(&t, 2, (int32_t)(nlev - (size_t)(v1 - v0)));
    tc_field_i32(&t, 3, (int32_t)(r1 - r0));
    tc_field_i32(&t, 4, c->encoding);
    tc_field_i32(&t, 5, (int32_t)def_len);
    tc_field_i32(&t, 6, (int32_t)rep_len);
    if (w->opts.codec == PQ_CODEC_NONE) tc_field_bool(&t, 7, false);
    tc_struct_end(&t);
  }
  tc_struct_end(&t);
  FLOE_TRY(tc_status(&t));
  if (cm->data_page_offset < 0) cm->data_page_offset = w->offset;
  FLOE_TRY(emit(w, w->hdr.data, w->hdr.len, err));
  if (v2) FLOE_TRY(emit(w, lv->data, lv->len, err));
  FLOE_TRY(emit(w, comp, clen, err));
  cm->uncompressed += (int64_t)(w->hdr.len + page_u);
  cm->compressed += (int64_t)(w->hdr.len + page_c);
  return FLOE_OK;
}

/* Estimated encoded bits of one value (page sizing). */
static int64_t value_bits(const chunk *c) {
  if (c->use_dict) return c->bw;
  if (c->lf->ptype == PQT_BOOLEAN) return 1;
  return (int64_t)c->lf->width * 8;
}

static floe_status write_pages(pq_writer *w, const chunk *c, pq_chunk_meta *cm,
                               floe_error *err) {
  const col_column *vc = c->vc;
  const int32_t *loff = c->lf->list ? col_offsets(c->col) : NULL;
  const int32_t *voff =
      (!c->lf->width && c->lf->ptype != PQT_BOOLEAN && !c->use_dict)
          ? col_offsets(vc)
          : NULL; /* PLAIN byte arrays: size pages by bytes */
  int64_t page_bits = w->opts.page_bytes * 8;
  int64_t vbits = value_bits(c);
  int64_t maxr = w->opts.page_rows > 0 && w->opts.page_rows < MAX_PAGE_ROWS
                     ? w->opts.page_rows
                     : MAX_PAGE_ROWS;
  int64_t rows_per_page = page_bits / (vbits ? vbits : 1);
  if (rows_per_page < 8) rows_per_page = 8;
  if (rows_per_page > maxr) rows_per_page = maxr;
  const uint8_t *valid = vc->null_count ? vc->validity.data : NULL;
  int64_t r0 = 0, l0 = 0, v0 = 0;
  while (r0 < c->rows) {
    int64_t r1, l1, s0, s1;
    if (!loff) {
      if (voff) {
        int64_t bits = 0;
        r1 = r0;
        while (r1 < c->rows && bits < page_bits && r1 - r0 < maxr) {
          bits += (int64_t)(voff[r1 + 1] - voff[r1] + 4) * 8;
          r1++;
        }
      } else {
        r1 = c->rows - r0 > rows_per_page ? r0 + rows_per_page : c->rows;
      }
      l1 = r1;
      s0 = r0;
      s1 = r1;
    } else {
      int64_t bits = 0;
      r1 = r0;
      l1 = l0;
      while (r1 < c->rows && bits < page_bits && l1 - l0 < MAX_PAGE_ROWS &&
             r1 - r0 < maxr) {
        int64_t a = loff[r1], b = loff[r1 + 1];
        bits += 8; /* levels, roughly */
        if (voff)
          bits += ((int64_t)(voff[b] - voff[a]) + 4 * (b - a)) * 8;
        else
          bits += (b - a) * vbits;
        l1 += b > a ? b - a : 1;
        r1++;
      }
      s0 = loff[r0];
      s1 = loff[r1];
    }
    int64_t nvalid = valid ? pq_count_bits(valid, s0, s1) : s1 - s0;
    FLOE_TRY(write_data_page(w, c, cm, r0, r1, l0, l1, s0, s1, v0, v0 + nvalid,
                             err));
    v0 += nvalid;
    l0 = l1;
    r0 = r1;
  }
  return FLOE_OK;
}

static floe_status keep_stat_bytes(pq_writer *w, const fbuf *v, size_t *off,
                                   size_t *len, floe_error *err) {
  *off = w->statbytes.len;
  *len = v->len;
  return fbuf_append(&w->statbytes, v->data, v->len, err);
}

static floe_status write_chunk(pq_writer *w, int li, pq_chunk_meta *cm,
                               floe_error *err) {
  pq_leaf *lf = &w->leaves[li];
  const col_field *f = &w->schema->fields[li];
  chunk c;
  memset(&c, 0, sizeof c);
  c.lf = lf;
  c.col = &w->stage[li];
  c.vc = lf->list ? c.col->child : c.col;
  c.rows = c.col->length;
  c.slots = c.vc->length;
  c.nn = c.slots - c.vc->null_count;
  memset(cm, 0, sizeof *cm);
  cm->data_page_offset = cm->dict_page_offset = -1;
  cm->first_offset = w->offset;

  if (lf->list)
    FLOE_TRY(list_levels(w, lf, f, c.col, &c.nlev, err));
  else
    c.nlev = c.rows;

  pq_stats *s = &w->cstats;
  pq_stats_reset(s);
  s->kind = lf->kind;
  if (lf->ptype == PQT_BOOLEAN) {
    FLOE_TRY(pq_stats_add_bools(s, c.vc, 0, c.slots, err));
  } else if (lf->width) {
    FLOE_TRY(build_plain(w, &c, err));
    FLOE_TRY(pq_stats_add_fixed(s, c.plain, (size_t)c.nn, lf->width, err));
  } else {
    FLOE_TRY(pq_stats_add_bytes(s, c.vc, 0, c.slots, err));
  }
  s->null_count = c.nlev - c.nn;
  FLOE_TRY(try_dict(w, &c, err));
  c.encoding = c.use_dict ? PQE_RLE_DICTIONARY : PQE_PLAIN;

  if (c.use_dict) FLOE_TRY(write_dict_page(w, cm, err));
  FLOE_TRY(write_pages(w, &c, cm, err));

  cm->num_values = c.nlev;
  cm->null_count = s->null_count;
  cm->nan_count = s->nan_count;
  cm->dict = c.use_dict;
  cm->plain = !c.use_dict;
  bool long_bytes =
      lf->kind == PQS_BYTES && !lf->width &&
      (s->min.len > STATS_MAX_BYTES || s->max.len > STATS_MAX_BYTES);
  cm->has_minmax = s->has_minmax && !long_bytes;
  if (cm->has_minmax) {
    FLOE_TRY(keep_stat_bytes(w, &s->min, &cm->min_off, &cm->min_len, err));
    FLOE_TRY(keep_stat_bytes(w, &s->max, &cm->max_off, &cm->max_len, err));
  }
  FLOE_TRY(pq_stats_merge(&lf->file_stats, s, err));
  lf->column_size += cm->compressed;
  lf->value_count += c.nlev;
  return FLOE_OK;
}

static floe_status flush_row_group(pq_writer *w, floe_error *err) {
  if (w->stage_rows == 0) return FLOE_OK;
  if (w->nrg >= INT16_MAX)
    return ferr_set(err, FLOE_ERANGE, "parquet writer: too many row groups");
  if (w->nrg == w->caprg) {
    int cap = w->caprg ? w->caprg * 2 : 8;
    pq_rg_meta *r = realloc(w->rgs, (size_t)cap * sizeof *r);
    if (!r) return ferr_nomem(err, (size_t)cap * sizeof *r);
    w->rgs = r;
    pq_chunk_meta *c =
        realloc(w->chunks, (size_t)cap * (size_t)w->nleaves * sizeof *c);
    if (!c) return ferr_nomem(err, (size_t)cap * sizeof *c);
    w->chunks = c;
    w->caprg = cap;
  }
  pq_rg_meta *rg = &w->rgs[w->nrg];
  pq_chunk_meta *cms = &w->chunks[(size_t)w->nrg * (size_t)w->nleaves];
  memset(rg, 0, sizeof *rg);
  rg->num_rows = w->stage_rows;
  rg->file_offset = w->offset;
  for (int i = 0; i < w->nleaves; i++) {
    floe_status st = write_chunk(w, i, &cms[i], err);
    if (st) {
      w->broken = true;
      return ferr_prefix(err, st, "parquet writer: column %s",
                         w->schema->fields[i].name);
    }
    rg->total_bytes += cms[i].uncompressed;
    rg->total_compressed += cms[i].compressed;
  }
  w->nrg++;
  w->num_rows += w->stage_rows;
  w->stage_rows = 0;
  for (int i = 0; i < w->nleaves; i++) col_clear(&w->stage[i]);
  return FLOE_OK;
}

/* ---- writing rows ---- */

static int64_t column_bytes(const col_column *c) {
  int64_t n = (int64_t)(c->values.len + c->offsets.len + c->validity.len);
  if (c->child) n += column_bytes(c->child);
  return n;
}

static bool same_dtype(col_dtype a, col_dtype b) {
  if (a.id != b.id) return false;
  if (a.id == COL_DECIMAL)
    return a.precision == b.precision && a.scale == b.scale;
  if (a.id == COL_LIST)
    return a.elem == b.elem &&
           (a.elem != COL_DECIMAL || (a.elem_precision == b.elem_precision &&
                                      a.elem_scale == b.elem_scale));
  return true;
}

/* Rejects nulls in required fields and null lists with elements (whose
 * elements would have no level to sit on). */
static floe_status check_batch(const pq_writer *w, const col_batch *b,
                               floe_error *err) {
  const col_schema *s = w->schema;
  if (b->schema != s && (b->schema->nfields != s->nfields))
    return ferr_set(err, FLOE_EINVAL,
                    "parquet writer: batch has %d fields, file %d",
                    b->schema->nfields, s->nfields);
  for (int i = 0; i < s->nfields; i++) {
    const col_field *f = &s->fields[i];
    const col_column *c = &b->cols[i];
    if (!same_dtype(c->type, f->type))
      return ferr_set(err, FLOE_EINVAL,
                      "parquet writer: field %s: batch column has another type",
                      f->name);
    if (c->length != b->length)
      return ferr_set(err, FLOE_EINVAL,
                      "parquet writer: field %s has %lld rows, batch %lld",
                      f->name, (long long)c->length, (long long)b->length);
    if (!f->nullable && c->null_count)
      return ferr_set(err, FLOE_EINVAL,
                      "parquet writer: required field %s has %lld nulls",
                      f->name, (long long)c->null_count);
    if (f->type.id != COL_LIST) continue;
    if (!f->elem_nullable && c->child->null_count)
      return ferr_set(err, FLOE_EINVAL,
                      "parquet writer: required elements of %s have %lld "
                      "nulls",
                      f->name, (long long)c->child->null_count);
    if (c->null_count) {
      const int32_t *off = col_offsets(c);
      for (int64_t r = 0; r < c->length; r++)
        if (!col_is_valid(c, r) && off[r + 1] != off[r])
          return ferr_set(err, FLOE_EINVAL,
                          "parquet writer: field %s row %lld: null list with "
                          "elements",
                          f->name, (long long)r);
    }
  }
  return FLOE_OK;
}

floe_status pq_writer_write(pq_writer *w, const col_batch *b, floe_error *err) {
  if (w->closed || w->broken)
    return ferr_set(err, FLOE_EINVAL, "parquet writer: %s",
                    w->closed ? "already closed" : "failed earlier");
  FLOE_TRY(check_batch(w, b, err));
  if (b->length == 0) return FLOE_OK;
  int64_t bbytes = 0;
  for (int i = 0; i < w->nleaves; i++) bbytes += column_bytes(&b->cols[i]);
  int64_t per_row = bbytes / b->length;
  if (per_row < 1) per_row = 1;
  int64_t target = w->opts.row_group_bytes;
  int64_t from = 0;
  while (from < b->length) {
    int64_t staged = 0;
    for (int i = 0; i < w->nleaves; i++) staged += column_bytes(&w->stage[i]);
    int64_t room = target - staged;
    int64_t n = room > per_row ? room / per_row : 1;
    if (n > b->length - from) n = b->length - from;
    for (int i = 0; i < w->nleaves; i++) {
      floe_status st =
          col_append_range(&w->stage[i], &b->cols[i], from, n, err);
      if (st) {
        w->broken = true; /* the staged columns now disagree */
        return st;
      }
    }
    w->stage_rows += n;
    from += n;
    staged = 0;
    for (int i = 0; i < w->nleaves; i++) staged += column_bytes(&w->stage[i]);
    if (staged >= target) FLOE_TRY(flush_row_group(w, err));
  }
  return FLOE_OK;
}

/* ---- footer ---- */

static void put_statistics(tc_writer *t, const pq_writer *w, const pq_leaf *lf,
                           const pq_chunk_meta *cm) {
  tc_field_struct_begin(t, 12);
  tc_field_i64(t, 3, cm->null_count);
  if (cm->has_minmax) {
    /* only empty min/max values so far: no buffer, and NULL + 0 is UB */
    const uint8_t *sb =
        w->statbytes.data ? w->statbytes.data : (const uint8_t *)"";
    tc_field_binary(t, 5, sb + cm->max_off, cm->max_len);
    tc_field_binary(t, 6, sb + cm->min_off, cm->min_len);
  }
  if (lf->kind == PQS_F32 || lf->kind == PQS_F64)
    tc_field_i64(t, 9, cm->nan_count);
  tc_struct_end(t);
}

static void put_column_chunk(tc_writer *t, const pq_writer *w, int li,
                             const pq_chunk_meta *cm) {
  const pq_leaf *lf = &w->leaves[li];
  const col_field *f = &w->schema->fields[li];
  tc_struct_begin(t);
  /* file_offset: the chunk's first page, which every reader that still
   * looks at this deprecated field expects */
  tc_field_i64(t, 2, cm->first_offset);
  tc_field_struct_begin(t, 3);
  tc_field_i32(t, 1, lf->ptype);
  int enc[3], ne = 0;
  if (cm->dict) enc[ne++] = PQE_PLAIN; /* the dictionary page */
  if (cm->plain && !cm->dict) enc[ne++] = PQE_PLAIN;
  enc[ne++] = PQE_RLE;
  if (cm->dict) enc[ne++] = PQE_RLE_DICTIONARY;
  tc_field_list_begin(t, 2, TC_I32, (size_t)ne);
  for (int i = 0; i < ne; i++) tc_i32(t, enc[i]);
  tc_field_list_begin(t, 3, TC_BINARY, lf->list ? 3 : 1);
  tc_string(t, f->name);
  if (lf->list) {
    tc_string(t, "list");
    tc_string(t, "element");
  }
  tc_field_i32(t, 4, (int32_t)w->opts.codec);
  tc_field_i64(t, 5, cm->num_values);
  tc_field_i64(t, 6, cm->uncompressed);
  tc_field_i64(t, 7, cm->compressed);
  tc_field_i64(t, 9, cm->data_page_offset);
  if (cm->dict_page_offset >= 0) tc_field_i64(t, 11, cm->dict_page_offset);
  put_statistics(t, w, lf, cm);
  tc_struct_end(t);
  tc_struct_end(t);
}

static floe_status put_footer(pq_writer *w, fbuf *out, floe_error *err) {
  tc_writer t;
  tc_init(&t, out, err);
  tc_struct_begin(&t);
  tc_field_i32(&t, 1, w->opts.data_page_v2 ? 2 : 1);
  put_schema(&t, w);
  tc_field_i64(&t, 3, w->num_rows);
  tc_field_list_begin(&t, 4, TC_STRUCT, (size_t)w->nrg);
  for (int g = 0; g < w->nrg; g++) {
    const pq_rg_meta *rg = &w->rgs[g];
    tc_struct_begin(&t);
    tc_field_list_begin(&t, 1, TC_STRUCT, (size_t)w->nleaves);
    for (int i = 0; i < w->nleaves; i++)
      put_column_chunk(&t, w, i,
                       &w->chunks[(size_t)g * (size_t)w->nleaves + (size_t)i]);
    tc_field_i64(&t, 2, rg->total_bytes);
    tc_field_i64(&t, 3, rg->num_rows);
    tc_field_i64(&t, 5, rg->file_offset);
    tc_field_i64(&t, 6, rg->total_compressed);
    tc_field_i16(&t, 7, (int16_t)g);
    tc_struct_end(&t);
  }
  tc_field_string(&t, 6, w->created_by);
  tc_field_list_begin(&t, 7, TC_STRUCT, (size_t)w->nleaves);
  for (int i = 0; i < w->nleaves; i++) {
    tc_struct_begin(&t); /* ColumnOrder union: TYPE_ORDER */
    tc_field_struct_begin(&t, 1);
    tc_struct_end(&t);
    tc_struct_end(&t);
  }
  tc_struct_end(&t);
  return tc_status(&t);
}

static floe_status build_metrics(pq_writer *w, pq_file_metrics *m,
                                 floe_error *err) {
  memset(m, 0, sizeof *m);
  m->record_count = w->num_rows;
  m->file_size = w->offset;
  m->columns = calloc((size_t)w->nleaves, sizeof *m->columns);
  m->split_offsets = calloc((size_t)(w->nrg ? w->nrg : 1), sizeof(int64_t));
  if (!m->columns || !m->split_offsets) {
    pq_file_metrics_free(m);
    return ferr_nomem(err, (size_t)w->nleaves * sizeof *m->columns);
  }
  m->ncolumns = w->nleaves;
  m->nsplits = w->nrg;
  for (int g = 0; g < w->nrg; g++) m->split_offsets[g] = w->rgs[g].file_offset;
  for (int i = 0; i < w->nleaves; i++) {
    const pq_leaf *lf = &w->leaves[i];
    pq_column_metrics *cm = &m->columns[i];
    cm->field_id = lf->field_id;
    cm->column_size = lf->column_size;
    cm->value_count = lf->value_count;
    cm->null_count = lf->file_stats.null_count;
    cm->nan_count = lf->file_stats.nan_count;
    /* like Iceberg's own writers: no bounds for values inside lists (no
     * Iceberg expression can use them) */
    if (lf->list || !lf->file_stats.has_minmax) continue;
    bool ok_lo, ok_hi;
    floe_status st =
        pq_iceberg_bound(lf->vt, false, lf->file_stats.min.data,
                         lf->file_stats.min.len, &cm->lower, &ok_lo, err);
    if (!st)
      st = pq_iceberg_bound(lf->vt, true, lf->file_stats.max.data,
                            lf->file_stats.max.len, &cm->upper, &ok_hi, err);
    if (st) {
      pq_file_metrics_free(m);
      return st;
    }
    cm->has_bounds = ok_lo && ok_hi;
    if (!cm->has_bounds) {
      fbuf_free(&cm->lower);
      fbuf_free(&cm->upper);
    }
  }
  return FLOE_OK;
}

floe_status pq_writer_close(pq_writer *w, pq_file_metrics *metrics,
                            floe_error *err) {
  if (metrics) memset(metrics, 0, sizeof *metrics);
  if (w->closed || w->broken)
    return ferr_set(err, FLOE_EINVAL, "parquet writer: %s",
                    w->closed ? "already closed" : "failed earlier");
  FLOE_TRY(flush_row_group(w, err));
  fbuf *f = &w->hdr;
  fbuf_reset(f);
  floe_status st = put_footer(w, f, err);
  if (st) {
    w->broken = true;
    return st;
  }
  if (f->len > UINT32_MAX)
    return ferr_set(err, FLOE_ERANGE, "parquet writer: footer too large");
  uint32_t flen = (uint32_t)f->len;
  FLOE_TRY(fbuf_put_le32(f, flen, err));
  FLOE_TRY(fbuf_append(f, PQ_MAGIC, 4, err));
  FLOE_TRY(emit(w, f->data, f->len, err));
  w->closed = true;
  if (metrics) FLOE_TRY(build_metrics(w, metrics, err));
  return FLOE_OK;
}
