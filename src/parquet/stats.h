/*
 * Column statistics for the Parquet writer: min/max in Parquet's sort order
 * per type (ColumnOrder TYPE_ORDER), null and NaN counts, and the conversion
 * of a min/max into Iceberg's lower/upper bound serialization (Iceberg spec,
 * Appendix D, with the default truncate(16) metrics mode).
 *
 * Values are kept in their PLAIN form without a length prefix: exactly what
 * Statistics.min_value/max_value hold.
 */
#ifndef FLOE_PARQUET_STATS_H
#define FLOE_PARQUET_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "columnar/column.h"
#include "util/buf.h"

typedef enum pq_stat_kind {
  PQS_BOOL, /* false < true */
  PQS_I32,  /* signed */
  PQS_I64,  /* signed */
  PQS_F32,  /* numeric, NaN ignored, zero normalised (see below) */
  PQS_F64,
  PQS_BYTES,  /* unsigned lexicographic: strings, binary, uuid */
  PQS_DEC_BE, /* fixed-width big-endian two's complement (decimal FLBA) */
} pq_stat_kind;

typedef struct pq_stats {
  pq_stat_kind kind;
  bool has_minmax;    /* some non-null, non-NaN value was seen */
  int64_t null_count; /* maintained by the caller */
  int64_t nan_count;
  fbuf min, max; /* owned */
} pq_stats;

void pq_stats_init(pq_stats *s, pq_stat_kind kind);
/* Forgets all values (keeps kind and capacity). */
void pq_stats_reset(pq_stats *s);
void pq_stats_free(pq_stats *s);

/* <0, 0, >0 as a orders before, with, after b under kind's order. */
int pq_stats_cmp(pq_stat_kind kind, const uint8_t *a, size_t an,
                 const uint8_t *b, size_t bn);

/* Folds in n PLAIN fixed-width values of width bytes each. Float NaNs are
 * counted, not ordered; a zero min is stored as -0.0 and a zero max as +0.0
 * (parquet.thrift's rule for TYPE_ORDER floats). */
floe_status pq_stats_add_fixed(pq_stats *s, const uint8_t *plain, size_t n,
                               int width, floe_error *err);
/* Folds in the non-null values of rows [from, to) of a bool column. */
floe_status pq_stats_add_bools(pq_stats *s, const col_column *c, int64_t from,
                               int64_t to, floe_error *err);
/* Folds in the non-null values of rows [from, to) of a utf8/binary column. */
floe_status pq_stats_add_bytes(pq_stats *s, const col_column *c, int64_t from,
                               int64_t to, floe_error *err);
/* Folds from's min/max and counts into into (same kind). */
floe_status pq_stats_merge(pq_stats *into, const pq_stats *from,
                           floe_error *err);

/* Iceberg single-value serialization of a PLAIN-form min (upper = false) or
 * max (upper = true) of a leaf of scalar type t, appended to out. Strings are
 * truncated to 16 code points and binary to 16 bytes; a truncated upper bound
 * is incremented at its last incrementable position. *ok = false (nothing
 * appended) when no upper bound exists (every position is at its maximum). */
floe_status pq_iceberg_bound(col_dtype t, bool upper, const uint8_t *v,
                             size_t n, fbuf *out, bool *ok, floe_error *err);

#endif
