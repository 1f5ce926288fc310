/*
 * The catalog front door: URI parsing, name checks and the checks every
 * backend would otherwise repeat, then dispatch through the vtable. Also the
 * helpers the backends share (store keys of locations, purge).
 */
#include "iceberg/catalog.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ice_catalog_table_free(ice_catalog_table *t) {
  if (!t) return;
  free(t->metadata_location);
  fbuf_free(&t->metadata);
  t->metadata_location = NULL;
  t->version = -1;
}

void ice_names_free(ice_names *names) {
  if (!names) return;
  for (int i = 0; i < names->n; i++) free(names->v[i]);
  free(names->v);
  names->v = NULL;
  names->n = names->cap = 0;
}

floe_status ice_catalog_check_name(const char *what, const char *s,
                                   bool is_namespace, floe_error *err) {
  if (!s || !*s) return ferr_set(err, FLOE_EINVAL, "empty %s name", what);
  size_t n = strlen(s);
  if (n > ICE_CATALOG_NAME_MAX)
    return ferr_set(err, FLOE_EINVAL, "%s name is %zu bytes, limit %d", what, n,
                    ICE_CATALOG_NAME_MAX);
  /* The name becomes a directory: a leading '.' would hide it from listings
   * (and "."/".." would escape the warehouse). */
  if (s[0] == '.')
    return ferr_set(err, FLOE_EINVAL, "%s name '%s' starts with '.'", what, s);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '/' || ch == '\\' || ch < 0x20 || ch == 0x7f)
      return ferr_set(err, FLOE_EINVAL,
                      "%s name '%s': character 0x%02x at %zu is not allowed",
                      what, s, ch, i);
    /* JdbcCatalog joins namespace levels with '.', Hadoop nests
     * directories: a dotted name would mean different things to each. */
    if (is_namespace && ch == '.')
      return ferr_set(err, FLOE_EUNSUPPORTED,
                      "namespace '%s': nested namespaces are not supported", s);
  }
  return FLOE_OK;
}

static floe_status check_ident(const char *ns, const char *name,
                               floe_error *err) {
  FLOE_TRY(ice_catalog_check_name("namespace", ns, true, err));
  return ice_catalog_check_name("table", name, false, err);
}

/* ---- paths ---- */

static size_t scheme_len(const char *s);

/* Strips a "file:" / "file://" / "file:///" prefix; NULL when the host part
 * names something other than this machine, or for another scheme. */
static const char *strip_file_scheme(const char *p) {
  if (strncmp(p, "file:", 5) != 0) return scheme_len(p) ? NULL : p;
  p += 5;
  if (strncmp(p, "//", 2) != 0) return p;
  p += 2;
  if (*p == '/') return p;
  if (strncmp(p, "localhost/", 10) == 0) return p + 9;
  return NULL;
}

/* Absolute, without trailing '/' (except the root itself), malloc'd. */
static floe_status absolute_dir(const char *what, const char *dir, char **out,
                                floe_error *err) {
  if (!dir || !*dir) return ferr_set(err, FLOE_EINVAL, "empty %s", what);
  fbuf b = FBUF_INIT;
  floe_status st = FLOE_OK;
  if (dir[0] != '/') {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
      return ferr_set(err, FLOE_EIO,
                      "%s %s: cannot resolve the current "
                      "directory: %s",
                      what, dir, strerror(errno));
    st = fbuf_printf(&b, err, "%s/", strcmp(cwd, "/") == 0 ? "" : cwd);
  }
  if (st == FLOE_OK) st = fbuf_printf(&b, err, "%s", dir);
  if (st == FLOE_OK) {
    while (b.len > 1 && b.data[b.len - 1] == '/') b.len--;
    st = fbuf_put_u8(&b, 0, err);
  }
  if (st != FLOE_OK) {
    fbuf_free(&b);
    return st;
  }
  *out = (char *)fbuf_take(&b);
  return FLOE_OK;
}

