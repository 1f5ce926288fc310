/* Avro binary encoding, schemas, generic decoding and container files; see
 * avro.h. Schema JSON goes through jansson, deflate through zlib. */
#include "iceberg/avro.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "util/hash.h"

static const uint8_t AVRO_MAGIC[4] = {'O', 'b', 'j', 1};

/* ================= binary encoding ================= */

floe_status avro_put_long(fbuf *b, int64_t v, floe_error *err) {
  uint64_t u = ((uint64_t)v << 1) ^ (v < 0 ? ~(uint64_t)0 : 0);
  return fbuf_put_uvarint(b, u, err);
}

floe_status avro_put_int(fbuf *b, int32_t v, floe_error *err) {
  return avro_put_long(b, v, err);
}

floe_status avro_put_bool(fbuf *b, bool v, floe_error *err) {
  return fbuf_put_u8(b, v ? 1 : 0, err);
}

floe_status avro_put_float(fbuf *b, float v, floe_error *err) {
  return fbuf_append(b, &v, 4, err); /* little-endian host */
}

floe_status avro_put_double(fbuf *b, double v, floe_error *err) {
  return fbuf_append(b, &v, 8, err);
}

floe_status avro_put_bytes(fbuf *b, const void *p, size_t n, floe_error *err) {
  if (n > (size_t)INT64_MAX)
    return ferr_set(err, FLOE_ERANGE, "avro: %zu bytes is too long", n);
  FLOE_TRY(avro_put_long(b, (int64_t)n, err));
  return fbuf_append(b, p, n, err);
}

floe_status avro_put_string(fbuf *b, const char *s, floe_error *err) {
  return avro_put_bytes(b, s, strlen(s), err);
}

floe_status avro_put_fixed(fbuf *b, const void *p, size_t n, floe_error *err) {
  return fbuf_append(b, p, n, err);
}

floe_status avro_put_union(fbuf *b, int64_t branch, floe_error *err) {
  return avro_put_long(b, branch, err);
}

floe_status avro_put_enum(fbuf *b, int32_t index, floe_error *err) {
  return avro_put_long(b, index, err);
}

floe_status avro_block_end(fbuf *b, const avro_block *blk, floe_error *err) {
  if (blk->start > b->len)
    return ferr_set(err, FLOE_EINVAL, "avro block: buffer shrank");
  if (blk->count > 0) {
    /* the count goes in front of the items; encode it aside, then shift */
    uint8_t tmp[10];
    fbuf t = {tmp, 0, sizeof tmp};
    FLOE_TRY(avro_put_long(&t, blk->count, err));
    FLOE_TRY(fbuf_reserve(b, t.len, err));
    memmove(b->data + blk->start + t.len, b->data + blk->start,
            b->len - blk->start);
    memcpy(b->data + blk->start, tmp, t.len);
    b->len += t.len;
  }
  return fbuf_put_u8(b, 0, err);
}

floe_status avro_get_long(fcur *c, int64_t *out, floe_error *err) {
  uint64_t u;
  FLOE_TRY(fcur_uvarint(c, &u, err));
  *out = funzigzag(u);
  return FLOE_OK;
}

floe_status avro_get_int(fcur *c, int32_t *out, floe_error *err) {
  int64_t v;
  FLOE_TRY(avro_get_long(c, &v, err));
  if (v < INT32_MIN || v > INT32_MAX)
    return fcur_fail(c, err, "int %lld out of the 32-bit range", (long long)v);
  *out = (int32_t)v;
  return FLOE_OK;
}

floe_status avro_get_bool(fcur *c, bool *out, floe_error *err) {
  uint8_t v;
  FLOE_TRY(fcur_u8(c, &v, err));
  if (v > 1) {
    c->pos--;
    return fcur_fail(c, err, "boolean byte is %u, not 0 or 1", v);
  }
  *out = v;
  return FLOE_OK;
}

floe_status avro_get_float(fcur *c, float *out, floe_error *err) {
  const uint8_t *p;
  FLOE_TRY(fcur_bytes(c, 4, &p, err));
  memcpy(out, p, 4);
  return FLOE_OK;
}

floe_status avro_get_double(fcur *c, double *out, floe_error *err) {
  const uint8_t *p;
  FLOE_TRY(fcur_bytes(c, 8, &p, err));
  memcpy(out, p, 8);
  return FLOE_OK;
}

floe_status avro_get_bytes(fcur *c, const uint8_t **p, size_t *n,
                           floe_error *err) {
  int64_t len;
  FLOE_TRY(avro_get_long(c, &len, err));
  if (len < 0) return fcur_fail(c, err, "negative length %lld", (long long)len);
  if ((uint64_t)len > fcur_left(c))
    return fcur_fail(c, err, "length %lld exceeds the %zu bytes left",
                     (long long)len, fcur_left(c));
  *n = (size_t)len;
  return fcur_bytes(c, (size_t)len, p, err);
}

/* ================= a string-keyed hash table in an arena ================= */

/* Names, field names, symbols and header keys of hostile input can number
 * in the millions, so duplicate checks and lookups must not be quadratic. */
typedef struct strmap {
  const char **keys;
  void **vals;
  size_t cap; /* power of two, 0 when empty */
  size_t n;
} strmap;

static void *sm_get(const strmap *m, const char *k) {
  if (!m->cap) return NULL;
  size_t mask = m->cap - 1;
  for (size_t i = fhash64(k, strlen(k)) & mask;; i = (i + 1) & mask) {
    if (!m->keys[i]) return NULL;
    if (strcmp(m->keys[i], k) == 0) return m->vals[i];
  }
}

static void sm_insert(strmap *m, const char *k, void *v) {
  size_t mask = m->cap - 1;
  size_t i = fhash64(k, strlen(k)) & mask;
  while (m->keys[i]) i = (i + 1) & mask;
  m->keys[i] = k;
  m->vals[i] = v;
  m->n++;
}

/* Adds k -> v (v must not be NULL); *dup says k was there (and nothing
 * changed). k must outlive the map. */
static floe_status sm_put(farena *a, strmap *m, const char *k, void *v,
                          bool *dup, floe_error *err) {
  *dup = sm_get(m, k) != NULL;
  if (*dup) return FLOE_OK;
  if ((m->n + 1) * 2 > m->cap) {
    strmap g = {0};
    g.cap = m->cap ? m->cap * 2 : 16;
    g.keys = farena_alloc(a, g.cap * sizeof *g.keys, err);
    g.vals = farena_alloc(a, g.cap * sizeof *g.vals, err);
    if (!g.keys || !g.vals) return err ? err->code : FLOE_ENOMEM;
    memset(g.keys, 0, g.cap * sizeof *g.keys);
    for (size_t i = 0; i < m->cap; i++)
      if (m->keys[i]) sm_insert(&g, m->keys[i], m->vals[i]);
    *m = g;
  }
  sm_insert(m, k, v);
  return FLOE_OK;
}

/* ================= schemas ================= */

static const char *const TYPE_NAMES[] = {
    "null",   "boolean", "int",  "long",  "float", "double", "bytes",
    "string", "record",  "enum", "array", "map",   "union",  "fixed"};

const char *avro_type_name(avro_type t) {
  if ((unsigned)t < sizeof TYPE_NAMES / sizeof *TYPE_NAMES)
    return TYPE_NAMES[t];
  return "?";
}

