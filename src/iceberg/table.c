/*
 * Table handles, the parsed-manifest cache the commit path works from, and
 * ice_table_write_data. Commits are in txn.c, maintenance in maintain.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "iceberg/partition.h"
#include "iceberg/table_commit.h"
#include "util/hash.h"

/* Manifests and lists are small; a bigger one is a bad pointer. */
#define MAX_MANIFEST_BYTES ((size_t)1 << 30)

/* ---- small helpers ---- */

floe_status ice_uuid(char out[37], floe_error *err) {
  uint8_t b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t r = getrandom(b + got, sizeof b - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ferr_set(err, FLOE_EIO, "getrandom: %s", strerror(errno));
    got += (size_t)r;
  }
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
  static const char hx[] = "0123456789abcdef";
  int o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hx[b[i] >> 4];
    out[o++] = hx[b[i] & 15];
  }
  out[o] = 0;
  return FLOE_OK;
}

floe_status ice_random_id(int64_t *out, floe_error *err) {
  uint64_t v = 0;
  do {
    ssize_t r = getrandom(&v, sizeof v, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r != (ssize_t)sizeof v)
      return ferr_set(err, FLOE_EIO, "getrandom: %s", strerror(errno));
    v &= (uint64_t)INT64_MAX;
  } while (v == 0);
  *out = (int64_t)v;
  return FLOE_OK;
}

int64_t ice_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

floe_status ice_table_get(ice_table *t, const char *path, size_t max, fbuf *out,
                          floe_error *err) {
  char *key = NULL;
  FLOE_TRY(ice_catalog_key(t->cat, path, &key, err));
  floe_status st = fstore_get_all(t->cat->store, key, max, out, err);
  free(key);
  return st;
}

floe_status ice_table_put(ice_table *t, const char *path, const void *p,
                          size_t n, floe_error *err) {
  char *key = NULL;
  FLOE_TRY(ice_catalog_key(t->cat, path, &key, err));
  /* every name carries a fresh uuid: if-absent only guards against a bug */
  floe_status st = fstore_put_if_absent(t->cat->store, key, p, n, err);
  free(key);
  return st;
}

floe_status ice_table_del(ice_table *t, const char *path, floe_error *err) {
  char *key = NULL;
  FLOE_TRY(ice_catalog_key(t->cat, path, &key, err));
  floe_status st = fstore_del(t->cat->store, key, err);
  free(key);
  if (st == FLOE_ENOTFOUND) {
    ferr_clear(err);
    st = FLOE_OK;
  }
  return st;
}

/* ---- string sets ---- */

static uint32_t str_hash(const char *s) {
  return (uint32_t)fhash64(s, strlen(s));
}

floe_status ice_strset_add(ice_strset *s, const char *k, floe_error *err) {
  if ((s->n + 1) * 2 > s->cap) {
    uint32_t cap = s->cap ? s->cap * 2 : 64;
    char **v = calloc(cap, sizeof *v);
    if (!v) return ferr_nomem(err, cap * sizeof *v);
    for (uint32_t i = 0; i < s->cap; i++) {
      if (!s->v[i]) continue;
      uint32_t h = str_hash(s->v[i]) & (cap - 1);
      while (v[h]) h = (h + 1) & (cap - 1);
      v[h] = s->v[i];
    }
    free(s->v);
    s->v = v;
    s->cap = cap;
  }
  uint32_t h = str_hash(k) & (s->cap - 1);
  while (s->v[h]) {
    if (!strcmp(s->v[h], k)) return FLOE_OK;
    h = (h + 1) & (s->cap - 1);
  }
  s->v[h] = strdup(k);
  if (!s->v[h]) return ferr_nomem(err, strlen(k) + 1);
  s->n++;
  return FLOE_OK;
}

bool ice_strset_has(const ice_strset *s, const char *k) {
  if (!s->cap) return false;
  uint32_t h = str_hash(k) & (s->cap - 1);
  while (s->v[h]) {
    if (!strcmp(s->v[h], k)) return true;
    h = (h + 1) & (s->cap - 1);
  }
  return false;
}

