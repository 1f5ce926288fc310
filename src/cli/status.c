/* `floe status`: the daemon's per-table state, as a table or JSON. */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/remote.h"
#include "cli/rows.h"
#include "floe/floe.h"

static const char status_help[] =
    "usage: floe status [options] [SCHEMA.TABLE ...]\n"
    "\n"
    "Shows the state of every table the running `floe mirror` mirrors (or\n"
    "of the tables named): state, live rows, applied and durable LSN, lag,\n"
    "change rate, data files, deletion vectors, memory and the last error.\n"
    "\n"
    "Options:\n"
    "  --json          print one JSON object (below) instead of a table\n"
    "  --watch         refresh every second until interrupted (a terminal is\n"
    "                  redrawn; otherwise one table, or one JSON object per\n"
    "                  line, per refresh)\n"
    "  --count N       with --watch: stop after N refreshes\n"
    "  --socket PATH   the daemon's socket (default: $FLOE_SOCKET, else the\n"
    "                  default socket of mirror --name)\n"
    "  --name NAME     the mirror's name, for the default socket (floe)\n"
    "  -h, --help      show this help and exit\n"
    "\n"
    "Columns: TABLE; STATE (running, snapshotting, error, ... as the daemon\n"
    "says); ROWS live rows; APPLIED the LSN up to which every source commit\n"
    "is readable; DURABLE the LSN up to which every commit is in an Iceberg\n"
    "snapshot (what the replication slot confirms); LAG the source's WAL\n"
    "position minus APPLIED, LAG_MS the age of the oldest change not yet\n"
    "applied; CHG/S rows inserted + deleted per second, recently; FILES live\n"
    "data files; DVS files with deleted rows; MEM the table's row memory;\n"
    "ERROR the last error, if any.\n"
    "\n"
    "--json prints {\"server\", \"floe_version\", \"uptime_ms\",\n"
    "\"memory_bytes\", \"memory_limit\", \"tables\": [...]} where each table\n"
    "has name, state, rows, applied_lsn and durable_lsn (text, e.g.\n"
    "\"0/16B3748\"), lag_bytes, lag_ms, changes_per_sec, changes,\n"
    "data_files, deletion_vectors, memory_bytes, open_txns, snapshots,\n"
    "commits, last_commit_ms and last_error (null when none).\n"
    "\n"
    "Exit status: 0 success; 1 failure (no such table, a broken\n"
    "connection); 2 usage error; 3 no daemon listens on the socket.\n";

/* "1.5 MiB" style, for a person. */
static void human_bytes(int64_t v, char *buf, size_t n) {
  static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double d = (double)v;
  int u = 0;
  while (d >= 1024 && u < 4) {
    d /= 1024;
    u++;
  }
  if (u == 0)
    snprintf(buf, n, "%" PRId64 " B", v);
  else
    snprintf(buf, n, "%.1f %s", d, unit[u]);
}

static floe_status print_table(const rpc_status_ok *s, fbuf *o,
                               floe_error *err) {
  char up[32];
  snprintf(up, sizeof up, "%" PRId64 "s", s->uptime_ms / 1000);
  char mem[32], lim[32];
  human_bytes(s->memory_bytes, mem, sizeof mem);
  human_bytes(s->memory_limit, lim, sizeof lim);
  FLOE_TRY(fbuf_printf(
      o, err, "mirror %s: up %s, memory %s of %s, %u table%s\n", s->server, up,
      mem, lim, (unsigned)s->ntables, s->ntables == 1 ? "" : "s"));
  int w = 5; /* widest table name */
  for (uint32_t i = 0; i < s->ntables; i++) {
    int l = (int)strlen(s->tables[i].name);
    if (l > w) w = l;
  }
  FLOE_TRY(fbuf_printf(o, err,
                       "%-*s  %-12s %12s %18s %18s %10s %8s %10s %6s %6s %10s  "
                       "%s\n",
                       w, "TABLE", "STATE", "ROWS", "APPLIED", "DURABLE", "LAG",
                       "LAG_MS", "CHG/S", "FILES", "DVS", "MEM", "ERROR"));
  for (uint32_t i = 0; i < s->ntables; i++) {
    const rpc_table_status *t = &s->tables[i];
    char a[24], d[24], lag[32], m[32];
    floe_lsn_format(t->applied_lsn, a);
    floe_lsn_format(t->durable_lsn, d);
    human_bytes((int64_t)t->lag_bytes, lag, sizeof lag);
    human_bytes(t->memory_bytes, m, sizeof m);
    FLOE_TRY(fbuf_printf(o, err,
                         "%-*s  %-12s %12" PRId64 " %18s %18s %10s %8" PRId64
                         " %10.1f %6" PRId64 " %6" PRId64 " %10s  %s\n",
                         w, t->name, t->state, t->rows, a, d, lag, t->lag_ms,
                         t->changes_per_sec, t->data_files, t->deletion_vectors,
                         m, t->last_error[0] ? t->last_error : "-"));
  }
  return FLOE_OK;
}