static int primitive_type(const char *s) {
  for (int t = AV_NULL; t <= AV_STRING; t++)
    if (strcmp(s, TYPE_NAMES[t]) == 0) return t;
  return -1;
}

typedef struct sp_ctx {
  farena *a;
  floe_error *err;
  floe_status code; /* ECORRUPT for files, EINVAL for a caller's schema */
  strmap names;     /* full name -> avro_schema* */
} sp_ctx;

static floe_status sp_fail(sp_ctx *x, const char *fmt, ...) FLOE_PRINTF(2, 3);
static floe_status sp_fail(sp_ctx *x, const char *fmt, ...) {
  char msg[FLOE_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ferr_set(x->err, x->code, "avro schema: %s", msg);
}

static floe_status sp_nomem(sp_ctx *x) {
  return x->err ? x->err->code : FLOE_ENOMEM;
}

static char *sp_strdup(sp_ctx *x, const char *s) {
  return farena_strdup(x->a, s, x->err);
}

static avro_schema *sp_new(sp_ctx *x, avro_type t) {
  avro_schema *s = farena_alloc(x->a, sizeof *s, x->err);
  if (!s) return NULL;
  memset(s, 0, sizeof *s);
  s->type = t;
  s->precision = s->scale = -1;
  return s;
}

static bool in_list(const char *k, const char *const *skip) {
  for (; *skip; skip++)
    if (strcmp(k, *skip) == 0) return true;
  return false;
}

/* Keeps every property of o not in skip as (key, compact JSON). */
static floe_status sp_attrs(sp_ctx *x, json_t *o, const char *const *skip,
                            const avro_attr **out, size_t *nout) {
  size_t n = 0;
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    if (!in_list(k, skip)) n++;
  }
  *out = NULL;
  *nout = 0;
  if (!n) return FLOE_OK;
  avro_attr *at = farena_alloc(x->a, n * sizeof *at, x->err);
  if (!at) return sp_nomem(x);
  size_t i = 0;
  json_object_foreach(o, k, v) {
    if (in_list(k, skip)) continue;
    char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!txt) return ferr_nomem(x->err, 64);
    at[i].key = sp_strdup(x, k);
    at[i].json = sp_strdup(x, txt);
    free(txt);
    if (!at[i].key || !at[i].json) return sp_nomem(x);
    i++;
  }
  *out = at;
  *nout = n;
  return FLOE_OK;
}

/* An optional int32 property such as "field-id". */
static floe_status sp_id(sp_ctx *x, json_t *o, const char *key, bool *has,
                         int32_t *out) {
  json_t *v = json_object_get(o, key);
  *has = false;
  if (!v) return FLOE_OK;
  if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
      json_integer_value(v) > INT32_MAX)
    return sp_fail(x, "\"%s\" is not a 32-bit integer", key);
  *has = true;
  *out = (int32_t)json_integer_value(v);
  return FLOE_OK;
}

static size_t add_sat(size_t a, size_t b) {
  const size_t cap = SIZE_MAX / 4;
  return a > cap - (b < cap ? b : cap) ? cap : a + b;
}

/* Named types: full name = namespace + "." + name unless name has a dot. */
static floe_status sp_name(sp_ctx *x, json_t *o, const char *ns,
                           const char **full, const char **own_ns) {
  json_t *nj = json_object_get(o, "name");
  const char *name = json_string_value(nj);
  if (!name || !*name) return sp_fail(x, "named type without a \"name\"");
  const char *dot = strrchr(name, '.');
  if (dot) {
    if (primitive_type(dot + 1) >= 0)
      return sp_fail(x, "name \"%s\" redefines a primitive type", name);
    *full = sp_strdup(x, name);
    char *n2 = farena_dup(x->a, name, (size_t)(dot - name) + 1, x->err);
    if (!*full || !n2) return sp_nomem(x);
    n2[dot - name] = 0;
    *own_ns = n2;
    return FLOE_OK;
  }
  if (primitive_type(name) >= 0)
    return sp_fail(x, "name \"%s\" redefines a primitive type", name);
  json_t *nsj = json_object_get(o, "namespace");
  if (nsj && !json_is_string(nsj) && !json_is_null(nsj))
    return sp_fail(x, "\"namespace\" of \"%s\" is not a string", name);
  if (json_is_string(nsj)) ns = json_string_value(nsj);
  if (ns && *ns) {
    size_t ln = strlen(ns), lm = strlen(name);
    char *f = farena_alloc(x->a, ln + 1 + lm + 1, x->err);
    if (!f) return sp_nomem(x);
    memcpy(f, ns, ln);
    f[ln] = '.';
    memcpy(f + ln + 1, name, lm + 1);
    *full = f;
    *own_ns = sp_strdup(x, ns);
    if (!*own_ns) return sp_nomem(x);
  } else {
    *full = sp_strdup(x, name);
    if (!*full) return sp_nomem(x);
    *own_ns = NULL;
  }
  return FLOE_OK;
}

static floe_status sp_define(sp_ctx *x, avro_schema *s) {
  bool dup;
  FLOE_TRY(sm_put(x->a, &x->names, s->name, s, &dup, x->err));
  if (dup) return sp_fail(x, "type \"%s\" is defined twice", s->name);
  return FLOE_OK;
}

/* A type named by a string: a primitive or an already defined name. */
static floe_status sp_ref(sp_ctx *x, const char *name, const char *ns,
                          avro_schema **out) {
  int t = primitive_type(name);
  if (t >= 0) {
    *out = sp_new(x, (avro_type)t);
    if (!*out) return sp_nomem(x);
    (*out)->min_size = t == AV_NULL     ? 0
                       : t == AV_FLOAT  ? 4
                       : t == AV_DOUBLE ? 8
                                        : 1;
    return FLOE_OK;
  }
  avro_schema *s = NULL;
  if (!strchr(name, '.') && ns && *ns) {
    size_t ln = strlen(ns), lm = strlen(name);
    char *full = malloc(ln + lm + 2);
    if (!full) return ferr_nomem(x->err, ln + lm + 2);
    memcpy(full, ns, ln);
    full[ln] = '.';
    memcpy(full + ln + 1, name, lm + 1);
    s = sm_get(&x->names, full);
    free(full);
  }
  if (!s) s = sm_get(&x->names, name);
  if (!s) return sp_fail(x, "unknown type \"%.200s\"", name);
  *out = s;
  return FLOE_OK;
}

static floe_status sp_parse(sp_ctx *x, json_t *j, const char *ns, int depth,
                            avro_schema **out);

static const char *const SKIP_COMMON[] = {
    "type",   "name",       "namespace", "fields",      "items",
    "values", "symbols",    "size",      "logicalType", "precision",
    "scale",  "element-id", "key-id",    "value-id",    NULL};
static const char *const SKIP_FIELD[] = {"name", "type", "field-id", NULL};

