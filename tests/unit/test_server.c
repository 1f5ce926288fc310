/*
 * The RPC server loop (src/server/server.c) and client (client.c) against a
 * fake handler table: calls, leases, parked calls, streaming with
 * backpressure, and every bad-input case of issue 7 (random bytes, a huge
 * length, an unknown request, a disconnect mid-frame, a lease never
 * released), each asserted. The server runs in its own thread, as the
 * daemon will run it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/client.h"
#include "server/metrics.h"
#include "server/server.h"

/* ---- the fake engine ---- */

typedef struct fake {
  _Atomic uint64_t applied; /* read states wait for this LSN */
  atomic_int releases, cancels, streams_closed, added, health_bad;
  atomic_int stream_fail_at; /* chunk index that fails (0: none) */
  size_t scan_total;         /* bytes a scan produces */
} fake;

static uint8_t pattern(uint64_t i) { return (uint8_t)(i * 31 + (i >> 9)); }

static floe_status f_list(void *ctx, srv_call *call, floe_error *err) {
  (void)ctx, (void)err;
  rpc_table_entry *t = farena_alloc(call->arena, 2 * sizeof *t, err);
  t[0] = (rpc_table_entry){"public.a", "running"};
  t[1] = (rpc_table_entry){"public.b", "snapshotting"};
  call->reply.u.list_tables_ok = (rpc_list_tables_ok){2, t};
  return FLOE_OK;
}

static rpc_table_status status_rows[2] = {
    {"public.a", "running", 1000, 0x16B3748, 0x16B3700, 72, 5, 250.5, 9000, 4,
     1, 1 << 20, 0, 7, 3, 1732500000123, ""},
    {"public.\"b\"", "error", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
     "key (id)=(7) not found\nresync"}};

static floe_status f_status(void *ctx, srv_call *call, floe_error *err) {
  (void)ctx;
  const rpc_status *rq = &call->req->u.status;
  for (uint32_t i = 0; i < rq->ntables; i++)
    if (strcmp(rq->tables[i], "public.a") != 0)
      return ferr_set(err, FLOE_ENOTFOUND, "table %s is not mirrored",
                      rq->tables[i]);
  call->reply.u.status_ok = (rpc_status_ok){
      "shop", floe_version(), 61500, 3 << 20, 512 << 20, 2, status_rows};
  return FLOE_OK;
}

static floe_status f_add(void *ctx, srv_call *call, floe_error *err) {
  fake *f = ctx;
  const rpc_add_table *a = &call->req->u.add_table;
  if (strcmp(a->table, "public.a") == 0)
    return ferr_set(err, FLOE_EEXIST, "table public.a is already mirrored");
  if (a->noptions != 1 || strcmp(a->options[0].key, "batch-rows") != 0 ||
      strcmp(a->options[0].value, "8192") != 0)
    return ferr_set(err, FLOE_EINVAL, "unexpected options");
  atomic_fetch_add(&f->added, 1);
  return FLOE_OK;
}

static floe_status f_read_state(void *ctx, srv_call *call, floe_error *err) {
  fake *f = ctx;
  (void)err;
  uint64_t want = call->req->u.read_state.min_lsn;
  uint64_t have = atomic_load(&f->applied);
  if (have < want) {
    /* parked: the pending allocation checks cancel frees it (ASan) */
    if (!call->pending) call->pending = malloc(64);
    call->again = true;
    call->again_ms = 5000; /* only srv_wake makes it quick */
    return FLOE_OK;
  }
  free(call->pending);
  call->pending = NULL;
  uint64_t *pin = malloc(sizeof *pin);
  *pin = have;
  call->lease_state = pin;
  call->reply.u.read_state_ok.lsn = have;
  call->reply.u.read_state_ok.rows = 42;
  return FLOE_OK;
}

static void f_release(void *ctx, void *state) {
  fake *f = ctx;
  free(state);
  atomic_fetch_add(&f->releases, 1);
}

static void f_cancel(void *ctx, srv_call *call) {
  fake *f = ctx;
  free(call->pending);
  call->pending = NULL;
  atomic_fetch_add(&f->cancels, 1);
}

typedef struct stream {
  fake *f;
  uint64_t sent, total, lsn;
  int chunks;
} stream;

static floe_status s_next(void *ctx, fbuf *out, size_t max, bool *done,
                          rpc_end *end, floe_error *err) {
  stream *s = ctx;
  int fail_at = atomic_load(&s->f->stream_fail_at);
  if (fail_at && ++s->chunks == fail_at)
    return ferr_set(err, FLOE_EIO, "data file vanished");
  size_t n = s->total - s->sent < max ? (size_t)(s->total - s->sent) : max;
  FLOE_TRY(fbuf_reserve(out, n, err));
  for (size_t i = 0; i < n; i++) out->data[out->len + i] = pattern(s->sent + i);
  out->len += n;
  s->sent += n;
  if (s->sent == s->total) {
    *done = true;
    end->rows = s->total / 100;
    end->lsn = s->lsn;
  }
  return FLOE_OK;
}

static void s_close(void *ctx) {
  stream *s = ctx;
  atomic_fetch_add(&s->f->streams_closed, 1);
  free(s);
}

static floe_status f_scan(void *ctx, srv_call *call, floe_error *err) {
  fake *f = ctx;
  if (call->req->u.scan.format != RPC_FMT_ARROW)
    return ferr_set(err, FLOE_EUNSUPPORTED, "only arrow here");
  stream *s = calloc(1, sizeof *s);
  s->f = f;
  s->total = f->scan_total;
  s->lsn = *(uint64_t *)call->lease_state;
  call->stream = (srv_stream){s, s_next, s_close};
  return FLOE_OK;
}

static floe_status f_commit(void *ctx, srv_call *call, floe_error *err) {
  fake *f = ctx;
  (void)err;
  call->reply.u.commit_ok.durable_lsn = atomic_load(&f->applied);
  call->reply.u.commit_ok.snapshot_id = 0x1234567890ll;
  return FLOE_OK;
}

static rpc_column schema_cols[] = {
    {"id", FLOE_INT64, 0, 0, 0, 0, 0, 0, NULL},
    {"name", FLOE_UTF8, 0, 0, 0, 0, 0, 1, "\"x\""}};
static uint32_t schema_key[] = {0};

