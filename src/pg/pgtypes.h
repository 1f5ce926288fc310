/*
 * pgt: Postgres types -> floe columnar types, and the parsing of one value in
 * Postgres TEXT output format into a column.
 *
 * Two steps:
 *   1. pgt_map_type: once per column (from a Relation message or the catalog),
 *      a resolved type description becomes a pgt_map: the column's col_dtype
 *      plus which decoder turns a text value into a column value.
 *   2. pgt_append_text / pgt_append_null: per value, on the hot path. No
 *      allocation besides the column's own amortised growth (and the caller's
 *      scratch buffer for array elements that carry escapes).
 *
 * The text parser relies on these session settings on every connection that
 * produces values (replication and COPY alike); set them in the startup
 * options (PGOPTIONS / "options" connection keyword):
 *   client_encoding=UTF8  DateStyle=ISO  IntervalStyle=postgres  TimeZone=UTC
 *   extra_float_digits=3  bytea_output=hex
 * PGT_SESSION_OPTIONS below is that list in the "-c name=value" form. With
 * other settings some values still parse (and some do not); nothing is ever
 * silently changed: a value that does not parse fails with FLOE_ECORRUPT.
 *
 * The mapping table and its documented choices (infinity, numeric without a
 * precision, arrays, unknown types) are in src/pg/README.md.
 */
#ifndef FLOE_PG_PGTYPES_H
#define FLOE_PG_PGTYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "columnar/column.h"
#include "util/buf.h"

/* The settings the text parser relies on, as libpq "options" text. */
#define PGT_SESSION_OPTIONS                                                    \
  "-c client_encoding=UTF8 -c DateStyle=ISO -c IntervalStyle=postgres "        \
  "-c TimeZone=UTC -c extra_float_digits=3 -c bytea_output=hex"

/* Built-in type OIDs (fixed in pg_type.dat since forever). */
enum {
  PGT_OID_BOOL = 16,
  PGT_OID_BYTEA = 17,
  PGT_OID_CHAR = 18, /* "char": one byte */
  PGT_OID_NAME = 19,
  PGT_OID_INT8 = 20,
  PGT_OID_INT2 = 21,
  PGT_OID_INT4 = 23,
  PGT_OID_TEXT = 25,
  PGT_OID_OID = 26,
  PGT_OID_JSON = 114,
  PGT_OID_XML = 142,
  PGT_OID_CIDR = 650,
  PGT_OID_FLOAT4 = 700,
  PGT_OID_FLOAT8 = 701,
  PGT_OID_MACADDR8 = 774,
  PGT_OID_MONEY = 790,
  PGT_OID_MACADDR = 829,
  PGT_OID_INET = 869,
  PGT_OID_BPCHAR = 1042,
  PGT_OID_VARCHAR = 1043,
  PGT_OID_DATE = 1082,
  PGT_OID_TIME = 1083,
  PGT_OID_TIMESTAMP = 1114,
  PGT_OID_TIMESTAMPTZ = 1184,
  PGT_OID_INTERVAL = 1186,
  PGT_OID_TIMETZ = 1266,
  PGT_OID_NUMERIC = 1700,
  PGT_OID_UUID = 2950,
  PGT_OID_JSONB = 3802,
};

/*
 * A column's type as the caller resolved it from pg_type. Domains are
 * resolved by the caller before this point: oid/typtype/typmod/name describe
 * the domain's base type (pg_type.typbasetype, and the domain's typtypmod when
 * the attribute's own typmod is -1), and likewise for an array's element.
 */
typedef struct pgt_desc {
  uint32_t oid;      /* pg_type.oid of the (base) type */
  int32_t typmod;    /* atttypmod; -1 when none. For arrays: the element's */
  char typtype;      /* pg_type.typtype: 'b' base, 'e' enum, 'r' range,
                        'm' multirange, 'c' composite, 'p' pseudo */
  const char *name;  /* pg_type.typname (NUL-terminated; may be NULL): matches
                        extension types such as citext, names warnings */
  bool is_array;     /* a true array (pg_type.typsubscript =
                        array_subscript_handler): elem_* describe the element */
  uint32_t elem_oid; /* element's (base) type oid */
  char elem_typtype;
  const char *elem_name; /* element's typname (may be NULL) */
  char elem_delim;       /* element's pg_type.typdelim; 0 means ',' */
} pgt_desc;

/* How one text value becomes a column value. */
typedef enum pgt_dec {
  PGT_DEC_BOOL = 0,    /* t / f (also true / false) */
  PGT_DEC_INT2,        /* -> int16 */
  PGT_DEC_INT4,        /* -> int32 */
  PGT_DEC_INT8,        /* int8 and oid -> int64 */
  PGT_DEC_FLOAT4,      /* -> float32, NaN / +-Infinity / -0 kept */
  PGT_DEC_FLOAT8,      /* -> float64, NaN / +-Infinity / -0 kept */
  PGT_DEC_DECIMAL,     /* numeric(p,s) -> decimal; NaN/Infinity: FLOE_ERANGE */
  PGT_DEC_TEXT,        /* the text itself, validated UTF-8 -> utf8 */
  PGT_DEC_BYTEA,       /* \x hex -> binary */
  PGT_DEC_DATE,        /* -> date32; +-infinity -> INT32_MAX / INT32_MIN */
  PGT_DEC_TIME,        /* -> time64 us */
  PGT_DEC_TIMESTAMP,   /* -> timestamp us; +-infinity -> INT64_MAX / MIN */
  PGT_DEC_TIMESTAMPTZ, /* -> timestamptz us UTC; +-infinity as timestamp */
  PGT_DEC_UUID,        /* -> uuid */
  PGT_DEC_ARRAY,       /* {..} of elem_dec elements -> list */
  PGT_DEC_COUNT
} pgt_dec;

