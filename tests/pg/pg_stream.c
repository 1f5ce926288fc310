/*
 * The replication stream against a real server (run by
 * tests/pg/test_stream.sh): message counts for a known workload, the slot
 * never confirming past what the host called durable, reconnects after the
 * walsender is killed and after a server restart, streamed transactions,
 * clean stop, final errors, and the framing codec.
 */
#include "pgx_test.h"

#include <sys/wait.h>
#include <time.h>

#include "pg/slot.h"
#include "pg/stream.h"

#define MAXC 20000

typedef struct tctx {
  int counts[256];        /* messages by type byte */
  uint64_t commits[MAXC]; /* end LSNs of Commit / Stream Commit, in order */
  int ncommits;
  int lag; /* durable = the commit this many back; <0: none */
  uint64_t durable;
  uint64_t max_durable; /* the highest durable_lsn() ever returned */
  int restarts;
  uint64_t restart_lsn[64];
  int restart_commit[64]; /* ncommits at each restart */
  bool fail_next;         /* on_message fails once */
  uint64_t keepalive_end;
  /* what a host does (README): with no transaction in flight, the
   * server's WAL end from a keepalive counts as durable */
  bool follow_keepalive;
  bool in_txn;
} tctx;

static uint64_t rd64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

static floe_status on_message(void *ctx, uint64_t wal_start, uint64_t wal_end,
                              const uint8_t *data, size_t len,
                              floe_error *err) {
  tctx *t = ctx;
  (void)wal_end;
  if (t->fail_next) {
    t->fail_next = false;
    return ferr_set(err, FLOE_EINVAL, "host refuses this message");
  }
  assert_true(len >= 1);
  t->counts[data[0]]++;
  if (data[0] == 'B' || data[0] == 'S') t->in_txn = true;
  if (data[0] == 'C' || data[0] == 'c' || data[0] == 'A') t->in_txn = false;
  uint64_t end = 0;
  if (data[0] == 'C') {
    assert_int_equal(len, 26);
    end = rd64(data + 10);
  } else if (data[0] == 'c') {
    assert_int_equal(len, 30);
    end = rd64(data + 14);
  }
  if (end) {
    /* the server tags a commit with its end LSN: what a slot confirms */
    assert_true(wal_start == end);
    assert_true(t->ncommits < MAXC);
    t->commits[t->ncommits++] = end;
    if (t->lag >= 0 && t->ncommits > t->lag)
      t->durable = t->commits[t->ncommits - 1 - t->lag];
  }
  return FLOE_OK;
}

static uint64_t durable_lsn(void *ctx) {
  tctx *t = ctx;
  if (t->durable > t->max_durable) t->max_durable = t->durable;
  return t->durable;
}

static floe_status on_restart(void *ctx, uint64_t lsn, floe_error *err) {
  (void)err;
  tctx *t = ctx;
  assert_true(t->restarts < 64);
  t->restart_commit[t->restarts] = t->ncommits;
  t->restart_lsn[t->restarts++] = lsn;
  return FLOE_OK;
}

static void on_keepalive(void *ctx, uint64_t end) {
  tctx *t = ctx;
  t->keepalive_end = end;
  if (t->follow_keepalive && !t->in_txn && end > t->durable) t->durable = end;
}

static const pgx_stream_cbs CBS = {on_message, durable_lsn, on_restart,
                                   on_keepalive, NULL};

static const char PUB[] = "Weird \"Pub\"; x";

static uint64_t confirmed(pgx_conn *c, const char *slot) {
  floe_error err;
  pgx_slot_state st;
  if (pgx_slot_lookup(c, slot, &st, &err) != FLOE_OK) fail_msg("%s", err.msg);
  assert_true(st.exists);
  return st.confirmed_flush;
}

typedef struct fixture {
  pgx_conn *sql;
  char slot[64];
  uint64_t slot_lsn;
  tctx t;
} fixture;

static int counter;

