/*
 * Fuzz target: arbitrary bytes as a Parquet file, opened through a memory
 * source and read to the end (all columns, small batches, a skip function
 * so the skipping path runs too), then a row range of it (lazy page reads,
 * pages skipped by their headers). Property: never crashes, never leaks,
 * allocation bounded by max_alloc; errors are fine.
 */
#include <stdint.h>
#include <string.h>

#include "parquet/parquet.h"

static bool skip_some(void *ctx, int64_t row) {
  (void)ctx;
  return row % 7 == 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pq_source src = pq_source_mem(data, size, "fuzz.parquet");
  pq_reader_opts o;
  memset(&o, 0, sizeof o);
  o.max_alloc = 32 << 20;
  o.batch_rows = 100;
  /* the last byte picks the skipping path, so both run */
  if (size && (data[size - 1] & 1)) o.skip = skip_some;
  for (int pass = 0; pass < 3; pass++) {
    pq_reader *r;
    floe_error err;
    if (pq_reader_open(src, &o, &r, &err) != FLOE_OK) return 0;
    /* the range comes from the last bytes (the footer's length, for a
     * well-formed file: varied), anywhere in the file */
    int64_t nrows = pq_reader_num_rows(r);
    if (pass == 2 && size > 8 &&
        pq_reader_set_rows(
            r,
            nrows > 0
                ? (int64_t)(data[size - 8] * 131u + data[size - 7]) % nrows
                : 0,
            1 + data[size - 8] % 50, &err) != FLOE_OK) {
      pq_reader_free(r);
      return 0;
    }
    if (pass == 0) {
      fbuf out = FBUF_INIT;
      (void)pq_reader_describe(r, &out, &err);
      fbuf_free(&out);
    }
    col_batch *b;
    int64_t rows = 0;
    while (pq_reader_next(r, &b, &err) == FLOE_OK && b) {
      rows += b->length;
      col_batch_free(b);
      /* a hostile num_rows can ask for billions of rows of nothing: the
       * reader handles it, the fuzzer need not wait for it */
      if (rows > 1000000) break;
    }
    pq_reader_free(r);
    o.skip = o.skip ? NULL : skip_some;
  }
  return 0;
}
