/*
 * Postgres type mapping and text-value parsing (see pgtypes.h and the table in
 * src/pg/README.md).
 *
 * Scalars that Postgres prints exactly like floe's own text form (floats,
 * decimals, dates, times, timestamps, bytea hex, uuid, utf8) go through
 * col_text_append, so there is one grammar for them in the code base; this
 * file adds only what is Postgres-specific: infinity for dates and
 * timestamps, NaN/Infinity in numeric, t/f booleans, the array text format,
 * and the error codes (the server's text is outside bytes: a value that does
 * not parse is corrupt, one that does not fit is a range error).
 */
#include "pg/pgtypes.h"

#include <stdio.h>
#include <string.h>

#include "columnar/text.h"

/* ---- names and messages ---- */

const char *pgt_dec_name(pgt_dec d) {
  static const char *const names[PGT_DEC_COUNT] = {
      "bool",   "int2",      "int4",        "int8",  "float4",
      "float8", "numeric",   "text",        "bytea", "date",
      "time",   "timestamp", "timestamptz", "uuid",  "array"};
  return (unsigned)d < PGT_DEC_COUNT ? names[d] : "?";
}

/* Writes at most 40 bytes of s as a printable quotation (\xNN for others,
 * "..." when cut) into buf. */
static const char *quote(const char *s, size_t n, char *buf, size_t cap) {
  size_t o = 0, i = 0;
  for (; i < n && i < 40 && o + 5 < cap; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\') {
      buf[o++] = '\\';
      buf[o++] = (char)ch;
    } else if (ch < 0x20 || ch >= 0x7f) {
      o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", ch);
    } else {
      buf[o++] = (char)ch;
    }
  }
  if (i < n && o + 4 <= cap) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  buf[o] = 0;
  return buf;
}

static floe_status bad_value(floe_error *err, floe_status code, pgt_dec d,
                             const char *s, size_t n, const char *why) {
  char q[200];
  return ferr_set(err, code, "postgres %s value \"%s\": %s", pgt_dec_name(d),
                  quote(s, n, q, sizeof q), why);
}

/* ---- mapping ---- */

bool pgt_numeric_typmod(int32_t typmod, int *precision, int *scale) {
  /* atttypmod = ((precision << 16) | (scale & 0x7ff)) + VARHDRSZ, the scale
   * an 11-bit two's complement number (Postgres 15 allows -1000..1000) */
  if (typmod < 4) return false;
  int32_t t = typmod - 4;
  int p = (int)((uint32_t)t >> 16) & 0xffff;
  int s = (int)(t & 0x7ff);
  if (s & 0x400) s -= 0x800;
  if (p < 1 || p > 1000) return false;
  *precision = p;
  *scale = s;
  return true;
}

static bool name_is(const char *name, const char *lit) {
  return name && strcmp(name, lit) == 0;
}

static col_dtype dt(col_type id) {
  col_dtype t = {0};
  t.id = id;
  return t;
}

/* Maps one scalar type; returns false when floe does not know the type (the
 * caller then keeps its text and warns). */
