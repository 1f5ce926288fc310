/*
 * Schema evolution (spec "Schema Evolution", "Default values", "Identifier
 * Field IDs"): changes to a table's current schema collected in an
 * ice_schema_update and applied in one step, producing a NEW schema that is
 * added to the metadata and made current. The old schema stays in the
 * metadata (old data files were written with it).
 *
 * Rules enforced (each refusal is FLOE_EINVAL with a message saying why):
 *   - field ids are never reused: new ids come from last-column-id + 1
 *     (a list takes two: the field's, then its element's), and dropping a
 *     field never lowers last-column-id;
 *   - add: a new column is optional, or required only with a non-null
 *     initial-default; defaults are Appendix D JSON text checked against
 *     the type, need format v3, and write-default starts as initial-default;
 *     initial-default can never change afterwards, write-default can;
 *   - drop: by name or id; refused for identifier fields and for source
 *     columns of the default partition spec or default sort order;
 *   - rename: the id stays; the new name must be free;
 *   - widen: int -> long, float -> double, decimal(P,S) -> decimal(P',S)
 *     with P' > P (also for list elements); nothing else;
 *   - nullability: required -> optional is always allowed (except for
 *     identifier fields); optional -> required is refused (old files may
 *     hold nulls);
 *   - identifier fields: existing, required, not float/double/list.
 *
 * Each call validates against the update's working state (earlier calls
 * included) and leaves it unchanged when it refuses. Nothing touches the
 * metadata until ice_schema_update_apply.
 */
#ifndef FLOE_ICEBERG_SCHEMA_H
#define FLOE_ICEBERG_SCHEMA_H

#include "iceberg/metadata.h"

typedef struct ice_schema_update ice_schema_update;

/* Starts an update of md's current schema. md is only read, and must stay
 * alive and unchanged until the update is applied or freed. Caller frees
 * with ice_schema_update_free. */
floe_status ice_schema_update_new(const ice_metadata *md,
                                  ice_schema_update **out, floe_error *err);
void ice_schema_update_free(ice_schema_update *u);

/* Adds a column at the end. type: any col_dtype (lists get an element id
 * too; elem_nullable for the element). initial_default / write_default:
 * JSON text or NULL; doc may be NULL. *new_id (may be NULL) gets the
 * field's id. */
floe_status ice_schema_add_column(ice_schema_update *u, const char *name,
                                  col_dtype type, bool nullable,
                                  bool elem_nullable,
                                  const char *initial_default,
                                  const char *write_default, const char *doc,
                                  int32_t *new_id, floe_error *err);
floe_status ice_schema_drop_column(ice_schema_update *u, const char *name,
                                   floe_error *err);
floe_status ice_schema_drop_column_id(ice_schema_update *u, int32_t id,
                                      floe_error *err);
floe_status ice_schema_rename_column(ice_schema_update *u, const char *name,
                                     const char *new_name, floe_error *err);
/* Promotes the column to type (see the rules above). */
floe_status ice_schema_widen_column(ice_schema_update *u, const char *name,
                                    col_dtype type, floe_error *err);
/* required = false makes the column optional; true on an optional column
 * is refused (true on a required column is a no-op). */
floe_status ice_schema_set_required(ice_schema_update *u, const char *name,
                                    bool required, floe_error *err);
/* Replaces the column's write-default (JSON text; NULL removes it, which is
 * refused for required columns). */
floe_status ice_schema_set_write_default(ice_schema_update *u, const char *name,
                                         const char *write_default,
                                         floe_error *err);
/* Sets the column's doc (NULL removes it). */
floe_status ice_schema_set_doc(ice_schema_update *u, const char *name,
                               const char *doc, floe_error *err);
/* Replaces the identifier fields with the named columns (n may be 0). */
floe_status ice_schema_set_identifier_fields(ice_schema_update *u,
                                             const char *const *names, int n,
                                             floe_error *err);

/* Builds the new schema and adds it to md (see ice_metadata_add_schema).
 * md must be the metadata the update was started from, or a clone of it.
 * *schema_id (may be NULL) gets the now-current schema id. The update can
 * be freed afterwards (it does not own anything md holds). */
floe_status ice_schema_update_apply(ice_schema_update *u, ice_metadata *md,
                                    int32_t *schema_id, floe_error *err);

/*
 * Adds schema s to md and makes it current. s is consumed (moved into md, or
 * released) whatever the outcome. Its schema_id is replaced: an existing
 * schema equal to s (same fields, types, nullability, defaults, docs and
 * identifier fields) is reused, as Java does; otherwise it gets the highest
 * existing id + 1. last-column-id rises to cover s's ids. Fails with
 * FLOE_EINVAL when s's ids clash with each other, names repeat, or
 * identifier fields are invalid.
 */
floe_status ice_metadata_add_schema(ice_metadata *md, ice_schema *s,
                                    int32_t *schema_id, floe_error *err);

#endif
