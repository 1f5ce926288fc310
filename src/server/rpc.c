/* The RPC wire format: frame headers, message encode and decode. */
#include "server/rpc.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "util/error.h"

/* ---- type table ---- */

static const struct {
  uint16_t type;
  const char *name;
} type_names[] = {
    {RPC_HELLO, "hello"},
    {RPC_LIST_TABLES, "list_tables"},
    {RPC_STATUS, "status"},
    {RPC_ADD_TABLE, "add_table"},
    {RPC_DROP_TABLE, "drop_table"},
    {RPC_READ_STATE, "read_state"},
    {RPC_RENEW, "renew"},
    {RPC_RELEASE, "release"},
    {RPC_SCAN, "scan"},
    {RPC_COMMIT, "commit"},
    {RPC_OPTIMIZE, "optimize"},
    {RPC_SCHEMA, "schema"},
    {RPC_HELLO_OK, "hello_ok"},
    {RPC_LIST_TABLES_OK, "list_tables_ok"},
    {RPC_STATUS_OK, "status_ok"},
    {RPC_ADD_TABLE_OK, "add_table_ok"},
    {RPC_DROP_TABLE_OK, "drop_table_ok"},
    {RPC_READ_STATE_OK, "read_state_ok"},
    {RPC_RENEW_OK, "renew_ok"},
    {RPC_RELEASE_OK, "release_ok"},
    {RPC_SCAN_DATA, "scan_data"},
    {RPC_COMMIT_OK, "commit_ok"},
    {RPC_OPTIMIZE_OK, "optimize_ok"},
    {RPC_SCHEMA_OK, "schema_ok"},
    {RPC_END, "end"},
    {RPC_ERROR, "error"},
};

const char *rpc_type_name(uint16_t type) {
  for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
    if (type_names[i].type == type) return type_names[i].name;
  return "unknown";
}

bool rpc_is_request(uint16_t type) {
  return type >= RPC_HELLO && type <= RPC_REQ_MAX;
}

bool rpc_type_known(uint16_t type) {
  return strcmp(rpc_type_name(type), "unknown") != 0;
}

/* ---- UTF-8 ---- */

bool rpc_utf8_valid(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    if (c < 0x80) {
      if (c == 0) return false; /* strings become C strings */
      i++;
      continue;
    }
    size_t k;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
      k = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      k = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      k = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (k > n - i - 1) return false;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += k + 1;
  }
  return true;
}

/* ---- header ---- */

floe_status rpc_header_parse(const uint8_t *p, size_t n, uint32_t max_frame,
                             rpc_header *out, floe_error *err) {
  if (n < RPC_HEADER_LEN)
    return ferr_set(err, FLOE_EINVAL, "rpc header needs %d bytes, got %zu",
                    RPC_HEADER_LEN, n);
  uint16_t magic = (uint16_t)(p[4] | p[5] << 8);
  out->len = fle32(p);
  out->version = (uint16_t)(p[6] | p[7] << 8);
  out->type = (uint16_t)(p[8] | p[9] << 8);
  out->flags = (uint16_t)(p[10] | p[11] << 8);
  out->id = fle32(p + 12);
  if (magic != RPC_MAGIC)
    return ferr_corrupt(err,
                        "rpc frame at offset 4: bad magic 0x%04x (want 0x%04x:"
                        " not a floe client/server?)",
                        magic, RPC_MAGIC);
  if (out->len < RPC_MIN_LEN)
    return ferr_corrupt(err,
                        "rpc frame at offset 0: length %u below the %d"
                        " header bytes",
                        out->len, RPC_MIN_LEN);
  if (out->len > max_frame)
    return ferr_corrupt(err,
                        "rpc frame at offset 0: length %u exceeds the"
                        " maximum frame size %u",
                        out->len, max_frame);
  if (out->flags != 0)
    return ferr_corrupt(err,
                        "rpc frame at offset 10: reserved flags 0x%04x"
                        " set",
                        out->flags);
  return FLOE_OK;
}

/* ---- encoding ---- */

