/* Parser of the --schema SPEC (see spec.h). */
#include "cli/spec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Column counts beyond this are a typo, not a table; it also keeps every
 * field id (n + number of lists) far inside int32. */
#define CLI_SPEC_MAX_FIELDS 10000

static const struct {
  const char *name;
  col_type id;
} cli_scalar_types[] = {
    {"bool", COL_BOOL},
    {"boolean", COL_BOOL},
    {"int16", COL_INT16},
    {"int32", COL_INT32},
    {"int64", COL_INT64},
    {"float32", COL_FLOAT32},
    {"float64", COL_FLOAT64},
    {"utf8", COL_UTF8},
    {"binary", COL_BINARY},
    {"date", COL_DATE},
    {"time", COL_TIME},
    {"timestamp", COL_TIMESTAMP},
    {"timestamptz", COL_TIMESTAMPTZ},
    {"uuid", COL_UUID},
};

static void trim(const char **s, size_t *n) {
  while (*n && isspace((unsigned char)**s)) (*s)++, (*n)--;
  while (*n && isspace((unsigned char)(*s)[*n - 1])) (*n)--;
}

/* Reads a small decimal number from s[*i..n); false when there is none. */
static bool read_uint(const char *s, size_t n, size_t *i, unsigned *out) {
  size_t start = *i;
  unsigned v = 0;
  while (*i < n && isdigit((unsigned char)s[*i])) {
    if (v > 1000) return false; /* far beyond any legal precision */
    v = v * 10 + (unsigned)(s[*i] - '0');
    (*i)++;
  }
  *out = v;
  return *i > start;
}

static floe_status parse_scalar(const char *s, size_t n, col_type *id,
                                uint8_t *prec, uint8_t *scale,
                                floe_error *err) {
  trim(&s, &n);
  *prec = 0;
  *scale = 0;
  for (size_t k = 0; k < sizeof cli_scalar_types / sizeof *cli_scalar_types;
       k++) {
    const char *name = cli_scalar_types[k].name;
    if (strlen(name) == n && strncasecmp(s, name, n) == 0) {
      *id = cli_scalar_types[k].id;
      return FLOE_OK;
    }
  }
  if (n >= 7 && strncasecmp(s, "decimal", 7) == 0) {
    size_t i = 7;
    while (i < n && isspace((unsigned char)s[i])) i++;
    unsigned p = 0, sc = 0;
    if (i >= n || s[i] != '(') goto bad_decimal;
    i++;
    while (i < n && isspace((unsigned char)s[i])) i++;
    if (!read_uint(s, n, &i, &p)) goto bad_decimal;
    while (i < n && isspace((unsigned char)s[i])) i++;
    if (i < n && s[i] == ',') {
      i++;
      while (i < n && isspace((unsigned char)s[i])) i++;
      if (!read_uint(s, n, &i, &sc)) goto bad_decimal;
      while (i < n && isspace((unsigned char)s[i])) i++;
    }
    if (i + 1 != n || s[i] != ')') goto bad_decimal;
    if (p < 1 || p > 38)
      return ferr_set(err, FLOE_EINVAL, "decimal precision %u is outside 1..38",
                      p);
    if (sc > p)
      return ferr_set(err, FLOE_EINVAL,
                      "decimal scale %u is larger than precision %u", sc, p);
    *id = COL_DECIMAL;
    *prec = (uint8_t)p;
    *scale = (uint8_t)sc;
    return FLOE_OK;
  bad_decimal:
    return ferr_set(err, FLOE_EINVAL,
                    "bad decimal type '%.*s' (want decimal(P,S))", (int)n, s);
  }
  if (n >= 4 && strncasecmp(s, "list", 4) == 0)
    return ferr_set(err, FLOE_EINVAL,
                    "'%.*s': list elements must be scalar types", (int)n, s);
  return ferr_set(err, FLOE_EINVAL,
                  "unknown type '%.*s' (types: bool, int16, int32, int64, "
                  "float32, float64, decimal(P,S), utf8, binary, date, time, "
                  "timestamp, timestamptz, uuid, list<T>)",
                  (int)n, s);
}

floe_status cli_type_parse(const char *s, size_t n, col_dtype *out,
                           bool *elem_required, floe_error *err) {
  trim(&s, &n);
  memset(out, 0, sizeof *out);
  *elem_required = false;
  if (n >= 4 && strncasecmp(s, "list", 4) == 0) {
    size_t i = 4;
    while (i < n && isspace((unsigned char)s[i])) i++;
    if (i < n && s[i] == '<') {
      if (s[n - 1] != '>')
        return ferr_set(err, FLOE_EINVAL, "unclosed '<' in type '%.*s'", (int)n,
                        s);
      const char *e = s + i + 1;
      size_t en = n - i - 2;
      trim(&e, &en);
      if (en && e[en - 1] == '!') {
        *elem_required = true;
        en--;
      }
      if (en == 0)
        return ferr_set(err, FLOE_EINVAL, "list without element type");
      out->id = COL_LIST;
      return parse_scalar(e, en, &out->elem, &out->elem_precision,
                          &out->elem_scale, err);
    }
  }
  return parse_scalar(s, n, &out->id, &out->precision, &out->scale, err);
}

