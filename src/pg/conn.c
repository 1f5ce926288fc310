/* libpq connections with floe's session settings, redacted descriptions and
 * server errors turned into floe_error messages. */
#include "pg/conn.h"

#include "pg/pgtypes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The settings the text parsers (COPY and pgoutput values) rely on. */
static const char SESSION_OPTIONS[] = PGT_SESSION_OPTIONS;

/* Whether libpq's expand_dbname treats s as a connection string rather than
 * a plain database name (the same test libpq makes). */
static bool is_conninfo(const char *s) {
  return strchr(s, '=') != NULL || strncmp(s, "postgresql://", 13) == 0 ||
         strncmp(s, "postgres://", 11) == 0;
}

/* Replaces every occurrence of secret in msg (in place) by "********". */
static void scrub(char *msg, size_t cap, const char *secret) {
  if (!secret || !*secret) return;
  static const char mask[] = "********";
  size_t sl = strlen(secret), ml = sizeof mask - 1;
  char *p = msg;
  while ((p = strstr(p, secret)) != NULL) {
    size_t tail = strlen(p + sl);
    if (ml > sl && (size_t)(p - msg) + ml + tail + 1 > cap) {
      /* no room to grow: blank the secret in place instead */
      memset(p, '*', sl);
      p += sl;
      continue;
    }
    memmove(p + ml, p + sl, tail + 1);
    memcpy(p, mask, ml);
    p += ml;
  }
}

/* Turns libpq's multi-line text into one line without the trailing
 * newline. */
static void one_line(char *s) {
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == ' ')) s[--n] = '\0';
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\n' || s[i] == '\t') s[i] = ' ';
}

/* Finds the password a malformed string would have given (the parser
 * refused it, so libpq's own parse cannot tell us): the value after a
 * "password" keyword or in a URI's user:password@ part. Copies at most
 * n - 1 bytes into out; "" when none. Errs on the side of masking more. */
static void guess_password(const char *ci, char *out, size_t n) {
  out[0] = '\0';
  const char *p = NULL;
  size_t len = 0;
  const char *u = strstr(ci, "://");
  if (u) {
    u += 3;
    const char *at = strchr(u, '@');
    const char *colon = strchr(u, ':');
    if (at && colon && colon < at) {
      p = colon + 1;
      len = (size_t)(at - p);
    }
  }
  if (!p) {
    const char *k = strstr(ci, "password");
    if (k) {
      k += 8;
      while (*k == ' ' || *k == '=') k++;
      if (*k == '\'') k++;
      p = k;
      while (k[len] && k[len] != ' ' && k[len] != '\'' && k[len] != '&') len++;
    }
  }
  if (!p || len == 0) return;
  if (len >= n) len = n - 1;
  memcpy(out, p, len);
  out[len] = '\0';
}

/* The value of keyword in a PQconninfoParse result, NULL when unset. */
static const char *opt_value(PQconninfoOption *opts, const char *keyword) {
  for (PQconninfoOption *o = opts; o && o->keyword; o++)
    if (strcmp(o->keyword, keyword) == 0)
      return o->val && *o->val ? o->val : NULL;
  return NULL;
}

static void describe_parts(char *out, size_t n, const char *host,
                           const char *port, const char *db, const char *user) {
  size_t len = 0;
  out[0] = '\0';
  const char *keys[] = {"host", "port", "dbname", "user"};
  const char *vals[] = {host, port, db, user};
  for (int i = 0; i < 4; i++) {
    if (!vals[i] || !*vals[i] || len >= n) continue;
    int w = snprintf(out + len, n - len, "%s%s=%s", len ? " " : "", keys[i],
                     vals[i]);
    if (w < 0) break;
    len += (size_t)w;
  }
  if (len >= n && n > 4) memcpy(out + n - 4, "...", 4);
}

/* Parses conninfo (a plain database name parses as dbname). *opts is NULL
 * for a plain name; otherwise the caller frees it with PQconninfoFree. */
