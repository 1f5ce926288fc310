/* FileMetaData and PageHeader parsing (thrift compact, see parquet.thrift). */
#include "parquet/footer.h"

#include <string.h>

#include "parquet/format.h"
#include "parquet/thrift_read.h"

/* Parsing state: the thrift cursor plus the arena everything goes into. */
typedef struct fparse {
  tc_reader t;
  farena *arena;
} fparse;

static void *palloc(fparse *fp, size_t n, floe_error *err) {
  void *p = farena_alloc(fp->arena, n ? n : 1, err);
  if (p) memset(p, 0, n ? n : 1);
  return p;
}

static floe_status read_str(fparse *fp, int type, char **out, floe_error *err) {
  const uint8_t *p;
  size_t n;
  FLOE_TRY(tc_read_binary(&fp->t, type, &p, &n, err));
  char *s = farena_alloc(fp->arena, n + 1, err);
  if (!s) return err ? err->code : FLOE_ENOMEM;
  memcpy(s, p, n);
  s[n] = 0;
  *out = s;
  return FLOE_OK;
}

static floe_status read_bytes(fparse *fp, int type, pq_bytes *out,
                              floe_error *err) {
  const uint8_t *p;
  size_t n;
  FLOE_TRY(tc_read_binary(&fp->t, type, &p, &n, err));
  uint8_t *q = farena_dup(fp->arena, p, n, err);
  if (!q) return err ? err->code : FLOE_ENOMEM;
  out->p = q;
  out->n = n;
  return FLOE_OK;
}

/* An i32 field that must be a small non-negative enum value. */
static floe_status read_enum(fparse *fp, int type, int *out, floe_error *err) {
  int32_t v;
  FLOE_TRY(tc_read_i32(&fp->t, type, &v, err));
  if (v < 0 || v > 1000)
    return tc_read_fail(&fp->t, err, "enum value %d out of range", (int)v);
  *out = v;
  return FLOE_OK;
}

static floe_status missing(fparse *fp, const char *what, floe_error *err) {
  return tc_read_fail(&fp->t, err, "required field %s missing", what);
}

/* Iterates the fields of a struct: FIELDS_BEGIN ... case N: ...
 * FIELDS_END. Unknown fields (of any type) are skipped. */
#define FIELDS_BEGIN(fp, err)                                                  \
  FLOE_TRY(tc_read_struct_begin(&(fp)->t, err));                               \
  int16_t last_ = 0;                                                           \
  for (;;) {                                                                   \
    int ft;                                                                    \
    int16_t fid;                                                               \
    FLOE_TRY(tc_read_field(&(fp)->t, &last_, &ft, &fid, err));                 \
    if (ft == TC_STOP) break;                                                  \
    switch (fid) {
#define FIELDS_END(fp, err)                                                    \
  default: FLOE_TRY(tc_read_skip(&(fp)->t, ft, err)); break;                   \
    }                                                                          \
    }                                                                          \
    tc_read_struct_end(&(fp)->t);

static floe_status parse_stats(fparse *fp, pq_stats *s, floe_error *err) {
  memset(s, 0, sizeof *s);
  s->present = true;
  FIELDS_BEGIN(fp, err)
case 1: FLOE_TRY(read_bytes(fp, ft, &s->max, err)); break;
case 2: FLOE_TRY(read_bytes(fp, ft, &s->min, err)); break;
case 3:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &s->null_count, err));
  s->has_null_count = true;
  break;
case 4:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &s->distinct_count, err));
  s->has_distinct_count = true;
  break;
case 5: FLOE_TRY(read_bytes(fp, ft, &s->max_value, err)); break;
case 6: FLOE_TRY(read_bytes(fp, ft, &s->min_value, err)); break;
case 9:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &s->nan_count, err));
  s->has_nan_count = true;
  break;
  FIELDS_END(fp, err)
  return FLOE_OK;
}

/* TimeUnit union: the member's field id is the unit. */
static floe_status parse_unit(fparse *fp, int *unit, floe_error *err) {
  *unit = 0;
  FIELDS_BEGIN(fp, err)
case PQU_MILLIS:
case PQU_MICROS:
case PQU_NANOS:
  *unit = fid;
  FLOE_TRY(tc_read_skip(&fp->t, ft, err));
  break;
  FIELDS_END(fp, err)
  return FLOE_OK;
}

