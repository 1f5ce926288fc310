/* Parquet encodings for the writer (see encode.h). */
#include "parquet/encode.h"

#include <stdlib.h>
#include <string.h>

#include "util/hash.h"

/* ---- RLE / bit-packed hybrid ---- */

/* Packs 8 values of bw bits into exactly bw bytes, LSB first. The
 * accumulator never holds more than 7 + 32 bits. */
static inline void pack8(const uint32_t *v, int bw, uint8_t *o) {
  if (bw == 1) {
    *o = (uint8_t)((v[0] & 1) | (v[1] & 1) << 1 | (v[2] & 1) << 2 |
                   (v[3] & 1) << 3 | (v[4] & 1) << 4 | (v[5] & 1) << 5 |
                   (v[6] & 1) << 6 | (v[7] & 1) << 7);
    return;
  }
  uint64_t mask = bw == 32 ? 0xFFFFFFFFu : ((uint64_t)1 << bw) - 1;
  uint64_t acc = 0;
  int nb = 0;
  for (int k = 0; k < 8; k++) {
    acc |= ((uint64_t)v[k] & mask) << nb;
    nb += bw;
    while (nb >= 8) {
      *o++ = (uint8_t)acc;
      acc >>= 8;
      nb -= 8;
    }
  }
}

static floe_status put_varint_raw(fbuf *out, uint64_t v, floe_error *err) {
  return fbuf_put_uvarint(out, v, err);
}

floe_status pq_rle_encode_run(uint32_t value, size_t n, int bw, fbuf *out,
                              floe_error *err) {
  if (n == 0) return FLOE_OK;
  FLOE_TRY(put_varint_raw(out, (uint64_t)n << 1, err));
  int nbytes = (bw + 7) / 8;
  FLOE_TRY(fbuf_reserve(out, 4, err));
  for (int i = 0; i < nbytes; i++)
    out->data[out->len++] = (uint8_t)(value >> (8 * i));
  return FLOE_OK;
}

/* One bit-packed run holding v[0..n), zero-padded to a multiple of 8. The
 * values are widened to uint32 a group at a time so one packer serves every
 * source type. */
#define DEFINE_BITPACK(NAME, T)                                                \
  static floe_status NAME(const T *v, size_t n, int bw, fbuf *out,             \
                          floe_error *err) {                                   \
    if (n == 0) return FLOE_OK;                                                \
    size_t groups = (n + 7) / 8;                                               \
    FLOE_TRY(put_varint_raw(out, (uint64_t)groups << 1 | 1, err));             \
    FLOE_TRY(fbuf_reserve(out, groups *(size_t)bw, err));                      \
    uint8_t *o = out->data + out->len;                                         \
    uint32_t g[8];                                                             \
    size_t i = 0;                                                              \
    for (; i + 8 <= n; i += 8, o += bw) {                                      \
      for (int k = 0; k < 8; k++) g[k] = v[i + k];                             \
      pack8(g, bw, o);                                                         \
    }                                                                          \
    if (i < n) {                                                               \
      memset(g, 0, sizeof g);                                                  \
      for (size_t k = 0; i + k < n; k++) g[k] = v[i + k];                      \
      pack8(g, bw, o);                                                         \
    }                                                                          \
    out->len += groups * (size_t)bw;                                           \
    return FLOE_OK;                                                            \
  }

DEFINE_BITPACK(bitpack_u32, uint32_t)
DEFINE_BITPACK(bitpack_u8, uint8_t)

/* Pending values [lit, i) are bit-packed; a run of >= 8 equal values becomes
 * an RLE run once the pending values fill whole groups of 8 (the run lends
 * them up to 7 values to get there). */
#define DEFINE_RLE(NAME, T, BITPACK)                                           \
  floe_status NAME(const T *v, size_t n, int bw, fbuf *out, floe_error *err) { \
    size_t i = 0, lit = 0;                                                     \
    while (i < n) {                                                            \
      size_t j = i + 1;                                                        \
      while (j < n && v[j] == v[i]) j++;                                       \
      size_t run = j - i;                                                      \
      if (run >= 8) {                                                          \
        size_t pad = (8 - (i - lit) % 8) % 8;                                  \
        if (run - pad >= 8) {                                                  \
          FLOE_TRY(BITPACK(v + lit, i + pad - lit, bw, out, err));             \
          FLOE_TRY(pq_rle_encode_run(v[i], run - pad, bw, out, err));          \
          lit = j;                                                             \
        }                                                                      \
      }                                                                        \
      i = j;                                                                   \
    }                                                                          \
    return BITPACK(v + lit, n - lit, bw, out, err);                            \
  }

DEFINE_RLE(pq_rle_encode_u32, uint32_t, bitpack_u32)
DEFINE_RLE(pq_rle_encode_u8, uint8_t, bitpack_u8)

/* ---- booleans and bitmaps ---- */

