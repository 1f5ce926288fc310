/*
 * Internals shared by the write half of table.h (table.c, txn.c,
 * maintain.c): the table handle, the commit's view of the live files, and
 * small helpers. Not a public contract.
 *
 * The commit's view: the manifests of one snapshot, each parsed once and
 * cached by path in the handle (a manifest file never changes once
 * written), with a per-manifest hash index from data file path (data
 * manifests) or referenced data file (delete manifests) to its entry. A
 * commit then looks up the files it touches in O(manifests), reads no
 * manifest it has seen before, and rewrites only the manifests whose
 * entries change.
 */
#ifndef FLOE_ICEBERG_TABLE_COMMIT_H
#define FLOE_ICEBERG_TABLE_COMMIT_H

#include "iceberg/table.h"

/* A file as the cache holds it: the data_file with inherited fields filled
 * in (first_row_id), shared by the parsed form of every manifest that lists
 * it (a rewrite keeps most entries, so most files are shared, not copied),
 * and its encoded data_file record (ice_manifest_encode_file) for the next
 * rewrite, made on first use. The file is immutable; enc is a memo. */
typedef struct ice_cfile {
  int refs;
  ice_data_file f;
  uint32_t hpath, href; /* index hashes of file_path, referenced_data_file */
  uint64_t enc_key;     /* coder key enc was made under; 0 = none yet */
  fbuf enc;
} ice_cfile;

/* A new cfile holding a deep copy of f (one reference). */
floe_status ice_cfile_new(const ice_data_file *f, ice_cfile **out,
                          floe_error *err);
void ice_cfile_unref(ice_cfile *c);
/* c's encoded data_file record under coder k (encoded on a miss). */
floe_status ice_cfile_enc(ice_cfile *c, const ice_manifest_coder *k,
                          const fbuf **out, floe_error *err);

/* One parsed manifest: its list entry (as the snapshot that holds it
 * records it) and its entries with inherited fields filled in. DELETED
 * entries are kept (counts) but never indexed. Immutable once built.
 * e[i].file is a shallow copy of cf[i]->f (borrowed from it). */
typedef struct ice_cman {
  char *path;
  int content; /* ICE_MANIFEST_* */
  int32_t spec_id;
  int n;
  ice_manifest_entry *e;
  ice_cfile **cf; /* one reference each */
  int nlive;      /* entries not DELETED */
  uint32_t mask;  /* index size - 1 */
  int32_t *slots; /* entry index + 1, 0 = empty */
  int64_t bytes;  /* manifest_length */
} ice_cman;

struct ice_table {
  ice_catalog *cat; /* borrowed */
  char *ns, *name;
  ice_metadata *md;
  char *md_loc;
  /* parsed-manifest cache keyed by path (open addressing) */
  int ncache, capcache;
  ice_cman **cache;
  ice_commit_stats last; /* of the last commit that landed */
  /* the snapshots' serialized JSON, for the next metadata write (owned;
   * NULL until the first commit) */
  ice_md_jcache *jcache;
};

/* Entry index of key in m, or -1. */
int ice_cman_find(const ice_cman *m, const char *key);
void ice_cman_free(ice_cman *m);
/* Builds a cman from entries and their cfiles (both arrays taken: owned by
 * the result, also on failure; e[i].file must be a shallow copy of
 * cf[i]->f). */
floe_status ice_cman_make(const char *path, int content, int32_t spec_id,
                          int64_t bytes, ice_manifest_entry *e, ice_cfile **cf,
                          int n, ice_cman **out, floe_error *err);
/* The cached manifest for mf (read from the store on a miss). Borrowed
 * from t's cache. */
floe_status ice_table_cman(ice_table *t, const ice_manifest_file *mf,
                           ice_cman **out, floe_error *err);
/* Adds m to the cache (taking it). */
floe_status ice_table_cache_put(ice_table *t, ice_cman *m, floe_error *err);
/* Drops cached manifests not listed in keep[0..n). */
void ice_table_cache_trim(ice_table *t, const ice_manifest_file *keep, int n);

/* Reads the manifest list of snapshot s (NULL: empty list). */
floe_status ice_table_read_list(ice_table *t, const ice_snapshot *s,
                                ice_manifest_file **out, int *n,
                                floe_error *err);
void ice_manifest_files_free(ice_manifest_file *m, int n);

/* Store helpers over absolute paths under the warehouse. */
floe_status ice_table_get(ice_table *t, const char *path, size_t max, fbuf *out,
                          floe_error *err);
floe_status ice_table_put(ice_table *t, const char *path, const void *p,
                          size_t n, floe_error *err);
/* Deletes path; a missing file is not an error. */
floe_status ice_table_del(ice_table *t, const char *path, floe_error *err);

/* A random v4 UUID (getrandom) in canonical text. */
floe_status ice_uuid(char out[37], floe_error *err);
/* A random positive 63-bit id. */
floe_status ice_random_id(int64_t *out, floe_error *err);
int64_t ice_now_ms(void);

/* Replaces t's metadata (taken) and location (taken). */
void ice_table_set_md(ice_table *t, ice_metadata *md, char *loc);

/* A growable set of strings (open addressing), for file bookkeeping. */
typedef struct ice_strset {
  uint32_t n, cap;
  char **v;
} ice_strset;
floe_status ice_strset_add(ice_strset *s, const char *k, floe_error *err);
bool ice_strset_has(const ice_strset *s, const char *k);
void ice_strset_free(ice_strset *s);

#endif