static floe_status parse_time_like(fparse *fp, pq_logical *l, floe_error *err) {
  FIELDS_BEGIN(fp, err)
case 1: FLOE_TRY(tc_read_bool(&fp->t, ft, &l->utc, err)); break;
case 2:
  if (ft != TC_STRUCT) return tc_read_fail(&fp->t, err, "bad TimeUnit");
  FLOE_TRY(parse_unit(fp, &l->unit, err));
  break;
  FIELDS_END(fp, err)
  return FLOE_OK;
}

static floe_status parse_logical(fparse *fp, pq_logical *l, floe_error *err) {
  memset(l, 0, sizeof *l);
  FIELDS_BEGIN(fp, err)
case PQL_DECIMAL:
  if (ft != TC_STRUCT) return tc_read_fail(&fp->t, err, "bad DecimalType");
  l->ltype = fid;
  {
    FIELDS_BEGIN(fp, err)
  case 1: FLOE_TRY(tc_read_i32(&fp->t, ft, &l->scale, err)); break;
  case 2:
    FLOE_TRY(tc_read_i32(&fp->t, ft, &l->precision, err));
    break;
    FIELDS_END(fp, err)
  }
  break;
case PQL_TIME:
case PQL_TIMESTAMP:
  if (ft != TC_STRUCT) return tc_read_fail(&fp->t, err, "bad time type");
  l->ltype = fid;
  FLOE_TRY(parse_time_like(fp, l, err));
  break;
case PQL_INTEGER:
  if (ft != TC_STRUCT) return tc_read_fail(&fp->t, err, "bad IntType");
  l->ltype = fid;
  {
    FIELDS_BEGIN(fp, err)
  case 1: {
    int32_t w;
    FLOE_TRY(tc_read_i32(&fp->t, ft, &w, err));
    l->bit_width = w;
    break;
  }
  case 2:
    FLOE_TRY(tc_read_bool(&fp->t, ft, &l->is_signed, err));
    break;
    FIELDS_END(fp, err)
  }
  break;
default:
  /* every other member is an empty (or ignorable) struct */
  if (fid > 0 && fid < 64) l->ltype = fid;
  FLOE_TRY(tc_read_skip(&fp->t, ft, err));
  break;
}
}
tc_read_struct_end(&fp->t);
return FLOE_OK;
}

static floe_status parse_schema_elem(fparse *fp, pq_schema_elem *e,
                                     floe_error *err) {
  memset(e, 0, sizeof *e);
  e->type = -1;
  e->repetition = -1;
  e->converted_type = -1;
  FIELDS_BEGIN(fp, err)
case 1: FLOE_TRY(read_enum(fp, ft, &e->type, err)); break;
case 2: FLOE_TRY(tc_read_i32(&fp->t, ft, &e->type_length, err)); break;
case 3: FLOE_TRY(read_enum(fp, ft, &e->repetition, err)); break;
case 4: FLOE_TRY(read_str(fp, ft, &e->name, err)); break;
case 5: FLOE_TRY(tc_read_i32(&fp->t, ft, &e->num_children, err)); break;
case 6: FLOE_TRY(read_enum(fp, ft, &e->converted_type, err)); break;
case 7:
  FLOE_TRY(tc_read_i32(&fp->t, ft, &e->scale, err));
  e->has_scale = true;
  break;
case 8:
  FLOE_TRY(tc_read_i32(&fp->t, ft, &e->precision, err));
  e->has_precision = true;
  break;
case 9:
  FLOE_TRY(tc_read_i32(&fp->t, ft, &e->field_id, err));
  e->has_field_id = true;
  break;
case 10:
  if (ft != TC_STRUCT) return tc_read_fail(&fp->t, err, "bad LogicalType");
  FLOE_TRY(parse_logical(fp, &e->logical, err));
  break;
  FIELDS_END(fp, err)
  if (!e->name) return missing(fp, "SchemaElement.name", err);
  if (e->num_children < 0)
    return tc_read_fail(&fp->t, err, "schema element %s has %d children",
                        e->name, (int)e->num_children);
  return FLOE_OK;
}