static floe_status sp_record(sp_ctx *x, json_t *o, avro_schema *s,
                             const char *ns, int depth) {
  json_t *fields = json_object_get(o, "fields");
  if (!json_is_array(fields))
    return sp_fail(x, "record \"%s\" has no \"fields\" list", s->name);
  size_t n = json_array_size(fields);
  avro_field *f = NULL;
  if (n) {
    f = farena_alloc(x->a, n * sizeof *f, x->err);
    if (!f) return sp_nomem(x);
    memset(f, 0, n * sizeof *f);
  }
  strmap seen = {0};
  size_t min = 0;
  for (size_t i = 0; i < n; i++) {
    json_t *fj = json_array_get(fields, i);
    if (!json_is_object(fj))
      return sp_fail(x, "record \"%s\": field %zu is not an object", s->name,
                     i);
    const char *name = json_string_value(json_object_get(fj, "name"));
    if (!name || !*name)
      return sp_fail(x, "record \"%s\": field %zu has no name", s->name, i);
    f[i].name = sp_strdup(x, name);
    if (!f[i].name) return sp_nomem(x);
    bool dup;
    FLOE_TRY(sm_put(x->a, &seen, f[i].name, &f[i], &dup, x->err));
    if (dup)
      return sp_fail(x, "record \"%s\": field \"%s\" appears twice", s->name,
                     name);
    json_t *tj = json_object_get(fj, "type");
    if (!tj)
      return sp_fail(x, "record \"%s\": field \"%s\" has no type", s->name,
                     name);
    FLOE_TRY(sp_id(x, fj, "field-id", &f[i].has_id, &f[i].id));
    avro_schema *ft;
    FLOE_TRY(sp_parse(x, tj, ns, depth + 1, &ft));
    f[i].type = ft;
    FLOE_TRY(sp_attrs(x, fj, SKIP_FIELD, &f[i].attrs, &f[i].nattrs));
    min = add_sat(min, ft->min_size);
  }
  s->fields = f;
  s->nfields = n;
  s->min_size = min;
  return FLOE_OK;
}

static floe_status sp_enum(sp_ctx *x, json_t *o, avro_schema *s) {
  json_t *syms = json_object_get(o, "symbols");
  if (!json_is_array(syms))
    return sp_fail(x, "enum \"%s\" has no \"symbols\" list", s->name);
  size_t n = json_array_size(syms);
  if (n > INT32_MAX)
    return sp_fail(x, "enum \"%s\": too many symbols", s->name);
  const char **v = NULL;
  if (n) {
    v = farena_alloc(x->a, n * sizeof *v, x->err);
    if (!v) return sp_nomem(x);
  }
  strmap seen = {0};
  for (size_t i = 0; i < n; i++) {
    const char *sym = json_string_value(json_array_get(syms, i));
    if (!sym || !*sym)
      return sp_fail(x, "enum \"%s\": symbol %zu is not a string", s->name, i);
    v[i] = sp_strdup(x, sym);
    if (!v[i]) return sp_nomem(x);
    bool dup;
    FLOE_TRY(sm_put(x->a, &seen, v[i], (void *)v[i], &dup, x->err));
    if (dup)
      return sp_fail(x, "enum \"%s\": symbol \"%s\" appears twice", s->name,
                     sym);
  }
  s->symbols = v;
  s->nsymbols = n;
  s->min_size = 1;
  return FLOE_OK;
}

static floe_status sp_union(sp_ctx *x, json_t *arr, const char *ns, int depth,
                            avro_schema **out) {
  size_t n = json_array_size(arr);
  if (!n) return sp_fail(x, "empty union");
  avro_schema *s = sp_new(x, AV_UNION);
  const avro_schema **br = farena_alloc(x->a, n * sizeof *br, x->err);
  if (!s || !br) return sp_nomem(x);
  for (size_t i = 0; i < n; i++) {
    avro_schema *b;
    FLOE_TRY(sp_parse(x, json_array_get(arr, i), ns, depth + 1, &b));
    if (b->type == AV_UNION) return sp_fail(x, "union directly inside a union");
    br[i] = b;
  }
  s->branches = br;
  s->nbranches = n;
  s->min_size = 1;
  *out = s;
  return FLOE_OK;
}

static floe_status sp_object(sp_ctx *x, json_t *o, const char *ns, int depth,
                             avro_schema **out) {
  json_t *tj = json_object_get(o, "type");
  if (!tj) return sp_fail(x, "schema object without \"type\"");
  if (!json_is_string(tj)) return sp_parse(x, tj, ns, depth + 1, out);
  const char *type = json_string_value(tj);
  avro_schema *s = NULL;
  int prim = primitive_type(type);
  if (prim >= 0) {
    FLOE_TRY(sp_ref(x, type, ns, &s));
  } else if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0 ||
             strcmp(type, "enum") == 0 || strcmp(type, "fixed") == 0) {
    avro_type t = type[0] == 'e' && type[1] == 'n' ? AV_ENUM
                  : type[0] == 'f'                 ? AV_FIXED
                                                   : AV_RECORD;
    s = sp_new(x, t);
    if (!s) return sp_nomem(x);
    const char *own_ns;
    FLOE_TRY(sp_name(x, o, ns, &s->name, &own_ns));
    /* defined before its fields so a record may refer to itself */
    FLOE_TRY(sp_define(x, s));
    if (t == AV_RECORD) {
      FLOE_TRY(sp_record(x, o, s, own_ns, depth));
    } else if (t == AV_ENUM) {
      FLOE_TRY(sp_enum(x, o, s));
    } else {
      json_t *sz = json_object_get(o, "size");
      if (!json_is_integer(sz) || json_integer_value(sz) < 0 ||
          json_integer_value(sz) > INT32_MAX)
        return sp_fail(x, "fixed \"%s\" has no valid \"size\"", s->name);
      s->size = (size_t)json_integer_value(sz);
      s->min_size = s->size;
    }
  } else if (strcmp(type, "array") == 0 || strcmp(type, "map") == 0) {
    bool arr = type[0] == 'a';
    json_t *ij = json_object_get(o, arr ? "items" : "values");
    if (!ij)
      return sp_fail(x, "%s without \"%s\"", type, arr ? "items" : "values");
    s = sp_new(x, arr ? AV_ARRAY : AV_MAP);
    if (!s) return sp_nomem(x);
    avro_schema *it;
    FLOE_TRY(sp_parse(x, ij, ns, depth + 1, &it));
    s->items = it;
    s->min_size = 1;
    FLOE_TRY(sp_id(x, o, "element-id", &s->has_element_id, &s->element_id));
    FLOE_TRY(sp_id(x, o, "key-id", &s->has_key_id, &s->key_id));
    FLOE_TRY(sp_id(x, o, "value-id", &s->has_value_id, &s->value_id));
  } else {
    /* {"type": "SomeName"}: a reference; its attributes belong to the
     * definition, not to this use */
    return sp_ref(x, type, ns, out);
  }
  json_t *lt = json_object_get(o, "logicalType");
  if (json_is_string(lt)) {
    s->logical = sp_strdup(x, json_string_value(lt));
    if (!s->logical) return sp_nomem(x);
  }
  json_t *pr = json_object_get(o, "precision"),
         *sc = json_object_get(o, "scale");
  if (json_is_integer(pr) && json_integer_value(pr) >= 0 &&
      json_integer_value(pr) <= INT32_MAX)
    s->precision = (int32_t)json_integer_value(pr);
  if (json_is_integer(sc) && json_integer_value(sc) >= 0 &&
      json_integer_value(sc) <= INT32_MAX)
    s->scale = (int32_t)json_integer_value(sc);
  FLOE_TRY(sp_attrs(x, o, SKIP_COMMON, &s->attrs, &s->nattrs));
  *out = s;
  return FLOE_OK;
}

