/*
 * The table.h read entry points: ice_table_plan and ice_scan_open on an open
 * table, over scan.c's metadata-level functions. Kept apart from scan.c so
 * that users of the metadata-level read path do not need table.c linked.
 */
#include "iceberg/scan.h"

floe_status ice_table_plan(ice_table *t, int64_t snapshot_id, ice_plan **out,
                           floe_error *err) {
  return ice_plan_build(ice_table_catalog(t), ice_table_metadata(t),
                        snapshot_id, out, err);
}

floe_status ice_scan_open(ice_table *t, const ice_plan *plan,
                          const int32_t *field_ids, int nids, ice_scan **out,
                          floe_error *err) {
  return ice_scan_open_md(ice_table_catalog(t), ice_table_metadata(t), plan,
                          field_ids, nids, out, err);
}