static floe_status parse_conninfo(const char *conninfo, PQconninfoOption **opts,
                                  floe_error *err) {
  *opts = NULL;
  if (!is_conninfo(conninfo)) return FLOE_OK;
  char *msg = NULL;
  *opts = PQconninfoParse(conninfo, &msg);
  if (*opts) return FLOE_OK;
  char text[FLOE_ERROR_MSG_MAX], pw[256];
  snprintf(text, sizeof text, "%s", msg ? msg : "out of memory");
  PQfreemem(msg);
  one_line(text);
  guess_password(conninfo, pw, sizeof pw);
  scrub(text, sizeof text, pw);
  return ferr_set(err, FLOE_EINVAL, "invalid connection string: %s", text);
}

floe_status pgx_conninfo_describe(const char *conninfo, char *out, size_t n,
                                  floe_error *err) {
  PQconninfoOption *opts = NULL;
  FLOE_TRY(parse_conninfo(conninfo, &opts, err));
  const char *host = opts ? opt_value(opts, "host") : NULL;
  const char *port = opts ? opt_value(opts, "port") : NULL;
  const char *db = opts ? opt_value(opts, "dbname") : conninfo;
  const char *user = opts ? opt_value(opts, "user") : NULL;
  if (!host) host = getenv("PGHOST");
  if (!port) port = getenv("PGPORT");
  if (!db) db = getenv("PGDATABASE");
  if (!user) user = getenv("PGUSER");
  describe_parts(out, n, host, port, db, user);
  PQconninfoFree(opts);
  return FLOE_OK;
}