int64_t pq_count_bits(const uint8_t *bm, int64_t from, int64_t to) {
  int64_t n = 0, i = from;
  for (; i < to && (i & 7); i++) n += (bm[i >> 3] >> (i & 7)) & 1;
  for (; i + 64 <= to; i += 64) {
    uint64_t w;
    memcpy(&w, bm + (i >> 3), 8);
    n += __builtin_popcountll(w);
  }
  for (; i + 8 <= to; i += 8) n += __builtin_popcount(bm[i >> 3]);
  for (; i < to; i++) n += (bm[i >> 3] >> (i & 7)) & 1;
  return n;
}

floe_status pq_plain_bools(const uint8_t *bits, const uint8_t *validity,
                           int64_t from, int64_t to, fbuf *out,
                           floe_error *err) {
  size_t maxbytes = (size_t)(to - from + 7) / 8;
  FLOE_TRY(fbuf_reserve(out, maxbytes, err));
  uint8_t *o = out->data + out->len;
  if (!validity && (from & 7) == 0) {
    /* aligned and no nulls: the Arrow bitmap is already the encoding */
    memcpy(o, bits + (from >> 3), maxbytes);
    int tail = (int)((to - from) & 7);
    if (tail) o[maxbytes - 1] &= (uint8_t)((1u << tail) - 1);
    out->len += maxbytes;
    return FLOE_OK;
  }
  uint8_t acc = 0;
  int nb = 0;
  size_t len = 0;
  for (int64_t i = from; i < to; i++) {
    if (validity && !((validity[i >> 3] >> (i & 7)) & 1)) continue;
    acc |= (uint8_t)(((bits[i >> 3] >> (i & 7)) & 1) << nb);
    if (++nb == 8) {
      o[len++] = acc;
      acc = 0;
      nb = 0;
    }
  }
  if (nb) o[len++] = acc;
  out->len += len;
  return FLOE_OK;
}

/* ---- dictionary ---- */

#define DICT_MIN_SLOTS 1024u
/* Past this many values, a dictionary whose entries are more than 3/4 of the
 * values seen is abandoned: it would not pay for itself, and hashing the rest
 * of a high-cardinality column is wasted time. */
#define DICT_PROBE_VALUES 65536u

void pq_dict_init(pq_dict *d) { memset(d, 0, sizeof *d); }

void pq_dict_free(pq_dict *d) {
  free(d->slot_idx);
  free(d->slot_key);
  fbuf_free(&d->page);
  fbuf_free(&d->offs);
  memset(d, 0, sizeof *d);
}

static floe_status dict_alloc_slots(pq_dict *d, uint32_t nslots,
                                    floe_error *err) {
  uint32_t *si = calloc(nslots, sizeof *si);
  uint64_t *sk = malloc((size_t)nslots * sizeof *sk);
  if (!si || !sk) {
    free(si);
    free(sk);
    return ferr_nomem(err, (size_t)nslots * 12);
  }
  free(d->slot_idx);
  free(d->slot_key);
  d->slot_idx = si;
  d->slot_key = sk;
  d->mask = nslots - 1;
  return FLOE_OK;
}

void pq_dict_reset(pq_dict *d, int width, size_t max_bytes) {
  d->width = width;
  d->count = 0;
  d->max_bytes = max_bytes;
  fbuf_reset(&d->page);
  fbuf_reset(&d->offs);
  if (d->slot_idx) memset(d->slot_idx, 0, ((size_t)d->mask + 1) * 4);
}

static inline uint64_t key_hash(const pq_dict *d, uint64_t key) {
  (void)d;
  return fhash_u64(key);
}

/* Doubles the table; every entry is re-placed by its stored key or hash. */
static floe_status dict_grow(pq_dict *d, floe_error *err) {
  uint32_t old_n = d->mask + 1;
  uint32_t *oi = d->slot_idx;
  uint64_t *ok = d->slot_key;
  d->slot_idx = NULL;
  d->slot_key = NULL;
  floe_status st = dict_alloc_slots(d, old_n * 2, err);
  if (st) {
    d->slot_idx = oi;
    d->slot_key = ok;
    d->mask = old_n - 1;
    return st;
  }
  bool inline_key = d->width == 4 || d->width == 8;
  for (uint32_t s = 0; s < old_n; s++) {
    if (!oi[s]) continue;
    uint64_t h = inline_key ? key_hash(d, ok[s]) : ok[s];
    uint32_t p = (uint32_t)h & d->mask;
    while (d->slot_idx[p]) p = (p + 1) & d->mask;
    d->slot_idx[p] = oi[s];
    d->slot_key[p] = ok[s];
  }
  free(oi);
  free(ok);
  return FLOE_OK;
}

static floe_status dict_prepare(pq_dict *d, floe_error *err) {
  if (!d->slot_idx) return dict_alloc_slots(d, DICT_MIN_SLOTS, err);
  return FLOE_OK;
}

/* Looks a 4- or 8-byte key up, inserting it when new. Returns the entry
 * index, or UINT32_MAX when the dictionary is full. */
