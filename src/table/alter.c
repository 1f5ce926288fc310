/* Schema changes (placeholder). */
#include "table/table_int.h"

floe_status floe_table_alter(floe_table *t, const floe_column *cols, int ncols,
                             floe_error *err) {
  (void)t;
  (void)cols;
  (void)ncols;
  return ferr_set(err, FLOE_EUNSUPPORTED, "floe_table_alter: not yet");
}

floe_status floe_table_rename_column(floe_table *t, const char *from,
                                     const char *to, floe_error *err) {
  (void)t;
  (void)from;
  (void)to;
  return ferr_set(err, FLOE_EUNSUPPORTED, "floe_table_rename_column: not yet");
}
