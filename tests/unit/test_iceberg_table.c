/*
 * Commits, maintenance and data writing of src/iceberg/table.h (write
 * half): a temp warehouse with the filesystem catalog (and SQLite for the
 * concurrent tests), checked through the metadata, the manifests read back
 * and the Puffin files.
 */
#include <dirent.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "iceberg/puffin.h"
#include "iceberg/table.h"

#define OK(x)                                                                  \
  do {                                                                         \
    floe_error e_;                                                             \
    floe_status s_ = (x);                                                      \
    if (s_ != FLOE_OK) fail_msg("%s: %s", #x, e_.msg);                         \
  } while (0)

typedef struct fx {
  char dir[64];
  ice_catalog *cat;
  col_schema *schema;
} fx;

static int setup_kind(void **state, bool sqlite) {
  fx *f = calloc(1, sizeof *f);
  strcpy(f->dir, "/tmp/floe-table-XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  floe_error e;
  char uri[128];
  snprintf(uri, sizeof uri, "sqlite:%s/catalog.db", f->dir);
  if (sqlite ? ice_catalog_open(uri, f->dir, NULL, &f->cat, &e)
             : ice_catalog_fs_open(f->dir, &f->cat, &e))
    return -1;
  col_field fl[2] = {{1, "id", {.id = COL_INT64}, false, 0, false},
                     {2, "d", {.id = COL_DATE}, true, 0, false}};
  if (col_schema_new(fl, 2, &f->schema, &e) != FLOE_OK) return -1;
  *state = f;
  return 0;
}

static int setup(void **state) { return setup_kind(state, false); }
static int setup_sql(void **state) { return setup_kind(state, true); }

static int teardown(void **state) {
  fx *f = *state;
  col_schema_unref(f->schema);
  ice_catalog_free(f->cat);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  if (system(cmd) != 0) return -1;
  free(f);
  return 0;
}

static int64_t tnow(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool exists(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0;
}

static col_batch *make_batch(fx *f, int64_t start, int64_t n, int32_t day) {
  col_batch *b = NULL;
  OK(col_batch_new(f->schema, &b, &e_));
  for (int64_t i = 0; i < n; i++) {
    OK(col_append_i64(&b->cols[0], start + i, &e_));
    OK(col_append_i32(&b->cols[1], day + (int32_t)(i % 2), &e_));
  }
  OK(col_batch_seal(b, &e_));
  return b;
}

/* Writes n rows as one file (unpartitioned table) and returns its entry. */
static ice_data_file write_file(fx *f, ice_table *t, int64_t start, int64_t n) {
  col_batch *b = make_batch(f, start, n, 19000);
  ice_data_file *files = NULL;
  int nf = 0;
  OK(ice_table_write_data(t, &b, 1, &files, &nf, &e_));
  col_batch_free(b);
  assert_int_equal(nf, 1);
  ice_data_file d = files[0];
  free(files);
  return d;
}

/* A data file entry for a file that is never read (commit tests). */
static ice_data_file fake_file(ice_table *t, int i, int64_t rows) {
  ice_data_file d;
  memset(&d, 0, sizeof d);
  char p[512];
  snprintf(p, sizeof p, "%s/data/fake-%d.parquet",
           ice_table_metadata(t)->location, i);
  d.content = ICE_CONTENT_DATA;
  d.file_path = strdup(p);
  d.file_format = strdup("PARQUET");
  d.record_count = rows;
  d.file_size_in_bytes = 100;
  d.sort_order_id = ICE_NONE;
  d.first_row_id = ICE_NONE;
  d.content_offset = ICE_NONE;
  d.content_size_in_bytes = ICE_NONE;
  return d;
}

static int64_t commit_append(ice_table *t, ice_data_file *d, int n) {
  ice_txn *x = NULL;
  int64_t sid = 0;
  OK(ice_txn_begin(t, &x, &e_));
  for (int i = 0; i < n; i++) OK(ice_txn_append(x, &d[i], &e_));
  OK(ice_txn_commit(x, &sid, &e_));
  return sid;
}

static ice_dv *dv_of(const uint64_t *pos, int n) {
  ice_dv *dv = NULL;
  OK(ice_dv_new(&dv, &e_));
  for (int i = 0; i < n; i++) OK(ice_dv_add(dv, pos[i], &e_));
  return dv;
}

static floe_status commit_delete(ice_table *t, const char *file,
                                 const uint64_t *pos, int n, floe_error *err) {
  ice_txn *x = NULL;
  FLOE_TRY(ice_txn_begin(t, &x, err));
  ice_dv *dv = dv_of(pos, n);
  floe_status st = ice_txn_delete_rows(x, file, dv, err);
  ice_dv_free(dv);
  if (st) {
    ice_txn_abort(x);
    return st;
  }
  return ice_txn_commit(x, NULL, err);
}

static int64_t sum(const ice_table *t, const char *k) {
  const ice_snapshot *s = ice_metadata_current_snapshot(ice_table_metadata(t));
  assert_non_null(s);
  const char *v = ice_kv_get(&s->summary, k);
  return v ? strtoll(v, NULL, 10) : 0;
}

static const char *op(const ice_table *t) {
  return ice_kv_get(
      &ice_metadata_current_snapshot(ice_table_metadata(t))->summary,
      "operation");
}

static uint8_t *slurp(const char *p, size_t *n) {
  FILE *fp = fopen(p, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long l = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)l + 1);
  assert_int_equal(fread(b, 1, (size_t)l, fp), (size_t)l);
  fclose(fp);
  *n = (size_t)l;
  return b;
}

/* Every entry of the current snapshot, with the manifest index. */
typedef struct ents {
  int nmf;
  ice_manifest_file *mfs;
  int n;
  ice_manifest_entry e[4096];
  int m[4096];
  int cur;
} ents;

static floe_status take(void *ctx, const ice_manifest_entry *e,
                        floe_error *err) {
  ents *s = ctx;
  assert_true(s->n < 4096);
  s->e[s->n] = *e;
  memset(&s->e[s->n].file, 0, sizeof s->e[s->n].file);
  FLOE_TRY(ice_data_file_copy(&s->e[s->n].file, &e->file, err));
  s->m[s->n++] = s->cur;
  return FLOE_OK;
}

static ents *read_all(const ice_table *t) {
  ents *s = calloc(1, sizeof *s);
  const ice_snapshot *sn = ice_metadata_current_snapshot(ice_table_metadata(t));
  size_t n;
  uint8_t *b = slurp(sn->manifest_list, &n);
  OK(ice_manifest_list_read(b, n, "list", &s->mfs, &s->nmf, &e_));
  free(b);
  for (int i = 0; i < s->nmf; i++) {
    b = slurp(s->mfs[i].manifest_path, &n);
    s->cur = i;
    OK(ice_manifest_read(b, n, "m", &s->mfs[i], take, s, &e_));
    free(b);
  }
  return s;
}

static void ents_free(ents *s) {
  for (int i = 0; i < s->n; i++) ice_manifest_entry_free(&s->e[i]);
  for (int i = 0; i < s->nmf; i++) ice_manifest_file_free(&s->mfs[i]);
  free(s->mfs);
  free(s);
}

/* The live DV entry of data file p (fails on more than one), or NULL. */
static const ice_manifest_entry *live_dv(const ents *s, const char *p) {
  const ice_manifest_entry *r = NULL;
  for (int i = 0; i < s->n; i++)
    if (s->e[i].status != ICE_STATUS_DELETED &&
        s->e[i].file.content == ICE_CONTENT_POS_DELETES &&
        !strcmp(s->e[i].file.referenced_data_file, p)) {
      assert_null(r);
      r = &s->e[i];
    }
  return r;
}

static int count_live(const ents *s, int content) {
  int n = 0;
  for (int i = 0; i < s->n; i++)
    if (s->e[i].status != ICE_STATUS_DELETED && s->e[i].file.content == content)
      n++;
  return n;
}

/* Reads the DV of entry e from its Puffin file, checking the entry against
 * the footer. */
static ice_dv *check_dv(const ice_manifest_entry *e) {
  size_t n;
  uint8_t *b = slurp(e->file.file_path, &n);
  ice_puffin *pf = NULL;
  OK(ice_puffin_read(b, n, "p", &pf, &e_));
  const ice_puffin_blob *bl = NULL;
  for (int i = 0; i < pf->nblobs; i++)
    if (!strcmp(pf->blobs[i].referenced_data_file,
                e->file.referenced_data_file))
      bl = &pf->blobs[i];
  assert_non_null(bl);
  assert_string_equal(e->file.file_format, "PUFFIN");
  assert_int_equal(e->file.content_offset, bl->offset);
  assert_int_equal(e->file.content_size_in_bytes, bl->length);
  assert_int_equal(e->file.record_count, bl->cardinality);
  assert_int_equal(e->file.file_size_in_bytes, (int64_t)n);
  ice_dv *dv = NULL;
  OK(ice_puffin_read_dv(b, n, bl, &dv, &e_));
  assert_int_equal(ice_dv_cardinality(dv), (uint64_t)bl->cardinality);
  ice_puffin_free(pf);
  free(b);
  return dv;
}

static void test_lifecycle(void **state) {
  fx *f = *state;
  ice_table *t = NULL;
  OK(ice_table_create(f->cat, "db", "t", f->schema, NULL, NULL, &t, &e_));
  const ice_metadata *md = ice_table_metadata(t);
  assert_int_equal(md->current_snapshot_id, ICE_NONE);

  /* append */
  ice_data_file d[2] = {write_file(f, t, 0, 100), write_file(f, t, 100, 50)};
  char *A = strdup(d[0].file_path), *B = strdup(d[1].file_path);
  int64_t s1 = commit_append(t, d, 2);
  ice_data_file_free(&d[0]);
  ice_data_file_free(&d[1]);
  md = ice_table_metadata(t);
  assert_int_equal(md->current_snapshot_id, s1);
  assert_true(s1 > 0);
  assert_string_equal(op(t), "append");
  assert_int_equal(sum(t, "added-data-files"), 2);
  assert_int_equal(sum(t, "added-records"), 150);
  assert_int_equal(sum(t, "total-records"), 150);
  assert_int_equal(sum(t, "total-data-files"), 2);
  assert_int_equal(sum(t, "total-delete-files"), 0);
  const ice_snapshot *sn = ice_metadata_current_snapshot(md);
  assert_int_equal(sn->sequence_number, 1);
  assert_int_equal(md->last_sequence_number, 1);
  assert_int_equal(sn->first_row_id, 0);
  assert_int_equal(sn->added_rows, 150);
  assert_int_equal(md->next_row_id, 150);
  assert_int_equal(md->nrefs, 1);
  assert_string_equal(md->refs[0].name, "main");
  assert_int_equal(md->refs[0].snapshot_id, s1);
  assert_int_equal(md->nsnapshot_log, 1);
  assert_int_equal(md->nmetadata_log, 1);
  ents *s = read_all(t);
  assert_int_equal(count_live(s, ICE_CONTENT_DATA), 2);
  assert_int_equal(s->e[0].file.first_row_id + s->e[1].file.first_row_id, 100);
  ents_free(s);

  /* delete rows of A (a position past 2^32 is refused: A has 100 rows) */
  uint64_t p1[] = {3, 7};
  OK(commit_delete(t, A, p1, 2, &e_));
  assert_string_equal(op(t), "delete");
  assert_int_equal(sum(t, "added-dvs"), 1);
  assert_int_equal(sum(t, "added-delete-files"), 1);
  assert_int_equal(sum(t, "added-position-deletes"), 2);
  assert_int_equal(sum(t, "total-delete-files"), 1);
  assert_int_equal(sum(t, "total-position-deletes"), 2);
  assert_int_equal(sum(t, "total-records"), 150);
  md = ice_table_metadata(t);
  assert_int_equal(ice_metadata_current_snapshot(md)->sequence_number, 2);
  assert_int_equal(ice_metadata_current_snapshot(md)->parent_id, s1);
  assert_int_equal(md->next_row_id, 150);
  s = read_all(t);
  const ice_manifest_entry *dv = live_dv(s, A);
  assert_non_null(dv);
  char *old_puffin = strdup(dv->file.file_path);
  ice_dv *v = check_dv(dv);
  assert_true(ice_dv_contains(v, 3) && ice_dv_contains(v, 7));
  ice_dv_free(v);
  ents_free(s);
  floe_error err;
  uint64_t far[] = {100};
  assert_int_equal(commit_delete(t, A, far, 1, &err), FLOE_EINVAL);

  /* a second delete merges with the old DV, whose entry goes DELETED */
  uint64_t p2[] = {9};
  OK(commit_delete(t, A, p2, 1, &e_));
  assert_int_equal(sum(t, "removed-dvs"), 1);
  assert_int_equal(sum(t, "removed-position-deletes"), 2);
  assert_int_equal(sum(t, "added-position-deletes"), 3);
  assert_int_equal(sum(t, "total-delete-files"), 1);
  assert_int_equal(sum(t, "total-position-deletes"), 3);
  s = read_all(t);
  dv = live_dv(s, A);
  assert_non_null(dv);
  assert_string_not_equal(dv->file.file_path, old_puffin);
  v = check_dv(dv);
  assert_int_equal(ice_dv_cardinality(v), 3);
  assert_true(ice_dv_contains(v, 9) && ice_dv_contains(v, 3));
  ice_dv_free(v);
  int olddel = 0;
  for (int i = 0; i < s->n; i++)
    if (s->e[i].status == ICE_STATUS_DELETED &&
        !strcmp(s->e[i].file.file_path, old_puffin)) {
      olddel++;
      assert_int_equal(s->e[i].snapshot_id,
                       ice_table_metadata(t)->current_snapshot_id);
    }
  assert_int_equal(olddel, 1);
  ents_free(s);

  /* overwrite: deletes from B and a new file */
  ice_data_file c = write_file(f, t, 150, 10);
  char *C = strdup(c.file_path);
  ice_txn *x = NULL;
  OK(ice_txn_begin(t, &x, &e_));
  OK(ice_txn_append(x, &c, &e_));
  ice_data_file_free(&c);
  uint64_t p3[] = {0, 1, 2, 3};
  v = dv_of(p3, 4);
  OK(ice_txn_delete_rows(x, B, v, &e_));
  ice_dv_free(v);
  OK(ice_txn_set_summary(x, "floe.source-lsn", "0/16B3748", &e_));
  OK(ice_txn_commit(x, NULL, &e_));
  assert_string_equal(op(t), "overwrite");
  assert_string_equal(
      ice_kv_get(&ice_metadata_current_snapshot(ice_table_metadata(t))->summary,
                 "floe.source-lsn"),
      "0/16B3748");
  assert_int_equal(sum(t, "total-data-files"), 3);
  assert_int_equal(sum(t, "total-delete-files"), 2);
  assert_int_equal(sum(t, "total-position-deletes"), 7);
  assert_int_equal(sum(t, "total-records"), 160);
  assert_int_equal(ice_table_metadata(t)->next_row_id, 160);

  /* replace A and B (compaction): their DVs go with them */
  ice_data_file dd = write_file(f, t, 1000, 143);
  char *D = strdup(dd.file_path);
  OK(ice_txn_begin(t, &x, &e_));
  OK(ice_txn_append(x, &dd, &e_));
  ice_data_file_free(&dd);
  OK(ice_txn_remove_file(x, A, &e_));
  OK(ice_txn_remove_file(x, B, &e_));
  ice_txn_set_replace(x);
  OK(ice_txn_commit(x, NULL, &e_));
  assert_string_equal(op(t), "replace");
  assert_int_equal(sum(t, "deleted-data-files"), 2);
  assert_int_equal(sum(t, "removed-dvs"), 2);
  assert_int_equal(sum(t, "total-data-files"), 2);
  assert_int_equal(sum(t, "total-delete-files"), 0);
  assert_int_equal(sum(t, "total-position-deletes"), 0);
  assert_int_equal(sum(t, "total-records"), 153);
  assert_int_equal(ice_table_metadata(t)->last_sequence_number, 5);
  s = read_all(t);
  assert_int_equal(count_live(s, ICE_CONTENT_DATA), 2);
  assert_int_equal(count_live(s, ICE_CONTENT_POS_DELETES), 0);
  ents_free(s);
  assert_int_equal(ice_table_metadata(t)->nsnapshots, 5);
  assert_int_equal(ice_table_metadata(t)->nmetadata_log, 5);

  /* expire everything but the current snapshot */
  const ice_snapshot *cur =
      ice_metadata_current_snapshot(ice_table_metadata(t));
  char *curlist = strdup(cur->manifest_list);
  int64_t removed = 0;
  OK(ice_table_expire_snapshots(t, tnow() + 1000, 1, &removed, &e_));
  md = ice_table_metadata(t);
  assert_int_equal(md->nsnapshots, 1);
  assert_int_equal(md->nsnapshot_log, 1);
  assert_false(exists(A));
  assert_false(exists(B));
  assert_false(exists(old_puffin));
  assert_true(exists(C));
  assert_true(exists(D));
  assert_true(exists(curlist));
  /* 2 data files, 3 Puffin files, 4 old lists, and old manifests */
  assert_true(removed >= 9);
  s = read_all(t);
  for (int i = 0; i < s->nmf; i++) assert_true(exists(s->mfs[i].manifest_path));
  ents_free(s);

  /* orphans: an uncommitted file goes, nothing live does */
  ice_data_file o = write_file(f, t, 0, 5);
  char *O = strdup(o.file_path);
  ice_data_file_free(&o);
  assert_true(exists(O));
  OK(ice_table_remove_orphans(t, tnow() - 60000, &removed, &e_));
  assert_int_equal(removed, 0); /* too young */
  OK(ice_table_remove_orphans(t, tnow() + 1000, &removed, &e_));
  assert_false(exists(O));
  assert_true(exists(C) && exists(D) && exists(curlist));
  assert_true(exists(ice_table_metadata_location(t)));
  s = read_all(t);
  for (int i = 0; i < s->nmf; i++) assert_true(exists(s->mfs[i].manifest_path));
  ents_free(s);
  for (int i = 0; i < ice_table_metadata(t)->nmetadata_log; i++)
    assert_true(exists(ice_table_metadata(t)->metadata_log[i].file));
  assert_int_equal(removed, 1);

  /* the table reloads to the same state */
  ice_table *t2 = NULL;
  OK(ice_table_load(f->cat, "db", "t", &t2, &e_));
  assert_string_equal(ice_table_metadata_location(t2),
                      ice_table_metadata_location(t));
  ice_table_free(t2);
  free(A);
  free(B);
  free(C);
  free(D);
  free(O);
  free(old_puffin);
  free(curlist);
  ice_table_free(t);
}

/* DVs with positions past 2^32 (the 64-bit layout over 32-bit bitmaps). */
static void test_big_positions(void **state) {
  fx *f = *state;
  ice_table *t = NULL;
  OK(ice_table_create(f->cat, "db", "big", f->schema, NULL, NULL, &t, &e_));
  ice_data_file d = fake_file(t, 0, (int64_t)1 << 34);
  commit_append(t, &d, 1);
  uint64_t p[] = {1, ((uint64_t)1 << 32) + 5, ((uint64_t)3 << 32) + 7};
  OK(commit_delete(t, d.file_path, p, 3, &e_));
  uint64_t q[] = {((uint64_t)1 << 33) + 1};
  OK(commit_delete(t, d.file_path, q, 1, &e_));
  ents *s = read_all(t);
  ice_dv *v = check_dv(live_dv(s, d.file_path));
  assert_int_equal(ice_dv_cardinality(v), 4);
  for (int i = 0; i < 3; i++) assert_true(ice_dv_contains(v, p[i]));
  assert_true(ice_dv_contains(v, q[0]));
  assert_false(ice_dv_contains(v, 5));
  ice_dv_free(v);
  ents_free(s);
  assert_int_equal(ice_table_metadata(t)->next_row_id, (int64_t)1 << 34);
  ice_data_file_free(&d);
  ice_table_free(t);
}

static bool has_path(const ents *s, const char *p) {
  for (int i = 0; i < s->nmf; i++)
    if (!strcmp(s->mfs[i].manifest_path, p)) return true;
  return false;
}

/* Manifest reuse and a bounded manifest count over 200 commits, each
 * adding a file and deleting rows of 3 random older ones. */
static void test_manifest_policy(void **state) {
  fx *f = *state;
  ice_table *t = NULL;
  OK(ice_table_create(f->cat, "db", "many", f->schema, NULL, NULL, &t, &e_));
  char *paths[200];
  int maxm = 0;
  uint64_t seed = 42;
  for (int i = 0; i < 200; i++) {
    ice_data_file d = fake_file(t, i, 1000);
    paths[i] = strdup(d.file_path);
    ice_txn *x = NULL;
    OK(ice_txn_begin(t, &x, &e_));
    OK(ice_txn_append(x, &d, &e_));
    ice_data_file_free(&d);
    for (int k = 0; k < 3 && i > 0; k++) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      int victim = (int)((seed >> 33) % (uint64_t)i);
      uint64_t pos = (seed >> 20) % 1000;
      ice_dv *v = dv_of(&pos, 1);
      OK(ice_txn_delete_rows(x, paths[victim], v, &e_));
      ice_dv_free(v);
    }
    OK(ice_txn_commit(x, NULL, &e_));
    ents *s = read_all(t);
    if (s->nmf > maxm) maxm = s->nmf;
    ents_free(s);
  }
  assert_true(maxm <= 24);
  ents *s = read_all(t);
  assert_int_equal(count_live(s, ICE_CONTENT_DATA), 200);
  for (int i = 0; i < 200; i++) {
    int n = 0;
    for (int k = 0; k < s->n; k++)
      if (s->e[k].status != ICE_STATUS_DELETED &&
          s->e[k].file.content == ICE_CONTENT_POS_DELETES &&
          !strcmp(s->e[k].file.referenced_data_file, paths[i]))
        n++;
    assert_true(n <= 1);
  }
  assert_int_equal(sum(t, "total-data-files"), 200);
  assert_int_equal(sum(t, "total-delete-files"),
                   count_live(s, ICE_CONTENT_POS_DELETES));
  /* a pure append rewrites no old manifest unless a merge picks it up */
  ice_data_file d = fake_file(t, 999, 10);
  commit_append(t, &d, 1);
  ice_data_file_free(&d);
  ents *s2 = read_all(t);
  int reused = 0, fresh = 0;
  for (int i = 0; i < s2->nmf; i++) {
    if (has_path(s, s2->mfs[i].manifest_path))
      reused++;
    else
      fresh++;
  }
  /* the new data manifest, maybe one merge of a tier into one */
  assert_true(fresh <= 2);
  assert_true(reused >= s->nmf - 4);
  for (int i = 0; i < s2->nmf; i++)
    if (!has_path(s, s2->mfs[i].manifest_path))
      assert_int_equal(s2->mfs[i].content, ICE_MANIFEST_DATA);
  ents_free(s);
  ents_free(s2);
  for (int i = 0; i < 200; i++) free(paths[i]);
  ice_table_free(t);
}

/* Two handles committing from the same base. */
static void test_concurrent(void **state) {
  fx *f = *state;
  ice_table *t1 = NULL, *t2 = NULL;
  OK(ice_table_create(f->cat, "db", "cc", f->schema, NULL, NULL, &t1, &e_));
  ice_data_file a = fake_file(t1, 0, 100);
  commit_append(t1, &a, 1);
  OK(ice_table_load(f->cat, "db", "cc", &t2, &e_));
  /* append + append: both land */
  ice_data_file b = fake_file(t1, 1, 10), c = fake_file(t1, 2, 10);
  commit_append(t1, &b, 1);
  commit_append(t2, &c, 1);
  assert_int_equal(sum(t2, "total-data-files"), 3);
  assert_int_equal(ice_table_metadata(t2)->last_sequence_number, 3);
  assert_int_equal(ice_table_metadata(t2)->next_row_id, 120);
  /* delete + delete on one file: both land, the DV is the union */
  OK(ice_table_refresh(t1, &e_));
  uint64_t p1[] = {1, 2}, p2[] = {2, 50};
  OK(commit_delete(t1, a.file_path, p1, 2, &e_));
  OK(commit_delete(t2, a.file_path, p2, 2, &e_));
  ents *s = read_all(t2);
  ice_dv *v = check_dv(live_dv(s, a.file_path));
  assert_int_equal(ice_dv_cardinality(v), 3);
  assert_true(ice_dv_contains(v, 1) && ice_dv_contains(v, 2) &&
              ice_dv_contains(v, 50));
  ice_dv_free(v);
  ents_free(s);
  assert_int_equal(sum(t2, "total-delete-files"), 1);
  assert_int_equal(sum(t2, "total-position-deletes"), 3);
  /* a file removed by the winner cannot take deletes: conflict */
  OK(ice_table_refresh(t1, &e_));
  ice_txn *x = NULL;
  OK(ice_txn_begin(t1, &x, &e_));
  OK(ice_txn_remove_file(x, b.file_path, &e_));
  OK(ice_txn_commit(x, NULL, &e_));
  floe_error err;
  uint64_t p3[] = {4};
  assert_int_equal(commit_delete(t2, b.file_path, p3, 1, &err), FLOE_ECONFLICT);
  /* a compaction whose file gained deletes meanwhile: conflict */
  OK(ice_table_refresh(t2, &e_));
  OK(ice_txn_begin(t2, &x, &e_));
  OK(ice_txn_remove_file(x, c.file_path, &e_));
  ice_txn_set_replace(x);
  OK(commit_delete(t1, c.file_path, p3, 1, &e_));
  assert_int_equal(ice_txn_commit(x, NULL, &err), FLOE_ECONFLICT);
  /* removing a file that is not there is the caller's error */
  OK(ice_txn_begin(t1, &x, &e_));
  OK(ice_txn_remove_file(x, "/nope.parquet", &e_));
  assert_int_equal(ice_txn_commit(x, NULL, &err), FLOE_ENOTFOUND);
  ice_data_file_free(&a);
  ice_data_file_free(&b);
  ice_data_file_free(&c);
  ice_table_free(t1);
  ice_table_free(t2);
}

/* write_data splits rows by the partition tuple. */
static void test_write_partitioned(void **state) {
  fx *f = *state;
  ice_partition_field pf = {.source_id = 2, .name = "d_day"};
  OK(ice_transform_parse("day", &pf.transform, &e_));
  ice_partition_spec spec = {0, 1, &pf};
  ice_table *t = NULL;
  OK(ice_table_create(f->cat, "db", "part", f->schema, &spec, NULL, &t, &e_));
  ice_transform_clear(&pf.transform);
  col_batch *b = make_batch(f, 0, 10, 19724); /* 2024-01-02, 2024-01-03 */
  ice_data_file *files = NULL;
  int nf = 0;
  OK(ice_table_write_data(t, &b, 1, &files, &nf, &e_));
  col_batch_free(b);
  assert_int_equal(nf, 2);
  assert_non_null(strstr(files[0].file_path, "/data/d_day=2024-01-02/"));
  assert_non_null(strstr(files[1].file_path, "/data/d_day=2024-01-03/"));
  for (int i = 0; i < nf; i++) {
    assert_int_equal(files[i].record_count, 5);
    assert_int_equal(files[i].npartition, 1);
    assert_int_equal(files[i].partition[0].bytes.len, 4);
    int32_t day;
    memcpy(&day, files[i].partition[0].bytes.data, 4);
    assert_int_equal(day, 19724 + i);
    assert_true(exists(files[i].file_path));
    assert_true(files[i].nmetrics >= 2);
  }
  commit_append(t, files, nf);
  ents *s = read_all(t);
  assert_int_equal(count_live(s, ICE_CONTENT_DATA), 2);
  assert_int_equal(s->mfs[0].npartitions, 1);
  ents_free(s);
  uint64_t p[] = {0};
  OK(commit_delete(t, files[1].file_path, p, 1, &e_));
  s = read_all(t);
  const ice_manifest_entry *dv = live_dv(s, files[1].file_path);
  assert_int_equal(dv->file.npartition, 1);
  assert_memory_equal(dv->file.partition[0].bytes.data,
                      files[1].partition[0].bytes.data, 4);
  ents_free(s);
  for (int i = 0; i < nf; i++) ice_data_file_free(&files[i]);
  free(files);
  ice_table_free(t);
}

/* metadata-log pruning deletes the old metadata files. */
static void test_metadata_log(void **state) {
  fx *f = *state;
  ice_kv props;
  memset(&props, 0, sizeof props);
  OK(ice_kv_set(&props, "write.metadata.previous-versions-max", "3", &e_));
  ice_table *t = NULL;
  OK(ice_table_create(f->cat, "db", "log", f->schema, NULL, &props, &t, &e_));
  ice_kv_free(&props);
  char *first = strdup(ice_table_metadata_location(t));
  for (int i = 0; i < 6; i++) {
    ice_data_file d = fake_file(t, i, 1);
    commit_append(t, &d, 1);
    ice_data_file_free(&d);
  }
  const ice_metadata *md = ice_table_metadata(t);
  assert_int_equal(md->nmetadata_log, 3);
  assert_int_equal(md->nsnapshot_log, 6);
  for (int i = 0; i < 3; i++) assert_true(exists(md->metadata_log[i].file));
  assert_false(exists(first));
  free(first);
  ice_table_free(t);
}

/* A rewrite whose file gained deletes after the txn began (another txn of
 * the same handle) must not land: it would bring the deleted row back. */
static void test_rewrite_race(void **state) {
  fx *f = *state;
  ice_table *t = NULL;
  OK(ice_table_create(f->cat, "db", "rw", f->schema, NULL, NULL, &t, &e_));
  ice_data_file a = write_file(f, t, 0, 10);
  commit_append(t, &a, 1);
  ice_txn *x = NULL;
  OK(ice_txn_begin(t, &x, &e_));
  /* ... the rewrite reads a's 10 rows and writes them as b ... */
  ice_data_file b = write_file(f, t, 0, 10);
  OK(ice_txn_remove_file(x, a.file_path, &e_));
  OK(ice_txn_append(x, &b, &e_));
  ice_txn_set_replace(x);
  uint64_t pos = 3;
  OK(commit_delete(t, a.file_path, &pos, 1, &e_));
  floe_error e;
  assert_int_equal(ice_txn_commit(x, NULL, &e), FLOE_ECONFLICT);
  assert_non_null(strstr(e.msg, "since the txn began"));
  assert_string_equal(op(t), "delete");
  assert_int_equal(sum(t, "total-data-files"), 1);
  assert_int_equal(sum(t, "total-position-deletes"), 1);
  /* begun after the delete, the same rewrite lands */
  ice_data_file c = write_file(f, t, 0, 9);
  OK(ice_txn_begin(t, &x, &e_));
  OK(ice_txn_remove_file(x, a.file_path, &e_));
  OK(ice_txn_append(x, &c, &e_));
  ice_txn_set_replace(x);
  OK(ice_txn_commit(x, NULL, &e_));
  assert_string_equal(op(t), "replace");
  assert_int_equal(sum(t, "total-records"), 9);
  assert_int_equal(sum(t, "total-delete-files"), 0);
  ice_data_file_free(&a);
  ice_data_file_free(&b);
  ice_data_file_free(&c);
  ice_table_free(t);
}

/* Deleting no positions writes no DV: the commit is a plain append. */
static void test_empty_delete(void **state) {
  fx *f = *state;
  ice_table *t = NULL;
  OK(ice_table_create(f->cat, "db", "ed", f->schema, NULL, NULL, &t, &e_));
  ice_data_file a = write_file(f, t, 0, 5);
  commit_append(t, &a, 1);
  ice_data_file b = write_file(f, t, 5, 5);
  ice_txn *x = NULL;
  OK(ice_txn_begin(t, &x, &e_));
  ice_dv *dv = dv_of(NULL, 0);
  OK(ice_txn_delete_rows(x, a.file_path, dv, &e_));
  ice_dv_free(dv);
  OK(ice_txn_append(x, &b, &e_));
  OK(ice_txn_commit(x, NULL, &e_));
  assert_string_equal(op(t), "append");
  assert_int_equal(sum(t, "added-dvs"), 0);
  assert_int_equal(sum(t, "total-delete-files"), 0);
  assert_int_equal(sum(t, "total-records"), 10);
  ice_data_file_free(&a);
  ice_data_file_free(&b);
  ice_table_free(t);
}

/* Orphan removal must recognise live files however metadata spells them:
 * Java engines write "file:/..." locations. A data file added under its
 * "file:" spelling is live, not an orphan. */
static void test_orphans_file_scheme(void **state) {
  fx *f = *state;
  ice_table *t = NULL;
  OK(ice_table_create(f->cat, "db", "fs", f->schema, NULL, NULL, &t, &e_));
  ice_data_file a = write_file(f, t, 0, 5);
  size_t n = strlen(a.file_path) + 6;
  char *uri = malloc(n);
  snprintf(uri, n, "file:%s", a.file_path);
  char *plain = a.file_path;
  a.file_path = uri;
  commit_append(t, &a, 1);
  int64_t removed = -1;
  OK(ice_table_remove_orphans(t, tnow() + 60000, &removed, &e_));
  assert_int_equal(removed, 0);
  assert_true(exists(plain));
  /* and the scan reads it through the same mapping */
  ice_plan *p = NULL;
  OK(ice_table_plan(t, ICE_NONE, &p, &e_));
  assert_int_equal(p->ntasks, 1);
  assert_string_equal(p->tasks[0].file.file_path, uri);
  ice_plan_free(p);
  free(plain);
  ice_data_file_free(&a);
  ice_table_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
      cmocka_unit_test_setup_teardown(test_big_positions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_manifest_policy, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
      cmocka_unit_test_setup_teardown(test_write_partitioned, setup, teardown),
      cmocka_unit_test_setup_teardown(test_metadata_log, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rewrite_race, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_delete, setup, teardown),
      cmocka_unit_test_setup_teardown(test_orphans_file_scheme, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_lifecycle, setup_sql, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent, setup_sql, teardown),
      cmocka_unit_test_setup_teardown(test_metadata_log, setup_sql, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