static floe_status sp_parse(sp_ctx *x, json_t *j, const char *ns, int depth,
                            avro_schema **out) {
  if (depth > AVRO_MAX_DEPTH)
    return sp_fail(x, "nested deeper than %d", AVRO_MAX_DEPTH);
  if (json_is_string(j)) return sp_ref(x, json_string_value(j), ns, out);
  if (json_is_array(j)) return sp_union(x, j, ns, depth, out);
  if (json_is_object(j)) return sp_object(x, j, ns, depth, out);
  return sp_fail(x, "a schema must be a string, object or array");
}

static floe_status schema_parse(const char *json, size_t len, farena *a,
                                floe_status code, const avro_schema **out,
                                floe_error *err) {
  json_error_t jerr;
  json_t *root =
      json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
  if (!root)
    return ferr_set(err, code, "avro schema: bad JSON: %s (position %d)",
                    jerr.text, jerr.position);
  sp_ctx x = {a, err, code, {0}};
  avro_schema *s = NULL;
  floe_status st = sp_parse(&x, root, NULL, 0, &s);
  json_decref(root);
  if (st == FLOE_OK) *out = s;
  return st;
}

floe_status avro_schema_parse(const char *json, size_t len, farena *a,
                              const avro_schema **out, floe_error *err) {
  return schema_parse(json, len, a, FLOE_ECORRUPT, out, err);
}

const avro_field *avro_schema_field(const avro_schema *s, const char *name) {
  if (!s || s->type != AV_RECORD) return NULL;
  for (size_t i = 0; i < s->nfields; i++)
    if (strcmp(s->fields[i].name, name) == 0) return &s->fields[i];
  return NULL;
}

const char *avro_schema_attr(const avro_schema *s, const char *key) {
  for (size_t i = 0; s && i < s->nattrs; i++)
    if (strcmp(s->attrs[i].key, key) == 0) return s->attrs[i].json;
  return NULL;
}

/* ================= generic decoding ================= */

typedef struct dctx {
  farena *a;
  floe_error *err;
  size_t budget; /* values this record may still create */
} dctx;

static floe_status dec_value(dctx *x, const avro_schema *s, fcur *c, int depth,
                             avro_value *out);

static floe_status dec_copy(dctx *x, fcur *c, const uint8_t **p, size_t *n) {
  const uint8_t *src;
  FLOE_TRY(avro_get_bytes(c, &src, n, x->err));
  uint8_t *d = farena_alloc(x->a, *n + 1, x->err);
  if (!d) return x->err ? x->err->code : FLOE_ENOMEM;
  if (*n) memcpy(d, src, *n);
  d[*n] = 0;
  *p = d;
  return FLOE_OK;
}

/* Arrays and maps: blocks of count (negative: -count, then byte size) and
 * items, until a zero count. Storage doubles so many small blocks stay
 * linear. */
static floe_status dec_blocks(dctx *x, const avro_schema *s, fcur *c, int depth,
                              avro_value *out) {
  bool map = s->type == AV_MAP;
  size_t esz = map ? sizeof(avro_pair) : sizeof(avro_value);
  size_t min = map ? add_sat(1, s->items->min_size) : s->items->min_size;
  uint8_t *items = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    int64_t cnt;
    FLOE_TRY(avro_get_long(c, &cnt, x->err));
    if (cnt == 0) break;
    size_t end = 0;
    bool sized = cnt < 0;
    if (sized) {
      if (cnt == INT64_MIN) return fcur_fail(c, x->err, "bad block count");
      cnt = -cnt;
      int64_t bytes;
      FLOE_TRY(avro_get_long(c, &bytes, x->err));
      if (bytes < 0 || (uint64_t)bytes > fcur_left(c))
        return fcur_fail(
            c, x->err, "%s block size %lld out of range (%zu left)",
            avro_type_name(s->type), (long long)bytes, fcur_left(c));
      end = c->pos + (size_t)bytes;
    }
    if ((uint64_t)cnt > x->budget)
      return fcur_fail(c, x->err,
                       "%s block of %lld items exceeds the value limit",
                       avro_type_name(s->type), (long long)cnt);
    if (min && (uint64_t)cnt > fcur_left(c) / min)
      return fcur_fail(c, x->err,
                       "%s block of %lld items cannot fit in %zu bytes",
                       avro_type_name(s->type), (long long)cnt, fcur_left(c));
    x->budget -= (size_t)cnt;
    if ((size_t)cnt > cap - n) {
      size_t ncap = cap * 2 > n + (size_t)cnt ? cap * 2 : n + (size_t)cnt;
      if (ncap > SIZE_MAX / esz) return ferr_nomem(x->err, SIZE_MAX);
      uint8_t *g = farena_alloc(x->a, ncap * esz, x->err);
      if (!g) return x->err ? x->err->code : FLOE_ENOMEM;
      if (n) memcpy(g, items, n * esz);
      items = g;
      cap = ncap;
    }
    for (size_t i = 0; i < (size_t)cnt; i++, n++) {
      if (map) {
        avro_pair *pr = (avro_pair *)items + n;
        const uint8_t *k;
        FLOE_TRY(dec_copy(x, c, &k, &pr->key_len));
        pr->key = (const char *)k;
        FLOE_TRY(dec_value(x, s->items, c, depth + 1, &pr->value));
      } else {
        FLOE_TRY(dec_value(x, s->items, c, depth + 1, (avro_value *)items + n));
      }
    }
    if (sized && c->pos != end)
      return fcur_fail(c, x->err, "%s block byte size disagrees with its items",
                       avro_type_name(s->type));
  }
  if (map) {
    out->u.map.v = (const avro_pair *)items;
    out->u.map.n = n;
  } else {
    out->u.list.v = (const avro_value *)items;
    out->u.list.n = n;
  }
  return FLOE_OK;
}

