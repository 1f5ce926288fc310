/* Unit tests for the RPC wire format (src/server/rpc.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rpc_samples.h"
#include "server/rpc.h"

#define MAXF RPC_DEFAULT_MAX_FRAME

static void assert_str(const char *a, const char *b) {
  assert_non_null(a);
  assert_non_null(b);
  assert_string_equal(a, b);
}

static void assert_f64_bits(double a, double b) {
  uint64_t x, y;
  memcpy(&x, &a, 8);
  memcpy(&y, &b, 8);
  assert_true(x == y);
}

/* Field-by-field equality of two messages of the same type. */
static void assert_msg_equal(const rpc_msg *a, const rpc_msg *b) {
  assert_int_equal(a->type, b->type);
  assert_int_equal(a->id, b->id);
  switch (a->type) {
  case RPC_HELLO:
    assert_int_equal(a->u.hello.min_version, b->u.hello.min_version);
    assert_int_equal(a->u.hello.max_version, b->u.hello.max_version);
    assert_str(a->u.hello.client, b->u.hello.client);
    break;
  case RPC_HELLO_OK: {
    const rpc_hello_ok *x = &a->u.hello_ok, *y = &b->u.hello_ok;
    assert_int_equal(x->version, y->version);
    assert_int_equal(x->floe_version, y->floe_version);
    assert_int_equal(x->max_frame, y->max_frame);
    assert_int_equal(x->max_request, y->max_request);
    assert_true(x->lease_ttl_ms == y->lease_ttl_ms);
    assert_str(x->server, y->server);
    break;
  }
  case RPC_LIST_TABLES_OK:
    assert_int_equal(a->u.list_tables_ok.ntables, b->u.list_tables_ok.ntables);
    for (uint32_t i = 0; i < a->u.list_tables_ok.ntables; i++) {
      assert_str(a->u.list_tables_ok.tables[i].name,
                 b->u.list_tables_ok.tables[i].name);
      assert_str(a->u.list_tables_ok.tables[i].state,
                 b->u.list_tables_ok.tables[i].state);
    }
    break;
  case RPC_STATUS:
    assert_int_equal(a->u.status.ntables, b->u.status.ntables);
    for (uint32_t i = 0; i < a->u.status.ntables; i++)
      assert_str(a->u.status.tables[i], b->u.status.tables[i]);
    break;
  case RPC_STATUS_OK: {
    const rpc_status_ok *x = &a->u.status_ok, *y = &b->u.status_ok;
    assert_str(x->server, y->server);
    assert_int_equal(x->floe_version, y->floe_version);
    assert_true(x->uptime_ms == y->uptime_ms);
    assert_true(x->memory_bytes == y->memory_bytes);
    assert_true(x->memory_limit == y->memory_limit);
    assert_int_equal(x->ntables, y->ntables);
    for (uint32_t i = 0; i < x->ntables; i++) {
      const rpc_table_status *s = &x->tables[i], *t = &y->tables[i];
      assert_str(s->name, t->name);
      assert_str(s->state, t->state);
      assert_true(s->rows == t->rows);
      assert_true(s->applied_lsn == t->applied_lsn);
      assert_true(s->durable_lsn == t->durable_lsn);
      assert_true(s->lag_bytes == t->lag_bytes);
      assert_true(s->lag_ms == t->lag_ms);
      assert_f64_bits(s->changes_per_sec, t->changes_per_sec);
      assert_true(s->changes == t->changes);
      assert_true(s->data_files == t->data_files);
      assert_true(s->deletion_vectors == t->deletion_vectors);
      assert_true(s->memory_bytes == t->memory_bytes);
      assert_true(s->open_txns == t->open_txns);
      assert_true(s->snapshots == t->snapshots);
      assert_true(s->commits == t->commits);
      assert_true(s->last_commit_ms == t->last_commit_ms);
      assert_str(s->last_error, t->last_error);
    }
    break;
  }
  case RPC_ADD_TABLE:
    assert_str(a->u.add_table.table, b->u.add_table.table);
    assert_int_equal(a->u.add_table.noptions, b->u.add_table.noptions);
    for (uint32_t i = 0; i < a->u.add_table.noptions; i++) {
      assert_str(a->u.add_table.options[i].key, b->u.add_table.options[i].key);
      assert_str(a->u.add_table.options[i].value,
                 b->u.add_table.options[i].value);
    }
    break;
  case RPC_DROP_TABLE:
    assert_str(a->u.drop_table.table, b->u.drop_table.table);
    assert_int_equal(a->u.drop_table.flags, b->u.drop_table.flags);
    break;
  case RPC_READ_STATE:
    assert_str(a->u.read_state.table, b->u.read_state.table);
    assert_true(a->u.read_state.min_lsn == b->u.read_state.min_lsn);
    assert_true(a->u.read_state.timeout_ms == b->u.read_state.timeout_ms);
    assert_int_equal(a->u.read_state.flags, b->u.read_state.flags);
    break;
  case RPC_READ_STATE_OK:
    assert_true(a->u.read_state_ok.lease == b->u.read_state_ok.lease);
    assert_true(a->u.read_state_ok.lsn == b->u.read_state_ok.lsn);
    assert_true(a->u.read_state_ok.rows == b->u.read_state_ok.rows);
    assert_true(a->u.read_state_ok.ttl_ms == b->u.read_state_ok.ttl_ms);
    break;
  case RPC_RENEW:
  case RPC_RELEASE: assert_true(a->u.lease.lease == b->u.lease.lease); break;
  case RPC_RENEW_OK:
    assert_true(a->u.renew_ok.ttl_ms == b->u.renew_ok.ttl_ms);
    break;
  case RPC_SCAN: {
    const rpc_scan *x = &a->u.scan, *y = &b->u.scan;
    assert_true(x->lease == y->lease);
    assert_int_equal(x->format, y->format);
    assert_int_equal(x->chunk_bytes, y->chunk_bytes);
    assert_int_equal(x->ncolumns, y->ncolumns);
    for (uint32_t i = 0; i < x->ncolumns; i++)
      assert_str(x->columns[i], y->columns[i]);
    assert_int_equal(x->nkeys, y->nkeys);
    for (uint32_t i = 0; i < x->nkeys; i++) {
      assert_str(x->keys[i].column, y->keys[i].column);
      assert_str(x->keys[i].value, y->keys[i].value);
    }
    break;
  }
  case RPC_SCAN_DATA:
    assert_int_equal(a->u.scan_data.len, b->u.scan_data.len);
    assert_memory_equal(a->u.scan_data.data, b->u.scan_data.data,
                        a->u.scan_data.len);
    break;
  case RPC_END:
    assert_true(a->u.end.rows == b->u.end.rows);
    assert_true(a->u.end.bytes == b->u.end.bytes);
    assert_true(a->u.end.lsn == b->u.end.lsn);
    break;
  case RPC_COMMIT:
  case RPC_OPTIMIZE:
  case RPC_SCHEMA:
    assert_str(a->u.table.table, b->u.table.table);
    assert_int_equal(a->u.table.flags, b->u.table.flags);
    break;
  case RPC_COMMIT_OK:
    assert_true(a->u.commit_ok.durable_lsn == b->u.commit_ok.durable_lsn);
    assert_true(a->u.commit_ok.snapshot_id == b->u.commit_ok.snapshot_id);
    break;
  case RPC_OPTIMIZE_OK:
    assert_true(a->u.optimize_ok.files_before == b->u.optimize_ok.files_before);
    assert_true(a->u.optimize_ok.files_after == b->u.optimize_ok.files_after);
    break;
  case RPC_SCHEMA_OK: {
    const rpc_schema_ok *x = &a->u.schema_ok, *y = &b->u.schema_ok;
    assert_int_equal(x->schema_id, y->schema_id);
    assert_int_equal(x->ncolumns, y->ncolumns);
    for (uint32_t i = 0; i < x->ncolumns; i++) {
      const rpc_column *c = &x->columns[i], *d = &y->columns[i];
      assert_str(c->name, d->name);
      assert_int_equal(c->type, d->type);
      assert_int_equal(c->precision, d->precision);
      assert_int_equal(c->scale, d->scale);
      assert_int_equal(c->elem, d->elem);
      assert_int_equal(c->elem_precision, d->elem_precision);
      assert_int_equal(c->elem_scale, d->elem_scale);
      assert_int_equal(c->nullable, d->nullable);
      if (c->initial_default)
        assert_str(c->initial_default, d->initial_default);
      else
        assert_null(d->initial_default);
    }
    assert_int_equal(x->nkey, y->nkey);
    for (uint32_t i = 0; i < x->nkey; i++)
      assert_int_equal(x->key[i], y->key[i]);
    break;
  }
  case RPC_ERROR:
    assert_int_equal(a->u.error.code, b->u.error.code);
    assert_str(a->u.error.message, b->u.error.message);
    break;
  default: break; /* empty payloads */
  }
}

