/*
 * Partition transforms (spec.md "Partition Transforms", "Bucket Transform
 * Details", "Truncate Transform Details", Appendix B hashes) and the
 * single-value binary serialization of Appendix D that partition values,
 * bounds and field summaries are stored in.
 *
 * Values come from a col_column row; results are ice_pvalue bytes in the
 * Appendix D form of the transform's result type:
 *   identity      source type (int16 becomes int: Iceberg has no int16)
 *   bucket[N]     int:  (murmur3_x86_32(bytes(v)) & INT32_MAX) % N
 *   truncate[W]   source type (int, long, decimal, string, binary)
 *   year, month   int:  years / months since 1970 (floor for earlier dates)
 *   day           date: days since 1970-01-01 (as Iceberg Java types it)
 *   hour          int:  hours since 1970-01-01 00:00 (timestamps only)
 *   void          source type, always null
 * Unknown transforms have no result type: floe never writes with them (the
 * spec forbids committing data under a spec that holds one).
 */
#ifndef FLOE_ICEBERG_PARTITION_H
#define FLOE_ICEBERG_PARTITION_H

#include "iceberg/manifest.h"

/* 32-bit Murmur3, x86 variant. */
uint32_t ice_murmur3_32(const void *p, size_t n, uint32_t seed);
/* Appendix B: hashLong (8 bytes little-endian, seed 0) and hashBytes. */
int32_t ice_hash_long(int64_t v);
int32_t ice_hash_bytes(const void *p, size_t n);

/* The Appendix B hash of row i of c (not null). Fails with FLOE_EINVAL for
 * types the spec does not bucket (boolean, float, double, lists). */
floe_status ice_value_hash(const col_column *c, int64_t i, int32_t *out,
                           floe_error *err);

/* The result type of t applied to a column of type src, or FLOE_EINVAL
 * naming both when t does not apply to src (and for unknown transforms). */
floe_status ice_transform_result(const ice_transform *t, col_dtype src,
                                 col_dtype *out, floe_error *err);

/* Appends the Appendix D bytes of row i of c (not null; scalar types). */
floe_status ice_value_serialize(const col_column *c, int64_t i, fbuf *out,
                                floe_error *err);

/* Applies t to row i of c. out->bytes is emptied first and reused (its
 * buffer stays owned by out: free it with fbuf_free when done), so a caller
 * looping over rows allocates only while the buffer grows. */
floe_status ice_transform_apply(const ice_transform *t, const col_column *c,
                                int64_t i, ice_pvalue *out, floe_error *err);

/* Orders two Appendix D values of type t (<0, 0, >0): numeric for numbers,
 * dates and times (-0.0 before +0.0; the caller leaves NaN out), unsigned
 * bytes for strings (= code point order), binary and uuid. Malformed sizes
 * order by length, so no read goes past either buffer. */
int ice_value_cmp(col_dtype t, const uint8_t *a, size_t an, const uint8_t *b,
                  size_t bn);
/* True when a float/double value is a NaN (false for other types). */
bool ice_value_is_nan(col_dtype t, const uint8_t *p, size_t n);

/* Minimal big-endian two's complement bytes of a 128-bit value (Java's
 * BigInteger.toByteArray): appended to out. */
floe_status ice_decimal_to_be(uint64_t lo, int64_t hi, fbuf *out,
                              floe_error *err);
/* Bytes of the Avro fixed that holds decimal(precision, _) (Java's
 * TypeUtil.decimalRequiredBytes); 0 for precision outside 1..38. */
int ice_decimal_fixed_size(int precision);

#endif
