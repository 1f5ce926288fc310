/*
 * The Parquet reader: footer -> schema mapping -> per column a chunk reader
 * that walks pages and decodes levels and values window by window into
 * fixed scratch, appending only the rows the caller keeps.
 *
 * Every size in the file is checked against the bytes really there before
 * anything is allocated; allocations are additionally capped by max_alloc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parquet/codec.h"
#include "parquet/decode.h"
#include "parquet/format.h"
#include "parquet/reader_int.h"
#include "parquet/thrift_read.h"

/* Level/value window: big enough to amortise calls, small enough that the
 * scratch is a few tens of KB per column. */
#define WIN 4096
/* Rows whose skip decision is taken at once (bounds the live[] array). */
#define SPAN 65536
#define MAX_SCHEMA_DEPTH 64

struct pq_colr {
  const pq_leaf *leaf;
  const char *fname; /* file name for messages */
  size_t max_alloc;
  /* chunk */
  fbuf chunk;         /* the chunk's bytes [win_pos, win_pos + chunk.len) */
  uint64_t chunk_off; /* file offset of the chunk's first byte */
  size_t chunk_total; /* the chunk's size */
  size_t win_pos;     /* chunk offset of chunk.data[0] */
  bool lazy;          /* read page by page (a row range), not all at once */
  size_t cpos;        /* next page header, as a chunk offset */
  int codec;
  int64_t values_left; /* ColumnMetaData.num_values not yet seen in pages */
  int64_t rows_left;   /* rows of the row group not yet started */
  bool seen_data;
  /* dictionary */
  bool has_dict;
  fbuf dict_buf;  /* decompressed dictionary page */
  fbuf dict_vals; /* fixed values, or pq_slice per entry */
  uint32_t dict_n;
  /* page */
  fbuf page_buf;
  uint64_t page_off; /* file offset of the current page header */
  int64_t page_left; /* level entries not yet windowed */
  int enc;
  pq_rle rep, def;
  fcur vc;       /* PLAIN values */
  uint64_t vbit; /* PLAIN booleans */
  pq_rle vrle;   /* dictionary indices / RLE booleans */
  pq_delta vdelta;
  pq_dlba vdlba;
  pq_dba vdba;
  pq_bss vbss;
  /* window */
  uint32_t *wrep, *wdef;
  size_t wn, wpos;
  bool row_open, row_live;
  /* value scratch */
  uint32_t *idx;
  uint8_t *vfix;    /* WIN * 16 bytes */
  pq_slice *vslice; /* WIN */
  int64_t *vtmp;    /* WIN */
};

/* ---- errors ---- */

static floe_status colr_fail(const pq_colr *r, floe_error *err, const char *fmt,
                             ...) FLOE_PRINTF(3, 4);
