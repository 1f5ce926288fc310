/* The daemon's config file and settings (see config.h, docs/config.md). */
#include "server/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/rpc.h"
#include "util/log.h"

#define CFG_MAX_FILE (1u << 20)
#define KEY_MAX 64

typedef enum {
  K_STR,      /* free text, not empty */
  K_OPT_STR,  /* free text; "" = unset */
  K_PATH,     /* a socket path: fits sun_path */
  K_TABLE,    /* repeatable */
  K_CATALOG,  /* fs | sqlite:PATH | postgres:CONNINFO */
  K_NAME,     /* [a-z0-9_]{1,48} */
  K_METRICS,  /* ADDR:PORT or "" / "off" */
  K_MODE,     /* octal permission bits */
  K_LOGFMT,   /* text | json */
  K_LOGLEVEL, /* debug | info | warn | error */
  K_INT,      /* decimal integer */
  K_SIZE,     /* bytes with binary suffixes */
  K_MS,       /* milliseconds with ms/s/m/min/h */
  K_FRACTION, /* a double in (0, 1] */
} kkind;

typedef struct key {
  const char *name;
  kkind kind;
  bool engine; /* offset into floe_table_config, else into cfg_daemon */
  size_t off;
  uint8_t width; /* integer fields: 4 or 8 bytes */
  int64_t min, max;
  const char *def; /* the default, as docs/config.md states it */
} key;

#define D(f) offsetof(cfg_daemon, f)
#define E(f) offsetof(floe_table_config, f)
#define BIG INT64_MAX
static const key keys[] = {
    {"source", K_STR, false, D(source), 0, 0, 0, ""},
    {"table", K_TABLE, false, 0, 0, 0, 0, ""},
    {"warehouse", K_STR, false, D(warehouse), 0, 0, 0, ""},
    {"catalog", K_CATALOG, false, D(catalog), 0, 0, 0, "fs"},
    {"name", K_NAME, false, D(name), 0, 0, 0, "floe"},
    {"socket", K_PATH, false, D(socket), 0, 0, 0, ""},
    {"socket-mode", K_MODE, false, D(socket_mode), 0, 0, 0, "0600"},
    {"socket-group", K_OPT_STR, false, D(socket_group), 0, 0, 0, ""},
    {"metrics", K_METRICS, false, D(metrics), 0, 0, 0, ""},
    {"memory-limit", K_SIZE, false, D(memory_limit), 8, 16 << 20, BIG,
     "512MiB"},
    {"log-format", K_LOGFMT, false, D(log_format), 0, 0, 0, "text"},
    {"log-level", K_LOGLEVEL, false, D(log_level), 0, 0, 0, "info"},
    {"lease-ttl-ms", K_MS, false, D(lease_ttl_ms), 8, 1000, 86400000, "60s"},
    {"io-timeout-ms", K_MS, false, D(io_timeout_ms), 8, 100, 3600000, "30s"},
    {"max-clients", K_INT, false, D(max_clients), 4, 1, 65536, "64"},
    /* engine knobs: floe_table_config (floe.h states the defaults) */
    {"batch-rows", K_INT, true, E(batch_rows), 4, 1, 1 << 24, "4096"},
    {"flush-rows", K_INT, true, E(flush_rows), 8, 1, BIG, "1000000"},
    {"flush-bytes", K_SIZE, true, E(flush_bytes), 8, 1 << 20, BIG, "64MiB"},
    {"flush-age-ms", K_MS, true, E(flush_age_ms), 8, 0, BIG, "0"},
    {"commit-interval-ms", K_MS, true, E(commit_interval_ms), 8, 1, BIG, "1s"},
    {"table-memory-limit", K_SIZE, true, E(memory_limit), 8, 1 << 20, BIG,
     "256MiB"},
    {"txn-spill-bytes", K_SIZE, true, E(txn_spill_bytes), 8, 64 << 10, BIG,
     "16MiB"},
    {"keep-snapshots", K_INT, true, E(keep_snapshots), 4, 1, 1000000, "100"},
    {"snapshot-max-age-ms", K_MS, true, E(snapshot_max_age_ms), 8, 0, BIG,
     "1h"},
    {"orphan-age-ms", K_MS, true, E(orphan_age_ms), 8, 60000, BIG, "1h"},
    {"housekeeping-interval-ms", K_MS, true, E(housekeeping_interval_ms), 8, 0,
     BIG, "10min"},
    {"target-file-bytes", K_SIZE, true, E(target_file_bytes), 8, 1 << 20, BIG,
     "128MiB"},
    {"compact-min-files", K_INT, true, E(compact_min_files), 4, 2, 1000000,
     "8"},
    {"compact-delete-fraction", K_FRACTION, true, E(compact_delete_fraction), 0,
     0, 0, "0.2"},
    {"compact-interval-ms", K_MS, true, E(compact_interval_ms), 8, 0, BIG,
     "10s"},
    {"state-dir", K_STR, true, E(state_dir), 0, 0, 0, ""},
};
#undef D
#undef E
#define NKEYS ((int)(sizeof keys / sizeof keys[0]))
_Static_assert(sizeof keys / sizeof keys[0] <= 64, "line_of and set bits");

