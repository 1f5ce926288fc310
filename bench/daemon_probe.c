/*
 * The freshness probe of `make bench` (bench/run, section daemon): against
 * a running `floe mirror` that mirrors public.floe_probe (id bigint primary
 * key), every 10 ms it commits one row in Postgres, takes
 * pg_current_wal_lsn() after the commit, and asks the daemon for a read
 * state at that LSN (READ_STATE, as `floe scan --at-lsn` does): the time
 * from the commit's return to the read state's arrival is commit-to-visible.
 * Every 20th probe also scans the lease by key to check the row is there.
 * The daemon's STATUS is polled for the table's durable LSN: the time from
 * the commit to durable >= its LSN is commit-to-durable (in an Iceberg
 * snapshot).
 *
 *   daemon_probe SOCKET CONNINFO SECONDS
 *
 * Prints key=value lines: probes, visible_p50_ms, visible_p99_ms,
 * visible_max_ms, durable_p50_ms, durable_p99_ms, durable_max_ms.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/client.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p) {
  if (n == 0) return 0;
  int i = (int)(p * (n - 1) + 0.5);
  return v[i];
}

static uint64_t lsn_parse(const char *s) {
  unsigned hi, lo;
  if (sscanf(s, "%X/%X", &hi, &lo) != 2) return 0;
  return (uint64_t)hi << 32 | lo;
}

static floe_status sink(void *ctx, const uint8_t *p, size_t n,
                        floe_error *err) {
  return fbuf_append(ctx, p, n, err);
}

static void die(const char *what, const char *msg) {
  fprintf(stderr, "daemon_probe: %s: %s\n", what, msg);
  exit(1);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: daemon_probe SOCKET CONNINFO SECONDS\n");
    return 2;
  }
  double seconds = atof(argv[3]);
  PGconn *pg = PQconnectdb(argv[2]);
  if (PQstatus(pg) != CONNECTION_OK) die("connect", PQerrorMessage(pg));
  PGresult *r = PQexec(pg, "SELECT coalesce(max(id), 0) FROM floe_probe");
  if (PQresultStatus(r) != PGRES_TUPLES_OK) die("max", PQerrorMessage(pg));
  long long next_id = atoll(PQgetvalue(r, 0, 0)) + 1;
  PQclear(r);
  floe_error err;
  rpc_client *c;
  if (rpc_client_connect(argv[1], "daemon_probe", 30000, &c, &err) != FLOE_OK)
    die("daemon", err.msg);
  /* one more connection for STATUS, so durable polls do not wait behind a
   * read state */
  rpc_client *cs;
  if (rpc_client_connect(argv[1], "daemon_probe", 30000, &cs, &err) != FLOE_OK)
    die("daemon", err.msg);
  int cap = (int)(seconds * 110) + 16, nvis = 0, ndur = 0, npend = 0;
  double *vis = malloc((size_t)cap * sizeof *vis);
  double *dur = malloc((size_t)cap * sizeof *dur);
  double *pend_t = malloc((size_t)cap * sizeof *pend_t);
  uint64_t *pend_lsn = malloc((size_t)cap * sizeof *pend_lsn);
  farena a;
  farena_init(&a, 4096, 0);
  fbuf out = FBUF_INIT;
  double start = now_ms(), next = start;
  while (now_ms() - start < seconds * 1000 && nvis < cap) {
    double t = now_ms();
    if (t < next) usleep((useconds_t)((next - t) * 1000));
    next += 10;
    char sql[128];
    snprintf(sql, sizeof sql,
             "INSERT INTO floe_probe VALUES (%lld, clock_timestamp())",
             next_id);
    r = PQexec(pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
      die("insert", PQerrorMessage(pg));
    PQclear(r);
    double t0 = now_ms(); /* the commit has returned */
    r = PQexec(pg, "SELECT pg_current_wal_lsn()");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) die("lsn", PQerrorMessage(pg));
    uint64_t lsn = lsn_parse(PQgetvalue(r, 0, 0));
    PQclear(r);
    farena_reset(&a);
    rpc_msg req = {.type = RPC_READ_STATE}, rep;
    req.u.read_state = (rpc_read_state){"public.floe_probe", lsn, 10000, 0};
    if (rpc_client_call(c, &req, &a, &rep, &err) != FLOE_OK)
      die("read_state", err.msg);
    vis[nvis++] = now_ms() - t0;
    uint64_t lease = rep.u.read_state_ok.lease;
    if (next_id % 20 == 0) {
      char key[32];
      snprintf(key, sizeof key, "%lld", next_id);
      rpc_key_eq k = {"id", key};
      const char *col[1] = {"id"};
      rpc_scan sc = {lease, RPC_FMT_CSV, 0, 1, col, 1, &k};
      rpc_end end;
      out.len = 0;
      if (rpc_client_scan(c, &sc, sink, &out, &end, &err) != FLOE_OK)
        die("scan", err.msg);
      if (end.rows != 1) die("scan", "the committed row is not visible");
    }
    req = (rpc_msg){.type = RPC_RELEASE};
    req.u.lease.lease = lease;
    if (rpc_client_call(c, &req, &a, &rep, &err) != FLOE_OK)
      die("release", err.msg);
    pend_t[npend] = t0;
    pend_lsn[npend++] = lsn;
    next_id++;
    /* durable: resolve the pending probes STATUS says are in Iceberg */
    farena_reset(&a);
    const char *names[1] = {"public.floe_probe"};
    req = (rpc_msg){.type = RPC_STATUS};
    req.u.status = (rpc_status){1, names};
    if (rpc_client_call(cs, &req, &a, &rep, &err) != FLOE_OK)
      die("status", err.msg);
    uint64_t durable = rep.u.status_ok.tables[0].durable_lsn;
    double tn = now_ms();
    int k = 0;
    for (int i = 0; i < npend; i++) {
      if (pend_lsn[i] <= durable)
        dur[ndur++] = tn - pend_t[i];
      else {
        pend_t[k] = pend_t[i];
        pend_lsn[k++] = pend_lsn[i];
      }
    }
    npend = k;
  }
  qsort(vis, (size_t)nvis, sizeof *vis, cmp_d);
  qsort(dur, (size_t)ndur, sizeof *dur, cmp_d);
  printf("probes=%d\n", nvis);
  printf("visible_p50_ms=%.1f\nvisible_p99_ms=%.1f\nvisible_max_ms=%.1f\n",
         pct(vis, nvis, 0.5), pct(vis, nvis, 0.99), nvis ? vis[nvis - 1] : 0);
  printf("durable_n=%d\ndurable_p50_ms=%.0f\ndurable_p99_ms=%.0f\n"
         "durable_max_ms=%.0f\n",
         ndur, pct(dur, ndur, 0.5), pct(dur, ndur, 0.99),
         ndur ? dur[ndur - 1] : 0);
  fbuf_free(&out);
  farena_free(&a);
  free(vis);
  free(dur);
  free(pend_t);
  free(pend_lsn);
  rpc_client_close(c);
  rpc_client_close(cs);
  PQfinish(pg);
  return 0;
}