static bool map_scalar(uint32_t oid, int32_t typmod, char typtype,
                       const char *name, col_dtype *t, pgt_dec *dec,
                       const char **note) {
  *note = NULL;
  *t = dt(COL_UTF8);
  *dec = PGT_DEC_TEXT;
  if (typtype == 'e') return true; /* enum labels */
  switch (oid) {
  case PGT_OID_BOOL: *t = dt(COL_BOOL), *dec = PGT_DEC_BOOL; return true;
  case PGT_OID_INT2: *t = dt(COL_INT16), *dec = PGT_DEC_INT2; return true;
  case PGT_OID_INT4: *t = dt(COL_INT32), *dec = PGT_DEC_INT4; return true;
  case PGT_OID_INT8:
  case PGT_OID_OID: *t = dt(COL_INT64), *dec = PGT_DEC_INT8; return true;
  case PGT_OID_FLOAT4: *t = dt(COL_FLOAT32), *dec = PGT_DEC_FLOAT4; return true;
  case PGT_OID_FLOAT8: *t = dt(COL_FLOAT64), *dec = PGT_DEC_FLOAT8; return true;
  case PGT_OID_NUMERIC: {
    int p, s;
    if (!pgt_numeric_typmod(typmod, &p, &s)) {
      *note = "numeric without a precision is kept as its exact text (utf8)";
      return true;
    }
    /* a negative scale stores multiples of 10^-s: p - s integer digits; a
     * scale above the precision stores only fraction digits: s of them */
    int P = s < 0 ? p - s : s > p ? s : p, S = s < 0 ? 0 : s;
    if (P > 38) {
      *note = "numeric with more than 38 digits is kept as its exact text "
              "(utf8)";
      return true;
    }
    *t = dt(COL_DECIMAL);
    t->precision = (uint8_t)P;
    t->scale = (uint8_t)S;
    *dec = PGT_DEC_DECIMAL;
    return true;
  }
  case PGT_OID_BYTEA: *t = dt(COL_BINARY), *dec = PGT_DEC_BYTEA; return true;
  case PGT_OID_DATE: *t = dt(COL_DATE), *dec = PGT_DEC_DATE; return true;
  case PGT_OID_TIME: *t = dt(COL_TIME), *dec = PGT_DEC_TIME; return true;
  case PGT_OID_TIMESTAMP:
    *t = dt(COL_TIMESTAMP), *dec = PGT_DEC_TIMESTAMP;
    return true;
  case PGT_OID_TIMESTAMPTZ:
    *t = dt(COL_TIMESTAMPTZ), *dec = PGT_DEC_TIMESTAMPTZ;
    return true;
  case PGT_OID_UUID: *t = dt(COL_UUID), *dec = PGT_DEC_UUID; return true;
  case PGT_OID_TIMETZ:
    *note = "timetz is kept as its text (Iceberg has no time with zone)";
    return true;
  case PGT_OID_INTERVAL:
    *note = "interval is kept as its text (IntervalStyle postgres)";
    return true;
  case PGT_OID_TEXT:
  case PGT_OID_VARCHAR:
  case PGT_OID_BPCHAR:
  case PGT_OID_NAME:
  case PGT_OID_CHAR:
  case PGT_OID_JSON:
  case PGT_OID_JSONB:
  case PGT_OID_XML:
  case PGT_OID_MONEY:
  case PGT_OID_INET:
  case PGT_OID_CIDR:
  case PGT_OID_MACADDR:
  case PGT_OID_MACADDR8: return true;
  default: break;
  }
  /* extension types have no fixed oid: known ones match by name */
  if (typtype == 'b' && name_is(name, "citext")) return true;
  *note = "type has no floe mapping: kept as its text (utf8)";
  return false;
}

/* The binary reader for a mapped scalar: the native ones follow the
 * decoder; of the types kept as text only those whose send format is their
 * text (or jsonb's versioned text, or numeric's digits) qualify. */
static pgt_bin bin_of(uint32_t oid, char typtype, const char *name,
                      pgt_dec dec) {
  switch (dec) {
  case PGT_DEC_BOOL: return PGT_BIN_BOOL;
  case PGT_DEC_INT2: return PGT_BIN_INT2;
  case PGT_DEC_INT4: return PGT_BIN_INT4;
  case PGT_DEC_INT8: return oid == PGT_OID_OID ? PGT_BIN_OID : PGT_BIN_INT8;
  case PGT_DEC_FLOAT4: return PGT_BIN_FLOAT4;
  case PGT_DEC_FLOAT8: return PGT_BIN_FLOAT8;
  case PGT_DEC_DECIMAL: return PGT_BIN_NUMERIC;
  case PGT_DEC_BYTEA: return PGT_BIN_BYTEA;
  case PGT_DEC_DATE: return PGT_BIN_DATE;
  case PGT_DEC_TIME: return PGT_BIN_TIME;
  case PGT_DEC_TIMESTAMP:
  case PGT_DEC_TIMESTAMPTZ: return PGT_BIN_TIMESTAMP;
  case PGT_DEC_UUID: return PGT_BIN_UUID;
  case PGT_DEC_TEXT: break;
  case PGT_DEC_ARRAY:
  case PGT_DEC_COUNT:
  default: return PGT_BIN_NONE;
  }
  if (typtype == 'e') return PGT_BIN_TEXT;
  switch (oid) {
  case PGT_OID_NUMERIC: return PGT_BIN_NUMERIC_TEXT;
  case PGT_OID_JSONB: return PGT_BIN_JSONB;
  case PGT_OID_TEXT:
  case PGT_OID_VARCHAR:
  case PGT_OID_BPCHAR:
  case PGT_OID_NAME:
  case PGT_OID_JSON:
  case PGT_OID_XML: return PGT_BIN_TEXT;
  default: break;
  }
  if (typtype == 'b' && name_is(name, "citext")) return PGT_BIN_TEXT;
  return PGT_BIN_NONE;
}

