/* `floe parquet meta`: a readable dump of a file's footer. */
#include <string.h>

#include "columnar/text.h"
#include "parquet/codec.h"
#include "parquet/format.h"
#include "parquet/reader_int.h"

static const char *rep_name(int r) {
  switch (r) {
  case PQR_REQUIRED: return "required";
  case PQR_OPTIONAL: return "optional";
  case PQR_REPEATED: return "repeated";
  }
  return "";
}

static const char *unit_name(int u) {
  switch (u) {
  case PQU_MILLIS: return "MILLIS";
  case PQU_MICROS: return "MICROS";
  case PQU_NANOS: return "NANOS";
  }
  return "?";
}

static floe_status logical_text(const pq_logical *l, fbuf *out,
                                floe_error *err) {
  switch (l->ltype) {
  case 0: return FLOE_OK;
  case PQL_STRING: return fbuf_printf(out, err, " STRING");
  case PQL_MAP: return fbuf_printf(out, err, " MAP");
  case PQL_LIST: return fbuf_printf(out, err, " LIST");
  case PQL_ENUM: return fbuf_printf(out, err, " ENUM");
  case PQL_DECIMAL:
    return fbuf_printf(out, err, " DECIMAL(%d,%d)", (int)l->precision,
                       (int)l->scale);
  case PQL_DATE: return fbuf_printf(out, err, " DATE");
  case PQL_TIME:
  case PQL_TIMESTAMP:
    return fbuf_printf(out, err, " %s(%s,%s)",
                       l->ltype == PQL_TIME ? "TIME" : "TIMESTAMP",
                       l->utc ? "true" : "false", unit_name(l->unit));
  case PQL_INTEGER:
    return fbuf_printf(out, err, " INT(%d,%s)", l->bit_width,
                       l->is_signed ? "true" : "false");
  case PQL_JSON: return fbuf_printf(out, err, " JSON");
  case PQL_BSON: return fbuf_printf(out, err, " BSON");
  case PQL_UUID: return fbuf_printf(out, err, " UUID");
  case PQL_FLOAT16: return fbuf_printf(out, err, " FLOAT16");
  }
  return fbuf_printf(out, err, " LOGICAL(%d)", l->ltype);
}

/* Element i and its subtree, indented by depth; returns the next index. */
static floe_status schema_text(const pq_footer *f, int i, int depth, int *next,
                               fbuf *out, floe_error *err) {
  const pq_schema_elem *e = &f->schema[i];
  FLOE_TRY(fbuf_printf(out, err, "%*s", 2 + 2 * depth, ""));
  if (depth > 0)
    FLOE_TRY(fbuf_printf(out, err, "%s ", rep_name(e->repetition)));
  if (e->num_children > 0 || e->type < 0)
    FLOE_TRY(fbuf_printf(out, err, "group %s", e->name));
  else if (e->type == PQT_FIXED_LEN_BYTE_ARRAY)
    FLOE_TRY(fbuf_printf(out, err, "FIXED_LEN_BYTE_ARRAY(%d) %s",
                         (int)e->type_length, e->name));
  else
    FLOE_TRY(fbuf_printf(out, err, "%s %s", pq_type_name(e->type), e->name));
  FLOE_TRY(logical_text(&e->logical, out, err));
  if (e->converted_type >= 0) {
    FLOE_TRY(
        fbuf_printf(out, err, " (%s", pq_converted_name(e->converted_type)));
    if (e->converted_type == PQCT_DECIMAL)
      FLOE_TRY(
          fbuf_printf(out, err, "(%d,%d)", (int)e->precision, (int)e->scale));
    FLOE_TRY(fbuf_printf(out, err, ")"));
  }
  if (e->has_field_id)
    FLOE_TRY(fbuf_printf(out, err, " field_id=%d", (int)e->field_id));
  FLOE_TRY(fbuf_printf(out, err, "\n"));
  int j = i + 1;
  /* the tree was validated when the reader opened */
  for (int c = 0; c < e->num_children && j < f->nschema; c++)
    FLOE_TRY(schema_text(f, j, depth + 1, &j, out, err));
  *next = j;
  return FLOE_OK;
}

static floe_status bytes_text(const pq_bytes *b, fbuf *out, floe_error *err) {
  FLOE_TRY(fbuf_printf(out, err, "0x"));
  size_t n = b->n > 32 ? 32 : b->n;
  for (size_t i = 0; i < n; i++)
    FLOE_TRY(fbuf_printf(out, err, "%02x", b->p[i]));
  if (n < b->n) FLOE_TRY(fbuf_printf(out, err, "..."));
  return FLOE_OK;
}

/* A min/max statistic rendered as a value of the column when it can be. */
static floe_status stat_text(const pq_leaf *l, const pq_bytes *b, fbuf *out,
                             floe_error *err) {
  if (l && l->supported) {
    col_column c;
    if (col_init(&c, l->vtype, NULL) == FLOE_OK) {
      floe_status st = pq_leaf_append_plain(l, b->p, b->n, &c, NULL);
      if (st == FLOE_OK) {
        size_t before = out->len;
        st = col_text_format(&c, 0, false, out, NULL);
        if (st != FLOE_OK) out->len = before;
      }
      col_free(&c);
      if (st == FLOE_OK) return FLOE_OK;
    }
  }
  return bytes_text(b, out, err);
}

