/*
 * Iceberg table metadata: the in-memory model, its JSON parser (spec
 * Appendix C, "Table Metadata Fields", format versions 1..3) and its writer
 * (field order and layout of Iceberg Java's TableMetadataParser).
 *
 * The parser reads through jansson (which checks UTF-8, nesting and
 * duplicate keys) and then validates every field it uses; each error names
 * the file and the JSON path. Fields floe does not model (statistics,
 * partition-statistics, encryption-keys, ref schema-id, unknown keys) are
 * accepted and dropped, so parse -> write is a fixed point.
 */
#include "iceberg/metadata.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "iceberg/jsonw.h"

/* ---------------------------------------------------------------- utils */

static floe_status dupstr(const char *s, char **out, floe_error *err) {
  *out = NULL;
  if (!s) return FLOE_OK;
  size_t n = strlen(s) + 1;
  *out = malloc(n);
  if (!*out) return ferr_nomem(err, n);
  memcpy(*out, s, n);
  return FLOE_OK;
}

/* calloc for n items of size sz; n == 0 gives a valid pointer too. */
static floe_status alloc_n(void **out, size_t n, size_t sz, floe_error *err) {
  *out = calloc(n ? n : 1, sz);
  if (!*out) return ferr_nomem(err, n * sz);
  return FLOE_OK;
}

/* ---------------------------------------------------------------- ice_kv */

floe_status ice_kv_set(ice_kv *kv, const char *key, const char *val,
                       floe_error *err) {
  char *v;
  FLOE_TRY(dupstr(val, &v, err));
  for (int i = 0; i < kv->n; i++) {
    if (strcmp(kv->keys[i], key) == 0) {
      free(kv->vals[i]);
      kv->vals[i] = v;
      return FLOE_OK;
    }
  }
  if (kv->n == kv->cap) {
    int cap = kv->cap ? kv->cap * 2 : 8;
    char **k = realloc(kv->keys, (size_t)cap * sizeof *k);
    if (!k) {
      free(v);
      return ferr_nomem(err, (size_t)cap * sizeof *k);
    }
    kv->keys = k;
    char **vv = realloc(kv->vals, (size_t)cap * sizeof *vv);
    if (!vv) {
      free(v);
      return ferr_nomem(err, (size_t)cap * sizeof *vv);
    }
    kv->vals = vv;
    kv->cap = cap;
  }
  char *k;
  floe_status st = dupstr(key, &k, err);
  if (st != FLOE_OK) {
    free(v);
    return st;
  }
  kv->keys[kv->n] = k;
  kv->vals[kv->n] = v;
  kv->n++;
  return FLOE_OK;
}

const char *ice_kv_get(const ice_kv *kv, const char *key) {
  for (int i = 0; i < kv->n; i++)
    if (strcmp(kv->keys[i], key) == 0) return kv->vals[i];
  return NULL;
}

void ice_kv_free(ice_kv *kv) {
  if (!kv) return;
  for (int i = 0; i < kv->n; i++) {
    free(kv->keys[i]);
    free(kv->vals[i]);
  }
  free(kv->keys);
  free(kv->vals);
  memset(kv, 0, sizeof *kv);
}

floe_status ice_kv_copy(ice_kv *dst, const ice_kv *src, floe_error *err) {
  memset(dst, 0, sizeof *dst);
  for (int i = 0; i < src->n; i++) {
    floe_status st = ice_kv_set(dst, src->keys[i], src->vals[i], err);
    if (st != FLOE_OK) {
      ice_kv_free(dst);
      return st;
    }
  }
  return FLOE_OK;
}

/* ---------------------------------------------------------------- types */

static const char *scalar_name(col_type t) {
  switch (t) {
  case COL_BOOL: return "boolean";
  case COL_INT16:
  case COL_INT32: return "int";
  case COL_INT64: return "long";
  case COL_FLOAT32: return "float";
  case COL_FLOAT64: return "double";
  case COL_DECIMAL: return "decimal";
  case COL_UTF8: return "string";
  case COL_BINARY: return "binary";
  case COL_DATE: return "date";
  case COL_TIME: return "time";
  case COL_TIMESTAMP: return "timestamp";
  case COL_TIMESTAMPTZ: return "timestamptz";
  case COL_UUID: return "uuid";
  case COL_LIST: return "list";
  case COL_TYPE_COUNT: break;
  }
  return "?";
}

static void scalar_text(col_type t, int p, int s, char *buf, size_t n) {
  if (t == COL_DECIMAL)
    snprintf(buf, n, "decimal(%d,%d)", p, s);
  else
    snprintf(buf, n, "%s", scalar_name(t));
}

const char *ice_type_name(col_dtype t, char *buf, size_t n) {
  if (!n) return buf;
  if (t.id == COL_LIST) {
    char e[32];
    scalar_text(t.elem, t.elem_precision, t.elem_scale, e, sizeof e);
    snprintf(buf, n, "list<%s>", e);
  } else {
    scalar_text(t.id, t.precision, t.scale, buf, n);
  }
  return buf;
}

/* ---------------------------------------------------------------- schemas */

const ice_field_ext *ice_schema_ext(const ice_schema *s, int32_t field_id) {
  for (int i = 0; i < s->next; i++)
    if (s->ext[i].field_id == field_id) return &s->ext[i];
  return NULL;
}

int32_t ice_schema_max_id(const ice_schema *s) {
  int32_t m = 0;
  if (!s->cols) return 0;
  for (int i = 0; i < s->cols->nfields; i++) {
    const col_field *f = &s->cols->fields[i];
    if (f->id > m) m = f->id;
    if (f->type.id == COL_LIST && f->elem_id > m) m = f->elem_id;
  }
  return m;
}

static void ext_clear(ice_field_ext *e) {
  free(e->initial_default);
  free(e->write_default);
  free(e->doc);
  memset(e, 0, sizeof *e);
}

void ice_schema_clear(ice_schema *s) {
  if (!s) return;
  col_schema_unref(s->cols);
  free(s->identifier_ids);
  for (int i = 0; i < s->next; i++) ext_clear(&s->ext[i]);
  free(s->ext);
  memset(s, 0, sizeof *s);
}

floe_status ice_schema_copy(ice_schema *dst, const ice_schema *src,
                            floe_error *err) {
  memset(dst, 0, sizeof *dst);
  dst->schema_id = src->schema_id;
  floe_status st = alloc_n((void **)&dst->identifier_ids,
                           (size_t)src->nidentifier, sizeof(int32_t), err);
  if (st != FLOE_OK) return st;
  if (src->nidentifier)
    memcpy(dst->identifier_ids, src->identifier_ids,
           (size_t)src->nidentifier * sizeof(int32_t));
  dst->nidentifier = src->nidentifier;
  st = alloc_n((void **)&dst->ext, (size_t)src->next, sizeof *dst->ext, err);
  if (st != FLOE_OK) goto fail;
  for (int i = 0; i < src->next; i++) {
    const ice_field_ext *a = &src->ext[i];
    ice_field_ext *b = &dst->ext[i];
    b->field_id = a->field_id;
    dst->next = i + 1;
    if ((st = dupstr(a->initial_default, &b->initial_default, err)) ||
        (st = dupstr(a->write_default, &b->write_default, err)) ||
        (st = dupstr(a->doc, &b->doc, err)))
      goto fail;
  }
  dst->cols = col_schema_ref(src->cols);
  return FLOE_OK;
fail:
  ice_schema_clear(dst);
  return st;
}

/* ---------------------------------------------------------------- transforms
 */

static const struct {
  const char *name;
  ice_transform_kind kind;
} plain_transforms[] = {
    {"identity", ICE_T_IDENTITY}, {"year", ICE_T_YEAR}, {"month", ICE_T_MONTH},
    {"day", ICE_T_DAY},           {"hour", ICE_T_HOUR}, {"void", ICE_T_VOID},
};

static void transform_text(ice_transform_kind k, int32_t param, char *buf,
                           size_t n) {
  switch (k) {
  case ICE_T_BUCKET: snprintf(buf, n, "bucket[%d]", (int)param); return;
  case ICE_T_TRUNCATE: snprintf(buf, n, "truncate[%d]", (int)param); return;
  default: break;
  }
  for (size_t i = 0; i < sizeof plain_transforms / sizeof *plain_transforms;
       i++)
    if (plain_transforms[i].kind == k) {
      snprintf(buf, n, "%s", plain_transforms[i].name);
      return;
    }
  snprintf(buf, n, "?");
}

void ice_transform_clear(ice_transform *t) {
  if (!t) return;
  free(t->text);
  memset(t, 0, sizeof *t);
}

floe_status ice_transform_copy(ice_transform *dst, const ice_transform *src,
                               floe_error *err) {
  *dst = *src;
  dst->text = NULL;
  if (src->kind == ICE_T_UNKNOWN) return dupstr(src->text, &dst->text, err);
  char buf[32];
  transform_text(src->kind, src->param, buf, sizeof buf);
  return dupstr(buf, &dst->text, err);
}

floe_status ice_transform_parse(const char *s, ice_transform *out,
                                floe_error *err) {
  memset(out, 0, sizeof *out);
  if (!s) return ferr_set(err, FLOE_EINVAL, "transform: NULL");
  size_t n = strlen(s);
  ice_transform_kind kind = ICE_T_UNKNOWN;
  int32_t param = 0;
  for (size_t i = 0; i < sizeof plain_transforms / sizeof *plain_transforms;
       i++)
    if (strcasecmp(s, plain_transforms[i].name) == 0)
      kind = plain_transforms[i].kind;
  /* name[digits], the only parameterised shape Java recognises; anything
   * else is an unknown transform, which v3 readers must tolerate */
  const char *lb = strchr(s, '[');
  if (kind == ICE_T_UNKNOWN && lb && n >= 3 && s[n - 1] == ']' &&
      lb + 1 < s + n - 1) {
    size_t nl = (size_t)(lb - s);
    bool digits = true;
    for (const char *p = lb + 1; p < s + n - 1; p++)
      if (!isdigit((unsigned char)*p)) digits = false;
    ice_transform_kind pk = ICE_T_UNKNOWN;
    if (nl == 6 && strncasecmp(s, "bucket", 6) == 0) pk = ICE_T_BUCKET;
    if (nl == 8 && strncasecmp(s, "truncate", 8) == 0) pk = ICE_T_TRUNCATE;
    if (digits && pk != ICE_T_UNKNOWN) {
      long long v = 0;
      for (const char *p = lb + 1; p < s + n - 1; p++) {
        v = v * 10 + (*p - '0');
        if (v > INT32_MAX) break;
      }
      if (v <= 0 || v > INT32_MAX)
        return ferr_set(err, FLOE_EINVAL,
                        "transform \"%s\": parameter must be 1..%d", s,
                        INT32_MAX);
      kind = pk;
      param = (int32_t)v;
    }
  }
  out->kind = kind;
  out->param = param;
  if (kind == ICE_T_UNKNOWN) return dupstr(s, &out->text, err);
  char buf[32];
  transform_text(kind, param, buf, sizeof buf);
  return dupstr(buf, &out->text, err);
}

static bool is_int_like(col_type t) {
  return t == COL_INT16 || t == COL_INT32 || t == COL_INT64;
}

floe_status ice_transform_check(const ice_transform *t, col_dtype source,
                                floe_error *err) {
  char tn[48];
  ice_type_name(source, tn, sizeof tn);
  const char *name = t->text ? t->text : "?";
  if (t->kind == ICE_T_UNKNOWN)
    return ferr_set(err, FLOE_EINVAL,
                    "transform \"%s\" is unknown; writers must not use it",
                    name);
  if (source.id == COL_LIST)
    return ferr_set(err, FLOE_EINVAL,
                    "transform \"%s\": source column of type %s is not "
                    "primitive",
                    name, tn);
  col_type s = source.id;
  bool ok = false;
  switch (t->kind) {
  case ICE_T_IDENTITY:
  case ICE_T_VOID: ok = true; break;
  case ICE_T_BUCKET:
    ok = is_int_like(s) || s == COL_DECIMAL || s == COL_DATE || s == COL_TIME ||
         s == COL_TIMESTAMP || s == COL_TIMESTAMPTZ || s == COL_UTF8 ||
         s == COL_UUID || s == COL_BINARY;
    break;
  case ICE_T_TRUNCATE:
    ok = is_int_like(s) || s == COL_DECIMAL || s == COL_UTF8 || s == COL_BINARY;
    break;
  case ICE_T_YEAR:
  case ICE_T_MONTH:
  case ICE_T_DAY:
    ok = s == COL_DATE || s == COL_TIMESTAMP || s == COL_TIMESTAMPTZ;
    break;
  case ICE_T_HOUR: ok = s == COL_TIMESTAMP || s == COL_TIMESTAMPTZ; break;
  case ICE_T_UNKNOWN: break;
  }
  if (!ok)
    return ferr_set(err, FLOE_EINVAL,
                    "transform \"%s\" cannot be applied to type %s", name, tn);
  return FLOE_OK;
}

col_dtype ice_transform_result_type(const ice_transform *t, col_dtype source) {
  col_dtype r = {0};
  switch (t->kind) {
  case ICE_T_BUCKET:
  case ICE_T_YEAR:
  case ICE_T_MONTH:
  case ICE_T_HOUR: r.id = COL_INT32; return r;
  case ICE_T_DAY: r.id = COL_DATE; return r;
  default: return source;
  }
}

