/*
 * Reading a table (spec "Scan Planning", "Deletion Vectors", "Default
 * values", "Schema Evolution"): the plan lists a snapshot's live data files
 * with the DV that applies to each; the scan reads them through the store,
 * projects by field id and maps every file's columns onto the requested
 * schema.
 */
#include "iceberg/scan.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "columnar/text.h"
#include "util/hash.h"

/* ---- plan ---- */

/* A DV entry seen while reading the delete manifests. */
typedef struct dv_ref {
  char *puffin_path;          /* owned */
  char *referenced_data_file; /* owned */
  int64_t offset, size, cardinality;
  int64_t seq;
  const char *manifest; /* borrowed: the manifest list entry's path */
} dv_ref;

typedef struct plan_ctx {
  ice_catalog *cat;
  const ice_manifest_file *mf;
  ice_scan_task *tasks;
  int ntasks, cap;
  dv_ref *dvs;
  int ndvs, dvcap;
} plan_ctx;

static floe_status grow(void **p, int *cap, int need, size_t size,
                        floe_error *err) {
  if (need <= *cap) return FLOE_OK;
  int nc = *cap ? *cap * 2 : 16;
  while (nc < need) nc *= 2;
  void *q = realloc(*p, (size_t)nc * size);
  if (!q) return ferr_nomem(err, (size_t)nc * size);
  *p = q;
  *cap = nc;
  return FLOE_OK;
}

static floe_status on_entry(void *vctx, const ice_manifest_entry *e,
                            floe_error *err) {
  plan_ctx *c = vctx;
  const char *mname = c->mf->manifest_path;
  if (e->status == ICE_STATUS_DELETED) return FLOE_OK;
  const ice_data_file *f = &e->file;
  bool want_data = c->mf->content == ICE_MANIFEST_DATA;
  if ((f->content == ICE_CONTENT_DATA) != want_data)
    return ferr_corrupt(err, "manifest %s: %s file %s in a %s manifest", mname,
                        f->content == ICE_CONTENT_DATA ? "data" : "delete",
                        f->file_path, want_data ? "data" : "delete");
  if (e->sequence_number == ICE_NONE)
    return ferr_corrupt(err,
                        "manifest %s: entry for %s has no data sequence "
                        "number to use or inherit",
                        mname, f->file_path);
  if (f->content == ICE_CONTENT_EQ_DELETES)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "manifest %s: equality delete file %s: floe reads only "
                    "deletion vectors",
                    mname, f->file_path);
  if (f->content == ICE_CONTENT_POS_DELETES) {
    bool is_dv = f->file_format && strcmp(f->file_format, "PUFFIN") == 0;
    if (!is_dv)
      return ferr_set(err, FLOE_EUNSUPPORTED,
                      "manifest %s: position delete file %s (%s): floe "
                      "reads only deletion vectors",
                      mname, f->file_path,
                      f->file_format ? f->file_format : "no format");
    if (!f->referenced_data_file || f->content_offset == ICE_NONE ||
        f->content_size_in_bytes == ICE_NONE || f->content_offset < 0 ||
        f->content_size_in_bytes < 0)
      return ferr_corrupt(err,
                          "manifest %s: deletion vector in %s lacks "
                          "referenced_data_file, content_offset or "
                          "content_size_in_bytes",
                          mname, f->file_path);
    FLOE_TRY(
        grow((void **)&c->dvs, &c->dvcap, c->ndvs + 1, sizeof *c->dvs, err));
    dv_ref *d = &c->dvs[c->ndvs];
    memset(d, 0, sizeof *d);
    d->puffin_path = strdup(f->file_path);
    d->referenced_data_file = strdup(f->referenced_data_file);
    if (!d->puffin_path || !d->referenced_data_file) {
      free(d->puffin_path);
      free(d->referenced_data_file);
      return ferr_nomem(err, strlen(f->file_path));
    }
    d->offset = f->content_offset;
    d->size = f->content_size_in_bytes;
    d->cardinality = f->record_count;
    d->seq = e->sequence_number;
    d->manifest = mname;
    c->ndvs++;
    return FLOE_OK;
  }
  FLOE_TRY(
      grow((void **)&c->tasks, &c->cap, c->ntasks + 1, sizeof *c->tasks, err));
  ice_scan_task *t = &c->tasks[c->ntasks];
  memset(t, 0, sizeof *t);
  FLOE_TRY(ice_data_file_copy(&t->file, f, err));
  t->data_sequence_number = e->sequence_number;
  c->ntasks++;
  return FLOE_OK;
}

