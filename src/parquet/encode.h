/*
 * Parquet value encodings used by the writer: the RLE/bit-packed hybrid (for
 * levels and dictionary indices), bit packing of booleans, and the
 * dictionary builder (an open-addressing hash table) for RLE_DICTIONARY.
 *
 * All appends go to a caller-owned fbuf; nothing here keeps pointers into
 * the caller's data after a call returns.
 */
#ifndef FLOE_PARQUET_ENCODE_H
#define FLOE_PARQUET_ENCODE_H

#include <stdbool.h>
#include <stdint.h>

#include "columnar/column.h"
#include "util/buf.h"

/* Appends the RLE/bit-packed hybrid encoding of v[0..n) at bit width bw
 * (1..32), without any length prefix. Runs of 8 or more equal values become
 * RLE runs, the rest bit-packed groups of 8 (the last one zero-padded).
 * Values must fit in bw bits. */
floe_status pq_rle_encode_u32(const uint32_t *v, size_t n, int bw, fbuf *out,
                              floe_error *err);
floe_status pq_rle_encode_u8(const uint8_t *v, size_t n, int bw, fbuf *out,
                             floe_error *err);
/* A single RLE run of n copies of value (e.g. "all defined" levels). */
floe_status pq_rle_encode_run(uint32_t value, size_t n, int bw, fbuf *out,
                              floe_error *err);

/* Appends the PLAIN encoding of booleans: the bits of bitmap at positions
 * [from, to) whose validity bit is set (validity NULL = all), packed LSB
 * first, the last byte zero-padded. */
floe_status pq_plain_bools(const uint8_t *bits, const uint8_t *validity,
                           int64_t from, int64_t to, fbuf *out,
                           floe_error *err);

/* Number of set bits of bitmap in [from, to). */
int64_t pq_count_bits(const uint8_t *bitmap, int64_t from, int64_t to);

/*
 * Dictionary builder. Keys are either fixed-width values (4 or 8 bytes kept
 * inline in the table, other widths compared against the dictionary) or
 * byte strings. The dictionary page body (PLAIN encoding of the entries) is
 * built as entries are added, so its size is always known; adding stops with
 * *full = true as soon as it would exceed max_bytes, or when the values look
 * nearly all distinct (a dictionary would not pay).
 */
typedef struct pq_dict {
  int width;          /* fixed key width, 0 for byte strings */
  uint32_t count;     /* entries */
  uint32_t mask;      /* table slots - 1 (a power of two minus one) */
  uint32_t *slot_idx; /* entry index + 1; 0 = empty slot */
  uint64_t *slot_key; /* width 4/8: the key; otherwise its hash */
  fbuf page;          /* dictionary page body (PLAIN) */
  fbuf offs;          /* byte strings: uint32 offset of entry i's bytes */
  size_t max_bytes;
} pq_dict;

void pq_dict_init(pq_dict *d);
/* Empties the dictionary for a new column chunk (keeps capacity). */
void pq_dict_reset(pq_dict *d, int width, size_t max_bytes);
void pq_dict_free(pq_dict *d);

/* Adds n fixed-width values (PLAIN-encoded, width bytes each) and writes
 * each value's entry index to idx[0..n). On *full the dictionary is
 * abandoned and idx is incomplete. */
floe_status pq_dict_add_fixed(pq_dict *d, const uint8_t *vals, size_t n,
                              uint32_t *idx, bool *full, floe_error *err);
/* Adds the non-null byte strings of rows [from, to) of c (utf8/binary),
 * writing one index per non-null row to idx. */
floe_status pq_dict_add_bytes(pq_dict *d, const col_column *c, int64_t from,
                              int64_t to, uint32_t *idx, bool *full,
                              floe_error *err);

#endif
