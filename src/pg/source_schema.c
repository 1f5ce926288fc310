/*
 * Relation messages -> the floe table's schema. pgoutput sends a Relation
 * message (names, type oids, typmods, in attnum order) before the first
 * change of a relation in a session and after every change of its schema.
 * It carries names only, so a rename looks like a drop plus an add: the
 * catalog's attnums tell them apart (attnums are never reused). The catalog
 * is read now, while the stream may lag behind it; the rules below prefer
 * attnums, fall back to names, then to position, and never guess a match
 * that both sides contradict (see README "Schema changes").
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "columnar/text.h"
#include "pg/copy.h"
#include "pg/source_int.h"

/* ---- types ---- */

/* Resolves a type like pgx_rel_load does for a column: domains down to
 * their base type (the innermost domain's typmod), arrays to their element,
 * names for extension types. */
static const char TYPE_SQL[] =
    "WITH RECURSIVE dom(oid, typmod, depth) AS ("
    " SELECT $1::oid, $2::int, 0 UNION ALL"
    " SELECT t.typbasetype, t.typtypmod, d.depth + 1"
    " FROM dom d JOIN pg_type t ON t.oid = d.oid"
    " WHERE t.typtype = 'd' AND d.depth < 32),"
    " base AS (SELECT oid, typmod FROM dom ORDER BY depth DESC LIMIT 1),"
    " edom(oid, typmod, depth) AS ("
    " SELECT t.typelem, b.typmod, 0 FROM base b JOIN pg_type t ON t.oid = b.oid"
    " WHERE t.typsubscript = 'array_subscript_handler'::regproc UNION ALL"
    " SELECT t.typbasetype, t.typtypmod, d.depth + 1"
    " FROM edom d JOIN pg_type t ON t.oid = d.oid"
    " WHERE t.typtype = 'd' AND d.depth < 32),"
    " ebase AS (SELECT oid, typmod FROM edom ORDER BY depth DESC LIMIT 1)"
    " SELECT tt.typtype, b.oid, b.typmod, bt.typtype, bt.typname,"
    " e.oid, e.typmod, et.typtype, et.typname, et.typdelim"
    " FROM base b JOIN pg_type bt ON bt.oid = b.oid"
    " JOIN pg_type tt ON tt.oid = $1::oid"
    " LEFT JOIN ebase e ON true LEFT JOIN pg_type et ON et.oid = e.oid";

static floe_status arena_str(pgs_source *s, const char *v, const char **out,
                             floe_error *err) {
  char *d = farena_strdup(&s->arena, v, err);
  if (!d) return err ? err->code : FLOE_ENOMEM;
  *out = d;
  return FLOE_OK;
}

static floe_status type_resolve(pgs_source *s, uint32_t oid, int32_t typmod,
                                const pgx_col **out, floe_error *err) {
  for (int i = 0; i < s->ntype; i++)
    if (s->types[i].oid == oid && s->types[i].typmod == typmod) {
      *out = &s->types[i].col;
      return FLOE_OK;
    }
  pgx_conn *c = NULL;
  FLOE_TRY(pgs_sql(s, &c, err));
  char a[16], b[16];
  snprintf(a, sizeof a, "%u", oid);
  snprintf(b, sizeof b, "%d", (int)typmod);
  const char *params[] = {a, b};
  PGresult *r = NULL;
  FLOE_TRY(pgx_query(c, "resolve type", TYPE_SQL, 2, params, &r, NULL, err));
  /* a type created by the transaction being applied may not be visible
   * yet (see pgs_relation): look again for a short while */
  for (int tries = 0; PQntuples(r) != 1 && tries < 40; tries++) {
    PQclear(r);
    r = NULL;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    FLOE_TRY(pgx_query(c, "resolve type", TYPE_SQL, 2, params, &r, NULL, err));
  }
  floe_status st = FLOE_OK;
  if (PQntuples(r) != 1) {
    PQclear(r);
    return ferr_set(err, FLOE_ENOTFOUND, "type %u does not exist", oid);
  }
  if (s->ntype == s->captype) {
    int cap = s->captype ? s->captype * 2 : 16;
    pgs_type *v = realloc(s->types, (size_t)cap * sizeof *v);
    if (!v) {
      PQclear(r);
      return ferr_nomem(err, (size_t)cap * sizeof *v);
    }
    s->types = v;
    s->captype = cap;
  }
  pgs_type *t = &s->types[s->ntype];
  memset(t, 0, sizeof *t);
  t->oid = oid;
  t->typmod = typmod;
  pgx_col *col = &t->col;
  col->type_oid = oid;
  col->typmod = typmod;
  col->typtype = PQgetvalue(r, 0, 0)[0];
  col->base_oid = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
  col->base_typmod = atoi(PQgetvalue(r, 0, 2));
  col->base_typtype = PQgetvalue(r, 0, 3)[0];
  st = arena_str(s, PQgetvalue(r, 0, 4), &col->base_name, err);
  col->elem_typmod = -1;
  if (!st && !PQgetisnull(r, 0, 5)) {
    col->elem_oid = (uint32_t)strtoul(PQgetvalue(r, 0, 5), NULL, 10);
    col->elem_typmod = atoi(PQgetvalue(r, 0, 6));
    col->elem_typtype = PQgetvalue(r, 0, 7)[0];
    st = arena_str(s, PQgetvalue(r, 0, 8), &col->elem_name, err);
    col->elem_delim = PQgetvalue(r, 0, 9)[0];
  }
  col->key = -1;
  PQclear(r);
  FLOE_TRY(st);
  s->ntype++;
  *out = col;
  return FLOE_OK;
}

