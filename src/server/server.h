/*
 * srv: the daemon's RPC server. One poll loop, run in the caller's thread,
 * owns a listening unix socket (and, optionally, the HTTP metrics socket),
 * reads frames incrementally from many clients, hands decoded requests to a
 * handler table the host fills (the daemon maps them to floe.h calls), and
 * writes replies without ever blocking on a slow client.
 *
 * Threads and signals belong to the host: the loop starts no thread and
 * installs no handler. srv_stop and srv_wake are async-signal-safe and may be
 * called from any thread (they write to a self-pipe). Handlers run in the
 * loop's thread and must not block: a request that cannot be answered yet
 * (read state at an LSN not applied, a commit handed to another thread)
 * sets call->again and is called again later (see srv_call).
 *
 * Robustness (the loop goes on whatever a client does):
 *   - a frame whose length is below the header or above max_request, or
 *     whose magic or flags are wrong (random bytes, an HTTP client), gets an
 *     RPC_ERROR (FLOE_ECORRUPT, request id 0 when unknown) and the
 *     connection closes: the byte stream cannot be resynchronised;
 *   - a well-framed request that is malformed, of an unknown type or
 *     version, or not supported by the handler table gets an RPC_ERROR and
 *     the connection stays usable;
 *   - a client that disconnects mid-frame, mid-stream or while a call is
 *     parked is dropped: its parked call is cancelled, its stream closed,
 *     its leases released;
 *   - a partial frame not completed within io_timeout_ms, or output the
 *     client does not read for io_timeout_ms, closes the connection;
 *   - a read state lease not used (created, renewed, scanned) for
 *     lease_ttl_ms is released;
 *   - output: a client whose unsent output reaches out_cap gets no further
 *     requests processed and no stream data produced until it reads.
 *     Unsent output is thus at most out_cap + one frame.
 */
#ifndef FLOE_SERVER_SERVER_H
#define FLOE_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/rpc.h"
#include "util/log.h"

typedef struct srv_server srv_server;
typedef struct srv_call srv_call;

/*
 * A stream of data frames (SCAN). next appends the next chunk to out: at
 * least one and at most max bytes, unless it sets *done (then it may append
 * nothing, and fills end->rows and end->lsn; the server fills end->bytes).
 * An error ends the stream with an RPC_ERROR frame. close is called exactly
 * once, when the stream ends, fails or its client goes away.
 */
typedef struct srv_stream {
  void *ctx;
  floe_status (*next)(void *ctx, fbuf *out, size_t max, bool *done,
                      rpc_end *end, floe_error *err);
  void (*close)(void *ctx);
} srv_stream;

/*
 * One request being answered. The server fills req, reply.type/id, arena,
 * client, now_ms, deadline_ms (and lease_state for SCAN) before each call.
 * The handler fills reply.u (strings and arrays may live in arena, or in
 * memory the handler keeps alive until its next call), and:
 *   - READ_STATE: reply.u.read_state_ok.lsn/.rows and lease_state (the pin
 *     the server keeps under a lease and hands back to handlers.release);
 *     the server fills .lease and .ttl_ms.
 *   - SCAN: stream (lease_state is the lease's pin).
 * To answer later, it sets again = true (the return value is then
 * ignored) and optionally again_ms (retry at the latest after that many ms;
 * default 10); the server also retries on every srv_wake. pending is the
 * handler's own slot across retries; if the call is abandoned (client gone,
 * deadline_ms passed, server closing) the server calls handlers.cancel.
 * A call that is still not done at deadline_ms is answered FLOE_ETIMEDOUT.
 */
struct srv_call {
  const rpc_msg *req; /* borrowed for the call */
  rpc_msg reply;
  farena *arena; /* reset after the reply is sent */
  uint64_t client;
  int64_t now_ms;      /* monotonic clock */
  int64_t deadline_ms; /* READ_STATE: from its timeout; else now+max_wait */
  void *pending;
  bool again;
  int64_t again_ms;
  void *lease_state;
  srv_stream stream;
};