floe_status pgt_map_type(const pgt_desc *d, pgt_map *out, floe_error *err) {
  if (!d || !out) return ferr_set(err, FLOE_EINVAL, "pgt_map_type: NULL");
  if (d->typtype == 'd' || (d->is_array && d->elem_typtype == 'd'))
    return ferr_set(err, FLOE_EINVAL,
                    "pgt_map_type: type %u: domains must be resolved to "
                    "their base type first",
                    d->is_array ? d->elem_oid : d->oid);
  memset(out, 0, sizeof *out);
  out->delim = ',';
  if (!d->is_array) {
    bool known = map_scalar(d->oid, d->typmod, d->typtype, d->name, &out->type,
                            &out->dec, &out->note);
    out->warn = !known;
    out->bin =
        known ? bin_of(d->oid, d->typtype, d->name, out->dec) : PGT_BIN_NONE;
    return FLOE_OK;
  }
  col_dtype et;
  pgt_dec ed;
  const char *note;
  bool known = map_scalar(d->elem_oid, d->typmod, d->elem_typtype, d->elem_name,
                          &et, &ed, &note);
  if (!known) {
    /* the element's text may use any delimiter and quoting convention:
     * keep the whole array's text rather than guess at its elements */
    out->type = dt(COL_UTF8);
    out->dec = PGT_DEC_TEXT;
    out->warn = true;
    out->note = "array of a type with no floe mapping: the array is kept as "
                "its text (utf8)";
    return FLOE_OK;
  }
  out->type = dt(COL_LIST);
  out->type.elem = et.id;
  out->type.elem_precision = et.precision;
  out->type.elem_scale = et.scale;
  out->dec = PGT_DEC_ARRAY;
  out->elem_dec = ed;
  out->elem_bin = bin_of(d->elem_oid, d->elem_typtype, d->elem_name, ed);
  out->bin = out->elem_bin == PGT_BIN_NONE ? PGT_BIN_NONE : PGT_BIN_ARRAY;
  out->delim = d->elem_delim ? d->elem_delim : ',';
  out->note = note;
  return FLOE_OK;
}

/* ---- scalar values ---- */

/* [+-]digits within [lo, hi]: 0 ok, 1 syntax, 2 range. */
static int parse_int(const char *s, size_t n, int64_t lo, int64_t hi,
                     int64_t *out) {
  size_t i = 0;
  bool neg = false;
  if (n && (s[0] == '-' || s[0] == '+')) neg = s[i++] == '-';
  if (i == n) return 1;
  uint64_t limit = neg ? (uint64_t)(-(lo + 1)) + 1 : (uint64_t)hi;
  uint64_t v = 0;
  int rc = 0;
  for (; i < n; i++) {
    unsigned d = (unsigned)(unsigned char)s[i] - '0';
    if (d > 9) return 1;
    if (v > (limit - d) / 10)
      rc = 2; /* keep scanning: a syntax error wins */
    else
      v = v * 10 + d;
  }
  if (rc) return rc;
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 0;
}

static bool lit(const char *s, size_t n, const char *l) {
  size_t m = strlen(l);
  return n == m && memcmp(s, l, m) == 0;
}

/* Parses through the shared text grammar; its FLOE_EINVAL becomes a range
 * error when the text was a well-formed value that does not fit (the reasons
 * "out of range" alone, or too many digits), else a corruption: the server
 * never prints a month 13 or a day 30 of February. */
static floe_status via_text(col_column *c, pgt_dec d, const char *s, size_t n,
                            floe_error *err) {
  floe_error le;
  floe_status st = col_text_append(c, s, n, &le);
  if (FLOE_LIKELY(st == FLOE_OK)) return FLOE_OK;
  if (st == FLOE_EINVAL)
    st =
        strstr(le.msg, ": out of range: ") || strstr(le.msg, "precision allows")
            ? FLOE_ERANGE
            : FLOE_ECORRUPT;
  return ferr_set(err, st, "postgres %s value: %s", pgt_dec_name(d), le.msg);
}

static floe_status append_scalar(col_column *c, pgt_dec d, const char *s,
                                 size_t n, floe_error *err) {
  int64_t v = 0;
  int rc;
  switch (d) {
  case PGT_DEC_BOOL:
    if (n == 1 && s[0] == 't') return col_append_bool(c, true, err);
    if (n == 1 && s[0] == 'f') return col_append_bool(c, false, err);
    if (lit(s, n, "true")) return col_append_bool(c, true, err);
    if (lit(s, n, "false")) return col_append_bool(c, false, err);
    return bad_value(err, FLOE_ECORRUPT, d, s, n, "not t or f");
  case PGT_DEC_INT2:
    if (!(rc = parse_int(s, n, INT16_MIN, INT16_MAX, &v)))
      return col_append_i16(c, (int16_t)v, err);
    break;
  case PGT_DEC_INT4:
    if (!(rc = parse_int(s, n, INT32_MIN, INT32_MAX, &v)))
      return col_append_i32(c, (int32_t)v, err);
    break;
  case PGT_DEC_INT8:
    if (!(rc = parse_int(s, n, INT64_MIN, INT64_MAX, &v)))
      return col_append_i64(c, v, err);
    break;
  case PGT_DEC_DECIMAL:
    if (lit(s, n, "NaN") || lit(s, n, "Infinity") || lit(s, n, "-Infinity")) {
      char tn[48];
      char why[160];
      snprintf(why, sizeof why,
               "has no value in %s (declare the column numeric without "
               "precision to keep such values as text)",
               col_dtype_format(c->type, tn, sizeof tn));
      return bad_value(err, FLOE_ERANGE, d, s, n, why);
    }
    return via_text(c, d, s, n, err);
  case PGT_DEC_DATE:
    if (lit(s, n, "infinity")) return col_append_i32(c, INT32_MAX, err);
    if (lit(s, n, "-infinity")) return col_append_i32(c, INT32_MIN, err);
    return via_text(c, d, s, n, err);
  case PGT_DEC_TIMESTAMP:
  case PGT_DEC_TIMESTAMPTZ:
    if (lit(s, n, "infinity")) return col_append_i64(c, INT64_MAX, err);
    if (lit(s, n, "-infinity")) return col_append_i64(c, INT64_MIN, err);
    return via_text(c, d, s, n, err);
  case PGT_DEC_FLOAT4:
  case PGT_DEC_FLOAT8:
  case PGT_DEC_TEXT:
  case PGT_DEC_BYTEA:
  case PGT_DEC_TIME:
  case PGT_DEC_UUID: return via_text(c, d, s, n, err);
  case PGT_DEC_ARRAY:
  case PGT_DEC_COUNT:
  default:
    return ferr_set(err, FLOE_EINVAL, "pgt: decoder %d is not a scalar",
                    (int)d);
  }
  return bad_value(err, rc == 2 ? FLOE_ERANGE : FLOE_ECORRUPT, d, s, n,
                   rc == 2 ? "out of range" : "not an integer");
}

