/*
 * Typed columns in Arrow's memory layout, and the builders that append to
 * them. A column is both the builder and the finished array: appending grows
 * its buffers geometrically (amortised O(1), no per-row malloc), and its
 * buffers are exactly what the Arrow C Data Interface exports.
 *
 * Layout per type (Arrow spec):
 *   validity  bit i = 1 when row i is valid (LSB first); always maintained.
 *   bool      values: bitmap, 1 bit per row
 *   int16/32/64, float32/64, date32 (int32 days), time64 (int64 us),
 *   timestamp/timestamptz (int64 us since epoch; tz = UTC)
 *             values: fixed-width little-endian
 *   decimal128  values: 16 bytes per row, little-endian two's complement
 *   uuid      values: 16 bytes per row, in canonical (big-endian) order
 *   utf8, binary  offsets: int32[length+1]; values: the bytes
 *   list<T>   offsets: int32[length+1] into child; child: a column of T
 *
 * Nulls occupy a slot: a fixed-width null writes zero bytes, a var-width
 * null repeats the previous offset.
 */
#ifndef FLOE_COLUMNAR_COLUMN_H
#define FLOE_COLUMNAR_COLUMN_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"

typedef enum col_type {
  COL_BOOL = 0,
  COL_INT16,
  COL_INT32,
  COL_INT64,
  COL_FLOAT32,
  COL_FLOAT64,
  COL_DECIMAL, /* decimal128(precision, scale) */
  COL_UTF8,
  COL_BINARY,
  COL_DATE,        /* date32: days since 1970-01-01 */
  COL_TIME,        /* time64: microseconds since midnight */
  COL_TIMESTAMP,   /* microseconds since epoch, no time zone */
  COL_TIMESTAMPTZ, /* microseconds since epoch, UTC */
  COL_UUID,
  COL_LIST, /* list<elem> where elem is any type above but list */
  COL_TYPE_COUNT
} col_type;

/* A type: scalar, or a list of one scalar. */
typedef struct col_dtype {
  col_type id;
  uint8_t precision; /* decimal: 1..38 */
  uint8_t scale;     /* decimal: 0..precision */
  /* for COL_LIST only: the element type (never COL_LIST) */
  col_type elem;
  uint8_t elem_precision;
  uint8_t elem_scale;
} col_dtype;

/* Bytes per value for fixed-width types; 0 for bool, var-width and list. */
int col_type_width(col_type t);
/* "int32", "decimal", "list", ... */
const char *col_type_name(col_type t);
/* The element type of a list as a scalar dtype. */
col_dtype col_dtype_elem(col_dtype t);
/* FLOE_OK when t is a valid type (known ids, decimal precision 1..38 and
 * scale <= precision, list elements scalar); FLOE_EINVAL otherwise. */
floe_status col_dtype_check(col_dtype t, floe_error *err);
/* Writes "decimal(10,2)", "list<utf8>" etc. into out; returns out. */
char *col_dtype_format(col_dtype t, char *out, size_t n);

typedef struct col_column {
  col_dtype type;
  int64_t length;
  int64_t null_count;
  fbuf validity;
  fbuf values;  /* fixed-width values, bool bits, or var-width bytes */
  fbuf offsets; /* int32 offsets: utf8, binary, list */
  struct col_column *child; /* list elements (owned) */
} col_column;

/* Initialises an empty column of type t (allocates the list child). */
floe_status col_init(col_column *c, col_dtype t, floe_error *err);
/* Releases all buffers (and the child); c may be reused after col_init. */
void col_free(col_column *c);
/* Drops all rows but keeps capacity. */
void col_clear(col_column *c);
/* Grows buffers so n more rows (and, for var-width, nbytes) fit. */
floe_status col_reserve(col_column *c, int64_t n, size_t nbytes,
                        floe_error *err);

/* Appending. Each call checks the column's type family in debug builds only
 * (builds without NDEBUG; the check returns FLOE_EINVAL, it never aborts);
 * the caller appends the type it declared. A failed append leaves the column
 * unchanged. */
floe_status col_append_null(col_column *c, floe_error *err);
/* Appends n nulls (n >= 0) in one step. */
floe_status col_append_nulls(col_column *c, int64_t n, floe_error *err);
static inline floe_status col_append_bool(col_column *c, bool v,
                                          floe_error *err);
static inline floe_status col_append_i16(col_column *c, int16_t v,
                                         floe_error *err);
/* int32 and date */
static inline floe_status col_append_i32(col_column *c, int32_t v,
                                         floe_error *err);
