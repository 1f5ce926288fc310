/*
 * A small mirror driver for the tests (the daemon of issue 7 replaces it):
 * runs a pgs_source until SIGTERM/SIGINT (graceful: final flush, Iceberg
 * commit, slot confirmed) and may be SIGKILLed at any moment. A maintenance
 * thread ticks the tables. Commands arrive one per line on a FIFO (--cmd);
 * each names a reply file, written atomically (tmp + rename):
 *
 *   dump LSN DIR      waits until every streaming table applied LSN, then
 *                     writes DIR/<schema>.<table> (each row of a read state
 *                     in a canonical text, unsorted) and DIR/.done
 *   wait LSN REPLY    only the wait
 *   sql S.T REPLY     the SQL that renders S.T the same way from Postgres
 *   status REPLY      mirror and table states, LSNs, rows, peak RSS
 *   add S.T REPLY     pgs_add_table         remove S.T REPLY / resync S.T REPLY
 *   corrupt REPLY     injects a corrupt pgoutput message
 *
 * The canonical text: one line per row, values joined by '|': NULL as \N,
 * bool t/f, integers (dates, times, timestamps as their integer) in
 * decimal, floats as the hex of their bits, decimals as the unscaled
 * integer, text/bytes/uuid as hex, lists as [a,b,null].
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "columnar/arrow.h"
#include "pg/copy.h"
#include "pg/relinfo.h"
#include "pg/source.h"

/* ASan's shadow memory and quarantine make RSS meaningless */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

static void die(const char *what, const floe_error *e) {
  fprintf(stderr, "pg_mirror_run: %s: %s\n", what, e ? e->msg : "");
  exit(1);
}

/* ---- maintenance thread ---- */

typedef struct maint {
  pgs_source *s;
  atomic_int quit;
} maint;

static void *maint_main(void *arg) {
  maint *m = arg;
  while (!atomic_load(&m->quit)) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, next = 0;
    (void)pgs_tick(m->s, now, &next, NULL);
    int64_t wait = next - now;
    if (wait > 50) wait = 50;
    if (wait < 5) wait = 5;
    usleep((useconds_t)wait * 1000);
  }
  return NULL;
}

/* ---- canonical rendering of a scan ---- */

static void out_hex(fbuf *o, const uint8_t *p, size_t n) {
  static const char d[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    char two[2] = {d[p[i] >> 4], d[p[i] & 15]};
    fbuf_append(o, two, 2, NULL);
  }
}

static int bit(const void *buf, int64_t i) {
  return !buf || ((((const uint8_t *)buf)[i >> 3] >> (i & 7)) & 1);
}

