/*
 * pgcp: one row of `COPY ... TO STDOUT` text format (the defaults: tab
 * delimiter, `\N` for NULL) split into fields, escapes decoded.
 *
 * A row is one line (the server sends each in its own CopyData message),
 * optionally ending in '\n'. Fields are separated by the delimiter; a field
 * that is exactly `\N` is NULL; backslash escapes are decoded:
 *   \b \f \n \r \t \v   the control character
 *   \ooo                one to three octal digits: that byte (low 8 bits)
 *   \xhh                one or two hex digits: that byte
 *   \c                  any other byte c: c itself (\\ is a backslash)
 * A lone `\.` line is the end-of-data marker: FLOE_EEOF. A backslash at the
 * end of the line is FLOE_ECORRUPT.
 *
 * Decoding happens in place: a decoded field is never longer than its text,
 * so each field is rewritten inside the line buffer and the fields point
 * into it. No allocation at all: the caller passes a field array sized for
 * its column count (the row must have exactly that many fields).
 */
#ifndef FLOE_PG_COPYTEXT_H
#define FLOE_PG_COPYTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "columnar/column.h"
#include "pg/pgtypes.h"

typedef struct pgcp_field {
  const char *p; /* decoded bytes, borrowed from the line (not NUL-ended) */
  size_t n;
  bool null; /* the field was \N (p and n then empty) */
} pgcp_field;

/*
 * Splits line[0..n) in place into exactly nfields fields (delim: the COPY
 * DELIMITER byte, '\t' by default). The line's bytes are rewritten; out[i].p
 * point into line and stay valid while line does. Errors: FLOE_ECORRUPT
 * (field count differs, trailing backslash; the message names the field and
 * the byte offset), FLOE_EEOF for the `\.` marker.
 */
floe_status pgcp_split(char *line, size_t n, char delim, pgcp_field *out,
                       size_t nfields, floe_error *err);

/*
 * Appends one split row to columns cols[0..nfields) with maps[i] (from
 * pgt_map_type): NULL fields via pgt_append_null, others via
 * pgt_append_text (scratch as there). All or nothing: when field k fails,
 * the columns appended so far are truncated back, so every column keeps the
 * same length; the error names the field number.
 */
floe_status pgcp_append_row(const pgcp_field *fields, size_t nfields,
                            col_column *const *cols, const pgt_map *maps,
                            fbuf *scratch, floe_error *err);

/* ---- COPY ... (FORMAT binary) ---- */

/* Reads the file header (signature, flags, header extension) at p[0..n);
 * *used: its length. FLOE_EUNSUPPORTED for OIDs or unknown critical flags,
 * FLOE_ECORRUPT for anything else wrong. */
floe_status pgcp_binary_header(const uint8_t *p, size_t n, size_t *used,
                               floe_error *err);

/* Reads one tuple at p[0..n) into exactly nfields fields (out[i].p points
 * into p; NULL fields have null set); *used: the tuple's length. The
 * trailer (field count -1) is FLOE_EEOF. Reads through fcur: a truncated
 * tuple or a wrong field count is FLOE_ECORRUPT with the offset. */
floe_status pgcp_binary_row(const uint8_t *p, size_t n, pgcp_field *out,
                            size_t nfields, size_t *used, floe_error *err);

/* pgcp_append_row for binary fields (pgt_append_binary), all or nothing. */
floe_status pgcp_append_binary_row(const pgcp_field *fields, size_t nfields,
                                   col_column *const *cols, const pgt_map *maps,
                                   floe_error *err);

#endif
