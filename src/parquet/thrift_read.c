/* Thrift compact protocol decoding on top of the bounds-checked cursor. */
#include "parquet/thrift_read.h"

#include <stdarg.h>
#include <stdio.h>

void tc_reader_init(tc_reader *t, const void *p, size_t n, const char *what,
                    size_t base) {
  t->c = fcur_make(p, n, what, base);
  t->depth = 0;
}

floe_status tc_read_fail(const tc_reader *t, floe_error *err, const char *fmt,
                         ...) {
  char msg[FLOE_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return fcur_fail(&t->c, err, "%s", msg);
}

floe_status tc_read_struct_begin(tc_reader *t, floe_error *err) {
  if (t->depth >= TC_READ_MAX_DEPTH)
    return tc_read_fail(t, err, "thrift structs nested deeper than %d",
                        TC_READ_MAX_DEPTH);
  t->depth++;
  return FLOE_OK;
}

void tc_read_struct_end(tc_reader *t) {
  if (t->depth > 0) t->depth--;
}

floe_status tc_read_field(tc_reader *t, int16_t *last_id, int *type,
                          int16_t *id, floe_error *err) {
  uint8_t b;
  FLOE_TRY(fcur_u8(&t->c, &b, err));
  *type = b & 0x0f;
  if (*type == TC_STOP) {
    *id = 0;
    return FLOE_OK;
  }
  if (*type > TC_STRUCT)
    return tc_read_fail(t, err, "bad thrift field type %d", *type);
  int delta = b >> 4;
  if (delta) {
    int next = *last_id + delta;
    if (next > INT16_MAX)
      return tc_read_fail(t, err, "thrift field id overflow");
    *id = (int16_t)next;
  } else {
    uint64_t v;
    FLOE_TRY(fcur_uvarint(&t->c, &v, err));
    int64_t s = funzigzag(v);
    if (s < INT16_MIN || s > INT16_MAX)
      return tc_read_fail(t, err, "thrift field id out of range");
    *id = (int16_t)s;
  }
  *last_id = *id;
  return FLOE_OK;
}

static floe_status read_int(tc_reader *t, int type, int64_t *out,
                            floe_error *err) {
  if (type == TC_BYTE) {
    uint8_t b;
    FLOE_TRY(fcur_u8(&t->c, &b, err));
    *out = (int8_t)b;
    return FLOE_OK;
  }
  if (type != TC_I16 && type != TC_I32 && type != TC_I64)
    return tc_read_fail(t, err, "expected a thrift integer, found type %d",
                        type);
  uint64_t v;
  FLOE_TRY(fcur_uvarint(&t->c, &v, err));
  *out = funzigzag(v);
  return FLOE_OK;
}

floe_status tc_read_i32(tc_reader *t, int type, int32_t *out, floe_error *err) {
  if (type == TC_I64)
    return tc_read_fail(t, err, "expected a 32-bit thrift integer, found i64");
  int64_t v = 0;
  FLOE_TRY(read_int(t, type, &v, err));
  if (v < INT32_MIN || v > INT32_MAX)
    return tc_read_fail(t, err, "thrift i32 out of range");
  *out = (int32_t)v;
  return FLOE_OK;
}

floe_status tc_read_i64(tc_reader *t, int type, int64_t *out, floe_error *err) {
  return read_int(t, type, out, err);
}

floe_status tc_read_bool(tc_reader *t, int type, bool *out, floe_error *err) {
  if (type != TC_TRUE && type != TC_FALSE)
    return tc_read_fail(t, err, "expected a thrift bool, found type %d", type);
  *out = type == TC_TRUE;
  return FLOE_OK;
}

floe_status tc_read_double(tc_reader *t, int type, double *out,
                           floe_error *err) {
  if (type != TC_DOUBLE)
    return tc_read_fail(t, err, "expected a thrift double, found type %d",
                        type);
  uint64_t v;
  FLOE_TRY(fcur_le64(&t->c, &v, err));
  memcpy(out, &v, 8);
  return FLOE_OK;
}

floe_status tc_read_binary(tc_reader *t, int type, const uint8_t **p, size_t *n,
                           floe_error *err) {
  if (type != TC_BINARY)
    return tc_read_fail(t, err, "expected thrift binary, found type %d", type);
  uint64_t len;
  FLOE_TRY(fcur_uvarint(&t->c, &len, err));
  if (len > fcur_left(&t->c))
    return tc_read_fail(t, err, "thrift string of %llu bytes, only %zu left",
                        (unsigned long long)len, fcur_left(&t->c));
  *n = (size_t)len;
  return fcur_bytes(&t->c, (size_t)len, p, err);
}

floe_status tc_read_list(tc_reader *t, int type, int *elem_type,
                         uint32_t *count, floe_error *err) {
  if (type != TC_LIST && type != TC_SET)
    return tc_read_fail(t, err, "expected a thrift list, found type %d", type);
  uint8_t b;
  FLOE_TRY(fcur_u8(&t->c, &b, err));
  uint64_t n = b >> 4;
  if (n == 15) FLOE_TRY(fcur_uvarint(&t->c, &n, err));
  *elem_type = b & 0x0f;
  if (*elem_type == TC_STOP || *elem_type > TC_STRUCT)
    return tc_read_fail(t, err, "bad thrift list element type %d", *elem_type);
  /* every element, even an empty struct or a bool, takes a byte */
  if (n > fcur_left(&t->c))
    return tc_read_fail(t, err,
                        "thrift list of %llu elements, only %zu bytes left",
                        (unsigned long long)n, fcur_left(&t->c));
  *count = (uint32_t)n;
  return FLOE_OK;
}

floe_status tc_read_elem_i32(tc_reader *t, int elem_type, int32_t *out,
                             floe_error *err) {
  return tc_read_i32(t, elem_type, out, err);
}

floe_status tc_read_elem_i64(tc_reader *t, int elem_type, int64_t *out,
                             floe_error *err) {
  return tc_read_i64(t, elem_type, out, err);
}

floe_status tc_read_skip(tc_reader *t, int type, floe_error *err) {
  uint64_t v;
  switch (type) {
  case TC_TRUE:
  case TC_FALSE: return FLOE_OK; /* a bool field's value is its type */
  case TC_BYTE: return fcur_skip(&t->c, 1, err);
  case TC_I16:
  case TC_I32:
  case TC_I64: return fcur_uvarint(&t->c, &v, err);
  case TC_DOUBLE: return fcur_skip(&t->c, 8, err);
  case TC_BINARY: {
    const uint8_t *p;
    size_t n;
    return tc_read_binary(t, type, &p, &n, err);
  }
  case TC_LIST:
  case TC_SET: {
    int et;
    uint32_t n;
    FLOE_TRY(tc_read_list(t, type, &et, &n, err));
    FLOE_TRY(tc_read_struct_begin(t, err));
    for (uint32_t i = 0; i < n; i++) {
      /* bools inside containers are a byte each */
      if (et == TC_TRUE || et == TC_FALSE)
        FLOE_TRY(fcur_skip(&t->c, 1, err));
      else
        FLOE_TRY(tc_read_skip(t, et, err));
    }
    tc_read_struct_end(t);
    return FLOE_OK;
  }
  case TC_MAP: {
    FLOE_TRY(fcur_uvarint(&t->c, &v, err));
    if (v == 0) return FLOE_OK;
    uint8_t kv;
    FLOE_TRY(fcur_u8(&t->c, &kv, err));
    int kt = kv >> 4, vt = kv & 0x0f;
    if (kt == TC_STOP || kt > TC_STRUCT || vt == TC_STOP || vt > TC_STRUCT)
      return tc_read_fail(t, err, "bad thrift map types %d/%d", kt, vt);
    if (v > fcur_left(&t->c) / 2)
      return tc_read_fail(t, err,
                          "thrift map of %llu entries, only %zu bytes left",
                          (unsigned long long)v, fcur_left(&t->c));
    FLOE_TRY(tc_read_struct_begin(t, err));
    for (uint64_t i = 0; i < v; i++) {
      for (int k = 0; k < 2; k++) {
        int et = k ? vt : kt;
        if (et == TC_TRUE || et == TC_FALSE)
          FLOE_TRY(fcur_skip(&t->c, 1, err));
        else
          FLOE_TRY(tc_read_skip(t, et, err));
      }
    }
    tc_read_struct_end(t);
    return FLOE_OK;
  }
  case TC_STRUCT: {
    FLOE_TRY(tc_read_struct_begin(t, err));
    int16_t last = 0;
    for (;;) {
      int ft;
      int16_t id;
      FLOE_TRY(tc_read_field(t, &last, &ft, &id, err));
      if (ft == TC_STOP) break;
      FLOE_TRY(tc_read_skip(t, ft, err));
    }
    tc_read_struct_end(t);
    return FLOE_OK;
  }
  }
  return tc_read_fail(t, err, "bad thrift type %d", type);
}
