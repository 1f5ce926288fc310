/* Page value and level decoders (Encodings.md). */
#include "parquet/decode.h"

#include <string.h>

/* bw (0..64) bits LSB-first at bit position bit of p[0..nbytes); the caller
 * guarantees bit + bw <= 8 * nbytes. */
static inline uint64_t get_bits(const uint8_t *p, size_t nbytes, uint64_t bit,
                                int bw) {
  if (bw == 0) return 0;
  size_t byte = (size_t)(bit >> 3);
  int sh = (int)(bit & 7);
  uint64_t v = 0;
  if (byte + 8 <= nbytes) {
    memcpy(&v, p + byte, 8);
  } else {
    for (size_t i = 0; i < 8 && byte + i < nbytes; i++)
      v |= (uint64_t)p[byte + i] << (8 * i);
  }
  v >>= sh;
  if (sh + bw > 64) v |= (uint64_t)p[byte + 8] << (64 - sh);
  if (bw < 64) v &= ((uint64_t)1 << bw) - 1;
  return v;
}

/* uvarint from p[*pos..len) */
static floe_status uvarint(const uint8_t *p, size_t len, size_t *pos,
                           uint64_t *out, floe_error *err) {
  fcur c = fcur_make(p, len, "varint", 0);
  c.pos = *pos;
  floe_status st = fcur_uvarint(&c, out, NULL);
  if (st != FLOE_OK) return ferr_corrupt(err, "bad or truncated varint");
  *pos = c.pos;
  return FLOE_OK;
}

/* ---- RLE / bit-packed hybrid ---- */

void pq_rle_init(pq_rle *r, const uint8_t *p, size_t len, int bw) {
  memset(r, 0, sizeof *r);
  r->p = p;
  r->len = len;
  r->bw = bw;
}

void pq_bitpacked_init(pq_rle *r, const uint8_t *p, size_t len, int bw,
                       uint32_t n) {
  pq_rle_init(r, p, len, bw);
  r->msb = true;
  r->packed = true;
  r->left = n;
  r->run = p;
  r->run_bytes = len;
}

static floe_status rle_next_run(pq_rle *r, floe_error *err) {
  if (r->msb) return ferr_corrupt(err, "bit-packed levels end early");
  if (r->pos >= r->len)
    return ferr_corrupt(err, "RLE/bit-packed data ends before its values");
  uint64_t h;
  FLOE_TRY(uvarint(r->p, r->len, &r->pos, &h, err));
  uint64_t n = h >> 1;
  if (h & 1) {
    if (n > UINT32_MAX / 8)
      return ferr_corrupt(err, "bit-packed run of %llu groups is too long",
                          (unsigned long long)n);
    size_t bytes = (size_t)n * (size_t)r->bw;
    size_t avail = r->len - r->pos;
    uint64_t count = n * 8;
    /* the last run may be cut short by writers: keep the whole values */
    if (bytes > avail) {
      bytes = avail;
      count = r->bw ? (uint64_t)avail * 8 / (uint64_t)r->bw : count;
    }
    r->packed = true;
    r->run = r->p + r->pos;
    r->run_bytes = bytes;
    r->bit = 0;
    r->left = (uint32_t)count;
    r->pos += bytes;
  } else {
    if (n > UINT32_MAX) return ferr_corrupt(err, "RLE run too long");
    size_t vb = ((size_t)r->bw + 7) / 8;
    if (vb > r->len - r->pos)
      return ferr_corrupt(err, "RLE run value past the end of the data");
    uint32_t v = 0;
    for (size_t i = 0; i < vb; i++) v |= (uint32_t)r->p[r->pos + i] << (8 * i);
    r->pos += vb;
    if (r->bw < 32 && (v >> r->bw) != 0)
      return ferr_corrupt(err, "RLE run value %u wider than %d bits", v, r->bw);
    r->packed = false;
    r->value = v;
    r->left = (uint32_t)n;
  }
  return FLOE_OK;
}

