/*
 * rpc: the floe daemon's binary protocol over a unix socket (docs/rpc.md is
 * the reference; keep the two in step).
 *
 * Every frame is
 *
 *   u32 len      bytes after this field (RPC_HEADER_LEN - 4 + payload)
 *   u16 magic    RPC_MAGIC ("FL" on the wire)
 *   u16 version  protocol version the payload is encoded in
 *   u16 type     rpc_type
 *   u16 flags    0 (reserved)
 *   u32 id       request id; replies echo it
 *   ...          payload (len - 12 bytes)
 *
 * all little-endian. This module only moves bytes and typed structs: it knows
 * nothing of tables or the engine, so the daemon maps messages to floe.h
 * calls and the CLI maps them to output.
 *
 * Decoding is a parser of outside bytes: every length is bounded by the
 * frame, strings are valid UTF-8 without NUL, list counts are checked
 * against the bytes left before anything is allocated, and a payload must be
 * consumed exactly. A bad frame gives FLOE_ECORRUPT (or FLOE_EUNSUPPORTED for
 * a well-formed frame of an unknown version or type) naming the problem and
 * its offset; never a crash.
 *
 * Ownership: decoded strings and arrays live in the farena passed to
 * rpc_decode (until its reset/free); rpc_scan_data.data borrows the frame
 * bytes. Messages to encode are borrowed for the call.
 */
#ifndef FLOE_SERVER_RPC_H
#define FLOE_SERVER_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"

#define RPC_MAGIC 0x4C46u /* bytes 'F' 'L' */
#define RPC_VERSION_MIN 1
#define RPC_VERSION_MAX 2
#define RPC_VERSION RPC_VERSION_MAX
/* Length field + header: the bytes before the payload. */
#define RPC_HEADER_LEN 16
/* Smallest legal value of the length field. */
#define RPC_MIN_LEN (RPC_HEADER_LEN - 4)
/* Default limits (both sides may configure their own; HELLO tells the
 * peer). Replies carry scan chunks, requests are small. */
#define RPC_DEFAULT_MAX_FRAME (64u << 20)
#define RPC_DEFAULT_MAX_REQUEST (1u << 20)
/* Hard ceiling of any configured limit: lengths stay far from u32 wrap. */
#define RPC_MAX_FRAME_LIMIT (1u << 30)

typedef enum rpc_type {
  /* requests */
  RPC_HELLO = 0x0001,
  RPC_LIST_TABLES = 0x0002,
  RPC_STATUS = 0x0003,
  RPC_ADD_TABLE = 0x0004,
  RPC_DROP_TABLE = 0x0005,
  RPC_READ_STATE = 0x0006,
  RPC_RENEW = 0x0007,
  RPC_RELEASE = 0x0008,
  RPC_SCAN = 0x0009,
  RPC_COMMIT = 0x000A,
  RPC_OPTIMIZE = 0x000B,
  RPC_SCHEMA = 0x000C,
  /* replies: RPC_REPLY | request type */
  RPC_REPLY = 0x8000,
  RPC_HELLO_OK = 0x8001,
  RPC_LIST_TABLES_OK = 0x8002,
  RPC_STATUS_OK = 0x8003,
  RPC_ADD_TABLE_OK = 0x8004,
  RPC_DROP_TABLE_OK = 0x8005,
  RPC_READ_STATE_OK = 0x8006,
  RPC_RENEW_OK = 0x8007,
  RPC_RELEASE_OK = 0x8008,
  RPC_SCAN_DATA = 0x8009, /* zero or more, then RPC_END (or RPC_ERROR) */
  RPC_COMMIT_OK = 0x800A,
  RPC_OPTIMIZE_OK = 0x800B,
  RPC_SCHEMA_OK = 0x800C,
  RPC_END = 0x80FF,   /* ends a stream of data frames */
  RPC_ERROR = 0xFFFF, /* a failed request (ends a stream too) */
} rpc_type;

/* Highest request type of this version (requests are 1..RPC_REQ_MAX). */
#define RPC_REQ_MAX RPC_SCHEMA

typedef struct rpc_header {
  uint32_t len; /* the length field: bytes after it */
  uint16_t version;
  uint16_t type;
  uint16_t flags;
  uint32_t id;
} rpc_header;

/* ---- message bodies ---- */

typedef struct rpc_hello {
  uint16_t min_version, max_version; /* versions the client speaks */
  const char *client;                /* free text, e.g. "floe-cli 0.1.0" */
} rpc_hello;

typedef struct rpc_hello_ok {
  uint16_t version;      /* chosen: highest both speak */
  uint32_t floe_version; /* FLOE_VERSION_NUMBER of the daemon */
  uint32_t max_frame;    /* largest frame the server sends */
  uint32_t max_request;  /* largest frame the server accepts */
  int64_t lease_ttl_ms;  /* leases expire this long after their last use */
  const char *server;    /* the mirror's name */
} rpc_hello_ok;

typedef struct rpc_table_entry {
  const char *name;  /* "schema.table" */
  const char *state; /* e.g. "running", "snapshotting", "error" */
} rpc_table_entry;

