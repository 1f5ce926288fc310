/*
 * The daemon (src/server/daemon*.c) with a fake source that feeds real
 * engine tables: the four threads as `floe mirror` runs them, driven over
 * the real RPC socket. Checks: registry (creation, resume, adds, drops, no
 * password), status and list, read states (at once, parked until applied,
 * LATEST, timeout), commit and optimize handed to maintenance, schema,
 * add/drop at runtime, health, the graceful stop (every table durable),
 * and the memory limit (reading pauses, memory stays bounded).
 * The Postgres source proper is tested end to end in tests/pg.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/client.h"
#include "server/daemon.h"
#include "util/arena.h"

/* ---- the fake source ---- */

#define FK_MAX 16

typedef struct fk_tab {
  char schema[64], table[64];
  floe_table *t;
  floe_row *row;
  int64_t next_id;
  floe_table_config cfg;
} fk_tab;

typedef struct fake {
  char warehouse[512];
  pthread_mutex_t mu; /* the table list; held while another thread uses one */
  int n;
  fk_tab tabs[FK_MAX];
  _Atomic uint64_t lsn;     /* last commit LSN (the fake "server WAL end") */
  atomic_int rows_per_poll; /* rows inserted per table per poll */
  atomic_int big_rows;      /* rows carry 4 KiB of text */
  atomic_bool stop;
  atomic_int opens, polls, keepalives;
  int64_t max_mem; /* highest total memory seen by status */
} fake;

static fake *g_fake; /* the ops have no ctx of their own: one per test */

static floe_status fk_open_table(fake *f, const char *schema, const char *table,
                                 const floe_table_config *cfg,
                                 floe_error *err) {
  static const floe_column cols[] = {
      {.name = "id", .type = FLOE_INT64},
      {.name = "v", .type = FLOE_UTF8, .nullable = 1}};
  int key = 0;
  fk_tab *t = &f->tabs[f->n];
  memset(t, 0, sizeof *t);
  snprintf(t->schema, sizeof t->schema, "%s", schema);
  snprintf(t->table, sizeof t->table, "%s", table);
  t->cfg = *cfg;
  floe_table_ref ref = {f->warehouse, NULL, NULL, schema, table};
  FLOE_TRY(floe_table_open(&ref, cols, 2, &key, 1, cfg, &t->t, err));
  FLOE_TRY(floe_row_new(t->t, &t->row, err));
  /* resume: continue the ids after what is durable */
  floe_read_state *rs;
  FLOE_TRY(floe_read_state_get(t->t, 0, 0, &rs, err));
  t->next_id = floe_read_state_rows(rs);
  floe_read_state_release(rs);
  uint64_t d = floe_durable_lsn(t->t);
  if (d > atomic_load(&f->lsn)) atomic_store(&f->lsn, d);
  pthread_mutex_lock(&f->mu);
  f->n++;
  pthread_mutex_unlock(&f->mu);
  return FLOE_OK;
}

static fk_tab *fk_find(fake *f, const char *s, const char *t) {
  for (int i = 0; i < f->n; i++)
    if (!strcmp(f->tabs[i].schema, s) && !strcmp(f->tabs[i].table, t))
      return &f->tabs[i];
  return NULL;
}

static floe_status fk_open(const dmn_source_args *a, void **src,
                           floe_error *err) {
  fake *f = g_fake;
  snprintf(f->warehouse, sizeof f->warehouse, "%s", a->catalog_uri);
  atomic_fetch_add(&f->opens, 1);
  for (int i = 0; i < a->ntables; i++)
    FLOE_TRY(fk_open_table(f, a->tables[i].schema, a->tables[i].table,
                           &a->tables[i].cfg, err));
  *src = f;
  return FLOE_OK;
}