static void render(fbuf *o, const struct ArrowSchema *sc,
                   const struct ArrowArray *a, int64_t i) {
  i += a->offset;
  if (a->null_count != 0 && !bit(a->buffers[0], i)) {
    fbuf_append(o, "\\N", 2, NULL);
    return;
  }
  const char *f = sc->format;
  if (!strcmp(f, "b")) {
    fbuf_put_u8(o, bit(a->buffers[1], i) ? 't' : 'f', NULL);
  } else if (!strcmp(f, "s")) {
    fbuf_printf(o, NULL, "%d", ((const int16_t *)a->buffers[1])[i]);
  } else if (!strcmp(f, "i") || !strcmp(f, "tdD")) {
    fbuf_printf(o, NULL, "%d", ((const int32_t *)a->buffers[1])[i]);
  } else if (!strcmp(f, "l") || !strncmp(f, "ts", 2) || !strcmp(f, "ttu")) {
    fbuf_printf(o, NULL, "%" PRId64, ((const int64_t *)a->buffers[1])[i]);
  } else if (!strcmp(f, "f")) {
    /* NaN payloads (and signs) are not kept: Postgres prints every NaN
     * as "NaN" (README) */
    float v = ((const float *)a->buffers[1])[i];
    uint32_t u = ((const uint32_t *)a->buffers[1])[i];
    fbuf_printf(o, NULL, "%08" PRIx32, v != v ? 0x7fc00000u : u);
  } else if (!strcmp(f, "g")) {
    double v = ((const double *)a->buffers[1])[i];
    uint64_t u = ((const uint64_t *)a->buffers[1])[i];
    fbuf_printf(o, NULL, "%016" PRIx64, v != v ? 0x7ff8000000000000u : u);
  } else if (!strncmp(f, "d:", 2)) {
    __int128 v;
    memcpy(&v, (const uint8_t *)a->buffers[1] + 16 * i, 16);
    char d[48];
    int k = 0;
    bool neg = v < 0;
    unsigned __int128 u =
        neg ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    do {
      d[k++] = (char)('0' + (int)(u % 10));
      u /= 10;
    } while (u);
    if (neg) fbuf_put_u8(o, '-', NULL);
    while (k) fbuf_put_u8(o, (uint8_t)d[--k], NULL);
  } else if (!strcmp(f, "u") || !strcmp(f, "z")) {
    const int32_t *off = a->buffers[1];
    const uint8_t *d = a->buffers[2];
    out_hex(o, d ? d + off[i] : (const uint8_t *)"",
            (size_t)(off[i + 1] - off[i]));
  } else if (!strcmp(f, "w:16")) {
    out_hex(o, (const uint8_t *)a->buffers[1] + 16 * i, 16);
  } else if (!strcmp(f, "+l")) {
    const int32_t *off = a->buffers[1];
    fbuf_put_u8(o, '[', NULL);
    const struct ArrowArray *ch = a->children[0];
    for (int32_t j = off[i]; j < off[i + 1]; j++) {
      if (j > off[i]) fbuf_put_u8(o, ',', NULL);
      int64_t jj = j + ch->offset;
      if (ch->null_count != 0 && !bit(ch->buffers[0], jj))
        fbuf_append(o, "null", 4, NULL);
      else
        render(o, sc->children[0], ch, j);
    }
    fbuf_put_u8(o, ']', NULL);
  } else {
    fbuf_printf(o, NULL, "?%s", f);
  }
}

/* The source's current column names (the order the SQL side renders). */
static int source_columns(const char *schema, const char *table, char ***out) {
  pgx_conn *c = NULL;
  pgx_rel *rel = NULL;
  floe_error e;
  *out = NULL;
  if (pgx_conn_open("", PGX_CONN_SQL, &c, &e)) return 0;
  int n = 0;
  if (!pgx_rel_load(c, schema, table, NULL, &rel, &e)) {
    *out = calloc((size_t)rel->ncols + 1, sizeof **out);
    for (int i = 0; i < rel->ncols; i++) (*out)[i] = strdup(rel->cols[i].name);
    n = rel->ncols;
  }
  pgx_rel_free(rel);
  pgx_conn_close(c);
  return n;
}

static floe_status dump_table(pgs_source *s, const char *schema,
                              const char *table, uint64_t lsn, const char *path,
                              floe_error *err) {
  floe_read_state *rs = NULL;
  FLOE_TRY(pgs_read_state_get(s, schema, table, lsn, 0, &rs, err));
  struct ArrowArrayStream st;
  /* projected in the source's column order (a dropped source table: all) */
  char **names = NULL;
  int nn = lsn ? source_columns(schema, table, &names) : 0;
  floe_status fs = floe_scan(rs, (const char *const *)names, nn, &st, err);
  for (int i = 0; i < nn; i++) free(names[i]);
  free(names);
  floe_read_state_release(rs);
  FLOE_TRY(fs);
  struct ArrowSchema sc;
  if (st.get_schema(&st, &sc)) {
    st.release(&st);
    return ferr_set(err, FLOE_EIO, "get_schema");
  }
  /* unsorted: the test sorts (the driver's memory stays the mirror's) */
  FILE *f = fopen(path, "w");
  if (!f) fs = ferr_set(err, FLOE_EIO, "%s: %s", path, strerror(errno));
  fbuf line = FBUF_INIT;
  while (!fs) {
    struct ArrowArray a;
    if (st.get_next(&st, &a)) {
      fs = ferr_set(err, FLOE_EIO, "scan: %s", st.get_last_error(&st));
      break;
    }
    if (!a.release) break;
    for (int64_t r = 0; r < a.length; r++) {
      fbuf_reset(&line);
      for (int64_t c = 0; c < a.n_children; c++) {
        if (c) fbuf_put_u8(&line, '|', NULL);
        render(&line, sc.children[c], a.children[c], r + a.offset);
      }
      fbuf_put_u8(&line, '\n', NULL);
      fwrite(line.data, 1, line.len, f);
    }
    a.release(&a);
  }
  sc.release(&sc);
  st.release(&st);
  fbuf_free(&line);
  if (f) fclose(f);
  return fs;
}

