/*
 * Command-line parsing shared by the floe commands: long options written
 * "--name value" or "--name=value", anywhere among the operands; "--" ends
 * the options; a lone "-" is an operand (standard input).
 */
#ifndef FLOE_CLI_ARGS_H
#define FLOE_CLI_ARGS_H

#include <stdbool.h>

/* Exit codes of every floe command. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

typedef struct cli_opt {
  const char *name;   /* "--schema" */
  bool has_arg;       /* takes a value */
  const char **value; /* where the value goes (has_arg) */
  bool *flag;         /* set when present (!has_arg) */
} cli_opt;

typedef enum cli_parse_result {
  CLI_PARSE_OK,
  CLI_PARSE_HELP,  /* --help or -h was given: print help, exit 0 */
  CLI_PARSE_USAGE, /* a usage error was printed: exit 2 */
} cli_parse_result;

/* Parses argv[1..argc) (argv[0] is the command's own name) against opts.
 * Operands go to operands[0..*noperands), at most max; more is a usage error
 * printed to stderr, naming cmd ("floe parquet write"). Values point into
 * argv. */
cli_parse_result cli_parse_args(const char *cmd, int argc, char **argv,
                                const cli_opt *opts, int nopts,
                                const char **operands, int max, int *noperands);

/* The start every command shares: cli_parse_args, then --help prints help
 * to standard output (exit 0) and fewer than min operands is the usage
 * error "expected <expected>". Returns -1 to go on, else the exit code the
 * command returns. */
int cli_command_args(const char *cmd, const char *help, int argc, char **argv,
                     const cli_opt *opts, int nopts, const char **operands,
                     int min, int max, int *noperands, const char *expected);

/* A subcommand ("floe parquet write"): its name and main (argv[0] is the
 * subcommand's name). */
typedef struct cli_sub {
  const char *name;
  int (*main)(int argc, char **argv);
} cli_sub;

/* Runs the subcommand argv[1] names among subs[0..n) (cmd "floe parquet",
 * argv[0] "parquet"); no subcommand prints help to stderr (exit 2), --help
 * to stdout (exit 0). Returns the exit code. */
int cli_subcommand(const char *cmd, const char *help, int argc, char **argv,
                   const cli_sub *subs, int n);

/* Prints "floe: <msg>\nTry '<cmd> --help'." to stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* `floe parquet ...`: argv[0] is "parquet". Returns the exit code. */
int cli_parquet_main(int argc, char **argv);
/* `floe iceberg ...`: argv[0] is "iceberg". Returns the exit code. */
int cli_iceberg_main(int argc, char **argv);

#endif
