/*
 * pgoutput decoding (see pgoutput.h). Integers on the wire are big-endian.
 * Each read names its field, so a truncated or corrupt message says which
 * field of which message at which offset went wrong.
 */
#include "pg/pgoutput.h"

#include <stdlib.h>
#include <string.h>

/* ---- field readers over fcur ---- */

static floe_status need(fcur *c, size_t n, const char *field, floe_error *err) {
  if (FLOE_UNLIKELY(n > fcur_left(c)))
    return fcur_fail(c, err, "%s: need %zu bytes, only %zu left", field, n,
                     fcur_left(c));
  return FLOE_OK;
}

static floe_status rd_u8(fcur *c, const char *field, uint8_t *out,
                         floe_error *err) {
  FLOE_TRY(need(c, 1, field, err));
  *out = c->p[c->pos++];
  return FLOE_OK;
}

static floe_status rd_u16(fcur *c, const char *field, uint16_t *out,
                          floe_error *err) {
  FLOE_TRY(need(c, 2, field, err));
  *out = (uint16_t)((unsigned)c->p[c->pos] << 8 | c->p[c->pos + 1]);
  c->pos += 2;
  return FLOE_OK;
}

static floe_status rd_u32(fcur *c, const char *field, uint32_t *out,
                          floe_error *err) {
  FLOE_TRY(need(c, 4, field, err));
  *out = fbe32(c->p + c->pos);
  c->pos += 4;
  return FLOE_OK;
}

static floe_status rd_u64(fcur *c, const char *field, uint64_t *out,
                          floe_error *err) {
  FLOE_TRY(need(c, 8, field, err));
  *out = (uint64_t)fbe32(c->p + c->pos) << 32 | fbe32(c->p + c->pos + 4);
  c->pos += 8;
  return FLOE_OK;
}

static floe_status rd_i64(fcur *c, const char *field, int64_t *out,
                          floe_error *err) {
  uint64_t v;
  FLOE_TRY(rd_u64(c, field, &v, err));
  *out = (int64_t)v;
  return FLOE_OK;
}

/* A NUL-terminated string; the result points into the input. */
static floe_status rd_str(fcur *c, const char *field, const char **out,
                          floe_error *err) {
  const uint8_t *s = c->p + c->pos;
  const uint8_t *z = fcur_left(c) ? memchr(s, 0, fcur_left(c)) : NULL;
  if (!z)
    return fcur_fail(c, err, "%s: string without a terminating NUL", field);
  *out = (const char *)s;
  c->pos += (size_t)(z - s) + 1;
  return FLOE_OK;
}

/* ---- framing ---- */

floe_status pgo_xlogdata(const uint8_t *p, size_t n, pgo_xlogdata_msg *out,
                         floe_error *err) {
  fcur c = fcur_make(p, n, "XLogData", 0);
  uint8_t tag;
  FLOE_TRY(rd_u8(&c, "tag", &tag, err));
  if (tag != 'w') return fcur_fail(&c, err, "tag 0x%02x is not 'w'", tag);
  FLOE_TRY(rd_u64(&c, "start lsn", &out->start_lsn, err));
  FLOE_TRY(rd_u64(&c, "end lsn", &out->end_lsn, err));
  FLOE_TRY(rd_i64(&c, "send time", &out->send_time, err));
  out->data = p + c.pos;
  out->len = fcur_left(&c);
  return FLOE_OK;
}

floe_status pgo_keepalive(const uint8_t *p, size_t n, pgo_keepalive_msg *out,
                          floe_error *err) {
  fcur c = fcur_make(p, n, "keepalive", 0);
  uint8_t tag, reply;
  FLOE_TRY(rd_u8(&c, "tag", &tag, err));
  if (tag != 'k') return fcur_fail(&c, err, "tag 0x%02x is not 'k'", tag);
  FLOE_TRY(rd_u64(&c, "end lsn", &out->end_lsn, err));
  FLOE_TRY(rd_i64(&c, "send time", &out->send_time, err));
  FLOE_TRY(rd_u8(&c, "reply requested", &reply, err));
  if (reply > 1)
    return fcur_fail(&c, err, "reply flag %u is not 0 or 1", reply);
  out->reply_requested = reply == 1;
  return fcur_end(&c, err);
}

