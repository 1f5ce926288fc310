/*
 * Thrift compact protocol decoder, just enough for Parquet's footer and page
 * headers. It sits on fcur, so every read is bounds-checked; structs nest at
 * most TC_READ_MAX_DEPTH deep and no list/map/string may claim more elements
 * than there are bytes left (every element takes at least one byte), so hostile
 * sizes can never drive an allocation beyond a constant factor of the input.
 *
 * Usage: a struct is read as a loop over tc_read_field until it yields TC_STOP,
 * with a per-struct last_id that starts at 0; unknown fields go to
 * tc_read_skip.
 */
#ifndef FLOE_PARQUET_THRIFT_READ_H
#define FLOE_PARQUET_THRIFT_READ_H

#include <stdbool.h>
#include <stdint.h>

#include "parquet/format.h"
#include "util/buf.h"

#define TC_READ_MAX_DEPTH 32

typedef struct tc_reader {
  fcur c;
  int depth; /* structs/containers currently open */
} tc_reader;

/* Reads n bytes at p; errors name what and the absolute offset base + pos. */
void tc_reader_init(tc_reader *t, const void *p, size_t n, const char *what,
                    size_t base);

/* Enters a struct (checks the depth bound); pair with tc_read_struct_end. */
floe_status tc_read_struct_begin(tc_reader *t, floe_error *err);
void tc_read_struct_end(tc_reader *t);

/* Next field header of the current struct. *type is a TC_* nibble; TC_STOP
 * ends the struct. For bool fields the value is the type (TC_TRUE/TC_FALSE). */
floe_status tc_read_field(tc_reader *t, int16_t *last_id, int *type,
                          int16_t *id, floe_error *err);

/* Integers of a field whose header said type; a type of the wrong kind or a
 * value out of range is corruption. */
floe_status tc_read_i32(tc_reader *t, int type, int32_t *out, floe_error *err);
floe_status tc_read_i64(tc_reader *t, int type, int64_t *out, floe_error *err);
/* Bool field: type must be TC_TRUE or TC_FALSE. */
floe_status tc_read_bool(tc_reader *t, int type, bool *out, floe_error *err);
floe_status tc_read_double(tc_reader *t, int type, double *out,
                           floe_error *err);
/* Binary/string: borrows n bytes of the input (valid as long as it is). */
floe_status tc_read_binary(tc_reader *t, int type, const uint8_t **p, size_t *n,
                           floe_error *err);
/* List or set header: element type and count (count <= bytes left). */
floe_status tc_read_list(tc_reader *t, int type, int *elem_type,
                         uint32_t *count, floe_error *err);
/* One element of a list of elem_type integers / binaries. */
floe_status tc_read_elem_i32(tc_reader *t, int elem_type, int32_t *out,
                             floe_error *err);
floe_status tc_read_elem_i64(tc_reader *t, int elem_type, int64_t *out,
                             floe_error *err);

/* Skips one value of the given type (recursing into containers). */
floe_status tc_read_skip(tc_reader *t, int type, floe_error *err);

/* Fails with "<what> at offset N: <msg>" at the current position. */
floe_status tc_read_fail(const tc_reader *t, floe_error *err, const char *fmt,
                         ...) FLOE_PRINTF(3, 4);

#endif