static floe_status colr_fail(const pq_colr *r, floe_error *err, const char *fmt,
                             ...) {
  char msg[FLOE_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ferr_corrupt(err, "%s at offset %llu: column %s: %s", r->fname,
                      (unsigned long long)r->page_off, r->leaf->field.name,
                      msg);
}

/* Prefixes a decoder's plain message with file, page offset and column. */
static floe_status colr_ctx(const pq_colr *r, floe_status st, floe_error *err) {
  if (st == FLOE_OK || !err) return st;
  char msg[FLOE_ERROR_MSG_MAX];
  snprintf(msg, sizeof msg, "%s", err->msg);
  return ferr_set(err, st, "%s at offset %llu: column %s: %s", r->fname,
                  (unsigned long long)r->page_off, r->leaf->field.name, msg);
}

/* ---- schema mapping ---- */

static bool is_list_annot(const pq_schema_elem *e) {
  return e->converted_type == PQCT_LIST || e->logical.ltype == PQL_LIST;
}

/* Counts the elements and leaves of the subtree at i. */
static floe_status subtree(const pq_footer *f, int i, int depth, int *end,
                           int *leaves, const char *name, floe_error *err) {
  if (depth > MAX_SCHEMA_DEPTH)
    return ferr_corrupt(err, "%s: schema nested deeper than %d", name,
                        MAX_SCHEMA_DEPTH);
  if (i >= f->nschema)
    return ferr_corrupt(err,
                        "%s: schema element %d missing (num_children "
                        "claims more elements than there are)",
                        name, i);
  const pq_schema_elem *e = &f->schema[i];
  if (e->num_children == 0) {
    (*leaves)++;
    *end = i + 1;
    return FLOE_OK;
  }
  if (e->num_children > f->nschema - i - 1)
    return ferr_corrupt(err,
                        "%s: schema element %s claims %d children, only "
                        "%d elements follow",
                        name, e->name, (int)e->num_children,
                        f->nschema - i - 1);
  int j = i + 1;
  for (int c = 0; c < e->num_children; c++)
    FLOE_TRY(subtree(f, j, depth + 1, &j, leaves, name, err));
  *end = j;
  return FLOE_OK;
}

static void unsup(pq_leaf *l, const char *fmt, ...) FLOE_PRINTF(2, 3);
static void unsup(pq_leaf *l, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(l->why, sizeof l->why, fmt, ap);
  va_end(ap);
  l->supported = false;
}

static bool set_decimal(pq_leaf *l, const pq_schema_elem *e) {
  int32_t p =
      e->logical.ltype == PQL_DECIMAL ? e->logical.precision : e->precision;
  int32_t s = e->logical.ltype == PQL_DECIMAL ? e->logical.scale : e->scale;
  if (p < 1 || p > 38 || s < 0 || s > p) {
    unsup(l, "decimal(%d,%d) is outside decimal(1..38, 0..p)", (int)p, (int)s);
    return false;
  }
  l->vtype.id = COL_DECIMAL;
  l->vtype.precision = (uint8_t)p;
  l->vtype.scale = (uint8_t)s;
  return true;
}

/* Maps a primitive element to a scalar floe type and a conversion. */
static void map_scalar(pq_leaf *l, const pq_schema_elem *e) {
  int lt = e->logical.ltype, ct = e->converted_type;
  l->supported = true;
  l->phys = e->type;
  l->type_length = e->type_length;
  l->mul = 1;
  l->div = 1;
  memset(&l->vtype, 0, sizeof l->vtype);
  bool is_dec = lt == PQL_DECIMAL || (lt == 0 && ct == PQCT_DECIMAL);
  switch (e->type) {
  case PQT_BOOLEAN:
    l->vtype.id = COL_BOOL;
    l->conv = PQC_BOOL;
    return;
  case PQT_INT32:
    if (is_dec) {
      if (set_decimal(l, e)) l->conv = PQC_DEC32;
      return;
    }
    if (lt == PQL_DATE || (lt == 0 && ct == PQCT_DATE)) {
      l->vtype.id = COL_DATE;
      l->conv = PQC_I32;
      return;
    }
    if ((lt == PQL_TIME && e->logical.unit == PQU_MILLIS) ||
        (lt == 0 && ct == PQCT_TIME_MILLIS)) {
      l->vtype.id = COL_TIME;
      l->conv = PQC_I32_MUL;
      l->mul = 1000;
      return;
    }
    if (lt == PQL_INTEGER) {
      int bw = e->logical.bit_width;
      if (e->logical.is_signed && (bw == 8 || bw == 16)) {
        l->vtype.id = COL_INT16;
        l->conv = PQC_I16;
      } else if (e->logical.is_signed && bw == 32) {
        l->vtype.id = COL_INT32;
        l->conv = PQC_I32;
      } else if (!e->logical.is_signed && (bw == 8 || bw == 16)) {
        l->vtype.id = COL_INT32;
        l->conv = PQC_I32;
      } else if (!e->logical.is_signed && bw == 32) {
        l->vtype.id = COL_INT64;
        l->conv = PQC_U32;
      } else {
        unsup(l, "INT(%d,%s) on INT32", bw,
              e->logical.is_signed ? "true" : "false");
      }
      return;
    }
    if (lt != 0) break;
    switch (ct) {
    case -1:
    case PQCT_INT_32:
      l->vtype.id = COL_INT32;
      l->conv = PQC_I32;
      return;
    case PQCT_INT_8:
    case PQCT_INT_16:
      l->vtype.id = COL_INT16;
      l->conv = PQC_I16;
      return;
    case PQCT_UINT_8:
    case PQCT_UINT_16:
      l->vtype.id = COL_INT32;
      l->conv = PQC_I32;
      return;
    case PQCT_UINT_32:
      l->vtype.id = COL_INT64;
      l->conv = PQC_U32;
      return;
    }
    break;
  case PQT_INT64:
    l->conv = PQC_I64;
    if (is_dec) {
      if (set_decimal(l, e)) l->conv = PQC_DEC64;
      return;
    }
    if (lt == PQL_TIME || lt == PQL_TIMESTAMP) {
      l->vtype.id = lt == PQL_TIME   ? COL_TIME
                    : e->logical.utc ? COL_TIMESTAMPTZ
                                     : COL_TIMESTAMP;
      if (e->logical.unit == PQU_MILLIS)
        l->mul = 1000;
      else if (e->logical.unit == PQU_NANOS)
        l->div = 1000;
      else if (e->logical.unit != PQU_MICROS)
        unsup(l, "%s with an unknown time unit",
              lt == PQL_TIME ? "TIME" : "TIMESTAMP");
      return;
    }
    if (lt == PQL_INTEGER) {
      if (e->logical.is_signed && e->logical.bit_width == 64)
        l->vtype.id = COL_INT64;
      else
        unsup(l, "INT(%d,%s) on INT64", e->logical.bit_width,
              e->logical.is_signed ? "true" : "false");
      return;
    }
    if (lt != 0) break;
    switch (ct) {
    case -1:
    case PQCT_INT_64: l->vtype.id = COL_INT64; return;
    case PQCT_TIME_MICROS: l->vtype.id = COL_TIME; return;
    case PQCT_TIMESTAMP_MICROS: l->vtype.id = COL_TIMESTAMPTZ; return;
    case PQCT_TIMESTAMP_MILLIS:
      l->vtype.id = COL_TIMESTAMPTZ;
      l->mul = 1000;
      return;
    }
    break;
  case PQT_INT96:
    unsup(l, "INT96 timestamps are not supported (write TIMESTAMP INT64)");
    return;
  case PQT_FLOAT:
    if (lt || ct >= 0) break;
    l->vtype.id = COL_FLOAT32;
    l->conv = PQC_F32;
    return;
  case PQT_DOUBLE:
    if (lt || ct >= 0) break;
    l->vtype.id = COL_FLOAT64;
    l->conv = PQC_F64;
    return;
  case PQT_BYTE_ARRAY:
    if (is_dec) {
      if (set_decimal(l, e)) l->conv = PQC_DEC_BYTES;
      return;
    }
    l->conv = PQC_BYTES;
    if (lt == PQL_STRING || lt == PQL_ENUM || lt == PQL_JSON ||
        (lt == 0 && (ct == PQCT_UTF8 || ct == PQCT_ENUM || ct == PQCT_JSON))) {
      l->vtype.id = COL_UTF8;
      return;
    }
    if (lt == PQL_BSON || (lt == 0 && (ct == -1 || ct == PQCT_BSON))) {
      l->vtype.id = COL_BINARY;
      return;
    }
    break;
  case PQT_FIXED_LEN_BYTE_ARRAY:
    if (e->type_length < 1)
      return unsup(l, "FIXED_LEN_BYTE_ARRAY of length %d", e->type_length);
    if (is_dec) {
      if (e->type_length > 16)
        return unsup(l, "decimal stored in %d bytes", e->type_length);
      if (set_decimal(l, e)) l->conv = PQC_DEC_BYTES;
      return;
    }
    if (lt == PQL_UUID) {
      if (e->type_length != 16)
        return unsup(l, "UUID of %d bytes", e->type_length);
      l->vtype.id = COL_UUID;
      l->conv = PQC_UUID;
      return;
    }
    if (lt == 0 && ct == -1) {
      l->vtype.id = COL_BINARY;
      l->conv = PQC_BYTES;
      return;
    }
    break;
  default: unsup(l, "physical type %d", e->type); return;
  }
  if (lt)
    unsup(l, "%s with logical type %d", pq_type_name(e->type), lt);
  else
    unsup(l, "%s with converted type %s", pq_type_name(e->type),
          pq_converted_name(ct));
}

/* Builds r->fields from the schema: one entry per child of the root. */
static floe_status map_schema(pq_reader *r, floe_error *err) {
  const pq_footer *f = &r->f;
  const pq_schema_elem *root = &f->schema[0];
  int nchild = root->num_children;
  if (nchild > f->nschema - 1)
    return ferr_corrupt(err,
                        "%s: schema root claims %d children, only %d "
                        "elements follow",
                        r->name, nchild, f->nschema - 1);
  r->fields = calloc(nchild ? (size_t)nchild : 1, sizeof *r->fields);
  if (!r->fields) return ferr_nomem(err, (size_t)nchild * sizeof *r->fields);
  r->nfields = nchild;
  int i = 1, leaves = 0;
  bool any_id = false;
  int32_t max_id = 0;
  for (int c = 0; c < nchild; c++) {
    pq_leaf *l = &r->fields[c];
    const pq_schema_elem *e = &f->schema[i];
    int end, nl = 0;
    FLOE_TRY(subtree(f, i, 1, &end, &nl, r->name, err));
    l->field.name = e->name;
    l->chunk = leaves;
    l->field.id = e->has_field_id ? e->field_id : 0;
    l->id_given = e->has_field_id;
    if (e->has_field_id) {
      any_id = true;
      if (e->field_id > max_id) max_id = e->field_id;
    }
    l->supported = false;
    if (e->repetition < 0 || e->repetition > PQR_REPEATED) {
      unsup(l, "missing repetition");
    } else if (e->num_children == 0 && e->repetition != PQR_REPEATED) {
      l->elem = i;
      map_scalar(l, e);
      l->field.type = l->vtype;
      l->field.nullable = e->repetition == PQR_OPTIONAL;
      l->max_def = l->field.nullable ? 1 : 0;
    } else if (e->num_children == 0) {
      /* legacy 2-level: a bare repeated primitive is a required list of
       * required elements */
      l->elem = i;
      map_scalar(l, e);
      l->is_list = true;
      l->list_def = 0;
      l->elem_def = 1;
      l->max_def = 1;
      l->max_rep = 1;
      l->field.nullable = false;
      l->field.elem_nullable = false;
      l->field.elem_id = 0;
    } else if (is_list_annot(e) && e->num_children == 1 &&
               f->schema[i + 1].repetition == PQR_REPEATED) {
      const pq_schema_elem *rep = &f->schema[i + 1];
      int list_def = e->repetition == PQR_OPTIONAL ? 1 : 0;
      const pq_schema_elem *el = NULL;
      char tuple[300];
      snprintf(tuple, sizeof tuple, "%s_tuple", e->name);
      if (rep->num_children == 0) {
        el = rep; /* 2-level: the repeated field is the element */
        l->elem = i + 1;
      } else if (rep->num_children == 1 && strcmp(rep->name, "array") &&
                 strcmp(rep->name, tuple) &&
                 f->schema[i + 2].num_children == 0) {
        el = &f->schema[i + 2];
        l->elem = i + 2;
      }
      if (!el) {
        unsup(l, "lists of structs or nested lists are not supported");
      } else if (el->repetition == PQR_REPEATED && el != rep) {
        unsup(l, "repeated list element");
      } else {
        map_scalar(l, el);
        l->is_list = true;
        l->list_def = list_def;
        l->elem_def = list_def + 1;
        bool elem_opt = el->repetition == PQR_OPTIONAL;
        l->max_def = l->elem_def + (elem_opt ? 1 : 0);
        l->max_rep = 1;
        l->field.nullable = list_def == 1;
        l->field.elem_nullable = elem_opt;
        l->field.elem_id = el->has_field_id ? el->field_id : 0;
        l->elem_id_given = el->has_field_id;
        if (el->has_field_id) {
          any_id = true;
          if (el->field_id > max_id) max_id = el->field_id;
        }
      }
    } else {
      unsup(l, "%s are not supported",
            e->converted_type == PQCT_MAP || e->logical.ltype == PQL_MAP ||
                    e->converted_type == PQCT_MAP_KEY_VALUE
                ? "maps"
                : "structs and nested groups");
    }
    if (l->is_list && l->supported) {
      l->field.type.id = COL_LIST;
      l->field.type.elem = l->vtype.id;
      l->field.type.elem_precision = l->vtype.precision;
      l->field.type.elem_scale = l->vtype.scale;
    }
    if (l->supported && nl != 1)
      return ferr_corrupt(err, "%s: field %s maps to %d leaf columns", r->name,
                          e->name, nl);
    leaves += nl;
    i = end;
  }
  if (i != f->nschema)
    return ferr_corrupt(err, "%s: schema has %d elements, the tree uses %d",
                        r->name, f->nschema, i);
  r->nleaves_total = leaves;
  /* Ids: a file without any gets 1..n for its fields, then fresh ids for
   * list elements; a file with some gets fresh ids above the largest for
   * the ones missing, so ids never collide. */
  int32_t next = any_id ? max_id + 1 : 1;
  if (next < 1) next = 1;
  for (int c = 0; c < nchild; c++)
    if (!r->fields[c].id_given) r->fields[c].field.id = next++;
  for (int c = 0; c < nchild; c++)
    if (r->fields[c].is_list && !r->fields[c].elem_id_given)
      r->fields[c].field.elem_id = next++;
  return FLOE_OK;
}

/* ---- column chunk reader ---- */

static int phys_width(int phys) {
  switch (phys) {
  case PQT_INT32:
  case PQT_FLOAT: return 4;
  case PQT_INT64:
  case PQT_DOUBLE: return 8;
  case PQT_BOOLEAN: return 1;
  }
  return 0; /* byte arrays: slices */
}

static bool phys_is_slice(int phys) {
  return phys == PQT_BYTE_ARRAY || phys == PQT_FIXED_LEN_BYTE_ARRAY;
}

static floe_status colr_init(pq_colr *r, const pq_leaf *leaf, const char *fname,
                             size_t max_alloc, floe_error *err) {
  memset(r, 0, sizeof *r);
  r->leaf = leaf;
  r->fname = fname;
  r->max_alloc = max_alloc;
  r->wrep = malloc(WIN * sizeof *r->wrep);
  r->wdef = malloc(WIN * sizeof *r->wdef);
  r->idx = malloc(WIN * sizeof *r->idx);
  r->vfix = malloc(WIN * 16);
  r->vslice = malloc(WIN * sizeof *r->vslice);
  r->vtmp = malloc(WIN * sizeof *r->vtmp);
  if (!r->wrep || !r->wdef || !r->idx || !r->vfix || !r->vslice || !r->vtmp)
    return ferr_nomem(err, WIN * 64);
  return FLOE_OK;
}

static void colr_free(pq_colr *r) {
  fbuf_free(&r->chunk);
  fbuf_free(&r->dict_buf);
  fbuf_free(&r->dict_vals);
  fbuf_free(&r->page_buf);
  pq_dba_free(&r->vdba);
  free(r->wrep);
  free(r->wdef);
  free(r->idx);
  free(r->vfix);
  free(r->vslice);
  free(r->vtmp);
}

static floe_status read_src(pq_reader *R, uint64_t off, void *buf, size_t n,
                            floe_error *err) {
  if (off > R->src.size || n > R->src.size - off)
    return ferr_corrupt(err,
                        "%s at offset %llu: read of %zu bytes past the "
                        "end of the file",
                        R->name, (unsigned long long)off, n);
  if (n == 0) return FLOE_OK;
  if (R->src.mem) {
    memcpy(buf, R->src.mem + off, n);
    return FLOE_OK;
  }
  return R->src.read_at(R->src.ctx, off, buf, n, err);
}

/* Starts column chunk rg/leaf->chunk and resets page state: the whole chunk
 * is read into memory, or with lazy nothing yet (pages are read one by one
 * as they are reached, and pages skipped are never read). */
static floe_status colr_begin_chunk(pq_reader *R, pq_colr *r, int rg, bool lazy,
                                    floe_error *err) {
  const pq_leaf *l = r->leaf;
  const pq_row_group *g = &R->f.row_groups[rg];
  const pq_chunk *c = &g->columns[l->chunk];
  r->page_off = 0;
  if (c->file_path)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "%s: column %s: chunk in another file (%s)", R->name,
                    l->field.name, c->file_path);
  if (!c->has_meta)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "%s: column %s: chunk without metadata (encrypted?)",
                    R->name, l->field.name);
  const pq_col_meta *m = &c->meta;
  if (m->type != l->phys)
    return ferr_corrupt(err, "%s: column %s: chunk type %s, schema says %s",
                        R->name, l->field.name, pq_type_name(m->type),
                        pq_type_name(l->phys));
  if (m->codec != PQ_CODEC_NONE && m->codec != PQ_CODEC_SNAPPY &&
      m->codec != PQ_CODEC_GZIP && m->codec != PQ_CODEC_ZSTD)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "%s: column %s: compression codec %d is not supported",
                    R->name, l->field.name, m->codec);
  int64_t start = m->data_page_offset;
  if (m->has_dictionary_page_offset && m->dictionary_page_offset > 0 &&
      m->dictionary_page_offset < start)
    start = m->dictionary_page_offset;
  /* pq_footer_validate checked the range lies inside the data */
  size_t n = (size_t)m->total_compressed_size;
  if (n > R->max_alloc)
    return ferr_set(err, FLOE_ENOMEM,
                    "%s: column %s: chunk of %zu bytes exceeds the "
                    "allocation cap",
                    R->name, l->field.name, n);
  fbuf_reset(&r->chunk);
  if (!lazy) {
    FLOE_TRY(fbuf_reserve(&r->chunk, n, err));
    FLOE_TRY(read_src(R, (uint64_t)start, r->chunk.data, n, err));
    r->chunk.len = n;
  }
  r->lazy = lazy;
  r->chunk_off = (uint64_t)start;
  r->chunk_total = n;
  r->win_pos = 0;
  r->cpos = 0;
  r->codec = m->codec;
  r->values_left = m->num_values;
  r->rows_left = g->num_rows;
  r->seen_data = false;
  r->has_dict = false;
  r->dict_n = 0;
  r->page_left = 0;
  r->wn = r->wpos = 0;
  r->row_open = false;
  return FLOE_OK;
}

