/*
 * The publication and the logical replication slot of a mirror.
 *
 * Names: a mirror named M uses publication "floe_M" and slot "floe_M".
 * Postgres allows only lower-case letters, digits and underscores in slot
 * names, at most 63 bytes, so a mirror name is 1..58 characters of
 * [a-z0-9_] (pgx_mirror_name_check says so when it is not). A user may bring
 * an existing publication of any name instead; floe then only verifies it.
 *
 * Every identifier floe puts into SQL is quoted with PQescapeIdentifier (or
 * passed as a parameter), so any table name works, `Weird "Name"; x`
 * included.
 *
 * The publication floe creates has publish_via_partition_root = true: a
 * partitioned table streams as its root, one table, like its initial copy.
 * The slot uses pgoutput and is persistent; pgx_slot_drop removes it
 * (`floe drop`).
 */
#ifndef FLOE_PG_SLOT_H
#define FLOE_PG_SLOT_H

#include "pg/conn.h"

#define PGX_MIRROR_NAME_MAX 58 /* 63 (NAMEDATALEN - 1) - strlen("floe_") */
#define PGX_NAME_MAX 64        /* NAMEDATALEN: any object name + NUL */

/* FLOE_EINVAL with the rule when mirror is not 1..58 of [a-z0-9_]. */
floe_status pgx_mirror_name_check(const char *mirror, floe_error *err);
/* Writes "floe_<mirror>" (the slot's and publication's name) into out after
 * checking mirror. */
floe_status pgx_mirror_object_name(const char *mirror, char out[PGX_NAME_MAX],
                                   floe_error *err);

typedef struct pgx_table_name {
  const char *schema;
  const char *name;
} pgx_table_name;

/* ---- publication (on a SQL or replication=database connection) ---- */

/* *exists, and *all_tables (FOR ALL TABLES: membership is implicit; may be
 * NULL) of publication pub. */
floe_status pgx_pub_exists(pgx_conn *c, const char *pub, bool *exists,
                           bool *all_tables, floe_error *err);

/* Creates publication pub with the n tables (n may be 0) and
 * publish_via_partition_root = true when it does not exist (*created =
 * true); when it exists (an earlier run, or a concurrent creator) adds the
 * tables it lacks. */
floe_status pgx_pub_ensure(pgx_conn *c, const char *pub,
                           const pgx_table_name *tables, int n, bool *created,
                           floe_error *err);

/* A user-given publication: FLOE_ENOTFOUND unless pub exists and publishes
 * each of the n tables (the message names the first missing one and the
 * ALTER PUBLICATION that adds it). */
floe_status pgx_pub_verify(pgx_conn *c, const char *pub,
                           const pgx_table_name *tables, int n,
                           floe_error *err);

/* Whether pub publishes schema.table (directly, through FOR ALL TABLES or
 * FOR TABLES IN SCHEMA; a partitioned table counts when the publication
 * publishes it via its root). */
floe_status pgx_pub_has_table(pgx_conn *c, const char *pub, const char *schema,
                              const char *table, bool *has, floe_error *err);

/* Adds schema.table to pub; nothing when it is already a member. */
floe_status pgx_pub_add_table(pgx_conn *c, const char *pub, const char *schema,
                              const char *table, floe_error *err);
/* Removes schema.table from pub; nothing when it is not a member. */
floe_status pgx_pub_remove_table(pgx_conn *c, const char *pub,
                                 const char *schema, const char *table,
                                 floe_error *err);
/* Drops pub if it exists. */
floe_status pgx_pub_drop(pgx_conn *c, const char *pub, floe_error *err);

/* ---- replication slot ---- */

typedef struct pgx_slot {
  char name[PGX_NAME_MAX];
  bool created; /* made by this call; false: an existing slot reused */
  /* created: the consistent point (streaming starts here; the snapshot
   * shows exactly the transactions committed before it);
   * reused: the slot's confirmed_flush_lsn */
  uint64_t lsn;
  /* created: the exported snapshot's name, valid only while the replication
   * connection that created the slot stays open and runs nothing else;
   * "" for a reused slot */
  char snapshot[PGX_NAME_MAX];
} pgx_slot;

typedef struct pgx_slot_state {
  bool exists;
  bool logical; /* slot_type = 'logical' */
  bool active;  /* a walsender uses it now */
  bool temporary;
  char plugin[PGX_NAME_MAX];
  char database[PGX_NAME_MAX];
  uint64_t confirmed_flush; /* 0 when unknown */
  uint64_t restart_lsn;
} pgx_slot_state;

/* Reads pg_replication_slots for name. */
floe_status pgx_slot_lookup(pgx_conn *c, const char *name, pgx_slot_state *out,
                            floe_error *err);

/* CREATE_REPLICATION_SLOT name [TEMPORARY] LOGICAL pgoutput with an exported
 * snapshot, on a replication connection. FLOE_EEXIST when the slot exists.
 * Afterwards repl must stay idle until every connection that needs the
 * snapshot has imported it (pgx_copy_open does). */
floe_status pgx_slot_create(pgx_conn *repl, const char *name, bool temporary,
                            pgx_slot *out, floe_error *err);

/* Reuses slot name when it exists (it must be a logical pgoutput slot of
 * this database: FLOE_EINVAL otherwise; no snapshot: the caller decides
 * whether a copy is needed), else creates it as pgx_slot_create. */
floe_status pgx_slot_ensure(pgx_conn *repl, const char *name, pgx_slot *out,
                            floe_error *err);

/* Drops slot name; *dropped (may be NULL) says whether there was one. An
 * active slot (a stream still runs) fails with its server error. */
floe_status pgx_slot_drop(pgx_conn *c, const char *name, bool *dropped,
                          floe_error *err);

#endif