static uint8_t *put_be64(uint8_t *o, uint64_t v) {
  for (int k = 7; k >= 0; k--) *o++ = (uint8_t)(v >> (8 * k));
  return o;
}

size_t pgo_standby_status(uint8_t out[PGO_STANDBY_STATUS_LEN],
                          uint64_t write_lsn, uint64_t flush_lsn,
                          uint64_t apply_lsn, int64_t now, bool reply) {
  uint8_t *o = out;
  *o++ = 'r';
  o = put_be64(o, write_lsn);
  o = put_be64(o, flush_lsn);
  o = put_be64(o, apply_lsn);
  o = put_be64(o, (uint64_t)now);
  *o++ = reply ? 1 : 0;
  return (size_t)(o - out);
}

/* ---- decoder state ---- */

floe_status pgo_decoder_init(pgo_decoder *d, int proto, floe_error *err) {
  memset(d, 0, sizeof *d);
  if (proto < 1 || proto > 2)
    return ferr_set(err, FLOE_EINVAL,
                    "pgoutput: protocol version %d (floe speaks 1 and 2)",
                    proto);
  d->proto = proto;
  return FLOE_OK;
}

void pgo_decoder_free(pgo_decoder *d) {
  if (!d) return;
  free(d->cols);
  free(d->vals);
  free(d->relids);
  memset(d, 0, sizeof *d);
}

/* Grows *arr to at least n elements of size sz. Callers bound n by the
 * bytes left in the message first, so a hostile count cannot force a large
 * allocation. */
static floe_status grow(void **arr, size_t *cap, size_t n, size_t sz,
                        floe_error *err) {
  /* allocates even for n == 0: pointers into the array are then never
   * NULL + 0 */
  if (n <= *cap && *arr) return FLOE_OK;
  size_t c = *cap ? *cap : 16;
  while (c < n) c *= 2;
  void *p = realloc(*arr, c * sz);
  if (!p) return ferr_nomem(err, c * sz);
  *arr = p;
  *cap = c;
  return FLOE_OK;
}

/* "pgoutput <Name>": the fcur label for a message's errors. A table of
 * literals rather than a snprintf per message: this runs for every row. */
static const char *label(int kind) {
  switch (kind) {
  case PGO_BEGIN: return "pgoutput Begin";
  case PGO_COMMIT: return "pgoutput Commit";
  case PGO_ORIGIN: return "pgoutput Origin";
  case PGO_RELATION: return "pgoutput Relation";
  case PGO_TYPE: return "pgoutput Type";
  case PGO_INSERT: return "pgoutput Insert";
  case PGO_UPDATE: return "pgoutput Update";
  case PGO_DELETE: return "pgoutput Delete";
  case PGO_TRUNCATE: return "pgoutput Truncate";
  case PGO_MESSAGE: return "pgoutput Message";
  case PGO_STREAM_START: return "pgoutput Stream Start";
  case PGO_STREAM_STOP: return "pgoutput Stream Stop";
  case PGO_STREAM_COMMIT: return "pgoutput Stream Commit";
  case PGO_STREAM_ABORT: return "pgoutput Stream Abort";
  default: return NULL;
  }
}

const char *pgo_kind_name(int kind) {
  const char *l = label(kind);
  return l ? l + 9 : "?";
}

/* ---- message parts ---- */

/* TupleData into d->vals[*used ..]; the caller sets cols once all tuples of
 * the message are read (a later grow may move the array). */
