/* Partition transforms and Appendix D values; see partition.h. */
#include "iceberg/partition.h"

#include <math.h>

__extension__ typedef __int128 i128;
__extension__ typedef unsigned __int128 u128;

/* ---- Murmur3 x86 32-bit ---- */

static uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static uint32_t mix_k(uint32_t k) {
  k *= 0xcc9e2d51u;
  k = rotl32(k, 15);
  return k * 0x1b873593u;
}

uint32_t ice_murmur3_32(const void *p, size_t n, uint32_t seed) {
  const uint8_t *b = p;
  uint32_t h = seed;
  size_t blocks = n / 4;
  for (size_t i = 0; i < blocks; i++) {
    h ^= mix_k(fle32(b + 4 * i));
    h = rotl32(h, 13);
    h = h * 5 + 0xe6546b64u;
  }
  const uint8_t *tail = b + 4 * blocks;
  uint32_t k = 0;
  switch (n & 3) {
  case 3: k ^= (uint32_t)tail[2] << 16; /* fall through */
  case 2: k ^= (uint32_t)tail[1] << 8;  /* fall through */
  case 1:
    k ^= tail[0];
    h ^= mix_k(k);
    break;
  default: break;
  }
  h ^= (uint32_t)n;
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

int32_t ice_hash_bytes(const void *p, size_t n) {
  return (int32_t)ice_murmur3_32(p, n, 0);
}

int32_t ice_hash_long(int64_t v) {
  uint8_t le[8];
  for (int i = 0; i < 8; i++) le[i] = (uint8_t)((uint64_t)v >> (8 * i));
  return ice_hash_bytes(le, 8);
}

/* ---- decimals ---- */

static void dec_get(const col_column *c, int64_t i, uint64_t *lo, int64_t *hi) {
  const uint8_t *v = col_get_fixed(c, i, 16);
  *lo = fle64(v);
  *hi = (int64_t)fle64(v + 8);
}

static i128 dec_join(uint64_t lo, int64_t hi) {
  return (i128)(((u128)(uint64_t)hi << 64) | lo);
}

/* The minimal big-endian two's complement form of (lo, hi) starts at
 * be + return value and runs to be + 16. */
static int dec_min_be(uint64_t lo, int64_t hi, uint8_t be[16]) {
  for (int i = 0; i < 8; i++) {
    be[15 - i] = (uint8_t)(lo >> (8 * i));
    be[7 - i] = (uint8_t)((uint64_t)hi >> (8 * i));
  }
  /* drop leading bytes that only repeat the sign of the next byte */
  int s = 0;
  while (s < 15 && ((be[s] == 0x00 && !(be[s + 1] & 0x80)) ||
                    (be[s] == 0xFF && (be[s + 1] & 0x80))))
    s++;
  return s;
}

floe_status ice_decimal_to_be(uint64_t lo, int64_t hi, fbuf *out,
                              floe_error *err) {
  uint8_t be[16];
  int s = dec_min_be(lo, hi, be);
  return fbuf_append(out, be + s, (size_t)(16 - s), err);
}

int ice_decimal_fixed_size(int precision) {
  if (precision < 1 || precision > 38) return 0;
  u128 pow10 = 1;
  for (int i = 0; i < precision; i++) pow10 *= 10;
  /* smallest n whose signed range holds 10^P - 1: 2^(8n-1) >= 10^P */
  for (int n = 1; n <= 16; n++)
    if (((u128)1 << (8 * n - 1)) >= pow10) return n;
  return 16;
}

/* ---- hashing ---- */

floe_status ice_value_hash(const col_column *c, int64_t i, int32_t *out,
                           floe_error *err) {
  switch (c->type.id) {
  case COL_INT16:
    *out = ice_hash_long(*(const int16_t *)col_get_fixed(c, i, 2));
    return FLOE_OK;
  case COL_INT32:
  case COL_DATE:
    /* ints hash as longs so promoting int to long keeps bucket values */
    *out = ice_hash_long((int32_t)fle32(col_get_fixed(c, i, 4)));
    return FLOE_OK;
  case COL_INT64:
  case COL_TIME:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ:
    *out = ice_hash_long((int64_t)fle64(col_get_fixed(c, i, 8)));
    return FLOE_OK;
  case COL_DECIMAL: {
    uint64_t lo;
    int64_t hi;
    dec_get(c, i, &lo, &hi);
    uint8_t be[16];
    int s = dec_min_be(lo, hi, be);
    *out = ice_hash_bytes(be + s, (size_t)(16 - s));
    return FLOE_OK;
  }
  case COL_UTF8:
  case COL_BINARY: {
    size_t n;
    const uint8_t *p = col_get_bytes(c, i, &n);
    *out = ice_hash_bytes(p, n);
    return FLOE_OK;
  }
  case COL_UUID:
    *out = ice_hash_bytes(col_get_fixed(c, i, 16), 16);
    return FLOE_OK;
  default:
    return ferr_set(err, FLOE_EINVAL, "bucket: cannot hash %s values",
                    col_type_name(c->type.id));
  }
}

/* ---- result types ---- */

/* Which transforms apply to which types is metadata.c's rule (specs are
 * checked when parsed); this adds the parameter check for transforms built
 * in code, and int16 -> int (Iceberg has no int16). */
floe_status ice_transform_result(const ice_transform *t, col_dtype src,
                                 col_dtype *out, floe_error *err) {
  FLOE_TRY(ice_transform_check(t, src, err));
  if ((t->kind == ICE_T_BUCKET || t->kind == ICE_T_TRUNCATE) && t->param <= 0)
    return ferr_set(err, FLOE_EINVAL, "transform \"%s\": parameter %d",
                    t->text ? t->text : "?", (int)t->param);
  col_dtype r = ice_transform_result_type(t, src);
  if (r.id == COL_INT16) r = (col_dtype){.id = COL_INT32};
  *out = r;
  return FLOE_OK;
}

/* ---- Appendix D serialization ---- */

static floe_status put_i32(fbuf *o, int32_t v, floe_error *err) {
  return fbuf_put_le32(o, (uint32_t)v, err);
}
static floe_status put_i64(fbuf *o, int64_t v, floe_error *err) {
  return fbuf_put_le64(o, (uint64_t)v, err);
}

floe_status ice_value_serialize(const col_column *c, int64_t i, fbuf *out,
                                floe_error *err) {
  switch (c->type.id) {
  case COL_BOOL: return fbuf_put_u8(out, col_get_bool(c, i) ? 1 : 0, err);
  case COL_INT16:
    return put_i32(out, *(const int16_t *)col_get_fixed(c, i, 2), err);
  case COL_INT32:
  case COL_DATE:
  case COL_FLOAT32: return fbuf_append(out, col_get_fixed(c, i, 4), 4, err);
  case COL_INT64:
  case COL_FLOAT64:
  case COL_TIME:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: return fbuf_append(out, col_get_fixed(c, i, 8), 8, err);
  case COL_UUID: return fbuf_append(out, col_get_fixed(c, i, 16), 16, err);
  case COL_DECIMAL: {
    uint64_t lo;
    int64_t hi;
    dec_get(c, i, &lo, &hi);
    return ice_decimal_to_be(lo, hi, out, err);
  }
  case COL_UTF8:
  case COL_BINARY: {
    size_t n;
    const uint8_t *p = col_get_bytes(c, i, &n);
    return fbuf_append(out, p, n, err);
  }
  default:
    return ferr_set(err, FLOE_EINVAL, "no single-value form for %s values",
                    col_type_name(c->type.id));
  }
}

/* ---- transforms ---- */

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Proleptic Gregorian year and month (1..12) of a day count since
 * 1970-01-01 (the days-from-civil inverse over 400-year eras, which keeps
 * negative days exact). */
static void civil_from_days(int64_t days, int64_t *y, int *m) {
  int64_t z = days + 719468; /* days since 0000-03-01 */
  int64_t era = floor_div(z, 146097);
  int64_t doe = z - era * 146097; /* [0, 146096] */
  int64_t yoe =
      (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);     /* [0, 365] */
  int64_t mp = (5 * doy + 2) / 153;                          /* March = 0 */
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

#define US_PER_HOUR INT64_C(3600000000)
#define US_PER_DAY INT64_C(86400000000)

/* Java narrows with (int): keep its wrap-around rather than UB. */
static int32_t narrow(int64_t v) { return (int32_t)(uint32_t)(uint64_t)v; }

static floe_status apply_time(const ice_transform *t, const col_column *c,
                              int64_t i, fbuf *o, floe_error *err) {
  int64_t days, hours = 0;
  if (c->type.id == COL_DATE) {
    days = (int32_t)fle32(col_get_fixed(c, i, 4));
  } else {
    int64_t us = (int64_t)fle64(col_get_fixed(c, i, 8));
    days = floor_div(us, US_PER_DAY);
    hours = floor_div(us, US_PER_HOUR);
  }
  int64_t y;
  int m;
  switch (t->kind) {
  case ICE_T_DAY: return put_i32(o, narrow(days), err);
  case ICE_T_HOUR: return put_i32(o, narrow(hours), err);
  case ICE_T_YEAR:
    civil_from_days(days, &y, &m);
    return put_i32(o, narrow(y - 1970), err);
  default: /* ICE_T_MONTH */
    civil_from_days(days, &y, &m);
    return put_i32(o, narrow((y - 1970) * 12 + (m - 1)), err);
  }
}

/* v - (((v % w) + w) % w), with Java's two's complement wrap at the ends */
static int64_t trunc_long(int64_t v, int64_t w) {
  int64_t r = ((v % w) + w) % w;
  return (int64_t)((uint64_t)v - (uint64_t)r);
}

static floe_status apply_truncate(const ice_transform *t, const col_column *c,
                                  int64_t i, fbuf *o, floe_error *err) {
  int64_t w = t->param;
  switch (c->type.id) {
  case COL_INT16:
    return put_i32(
        o, (int32_t)trunc_long(*(const int16_t *)col_get_fixed(c, i, 2), w),
        err);
  case COL_INT32:
    return put_i32(
        o, narrow(trunc_long((int32_t)fle32(col_get_fixed(c, i, 4)), w)), err);
  case COL_INT64:
    return put_i64(o, trunc_long((int64_t)fle64(col_get_fixed(c, i, 8)), w),
                   err);
  case COL_DECIMAL: {
    uint64_t lo;
    int64_t hi;
    dec_get(c, i, &lo, &hi);
    i128 v = dec_join(lo, hi);
    i128 r = ((v % w) + w) % w;
    u128 res = (u128)v - (u128)r;
    return ice_decimal_to_be((uint64_t)res, (int64_t)(uint64_t)(res >> 64), o,
                             err);
  }
  case COL_UTF8: {
    size_t n, pos = 0;
    const uint8_t *p = col_get_bytes(c, i, &n);
    /* keep the first w code points: count lead bytes (not 10xxxxxx) */
    int64_t cps = 0;
    while (pos < n) {
      if ((p[pos] & 0xC0) != 0x80 && cps++ == w) break;
      pos++;
    }
    return fbuf_append(o, p, pos, err);
  }
  case COL_BINARY: {
    size_t n;
    const uint8_t *p = col_get_bytes(c, i, &n);
    return fbuf_append(o, p, n < (size_t)w ? n : (size_t)w, err);
  }
  default:
    return ferr_set(err, FLOE_EINVAL, "truncate: unsupported %s",
                    col_type_name(c->type.id));
  }
}

floe_status ice_transform_apply(const ice_transform *t, const col_column *c,
                                int64_t i, ice_pvalue *out, floe_error *err) {
  col_dtype rt;
  FLOE_TRY(ice_transform_result(t, c->type, &rt, err));
  fbuf_reset(&out->bytes);
  out->is_null = !col_is_valid(c, i) || t->kind == ICE_T_VOID;
  if (out->is_null) return FLOE_OK;
  switch (t->kind) {
  case ICE_T_IDENTITY: return ice_value_serialize(c, i, &out->bytes, err);
  case ICE_T_BUCKET: {
    int32_t h;
    FLOE_TRY(ice_value_hash(c, i, &h, err));
    return put_i32(&out->bytes, (int32_t)((h & INT32_MAX) % t->param), err);
  }
  case ICE_T_TRUNCATE: return apply_truncate(t, c, i, &out->bytes, err);
  default: return apply_time(t, c, i, &out->bytes, err);
  }
}

/* ---- ordering ---- */

static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  size_t n = an < bn ? an : bn;
  int c = n ? memcmp(a, b, n) : 0;
  if (c) return c < 0 ? -1 : 1;
  return cmp_i64((int64_t)an, (int64_t)bn);
}

/* Sign-extended value of a big-endian two's complement of 1..16 bytes. */
static i128 be_to_i128(const uint8_t *p, size_t n) {
  u128 v = (n && (p[0] & 0x80)) ? ~(u128)0 : 0;
  for (size_t i = 0; i < n; i++) v = (v << 8) | p[i];
  return (i128)v;
}

static int cmp_double(double a, double b) {
  if (a < b) return -1;
  if (a > b) return 1;
  /* equal: order -0.0 before +0.0 */
  return (int)(signbit(b) != 0) - (int)(signbit(a) != 0);
}

int ice_value_cmp(col_dtype t, const uint8_t *a, size_t an, const uint8_t *b,
                  size_t bn) {
  size_t w = 0;
  switch (t.id) {
  case COL_BOOL: w = 1; break;
  case COL_INT16:
  case COL_INT32:
  case COL_DATE:
  case COL_FLOAT32: w = 4; break;
  case COL_INT64:
  case COL_FLOAT64:
  case COL_TIME:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: w = 8; break;
  case COL_DECIMAL:
    if (an < 1 || an > 16 || bn < 1 || bn > 16) break;
    {
      i128 x = be_to_i128(a, an), y = be_to_i128(b, bn);
      return (x > y) - (x < y);
    }
  default: return cmp_bytes(a, an, b, bn);
  }
  if (w == 0 || an != w || bn != w) return cmp_bytes(a, an, b, bn);
  switch (t.id) {
  case COL_BOOL: return cmp_i64(a[0] != 0, b[0] != 0);
  case COL_FLOAT32: {
    float x, y;
    memcpy(&x, a, 4);
    memcpy(&y, b, 4);
    return cmp_double(x, y);
  }
  case COL_FLOAT64: {
    double x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    return cmp_double(x, y);
  }
  default:
    if (w == 4) return cmp_i64((int32_t)fle32(a), (int32_t)fle32(b));
    return cmp_i64((int64_t)fle64(a), (int64_t)fle64(b));
  }
}

bool ice_value_is_nan(col_dtype t, const uint8_t *p, size_t n) {
  if (t.id == COL_FLOAT32 && n == 4) {
    float f;
    memcpy(&f, p, 4);
    return isnan(f);
  }
  if (t.id == COL_FLOAT64 && n == 8) {
    double d;
    memcpy(&d, p, 8);
    return isnan(d);
  }
  return false;
}