/* Every type: encode, decode, same fields; re-encoding gives the same
 * bytes (the encoding is canonical). */
static void test_round_trip_all(void **state) {
  (void)state;
  for (size_t i = 0; i < RPC_NTYPES; i++) {
    rpc_msg m, d;
    rpc_sample(rpc_all_types[i], &m);
    fbuf b = FBUF_INIT, b2 = FBUF_INIT;
    floe_error err;
    assert_int_equal(rpc_encode(&b, &m, MAXF, &err), FLOE_OK);
    assert_true(b.len >= RPC_HEADER_LEN);
    assert_int_equal(fle32(b.data), b.len - 4);
    farena a;
    farena_init(&a, 4096, 0);
    floe_status st = rpc_decode(b.data, b.len, MAXF, &a, &d, &err);
    if (st != FLOE_OK) fail_msg("%s: %s", rpc_type_name(m.type), err.msg);
    assert_int_equal(d.version, RPC_VERSION);
    assert_msg_equal(&m, &d);
    assert_int_equal(rpc_encode(&b2, &d, MAXF, &err), FLOE_OK);
    assert_int_equal(b.len, b2.len);
    assert_memory_equal(b.data, b2.data, b.len);
    farena_free(&a);
    fbuf_free(&b);
    fbuf_free(&b2);
  }
}