static floe_status dec_value(dctx *x, const avro_schema *s, fcur *c, int depth,
                             avro_value *out) {
  if (depth > AVRO_MAX_DEPTH)
    return fcur_fail(c, x->err, "value nested deeper than %d", AVRO_MAX_DEPTH);
  out->type = s->type;
  out->branch = -1;
  out->schema = s;
  out->name = NULL;
  memset(&out->u, 0, sizeof out->u);
  floe_error *err = x->err;
  switch (s->type) {
  case AV_NULL: return FLOE_OK;
  case AV_BOOLEAN: return avro_get_bool(c, &out->u.b, err);
  case AV_INT: {
    int32_t v;
    FLOE_TRY(avro_get_int(c, &v, err));
    out->u.l = v;
    return FLOE_OK;
  }
  case AV_LONG: return avro_get_long(c, &out->u.l, err);
  case AV_FLOAT: return avro_get_float(c, &out->u.f, err);
  case AV_DOUBLE: return avro_get_double(c, &out->u.d, err);
  case AV_BYTES:
  case AV_STRING: return dec_copy(x, c, &out->u.bytes.p, &out->u.bytes.n);
  case AV_FIXED: {
    const uint8_t *p;
    FLOE_TRY(fcur_bytes(c, s->size, &p, err));
    uint8_t *d = farena_alloc(x->a, s->size + 1, err);
    if (!d) return err ? err->code : FLOE_ENOMEM;
    if (s->size) memcpy(d, p, s->size);
    d[s->size] = 0;
    out->u.bytes.p = d;
    out->u.bytes.n = s->size;
    return FLOE_OK;
  }
  case AV_ENUM: {
    int32_t e;
    FLOE_TRY(avro_get_int(c, &e, err));
    if (e < 0 || (size_t)e >= s->nsymbols)
      return fcur_fail(c, err, "enum index %d out of range for \"%s\" (%zu)", e,
                       s->name, s->nsymbols);
    out->u.e = e;
    return FLOE_OK;
  }
  case AV_UNION: {
    int64_t b;
    FLOE_TRY(avro_get_long(c, &b, err));
    if (b < 0 || (uint64_t)b >= s->nbranches)
      return fcur_fail(c, err, "union branch %lld out of range (%zu branches)",
                       (long long)b, s->nbranches);
    FLOE_TRY(dec_value(x, s->branches[b], c, depth + 1, out));
    out->branch = (int32_t)b;
    return FLOE_OK;
  }
  case AV_RECORD: {
    if (s->nfields > x->budget)
      return fcur_fail(c, err, "record \"%s\" exceeds the value limit",
                       s->name);
    x->budget -= s->nfields;
    avro_value *f = NULL;
    if (s->nfields) {
      f = farena_alloc(x->a, s->nfields * sizeof *f, err);
      if (!f) return err ? err->code : FLOE_ENOMEM;
    }
    for (size_t i = 0; i < s->nfields; i++) {
      FLOE_TRY(dec_value(x, s->fields[i].type, c, depth + 1, &f[i]));
      f[i].name = s->fields[i].name;
    }
    out->u.list.v = f;
    out->u.list.n = s->nfields;
    return FLOE_OK;
  }
  case AV_ARRAY:
  case AV_MAP: return dec_blocks(x, s, c, depth, out);
  }
  return fcur_fail(c, err, "bad schema node");
}

/* Decodes one datum with a budget of values; *used says how many it took. */
static floe_status dec_root(const avro_schema *s, fcur *c, farena *a,
                            size_t budget, const avro_value **out, size_t *used,
                            floe_error *err) {
  if (!budget) return fcur_fail(c, err, "value limit reached");
  dctx x = {a, err, budget - 1};
  avro_value *v = farena_alloc(a, sizeof *v, err);
  if (!v) return err ? err->code : FLOE_ENOMEM;
  FLOE_TRY(dec_value(&x, s, c, 0, v));
  *out = v;
  *used = budget - x.budget;
  return FLOE_OK;
}

floe_status avro_decode(const avro_schema *s, fcur *c, farena *a,
                        const avro_decode_limits *lim, const avro_value **out,
                        floe_error *err) {
  size_t used = 0;
  return dec_root(s, c, a,
                  lim && lim->max_values ? lim->max_values : (size_t)1 << 20,
                  out, &used, err);
}

/* ================= value accessors ================= */

const avro_value *avro_value_field(const avro_value *v, const char *name) {
  if (!v || v->type != AV_RECORD) return NULL;
  for (size_t i = 0; i < v->u.list.n; i++)
    if (strcmp(v->schema->fields[i].name, name) == 0) return &v->u.list.v[i];
  return NULL;
}

const avro_value *avro_value_field_by_id(const avro_value *v, int32_t id) {
  if (!v || v->type != AV_RECORD) return NULL;
  for (size_t i = 0; i < v->u.list.n; i++)
    if (v->schema->fields[i].has_id && v->schema->fields[i].id == id)
      return &v->u.list.v[i];
  return NULL;
}

floe_status avro_value_get(const avro_value *v, const char *name,
                           const avro_value **out, floe_error *err) {
  if (!v || v->type != AV_RECORD)
    return ferr_corrupt(err, "avro: looking up field '%s' in a %s", name,
                        v ? avro_type_name(v->type) : "missing value");
  *out = avro_value_field(v, name);
  if (!*out)
    return ferr_corrupt(err, "avro record \"%s\" has no field '%s'",
                        v->schema->name ? v->schema->name : "?", name);
  return FLOE_OK;
}

static floe_status type_err(const avro_value *v, const char *want,
                            floe_error *err) {
  if (!v) return ferr_corrupt(err, "avro: missing value (expected %s)", want);
  if (v->name)
    return ferr_corrupt(err, "avro field '%s': expected %s, got %s", v->name,
                        want, avro_type_name(v->type));
  return ferr_corrupt(err, "avro value: expected %s, got %s", want,
                      avro_type_name(v->type));
}

bool avro_value_is_null(const avro_value *v) { return v && v->type == AV_NULL; }

floe_status avro_value_bool(const avro_value *v, bool *out, floe_error *err) {
  if (!v || v->type != AV_BOOLEAN) return type_err(v, "boolean", err);
  *out = v->u.b;
  return FLOE_OK;
}

floe_status avro_value_int(const avro_value *v, int32_t *out, floe_error *err) {
  if (!v || v->type != AV_INT) return type_err(v, "int", err);
  *out = (int32_t)v->u.l;
  return FLOE_OK;
}

floe_status avro_value_long(const avro_value *v, int64_t *out,
                            floe_error *err) {
  if (!v || (v->type != AV_LONG && v->type != AV_INT))
    return type_err(v, "long", err);
  *out = v->u.l;
  return FLOE_OK;
}

floe_status avro_value_float(const avro_value *v, float *out, floe_error *err) {
  if (!v || v->type != AV_FLOAT) return type_err(v, "float", err);
  *out = v->u.f;
  return FLOE_OK;
}

floe_status avro_value_double(const avro_value *v, double *out,
                              floe_error *err) {
  if (!v) return type_err(v, "double", err);
  switch (v->type) {
  case AV_DOUBLE: *out = v->u.d; return FLOE_OK;
  case AV_FLOAT: *out = v->u.f; return FLOE_OK;
  case AV_INT:
  case AV_LONG: *out = (double)v->u.l; return FLOE_OK;
  default: return type_err(v, "double", err);
  }
}

floe_status avro_value_string(const avro_value *v, const char **s, size_t *n,
                              floe_error *err) {
  if (!v || v->type != AV_STRING) return type_err(v, "string", err);
  *s = (const char *)v->u.bytes.p;
  if (n) *n = v->u.bytes.n;
  return FLOE_OK;
}

floe_status avro_value_bytes(const avro_value *v, const uint8_t **p, size_t *n,
                             floe_error *err) {
  if (!v || (v->type != AV_BYTES && v->type != AV_FIXED))
    return type_err(v, "bytes", err);
  *p = v->u.bytes.p;
  *n = v->u.bytes.n;
  return FLOE_OK;
}

floe_status avro_value_enum(const avro_value *v, int32_t *index,
                            const char **symbol, floe_error *err) {
  if (!v || v->type != AV_ENUM) return type_err(v, "enum", err);
  if (index) *index = v->u.e;
  if (symbol) *symbol = v->schema->symbols[v->u.e];
  return FLOE_OK;
}

size_t avro_value_array_len(const avro_value *v) {
  return v && v->type == AV_ARRAY ? v->u.list.n : 0;
}

const avro_value *avro_value_array_at(const avro_value *v, size_t i) {
  return i < avro_value_array_len(v) ? &v->u.list.v[i] : NULL;
}

