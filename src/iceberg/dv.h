/*
 * Deletion vectors: the set of deleted row positions of one data file, as
 * Iceberg v3 stores them in a Puffin `deletion-vector-v1` blob.
 *
 * In memory: a sorted array of (high 32 bits -> CRoaring 32-bit bitmap).
 * Debian's CRoaring (0.2.66) has only the 32-bit API, so the 64-bit
 * "portable" layout is built here on top of it.
 *
 * Blob bytes (puffin-spec.md, deletion-vector-v1):
 *   u32 BE  length of magic + vector
 *   D1 D3 39 64  magic
 *   vector: u64 LE count of bitmaps, then per bitmap in ascending key order:
 *           u32 LE key, a 32-bit roaring bitmap in portable format
 *   u32 BE  CRC-32 of magic + vector
 */
#ifndef FLOE_ICEBERG_DV_H
#define FLOE_ICEBERG_DV_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct ice_dv ice_dv;

/* An empty vector; caller frees with ice_dv_free. */
floe_status ice_dv_new(ice_dv **out, floe_error *err);
void ice_dv_free(ice_dv *dv);
/* Positions must be < 2^63 (the spec reserves the top bit). */
floe_status ice_dv_add(ice_dv *dv, uint64_t pos, floe_error *err);
bool ice_dv_contains(const ice_dv *dv, uint64_t pos);
uint64_t ice_dv_cardinality(const ice_dv *dv);
/* dst |= src */
floe_status ice_dv_merge(ice_dv *dst, const ice_dv *src, floe_error *err);
/* Calls fn for every position in ascending order until it returns false. */
void ice_dv_iterate(const ice_dv *dv, bool (*fn)(void *ctx, uint64_t pos),
                    void *ctx);

/* Appends the blob bytes (run-optimized) to out. */
floe_status ice_dv_serialize(ice_dv *dv, fbuf *out, floe_error *err);
/* Parses and validates blob bytes (length, magic, CRC, keys ascending,
 * each bitmap well-formed: values strictly ascending, cardinality honest).
 * Caller frees *out. */
floe_status ice_dv_deserialize(const uint8_t *p, size_t n, ice_dv **out,
                               floe_error *err);

#endif