static floe_status f_schema(void *ctx, srv_call *call, floe_error *err) {
  (void)ctx, (void)err;
  call->reply.u.schema_ok = (rpc_schema_ok){3, 2, schema_cols, 1, schema_key};
  return FLOE_OK;
}

static floe_status f_health(void *ctx, floe_error *err) {
  fake *f = ctx;
  if (atomic_load(&f->health_bad))
    return ferr_set(err, FLOE_EIO, "table public.b: replication stopped");
  return FLOE_OK;
}

/* ---- a server in a thread ---- */

typedef struct env {
  char dir[64], path[128];
  fake f;
  srv_server *srv;
  pthread_t thread;
  floe_status run_status;
} env;

static void *run_loop(void *arg) {
  env *e = arg;
  floe_error err;
  e->run_status = srv_run(e->srv, &err);
  return NULL;
}

static void env_cfg(env *e, srv_config *cfg) {
  srv_config_init(cfg);
  strcpy(e->dir, "/tmp/floe-srv-XXXXXX");
  assert_non_null(mkdtemp(e->dir));
  snprintf(e->path, sizeof e->path, "%s/floe.sock", e->dir);
  cfg->socket_path = e->path;
  cfg->name = "shop";
  static const flog quiet = {FLOG_OFF, NULL, NULL};
  cfg->log = &quiet;
}

static void env_start(env *e, const srv_config *cfg) {
  memset(&e->f, 0, sizeof e->f);
  atomic_store(&e->f.applied, 100);
  e->f.scan_total = 1000;
  srv_handlers h = {.ctx = &e->f,
                    .list_tables = f_list,
                    .status = f_status,
                    .add_table = f_add,
                    .read_state = f_read_state,
                    .scan = f_scan,
                    .commit = f_commit,
                    .schema = f_schema,
                    .release = f_release,
                    .cancel = f_cancel,
                    .health = f_health};
  floe_error err;
  floe_status st = srv_open(cfg, &h, &e->srv, &err);
  if (st != FLOE_OK) fail_msg("srv_open: %s", err.msg);
  assert_int_equal(pthread_create(&e->thread, NULL, run_loop, e), 0);
}

static env *env_new(void) {
  env *e = calloc(1, sizeof *e);
  srv_config cfg;
  env_cfg(e, &cfg);
  env_start(e, &cfg);
  return e;
}

static void env_free(env *e) {
  srv_stop(e->srv);
  pthread_join(e->thread, NULL);
  assert_int_equal(e->run_status, FLOE_OK);
  srv_close(e->srv);
  /* the socket file goes with the server */
  assert_int_equal(access(e->path, F_OK), -1);
  rmdir(e->dir);
  free(e);
}

/* Stats are read while the loop runs: they are only counters, read after
 * the reply that follows the event, so a short settle loop suffices. */
static srv_stats stats_when(env *e, int (*ok)(const srv_stats *, int),
                            int arg) {
  srv_stats st;
  for (int i = 0; i < 300; i++) {
    srv_stats_get(e->srv, &st);
    if (ok(&st, arg)) return st;
    usleep(10000);
  }
  return st;
}
static int clients_are(const srv_stats *s, int n) { return s->clients == n; }

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static rpc_client *connect_ok(env *e) {
  rpc_client *c;
  floe_error err;
  floe_status st = rpc_client_connect(e->path, "test", 5000, &c, &err);
  if (st != FLOE_OK) fail_msg("connect: %s", err.msg);
  return c;
}

/* ---- raw socket helpers ---- */

static int raw_connect(const char *path) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, path);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

