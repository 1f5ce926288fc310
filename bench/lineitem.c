/*
 * lineitem: the Parquet write/read benchmark against DuckDB.
 *
 *   lineitem write N OUT.parquet   generate N rows of a TPC-H lineitem-shaped
 *                                  table in memory, then time writing them
 *   lineitem read FILE.parquet     time reading every column of FILE
 *
 * Each prints one line of key=value figures for bench/run to collect.
 *
 * The rows are a pure function of the row number i, and the same function is
 * written in SQL in bench/duckdb_lineitem.mjs, so floe and DuckDB write the
 * same data (bench/run checks that they did). Everything stays within 64-bit
 * signed arithmetic so DuckDB's BIGINT never overflows: hash inputs are below
 * 2^32 and multipliers below 2^31. Change one side, change the other.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "columnar/batch.h"
#include "parquet/parquet.h"

#define BATCH_ROWS 65536
#define M32 4294967296ull

/* bench_hash(i, s): two rounds of multiply mod 2^32 and xor-shift. */
static inline uint64_t bench_hash(uint64_t i, uint64_t s) {
  uint64_t x = ((i + s * 1000003ull) * 2146121005ull) % M32;
  x ^= x >> 15;
  x = (x * 1935289751ull) % M32;
  x ^= x >> 13;
  return x;
}

static const char *const RETURNFLAGS[] = {"R", "A", "N"};
static const char *const LINESTATUS[] = {"O", "F"};
static const char *const SHIPINSTRUCT[] = {"DELIVER IN PERSON", "COLLECT COD",
                                           "NONE", "TAKE BACK RETURN"};
static const char *const SHIPMODE[] = {"REG AIR", "AIR",  "RAIL", "SHIP",
                                       "TRUCK",   "MAIL", "FOB"};
static const char *const WORDS[64] = {
    "pending",  "regular",  "express",  "special",  "ironic",   "silent",
    "careful",  "blithely", "slyly",    "quickly",  "fluffily", "daringly",
    "deposits", "requests", "accounts", "packages", "pinto",    "beans",
    "foxes",    "ideas",    "dolphins", "courts",   "dugouts",  "sheaves",
    "somas",    "decoys",   "frays",    "tithes",   "waters",   "grouches",
    "hockey",   "players",  "patterns", "forges",   "braids",   "excuses",
    "sleep",    "haggle",   "boost",    "cajole",   "detect",   "engage",
    "maintain", "print",    "serve",    "solve",    "thrash",   "unwind",
    "affix",    "across",   "around",   "beneath",  "beside",   "besides",
    "beyond",   "final",    "furious",  "dogged",   "enticing", "quiet",
    "ruthless", "stealthy", "unusual",  "asleep"};

