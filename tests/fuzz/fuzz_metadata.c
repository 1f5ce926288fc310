/*
 * Fuzz target: Iceberg table metadata JSON.
 * Properties: any bytes either parse or fail with a clean error (never a
 * crash, leak or sanitizer report); whatever parses writes out, and the
 * written text parses again and writes the same bytes (parse -> write is a
 * fixed point, in both layouts); a clone writes the same bytes too; a schema
 * update applied to the clone still gives metadata that round-trips.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "iceberg/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok) {
  if (!ok) __builtin_trap();
}

static void roundtrip(const ice_metadata *md, bool pretty) {
  floe_error err;
  fbuf a = FBUF_INIT, b = FBUF_INIT;
  check(ice_metadata_write(md, pretty, &a, &err) == FLOE_OK);
  ice_metadata *md2;
  check(ice_metadata_parse((const char *)a.data, a.len, "rewritten", &md2,
                           &err) == FLOE_OK);
  check(ice_metadata_write(md2, pretty, &b, &err) == FLOE_OK);
  check(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  ice_metadata_free(md2);
  fbuf_free(&a);
  fbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  floe_error err;
  ice_metadata *md;
  if (ice_metadata_parse((const char *)data, size, "fuzz", &md, &err) !=
      FLOE_OK)
    return 0;
  roundtrip(md, true);
  roundtrip(md, false);
  ice_metadata *c;
  check(ice_metadata_clone(md, &c, &err) == FLOE_OK);
  fbuf a = FBUF_INIT, b = FBUF_INIT;
  check(ice_metadata_write(md, false, &a, &err) == FLOE_OK);
  check(ice_metadata_write(c, false, &b, &err) == FLOE_OK);
  check(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
  fbuf_free(&a);
  fbuf_free(&b);
  ice_schema_update *u;
  if (ice_schema_update_new(c, &u, &err) == FLOE_OK) {
    col_dtype t = {.id = COL_INT64};
    int ok = c->last_column_id < INT32_MAX - 300;
    if (ok)
      ok = ice_schema_add_column(u, "fuzz_added", t, true, false, NULL, NULL,
                                 NULL, NULL, &err) == FLOE_OK;
    const ice_schema *cur = ice_metadata_current_schema(c);
    if (cur->cols->nfields > 0)
      (void)ice_schema_rename_column(u, cur->cols->fields[0].name,
                                     "fuzz_renamed", &err);
    if (ok && ice_schema_update_apply(u, c, NULL, &err) == FLOE_OK)
      roundtrip(c, false);
    ice_schema_update_free(u);
  }
  ice_metadata_free(c);
  ice_metadata_free(md);
  return 0;
}