/* ---- arrays ---- */

/* array_in's notion of white space */
static bool is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' ||
         ch == '\f';
}

/* "[lo:hi]" at s[*i] (the one-dimensional decoration for a lower bound other
 * than 1); false when malformed. */
static bool parse_dim(const char *s, size_t n, size_t *i, int64_t *lo,
                      int64_t *hi) {
  size_t k = *i + 1, st = k;
  while (k < n && s[k] != ':') k++;
  if (k == n || parse_int(s + st, k - st, INT32_MIN, INT32_MAX, lo))
    return false;
  st = ++k;
  while (k < n && s[k] != ']') k++;
  if (k == n || parse_int(s + st, k - st, INT32_MIN, INT32_MAX, hi))
    return false;
  *i = k + 1;
  return true;
}

static floe_status array_fail(col_column *c, int64_t child_len, floe_error *err,
                              floe_status code, const char *s, size_t n,
                              const char *why) {
  col_truncate(c->child, child_len);
  return bad_value(err, code, PGT_DEC_ARRAY, s, n, why);
}

/*
 * One-dimensional array text: [ "[lo:hi]=" ] "{" elem { delim elem } "}" or
 * "{}". Elements are quoted ("..." with \" and \\ escapes) or bare (NULL,
 * any case, is a null; backslash escapes the next byte); white space around
 * elements is skipped as array_in does. Nested braces are a second dimension:
 * a list holds one, so that is FLOE_EUNSUPPORTED. The lower bound is not kept
 * (a list has none); the element count is checked against it.
 */
