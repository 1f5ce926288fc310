/*
 * Test helper: assembles Iceberg tables from the lower-level pieces
 * (Parquet writer, Puffin writer, manifests, manifest lists, metadata and a
 * catalog), so the read path can be tested without the commit path.
 * Header-only (static functions) for the unit tests that include it.
 */
#ifndef FLOE_TESTS_TABLE_BUILD_H
#define FLOE_TESTS_TABLE_BUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iceberg/catalog.h"
#include "iceberg/manifest.h"
#include "iceberg/metadata.h"
#include "iceberg/puffin.h"
#include "parquet/parquet.h"

#define TB_CHECK(x)                                                            \
  do {                                                                         \
    floe_error tb_e_;                                                          \
    ferr_clear(&tb_e_);                                                        \
    floe_status tb_st_ = (x);                                                  \
    if (tb_st_ != FLOE_OK) {                                                   \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #x, tb_e_.msg);   \
      abort();                                                                 \
    }                                                                          \
  } while (0)
/* TB_CHECK'd calls take &tb_e_ as their error. */
#define TBE (&tb_e_)

typedef struct tb {
  ice_catalog *cat; /* borrowed */
  char ns[64], name[64];
  ice_metadata *md; /* owned */
  char *mdloc;      /* current metadata file, owned */
  char *loc;        /* table location, owned */
  int nfiles;       /* counter for file names */
} tb;

static char *tb_strdup(const char *s) {
  char *d = strdup(s);
  if (!d) abort();
  return d;
}

static void tb_create(tb *t, ice_catalog *cat, const char *ns, const char *name,
                      col_schema *schema) {
  memset(t, 0, sizeof *t);
  t->cat = cat;
  snprintf(t->ns, sizeof t->ns, "%s", ns);
  snprintf(t->name, sizeof t->name, "%s", name);
  TB_CHECK(ice_catalog_table_location(cat, ns, name, &t->loc, TBE));
  TB_CHECK(ice_metadata_new(t->loc, schema, NULL,
                            "0b7c2a55-5d5e-4c3b-9d7e-2f3a4b5c6d7e",
                            1700000000000, &t->md, TBE));
  TB_CHECK(ice_catalog_create_table(cat, ns, name, t->md, &t->mdloc, TBE));
}

static void tb_free(tb *t) {
  ice_metadata_free(t->md);
  free(t->mdloc);
  free(t->loc);
}

/* Stores bytes at the absolute path. */
static void tb_put(tb *t, const char *path, const fbuf *b) {
  char *key = NULL;
  TB_CHECK(ice_catalog_key(t->cat, path, &key, TBE));
  TB_CHECK(fstore_put(t->cat->store, key, b->data, b->len, TBE));
  free(key);
}

static char *tb_path(tb *t, const char *dir, const char *ext) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s/%s/%05d-test.%s", t->loc, dir, t->nfiles++,
           ext);
  return tb_strdup(buf);
}

/* Writes batches as one Parquet data file; *out gets its entry. */
static void tb_parquet(tb *t, col_batch *const *bs, int nb,
                       int64_t row_group_bytes, ice_data_file *out) {
  char *path = tb_path(t, "data", "parquet");
  fbuf b = FBUF_INIT;
  pq_writer_opts o;
  pq_writer_opts_default(&o);
  o.row_group_bytes = row_group_bytes;
  o.page_bytes = row_group_bytes < (1 << 20) ? row_group_bytes / 4 : 0;
  pq_writer *w = NULL;
  pq_sink sink = {pq_sink_buf_write, &b};
  TB_CHECK(pq_writer_open(bs[0]->schema, &o, sink, &w, TBE));
  for (int i = 0; i < nb; i++) TB_CHECK(pq_writer_write(w, bs[i], TBE));
  pq_file_metrics m;
  TB_CHECK(pq_writer_close(w, &m, TBE));
  pq_writer_free(w);
  tb_put(t, path, &b);
  TB_CHECK(
      ice_data_file_from_parquet_schema(path, &m, bs[0]->schema, out, TBE));
  pq_file_metrics_free(&m);
  fbuf_free(&b);
  free(path);
}

/* One Puffin file with dvs[i] for data_files[i]; out[i] get the DV entries.
 * *puffin_path (may be NULL) gets the file's path (caller frees). */
static void tb_puffin(tb *t, ice_dv *const *dvs, const char *const *files,
                      int n, ice_data_file *out, char **puffin_path) {
  char *path = tb_path(t, "data", "puffin");
  fbuf b = FBUF_INIT;
  ice_puffin_blob *blobs = calloc((size_t)n, sizeof *blobs);
  TB_CHECK(ice_puffin_write_dvs(dvs, files, n, "floe test", &b, blobs, TBE));
  tb_put(t, path, &b);
  for (int i = 0; i < n; i++) {
    ice_data_file *f = &out[i];
    memset(f, 0, sizeof *f);
    f->content = ICE_CONTENT_POS_DELETES;
    f->file_path = tb_strdup(path);
    f->file_format = tb_strdup("PUFFIN");
    f->record_count = blobs[i].cardinality;
    f->file_size_in_bytes = (int64_t)b.len;
    f->sort_order_id = ICE_NONE;
    f->first_row_id = ICE_NONE;
    f->referenced_data_file = tb_strdup(files[i]);
    f->content_offset = blobs[i].offset;
    f->content_size_in_bytes = blobs[i].length;
  }
  free(blobs);
  fbuf_free(&b);
  if (puffin_path)
    *puffin_path = path;
  else
    free(path);
}