floe_status pq_rle_get(pq_rle *r, uint32_t *out, size_t n, uint32_t max,
                       floe_error *err) {
  while (n) {
    if (r->left == 0) {
      FLOE_TRY(rle_next_run(r, err));
      continue;
    }
    size_t m = r->left < n ? r->left : n;
    if (!r->packed) {
      if (r->value > max)
        return ferr_corrupt(err, "value %u exceeds the maximum %u", r->value,
                            max);
      for (size_t i = 0; i < m; i++) out[i] = r->value;
    } else if (!r->msb) {
      for (size_t i = 0; i < m; i++) {
        uint32_t v = (uint32_t)get_bits(r->run, r->run_bytes, r->bit, r->bw);
        r->bit += (uint64_t)r->bw;
        if (v > max)
          return ferr_corrupt(err, "value %u exceeds the maximum %u", v, max);
        out[i] = v;
      }
    } else {
      for (size_t i = 0; i < m; i++) {
        uint32_t v = 0;
        for (int b = 0; b < r->bw; b++, r->bit++) {
          size_t byte = (size_t)(r->bit >> 3);
          if (byte >= r->run_bytes)
            return ferr_corrupt(err, "bit-packed levels end early");
          v = (v << 1) | ((r->run[byte] >> (7 - (r->bit & 7))) & 1);
        }
        if (v > max)
          return ferr_corrupt(err, "value %u exceeds the maximum %u", v, max);
        out[i] = v;
      }
    }
    r->left -= (uint32_t)m;
    out += m;
    n -= m;
  }
  return FLOE_OK;
}

/* ---- PLAIN ---- */

floe_status pq_plain_fixed(fcur *c, int width, size_t n, void *out,
                           floe_error *err) {
  size_t bytes = n * (size_t)width;
  if (bytes > fcur_left(c))
    return ferr_corrupt(err, "PLAIN values end early (%zu of %zu bytes)",
                        fcur_left(c), bytes);
  memcpy(out, c->p + c->pos, bytes);
  c->pos += bytes;
  return FLOE_OK;
}

floe_status pq_plain_bool(fcur *c, uint64_t *bit, size_t n, uint8_t *out,
                          floe_error *err) {
  if (n > (uint64_t)c->len * 8 - *bit)
    return ferr_corrupt(err, "PLAIN booleans end early");
  for (size_t i = 0; i < n; i++, (*bit)++)
    out[i] = (c->p[*bit >> 3] >> (*bit & 7)) & 1;
  c->pos = (size_t)((*bit + 7) >> 3);
  return FLOE_OK;
}

floe_status pq_plain_bytes(fcur *c, size_t n, pq_slice *out, floe_error *err) {
  for (size_t i = 0; i < n; i++) {
    if (fcur_left(c) < 4)
      return ferr_corrupt(err, "PLAIN byte array length past the end");
    uint32_t len = fle32(c->p + c->pos);
    c->pos += 4;
    if (len > fcur_left(c))
      return ferr_corrupt(err, "PLAIN byte array of %u bytes, only %zu left",
                          len, fcur_left(c));
    out[i].p = c->p + c->pos;
    out[i].n = len;
    c->pos += len;
  }
  return FLOE_OK;
}

floe_status pq_plain_flba(fcur *c, size_t n, uint32_t len, pq_slice *out,
                          floe_error *err) {
  if (len && n > fcur_left(c) / len)
    return ferr_corrupt(err, "PLAIN fixed-length values end early");
  for (size_t i = 0; i < n; i++) {
    out[i].p = c->p + c->pos;
    out[i].n = len;
    c->pos += len;
  }
  return FLOE_OK;
}

/* ---- DELTA_BINARY_PACKED ---- */

floe_status pq_delta_init(pq_delta *d, const uint8_t *p, size_t len, bool is32,
                          uint64_t max_total, floe_error *err) {
  memset(d, 0, sizeof *d);
  d->p = p;
  d->len = len;
  d->is32 = is32;
  uint64_t first;
  FLOE_TRY(uvarint(p, len, &d->pos, &d->block_size, err));
  FLOE_TRY(uvarint(p, len, &d->pos, &d->nmini, err));
  FLOE_TRY(uvarint(p, len, &d->pos, &d->total, err));
  FLOE_TRY(uvarint(p, len, &d->pos, &first, err));
  if (d->block_size == 0 || d->block_size % 128 || d->block_size > (1u << 20))
    return ferr_corrupt(err, "DELTA_BINARY_PACKED block size %llu",
                        (unsigned long long)d->block_size);
  if (d->nmini == 0 || d->block_size % d->nmini ||
      (d->block_size / d->nmini) % 32)
    return ferr_corrupt(err, "DELTA_BINARY_PACKED has %llu miniblocks",
                        (unsigned long long)d->nmini);
  if (d->total > max_total)
    return ferr_corrupt(
        err, "DELTA_BINARY_PACKED holds %llu values, the page %llu",
        (unsigned long long)d->total, (unsigned long long)max_total);
  d->per_mini = d->block_size / d->nmini;
  d->last = (uint64_t)funzigzag(first);
  return FLOE_OK;
}