static floe_status fk_poll(void *src, int timeout_ms, floe_error *err) {
  fake *f = src;
  if (atomic_load(&f->stop)) return FLOE_EEOF;
  atomic_fetch_add(&f->polls, 1);
  int n = atomic_load(&f->rows_per_poll);
  if (n == 0) {
    usleep((useconds_t)timeout_ms * 1000);
    return FLOE_OK;
  }
  static char big[4096];
  memset(big, 'x', sizeof big);
  uint64_t lsn = atomic_load(&f->lsn) + 1000;
  for (int i = 0; i < f->n; i++) {
    fk_tab *t = &f->tabs[i];
    for (int r = 0; r < n; r++) {
      floe_row_reset(t->row);
      FLOE_TRY(floe_row_set_int(t->row, 0, t->next_id++, err));
      if (atomic_load(&f->big_rows))
        FLOE_TRY(floe_row_set_bytes(t->row, 1, big, sizeof big, err));
      else
        FLOE_TRY(floe_row_set_bytes(t->row, 1, "v", 1, err));
      FLOE_TRY(floe_insert(t->t, 7, 7, t->row, err));
    }
    FLOE_TRY(floe_commit(t->t, 7, lsn, err));
  }
  atomic_store(&f->lsn, lsn);
  usleep(1000);
  return FLOE_OK;
}

static floe_status fk_add(void *src, const dmn_table_def *t, floe_error *err) {
  fake *f = src;
  if (fk_find(f, t->schema, t->table))
    return ferr_set(err, FLOE_EEXIST, "exists");
  FLOE_TRY(fk_open_table(f, t->schema, t->table, &t->cfg, err));
  /* a new table has seen every commit so far */
  return floe_advance(f->tabs[f->n - 1].t, atomic_load(&f->lsn), err);
}

static floe_status fk_remove(void *src, const char *s, const char *tn,
                             floe_error *err) {
  fake *f = src;
  fk_tab *t = fk_find(f, s, tn);
  if (!t) return ferr_set(err, FLOE_ENOTFOUND, "no %s.%s", s, tn);
  pthread_mutex_lock(&f->mu);
  floe_row_free(t->row);
  floe_status st = floe_table_close(t->t, err);
  int i = (int)(t - f->tabs);
  memmove(&f->tabs[i], &f->tabs[i + 1], (size_t)(f->n - i - 1) * sizeof *t);
  f->n--;
  pthread_mutex_unlock(&f->mu);
  return st;
}

static floe_status fk_schema(void *src, const char *s, const char *tn,
                             farena *a, rpc_schema_ok *out, floe_error *err) {
  fake *f = src;
  fk_tab *t = fk_find(f, s, tn);
  if (!t) return ferr_set(err, FLOE_ENOTFOUND, "no %s.%s", s, tn);
  const floe_column *cols;
  const int *key;
  int nc = floe_table_columns(t->t, &cols);
  int nk = floe_table_key(t->t, &key);
  out->schema_id = 0;
  out->ncolumns = (uint32_t)nc;
  out->columns = farena_alloc(a, (size_t)nc * sizeof *out->columns, err);
  out->nkey = (uint32_t)nk;
  out->key = farena_alloc(a, (size_t)(nk ? nk : 1) * sizeof *out->key, err);
  for (int i = 0; i < nc; i++)
    out->columns[i] = (rpc_column){.name = farena_strdup(a, cols[i].name, err),
                                   .type = (uint8_t)cols[i].type,
                                   .nullable = (uint8_t)cols[i].nullable};
  for (int i = 0; i < nk; i++) out->key[i] = (uint32_t)key[i];
  return FLOE_OK;
}

static floe_status fk_keepalive(void *src, floe_error *err) {
  fake *f = src;
  atomic_fetch_add(&f->keepalives, 1);
  for (int i = 0; i < f->n; i++)
    FLOE_TRY(floe_advance(f->tabs[i].t, atomic_load(&f->lsn) + 10, err));
  return FLOE_OK;
}

static floe_status fk_stop(void *src, floe_error *err) {
  fake *f = src;
  floe_status st = FLOE_OK;
  pthread_mutex_lock(&f->mu);
  for (int i = 0; i < f->n; i++) {
    floe_row_free(f->tabs[i].row);
    floe_error e2;
    if (floe_table_close(f->tabs[i].t, &e2) != FLOE_OK && st == FLOE_OK) {
      st = e2.code;
      *err = e2;
    }
  }
  f->n = 0;
  pthread_mutex_unlock(&f->mu);
  return st;
}