/* ---- the same rendering by SQL ---- */

static void sql_value(fbuf *o, col_dtype t, const char *x) {
  switch (t.id) {
  case COL_BOOL:
    fbuf_printf(o, NULL, "CASE WHEN %s THEN 't' ELSE 'f' END", x);
    break;
  case COL_INT16:
  case COL_INT32:
  case COL_INT64: fbuf_printf(o, NULL, "%s::text", x); break;
  case COL_FLOAT32:
    fbuf_printf(o, NULL,
                "CASE WHEN %s = 'NaN' THEN '7fc00000' ELSE "
                "encode(float4send(%s), 'hex') END",
                x, x);
    break;
  case COL_FLOAT64:
    fbuf_printf(o, NULL,
                "CASE WHEN %s = 'NaN' THEN '7ff8000000000000' ELSE "
                "encode(float8send(%s), 'hex') END",
                x, x);
    break;
  case COL_DECIMAL:
    fbuf_printf(o, NULL, "trunc(%s * 10::numeric ^ %d)::text", x, t.scale);
    break;
  case COL_UTF8:
    fbuf_printf(o, NULL, "encode(convert_to(format('%%s', %s), 'UTF8'), 'hex')",
                x);
    break;
  case COL_BINARY: fbuf_printf(o, NULL, "encode(%s, 'hex')", x); break;
  case COL_DATE:
    fbuf_printf(o, NULL,
                "CASE WHEN %s = 'infinity' THEN '2147483647' WHEN %s = "
                "'-infinity' THEN '-2147483648' ELSE (%s - DATE "
                "'1970-01-01')::text END",
                x, x, x);
    break;
  case COL_TIME:
    fbuf_printf(o, NULL, "(extract(epoch FROM %s) * 1000000)::int8::text", x);
    break;
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ:
    fbuf_printf(o, NULL,
                "CASE WHEN %s = 'infinity' THEN '9223372036854775807' WHEN %s "
                "= '-infinity' THEN '-9223372036854775808' ELSE "
                "(extract(epoch FROM %s) * 1000000)::int8::text END",
                x, x, x);
    break;
  case COL_UUID: fbuf_printf(o, NULL, "replace(%s::text, '-', '')", x); break;
  case COL_LIST: {
    fbuf_printf(o, NULL,
                "'[' || coalesce((SELECT string_agg(CASE WHEN e IS NULL THEN "
                "'null' ELSE ");
    sql_value(o, col_dtype_elem(t), "e");
    fbuf_printf(o, NULL,
                " END, ',' ORDER BY o) FROM unnest(%s) WITH ORDINALITY AS "
                "u(e, o)), '') || ']'",
                x);
    break;
  }
  default: fbuf_printf(o, NULL, "'?'"); break;
  }
}

static floe_status table_sql(const char *schema, const char *table, fbuf *o,
                             floe_error *err) {
  pgx_conn *c = NULL;
  FLOE_TRY(pgx_conn_open("", PGX_CONN_SQL, &c, err));
  pgx_rel *rel = NULL;
  floe_status st = pgx_rel_load(c, schema, table, NULL, &rel, err);
  fbuf_printf(o, NULL, "SELECT concat_ws('|'");
  for (int i = 0; !st && i < rel->ncols; i++) {
    pgt_desc d;
    pgx_col_desc(&rel->cols[i], &d);
    pgt_map m;
    st = pgt_map_type(&d, &m, err);
    if (st) break;
    fbuf q = FBUF_INIT;
    pgx_sql_ident(c, &q, rel->cols[i].name, err);
    pgx_sql_cstr(&q, err);
    fbuf_printf(o, NULL, ", CASE WHEN %s IS NULL THEN '\\N' ELSE ",
                (const char *)q.data);
    sql_value(o, m.type, (const char *)q.data);
    fbuf_printf(o, NULL, " END");
    fbuf_free(&q);
  }
  if (!st) {
    fbuf_printf(o, NULL, ") FROM ");
    pgx_sql_qname(c, o, schema, table, err);
    fbuf_put_u8(o, 0, NULL);
  }
  pgx_rel_free(rel);
  pgx_conn_close(c);
  return st;
}