/* ---------------------------------------------------------------- defaults */

static bool all_digits(const char *p, size_t n) {
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)p[i])) return false;
  return true;
}

static int num(const char *p, size_t n) {
  int v = 0;
  for (size_t i = 0; i < n; i++) v = v * 10 + (p[i] - '0');
  return v;
}

/* "YYYY-MM-DD"; returns the bytes used or 0. */
static size_t iso_date(const char *s, size_t n) {
  if (n < 10 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) ||
      s[7] != '-' || !all_digits(s + 8, 2))
    return 0;
  int y = num(s, 4), m = num(s + 5, 2), d = num(s + 8, 2);
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1]) return 0;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (m == 2 && d == 29 && !leap) return 0;
  return 10;
}

/* "HH:MM[:SS[.ffffff]]" (microsecond precision at most); bytes used or 0. */
static size_t iso_time(const char *s, size_t n) {
  if (n < 5 || !all_digits(s, 2) || s[2] != ':' || !all_digits(s + 3, 2))
    return 0;
  if (num(s, 2) > 23 || num(s + 3, 2) > 59) return 0;
  size_t i = 5;
  if (i < n && s[i] == ':') {
    if (n < i + 3 || !all_digits(s + i + 1, 2) || num(s + i + 1, 2) > 59)
      return 0;
    i += 3;
    if (i < n && s[i] == '.') {
      size_t f = 0;
      while (i + 1 + f < n && isdigit((unsigned char)s[i + 1 + f])) f++;
      if (f < 1 || f > 6) return 0;
      i += 1 + f;
    }
  }
  return i;
}

static bool is_hex(char c) { return isxdigit((unsigned char)c) != 0; }

static bool valid_uuid(const char *s, size_t n) {
  if (n != 36) return false;
  for (size_t i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!is_hex(s[i])) {
      return false;
    }
  }
  return true;
}

/* Decimal text with exactly `scale` fraction digits and at most `prec`
 * digits in all (leading zeros of the integer part not counted). */
static bool valid_decimal(const char *s, size_t n, int prec, int scale) {
  size_t i = 0;
  if (i < n && s[i] == '-') i++;
  size_t ib = i;
  while (i < n && isdigit((unsigned char)s[i])) i++;
  size_t il = i - ib;
  if (il == 0) return false;
  size_t fl = 0;
  if (i < n && s[i] == '.') {
    i++;
    while (i + fl < n && isdigit((unsigned char)s[i + fl])) fl++;
    if (fl == 0) return false;
    i += fl;
  }
  if (i != n || (int)fl != scale) return false;
  while (il > 1 && s[ib] == '0') ib++, il--;
  if (il == 1 && s[ib] == '0') il = 0;
  return (int)(il + fl) <= prec;
}

static bool scalar_default_ok(col_type t, int prec, int scale, const json_t *v,
                              const char **why) {
  const char *s = json_string_value(v);
  size_t n = s ? json_string_length(v) : 0;
  json_int_t iv = json_is_integer(v) ? json_integer_value(v) : 0;
  switch (t) {
  case COL_BOOL: *why = "expected true or false"; return json_is_boolean(v);
  case COL_INT16:
    *why = "expected an integer in -32768..32767";
    return json_is_integer(v) && iv >= INT16_MIN && iv <= INT16_MAX;
  case COL_INT32:
    *why = "expected a 32-bit integer";
    return json_is_integer(v) && iv >= INT32_MIN && iv <= INT32_MAX;
  case COL_INT64: *why = "expected an integer"; return json_is_integer(v);
  case COL_FLOAT32:
    *why = "expected a number in float range";
    return json_is_integer(v) ||
           (json_is_real(v) && fabs(json_real_value(v)) <= FLT_MAX);
  case COL_FLOAT64: *why = "expected a number"; return json_is_number(v);
  case COL_DECIMAL:
    *why = "expected a decimal string with exactly the column's scale";
    return s && valid_decimal(s, n, prec, scale);
  case COL_UTF8: *why = "expected a string"; return s != NULL;
  case COL_BINARY:
    *why = "expected a hex string";
    if (!s || n % 2) return false;
    for (size_t i = 0; i < n; i++)
      if (!is_hex(s[i])) return false;
    return true;
  case COL_UUID: *why = "expected a UUID string"; return s && valid_uuid(s, n);
  case COL_DATE:
    *why = "expected an ISO date \"YYYY-MM-DD\"";
    return s && n == 10 && iso_date(s, n) == 10;
  case COL_TIME:
    *why = "expected an ISO time \"HH:MM:SS[.ffffff]\"";
    return s && iso_time(s, n) == n;
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: {
    *why = t == COL_TIMESTAMP ? "expected an ISO timestamp without zone "
                                "\"YYYY-MM-DDTHH:MM:SS[.ffffff]\""
                              : "expected an ISO timestamp with zone +00:00 "
                                "\"YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00\"";
    if (!s || n < 11 || iso_date(s, n) != 10 || s[10] != 'T') return false;
    size_t tl = iso_time(s + 11, n - 11);
    if (!tl) return false;
    const char *rest = s + 11 + tl;
    size_t rn = n - 11 - tl;
    if (t == COL_TIMESTAMP) return rn == 0;
    return (rn == 6 && memcmp(rest, "+00:00", 6) == 0) ||
           (rn == 1 && rest[0] == 'Z');
  }
  case COL_LIST:
  case COL_TYPE_COUNT: break;
  }
  *why = "unsupported type";
  return false;
}

/* Checks v against t; on failure writes the reason into why. */
static bool default_ok(col_dtype t, bool elem_nullable, const json_t *v,
                       char *why, size_t n) {
  const char *w = NULL;
  if (json_is_null(v)) return true;
  if (t.id != COL_LIST) {
    if (scalar_default_ok(t.id, t.precision, t.scale, v, &w)) return true;
    snprintf(why, n, "%s", w);
    return false;
  }
  if (!json_is_array(v)) {
    snprintf(why, n, "expected a JSON array");
    return false;
  }
  for (size_t i = 0; i < json_array_size(v); i++) {
    const json_t *e = json_array_get(v, i);
    if (json_is_null(e)) {
      if (elem_nullable) continue;
      snprintf(why, n, "element %zu: null in a list of required elements", i);
      return false;
    }
    if (!scalar_default_ok(t.elem, t.elem_precision, t.elem_scale, e, &w)) {
      snprintf(why, n, "element %zu: %s", i, w);
      return false;
    }
  }
  return true;
}

/* Compact canonical text of v (malloc'd). */
static floe_status json_text(const json_t *v, char **out, floe_error *err) {
  fbuf b = FBUF_INIT;
  jw w;
  jw_init(&w, &b, false, err);
  jw_json(&w, v);
  floe_status st = jw_finish(&w);
  if (st == FLOE_OK) st = fbuf_put_u8(&b, 0, err);
  if (st != FLOE_OK) {
    fbuf_free(&b);
    return st;
  }
  *out = (char *)fbuf_take(&b);
  return FLOE_OK;
}