size_t avro_value_map_len(const avro_value *v) {
  return v && v->type == AV_MAP ? v->u.map.n : 0;
}

const avro_pair *avro_value_map_at(const avro_value *v, size_t i) {
  return i < avro_value_map_len(v) ? &v->u.map.v[i] : NULL;
}

floe_status avro_value_array(const avro_value *v, size_t *n, floe_error *err) {
  if (!v || v->type != AV_ARRAY) return type_err(v, "array", err);
  *n = v->u.list.n;
  return FLOE_OK;
}

floe_status avro_value_map(const avro_value *v, size_t *n, floe_error *err) {
  if (!v || v->type != AV_MAP) return type_err(v, "map", err);
  *n = v->u.map.n;
  return FLOE_OK;
}

/* ================= container writer ================= */

struct avro_writer {
  fbuf *out;   /* borrowed */
  fbuf block;  /* encoded records of the open block */
  fbuf packed; /* the block deflated */
  z_stream zs;
  bool zinit;
  avro_codec codec;
  uint8_t sync[AVRO_SYNC_SIZE];
  size_t block_records, block_bytes;
  size_t nblock;    /* records in the open block */
  size_t committed; /* block.len at the last commit */
  uint64_t total;
};

static floe_status put_meta(fbuf *b, const char *key, const void *val,
                            size_t len, floe_error *err) {
  FLOE_TRY(avro_put_string(b, key, err));
  return avro_put_bytes(b, val, len, err);
}

static floe_status writer_header(avro_writer *w, const avro_writer_opts *o,
                                 size_t slen, floe_error *err) {
  fbuf *b = w->out;
  for (size_t i = 0; i < o->nmeta; i++) {
    const char *k = o->meta[i].key;
    if (!k || !*k || strncmp(k, "avro.", 5) == 0)
      return ferr_set(err, FLOE_EINVAL,
                      "avro writer: header key %zu (\"%s\") is empty or "
                      "reserved",
                      i, k ? k : "");
    if (o->meta[i].len && !o->meta[i].val)
      return ferr_set(err, FLOE_EINVAL,
                      "avro writer: header key \"%s\" has "
                      "no value",
                      k);
    for (size_t j = 0; j < i; j++)
      if (strcmp(o->meta[j].key, k) == 0)
        return ferr_set(err, FLOE_EINVAL,
                        "avro writer: header key \"%s\" given twice", k);
  }
  const char *codec = w->codec == AVRO_CODEC_DEFLATE ? "deflate" : "null";
  FLOE_TRY(fbuf_append(b, AVRO_MAGIC, 4, err));
  FLOE_TRY(avro_put_long(b, (int64_t)(2 + o->nmeta), err));
  FLOE_TRY(put_meta(b, "avro.schema", o->schema_json, slen, err));
  FLOE_TRY(put_meta(b, "avro.codec", codec, strlen(codec), err));
  for (size_t i = 0; i < o->nmeta; i++)
    FLOE_TRY(put_meta(b, o->meta[i].key, o->meta[i].val, o->meta[i].len, err));
  FLOE_TRY(avro_put_long(b, 0, err));
  return fbuf_append(b, w->sync, AVRO_SYNC_SIZE, err);
}

