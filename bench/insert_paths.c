/*
 * The initial copy's two ways into the engine, on pgbench_accounts-shaped
 * rows (int32 key, int32, int32, 84-byte text) in one transaction, with
 * the default spill threshold: floe_row + floe_insert per row against
 * tbl_insert_batch per 65536-row batch (what src/pg/source.c uses).
 *
 *   insert_paths [ROWS] [DIR]      prints key=value lines: CPU seconds
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "floe/floe.h"
#include "table/ingest.h"

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, const floe_error *e) {
  fprintf(stderr, "insert_paths: %s: %s\n", what, e->msg);
  return 1;
}

static const floe_column COLS[4] = {
    {"aid", FLOE_INT32, 0, 0, FLOE_BOOL, 0, 0, 0, NULL},
    {"bid", FLOE_INT32, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"abalance", FLOE_INT32, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
    {"filler", FLOE_UTF8, 0, 0, FLOE_BOOL, 0, 0, 1, NULL},
};

static int run(const char *dir, const char *name, int64_t rows, bool batch,
               double *secs) {
  floe_error e;
  floe_table_ref ref = {dir, NULL, NULL, "bench", name};
  int key = 0;
  floe_table *t = NULL;
  if (floe_table_open(&ref, COLS, 4, &key, 1, NULL, &t, &e))
    return fail("open", &e);
  char filler[84];
  memset(filler, ' ', sizeof filler);
  double t0 = cpu_now();
  if (batch) {
    col_field f[4] = {
        {1, "aid", {COL_INT32, 0, 0, 0, 0, 0}, false, 0, false},
        {2, "bid", {COL_INT32, 0, 0, 0, 0, 0}, true, 0, false},
        {3, "abalance", {COL_INT32, 0, 0, 0, 0, 0}, true, 0, false},
        {4, "filler", {COL_UTF8, 0, 0, 0, 0, 0}, true, 0, false}};
    col_schema *s = NULL;
    col_batch *b = NULL;
    if (col_schema_new(f, 4, &s, &e) || col_batch_new(s, &b, &e))
      return fail("batch", &e);
    col_schema_unref(s);
    for (int64_t r = 0; r < rows;) {
      col_batch_clear(b);
      int64_t n = rows - r < 65536 ? rows - r : 65536;
      for (int64_t i = 0; i < n; i++, r++) {
        col_append_i32(&b->cols[0], (int32_t)r + 1, NULL);
        col_append_i32(&b->cols[1], (int32_t)(r / 100000) + 1, NULL);
        col_append_i32(&b->cols[2], 0, NULL);
        col_append_bytes(&b->cols[3], filler, sizeof filler, NULL);
      }
      b->length = n;
      if (tbl_insert_batch(t, 0, 0, b, &e)) return fail("insert batch", &e);
    }
    col_batch_free(b);
  } else {
    floe_row *row = NULL;
    if (floe_row_new(t, &row, &e)) return fail("row", &e);
    for (int64_t r = 0; r < rows; r++) {
      floe_row_reset(row);
      if (floe_row_set_int(row, 0, r + 1, &e) ||
          floe_row_set_int(row, 1, r / 100000 + 1, &e) ||
          floe_row_set_int(row, 2, 0, &e) ||
          floe_row_set_bytes(row, 3, filler, sizeof filler, &e) ||
          floe_insert(t, 0, 0, row, &e))
        return fail("insert", &e);
    }
    floe_row_free(row);
  }
  if (floe_commit(t, 0, 100, &e)) return fail("commit", &e);
  *secs = cpu_now() - t0;
  floe_table_free(t);
  return 0;
}

int main(int argc, char **argv) {
  int64_t rows = argc > 1 ? atoll(argv[1]) : 2000000;
  char tmpl[] = "/tmp/floe-insert-XXXXXX";
  const char *dir = argc > 2 ? argv[2] : mkdtemp(tmpl);
  if (!dir) return 1;
  double row_s = 0, batch_s = 0;
  if (run(dir, "by_row", rows, false, &row_s)) return 1;
  if (run(dir, "by_batch", rows, true, &batch_s)) return 1;
  printf("rows=%" PRId64 " floe_insert_cpu_s=%.3f insert_batch_cpu_s=%.3f "
         "ratio=%.2f\n",
         rows, row_s, batch_s, row_s / batch_s);
  if (argc <= 2) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
  }
  return 0;
}
