/*
 * tbl_schema: one version of a table's schema as the engine uses it (the
 * Iceberg schema copy for scans, the public floe_column view, the identity
 * columns rows are hashed and compared by).
 */
#include <stdlib.h>
#include <string.h>

#include "table/table_int.h"

tbl_schema *tbl_schema_ref(tbl_schema *s) {
  if (s) atomic_fetch_add(&s->refs, 1);
  return s;
}

void tbl_schema_unref(tbl_schema *s) {
  if (!s || atomic_fetch_sub(&s->refs, 1) != 1) return;
  ice_schema_clear(&s->ice);
  free(s->fcols);
  free(s->key);
  free(s->ident);
  free(s->seq);
  col_schema_unref(s->ident_schema);
  free(s);
}

col_dtype tbl_dtype(const floe_column *c) {
  col_dtype t = {0};
  t.id = (col_type)c->type;
  if (c->type == FLOE_DECIMAL) {
    t.precision = c->precision;
    t.scale = c->scale;
  }
  if (c->type == FLOE_LIST) {
    t.elem = (col_type)c->elem;
    if (c->elem == FLOE_DECIMAL) {
      t.elem_precision = c->elem_precision;
      t.elem_scale = c->elem_scale;
    }
  }
  return t;
}

floe_status tbl_schema_from_columns(const floe_column *cols, int ncols,
                                    col_schema **out, floe_error *err) {
  if (ncols <= 0) return ferr_set(err, FLOE_EINVAL, "a table needs columns");
  col_field *f = calloc((size_t)ncols, sizeof *f);
  if (!f) return ferr_nomem(err, (size_t)ncols * sizeof *f);
  int32_t next_elem = ncols + 1;
  floe_status st = FLOE_OK;
  for (int i = 0; i < ncols && !st; i++) {
    const floe_column *c = &cols[i];
    if (!c->name || !*c->name) {
      st = ferr_set(err, FLOE_EINVAL, "column %d has no name", i);
      break;
    }
    for (int j = 0; j < i; j++)
      if (!strcmp(cols[j].name, c->name))
        st = ferr_set(err, FLOE_EINVAL, "column %s appears twice", c->name);
    if ((int)c->type < 0 || c->type > FLOE_LIST ||
        (c->type == FLOE_LIST && ((int)c->elem < 0 || c->elem >= FLOE_LIST)))
      st = ferr_set(err, FLOE_EINVAL, "column %s: unknown type", c->name);
    if (st) break;
    f[i].id = i + 1;
    f[i].name = (char *)c->name;
    f[i].type = tbl_dtype(c);
    /* Iceberg has one 32-bit int: store int16 as what a reload gives */
    if (f[i].type.id == COL_INT16) f[i].type.id = COL_INT32;
    if (f[i].type.id == COL_LIST && f[i].type.elem == COL_INT16)
      f[i].type.elem = COL_INT32;
    f[i].nullable = c->nullable != 0;
    if ((st = col_dtype_check(f[i].type, err))) {
      st = ferr_prefix(err, st, "column %s", c->name);
      break;
    }
    if (c->type == FLOE_LIST) {
      f[i].elem_id = next_elem++;
      f[i].elem_nullable = true;
    }
  }
  if (!st) st = col_schema_new(f, ncols, out, err);
  free(f);
  return st;
}

floe_status tbl_schema_make(const ice_schema *is, const int32_t *key_ids,
                            int nkey, tbl_schema **out, floe_error *err) {
  tbl_schema *s = calloc(1, sizeof *s);
  if (!s) return ferr_nomem(err, sizeof *s);
  atomic_init(&s->refs, 1);
  floe_status st = ice_schema_copy(&s->ice, is, err);
  if (st) {
    free(s);
    return st;
  }
  s->cols = s->ice.cols;
  int n = s->cols->nfields;
  s->ncols = n;
  s->fcols = calloc((size_t)n, sizeof *s->fcols);
  s->key = calloc((size_t)nkey + 1, sizeof *s->key);
  s->ident = calloc((size_t)n + 1, sizeof *s->ident);
  s->seq = calloc((size_t)n + 1, sizeof *s->seq);
  if (!s->fcols || !s->key || !s->ident || !s->seq) {
    tbl_schema_unref(s);
    return ferr_nomem(err, (size_t)n * sizeof *s->fcols);
  }
  for (int i = 0; i < n; i++) {
    const col_field *f = &s->cols->fields[i];
    floe_column *c = &s->fcols[i];
    c->name = f->name;
    c->type = (floe_type)f->type.id;
    c->precision = f->type.precision;
    c->scale = f->type.scale;
    c->elem = (floe_type)f->type.elem;
    c->elem_precision = f->type.elem_precision;
    c->elem_scale = f->type.elem_scale;
    c->nullable = f->nullable;
    const ice_field_ext *ext = ice_schema_ext(&s->ice, f->id);
    c->initial_default = ext ? ext->initial_default : NULL;
  }
  s->nkey = nkey;
  for (int k = 0; k < nkey; k++) {
    s->key[k] = col_schema_find_id(s->cols, key_ids[k]);
    if (s->key[k] < 0) {
      tbl_schema_unref(s);
      return ferr_set(err, FLOE_EINVAL, "key field id %d is not a column",
                      (int)key_ids[k]);
    }
  }
  s->nident = nkey ? nkey : n;
  for (int k = 0; k < s->nident; k++) {
    s->ident[k] = nkey ? s->key[k] : k;
    s->seq[k] = k;
  }
  if (s->nident <= 0) {
    tbl_schema_unref(s);
    return ferr_set(err, FLOE_EINVAL, "a table needs columns");
  }
  col_field *kf = calloc((size_t)s->nident, sizeof *kf);
  if (!kf) {
    tbl_schema_unref(s);
    return ferr_nomem(err, (size_t)s->nident * sizeof *kf);
  }
  for (int k = 0; k < s->nident; k++) kf[k] = s->cols->fields[s->ident[k]];
  st = col_schema_new(kf, s->nident, &s->ident_schema, err);
  free(kf);
  if (st) {
    tbl_schema_unref(s);
    return st;
  }
  *out = s;
  return FLOE_OK;
}