typedef floe_status (*srv_handler)(void *ctx, srv_call *call, floe_error *err);

/*
 * The handler table. A NULL handler answers FLOE_EUNSUPPORTED. HELLO, RENEW
 * and RELEASE are answered by the server itself. status also feeds
 * /metrics, health feeds /healthz (NULL: always healthy).
 */
typedef struct srv_handlers {
  void *ctx;
  srv_handler list_tables, status, add_table, drop_table, read_state, scan,
      commit, optimize, schema;
  /* A lease ended (released, expired, its client gone, server closed). */
  void (*release)(void *ctx, void *lease_state);
  /* A parked call (again = true) is abandoned: free call->pending. */
  void (*cancel)(void *ctx, srv_call *call);
  floe_status (*health)(void *ctx, floe_error *err);
} srv_handlers;

typedef struct srv_config {
  const char *socket_path;  /* required; < 108 bytes */
  unsigned socket_mode;     /* default 0600 */
  const char *socket_group; /* NULL: the process's group */
  /* "ADDR:PORT" ("127.0.0.1:9187", "[::1]:9187", ":9187" = all
   * interfaces, port 0 = any free one); NULL or "": no metrics. */
  const char *metrics_addr;
  const char *name;      /* reported by HELLO and STATUS ("floe") */
  uint32_t max_request;  /* default RPC_DEFAULT_MAX_REQUEST */
  uint32_t max_frame;    /* replies; default RPC_DEFAULT_MAX_FRAME */
  uint32_t chunk_bytes;  /* scan data per frame; default 1 MiB */
  size_t out_cap;        /* default 8 MiB */
  int max_clients;       /* default 64 (RPC and HTTP each) */
  int max_leases;        /* per client; default 64 */
  int64_t lease_ttl_ms;  /* default 60000 */
  int64_t max_wait_ms;   /* longest parked call; default 300000 */
  int64_t io_timeout_ms; /* default 30000 */
  const flog *log;       /* NULL: warnings to stderr */
} srv_config;

void srv_config_init(srv_config *c);

/*
 * Binds the socket(s). An existing socket file nobody listens on (a crashed
 * daemon's) is replaced; a live one gives FLOE_EEXIST, so does a path that
 * is not a socket. The caller frees *out with srv_close. h is copied.
 */
floe_status srv_open(const srv_config *cfg, const srv_handlers *h,
                     srv_server **out, floe_error *err);

/* Runs the loop until srv_stop. FLOE_EIO only if poll itself fails. */
floe_status srv_run(srv_server *s, floe_error *err);
/* One loop iteration, waiting at most max_wait_ms (< 0: until something
 * happens) for events. */
floe_status srv_run_once(srv_server *s, int64_t max_wait_ms, floe_error *err);

/* Makes srv_run return (async-signal-safe, any thread). */
void srv_stop(srv_server *s);
/* Retries parked calls now (async-signal-safe, any thread): call it when
 * something they wait for may have happened (an LSN applied). */
void srv_wake(srv_server *s);
bool srv_stopped(const srv_server *s);

/* The metrics port actually bound (useful with port 0); -1 without. */
int srv_metrics_port(const srv_server *s);

/* Counters, for tests and the daemon's own status. */
typedef struct srv_stats {
  int clients, http_clients, leases;
  uint64_t accepted, requests, errors_sent, protocol_errors;
  uint64_t leases_expired, timeouts, http_requests;
  size_t max_out_pending; /* high-water mark of one client's unsent bytes */
} srv_stats;
void srv_stats_get(const srv_server *s, srv_stats *out);

/* Closes every client (cancelling calls, closing streams, releasing
 * leases), the sockets, and removes the socket file if it is still ours. */
void srv_close(srv_server *s);

#endif
