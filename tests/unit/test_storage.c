/* Unit tests for src/storage: the local-filesystem object store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "storage/store.h"

typedef struct fixture {
  char dir[64];
  fstore *s;
} fixture;

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/floe-store-XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  floe_error e;
  if (fstore_fs_open(f->dir, &f->s, &e) != FLOE_OK) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  fstore_free(f->s);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  int rc = system(cmd);
  free(f);
  return rc == 0 ? 0 : -1;
}

static void test_put_get(void **state) {
  fixture *f = *state;
  floe_error e;
  assert_int_equal(fstore_put(f->s, "a/b/c.txt", "hello world", 11, &e),
                   FLOE_OK);
  char buf[5];
  assert_int_equal(fstore_get_range(f->s, "a/b/c.txt", 6, buf, 5, &e), FLOE_OK);
  assert_memory_equal(buf, "world", 5);
  assert_int_equal(fstore_get_range(f->s, "a/b/c.txt", 8, buf, 5, &e),
                   FLOE_ECORRUPT);
  uint64_t size;
  assert_int_equal(fstore_size(f->s, "a/b/c.txt", &size, &e), FLOE_OK);
  assert_int_equal(size, 11);
  /* replace is atomic and complete */
  assert_int_equal(fstore_put(f->s, "a/b/c.txt", "bye", 3, &e), FLOE_OK);
  fbuf all = FBUF_INIT;
  assert_int_equal(fstore_get_all(f->s, "a/b/c.txt", 100, &all, &e), FLOE_OK);
  assert_int_equal(all.len, 3);
  assert_memory_equal(all.data, "bye", 3);
  fbuf_free(&all);
  assert_int_equal(fstore_size(f->s, "missing", &size, &e), FLOE_ENOTFOUND);
}

static void test_put_if_absent(void **state) {
  fixture *f = *state;
  floe_error e;
  assert_int_equal(fstore_put_if_absent(f->s, "m/v1.json", "one", 3, &e),
                   FLOE_OK);
  assert_int_equal(fstore_put_if_absent(f->s, "m/v1.json", "two", 3, &e),
                   FLOE_EEXIST);
  char buf[3];
  assert_int_equal(fstore_get_range(f->s, "m/v1.json", 0, buf, 3, &e), FLOE_OK);
  assert_memory_equal(buf, "one", 3);
  /* racing writers: both stage, exactly one publishes */
  fstore_writer *w1, *w2;
  assert_int_equal(fstore_writer_open(f->s, "m/v2.json", &w1, &e), FLOE_OK);
  assert_int_equal(fstore_writer_open(f->s, "m/v2.json", &w2, &e), FLOE_OK);
  assert_int_equal(fstore_writer_write(w1, "w1", 2, &e), FLOE_OK);
  assert_int_equal(fstore_writer_write(w2, "w2", 2, &e), FLOE_OK);
  assert_int_equal(fstore_writer_commit(w2, true, &e), FLOE_OK);
  assert_int_equal(fstore_writer_commit(w1, true, &e), FLOE_EEXIST);
  assert_int_equal(fstore_get_range(f->s, "m/v2.json", 0, buf, 2, &e), FLOE_OK);
  assert_memory_equal(buf, "w2", 2);
}

static floe_status collect(void *ctx, const char *key, uint64_t size,
                           floe_error *err) {
  (void)err;
  fbuf *b = ctx;
  return fbuf_printf(b, NULL, "%s:%llu;", key, (unsigned long long)size);
}

static void test_list_del_writer(void **state) {
  fixture *f = *state;
  floe_error e;
  assert_int_equal(fstore_put(f->s, "t/data/x.parquet", "12345", 5, &e),
                   FLOE_OK);
  assert_int_equal(fstore_put(f->s, "t/metadata/v1.json", "{}", 2, &e),
                   FLOE_OK);
  assert_int_equal(fstore_put(f->s, "u/data/y", "1", 1, &e), FLOE_OK);
  /* a big streamed object crosses the writer's buffer several times */
  fstore_writer *w;
  assert_int_equal(fstore_writer_open(f->s, "t/data/big", &w, &e), FLOE_OK);
  static uint8_t chunk[100000];
  for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (uint8_t)i;
  for (int i = 0; i < 10; i++)
    assert_int_equal(fstore_writer_write(w, chunk, sizeof chunk, &e), FLOE_OK);
  assert_int_equal(fstore_writer_commit(w, false, &e), FLOE_OK);
  /* an aborted writer leaves nothing */
  assert_int_equal(fstore_writer_open(f->s, "t/data/gone", &w, &e), FLOE_OK);
  assert_int_equal(fstore_writer_write(w, "x", 1, &e), FLOE_OK);
  fstore_writer_abort(w);

  fbuf b = FBUF_INIT;
  assert_int_equal(fstore_list(f->s, "t/data/", collect, &b, &e), FLOE_OK);
  assert_int_equal(fbuf_put_u8(&b, 0, NULL), FLOE_OK);
  assert_non_null(strstr((char *)b.data, "t/data/x.parquet:5;"));
  assert_non_null(strstr((char *)b.data, "t/data/big:1000000;"));
  assert_null(strstr((char *)b.data, "gone"));
  assert_null(strstr((char *)b.data, "metadata"));
  assert_null(strstr((char *)b.data, ".tmp"));
  fbuf_free(&b);
  uint8_t back[16];
  assert_int_equal(fstore_get_range(f->s, "t/data/big", 999984, back, 16, &e),
                   FLOE_OK);
  assert_memory_equal(back, chunk + 99984, 16);

  assert_int_equal(fstore_del(f->s, "t/data/x.parquet", &e), FLOE_OK);
  assert_int_equal(fstore_del(f->s, "t/data/x.parquet", &e), FLOE_ENOTFOUND);
}

static void test_bad_keys(void **state) {
  fixture *f = *state;
  floe_error e;
  const char *bad[] = {"", "/abs", "../up", "a/../b", "a//b", "a/./b"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(fstore_put(f->s, bad[i], "x", 1, &e), FLOE_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
      cmocka_unit_test_setup_teardown(test_put_if_absent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_list_del_writer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_keys, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
