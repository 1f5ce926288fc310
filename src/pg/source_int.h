/*
 * Internals of the Postgres source (source*.c). Not a contract: source.h is.
 *
 * Who touches what:
 *   - everything but the fields marked (mu) belongs to the ingest thread;
 *   - s->mu guards the table list and every field a status reader copies
 *     (marked (mu)); the ingest thread writes them under mu and reads them
 *     without it;
 *   - a pgs_tab is refcounted: the list holds one reference, pgs_tick one
 *     while it ticks the table, a reader in pgs_read_state_get one while it
 *     waits; the last one closes the floe table (a tick never runs on a
 *     closed table).
 */
#ifndef FLOE_PG_SOURCE_INT_H
#define FLOE_PG_SOURCE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "pg/pgoutput.h"
#include "pg/relinfo.h"
#include "pg/slot.h"
#include "pg/source.h"
#include "pg/stream.h"

/* One column of the source table as the stream describes it (the latest
 * Relation message), and where its values go. */
typedef struct pgs_col {
  char *name;
  uint32_t type_oid;
  int32_t typmod;
  pgt_map map;   /* how a text value is parsed (maybe widened to eng) */
  int eng;       /* floe column index; -1: not stored */
  bool convert;  /* parse into scratch (map.type), then widen into eng */
  col_column sc; /* scratch when convert */
} pgs_col;

/* The spool of a table whose copy runs while the stream goes on. */
typedef struct pgs_spool {
  FILE *f;
  int64_t records, bytes;
} pgs_spool;

/* A leaf partition as the catalog showed it (check_leaves). */
typedef struct pgs_leaf {
  uint32_t oid, node; /* pg_class oid, relfilenode */
  char *name;         /* "schema.name", for messages */
} pgs_leaf;

/* Leaves that lost their rows outside the stream, seen by a catalog check
 * whose snapshot lies between WAL positions base and seen; judged once the
 * stream has passed seen. */
typedef struct pgs_leaf_event {
  uint64_t base, seen;
  char what[320];
} pgs_leaf_event;

#define PGS_LEAF_EVENTS 4

typedef struct pgs_tab {
  atomic_int refs;
  char *schema, *table, *ns, *name; /* source; floe */
  pgs_copy_mode copy;
  bool own_cfg;          /* the spec gave cfg (else s->o.table) */
  floe_table_config cfg; /* its state_dir is state_dir below */
  char *state_dir;
  uint32_t oid; /* the source relation (the root of a partitioned table) */
  pgx_ident ident;
  floe_table *t;    /* NULL when it never opened */
  bool close_clean; /* floe_table_close (vs free) when the last ref goes */
  floe_row *row, *old;
  /* source attnum of each floe column (-1: unknown), for renames */
  int natt;
  int16_t *att;
  /* relation cache: valid after a Relation message in this session */
  bool rel_valid;
  int nrc;
  pgs_col *rc;
  bool has_unchanged; /* scratch: the current update's new row has 'u' */
  /* the last Relation message for the table (whatever its state): a resync
   * starts its new relation cache from it, since the walsender sends a
   * Relation only once per session and schema */
  uint8_t *rel_raw;
  size_t rel_raw_len;
  /* a running copy of a table added later spools its stream changes */
  pgs_spool *spool;
  uint64_t drop_lsn; /* the source table is gone as of this WAL position */
  /* a partitioned table: its leaves as the last catalog check saw them */
  bool partitioned, leaf_init;
  int nleaf;
  pgs_leaf *leaf;
  uint64_t leaf_base;      /* WAL position read before that check */
  uint64_t root_trunc_lsn; /* the latest Truncate of the table streamed */
  int nlev;
  pgs_leaf_event lev[PGS_LEAF_EVENTS];
  atomic_int tick_failed; /* pgs_tick saw an error (message: last_error) */
  /* ingest-side counters */
  int64_t rate_base, rate_ms;
  /* (mu) */
  pgs_state state;
  char last_error[FLOE_ERROR_MSG_MAX];
  int64_t changes;
  double rate;
  int64_t last_commit_us; /* source commit time of the last applied commit */
  uint64_t copy_lsn;
  int64_t copy_rows;
  double copy_eta;
} pgs_tab;

/* A table's part in a source transaction. */
typedef struct pgs_xtab {
  pgs_tab *tab;
  bool skip;   /* a replay of a commit at or below the table's applied LSN */
  bool failed; /* a change failed; decided at the commit (see apply) */
  int64_t changes;
  char *err; /* failed: the message (malloc'd) */
} pgs_xtab;

typedef struct pgs_xact {
  uint32_t xid;
  bool streamed;
  uint64_t final_lsn; /* non-streamed: the commit record's LSN (Begin) */
  int n, cap;
  pgs_xtab *v;
} pgs_xact;

/* A (oid, typmod) resolved for pgt_map_type. */
typedef struct pgs_type {
  uint32_t oid;
  int32_t typmod;
  pgx_col col; /* type fields only; strings in the source's arena */
} pgs_type;