/* int64, time, timestamp, timestamptz */
static inline floe_status col_append_i64(col_column *c, int64_t v,
                                         floe_error *err);
static inline floe_status col_append_f32(col_column *c, float v,
                                         floe_error *err);
static inline floe_status col_append_f64(col_column *c, double v,
                                         floe_error *err);
/* decimal: the unscaled value as 128-bit two's complement (lo, hi halves) */
static inline floe_status col_append_dec(col_column *c, uint64_t lo, int64_t hi,
                                         floe_error *err);
/* utf8, binary. Fails with FLOE_ERANGE when the column's bytes would pass
 * INT32_MAX (offsets are int32): flush the batch earlier. */
static inline floe_status col_append_bytes(col_column *c, const void *p,
                                           size_t n, floe_error *err);
static inline floe_status col_append_uuid(col_column *c, const uint8_t v[16],
                                          floe_error *err);
/* Two-step utf8/binary append for values decoded in place (no staging copy):
 * col_bytes_begin gives room for up to n bytes at *dst (valid until the next
 * append), col_bytes_commit(c, m) closes the row with the m <= n bytes
 * written. Skipping the commit appends nothing. */
static inline floe_status col_bytes_begin(col_column *c, size_t n,
                                          uint8_t **dst, floe_error *err);
static inline void col_bytes_commit(col_column *c, size_t m);
/* Bulk append for fixed-width types (not bool, var-width or list): adds n
 * valid rows and points *vals at their n * width value bytes, which the
 * caller must fill before the next call on c. Decoders use it to write a
 * run of values in one columnar loop. */
floe_status col_extend_fixed(col_column *c, int64_t n, uint8_t **vals,
                             floe_error *err);
/* Lists: append the elements to c->child, then close the row. */
floe_status col_list_end(col_column *c, floe_error *err);
/* Appends rows [from, from+n) of src (same type) to c. Columnar: memcpy for
 * fixed width, bit copies for bitmaps, rebased offsets for var-width/lists. */
floe_status col_append_range(col_column *c, const col_column *src, int64_t from,
                             int64_t n, floe_error *err);
/* Drops rows past len (len <= length), keeping capacity; used to roll back a
 * partly appended row or list. */
void col_truncate(col_column *c, int64_t len);

/* Reading. Row index i must be < length. */
static inline bool col_is_valid(const col_column *c, int64_t i) {
  return (c->validity.data[i >> 3] >> (i & 7)) & 1;
}
static inline bool col_get_bool(const col_column *c, int64_t i) {
  return (c->values.data[i >> 3] >> (i & 7)) & 1;
}
static inline const int32_t *col_offsets(const col_column *c) {
  return (const int32_t *)(const void *)c->offsets.data;
}
/* Borrowed pointer to row i's bytes (utf8/binary); valid until the next
 * append or free. */
static inline const uint8_t *col_get_bytes(const col_column *c, int64_t i,
                                           size_t *n) {
  const int32_t *o = col_offsets(c);
  *n = (size_t)(o[i + 1] - o[i]);
  /* a column of only empty values may have no buffer: NULL + 0 is UB */
  return c->values.data ? c->values.data + o[i] : (const uint8_t *)"";
}
/* Pointer to row i's fixed-width value. */
static inline const void *col_get_fixed(const col_column *c, int64_t i,
                                        int width) {
  return c->values.data + (size_t)i * (size_t)width;
}

/* Compares row i of a with row j of b (same type); nulls equal each other.
 * Floats compare by bits so NaN == NaN. Returns true when equal. */
bool col_value_equal(const col_column *a, int64_t i, const col_column *b,
                     int64_t j);

/* ---- inline fast paths (names ending in _ are internal to the module) ---- */

/* Slow path: makes room for one more row with vbytes value bytes (and one
 * offset for var-width types). */
floe_status col_grow_(col_column *c, size_t vbytes, floe_error *err);
/* Reports an append of the wrong type family (a caller bug). */
floe_status col_type_mismatch_(const col_column *c, const char *what,
                               floe_error *err);
/* Reports var-width bytes past INT32_MAX. */
floe_status col_too_big_(const col_column *c, size_t n, floe_error *err);

#ifndef NDEBUG
#define COL_CHECK_(c, cond, what, err)                                         \
  do {                                                                         \
    if (FLOE_UNLIKELY(!(cond))) return col_type_mismatch_((c), (what), (err)); \
  } while (0)
#else
#define COL_CHECK_(c, cond, what, err) ((void)0)
#endif

/* Bitmaps keep every bit past length zero, so setting a bit is an OR into a
 * byte that was zeroed when it was added. The caller reserved one byte. */
