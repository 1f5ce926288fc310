/* The replication stream: a copy-both libpq connection read asynchronously
 * with poll(), status updates on a timer, reconnects with backoff. */
#include "pg/stream.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg/pgoutput.h"
#include "pg/slot.h"

struct pgx_stream {
  pgx_stream_opts o; /* strings point into the copies below */
  pgx_stream_cbs cb;
  char *conninfo, *slot, *publication;
  pgx_conn *c;      /* NULL while disconnected */
  bool out_pending; /* libpq holds unsent bytes (nonblocking mode) */
  bool failed;      /* a final error: every poll returns it */
  floe_error final;
  int64_t last_status_ms;  /* monotonic */
  int64_t next_attempt_ms; /* when disconnected */
  int64_t connected_ms;
  int backoff_ms;
  bool got_data; /* this connection delivered a message */
  uint64_t start_lsn;
  pgx_stream_stats st;
};

/* ---- framing: the one place that reads and writes the CopyData payloads
 * (pgoutput.h's codecs) ---- */

floe_status pgx_frame_decode(const uint8_t *p, size_t n, pgx_frame *out,
                             floe_error *err) {
  memset(out, 0, sizeof *out);
  if (n == 0) return ferr_corrupt(err, "replication message: empty");
  out->kind = (char)p[0];
  if (p[0] == 'w') {
    pgo_xlogdata_msg m;
    FLOE_TRY(pgo_xlogdata(p, n, &m, err));
    out->wal_start = m.start_lsn;
    out->wal_end = m.end_lsn;
    out->send_time = m.send_time;
    out->data = m.data;
    out->len = m.len;
    return FLOE_OK;
  }
  if (p[0] == 'k') {
    pgo_keepalive_msg m;
    FLOE_TRY(pgo_keepalive(p, n, &m, err));
    out->wal_end = m.end_lsn;
    out->send_time = m.send_time;
    out->reply = m.reply_requested;
    return FLOE_OK;
  }
  return ferr_corrupt(err, "replication message: unknown type 0x%02x", p[0]);
}

void pgx_frame_status(uint8_t out[34], uint64_t write, uint64_t flush,
                      uint64_t apply, int64_t now_us2000, bool reply) {
  pgo_standby_status(out, write, flush, apply, now_us2000, reply);
}

/* ---- clocks ---- */

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_us2000(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - PGX_EPOCH_OFFSET_US;
}

/* ---- connection ---- */

static void note_error(pgx_stream *s, const char *msg) {
  snprintf(s->st.last_error, sizeof s->st.last_error, "%s", msg);
}

static void drop_conn(pgx_stream *s) {
  pgx_conn_close(s->c);
  s->c = NULL;
  s->out_pending = false;
  s->st.connected = false;
}

/* Whether a server error ending the stream may go away on its own (server
 * shutting down or restarting, connection trouble, the slot still held by
 * a dying walsender, resources) rather than needing a person. */
static bool retryable_state(const char *state) {
  if (!state || !*state) return true;
  return strncmp(state, "08", 2) == 0 || strncmp(state, "57", 2) == 0 ||
         strncmp(state, "53", 2) == 0 || strncmp(state, "58", 2) == 0 ||
         strcmp(state, "55006") == 0 || strcmp(state, "40001") == 0 ||
         strcmp(state, "40P01") == 0 || strcmp(state, "XX000") == 0;
}