static floe_status decompress(pq_reader *R, pq_colr *r, const uint8_t *src,
                              size_t n, size_t out_len, fbuf *dst,
                              floe_error *err) {
  if (out_len > R->max_alloc)
    return colr_fail(r, err, "page of %zu bytes exceeds the allocation cap",
                     out_len);
  fbuf_reset(dst);
  FLOE_TRY(fbuf_reserve(dst, out_len ? out_len : 1, err));
  if (r->codec == PQ_CODEC_ZSTD && !R->zdctx) R->zdctx = pq_zstd_dctx_new();
  floe_status st = pq_decompress((pq_codec)r->codec, R->zdctx, src, n,
                                 dst->data, out_len, err);
  if (st != FLOE_OK) return colr_ctx(r, st, err);
  dst->len = out_len;
  return FLOE_OK;
}

static floe_status load_dict(pq_reader *R, pq_colr *r, const pq_page_header *h,
                             const uint8_t *body, floe_error *err) {
  const pq_leaf *l = r->leaf;
  if (r->has_dict || r->seen_data)
    return colr_fail(r, err, "unexpected dictionary page");
  if (h->encoding != PQE_PLAIN && h->encoding != PQE_PLAIN_DICTIONARY)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "%s: column %s: dictionary encoding %s is not supported",
                    r->fname, l->field.name, pq_encoding_name(h->encoding));
  if (l->phys == PQT_BOOLEAN)
    return colr_fail(r, err, "dictionary page for a boolean column");
  FLOE_TRY(decompress(R, r, body, (size_t)h->compressed_size,
                      (size_t)h->uncompressed_size, &r->dict_buf, err));
  fcur c = fcur_make(r->dict_buf.data, r->dict_buf.len, R->name, 0);
  size_t n = (size_t)h->num_values;
  fbuf_reset(&r->dict_vals);
  floe_status st;
  if (phys_is_slice(l->phys)) {
    /* each entry takes >= 4 bytes (BYTE_ARRAY) or type_length (FLBA) */
    size_t minw = l->phys == PQT_BYTE_ARRAY ? 4 : (size_t)l->type_length;
    if (n > c.len / (minw ? minw : 1))
      return colr_fail(r, err, "dictionary of %zu entries in %zu bytes", n,
                       c.len);
    FLOE_TRY(fbuf_reserve(&r->dict_vals, n * sizeof(pq_slice) + 1, err));
    pq_slice *s = (pq_slice *)(void *)r->dict_vals.data;
    st = l->phys == PQT_BYTE_ARRAY
             ? pq_plain_bytes(&c, n, s, err)
             : pq_plain_flba(&c, n, (uint32_t)l->type_length, s, err);
  } else {
    int w = phys_width(l->phys);
    if (n > c.len / (size_t)w)
      return colr_fail(r, err, "dictionary of %zu entries in %zu bytes", n,
                       c.len);
    FLOE_TRY(fbuf_reserve(&r->dict_vals, n * (size_t)w + 1, err));
    st = pq_plain_fixed(&c, w, n, r->dict_vals.data, err);
  }
  if (st != FLOE_OK) return colr_ctx(r, st, err);
  r->dict_n = (uint32_t)n;
  r->has_dict = true;
  return FLOE_OK;
}

