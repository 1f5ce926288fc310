/*
 * table_txn: the per-transaction costs of the streaming table engine, on
 * the ingest thread alone (no maintenance or reader thread: the figures are
 * this thread's CPU time, CLOCK_THREAD_CPUTIME_ID, so other load on the
 * machine shows up less than in wall time).
 *
 *   table_txn DIR [ROWS [TXNS]]
 *
 * In a fresh warehouse DIR it loads ROWS rows (default 100,000; the
 * table_engine columns: id int64 key, qty, status, note, price, ts) and
 * flushes them to a data file, then measures:
 *
 *   txn1    TXNS transactions (default 100,000) of one insert + commit
 *   txn4    TXNS / 2 transactions shaped like pgbench's TPC-B: three
 *           updates (new values, same key) of random keys - an account of
 *           ROWS, a teller of 100, a branch of 10 - and one insert
 *   toast   updates whose text column is unchanged (a TOAST value the
 *           source did not send) of rows that are only in the data file,
 *           one per transaction: the engine reads the old row back
 *   subabort  one transaction of 20,000 savepoints, each inserting a row;
 *           every other one also deletes the row the one before inserted
 *           and is rolled back: ns per floe_abort of a subxid
 *
 * For each: CPU ns per transaction (or per abort) and, in builds without
 * a sanitizer, malloc/calloc/realloc calls per transaction (this program
 * interposes them). Prints key=value lines.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "floe/floe.h"

#define BENCH_PROG "table_txn"
#include "bench_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define NO_COUNT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define NO_COUNT 1
#endif
#endif

/* allocation calls while counting is on (the only thread is this one) */
static int64_t n_alloc;
static bool counting;

#ifndef NO_COUNT
/* glibc's own entry points: this program's malloc counts and forwards */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

void *malloc(size_t n) {
  if (counting) n_alloc++;
  return __libc_malloc(n);
}
void *calloc(size_t n, size_t m) {
  if (counting) n_alloc++;
  return __libc_calloc(n, m);
}
void *realloc(void *p, size_t n) {
  if (counting) n_alloc++;
  return __libc_realloc(p, n);
}
void free(void *p) { __libc_free(p); }
#endif

typedef struct bench {
  floe_table *t;
  floe_row *row, *key;
  uint64_t lsn, rng;
  uint32_t xid;
  int64_t next_key;
} bench;

static uint64_t rnd(bench *b) {
  b->rng ^= b->rng >> 12;
  b->rng ^= b->rng << 25;
  b->rng ^= b->rng >> 27;
  return b->rng * 2685821657736338717ULL;
}

static void fill_row(bench *b, int64_t k, uint64_t v, bool toast) {
  floe_row *r = b->row;
  char note[48];
  int n = snprintf(note, sizeof note, "order %" PRId64 " rev %" PRIu64 " %s", k,
                   v, (v & 1) ? "shipped" : "open");
  floe_row_reset(r);
  TRY("row", floe_row_set_int(r, 0, k, &e_));
  TRY("row", floe_row_set_int(r, 1, (int64_t)(v % 1000), &e_));
  TRY("row", floe_row_set_int(r, 2, (int64_t)(v % 7), &e_));
  if (toast)
    TRY("row", floe_row_set_unchanged(r, 3, &e_));
  else
    TRY("row", floe_row_set_bytes(r, 3, note, (size_t)n, &e_));
  TRY("row", floe_row_set_float(r, 4, (double)(v % 100000) / 100.0, &e_));
  TRY("row", floe_row_set_int(r, 5, 1700000000000000 + (int64_t)v, &e_));
}

static void commit(bench *b) {
  b->lsn += 64;
  TRY("commit", floe_commit(b->t, b->xid, b->lsn, &e_));
  b->xid++;
}