void cli_spec_free(cli_spec *s) {
  if (!s) return;
  for (int i = 0; i < s->nfields; i++) free(s->fields[i].name);
  free(s->fields);
  s->fields = NULL;
  s->nfields = 0;
}

/* Parses one "name:type[!]" item (n bytes of s) into out->fields[idx]. */
static floe_status parse_item(cli_spec *out, int idx, const char *s, size_t n,
                              floe_error *err) {
  col_field *f = &out->fields[idx];
  memset(f, 0, sizeof *f);
  const char *colon = memchr(s, ':', n);
  if (!colon) {
    const char *t = s;
    size_t tn = n;
    trim(&t, &tn);
    return ferr_set(err, FLOE_EINVAL, "column %d '%.*s': expected name:type",
                    idx + 1, (int)tn, t);
  }
  const char *name = s;
  size_t name_n = (size_t)(colon - s);
  trim(&name, &name_n);
  if (name_n == 0)
    return ferr_set(err, FLOE_EINVAL, "column %d: empty name", idx + 1);
  f->name = malloc(name_n + 1);
  if (!f->name) return ferr_nomem(err, name_n + 1);
  memcpy(f->name, name, name_n);
  f->name[name_n] = '\0';
  if (memchr(f->name, '\0', name_n))
    return ferr_set(err, FLOE_EINVAL, "column %d: NUL in name", idx + 1);

  const char *t = colon + 1;
  size_t tn = n - (size_t)(colon + 1 - s);
  trim(&t, &tn);
  f->nullable = true;
  if (tn && t[tn - 1] == '!') {
    f->nullable = false;
    tn--;
  }
  if (tn == 0)
    return ferr_set(err, FLOE_EINVAL, "column %d (%s): missing type", idx + 1,
                    f->name);
  bool elem_req = false;
  floe_status st = cli_type_parse(t, tn, &f->type, &elem_req, err);
  if (st != FLOE_OK)
    return ferr_prefix(err, st, "column %d (%s)", idx + 1, f->name);
  f->elem_nullable = f->type.id == COL_LIST ? !elem_req : false;
  f->id = idx + 1;
  return FLOE_OK;
}

floe_status cli_spec_parse(const char *text, cli_spec *out, floe_error *err) {
  out->nfields = 0;
  out->fields = NULL;
  size_t len = strlen(text);
  /* Count the items first so the field array is allocated once. */
  int count = 1, depth_p = 0, depth_a = 0;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (c == '(')
      depth_p++;
    else if (c == ')')
      depth_p--;
    else if (c == '<')
      depth_a++;
    else if (c == '>')
      depth_a--;
    else if (c == ',' && depth_p <= 0 && depth_a <= 0)
      count++;
    if (depth_p < 0 || depth_a < 0)
      return ferr_set(err, FLOE_EINVAL, "column %d: unbalanced '%c'", count, c);
  }
  if (depth_p || depth_a)
    return ferr_set(err, FLOE_EINVAL, "column %d: unclosed '%c'", count,
                    depth_p ? '(' : '<');
  if (count > CLI_SPEC_MAX_FIELDS)
    return ferr_set(err, FLOE_EINVAL, "%d columns (at most %d)", count,
                    CLI_SPEC_MAX_FIELDS);
  out->fields = calloc((size_t)count, sizeof *out->fields);
  if (!out->fields) return ferr_nomem(err, (size_t)count * sizeof(col_field));

  size_t start = 0;
  depth_p = depth_a = 0;
  for (size_t i = 0; i <= len; i++) {
    char c = i < len ? text[i] : ',';
    if (c == '(')
      depth_p++;
    else if (c == ')')
      depth_p--;
    else if (c == '<')
      depth_a++;
    else if (c == '>')
      depth_a--;
    else if (c == ',' && depth_p == 0 && depth_a == 0) {
      floe_status st =
          parse_item(out, out->nfields, text + start, i - start, err);
      out->nfields++; /* so cli_spec_free releases the name */
      if (st != FLOE_OK) return st;
      start = i + 1;
    }
  }
  for (int i = 0; i < out->nfields; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(out->fields[i].name, out->fields[j].name) == 0)
        return ferr_set(err, FLOE_EINVAL,
                        "column %d: name '%s' repeats column %d", i + 1,
                        out->fields[i].name, j + 1);
  /* List elements are numbered after every column, in column order. */
  int32_t next_id = out->nfields + 1;
  for (int i = 0; i < out->nfields; i++)
    if (out->fields[i].type.id == COL_LIST) out->fields[i].elem_id = next_id++;
  return FLOE_OK;
}
