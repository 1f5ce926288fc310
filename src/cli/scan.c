/* `floe scan`: a table's rows through the daemon (fresh: memory + Iceberg)
 * or, with --warehouse, straight from its last Iceberg snapshot. Both paths
 * end in the same renderer (columnar/render.h): the daemon renders on its
 * side and the bytes are copied to stdout as they come. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/remote.h"
#include "cli/rows.h"
#include "iceberg/table.h"
#include "server/daemon.h"

static const char scan_help[] =
    "usage: floe scan TABLE [options]\n"
    "\n"
    "Prints the rows of a mirrored table (SCHEMA.TABLE) to standard output.\n"
    "\n"
    "By default it asks the running `floe mirror` (over its socket) for a\n"
    "read state: the union of the rows in memory and in Iceberg, deletes\n"
    "applied, consistent at one source transaction boundary. With\n"
    "--warehouse it reads the table's last Iceberg snapshot directly from\n"
    "the warehouse instead (no daemon needed; rows committed to Postgres\n"
    "since that snapshot are not in it).\n"
    "\n"
    "Options:\n"
    "  --at-lsn LSN        read a state that includes every source commit up\n"
    "                      to LSN (Postgres text form, e.g. 0/16B3748: the\n"
    "                      result of pg_current_wal_lsn() after your commit);\n"
    "                      waits until the mirror has applied it\n"
    "  --latest            read a state that includes everything committed\n"
    "                      in the source when the request arrives (the\n"
    "                      daemon asks Postgres for its current WAL position)\n"
    "                      (default without either: whatever is applied now)\n"
    "  --timeout DUR       how long to wait for --at-lsn/--latest (default\n"
    "                      30s; ms, s, min, h units)\n"
    "  --columns A,B       print only these columns, in this order\n"
    "  --where-key K=V[,K2=V2]\n"
    "                      only rows whose columns equal these values (the\n"
    "                      key of the table; every key column for a\n"
    "                      composite key); values in floe's text form\n"
    "                      ('floe parquet write --help'): 42, 2024-02-29,\n"
    "                      a uuid, ...\n"
    "  --format FMT        csv (default), jsonl, parquet (one Parquet file) "
    "or\n"
    "                      arrow (an Arrow IPC stream); the binary ones\n"
    "                      only to a file or pipe, not a terminal\n"
    "  --socket PATH       the daemon's socket (default: $FLOE_SOCKET, else\n"
    "                      the default socket of mirror --name)\n"
    "  --name NAME         the mirror's name, for the default socket\n"
    "                      (default floe: $XDG_RUNTIME_DIR/floe-floe.sock,\n"
    "                      else /tmp/floe-floe.sock)\n"
    "  --warehouse DIR     read the last Iceberg snapshot in DIR instead of\n"
    "                      asking the daemon\n"
    "  --catalog CAT       with --warehouse: the catalog the mirror uses: fs\n"
    "                      (default), sqlite:PATH or postgres:CONNINFO\n"
    "  -h, --help          show this help and exit\n"
    "\n"
    "With --warehouse, --at-lsn checks that the snapshot covers LSN (its\n"
    "floe.source-lsn) and fails otherwise; --latest is not available.\n"
    "\n"
    "csv and jsonl are as 'floe parquet cat --help' describes them. The\n"
    "value texts round-trip: a CSV from 'floe scan' reads back with 'floe\n"
    "parquet write'.\n"
    "\n"
    "Read your writes:\n"
    "  lsn=$(psql -Atc \"INSERT INTO t VALUES (1); SELECT "
    "pg_current_wal_lsn()\")\n"
    "  floe scan public.t --at-lsn \"$lsn\" --where-key id=1\n"
    "\n"
    "Exit status: 0 success; 1 failure (no such table or column, a bad key\n"
    "value, a broken connection, unreadable files); 2 usage error; 3 no\n"
    "daemon listens on the socket; 4 the LSN was not applied within\n"
    "--timeout.\n";

/* ---- the daemon path ---- */

static floe_status to_stdout(void *ctx, const uint8_t *p, size_t n,
                             floe_error *err) {
  return cli_stdout_write(ctx, p, n, err);
}

typedef struct scan_args {
  const char *table;
  uint64_t lsn;
  bool latest;
  int64_t timeout_ms;
  const char **columns;
  int ncolumns;
  col_key_eq *keys;
  int nkeys;
  col_format fmt;
} scan_args;

