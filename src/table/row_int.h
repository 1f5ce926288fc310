/*
 * floe_row internals (row.c), used by the change functions (txn.c).
 *
 * Every column of a row holds exactly one row at all times (a NULL when
 * unset), except a list column between list_begin and list_end; so a row
 * appends to a batch, and hashes, with the same columnar calls as a batch.
 */
#ifndef FLOE_TABLE_ROW_INT_H
#define FLOE_TABLE_ROW_INT_H

#include "table/table_int.h"

enum { TBL_ROW_NULL = 0, TBL_ROW_SET = 1, TBL_ROW_UNCHANGED = 2 };

struct floe_row {
  tbl_schema *schema; /* the schema the row was built for (one reference) */
  col_column *cols;   /* one per column, one row each */
  uint8_t *st;        /* TBL_ROW_* per column */
  int ninit;          /* columns initialised (for free after a failure) */
  int list_col;       /* the open list column, or -1 */
  int64_t bytes;      /* value bytes set (memory accounting) */
};

/* Checks r against schema s (same version, NOT NULL columns set, no open
 * list; unchanged markers only when allow_unchanged). */
floe_status tbl_row_check(const floe_row *r, const tbl_schema *s,
                          bool allow_unchanged, floe_error *err);
/* The identity hash of r. */
void tbl_row_hash(const floe_row *r, uint64_t *out);

#endif
