/* Manifests and manifest lists; see manifest.h. */
#include "iceberg/manifest.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "iceberg/avro.h"
#include "iceberg/partition.h"
#include "util/hash.h"

/* ================= ownership helpers ================= */

static char *dupstr(const char *s, floe_error *err) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (!d) {
    ferr_nomem(err, n);
    return NULL;
  }
  return memcpy(d, s, n);
}

static void *dupmem(const void *p, size_t n, floe_error *err) {
  if (!p || !n) return NULL;
  void *d = malloc(n);
  if (!d) {
    ferr_nomem(err, n);
    return NULL;
  }
  return memcpy(d, p, n);
}

static floe_status dupbuf(fbuf *dst, const fbuf *src, floe_error *err) {
  *dst = (fbuf)FBUF_INIT;
  return fbuf_append(dst, src->data, src->len, err);
}

void ice_data_file_free(ice_data_file *f) {
  if (!f) return;
  free(f->file_path);
  free(f->file_format);
  for (int i = 0; i < f->npartition; i++) fbuf_free(&f->partition[i].bytes);
  free(f->partition);
  for (int i = 0; i < f->nmetrics; i++) {
    fbuf_free(&f->metrics[i].lower);
    fbuf_free(&f->metrics[i].upper);
  }
  free(f->metrics);
  free(f->split_offsets);
  free(f->referenced_data_file);
  free(f->equality_ids);
  memset(f, 0, sizeof *f);
}

void ice_manifest_entry_free(ice_manifest_entry *e) {
  if (e) ice_data_file_free(&e->file);
}

floe_status ice_data_file_copy(ice_data_file *dst, const ice_data_file *src,
                               floe_error *err) {
  ice_data_file d = *src;
  d.file_path = d.file_format = d.referenced_data_file = NULL;
  d.partition = NULL;
  d.metrics = NULL;
  d.split_offsets = NULL;
  d.equality_ids = NULL;
  d.npartition = d.nmetrics = 0;
  floe_status st = FLOE_ENOMEM;
  if ((src->file_path && !(d.file_path = dupstr(src->file_path, err))) ||
      (src->file_format && !(d.file_format = dupstr(src->file_format, err))) ||
      (src->referenced_data_file &&
       !(d.referenced_data_file = dupstr(src->referenced_data_file, err))))
    goto fail;
  if (src->nsplit_offsets > 0 &&
      !(d.split_offsets =
            dupmem(src->split_offsets,
                   sizeof(int64_t) * (size_t)src->nsplit_offsets, err)))
    goto fail;
  if (src->nequality_ids > 0 &&
      !(d.equality_ids =
            dupmem(src->equality_ids,
                   sizeof(int32_t) * (size_t)src->nequality_ids, err)))
    goto fail;
  if (src->npartition > 0) {
    d.partition = calloc((size_t)src->npartition, sizeof *d.partition);
    if (!d.partition) {
      st = ferr_nomem(err, sizeof *d.partition * (size_t)src->npartition);
      goto fail;
    }
    for (; d.npartition < src->npartition; d.npartition++) {
      const ice_pvalue *s = &src->partition[d.npartition];
      d.partition[d.npartition].is_null = s->is_null;
      if ((st = dupbuf(&d.partition[d.npartition].bytes, &s->bytes, err)))
        goto fail;
    }
  }
  if (src->nmetrics > 0) {
    d.metrics = calloc((size_t)src->nmetrics, sizeof *d.metrics);
    if (!d.metrics) {
      st = ferr_nomem(err, sizeof *d.metrics * (size_t)src->nmetrics);
      goto fail;
    }
    for (; d.nmetrics < src->nmetrics; d.nmetrics++) {
      ice_metric *m = &d.metrics[d.nmetrics];
      *m = src->metrics[d.nmetrics];
      m->lower = m->upper = (fbuf)FBUF_INIT;
      if ((st = dupbuf(&m->lower, &src->metrics[d.nmetrics].lower, err)) ||
          (st = dupbuf(&m->upper, &src->metrics[d.nmetrics].upper, err))) {
        d.nmetrics++; /* so the free below releases m's buffers */
        goto fail;
      }
    }
  }
  *dst = d;
  return FLOE_OK;
fail:
  ice_data_file_free(&d);
  return st;
}

void ice_manifest_file_free(ice_manifest_file *m) {
  if (!m) return;
  free(m->manifest_path);
  for (int i = 0; i < m->npartitions; i++) {
    fbuf_free(&m->partitions[i].lower);
    fbuf_free(&m->partitions[i].upper);
  }
  free(m->partitions);
  memset(m, 0, sizeof *m);
}

floe_status ice_manifest_file_copy(ice_manifest_file *dst,
                                   const ice_manifest_file *src,
                                   floe_error *err) {
  ice_manifest_file d = *src;
  d.manifest_path = NULL;
  d.partitions = NULL;
  d.npartitions = 0;
  floe_status st = FLOE_ENOMEM;
  if (src->manifest_path &&
      !(d.manifest_path = dupstr(src->manifest_path, err)))
    goto fail;
  if (src->npartitions > 0) {
    d.partitions = calloc((size_t)src->npartitions, sizeof *d.partitions);
    if (!d.partitions) {
      st = ferr_nomem(err, sizeof *d.partitions * (size_t)src->npartitions);
      goto fail;
    }
    for (; d.npartitions < src->npartitions; d.npartitions++) {
      ice_field_summary *s = &d.partitions[d.npartitions];
      *s = src->partitions[d.npartitions];
      s->lower = s->upper = (fbuf)FBUF_INIT;
      if ((st =
               dupbuf(&s->lower, &src->partitions[d.npartitions].lower, err)) ||
          (st =
               dupbuf(&s->upper, &src->partitions[d.npartitions].upper, err))) {
        d.npartitions++;
        goto fail;
      }
    }
  }
  *dst = d;
  return FLOE_OK;
fail:
  ice_manifest_file_free(&d);
  return st;
}

/* ================= data files from Parquet ================= */

static bool is_float_field(const col_schema *s, int32_t field_id) {
  if (!s) return false;
  for (int i = 0; i < s->nfields; i++) {
    const col_field *f = &s->fields[i];
    col_type t = f->type.id;
    if (t == COL_LIST) {
      if (f->elem_id != field_id) continue;
      t = f->type.elem;
    } else if (f->id != field_id) {
      continue;
    }
    return t == COL_FLOAT32 || t == COL_FLOAT64;
  }
  return false;
}

static floe_status from_parquet(const char *path, const pq_file_metrics *m,
                                const col_schema *schema, ice_data_file *out,
                                floe_error *err) {
  ice_data_file f;
  memset(&f, 0, sizeof f);
  f.content = ICE_CONTENT_DATA;
  f.record_count = m->record_count;
  f.file_size_in_bytes = m->file_size;
  f.sort_order_id = ICE_NONE;
  f.first_row_id = ICE_NONE;
  f.content_offset = ICE_NONE;
  f.content_size_in_bytes = ICE_NONE;
  floe_status st = FLOE_ENOMEM;
  if (!(f.file_path = dupstr(path, err)) ||
      !(f.file_format = dupstr("PARQUET", err)))
    goto fail;
  if (m->nsplits > 0) {
    if (!(f.split_offsets = dupmem(m->split_offsets,
                                   sizeof(int64_t) * (size_t)m->nsplits, err)))
      goto fail;
    f.nsplit_offsets = m->nsplits;
  }
  if (m->ncolumns > 0) {
    f.metrics = calloc((size_t)m->ncolumns, sizeof *f.metrics);
    if (!f.metrics) {
      st = ferr_nomem(err, sizeof *f.metrics * (size_t)m->ncolumns);
      goto fail;
    }
    for (; f.nmetrics < m->ncolumns; f.nmetrics++) {
      const pq_column_metrics *c = &m->columns[f.nmetrics];
      ice_metric *x = &f.metrics[f.nmetrics];
      x->field_id = c->field_id;
      x->column_size = c->column_size;
      x->value_count = c->value_count;
      x->null_count = c->null_count;
      /* Iceberg Java records NaN counts for float columns only */
      bool fl = schema ? is_float_field(schema, c->field_id) : c->nan_count > 0;
      x->nan_count = fl ? c->nan_count : ICE_NONE;
      x->has_lower = x->has_upper = c->has_bounds;
      if (c->has_bounds && ((st = dupbuf(&x->lower, &c->lower, err)) ||
                            (st = dupbuf(&x->upper, &c->upper, err)))) {
        f.nmetrics++;
        goto fail;
      }
    }
  }
  *out = f;
  return FLOE_OK;
fail:
  ice_data_file_free(&f);
  return st;
}

floe_status ice_data_file_from_parquet(const char *path,
                                       const pq_file_metrics *m,
                                       ice_data_file *out, floe_error *err) {
  return from_parquet(path, m, NULL, out, err);
}

floe_status ice_data_file_from_parquet_schema(const char *path,
                                              const pq_file_metrics *m,
                                              const col_schema *schema,
                                              ice_data_file *out,
                                              floe_error *err) {
  return from_parquet(path, m, schema, out, err);
}

/* ================= Avro schemas (JSON) ================= */

/* jansson's *_new setters consume their value even on failure, so building
 * only needs to remember that something failed. */