void ice_strset_free(ice_strset *s) {
  for (uint32_t i = 0; i < s->cap; i++) free(s->v[i]);
  free(s->v);
  memset(s, 0, sizeof *s);
}

/* ---- parsed manifests ---- */

/* The key a manifest is indexed by: delete manifests by the data file their
 * DV applies to, data manifests by path. */
static const char *entry_key(const ice_cman *m, const ice_manifest_entry *e) {
  if (m->content == ICE_MANIFEST_DELETES && e->file.referenced_data_file)
    return e->file.referenced_data_file;
  return e->file.file_path;
}

int ice_cman_find(const ice_cman *m, const char *key) {
  if (!m->slots) return -1;
  uint32_t h = str_hash(key) & m->mask;
  while (m->slots[h]) {
    int i = m->slots[h] - 1;
    if (!strcmp(entry_key(m, &m->e[i]), key)) return i;
    h = (h + 1) & m->mask;
  }
  return -1;
}

floe_status ice_cfile_new(const ice_data_file *f, ice_cfile **out,
                          floe_error *err) {
  ice_cfile *c = calloc(1, sizeof *c);
  if (!c) return ferr_nomem(err, sizeof *c);
  floe_status st = ice_data_file_copy(&c->f, f, err);
  if (st) {
    free(c);
    return st;
  }
  c->refs = 1;
  c->hpath = str_hash(c->f.file_path ? c->f.file_path : "");
  if (c->f.referenced_data_file) c->href = str_hash(c->f.referenced_data_file);
  *out = c;
  return FLOE_OK;
}

void ice_cfile_unref(ice_cfile *c) {
  if (!c || --c->refs > 0) return;
  ice_data_file_free(&c->f);
  fbuf_free(&c->enc);
  free(c);
}

floe_status ice_cfile_enc(ice_cfile *c, const ice_manifest_coder *k,
                          const fbuf **out, floe_error *err) {
  uint64_t key = ice_manifest_coder_key(k);
  if (c->enc_key != key) {
    c->enc_key = 0;
    c->enc.len = 0;
    FLOE_TRY(ice_manifest_encode_file(k, &c->f, &c->enc, err));
    c->enc_key = key;
  }
  *out = &c->enc;
  return FLOE_OK;
}

void ice_cman_free(ice_cman *m) {
  if (!m) return;
  for (int i = 0; i < m->n && m->cf; i++) ice_cfile_unref(m->cf[i]);
  free(m->cf);
  free(m->e);
  free(m->slots);
  free(m->path);
  free(m);
}

floe_status ice_cman_make(const char *path, int content, int32_t spec_id,
                          int64_t bytes, ice_manifest_entry *e, ice_cfile **cf,
                          int n, ice_cman **out, floe_error *err) {
  ice_cman *m = calloc(1, sizeof *m);
  if (!m) {
    for (int i = 0; i < n; i++) ice_cfile_unref(cf[i]);
    free(cf);
    free(e);
    return ferr_nomem(err, sizeof *m);
  }
  m->e = e;
  m->cf = cf;
  m->n = n;
  m->content = content;
  m->spec_id = spec_id;
  m->bytes = bytes;
  m->path = strdup(path);
  uint32_t cap = 8;
  while (cap < (uint32_t)n * 2) cap *= 2;
  m->slots = calloc(cap, sizeof *m->slots);
  if (!m->path || !m->slots) {
    ice_cman_free(m);
    return ferr_nomem(err, cap * sizeof(int32_t));
  }
  m->mask = cap - 1;
  for (int i = 0; i < n; i++) {
    if (e[i].status == ICE_STATUS_DELETED) continue;
    m->nlive++;
    /* the key's hash was taken once, when the file entered the cache */
    bool ref =
        content == ICE_MANIFEST_DELETES && e[i].file.referenced_data_file;
    uint32_t h = (ref ? cf[i]->href : cf[i]->hpath) & m->mask;
    while (m->slots[h]) h = (h + 1) & m->mask;
    m->slots[h] = i + 1;
  }
  *out = m;
  return FLOE_OK;
}

typedef struct collect {
  int n, cap;
  ice_manifest_entry *e;
  ice_cfile **cf;
} collect;