static floe_status scan_remote(const char *path, const scan_args *a,
                               floe_error *err) {
  rpc_client *c = NULL;
  farena ar;
  farena_init(&ar, 1024, 0);
  floe_status st =
      cli_connect(path,
                  "pass --warehouse DIR to read the last Iceberg snapshot "
                  "directly",
                  CLI_RPC_TIMEOUT_MS, &c, err);
  rpc_msg req = {.type = RPC_READ_STATE}, rep;
  req.u.read_state = (rpc_read_state){a->table, a->lsn, a->timeout_ms,
                                      a->latest ? RPC_READ_LATEST : 0};
  if (!st) st = rpc_client_call(c, &req, &ar, &rep, err);
  uint64_t lease = st ? 0 : rep.u.read_state_ok.lease;
  rpc_key_eq *keys = NULL;
  if (!st && a->nkeys) {
    keys = farena_alloc(&ar, (size_t)a->nkeys * sizeof *keys, err);
    if (!keys) st = FLOE_ENOMEM;
    for (int k = 0; k < a->nkeys && !st; k++)
      keys[k] = (rpc_key_eq){a->keys[k].column, a->keys[k].value};
  }
  if (!st) {
    rpc_scan sc = {lease,      (uint16_t)a->fmt,   0,   (uint32_t)a->ncolumns,
                   a->columns, (uint32_t)a->nkeys, keys};
    rpc_end end;
    st = rpc_client_scan(c, &sc, to_stdout, NULL, &end, err);
    if (!st) st = cli_out_end(err);
    if (!st) {
      /* The lease ends with the connection anyway; releasing says so at
       * once instead of at its expiry. */
      rpc_msg rel = {.type = RPC_RELEASE}, rr;
      rel.u.lease.lease = lease;
      floe_error e2;
      (void)rpc_client_call(c, &rel, &ar, &rr, &e2);
    }
  }
  rpc_client_close(c);
  farena_free(&ar);
  return st;
}

/* ---- the direct path ---- */

/* The catalog URI for ice_catalog_open from --catalog (docs/config.md's
 * forms) and the warehouse. */
static const char *catalog_uri(const char *catalog, const char *warehouse) {
  if (!catalog || strcmp(catalog, "fs") == 0) return warehouse;
  if (strncmp(catalog, "postgres:", 9) == 0 && strncmp(catalog + 9, "//", 2))
    return catalog + 9; /* postgres:CONNINFO; postgres://... is a URI */
  return catalog;
}

static floe_status scan_direct(const char *warehouse, const char *catalog,
                               const scan_args *a, floe_error *err) {
  /* The daemon's rule (quoted parts, "" inside): its Iceberg namespace and
   * table are the source's schema and table as stored, so a name such as
   * "Sch ""1""".x must not be split at its first '.' nor keep its quotes. */
  char ns[64], tname[64];
  FLOE_TRY(dmn_table_name_parse(a->table, ns, tname, err));
  const char *uri = catalog_uri(catalog, warehouse);
  bool sql = uri != warehouse;
  ice_catalog *cat = NULL;
  ice_table *t = NULL;
  ice_plan *p = NULL;
  ice_scan *s = NULL;
  floe_status st =
      ice_catalog_open(uri, sql ? warehouse : NULL, NULL, &cat, err);
  if (!st) {
    st = ice_table_load(cat, ns, tname, &t, err);
    if (st == FLOE_ENOTFOUND)
      st = ferr_set(err, st,
                    "no table %s in %s (is the warehouse the one `floe "
                    "mirror --warehouse` writes to, and --catalog its "
                    "catalog?)",
                    a->table, catalog ? catalog : warehouse);
  }
  if (!st && a->lsn) {
    const ice_snapshot *snap =
        ice_metadata_current_snapshot(ice_table_metadata(t));
    const char *v = snap ? ice_kv_get(&snap->summary, "floe.source-lsn") : NULL;
    uint64_t have = v ? strtoull(v, NULL, 10) : 0;
    char want_s[24], have_s[24];
    if (have < a->lsn)
      st = ferr_set(err, FLOE_ETIMEDOUT,
                    "the last Iceberg snapshot of %s covers LSN %s, not %s: "
                    "ask the daemon (drop --warehouse) for a fresher read",
                    a->table, floe_lsn_format(have, have_s),
                    floe_lsn_format(a->lsn, want_s));
  }
  if (!st) st = ice_table_plan(t, ICE_NONE, &p, err);
  if (!st) st = ice_scan_open(t, p, NULL, 0, &s, err);
  if (!st) {
    col_render_opts ro = {.format = a->fmt,
                          .columns = a->columns,
                          .ncolumns = a->ncolumns,
                          .keys = a->keys,
                          .nkeys = a->nkeys};
    st = cli_render_ice_scan(s, &ro, err);
  }
  ice_scan_free(s);
  ice_plan_free(p);
  ice_table_free(t);
  ice_catalog_free(cat);
  return st;
}