static void report(const char *name, int64_t ns, int64_t allocs, int64_t n) {
  printf("%s_ns=%.0f\n", name, (double)ns / (double)n);
#ifdef NO_COUNT
  (void)allocs;
  printf("%s_allocs=n/a\n", name);
#else
  printf("%s_allocs=%.2f\n", name, (double)allocs / (double)n);
#endif
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: table_txn DIR [ROWS [TXNS]]\n");
    return 2;
  }
  const char *dir = argv[1];
  int64_t rows = argc > 2 ? strtoll(argv[2], NULL, 10) : 100000;
  int64_t txns = argc > 3 ? strtoll(argv[3], NULL, 10) : 100000;
  if (rows < 1000 || txns < 2) {
    fprintf(stderr, "table_txn: ROWS >= 1000, TXNS >= 2\n");
    return 2;
  }
  bench b = {.rng = 0x9E3779B97F4A7C15ULL, .xid = 1000, .lsn = 0x16B3748ULL};
  b.t = bench_table_open(dir, "txn");
  TRY("row", floe_row_new(b.t, &b.row, &e_));
  TRY("row", floe_row_new(b.t, &b.key, &e_));

  /* ROWS rows, all in one data file */
  for (int64_t i = 0; i < rows; i++) {
    fill_row(&b, b.next_key, (uint64_t)b.next_key, false);
    b.next_key++;
    TRY("insert", floe_insert(b.t, b.xid, b.xid, b.row, &e_));
    if ((i + 1) % 1000 == 0 || i + 1 == rows) commit(&b);
  }
  TRY("flush", floe_table_flush(b.t, &e_));

  /* toast first, while every row is only in the file */
  int64_t ntoast = rows >= 1000000 ? 200 : 500;
  counting = true;
  n_alloc = 0;
  int64_t t0 = cpu_ns();
  for (int64_t i = 0; i < ntoast; i++) {
    int64_t k = (int64_t)(rnd(&b) % (uint64_t)rows);
    fill_row(&b, k, rnd(&b), true);
    TRY("toast update", floe_update(b.t, b.xid, b.xid, NULL, b.row, &e_));
    commit(&b);
  }
  int64_t t1 = cpu_ns();
  counting = false;
  report("toast", t1 - t0, n_alloc, ntoast);

  /* one-row transactions: warm up (pools, active batch), then measure */
  for (int64_t i = 0; i < 1000; i++) {
    fill_row(&b, b.next_key, 1, false);
    b.next_key++;
    TRY("insert", floe_insert(b.t, b.xid, b.xid, b.row, &e_));
    commit(&b);
  }
  counting = true;
  n_alloc = 0;
  t0 = cpu_ns();
  for (int64_t i = 0; i < txns; i++) {
    fill_row(&b, b.next_key, 1, false);
    b.next_key++;
    TRY("insert", floe_insert(b.t, b.xid, b.xid, b.row, &e_));
    commit(&b);
  }
  t1 = cpu_ns();
  counting = false;
  report("txn1", t1 - t0, n_alloc, txns);

  /* TPC-B shaped: account, teller, branch updates + a history insert */
  int64_t n4 = txns / 2;
  counting = true;
  n_alloc = 0;
  t0 = cpu_ns();
  for (int64_t i = 0; i < n4; i++) {
    int64_t ks[3] = {(int64_t)(rnd(&b) % (uint64_t)rows),
                     (int64_t)(rnd(&b) % 100), 100 + (int64_t)(rnd(&b) % 10)};
    for (int j = 0; j < 3; j++) {
      fill_row(&b, ks[j], rnd(&b), false);
      TRY("update", floe_update(b.t, b.xid, b.xid, NULL, b.row, &e_));
    }
    fill_row(&b, b.next_key, 2, false);
    b.next_key++;
    TRY("insert", floe_insert(b.t, b.xid, b.xid, b.row, &e_));
    commit(&b);
  }
  t1 = cpu_ns();
  counting = false;
  report("txn4", t1 - t0, n_alloc, n4);

  /* savepoints: rolled back ones are aborted, the others stay */
  int nsub = 20000;
  int64_t abort_ns = 0;
  uint32_t xid = b.xid;
  for (int s = 1; s <= nsub; s++) {
    uint32_t sub = xid + (uint32_t)s;
    int64_t k = b.next_key++;
    fill_row(&b, k, 3, false);
    TRY("insert", floe_insert(b.t, xid, sub, b.row, &e_));
    floe_row_reset(b.key);
    TRY("key", floe_row_set_int(b.key, 0, k - 1, &e_));
    if (s % 2 == 0) {
      /* k - 1 is the kept row of the savepoint before */
      TRY("delete", floe_delete(b.t, xid, sub, b.key, &e_));
      int64_t a = cpu_ns();
      TRY("abort", floe_abort(b.t, xid, sub, &e_));
      abort_ns += cpu_ns() - a;
    }
  }
  commit(&b);
  printf("subabort_ns=%.0f\n", (double)abort_ns / (nsub / 2));

  floe_read_state *rs = NULL;
  TRY("read state", floe_read_state_get(b.t, b.lsn, 1000, &rs, &e_));
  printf("rows=%" PRId64 "\n", floe_read_state_rows(rs));
  floe_read_state_release(rs);
  floe_row_free(b.row);
  floe_row_free(b.key);
  TRY("close", floe_table_close(b.t, &e_));
  return 0;
}
