/*
 * The filesystem catalog, in the layout of Iceberg's HadoopCatalog:
 *
 *   <warehouse>/<ns>/<table>/metadata/v<N>.metadata.json   (N = 1, 2, ...)
 *   <warehouse>/<ns>/<table>/metadata/version-hint.text    ("N", no newline)
 *
 * The atomic step of a commit is creating v(N+1).metadata.json with
 * put-if-absent (link(2) on the local store): of two writers based on vN
 * exactly one creates the file, the other gets FLOE_ECONFLICT and has made
 * nothing visible. The hint is rewritten afterwards, best effort: readers
 * take the hint as a starting point and probe N+1, N+2, ... as Hadoop does,
 * so a stale (or missing, or garbled) hint only costs a few stat calls.
 *
 * A namespace is a directory of the warehouse, a table a directory in it
 * whose metadata/ holds a version file.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "iceberg/catalog.h"

#define HINT_FILE "version-hint.text"
#define MD_SUFFIX ".metadata.json"
#define KEY_MAX 1024 /* two names of <= 255 bytes plus fixed parts */

typedef struct fs_catalog {
  ice_catalog base;
} fs_catalog;

static const ice_catalog_ops fs_ops;

/* Parses a Java int written in decimal (no sign, no spaces); -1 if it is
 * not one. */
static int64_t parse_version(const char *s, size_t n) {
  if (n == 0 || n > 10) return -1;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v <= INT32_MAX ? v : -1;
}

static void version_key(char *key, const char *ns, const char *name,
                        int64_t v) {
  snprintf(key, KEY_MAX, "%s/%s/metadata/v%lld" MD_SUFFIX, ns, name,
           (long long)v);
}

/* Is there an object at key? Errors other than "missing" propagate. */
static floe_status key_exists(ice_catalog *c, const char *key, bool *out,
                              floe_error *err) {
  uint64_t size;
  floe_status st = fstore_size(c->store, key, &size, err);
  *out = st == FLOE_OK;
  return st == FLOE_ENOTFOUND ? FLOE_OK : st;
}

/* The hint's number, or -1 when the file is missing or not a number (then
 * the caller lists the directory, as Hadoop falls back to). */
static int64_t read_hint(ice_catalog *c, const char *ns, const char *name) {
  char key[KEY_MAX];
  snprintf(key, sizeof key, "%s/%s/metadata/" HINT_FILE, ns, name);
  fbuf b = FBUF_INIT;
  floe_error ignored;
  int64_t v = -1;
  if (fstore_get_all(c->store, key, 64, &b, &ignored) == FLOE_OK) {
    size_t n = b.len;
    /* Java writes no newline, but tolerate one (hand-written hints) */
    while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == '\r' ||
                     b.data[n - 1] == ' '))
      n--;
    v = parse_version((const char *)b.data, n);
  }
  fbuf_free(&b);
  return v;
}

typedef struct max_ctx {
  size_t prefix_len;
  int64_t max;
} max_ctx;

static floe_status max_cb(void *ctx, const char *key, uint64_t size,
                          floe_error *err) {
  (void)size;
  (void)err;
  max_ctx *m = ctx;
  const char *p = key + m->prefix_len; /* past ".../metadata/v" */
  size_t n = strlen(p), sl = strlen(MD_SUFFIX);
  if (n > sl && strcmp(p + n - sl, MD_SUFFIX) == 0) {
    int64_t v = parse_version(p, n - sl);
    if (v > m->max) m->max = v;
  }
  return FLOE_OK;
}

/* Highest N with a v<N>.metadata.json in the directory, 0 when none. */
static floe_status max_listed(ice_catalog *c, const char *ns, const char *name,
                              int64_t *out, floe_error *err) {
  char prefix[KEY_MAX];
  snprintf(prefix, sizeof prefix, "%s/%s/metadata/v", ns, name);
  max_ctx m = {strlen(prefix), 0};
  FLOE_TRY(fstore_list(c->store, prefix, max_cb, &m, err));
  *out = m.max;
  return FLOE_OK;
}