/* An ADDED entry (sequence numbers inherited) that takes over f. */
static ice_manifest_entry tb_added(ice_data_file *f) {
  ice_manifest_entry e;
  memset(&e, 0, sizeof e);
  e.status = ICE_STATUS_ADDED;
  e.snapshot_id = ICE_NONE;
  e.sequence_number = ICE_NONE;
  e.file_sequence_number = ICE_NONE;
  e.file = *f;
  memset(f, 0, sizeof *f);
  return e;
}

/* Writes a manifest of the entries (freed here) for the current schema. */
static void tb_manifest(tb *t, int content, ice_manifest_entry *es, int n,
                        int64_t snapshot_id, ice_manifest_file *out) {
  char *path = tb_path(t, "metadata", "avro");
  fbuf b = FBUF_INIT;
  TB_CHECK(ice_manifest_write(ice_metadata_current_schema(t->md),
                              &t->md->specs[0], content, es, n, snapshot_id, &b,
                              out, TBE));
  tb_put(t, path, &b);
  out->manifest_path = path;
  out->manifest_length = (int64_t)b.len;
  fbuf_free(&b);
  for (int i = 0; i < n; i++) ice_manifest_entry_free(&es[i]);
}

/* Writes the manifest list of mfs (updated in place with the assigned
 * sequence numbers) and commits a snapshot with it. */
static void tb_commit(tb *t, int64_t snapshot_id, ice_manifest_file *mfs, int n,
                      const char *op) {
  ice_metadata *md = t->md;
  int64_t seq = md->last_sequence_number + 1;
  int64_t parent = md->current_snapshot_id;
  char *list = tb_path(t, "metadata", "avro");
  fbuf b = FBUF_INIT;
  int64_t next_row_id = 0;
  TB_CHECK(ice_manifest_list_write(mfs, n, snapshot_id, parent, seq,
                                   md->next_row_id, &b, &next_row_id, TBE));
  tb_put(t, list, &b);
  fbuf_free(&b);

  ice_snapshot *ns =
      realloc(md->snapshots, (size_t)(md->nsnapshots + 1) * sizeof *ns);
  if (!ns) abort();
  md->snapshots = ns;
  ice_snapshot *s = &md->snapshots[md->nsnapshots++];
  memset(s, 0, sizeof *s);
  s->snapshot_id = snapshot_id;
  s->parent_id = parent;
  s->sequence_number = seq;
  s->timestamp_ms = 1700000000000 + snapshot_id * 1000;
  s->manifest_list = list;
  TB_CHECK(ice_kv_set(&s->summary, "operation", op, TBE));
  char lsn[32];
  snprintf(lsn, sizeof lsn, "0/%llX", (unsigned long long)(0x1000 * seq));
  TB_CHECK(ice_kv_set(&s->summary, "floe.source-lsn", lsn, TBE));
  s->schema_id = md->current_schema_id;
  s->first_row_id = md->next_row_id;
  s->added_rows = next_row_id - md->next_row_id;
  md->next_row_id = next_row_id;
  md->last_sequence_number = seq;
  md->current_snapshot_id = snapshot_id;
  md->last_updated_ms = s->timestamp_ms;
  if (md->nrefs == 0) {
    md->refs = calloc(1, sizeof *md->refs);
    if (!md->refs) abort();
    md->nrefs = 1;
    md->refs[0].name = tb_strdup("main");
    md->refs[0].min_snapshots_to_keep = ICE_NONE;
    md->refs[0].max_snapshot_age_ms = ICE_NONE;
    md->refs[0].max_ref_age_ms = ICE_NONE;
  }
  md->refs[0].snapshot_id = snapshot_id;
  ice_log_entry *lg =
      realloc(md->snapshot_log, (size_t)(md->nsnapshot_log + 1) * sizeof *lg);
  if (!lg) abort();
  md->snapshot_log = lg;
  memset(&lg[md->nsnapshot_log], 0, sizeof *lg);
  lg[md->nsnapshot_log].timestamp_ms = s->timestamp_ms;
  lg[md->nsnapshot_log].snapshot_id = snapshot_id;
  md->nsnapshot_log++;

  char *newloc = NULL;
  TB_CHECK(ice_catalog_commit_table(t->cat, t->ns, t->name, t->mdloc, md,
                                    &newloc, TBE));
  free(t->mdloc);
  t->mdloc = newloc;
}

#endif
