/* Unit tests for the daemon config (src/server/config.c, docs/config.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "server/config.h"
#include "util/log.h"

static floe_status parse(cfg_daemon *c, const char *text, floe_error *err) {
  return cfg_parse(c, text, strlen(text), "floe.conf", err);
}

static void test_defaults(void **state) {
  (void)state;
  cfg_daemon c;
  cfg_init(&c);
  assert_null(c.source);
  assert_null(c.warehouse);
  assert_int_equal(c.ntables, 0);
  assert_string_equal(c.catalog, "fs");
  assert_string_equal(c.name, "floe");
  assert_null(c.socket);
  assert_int_equal(c.socket_mode, 0600);
  assert_null(c.socket_group);
  assert_null(c.metrics);
  assert_true(c.memory_limit == 512ll << 20);
  assert_int_equal(c.log_format, CFG_LOG_TEXT);
  assert_int_equal(c.log_level, FLOG_INFO);
  assert_true(c.lease_ttl_ms == 60000);
  assert_true(c.io_timeout_ms == 30000);
  assert_int_equal(c.max_clients, 64);
  assert_int_equal(c.engine.set, 0);
  floe_error err;
  assert_int_equal(cfg_check(&c, 0, &err), FLOE_EINVAL);
  assert_string_equal(err.msg, "no warehouse: pass --warehouse DIR (or "
                               "'warehouse = DIR' in the config file)");
  cfg_free(&c);
}

static const char full[] =
    "# a full config\n"
    "\n"
    "source    = host=localhost dbname=shop password=a#b\n"
    "table     = public.orders\n"
    "  table = public.customers  \r\n"
    "warehouse = /var/lib/floe/wh\n"
    "catalog   = sqlite:/var/lib/floe/cat.db\n"
    "name      = shop_1\n"
    "socket    = /run/floe/shop.sock\n"
    "socket-mode = 0660\n"
    "socket_group = floe\n"
    "metrics   = [::1]:9187\n"
    "memory-limit = 1 GiB\n"
    "log-format = json\n"
    "log-level = debug\n"
    "lease-ttl-ms = 2min\n"
    "io-timeout-ms = 1500\n"
    "max-clients = 8\n"
    "batch-rows = 8192\n"
    "flush_rows = 500000\n"
    "flush-bytes = 32M\n"
    "flush-age-ms = 5s\n"
    "commit-interval-ms = 250ms\n"
    "table-memory-limit = 128MiB\n"
    "txn-spill-bytes = 1mb\n"
    "keep-snapshots = 10\n"
    "snapshot-max-age-ms = 2h\n"
    "orphan-age-ms = 90m\n"
    "housekeeping-interval-ms = 0\n"
    "target-file-bytes = 256MiB\n"
    "compact-min-files = 4\n"
    "compact-delete-fraction = 0.35\n"
    "compact-interval-ms = 30s\n"
    "state-dir = \" /srv/floe state \"\n";

static void check_full(const cfg_daemon *c) {
  assert_string_equal(c->source, "host=localhost dbname=shop password=a#b");
  assert_int_equal(c->ntables, 2);
  assert_string_equal(c->tables[0], "public.orders");
  assert_string_equal(c->tables[1], "public.customers");
  assert_string_equal(c->warehouse, "/var/lib/floe/wh");
  assert_string_equal(c->catalog, "sqlite:/var/lib/floe/cat.db");
  assert_string_equal(c->name, "shop_1");
  assert_string_equal(c->socket, "/run/floe/shop.sock");
  assert_int_equal(c->socket_mode, 0660);
  assert_string_equal(c->socket_group, "floe");
  assert_string_equal(c->metrics, "[::1]:9187");
  assert_true(c->memory_limit == 1ll << 30);
  assert_int_equal(c->log_format, CFG_LOG_JSON);
  assert_int_equal(c->log_level, FLOG_DEBUG);
  assert_true(c->lease_ttl_ms == 120000);
  assert_true(c->io_timeout_ms == 1500);
  assert_int_equal(c->max_clients, 8);
  floe_table_config t;
  memset(&t, 0x5A, sizeof t);
  cfg_engine_apply(&c->engine, &t);
  assert_int_equal(t.batch_rows, 8192);
  assert_true(t.flush_rows == 500000);
  assert_true(t.flush_bytes == 32 << 20);
  assert_true(t.flush_age_ms == 5000);
  assert_true(t.commit_interval_ms == 250);
  assert_true(t.memory_limit == 128 << 20);
  assert_true(t.txn_spill_bytes == 1 << 20);
  assert_int_equal(t.keep_snapshots, 10);
  assert_true(t.snapshot_max_age_ms == 7200000);
  assert_true(t.orphan_age_ms == 5400000);
  assert_true(t.housekeeping_interval_ms == 0);
  assert_true(t.target_file_bytes == 256 << 20);
  assert_int_equal(t.compact_min_files, 4);
  assert_true(t.compact_delete_fraction == 0.35);
  assert_true(t.compact_interval_ms == 30000);
  assert_string_equal(t.state_dir, " /srv/floe state ");
}

static void test_full_file(void **state) {
  (void)state;
  cfg_daemon c;
  cfg_init(&c);
  floe_error err;
  floe_status st = parse(&c, full, &err);
  if (st != FLOE_OK) fail_msg("%s", err.msg);
  check_full(&c);
  assert_int_equal(cfg_check(&c, 0, &err), FLOE_OK);

  /* cfg_write prints what parses back to the same settings */
  fbuf out = FBUF_INIT;
  assert_int_equal(cfg_write(&c, &out, &err), FLOE_OK);
  fbuf_put_u8(&out, 0, &err);
  assert_non_null(strstr((char *)out.data, "memory-limit = 1GiB\n"));
  assert_non_null(strstr((char *)out.data, "socket-mode = 0660\n"));
  assert_non_null(strstr((char *)out.data, "lease-ttl-ms = 120000ms\n"));
  assert_non_null(
      strstr((char *)out.data, "state-dir = \" /srv/floe state \"\n"));
  cfg_daemon d;
  cfg_init(&d);
  st = cfg_parse(&d, (char *)out.data, out.len - 1, "written", &err);
  if (st != FLOE_OK) fail_msg("%s\n%s", err.msg, (char *)out.data);
  check_full(&d);
  assert_int_equal(d.engine.set, c.engine.set);
  cfg_free(&d);
  fbuf_free(&out);
  cfg_free(&c);
}