/* m encodes to exactly want[0..n). */
static void encodes_to(const rpc_msg *m, const uint8_t *want, size_t n) {
  fbuf b = FBUF_INIT;
  floe_error err;
  assert_int_equal(rpc_encode(&b, m, MAXF, &err), FLOE_OK);
  assert_int_equal(b.len, n);
  assert_memory_equal(b.data, want, n);
  fbuf_free(&b);
}

/* The documented layout, byte for byte (docs/rpc.md has the same bytes). */
static void test_golden_bytes(void **state) {
  (void)state;
  floe_error err;
  fbuf b = FBUF_INIT;
  rpc_msg m = {.type = RPC_RELEASE, .id = 7};
  m.u.lease.lease = 0x0102030405060708ull;
  static const uint8_t release[] = {
      0x14, 0x00, 0x00, 0x00, 0x46, 0x4C, 0x02, 0x00, 0x08, 0x00, 0x00, 0x00,
      0x07, 0x00, 0x00, 0x00, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
  encodes_to(&m, release, sizeof release);

  assert_int_equal(rpc_encode_error(&b, 9, FLOE_ENOTFOUND, "no t", &err),
                   FLOE_OK);
  static const uint8_t error[] = {0x18, 0x00, 0x00, 0x00, 0x46, 0x4C, 0x02,
                                  0x00, 0xFF, 0xFF, 0x00, 0x00, 0x09, 0x00,
                                  0x00, 0x00, 0xEE, 0x03, 0x00, 0x00, 0x04,
                                  0x00, 0x00, 0x00, 'n',  'o',  ' ',  't'};
  assert_int_equal(b.len, sizeof error);
  assert_memory_equal(b.data, error, sizeof error);

  /* HELLO goes out in version 1, which every daemon reads */
  m = (rpc_msg){.type = RPC_HELLO, .version = 1, .id = 1};
  m.u.hello = (rpc_hello){1, 1, "cli"};
  static const uint8_t hello[] = {0x17, 0x00, 0x00, 0x00, 0x46, 0x4C, 0x01,
                                  0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00,
                                  0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x03,
                                  0x00, 0x00, 0x00, 'c',  'l',  'i'};
  encodes_to(&m, hello, sizeof hello);

  /* COMMIT_OK: version 1 has the durable LSN alone, version 2 adds the
   * snapshot id */
  m = (rpc_msg){.type = RPC_COMMIT_OK, .version = 1, .id = 2};
  m.u.commit_ok = (rpc_commit_ok){0x16B3748, 0x0102030405060708ll};
  static const uint8_t commit1[] = {
      0x14, 0x00, 0x00, 0x00, 0x46, 0x4C, 0x01, 0x00, 0x0A, 0x80, 0x00, 0x00,
      0x02, 0x00, 0x00, 0x00, 0x48, 0x37, 0x6B, 0x01, 0x00, 0x00, 0x00, 0x00};
  encodes_to(&m, commit1, sizeof commit1);
  m.version = 2;
  static const uint8_t commit2[] = {
      0x1C, 0x00, 0x00, 0x00, 0x46, 0x4C, 0x02, 0x00, 0x0A, 0x80, 0x00,
      0x00, 0x02, 0x00, 0x00, 0x00, 0x48, 0x37, 0x6B, 0x01, 0x00, 0x00,
      0x00, 0x00, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
  encodes_to(&m, commit2, sizeof commit2);
  farena a;
  farena_init(&a, 1024, 0);
  rpc_msg d;
  assert_int_equal(rpc_decode(commit1, sizeof commit1, MAXF, &a, &d, &err),
                   FLOE_OK);
  assert_true(d.u.commit_ok.durable_lsn == 0x16B3748);
  assert_true(d.u.commit_ok.snapshot_id == -1);
  assert_int_equal(rpc_decode(commit2, sizeof commit2, MAXF, &a, &d, &err),
                   FLOE_OK);
  assert_true(d.u.commit_ok.snapshot_id == 0x0102030405060708ll);
  farena_free(&a);
  fbuf_free(&b);
}

/* A frame cut anywhere is refused: as is (the length field no longer
 * matches) and with the length patched to the cut (the payload is short). */
static void test_truncated(void **state) {
  (void)state;
  for (size_t i = 0; i < RPC_NTYPES; i++) {
    rpc_msg m, d;
    rpc_sample(rpc_all_types[i], &m);
    fbuf b = FBUF_INIT;
    floe_error err;
    assert_int_equal(rpc_encode(&b, &m, MAXF, &err), FLOE_OK);
    farena a;
    farena_init(&a, 4096, 0);
    for (size_t cut = 0; cut < b.len; cut++) {
      uint8_t *f = malloc(cut ? cut : 1);
      memcpy(f, b.data, cut);
      floe_status st = rpc_decode(f, cut, MAXF, &a, &d, &err);
      if (cut < RPC_HEADER_LEN)
        assert_int_equal(st, FLOE_EINVAL);
      else
        assert_int_equal(st, FLOE_ECORRUPT);
      if (cut >= RPC_HEADER_LEN) {
        uint32_t len = (uint32_t)cut - 4;
        memcpy(f, &len, 4);
        st = rpc_decode(f, cut, MAXF, &a, &d, &err);
        /* data frames are any length; everything else ends in a fixed or
         * counted field */
        if (m.type == RPC_SCAN_DATA) {
          assert_int_equal(st, FLOE_OK);
          assert_int_equal(d.u.scan_data.len, cut - RPC_HEADER_LEN);
        } else if (st != FLOE_ECORRUPT) {
          fail_msg("%s cut at %zu: status %d", rpc_type_name(m.type), cut, st);
        }
      }
      free(f);
      farena_reset(&a);
    }
    /* one byte too many */
    uint8_t zero = 0;
    assert_int_equal(fbuf_append(&b, &zero, 1, &err), FLOE_OK);
    uint32_t len = (uint32_t)b.len - 4;
    memcpy(b.data, &len, 4);
    floe_status st = rpc_decode(b.data, b.len, MAXF, &a, &d, &err);
    if (m.type == RPC_SCAN_DATA) {
      assert_int_equal(st, FLOE_OK);
    } else {
      assert_int_equal(st, FLOE_ECORRUPT);
      assert_non_null(strstr(err.msg, "1 trailing bytes"));
    }
    farena_free(&a);
    fbuf_free(&b);
  }
}

/* Every byte of every sample flipped: a clean status, never a crash (ASan
 * and UBSan check the "never"); header fields give the documented codes. */
static void test_corrupt_bytes(void **state) {
  (void)state;
  static const uint8_t masks[] = {0xFF, 0x80, 0x01, 0x7F};
  for (size_t i = 0; i < RPC_NTYPES; i++) {
    rpc_msg m, d;
    rpc_sample(rpc_all_types[i], &m);
    fbuf b = FBUF_INIT;
    floe_error err;
    assert_int_equal(rpc_encode(&b, &m, MAXF, &err), FLOE_OK);
    farena a;
    farena_init(&a, 4096, 1 << 20);
    for (size_t pos = 0; pos < b.len; pos++) {
      for (size_t k = 0; k < sizeof masks; k++) {
        b.data[pos] ^= masks[k];
        floe_status st = rpc_decode(b.data, b.len, MAXF, &a, &d, &err);
        if (pos < 4 || (pos >= 4 && pos < 6) || (pos >= 10 && pos < 12))
          assert_int_equal(st, FLOE_ECORRUPT); /* length, magic, flags */
        else if (pos >= 6 && pos < 8)
          assert_int_equal(st, FLOE_EUNSUPPORTED); /* version */
        else
          assert_true(st == FLOE_OK || st == FLOE_ECORRUPT ||
                      st == FLOE_EUNSUPPORTED);
        if (st != FLOE_OK) assert_true(err.msg[0] != 0);
        b.data[pos] ^= masks[k];
        farena_reset(&a);
      }
    }
    farena_free(&a);
    fbuf_free(&b);
  }
}

/* Builds a frame of `type` around a raw payload. */
static void frame(fbuf *b, uint16_t type, const void *payload, size_t n) {
  floe_error err;
  size_t start;
  fbuf_reset(b);
  assert_int_equal(rpc_frame_begin(b, type, 5, &start, &err), FLOE_OK);
  assert_int_equal(fbuf_append(b, payload, n, &err), FLOE_OK);
  assert_int_equal(rpc_frame_finish(b, start, MAXF, &err), FLOE_OK);
}

static floe_status decode_raw(uint16_t type, const void *payload, size_t n,
                              floe_error *err) {
  fbuf b = FBUF_INIT;
  frame(&b, type, payload, n);
  farena a;
  farena_init(&a, 4096, 1 << 20);
  rpc_msg d;
  floe_status st = rpc_decode(b.data, b.len, MAXF, &a, &d, err);
  farena_free(&a);
  fbuf_free(&b);
  return st;
}

static void test_hostile_payloads(void **state) {
  (void)state;
  floe_error err;
  /* a string longer than the frame */
  uint8_t p1[] = {0xFF, 0xFF, 0xFF, 0x7F, 'a', 'b'};
  assert_int_equal(decode_raw(RPC_SCHEMA, p1, sizeof p1, &err), FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "rpc schema frame at offset 20"));
  assert_non_null(strstr(err.msg, "string of 2147483647 bytes, only 2 left"));
  /* a list count no frame could hold: refused before any allocation */
  uint8_t p2[] = {0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0};
  assert_int_equal(decode_raw(RPC_STATUS, p2, sizeof p2, &err), FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "4294967295 items need at least"));
  /* status_ok tables: each needs >= 124 bytes */
  uint8_t p3[4 + 4 + 24 + 4 + 100] = {0};
  p3[4 + 4 + 24] = 1;
  assert_int_equal(decode_raw(RPC_STATUS_OK, p3, sizeof p3, &err),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "1 items need at least 124 bytes"));
  /* strings: NUL, overlong, surrogate, beyond U+10FFFF, cut sequence */
  static const char *bad[] = {"a\0b",         "\xC0\x80",
                              "\xED\xA0\x80", "\xF4\x90\x80\x80",
                              "\xE2\x82",     "\xFF"};
  static const size_t badn[] = {3, 2, 3, 4, 2, 1};
  for (size_t i = 0; i < 6; i++) {
    uint8_t p[16] = {0};
    p[0] = (uint8_t)badn[i];
    memcpy(p + 4, bad[i], badn[i]);
    memset(p + 4 + badn[i], 0, 4); /* flags */
    assert_int_equal(decode_raw(RPC_COMMIT, p, 8 + badn[i], &err),
                     FLOE_ECORRUPT);
    assert_non_null(strstr(err.msg, "not UTF-8 text"));
    assert_false(rpc_utf8_valid((const uint8_t *)bad[i], badn[i]));
  }
  assert_true(rpc_utf8_valid((const uint8_t *)"\xF0\x9F\x90\x98\xC3\xA9", 6));
  /* an error reply whose code is not a floe_status */
  uint8_t p4[] = {0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(decode_raw(RPC_ERROR, p4, sizeof p4, &err), FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "error code 0 is not a floe_status"));
  /* an unknown scan format */
  uint8_t p5[8 + 2 + 4 + 4 + 4] = {0};
  p5[8] = 9;
  assert_int_equal(decode_raw(RPC_SCAN, p5, sizeof p5, &err), FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "scan format 9 unknown"));
  /* hello with an empty version range */
  uint8_t p6[] = {2, 0, 1, 0, 0, 0, 0, 0};
  assert_int_equal(decode_raw(RPC_HELLO, p6, sizeof p6, &err), FLOE_ECORRUPT);
  /* schema: key index past the columns, a flag that is not 0/1 */
  uint8_t p7[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(decode_raw(RPC_SCHEMA_OK, p7, sizeof p7, &err),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "key column 0 of 0 columns"));
  uint8_t p8[] = {0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 'x',
                  3, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0};
  assert_int_equal(decode_raw(RPC_SCHEMA_OK, p8, sizeof p8, &err),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "nullable: 2 is not 0 or 1"));
  /* unknown type, unknown version */
  assert_int_equal(decode_raw(0x0042, NULL, 0, &err), FLOE_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "unknown message type 0x0042"));
  fbuf b = FBUF_INIT;
  frame(&b, RPC_LIST_TABLES, NULL, 0);
  b.data[6] = 3;
  farena a;
  farena_init(&a, 4096, 0);
  rpc_msg d;
  assert_int_equal(rpc_decode(b.data, b.len, MAXF, &a, &d, &err),
                   FLOE_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "protocol version 3 unsupported"));
  assert_int_equal(d.id, 5); /* the id is known, so the error can echo it */
  farena_free(&a);
  fbuf_free(&b);
}

