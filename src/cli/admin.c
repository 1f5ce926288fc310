/* The thin daemon commands: snapshot, optimize, add-table, drop-table,
 * tables. Each is one request (remote.h); the daemon does the work. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/remote.h"
#include "floe/floe.h"

#define SOCKET_HELP                                                            \
  "  --socket PATH   the daemon's socket (default: $FLOE_SOCKET, else the\n"   \
  "                  default socket of mirror --name)\n"                       \
  "  --name NAME     the mirror's name, for the default socket (floe)\n"

#define EXIT_HELP                                                              \
  "Exit status: 0 success; 1 failure (the daemon's reason on stderr);\n"       \
  "2 usage error; 3 no daemon listens on the socket.\n"

static const char snapshot_help[] =
    "usage: floe snapshot [options] [SCHEMA.TABLE]\n"
    "\n"
    "Makes the daemon commit everything it has applied of the table (every\n"
    "table when none is named) to Iceberg now, instead of at the next\n"
    "commit interval, and prints the durable LSN (every source commit up to\n"
    "it is in an Iceberg snapshot) and, for one table, the id of its current\n"
    "Iceberg snapshot.\n"
    "\n"
    "Options:\n"
    "  --timeout DUR   how long to wait for the commit (default "
    "5min)\n" SOCKET_HELP "  -h, --help      show this help and exit\n"
    "\n"
    "Example:\n"
    "  floe snapshot public.orders   # prints: public.orders durable at "
    "0/16B3748,\n"
    "                                # Iceberg snapshot 8370135261543216170\n"
    "\n" EXIT_HELP;

static const char optimize_help[] =
    "usage: floe optimize [options] SCHEMA.TABLE\n"
    "\n"
    "Runs a compaction pass on the table now: small data files are merged\n"
    "and files with many deleted rows rewritten (the thresholds of\n"
    "docs/config.md); prints the data file count before and after.\n"
    "\n"
    "Options:\n"
    "  --force         merge every small file and rewrite every file with\n"
    "                  deletes, whatever the thresholds say\n"
    "  --timeout DUR   how long to wait for it (default 1h)\n" SOCKET_HELP
    "  -h, --help      show this help and exit\n"
    "\n" EXIT_HELP;

static const char add_help[] =
    "usage: floe add-table [options] SCHEMA.TABLE\n"
    "\n"
    "Starts mirroring another table without stopping the others. The daemon\n"
    "registers it, takes its initial copy in the background and then\n"
    "follows its changes; watch its state with 'floe status'.\n"
    "\n"
    "Options:\n"
    "  --set KEY=VALUE[,KEY=VALUE...]\n"
    "                  engine settings for this table, by their names in\n"
    "                  docs/config.md (e.g. --set "
    "commit-interval-ms=500ms,batch-rows=8192)\n" SOCKET_HELP
    "  -h, --help      show this help and exit\n"
    "\n"
    "Exit status: 0 success; 1 failure (e.g. already mirrored, no such\n"
    "table in the source, an unknown setting); 2 usage error; 3 no daemon\n"
    "listens on the socket.\n";

static const char drop_help[] =
    "usage: floe drop-table [options] SCHEMA.TABLE\n"
    "\n"
    "Stops mirroring a table; the others go on. Its Iceberg table stays in\n"
    "the warehouse (readable with 'floe scan --warehouse') unless --purge.\n"
    "\n"
    "Options:\n"
    "  --purge         also delete the Iceberg table and its "
    "files\n" SOCKET_HELP "  -h, --help      show this help and exit\n"
    "\n" EXIT_HELP;

static const char tables_help[] =
    "usage: floe tables [options]\n"
    "\n"
    "Lists the mirrored tables, one per line: SCHEMA.TABLE, a tab, its\n"
    "state (running, snapshotting, error, ...).\n"
    "\n"
    "Options:\n" SOCKET_HELP "  -h, --help      show this help and exit\n"
    "\n" EXIT_HELP;

/* Parses the common options plus extra ones; *rc gets an exit code when
 * the command must stop (help or usage error). */