enum {
  L_ORDERKEY,
  L_PARTKEY,
  L_SUPPKEY,
  L_LINENUMBER,
  L_QUANTITY,
  L_EXTENDEDPRICE,
  L_DISCOUNT,
  L_TAX,
  L_RETURNFLAG,
  L_LINESTATUS,
  L_SHIPDATE,
  L_COMMITDATE,
  L_RECEIPTDATE,
  L_SHIPINSTRUCT,
  L_SHIPMODE,
  L_COMMENT,
  L_NCOLS
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static floe_status make_schema(col_schema **out, floe_error *err) {
  const col_dtype i64 = {.id = COL_INT64}, i32 = {.id = COL_INT32};
  const col_dtype dec = {.id = COL_DECIMAL, .precision = 15, .scale = 2};
  const col_dtype str = {.id = COL_UTF8}, date = {.id = COL_DATE};
  static const char *const names[L_NCOLS] = {
      "l_orderkey",    "l_partkey",       "l_suppkey",  "l_linenumber",
      "l_quantity",    "l_extendedprice", "l_discount", "l_tax",
      "l_returnflag",  "l_linestatus",    "l_shipdate", "l_commitdate",
      "l_receiptdate", "l_shipinstruct",  "l_shipmode", "l_comment"};
  const col_dtype types[L_NCOLS] = {i64, i64, i64,  i32,  dec,  dec, dec, dec,
                                    str, str, date, date, date, str, str, str};
  col_field f[L_NCOLS];
  memset(f, 0, sizeof f);
  for (int c = 0; c < L_NCOLS; c++) {
    f[c].id = c + 1;
    f[c].name = (char *)names[c];
    f[c].type = types[c];
    /* DuckDB writes every column OPTIONAL; match it so both files carry the
     * same definition levels. */
    f[c].nullable = true;
  }
  return col_schema_new(f, L_NCOLS, out, err);
}

static floe_status append_str(col_column *c, const char *s, floe_error *err) {
  return col_append_bytes(c, s, strlen(s), err);
}

/* Appends rows [from, from+n) to b. */
static floe_status gen_rows(col_batch *b, uint64_t from, uint64_t n,
                            floe_error *err) {
  col_column *c = b->cols;
  for (uint64_t i = from; i < from + n; i++) {
    uint64_t q = bench_hash(i, 3) % 50 + 1;
    int64_t sd = 8035 + (int64_t)(bench_hash(i, 9) % 2526);
    FLOE_TRY(col_append_i64(&c[L_ORDERKEY], (int64_t)(i / 4 + 1), err));
    FLOE_TRY(col_append_i64(&c[L_PARTKEY],
                            (int64_t)(bench_hash(i, 1) % 200000 + 1), err));
    FLOE_TRY(col_append_i64(&c[L_SUPPKEY],
                            (int64_t)(bench_hash(i, 2) % 10000 + 1), err));
    FLOE_TRY(col_append_i32(&c[L_LINENUMBER], (int32_t)(i % 4 + 1), err));
    FLOE_TRY(col_append_dec(&c[L_QUANTITY], q * 100, 0, err));
    FLOE_TRY(col_append_dec(&c[L_EXTENDEDPRICE],
                            q * (90000 + bench_hash(i, 4) % 10000000), 0, err));
    FLOE_TRY(col_append_dec(&c[L_DISCOUNT], bench_hash(i, 5) % 11, 0, err));
    FLOE_TRY(col_append_dec(&c[L_TAX], bench_hash(i, 6) % 9, 0, err));
    FLOE_TRY(
        append_str(&c[L_RETURNFLAG], RETURNFLAGS[bench_hash(i, 7) % 3], err));
    FLOE_TRY(
        append_str(&c[L_LINESTATUS], LINESTATUS[bench_hash(i, 8) % 2], err));
    FLOE_TRY(col_append_i32(&c[L_SHIPDATE], (int32_t)sd, err));
    FLOE_TRY(col_append_i32(
        &c[L_COMMITDATE],
        (int32_t)(sd + (int64_t)(bench_hash(i, 10) % 61) - 30), err));
    FLOE_TRY(col_append_i32(
        &c[L_RECEIPTDATE],
        (int32_t)(sd + 1 + (int64_t)(bench_hash(i, 11) % 30)), err));
    FLOE_TRY(append_str(&c[L_SHIPINSTRUCT], SHIPINSTRUCT[bench_hash(i, 12) % 4],
                        err));
    FLOE_TRY(append_str(&c[L_SHIPMODE], SHIPMODE[bench_hash(i, 13) % 7], err));

    /* 2 to 4 words joined by single spaces: 11 to 35 characters. */
    char text[64];
    size_t len = 0;
    uint64_t nw = 2 + bench_hash(i, 14) % 3;
    for (uint64_t w = 0; w < nw; w++) {
      const char *word = WORDS[bench_hash(i, 15 + w) % 64];
      size_t wl = strlen(word);
      if (w) text[len++] = ' ';
      memcpy(text + len, word, wl);
      len += wl;
    }
    FLOE_TRY(col_append_bytes(&c[L_COMMENT], text, len, err));
  }
  return col_batch_seal(b, err);
}

static int fail(const char *what, const floe_error *err) {
  fprintf(stderr, "lineitem: %s: %s\n", what, err->msg);
  return 1;
}

static int cmd_write(uint64_t nrows, const char *path) {
  floe_error err = {0};
  col_schema *schema = NULL;
  if (make_schema(&schema, &err)) return fail("schema", &err);

  size_t nbatches = (size_t)((nrows + BATCH_ROWS - 1) / BATCH_ROWS);
  col_batch **batches = calloc(nbatches ? nbatches : 1, sizeof *batches);
  if (!batches) {
    col_schema_unref(schema);
    fprintf(stderr, "lineitem: out of memory\n");
    return 1;
  }
  int rc = 1;
  double t0 = now_s();
  for (size_t k = 0; k < nbatches; k++) {
    uint64_t from = (uint64_t)k * BATCH_ROWS;
    uint64_t n = nrows - from < BATCH_ROWS ? nrows - from : BATCH_ROWS;
    if (col_batch_new(schema, &batches[k], &err) ||
        gen_rows(batches[k], from, n, &err)) {
      fail("generate", &err);
      goto out;
    }
  }
  double gen_s = now_s() - t0;

  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    goto out;
  }
  /* A large stdio buffer, as DuckDB's own buffered file writer has. */
  setvbuf(f, NULL, _IOFBF, 1 << 20);
  pq_writer_opts opts;
  pq_writer_opts_default(&opts);
  opts.codec = PQ_CODEC_ZSTD;
  pq_writer *w = NULL;
  pq_sink sink = {pq_sink_file_write, f};
  double t1 = now_s();
  if (pq_writer_open(schema, &opts, sink, &w, &err)) {
    fail("open", &err);
    fclose(f);
    goto out;
  }
  for (size_t k = 0; k < nbatches; k++) {
    if (pq_writer_write(w, batches[k], &err)) {
      fail("write", &err);
      pq_writer_free(w);
      fclose(f);
      goto out;
    }
  }
  if (pq_writer_close(w, NULL, &err)) {
    fail("close", &err);
    pq_writer_free(w);
    fclose(f);
    goto out;
  }
  pq_writer_free(w);
  if (fclose(f) != 0) {
    perror(path);
    goto out;
  }
  double write_s = now_s() - t1;
  printf("rows=%" PRIu64 " gen_s=%.3f write_s=%.3f\n", nrows, gen_s, write_s);
  rc = 0;
out:
  for (size_t k = 0; k < nbatches; k++) col_batch_free(batches[k]);
  free(batches);
  col_schema_unref(schema);
  return rc;
}