floe_status pq_reader_describe(const pq_reader *r, fbuf *out, floe_error *err) {
  const pq_footer *f = &r->f;
  FLOE_TRY(fbuf_printf(out, err, "file: %s\n", r->name));
  FLOE_TRY(fbuf_printf(out, err, "created_by: %s\n",
                       f->created_by ? f->created_by : "(unknown)"));
  FLOE_TRY(fbuf_printf(out, err, "version: %d\n", (int)f->version));
  FLOE_TRY(fbuf_printf(out, err, "num_rows: %lld\n", (long long)f->num_rows));
  FLOE_TRY(fbuf_printf(out, err, "file_size: %llu\n",
                       (unsigned long long)r->src.size));
  if (f->nkv > 0) {
    FLOE_TRY(fbuf_printf(out, err, "key_value_metadata:\n"));
    for (int i = 0; i < f->nkv; i++) {
      const char *v = f->kv[i].value ? f->kv[i].value : "";
      size_t vl = strlen(v);
      FLOE_TRY(fbuf_printf(out, err, "  %s = %.*s%s\n", f->kv[i].key,
                           (int)(vl > 200 ? 200 : vl), v,
                           vl > 200 ? "..." : ""));
    }
  }
  FLOE_TRY(fbuf_printf(out, err, "schema:\n"));
  int next;
  FLOE_TRY(schema_text(f, 0, 0, &next, out, err));
  /* the field owning each leaf column, for rendering statistics */
  FLOE_TRY(fbuf_printf(out, err, "row_groups: %d\n", f->nrow_groups));
  for (int g = 0; g < f->nrow_groups; g++) {
    const pq_row_group *rg = &f->row_groups[g];
    FLOE_TRY(
        fbuf_printf(out, err, "row_group %d: rows=%lld total_byte_size=%lld", g,
                    (long long)rg->num_rows, (long long)rg->total_byte_size));
    if (rg->has_total_compressed_size)
      FLOE_TRY(fbuf_printf(out, err, " compressed_size=%lld",
                           (long long)rg->total_compressed_size));
    FLOE_TRY(fbuf_printf(out, err, "\n"));
    for (int j = 0; j < rg->ncolumns; j++) {
      const pq_chunk *c = &rg->columns[j];
      const pq_leaf *l = NULL;
      for (int k = 0; k < r->nfields; k++)
        if (r->fields[k].chunk == j && r->fields[k].supported)
          l = &r->fields[k];
      if (!c->has_meta) {
        FLOE_TRY(fbuf_printf(out, err, "  column %d: no metadata\n", j));
        continue;
      }
      const pq_col_meta *m = &c->meta;
      FLOE_TRY(fbuf_printf(out, err, "  column "));
      for (int p = 0; p < m->npath; p++)
        FLOE_TRY(fbuf_printf(out, err, "%s%s", p ? "." : "", m->path[p]));
      FLOE_TRY(fbuf_printf(out, err,
                           ": %s %s encodings=", pq_type_name(m->type),
                           pq_codec_name((pq_codec)m->codec)));
      for (int e = 0; e < m->nencodings; e++)
        FLOE_TRY(fbuf_printf(out, err, "%s%s", e ? "," : "",
                             pq_encoding_name(m->encodings[e])));
      FLOE_TRY(fbuf_printf(out, err,
                           " num_values=%lld compressed=%lld "
                           "uncompressed=%lld data_page_offset=%lld",
                           (long long)m->num_values,
                           (long long)m->total_compressed_size,
                           (long long)m->total_uncompressed_size,
                           (long long)m->data_page_offset));
      if (m->has_dictionary_page_offset)
        FLOE_TRY(fbuf_printf(out, err, " dictionary_page_offset=%lld",
                             (long long)m->dictionary_page_offset));
      FLOE_TRY(fbuf_printf(out, err, "\n"));
      const pq_stats *s = &m->stats;
      if (!s->present) continue;
      FLOE_TRY(fbuf_printf(out, err, "    statistics:"));
      if (s->has_null_count)
        FLOE_TRY(fbuf_printf(out, err, " null_count=%lld",
                             (long long)s->null_count));
      if (s->has_distinct_count)
        FLOE_TRY(fbuf_printf(out, err, " distinct_count=%lld",
                             (long long)s->distinct_count));
      if (s->has_nan_count)
        FLOE_TRY(
            fbuf_printf(out, err, " nan_count=%lld", (long long)s->nan_count));
      /* min_value/max_value are in the column's order; the deprecated
       * min/max only in signed byte order, so they are labelled apart */
      if (s->min_value.p) {
        FLOE_TRY(fbuf_printf(out, err, " min="));
        FLOE_TRY(stat_text(l, &s->min_value, out, err));
      }
      if (s->max_value.p) {
        FLOE_TRY(fbuf_printf(out, err, " max="));
        FLOE_TRY(stat_text(l, &s->max_value, out, err));
      }
      if (!s->min_value.p && s->min.p) {
        FLOE_TRY(fbuf_printf(out, err, " min(legacy)="));
        FLOE_TRY(stat_text(l, &s->min, out, err));
      }
      if (!s->max_value.p && s->max.p) {
        FLOE_TRY(fbuf_printf(out, err, " max(legacy)="));
        FLOE_TRY(stat_text(l, &s->max, out, err));
      }
      FLOE_TRY(fbuf_printf(out, err, "\n"));
    }
  }
  return FLOE_OK;
}