/* Reads a whole object named by its location. */
static floe_status read_object(ice_catalog *cat, const char *path,
                               const char *what, fbuf *out, floe_error *err) {
  char *key = NULL;
  floe_status st = ice_catalog_key(cat, path, &key, err);
  if (st == FLOE_OK)
    st = fstore_get_all(cat->store, key, ICE_SCAN_MAX_MANIFEST, out, err);
  free(key);
  if (st) return ferr_prefix(err, st, "%s %s", what, path);
  return FLOE_OK;
}

/* Reads one DV blob (just its byte range) and checks its cardinality. */
static floe_status load_dv(ice_catalog *cat, const dv_ref *d, ice_dv **out,
                           floe_error *err) {
  char *key = NULL;
  uint8_t *buf = NULL;
  uint64_t size = 0;
  floe_status st = ice_catalog_key(cat, d->puffin_path, &key, err);
  if (!st) st = fstore_size(cat->store, key, &size, err);
  if (!st && ((uint64_t)d->offset > size ||
              (uint64_t)d->size > size - (uint64_t)d->offset))
    st = ferr_corrupt(err,
                      "blob at offset %lld, %lld bytes, past the end of the "
                      "file (%llu bytes)",
                      (long long)d->offset, (long long)d->size,
                      (unsigned long long)size);
  if (!st && !(buf = malloc(d->size ? (size_t)d->size : 1)))
    st = ferr_nomem(err, (size_t)d->size);
  if (!st)
    st = fstore_get_range(cat->store, key, (uint64_t)d->offset, buf,
                          (size_t)d->size, err);
  if (!st) st = ice_dv_deserialize(buf, (size_t)d->size, out, err);
  if (!st && ice_dv_cardinality(*out) != (uint64_t)d->cardinality) {
    st = ferr_corrupt(err,
                      "deletion vector holds %llu positions, the manifest "
                      "says record_count %lld",
                      (unsigned long long)ice_dv_cardinality(*out),
                      (long long)d->cardinality);
    ice_dv_free(*out);
    *out = NULL;
  }
  free(buf);
  free(key);
  if (st)
    return ferr_prefix(err, st, "puffin %s (deletion vector of %s)",
                       d->puffin_path, d->referenced_data_file);
  return FLOE_OK;
}

/* Open addressing over task indexes, keyed by data file path. */
typedef struct path_index {
  int *slots; /* task index or -1 */
  size_t mask;
} path_index;

static floe_status index_build(path_index *ix, const ice_scan_task *tasks,
                               int n, floe_error *err) {
  size_t cap = 16;
  while (cap < (size_t)n * 2) cap *= 2;
  ix->slots = malloc(cap * sizeof *ix->slots);
  if (!ix->slots) return ferr_nomem(err, cap * sizeof *ix->slots);
  memset(ix->slots, 0xff, cap * sizeof *ix->slots);
  ix->mask = cap - 1;
  for (int i = 0; i < n; i++) {
    const char *p = tasks[i].file.file_path;
    size_t h = (size_t)fhash64(p, strlen(p)) & ix->mask;
    while (ix->slots[h] >= 0) {
      if (strcmp(tasks[ix->slots[h]].file.file_path, p) == 0)
        return ferr_corrupt(err, "data file %s is live twice in the snapshot",
                            p);
      h = (h + 1) & ix->mask;
    }
    ix->slots[h] = i;
  }
  return FLOE_OK;
}