/* A fresh table, publication (weird name) and slot per test. */
static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  f->sql = t_open(PGX_CONN_SQL);
  snprintf(f->slot, sizeof f->slot, "floe_st%d", ++counter);
  t_exec(f->sql, "DROP TABLE IF EXISTS s_t; DROP PUBLICATION IF EXISTS "
                 "\"Weird \"\"Pub\"\"; x\"");
  t_exec(f->sql, "CREATE TABLE s_t (id int PRIMARY KEY, v text)");
  floe_error err;
  bool created;
  pgx_table_name tn[] = {{"public", "s_t"}};
  if (pgx_pub_ensure(f->sql, PUB, tn, 1, &created, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  pgx_conn *repl = t_open(PGX_CONN_REPLICATION);
  pgx_slot s;
  if (pgx_slot_create(repl, f->slot, false, &s, &err) != FLOE_OK)
    fail_msg("%s", err.msg);
  f->slot_lsn = s.lsn;
  pgx_conn_close(repl);
  f->t.lag = -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  floe_error err;
  pgx_slot_drop(f->sql, f->slot, NULL, &err);
  pgx_conn_close(f->sql);
  free(f);
  return 0;
}

static pgx_stream *open_stream(fixture *f, pgx_stream_opts *o) {
  o->conninfo = "";
  o->slot = f->slot;
  o->publication = PUB;
  if (!o->status_interval_ms) o->status_interval_ms = 100;
  if (!o->backoff_min_ms) o->backoff_min_ms = 50;
  if (!o->backoff_max_ms) o->backoff_max_ms = 400;
  pgx_stream *s = NULL;
  floe_error err;
  pgx_stream_cbs cbs = CBS;
  cbs.ctx = &f->t;
  if (pgx_stream_open(o, &cbs, &s, &err) != FLOE_OK)
    fail_msg("open: %s", err.msg);
  return s;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The invariant: the slot never confirms past what durable_lsn() gave. */
static void check_confirmed(fixture *f) {
  uint64_t c = confirmed(f->sql, f->slot);
  uint64_t limit =
      f->t.max_durable > f->slot_lsn ? f->t.max_durable : f->slot_lsn;
  if (c > limit) {
    char a[PGX_LSN_STR], b[PGX_LSN_STR];
    fail_msg("slot confirmed %s past durable %s", pgx_lsn_format(c, a),
             pgx_lsn_format(limit, b));
  }
}

/* Polls until ncommits reaches want (checking the invariant each round). */
static void poll_commits(fixture *f, pgx_stream *s, int want, double secs) {
  double end = now_s() + secs;
  floe_error err;
  while (f->t.ncommits < want) {
    if (now_s() > end)
      fail_msg("timeout: %d of %d commits", f->t.ncommits, want);
    if (pgx_stream_poll(s, 50, &err) != FLOE_OK) fail_msg("%s", err.msg);
    check_confirmed(f);
  }
}

static void insert_txns(fixture *f, int from, int n, int rows) {
  char sql[256];
  for (int i = 0; i < n; i++) {
    snprintf(sql, sizeof sql,
             "INSERT INTO s_t SELECT g, 'v' || g FROM generate_series(%d, %d) "
             "g",
             (from + i) * rows, (from + i) * rows + rows - 1);
    t_exec(f->sql, sql);
  }
}

/* A known workload gives exactly its messages; the slot's confirmed
 * position trails durable_lsn() and reaches it after a status update. */
static void test_counts_and_feedback(void **state) {
  fixture *f = *state;
  f->t.lag = 5;
  pgx_stream_opts o = {0};
  pgx_stream *s = open_stream(f, &o);
  insert_txns(f, 0, 50, 2);
  t_exec(f->sql, "UPDATE s_t SET v = 'u' WHERE id < 10");
  t_exec(f->sql, "DELETE FROM s_t WHERE id >= 90");
  poll_commits(f, s, 52, 20);
  /* nothing else may arrive: give the server a moment */
  floe_error err;
  for (int i = 0; i < 5; i++) {
    assert_int_equal(pgx_stream_poll(s, 50, &err), FLOE_OK);
    check_confirmed(f);
  }
  tctx *t = &f->t;
  assert_int_equal(t->counts['B'], 52);
  assert_int_equal(t->counts['C'], 52);
  assert_int_equal(t->counts['R'], 1);
  assert_int_equal(t->counts['I'], 100);
  assert_int_equal(t->counts['U'], 10);
  assert_int_equal(t->counts['D'], 10);
  assert_int_equal(t->restarts, 1);
  assert_true(t->restart_lsn[0] == f->slot_lsn);
  for (int i = 1; i < t->ncommits; i++)
    assert_true(t->commits[i] > t->commits[i - 1]);
  /* the durable position lags 5 commits: the slot is there, not further */
  uint64_t want = t->commits[t->ncommits - 1 - 5];
  assert_true(t->max_durable == want);
  assert_int_equal(pgx_stream_send_status(s, true, &err), FLOE_OK);
  double end = now_s() + 10;
  while (confirmed(f->sql, f->slot) != want) {
    assert_true(now_s() < end);
    assert_int_equal(pgx_stream_poll(s, 50, &err), FLOE_OK);
  }
  pgx_stream_stats st;
  pgx_stream_get_stats(s, &st);
  assert_true(st.connected);
  assert_true(st.sent_flush == want);
  assert_true(st.received_lsn == t->commits[t->ncommits - 1]);
  assert_int_equal(st.messages, 52 * 2 + 1 + 120);
  assert_true(st.status_sent >= 2);
  /* all durable: confirmed reaches the last commit */
  t->durable = t->commits[t->ncommits - 1];
  assert_int_equal(pgx_stream_send_status(s, false, &err), FLOE_OK);
  end = now_s() + 10;
  while (confirmed(f->sql, f->slot) != t->durable) {
    assert_true(now_s() < end);
    assert_int_equal(pgx_stream_poll(s, 50, &err), FLOE_OK);
  }
  /* a clean stop leaves the slot idle at once */
  assert_int_equal(pgx_stream_stop(s, 5000, &err), FLOE_OK);
  pgx_slot_state ss;
  end = now_s() + 5;
  do {
    assert_int_equal(pgx_slot_lookup(f->sql, f->slot, &ss, &err), FLOE_OK);
    assert_true(now_s() < end);
  } while (ss.active);
  assert_true(ss.confirmed_flush == t->durable);
  pgx_stream_free(s);
}

/* Runs cmd in a child while polling the streams, as a daemon keeps doing:
 * a fast shutdown waits for its walsenders' clients to answer (without
 * polling, pg_ctl stop took wal_sender_timeout, 60 s). A stream that fails
 * is left for the caller to see on its next poll. */
static void run_polling(const char *cmd, pgx_stream **ss, int n) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) _exit(system(cmd) == 0 ? 0 : 1);
  int status = 0;
  floe_error err;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    for (int i = 0; i < n; i++)
      if (ss[i] && pgx_stream_poll(ss[i], 20, &err) != FLOE_OK) ss[i] = NULL;
    if (n == 0) usleep(20000);
  }
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static int distinct_commits(const tctx *t) {
  int d = 0;
  for (int i = 0; i < t->ncommits; i++) {
    bool seen = false;
    for (int j = 0; j < i && !seen; j++) seen = t->commits[j] == t->commits[i];
    d += !seen;
  }
  return d;
}

