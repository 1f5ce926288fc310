/* Growable buffers and the bounds-checked cursor. */
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

floe_status fbuf_grow(fbuf *b, size_t extra, floe_error *err) {
  if (extra > SIZE_MAX / 2 - b->len) return ferr_nomem(err, extra);
  size_t need = b->len + extra;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  uint8_t *p = realloc(b->data, cap);
  if (!p) return ferr_nomem(err, cap);
  b->data = p;
  b->cap = cap;
  return FLOE_OK;
}

floe_status fbuf_zero(fbuf *b, size_t n, floe_error *err) {
  FLOE_TRY(fbuf_reserve(b, n, err));
  memset(b->data + b->len, 0, n);
  b->len += n;
  return FLOE_OK;
}

floe_status fbuf_put_le32(fbuf *b, uint32_t v, floe_error *err) {
  return fbuf_append(b, &v, 4, err);
}

floe_status fbuf_put_le64(fbuf *b, uint64_t v, floe_error *err) {
  return fbuf_append(b, &v, 8, err);
}

floe_status fbuf_put_be32(fbuf *b, uint32_t v, floe_error *err) {
  uint8_t t[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                  (uint8_t)v};
  return fbuf_append(b, t, 4, err);
}

floe_status fbuf_put_uvarint(fbuf *b, uint64_t v, floe_error *err) {
  FLOE_TRY(fbuf_reserve(b, 10, err));
  while (v >= 0x80) {
    b->data[b->len++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  b->data[b->len++] = (uint8_t)v;
  return FLOE_OK;
}

floe_status fbuf_printf(fbuf *b, floe_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return ferr_set(err, FLOE_EINVAL, "bad format string");
  FLOE_TRY(fbuf_reserve(b, (size_t)n + 1, err));
  va_start(ap, fmt);
  vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return FLOE_OK;
}

void fbuf_free(fbuf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

uint8_t *fbuf_take(fbuf *b) {
  uint8_t *p = b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return p;
}

floe_status fcur_fail(const fcur *c, floe_error *err, const char *fmt, ...) {
  char msg[FLOE_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ferr_corrupt(err, "%s at offset %zu: %s", c->what ? c->what : "input",
                      c->base + c->pos, msg);
}

floe_status fcur_need(const fcur *c, size_t n, floe_error *err) {
  if (FLOE_UNLIKELY(n > c->len - c->pos))
    return fcur_fail(c, err, "need %zu bytes, only %zu left", n,
                     c->len - c->pos);
  return FLOE_OK;
}

floe_status fcur_u8(fcur *c, uint8_t *out, floe_error *err) {
  FLOE_TRY(fcur_need(c, 1, err));
  *out = c->p[c->pos++];
  return FLOE_OK;
}

floe_status fcur_le32(fcur *c, uint32_t *out, floe_error *err) {
  FLOE_TRY(fcur_need(c, 4, err));
  *out = fle32(c->p + c->pos);
  c->pos += 4;
  return FLOE_OK;
}

floe_status fcur_le64(fcur *c, uint64_t *out, floe_error *err) {
  FLOE_TRY(fcur_need(c, 8, err));
  *out = fle64(c->p + c->pos);
  c->pos += 8;
  return FLOE_OK;
}

floe_status fcur_be32(fcur *c, uint32_t *out, floe_error *err) {
  FLOE_TRY(fcur_need(c, 4, err));
  *out = fbe32(c->p + c->pos);
  c->pos += 4;
  return FLOE_OK;
}

floe_status fcur_bytes(fcur *c, size_t n, const uint8_t **out,
                       floe_error *err) {
  FLOE_TRY(fcur_need(c, n, err));
  *out = c->p + c->pos;
  c->pos += n;
  return FLOE_OK;
}

floe_status fcur_skip(fcur *c, size_t n, floe_error *err) {
  FLOE_TRY(fcur_need(c, n, err));
  c->pos += n;
  return FLOE_OK;
}

floe_status fcur_uvarint(fcur *c, uint64_t *out, floe_error *err) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint8_t byte;
    FLOE_TRY(fcur_u8(c, &byte, err));
    if (shift == 63 && byte > 1)
      return fcur_fail(c, err, "varint overflows 64 bits");
    v |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      *out = v;
      return FLOE_OK;
    }
  }
  return fcur_fail(c, err, "varint longer than 10 bytes");
}

floe_status fcur_end(const fcur *c, floe_error *err) {
  if (c->pos != c->len)
    return fcur_fail(c, err, "%zu trailing bytes", c->len - c->pos);
  return FLOE_OK;
}
