/* Compaction (placeholder until the real pass lands). */
#include "table/table_int.h"

floe_status tbl_compact(floe_table *t, int force, floe_error *err) {
  (void)t;
  (void)force;
  (void)err;
  return FLOE_OK;
}