floe_status ice_default_canonical(col_dtype t, bool elem_nullable,
                                  const char *json, char **out,
                                  floe_error *err) {
  *out = NULL;
  json_error_t je;
  json_t *v = json_loads(json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
  if (!v)
    return ferr_set(err, FLOE_EINVAL, "default value: invalid JSON: %s",
                    je.text);
  char why[160], tn[48];
  floe_status st = FLOE_OK;
  if (!default_ok(t, elem_nullable, v, why, sizeof why))
    st = ferr_set(err, FLOE_EINVAL, "default value %.64s for type %s: %s", json,
                  ice_type_name(t, tn, sizeof tn), why);
  else
    st = json_text(v, out, err);
  json_decref(v);
  return st;
}

/* ---------------------------------------------------------------- parsing */

#define PATH_LEN 200

typedef struct pctx {
  const char *name; /* the file, for messages */
  floe_error *err;
  int fv; /* format version */
} pctx;

/* Every parse error reads "<file>: <json path>: <what>". */
static floe_status perr(pctx *c, floe_status code, const char *path,
                        const char *fmt, ...) FLOE_PRINTF(4, 5);
static floe_status perr(pctx *c, floe_status code, const char *path,
                        const char *fmt, ...) {
  char msg[FLOE_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ferr_set(c->err, code, "%s: %s: %s", c->name, path, msg);
}

/* Appends src to the path in b (NUL-terminated, PATH_LEN bytes); paths past
 * PATH_LEN are cut short, which still locates the spot. Hand-rolled because
 * snprintf into a fixed buffer trips -Wformat-truncation. */
static void pcat(char *b, const char *src) {
  size_t n = strlen(b);
  while (*src && n + 1 < PATH_LEN) b[n++] = *src++;
  b[n] = 0;
}

static const char *pkey(char *b, const char *parent, const char *key) {
  b[0] = 0;
  pcat(b, parent);
  if (parent[0]) pcat(b, ".");
  pcat(b, key);
  return b;
}

static const char *pidx(char *b, const char *parent, size_t i) {
  char num[24];
  b[0] = 0;
  pcat(b, parent);
  sprintf(num, "[%zu]", i);
  pcat(b, num);
  return b;
}

/* A member, with JSON null read as absent (as Java's getXOrNull do). */
static json_t *member(const json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  return json_is_null(v) ? NULL : v;
}

static floe_status missing(pctx *c, const char *parent, const char *key) {
  char b[PATH_LEN];
  return perr(c, FLOE_ECORRUPT, pkey(b, parent, key), "missing");
}

static floe_status get_i64(pctx *c, const json_t *o, const char *parent,
                           const char *key, bool required, int64_t *out,
                           bool *present) {
  json_t *v = member(o, key);
  if (present) *present = v != NULL;
  if (!v) return required ? missing(c, parent, key) : FLOE_OK;
  char b[PATH_LEN];
  if (!json_is_integer(v))
    return perr(c, FLOE_ECORRUPT, pkey(b, parent, key), "expected integer");
  *out = json_integer_value(v);
  return FLOE_OK;
}

static floe_status get_nonneg(pctx *c, const json_t *o, const char *parent,
                              const char *key, bool required, int64_t *out,
                              bool *present) {
  int64_t v = 0;
  bool has;
  FLOE_TRY(get_i64(c, o, parent, key, required, &v, &has));
  if (present) *present = has;
  if (!has) return FLOE_OK;
  char b[PATH_LEN];
  if (v < 0)
    return perr(c, FLOE_ECORRUPT, pkey(b, parent, key),
                "must not be negative (%lld)", (long long)v);
  *out = v;
  return FLOE_OK;
}

static floe_status get_i32(pctx *c, const json_t *o, const char *parent,
                           const char *key, bool required, int32_t *out,
                           bool *present) {
  int64_t v = 0;
  bool has;
  FLOE_TRY(get_i64(c, o, parent, key, required, &v, &has));
  if (present) *present = has;
  if (!has) return FLOE_OK;
  char b[PATH_LEN];
  if (v < INT32_MIN || v > INT32_MAX)
    return perr(c, FLOE_ECORRUPT, pkey(b, parent, key),
                "%lld is out of int range", (long long)v);
  *out = (int32_t)v;
  return FLOE_OK;
}

static floe_status get_str(pctx *c, const json_t *o, const char *parent,
                           const char *key, bool required, const char **out) {
  json_t *v = member(o, key);
  *out = NULL;
  if (!v) return required ? missing(c, parent, key) : FLOE_OK;
  char b[PATH_LEN];
  if (!json_is_string(v))
    return perr(c, FLOE_ECORRUPT, pkey(b, parent, key), "expected string");
  *out = json_string_value(v);
  return FLOE_OK;
}

static floe_status get_bool(pctx *c, const json_t *o, const char *parent,
                            const char *key, bool *out) {
  json_t *v = member(o, key);
  if (!v) return missing(c, parent, key);
  char b[PATH_LEN];
  if (!json_is_boolean(v))
    return perr(c, FLOE_ECORRUPT, pkey(b, parent, key), "expected boolean");
  *out = json_is_true(v);
  return FLOE_OK;
}

/* An array member; *out NULL when absent and not required. */
static floe_status get_arr(pctx *c, const json_t *o, const char *parent,
                           const char *key, bool required, json_t **out) {
  json_t *v = member(o, key);
  *out = NULL;
  if (!v) return required ? missing(c, parent, key) : FLOE_OK;
  char b[PATH_LEN];
  if (!json_is_array(v))
    return perr(c, FLOE_ECORRUPT, pkey(b, parent, key), "expected array");
  *out = v;
  return FLOE_OK;
}

static floe_status need_obj(pctx *c, const json_t *v, const char *path) {
  if (!json_is_object(v))
    return perr(c, FLOE_ECORRUPT, path, "expected object");
  return FLOE_OK;
}

/* Sorted-copy duplicate check, so hostile inputs with many ids stay
 * O(n log n). Returns the duplicated id through *dup. */
static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static floe_status find_dup(const int64_t *ids, size_t n, bool *has,
                            int64_t *dup, floe_error *err) {
  *has = false;
  if (n < 2) return FLOE_OK;
  int64_t *s = malloc(n * sizeof *s);
  if (!s) return ferr_nomem(err, n * sizeof *s);
  memcpy(s, ids, n * sizeof *s);
  qsort(s, n, sizeof *s, cmp_i64);
  for (size_t i = 1; i < n; i++)
    if (s[i] == s[i - 1]) {
      *has = true;
      *dup = s[i];
      break;
    }
  free(s);
  return FLOE_OK;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static floe_status find_dup_name(const char **names, size_t n, bool *has,
                                 const char **dup, floe_error *err) {
  *has = false;
  if (n < 2) return FLOE_OK;
  const char **s = malloc(n * sizeof *s);
  if (!s) return ferr_nomem(err, n * sizeof *s);
  memcpy(s, names, n * sizeof *s);
  qsort(s, n, sizeof *s, cmp_str);
  for (size_t i = 1; i < n; i++)
    if (strcmp(s[i], s[i - 1]) == 0) {
      *has = true;
      *dup = s[i];
      break;
    }
  free(s);
  return FLOE_OK;
}

/* ---- types ---- */

static const struct {
  const char *name;
  col_type id;
} prim_names[] = {
    {"boolean", COL_BOOL},
    {"int", COL_INT32},
    {"long", COL_INT64},
    {"float", COL_FLOAT32},
    {"double", COL_FLOAT64},
    {"date", COL_DATE},
    {"time", COL_TIME},
    {"timestamp", COL_TIMESTAMP},
    {"timestamptz", COL_TIMESTAMPTZ},
    {"string", COL_UTF8},
    {"uuid", COL_UUID},
    {"binary", COL_BINARY},
};

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}

/* Up to 3 digits; returns the position after them, or NULL. */
static const char *small_num(const char *p, int *v) {
  int n = 0;
  *v = 0;
  while (isdigit((unsigned char)*p) && n < 4) *v = *v * 10 + (*p++ - '0'), n++;
  return n >= 1 && n <= 3 ? p : NULL;
}

static floe_status parse_prim(pctx *c, const char *path, const char *field,
                              const char *s, col_type *id, uint8_t *prec,
                              uint8_t *scale) {
  for (size_t i = 0; i < sizeof prim_names / sizeof *prim_names; i++)
    if (strcmp(s, prim_names[i].name) == 0) {
      *id = prim_names[i].id;
      return FLOE_OK;
    }
  if (strncmp(s, "decimal(", 8) == 0) {
    int p, sc;
    const char *q = small_num(skip_ws(s + 8), &p);
    if (q) q = skip_ws(q);
    if (q && *q == ',')
      q = small_num(skip_ws(q + 1), &sc);
    else
      q = NULL;
    if (q) q = skip_ws(q);
    if (!q || *q != ')' || q[1])
      return perr(c, FLOE_ECORRUPT, path, "bad decimal type \"%s\"", s);
    if (p < 1 || p > 38)
      return perr(c, FLOE_ECORRUPT, path,
                  "decimal precision %d of field \"%s\" must be 1..38", p,
                  field);
    if (sc > p)
      return perr(c, FLOE_EUNSUPPORTED, path,
                  "field \"%s\": decimal(%d,%d) with scale above precision "
                  "is not supported by floe",
                  field, p, sc);
    *id = COL_DECIMAL;
    *prec = (uint8_t)p;
    *scale = (uint8_t)sc;
    return FLOE_OK;
  }
  static const char *const unsupported[] = {
      "unknown", "timestamp_ns", "timestamptz_ns", "variant",
      "fixed[",  "geometry",     "geography"};
  for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++)
    if (strncmp(s, unsupported[i], strlen(unsupported[i])) == 0)
      return perr(c, FLOE_EUNSUPPORTED, path,
                  "field \"%s\": Iceberg type %s is not supported by floe",
                  field, s);
  return perr(c, FLOE_ECORRUPT, path, "unknown type \"%s\"", s);
}

static floe_status parse_type(pctx *c, const char *path, const json_t *t,
                              col_field *f) {
  if (json_is_string(t))
    return parse_prim(c, path, f->name, json_string_value(t), &f->type.id,
                      &f->type.precision, &f->type.scale);
  if (!json_is_object(t))
    return perr(c, FLOE_ECORRUPT, path, "expected string or object");
  const char *kind;
  FLOE_TRY(get_str(c, t, path, "type", true, &kind));
  if (strcmp(kind, "struct") == 0 || strcmp(kind, "map") == 0)
    return perr(c, FLOE_EUNSUPPORTED, path,
                "field \"%s\": Iceberg type %s is not supported by floe",
                f->name, kind);
  if (strcmp(kind, "list") != 0)
    return perr(c, FLOE_ECORRUPT, path, "unknown type \"%s\"", kind);
  bool req;
  FLOE_TRY(get_i32(c, t, path, "element-id", true, &f->elem_id, NULL));
  FLOE_TRY(get_bool(c, t, path, "element-required", &req));
  f->elem_nullable = !req;
  json_t *e = member(t, "element");
  if (!e) return missing(c, path, "element");
  char b[PATH_LEN];
  pkey(b, path, "element");
  if (json_is_object(e)) {
    const char *ek = json_string_value(json_object_get(e, "type"));
    if (ek && (strcmp(ek, "struct") == 0 || strcmp(ek, "map") == 0 ||
               strcmp(ek, "list") == 0))
      return perr(c, FLOE_EUNSUPPORTED, b,
                  "field \"%s\": list of %s is not supported by floe", f->name,
                  ek);
    return perr(c, FLOE_ECORRUPT, b, "bad element type");
  }
  if (!json_is_string(e))
    return perr(c, FLOE_ECORRUPT, b, "expected string or object");
  f->type.id = COL_LIST;
  return parse_prim(c, b, f->name, json_string_value(e), &f->type.elem,
                    &f->type.elem_precision, &f->type.elem_scale);
}

/* A default (initial-default / write-default) as canonical text; JSON null
 * is a value here ("null"), not an absent member. */
static floe_status parse_default(pctx *c, const json_t *fo, const char *path,
                                 const char *key, const col_field *f,
                                 char **out) {
  *out = NULL;
  json_t *v = json_object_get(fo, key);
  if (!v) return FLOE_OK;
  char why[160], b[PATH_LEN];
  if (!default_ok(f->type, f->elem_nullable, v, why, sizeof why))
    return perr(c, FLOE_ECORRUPT, pkey(b, path, key), "%s", why);
  return json_text(v, out, c->err);
}

static floe_status parse_schema(pctx *c, const json_t *o, const char *path,
                                ice_schema *out) {
  memset(out, 0, sizeof *out);
  FLOE_TRY(need_obj(c, o, path));
  const char *type;
  FLOE_TRY(get_str(c, o, path, "type", true, &type));
  char b[PATH_LEN], fp[PATH_LEN], fsp[PATH_LEN];
  if (strcmp(type, "struct") != 0)
    return perr(c, FLOE_ECORRUPT, pkey(b, path, "type"),
                "expected \"struct\", got \"%s\"", type);
  bool has_id;
  FLOE_TRY(
      get_i32(c, o, path, "schema-id", c->fv >= 2, &out->schema_id, &has_id));
  if (!has_id) out->schema_id = 0;
  json_t *fields;
  FLOE_TRY(get_arr(c, o, path, "fields", true, &fields));
  pkey(fsp, path, "fields");
  size_t n = json_array_size(fields);
  if (n > INT32_MAX / 2) return perr(c, FLOE_ECORRUPT, fsp, "too many fields");
  col_field *fs = NULL;
  int64_t *ids = NULL;
  const char **names = NULL;
  floe_status st;
  if ((st = alloc_n((void **)&fs, n, sizeof *fs, c->err)) ||
      (st = alloc_n((void **)&ids, 2 * n, sizeof *ids, c->err)) ||
      (st = alloc_n((void **)&names, n, sizeof *names, c->err)) ||
      (st = alloc_n((void **)&out->ext, n, sizeof *out->ext, c->err)))
    goto done;
  size_t nids = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *fo = json_array_get(fields, i);
    pidx(fp, fsp, i);
    col_field *f = &fs[i];
    bool req;
    const char *name, *doc;
    if ((st = need_obj(c, fo, fp)) ||
        (st = get_i32(c, fo, fp, "id", true, &f->id, NULL)) ||
        (st = get_str(c, fo, fp, "name", true, &name)) ||
        (st = get_bool(c, fo, fp, "required", &req)))
      goto done;
    f->name = (char *)name; /* borrowed; col_schema_new copies */
    f->nullable = !req;
    json_t *t = member(fo, "type");
    if (!t) {
      st = missing(c, fp, "type");
      goto done;
    }
    if ((st = parse_type(c, pkey(b, fp, "type"), t, f))) goto done;
    names[i] = name;
    ids[nids++] = f->id;
    if (f->type.id == COL_LIST) ids[nids++] = f->elem_id;
    if ((st = get_str(c, fo, fp, "doc", false, &doc))) goto done;
    ice_field_ext e = {f->id, NULL, NULL, NULL};
    if ((st = parse_default(c, fo, fp, "initial-default", f,
                            &e.initial_default)) ||
        (st = parse_default(c, fo, fp, "write-default", f, &e.write_default)) ||
        (st = dupstr(doc, &e.doc, c->err))) {
      ext_clear(&e);
      goto done;
    }
    if (e.initial_default || e.write_default || e.doc)
      out->ext[out->next++] = e;
  }
  bool dup;
  int64_t dupid;
  const char *dupname;
  if ((st = find_dup(ids, nids, &dup, &dupid, c->err))) goto done;
  if (dup) {
    st = perr(c, FLOE_ECORRUPT, fsp, "field id %lld is used twice",
              (long long)dupid);
    goto done;
  }
  if ((st = find_dup_name(names, n, &dup, &dupname, c->err))) goto done;
  if (dup) {
    st =
        perr(c, FLOE_ECORRUPT, fsp, "field name \"%s\" is used twice", dupname);
    goto done;
  }
  json_t *idf;
  if ((st = get_arr(c, o, path, "identifier-field-ids", false, &idf)))
    goto done;
  if (idf) {
    pkey(b, path, "identifier-field-ids");
    size_t ni = json_array_size(idf);
    if ((st = alloc_n((void **)&out->identifier_ids, ni, sizeof(int32_t),
                      c->err)))
      goto done;
    for (size_t i = 0; i < ni; i++) {
      json_t *v = json_array_get(idf, i);
      json_int_t id = json_integer_value(v);
      if (!json_is_integer(v) || id < INT32_MIN || id > INT32_MAX) {
        st = perr(c, FLOE_ECORRUPT, pidx(fp, b, i), "expected int");
        goto done;
      }
      size_t k;
      for (k = 0; k < n && fs[k].id != id; k++) {
      }
      if (k == n) {
        st = perr(c, FLOE_ECORRUPT, pidx(fp, b, i),
                  "identifier field id %lld is not a top-level field",
                  (long long)id);
        goto done;
      }
      if (fs[k].nullable || fs[k].type.id == COL_FLOAT32 ||
          fs[k].type.id == COL_FLOAT64 || fs[k].type.id == COL_LIST) {
        st = perr(c, FLOE_ECORRUPT, pidx(fp, b, i),
                  "field \"%s\" cannot be an identifier field (must be "
                  "required and not float, double or list)",
                  fs[k].name);
        goto done;
      }
      /* a set in Java: repeats collapse */
      bool seen = false;
      for (int j = 0; j < out->nidentifier; j++)
        if (out->identifier_ids[j] == id) seen = true;
      if (!seen) out->identifier_ids[out->nidentifier++] = (int32_t)id;
    }
  }
  st = col_schema_new(fs, (int)n, &out->cols, c->err);
  if (st != FLOE_OK)
    st = ferr_prefix(c->err, FLOE_ECORRUPT, "%s: %s", c->name, path);
done:
  free(fs);
  free(ids);
  free(names);
  if (st != FLOE_OK) ice_schema_clear(out);
  return st;
}

/* ---- partition specs and sort orders ---- */

static void spec_clear(ice_partition_spec *s) {
  for (int i = 0; i < s->nfields; i++) {
    free(s->fields[i].name);
    ice_transform_clear(&s->fields[i].transform);
  }
  free(s->fields);
  memset(s, 0, sizeof *s);
}

static void order_clear(ice_sort_order *o) {
  for (int i = 0; i < o->nfields; i++)
    ice_transform_clear(&o->fields[i].transform);
  free(o->fields);
  memset(o, 0, sizeof *o);
}