static floe_status collect_entry(void *ctx, const ice_manifest_entry *e,
                                 floe_error *err) {
  collect *c = ctx;
  if (c->n == c->cap) {
    int cap = c->cap ? c->cap * 2 : 16;
    void *p = realloc(c->e, (size_t)cap * sizeof *c->e);
    if (!p) return ferr_nomem(err, (size_t)cap * sizeof *c->e);
    c->e = p;
    p = realloc(c->cf, (size_t)cap * sizeof *c->cf);
    if (!p) return ferr_nomem(err, (size_t)cap * sizeof *c->cf);
    c->cf = p;
    c->cap = cap;
  }
  ice_cfile *f = NULL;
  FLOE_TRY(ice_cfile_new(&e->file, &f, err));
  c->e[c->n] = *e;
  c->e[c->n].file = f->f;
  c->cf[c->n] = f;
  c->n++;
  return FLOE_OK;
}

static ice_cman **cache_slot(ice_table *t, const char *path) {
  uint32_t h = str_hash(path) & (uint32_t)(t->capcache - 1);
  while (t->cache[h] && strcmp(t->cache[h]->path, path))
    h = (h + 1) & (uint32_t)(t->capcache - 1);
  return &t->cache[h];
}

floe_status ice_table_cache_put(ice_table *t, ice_cman *m, floe_error *err) {
  if ((t->ncache + 1) * 2 > t->capcache) {
    int cap = t->capcache ? t->capcache * 2 : 64;
    ice_cman **old = t->cache;
    int oldcap = t->capcache;
    t->cache = calloc((size_t)cap, sizeof *t->cache);
    if (!t->cache) {
      t->cache = old;
      ice_cman_free(m);
      return ferr_nomem(err, (size_t)cap * sizeof *t->cache);
    }
    t->capcache = cap;
    for (int i = 0; i < oldcap; i++)
      if (old[i]) *cache_slot(t, old[i]->path) = old[i];
    free(old);
  }
  ice_cman **s = cache_slot(t, m->path);
  if (*s) {
    ice_cman_free(m); /* same immutable file */
    return FLOE_OK;
  }
  *s = m;
  t->ncache++;
  return FLOE_OK;
}

floe_status ice_table_cman(ice_table *t, const ice_manifest_file *mf,
                           ice_cman **out, floe_error *err) {
  if (t->capcache) {
    ice_cman *m = *cache_slot(t, mf->manifest_path);
    if (m) {
      *out = m;
      return FLOE_OK;
    }
  }
  fbuf b = FBUF_INIT;
  collect c = {0, 0, NULL, NULL};
  floe_status st =
      ice_table_get(t, mf->manifest_path, MAX_MANIFEST_BYTES, &b, err);
  if (st == FLOE_OK)
    st = ice_manifest_read(b.data, b.len, mf->manifest_path, mf, collect_entry,
                           &c, err);
  fbuf_free(&b);
  if (st != FLOE_OK) {
    for (int i = 0; i < c.n; i++) ice_cfile_unref(c.cf[i]);
    free(c.cf);
    free(c.e);
    return st;
  }
  ice_cman *m = NULL;
  FLOE_TRY(ice_cman_make(mf->manifest_path, mf->content, mf->partition_spec_id,
                         mf->manifest_length, c.e, c.cf, c.n, &m, err));
  FLOE_TRY(ice_table_cache_put(t, m, err));
  *out = *cache_slot(t, mf->manifest_path);
  return FLOE_OK;
}

void ice_table_cache_trim(ice_table *t, const ice_manifest_file *keep, int n) {
  if (!t->capcache) return;
  ice_strset k = {0, 0, NULL};
  floe_error e;
  for (int i = 0; i < n; i++)
    if (ice_strset_add(&k, keep[i].manifest_path, &e) != FLOE_OK) {
      ice_strset_free(&k); /* out of memory: keep everything */
      return;
    }
  ice_cman **old = t->cache;
  int oldcap = t->capcache;
  t->cache = calloc((size_t)oldcap, sizeof *t->cache);
  if (!t->cache) {
    t->cache = old;
    ice_strset_free(&k);
    return;
  }
  t->ncache = 0;
  for (int i = 0; i < oldcap; i++) {
    if (!old[i]) continue;
    if (ice_strset_has(&k, old[i]->path)) {
      *cache_slot(t, old[i]->path) = old[i];
      t->ncache++;
    } else {
      ice_cman_free(old[i]);
    }
  }
  free(old);
  ice_strset_free(&k);
}