static inline uint32_t dict_put_inline(pq_dict *d, uint64_t key,
                                       const uint8_t *plain, int width,
                                       floe_status *st, floe_error *err) {
  uint32_t p = (uint32_t)key_hash(d, key) & d->mask;
  for (;;) {
    uint32_t e = d->slot_idx[p];
    if (!e) break;
    if (d->slot_key[p] == key) return e - 1;
    p = (p + 1) & d->mask;
  }
  if (d->page.len + (size_t)width > d->max_bytes) return UINT32_MAX;
  if ((*st = fbuf_append(&d->page, plain, (size_t)width, err))) return 0;
  d->slot_idx[p] = ++d->count;
  d->slot_key[p] = key;
  if ((uint64_t)d->count * 2 > d->mask && (*st = dict_grow(d, err))) return 0;
  return d->count - 1;
}

static inline bool dict_gave_up(const pq_dict *d, size_t seen) {
  return seen >= DICT_PROBE_VALUES &&
         (uint64_t)d->count * 4 > (uint64_t)seen * 3;
}

floe_status pq_dict_add_fixed(pq_dict *d, const uint8_t *vals, size_t n,
                              uint32_t *idx, bool *full, floe_error *err) {
  *full = false;
  FLOE_TRY(dict_prepare(d, err));
  floe_status st = FLOE_OK;
  int w = d->width;
  if (w == 4 || w == 8) {
    for (size_t i = 0; i < n; i++) {
      const uint8_t *p = vals + i * (size_t)w;
      uint64_t key = w == 4 ? (uint64_t)fle32(p) : fle64(p);
      uint32_t e = dict_put_inline(d, key, p, w, &st, err);
      if (st) return st;
      if (e == UINT32_MAX || dict_gave_up(d, i + 1)) {
        *full = true;
        return FLOE_OK;
      }
      idx[i] = e;
    }
    return FLOE_OK;
  }
  for (size_t i = 0; i < n; i++) {
    const uint8_t *v = vals + i * (size_t)w;
    uint64_t h = fhash64(v, (size_t)w);
    uint32_t p = (uint32_t)h & d->mask, e;
    for (;;) {
      e = d->slot_idx[p];
      if (!e || (d->slot_key[p] == h &&
                 memcmp(d->page.data + (size_t)(e - 1) * (size_t)w, v,
                        (size_t)w) == 0))
        break;
      p = (p + 1) & d->mask;
    }
    if (!e) {
      if (d->page.len + (size_t)w > d->max_bytes || dict_gave_up(d, i + 1)) {
        *full = true;
        return FLOE_OK;
      }
      FLOE_TRY(fbuf_append(&d->page, v, (size_t)w, err));
      e = d->slot_idx[p] = ++d->count;
      d->slot_key[p] = h;
      if ((uint64_t)d->count * 2 > d->mask) FLOE_TRY(dict_grow(d, err));
    }
    idx[i] = e - 1;
  }
  return FLOE_OK;
}

floe_status pq_dict_add_bytes(pq_dict *d, const col_column *c, int64_t from,
                              int64_t to, uint32_t *idx, bool *full,
                              floe_error *err) {
  *full = false;
  FLOE_TRY(dict_prepare(d, err));
  const int32_t *off = col_offsets(c);
  const uint8_t *data = c->values.data;
  const uint8_t *valid = c->null_count ? c->validity.data : NULL;
  size_t k = 0;
  for (int64_t r = from; r < to; r++) {
    if (valid && !((valid[r >> 3] >> (r & 7)) & 1)) continue;
    /* a column of only empty values may have no buffer: NULL + 0 is UB */
    const uint8_t *v = data ? data + off[r] : (const uint8_t *)"";
    uint32_t n = (uint32_t)(off[r + 1] - off[r]);
    uint64_t h = fhash64(v, n);
    uint32_t p = (uint32_t)h & d->mask, e;
    for (;;) {
      e = d->slot_idx[p];
      if (!e) break;
      if (d->slot_key[p] == h) {
        uint32_t eo = ((const uint32_t *)(const void *)d->offs.data)[e - 1];
        if (fle32(d->page.data + eo - 4) == n &&
            memcmp(d->page.data + eo, v, n) == 0)
          break;
      }
      p = (p + 1) & d->mask;
    }
    if (!e) {
      if (d->page.len + 4 + (size_t)n > d->max_bytes ||
          dict_gave_up(d, k + 1)) {
        *full = true;
        return FLOE_OK;
      }
      FLOE_TRY(fbuf_put_le32(&d->page, n, err));
      FLOE_TRY(fbuf_put_le32(&d->offs, (uint32_t)d->page.len, err));
      FLOE_TRY(fbuf_append(&d->page, v, n, err));
      e = d->slot_idx[p] = ++d->count;
      d->slot_key[p] = h;
      if ((uint64_t)d->count * 2 > d->mask) FLOE_TRY(dict_grow(d, err));
    }
    idx[k++] = e - 1;
  }
  return FLOE_OK;
}
