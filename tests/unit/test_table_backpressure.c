/*
 * Back-pressure on the committed mem slice: ingest that outruns the flushes
 * (no maintenance thread at all, or one that ticks) must keep the mem slice
 * under the hard limit (twice the flush thresholds, half of memory_limit),
 * and the view must still hold exactly the rows made (updates and deletes
 * of rows the back-pressure flushes moved into data files included).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_util.h"

enum { NROWS = 40000, TXN = 100, FLUSH_ROWS = 2000 };
#define MEM_LIMIT (256 << 10)

typedef struct ticker {
  floe_table *t;
  atomic_bool stop;
  atomic_int failures;
} ticker;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *tick_main(void *arg) {
  ticker *k = arg;
  while (!atomic_load(&k->stop)) {
    floe_error e;
    int64_t next = 0;
    if (floe_table_tick(k->t, now_ms(), &next, &e)) {
      fprintf(stderr, "tick: %s\n", e.msg);
      atomic_fetch_add(&k->failures, 1);
    }
    struct timespec d = {0, 1000000};
    nanosleep(&d, NULL);
  }
  return NULL;
}

/* The mem slice may pass the hard limit by one commit's rows. */
static void check_bounded(floe_table *t, int64_t *peak_rows,
                          int64_t *peak_bytes) {
  floe_table_stats s;
  floe_table_stats_get(t, &s);
  if (s.mem_rows > *peak_rows) *peak_rows = s.mem_rows;
  if (s.mem_bytes > *peak_bytes) *peak_bytes = s.mem_bytes;
  assert_true(s.mem_rows <= 2 * FLUSH_ROWS + TXN);
  assert_true(s.mem_bytes <= MEM_LIMIT / 2 + 32 * 1024);
}

static void run(bool with_ticker) {
  efx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  strcpy(f->dir, "/tmp/floe-bp-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  f->ref.catalog_uri = f->dir;
  f->ref.ns = "public";
  f->ref.name = "t";
  floe_table_config_init(&f->cfg);
  f->cfg.batch_rows = 64;
  f->cfg.flush_rows = FLUSH_ROWS;
  f->cfg.memory_limit = MEM_LIMIT;
  f->cfg.commit_interval_ms = 200;
  efx_open(f, 1);
  ticker k = {f->t, false, 0};
  pthread_t th;
  if (with_ticker)
    assert_int_equal(pthread_create(&th, NULL, tick_main, &k), 0);

  /* value of row id: -1 = absent, else its n (v = "r<n>") */
  int32_t *val = malloc((size_t)NROWS * 2 * sizeof *val);
  assert_non_null(val);
  for (int i = 0; i < NROWS * 2; i++) val[i] = -1;
  uint64_t rng = 12345;
  int64_t next_id = 0, peak_rows = 0, peak_bytes = 0;
  uint64_t lsn = 0;
  char buf[32];
  uint32_t xid = 1;
  for (int made = 0; made < NROWS; xid++) {
    for (int c = 0; c < TXN; c++, made++) {
      rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
      int kind = (int)((rng >> 33) % 10);
      int64_t id = next_id ? (int64_t)((rng >> 13) % (uint64_t)next_id) : 0;
      if (kind < 6 || next_id < 100 || val[id] < 0) {
        id = next_id++;
        snprintf(buf, sizeof buf, "r%d", made);
        erow_set(f->r, id, buf, 1, made);
        EOK(floe_insert(f->t, xid, xid, f->r, E));
        val[id] = made;
      } else if (kind < 9) {
        snprintf(buf, sizeof buf, "r%d", made);
        erow_set(f->r, id, buf, 1, made);
        EOK(floe_update(f->t, xid, xid, NULL, f->r, E));
        val[id] = made;
      } else {
        erow_set(f->o, id, NULL, 0, 0);
        EOK(floe_delete(f->t, xid, xid, f->o, E));
        val[id] = -1;
      }
    }
    lsn += 16;
    EOK(floe_commit(f->t, xid, lsn, E));
    check_bounded(f->t, &peak_rows, &peak_bytes);
  }
  if (with_ticker) {
    atomic_store(&k.stop, true);
    pthread_join(th, NULL);
    assert_int_equal(atomic_load(&k.failures), 0);
  }
  /* the hard limit was reached (the test ingests far past it) */
  assert_true(peak_rows >= FLUSH_ROWS || peak_bytes >= MEM_LIMIT / 4);
  eset want = {0, 0, NULL};
  for (int64_t id = 0; id < next_id; id++)
    if (val[id] >= 0) {
      snprintf(buf, sizeof buf, "r%d", val[id]);
      eset_add(&want, id, buf, 1, val[id]);
    }
  assert_int_equal(check_view(f->t, &want, __func__), 0);
  floe_table_stats s;
  floe_table_stats_get(f->t, &s);
  assert_int_equal(s.rows, want.n);
  assert_true(s.flushes > 0);
  print_message("peak mem rows %lld bytes %lld, flushes %lld\n",
                (long long)peak_rows, (long long)peak_bytes,
                (long long)s.flushes);
  EOK(floe_table_flush(f->t, E));
  assert_int_equal(check_view(f->t, &want, __func__), 0);
  eset_free(&want);
  free(val);
  efx_free(f);
}

static void test_no_ticker(void **state) {
  (void)state;
  run(false);
}

static void test_ticker(void **state) {
  (void)state;
  run(true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_ticker),
      cmocka_unit_test(test_ticker),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
