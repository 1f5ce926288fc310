/*
 * A stand-in daemon for shell tests: the real RPC/metrics server loop
 * (src/server) with a fixed, fake handler table (two tables, a status, read
 * states that pin nothing, a scan of a few CSV lines). It shows what the
 * host owns: the signal handler (SIGTERM/SIGINT -> srv_stop) and the
 * thread (this one) that runs the loop.
 *
 * usage: fake_daemon SOCKET [METRICS_ADDR]
 * Prints "ready metrics_port=N" on stdout once listening; exits 0 after a
 * clean stop (the socket file removed).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "server/server.h"

static srv_server *g_srv; /* the signal handler's only way in */

static void on_signal(int sig) {
  (void)sig;
  if (g_srv) srv_stop(g_srv); /* async-signal-safe */
}

static rpc_table_status rows[2] = {
    {"public.a", "running", 1000, 0x16B3748, 0x16B3700, 72, 5, 250.5, 9000, 4,
     1, 1 << 20, 0, 7, 3, 1732500000123, ""},
    {"public.b", "error", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
     "replication slot missing"}};

static floe_status f_list(void *ctx, srv_call *call, floe_error *err) {
  (void)ctx, (void)err;
  static rpc_table_entry t[2] = {{"public.a", "running"},
                                 {"public.b", "error"}};
  call->reply.u.list_tables_ok = (rpc_list_tables_ok){2, t};
  return FLOE_OK;
}

static floe_status f_status(void *ctx, srv_call *call, floe_error *err) {
  (void)ctx, (void)err;
  call->reply.u.status_ok = (rpc_status_ok){
      "fake", floe_version(), 1000, 1 << 20, 512 << 20, 2, rows};
  return FLOE_OK;
}

static floe_status f_read_state(void *ctx, srv_call *call, floe_error *err) {
  (void)ctx;
  if (call->req->u.read_state.min_lsn > 0x16B3748)
    return ferr_set(err, FLOE_ETIMEDOUT, "LSN not reached");
  call->reply.u.read_state_ok.lsn = 0x16B3748;
  call->reply.u.read_state_ok.rows = 2;
  return FLOE_OK;
}

static floe_status s_next(void *ctx, fbuf *out, size_t max, bool *done,
                          rpc_end *end, floe_error *err) {
  (void)ctx, (void)max;
  *done = true;
  end->rows = 2;
  end->lsn = 0x16B3748;
  return fbuf_append(out, "id,name\n1,a\n2,b\n", 16, err);
}

static floe_status f_scan(void *ctx, srv_call *call, floe_error *err) {
  (void)ctx, (void)err;
  call->stream = (srv_stream){NULL, s_next, NULL};
  return FLOE_OK;
}

static floe_status f_health(void *ctx, floe_error *err) {
  (void)ctx, (void)err;
  return FLOE_OK;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: fake_daemon SOCKET [METRICS_ADDR]\n");
    return 2;
  }
  srv_config cfg;
  srv_config_init(&cfg);
  cfg.socket_path = argv[1];
  cfg.metrics_addr = argc == 3 ? argv[2] : NULL;
  cfg.name = "fake";
  flog lg = {FLOG_INFO, NULL, NULL};
  cfg.log = &lg;
  srv_handlers h = {.list_tables = f_list,
                    .status = f_status,
                    .read_state = f_read_state,
                    .scan = f_scan,
                    .health = f_health};
  floe_error err;
  if (srv_open(&cfg, &h, &g_srv, &err) != FLOE_OK) {
    fprintf(stderr, "fake_daemon: %s\n", err.msg);
    return 1;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready metrics_port=%d\n", srv_metrics_port(g_srv));
  fflush(stdout);
  floe_status st = srv_run(g_srv, &err);
  if (st != FLOE_OK) fprintf(stderr, "fake_daemon: %s\n", err.msg);
  srv_close(g_srv);
  g_srv = NULL;
  return st == FLOE_OK ? 0 : 1;
}