/* Encoder state: the first failure sticks, so message writers read as a
 * plain sequence of puts and check once. */
typedef struct enc {
  fbuf *b;
  floe_error *err;
  floe_status st;
} enc;

static void put(enc *e, const void *p, size_t n) {
  if (e->st == FLOE_OK) e->st = fbuf_append(e->b, p, n, e->err);
}
static void put_u8(enc *e, uint8_t v) { put(e, &v, 1); }
static void put_u16(enc *e, uint16_t v) { put(e, &v, 2); }
static void put_u32(enc *e, uint32_t v) { put(e, &v, 4); }
static void put_u64(enc *e, uint64_t v) { put(e, &v, 8); }
static void put_i64(enc *e, int64_t v) { put(e, &v, 8); }
static void put_f64(enc *e, double v) { put(e, &v, 8); }

static void put_str(enc *e, const char *s, const char *field) {
  if (e->st != FLOE_OK) return;
  if (!s) s = "";
  size_t n = strlen(s);
  if (n > UINT32_MAX || !rpc_utf8_valid((const uint8_t *)s, n)) {
    e->st = ferr_set(e->err, FLOE_EINVAL,
                     "rpc encode: %s is not valid UTF-8 text", field);
    return;
  }
  put_u32(e, (uint32_t)n);
  put(e, s, n);
}

static void enc_bad(enc *e, const char *fmt, const char *what, unsigned v) {
  if (e->st != FLOE_OK) return;
  char m[128];
  snprintf(m, sizeof m, fmt, what, v);
  e->st = ferr_set(e->err, FLOE_EINVAL, "rpc encode: %s", m);
}

static void put_table_status(enc *e, const rpc_table_status *t) {
  put_str(e, t->name, "table name");
  put_str(e, t->state, "table state");
  put_i64(e, t->rows);
  put_u64(e, t->applied_lsn);
  put_u64(e, t->durable_lsn);
  put_u64(e, t->lag_bytes);
  put_i64(e, t->lag_ms);
  put_f64(e, t->changes_per_sec);
  put_u64(e, t->changes);
  put_i64(e, t->data_files);
  put_i64(e, t->deletion_vectors);
  put_i64(e, t->memory_bytes);
  put_i64(e, t->open_txns);
  put_i64(e, t->snapshots);
  put_u64(e, t->commits);
  put_i64(e, t->last_commit_ms);
  put_str(e, t->last_error, "last_error");
}