typedef struct common {
  const char *socket, *name, *timeout;
  const char *pos[1];
  int npos;
  int64_t timeout_ms;
  char path[256];
} common;

static bool parse(const char *cmd, const char *help, int argc, char **argv,
                  cli_opt *extra, int nextra, common *c, int maxpos, int minpos,
                  bool has_timeout, int64_t def_timeout, int *rc) {
  cli_opt opts[8];
  int n = 0;
  opts[n++] = (cli_opt){"--socket", true, &c->socket, NULL};
  opts[n++] = (cli_opt){"--name", true, &c->name, NULL};
  if (has_timeout) opts[n++] = (cli_opt){"--timeout", true, &c->timeout, NULL};
  for (int i = 0; i < nextra; i++) opts[n++] = extra[i];
  *rc = cli_command_args(cmd, help, argc, argv, opts, n, c->pos, minpos, maxpos,
                         &c->npos, "SCHEMA.TABLE");
  if (*rc >= 0) return false;
  if (c->npos) {
    const char *dot = strchr(c->pos[0], '.');
    if (!dot || dot == c->pos[0] || !dot[1]) {
      *rc = cli_usage_error(cmd, "'%s' is not SCHEMA.TABLE", c->pos[0]);
      return false;
    }
  }
  c->timeout_ms = def_timeout;
  if (c->timeout && !cli_parse_ms(c->timeout, &c->timeout_ms)) {
    *rc = cli_usage_error(cmd, "--timeout: '%s' is not a duration like 30s",
                          c->timeout);
    return false;
  }
  floe_error err;
  if (cli_socket_path(c->socket, c->name, c->path, sizeof c->path, &err)) {
    *rc = cli_usage_error(cmd, "%s", err.msg);
    return false;
  }
  return true;
}

/* Runs req; prints the failure or hands the reply to the caller. */
static int call(common *c, rpc_msg *req, farena *a, rpc_msg *rep) {
  floe_error err;
  ferr_clear(&err);
  floe_status st = cli_call(c->path, c->timeout_ms, req, a, rep, &err);
  return st ? cli_fail_remote(st, &err) : -1;
}

int cli_snapshot_main(int argc, char **argv) {
  static const char cmd[] = "floe snapshot";
  common c = {0};
  int rc;
  if (!parse(cmd, snapshot_help, argc, argv, NULL, 0, &c, 1, 0, true, 300000,
             &rc))
    return rc;
  farena a;
  farena_init(&a, 1024, 0);
  rpc_msg req = {.type = RPC_COMMIT}, rep;
  req.u.table = (rpc_table_req){c.npos ? c.pos[0] : "", 0};
  rc = call(&c, &req, &a, &rep);
  if (rc < 0) {
    char l[24];
    printf("%s durable at %s", c.npos ? c.pos[0] : "every table",
           floe_lsn_format(rep.u.commit_ok.durable_lsn, l));
    if (rep.u.commit_ok.snapshot_id >= 0)
      printf(", Iceberg snapshot %lld", (long long)rep.u.commit_ok.snapshot_id);
    putchar('\n');
    rc = CLI_EXIT_OK;
  }
  farena_free(&a);
  return rc;
}

int cli_optimize_main(int argc, char **argv) {
  static const char cmd[] = "floe optimize";
  common c = {0};
  bool force = false;
  cli_opt extra[] = {{"--force", false, NULL, &force}};
  int rc;
  if (!parse(cmd, optimize_help, argc, argv, extra, 1, &c, 1, 1, true, 3600000,
             &rc))
    return rc;
  farena a;
  farena_init(&a, 1024, 0);
  rpc_msg req = {.type = RPC_OPTIMIZE}, rep;
  req.u.table = (rpc_table_req){c.pos[0], force ? RPC_OPTIMIZE_FORCE : 0};
  rc = call(&c, &req, &a, &rep);
  if (rc < 0) {
    printf("%s: %" PRId64 " data files before, %" PRId64 " after\n", c.pos[0],
           rep.u.optimize_ok.files_before, rep.u.optimize_ok.files_after);
    rc = CLI_EXIT_OK;
  }
  farena_free(&a);
  return rc;
}