/* How one value in binary (send) format becomes a column value. Types kept
 * as text whose send format is not their text (interval, timetz, inet,
 * money, "char", unknown types, ...) have none: fetch those columns as text.
 * In a binary COPY's select list that means their output function, e.g.
 * `CASE WHEN c IS NULL THEN NULL ELSE format('%s', c) END`, and then
 * PGT_BIN_TEXT; not `c::text`, which for some types is a different function
 * (inet's text() always shows the netmask). pgoutput's binary mode is all or
 * nothing: use text mode unless every column has a binary reader. */
typedef enum pgt_bin {
  PGT_BIN_NONE = 0, /* not readable in binary: use text */
  PGT_BIN_BOOL,     /* 1 byte */
  PGT_BIN_INT2,     /* big-endian */
  PGT_BIN_INT4,
  PGT_BIN_INT8,
  PGT_BIN_OID,    /* uint32 -> int64 */
  PGT_BIN_FLOAT4, /* IEEE bits, big-endian */
  PGT_BIN_FLOAT8,
  PGT_BIN_NUMERIC,      /* base-10000 digits -> decimal (exact) */
  PGT_BIN_NUMERIC_TEXT, /* base-10000 digits -> the exact text (utf8) */
  PGT_BIN_TEXT,         /* the bytes are the text (validated UTF-8) */
  PGT_BIN_JSONB,        /* version byte 1, then the text */
  PGT_BIN_BYTEA,        /* the bytes */
  PGT_BIN_DATE,         /* int32 days since 2000-01-01 */
  PGT_BIN_TIME,         /* int64 us */
  PGT_BIN_TIMESTAMP,    /* int64 us since 2000-01-01 */
  PGT_BIN_UUID,         /* 16 bytes */
  PGT_BIN_ARRAY,        /* array_send of elem_bin elements */
  PGT_BIN_COUNT
} pgt_bin;

/* Result of the mapping. Plain value; copy freely. */
typedef struct pgt_map {
  col_dtype type;   /* the column type to create */
  pgt_dec dec;      /* how values are parsed */
  pgt_dec elem_dec; /* PGT_DEC_ARRAY: how elements are parsed */
  pgt_bin bin;      /* how binary values are read (PGT_BIN_NONE: text only) */
  pgt_bin elem_bin; /* PGT_BIN_ARRAY: how elements are read */
  char delim;       /* PGT_DEC_ARRAY: element separator */
  /* true when the type is not one floe knows and was kept as its text:
   * the caller should log one warning per column (see note) */
  bool warn;
  /* NULL, or a static sentence on a documented choice for this column (e.g.
   * "numeric without precision is kept as its exact text"), for logs */
  const char *note;
} pgt_map;

/* Maps a resolved type. Never fails for a well-formed description (every
 * type maps, unknown ones to utf8 with warn set); FLOE_EINVAL for a
 * malformed one (NULL pointers, an unresolved domain: typtype 'd'). */
floe_status pgt_map_type(const pgt_desc *d, pgt_map *out, floe_error *err);

/* The numeric typmod rule: precision and scale from atttypmod (-1 or
 * malformed: false). Postgres 15 allows a negative scale and a scale above
 * the precision; both are returned as they are. */
bool pgt_numeric_typmod(int32_t typmod, int *precision, int *scale);

/*
 * Appends one value given as Postgres text output (s, n bytes, not
 * NUL-terminated) to c, which must have been created with m->type.
 * scratch: a buffer the caller owns and reuses across values (and frees);
 * only array elements that carry backslash escapes are unescaped into it.
 * Required (non-NULL) for array maps, ignored otherwise: FLOE_EINVAL when an
 * array map gets NULL. On failure the column is unchanged and:
 *   FLOE_ERANGE       the value is valid Postgres but does not fit the
 *                     column (NaN or Infinity in a decimal column, a
 *                     timestamp past the int64 microsecond range)
 *   FLOE_EUNSUPPORTED a multi-dimensional array in a list column
 *   FLOE_ECORRUPT     the text is not what the server prints for the type
 * The message names the Postgres type and quotes (a prefix of) the value.
 */
floe_status pgt_append_text(col_column *c, const pgt_map *m, const char *s,
                            size_t n, fbuf *scratch, floe_error *err);

/*
 * Appends one value in Postgres binary (send) format, as COPY ... (FORMAT
 * binary) and pgoutput's binary mode carry it (p, n bytes; the caller has
 * already taken NULL out). The same results and error codes as
 * pgt_append_text (infinities, NaN in a decimal column, multi-dimensional
 * arrays); FLOE_EINVAL when m->bin is PGT_BIN_NONE. Reads through fcur:
 * malformed bytes are FLOE_ECORRUPT naming the type and the offset.
 */
floe_status pgt_append_binary(col_column *c, const pgt_map *m, const uint8_t *p,
                              size_t n, floe_error *err);

/* Appends a SQL NULL. */
floe_status pgt_append_null(col_column *c, floe_error *err);

/* "int4", "numeric", ... : the decoder's name, for messages. */
const char *pgt_dec_name(pgt_dec d);

#endif
