/*
 * met: the daemon's monitoring endpoints over plain HTTP/1.1, served by the
 * RPC server's poll loop (server.c): GET /metrics (Prometheus text
 * exposition format 0.0.4) and GET /healthz. docs/metrics.md lists every
 * metric.
 *
 * This file holds the pure parts, testable without sockets: a strict,
 * bounded HTTP request-head parser, the response writer and the Prometheus
 * formatter. Every request gets one response and the connection closes
 * (Connection: close), which is all a scraper needs and keeps the server
 * free of keep-alive state.
 */
#ifndef FLOE_SERVER_METRICS_H
#define FLOE_SERVER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/rpc.h"

/* Largest request head accepted (request line + headers). */
#define MET_MAX_REQUEST 8192
#define MET_MAX_TARGET 1024

typedef struct met_http_req {
  bool head;                     /* HEAD (else GET) */
  int minor;                     /* HTTP/1.minor */
  char path[MET_MAX_TARGET + 1]; /* the target up to '?' */
  size_t len;                    /* bytes of the head, incl. blank line */
} met_http_req;

/*
 * Parses the request head in buf[0..n). Returns 0 when more bytes are
 * needed, 1 when the head is complete (req filled), or the HTTP status to
 * answer a bad request with: 400 (malformed: bad request line, header
 * syntax, control or non-ASCII bytes, HTTP/1.1 without exactly one Host, a
 * request body), 405 (a method other than GET and HEAD), 414 (target over
 * MET_MAX_TARGET), 431 (head over MET_MAX_REQUEST), 505 (HTTP version not
 * 1.x). Each complete line is checked as soon as it arrives, so garbage is
 * refused without waiting for a blank line.
 */
int met_http_parse(const char *buf, size_t n, met_http_req *req);

/* "OK", "Not Found", ... for the codes this server sends. */
const char *met_http_reason(int code);

/*
 * Appends a complete response: status line, Content-Type, Content-Length,
 * Connection: close, extra_headers (NULL or lines each ending in "\r\n"),
 * blank line, then the body unless head_only.
 */
floe_status met_http_response(fbuf *out, int code, const char *content_type,
                              const char *extra_headers, const void *body,
                              size_t n, bool head_only, floe_error *err);

#define MET_PROMETHEUS_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Appends the metrics in Prometheus text format: process metrics (rss_bytes
 * < 0: process_resident_memory_bytes omitted) and, when st is not NULL,
 * daemon and per-table families labelled {table="schema.table"}.
 */
floe_status met_prometheus(fbuf *out, const rpc_status_ok *st,
                           int64_t rss_bytes, floe_error *err);

/* This process's resident memory in bytes (/proc/self/statm); -1 if
 * unknown. */
int64_t met_process_rss(void);

#endif
