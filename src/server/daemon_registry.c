/* The mirror's registry file, table names, connection strings, logging. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/daemon.h"

#define REG_FORMAT 1
/* A registry is small (names and settings); a bigger file is not ours. */
#define REG_MAX_BYTES (16 << 20)

/* ---- names ---- */

/* One part of a qualified name at *p: "quoted" (with "" inside) or plain up
 * to the next '.'. */
static floe_status name_part(const char **p, char out[64], const char *qname,
                             floe_error *err) {
  const char *s = *p;
  size_t n = 0;
  if (*s == '"') {
    s++;
    for (;;) {
      if (*s == '\0')
        return ferr_set(err, FLOE_EINVAL, "table name '%s': unterminated quote",
                        qname);
      if (*s == '"') {
        if (s[1] != '"') break;
        s++;
      }
      if (n + 1 >= 64)
        return ferr_set(err, FLOE_EINVAL,
                        "table name '%s': a part is longer than 63 bytes",
                        qname);
      out[n++] = *s++;
    }
    s++; /* closing quote */
  } else {
    while (*s && *s != '.') {
      if (*s == '"')
        return ferr_set(err, FLOE_EINVAL,
                        "table name '%s': a quote inside an unquoted part "
                        "(quote the whole part: \"a\"\"b\")",
                        qname);
      if (n + 1 >= 64)
        return ferr_set(err, FLOE_EINVAL,
                        "table name '%s': a part is longer than 63 bytes",
                        qname);
      out[n++] = *s++;
    }
  }
  out[n] = '\0';
  if (n == 0)
    return ferr_set(err, FLOE_EINVAL, "table name '%s': an empty part", qname);
  *p = s;
  return FLOE_OK;
}

floe_status dmn_table_name_parse(const char *qname, char schema[64],
                                 char table[64], floe_error *err) {
  const char *p = qname;
  FLOE_TRY(name_part(&p, schema, qname, err));
  if (*p != '.')
    return ferr_set(err, FLOE_EINVAL,
                    "table name '%s': want schema.table (e.g. public.orders)",
                    qname);
  p++;
  FLOE_TRY(name_part(&p, table, qname, err));
  if (*p != '\0')
    return ferr_set(err, FLOE_EINVAL,
                    "table name '%s': want schema.table (a '.' inside a name "
                    "needs \"quotes\")",
                    qname);
  return FLOE_OK;
}

static char *put_part(char *o, const char *s) {
  bool quote = strpbrk(s, ".\"") != NULL;
  if (quote) *o++ = '"';
  for (; *s; s++) {
    if (*s == '"') *o++ = '"';
    *o++ = *s;
  }
  if (quote) *o++ = '"';
  return o;
}

char *dmn_table_qname(const char *schema, const char *table, char *out) {
  /* 63 bytes per part, each doubled at worst, plus quotes and the dot */
  char *o = put_part(out, schema);
  *o++ = '.';
  o = put_part(o, table);
  *o = '\0';
  return out;
}

/* ---- connection strings ---- */

/* Appends value in conninfo quoting: 'text' with \' and \\ escaped. */
static floe_status put_conn_value(fbuf *b, const char *v, floe_error *err) {
  FLOE_TRY(fbuf_put_u8(b, '\'', err));
  for (; *v; v++) {
    if (*v == '\'' || *v == '\\') FLOE_TRY(fbuf_put_u8(b, '\\', err));
    FLOE_TRY(fbuf_put_u8(b, (uint8_t)*v, err));
  }
  return fbuf_put_u8(b, '\'', err);
}

floe_status dmn_conninfo_strip(const char *conninfo, char **out,
                               bool *had_password, floe_error *err) {
  *out = NULL;
  *had_password = false;
  char *perr = NULL;
  PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
  if (!opts) {
    /* libpq's message may quote the string: never pass it on */
    if (perr) PQfreemem(perr);
    return ferr_set(err, FLOE_EINVAL,
                    "the source connection string does not parse (libpq "
                    "key=value or postgresql:// URI)");
  }
  fbuf b = FBUF_INIT;
  floe_status st = FLOE_OK;
  for (PQconninfoOption *o = opts; o->keyword && st == FLOE_OK; o++) {
    if (!o->val || !o->val[0]) continue;
    if (strcmp(o->keyword, "password") == 0) {
      *had_password = true;
      continue;
    }
    if (b.len) st = fbuf_put_u8(&b, ' ', err);
    if (st == FLOE_OK) st = fbuf_printf(&b, err, "%s=", o->keyword);
    if (st == FLOE_OK) st = put_conn_value(&b, o->val, err);
  }
  PQconninfoFree(opts);
  if (st == FLOE_OK) st = fbuf_put_u8(&b, 0, err);
  if (st != FLOE_OK) {
    fbuf_free(&b);
    return st;
  }
  *out = (char *)fbuf_take(&b);
  return FLOE_OK;
}