static floe_status fk_tick(void *src, int64_t now, int64_t *next,
                           floe_error *err) {
  fake *f = src;
  pthread_mutex_lock(&f->mu);
  floe_status st = FLOE_OK;
  for (int i = 0; i < f->n && st == FLOE_OK; i++) {
    int64_t nx = now + 1000;
    st = floe_table_tick(f->tabs[i].t, now, &nx, err);
    if (nx < *next) *next = nx;
  }
  pthread_mutex_unlock(&f->mu);
  return st;
}

static floe_status fk_flush(void *src, const char *s, const char *tn,
                            uint64_t *durable, int64_t *snapshot_id,
                            floe_error *err) {
  fake *f = src;
  pthread_mutex_lock(&f->mu);
  fk_tab *t = fk_find(f, s, tn);
  floe_status st = t ? floe_table_flush(t->t, err)
                     : ferr_set(err, FLOE_ENOTFOUND, "no %s.%s", s, tn);
  if (st == FLOE_OK) {
    floe_table_stats ts;
    floe_table_stats_get(t->t, &ts);
    *durable = floe_durable_lsn(t->t);
    *snapshot_id = ts.snapshot_id;
  }
  pthread_mutex_unlock(&f->mu);
  return st;
}

static floe_status fk_compact(void *src, const char *s, const char *tn,
                              int force, int64_t *before, int64_t *after,
                              floe_error *err) {
  fake *f = src;
  pthread_mutex_lock(&f->mu);
  fk_tab *t = fk_find(f, s, tn);
  floe_status st = FLOE_OK;
  if (!t) {
    st = ferr_set(err, FLOE_ENOTFOUND, "no %s.%s", s, tn);
  } else {
    floe_table_stats ts;
    floe_table_stats_get(t->t, &ts);
    *before = ts.data_files;
    st = floe_table_compact(t->t, force, err);
    floe_table_stats_get(t->t, &ts);
    *after = ts.data_files;
  }
  pthread_mutex_unlock(&f->mu);
  return st;
}

static floe_status fk_status(void *src, farena *a, dmn_source_status *out,
                             floe_error *err) {
  fake *f = src;
  pthread_mutex_lock(&f->mu);
  memset(out, 0, sizeof *out);
  out->state = "streaming";
  out->last_error = "";
  out->server_wal_end = atomic_load(&f->lsn);
  out->connected = true;
  out->ntables = (uint32_t)f->n;
  out->tables =
      farena_alloc(a, (size_t)(f->n ? f->n : 1) * sizeof *out->tables, err);
  int64_t mem = 0;
  for (int i = 0; i < f->n; i++) {
    floe_table_stats s;
    floe_table_stats_get(f->tabs[i].t, &s);
    char q[DMN_QNAME_MAX];
    dmn_table_qname(f->tabs[i].schema, f->tabs[i].table, q);
    out->tables[i] = (rpc_table_status){.name = farena_strdup(a, q, err),
                                        .state = "streaming",
                                        .rows = s.rows,
                                        .applied_lsn = s.applied_lsn,
                                        .durable_lsn = s.durable_lsn,
                                        .changes = (uint64_t)s.changes,
                                        .data_files = s.data_files,
                                        .memory_bytes = s.mem_bytes,
                                        .commits = (uint64_t)s.commits,
                                        .last_error = ""};
    mem += s.mem_bytes;
  }
  if (mem > f->max_mem) f->max_mem = mem;
  pthread_mutex_unlock(&f->mu);
  return FLOE_OK;
}

static floe_status fk_read_state(void *src, const char *s, const char *tn,
                                 uint64_t lsn, floe_read_state **out,
                                 floe_error *err) {
  fake *f = src;
  pthread_mutex_lock(&f->mu);
  fk_tab *t = fk_find(f, s, tn);
  floe_status st = t ? floe_read_state_get(t->t, lsn, 0, out, err)
                     : ferr_set(err, FLOE_ENOTFOUND, "no %s.%s", s, tn);
  pthread_mutex_unlock(&f->mu);
  return st;
}

static floe_status fk_wal_lsn(void *src, uint64_t *lsn, floe_error *err) {
  (void)err;
  fake *f = src;
  /* the "server" is a little ahead of what was delivered */
  *lsn = atomic_load(&f->lsn) + 10;
  return FLOE_OK;
}

static void fk_request_stop(void *src) {
  fake *f = src;
  atomic_store(&f->stop, true);
}

static void fk_free(void *src) { (void)src; }