const char *cfg_key_name(int i) {
  return i >= 0 && i < NKEYS ? keys[i].name : NULL;
}
const char *cfg_key_default(int i) {
  return i >= 0 && i < NKEYS ? keys[i].def : NULL;
}
int cfg_key_is_engine(int i) { return i >= 0 && i < NKEYS && keys[i].engine; }

void cfg_init(cfg_daemon *c) {
  memset(c, 0, sizeof *c);
  c->catalog = "fs";
  c->name = "floe";
  c->socket_mode = 0600;
  c->memory_limit = 512ll << 20;
  c->log_format = CFG_LOG_TEXT;
  c->log_level = FLOG_INFO;
  c->lease_ttl_ms = 60000;
  c->io_timeout_ms = 30000;
  c->max_clients = 64;
  farena_init(&c->arena, 4096, 0);
}

void cfg_free(cfg_daemon *c) {
  free(c->tables);
  farena_free(&c->arena);
  memset(c, 0, sizeof *c);
}

/* ---- values ---- */

static floe_status parse_i64(const char *s, const char **end, int64_t *out,
                             floe_error *err) {
  const char *p = s;
  bool neg = *p == '-';
  if (neg) p++;
  if (*p < '0' || *p > '9')
    return ferr_set(err, FLOE_EINVAL, "'%s' is not a number", s);
  uint64_t v = 0;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (v > (UINT64_MAX - 9) / 10)
      return ferr_set(err, FLOE_ERANGE, "'%s' is too large", s);
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (v > (uint64_t)INT64_MAX)
    return ferr_set(err, FLOE_ERANGE, "'%s' is too large", s);
  *out = neg ? -(int64_t)v : (int64_t)v;
  *end = p;
  return FLOE_OK;
}

static bool ieq(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = *a, y = *b;
    if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
    if (x != y) return false;
  }
  return *a == *b;
}

static floe_status scaled(const char *s, int64_t v, int64_t mul, int64_t *out,
                          floe_error *err) {
  if (v < 0) return ferr_set(err, FLOE_EINVAL, "'%s' is negative", s);
  if (mul > 1 && v > INT64_MAX / mul)
    return ferr_set(err, FLOE_ERANGE, "'%s' is too large", s);
  *out = v * mul;
  return FLOE_OK;
}

