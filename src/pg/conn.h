/*
 * Connections to the source Postgres: one place that opens libpq connections
 * the way every other part of src/pg/ relies on, runs statements and turns
 * server errors into floe_error messages.
 *
 * A connection string is anything libpq takes: "host=... dbname=...", a
 * postgresql:// URI or a bare database name; libpq's PG* environment
 * variables and ~/.pgpass apply as usual (it is handed to PQconnectdbParams
 * with expand_dbname). On top of it floe sets, for every connection:
 *   - the session settings the text parsers depend on, through the startup
 *     "options" (appended after the user's own options, so they win):
 *     DateStyle=ISO, IntervalStyle=postgres, TimeZone=UTC,
 *     extra_float_digits=3, bytea_output=hex; and client_encoding=UTF8.
 *     They matter on the replication connection too: pgoutput renders
 *     values with the walsender's settings.
 *   - replication=database (PGX_CONN_REPLICATION) or replication=false;
 *   - connect_timeout=10 unless the string or PGCONNECT_TIMEOUT sets one;
 *   - fallback_application_name=floe.
 *
 * Secrets: no message or description floe produces contains the password.
 * Descriptions are built from host, port, dbname and user only, and libpq's
 * error text is scrubbed of the password it was given (libpq echoes pieces
 * of a malformed connection string).
 *
 * Servers older than 14 are refused (floe needs logical replication protocol
 * version 2, streaming of in-progress transactions).
 */
#ifndef FLOE_PG_CONN_H
#define FLOE_PG_CONN_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/error.h"

#define PGX_MIN_SERVER_VERSION 140000

typedef enum pgx_conn_kind {
  PGX_CONN_SQL = 0,         /* an ordinary session */
  PGX_CONN_REPLICATION = 1, /* replication=database: walsender + SQL */
} pgx_conn_kind;

typedef struct pgx_conn {
  PGconn *pg; /* owned; never NULL in an open pgx_conn */
  pgx_conn_kind kind;
  int server_version; /* PQserverVersion: 150004 for 15.4 */
  char desc[256];     /* "host=H port=P dbname=D user=U", no password */
} pgx_conn;

/* Opens a connection (blocking, bounded by connect_timeout). On success the
 * caller owns *out and closes it with pgx_conn_close. */
floe_status pgx_conn_open(const char *conninfo, pgx_conn_kind kind,
                          pgx_conn **out, floe_error *err);
void pgx_conn_close(pgx_conn *c);

/* The redacted description of the target, "host=H port=P dbname=D user=U"
 * (missing parts left out), for logs and status. Borrowed from c. */
static inline const char *pgx_conn_desc(const pgx_conn *c) { return c->desc; }

/* The same description for a connection string without connecting (values
 * the string leaves out are shown as libpq would default them from the
 * environment only when set there). Writes at most n bytes into out. */
floe_status pgx_conninfo_describe(const char *conninfo, char *out, size_t n,
                                  floe_error *err);

/* Runs sql (no parameters) and discards any rows. what names the step in
 * the error message ("create publication"). */
floe_status pgx_exec(pgx_conn *c, const char *what, const char *sql,
                     floe_error *err);

/* Runs sql with text parameters ($1..$n; NULL entries are SQL NULL). On
 * success *out holds a PGRES_TUPLES_OK or PGRES_COMMAND_OK result the caller
 * frees with PQclear. On failure *out is NULL and, when sqlstate is not NULL,
 * the server's five-character SQLSTATE (or "" when the failure was not a
 * server error) is copied into sqlstate[6]. On a replication connection
 * (whose walsender speaks only the simple query protocol) the parameters are
 * inlined as PQescapeLiteral-quoted literals instead of being bound. */
floe_status pgx_query(pgx_conn *c, const char *what, const char *sql,
                      int nparams, const char *const *params, PGresult **out,
                      char *sqlstate, floe_error *err);

/* Fills err from a failed result (r may be NULL: then the connection's error
 * is used): "<what>: <message> (DETAIL ...) (HINT ...) [SQLSTATE]". Returns
 * the status: FLOE_EIO for connection and server errors, FLOE_ENOTFOUND for
 * undefined-object class errors (42704, 42P01, 3D000), FLOE_EEXIST for
 * 42710/42P07. */
floe_status pgx_result_error(pgx_conn *c, const PGresult *r, const char *what,
                             floe_error *err);

/* Appends name as a quoted SQL identifier (PQescapeIdentifier) to b. */
floe_status pgx_sql_ident(pgx_conn *c, fbuf *b, const char *name,
                          floe_error *err);
/* Appends "schema"."name". */
floe_status pgx_sql_qname(pgx_conn *c, fbuf *b, const char *schema,
                          const char *name, floe_error *err);
/* Appends s as a quoted SQL string literal (PQescapeLiteral) to b. */
floe_status pgx_sql_literal(pgx_conn *c, fbuf *b, const char *s,
                            floe_error *err);
/* Appends fbuf's terminating NUL without counting it in len, so b->data is a
 * C string (the buffer stays appendable). */
floe_status pgx_sql_cstr(fbuf *b, floe_error *err);

/* ---- LSNs ---- */

/* Longest "XXXXXXXX/XXXXXXXX" plus NUL. */
#define PGX_LSN_STR 18

/* Parses Postgres' "X/Y" (hex halves) form; false when s is not one. */
bool pgx_lsn_parse(const char *s, uint64_t *out);
/* Writes the "X/Y" form (upper-case hex, as Postgres prints it); returns
 * out. */
char *pgx_lsn_format(uint64_t lsn, char out[PGX_LSN_STR]);

#endif