void ice_manifest_files_free(ice_manifest_file *m, int n) {
  for (int i = 0; i < n; i++) ice_manifest_file_free(&m[i]);
  free(m);
}

floe_status ice_table_read_list(ice_table *t, const ice_snapshot *s,
                                ice_manifest_file **out, int *n,
                                floe_error *err) {
  *out = NULL;
  *n = 0;
  if (!s) return FLOE_OK;
  fbuf b = FBUF_INIT;
  floe_status st =
      ice_table_get(t, s->manifest_list, MAX_MANIFEST_BYTES, &b, err);
  if (st == FLOE_OK)
    st = ice_manifest_list_read(b.data, b.len, s->manifest_list, out, n, err);
  fbuf_free(&b);
  return st;
}

/* ---- handles ---- */

void ice_table_set_md(ice_table *t, ice_metadata *md, char *loc) {
  ice_metadata_free(t->md);
  free(t->md_loc);
  t->md = md;
  t->md_loc = loc;
}

static floe_status table_new(ice_catalog *cat, const char *ns, const char *name,
                             ice_table **out, floe_error *err) {
  ice_table *t = calloc(1, sizeof *t);
  if (!t) return ferr_nomem(err, sizeof *t);
  t->cat = cat;
  t->ns = strdup(ns);
  t->name = strdup(name);
  if (!t->ns || !t->name) {
    ice_table_free(t);
    return ferr_nomem(err, strlen(ns) + strlen(name) + 2);
  }
  *out = t;
  return FLOE_OK;
}

floe_status ice_table_create(ice_catalog *cat, const char *ns, const char *name,
                             col_schema *schema, const ice_partition_spec *spec,
                             const ice_kv *props, ice_table **out,
                             floe_error *err) {
  *out = NULL;
  char *loc = NULL;
  FLOE_TRY(ice_catalog_table_location(cat, ns, name, &loc, err));
  ice_metadata *md = NULL;
  floe_status st =
      ice_metadata_new(loc, schema, spec, NULL, ice_now_ms(), &md, err);
  free(loc);
  FLOE_TRY(st);
  if (props)
    for (int i = 0; i < props->n && st == FLOE_OK; i++)
      st = ice_kv_set(&md->properties, props->keys[i], props->vals[i], err);
  /* floe cleans up after itself unless told not to */
  if (st == FLOE_OK &&
      !ice_kv_get(&md->properties,
                  "write.metadata.delete-after-commit.enabled"))
    st = ice_kv_set(&md->properties,
                    "write.metadata.delete-after-commit.enabled", "true", err);
  ice_table *t = NULL;
  if (st == FLOE_OK) st = table_new(cat, ns, name, &t, err);
  char *mloc = NULL;
  if (st == FLOE_OK)
    st = ice_catalog_create_table(cat, ns, name, md, &mloc, err);
  if (st != FLOE_OK) {
    ice_metadata_free(md);
    ice_table_free(t);
    return st;
  }
  ice_table_set_md(t, md, mloc);
  *out = t;
  return FLOE_OK;
}

floe_status ice_table_load(ice_catalog *cat, const char *ns, const char *name,
                           ice_table **out, floe_error *err) {
  *out = NULL;
  ice_table *t = NULL;
  FLOE_TRY(table_new(cat, ns, name, &t, err));
  floe_status st = ice_table_refresh(t, err);
  if (st != FLOE_OK) {
    ice_table_free(t);
    return st;
  }
  *out = t;
  return FLOE_OK;
}

floe_status ice_table_refresh(ice_table *t, floe_error *err) {
  ice_metadata *md = NULL;
  char *loc = NULL;
  FLOE_TRY(ice_catalog_load_table(t->cat, t->ns, t->name, &md, &loc, err));
  ice_table_set_md(t, md, loc);
  return FLOE_OK;
}

