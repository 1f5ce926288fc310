/*
 * pgo: the pgoutput logical replication protocol (versions 1 and 2) and the
 * replication stream's framing.
 *
 * One XLogData payload in, one decoded message out (pgo_decode). Decoding is
 * zero copy: strings, tuple values and message contents point into the input
 * buffer; arrays of columns, values and relation ids live in the decoder's
 * scratch, reused by the next call. So everything a pgo_msg points to is
 * valid until the earlier of: the input buffer is freed or reused, the next
 * pgo_decode on the same decoder, pgo_decoder_free. Copy what must outlive
 * that (e.g. a Relation's names into the caller's relation cache).
 * Strings are NUL-terminated inside the input (the decoder checks the NUL is
 * there) and may be used as C strings.
 *
 * Every read goes through fcur: truncated or malformed input gives
 * FLOE_ECORRUPT with a message naming the message type, the field and the
 * offset within the payload; counts are checked against the bytes left
 * before anything is allocated. An unknown message type (protocol 3/4
 * two-phase messages included) is FLOE_EUNSUPPORTED.
 *
 * Protocol 2 adds Stream Start/Stop/Commit/Abort and, on the messages sent
 * between Stream Start and Stream Stop (Relation, Type, Insert, Update,
 * Delete, Truncate, Message), a leading transaction id. The decoder tracks
 * the Start/Stop pairing itself (in_stream), so the caller needs no state.
 *
 * LSNs are uint64; times are the protocol's microseconds since 2000-01-01
 * (pgo_unix_us converts).
 */
#ifndef FLOE_PG_PGOUTPUT_H
#define FLOE_PG_PGOUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Microseconds between 1970-01-01 and 2000-01-01 (the Postgres epoch). */
#define PGO_EPOCH_OFFSET_US INT64_C(946684800000000)
static inline int64_t pgo_unix_us(int64_t pg_us) {
  return pg_us + PGO_EPOCH_OFFSET_US;
}

/* ---- replication framing (CopyData payloads of START_REPLICATION) ---- */

/* 'w': a chunk of the stream (for pgoutput: one logical message). */
typedef struct pgo_xlogdata_msg {
  uint64_t start_lsn;  /* WAL position of this message */
  uint64_t end_lsn;    /* current end of WAL on the server */
  int64_t send_time;   /* server clock, us since 2000-01-01 */
  const uint8_t *data; /* the payload, borrowed from the input */
  size_t len;
} pgo_xlogdata_msg;

/* 'k': primary keepalive. */
typedef struct pgo_keepalive_msg {
  uint64_t end_lsn;
  int64_t send_time;
  bool reply_requested; /* answer with a standby status update now */
} pgo_keepalive_msg;

/* Decodes an XLogData CopyData payload (p[0] == 'w'). */
floe_status pgo_xlogdata(const uint8_t *p, size_t n, pgo_xlogdata_msg *out,
                         floe_error *err);
/* Decodes a primary keepalive CopyData payload (p[0] == 'k'). */
floe_status pgo_keepalive(const uint8_t *p, size_t n, pgo_keepalive_msg *out,
                          floe_error *err);

#define PGO_STANDBY_STATUS_LEN 34
/* Writes a standby status update ('r') into out (PGO_STANDBY_STATUS_LEN
 * bytes) and returns its length: write = received, flush = apply = durable
 * in floe's use; now in us since 2000-01-01. */
size_t pgo_standby_status(uint8_t out[PGO_STANDBY_STATUS_LEN],
                          uint64_t write_lsn, uint64_t flush_lsn,
                          uint64_t apply_lsn, int64_t now, bool reply);

/* ---- pgoutput messages ---- */

typedef enum pgo_kind {
  PGO_BEGIN = 'B',
  PGO_COMMIT = 'C',
  PGO_ORIGIN = 'O',
  PGO_RELATION = 'R',
  PGO_TYPE = 'Y',
  PGO_INSERT = 'I',
  PGO_UPDATE = 'U',
  PGO_DELETE = 'D',
  PGO_TRUNCATE = 'T',
  PGO_MESSAGE = 'M',
  PGO_STREAM_START = 'S',
  PGO_STREAM_STOP = 'E',
  PGO_STREAM_COMMIT = 'c',
  PGO_STREAM_ABORT = 'A',
} pgo_kind;

/* One column value of a tuple. */
typedef enum pgo_value_kind {
  PGO_NULL = 'n',
  PGO_UNCHANGED = 'u', /* an unchanged TOASTed value: not sent; the
                          mirror's current value stands */
  PGO_TEXT = 't',      /* data: text output format */
  PGO_BINARY = 'b',    /* data: binary send format */
} pgo_value_kind;