static floe_status start_replication(pgx_stream *s, floe_error *err,
                                     char *sqlstate) {
  /* the slot's own position: so the host learns where streaming really
   * starts, and a missing slot gets a clear, final error */
  pgx_slot_state ss;
  floe_status st = pgx_slot_lookup(s->c, s->slot, &ss, err);
  if (st != FLOE_OK) return st;
  if (!ss.exists) {
    snprintf(sqlstate, 6, "42704");
    return ferr_set(err, FLOE_ENOTFOUND,
                    "replication slot \"%s\" does not exist in %s", s->slot,
                    pgx_conn_desc(s->c));
  }
  uint64_t start = s->start_lsn;
  uint64_t durable = s->cb.durable_lsn(s->cb.ctx);
  if (durable > start) start = durable;
  if (ss.confirmed_flush > start) start = ss.confirmed_flush;
  char lsn[PGX_LSN_STR];
  fbuf b = FBUF_INIT, names = FBUF_INIT;
  st = fbuf_printf(&b, err, "START_REPLICATION SLOT ");
  if (st == FLOE_OK) st = pgx_sql_ident(s->c, &b, s->slot, err);
  if (st == FLOE_OK)
    st = fbuf_printf(&b, err,
                     " LOGICAL %s (proto_version '2', streaming '%s', "
                     "messages '%s', publication_names ",
                     pgx_lsn_format(start, lsn),
                     s->o.no_streaming ? "off" : "on",
                     s->o.messages ? "true" : "false");
  /* publication_names is split like a list of identifiers: a quoted
   * identifier inside a string literal keeps any name intact */
  if (st == FLOE_OK) st = pgx_sql_ident(s->c, &names, s->publication, err);
  if (st == FLOE_OK) st = pgx_sql_cstr(&names, err);
  if (st == FLOE_OK)
    st = pgx_sql_literal(s->c, &b, (const char *)names.data, err);
  if (st == FLOE_OK) st = fbuf_put_u8(&b, ')', err);
  if (st == FLOE_OK) st = pgx_sql_cstr(&b, err);
  fbuf_free(&names);
  if (st != FLOE_OK) {
    fbuf_free(&b);
    return st;
  }
  PGresult *r = PQexec(s->c->pg, (const char *)b.data);
  fbuf_free(&b);
  if (!r || PQresultStatus(r) != PGRES_COPY_BOTH) {
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    snprintf(sqlstate, 6, "%s", state ? state : "");
    st = pgx_result_error(s->c, r, "start replication", err);
    PQclear(r);
    return st;
  }
  PQclear(r);
  if (PQsetnonblocking(s->c->pg, 1) != 0)
    return ferr_set(err, FLOE_EIO, "start replication: nonblocking mode");
  s->start_lsn = start;
  s->got_data = false;
  s->connected_ms = mono_ms();
  s->last_status_ms = s->connected_ms;
  s->st.connected = true;
  return FLOE_OK;
}

/* Opens a connection and starts streaming; *retry says whether a failure
 * may succeed later. */
static floe_status connect_stream(pgx_stream *s, bool *retry, floe_error *err) {
  *retry = true;
  floe_status st = pgx_conn_open(s->conninfo, PGX_CONN_REPLICATION, &s->c, err);
  if (st != FLOE_OK) {
    /* an old server never gets newer by retrying */
    *retry = st != FLOE_EUNSUPPORTED && st != FLOE_EINVAL;
    return st;
  }
  char state[6] = "";
  st = start_replication(s, err, state);
  if (st != FLOE_OK) {
    *retry = retryable_state(state) && st == FLOE_EIO;
    if (PQstatus(s->c->pg) == CONNECTION_BAD && !*state) *retry = true;
    drop_conn(s);
    return st;
  }
  /* the host's own failure is final: retrying cannot cure it */
  if (s->cb.on_restart &&
      (st = s->cb.on_restart(s->cb.ctx, s->start_lsn, err)) != FLOE_OK) {
    *retry = false;
    drop_conn(s);
  }
  return st;
}

/* The connection ended or broke: decide between retrying and failing. */
static floe_status lost(pgx_stream *s, const char *why, bool retry,
                        floe_error *err) {
  note_error(s, why);
  drop_conn(s);
  if (!retry) {
    s->failed = true;
    ferr_set(&s->final, FLOE_EIO, "replication stream: %s", why);
    return ferr_set(err, FLOE_EIO, "replication stream: %s", why);
  }
  /* a connection that delivered anything starts the backoff afresh; later
   * failed attempts double it */
  if (s->got_data) s->backoff_ms = s->o.backoff_min_ms;
  s->got_data = false;
  s->st.retry_in_ms = s->backoff_ms;
  s->next_attempt_ms = mono_ms() + s->backoff_ms;
  flog_write(s->o.log, FLOG_WARN,
             "replication stream %s: %s; reconnecting in %d ms", s->slot, why,
             s->backoff_ms);
  return FLOE_OK;
}

