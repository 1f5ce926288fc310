/*
 * The Postgres source end to end (src/pg/source.c into the table engine),
 * for bench/source_run. The server comes from the PG* variables.
 *
 *   pg_source copy WAREHOUSE MIRROR S.T
 *       the whole initial copy: publication, slot, discovery, the parallel
 *       copy written into the engine as one transaction, its commit, then
 *       flushed to Parquet and committed to Iceberg (durable). Prints
 *       rows, copy_s (into the engine, committed), durable_s (until the
 *       Iceberg commit), rows_s, cpu_s.
 *   pg_source drain WAREHOUSE MIRROR LSN S.T...
 *       resumes the mirror (its slot holds a backlog) and times until every
 *       table is durable at LSN or past it. Prints drain_s, changes,
 *       cpu_s (user + system of this process), cpu_s_per_100k.
 *   pg_source setup WAREHOUSE MIRROR S.T...
 *       creates the mirror (copy included) and stops it cleanly.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "pg/source.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int die(const char *what, const floe_error *e) {
  fprintf(stderr, "pg_source: %s: %s\n", what, e->msg);
  return 1;
}

typedef struct maint {
  pgs_source *s;
  atomic_int quit;
} maint;

static void *maint_main(void *arg) {
  maint *m = arg;
  while (!atomic_load(&m->quit)) {
    int64_t now = (int64_t)(now_s() * 1000), next = 0;
    (void)pgs_tick(m->s, now, &next, NULL);
    int64_t wait = next - now;
    if (wait > 20) wait = 20;
    if (wait < 2) wait = 2;
    usleep((useconds_t)wait * 1000);
  }
  return NULL;
}

static int specs_of(char **names, int n, pgs_table_spec *sp,
                    char (*buf)[2][64]) {
  for (int i = 0; i < n; i++) {
    const char *dot = strchr(names[i], '.');
    if (!dot) return -1;
    snprintf(buf[i][0], 64, "%.*s", (int)(dot - names[i]), names[i]);
    snprintf(buf[i][1], 64, "%s", dot + 1);
    sp[i] =
        (pgs_table_spec){buf[i][0], buf[i][1], NULL, NULL, PGS_COPY_AUTO, NULL};
  }
  return 0;
}

static void opts_for(pgs_opts *o, const char *wh, const char *mirror,
                     flog *lg) {
  pgs_opts_init(o);
  o->conninfo = "";
  o->mirror = mirror;
  o->catalog_uri = wh;
  o->set_replica_full = true; /* pgbench_history has no key */
  o->progress =
      getenv("BENCH_PROGRESS") ? PGX_PROGRESS_AUTO : PGX_PROGRESS_NONE;
  if (getenv("BENCH_CONNS")) o->copy_connections = atoi(getenv("BENCH_CONNS"));
  /* the engine's share on the connections' thread (before the worker) */
  if (getenv("BENCH_COPY_INLINE")) o->copy_inline = true;
  if (getenv("BENCH_SPILL"))
    o->table.txn_spill_bytes = atoll(getenv("BENCH_SPILL"));
  if (getenv("BENCH_MEMORY"))
    o->table.memory_limit = atoll(getenv("BENCH_MEMORY"));
  lg->level = getenv("BENCH_LOG")
                  ? (flog_level)flog_level_parse(getenv("BENCH_LOG"))
                  : FLOG_WARN;
  lg->sink = NULL;
  lg->ctx = NULL;
  o->log = lg;
}

/* Polls until every streaming table is durable at lsn; *applied_at (may be
 * NULL) gets the time every table had applied it. */
static int until_durable(pgs_source *s, uint64_t lsn, int64_t *changes,
                         double *applied_at) {
  floe_error e;
  if (applied_at) *applied_at = 0;
  for (int round = 0;; round++) {
    if (pgs_poll(s, 20, &e)) return die("poll", &e);
    pgs_status st;
    if (pgs_status_get(s, &st, &e)) return die("status", &e);
    bool ok = true, app = true;
    *changes = 0;
    for (int i = 0; i < st.ntables; i++) {
      pgs_table_status *t = &st.tables[i];
      *changes += t->changes;
      if (t->state == PGS_ERROR) {
        fprintf(stderr, "pg_source: %s.%s: %s\n", t->schema, t->table,
                t->last_error);
        pgs_status_free(&st);
        return 1;
      }
      if (t->durable_lsn < lsn) ok = false;
      if (t->applied_lsn < lsn) app = false;
    }
    if (app && applied_at && !*applied_at) *applied_at = now_s();
    pgs_status_free(&st);
    if (ok) return 0;
    if (round % 10 == 0) (void)pgs_request_keepalive(s, NULL);
  }
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: pg_source copy|setup WAREHOUSE MIRROR S.T...\n"
                    "       pg_source drain WAREHOUSE MIRROR LSN S.T...\n");
    return 2;
  }
  const char *mode = argv[1], *wh = argv[2], *mirror = argv[3];
  bool drain = !strcmp(mode, "drain");
  int first = drain ? 5 : 4;
  int n = argc - first;
  if (n < 1 || n > 16) return 2;
  pgs_table_spec sp[16];
  char buf[16][2][64];
  if (specs_of(argv + first, n, sp, buf)) return 2;
  uint64_t lsn = 0;
  floe_error e;
  if (drain && floe_lsn_parse(argv[4], &lsn, &e)) return die("lsn", &e);
  flog lg;
  pgs_opts o;
  opts_for(&o, wh, mirror, &lg);

  double t0 = now_s(), c0 = cpu_s();
  pgs_source *s = NULL;
  if (pgs_open(&o, sp, n, &s, &e)) return die("open", &e);
  double t1 = now_s();
  maint m = {s, 0};
  pthread_t th;
  pthread_create(&th, NULL, maint_main, &m);
  int rc = 0;
  pgs_status st;
  if (!strcmp(mode, "copy")) {
    /* durable: everything the copy committed is in Iceberg */
    int64_t ch = 0;
    if (pgs_status_get(s, &st, &e)) return die("status", &e);
    uint64_t at = st.tables[0].copy_lsn;
    int64_t rows = st.tables[0].copy_rows;
    pgs_status_free(&st);
    rc = until_durable(s, at, &ch, NULL);
    double t2 = now_s();
    printf("rows=%" PRId64 " copy_s=%.3f durable_s=%.3f rows_s=%.0f "
           "cpu_s=%.2f\n",
           rows, t1 - t0, t2 - t0, (double)rows / (t1 - t0), cpu_s() - c0);
  } else if (drain) {
    int64_t ch = 0;
    double ta = 0;
    rc = until_durable(s, lsn, &ch, &ta);
    double t2 = now_s(), c = cpu_s() - c0;
    printf("drain_s=%.3f open_s=%.3f applied_s=%.3f changes=%" PRId64
           " cpu_s=%.2f cpu_s_per_100k=%.3f changes_s=%.0f\n",
           t2 - t0, t1 - t0, ta - t0, ch, c,
           ch ? c * 100000.0 / (double)ch : 0.0, (double)ch / (t2 - t0));
  }
  if (pgs_stop(s, &e)) rc = die("stop", &e);
  atomic_store(&m.quit, 1);
  pthread_join(th, NULL);
  pgs_free(s);
  return rc;
}