static int index_find(const path_index *ix, const ice_scan_task *tasks,
                      const char *p) {
  size_t h = (size_t)fhash64(p, strlen(p)) & ix->mask;
  while (ix->slots[h] >= 0) {
    if (strcmp(tasks[ix->slots[h]].file.file_path, p) == 0) return ix->slots[h];
    h = (h + 1) & ix->mask;
  }
  return -1;
}

void ice_plan_free(ice_plan *p) {
  if (!p) return;
  for (int i = 0; i < p->ntasks; i++) {
    ice_data_file_free(&p->tasks[i].file);
    ice_dv_free(p->tasks[i].deletes);
  }
  free(p->tasks);
  free(p);
}

floe_status ice_plan_build(ice_catalog *cat, const ice_metadata *md,
                           int64_t snapshot_id, ice_plan **out,
                           floe_error *err) {
  *out = NULL;
  const ice_snapshot *snap = NULL;
  if (snapshot_id == ICE_NONE) {
    snap = ice_metadata_current_snapshot(md);
  } else {
    snap = ice_metadata_snapshot(md, snapshot_id);
    if (!snap)
      return ferr_set(err, FLOE_ENOTFOUND, "table %s has no snapshot %lld",
                      md->location, (long long)snapshot_id);
  }
  ice_plan *p = calloc(1, sizeof *p);
  if (!p) return ferr_nomem(err, sizeof *p);
  p->snapshot_id = snap ? snap->snapshot_id : ICE_NONE;
  p->schema_id = md->current_schema_id;
  if (snapshot_id != ICE_NONE && snap->schema_id != ICE_NONE)
    p->schema_id = snap->schema_id;
  if (!ice_metadata_schema(md, p->schema_id)) {
    ice_plan_free(p);
    return ferr_corrupt(err,
                        "table %s: snapshot %lld names schema %d, which "
                        "the metadata lacks",
                        md->location, (long long)snapshot_id,
                        (int)p->schema_id);
  }
  if (!snap) {
    *out = p;
    return FLOE_OK;
  }

  plan_ctx c;
  memset(&c, 0, sizeof c);
  c.cat = cat;
  fbuf buf = FBUF_INIT;
  ice_manifest_file *mfs = NULL;
  int nmfs = 0;
  path_index ix = {NULL, 0};
  floe_status st =
      read_object(cat, snap->manifest_list, "manifest list", &buf, err);
  if (!st)
    st = ice_manifest_list_read(buf.data, buf.len, snap->manifest_list, &mfs,
                                &nmfs, err);
  for (int i = 0; i < nmfs && !st; i++) {
    c.mf = &mfs[i];
    fbuf_reset(&buf);
    st = read_object(cat, mfs[i].manifest_path, "manifest", &buf, err);
    if (!st)
      st = ice_manifest_read(buf.data, buf.len, mfs[i].manifest_path, &mfs[i],
                             on_entry, &c, err);
  }
  fbuf_free(&buf);

  /* Each DV goes to its data file when it is as new as the file (spec:
   * data sequence number of the DV >= that of the data file); one live
   * data file may have at most one DV that applies. */
  if (!st) st = index_build(&ix, c.tasks, c.ntasks, err);
  for (int i = 0; i < c.ndvs && !st; i++) {
    const dv_ref *d = &c.dvs[i];
    int k = index_find(&ix, c.tasks, d->referenced_data_file);
    if (k < 0) continue; /* its data file is gone: nothing to apply */
    ice_scan_task *t = &c.tasks[k];
    if (d->seq < t->data_sequence_number) continue;
    if (t->deletes) {
      st = ferr_corrupt(err,
                        "manifest %s: a second deletion vector (in %s) for "
                        "data file %s",
                        d->manifest, d->puffin_path, t->file.file_path);
      break;
    }
    st = load_dv(cat, d, &t->deletes, err);
  }
  free(ix.slots);
  for (int i = 0; i < c.ndvs; i++) {
    free(c.dvs[i].puffin_path);
    free(c.dvs[i].referenced_data_file);
  }
  free(c.dvs);
  for (int i = 0; i < nmfs; i++) ice_manifest_file_free(&mfs[i]);
  free(mfs);
  p->tasks = c.tasks;
  p->ntasks = c.ntasks;
  if (st) {
    ice_plan_free(p);
    return st;
  }
  *out = p;
  return FLOE_OK;
}