floe_status cfg_parse_size(const char *s, int64_t *out, floe_error *err) {
  const char *u;
  int64_t v;
  FLOE_TRY(parse_i64(s, &u, &v, err));
  while (*u == ' ') u++;
  static const struct {
    const char *unit;
    int shift;
  } units[] = {{"", 0},     {"b", 0},   {"k", 10},   {"kb", 10}, {"kib", 10},
               {"m", 20},   {"mb", 20}, {"mib", 20}, {"g", 30},  {"gb", 30},
               {"gib", 30}, {"t", 40},  {"tb", 40},  {"tib", 40}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (ieq(u, units[i].unit))
      return scaled(s, v, (int64_t)1 << units[i].shift, out, err);
  return ferr_set(err, FLOE_EINVAL,
                  "'%s': unknown size unit '%s' (use bytes or K, M, G, T, "
                  "KiB, MiB, GiB, TiB)",
                  s, u);
}

floe_status cfg_parse_ms(const char *s, int64_t *out, floe_error *err) {
  const char *u;
  int64_t v;
  FLOE_TRY(parse_i64(s, &u, &v, err));
  while (*u == ' ') u++;
  static const struct {
    const char *unit;
    int64_t ms;
  } units[] = {{"", 1},      {"ms", 1},      {"s", 1000},
               {"m", 60000}, {"min", 60000}, {"h", 3600000}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(u, units[i].unit) == 0)
      return scaled(s, v, units[i].ms, out, err);
  return ferr_set(err, FLOE_EINVAL,
                  "'%s': unknown duration unit '%s' (use ms, s, m, min, h)", s,
                  u);
}

static floe_status check_text(const char *k, const char *v, floe_error *err) {
  if (!rpc_utf8_valid((const uint8_t *)v, strlen(v)))
    return ferr_set(err, FLOE_EINVAL, "%s: not UTF-8 text", k);
  for (const char *p = v; *p; p++)
    if ((unsigned char)*p < 0x20 && *p != '\t')
      return ferr_set(err, FLOE_EINVAL, "%s: control character in value", k);
  return FLOE_OK;
}

static floe_status check_metrics(const char *v, floe_error *err) {
  const char *colon = strrchr(v, ':');
  if (!colon || !colon[1] ||
      strspn(colon + 1, "0123456789") != strlen(colon + 1) ||
      strlen(colon + 1) > 5 || atoi(colon + 1) > 65535 ||
      (v[0] == '[' && (colon == v || colon[-1] != ']')))
    return ferr_set(err, FLOE_EINVAL,
                    "metrics: '%s' is not ADDR:PORT (e.g. 127.0.0.1:9187, "
                    "[::1]:9187, :9187; \"off\" to disable)",
                    v);
  return FLOE_OK;
}

static floe_status check_catalog(const char *v, floe_error *err) {
  if (strcmp(v, "fs") == 0) return FLOE_OK;
  if (strncmp(v, "sqlite:", 7) == 0 && v[7]) return FLOE_OK;
  if (strncmp(v, "postgres:", 9) == 0 && v[9]) return FLOE_OK;
  return ferr_set(err, FLOE_EINVAL,
                  "catalog: '%s' is not fs, sqlite:PATH or "
                  "postgres:CONNINFO",
                  v);
}

static floe_status check_name(const char *v, floe_error *err) {
  size_t n = strlen(v);
  /* it names the replication slot and publication: Postgres allows
   * lower-case letters, digits and '_' in slot names */
  if (n == 0 || n > 48 ||
      strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789_") != n)
    return ferr_set(err, FLOE_EINVAL,
                    "name: '%s' must be 1..48 of a-z, 0-9 and _ (it names "
                    "the replication slot)",
                    v);
  return FLOE_OK;
}

static void store_int(void *base, const key *k, int64_t v) {
  char *p = (char *)base + k->off;
  if (k->width == 4) {
    int32_t x = (int32_t)v;
    memcpy(p, &x, 4);
  } else {
    memcpy(p, &v, 8);
  }
}

/* Parses an integer-like value of key k and checks its range. */
static floe_status number(const key *k, const char *v, int64_t *out,
                          floe_error *err) {
  floe_status st;
  const char *end;
  if (k->kind == K_SIZE)
    st = cfg_parse_size(v, out, err);
  else if (k->kind == K_MS)
    st = cfg_parse_ms(v, out, err);
  else if ((st = parse_i64(v, &end, out, err)) == FLOE_OK && *end)
    st = ferr_set(err, FLOE_EINVAL, "'%s' is not an integer", v);
  if (st != FLOE_OK) return ferr_prefix(err, st, "%s", k->name);
  if (*out < k->min || *out > k->max)
    return ferr_set(err, FLOE_ERANGE, "%s: %s is outside %lld..%lld%s", k->name,
                    v, (long long)k->min, (long long)k->max,
                    k->kind == K_MS     ? " ms"
                    : k->kind == K_SIZE ? " bytes"
                                        : "");
  return FLOE_OK;
}

static const key *find_key(const char *name, int *idx) {
  char k[KEY_MAX];
  size_t n = strlen(name);
  if (n >= sizeof k) return NULL;
  for (size_t i = 0; i <= n; i++) k[i] = name[i] == '_' ? '-' : name[i];
  for (int i = 0; i < NKEYS; i++)
    if (strcmp(keys[i].name, k) == 0) {
      if (idx) *idx = i;
      return &keys[i];
    }
  return NULL;
}

/* Engine knob k into e; strings are duplicated into arena a. */
static floe_status engine_set(cfg_engine *e, int ki, const char *v, farena *a,
                              floe_error *err) {
  const key *k = &keys[ki];
  FLOE_TRY(check_text(k->name, v, err));
  if (k->kind == K_FRACTION) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno || !(d > 0.0 && d <= 1.0))
      return ferr_set(err, FLOE_EINVAL, "%s: '%s' is not a number in (0, 1]",
                      k->name, v);
    memcpy((char *)&e->v + k->off, &d, sizeof d);
  } else if (k->kind == K_STR) {
    if (!*v) return ferr_set(err, FLOE_EINVAL, "%s: empty value", k->name);
    char *s = farena_strdup(a, v, err);
    if (!s) return FLOE_ENOMEM;
    memcpy((char *)&e->v + k->off, &s, sizeof s);
  } else {
    int64_t n;
    FLOE_TRY(number(k, v, &n, err));
    store_int(&e->v, k, n);
  }
  e->set |= 1u << ki;
  return FLOE_OK;
}

