/*
 * table_engine: the streaming table engine under ingest, through its public
 * API only (include/floe/floe.h), with the threads a host runs: this
 * (ingest) thread feeding source transactions, a maintenance thread calling
 * floe_table_tick as the daemon would, and a reader thread measuring
 * freshness.
 *
 *   table_engine DIR ROWS [CHANGES]
 *
 * In a fresh warehouse DIR (a directory catalog, default config) it loads
 * ROWS rows by inserts (transactions of 100 rows), then runs CHANGES
 * (default 1,000,000) update-heavy changes in transactions of 10: 50%
 * updates of random existing keys, 20% deletes of random existing keys, 30%
 * inserts of new keys. Each phase's rows/s counts source changes (an update
 * is one change). The per-change cost is measured where the table has its
 * size: over the last min(ROWS/2, 1M) inserts of the load, and over all the
 * update-heavy changes; bench/run compares it between sizes.
 *
 * Freshness: the reader thread picks the LSN of a commit a few commits
 * ahead (the bench's LSNs go up by 64 per commit), publishes it and blocks
 * in floe_read_state_get(min_lsn = that LSN), as a client waiting for its
 * write would; the ingest thread notes the time just before it calls
 * floe_commit for that LSN. One sample = from that floe_commit call to the
 * reader holding its read state: the commit itself plus the engine's
 * wake-up of the waiter. The reader then rests 0.2-0.7 ms and picks the
 * next. p50/p99/max per phase; beside it the duration of every floe_commit
 * call (a long one means ingest waited).
 *
 * Index RAM: floe_table_stats index_bytes / index_rows after the run. Peak
 * RSS: getrusage (the bench's own bookkeeping, a bitmap of live keys and
 * the latency samples, is printed beside it). Prints key=value lines for
 * bench/run. One size per process, so peak RSS is that size's.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "floe/floe.h"

#define BENCH_PROG "table_engine"
#include "bench_util.h"

#define INSERT_TXN 100
#define MIXED_TXN 10
/* commits between the reader's pick and the probed commit: enough that
 * the reader is waiting before ingest gets there */
#define PROBE_AHEAD 16

/* CPU time of the calling thread: on a shared machine the wall-clock cost
 * of a change moves with the load, this one much less. */

/* Latency samples of one phase, in ns. */
typedef struct samples {
  int64_t *v;
  size_t n, cap;
} samples;

typedef struct bench {
  floe_table *t;
  floe_row *row, *key;
  uint64_t lsn;
  uint32_t xid;
  uint64_t rng;
  uint8_t *live; /* bit k: key k is in the table */
  int64_t next_key;
  /* freshness probe: the reader publishes the LSN it waits for, ingest
   * the time it committed that LSN */
  _Atomic uint64_t probe_lsn;
  _Atomic int64_t probe_t0;
  _Atomic int phase; /* 0 = load, 1 = update-heavy */
  _Atomic int stop;
  samples lat[2];
  samples commit_ns[2]; /* every floe_commit call's duration (ingest) */
  /* sampled by the maintenance thread after each tick */
  int64_t peak_mem_rows, peak_mem_bytes;
  double peak_bpr;
  pthread_mutex_t lat_mu;
} bench;

static uint64_t rnd(bench *b) {
  b->rng ^= b->rng >> 12;
  b->rng ^= b->rng << 25;
  b->rng ^= b->rng >> 27;
  return b->rng * 2685821657736338717ULL;
}

static bool is_live(const bench *b, int64_t k) {
  return (b->live[k >> 3] >> (k & 7)) & 1;
}
static void set_live(bench *b, int64_t k, bool v) {
  if (v)
    b->live[k >> 3] |= (uint8_t)(1u << (k & 7));
  else
    b->live[k >> 3] &= (uint8_t) ~(1u << (k & 7));
}

/* A random live key: the table keeps >= 70% of the keys ever made, so a
 * few draws find one. */
static int64_t live_key(bench *b) {
  for (;;) {
    int64_t k = (int64_t)(rnd(b) % (uint64_t)b->next_key);
    if (is_live(b, k)) return k;
  }
}