typedef struct jb {
  bool oom;
  /* named Avro types already defined (Avro forbids redefining a name:
   * later uses refer to it by name, as Java's Schema.toString does) */
  char names[64][32];
  int nnames;
} jb;

static json_t *jcheck(jb *b, json_t *v) {
  if (!v) b->oom = true;
  return v;
}
static void jset(jb *b, json_t *o, const char *k, json_t *v) {
  if (json_object_set_new(o, k, v)) b->oom = true;
}
static void jpush(jb *b, json_t *a, json_t *v) {
  if (json_array_append_new(a, v)) b->oom = true;
}

static json_t *jfield(jb *b, const char *name, json_t *type, bool optional,
                      const char *doc, int id) {
  json_t *f = jcheck(b, json_object());
  jset(b, f, "name", json_string(name));
  if (optional) {
    json_t *u = jcheck(b, json_array());
    jpush(b, u, json_string("null"));
    jpush(b, u, type);
    type = u;
  }
  jset(b, f, "type", type);
  if (doc) jset(b, f, "doc", json_string(doc));
  if (optional) jset(b, f, "default", json_null());
  jset(b, f, "field-id", json_integer(id));
  return f;
}

static json_t *jrecord(jb *b, const char *name, json_t **fields, int n) {
  json_t *r = jcheck(b, json_object());
  jset(b, r, "type", json_string("record"));
  jset(b, r, "name", json_string(name));
  json_t *fs = jcheck(b, json_array());
  for (int i = 0; i < n; i++) jpush(b, fs, fields[i]);
  jset(b, r, "fields", fs);
  return r;
}

static json_t *jlist(jb *b, json_t *items, int elem_id) {
  json_t *a = jcheck(b, json_object());
  jset(b, a, "type", json_string("array"));
  jset(b, a, "items", items);
  jset(b, a, "element-id", json_integer(elem_id));
  return a;
}

/* An int-keyed map: array of k<key>_v<value> records, logicalType map. */
static json_t *jmap(jb *b, int kid, int vid, const char *vtype) {
  char name[32];
  snprintf(name, sizeof name, "k%d_v%d", kid, vid);
  json_t *kv[2] = {jfield(b, "key", json_string("int"), false, NULL, kid),
                   jfield(b, "value", json_string(vtype), false, NULL, vid)};
  json_t *a = jcheck(b, json_object());
  jset(b, a, "type", json_string("array"));
  jset(b, a, "items", jrecord(b, name, kv, 2));
  jset(b, a, "logicalType", json_string("map"));
  return a;
}

static bool jname_seen(jb *b, const char *name) {
  for (int i = 0; i < b->nnames; i++)
    if (!strcmp(b->names[i], name)) return true;
  if (b->nnames < (int)(sizeof b->names / sizeof b->names[0]))
    snprintf(b->names[b->nnames++], sizeof b->names[0], "%s", name);
  return false;
}

static json_t *jlogical(jb *b, const char *base, const char *logical) {
  json_t *o = jcheck(b, json_object());
  jset(b, o, "type", json_string(base));
  jset(b, o, "logicalType", json_string(logical));
  return o;
}

/* The Avro type of an Iceberg value of col type t (spec Appendix A). */
static json_t *javro_type(jb *b, col_dtype t) {
  switch (t.id) {
  case COL_BOOL: return json_string("boolean");
  case COL_INT16:
  case COL_INT32: return json_string("int");
  case COL_INT64: return json_string("long");
  case COL_FLOAT32: return json_string("float");
  case COL_FLOAT64: return json_string("double");
  case COL_UTF8: return json_string("string");
  case COL_BINARY: return json_string("bytes");
  case COL_DATE: return jlogical(b, "int", "date");
  case COL_TIME: return jlogical(b, "long", "time-micros");
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: {
    json_t *o = jlogical(b, "long", "timestamp-micros");
    jset(b, o, "adjust-to-utc", json_boolean(t.id == COL_TIMESTAMPTZ));
    return o;
  }
  case COL_DECIMAL: {
    char name[32];
    snprintf(name, sizeof name, "decimal_%d_%d", t.precision, t.scale);
    if (jname_seen(b, name)) return json_string(name);
    json_t *o = jcheck(b, json_object());
    jset(b, o, "type", json_string("fixed"));
    jset(b, o, "name", json_string(name));
    jset(b, o, "size", json_integer(ice_decimal_fixed_size(t.precision)));
    jset(b, o, "logicalType", json_string("decimal"));
    jset(b, o, "precision", json_integer(t.precision));
    jset(b, o, "scale", json_integer(t.scale));
    return o;
  }
  case COL_UUID: {
    if (jname_seen(b, "uuid_fixed")) return json_string("uuid_fixed");
    json_t *o = jcheck(b, json_object());
    jset(b, o, "type", json_string("fixed"));
    jset(b, o, "name", json_string("uuid_fixed"));
    jset(b, o, "size", json_integer(16));
    jset(b, o, "logicalType", json_string("uuid"));
    return o;
  }
  default: return NULL;
  }
}

/* Avro names allow [A-Za-z_][A-Za-z0-9_]*: other characters become _xHH
 * (a leading digit gets a '_' prefix), as Java's AvroSchemaUtil does. */
static floe_status avro_name(const char *s, fbuf *o, bool *changed,
                             floe_error *err) {
  *changed = false;
  fbuf_reset(o);
  for (size_t i = 0; s[i]; i++) {
    unsigned char c = (unsigned char)s[i];
    bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (letter || (digit && i > 0)) {
      FLOE_TRY(fbuf_put_u8(o, c, err));
    } else if (digit) {
      FLOE_TRY(fbuf_printf(o, err, "_%c", c));
      *changed = true;
    } else {
      FLOE_TRY(fbuf_printf(o, err, "_x%02X", c));
      *changed = true;
    }
  }
  if (o->len == 0) {
    FLOE_TRY(fbuf_put_u8(o, '_', err));
    *changed = true;
  }
  return fbuf_put_u8(o, 0, err);
}

static floe_status dump_json(jb *b, json_t *root, char **out, floe_error *err) {
  if (b->oom || !root) {
    json_decref(root);
    return ferr_set(err, FLOE_ENOMEM, "out of memory building a schema");
  }
  *out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (!*out)
    return ferr_set(err, FLOE_ENOMEM, "out of memory writing a schema");
  return FLOE_OK;
}

/* Result types of the spec's fields over schema (one per field). */
static floe_status partition_types(const ice_schema *schema,
                                   const ice_partition_spec *spec,
                                   col_dtype *types, floe_error *err) {
  for (int i = 0; i < spec->nfields; i++) {
    const ice_partition_field *pf = &spec->fields[i];
    if (!pf->name)
      return ferr_set(err, FLOE_EINVAL, "partition field %" PRId32 ": no name",
                      pf->field_id);
    int k = schema->cols ? col_schema_find_id(schema->cols, pf->source_id) : -1;
    if (k < 0)
      return ferr_set(err, FLOE_EINVAL,
                      "partition field '%s': source column %" PRId32
                      " is not in schema %" PRId32,
                      pf->name ? pf->name : "?", pf->source_id,
                      schema->schema_id);
    floe_status st = ice_transform_result(
        &pf->transform, schema->cols->fields[k].type, &types[i], err);
    if (st)
      return ferr_prefix(err, st, "partition field '%s'",
                         pf->name ? pf->name : "?");
  }
  return FLOE_OK;
}