static floe_status parse_transform(pctx *c, const json_t *o, const char *path,
                                   ice_transform *t) {
  const char *s;
  FLOE_TRY(get_str(c, o, path, "transform", true, &s));
  floe_status st = ice_transform_parse(s, t, c->err);
  if (st == FLOE_EINVAL) {
    char b[PATH_LEN], msg[FLOE_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", c->err ? c->err->msg : "bad transform");
    return perr(c, FLOE_ECORRUPT, pkey(b, path, "transform"), "%s", msg);
  }
  return st;
}

/* source-id, or a one-element source-ids (v3); multi-argument transforms
 * have no floe representation. */
static floe_status parse_source(pctx *c, const json_t *o, const char *path,
                                int32_t *out) {
  bool has;
  FLOE_TRY(get_i32(c, o, path, "source-id", false, out, &has));
  json_t *ids;
  FLOE_TRY(get_arr(c, o, path, "source-ids", false, &ids));
  char b[PATH_LEN], e[PATH_LEN];
  if (ids) {
    pkey(b, path, "source-ids");
    size_t n = json_array_size(ids);
    if (n > 1)
      return perr(c, FLOE_EUNSUPPORTED, b,
                  "multi-argument transforms are not supported by floe");
    if (n == 0) return perr(c, FLOE_ECORRUPT, b, "empty");
    json_t *v = json_array_get(ids, 0);
    json_int_t id = json_integer_value(v);
    if (!json_is_integer(v) || id < INT32_MIN || id > INT32_MAX)
      return perr(c, FLOE_ECORRUPT, pidx(e, b, 0), "expected int");
    if (has && id != *out)
      return perr(c, FLOE_ECORRUPT, b, "disagrees with source-id %d",
                  (int)*out);
    *out = (int32_t)id;
    has = true;
  }
  if (!has) return missing(c, path, "source-id");
  return FLOE_OK;
}

static floe_status parse_spec_fields(pctx *c, const json_t *arr,
                                     const char *path,
                                     ice_partition_spec *spec) {
  if (!json_is_array(arr))
    return perr(c, FLOE_ECORRUPT, path, "expected array");
  size_t n = json_array_size(arr);
  if (n > INT32_MAX / 2) return perr(c, FLOE_ECORRUPT, path, "too many");
  FLOE_TRY(alloc_n((void **)&spec->fields, n, sizeof *spec->fields, c->err));
  int with_id = 0;
  char fp[PATH_LEN];
  for (size_t i = 0; i < n; i++) {
    json_t *fo = json_array_get(arr, i);
    pidx(fp, path, i);
    ice_partition_field *f = &spec->fields[i];
    const char *name;
    bool has_id;
    FLOE_TRY(need_obj(c, fo, fp));
    FLOE_TRY(get_str(c, fo, fp, "name", true, &name));
    FLOE_TRY(parse_transform(c, fo, fp, &f->transform));
    spec->nfields = (int)i + 1;
    FLOE_TRY(dupstr(name, &f->name, c->err));
    FLOE_TRY(parse_source(c, fo, fp, &f->source_id));
    FLOE_TRY(get_i32(c, fo, fp, "field-id", false, &f->field_id, &has_id));
    /* v1 specs carry no ids: Java numbers them from 1000 in order */
    if (!has_id) f->field_id = 1000 + (int32_t)i;
    with_id += has_id;
  }
  if (with_id != 0 && (size_t)with_id != n)
    return perr(c, FLOE_ECORRUPT, path,
                "%zu of %zu partition fields have no field-id",
                n - (size_t)with_id, n);
  int64_t *ids;
  const char **names;
  FLOE_TRY(alloc_n((void **)&ids, n, sizeof *ids, c->err));
  floe_status st = alloc_n((void **)&names, n, sizeof *names, c->err);
  if (st != FLOE_OK) {
    free(ids);
    return st;
  }
  for (size_t i = 0; i < n; i++) {
    ids[i] = spec->fields[i].field_id;
    names[i] = spec->fields[i].name;
  }
  bool d1 = false, d2 = false;
  int64_t dupid = 0;
  const char *dupname = NULL;
  st = find_dup(ids, n, &d1, &dupid, c->err);
  if (st == FLOE_OK) st = find_dup_name(names, n, &d2, &dupname, c->err);
  free(ids);
  free(names);
  if (st != FLOE_OK) return st;
  if (d1)
    return perr(c, FLOE_ECORRUPT, path, "partition field id %lld is used twice",
                (long long)dupid);
  if (d2)
    return perr(c, FLOE_ECORRUPT, path,
                "partition field name \"%s\" is used twice", dupname);
  return FLOE_OK;
}

static floe_status parse_spec(pctx *c, const json_t *o, const char *path,
                              ice_partition_spec *spec) {
  FLOE_TRY(need_obj(c, o, path));
  FLOE_TRY(get_i32(c, o, path, "spec-id", true, &spec->spec_id, NULL));
  json_t *fields = member(o, "fields");
  if (!fields) return missing(c, path, "fields");
  char b[PATH_LEN];
  return parse_spec_fields(c, fields, pkey(b, path, "fields"), spec);
}

static floe_status parse_order(pctx *c, const json_t *o, const char *path,
                               ice_sort_order *ord) {
  FLOE_TRY(need_obj(c, o, path));
  FLOE_TRY(get_i32(c, o, path, "order-id", true, &ord->order_id, NULL));
  json_t *fields;
  FLOE_TRY(get_arr(c, o, path, "fields", true, &fields));
  char fsp[PATH_LEN], fp[PATH_LEN], b[PATH_LEN];
  pkey(fsp, path, "fields");
  size_t n = json_array_size(fields);
  if (n > INT32_MAX / 2) return perr(c, FLOE_ECORRUPT, fsp, "too many");
  FLOE_TRY(alloc_n((void **)&ord->fields, n, sizeof *ord->fields, c->err));
  for (size_t i = 0; i < n; i++) {
    json_t *fo = json_array_get(fields, i);
    pidx(fp, fsp, i);
    ice_sort_field *f = &ord->fields[i];
    const char *dir, *nulls;
    FLOE_TRY(need_obj(c, fo, fp));
    FLOE_TRY(parse_transform(c, fo, fp, &f->transform));
    ord->nfields = (int)i + 1;
    FLOE_TRY(parse_source(c, fo, fp, &f->source_id));
    FLOE_TRY(get_str(c, fo, fp, "direction", true, &dir));
    FLOE_TRY(get_str(c, fo, fp, "null-order", true, &nulls));
    if (strcmp(dir, "asc") != 0 && strcmp(dir, "desc") != 0)
      return perr(c, FLOE_ECORRUPT, pkey(b, fp, "direction"),
                  "expected \"asc\" or \"desc\"");
    if (strcmp(nulls, "nulls-first") != 0 && strcmp(nulls, "nulls-last") != 0)
      return perr(c, FLOE_ECORRUPT, pkey(b, fp, "null-order"),
                  "expected \"nulls-first\" or \"nulls-last\"");
    f->descending = dir[0] == 'd';
    f->nulls_first = strcmp(nulls, "nulls-first") == 0;
  }
  return FLOE_OK;
}

/* ---- snapshots, refs, logs ---- */

static void snapshot_clear(ice_snapshot *s) {
  free(s->manifest_list);
  ice_kv_free(&s->summary);
  memset(s, 0, sizeof *s);
}

static floe_status parse_snapshot(pctx *c, const json_t *o, const char *path,
                                  ice_snapshot *s) {
  s->parent_id = ICE_NONE;
  s->schema_id = ICE_NONE;
  s->first_row_id = ICE_NONE;
  s->added_rows = ICE_NONE;
  FLOE_TRY(need_obj(c, o, path));
  char b[PATH_LEN];
  /* Java omits sequence-number 0 and reads its absence as 0 */
  FLOE_TRY(get_nonneg(c, o, path, "sequence-number", false, &s->sequence_number,
                      NULL));
  FLOE_TRY(get_nonneg(c, o, path, "snapshot-id", true, &s->snapshot_id, NULL));
  FLOE_TRY(
      get_nonneg(c, o, path, "parent-snapshot-id", false, &s->parent_id, NULL));
  FLOE_TRY(get_i64(c, o, path, "timestamp-ms", true, &s->timestamp_ms, NULL));
  json_t *sum = member(o, "summary");
  if (sum) {
    pkey(b, path, "summary");
    FLOE_TRY(need_obj(c, sum, b));
    if (json_object_size(sum) > 0) {
      /* "operation" goes first; Java reads a summary without one as an
       * overwrite rather than failing */
      json_t *op = json_object_get(sum, "operation");
      char e[PATH_LEN];
      if (op && !json_is_string(op))
        return perr(c, FLOE_ECORRUPT, pkey(e, b, "operation"),
                    "expected string");
      FLOE_TRY(ice_kv_set(&s->summary, "operation",
                          op ? json_string_value(op) : "overwrite", c->err));
      const char *k;
      json_t *v;
      json_object_foreach(sum, k, v) {
        if (strcmp(k, "operation") == 0) continue;
        if (!json_is_string(v))
          return perr(c, FLOE_ECORRUPT, pkey(e, b, k), "expected string");
        FLOE_TRY(ice_kv_set(&s->summary, k, json_string_value(v), c->err));
      }
    }
  }
  const char *ml;
  FLOE_TRY(get_str(c, o, path, "manifest-list", false, &ml));
  if (!ml) {
    if (member(o, "manifests"))
      return perr(c, FLOE_EUNSUPPORTED, pkey(b, path, "manifests"),
                  "v1 snapshots with embedded manifest lists are not "
                  "supported by floe");
    return missing(c, path, "manifest-list");
  }
  FLOE_TRY(dupstr(ml, &s->manifest_list, c->err));
  int64_t sid = ICE_NONE;
  FLOE_TRY(get_nonneg(c, o, path, "schema-id", false, &sid, NULL));
  if (sid > INT32_MAX)
    return perr(c, FLOE_ECORRUPT, pkey(b, path, "schema-id"),
                "out of int range");
  s->schema_id = (int32_t)sid;
  FLOE_TRY(
      get_nonneg(c, o, path, "first-row-id", false, &s->first_row_id, NULL));
  FLOE_TRY(get_nonneg(c, o, path, "added-rows", false, &s->added_rows, NULL));
  return FLOE_OK;
}

static bool has_id(const int64_t *sorted, size_t n, int64_t id) {
  return bsearch(&id, sorted, n, sizeof *sorted, cmp_i64) != NULL;
}

static floe_status parse_ref(pctx *c, const char *name, const json_t *o,
                             const char *path, const int64_t *snap_ids,
                             size_t nsnap, ice_ref *r) {
  r->min_snapshots_to_keep = ICE_NONE;
  r->max_snapshot_age_ms = ICE_NONE;
  r->max_ref_age_ms = ICE_NONE;
  FLOE_TRY(dupstr(name, &r->name, c->err));
  FLOE_TRY(need_obj(c, o, path));
  char b[PATH_LEN];
  FLOE_TRY(get_i64(c, o, path, "snapshot-id", true, &r->snapshot_id, NULL));
  if (!has_id(snap_ids, nsnap, r->snapshot_id))
    return perr(c, FLOE_ECORRUPT, pkey(b, path, "snapshot-id"),
                "snapshot %lld does not exist", (long long)r->snapshot_id);
  const char *type;
  FLOE_TRY(get_str(c, o, path, "type", true, &type));
  if (strcmp(type, "tag") != 0 && strcmp(type, "branch") != 0)
    return perr(c, FLOE_ECORRUPT, pkey(b, path, "type"),
                "expected \"branch\" or \"tag\", got \"%s\"", type);
  r->tag = type[0] == 't';
  bool h1, h2, h3;
  int64_t v;
  FLOE_TRY(get_i64(c, o, path, "min-snapshots-to-keep", false, &v, &h1));
  if (h1) {
    if (v <= 0 || v > INT32_MAX)
      return perr(c, FLOE_ECORRUPT, pkey(b, path, "min-snapshots-to-keep"),
                  "must be 1..%d", INT32_MAX);
    r->min_snapshots_to_keep = (int32_t)v;
  }
  FLOE_TRY(get_i64(c, o, path, "max-snapshot-age-ms", false, &v, &h2));
  if (h2) {
    if (v <= 0)
      return perr(c, FLOE_ECORRUPT, pkey(b, path, "max-snapshot-age-ms"),
                  "must be positive");
    r->max_snapshot_age_ms = v;
  }
  FLOE_TRY(get_i64(c, o, path, "max-ref-age-ms", false, &v, &h3));
  if (h3) {
    if (v <= 0)
      return perr(c, FLOE_ECORRUPT, pkey(b, path, "max-ref-age-ms"),
                  "must be positive");
    r->max_ref_age_ms = v;
  }
  if (r->tag && (h1 || h2))
    return perr(c, FLOE_ECORRUPT, path,
                "a tag cannot have branch retention settings");
  return FLOE_OK;
}

static floe_status parse_log(pctx *c, const json_t *root, const char *key,
                             bool metadata, ice_log_entry **out, int *nout) {
  json_t *arr;
  FLOE_TRY(get_arr(c, root, "", key, false, &arr));
  if (!arr) return FLOE_OK;
  size_t n = json_array_size(arr);
  if (n > INT32_MAX / 2) return perr(c, FLOE_ECORRUPT, key, "too many");
  FLOE_TRY(alloc_n((void **)out, n, sizeof **out, c->err));
  char p[PATH_LEN];
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(arr, i);
    ice_log_entry *e = &(*out)[i];
    pidx(p, key, i);
    FLOE_TRY(need_obj(c, o, p));
    FLOE_TRY(get_i64(c, o, p, "timestamp-ms", true, &e->timestamp_ms, NULL));
    if (metadata) {
      const char *f;
      FLOE_TRY(get_str(c, o, p, "metadata-file", true, &f));
      FLOE_TRY(dupstr(f, &e->file, c->err));
    } else {
      FLOE_TRY(get_i64(c, o, p, "snapshot-id", true, &e->snapshot_id, NULL));
    }
    *nout = (int)i + 1;
  }
  return FLOE_OK;
}

/* ---- the document ---- */

