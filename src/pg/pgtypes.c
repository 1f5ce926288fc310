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

/* ---- entry points ---- */

floe_status pgt_append_text(col_column *c, const pgt_map *m, const char *s,
                            size_t n, fbuf *scratch, floe_error *err) {
  if (m->dec == PGT_DEC_ARRAY) return append_array(c, m, s, n, scratch, err);
  return append_scalar(c, m->dec, s, n, err);
}

floe_status pgt_append_null(col_column *c, floe_error *err) {
  return col_append_null(c, err);
}