static floe_status delta_load_mini(pq_delta *d, floe_error *err) {
  int bw = d->widths[d->mini];
  /* The spec caps INT32 deltas at 32 bits, but DuckDB (1.5) packs them in
   * up to 33 when values span the whole int32 range (PARQUET-2435): accept
   * up to 64 and wrap the sum to 32 bits in pq_delta_get. */
  if (bw > 64) return ferr_corrupt(err, "DELTA_BINARY_PACKED bit width %d", bw);
  size_t bytes = (size_t)(d->per_mini * (uint64_t)bw / 8);
  if (bytes > d->len - d->pos)
    return ferr_corrupt(err, "DELTA_BINARY_PACKED miniblock past the end");
  d->mbw = bw;
  d->mp = d->p + d->pos;
  d->mbytes = bytes;
  d->pos += bytes;
  d->in_mini = 0;
  return FLOE_OK;
}

static floe_status delta_begin_block(pq_delta *d, floe_error *err) {
  uint64_t md;
  FLOE_TRY(uvarint(d->p, d->len, &d->pos, &md, err));
  d->min_delta = (uint64_t)funzigzag(md);
  if (d->nmini > d->len - d->pos)
    return ferr_corrupt(err, "DELTA_BINARY_PACKED bit widths past the end");
  d->widths = d->p + d->pos;
  d->pos += (size_t)d->nmini;
  d->mini = 0;
  d->in_block = true;
  return delta_load_mini(d, err);
}

floe_status pq_delta_get(pq_delta *d, int64_t *out, size_t n, floe_error *err) {
  for (size_t i = 0; i < n; i++) {
    if (d->done >= d->total)
      return ferr_corrupt(err, "DELTA_BINARY_PACKED holds only %llu values",
                          (unsigned long long)d->total);
    if (d->done > 0) {
      if (!d->in_block) {
        FLOE_TRY(delta_begin_block(d, err));
      } else if (d->in_mini == d->per_mini) {
        if (++d->mini == d->nmini)
          FLOE_TRY(delta_begin_block(d, err));
        else
          FLOE_TRY(delta_load_mini(d, err));
      }
      uint64_t v =
          get_bits(d->mp, d->mbytes, d->in_mini * (uint64_t)d->mbw, d->mbw);
      d->in_mini++;
      d->last += d->min_delta + v;
      if (d->is32) d->last = (uint64_t)(int64_t)(int32_t)(uint32_t)d->last;
    } else if (d->is32) {
      d->last = (uint64_t)(int64_t)(int32_t)(uint32_t)d->last;
    }
    out[i] = (int64_t)d->last;
    d->done++;
  }
  return FLOE_OK;
}

floe_status pq_delta_end(const pq_delta *d, size_t *end, floe_error *err) {
  pq_delta c = *d;
  int64_t tmp[256];
  while (c.done < c.total) {
    uint64_t m = c.total - c.done;
    if (m > 256) m = 256;
    FLOE_TRY(pq_delta_get(&c, tmp, (size_t)m, err));
  }
  *end = c.pos;
  return FLOE_OK;
}

/* ---- DELTA_LENGTH_BYTE_ARRAY ---- */

floe_status pq_dlba_init(pq_dlba *d, const uint8_t *p, size_t len,
                         uint64_t max_total, floe_error *err) {
  memset(d, 0, sizeof *d);
  FLOE_TRY(pq_delta_init(&d->lens, p, len, true, max_total, err));
  size_t end;
  FLOE_TRY(pq_delta_end(&d->lens, &end, err));
  d->data = p + end;
  d->len = len - end;
  return FLOE_OK;
}

