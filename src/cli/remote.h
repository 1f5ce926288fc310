/*
 * The commands that talk to a running `floe mirror` over its socket (scan,
 * status, snapshot, optimize, add-table, drop-table, tables): where the
 * socket is, connecting with errors that say what to do, and their extra
 * exit codes.
 */
#ifndef FLOE_CLI_REMOTE_H
#define FLOE_CLI_REMOTE_H

#include "server/client.h"

/* Exit codes beyond args.h's 0/1/2 (docs/cli.md lists them all). */
enum {
  CLI_EXIT_NO_DAEMON = 3, /* nothing listens on the socket */
  CLI_EXIT_TIMEOUT = 4,   /* the LSN was not applied within --timeout */
};

/* How long a command waits for the daemon's socket by default (ms). */
#define CLI_RPC_TIMEOUT_MS 30000

/* The socket to use: --socket when given, else $FLOE_SOCKET when set and
 * not empty, else the daemon's default for mirror name (NULL = "floe"):
 * $XDG_RUNTIME_DIR/floe-NAME.sock, else /tmp/floe-NAME.sock
 * (cfg_socket_default, as `floe mirror` picks it). */
floe_status cli_socket_path(const char *socket, const char *name, char *buf,
                            size_t n, floe_error *err);

/* Connects to the daemon at path. When nothing listens there, err says so
 * and what to do (hint: the alternative this command offers, e.g. "pass
 * --warehouse DIR to read the last Iceberg snapshot directly"; NULL: "pass
 * --socket PATH"). */
floe_status cli_connect(const char *path, const char *hint, int64_t timeout_ms,
                        rpc_client **out, floe_error *err);

/* "floe: <msg>" on stderr; the exit code for st (3 no daemon, 4 timed out,
 * else 1). */
int cli_fail_remote(floe_status st, const floe_error *err);

/* A text duration: "1500", "1500ms", "2s", "1m"/"1min", "1h" (cfg's
 * durations). Returns false when s is not one. */
bool cli_parse_ms(const char *s, int64_t *out);

/* Runs one request and prints nothing: the common body of the thin
 * commands. On failure the message is in err. */
floe_status cli_call(const char *path, int64_t timeout_ms, rpc_msg *req,
                     farena *a, rpc_msg *reply, floe_error *err);

/* The thin commands (each: argv[0] is the command's own name). */
int cli_scan_main(int argc, char **argv);
int cli_status_main(int argc, char **argv);
int cli_snapshot_main(int argc, char **argv);
int cli_optimize_main(int argc, char **argv);
int cli_add_table_main(int argc, char **argv);
int cli_drop_table_main(int argc, char **argv);
int cli_tables_main(int argc, char **argv);

#endif