static int int_rank(col_type t) {
  return t == COL_INT16 ? 1 : t == COL_INT32 ? 2 : t == COL_INT64 ? 3 : 0;
}

static pgt_dec int_dec(col_type t) {
  return t == COL_INT16   ? PGT_DEC_INT2
         : t == COL_INT32 ? PGT_DEC_INT4
                          : PGT_DEC_INT8;
}

/* How a scalar of source type a goes into a column of type b: 0 as it is,
 * 1 parsed as b (wider integers, wider decimal), 2 parsed then widened
 * (float32 -> float64), -1 not at all. */
static int fit_scalar(col_type a, uint8_t ap, uint8_t as, col_type b,
                      uint8_t bp, uint8_t bs) {
  if (int_rank(a) && int_rank(b)) {
    if (a == b) return 0;
    return int_rank(a) < int_rank(b) ? 1 : -1;
  }
  if (a == COL_DECIMAL && b == COL_DECIMAL) {
    if (as != bs || ap > bp) return -1;
    return ap == bp ? 0 : 1;
  }
  if (a == COL_FLOAT32 && b == COL_FLOAT64) return 2;
  return a == b ? 0 : -1;
}

static int fit_type(col_dtype a, col_dtype b) {
  if ((a.id == COL_LIST) != (b.id == COL_LIST)) return -1;
  if (a.id != COL_LIST)
    return fit_scalar(a.id, a.precision, a.scale, b.id, b.precision, b.scale);
  int f = fit_scalar(a.elem, a.elem_precision, a.elem_scale, b.elem,
                     b.elem_precision, b.elem_scale);
  return f == 2 ? -1 : f; /* no element-wise widening of floats */
}

static col_dtype eng_dtype(const floe_column *c) {
  col_dtype t;
  memset(&t, 0, sizeof t);
  t.id = (col_type)c->type;
  t.precision = c->precision;
  t.scale = c->scale;
  t.elem = (col_type)c->elem;
  t.elem_precision = c->elem_precision;
  t.elem_scale = c->elem_scale;
  return t;
}

static floe_status map_of(pgs_source *s, uint32_t oid, int32_t typmod,
                          pgt_map *m, floe_error *err) {
  const pgx_col *col = NULL;
  FLOE_TRY(type_resolve(s, oid, typmod, &col, err));
  pgt_desc d;
  pgx_col_desc(col, &d);
  return pgt_map_type(&d, m, err);
}

floe_status pgs_col_map(pgs_source *s, uint32_t oid, int32_t typmod,
                        const floe_column *eng, pgt_map *out, bool *convert,
                        floe_error *err) {
  FLOE_TRY(map_of(s, oid, typmod, out, err));
  *convert = false;
  if (!eng) return FLOE_OK;
  col_dtype e = eng_dtype(eng);
  char a[64], b[64];
  switch (fit_type(out->type, e)) {
  case 0: return FLOE_OK;
  case 1:
    /* parse straight into the wider column: exact for integers and for a
     * decimal of the same scale */
    if (out->type.id == COL_LIST) {
      if (int_rank(e.elem)) out->elem_dec = int_dec(e.elem);
    } else if (int_rank(e.id)) {
      out->dec = int_dec(e.id);
    }
    out->type = e;
    return FLOE_OK;
  case 2: *convert = true; return FLOE_OK;
  default:
    return ferr_set(err, FLOE_EUNSUPPORTED, "%s values cannot go into %s",
                    col_dtype_format(out->type, a, sizeof a),
                    col_dtype_format(e, b, sizeof b));
  }
}

/* ---- column defaults (Iceberg initial-default, Appendix D JSON) ---- */

