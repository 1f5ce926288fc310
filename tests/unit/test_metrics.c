/* Unit tests for the HTTP parser and the Prometheus formatter
 * (src/server/metrics.c); the socket side is in test_server.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "server/metrics.h"

static int parse(const char *s, met_http_req *r) {
  return met_http_parse(s, strlen(s), r);
}

static void test_http_ok(void **state) {
  (void)state;
  met_http_req r;
  const char *get = "GET /metrics?name[]=x HTTP/1.1\r\nHost: localhost:9187\r\n"
                    "User-Agent: Prometheus/2.0\r\nAccept: */*\r\n\r\n";
  assert_int_equal(parse(get, &r), 1);
  assert_string_equal(r.path, "/metrics");
  assert_false(r.head);
  assert_int_equal(r.minor, 1);
  assert_int_equal(r.len, strlen(get));
  /* every proper prefix needs more bytes */
  for (size_t n = 0; n < strlen(get); n++)
    assert_int_equal(met_http_parse(get, n, &r), 0);
  /* bytes after the head (a pipelined request) are not part of it */
  char two[256];
  snprintf(two, sizeof two, "%sGET /x", get);
  assert_int_equal(parse(two, &r), 1);
  assert_int_equal(r.len, strlen(get));
  /* HTTP/1.0 needs no Host; bare LF line ends; HEAD */
  assert_int_equal(parse("HEAD /healthz HTTP/1.0\n\n", &r), 1);
  assert_true(r.head);
  assert_int_equal(r.minor, 0);
  assert_string_equal(r.path, "/healthz");
  assert_int_equal(
      parse("GET / HTTP/1.1\r\nhOsT:x\r\nContent-Length: 0\r\n\r\n", &r), 1);
  assert_string_equal(r.path, "/");
}