static floe_status entry_schema_json(const ice_partition_spec *spec,
                                     const col_dtype *ptypes, char **out,
                                     floe_error *err) {
  jb b;
  memset(&b, 0, sizeof b);
  fbuf nm = FBUF_INIT;
  int np = spec->nfields;
  json_t **pf = calloc((size_t)np + 1, sizeof *pf);
  if (!pf) return ferr_nomem(err, sizeof *pf * ((size_t)np + 1));
  floe_status st = FLOE_OK;
  for (int i = 0; i < np && !st; i++) {
    const ice_partition_field *f = &spec->fields[i];
    bool changed;
    st = avro_name(f->name ? f->name : "", &nm, &changed, err);
    if (st) break;
    pf[i] = jfield(&b, (const char *)nm.data, javro_type(&b, ptypes[i]), true,
                   NULL, f->field_id);
    if (changed) jset(&b, pf[i], "iceberg-field-name", json_string(f->name));
  }
  fbuf_free(&nm);
  if (st) {
    for (int i = 0; i < np; i++) json_decref(pf[i]);
    free(pf);
    return st;
  }
  json_t *df[] = {
      jfield(&b, "content", json_string("int"), false,
             "Contents of the file: 0=data, 1=position deletes, 2=equality "
             "deletes",
             134),
      jfield(&b, "file_path", json_string("string"), false,
             "Location URI with FS scheme", 100),
      jfield(&b, "file_format", json_string("string"), false,
             "File format name: avro, orc, or parquet", 101),
      jfield(&b, "partition", jrecord(&b, "r102", pf, np), false,
             "Partition data tuple, schema based on the partition spec", 102),
      jfield(&b, "record_count", json_string("long"), false,
             "Number of records in the file", 103),
      jfield(&b, "file_size_in_bytes", json_string("long"), false,
             "Total file size in bytes", 104),
      jfield(&b, "column_sizes", jmap(&b, 117, 118, "long"), true,
             "Map of column id to total size on disk", 108),
      jfield(&b, "value_counts", jmap(&b, 119, 120, "long"), true,
             "Map of column id to total count, including null and NaN", 109),
      jfield(&b, "null_value_counts", jmap(&b, 121, 122, "long"), true,
             "Map of column id to null value count", 110),
      jfield(&b, "nan_value_counts", jmap(&b, 138, 139, "long"), true,
             "Map of column id to number of NaN values in the column", 137),
      jfield(&b, "lower_bounds", jmap(&b, 126, 127, "bytes"), true,
             "Map of column id to lower bound", 125),
      jfield(&b, "upper_bounds", jmap(&b, 129, 130, "bytes"), true,
             "Map of column id to upper bound", 128),
      jfield(&b, "key_metadata", json_string("bytes"), true,
             "Encryption key metadata blob", 131),
      jfield(&b, "split_offsets", jlist(&b, json_string("long"), 133), true,
             "Splittable offsets", 132),
      jfield(&b, "equality_ids", jlist(&b, json_string("int"), 136), true,
             "Equality comparison field IDs", 135),
      jfield(&b, "sort_order_id", json_string("int"), true, "Sort order ID",
             140),
      jfield(&b, "first_row_id", json_string("long"), true,
             "The first row ID assigned to the first row in the data file",
             142),
      jfield(&b, "referenced_data_file", json_string("string"), true,
             "Fully qualified location (URI with FS scheme) of a data file "
             "that all deletes reference",
             143),
      jfield(&b, "content_offset", json_string("long"), true,
             "The offset in the file where the content starts", 144),
      jfield(&b, "content_size_in_bytes", json_string("long"), true,
             "The length of referenced content stored in the file", 145),
  };
  free(pf);
  json_t *top[] = {
      jfield(&b, "status", json_string("int"), false, NULL, 0),
      jfield(&b, "snapshot_id", json_string("long"), true, NULL, 1),
      jfield(&b, "sequence_number", json_string("long"), true, NULL, 3),
      jfield(&b, "file_sequence_number", json_string("long"), true, NULL, 4),
      jfield(&b, "data_file",
             jrecord(&b, "r2", df, (int)(sizeof df / sizeof df[0])), false,
             NULL, 2),
  };
  return dump_json(
      &b, jrecord(&b, "manifest_entry", top, (int)(sizeof top / sizeof top[0])),
      out, err);
}

static floe_status list_schema_json(char **out, floe_error *err) {
  jb b;
  memset(&b, 0, sizeof b);
  json_t *fs[] = {
      jfield(&b, "contains_null", json_string("boolean"), false,
             "True if any file has a null partition value", 509),
      jfield(&b, "contains_nan", json_string("boolean"), true,
             "True if any file has a nan partition value", 518),
      jfield(&b, "lower_bound", json_string("bytes"), true,
             "Partition lower bound for all files", 510),
      jfield(&b, "upper_bound", json_string("bytes"), true,
             "Partition upper bound for all files", 511),
  };
  json_t *f[] = {
      jfield(&b, "manifest_path", json_string("string"), false,
             "Location URI with FS scheme", 500),
      jfield(&b, "manifest_length", json_string("long"), false,
             "Total file size in bytes", 501),
      jfield(&b, "partition_spec_id", json_string("int"), false,
             "Spec ID used to write", 502),
      jfield(&b, "content", json_string("int"), false,
             "Contents of the manifest: 0=data, 1=deletes", 517),
      jfield(&b, "sequence_number", json_string("long"), false,
             "Sequence number when the manifest was added", 515),
      jfield(&b, "min_sequence_number", json_string("long"), false,
             "Lowest sequence number in the manifest", 516),
      jfield(&b, "added_snapshot_id", json_string("long"), false,
             "Snapshot ID that added the manifest", 503),
      jfield(&b, "added_files_count", json_string("int"), false,
             "Added entry count", 504),
      jfield(&b, "existing_files_count", json_string("int"), false,
             "Existing entry count", 505),
      jfield(&b, "deleted_files_count", json_string("int"), false,
             "Deleted entry count", 506),
      jfield(&b, "added_rows_count", json_string("long"), false,
             "Added rows count", 512),
      jfield(&b, "existing_rows_count", json_string("long"), false,
             "Existing rows count", 513),
      jfield(&b, "deleted_rows_count", json_string("long"), false,
             "Deleted rows count", 514),
      jfield(&b, "partitions", jlist(&b, jrecord(&b, "r508", fs, 4), 508), true,
             "Summary for each partition", 507),
      jfield(&b, "key_metadata", json_string("bytes"), true,
             "Encryption key metadata blob", 519),
      jfield(&b, "first_row_id", json_string("long"), true,
             "Starting row ID to assign to new rows in ADDED data files", 520),
  };
  return dump_json(
      &b, jrecord(&b, "manifest_file", f, (int)(sizeof f / sizeof f[0])), out,
      err);
}

floe_status ice_manifest_entry_schema_json(const ice_schema *schema,
                                           const ice_partition_spec *spec,
                                           char **out, floe_error *err) {
  col_dtype *pt = calloc((size_t)spec->nfields + 1, sizeof *pt);
  if (!pt) return ferr_nomem(err, sizeof *pt * ((size_t)spec->nfields + 1));
  floe_status st = partition_types(schema, spec, pt, err);
  if (!st) st = entry_schema_json(spec, pt, out, err);
  free(pt);
  return st;
}

floe_status ice_manifest_list_schema_json(char **out, floe_error *err) {
  return list_schema_json(out, err);
}

/* ================= encoding ================= */

static floe_status put_opt_long(fbuf *b, int64_t v, floe_error *err) {
  if (v == ICE_NONE) return avro_put_union(b, 0, err);
  FLOE_TRY(avro_put_union(b, 1, err));
  return avro_put_long(b, v, err);
}

static floe_status put_opt_int(fbuf *b, int32_t v, floe_error *err) {
  if (v == ICE_NONE) return avro_put_union(b, 0, err);
  FLOE_TRY(avro_put_union(b, 1, err));
  return avro_put_int(b, v, err);
}

static floe_status put_opt_string(fbuf *b, const char *s, floe_error *err) {
  if (!s) return avro_put_union(b, 0, err);
  FLOE_TRY(avro_put_union(b, 1, err));
  return avro_put_string(b, s, err);
}

/* One partition value (an Appendix D buffer) as the Avro type of t. */
static floe_status put_pvalue(fbuf *b, col_dtype t, const ice_pvalue *v,
                              int idx, floe_error *err) {
  if (v->is_null) return avro_put_union(b, 0, err);
  FLOE_TRY(avro_put_union(b, 1, err));
  const uint8_t *p = v->bytes.data;
  size_t n = v->bytes.len;
  size_t want = 0;
  switch (t.id) {
  case COL_BOOL: want = 1; break;
  case COL_INT16:
  case COL_INT32:
  case COL_DATE:
  case COL_FLOAT32: want = 4; break;
  case COL_INT64:
  case COL_FLOAT64:
  case COL_TIME:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: want = 8; break;
  case COL_UUID: want = 16; break;
  default: break;
  }
  if (want && n != want)
    return ferr_set(err, FLOE_EINVAL,
                    "partition value %d: %zu bytes for a %s (want %zu)", idx, n,
                    col_type_name(t.id), want);
  switch (t.id) {
  case COL_BOOL: return avro_put_bool(b, p[0] != 0, err);
  case COL_INT16:
  case COL_INT32:
  case COL_DATE: return avro_put_int(b, (int32_t)fle32(p), err);
  case COL_INT64:
  case COL_TIME:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: return avro_put_long(b, (int64_t)fle64(p), err);
  case COL_FLOAT32:
  case COL_FLOAT64:
  case COL_UUID: return avro_put_fixed(b, p, n, err);
  case COL_UTF8:
  case COL_BINARY: return avro_put_bytes(b, p, n, err);
  case COL_DECIMAL: {
    /* minimal big-endian -> sign-extended fixed of the precision's size */
    size_t size = (size_t)ice_decimal_fixed_size(t.precision);
    if (n == 0 || n > 16)
      return ferr_set(err, FLOE_EINVAL,
                      "partition value %d: decimal of %zu bytes", idx, n);
    size_t skip = 0;
    while (n - skip > size && skip + 1 < n &&
           ((p[skip] == 0x00 && !(p[skip + 1] & 0x80)) ||
            (p[skip] == 0xFF && (p[skip + 1] & 0x80))))
      skip++;
    if (n - skip > size)
      return ferr_set(err, FLOE_EINVAL,
                      "partition value %d: decimal needs %zu bytes, "
                      "decimal(%d,%d) holds %zu",
                      idx, n - skip, t.precision, t.scale, size);
    uint8_t fx[16];
    memset(fx, (p[skip] & 0x80) ? 0xFF : 0x00, size);
    memcpy(fx + size - (n - skip), p + skip, n - skip);
    return avro_put_fixed(b, fx, size, err);
  }
  default:
    return ferr_set(err, FLOE_EINVAL, "partition value %d: unsupported type %s",
                    idx, col_type_name(t.id));
  }
}

typedef enum { M_SIZE, M_VALUES, M_NULLS, M_NANS, M_LOWER, M_UPPER } mkind;