/* Unset engine knobs are left alone: the engine's defaults stay. */
static void test_engine_apply_partial(void **state) {
  (void)state;
  cfg_daemon c;
  cfg_init(&c);
  floe_error err;
  assert_int_equal(parse(&c, "commit-interval-ms = 2s\nbatch-rows=100\n", &err),
                   FLOE_OK);
  floe_table_config t;
  memset(&t, 0, sizeof t);
  t.flush_rows = 777;
  t.compact_delete_fraction = 0.5;
  t.state_dir = "keep";
  cfg_engine_apply(&c.engine, &t);
  assert_true(t.commit_interval_ms == 2000);
  assert_int_equal(t.batch_rows, 100);
  assert_true(t.flush_rows == 777);
  assert_true(t.compact_delete_fraction == 0.5);
  assert_string_equal(t.state_dir, "keep");
  /* ADD_TABLE options go through cfg_engine_set */
  cfg_engine e = {0};
  assert_int_equal(cfg_engine_set(&e, "keep_snapshots", "3", &err), FLOE_OK);
  assert_int_equal(cfg_engine_set(&e, "warehouse", "/x", &err), FLOE_ENOTFOUND);
  assert_int_equal(cfg_engine_set(&e, "batch-rows", "0", &err), FLOE_ERANGE);
  assert_string_equal(err.msg, "batch-rows: 0 is outside 1..16777216");
  cfg_engine_apply(&e, &t);
  assert_int_equal(t.keep_snapshots, 3);
  assert_int_equal(t.batch_rows, 100);
  /* written as comments with the engine default */
  fbuf out = FBUF_INIT;
  assert_int_equal(cfg_write(&c, &out, &err), FLOE_OK);
  fbuf_put_u8(&out, 0, &err);
  assert_non_null(
      strstr((char *)out.data, "# flush-bytes = 64MiB (engine default)\n"));
  assert_non_null(strstr((char *)out.data, "batch-rows = 100\n"));
  assert_non_null(strstr((char *)out.data, "# source =\n"));
  fbuf_free(&out);
  cfg_free(&c);
}