/* ---- commands ---- */

static void reply(const char *path, const char *text) {
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  fputs(text, f);
  fclose(f);
  rename(tmp, path);
}

static bool split_name(const char *st, char *schema, char *table) {
  const char *dot = strchr(st, '.');
  if (!dot || dot == st || (size_t)(dot - st) >= 64 || strlen(dot + 1) >= 64)
    return false;
  memcpy(schema, st, (size_t)(dot - st));
  schema[dot - st] = 0;
  strcpy(table, dot + 1);
  return true;
}

static void status_text(pgs_source *s, fbuf *o) {
  pgs_status ps;
  floe_error e;
  if (pgs_status_get(s, &ps, &e)) {
    fbuf_printf(o, NULL, "error %s\n", e.msg);
    return;
  }
  char a[32], b[32];
  fbuf_printf(o, NULL, "source %s slot=%s publication=%s\n", ps.source, ps.slot,
              ps.publication);
  fbuf_printf(o, NULL,
              "mirror %s connected=%d reconnects=%d messages=%" PRId64
              " ignored=%" PRId64 " txns=%" PRId64 " confirmed=%s error=%s\n",
              pgs_state_name(ps.state), ps.connected, ps.reconnects,
              ps.messages, ps.ignored, ps.transactions,
              floe_lsn_format(ps.confirmed_lsn, a), ps.last_error);
  for (int i = 0; i < ps.ntables; i++) {
    pgs_table_status *t = &ps.tables[i];
    fbuf_printf(o, NULL,
                "table %s.%s state=%s rows=%" PRId64 " applied=%s durable=%s "
                "lag=%" PRIu64 " changes=%" PRId64 " files=%" PRId64
                " copy_rows=%" PRId64 " error=%s\n",
                t->schema, t->table, pgs_state_name(t->state), t->rows,
                floe_lsn_format(t->applied_lsn, a),
                floe_lsn_format(t->durable_lsn, b), t->lag_bytes, t->changes,
                t->engine.data_files, t->copy_rows, t->last_error);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  fbuf_printf(o, NULL, "maxrss_kb %ld\n", ru.ru_maxrss);
  fbuf_printf(o, NULL, "sanitized %d\n", SANITIZED);
  fbuf_printf(o, NULL, "cpu_s %.3f\n",
              (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                  (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
  fbuf_put_u8(o, 0, NULL);
  pgs_status_free(&ps);
}

/* Polls until every streaming table applied lsn (asking the server for
 * keepalives so an idle mirror gets there). */
static floe_status wait_applied(pgs_source *s, uint64_t lsn, int timeout_ms,
                                floe_error *err) {
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int round = 0;; round++) {
    pgs_status ps;
    FLOE_TRY(pgs_status_get(s, &ps, err));
    bool ok = true;
    for (int i = 0; i < ps.ntables; i++)
      if ((ps.tables[i].state == PGS_STREAMING ||
           ps.tables[i].state == PGS_COPYING) &&
          ps.tables[i].applied_lsn < lsn)
        ok = false;
    pgs_status_free(&ps);
    if (ok) return FLOE_OK;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >
        timeout_ms)
      return ferr_set(err, FLOE_ETIMEDOUT, "LSN not reached");
    if (round % 4 == 0) (void)pgs_request_keepalive(s, NULL);
    FLOE_TRY(pgs_poll(s, 50, err));
  }
}

static void command(pgs_source *s, char *line) {
  char *argv[4] = {0};
  int argc = 0;
  for (char *tok = strtok(line, " \t\n"); tok && argc < 4;
       tok = strtok(NULL, " \t\n"))
    argv[argc++] = tok;
  if (!argc) return;
  floe_error e;
  ferr_clear(&e);
  fbuf o = FBUF_INIT;
  char schema[64], table[64];
  if (!strcmp(argv[0], "dump") && argc == 3) {
    uint64_t lsn = 0;
    floe_status st = floe_lsn_parse(argv[1], &lsn, &e);
    if (!st) st = wait_applied(s, lsn, 60000, &e);
    pgs_status ps;
    if (!st) st = pgs_status_get(s, &ps, &e);
    if (!st) {
      for (int i = 0; i < ps.ntables && !st; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s.%s", argv[2], ps.tables[i].schema,
                 ps.tables[i].table);
        if (ps.tables[i].state == PGS_ERROR) continue;
        /* tables that stopped applying are shown as they stand */
        st =
            dump_table(s, ps.tables[i].schema, ps.tables[i].table,
                       ps.tables[i].state == PGS_STREAMING ? lsn : 0, path, &e);
      }
      pgs_status_free(&ps);
    }
    status_text(s, &o);
    char done[1024];
    snprintf(done, sizeof done, "%s/.done", argv[2]);
    if (st) {
      fbuf q = FBUF_INIT;
      fbuf_printf(&q, NULL, "failed %s\n%s", e.msg, (const char *)o.data);
      fbuf_put_u8(&q, 0, NULL);
      reply(done, (const char *)q.data);
      fbuf_free(&q);
    } else {
      reply(done, (const char *)o.data);
    }
  } else if (!strcmp(argv[0], "wait") && argc == 3) {
    uint64_t lsn = 0;
    floe_status st = floe_lsn_parse(argv[1], &lsn, &e);
    if (!st) st = wait_applied(s, lsn, 120000, &e);
    fbuf_printf(&o, NULL, "%s %s\n", st ? "failed" : "ok", st ? e.msg : "");
    fbuf_put_u8(&o, 0, NULL);
    reply(argv[2], (const char *)o.data);
  } else if (!strcmp(argv[0], "sql") && argc == 3 &&
             split_name(argv[1], schema, table)) {
    if (table_sql(schema, table, &o, &e)) {
      fbuf_reset(&o);
      fbuf_printf(&o, NULL, "failed %s", e.msg);
      fbuf_put_u8(&o, 0, NULL);
    }
    reply(argv[2], (const char *)o.data);
  } else if (!strcmp(argv[0], "status") && argc == 2) {
    status_text(s, &o);
    reply(argv[1], (const char *)o.data);
  } else if ((!strcmp(argv[0], "add") || !strcmp(argv[0], "remove") ||
              !strcmp(argv[0], "resync")) &&
             argc == 3 && split_name(argv[1], schema, table)) {
    floe_status st;
    if (!strcmp(argv[0], "add")) {
      pgs_table_spec sp = {schema, table, NULL, NULL, PGS_COPY_AUTO, NULL};
      st = pgs_add_table(s, &sp, &e);
    } else if (!strcmp(argv[0], "remove")) {
      st = pgs_remove_table(s, schema, table, &e);
    } else {
      st = pgs_resync_table(s, schema, table, &e);
    }
    fbuf_printf(&o, NULL, "%s %s\n", st ? "failed" : "ok", st ? e.msg : "");
    fbuf_put_u8(&o, 0, NULL);
    reply(argv[2], (const char *)o.data);
  } else if (!strcmp(argv[0], "corrupt") && argc == 2) {
    /* an Insert whose tuple claims more columns than it carries */
    static const uint8_t bad[] = {'I', 0, 0, 0, 1, 'N', 0, 9, 't', 0, 0};
    floe_status st = pgs_inject(s, 1, bad, sizeof bad, &e);
    fbuf_printf(&o, NULL, "%s %s\n", st ? "failed" : "ok", st ? e.msg : "");
    fbuf_put_u8(&o, 0, NULL);
    reply(argv[1], (const char *)o.data);
  } else {
    fprintf(stderr, "pg_mirror_run: bad command %s\n", argv[0]);
  }
  fbuf_free(&o);
}

/* ---- main ---- */

static void usage(void) {
  fprintf(stderr,
          "usage: pg_mirror_run --mirror M --warehouse DIR --table S.T ...\n"
          "  [--cmd FIFO] [--conninfo STR] [--publication P] [--skip-copy]\n"
          "  [--replica-full] [--commit-ms N]\n"
          "  [--flush-rows N] [--memory-limit BYTES] [--spill-bytes BYTES]\n"
          "  [--copy-conns N] [--log LEVEL] [--no-progress]\n");
  exit(2);
}

int main(int argc, char **argv) {
  pgs_opts o;
  pgs_opts_init(&o);
  o.conninfo = "";
  o.progress = PGX_PROGRESS_NONE;
  const char *cmd = NULL;
  pgs_table_spec specs[64];
  char names[64][2][64];
  int n = 0;
  flog lg = {FLOG_INFO, NULL, NULL};
  o.log = &lg;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--mirror") && v) {
      o.mirror = v;
      i++;
    } else if (!strcmp(a, "--warehouse") && v) {
      o.catalog_uri = v;
      i++;
    } else if (!strcmp(a, "--table") && v && n < 64) {
      if (!split_name(v, names[n][0], names[n][1])) usage();
      specs[n] = (pgs_table_spec){names[n][0], names[n][1],   NULL,
                                  NULL,        PGS_COPY_AUTO, NULL};
      n++;
      i++;
    } else if (!strcmp(a, "--cmd") && v) {
      cmd = v;
      i++;
    } else if (!strcmp(a, "--conninfo") && v) {
      o.conninfo = v;
      i++;
    } else if (!strcmp(a, "--publication") && v) {
      o.publication = v;
      i++;
    } else if (!strcmp(a, "--skip-copy")) {
      o.skip_copy = true;
    } else if (!strcmp(a, "--replica-full")) {
      o.set_replica_full = true;
    } else if (!strcmp(a, "--commit-ms") && v) {
      o.table.commit_interval_ms = atoll(v);
      i++;
    } else if (!strcmp(a, "--flush-rows") && v) {
      o.table.flush_rows = atoll(v);
      i++;
    } else if (!strcmp(a, "--memory-limit") && v) {
      o.table.memory_limit = atoll(v);
      i++;
    } else if (!strcmp(a, "--spill-bytes") && v) {
      o.table.txn_spill_bytes = atoll(v);
      i++;
    } else if (!strcmp(a, "--copy-conns") && v) {
      o.copy_connections = atoi(v);
      i++;
    } else if (!strcmp(a, "--log") && v) {
      lg.level = (flog_level)flog_level_parse(v);
      i++;
    } else {
      usage();
    }
  }
  if (!o.mirror || !o.catalog_uri) usage();
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  pgs_source *s = NULL;
  floe_error e;
  if (pgs_open(&o, specs, n, &s, &e)) die("open", &e);
  fprintf(stderr, "pg_mirror_run: mirror %s running\n", o.mirror);
  maint m = {s, 0};
  pthread_t th;
  pthread_create(&th, NULL, maint_main, &m);
  int fd = -1;
  if (cmd) fd = open(cmd, O_RDWR | O_NONBLOCK); /* RDWR: never EOF */
  char buf[4096];
  size_t have = 0;
  int rc = 0;
  while (!g_stop) {
    floe_status st = pgs_poll(s, 50, &e);
    if (st) {
      /* the mirror failed: keep answering commands (status shows it) */
      usleep(50000);
    }
    if (fd >= 0) {
      ssize_t r = read(fd, buf + have, sizeof buf - 1 - have);
      if (r > 0) have += (size_t)r;
      char *nl;
      while ((nl = memchr(buf, '\n', have))) {
        *nl = 0;
        char line[4096];
        snprintf(line, sizeof line, "%s", buf);
        size_t used = (size_t)(nl - buf) + 1;
        memmove(buf, nl + 1, have - used);
        have -= used;
        command(s, line);
      }
    }
  }
  if (pgs_stop(s, &e)) {
    fprintf(stderr, "pg_mirror_run: stop: %s\n", e.msg);
    rc = 1;
  }
  atomic_store(&m.quit, 1);
  pthread_join(th, NULL);
  pgs_free(s);
  if (fd >= 0) close(fd);
  fprintf(stderr, "pg_mirror_run: stopped\n");
  return rc;
}
