/*
 * cfg: the daemon's settings, from a config file (`floe mirror --config
 * FILE`) and from command-line flags, through one table of keys
 * (docs/config.md documents each key and its default; a unit test keeps the
 * two in step).
 *
 * File syntax: one `key = value` per line; blank lines and lines starting
 * with '#' are ignored; there are no inline comments (a conninfo may hold
 * '#'); a value may be "double-quoted" (escapes \" \\ \n \t) to keep
 * leading or trailing blanks. Keys are the long flag names without "--";
 * '_' may stand for '-'. Sizes take binary suffixes (K, KiB, M, MiB, G, GiB,
 * T, TiB; KB = KiB), durations (keys ending in -ms) take ms, s, m/min, h.
 * A key may appear once, except `table` (one line per table). Errors name
 * "FILE:LINE".
 *
 * Engine knobs (batch-rows, commit-interval-ms, ...: floe_table_config) are
 * kept as "set or not": cfg_engine_apply overwrites only the knobs that
 * were set onto a config the engine initialised, so the engine's defaults
 * live in one place (floe_table_config_init).
 *
 * Ownership: strings a cfg_daemon holds live in its arena until cfg_free.
 */
#ifndef FLOE_SERVER_CONFIG_H
#define FLOE_SERVER_CONFIG_H

#include <stdint.h>

#include "floe/floe.h"
#include "util/arena.h"
#include "util/buf.h"

typedef enum cfg_log_format {
  CFG_LOG_TEXT = 0,
  CFG_LOG_JSON = 1
} cfg_log_format;

/* Engine knobs set so far: bit (1u << k) per knob k of the key table. */
typedef struct cfg_engine {
  uint32_t set;
  floe_table_config v; /* values of the set knobs only */
} cfg_engine;

typedef struct cfg_daemon {
  const char *source;  /* Postgres conninfo; NULL until set */
  const char **tables; /* "schema.table", in the order given */
  int ntables;
  const char *warehouse; /* NULL until set */
  const char *catalog;   /* "fs", "sqlite:PATH" or "postgres:CONNINFO" */
  const char *name;      /* the mirror's name: slot, publication, socket */
  const char *socket;    /* NULL: cfg_socket_default(name) */
  unsigned socket_mode;
  const char *socket_group; /* NULL: the daemon's group */
  const char *metrics;      /* ADDR:PORT; NULL: no metrics endpoint */
  int64_t memory_limit;
  cfg_log_format log_format;
  int log_level; /* flog_level */
  int64_t lease_ttl_ms;
  int64_t io_timeout_ms;
  int max_clients;
  cfg_engine engine;
  /* internal */
  int table_cap;
  int line_of[64]; /* file line that set each key (0: not from a file) */
  farena arena;
} cfg_daemon;

/* Fills the defaults (docs/config.md). */
void cfg_init(cfg_daemon *c);
void cfg_free(cfg_daemon *c);

/*
 * Sets one key from text, as a flag would (`--memory-limit 1GiB` is
 * cfg_set(c, "memory-limit", "1GiB")): a later call overrides an earlier
 * one, `table` appends. FLOE_EINVAL names the key and what is wrong;
 * FLOE_ENOTFOUND for an unknown key.
 */
floe_status cfg_set(cfg_daemon *c, const char *key, const char *value,
                    floe_error *err);

/* Parses config text (name is used in messages: "name:LINE: ..."). */
floe_status cfg_parse(cfg_daemon *c, const char *text, size_t n,
                      const char *name, floe_error *err);
/* Reads and parses a file (at most 1 MiB). */
floe_status cfg_load(cfg_daemon *c, const char *path, floe_error *err);

/* Checks what a start needs: a warehouse, and a source unless
 * source_optional (a restart that resumes from the registry). */
floe_status cfg_check(const cfg_daemon *c, int source_optional,
                      floe_error *err);

/* The socket path when none is configured:
 * "$XDG_RUNTIME_DIR/floe-NAME.sock", else "/tmp/floe-NAME.sock". Writes
 * into buf (n bytes); FLOE_EINVAL when it does not fit. */
floe_status cfg_socket_default(const char *name, char *buf, size_t n,
                               floe_error *err);

/* One engine knob (the same names as in the file); FLOE_ENOTFOUND when key
 * is not an engine knob. Used for ADD_TABLE options too; a state-dir value
 * is borrowed (keep it alive while e is used). */
floe_status cfg_engine_set(cfg_engine *e, const char *key, const char *value,
                           floe_error *err);
/* Copies the knobs that were set into out (out->state_dir borrows e's
 * string: keep the cfg alive while out is used). */
void cfg_engine_apply(const cfg_engine *e, floe_table_config *out);

/* Writes every key in file syntax (defaults included; engine knobs not set
 * are written as comments): what `floe mirror --print-config` shows, and
 * parses back to the same settings. */
floe_status cfg_write(const cfg_daemon *c, fbuf *out, floe_error *err);

/* The key table, for documentation checks and --help: key i's name, its
 * default as text ("" for none), and whether it is an engine knob. NULL
 * past the last key. */
const char *cfg_key_name(int i);
const char *cfg_key_default(int i);
int cfg_key_is_engine(int i);

/* Text to a number, as config values are parsed (exposed for flag parsing
 * and tests): sizes with binary suffixes, durations in ms. */
floe_status cfg_parse_size(const char *s, int64_t *out, floe_error *err);
floe_status cfg_parse_ms(const char *s, int64_t *out, floe_error *err);

#endif