static bool metric_has(const ice_metric *m, mkind k) {
  switch (k) {
  case M_SIZE: return m->column_size != ICE_NONE;
  case M_VALUES: return m->value_count != ICE_NONE;
  case M_NULLS: return m->null_count != ICE_NONE;
  case M_NANS: return m->nan_count != ICE_NONE;
  case M_LOWER: return m->has_lower;
  default: return m->has_upper;
  }
}

static floe_status put_metric_map(fbuf *b, const ice_data_file *f, mkind k,
                                  floe_error *err) {
  int64_t n = 0;
  for (int i = 0; i < f->nmetrics; i++) n += metric_has(&f->metrics[i], k);
  if (n == 0) return avro_put_union(b, 0, err);
  FLOE_TRY(avro_put_union(b, 1, err));
  FLOE_TRY(avro_put_long(b, n, err));
  for (int i = 0; i < f->nmetrics; i++) {
    const ice_metric *m = &f->metrics[i];
    if (!metric_has(m, k)) continue;
    FLOE_TRY(avro_put_int(b, m->field_id, err));
    switch (k) {
    case M_SIZE: FLOE_TRY(avro_put_long(b, m->column_size, err)); break;
    case M_VALUES: FLOE_TRY(avro_put_long(b, m->value_count, err)); break;
    case M_NULLS: FLOE_TRY(avro_put_long(b, m->null_count, err)); break;
    case M_NANS: FLOE_TRY(avro_put_long(b, m->nan_count, err)); break;
    case M_LOWER:
      FLOE_TRY(avro_put_bytes(b, m->lower.data, m->lower.len, err));
      break;
    default: FLOE_TRY(avro_put_bytes(b, m->upper.data, m->upper.len, err));
    }
  }
  return avro_put_long(b, 0, err);
}

static floe_status check_entry(const ice_manifest_entry *e, int content,
                               int npart, floe_error *err) {
  const ice_data_file *f = &e->file;
  if (e->status < ICE_STATUS_EXISTING || e->status > ICE_STATUS_DELETED)
    return ferr_set(err, FLOE_EINVAL, "bad status %d", e->status);
  if (content == ICE_MANIFEST_DATA ? f->content != ICE_CONTENT_DATA
                                   : (f->content != ICE_CONTENT_POS_DELETES &&
                                      f->content != ICE_CONTENT_EQ_DELETES))
    return ferr_set(err, FLOE_EINVAL, "file content %d in a %s manifest",
                    f->content,
                    content == ICE_MANIFEST_DATA ? "data" : "delete");
  if (!f->file_path || !f->file_format)
    return ferr_set(err, FLOE_EINVAL, "file_path and file_format are required");
  if (f->npartition != npart)
    return ferr_set(err, FLOE_EINVAL,
                    "%d partition values for a spec of %d fields",
                    f->npartition, npart);
  if (f->record_count < 0 || f->file_size_in_bytes < 0)
    return ferr_set(err, FLOE_EINVAL, "negative record count or file size");
  if ((f->content_offset == ICE_NONE) != (f->content_size_in_bytes == ICE_NONE))
    return ferr_set(err, FLOE_EINVAL,
                    "content_offset and content_size_in_bytes go together");
  if (!strcmp(f->file_format, "PUFFIN") &&
      (!f->referenced_data_file || f->content_offset == ICE_NONE))
    return ferr_set(err, FLOE_EINVAL,
                    "a deletion vector needs referenced_data_file, "
                    "content_offset and content_size_in_bytes");
  if (e->sequence_number == ICE_NONE && e->status != ICE_STATUS_ADDED)
    return ferr_set(err, FLOE_EINVAL,
                    "only ADDED entries may leave the sequence number null");
  return FLOE_OK;
}

/* The data_file record (field 2) of an entry. */
static floe_status encode_file(fbuf *b, const ice_data_file *f,
                               const col_dtype *pt, floe_error *err) {
  FLOE_TRY(avro_put_int(b, f->content, err));
  FLOE_TRY(avro_put_string(b, f->file_path, err));
  FLOE_TRY(avro_put_string(b, f->file_format, err));
  for (int i = 0; i < f->npartition; i++)
    FLOE_TRY(put_pvalue(b, pt[i], &f->partition[i], i, err));
  FLOE_TRY(avro_put_long(b, f->record_count, err));
  FLOE_TRY(avro_put_long(b, f->file_size_in_bytes, err));
  for (mkind k = M_SIZE; k <= M_UPPER; k++)
    FLOE_TRY(put_metric_map(b, f, k, err));
  FLOE_TRY(avro_put_union(b, 0, err)); /* key_metadata */
  if (f->nsplit_offsets > 0) {
    FLOE_TRY(avro_put_union(b, 1, err));
    FLOE_TRY(avro_put_long(b, f->nsplit_offsets, err));
    for (int i = 0; i < f->nsplit_offsets; i++)
      FLOE_TRY(avro_put_long(b, f->split_offsets[i], err));
    FLOE_TRY(avro_put_long(b, 0, err));
  } else {
    FLOE_TRY(avro_put_union(b, 0, err));
  }
  if (f->nequality_ids > 0) {
    FLOE_TRY(avro_put_union(b, 1, err));
    FLOE_TRY(avro_put_long(b, f->nequality_ids, err));
    for (int i = 0; i < f->nequality_ids; i++)
      FLOE_TRY(avro_put_int(b, f->equality_ids[i], err));
    FLOE_TRY(avro_put_long(b, 0, err));
  } else {
    FLOE_TRY(avro_put_union(b, 0, err));
  }
  FLOE_TRY(put_opt_int(b, f->sort_order_id, err));
  /* delete files never carry a first_row_id */
  FLOE_TRY(put_opt_long(
      b, f->content == ICE_CONTENT_DATA ? f->first_row_id : ICE_NONE, err));
  FLOE_TRY(put_opt_string(b, f->referenced_data_file, err));
  FLOE_TRY(put_opt_long(b, f->content_offset, err));
  return put_opt_long(b, f->content_size_in_bytes, err);
}

/* An entry; pre (may be NULL) is e->file already encoded by encode_file. */
static floe_status encode_entry(fbuf *b, const ice_manifest_entry *e,
                                int64_t snapshot_id, const col_dtype *pt,
                                const fbuf *pre, floe_error *err) {
  int64_t sid = e->snapshot_id;
  /* the snapshot adding the manifest is known: write it, as Java does */
  if (sid == ICE_NONE && e->status == ICE_STATUS_ADDED) sid = snapshot_id;
  FLOE_TRY(avro_put_int(b, e->status, err));
  FLOE_TRY(put_opt_long(b, sid, err));
  FLOE_TRY(put_opt_long(b, e->sequence_number, err));
  FLOE_TRY(put_opt_long(b, e->file_sequence_number, err));
  if (pre) return fbuf_append(b, pre->data, pre->len, err);
  return encode_file(b, &e->file, pt, err);
}

/* Partition field summaries over all entries (as Java's PartitionSummary:
 * every entry counts, whatever its status). Bounds borrow entry bytes. */
typedef struct psum {
  bool has_null, has_nan;
  const fbuf *lo, *hi;
} psum;

static void summarize(psum *s, col_dtype t, const ice_pvalue *v) {
  if (v->is_null) {
    s->has_null = true;
    return;
  }
  const uint8_t *p = v->bytes.data;
  size_t n = v->bytes.len;
  if (ice_value_is_nan(t, p, n)) {
    s->has_nan = true;
    return;
  }
  if (!s->lo || ice_value_cmp(t, p, n, s->lo->data, s->lo->len) < 0)
    s->lo = &v->bytes;
  if (!s->hi || ice_value_cmp(t, p, n, s->hi->data, s->hi->len) > 0)
    s->hi = &v->bytes;
}

static floe_status fill_summary(ice_manifest_file *m,
                                const ice_partition_spec *spec, int content,
                                const ice_manifest_entry *entries, int n,
                                int64_t snapshot_id, const col_dtype *pt,
                                floe_error *err) {
  memset(m, 0, sizeof *m);
  m->partition_spec_id = spec->spec_id;
  m->content = content;
  m->sequence_number = ICE_NONE;
  m->min_sequence_number = ICE_NONE;
  m->added_snapshot_id = snapshot_id;
  m->first_row_id = ICE_NONE;
  for (int i = 0; i < n; i++) {
    const ice_manifest_entry *e = &entries[i];
    int64_t rc = e->file.record_count;
    switch (e->status) {
    case ICE_STATUS_ADDED:
      m->added_files_count++;
      m->added_rows_count += rc;
      break;
    case ICE_STATUS_EXISTING:
      m->existing_files_count++;
      m->existing_rows_count += rc;
      break;
    default:
      m->deleted_files_count++;
      m->deleted_rows_count += rc;
      break;
    }
    if (e->status != ICE_STATUS_DELETED && e->sequence_number != ICE_NONE &&
        (m->min_sequence_number == ICE_NONE ||
         e->sequence_number < m->min_sequence_number))
      m->min_sequence_number = e->sequence_number;
  }
  int np = spec->nfields;
  if (np == 0) return FLOE_OK;
  psum *s = calloc((size_t)np, sizeof *s);
  m->partitions = calloc((size_t)np, sizeof *m->partitions);
  if (!s || !m->partitions) {
    free(s);
    free(m->partitions);
    m->partitions = NULL;
    return ferr_nomem(err, sizeof *s * (size_t)np);
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < np; j++)
      summarize(&s[j], pt[j], &entries[i].file.partition[j]);
  floe_status st = FLOE_OK;
  for (; m->npartitions < np && !st; m->npartitions++) {
    ice_field_summary *fs = &m->partitions[m->npartitions];
    const psum *p = &s[m->npartitions];
    fs->contains_null = p->has_null;
    fs->contains_nan = p->has_nan;
    fs->has_lower = p->lo != NULL;
    fs->has_upper = p->hi != NULL;
    if (p->lo) st = dupbuf(&fs->lower, p->lo, err);
    if (!st && p->hi) st = dupbuf(&fs->upper, p->hi, err);
  }
  free(s);
  return st;
}

