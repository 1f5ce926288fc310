/*
 * One sample message of every RPC type, with edge values (extreme integers,
 * multi-byte UTF-8, empty strings, empty and non-empty lists). Shared by the
 * RPC unit tests and the fuzz corpus generator.
 */
#ifndef FLOE_TESTS_RPC_SAMPLES_H
#define FLOE_TESTS_RPC_SAMPLES_H

#include <stdint.h>
#include <string.h>

#include "server/rpc.h"

static const uint16_t rpc_all_types[] = {
    RPC_HELLO,         RPC_LIST_TABLES,    RPC_STATUS,      RPC_ADD_TABLE,
    RPC_DROP_TABLE,    RPC_READ_STATE,     RPC_RENEW,       RPC_RELEASE,
    RPC_SCAN,          RPC_COMMIT,         RPC_OPTIMIZE,    RPC_SCHEMA,
    RPC_HELLO_OK,      RPC_LIST_TABLES_OK, RPC_STATUS_OK,   RPC_ADD_TABLE_OK,
    RPC_DROP_TABLE_OK, RPC_READ_STATE_OK,  RPC_RENEW_OK,    RPC_RELEASE_OK,
    RPC_SCAN_DATA,     RPC_COMMIT_OK,      RPC_OPTIMIZE_OK, RPC_SCHEMA_OK,
    RPC_END,           RPC_ERROR};
#define RPC_NTYPES (sizeof rpc_all_types / sizeof rpc_all_types[0])

static const char *sample_tables[] = {"public.orders",
                                      "sch\xc3\xa9ma.t\xe2\x82\xac"};
static rpc_table_entry sample_entries[] = {{"public.orders", "running"},
                                           {"public.\xf0\x9f\x90\x98", ""}};
static rpc_table_status sample_status[] = {
    {"public.orders", "running", 123456789, 0x16B3748, 0x16B3700, UINT64_MAX,
     -1, 1234.5, 987654321, 17, 3, 1 << 30, 2, 100, 42, 1732500000123, ""},
    {"public.events", "error", 0, 0, 0, 0, INT64_MAX, 0.0, 0, 0, 0, 0, 0, 0, 0,
     INT64_MIN, "key (id)=(7) not found: resync needed"}};
static rpc_option sample_options[] = {{"batch-rows", "8192"},
                                      {"commit-interval-ms", "250"}};
static const char *sample_columns[] = {"id", "", "na\xc3\xafve"};
static rpc_key_eq sample_keys[] = {{"id", "42"}, {"region", "eu-west"}};
static const uint8_t sample_data[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x01,
                                      0x02, 0x03, 'A',  'R',  'R',  'O',
                                      'W',  '1',  0x00, 0x80};
static rpc_column sample_schema_cols[] = {
    {"id", FLOE_INT64, 0, 0, 0, 0, 0, 0, NULL},
    {"price", FLOE_DECIMAL, 38, 9, 0, 0, 0, 1, "\"12.5\""},
    {"tags", FLOE_LIST, 0, 0, FLOE_DECIMAL, 10, 2, 1, NULL},
    {"note", FLOE_UTF8, 0, 0, 0, 0, 0, 1, ""}};
static uint32_t sample_key[] = {0, 3};

/* Fills m with the sample of `type` (id = type * 7919 so ids differ). */
static inline void rpc_sample(uint16_t type, rpc_msg *m) {
  memset(m, 0, sizeof *m);
  m->type = type;
  m->id = (uint32_t)type * 7919u;
  switch (type) {
  case RPC_HELLO:
    m->u.hello = (rpc_hello){1, 7, "floe-cli 0.1.0 \xe2\x9c\x93"};
    break;
  case RPC_HELLO_OK:
    m->u.hello_ok = (rpc_hello_ok){
        1,     0x00010000, RPC_DEFAULT_MAX_FRAME, RPC_DEFAULT_MAX_REQUEST,
        60000, "shop"};
    break;
  case RPC_LIST_TABLES_OK:
    m->u.list_tables_ok = (rpc_list_tables_ok){2, sample_entries};
    break;
  case RPC_STATUS: m->u.status = (rpc_status){2, sample_tables}; break;
  case RPC_STATUS_OK:
    m->u.status_ok = (rpc_status_ok){
        "shop", 0x00010000, 3600000, 52428800, 536870912, 2, sample_status};
    break;
  case RPC_ADD_TABLE:
    m->u.add_table = (rpc_add_table){"public.customers", 2, sample_options};
    break;
  case RPC_DROP_TABLE:
    m->u.drop_table = (rpc_drop_table){"public.customers", RPC_DROP_PURGE};
    break;
  case RPC_READ_STATE:
    m->u.read_state =
        (rpc_read_state){"public.orders", 0xFFFFFFFF00000001ull, -1, 0};
    break;
  case RPC_READ_STATE_OK:
    m->u.read_state_ok =
        (rpc_read_state_ok){UINT64_MAX - 1, 0x16B3748, INT64_MAX, 30000};
    break;
  case RPC_RENEW:
  case RPC_RELEASE: m->u.lease.lease = 0x0102030405060708ull; break;
  case RPC_RENEW_OK: m->u.renew_ok.ttl_ms = 45000; break;
  case RPC_SCAN:
    m->u.scan = (rpc_scan){77, RPC_FMT_ARROW, 1 << 20, 3, sample_columns,
                           2,  sample_keys};
    break;
  case RPC_SCAN_DATA:
    m->u.scan_data = (rpc_scan_data){sample_data, sizeof sample_data};
    break;
  case RPC_END: m->u.end = (rpc_end){1000000, 123456789, 0x16B3748}; break;
  case RPC_COMMIT:
  case RPC_SCHEMA: m->u.table = (rpc_table_req){"public.orders", 0}; break;
  case RPC_OPTIMIZE:
    m->u.table = (rpc_table_req){"public.orders", RPC_OPTIMIZE_FORCE};
    break;
  case RPC_COMMIT_OK:
    m->u.commit_ok.durable_lsn = 0x16B3748;
    m->u.commit_ok.snapshot_id = 0x0102030405060708ll;
    break;
  case RPC_OPTIMIZE_OK: m->u.optimize_ok = (rpc_optimize_ok){40, 5}; break;
  case RPC_SCHEMA_OK:
    m->u.schema_ok = (rpc_schema_ok){7, 4, sample_schema_cols, 2, sample_key};
    break;
  case RPC_ERROR:
    m->u.error = (rpc_error_body){FLOE_ETIMEDOUT,
                                  "table public.orders: LSN 0/16B3748 not "
                                  "applied after 5000 ms"};
    break;
  default: break; /* empty payloads */
  }
}

#endif