static floe_status parse_uuid(pctx *c, const char *path, const char *s,
                              char out[37]) {
  if (!valid_uuid(s, strlen(s)))
    return perr(c, FLOE_ECORRUPT, path, "\"%.40s\" is not a UUID", s);
  for (int i = 0; i < 36; i++) out[i] = (char)tolower((unsigned char)s[i]);
  out[36] = 0;
  return FLOE_OK;
}

static floe_status parse_schemas(pctx *c, const json_t *root,
                                 ice_metadata *md) {
  json_t *schemas;
  char p[PATH_LEN];
  FLOE_TRY(get_arr(c, root, "", "schemas", false, &schemas));
  if (schemas) {
    FLOE_TRY(get_i32(c, root, "", "current-schema-id", true,
                     &md->current_schema_id, NULL));
    size_t n = json_array_size(schemas);
    if (n == 0) return perr(c, FLOE_ECORRUPT, "schemas", "empty");
    if (n > INT32_MAX / 2) return perr(c, FLOE_ECORRUPT, "schemas", "too many");
    FLOE_TRY(alloc_n((void **)&md->schemas, n, sizeof *md->schemas, c->err));
    for (size_t i = 0; i < n; i++) {
      FLOE_TRY(parse_schema(c, json_array_get(schemas, i),
                            pidx(p, "schemas", i), &md->schemas[i]));
      md->nschemas = (int)i + 1;
    }
  } else {
    /* v1: a single `schema` */
    json_t *sch = member(root, "schema");
    if (c->fv >= 2 || !sch) return missing(c, "", "schemas");
    FLOE_TRY(alloc_n((void **)&md->schemas, 1, sizeof *md->schemas, c->err));
    FLOE_TRY(parse_schema(c, sch, "schema", &md->schemas[0]));
    md->nschemas = 1;
    md->current_schema_id = md->schemas[0].schema_id;
  }
  int64_t *ids;
  FLOE_TRY(alloc_n((void **)&ids, (size_t)md->nschemas, sizeof *ids, c->err));
  for (int i = 0; i < md->nschemas; i++) ids[i] = md->schemas[i].schema_id;
  bool dup;
  int64_t d = 0;
  floe_status st = find_dup(ids, (size_t)md->nschemas, &dup, &d, c->err);
  free(ids);
  FLOE_TRY(st);
  if (dup)
    return perr(c, FLOE_ECORRUPT, "schemas", "schema-id %lld is used twice",
                (long long)d);
  if (!ice_metadata_current_schema(md))
    return perr(c, FLOE_ECORRUPT, "current-schema-id",
                "schema %d does not exist", (int)md->current_schema_id);
  for (int i = 0; i < md->nschemas; i++) {
    int32_t m = ice_schema_max_id(&md->schemas[i]);
    if (m > md->last_column_id)
      return perr(c, FLOE_ECORRUPT, "last-column-id",
                  "%d is below field id %d of schema %d",
                  (int)md->last_column_id, (int)m,
                  (int)md->schemas[i].schema_id);
  }
  return FLOE_OK;
}

static floe_status parse_specs(pctx *c, const json_t *root, ice_metadata *md) {
  json_t *specs;
  char p[PATH_LEN];
  FLOE_TRY(get_arr(c, root, "", "partition-specs", false, &specs));
  if (specs) {
    FLOE_TRY(get_i32(c, root, "", "default-spec-id", true, &md->default_spec_id,
                     NULL));
    size_t n = json_array_size(specs);
    if (n > INT32_MAX / 2)
      return perr(c, FLOE_ECORRUPT, "partition-specs", "too many");
    FLOE_TRY(alloc_n((void **)&md->specs, n, sizeof *md->specs, c->err));
    for (size_t i = 0; i < n; i++) {
      md->nspecs = (int)i + 1;
      FLOE_TRY(parse_spec(c, json_array_get(specs, i),
                          pidx(p, "partition-specs", i), &md->specs[i]));
    }
  } else {
    /* v1: the fields of the one spec, id 0 */
    json_t *ps = member(root, "partition-spec");
    if (c->fv >= 2 || !ps) return missing(c, "", "partition-specs");
    FLOE_TRY(alloc_n((void **)&md->specs, 1, sizeof *md->specs, c->err));
    md->nspecs = 1;
    FLOE_TRY(parse_spec_fields(c, ps, "partition-spec", &md->specs[0]));
    md->default_spec_id = 0;
  }
  int64_t *ids;
  FLOE_TRY(alloc_n((void **)&ids, (size_t)md->nspecs, sizeof *ids, c->err));
  for (int i = 0; i < md->nspecs; i++) ids[i] = md->specs[i].spec_id;
  bool dup;
  int64_t d = 0;
  floe_status st = find_dup(ids, (size_t)md->nspecs, &dup, &d, c->err);
  free(ids);
  FLOE_TRY(st);
  if (dup)
    return perr(c, FLOE_ECORRUPT, "partition-specs",
                "spec-id %lld is used twice", (long long)d);
  if (!ice_metadata_spec(md, md->default_spec_id))
    return perr(c, FLOE_ECORRUPT, "default-spec-id", "spec %d does not exist",
                (int)md->default_spec_id);
  int32_t maxf = 999; /* what Java reports for "no partition fields yet" */
  for (int i = 0; i < md->nspecs; i++)
    for (int j = 0; j < md->specs[i].nfields; j++)
      if (md->specs[i].fields[j].field_id > maxf)
        maxf = md->specs[i].fields[j].field_id;
  bool has;
  FLOE_TRY(get_i32(c, root, "", "last-partition-id", c->fv >= 2,
                   &md->last_partition_id, &has));
  if (!has) md->last_partition_id = maxf;
  if (md->last_partition_id < maxf)
    return perr(c, FLOE_ECORRUPT, "last-partition-id",
                "%d is below partition field id %d", (int)md->last_partition_id,
                (int)maxf);
  return FLOE_OK;
}

static floe_status parse_orders(pctx *c, const json_t *root, ice_metadata *md) {
  json_t *orders;
  char p[PATH_LEN];
  FLOE_TRY(get_arr(c, root, "", "sort-orders", false, &orders));
  if (orders) {
    FLOE_TRY(get_i32(c, root, "", "default-sort-order-id", true,
                     &md->default_sort_order_id, NULL));
    size_t n = json_array_size(orders);
    if (n > INT32_MAX / 2)
      return perr(c, FLOE_ECORRUPT, "sort-orders", "too many");
    FLOE_TRY(
        alloc_n((void **)&md->sort_orders, n, sizeof *md->sort_orders, c->err));
    for (size_t i = 0; i < n; i++) {
      md->nsort_orders = (int)i + 1;
      FLOE_TRY(parse_order(c, json_array_get(orders, i),
                           pidx(p, "sort-orders", i), &md->sort_orders[i]));
    }
  } else {
    if (c->fv >= 2) return missing(c, "", "sort-orders");
    /* v1 tables without orders are unsorted (order 0) */
    FLOE_TRY(
        alloc_n((void **)&md->sort_orders, 1, sizeof *md->sort_orders, c->err));
    md->nsort_orders = 1;
    md->default_sort_order_id = 0;
  }
  int64_t *ids;
  FLOE_TRY(
      alloc_n((void **)&ids, (size_t)md->nsort_orders, sizeof *ids, c->err));
  for (int i = 0; i < md->nsort_orders; i++)
    ids[i] = md->sort_orders[i].order_id;
  bool dup, found = false;
  int64_t d = 0;
  floe_status st = find_dup(ids, (size_t)md->nsort_orders, &dup, &d, c->err);
  free(ids);
  FLOE_TRY(st);
  if (dup)
    return perr(c, FLOE_ECORRUPT, "sort-orders", "order-id %lld is used twice",
                (long long)d);
  for (int i = 0; i < md->nsort_orders; i++)
    if (md->sort_orders[i].order_id == md->default_sort_order_id) found = true;
  if (!found)
    return perr(c, FLOE_ECORRUPT, "default-sort-order-id",
                "sort order %d does not exist", (int)md->default_sort_order_id);
  return FLOE_OK;
}

static floe_status parse_snapshots(pctx *c, const json_t *root,
                                   ice_metadata *md, int64_t **sorted_ids) {
  json_t *snaps;
  char p[PATH_LEN];
  *sorted_ids = NULL;
  FLOE_TRY(get_arr(c, root, "", "snapshots", false, &snaps));
  size_t n = json_array_size(snaps); /* 0 when absent */
  if (n > INT32_MAX / 2) return perr(c, FLOE_ECORRUPT, "snapshots", "too many");
  FLOE_TRY(alloc_n((void **)&md->snapshots, n, sizeof *md->snapshots, c->err));
  for (size_t i = 0; i < n; i++) {
    md->nsnapshots = (int)i + 1;
    pidx(p, "snapshots", i);
    FLOE_TRY(parse_snapshot(c, json_array_get(snaps, i), p, &md->snapshots[i]));
    if (c->fv >= 2 &&
        md->snapshots[i].sequence_number > md->last_sequence_number)
      return perr(c, FLOE_ECORRUPT, p,
                  "sequence-number %lld is above last-sequence-number %lld",
                  (long long)md->snapshots[i].sequence_number,
                  (long long)md->last_sequence_number);
  }
  int64_t *ids;
  FLOE_TRY(alloc_n((void **)&ids, n, sizeof *ids, c->err));
  for (size_t i = 0; i < n; i++) ids[i] = md->snapshots[i].snapshot_id;
  qsort(ids, n, sizeof *ids, cmp_i64);
  for (size_t i = 1; i < n; i++)
    if (ids[i] == ids[i - 1]) {
      int64_t d = ids[i];
      free(ids);
      return perr(c, FLOE_ECORRUPT, "snapshots",
                  "snapshot-id %lld is used twice", (long long)d);
    }
  *sorted_ids = ids;
  return FLOE_OK;
}

static floe_status parse_refs(pctx *c, const json_t *root, ice_metadata *md,
                              const int64_t *snap_ids) {
  size_t nsnap = (size_t)md->nsnapshots;
  int64_t cur = ICE_NONE;
  bool has;
  FLOE_TRY(get_i64(c, root, "", "current-snapshot-id", false, &cur, &has));
  /* Java wrote -1 for "no snapshot" before v3 */
  md->current_snapshot_id = has && cur != -1 ? cur : ICE_NONE;
  if (md->current_snapshot_id != ICE_NONE &&
      !has_id(snap_ids, nsnap, md->current_snapshot_id))
    return perr(c, FLOE_ECORRUPT, "current-snapshot-id",
                "snapshot %lld does not exist", (long long)cur);
  json_t *refs = member(root, "refs");
  size_t n = 0;
  if (refs) {
    FLOE_TRY(need_obj(c, refs, "refs"));
    n = json_object_size(refs);
  }
  if (n > INT32_MAX / 2) return perr(c, FLOE_ECORRUPT, "refs", "too many");
  /* one spare slot for a synthesized main branch */
  FLOE_TRY(alloc_n((void **)&md->refs, n + 1, sizeof *md->refs, c->err));
  /* main goes first when floe adds it; the others keep their order */
  bool has_main = refs && json_object_get(refs, "main");
  if (!has_main && md->current_snapshot_id != ICE_NONE) {
    ice_ref *m = &md->refs[md->nrefs++];
    FLOE_TRY(dupstr("main", &m->name, c->err));
    m->snapshot_id = md->current_snapshot_id;
    m->min_snapshots_to_keep = ICE_NONE;
    m->max_snapshot_age_ms = ICE_NONE;
    m->max_ref_age_ms = ICE_NONE;
  }
  if (refs) {
    const char *k;
    json_t *v;
    char p[PATH_LEN];
    json_object_foreach(refs, k, v) {
      ice_ref *r = &md->refs[md->nrefs++];
      FLOE_TRY(parse_ref(c, k, v, pkey(p, "refs", k), snap_ids, nsnap, r));
      if (strcmp(k, "main") != 0) continue;
      if (r->tag) return perr(c, FLOE_ECORRUPT, p, "main must be a branch");
      if (md->current_snapshot_id == ICE_NONE)
        return perr(c, FLOE_ECORRUPT, p,
                    "main branch exists but current-snapshot-id is not set");
      if (r->snapshot_id != md->current_snapshot_id)
        return perr(c, FLOE_ECORRUPT, p,
                    "main points at %lld, current-snapshot-id is %lld",
                    (long long)r->snapshot_id,
                    (long long)md->current_snapshot_id);
    }
  }
  return FLOE_OK;
}