const ice_metadata *ice_table_metadata(const ice_table *t) { return t->md; }
const ice_commit_stats *ice_table_last_commit(const ice_table *t) {
  return &t->last;
}
const char *ice_table_metadata_location(const ice_table *t) {
  return t->md_loc;
}
ice_catalog *ice_table_catalog(const ice_table *t) { return t->cat; }

void ice_table_free(ice_table *t) {
  if (!t) return;
  for (int i = 0; i < t->capcache; i++) ice_cman_free(t->cache[i]);
  free(t->cache);
  ice_md_jcache_free(t->jcache);
  ice_metadata_free(t->md);
  free(t->md_loc);
  free(t->ns);
  free(t->name);
  free(t);
}

/* ---- schema updates ---- */

/* From txn.c. */
floe_status ice_md_log_previous(ice_metadata *nm, const ice_metadata *base,
                                const char *base_loc, char ***pruned,
                                int *npruned, floe_error *err);
void ice_md_delete_pruned(ice_table *t, const ice_metadata *nm, char **pruned,
                          int n);

#define SCHEMA_TRIES 4

floe_status ice_table_update_schema(ice_table *t, ice_schema_update *u,
                                    floe_error *err) {
  for (int tries = 0;; tries++) {
    ice_metadata *nm = NULL;
    char **pruned = NULL;
    int npruned = 0;
    char *loc = NULL;
    FLOE_TRY(ice_metadata_clone(t->md, &nm, err));
    /* apply refuses (FLOE_ECONFLICT) when a concurrent commit changed the
     * schema u was built on: that is final, a retry cannot fix it */
    floe_status st = ice_schema_update_apply(u, nm, NULL, err);
    if (st == FLOE_OK) {
      int64_t now = ice_now_ms();
      nm->last_updated_ms =
          now > t->md->last_updated_ms ? now : t->md->last_updated_ms + 1;
      st = ice_md_log_previous(nm, t->md, t->md_loc, &pruned, &npruned, err);
    }
    bool applied = st == FLOE_OK;
    if (st == FLOE_OK)
      st = ice_catalog_commit_table(t->cat, t->ns, t->name, t->md_loc, nm, &loc,
                                    err);
    if (st == FLOE_OK) {
      ice_table_set_md(t, nm, loc);
      ice_md_delete_pruned(t, t->md, pruned, npruned);
      return FLOE_OK;
    }
    ice_metadata_free(nm);
    for (int i = 0; i < npruned; i++) free(pruned[i]);
    free(pruned);
    if (st != FLOE_ECONFLICT || !applied) return st;
    if (tries + 1 >= SCHEMA_TRIES)
      return ferr_set(err, FLOE_ECONFLICT,
                      "schema update of %s.%s: still conflicting after %d "
                      "tries",
                      t->ns, t->name, SCHEMA_TRIES);
    FLOE_TRY(ice_table_refresh(t, err));
  }
}

/* ---- writing data files ---- */

/* One partition tuple's output file. */
typedef struct wgroup {
  fbuf key; /* serialized tuple, the grouping key */
  ice_pvalue *vals;
  char *path;
  fstore_writer *fw;
  pq_writer *w;
  int64_t *rows; /* this batch's rows of the group */
  int64_t nrows, caprows;
} wgroup;

typedef struct wstate {
  ice_table *t;
  const ice_schema *schema;
  const ice_partition_spec *spec;
  int *src_idx;     /* column index of each partition field's source */
  col_dtype *rtype; /* each partition field's result type */
  int ngroups, capgroups;
  wgroup *groups;
} wstate;

static floe_status sink_store(void *ctx, const void *p, size_t n,
                              floe_error *err) {
  return fstore_writer_write(ctx, p, n, err);
}