/* Opens a level stream of n entries at *p (v1: with encoding and length
 * prefix). */
static floe_status open_levels_v1(pq_colr *r, fcur *c, int enc, int max,
                                  uint32_t n, pq_rle *out, floe_error *err) {
  int bw = fbit_width((uint64_t)max);
  if (enc == PQE_RLE) {
    uint32_t len;
    if (fcur_left(c) < 4) return colr_fail(r, err, "levels length missing");
    len = fle32(c->p + c->pos);
    c->pos += 4;
    if (len > fcur_left(c))
      return colr_fail(r, err, "levels of %u bytes, only %zu left", len,
                       fcur_left(c));
    pq_rle_init(out, c->p + c->pos, len, bw);
    c->pos += len;
    return FLOE_OK;
  }
  if (enc == PQE_BIT_PACKED) {
    size_t bytes = ((size_t)n * (size_t)bw + 7) / 8;
    if (bytes > fcur_left(c))
      return colr_fail(r, err, "bit-packed levels past the page end");
    pq_bitpacked_init(out, c->p + c->pos, bytes, bw, n);
    c->pos += bytes;
    return FLOE_OK;
  }
  return ferr_set(err, FLOE_EUNSUPPORTED,
                  "%s: column %s: level encoding %s is not supported", r->fname,
                  r->leaf->field.name, pq_encoding_name(enc));
}

/* Sets up the value decoder for the values at p[0..n). */
static floe_status open_values(pq_reader *R, pq_colr *r, int enc,
                               const uint8_t *p, size_t n, uint32_t nvals,
                               floe_error *err) {
  const pq_leaf *l = r->leaf;
  floe_status st = FLOE_OK;
  r->enc = enc;
  switch (enc) {
  case PQE_PLAIN:
    r->vc = fcur_make(p, n, R->name, 0);
    r->vbit = 0;
    return FLOE_OK;
  case PQE_PLAIN_DICTIONARY:
  case PQE_RLE_DICTIONARY:
    if (!r->has_dict)
      return colr_fail(r, err, "dictionary-encoded page without a dictionary");
    if (n == 0) { /* all nulls: no bit width byte */
      pq_rle_init(&r->vrle, p, 0, 0);
      return FLOE_OK;
    }
    if (p[0] > 32) return colr_fail(r, err, "dictionary index width %d", p[0]);
    pq_rle_init(&r->vrle, p + 1, n - 1, p[0]);
    return FLOE_OK;
  case PQE_RLE:
    if (l->phys != PQT_BOOLEAN) break;
    if (n < 4) return colr_fail(r, err, "RLE booleans without a length");
    if (fle32(p) > n - 4)
      return colr_fail(r, err, "RLE booleans of %u bytes, only %zu left",
                       fle32(p), n - 4);
    pq_rle_init(&r->vrle, p + 4, fle32(p), 1);
    return FLOE_OK;
  case PQE_DELTA_BINARY_PACKED:
    if (l->phys != PQT_INT32 && l->phys != PQT_INT64) break;
    st = pq_delta_init(&r->vdelta, p, n, l->phys == PQT_INT32, nvals, err);
    return colr_ctx(r, st, err);
  case PQE_DELTA_LENGTH_BYTE_ARRAY:
    if (l->phys != PQT_BYTE_ARRAY) break;
    st = pq_dlba_init(&r->vdlba, p, n, nvals, err);
    return colr_ctx(r, st, err);
  case PQE_DELTA_BYTE_ARRAY:
    if (!phys_is_slice(l->phys)) break;
    st = pq_dba_init(&r->vdba, p, n, nvals, R->max_alloc, err);
    return colr_ctx(r, st, err);
  case PQE_BYTE_STREAM_SPLIT: {
    int w = phys_width(l->phys);
    if (l->phys == PQT_FIXED_LEN_BYTE_ARRAY && l->type_length <= 16)
      w = l->type_length;
    if (w == 0 || l->phys == PQT_BOOLEAN) break;
    st = pq_bss_init(&r->vbss, p, n, w, err);
    return colr_ctx(r, st, err);
  }
  }
  return ferr_set(err, FLOE_EUNSUPPORTED,
                  "%s: column %s: encoding %s is not supported for %s",
                  r->fname, l->field.name, pq_encoding_name(enc),
                  pq_type_name(l->phys));
}

/* Advances to the next data page. *got = false at the end of the chunk. */
/* Bytes [pos, pos + n) of the current chunk (inside it), read into the
 * window first when the chunk is read lazily. The pointer lives until the
 * next call. */
static floe_status colr_window(pq_reader *R, pq_colr *r, size_t pos, size_t n,
                               const uint8_t **out, floe_error *err) {
  if (pos >= r->win_pos && n <= r->chunk.len &&
      pos - r->win_pos <= r->chunk.len - n) {
    *out = r->chunk.data + (pos - r->win_pos);
    return FLOE_OK;
  }
  /* only a lazy chunk gets here: an eager one holds every byte */
  if (n > R->max_alloc)
    return colr_fail(r, err, "page of %zu bytes exceeds the allocation cap", n);
  fbuf_reset(&r->chunk);
  FLOE_TRY(fbuf_reserve(&r->chunk, n ? n : 1, err));
  FLOE_TRY(read_src(R, r->chunk_off + pos, r->chunk.data, n, err));
  r->chunk.len = n;
  r->win_pos = pos;
  *out = r->chunk.data;
  return FLOE_OK;
}

/* Header bytes read first from a lazy chunk (a larger header is read again
 * whole: statistics can make one long). */
#define HDR_WIN 128

/* Moves to the chunk's next data page (loading a dictionary page on the
 * way); *got false at the chunk's end. With skip, whole data pages whose row
 * count the header gives (flat columns; DataPageV2) and that end within the
 * *skip rows to skip are passed over unread and subtracted from *skip. */
