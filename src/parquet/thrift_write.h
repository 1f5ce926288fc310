/*
 * Thrift compact protocol encoder, just enough for Parquet metadata (page
 * headers and the footer). Written by hand from the compact protocol spec.
 *
 * Usage: tc_init, then nested struct/list calls that mirror the thrift IDL:
 *
 *     tc_struct_begin(&w);             // the top-level struct
 *     tc_field_i32(&w, 1, version);
 *     tc_field_list_begin(&w, 2, TC_STRUCT, n);
 *     for (...) { tc_struct_begin(&w); ...; tc_struct_end(&w); }
 *     tc_struct_end(&w);
 *     return tc_status(&w);
 *
 * The writer's status is sticky: after the first failure (out of memory, or
 * nesting deeper than TC_MAX_DEPTH) every call is a no-op returning that
 * status, so a long run of calls needs one check at the end. Each call also
 * returns the status for callers that prefer FLOE_TRY.
 *
 * Field ids must increase within a struct only for the short (delta) form to
 * be used; any order is encoded correctly (long form otherwise).
 */
#ifndef FLOE_PARQUET_THRIFT_WRITE_H
#define FLOE_PARQUET_THRIFT_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "parquet/format.h"
#include "util/buf.h"

#define TC_MAX_DEPTH 16

typedef struct tc_writer {
  fbuf *out;                  /* borrowed; bytes are appended */
  floe_error *err;            /* borrowed; may be NULL */
  floe_status st;             /* sticky status */
  int depth;                  /* open structs */
  int16_t last[TC_MAX_DEPTH]; /* last field id per open struct */
} tc_writer;

void tc_init(tc_writer *w, fbuf *out, floe_error *err);
static inline floe_status tc_status(const tc_writer *w) { return w->st; }

/* Opens a struct that is a list element or the top level. */
floe_status tc_struct_begin(tc_writer *w);
/* Writes the STOP byte and closes the innermost struct. */
floe_status tc_struct_end(tc_writer *w);

/* Fields of the innermost open struct. */
floe_status tc_field_bool(tc_writer *w, int16_t id, bool v);
floe_status tc_field_i8(tc_writer *w, int16_t id, int8_t v);
floe_status tc_field_i16(tc_writer *w, int16_t id, int16_t v);
floe_status tc_field_i32(tc_writer *w, int16_t id, int32_t v);
floe_status tc_field_i64(tc_writer *w, int16_t id, int64_t v);
floe_status tc_field_double(tc_writer *w, int16_t id, double v);
floe_status tc_field_binary(tc_writer *w, int16_t id, const void *p, size_t n);
floe_status tc_field_string(tc_writer *w, int16_t id, const char *s);
/* Field header of a struct-typed field, then opens it (close with
 * tc_struct_end). */
floe_status tc_field_struct_begin(tc_writer *w, int16_t id);
/* Field header of a list field with n elements of compact type elem
 * (TC_I32, TC_BINARY, TC_STRUCT, ...); the elements follow. */
floe_status tc_field_list_begin(tc_writer *w, int16_t id, int elem, size_t n);

/* List elements. */
floe_status tc_i32(tc_writer *w, int32_t v);
floe_status tc_i64(tc_writer *w, int64_t v);
floe_status tc_binary(tc_writer *w, const void *p, size_t n);
floe_status tc_string(tc_writer *w, const char *s);
floe_status tc_bool(tc_writer *w, bool v);

#endif