static const dmn_source_ops fk_ops = {
    fk_open,      fk_poll,       fk_add,     fk_remove,       fk_schema,
    fk_keepalive, fk_stop,       fk_tick,    fk_flush,        fk_compact,
    fk_status,    fk_read_state, fk_wal_lsn, fk_request_stop, fk_free};

/* ---- running a daemon ---- */

typedef struct run {
  dmn_daemon *d;
  pthread_t th[4];
  floe_status st[4];
  floe_error err[4];
  int idx;
} run;

typedef struct th_arg {
  run *r;
  int i;
} th_arg;

static th_arg g_args[4];

static void *th_main(void *p) {
  th_arg *a = p;
  floe_status (*fns[4])(dmn_daemon *, floe_error *) = {
      dmn_run_source, dmn_run_maintenance, dmn_run_server, dmn_run_aux};
  a->r->st[a->i] = fns[a->i](a->r->d, &a->r->err[a->i]);
  return NULL;
}

static char g_dir[256], g_sock[300];
static flog g_log = {FLOG_WARN, NULL, NULL};

static void cfg_base(cfg_daemon *c) {
  floe_error err;
  cfg_init(c);
  char wh[300];
  snprintf(wh, sizeof wh, "%s/wh", g_dir);
  assert_int_equal(cfg_set(c, "warehouse", wh, &err), FLOE_OK);
  assert_int_equal(cfg_set(c, "socket", g_sock, &err), FLOE_OK);
  assert_int_equal(cfg_set(c, "name", "shop", &err), FLOE_OK);
}

static void start(run *r, cfg_daemon *c) {
  memset(r, 0, sizeof *r);
  floe_error err;
  dmn_options o = {c, &fk_ops, &g_log};
  floe_status st = dmn_open(&o, &r->d, &err);
  if (st != FLOE_OK) fail_msg("dmn_open: %s", err.msg);
  for (int i = 0; i < 4; i++) {
    g_args[i] = (th_arg){r, i};
    assert_int_equal(pthread_create(&r->th[i], NULL, th_main, &g_args[i]), 0);
  }
}

static void stop(run *r) {
  dmn_request_stop(r->d, "test");
  for (int i = 0; i < 4; i++) pthread_join(r->th[i], NULL);
  for (int i = 0; i < 4; i++)
    if (r->st[i] != FLOE_OK) fail_msg("thread %d: %s", i, r->err[i].msg);
  assert_true(dmn_finished(r->d));
  dmn_close(r->d);
}

static rpc_client *connect_cli(void) {
  rpc_client *c;
  floe_error err;
  floe_status st = rpc_client_connect(g_sock, "test", 10000, &c, &err);
  if (st != FLOE_OK) fail_msg("connect: %s", err.msg);
  return c;
}

static floe_status call(rpc_client *c, rpc_msg *req, farena *a, rpc_msg *rep,
                        floe_error *err) {
  farena_reset(a);
  return rpc_client_call(c, req, a, rep, err);
}

static void setup_dir(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/floe-test-daemon-XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  snprintf(g_sock, sizeof g_sock, "%s/d.sock", g_dir);
}

static void rm_dir(void) {
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  assert_int_equal(system(cmd), 0);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char buf[65536];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return buf;
}

static const rpc_table_status *find_ts(const rpc_status_ok *s,
                                       const char *name) {
  for (uint32_t i = 0; i < s->ntables; i++)
    if (!strcmp(s->tables[i].name, name)) return &s->tables[i];
  return NULL;
}

static void wait_rows(rpc_client *c, farena *a, const char *t, int64_t min) {
  for (int i = 0; i < 500; i++) {
    rpc_msg req = {.type = RPC_STATUS}, rep;
    const char *names[1] = {t};
    req.u.status = (rpc_status){1, names};
    floe_error err;
    if (call(c, &req, a, &rep, &err) == FLOE_OK &&
        rep.u.status_ok.tables[0].rows >= min &&
        strcmp(rep.u.status_ok.tables[0].state, "streaming") == 0)
      return;
    usleep(10000);
  }
  fail_msg("table %s never reached %lld rows", t, (long long)min);
}

static floe_status sink_fn(void *ctx, const uint8_t *p, size_t n,
                           floe_error *err) {
  return fbuf_append(ctx, p, n, err);
}

