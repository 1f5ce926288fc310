/*
 * Fuzz target: Puffin footers and deletion-vector blobs.
 * Property: any bytes either parse into a consistent structure or fail with
 * a clean error; never a crash, a leak or a sanitizer report. Every blob of
 * a parsed file is decoded as a DV, and the raw input is also tried as a
 * bare DV blob, and wrapped with a valid length, magic and CRC so the
 * roaring decoding behind the checksum gets fuzzed too.
 */
#include <stddef.h>
#include <stdint.h>

#include <stdlib.h>
#include <string.h>

#include "iceberg/puffin.h"
#include "util/hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  floe_error err;
  ice_dv *dv = NULL;
  if (ice_dv_deserialize(data, size, &dv, &err) == FLOE_OK) {
    (void)ice_dv_cardinality(dv);
    ice_dv_free(dv);
  }
  uint8_t *w = malloc(size + 12);
  if (w) {
    uint32_t len = (uint32_t)size + 4;
    uint8_t hdr[8] = {(uint8_t)(len >> 24),
                      (uint8_t)(len >> 16),
                      (uint8_t)(len >> 8),
                      (uint8_t)len,
                      0xD1,
                      0xD3,
                      0x39,
                      0x64};
    memcpy(w, hdr, 8);
    if (size) memcpy(w + 8, data, size);
    uint32_t crc = fcrc32(0, w + 4, size + 4);
    uint8_t t[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16),
                    (uint8_t)(crc >> 8), (uint8_t)crc};
    memcpy(w + 8 + size, t, 4);
    if (ice_dv_deserialize(w, size + 12, &dv, &err) == FLOE_OK) {
      (void)ice_dv_contains(dv, 12345);
      ice_dv_free(dv);
    }
    free(w);
  }
  ice_puffin *pf = NULL;
  if (ice_puffin_read(data, size, "fuzz", &pf, &err) != FLOE_OK) return 0;
  for (int i = 0; i < pf->nblobs; i++) {
    if (ice_puffin_read_dv(data, size, &pf->blobs[i], &dv, &err) == FLOE_OK)
      ice_dv_free(dv);
  }
  ice_puffin_free(pf);
  return 0;
}
