/*
 * Avro (avro.apache.org/docs/current/specification): the binary encoding and
 * object container files, as Iceberg manifests and manifest lists use them.
 *
 * floe writes its own because Iceberg needs two things generic libraries
 * lose: the header schema must keep every `field-id` / `element-id` /
 * `key-id` / `value-id` attribute (readers map columns by id), and the
 * header carries custom keys (`schema`, `partition-spec`, `format-version`,
 * ...). So the writer stores the caller's schema JSON byte for byte and the
 * caller encodes each record with the avro_put_* primitives.
 *
 * Reading is generic: the header schema is parsed into a tree (avro_schema)
 * and every record is decoded against it into a value tree (avro_value).
 * Both trees live in a caller-supplied farena and die with it.
 *
 * Container layout:
 *   "Obj" 0x01, metadata map<bytes> (avro.schema, avro.codec, custom keys),
 *   16-byte sync marker, then blocks of
 *   long object count, long byte size, bytes (raw deflate for "deflate"),
 *   the sync marker again.
 */
#ifndef FLOE_ICEBERG_AVRO_H
#define FLOE_ICEBERG_AVRO_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"

#define AVRO_SYNC_SIZE 16
/* Nesting cap for schemas and values: Iceberg manifests nest ~5 deep. */
#define AVRO_MAX_DEPTH 64

/* ---- binary encoding: writing ---- */

/* int and long are both zigzag varints; an int is a long in int32 range. */
floe_status avro_put_long(fbuf *b, int64_t v, floe_error *err);
floe_status avro_put_int(fbuf *b, int32_t v, floe_error *err);
floe_status avro_put_bool(fbuf *b, bool v, floe_error *err);
/* IEEE 754, little-endian, bit-exact (NaN payloads and -0.0 survive). */
floe_status avro_put_float(fbuf *b, float v, floe_error *err);
floe_status avro_put_double(fbuf *b, double v, floe_error *err);
/* long length, then the bytes. */
floe_status avro_put_bytes(fbuf *b, const void *p, size_t n, floe_error *err);
/* A NUL-terminated string (use avro_put_bytes for strings with a length). */
floe_status avro_put_string(fbuf *b, const char *s, floe_error *err);
/* Just the bytes: the size lives in the schema. */
floe_status avro_put_fixed(fbuf *b, const void *p, size_t n, floe_error *err);
/* Zero-based index of the union branch; the branch's value follows (nothing
 * for the null branch). */
floe_status avro_put_union(fbuf *b, int64_t branch, floe_error *err);
/* Enum: the symbol's zero-based index. */
floe_status avro_put_enum(fbuf *b, int32_t index, floe_error *err);

/*
 * Arrays and maps: blocks of (count, items), ended by a zero count.
 * With the count known up front:
 *     avro_put_long(b, n); <n items>; avro_put_long(b, 0)   (n > 0)
 *     avro_put_long(b, 0)                                    (n == 0)
 * When items are streamed, avro_block counts them and writes the count in
 * front on end (one memmove of the items' bytes):
 *     avro_block blk; avro_block_begin(b, &blk);
 *     for each item: avro_block_item(&blk); <encode item into b>
 *     avro_block_end(b, &blk, err);
 * A map item is a string key followed by the value.
 */
typedef struct avro_block {
  size_t start;  /* b->len at begin: where the items start */
  int64_t count; /* items so far */
} avro_block;

static inline void avro_block_begin(const fbuf *b, avro_block *blk) {
  blk->start = b->len;
  blk->count = 0;
}
static inline void avro_block_item(avro_block *blk) { blk->count++; }
/* Inserts the count before the items (if any) and writes the terminator. */
floe_status avro_block_end(fbuf *b, const avro_block *blk, floe_error *err);

/* ---- binary encoding: reading (every read bounds-checked by fcur) ---- */

floe_status avro_get_long(fcur *c, int64_t *out, floe_error *err);
/* Fails unless the long fits an int32. */
floe_status avro_get_int(fcur *c, int32_t *out, floe_error *err);
/* Only 0 and 1 are booleans. */
floe_status avro_get_bool(fcur *c, bool *out, floe_error *err);
floe_status avro_get_float(fcur *c, float *out, floe_error *err);
floe_status avro_get_double(fcur *c, double *out, floe_error *err);
/* Borrows the bytes from c's buffer (not NUL-terminated). Negative lengths
 * and lengths past the end fail. */
floe_status avro_get_bytes(fcur *c, const uint8_t **p, size_t *n,
                           floe_error *err);

/* ---- schemas ---- */

typedef enum avro_type {
  AV_NULL = 0,
  AV_BOOLEAN,
  AV_INT,
  AV_LONG,
  AV_FLOAT,
  AV_DOUBLE,
  AV_BYTES,
  AV_STRING,
  AV_RECORD,
  AV_ENUM,
  AV_ARRAY,
  AV_MAP,
  AV_UNION,
  AV_FIXED,
} avro_type;