floe_status cfg_engine_set(cfg_engine *e, const char *name, const char *value,
                           floe_error *err) {
  int ki;
  const key *k = find_key(name, &ki);
  if (!k || !k->engine)
    return ferr_set(err, FLOE_ENOTFOUND,
                    "'%s' is not an engine setting "
                    "(see docs/config.md)",
                    name);
  /* strings of a bare cfg_engine have no arena: only state-dir is one,
   * and ADD_TABLE options arrive with their own storage */
  if (k->kind == K_STR) {
    FLOE_TRY(check_text(k->name, value, err));
    if (!*value) return ferr_set(err, FLOE_EINVAL, "%s: empty value", k->name);
    memcpy((char *)&e->v + k->off, &value, sizeof value);
    e->set |= 1u << ki;
    return FLOE_OK;
  }
  return engine_set(e, ki, value, NULL, err);
}

void cfg_engine_apply(const cfg_engine *e, floe_table_config *out) {
  for (int i = 0; i < NKEYS; i++) {
    if (!keys[i].engine || !(e->set & (1u << i))) continue;
    size_t w = keys[i].width ? keys[i].width : 8;
    if (keys[i].kind == K_STR) w = sizeof(const char *);
    memcpy((char *)out + keys[i].off, (const char *)&e->v + keys[i].off, w);
  }
}

