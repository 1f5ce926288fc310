/*
 * Fuzz target for the Postgres decoding path: replication framing, pgoutput
 * messages, tuple values through pgtypes, and COPY text rows.
 *
 * Byte 0 is a mode: bit 0 protocol (1 or 2), bit 1 decoder inside a stream,
 * bit 2 parse the rest as a CopyData frame ('w'/'k') first, bit 3 read a
 * Message's content as COPY binary (else COPY text). Binary tuple values go
 * through pgt_append_binary. The rest is the
 * message. Properties: no crash; every Relation column maps to a valid
 * column type; every text value appends exactly one row or leaves the column
 * unchanged; a Message's content split as a COPY row either fails or appends
 * one row to every column.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pg/copytext.h"
#include "pg/pgoutput.h"
#include "pg/pgtypes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct ty {
  uint32_t oid;
  int32_t typmod;
  bool array;
} ty;

/* the fixed set of types a tuple's columns cycle through */
static const ty TYPES[] = {
    {PGT_OID_INT4, -1, false},        {PGT_OID_INT8, -1, false},
    {PGT_OID_FLOAT8, -1, false},      {PGT_OID_NUMERIC, 655366, false},
    {PGT_OID_NUMERIC, -1, false},     {PGT_OID_TEXT, -1, false},
    {PGT_OID_BYTEA, -1, false},       {PGT_OID_DATE, -1, false},
    {PGT_OID_TIMESTAMPTZ, -1, false}, {PGT_OID_TIMESTAMP, -1, false},
    {PGT_OID_TIME, -1, false},        {PGT_OID_UUID, -1, false},
    {PGT_OID_BOOL, -1, false},        {PGT_OID_INT2, -1, false},
    {PGT_OID_FLOAT4, -1, false},      {PGT_OID_INT4, -1, true},
    {PGT_OID_TEXT, -1, true},         {PGT_OID_NUMERIC, 327686, true},
    {PGT_OID_DATE, -1, true},         {PGT_OID_BYTEA, -1, true},
};
#define NTYPES (sizeof TYPES / sizeof TYPES[0])

static pgt_map map_of(const ty *t) {
  pgt_desc d = {0};
  d.typmod = t->typmod;
  d.typtype = 'b';
  if (t->array) {
    d.oid = 1;
    d.is_array = true;
    d.elem_oid = t->oid;
    d.elem_typtype = 'b';
  } else {
    d.oid = t->oid;
  }
  pgt_map m;
  if (pgt_map_type(&d, &m, NULL) != FLOE_OK) __builtin_trap();
  return m;
}

static void feed_tuple(const pgo_tuple *t, fbuf *scratch) {
  for (uint16_t i = 0; i < t->ncols; i++) {
    const pgo_value *v = &t->cols[i];
    if (v->kind == PGO_UNCHANGED) continue;
    pgt_map m = map_of(&TYPES[i % NTYPES]);
    if (v->kind == PGO_BINARY && m.bin == PGT_BIN_NONE) continue;
    col_column c;
    if (col_init(&c, m.type, NULL) != FLOE_OK) __builtin_trap();
    floe_status st;
    if (v->kind == PGO_NULL)
      st = pgt_append_null(&c, NULL);
    else if (v->kind == PGO_BINARY)
      st = pgt_append_binary(&c, &m, v->data, v->len, NULL);
    else
      st =
          pgt_append_text(&c, &m, (const char *)v->data, v->len, scratch, NULL);
    if (c.length != (st == FLOE_OK ? 1 : 0)) __builtin_trap();
    if (c.child && st != FLOE_OK && c.child->length != 0) __builtin_trap();
    col_free(&c);
  }
}

static void check_relation(const pgo_msg *m) {
  for (uint16_t i = 0; i < m->relation.ncols; i++) {
    const pgo_column *col = &m->relation.cols[i];
    pgt_desc d = {0};
    d.oid = col->type_oid;
    d.typmod = col->typmod;
    d.typtype = 'b';
    d.name = col->name;
    pgt_map pm;
    if (pgt_map_type(&d, &pm, NULL) != FLOE_OK) __builtin_trap();
    if (col_dtype_check(pm.type, NULL) != FLOE_OK) __builtin_trap();
    d.is_array = true;
    d.elem_oid = col->type_oid;
    d.elem_typtype = 'b';
    if (pgt_map_type(&d, &pm, NULL) != FLOE_OK) __builtin_trap();
    if (col_dtype_check(pm.type, NULL) != FLOE_OK) __builtin_trap();
  }
}

