/*
 * dmn: the `floe mirror` daemon. It ties a replication source (the Postgres
 * source, src/pg/source.h, behind dmn_source_ops), the table engine's
 * maintenance, and the RPC/metrics server (server.h) together, keeps the
 * mirror's table registry in the warehouse, and bounds the memory of the
 * whole process.
 *
 * Threads belong to the host (src/cli/mirror.c): the daemon starts none and
 * installs no signal handler. The host runs each dmn_run_* function in a
 * thread of its own:
 *
 *   dmn_run_source       the ingest thread: opens the source (setup and
 *                        initial copy), polls the stream, applies changes,
 *                        runs table adds/drops and schema reads, and pauses
 *                        reading while the daemon is over its memory limit;
 *                        at stop it makes every table durable (final flush,
 *                        Iceberg commit, LSN confirmed; the slot stays)
 *   dmn_run_maintenance  flush / Iceberg commit / compaction of every table
 *                        (the engine's tick), forced commits and
 *                        compactions asked over RPC, flushes that relieve
 *                        memory pressure
 *   dmn_run_server       the RPC + HTTP poll loop (srv_run); its handlers
 *                        never block: work for another thread is handed
 *                        over and the call parked until it is done
 *   dmn_run_aux          reads the source's current WAL position for
 *                        READ_STATE with the LATEST flag (a blocking query,
 *                        so it gets a thread of its own)
 *
 * and stops them with dmn_request_stop (from its signal-waiting thread; it
 * is not async-signal-safe). dmn_run_source returns once the stop is done;
 * the others return soon after. dmn_close frees everything afterwards.
 *
 * Registry: WAREHOUSE/.floe/mirror-NAME.json (written atomically) holds the
 * source connection string without its password, the catalog, the engine
 * settings given, and the tables with their own settings and state, so a
 * start with only the warehouse (and name) resumes the mirror.
 */
#ifndef FLOE_SERVER_DAEMON_H
#define FLOE_SERVER_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "floe/floe.h"
#include "server/config.h"
#include "server/rpc.h"
#include "util/arena.h"
#include "util/log.h"

/* ---- the source, as the daemon sees it ---- */

/* A table to mirror. Strings are borrowed for the call that passes it. */
typedef struct dmn_table_def {
  const char *schema, *table; /* the source table, names as stored */
  floe_table_config cfg;      /* its engine settings */
} dmn_table_def;

typedef struct dmn_source_args {
  const char *conninfo; /* libpq string, password included; never logged */
  const char *mirror;   /* the mirror's name (slot, publication floe_NAME) */
  const char *catalog_uri, *warehouse; /* as floe_table_ref takes them */
  const dmn_table_def *tables;
  int ntables;
  floe_table_config table_cfg; /* engine settings of tables added later */
  const flog *log;
} dmn_source_args;

/* What the source reports; strings and the table array live in the arena
 * passed to status(). */
typedef struct dmn_source_status {
  const char *state;      /* "streaming", "stopped", "error", ... */
  const char *last_error; /* "" when none */
  uint64_t server_wal_end;
  bool connected;
  uint32_t ntables;
  rpc_table_status *tables; /* name is "schema.table" */
} dmn_source_status;

/*
 * A source implementation. `open` and everything marked ingest run on the
 * ingest thread, maintenance calls on the maintenance thread (never two at
 * once), the rest from any thread. The Postgres source is dmn_pg_source;
 * tests bring their own.
 */
typedef struct dmn_source_ops {
  /* ingest: connects, prepares and copies what needs copying (blocks). */
  floe_status (*open)(const dmn_source_args *a, void **src, floe_error *err);
  /* ingest: receives and applies what arrives within timeout_ms.
   * FLOE_EEOF after request_stop; another error: the mirror failed. */
  floe_status (*poll)(void *src, int timeout_ms, floe_error *err);
  /* ingest: adds a table (its copy may block the call). */
  floe_status (*add_table)(void *src, const dmn_table_def *t, floe_error *err);
  /* ingest: stops mirroring a table (its Iceberg table stays). */
  floe_status (*remove_table)(void *src, const char *schema, const char *table,
                              floe_error *err);
  /* ingest: the table's columns and key (rpc_schema_ok, in a). */
  floe_status (*schema)(void *src, const char *schema, const char *table,
                        farena *a, rpc_schema_ok *out, floe_error *err);
  /* ingest: asks the server for its WAL position (keepalive), so idle
   * tables advance; may be NULL. */
  floe_status (*keepalive)(void *src, floe_error *err);
  /* ingest: graceful stop: every table durable, the position confirmed. */
  floe_status (*stop)(void *src, floe_error *err);
  /* maintenance: flush, commit, compaction... of every table. */
  floe_status (*tick)(void *src, int64_t now_ms, int64_t *next_ms,
                      floe_error *err);
  /* maintenance: flush + Iceberg commit of one table now; its durable LSN
   * and current Iceberg snapshot id (-1: none yet) after it. */
  floe_status (*flush)(void *src, const char *schema, const char *table,
                       uint64_t *durable_lsn, int64_t *snapshot_id,
                       floe_error *err);
  /* maintenance: a compaction pass of one table now. */
  floe_status (*compact)(void *src, const char *schema, const char *table,
                         int force, int64_t *files_before, int64_t *files_after,
                         floe_error *err);
  /* any: the status (a consistent copy). */
  floe_status (*status)(void *src, farena *a, dmn_source_status *out,
                        floe_error *err);
  /* any: a read state at min_lsn without waiting (FLOE_ETIMEDOUT when not
   * applied yet; FLOE_ENOTFOUND for a table not mirrored). */
  floe_status (*read_state)(void *src, const char *schema, const char *table,
                            uint64_t min_lsn, floe_read_state **out,
                            floe_error *err);
  /* any (the aux thread; may block): the source's current WAL position. */
  floe_status (*wal_lsn)(void *src, uint64_t *lsn, floe_error *err);
  /* any: makes the next poll return FLOE_EEOF soon. */
  void (*request_stop)(void *src);
  void (*free)(void *src);
} dmn_source_ops;

