/* Hashing (xxh3 from libxxhash) and checksums (crc32 from zlib). */
#ifndef FLOE_UTIL_HASH_H
#define FLOE_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t fhash64(const void *p, size_t n);
uint64_t fhash64_seed(const void *p, size_t n, uint64_t seed);
/* Hash of one 64-bit integer: cheap and well mixed (for hash tables). */
static inline uint64_t fhash_u64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}
/* CRC-32 (IEEE, as zlib/PNG/Iceberg use); start with crc = 0. */
uint32_t fcrc32(uint32_t crc, const void *p, size_t n);

#endif