/* One value of column c (row 0) as Appendix D JSON; *out malloc'd. */
static json_t *value_json(const col_column *c, int64_t i, floe_error *err) {
  if (!col_is_valid(c, i)) return json_null();
  fbuf b = FBUF_INIT;
  json_t *v = NULL;
  switch (c->type.id) {
  case COL_BOOL: return json_boolean(col_get_bool(c, i));
  case COL_INT16: return json_integer(*(const int16_t *)col_get_fixed(c, i, 2));
  case COL_INT32: return json_integer(*(const int32_t *)col_get_fixed(c, i, 4));
  case COL_INT64: return json_integer(*(const int64_t *)col_get_fixed(c, i, 8));
  case COL_FLOAT32:
  case COL_FLOAT64: {
    double d = c->type.id == COL_FLOAT32
                   ? (double)*(const float *)col_get_fixed(c, i, 4)
                   : *(const double *)col_get_fixed(c, i, 8);
    if (d != d || d - d != 0) {
      ferr_set(err, FLOE_EUNSUPPORTED,
               "a NaN or infinite default has no Iceberg form");
      return NULL;
    }
    return json_real(d);
  }
  case COL_BINARY: {
    size_t n;
    const uint8_t *p = col_get_bytes(c, i, &n);
    static const char hx[] = "0123456789ABCDEF";
    for (size_t k = 0; k < n; k++) {
      char two[2] = {hx[p[k] >> 4], hx[p[k] & 15]};
      if (fbuf_append(&b, two, 2, err)) goto fail;
    }
    v = json_stringn(b.len ? (const char *)b.data : "", b.len);
    break;
  }
  case COL_UTF8: {
    size_t n;
    const uint8_t *p = col_get_bytes(c, i, &n);
    v = json_stringn((const char *)p, n);
    break;
  }
  case COL_LIST: {
    const int32_t *off = col_offsets(c);
    v = json_array();
    for (int32_t k = off[i]; v && k < off[i + 1]; k++) {
      json_t *e = value_json(c->child, k, err);
      if (!e) goto fail;
      json_array_append_new(v, e);
    }
    break;
  }
  default: {
    /* decimal, date, time, timestamp(tz), uuid: strings */
    if (col_text_format(c, i, false, &b, err)) goto fail;
    if (fbuf_put_u8(&b, 0, err)) goto fail;
    char *t = (char *)b.data;
    if (strstr(t, " BC")) {
      ferr_set(err, FLOE_EUNSUPPORTED, "a BC default has no Iceberg form");
      goto fail;
    }
    char ts[96];
    if (c->type.id == COL_TIMESTAMP || c->type.id == COL_TIMESTAMPTZ) {
      /* Appendix D: ISO-8601 with 'T', and an offset of +00:00 */
      snprintf(ts, sizeof ts - 3, "%s", t);
      char *sp = strchr(ts, ' ');
      if (sp) *sp = 'T';
      size_t n = strlen(ts);
      if (n > 3 && !strcmp(ts + n - 3, "+00")) memcpy(ts + n, ":00", 4);
      t = ts;
    }
    v = json_string(t);
    break;
  }
  }
  fbuf_free(&b);
  if (!v) ferr_set(err, FLOE_EINVAL, "default value is not valid UTF-8");
  return v;
fail:
  fbuf_free(&b);
  json_decref(v);
  return NULL;
}

/* The first element of array text `{...}` (as attmissingval prints it):
 * unquoted up to ',' or '}', or quoted with backslash escapes. *null for an
 * unquoted NULL. */
static floe_status first_element(const char *s, fbuf *out, bool *null,
                                 floe_error *err) {
  *null = false;
  fbuf_reset(out);
  if (*s != '{') return ferr_corrupt(err, "attmissingval %s", s);
  s++;
  if (*s == '"') {
    for (s++; *s && *s != '"'; s++) {
      if (*s == '\\' && s[1]) s++;
      FLOE_TRY(fbuf_put_u8(out, (uint8_t)*s, err));
    }
    if (*s != '"') return ferr_corrupt(err, "attmissingval: open quote");
  } else {
    const char *e = s;
    while (*e && *e != ',' && *e != '}') e++;
    if (e - s == 4 && !strncmp(s, "NULL", 4)) *null = true;
    FLOE_TRY(fbuf_append(out, s, (size_t)(e - s), err));
  }
  return fbuf_put_u8(out, 0, err);
}

static const char DEFAULT_SQL[] =
    "SELECT a.atthasmissing, a.attmissingval::text, d.oid IS NOT NULL,"
    /* volatile functions in the default's expression tree (built-in ones
     * have no pg_depend entries, so the tree is read) */
    " EXISTS (SELECT 1 FROM regexp_matches(d.adbin::text,"
    "  ':(?:func|opfunc)id (\\d+)', 'g') f"
    "  JOIN pg_proc p ON p.oid = f[1]::oid WHERE p.provolatile = 'v')"
    " FROM pg_attribute a LEFT JOIN pg_attrdef d"
    " ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
    " WHERE a.attrelid = $1::oid AND a.attname = $2 AND NOT a.attisdropped";

/* The value rows that existed before column name was added read as, as
 * Appendix D JSON (*json NULL: null). Postgres keeps it in attmissingval
 * for a non-volatile default; a volatile one rewrote the table, which the
 * stream does not carry: *unknown then. */
static floe_status added_default(pgs_source *s, pgs_tab *tab, const char *name,
                                 const pgt_map *m, char **json, bool *unknown,
                                 floe_error *err) {
  *json = NULL;
  *unknown = false;
  pgx_conn *c = NULL;
  FLOE_TRY(pgs_sql(s, &c, err));
  char oid[16];
  snprintf(oid, sizeof oid, "%u", tab->oid);
  const char *params[] = {oid, name};
  PGresult *r = NULL;
  FLOE_TRY(pgx_query(c, "read column default", DEFAULT_SQL, 2, params, &r, NULL,
                     err));
  floe_status st = FLOE_OK;
  if (PQntuples(r) != 1) { /* gone again since: the stream will say so */
    flog_write(s->o.log, FLOG_DEBUG, "%s.%s: new column %s: not in the catalog",
               tab->schema, tab->table, name);
    PQclear(r);
    return FLOE_OK;
  }
  bool has_missing = PQgetvalue(r, 0, 0)[0] == 't' && !PQgetisnull(r, 0, 1);
  bool volatile_def = PQgetvalue(r, 0, 3)[0] == 't';
  flog_write(s->o.log, FLOG_DEBUG,
             "%s.%s: new column %s: missing value %s, default %s%s",
             tab->schema, tab->table, name, has_missing ? "set" : "none",
             PQgetvalue(r, 0, 2)[0] == 't' ? "set" : "none",
             volatile_def ? " (volatile)" : "");
  if (!has_missing) {
    *unknown = volatile_def;
    PQclear(r);
    return FLOE_OK;
  }
  fbuf el = FBUF_INIT;
  bool null = false;
  st = first_element(PQgetvalue(r, 0, 1), &el, &null, err);
  PQclear(r);
  if (st || null) {
    fbuf_free(&el);
    return st;
  }
  col_column one;
  st = col_init(&one, m->type, err);
  if (!st)
    st = pgt_append_text(&one, m, (const char *)el.data, el.len - 1,
                         &s->scratch, err);
  if (!st) {
    json_t *v = value_json(&one, 0, err);
    if (!v) st = err ? err->code : FLOE_EINVAL;
    if (v) {
      *json = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
      if (!*json) st = ferr_nomem(err, 64);
      json_decref(v);
    }
  }
  col_free(&one);
  fbuf_free(&el);
  return st ? ferr_prefix(err, st, "default of new column %s", name) : st;
}

