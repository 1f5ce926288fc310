/* Option parsing for the floe commands (see args.h). */
#include "cli/args.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("floe: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '%s --help'.\n", cmd);
  return CLI_EXIT_USAGE;
}

cli_parse_result cli_parse_args(const char *cmd, int argc, char **argv,
                                const cli_opt *opts, int nopts,
                                const char **operands, int max,
                                int *noperands) {
  *noperands = 0;
  bool options_done = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool is_option = !options_done && a[0] == '-' && a[1] != '\0';
    if (!is_option) {
      if (*noperands == max) {
        cli_usage_error(cmd, "unexpected argument '%s'", a);
        return CLI_PARSE_USAGE;
      }
      operands[(*noperands)++] = a;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      options_done = true;
      continue;
    }
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return CLI_PARSE_HELP;
    const char *eq = strchr(a, '=');
    size_t name_len = eq ? (size_t)(eq - a) : strlen(a);
    const cli_opt *o = NULL;
    for (int k = 0; k < nopts; k++)
      if (strlen(opts[k].name) == name_len &&
          strncmp(opts[k].name, a, name_len) == 0)
        o = &opts[k];
    if (!o) {
      cli_usage_error(cmd, "unknown option '%.*s'", (int)name_len, a);
      return CLI_PARSE_USAGE;
    }
    if (!o->has_arg) {
      if (eq) {
        cli_usage_error(cmd, "option '%s' takes no value", o->name);
        return CLI_PARSE_USAGE;
      }
      *o->flag = true;
      continue;
    }
    if (eq) {
      *o->value = eq + 1;
    } else {
      if (i + 1 >= argc) {
        cli_usage_error(cmd, "option '%s' needs a value", o->name);
        return CLI_PARSE_USAGE;
      }
      *o->value = argv[++i];
    }
  }
  return CLI_PARSE_OK;
}

int cli_command_args(const char *cmd, const char *help, int argc, char **argv,
                     const cli_opt *opts, int nopts, const char **operands,
                     int min, int max, int *noperands, const char *expected) {
  switch (
      cli_parse_args(cmd, argc, argv, opts, nopts, operands, max, noperands)) {
  case CLI_PARSE_HELP: fputs(help, stdout); return CLI_EXIT_OK;
  case CLI_PARSE_USAGE: return CLI_EXIT_USAGE;
  case CLI_PARSE_OK: break;
  }
  if (*noperands < min) return cli_usage_error(cmd, "expected %s", expected);
  return -1;
}

int cli_subcommand(const char *cmd, const char *help, int argc, char **argv,
                   const cli_sub *subs, int n) {
  if (argc < 2) {
    fputs(help, stderr);
    return CLI_EXIT_USAGE;
  }
  const char *sub = argv[1];
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
    fputs(help, stdout);
    return CLI_EXIT_OK;
  }
  for (int i = 0; i < n; i++)
    if (strcmp(sub, subs[i].name) == 0) return subs[i].main(argc - 1, argv + 1);
  if (sub[0] == '-') return cli_usage_error(cmd, "unknown option '%s'", sub);
  return cli_usage_error(cmd, "unknown subcommand '%s'", sub);
}
