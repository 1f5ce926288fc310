/* Unit tests for src/iceberg/scan: plans and scans over tables assembled
 * from the lower-level writers (tests/unit/table_build.h): deletion vectors
 * (a run, scattered positions, one in a later row group, a replaced DV),
 * projection by field id, schema evolution (rename, added columns with and
 * without initial-default, int->long and float->double), an empty table,
 * time travel, the Arrow stream and corrupt inputs.
 *
 * With FLOE_DUMP_DIR set, the test tables are built in the warehouse
 * FLOE_DUMP_DIR (tables db.events and db.evolve) and kept there, for
 * tests/cli/test_iceberg.sh and tests/interop/iceberg.test.mjs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "columnar/text.h"
#include "iceberg/scan.h"
#include "iceberg/schema.h"
#include "table_build.h"

/* ---- fixtures ---- */

typedef struct fx {
  char dir[256];
  bool keep; /* FLOE_DUMP_DIR: leave the warehouse */
  ice_catalog *cat;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  const char *dump = getenv("FLOE_DUMP_DIR");
  if (dump) {
    snprintf(f->dir, sizeof f->dir, "%s", dump);
    f->keep = true;
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/db'", dump);
    if (system(cmd) != 0) return -1;
  } else {
    snprintf(f->dir, sizeof f->dir, "/tmp/floe-scan-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
  }
  floe_error e;
  if (ice_catalog_open(f->dir, NULL, NULL, &f->cat, &e) != FLOE_OK) {
    fprintf(stderr, "%s\n", e.msg);
    return -1;
  }
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ice_catalog_free(f->cat);
  int rc = 0;
  if (!f->keep) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    rc = system(cmd);
  }
  free(f);
  return rc == 0 ? 0 : -1;
}

/* ---- data ---- */

static col_schema *events_schema(void) {
  col_field fl[] = {
      {1, "id", {.id = COL_INT64}, false, 0, false},
      {2, "name", {.id = COL_UTF8}, true, 0, false},
      {3, "v", {.id = COL_FLOAT64}, true, 0, false},
  };
  col_schema *s;
  assert_int_equal(col_schema_new(fl, 3, &s, NULL), FLOE_OK);
  return s;
}

/* rows [from, from+n): id, "n<id>" (null every 7th), id / 2 */
static col_batch *events_batch(col_schema *s, int64_t from, int64_t n) {
  col_batch *b;
  assert_int_equal(col_batch_new(s, &b, NULL), FLOE_OK);
  for (int64_t i = from; i < from + n; i++) {
    char name[32];
    int len = snprintf(name, sizeof name, "n%lld", (long long)i);
    assert_int_equal(col_append_i64(&b->cols[0], i, NULL), FLOE_OK);
    if (i % 7 == 3)
      assert_int_equal(col_append_null(&b->cols[1], NULL), FLOE_OK);
    else
      assert_int_equal(col_append_bytes(&b->cols[1], name, (size_t)len, NULL),
                       FLOE_OK);
    assert_int_equal(col_append_f64(&b->cols[2], (double)i / 2, NULL), FLOE_OK);
  }
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  return b;
}

static void events_row_text(int64_t i, fbuf *out) {
  char buf[128];
  if (i % 7 == 3)
    snprintf(buf, sizeof buf, "%lld,null,%g\n", (long long)i, (double)i / 2);
  else
    snprintf(buf, sizeof buf, "%lld,n%lld,%g\n", (long long)i, (long long)i,
             (double)i / 2);
  assert_int_equal(fbuf_append(out, buf, strlen(buf), NULL), FLOE_OK);
}

static ice_dv *dv_of(const int64_t *pos, int n, int64_t run_from,
                     int64_t run_to) {
  ice_dv *dv;
  assert_int_equal(ice_dv_new(&dv, NULL), FLOE_OK);
  for (int i = 0; i < n; i++)
    assert_int_equal(ice_dv_add(dv, (uint64_t)pos[i], NULL), FLOE_OK);
  for (int64_t p = run_from; p < run_to; p++)
    assert_int_equal(ice_dv_add(dv, (uint64_t)p, NULL), FLOE_OK);
  return dv;
}

/* Table db.events:
 *   snapshot 1: data file A (1000 rows, several row groups)
 *   snapshot 2: data file B (rows 1000..1009) + DV on A: 0, 5, 100..149,
 *               600 (a later row group), 999
 *   snapshot 3: DV of A replaced by one that adds 7 (the old DV entry is
 *               DELETED in the rewritten delete manifest), DV on B: 2, 3 */
typedef struct events {
  tb t;
  char *a, *b;      /* data file paths */
  char *puffin2;    /* the Puffin file of snapshot 2 */
  char *del_mf2;    /* the delete manifest of snapshot 2 */
  int a_row_groups; /* of A */
} events;

