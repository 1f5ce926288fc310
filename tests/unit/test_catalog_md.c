/* Unit tests for src/iceberg/catalog_md.c: parsed metadata through the
 * filesystem and SQLite catalogs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "iceberg/catalog.h"
#include "iceberg/metadata.h"

typedef struct fixture {
  char tmp[64];
  char uri[256];
  char wh[128];
  bool sql;
  ice_catalog *c;
} fixture;

static int setup(void **state, bool sql) {
  fixture *f = calloc(1, sizeof *f);
  strcpy(f->tmp, "/tmp/floe-catmd-XXXXXX");
  if (!mkdtemp(f->tmp)) return -1;
  snprintf(f->wh, sizeof f->wh, "%s/wh", f->tmp);
  f->sql = sql;
  if (sql)
    snprintf(f->uri, sizeof f->uri, "sqlite:%s/c.db", f->tmp);
  else
    snprintf(f->uri, sizeof f->uri, "%s", f->wh);
  floe_error e;
  if (ice_catalog_open(f->uri, sql ? f->wh : NULL, NULL, &f->c, &e) != FLOE_OK)
    return -1;
  *state = f;
  return 0;
}
static int setup_fs(void **state) { return setup(state, false); }
static int setup_lite(void **state) { return setup(state, true); }

static int teardown(void **state) {
  fixture *f = *state;
  ice_catalog_free(f->c);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->tmp);
  int rc = system(cmd);
  free(f);
  return rc == 0 ? 0 : -1;
}

static ice_metadata *new_md(const char *location) {
  col_field fl[2] = {{.id = 1, .name = "id", .type = {.id = COL_INT64}},
                     {.id = 2, .name = "name", .type = {.id = COL_UTF8}}};
  col_schema *s;
  assert_int_equal(col_schema_new(fl, 2, &s, NULL), FLOE_OK);
  ice_metadata *md;
  floe_error e;
  assert_int_equal(ice_metadata_new(location, s, NULL,
                                    "9c12d441-03fe-4693-9a96-a0705ddf69c1",
                                    1700000000000, &md, &e),
                   FLOE_OK);
  col_schema_unref(s);
  return md;
}

static char *json_of(const ice_metadata *md) {
  fbuf b = FBUF_INIT;
  assert_int_equal(ice_metadata_write(md, false, &b, NULL), FLOE_OK);
  assert_int_equal(fbuf_put_u8(&b, 0, NULL), FLOE_OK);
  return (char *)fbuf_take(&b);
}

static char *file_text(const char *path) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fbuf b = FBUF_INIT;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
    assert_int_equal(fbuf_append(&b, chunk, n, NULL), FLOE_OK);
  fclose(fp);
  assert_int_equal(fbuf_put_u8(&b, 0, NULL), FLOE_OK);
  return (char *)fbuf_take(&b);
}

/* create, load, commit and a conflict, in parsed form */
static void test_roundtrip(void **state) {
  fixture *f = *state;
  floe_error e;
  char *loc = NULL;
  assert_int_equal(
      ice_catalog_table_location(f->c, "public", "orders", &loc, &e), FLOE_OK);
  ice_metadata *md = new_md(loc);
  char *l0 = NULL;
  assert_int_equal(
      ice_catalog_create_table(f->c, "public", "orders", md, &l0, &e), FLOE_OK);
  /* the file is exactly the compact JSON */
  char *want = json_of(md), *got = file_text(l0);
  assert_string_equal(got, want);
  free(got);

  ice_metadata *a = NULL, *b = NULL;
  char *la = NULL, *lb = NULL;
  assert_int_equal(
      ice_catalog_load_table(f->c, "public", "orders", &a, &la, &e), FLOE_OK);
  assert_string_equal(la, l0);
  got = json_of(a);
  assert_string_equal(got, want);
  free(got);
  free(want);
  assert_int_equal(
      ice_catalog_load_table(f->c, "public", "orders", &b, &lb, &e), FLOE_OK);

  /* a commits a property change, b (same base) conflicts, reloads, wins */
  assert_int_equal(ice_kv_set(&a->properties, "owner", "a", &e), FLOE_OK);
  char *l1 = NULL;
  assert_int_equal(
      ice_catalog_commit_table(f->c, "public", "orders", la, a, &l1, &e),
      FLOE_OK);
  assert_int_equal(ice_kv_set(&b->properties, "owner", "b", &e), FLOE_OK);
  char *lx = (char *)1;
  assert_int_equal(
      ice_catalog_commit_table(f->c, "public", "orders", lb, b, &lx, &e),
      FLOE_ECONFLICT);
  assert_null(lx);
  ice_metadata_free(b);
  free(lb);
  assert_int_equal(
      ice_catalog_load_table(f->c, "public", "orders", &b, &lb, &e), FLOE_OK);
  assert_string_equal(lb, l1);
  assert_string_equal(ice_kv_get(&b->properties, "owner"), "a");
  assert_int_equal(ice_kv_set(&b->properties, "owner", "b", &e), FLOE_OK);
  char *l2 = NULL;
  assert_int_equal(
      ice_catalog_commit_table(f->c, "public", "orders", lb, b, &l2, &e),
      FLOE_OK);
  ice_metadata *c = NULL;
  assert_int_equal(
      ice_catalog_load_table(f->c, "public", "orders", &c, NULL, &e), FLOE_OK);
  assert_string_equal(ice_kv_get(&c->properties, "owner"), "b");
  assert_string_equal(c->table_uuid, "9c12d441-03fe-4693-9a96-a0705ddf69c1");
  ice_metadata_free(c);

  /* the metadata must carry the table's location */
  ice_metadata *wrong = new_md("/somewhere/else");
  assert_int_equal(
      ice_catalog_create_table(f->c, "public", "other", wrong, NULL, &e),
      FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "want"));
  ice_metadata_free(wrong);

  /* missing table, and bytes that are not metadata */
  assert_int_equal(ice_catalog_load_table(f->c, "public", "nope", &c, NULL, &e),
                   FLOE_ENOTFOUND);
  assert_null(c);
  assert_int_equal(
      ice_catalog_create(f->c, "public", "junk", "{\"x\":1}", 7, NULL, &e),
      FLOE_OK);
  char *lj = (char *)1;
  assert_int_not_equal(
      ice_catalog_load_table(f->c, "public", "junk", &c, &lj, &e), FLOE_OK);
  assert_null(c);
  assert_null(lj);

  ice_metadata_free(md);
  ice_metadata_free(a);
  ice_metadata_free(b);
  free(loc);
  free(l0);
  free(la);
  free(lb);
  free(l1);
  free(l2);
}