/* ---- scan ---- */

/* How one output column is made from a file's batch. */
typedef enum src_kind { SRC_MOVE, SRC_WIDEN, SRC_DEFAULT } src_kind;

typedef struct out_col {
  int32_t id;
  col_dtype type;
  col_column def; /* one row: the initial-default (valid when has_def) */
  bool has_def;
  bool required;
  /* per file */
  src_kind kind;
  int src; /* column of the reader's batch */
} out_col;

typedef struct store_src {
  fstore *store;
  char *key;
} store_src;

struct ice_scan {
  ice_catalog *cat;
  const ice_plan *plan;
  col_schema *schema; /* the output schema, owned */
  out_col *cols;
  int ncols;
  int next_task;
  const ice_scan_task *task; /* the one being read */
  pq_reader *reader;
  store_src src;
  int32_t *ids; /* scratch: ids projected from the current file */
};

static floe_status store_read_at(void *ctx, uint64_t off, void *buf, size_t n,
                                 floe_error *err) {
  store_src *s = ctx;
  return fstore_get_range(s->store, s->key, off, buf, n, err);
}

static bool skip_deleted(void *ctx, int64_t row) {
  return ice_dv_contains(ctx, (uint64_t)row);
}

/* Parses an Appendix D JSON single value into a one-row column of type t. */
static floe_status parse_default(const char *json, col_column *c,
                                 floe_error *err) {
  json_error_t jerr;
  json_t *v = json_loads(json, JSON_DECODE_ANY, &jerr);
  if (!v) return ferr_corrupt(err, "initial-default %s: %s", json, jerr.text);
  floe_status st = FLOE_OK;
  char tmp[64];
  col_type t = c->type.id;
  if (json_is_null(v)) {
    st = col_append_null(c, err);
  } else if (t == COL_BOOL && json_is_boolean(v)) {
    st = col_append_bool(c, json_is_true(v), err);
  } else if ((t == COL_INT16 || t == COL_INT32 || t == COL_INT64) &&
             json_is_integer(v)) {
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
    st = col_text_append(c, tmp, (size_t)n, err);
  } else if (t == COL_FLOAT32 && json_is_number(v)) {
    st = col_append_f32(c, (float)json_number_value(v), err);
  } else if (t == COL_FLOAT64 && json_is_number(v)) {
    st = col_append_f64(c, json_number_value(v), err);
  } else if (t == COL_UTF8 && json_is_string(v)) {
    st = col_append_bytes(c, json_string_value(v), json_string_length(v), err);
  } else if (t == COL_BINARY && json_is_string(v)) {
    /* Appendix D writes binary as bare hex; the text form wants \x */
    size_t n = json_string_length(v);
    char *s = malloc(n + 3);
    if (!s) {
      st = ferr_nomem(err, n + 3);
    } else {
      s[0] = '\\';
      s[1] = 'x';
      memcpy(s + 2, json_string_value(v), n);
      st = col_text_append(c, s, n + 2, err);
      free(s);
    }
  } else if ((t == COL_DECIMAL || t == COL_DATE || t == COL_TIME ||
              t == COL_TIMESTAMP || t == COL_TIMESTAMPTZ || t == COL_UUID) &&
             json_is_string(v)) {
    st = col_text_append(c, json_string_value(v), json_string_length(v), err);
  } else if (t == COL_LIST && json_is_array(v)) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) {
      st = ferr_nomem(err, strlen(json));
    } else {
      st = col_text_append(c, s, strlen(s), err);
      free(s);
    }
  } else {
    char tn[64];
    st = ferr_corrupt(err, "initial-default %s does not fit type %s", json,
                      col_dtype_format(c->type, tn, sizeof tn));
  }
  json_decref(v);
  return st;
}

