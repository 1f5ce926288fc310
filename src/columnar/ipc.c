/*
 * Arrow IPC stream messages (see ipc.h). The flatbuffers are built front to
 * back: a table's vtable is written just before it, and every object a
 * table points at (strings, vectors, sub-tables) is written after it, with
 * the field's forward offset patched once the target's position is known.
 * Flatbuffer offsets are unsigned and point forward, so this order is the
 * one that needs no second pass.
 */
#include "columnar/ipc.h"

#include <stdio.h>
#include <stdlib.h>

/* Message.fbs / Schema.fbs numbers. */
enum {
  FB_V5 = 4,         /* MetadataVersion.V5 */
  FB_HDR_SCHEMA = 1, /* MessageHeader union */
  FB_HDR_RECORD = 3,
  FB_T_INT = 2, /* Type union */
  FB_T_FLOAT = 3,
  FB_T_BINARY = 4,
  FB_T_UTF8 = 5,
  FB_T_BOOL = 6,
  FB_T_DECIMAL = 7,
  FB_T_DATE = 8,
  FB_T_TIME = 9,
  FB_T_TIMESTAMP = 10,
  FB_T_LIST = 12,
  FB_T_FIXED_BINARY = 15,
  FB_PREC_SINGLE = 1, /* Precision */
  FB_PREC_DOUBLE = 2,
  FB_DATE_DAY = 0,   /* DateUnit */
  FB_UNIT_MICRO = 2, /* TimeUnit */
};

/* ---- a forward flatbuffer writer ---- */

typedef struct fbw {
  fbuf *out;
  size_t base; /* where the flatbuffer starts in out: offsets count from it */
  floe_error *err;
} fbw;

static size_t fb_pos(const fbw *w) { return w->out->len - w->base; }

/* Zero-pads until (pos + extra) is a multiple of a. */
static floe_status fb_align(fbw *w, size_t a, size_t extra) {
  size_t pad = (a - (fb_pos(w) + extra) % a) % a;
  return fbuf_zero(w->out, pad, w->err);
}

/* Writes the forward offset from the u32 field at `field` to `target`. */
static void fb_patch(fbw *w, size_t field, size_t target) {
  uint32_t v = (uint32_t)(target - field);
  memcpy(w->out->data + w->base + field, &v, 4);
}

/* One table field: size 0 = absent, else a scalar of 1, 2, 4 or 8 bytes
 * (offsets are 4-byte scalars patched later). */
typedef struct fb_slot {
  uint8_t size;
  uint64_t v;
} fb_slot;

#define FB_MAX_SLOTS 8

/* Writes a vtable and its table; at[i] gets the position of slot i. */
static floe_status fb_table(fbw *w, const fb_slot *s, int n, size_t *at) {
  size_t vt_len = 4 + 2 * (size_t)n;
  FLOE_TRY(fb_align(w, 2, 0));
  size_t vt = fb_pos(w);
  size_t t = vt + vt_len;
  t += (4 - t % 4) % 4;
  uint16_t off[FB_MAX_SLOTS];
  size_t p = t + 4;
  for (int i = 0; i < n; i++) {
    off[i] = 0;
    if (!s[i].size) continue;
    p += (s[i].size - p % s[i].size) % s[i].size;
    off[i] = (uint16_t)(p - t);
    at[i] = p;
    p += s[i].size;
  }
  uint16_t hdr[2] = {(uint16_t)vt_len, (uint16_t)(p - t)};
  FLOE_TRY(fbuf_append(w->out, hdr, 4, w->err));
  FLOE_TRY(fbuf_append(w->out, off, 2 * (size_t)n, w->err));
  FLOE_TRY(fbuf_zero(w->out, t - fb_pos(w), w->err));
  int32_t so = (int32_t)(t - vt); /* the vtable sits at table - so */
  FLOE_TRY(fbuf_append(w->out, &so, 4, w->err));
  for (int i = 0; i < n; i++) {
    if (!s[i].size) continue;
    FLOE_TRY(fbuf_zero(w->out, at[i] - fb_pos(w), w->err));
    FLOE_TRY(fbuf_append(w->out, &s[i].v, s[i].size, w->err));
  }
  return fbuf_zero(w->out, t + (p - t) - fb_pos(w), w->err);
}