static void raw_send(int fd, const void *p, size_t n) {
  assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads one frame (1: got it, 0: EOF first). */
static int raw_frame(int fd, farena *a, rpc_msg *m) {
  uint8_t hdr[RPC_HEADER_LEN];
  size_t got = 0;
  struct pollfd p = {fd, POLLIN, 0};
  while (got < sizeof hdr) {
    assert_true(poll(&p, 1, 5000) == 1);
    ssize_t r = recv(fd, hdr + got, sizeof hdr - got, 0);
    if (r <= 0) {
      assert_int_equal(got, 0);
      return 0;
    }
    got += (size_t)r;
  }
  size_t n = fle32(hdr) + 4;
  uint8_t *f = malloc(n);
  memcpy(f, hdr, sizeof hdr);
  while (got < n) {
    assert_true(poll(&p, 1, 5000) == 1);
    ssize_t r = recv(fd, f + got, n - got, 0);
    assert_true(r > 0);
    got += (size_t)r;
  }
  floe_error err;
  floe_status st = rpc_decode(f, n, RPC_DEFAULT_MAX_FRAME, a, m, &err);
  if (st != FLOE_OK) fail_msg("reply does not decode: %s", err.msg);
  /* scan data would point into f: tests here read only non-data frames */
  assert_int_not_equal(m->type, RPC_SCAN_DATA);
  free(f);
  return 1;
}

static void expect_eof(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  assert_true(poll(&p, 1, 5000) == 1);
  char c;
  assert_int_equal(recv(fd, &c, 1, 0), 0);
}

static void raw_encode_send(int fd, rpc_msg *m) {
  fbuf b = FBUF_INIT;
  floe_error err;
  assert_int_equal(rpc_encode(&b, m, RPC_DEFAULT_MAX_FRAME, &err), FLOE_OK);
  raw_send(fd, b.data, b.len);
  fbuf_free(&b);
}

/* ---- tests ---- */

static void test_calls(void **state) {
  (void)state;
  env *e = env_new();
  rpc_client *c = connect_ok(e);
  const rpc_hello_ok *h = rpc_client_server(c);
  assert_int_equal(h->version, RPC_VERSION_MAX);
  assert_string_equal(h->server, "shop");
  assert_int_equal(h->floe_version, floe_version());
  assert_int_equal(h->max_request, RPC_DEFAULT_MAX_REQUEST);
  assert_true(h->lease_ttl_ms == 60000);

  farena a;
  farena_init(&a, 4096, 0);
  floe_error err;
  rpc_msg rq = {.type = RPC_LIST_TABLES}, rp;
  assert_int_equal(rpc_client_call(c, &rq, &a, &rp, &err), FLOE_OK);
  assert_int_equal(rp.u.list_tables_ok.ntables, 2);
  assert_string_equal(rp.u.list_tables_ok.tables[1].name, "public.b");
  assert_string_equal(rp.u.list_tables_ok.tables[1].state, "snapshotting");

  rq = (rpc_msg){.type = RPC_STATUS};
  assert_int_equal(rpc_client_call(c, &rq, &a, &rp, &err), FLOE_OK);
  assert_int_equal(rp.u.status_ok.ntables, 2);
  assert_true(rp.u.status_ok.tables[0].applied_lsn == 0x16B3748);
  assert_string_equal(rp.u.status_ok.tables[1].last_error,
                      "key (id)=(7) not found\nresync");
  const char *names[] = {"public.zzz"};
  rq.u.status = (rpc_status){1, names};
  assert_int_equal(rpc_client_call(c, &rq, &a, &rp, &err), FLOE_ENOTFOUND);
  assert_string_equal(err.msg, "table public.zzz is not mirrored");

  rpc_option opt = {"batch-rows", "8192"};
  rq = (rpc_msg){.type = RPC_ADD_TABLE};
  rq.u.add_table = (rpc_add_table){"public.c", 1, &opt};
  assert_int_equal(rpc_client_call(c, &rq, &a, &rp, &err), FLOE_OK);
  assert_int_equal(rp.type, RPC_ADD_TABLE_OK);
  assert_int_equal(atomic_load(&e->f.added), 1);
  rq.u.add_table.table = "public.a";
  assert_int_equal(rpc_client_call(c, &rq, &a, &rp, &err), FLOE_EEXIST);
  assert_string_equal(err.msg, "table public.a is already mirrored");

  /* a handler the table lacks */
  rq = (rpc_msg){.type = RPC_OPTIMIZE};
  rq.u.table = (rpc_table_req){"public.a", RPC_OPTIMIZE_FORCE};
  assert_int_equal(rpc_client_call(c, &rq, &a, &rp, &err), FLOE_EUNSUPPORTED);
  assert_string_equal(err.msg,
                      "request 'optimize' is not supported by this server");

  rq = (rpc_msg){.type = RPC_COMMIT};
  rq.u.table.table = "";
  assert_int_equal(rpc_client_call(c, &rq, &a, &rp, &err), FLOE_OK);
  assert_true(rp.u.commit_ok.durable_lsn == 100);
  assert_true(rp.u.commit_ok.snapshot_id == 0x1234567890ll);

  rq = (rpc_msg){.type = RPC_SCHEMA};
  rq.u.table.table = "public.a";
  assert_int_equal(rpc_client_call(c, &rq, &a, &rp, &err), FLOE_OK);
  assert_int_equal(rp.u.schema_ok.ncolumns, 2);
  assert_string_equal(rp.u.schema_ok.columns[1].initial_default, "\"x\"");
  assert_int_equal(rp.u.schema_ok.key[0], 0);

  /* the same connection after errors, and a second client alongside */
  rpc_client *c2 = connect_ok(e);
  rq = (rpc_msg){.type = RPC_LIST_TABLES};
  assert_int_equal(rpc_client_call(c2, &rq, &a, &rp, &err), FLOE_OK);
  assert_int_equal(rpc_client_call(c, &rq, &a, &rp, &err), FLOE_OK);
  rpc_client_close(c2);
  rpc_client_close(c);
  farena_free(&a);
  env_free(e);
}

static uint64_t take_lease(rpc_client *c, uint64_t lsn, int64_t timeout,
                           floe_status want, floe_error *err) {
  farena a;
  farena_init(&a, 1024, 0);
  rpc_msg rq = {.type = RPC_READ_STATE}, rp;
  rq.u.read_state = (rpc_read_state){"public.a", lsn, timeout, 0};
  floe_status st = rpc_client_call(c, &rq, &a, &rp, err);
  if (st != want) fail_msg("read_state: %d %s", st, err->msg);
  uint64_t lease = st == FLOE_OK ? rp.u.read_state_ok.lease : 0;
  if (st == FLOE_OK) {
    assert_true(rp.u.read_state_ok.lsn >= lsn);
    assert_true(rp.u.read_state_ok.rows == 42);
    assert_true(rp.u.read_state_ok.ttl_ms > 0);
  }
  farena_free(&a);
  return lease;
}

static floe_status lease_op(rpc_client *c, uint16_t type, uint64_t lease,
                            floe_error *err) {
  farena a;
  farena_init(&a, 1024, 0);
  rpc_msg rq = {.type = type}, rp;
  rq.u.lease.lease = lease;
  floe_status st = rpc_client_call(c, &rq, &a, &rp, err);
  farena_free(&a);
  return st;
}

static void test_leases(void **state) {
  (void)state;
  env *e = env_new();
  rpc_client *c = connect_ok(e), *other = connect_ok(e);
  floe_error err;
  uint64_t l1 = take_lease(c, 50, 1000, FLOE_OK, &err);
  uint64_t l2 = take_lease(c, 100, 0, FLOE_OK, &err);
  assert_true(l1 != l2 && l1 && l2);
  srv_stats st;
  srv_stats_get(e->srv, &st);
  assert_int_equal(st.leases, 2);
  assert_int_equal(lease_op(c, RPC_RENEW, l1, &err), FLOE_OK);
  /* leases belong to their connection */
  assert_int_equal(lease_op(other, RPC_RELEASE, l1, &err), FLOE_ENOTFOUND);
  assert_non_null(strstr(err.msg, "not found"));
  assert_int_equal(lease_op(c, RPC_RELEASE, l1, &err), FLOE_OK);
  assert_int_equal(atomic_load(&e->f.releases), 1);
  assert_int_equal(lease_op(c, RPC_RELEASE, l1, &err), FLOE_ENOTFOUND);
  assert_int_equal(lease_op(c, RPC_RENEW, l1, &err), FLOE_ENOTFOUND);
  /* closing the connection releases what it still holds */
  rpc_client_close(c);
  for (int i = 0; i < 300 && atomic_load(&e->f.releases) < 2; i++)
    usleep(10000);
  assert_int_equal(atomic_load(&e->f.releases), 2);
  srv_stats_get(e->srv, &st);
  assert_int_equal(st.leases, 0);
  rpc_client_close(other);
  env_free(e);
}

static void test_lease_limit(void **state) {
  (void)state;
  env *e = calloc(1, sizeof *e);
  srv_config cfg;
  env_cfg(e, &cfg);
  cfg.max_leases = 3;
  env_start(e, &cfg);
  rpc_client *c = connect_ok(e);
  floe_error err;
  for (int i = 0; i < 3; i++) take_lease(c, 1, 0, FLOE_OK, &err);
  take_lease(c, 1, 0, FLOE_ENOMEM, &err);
  assert_non_null(strstr(err.msg, "holds 3 leases already"));
  rpc_client_close(c);
  env_free(e);
  /* all three released when the client went away (env_free joined) */
}

typedef struct later {
  env *e;
  uint64_t lsn;
  int delay_ms;
} later;

static void *apply_later(void *arg) {
  later *l = arg;
  usleep((useconds_t)l->delay_ms * 1000);
  atomic_store(&l->e->f.applied, l->lsn);
  srv_wake(l->e->srv);
  return NULL;
}

static void test_read_state_waits(void **state) {
  (void)state;
  env *e = env_new();
  rpc_client *c = connect_ok(e);
  floe_error err;
  /* not applied yet: parked until the "engine" applies it and wakes the
   * loop (the handler's own retry is 5 s, so the wake is what answers) */
  later l = {e, 500, 100};
  pthread_t t;
  pthread_create(&t, NULL, apply_later, &l);
  int64_t t0 = now_ms();
  uint64_t lease = take_lease(c, 500, 3000, FLOE_OK, &err);
  int64_t took = now_ms() - t0;
  pthread_join(t, NULL);
  assert_true(lease != 0);
  assert_true(took >= 90 && took < 2000);

  /* never applied: FLOE_ETIMEDOUT after the timeout, the call cancelled */
  t0 = now_ms();
  take_lease(c, 900, 150, FLOE_ETIMEDOUT, &err);
  took = now_ms() - t0;
  assert_true(took >= 140 && took < 2000);
  assert_string_equal(
      err.msg, "read_state of public.a: LSN 0/384 not reached within 150 ms");
  assert_int_equal(atomic_load(&e->f.cancels), 1);
  /* timeout 0: do not wait */
  take_lease(c, 900, 0, FLOE_ETIMEDOUT, &err);
  assert_int_equal(atomic_load(&e->f.cancels), 2);

  /* a client gone while its call is parked: the call is cancelled */
  int fd = raw_connect(e->path);
  rpc_msg rq = {.type = RPC_READ_STATE, .id = 1};
  rq.u.read_state = (rpc_read_state){"public.a", 900, -1, 0};
  raw_encode_send(fd, &rq);
  usleep(50000);
  close(fd);
  for (int i = 0; i < 300 && atomic_load(&e->f.cancels) < 3; i++) usleep(10000);
  assert_int_equal(atomic_load(&e->f.cancels), 3);
  /* the loop goes on */
  assert_int_equal(lease_op(c, RPC_RELEASE, lease, &err), FLOE_OK);
  rpc_client_close(c);
  env_free(e);
}

static void test_lease_expiry(void **state) {
  (void)state;
  env *e = calloc(1, sizeof *e);
  srv_config cfg;
  env_cfg(e, &cfg);
  cfg.lease_ttl_ms = 150;
  env_start(e, &cfg);
  rpc_client *c = connect_ok(e);
  floe_error err;
  /* one lease renewed, one held and never released */
  uint64_t kept = take_lease(c, 1, 0, FLOE_OK, &err);
  uint64_t forgotten = take_lease(c, 1, 0, FLOE_OK, &err);
  for (int i = 0; i < 6; i++) {
    usleep(50000);
    assert_int_equal(lease_op(c, RPC_RENEW, kept, &err), FLOE_OK);
  }
  assert_int_equal(atomic_load(&e->f.releases), 1);
  assert_int_equal(lease_op(c, RPC_RENEW, forgotten, &err), FLOE_ENOTFOUND);
  srv_stats st;
  srv_stats_get(e->srv, &st);
  assert_true(st.leases_expired == 1);
  assert_int_equal(st.leases, 1);
  /* the kept one expires too once renewals stop */
  usleep(300000);
  assert_int_equal(atomic_load(&e->f.releases), 2);
  assert_int_equal(lease_op(c, RPC_RENEW, kept, &err), FLOE_ENOTFOUND);
  rpc_client_close(c);
  env_free(e);
}

typedef struct collect {
  uint64_t got;
  int bad;
  int delay_first_ms;
  int chunks;
} collect;

static floe_status sink(void *ctx, const uint8_t *p, size_t n,
                        floe_error *err) {
  (void)err;
  collect *k = ctx;
  if (k->chunks++ == 0 && k->delay_first_ms)
    usleep((useconds_t)k->delay_first_ms * 1000);
  for (size_t i = 0; i < n; i++)
    if (p[i] != pattern(k->got + i)) k->bad++;
  k->got += n;
  return FLOE_OK;
}

static void test_scan_stream(void **state) {
  (void)state;
  env *e = calloc(1, sizeof *e);
  srv_config cfg;
  env_cfg(e, &cfg);
  cfg.out_cap = 256 << 10;
  env_start(e, &cfg);
  e->f.scan_total = (5u << 20) + 12345;
  rpc_client *c = connect_ok(e);
  floe_error err;
  uint64_t lease = take_lease(c, 1, 0, FLOE_OK, &err);
  rpc_scan rq = {
      .lease = lease, .format = RPC_FMT_ARROW, .chunk_bytes = 64 << 10};
  /* a slow reader: the server must stop producing at out_cap */
  collect k = {0, 0, 300, 0};
  rpc_end end;
  floe_status st = rpc_client_scan(c, &rq, sink, &k, &end, &err);
  if (st != FLOE_OK) fail_msg("scan: %s", err.msg);
  assert_true(k.got == e->f.scan_total);
  assert_int_equal(k.bad, 0);
  assert_int_equal(k.chunks,
                   (int)((e->f.scan_total + (64 << 10) - 1) / (64 << 10)));
  assert_true(end.bytes == e->f.scan_total);
  assert_true(end.rows == e->f.scan_total / 100);
  assert_true(end.lsn == 100);
  srv_stats s;
  srv_stats_get(e->srv, &s);
  assert_true(s.max_out_pending <= (256 << 10) + (64 << 10) + 64);
  assert_int_equal(atomic_load(&e->f.streams_closed), 1);

  /* a format the handler refuses; a lease that does not exist */
  rq.format = RPC_FMT_CSV;
  assert_int_equal(rpc_client_scan(c, &rq, sink, &k, &end, &err),
                   FLOE_EUNSUPPORTED);
  rq.format = RPC_FMT_ARROW;
  rq.lease = 999;
  assert_int_equal(rpc_client_scan(c, &rq, sink, &k, &end, &err),
                   FLOE_ENOTFOUND);
  /* a stream failing midway: data, then an error frame; still usable */
  atomic_store(&e->f.stream_fail_at, 3);
  rq.lease = lease;
  k = (collect){0};
  assert_int_equal(rpc_client_scan(c, &rq, sink, &k, &end, &err), FLOE_EIO);
  assert_string_equal(err.msg, "data file vanished");
  assert_true(k.got == 2 * (64 << 10));
  assert_int_equal(k.bad, 0);
  assert_int_equal(atomic_load(&e->f.streams_closed), 2);
  atomic_store(&e->f.stream_fail_at, 0);
  assert_int_equal(lease_op(c, RPC_RENEW, lease, &err), FLOE_OK);
  rpc_client_close(c);
  env_free(e);
}

static void test_scan_disconnect(void **state) {
  (void)state;
  env *e = env_new();
  e->f.scan_total = 64u << 20; /* far more than the socket buffers */
  int fd = raw_connect(e->path);
  farena a;
  farena_init(&a, 1024, 0);
  rpc_msg rq = {.type = RPC_READ_STATE, .id = 1}, rp;
  rq.u.read_state = (rpc_read_state){"public.a", 1, 0, 0};
  raw_encode_send(fd, &rq);
  assert_int_equal(raw_frame(fd, &a, &rp), 1);
  assert_int_equal(rp.type, RPC_READ_STATE_OK);
  rq = (rpc_msg){.type = RPC_SCAN, .id = 2};
  rq.u.scan =
      (rpc_scan){.lease = rp.u.read_state_ok.lease, .format = RPC_FMT_ARROW};
  raw_encode_send(fd, &rq);
  char buf[4096];
  assert_true(recv(fd, buf, sizeof buf, 0) > 0);
  close(fd); /* mid-stream */
  for (int i = 0; i < 300 && atomic_load(&e->f.releases) < 1; i++)
    usleep(10000);
  assert_int_equal(atomic_load(&e->f.streams_closed), 1);
  assert_int_equal(atomic_load(&e->f.releases), 1);
  rpc_client *c = connect_ok(e);
  rpc_client_close(c);
  farena_free(&a);
  env_free(e);
}

/* Random bytes: an error reply (ECORRUPT), then the connection closes. */
static void test_bad_random_bytes(void **state) {
  (void)state;
  env *e = env_new();
  uint32_t x = 12345;
  for (int round = 0; round < 20; round++) {
    int fd = raw_connect(e->path);
    uint8_t junk[256];
    for (size_t i = 0; i < sizeof junk; i++) {
      x = x * 1103515245u + 12345u;
      junk[i] = (uint8_t)(x >> 16);
    }
    if (round == 0) memcpy(junk, "GET / HTTP/1.1\r\n", 16);
    raw_send(fd, junk, sizeof junk);
    farena a;
    farena_init(&a, 1024, 0);
    rpc_msg m;
    assert_int_equal(raw_frame(fd, &a, &m), 1);
    assert_int_equal(m.type, RPC_ERROR);
    assert_int_equal(m.u.error.code, FLOE_ECORRUPT);
    expect_eof(fd);
    close(fd);
    farena_free(&a);
  }
  srv_stats st = stats_when(e, clients_are, 0);
  assert_true(st.protocol_errors == 20);
  rpc_client *c = connect_ok(e); /* the loop goes on */
  rpc_client_close(c);
  env_free(e);
}

/* A huge length: refused from the 4 length bytes alone, no waiting for (or
 * allocating) the promised gigabytes. */
static void test_bad_huge_length(void **state) {
  (void)state;
  env *e = env_new();
  int fd = raw_connect(e->path);
  uint8_t len[4] = {0xF0, 0xFF, 0xFF, 0xFF};
  raw_send(fd, len, 4);
  farena a;
  farena_init(&a, 1024, 0);
  rpc_msg m;
  assert_int_equal(raw_frame(fd, &a, &m), 1);
  assert_int_equal(m.type, RPC_ERROR);
  assert_int_equal(m.u.error.code, FLOE_ECORRUPT);
  assert_string_equal(m.u.error.message,
                      "frame length 4294967280 is outside 12..1048576 (max "
                      "request size)");
  expect_eof(fd);
  close(fd);
  /* a length just over the request limit, with a full header */
  fd = raw_connect(e->path);
  uint8_t hdr[RPC_HEADER_LEN] = {0x01, 0x00, 0x10, 0x00, 0x46, 0x4C, 1, 0,
                                 2,    0,    0,    0,    7,    0,    0, 0};
  raw_send(fd, hdr, sizeof hdr);
  assert_int_equal(raw_frame(fd, &a, &m), 1);
  assert_int_equal(m.type, RPC_ERROR);
  assert_int_equal(m.id, 7);
  expect_eof(fd);
  close(fd);
  farena_free(&a);
  rpc_client *c = connect_ok(e);
  rpc_client_close(c);
  env_free(e);
}

/* Well-framed but wrong requests: an error each, the connection stays. */
/* A version 1 client is answered in version 1 (COMMIT_OK without the
 * snapshot id, errors too); a version 2 request gets the snapshot id. */
static void test_old_version_client(void **state) {
  (void)state;
  env *e = env_new();
  int fd = raw_connect(e->path);
  farena a;
  farena_init(&a, 1024, 0);
  rpc_msg rq = {.type = RPC_COMMIT, .version = 1, .id = 3}, m;
  rq.u.table = (rpc_table_req){"", 0};
  raw_encode_send(fd, &rq);
  assert_int_equal(raw_frame(fd, &a, &m), 1);
  assert_int_equal(m.type, RPC_COMMIT_OK);
  assert_int_equal(m.version, 1);
  assert_true(m.u.commit_ok.durable_lsn == 100);
  assert_true(m.u.commit_ok.snapshot_id == -1); /* version 1 does not say */
  rq.version = 2;
  rq.id = 4;
  raw_encode_send(fd, &rq);
  assert_int_equal(raw_frame(fd, &a, &m), 1);
  assert_int_equal(m.version, 2);
  assert_true(m.u.commit_ok.snapshot_id == 0x1234567890ll);
  rq = (rpc_msg){.type = RPC_STATUS, .version = 1, .id = 5};
  const char *names[] = {"public.zzz"};
  rq.u.status = (rpc_status){1, names};
  raw_encode_send(fd, &rq);
  assert_int_equal(raw_frame(fd, &a, &m), 1);
  assert_int_equal(m.type, RPC_ERROR);
  assert_int_equal(m.version, 1);
  assert_int_equal(m.id, 5);
  close(fd);
  farena_free(&a);
  env_free(e);
}

static void test_bad_unknown_request(void **state) {
  (void)state;
  env *e = env_new();
  int fd = raw_connect(e->path);
  farena a;
  farena_init(&a, 1024, 0);
  fbuf b = FBUF_INIT;
  floe_error err;
  size_t start;
  /* unknown type 0x0042 */
  rpc_frame_begin(&b, 0x0042, 11, &start, &err);
  rpc_frame_finish(&b, start, RPC_DEFAULT_MAX_FRAME, &err);
  /* a reply type sent as a request */
  rpc_frame_begin(&b, RPC_END, 12, &start, &err);
  fbuf_zero(&b, 24, &err);
  rpc_frame_finish(&b, start, RPC_DEFAULT_MAX_FRAME, &err);
  /* a malformed payload (string longer than the frame) */
  rpc_frame_begin(&b, RPC_SCHEMA, 13, &start, &err);
  fbuf_put_le32(&b, 1000, &err);
  rpc_frame_finish(&b, start, RPC_DEFAULT_MAX_FRAME, &err);
  /* a version from the future */
  rpc_frame_begin(&b, RPC_LIST_TABLES, 14, &start, &err);
  rpc_frame_finish(&b, start, RPC_DEFAULT_MAX_FRAME, &err);
  b.data[b.len - 10] = 9;
  /* hello with no common version */
  rpc_msg h = {.type = RPC_HELLO, .id = 15};
  h.u.hello = (rpc_hello){5, 6, "future"};
  rpc_encode(&b, &h, RPC_DEFAULT_MAX_FRAME, &err);
  /* and then a good one, all sent at once (pipelined) */
  rpc_msg ok = {.type = RPC_LIST_TABLES, .id = 16};
  rpc_encode(&b, &ok, RPC_DEFAULT_MAX_FRAME, &err);
  raw_send(fd, b.data, b.len);
  static const struct {
    uint32_t id;
    floe_status code;
    const char *msg;
  } want[] = {
      {11, FLOE_EUNSUPPORTED, "rpc: unknown message type 0x0042"},
      {12, FLOE_EUNSUPPORTED, "'end' is a reply, not a request"},
      {13, FLOE_ECORRUPT,
       "rpc schema frame at offset 20: table: string of 1000 bytes, only 0 "
       "left"},
      {14, FLOE_EUNSUPPORTED,
       "rpc: protocol version 9 unsupported (this side speaks 1..2)"},
      {15, FLOE_EUNSUPPORTED,
       "no common protocol version: client speaks 5..6, server 1..2"},
  };
  rpc_msg m;
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    assert_int_equal(raw_frame(fd, &a, &m), 1);
    assert_int_equal(m.type, RPC_ERROR);
    assert_int_equal(m.id, want[i].id);
    assert_int_equal(m.u.error.code, want[i].code);
    assert_string_equal(m.u.error.message, want[i].msg);
  }
  assert_int_equal(raw_frame(fd, &a, &m), 1);
  assert_int_equal(m.type, RPC_LIST_TABLES_OK);
  assert_int_equal(m.id, 16);
  assert_int_equal(m.u.list_tables_ok.ntables, 2);
  srv_stats st;
  srv_stats_get(e->srv, &st);
  assert_true(st.protocol_errors == 0);
  close(fd);
  fbuf_free(&b);
  farena_free(&a);
  env_free(e);
}

