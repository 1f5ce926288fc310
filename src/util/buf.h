/*
 * fbuf: a growable byte buffer (amortised O(1) append, doubling growth).
 * fcur: a bounds-checked read cursor over untrusted bytes.
 *
 * Every parser of outside bytes reads through fcur: each read checks
 * "n > len - pos" first, so a hostile length can never move the cursor out of
 * the buffer, and fcur_end() verifies a message was consumed exactly.
 *
 * Ownership: an fbuf owns data (malloc'd); fbuf_free releases it. fbuf_take
 * hands the allocation to the caller, who frees it with free().
 */
#ifndef FLOE_UTIL_BUF_H
#define FLOE_UTIL_BUF_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util/error.h"

typedef struct fbuf {
  uint8_t *data;
  size_t len;
  size_t cap;
} fbuf;

#define FBUF_INIT                                                              \
  { NULL, 0, 0 }

/* Slow path of fbuf_reserve: grows cap to at least len + extra. */
floe_status fbuf_grow(fbuf *b, size_t extra, floe_error *err);

/* Makes room for extra more bytes past len (does not change len). */
static inline floe_status fbuf_reserve(fbuf *b, size_t extra, floe_error *err) {
  if (FLOE_LIKELY(b->cap - b->len >= extra)) return FLOE_OK;
  return fbuf_grow(b, extra, err);
}

static inline floe_status fbuf_append(fbuf *b, const void *p, size_t n,
                                      floe_error *err) {
  FLOE_TRY(fbuf_reserve(b, n, err));
  if (n) memcpy(b->data + b->len, p, n);
  b->len += n;
  return FLOE_OK;
}

static inline floe_status fbuf_put_u8(fbuf *b, uint8_t v, floe_error *err) {
  FLOE_TRY(fbuf_reserve(b, 1, err));
  b->data[b->len++] = v;
  return FLOE_OK;
}

/* Appends n zero bytes. */
floe_status fbuf_zero(fbuf *b, size_t n, floe_error *err);
floe_status fbuf_put_le32(fbuf *b, uint32_t v, floe_error *err);
floe_status fbuf_put_le64(fbuf *b, uint64_t v, floe_error *err);
floe_status fbuf_put_be32(fbuf *b, uint32_t v, floe_error *err);
/* Unsigned LEB128 varint (protobuf/thrift/avro style). */
floe_status fbuf_put_uvarint(fbuf *b, uint64_t v, floe_error *err);
floe_status fbuf_printf(fbuf *b, floe_error *err, const char *fmt, ...)
    FLOE_PRINTF(3, 4);

static inline void fbuf_reset(fbuf *b) { b->len = 0; }
void fbuf_free(fbuf *b);
/* Returns the data (caller frees with free()) and leaves b empty. */
uint8_t *fbuf_take(fbuf *b);

/* Little-endian loads/stores on unaligned memory. */
static inline uint32_t fle32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v; /* floe builds only on little-endian hosts (checked in CMake) */
}
static inline uint64_t fle64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}
static inline uint32_t fbe32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* Bits needed to hold max (0 for 0). */
static inline int fbit_width(uint64_t max) {
  return max ? 64 - __builtin_clzll(max) : 0;
}
/* Zigzag-decoded varint value (thrift, avro, parquet delta). */
static inline int64_t funzigzag(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* ---- fcur: bounds-checked reading of untrusted bytes ---- */

typedef struct fcur {
  const uint8_t *p;
  size_t len;
  size_t pos;
  const char *what; /* names the input in error messages ("footer", ...) */
  size_t base;      /* file offset of p[0], for error messages */
} fcur;

static inline fcur fcur_make(const void *p, size_t len, const char *what,
                             size_t base) {
  fcur c = {(const uint8_t *)p, len, 0, what, base};
  return c;
}
static inline size_t fcur_left(const fcur *c) { return c->len - c->pos; }

/* Error "<what> at offset N: <msg>" with the absolute offset of pos. */
floe_status fcur_fail(const fcur *c, floe_error *err, const char *fmt, ...)
    FLOE_PRINTF(3, 4);

floe_status fcur_need(const fcur *c, size_t n, floe_error *err);
floe_status fcur_u8(fcur *c, uint8_t *out, floe_error *err);
floe_status fcur_le32(fcur *c, uint32_t *out, floe_error *err);
floe_status fcur_le64(fcur *c, uint64_t *out, floe_error *err);
floe_status fcur_be32(fcur *c, uint32_t *out, floe_error *err);
/* Borrows n bytes at pos (valid as long as the underlying buffer). */
floe_status fcur_bytes(fcur *c, size_t n, const uint8_t **out, floe_error *err);
floe_status fcur_skip(fcur *c, size_t n, floe_error *err);
/* Unsigned LEB128, at most 10 bytes, rejecting overlong encodings > 64 bits. */
floe_status fcur_uvarint(fcur *c, uint64_t *out, floe_error *err);
/* Fails unless every byte was consumed. */
floe_status fcur_end(const fcur *c, floe_error *err);

#endif
