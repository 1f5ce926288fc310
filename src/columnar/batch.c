/* Schemas (immutable, refcounted) and batches (one column per field). */
#include "columnar/batch.h"

#include <stdlib.h>

static void schema_destroy(col_schema *s, int nnames) {
  for (int i = 0; i < nnames; i++) free(s->fields[i].name);
  free(s->fields);
  free(s);
}

floe_status col_schema_new(const col_field *fields, int n, col_schema **out,
                           floe_error *err) {
  *out = NULL;
  if (n < 0 || (n > 0 && !fields))
    return ferr_set(err, FLOE_EINVAL, "schema: bad field count %d", n);
  for (int i = 0; i < n; i++) {
    const col_field *f = &fields[i];
    if (!f->name)
      return ferr_set(err, FLOE_EINVAL, "schema: field %d has no name", i);
    floe_status st = col_dtype_check(f->type, err);
    if (st != FLOE_OK)
      return ferr_prefix(err, st, "schema: field \"%s\"", f->name);
    for (int j = 0; j < i; j++) {
      if (fields[j].id == f->id)
        return ferr_set(err, FLOE_EINVAL,
                        "schema: fields \"%s\" and \"%s\" share id %d",
                        fields[j].name, f->name, (int)f->id);
    }
  }
  col_schema *s = calloc(1, sizeof *s);
  if (!s) return ferr_nomem(err, sizeof *s);
  s->fields = calloc(n > 0 ? (size_t)n : 1, sizeof *s->fields);
  if (!s->fields) {
    free(s);
    return ferr_nomem(err, (size_t)n * sizeof *s->fields);
  }
  for (int i = 0; i < n; i++) {
    s->fields[i] = fields[i];
    size_t len = strlen(fields[i].name) + 1;
    s->fields[i].name = malloc(len);
    if (!s->fields[i].name) {
      schema_destroy(s, i);
      return ferr_nomem(err, len);
    }
    memcpy(s->fields[i].name, fields[i].name, len);
  }
  s->nfields = n;
  s->refcount = 1;
  *out = s;
  return FLOE_OK;
}

/* Atomic, because a host may share one schema between threads (a reader per
 * thread over the same table) even though floe starts none itself. */
col_schema *col_schema_ref(col_schema *s) {
  if (s) __atomic_fetch_add(&s->refcount, 1, __ATOMIC_RELAXED);
  return s;
}

void col_schema_unref(col_schema *s) {
  if (!s) return;
  if (__atomic_sub_fetch(&s->refcount, 1, __ATOMIC_ACQ_REL) == 0)
    schema_destroy(s, s->nfields);
}

int col_schema_find(const col_schema *s, const char *name) {
  for (int i = 0; i < s->nfields; i++)
    if (strcmp(s->fields[i].name, name) == 0) return i;
  return -1;
}

int col_schema_find_id(const col_schema *s, int32_t id) {
  for (int i = 0; i < s->nfields; i++)
    if (s->fields[i].id == id) return i;
  return -1;
}

floe_status col_batch_new(col_schema *schema, col_batch **out,
                          floe_error *err) {
  *out = NULL;
  col_batch *b = calloc(1, sizeof *b);
  if (!b) return ferr_nomem(err, sizeof *b);
  int n = schema->nfields;
  b->cols = calloc(n > 0 ? (size_t)n : 1, sizeof *b->cols);
  if (!b->cols) {
    free(b);
    return ferr_nomem(err, (size_t)n * sizeof *b->cols);
  }
  for (int i = 0; i < n; i++) {
    floe_status st = col_init(&b->cols[i], schema->fields[i].type, err);
    if (st != FLOE_OK) {
      for (int j = 0; j < i; j++) col_free(&b->cols[j]);
      free(b->cols);
      free(b);
      return st;
    }
  }
  b->schema = col_schema_ref(schema);
  *out = b;
  return FLOE_OK;
}

void col_batch_free(col_batch *b) {
  if (!b) return;
  for (int i = 0; i < b->schema->nfields; i++) col_free(&b->cols[i]);
  free(b->cols);
  col_schema_unref(b->schema);
  free(b);
}

void col_batch_clear(col_batch *b) {
  for (int i = 0; i < b->schema->nfields; i++) col_clear(&b->cols[i]);
  b->length = 0;
}

floe_status col_batch_seal(col_batch *b, floe_error *err) {
  int n = b->schema->nfields;
  if (n == 0) return FLOE_OK;
  int64_t len = b->cols[0].length;
  for (int i = 1; i < n; i++) {
    if (b->cols[i].length != len)
      return ferr_set(err, FLOE_EINVAL,
                      "batch: column \"%s\" has %lld rows but \"%s\" has %lld",
                      b->schema->fields[i].name, (long long)b->cols[i].length,
                      b->schema->fields[0].name, (long long)len);
  }
  b->length = len;
  return FLOE_OK;
}