static floe_status append_array(col_column *c, const pgt_map *m, const char *s,
                                size_t n, fbuf *scratch, floe_error *err) {
  col_column *ch = c->child;
  int64_t start = ch->length, lo = 1, hi = 0;
  bool dims = false;
  size_t i = 0;
  if (!scratch)
    return ferr_set(err, FLOE_EINVAL, "pgt_append_text: arrays need scratch");
  if (i < n && s[i] == '[') {
    if (!parse_dim(s, n, &i, &lo, &hi))
      return bad_value(err, FLOE_ECORRUPT, PGT_DEC_ARRAY, s, n,
                       "malformed dimension decoration");
    if (i < n && s[i] == '[')
      return bad_value(err, FLOE_EUNSUPPORTED, PGT_DEC_ARRAY, s, n,
                       "a multi-dimensional array does not fit a list column");
    if (i == n || s[i] != '=')
      return bad_value(err, FLOE_ECORRUPT, PGT_DEC_ARRAY, s, n,
                       "expected = after the dimensions");
    i++;
    dims = true;
  }
  while (i < n && is_space(s[i])) i++;
  if (i == n || s[i] != '{')
    return bad_value(err, FLOE_ECORRUPT, PGT_DEC_ARRAY, s, n, "expected {");
  i++;
  while (i < n && is_space(s[i])) i++;
  int64_t count = 0;
  char delim = m->delim;
  if (i < n && s[i] == '}') {
    i++;
  } else {
    for (;;) {
      while (i < n && is_space(s[i])) i++;
      if (i == n)
        return array_fail(c, start, err, FLOE_ECORRUPT, s, n, "unterminated");
      if (s[i] == '{')
        return array_fail(c, start, err, FLOE_EUNSUPPORTED, s, n,
                          "a multi-dimensional array does not fit a list "
                          "column");
      size_t a, b; /* raw element text s[a..b) */
      bool quoted = s[i] == '"', esc = false;
      if (quoted) {
        a = ++i;
        while (i < n && s[i] != '"') {
          if (s[i] == '\\') {
            esc = true;
            i++;
          }
          i++;
        }
        if (i >= n)
          return array_fail(c, start, err, FLOE_ECORRUPT, s, n,
                            "unterminated quoted element");
        b = i++;
      } else {
        a = i;
        size_t last = i; /* end of the text up to the last non-space */
        while (i < n && s[i] != delim && s[i] != '}') {
          if (s[i] == '"' || s[i] == '{')
            return array_fail(c, start, err, FLOE_ECORRUPT, s, n,
                              "unexpected quote or brace in an element");
          if (s[i] == '\\') {
            esc = true;
            if (++i == n) break;
            last = i + 1;
          } else if (!is_space(s[i])) {
            last = i + 1;
          }
          i++;
        }
        b = last;
        if (i >= n)
          return array_fail(c, start, err, FLOE_ECORRUPT, s, n, "unterminated");
        if (a == b)
          return array_fail(c, start, err, FLOE_ECORRUPT, s, n,
                            "empty unquoted element");
      }
      const char *e = s + a;
      size_t en = b - a;
      floe_status st;
      if (!quoted && !esc && en == 4 && (e[0] | 0x20) == 'n' &&
          (e[1] | 0x20) == 'u' && (e[2] | 0x20) == 'l' &&
          (e[3] | 0x20) == 'l') {
        st = col_append_null(ch, err);
      } else {
        if (esc) {
          /* drop each escaping backslash; the unescaped text is shorter */
          fbuf_reset(scratch);
          st = fbuf_reserve(scratch, en, err);
          if (st != FLOE_OK) {
            col_truncate(ch, start);
            return st;
          }
          uint8_t *o = scratch->data;
          for (size_t k = 0; k < en; k++) {
            if (e[k] == '\\' && k + 1 < en) k++;
            *o++ = (uint8_t)e[k];
          }
          scratch->len = (size_t)(o - scratch->data);
          e = (const char *)scratch->data;
          en = scratch->len;
        }
        st = append_scalar(ch, m->elem_dec, e, en, err);
      }
      if (st != FLOE_OK) {
        col_truncate(ch, start);
        return ferr_prefix(err, st, "array element %lld", (long long)count + 1);
      }
      count++;
      while (i < n && is_space(s[i])) i++;
      if (i < n && s[i] == delim) {
        i++;
        continue;
      }
      if (i < n && s[i] == '}') {
        i++;
        break;
      }
      return array_fail(c, start, err, FLOE_ECORRUPT, s, n,
                        "expected a delimiter or }");
    }
  }
  while (i < n && is_space(s[i])) i++;
  if (i != n)
    return array_fail(c, start, err, FLOE_ECORRUPT, s, n,
                      "text after the closing }");
  if (dims && hi - lo + 1 != count)
    return array_fail(c, start, err, FLOE_ECORRUPT, s, n,
                      "element count disagrees with the dimensions");
  floe_status st = col_list_end(c, err);
  if (st != FLOE_OK) col_truncate(ch, start);
  return st;
}

/* ---- binary values ---- */

__extension__ typedef unsigned __int128 u128;

#define PG_EPOCH_DAYS 10957 /* 1970-01-01 .. 2000-01-01 */
#define PG_EPOCH_US INT64_C(946684800000000)

static const char *bin_name(pgt_bin b) {
  static const char *const names[PGT_BIN_COUNT] = {
      "?",      "bool",   "int2",    "int4",      "int8", "oid",
      "float4", "float8", "numeric", "numeric",   "text", "jsonb",
      "bytea",  "date",   "time",    "timestamp", "uuid", "array"};
  return (unsigned)b < PGT_BIN_COUNT ? names[b] : "?";
}

/* The cursor label of a binary value: a constant per type, so the hot path
 * formats nothing (errors name the type through it). */
static const char *bin_what(pgt_bin b) {
#define W(s) "postgres " s " binary value"
  static const char *const what[PGT_BIN_COUNT] = {
      W("?"),         W("bool"),   W("int2"),   W("int4"),    W("int8"),
      W("oid"),       W("float4"), W("float8"), W("numeric"), W("numeric"),
      W("text"),      W("jsonb"),  W("bytea"),  W("date"),    W("time"),
      W("timestamp"), W("uuid"),   W("array")};
#undef W
  return (unsigned)b < PGT_BIN_COUNT ? what[b] : what[0];
}

static floe_status bin_fail(const fcur *c, floe_error *err, floe_status code,
                            const char *fmt, const char *arg) {
  floe_status st = fcur_fail(c, err, fmt, arg);
  if (err) err->code = code;
  return code == FLOE_ECORRUPT ? st : code;
}