/* ---- registry ---- */

floe_status dmn_registry_path(const char *warehouse, const char *name,
                              char **out, floe_error *err) {
  size_t n = strlen(warehouse) + strlen(name) + 32;
  char *p = malloc(n);
  if (!p) return ferr_nomem(err, n);
  snprintf(p, n, "%s/.floe/mirror-%s.json", warehouse, name);
  *out = p;
  return FLOE_OK;
}

static void strs_free(char **v, int n) {
  for (int i = 0; i < n; i++) free(v[i]);
  free(v);
}

static void reg_table_free(dmn_reg_table *t) {
  free(t->name);
  free(t->state);
  strs_free(t->keys, t->nopt);
  strs_free(t->values, t->nopt);
  memset(t, 0, sizeof *t);
}

void dmn_registry_free(dmn_registry *r) {
  if (!r) return;
  free(r->path);
  free(r->name);
  free(r->source);
  free(r->catalog);
  strs_free(r->knob_keys, r->nknob);
  strs_free(r->knob_values, r->nknob);
  for (int i = 0; i < r->ntables; i++) reg_table_free(&r->tables[i]);
  free(r->tables);
  memset(r, 0, sizeof *r);
}

int dmn_registry_find(const dmn_registry *r, const char *qname) {
  for (int i = 0; i < r->ntables; i++)
    if (strcmp(r->tables[i].name, qname) == 0) return i;
  return -1;
}

static char *xstrdup(const char *s, floe_error *err) {
  char *d = strdup(s);
  if (!d) ferr_nomem(err, strlen(s) + 1);
  return d;
}

static floe_status grow_tables(dmn_registry *r, floe_error *err) {
  if (r->ntables < r->cap) return FLOE_OK;
  int cap = r->cap ? r->cap * 2 : 8;
  dmn_reg_table *t = realloc(r->tables, (size_t)cap * sizeof *t);
  if (!t) return ferr_nomem(err, (size_t)cap * sizeof *t);
  r->tables = t;
  r->cap = cap;
  return FLOE_OK;
}

static floe_status set_state_str(char **slot, const char *state,
                                 floe_error *err) {
  char *s = xstrdup(state, err);
  if (!s) return FLOE_ENOMEM;
  free(*slot);
  *slot = s;
  return FLOE_OK;
}

floe_status dmn_registry_add(dmn_registry *r, const char *qname,
                             const rpc_option *opts, int nopt, int64_t now_ms,
                             floe_error *err) {
  FLOE_TRY(grow_tables(r, err));
  dmn_reg_table t = {0};
  t.added_ms = now_ms;
  t.name = xstrdup(qname, err);
  t.state = xstrdup("active", err);
  if (nopt > 0) {
    t.keys = calloc((size_t)nopt, sizeof *t.keys);
    t.values = calloc((size_t)nopt, sizeof *t.values);
  }
  if (!t.name || !t.state || (nopt > 0 && (!t.keys || !t.values))) {
    t.nopt = nopt;
    reg_table_free(&t);
    return ferr_nomem(err, 64);
  }
  t.nopt = nopt;
  for (int i = 0; i < nopt; i++) {
    t.keys[i] = xstrdup(opts[i].key, err);
    t.values[i] = xstrdup(opts[i].value, err);
    if (!t.keys[i] || !t.values[i]) {
      reg_table_free(&t);
      return FLOE_ENOMEM;
    }
  }
  r->tables[r->ntables++] = t;
  return FLOE_OK;
}

void dmn_registry_remove(dmn_registry *r, int i) {
  if (i < 0 || i >= r->ntables) return;
  reg_table_free(&r->tables[i]);
  memmove(&r->tables[i], &r->tables[i + 1],
          (size_t)(r->ntables - i - 1) * sizeof *r->tables);
  r->ntables--;
}