static floe_status colr_next_page_skip(pq_reader *R, pq_colr *r, int64_t *skip,
                                       bool *got, floe_error *err) {
  const pq_leaf *l = r->leaf;
  *got = false;
  while (r->cpos < r->chunk_total) {
    size_t left = r->chunk_total - r->cpos;
    size_t w = r->lazy && left > HDR_WIN ? HDR_WIN : left;
    r->page_off = r->chunk_off + r->cpos;
    pq_page_header h;
    size_t hlen;
    for (;;) {
      const uint8_t *p;
      FLOE_TRY(colr_window(R, r, r->cpos, w, &p, err));
      tc_reader t;
      tc_reader_init(&t, p, w, R->name, (size_t)r->page_off);
      floe_status st = pq_page_header_parse(&t, &h, err);
      if (st == FLOE_OK) {
        hlen = t.c.pos;
        break;
      }
      if (w == left) return st;
      w = w > left / 8 ? left : w * 8;
    }
    if ((size_t)h.compressed_size > left - hlen)
      return colr_fail(r, err,
                       "page of %d bytes, only %zu left in the column chunk",
                       (int)h.compressed_size, left - hlen);
    size_t body_pos = r->cpos + hlen;
    r->cpos = body_pos + (size_t)h.compressed_size;
    if (h.type != PQP_DICTIONARY_PAGE && h.type != PQP_DATA_PAGE &&
        h.type != PQP_DATA_PAGE_V2)
      continue; /* index pages and unknown page types carry no values */
    if (!h.has_body)
      return colr_fail(r, err, "page header without its %s header",
                       h.type == PQP_DICTIONARY_PAGE ? "dictionary" : "data");
    const uint8_t *body;
    if (h.type == PQP_DICTIONARY_PAGE) {
      FLOE_TRY(
          colr_window(R, r, body_pos, (size_t)h.compressed_size, &body, err));
      FLOE_TRY(load_dict(R, r, &h, body, err));
      continue;
    }
    r->seen_data = true;
    uint32_t nv = (uint32_t)h.num_values;
    if ((int64_t)nv > r->values_left)
      return colr_fail(r, err, "pages hold more than the chunk's %lld values",
                       (long long)(r->values_left));
    r->values_left -= nv;
    /* a flat column has one level entry per row */
    int64_t rows_before = r->rows_left;
    if (!l->is_list) {
      if ((int64_t)nv > r->rows_left)
        return colr_fail(r, err, "page of %u values, only %lld rows left", nv,
                         (long long)r->rows_left);
      r->rows_left -= nv;
    }
    if (h.type == PQP_DATA_PAGE_V2) {
      if (h.rep_length < 0 || h.def_length < 0 ||
          (int64_t)h.rep_length + h.def_length > h.compressed_size ||
          (int64_t)h.rep_length + h.def_length > h.uncompressed_size)
        return colr_fail(r, err, "level lengths %d+%d exceed the page",
                         (int)h.rep_length, (int)h.def_length);
      if (h.num_rows < 0 || h.num_rows > rows_before ||
          (int64_t)h.num_rows > (int64_t)nv ||
          (!l->is_list && h.num_rows != (int32_t)nv))
        return colr_fail(r, err,
                         "page of %d rows and %u values, %lld rows "
                         "left",
                         (int)h.num_rows, nv, (long long)rows_before);
      if (h.num_nulls < 0 || (uint32_t)h.num_nulls > nv)
        return colr_fail(r, err, "page has %d nulls in %u values",
                         (int)h.num_nulls, nv);
      if (l->is_list) r->rows_left -= h.num_rows;
    }
    /* rows the page holds, when the header says (a v1 page of a list
     * column only counts values) */
    int64_t prows = !l->is_list                  ? (int64_t)nv
                    : h.type == PQP_DATA_PAGE_V2 ? (int64_t)h.num_rows
                                                 : -1;
    if (skip && prows >= 0 && prows <= *skip) {
      *skip -= prows;
      continue;
    }
    FLOE_TRY(
        colr_window(R, r, body_pos, (size_t)h.compressed_size, &body, err));
    const uint8_t *vals;
    size_t vlen;
    if (h.type == PQP_DATA_PAGE) {
      /* an uncompressed page is read where it lies: the chunk is in memory */
      const uint8_t *page = body;
      size_t plen = (size_t)h.compressed_size;
      if (r->codec != PQ_CODEC_NONE) {
        FLOE_TRY(decompress(R, r, body, (size_t)h.compressed_size,
                            (size_t)h.uncompressed_size, &r->page_buf, err));
        page = r->page_buf.data;
        plen = r->page_buf.len;
      } else if (h.compressed_size != h.uncompressed_size) {
        return colr_fail(r, err, "uncompressed page of %d bytes claims %d",
                         (int)h.compressed_size, (int)h.uncompressed_size);
      }
      fcur c = fcur_make(page, plen, R->name, 0);
      if (l->max_rep > 0)
        FLOE_TRY(open_levels_v1(r, &c, h.rep_encoding, l->max_rep, nv, &r->rep,
                                err));
      if (l->max_def > 0)
        FLOE_TRY(open_levels_v1(r, &c, h.def_encoding, l->max_def, nv, &r->def,
                                err));
      vals = c.p + c.pos;
      vlen = fcur_left(&c);
    } else {
      if (l->max_rep > 0)
        pq_rle_init(&r->rep, body, (size_t)h.rep_length,
                    fbit_width((uint64_t)l->max_rep));
      if (l->max_def > 0)
        pq_rle_init(&r->def, body + h.rep_length, (size_t)h.def_length,
                    fbit_width((uint64_t)l->max_def));
      size_t lv = (size_t)h.rep_length + (size_t)h.def_length;
      size_t clen = (size_t)h.compressed_size - lv;
      size_t ulen = (size_t)h.uncompressed_size - lv;
      if (h.is_compressed && r->codec != PQ_CODEC_NONE) {
        FLOE_TRY(decompress(R, r, body + lv, clen, ulen, &r->page_buf, err));
        vals = r->page_buf.data;
        vlen = ulen;
      } else {
        if (clen != ulen)
          return colr_fail(r, err, "uncompressed page of %zu bytes claims %zu",
                           clen, ulen);
        vals = body + lv;
        vlen = clen;
      }
    }
    FLOE_TRY(open_values(R, r, h.encoding, vals, vlen, nv, err));
    r->page_left = nv;
    *got = true;
    return FLOE_OK;
  }
  return FLOE_OK;
}

static floe_status colr_next_page(pq_reader *R, pq_colr *r, bool *got,
                                  floe_error *err) {
  return colr_next_page_skip(R, r, NULL, got, err);
}

/* ---- values ---- */

/* Decodes the next n (<= WIN) values of the page into vfix / vslice. */
static floe_status colr_values(pq_colr *r, size_t n, floe_error *err) {
  const pq_leaf *l = r->leaf;
  if (n == 0) return FLOE_OK;
  int w = phys_width(l->phys);
  bool sl = phys_is_slice(l->phys);
  floe_status st = FLOE_OK;
  switch (r->enc) {
  case PQE_PLAIN:
    if (l->phys == PQT_BOOLEAN)
      st = pq_plain_bool(&r->vc, &r->vbit, n, r->vfix, err);
    else if (l->phys == PQT_BYTE_ARRAY)
      st = pq_plain_bytes(&r->vc, n, r->vslice, err);
    else if (l->phys == PQT_FIXED_LEN_BYTE_ARRAY)
      st = pq_plain_flba(&r->vc, n, (uint32_t)l->type_length, r->vslice, err);
    else
      st = pq_plain_fixed(&r->vc, w, n, r->vfix, err);
    break;
  case PQE_PLAIN_DICTIONARY:
  case PQE_RLE_DICTIONARY:
    if (r->dict_n == 0)
      return colr_fail(r, err, "dictionary index into an empty dictionary");
    st = pq_rle_get(&r->vrle, r->idx, n, r->dict_n - 1, err);
    if (st != FLOE_OK) break;
    if (sl) {
      const pq_slice *d = (const pq_slice *)(const void *)r->dict_vals.data;
      for (size_t i = 0; i < n; i++) r->vslice[i] = d[r->idx[i]];
    } else if (w == 4) {
      for (size_t i = 0; i < n; i++)
        memcpy(r->vfix + 4 * i, r->dict_vals.data + 4 * (size_t)r->idx[i], 4);
    } else {
      for (size_t i = 0; i < n; i++)
        memcpy(r->vfix + 8 * i, r->dict_vals.data + 8 * (size_t)r->idx[i], 8);
    }
    break;
  case PQE_RLE:
    st = pq_rle_get(&r->vrle, r->idx, n, 1, err);
    for (size_t i = 0; st == FLOE_OK && i < n; i++)
      r->vfix[i] = (uint8_t)r->idx[i];
    break;
  case PQE_DELTA_BINARY_PACKED:
    st = pq_delta_get(&r->vdelta, r->vtmp, n, err);
    if (st != FLOE_OK) break;
    if (l->phys == PQT_INT32) {
      for (size_t i = 0; i < n; i++) {
        int32_t v = (int32_t)r->vtmp[i];
        memcpy(r->vfix + 4 * i, &v, 4);
      }
    } else {
      memcpy(r->vfix, r->vtmp, 8 * n);
    }
    break;
  case PQE_DELTA_LENGTH_BYTE_ARRAY:
    st = pq_dlba_get(&r->vdlba, r->vslice, n, err);
    break;
  case PQE_DELTA_BYTE_ARRAY:
    st = pq_dba_get(&r->vdba, r->vslice, n, err);
    if (st == FLOE_OK && l->phys == PQT_FIXED_LEN_BYTE_ARRAY)
      for (size_t i = 0; i < n; i++)
        if (r->vslice[i].n != (uint32_t)l->type_length)
          return colr_fail(r, err, "fixed-length value of %u bytes",
                           r->vslice[i].n);
    break;
  case PQE_BYTE_STREAM_SPLIT:
    st = pq_bss_get(&r->vbss, r->vfix, n, err);
    if (st == FLOE_OK && sl)
      for (size_t i = 0; i < n; i++) {
        r->vslice[i].p = r->vfix + i * (size_t)l->type_length;
        r->vslice[i].n = (uint32_t)l->type_length;
      }
    break;
  }
  return colr_ctx(r, st, err);
}