static void test_header(void **state) {
  (void)state;
  floe_error err;
  rpc_header h;
  uint8_t f[RPC_HEADER_LEN] = {12, 0, 0, 0, 0x46, 0x4C, 1,    0,
                               3,  0, 0, 0, 0xEF, 0xBE, 0xAD, 0xDE};
  assert_int_equal(rpc_header_parse(f, sizeof f, MAXF, &h, &err), FLOE_OK);
  assert_int_equal(h.len, 12);
  assert_int_equal(h.type, RPC_STATUS);
  assert_int_equal(h.version, 1);
  assert_int_equal(h.id, 0xDEADBEEF);
  assert_int_equal(rpc_header_parse(f, 15, MAXF, &h, &err), FLOE_EINVAL);
  f[0] = 11;
  assert_int_equal(rpc_header_parse(f, sizeof f, MAXF, &h, &err),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "length 11 below"));
  uint32_t huge = 0xFFFFFFF0;
  memcpy(f, &huge, 4);
  assert_int_equal(rpc_header_parse(f, sizeof f, MAXF, &h, &err),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "exceeds the maximum frame size 67108864"));
  f[0] = 12, f[1] = f[2] = f[3] = 0;
  f[4] = 'G'; /* "GET /" from a confused HTTP client */
  assert_int_equal(rpc_header_parse(f, sizeof f, MAXF, &h, &err),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "bad magic"));
  f[4] = 0x46;
  f[11] = 1;
  assert_int_equal(rpc_header_parse(f, sizeof f, MAXF, &h, &err),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(err.msg, "reserved flags"));
}