/* A string at the current position; patches the offset field at `field`. */
static floe_status fb_string(fbw *w, size_t field, const char *s) {
  size_t n = strlen(s);
  FLOE_TRY(fb_align(w, 4, 0));
  fb_patch(w, field, fb_pos(w));
  FLOE_TRY(fbuf_put_le32(w->out, (uint32_t)n, w->err));
  FLOE_TRY(fbuf_append(w->out, s, n, w->err));
  return fbuf_put_u8(w->out, 0, w->err);
}

/* A vector of n offsets (to tables written later); *first gets the
 * position of element 0. */
static floe_status fb_offset_vec(fbw *w, size_t field, uint32_t n,
                                 size_t *first) {
  FLOE_TRY(fb_align(w, 4, 0));
  fb_patch(w, field, fb_pos(w));
  FLOE_TRY(fbuf_put_le32(w->out, n, w->err));
  *first = fb_pos(w);
  return fbuf_zero(w->out, 4 * (size_t)n, w->err);
}

/* A vector of n 16-byte structs of two int64 (FieldNode, Buffer). */
static floe_status fb_pair_vec(fbw *w, size_t field, const int64_t *pairs,
                               size_t n) {
  FLOE_TRY(fb_align(w, 8, 4));
  fb_patch(w, field, fb_pos(w));
  FLOE_TRY(fbuf_put_le32(w->out, (uint32_t)n, w->err));
  return fbuf_append(w->out, pairs, 16 * n, w->err);
}

/* ---- schema ---- */

/* Position of the table fb_table wrote when its vtable began at vt. */
static size_t table_start(size_t vt, int nslots) {
  size_t t = vt + 4 + 2 * (size_t)nslots;
  return t + (4 - t % 4) % 4;
}

/* The Type union id of a column type; 0 for none. */
static uint8_t type_id(col_type id) {
  switch (id) {
  case COL_BOOL: return FB_T_BOOL;
  case COL_INT16:
  case COL_INT32:
  case COL_INT64: return FB_T_INT;
  case COL_FLOAT32:
  case COL_FLOAT64: return FB_T_FLOAT;
  case COL_DECIMAL: return FB_T_DECIMAL;
  case COL_UTF8: return FB_T_UTF8;
  case COL_BINARY: return FB_T_BINARY;
  case COL_DATE: return FB_T_DATE;
  case COL_TIME: return FB_T_TIME;
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: return FB_T_TIMESTAMP;
  case COL_UUID: return FB_T_FIXED_BINARY;
  case COL_LIST: return FB_T_LIST;
  case COL_TYPE_COUNT: break;
  }
  return 0;
}

/* The Type table of a type, for the offset at `field`. */
static floe_status put_type(fbw *w, size_t field, col_type id, int prec,
                            int scale) {
  fb_slot s[3];
  int n = 0;
  memset(s, 0, sizeof s);
  switch (id) {
  case COL_INT16:
  case COL_INT32:
  case COL_INT64:
    s[0] = (fb_slot){4, (uint64_t)(id == COL_INT16   ? 16
                                   : id == COL_INT32 ? 32
                                                     : 64)};
    s[1] = (fb_slot){1, 1}; /* is_signed */
    n = 2;
    break;
  case COL_FLOAT32:
  case COL_FLOAT64:
    s[0] = (fb_slot){2, id == COL_FLOAT32 ? FB_PREC_SINGLE : FB_PREC_DOUBLE};
    n = 1;
    break;
  case COL_DECIMAL:
    s[0] = (fb_slot){4, (uint64_t)prec};
    s[1] = (fb_slot){4, (uint64_t)scale};
    s[2] = (fb_slot){4, 128};
    n = 3;
    break;
  case COL_DATE:
    /* DAY is 0 but the schema's default is MILLISECOND: always written. */
    s[0] = (fb_slot){2, FB_DATE_DAY};
    n = 1;
    break;
  case COL_TIME:
    s[0] = (fb_slot){2, FB_UNIT_MICRO};
    s[1] = (fb_slot){4, 64};
    n = 2;
    break;
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ:
    s[0] = (fb_slot){2, FB_UNIT_MICRO};
    if (id == COL_TIMESTAMPTZ) s[1] = (fb_slot){4, 0}; /* timezone */
    n = 2;
    break;
  case COL_UUID:
    s[0] = (fb_slot){4, 16};
    n = 1;
    break;
  default: break; /* Bool, Utf8, Binary, List: empty tables */
  }
  size_t at[3];
  FLOE_TRY(fb_align(w, 2, 0));
  size_t vt = fb_pos(w);
  FLOE_TRY(fb_table(w, s, n, at));
  fb_patch(w, field, table_start(vt, n));
  if (id == COL_TIMESTAMPTZ) FLOE_TRY(fb_string(w, at[1], "UTC"));
  return FLOE_OK;
}