/* Killing the walsender: the stream comes back by itself, from the durable
 * position, and no transaction is lost. */
static void test_reconnect_after_terminate(void **state) {
  fixture *f = *state;
  tctx *t = &f->t;
  t->lag = 3;
  pgx_stream_opts o = {0};
  pgx_stream *s = open_stream(f, &o);
  insert_txns(f, 0, 20, 1);
  poll_commits(f, s, 20, 20);
  floe_error err;
  assert_int_equal(pgx_stream_send_status(s, false, &err), FLOE_OK);
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT count(pg_terminate_backend(active_pid)) FROM "
           "pg_replication_slots WHERE slot_name = '%s' AND active",
           f->slot);
  t_expect(f->sql, sql, "1");
  insert_txns(f, 20, 20, 1);
  /* commits after the durable position come again on the new connection:
   * poll until all 40 distinct ones are in */
  double end = now_s() + 30;
  while (distinct_commits(t) < 40) {
    if (now_s() > end) fail_msg("timeout: %d commits", distinct_commits(t));
    if (pgx_stream_poll(s, 50, &err) != FLOE_OK) fail_msg("%s", err.msg);
    check_confirmed(f);
  }
  assert_true(t->restarts >= 2);
  /* it restarted at the durable position, and sent nothing at or below */
  uint64_t at = t->restart_lsn[1];
  assert_true(at > f->slot_lsn && at <= t->max_durable);
  int first_after = t->restart_commit[1];
  assert_true(first_after < t->ncommits);
  assert_true(t->commits[first_after] > at);
  /* what came before the restart point was all below it */
  for (int i = 0; i < first_after; i++)
    assert_true(t->commits[i] <= t->commits[19]);
  assert_int_equal(distinct_commits(t), 40);
  pgx_stream_stats st;
  pgx_stream_get_stats(s, &st);
  assert_true(st.reconnects >= 1);
  assert_true(strlen(st.last_error) > 0);
  t_expect(f->sql, "SELECT count(*) FROM s_t", "40");
  pgx_stream_stop(s, 5000, &err);
  pgx_stream_free(s);
}

