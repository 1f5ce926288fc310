/* Column statistics and Iceberg bounds (see stats.h). */
#include "parquet/stats.h"

#include <math.h>
#include <string.h>

void pq_stats_init(pq_stats *s, pq_stat_kind kind) {
  memset(s, 0, sizeof *s);
  s->kind = kind;
}

void pq_stats_reset(pq_stats *s) {
  s->has_minmax = false;
  s->null_count = s->nan_count = 0;
  fbuf_reset(&s->min);
  fbuf_reset(&s->max);
}

void pq_stats_free(pq_stats *s) {
  fbuf_free(&s->min);
  fbuf_free(&s->max);
}

static int cmp_dec_be(const uint8_t *a, const uint8_t *b, size_t n) {
  if (n == 0) return 0;
  /* the first byte carries the sign; the rest order as unsigned bytes */
  if (a[0] != b[0]) return (int8_t)a[0] < (int8_t)b[0] ? -1 : 1;
  return memcmp(a + 1, b + 1, n - 1);
}

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  size_t m = an < bn ? an : bn;
  int c = m ? memcmp(a, b, m) : 0; /* an empty value may have a NULL pointer */
  if (c) return c;
  return an < bn ? -1 : an > bn;
}

int pq_stats_cmp(pq_stat_kind kind, const uint8_t *a, size_t an,
                 const uint8_t *b, size_t bn) {
  switch (kind) {
  case PQS_BOOL: return (int)(a[0] != 0) - (int)(b[0] != 0);
  case PQS_I32: {
    int32_t x = (int32_t)fle32(a), y = (int32_t)fle32(b);
    return (x > y) - (x < y);
  }
  case PQS_I64: {
    int64_t x = (int64_t)fle64(a), y = (int64_t)fle64(b);
    return (x > y) - (x < y);
  }
  case PQS_F32: {
    float x, y;
    memcpy(&x, a, 4);
    memcpy(&y, b, 4);
    return (x > y) - (x < y);
  }
  case PQS_F64: {
    double x, y;
    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    return (x > y) - (x < y);
  }
  case PQS_BYTES: return cmp_bytes(a, an, b, bn);
  case PQS_DEC_BE: return cmp_dec_be(a, b, an < bn ? an : bn);
  }
  return 0;
}

static floe_status set_buf(fbuf *b, const void *p, size_t n, floe_error *err) {
  fbuf_reset(b);
  return fbuf_append(b, p, n, err);
}

/* Offers a candidate min and max (PLAIN form) to s. */
static floe_status offer(pq_stats *s, const uint8_t *mn, size_t mnl,
                         const uint8_t *mx, size_t mxl, floe_error *err) {
  if (!s->has_minmax) {
    FLOE_TRY(set_buf(&s->min, mn, mnl, err));
    FLOE_TRY(set_buf(&s->max, mx, mxl, err));
    s->has_minmax = true;
    return FLOE_OK;
  }
  if (pq_stats_cmp(s->kind, mn, mnl, s->min.data, s->min.len) < 0)
    FLOE_TRY(set_buf(&s->min, mn, mnl, err));
  if (pq_stats_cmp(s->kind, mx, mxl, s->max.data, s->max.len) > 0)
    FLOE_TRY(set_buf(&s->max, mx, mxl, err));
  return FLOE_OK;
}

/* Typed scans: one tight loop per kind, offering the result once. */
#define SCAN_INT(T, LOAD)                                                      \
  do {                                                                         \
    T mn = (T)LOAD(plain), mx = mn;                                            \
    for (size_t i = 1; i < n; i++) {                                           \
      T v = (T)LOAD(plain + i * sizeof(T));                                    \
      mn = v < mn ? v : mn;                                                    \
      mx = v > mx ? v : mx;                                                    \
    }                                                                          \
    return offer(s, (const uint8_t *)&mn, sizeof mn, (const uint8_t *)&mx,     \
                 sizeof mx, err);                                              \
  } while (0)

#define SCAN_FLOAT(T)                                                          \
  do {                                                                         \
    T mn = 0, mx = 0;                                                          \
    bool any = false;                                                          \
    int64_t nans = 0;                                                          \
    for (size_t i = 0; i < n; i++) {                                           \
      T v;                                                                     \
      memcpy(&v, plain + i * sizeof(T), sizeof(T));                            \
      if (isnan(v)) {                                                          \
        nans++;                                                                \
        continue;                                                              \
      }                                                                        \
      if (!any) {                                                              \
        mn = mx = v;                                                           \
        any = true;                                                            \
      }                                                                        \
      mn = v < mn ? v : mn;                                                    \
      mx = v > mx ? v : mx;                                                    \
    }                                                                          \
    s->nan_count += nans;                                                      \
    if (!any) return FLOE_OK;                                                  \
    if (mn == 0) mn = -(T)0.0;                                                 \
    if (mx == 0) mx = (T)0.0;                                                  \
    return offer(s, (const uint8_t *)&mn, sizeof mn, (const uint8_t *)&mx,     \
                 sizeof mx, err);                                              \
  } while (0)