/* ---- catalog attnums ---- */

typedef struct catcol {
  int16_t attnum;
  bool dropped;
  char *name;
} catcol;

static floe_status catalog_cols(pgs_source *s, uint32_t relid, catcol **out,
                                int *n, floe_error *err) {
  pgx_conn *c = NULL;
  FLOE_TRY(pgs_sql(s, &c, err));
  char oid[16];
  snprintf(oid, sizeof oid, "%u", relid);
  const char *params[] = {oid};
  PGresult *r = NULL;
  FLOE_TRY(pgx_query(c, "read columns",
                     "SELECT attnum, attname, attisdropped FROM pg_attribute "
                     "WHERE attrelid = $1::oid AND attnum > 0",
                     1, params, &r, NULL, err));
  int k = PQntuples(r);
  catcol *v = calloc((size_t)k + 1, sizeof *v);
  if (!v) {
    PQclear(r);
    return ferr_nomem(err, (size_t)k * sizeof *v);
  }
  floe_status st = FLOE_OK;
  for (int i = 0; i < k && !st; i++) {
    v[i].attnum = (int16_t)atoi(PQgetvalue(r, i, 0));
    v[i].dropped = PQgetvalue(r, i, 2)[0] == 't';
    v[i].name = strdup(PQgetvalue(r, i, 1));
    if (!v[i].name) st = ferr_nomem(err, 64);
  }
  PQclear(r);
  *out = v;
  *n = k;
  return st;
}

static void catalog_free(catcol *v, int n) {
  for (int i = 0; v && i < n; i++) free(v[i].name);
  free(v);
}

static int cat_attnum(const catcol *v, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (!v[i].dropped && !strcmp(v[i].name, name)) return v[i].attnum;
  return -1;
}

/* 1: attnum present, 0: dropped, -1: unknown */
static int cat_alive(const catcol *v, int n, int attnum) {
  if (attnum < 0) return -1;
  for (int i = 0; i < n; i++)
    if (v[i].attnum == attnum) return v[i].dropped ? 0 : 1;
  return -1;
}

/* ---- the relation cache ---- */

void pgs_tab_rc_free(pgs_tab *tab) {
  for (int i = 0; i < tab->nrc; i++) {
    free(tab->rc[i].name);
    if (tab->rc[i].convert) col_free(&tab->rc[i].sc);
  }
  free(tab->rc);
  tab->rc = NULL;
  tab->nrc = 0;
  tab->rel_valid = false;
}

/* Builds the cache for Relation columns rc against the floe table's current
 * columns (matched by name). */
/* names[i]: the floe column Relation column i goes to (NULL: the one of its
 * own name; names itself NULL: every column by its own name). */
static floe_status build_rc(pgs_source *s, pgs_tab *tab, const pgo_column *rc,
                            int nr, const char *const *names, bool lenient,
                            floe_error *err) {
  pgs_tab_rc_free(tab);
  const floe_column *ec = NULL;
  int ne = floe_table_columns(tab->t, &ec);
  tab->rc = calloc((size_t)nr + 1, sizeof *tab->rc);
  if (!tab->rc) return ferr_nomem(err, (size_t)nr * sizeof *tab->rc);
  floe_status st = FLOE_OK;
  for (int i = 0; i < nr && !st; i++) {
    pgs_col *c = &tab->rc[i];
    tab->nrc = i + 1;
    c->eng = -1;
    c->name = strdup(rc[i].name);
    if (!c->name) {
      st = ferr_nomem(err, 64);
      break;
    }
    c->type_oid = rc[i].type_oid;
    c->typmod = rc[i].typmod;
    const char *want = names && names[i] ? names[i] : rc[i].name;
    for (int e = 0; e < ne; e++)
      if (!strcmp(ec[e].name, want)) c->eng = e;
    st =
        pgs_col_map(s, c->type_oid, c->typmod, c->eng >= 0 ? &ec[c->eng] : NULL,
                    &c->map, &c->convert, err);
    if (st == FLOE_EUNSUPPORTED && lenient) {
      /* an old schema's column the table no longer has in this type */
      c->eng = -1;
      st = pgs_col_map(s, c->type_oid, c->typmod, NULL, &c->map, &c->convert,
                       err);
    }
    if (!st && c->convert) st = col_init(&c->sc, c->map.type, err);
    if (st) c->convert = false;
  }
  if (st) {
    pgs_tab_rc_free(tab);
    return st;
  }
  tab->rel_valid = true;
  return FLOE_OK;
}

