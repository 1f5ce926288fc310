/*
 * Internals of the daemon (daemon*.c). Not a contract: daemon.h is.
 *
 * Locking: d->mu guards the registry, the job queues, the LSN request
 * counters and the flags marked (mu). The atomics are read without it. No
 * I/O under mu except the registry's save (a small file, rare).
 *
 * Jobs: an RPC handler that needs another thread (a table add or drop, a
 * schema read on the ingest thread; a commit or compaction on the
 * maintenance thread) queues a dmn_job and parks its call; the worker runs
 * it, marks it done and calls srv_wake, and the retried handler answers. A
 * job is refcounted (queue/worker + the parked call), so a call abandoned
 * mid-job (client gone, deadline) just drops its reference.
 */
#ifndef FLOE_SERVER_DAEMON_INT_H
#define FLOE_SERVER_DAEMON_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "server/daemon.h"
#include "server/server.h"

typedef enum dmn_job_kind {
  /* ingest thread */
  DMN_JOB_ADD,
  DMN_JOB_REMOVE,
  DMN_JOB_SCHEMA,
  /* maintenance thread */
  DMN_JOB_FLUSH, /* table "" = every table */
  DMN_JOB_COMPACT,
  DMN_JOB_RELIEVE, /* memory pressure: flush the biggest tables */
} dmn_job_kind;

typedef struct dmn_job {
  struct dmn_job *next;
  atomic_int refs;
  atomic_bool done;
  dmn_job_kind kind;
  char qname[DMN_QNAME_MAX];
  char schema[64], table[64];
  uint32_t flags; /* REMOVE: RPC_DROP_PURGE; COMPACT: RPC_OPTIMIZE_FORCE */
  floe_table_config cfg; /* ADD */
  /* results */
  floe_status st;
  floe_error err;
  uint64_t lsn;          /* FLUSH: lowest durable LSN */
  int64_t snapshot_id;   /* FLUSH of one table: its snapshot (-1: none) */
  int64_t before, after; /* COMPACT: data files; RELIEVE: tables */
  farena arena;          /* SCHEMA: the reply's strings */
  rpc_schema_ok schema_ok;
} dmn_job;

/* What a parked call keeps in call->pending. */
typedef enum { PEND_READ, PEND_JOB } dmn_pend_kind;
typedef struct dmn_pending {
  dmn_pend_kind kind;
  /* PEND_READ */
  uint64_t min_lsn;
  uint64_t lsn_seq; /* the WAL-position request to wait for */
  bool have_lsn;
  bool lenient; /* an LSN was given: a failed position query is no error */
  /* PEND_JOB */
  dmn_job *job;
} dmn_pending;

struct dmn_daemon {
  /* settings (owned copies) */
  char *conninfo; /* with password, as given; never logged */
  char *name, *warehouse, *catalog, *catalog_uri, *catalog_wh;
  char source_desc[256]; /* host/port/dbname/user only */
  int64_t memory_limit;
  floe_table_config table_cfg; /* engine defaults + the set knobs */
  cfg_engine knobs;            /* the knobs set (config, flags, registry) */
  char *socket_path;

  const dmn_source_ops *ops;
  _Atomic(void *) src; /* set once the source is open */
  const flog *log;
  srv_server *srv;
  int64_t started_ms; /* monotonic */

  pthread_mutex_t mu;
  pthread_cond_t src_cv, maint_cv, aux_cv;
  dmn_registry reg;            /* (mu) */
  dmn_job *ingest_q, *maint_q; /* (mu) FIFO heads */
  bool relieve_queued;         /* (mu) */
  uint64_t relieve_done;       /* (mu) RELIEVE jobs finished */
  int64_t relieve_freed;       /* (mu) bytes the last one freed */
  /* LATEST reads: requests counted by the server thread, answered by the
   * aux thread with one query for every request made before it started */
  uint64_t lsn_req, lsn_done; /* (mu) */
  uint64_t lsn_value;         /* (mu) */
  floe_status lsn_st;         /* (mu) */
  floe_error lsn_err;         /* (mu) */

  atomic_bool stopping;
  atomic_bool maint_exited;
  atomic_bool finished;
  atomic_bool failed; /* the source failed: /healthz says so */
  atomic_int parked_reads;
  atomic_bool want_keepalive;
  atomic_llong mem_used;
  atomic_bool paused;                /* reading paused by the memory limit */
  char fail_msg[FLOE_ERROR_MSG_MAX]; /* (mu) */
};

int64_t dmn_mono_ms(void);
int64_t dmn_wall_ms(void);

/* Jobs. */
dmn_job *dmn_job_new(dmn_job_kind kind, floe_error *err);
void dmn_job_unref(dmn_job *j);
/* Queues j on its thread (takes a reference for the worker) and wakes it. */
void dmn_job_submit(dmn_daemon *d, dmn_job *j);
/* The worker finished j: marks it done, wakes parked calls, drops the
 * worker's reference. */
void dmn_job_finish(dmn_daemon *d, dmn_job *j);

/* The RPC handler table (daemon_rpc.c). */
void dmn_handlers(dmn_daemon *d, srv_handlers *h);

/* The status of the whole daemon as STATUS sends it (names: filter, n = 0:
 * all); strings in a. */
floe_status dmn_status_build(dmn_daemon *d, farena *a, const char **names,
                             uint32_t n, rpc_status_ok *out, floe_error *err);

/* The engine config of a registry table (NULL: a table without knobs of
 * its own): the daemon's, then its own knobs, then its share of the memory
 * limit. Call with d->mu held. A state-dir borrows the registry's string. */
floe_status dmn_table_config(dmn_daemon *d, const dmn_reg_table *t,
                             floe_table_config *out, floe_error *err);

/* Removes a dropped table's Iceberg table and local state (drop --purge). */
floe_status dmn_purge_table(dmn_daemon *d, const char *schema,
                            const char *table, floe_error *err);

#endif