static void put_payload(enc *e, const rpc_msg *m, uint16_t version) {
  const char *what = rpc_type_name(m->type);
  switch ((rpc_type)m->type) {
  case RPC_HELLO:
    put_u16(e, m->u.hello.min_version);
    put_u16(e, m->u.hello.max_version);
    put_str(e, m->u.hello.client, "client");
    break;
  case RPC_HELLO_OK: {
    const rpc_hello_ok *h = &m->u.hello_ok;
    put_u16(e, h->version);
    put_u32(e, h->floe_version);
    put_u32(e, h->max_frame);
    put_u32(e, h->max_request);
    put_i64(e, h->lease_ttl_ms);
    put_str(e, h->server, "server");
    break;
  }
  case RPC_LIST_TABLES:
  case RPC_ADD_TABLE_OK:
  case RPC_DROP_TABLE_OK:
  case RPC_RELEASE_OK: break;
  case RPC_LIST_TABLES_OK:
    put_u32(e, m->u.list_tables_ok.ntables);
    for (uint32_t i = 0; i < m->u.list_tables_ok.ntables; i++) {
      put_str(e, m->u.list_tables_ok.tables[i].name, "table name");
      put_str(e, m->u.list_tables_ok.tables[i].state, "table state");
    }
    break;
  case RPC_STATUS:
    put_u32(e, m->u.status.ntables);
    for (uint32_t i = 0; i < m->u.status.ntables; i++)
      put_str(e, m->u.status.tables[i], "table name");
    break;
  case RPC_STATUS_OK: {
    const rpc_status_ok *s = &m->u.status_ok;
    put_str(e, s->server, "server");
    put_u32(e, s->floe_version);
    put_i64(e, s->uptime_ms);
    put_i64(e, s->memory_bytes);
    put_i64(e, s->memory_limit);
    put_u32(e, s->ntables);
    for (uint32_t i = 0; i < s->ntables; i++)
      put_table_status(e, &s->tables[i]);
    break;
  }
  case RPC_ADD_TABLE:
    put_str(e, m->u.add_table.table, "table");
    put_u32(e, m->u.add_table.noptions);
    for (uint32_t i = 0; i < m->u.add_table.noptions; i++) {
      put_str(e, m->u.add_table.options[i].key, "option key");
      put_str(e, m->u.add_table.options[i].value, "option value");
    }
    break;
  case RPC_DROP_TABLE:
    put_str(e, m->u.drop_table.table, "table");
    put_u32(e, m->u.drop_table.flags);
    break;
  case RPC_READ_STATE:
    put_str(e, m->u.read_state.table, "table");
    put_u64(e, m->u.read_state.min_lsn);
    put_i64(e, m->u.read_state.timeout_ms);
    put_u32(e, m->u.read_state.flags);
    break;
  case RPC_READ_STATE_OK:
    put_u64(e, m->u.read_state_ok.lease);
    put_u64(e, m->u.read_state_ok.lsn);
    put_i64(e, m->u.read_state_ok.rows);
    put_i64(e, m->u.read_state_ok.ttl_ms);
    break;
  case RPC_RENEW:
  case RPC_RELEASE: put_u64(e, m->u.lease.lease); break;
  case RPC_RENEW_OK: put_i64(e, m->u.renew_ok.ttl_ms); break;
  case RPC_SCAN: {
    const rpc_scan *s = &m->u.scan;
    if (s->format < RPC_FMT_ARROW || s->format > RPC_FMT_MAX)
      enc_bad(e, "%s: format %u unknown", what, s->format);
    put_u64(e, s->lease);
    put_u16(e, s->format);
    put_u32(e, s->chunk_bytes);
    put_u32(e, s->ncolumns);
    for (uint32_t i = 0; i < s->ncolumns; i++)
      put_str(e, s->columns[i], "column");
    put_u32(e, s->nkeys);
    for (uint32_t i = 0; i < s->nkeys; i++) {
      put_str(e, s->keys[i].column, "key column");
      put_str(e, s->keys[i].value, "key value");
    }
    break;
  }
  case RPC_SCAN_DATA:
    if (m->u.scan_data.len) put(e, m->u.scan_data.data, m->u.scan_data.len);
    break;
  case RPC_END:
    put_u64(e, m->u.end.rows);
    put_u64(e, m->u.end.bytes);
    put_u64(e, m->u.end.lsn);
    break;
  case RPC_COMMIT:
  case RPC_OPTIMIZE:
  case RPC_SCHEMA:
    put_str(e, m->u.table.table, "table");
    put_u32(e, m->u.table.flags);
    break;
  case RPC_COMMIT_OK:
    put_u64(e, m->u.commit_ok.durable_lsn);
    if (version >= 2) put_i64(e, m->u.commit_ok.snapshot_id);
    break;
  case RPC_OPTIMIZE_OK:
    put_i64(e, m->u.optimize_ok.files_before);
    put_i64(e, m->u.optimize_ok.files_after);
    break;
  case RPC_SCHEMA_OK: {
    const rpc_schema_ok *s = &m->u.schema_ok;
    put_u32(e, s->schema_id);
    put_u32(e, s->ncolumns);
    for (uint32_t i = 0; i < s->ncolumns; i++) {
      const rpc_column *c = &s->columns[i];
      if (c->type > FLOE_LIST || c->elem >= FLOE_LIST || c->nullable > 1)
        enc_bad(e, "%s: column %u has a bad type or flag", what, i);
      put_str(e, c->name, "column name");
      put_u8(e, c->type);
      put_u8(e, c->precision);
      put_u8(e, c->scale);
      put_u8(e, c->elem);
      put_u8(e, c->elem_precision);
      put_u8(e, c->elem_scale);
      put_u8(e, c->nullable);
      put_u8(e, c->initial_default != NULL);
      if (c->initial_default) put_str(e, c->initial_default, "initial default");
    }
    put_u32(e, s->nkey);
    for (uint32_t i = 0; i < s->nkey; i++) {
      if (s->key[i] >= s->ncolumns)
        enc_bad(e, "%s: key column %u out of range", what, s->key[i]);
      put_u32(e, s->key[i]);
    }
    break;
  }
  case RPC_ERROR:
    if (m->u.error.code <= 1000 || m->u.error.code >= 2000)
      enc_bad(e, "%s: code %u is not a floe_status error", what,
              (unsigned)m->u.error.code);
    put_u32(e, (uint32_t)m->u.error.code);
    put_str(e, m->u.error.message, "error message");
    break;
  default: enc_bad(e, "%s type 0x%04x", "unknown message", m->type); break;
  }
}

