/*
 * iceberg_commits: the cost of one Iceberg commit as the table grows.
 *
 *   iceberg_commits [N [K]]
 *
 * N (default 1000) commits to a fresh table in a temp warehouse ($TMPDIR,
 * filesystem catalog); commit i adds one small data file (100 rows, written
 * before the clock starts) and deletion vectors on 10 random older files (3
 * positions each). With K, every K commits (untimed) expire all snapshots
 * but the last K, as a deployment's housekeeping would.
 *
 * Timed: ice_txn_begin .. ice_txn_commit (DV merge, Puffin, manifests,
 * manifest list, metadata, catalog swap). Single commits jitter on a shared
 * machine, so the figures are medians over a window of ten: commits 6..15
 * ("commit 10") and N-9..N ("commit N"); means are printed too. Metadata
 * bytes are the sizes of the files a commit created besides its data file
 * (Puffin, manifests, list, metadata JSON), as ice_table_last_commit reports
 * them. Prints key=value lines for bench/run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iceberg/table.h"

#define ROWS 100
#define DELETES 10

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const floe_error *e) {
  fprintf(stderr, "iceberg_commits: %s: %s\n", what, e->msg);
  exit(1);
}

/* CPU time of the process (user + system): unlike wall time it does not
 * count waiting (for the disk, or for a core on a busy machine). */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Median of v[lo, lo + n) (v itself is left as it was). */
static double median(const double *v, int lo, int n) {
  double w[64];
  if (n > 64) n = 64;
  memcpy(w, v + lo, (size_t)n * sizeof *w);
  qsort(w, (size_t)n, sizeof *w, cmp_double);
  return n % 2 ? w[n / 2] : (w[n / 2 - 1] + w[n / 2]) / 2;
}

/* One table under the workload and what its commits measured. */
typedef struct bench_table {
  ice_table *t;
  int expire; /* 0: never */
  char **paths;
  double *secs, *cpu;
  int64_t *bytes;
  ice_commit_stats *cs;
  uint64_t rng;
} bench_table;

static void bench_table_init(bench_table *bt, ice_catalog *cat,
                             const char *name, col_schema *schema, int n,
                             int expire) {
  floe_error e;
  memset(bt, 0, sizeof *bt);
  if (ice_table_create(cat, "bench", name, schema, NULL, NULL, &bt->t, &e))
    die("create", &e);
  bt->expire = expire;
  bt->paths = calloc((size_t)n, sizeof *bt->paths);
  bt->secs = calloc((size_t)n, sizeof *bt->secs);
  bt->cpu = calloc((size_t)n, sizeof *bt->cpu);
  bt->bytes = calloc((size_t)n, sizeof *bt->bytes);
  bt->cs = calloc((size_t)n, sizeof *bt->cs);
  if (!bt->paths || !bt->secs || !bt->cpu || !bt->bytes || !bt->cs) exit(1);
  bt->rng = 0x9e3779b97f4a7c15ull; /* every table gets the same workload */
}

static void bench_table_free(bench_table *bt, int n) {
  for (int i = 0; i < n; i++) free(bt->paths[i]);
  free(bt->paths);
  free(bt->secs);
  free(bt->cpu);
  free(bt->bytes);
  free(bt->cs);
  ice_table_free(bt->t);
}

/* Commit i (from 0) of the workload: one data file (written untimed), DVs
 * on 10 random older files; then, untimed, the expiry when due. */