static int cmd_read(const char *path) {
  floe_error err = {0};
  pq_reader *r = NULL;
  double t0 = now_s();
  if (pq_reader_open_file(path, NULL, &r, &err)) return fail(path, &err);
  int64_t rows = 0;
  col_batch *b = NULL;
  if (col_batch_new(pq_reader_schema(r), &b, &err)) {
    pq_reader_free(r);
    return fail(path, &err);
  }
  for (;;) {
    if (pq_reader_next_into(r, b, &err)) {
      col_batch_free(b);
      pq_reader_free(r);
      return fail(path, &err);
    }
    if (b->length == 0) break;
    rows += b->length;
  }
  col_batch_free(b);
  pq_reader_free(r);
  printf("rows=%" PRId64 " read_s=%.3f\n", rows, now_s() - t0);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "write") == 0) {
    char *end = NULL;
    unsigned long long n = strtoull(argv[2], &end, 10);
    if (!*argv[2] || *end || n > 1000000000ull) {
      fprintf(stderr, "lineitem: rows must be 0..1000000000\n");
      return 2;
    }
    return cmd_write(n, argv[3]);
  }
  if (argc == 3 && strcmp(argv[1], "read") == 0) return cmd_read(argv[2]);
  fprintf(stderr, "usage: lineitem write N OUT.parquet | lineitem read FILE\n");
  return 2;
}
