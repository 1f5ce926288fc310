/*
 * Fast paths into the engine for in-tree sources (src/pg): not part of the
 * public API (floe.h), because they hand out the engine's own column
 * buffers. Same threading rules as the change functions: ingest thread only.
 */
#ifndef FLOE_TABLE_INGEST_H
#define FLOE_TABLE_INGEST_H

#include "columnar/batch.h"
#include "floe/floe.h"

/*
 * Inserts the rows of b into open transaction xid (subtransaction subxid),
 * as n calls of floe_insert would, but columnar: whole column ranges are
 * appended to the transaction's private rows (which spill past
 * txn_spill_bytes like any large transaction). b's fields match the
 * table's current columns by position; a field's type must be the
 * column's or one the column widens (int16 into int32, ...). Key columns
 * must not hold NULL. All or nothing per chunk of batch_rows rows: on
 * failure the rows already added stay in the transaction (abort it).
 */
floe_status tbl_insert_batch(floe_table *t, uint32_t xid, uint32_t subxid,
                             const col_batch *b, floe_error *err);

/*
 * Decoding a value straight into a row: tbl_row_value_begin empties column
 * col of r and returns its one-row buffer (of the column's type); the caller
 * appends exactly one value (e.g. pgt_append_text) and then calls
 * tbl_row_value_end(r, col, ok): ok marks the column set, !ok puts the NULL
 * back (as a failed setter does). The pointer is valid until the next call
 * on r. NULL when col is out of range or a list is open.
 */
col_column *tbl_row_value_begin(floe_row *r, int col);
void tbl_row_value_end(floe_row *r, int col, bool ok);

#endif