/* What encoding a manifest for one (schema, spec) needs, built once: the
 * partition result types, the entry schema and the header texts. */
struct ice_manifest_coder {
  const ice_partition_spec *spec; /* borrowed */
  int32_t schema_id;
  col_dtype *pt;
  char *ejson;
  fbuf sj, pj;
  uint64_t key;
};

void ice_manifest_coder_free(ice_manifest_coder *c) {
  if (!c) return;
  free(c->pt);
  free(c->ejson);
  fbuf_free(&c->sj);
  fbuf_free(&c->pj);
  free(c);
}

floe_status ice_manifest_coder_new(const ice_schema *schema,
                                   const ice_partition_spec *spec,
                                   ice_manifest_coder **out, floe_error *err) {
  *out = NULL;
  ice_manifest_coder *c = calloc(1, sizeof *c);
  if (!c) return ferr_nomem(err, sizeof *c);
  c->spec = spec;
  c->schema_id = schema->schema_id;
  c->pt = calloc((size_t)spec->nfields + 1, sizeof *c->pt);
  floe_status st =
      c->pt ? FLOE_OK
            : ferr_nomem(err, sizeof *c->pt * ((size_t)spec->nfields + 1));
  if (!st) st = partition_types(schema, spec, c->pt, err);
  if (!st) st = entry_schema_json(spec, c->pt, &c->ejson, err);
  if (!st) st = ice_schema_write_json(schema, &c->sj, err);
  if (!st) st = ice_spec_fields_write_json(spec, &c->pj, err);
  if (st) {
    ice_manifest_coder_free(c);
    return st;
  }
  /* the entry schema fixes every byte of the encoding; | 1: never 0 */
  c->key = fhash64(c->ejson, strlen(c->ejson)) | 1;
  *out = c;
  return FLOE_OK;
}

uint64_t ice_manifest_coder_key(const ice_manifest_coder *c) { return c->key; }

floe_status ice_manifest_encode_file(const ice_manifest_coder *c,
                                     const ice_data_file *f, fbuf *out,
                                     floe_error *err) {
  if (f->npartition != c->spec->nfields)
    return ferr_set(err, FLOE_EINVAL,
                    "%d partition values for a spec of %d fields",
                    f->npartition, c->spec->nfields);
  size_t start = out->len;
  floe_status st = encode_file(out, f, c->pt, err);
  if (st) out->len = start;
  return st;
}

floe_status ice_manifest_write_coded(const ice_manifest_coder *c, int content,
                                     const ice_manifest_entry *entries,
                                     const fbuf *const *pre, int n,
                                     int64_t snapshot_id, fbuf *out,
                                     ice_manifest_file *summary,
                                     floe_error *err) {
  if (content != ICE_MANIFEST_DATA && content != ICE_MANIFEST_DELETES)
    return ferr_set(err, FLOE_EINVAL, "manifest content %d", content);
  if (n < 0 || (n > 0 && !entries))
    return ferr_set(err, FLOE_EINVAL, "manifest: %d entries", n);
  const ice_partition_spec *spec = c->spec;
  int np = spec->nfields;
  avro_writer *w = NULL;
  size_t start = out->len;
  ice_manifest_file sum;
  memset(&sum, 0, sizeof sum);
  floe_status st = FLOE_OK;
  for (int i = 0; i < n && !st; i++) {
    st = check_entry(&entries[i], content, np, err);
    if (st) st = ferr_prefix(err, st, "manifest entry %d", i);
  }
  if (!st) {
    char sid[16], pid[16];
    snprintf(sid, sizeof sid, "%" PRId32, c->schema_id);
    snprintf(pid, sizeof pid, "%" PRId32, spec->spec_id);
    const char *ct = content == ICE_MANIFEST_DATA ? "data" : "deletes";
    avro_meta_entry meta[] = {
        {"schema", c->sj.data, c->sj.len},
        {"schema-id", sid, strlen(sid)},
        {"partition-spec", c->pj.data, c->pj.len},
        {"partition-spec-id", pid, strlen(pid)},
        {"format-version", "3", 1},
        {"content", ct, strlen(ct)},
    };
    avro_writer_opts o;
    memset(&o, 0, sizeof o);
    o.schema_json = c->ejson;
    /* Delete manifests are uncompressed: DVs land on random files, so a
     * commit rewrites every live DV entry of the manifests it touches,
     * and with the entries' bytes copied (pre) deflate would be nearly all
     * of that rewrite's CPU (bench/iceberg_commits, commit 1,000: level-1
     * deflate took it from 0.7 to 1.7 ms for 233 -> 55 KB). Data manifests
     * are written once and rarely rewritten: deflate level 1, several
     * times faster than the default for a few percent more bytes on their
     * repetitive paths. */
    o.codec =
        content == ICE_MANIFEST_DELETES ? AVRO_CODEC_NULL : AVRO_CODEC_DEFLATE;
    o.deflate_level = 1;
    o.meta = meta;
    o.nmeta = sizeof meta / sizeof meta[0];
    o.sync_seed = (uint64_t)snapshot_id;
    st = avro_writer_open(&o, out, &w, err);
  }
  for (int i = 0; i < n && !st; i++) {
    st = encode_entry(avro_writer_record_buf(w), &entries[i], snapshot_id,
                      c->pt, pre ? pre[i] : NULL, err);
    if (!st) st = avro_writer_commit_record(w, err);
    if (st) st = ferr_prefix(err, st, "manifest entry %d", i);
  }
  if (!st) st = avro_writer_finish(w, err);
  if (!st && summary)
    st = fill_summary(&sum, spec, content, entries, n, snapshot_id, c->pt, err);
  if (!st && summary) {
    sum.manifest_length = (int64_t)(out->len - start);
    *summary = sum;
  } else {
    ice_manifest_file_free(&sum);
  }
  if (st) out->len = start;
  avro_writer_free(w);
  return st;
}

floe_status ice_manifest_write(const ice_schema *schema,
                               const ice_partition_spec *spec, int content,
                               const ice_manifest_entry *entries, int n,
                               int64_t snapshot_id, fbuf *out,
                               ice_manifest_file *summary, floe_error *err) {
  if (content != ICE_MANIFEST_DATA && content != ICE_MANIFEST_DELETES)
    return ferr_set(err, FLOE_EINVAL, "manifest content %d", content);
  ice_manifest_coder *c = NULL;
  FLOE_TRY(ice_manifest_coder_new(schema, spec, &c, err));
  floe_status st = ice_manifest_write_coded(c, content, entries, NULL, n,
                                            snapshot_id, out, summary, err);
  ice_manifest_coder_free(c);
  return st;
}

/* ================= decoding ================= */

/* Field `id` of record v; NULL when the writer's schema lacks it. A null
 * union branch is returned as the AV_NULL value. */
static const avro_value *fid(const avro_value *v, int32_t id) {
  return avro_value_field_by_id(v, id);
}

static floe_status need(const avro_value *rec, int32_t id, const char *name,
                        const avro_value **out, floe_error *err) {
  *out = fid(rec, id);
  if (!*out || (*out)->type == AV_NULL)
    return ferr_corrupt(err, "required field %" PRId32 " (%s) is %s", id, name,
                        *out ? "null" : "missing");
  return FLOE_OK;
}

static floe_status get_long(const avro_value *rec, int32_t id, const char *name,
                            int64_t *out, floe_error *err) {
  const avro_value *v;
  FLOE_TRY(need(rec, id, name, &v, err));
  floe_status st = avro_value_long(v, out, err);
  return st ? ferr_prefix(err, st, "field %" PRId32, id) : FLOE_OK;
}

static floe_status get_int(const avro_value *rec, int32_t id, const char *name,
                           int32_t *out, floe_error *err) {
  const avro_value *v;
  FLOE_TRY(need(rec, id, name, &v, err));
  floe_status st = avro_value_int(v, out, err);
  return st ? ferr_prefix(err, st, "field %" PRId32, id) : FLOE_OK;
}

/* Optional long: missing or null -> dflt. */
static floe_status opt_long(const avro_value *rec, int32_t id, int64_t dflt,
                            int64_t *out, floe_error *err) {
  const avro_value *v = fid(rec, id);
  if (!v || v->type == AV_NULL) {
    *out = dflt;
    return FLOE_OK;
  }
  floe_status st = avro_value_long(v, out, err);
  return st ? ferr_prefix(err, st, "field %" PRId32, id) : FLOE_OK;
}

static floe_status opt_int(const avro_value *rec, int32_t id, int32_t dflt,
                           int32_t *out, floe_error *err) {
  const avro_value *v = fid(rec, id);
  if (!v || v->type == AV_NULL) {
    *out = dflt;
    return FLOE_OK;
  }
  floe_status st = avro_value_int(v, out, err);
  return st ? ferr_prefix(err, st, "field %" PRId32, id) : FLOE_OK;
}