floe_status avro_writer_open(const avro_writer_opts *o, fbuf *out,
                             avro_writer **wout, floe_error *err) {
  if (!o || !o->schema_json || !out)
    return ferr_set(err, FLOE_EINVAL, "avro writer: no schema or output");
  if (o->codec != AVRO_CODEC_NULL && o->codec != AVRO_CODEC_DEFLATE)
    return ferr_set(err, FLOE_EINVAL, "avro writer: unknown codec %d",
                    (int)o->codec);
  if (o->deflate_level < 0 || o->deflate_level > 9)
    return ferr_set(err, FLOE_EINVAL, "avro writer: deflate level %d",
                    o->deflate_level);
  size_t slen = o->schema_len ? o->schema_len : strlen(o->schema_json);
  /* a schema floe itself could not read back is a caller bug: refuse it */
  farena a;
  farena_init(&a, 16 * 1024, 0);
  const avro_schema *s;
  floe_status st = schema_parse(o->schema_json, slen, &a, FLOE_EINVAL, &s, err);
  farena_free(&a);
  if (st != FLOE_OK) return st;

  avro_writer *w = calloc(1, sizeof *w);
  if (!w) return ferr_nomem(err, sizeof *w);
  w->out = out;
  w->codec = o->codec;
  w->block_records = o->block_records ? o->block_records : 4096;
  w->block_bytes = o->block_bytes ? o->block_bytes : (size_t)1 << 20;
  if (o->sync) {
    memcpy(w->sync, o->sync, AVRO_SYNC_SIZE);
  } else {
    uint64_t h1 = fhash64_seed(o->schema_json, slen, o->sync_seed);
    uint64_t h2 = fhash64_seed(o->schema_json, slen,
                               o->sync_seed ^ 0x9e3779b97f4a7c15ULL);
    memcpy(w->sync, &h1, 8);
    memcpy(w->sync + 8, &h2, 8);
  }
  if (w->codec == AVRO_CODEC_DEFLATE) {
    int level = o->deflate_level ? o->deflate_level : Z_DEFAULT_COMPRESSION;
    /* negative window bits: raw RFC 1951 deflate, as Avro specifies */
    if (deflateInit2(&w->zs, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
      free(w);
      return ferr_nomem(err, 256 * 1024);
    }
    w->zinit = true;
  }
  size_t old = out->len;
  st = writer_header(w, o, slen, err);
  if (st != FLOE_OK) {
    out->len = old;
    avro_writer_free(w);
    return st;
  }
  *wout = w;
  return FLOE_OK;
}

static floe_status writer_flush(avro_writer *w, floe_error *err) {
  if (!w->nblock) return FLOE_OK;
  const uint8_t *data = w->block.data;
  size_t n = w->block.len;
  if (w->codec == AVRO_CODEC_DEFLATE) {
    if (n > UINT_MAX)
      return ferr_set(err, FLOE_EUNSUPPORTED,
                      "avro writer: block of %zu bytes too big to deflate", n);
    uLong bound = deflateBound(&w->zs, (uLong)n);
    w->packed.len = 0;
    FLOE_TRY(fbuf_reserve(&w->packed, bound, err));
    w->zs.next_in = (Bytef *)w->block.data;
    w->zs.avail_in = (uInt)n;
    w->zs.next_out = w->packed.data;
    w->zs.avail_out = (uInt)bound;
    int zr = deflate(&w->zs, Z_FINISH);
    size_t produced = bound - w->zs.avail_out;
    deflateReset(&w->zs);
    if (zr != Z_STREAM_END)
      return ferr_set(err, FLOE_EIO, "avro writer: deflate failed (%d)", zr);
    data = w->packed.data;
    n = produced;
  }
  FLOE_TRY(avro_put_long(w->out, (int64_t)w->nblock, err));
  FLOE_TRY(avro_put_long(w->out, (int64_t)n, err));
  FLOE_TRY(fbuf_append(w->out, data, n, err));
  FLOE_TRY(fbuf_append(w->out, w->sync, AVRO_SYNC_SIZE, err));
  w->block.len = 0;
  w->committed = 0;
  w->nblock = 0;
  return FLOE_OK;
}

fbuf *avro_writer_record_buf(avro_writer *w) { return &w->block; }

floe_status avro_writer_commit_record(avro_writer *w, floe_error *err) {
  w->committed = w->block.len;
  w->nblock++;
  w->total++;
  if (w->nblock >= w->block_records || w->block.len >= w->block_bytes)
    return writer_flush(w, err);
  return FLOE_OK;
}

floe_status avro_writer_append_record(avro_writer *w, const void *p, size_t n,
                                      floe_error *err) {
  FLOE_TRY(fbuf_append(&w->block, p, n, err));
  return avro_writer_commit_record(w, err);
}

floe_status avro_writer_finish(avro_writer *w, floe_error *err) {
  if (w->block.len != w->committed)
    return ferr_set(err, FLOE_EINVAL,
                    "avro writer: %zu record bytes written but not committed",
                    w->block.len - w->committed);
  return writer_flush(w, err);
}

uint64_t avro_writer_count(const avro_writer *w) { return w->total; }

void avro_writer_free(avro_writer *w) {
  if (!w) return;
  if (w->zinit) deflateEnd(&w->zs);
  fbuf_free(&w->block);
  fbuf_free(&w->packed);
  free(w);
}

/* ================= container reader ================= */

typedef struct meta_kv {
  const char *key;
  const uint8_t *val;
  size_t len;
} meta_kv;

struct avro_reader {
  const uint8_t *p; /* borrowed file bytes */
  size_t n;
  char name[128];
  char bname[200]; /* names an inflated block in error messages */
  farena arena;    /* schema tree, header keys */
  const avro_schema *schema;
  avro_codec codec;
  uint8_t sync[AVRO_SYNC_SIZE];
  meta_kv *meta;
  size_t nmeta;
  fcur file;       /* at the next block */
  fcur blk;        /* records of the current block */
  uint64_t remain; /* records left in the current block */
  size_t budget;   /* values the rest of the block may create */
  fbuf inflated;
  z_stream zs;
  bool zinit;
  bool failed; /* a decode error leaves the cursor mid-record */
  size_t max_block_bytes;
  avro_decode_limits lim;
};

static floe_status read_header(avro_reader *r, floe_error *err) {
  fcur *c = &r->file;
  const uint8_t *magic;
  FLOE_TRY(fcur_bytes(c, 4, &magic, err));
  if (memcmp(magic, AVRO_MAGIC, 4) != 0) {
    c->pos = 0;
    return fcur_fail(c, err, "not an Avro container file (bad magic)");
  }
  strmap seen = {0};
  size_t cap = 0;
  for (;;) {
    int64_t cnt;
    FLOE_TRY(avro_get_long(c, &cnt, err));
    if (cnt == 0) break;
    size_t end = 0;
    bool sized = cnt < 0;
    if (sized) {
      if (cnt == INT64_MIN) return fcur_fail(c, err, "bad metadata count");
      cnt = -cnt;
      int64_t bytes;
      FLOE_TRY(avro_get_long(c, &bytes, err));
      if (bytes < 0 || (uint64_t)bytes > fcur_left(c))
        return fcur_fail(c, err, "metadata block size %lld out of range",
                         (long long)bytes);
      end = c->pos + (size_t)bytes;
    }
    /* a key and a value take at least a length byte each */
    if ((uint64_t)cnt > fcur_left(c) / 2)
      return fcur_fail(c, err, "metadata count %lld exceeds the header",
                       (long long)cnt);
    if ((size_t)cnt > cap - r->nmeta) {
      size_t ncap =
          cap * 2 > r->nmeta + (size_t)cnt ? cap * 2 : r->nmeta + (size_t)cnt;
      meta_kv *g = farena_alloc(&r->arena, ncap * sizeof *g, err);
      if (!g) return err ? err->code : FLOE_ENOMEM;
      if (r->nmeta) memcpy(g, r->meta, r->nmeta * sizeof *g);
      r->meta = g;
      cap = ncap;
    }
    for (int64_t i = 0; i < cnt; i++) {
      const uint8_t *k;
      size_t kn;
      size_t at = c->pos;
      FLOE_TRY(avro_get_bytes(c, &k, &kn, err));
      if (memchr(k, 0, kn)) {
        c->pos = at;
        return fcur_fail(c, err, "metadata key contains a NUL byte");
      }
      char *key = farena_alloc(&r->arena, kn + 1, err);
      if (!key) return err ? err->code : FLOE_ENOMEM;
      if (kn) memcpy(key, k, kn);
      key[kn] = 0;
      bool dup;
      FLOE_TRY(sm_put(&r->arena, &seen, key, key, &dup, err));
      if (dup) {
        c->pos = at;
        return fcur_fail(c, err, "metadata key \"%.100s\" appears twice", key);
      }
      meta_kv *m = &r->meta[r->nmeta++];
      m->key = key;
      FLOE_TRY(avro_get_bytes(c, &m->val, &m->len, err));
    }
    if (sized && c->pos != end)
      return fcur_fail(c, err, "metadata block size disagrees with entries");
  }
  const uint8_t *sync;
  FLOE_TRY(fcur_bytes(c, AVRO_SYNC_SIZE, &sync, err));
  memcpy(r->sync, sync, AVRO_SYNC_SIZE);

  const uint8_t *v;
  size_t vn;
  if (!avro_reader_meta(r, "avro.schema", &v, &vn))
    return ferr_corrupt(err, "%s: header has no avro.schema", r->name);
  floe_status st =
      avro_schema_parse((const char *)v, vn, &r->arena, &r->schema, err);
  if (st != FLOE_OK) return ferr_prefix(err, st, "%s: header", r->name);
  r->codec = AVRO_CODEC_NULL;
  if (avro_reader_meta(r, "avro.codec", &v, &vn)) {
    if (vn == 7 && memcmp(v, "deflate", 7) == 0) {
      r->codec = AVRO_CODEC_DEFLATE;
    } else if (!(vn == 4 && memcmp(v, "null", 4) == 0)) {
      return ferr_set(err, FLOE_EUNSUPPORTED,
                      "%s: Avro codec \"%.*s\" is not supported", r->name,
                      (int)(vn < 32 ? vn : 32), (const char *)v);
    }
  }
  return FLOE_OK;
}

floe_status avro_reader_open(const uint8_t *p, size_t n, const char *name,
                             const avro_reader_opts *o, avro_reader **out,
                             floe_error *err) {
  avro_reader *r = calloc(1, sizeof *r);
  if (!r) return ferr_nomem(err, sizeof *r);
  r->p = p;
  r->n = n;
  snprintf(r->name, sizeof r->name, "%s", name ? name : "avro file");
  farena_init(&r->arena, 16 * 1024, 0);
  r->file = fcur_make(p, n, r->name, 0);
  r->max_block_bytes =
      o && o->max_block_bytes ? o->max_block_bytes : (size_t)64 << 20;
  r->lim.max_values = o && o->max_values ? o->max_values : (size_t)1 << 20;
  floe_status st = read_header(r, err);
  if (st != FLOE_OK) {
    avro_reader_free(r);
    return st;
  }
  *out = r;
  return FLOE_OK;
}

void avro_reader_free(avro_reader *r) {
  if (!r) return;
  if (r->zinit) inflateEnd(&r->zs);
  fbuf_free(&r->inflated);
  farena_free(&r->arena);
  free(r);
}

const avro_schema *avro_reader_schema(const avro_reader *r) {
  return r->schema;
}

avro_codec avro_reader_codec(const avro_reader *r) { return r->codec; }

bool avro_reader_meta(const avro_reader *r, const char *key, const uint8_t **p,
                      size_t *n) {
  for (size_t i = 0; i < r->nmeta; i++)
    if (strcmp(r->meta[i].key, key) == 0) {
      *p = r->meta[i].val;
      *n = r->meta[i].len;
      return true;
    }
  return false;
}

size_t avro_reader_meta_count(const avro_reader *r) { return r->nmeta; }

void avro_reader_meta_at(const avro_reader *r, size_t i, const char **key,
                         const uint8_t **val, size_t *len) {
  *key = r->meta[i].key;
  *val = r->meta[i].val;
  *len = r->meta[i].len;
}

/* Raw-inflates data into r->inflated, never past max_block_bytes. */
static floe_status inflate_block(avro_reader *r, const uint8_t *data, size_t n,
                                 size_t at, floe_error *err) {
  if (n > UINT_MAX)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "%s at offset %zu: block of %zu bytes too big to inflate",
                    r->name, at, n);
  if (!r->zinit) {
    memset(&r->zs, 0, sizeof r->zs);
    if (inflateInit2(&r->zs, -15) != Z_OK) return ferr_nomem(err, 64 * 1024);
    r->zinit = true;
  } else {
    inflateReset(&r->zs);
  }
  fbuf *b = &r->inflated;
  b->len = 0;
  r->zs.next_in = (Bytef *)data;
  r->zs.avail_in = (uInt)n;
  for (;;) {
    if (b->cap == b->len) {
      if (b->len >= r->max_block_bytes)
        return ferr_corrupt(err,
                            "%s at offset %zu: block inflates past the limit "
                            "of %zu bytes",
                            r->name, at, r->max_block_bytes);
      size_t want = b->len > 65536 ? b->len : 65536;
      if (want > r->max_block_bytes - b->len)
        want = r->max_block_bytes - b->len;
      FLOE_TRY(fbuf_reserve(b, want, err));
    }
    size_t room = b->cap - b->len;
    if (room > r->max_block_bytes - b->len) room = r->max_block_bytes - b->len;
    if (room > UINT_MAX) room = UINT_MAX;
    if (room == 0) {
      /* cap overshoots the limit: treat as full */
      return ferr_corrupt(err,
                          "%s at offset %zu: block inflates past the limit "
                          "of %zu bytes",
                          r->name, at, r->max_block_bytes);
    }
    r->zs.next_out = b->data + b->len;
    r->zs.avail_out = (uInt)room;
    int zr = inflate(&r->zs, Z_NO_FLUSH);
    b->len += room - r->zs.avail_out;
    if (zr == Z_STREAM_END) break;
    if (zr == Z_OK) continue;
    if (zr == Z_BUF_ERROR && r->zs.avail_out == 0) {
      if (b->len >= r->max_block_bytes)
        return ferr_corrupt(err,
                            "%s at offset %zu: block inflates past the limit "
                            "of %zu bytes",
                            r->name, at, r->max_block_bytes);
      continue;
    }
    if (zr == Z_BUF_ERROR)
      return ferr_corrupt(err, "%s at offset %zu: deflate stream is truncated",
                          r->name, at);
    return ferr_corrupt(err, "%s at offset %zu: bad deflate data: %s", r->name,
                        at, r->zs.msg ? r->zs.msg : "error");
  }
  if (r->zs.avail_in != 0)
    return ferr_corrupt(err,
                        "%s at offset %zu: %u bytes after the deflate "
                        "stream",
                        r->name, at, r->zs.avail_in);
  return FLOE_OK;
}