floe_status dmn_registry_set_state(dmn_registry *r, int i, const char *state,
                                   floe_error *err) {
  return set_state_str(&r->tables[i].state, state, err);
}

/* Reads an object of string values into keys/values. */
static floe_status read_kv(json_t *obj, const char *what, const char *path,
                           char ***keys, char ***values, int *n,
                           floe_error *err) {
  *keys = *values = NULL;
  *n = 0;
  if (!obj) return FLOE_OK;
  if (!json_is_object(obj))
    return ferr_corrupt(err, "registry %s: %s is not an object", path, what);
  size_t cnt = json_object_size(obj);
  if (cnt == 0) return FLOE_OK;
  char **k = calloc(cnt, sizeof *k), **v = calloc(cnt, sizeof *v);
  if (!k || !v) {
    free(k);
    free(v);
    return ferr_nomem(err, cnt * sizeof *k);
  }
  const char *key;
  json_t *val;
  int i = 0;
  floe_status st = FLOE_OK;
  json_object_foreach(obj, key, val) {
    if (!json_is_string(val)) {
      st = ferr_corrupt(err, "registry %s: %s.%s is not a string", path, what,
                        key);
      break;
    }
    k[i] = strdup(key);
    v[i] = strdup(json_string_value(val));
    i++;
    if (!k[i - 1] || !v[i - 1]) {
      st = ferr_nomem(err, 64);
      break;
    }
  }
  if (st != FLOE_OK) {
    strs_free(k, i);
    strs_free(v, i);
    return st;
  }
  *keys = k;
  *values = v;
  *n = i;
  return FLOE_OK;
}

static floe_status opt_str(json_t *root, const char *key, const char *path,
                           bool required, char **out, floe_error *err) {
  *out = NULL;
  json_t *v = json_object_get(root, key);
  if (!v || json_is_null(v)) {
    if (required)
      return ferr_corrupt(err, "registry %s: '%s' is missing", path, key);
    return FLOE_OK;
  }
  if (!json_is_string(v))
    return ferr_corrupt(err, "registry %s: '%s' is not a string", path, key);
  *out = xstrdup(json_string_value(v), err);
  return *out ? FLOE_OK : FLOE_ENOMEM;
}

static floe_status parse_registry(json_t *root, const char *path,
                                  dmn_registry *r, floe_error *err) {
  if (!json_is_object(root))
    return ferr_corrupt(err, "registry %s: not a JSON object", path);
  json_t *fmt = json_object_get(root, "format");
  if (!json_is_integer(fmt))
    return ferr_corrupt(err, "registry %s: 'format' is missing", path);
  if (json_integer_value(fmt) != REG_FORMAT)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "registry %s: format %lld, this floe reads format %d "
                    "(a newer floe wrote it?)",
                    path, (long long)json_integer_value(fmt), REG_FORMAT);
  FLOE_TRY(opt_str(root, "name", path, true, &r->name, err));
  FLOE_TRY(opt_str(root, "source", path, false, &r->source, err));
  FLOE_TRY(opt_str(root, "catalog", path, false, &r->catalog, err));
  FLOE_TRY(read_kv(json_object_get(root, "settings"), "settings", path,
                   &r->knob_keys, &r->knob_values, &r->nknob, err));
  json_t *tabs = json_object_get(root, "tables");
  if (!json_is_array(tabs))
    return ferr_corrupt(err, "registry %s: 'tables' is not an array", path);
  size_t i;
  json_t *t;
  json_array_foreach(tabs, i, t) {
    FLOE_TRY(grow_tables(r, err));
    dmn_reg_table *rt = &r->tables[r->ntables];
    memset(rt, 0, sizeof *rt);
    r->ntables++;
    if (!json_is_object(t))
      return ferr_corrupt(err, "registry %s: tables[%zu] is not an object",
                          path, i);
    FLOE_TRY(opt_str(t, "name", path, true, &rt->name, err));
    FLOE_TRY(opt_str(t, "state", path, false, &rt->state, err));
    if (!rt->state) FLOE_TRY(set_state_str(&rt->state, "active", err));
    if (strcmp(rt->state, "active") != 0 && strcmp(rt->state, "dropping") != 0)
      return ferr_corrupt(err, "registry %s: table %s: unknown state '%s'",
                          path, rt->name, rt->state);
    json_t *added = json_object_get(t, "added_ms");
    rt->added_ms = json_is_integer(added) ? json_integer_value(added) : 0;
    FLOE_TRY(read_kv(json_object_get(t, "settings"), "settings", path,
                     &rt->keys, &rt->values, &rt->nopt, err));
    char s[64], tb[64];
    floe_error e2;
    if (dmn_table_name_parse(rt->name, s, tb, &e2) != FLOE_OK)
      return ferr_corrupt(err, "registry %s: %s", path, e2.msg);
    for (int k = 0; k < (int)i; k++)
      if (strcmp(r->tables[k].name, rt->name) == 0)
        return ferr_corrupt(err, "registry %s: table %s listed twice", path,
                            rt->name);
  }
  return FLOE_OK;
}

