/*
 * `floe mirror`: the daemon in the foreground, and `floe drop`.
 *
 * This file is the host the library expects: it owns the process's threads
 * and signals. Every signal the daemon reacts to is blocked before any
 * thread starts (so no thread ever runs a handler) and the main thread
 * takes them with sigtimedwait: a first SIGTERM/SIGINT starts the graceful
 * stop, a second one exits at once (like a crash: a restart resumes from
 * the last durable position, nothing is lost).
 */
#include "cli/mirror.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "cli/args.h"
#include "server/daemon.h"

static const char mirror_help[] =
    "usage: floe mirror --source CONNINFO --table SCHEMA.TABLE [--table ...]\n"
    "                   --warehouse DIR [options]\n"
    "       floe mirror --warehouse DIR [--name NAME]      (resume a mirror)\n"
    "\n"
    "Mirrors Postgres tables into Iceberg tables and serves fresh reads. Runs\n"
    "in the foreground and logs to stderr. The first start creates the\n"
    "replication slot and publication floe_NAME, copies the tables, then\n"
    "streams every change; later starts resume where the last one stopped.\n"
    "\n"
    "Options (each is also a config file key without '--'; docs/config.md):\n"
    "  --source CONNINFO     the database: libpq 'host=.. dbname=.. user=..' "
    "or\n"
    "                        a postgresql:// URI. Its password is never "
    "written\n"
    "                        to the registry or logs: a restart without\n"
    "                        --source takes it from PGPASSWORD or ~/.pgpass\n"
    "  --table S.T           a table to mirror (repeat for more); names as\n"
    "                        stored, \"quote\" a part holding '.' or '\"'\n"
    "  --warehouse DIR       Iceberg tables, the registry, local state\n"
    "  --catalog fs|sqlite:PATH|postgres:CONNINFO   (default fs)\n"
    "  --name NAME           the mirror's name, [a-z0-9_] (default floe)\n"
    "  --socket PATH         RPC socket (default "
    "$XDG_RUNTIME_DIR/floe-NAME.sock\n"
    "                        or /tmp/floe-NAME.sock)\n"
    "  --metrics ADDR:PORT   serve /metrics and /healthz over HTTP\n"
    "  --memory-limit SIZE   memory for row data of all tables (default "
    "512MiB);\n"
    "                        past it reading pauses until flushes free memory\n"
    "  --log-format text|json\n"
    "  --log-level debug|info|warn|error\n"
    "  --config FILE         settings from FILE; flags override them\n"
    "  --print-config        print the effective settings and exit\n"
    "  --KEY VALUE           any other key of docs/config.md (e.g.\n"
    "                        --commit-interval-ms 500ms, --batch-rows 8192)\n"
    "\n"
    "The mirror's registry, WAREHOUSE/.floe/mirror-NAME.json, keeps the "
    "source\n"
    "(without password), the catalog, engine settings and the tables, so\n"
    "'floe mirror --warehouse DIR --name NAME' alone resumes everything.\n"
    "Tables given on a restart are added to it. Use 'floe add-table' and\n"
    "'floe drop-table' while it runs, 'floe drop' to remove the mirror.\n"
    "\n"
    "Signals: SIGTERM or SIGINT (Ctrl-C) stop gracefully: every table is\n"
    "flushed and committed to Iceberg, the position confirmed to Postgres, "
    "the\n"
    "slot kept. A second signal exits at once. A kill at any moment loses\n"
    "nothing: a restart resumes from the last committed position.\n"
    "\n"
    "Exit status: 0 after a graceful stop; 1 failure (the reason on stderr);\n"
    "2 usage error.\n";

static const char drop_help[] =
    "usage: floe drop --warehouse DIR [--name NAME] [--purge] [--source "
    "CONNINFO]\n"
    "                 [--config FILE]\n"
    "\n"
    "Removes a mirror: its replication slot and publication floe_NAME in the\n"
    "source database, and its registry. The Iceberg tables stay in the\n"
    "warehouse (readable by any Iceberg reader) unless --purge, which deletes\n"
    "them and floe's local state too. The daemon must be stopped first.\n"
    "\n"
    "Options:\n"
    "  --warehouse DIR    the mirror's warehouse\n"
    "  --name NAME        the mirror (default floe)\n"
    "  --purge            also delete the mirror's Iceberg tables\n"
    "  --source CONNINFO  connect with this instead of the registry's string\n"
    "  --config FILE      read warehouse, name, source... from FILE\n"
    "  --socket PATH      the daemon's socket, to check it is not running\n"
    "\n"
    "Exit status: 0 dropped; 1 failure; 2 usage error.\n";

/* Options that are not config keys. */
enum { OPT_NONE, OPT_CONFIG, OPT_PRINT, OPT_PURGE };

static int special_opt(const char *name) {
  if (strcmp(name, "config") == 0) return OPT_CONFIG;
  if (strcmp(name, "print-config") == 0) return OPT_PRINT;
  if (strcmp(name, "purge") == 0) return OPT_PURGE;
  return OPT_NONE;
}