/* A KeyValue table for the offset at `field`. */
static floe_status put_kv(fbw *w, size_t field, const char *k, const char *v) {
  fb_slot s[2] = {{4, 0}, {4, 0}};
  size_t at[2];
  FLOE_TRY(fb_align(w, 2, 0));
  size_t vt = fb_pos(w);
  FLOE_TRY(fb_table(w, s, 2, at));
  fb_patch(w, field, table_start(vt, 2));
  FLOE_TRY(fb_string(w, at[0], k));
  return fb_string(w, at[1], v);
}

/* A Field table (for the offset at `field`): name, nullability, type,
 * children (a list's element), and the field id (plus the uuid extension
 * name) as custom metadata. */
static floe_status put_field(fbw *w, size_t field, const char *name,
                             bool nullable, col_dtype t, int32_t id,
                             int32_t elem_id, bool elem_nullable) {
  uint8_t tt = type_id(t.id);
  if (!tt)
    return ferr_set(w->err, FLOE_EINVAL, "arrow ipc: unknown column type %d",
                    (int)t.id);
  /* slots: name, nullable, type_type, type, dictionary, children,
   * custom_metadata */
  fb_slot s[7] = {{4, 0}, {1, nullable}, {1, tt}, {4, 0},
                  {0, 0}, {4, 0},        {4, 0}};
  size_t at[7];
  FLOE_TRY(fb_align(w, 2, 0));
  size_t vt = fb_pos(w);
  FLOE_TRY(fb_table(w, s, 7, at));
  fb_patch(w, field, table_start(vt, 7));
  FLOE_TRY(fb_string(w, at[0], name));
  FLOE_TRY(put_type(w, at[3], t.id, t.precision, t.scale));
  size_t kids;
  FLOE_TRY(fb_offset_vec(w, at[5], t.id == COL_LIST ? 1 : 0, &kids));
  if (t.id == COL_LIST) {
    col_dtype e = col_dtype_elem(t);
    FLOE_TRY(put_field(w, kids, "item", elem_nullable, e, elem_id, 0, false));
  }
  bool uuid = t.id == COL_UUID;
  size_t kv;
  FLOE_TRY(fb_offset_vec(w, at[6], uuid ? 3 : 1, &kv));
  char idtext[16];
  snprintf(idtext, sizeof idtext, "%d", (int)id);
  FLOE_TRY(put_kv(w, kv, "PARQUET:field_id", idtext));
  if (uuid) {
    FLOE_TRY(put_kv(w, kv + 4, "ARROW:extension:name", "arrow.uuid"));
    FLOE_TRY(put_kv(w, kv + 8, "ARROW:extension:metadata", ""));
  }
  return FLOE_OK;
}

/* Starts an encapsulated message: continuation token, a length to patch,
 * then the Message table with its header union (whose offset field's
 * position goes to *hdr). */