static floe_status pause_tab(pgs_source *s, pgs_tab *tab, floe_error *err,
                             const char *fmt, ...) FLOE_PRINTF(4, 5);
static floe_status pause_tab(pgs_source *s, pgs_tab *tab, floe_error *err,
                             const char *fmt, ...) {
  (void)err;
  char msg[FLOE_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pgs_tab_set_state(s, tab, PGS_PAUSED, msg);
  return FLOE_OK;
}

typedef struct plan_col {
  floe_column c;
  int from;           /* matched floe column, -1: added */
  int attnum;         /* catalog attnum now, -1 unknown */
  bool keep_name;     /* matched, but the Relation's name is an old one */
  char *deflt;        /* initial default json (owned) */
  char *tmpname;      /* rename phase 1 */
  const char *target; /* the floe column's name once applied */
  char *owned;        /* target when copied from the floe table (its names
                         die with a rename or an alter) */
  char *oldname;      /* the floe column's name before a rename (logs) */
} plan_col;

/* The catalog's current name of attnum (alive), or NULL. */
static const char *cat_name(const catcol *v, int n, int attnum) {
  for (int i = 0; attnum >= 0 && i < n; i++)
    if (v[i].attnum == attnum && !v[i].dropped) return v[i].name;
  return NULL;
}

static floe_status evolve(pgs_source *s, pgs_tab *tab, bool stale,
                          const pgo_msg *m, floe_error *err) {
  const int nr = m->relation.ncols;
  const pgo_column *rc = m->relation.cols;
  /* A replayed transaction (at or below the table's applied LSN) may carry
   * an older schema: it must not evolve the table back; its values are
   * matched by name (and it is skipped at its commit). */
  if (stale) return build_rc(s, tab, rc, nr, NULL, true, err);
  const floe_column *ec = NULL;
  int ne = floe_table_columns(tab->t, &ec);
  const int *key = NULL;
  int nkey = floe_table_key(tab->t, &key);
  bool same = nr == ne;
  for (int i = 0; same && i < nr; i++) same = !strcmp(rc[i].name, ec[i].name);
  if (same) {
    /* names line up: only types may have changed */
    bool types_ok = true;
    for (int i = 0; types_ok && i < nr; i++) {
      pgt_map mp;
      FLOE_TRY(map_of(s, rc[i].type_oid, rc[i].typmod, &mp, err));
      types_ok = fit_type(mp.type, eng_dtype(&ec[i])) >= 0;
    }
    if (types_ok) return build_rc(s, tab, rc, nr, NULL, false, err);
  }

  /* ---- match Relation columns to floe columns ---- */
  catcol *cat = NULL;
  int ncat = 0;
  plan_col *p = calloc((size_t)nr + 1, sizeof *p);
  bool *used = calloc((size_t)ne + 1, sizeof *used);
  floe_column *cols = calloc((size_t)(nr + ne) + 1, sizeof *cols);
  const char **targets = calloc((size_t)nr + 1, sizeof *targets);
  floe_status st =
      p && used && cols && targets ? FLOE_OK : ferr_nomem(err, (size_t)nr * 64);
  if (!st && !same) st = catalog_cols(s, tab->oid, &cat, &ncat, err);
  /* The walsender sends a transaction once its commit record is in the
   * WAL, which is a moment before the commit becomes visible to other
   * sessions: a name the catalog does not know yet may be the DDL of the
   * very transaction being applied. Look again for a short while (a name
   * renamed or dropped since stays unknown: then the rules below). */
  for (int tries = 0; !st && !same && tries < 40; tries++) {
    bool all = true;
    for (int i = 0; i < nr && all; i++)
      all = cat_attnum(cat, ncat, rc[i].name) >= 0;
    if (all) break;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    catalog_free(cat, ncat);
    cat = NULL;
    ncat = 0;
    st = catalog_cols(s, tab->oid, &cat, &ncat, err);
  }
  int ncols = 0;
  for (int i = 0; i < nr && !st; i++) {
    p[i].from = -1;
    p[i].attnum = same ? -1 : cat_attnum(cat, ncat, rc[i].name);
    if (same) {
      p[i].from = i;
      used[i] = true;
    }
  }
#define ATT(e) ((e) >= 0 && (e) < tab->natt ? tab->att[e] : -1)
  /* 1. by attnum (a rename keeps it) */
  for (int i = 0; i < nr && !st && !same; i++)
    for (int e = 0; e < ne && p[i].attnum >= 0; e++)
      if (!used[e] && ATT(e) == p[i].attnum) {
        p[i].from = e;
        used[e] = true;
        break;
      }
  /* 2. by name, unless both attnums are known and differ (dropped and
   * added again under the same name) */
  for (int i = 0; i < nr && !st && !same; i++) {
    if (p[i].from >= 0) continue;
    for (int e = 0; e < ne; e++) {
      if (used[e] || strcmp(ec[e].name, rc[i].name)) continue;
      if (ATT(e) >= 0 && p[i].attnum >= 0 && ATT(e) != p[i].attnum) continue;
      p[i].from = e;
      used[e] = true;
      break;
    }
  }
  /* 3. by position: a name the catalog no longer has (renamed since) pairs
   * with a floe column whose attnum still lives (or is unknown), in order.
   * When the floe column already has its attnum's current name, the
   * Relation is the older one: keep the name. */
  for (int i = 0, e = 0; i < nr && !st && !same; i++) {
    if (p[i].from >= 0 || p[i].attnum >= 0) continue;
    while (e < ne && (used[e] || cat_alive(cat, ncat, ATT(e)) == 0)) e++;
    if (e >= ne) break;
    p[i].from = e;
    used[e] = true;
    const char *now = cat_name(cat, ncat, ATT(e));
    p[i].keep_name = now && !strcmp(now, ec[e].name);
  }

  for (int i = 0; i < nr; i++)
    flog_write(s->o.log, FLOG_DEBUG,
               "%s.%s: Relation column %s: attnum %d, floe column %d (%s)%s",
               tab->schema, tab->table, rc[i].name, p[i].attnum, p[i].from,
               p[i].from >= 0 ? ec[p[i].from].name : "-",
               p[i].keep_name ? ", old name" : "");

  /* ---- the new column list ---- */
  bool alter = false;
  int nren = 0, nkept = 0;
  char **kept = calloc((size_t)ne + 1, sizeof *kept);
  int nkeep = 0; /* attnums by final name (below) */
  char **keep_name = NULL;
  int16_t *keep_att = NULL;
  if (!kept && !st) st = ferr_nomem(err, (size_t)ne * 8);
  for (int e = 0; e < ne && !st; e++) {
    if (used[e]) continue;
    if (cat_alive(cat, ncat, ATT(e)) == 1) {
      /* the catalog has it: the Relation predates its addition (a
       * replayed transaction); keep it */
      cols[ncols] = ec[e];
      cols[ncols].name = kept[nkept] = strdup(ec[e].name);
      if (!kept[nkept++]) st = ferr_nomem(err, 64);
      ncols++;
      continue;
    }
    for (int k = 0; k < nkey; k++)
      if (key[k] == e) {
        st = pause_tab(s, tab, err,
                       "key column %s of %s.%s was dropped at the source: "
                       "floe cannot follow; resync the table",
                       ec[e].name, tab->schema, tab->table);
        goto done;
      }
    alter = true; /* dropped */
  }
  int64_t rows = -1;
  for (int i = 0; i < nr && !st; i++) {
    pgt_map mp;
    st = map_of(s, rc[i].type_oid, rc[i].typmod, &mp, err);
    if (st) break;
    plan_col *pc = &p[i];
    pc->target = rc[i].name;
    pc->c.name = rc[i].name;
    pc->c.type = (floe_type)mp.type.id;
    pc->c.precision = mp.type.precision;
    pc->c.scale = mp.type.scale;
    pc->c.elem = (floe_type)mp.type.elem;
    pc->c.elem_precision = mp.type.elem_precision;
    pc->c.elem_scale = mp.type.elem_scale;
    pc->c.nullable = 1;
    if (pc->from >= 0) {
      const floe_column *old = &ec[pc->from];
      if (pc->keep_name) {
        pc->target = pc->c.name = pc->owned = strdup(old->name);
        if (!pc->owned) {
          st = ferr_nomem(err, 64);
          break;
        }
      }
      pc->c.nullable = old->nullable;
      int f = fit_type(mp.type, eng_dtype(old));
      if (f >= 0) {
        /* the floe column holds the values as they are (or wider) */
        pc->c.type = old->type;
        pc->c.precision = old->precision;
        pc->c.scale = old->scale;
        pc->c.elem = old->elem;
        pc->c.elem_precision = old->elem_precision;
        pc->c.elem_scale = old->elem_scale;
      } else if (fit_type(eng_dtype(old), mp.type) >= 0) {
        alter = true; /* widening */
      } else {
        char a[64], b[64];
        st = pause_tab(s, tab, err,
                       "column %s of %s.%s changed type from %s to %s: floe "
                       "cannot map the change; resync the table",
                       old->name, tab->schema, tab->table,
                       col_dtype_format(eng_dtype(old), a, sizeof a),
                       col_dtype_format(mp.type, b, sizeof b));
        goto done;
      }
      if (strcmp(old->name, pc->target)) {
        nren++;
        if (!(pc->oldname = strdup(old->name))) {
          st = ferr_nomem(err, 64);
          break;
        }
      }
      cols[ncols++] = pc->c;
      continue;
    }
    /* added */
    alter = true;
    bool unknown = false;
    st = added_default(s, tab, rc[i].name, &mp, &pc->deflt, &unknown, err);
    if (st) break;
    if (unknown) {
      if (rows < 0) {
        floe_table_stats ts;
        floe_table_stats_get(tab->t, &ts);
        rows = ts.rows;
      }
      if (rows > 0) {
        st = pause_tab(s, tab, err,
                       "column %s was added to %s.%s with a volatile default: "
                       "Postgres rewrote the table, which the stream does not "
                       "carry, so floe cannot know the existing rows' values; "
                       "resync the table",
                       rc[i].name, tab->schema, tab->table);
        goto done;
      }
    }
    pc->c.initial_default = pc->deflt;
    cols[ncols++] = pc->c;
  }

  /* attnums by final name, taken before the alter (ec's names die with
   * it) */
  keep_name = calloc((size_t)ne + 1, sizeof *keep_name);
  keep_att = calloc((size_t)ne + 1, sizeof *keep_att);
  if (!st && (!keep_name || !keep_att)) st = ferr_nomem(err, (size_t)ne * 16);
  for (int e = 0; !st && e < ne; e++)
    if (!used[e] && cat_alive(cat, ncat, ATT(e)) == 1) {
      keep_att[nkeep] = (int16_t)ATT(e);
      if (!(keep_name[nkeep++] = strdup(ec[e].name))) st = ferr_nomem(err, 64);
    }

  /* ---- apply: renames (through temporary names, so swaps work), then
   * adds, drops and widenings in one alter ---- */
  for (int pass = 0; pass < 2 && nren && !st; pass++)
    for (int i = 0; i < nr && !st; i++) {
      if (p[i].from < 0) continue;
      const floe_column *cur = NULL;
      floe_table_columns(tab->t, &cur);
      const char *now = cur[p[i].from].name;
      if (pass == 0 && strcmp(now, p[i].target)) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "__floe_rename_%d", i);
        p[i].tmpname = strdup(tmp);
        if (!p[i].tmpname) st = ferr_nomem(err, 64);
        if (!st) st = floe_table_rename_column(tab->t, now, tmp, err);
      } else if (pass == 1 && p[i].tmpname) {
        st = floe_table_rename_column(tab->t, p[i].tmpname, p[i].target, err);
        if (!st)
          flog_write(s->o.log, FLOG_INFO, "%s.%s: column %s renamed to %s",
                     tab->schema, tab->table, p[i].oldname, p[i].target);
      }
    }
  if (!st && alter) {
    st = floe_table_alter(tab->t, cols, ncols, err);
    if (st == FLOE_EUNSUPPORTED) {
      char msg[FLOE_ERROR_MSG_MAX];
      snprintf(msg, sizeof msg,
               "schema change of %.60s.%.60s: %.300s; resync the table",
               tab->schema, tab->table, err ? err->msg : "unsupported");
      pgs_tab_set_state(s, tab, PGS_PAUSED, msg);
      st = FLOE_OK;
      goto done;
    }
    if (!st)
      flog_write(s->o.log, FLOG_INFO, "%s.%s: schema now has %d columns",
                 tab->schema, tab->table, ncols);
  }
  if (!st && (alter || nren)) st = pgs_tab_rows(tab, err);
  if (!st && !same) {
    /* attnums of the floe columns as they are now */
    const floe_column *nc = NULL;
    int nn = floe_table_columns(tab->t, &nc);
    int16_t *att = calloc((size_t)nn + 1, sizeof *att);
    if (!att) st = ferr_nomem(err, (size_t)nn * 2);
    for (int k = 0; att && k < nn; k++) {
      att[k] = -1;
      for (int i = 0; i < nr; i++)
        if (!strcmp(nc[k].name, p[i].target))
          att[k] = (int16_t)(p[i].attnum >= 0 ? p[i].attnum : ATT(p[i].from));
      for (int j = 0; j < nkeep && att[k] < 0; j++)
        if (!strcmp(keep_name[j], nc[k].name)) att[k] = keep_att[j];
    }
    if (att) {
      free(tab->att);
      tab->att = att;
      tab->natt = nn;
    }
  }