void rpc_frame_set_version(fbuf *out, size_t start, uint16_t version) {
  if (start + RPC_HEADER_LEN > out->len) return;
  out->data[start + 6] = (uint8_t)version;
  out->data[start + 7] = (uint8_t)(version >> 8);
}

floe_status rpc_frame_begin(fbuf *out, uint16_t type, uint32_t id,
                            size_t *start, floe_error *err) {
  uint8_t h[RPC_HEADER_LEN] = {0};
  h[4] = RPC_MAGIC & 0xFF;
  h[5] = RPC_MAGIC >> 8;
  h[6] = RPC_VERSION & 0xFF;
  h[7] = RPC_VERSION >> 8;
  h[8] = (uint8_t)type;
  h[9] = (uint8_t)(type >> 8);
  memcpy(h + 12, &id, 4);
  *start = out->len;
  return fbuf_append(out, h, sizeof h, err);
}

floe_status rpc_frame_finish(fbuf *out, size_t start, uint32_t max_frame,
                             floe_error *err) {
  size_t len = out->len - start - 4;
  if (max_frame > RPC_MAX_FRAME_LIMIT) max_frame = RPC_MAX_FRAME_LIMIT;
  if (len > max_frame) {
    out->len = start;
    return ferr_set(err, FLOE_EINVAL,
                    "rpc encode: frame of %zu bytes exceeds the maximum %u",
                    len, max_frame);
  }
  uint32_t l = (uint32_t)len;
  memcpy(out->data + start, &l, 4);
  return FLOE_OK;
}

floe_status rpc_encode(fbuf *out, const rpc_msg *m, uint32_t max_frame,
                       floe_error *err) {
  size_t start;
  FLOE_TRY(rpc_frame_begin(out, m->type, m->id, &start, err));
  uint16_t version = m->version ? m->version : RPC_VERSION;
  if (version < RPC_VERSION_MIN || version > RPC_VERSION_MAX) {
    out->len = start;
    return ferr_set(err, FLOE_EINVAL, "rpc encode: version %u unsupported",
                    version);
  }
  out->data[start + 6] = (uint8_t)version;
  out->data[start + 7] = (uint8_t)(version >> 8);
  enc e = {out, err, FLOE_OK};
  put_payload(&e, m, version);
  if (e.st != FLOE_OK) {
    out->len = start;
    return e.st;
  }
  return rpc_frame_finish(out, start, max_frame, err);
}

floe_status rpc_encode_error(fbuf *out, uint32_t id, floe_status code,
                             const char *message, floe_error *err) {
  /* Messages come from floe_error (bounded); copy and cut at a character
   * boundary so a truncated one still encodes. */
  char msg[FLOE_ERROR_MSG_MAX];
  snprintf(msg, sizeof msg, "%s", message ? message : "");
  size_t n = strlen(msg);
  while (n && !rpc_utf8_valid((const uint8_t *)msg, n)) msg[--n] = 0;
  rpc_msg m = {.type = RPC_ERROR, .id = id};
  m.u.error.code = (code <= 1000 || code >= 2000) ? FLOE_EINVAL : code;
  m.u.error.message = msg;
  return rpc_encode(out, &m, RPC_MAX_FRAME_LIMIT, err);
}

