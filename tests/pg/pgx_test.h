/*
 * Helpers shared by the src/pg tests (tests/pg/pg_*.c). The server comes
 * from the PG* environment variables that tests/pg/pgtest.sh exports; a test
 * binary run without FLOE_PG_TEST set skips (exit 77).
 */
#ifndef FLOE_TESTS_PGX_TEST_H
#define FLOE_TESTS_PGX_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pg/conn.h"

/* Opens a connection to the test server or fails the test. */
static inline pgx_conn *t_open(pgx_conn_kind kind) {
  pgx_conn *c = NULL;
  floe_error err;
  if (pgx_conn_open("", kind, &c, &err) != FLOE_OK)
    fail_msg("connect: %s", err.msg);
  return c;
}

static inline void t_exec(pgx_conn *c, const char *sql) {
  floe_error err;
  if (pgx_exec(c, "test", sql, &err) != FLOE_OK)
    fail_msg("%s: %s", sql, err.msg);
}

/* The one value of a one-row query, "<null>" for NULL. Returns a malloc'd
 * string the caller frees. */
static inline char *t_query1(pgx_conn *c, const char *sql) {
  floe_error err;
  PGresult *r = NULL;
  if (pgx_query(c, "test", sql, 0, NULL, &r, NULL, &err) != FLOE_OK)
    fail_msg("%s: %s", sql, err.msg);
  if (PQntuples(r) != 1) fail_msg("%s: %d rows", sql, PQntuples(r));
  char *out = strdup(PQgetisnull(r, 0, 0) ? "<null>" : PQgetvalue(r, 0, 0));
  PQclear(r);
  return out;
}

/* Asserts the one value of a one-row query. */
static inline void t_expect(pgx_conn *c, const char *sql, const char *want) {
  char *got = t_query1(c, sql);
  if (strcmp(got, want) != 0) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s: got \"%s\", want \"%s\"", sql, got, want);
    free(got);
    fail_msg("%s", msg);
  }
  free(got);
}

static inline int t_skip_unless_server(void) {
  if (getenv("FLOE_PG_TEST")) return 0;
  fprintf(stderr, "FLOE_PG_TEST not set: skipped (run through "
                  "tests/pg/test_*.sh)\n");
  return 77;
}

#endif