/* Reads why the server ended the copy, after PQgetCopyData said -1/-2. */
static floe_status copy_ended(pgx_stream *s, floe_error *err) {
  char why[FLOE_ERROR_MSG_MAX] = "";
  /* a server error decides by its SQLSTATE; a connection that just broke
   * (no error reported) is worth retrying */
  bool retry = true;
  PGresult *r;
  floe_error e;
  while ((r = PQgetResult(s->c->pg)) != NULL) {
    ExecStatusType rs = PQresultStatus(r);
    if (rs == PGRES_FATAL_ERROR || rs == PGRES_NONFATAL_ERROR) {
      const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      retry = retryable_state(state);
      pgx_result_error(s->c, r, "stream ended", &e);
      snprintf(why, sizeof why, "%s", e.msg);
    }
    PQclear(r);
    if (PQstatus(s->c->pg) == CONNECTION_BAD) break;
  }
  if (!*why) {
    if (PQstatus(s->c->pg) == CONNECTION_BAD) {
      pgx_result_error(s->c, NULL, "connection lost", &e);
      snprintf(why, sizeof why, "%s", e.msg);
    } else {
      snprintf(why, sizeof why, "server ended the stream");
    }
  }
  return lost(s, why, retry, err);
}

floe_status pgx_stream_open(const pgx_stream_opts *opts,
                            const pgx_stream_cbs *cbs, pgx_stream **out,
                            floe_error *err) {
  *out = NULL;
  if (!opts->conninfo || !opts->slot || !opts->publication ||
      !cbs->on_message || !cbs->durable_lsn)
    return ferr_set(err, FLOE_EINVAL,
                    "replication stream: conninfo, slot, publication, "
                    "on_message and durable_lsn are required");
  pgx_stream *s = calloc(1, sizeof *s);
  if (!s) return ferr_nomem(err, sizeof *s);
  s->o = *opts;
  s->cb = *cbs;
  s->conninfo = strdup(opts->conninfo);
  s->slot = strdup(opts->slot);
  s->publication = strdup(opts->publication);
  if (!s->conninfo || !s->slot || !s->publication) {
    pgx_stream_free(s);
    return ferr_nomem(err, strlen(opts->conninfo));
  }
  s->o.conninfo = s->conninfo;
  s->o.slot = s->slot;
  s->o.publication = s->publication;
  if (s->o.status_interval_ms <= 0) s->o.status_interval_ms = 1000;
  if (s->o.backoff_min_ms <= 0) s->o.backoff_min_ms = 200;
  if (s->o.backoff_max_ms <= 0) s->o.backoff_max_ms = 30000;
  if (s->o.backoff_max_ms < s->o.backoff_min_ms)
    s->o.backoff_max_ms = s->o.backoff_min_ms;
  s->backoff_ms = s->o.backoff_min_ms;
  s->start_lsn = opts->start_lsn;
  bool retry;
  floe_status st = connect_stream(s, &retry, err);
  if (st != FLOE_OK) {
    pgx_stream_free(s);
    return st;
  }
  *out = s;
  return FLOE_OK;
}

static floe_status flush_out(pgx_stream *s, floe_error *err) {
  int rc = PQflush(s->c->pg);
  if (rc < 0) {
    pgx_result_error(s->c, NULL, "send", err);
    return lost(s, err->msg, true, err);
  }
  s->out_pending = rc == 1;
  return FLOE_OK;
}