static floe_status parse_root(pctx *c, const json_t *root, ice_metadata *md) {
  int64_t fv;
  FLOE_TRY(get_i64(c, root, "", "format-version", true, &fv, NULL));
  if (fv > 3)
    return perr(c, FLOE_EUNSUPPORTED, "format-version",
                "version %lld is newer than floe reads (1..3)", (long long)fv);
  if (fv < 1)
    return perr(c, FLOE_ECORRUPT, "format-version", "%lld is not 1..3",
                (long long)fv);
  c->fv = md->format_version = (int)fv;
  const char *s;
  FLOE_TRY(get_str(c, root, "", "table-uuid", fv >= 2, &s));
  if (s) FLOE_TRY(parse_uuid(c, "table-uuid", s, md->table_uuid));
  FLOE_TRY(get_str(c, root, "", "location", true, &s));
  FLOE_TRY(dupstr(s, &md->location, c->err));
  if (fv >= 2)
    FLOE_TRY(get_nonneg(c, root, "", "last-sequence-number", true,
                        &md->last_sequence_number, NULL));
  FLOE_TRY(get_i64(c, root, "", "last-updated-ms", true, &md->last_updated_ms,
                   NULL));
  FLOE_TRY(
      get_i32(c, root, "", "last-column-id", true, &md->last_column_id, NULL));
  FLOE_TRY(parse_schemas(c, root, md));
  FLOE_TRY(parse_specs(c, root, md));
  FLOE_TRY(parse_orders(c, root, md));
  json_t *props = member(root, "properties");
  if (props) {
    FLOE_TRY(need_obj(c, props, "properties"));
    const char *k;
    json_t *v;
    char p[PATH_LEN];
    json_object_foreach(props, k, v) {
      if (!json_is_string(v))
        return perr(c, FLOE_ECORRUPT, pkey(p, "properties", k),
                    "expected string");
      FLOE_TRY(ice_kv_set(&md->properties, k, json_string_value(v), c->err));
    }
  }
  int64_t *snap_ids;
  FLOE_TRY(parse_snapshots(c, root, md, &snap_ids));
  floe_status st = parse_refs(c, root, md, snap_ids);
  free(snap_ids);
  FLOE_TRY(st);
  FLOE_TRY(parse_log(c, root, "snapshot-log", false, &md->snapshot_log,
                     &md->nsnapshot_log));
  FLOE_TRY(parse_log(c, root, "metadata-log", true, &md->metadata_log,
                     &md->nmetadata_log));
  if (fv >= 3)
    FLOE_TRY(
        get_nonneg(c, root, "", "next-row-id", true, &md->next_row_id, NULL));
  /* statistics, partition-statistics and encryption-keys are not modelled:
   * floe writes none, and dropping them only loses optional hints */
  return FLOE_OK;
}

floe_status ice_metadata_parse(const char *json, size_t len, const char *name,
                               ice_metadata **out, floe_error *err) {
  *out = NULL;
  pctx c = {name ? name : "metadata", err, 0};
  json_error_t je;
  json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return ferr_corrupt(err, "%s: invalid JSON at line %d column %d: %s",
                        c.name, je.line, je.column, je.text);
  floe_status st;
  ice_metadata *md = NULL;
  if (!json_is_object(root)) {
    st = ferr_corrupt(err, "%s: expected a JSON object", c.name);
    goto done;
  }
  md = calloc(1, sizeof *md);
  if (!md) {
    st = ferr_nomem(err, sizeof *md);
    goto done;
  }
  md->current_snapshot_id = ICE_NONE;
  st = parse_root(&c, root, md);
done:
  json_decref(root);
  if (st != FLOE_OK) {
    ice_metadata_free(md);
    return st;
  }
  *out = md;
  return FLOE_OK;
}

/* ---------------------------------------------------------------- lifetime */

void ice_metadata_free(ice_metadata *md) {
  if (!md) return;
  free(md->location);
  for (int i = 0; i < md->nschemas; i++) ice_schema_clear(&md->schemas[i]);
  free(md->schemas);
  for (int i = 0; i < md->nspecs; i++) spec_clear(&md->specs[i]);
  free(md->specs);
  ice_kv_free(&md->properties);
  for (int i = 0; i < md->nsnapshots; i++) snapshot_clear(&md->snapshots[i]);
  free(md->snapshots);
  free(md->snapshot_log);
  for (int i = 0; i < md->nmetadata_log; i++) free(md->metadata_log[i].file);
  free(md->metadata_log);
  for (int i = 0; i < md->nsort_orders; i++) order_clear(&md->sort_orders[i]);
  free(md->sort_orders);
  for (int i = 0; i < md->nrefs; i++) free(md->refs[i].name);
  free(md->refs);
  free(md);
}

const ice_schema *ice_metadata_schema(const ice_metadata *md, int32_t id) {
  for (int i = 0; i < md->nschemas; i++)
    if (md->schemas[i].schema_id == id) return &md->schemas[i];
  return NULL;
}

const ice_schema *ice_metadata_current_schema(const ice_metadata *md) {
  return ice_metadata_schema(md, md->current_schema_id);
}

const ice_partition_spec *ice_metadata_spec(const ice_metadata *md,
                                            int32_t id) {
  for (int i = 0; i < md->nspecs; i++)
    if (md->specs[i].spec_id == id) return &md->specs[i];
  return NULL;
}

const ice_snapshot *ice_metadata_snapshot(const ice_metadata *md, int64_t id) {
  for (int i = 0; i < md->nsnapshots; i++)
    if (md->snapshots[i].snapshot_id == id) return &md->snapshots[i];
  return NULL;
}

const ice_snapshot *ice_metadata_current_snapshot(const ice_metadata *md) {
  if (md->current_snapshot_id == ICE_NONE) return NULL;
  return ice_metadata_snapshot(md, md->current_snapshot_id);
}

/* ---------------------------------------------------------------- writing */

/* Re-emits a stored default through the writer, so a list default follows
 * the document's layout (pretty or compact) as Jackson would. */
static void write_default(jw *w, const char *key, const char *text) {
  if (!text || w->st != FLOE_OK) return;
  json_error_t je;
  json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
  if (!v) {
    w->st = ferr_set(w->err, FLOE_EINVAL,
                     "%s: stored default %.40s is not "
                     "JSON",
                     key, text);
    return;
  }
  jw_key(w, key);
  jw_json(w, v);
  json_decref(v);
}

static void write_type(jw *w, const col_field *f) {
  char t[32];
  if (f->type.id != COL_LIST) {
    scalar_text(f->type.id, f->type.precision, f->type.scale, t, sizeof t);
    jw_str(w, t);
    return;
  }
  jw_obj_begin(w);
  jw_kstr(w, "type", "list");
  jw_kint(w, "element-id", f->elem_id);
  scalar_text(f->type.elem, f->type.elem_precision, f->type.elem_scale, t,
              sizeof t);
  jw_kstr(w, "element", t);
  jw_kbool(w, "element-required", !f->elem_nullable);
  jw_obj_end(w);
}

static void write_schema(jw *w, const ice_schema *s) {
  jw_obj_begin(w);
  jw_kstr(w, "type", "struct");
  jw_kint(w, "schema-id", s->schema_id);
  if (s->nidentifier > 0) {
    jw_key(w, "identifier-field-ids");
    jw_arr_begin(w);
    for (int i = 0; i < s->nidentifier; i++) jw_int(w, s->identifier_ids[i]);
    jw_arr_end(w);
  }
  jw_key(w, "fields");
  jw_arr_begin(w);
  for (int i = 0; s->cols && i < s->cols->nfields; i++) {
    const col_field *f = &s->cols->fields[i];
    jw_obj_begin(w);
    jw_kint(w, "id", f->id);
    jw_kstr(w, "name", f->name);
    jw_kbool(w, "required", !f->nullable);
    jw_key(w, "type");
    write_type(w, f);
    const ice_field_ext *e = ice_schema_ext(s, f->id);
    if (e) {
      if (e->doc) jw_kstr(w, "doc", e->doc);
      write_default(w, "initial-default", e->initial_default);
      write_default(w, "write-default", e->write_default);
    }
    jw_obj_end(w);
  }
  jw_arr_end(w);
  jw_obj_end(w);
}

static void write_spec_fields(jw *w, const ice_partition_spec *spec) {
  jw_arr_begin(w);
  for (int i = 0; i < spec->nfields; i++) {
    const ice_partition_field *f = &spec->fields[i];
    jw_obj_begin(w);
    jw_kstr(w, "name", f->name);
    jw_kstr(w, "transform", f->transform.text ? f->transform.text : "");
    jw_kint(w, "source-id", f->source_id);
    jw_kint(w, "field-id", f->field_id);
    jw_obj_end(w);
  }
  jw_arr_end(w);
}

static void write_spec(jw *w, const ice_partition_spec *spec) {
  jw_obj_begin(w);
  jw_kint(w, "spec-id", spec->spec_id);
  jw_key(w, "fields");
  write_spec_fields(w, spec);
  jw_obj_end(w);
}

static void write_order(jw *w, const ice_sort_order *o) {
  jw_obj_begin(w);
  jw_kint(w, "order-id", o->order_id);
  jw_key(w, "fields");
  jw_arr_begin(w);
  for (int i = 0; i < o->nfields; i++) {
    const ice_sort_field *f = &o->fields[i];
    jw_obj_begin(w);
    jw_kstr(w, "transform", f->transform.text ? f->transform.text : "");
    jw_kint(w, "source-id", f->source_id);
    jw_kstr(w, "direction", f->descending ? "desc" : "asc");
    jw_kstr(w, "null-order", f->nulls_first ? "nulls-first" : "nulls-last");
    jw_obj_end(w);
  }
  jw_arr_end(w);
  jw_obj_end(w);
}

static void write_snapshot(jw *w, const ice_snapshot *s) {
  if (w->st != FLOE_OK) return;
  const char *op = ice_kv_get(&s->summary, "operation");
  if (s->summary.n > 0 && !op) {
    w->st = ferr_set(w->err, FLOE_EINVAL,
                     "snapshot %lld: summary has no \"operation\"",
                     (long long)s->snapshot_id);
    return;
  }
  if (!s->manifest_list) {
    w->st = ferr_set(w->err, FLOE_EINVAL, "snapshot %lld: no manifest list",
                     (long long)s->snapshot_id);
    return;
  }
  jw_obj_begin(w);
  if (s->sequence_number > 0) jw_kint(w, "sequence-number", s->sequence_number);
  jw_kint(w, "snapshot-id", s->snapshot_id);
  if (s->parent_id != ICE_NONE) jw_kint(w, "parent-snapshot-id", s->parent_id);
  jw_kint(w, "timestamp-ms", s->timestamp_ms);
  if (op) {
    jw_key(w, "summary");
    jw_obj_begin(w);
    jw_kstr(w, "operation", op);
    for (int i = 0; i < s->summary.n; i++)
      if (strcmp(s->summary.keys[i], "operation") != 0)
        jw_kstr(w, s->summary.keys[i], s->summary.vals[i]);
    jw_obj_end(w);
  }
  jw_kstr(w, "manifest-list", s->manifest_list);
  if (s->schema_id != ICE_NONE) jw_kint(w, "schema-id", s->schema_id);
  if (s->first_row_id != ICE_NONE) jw_kint(w, "first-row-id", s->first_row_id);
  if (s->added_rows != ICE_NONE) jw_kint(w, "added-rows", s->added_rows);
  jw_obj_end(w);
}

static void write_ref(jw *w, const ice_ref *r) {
  jw_key(w, r->name);
  jw_obj_begin(w);
  jw_kint(w, "snapshot-id", r->snapshot_id);
  jw_kstr(w, "type", r->tag ? "tag" : "branch");
  if (r->min_snapshots_to_keep != ICE_NONE)
    jw_kint(w, "min-snapshots-to-keep", r->min_snapshots_to_keep);
  if (r->max_snapshot_age_ms != ICE_NONE)
    jw_kint(w, "max-snapshot-age-ms", r->max_snapshot_age_ms);
  if (r->max_ref_age_ms != ICE_NONE)
    jw_kint(w, "max-ref-age-ms", r->max_ref_age_ms);
  jw_obj_end(w);
}

static void empty_array(jw *w, const char *key) {
  jw_key(w, key);
  jw_arr_begin(w);
  jw_arr_end(w);
}

/*
 * The render cache (ice_md_jcache). A commit's document is the last one
 * plus a snapshot and a log entry or two, so the cache keeps the last
 * compact document and, per array element of the three arrays that grow
 * (snapshots, snapshot-log, metadata-log), what its text is a pure function
 * of and where the text sits. The next render copies every element found
 * again, in runs: consecutive elements of the last document that are
 * consecutive again (the usual case: all but the newest) go out in one
 * memcpy. Only new elements are rendered. The two document buffers
 * alternate, so a render reuses the memory of the one before last.
 */
enum { JC_SNAPS, JC_SLOG, JC_MLOG, JC_NSETS };

/* One element: its key fields (snapshots: id, sequence number, timestamp
 * and manifest list; snapshot-log: id, timestamp; metadata-log: timestamp
 * and file) and its text at doc[off, off + len). Snapshots are immutable and
 * their ids random 63-bit values, so id + sequence number + timestamp +
 * manifest list pin a snapshot's text (only a table replaced under the same
 * handle could reuse an id; the extra fields keep even that exact). */
typedef struct jc_rec {
  int64_t a, b, c;
  char *s; /* owned; NULL when none (or moved to a later record) */
  size_t off, len;
} jc_rec;

typedef struct jc_set {
  size_t n, cap;
  jc_rec *r;
  size_t hcap; /* power of two; 0 = no index */
  uint32_t *h; /* record index + 1 by hash of a; 0 = free */
} jc_set;

struct ice_md_jcache {
  fbuf doc[2];
  int cur;    /* doc[cur] holds the last document */
  bool valid; /* the sets describe doc[cur] */
  jc_set set[JC_NSETS];
};

ice_md_jcache *ice_md_jcache_new(void) {
  return calloc(1, sizeof(ice_md_jcache));
}

static void jc_set_free(jc_set *s) {
  for (size_t i = 0; i < s->n; i++) free(s->r[i].s);
  free(s->r);
  free(s->h);
  memset(s, 0, sizeof *s);
}