/* A client that disconnects mid-frame is dropped; the others go on. */
static void test_disconnect_mid_frame(void **state) {
  (void)state;
  env *e = env_new();
  rpc_client *c = connect_ok(e);
  for (int cut = 1; cut < 30; cut += 7) {
    int fd = raw_connect(e->path);
    rpc_msg m = {.type = RPC_READ_STATE, .id = 1};
    m.u.read_state = (rpc_read_state){"public.a", 1, 0, 0};
    fbuf b = FBUF_INIT;
    floe_error err;
    rpc_encode(&b, &m, RPC_DEFAULT_MAX_FRAME, &err);
    raw_send(fd, b.data, (size_t)cut);
    usleep(20000);
    close(fd);
    fbuf_free(&b);
  }
  srv_stats st = stats_when(e, clients_are, 1);
  assert_int_equal(st.clients, 1);
  assert_true(st.leases == 0);
  farena a;
  farena_init(&a, 1024, 0);
  floe_error err;
  rpc_msg rq = {.type = RPC_LIST_TABLES}, rp;
  assert_int_equal(rpc_client_call(c, &rq, &a, &rp, &err), FLOE_OK);
  rpc_client_close(c);
  farena_free(&a);
  env_free(e);
}

/* A frame begun and never finished: closed after io_timeout_ms. */
static void test_stalled_frame(void **state) {
  (void)state;
  env *e = calloc(1, sizeof *e);
  srv_config cfg;
  env_cfg(e, &cfg);
  cfg.io_timeout_ms = 200;
  env_start(e, &cfg);
  int fd = raw_connect(e->path);
  uint8_t part[10] = {20, 0, 0, 0, 0x46, 0x4C, 1, 0, 8, 0};
  int64_t t0 = now_ms();
  raw_send(fd, part, sizeof part);
  farena a;
  farena_init(&a, 1024, 0);
  rpc_msg m;
  assert_int_equal(raw_frame(fd, &a, &m), 1);
  assert_true(now_ms() - t0 >= 190);
  assert_int_equal(m.type, RPC_ERROR);
  assert_non_null(strstr(m.u.error.message, "incomplete frame for"));
  expect_eof(fd);
  close(fd);
  /* an idle connection (no partial frame) is left alone */
  rpc_client *c = connect_ok(e);
  usleep(400000);
  rpc_msg rq = {.type = RPC_LIST_TABLES}, rp;
  floe_error err;
  assert_int_equal(rpc_client_call(c, &rq, &a, &rp, &err), FLOE_OK);
  rpc_client_close(c);
  farena_free(&a);
  env_free(e);
}