static floe_status message_begin(fbw *w, fbuf *out, floe_error *err,
                                 size_t *start, uint8_t hdr_type,
                                 int64_t body_len, size_t *hdr) {
  *start = out->len;
  FLOE_TRY(fbuf_put_le32(out, 0xFFFFFFFFu, err));
  FLOE_TRY(fbuf_put_le32(out, 0, err));
  w->out = out;
  w->base = out->len;
  w->err = err;
  FLOE_TRY(fbuf_put_le32(out, 0, err)); /* root offset */
  /* slots: version, header_type, header, bodyLength */
  fb_slot s[4] = {{2, FB_V5}, {1, hdr_type}, {4, 0}, {8, (uint64_t)body_len}};
  size_t at[4];
  size_t vt = fb_pos(w);
  FLOE_TRY(fb_table(w, s, 4, at));
  fb_patch(w, 0, table_start(vt, 4));
  *hdr = at[2];
  return FLOE_OK;
}

/* Pads the flatbuffer to 8 bytes and writes its length after the token. */
static floe_status message_end(fbw *w, size_t start) {
  FLOE_TRY(fb_align(w, 8, 0));
  uint32_t meta = (uint32_t)(w->out->len - w->base);
  memcpy(w->out->data + start + 4, &meta, 4);
  return FLOE_OK;
}

floe_status col_ipc_schema(const col_schema *sc, fbuf *out, floe_error *err) {
  size_t keep = out->len;
  fbw w;
  size_t start, hdr;
  floe_status st = message_begin(&w, out, err, &start, FB_HDR_SCHEMA, 0, &hdr);
  /* Schema slots: endianness (Little), fields */
  fb_slot s[2] = {{2, 0}, {4, 0}};
  size_t at[2];
  if (!st) st = fb_align(&w, 2, 0);
  size_t vt = fb_pos(&w);
  if (!st) st = fb_table(&w, s, 2, at);
  if (!st) fb_patch(&w, hdr, table_start(vt, 2));
  size_t first = 0;
  if (!st) st = fb_offset_vec(&w, at[1], (uint32_t)sc->nfields, &first);
  for (int i = 0; i < sc->nfields && !st; i++) {
    const col_field *f = &sc->fields[i];
    st = put_field(&w, first + 4 * (size_t)i, f->name, f->nullable, f->type,
                   f->id, f->elem_id, f->elem_nullable);
  }
  if (!st) st = message_end(&w, start);
  if (st) out->len = keep;
  return st;
}

/* ---- record batches ---- */

typedef struct ipc_buf {
  const uint8_t *p;
  size_t n;
} ipc_buf;

typedef struct ipc_plan {
  int64_t *nodes; /* pairs: length, null_count */
  size_t nnodes, nodes_cap;
  ipc_buf *bufs;
  size_t nbufs, bufs_cap;
} ipc_plan;

static floe_status plan_node(ipc_plan *p, const col_column *c,
                             floe_error *err) {
  if (p->nnodes == p->nodes_cap) {
    size_t cap = p->nodes_cap ? 2 * p->nodes_cap : 16;
    int64_t *nn = realloc(p->nodes, cap * 2 * sizeof *nn);
    if (!nn) return ferr_nomem(err, cap * 2 * sizeof *nn);
    p->nodes = nn;
    p->nodes_cap = cap;
  }
  p->nodes[2 * p->nnodes] = c->length;
  p->nodes[2 * p->nnodes + 1] = c->null_count;
  p->nnodes++;
  return FLOE_OK;
}

static floe_status plan_buf(ipc_plan *p, const uint8_t *b, size_t n,
                            floe_error *err) {
  if (p->nbufs == p->bufs_cap) {
    size_t cap = p->bufs_cap ? 2 * p->bufs_cap : 32;
    ipc_buf *nb = realloc(p->bufs, cap * sizeof *nb);
    if (!nb) return ferr_nomem(err, cap * sizeof *nb);
    p->bufs = nb;
    p->bufs_cap = cap;
  }
  p->bufs[p->nbufs++] = (ipc_buf){n ? b : NULL, n};
  return FLOE_OK;
}

/* An int32 offset 0, for var-width columns that have no offsets yet. */
static const int32_t zero_offset = 0;

/* The column's FieldNode and buffers in pre-order (a list, then its
 * element column). */