void ice_md_jcache_free(ice_md_jcache *c) {
  if (!c) return;
  for (int i = 0; i < JC_NSETS; i++) jc_set_free(&c->set[i]);
  fbuf_free(&c->doc[0]);
  fbuf_free(&c->doc[1]);
  free(c);
}

static size_t jc_hash(int64_t a, size_t cap) {
  uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ull;
  return (size_t)(h >> 17) & (cap - 1);
}

/* Indexes s's records by a (duplicates each get a slot). */
static floe_status jc_index(jc_set *s, floe_error *err) {
  size_t cap = 16;
  while (cap < s->n * 2) cap *= 2;
  if (cap != s->hcap) {
    free(s->h);
    s->hcap = 0;
    s->h = malloc(cap * sizeof *s->h);
    if (!s->h) return ferr_nomem(err, cap * sizeof *s->h);
    s->hcap = cap;
  }
  memset(s->h, 0, cap * sizeof *s->h);
  for (size_t i = 0; i < s->n; i++) {
    size_t k = jc_hash(s->r[i].a, cap);
    while (s->h[k]) k = (k + 1) & (cap - 1);
    s->h[k] = (uint32_t)i + 1;
  }
  return FLOE_OK;
}

/* One element being written: its key fields. */
typedef struct jc_key {
  int64_t a, b, c;
  const char *s;
} jc_key;

static bool jc_match(const jc_rec *r, const jc_key *k) {
  if (r->a != k->a || r->b != k->b || r->c != k->c) return false;
  if (!k->s) return true;
  return r->s && strcmp(r->s, k->s) == 0;
}

/* Copying one array of the last document into the new one. */
typedef struct jc_arr {
  jc_set *old;          /* NULL: nothing cached */
  const char *odoc;     /* the last document */
  jc_set *nw;           /* records of the document being written */
  bool open;            /* a run of old records [lo, hi] is pending */
  size_t lo, hi, first; /* first: its first record in nw */
} jc_arr;

static void jc_push(jw *w, jc_arr *r, const jc_rec *rec) {
  if (w->st != FLOE_OK) return;
  jc_set *s = r->nw;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    void *p = realloc(s->r, cap * sizeof *s->r);
    if (!p) {
      w->st = ferr_nomem(w->err, cap * sizeof *s->r);
      free(rec->s);
      return;
    }
    s->r = p;
    s->cap = cap;
  }
  s->r[s->n++] = *rec;
}

/* Writes the pending run (one raw value: the elements with the commas
 * between them) and moves its records' offsets into the new document. */
static void jc_flush(jw *w, jc_arr *r) {
  if (!r->open) return;
  r->open = false;
  const jc_rec *lo = &r->old->r[r->lo], *hi = &r->old->r[r->hi];
  size_t from = lo->off, n = hi->off + hi->len - from;
  jw_raw(w, r->odoc + from, n);
  if (w->st != FLOE_OK) return;
  size_t base = w->out->len - n;
  for (size_t i = r->first; i < r->nw->n; i++)
    r->nw->r[i].off = base + (r->nw->r[i].off - from);
}

/* Looks k up among the last document's elements; -1 when it is new. */
static ptrdiff_t jc_find(const jc_arr *r, const jc_key *k) {
  const jc_set *o = r->old;
  if (!o || !o->n) return -1;
  /* the usual case: the element after the previous one */
  if (r->open && r->hi + 1 < o->n && jc_match(&o->r[r->hi + 1], k))
    return (ptrdiff_t)r->hi + 1;
  if (!o->hcap) return -1;
  for (size_t h = jc_hash(k->a, o->hcap); o->h[h]; h = (h + 1) & (o->hcap - 1))
    if (jc_match(&o->r[o->h[h] - 1], k)) return (ptrdiff_t)o->h[h] - 1;
  return -1;
}

/* One element: copied from the last document when it was there (else
 * rendered by fn into a scratch buffer), recorded for the next render. */
static void jc_elem(jw *w, jc_arr *r, const jc_key *k,
                    void (*fn)(jw *, const void *), const void *arg) {
  if (w->st != FLOE_OK) return;
  ptrdiff_t i = jc_find(r, k);
  jc_rec rec = {k->a, k->b, k->c, NULL, 0, 0};
  if (i >= 0) {
    jc_rec *o = &r->old->r[i];
    if (!(r->open && (size_t)i == r->hi + 1)) {
      jc_flush(w, r);
      r->open = true;
      r->lo = (size_t)i;
      r->first = r->nw->n;
    }
    r->hi = (size_t)i;
    rec.off = o->off; /* moved into the new document by jc_flush */
    rec.len = o->len;
    /* the key string moves on (a duplicate element copies it) */
    rec.s = o->s;
    o->s = NULL;
    if (!rec.s && k->s && !(rec.s = strdup(k->s))) {
      w->st = ferr_nomem(w->err, strlen(k->s) + 1);
      return;
    }
    jc_push(w, r, &rec);
    return;
  }
  jc_flush(w, r);
  fbuf b = FBUF_INIT;
  jw sw;
  jw_init(&sw, &b, false, w->err);
  fn(&sw, arg);
  w->st = jw_finish(&sw);
  if (w->st == FLOE_OK) jw_raw(w, (const char *)b.data, b.len);
  if (w->st == FLOE_OK) {
    rec.off = w->out->len - b.len;
    rec.len = b.len;
    if (k->s && !(rec.s = strdup(k->s)))
      w->st = ferr_nomem(w->err, strlen(k->s) + 1);
  }
  fbuf_free(&b);
  if (w->st == FLOE_OK) jc_push(w, r, &rec);
}

static void write_snapshot(jw *w, const ice_snapshot *s);

static void emit_snapshot(jw *w, const void *a) { write_snapshot(w, a); }

static void emit_slog(jw *w, const void *a) {
  const ice_log_entry *l = a;
  jw_obj_begin(w);
  jw_kint(w, "timestamp-ms", l->timestamp_ms);
  jw_kint(w, "snapshot-id", l->snapshot_id);
  jw_obj_end(w);
}

static void emit_mlog(jw *w, const void *a) {
  const ice_log_entry *l = a;
  jw_obj_begin(w);
  jw_kint(w, "timestamp-ms", l->timestamp_ms);
  jw_kstr(w, "metadata-file", l->file ? l->file : "");
  jw_obj_end(w);
}

typedef struct md_write_arg {
  const ice_metadata *md;
  ice_md_jcache *c; /* NULL: no cache */
  jc_set *nw;       /* the new records, one set per array */
} md_write_arg;

/* The elements of one array, through the cache when there is one. */
static void write_elems(jw *w, const md_write_arg *a, int set, int n,
                        void (*key)(const void *, jc_key *),
                        void (*fn)(jw *, const void *), const void *base,
                        size_t size) {
  jw_arr_begin(w);
  jc_arr r = {NULL, NULL, NULL, false, 0, 0, 0};
  if (a->c) {
    r.old = a->c->valid ? &a->c->set[set] : NULL;
    r.odoc = (const char *)a->c->doc[a->c->cur].data;
    r.nw = &a->nw[set];
  }
  for (int i = 0; i < n && w->st == FLOE_OK; i++) {
    const void *e = (const char *)base + (size_t)i * size;
    if (!a->c) {
      fn(w, e);
      continue;
    }
    jc_key k;
    key(e, &k);
    jc_elem(w, &r, &k, fn, e);
  }
  if (a->c) jc_flush(w, &r);
  jw_arr_end(w);
}

static void key_snapshot(const void *e, jc_key *k) {
  const ice_snapshot *s = e;
  *k = (jc_key){s->snapshot_id, s->sequence_number, s->timestamp_ms,
                s->manifest_list ? s->manifest_list : ""};
}

static void key_slog(const void *e, jc_key *k) {
  const ice_log_entry *l = e;
  *k = (jc_key){l->snapshot_id, l->timestamp_ms, 0, NULL};
}

static void key_mlog(const void *e, jc_key *k) {
  const ice_log_entry *l = e;
  *k = (jc_key){l->timestamp_ms, 0, 0, l->file ? l->file : ""};
}

/* Field order of Java's TableMetadataParser.toJson (1.10/1.11). */
static void write_metadata(jw *w, const md_write_arg *a) {
  const ice_metadata *md = a->md;
  int fv = md->format_version;
  jw_obj_begin(w);
  jw_kint(w, "format-version", fv);
  if (md->table_uuid[0]) jw_kstr(w, "table-uuid", md->table_uuid);
  jw_kstr(w, "location", md->location ? md->location : "");
  if (fv > 1) jw_kint(w, "last-sequence-number", md->last_sequence_number);
  jw_kint(w, "last-updated-ms", md->last_updated_ms);
  jw_kint(w, "last-column-id", md->last_column_id);
  const ice_schema *cur = ice_metadata_current_schema(md);
  const ice_partition_spec *spec = ice_metadata_spec(md, md->default_spec_id);
  if (!cur || !spec) {
    if (w->st == FLOE_OK)
      w->st = ferr_set(w->err, FLOE_EINVAL,
                       "metadata: current schema or default spec missing");
    return;
  }
  if (fv == 1) {
    jw_key(w, "schema");
    write_schema(w, cur);
  }
  jw_kint(w, "current-schema-id", md->current_schema_id);
  jw_key(w, "schemas");
  jw_arr_begin(w);
  for (int i = 0; i < md->nschemas; i++) write_schema(w, &md->schemas[i]);
  jw_arr_end(w);
  if (fv == 1) {
    jw_key(w, "partition-spec");
    write_spec_fields(w, spec);
  }
  jw_kint(w, "default-spec-id", md->default_spec_id);
  jw_key(w, "partition-specs");
  jw_arr_begin(w);
  for (int i = 0; i < md->nspecs; i++) write_spec(w, &md->specs[i]);
  jw_arr_end(w);
  jw_kint(w, "last-partition-id", md->last_partition_id);
  jw_kint(w, "default-sort-order-id", md->default_sort_order_id);
  jw_key(w, "sort-orders");
  jw_arr_begin(w);
  for (int i = 0; i < md->nsort_orders; i++)
    write_order(w, &md->sort_orders[i]);
  jw_arr_end(w);
  jw_key(w, "properties");
  jw_obj_begin(w);
  for (int i = 0; i < md->properties.n; i++)
    jw_kstr(w, md->properties.keys[i], md->properties.vals[i]);
  jw_obj_end(w);
  jw_key(w, "current-snapshot-id");
  if (md->current_snapshot_id != ICE_NONE)
    jw_int(w, md->current_snapshot_id);
  else if (fv >= 3)
    jw_null(w); /* Java: null from v3 on, -1 before */
  else
    jw_int(w, -1);
  if (fv >= 3) jw_kint(w, "next-row-id", md->next_row_id);
  jw_key(w, "refs");
  jw_obj_begin(w);
  for (int i = 0; i < md->nrefs; i++) write_ref(w, &md->refs[i]);
  jw_obj_end(w);
  jw_key(w, "snapshots");
  write_elems(w, a, JC_SNAPS, md->nsnapshots, key_snapshot, emit_snapshot,
              md->snapshots, sizeof *md->snapshots);
  empty_array(w, "statistics");
  empty_array(w, "partition-statistics");
  jw_key(w, "snapshot-log");
  write_elems(w, a, JC_SLOG, md->nsnapshot_log, key_slog, emit_slog,
              md->snapshot_log, sizeof *md->snapshot_log);
  jw_key(w, "metadata-log");
  write_elems(w, a, JC_MLOG, md->nmetadata_log, key_mlog, emit_mlog,
              md->metadata_log, sizeof *md->metadata_log);
  jw_obj_end(w);
}

/* Runs a writer into out; on failure out is left as it was. */
static floe_status emit(fbuf *out, bool pretty, floe_error *err,
                        void (*fn)(jw *, const void *), const void *arg) {
  size_t len0 = out->len;
  jw w;
  jw_init(&w, out, pretty, err);
  fn(&w, arg);
  floe_status st = jw_finish(&w);
  if (st != FLOE_OK) out->len = len0;
  return st;
}

static void emit_metadata(jw *w, const void *a) { write_metadata(w, a); }
static void emit_schema(jw *w, const void *a) { write_schema(w, a); }
static void emit_spec_fields(jw *w, const void *a) { write_spec_fields(w, a); }

floe_status ice_metadata_write(const ice_metadata *md, bool pretty, fbuf *out,
                               floe_error *err) {
  md_write_arg a = {md, NULL, NULL};
  return emit(out, pretty, err, emit_metadata, &a);
}

floe_status ice_metadata_render_cached(const ice_metadata *md, ice_md_jcache *c,
                                       const char **doc, size_t *len,
                                       floe_error *err) {
  int nx = 1 - c->cur;
  fbuf *out = &c->doc[nx];
  out->len = 0;
  const fbuf *last = &c->doc[c->cur];
  /* documents grow by a snapshot per commit: room for the last one and
   * more saves the copies of doubling */
  floe_status st = fbuf_reserve(out, last->len + last->len / 8 + 4096, err);
  if (st) return st;
  jc_set nw[JC_NSETS];
  memset(nw, 0, sizeof nw);
  md_write_arg a = {md, c, nw};
  st = emit(out, false, err, emit_metadata, &a);
  for (int i = 0; i < JC_NSETS && !st; i++) st = jc_index(&nw[i], err);
  /* the old records (strings partly moved out) are done with either way */
  for (int i = 0; i < JC_NSETS; i++) {
    jc_set_free(&c->set[i]);
    c->set[i] = nw[i];
  }
  if (st) {
    for (int i = 0; i < JC_NSETS; i++) jc_set_free(&c->set[i]);
    c->valid = false;
    out->len = 0;
    return st;
  }
  c->cur = nx;
  c->valid = true;
  *doc = (const char *)out->data;
  *len = out->len;
  return FLOE_OK;
}