static void test_max_clients(void **state) {
  (void)state;
  env *e = calloc(1, sizeof *e);
  srv_config cfg;
  env_cfg(e, &cfg);
  cfg.max_clients = 2;
  env_start(e, &cfg);
  rpc_client *c1 = connect_ok(e), *c2 = connect_ok(e), *c3;
  floe_error err;
  assert_int_equal(rpc_client_connect(e->path, "x", 2000, &c3, &err),
                   FLOE_ENOMEM);
  assert_non_null(strstr(err.msg, "too many clients (2): try again later"));
  rpc_client_close(c1);
  stats_when(e, clients_are, 1);
  c3 = connect_ok(e);
  rpc_client_close(c2);
  rpc_client_close(c3);
  env_free(e);
}

static void test_socket_file(void **state) {
  (void)state;
  env *e = env_new();
  struct stat st;
  assert_int_equal(stat(e->path, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_int_equal(st.st_mode & 0777, 0600);
  /* a second server on a live socket is refused */
  srv_config cfg;
  srv_config_init(&cfg);
  cfg.socket_path = e->path;
  srv_server *s2;
  floe_error err;
  assert_int_equal(srv_open(&cfg, NULL, &s2, &err), FLOE_EEXIST);
  assert_non_null(strstr(err.msg, "another server is listening on"));
  env_free(e);

  char dir[] = "/tmp/floe-sock-XXXXXX", path[128];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/s", dir);
  /* a stale socket (bound, then its process died) is replaced */
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, path);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  close(fd);
  cfg.socket_path = path;
  cfg.socket_mode = 0660;
  char gid[16];
  snprintf(gid, sizeof gid, "%u", (unsigned)getgid());
  cfg.socket_group = gid;
  assert_int_equal(srv_open(&cfg, NULL, &s2, &err), FLOE_OK);
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0660);
  assert_int_equal(st.st_gid, getgid());
  srv_close(s2);
  assert_int_equal(access(path, F_OK), -1);
  /* a regular file is never replaced */
  FILE *f = fopen(path, "w");
  fputs("precious", f);
  fclose(f);
  cfg.socket_group = NULL;
  assert_int_equal(srv_open(&cfg, NULL, &s2, &err), FLOE_EEXIST);
  assert_non_null(strstr(err.msg, "is not a socket: refusing to replace"));
  assert_int_equal(access(path, F_OK), 0);
  unlink(path);
  /* an unknown group, a missing directory, a path too long */
  cfg.socket_group = "no-such-group-floe";
  assert_int_equal(srv_open(&cfg, NULL, &s2, &err), FLOE_EINVAL);
  assert_string_equal(err.msg,
                      "socket group 'no-such-group-floe' does not exist");
  assert_int_equal(access(path, F_OK), -1);
  cfg.socket_group = NULL;
  char missing[160];
  snprintf(missing, sizeof missing, "%s/nope/s", dir);
  cfg.socket_path = missing;
  assert_int_equal(srv_open(&cfg, NULL, &s2, &err), FLOE_EIO);
  assert_non_null(strstr(err.msg, "cannot bind"));
  char lng[200];
  memset(lng, 'x', sizeof lng);
  lng[0] = '/';
  lng[199] = 0;
  cfg.socket_path = lng;
  assert_int_equal(srv_open(&cfg, NULL, &s2, &err), FLOE_EINVAL);
  assert_non_null(strstr(err.msg, "is 199 bytes; the limit is 107"));
  /* the client says what to do when no daemon listens */
  rpc_client *c;
  assert_int_equal(rpc_client_connect(path, "x", 1000, &c, &err),
                   FLOE_ENOTFOUND);
  assert_non_null(strstr(err.msg, "no floe daemon listens on"));
  rmdir(dir);
}