static floe_status get_str(const avro_value *rec, int32_t id, const char *name,
                           bool required, char **out, floe_error *err) {
  const avro_value *v = fid(rec, id);
  *out = NULL;
  if (!v || v->type == AV_NULL) {
    if (required) return need(rec, id, name, &v, err);
    return FLOE_OK;
  }
  const char *s;
  size_t n;
  floe_status st = avro_value_string(v, &s, &n, err);
  if (st) return ferr_prefix(err, st, "field %" PRId32, id);
  if (strlen(s) != n)
    return ferr_corrupt(err, "field %" PRId32 " (%s) holds a NUL byte", id,
                        name);
  *out = (char *)s; /* arena copy, NUL-terminated */
  return FLOE_OK;
}

/* An arena fbuf view of n bytes (valid while the arena lives). */
static floe_status arena_buf(farena *a, const void *p, size_t n, fbuf *out,
                             floe_error *err) {
  uint8_t *d = farena_alloc(a, n ? n : 1, err);
  if (!d) return FLOE_ENOMEM;
  if (n) memcpy(d, p, n);
  out->data = d;
  out->len = out->cap = n;
  return FLOE_OK;
}

/* A partition value (Avro, in the writer's type) back to Appendix D. */
static floe_status read_pvalue(const avro_value *v, farena *a, ice_pvalue *out,
                               floe_error *err) {
  uint8_t tmp[16];
  const uint8_t *p = tmp;
  size_t n;
  out->is_null = v->type == AV_NULL;
  out->bytes = (fbuf)FBUF_INIT;
  if (out->is_null) return FLOE_OK;
  switch (v->type) {
  case AV_BOOLEAN:
    tmp[0] = v->u.b ? 1 : 0;
    n = 1;
    break;
  case AV_INT:
    for (int i = 0; i < 4; i++) tmp[i] = (uint8_t)((uint64_t)v->u.l >> (8 * i));
    n = 4;
    break;
  case AV_LONG:
    for (int i = 0; i < 8; i++) tmp[i] = (uint8_t)((uint64_t)v->u.l >> (8 * i));
    n = 8;
    break;
  case AV_FLOAT:
    memcpy(tmp, &v->u.f, 4);
    n = 4;
    break;
  case AV_DOUBLE:
    memcpy(tmp, &v->u.d, 8);
    n = 8;
    break;
  case AV_STRING:
  case AV_BYTES:
    p = v->u.bytes.p;
    n = v->u.bytes.n;
    break;
  case AV_FIXED:
    p = v->u.bytes.p;
    n = v->u.bytes.n;
    if (v->schema->logical && !strcmp(v->schema->logical, "decimal") && n > 0) {
      /* the fixed is sign-extended: keep the minimal form */
      while (n > 1 && ((p[0] == 0x00 && !(p[1] & 0x80)) ||
                       (p[0] == 0xFF && (p[1] & 0x80)))) {
        p++;
        n--;
      }
    }
    break;
  default:
    return ferr_corrupt(err, "partition value of Avro type %s",
                        avro_type_name(v->type));
  }
  return arena_buf(a, p, n, &out->bytes, err);
}