floe_status ice_catalog_table_location(const ice_catalog *c, const char *ns,
                                       const char *name, char **out,
                                       floe_error *err) {
  FLOE_TRY(check_ident(ns, name, err));
  fbuf b = FBUF_INIT;
  const char *w = strcmp(c->warehouse, "/") == 0 ? "" : c->warehouse;
  floe_status st = fbuf_printf(&b, err, "%s/%s/%s", w, ns, name);
  if (st == FLOE_OK) st = fbuf_put_u8(&b, 0, err);
  if (st != FLOE_OK) {
    fbuf_free(&b);
    return st;
  }
  *out = (char *)fbuf_take(&b);
  return FLOE_OK;
}

floe_status ice_catalog_key(const ice_catalog *c, const char *path, char **out,
                            floe_error *err) {
  const char *p = strip_file_scheme(path);
  size_t wl = strlen(c->warehouse);
  if (strcmp(c->warehouse, "/") == 0) wl = 0;
  if (!p || strncmp(p, c->warehouse, wl) != 0 || p[wl] != '/' || !p[wl + 1])
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "metadata location %s is outside the warehouse %s", path,
                    c->warehouse);
  *out = strdup(p + wl + 1);
  if (!*out) return ferr_nomem(err, strlen(p + wl + 1) + 1);
  return FLOE_OK;
}

/* ---- purge ---- */

static floe_status collect_key(void *ctx, const char *key, uint64_t size,
                               floe_error *err) {
  (void)size;
  return ice_names_push(ctx, key, err);
}

/* rmdir of every directory under path that is (or becomes) empty; never
 * unlinks a file. Best effort: a concurrent writer's temp file simply keeps
 * its directory. */
static void remove_empty_dirs(const char *path, int depth) {
  if (depth > 64) return;
  DIR *d = opendir(path);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    char sub[4096];
    if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) >=
        sizeof sub)
      continue;
    struct stat sb;
    if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
      remove_empty_dirs(sub, depth + 1);
  }
  closedir(d);
  rmdir(path);
}

floe_status ice_catalog_purge(ice_catalog *c, const char *dir,
                              floe_error *err) {
  ice_names l = {0, 0, NULL};
  char prefix[1024];
  if ((size_t)snprintf(prefix, sizeof prefix, "%s/", dir) >= sizeof prefix)
    return ferr_set(err, FLOE_EINVAL, "purge: path too long: %s", dir);
  floe_status st = fstore_list(c->store, prefix, collect_key, &l, err);
  for (int i = 0; st == FLOE_OK && i < l.n; i++) {
    st = fstore_del(c->store, l.v[i], err);
    if (st == FLOE_ENOTFOUND) st = FLOE_OK; /* deleted meanwhile */
  }
  ice_names_free(&l);
  if (st != FLOE_OK) return ferr_prefix(err, st, "purge %s", dir);
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/%s", c->warehouse, dir) <
      sizeof path)
    remove_empty_dirs(path, 0);
  return FLOE_OK;
}

/* ---- base ---- */

floe_status ice_catalog_init_base(ice_catalog *c, const ice_catalog_ops *ops,
                                  const char *kind, const char *warehouse,
                                  floe_error *err) {
  c->ops = ops;
  c->kind = kind;
  c->warehouse = NULL;
  c->store = NULL;
  FLOE_TRY(absolute_dir("warehouse", warehouse, &c->warehouse, err));
  floe_status st = fstore_fs_open(c->warehouse, &c->store, err);
  if (st != FLOE_OK) {
    free(c->warehouse);
    c->warehouse = NULL;
    return ferr_prefix(err, st, "warehouse %s", warehouse);
  }
  return FLOE_OK;
}

void ice_catalog_free_base(ice_catalog *c) {
  fstore_free(c->store);
  free(c->warehouse);
}

void ice_catalog_free(ice_catalog *c) {
  if (c) c->ops->free(c);
}

/* ---- opening by URI ---- */

/* "key =" at the start: a libpq conninfo string. */
static bool looks_like_conninfo(const char *s) {
  while (isspace((unsigned char)*s)) s++;
  const char *k = s;
  while (isalnum((unsigned char)*s) || *s == '_') s++;
  if (s == k) return false;
  while (isspace((unsigned char)*s)) s++;
  return *s == '=';
}