static void close_file(ice_scan *s) {
  pq_reader_free(s->reader);
  s->reader = NULL;
  free(s->src.key);
  s->src.key = NULL;
  s->task = NULL;
}

void ice_scan_free(ice_scan *s) {
  if (!s) return;
  close_file(s);
  for (int i = 0; i < s->ncols; i++) col_free(&s->cols[i].def);
  free(s->cols);
  free(s->ids);
  col_schema_unref(s->schema);
  free(s);
}

col_schema *ice_scan_schema(const ice_scan *s) { return s->schema; }

floe_status ice_scan_open_md(ice_catalog *cat, const ice_metadata *md,
                             const ice_plan *plan, const int32_t *field_ids,
                             int nids, ice_scan **out, floe_error *err) {
  *out = NULL;
  const ice_schema *is = ice_metadata_schema(md, plan->schema_id);
  if (!is)
    return ferr_set(err, FLOE_ENOTFOUND, "table %s has no schema %d",
                    md->location, (int)plan->schema_id);
  const col_schema *ts = is->cols;
  int n = field_ids ? nids : ts->nfields;
  if (n < 0) return ferr_set(err, FLOE_EINVAL, "negative column count");
  ice_scan *s = calloc(1, sizeof *s);
  if (!s) return ferr_nomem(err, sizeof *s);
  s->cat = cat;
  s->plan = plan;
  col_field *fields = calloc((size_t)(n ? n : 1), sizeof *fields);
  s->cols = calloc((size_t)(n ? n : 1), sizeof *s->cols);
  s->ids = calloc((size_t)(n ? n : 1) + 1, sizeof *s->ids);
  floe_status st = FLOE_OK;
  if (!fields || !s->cols || !s->ids) st = ferr_nomem(err, (size_t)n * 64);
  for (int i = 0; i < n && !st; i++) {
    int k = i;
    if (field_ids) {
      k = col_schema_find_id(ts, field_ids[i]);
      if (k < 0) {
        st = ferr_set(err, FLOE_ENOTFOUND, "schema %d has no field id %d",
                      (int)is->schema_id, (int)field_ids[i]);
        break;
      }
      for (int j = 0; j < i; j++)
        if (s->cols[j].id == field_ids[i])
          st = ferr_set(err, FLOE_EINVAL, "field id %d requested twice",
                        (int)field_ids[i]);
      if (st) break;
    }
    fields[i] = ts->fields[k];
    out_col *oc = &s->cols[i];
    oc->id = ts->fields[k].id;
    oc->type = ts->fields[k].type;
    oc->required = !ts->fields[k].nullable;
    s->ncols = i + 1;
    if ((st = col_init(&oc->def, oc->type, err))) break;
    const ice_field_ext *ext = ice_schema_ext(is, oc->id);
    if (ext && ext->initial_default) {
      st = parse_default(ext->initial_default, &oc->def, err);
      if (st) {
        st = ferr_prefix(err, st, "field %s (id %d)", ts->fields[k].name,
                         (int)oc->id);
        break;
      }
      oc->has_def = col_is_valid(&oc->def, 0);
    }
  }
  if (!st) st = col_schema_new(fields, n, &s->schema, err);
  free(fields);
  if (st) {
    ice_scan_free(s);
    return st;
  }
  *out = s;
  return FLOE_OK;
}

/* Whether a file column of type from can be read as to (spec "Schema
 * Evolution" promotions), and whether its buffers can be taken as they are.
 */
static bool can_widen(col_dtype from, col_dtype to, bool *same_bytes) {
  *same_bytes = false;
  if (from.id == to.id) {
    if (from.id == COL_DECIMAL) {
      *same_bytes = true;
      return from.scale == to.scale && from.precision <= to.precision;
    }
    if (from.id == COL_LIST)
      return from.elem == to.elem && from.elem_precision == to.elem_precision &&
             from.elem_scale == to.elem_scale;
    return true;
  }
  if (to.id == COL_INT64) return from.id == COL_INT16 || from.id == COL_INT32;
  if (to.id == COL_INT32) return from.id == COL_INT16;
  if (to.id == COL_FLOAT64) return from.id == COL_FLOAT32;
  return false;
}

