/*
 * The text form of values, shared by the CLI (CSV/JSONL), tests and later the
 * Postgres type mapping:
 *   bool       true / false
 *   ints       decimal digits
 *   float      shortest text that round-trips; NaN, Infinity, -Infinity
 *   decimal    plain digits with the scale's decimal point ("-12.30")
 *   date       YYYY-MM-DD
 *   time       HH:MM:SS[.ffffff]
 *   timestamp  YYYY-MM-DD HH:MM:SS[.ffffff]
 *   timestamptz  same + "+00" on output; any +HH[:MM] / -HH[:MM] / Z offset on
 *              input is converted to UTC
 *   binary     \x followed by lowercase hex
 *   uuid       canonical 8-4-4-4-12 lowercase hex
 *   list       JSON array of the element texts (strings quoted, nulls null)
 * Fractional seconds print without trailing zeros.
 */
#ifndef FLOE_COLUMNAR_TEXT_H
#define FLOE_COLUMNAR_TEXT_H

#include "columnar/column.h"

/* Parses text (not NUL-terminated, n bytes) as one value of c's type and
 * appends it. Does not handle NULL: the caller decides what NULL looks like.
 * On bad text returns FLOE_EINVAL with a message naming the type. */
floe_status col_text_append(col_column *c, const char *s, size_t n,
                            floe_error *err);

/* Appends the text of row i of c (which must be valid, i.e. not null) to out.
 * json: when true, strings/binary/uuid/dates... are emitted as JSON strings
 * (quoted, escaped) and numbers bare; NaN/Infinity become strings too. */
floe_status col_text_format(const col_column *c, int64_t i, bool json,
                            fbuf *out, floe_error *err);

#endif
