/*
 * Fuzz target: Iceberg manifests and manifest lists.
 * Property: any bytes either read as a manifest / manifest list or fail with
 * a clean error; never a crash, a leak or a sanitizer report. Each input is
 * read as a manifest twice (without and with inheritance from a manifest
 * list entry, so first_row_id assignment runs) and as a manifest list; every
 * entry handed out is deep-copied and freed, so its arena views get read.
 */
#include <stddef.h>
#include <stdint.h>

#include <stdlib.h>
#include <string.h>

#include "iceberg/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static floe_status take(void *ctx, const ice_manifest_entry *e,
                        floe_error *err) {
  ice_data_file f;
  FLOE_TRY(ice_data_file_copy(&f, &e->file, err));
  int64_t *sum = ctx;
  for (int i = 0; i < f.nmetrics; i++)
    *sum += (int64_t)f.metrics[i].lower.len + (int64_t)f.metrics[i].upper.len;
  for (int i = 0; i < f.npartition; i++)
    *sum += (int64_t)f.partition[i].bytes.len;
  ice_data_file_free(&f);
  return FLOE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  floe_error err;
  int64_t sum = 0;
  (void)ice_manifest_read(data, size, "fuzz", NULL, take, &sum, &err);
  ice_manifest_file mf;
  memset(&mf, 0, sizeof mf);
  mf.content = ICE_MANIFEST_DATA;
  mf.sequence_number = 5;
  mf.added_snapshot_id = 7;
  mf.first_row_id = 1000;
  (void)ice_manifest_read(data, size, "fuzz", &mf, take, &sum, &err);
  ice_manifest_file *list = NULL;
  int n = 0;
  if (ice_manifest_list_read(data, size, "fuzz", &list, &n, &err) == FLOE_OK) {
    for (int i = 0; i < n; i++) {
      ice_manifest_file c;
      if (ice_manifest_file_copy(&c, &list[i], &err) == FLOE_OK)
        ice_manifest_file_free(&c);
      ice_manifest_file_free(&list[i]);
    }
    free(list);
  }
  return 0;
}