/* ---- decoding ---- */

typedef struct dec {
  fcur c;
  farena *a;
  floe_error *err;
} dec;

static floe_status get_u8(dec *d, uint8_t *v) {
  return fcur_u8(&d->c, v, d->err);
}
static floe_status get_u16(dec *d, uint16_t *v) {
  const uint8_t *p;
  FLOE_TRY(fcur_bytes(&d->c, 2, &p, d->err));
  *v = (uint16_t)(p[0] | p[1] << 8);
  return FLOE_OK;
}
static floe_status get_u32(dec *d, uint32_t *v) {
  return fcur_le32(&d->c, v, d->err);
}
static floe_status get_u64(dec *d, uint64_t *v) {
  return fcur_le64(&d->c, v, d->err);
}
static floe_status get_i64(dec *d, int64_t *v) {
  uint64_t u;
  FLOE_TRY(fcur_le64(&d->c, &u, d->err));
  memcpy(v, &u, 8);
  return FLOE_OK;
}
static floe_status get_f64(dec *d, double *v) {
  uint64_t u;
  FLOE_TRY(fcur_le64(&d->c, &u, d->err));
  memcpy(v, &u, 8);
  return FLOE_OK;
}

static floe_status get_str(dec *d, const char **out, const char *field) {
  uint32_t n;
  FLOE_TRY(get_u32(d, &n));
  if (n > fcur_left(&d->c))
    return fcur_fail(&d->c, d->err, "%s: string of %u bytes, only %zu left",
                     field, n, fcur_left(&d->c));
  const uint8_t *p;
  size_t at = d->c.pos;
  FLOE_TRY(fcur_bytes(&d->c, n, &p, d->err));
  if (!rpc_utf8_valid(p, n)) {
    d->c.pos = at;
    return fcur_fail(&d->c, d->err, "%s: not UTF-8 text (or holds NUL)", field);
  }
  char *s = farena_alloc(d->a, (size_t)n + 1, d->err);
  if (!s) return d->err ? d->err->code : FLOE_ENOMEM;
  if (n) memcpy(s, p, n);
  s[n] = 0;
  *out = s;
  return FLOE_OK;
}

/* Reads a list count and allocates count items of size `size`, refusing
 * counts the bytes left cannot hold at min_wire bytes per item: a hostile
 * count never becomes a large allocation. */
static floe_status get_list(dec *d, uint32_t *count, size_t size,
                            size_t min_wire, void **items, const char *field) {
  FLOE_TRY(get_u32(d, count));
  if (*count > fcur_left(&d->c) / min_wire)
    return fcur_fail(
        &d->c, d->err, "%s: %u items need at least %zu bytes, only %zu left",
        field, *count, (size_t)*count * min_wire, fcur_left(&d->c));
  *items = NULL;
  if (*count == 0) return FLOE_OK;
  *items = farena_alloc(d->a, (size_t)*count * size, d->err);
  if (!*items) return d->err ? d->err->code : FLOE_ENOMEM;
  memset(*items, 0, (size_t)*count * size);
  return FLOE_OK;
}

static floe_status get_flag(dec *d, uint8_t *v, const char *field) {
  FLOE_TRY(get_u8(d, v));
  if (*v > 1) {
    d->c.pos--;
    return fcur_fail(&d->c, d->err, "%s: %u is not 0 or 1", field, *v);
  }
  return FLOE_OK;
}

/* Wire sizes of the smallest list items (for get_list). */
#define W_STR 4u
#define W_TABLE_STATUS (2 * W_STR + 14 * 8 + W_STR)
#define W_COLUMN (W_STR + 8)