static floe_status next_block(avro_reader *r, floe_error *err) {
  fcur *c = &r->file;
  size_t at = c->pos;
  int64_t cnt, size;
  FLOE_TRY(avro_get_long(c, &cnt, err));
  if (cnt < 0) {
    c->pos = at;
    return fcur_fail(c, err, "negative block object count %lld",
                     (long long)cnt);
  }
  size_t size_at = c->pos;
  FLOE_TRY(avro_get_long(c, &size, err));
  if (size < 0 || (uint64_t)size > fcur_left(c)) {
    c->pos = size_at;
    return fcur_fail(c, err, "block size %lld out of range (%zu bytes left)",
                     (long long)size, fcur_left(c));
  }
  const uint8_t *data, *sync;
  size_t data_at = c->pos;
  FLOE_TRY(fcur_bytes(c, (size_t)size, &data, err));
  size_t sync_at = c->pos;
  FLOE_TRY(fcur_bytes(c, AVRO_SYNC_SIZE, &sync, err));
  if (memcmp(sync, r->sync, AVRO_SYNC_SIZE) != 0) {
    c->pos = sync_at;
    return fcur_fail(c, err, "block sync marker does not match the header's");
  }
  if (r->codec == AVRO_CODEC_DEFLATE) {
    FLOE_TRY(inflate_block(r, data, (size_t)size, data_at, err));
    snprintf(r->bname, sizeof r->bname, "%s block at offset %zu (inflated)",
             r->name, at);
    r->blk = fcur_make(r->inflated.data, r->inflated.len, r->bname, 0);
  } else {
    r->blk = fcur_make(data, (size_t)size, r->name, data_at);
  }
  /* records of a schema with a nonzero minimum size bound the count; others
   * (e.g. "null") could claim 2^62 records in no bytes */
  size_t min = r->schema->min_size;
  uint64_t most = min ? fcur_left(&r->blk) / min : r->lim.max_values;
  if ((uint64_t)cnt > most) {
    c->pos = at;
    return fcur_fail(c, err, "block claims %lld records, at most %llu fit",
                     (long long)cnt, (unsigned long long)most);
  }
  r->remain = (uint64_t)cnt;
  /* values per block, so records that take no bytes (all-null fields)
   * cannot cost unbounded time: legit data has far fewer values than
   * 8 per byte */
  size_t len = fcur_left(&r->blk);
  r->budget = len > (SIZE_MAX - r->lim.max_values) / 8
                  ? SIZE_MAX
                  : r->lim.max_values + 8 * len;
  if (!cnt) return fcur_end(&r->blk, err);
  return FLOE_OK;
}

floe_status avro_reader_next(avro_reader *r, farena *a, const avro_value **out,
                             floe_error *err) {
  if (r->failed)
    return ferr_corrupt(err, "%s: reading after an earlier error", r->name);
  floe_status st = FLOE_OK;
  while (r->remain == 0) {
    if (fcur_left(&r->file) == 0)
      return ferr_set(err, FLOE_EEOF, "%s: no more records", r->name);
    if ((st = next_block(r, err)) != FLOE_OK) goto fail;
  }
  size_t used = 0;
  size_t budget = r->budget < r->lim.max_values ? r->budget : r->lim.max_values;
  if ((st = dec_root(r->schema, &r->blk, a, budget, out, &used, err)) !=
      FLOE_OK)
    goto fail;
  r->budget -= used;
  if (--r->remain == 0 && (st = fcur_end(&r->blk, err)) != FLOE_OK) goto fail;
  return FLOE_OK;
fail:
  r->failed = true;
  return st;
}
