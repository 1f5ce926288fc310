/*
 * Schema evolution: an update is a private, mutable copy of the current
 * schema's fields; each change is checked against it and applied only when
 * allowed, then ice_schema_update_apply freezes it into a new ice_schema.
 */
#include "iceberg/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct ufield {
  int32_t id;
  char *name;
  col_dtype type;
  bool nullable;
  int32_t elem_id;
  bool elem_nullable;
  char *initial_default; /* canonical JSON text or NULL (= null) */
  char *write_default;
  char *doc;
} ufield;

struct ice_schema_update {
  int format_version;
  int32_t base_schema_id;
  int32_t base_last_column_id;
  int32_t last_column_id;
  /* partition / sort sources that may not be dropped (default spec and
   * default sort order of the base metadata) */
  int nsources;
  int32_t *sources;
  char **source_what; /* what uses each source, for messages (owned) */
  int n, cap;
  ufield *f;
  int nident;
  int32_t *ident; /* capacity cap */
};

static char *dup_or_null(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* Duplicates s into *out; *out is NULL for NULL s. */
static floe_status dup_str(const char *s, char **out, floe_error *err) {
  *out = dup_or_null(s);
  if (s && !*out) return ferr_nomem(err, strlen(s) + 1);
  return FLOE_OK;
}

static void ufield_clear(ufield *f) {
  free(f->name);
  free(f->initial_default);
  free(f->write_default);
  free(f->doc);
  memset(f, 0, sizeof *f);
}

void ice_schema_update_free(ice_schema_update *u) {
  if (!u) return;
  for (int i = 0; i < u->n; i++) ufield_clear(&u->f[i]);
  free(u->f);
  free(u->ident);
  for (int i = 0; i < u->nsources; i++) free(u->source_what[i]);
  free(u->sources);
  free(u->source_what);
  free(u);
}

static floe_status grow(ice_schema_update *u, floe_error *err) {
  if (u->n < u->cap) return FLOE_OK;
  int cap = u->cap ? u->cap * 2 : 8;
  ufield *f = realloc(u->f, (size_t)cap * sizeof *f);
  if (!f) return ferr_nomem(err, (size_t)cap * sizeof *f);
  u->f = f;
  int32_t *id = realloc(u->ident, (size_t)cap * sizeof *id);
  if (!id) return ferr_nomem(err, (size_t)cap * sizeof *id);
  u->ident = id;
  u->cap = cap;
  return FLOE_OK;
}

static floe_status add_source(ice_schema_update *u, int32_t id,
                              const char *what, const char *name,
                              floe_error *err) {
  int cap = u->nsources + 1;
  int32_t *s = realloc(u->sources, (size_t)cap * sizeof *s);
  if (!s) return ferr_nomem(err, (size_t)cap * sizeof *s);
  u->sources = s;
  char **w = realloc(u->source_what, (size_t)cap * sizeof *w);
  if (!w) return ferr_nomem(err, (size_t)cap * sizeof *w);
  u->source_what = w;
  size_t n = strlen(what) + strlen(name) + 4;
  char *t = malloc(n);
  if (!t) return ferr_nomem(err, n);
  snprintf(t, n, "%s \"%s\"", what, name);
  u->sources[u->nsources] = id;
  u->source_what[u->nsources] = t;
  u->nsources++;
  return FLOE_OK;
}

floe_status ice_schema_update_new(const ice_metadata *md,
                                  ice_schema_update **out, floe_error *err) {
  *out = NULL;
  const ice_schema *s = ice_metadata_current_schema(md);
  if (!s || !s->cols)
    return ferr_set(err, FLOE_EINVAL, "schema update: no current schema");
  ice_schema_update *u = calloc(1, sizeof *u);
  if (!u) return ferr_nomem(err, sizeof *u);
  u->format_version = md->format_version;
  u->base_schema_id = s->schema_id;
  u->base_last_column_id = md->last_column_id;
  u->last_column_id = md->last_column_id;
  floe_status st = FLOE_OK;
  for (int i = 0; i < s->cols->nfields; i++) {
    if ((st = grow(u, err))) goto fail;
    const col_field *c = &s->cols->fields[i];
    ufield *f = &u->f[u->n];
    memset(f, 0, sizeof *f);
    u->n++;
    f->id = c->id;
    f->type = c->type;
    f->nullable = c->nullable;
    f->elem_id = c->elem_id;
    f->elem_nullable = c->elem_nullable;
    const ice_field_ext *e = ice_schema_ext(s, c->id);
    if ((st = dup_str(c->name, &f->name, err))) goto fail;
    if (e && ((st = dup_str(e->initial_default, &f->initial_default, err)) ||
              (st = dup_str(e->write_default, &f->write_default, err)) ||
              (st = dup_str(e->doc, &f->doc, err))))
      goto fail;
  }
  if ((st = grow(u, err))) goto fail; /* ident needs capacity >= n */
  for (int i = 0; i < s->nidentifier; i++) u->ident[i] = s->identifier_ids[i];
  u->nident = s->nidentifier;
  const ice_partition_spec *spec = ice_metadata_spec(md, md->default_spec_id);
  for (int i = 0; spec && i < spec->nfields; i++)
    if ((st = add_source(u, spec->fields[i].source_id, "partition field",
                         spec->fields[i].name, err)))
      goto fail;
  for (int i = 0; i < md->nsort_orders; i++) {
    const ice_sort_order *o = &md->sort_orders[i];
    if (o->order_id != md->default_sort_order_id) continue;
    for (int j = 0; j < o->nfields; j++)
      if ((st = add_source(
               u, o->fields[j].source_id, "default sort order",
               o->fields[j].transform.text ? o->fields[j].transform.text : "?",
               err)))
        goto fail;
  }
  *out = u;
  return FLOE_OK;
fail:
  ice_schema_update_free(u);
  return st;
}

static int find(const ice_schema_update *u, const char *name) {
  for (int i = 0; i < u->n; i++)
    if (strcmp(u->f[i].name, name) == 0) return i;
  return -1;
}

static floe_status find_named(const ice_schema_update *u, const char *name,
                              int *idx, floe_error *err) {
  *idx = name ? find(u, name) : -1;
  if (*idx < 0)
    return ferr_set(err, FLOE_EINVAL, "schema update: no column \"%s\"",
                    name ? name : "(null)");
  return FLOE_OK;
}

static bool is_ident(const ice_schema_update *u, int32_t id) {
  for (int i = 0; i < u->nident; i++)
    if (u->ident[i] == id) return true;
  return false;
}

/* Canonical default text, with JSON null read as "no default". */
static floe_status canon_default(const ice_schema_update *u, col_dtype t,
                                 bool elem_nullable, const char *json,
                                 const char *what, const char *col, char **out,
                                 floe_error *err) {
  *out = NULL;
  if (!json) return FLOE_OK;
  char *c;
  floe_status st = ice_default_canonical(t, elem_nullable, json, &c, err);
  if (st != FLOE_OK)
    return ferr_prefix(err, st, "schema update: %s of column \"%s\"", what,
                       col);
  if (strcmp(c, "null") == 0) {
    free(c);
    return FLOE_OK;
  }
  if (u->format_version < 3) {
    free(c);
    return ferr_set(err, FLOE_EINVAL,
                    "schema update: %s of column \"%s\": default values need "
                    "format version 3 (the table is v%d)",
                    what, col, u->format_version);
  }
  *out = c;
  return FLOE_OK;
}

floe_status ice_schema_add_column(ice_schema_update *u, const char *name,
                                  col_dtype type, bool nullable,
                                  bool elem_nullable,
                                  const char *initial_default,
                                  const char *write_default, const char *doc,
                                  int32_t *new_id, floe_error *err) {
  if (!name || !name[0])
    return ferr_set(err, FLOE_EINVAL, "schema update: empty column name");
  if (find(u, name) >= 0)
    return ferr_set(err, FLOE_EINVAL,
                    "schema update: column \"%s\" already exists", name);
  floe_status st = col_dtype_check(type, err);
  if (st != FLOE_OK)
    return ferr_prefix(err, FLOE_EINVAL, "schema update: column \"%s\"", name);
  int need = type.id == COL_LIST ? 2 : 1;
  if (u->last_column_id > INT32_MAX - 200 - need)
    return ferr_set(err, FLOE_EINVAL,
                    "schema update: field ids exhausted (last-column-id %d)",
                    (int)u->last_column_id);
  ufield f = {0};
  f.type = type;
  f.nullable = nullable;
  f.elem_nullable = type.id == COL_LIST ? elem_nullable : false;
  if ((st = canon_default(u, type, f.elem_nullable, initial_default,
                          "initial-default", name, &f.initial_default, err)) ||
      (st = canon_default(u, type, f.elem_nullable, write_default,
                          "write-default", name, &f.write_default, err)))
    goto fail;
  if (!nullable && !f.initial_default) {
    st = ferr_set(err, FLOE_EINVAL,
                  "schema update: required column \"%s\" needs a non-null "
                  "initial-default (rows written before it have no value)",
                  name);
    goto fail;
  }
  /* the spec: write-default starts out as the initial-default */
  if (!f.write_default && f.initial_default &&
      (st = dup_str(f.initial_default, &f.write_default, err)))
    goto fail;
  if ((st = dup_str(name, &f.name, err)) || (st = dup_str(doc, &f.doc, err)) ||
      (st = grow(u, err)))
    goto fail;
  f.id = u->last_column_id + 1;
  if (type.id == COL_LIST) f.elem_id = f.id + 1;
  u->last_column_id += need;
  u->f[u->n++] = f;
  if (new_id) *new_id = f.id;
  return FLOE_OK;
fail:
  ufield_clear(&f);
  return st;
}

static floe_status drop_at(ice_schema_update *u, int i, floe_error *err) {
  ufield *f = &u->f[i];
  if (is_ident(u, f->id))
    return ferr_set(err, FLOE_EINVAL,
                    "schema update: cannot drop column \"%s\": it is an "
                    "identifier field (change the identifier fields first)",
                    f->name);
  for (int k = 0; k < u->nsources; k++)
    if (u->sources[k] == f->id)
      return ferr_set(err, FLOE_EINVAL,
                      "schema update: cannot drop column \"%s\": it is the "
                      "source of %s",
                      f->name, u->source_what[k]);
  ufield_clear(f);
  memmove(&u->f[i], &u->f[i + 1], (size_t)(u->n - i - 1) * sizeof *u->f);
  u->n--;
  return FLOE_OK;
}

floe_status ice_schema_drop_column(ice_schema_update *u, const char *name,
                                   floe_error *err) {
  int i;
  FLOE_TRY(find_named(u, name, &i, err));
  return drop_at(u, i, err);
}

floe_status ice_schema_drop_column_id(ice_schema_update *u, int32_t id,
                                      floe_error *err) {
  for (int i = 0; i < u->n; i++) {
    if (u->f[i].id == id) return drop_at(u, i, err);
    if (u->f[i].type.id == COL_LIST && u->f[i].elem_id == id)
      return ferr_set(err, FLOE_EINVAL,
                      "schema update: id %d is the element of list column "
                      "\"%s\"; drop the column",
                      (int)id, u->f[i].name);
  }
  return ferr_set(err, FLOE_EINVAL, "schema update: no column with id %d",
                  (int)id);
}

floe_status ice_schema_rename_column(ice_schema_update *u, const char *name,
                                     const char *new_name, floe_error *err) {
  int i;
  FLOE_TRY(find_named(u, name, &i, err));
  if (!new_name || !new_name[0])
    return ferr_set(err, FLOE_EINVAL, "schema update: empty column name");
  int j = find(u, new_name);
  if (j == i) return FLOE_OK;
  if (j >= 0)
    return ferr_set(err, FLOE_EINVAL,
                    "schema update: cannot rename \"%s\" to \"%s\": that "
                    "name is taken",
                    name, new_name);
  char *n;
  FLOE_TRY(dup_str(new_name, &n, err));
  free(u->f[i].name);
  u->f[i].name = n;
  return FLOE_OK;
}

/* The spec's promotions (v1..v3 share them for floe's types); int16 and
 * int32 are both Iceberg int, so that change is no promotion at all. */
static bool promotable(col_type from, int fp, int fs, col_type to, int tp,
                       int ts) {
  if (from == to) return from != COL_DECIMAL || (fs == ts && tp >= fp);
  if (from == COL_INT16) return to == COL_INT32 || to == COL_INT64;
  if (from == COL_INT32) return to == COL_INT64;
  if (from == COL_FLOAT32) return to == COL_FLOAT64;
  return false;
}

floe_status ice_schema_widen_column(ice_schema_update *u, const char *name,
                                    col_dtype type, floe_error *err) {
  int i;
  FLOE_TRY(find_named(u, name, &i, err));
  ufield *f = &u->f[i];
  floe_status st = col_dtype_check(type, err);
  if (st != FLOE_OK)
    return ferr_prefix(err, FLOE_EINVAL, "schema update: column \"%s\"", name);
  bool ok;
  if (f->type.id == COL_LIST || type.id == COL_LIST)
    ok = f->type.id == type.id &&
         promotable(f->type.elem, f->type.elem_precision, f->type.elem_scale,
                    type.elem, type.elem_precision, type.elem_scale);
  else
    ok = promotable(f->type.id, f->type.precision, f->type.scale, type.id,
                    type.precision, type.scale);
  if (!ok) {
    char a[48], b[48];
    return ferr_set(err, FLOE_EINVAL,
                    "schema update: column \"%s\" cannot change from %s to "
                    "%s (allowed: int -> long, float -> double, "
                    "decimal(P,S) -> decimal(P',S) with P' > P)",
                    name, ice_type_name(f->type, a, sizeof a),
                    ice_type_name(type, b, sizeof b));
  }
  f->type = type;
  return FLOE_OK;
}

floe_status ice_schema_set_required(ice_schema_update *u, const char *name,
                                    bool required, floe_error *err) {
  int i;
  FLOE_TRY(find_named(u, name, &i, err));
  ufield *f = &u->f[i];
  if (required) {
    if (!f->nullable) return FLOE_OK;
    return ferr_set(err, FLOE_EINVAL,
                    "schema update: column \"%s\" is optional and cannot be "
                    "made required (existing files may hold nulls)",
                    name);
  }
  if (!f->nullable && is_ident(u, f->id))
    return ferr_set(err, FLOE_EINVAL,
                    "schema update: column \"%s\" is an identifier field and "
                    "must stay required",
                    name);
  f->nullable = true;
  return FLOE_OK;
}

floe_status ice_schema_set_write_default(ice_schema_update *u, const char *name,
                                         const char *write_default,
                                         floe_error *err) {
  int i;
  FLOE_TRY(find_named(u, name, &i, err));
  ufield *f = &u->f[i];
  char *c;
  FLOE_TRY(canon_default(u, f->type, f->elem_nullable, write_default,
                         "write-default", name, &c, err));
  if (!c && !f->nullable)
    return ferr_set(err, FLOE_EINVAL,
                    "schema update: required column \"%s\" must keep a "
                    "non-null write-default",
                    name);
  free(f->write_default);
  f->write_default = c;
  return FLOE_OK;
}

floe_status ice_schema_set_doc(ice_schema_update *u, const char *name,
                               const char *doc, floe_error *err) {
  int i;
  FLOE_TRY(find_named(u, name, &i, err));
  char *d;
  FLOE_TRY(dup_str(doc, &d, err));
  free(u->f[i].doc);
  u->f[i].doc = d;
  return FLOE_OK;
}

static floe_status ident_ok(const char *name, col_dtype t, bool nullable,
                            floe_error *err) {
  if (nullable)
    return ferr_set(err, FLOE_EINVAL,
                    "identifier field \"%s\" must be required", name);
  if (t.id == COL_FLOAT32 || t.id == COL_FLOAT64 || t.id == COL_LIST)
    return ferr_set(err, FLOE_EINVAL,
                    "identifier field \"%s\" cannot be float, double or a "
                    "list",
                    name);
  return FLOE_OK;
}

floe_status ice_schema_set_identifier_fields(ice_schema_update *u,
                                             const char *const *names, int n,
                                             floe_error *err) {
  if (n < 0 || (n > 0 && !names))
    return ferr_set(err, FLOE_EINVAL, "schema update: bad identifier list");
  if (n > u->n)
    return ferr_set(err, FLOE_EINVAL,
                    "schema update: %d identifier fields for %d columns", n,
                    u->n);
  int32_t *ids = malloc((size_t)(n ? n : 1) * sizeof *ids);
  if (!ids) return ferr_nomem(err, (size_t)n * sizeof *ids);
  floe_status st = FLOE_OK;
  for (int k = 0; k < n; k++) {
    int i;
    if ((st = find_named(u, names[k], &i, err))) break;
    if ((st = ident_ok(names[k], u->f[i].type, u->f[i].nullable, err))) {
      st = ferr_prefix(err, st, "schema update");
      break;
    }
    for (int j = 0; j < k; j++)
      if (ids[j] == u->f[i].id)
        st = ferr_set(err, FLOE_EINVAL,
                      "schema update: identifier field \"%s\" named twice",
                      names[k]);
    if (st != FLOE_OK) break;
    ids[k] = u->f[i].id;
  }
  if (st == FLOE_OK) {
    memcpy(u->ident, ids, (size_t)n * sizeof *ids);
    u->nident = n;
  }
  free(ids);
  return st;
}

/* ---------------------------------------------------------------- apply */

static floe_status build_schema(const ice_schema_update *u, ice_schema *s,
                                floe_error *err) {
  memset(s, 0, sizeof *s);
  col_field *fs = calloc((size_t)(u->n ? u->n : 1), sizeof *fs);
  if (!fs) return ferr_nomem(err, (size_t)u->n * sizeof *fs);
  floe_status st = FLOE_OK;
  s->ext = calloc((size_t)(u->n ? u->n : 1), sizeof *s->ext);
  s->identifier_ids =
      calloc((size_t)(u->nident ? u->nident : 1), sizeof(int32_t));
  if (!s->ext || !s->identifier_ids) {
    st = ferr_nomem(err, (size_t)u->n * sizeof *s->ext);
    goto done;
  }
  for (int i = 0; i < u->n; i++) {
    const ufield *f = &u->f[i];
    fs[i].id = f->id;
    fs[i].name = f->name;
    fs[i].type = f->type;
    fs[i].nullable = f->nullable;
    fs[i].elem_id = f->elem_id;
    fs[i].elem_nullable = f->elem_nullable;
    if (!f->initial_default && !f->write_default && !f->doc) continue;
    ice_field_ext *e = &s->ext[s->next++];
    e->field_id = f->id;
    if ((st = dup_str(f->initial_default, &e->initial_default, err)) ||
        (st = dup_str(f->write_default, &e->write_default, err)) ||
        (st = dup_str(f->doc, &e->doc, err)))
      goto done;
  }
  memcpy(s->identifier_ids, u->ident, (size_t)u->nident * sizeof(int32_t));
  s->nidentifier = u->nident;
  st = col_schema_new(fs, u->n, &s->cols, err);
done:
  free(fs);
  if (st != FLOE_OK) ice_schema_clear(s);
  return st;
}

floe_status ice_schema_update_apply(ice_schema_update *u, ice_metadata *md,
                                    int32_t *schema_id, floe_error *err) {
  /* ids were handed out from the base's last-column-id: a metadata that
   * moved on since could already use them */
  if (md->current_schema_id != u->base_schema_id ||
      md->last_column_id != u->base_last_column_id)
    return ferr_set(err, FLOE_ECONFLICT,
                    "schema update: the table's schema changed since the "
                    "update started (schema %d, last-column-id %d); start "
                    "again",
                    (int)md->current_schema_id, (int)md->last_column_id);
  ice_schema s;
  FLOE_TRY(build_schema(u, &s, err));
  FLOE_TRY(ice_metadata_add_schema(md, &s, schema_id, err));
  /* ids of columns added and dropped again in this update stay used */
  if (u->last_column_id > md->last_column_id)
    md->last_column_id = u->last_column_id;
  return FLOE_OK;
}

/* ---------------------------------------------------------------- add */

static bool same_text(const char *a, const char *b) {
  if (!a || !b) return a == b;
  return strcmp(a, b) == 0;
}

static bool same_dtype(col_dtype a, col_dtype b) {
  char x[48], y[48];
  return strcmp(ice_type_name(a, x, sizeof x), ice_type_name(b, y, sizeof y)) ==
         0;
}

static bool same_schema(const ice_schema *a, const ice_schema *b) {
  if (a->cols->nfields != b->cols->nfields) return false;
  if (a->nidentifier != b->nidentifier) return false;
  for (int i = 0; i < a->nidentifier; i++) {
    bool found = false;
    for (int j = 0; j < b->nidentifier; j++)
      if (a->identifier_ids[i] == b->identifier_ids[j]) found = true;
    if (!found) return false;
  }
  for (int i = 0; i < a->cols->nfields; i++) {
    const col_field *x = &a->cols->fields[i], *y = &b->cols->fields[i];
    if (x->id != y->id || strcmp(x->name, y->name) != 0 ||
        x->nullable != y->nullable || !same_dtype(x->type, y->type))
      return false;
    if (x->type.id == COL_LIST &&
        (x->elem_id != y->elem_id || x->elem_nullable != y->elem_nullable))
      return false;
    const ice_field_ext *ea = ice_schema_ext(a, x->id);
    const ice_field_ext *eb = ice_schema_ext(b, y->id);
    if (!same_text(ea ? ea->initial_default : NULL,
                   eb ? eb->initial_default : NULL) ||
        !same_text(ea ? ea->write_default : NULL,
                   eb ? eb->write_default : NULL) ||
        !same_text(ea ? ea->doc : NULL, eb ? eb->doc : NULL))
      return false;
  }
  return true;
}

/* Ids unique and positive, names unique, identifier fields valid. */
static floe_status check_schema(const ice_schema *s, floe_error *err) {
  if (!s->cols) return ferr_set(err, FLOE_EINVAL, "schema: no columns");
  const col_schema *c = s->cols;
  for (int i = 0; i < c->nfields; i++) {
    const col_field *f = &c->fields[i];
    bool list = f->type.id == COL_LIST;
    if (f->id <= 0 || (list && f->elem_id <= 0))
      return ferr_set(err, FLOE_EINVAL,
                      "schema: field \"%s\": ids must be positive", f->name);
    if (list && f->elem_id == f->id)
      return ferr_set(err, FLOE_EINVAL, "schema: field id %d is used twice",
                      (int)f->id);
    for (int j = 0; j < i; j++) {
      const col_field *g = &c->fields[j];
      bool glist = g->type.id == COL_LIST;
      if (g->id == f->id || (glist && g->elem_id == f->id) ||
          (list &&
           (g->id == f->elem_id || (glist && g->elem_id == f->elem_id))))
        return ferr_set(err, FLOE_EINVAL,
                        "schema: fields \"%s\" and \"%s\" share an id", g->name,
                        f->name);
      if (strcmp(g->name, f->name) == 0)
        return ferr_set(err, FLOE_EINVAL,
                        "schema: field name \"%s\" is used twice", f->name);
    }
  }
  for (int i = 0; i < s->nidentifier; i++) {
    int k = col_schema_find_id(c, s->identifier_ids[i]);
    if (k < 0)
      return ferr_set(err, FLOE_EINVAL,
                      "schema: identifier field id %d is not a column",
                      (int)s->identifier_ids[i]);
    FLOE_TRY(ident_ok(c->fields[k].name, c->fields[k].type,
                      c->fields[k].nullable, err));
  }
  return FLOE_OK;
}

/* A field id may only come back with the type it had (or a promotion of
 * it), and ids at or below last-column-id that no schema knows were
 * assigned once and are gone for good. */
static floe_status check_history(const ice_metadata *md, const ice_schema *s,
                                 floe_error *err) {
  const col_schema *c = s->cols;
  for (int i = 0; i < c->nfields; i++) {
    const col_field *f = &c->fields[i];
    const col_field *old = NULL;
    for (int k = md->nschemas - 1; k >= 0 && !old; k--) {
      const col_schema *o = md->schemas[k].cols;
      int j = o ? col_schema_find_id(o, f->id) : -1;
      if (j >= 0) old = &o->fields[j];
    }
    if (!old) {
      if (f->id <= md->last_column_id ||
          (f->type.id == COL_LIST && f->elem_id <= md->last_column_id))
        return ferr_set(err, FLOE_EINVAL,
                        "schema: field \"%s\" reuses id %d (at or below "
                        "last-column-id %d); ids are never reused",
                        f->name, (int)f->id, (int)md->last_column_id);
      continue;
    }
    bool ok =
        old->type.id == COL_LIST || f->type.id == COL_LIST
            ? old->type.id == f->type.id && old->elem_id == f->elem_id &&
                  promotable(old->type.elem, old->type.elem_precision,
                             old->type.elem_scale, f->type.elem,
                             f->type.elem_precision, f->type.elem_scale)
            : promotable(old->type.id, old->type.precision, old->type.scale,
                         f->type.id, f->type.precision, f->type.scale);
    if (!ok) {
      char a[48], b[48];
      return ferr_set(err, FLOE_EINVAL,
                      "schema: field id %d (\"%s\") was %s and cannot become "
                      "%s",
                      (int)f->id, f->name,
                      ice_type_name(old->type, a, sizeof a),
                      ice_type_name(f->type, b, sizeof b));
    }
  }
  return FLOE_OK;
}

floe_status ice_metadata_add_schema(ice_metadata *md, ice_schema *s,
                                    int32_t *schema_id, floe_error *err) {
  floe_status st = check_schema(s, err);
  if (st == FLOE_OK) st = check_history(md, s, err);
  if (st != FLOE_OK) {
    ice_schema_clear(s);
    return st;
  }
  int32_t max_id = -1;
  for (int i = 0; i < md->nschemas; i++) {
    if (same_schema(&md->schemas[i], s)) {
      ice_schema_clear(s);
      md->current_schema_id = md->schemas[i].schema_id;
      if (schema_id) *schema_id = md->current_schema_id;
      return FLOE_OK;
    }
    if (md->schemas[i].schema_id > max_id) max_id = md->schemas[i].schema_id;
  }
  if (max_id == INT32_MAX) {
    ice_schema_clear(s);
    return ferr_set(err, FLOE_EINVAL, "schema ids exhausted");
  }
  ice_schema *arr =
      realloc(md->schemas, (size_t)(md->nschemas + 1) * sizeof *arr);
  if (!arr) {
    ice_schema_clear(s);
    return ferr_nomem(err, (size_t)(md->nschemas + 1) * sizeof *arr);
  }
  md->schemas = arr;
  s->schema_id = max_id + 1;
  md->schemas[md->nschemas++] = *s;
  memset(s, 0, sizeof *s);
  md->current_schema_id = max_id + 1;
  int32_t m = ice_schema_max_id(&md->schemas[md->nschemas - 1]);
  if (m > md->last_column_id) md->last_column_id = m;
  if (schema_id) *schema_id = md->current_schema_id;
  return FLOE_OK;
}