/* ---- tests ---- */

static void test_names(void **state) {
  (void)state;
  char s[64], t[64], q[DMN_QNAME_MAX];
  floe_error err;
  assert_int_equal(dmn_table_name_parse("public.orders", s, t, &err), FLOE_OK);
  assert_string_equal(s, "public");
  assert_string_equal(t, "orders");
  assert_int_equal(dmn_table_name_parse("\"My.S\".\"a\"\"b\"", s, t, &err),
                   FLOE_OK);
  assert_string_equal(s, "My.S");
  assert_string_equal(t, "a\"b");
  assert_string_equal(dmn_table_qname(s, t, q), "\"My.S\".\"a\"\"b\"");
  assert_string_equal(dmn_table_qname("public", "Caps", q), "public.Caps");
  const char *bad[] = {"orders", "a.", ".b", "a.b.c", "\"a.b", "a\"b.c", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(dmn_table_name_parse(bad[i], s, t, &err), FLOE_EINVAL);
}

static void test_conninfo(void **state) {
  (void)state;
  char *out;
  bool had;
  floe_error err;
  assert_int_equal(dmn_conninfo_strip("host=h dbname=shop user=u "
                                      "password=s3cret port=5433",
                                      &out, &had, &err),
                   FLOE_OK);
  assert_true(had);
  assert_null(strstr(out, "s3cret"));
  assert_non_null(strstr(out, "host='h'"));
  assert_non_null(strstr(out, "port='5433'"));
  free(out);
  assert_int_equal(dmn_conninfo_strip("postgresql://u:pw%20x@db:5432/shop",
                                      &out, &had, &err),
                   FLOE_OK);
  assert_true(had);
  assert_null(strstr(out, "pw"));
  assert_non_null(strstr(out, "dbname='shop'"));
  free(out);
  assert_int_equal(
      dmn_conninfo_strip("dbname='it''s' user=x", &out, &had, &err),
      FLOE_EINVAL);
  assert_int_equal(
      dmn_conninfo_strip("dbname='it\\'s' user=x", &out, &had, &err), FLOE_OK);
  assert_false(had);
  assert_string_equal(out, "user='x' dbname='it\\'s'");
  free(out);
  /* a broken string is refused without echoing it */
  assert_int_equal(
      dmn_conninfo_strip("host=h password='unterminated", &out, &had, &err),
      FLOE_EINVAL);
  assert_null(strstr(err.msg, "unterminated"));
}

static void test_rpc_flow(void **state) {
  (void)state;
  fake f;
  memset(&f, 0, sizeof f);
  pthread_mutex_init(&f.mu, NULL);
  g_fake = &f;
  setup_dir();
  cfg_daemon c;
  cfg_base(&c);
  floe_error err;
  assert_int_equal(
      cfg_set(&c, "source", "host=db dbname=shop password=hunter2", &err),
      FLOE_OK);
  assert_int_equal(cfg_set(&c, "table", "public.a", &err), FLOE_OK);
  assert_int_equal(cfg_set(&c, "table", "public.b", &err), FLOE_OK);
  assert_int_equal(cfg_set(&c, "commit-interval-ms", "200ms", &err), FLOE_OK);
  run r;
  start(&r, &c);
  cfg_free(&c);

  /* the registry: created, no password, the set knob kept */
  char path[400];
  snprintf(path, sizeof path, "%s/wh/.floe/mirror-shop.json", g_dir);
  char *reg = slurp(path);
  assert_non_null(reg);
  assert_null(strstr(reg, "hunter2"));
  assert_non_null(strstr(reg, "\"public.a\""));
  assert_non_null(strstr(reg, "\"commit-interval-ms\": \"200ms\""));
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);

  rpc_client *cl = connect_cli();
  farena a;
  farena_init(&a, 4096, 0);
  rpc_msg req, rep;
  atomic_store(&f.rows_per_poll, 5);
  wait_rows(cl, &a, "public.a", 50);

  /* list */
  req = (rpc_msg){.type = RPC_LIST_TABLES};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  assert_int_equal(rep.u.list_tables_ok.ntables, 2);
  assert_string_equal(rep.u.list_tables_ok.tables[0].name, "public.a");
  assert_string_equal(rep.u.list_tables_ok.tables[1].state, "streaming");

  /* status of an unknown table */
  const char *nope[1] = {"public.zz"};
  req = (rpc_msg){.type = RPC_STATUS};
  req.u.status = (rpc_status){1, nope};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_ENOTFOUND);

  /* a read state at a reached LSN, and one in the future that parks until
   * the source applies it */
  atomic_store(&f.rows_per_poll, 0);
  uint64_t now_lsn = atomic_load(&f.lsn);
  req = (rpc_msg){.type = RPC_READ_STATE};
  req.u.read_state = (rpc_read_state){"public.a", now_lsn, 1000, 0};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  assert_true(rep.u.read_state_ok.lsn >= now_lsn);
  int64_t rows0 = rep.u.read_state_ok.rows;
  assert_true(rows0 >= 50);
  uint64_t lease = rep.u.read_state_ok.lease;
  /* scan it: every row as CSV, then one row by key, one column */
  fbuf out = FBUF_INIT;
  rpc_scan sc = {lease, RPC_FMT_CSV, 0, 0, NULL, 0, NULL};
  rpc_end end;
  assert_int_equal(rpc_client_scan(cl, &sc, sink_fn, &out, &end, &err),
                   FLOE_OK);
  assert_int_equal(end.rows, (uint64_t)rows0);
  assert_int_equal(end.bytes, out.len);
  int lines = 0;
  for (size_t i = 0; i < out.len; i++) lines += out.data[i] == '\n';
  assert_int_equal(lines, rows0 + 1);
  assert_memory_equal(out.data, "id,v\n", 5);
  out.len = 0;
  const char *vcol[1] = {"v"};
  rpc_key_eq k3 = {"id", "3"};
  sc = (rpc_scan){lease, RPC_FMT_CSV, 4096, 1, vcol, 1, &k3};
  assert_int_equal(rpc_client_scan(cl, &sc, sink_fn, &out, &end, &err),
                   FLOE_OK);
  assert_int_equal(end.rows, 1);
  assert_int_equal(out.len, 4);
  assert_memory_equal(out.data, "v\nv\n", 4);
  fbuf_free(&out);
  req = (rpc_msg){.type = RPC_RELEASE};
  req.u.lease.lease = lease;
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);

  /* not reached in time */
  req = (rpc_msg){.type = RPC_READ_STATE};
  req.u.read_state = (rpc_read_state){"public.a", now_lsn + 5000, 100, 0};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_ETIMEDOUT);
  assert_non_null(strstr(err.msg, "public.a"));

  /* LATEST: the fake server is 10 bytes past the last commit; keepalives
   * move the idle table there */
  req = (rpc_msg){.type = RPC_READ_STATE};
  req.u.read_state = (rpc_read_state){"public.b", 0, 5000, RPC_READ_LATEST};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  assert_true(rep.u.read_state_ok.lsn >= atomic_load(&f.lsn) + 10);
  assert_true(atomic_load(&f.keepalives) > 0);

  /* parked until applied: the source resumes a moment later */
  atomic_store(&f.rows_per_poll, 1);
  req = (rpc_msg){.type = RPC_READ_STATE};
  req.u.read_state =
      (rpc_read_state){"public.a", atomic_load(&f.lsn) + 3000, 5000, 0};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  assert_true(rep.u.read_state_ok.rows > rows0);
  atomic_store(&f.rows_per_poll, 0);

  /* commit of one table, then of all */
  req = (rpc_msg){.type = RPC_COMMIT};
  req.u.table = (rpc_table_req){"public.a", 0};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  uint64_t applied = atomic_load(&f.lsn);
  assert_true(rep.u.commit_ok.durable_lsn >= applied - 1000);
  req.u.table = (rpc_table_req){"", 0};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  assert_true(rep.u.commit_ok.durable_lsn > 0);
  req.u.table = (rpc_table_req){"public.nope", 0};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_ENOTFOUND);
  req.u.table = (rpc_table_req){"public.a", 4};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_EINVAL);

  /* optimize: several small files merge into one */
  for (int k = 0; k < 3; k++) {
    atomic_store(&f.rows_per_poll, 3);
    usleep(30000);
    atomic_store(&f.rows_per_poll, 0);
    req = (rpc_msg){.type = RPC_COMMIT};
    req.u.table = (rpc_table_req){"public.a", 0};
    assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  }
  req = (rpc_msg){.type = RPC_OPTIMIZE};
  req.u.table = (rpc_table_req){"public.a", RPC_OPTIMIZE_FORCE};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  assert_true(rep.u.optimize_ok.files_before >= 2);
  assert_int_equal(rep.u.optimize_ok.files_after, 1);

  /* schema, from the ingest thread */
  req = (rpc_msg){.type = RPC_SCHEMA};
  req.u.table = (rpc_table_req){"public.b", 0};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  assert_int_equal(rep.u.schema_ok.ncolumns, 2);
  assert_string_equal(rep.u.schema_ok.columns[1].name, "v");
  assert_int_equal(rep.u.schema_ok.columns[1].type, FLOE_UTF8);
  assert_int_equal(rep.u.schema_ok.nkey, 1);

  /* add at runtime: bad option, good add, duplicate */
  rpc_option bad[1] = {{"batch-rowz", "10"}};
  req = (rpc_msg){.type = RPC_ADD_TABLE};
  req.u.add_table = (rpc_add_table){"public.c", 1, bad};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_EINVAL);
  rpc_option good[1] = {{"batch-rows", "512"}};
  req.u.add_table = (rpc_add_table){"public.c", 1, good};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_EEXIST);
  reg = slurp(path);
  assert_non_null(strstr(reg, "\"batch-rows\": \"512\""));
  atomic_store(&f.rows_per_poll, 2);
  wait_rows(cl, &a, "public.c", 10);
  atomic_store(&f.rows_per_poll, 0);

  /* drop at runtime (with purge: the Iceberg table goes too) */
  req = (rpc_msg){.type = RPC_DROP_TABLE};
  req.u.drop_table = (rpc_drop_table){"public.b", RPC_DROP_PURGE};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_ENOTFOUND);
  reg = slurp(path);
  assert_null(strstr(reg, "\"public.b\""));
  char bdir[400];
  snprintf(bdir, sizeof bdir, "%s/wh/public/b", g_dir);
  assert_int_not_equal(access(bdir, F_OK), 0);
  req = (rpc_msg){.type = RPC_LIST_TABLES};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  assert_int_equal(rep.u.list_tables_ok.ntables, 2);

  /* bad names */
  req = (rpc_msg){.type = RPC_READ_STATE};
  req.u.read_state = (rpc_read_state){"nodot", 0, 0, 0};
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_EINVAL);

  rpc_client_close(cl);
  farena_free(&a);
  uint64_t last = atomic_load(&f.lsn);
  stop(&r);

  /* graceful stop: every table durable at the last commit */
  memset(&f.tabs, 0, sizeof f.tabs);
  f.n = 0;
  atomic_store(&f.stop, false);
  cfg_base(&c);
  start(&r, &c); /* resume from the registry alone */
  cfg_free(&c);
  cl = connect_cli();
  farena_init(&a, 4096, 0);
  req = (rpc_msg){.type = RPC_STATUS};
  req.u.status = (rpc_status){0, NULL};
  for (int i = 0; i < 200; i++) {
    assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
    if (rep.u.status_ok.ntables == 2 &&
        !strcmp(rep.u.status_ok.tables[0].state, "streaming"))
      break;
    usleep(10000);
  }
  assert_int_equal(rep.u.status_ok.ntables, 2);
  const rpc_table_status *ta = find_ts(&rep.u.status_ok, "public.a");
  assert_non_null(ta);
  assert_non_null(find_ts(&rep.u.status_ok, "public.c"));
  /* the resumed table is at the last commit, or past it by keepalives of
   * the fake server (WAL end = its LSN + 10): one before the stop, whose
   * durable LSN the clean close records, and one after the restart, from
   * the LSN the fake resumed at */
  uint64_t d = ta->durable_lsn, ap = ta->applied_lsn;
  if (!(d == last || d == last + 10 || d == last + 20))
    fprintf(stderr, "resumed public.a: durable %llu, last commit %llu\n",
            (unsigned long long)d, (unsigned long long)last);
  assert_true(d == last || d == last + 10 || d == last + 20);
  assert_true(ap == last || ap == last + 10 || ap == last + 20);
  assert_true(ta->durable_lsn <= ta->applied_lsn);
  assert_int_equal(atomic_load(&f.opens), 2);
  rpc_client_close(cl);
  farena_free(&a);
  stop(&r);
  pthread_mutex_destroy(&f.mu);
  rm_dir();
}