int cli_add_table_main(int argc, char **argv) {
  static const char cmd[] = "floe add-table";
  common c = {0};
  const char *set = NULL;
  cli_opt extra[] = {{"--set", true, &set, NULL}};
  int rc;
  if (!parse(cmd, add_help, argc, argv, extra, 1, &c, 1, 1, false,
             CLI_RPC_TIMEOUT_MS, &rc))
    return rc;
  char *list = set ? strdup(set) : NULL;
  size_t cap = set ? strlen(set) / 2 + 1 : 1;
  rpc_option *o = malloc(cap * sizeof *o);
  if ((set && !list) || !o) {
    free(list);
    free(o);
    fputs("floe: out of memory\n", stderr);
    return CLI_EXIT_FAIL;
  }
  uint32_t n = 0;
  rc = -1;
  for (char *p = list; p && rc < 0;) {
    char *comma = strchr(p, ',');
    if (comma) *comma = '\0';
    char *eq = strchr(p, '=');
    if (!eq || eq == p) {
      rc = cli_usage_error(cmd, "--set: '%s' is not KEY=VALUE", p);
      break;
    }
    *eq = '\0';
    o[n++] = (rpc_option){p, eq + 1};
    p = comma ? comma + 1 : NULL;
  }
  if (rc < 0) {
    farena a;
    farena_init(&a, 1024, 0);
    rpc_msg req = {.type = RPC_ADD_TABLE}, rep;
    req.u.add_table = (rpc_add_table){c.pos[0], n, o};
    rc = call(&c, &req, &a, &rep);
    if (rc < 0) {
      printf("%s added: its initial copy runs in the background ('floe "
             "status' shows its state)\n",
             c.pos[0]);
      rc = CLI_EXIT_OK;
    }
    farena_free(&a);
  }
  free(list);
  free(o);
  return rc;
}

int cli_drop_table_main(int argc, char **argv) {
  static const char cmd[] = "floe drop-table";
  common c = {0};
  bool purge = false;
  cli_opt extra[] = {{"--purge", false, NULL, &purge}};
  int rc;
  if (!parse(cmd, drop_help, argc, argv, extra, 1, &c, 1, 1, false,
             CLI_RPC_TIMEOUT_MS, &rc))
    return rc;
  farena a;
  farena_init(&a, 1024, 0);
  rpc_msg req = {.type = RPC_DROP_TABLE}, rep;
  req.u.drop_table = (rpc_drop_table){c.pos[0], purge ? RPC_DROP_PURGE : 0};
  rc = call(&c, &req, &a, &rep);
  if (rc < 0) {
    printf("%s dropped%s\n", c.pos[0],
           purge ? " and its Iceberg table deleted"
                 : " (its Iceberg table stays in the warehouse)");
    rc = CLI_EXIT_OK;
  }
  farena_free(&a);
  return rc;
}

int cli_tables_main(int argc, char **argv) {
  static const char cmd[] = "floe tables";
  common c = {0};
  int rc;
  if (!parse(cmd, tables_help, argc, argv, NULL, 0, &c, 0, 0, false,
             CLI_RPC_TIMEOUT_MS, &rc))
    return rc;
  farena a;
  farena_init(&a, 1024, 0);
  rpc_msg req = {.type = RPC_LIST_TABLES}, rep;
  rc = call(&c, &req, &a, &rep);
  if (rc < 0) {
    for (uint32_t i = 0; i < rep.u.list_tables_ok.ntables; i++)
      printf("%s\t%s\n", rep.u.list_tables_ok.tables[i].name,
             rep.u.list_tables_ok.tables[i].state);
    rc = fflush(stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
  }
  farena_free(&a);
  return rc;
}