static floe_status parse_kv_list(fparse *fp, int ft, pq_kv **out, int *nout,
                                 floe_error *err) {
  int et;
  uint32_t n;
  FLOE_TRY(tc_read_list(&fp->t, ft, &et, &n, err));
  if (n && et != TC_STRUCT)
    return tc_read_fail(&fp->t, err, "key_value_metadata is not a struct list");
  pq_kv *kv = palloc(fp, n * sizeof *kv, err);
  if (!kv) return err ? err->code : FLOE_ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    FIELDS_BEGIN(fp, err)
  case 1: FLOE_TRY(read_str(fp, ft, &kv[i].key, err)); break;
  case 2:
    FLOE_TRY(read_str(fp, ft, &kv[i].value, err));
    break;
    FIELDS_END(fp, err)
    if (!kv[i].key) return missing(fp, "KeyValue.key", err);
  }
  *out = kv;
  *nout = (int)n;
  return FLOE_OK;
}

static floe_status parse_col_meta(fparse *fp, pq_col_meta *m, floe_error *err) {
  memset(m, 0, sizeof *m);
  unsigned seen = 0;
  FIELDS_BEGIN(fp, err)
case 1:
  FLOE_TRY(read_enum(fp, ft, &m->type, err));
  seen |= 1u << 1;
  break;
case 2: {
  int et;
  uint32_t n;
  FLOE_TRY(tc_read_list(&fp->t, ft, &et, &n, err));
  m->encodings = palloc(fp, n * sizeof(int), err);
  if (!m->encodings) return err ? err->code : FLOE_ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    int32_t v;
    FLOE_TRY(tc_read_elem_i32(&fp->t, et, &v, err));
    m->encodings[i] = v;
  }
  m->nencodings = (int)n;
  seen |= 1u << 2;
  break;
}
case 3: {
  int et;
  uint32_t n;
  FLOE_TRY(tc_read_list(&fp->t, ft, &et, &n, err));
  m->path = palloc(fp, n * sizeof(char *), err);
  if (!m->path) return err ? err->code : FLOE_ENOMEM;
  for (uint32_t i = 0; i < n; i++) FLOE_TRY(read_str(fp, et, &m->path[i], err));
  m->npath = (int)n;
  seen |= 1u << 3;
  break;
}
case 4:
  FLOE_TRY(read_enum(fp, ft, &m->codec, err));
  seen |= 1u << 4;
  break;
case 5:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &m->num_values, err));
  seen |= 1u << 5;
  break;
case 6:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &m->total_uncompressed_size, err));
  seen |= 1u << 6;
  break;
case 7:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &m->total_compressed_size, err));
  seen |= 1u << 7;
  break;
case 9:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &m->data_page_offset, err));
  seen |= 1u << 9;
  break;
case 10:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &m->index_page_offset, err));
  m->has_index_page_offset = true;
  break;
case 11:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &m->dictionary_page_offset, err));
  m->has_dictionary_page_offset = true;
  break;
case 12:
  if (ft != TC_STRUCT) return tc_read_fail(&fp->t, err, "bad Statistics");
  FLOE_TRY(parse_stats(fp, &m->stats, err));
  break;
  FIELDS_END(fp, err)
  static const int req[] = {1, 2, 3, 4, 5, 6, 7, 9};
  static const char *const names[] = {"type",
                                      "encodings",
                                      "path_in_schema",
                                      "codec",
                                      "num_values",
                                      "total_uncompressed_size",
                                      "total_compressed_size",
                                      "data_page_offset"};
  for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
    if (!(seen & (1u << req[i])))
      return tc_read_fail(&fp->t, err,
                          "required field ColumnMetaData.%s missing", names[i]);
  return FLOE_OK;
}

static floe_status parse_chunk(fparse *fp, pq_chunk *c, floe_error *err) {
  memset(c, 0, sizeof *c);
  FIELDS_BEGIN(fp, err)
case 1: FLOE_TRY(read_str(fp, ft, &c->file_path, err)); break;
case 2: FLOE_TRY(tc_read_i64(&fp->t, ft, &c->file_offset, err)); break;
case 3:
  if (ft != TC_STRUCT) return tc_read_fail(&fp->t, err, "bad ColumnMetaData");
  FLOE_TRY(parse_col_meta(fp, &c->meta, err));
  c->has_meta = true;
  break;
  FIELDS_END(fp, err)
  return FLOE_OK;
}

