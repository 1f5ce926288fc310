/*
 * The logical replication stream of a mirror: START_REPLICATION on the
 * mirror's slot with pgoutput protocol version 2, every message handed to
 * the host, progress confirmed only up to what the host says is durable.
 *
 *   START_REPLICATION SLOT "floe_m" LOGICAL X/Y (proto_version '2',
 *     streaming 'on', publication_names '"floe_m"')
 *
 * The host drives the stream from its own loop (floe starts no threads):
 *
 *   pgx_stream_open(&opts, &cbs, &s, &err);
 *   while (!stop) pgx_stream_poll(s, 100, &err);   // waits at most 100 ms
 *   pgx_stream_stop(s, 5000, &err);                // CopyDone, then close
 *   pgx_stream_free(s);
 *
 * Each XLogData ('w') payload, one pgoutput message, goes to on_message
 * with its LSNs (for Commit it is the commit's end LSN: what the slot
 * confirms). Keepalives ('k') that ask for a reply get one at once. Standby
 * status updates go out every status_interval_ms and on request, with
 *   write = the highest LSN received (at least flush),
 *   flush = apply = durable_lsn() -- never anything higher,
 * so the slot never confirms a change the host has not made durable. On a
 * lost connection (server restart, pg_terminate_backend, network) the
 * stream reconnects with exponential backoff (capped) and starts again at
 * durable_lsn(); on_restart tells the host so it drops partial transactions
 * and cached relations (pgoutput resends Begin and Relation messages, and
 * may resend transactions the host already applied but had not made
 * durable: the host skips commits at or below its applied LSN). Server
 * errors that a retry cannot cure (the slot or publication does not exist,
 * permissions) end the stream with an error instead.
 */
#ifndef FLOE_PG_STREAM_H
#define FLOE_PG_STREAM_H

#include "pg/conn.h"
#include "util/log.h"

typedef struct pgx_stream_cbs {
  /* One pgoutput message; data is borrowed for the call. wal_start is the
   * LSN the server attached (the commit end LSN for Commit), wal_end the
   * server's WAL end when it sent it. An error ends pgx_stream_poll with
   * it (the stream stays usable; the message is not re-delivered unless
   * the stream restarts). Required. */
  floe_status (*on_message)(void *ctx, uint64_t wal_start, uint64_t wal_end,
                            const uint8_t *data, size_t len, floe_error *err);
  /* The highest LSN durable in the mirror: flush and apply of every status
   * update. 0 confirms nothing. Required. */
  uint64_t (*durable_lsn)(void *ctx);
  /* Streaming (re)started at start_lsn on a fresh connection; called
   * before the first message of every connection, including the first.
   * Optional. */
  floe_status (*on_restart)(void *ctx, uint64_t start_lsn, floe_error *err);
  /* A keepalive: the server's WAL end. A host with no transaction in flight
   * may treat it as durable progress (an idle mirror otherwise pins WAL).
   * Optional. */
  void (*on_keepalive)(void *ctx, uint64_t wal_end);
  void *ctx;
} pgx_stream_cbs;

typedef struct pgx_stream_opts {
  const char *conninfo;    /* as for pgx_conn_open */
  const char *slot;        /* an existing logical pgoutput slot */
  const char *publication; /* any name: quoted for publication_names */
  uint64_t start_lsn;      /* 0: where the slot stands */
  int status_interval_ms;  /* 0: 1000 */
  int backoff_min_ms;      /* first retry delay; 0: 200 */
  int backoff_max_ms;      /* cap; 0: 30000 */
  int max_retries;         /* failed reconnects in a row before giving up
                              with an error; 0: never give up */
  bool no_streaming;       /* true: streaming 'off' (whole transactions) */
  bool messages;           /* true: messages 'true' (pg_logical_emit_message) */
  const flog *log;         /* NULL: warnings to stderr */
} pgx_stream_opts;

typedef struct pgx_stream pgx_stream;

/* Connects and starts streaming (no retry: a first failure is returned).
 * The strings in opts are copied. On success the caller owns *out and frees
 * it with pgx_stream_free. */
floe_status pgx_stream_open(const pgx_stream_opts *opts,
                            const pgx_stream_cbs *cbs, pgx_stream **out,
                            floe_error *err);

/* Receives and dispatches what arrives within timeout_ms (0: only what is
 * already buffered), sends due status updates, reconnects when due. Returns
 * FLOE_OK on timeout; an error when on_message failed, when a server error
 * is final, or when max_retries reconnects failed in a row. */
floe_status pgx_stream_poll(pgx_stream *s, int timeout_ms, floe_error *err);

/* Sends a status update now (e.g. after durable_lsn advanced); with
 * request_reply the server answers with a keepalive. No-op while
 * disconnected. */
floe_status pgx_stream_send_status(pgx_stream *s, bool request_reply,
                                   floe_error *err);

/* Ends streaming cleanly: a last status update, CopyDone, the server's
 * remaining messages drained (not dispatched: they were not confirmed and
 * come again next time), the connection closed. Waits at most timeout_ms
 * (0: 5000). */
floe_status pgx_stream_stop(pgx_stream *s, int timeout_ms, floe_error *err);

void pgx_stream_free(pgx_stream *s);

typedef struct pgx_stream_stats {
  bool connected;
  uint64_t received_lsn;   /* highest wal_start of a message */
  uint64_t server_wal_end; /* from the latest message or keepalive */
  uint64_t sent_flush;     /* flush LSN of the latest status update */
  uint64_t messages;       /* pgoutput messages dispatched */
  uint64_t bytes;          /* their payload bytes */
  uint64_t keepalives;
  uint64_t status_sent;
  int reconnects;                      /* successful reconnects */
  int failed_attempts;                 /* in a row, since the last success */
  int retry_in_ms;                     /* the latest reconnect delay chosen */
  char last_error[FLOE_ERROR_MSG_MAX]; /* why the last connection ended */
} pgx_stream_stats;

void pgx_stream_get_stats(const pgx_stream *s, pgx_stream_stats *out);

/* ---- framing (the CopyData payloads of the replication protocol) ---- */

/* Microseconds between 1970-01-01 and 2000-01-01, the protocol's epoch. */
#define PGX_EPOCH_OFFSET_US 946684800000000LL

typedef struct pgx_frame {
  char kind;          /* 'w' XLogData, 'k' primary keepalive */
  uint64_t wal_start; /* 'w' */
  uint64_t wal_end;
  int64_t send_time;   /* microseconds since 2000-01-01 */
  bool reply;          /* 'k': the server asks for a status update now */
  const uint8_t *data; /* 'w': the payload, borrowed from the input */
  size_t len;
} pgx_frame;

/* Decodes one server CopyData payload. FLOE_ECORRUPT for a short or unknown
 * message; the error names the offset. */
floe_status pgx_frame_decode(const uint8_t *p, size_t n, pgx_frame *out,
                             floe_error *err);

/* Encodes a standby status update ('r', 34 bytes) into out. */
void pgx_frame_status(uint8_t out[34], uint64_t write, uint64_t flush,
                      uint64_t apply, int64_t now_us2000, bool reply);

#endif