static const int64_t A_DV2[] = {0, 5, 600, 999};
static const int64_t A_DV3[] = {0, 5, 7, 600, 999};
static const int64_t B_DV3[] = {2, 3};

static void build_events(fx *f, events *ev, const char *name) {
  memset(ev, 0, sizeof *ev);
  col_schema *s = events_schema();
  tb_create(&ev->t, f->cat, "db", name, s);
  tb *t = &ev->t;

  /* snapshot 1 */
  col_batch *ba = events_batch(s, 0, 1000);
  ice_data_file fa;
  tb_parquet(t, &ba, 1, 8192, &fa);
  col_batch_free(ba);
  ev->a_row_groups = fa.nsplit_offsets;
  ev->a = tb_strdup(fa.file_path);
  ice_manifest_entry e1 = tb_added(&fa);
  ice_manifest_file mf1;
  tb_manifest(t, ICE_MANIFEST_DATA, &e1, 1, 1, &mf1);
  tb_commit(t, 1, &mf1, 1, "append");

  /* snapshot 2 */
  col_batch *bb = events_batch(s, 1000, 10);
  ice_data_file fb;
  tb_parquet(t, &bb, 1, 0, &fb);
  col_batch_free(bb);
  ev->b = tb_strdup(fb.file_path);
  ice_manifest_entry e2 = tb_added(&fb);
  ice_manifest_file mf2;
  tb_manifest(t, ICE_MANIFEST_DATA, &e2, 1, 2, &mf2);
  ice_dv *dva = dv_of(A_DV2, 4, 100, 150);
  ice_data_file dvf;
  const char *files[2] = {ev->a, ev->b};
  tb_puffin(t, &dva, files, 1, &dvf, &ev->puffin2);
  ice_dv_free(dva);
  ice_manifest_entry e3 = tb_added(&dvf);
  ice_manifest_file mf3;
  tb_manifest(t, ICE_MANIFEST_DELETES, &e3, 1, 2, &mf3);
  ev->del_mf2 = tb_strdup(mf3.manifest_path);
  ice_manifest_file list2[3];
  memset(list2, 0, sizeof list2);
  assert_int_equal(ice_manifest_file_copy(&list2[0], &mf2, NULL), FLOE_OK);
  assert_int_equal(ice_manifest_file_copy(&list2[1], &mf1, NULL), FLOE_OK);
  assert_int_equal(ice_manifest_file_copy(&list2[2], &mf3, NULL), FLOE_OK);
  tb_commit(t, 2, list2, 3, "overwrite");

  /* snapshot 3: the delete manifest rewritten */
  ice_dv *dvs[2] = {dv_of(A_DV3, 5, 100, 150), dv_of(B_DV3, 2, 0, 0)};
  ice_data_file nd[2];
  tb_puffin(t, dvs, files, 2, nd, NULL);
  ice_dv_free(dvs[0]);
  ice_dv_free(dvs[1]);
  ice_manifest_entry es[3];
  /* the replaced DV: DELETED, with the sequence numbers it had */
  memset(&es[0], 0, sizeof es[0]);
  es[0].status = ICE_STATUS_DELETED;
  es[0].snapshot_id = 3;
  es[0].sequence_number = 2;
  es[0].file_sequence_number = 2;
  ice_dv *old = dv_of(A_DV2, 4, 100, 150);
  ice_data_file oldf;
  tb_puffin(t, &old, files, 1, &oldf, NULL); /* same entry shape as mf3's */
  ice_dv_free(old);
  free(oldf.file_path);
  oldf.file_path = tb_strdup(ev->puffin2);
  es[0].file = oldf;
  es[1] = tb_added(&nd[0]);
  es[2] = tb_added(&nd[1]);
  ice_manifest_file mf4;
  tb_manifest(t, ICE_MANIFEST_DELETES, es, 3, 3, &mf4);
  ice_manifest_file list3[3];
  memset(list3, 0, sizeof list3);
  assert_int_equal(ice_manifest_file_copy(&list3[0], &mf4, NULL), FLOE_OK);
  assert_int_equal(ice_manifest_file_copy(&list3[1], &list2[0], NULL), FLOE_OK);
  assert_int_equal(ice_manifest_file_copy(&list3[2], &list2[1], NULL), FLOE_OK);
  tb_commit(t, 3, list3, 3, "delete");

  for (int i = 0; i < 3; i++) {
    ice_manifest_file_free(&list2[i]);
    ice_manifest_file_free(&list3[i]);
  }
  ice_manifest_file_free(&mf1);
  ice_manifest_file_free(&mf2);
  ice_manifest_file_free(&mf3);
  ice_manifest_file_free(&mf4);
  col_schema_unref(s);
}

