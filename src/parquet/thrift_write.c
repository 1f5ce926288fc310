/* Thrift compact protocol encoder (see thrift_write.h). */
#include "parquet/thrift_write.h"

#include <string.h>

void tc_init(tc_writer *w, fbuf *out, floe_error *err) {
  memset(w, 0, sizeof *w);
  w->out = out;
  w->err = err;
}

static inline uint64_t zigzag64(int64_t v) {
  /* shift the unsigned form: left-shifting a negative value is UB */
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static floe_status put_u8(tc_writer *w, uint8_t b) {
  if (w->st) return w->st;
  return w->st = fbuf_put_u8(w->out, b, w->err);
}

static floe_status put_varint(tc_writer *w, uint64_t v) {
  if (w->st) return w->st;
  return w->st = fbuf_put_uvarint(w->out, v, w->err);
}

static floe_status put_bytes(tc_writer *w, const void *p, size_t n) {
  if (w->st) return w->st;
  return w->st = fbuf_append(w->out, p, n, w->err);
}

/* Short form when the id is 1..15 past the previous one (the common case),
 * else the type byte followed by the zigzag id. */
static floe_status field_header(tc_writer *w, int16_t id, int type) {
  if (w->st) return w->st;
  if (w->depth == 0)
    return w->st = ferr_set(w->err, FLOE_EINVAL,
                            "thrift: field %d outside a struct", id);
  int16_t *last = &w->last[w->depth - 1];
  int delta = (int)id - (int)*last;
  *last = id;
  if (delta > 0 && delta <= 15) return put_u8(w, (uint8_t)(delta << 4 | type));
  put_u8(w, (uint8_t)type);
  return put_varint(w, zigzag64(id));
}

floe_status tc_struct_begin(tc_writer *w) {
  if (w->st) return w->st;
  if (w->depth >= TC_MAX_DEPTH)
    return w->st =
               ferr_set(w->err, FLOE_EINVAL,
                        "thrift: structs nested deeper than %d", TC_MAX_DEPTH);
  w->last[w->depth++] = 0;
  return FLOE_OK;
}

floe_status tc_struct_end(tc_writer *w) {
  if (w->st) return w->st;
  if (w->depth == 0)
    return w->st = ferr_set(w->err, FLOE_EINVAL, "thrift: unbalanced struct");
  w->depth--;
  return put_u8(w, TC_STOP);
}

floe_status tc_field_bool(tc_writer *w, int16_t id, bool v) {
  /* compact protocol folds a bool field's value into its type nibble */
  return field_header(w, id, v ? TC_TRUE : TC_FALSE);
}

floe_status tc_field_i8(tc_writer *w, int16_t id, int8_t v) {
  field_header(w, id, TC_BYTE);
  return put_u8(w, (uint8_t)v);
}

floe_status tc_field_i16(tc_writer *w, int16_t id, int16_t v) {
  field_header(w, id, TC_I16);
  return put_varint(w, zigzag64(v));
}

floe_status tc_field_i32(tc_writer *w, int16_t id, int32_t v) {
  field_header(w, id, TC_I32);
  return put_varint(w, zigzag64(v));
}

floe_status tc_field_i64(tc_writer *w, int16_t id, int64_t v) {
  field_header(w, id, TC_I64);
  return put_varint(w, zigzag64(v));
}

floe_status tc_field_double(tc_writer *w, int16_t id, double v) {
  field_header(w, id, TC_DOUBLE);
  uint8_t b[8];
  memcpy(b, &v, 8); /* little-endian host: already the wire order */
  return put_bytes(w, b, 8);
}

floe_status tc_field_binary(tc_writer *w, int16_t id, const void *p, size_t n) {
  field_header(w, id, TC_BINARY);
  return tc_binary(w, p, n);
}

floe_status tc_field_string(tc_writer *w, int16_t id, const char *s) {
  return tc_field_binary(w, id, s, strlen(s));
}

floe_status tc_field_struct_begin(tc_writer *w, int16_t id) {
  field_header(w, id, TC_STRUCT);
  return tc_struct_begin(w);
}

floe_status tc_field_list_begin(tc_writer *w, int16_t id, int elem, size_t n) {
  field_header(w, id, TC_LIST);
  if (n < 15) return put_u8(w, (uint8_t)(n << 4 | (size_t)elem));
  put_u8(w, (uint8_t)(0xF0 | elem));
  return put_varint(w, n);
}

floe_status tc_i32(tc_writer *w, int32_t v) {
  return put_varint(w, zigzag64(v));
}

floe_status tc_i64(tc_writer *w, int64_t v) {
  return put_varint(w, zigzag64(v));
}

floe_status tc_binary(tc_writer *w, const void *p, size_t n) {
  put_varint(w, n);
  return put_bytes(w, p, n);
}

floe_status tc_string(tc_writer *w, const char *s) {
  return tc_binary(w, s, strlen(s));
}

floe_status tc_bool(tc_writer *w, bool v) {
  /* list elements carry bools as a whole byte: 1 true, 2 false (as the
   * reference implementations write them) */
  return put_u8(w, v ? TC_TRUE : TC_FALSE);
}