/* Big-endian two's complement of n bytes -> 128-bit little-endian halves. */
static bool be_to_dec(const uint8_t *p, size_t n, uint64_t *lo, int64_t *hi) {
  if (n == 0) return false;
  /* longer than 16 bytes is fine if the extra bytes only extend the sign */
  uint8_t sign = (p[0] & 0x80) ? 0xff : 0;
  while (n > 16) {
    if (p[0] != sign) return false;
    p++;
    n--;
  }
  if (n == 16 && ((p[0] & 0x80) ? 0xff : 0) != sign) return false;
  uint8_t b[16];
  memset(b, sign, 16);
  for (size_t i = 0; i < n; i++) b[i] = p[n - 1 - i];
  memcpy(lo, b, 8);
  uint64_t h;
  memcpy(&h, b + 8, 8);
  *hi = (int64_t)h;
  return true;
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

/* Appends physical values [from, from + n) of f (fixed width) or s (byte
 * arrays) to dst, converted to the leaf's floe type. */
static floe_status convert_vals(const pq_leaf *l, const char *fname,
                                const uint8_t *f, const pq_slice *s,
                                col_column *dst, size_t from, size_t n,
                                size_t cap, floe_error *err) {
  size_t end = from + n;
  uint8_t *out;
  switch (l->conv) {
  case PQC_BOOL:
    for (size_t i = from; i < end; i++)
      FLOE_TRY(col_append_bool(dst, f[i] != 0, err));
    return FLOE_OK;
  case PQC_I16:
    for (size_t i = from; i < end; i++) {
      int32_t v;
      memcpy(&v, f + 4 * i, 4);
      if (v < INT16_MIN || v > INT16_MAX)
        return ferr_set(err, FLOE_ERANGE,
                        "%s: column %s: value %d does not fit int16", fname,
                        l->field.name, (int)v);
      FLOE_TRY(col_append_i16(dst, (int16_t)v, err));
    }
    return FLOE_OK;
  case PQC_I32:
  case PQC_F32:
    /* same bytes on both sides: one copy for the whole run */
    FLOE_TRY(col_extend_fixed(dst, (int64_t)n, &out, err));
    memcpy(out, f + 4 * from, 4 * n);
    return FLOE_OK;
  case PQC_U32:
    for (size_t i = from; i < end; i++) {
      uint32_t v;
      memcpy(&v, f + 4 * i, 4);
      FLOE_TRY(col_append_i64(dst, (int64_t)v, err));
    }
    return FLOE_OK;
  case PQC_I32_MUL:
    for (size_t i = from; i < end; i++) {
      int32_t v;
      memcpy(&v, f + 4 * i, 4);
      FLOE_TRY(col_append_i64(dst, (int64_t)v * l->mul, err));
    }
    return FLOE_OK;
  case PQC_I64:
    if (l->mul == 1 && l->div == 1) {
      FLOE_TRY(col_extend_fixed(dst, (int64_t)n, &out, err));
      memcpy(out, f + 8 * from, 8 * n);
      return FLOE_OK;
    }
    for (size_t i = from; i < end; i++) {
      int64_t v;
      memcpy(&v, f + 8 * i, 8);
      if (l->mul != 1) {
        if (v > INT64_MAX / l->mul || v < INT64_MIN / l->mul)
          return ferr_set(err, FLOE_ERANGE,
                          "%s: column %s: value %lld overflows microseconds",
                          fname, l->field.name, (long long)v);
        v *= l->mul;
      } else if (l->div != 1) {
        v = floor_div(v, l->div);
      }
      FLOE_TRY(col_append_i64(dst, v, err));
    }
    return FLOE_OK;
  case PQC_F64:
    FLOE_TRY(col_extend_fixed(dst, (int64_t)n, &out, err));
    memcpy(out, f + 8 * from, 8 * n);
    return FLOE_OK;
  case PQC_DEC32:
    /* sign-extend into 128-bit little-endian slots */
    FLOE_TRY(col_extend_fixed(dst, (int64_t)n, &out, err));
    for (size_t i = 0; i < n; i++, out += 16) {
      int32_t v;
      memcpy(&v, f + 4 * (from + i), 4);
      int64_t lo = v, hi = v < 0 ? -1 : 0;
      memcpy(out, &lo, 8);
      memcpy(out + 8, &hi, 8);
    }
    return FLOE_OK;
  case PQC_DEC64:
    FLOE_TRY(col_extend_fixed(dst, (int64_t)n, &out, err));
    for (size_t i = 0; i < n; i++, out += 16) {
      int64_t lo, hi;
      memcpy(&lo, f + 8 * (from + i), 8);
      hi = lo < 0 ? -1 : 0;
      memcpy(out, &lo, 8);
      memcpy(out + 8, &hi, 8);
    }
    return FLOE_OK;
  case PQC_DEC_BYTES:
    for (size_t i = from; i < end; i++) {
      uint64_t lo;
      int64_t hi;
      if (!be_to_dec(s[i].p, s[i].n, &lo, &hi))
        return ferr_set(err, FLOE_ERANGE,
                        "%s: column %s: decimal of %u bytes does not fit "
                        "128 bits",
                        fname, l->field.name, s[i].n);
      FLOE_TRY(col_append_dec(dst, lo, hi, err));
    }
    return FLOE_OK;
  case PQC_BYTES: {
    /* dictionary entries can repeat: a small file can describe huge
     * batches, so the batch's bytes are capped like any allocation; sizing
     * the run first also makes room once for all of it */
    size_t total = 0;
    for (size_t i = from; i < end; i++) total += s[i].n;
    if (total > cap - dst->values.len)
      return ferr_set(err, FLOE_ENOMEM,
                      "%s: column %s: batch exceeds the allocation cap of "
                      "%zu bytes (lower batch_rows)",
                      fname, l->field.name, cap);
    FLOE_TRY(col_reserve(dst, (int64_t)n, total, err));
    for (size_t i = from; i < end; i++)
      FLOE_TRY(col_append_bytes(dst, s[i].p, s[i].n, err));
    return FLOE_OK;
  }
  case PQC_UUID:
    for (size_t i = from; i < end; i++) {
      if (s[i].n != 16)
        return ferr_corrupt(err, "%s: column %s: uuid of %u bytes", fname,
                            l->field.name, s[i].n);
      FLOE_TRY(col_append_uuid(dst, s[i].p, err));
    }
    return FLOE_OK;
  }
  return FLOE_OK;
}

static floe_status append_vals(pq_colr *r, col_column *dst, size_t from,
                               size_t n, floe_error *err) {
  return convert_vals(r->leaf, r->fname, r->vfix, r->vslice, dst, from, n,
                      r->max_alloc, err);
}

floe_status pq_leaf_append_plain(const pq_leaf *l, const uint8_t *p, size_t n,
                                 col_column *dst, floe_error *err) {
  uint8_t fix[16] = {0};
  pq_slice s = {p, (uint32_t)n};
  if (!phys_is_slice(l->phys)) {
    size_t w = (size_t)phys_width(l->phys);
    if (n != w)
      return ferr_corrupt(err, "statistics value of %zu bytes for %s", n,
                          pq_type_name(l->phys));
    memcpy(fix, p, n);
  } else if (n > UINT32_MAX) {
    return ferr_corrupt(err, "statistics value too long");
  }
  return convert_vals(l, "statistics", fix, &s, dst, 0, 1, SIZE_MAX, err);
}

/* Decodes the next window of levels. */
static floe_status colr_refill(pq_colr *r, floe_error *err) {
  const pq_leaf *l = r->leaf;
  size_t n = r->page_left < WIN ? (size_t)r->page_left : WIN;
  floe_status st = FLOE_OK;
  if (l->max_rep > 0)
    st = pq_rle_get(&r->rep, r->wrep, n, (uint32_t)l->max_rep, err);
  if (st == FLOE_OK && l->max_def > 0)
    st = pq_rle_get(&r->def, r->wdef, n, (uint32_t)l->max_def, err);
  if (st != FLOE_OK) return colr_ctx(r, st, err);
  if (l->max_def == 0)
    for (size_t i = 0; i < n; i++) r->wdef[i] = 0;
  r->page_left -= (int64_t)n;
  r->wn = n;
  r->wpos = 0;
  return FLOE_OK;
}

/* Reads the next k rows of the chunk, appending those with live[i] != 0
 * (live NULL = all) to out. */
static floe_status colr_read(pq_reader *R, pq_colr *r, int64_t k,
                             const uint8_t *live, col_column *out,
                             floe_error *err) {
  const pq_leaf *l = r->leaf;
  const uint32_t maxd = (uint32_t)l->max_def;
  int64_t done = 0; /* rows started in this call */
  col_column *child = l->is_list ? out->child : out;
  for (;;) {
    if (!l->is_list && done == k) break;
    if (r->wpos == r->wn) {
      if (r->page_left == 0) {
        bool got;
        FLOE_TRY(colr_next_page(R, r, &got, err));
        if (!got) {
          if (done == k) break;
          return colr_fail(r, err, "column chunk ends after %lld of its rows",
                           (long long)done);
        }
        continue;
      }
      FLOE_TRY(colr_refill(r, err));
    }
    size_t s = r->wpos, e = s;
    if (!l->is_list) {
      int64_t m = (int64_t)(r->wn - s);
      if (m > k - done) m = k - done;
      e = s + (size_t)m;
    } else {
      int64_t started = done;
      while (e < r->wn) {
        if (r->wrep[e] == 0) {
          if (started == k) break;
          started++;
        }
        e++;
      }
      if (e == s) break; /* the next entry starts a row of the next call */
    }
    size_t nv = 0;
    for (size_t i = s; i < e; i++) nv += r->wdef[i] == maxd;
    FLOE_TRY(colr_values(r, nv, err));
    size_t vi = 0;
    if (!l->is_list) {
      size_t i = s;
      while (i < e) {
        bool lv = !live || live[done + (int64_t)(i - s)];
        if (r->wdef[i] < maxd) {
          if (lv) FLOE_TRY(col_append_null(out, err));
          i++;
          continue;
        }
        /* a run of present values with the same liveness */
        size_t j = i + 1;
        while (j < e && r->wdef[j] == maxd &&
               (!live || (bool)live[done + (int64_t)(j - s)] == lv))
          j++;
        if (lv) FLOE_TRY(append_vals(r, out, vi, j - i, err));
        vi += j - i;
        i = j;
      }
      done += (int64_t)(e - s);
    } else {
      for (size_t i = s; i < e; i++) {
        uint32_t d = r->wdef[i];
        if (r->wrep[i] == 0) {
          if (r->row_open && r->row_live) FLOE_TRY(col_list_end(out, err));
          r->row_open = false;
          r->row_live = !live || live[done];
          done++;
          if ((int)d < l->list_def) {
            if (r->row_live) FLOE_TRY(col_append_null(out, err));
            continue;
          }
          if ((int)d == l->list_def) {
            if (r->row_live) FLOE_TRY(col_list_end(out, err));
            continue;
          }
          r->row_open = true;
        } else if (!r->row_open) {
          return colr_fail(r, err, "repeated value outside a list");
        } else if ((int)d < l->elem_def) {
          return colr_fail(r, err, "empty list level inside a list");
        }
        if (d < maxd) {
          if (r->row_live) FLOE_TRY(col_append_null(child, err));
        } else {
          if (r->row_live) FLOE_TRY(append_vals(r, child, vi, 1, err));
          vi++;
        }
      }
    }
    r->wpos = e;
    /* run-length levels let a few bytes describe billions of list
     * elements: cap what one batch may hold */
    if (l->is_list &&
        (size_t)child->length > r->max_alloc / 16 - child->values.len / 16)
      return ferr_set(err, FLOE_ENOMEM,
                      "%s: column %s: batch exceeds the allocation cap of "
                      "%zu bytes (lower batch_rows)",
                      r->fname, l->field.name, r->max_alloc);
  }
  if (l->is_list && r->row_open) {
    if (r->row_live) FLOE_TRY(col_list_end(out, err));
    r->row_open = false;
  }
  return FLOE_OK;
}

/* Passes over the chunk's next n rows: whole pages by their headers where
 * possible (colr_next_page_skip), the rest decoded and dropped (out gets
 * nothing; it only has to be the projected column). */
static floe_status colr_skip_rows(pq_reader *R, pq_colr *r, int64_t n,
                                  col_column *out, floe_error *err) {
  while (n > 0) {
    if (r->wpos == r->wn && r->page_left == 0) {
      bool got;
      FLOE_TRY(colr_next_page_skip(R, r, &n, &got, err));
      if (n == 0) break;
      if (!got)
        return colr_fail(r, err, "column chunk ends %lld rows early",
                         (long long)n);
    }
    int64_t k = n < SPAN ? n : SPAN;
    /* a flat column: only the current page's rows, so the next page may be
     * skipped by its header */
    if (!r->leaf->is_list && k > r->page_left + (int64_t)(r->wn - r->wpos))
      k = r->page_left + (int64_t)(r->wn - r->wpos);
    memset(R->live, 0, (size_t)k);
    FLOE_TRY(colr_read(R, r, k, R->live, out, err));
    n -= k;
  }
  return FLOE_OK;
}

/* After the row group's last row: nothing may be left in the chunk. */
static floe_status colr_finish(pq_reader *R, pq_colr *r, floe_error *err) {
  if (r->wpos != r->wn || r->page_left != 0)
    return colr_fail(r, err, "column chunk holds more values than its rows");
  bool got;
  FLOE_TRY(colr_next_page(R, r, &got, err));
  if (got && r->page_left > 0)
    return colr_fail(r, err, "column chunk holds more pages than its rows");
  return FLOE_OK;
}

/* ---- the reader ---- */

static floe_status fd_read_at(void *ctx, uint64_t off, void *buf, size_t n,
                              floe_error *err) {
  int fd = (int)(intptr_t)ctx;
  uint8_t *p = buf;
  while (n) {
    ssize_t got = pread(fd, p, n, (off_t)off);
    if (got < 0)
      return ferr_set(err, FLOE_EIO, "read at offset %llu failed",
                      (unsigned long long)off);
    if (got == 0)
      return ferr_set(err, FLOE_EIO, "file ends at offset %llu",
                      (unsigned long long)off);
    p += got;
    n -= (size_t)got;
    off += (uint64_t)got;
  }
  return FLOE_OK;
}

static floe_status read_footer(pq_reader *r, floe_error *err) {
  uint64_t size = r->src.size;
  if (size < 12)
    return ferr_corrupt(err, "%s: %llu bytes is too small for a Parquet file",
                        r->name, (unsigned long long)size);
  uint8_t head[4], tail[8];
  FLOE_TRY(read_src(r, 0, head, 4, err));
  FLOE_TRY(read_src(r, size - 8, tail, 8, err));
  if (memcmp(tail + 4, "PARE", 4) == 0)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "%s: encrypted Parquet files are not supported", r->name);
  if (memcmp(head, PQ_MAGIC, 4) != 0)
    return ferr_corrupt(err, "%s at offset 0: no PAR1 magic", r->name);
  if (memcmp(tail + 4, PQ_MAGIC, 4) != 0)
    return ferr_corrupt(err, "%s at offset %llu: no PAR1 magic at the end",
                        r->name, (unsigned long long)(size - 4));
  uint32_t flen = fle32(tail);
  if (flen > size - 12)
    return ferr_corrupt(err,
                        "%s at offset %llu: footer length %u exceeds the "
                        "file",
                        r->name, (unsigned long long)(size - 8), flen);
  if (flen > r->max_alloc)
    return ferr_set(err, FLOE_ENOMEM,
                    "%s: footer of %u bytes exceeds the allocation cap",
                    r->name, flen);
  uint64_t off = size - 8 - flen;
  uint8_t *buf = malloc(flen ? flen : 1);
  if (!buf) return ferr_nomem(err, flen);
  floe_status st = read_src(r, off, buf, flen, err);
  if (st == FLOE_OK)
    st = pq_footer_parse(buf, flen, r->name, (size_t)off, r->max_alloc, &r->f,
                         err);
  free(buf);
  r->data_end = off;
  return st;
}