static void drop_notice(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

floe_status pgx_conn_open(const char *conninfo, pgx_conn_kind kind,
                          pgx_conn **out, floe_error *err) {
  *out = NULL;
  PQconninfoOption *opts = NULL;
  FLOE_TRY(parse_conninfo(conninfo, &opts, err));
  /* the user's own options (string, else PGOPTIONS) first, ours last: for
   * a setting given twice the server keeps the last */
  const char *user_opts = opts ? opt_value(opts, "options") : NULL;
  if (!user_opts) user_opts = getenv("PGOPTIONS");
  char options[1024];
  int w =
      snprintf(options, sizeof options, "%s%s%s", user_opts ? user_opts : "",
               user_opts ? " " : "", SESSION_OPTIONS);
  bool has_timeout = (opts && opt_value(opts, "connect_timeout")) ||
                     getenv("PGCONNECT_TIMEOUT");
  PQconninfoFree(opts);
  if (w < 0 || (size_t)w >= sizeof options)
    return ferr_set(err, FLOE_EINVAL,
                    "connection string: options are too long (%d bytes)", w);

  /* expand_dbname: conninfo comes first; later keywords override it */
  const char *keys[8], *vals[8];
  int k = 0;
  keys[k] = "dbname", vals[k++] = conninfo;
  keys[k] = "options", vals[k++] = options;
  keys[k] = "client_encoding", vals[k++] = "UTF8";
  keys[k] = "replication",
  vals[k++] = kind == PGX_CONN_REPLICATION ? "database" : "false";
  keys[k] = "fallback_application_name", vals[k++] = "floe";
  if (!has_timeout) keys[k] = "connect_timeout", vals[k++] = "10";
  keys[k] = NULL, vals[k] = NULL;

  PGconn *pg = PQconnectdbParams(keys, vals, 1);
  if (!pg) return ferr_nomem(err, sizeof(void *));
  pgx_conn *c = calloc(1, sizeof *c);
  if (!c) {
    PQfinish(pg);
    return ferr_nomem(err, sizeof *c);
  }
  c->pg = pg;
  c->kind = kind;
  describe_parts(c->desc, sizeof c->desc, PQhost(pg), PQport(pg), PQdb(pg),
                 PQuser(pg));
  if (PQstatus(pg) != CONNECTION_OK) {
    char text[FLOE_ERROR_MSG_MAX], pw[256];
    snprintf(text, sizeof text, "%s", PQerrorMessage(pg));
    one_line(text);
    scrub(text, sizeof text, PQpass(pg));
    guess_password(conninfo, pw, sizeof pw);
    scrub(text, sizeof text, pw);
    ferr_set(err, FLOE_EIO, "connect to %s: %s", c->desc, text);
    pgx_conn_close(c);
    return FLOE_EIO;
  }
  /* server notices ("table does not exist, skipping") are not errors and
   * must not reach the host's stderr */
  PQsetNoticeProcessor(pg, drop_notice, NULL);
  c->server_version = PQserverVersion(pg);
  if (c->server_version < PGX_MIN_SERVER_VERSION) {
    ferr_set(err, FLOE_EUNSUPPORTED,
             "%s runs Postgres %d.%d; floe needs Postgres 14 or later "
             "(logical replication protocol version 2)",
             c->desc, c->server_version / 10000,
             c->server_version % 10000 /
                 (c->server_version >= 100000 ? 1 : 100));
    pgx_conn_close(c);
    return FLOE_EUNSUPPORTED;
  }
  *out = c;
  return FLOE_OK;
}

void pgx_conn_close(pgx_conn *c) {
  if (!c) return;
  PQfinish(c->pg);
  free(c);
}

static floe_status status_for_sqlstate(const char *st) {
  if (!st) return FLOE_EIO;
  if (!strcmp(st, "42704") || !strcmp(st, "42P01") || !strcmp(st, "3D000") ||
      !strcmp(st, "3F000"))
    return FLOE_ENOTFOUND;
  if (!strcmp(st, "42710") || !strcmp(st, "42P07")) return FLOE_EEXIST;
  return FLOE_EIO;
}

floe_status pgx_result_error(pgx_conn *c, const PGresult *r, const char *what,
                             floe_error *err) {
  const char *primary =
      r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  char text[FLOE_ERROR_MSG_MAX];
  if (!primary) {
    snprintf(text, sizeof text, "%s",
             r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r)
                                           : PQerrorMessage(c->pg));
    one_line(text);
    if (!*text) snprintf(text, sizeof text, "unexpected reply from server");
    scrub(text, sizeof text, PQpass(c->pg));
    return ferr_set(err, FLOE_EIO, "%s (%s): %s", what, c->desc, text);
  }
  const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
  const char *hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
  const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  snprintf(text, sizeof text, "%s%s%s%s%s%s%s [%s]", primary,
           detail ? " (" : "", detail ? detail : "", detail ? ")" : "",
           hint ? " (hint: " : "", hint ? hint : "", hint ? ")" : "",
           state ? state : "?");
  one_line(text);
  scrub(text, sizeof text, PQpass(c->pg));
  return ferr_set(err, status_for_sqlstate(state), "%s: %s", what, text);
}

/* Builds sql with each $N replaced by params[N-1] as a quoted literal (or
 * NULL). sql is floe's own constant text, where '$' only starts a
 * parameter. */
static floe_status inline_params(pgx_conn *c, fbuf *q, const char *sql,
                                 int nparams, const char *const *params,
                                 floe_error *err) {
  for (const char *p = sql; *p;) {
    if (*p != '$' || p[1] < '0' || p[1] > '9') {
      FLOE_TRY(fbuf_put_u8(q, (uint8_t)*p++, err));
      continue;
    }
    int n = 0;
    for (p++; *p >= '0' && *p <= '9' && n < 100000; p++)
      n = n * 10 + (*p - '0');
    if (n < 1 || n > nparams)
      return ferr_set(err, FLOE_EINVAL, "query parameter $%d of %d", n,
                      nparams);
    if (!params[n - 1]) {
      FLOE_TRY(fbuf_append(q, "NULL", 4, err));
    } else {
      FLOE_TRY(pgx_sql_literal(c, q, params[n - 1], err));
    }
  }
  return pgx_sql_cstr(q, err);
}