/* "long", "record", ... */
const char *avro_type_name(avro_type t);

typedef struct avro_schema avro_schema;

/* A schema property floe does not interpret ("doc", "default",
 * "adjust-to-utc", ...), kept as compact JSON text. */
typedef struct avro_attr {
  const char *key;
  const char *json; /* e.g. "true", "12", "\"text\"" */
} avro_attr;

typedef struct avro_field {
  const char *name;
  const avro_schema *type;
  bool has_id;
  int32_t id; /* the "field-id" attribute */
  size_t nattrs;
  const avro_attr *attrs;
} avro_field;

struct avro_schema {
  avro_type type;
  const char *name;    /* full name (namespace.name) of record/enum/fixed */
  const char *logical; /* "logicalType" value, or NULL */
  int32_t precision;   /* decimal precision/scale, -1 when absent */
  int32_t scale;
  size_t min_size; /* a lower bound on the encoded size of one value */
  size_t nattrs;
  const avro_attr *attrs;
  /* AV_RECORD */
  size_t nfields;
  const avro_field *fields;
  /* AV_ENUM */
  size_t nsymbols;
  const char *const *symbols;
  /* AV_UNION */
  size_t nbranches;
  const avro_schema *const *branches;
  /* AV_ARRAY: items; AV_MAP: values (keys are strings) */
  const avro_schema *items;
  bool has_element_id, has_key_id, has_value_id;
  int32_t element_id, key_id, value_id;
  /* AV_FIXED */
  size_t size;
};

/* Parses schema JSON into a tree held by a (named types may refer to
 * themselves, so the tree can be a graph). Rejects what the spec forbids
 * (unknown types, redefined names, unions in unions, ...). *out lives until
 * a is reset or freed. */
floe_status avro_schema_parse(const char *json, size_t len, farena *a,
                              const avro_schema **out, floe_error *err);
/* The record field called name, or NULL. */
const avro_field *avro_schema_field(const avro_schema *s, const char *name);
/* The JSON text of an uninterpreted attribute of s, or NULL. */
const char *avro_schema_attr(const avro_schema *s, const char *key);

/* ---- values ---- */

typedef struct avro_value avro_value;
typedef struct avro_pair avro_pair;

/*
 * One decoded datum. Unions are resolved: type is the branch's type (AV_NULL
 * for the null branch) and branch says which one; type is never AV_UNION.
 */
struct avro_value {
  avro_type type;
  int32_t branch;            /* union branch index, -1 outside unions */
  const avro_schema *schema; /* the (branch's) schema */
  const char *name;          /* field name inside a record, else NULL */
  union {
    bool b;
    int64_t l; /* AV_INT and AV_LONG */
    float f;
    double d;
    int32_t e; /* AV_ENUM: symbol index */
    /* AV_BYTES, AV_STRING, AV_FIXED: arena copy, NUL-terminated */
    struct {
      const uint8_t *p;
      size_t n;
    } bytes;
    /* AV_RECORD: fields in schema order; AV_ARRAY: items */
    struct {
      const avro_value *v;
      size_t n;
    } list;
    /* AV_MAP: entries in encoded order */
    struct {
      const avro_pair *v;
      size_t n;
    } map;
  } u;
};

struct avro_pair {
  const char *key; /* NUL-terminated */
  size_t key_len;
  avro_value value;
};

/* Limits on decoding one record. (The reader also caps the values of a
 * whole block at max_values + 8 per byte of the block.) */
typedef struct avro_decode_limits {
  size_t max_values; /* values (incl. nested) per record; 0: 1<<24 */
} avro_decode_limits;

/* Decodes one datum of schema s at c into a. Strings and bytes are copied,
 * so *out does not borrow c's buffer. */
floe_status avro_decode(const avro_schema *s, fcur *c, farena *a,
                        const avro_decode_limits *lim, const avro_value **out,
                        floe_error *err);

/* Record field by name or by field-id; NULL if v is not a record or lacks
 * it. */
const avro_value *avro_value_field(const avro_value *v, const char *name);
const avro_value *avro_value_field_by_id(const avro_value *v, int32_t id);
/* Like avro_value_field, but a missing field is an error naming it. */
floe_status avro_value_get(const avro_value *v, const char *name,
                           const avro_value **out, floe_error *err);

/*
 * Type-checked accessors: each fails (FLOE_ECORRUPT, "avro field 'x':
 * expected long, got string") when v has another type, and with "missing
 * value" when v is NULL. Widening as Avro's schema resolution allows: _long
 * takes int, _double takes int, long and float, _bytes takes fixed.
 */
bool avro_value_is_null(const avro_value *v);
floe_status avro_value_bool(const avro_value *v, bool *out, floe_error *err);
floe_status avro_value_int(const avro_value *v, int32_t *out, floe_error *err);
floe_status avro_value_long(const avro_value *v, int64_t *out, floe_error *err);
floe_status avro_value_float(const avro_value *v, float *out, floe_error *err);
floe_status avro_value_double(const avro_value *v, double *out,
                              floe_error *err);
