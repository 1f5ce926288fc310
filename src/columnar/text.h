/*
 * The text form of values, shared by the CLI (CSV/JSONL), tests and later the
 * Postgres type mapping:
 *   bool       true / false (input also t/f/1/0, any case)
 *   ints       decimal digits, optional sign; range-checked
 *   float      shortest text that round-trips; NaN, Infinity, -Infinity.
 *              Positional for decimal exponents -4..16 ("100", "0.0001"),
 *              else C exponent form ("1e+20", "5e-324"). Input: decimal
 *              with optional exponent, nan/inf/infinity any case.
 *   decimal    plain digits with the scale's decimal point ("-12.30").
 *              Input may have fewer fraction digits (padded), more only if
 *              the extra ones are zeros, an exponent ("1.5e3"), and at most
 *              `precision` significant digits.
 *   date       YYYY-MM-DD, proleptic Gregorian; years before 1 as
 *              "YYYY-MM-DD BC" (Postgres style), years past 9999 with more
 *              digits
 *   time       HH:MM:SS[.ffffff] (input: seconds optional, 24:00:00 allowed)
 *   timestamp  YYYY-MM-DD HH:MM:SS[.ffffff][ BC] (input: 'T' or ' ')
 *   timestamptz  same + "+00" on output (before " BC"); input offsets Z,
 *              +HH, +HH:MM, +HHMM, +HH:MM:SS (or -) are converted to UTC,
 *              no offset means UTC
 *   binary     \x followed by lowercase hex (input: either case)
 *   uuid       canonical 8-4-4-4-12 lowercase hex (input: either case)
 *   list       JSON array of the element texts: elements as in json mode
 *              below, nulls null, no spaces ("[1,null,3]", "[\"a\"]").
 *              Input: any JSON array of strings, numbers, true/false, null.
 * Fractional seconds print without trailing zeros (".5", not ".500000").
 *
 * Parsing is strict: no surrounding whitespace (except inside list JSON).
 * Numbers rely on LC_NUMERIC being "C" (the default).
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
 * json: when true, strings/binary/uuid/dates/times/decimals are emitted as
 * JSON strings (quoted, escaped; decimals as strings keep their exact
 * digits), ints, finite floats and bools bare, NaN/Infinity as strings, lists
 * as arrays. utf8 that is not valid UTF-8 fails in json mode (FLOE_EINVAL).
 * A null row fails with FLOE_EINVAL. */
floe_status col_text_format(const col_column *c, int64_t i, bool json,
                            fbuf *out, floe_error *err);

/* Index of the first byte of s[0..n) that is not valid UTF-8 (overlongs,
 * surrogates and code points past U+10FFFF are invalid), or n. */
size_t col_utf8_check(const uint8_t *s, size_t n);

#endif