/* The server restarts (refusing connections for a while): the stream backs
 * off, comes back, and nothing is lost. */
static void test_reconnect_after_server_restart(void **state) {
  fixture *f = *state;
  const char *restart = getenv("FLOE_PG_RESTART");
  if (!restart) skip();
  tctx *t = &f->t;
  t->lag = 0;
  t->follow_keepalive = true;
  pgx_stream_opts o = {0};
  pgx_stream *s = open_stream(f, &o);
  insert_txns(f, 0, 5, 1);
  poll_commits(f, s, 5, 20);
  floe_error err;
  assert_int_equal(pgx_stream_send_status(s, false, &err), FLOE_OK);
  pgx_conn_close(f->sql);
  run_polling(restart, &s, 1);
  assert_non_null(s);
  f->sql = t_open(PGX_CONN_SQL);
  insert_txns(f, 5, 5, 1);
  poll_commits(f, s, 10, 60);
  pgx_stream_stats st;
  pgx_stream_get_stats(s, &st);
  assert_true(st.reconnects >= 1);
  assert_true(t->restarts >= 2);
  pgx_stream_stop(s, 5000, &err);
  pgx_stream_free(s);
}

/* While the server is down the stream retries with a doubling delay up to
 * the cap, gives up after max_retries when asked to, and comes back when
 * the server does. */
static void test_backoff_while_down(void **state) {
  fixture *f = *state;
  const char *stop = getenv("FLOE_PG_STOP"), *start = getenv("FLOE_PG_START");
  if (!stop || !start) skip();
  floe_error err;
  pgx_conn *repl = t_open(PGX_CONN_REPLICATION);
  pgx_slot s2;
  assert_int_equal(pgx_slot_create(repl, "floe_st_giveup", false, &s2, &err),
                   FLOE_OK);
  pgx_conn_close(repl);
  tctx t2 = {.lag = 0, .follow_keepalive = true};
  pgx_stream_cbs cbs = CBS;
  cbs.ctx = &t2;
  pgx_stream_opts o2 = {.conninfo = "",
                        .slot = "floe_st_giveup",
                        .publication = PUB,
                        .backoff_min_ms = 50,
                        .backoff_max_ms = 100,
                        .max_retries = 2};
  pgx_stream *giveup = NULL;
  assert_int_equal(pgx_stream_open(&o2, &cbs, &giveup, &err), FLOE_OK);

  /* the host behaviour the README describes: keepalives advance durable
   * when nothing is in flight */
  f->t.lag = 0;
  f->t.follow_keepalive = true;
  pgx_stream_opts o = {.backoff_min_ms = 50, .backoff_max_ms = 400};
  pgx_stream *s = open_stream(f, &o);
  insert_txns(f, 0, 1, 1);
  poll_commits(f, s, 1, 20);
  pgx_conn_close(f->sql);
  pgx_stream *both[] = {s, giveup};
  run_polling(stop, both, 2);
  double end = now_s() + 2.0;
  while (now_s() < end) assert_int_equal(pgx_stream_poll(s, 50, &err), FLOE_OK);
  pgx_stream_stats st;
  pgx_stream_get_stats(s, &st);
  assert_false(st.connected);
  /* 50, 100, 200, 400, 400, ...: a handful in 2 s, not dozens */
  if (st.failed_attempts < 3 || st.failed_attempts > 15)
    fail_msg("%d failed attempts in 2 s", st.failed_attempts);
  assert_int_equal(st.retry_in_ms, 400);
  assert_true(strlen(st.last_error) > 0);
  /* the other stream gave up after two failed attempts */
  floe_status gs;
  end = now_s() + 5;
  while ((gs = pgx_stream_poll(giveup, 50, &err)) == FLOE_OK)
    assert_true(now_s() < end);
  pgx_stream_get_stats(giveup, &st);
  assert_int_equal(st.failed_attempts, 2);
  pgx_stream_free(giveup);

  run_polling(start, NULL, 0);
  f->sql = t_open(PGX_CONN_SQL);
  insert_txns(f, 1, 1, 1);
  poll_commits(f, s, 2, 30);
  pgx_stream_get_stats(s, &st);
  assert_true(st.connected);
  assert_int_equal(st.failed_attempts, 0);
  assert_true(st.reconnects >= 1);
  pgx_stream_stop(s, 5000, &err);
  pgx_stream_free(s);
  pgx_slot_drop(f->sql, "floe_st_giveup", NULL, &err);
}