static bool is_key(const char *name) {
  for (int i = 0; cfg_key_name(i); i++)
    if (strcmp(cfg_key_name(i), name) == 0) return true;
  return false;
}

typedef struct parsed {
  const char *config;
  bool print, purge;
} parsed;

/*
 * Two passes over argv: the first finds --config (the file is read before
 * the flags so the flags win, whatever their order), the second applies
 * every --KEY VALUE through cfg_set. allow: which specials the command
 * takes; keys (NULL: any config key) limits the keys.
 */
static int parse_cmd(const char *cmd, int argc, char **argv, cfg_daemon *c,
                     parsed *p, const char *help, unsigned allow,
                     const char *const *keys) {
  memset(p, 0, sizeof *p);
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 1; i < argc; i++) {
      const char *a = argv[i];
      if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
        fputs(help, stdout);
        return -1;
      }
      if (strncmp(a, "--", 2) != 0 || !a[2])
        return cli_usage_error(cmd, "unexpected argument '%s'", a);
      const char *eq = strchr(a, '=');
      char name[64];
      size_t n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
      if (n >= sizeof name)
        return cli_usage_error(cmd, "unknown option '%s'", a);
      memcpy(name, a + 2, n);
      name[n] = '\0';
      int sp = special_opt(name);
      bool flag = sp == OPT_PRINT || sp == OPT_PURGE;
      bool known = sp != OPT_NONE ? (allow & (1u << sp)) != 0 : is_key(name);
      if (known && sp == OPT_NONE && keys) {
        known = false;
        for (int k = 0; keys[k]; k++) known |= strcmp(keys[k], name) == 0;
      }
      if (!known) return cli_usage_error(cmd, "unknown option '--%s'", name);
      const char *val = NULL;
      if (flag) {
        if (eq)
          return cli_usage_error(cmd, "option '--%s' takes no value", name);
      } else if (eq) {
        val = eq + 1;
      } else {
        if (i + 1 >= argc)
          return cli_usage_error(cmd, "option '--%s' needs a value", name);
        val = argv[++i];
      }
      if (pass == 0) {
        if (sp == OPT_CONFIG) p->config = val;
        if (sp == OPT_PRINT) p->print = true;
        if (sp == OPT_PURGE) p->purge = true;
        continue;
      }
      if (sp != OPT_NONE) continue;
      floe_error err;
      if (cfg_set(c, name, val, &err) != FLOE_OK)
        return cli_usage_error(cmd, "--%s: %s", name, err.msg);
    }
    if (pass == 0 && p->config) {
      floe_error err;
      if (cfg_load(c, p->config, &err) != FLOE_OK) {
        fprintf(stderr, "floe: %s\n", err.msg);
        return CLI_EXIT_FAIL;
      }
    }
  }
  return CLI_EXIT_OK;
}

static void make_log(const cfg_daemon *c, dmn_log *dl, flog *lg) {
  dl->json = c->log_format == CFG_LOG_JSON;
  lg->level = (flog_level)c->log_level;
  lg->sink = dmn_log_sink;
  lg->ctx = dl;
}

static int print_config(cfg_daemon *c) {
  floe_error err;
  if (c->source) {
    /* the password must not reach a terminal or a pasted bug report */
    char *stripped;
    bool had;
    if (dmn_conninfo_strip(c->source, &stripped, &had, &err) == FLOE_OK) {
      cfg_set(c, "source", stripped, &err);
      free(stripped);
    }
  }
  fbuf b = FBUF_INIT;
  if (cfg_write(c, &b, &err) != FLOE_OK) {
    fprintf(stderr, "floe: %s\n", err.msg);
    fbuf_free(&b);
    return CLI_EXIT_FAIL;
  }
  fwrite(b.data, 1, b.len, stdout);
  fbuf_free(&b);
  return CLI_EXIT_OK;
}

/* ---- threads ---- */

typedef floe_status (*run_fn)(dmn_daemon *, floe_error *);

typedef struct worker {
  pthread_t tid;
  bool started;
  const char *name;
  run_fn fn;
  dmn_daemon *d;
  floe_status st;
  floe_error err;
} worker;

/* cfg_init, then parse_cmd; c is freed again unless the command goes on.
 * Returns -1 to go on, else the exit code (0 after --help). */
static int start_cmd(const char *cmd, int argc, char **argv, cfg_daemon *c,
                     parsed *p, const char *help, unsigned allow,
                     const char *const *keys) {
  cfg_init(c);
  int rc = parse_cmd(cmd, argc, argv, c, p, help, allow, keys);
  if (rc == CLI_EXIT_OK) return -1;
  cfg_free(c);
  return rc < 0 ? CLI_EXIT_OK : rc;
}

static void *worker_main(void *arg) {
  worker *w = arg;
  ferr_clear(&w->err);
  w->st = w->fn(w->d, &w->err);
  return NULL;
}