/* The row for key k, version v: an order line of sorts. */
static void fill_row(bench *b, int64_t k, uint64_t v) {
  floe_row *r = b->row;
  char note[48];
  int n = snprintf(note, sizeof note, "order %" PRId64 " rev %" PRIu64 " %s", k,
                   v, (v & 1) ? "shipped" : "open");
  floe_row_reset(r);
  TRY("row", floe_row_set_int(r, 0, k, &e_));
  TRY("row", floe_row_set_int(r, 1, (int64_t)(v % 1000), &e_));
  TRY("row", floe_row_set_int(r, 2, (int64_t)(v % 7), &e_));
  TRY("row", floe_row_set_bytes(r, 3, note, (size_t)n, &e_));
  TRY("row", floe_row_set_float(r, 4, (double)(v % 100000) / 100.0, &e_));
  TRY("row", floe_row_set_int(r, 5, 1700000000000000 + (int64_t)v, &e_));
}

static void commit(bench *b) {
  b->lsn += 64;
  int64_t t0 = now_ns();
  if (b->lsn == atomic_load_explicit(&b->probe_lsn, memory_order_acquire))
    atomic_store_explicit(&b->probe_t0, t0, memory_order_release);
  TRY("commit", floe_commit(b->t, b->xid, b->lsn, &e_));
  int64_t t1 = now_ns();
  samples *c =
      &b->commit_ns[atomic_load_explicit(&b->phase, memory_order_relaxed)];
  if (c->n == c->cap) {
    c->cap = c->cap ? c->cap * 2 : 65536;
    c->v = realloc(c->v, c->cap * sizeof *c->v);
    if (!c->v) die("out of memory", NULL);
  }
  c->v[c->n++] = t1 - t0;
  b->xid++;
}

static void add_sample(bench *b, int phase, int64_t ns) {
  samples *s = &b->lat[phase];
  pthread_mutex_lock(&b->lat_mu);
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 4096;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
    if (!s->v) die("out of memory", NULL);
  }
  s->v[s->n++] = ns;
  pthread_mutex_unlock(&b->lat_mu);
}

/* The reader: waits in floe_read_state_get for a commit PROBE_AHEAD
 * commits ahead; the time from that floe_commit call to here is a sample. */