/* Length of a URI scheme ("sqlite" in "sqlite:..."), 0 when none. A single
 * letter is not taken as a scheme so "C:" style names stay paths. */
static size_t scheme_len(const char *s) {
  if (!isalpha((unsigned char)s[0])) return 0;
  size_t i = 1;
  while (isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' ||
         s[i] == '.')
    i++;
  return s[i] == ':' && i > 1 ? i : 0;
}

static floe_status open_fs_uri(const char *uri, const char *path,
                               const char *warehouse, ice_catalog **out,
                               floe_error *err) {
  if (!path)
    return ferr_set(err, FLOE_EINVAL,
                    "catalog URI %s: only local file: URIs are supported", uri);
  if (!*path)
    return ferr_set(err, FLOE_EINVAL, "catalog URI %s: empty path", uri);
  char *dir = NULL;
  FLOE_TRY(absolute_dir("catalog directory", path, &dir, err));
  floe_status st = FLOE_OK;
  if (warehouse) {
    const char *w = strip_file_scheme(warehouse);
    char *wdir = NULL;
    st = w ? absolute_dir("warehouse", w, &wdir, err)
           : ferr_set(err, FLOE_EINVAL, "warehouse %s is not local", warehouse);
    if (st == FLOE_OK && strcmp(wdir, dir) != 0)
      st = ferr_set(err, FLOE_EINVAL,
                    "filesystem catalog %s is its own warehouse; "
                    "warehouse %s differs",
                    dir, wdir);
    free(wdir);
  }
  if (st == FLOE_OK) st = ice_catalog_fs_open(dir, out, err);
  free(dir);
  return st;
}

floe_status ice_catalog_open(const char *uri, const char *warehouse,
                             const char *name, ice_catalog **out,
                             floe_error *err) {
  *out = NULL;
  if (!uri || !*uri) return ferr_set(err, FLOE_EINVAL, "empty catalog URI");
  if (name) FLOE_TRY(ice_catalog_check_name("catalog", name, false, err));
  size_t sl = scheme_len(uri);
  bool is_pg = strncmp(uri, "postgresql://", 13) == 0 ||
               strncmp(uri, "postgres://", 11) == 0 ||
               (sl == 0 && looks_like_conninfo(uri));
  bool is_sqlite = sl == 6 && strncmp(uri, "sqlite", 6) == 0;
  if (sl == 0 && !is_pg) return open_fs_uri(uri, uri, warehouse, out, err);
  if (sl == 4 && strncmp(uri, "file", 4) == 0)
    return open_fs_uri(uri, strip_file_scheme(uri), warehouse, out, err);
  if (!is_pg && !is_sqlite)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "catalog URI %s: unsupported scheme '%.*s:' (want a "
                    "directory, file:, sqlite: or postgresql://)",
                    uri, (int)sl, uri);
  if (!warehouse || !*warehouse)
    return ferr_set(err, FLOE_EINVAL,
                    "catalog %s: a SQL catalog needs a warehouse directory",
                    uri);
  const char *w = strip_file_scheme(warehouse);
  if (!w)
    return ferr_set(err, FLOE_EINVAL,
                    "warehouse %s: only local directories "
                    "are supported",
                    warehouse);
  char *wdir = NULL;
  FLOE_TRY(absolute_dir("warehouse", w, &wdir, err));
  floe_status st;
  if (is_pg) {
    st = ice_catalog_pg_open(uri, wdir, name, out, err);
  } else {
    const char *p = uri + 7;
    if (strncmp(p, "//", 2) == 0) {
      p += 2;
      if (*p != '/') {
        free(wdir);
        return ferr_set(err, FLOE_EINVAL,
                        "catalog URI %s: want sqlite:/path/file.db", uri);
      }
    }
    if (!*p) {
      free(wdir);
      return ferr_set(err, FLOE_EINVAL, "catalog URI %s: empty database path",
                      uri);
    }
    st = ice_catalog_sqlite_open(p, wdir, name, out, err);
  }
  free(wdir);
  return st;
}

/* ---- dispatch ---- */