/* A transaction larger than logical_decoding_work_mem arrives streamed
 * (Stream Start/Stop/Commit) since the stream asks for streaming. */
static void test_streamed_transaction(void **state) {
  fixture *f = *state;
  t_exec(f->sql, "ALTER SYSTEM SET logical_decoding_work_mem = '64kB'");
  t_exec(f->sql, "SELECT pg_reload_conf()");
  pgx_stream_opts o = {0};
  pgx_stream *s = open_stream(f, &o);
  insert_txns(f, 0, 1, 5000);
  poll_commits(f, s, 1, 30);
  tctx *t = &f->t;
  assert_int_equal(t->counts['c'], 1);
  assert_true(t->counts['S'] >= 1);
  assert_int_equal(t->counts['S'], t->counts['E']);
  assert_int_equal(t->counts['I'], 5000);
  assert_int_equal(t->counts['B'], 0);
  floe_error err;
  pgx_stream_stop(s, 5000, &err);
  pgx_stream_free(s);
  t_exec(f->sql, "ALTER SYSTEM RESET logical_decoding_work_mem");
  t_exec(f->sql, "SELECT pg_reload_conf()");
}

/* Errors a retry cannot cure end the stream; the host's own errors come
 * back from poll without breaking the stream. */
static void test_errors(void **state) {
  fixture *f = *state;
  floe_error err;
  pgx_stream *s = NULL;
  pgx_stream_cbs cbs = CBS;
  cbs.ctx = &f->t;
  pgx_stream_opts o = {
      .conninfo = "", .slot = "floe_nosuch", .publication = PUB};
  assert_int_not_equal(pgx_stream_open(&o, &cbs, &s, &err), FLOE_OK);
  assert_null(s);
  assert_non_null(strstr(err.msg, "floe_nosuch"));

  /* a publication that does not exist fails at the first change */
  o.slot = f->slot;
  o.publication = "no_such_pub";
  o.backoff_min_ms = 10;
  assert_int_equal(pgx_stream_open(&o, &cbs, &s, &err), FLOE_OK);
  insert_txns(f, 0, 1, 1);
  double end = now_s() + 20;
  floe_status st;
  while ((st = pgx_stream_poll(s, 50, &err)) == FLOE_OK)
    assert_true(now_s() < end);
  assert_non_null(strstr(err.msg, "no_such_pub"));
  /* final: polling again gives the same error at once */
  assert_int_equal(pgx_stream_poll(s, 1000, &err), st);
  pgx_stream_free(s);

  /* the host refuses a message: poll reports it, the stream goes on */
  s = open_stream(f, &(pgx_stream_opts){0});
  f->t.fail_next = true;
  end = now_s() + 20;
  while ((st = pgx_stream_poll(s, 50, &err)) == FLOE_OK)
    assert_true(now_s() < end);
  assert_int_equal(st, FLOE_EINVAL);
  assert_string_equal(err.msg, "host refuses this message");
  pgx_stream_stop(s, 5000, &err);
  pgx_stream_free(s);
}