struct pgs_source {
  pgs_opts o; /* strings below are owned copies */
  char *conninfo, *mirror, *pubname_opt, *catalog_uri, *warehouse,
      *catalog_name, *spool_dir;
  char slot[PGX_NAME_MAX], pub[PGX_NAME_MAX];
  bool own_pub;
  char desc[256];
  pgx_conn *sql; /* catalog queries, publication changes */
  pgx_stream *stream;
  pgo_decoder dec;
  fbuf scratch; /* array element unescapes */
  farena arena; /* resolved type names */
  int ntype, captype;
  pgs_type *types;

  pthread_mutex_t mu;
  int ntab, captab;
  pgs_tab **tabs; /* (mu) for the list itself */

  /* transactions */
  pgs_xact cur; /* the non-streamed transaction being delivered */
  bool in_txn;
  int nstx, capstx;
  pgs_xact *stx;       /* open streamed transactions */
  uint32_t stream_xid; /* top xid of the current stream segment */
  uint64_t pos;        /* every commit <= pos is delivered and handled */
  uint64_t last_durable;
  bool adding; /* inside pgs_add_table's copy: no nested adds */
  int tmpseq;
  int64_t n_msg, n_ign, n_txn; /* published into the (mu) counters */

  bool failed; /* the mirror as a whole */
  floe_error fail;
  atomic_int stop_req;
  /* the stream caught up: a keepalive came with nothing in delivery
   * (cleared by the next Begin / Stream Start); read by pgs_tick */
  atomic_int caught_up;
  bool stopped;
  int64_t last_check_ms, last_rate_ms;

  /* (mu) */
  pgs_state state;
  char last_error[FLOE_ERROR_MSG_MAX];
  pgx_stream_stats sst;
  int64_t messages, ignored, transactions;
};

/* ---- source.c ---- */
int64_t pgs_now_ms(void);
/* The table mirroring relation oid, or NULL. */
pgs_tab *pgs_tab_by_oid(pgs_source *s, uint32_t oid);
/* Puts tab into state st with message msg (NULL keeps the last one) and
 * logs it; open engine transactions of tab are dropped when it stops
 * applying. */
void pgs_tab_set_state(pgs_source *s, pgs_tab *tab, pgs_state st,
                       const char *msg);
/* The catalog connection, reconnected when the server dropped it. */
floe_status pgs_sql(pgs_source *s, pgx_conn **out, floe_error *err);
/* The floe columns for a discovered table (names borrowed from rel). */
floe_status pgs_rel_columns(pgs_source *s, const pgx_rel *rel,
                            floe_column **cols, floe_error *err);
/* Rebuilds tab->row/old after the floe table's schema changed. */
floe_status pgs_tab_rows(pgs_tab *tab, floe_error *err);

/* ---- source_apply.c ---- */
/* The stream's on_message: one pgoutput message. A failure is the
 * mirror's (the caller sets s->failed). */
floe_status pgs_handle(pgs_source *s, uint64_t wal_start, const uint8_t *data,
                       size_t len, floe_error *err);
/* Drops every open transaction (a reconnect). */
void pgs_drop_xacts(pgs_source *s);
/* Drops tab's part of every open transaction (it stopped applying). */
void pgs_xacts_forget_tab(pgs_source *s, pgs_tab *tab);
/* Advances every streaming table to lsn. */
void pgs_advance_all(pgs_source *s, uint64_t lsn);
/* Replays tab's spool after its copy committed at copy_lsn. */
floe_status pgs_spool_replay(pgs_source *s, pgs_tab *tab, floe_error *err);
void pgs_spool_free(pgs_spool *sp);
floe_status pgs_spool_open(pgs_source *s, pgs_spool **out, floe_error *err);
/* Spools a Relation message received before the spool existed. */
floe_status pgs_spool_relation(pgs_spool *sp, const uint8_t *p, size_t n,
                               floe_error *err);
/* A reconnect: every spool records that its open transactions restart. */
floe_status pgs_spool_restart(pgs_source *s, floe_error *err);

/* ---- source_schema.c ---- */
/* A Relation message for tab: compares it with the floe table, evolves the
 * schema (add, drop, rename, widening), rebuilds the relation cache. A
 * change floe cannot map pauses tab (FLOE_OK returned). Errors are tab's:
 * the caller puts tab into PGS_ERROR. */
floe_status pgs_relation(pgs_source *s, pgs_tab *tab, bool stale,
                         const pgo_msg *m, floe_error *err);
void pgs_tab_rc_free(pgs_tab *tab);
/* Builds the value map of a column of type (oid, typmod) for floe column
 * type eng (NULL: the mapped type). *convert: parse then widen. Fails with
 * FLOE_EUNSUPPORTED when the values cannot go into eng. */
floe_status pgs_col_map(pgs_source *s, uint32_t oid, int32_t typmod,
                        const floe_column *eng, pgt_map *out, bool *convert,
                        floe_error *err);

#endif