static floe_status add_proj(pq_reader *r, int *proj, int *n, int fi,
                            floe_error *err) {
  for (int i = 0; i < *n; i++)
    if (proj[i] == fi)
      return ferr_set(err, FLOE_EINVAL, "column %s projected twice",
                      r->fields[fi].field.name);
  proj[(*n)++] = fi;
  return FLOE_OK;
}

static floe_status setup_projection(pq_reader *r, const pq_reader_opts *o,
                                    floe_error *err) {
  int cap = r->nfields;
  if (o && o->field_ids)
    cap = o->nfield_ids;
  else if (o && o->columns)
    cap = o->ncolumns;
  if (cap < 0) cap = 0;
  int *proj = malloc((size_t)(cap ? cap : 1) * sizeof *proj);
  if (!proj) return ferr_nomem(err, (size_t)cap * sizeof *proj);
  int n = 0;
  floe_status st = FLOE_OK;
  if (o && o->field_ids) {
    for (int i = 0; i < o->nfield_ids && st == FLOE_OK; i++) {
      int fi = -1;
      for (int j = 0; j < r->nfields; j++)
        if (r->fields[j].field.id == o->field_ids[i]) fi = j;
      if (fi >= 0)
        st = add_proj(r, proj, &n, fi, err);
      else if (!o->missing_ids_ok)
        st = ferr_set(err, FLOE_ENOTFOUND, "%s: no column with field id %d",
                      r->name, (int)o->field_ids[i]);
    }
  } else if (o && o->columns) {
    for (int i = 0; i < o->ncolumns && st == FLOE_OK; i++) {
      int fi = -1;
      for (int j = 0; j < r->nfields && fi < 0; j++)
        if (strcmp(r->fields[j].field.name, o->columns[i]) == 0) fi = j;
      if (fi < 0)
        st = ferr_set(err, FLOE_ENOTFOUND, "%s: no column named %s", r->name,
                      o->columns[i]);
      else
        st = add_proj(r, proj, &n, fi, err);
    }
  } else {
    for (int j = 0; j < r->nfields; j++) proj[n++] = j;
  }
  for (int i = 0; i < n && st == FLOE_OK; i++) {
    const pq_leaf *l = &r->fields[proj[i]];
    if (!l->supported)
      st = ferr_set(err, FLOE_EUNSUPPORTED, "%s: column %s: %s", r->name,
                    l->field.name, l->why);
  }
  col_field *fields = NULL;
  if (st == FLOE_OK) {
    fields = calloc((size_t)(n ? n : 1), sizeof *fields);
    r->cols = calloc((size_t)(n ? n : 1), sizeof *r->cols);
    if (!fields || !r->cols) st = ferr_nomem(err, (size_t)n * 256);
  }
  for (int i = 0; i < n && st == FLOE_OK; i++) {
    fields[i] = r->fields[proj[i]].field;
    st =
        colr_init(&r->cols[i], &r->fields[proj[i]], r->name, r->max_alloc, err);
    r->ncols = i + 1;
  }
  if (st == FLOE_OK) {
    /* a schema floe cannot hold (duplicate names or ids) is the file's
     * fault, not the caller's */
    st = col_schema_new(fields, n, &r->schema, err);
    if (st == FLOE_EINVAL) {
      char msg[FLOE_ERROR_MSG_MAX];
      snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
      st = ferr_corrupt(err, "%s: %s", r->name, msg);
    }
  }
  free(fields);
  free(proj);
  return st;
}