/* Keepalives answered: with a short wal_sender_timeout an idle stream
 * stays connected only if replies go out. */
static void test_idle_keepalive(void **state) {
  fixture *f = *state;
  t_exec(f->sql, "ALTER SYSTEM SET wal_sender_timeout = '2s'");
  t_exec(f->sql, "SELECT pg_reload_conf()");
  pgx_stream_opts o = {.status_interval_ms = 10000};
  pgx_stream *s = open_stream(f, &o);
  floe_error err;
  double end = now_s() + 5;
  while (now_s() < end)
    assert_int_equal(pgx_stream_poll(s, 100, &err), FLOE_OK);
  pgx_stream_stats st;
  pgx_stream_get_stats(s, &st);
  assert_true(st.connected);
  assert_int_equal(st.reconnects, 0);
  assert_true(st.keepalives >= 1);
  assert_true(f->t.keepalive_end > 0);
  pgx_stream_stop(s, 5000, &err);
  pgx_stream_free(s);
  t_exec(f->sql, "ALTER SYSTEM RESET wal_sender_timeout");
  t_exec(f->sql, "SELECT pg_reload_conf()");
}

static void test_framing(void **state) {
  (void)state;
  uint8_t w[25 + 3] = {'w'};
  for (int i = 0; i < 8; i++) {
    w[1 + i] = (uint8_t)(0x11 * (i + 1));
    w[9 + i] = (uint8_t)i;
    w[17 + i] = (uint8_t)(0xf0 | i);
  }
  memcpy(w + 25, "Bxy", 3);
  pgx_frame fr;
  floe_error err;
  assert_int_equal(pgx_frame_decode(w, sizeof w, &fr, &err), FLOE_OK);
  assert_int_equal(fr.kind, 'w');
  assert_true(fr.wal_start == 0x1122334455667788ull);
  assert_true(fr.wal_end == 0x0001020304050607ull);
  assert_true((uint64_t)fr.send_time == 0xf0f1f2f3f4f5f6f7ull);
  assert_int_equal(fr.len, 3);
  assert_memory_equal(fr.data, "Bxy", 3);
  /* an empty payload is fine; a short header is not */
  assert_int_equal(pgx_frame_decode(w, 25, &fr, &err), FLOE_OK);
  assert_int_equal(fr.len, 0);
  for (size_t n = 0; n < 25; n++)
    assert_int_equal(pgx_frame_decode(w, n, &fr, &err), FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "offset"));

  uint8_t k[18] = {'k', 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 9, 1};
  assert_int_equal(pgx_frame_decode(k, 18, &fr, &err), FLOE_OK);
  assert_int_equal(fr.kind, 'k');
  assert_true(fr.wal_end == 0x102);
  assert_true(fr.send_time == 9);
  assert_true(fr.reply);
  k[17] = 0;
  assert_int_equal(pgx_frame_decode(k, 18, &fr, &err), FLOE_OK);
  assert_false(fr.reply);
  for (size_t n = 0; n < 18; n++)
    assert_int_equal(pgx_frame_decode(k, n, &fr, &err), FLOE_ECORRUPT);
  uint8_t k2[19];
  memcpy(k2, k, 18);
  assert_int_equal(pgx_frame_decode(k2, 19, &fr, &err), FLOE_ECORRUPT);
  uint8_t bad[] = {'x', 0};
  assert_int_equal(pgx_frame_decode(bad, 2, &fr, &err), FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "unknown type 0x78"));

  uint8_t r[34];
  pgx_frame_status(r, 0x0102030405060708ull, 0x10, 0x20, -2, true);
  const uint8_t want[34] = {
      'r',  1,    2,    3,    4,    5,    6,    7,    8,    0, 0, 0,
      0,    0,    0,    0,    0x10, 0,    0,    0,    0,    0, 0, 0,
      0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 1};
  assert_memory_equal(r, want, 34);
}

int main(void) {
  if (t_skip_unless_server()) return 77;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_framing),
      cmocka_unit_test_setup_teardown(test_counts_and_feedback, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_reconnect_after_terminate, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_streamed_transaction, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idle_keepalive, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reconnect_after_server_restart,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_backoff_while_down, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
