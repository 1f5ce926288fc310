/* The floe command: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/args.h"
#include "cli/mirror.h"
#include "cli/remote.h"
#include "floe/floe.h"

static const char main_help[] =
    "usage: floe <command> [options]\n"
    "       floe --help | --version\n"
    "\n"
    "floe mirrors Postgres tables into Apache Iceberg.\n"
    "\n"
    "Commands (docs/cli.md has them all):\n"
    "  mirror          run the daemon: mirror Postgres tables into Iceberg\n"
    "  drop            remove a mirror (slot, publication, registry)\n"
    "  scan            print a mirrored table's rows (CSV, JSON lines,\n"
    "                  Parquet, Arrow), fresh from the daemon or from the\n"
    "                  last Iceberg snapshot (--warehouse)\n"
    "  status          per-table state, LSNs, lag, files, memory\n"
    "  tables          list the mirrored tables\n"
    "  snapshot        commit a table to Iceberg now\n"
    "  optimize        compact a table's data files now\n"
    "  add-table       start mirroring a table\n"
    "  drop-table      stop mirroring a table\n"
    "  parquet write   convert a CSV file into a Parquet file\n"
    "  parquet cat     print a Parquet file's rows as CSV or JSON lines\n"
    "  parquet meta    describe a Parquet file's footer\n"
    "  iceberg inspect describe an Iceberg table (snapshots, files, schemas)\n"
    "  iceberg scan    print an Iceberg table's live rows as CSV or JSON "
    "lines\n"
    "\n"
    "Options:\n"
    "  -h, --help      show this help and exit\n"
    "  --version       print the version and exit\n"
    "\n"
    "Run 'floe <command> <subcommand> --help' for the options of each.\n"
    "\n"
    "Exit status: 0 success; 1 failure (the reason on stderr, prefixed\n"
    "'floe: '); 2 usage error (unknown command or option, missing argument);\n"
    "3 no daemon listens on the socket; 4 an LSN was not reached in time.\n";

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(main_help, stderr);
    return CLI_EXIT_USAGE;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
      strcmp(cmd, "help") == 0) {
    fputs(main_help, stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(cmd, "--version") == 0) {
    printf("floe %d.%d.%d\n", FLOE_VERSION_MAJOR, FLOE_VERSION_MINOR,
           FLOE_VERSION_PATCH);
    return CLI_EXIT_OK;
  }
  static const struct {
    const char *name;
    int (*main)(int, char **);
  } cmds[] = {{"mirror", cli_mirror_main},
              {"drop", cli_drop_main},
              {"scan", cli_scan_main},
              {"status", cli_status_main},
              {"tables", cli_tables_main},
              {"snapshot", cli_snapshot_main},
              {"optimize", cli_optimize_main},
              {"add-table", cli_add_table_main},
              {"drop-table", cli_drop_table_main}};
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
    if (strcmp(cmd, cmds[i].name) == 0) return cmds[i].main(argc - 1, argv + 1);
  if (strcmp(cmd, "parquet") == 0) return cli_parquet_main(argc - 1, argv + 1);
  if (strcmp(cmd, "iceberg") == 0) return cli_iceberg_main(argc - 1, argv + 1);
  if (cmd[0] == '-') return cli_usage_error("floe", "unknown option '%s'", cmd);
  return cli_usage_error("floe", "unknown command '%s'", cmd);
}