static floe_status plan_column(ipc_plan *p, const col_column *c,
                               floe_error *err) {
  FLOE_TRY(plan_node(p, c, err));
  size_t bits = ((size_t)c->length + 7) / 8;
  FLOE_TRY(plan_buf(p, c->validity.data, c->null_count ? bits : 0, err));
  switch (c->type.id) {
  case COL_BOOL: return plan_buf(p, c->values.data, bits, err);
  case COL_UTF8:
  case COL_BINARY:
  case COL_LIST: {
    const uint8_t *o = c->offsets.data;
    size_t on = ((size_t)c->length + 1) * 4;
    if (c->offsets.len < on) { /* only an empty column may lack them */
      if (c->length)
        return ferr_set(err, FLOE_EINVAL,
                        "arrow ipc: column has %lld rows but no offsets",
                        (long long)c->length);
      o = (const uint8_t *)&zero_offset;
    }
    FLOE_TRY(plan_buf(p, o, on, err));
    if (c->type.id == COL_LIST) return plan_column(p, c->child, err);
    int32_t end = 0;
    memcpy(&end, o + on - 4, 4);
    return plan_buf(p, c->values.data, (size_t)end, err);
  }
  default:
    return plan_buf(p, c->values.data,
                    (size_t)c->length * (size_t)col_type_width(c->type.id),
                    err);
  }
}

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

floe_status col_ipc_batch(const col_batch *b, fbuf *out, floe_error *err) {
  if (b->length > INT32_MAX)
    return ferr_set(err, FLOE_ERANGE,
                    "arrow ipc: a batch of %lld rows is past 2^31-1",
                    (long long)b->length);
  ipc_plan p;
  memset(&p, 0, sizeof p);
  floe_status st = FLOE_OK;
  for (int i = 0; i < b->schema->nfields && !st; i++)
    st = plan_column(&p, &b->cols[i], err);
  int64_t *spans = NULL;
  size_t body = 0;
  if (!st) {
    spans = malloc((p.nbufs ? p.nbufs : 1) * 2 * sizeof *spans);
    if (!spans) st = ferr_nomem(err, p.nbufs * 2 * sizeof *spans);
  }
  for (size_t i = 0; i < p.nbufs && !st; i++) {
    spans[2 * i] = (int64_t)body;
    spans[2 * i + 1] = (int64_t)p.bufs[i].n;
    body += pad8(p.bufs[i].n);
    if (body > ((size_t)1 << 62))
      st = ferr_set(err, FLOE_ERANGE, "arrow ipc: batch body too large");
  }
  size_t keep = out->len;
  fbw w;
  size_t start = 0, hdr = 0;
  if (!st)
    st =
        message_begin(&w, out, err, &start, FB_HDR_RECORD, (int64_t)body, &hdr);
  /* RecordBatch slots: length, nodes, buffers */
  fb_slot s[3] = {{8, (uint64_t)b->length}, {4, 0}, {4, 0}};
  size_t at[3];
  if (!st) st = fb_align(&w, 2, 0);
  size_t vt = st ? 0 : fb_pos(&w);
  if (!st) st = fb_table(&w, s, 3, at);
  if (!st) fb_patch(&w, hdr, table_start(vt, 3));
  if (!st) st = fb_pair_vec(&w, at[1], p.nodes, p.nnodes);
  if (!st) st = fb_pair_vec(&w, at[2], spans, p.nbufs);
  if (!st) st = message_end(&w, start);
  if (!st) st = fbuf_reserve(out, body, err);
  for (size_t i = 0; i < p.nbufs && !st; i++) {
    st = fbuf_append(out, p.bufs[i].p, p.bufs[i].n, err);
    if (!st) st = fbuf_zero(out, pad8(p.bufs[i].n) - p.bufs[i].n, err);
  }
  if (st) out->len = keep;
  free(spans);
  free(p.nodes);
  free(p.bufs);
  return st;
}

floe_status col_ipc_eos(fbuf *out, floe_error *err) {
  FLOE_TRY(fbuf_put_le32(out, 0xFFFFFFFFu, err));
  return fbuf_put_le32(out, 0, err);
}