static floe_status bin_len(fcur *c, size_t want, floe_error *err) {
  if (c->len != want) {
    char w[24];
    snprintf(w, sizeof w, "%zu", want);
    return fcur_fail(c, err, "%zu bytes, expected %s", c->len, w);
  }
  return FLOE_OK;
}

static uint16_t be16(const uint8_t *p) {
  return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}
static uint64_t be64(const uint8_t *p) {
  return (uint64_t)fbe32(p) << 32 | fbe32(p + 4);
}

/* The numeric send format: ndigits, weight, sign, dscale (int16 each), then
 * ndigits base-10000 digits, the first worth 10000^weight. */
typedef struct bnum {
  int ndigits, weight, dscale;
  uint16_t sign;
  const uint8_t *digits;
} bnum;

#define NUM_POS 0x0000
#define NUM_NEG 0x4000
#define NUM_NAN 0xC000
#define NUM_PINF 0xD000
#define NUM_NINF 0xF000

static floe_status read_numeric(fcur *c, bnum *v, floe_error *err) {
  if (c->len < 8)
    return fcur_fail(c, err, "%zu bytes, need at least 8", c->len);
  v->ndigits = be16(c->p);
  v->weight = (int16_t)be16(c->p + 2);
  v->sign = be16(c->p + 4);
  v->dscale = be16(c->p + 6);
  c->pos = 8;
  if (v->ndigits > 0x7fff || v->dscale > 0x3fff)
    return fcur_fail(c, err, "digit count %d or display scale %d too large",
                     v->ndigits, v->dscale);
  if (v->sign != NUM_POS && v->sign != NUM_NEG && v->sign != NUM_NAN &&
      v->sign != NUM_PINF && v->sign != NUM_NINF)
    return fcur_fail(c, err, "sign word 0x%04x", v->sign);
  if ((size_t)v->ndigits * 2 != c->len - 8)
    return fcur_fail(c, err, "%d digits in %zu bytes", v->ndigits, c->len - 8);
  v->digits = c->p + 8;
  for (int i = 0; i < v->ndigits; i++)
    if (be16(v->digits + 2 * i) > 9999) {
      c->pos = 8 + 2 * (size_t)i;
      return fcur_fail(c, err, "digit %u is not base 10000",
                       be16(v->digits + 2 * i));
    }
  return FLOE_OK;
}

static const char *num_special(uint16_t sign) {
  return sign == NUM_NAN    ? "NaN"
         : sign == NUM_PINF ? "Infinity"
         : sign == NUM_NINF ? "-Infinity"
                            : NULL;
}

/* The unscaled value at the column's scale, digit by digit (as
 * parse_decimal does for text): at most `precision` significant digits, and
 * digits below the scale must be zero. */
static floe_status numeric_to_decimal(col_column *c, fcur *cur, const bnum *v,
                                      floe_error *err) {
  int p = c->type.precision, s = c->type.scale;
  const char *sp = num_special(v->sign);
  if (sp) {
    char tn[48], why[160];
    snprintf(why, sizeof why,
             "has no value in %s (declare the column numeric without "
             "precision to keep such values as text)",
             col_dtype_format(c->type, tn, sizeof tn));
    return bad_value(err, FLOE_ERANGE, PGT_DEC_DECIMAL, sp, strlen(sp), why);
  }
  u128 acc = 0;
  int sig = 0;
  static const unsigned pow10[4] = {1, 10, 100, 1000};
  for (int i = 0; i < v->ndigits; i++) {
    unsigned d = be16(v->digits + 2 * i);
    for (int j = 3; j >= 0; j--) {
      unsigned digit = d / pow10[j] % 10;
      long x = 4L * (v->weight - i) + j; /* this digit is worth 10^x */
      if (x < -s) {
        if (digit)
          return bin_fail(cur, err, FLOE_ERANGE,
                          "%s: more fraction digits than the scale allows",
                          "numeric");
        continue;
      }
      if (!sig && !digit) continue;
      if (++sig > p)
        return bin_fail(cur, err, FLOE_ERANGE,
                        "%s: more digits than the precision allows", "numeric");
      acc = acc * 10 + digit;
    }
  }
  /* zeros the storage left out, from below the last digit down to the
   * scale */
  long low = v->ndigits ? 4L * (v->weight - v->ndigits + 1) : 0;
  for (long x = low - 1; x >= -s; x--) {
    if (!sig) break;
    if (++sig > p)
      return bin_fail(cur, err, FLOE_ERANGE,
                      "%s: more digits than the precision allows", "numeric");
    acc *= 10;
  }
  __extension__ __int128 val =
      v->sign == NUM_NEG ? -(__int128)acc : (__int128)acc;
  return col_append_dec(c, (uint64_t)val, (int64_t)(val >> 64), err);
}

/* The four decimal digits of a base-10000 digit. */
static void group_digits(unsigned d, char g[4]) {
  g[0] = (char)('0' + d / 1000);
  g[1] = (char)('0' + d / 100 % 10);
  g[2] = (char)('0' + d / 10 % 10);
  g[3] = (char)('0' + d % 10);
}