/* The current version: hint (or listing), then forward probing. */
static floe_status current_version(ice_catalog *c, const char *ns,
                                   const char *name, int64_t *out,
                                   floe_error *err) {
  char key[KEY_MAX];
  bool there = false;
  int64_t v = read_hint(c, ns, name);
  if (v > 0) {
    version_key(key, ns, name, v);
    FLOE_TRY(key_exists(c, key, &there, err));
  }
  /* no hint, a garbled one, or one ahead of the files: list */
  if (!there) FLOE_TRY(max_listed(c, ns, name, &v, err));
  if (v <= 0)
    return ferr_set(err, FLOE_ENOTFOUND, "table %s.%s does not exist", ns,
                    name);
  for (;;) {
    if (v == INT32_MAX) break;
    version_key(key, ns, name, v + 1);
    FLOE_TRY(key_exists(c, key, &there, err));
    if (!there) break;
    v++;
  }
  *out = v;
  return FLOE_OK;
}

static char *full_path(ice_catalog *c, const char *key, floe_error *err) {
  fbuf b = FBUF_INIT;
  const char *w = strcmp(c->warehouse, "/") == 0 ? "" : c->warehouse;
  if (fbuf_printf(&b, err, "%s/%s", w, key) != FLOE_OK ||
      fbuf_put_u8(&b, 0, err) != FLOE_OK) {
    fbuf_free(&b);
    return NULL;
  }
  return (char *)fbuf_take(&b);
}

/* Rewrites the hint; failures are ignored on purpose (see the top). */
static void write_hint(ice_catalog *c, const char *ns, const char *name,
                       int64_t v) {
  char key[KEY_MAX], text[24];
  snprintf(key, sizeof key, "%s/%s/metadata/" HINT_FILE, ns, name);
  int n = snprintf(text, sizeof text, "%lld", (long long)v);
  floe_error ignored;
  (void)fstore_put(c->store, key, text, (size_t)n, &ignored);
}

/* Publishes version v (put-if-absent) and the hint; *location gets its path.
 * FLOE_EEXIST when another writer made v first. */
static floe_status publish(ice_catalog *c, const char *ns, const char *name,
                           int64_t v, const void *md, size_t n, char **location,
                           floe_error *err) {
  char key[KEY_MAX];
  version_key(key, ns, name, v);
  FLOE_TRY(fstore_put_if_absent(c->store, key, md, n, err));
  write_hint(c, ns, name, v);
  *location = full_path(c, key, err);
  return *location ? FLOE_OK : FLOE_ENOMEM;
}

static floe_status fs_create(ice_catalog *c, const char *ns, const char *name,
                             const void *md, size_t n, char **location,
                             floe_error *err) {
  int64_t v;
  floe_status st = current_version(c, ns, name, &v, err);
  if (st == FLOE_OK)
    return ferr_set(err, FLOE_EEXIST, "table %s.%s already exists", ns, name);
  if (st != FLOE_ENOTFOUND) return st;
  st = publish(c, ns, name, 1, md, n, location, err);
  if (st == FLOE_EEXIST)
    return ferr_set(err, FLOE_EEXIST, "table %s.%s already exists", ns, name);
  return st;
}

static floe_status fs_load(ice_catalog *c, const char *ns, const char *name,
                           ice_catalog_table *out, floe_error *err) {
  int64_t v;
  FLOE_TRY(current_version(c, ns, name, &v, err));
  char key[KEY_MAX];
  version_key(key, ns, name, v);
  FLOE_TRY(fstore_get_all(c->store, key, ICE_CATALOG_MAX_METADATA,
                          &out->metadata, err));
  out->version = v;
  out->metadata_location = full_path(c, key, err);
  return out->metadata_location ? FLOE_OK : FLOE_ENOMEM;
}