#undef ATT
  for (int i = 0; i < nr && targets; i++) targets[i] = p[i].target;
  if (!st) st = build_rc(s, tab, rc, nr, targets, false, err);
done:
  for (int j = 0; j < nkeep; j++) free(keep_name[j]);
  free(keep_name);
  free(keep_att);
  for (int j = 0; j < nkept; j++) free(kept[j]);
  free(kept);
  for (int i = 0; p && i < nr; i++) {
    free(p[i].owned);
    free(p[i].oldname);
    free(p[i].deflt);
    free(p[i].tmpname);
  }
  free(p);
  free(used);
  free(cols);
  free(targets);
  catalog_free(cat, ncat);
  return st;
}

/* Waits (up to 0.4 s) until transaction xid (32 bits, committed: the
 * stream delivered its commit) is visible to new snapshots: the walsender
 * sends a transaction once its commit record is in the WAL, a moment
 * before other sessions see it, and a catalog answer must include it. The
 * full xid is rebuilt from a snapshot's xmax; an xid at or past xmax is not
 * visible yet. */
static void wait_visible(pgs_source *s, uint32_t xid) {
  pgx_conn *c = NULL;
  floe_error e;
  if (pgs_sql(s, &c, &e)) return;
  char x[16];
  snprintf(x, sizeof x, "%u", xid);
  const char *params[] = {x};
  for (int tries = 0; tries < 40; tries++) {
    PGresult *r = NULL;
    if (pgx_query(c, "wait for a commit",
                  "WITH s AS (SELECT pg_current_snapshot() AS snap), "
                  "x AS (SELECT snap, pg_snapshot_xmax(snap)::text::int8 AS "
                  "xm FROM s), d AS (SELECT snap, xm, ((xm & 4294967295) - "
                  "$1::int8 + 4294967296) % 4294967296 AS diff FROM x) "
                  "SELECT diff > 0 AND diff < 2147483648 AND "
                  "pg_visible_in_snapshot((xm - diff)::text::xid8, snap) "
                  "FROM d",
                  1, params, &r, NULL, &e))
      return;
    bool vis = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (vis) return;
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

/* The names of the primary key's columns now (none: *n = 0). */
static floe_status pk_names(pgs_source *s, uint32_t relid, PGresult **out,
                            floe_error *err) {
  pgx_conn *c = NULL;
  FLOE_TRY(pgs_sql(s, &c, err));
  char oid[16];
  snprintf(oid, sizeof oid, "%u", relid);
  const char *params[] = {oid};
  return pgx_query(c, "read primary key",
                   "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON "
                   "a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
                   "WHERE i.indrelid = $1::oid AND i.indisprimary",
                   1, params, out, NULL, err);
}

/* Appends "(a, b)" naming the floe columns idx[0..n) to b. */
static void names_of(fbuf *b, const floe_column *ec, const int *idx, int n) {
  fbuf_printf(b, NULL, "(");
  for (int k = 0; k < n; k++)
    fbuf_printf(b, NULL, "%s%s", k ? ", " : "", ec[idx[k]].name);
  fbuf_printf(b, NULL, ")");
}

/* The Relation message flags the replica identity's columns (every column
 * under REPLICA IDENTITY FULL, none without an identity). The floe table's
 * key was fixed when it was created, and the engine cannot change it: when
 * the source's identity no longer matches it (a new primary key, another
 * REPLICA IDENTITY index, an identity dropped), old rows in the stream
 * would be matched by the wrong columns, so the table pauses before
 * applying anything under the new identity. */
static floe_status ident_check(pgs_source *s, pgs_tab *tab, const pgo_msg *m,
                               floe_error *err) {
  const int nr = m->relation.ncols;
  const pgo_column *rc = m->relation.cols;
  const floe_column *ec = NULL;
  int ne = floe_table_columns(tab->t, &ec);
  const int *key = NULL;
  int nkey = floe_table_key(tab->t, &key);
  int *flagged = calloc((size_t)nr + 1, sizeof *flagged);
  if (!flagged) return ferr_nomem(err, (size_t)nr * sizeof *flagged);
  int nf = 0;
  bool all = nr > 0, same;
  for (int i = 0; i < nr && i < tab->nrc; i++) {
    if (!(rc[i].flags & PGO_COL_KEY)) {
      all = false;
      continue;
    }
    int e = tab->rc[i].eng;
    if (e >= 0 && e < ne) flagged[nf++] = e;
  }
  /* the same set of columns (both lists are duplicate-free) */
  same = nf == nkey;
  for (int k = 0; same && k < nkey; k++) {
    bool in = false;
    for (int j = 0; j < nf && !in; j++) in = flagged[j] == key[k];
    same = in;
  }
  floe_status st = FLOE_OK;
  const char *why = NULL; /* NULL with !ok: another set of columns */
  bool ok = false;
  if (same && nkey > 0) {
    ok = true; /* the key's columns, as created */
  } else if (all && nkey == 0) {
    ok = true; /* REPLICA IDENTITY FULL without a key, as created */
  } else if (all) {
    /* FULL on a keyed floe table: fine while that key is still the
     * primary key (old rows carry it); ask the catalog, once it shows the
     * transaction being applied (inside a streamed transaction, still
     * open, it cannot: the catalog before it answers) */
    if (s->in_txn && !s->dec.in_stream) wait_visible(s, s->cur.xid);
    PGresult *r = NULL;
    st = pk_names(s, tab->oid, &r, err);
    if (!st) {
      ok = PQntuples(r) == nkey;
      for (int k = 0; ok && k < nkey; k++) {
        bool in = false;
        for (int j = 0; j < PQntuples(r) && !in; j++)
          in = !strcmp(PQgetvalue(r, j, 0), ec[key[k]].name);
        ok = in;
      }
      PQclear(r);
      why = "REPLICA IDENTITY FULL, and the primary key is no longer the "
            "floe table's key";
    }
  } else if (nf == 0) {
    why = "no replica identity (REPLICA IDENTITY NOTHING, or DEFAULT without "
          "a primary key)";
  }
  if (!st && !ok) {
    fbuf a = FBUF_INIT, b = FBUF_INIT;
    names_of(&a, ec, key, nkey);
    if (nkey == 0) {
      fbuf_reset(&a);
      fbuf_printf(&a, NULL, "the whole row (REPLICA IDENTITY FULL)");
    }
    if (!why) {
      names_of(&b, ec, flagged, nf);
      fbuf_put_u8(&b, 0, NULL);
    }
    fbuf_put_u8(&a, 0, NULL);
    st = pause_tab(
        s, tab, err,
        "the row identity of %s.%s changed from %s to %s (ALTER TABLE ... "
        "PRIMARY KEY / REPLICA IDENTITY): a floe table keeps the key it was "
        "created with; mirror the table into a new floe table (or drop this "
        "one) to follow it",
        tab->schema, tab->table, a.data ? (const char *)a.data : "()",
        why      ? why
        : b.data ? (const char *)b.data
                 : "()");
    fbuf_free(&a);
    fbuf_free(&b);
  }
  free(flagged);
  return st;
}

floe_status pgs_relation(pgs_source *s, pgs_tab *tab, bool stale,
                         const pgo_msg *m, floe_error *err) {
  FLOE_TRY(evolve(s, tab, stale, m, err));
  /* a replay's Relation may predate an identity change: not judged */
  if (stale || !tab->rel_valid || tab->state == PGS_PAUSED ||
      tab->state == PGS_ERROR || tab->state == PGS_STOPPED)
    return FLOE_OK;
  return ident_check(s, tab, m, err);
}