static floe_status send_status(pgx_stream *s, bool reply, floe_error *err) {
  uint64_t flush = s->cb.durable_lsn(s->cb.ctx);
  uint64_t write = s->st.received_lsn > flush ? s->st.received_lsn : flush;
  uint8_t msg[34];
  pgx_frame_status(msg, write, flush, flush, now_us2000(), reply);
  if (PQputCopyData(s->c->pg, (const char *)msg, sizeof msg) != 1) {
    floe_error e;
    pgx_result_error(s->c, NULL, "send status", &e);
    return lost(s, e.msg, true, err);
  }
  s->st.sent_flush = flush;
  s->st.status_sent++;
  s->last_status_ms = mono_ms();
  return flush_out(s, err);
}

floe_status pgx_stream_send_status(pgx_stream *s, bool request_reply,
                                   floe_error *err) {
  if (s->failed) {
    if (err) *err = s->final;
    return s->final.code;
  }
  if (!s->c) return FLOE_OK;
  return send_status(s, request_reply, err);
}

/* Handles one CopyData payload. */
static floe_status dispatch(pgx_stream *s, const uint8_t *p, size_t n,
                            floe_error *err) {
  pgx_frame f;
  floe_status st = pgx_frame_decode(p, n, &f, err);
  if (st != FLOE_OK) return st;
  if (f.wal_end > s->st.server_wal_end) s->st.server_wal_end = f.wal_end;
  if (!s->got_data) {
    /* this connection works: the next loss starts the backoff afresh */
    s->got_data = true;
    s->st.failed_attempts = 0;
  }
  if (f.kind == 'k') {
    s->st.keepalives++;
    if (s->cb.on_keepalive) s->cb.on_keepalive(s->cb.ctx, f.wal_end);
    return f.reply ? send_status(s, false, err) : FLOE_OK;
  }
  if (f.wal_start > s->st.received_lsn) s->st.received_lsn = f.wal_start;
  s->st.messages++;
  s->st.bytes += f.len;
  return s->cb.on_message(s->cb.ctx, f.wal_start, f.wal_end, f.data, f.len,
                          err);
}

/* Dispatches what libpq has buffered, reading the socket once that is used
 * up; stops at deadline so a steady flow cannot keep the host from its
 * loop. The socket is read only when no whole message is buffered: reading
 * on every call while messages wait grew libpq's buffer without bound when
 * applying was slower than the server sent (a streamed 1M-row transaction
 * on a busy machine), and each read moves what is buffered to its start,
 * so the stream slowed to a crawl as the buffer grew. */
static floe_status drain(pgx_stream *s, int64_t deadline, floe_error *err) {
  bool read = false;
  for (int i = 0; s->c; i++) {
    char *buf = NULL;
    int n = PQgetCopyData(s->c->pg, &buf, 1);
    if (n == 0 && !read) {
      if (PQconsumeInput(s->c->pg) != 1) {
        floe_error e;
        pgx_result_error(s->c, NULL, "receive", &e);
        return lost(s, e.msg, true, err);
      }
      read = true;
      continue;
    }
    if (n == 0) return FLOE_OK;
    if (n < 0) return copy_ended(s, err);
    floe_status st = dispatch(s, (const uint8_t *)buf, (size_t)n, err);
    PQfreemem(buf);
    if (st != FLOE_OK) return st;
    if (s->c && mono_ms() - s->last_status_ms >= s->o.status_interval_ms)
      FLOE_TRY(send_status(s, false, err));
    if ((i & 63) == 63 && mono_ms() >= deadline) return FLOE_OK;
  }
  return FLOE_OK;
}

static floe_status try_reconnect(pgx_stream *s, floe_error *err) {
  bool retry;
  floe_error e;
  floe_status st = connect_stream(s, &retry, &e);
  if (st == FLOE_OK) {
    s->st.reconnects++;
    flog_write(s->o.log, FLOG_INFO, "replication stream %s: reconnected",
               s->slot);
    return FLOE_OK;
  }
  s->st.failed_attempts++;
  if (!retry ||
      (s->o.max_retries > 0 && s->st.failed_attempts >= s->o.max_retries)) {
    s->failed = true;
    note_error(s, e.msg);
    ferr_set(&s->final, st, "replication stream: %s", e.msg);
    if (err) *err = s->final;
    return st;
  }
  int next = s->backoff_ms * 2;
  s->backoff_ms = next > s->o.backoff_max_ms ? s->o.backoff_max_ms : next;
  return lost(s, e.msg, true, err);
}