static floe_status fs_commit(ice_catalog *c, const char *ns, const char *name,
                             const char *expected, const void *md, size_t n,
                             char **location, floe_error *err) {
  char *key = NULL;
  char prefix[KEY_MAX];
  snprintf(prefix, sizeof prefix, "%s/%s/metadata/v", ns, name);
  int64_t base = -1;
  floe_status st = ice_catalog_key(c, expected, &key, err);
  if (st == FLOE_OK) {
    size_t pl = strlen(prefix), kl = strlen(key), sl = strlen(MD_SUFFIX);
    if (kl > pl + sl && strncmp(key, prefix, pl) == 0 &&
        strcmp(key + kl - sl, MD_SUFFIX) == 0)
      base = parse_version(key + pl, kl - pl - sl);
    free(key);
  }
  if (base < 1)
    return ferr_set(err, FLOE_EINVAL,
                    "commit %s.%s: %s is not a metadata file of this table", ns,
                    name, expected);
  int64_t cur;
  FLOE_TRY(current_version(c, ns, name, &cur, err));
  /* Without this check a commit based on v3 could create v4 after v4 was
   * cleaned up while v5 is current. */
  if (cur != base)
    return ferr_set(err, FLOE_ECONFLICT,
                    "commit %s.%s: based on version %lld but version %lld is "
                    "current",
                    ns, name, (long long)base, (long long)cur);
  if (base == INT32_MAX)
    return ferr_set(err, FLOE_ERANGE, "commit %s.%s: version overflow", ns,
                    name);
  st = publish(c, ns, name, base + 1, md, n, location, err);
  if (st == FLOE_EEXIST)
    return ferr_set(err, FLOE_ECONFLICT,
                    "commit %s.%s: version %lld was committed concurrently", ns,
                    name, (long long)(base + 1));
  return st;
}

/* Names of the subdirectories of warehouse/rel that are valid names and
 * pass keep (NULL: all). */
static floe_status list_dirs(ice_catalog *c, const char *rel, const char *ns,
                             bool tables, ice_names *out, floe_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", c->warehouse, rel);
  DIR *d = opendir(path);
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR)
      return tables ? ferr_set(err, FLOE_ENOTFOUND,
                               "namespace %s does not exist", ns)
                    : FLOE_OK;
    return ferr_set(err, FLOE_EIO, "opendir %s: %s", path, strerror(errno));
  }
  floe_status st = FLOE_OK;
  struct dirent *e;
  while (st == FLOE_OK && (e = readdir(d)) != NULL) {
    if (ice_catalog_check_name("", e->d_name, !tables, NULL) != FLOE_OK)
      continue; /* ".", "..", temp files, foreign names */
    char sub[4096];
    struct stat sb;
    if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >=
            sizeof sub ||
        stat(sub, &sb) != 0 || !S_ISDIR(sb.st_mode))
      continue;
    if (tables) {
      int64_t v;
      floe_error probe;
      floe_status pst = current_version(c, ns, e->d_name, &v, &probe);
      if (pst == FLOE_ENOTFOUND) continue; /* a directory, not a table */
      if (pst != FLOE_OK) {
        st = pst;
        if (err) *err = probe;
        break;
      }
    }
    st = ice_names_push(out, e->d_name, err);
  }
  closedir(d);
  return st;
}

static floe_status fs_list_tables(ice_catalog *c, const char *ns,
                                  ice_names *out, floe_error *err) {
  return list_dirs(c, ns, ns, true, out, err);
}

static floe_status fs_list_namespaces(ice_catalog *c, ice_names *out,
                                      floe_error *err) {
  return list_dirs(c, "", NULL, false, out, err);
}

static floe_status fs_drop(ice_catalog *c, const char *ns, const char *name,
                           bool purge, floe_error *err) {
  (void)purge; /* a Hadoop table is its directory: always deleted */
  int64_t v;
  FLOE_TRY(current_version(c, ns, name, &v, err));
  char dir[KEY_MAX];
  snprintf(dir, sizeof dir, "%s/%s", ns, name);
  return ice_catalog_purge(c, dir, err);
}

static void fs_free(ice_catalog *c) {
  ice_catalog_free_base(c);
  free(c);
}

static const ice_catalog_ops fs_ops = {
    fs_create,          fs_load, fs_commit, fs_list_tables,
    fs_list_namespaces, fs_drop, NULL,      fs_free,
};

floe_status ice_catalog_fs_open(const char *dir, ice_catalog **out,
                                floe_error *err) {
  fs_catalog *f = calloc(1, sizeof *f);
  if (!f) return ferr_nomem(err, sizeof *f);
  floe_status st = ice_catalog_init_base(&f->base, &fs_ops, "file", dir, err);
  if (st != FLOE_OK) {
    free(f);
    return st;
  }
  *out = &f->base;
  return FLOE_OK;
}