static void free_events(events *ev) {
  tb_free(&ev->t);
  free(ev->a);
  free(ev->b);
  free(ev->puffin2);
  free(ev->del_mf2);
}

/* Reloads the table through the catalog (so the metadata is parsed back). */
static ice_metadata *reload(fx *f, const char *name) {
  ice_metadata *md = NULL;
  char *loc = NULL;
  floe_error e;
  floe_status st = ice_catalog_load_table(f->cat, "db", name, &md, &loc, &e);
  if (st) fprintf(stderr, "%s\n", e.msg);
  assert_int_equal(st, FLOE_OK);
  free(loc);
  return md;
}

/* Every row of the scan as "v1,v2,...\n" (null for NULL). */
static char *scan_text(fx *f, const ice_metadata *md, const ice_plan *p,
                       const int32_t *ids, int nids, int64_t *nbatches) {
  ice_scan *s = NULL;
  floe_error e;
  floe_status st = ice_scan_open_md(f->cat, md, p, ids, nids, &s, &e);
  if (st) fprintf(stderr, "%s\n", e.msg);
  assert_int_equal(st, FLOE_OK);
  fbuf out = FBUF_INIT;
  int64_t nb = 0;
  for (;;) {
    col_batch *b = NULL;
    st = ice_scan_next(s, &b, &e);
    if (st) fprintf(stderr, "%s\n", e.msg);
    assert_int_equal(st, FLOE_OK);
    if (!b) break;
    nb++;
    assert_ptr_equal(b->schema, ice_scan_schema(s));
    for (int64_t i = 0; i < b->length; i++) {
      for (int k = 0; k < b->schema->nfields; k++) {
        if (k) assert_int_equal(fbuf_put_u8(&out, ',', NULL), FLOE_OK);
        if (!col_is_valid(&b->cols[k], i))
          assert_int_equal(fbuf_append(&out, "null", 4, NULL), FLOE_OK);
        else
          assert_int_equal(col_text_format(&b->cols[k], i, false, &out, NULL),
                           FLOE_OK);
      }
      assert_int_equal(fbuf_put_u8(&out, '\n', NULL), FLOE_OK);
    }
    col_batch_free(b);
  }
  ice_scan_free(s);
  assert_int_equal(fbuf_put_u8(&out, 0, NULL), FLOE_OK);
  if (nbatches) *nbatches = nb;
  return (char *)fbuf_take(&out);
}

static bool in(const int64_t *v, int n, int64_t x) {
  for (int i = 0; i < n; i++)
    if (v[i] == x) return true;
  return false;
}

/* The expected text of A minus dv (plus run) and B minus its dv. */
static char *expect_events(const int64_t *adv, int nadv, bool run, bool with_b,
                           const int64_t *bdv, int nbdv) {
  fbuf out = FBUF_INIT;
  /* manifest order: the newest data manifest (B) first */
  if (with_b)
    for (int64_t i = 0; i < 10; i++)
      if (!in(bdv, nbdv, i)) events_row_text(1000 + i, &out);
  for (int64_t i = 0; i < 1000; i++)
    if (!in(adv, nadv, i) && !(run && i >= 100 && i < 150))
      events_row_text(i, &out);
  assert_int_equal(fbuf_put_u8(&out, 0, NULL), FLOE_OK);
  return (char *)fbuf_take(&out);
}

/* ---- tests ---- */

static void test_plan_and_dvs(void **state) {
  fx *f = *state;
  events ev;
  build_events(f, &ev, "events");
  assert_true(ev.a_row_groups >= 2);
  ice_metadata *md = reload(f, "events");
  floe_error e;
  ice_plan *p = NULL;
  assert_int_equal(ice_plan_build(f->cat, md, ICE_NONE, &p, &e), FLOE_OK);
  assert_int_equal(p->snapshot_id, 3);
  assert_int_equal(p->schema_id, 0);
  assert_int_equal(p->ntasks, 2);
  assert_string_equal(p->tasks[0].file.file_path, ev.b);
  assert_string_equal(p->tasks[1].file.file_path, ev.a);
  assert_int_equal(p->tasks[0].data_sequence_number, 2);
  assert_int_equal(p->tasks[1].data_sequence_number, 1);
  assert_non_null(p->tasks[0].deletes);
  assert_non_null(p->tasks[1].deletes);
  assert_int_equal(ice_dv_cardinality(p->tasks[1].deletes), 55);
  assert_true(ice_dv_contains(p->tasks[1].deletes, 7));
  assert_true(ice_dv_contains(p->tasks[1].deletes, 149));
  assert_false(ice_dv_contains(p->tasks[1].deletes, 150));

  char *got = scan_text(f, md, p, NULL, 0, NULL);
  char *want = expect_events(A_DV3, 5, true, true, B_DV3, 2);
  assert_string_equal(got, want);
  free(got);
  free(want);
  ice_plan_free(p);

  /* time travel: snapshot 2 (the first DV of A), snapshot 1 (no DVs) */
  assert_int_equal(ice_plan_build(f->cat, md, 2, &p, &e), FLOE_OK);
  assert_int_equal(p->ntasks, 2);
  assert_null(p->tasks[0].deletes);
  got = scan_text(f, md, p, NULL, 0, NULL);
  want = expect_events(A_DV2, 4, true, true, NULL, 0);
  assert_string_equal(got, want);
  free(got);
  free(want);
  ice_plan_free(p);

  assert_int_equal(ice_plan_build(f->cat, md, 1, &p, &e), FLOE_OK);
  assert_int_equal(p->snapshot_id, 1);
  assert_int_equal(p->ntasks, 1);
  assert_null(p->tasks[0].deletes);
  got = scan_text(f, md, p, NULL, 0, NULL);
  want = expect_events(NULL, 0, false, false, NULL, 0);
  assert_string_equal(got, want);
  free(got);
  free(want);
  ice_plan_free(p);

  assert_int_equal(ice_plan_build(f->cat, md, 42, &p, &e), FLOE_ENOTFOUND);
  assert_non_null(strstr(e.msg, "no snapshot 42"));

  ice_metadata_free(md);
  free_events(&ev);
}