static floe_status add_table(cfg_daemon *c, const char *v, floe_error *err) {
  if (!*v) return ferr_set(err, FLOE_EINVAL, "table: empty value");
  if (strlen(v) > 255)
    return ferr_set(err, FLOE_EINVAL, "table: name longer than 255 bytes");
  for (int i = 0; i < c->ntables; i++)
    if (strcmp(c->tables[i], v) == 0)
      return ferr_set(err, FLOE_EINVAL, "table %s is listed twice", v);
  if (c->ntables == c->table_cap) {
    int cap = c->table_cap ? c->table_cap * 2 : 8;
    const char **t = realloc(c->tables, (size_t)cap * sizeof *t);
    if (!t) return ferr_nomem(err, (size_t)cap * sizeof *t);
    c->tables = t;
    c->table_cap = cap;
  }
  char *s = farena_strdup(&c->arena, v, err);
  if (!s) return FLOE_ENOMEM;
  c->tables[c->ntables++] = s;
  return FLOE_OK;
}

static floe_status set_key(cfg_daemon *c, int ki, const char *v,
                           floe_error *err) {
  const key *k = &keys[ki];
  if (k->engine) return engine_set(&c->engine, ki, v, &c->arena, err);
  FLOE_TRY(check_text(k->name, v, err));
  char *field = (char *)c + k->off;
  const char *str = NULL;
  switch (k->kind) {
  case K_TABLE: return add_table(c, v, err);
  case K_STR:
    if (!*v) return ferr_set(err, FLOE_EINVAL, "%s: empty value", k->name);
    str = v;
    break;
  case K_OPT_STR: str = *v ? v : NULL; break;
  case K_PATH: {
    struct sockaddr_un a;
    if (!*v) return ferr_set(err, FLOE_EINVAL, "%s: empty value", k->name);
    if (strlen(v) >= sizeof a.sun_path)
      return ferr_set(err, FLOE_EINVAL,
                      "%s: %zu bytes; a unix socket path has at most %zu",
                      k->name, strlen(v), sizeof a.sun_path - 1);
    str = v;
    break;
  }
  case K_CATALOG:
    FLOE_TRY(check_catalog(v, err));
    str = v;
    break;
  case K_NAME:
    FLOE_TRY(check_name(v, err));
    str = v;
    break;
  case K_METRICS:
    if (*v && strcmp(v, "off") != 0) {
      FLOE_TRY(check_metrics(v, err));
      str = v;
    }
    break;
  case K_MODE: {
    size_t n = strlen(v);
    unsigned m = 0;
    if (n < 3 || n > 4 || strspn(v, "01234567") != n)
      return ferr_set(err, FLOE_EINVAL,
                      "%s: '%s' is not an octal mode like 0600", k->name, v);
    for (size_t i = 0; i < n; i++) m = m * 8 + (unsigned)(v[i] - '0');
    if (m > 0777 || (m & 0600) != 0600)
      return ferr_set(err, FLOE_EINVAL,
                      "%s: %s must give the owner read and write (0600) and "
                      "have no special bits",
                      k->name, v);
    memcpy(field, &m, sizeof m);
    return FLOE_OK;
  }
  case K_LOGFMT: {
    cfg_log_format f;
    if (strcmp(v, "text") == 0)
      f = CFG_LOG_TEXT;
    else if (strcmp(v, "json") == 0)
      f = CFG_LOG_JSON;
    else
      return ferr_set(err, FLOE_EINVAL, "%s: '%s' is not text or json", k->name,
                      v);
    memcpy(field, &f, sizeof f);
    return FLOE_OK;
  }
  case K_LOGLEVEL: {
    int lv = flog_level_parse(v);
    if (lv < 0 || lv == FLOG_OFF)
      return ferr_set(err, FLOE_EINVAL,
                      "%s: '%s' is not debug, info, warn or error", k->name, v);
    memcpy(field, &lv, sizeof lv);
    return FLOE_OK;
  }
  case K_INT:
  case K_SIZE:
  case K_MS: {
    int64_t n;
    FLOE_TRY(number(k, v, &n, err));
    store_int(c, k, n);
    return FLOE_OK;
  }
  case K_FRACTION: break; /* engine only */
  }
  if (str) {
    str = farena_strdup(&c->arena, str, err);
    if (!str) return FLOE_ENOMEM;
  }
  memcpy(field, &str, sizeof str);
  return FLOE_OK;
}