/* A client that half-closes after its requests still gets every reply,
 * then EOF. */
static void test_half_close(void **state) {
  (void)state;
  env *e = env_new();
  int fd = raw_connect(e->path);
  rpc_msg rq = {.type = RPC_LIST_TABLES, .id = 1};
  raw_encode_send(fd, &rq);
  rq.id = 2;
  raw_encode_send(fd, &rq);
  shutdown(fd, SHUT_WR);
  farena a;
  farena_init(&a, 1024, 0);
  rpc_msg m;
  for (uint32_t id = 1; id <= 2; id++) {
    assert_int_equal(raw_frame(fd, &a, &m), 1);
    assert_int_equal(m.type, RPC_LIST_TABLES_OK);
    assert_int_equal(m.id, id);
  }
  expect_eof(fd);
  close(fd);
  farena_free(&a);
  env_free(e);
}

typedef struct worker {
  env *e;
  int seed;
  int failures;
} worker;

static void *work(void *arg) {
  worker *w = arg;
  rpc_client *c;
  floe_error err;
  if (rpc_client_connect(w->e->path, "worker", 10000, &c, &err) != FLOE_OK) {
    w->failures++;
    return NULL;
  }
  farena a;
  farena_init(&a, 1024, 0);
  for (int i = 0; i < 100; i++) {
    rpc_msg rq = {.type = RPC_READ_STATE}, rp;
    rq.u.read_state = (rpc_read_state){"public.a", 1, 1000, 0};
    farena_reset(&a);
    if (rpc_client_call(c, &rq, &a, &rp, &err) != FLOE_OK) {
      w->failures++;
      continue;
    }
    uint64_t lease = rp.u.read_state_ok.lease;
    if ((i + w->seed) % 3 == 0) {
      rpc_scan sc = {.lease = lease, .format = RPC_FMT_ARROW};
      collect k = {0};
      rpc_end end;
      if (rpc_client_scan(c, &sc, sink, &k, &end, &err) != FLOE_OK ||
          k.got != 1000 || k.bad)
        w->failures++;
    }
    rq = (rpc_msg){.type = RPC_RELEASE};
    rq.u.lease.lease = lease;
    if (rpc_client_call(c, &rq, &a, &rp, &err) != FLOE_OK) w->failures++;
  }
  farena_free(&a);
  rpc_client_close(c);
  return NULL;
}