static floe_status get_table_status(dec *d, rpc_table_status *t) {
  FLOE_TRY(get_str(d, &t->name, "table name"));
  FLOE_TRY(get_str(d, &t->state, "table state"));
  FLOE_TRY(get_i64(d, &t->rows));
  FLOE_TRY(get_u64(d, &t->applied_lsn));
  FLOE_TRY(get_u64(d, &t->durable_lsn));
  FLOE_TRY(get_u64(d, &t->lag_bytes));
  FLOE_TRY(get_i64(d, &t->lag_ms));
  FLOE_TRY(get_f64(d, &t->changes_per_sec));
  FLOE_TRY(get_u64(d, &t->changes));
  FLOE_TRY(get_i64(d, &t->data_files));
  FLOE_TRY(get_i64(d, &t->deletion_vectors));
  FLOE_TRY(get_i64(d, &t->memory_bytes));
  FLOE_TRY(get_i64(d, &t->open_txns));
  FLOE_TRY(get_i64(d, &t->snapshots));
  FLOE_TRY(get_u64(d, &t->commits));
  FLOE_TRY(get_i64(d, &t->last_commit_ms));
  return get_str(d, &t->last_error, "last_error");
}

static floe_status get_column(dec *d, rpc_column *c) {
  FLOE_TRY(get_str(d, &c->name, "column name"));
  size_t at = d->c.pos;
  FLOE_TRY(get_u8(d, &c->type));
  FLOE_TRY(get_u8(d, &c->precision));
  FLOE_TRY(get_u8(d, &c->scale));
  FLOE_TRY(get_u8(d, &c->elem));
  FLOE_TRY(get_u8(d, &c->elem_precision));
  FLOE_TRY(get_u8(d, &c->elem_scale));
  if (c->type > FLOE_LIST || c->elem >= FLOE_LIST) {
    d->c.pos = at;
    return fcur_fail(&d->c, d->err,
                     "column '%s': type %u / element %u"
                     " unknown",
                     c->name, c->type, c->elem);
  }
  FLOE_TRY(get_flag(d, &c->nullable, "nullable"));
  uint8_t has_default;
  FLOE_TRY(get_flag(d, &has_default, "has_default"));
  c->initial_default = NULL;
  if (has_default) FLOE_TRY(get_str(d, &c->initial_default, "initial default"));
  return FLOE_OK;
}

