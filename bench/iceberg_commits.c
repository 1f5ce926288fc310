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

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  int expire = argc > 2 ? atoi(argv[2]) : 0;
  if (n < 20) n = 20;
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
  ice_table *t = NULL;
  if (ice_table_create(cat, "bench", "commits", schema, NULL, NULL, &t, &e))
    die("create", &e);
  char **paths = calloc((size_t)n, sizeof *paths);
  double *secs = calloc((size_t)n, sizeof *secs);
  int64_t *bytes = calloc((size_t)n, sizeof *bytes);
  ice_commit_stats *cs = calloc((size_t)n, sizeof *cs);
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  col_batch *b = NULL;
  if (col_batch_new(schema, &b, &e)) die("batch", &e);
  for (int i = 0; i < n; i++) {
    col_batch_clear(b);
    for (int r = 0; r < ROWS; r++) {
      if (col_append_i64(&b->cols[0], (int64_t)i * ROWS + r, &e) ||
          col_append_i64(&b->cols[1], r, &e))
        die("append", &e);
    }
    if (col_batch_seal(b, &e)) die("seal", &e);
    ice_data_file *files = NULL;
    int nf = 0;
    if (ice_table_write_data(t, &b, 1, &files, &nf, &e)) die("write", &e);
    paths[i] = strdup(files[0].file_path);
    double t0 = now_s();
    ice_txn *x = NULL;
    if (ice_txn_begin(t, &x, &e) || ice_txn_append(x, &files[0], &e))
      die("txn", &e);
    for (int k = 0; k < DELETES && i > 0; k++) {
      rng ^= rng << 13;
      rng ^= rng >> 7;
      rng ^= rng << 17;
      int victim = (int)(rng % (uint64_t)i);
      ice_dv *dv = NULL;
      if (ice_dv_new(&dv, &e)) die("dv", &e);
      for (int q = 0; q < 3; q++)
        if (ice_dv_add(dv, (rng >> (8 + q * 8)) % ROWS, &e)) die("dv", &e);
      if (ice_txn_delete_rows(x, paths[victim], dv, &e)) die("delete", &e);
      ice_dv_free(dv);
    }
    if (ice_txn_commit(x, NULL, &e)) die("commit", &e);
    secs[i] = now_s() - t0;
    cs[i] = *ice_table_last_commit(t);
    /* the files the commit created besides its data file */
    bytes[i] = cs[i].puffin_bytes + cs[i].manifest_bytes + cs[i].list_bytes +
               cs[i].metadata_bytes;
    ice_data_file_free(&files[0]);
    free(files);
    /* routine maintenance, untimed: keep the last `expire` snapshots */
    if (expire > 0 && (i + 1) % expire == 0) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1;
      if (ice_table_expire_snapshots(t, ms, expire, NULL, &e))
        die("expire", &e);
    }
  }
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
  const ice_metadata *md = ice_table_metadata(t);
  printf("commits=%d commit10_s=%.6f commitN_s=%.6f ratio=%.2f "
         "commit10_mean_s=%.6f commitN_mean_s=%.6f ratio_mean=%.2f "
         "bytes10=%" PRId64 " bytesN=%" PRId64 " bytes_avg=%.0f "
         "snapshots=%d expire_every=%d\n",
         n, med[0], med[1], med[1] / med[0], mean[0], mean[1],
         mean[1] / mean[0], wb[0], wb[1], all_bytes / n, md->nsnapshots,
         expire);
  /* the commit's split over the same two windows: each phase's median
   * (so the phases need not add up to the commit's median); counts and
   * bytes are means */
  double *ph = calloc((size_t)n, sizeof *ph);
  for (int w = 0; w < 2; w++) {
    double pm[6];
    for (int k = 0; k < 6; k++) {
      for (int i = lo[w]; i < lo[w] + 10; i++) {
        const ice_commit_stats *c = &cs[i];
        ph[i] = k == 0   ? c->locate_s
                : k == 1 ? c->puffin_s
                : k == 2 ? c->manifests_s
                : k == 3 ? c->list_s
                : k == 4 ? c->metadata_s
                         : c->swap_s;
      }
      pm[k] = median(ph, lo[w], 10);
    }
    double nm = 0, ne = 0, nl = 0;
    int64_t pb = 0, mb = 0, lb = 0, db = 0;
    for (int i = lo[w]; i < lo[w] + 10; i++) {
      nm += cs[i].nmanifests_written / 10.0;
      ne += cs[i].nentries_written / 10.0;
      nl += cs[i].nlist / 10.0;
      pb += cs[i].puffin_bytes / 10;
      mb += cs[i].manifest_bytes / 10;
      lb += cs[i].list_bytes / 10;
      db += cs[i].metadata_bytes / 10;
    }
    printf("split_%s locate_ms=%.3f puffin_ms=%.3f manifests_ms=%.3f "
           "list_ms=%.3f metadata_ms=%.3f swap_ms=%.3f manifests_written=%.1f "
           "entries_written=%.1f list_len=%.1f puffin_b=%" PRId64
           " manifest_b=%" PRId64 " list_b=%" PRId64 " metadata_b=%" PRId64
           "\n",
           w ? "N" : "10", pm[0] * 1e3, pm[1] * 1e3, pm[2] * 1e3, pm[3] * 1e3,
           pm[4] * 1e3, pm[5] * 1e3, nm, ne, nl, pb, mb, lb, db);
  }
  free(ph);
  free(cs);
  for (int i = 0; i < n; i++) free(paths[i]);
  free(paths);
  free(secs);
  free(bytes);
  col_batch_free(b);
  ice_table_free(t);
  col_schema_unref(schema);
  ice_catalog_free(cat);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : 1;
}