static void test_http_bad(void **state) {
  (void)state;
  static const struct {
    const char *req;
    int want;
  } cases[] = {
      {"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {"DELETE / HTTP/1.1\r\n", 405}, /* judged at the request line */
      {"get /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 405},
      {"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"GET /metrics HTTP/1.1\r\n\r\n", 400},                 /* no Host */
      {"GET /m HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400}, /* two */
      {"GET /metrics HTTP/1.1 \r\nHost: x\r\n\r\n", 400},
      {"GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"GET /metrics\r\n\r\n", 400}, /* HTTP/0.9 */
      {"GET /metrics FTP/1.1\r\nHost: x\r\n\r\n", 400},
      {"\r\nGET / HTTP/1.1\r\n", 400},
      {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", 400},
      {"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
      {"GET /\x01 HTTP/1.1\r\n", 400},
      {"GET / HTTP/1.1\r\nHost: \xc3\xa9\r\n\r\n", 400},
      {"\x16\x03\x01", 400}, /* TLS hello: refused before any line ends */
      {"GET /metrics HTTP/1.1\r\nX: a\rb\r\n\r\n", 400},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    met_http_req r;
    int got = parse(cases[i].req, &r);
    if (got != cases[i].want)
      fail_msg("case %zu (%s): %d, want %d", i, cases[i].req, got,
               cases[i].want);
  }
  /* a NUL byte */
  met_http_req r;
  assert_int_equal(met_http_parse("GET /\0 HTTP/1.1\r\n", 17, &r), 400);
  /* a target over the limit, a head over the limit */
  char *big = malloc(MET_MAX_REQUEST + 64);
  memcpy(big, "GET /", 5);
  memset(big + 5, 'a', MET_MAX_TARGET);
  strcpy(big + 5 + MET_MAX_TARGET, " HTTP/1.1\r\n");
  assert_int_equal(parse(big, &r), 414);
  strcpy(big, "GET / HTTP/1.1\r\nX: ");
  memset(big + 19, 'a', MET_MAX_REQUEST);
  big[19 + MET_MAX_REQUEST] = 0;
  assert_int_equal(parse(big, &r), 431);
  /* but a head that fits is fine right up to the limit */
  strcpy(big, "GET / HTTP/1.0\r\nX: ");
  size_t fill = MET_MAX_REQUEST - 19 - 4 - 1;
  memset(big + 19, 'a', fill);
  strcpy(big + 19 + fill, "\r\n\r\n");
  assert_int_equal(strlen(big), MET_MAX_REQUEST - 1);
  assert_int_equal(parse(big, &r), 1);
  free(big);
}

static void test_http_response(void **state) {
  (void)state;
  fbuf b = FBUF_INIT;
  floe_error e;
  assert_int_equal(met_http_response(&b, 405, "text/plain", "Allow: GET\r\n",
                                     "no\n", 3, false, &e),
                   FLOE_OK);
  const char *want = "HTTP/1.1 405 Method Not Allowed\r\n"
                     "Content-Type: text/plain\r\nContent-Length: 3\r\n"
                     "Connection: close\r\nAllow: GET\r\n\r\nno\n";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  fbuf_reset(&b);
  assert_int_equal(
      met_http_response(&b, 200, "text/plain", NULL, "ok\n", 3, true, &e),
      FLOE_OK);
  want = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
         "Connection: close\r\n\r\n";
  assert_int_equal(b.len, strlen(want));
  assert_memory_equal(b.data, want, b.len);
  fbuf_free(&b);
}

static rpc_table_status rows[2] = {{"public.a", "running", 1000, 0x16B3748,
                                    0x16B3700, 72, 1505, 250.5, 9000, 4, 1,
                                    1 << 20, 0, 7, 3, 1732500000123, ""},
                                   {"s.\"b\"\\x", "error", -1, 0, 0, 0, -20,
                                    0.1, 0, 0, 0, 0, 0, 0, 0, 0, "boom"}};

static const char golden[] =
    "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
    "# TYPE process_resident_memory_bytes gauge\n"
    "process_resident_memory_bytes 4096\n"
    "# HELP floe_info Constant 1, labelled with the mirror's name and the floe "
    "version.\n"
    "# TYPE floe_info gauge\n"
    "floe_info{name=\"shop\\n\",version=\"0.1.2\"} 1\n"
    "# HELP floe_uptime_seconds Seconds since the daemon started.\n"
    "# TYPE floe_uptime_seconds gauge\n"
    "floe_uptime_seconds 61.500\n"
    "# HELP floe_memory_used_bytes Memory the daemon accounts against its "
    "limit.\n"
    "# TYPE floe_memory_used_bytes gauge\n"
    "floe_memory_used_bytes 3145728\n"
    "# HELP floe_memory_limit_bytes The daemon's memory limit "
    "(--memory-limit).\n"
    "# TYPE floe_memory_limit_bytes gauge\n"
    "floe_memory_limit_bytes 536870912\n"
    "# HELP floe_tables Tables mirrored.\n"
    "# TYPE floe_tables gauge\n"
    "floe_tables 2\n"
    "# HELP floe_table_state Constant 1, labelled with the table's state.\n"
    "# TYPE floe_table_state gauge\n"
    "floe_table_state{table=\"public.a\",state=\"running\"} 1\n"
    "floe_table_state{table=\"s.\\\"b\\\"\\\\x\",state=\"error\"} 1\n"
    "# HELP floe_table_rows Live rows in the table's current view.\n"
    "# TYPE floe_table_rows gauge\n"
    "floe_table_rows{table=\"public.a\"} 1000\n"
    "floe_table_rows{table=\"s.\\\"b\\\"\\\\x\"} -1\n"
    "# HELP floe_table_applied_lsn Highest source LSN whose commits are all "
    "applied (visible to reads).\n"
    "# TYPE floe_table_applied_lsn gauge\n"
    "floe_table_applied_lsn{table=\"public.a\"} 23803720\n"
    "floe_table_applied_lsn{table=\"s.\\\"b\\\"\\\\x\"} 0\n"
    "# HELP floe_table_durable_lsn Highest source LSN whose commits are all in "
    "a committed Iceberg snapshot.\n"
    "# TYPE floe_table_durable_lsn gauge\n"
    "floe_table_durable_lsn{table=\"public.a\"} 23803648\n"
    "floe_table_durable_lsn{table=\"s.\\\"b\\\"\\\\x\"} 0\n"
    "# HELP floe_table_lag_bytes Source WAL bytes not yet applied to the "
    "table.\n"
    "# TYPE floe_table_lag_bytes gauge\n"
    "floe_table_lag_bytes{table=\"public.a\"} 72\n"
    "floe_table_lag_bytes{table=\"s.\\\"b\\\"\\\\x\"} 0\n"
    "# HELP floe_table_lag_seconds Age of the oldest source change not yet "
    "applied.\n"
    "# TYPE floe_table_lag_seconds gauge\n"
    "floe_table_lag_seconds{table=\"public.a\"} 1.505\n"
    "floe_table_lag_seconds{table=\"s.\\\"b\\\"\\\\x\"} -0.020\n"
    "# HELP floe_table_changes_per_second Rows inserted plus deleted per "
    "second, recent average.\n"
    "# TYPE floe_table_changes_per_second gauge\n"
    "floe_table_changes_per_second{table=\"public.a\"} 250.5\n"
    "floe_table_changes_per_second{table=\"s.\\\"b\\\"\\\\x\"} 0.1\n"
    "# HELP floe_table_changes_total Rows inserted plus deleted since the "
    "daemon started.\n"
    "# TYPE floe_table_changes_total counter\n"
    "floe_table_changes_total{table=\"public.a\"} 9000\n"
    "floe_table_changes_total{table=\"s.\\\"b\\\"\\\\x\"} 0\n"
    "# HELP floe_table_data_files Live data files.\n"
    "# TYPE floe_table_data_files gauge\n"
    "floe_table_data_files{table=\"public.a\"} 4\n"
    "floe_table_data_files{table=\"s.\\\"b\\\"\\\\x\"} 0\n"
    "# HELP floe_table_deletion_vectors Data files with deleted rows.\n"
    "# TYPE floe_table_deletion_vectors gauge\n"
    "floe_table_deletion_vectors{table=\"public.a\"} 1\n"
    "floe_table_deletion_vectors{table=\"s.\\\"b\\\"\\\\x\"} 0\n"
    "# HELP floe_table_memory_bytes Row memory held by the table (mem slice "
    "and open transactions).\n"
    "# TYPE floe_table_memory_bytes gauge\n"
    "floe_table_memory_bytes{table=\"public.a\"} 1048576\n"
    "floe_table_memory_bytes{table=\"s.\\\"b\\\"\\\\x\"} 0\n"
    "# HELP floe_table_open_transactions Source transactions in progress.\n"
    "# TYPE floe_table_open_transactions gauge\n"
    "floe_table_open_transactions{table=\"public.a\"} 0\n"
    "floe_table_open_transactions{table=\"s.\\\"b\\\"\\\\x\"} 0\n"
    "# HELP floe_table_snapshots Iceberg snapshots kept.\n"
    "# TYPE floe_table_snapshots gauge\n"
    "floe_table_snapshots{table=\"public.a\"} 7\n"
    "floe_table_snapshots{table=\"s.\\\"b\\\"\\\\x\"} 0\n"
    "# HELP floe_table_commits_total Iceberg commits since the daemon "
    "started.\n"
    "# TYPE floe_table_commits_total counter\n"
    "floe_table_commits_total{table=\"public.a\"} 3\n"
    "floe_table_commits_total{table=\"s.\\\"b\\\"\\\\x\"} 0\n"
    "# HELP floe_table_last_commit_timestamp_seconds Wall-clock time of the "
    "last Iceberg commit (Unix seconds).\n"
    "# TYPE floe_table_last_commit_timestamp_seconds gauge\n"
    "floe_table_last_commit_timestamp_seconds{table=\"public.a\"} "
    "1732500000.123\n"
    "floe_table_last_commit_timestamp_seconds{table=\"s.\\\"b\\\"\\\\x\"} "
    "0.000\n"
    "# HELP floe_table_error 1 when the table reports an error (see floe "
    "status), else 0.\n"
    "# TYPE floe_table_error gauge\n"
    "floe_table_error{table=\"public.a\"} 0\n"
    "floe_table_error{table=\"s.\\\"b\\\"\\\\x\"} 1\n";

static void test_prometheus(void **state) {
  (void)state;
  rpc_status_ok st = {"shop\n", 0x00010002, 61500, 3 << 20, 512 << 20, 2, rows};
  fbuf b = FBUF_INIT;
  floe_error e;
  assert_int_equal(met_prometheus(&b, &st, 4096, &e), FLOE_OK);
  assert_int_equal(b.len, strlen(golden));
  assert_memory_equal(b.data, golden, b.len);
  /* no status handler: only the process family; rss unknown: nothing */
  fbuf_reset(&b);
  assert_int_equal(met_prometheus(&b, NULL, 4096, &e), FLOE_OK);
  const char *proc = "# HELP process_resident_memory_bytes Resident memory "
                     "size in bytes.\n# TYPE process_resident_memory_bytes "
                     "gauge\nprocess_resident_memory_bytes 4096\n";
  assert_int_equal(b.len, strlen(proc));
  assert_memory_equal(b.data, proc, b.len);
  fbuf_reset(&b);
  assert_int_equal(met_prometheus(&b, NULL, -1, &e), FLOE_OK);
  assert_int_equal(b.len, 0);
  fbuf_free(&b);
  /* this process has some resident memory, in whole pages */
  int64_t rss = met_process_rss();
  assert_true(rss > 0);
  assert_int_equal(rss % 4096, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_ok),
      cmocka_unit_test(test_http_bad),
      cmocka_unit_test(test_http_response),
      cmocka_unit_test(test_prometheus),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