floe_status pq_reader_open(pq_source src, const pq_reader_opts *opts,
                           pq_reader **out, floe_error *err) {
  *out = NULL;
  pq_reader *r = calloc(1, sizeof *r);
  if (!r) return ferr_nomem(err, sizeof *r);
  r->src = src;
  r->fd = -1;
  r->name = strdup(src.name ? src.name : "parquet");
  r->batch_rows = opts && opts->batch_rows > 0 ? opts->batch_rows : 65536;
  r->skip = opts ? opts->skip : NULL;
  r->skip_ctx = opts ? opts->skip_ctx : NULL;
  r->max_alloc =
      opts && opts->max_alloc > 0 ? (size_t)opts->max_alloc : (size_t)1 << 30;
  floe_status st = r->name ? FLOE_OK : ferr_nomem(err, 64);
  if (st == FLOE_OK) st = read_footer(r, err);
  if (st == FLOE_OK) st = map_schema(r, err);
  if (st == FLOE_OK)
    st = pq_footer_validate(&r->f, r->nleaves_total, r->data_end, r->name, err);
  if (st == FLOE_OK) st = setup_projection(r, opts, err);
  if (st == FLOE_OK && r->skip) {
    r->live = malloc(SPAN);
    if (!r->live) st = ferr_nomem(err, SPAN);
  }
  if (st != FLOE_OK) {
    pq_reader_free(r);
    return st;
  }
  *out = r;
  return FLOE_OK;
}

floe_status pq_reader_open_file(const char *path, const pq_reader_opts *opts,
                                pq_reader **out, floe_error *err) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return ferr_set(err, FLOE_EIO, "%s: cannot open: %s", path,
                    strerror(errno));
  }
  struct stat stt;
  if (fstat(fd, &stt) != 0) {
    close(fd);
    return ferr_set(err, FLOE_EIO, "%s: cannot stat", path);
  }
  pq_source src = {fd_read_at, (void *)(intptr_t)fd, (uint64_t)stt.st_size,
                   path, NULL};
  floe_status st = pq_reader_open(src, opts, out, err);
  if (st != FLOE_OK) {
    close(fd);
    return st;
  }
  (*out)->fd = fd;
  (*out)->src.name = (*out)->name; /* path may not outlive the reader */
  return FLOE_OK;
}

col_schema *pq_reader_schema(const pq_reader *r) { return r->schema; }

int64_t pq_reader_num_rows(const pq_reader *r) { return r->f.num_rows; }

floe_status pq_reader_set_rows(pq_reader *r, int64_t first, int64_t n,
                               floe_error *err) {
  if (r->rg || r->rg_loaded || r->ranged)
    return ferr_set(err, FLOE_EINVAL, "%s: row range set after reading started",
                    r->name);
  if (first < 0 || n < 0)
    return ferr_set(err, FLOE_EINVAL, "%s: bad row range %lld+%lld", r->name,
                    (long long)first, (long long)n);
  if (!r->live && !(r->live = malloc(SPAN))) return ferr_nomem(err, SPAN);
  r->ranged = true;
  r->range_first = first;
  r->range_end = n > INT64_MAX - first ? INT64_MAX : first + n;
  return FLOE_OK;
}

static floe_status next_batch(pq_reader *r, col_batch *b, floe_error *err) {
  int64_t want = r->batch_rows, got = 0;
  while (got < want && r->rg < r->f.nrow_groups) {
    const pq_row_group *g = &r->f.row_groups[r->rg];
    int64_t end = g->num_rows; /* rows of the group to read */
    if (r->ranged) {
      if (r->row_base >= r->range_end) {
        r->rg = r->f.nrow_groups;
        break;
      }
      if (r->range_end - r->row_base < end) end = r->range_end - r->row_base;
      if (!r->rg_loaded && r->row_base + g->num_rows <= r->range_first) {
        r->row_base += g->num_rows; /* never read */
        r->rg++;
        continue;
      }
    }
    if (!r->rg_loaded) {
      if (g->num_rows == 0) {
        r->rg++;
        continue;
      }
      for (int i = 0; i < r->ncols; i++)
        FLOE_TRY(colr_begin_chunk(r, &r->cols[i], r->rg, r->ranged, err));
      r->rg_loaded = true;
      r->rg_row = 0;
      if (r->ranged && r->range_first > r->row_base) {
        r->rg_row = r->range_first - r->row_base;
        for (int i = 0; i < r->ncols; i++)
          FLOE_TRY(colr_skip_rows(r, &r->cols[i], r->rg_row, &b->cols[i], err));
      }
    }
    if (r->rg_row == end) {
      /* a range stops inside the group: its rest is not checked */
      for (int i = 0; i < r->ncols && end == g->num_rows; i++)
        FLOE_TRY(colr_finish(r, &r->cols[i], err));
      r->row_base += g->num_rows;
      r->rg++;
      r->rg_loaded = false;
      continue;
    }
    int64_t k = 0, live = 0;
    int64_t left = end - r->rg_row;
    if (!r->skip) {
      k = left < want - got ? left : want - got;
      live = k;
    } else {
      while (k < left && k < SPAN && live < want - got) {
        bool keep = !r->skip(r->skip_ctx, r->row_base + r->rg_row + k);
        r->live[k++] = keep;
        live += keep;
      }
    }
    for (int i = 0; i < r->ncols; i++)
      FLOE_TRY(colr_read(r, &r->cols[i], k, r->skip ? r->live : NULL,
                         &b->cols[i], err));
    r->rg_row += k;
    got += live;
  }
  /* an empty projection still yields the surviving rows, as batches with a
   * length and no columns (what a count, or a scan of only defaulted
   * columns, needs) */
  if (r->ncols == 0) b->length = got;
  return FLOE_OK;
}

floe_status pq_reader_next_into(pq_reader *r, col_batch *b, floe_error *err) {
  if (r->failed)
    return ferr_set(err, r->failed, "%s: reader stopped after an error",
                    r->name);
  if (b->schema != r->schema)
    return ferr_set(err, FLOE_EINVAL, "%s: batch is not of the reader's schema",
                    r->name);
  col_batch_clear(b);
  floe_status st = next_batch(r, b, err);
  if (st == FLOE_OK) st = col_batch_seal(b, err);
  if (st != FLOE_OK) {
    r->failed = st;
    col_batch_clear(b);
  }
  return st;
}

floe_status pq_reader_next(pq_reader *r, col_batch **out, floe_error *err) {
  *out = NULL;
  col_batch *b;
  FLOE_TRY(col_batch_new(r->schema, &b, err));
  floe_status st = pq_reader_next_into(r, b, err);
  if (st != FLOE_OK || b->length == 0) {
    col_batch_free(b);
    return st;
  }
  *out = b;
  return FLOE_OK;
}

void pq_reader_free(pq_reader *r) {
  if (!r) return;
  for (int i = 0; i < r->ncols; i++) colr_free(&r->cols[i]);
  free(r->cols);
  if (r->schema) col_schema_unref(r->schema);
  free(r->fields);
  pq_footer_free(&r->f);
  free(r->live);
  if (r->zdctx) pq_zstd_dctx_free(r->zdctx);
  if (r->fd >= 0) close(r->fd);
  free(r->name);
  free(r);
}