static inline void col_push_bit_(fbuf *b, int64_t i, bool v) {
  if ((i & 7) == 0) b->data[b->len++] = 0;
  b->data[i >> 3] |= (uint8_t)((unsigned)v << (i & 7));
}

static inline bool col_room_(const col_column *c, size_t vbytes) {
  return c->values.cap - c->values.len >= vbytes &&
         c->validity.cap > c->validity.len;
}

static inline floe_status col_append_fixed_(col_column *c, const void *v,
                                            size_t w, floe_error *err) {
  if (FLOE_UNLIKELY(!col_room_(c, w))) FLOE_TRY(col_grow_(c, w, err));
  memcpy(c->values.data + c->values.len, v, w);
  c->values.len += w;
  col_push_bit_(&c->validity, c->length, true);
  c->length++;
  return FLOE_OK;
}

static inline floe_status col_append_bool(col_column *c, bool v,
                                          floe_error *err) {
  COL_CHECK_(c, c->type.id == COL_BOOL, "bool", err);
  if (FLOE_UNLIKELY(!col_room_(c, 1))) FLOE_TRY(col_grow_(c, 1, err));
  col_push_bit_(&c->values, c->length, v);
  col_push_bit_(&c->validity, c->length, true);
  c->length++;
  return FLOE_OK;
}

static inline floe_status col_append_i16(col_column *c, int16_t v,
                                         floe_error *err) {
  COL_CHECK_(c, c->type.id == COL_INT16, "int16", err);
  return col_append_fixed_(c, &v, 2, err);
}

static inline floe_status col_append_i32(col_column *c, int32_t v,
                                         floe_error *err) {
  COL_CHECK_(c, c->type.id == COL_INT32 || c->type.id == COL_DATE, "int32",
             err);
  return col_append_fixed_(c, &v, 4, err);
}

static inline floe_status col_append_i64(col_column *c, int64_t v,
                                         floe_error *err) {
  COL_CHECK_(c,
             c->type.id == COL_INT64 || c->type.id == COL_TIME ||
                 c->type.id == COL_TIMESTAMP || c->type.id == COL_TIMESTAMPTZ,
             "int64", err);
  return col_append_fixed_(c, &v, 8, err);
}

static inline floe_status col_append_f32(col_column *c, float v,
                                         floe_error *err) {
  COL_CHECK_(c, c->type.id == COL_FLOAT32, "float32", err);
  return col_append_fixed_(c, &v, 4, err);
}

static inline floe_status col_append_f64(col_column *c, double v,
                                         floe_error *err) {
  COL_CHECK_(c, c->type.id == COL_FLOAT64, "float64", err);
  return col_append_fixed_(c, &v, 8, err);
}

static inline floe_status col_append_dec(col_column *c, uint64_t lo, int64_t hi,
                                         floe_error *err) {
  COL_CHECK_(c, c->type.id == COL_DECIMAL, "decimal", err);
  uint64_t v[2] = {lo, (uint64_t)hi};
  return col_append_fixed_(c, v, 16, err);
}

static inline floe_status col_append_uuid(col_column *c, const uint8_t v[16],
                                          floe_error *err) {
  COL_CHECK_(c, c->type.id == COL_UUID, "uuid", err);
  return col_append_fixed_(c, v, 16, err);
}

static inline floe_status col_bytes_begin(col_column *c, size_t n,
                                          uint8_t **dst, floe_error *err) {
  COL_CHECK_(c, c->type.id == COL_UTF8 || c->type.id == COL_BINARY, "bytes",
             err);
  if (FLOE_UNLIKELY(n > (size_t)INT32_MAX - c->values.len))
    return col_too_big_(c, n, err);
  if (FLOE_UNLIKELY(!col_room_(c, n) || c->offsets.cap - c->offsets.len < 4))
    FLOE_TRY(col_grow_(c, n, err));
  *dst = c->values.data ? c->values.data + c->values.len : NULL;
  return FLOE_OK;
}

static inline void col_bytes_commit(col_column *c, size_t m) {
  c->values.len += m;
  int32_t end = (int32_t)c->values.len;
  memcpy(c->offsets.data + c->offsets.len, &end, 4);
  c->offsets.len += 4;
  col_push_bit_(&c->validity, c->length, true);
  c->length++;
}

static inline floe_status col_append_bytes(col_column *c, const void *p,
                                           size_t n, floe_error *err) {
  uint8_t *dst = NULL;
  FLOE_TRY(col_bytes_begin(c, n, &dst, err));
  if (n) memcpy(dst, p, n);
  col_bytes_commit(c, n);
  return FLOE_OK;
}

#endif