floe_status ice_catalog_create(ice_catalog *c, const char *ns, const char *name,
                               const void *md, size_t n, char **location,
                               floe_error *err) {
  if (location) *location = NULL;
  FLOE_TRY(check_ident(ns, name, err));
  char *loc = NULL;
  floe_status st = c->ops->create(c, ns, name, md, n, &loc, err);
  if (st == FLOE_OK && location)
    *location = loc;
  else
    free(loc);
  return st;
}

floe_status ice_catalog_load(ice_catalog *c, const char *ns, const char *name,
                             ice_catalog_table *out, floe_error *err) {
  out->metadata_location = NULL;
  out->version = -1;
  out->metadata = (fbuf)FBUF_INIT;
  FLOE_TRY(check_ident(ns, name, err));
  floe_status st = c->ops->load(c, ns, name, out, err);
  if (st != FLOE_OK) ice_catalog_table_free(out);
  return st;
}

floe_status ice_catalog_commit(ice_catalog *c, const char *ns, const char *name,
                               const char *expected, const void *md, size_t n,
                               char **location, floe_error *err) {
  if (location) *location = NULL;
  FLOE_TRY(check_ident(ns, name, err));
  if (!expected || !*expected)
    return ferr_set(err, FLOE_EINVAL,
                    "commit %s.%s: no expected metadata location", ns, name);
  char *loc = NULL;
  floe_status st = c->ops->commit(c, ns, name, expected, md, n, &loc, err);
  if (st == FLOE_OK && location)
    *location = loc;
  else
    free(loc);
  return st;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_sort_unique(ice_names *names) {
  if (names->n < 2) return;
  qsort(names->v, (size_t)names->n, sizeof *names->v, cmp_str);
  int w = 1;
  for (int i = 1; i < names->n; i++) {
    if (strcmp(names->v[i], names->v[w - 1]) == 0)
      free(names->v[i]);
    else
      names->v[w++] = names->v[i];
  }
  names->n = w;
}

floe_status ice_catalog_list_tables(ice_catalog *c, const char *ns,
                                    ice_names *out, floe_error *err) {
  out->n = out->cap = 0;
  out->v = NULL;
  FLOE_TRY(ice_catalog_check_name("namespace", ns, true, err));
  floe_status st = c->ops->list_tables(c, ns, out, err);
  if (st != FLOE_OK) {
    ice_names_free(out);
    return st;
  }
  names_sort_unique(out);
  return FLOE_OK;
}

floe_status ice_catalog_list_namespaces(ice_catalog *c, ice_names *out,
                                        floe_error *err) {
  out->n = out->cap = 0;
  out->v = NULL;
  floe_status st = c->ops->list_namespaces(c, out, err);
  if (st != FLOE_OK) {
    ice_names_free(out);
    return st;
  }
  names_sort_unique(out);
  return FLOE_OK;
}

floe_status ice_catalog_drop(ice_catalog *c, const char *ns, const char *name,
                             bool purge, floe_error *err) {
  FLOE_TRY(check_ident(ns, name, err));
  return c->ops->drop(c, ns, name, purge, err);
}

floe_status ice_catalog_rename(ice_catalog *c, const char *ns, const char *name,
                               const char *to_ns, const char *to_name,
                               floe_error *err) {
  FLOE_TRY(check_ident(ns, name, err));
  FLOE_TRY(check_ident(to_ns, to_name, err));
  if (!c->ops->rename)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "%s catalog: cannot rename tables (a table is its "
                    "directory)",
                    c->kind);
  if (strcmp(ns, to_ns) == 0 && strcmp(name, to_name) == 0) return FLOE_OK;
  return c->ops->rename(c, ns, name, to_ns, to_name, err);
}

floe_status ice_names_push(ice_names *names, const char *s, floe_error *err) {
  if (names->n == names->cap) {
    int ncap = names->cap ? names->cap * 2 : 16;
    char **v = realloc(names->v, (size_t)ncap * sizeof *v);
    if (!v) return ferr_nomem(err, (size_t)ncap * sizeof *v);
    names->v = v;
    names->cap = ncap;
  }
  names->v[names->n] = strdup(s);
  if (!names->v[names->n]) return ferr_nomem(err, strlen(s) + 1);
  names->n++;
  return FLOE_OK;
}
