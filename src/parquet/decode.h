/*
 * Decoders for the value and level encodings of Parquet data pages. Each is
 * a small streaming state machine over a byte range the caller owns (a page
 * buffer): get(n) produces exactly n values or fails as corrupt, so a page
 * can be decoded window by window into fixed-size scratch and no decoder
 * ever allocates.
 *
 * Errors are plain ("RLE run overruns the data"); the caller prefixes the
 * file, offset and column.
 */
#ifndef FLOE_PARQUET_DECODE_H
#define FLOE_PARQUET_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"

/* A borrowed byte string (into a page or dictionary buffer). */
typedef struct pq_slice {
  const uint8_t *p;
  uint32_t n;
} pq_slice;

/* ---- RLE / bit-packed hybrid (levels, dictionary indices, booleans) ---- */

typedef struct pq_rle {
  const uint8_t *p;
  size_t len, pos;
  int bw;             /* bit width, 0..32 */
  bool msb;           /* deprecated BIT_PACKED: one MSB-first run, no headers */
  uint32_t left;      /* values left in the current run */
  bool packed;        /* current run is bit-packed */
  uint32_t value;     /* current RLE run's value */
  const uint8_t *run; /* bit-packed run bytes */
  size_t run_bytes;
  uint64_t bit; /* bit position inside run */
} pq_rle;

/* Hybrid stream of len bytes with bit width bw (0..32). */
void pq_rle_init(pq_rle *r, const uint8_t *p, size_t len, int bw);
/* Deprecated BIT_PACKED levels: n values MSB-first in ceil(n*bw/8) bytes
 * (the caller checks those bytes are there). */
void pq_bitpacked_init(pq_rle *r, const uint8_t *p, size_t len, int bw,
                       uint32_t n);
/* Next n values into out; values must be <= max (else corrupt). */
floe_status pq_rle_get(pq_rle *r, uint32_t *out, size_t n, uint32_t max,
                       floe_error *err);

/* ---- PLAIN ---- */

/* n fixed-width values (width bytes each) copied to out. */
floe_status pq_plain_fixed(fcur *c, int width, size_t n, void *out,
                           floe_error *err);
/* n booleans, bit-packed LSB first; *bit is the bit position in c (kept
 * across calls; c->pos is advanced to cover whole bytes). */
floe_status pq_plain_bool(fcur *c, uint64_t *bit, size_t n, uint8_t *out,
                          floe_error *err);
/* n length-prefixed byte arrays. */
floe_status pq_plain_bytes(fcur *c, size_t n, pq_slice *out, floe_error *err);
/* n fixed-length byte arrays of len bytes. */
floe_status pq_plain_flba(fcur *c, size_t n, uint32_t len, pq_slice *out,
                          floe_error *err);

/* ---- DELTA_BINARY_PACKED ---- */

typedef struct pq_delta {
  const uint8_t *p;
  size_t len, pos;
  bool is32;
  uint64_t block_size, nmini, per_mini;
  uint64_t total, done; /* values in the stream / already produced */
  uint64_t last;        /* previous value (wrapping arithmetic) */
  uint64_t min_delta;
  const uint8_t *widths; /* bit widths of this block's miniblocks */
  uint64_t mini;         /* current miniblock index in the block */
  uint64_t in_mini;      /* values taken from the current miniblock */
  const uint8_t *mp;     /* current miniblock data */
  size_t mbytes;         /* its byte size */
  int mbw;               /* its bit width */
  bool in_block;
} pq_delta;

/* Reads the header. is32: INT32 values (bit widths <= 32). The stream may
 * hold at most max_total values (the page's value count), which bounds the
 * work a hostile header can ask for. */
floe_status pq_delta_init(pq_delta *d, const uint8_t *p, size_t len, bool is32,
                          uint64_t max_total, floe_error *err);
floe_status pq_delta_get(pq_delta *d, int64_t *out, size_t n, floe_error *err);
/* Byte offset just past the whole stream (decodes what is left of a copy). */
floe_status pq_delta_end(const pq_delta *d, size_t *end, floe_error *err);

/* ---- DELTA_LENGTH_BYTE_ARRAY ---- */

typedef struct pq_dlba {
  pq_delta lens;
  const uint8_t *data;
  size_t len, pos;
} pq_dlba;

floe_status pq_dlba_init(pq_dlba *d, const uint8_t *p, size_t len,
                         uint64_t max_total, floe_error *err);
floe_status pq_dlba_get(pq_dlba *d, pq_slice *out, size_t n, floe_error *err);

/* ---- DELTA_BYTE_ARRAY (incremental / front coding) ---- */

typedef struct pq_dba {
  pq_delta prefixes;
  pq_dlba suffixes;
  fbuf prev;        /* the previous value (owned) */
  fbuf out;         /* values of the last get call (owned) */
  size_t max_alloc; /* cap on out: prefixes can expand without bound */
} pq_dba;

/* d must be zeroed once before the first init (buffers are reused). */
floe_status pq_dba_init(pq_dba *d, const uint8_t *p, size_t len,
                        uint64_t max_total, size_t max_alloc, floe_error *err);
/* out slices point into d->out and live until the next get. */
floe_status pq_dba_get(pq_dba *d, pq_slice *out, size_t n, floe_error *err);
void pq_dba_free(pq_dba *d);

/* ---- BYTE_STREAM_SPLIT ---- */

typedef struct pq_bss {
  const uint8_t *p;
  size_t count; /* values in the stream */
  size_t idx;
  int width;
} pq_bss;

floe_status pq_bss_init(pq_bss *b, const uint8_t *p, size_t len, int width,
                        floe_error *err);
/* n values of width bytes into out (little-endian, as PLAIN would give). */
floe_status pq_bss_get(pq_bss *b, uint8_t *out, size_t n, floe_error *err);

#endif