/* *s is NUL-terminated; n excludes the NUL (strings may hold NULs). */
floe_status avro_value_string(const avro_value *v, const char **s, size_t *n,
                              floe_error *err);
floe_status avro_value_bytes(const avro_value *v, const uint8_t **p, size_t *n,
                             floe_error *err);
/* Enum index and symbol (borrowed from the schema). */
floe_status avro_value_enum(const avro_value *v, int32_t *index,
                            const char **symbol, floe_error *err);
/* 0 when v is not an array; the _at helpers return NULL out of range. */
size_t avro_value_array_len(const avro_value *v);
const avro_value *avro_value_array_at(const avro_value *v, size_t i);
size_t avro_value_map_len(const avro_value *v);
const avro_pair *avro_value_map_at(const avro_value *v, size_t i);
/* Checks that v is an array (or map) and gives its length. */
floe_status avro_value_array(const avro_value *v, size_t *n, floe_error *err);
floe_status avro_value_map(const avro_value *v, size_t *n, floe_error *err);

/* ---- container files: writing ---- */

typedef enum avro_codec {
  AVRO_CODEC_NULL = 0,
  AVRO_CODEC_DEFLATE = 1
} avro_codec;

/* A custom header key; val is written as Avro bytes. */
typedef struct avro_meta_entry {
  const char *key;
  const void *val;
  size_t len;
} avro_meta_entry;

typedef struct avro_writer_opts {
  const char *schema_json; /* required; stored verbatim as avro.schema */
  size_t schema_len;       /* 0: strlen(schema_json) */
  avro_codec codec;
  int deflate_level;           /* 1..9; 0: zlib's default (6) */
  const avro_meta_entry *meta; /* written after avro.schema/avro.codec, in */
  size_t nmeta;                /* order; "avro."-prefixed keys are refused */
  const uint8_t *sync;         /* 16 bytes, or NULL: derived from */
  uint64_t sync_seed;          /* sync_seed and the schema (deterministic) */
  size_t block_records;        /* flush after this many; 0: 4096 */
  size_t block_bytes;          /* or this many encoded bytes; 0: 1 MiB */
} avro_writer_opts;

typedef struct avro_writer avro_writer;

/* Validates the schema (it must parse), then appends the header to out.
 * The writer keeps out (borrowed) until avro_writer_free; o and everything
 * it points to are only read during the call. Caller frees *w. */
floe_status avro_writer_open(const avro_writer_opts *o, fbuf *out,
                             avro_writer **w, floe_error *err);
/* Appends one record's encoded bytes. */
floe_status avro_writer_append_record(avro_writer *w, const void *p, size_t n,
                                      floe_error *err);
/* Or encode straight into the block: write one record's bytes into the
 * returned buffer (owned by w, valid until the next call on w), then
 * commit it. */
fbuf *avro_writer_record_buf(avro_writer *w);
floe_status avro_writer_commit_record(avro_writer *w, floe_error *err);
/* Flushes the last block; out then holds a complete file. Fails if bytes
 * were written into the record buffer but not committed. */
floe_status avro_writer_finish(avro_writer *w, floe_error *err);
/* Records committed so far. */
uint64_t avro_writer_count(const avro_writer *w);
void avro_writer_free(avro_writer *w);

/* ---- container files: reading ---- */

typedef struct avro_reader_opts {
  size_t max_block_bytes; /* inflated size cap per block; 0: 64 MiB */
  size_t max_values;      /* per record, see avro_decode_limits */
} avro_reader_opts;

typedef struct avro_reader avro_reader;

/* Parses the header of the file p[0..n) (magic, metadata, schema, codec,
 * sync). The reader borrows p until avro_reader_free; the schema tree lives
 * in the reader. name prefixes error messages. o may be NULL. */
floe_status avro_reader_open(const uint8_t *p, size_t n, const char *name,
                             const avro_reader_opts *o, avro_reader **r,
                             floe_error *err);
void avro_reader_free(avro_reader *r);

const avro_schema *avro_reader_schema(const avro_reader *r);
avro_codec avro_reader_codec(const avro_reader *r);
/* Header value of key, borrowed from the file bytes; false if absent.
 * avro.schema is there too. */
bool avro_reader_meta(const avro_reader *r, const char *key, const uint8_t **p,
                      size_t *n);
size_t avro_reader_meta_count(const avro_reader *r);
/* The i-th header entry in file order. */
void avro_reader_meta_at(const avro_reader *r, size_t i, const char **key,
                         const uint8_t **val, size_t *len);

/* Decodes the next record into a (see avro_decode); FLOE_EEOF after the
 * last. Checks every block's sync marker, sizes and that its records use
 * exactly its bytes. */
floe_status avro_reader_next(avro_reader *r, farena *a, const avro_value **out,
                             floe_error *err);

#endif