static void test_memory_limit(void **state) {
  (void)state;
  fake f;
  memset(&f, 0, sizeof f);
  pthread_mutex_init(&f.mu, NULL);
  g_fake = &f;
  setup_dir();
  cfg_daemon c;
  cfg_base(&c);
  floe_error err;
  assert_int_equal(cfg_set(&c, "source", "dbname=x", &err), FLOE_OK);
  assert_int_equal(cfg_set(&c, "table", "public.big", &err), FLOE_OK);
  assert_int_equal(cfg_set(&c, "memory-limit", "16MiB", &err), FLOE_OK);
  /* flushes only when the daemon asks: the engine alone would hold more */
  assert_int_equal(cfg_set(&c, "commit-interval-ms", "1h", &err), FLOE_OK);
  assert_int_equal(cfg_set(&c, "flush-bytes", "1GiB", &err), FLOE_OK);
  assert_int_equal(cfg_set(&c, "table-memory-limit", "1GiB", &err), FLOE_OK);
  run r;
  start(&r, &c);
  cfg_free(&c);
  atomic_store(&f.big_rows, 1);
  atomic_store(&f.rows_per_poll, 200); /* 800 KiB per poll */
  rpc_client *cl = connect_cli();
  farena a;
  farena_init(&a, 4096, 0);
  /* 64 MiB of rows through a 16 MiB limit */
  wait_rows(cl, &a, "public.big", 16000);
  atomic_store(&f.rows_per_poll, 0);
  rpc_msg req = {.type = RPC_STATUS}, rep;
  assert_int_equal(call(cl, &req, &a, &rep, &err), FLOE_OK);
  assert_true(rep.u.status_ok.tables[0].commits >= 2);
  /* the check runs every 20 ms and a poll adds 800 KiB: a little over */
  assert_true(f.max_mem < (int64_t)(16 << 20) + (4 << 20));
  rpc_client_close(cl);
  farena_free(&a);
  stop(&r);
  pthread_mutex_destroy(&f.mu);
  rm_dir();
}