static floe_status get_payload(dec *d, rpc_msg *m) {
  void *items;
  switch ((rpc_type)m->type) {
  case RPC_HELLO: {
    rpc_hello *h = &m->u.hello;
    FLOE_TRY(get_u16(d, &h->min_version));
    FLOE_TRY(get_u16(d, &h->max_version));
    if (h->min_version > h->max_version)
      return fcur_fail(&d->c, d->err, "version range %u..%u is empty",
                       h->min_version, h->max_version);
    return get_str(d, &h->client, "client");
  }
  case RPC_HELLO_OK: {
    rpc_hello_ok *h = &m->u.hello_ok;
    FLOE_TRY(get_u16(d, &h->version));
    FLOE_TRY(get_u32(d, &h->floe_version));
    FLOE_TRY(get_u32(d, &h->max_frame));
    FLOE_TRY(get_u32(d, &h->max_request));
    FLOE_TRY(get_i64(d, &h->lease_ttl_ms));
    return get_str(d, &h->server, "server");
  }
  case RPC_LIST_TABLES:
  case RPC_ADD_TABLE_OK:
  case RPC_DROP_TABLE_OK:
  case RPC_RELEASE_OK: return FLOE_OK;
  case RPC_LIST_TABLES_OK: {
    rpc_list_tables_ok *l = &m->u.list_tables_ok;
    FLOE_TRY(get_list(d, &l->ntables, sizeof *l->tables, 2 * W_STR, &items,
                      "tables"));
    l->tables = items;
    for (uint32_t i = 0; i < l->ntables; i++) {
      FLOE_TRY(get_str(d, &l->tables[i].name, "table name"));
      FLOE_TRY(get_str(d, &l->tables[i].state, "table state"));
    }
    return FLOE_OK;
  }
  case RPC_STATUS: {
    rpc_status *s = &m->u.status;
    FLOE_TRY(
        get_list(d, &s->ntables, sizeof *s->tables, W_STR, &items, "tables"));
    s->tables = items;
    for (uint32_t i = 0; i < s->ntables; i++)
      FLOE_TRY(get_str(d, &s->tables[i], "table name"));
    return FLOE_OK;
  }
  case RPC_STATUS_OK: {
    rpc_status_ok *s = &m->u.status_ok;
    FLOE_TRY(get_str(d, &s->server, "server"));
    FLOE_TRY(get_u32(d, &s->floe_version));
    FLOE_TRY(get_i64(d, &s->uptime_ms));
    FLOE_TRY(get_i64(d, &s->memory_bytes));
    FLOE_TRY(get_i64(d, &s->memory_limit));
    FLOE_TRY(get_list(d, &s->ntables, sizeof *s->tables, W_TABLE_STATUS, &items,
                      "tables"));
    s->tables = items;
    for (uint32_t i = 0; i < s->ntables; i++)
      FLOE_TRY(get_table_status(d, &s->tables[i]));
    return FLOE_OK;
  }
  case RPC_ADD_TABLE: {
    rpc_add_table *a = &m->u.add_table;
    FLOE_TRY(get_str(d, &a->table, "table"));
    FLOE_TRY(get_list(d, &a->noptions, sizeof *a->options, 2 * W_STR, &items,
                      "options"));
    a->options = items;
    for (uint32_t i = 0; i < a->noptions; i++) {
      FLOE_TRY(get_str(d, &a->options[i].key, "option key"));
      FLOE_TRY(get_str(d, &a->options[i].value, "option value"));
    }
    return FLOE_OK;
  }
  case RPC_DROP_TABLE:
    FLOE_TRY(get_str(d, &m->u.drop_table.table, "table"));
    return get_u32(d, &m->u.drop_table.flags);
  case RPC_READ_STATE:
    FLOE_TRY(get_str(d, &m->u.read_state.table, "table"));
    FLOE_TRY(get_u64(d, &m->u.read_state.min_lsn));
    FLOE_TRY(get_i64(d, &m->u.read_state.timeout_ms));
    return get_u32(d, &m->u.read_state.flags);
  case RPC_READ_STATE_OK:
    FLOE_TRY(get_u64(d, &m->u.read_state_ok.lease));
    FLOE_TRY(get_u64(d, &m->u.read_state_ok.lsn));
    FLOE_TRY(get_i64(d, &m->u.read_state_ok.rows));
    return get_i64(d, &m->u.read_state_ok.ttl_ms);
  case RPC_RENEW:
  case RPC_RELEASE: return get_u64(d, &m->u.lease.lease);
  case RPC_RENEW_OK: return get_i64(d, &m->u.renew_ok.ttl_ms);
  case RPC_SCAN: {
    rpc_scan *s = &m->u.scan;
    FLOE_TRY(get_u64(d, &s->lease));
    FLOE_TRY(get_u16(d, &s->format));
    if (s->format < RPC_FMT_ARROW || s->format > RPC_FMT_MAX) {
      d->c.pos -= 2;
      return fcur_fail(&d->c, d->err, "scan format %u unknown", s->format);
    }
    FLOE_TRY(get_u32(d, &s->chunk_bytes));
    FLOE_TRY(get_list(d, &s->ncolumns, sizeof *s->columns, W_STR, &items,
                      "columns"));
    s->columns = items;
    for (uint32_t i = 0; i < s->ncolumns; i++)
      FLOE_TRY(get_str(d, &s->columns[i], "column"));
    FLOE_TRY(
        get_list(d, &s->nkeys, sizeof *s->keys, 2 * W_STR, &items, "keys"));
    s->keys = items;
    for (uint32_t i = 0; i < s->nkeys; i++) {
      FLOE_TRY(get_str(d, &s->keys[i].column, "key column"));
      FLOE_TRY(get_str(d, &s->keys[i].value, "key value"));
    }
    return FLOE_OK;
  }
  case RPC_SCAN_DATA: {
    size_t n = fcur_left(&d->c);
    m->u.scan_data.len = (uint32_t)n;
    return fcur_bytes(&d->c, n, &m->u.scan_data.data, d->err);
  }
  case RPC_END:
    FLOE_TRY(get_u64(d, &m->u.end.rows));
    FLOE_TRY(get_u64(d, &m->u.end.bytes));
    return get_u64(d, &m->u.end.lsn);
  case RPC_COMMIT:
  case RPC_OPTIMIZE:
  case RPC_SCHEMA:
    FLOE_TRY(get_str(d, &m->u.table.table, "table"));
    return get_u32(d, &m->u.table.flags);
  case RPC_COMMIT_OK:
    m->u.commit_ok.snapshot_id = -1; /* version 1 does not say */
    FLOE_TRY(get_u64(d, &m->u.commit_ok.durable_lsn));
    return m->version >= 2 ? get_i64(d, &m->u.commit_ok.snapshot_id) : FLOE_OK;
  case RPC_OPTIMIZE_OK:
    FLOE_TRY(get_i64(d, &m->u.optimize_ok.files_before));
    return get_i64(d, &m->u.optimize_ok.files_after);
  case RPC_SCHEMA_OK: {
    rpc_schema_ok *s = &m->u.schema_ok;
    FLOE_TRY(get_u32(d, &s->schema_id));
    FLOE_TRY(get_list(d, &s->ncolumns, sizeof *s->columns, W_COLUMN, &items,
                      "columns"));
    s->columns = items;
    for (uint32_t i = 0; i < s->ncolumns; i++)
      FLOE_TRY(get_column(d, &s->columns[i]));
    FLOE_TRY(get_list(d, &s->nkey, sizeof *s->key, 4, &items, "key"));
    s->key = items;
    for (uint32_t i = 0; i < s->nkey; i++) {
      FLOE_TRY(get_u32(d, &s->key[i]));
      if (s->key[i] >= s->ncolumns) {
        d->c.pos -= 4;
        return fcur_fail(&d->c, d->err, "key column %u of %u columns",
                         s->key[i], s->ncolumns);
      }
    }
    return FLOE_OK;
  }
  case RPC_ERROR: {
    uint32_t code;
    FLOE_TRY(get_u32(d, &code));
    if (code <= 1000 || code >= 2000) {
      d->c.pos -= 4;
      return fcur_fail(&d->c, d->err, "error code %u is not a floe_status",
                       code);
    }
    m->u.error.code = (floe_status)code;
    return get_str(d, &m->u.error.message, "error message");
  }
  case RPC_REPLY: break;
  }
  return ferr_set(d->err, FLOE_EUNSUPPORTED, "rpc: unknown message type 0x%04x",
                  m->type);
}