/* Opens the next task's file; false in *opened when the tasks are done. */
static floe_status open_next(ice_scan *s, bool *opened, floe_error *err) {
  *opened = false;
  while (s->next_task < s->plan->ntasks) {
    const ice_scan_task *t = &s->plan->tasks[s->next_task++];
    if (t->deletes &&
        ice_dv_cardinality(t->deletes) >= (uint64_t)t->file.record_count &&
        t->file.record_count >= 0)
      continue; /* every row deleted */
    const char *path = t->file.file_path;
    if (t->file.file_format && strcasecmp(t->file.file_format, "PARQUET"))
      return ferr_set(err, FLOE_EUNSUPPORTED,
                      "data file %s: format %s (floe reads Parquet)", path,
                      t->file.file_format);
    uint64_t size = 0;
    floe_status st = ice_catalog_key(s->cat, path, &s->src.key, err);
    if (!st) st = fstore_size(s->cat->store, s->src.key, &size, err);
    if (!st && t->file.file_size_in_bytes >= 0 &&
        (uint64_t)t->file.file_size_in_bytes != size)
      st = ferr_corrupt(err,
                        "%llu bytes in the store, file_size_in_bytes says "
                        "%lld",
                        (unsigned long long)size,
                        (long long)t->file.file_size_in_bytes);
    if (st) {
      st = ferr_prefix(err, st, "data file %s", path);
      close_file(s);
      return st;
    }
    s->src.store = s->cat->store;
    pq_source src = {store_read_at, &s->src, size, path, NULL};
    pq_reader_opts ro;
    memset(&ro, 0, sizeof ro);
    if (t->deletes) {
      ro.skip = skip_deleted;
      ro.skip_ctx = t->deletes;
    }
    /* The file may lack requested ids (columns added after it was
     * written): the reader projects the ones it has, and with none of them
     * it still yields the surviving rows as column-less batches. */
    int nids = 0;
    for (int i = 0; i < s->ncols; i++) s->ids[nids++] = s->cols[i].id;
    ro.field_ids = s->ids;
    ro.nfield_ids = nids;
    ro.missing_ids_ok = true;
    st = pq_reader_open(src, &ro, &s->reader, err);
    if (st) {
      close_file(s);
      return st;
    }
    /* map output columns onto the reader's */
    const col_schema *fs = pq_reader_schema(s->reader);
    for (int i = 0; i < s->ncols && !st; i++) {
      out_col *oc = &s->cols[i];
      int k = col_schema_find_id(fs, oc->id);
      if (k < 0) {
        oc->kind = SRC_DEFAULT;
        if (!oc->has_def && oc->required)
          st = ferr_corrupt(err,
                            "data file %s lacks required field %s (id %d), "
                            "which has no initial-default",
                            path, s->schema->fields[i].name, (int)oc->id);
        continue;
      }
      bool same = false;
      oc->src = k;
      if (!can_widen(fs->fields[k].type, oc->type, &same)) {
        char a[64], b[64];
        st = ferr_corrupt(
            err, "data file %s: field id %d is %s, the schema says %s", path,
            (int)oc->id, col_dtype_format(fs->fields[k].type, a, sizeof a),
            col_dtype_format(oc->type, b, sizeof b));
        continue;
      }
      oc->kind = fs->fields[k].type.id == oc->type.id ? SRC_MOVE : SRC_WIDEN;
    }
    if (st) {
      close_file(s);
      return st;
    }
    s->task = t;
    *opened = true;
    return FLOE_OK;
  }
  return FLOE_OK;
}

/* n copies of the one-row default (or n nulls). */
static floe_status fill_default(const out_col *oc, col_column *c, int64_t n,
                                floe_error *err) {
  if (!oc->has_def) return col_append_nulls(c, n, err);
  int w = col_type_width(oc->type.id);
  if (w > 0) {
    uint8_t *vals;
    FLOE_TRY(col_extend_fixed(c, n, &vals, err));
    for (int64_t i = 0; i < n; i++)
      memcpy(vals + (size_t)i * (size_t)w, oc->def.values.data, (size_t)w);
    return FLOE_OK;
  }
  for (int64_t i = 0; i < n; i++)
    FLOE_TRY(col_append_range(c, &oc->def, 0, 1, err));
  return FLOE_OK;
}