typedef struct pgo_value {
  pgo_value_kind kind;
  uint32_t len;        /* text/binary: byte count; else 0 */
  const uint8_t *data; /* text/binary: borrowed, not NUL-terminated; else
                          NULL */
} pgo_value;

typedef struct pgo_tuple {
  uint16_t ncols;
  const pgo_value *cols; /* ncols values (decoder scratch) */
} pgo_tuple;

#define PGO_COL_KEY 1 /* column flag: part of the replica identity key */

typedef struct pgo_column {
  uint8_t flags;    /* PGO_COL_KEY or 0 */
  const char *name; /* borrowed, NUL-terminated */
  uint32_t type_oid;
  int32_t typmod; /* atttypmod, -1 when none */
} pgo_column;

/* TRUNCATE option bits */
#define PGO_TRUNCATE_CASCADE 1
#define PGO_TRUNCATE_RESTART_IDENTITY 2

typedef struct pgo_msg {
  pgo_kind kind;
  /* the message's transaction id: Begin, the Stream messages, and (protocol
   * 2) data messages inside a stream. has_xid false: xid is 0. */
  bool has_xid;
  uint32_t xid;
  union {
    struct {
      uint64_t final_lsn; /* the transaction's commit LSN */
      int64_t commit_time;
    } begin;
    struct {
      uint8_t flags;
      uint64_t commit_lsn;
      uint64_t end_lsn;
      int64_t commit_time;
    } commit;
    struct {
      uint64_t commit_lsn; /* on the origin server */
      const char *name;
    } origin;
    struct {
      uint32_t relid;
      const char *nspname; /* "" for pg_catalog */
      const char *relname;
      char replident; /* relreplident: 'd' default, 'n' nothing, 'f' full,
                         'i' index */
      uint16_t ncols;
      const pgo_column *cols; /* decoder scratch */
    } relation;
    struct {
      uint32_t oid;
      const char *nspname;
      const char *name;
    } type;
    struct {
      uint32_t relid;
      pgo_tuple newtup;
    } insert;
    struct {
      uint32_t relid;
      char old_kind;    /* 0 (no old tuple), 'K' (key columns) or 'O' (the
                           whole old row: REPLICA IDENTITY FULL) */
      pgo_tuple oldtup; /* when old_kind != 0 */
      pgo_tuple newtup;
    } update;
    struct {
      uint32_t relid;
      char old_kind; /* 'K' or 'O' */
      pgo_tuple oldtup;
    } del;
    struct {
      uint8_t options; /* PGO_TRUNCATE_* bits */
      uint32_t nrels;
      const uint32_t *relids; /* decoder scratch */
    } truncate;
    struct {
      uint8_t flags; /* 1: transactional */
      uint64_t lsn;
      const char *prefix;
      uint32_t len;
      const uint8_t *content; /* borrowed; NULL when len is 0 */
    } message;
    struct {
      bool first; /* the transaction's first stream segment */
    } stream_start;
    struct {
      uint8_t flags;
      uint64_t commit_lsn;
      uint64_t end_lsn;
      int64_t commit_time;
    } stream_commit;
    struct {
      uint32_t subxid; /* == xid when the whole transaction aborted */
    } stream_abort;
  };
} pgo_msg;

/* Decoder state: protocol version, stream pairing, scratch arrays (grown
 * geometrically, kept across messages). Zero-initialise via pgo_decoder_init;
 * free with pgo_decoder_free. Not thread-safe: one per stream. */
typedef struct pgo_decoder {
  int proto;      /* protocol version negotiated in START_REPLICATION */
  bool in_stream; /* between Stream Start and Stream Stop */
  pgo_column *cols;
  size_t cols_cap;
  pgo_value *vals;
  size_t vals_cap;
  uint32_t *relids;
  size_t relids_cap;
} pgo_decoder;

/* proto: 1 or 2 (others: FLOE_EINVAL). */
floe_status pgo_decoder_init(pgo_decoder *d, int proto, floe_error *err);
void pgo_decoder_free(pgo_decoder *d);

/* Decodes one pgoutput message (an XLogData payload) p[0..n). On failure
 * *out is unspecified and the decoder state (in_stream) is unchanged. */
floe_status pgo_decode(pgo_decoder *d, const uint8_t *p, size_t n, pgo_msg *out,
                       floe_error *err);

/* "Begin", "Stream Abort", ...; "?" for others. */
const char *pgo_kind_name(int kind);

#endif