/* Many clients at once: every lease taken is released exactly once. */
static void test_many_clients(void **state) {
  (void)state;
  env *e = env_new();
  enum { N = 8 };
  pthread_t t[N];
  worker w[N];
  for (int i = 0; i < N; i++) {
    w[i] = (worker){e, i, 0};
    pthread_create(&t[i], NULL, work, &w[i]);
  }
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  assert_int_equal(atomic_load(&e->f.releases), N * 100);
  srv_stats st = stats_when(e, clients_are, 0);
  assert_int_equal(st.leases, 0);
  uint64_t scans = 0;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < 100; j++) scans += (j + i) % 3 == 0;
  /* per client: hello, then read_state + release 100 times, and scans */
  assert_true(st.requests == N * (1 + 2 * 100) + scans);
  assert_int_equal(atomic_load(&e->f.streams_closed), (int)scans);
  env_free(e);
}

/* ---- HTTP ---- */

static int tcp_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  return fd;
}

/* Sends req, returns the whole response (until the server closes). */
static char *http(int port, const char *req, size_t n) {
  int fd = tcp_connect(port);
  raw_send(fd, req, n);
  fbuf b = FBUF_INIT;
  floe_error err;
  struct pollfd p = {fd, POLLIN, 0};
  for (;;) {
    assert_true(poll(&p, 1, 5000) == 1);
    fbuf_reserve(&b, 4096, &err);
    ssize_t r = recv(fd, b.data + b.len, 4096, 0);
    if (r <= 0) break;
    b.len += (size_t)r;
  }
  close(fd);
  fbuf_put_u8(&b, 0, &err);
  return (char *)fbuf_take(&b);
}