static floe_status parse_row_group(fparse *fp, pq_row_group *rg,
                                   floe_error *err) {
  memset(rg, 0, sizeof *rg);
  unsigned seen = 0;
  FIELDS_BEGIN(fp, err)
case 1: {
  int et;
  uint32_t n;
  FLOE_TRY(tc_read_list(&fp->t, ft, &et, &n, err));
  if (n && et != TC_STRUCT)
    return tc_read_fail(&fp->t, err, "RowGroup.columns is not a struct list");
  rg->columns = palloc(fp, n * sizeof *rg->columns, err);
  if (!rg->columns) return err ? err->code : FLOE_ENOMEM;
  for (uint32_t i = 0; i < n; i++)
    FLOE_TRY(parse_chunk(fp, &rg->columns[i], err));
  rg->ncolumns = (int)n;
  seen |= 2;
  break;
}
case 2:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &rg->total_byte_size, err));
  seen |= 4;
  break;
case 3:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &rg->num_rows, err));
  seen |= 8;
  break;
case 5:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &rg->file_offset, err));
  rg->has_file_offset = true;
  break;
case 6:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &rg->total_compressed_size, err));
  rg->has_total_compressed_size = true;
  break;
  FIELDS_END(fp, err)
  if (!(seen & 2)) return missing(fp, "RowGroup.columns", err);
  if (!(seen & 8)) return missing(fp, "RowGroup.num_rows", err);
  return FLOE_OK;
}

static floe_status parse_file_meta(fparse *fp, pq_footer *f, floe_error *err) {
  unsigned seen = 0;
  FIELDS_BEGIN(fp, err)
case 1:
  FLOE_TRY(tc_read_i32(&fp->t, ft, &f->version, err));
  seen |= 2;
  break;
case 2: {
  int et;
  uint32_t n;
  FLOE_TRY(tc_read_list(&fp->t, ft, &et, &n, err));
  if (n && et != TC_STRUCT)
    return tc_read_fail(&fp->t, err, "schema is not a struct list");
  f->schema = palloc(fp, n * sizeof *f->schema, err);
  if (!f->schema) return err ? err->code : FLOE_ENOMEM;
  for (uint32_t i = 0; i < n; i++)
    FLOE_TRY(parse_schema_elem(fp, &f->schema[i], err));
  f->nschema = (int)n;
  seen |= 4;
  break;
}
case 3:
  FLOE_TRY(tc_read_i64(&fp->t, ft, &f->num_rows, err));
  seen |= 8;
  break;
case 4: {
  int et;
  uint32_t n;
  FLOE_TRY(tc_read_list(&fp->t, ft, &et, &n, err));
  if (n && et != TC_STRUCT)
    return tc_read_fail(&fp->t, err, "row_groups is not a struct list");
  f->row_groups = palloc(fp, n * sizeof *f->row_groups, err);
  if (!f->row_groups) return err ? err->code : FLOE_ENOMEM;
  for (uint32_t i = 0; i < n; i++)
    FLOE_TRY(parse_row_group(fp, &f->row_groups[i], err));
  f->nrow_groups = (int)n;
  seen |= 16;
  break;
}
case 5: FLOE_TRY(parse_kv_list(fp, ft, &f->kv, &f->nkv, err)); break;
case 6: FLOE_TRY(read_str(fp, ft, &f->created_by, err)); break;
case 8:
  f->encrypted = true;
  FLOE_TRY(tc_read_skip(&fp->t, ft, err));
  break;
  FIELDS_END(fp, err)
  if (!(seen & 4)) return missing(fp, "FileMetaData.schema", err);
  if (!(seen & 8)) return missing(fp, "FileMetaData.num_rows", err);
  if (!(seen & 16)) return missing(fp, "FileMetaData.row_groups", err);
  return FLOE_OK;
}

floe_status pq_footer_parse(const uint8_t *p, size_t n, const char *name,
                            size_t base, size_t max_alloc, pq_footer *f,
                            floe_error *err) {
  memset(f, 0, sizeof *f);
  farena_init(&f->arena, 16 * 1024, max_alloc);
  fparse fp;
  tc_reader_init(&fp.t, p, n, name, base);
  fp.arena = &f->arena;
  floe_status st = parse_file_meta(&fp, f, err);
  if (st != FLOE_OK) {
    pq_footer_free(f);
    return st;
  }
  if (f->nschema < 1) {
    pq_footer_free(f);
    return tc_read_fail(&fp.t, err, "footer has an empty schema");
  }
  return FLOE_OK;
}

