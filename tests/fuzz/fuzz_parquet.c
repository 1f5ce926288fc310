/*
 * Fuzz target: arbitrary bytes as a Parquet file, opened through a memory
 * source and read to the end (all columns, small batches, a skip function
 * so the skipping path runs too). Property: never crashes, never leaks,
 * allocation bounded by max_alloc; errors are fine.
 */
#include <stdint.h>
#include <string.h>

#include "parquet/parquet.h"

typedef struct mem {
  const uint8_t *p;
  size_t n;
} mem;

static floe_status mem_read(void *ctx, uint64_t off, void *buf, size_t n,
                            floe_error *err) {
  const mem *m = ctx;
  if (off > m->n || n > m->n - off)
    return ferr_set(err, FLOE_EIO, "read past the end");
  memcpy(buf, m->p + off, n);
  return FLOE_OK;
}

static bool skip_some(void *ctx, int64_t row) {
  (void)ctx;
  return row % 7 == 3;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mem m = {data, size};
  pq_source src = {mem_read, &m, size, "fuzz.parquet"};
  pq_reader_opts o;
  memset(&o, 0, sizeof o);
  o.max_alloc = 32 << 20;
  o.batch_rows = 100;
  /* the last byte picks the skipping path, so both run */
  if (size && (data[size - 1] & 1)) o.skip = skip_some;
  for (int pass = 0; pass < 2; pass++) {
    pq_reader *r;
    floe_error err;
    if (pq_reader_open(src, &o, &r, &err) != FLOE_OK) return 0;
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