/* Splits "k=v,k2=v2" in place (list is the caller's copy) into keys. */
static int split_keys(const char *cmd, char *list, col_key_eq **out, int *n) {
  size_t len = strlen(list);
  col_key_eq *k = malloc((len / 2 + 1) * sizeof *k);
  if (!k) {
    fputs("floe: out of memory\n", stderr);
    return CLI_EXIT_FAIL;
  }
  int cnt = 0;
  for (char *p = list;;) {
    char *comma = strchr(p, ',');
    if (comma) *comma = '\0';
    char *eq = strchr(p, '=');
    if (!eq || eq == p) {
      free(k);
      return cli_usage_error(cmd, "--where-key: '%s' is not COLUMN=VALUE", p);
    }
    *eq = '\0';
    k[cnt++] = (col_key_eq){p, eq + 1};
    if (!comma) break;
    p = comma + 1;
  }
  *out = k;
  *n = cnt;
  return -1;
}

int cli_scan_main(int argc, char **argv) {
  static const char cmd[] = "floe scan";
  const char *at = NULL, *timeout = NULL, *columns = NULL, *where = NULL,
             *format = NULL, *socket = NULL, *name = NULL, *warehouse = NULL,
             *catalog = NULL;
  bool latest = false;
  cli_opt opts[] = {
      {"--at-lsn", true, &at, NULL},
      {"--latest", false, NULL, &latest},
      {"--timeout", true, &timeout, NULL},
      {"--columns", true, &columns, NULL},
      {"--where-key", true, &where, NULL},
      {"--format", true, &format, NULL},
      {"--socket", true, &socket, NULL},
      {"--name", true, &name, NULL},
      {"--warehouse", true, &warehouse, NULL},
      {"--catalog", true, &catalog, NULL},
  };
  const char *pos[1];
  int npos;
  int rc = cli_command_args(cmd, scan_help, argc, argv, opts,
                            sizeof opts / sizeof *opts, pos, 1, 1, &npos,
                            "a TABLE (SCHEMA.TABLE)");
  if (rc >= 0) return rc;
  scan_args a;
  memset(&a, 0, sizeof a);
  a.table = pos[0];
  a.latest = latest;
  a.timeout_ms = CLI_RPC_TIMEOUT_MS;
  const char *dot = strchr(a.table, '.');
  if (!dot || dot == a.table || !dot[1])
    return cli_usage_error(cmd, "TABLE '%s' is not SCHEMA.TABLE", a.table);
  floe_error err;
  ferr_clear(&err);
  if (at && latest)
    return cli_usage_error(cmd, "--at-lsn and --latest exclude each other");
  if (at && floe_lsn_parse(at, &a.lsn, &err) != FLOE_OK)
    return cli_usage_error(cmd, "--at-lsn: %s", err.msg);
  if (timeout && !cli_parse_ms(timeout, &a.timeout_ms))
    return cli_usage_error(cmd, "--timeout: '%s' is not a duration like 30s",
                           timeout);
  if (warehouse && (socket || name))
    return cli_usage_error(cmd, "--warehouse reads files directly: it takes "
                                "no --socket or --name");
  if (catalog && !warehouse)
    return cli_usage_error(cmd, "--catalog needs --warehouse");
  if (warehouse && latest)
    return cli_usage_error(cmd, "--latest needs the daemon (the source's "
                                "position); drop --warehouse");
  char *wlist = NULL;
  cli_rows rows;
  rc = cli_rows_args(cmd, format, columns, &rows);
  a.fmt = rows.fmt;
  a.columns = rows.names;
  a.ncolumns = rows.ncolumns;
  if (rc < 0 && where) {
    wlist = strdup(where);
    if (!wlist) {
      fputs("floe: out of memory\n", stderr);
      rc = CLI_EXIT_FAIL;
    } else {
      rc = split_keys(cmd, wlist, &a.keys, &a.nkeys);
    }
  }
  if (rc < 0) {
    char path[256];
    floe_status st = FLOE_OK;
    if (warehouse)
      st = scan_direct(warehouse, catalog, &a, &err);
    else if (!(st = cli_socket_path(socket, name, path, sizeof path, &err)))
      st = scan_remote(path, &a, &err);
    rc = st ? cli_fail_remote(st, &err) : CLI_EXIT_OK;
  }
  cli_rows_free(&rows);
  free(wlist);
  free(a.keys);
  return rc;
}