int cli_mirror_main(int argc, char **argv) {
  const char *cmd = "floe mirror";
  cfg_daemon c;
  parsed p;
  int rc = start_cmd(cmd, argc, argv, &c, &p, mirror_help,
                     (1u << OPT_CONFIG) | (1u << OPT_PRINT), NULL);
  if (rc >= 0) return rc;
  if (p.print) {
    rc = print_config(&c);
    cfg_free(&c);
    return rc;
  }
  floe_error err;
  if (cfg_check(&c, 1, &err) != FLOE_OK) {
    cfg_free(&c);
    return cli_usage_error(cmd, "%s", err.msg);
  }
  /* the same default socket as the client commands */
  const char *env_sock = getenv("FLOE_SOCKET");
  if (!c.socket && env_sock && *env_sock &&
      cfg_set(&c, "socket", env_sock, &err) != FLOE_OK) {
    cfg_free(&c);
    return cli_usage_error(cmd, "FLOE_SOCKET: %s", err.msg);
  }
  dmn_log dl;
  flog lg;
  make_log(&c, &dl, &lg);

  /* the signals go to the main thread's sigtimedwait, and to no handler:
   * block them before any thread exists, so every thread inherits it */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  /* a client that hangs up mid-reply must not kill the daemon */
  signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
  /* glibc gives each allocating thread an arena of its own (up to 8 per
   * core), and what one thread frees stays mapped in its arena: the ingest
   * and maintenance threads each kept their own peak, and the RSS under a
   * 32 MiB --memory-limit came out at 110-210 MB instead of ~90 MB
   * (tests/pg/test_daemon_memory.sh). One arena, before any thread starts,
   * unless MALLOC_ARENA_MAX chooses. */
  if (!getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 1);
#endif

  dmn_options o = {.cfg = &c, .source = NULL, .log = &lg};
  dmn_daemon *d;
  floe_status st = dmn_open(&o, &d, &err);
  cfg_free(&c);
  if (st != FLOE_OK) {
    flog_write(&lg, FLOG_ERROR, "%s", err.msg);
    return CLI_EXIT_FAIL;
  }
  worker w[4] = {{.name = "source", .fn = dmn_run_source},
                 {.name = "maintenance", .fn = dmn_run_maintenance},
                 {.name = "server", .fn = dmn_run_server},
                 {.name = "aux", .fn = dmn_run_aux}};
  rc = CLI_EXIT_OK;
  for (int i = 0; i < 4; i++) {
    w[i].d = d;
    int e = pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
    if (e != 0) {
      flog_write(&lg, FLOG_ERROR, "cannot start the %s thread: %s", w[i].name,
                 strerror(e));
      dmn_request_stop(d, "a thread could not start");
      rc = CLI_EXIT_FAIL;
      break;
    }
    w[i].started = true;
  }
  int signals = 0;
  while (!dmn_finished(d)) {
    struct timespec ts = {0, 200 * 1000000};
    int sig = sigtimedwait(&sigs, NULL, &ts);
    if (sig < 0) continue;
    if (sig == SIGHUP) {
      flog_write(&lg, FLOG_INFO, "SIGHUP ignored (restart to apply settings)");
      continue;
    }
    if (++signals == 1) {
      dmn_request_stop(d, sig == SIGINT ? "SIGINT" : "SIGTERM");
    } else {
      flog_write(&lg, FLOG_WARN,
                 "second signal: exiting now without the final commit (a "
                 "restart resumes from the last durable position)");
      _exit(CLI_EXIT_FAIL);
    }
  }
  for (int i = 0; i < 4; i++) {
    if (!w[i].started) continue;
    pthread_join(w[i].tid, NULL);
    if (w[i].st != FLOE_OK) rc = CLI_EXIT_FAIL;
  }
  if (!w[0].started || w[0].st != FLOE_OK) rc = CLI_EXIT_FAIL;
  dmn_close(d);
  return rc;
}

int cli_drop_main(int argc, char **argv) {
  const char *cmd = "floe drop";
  static const char *const keys[] = {
      "warehouse", "name", "source", "socket", "log-format", "log-level", NULL};
  cfg_daemon c;
  parsed p;
  int rc = start_cmd(cmd, argc, argv, &c, &p, drop_help,
                     (1u << OPT_CONFIG) | (1u << OPT_PURGE), keys);
  if (rc >= 0) return rc;
  floe_error err;
  if (cfg_check(&c, 1, &err) != FLOE_OK) {
    cfg_free(&c);
    return cli_usage_error(cmd, "%s", err.msg);
  }
  dmn_log dl;
  flog lg;
  make_log(&c, &dl, &lg);
  floe_status st = dmn_drop(&c, p.purge, &lg, &err);
  cfg_free(&c);
  if (st != FLOE_OK) {
    fprintf(stderr, "floe: %s\n", err.msg);
    return CLI_EXIT_FAIL;
  }
  return CLI_EXIT_OK;
}
