/*
 * Micro benchmark of the table index (src/table/index.h):
 *
 *   table_index [BIG_ROWS [DIR]]    default 20,000,000 rows, DIR = $TMPDIR
 *
 * For 1M and BIG_ROWS entries with random 64-bit hashes: mem index insert
 * (from an empty table: growth included) and lookup ns/op, file index build
 * time and lookup ns/op, RAM bytes per row, and the lookup cost ratio big
 * vs 1M (the engine wants per-change cost independent of table size).
 * Lookups are of present hashes in random order; each visits its candidate.
 * Times are CPU time, lookups the best of three passes. Prints key=value
 * pairs, one line per size, then a summary line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "table/index.h"

#define SMALL 1000000
#define LOOKUPS 2000000

/* CPU time of this process (user + system): the machine is shared, and
 * wall time would count other processes' turns on the CPU. */
static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static int visit(void *arg, uint64_t loc) {
  *(uint64_t *)arg += loc;
  return 0;
}

static void die(const char *what, const floe_error *e) {
  fprintf(stderr, "table_index: %s: %s\n", what, e->msg);
  exit(1);
}

typedef struct result {
  double mem_ins_ns, mem_ins_sized_ns, mem_look_ns, mem_bytes_row;
  double file_build_s, file_look_ns, file_bytes_row;
} result;

static void run(int64_t n, const char *dir, result *r) {
  floe_error e;
  uint64_t seed = 1234567;
  uint64_t *hs = malloc((size_t)n * sizeof *hs);
  uint64_t *q = malloc((size_t)LOOKUPS * sizeof *q);
  if (!hs || !q) {
    fprintf(stderr, "table_index: out of memory\n");
    exit(1);
  }
  for (int64_t i = 0; i < n; i++) hs[i] = splitmix(&seed);
  for (int64_t i = 0; i < LOOKUPS; i++)
    q[i] = hs[splitmix(&seed) % (uint64_t)n];
  uint64_t sink = 0;

  /* mem: one insert call per row (as the engine publishes single rows),
   * 4096-row batch ids */
  tidx_mem *m;
  if (tidx_mem_new(0, &m, &e) != FLOE_OK) die("mem new", &e);
  double t0 = now_s();
  for (int64_t i = 0; i < n; i++)
    if (tidx_mem_insert(m, hs[i], TIDX_LOC(i >> 12, i & 4095), &e) != FLOE_OK)
      die("mem insert", &e);
  double t1 = now_s();
  r->mem_ins_ns = (t1 - t0) * 1e9 / (double)n;
  r->mem_look_ns = 1e30;
  for (int pass = 0; pass < 3; pass++) {
    t1 = now_s();
    for (int64_t i = 0; i < LOOKUPS; i++)
      tidx_mem_lookup(m, q[i], visit, &sink);
    double t2 = now_s();
    if ((t2 - t1) * 1e9 / LOOKUPS < r->mem_look_ns)
      r->mem_look_ns = (t2 - t1) * 1e9 / LOOKUPS;
  }
  r->mem_bytes_row = (double)tidx_mem_bytes(m) / (double)n;
  tidx_mem_free(m);
  /* presized (the engine knows its flush threshold): no doublings */
  if (tidx_mem_new(n, &m, &e) != FLOE_OK) die("mem new", &e);
  t0 = now_s();
  for (int64_t i = 0; i < n; i++)
    if (tidx_mem_insert(m, hs[i], TIDX_LOC(i >> 12, i & 4095), &e) != FLOE_OK)
      die("mem insert", &e);
  r->mem_ins_sized_ns = (now_s() - t0) * 1e9 / (double)n;
  tidx_mem_free(m);

  /* file: one covered data file per 1M rows, as flushes + merges make */
  char path[4096];
  snprintf(path, sizeof path, "%s/floe-bench-%d-%lld.idx", dir, (int)getpid(),
           (long long)n);
  int nf = (int)((n + 999999) / 1000000);
  tidx_cover *cv = calloc((size_t)nf, sizeof *cv);
  char(*names)[32] = calloc((size_t)nf, 32);
  for (int i = 0; i < nf; i++) {
    snprintf(names[i], 32, "data/%05d.parquet", i);
    cv[i].path = names[i];
    cv[i].rows = i < nf - 1 ? 1000000 : n - (int64_t)(nf - 1) * 1000000;
    cv[i].slot = (uint32_t)i;
  }
  tidx_file *f;
  t0 = now_s();
  if (tidx_file_build(path, cv, nf, hs, &f, &e) != FLOE_OK)
    die("file build", &e);
  t1 = now_s();
  tidx_file_close(f, 0);
  /* reopen (validates every byte: the whole map is read once) */
  if (tidx_file_open(path, &f, &e) != FLOE_OK) die("file open", &e);
  r->file_build_s = t1 - t0;
  r->file_look_ns = 1e30;
  for (int pass = 0; pass < 3; pass++) {
    double t2 = now_s();
    for (int64_t i = 0; i < LOOKUPS; i++)
      tidx_file_lookup(f, q[i], visit, &sink);
    double t3 = now_s();
    if ((t3 - t2) * 1e9 / LOOKUPS < r->file_look_ns)
      r->file_look_ns = (t3 - t2) * 1e9 / LOOKUPS;
  }
  r->file_bytes_row = (double)tidx_file_bytes(f) / (double)n;
  tidx_file_close(f, 1);
  free(cv);
  free(names);
  free(hs);
  free(q);
  if (sink == 42) printf(" "); /* keep the lookups */
  printf("rows=%lld mem_insert_ns=%.1f mem_insert_sized_ns=%.1f "
         "mem_lookup_ns=%.1f mem_bytes_row=%.1f "
         "file_build_s=%.2f file_lookup_ns=%.1f file_bytes_row=%.2f\n",
         (long long)n, r->mem_ins_ns, r->mem_ins_sized_ns, r->mem_look_ns,
         r->mem_bytes_row, r->file_build_s, r->file_look_ns, r->file_bytes_row);
  fflush(stdout);
}

int main(int argc, char **argv) {
  int64_t big = argc > 1 ? atoll(argv[1]) : 20000000;
  const char *dir = argc > 2 ? argv[2] : getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  if (big < SMALL) big = SMALL;
  result s, b;
  run(SMALL, dir, &s);
  run(big, dir, &b);
  /* a table of big rows: all but one flush threshold (1M) in file
   * indexes, 1M in the mem index */
  double table_row =
      (b.file_bytes_row * (double)(big - SMALL) + s.mem_bytes_row * SMALL) /
      (double)big;
  printf("summary mem_lookup_ratio=%.2f file_lookup_ratio=%.2f "
         "mem_insert_ratio=%.2f table_bytes_row=%.2f\n",
         b.mem_look_ns / s.mem_look_ns, b.file_look_ns / s.file_look_ns,
         b.mem_ins_ns / s.mem_ins_ns, table_row);
  return 0;
}