static void test_http(void **state) {
  (void)state;
  env *e = calloc(1, sizeof *e);
  srv_config cfg;
  env_cfg(e, &cfg);
  cfg.metrics_addr = "127.0.0.1:0";
  cfg.io_timeout_ms = 300;
  env_start(e, &cfg);
  int port = srv_metrics_port(e->srv);
  assert_true(port > 0);

  const char *get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  char *r = http(port, get, strlen(get));
  assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
  assert_non_null(strstr(r, "Content-Type: text/plain; version=0.0.4"));
  assert_non_null(strstr(r, "Connection: close\r\n"));
  assert_non_null(strstr(r, "\r\n\r\n# HELP process_resident_memory_bytes"));
  assert_non_null(strstr(r, "floe_table_rows{table=\"public.a\"} 1000\n"));
  assert_non_null(
      strstr(r, "floe_table_applied_lsn{table=\"public.a\"} 23803720\n"));
  assert_non_null(
      strstr(r, "floe_table_error{table=\"public.\\\"b\\\"\"} 1\n"));
  assert_non_null(strstr(r, "floe_uptime_seconds 61.500\n"));
  /* Content-Length matches the body */
  const char *body = strstr(r, "\r\n\r\n") + 4;
  size_t clen = (size_t)atol(strstr(r, "Content-Length: ") + 16);
  assert_int_equal(strlen(body), clen);
  free(r);

  r = http(port, "HEAD /metrics HTTP/1.0\r\n\r\n", 26);
  assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
  assert_string_equal(strstr(r, "\r\n\r\n"), "\r\n\r\n"); /* no body */
  free(r);
  r = http(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 35);
  assert_non_null(strstr(r, "HTTP/1.1 200 OK\r\n"));
  assert_string_equal(strstr(r, "\r\n\r\n") + 4, "ok\n");
  free(r);
  atomic_store(&e->f.health_bad, 1);
  r = http(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 35);
  assert_non_null(strstr(r, "HTTP/1.1 503 Service Unavailable\r\n"));
  assert_string_equal(strstr(r, "\r\n\r\n") + 4,
                      "unhealthy: table public.b: replication stopped\n");
  free(r);
  r = http(port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", 32);
  assert_non_null(strstr(r, "HTTP/1.1 404 Not Found\r\n"));
  free(r);
  r = http(port, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 36);
  assert_non_null(strstr(r, "HTTP/1.1 405 Method Not Allowed\r\n"));
  assert_non_null(strstr(r, "Allow: GET, HEAD\r\n"));
  free(r);
  /* binary garbage is refused at once, not after a timeout */
  int64_t t0 = now_ms();
  r = http(port, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  assert_non_null(strstr(r, "HTTP/1.1 400 Bad Request\r\n"));
  assert_true(now_ms() - t0 < 250);
  free(r);
  /* an oversized head */
  char *big = malloc(MET_MAX_REQUEST + 100);
  memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
  memset(big + 26, 'a', MET_MAX_REQUEST + 100 - 26);
  r = http(port, big, MET_MAX_REQUEST + 100);
  assert_non_null(strstr(r, "HTTP/1.1 431 "));
  free(r);
  free(big);
  /* a request that never completes: 408 after io_timeout_ms */
  r = http(port, "GET /metrics HTTP/1.1\r\n", 23);
  assert_non_null(strstr(r, "HTTP/1.1 408 Request Timeout\r\n"));
  free(r);
  srv_stats st;
  srv_stats_get(e->srv, &st);
  assert_true(st.http_requests == 8); /* the 408 one never completed */
  assert_true(st.timeouts == 1);
  env_free(e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_calls),
      cmocka_unit_test(test_leases),
      cmocka_unit_test(test_lease_limit),
      cmocka_unit_test(test_read_state_waits),
      cmocka_unit_test(test_lease_expiry),
      cmocka_unit_test(test_scan_stream),
      cmocka_unit_test(test_scan_disconnect),
      cmocka_unit_test(test_bad_random_bytes),
      cmocka_unit_test(test_bad_huge_length),
      cmocka_unit_test(test_old_version_client),
      cmocka_unit_test(test_bad_unknown_request),
      cmocka_unit_test(test_disconnect_mid_frame),
      cmocka_unit_test(test_stalled_frame),
      cmocka_unit_test(test_max_clients),
      cmocka_unit_test(test_socket_file),
      cmocka_unit_test(test_half_close),
      cmocka_unit_test(test_many_clients),
      cmocka_unit_test(test_http),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
