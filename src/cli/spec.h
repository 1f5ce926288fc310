/*
 * The --schema SPEC of `floe parquet write`: a comma-separated list of
 * name:type, e.g. "id:int64!,price:decimal(10,2),tags:list<utf8!>".
 *
 *   - A trailing '!' marks a required (non-null) column; inside list<...> it
 *     marks the elements required.
 *   - Commas inside (...) or <...> belong to the type.
 *   - Field ids: columns get 1..n in order; list elements get n+1, n+2, ...
 *     in column order.
 */
#ifndef FLOE_CLI_SPEC_H
#define FLOE_CLI_SPEC_H

#include "columnar/batch.h"

typedef struct cli_spec {
  int nfields;
  col_field *fields; /* owned, names too; free with cli_spec_free */
} cli_spec;

/* Parses text into out (which the caller frees with cli_spec_free, also after
 * a failure). Errors are FLOE_EINVAL with a message naming the column. */
floe_status cli_spec_parse(const char *text, cli_spec *out, floe_error *err);
void cli_spec_free(cli_spec *s);

/* Parses one type name ("int32", "decimal(10,2)", "list<utf8!>"): n bytes of
 * s. *elem_required is set for list<T!>. */
floe_status cli_type_parse(const char *s, size_t n, col_dtype *out,
                           bool *elem_required, floe_error *err);

#endif