floe_status pgx_query(pgx_conn *c, const char *what, const char *sql,
                      int nparams, const char *const *params, PGresult **out,
                      char *sqlstate, floe_error *err) {
  *out = NULL;
  if (sqlstate) sqlstate[0] = '\0';
  PGresult *r;
  if (nparams > 0 && c->kind == PGX_CONN_REPLICATION) {
    /* a walsender speaks only the simple query protocol */
    fbuf q = FBUF_INIT;
    floe_status st = inline_params(c, &q, sql, nparams, params, err);
    if (st != FLOE_OK) {
      fbuf_free(&q);
      return st;
    }
    r = PQexec(c->pg, (const char *)q.data);
    fbuf_free(&q);
  } else if (nparams > 0) {
    r = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
  } else {
    r = PQexec(c->pg, sql);
  }
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
    *out = r;
    return FLOE_OK;
  }
  if (sqlstate && r) {
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (s) snprintf(sqlstate, 6, "%s", s);
  }
  floe_status rc;
  if (r && st != PGRES_FATAL_ERROR && st != PGRES_NONFATAL_ERROR) {
    rc = ferr_set(err, FLOE_EIO, "%s: unexpected result %s", what,
                  PQresStatus(st));
  } else {
    rc = pgx_result_error(c, r, what, err);
  }
  PQclear(r);
  return rc;
}

floe_status pgx_exec(pgx_conn *c, const char *what, const char *sql,
                     floe_error *err) {
  PGresult *r = NULL;
  FLOE_TRY(pgx_query(c, what, sql, 0, NULL, &r, NULL, err));
  PQclear(r);
  return FLOE_OK;
}

static floe_status escaped(pgx_conn *c, fbuf *b, char *q, const char *what,
                           floe_error *err) {
  if (!q) {
    char text[FLOE_ERROR_MSG_MAX];
    snprintf(text, sizeof text, "%s", PQerrorMessage(c->pg));
    one_line(text);
    return ferr_set(err, FLOE_EINVAL, "cannot quote %s: %s", what, text);
  }
  floe_status st = fbuf_append(b, q, strlen(q), err);
  PQfreemem(q);
  return st;
}

floe_status pgx_sql_ident(pgx_conn *c, fbuf *b, const char *name,
                          floe_error *err) {
  return escaped(c, b, PQescapeIdentifier(c->pg, name, strlen(name)),
                 "identifier", err);
}

floe_status pgx_sql_qname(pgx_conn *c, fbuf *b, const char *schema,
                          const char *name, floe_error *err) {
  FLOE_TRY(pgx_sql_ident(c, b, schema, err));
  FLOE_TRY(fbuf_put_u8(b, '.', err));
  return pgx_sql_ident(c, b, name, err);
}

floe_status pgx_sql_literal(pgx_conn *c, fbuf *b, const char *s,
                            floe_error *err) {
  return escaped(c, b, PQescapeLiteral(c->pg, s, strlen(s)), "literal", err);
}

floe_status pgx_sql_cstr(fbuf *b, floe_error *err) {
  FLOE_TRY(fbuf_reserve(b, 1, err));
  b->data[b->len] = '\0';
  return FLOE_OK;
}

bool pgx_lsn_parse(const char *s, uint64_t *out) {
  uint64_t hi = 0, lo = 0;
  int nh = 0, nl = 0;
  const char *p = s;
  for (; *p && *p != '/'; p++, nh++) {
    int d = *p >= '0' && *p <= '9'   ? *p - '0'
            : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
            : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                     : -1;
    if (d < 0 || nh >= 8) return false;
    hi = hi << 4 | (uint64_t)d;
  }
  if (*p != '/' || nh == 0) return false;
  for (p++; *p; p++, nl++) {
    int d = *p >= '0' && *p <= '9'   ? *p - '0'
            : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
            : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                     : -1;
    if (d < 0 || nl >= 8) return false;
    lo = lo << 4 | (uint64_t)d;
  }
  if (nl == 0) return false;
  *out = hi << 32 | lo;
  return true;
}

char *pgx_lsn_format(uint64_t lsn, char out[PGX_LSN_STR]) {
  snprintf(out, PGX_LSN_STR, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32),
           (uint32_t)lsn);
  return out;
}