static void commit_one(bench_table *bt, int i, col_batch *b) {
  floe_error e;
  col_batch_clear(b);
  for (int r = 0; r < ROWS; r++) {
    if (col_append_i64(&b->cols[0], (int64_t)i * ROWS + r, &e) ||
        col_append_i64(&b->cols[1], r, &e))
      die("append", &e);
  }
  if (col_batch_seal(b, &e)) die("seal", &e);
  ice_data_file *files = NULL;
  int nf = 0;
  if (ice_table_write_data(bt->t, &b, 1, &files, &nf, &e)) die("write", &e);
  bt->paths[i] = strdup(files[0].file_path);
  double c0 = cpu_s(), t0 = now_s();
  ice_txn *x = NULL;
  if (ice_txn_begin(bt->t, &x, &e) || ice_txn_append(x, &files[0], &e))
    die("txn", &e);
  for (int k = 0; k < DELETES && i > 0; k++) {
    bt->rng ^= bt->rng << 13;
    bt->rng ^= bt->rng >> 7;
    bt->rng ^= bt->rng << 17;
    int victim = (int)(bt->rng % (uint64_t)i);
    ice_dv *dv = NULL;
    if (ice_dv_new(&dv, &e)) die("dv", &e);
    for (int q = 0; q < 3; q++)
      if (ice_dv_add(dv, (bt->rng >> (8 + q * 8)) % ROWS, &e)) die("dv", &e);
    if (ice_txn_delete_rows(x, bt->paths[victim], dv, &e)) die("delete", &e);
    ice_dv_free(dv);
  }
  if (ice_txn_commit(x, NULL, &e)) die("commit", &e);
  bt->secs[i] = now_s() - t0;
  bt->cpu[i] = cpu_s() - c0;
  const ice_commit_stats *c = ice_table_last_commit(bt->t);
  bt->cs[i] = *c;
  /* the files the commit created besides its data file */
  bt->bytes[i] =
      c->puffin_bytes + c->manifest_bytes + c->list_bytes + c->metadata_bytes;
  ice_data_file_free(&files[0]);
  free(files);
  /* routine maintenance, untimed: keep the last `expire` snapshots */
  if (bt->expire > 0 && (i + 1) % bt->expire == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
    if (ice_table_expire_snapshots(bt->t, ms, bt->expire, NULL, &e))
      die("expire", &e);
  }
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  int expire = argc > 2 ? atoi(argv[2]) : 0;
  if (n < 30) n = 30;
  const char *tmp = getenv("TMPDIR");
  char dir[512];
  snprintf(dir, sizeof dir, "%s/floe-bench-ice-XXXXXX",
           tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(dir)) return 1;
  floe_error e;
  ice_catalog *cat = NULL;
  if (ice_catalog_fs_open(dir, &cat, &e)) die("catalog", &e);
  col_field fl[2] = {{1, "id", {.id = COL_INT64}, false, 0, false},
                     {2, "v", {.id = COL_INT64}, true, 0, false}};
  col_schema *schema = NULL;
  if (col_schema_new(fl, 2, &schema, &e)) die("schema", &e);
  col_batch *b = NULL;
  if (col_batch_new(schema, &b, &e)) die("batch", &e);
  /* The table measured, and a second one (same workload, same warehouse)
   * whose commits 1..15 run alongside the first one's last ten: its
   * window 6..15 alternates commit by commit with the first table's
   * N-9..N, so both see the same machine (the "paired" figures). */
  bench_table main_t, pair_t;
  bench_table_init(&main_t, cat, "commits", schema, n, expire);
  bench_table_init(&pair_t, cat, "commits_pair", schema, n, expire);
  for (int i = 0; i < n; i++) {
    if (i == n - 10)
      for (int j = 0; j < 5; j++) commit_one(&pair_t, j, b);
    if (i >= n - 10) commit_one(&pair_t, i - (n - 10) + 5, b);
    commit_one(&main_t, i, b);
  }
  ice_table *t = main_t.t;
  double *secs = main_t.secs;
  int64_t *bytes = main_t.bytes;
  ice_commit_stats *cs = main_t.cs;
  /* Windows: commits 6..15 ("commit 10") and N-9..N ("commit N"). The
   * ratio is of the medians: on a shared machine a stray fsync stall or
   * a neighbour's burst can double a single commit, and one such outlier
   * moves a mean of ten by 10%; the means are printed beside them. */
  const int lo[2] = {5, n - 10};
  double med[2], mean[2] = {0, 0};
  int64_t wb[2] = {0, 0};
  for (int w = 0; w < 2; w++) {
    med[w] = median(secs, lo[w], 10);
    for (int i = lo[w]; i < lo[w] + 10; i++) {
      mean[w] += secs[i] / 10;
      wb[w] += bytes[i] / 10;
    }
  }
  double all_bytes = 0;
  for (int i = 0; i < n; i++) all_bytes += (double)bytes[i];
  double pmed = median(pair_t.secs, 5, 10);
  /* the cheapest commit of each window: contention only adds time, so
   * this is the estimate least moved by a busy machine */
  double mins[2] = {secs[lo[0]], secs[lo[1]]};
  for (int w = 0; w < 2; w++)
    for (int i = lo[w]; i < lo[w] + 10; i++)
      if (secs[i] < mins[w]) mins[w] = secs[i];
  double cmed[2] = {median(main_t.cpu, lo[0], 10),
                    median(main_t.cpu, lo[1], 10)};
  const ice_metadata *md = ice_table_metadata(t);
  printf("commits=%d commit10_s=%.6f commitN_s=%.6f ratio=%.2f "
         "commit10_paired_s=%.6f ratio_paired=%.2f "
         "commit10_cpu_s=%.6f commitN_cpu_s=%.6f ratio_cpu=%.2f "
         "commit10_min_s=%.6f commitN_min_s=%.6f ratio_min=%.2f "
         "commit10_mean_s=%.6f commitN_mean_s=%.6f ratio_mean=%.2f "
         "bytes10=%" PRId64 " bytesN=%" PRId64 " bytes_avg=%.0f "
         "snapshots=%d expire_every=%d\n",
         n, med[0], med[1], med[1] / med[0], pmed, med[1] / pmed, cmed[0],
         cmed[1], cmed[1] / cmed[0], mins[0], mins[1], mins[1] / mins[0],
         mean[0], mean[1], mean[1] / mean[0], wb[0], wb[1], all_bytes / n,
         md->nsnapshots, expire);
  /* the commit's split over the same two windows: each phase's median
   * (so the phases need not add up to the commit's median); counts and
   * bytes are means */
  double *ph = calloc((size_t)n, sizeof *ph);
  for (int w = 0; w < 3; w++) {
    /* windows: main 6..15, main N-9..N, the paired table's 6..15 */
    const ice_commit_stats *wcs = w == 2 ? pair_t.cs : cs;
    int wlo = w == 2 ? 5 : lo[w];
    double pm[6];
    for (int k = 0; k < 6; k++) {
      for (int i = wlo; i < wlo + 10; i++) {
        const ice_commit_stats *c = &wcs[i];
        ph[i] = k == 0   ? c->locate_s
                : k == 1 ? c->puffin_s
                : k == 2 ? c->manifests_s
                : k == 3 ? c->list_s
                : k == 4 ? c->metadata_s
                         : c->swap_s;
      }
      pm[k] = median(ph, wlo, 10);
    }
    double nm = 0, ne = 0, nl = 0;
    int64_t pb = 0, mb = 0, lb = 0, db = 0;
    for (int i = wlo; i < wlo + 10; i++) {
      nm += wcs[i].nmanifests_written / 10.0;
      ne += wcs[i].nentries_written / 10.0;
      nl += wcs[i].nlist / 10.0;
      pb += wcs[i].puffin_bytes / 10;
      mb += wcs[i].manifest_bytes / 10;
      lb += wcs[i].list_bytes / 10;
      db += wcs[i].metadata_bytes / 10;
    }
    printf("split_%s locate_ms=%.3f puffin_ms=%.3f manifests_ms=%.3f "
           "list_ms=%.3f metadata_ms=%.3f swap_ms=%.3f manifests_written=%.1f "
           "entries_written=%.1f list_len=%.1f puffin_b=%" PRId64
           " manifest_b=%" PRId64 " list_b=%" PRId64 " metadata_b=%" PRId64
           "\n",
           w == 2 ? "10p"
           : w    ? "N"
                  : "10",
           pm[0] * 1e3, pm[1] * 1e3, pm[2] * 1e3, pm[3] * 1e3, pm[4] * 1e3,
           pm[5] * 1e3, nm, ne, nl, pb, mb, lb, db);
  }
  free(ph);
  bench_table_free(&main_t, n);
  bench_table_free(&pair_t, n);
  col_batch_free(b);
  col_schema_unref(schema);
  ice_catalog_free(cat);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : 1;
}
