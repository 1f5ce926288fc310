/*
 * Identity (key) values: hashing and equality with the normalisation index.h
 * describes, so a row's hash survives a widening of its column type.
 *
 * The hash of a row chains the columns: column k's value is hashed with
 * XXH3-64 seeded by the hash of columns 0..k-1. Values are hashed in their
 * normalised form: integer-like as int64, floats as float64 bits, decimals
 * as 16 bytes (unscaled, two's complement), uuid as its 16 bytes, utf8/binary
 * as their bytes, lists as their elements chained then their count. NULL is
 * an 8-byte marker hashed under a different seed.
 *
 * The hashes are persisted (index files hold hash bits), so this scheme is
 * part of the index file format: change it only with a new format version.
 */
#include "table/index.h"

/* Inlined so the per-value hash of an int key is a handful of multiplies
 * instead of a library call (it runs for every ingested row). */
#define XXH_INLINE_ALL
#include <xxhash.h>

#define TKEY_SEED0 0x243f6a8885a308d3ULL /* seed of the first column */
#define TKEY_NULL_MARK 0x13198a2e03707344ULL
#define TKEY_NULL_SEED 0xa4093822299f31d0ULL
#define TKEY_LIST_SEED 0x082efa98ec4e6c89ULL

/* The normalised classes: values of different classes never compare equal. */
typedef enum tkey_class {
  TK_INT,   /* bool, int16/32/64, date, time, timestamp[tz] -> int64 */
  TK_FLOAT, /* float32/64 -> float64 bits */
  TK_DEC,   /* decimal128 */
  TK_UUID,  /* 16 bytes */
  TK_BYTES, /* utf8, binary */
  TK_LIST,
  TK_NONE
} tkey_class;

static tkey_class tkey_class_of(col_type t) {
  switch (t) {
  case COL_BOOL:
  case COL_INT16:
  case COL_INT32:
  case COL_INT64:
  case COL_DATE:
  case COL_TIME:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: return TK_INT;
  case COL_FLOAT32:
  case COL_FLOAT64: return TK_FLOAT;
  case COL_DECIMAL: return TK_DEC;
  case COL_UUID: return TK_UUID;
  case COL_UTF8:
  case COL_BINARY: return TK_BYTES;
  case COL_LIST: return TK_LIST;
  case COL_TYPE_COUNT: break;
  }
  return TK_NONE;
}

/* Row i of an integer-like column as int64 (sign-extended). */
static inline int64_t tkey_int(const col_column *c, int64_t i) {
  const uint8_t *p = c->values.data;
  switch (c->type.id) {
  case COL_BOOL: return col_get_bool(c, i);
  case COL_INT16: {
    int16_t v;
    memcpy(&v, p + (size_t)i * 2, 2);
    return v;
  }
  case COL_INT32:
  case COL_DATE: {
    int32_t v;
    memcpy(&v, p + (size_t)i * 4, 4);
    return v;
  }
  default: {
    int64_t v;
    memcpy(&v, p + (size_t)i * 8, 8);
    return v;
  }
  }
}

/* Row i of a float column as float64 bits: float32 -> float64 is exact, so
 * a widened column keeps every value (and bit pattern class: -0.0, NaN). */
static inline uint64_t tkey_float_bits(const col_column *c, int64_t i) {
  double d;
  if (c->type.id == COL_FLOAT32) {
    float f;
    memcpy(&f, c->values.data + (size_t)i * 4, 4);
    d = (double)f;
  } else {
    memcpy(&d, c->values.data + (size_t)i * 8, 8);
  }
  uint64_t u;
  memcpy(&u, &d, 8);
  return u;
}

static inline uint64_t tkey_null_hash(uint64_t seed) {
  uint64_t m = TKEY_NULL_MARK;
  return XXH3_64bits_withSeed(&m, 8, seed ^ TKEY_NULL_SEED);
}

/* Hash of one non-list value (list elements, and the generic column path). */
static uint64_t tkey_hash_one(const col_column *c, int64_t i, uint64_t seed) {
  if (!col_is_valid(c, i)) return tkey_null_hash(seed);
  switch (tkey_class_of(c->type.id)) {
  case TK_INT: {
    int64_t v = tkey_int(c, i);
    return XXH3_64bits_withSeed(&v, 8, seed);
  }
  case TK_FLOAT: {
    uint64_t v = tkey_float_bits(c, i);
    return XXH3_64bits_withSeed(&v, 8, seed);
  }
  case TK_DEC:
  case TK_UUID:
    return XXH3_64bits_withSeed(c->values.data + (size_t)i * 16, 16, seed);
  case TK_BYTES: {
    size_t n;
    const uint8_t *p = col_get_bytes(c, i, &n);
    return XXH3_64bits_withSeed(p, n, seed);
  }
  case TK_LIST: {
    const int32_t *o = col_offsets(c);
    uint64_t h = seed ^ TKEY_LIST_SEED;
    for (int32_t e = o[i]; e < o[i + 1]; e++) h = tkey_hash_one(c->child, e, h);
    uint64_t cnt = (uint64_t)(o[i + 1] - o[i]);
    return XXH3_64bits_withSeed(&cnt, 8, h);
  }
  case TK_NONE: break;
  }
  return seed;
}