static void test_encode_refusals(void **state) {
  (void)state;
  floe_error err;
  fbuf b = FBUF_INIT;
  assert_int_equal(fbuf_append(&b, "xyz", 3, &err), FLOE_OK);
  rpc_msg m;
  rpc_sample(RPC_STATUS, &m);
  const char *bad_tables[] = {"ok", "bad\xFF"};
  m.u.status.tables = bad_tables;
  assert_int_equal(rpc_encode(&b, &m, MAXF, &err), FLOE_EINVAL);
  assert_non_null(strstr(err.msg, "not valid UTF-8"));
  assert_int_equal(b.len, 3); /* unchanged */
  /* too big for the frame limit */
  rpc_sample(RPC_SCAN_DATA, &m);
  assert_int_equal(rpc_encode(&b, &m, 20, &err), FLOE_EINVAL);
  assert_non_null(strstr(err.msg, "exceeds the maximum 20"));
  assert_int_equal(b.len, 3);
  assert_int_equal(rpc_encode(&b, &m, 28, &err), FLOE_OK);
  /* unknown type, bad enum values, bad error code */
  b.len = 3;
  m = (rpc_msg){.type = 0x0042};
  assert_int_equal(rpc_encode(&b, &m, MAXF, &err), FLOE_EINVAL);
  rpc_sample(RPC_SCAN, &m);
  m.u.scan.format = 0;
  assert_int_equal(rpc_encode(&b, &m, MAXF, &err), FLOE_EINVAL);
  rpc_sample(RPC_SCHEMA_OK, &m);
  uint32_t badkey[] = {4};
  m.u.schema_ok.nkey = 1;
  m.u.schema_ok.key = badkey;
  assert_int_equal(rpc_encode(&b, &m, MAXF, &err), FLOE_EINVAL);
  m = (rpc_msg){.type = RPC_ERROR};
  m.u.error.code = FLOE_OK;
  assert_int_equal(rpc_encode(&b, &m, MAXF, &err), FLOE_EINVAL);
  m = (rpc_msg){.type = RPC_LIST_TABLES, .version = 9};
  assert_int_equal(rpc_encode(&b, &m, MAXF, &err), FLOE_EINVAL);
  assert_int_equal(b.len, 3);
  /* an error message cut mid-character still encodes as valid text */
  char msg[FLOE_ERROR_MSG_MAX + 8];
  memset(msg, 'a', sizeof msg);
  memcpy(msg + FLOE_ERROR_MSG_MAX - 3, "\xE2\x82\xAC", 3);
  msg[sizeof msg - 1] = 0;
  fbuf_reset(&b);
  assert_int_equal(rpc_encode_error(&b, 1, FLOE_EIO, msg, &err), FLOE_OK);
  farena a;
  farena_init(&a, 4096, 0);
  rpc_msg d;
  assert_int_equal(rpc_decode(b.data, b.len, MAXF, &a, &d, &err), FLOE_OK);
  assert_int_equal(strlen(d.u.error.message), FLOE_ERROR_MSG_MAX - 3);
  farena_free(&a);
  fbuf_free(&b);
}

/* The decoder's memory is the arena's: a limit makes it fail cleanly. */
static void test_arena_limit(void **state) {
  (void)state;
  rpc_msg m, d;
  rpc_sample(RPC_STATUS_OK, &m);
  fbuf b = FBUF_INIT;
  floe_error err;
  assert_int_equal(rpc_encode(&b, &m, MAXF, &err), FLOE_OK);
  farena a;
  farena_init(&a, 64, 64);
  assert_int_equal(rpc_decode(b.data, b.len, MAXF, &a, &d, &err), FLOE_ENOMEM);
  farena_free(&a);
  fbuf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_all),
      cmocka_unit_test(test_golden_bytes),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_corrupt_bytes),
      cmocka_unit_test(test_hostile_payloads),
      cmocka_unit_test(test_header),
      cmocka_unit_test(test_encode_refusals),
      cmocka_unit_test(test_arena_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