floe_status pq_dlba_get(pq_dlba *d, pq_slice *out, size_t n, floe_error *err) {
  int64_t lens[256];
  while (n) {
    size_t m = n < 256 ? n : 256;
    FLOE_TRY(pq_delta_get(&d->lens, lens, m, err));
    for (size_t i = 0; i < m; i++) {
      if (lens[i] < 0 || (uint64_t)lens[i] > d->len - d->pos)
        return ferr_corrupt(err,
                            "DELTA_LENGTH_BYTE_ARRAY length %lld past "
                            "the end",
                            (long long)lens[i]);
      out[i].p = d->data + d->pos;
      out[i].n = (uint32_t)lens[i];
      d->pos += (size_t)lens[i];
    }
    out += m;
    n -= m;
  }
  return FLOE_OK;
}

/* ---- DELTA_BYTE_ARRAY ---- */

floe_status pq_dba_init(pq_dba *d, const uint8_t *p, size_t len,
                        uint64_t max_total, size_t max_alloc, floe_error *err) {
  fbuf_reset(&d->prev);
  fbuf_reset(&d->out);
  d->max_alloc = max_alloc;
  FLOE_TRY(pq_delta_init(&d->prefixes, p, len, true, max_total, err));
  size_t end;
  FLOE_TRY(pq_delta_end(&d->prefixes, &end, err));
  return pq_dlba_init(&d->suffixes, p + end, len - end, max_total, err);
}

floe_status pq_dba_get(pq_dba *d, pq_slice *out, size_t n, floe_error *err) {
  fbuf_reset(&d->out);
  int64_t pre[256];
  size_t done = 0;
  while (done < n) {
    size_t m = n - done < 256 ? n - done : 256;
    FLOE_TRY(pq_delta_get(&d->prefixes, pre, m, err));
    FLOE_TRY(pq_dlba_get(&d->suffixes, out + done, m, err));
    for (size_t i = 0; i < m; i++) {
      pq_slice s = out[done + i];
      if (pre[i] < 0 || (uint64_t)pre[i] > d->prev.len)
        return ferr_corrupt(err,
                            "DELTA_BYTE_ARRAY prefix %lld longer than "
                            "the previous value",
                            (long long)pre[i]);
      size_t vlen = (size_t)pre[i] + s.n;
      if (vlen > UINT32_MAX || vlen > d->max_alloc - d->out.len)
        return ferr_set(err, FLOE_ENOMEM,
                        "DELTA_BYTE_ARRAY values exceed the allocation cap");
      /* the new value becomes prev: build it there, then copy it out */
      d->prev.len = (size_t)pre[i];
      FLOE_TRY(fbuf_append(&d->prev, s.p, s.n, err));
      FLOE_TRY(fbuf_append(&d->out, d->prev.data, vlen, err));
      out[done + i].n = (uint32_t)vlen;
    }
    done += m;
  }
  size_t off = 0;
  for (size_t i = 0; i < n; i++) {
    out[i].p = d->out.data + off;
    off += out[i].n;
  }
  return FLOE_OK;
}

void pq_dba_free(pq_dba *d) {
  fbuf_free(&d->prev);
  fbuf_free(&d->out);
}

/* ---- BYTE_STREAM_SPLIT ---- */

floe_status pq_bss_init(pq_bss *b, const uint8_t *p, size_t len, int width,
                        floe_error *err) {
  if (width <= 0 || len % (size_t)width)
    return ferr_corrupt(err,
                        "BYTE_STREAM_SPLIT data of %zu bytes is not a "
                        "multiple of %d",
                        len, width);
  b->p = p;
  b->count = len / (size_t)width;
  b->idx = 0;
  b->width = width;
  return FLOE_OK;
}

floe_status pq_bss_get(pq_bss *b, uint8_t *out, size_t n, floe_error *err) {
  if (n > b->count - b->idx)
    return ferr_corrupt(err, "BYTE_STREAM_SPLIT holds only %zu values",
                        b->count);
  for (size_t i = 0; i < n; i++)
    for (int j = 0; j < b->width; j++)
      out[i * (size_t)b->width + (size_t)j] =
          b->p[(size_t)j * b->count + b->idx + i];
  b->idx += n;
  return FLOE_OK;
}