static void gzip(const char *s, fbuf *out) {
  z_stream z;
  memset(&z, 0, sizeof z);
  assert_int_equal(
      deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  size_t cap = deflateBound(&z, strlen(s));
  assert_int_equal(fbuf_reserve(out, cap, NULL), FLOE_OK);
  z.next_in = (Bytef *)s;
  z.avail_in = (uInt)strlen(s);
  z.next_out = out->data;
  z.avail_out = (uInt)cap;
  assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
  out->len = cap - z.avail_out;
  deflateEnd(&z);
}

/* Java's write.metadata.compression-codec=gzip files load too; damaged
 * ones are clean errors. */
static void test_gzip(void **state) {
  fixture *f = *state;
  floe_error e;
  char *loc = NULL;
  assert_int_equal(ice_catalog_table_location(f->c, "ns", "gz", &loc, &e),
                   FLOE_OK);
  ice_metadata *md = new_md(loc);
  char *json = json_of(md);
  fbuf z = FBUF_INIT;
  gzip(json, &z);
  char *l0 = NULL;
  assert_int_equal(ice_catalog_create(f->c, "ns", "gz", z.data, z.len, &l0, &e),
                   FLOE_OK);
  ice_metadata *got = NULL;
  assert_int_equal(ice_catalog_load_table(f->c, "ns", "gz", &got, NULL, &e),
                   FLOE_OK);
  char *back = json_of(got);
  assert_string_equal(back, json);
  free(back);
  ice_metadata_free(got);

  /* truncated */
  char *l1 = NULL;
  assert_int_equal(
      ice_catalog_commit(f->c, "ns", "gz", l0, z.data, z.len - 9, &l1, &e),
      FLOE_OK);
  assert_int_equal(ice_catalog_load_table(f->c, "ns", "gz", &got, NULL, &e),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "gzip"));
  /* trailing bytes */
  fbuf t = FBUF_INIT;
  assert_int_equal(fbuf_append(&t, z.data, z.len, NULL), FLOE_OK);
  assert_int_equal(fbuf_append(&t, "xx", 2, NULL), FLOE_OK);
  char *l2 = NULL;
  assert_int_equal(
      ice_catalog_commit(f->c, "ns", "gz", l1, t.data, t.len, &l2, &e),
      FLOE_OK);
  assert_int_equal(ice_catalog_load_table(f->c, "ns", "gz", &got, NULL, &e),
                   FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, "after the gzip stream"));
  /* garbage after the magic */
  char *l3 = NULL;
  assert_int_equal(ice_catalog_commit(f->c, "ns", "gz", l2,
                                      "\x1f\x8b\x08\x00garbagegarbage", 18, &l3,
                                      &e),
                   FLOE_OK);
  assert_int_equal(ice_catalog_load_table(f->c, "ns", "gz", &got, NULL, &e),
                   FLOE_ECORRUPT);
  fbuf_free(&t);
  fbuf_free(&z);
  free(json);
  free(loc);
  free(l0);
  free(l1);
  free(l2);
  free(l3);
  ice_metadata_free(md);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_roundtrip, setup_fs, teardown),
      cmocka_unit_test_setup_teardown(test_gzip, setup_fs, teardown),
      cmocka_unit_test_setup_teardown(test_roundtrip, setup_lite, teardown),
      cmocka_unit_test_setup_teardown(test_gzip, setup_lite, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
