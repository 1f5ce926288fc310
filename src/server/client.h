/*
 * rpc_client: the CLI's side of the daemon protocol (docs/rpc.md). Blocking
 * calls with a timeout over one unix-socket connection; one request at a
 * time. Replies are checked like any outside bytes (rpc_decode).
 *
 * Ownership: rpc_client_connect's *out is freed with rpc_client_close.
 * Decoded replies live in the caller's farena, except scan data, which
 * borrows the client's buffer until the next receive.
 */
#ifndef FLOE_SERVER_CLIENT_H
#define FLOE_SERVER_CLIENT_H

#include <stdint.h>

#include "server/rpc.h"

typedef struct rpc_client rpc_client;

/*
 * Connects to the daemon at path and exchanges HELLO (client_name is free
 * text for the daemon's logs). timeout_ms bounds every wait for the socket
 * (< 0: none). FLOE_ENOTFOUND when nothing listens at path (the message
 * says to start the daemon or pass --socket).
 */
floe_status rpc_client_connect(const char *path, const char *client_name,
                               int64_t timeout_ms, rpc_client **out,
                               floe_error *err);
/* The daemon's HELLO answer (owned by c). */
const rpc_hello_ok *rpc_client_server(const rpc_client *c);
void rpc_client_set_timeout(rpc_client *c, int64_t timeout_ms);
/* Largest frame accepted from the daemon (default RPC_DEFAULT_MAX_FRAME). */
void rpc_client_set_max_frame(rpc_client *c, uint32_t max_frame);

/* Sends req, giving it the next request id (req->id is set). */
floe_status rpc_client_send(rpc_client *c, rpc_msg *req, floe_error *err);
/* Receives one frame into m. */
floe_status rpc_client_recv(rpc_client *c, farena *a, rpc_msg *m,
                            floe_error *err);

/*
 * Sends req and receives its reply into reply. An RPC_ERROR reply returns
 * its code with the daemon's message in err; a reply of the wrong type or
 * id is FLOE_ECORRUPT. A READ_STATE waits its own timeout plus the
 * client's. Not for SCAN (use rpc_client_scan).
 */
floe_status rpc_client_call(rpc_client *c, rpc_msg *req, farena *a,
                            rpc_msg *reply, floe_error *err);

/* Receives the data of a scan: sink gets each chunk in order. */
typedef floe_status (*rpc_data_fn)(void *ctx, const uint8_t *p, size_t n,
                                   floe_error *err);

/*
 * Sends a SCAN and streams its data to sink until RPC_END (copied into
 * *end, may be NULL) or an error. After a failure (a sink error, a broken
 * stream) the connection is in an unknown state: close it.
 */
floe_status rpc_client_scan(rpc_client *c, const rpc_scan *req,
                            rpc_data_fn sink, void *ctx, rpc_end *end,
                            floe_error *err);

int rpc_client_fd(const rpc_client *c);
void rpc_client_close(rpc_client *c);

#endif