floe_status dmn_registry_load(const char *path, dmn_registry *r, bool *found,
                              floe_error *err) {
  memset(r, 0, sizeof *r);
  *found = false;
  r->path = xstrdup(path, err);
  if (!r->path) return FLOE_ENOMEM;
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errno == ENOENT) return FLOE_OK;
    return ferr_set(err, FLOE_EIO, "registry %s: %s", path, strerror(errno));
  }
  fbuf b = FBUF_INIT;
  floe_status st = FLOE_OK;
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (b.len + n > REG_MAX_BYTES) {
      st = ferr_corrupt(err, "registry %s: larger than %d bytes", path,
                        REG_MAX_BYTES);
      break;
    }
    if ((st = fbuf_append(&b, chunk, n, err)) != FLOE_OK) break;
  }
  if (st == FLOE_OK && ferror(f))
    st = ferr_set(err, FLOE_EIO, "registry %s: read failed", path);
  fclose(f);
  if (st != FLOE_OK) {
    fbuf_free(&b);
    return st;
  }
  json_error_t je;
  json_t *root =
      json_loadb((const char *)b.data, b.len, JSON_REJECT_DUPLICATES, &je);
  fbuf_free(&b);
  if (!root)
    return ferr_corrupt(err, "registry %s: line %d: %s", path, je.line,
                        je.text);
  st = parse_registry(root, path, r, err);
  json_decref(root);
  if (st != FLOE_OK) {
    char *p = r->path;
    r->path = NULL;
    dmn_registry_free(r);
    r->path = p;
    return st;
  }
  *found = true;
  return FLOE_OK;
}

static int set_kv(json_t *obj, char **k, char **v, int n) {
  for (int i = 0; i < n; i++)
    if (json_object_set_new(obj, k[i], json_string(v[i])) != 0) return -1;
  return 0;
}

static json_t *registry_json(const dmn_registry *r) {
  json_t *root = json_object(), *tabs = json_array(), *knobs = json_object();
  if (!root || !tabs || !knobs) goto fail;
  if (json_object_set_new(root, "format", json_integer(REG_FORMAT)) ||
      json_object_set_new(root, "name", json_string(r->name)) ||
      json_object_set_new(root, "source",
                          r->source ? json_string(r->source) : json_null()) ||
      json_object_set_new(root, "catalog",
                          json_string(r->catalog ? r->catalog : "fs")) ||
      set_kv(knobs, r->knob_keys, r->knob_values, r->nknob) ||
      json_object_set(root, "settings", knobs))
    goto fail;
  for (int i = 0; i < r->ntables; i++) {
    const dmn_reg_table *t = &r->tables[i];
    json_t *o = json_object(), *s = json_object();
    if (!o || !s || json_object_set_new(o, "name", json_string(t->name)) ||
        json_object_set_new(o, "state", json_string(t->state)) ||
        json_object_set_new(o, "added_ms", json_integer(t->added_ms)) ||
        set_kv(s, t->keys, t->values, t->nopt) ||
        json_object_set_new(o, "settings", s) ||
        json_array_append_new(tabs, o)) {
      json_decref(o);
      goto fail;
    }
  }
  if (json_object_set(root, "tables", tabs)) goto fail;
  json_decref(tabs);
  json_decref(knobs);
  return root;
fail:
  json_decref(root);
  json_decref(tabs);
  json_decref(knobs);
  return NULL;
}