floe_status pq_footer_validate(const pq_footer *f, int ncolumns,
                               uint64_t data_end, const char *name,
                               floe_error *err) {
  if (f->num_rows < 0)
    return ferr_corrupt(err, "%s: footer num_rows is negative", name);
  int64_t sum = 0;
  for (int i = 0; i < f->nrow_groups; i++) {
    const pq_row_group *rg = &f->row_groups[i];
    if (rg->num_rows < 0 || rg->num_rows > f->num_rows - sum)
      return ferr_corrupt(err,
                          "%s: row group %d has %lld rows, more than the "
                          "file's %lld",
                          name, i, (long long)rg->num_rows,
                          (long long)f->num_rows);
    sum += rg->num_rows;
    if (rg->ncolumns != ncolumns)
      return ferr_corrupt(err,
                          "%s: row group %d has %d column chunks, the schema "
                          "has %d columns",
                          name, i, rg->ncolumns, ncolumns);
    for (int j = 0; j < rg->ncolumns; j++) {
      const pq_chunk *c = &rg->columns[j];
      if (!c->has_meta) continue; /* reported when the column is read */
      const pq_col_meta *m = &c->meta;
      int64_t start = m->data_page_offset;
      if (m->has_dictionary_page_offset && m->dictionary_page_offset > 0 &&
          m->dictionary_page_offset < start)
        start = m->dictionary_page_offset;
      if (start < 4 || (uint64_t)start > data_end ||
          m->total_compressed_size < 0 ||
          (uint64_t)m->total_compressed_size > data_end - (uint64_t)start)
        return ferr_corrupt(err,
                            "%s: row group %d column %d: chunk at offset "
                            "%lld of %lld bytes lies outside the data",
                            name, i, j, (long long)start,
                            (long long)m->total_compressed_size);
      if (m->num_values < 0)
        return ferr_corrupt(err,
                            "%s: row group %d column %d: negative "
                            "num_values",
                            name, i, j);
    }
  }
  if (sum != f->num_rows)
    return ferr_corrupt(err, "%s: row groups hold %lld rows, footer says %lld",
                        name, (long long)sum, (long long)f->num_rows);
  return FLOE_OK;
}

void pq_footer_free(pq_footer *f) {
  farena_free(&f->arena);
  memset(f, 0, sizeof *f);
}

/* ---- page headers ---- */