static void *reader_main(void *arg) {
  bench *b = arg;
  uint64_t r = 0x2545F4914F6CDD1DULL;
  while (!atomic_load(&b->stop)) {
    int phase = atomic_load(&b->phase);
    uint64_t l = floe_applied_lsn(b->t) + 64 * PROBE_AHEAD;
    atomic_store_explicit(&b->probe_t0, 0, memory_order_relaxed);
    atomic_store_explicit(&b->probe_lsn, l, memory_order_release);
    floe_read_state *rs = NULL;
    floe_error e;
    floe_status st;
    /* short waits, so the end of ingest (an LSN never reached) ends it */
    while ((st = floe_read_state_get(b->t, l, 100, &rs, &e)) ==
               FLOE_ETIMEDOUT &&
           !atomic_load(&b->stop)) {
    }
    if (st == FLOE_ETIMEDOUT) break;
    if (st != FLOE_OK) die("read state", &e);
    int64_t t2 = now_ns();
    int64_t t0 = atomic_load_explicit(&b->probe_t0, memory_order_acquire);
    floe_read_state_release(rs);
    /* t0 == 0: ingest passed l before it was published: no sample */
    if (t0 && atomic_load(&b->phase) == phase) add_sample(b, phase, t2 - t0);
    r ^= r << 13;
    r ^= r >> 7;
    r ^= r << 17;
    struct timespec ts = {0, 200000 + (long)(r % 500000)};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

/* The maintenance thread: floe_table_tick when it asks, at least every
 * 50 ms. */
static void *maint_main(void *arg) {
  bench *b = arg;
  while (!atomic_load(&b->stop)) {
    int64_t now = now_ns() / 1000000, next = 0;
    TRY("tick", floe_table_tick(b->t, now, &next, &e_));
    floe_table_stats st;
    floe_table_stats_get(b->t, &st);
    if (st.mem_rows > b->peak_mem_rows) b->peak_mem_rows = st.mem_rows;
    if (st.mem_bytes > b->peak_mem_bytes) b->peak_mem_bytes = st.mem_bytes;
    if (st.index_rows &&
        (double)st.index_bytes / (double)st.index_rows > b->peak_bpr)
      b->peak_bpr = (double)st.index_bytes / (double)st.index_rows;
    int64_t wait = next - now;
    if (wait < 1) wait = 1;
    if (wait > 50) wait = 50;
    struct timespec ts = {0, wait * 1000000};
    nanosleep(&ts, NULL);
  }
  return NULL;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double max_us(samples *s) {
  int64_t m = 0;
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i] > m) m = s->v[i];
  return (double)m / 1000.0;
}

static double pct_us(samples *s, double p) {
  if (!s->n) return 0;
  qsort(s->v, s->n, sizeof *s->v, cmp_i64);
  size_t i = (size_t)(p * (double)(s->n - 1) + 0.5);
  return (double)s->v[i] / 1000.0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: table_engine DIR ROWS [CHANGES]\n");
    return 2;
  }
  const char *dir = argv[1];
  int64_t rows = strtoll(argv[2], NULL, 10);
  int64_t changes = argc > 3 ? strtoll(argv[3], NULL, 10) : 1000000;
  if (rows < 2 || changes < 0) {
    fprintf(stderr, "table_engine: ROWS >= 2, CHANGES >= 0\n");
    return 2;
  }

  static bench b; /* large, and the threads share it */
  b.rng = 0x9E3779B97F4A7C15ULL;
  b.xid = 1000;
  b.lsn = 0x16B3748ULL;
  pthread_mutex_init(&b.lat_mu, NULL);
  /* every key ever made: the load's plus the inserts (30%) of the mix */
  int64_t max_keys = rows + changes + 16;
  b.live = calloc((size_t)(max_keys + 7) / 8, 1);
  if (!b.live) die("out of memory", NULL);

  b.t = bench_table_open(dir, "orders");
  TRY("row", floe_row_new(b.t, &b.row, &e_));
  TRY("row", floe_row_new(b.t, &b.key, &e_));

  pthread_t reader, maint;
  if (pthread_create(&reader, NULL, reader_main, &b) != 0 ||
      pthread_create(&maint, NULL, maint_main, &b) != 0)
    die("pthread_create", NULL);

  /* ---- load: insert-only ---- */
  int64_t window = rows / 2 < 1000000 ? rows / 2 : 1000000;
  int64_t t_start = now_ns(), t_window = 0, c_window = 0;
  for (int64_t i = 0; i < rows; i++) {
    if (i == rows - window) {
      t_window = now_ns();
      c_window = cpu_ns();
    }
    int64_t k = b.next_key++;
    fill_row(&b, k, (uint64_t)k);
    TRY("insert", floe_insert(b.t, b.xid, b.xid, b.row, &e_));
    set_live(&b, k, true);
    if ((i + 1) % INSERT_TXN == 0 || i + 1 == rows) commit(&b);
  }
  int64_t t_load = now_ns(), c_load = cpu_ns();
  double ins_cpu_ns = (double)(c_load - c_window) / (double)window;
  double ins_s = (double)(t_load - t_start) / 1e9;
  double ins_ns = (double)(t_load - t_window) / (double)window;

  floe_table_stats st_load;
  floe_table_stats_get(b.t, &st_load);

  /* ---- update-heavy ---- */
  atomic_store(&b.phase, 1);
  int64_t live = rows, ups = 0, dels = 0, insn = 0;
  int64_t t_mix = now_ns(), c_mix = cpu_ns();
  for (int64_t i = 0; i < changes; i++) {
    uint64_t r = rnd(&b) % 100;
    if (r < 50) {
      int64_t k = live_key(&b);
      fill_row(&b, k, rnd(&b));
      TRY("update", floe_update(b.t, b.xid, b.xid, NULL, b.row, &e_));
      ups++;
    } else if (r < 70 && live > 1) {
      int64_t k = live_key(&b);
      floe_row_reset(b.key);
      TRY("key", floe_row_set_int(b.key, 0, k, &e_));
      TRY("delete", floe_delete(b.t, b.xid, b.xid, b.key, &e_));
      set_live(&b, k, false);
      live--;
      dels++;
    } else {
      int64_t k = b.next_key++;
      fill_row(&b, k, (uint64_t)k);
      TRY("insert", floe_insert(b.t, b.xid, b.xid, b.row, &e_));
      set_live(&b, k, true);
      live++;
      insn++;
    }
    if ((i + 1) % MIXED_TXN == 0 || i + 1 == changes) commit(&b);
  }
  int64_t t_end = now_ns(), c_end = cpu_ns();
  double mix_s = (double)(t_end - t_mix) / 1e9;

  /* stop the threads first: floe_table_close must not overlap a tick */
  atomic_store(&b.stop, 1);
  pthread_join(reader, NULL);
  pthread_join(maint, NULL);

  floe_table_stats st;
  floe_table_stats_get(b.t, &st);
  floe_read_state *rs = NULL;
  TRY("read state", floe_read_state_get(b.t, b.lsn, 10000, &rs, &e_));
  int64_t seen_rows = floe_read_state_rows(rs);
  floe_read_state_release(rs);
  if (seen_rows != live) {
    fprintf(stderr,
            "table_engine: the table has %" PRId64
            " rows, the bench made %" PRId64 "\n",
            seen_rows, live);
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double own_mib = (double)((size_t)(max_keys + 7) / 8 +
                            (b.lat[0].cap + b.lat[1].cap + b.commit_ns[0].cap +
                             b.commit_ns[1].cap) *
                                sizeof(int64_t)) /
                   1048576.0;

  printf("rows=%" PRId64 " changes=%" PRId64 "\n", rows, changes);
  printf("insert_s=%.3f insert_rows_s=%.0f insert_ns=%.1f window=%" PRId64 "\n",
         ins_s, (double)rows / ins_s, ins_ns, window);
  printf("mixed_s=%.3f mixed_rows_s=%.0f mixed_ns=%.1f updates=%" PRId64
         " deletes=%" PRId64 " inserts=%" PRId64 "\n",
         mix_s, changes ? (double)changes / mix_s : 0,
         changes ? (double)(t_end - t_mix) / (double)changes : 0, ups, dels,
         insn);
  printf("insert_cpu_ns=%.1f mixed_cpu_ns=%.1f proc_cpu_s=%.2f\n", ins_cpu_ns,
         changes ? (double)(c_end - c_mix) / (double)changes : 0,
         (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
  const char *ph[2] = {"load", "mixed"};
  for (int i = 0; i < 2; i++) {
    printf("fresh_%s_n=%zu fresh_%s_p50_us=%.1f fresh_%s_p99_us=%.1f "
           "fresh_%s_max_us=%.1f\n",
           ph[i], b.lat[i].n, ph[i], pct_us(&b.lat[i], 0.5), ph[i],
           pct_us(&b.lat[i], 0.99), ph[i], max_us(&b.lat[i]));
    printf("commit_%s_n=%zu commit_%s_p50_us=%.1f commit_%s_p99_us=%.1f "
           "commit_%s_max_us=%.1f\n",
           ph[i], b.commit_ns[i].n, ph[i], pct_us(&b.commit_ns[i], 0.5), ph[i],
           pct_us(&b.commit_ns[i], 0.99), ph[i], max_us(&b.commit_ns[i]));
  }
  printf("index_bytes=%" PRId64 " index_rows=%" PRId64 " index_bpr=%.2f "
         "index_bpr_load=%.2f index_bpr_peak=%.2f\n",
         st.index_bytes, st.index_rows,
         st.index_rows ? (double)st.index_bytes / (double)st.index_rows : 0,
         st_load.index_rows
             ? (double)st_load.index_bytes / (double)st_load.index_rows
             : 0,
         b.peak_bpr);
  printf("mem_rows_peak=%" PRId64 " mem_mib_peak=%.1f\n", b.peak_mem_rows,
         (double)b.peak_mem_bytes / 1048576.0);
  printf("rss_mib=%.1f bench_own_mib=%.1f\n", (double)ru.ru_maxrss / 1024.0,
         own_mib);
  printf("live_rows=%" PRId64 " data_files=%" PRId64 " mem_rows=%" PRId64
         " flushes=%" PRId64 " commits=%" PRId64 " compactions=%" PRId64
         " applied_lsn=%" PRIu64 " durable_lsn=%" PRIu64 "\n",
         live, st.data_files, st.mem_rows, st.flushes, st.commits,
         st.compactions, st.applied_lsn, st.durable_lsn);

  int64_t t_close = now_ns();
  floe_row_free(b.row);
  floe_row_free(b.key);
  TRY("close", floe_table_close(b.t, &e_));
  printf("close_s=%.3f\n", (double)(now_ns() - t_close) / 1e9);
  free(b.live);
  for (int i = 0; i < 2; i++) {
    free(b.lat[i].v);
    free(b.commit_ns[i].v);
  }
  pthread_mutex_destroy(&b.lat_mu);
  return 0;
}
