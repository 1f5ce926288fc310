/*
 * Table discovery: what the mirror of schema.table needs to know about it
 * before copying and streaming: its columns with resolved types, the row
 * identity, and the relations that hold its rows (the table, or the leaf
 * partitions of a partitioned table).
 *
 * Columns are those pgoutput sends: attnum > 0, not dropped, not generated,
 * in attnum order (the order of Relation and tuple messages).
 *
 * Row identity follows the table's REPLICA IDENTITY, because that decides
 * what Postgres logs for the old row of an UPDATE or DELETE:
 *   DEFAULT with a primary key      -> PGX_IDENT_PK, the key's columns
 *   USING INDEX i                   -> PGX_IDENT_INDEX, i's columns
 *   FULL with a primary key         -> PGX_IDENT_PK (old rows carry it)
 *   FULL without one                -> PGX_IDENT_FULL, every column
 *   DEFAULT without a key, NOTHING  -> refused (FLOE_EUNSUPPORTED) with the
 *     exact statement to run, ALTER TABLE "s"."t" REPLICA IDENTITY FULL;
 *     floe runs it itself only when opts->set_replica_full is set (with
 *     SET LOCAL lock_timeout so it never queues behind a long lock).
 * For a partitioned table the old rows come from its leaf partitions, so
 * each leaf is checked the same way (a primary key on the root reaches every
 * leaf; FULL does not propagate and must be set per leaf).
 */
#ifndef FLOE_PG_RELINFO_H
#define FLOE_PG_RELINFO_H

#include "pg/conn.h"
#include "util/arena.h"

typedef enum pgx_ident {
  PGX_IDENT_PK = 0,    /* primary key columns */
  PGX_IDENT_INDEX = 1, /* REPLICA IDENTITY USING INDEX columns */
  PGX_IDENT_FULL = 2,  /* REPLICA IDENTITY FULL, no key: the whole row */
} pgx_ident;

/* Type facts for the type mapping. typtype letters are pg_type's: 'b' base,
 * 'd' domain, 'e' enum, 'c' composite, 'r' range, 'm' multirange,
 * 'p' pseudo. Names are pg_type.typname ("int4", "citext", "_text"). */
typedef struct pgx_col {
  int16_t attnum;
  const char *name;
  uint32_t type_oid; /* as declared (may be a domain) */
  int32_t typmod;    /* atttypmod, -1 when none */
  char typtype;
  const char *type_sql; /* format_type(): "numeric(10,2)", "my_domain" */
  bool not_null;
  /* domains resolved to their base type (= type_oid/typmod otherwise); a
   * domain's typmod is the innermost domain's, as Postgres resolves it */
  uint32_t base_oid;
  int32_t base_typmod;
  char base_typtype;
  const char *base_name;
  /* when the base type is an array (typsubscript is
   * array_subscript_handler): its element type, domains resolved
   * (typmod = the array's typmod, which applies to elements); else 0 */
  uint32_t elem_oid;
  int32_t elem_typmod;
  char elem_typtype;
  const char *elem_name; /* NULL when not an array */
  char elem_delim;       /* the element's typdelim (',' but for box) */
  int key;               /* position in the row identity, -1 when not in it */
} pgx_col;

/* A relation that physically holds rows of the table. */
typedef struct pgx_part {
  uint32_t oid;
  const char *schema;
  const char *name;
  int64_t pages; /* pg_relation_size / block_size at discovery */
} pgx_part;

typedef struct pgx_rel {
  uint32_t oid;
  const char *schema;
  const char *name;
  char relkind;    /* 'r' table, 'p' partitioned table */
  char replident;  /* 'd' default, 'n' nothing, 'f' full, 'i' index */
  pgx_ident ident; /* see the header comment */
  int ncols;
  pgx_col *cols;
  int nkey;
  int *key; /* nkey indexes into cols, in key order */
  int nparts;
  pgx_part *parts; /* the table itself, or its leaf partitions */
  int64_t pages;   /* sum over parts */
  int64_t bytes;   /* pages * block_size */
  int block_size;  /* the server's, usually 8192 */
  farena arena;    /* owns every pointer above */
} pgx_rel;

typedef struct pgx_rel_opts {
  /* a table (or leaf) without a usable identity gets REPLICA IDENTITY FULL
   * instead of an error */
  bool set_replica_full;
  int lock_timeout_ms; /* for that ALTER; 0 means 5000 */
} pgx_rel_opts;

/* Discovers schema.table (names as stored, unquoted). opts may be NULL.
 * FLOE_ENOTFOUND when it does not exist, FLOE_EUNSUPPORTED when it is not a
 * table or partitioned table, or has no usable row identity (the message
 * names the ALTER TABLE to run). On success the caller owns *out and frees
 * it with pgx_rel_free. */
floe_status pgx_rel_load(pgx_conn *c, const char *schema, const char *table,
                         const pgx_rel_opts *opts, pgx_rel **out,
                         floe_error *err);
void pgx_rel_free(pgx_rel *r);

/* Index of the column named name, or -1. */
int pgx_rel_find_col(const pgx_rel *r, const char *name);

/* Runs ALTER TABLE "schema"."table" REPLICA IDENTITY FULL in a transaction
 * with SET LOCAL lock_timeout (lock_timeout_ms; 0 means 5000). */
floe_status pgx_rel_set_replica_full(pgx_conn *c, const char *schema,
                                     const char *table, int lock_timeout_ms,
                                     floe_error *err);

#endif