floe_status pgx_stream_poll(pgx_stream *s, int timeout_ms, floe_error *err) {
  if (s->failed) {
    if (err) *err = s->final;
    return s->final.code;
  }
  int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  for (;;) {
    int64_t now = mono_ms();
    if (!s->c) {
      if (now >= s->next_attempt_ms) {
        FLOE_TRY(try_reconnect(s, err));
        continue;
      }
      int64_t until =
          s->next_attempt_ms < deadline ? s->next_attempt_ms : deadline;
      if (until <= now) return FLOE_OK;
      struct timespec ts = {(time_t)((until - now) / 1000),
                            (long)((until - now) % 1000) * 1000000};
      nanosleep(&ts, NULL);
      if (mono_ms() >= deadline && s->next_attempt_ms > deadline)
        return FLOE_OK;
      continue;
    }
    FLOE_TRY(drain(s, deadline, err));
    if (!s->c) continue;
    now = mono_ms();
    if (now - s->last_status_ms >= s->o.status_interval_ms) {
      FLOE_TRY(send_status(s, false, err));
      if (!s->c) continue;
    }
    if (s->out_pending) {
      FLOE_TRY(flush_out(s, err));
      if (!s->c) continue;
    }
    if (now >= deadline) return FLOE_OK;
    int64_t wait = deadline - now;
    int64_t to_status = s->last_status_ms + s->o.status_interval_ms - now;
    if (to_status < wait) wait = to_status < 0 ? 0 : to_status;
    struct pollfd pfd = {PQsocket(s->c->pg),
                         (short)(POLLIN | (s->out_pending ? POLLOUT : 0)), 0};
    int rc = poll(&pfd, 1, (int)wait);
    if (rc < 0 && errno != EINTR)
      return ferr_set(err, FLOE_EIO, "replication stream: poll: %s",
                      strerror(errno));
    if (rc < 0) return FLOE_OK; /* a signal: let the host look at it */
  }
}

floe_status pgx_stream_stop(pgx_stream *s, int timeout_ms, floe_error *err) {
  if (!s->c) return FLOE_OK;
  if (timeout_ms <= 0) timeout_ms = 5000;
  int64_t deadline = mono_ms() + timeout_ms;
  floe_status st = send_status(s, false, err);
  if (st != FLOE_OK || !s->c) return st;
  if (PQputCopyEnd(s->c->pg, NULL) < 0) {
    drop_conn(s);
    return FLOE_OK;
  }
  bool done = false;
  while (!done && mono_ms() < deadline) {
    if (PQflush(s->c->pg) < 0) break;
    if (PQconsumeInput(s->c->pg) != 1) break;
    char *buf = NULL;
    int n;
    while ((n = PQgetCopyData(s->c->pg, &buf, 1)) > 0) PQfreemem(buf);
    if (n < 0) {
      /* the server's CopyDone came: collect the command results */
      PGresult *r;
      while ((r = PQgetResult(s->c->pg)) != NULL) PQclear(r);
      done = true;
      break;
    }
    struct pollfd pfd = {PQsocket(s->c->pg), POLLIN | POLLOUT, 0};
    int64_t wait = deadline - mono_ms();
    if (wait > 0) poll(&pfd, 1, (int)(wait < 100 ? wait : 100));
  }
  if (!done)
    flog_write(s->o.log, FLOG_WARN,
               "replication stream %s: no CopyDone within %d ms; closing",
               s->slot, timeout_ms);
  drop_conn(s);
  return FLOE_OK;
}

void pgx_stream_free(pgx_stream *s) {
  if (!s) return;
  drop_conn(s);
  free(s->conninfo);
  free(s->slot);
  free(s->publication);
  free(s);
}

void pgx_stream_get_stats(const pgx_stream *s, pgx_stream_stats *out) {
  *out = s->st;
}
