/*
 * iceberg_commits: the cost of one Iceberg commit as the table grows.
 *
 *   iceberg_commits [N [K]]  N (default 1000) commits to a fresh table in a
 * temp warehouse (filesystem catalog); commit i adds one small data file (100
 * rows, written before the clock starts) and deletion vectors on 10 random
 *                         older files (a few positions each); with K,
 *                         every K commits (untimed) expire all snapshots
 *                         but the last K, as a deployment would
 *
 * Timed: ice_txn_begin .. ice_txn_commit (DV merge, Puffin, manifests,
 * manifest list, metadata, catalog swap). Single commits jitter on a shared
 * machine, so the figures are means over a window: commits 6..15 ("commit
 * 10") and N-9..N ("commit N"). Metadata bytes are the sizes of the files a
 * commit created besides its data file (Puffin, manifests, list, metadata
 * JSON). Prints key=value lines for bench/run.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Files seen so far (by name; every name carries a uuid or version): an
 * open-addressing set, so the bookkeeping stays out of the way. */
typedef struct seen {
  size_t n, cap;
  char **v;
} seen;

static size_t name_hash(const char *p) {
  size_t h = 1469598103934665603ull;
  for (; *p; p++) h = (h ^ (uint8_t)*p) * 1099511628211ull;
  return h;
}

static bool seen_add(seen *s, const char *name) {
  if ((s->n + 1) * 2 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4096;
    char **v = calloc(cap, sizeof *v);
    if (!v) exit(1);
    for (size_t i = 0; i < s->cap; i++)
      if (s->v[i]) {
        size_t h = name_hash(s->v[i]) & (cap - 1);
        while (v[h]) h = (h + 1) & (cap - 1);
        v[h] = s->v[i];
      }
    free(s->v);
    s->v = v;
    s->cap = cap;
  }
  size_t h = name_hash(name) & (s->cap - 1);
  while (s->v[h]) {
    if (!strcmp(s->v[h], name)) return false;
    h = (h + 1) & (s->cap - 1);
  }
  s->v[h] = strdup(name);
  s->n++;
  return true;
}

/* Bytes of files in dir (only *.puffin when puffin_only) not seen before. */
static int64_t new_bytes(const char *dir, bool puffin_only, seen *s) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int64_t total = 0;
  struct dirent *de;
  char p[1024];
  while ((de = readdir(d)) != NULL) {
    size_t l = strlen(de->d_name);
    if (de->d_name[0] == '.') continue;
    if (puffin_only && (l < 7 || strcmp(de->d_name + l - 7, ".puffin")))
      continue;
    if (!strcmp(de->d_name, "version-hint.text")) continue;
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    struct stat sb;
    if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode) && seen_add(s, de->d_name))
      total += sb.st_size;
  }
  closedir(d);
  return total;
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
  char mdir[600], ddir[600];
  snprintf(mdir, sizeof mdir, "%s/bench/commits/metadata", dir);
  snprintf(ddir, sizeof ddir, "%s/bench/commits/data", dir);
  char **paths = calloc((size_t)n, sizeof *paths);
  double *secs = calloc((size_t)n, sizeof *secs);
  int64_t *bytes = calloc((size_t)n, sizeof *bytes);
  ice_commit_stats *cs = calloc((size_t)n, sizeof *cs);
  seen s = {0, 0, NULL};
  new_bytes(mdir, false, &s);
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
    bytes[i] = new_bytes(mdir, false, &s) + new_bytes(ddir, true, &s);
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
  double early = 0, late = 0, all_bytes = 0;
  int64_t eb = 0, lb = 0;
  for (int i = 5; i < 15; i++) {
    early += secs[i] / 10;
    eb += bytes[i] / 10;
  }
  for (int i = n - 10; i < n; i++) {
    late += secs[i] / 10;
    lb += bytes[i] / 10;
  }
  for (int i = 0; i < n; i++) all_bytes += (double)bytes[i];
  const ice_metadata *md = ice_table_metadata(t);
  printf("commits=%d commit10_s=%.6f commitN_s=%.6f ratio=%.2f "
         "bytes10=%" PRId64 " bytesN=%" PRId64 " bytes_avg=%.0f "
         "snapshots=%d expire_every=%d\n",
         n, early, late, late / early, eb, lb, all_bytes / n, md->nsnapshots,
         expire);
  /* the commit's split, means over the same two windows */
  for (int w = 0; w < 2; w++) {
    ice_commit_stats m;
    memset(&m, 0, sizeof m);
    int lo = w ? n - 10 : 5;
    double nm = 0, ne = 0, nl = 0;
    for (int i = lo; i < lo + 10; i++) {
      m.locate_s += cs[i].locate_s / 10;
      m.puffin_s += cs[i].puffin_s / 10;
      m.manifests_s += cs[i].manifests_s / 10;
      m.list_s += cs[i].list_s / 10;
      m.metadata_s += cs[i].metadata_s / 10;
      m.swap_s += cs[i].swap_s / 10;
      nm += cs[i].nmanifests_written / 10.0;
      ne += cs[i].nentries_written / 10.0;
      nl += cs[i].nlist / 10.0;
      m.puffin_bytes += cs[i].puffin_bytes / 10;
      m.manifest_bytes += cs[i].manifest_bytes / 10;
      m.list_bytes += cs[i].list_bytes / 10;
      m.metadata_bytes += cs[i].metadata_bytes / 10;
    }
    printf(
        "split_%s locate_ms=%.3f puffin_ms=%.3f manifests_ms=%.3f "
        "list_ms=%.3f metadata_ms=%.3f swap_ms=%.3f manifests_written=%.1f "
        "entries_written=%.1f list_len=%.1f puffin_b=%" PRId64
        " manifest_b=%" PRId64 " list_b=%" PRId64 " metadata_b=%" PRId64 "\n",
        w ? "N" : "10", m.locate_s * 1e3, m.puffin_s * 1e3, m.manifests_s * 1e3,
        m.list_s * 1e3, m.metadata_s * 1e3, m.swap_s * 1e3, nm, ne, nl,
        m.puffin_bytes, m.manifest_bytes, m.list_bytes, m.metadata_bytes);
  }
  free(cs);
  for (int i = 0; i < n; i++) free(paths[i]);
  for (size_t i = 0; i < s.cap; i++) free(s.v[i]);
  free(s.v);
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