/* Converts a column of a narrower type (int16/int32 -> int32/int64, float
 * -> double) into the empty column c. */
static floe_status widen(const col_column *from, col_column *c,
                         floe_error *err) {
  int64_t n = from->length;
  uint8_t *vals;
  FLOE_TRY(col_extend_fixed(c, n, &vals, err));
  const uint8_t *src = from->values.data;
  switch (c->type.id) {
  case COL_INT64:
    for (int64_t i = 0; i < n; i++) {
      int64_t v;
      if (from->type.id == COL_INT16) {
        int16_t x;
        memcpy(&x, src + i * 2, 2);
        v = x;
      } else {
        int32_t x;
        memcpy(&x, src + i * 4, 4);
        v = x;
      }
      memcpy(vals + i * 8, &v, 8);
    }
    break;
  case COL_INT32:
    for (int64_t i = 0; i < n; i++) {
      int16_t x;
      memcpy(&x, src + i * 2, 2);
      int32_t v = x;
      memcpy(vals + i * 4, &v, 4);
    }
    break;
  case COL_FLOAT64:
    for (int64_t i = 0; i < n; i++) {
      float x;
      memcpy(&x, src + i * 4, 4);
      double v = x;
      memcpy(vals + i * 8, &v, 8);
    }
    break;
  default: return ferr_set(err, FLOE_EINVAL, "cannot widen to this type");
  }
  /* c started empty, so its validity bits line up with from's */
  if (n) memcpy(c->validity.data, from->validity.data, (size_t)(n + 7) / 8);
  c->null_count = from->null_count;
  return FLOE_OK;
}

floe_status ice_scan_next(ice_scan *s, col_batch **out, floe_error *err) {
  *out = NULL;
  for (;;) {
    if (!s->reader) {
      bool opened;
      FLOE_TRY(open_next(s, &opened, err));
      if (!opened) return FLOE_OK;
    }
    col_batch *in = NULL;
    floe_status st = pq_reader_next(s->reader, &in, err);
    if (st) {
      close_file(s);
      return st;
    }
    if (!in) {
      close_file(s);
      continue;
    }
    if (in->length == 0) {
      col_batch_free(in);
      continue;
    }
    col_batch *b = NULL;
    st = col_batch_new(s->schema, &b, err);
    for (int i = 0; i < s->ncols && !st; i++) {
      out_col *oc = &s->cols[i];
      col_column *c = &b->cols[i];
      if (oc->kind == SRC_DEFAULT) {
        st = fill_default(oc, c, in->length, err);
      } else if (oc->kind == SRC_MOVE) {
        /* take the reader's buffers; the empty column goes back to it */
        col_column tmp = *c;
        *c = in->cols[oc->src];
        in->cols[oc->src] = tmp;
        c->type = oc->type; /* decimal precision may have widened */
      } else {
        st = widen(&in->cols[oc->src], c, err);
      }
    }
    int64_t len = in->length;
    col_batch_free(in);
    if (!st) {
      b->length = len;
      st = col_batch_seal(b, err);
    }
    if (st) {
      col_batch_free(b);
      return ferr_prefix(err, st, "data file %s", s->task->file.file_path);
    }
    *out = b;
    return FLOE_OK;
  }
}

/* ---- Arrow ---- */

static floe_status stream_next(void *ctx, col_batch **out, floe_error *err) {
  return ice_scan_next(ctx, out, err);
}

static void stream_free(void *ctx) { ice_scan_free(ctx); }

floe_status ice_scan_export(ice_scan *s, struct ArrowArrayStream *out,
                            floe_error *err) {
  floe_status st =
      col_stream_export(s->schema, stream_next, s, stream_free, out, err);
  if (st) ice_scan_free(s);
  return st;
}