static floe_status rd_tuple(pgo_decoder *d, fcur *c, const char *which,
                            size_t *used, uint16_t *ncols, floe_error *err) {
  uint16_t n;
  FLOE_TRY(rd_u16(c, which, &n, err));
  /* every column takes at least its kind byte */
  if (n > fcur_left(c))
    return fcur_fail(c, err, "%s: %u columns but only %zu bytes left", which, n,
                     fcur_left(c));
  FLOE_TRY(
      grow((void **)&d->vals, &d->vals_cap, *used + n, sizeof(pgo_value), err));
  pgo_value *v = d->vals + *used;
  for (uint16_t i = 0; i < n; i++) {
    if (!fcur_left(c))
      return fcur_fail(c, err, "%s column %u of %u: missing", which, i + 1, n);
    uint8_t kind = c->p[c->pos++];
    v[i].len = 0;
    v[i].data = NULL;
    switch (kind) {
    case PGO_NULL:
    case PGO_UNCHANGED: v[i].kind = (pgo_value_kind)kind; break;
    case PGO_TEXT:
    case PGO_BINARY: {
      if (fcur_left(c) < 4)
        return fcur_fail(c, err,
                         "%s column %u: value length: need 4 bytes, only %zu "
                         "left",
                         which, i + 1, fcur_left(c));
      uint32_t len = fbe32(c->p + c->pos);
      c->pos += 4;
      if (len > fcur_left(c))
        return fcur_fail(c, err,
                         "%s column %u: value of %u bytes but only %zu left",
                         which, i + 1, len, fcur_left(c));
      v[i].kind = (pgo_value_kind)kind;
      v[i].len = len;
      v[i].data = c->p + c->pos;
      c->pos += len;
      break;
    }
    default:
      c->pos--;
      return fcur_fail(c, err, "%s column %u: unknown kind 0x%02x", which,
                       i + 1, kind);
    }
  }
  *used += n;
  *ncols = n;
  return FLOE_OK;
}

/* The leading xid of a data message inside a stream (protocol 2). */
static floe_status rd_stream_xid(pgo_decoder *d, fcur *c, pgo_msg *m,
                                 floe_error *err) {
  if (d->proto < 2 || !d->in_stream) return FLOE_OK;
  FLOE_TRY(rd_u32(c, "xid", &m->xid, err));
  m->has_xid = true;
  return FLOE_OK;
}

static floe_status dec_relation(pgo_decoder *d, fcur *c, pgo_msg *m,
                                floe_error *err) {
  FLOE_TRY(rd_u32(c, "relation oid", &m->relation.relid, err));
  FLOE_TRY(rd_str(c, "namespace", &m->relation.nspname, err));
  FLOE_TRY(rd_str(c, "relation name", &m->relation.relname, err));
  uint8_t ri;
  uint16_t n;
  FLOE_TRY(rd_u8(c, "replica identity", &ri, err));
  m->relation.replident = (char)ri;
  FLOE_TRY(rd_u16(c, "column count", &n, err));
  /* flags, name NUL, type oid, typmod: at least 10 bytes a column */
  if ((size_t)n * 10 > fcur_left(c))
    return fcur_fail(c, err, "%u columns but only %zu bytes left", n,
                     fcur_left(c));
  FLOE_TRY(grow((void **)&d->cols, &d->cols_cap, n, sizeof(pgo_column), err));
  for (uint16_t i = 0; i < n; i++) {
    pgo_column *col = &d->cols[i];
    uint32_t typmod;
    FLOE_TRY(rd_u8(c, "column flags", &col->flags, err));
    FLOE_TRY(rd_str(c, "column name", &col->name, err));
    FLOE_TRY(rd_u32(c, "column type oid", &col->type_oid, err));
    FLOE_TRY(rd_u32(c, "column typmod", &typmod, err));
    col->typmod = (int32_t)typmod;
  }
  m->relation.ncols = n;
  m->relation.cols = d->cols;
  return FLOE_OK;
}

/* 'K' / 'O' / 'N' submessage tag */
static floe_status rd_tag(fcur *c, const char *field, uint8_t *tag,
                          floe_error *err) {
  return rd_u8(c, field, tag, err);
}

static floe_status bad_tag(fcur *c, const char *want, uint8_t tag,
                           floe_error *err) {
  c->pos--;
  return fcur_fail(c, err, "tuple tag 0x%02x, expected %s", tag, want);
}

