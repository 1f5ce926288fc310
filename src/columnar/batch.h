/*
 * Schemas and record batches.
 *
 * A schema is an ordered list of fields, each with an Iceberg field id, a
 * name, a type and nullability; list fields also carry the element's field id
 * and nullability (Iceberg gives list elements their own ids).
 *
 * A batch owns one column per schema field, all of equal length. It holds a
 * reference to its schema; schemas are immutable once built and refcounted so
 * batches, readers and writers can share one.
 */
#ifndef FLOE_COLUMNAR_BATCH_H
#define FLOE_COLUMNAR_BATCH_H

#include "columnar/column.h"

typedef struct col_field {
  int32_t id;
  char *name; /* owned by the schema */
  col_dtype type;
  bool nullable;
  int32_t elem_id;    /* lists only */
  bool elem_nullable; /* lists only */
} col_field;

typedef struct col_schema {
  int refcount;
  int nfields;
  col_field *fields;
} col_schema;

/* Builds a schema; copies names. Caller owns the result (refcount 1) and
 * releases it with col_schema_unref. */
floe_status col_schema_new(const col_field *fields, int n, col_schema **out,
                           floe_error *err);
/* Adds a reference and returns s; release it with col_schema_unref. */
col_schema *col_schema_ref(col_schema *s);
void col_schema_unref(col_schema *s);
/* Index of the field named name, or -1. */
int col_schema_find(const col_schema *s, const char *name);
int col_schema_find_id(const col_schema *s, int32_t id);

typedef struct col_batch {
  col_schema *schema; /* holds one reference */
  int64_t length;
  col_column *cols; /* schema->nfields columns */
} col_batch;

/* A new empty batch for schema (takes a new reference). Caller frees with
 * col_batch_free. */
floe_status col_batch_new(col_schema *schema, col_batch **out, floe_error *err);
void col_batch_free(col_batch *b);
/* Drops all rows, keeping capacity. */
void col_batch_clear(col_batch *b);
/* Sets length from the columns after appending a row to each; fails when the
 * columns disagree (a builder bug, not bad input). */
floe_status col_batch_seal(col_batch *b, floe_error *err);

#endif