static void test_flags_override(void **state) {
  (void)state;
  cfg_daemon c;
  cfg_init(&c);
  floe_error err;
  assert_int_equal(parse(&c, "memory-limit = 1G\ntable = a.b\n", &err),
                   FLOE_OK);
  /* flags after the file: a later value wins, tables add */
  assert_int_equal(cfg_set(&c, "memory-limit", "2G", &err), FLOE_OK);
  assert_true(c.memory_limit == 2ll << 30);
  assert_int_equal(cfg_set(&c, "table", "a.c", &err), FLOE_OK);
  assert_int_equal(c.ntables, 2);
  assert_int_equal(cfg_set(&c, "table", "a.b", &err), FLOE_EINVAL);
  assert_string_equal(err.msg, "table a.b is listed twice");
  assert_int_equal(cfg_set(&c, "metrics", "off", &err), FLOE_OK);
  assert_null(c.metrics);
  assert_int_equal(cfg_set(&c, "frobnicate", "1", &err), FLOE_ENOTFOUND);
  assert_string_equal(err.msg,
                      "unknown setting 'frobnicate' (docs/config.md lists "
                      "them)");
  assert_int_equal(cfg_check(&c, 1, &err), FLOE_EINVAL); /* no warehouse */
  assert_int_equal(cfg_set(&c, "warehouse", "/w", &err), FLOE_OK);
  assert_int_equal(cfg_check(&c, 1, &err), FLOE_OK);
  assert_int_equal(cfg_check(&c, 0, &err), FLOE_EINVAL);
  assert_string_equal(err.msg, "no source: pass --source CONNINFO (or "
                               "'source = CONNINFO' in the config file)");
  cfg_free(&c);
}