static floe_status dec_update(pgo_decoder *d, fcur *c, pgo_msg *m,
                              floe_error *err) {
  size_t used = 0, old_at = 0, new_at;
  uint8_t tag;
  FLOE_TRY(rd_u32(c, "relation oid", &m->update.relid, err));
  FLOE_TRY(rd_tag(c, "tuple tag", &tag, err));
  m->update.old_kind = 0;
  m->update.oldtup.ncols = 0;
  m->update.oldtup.cols = NULL;
  if (tag == 'K' || tag == 'O') {
    m->update.old_kind = (char)tag;
    FLOE_TRY(rd_tuple(d, c, tag == 'K' ? "old key tuple" : "old tuple", &used,
                      &m->update.oldtup.ncols, err));
    FLOE_TRY(rd_tag(c, "new tuple tag", &tag, err));
  }
  if (tag != 'N')
    return bad_tag(c, m->update.old_kind ? "N" : "K, O or N", tag, err);
  new_at = used;
  FLOE_TRY(rd_tuple(d, c, "new tuple", &used, &m->update.newtup.ncols, err));
  if (m->update.old_kind) m->update.oldtup.cols = d->vals + old_at;
  m->update.newtup.cols = d->vals + new_at;
  return FLOE_OK;
}

static floe_status dec_truncate(pgo_decoder *d, fcur *c, pgo_msg *m,
                                floe_error *err) {
  uint32_t n;
  FLOE_TRY(rd_u32(c, "relation count", &n, err));
  FLOE_TRY(rd_u8(c, "options", &m->truncate.options, err));
  if ((uint64_t)n * 4 > fcur_left(c))
    return fcur_fail(c, err, "%u relations but only %zu bytes left", n,
                     fcur_left(c));
  FLOE_TRY(grow((void **)&d->relids, &d->relids_cap, n, sizeof(uint32_t), err));
  for (uint32_t i = 0; i < n; i++)
    FLOE_TRY(rd_u32(c, "relation oid", &d->relids[i], err));
  m->truncate.nrels = n;
  m->truncate.relids = d->relids;
  return FLOE_OK;
}

