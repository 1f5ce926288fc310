/*
 * Initial copy throughput: floe's parallel copy (src/pg/copy.c: COPY text
 * by ctid range over N connections, parsed into columnar batches, batches
 * dropped) against a plain `COPY table TO STDOUT` drained and discarded by
 * one libpq client (what `psql -c "COPY ... TO STDOUT" > /dev/null` does),
 * in the same run, against the same server.
 *
 *   initial_copy SCHEMA TABLE [CONNECTIONS...]     (server from PG* variables)
 *
 * Prints key=value lines: the baseline, then per connection count (default:
 * 1 2) one line for binary COPY and one for text, each the best of
 * BENCH_REPEAT (default 3) runs. mb_s is the baseline's text bytes over the
 * time, so the figures compare.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg/copy.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, const floe_error *err) {
  fprintf(stderr, "initial_copy: %s: %s\n", what, err->msg);
  return 1;
}

/* The baseline: one COPY, every row fetched and thrown away. */
static int baseline(const char *schema, const char *table, double *secs,
                    int64_t *rows, int64_t *bytes) {
  floe_error err;
  pgx_conn *c = NULL;
  if (pgx_conn_open("", PGX_CONN_SQL, &c, &err) != FLOE_OK)
    return die("connect", &err);
  fbuf sql = FBUF_INIT;
  fbuf_printf(&sql, &err, "COPY ");
  pgx_sql_qname(c, &sql, schema, table, &err);
  fbuf_printf(&sql, &err, " TO STDOUT");
  pgx_sql_cstr(&sql, &err);
  double t0 = now_s();
  PGresult *r = PQexec(c->pg, (const char *)sql.data);
  if (PQresultStatus(r) != PGRES_COPY_OUT) {
    fprintf(stderr, "initial_copy: %s", PQerrorMessage(c->pg));
    return 1;
  }
  PQclear(r);
  *rows = *bytes = 0;
  char *buf;
  int n;
  while ((n = PQgetCopyData(c->pg, &buf, 0)) > 0) {
    (*rows)++;
    *bytes += n;
    PQfreemem(buf);
  }
  while ((r = PQgetResult(c->pg)) != NULL) PQclear(r);
  *secs = now_s() - t0;
  fbuf_free(&sql);
  pgx_conn_close(c);
  return 0;
}

static floe_status drop_batch(void *ctx, col_batch **b, floe_error *err) {
  (void)err;
  *(int64_t *)ctx += (*b)->length;
  return FLOE_OK;
}

static int floe_copy(const pgx_rel *rel, int conns, pgx_copy_format fmt,
                     double *secs, int64_t *rows, int64_t *bytes) {
  int64_t seen = 0;
  pgx_copy_opts o = {.conninfo = "",
                     .connections = conns,
                     .format = fmt,
                     .progress = getenv("BENCH_PROGRESS") ? PGX_PROGRESS_AUTO
                                                          : PGX_PROGRESS_NONE,
                     .on_batch = drop_batch,
                     .ctx = &seen};
  floe_error err;
  pgx_copy *cp = NULL;
  double t0 = now_s();
  if (pgx_copy_open(&o, &cp, &err) != FLOE_OK) return die("copy open", &err);
  if (pgx_copy_table(cp, rel, NULL, rows, &err) != FLOE_OK)
    return die("copy", &err);
  *secs = now_s() - t0;
  pgx_copy_free(cp);
  *bytes = 0;
  if (seen != *rows) {
    fprintf(stderr, "initial_copy: %" PRId64 " rows delivered of %" PRId64 "\n",
            seen, *rows);
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: initial_copy SCHEMA TABLE [CONNECTIONS...]\n");
    return 2;
  }
  int repeat = getenv("BENCH_REPEAT") ? atoi(getenv("BENCH_REPEAT")) : 3;
  if (repeat < 1) repeat = 1;
  floe_error err;
  pgx_conn *c = NULL;
  if (pgx_conn_open("", PGX_CONN_SQL, &c, &err) != FLOE_OK)
    return die("connect", &err);
  pgx_rel *rel = NULL;
  if (pgx_rel_load(c, argv[1], argv[2], NULL, &rel, &err) != FLOE_OK)
    return die("discover", &err);
  pgx_conn_close(c);

  double best = 1e30, s;
  int64_t rows = 0, bytes = 0;
  for (int i = 0; i < repeat; i++) {
    if (baseline(argv[1], argv[2], &s, &rows, &bytes)) return 1;
    if (s < best) best = s;
  }
  double base = best;
  printf("baseline rows=%" PRId64 " bytes=%" PRId64 " s=%.3f rows_s=%.0f "
         "mb_s=%.1f\n",
         rows, bytes, base, (double)rows / base,
         (double)bytes / base / 1048576.0);
  fflush(stdout);

  int def[] = {1, 2};
  int ncounts = argc > 3 ? argc - 3 : 2;
  for (int k = 0; k < ncounts; k++) {
    int conns = argc > 3 ? atoi(argv[3 + k]) : def[k];
    for (int f = 0; f < 2; f++) {
      pgx_copy_format fmt = f == 0 ? PGX_COPY_BINARY : PGX_COPY_TEXT;
      best = 1e30;
      int64_t frows = 0, fbytes = 0;
      for (int i = 0; i < repeat; i++) {
        if (floe_copy(rel, conns, fmt, &s, &frows, &fbytes)) return 1;
        if (s < best) best = s;
      }
      if (frows != rows) {
        fprintf(stderr,
                "initial_copy: floe copied %" PRId64 " rows, COPY %" PRId64
                "\n",
                frows, rows);
        return 1;
      }
      printf("floe format=%s connections=%d rows=%" PRId64 " s=%.3f "
             "rows_s=%.0f mb_s=%.1f ratio=%.2f\n",
             fmt == PGX_COPY_BINARY ? "binary" : "text", conns, frows, best,
             (double)frows / best, (double)bytes / best / 1048576.0,
             base / best);
      fflush(stdout);
    }
  }
  pgx_rel_free(rel);
  return 0;
}
