/*
 * The read path of table.h (ice_table_plan, ice_scan_*) on plain parts: a
 * catalog (for its store) and a parsed ice_metadata. ice_table_plan and
 * ice_scan_open are thin wrappers over these; tools and tests that hold
 * metadata but no ice_table call them directly.
 *
 * Ownership: cat is borrowed and must outlive the plan's use and the scan.
 * md is only read during the call (the scan copies the schema and defaults
 * it needs). The plan is the caller's (ice_plan_free) and must outlive the
 * scan.
 */
#ifndef FLOE_ICEBERG_SCAN_H
#define FLOE_ICEBERG_SCAN_H

#include "iceberg/table.h"

/* Files larger than this (manifest lists, manifests) are refused: a bad
 * pointer or a hostile table must not make a read allocate without bound. */
#define ICE_SCAN_MAX_MANIFEST ((size_t)256 << 20)

/* Live data files and their DVs at snapshot_id of md (ICE_NONE = current).
 * The plan's schema is the current schema when reading the current
 * snapshot, else the snapshot's own schema (when it records one). */
floe_status ice_plan_build(ice_catalog *cat, const ice_metadata *md,
                           int64_t snapshot_id, ice_plan **out,
                           floe_error *err);

/* As ice_scan_open, with the plan's schema looked up in md. */
floe_status ice_scan_open_md(ice_catalog *cat, const ice_metadata *md,
                             const ice_plan *plan, const int32_t *field_ids,
                             int nids, ice_scan **out, floe_error *err);

#endif