static void test_projection(void **state) {
  fx *f = *state;
  events ev;
  build_events(f, &ev, "proj");
  ice_metadata *md = reload(f, "proj");
  floe_error e;
  ice_plan *p = NULL;
  assert_int_equal(ice_plan_build(f->cat, md, ICE_NONE, &p, &e), FLOE_OK);
  int32_t ids[2] = {3, 1};
  char *got = scan_text(f, md, p, ids, 2, NULL);
  /* B: rows 1000,1001,1004..1009 then A's survivors; check the head */
  const char *head = "500,1000\n500.5,1001\n502,1004\n";
  assert_memory_equal(got, head, strlen(head));
  /* 55 + 2 rows deleted of 1010 */
  int lines = 0;
  for (const char *c = got; *c; c++) lines += *c == '\n';
  assert_int_equal(lines, 1010 - 57);
  free(got);

  /* no columns at all still counts the rows */
  ice_scan *s = NULL;
  int32_t none[1] = {0};
  assert_int_equal(ice_scan_open_md(f->cat, md, p, none, 0, &s, &e), FLOE_OK);
  int64_t rows = 0;
  for (;;) {
    col_batch *b = NULL;
    assert_int_equal(ice_scan_next(s, &b, &e), FLOE_OK);
    if (!b) break;
    assert_int_equal(b->schema->nfields, 0);
    rows += b->length;
    col_batch_free(b);
  }
  assert_int_equal(rows, 1010 - 57);
  ice_scan_free(s);

  /* unknown and repeated ids */
  int32_t bad[2] = {1, 9};
  assert_int_equal(ice_scan_open_md(f->cat, md, p, bad, 2, &s, &e),
                   FLOE_ENOTFOUND);
  assert_non_null(strstr(e.msg, "field id 9"));
  int32_t twice[2] = {1, 1};
  assert_int_equal(ice_scan_open_md(f->cat, md, p, twice, 2, &s, &e),
                   FLOE_EINVAL);

  ice_plan_free(p);
  ice_metadata_free(md);
  free_events(&ev);
}

/* Table db.evolve: schema 0 (id int, name string, price float) with file
 * E1; then name renamed to label, id widened to long, price to double,
 * region (required, initial-default "eu"), qty (initial-default 7) and
 * note (no default) added; file E2 in the new schema; a DV on E1. */