floe_status ice_metadata_write_cached(const ice_metadata *md, bool pretty,
                                      ice_md_jcache *c, fbuf *out,
                                      floe_error *err) {
  if (!c || pretty) return ice_metadata_write(md, pretty, out, err);
  const char *doc;
  size_t len;
  FLOE_TRY(ice_metadata_render_cached(md, c, &doc, &len, err));
  return fbuf_append(out, doc, len, err);
}

floe_status ice_schema_write_json(const ice_schema *s, fbuf *out,
                                  floe_error *err) {
  return emit(out, false, err, emit_schema, s);
}

floe_status ice_spec_fields_write_json(const ice_partition_spec *spec,
                                       fbuf *out, floe_error *err) {
  return emit(out, false, err, emit_spec_fields, spec);
}

/* ---------------------------------------------------------------- new */

/* A random (version 4) UUID from the kernel; no RNG state of our own. */
static floe_status random_uuid(char out[37], floe_error *err) {
  uint8_t b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = getrandom(b + got, sizeof b - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  if (got < sizeof b) {
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return ferr_set(err, FLOE_EIO, "table uuid: no random source: %s",
                      strerror(errno));
    got = 0;
    while (got < sizeof b) {
      ssize_t n = read(fd, b + got, sizeof b - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += (size_t)n;
    }
    close(fd);
    if (got < sizeof b)
      return ferr_set(err, FLOE_EIO,
                      "table uuid: short read from "
                      "/dev/urandom");
  }
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
  static const char hex[] = "0123456789abcdef";
  int o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  out[36] = 0;
  return FLOE_OK;
}

/* Ids positive and unique (elements included), names unique. */
static floe_status check_col_schema(const col_schema *s, floe_error *err) {
  size_t n = (size_t)s->nfields;
  int64_t *ids;
  const char **names;
  FLOE_TRY(alloc_n((void **)&ids, 2 * n, sizeof *ids, err));
  floe_status st = alloc_n((void **)&names, n, sizeof *names, err);
  if (st != FLOE_OK) {
    free(ids);
    return st;
  }
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const col_field *f = &s->fields[i];
    ids[k++] = f->id;
    if (f->type.id == COL_LIST) ids[k++] = f->elem_id;
    names[i] = f->name;
    if (f->id <= 0 || (f->type.id == COL_LIST && f->elem_id <= 0)) {
      st = ferr_set(err, FLOE_EINVAL,
                    "schema: field \"%s\" has id %d; ids "
                    "must be positive",
                    f->name, (int)f->id);
      goto done;
    }
    if (!f->name[0]) {
      st = ferr_set(err, FLOE_EINVAL, "schema: field %d has an empty name",
                    (int)f->id);
      goto done;
    }
  }
  bool dup;
  int64_t d;
  const char *dn;
  if ((st = find_dup(ids, k, &dup, &d, err))) goto done;
  if (dup) {
    st = ferr_set(err, FLOE_EINVAL, "schema: field id %lld is used twice",
                  (long long)d);
    goto done;
  }
  if ((st = find_dup_name(names, n, &dup, &dn, err))) goto done;
  if (dup)
    st = ferr_set(err, FLOE_EINVAL, "schema: field name \"%s\" is used twice",
                  dn);
done:
  free(ids);
  free(names);
  return st;
}

static floe_status new_spec(const col_schema *schema,
                            const ice_partition_spec *in,
                            ice_partition_spec *out, floe_error *err) {
  out->spec_id = 0;
  int n = in ? in->nfields : 0;
  FLOE_TRY(alloc_n((void **)&out->fields, (size_t)n, sizeof *out->fields, err));
  for (int i = 0; i < n; i++) {
    const ice_partition_field *a = &in->fields[i];
    ice_partition_field *b = &out->fields[i];
    if (!a->name || !a->name[0])
      return ferr_set(err, FLOE_EINVAL, "partition field %d has no name", i);
    int k = col_schema_find_id(schema, a->source_id);
    if (k < 0)
      return ferr_set(err, FLOE_EINVAL,
                      "partition field \"%s\": source column %d does not "
                      "exist",
                      a->name, (int)a->source_id);
    floe_status st =
        ice_transform_check(&a->transform, schema->fields[k].type, err);
    if (st != FLOE_OK)
      return ferr_prefix(err, st, "partition field \"%s\"", a->name);
    /* Java's rule: a partition name may shadow a column only as that
     * column's identity partition */
    int same = col_schema_find(schema, a->name);
    if (same >= 0 && !(a->transform.kind == ICE_T_IDENTITY && same == k))
      return ferr_set(err, FLOE_EINVAL,
                      "partition field \"%s\" has the name of a column",
                      a->name);
    for (int j = 0; j < i; j++)
      if (strcmp(in->fields[j].name, a->name) == 0)
        return ferr_set(err, FLOE_EINVAL,
                        "partition field name \"%s\" is used twice", a->name);
    b->source_id = a->source_id;
    b->field_id = 1000 + i;
    out->nfields = i + 1;
    FLOE_TRY(dupstr(a->name, &b->name, err));
    FLOE_TRY(ice_transform_copy(&b->transform, &a->transform, err));
  }
  return FLOE_OK;
}

floe_status ice_metadata_new(const char *location, col_schema *schema,
                             const ice_partition_spec *spec,
                             const char *table_uuid, int64_t now_ms,
                             ice_metadata **out, floe_error *err) {
  *out = NULL;
  if (!location || !location[0])
    return ferr_set(err, FLOE_EINVAL, "new table: no location");
  if (!schema) return ferr_set(err, FLOE_EINVAL, "new table: no schema");
  FLOE_TRY(check_col_schema(schema, err));
  ice_metadata *md = calloc(1, sizeof *md);
  if (!md) return ferr_nomem(err, sizeof *md);
  floe_status st;
  md->format_version = ICE_FORMAT_VERSION;
  md->current_snapshot_id = ICE_NONE;
  md->last_updated_ms = now_ms;
  if (table_uuid) {
    if (!valid_uuid(table_uuid, strlen(table_uuid))) {
      st = ferr_set(err, FLOE_EINVAL, "new table: \"%.40s\" is not a UUID",
                    table_uuid);
      goto fail;
    }
    for (int i = 0; i < 36; i++)
      md->table_uuid[i] = (char)tolower((unsigned char)table_uuid[i]);
  } else if ((st = random_uuid(md->table_uuid, err))) {
    goto fail;
  }
  if ((st = dupstr(location, &md->location, err))) goto fail;
  if ((st = alloc_n((void **)&md->schemas, 1, sizeof *md->schemas, err)))
    goto fail;
  md->nschemas = 1;
  md->schemas[0].cols = col_schema_ref(schema);
  md->last_column_id = ice_schema_max_id(&md->schemas[0]);
  if ((st = alloc_n((void **)&md->specs, 1, sizeof *md->specs, err))) goto fail;
  md->nspecs = 1;
  if ((st = new_spec(schema, spec, &md->specs[0], err))) goto fail;
  /* 999 when unpartitioned: Java's "last assigned" before the first 1000 */
  md->last_partition_id = 999 + md->specs[0].nfields;
  if ((st =
           alloc_n((void **)&md->sort_orders, 1, sizeof *md->sort_orders, err)))
    goto fail;
  md->nsort_orders = 1;
  *out = md;
  return FLOE_OK;
fail:
  ice_metadata_free(md);
  return st;
}

/* ---------------------------------------------------------------- clone */

static floe_status clone_into(ice_metadata *d, const ice_metadata *s,
                              floe_error *err) {
  floe_status st;
  d->format_version = s->format_version;
  memcpy(d->table_uuid, s->table_uuid, sizeof d->table_uuid);
  d->last_sequence_number = s->last_sequence_number;
  d->last_updated_ms = s->last_updated_ms;
  d->last_column_id = s->last_column_id;
  d->current_schema_id = s->current_schema_id;
  d->default_spec_id = s->default_spec_id;
  d->last_partition_id = s->last_partition_id;
  d->current_snapshot_id = s->current_snapshot_id;
  d->default_sort_order_id = s->default_sort_order_id;
  d->next_row_id = s->next_row_id;
  FLOE_TRY(dupstr(s->location, &d->location, err));
  FLOE_TRY(alloc_n((void **)&d->schemas, (size_t)s->nschemas,
                   sizeof *d->schemas, err));
  for (int i = 0; i < s->nschemas; i++) {
    FLOE_TRY(ice_schema_copy(&d->schemas[i], &s->schemas[i], err));
    d->nschemas = i + 1;
  }
  FLOE_TRY(
      alloc_n((void **)&d->specs, (size_t)s->nspecs, sizeof *d->specs, err));
  for (int i = 0; i < s->nspecs; i++) {
    const ice_partition_spec *a = &s->specs[i];
    ice_partition_spec *b = &d->specs[i];
    d->nspecs = i + 1;
    b->spec_id = a->spec_id;
    FLOE_TRY(alloc_n((void **)&b->fields, (size_t)a->nfields, sizeof *b->fields,
                     err));
    for (int j = 0; j < a->nfields; j++) {
      b->fields[j] = a->fields[j];
      b->fields[j].name = NULL;
      b->fields[j].transform.text = NULL;
      b->nfields = j + 1;
      FLOE_TRY(dupstr(a->fields[j].name, &b->fields[j].name, err));
      FLOE_TRY(ice_transform_copy(&b->fields[j].transform,
                                  &a->fields[j].transform, err));
    }
  }
  FLOE_TRY(ice_kv_copy(&d->properties, &s->properties, err));
  FLOE_TRY(alloc_n((void **)&d->snapshots, (size_t)s->nsnapshots,
                   sizeof *d->snapshots, err));
  for (int i = 0; i < s->nsnapshots; i++) {
    const ice_snapshot *a = &s->snapshots[i];
    ice_snapshot *b = &d->snapshots[i];
    d->nsnapshots = i + 1;
    *b = *a;
    b->manifest_list = NULL;
    memset(&b->summary, 0, sizeof b->summary);
    FLOE_TRY(dupstr(a->manifest_list, &b->manifest_list, err));
    FLOE_TRY(ice_kv_copy(&b->summary, &a->summary, err));
  }
  FLOE_TRY(alloc_n((void **)&d->snapshot_log, (size_t)s->nsnapshot_log,
                   sizeof *d->snapshot_log, err));
  for (int i = 0; i < s->nsnapshot_log; i++) {
    d->snapshot_log[i] = s->snapshot_log[i];
    d->snapshot_log[i].file = NULL;
  }
  d->nsnapshot_log = s->nsnapshot_log;
  FLOE_TRY(alloc_n((void **)&d->metadata_log, (size_t)s->nmetadata_log,
                   sizeof *d->metadata_log, err));
  for (int i = 0; i < s->nmetadata_log; i++) {
    d->metadata_log[i] = s->metadata_log[i];
    d->metadata_log[i].file = NULL;
    d->nmetadata_log = i + 1;
    FLOE_TRY(dupstr(s->metadata_log[i].file, &d->metadata_log[i].file, err));
  }
  FLOE_TRY(alloc_n((void **)&d->sort_orders, (size_t)s->nsort_orders,
                   sizeof *d->sort_orders, err));
  for (int i = 0; i < s->nsort_orders; i++) {
    const ice_sort_order *a = &s->sort_orders[i];
    ice_sort_order *b = &d->sort_orders[i];
    d->nsort_orders = i + 1;
    b->order_id = a->order_id;
    FLOE_TRY(alloc_n((void **)&b->fields, (size_t)a->nfields, sizeof *b->fields,
                     err));
    for (int j = 0; j < a->nfields; j++) {
      b->fields[j] = a->fields[j];
      b->fields[j].transform.text = NULL;
      b->nfields = j + 1;
      FLOE_TRY(ice_transform_copy(&b->fields[j].transform,
                                  &a->fields[j].transform, err));
    }
  }
  FLOE_TRY(alloc_n((void **)&d->refs, (size_t)s->nrefs, sizeof *d->refs, err));
  for (int i = 0; i < s->nrefs; i++) {
    d->refs[i] = s->refs[i];
    d->refs[i].name = NULL;
    d->nrefs = i + 1;
    FLOE_TRY(dupstr(s->refs[i].name, &d->refs[i].name, err));
  }
  st = FLOE_OK;
  return st;
}

floe_status ice_metadata_clone(const ice_metadata *md, ice_metadata **out,
                               floe_error *err) {
  *out = NULL;
  ice_metadata *d = calloc(1, sizeof *d);
  if (!d) return ferr_nomem(err, sizeof *d);
  floe_status st = clone_into(d, md, err);
  if (st != FLOE_OK) {
    ice_metadata_free(d);
    return st;
  }
  *out = d;
  return FLOE_OK;
}