void tkey_hash(const col_column *cols, const int *key, int nkey, int64_t from,
               int64_t n, uint64_t *out) {
  for (int64_t r = 0; r < n; r++) out[r] = TKEY_SEED0;
  for (int k = 0; k < nkey; k++) {
    const col_column *c = &cols[key[k]];
    bool nulls = c->null_count > 0;
    tkey_class cl = tkey_class_of(c->type.id);
    /* Fast loops for the common key types; the rest go one value at a time
     * through the generic path (lists must anyway). */
    if (cl == TK_INT && !nulls && c->type.id != COL_BOOL) {
      int w = col_type_width(c->type.id);
      const uint8_t *p = c->values.data + (size_t)from * (size_t)w;
      if (w == 8) {
        for (int64_t r = 0; r < n; r++) {
          int64_t v;
          memcpy(&v, p + (size_t)r * 8, 8);
          out[r] = XXH3_64bits_withSeed(&v, 8, out[r]);
        }
      } else if (w == 4) {
        for (int64_t r = 0; r < n; r++) {
          int32_t v32;
          memcpy(&v32, p + (size_t)r * 4, 4);
          int64_t v = v32;
          out[r] = XXH3_64bits_withSeed(&v, 8, out[r]);
        }
      } else {
        for (int64_t r = 0; r < n; r++) {
          int16_t v16;
          memcpy(&v16, p + (size_t)r * 2, 2);
          int64_t v = v16;
          out[r] = XXH3_64bits_withSeed(&v, 8, out[r]);
        }
      }
    } else if (cl == TK_BYTES && !nulls) {
      const int32_t *o = col_offsets(c);
      const uint8_t *base =
          c->values.data ? c->values.data : (const uint8_t *)"";
      for (int64_t r = 0; r < n; r++) {
        int64_t i = from + r;
        out[r] = XXH3_64bits_withSeed(base + o[i], (size_t)(o[i + 1] - o[i]),
                                      out[r]);
      }
    } else {
      for (int64_t r = 0; r < n; r++)
        out[r] = tkey_hash_one(c, from + r, out[r]);
    }
  }
}

/* Equality of one value each, normalised; NULL equals NULL (rows are
 * compared by value, as a key-less table's identity needs). */
static bool tkey_value_equal(const col_column *a, int64_t i,
                             const col_column *b, int64_t j) {
  bool va = col_is_valid(a, i), vb = col_is_valid(b, j);
  if (!va || !vb) return va == vb;
  tkey_class ca = tkey_class_of(a->type.id), cb = tkey_class_of(b->type.id);
  if (ca != cb) return false;
  switch (ca) {
  case TK_INT: return tkey_int(a, i) == tkey_int(b, j);
  case TK_FLOAT: return tkey_float_bits(a, i) == tkey_float_bits(b, j);
  case TK_DEC:
  case TK_UUID:
    return memcmp(a->values.data + (size_t)i * 16,
                  b->values.data + (size_t)j * 16, 16) == 0;
  case TK_BYTES: {
    size_t na, nb;
    const uint8_t *pa = col_get_bytes(a, i, &na);
    const uint8_t *pb = col_get_bytes(b, j, &nb);
    return na == nb && (na == 0 || memcmp(pa, pb, na) == 0);
  }
  case TK_LIST: {
    const int32_t *oa = col_offsets(a), *ob = col_offsets(b);
    int32_t na = oa[i + 1] - oa[i], nb = ob[j + 1] - ob[j];
    if (na != nb) return false;
    for (int32_t e = 0; e < na; e++)
      if (!tkey_value_equal(a->child, oa[i] + e, b->child, ob[j] + e))
        return false;
    return true;
  }
  case TK_NONE: break;
  }
  return false;
}

bool tkey_equal(const col_column *a, const int *akey, int64_t i,
                const col_column *b, const int *bkey, int64_t j, int nkey) {
  for (int k = 0; k < nkey; k++)
    if (!tkey_value_equal(&a[akey[k]], i, &b[bkey[k]], j)) return false;
  return true;
}