static inline uint64_t ld32(const uint8_t *p) { return fle32(p); }
static inline uint64_t ld64(const uint8_t *p) { return fle64(p); }

floe_status pq_stats_add_fixed(pq_stats *s, const uint8_t *plain, size_t n,
                               int width, floe_error *err) {
  if (n == 0) return FLOE_OK;
  switch (s->kind) {
  case PQS_I32: SCAN_INT(int32_t, ld32);
  case PQS_I64: SCAN_INT(int64_t, ld64);
  case PQS_F32: SCAN_FLOAT(float);
  case PQS_F64: SCAN_FLOAT(double);
  case PQS_BYTES:
  case PQS_DEC_BE: {
    size_t w = (size_t)width;
    const uint8_t *mn = plain, *mx = plain;
    for (size_t i = 1; i < n; i++) {
      const uint8_t *v = plain + i * w;
      if (pq_stats_cmp(s->kind, v, w, mn, w) < 0) mn = v;
      if (pq_stats_cmp(s->kind, v, w, mx, w) > 0) mx = v;
    }
    return offer(s, mn, w, mx, w, err);
  }
  case PQS_BOOL: break;
  }
  return ferr_set(err, FLOE_EINVAL, "stats: fixed values for kind %d",
                  (int)s->kind);
}

floe_status pq_stats_add_bools(pq_stats *s, const col_column *c, int64_t from,
                               int64_t to, floe_error *err) {
  bool seen[2] = {false, false};
  const uint8_t *valid = c->null_count ? c->validity.data : NULL;
  for (int64_t i = from; i < to && !(seen[0] && seen[1]); i++) {
    if (valid && !((valid[i >> 3] >> (i & 7)) & 1)) continue;
    seen[(c->values.data[i >> 3] >> (i & 7)) & 1] = true;
  }
  if (!seen[0] && !seen[1]) return FLOE_OK;
  uint8_t mn = seen[0] ? 0 : 1, mx = seen[1] ? 1 : 0;
  return offer(s, &mn, 1, &mx, 1, err);
}

floe_status pq_stats_add_bytes(pq_stats *s, const col_column *c, int64_t from,
                               int64_t to, floe_error *err) {
  const int32_t *off = col_offsets(c);
  const uint8_t *data = c->values.data;
  const uint8_t *valid = c->null_count ? c->validity.data : NULL;
  const uint8_t *mn = NULL, *mx = NULL;
  size_t mnl = 0, mxl = 0;
  for (int64_t i = from; i < to; i++) {
    if (valid && !((valid[i >> 3] >> (i & 7)) & 1)) continue;
    /* a column of only empty values may have no buffer: NULL + 0 is UB */
    const uint8_t *v = data ? data + off[i] : (const uint8_t *)"";
    size_t n = (size_t)(off[i + 1] - off[i]);
    if (!mn) {
      mn = mx = v;
      mnl = mxl = n;
      continue;
    }
    if (cmp_bytes(v, n, mn, mnl) < 0) {
      mn = v;
      mnl = n;
    } else if (cmp_bytes(v, n, mx, mxl) > 0) {
      mx = v;
      mxl = n;
    }
  }
  if (!mn) return FLOE_OK;
  return offer(s, mn, mnl, mx, mxl, err);
}

floe_status pq_stats_merge(pq_stats *into, const pq_stats *from,
                           floe_error *err) {
  into->null_count += from->null_count;
  into->nan_count += from->nan_count;
  if (!from->has_minmax) return FLOE_OK;
  return offer(into, from->min.data, from->min.len, from->max.data,
               from->max.len, err);
}

/* ---- Iceberg bounds ---- */

#define TRUNC_LEN 16

/* Appends the 16-byte big-endian two's complement be[] with redundant
 * leading sign bytes dropped (Java's BigInteger.toByteArray form). */
static floe_status put_min_be(const uint8_t be[16], fbuf *out,
                              floe_error *err) {
  int i = 0;
  while (i < 15 && ((be[i] == 0x00 && !(be[i + 1] & 0x80)) ||
                    (be[i] == 0xFF && (be[i + 1] & 0x80))))
    i++;
  return fbuf_append(out, be + i, (size_t)(16 - i), err);
}

