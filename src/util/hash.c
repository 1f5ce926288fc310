/* Thin wrappers so the rest of floe does not include library headers. */
#include "util/hash.h"

#include <xxhash.h>
#include <zlib.h>

uint64_t fhash64(const void *p, size_t n) { return XXH3_64bits(p, n); }

uint64_t fhash64_seed(const void *p, size_t n, uint64_t seed) {
  return XXH3_64bits_withSeed(p, n, seed);
}

uint32_t fcrc32(uint32_t crc, const void *p, size_t n) {
  const unsigned char *b = p;
  /* zlib takes uInt lengths: feed huge buffers in pieces */
  while (n > 0) {
    uInt step = n > (1u << 30) ? (1u << 30) : (uInt)n;
    crc = (uint32_t)crc32(crc, b, step);
    b += step;
    n -= step;
  }
  return crc;
}