floe_status cfg_set(cfg_daemon *c, const char *name, const char *value,
                    floe_error *err) {
  int ki;
  if (!find_key(name, &ki))
    return ferr_set(err, FLOE_ENOTFOUND,
                    "unknown setting '%s' (docs/config.md lists them)", name);
  return set_key(c, ki, value, err);
}

/* ---- files ---- */

static bool blank(uint8_t ch) { return ch == ' ' || ch == '\t'; }

/* Unquotes "..." (escapes \" \\ \n \t) into out; the quote must end the
 * value. */
static floe_status unquote(const uint8_t *p, size_t n, fbuf *out,
                           floe_error *err) {
  size_t i = 1;
  for (; i < n && p[i] != '"'; i++) {
    uint8_t ch = p[i];
    if (ch == '\\') {
      if (++i == n) break;
      switch (p[i]) {
      case '"': ch = '"'; break;
      case '\\': ch = '\\'; break;
      case 'n': ch = '\n'; break;
      case 't': ch = '\t'; break;
      default:
        return ferr_set(err, FLOE_EINVAL, "unknown escape '\\%c' in quotes",
                        p[i]);
      }
    }
    FLOE_TRY(fbuf_put_u8(out, ch, err));
  }
  if (i >= n) return ferr_set(err, FLOE_EINVAL, "unterminated quotes");
  for (i++; i < n; i++)
    if (!blank(p[i]))
      return ferr_set(err, FLOE_EINVAL,
                      "text after the closing quote (comments go on their "
                      "own line)");
  return fbuf_put_u8(out, 0, err);
}

static floe_status parse_line(cfg_daemon *c, const uint8_t *l, size_t n,
                              int line, fbuf *val, floe_error *err) {
  while (n && blank(l[0])) l++, n--;
  while (n && blank(l[n - 1])) n--;
  if (n == 0 || l[0] == '#') return FLOE_OK;
  const uint8_t *eq = memchr(l, '=', n);
  if (!eq)
    return ferr_set(err, FLOE_EINVAL, "expected 'key = value', got '%.*s'",
                    (int)(n > 60 ? 60 : n), (const char *)l);
  size_t kn = (size_t)(eq - l);
  while (kn && blank(l[kn - 1])) kn--;
  char k[KEY_MAX];
  if (kn == 0) return ferr_set(err, FLOE_EINVAL, "no key before '='");
  if (kn >= sizeof k)
    return ferr_set(err, FLOE_ENOTFOUND, "unknown setting '%.*s...'", 40,
                    (const char *)l);
  memcpy(k, l, kn);
  k[kn] = 0;
  const uint8_t *v = eq + 1;
  size_t vn = (size_t)(l + n - v);
  while (vn && blank(v[0])) v++, vn--;
  fbuf_reset(val);
  if (vn && v[0] == '"') {
    FLOE_TRY(unquote(v, vn, val, err));
    if (strlen((const char *)val->data) != val->len - 1)
      return ferr_set(err, FLOE_EINVAL, "NUL byte in quotes");
  } else {
    FLOE_TRY(fbuf_append(val, v, vn, err));
    FLOE_TRY(fbuf_put_u8(val, 0, err));
  }
  int ki;
  if (!find_key(k, &ki))
    return ferr_set(err, FLOE_ENOTFOUND,
                    "unknown setting '%s' (docs/config.md lists them)", k);
  if (keys[ki].kind != K_TABLE && c->line_of[ki])
    return ferr_set(err, FLOE_EINVAL, "'%s' is already set on line %d",
                    keys[ki].name, c->line_of[ki]);
  FLOE_TRY(set_key(c, ki, (const char *)val->data, err));
  c->line_of[ki] = line;
  return FLOE_OK;
}