static void test_open_errors(void **state) {
  (void)state;
  setup_dir();
  cfg_daemon c;
  cfg_base(&c);
  floe_error err;
  dmn_daemon *d;
  dmn_options o = {&c, &fk_ops, &g_log};
  /* no registry and no source */
  assert_int_equal(dmn_open(&o, &d, &err), FLOE_EINVAL);
  assert_non_null(strstr(err.msg, "--source"));
  /* a corrupt registry is named */
  char path[400];
  snprintf(path, sizeof path, "%s/wh/.floe", g_dir);
  assert_int_equal(mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/wh/.floe/mirror-shop.json", g_dir);
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs("{\"format\": 1, \"name\": \"shop\", \"tables\": 3}", fp);
  fclose(fp);
  assert_int_equal(dmn_open(&o, &d, &err), FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "mirror-shop.json"));
  fp = fopen(path, "w");
  fputs("{\"format\": 9, \"name\": \"shop\", \"tables\": []}", fp);
  fclose(fp);
  assert_int_equal(dmn_open(&o, &d, &err), FLOE_EUNSUPPORTED);
  /* a catalog change of an existing mirror */
  fp = fopen(path, "w");
  fputs("{\"format\": 1, \"name\": \"shop\", \"source\": \"dbname=x\", "
        "\"catalog\": \"fs\", \"tables\": [{\"name\": \"public.a\"}]}",
        fp);
  fclose(fp);
  assert_int_equal(cfg_set(&c, "catalog", "sqlite:/tmp/x.db", &err), FLOE_OK);
  assert_int_equal(dmn_open(&o, &d, &err), FLOE_EINVAL);
  assert_non_null(strstr(err.msg, "keeps its catalog"));
  cfg_free(&c);
  rm_dir();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),        cmocka_unit_test(test_conninfo),
      cmocka_unit_test(test_open_errors),  cmocka_unit_test(test_rpc_flow),
      cmocka_unit_test(test_memory_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
