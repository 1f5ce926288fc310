/*
 * A small mirror for the CLI's shell tests: one engine table (public.items,
 * a column of every floe type, key id) fed through the public API, and
 * optionally the real RPC server loop (src/server) answering the requests
 * the CLI sends, with scans rendered by columnar/render.h exactly as a
 * daemon renders them.
 *
 * usage: cli_mirror WAREHOUSE            build the table (if new) and exit
 *        cli_mirror WAREHOUSE SOCKET     build, apply newer changes that
 *                                        stay in memory, serve until SIGTERM
 *
 * The table: rows 0..199 inserted at LSN 0/64, then rows 10..19 updated
 * (t = "updated <id>") and rows 20..29 deleted at LSN 0/C8, flushed to
 * Iceberg (durable 0/C8). Serving adds rows 1000..1004 and deletes row 0
 * at LSN 0/12C, in memory only (a snapshot request flushes them).
 * Prints "ready" on stdout once listening.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "columnar/arrow.h"
#include "columnar/render.h"
#include "floe/floe.h"
#include "server/server.h"

static srv_server *g_srv; /* the signal handler's only way in */

static void on_signal(int sig) {
  (void)sig;
  if (g_srv) srv_stop(g_srv);
}

#define CHECK(x)                                                               \
  do {                                                                         \
    floe_status s_ = (x);                                                      \
    if (s_ != FLOE_OK) {                                                       \
      fprintf(stderr, "cli_mirror: %s: %s\n", #x, e.msg);                      \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

enum {
  C_ID,
  C_B,
  C_S,
  C_I,
  C_L,
  C_F,
  C_D,
  C_M,
  C_BIG,
  C_T,
  C_BIN,
  C_DT,
  C_TM,
  C_TS,
  C_TZ,
  C_U,
  C_LI,
  C_LS,
  NCOLS
};

static const floe_column cols[NCOLS] = {
    {"id", FLOE_INT64, 0, 0, 0, 0, 0, 0, NULL},
    {"b", FLOE_BOOL, 0, 0, 0, 0, 0, 1, NULL},
    {"s", FLOE_INT16, 0, 0, 0, 0, 0, 1, NULL},
    {"i", FLOE_INT32, 0, 0, 0, 0, 0, 1, NULL},
    {"l", FLOE_INT64, 0, 0, 0, 0, 0, 1, NULL},
    {"f", FLOE_FLOAT32, 0, 0, 0, 0, 0, 1, NULL},
    {"d", FLOE_FLOAT64, 0, 0, 0, 0, 0, 1, NULL},
    {"m", FLOE_DECIMAL, 10, 2, 0, 0, 0, 1, NULL},
    {"big", FLOE_DECIMAL, 38, 9, 0, 0, 0, 1, NULL},
    {"t", FLOE_UTF8, 0, 0, 0, 0, 0, 1, NULL},
    {"bin", FLOE_BINARY, 0, 0, 0, 0, 0, 1, NULL},
    {"dt", FLOE_DATE, 0, 0, 0, 0, 0, 1, NULL},
    {"tm", FLOE_TIME, 0, 0, 0, 0, 0, 1, NULL},
    {"ts", FLOE_TIMESTAMP, 0, 0, 0, 0, 0, 1, NULL},
    {"tz", FLOE_TIMESTAMPTZ, 0, 0, 0, 0, 0, 1, NULL},
    {"u", FLOE_UUID, 0, 0, 0, 0, 0, 1, NULL},
    {"li", FLOE_LIST, 0, 0, FLOE_INT32, 0, 0, 1, NULL},
    {"ls", FLOE_LIST, 0, 0, FLOE_UTF8, 0, 0, 1, NULL},
};

static const char *const texts[] = {
    "plain",    "",          "with,comma", "with \"quote\"", "two\nlines",
    " padded ", "ünïcødé ✓", "tab\there",  "back\\slash"};
static const double doubles[] = {0.0,  -0.0,   1.5,    -2.25,   1e-7,
                                 1e20, 0.1,    1e300,  -1e-300, 123456.789,
                                 1e16, 1.5e17, 0.0001, 3.0e-5,  2.5};
static const float floats[] = {0.0f,  -1.5f, 3.25f, 1e-3f, 65504.0f,
                               1e10f, 0.1f,  -7.0f, 1e-6f, 16777216.0f};

/* Row id's values; every 7th row has NULL in every nullable column. */
static void fill(floe_row *r, int64_t id, const char *text) {
  floe_error e;
  floe_row_reset(r);
  CHECK(floe_row_set_int(r, C_ID, id, &e));
  if (id % 7 == 3) return;
  CHECK(floe_row_set_bool(r, C_B, id % 2 == 0, &e));
  CHECK(floe_row_set_int(r, C_S, (id * 331) % 65536 - 32768, &e));
  CHECK(floe_row_set_int(
      r, C_I, (int64_t)(id * 2654435761u % 4294967296u) - 2147483648, &e));
  CHECK(floe_row_set_int(r, C_L, id % 2 ? INT64_MAX - id : INT64_MIN + id, &e));
  size_t nf = sizeof floats / sizeof *floats;
  if (id % 11 == 5)
    CHECK(floe_row_set_float(r, C_F, id % 2 ? 1.0 / 0.0 : 0.0 / 0.0, &e));
  else
    CHECK(floe_row_set_float(r, C_F, floats[id % nf], &e));
  size_t nd = sizeof doubles / sizeof *doubles;
  if (id % 13 == 6)
    CHECK(floe_row_set_float(r, C_D, id % 2 ? -1.0 / 0.0 : 0.0 / 0.0, &e));
  else
    CHECK(floe_row_set_float(r, C_D, doubles[id % nd] * (id % 3 ? 1 : -1), &e));
  int64_t m = (id * 12345) % 99999999 - 50000000; /* fits 10 digits */
  CHECK(floe_row_set_decimal(r, C_M, (uint64_t)m, m < 0 ? -1 : 0, &e));
  /* a 128-bit value: hi carries id, lo a pattern (38 digits at most) */
  int64_t hi = id % 2 ? (int64_t)id * 1000 : -(int64_t)id * 1000 - 1;
  CHECK(floe_row_set_decimal(r, C_BIG, 0x0123456789ABCDEFull * (uint64_t)id, hi,
                             &e));
  size_t nt = sizeof texts / sizeof *texts;
  const char *t = text ? text : texts[id % nt];
  CHECK(floe_row_set_bytes(r, C_T, t, strlen(t), &e));
  uint8_t bin[8];
  for (int k = 0; k < 8; k++) bin[k] = (uint8_t)(id * 37 + k * 101);
  CHECK(floe_row_set_bytes(r, C_BIN, bin, (size_t)(id % 9), &e));
  CHECK(floe_row_set_int(r, C_DT, id % 5 == 0 ? -800000 + id : id * 97 - 9000,
                         &e));
  CHECK(floe_row_set_int(r, C_TM, (id * 1234567891) % 86400000000, &e));
  int64_t ts = (id - 100) * 987654321012;
  CHECK(floe_row_set_int(r, C_TS, ts, &e));
  CHECK(floe_row_set_int(r, C_TZ, -ts + 500000, &e));
  uint8_t u[16];
  for (int k = 0; k < 16; k++) u[k] = (uint8_t)(id * 13 + k * 17);
  CHECK(floe_row_set_bytes(r, C_U, u, 16, &e));
  if (id % 5 != 1) {
    CHECK(floe_row_list_begin(r, C_LI, &e));
    for (int k = 0; k < id % 4; k++) {
      if (k == 1 && id % 3 == 0)
        CHECK(floe_row_set_null(r, FLOE_ELEM, &e));
      else
        CHECK(floe_row_set_int(r, FLOE_ELEM, id * 10 + k, &e));
    }
    CHECK(floe_row_list_end(r, &e));
  }
  if (id % 6 != 2) {
    CHECK(floe_row_list_begin(r, C_LS, &e));
    for (int k = 0; k < id % 3; k++) {
      const char *s = texts[(id + k) % nt];
      CHECK(floe_row_set_bytes(r, FLOE_ELEM, s, strlen(s), &e));
    }
    CHECK(floe_row_list_end(r, &e));
  }
}

/* ---- serving ---- */

typedef struct mirror {
  floe_table *t;
  char extra[4][64]; /* tables added over RPC (names only) */
  int nextra;
  rpc_table_status st;
  rpc_table_entry list[5];
} mirror;

static bool is_items(const char *name) {
  return strcmp(name, "public.items") == 0;
}

static floe_status h_list(void *ctx, srv_call *call, floe_error *err) {
  (void)err;
  mirror *m = ctx;
  m->list[0] = (rpc_table_entry){"public.items", "running"};
  for (int i = 0; i < m->nextra; i++)
    m->list[i + 1] = (rpc_table_entry){m->extra[i], "snapshotting"};
  call->reply.u.list_tables_ok =
      (rpc_list_tables_ok){(uint32_t)m->nextra + 1, m->list};
  return FLOE_OK;
}

static floe_status h_status(void *ctx, srv_call *call, floe_error *err) {
  mirror *m = ctx;
  const rpc_status *q = &call->req->u.status;
  for (uint32_t i = 0; i < q->ntables; i++)
    if (!is_items(q->tables[i]))
      return ferr_set(err, FLOE_ENOTFOUND, "no table %s is mirrored",
                      q->tables[i]);
  floe_table_stats s;
  floe_table_stats_get(m->t, &s);
  m->st = (rpc_table_status){"public.items",
                             "running",
                             s.rows,
                             s.applied_lsn,
                             s.durable_lsn,
                             4096,
                             12,
                             2.5,
                             (uint64_t)s.changes,
                             s.data_files,
                             s.deletion_vectors,
                             s.mem_bytes,
                             s.open_txns,
                             s.snapshots,
                             (uint64_t)s.commits,
                             s.last_commit_ms,
                             ""};
  call->reply.u.status_ok = (rpc_status_ok){
      "test", floe_version(), 1234, s.mem_bytes, 512 << 20, 1, &m->st};
  return FLOE_OK;
}

static floe_status h_read_state(void *ctx, srv_call *call, floe_error *err) {
  mirror *m = ctx;
  const rpc_read_state *q = &call->req->u.read_state;
  if (!is_items(q->table))
    return ferr_set(err, FLOE_ENOTFOUND, "no table %s is mirrored", q->table);
  uint64_t lsn =
      q->flags & RPC_READ_LATEST ? floe_applied_lsn(m->t) : q->min_lsn;
  floe_read_state *rs = NULL;
  FLOE_TRY(floe_read_state_get(m->t, lsn, 0, &rs, err));
  call->lease_state = rs;
  call->reply.u.read_state_ok.lsn = floe_read_state_lsn(rs);
  call->reply.u.read_state_ok.rows = floe_read_state_rows(rs);
  return FLOE_OK;
}

static void h_release(void *ctx, void *lease_state) {
  (void)ctx;
  floe_read_state_release(lease_state);
}

/* A scan in progress: the renderer writes into pending, next() hands it
 * out in pieces of at most max bytes. */
typedef struct scan_stream {
  col_stream_render *sr;
  fbuf pending;
  size_t off;
  bool done;
  uint64_t lsn;
} scan_stream;

static floe_status to_pending(void *ctx, const void *p, size_t n,
                              floe_error *err) {
  scan_stream *s = ctx;
  return fbuf_append(&s->pending, p, n, err);
}

static floe_status s_next(void *ctx, fbuf *out, size_t max, bool *done,
                          rpc_end *end, floe_error *err) {
  scan_stream *s = ctx;
  while (s->off == s->pending.len && !s->done) {
    s->off = 0;
    fbuf_reset(&s->pending);
    FLOE_TRY(col_stream_render_step(s->sr, &s->done, err));
  }
  size_t n = s->pending.len - s->off;
  if (n > max) n = max;
  FLOE_TRY(fbuf_append(out, s->pending.data + s->off, n, err));
  s->off += n;
  if (s->done && s->off == s->pending.len) {
    *done = true;
    end->rows = (uint64_t)col_render_rows(col_stream_render_renderer(s->sr));
    end->lsn = s->lsn;
  }
  return FLOE_OK;
}

static void s_close(void *ctx) {
  scan_stream *s = ctx;
  col_stream_render_free(s->sr);
  fbuf_free(&s->pending);
  free(s);
}

static floe_status h_scan(void *ctx, srv_call *call, floe_error *err) {
  (void)ctx;
  const rpc_scan *q = &call->req->u.scan;
  floe_read_state *rs = call->lease_state;
  col_key_eq keys[8];
  if (q->nkeys > 8) return ferr_set(err, FLOE_EINVAL, "too many keys");
  for (uint32_t k = 0; k < q->nkeys; k++)
    keys[k] = (col_key_eq){q->keys[k].column, q->keys[k].value};
  col_render_opts o = {.format = (col_format)q->format,
                       .columns = q->columns,
                       .ncolumns = (int)q->ncolumns,
                       .keys = keys,
                       .nkeys = (int)q->nkeys,
                       .chunk_bytes = 64 << 10};
  scan_stream *s = calloc(1, sizeof *s);
  if (!s) return ferr_nomem(err, sizeof *s);
  s->lsn = floe_read_state_lsn(rs);
  struct ArrowArrayStream as;
  floe_status st = floe_scan(rs, NULL, 0, &as, err);
  if (!st) st = col_stream_render_open(&as, &o, to_pending, s, &s->sr, err);
  if (st) {
    free(s);
    return st;
  }
  call->stream = (srv_stream){s, s_next, s_close};
  return FLOE_OK;
}

static floe_status h_commit(void *ctx, srv_call *call, floe_error *err) {
  mirror *m = ctx;
  const char *name = call->req->u.table.table;
  if (*name && !is_items(name))
    return ferr_set(err, FLOE_ENOTFOUND, "no table %s is mirrored", name);
  FLOE_TRY(floe_table_flush(m->t, err));
  floe_table_stats ts;
  floe_table_stats_get(m->t, &ts);
  /* as the daemon: a snapshot id for one table, none for every table */
  call->reply.u.commit_ok =
      (rpc_commit_ok){floe_durable_lsn(m->t), *name ? ts.snapshot_id : -1};
  return FLOE_OK;
}

static floe_status h_optimize(void *ctx, srv_call *call, floe_error *err) {
  mirror *m = ctx;
  if (!is_items(call->req->u.table.table))
    return ferr_set(err, FLOE_ENOTFOUND, "no table %s is mirrored",
                    call->req->u.table.table);
  floe_table_stats s;
  floe_table_stats_get(m->t, &s);
  call->reply.u.optimize_ok.files_before = s.data_files;
  FLOE_TRY(floe_table_compact(
      m->t, (call->req->u.table.flags & RPC_OPTIMIZE_FORCE) != 0, err));
  floe_table_stats_get(m->t, &s);
  call->reply.u.optimize_ok.files_after = s.data_files;
  return FLOE_OK;
}

static floe_status h_add(void *ctx, srv_call *call, floe_error *err) {
  mirror *m = ctx;
  const rpc_add_table *q = &call->req->u.add_table;
  if (is_items(q->table))
    return ferr_set(err, FLOE_EEXIST, "%s is already mirrored", q->table);
  for (uint32_t i = 0; i < q->noptions; i++)
    if (strcmp(q->options[i].key, "batch-rows") != 0)
      return ferr_set(err, FLOE_EINVAL, "unknown setting '%s'",
                      q->options[i].key);
  if (m->nextra == 4) return ferr_set(err, FLOE_ENOMEM, "too many tables");
  snprintf(m->extra[m->nextra++], sizeof m->extra[0], "%s", q->table);
  return FLOE_OK;
}

static floe_status h_drop(void *ctx, srv_call *call, floe_error *err) {
  mirror *m = ctx;
  const char *name = call->req->u.drop_table.table;
  for (int i = 0; i < m->nextra; i++)
    if (strcmp(m->extra[i], name) == 0) {
      memmove(m->extra[i], m->extra[i + 1],
              (size_t)(m->nextra - i - 1) * sizeof m->extra[0]);
      m->nextra--;
      return FLOE_OK;
    }
  return ferr_set(err, FLOE_ENOTFOUND, "no table %s is mirrored", name);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: cli_mirror WAREHOUSE [SOCKET]\n");
    return 2;
  }
  floe_error e;
  memset(&e, 0, sizeof e);
  floe_table_ref ref = {argv[1], NULL, NULL, "public", "items"};
  floe_table_config cfg;
  floe_table_config_init(&cfg);
  cfg.batch_rows = 64; /* several batches per scan */
  cfg.commit_interval_ms = 3600000;
  int key = C_ID;
  floe_table *t = NULL;
  CHECK(floe_table_open(&ref, cols, NCOLS, &key, 1, &cfg, &t, &e));
  floe_row *r = NULL, *k = NULL;
  CHECK(floe_row_new(t, &r, &e));
  CHECK(floe_row_new(t, &k, &e));
  if (floe_applied_lsn(t) < 200) {
    for (int64_t id = 0; id < 200; id++) {
      fill(r, id, NULL);
      CHECK(floe_insert(t, 1, 1, r, &e));
    }
    CHECK(floe_commit(t, 1, 100, &e));
    for (int64_t id = 10; id < 20; id++) {
      char text[32];
      snprintf(text, sizeof text, "updated %" PRId64, id);
      fill(r, id, text);
      CHECK(floe_update(t, 2, 2, NULL, r, &e));
    }
    for (int64_t id = 20; id < 30; id++) {
      floe_row_reset(k);
      CHECK(floe_row_set_int(k, C_ID, id, &e));
      CHECK(floe_delete(t, 2, 2, k, &e));
    }
    CHECK(floe_commit(t, 2, 200, &e));
    CHECK(floe_table_flush(t, &e));
  }
  if (argc == 2) {
    floe_row_free(r);
    floe_row_free(k);
    CHECK(floe_table_close(t, &e));
    return 0;
  }
  if (floe_applied_lsn(t) < 300) {
    for (int64_t id = 1000; id < 1005; id++) {
      fill(r, id, NULL);
      CHECK(floe_insert(t, 3, 3, r, &e));
    }
    floe_row_reset(k);
    CHECK(floe_row_set_int(k, C_ID, 0, &e));
    CHECK(floe_delete(t, 3, 3, k, &e));
    CHECK(floe_commit(t, 3, 300, &e));
  }
  floe_row_free(r);
  floe_row_free(k);

  mirror m;
  memset(&m, 0, sizeof m);
  m.t = t;
  srv_config sc;
  srv_config_init(&sc);
  sc.socket_path = argv[2];
  sc.name = "test";
  flog lg = {FLOG_WARN, NULL, NULL};
  sc.log = &lg;
  srv_handlers h = {.ctx = &m,
                    .list_tables = h_list,
                    .status = h_status,
                    .add_table = h_add,
                    .drop_table = h_drop,
                    .read_state = h_read_state,
                    .scan = h_scan,
                    .commit = h_commit,
                    .optimize = h_optimize,
                    .release = h_release};
  CHECK(srv_open(&sc, &h, &g_srv, &e));
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready\n");
  fflush(stdout);
  floe_status st = srv_run(g_srv, &e);
  srv_close(g_srv);
  g_srv = NULL;
  /* like a crash: what was not snapshotted stays out of the warehouse */
  floe_table_free(t);
  if (st) fprintf(stderr, "cli_mirror: %s\n", e.msg);
  return st == FLOE_OK ? 0 : 1;
}