floe_status cfg_parse(cfg_daemon *c, const char *text, size_t n,
                      const char *name, floe_error *err) {
  fcur cur = fcur_make(text, n, name, 0);
  fbuf val = FBUF_INIT;
  floe_status st = FLOE_OK;
  for (int line = 1; fcur_left(&cur) && st == FLOE_OK; line++) {
    const uint8_t *start = cur.p + cur.pos;
    const uint8_t *nl = memchr(start, '\n', fcur_left(&cur));
    size_t len = nl ? (size_t)(nl - start) : fcur_left(&cur);
    const uint8_t *l;
    st = fcur_bytes(&cur, len, &l, err);
    if (st == FLOE_OK && nl) st = fcur_skip(&cur, 1, err);
    if (st != FLOE_OK) break;
    if (len && l[len - 1] == '\r') len--;
    if (!rpc_utf8_valid(l, len)) {
      st = ferr_set(err, FLOE_EINVAL,
                    "%s:%d: not UTF-8 text (or holds a NUL byte)", name, line);
      break;
    }
    st = parse_line(c, l, len, line, &val, err);
    if (st != FLOE_OK) ferr_prefix(err, st, "%s:%d", name, line);
  }
  fbuf_free(&val);
  return st;
}

floe_status cfg_load(cfg_daemon *c, const char *path, floe_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ferr_set(err, errno == ENOENT ? FLOE_ENOTFOUND : FLOE_EIO,
                    "cannot open config %s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_size > (off_t)CFG_MAX_FILE) {
    close(fd);
    return ferr_set(err, FLOE_EINVAL,
                    "config %s is not a regular file of at most 1 MiB", path);
  }
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf) {
    close(fd);
    return ferr_nomem(err, (size_t)st.st_size + 1);
  }
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  floe_status rc = cfg_parse(c, buf, got, path, err);
  free(buf);
  return rc;
}

floe_status cfg_check(const cfg_daemon *c, int source_optional,
                      floe_error *err) {
  if (!c->warehouse)
    return ferr_set(err, FLOE_EINVAL,
                    "no warehouse: pass --warehouse DIR (or 'warehouse = "
                    "DIR' in the config file)");
  if (!c->source && !source_optional)
    return ferr_set(err, FLOE_EINVAL,
                    "no source: pass --source CONNINFO (or 'source = "
                    "CONNINFO' in the config file)");
  return FLOE_OK;
}

floe_status cfg_socket_default(const char *name, char *buf, size_t n,
                               floe_error *err) {
  const char *dir = getenv("XDG_RUNTIME_DIR");
  if (!dir || !*dir) dir = "/tmp";
  struct sockaddr_un a;
  int r = snprintf(buf, n, "%s/floe-%s.sock", dir, name);
  if (r < 0 || (size_t)r >= n || (size_t)r >= sizeof a.sun_path)
    return ferr_set(err, FLOE_EINVAL,
                    "default socket path %s/floe-%s.sock is too long: set "
                    "--socket",
                    dir, name);
  return FLOE_OK;
}

/* ---- writing ---- */

static floe_status put_value(fbuf *b, const char *v, floe_error *err) {
  size_t n = strlen(v);
  bool quote = n == 0 || blank((uint8_t)v[0]) || blank((uint8_t)v[n - 1]) ||
               v[0] == '"' || strpbrk(v, "\n\t\\") != NULL;
  if (!quote) return fbuf_append(b, v, n, err);
  FLOE_TRY(fbuf_put_u8(b, '"', err));
  for (; *v; v++) {
    const char *e = *v == '"'    ? "\\\""
                    : *v == '\\' ? "\\\\"
                    : *v == '\n' ? "\\n"
                    : *v == '\t' ? "\\t"
                                 : NULL;
    if (e)
      FLOE_TRY(fbuf_append(b, e, 2, err));
    else
      FLOE_TRY(fbuf_put_u8(b, (uint8_t)*v, err));
  }
  return fbuf_put_u8(b, '"', err);
}