/* numeric_out's text: integer groups (the first without leading zeros),
 * then dscale fraction digits. Written straight into the column. */
static floe_status numeric_to_text(col_column *c, const bnum *v,
                                   floe_error *err) {
  const char *sp = num_special(v->sign);
  if (sp) return col_append_bytes(c, sp, strlen(sp), err);
  size_t cap = 2 + 4 * (size_t)(v->weight >= 0 ? v->weight + 1 : 1) +
               (size_t)v->dscale + 4;
  uint8_t *o = NULL;
  FLOE_TRY(col_bytes_begin(c, cap, &o, err));
  size_t k = 0;
  if (v->sign == NUM_NEG) o[k++] = '-';
  if (v->weight < 0) {
    o[k++] = '0';
  } else {
    for (int i = 0; i <= v->weight; i++) {
      unsigned d = i < v->ndigits ? be16(v->digits + 2 * i) : 0;
      char g[4];
      group_digits(d, g);
      int from = 0;
      if (i == 0)
        while (from < 3 && g[from] == '0') from++;
      for (int j = from; j < 4; j++) o[k++] = (uint8_t)g[j];
    }
  }
  if (v->dscale > 0) {
    o[k++] = '.';
    int left = v->dscale;
    for (int i = v->weight + 1; left > 0; i++) {
      unsigned d = i >= 0 && i < v->ndigits ? be16(v->digits + 2 * i) : 0;
      char g[4];
      group_digits(d, g);
      for (int j = 0; j < 4 && left > 0; j++, left--) o[k++] = (uint8_t)g[j];
    }
  }
  col_bytes_commit(c, k);
  return FLOE_OK;
}

static floe_status bin_text(col_column *c, fcur *cur, const uint8_t *p,
                            size_t n, floe_error *err) {
  size_t bad = col_utf8_check(p, n);
  if (bad != n) {
    cur->pos = bad;
    return fcur_fail(cur, err, "invalid UTF-8");
  }
  return col_append_bytes(c, p, n, err);
}

static floe_status append_bin_scalar(col_column *c, pgt_bin b, const uint8_t *p,
                                     size_t n, floe_error *err) {
  fcur cur = fcur_make(p, n, bin_what(b), 0);
  switch (b) {
  case PGT_BIN_BOOL:
    FLOE_TRY(bin_len(&cur, 1, err));
    if (p[0] > 1) return fcur_fail(&cur, err, "byte %u is not 0 or 1", p[0]);
    return col_append_bool(c, p[0] == 1, err);
  case PGT_BIN_INT2:
    FLOE_TRY(bin_len(&cur, 2, err));
    return col_append_i16(c, (int16_t)be16(p), err);
  case PGT_BIN_INT4:
    FLOE_TRY(bin_len(&cur, 4, err));
    return col_append_i32(c, (int32_t)fbe32(p), err);
  case PGT_BIN_INT8:
    FLOE_TRY(bin_len(&cur, 8, err));
    return col_append_i64(c, (int64_t)be64(p), err);
  case PGT_BIN_OID:
    FLOE_TRY(bin_len(&cur, 4, err));
    return col_append_i64(c, (int64_t)fbe32(p), err);
  case PGT_BIN_FLOAT4: {
    FLOE_TRY(bin_len(&cur, 4, err));
    uint32_t bits = fbe32(p);
    float f;
    memcpy(&f, &bits, 4);
    return col_append_f32(c, f, err);
  }
  case PGT_BIN_FLOAT8: {
    FLOE_TRY(bin_len(&cur, 8, err));
    uint64_t bits = be64(p);
    double f;
    memcpy(&f, &bits, 8);
    return col_append_f64(c, f, err);
  }
  case PGT_BIN_NUMERIC:
  case PGT_BIN_NUMERIC_TEXT: {
    bnum v = {0};
    FLOE_TRY(read_numeric(&cur, &v, err));
    return b == PGT_BIN_NUMERIC ? numeric_to_decimal(c, &cur, &v, err)
                                : numeric_to_text(c, &v, err);
  }
  case PGT_BIN_TEXT: return bin_text(c, &cur, p, n, err);
  case PGT_BIN_JSONB:
    if (n < 1 || p[0] != 1)
      return fcur_fail(&cur, err, "jsonb version byte is not 1");
    cur.pos = 1;
    return bin_text(c, &cur, p + 1, n - 1, err);
  case PGT_BIN_BYTEA: return col_append_bytes(c, p, n, err);
  case PGT_BIN_DATE: {
    FLOE_TRY(bin_len(&cur, 4, err));
    int32_t v = (int32_t)fbe32(p);
    if (v == INT32_MAX || v == INT32_MIN) return col_append_i32(c, v, err);
    int64_t days = (int64_t)v + PG_EPOCH_DAYS;
    if (days >= INT32_MAX || days <= INT32_MIN)
      return bin_fail(&cur, err, FLOE_ERANGE, "%s out of range", "date");
    return col_append_i32(c, (int32_t)days, err);
  }
  case PGT_BIN_TIME: {
    FLOE_TRY(bin_len(&cur, 8, err));
    int64_t v = (int64_t)be64(p);
    if (v < 0 || v > INT64_C(86400000000))
      return fcur_fail(&cur, err, "time %lld us is not within a day",
                       (long long)v);
    return col_append_i64(c, v, err);
  }
  case PGT_BIN_TIMESTAMP: {
    FLOE_TRY(bin_len(&cur, 8, err));
    int64_t v = (int64_t)be64(p);
    if (v == INT64_MAX || v == INT64_MIN) return col_append_i64(c, v, err);
    if (v > INT64_MAX - PG_EPOCH_US)
      return bin_fail(&cur, err, FLOE_ERANGE,
                      "%s past the int64 microsecond range since 1970",
                      "timestamp");
    return col_append_i64(c, v + PG_EPOCH_US, err);
  }
  case PGT_BIN_UUID:
    FLOE_TRY(bin_len(&cur, 16, err));
    return col_append_uuid(c, p, err);
  case PGT_BIN_NONE:
  case PGT_BIN_ARRAY:
  case PGT_BIN_COUNT:
  default: break;
  }
  return ferr_set(err, FLOE_EINVAL, "pgt: no binary reader for %s",
                  bin_name(b));
}