static void civil(int64_t days, int *y, int *m, int *d) {
  /* days since 1970-01-01 -> proleptic Gregorian date */
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t floordiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Appends the human form of a partition value (Java's toHumanString for the
 * common types), URL-escaped, to out. */
static floe_status human_value(const ice_partition_field *f, col_dtype rt,
                               const ice_pvalue *v, fbuf *out,
                               floe_error *err) {
  if (v->is_null) return fbuf_printf(out, err, "null");
  const uint8_t *p = v->bytes.data;
  size_t n = v->bytes.len;
  int64_t iv = 0;
  if (n == 4) iv = (int32_t)fle32(p);
  if (n == 8) iv = (int64_t)fle64(p);
  int y, m, d;
  switch (f->transform.kind) {
  case ICE_T_YEAR: return fbuf_printf(out, err, "%04" PRId64, 1970 + iv);
  case ICE_T_MONTH:
    return fbuf_printf(out, err, "%04" PRId64 "-%02" PRId64,
                       1970 + floordiv(iv, 12), iv - floordiv(iv, 12) * 12 + 1);
  case ICE_T_HOUR:
    civil(floordiv(iv, 24), &y, &m, &d);
    return fbuf_printf(out, err, "%04d-%02d-%02d-%02" PRId64, y, m, d,
                       iv - floordiv(iv, 24) * 24);
  default: break;
  }
  switch (rt.id) {
  case COL_DATE:
    civil(iv, &y, &m, &d);
    return fbuf_printf(out, err, "%04d-%02d-%02d", y, m, d);
  case COL_INT16:
  case COL_INT32:
  case COL_INT64: return fbuf_printf(out, err, "%" PRId64, iv);
  case COL_BOOL:
    return fbuf_printf(out, err, "%s", n && p[0] ? "true" : "false");
  case COL_UTF8:
    for (size_t i = 0; i < n; i++) {
      uint8_t c = p[i];
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')
        FLOE_TRY(fbuf_put_u8(out, c, err));
      else
        FLOE_TRY(fbuf_printf(out, err, "%%%02X", c));
    }
    return FLOE_OK;
  default:
    for (size_t i = 0; i < n; i++)
      FLOE_TRY(fbuf_printf(out, err, "%02x", p[i]));
    return FLOE_OK;
  }
}

static floe_status group_open(wstate *ws, wgroup *g, floe_error *err) {
  fbuf path = FBUF_INIT;
  char uuid[37];
  floe_status st = ice_uuid(uuid, err);
  if (!st) st = fbuf_printf(&path, err, "%s/data/", ws->t->md->location);
  for (int i = 0; i < ws->spec->nfields && !st; i++) {
    const ice_partition_field *f = &ws->spec->fields[i];
    st = fbuf_printf(&path, err, "%s=", f->name);
    if (!st) st = human_value(f, ws->rtype[i], &g->vals[i], &path, err);
    if (!st) st = fbuf_put_u8(&path, '/', err);
  }
  if (!st) st = fbuf_printf(&path, err, "%s.parquet", uuid);
  if (!st) st = fbuf_put_u8(&path, 0, err);
  if (st) {
    fbuf_free(&path);
    return st;
  }
  g->path = (char *)fbuf_take(&path);
  char *key = NULL;
  FLOE_TRY(ice_catalog_key(ws->t->cat, g->path, &key, err));
  st = fstore_writer_open(ws->t->cat->store, key, &g->fw, err);
  free(key);
  FLOE_TRY(st);
  pq_writer_opts o;
  pq_writer_opts_default(&o);
  o.codec = PQ_CODEC_ZSTD;
  o.page_rows = 20000; /* Iceberg's write.parquet.page-row-limit default */
  pq_sink sink = {sink_store, g->fw};
  return pq_writer_open(ws->schema->cols, &o, sink, &g->w, err);
}

static void group_clear(wgroup *g, int nvals) {
  fbuf_free(&g->key);
  for (int i = 0; i < nvals && g->vals; i++) fbuf_free(&g->vals[i].bytes);
  free(g->vals);
  free(g->path);
  pq_writer_free(g->w);
  if (g->fw) fstore_writer_abort(g->fw);
  free(g->rows);
}

/* The group of tuple key (created on first sight, values copied). */
static floe_status find_group(wstate *ws, const fbuf *key,
                              const ice_pvalue *vals, int *out,
                              floe_error *err) {
  /* few partitions per write: a linear search keeps this simple */
  for (int i = 0; i < ws->ngroups; i++)
    if (ws->groups[i].key.len == key->len &&
        (key->len == 0 ||
         !memcmp(ws->groups[i].key.data, key->data, key->len))) {
      *out = i;
      return FLOE_OK;
    }
  if (ws->ngroups == ws->capgroups) {
    int cap = ws->capgroups ? ws->capgroups * 2 : 8;
    void *p = realloc(ws->groups, (size_t)cap * sizeof *ws->groups);
    if (!p) return ferr_nomem(err, (size_t)cap * sizeof *ws->groups);
    ws->groups = p;
    ws->capgroups = cap;
  }
  wgroup *g = &ws->groups[ws->ngroups++];
  memset(g, 0, sizeof *g);
  int np = ws->spec->nfields;
  g->vals = calloc((size_t)(np ? np : 1), sizeof *g->vals);
  if (!g->vals) return ferr_nomem(err, sizeof *g->vals);
  FLOE_TRY(fbuf_append(&g->key, key->data, key->len, err));
  for (int i = 0; i < np; i++) {
    g->vals[i].is_null = vals[i].is_null;
    FLOE_TRY(fbuf_append(&g->vals[i].bytes, vals[i].bytes.data,
                         vals[i].bytes.len, err));
  }
  *out = ws->ngroups - 1;
  return group_open(ws, g, err);
}

static floe_status push_row(wgroup *g, int64_t r, floe_error *err) {
  if (g->nrows == g->caprows) {
    int64_t cap = g->caprows ? g->caprows * 2 : 1024;
    void *p = realloc(g->rows, (size_t)cap * sizeof *g->rows);
    if (!p) return ferr_nomem(err, (size_t)cap * sizeof *g->rows);
    g->rows = p;
    g->caprows = cap;
  }
  g->rows[g->nrows++] = r;
  return FLOE_OK;
}

/* Writes the rows of b listed in g->rows (runs appended in bulk). */
static floe_status write_rows(wgroup *g, const col_batch *b, floe_error *err) {
  if (g->nrows == b->length) return pq_writer_write(g->w, b, err);
  col_batch *sub = NULL;
  FLOE_TRY(col_batch_new(b->schema, &sub, err));
  floe_status st = FLOE_OK;
  for (int64_t i = 0; i < g->nrows && !st;) {
    int64_t j = i + 1;
    while (j < g->nrows && g->rows[j] == g->rows[j - 1] + 1) j++;
    for (int c = 0; c < b->schema->nfields && !st; c++)
      st = col_append_range(&sub->cols[c], &b->cols[c], g->rows[i], j - i, err);
    i = j;
  }
  if (!st) st = col_batch_seal(sub, err);
  if (!st) st = pq_writer_write(g->w, sub, err);
  col_batch_free(sub);
  return st;
}

static floe_status split_batch(wstate *ws, const col_batch *b, ice_pvalue *vals,
                               fbuf *key, floe_error *err) {
  int np = ws->spec->nfields;
  for (int i = 0; i < ws->ngroups; i++) ws->groups[i].nrows = 0;
  int gi = 0;
  for (int64_t r = 0; r < b->length; r++) {
    fbuf_reset(key);
    for (int k = 0; k < np; k++) {
      const col_column *c = &b->cols[ws->src_idx[k]];
      if (!col_is_valid(c, r)) {
        vals[k].is_null = true;
        fbuf_reset(&vals[k].bytes);
      } else {
        FLOE_TRY(ice_transform_apply(&ws->spec->fields[k].transform, c, r,
                                     &vals[k], err));
      }
      uint32_t len = vals[k].is_null ? UINT32_MAX : (uint32_t)vals[k].bytes.len;
      FLOE_TRY(fbuf_put_le32(key, len, err));
      FLOE_TRY(fbuf_append(key, vals[k].bytes.data, vals[k].bytes.len, err));
    }
    /* consecutive rows usually share a tuple: check the last group first */
    if (!(gi < ws->ngroups && ws->groups[gi].key.len == key->len &&
          (key->len == 0 ||
           !memcmp(ws->groups[gi].key.data, key->data, key->len))))
      FLOE_TRY(find_group(ws, key, vals, &gi, err));
    FLOE_TRY(push_row(&ws->groups[gi], r, err));
  }
  for (int i = 0; i < ws->ngroups; i++)
    if (ws->groups[i].nrows) FLOE_TRY(write_rows(&ws->groups[i], b, err));
  return FLOE_OK;
}

static floe_status finish_group(wstate *ws, wgroup *g, ice_data_file *out,
                                floe_error *err) {
  pq_file_metrics m;
  memset(&m, 0, sizeof m);
  FLOE_TRY(pq_writer_close(g->w, &m, err));
  floe_status st = fstore_writer_commit(g->fw, true, err);
  g->fw = NULL;
  if (!st)
    st = ice_data_file_from_parquet_schema(g->path, &m, ws->schema->cols, out,
                                           err);
  pq_file_metrics_free(&m);
  FLOE_TRY(st);
  int np = ws->spec->nfields;
  if (np) {
    out->partition = g->vals;
    out->npartition = np;
    g->vals = NULL;
  }
  return FLOE_OK;
}

floe_status ice_table_write_data(ice_table *t, col_batch *const *batches,
                                 int nbatches, ice_data_file **files,
                                 int *nfiles, floe_error *err) {
  *files = NULL;
  *nfiles = 0;
  wstate ws;
  memset(&ws, 0, sizeof ws);
  ws.t = t;
  ws.schema = ice_metadata_current_schema(t->md);
  ws.spec = ice_metadata_spec(t->md, t->md->default_spec_id);
  if (!ws.schema || !ws.spec)
    return ferr_corrupt(err, "%s.%s: no current schema or default spec", t->ns,
                        t->name);
  int np = ws.spec->nfields;
  ws.src_idx = calloc((size_t)np + 1, sizeof *ws.src_idx);
  ws.rtype = calloc((size_t)np + 1, sizeof *ws.rtype);
  ice_pvalue *vals = calloc((size_t)np + 1, sizeof *vals);
  fbuf key = FBUF_INIT;
  floe_status st = FLOE_OK;
  if (!ws.src_idx || !ws.rtype || !vals)
    st = ferr_nomem(err, (size_t)np * sizeof *vals);
  for (int i = 0; i < np && !st; i++) {
    const ice_partition_field *f = &ws.spec->fields[i];
    ws.src_idx[i] = col_schema_find_id(ws.schema->cols, f->source_id);
    if (ws.src_idx[i] < 0)
      st = ferr_set(err, FLOE_EINVAL, "partition field %s: no source column %d",
                    f->name, f->source_id);
    else
      st = ice_transform_result(&f->transform,
                                ws.schema->cols->fields[ws.src_idx[i]].type,
                                &ws.rtype[i], err);
  }
  for (int i = 0; i < nbatches && !st; i++) {
    const col_schema *bs = batches[i]->schema, *ts = ws.schema->cols;
    bool same = bs == ts || bs->nfields == ts->nfields;
    for (int f = 0; same && bs != ts && f < bs->nfields; f++)
      same = bs->fields[f].id == ts->fields[f].id &&
             bs->fields[f].type.id == ts->fields[f].type.id;
    if (!same) {
      st = ferr_set(err, FLOE_EINVAL,
                    "batch %d does not have the table's current schema", i);
      break;
    }
    if (batches[i]->length > 0)
      st = split_batch(&ws, batches[i], vals, &key, err);
  }
  ice_data_file *out = NULL;
  if (!st && ws.ngroups) {
    out = calloc((size_t)ws.ngroups, sizeof *out);
    if (!out) st = ferr_nomem(err, (size_t)ws.ngroups * sizeof *out);
  }
  int done = 0;
  for (; done < ws.ngroups && !st; done++)
    st = finish_group(&ws, &ws.groups[done], &out[done], err);
  if (st) {
    /* files already committed become orphans for remove_orphans */
    for (int i = 0; i < done; i++) ice_data_file_free(&out[i]);
    free(out);
    out = NULL;
  } else {
    *files = out;
    *nfiles = ws.ngroups;
  }
  for (int i = 0; i < ws.ngroups; i++) group_clear(&ws.groups[i], np);
  free(ws.groups);
  for (int i = 0; i < np && vals; i++) fbuf_free(&vals[i].bytes);
  free(vals);
  fbuf_free(&key);
  free(ws.src_idx);
  free(ws.rtype);
  return st;
}