static floe_status put_number(fbuf *b, const key *k, int64_t v,
                              floe_error *err) {
  if (k->kind == K_SIZE && v > 0) {
    static const char *u[] = {"TiB", "GiB", "MiB", "KiB"};
    for (int i = 0; i < 4; i++) {
      int shift = 40 - 10 * i;
      if (v % ((int64_t)1 << shift) == 0)
        return fbuf_printf(b, err, "%lld%s", (long long)(v >> shift), u[i]);
    }
  }
  return fbuf_printf(b, err, "%lld%s", (long long)v,
                     k->kind == K_MS ? "ms" : "");
}

static int64_t load_int(const void *base, const key *k) {
  const char *p = (const char *)base + k->off;
  if (k->width == 4) {
    int32_t x;
    memcpy(&x, p, 4);
    return x;
  }
  int64_t x;
  memcpy(&x, p, 8);
  return x;
}

floe_status cfg_write(const cfg_daemon *c, fbuf *out, floe_error *err) {
  for (int i = 0; i < NKEYS; i++) {
    const key *k = &keys[i];
    const void *base = k->engine ? (const void *)&c->engine.v : (const void *)c;
    if (k->engine && !(c->engine.set & (1u << i))) {
      FLOE_TRY(fbuf_printf(out, err, "# %s = %s (engine default)\n", k->name,
                           k->def));
      continue;
    }
    if (k->kind == K_TABLE) {
      if (c->ntables == 0) FLOE_TRY(fbuf_printf(out, err, "# table =\n"));
      for (int t = 0; t < c->ntables; t++) {
        FLOE_TRY(fbuf_printf(out, err, "table = "));
        FLOE_TRY(put_value(out, c->tables[t], err));
        FLOE_TRY(fbuf_put_u8(out, '\n', err));
      }
      continue;
    }
    switch (k->kind) {
    case K_STR:
    case K_OPT_STR:
    case K_PATH:
    case K_CATALOG:
    case K_NAME:
    case K_METRICS: {
      const char *s;
      memcpy(&s, (const char *)base + k->off, sizeof s);
      if (!s) {
        FLOE_TRY(fbuf_printf(out, err, "# %s =\n", k->name));
        continue;
      }
      FLOE_TRY(fbuf_printf(out, err, "%s = ", k->name));
      FLOE_TRY(put_value(out, s, err));
      break;
    }
    case K_MODE:
      FLOE_TRY(fbuf_printf(out, err, "%s = %04o", k->name, c->socket_mode));
      break;
    case K_LOGFMT:
      FLOE_TRY(fbuf_printf(out, err, "%s = %s", k->name,
                           c->log_format == CFG_LOG_JSON ? "json" : "text"));
      break;
    case K_LOGLEVEL: {
      static const char *lv[] = {"debug", "info", "warn", "error"};
      FLOE_TRY(fbuf_printf(
          out, err, "%s = %s", k->name,
          lv[c->log_level >= 0 && c->log_level < 4 ? c->log_level : 1]));
      break;
    }
    case K_FRACTION: {
      double d;
      memcpy(&d, (const char *)base + k->off, sizeof d);
      FLOE_TRY(fbuf_printf(out, err, "%s = %.17g", k->name, d));
      break;
    }
    case K_INT:
    case K_SIZE:
    case K_MS:
      FLOE_TRY(fbuf_printf(out, err, "%s = ", k->name));
      FLOE_TRY(put_number(out, k, load_int(base, k), err));
      break;
    case K_TABLE: break;
    }
    FLOE_TRY(fbuf_put_u8(out, '\n', err));
  }
  return FLOE_OK;
}