static floe_status mkdir_parent(const char *path, floe_error *err) {
  char dir[4096];
  size_t n = strlen(path);
  if (n >= sizeof dir)
    return ferr_set(err, FLOE_EINVAL, "registry path too long: %s", path);
  memcpy(dir, path, n + 1);
  char *slash = strrchr(dir, '/');
  if (!slash) return FLOE_OK;
  *slash = '\0';
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
      return ferr_set(err, FLOE_EIO, "mkdir %s: %s", dir, strerror(errno));
    *p = '/';
  }
  if (mkdir(dir, 0755) != 0 && errno != EEXIST)
    return ferr_set(err, FLOE_EIO, "mkdir %s: %s", dir, strerror(errno));
  return FLOE_OK;
}

floe_status dmn_registry_save(const dmn_registry *r, floe_error *err) {
  FLOE_TRY(mkdir_parent(r->path, err));
  json_t *root = registry_json(r);
  if (!root) return ferr_nomem(err, 4096);
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (!text) return ferr_nomem(err, 4096);
  size_t plen = strlen(r->path);
  char *tmp = malloc(plen + 16);
  if (!tmp) {
    free(text);
    return ferr_nomem(err, plen + 16);
  }
  snprintf(tmp, plen + 16, "%s.tmp", r->path);
  floe_status st = FLOE_OK;
  /* 0600: the registry names the source's host, database and user */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    st = ferr_set(err, FLOE_EIO, "registry %s: %s", tmp, strerror(errno));
  } else {
    size_t len = strlen(text), off = 0;
    while (off < len && st == FLOE_OK) {
      ssize_t w = write(fd, text + off, len - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0)
        st = ferr_set(err, FLOE_EIO, "registry %s: write: %s", tmp,
                      strerror(errno));
      else
        off += (size_t)w;
    }
    if (st == FLOE_OK && (write(fd, "\n", 1) != 1 || fsync(fd) != 0))
      st = ferr_set(err, FLOE_EIO, "registry %s: %s", tmp, strerror(errno));
    close(fd);
    if (st == FLOE_OK && rename(tmp, r->path) != 0)
      st = ferr_set(err, FLOE_EIO, "registry %s: rename: %s", r->path,
                    strerror(errno));
    if (st != FLOE_OK) unlink(tmp);
  }
  if (st == FLOE_OK) {
    /* the rename is durable only once the directory is */
    char *slash = strrchr(tmp, '/');
    if (slash) {
      *slash = '\0';
      int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
      }
    }
  }
  free(tmp);
  free(text);
  return st;
}

/* ---- logging ---- */

static void json_escape(fbuf *b, const char *s) {
  floe_error e;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"': fbuf_append(b, "\\\"", 2, &e); break;
    case '\\': fbuf_append(b, "\\\\", 2, &e); break;
    case '\n': fbuf_append(b, "\\n", 2, &e); break;
    case '\r': fbuf_append(b, "\\r", 2, &e); break;
    case '\t': fbuf_append(b, "\\t", 2, &e); break;
    default:
      if (*p < 0x20)
        fbuf_printf(b, &e, "\\u%04x", *p);
      else
        fbuf_put_u8(b, *p, &e);
    }
  }
}

void dmn_log_sink(void *ctx, flog_level level, const char *msg) {
  static const char *names[] = {"debug", "info", "warn", "error", "off"};
  const dmn_log *lg = ctx;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char when[64];
  snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, (int)(ts.tv_nsec / 1000000) % 1000);
  const char *lv = names[level <= FLOG_OFF ? level : FLOG_ERROR];
  fbuf b = FBUF_INIT;
  floe_error e;
  if (lg && lg->json) {
    fbuf_printf(&b, &e, "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"", when, lv);
    json_escape(&b, msg);
    fbuf_append(&b, "\"}\n", 3, &e);
  } else {
    fbuf_printf(&b, &e, "%s %-5s %s\n", when, lv, msg);
  }
  /* one write per line: lines of different threads never interleave */
  if (b.len) {
    size_t off = 0;
    while (off < b.len) {
      ssize_t w = write(STDERR_FILENO, b.data + off, b.len - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) break;
      off += (size_t)w;
    }
  }
  fbuf_free(&b);
}