/* Reads an int-keyed metrics map (array of key/value records). */
static floe_status map_items(const avro_value *m, int32_t id,
                             const avro_value **items, size_t *n,
                             floe_error *err) {
  *items = NULL;
  *n = 0;
  if (!m || m->type == AV_NULL) return FLOE_OK;
  if (m->type != AV_ARRAY)
    return ferr_corrupt(err, "field %" PRId32 ": expected an array, got %s", id,
                        avro_type_name(m->type));
  for (size_t i = 0; i < m->u.list.n; i++) {
    const avro_value *kv = &m->u.list.v[i];
    if (kv->type != AV_RECORD || kv->u.list.n != 2)
      return ferr_corrupt(err,
                          "field %" PRId32 ": map item is not a key/value "
                          "record",
                          id);
  }
  *items = m->u.list.v;
  *n = m->u.list.n;
  return FLOE_OK;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

static const int32_t metric_ids[6] = {108, 109, 110, 137, 125, 128};

/* Merges the six metrics maps into one ice_metric per field id, ordered by
 * field id, in the arena. */
static floe_status read_metrics(const avro_value *df, farena *a,
                                ice_data_file *f, floe_error *err) {
  const avro_value *items[6];
  size_t counts[6], total = 0;
  for (int k = 0; k < 6; k++) {
    FLOE_TRY(map_items(fid(df, metric_ids[k]), metric_ids[k], &items[k],
                       &counts[k], err));
    total += counts[k];
  }
  f->nmetrics = 0;
  f->metrics = NULL;
  if (total == 0) return FLOE_OK;
  int32_t *ids = farena_alloc(a, total * sizeof *ids, err);
  if (!ids) return FLOE_ENOMEM;
  size_t t = 0;
  for (int k = 0; k < 6; k++)
    for (size_t i = 0; i < counts[k]; i++) {
      int32_t key;
      floe_status st = avro_value_int(&items[k][i].u.list.v[0], &key, err);
      if (st)
        return ferr_prefix(err, st, "field %" PRId32 " key", metric_ids[k]);
      ids[t++] = key;
    }
  qsort(ids, total, sizeof *ids, cmp_i32);
  size_t u = 0;
  for (size_t i = 0; i < total; i++)
    if (u == 0 || ids[u - 1] != ids[i]) ids[u++] = ids[i];
  ice_metric *ms = farena_alloc(a, u * sizeof *ms, err);
  if (!ms) return FLOE_ENOMEM;
  for (size_t i = 0; i < u; i++) {
    memset(&ms[i], 0, sizeof ms[i]);
    ms[i].field_id = ids[i];
    ms[i].column_size = ms[i].value_count = ms[i].null_count = ms[i].nan_count =
        ICE_NONE;
  }
  for (int k = 0; k < 6; k++)
    for (size_t i = 0; i < counts[k]; i++) {
      const avro_value *kv = &items[k][i];
      const avro_value *val = &kv->u.list.v[1];
      int32_t key = (int32_t)kv->u.list.v[0].u.l; /* checked int above */
      const int32_t *at = bsearch(&key, ids, u, sizeof *ids, cmp_i32);
      ice_metric *m = &ms[at - ids];
      floe_status st = FLOE_OK;
      switch (k) {
      case 0: st = avro_value_long(val, &m->column_size, err); break;
      case 1: st = avro_value_long(val, &m->value_count, err); break;
      case 2: st = avro_value_long(val, &m->null_count, err); break;
      case 3: st = avro_value_long(val, &m->nan_count, err); break;
      default: {
        const uint8_t *p;
        size_t n;
        st = avro_value_bytes(val, &p, &n, err);
        if (st) break;
        /* the decoded bytes already live in the arena: view them */
        fbuf *dst = k == 4 ? &m->lower : &m->upper;
        dst->data = (uint8_t *)p;
        dst->len = dst->cap = n;
        if (k == 4)
          m->has_lower = true;
        else
          m->has_upper = true;
      }
      }
      if (st)
        return ferr_prefix(err, st,
                           "field %" PRId32 " value for column %" PRId32,
                           metric_ids[k], key);
    }
  f->metrics = ms;
  f->nmetrics = (int)u;
  return FLOE_OK;
}

/* A list of longs or ints (split_offsets, equality_ids) into the arena. */
static floe_status read_list(const avro_value *v, int32_t id, bool ints,
                             farena *a, void **out, int *n, floe_error *err) {
  *out = NULL;
  *n = 0;
  if (!v || v->type == AV_NULL) return FLOE_OK;
  if (v->type != AV_ARRAY)
    return ferr_corrupt(err, "field %" PRId32 ": expected an array, got %s", id,
                        avro_type_name(v->type));
  size_t cnt = v->u.list.n;
  if (cnt > INT32_MAX)
    return ferr_corrupt(err, "field %" PRId32 ": %zu items", id, cnt);
  if (cnt == 0) return FLOE_OK;
  void *d = farena_alloc(a, cnt * (ints ? 4 : 8), err);
  if (!d) return FLOE_ENOMEM;
  for (size_t i = 0; i < cnt; i++) {
    floe_status st =
        ints ? avro_value_int(&v->u.list.v[i], (int32_t *)d + i, err)
             : avro_value_long(&v->u.list.v[i], (int64_t *)d + i, err);
    if (st) return ferr_prefix(err, st, "field %" PRId32 " item %zu", id, i);
  }
  *out = d;
  *n = (int)cnt;
  return FLOE_OK;
}

static floe_status read_data_file(const avro_value *df, farena *a,
                                  ice_data_file *f, floe_error *err) {
  memset(f, 0, sizeof *f);
  if (df->type != AV_RECORD)
    return ferr_corrupt(err, "data_file is a %s, not a record",
                        avro_type_name(df->type));
  int32_t content;
  FLOE_TRY(opt_int(df, 134, ICE_CONTENT_DATA, &content, err)); /* v1: data */
  if (content < ICE_CONTENT_DATA || content > ICE_CONTENT_EQ_DELETES)
    return ferr_corrupt(err, "data_file content %" PRId32 " is not 0, 1 or 2",
                        content);
  f->content = content;
  FLOE_TRY(get_str(df, 100, "file_path", true, &f->file_path, err));
  FLOE_TRY(get_str(df, 101, "file_format", true, &f->file_format, err));
  const avro_value *part;
  FLOE_TRY(need(df, 102, "partition", &part, err));
  if (part->type != AV_RECORD)
    return ferr_corrupt(err, "partition is a %s, not a record",
                        avro_type_name(part->type));
  size_t np = part->u.list.n;
  if (np > 0) {
    f->partition = farena_alloc(a, np * sizeof *f->partition, err);
    if (!f->partition) return FLOE_ENOMEM;
    for (size_t i = 0; i < np; i++) {
      floe_status st =
          read_pvalue(&part->u.list.v[i], a, &f->partition[i], err);
      if (st) return ferr_prefix(err, st, "partition field %zu", i);
    }
  }
  f->npartition = (int)np;
  FLOE_TRY(get_long(df, 103, "record_count", &f->record_count, err));
  FLOE_TRY(
      get_long(df, 104, "file_size_in_bytes", &f->file_size_in_bytes, err));
  if (f->record_count < 0 || f->file_size_in_bytes < 0)
    return ferr_corrupt(err, "negative record_count or file_size_in_bytes");
  FLOE_TRY(read_metrics(df, a, f, err));
  void *l;
  FLOE_TRY(read_list(fid(df, 132), 132, false, a, &l, &f->nsplit_offsets, err));
  f->split_offsets = l;
  FLOE_TRY(read_list(fid(df, 135), 135, true, a, &l, &f->nequality_ids, err));
  f->equality_ids = l;
  FLOE_TRY(opt_int(df, 140, ICE_NONE, &f->sort_order_id, err));
  FLOE_TRY(opt_long(df, 142, ICE_NONE, &f->first_row_id, err));
  FLOE_TRY(get_str(df, 143, "referenced_data_file", false,
                   &f->referenced_data_file, err));
  FLOE_TRY(opt_long(df, 144, ICE_NONE, &f->content_offset, err));
  FLOE_TRY(opt_long(df, 145, ICE_NONE, &f->content_size_in_bytes, err));
  return FLOE_OK;
}

static floe_status check_version(const avro_reader *r, floe_error *err) {
  const uint8_t *p;
  size_t n;
  if (!avro_reader_meta(r, "format-version", &p, &n)) return FLOE_OK;
  if (n == 1 && p[0] >= '1' && p[0] <= '3') return FLOE_OK;
  return ferr_set(err, FLOE_EUNSUPPORTED,
                  "format-version \"%.*s\" (floe reads 1 to 3)",
                  (int)(n > 16 ? 16 : n), (const char *)p);
}

floe_status ice_manifest_read(const uint8_t *p, size_t n, const char *name,
                              const ice_manifest_file *mf, ice_entry_fn fn,
                              void *ctx, floe_error *err) {
  avro_reader *r = NULL;
  if (!name) name = "manifest";
  FLOE_TRY(avro_reader_open(p, n, name, NULL, &r, err));
  floe_status st = check_version(r, err);
  if (st) {
    avro_reader_free(r);
    return ferr_prefix(err, st, "%s", name);
  }
  /* v1 manifests have no sequence number column: those default to 0 */
  const avro_schema *sc = avro_reader_schema(r);
  bool has_seq = false;
  for (size_t i = 0; sc->type == AV_RECORD && i < sc->nfields; i++)
    if (sc->fields[i].has_id && sc->fields[i].id == 3) has_seq = true;
  bool inherit_rows =
      mf && mf->content == ICE_MANIFEST_DATA && mf->first_row_id != ICE_NONE;
  int64_t next_row = inherit_rows ? mf->first_row_id : 0;
  farena a;
  farena_init(&a, 16384, 0);
  for (uint64_t idx = 0;; idx++) {
    farena_reset(&a);
    const avro_value *v;
    st = avro_reader_next(r, &a, &v, err);
    if (st == FLOE_EEOF) {
      st = FLOE_OK;
      break;
    }
    if (st) break;
    ice_manifest_entry e;
    memset(&e, 0, sizeof e);
    int32_t status;
    const avro_value *df;
    if ((st = get_int(v, 0, "status", &status, err)) ||
        (st = opt_long(v, 1, ICE_NONE, &e.snapshot_id, err)) ||
        (st =
             opt_long(v, 3, has_seq ? ICE_NONE : 0, &e.sequence_number, err)) ||
        (st = opt_long(v, 4, has_seq ? ICE_NONE : 0, &e.file_sequence_number,
                       err)) ||
        (st = need(v, 2, "data_file", &df, err)) ||
        (st = read_data_file(df, &a, &e.file, err))) {
      st = ferr_prefix(err, st, "%s: entry %" PRIu64, name, idx);
      break;
    }
    if (status < ICE_STATUS_EXISTING || status > ICE_STATUS_DELETED) {
      st = ferr_corrupt(
          err, "%s: entry %" PRIu64 ": status %" PRId32 " is not 0, 1 or 2",
          name, idx, status);
      break;
    }
    e.status = status;
    if (mf) {
      if (e.snapshot_id == ICE_NONE) e.snapshot_id = mf->added_snapshot_id;
      if (e.status == ICE_STATUS_ADDED) {
        if (e.sequence_number == ICE_NONE)
          e.sequence_number = mf->sequence_number;
        if (e.file_sequence_number == ICE_NONE)
          e.file_sequence_number = mf->sequence_number;
      }
    }
    if (inherit_rows && e.file.content == ICE_CONTENT_DATA &&
        e.file.first_row_id == ICE_NONE) {
      e.file.first_row_id = next_row;
      next_row += e.file.record_count;
    }
    st = fn(ctx, &e, err);
    if (st) break;
  }
  farena_free(&a);
  avro_reader_free(r);
  return st;
}

/* ================= manifest lists ================= */

static floe_status encode_list_entry(fbuf *b, const ice_manifest_file *m,
                                     floe_error *err) {
  FLOE_TRY(avro_put_string(b, m->manifest_path, err));
  FLOE_TRY(avro_put_long(b, m->manifest_length, err));
  FLOE_TRY(avro_put_int(b, m->partition_spec_id, err));
  FLOE_TRY(avro_put_int(b, m->content, err));
  FLOE_TRY(avro_put_long(b, m->sequence_number, err));
  FLOE_TRY(avro_put_long(b, m->min_sequence_number, err));
  FLOE_TRY(avro_put_long(b, m->added_snapshot_id, err));
  FLOE_TRY(avro_put_int(b, m->added_files_count, err));
  FLOE_TRY(avro_put_int(b, m->existing_files_count, err));
  FLOE_TRY(avro_put_int(b, m->deleted_files_count, err));
  FLOE_TRY(avro_put_long(b, m->added_rows_count, err));
  FLOE_TRY(avro_put_long(b, m->existing_rows_count, err));
  FLOE_TRY(avro_put_long(b, m->deleted_rows_count, err));
  FLOE_TRY(avro_put_union(b, 1, err));
  if (m->npartitions > 0) {
    FLOE_TRY(avro_put_long(b, m->npartitions, err));
    for (int i = 0; i < m->npartitions; i++) {
      const ice_field_summary *s = &m->partitions[i];
      FLOE_TRY(avro_put_bool(b, s->contains_null, err));
      if (s->contains_nan < 0) {
        FLOE_TRY(avro_put_union(b, 0, err));
      } else {
        FLOE_TRY(avro_put_union(b, 1, err));
        FLOE_TRY(avro_put_bool(b, s->contains_nan != 0, err));
      }
      for (int k = 0; k < 2; k++) {
        bool has = k ? s->has_upper : s->has_lower;
        const fbuf *v = k ? &s->upper : &s->lower;
        FLOE_TRY(avro_put_union(b, has ? 1 : 0, err));
        if (has) FLOE_TRY(avro_put_bytes(b, v->data, v->len, err));
      }
    }
  }
  FLOE_TRY(avro_put_long(b, 0, err));
  FLOE_TRY(avro_put_union(b, 0, err)); /* key_metadata */
  return put_opt_long(b, m->first_row_id, err);
}

floe_status ice_manifest_list_write(ice_manifest_file *mfs, int n,
                                    int64_t snapshot_id, int64_t parent_id,
                                    int64_t sequence_number,
                                    int64_t first_row_id, fbuf *out,
                                    int64_t *next_row_id, floe_error *err) {
  if (n < 0 || (n > 0 && !mfs))
    return ferr_set(err, FLOE_EINVAL, "manifest list: %d entries", n);
  if (sequence_number < 0 || first_row_id < 0)
    return ferr_set(
        err, FLOE_EINVAL,
        "manifest list: sequence number and first-row-id must be set");
  /* check everything before assigning, so a refused call changes nothing */
  for (int i = 0; i < n; i++) {
    const ice_manifest_file *m = &mfs[i];
    if (!m->manifest_path)
      return ferr_set(err, FLOE_EINVAL, "manifest list entry %d: no path", i);
    if (m->content != ICE_MANIFEST_DATA && m->content != ICE_MANIFEST_DELETES)
      return ferr_set(err, FLOE_EINVAL, "manifest list entry %d: content %d", i,
                      m->content);
    if (m->added_files_count < 0 || m->existing_files_count < 0 ||
        m->deleted_files_count < 0 || m->added_rows_count < 0 ||
        m->existing_rows_count < 0 || m->deleted_rows_count < 0 ||
        m->manifest_length < 0)
      return ferr_set(err, FLOE_EINVAL,
                      "manifest list entry %d (%s): unknown counts or length",
                      i, m->manifest_path);
    /* a manifest without a sequence number must be new in this snapshot */
    if ((m->sequence_number == ICE_NONE ||
         m->min_sequence_number == ICE_NONE) &&
        m->added_snapshot_id != snapshot_id)
      return ferr_set(err, FLOE_EINVAL,
                      "manifest list entry %d (%s): unassigned sequence number "
                      "for a manifest of snapshot %" PRId64,
                      i, m->manifest_path, m->added_snapshot_id);
  }
  int64_t next = first_row_id;
  for (int i = 0; i < n; i++) {
    ice_manifest_file *m = &mfs[i];
    if (m->sequence_number == ICE_NONE) m->sequence_number = sequence_number;
    if (m->min_sequence_number == ICE_NONE)
      m->min_sequence_number = sequence_number;
    if (m->content != ICE_MANIFEST_DATA) {
      m->first_row_id = ICE_NONE;
    } else if (m->first_row_id == ICE_NONE) {
      m->first_row_id = next;
      next += m->added_rows_count + m->existing_rows_count;
    }
  }
  char *json = NULL;
  FLOE_TRY(list_schema_json(&json, err));
  char sid[24], pid[24], seq[24], frid[24];
  snprintf(sid, sizeof sid, "%" PRId64, snapshot_id);
  snprintf(pid, sizeof pid, "%" PRId64, parent_id);
  snprintf(seq, sizeof seq, "%" PRId64, sequence_number);
  snprintf(frid, sizeof frid, "%" PRId64, first_row_id);
  avro_meta_entry meta[5];
  size_t nm = 0;
  meta[nm++] = (avro_meta_entry){"snapshot-id", sid, strlen(sid)};
  if (parent_id != ICE_NONE)
    meta[nm++] = (avro_meta_entry){"parent-snapshot-id", pid, strlen(pid)};
  meta[nm++] = (avro_meta_entry){"sequence-number", seq, strlen(seq)};
  meta[nm++] = (avro_meta_entry){"first-row-id", frid, strlen(frid)};
  meta[nm++] = (avro_meta_entry){"format-version", "3", 1};
  avro_writer_opts o;
  memset(&o, 0, sizeof o);
  o.schema_json = json;
  o.codec = AVRO_CODEC_DEFLATE;
  o.deflate_level = 1; /* as for manifests */
  o.meta = meta;
  o.nmeta = nm;
  o.sync_seed = (uint64_t)snapshot_id;
  size_t start = out->len;
  avro_writer *w = NULL;
  floe_status st = avro_writer_open(&o, out, &w, err);
  for (int i = 0; i < n && !st; i++) {
    st = encode_list_entry(avro_writer_record_buf(w), &mfs[i], err);
    if (!st) st = avro_writer_commit_record(w, err);
    if (st) st = ferr_prefix(err, st, "manifest list entry %d", i);
  }
  if (!st) st = avro_writer_finish(w, err);
  avro_writer_free(w);
  free(json);
  if (st) {
    out->len = start;
    return st;
  }
  if (next_row_id) *next_row_id = next;
  return FLOE_OK;
}

static floe_status read_summary(const avro_value *v, ice_field_summary *s,
                                floe_error *err) {
  memset(s, 0, sizeof *s);
  if (v->type != AV_RECORD)
    return ferr_corrupt(err, "field summary is a %s, not a record",
                        avro_type_name(v->type));
  const avro_value *x;
  FLOE_TRY(need(v, 509, "contains_null", &x, err));
  FLOE_TRY(avro_value_bool(x, &s->contains_null, err));
  x = fid(v, 518);
  s->contains_nan = -1;
  if (x && x->type != AV_NULL) {
    bool b;
    FLOE_TRY(avro_value_bool(x, &b, err));
    s->contains_nan = b;
  }
  for (int k = 0; k < 2; k++) {
    x = fid(v, k ? 511 : 510);
    if (!x || x->type == AV_NULL) continue;
    const uint8_t *p;
    size_t n;
    FLOE_TRY(avro_value_bytes(x, &p, &n, err));
    FLOE_TRY(fbuf_append(k ? &s->upper : &s->lower, p, n, err));
    if (k)
      s->has_upper = true;
    else
      s->has_lower = true;
  }
  return FLOE_OK;
}

static floe_status read_list_entry(const avro_value *v, ice_manifest_file *m,
                                   floe_error *err) {
  memset(m, 0, sizeof *m);
  char *path;
  int32_t i32;
  FLOE_TRY(get_str(v, 500, "manifest_path", true, &path, err));
  FLOE_TRY(get_long(v, 501, "manifest_length", &m->manifest_length, err));
  FLOE_TRY(get_int(v, 502, "partition_spec_id", &m->partition_spec_id, err));
  FLOE_TRY(opt_int(v, 517, ICE_MANIFEST_DATA, &i32, err)); /* v1: data */
  if (i32 != ICE_MANIFEST_DATA && i32 != ICE_MANIFEST_DELETES)
    return ferr_corrupt(err, "manifest content %" PRId32 " is not 0 or 1", i32);
  m->content = i32;
  /* v1 lists have no sequence numbers: 0 */
  FLOE_TRY(opt_long(v, 515, 0, &m->sequence_number, err));
  FLOE_TRY(opt_long(v, 516, 0, &m->min_sequence_number, err));
  FLOE_TRY(get_long(v, 503, "added_snapshot_id", &m->added_snapshot_id, err));
  /* v1 counts may be null ("assumed non-zero"): ICE_NONE */
  FLOE_TRY(opt_int(v, 504, ICE_NONE, &m->added_files_count, err));
  FLOE_TRY(opt_int(v, 505, ICE_NONE, &m->existing_files_count, err));
  FLOE_TRY(opt_int(v, 506, ICE_NONE, &m->deleted_files_count, err));
  FLOE_TRY(opt_long(v, 512, ICE_NONE, &m->added_rows_count, err));
  FLOE_TRY(opt_long(v, 513, ICE_NONE, &m->existing_rows_count, err));
  FLOE_TRY(opt_long(v, 514, ICE_NONE, &m->deleted_rows_count, err));
  FLOE_TRY(opt_long(v, 520, ICE_NONE, &m->first_row_id, err));
  const avro_value *parts = fid(v, 507);
  size_t np = 0;
  if (parts && parts->type != AV_NULL) {
    if (parts->type != AV_ARRAY)
      return ferr_corrupt(err, "partitions is a %s, not an array",
                          avro_type_name(parts->type));
    np = parts->u.list.n;
    if (np > INT32_MAX) return ferr_corrupt(err, "%zu partition summaries", np);
  }
  if (!(m->manifest_path = dupstr(path, err))) return FLOE_ENOMEM;
  if (np > 0) {
    m->partitions = calloc(np, sizeof *m->partitions);
    if (!m->partitions) return ferr_nomem(err, np * sizeof *m->partitions);
    for (; (size_t)m->npartitions < np; m->npartitions++) {
      floe_status st = read_summary(&parts->u.list.v[m->npartitions],
                                    &m->partitions[m->npartitions], err);
      if (st) {
        m->npartitions++; /* its buffers are freed with m */
        return ferr_prefix(err, st, "partition summary %d", m->npartitions - 1);
      }
    }
  }
  return FLOE_OK;
}

floe_status ice_manifest_list_read(const uint8_t *p, size_t n, const char *name,
                                   ice_manifest_file **out, int *nout,
                                   floe_error *err) {
  *out = NULL;
  *nout = 0;
  if (!name) name = "manifest list";
  avro_reader *r = NULL;
  FLOE_TRY(avro_reader_open(p, n, name, NULL, &r, err));
  floe_status st = check_version(r, err);
  if (st) {
    avro_reader_free(r);
    return ferr_prefix(err, st, "%s", name);
  }
  ice_manifest_file *v = NULL;
  int cnt = 0, cap = 0;
  farena a;
  farena_init(&a, 16384, 0);
  for (;;) {
    farena_reset(&a);
    const avro_value *rec;
    st = avro_reader_next(r, &a, &rec, err);
    if (st == FLOE_EEOF) {
      st = FLOE_OK;
      break;
    }
    if (st) break;
    if (cnt == cap) {
      if (cap >= INT32_MAX / 2) {
        st = ferr_corrupt(err, "%s: too many manifests", name);
        break;
      }
      int nc = cap ? cap * 2 : 8;
      ice_manifest_file *nv = realloc(v, sizeof *v * (size_t)nc);
      if (!nv) {
        st = ferr_nomem(err, sizeof *v * (size_t)nc);
        break;
      }
      v = nv;
      cap = nc;
    }
    st = read_list_entry(rec, &v[cnt], err);
    cnt++; /* a failed entry still owns what it allocated */
    if (st) {
      st = ferr_prefix(err, st, "%s: entry %d", name, cnt - 1);
      break;
    }
  }
  farena_free(&a);
  avro_reader_free(r);
  if (st) {
    for (int i = 0; i < cnt; i++) ice_manifest_file_free(&v[i]);
    free(v);
    return st;
  }
  *out = v;
  *nout = cnt;
  return FLOE_OK;
}