floe_status rpc_decode(const uint8_t *frame, size_t n, uint32_t max_frame,
                       farena *a, rpc_msg *m, floe_error *err) {
  rpc_header h;
  memset(m, 0, sizeof *m);
  FLOE_TRY(rpc_header_parse(frame, n, max_frame, &h, err));
  if ((size_t)h.len + 4 != n)
    return ferr_corrupt(err,
                        "rpc frame at offset 0: length field says %u"
                        " bytes, the frame has %zu",
                        h.len, n - 4);
  m->type = h.type;
  m->version = h.version;
  m->id = h.id;
  if (h.version < RPC_VERSION_MIN || h.version > RPC_VERSION_MAX)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "rpc: protocol version %u unsupported (this side speaks"
                    " %d..%d)",
                    h.version, RPC_VERSION_MIN, RPC_VERSION_MAX);
  if (!rpc_type_known(h.type))
    return ferr_set(err, FLOE_EUNSUPPORTED, "rpc: unknown message type 0x%04x",
                    h.type);
  char what[48];
  snprintf(what, sizeof what, "rpc %s frame", rpc_type_name(h.type));
  dec d = {fcur_make(frame, n, what, 0), a, err};
  d.c.pos = RPC_HEADER_LEN;
  FLOE_TRY(get_payload(&d, m));
  return fcur_end(&d.c, err);
}