floe_status pq_page_header_parse(struct tc_reader *t, pq_page_header *h,
                                 floe_error *err) {
  memset(h, 0, sizeof *h);
  h->is_compressed = true;
  fparse fp;
  fp.t = *t;
  fp.arena = NULL;
  unsigned seen = 0, body = 0;
  FIELDS_BEGIN(&fp, err)
case 1:
  FLOE_TRY(read_enum(&fp, ft, &h->type, err));
  seen |= 2;
  break;
case 2:
  FLOE_TRY(tc_read_i32(&fp.t, ft, &h->uncompressed_size, err));
  seen |= 4;
  break;
case 3:
  FLOE_TRY(tc_read_i32(&fp.t, ft, &h->compressed_size, err));
  seen |= 8;
  break;
case 5:
case 7:
case 8:
  if (ft != TC_STRUCT) return tc_read_fail(&fp.t, err, "bad page header body");
  body = (unsigned)fid;
  {
    unsigned bseen = 0;
    FIELDS_BEGIN(&fp, err)
  case 1:
    FLOE_TRY(tc_read_i32(&fp.t, ft, &h->num_values, err));
    bseen |= 2;
    break;
  case 2:
    if (body == 8) {
      FLOE_TRY(tc_read_i32(&fp.t, ft, &h->num_nulls, err));
    } else {
      FLOE_TRY(read_enum(&fp, ft, &h->encoding, err));
    }
    bseen |= 4;
    break;
  case 3:
    if (body == 5)
      FLOE_TRY(read_enum(&fp, ft, &h->def_encoding, err));
    else if (body == 8)
      FLOE_TRY(tc_read_i32(&fp.t, ft, &h->num_rows, err));
    else
      FLOE_TRY(tc_read_skip(&fp.t, ft, err));
    bseen |= 8;
    break;
  case 4:
    if (body == 5)
      FLOE_TRY(read_enum(&fp, ft, &h->rep_encoding, err));
    else if (body == 8)
      FLOE_TRY(read_enum(&fp, ft, &h->encoding, err));
    else
      FLOE_TRY(tc_read_skip(&fp.t, ft, err));
    bseen |= 16;
    break;
  case 5:
    if (body == 8) {
      FLOE_TRY(tc_read_i32(&fp.t, ft, &h->def_length, err));
      bseen |= 32;
    } else {
      FLOE_TRY(tc_read_skip(&fp.t, ft, err));
    }
    break;
  case 6:
    if (body == 8) {
      FLOE_TRY(tc_read_i32(&fp.t, ft, &h->rep_length, err));
      bseen |= 64;
    } else {
      FLOE_TRY(tc_read_skip(&fp.t, ft, err));
    }
    break;
  case 7:
    if (body == 8)
      FLOE_TRY(tc_read_bool(&fp.t, ft, &h->is_compressed, err));
    else
      FLOE_TRY(tc_read_skip(&fp.t, ft, err));
    break;
    FIELDS_END(&fp, err)
    unsigned need = body == 5   ? (2 | 4 | 8 | 16)
                    : body == 7 ? (2 | 4)
                                : (2 | 4 | 8 | 16 | 32 | 64);
    if ((bseen & need) != need)
      return tc_read_fail(&fp.t, err, "page header misses required fields");
    if ((int)body == 5 + 0 && h->type == PQP_DATA_PAGE) h->has_body = true;
    if (body == 7 && h->type == PQP_DICTIONARY_PAGE) h->has_body = true;
    if (body == 8 && h->type == PQP_DATA_PAGE_V2) h->has_body = true;
  }
  break;
  FIELDS_END(&fp, err)
  *t = fp.t;
  if ((seen & 14) != 14)
    return tc_read_fail(t, err, "page header misses type or sizes");
  if (h->uncompressed_size < 0 || h->compressed_size < 0 || h->num_values < 0)
    return tc_read_fail(t, err, "page header has negative sizes");
  return FLOE_OK;
}

const char *pq_encoding_name(int e) {
  switch (e) {
  case PQE_PLAIN: return "PLAIN";
  case PQE_PLAIN_DICTIONARY: return "PLAIN_DICTIONARY";
  case PQE_RLE: return "RLE";
  case PQE_BIT_PACKED: return "BIT_PACKED";
  case PQE_DELTA_BINARY_PACKED: return "DELTA_BINARY_PACKED";
  case PQE_DELTA_LENGTH_BYTE_ARRAY: return "DELTA_LENGTH_BYTE_ARRAY";
  case PQE_DELTA_BYTE_ARRAY: return "DELTA_BYTE_ARRAY";
  case PQE_RLE_DICTIONARY: return "RLE_DICTIONARY";
  case PQE_BYTE_STREAM_SPLIT: return "BYTE_STREAM_SPLIT";
  }
  return "UNKNOWN";
}

const char *pq_type_name(int t) {
  switch (t) {
  case PQT_BOOLEAN: return "BOOLEAN";
  case PQT_INT32: return "INT32";
  case PQT_INT64: return "INT64";
  case PQT_INT96: return "INT96";
  case PQT_FLOAT: return "FLOAT";
  case PQT_DOUBLE: return "DOUBLE";
  case PQT_BYTE_ARRAY: return "BYTE_ARRAY";
  case PQT_FIXED_LEN_BYTE_ARRAY: return "FIXED_LEN_BYTE_ARRAY";
  }
  return "UNKNOWN";
}

const char *pq_converted_name(int ct) {
  static const char *const names[] = {"UTF8",
                                      "MAP",
                                      "MAP_KEY_VALUE",
                                      "LIST",
                                      "ENUM",
                                      "DECIMAL",
                                      "DATE",
                                      "TIME_MILLIS",
                                      "TIME_MICROS",
                                      "TIMESTAMP_MILLIS",
                                      "TIMESTAMP_MICROS",
                                      "UINT_8",
                                      "UINT_16",
                                      "UINT_32",
                                      "UINT_64",
                                      "INT_8",
                                      "INT_16",
                                      "INT_32",
                                      "INT_64",
                                      "JSON",
                                      "BSON",
                                      "INTERVAL"};
  if (ct >= 0 && ct < (int)(sizeof names / sizeof names[0])) return names[ct];
  return "UNKNOWN";
}