/* The Postgres source (src/pg/source.h). */
extern const dmn_source_ops dmn_pg_source;

/* ---- names ---- */

/* Splits "schema.table" (either part may be "double quoted", with "" for
 * a quote inside; unquoted parts are taken as stored) into schema and
 * table (each < 64 bytes). FLOE_EINVAL with the rule otherwise. */
floe_status dmn_table_name_parse(const char *qname, char schema[64],
                                 char table[64], floe_error *err);

/* The canonical "schema.table" of a table (a part holding '.' or '"' is
 * quoted): the name the registry, STATUS and the CLI use. out must hold
 * DMN_QNAME_MAX bytes. */
#define DMN_QNAME_MAX 260
char *dmn_table_qname(const char *schema, const char *table, char *out);

/* The connection string without its password (key/value form), for the
 * registry. *had_password says whether one was dropped. *out is malloc'd. */
floe_status dmn_conninfo_strip(const char *conninfo, char **out,
                               bool *had_password, floe_error *err);

/* ---- the registry ---- */

typedef struct dmn_reg_table {
  char *name;       /* "schema.table" */
  char *state;      /* "active" or "dropping" */
  int64_t added_ms; /* wall clock */
  int nopt;
  char **keys, **values; /* engine settings of this table (config names) */
} dmn_reg_table;

typedef struct dmn_registry {
  char *path;    /* WAREHOUSE/.floe/mirror-NAME.json */
  char *name;    /* the mirror's name */
  char *source;  /* conninfo without password */
  char *catalog; /* as the config key */
  int nknob;
  char **knob_keys, **knob_values; /* engine settings for every table */
  int ntables, cap;
  dmn_reg_table *tables;
} dmn_registry;

/* "WAREHOUSE/.floe/mirror-NAME.json" (malloc'd). */
floe_status dmn_registry_path(const char *warehouse, const char *name,
                              char **out, floe_error *err);
/* Loads path into r (r->path set); *found = false (r empty) when there is
 * no file. A bad file is FLOE_ECORRUPT naming it. */
floe_status dmn_registry_load(const char *path, dmn_registry *r, bool *found,
                              floe_error *err);
/* Writes r->path atomically (temp file, fsync, rename, fsync dir). */
floe_status dmn_registry_save(const dmn_registry *r, floe_error *err);
void dmn_registry_free(dmn_registry *r);
/* Index of table qname, or -1. */
int dmn_registry_find(const dmn_registry *r, const char *qname);
floe_status dmn_registry_add(dmn_registry *r, const char *qname,
                             const rpc_option *opts, int nopt, int64_t now_ms,
                             floe_error *err);
void dmn_registry_remove(dmn_registry *r, int i);
floe_status dmn_registry_set_state(dmn_registry *r, int i, const char *state,
                                   floe_error *err);

/* ---- the daemon ---- */

typedef struct dmn_daemon dmn_daemon;

typedef struct dmn_options {
  const cfg_daemon *cfg;        /* settings; borrowed during dmn_open */
  const dmn_source_ops *source; /* NULL: dmn_pg_source */
  const flog *log;              /* kept: must outlive the daemon */
} dmn_options;

/*
 * Loads the registry (creating it on a first start), merges the settings
 * (flags and config win; the registry fills what they leave out; tables
 * given are added), checks them, and binds the RPC socket (and metrics
 * port). Nothing is started: run the dmn_run_* functions. Caller frees *out
 * with dmn_close.
 */
floe_status dmn_open(const dmn_options *o, dmn_daemon **out, floe_error *err);

/* The thread bodies (see the top of this file). dmn_run_source's error is
 * the daemon's (the source failed); it returns after the graceful stop. */
floe_status dmn_run_source(dmn_daemon *d, floe_error *err);
floe_status dmn_run_maintenance(dmn_daemon *d, floe_error *err);
floe_status dmn_run_server(dmn_daemon *d, floe_error *err);
floe_status dmn_run_aux(dmn_daemon *d, floe_error *err);

/* Starts the graceful stop (why is logged). Any thread, not a signal
 * handler. */
void dmn_request_stop(dmn_daemon *d, const char *why);
/* dmn_run_source has returned. */
bool dmn_finished(dmn_daemon *d);

/* The RPC socket's path (borrowed from d) and the metrics port actually
 * bound (-1: none). */
const char *dmn_socket_path(const dmn_daemon *d);
int dmn_metrics_port(const dmn_daemon *d);

/* Frees d (after every dmn_run_* returned): closes the server (removing the
 * socket) and the source. */
void dmn_close(dmn_daemon *d);

/*
 * `floe drop`: removes the mirror NAME of the warehouse in cfg: its
 * replication slot and (floe's own) publication, then its registry; with
 * purge also its Iceberg tables and local state. The daemon must not run
 * (FLOE_EEXIST when its socket answers). cfg->source overrides the
 * registry's connection string.
 */
floe_status dmn_drop(const cfg_daemon *cfg, bool purge, const flog *log,
                     floe_error *err);

/* ---- logging ---- */

/* A flog sink writing one line per message to stderr: text ("2024-11-25
 * 10:22:01.123 INFO  msg") or a JSON object per line ({"ts":...,
 * "level":..., "msg":...}). ctx is a dmn_log. */
typedef struct dmn_log {
  bool json;
} dmn_log;
void dmn_log_sink(void *ctx, flog_level level, const char *msg);

#endif