static floe_status decimal_bound(col_dtype t, const uint8_t *v, size_t n,
                                 fbuf *out, floe_error *err) {
  uint8_t be[16];
  if (t.precision <= 18) {
    int64_t x = n == 4 ? (int64_t)(int32_t)fle32(v) : (int64_t)fle64(v);
    uint8_t fill = x < 0 ? 0xFF : 0x00;
    memset(be, fill, 8);
    for (int i = 0; i < 8; i++) be[15 - i] = (uint8_t)((uint64_t)x >> (8 * i));
  } else {
    if (n == 0 || n > 16)
      return ferr_set(err, FLOE_EINVAL, "decimal bound of %zu bytes", n);
    memset(be, (v[0] & 0x80) ? 0xFF : 0x00, 16 - n);
    memcpy(be + 16 - n, v, n);
  }
  return put_min_be(be, out, err);
}

/* Length of the UTF-8 sequence starting with byte b (1 for stray bytes, so
 * malformed input still advances). */
static size_t utf8_len(uint8_t b) {
  if (b < 0xC0) return 1;
  if (b < 0xE0) return 2;
  if (b < 0xF0) return 3;
  return 4;
}

static uint32_t utf8_decode(const uint8_t *p, size_t n) {
  switch (n) {
  case 2: return (uint32_t)(p[0] & 0x1F) << 6 | (p[1] & 0x3F);
  case 3:
    return (uint32_t)(p[0] & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 |
           (p[2] & 0x3F);
  case 4:
    return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 |
           (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
  default: return p[0];
  }
}

static size_t utf8_encode(uint32_t cp, uint8_t *o) {
  if (cp < 0x80) {
    o[0] = (uint8_t)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (uint8_t)(0xC0 | cp >> 6);
    o[1] = (uint8_t)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (uint8_t)(0xE0 | cp >> 12);
    o[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (uint8_t)(0xF0 | cp >> 18);
  o[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
  o[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
  o[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

static floe_status string_bound(bool upper, const uint8_t *v, size_t n,
                                fbuf *out, bool *ok, floe_error *err) {
  /* byte offset of each of the first TRUNC_LEN code points */
  size_t starts[TRUNC_LEN + 1];
  size_t pos = 0;
  int cps = 0;
  while (pos < n && cps < TRUNC_LEN) {
    starts[cps++] = pos;
    size_t l = utf8_len(v[pos]);
    pos += l > n - pos ? n - pos : l;
  }
  if (pos >= n) return fbuf_append(out, v, n, err); /* not truncated */
  if (!upper) return fbuf_append(out, v, pos, err);
  starts[cps] = pos;
  for (int i = cps - 1; i >= 0; i--) {
    size_t l = starts[i + 1] - starts[i];
    if (l != utf8_len(v[starts[i]])) continue; /* malformed: skip */
    uint32_t cp = utf8_decode(v + starts[i], l) + 1;
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xE000; /* skip surrogates */
    if (cp > 0x10FFFF) continue;
    uint8_t enc[4];
    size_t el = utf8_encode(cp, enc);
    FLOE_TRY(fbuf_append(out, v, starts[i], err));
    return fbuf_append(out, enc, el, err);
  }
  *ok = false;
  return FLOE_OK;
}

static floe_status binary_bound(bool upper, const uint8_t *v, size_t n,
                                fbuf *out, bool *ok, floe_error *err) {
  if (n <= TRUNC_LEN) return fbuf_append(out, v, n, err);
  if (!upper) return fbuf_append(out, v, TRUNC_LEN, err);
  for (int i = TRUNC_LEN - 1; i >= 0; i--) {
    if (v[i] == 0xFF) continue;
    size_t start = out->len;
    FLOE_TRY(fbuf_append(out, v, (size_t)i + 1, err));
    out->data[start + (size_t)i]++;
    return FLOE_OK;
  }
  *ok = false;
  return FLOE_OK;
}

floe_status pq_iceberg_bound(col_dtype t, bool upper, const uint8_t *v,
                             size_t n, fbuf *out, bool *ok, floe_error *err) {
  *ok = true;
  switch (t.id) {
  case COL_BOOL: return fbuf_put_u8(out, v[0] ? 1 : 0, err);
  case COL_DECIMAL: return decimal_bound(t, v, n, out, err);
  case COL_UTF8: return string_bound(upper, v, n, out, ok, err);
  case COL_BINARY: return binary_bound(upper, v, n, out, ok, err);
  default:
    /* int16 is an Iceberg int (4 bytes LE), which is also its INT32 PLAIN
     * form; ints, floats, dates, times, timestamps and uuids (big-endian)
     * serialize exactly as their PLAIN form */
    return fbuf_append(out, v, n, err);
  }
}