static const ty ROW[4] = {{PGT_OID_INT4, -1, false},
                          {PGT_OID_TEXT, -1, false},
                          {PGT_OID_INT8, -1, true},
                          {PGT_OID_TIMESTAMPTZ, -1, false}};

/* A Message's content as a COPY binary stream: header, then tuples. */
static void copy_binary(const uint8_t *p, size_t n, size_t nf) {
  size_t used;
  if (pgcp_binary_header(p, n, &used, NULL) == FLOE_OK) {
    p += used;
    n -= used;
  }
  pgt_map m[4];
  col_column cs[4], *cols[4];
  for (size_t k = 0; k < nf; k++) {
    m[k] = map_of(&ROW[k]);
    if (col_init(&cs[k], m[k].type, NULL) != FLOE_OK) __builtin_trap();
    cols[k] = &cs[k];
  }
  pgcp_field f[4];
  int64_t rows = 0;
  while (n && pgcp_binary_row(p, n, f, nf, &used, NULL) == FLOE_OK) {
    if (used == 0 || used > n) __builtin_trap();
    if (pgcp_append_binary_row(f, nf, cols, m, NULL) == FLOE_OK) rows++;
    for (size_t k = 0; k < nf; k++)
      if (cs[k].length != rows) __builtin_trap();
    p += used;
    n -= used;
  }
  for (size_t k = 0; k < nf; k++) col_free(&cs[k]);
}

/* A Message's content as a COPY text row of up to 4 columns. */
static void copy_row(const uint8_t *p, size_t n, size_t nf, fbuf *scratch) {
  char *line = malloc(n ? n : 1);
  if (!line) return;
  if (n) memcpy(line, p, n);
  pgcp_field f[4];
  if (pgcp_split(line, n, '\t', f, nf, NULL) == FLOE_OK) {
    pgt_map m[4];
    col_column cs[4], *cols[4];
    for (size_t k = 0; k < nf; k++) {
      m[k] = map_of(&ROW[k]);
      if (col_init(&cs[k], m[k].type, NULL) != FLOE_OK) __builtin_trap();
      cols[k] = &cs[k];
    }
    floe_status st = pgcp_append_row(f, nf, cols, m, scratch, NULL);
    for (size_t k = 0; k < nf; k++) {
      if (cs[k].length != (st == FLOE_OK ? 1 : 0)) __builtin_trap();
      col_free(&cs[k]);
    }
  }
  free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  uint8_t mode = data[0];
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  if (mode & 4) {
    pgo_keepalive_msg k;
    pgo_xlogdata_msg x;
    pgo_keepalive(p, n, &k, NULL);
    if (pgo_xlogdata(p, n, &x, NULL) != FLOE_OK) return 0;
    p = x.data;
    n = x.len;
  }
  pgo_decoder d;
  if (pgo_decoder_init(&d, (mode & 1) ? 2 : 1, NULL) != FLOE_OK)
    __builtin_trap();
  d.in_stream = (mode & 2) && d.proto == 2;
  /* an exact-size copy so ASan sees any over-read */
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) return 0;
  if (n) memcpy(buf, p, n);
  pgo_msg m;
  fbuf scratch = FBUF_INIT;
  if (pgo_decode(&d, buf, n, &m, NULL) == FLOE_OK) {
    switch (m.kind) {
    case PGO_RELATION: check_relation(&m); break;
    case PGO_INSERT: feed_tuple(&m.insert.newtup, &scratch); break;
    case PGO_UPDATE:
      if (m.update.old_kind) feed_tuple(&m.update.oldtup, &scratch);
      feed_tuple(&m.update.newtup, &scratch);
      break;
    case PGO_DELETE: feed_tuple(&m.del.oldtup, &scratch); break;
    case PGO_MESSAGE:
      if (mode & 8)
        copy_binary(m.message.content, m.message.len, 1 + m.message.flags % 4);
      else
        copy_row(m.message.content, m.message.len, 1 + m.message.flags % 4,
                 &scratch);
      break;
    default: break;
    }
  }
  fbuf_free(&scratch);
  free(buf);
  pgo_decoder_free(&d);
  return 0;
}