static floe_status print_json(const rpc_status_ok *s, fbuf *o,
                              floe_error *err) {
  json_t *root = json_object(), *tables = json_array();
  bool ok = root && tables;
  ok = ok && !json_object_set_new(root, "server", json_string(s->server));
  char v[32];
  snprintf(v, sizeof v, "%u.%u.%u", (unsigned)(s->floe_version >> 24),
           (unsigned)((s->floe_version >> 16) & 0xFF),
           (unsigned)(s->floe_version & 0xFFFF));
  ok = ok && !json_object_set_new(root, "floe_version", json_string(v));
  ok =
      ok && !json_object_set_new(root, "uptime_ms", json_integer(s->uptime_ms));
  ok = ok && !json_object_set_new(root, "memory_bytes",
                                  json_integer(s->memory_bytes));
  ok = ok && !json_object_set_new(root, "memory_limit",
                                  json_integer(s->memory_limit));
  for (uint32_t i = 0; ok && i < s->ntables; i++) {
    const rpc_table_status *t = &s->tables[i];
    char a[24], d[24];
    json_t *j = json_object();
    ok = j && !json_array_append_new(tables, j);
    if (!ok) {
      json_decref(j);
      break;
    }
    /* u64 counters past 2^63 do not occur; json_integer is signed */
    ok =
        !json_object_set_new(j, "name", json_string(t->name)) &&
        !json_object_set_new(j, "state", json_string(t->state)) &&
        !json_object_set_new(j, "rows", json_integer(t->rows)) &&
        !json_object_set_new(j, "applied_lsn",
                             json_string(floe_lsn_format(t->applied_lsn, a))) &&
        !json_object_set_new(j, "durable_lsn",
                             json_string(floe_lsn_format(t->durable_lsn, d))) &&
        !json_object_set_new(j, "lag_bytes",
                             json_integer((json_int_t)t->lag_bytes)) &&
        !json_object_set_new(j, "lag_ms", json_integer(t->lag_ms)) &&
        !json_object_set_new(j, "changes_per_sec",
                             json_real(t->changes_per_sec)) &&
        !json_object_set_new(j, "changes",
                             json_integer((json_int_t)t->changes)) &&
        !json_object_set_new(j, "data_files", json_integer(t->data_files)) &&
        !json_object_set_new(j, "deletion_vectors",
                             json_integer(t->deletion_vectors)) &&
        !json_object_set_new(j, "memory_bytes",
                             json_integer(t->memory_bytes)) &&
        !json_object_set_new(j, "open_txns", json_integer(t->open_txns)) &&
        !json_object_set_new(j, "snapshots", json_integer(t->snapshots)) &&
        !json_object_set_new(j, "commits",
                             json_integer((json_int_t)t->commits)) &&
        !json_object_set_new(j, "last_commit_ms",
                             json_integer(t->last_commit_ms)) &&
        !json_object_set_new(j, "last_error",
                             t->last_error[0] ? json_string(t->last_error)
                                              : json_null());
  }
  ok = ok && !json_object_set_new(root, "tables", tables);
  if (!ok) json_decref(tables);
  char *text = ok ? json_dumps(root, JSON_COMPACT) : NULL;
  json_decref(root);
  if (!text) return ferr_set(err, FLOE_ENOMEM, "status: building JSON failed");
  floe_status st = fbuf_printf(o, err, "%s\n", text);
  free(text);
  return st;
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

int cli_status_main(int argc, char **argv) {
  static const char cmd[] = "floe status";
  const char *socket = NULL, *name = NULL, *count = NULL;
  bool json = false, watch = false;
  cli_opt opts[] = {
      {"--json", false, NULL, &json},  {"--watch", false, NULL, &watch},
      {"--count", true, &count, NULL}, {"--socket", true, &socket, NULL},
      {"--name", true, &name, NULL},
  };
  const char *pos[64];
  int npos;
  int rc = cli_command_args(cmd, status_help, argc, argv, opts,
                            sizeof opts / sizeof *opts, pos, 0, 64, &npos, "");
  if (rc >= 0) return rc;
  long n = -1;
  if (count) {
    char *end;
    n = strtol(count, &end, 10);
    if (*end || end == count || n < 1)
      return cli_usage_error(cmd, "--count: '%s' is not a positive number",
                             count);
    if (!watch) return cli_usage_error(cmd, "--count needs --watch");
  }
  floe_error err;
  ferr_clear(&err);
  char path[256];
  floe_status st = cli_socket_path(socket, name, path, sizeof path, &err);
  rpc_client *c = NULL;
  if (!st) st = cli_connect(path, NULL, CLI_RPC_TIMEOUT_MS, &c, &err);
  bool tty = isatty(STDOUT_FILENO);
  farena ar;
  farena_init(&ar, 4096, 0);
  fbuf o = FBUF_INIT;
  for (long i = 0; !st && (n < 0 || i < n); i++) {
    if (i) sleep_ms(1000);
    farena_reset(&ar);
    rpc_msg req = {.type = RPC_STATUS}, rep;
    req.u.status = (rpc_status){(uint32_t)npos, pos};
    st = rpc_client_call(c, &req, &ar, &rep, &err);
    if (st) break;
    fbuf_reset(&o);
    if (watch && tty && !json) st = fbuf_printf(&o, &err, "\033[H\033[2J");
    if (watch && !tty && !json && i) st = fbuf_printf(&o, &err, "\n");
    if (!st)
      st = json ? print_json(&rep.u.status_ok, &o, &err)
                : print_table(&rep.u.status_ok, &o, &err);
    if (!st) st = cli_out_flush(&o, &err);
    if (!st) st = cli_out_end(&err);
    if (!watch) break;
  }
  fbuf_free(&o);
  farena_free(&ar);
  rpc_client_close(c);
  return st ? cli_fail_remote(st, &err) : CLI_EXIT_OK;
}