static void build_evolve(fx *f, tb *t) {
  col_field fl[] = {
      {1, "id", {.id = COL_INT32}, false, 0, false},
      {2, "name", {.id = COL_UTF8}, true, 0, false},
      {3, "price", {.id = COL_FLOAT32}, true, 0, false},
  };
  col_schema *s0;
  assert_int_equal(col_schema_new(fl, 3, &s0, NULL), FLOE_OK);
  tb_create(t, f->cat, "db", "evolve", s0);
  col_batch *b;
  assert_int_equal(col_batch_new(s0, &b, NULL), FLOE_OK);
  for (int i = 0; i < 4; i++) {
    char nm[8] = {'n', (char)('a' + i), 0};
    assert_int_equal(col_append_i32(&b->cols[0], -2 + i, NULL), FLOE_OK);
    assert_int_equal(col_append_bytes(&b->cols[1], nm, 2, NULL), FLOE_OK);
    assert_int_equal(col_append_f32(&b->cols[2], 0.25f * (float)i, NULL),
                     FLOE_OK);
  }
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  ice_data_file e1;
  tb_parquet(t, &b, 1, 0, &e1);
  col_batch_free(b);
  char *e1path = tb_strdup(e1.file_path);
  ice_manifest_entry en = tb_added(&e1);
  ice_manifest_file mf1;
  tb_manifest(t, ICE_MANIFEST_DATA, &en, 1, 10, &mf1);
  tb_commit(t, 10, &mf1, 1, "append");

  ice_schema_update *u;
  floe_error e;
  assert_int_equal(ice_schema_update_new(t->md, &u, &e), FLOE_OK);
  assert_int_equal(ice_schema_rename_column(u, "name", "label", &e), FLOE_OK);
  assert_int_equal(
      ice_schema_widen_column(u, "id", (col_dtype){.id = COL_INT64}, &e),
      FLOE_OK);
  assert_int_equal(
      ice_schema_widen_column(u, "price", (col_dtype){.id = COL_FLOAT64}, &e),
      FLOE_OK);
  assert_int_equal(ice_schema_add_column(u, "region",
                                         (col_dtype){.id = COL_UTF8}, false,
                                         false, "\"eu\"", NULL, NULL, NULL, &e),
                   FLOE_OK);
  assert_int_equal(ice_schema_add_column(u, "qty", (col_dtype){.id = COL_INT32},
                                         true, false, "7", NULL, NULL, NULL,
                                         &e),
                   FLOE_OK);
  assert_int_equal(ice_schema_add_column(u, "note", (col_dtype){.id = COL_UTF8},
                                         true, false, NULL, NULL, NULL, NULL,
                                         &e),
                   FLOE_OK);
  assert_int_equal(ice_schema_update_apply(u, t->md, NULL, &e), FLOE_OK);
  ice_schema_update_free(u);
  col_schema *s1 = ice_metadata_current_schema(t->md)->cols;
  assert_int_equal(col_batch_new(s1, &b, NULL), FLOE_OK);
  assert_int_equal(col_append_i64(&b->cols[0], 5000000000LL, NULL), FLOE_OK);
  assert_int_equal(col_append_bytes(&b->cols[1], "new", 3, NULL), FLOE_OK);
  assert_int_equal(col_append_f64(&b->cols[2], 0.1, NULL), FLOE_OK);
  assert_int_equal(col_append_bytes(&b->cols[3], "us", 2, NULL), FLOE_OK);
  assert_int_equal(col_append_null(&b->cols[4], NULL), FLOE_OK);
  assert_int_equal(col_append_bytes(&b->cols[5], "hi", 2, NULL), FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  ice_data_file e2;
  tb_parquet(t, &b, 1, 0, &e2);
  col_batch_free(b);
  ice_manifest_entry en2 = tb_added(&e2);
  ice_manifest_file mf2;
  tb_manifest(t, ICE_MANIFEST_DATA, &en2, 1, 11, &mf2);
  int64_t del[1] = {1};
  ice_dv *dv = dv_of(del, 1, 0, 0);
  ice_data_file dvf;
  const char *files[1] = {e1path};
  tb_puffin(t, &dv, files, 1, &dvf, NULL);
  ice_dv_free(dv);
  ice_manifest_entry en3 = tb_added(&dvf);
  ice_manifest_file mf3;
  tb_manifest(t, ICE_MANIFEST_DELETES, &en3, 1, 11, &mf3);
  ice_manifest_file list[3];
  memset(list, 0, sizeof list);
  assert_int_equal(ice_manifest_file_copy(&list[0], &mf2, NULL), FLOE_OK);
  assert_int_equal(ice_manifest_file_copy(&list[1], &mf1, NULL), FLOE_OK);
  assert_int_equal(ice_manifest_file_copy(&list[2], &mf3, NULL), FLOE_OK);
  tb_commit(t, 11, list, 3, "overwrite");
  for (int i = 0; i < 3; i++) ice_manifest_file_free(&list[i]);
  ice_manifest_file_free(&mf1);
  ice_manifest_file_free(&mf2);
  ice_manifest_file_free(&mf3);
  free(e1path);
  col_schema_unref(s0);
}

static void test_schema_evolution(void **state) {
  fx *f = *state;
  tb t;
  build_evolve(f, &t);
  ice_metadata *md = reload(f, "evolve");
  floe_error e;
  ice_plan *p = NULL;
  assert_int_equal(ice_plan_build(f->cat, md, ICE_NONE, &p, &e), FLOE_OK);
  assert_int_equal(p->schema_id, 1);
  ice_scan *s = NULL;
  assert_int_equal(ice_scan_open_md(f->cat, md, p, NULL, 0, &s, &e), FLOE_OK);
  col_schema *os = ice_scan_schema(s);
  assert_int_equal(os->nfields, 6);
  assert_string_equal(os->fields[1].name, "label");
  assert_int_equal(os->fields[0].type.id, COL_INT64);
  assert_int_equal(os->fields[2].type.id, COL_FLOAT64);
  ice_scan_free(s);
  char *got = scan_text(f, md, p, NULL, 0, NULL);
  assert_string_equal(got, "5000000000,new,0.1,us,null,hi\n"
                           "-2,na,0,eu,7,null\n"
                           "0,nc,0.5,eu,7,null\n"
                           "1,nd,0.75,eu,7,null\n");
  free(got);
  /* by id, in another order: qty, label (renamed), id */
  int32_t ids[3] = {5, 2, 1};
  got = scan_text(f, md, p, ids, 3, NULL);
  assert_string_equal(got, "null,new,5000000000\n7,na,-2\n7,nc,0\n7,nd,1\n");
  free(got);
  ice_plan_free(p);

  /* time travel reads the old snapshot in its own schema */
  assert_int_equal(ice_plan_build(f->cat, md, 10, &p, &e), FLOE_OK);
  assert_int_equal(p->schema_id, 0);
  got = scan_text(f, md, p, NULL, 0, NULL);
  assert_string_equal(got, "-2,na,0\n-1,nb,0.25\n0,nc,0.5\n1,nd,0.75\n");
  free(got);
  ice_plan_free(p);
  ice_metadata_free(md);
  tb_free(&t);
}

/* decimal(5,2) widened to decimal(10,2): the old file's values relabelled */
static void test_widen_decimal(void **state) {
  fx *f = *state;
  col_field fl[] = {
      {1, "d", {.id = COL_DECIMAL, .precision = 5, .scale = 2}, true, 0, false},
  };
  col_schema *s0;
  assert_int_equal(col_schema_new(fl, 1, &s0, NULL), FLOE_OK);
  tb t;
  tb_create(&t, f->cat, "db", "dec", s0);
  col_batch *b;
  assert_int_equal(col_batch_new(s0, &b, NULL), FLOE_OK);
  assert_int_equal(col_text_append(&b->cols[0], "-123.45", 7, NULL), FLOE_OK);
  assert_int_equal(col_append_null(&b->cols[0], NULL), FLOE_OK);
  assert_int_equal(col_text_append(&b->cols[0], "0.01", 4, NULL), FLOE_OK);
  assert_int_equal(col_batch_seal(b, NULL), FLOE_OK);
  ice_data_file df;
  tb_parquet(&t, &b, 1, 0, &df);
  col_batch_free(b);
  ice_manifest_entry en = tb_added(&df);
  ice_manifest_file mf;
  tb_manifest(&t, ICE_MANIFEST_DATA, &en, 1, 1, &mf);
  tb_commit(&t, 1, &mf, 1, "append");
  ice_manifest_file_free(&mf);
  ice_schema_update *u;
  floe_error e;
  assert_int_equal(ice_schema_update_new(t.md, &u, &e), FLOE_OK);
  assert_int_equal(
      ice_schema_widen_column(
          u, "d", (col_dtype){.id = COL_DECIMAL, .precision = 10, .scale = 2},
          &e),
      FLOE_OK);
  assert_int_equal(ice_schema_update_apply(u, t.md, NULL, &e), FLOE_OK);
  ice_schema_update_free(u);
  ice_plan *p = NULL;
  assert_int_equal(ice_plan_build(f->cat, t.md, ICE_NONE, &p, &e), FLOE_OK);
  ice_scan *sc = NULL;
  assert_int_equal(ice_scan_open_md(f->cat, t.md, p, NULL, 0, &sc, &e),
                   FLOE_OK);
  assert_int_equal(ice_scan_schema(sc)->fields[0].type.precision, 10);
  col_batch *o = NULL;
  assert_int_equal(ice_scan_next(sc, &o, &e), FLOE_OK);
  assert_non_null(o);
  assert_int_equal(o->cols[0].type.precision, 10);
  col_batch_free(o);
  ice_scan_free(sc);
  char *got = scan_text(f, t.md, p, NULL, 0, NULL);
  assert_string_equal(got, "-123.45\nnull\n0.01\n");
  free(got);
  ice_plan_free(p);
  tb_free(&t);
  col_schema_unref(s0);
}

static void test_empty_table(void **state) {
  fx *f = *state;
  tb t;
  col_schema *s = events_schema();
  tb_create(&t, f->cat, "db", "empty", s);
  col_schema_unref(s);
  ice_metadata *md = reload(f, "empty");
  floe_error e;
  ice_plan *p = NULL;
  assert_int_equal(ice_plan_build(f->cat, md, ICE_NONE, &p, &e), FLOE_OK);
  assert_int_equal(p->snapshot_id, ICE_NONE);
  assert_int_equal(p->ntasks, 0);
  int64_t nb = -1;
  char *got = scan_text(f, md, p, NULL, 0, &nb);
  assert_string_equal(got, "");
  assert_int_equal(nb, 0);
  free(got);
  ice_plan_free(p);
  ice_metadata_free(md);
  tb_free(&t);
}

static void test_arrow_stream(void **state) {
  fx *f = *state;
  events ev;
  build_events(f, &ev, "arrow");
  ice_metadata *md = reload(f, "arrow");
  floe_error e;
  ice_plan *p = NULL;
  assert_int_equal(ice_plan_build(f->cat, md, ICE_NONE, &p, &e), FLOE_OK);
  ice_scan *s = NULL;
  assert_int_equal(ice_scan_open_md(f->cat, md, p, NULL, 0, &s, &e), FLOE_OK);
  struct ArrowArrayStream st;
  assert_int_equal(ice_scan_export(s, &st, &e), FLOE_OK);
  struct ArrowSchema sc;
  assert_int_equal(st.get_schema(&st, &sc), 0);
  assert_int_equal(sc.n_children, 3);
  assert_string_equal(sc.children[1]->name, "name");
  sc.release(&sc);
  int64_t rows = 0;
  for (;;) {
    struct ArrowArray a;
    assert_int_equal(st.get_next(&st, &a), 0);
    if (!a.release) break;
    rows += a.length;
    a.release(&a);
  }
  assert_int_equal(rows, 1010 - 57);
  st.release(&st);
  ice_plan_free(p);
  ice_metadata_free(md);
  free_events(&ev);
}

/* Overwrites bytes of the object at path. */
static void poke(fx *f, const char *path, size_t off, const void *p, size_t n) {
  char *key = NULL;
  assert_int_equal(ice_catalog_key(f->cat, path, &key, NULL), FLOE_OK);
  fbuf b = FBUF_INIT;
  assert_int_equal(fstore_get_all(f->cat->store, key, 1 << 30, &b, NULL),
                   FLOE_OK);
  assert_true(off + n <= b.len);
  memcpy(b.data + off, p, n);
  assert_int_equal(fstore_put(f->cat->store, key, b.data, b.len, NULL),
                   FLOE_OK);
  fbuf_free(&b);
  free(key);
}

static void test_corrupt(void **state) {
  fx *f = *state;
  events ev;
  build_events(f, &ev, "corrupt");
  ice_metadata *md = reload(f, "corrupt");
  floe_error e;
  ice_plan *p = NULL;

  /* the Puffin blob of snapshot 2: a flipped byte fails its CRC */
  poke(f, ev.puffin2, 12, "\xff\xff", 2);
  assert_int_equal(ice_plan_build(f->cat, md, 2, &p, &e), FLOE_ECORRUPT);
  assert_null(p);
  assert_non_null(strstr(e.msg, ev.puffin2));
  assert_non_null(strstr(e.msg, "puffin"));
  /* snapshot 3 does not use that file any more */
  assert_int_equal(ice_plan_build(f->cat, md, 3, &p, &e), FLOE_OK);
  ice_plan_free(p);

  /* a manifest with garbage in its header */
  poke(f, ev.del_mf2, 0, "XXXX", 4);
  assert_int_equal(ice_plan_build(f->cat, md, 2, &p, &e), FLOE_ECORRUPT);
  assert_non_null(strstr(e.msg, ev.del_mf2));

  /* a missing data file: the scan names it */
  char *key = NULL;
  assert_int_equal(ice_catalog_key(f->cat, ev.b, &key, NULL), FLOE_OK);
  assert_int_equal(fstore_del(f->cat->store, key, NULL), FLOE_OK);
  free(key);
  assert_int_equal(ice_plan_build(f->cat, md, 3, &p, &e), FLOE_OK);
  ice_scan *s = NULL;
  assert_int_equal(ice_scan_open_md(f->cat, md, p, NULL, 0, &s, &e), FLOE_OK);
  col_batch *b = NULL;
  assert_int_not_equal(ice_scan_next(s, &b, &e), FLOE_OK);
  assert_null(b);
  assert_non_null(strstr(e.msg, ev.b));
  ice_scan_free(s);
  ice_plan_free(p);
  ice_metadata_free(md);
  free_events(&ev);
}

/* Wrong DV cardinality, a Parquet position delete file, equality deletes,
 * and a DV older than its data file (which does not apply). */
static void test_delete_kinds(void **state) {
  fx *f = *state;
  col_schema *s = events_schema();
  tb t;
  tb_create(&t, f->cat, "db", "kinds", s);
  col_batch *b = events_batch(s, 0, 20);
  ice_data_file fa;
  tb_parquet(&t, &b, 1, 0, &fa);
  col_batch_free(b);
  char *a = tb_strdup(fa.file_path);
  ice_manifest_entry ea = tb_added(&fa);
  ice_manifest_file mfa;
  tb_manifest(&t, ICE_MANIFEST_DATA, &ea, 1, 1, &mfa);

  int64_t pos[2] = {1, 2};
  ice_dv *dv = dv_of(pos, 2, 0, 0);
  const char *files[1] = {a};
  ice_data_file d[4];
  tb_puffin(&t, &dv, files, 1, &d[0], NULL);
  tb_puffin(&t, &dv, files, 1, &d[1], NULL);
  tb_puffin(&t, &dv, files, 1, &d[2], NULL);
  tb_puffin(&t, &dv, files, 1, &d[3], NULL);
  ice_dv_free(dv);
  d[0].record_count = 3; /* lies */
  free(d[1].file_format);
  d[1].file_format = tb_strdup("PARQUET");
  d[2].content = ICE_CONTENT_EQ_DELETES;
  free(d[2].file_format);
  d[2].file_format = tb_strdup("PARQUET");
  free(d[2].referenced_data_file);
  d[2].referenced_data_file = NULL;
  d[2].content_offset = d[2].content_size_in_bytes = ICE_NONE;
  d[2].nequality_ids = 1;
  d[2].equality_ids = malloc(sizeof(int32_t));
  d[2].equality_ids[0] = 1;

  const char *want[3] = {"record_count 3", "position delete file",
                         "equality delete file"};
  floe_status want_st[3] = {FLOE_ECORRUPT, FLOE_EUNSUPPORTED,
                            FLOE_EUNSUPPORTED};
  for (int i = 0; i < 3; i++) {
    ice_manifest_entry ed = tb_added(&d[i]);
    ice_manifest_file mfd;
    tb_manifest(&t, ICE_MANIFEST_DELETES, &ed, 1, 2 + i, &mfd);
    ice_manifest_file list[2];
    memset(list, 0, sizeof list);
    assert_int_equal(ice_manifest_file_copy(&list[0], &mfa, NULL), FLOE_OK);
    list[0].sequence_number = list[0].min_sequence_number = ICE_NONE;
    list[0].added_snapshot_id = 2 + i;
    assert_int_equal(ice_manifest_file_copy(&list[1], &mfd, NULL), FLOE_OK);
    tb_commit(&t, 2 + i, list, 2, "overwrite");
    ice_plan *p = NULL;
    floe_error e;
    assert_int_equal(ice_plan_build(f->cat, t.md, ICE_NONE, &p, &e),
                     want_st[i]);
    assert_non_null(strstr(e.msg, want[i]));
    ice_manifest_file_free(&list[0]);
    ice_manifest_file_free(&list[1]);
    ice_manifest_file_free(&mfd);
  }

  /* a DV whose sequence number is below the data file's does not apply:
   * the data manifest is re-added at this snapshot's sequence number and
   * the DV keeps an explicit older one */
  ice_manifest_entry ed;
  memset(&ed, 0, sizeof ed);
  ed.status = ICE_STATUS_EXISTING;
  ed.snapshot_id = 1;
  ed.sequence_number = 1;
  ed.file_sequence_number = 1;
  ed.file = d[3];
  ice_manifest_file mfd;
  tb_manifest(&t, ICE_MANIFEST_DELETES, &ed, 1, 9, &mfd);
  ice_manifest_file list[2];
  memset(list, 0, sizeof list);
  assert_int_equal(ice_manifest_file_copy(&list[0], &mfa, NULL), FLOE_OK);
  list[0].sequence_number = list[0].min_sequence_number = ICE_NONE;
  list[0].added_snapshot_id = 9;
  assert_int_equal(ice_manifest_file_copy(&list[1], &mfd, NULL), FLOE_OK);
  tb_commit(&t, 9, list, 2, "overwrite");
  ice_plan *p = NULL;
  floe_error e;
  assert_int_equal(ice_plan_build(f->cat, t.md, ICE_NONE, &p, &e), FLOE_OK);
  assert_int_equal(p->ntasks, 1);
  assert_true(p->tasks[0].data_sequence_number > 1);
  assert_null(p->tasks[0].deletes);
  ice_plan_free(p);
  ice_manifest_file_free(&list[0]);
  ice_manifest_file_free(&list[1]);
  ice_manifest_file_free(&mfd);
  ice_manifest_file_free(&mfa);
  free(a);
  tb_free(&t);
  col_schema_unref(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plan_and_dvs),
      cmocka_unit_test(test_projection),
      cmocka_unit_test(test_schema_evolution),
      cmocka_unit_test(test_widen_decimal),
      cmocka_unit_test(test_empty_table),
      cmocka_unit_test(test_arrow_stream),
      cmocka_unit_test(test_corrupt),
      cmocka_unit_test(test_delete_kinds),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