typedef struct rpc_list_tables_ok {
  uint32_t ntables;
  rpc_table_entry *tables;
} rpc_list_tables_ok;

/* STATUS: names to report (ntables == 0: all). */
typedef struct rpc_status {
  uint32_t ntables;
  const char **tables;
} rpc_status;

typedef struct rpc_table_status {
  const char *name;  /* "schema.table" */
  const char *state; /* as in rpc_table_entry */
  int64_t rows;      /* live rows */
  uint64_t applied_lsn, durable_lsn;
  uint64_t lag_bytes; /* source WAL position - applied LSN */
  int64_t lag_ms;     /* age of the oldest change not yet applied */
  double changes_per_sec;
  uint64_t changes; /* rows inserted + deleted since start (a counter) */
  int64_t data_files, deletion_vectors;
  int64_t memory_bytes; /* this table's row memory */
  int64_t open_txns;
  int64_t snapshots;
  uint64_t commits;       /* Iceberg commits since start (a counter) */
  int64_t last_commit_ms; /* wall clock (ms since epoch) of the last one */
  const char *last_error; /* "" when none */
} rpc_table_status;

typedef struct rpc_status_ok {
  const char *server; /* the mirror's name */
  uint32_t floe_version;
  int64_t uptime_ms;
  int64_t memory_bytes; /* memory accounted against memory_limit */
  int64_t memory_limit; /* the daemon's --memory-limit */
  uint32_t ntables;
  rpc_table_status *tables;
} rpc_status_ok;

typedef struct rpc_option {
  const char *key, *value;
} rpc_option;

/* ADD_TABLE: options are engine knobs by their config names
 * (docs/config.md, "batch-rows" = "8192"); the daemon validates them. */
typedef struct rpc_add_table {
  const char *table;
  uint32_t noptions;
  rpc_option *options;
} rpc_add_table;

#define RPC_DROP_PURGE 0x1u /* also delete the Iceberg table */
typedef struct rpc_drop_table {
  const char *table;
  uint32_t flags;
} rpc_drop_table;

/* READ_STATE: wait until every commit <= min_lsn is applied (timeout_ms < 0:
 * as long as the server allows), then pin a view under a lease. With
 * RPC_READ_LATEST the daemon first takes the source's current WAL position
 * as min_lsn (read-your-writes without knowing an LSN). */
#define RPC_READ_LATEST 0x1u
typedef struct rpc_read_state {
  const char *table;
  uint64_t min_lsn;
  int64_t timeout_ms;
  uint32_t flags;
} rpc_read_state;

typedef struct rpc_read_state_ok {
  uint64_t lease;
  uint64_t lsn;   /* the view's LSN (>= min_lsn) */
  int64_t rows;   /* live rows in the view */
  int64_t ttl_ms; /* the lease expires this long after its last use */
} rpc_read_state_ok;

/* RENEW and RELEASE. */
typedef struct rpc_lease {
  uint64_t lease;
} rpc_lease;

typedef struct rpc_renew_ok {
  int64_t ttl_ms;
} rpc_renew_ok;

typedef enum rpc_format {
  RPC_FMT_ARROW = 1, /* Arrow IPC stream */
  RPC_FMT_CSV = 2,
  RPC_FMT_JSONL = 3,
  RPC_FMT_PARQUET = 4,
} rpc_format;
#define RPC_FMT_MAX RPC_FMT_PARQUET

/* A key equality: column = value, the value in floe's canonical text form. */
typedef struct rpc_key_eq {
  const char *column, *value;
} rpc_key_eq;

/* SCAN a leased view: data comes back as RPC_SCAN_DATA frames (the
 * concatenation of their payloads is the output in `format`), then RPC_END.
 * Key conditions are ANDed (a composite key names each of its columns). */
typedef struct rpc_scan {
  uint64_t lease;
  uint16_t format;      /* rpc_format */
  uint32_t chunk_bytes; /* preferred data frame payload (0: server's) */
  uint32_t ncolumns;    /* 0: all columns */
  const char **columns;
  uint32_t nkeys;
  rpc_key_eq *keys;
} rpc_scan;

typedef struct rpc_scan_data {
  const uint8_t *data; /* borrowed from the frame */
  uint32_t len;
} rpc_scan_data;

typedef struct rpc_end {
  uint64_t rows;  /* rows the stream held */
  uint64_t bytes; /* data bytes sent (sum of the data frames) */
  uint64_t lsn;   /* the view's LSN */
} rpc_end;

/* COMMIT, OPTIMIZE, SCHEMA name a table; COMMIT with "" means every table. */
#define RPC_OPTIMIZE_FORCE 0x1u
typedef struct rpc_table_req {
  const char *table;
  uint32_t flags; /* OPTIMIZE: RPC_OPTIMIZE_FORCE; otherwise 0 */
} rpc_table_req;

typedef struct rpc_commit_ok {
  uint64_t durable_lsn; /* the lowest over the tables committed */
  /* version >= 2: the table's current Iceberg snapshot id after the commit
   * (-1: none yet, or a COMMIT of every table) */
  int64_t snapshot_id;
} rpc_commit_ok;