static floe_status dec_body(pgo_decoder *d, fcur *c, pgo_msg *m,
                            floe_error *err) {
  size_t used = 0;
  uint8_t tag;
  switch (m->kind) {
  case PGO_BEGIN:
    FLOE_TRY(rd_u64(c, "final lsn", &m->begin.final_lsn, err));
    FLOE_TRY(rd_i64(c, "commit time", &m->begin.commit_time, err));
    FLOE_TRY(rd_u32(c, "xid", &m->xid, err));
    m->has_xid = true;
    return FLOE_OK;
  case PGO_COMMIT:
    FLOE_TRY(rd_u8(c, "flags", &m->commit.flags, err));
    FLOE_TRY(rd_u64(c, "commit lsn", &m->commit.commit_lsn, err));
    FLOE_TRY(rd_u64(c, "end lsn", &m->commit.end_lsn, err));
    return rd_i64(c, "commit time", &m->commit.commit_time, err);
  case PGO_ORIGIN:
    FLOE_TRY(rd_u64(c, "commit lsn", &m->origin.commit_lsn, err));
    return rd_str(c, "origin name", &m->origin.name, err);
  case PGO_RELATION:
    FLOE_TRY(rd_stream_xid(d, c, m, err));
    return dec_relation(d, c, m, err);
  case PGO_TYPE:
    FLOE_TRY(rd_stream_xid(d, c, m, err));
    FLOE_TRY(rd_u32(c, "type oid", &m->type.oid, err));
    FLOE_TRY(rd_str(c, "namespace", &m->type.nspname, err));
    return rd_str(c, "type name", &m->type.name, err);
  case PGO_INSERT:
    FLOE_TRY(rd_stream_xid(d, c, m, err));
    FLOE_TRY(rd_u32(c, "relation oid", &m->insert.relid, err));
    FLOE_TRY(rd_tag(c, "tuple tag", &tag, err));
    if (tag != 'N') return bad_tag(c, "N", tag, err);
    FLOE_TRY(rd_tuple(d, c, "new tuple", &used, &m->insert.newtup.ncols, err));
    m->insert.newtup.cols = d->vals;
    return FLOE_OK;
  case PGO_UPDATE:
    FLOE_TRY(rd_stream_xid(d, c, m, err));
    return dec_update(d, c, m, err);
  case PGO_DELETE:
    FLOE_TRY(rd_stream_xid(d, c, m, err));
    FLOE_TRY(rd_u32(c, "relation oid", &m->del.relid, err));
    FLOE_TRY(rd_tag(c, "tuple tag", &tag, err));
    if (tag != 'K' && tag != 'O') return bad_tag(c, "K or O", tag, err);
    m->del.old_kind = (char)tag;
    FLOE_TRY(rd_tuple(d, c, tag == 'K' ? "old key tuple" : "old tuple", &used,
                      &m->del.oldtup.ncols, err));
    m->del.oldtup.cols = d->vals;
    return FLOE_OK;
  case PGO_TRUNCATE:
    FLOE_TRY(rd_stream_xid(d, c, m, err));
    return dec_truncate(d, c, m, err);
  case PGO_MESSAGE: {
    uint32_t len;
    FLOE_TRY(rd_stream_xid(d, c, m, err));
    FLOE_TRY(rd_u8(c, "flags", &m->message.flags, err));
    FLOE_TRY(rd_u64(c, "lsn", &m->message.lsn, err));
    FLOE_TRY(rd_str(c, "prefix", &m->message.prefix, err));
    FLOE_TRY(rd_u32(c, "content length", &len, err));
    if (len > fcur_left(c))
      return fcur_fail(c, err, "content of %u bytes but only %zu left", len,
                       fcur_left(c));
    m->message.len = len;
    m->message.content = len ? c->p + c->pos : NULL;
    c->pos += len;
    return FLOE_OK;
  }
  case PGO_STREAM_START: {
    uint8_t first;
    if (d->in_stream) return fcur_fail(c, err, "a stream is already open");
    FLOE_TRY(rd_u32(c, "xid", &m->xid, err));
    m->has_xid = true;
    FLOE_TRY(rd_u8(c, "first segment", &first, err));
    if (first > 1)
      return fcur_fail(c, err, "first-segment flag %u is not 0 or 1", first);
    m->stream_start.first = first == 1;
    return FLOE_OK;
  }
  case PGO_STREAM_STOP:
    if (!d->in_stream) return fcur_fail(c, err, "no stream is open");
    return FLOE_OK;
  case PGO_STREAM_COMMIT:
    FLOE_TRY(rd_u32(c, "xid", &m->xid, err));
    m->has_xid = true;
    FLOE_TRY(rd_u8(c, "flags", &m->stream_commit.flags, err));
    FLOE_TRY(rd_u64(c, "commit lsn", &m->stream_commit.commit_lsn, err));
    FLOE_TRY(rd_u64(c, "end lsn", &m->stream_commit.end_lsn, err));
    return rd_i64(c, "commit time", &m->stream_commit.commit_time, err);
  case PGO_STREAM_ABORT:
    FLOE_TRY(rd_u32(c, "xid", &m->xid, err));
    m->has_xid = true;
    return rd_u32(c, "subtransaction xid", &m->stream_abort.subxid, err);
  }
  return FLOE_OK; /* not reached: pgo_decode checked the kind */
}

floe_status pgo_decode(pgo_decoder *d, const uint8_t *p, size_t n, pgo_msg *out,
                       floe_error *err) {
  memset(out, 0, sizeof *out);
  if (n == 0) return ferr_corrupt(err, "pgoutput: empty message");
  int k = p[0];
  const char *what = label(k);
  if (!what)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "pgoutput: unknown message type 0x%02x ('%c') in a %zu "
                    "byte message",
                    (unsigned)k, k >= 0x20 && k < 0x7f ? k : '?', n);
  if (d->proto < 2 && (k == PGO_STREAM_START || k == PGO_STREAM_STOP ||
                       k == PGO_STREAM_COMMIT || k == PGO_STREAM_ABORT))
    return ferr_corrupt(err, "pgoutput: %s message in protocol version %d",
                        what + 9, d->proto);
  fcur c = fcur_make(p, n, what, 0);
  c.pos = 1;
  out->kind = (pgo_kind)k;
  FLOE_TRY(dec_body(d, &c, out, err));
  FLOE_TRY(fcur_end(&c, err));
  if (k == PGO_STREAM_START) d->in_stream = true;
  if (k == PGO_STREAM_STOP) d->in_stream = false;
  return FLOE_OK;
}