/* array_send: ndim, has-nulls flag, element oid, (length, lower bound) per
 * dimension, then each element as int32 length (-1: NULL) + bytes. */
static floe_status append_bin_array(col_column *c, const pgt_map *m,
                                    const uint8_t *p, size_t n,
                                    floe_error *err) {
  fcur cur = fcur_make(p, n, "postgres array binary value", 0);
  col_column *ch = c->child;
  int64_t start = ch->length;
  uint32_t ndim, flags, elem, len = 0, lb;
  FLOE_TRY(fcur_be32(&cur, &ndim, err));
  FLOE_TRY(fcur_be32(&cur, &flags, err));
  FLOE_TRY(fcur_be32(&cur, &elem, err));
  if (flags > 1) return fcur_fail(&cur, err, "flags %u", flags);
  if (ndim > 1)
    return bin_fail(&cur, err, FLOE_EUNSUPPORTED,
                    "%s: a multi-dimensional array does not fit a list "
                    "column",
                    "array");
  if (ndim == 1) {
    FLOE_TRY(fcur_be32(&cur, &len, err));
    FLOE_TRY(fcur_be32(&cur, &lb, err));
    /* each element takes at least its 4-byte length */
    if (len > fcur_left(&cur) / 4)
      return fcur_fail(&cur, err, "%u elements but only %zu bytes left", len,
                       fcur_left(&cur));
  }
  for (uint32_t i = 0; i < len; i++) {
    uint32_t el;
    floe_status st = fcur_be32(&cur, &el, err);
    if (st == FLOE_OK) {
      if (el == 0xffffffffu) {
        st = col_append_null(ch, err);
      } else if (el > fcur_left(&cur)) {
        st = fcur_fail(&cur, err, "element %u of %u bytes but only %zu left",
                       i + 1, el, fcur_left(&cur));
      } else {
        st = append_bin_scalar(ch, m->elem_bin, cur.p + cur.pos, el, err);
        if (st != FLOE_OK)
          st = ferr_prefix(err, st, "array element %u (offset %zu)", i + 1,
                           cur.pos);
        cur.pos += el;
      }
    }
    if (st != FLOE_OK) {
      col_truncate(ch, start);
      return st;
    }
  }
  floe_status st = fcur_end(&cur, err);
  if (st == FLOE_OK) st = col_list_end(c, err);
  if (st != FLOE_OK) col_truncate(ch, start);
  return st;
}

floe_status pgt_append_binary(col_column *c, const pgt_map *m, const uint8_t *p,
                              size_t n, floe_error *err) {
  if (m->bin == PGT_BIN_ARRAY) return append_bin_array(c, m, p, n, err);
  if (m->bin == PGT_BIN_NONE)
    return ferr_set(err, FLOE_EINVAL,
                    "pgt_append_binary: the column's type is read as text "
                    "only");
  return append_bin_scalar(c, m->bin, p, n, err);
}

/* ---- entry points ---- */

floe_status pgt_append_text(col_column *c, const pgt_map *m, const char *s,
                            size_t n, fbuf *scratch, floe_error *err) {
  if (m->dec == PGT_DEC_ARRAY) return append_array(c, m, s, n, scratch, err);
  return append_scalar(c, m->dec, s, n, err);
}

floe_status pgt_append_null(col_column *c, floe_error *err) {
  return col_append_null(c, err);
}
