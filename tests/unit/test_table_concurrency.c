/*
 * Threads: one ingest thread (random inserts, updates, deletes, aborted
 * subtransactions, commits), one maintenance thread (floe_table_tick with
 * short intervals: flushes, Iceberg commits, compactions, index merges,
 * housekeeping) and reader threads taking read states and scanning them.
 * Every read state must match the model at its LSN exactly (row count and
 * a checksum of every row), whatever the maintenance thread was doing. At
 * the end the table is closed, reopened and compared with the model.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "engine_util.h"

#define KEYS 400
#define TXNS 1500
#define READERS 2

typedef struct sum {
  int64_t rows;
  uint64_t h;
} sum;

typedef struct shared {
  floe_table *t;
  sum at[TXNS + 2];     /* the model's state at LSN i */
  atomic_int published; /* at[0..published] are written */
  atomic_int done;
  atomic_int failures;
  atomic_llong reads;
} shared;

static uint64_t row_hash(int64_t id, int32_t n) {
  uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uint32_t)n;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ULL;
  return x ^ (x >> 29);
}

static sum model_sum(const int32_t *val, const int *live) {
  sum s = {0, 0};
  for (int k = 0; k < KEYS; k++)
    if (live[k]) {
      s.rows++;
      s.h += row_hash(k, val[k]);
    }
  return s;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *maint_main(void *arg) {
  shared *sh = arg;
  int i = 0;
  while (!atomic_load(&sh->done)) {
    floe_error e;
    int64_t next = 0;
    floe_status st = floe_table_tick(sh->t, mono_ms(), &next, &e);
    if (st) {
      fprintf(stderr, "tick: %s\n", e.msg);
      atomic_fetch_add(&sh->failures, 1);
    }
    if (++i % 25 == 0 && floe_table_compact(sh->t, 1, &e)) {
      fprintf(stderr, "compact: %s\n", e.msg);
      atomic_fetch_add(&sh->failures, 1);
    }
    struct timespec d = {0, 2000000};
    nanosleep(&d, NULL);
  }
  return NULL;
}

static void *reader_main(void *arg) {
  shared *sh = arg;
  while (!atomic_load(&sh->done)) {
    int pub = atomic_load(&sh->published);
    floe_read_state *rs = NULL;
    floe_error e;
    if (floe_read_state_get(sh->t, (uint64_t)pub, 1000, &rs, &e)) {
      fprintf(stderr, "read state: %s\n", e.msg);
      atomic_fetch_add(&sh->failures, 1);
      continue;
    }
    uint64_t lsn = floe_read_state_lsn(rs);
    eset got = {0, 0, NULL};
    struct ArrowArrayStream st;
    const char *cols[3] = {"id", "v", "n"};
    if (floe_scan(rs, cols, 3, &st, &e) || read_stream(&st, &got)) {
      atomic_fetch_add(&sh->failures, 1);
    } else {
      sum s = {0, 0};
      for (int i = 0; i < got.n; i++) {
        s.rows++;
        s.h += row_hash(got.r[i].id, got.r[i].n);
      }
      const sum *w = &sh->at[lsn];
      if (lsn > (uint64_t)TXNS || s.rows != w->rows || s.h != w->h ||
          floe_read_state_rows(rs) != w->rows) {
        fprintf(stderr,
                "read state at %llu: %lld rows (says %lld), want %lld%s\n",
                (unsigned long long)lsn, (long long)s.rows,
                (long long)floe_read_state_rows(rs), (long long)w->rows,
                s.h != w->h ? " (values differ)" : "");
        atomic_fetch_add(&sh->failures, 1);
      }
    }
    eset_free(&got);
    floe_read_state_release(rs);
    atomic_fetch_add(&sh->reads, 1);
  }
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  efx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/floe-conc-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  f->ref.catalog_uri = f->dir;
  f->ref.ns = "public";
  f->ref.name = "t";
  floe_table_config_init(&f->cfg);
  f->cfg.batch_rows = 32;
  f->cfg.flush_rows = 150;
  f->cfg.commit_interval_ms = 5;
  f->cfg.compact_interval_ms = 15;
  f->cfg.compact_min_files = 4;
  f->cfg.housekeeping_interval_ms = 40;
  f->cfg.keep_snapshots = 4;
  f->cfg.snapshot_max_age_ms = 0;
  f->cfg.txn_spill_bytes = 4096;
  efx_open(f, 1);
  shared *sh = calloc(1, sizeof *sh);
  sh->t = f->t;
  int32_t val[KEYS];
  int live[KEYS] = {0};
  char vs[KEYS];
  memset(val, 0, sizeof val);
  memset(vs, 0, sizeof vs);
  pthread_t mt, rt[READERS];
  pthread_create(&mt, NULL, maint_main, sh);
  for (int i = 0; i < READERS; i++)
    pthread_create(&rt[i], NULL, reader_main, sh);
  unsigned seed = 12345;
  for (int x = 1; x <= TXNS; x++) {
    int32_t nval[KEYS];
    int nlive[KEYS];
    char nvs[KEYS];
    memcpy(nvs, vs, sizeof vs);
    memcpy(nval, val, sizeof val);
    memcpy(nlive, live, sizeof live);
    int ops = 1 + (int)(rand_r(&seed) % 6);
    if (x % 200 == 0) ops = 300; /* a big one that spills */
    for (int o = 0; o < ops; o++) {
      int k = (int)(rand_r(&seed) % KEYS);
      int32_t v = (int32_t)(rand_r(&seed) % 100000);
      uint32_t sub = (uint32_t)x;
      bool aborted_sub = rand_r(&seed) % 10 == 0;
      if (aborted_sub) sub = (uint32_t)x + 1000000u;
      floe_status st;
      if (!nlive[k]) {
        erow_set(f->r, k, "v", 1, v);
        st = floe_insert(f->t, (uint32_t)x, sub, f->r, NULL);
        if (!aborted_sub) {
          nlive[k] = 1;
          nval[k] = v;
          nvs[k] = 'v';
        }
      } else if (rand_r(&seed) % 3) {
        erow_set(f->r, k, "u", 1, v);
        st = floe_update(f->t, (uint32_t)x, sub, NULL, f->r, NULL);
        if (!aborted_sub) {
          nval[k] = v;
          nvs[k] = 'u';
        }
      } else {
        erow_set(f->o, k, NULL, 0, 0);
        st = floe_delete(f->t, (uint32_t)x, sub, f->o, NULL);
        if (!aborted_sub) nlive[k] = 0;
      }
      assert_int_equal(st, FLOE_OK);
      if (aborted_sub) {
        EOK(floe_abort(f->t, (uint32_t)x, sub, E));
      }
    }
    memcpy(val, nval, sizeof val);
    memcpy(live, nlive, sizeof live);
    memcpy(vs, nvs, sizeof vs);
    sh->at[x] = model_sum(val, live);
    EOK(floe_commit(f->t, (uint32_t)x, (uint64_t)x, E));
    atomic_store(&sh->published, x);
    if (x % 4 == 0) {
      /* give maintenance time to interleave with ingest */
      struct timespec p = {0, 500000};
      nanosleep(&p, NULL);
    }
  }
  /* let readers and maintenance run a little past the end */
  struct timespec d = {0, 50000000};
  nanosleep(&d, NULL);
  atomic_store(&sh->done, 1);
  pthread_join(mt, NULL);
  for (int i = 0; i < READERS; i++) pthread_join(rt[i], NULL);
  assert_int_equal(atomic_load(&sh->failures), 0);
  assert_true(atomic_load(&sh->reads) > 10);
  floe_table_stats st;
  floe_table_stats_get(f->t, &st);
  fprintf(stderr,
          "%lld reads, %lld flushes, %lld commits, %lld compactions, %lld "
          "snapshots kept\n",
          (long long)atomic_load(&sh->reads), (long long)st.flushes,
          (long long)st.commits, (long long)st.compactions,
          (long long)st.snapshots);
  assert_true(st.flushes > 1);
  assert_true(st.compactions > 0);
  assert_true(st.commits > 1);
  /* close, reopen: the model */
  efx_drop_rows(f);
  EOK(floe_table_close(f->t, E));
  efx_open(f, 1);
  assert_int_equal(floe_durable_lsn(f->t), TXNS);
  eset want = {0, 0, NULL};
  for (int k = 0; k < KEYS; k++)
    if (live[k]) eset_add(&want, k, vs[k] == 'v' ? "v" : "u", 1, val[k]);
  assert_int_equal(check_view(f->t, &want, "reopened"), 0);
  eset_free(&want);
  free(sh);
  efx_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