typedef struct rpc_optimize_ok {
  int64_t files_before, files_after;
} rpc_optimize_ok;

/* One column; type numbers are floe_type's (floe.h). */
typedef struct rpc_column {
  const char *name;
  uint8_t type;
  uint8_t precision, scale;
  uint8_t elem, elem_precision, elem_scale;
  uint8_t nullable;
  const char *initial_default; /* NULL: none */
} rpc_column;

typedef struct rpc_schema_ok {
  uint32_t schema_id;
  uint32_t ncolumns;
  rpc_column *columns;
  uint32_t nkey;
  uint32_t *key; /* column indexes, in key order */
} rpc_schema_ok;

typedef struct rpc_error_body {
  floe_status code; /* never FLOE_OK */
  const char *message;
} rpc_error_body;

typedef struct rpc_msg {
  uint16_t type; /* rpc_type: selects the union member */
  uint16_t version;
  uint32_t id;
  union {
    rpc_hello hello;
    rpc_hello_ok hello_ok;
    rpc_list_tables_ok list_tables_ok;
    rpc_status status;
    rpc_status_ok status_ok;
    rpc_add_table add_table;
    rpc_drop_table drop_table;
    rpc_read_state read_state;
    rpc_read_state_ok read_state_ok;
    rpc_lease lease; /* RENEW, RELEASE */
    rpc_renew_ok renew_ok;
    rpc_scan scan;
    rpc_scan_data scan_data;
    rpc_end end;
    rpc_table_req table; /* COMMIT, OPTIMIZE, SCHEMA */
    rpc_commit_ok commit_ok;
    rpc_optimize_ok optimize_ok;
    rpc_schema_ok schema_ok;
    rpc_error_body error;
  } u;
} rpc_msg;

/* Message types with empty payloads: LIST_TABLES, ADD_TABLE_OK,
 * DROP_TABLE_OK, RELEASE_OK. */

/* Short name of a type ("read_state", "scan_data"); "unknown" otherwise. */
const char *rpc_type_name(uint16_t type);
/* True for the request types of version `version` this build knows. */
bool rpc_is_request(uint16_t type);
/* True for every type (request or reply) this build knows. */
bool rpc_type_known(uint16_t type);

/*
 * Parses the RPC_HEADER_LEN bytes at p (n >= RPC_HEADER_LEN, else
 * FLOE_EINVAL). FLOE_ECORRUPT when the magic is wrong, flags are set or the
 * length is below RPC_MIN_LEN or above max_frame: the byte stream cannot be
 * trusted past this point and the connection should close. Version and type
 * are not judged here.
 */
floe_status rpc_header_parse(const uint8_t *p, size_t n, uint32_t max_frame,
                             rpc_header *out, floe_error *err);

/*
 * Decodes one whole frame (frame[0..n) = length field + header + payload;
 * n must equal 4 + the length field) into m. Strings and arrays go into a;
 * m->u.scan_data.data points into frame. FLOE_EUNSUPPORTED for a version
 * outside RPC_VERSION_MIN..MAX or an unknown type (the frame itself is
 * sound: a server answers and goes on); FLOE_ECORRUPT for a malformed
 * payload; FLOE_ENOMEM if the arena's limit is hit.
 */
floe_status rpc_decode(const uint8_t *frame, size_t n, uint32_t max_frame,
                       farena *a, rpc_msg *m, floe_error *err);

/*
 * Appends m as one frame to out. FLOE_EINVAL when the frame would exceed
 * max_frame, a string holds invalid UTF-8, a type is unknown or a field is
 * out of its range; out is unchanged on failure. m->version 0 means
 * RPC_VERSION.
 */
floe_status rpc_encode(fbuf *out, const rpc_msg *m, uint32_t max_frame,
                       floe_error *err);

/*
 * Zero-copy data frames: rpc_frame_begin appends a header (length left 0)
 * and returns its offset in *start; the caller appends the payload; then
 * rpc_frame_finish patches the length (FLOE_EINVAL, and the frame removed,
 * if it exceeds max_frame).
 */
floe_status rpc_frame_begin(fbuf *out, uint16_t type, uint32_t id,
                            size_t *start, floe_error *err);
floe_status rpc_frame_finish(fbuf *out, size_t start, uint32_t max_frame,
                             floe_error *err);
/* Sets the version of the frame at start (rpc_frame_begin and
 * rpc_encode_error write RPC_VERSION): a reply speaks its request's. */
void rpc_frame_set_version(fbuf *out, size_t start, uint16_t version);

/* Appends an RPC_ERROR frame (message truncated to fit). */
floe_status rpc_encode_error(fbuf *out, uint32_t id, floe_status code,
                             const char *message, floe_error *err);

/* Checks s[0..n) is UTF-8 (no overlongs, surrogates or values > U+10FFFF)
 * without NUL bytes. */
bool rpc_utf8_valid(const uint8_t *s, size_t n);

#endif