static void test_errors(void **state) {
  (void)state;
  static const struct {
    const char *text;
    floe_status code;
    const char *msg;
  } cases[] = {
      {"# ok\nbatch_row = 5\n", FLOE_ENOTFOUND,
       "floe.conf:2: unknown setting 'batch_row' (docs/config.md lists "
       "them)"},
      {"warehouse = /a\n\nwarehouse = /b\n", FLOE_EINVAL,
       "floe.conf:3: 'warehouse' is already set on line 1"},
      {"memory-limit\n", FLOE_EINVAL,
       "floe.conf:1: expected 'key = value', got 'memory-limit'"},
      {"= 5\n", FLOE_EINVAL, "floe.conf:1: no key before '='"},
      {"memory-limit = 1X\n", FLOE_EINVAL,
       "floe.conf:1: memory-limit: '1X': unknown size unit 'X' (use bytes "
       "or K, M, G, T, KiB, MiB, GiB, TiB)"},
      {"memory-limit = 1K\n", FLOE_ERANGE,
       "floe.conf:1: memory-limit: 1K is outside 16777216.."
       "9223372036854775807 bytes"},
      {"memory-limit = 99999999999T\n", FLOE_ERANGE,
       "floe.conf:1: memory-limit: '99999999999T' is too large"},
      {"memory-limit = -5M\n", FLOE_EINVAL,
       "floe.conf:1: memory-limit: '-5M' is negative"},
      {"memory-limit = 99999999999999999999\n", FLOE_ERANGE,
       "floe.conf:1: memory-limit: '99999999999999999999' is too large"},
      {"commit-interval-ms = 1 week\n", FLOE_EINVAL,
       "floe.conf:1: commit-interval-ms: '1 week': unknown duration unit "
       "'week' (use ms, s, m, min, h)"},
      {"max-clients = 8x\n", FLOE_EINVAL,
       "floe.conf:1: max-clients: '8x' is not an integer"},
      {"max-clients = \n", FLOE_EINVAL,
       "floe.conf:1: max-clients: '' is not a number"},
      {"socket-mode = 0644\nsocket-mode = 0400\n", FLOE_EINVAL,
       "floe.conf:2: 'socket-mode' is already set on line 1"},
      {"socket-mode = 0400\n", FLOE_EINVAL,
       "floe.conf:1: socket-mode: 0400 must give the owner read and write "
       "(0600) and have no special bits"},
      {"socket-mode = 600\n", FLOE_OK, NULL},
      {"socket-mode = 4700\n", FLOE_EINVAL,
       "floe.conf:1: socket-mode: 4700 must give the owner read and write "
       "(0600) and have no special bits"},
      {"socket-mode = rw\n", FLOE_EINVAL,
       "floe.conf:1: socket-mode: 'rw' is not an octal mode like 0600"},
      {"log-format = yaml\n", FLOE_EINVAL,
       "floe.conf:1: log-format: 'yaml' is not text or json"},
      {"log-level = off\n", FLOE_EINVAL,
       "floe.conf:1: log-level: 'off' is not debug, info, warn or error"},
      {"catalog = hive\n", FLOE_EINVAL,
       "floe.conf:1: catalog: 'hive' is not fs, sqlite:PATH or "
       "postgres:CONNINFO"},
      {"catalog = postgres:host=x\n", FLOE_OK, NULL},
      {"name = Shop\n", FLOE_EINVAL,
       "floe.conf:1: name: 'Shop' must be 1..48 of a-z, 0-9 and _ (it names "
       "the replication slot)"},
      {"metrics = 9187\n", FLOE_EINVAL,
       "floe.conf:1: metrics: '9187' is not ADDR:PORT (e.g. 127.0.0.1:9187, "
       "[::1]:9187, :9187; \"off\" to disable)"},
      {"metrics = :99999\n", FLOE_EINVAL, NULL},
      {"metrics = :9187\n", FLOE_OK, NULL},
      {"source = \n", FLOE_EINVAL, "floe.conf:1: source: empty value"},
      {"source = \"unterminated\n", FLOE_EINVAL,
       "floe.conf:1: unterminated quotes"},
      {"source = \"a\" # comment\n", FLOE_EINVAL,
       "floe.conf:1: text after the closing quote (comments go on their own "
       "line)"},
      {"source = \"a\\qb\"\n", FLOE_EINVAL,
       "floe.conf:1: unknown escape '\\q' in quotes"},
      {"source = \"tab\\there\"\n", FLOE_OK, NULL},
      {"compact-delete-fraction = 0\n", FLOE_EINVAL,
       "floe.conf:1: compact-delete-fraction: '0' is not a number in (0, 1]"},
      {"compact-delete-fraction = 1.5\n", FLOE_EINVAL, NULL},
      {"compact-delete-fraction = nan\n", FLOE_EINVAL, NULL},
      {"orphan-age-ms = 10s\n", FLOE_ERANGE,
       "floe.conf:1: orphan-age-ms: 10s is outside 60000.."
       "9223372036854775807 ms"},
      {"socket = "
       "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
       FLOE_EINVAL,
       "floe.conf:1: socket: 117 bytes; a unix socket path has at most 107"},
      {"table = \n", FLOE_EINVAL, "floe.conf:1: table: empty value"},
      {"name = a\xff\n", FLOE_EINVAL,
       "floe.conf:1: not UTF-8 text (or holds a NUL byte)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    cfg_daemon c;
    cfg_init(&c);
    floe_error err;
    err.msg[0] = 0;
    floe_status st = parse(&c, cases[i].text, &err);
    if (st != cases[i].code)
      fail_msg("case %zu: status %d (%s), want %d", i, st, err.msg,
               cases[i].code);
    if (cases[i].msg && strcmp(err.msg, cases[i].msg) != 0)
      fail_msg("case %zu: message\n  '%s'\nwant\n  '%s'", i, err.msg,
               cases[i].msg);
    cfg_free(&c);
  }
  /* a NUL byte inside a line */
  cfg_daemon c;
  cfg_init(&c);
  floe_error err;
  assert_int_equal(cfg_parse(&c, "name = a\0b\n", 11, "x", &err), FLOE_EINVAL);
  assert_string_equal(err.msg, "x:1: not UTF-8 text (or holds a NUL byte)");
  cfg_free(&c);
}

static void test_sizes_and_durations(void **state) {
  (void)state;
  static const struct {
    const char *s;
    int64_t v;
  } sizes[] = {{"0", 0},          {"123", 123},
               {"1k", 1024},      {"1KB", 1024},
               {"2 KiB", 2048},   {"3M", 3 << 20},
               {"1GiB", 1 << 30}, {"2t", 2ll << 40},
               {"7b", 7},         {"8191T", 8191ll << 40}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    int64_t v;
    floe_error err;
    assert_int_equal(cfg_parse_size(sizes[i].s, &v, &err), FLOE_OK);
    assert_true(v == sizes[i].v);
  }
  int64_t v;
  floe_error err;
  assert_int_equal(cfg_parse_size("8388608T", &v, &err), FLOE_ERANGE);
  assert_int_equal(cfg_parse_size("1.5G", &v, &err), FLOE_EINVAL);
  assert_int_equal(cfg_parse_size("", &v, &err), FLOE_EINVAL);
  assert_int_equal(cfg_parse_ms("1500", &v, &err), FLOE_OK);
  assert_true(v == 1500);
  assert_int_equal(cfg_parse_ms("2s", &v, &err), FLOE_OK);
  assert_true(v == 2000);
  assert_int_equal(cfg_parse_ms("3m", &v, &err), FLOE_OK);
  assert_true(v == 180000);
  assert_int_equal(cfg_parse_ms("10min", &v, &err), FLOE_OK);
  assert_true(v == 600000);
  assert_int_equal(cfg_parse_ms("1h", &v, &err), FLOE_OK);
  assert_true(v == 3600000);
  assert_int_equal(cfg_parse_ms("1H", &v, &err), FLOE_EINVAL);
  assert_int_equal(cfg_parse_ms("9223372036854775807h", &v, &err), FLOE_ERANGE);
}

static void test_socket_default(void **state) {
  (void)state;
  char buf[128];
  floe_error err;
  setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  assert_int_equal(cfg_socket_default("shop", buf, sizeof buf, &err), FLOE_OK);
  assert_string_equal(buf, "/run/user/1000/floe-shop.sock");
  unsetenv("XDG_RUNTIME_DIR");
  assert_int_equal(cfg_socket_default("shop", buf, sizeof buf, &err), FLOE_OK);
  assert_string_equal(buf, "/tmp/floe-shop.sock");
  char longdir[120];
  memset(longdir, 'd', sizeof longdir);
  longdir[0] = '/';
  longdir[119] = 0;
  setenv("XDG_RUNTIME_DIR", longdir, 1);
  assert_int_equal(cfg_socket_default("shop", buf, sizeof buf, &err),
                   FLOE_EINVAL);
  unsetenv("XDG_RUNTIME_DIR");
}

static void test_load_file(void **state) {
  (void)state;
  char path[] = "/tmp/floe-cfg-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, full, sizeof full - 1), (ssize_t)sizeof full - 1);
  close(fd);
  cfg_daemon c;
  cfg_init(&c);
  floe_error err;
  assert_int_equal(cfg_load(&c, path, &err), FLOE_OK);
  check_full(&c);
  cfg_free(&c);
  /* errors name the file */
  FILE *f = fopen(path, "w");
  fputs("name = shop\nwarehouse\n", f);
  fclose(f);
  cfg_init(&c);
  assert_int_equal(cfg_load(&c, path, &err), FLOE_EINVAL);
  char want[128];
  snprintf(want, sizeof want, "%s:2: expected 'key = value', got 'warehouse'",
           path);
  assert_string_equal(err.msg, want);
  cfg_free(&c);
  unlink(path);
  cfg_init(&c);
  assert_int_equal(cfg_load(&c, path, &err), FLOE_ENOTFOUND);
  assert_int_equal(cfg_load(&c, "/", &err), FLOE_EINVAL);
  cfg_free(&c);
}

/* docs/config.md has a table row for every key, with its default. */
static void test_docs_list_every_key(void **state) {
  (void)state;
  const char *data = getenv("FLOE_TEST_DATA");
  if (!data) skip();
  char path[4096];
  snprintf(path, sizeof path, "%s/../../docs/config.md", data);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  static char doc[1 << 16];
  size_t n = fread(doc, 1, sizeof doc - 1, f);
  fclose(f);
  doc[n] = 0;
  int keys = 0;
  for (int i = 0; cfg_key_name(i); i++, keys++) {
    char row[128];
    snprintf(row, sizeof row, "\n| `%s` | ", cfg_key_name(i));
    const char *r = strstr(doc, row);
    if (!r) fail_msg("docs/config.md has no row for '%s'", cfg_key_name(i));
    const char *def = cfg_key_default(i);
    if (*def) {
      char cell[64];
      snprintf(cell, sizeof cell, "| `%s` |", def);
      const char *eol = strchr(r + 1, '\n');
      const char *c = strstr(r, cell);
      if (!c || c > eol)
        fail_msg("docs/config.md: '%s' row lacks default %s", cfg_key_name(i),
                 def);
    }
    /* and the documented default parses */
    if (*def) {
      cfg_daemon c;
      cfg_init(&c);
      floe_error err;
      floe_status st = cfg_set(&c, cfg_key_name(i), def, &err);
      if (st != FLOE_OK)
        fail_msg("default of %s does not parse: %s", cfg_key_name(i), err.msg);
      cfg_free(&c);
    }
  }
  assert_true(keys >= 31);
}

/* The documented engine defaults are the engine's: each parsed from the
 * key table equals what floe_table_config_init sets. */
static void test_engine_defaults_match(void **state) {
  (void)state;
  cfg_daemon c;
  cfg_init(&c);
  floe_error err;
  for (int i = 0; cfg_key_name(i); i++) {
    if (!cfg_key_is_engine(i) || !*cfg_key_default(i)) continue;
    floe_status st = cfg_set(&c, cfg_key_name(i), cfg_key_default(i), &err);
    if (st != FLOE_OK) fail_msg("%s: %s", cfg_key_name(i), err.msg);
  }
  floe_table_config want, got;
  floe_table_config_init(&want);
  memset(&got, 0x5A, sizeof got);
  got.state_dir = NULL; /* the one knob without a default value */
  cfg_engine_apply(&c.engine, &got);
  assert_int_equal(got.batch_rows, want.batch_rows);
  assert_true(got.flush_rows == want.flush_rows);
  assert_true(got.flush_bytes == want.flush_bytes);
  assert_true(got.flush_age_ms == want.flush_age_ms);
  assert_true(got.commit_interval_ms == want.commit_interval_ms);
  assert_true(got.memory_limit == want.memory_limit);
  assert_true(got.txn_spill_bytes == want.txn_spill_bytes);
  assert_int_equal(got.keep_snapshots, want.keep_snapshots);
  assert_true(got.snapshot_max_age_ms == want.snapshot_max_age_ms);
  assert_true(got.orphan_age_ms == want.orphan_age_ms);
  assert_true(got.housekeeping_interval_ms == want.housekeeping_interval_ms);
  assert_true(got.target_file_bytes == want.target_file_bytes);
  assert_int_equal(got.compact_min_files, want.compact_min_files);
  assert_true(got.compact_delete_fraction == want.compact_delete_fraction);
  assert_true(got.compact_interval_ms == want.compact_interval_ms);
  assert_null(want.state_dir);
  cfg_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_full_file),
      cmocka_unit_test(test_engine_apply_partial),
      cmocka_unit_test(test_flags_override),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_sizes_and_durations),
      cmocka_unit_test(test_socket_default),
      cmocka_unit_test(test_load_file),
      cmocka_unit_test(test_docs_list_every_key),
      cmocka_unit_test(test_engine_defaults_match),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
