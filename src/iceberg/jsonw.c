/* JSON writer with Jackson's byte layout (see jsonw.h). */
#include "iceberg/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(jw *w, const void *p, size_t n) {
  if (w->st != FLOE_OK) return;
  w->st = fbuf_append(w->out, p, n, w->err);
}

static void puts_(jw *w, const char *s) { put(w, s, strlen(s)); }

static void fail(jw *w, const char *msg) {
  if (w->st != FLOE_OK) return;
  w->st = ferr_set(w->err, FLOE_EINVAL, "json writer: %s", msg);
}

static void newline_indent(jw *w, int objects) {
  if (w->st != FLOE_OK) return;
  puts_(w, "\n");
  for (int i = 0; i < objects; i++) puts_(w, "  ");
}

void jw_init(jw *w, fbuf *out, bool pretty, floe_error *err) {
  memset(w, 0, sizeof *w);
  w->out = out;
  w->pretty = pretty;
  w->err = err;
}

/* Writes whatever separates this value from the previous one. */
static void before_value(jw *w) {
  if (w->st != FLOE_OK) return;
  if (w->level == 0) return;
  int l = w->level - 1;
  if (w->is_obj[l]) {
    if (!w->after_key) fail(w, "value in an object without a key");
    w->after_key = false;
    return;
  }
  if (w->count[l] > 0)
    puts_(w, w->pretty ? ", " : ",");
  else if (w->pretty)
    puts_(w, " ");
  w->count[l]++;
}

static void open(jw *w, bool obj) {
  before_value(w);
  if (w->st != FLOE_OK) return;
  if (w->level >= JW_MAX_DEPTH) {
    fail(w, "nesting too deep");
    return;
  }
  w->is_obj[w->level] = obj;
  w->count[w->level] = 0;
  w->level++;
  if (obj) w->objects++;
  puts_(w, obj ? "{" : "[");
}

static void close_(jw *w, bool obj) {
  if (w->st != FLOE_OK) return;
  if (w->level == 0 || w->is_obj[w->level - 1] != obj || w->after_key) {
    fail(w, "unbalanced container");
    return;
  }
  w->level--;
  int64_t n = w->count[w->level];
  if (obj) w->objects--;
  if (w->pretty) {
    if (n > 0 && obj)
      newline_indent(w, w->objects);
    else
      puts_(w, " ");
  }
  puts_(w, obj ? "}" : "]");
}

void jw_obj_begin(jw *w) { open(w, true); }
void jw_obj_end(jw *w) { close_(w, true); }
void jw_arr_begin(jw *w) { open(w, false); }
void jw_arr_end(jw *w) { close_(w, false); }

static void put_string(jw *w, const char *s, size_t n) {
  static const char hex[] = "0123456789ABCDEF";
  puts_(w, "\"");
  size_t run = 0; /* bytes copied in one go between escapes */
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char u[7];
    if (c == '"')
      esc = "\\\"";
    else if (c == '\\')
      esc = "\\\\";
    else if (c == '\n')
      esc = "\\n";
    else if (c == '\r')
      esc = "\\r";
    else if (c == '\t')
      esc = "\\t";
    else if (c == '\b')
      esc = "\\b";
    else if (c == '\f')
      esc = "\\f";
    else if (c < 0x20) {
      u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0';
      u[4] = hex[c >> 4], u[5] = hex[c & 15], u[6] = 0;
      esc = u;
    }
    if (!esc) continue;
    put(w, s + run, i - run);
    puts_(w, esc);
    run = i + 1;
  }
  put(w, s + run, n - run);
  puts_(w, "\"");
}

void jw_key(jw *w, const char *key) {
  if (w->st != FLOE_OK) return;
  if (w->level == 0 || !w->is_obj[w->level - 1] || w->after_key) {
    fail(w, "key outside an object");
    return;
  }
  int l = w->level - 1;
  if (w->count[l] > 0) puts_(w, ",");
  if (w->pretty) newline_indent(w, w->objects);
  w->count[l]++;
  put_string(w, key, strlen(key));
  puts_(w, w->pretty ? " : " : ":");
  w->after_key = true;
}

void jw_strn(jw *w, const char *s, size_t n) {
  before_value(w);
  if (w->st == FLOE_OK) put_string(w, s, n);
}

void jw_str(jw *w, const char *s) { jw_strn(w, s, strlen(s)); }

void jw_int(jw *w, int64_t v) {
  before_value(w);
  char b[32];
  int n = snprintf(b, sizeof b, "%lld", (long long)v);
  put(w, b, (size_t)n);
}

void jw_raw(jw *w, const char *s, size_t n) {
  before_value(w);
  put(w, s, n);
}

void jw_bool(jw *w, bool v) {
  before_value(w);
  puts_(w, v ? "true" : "false");
}

void jw_null(jw *w) {
  before_value(w);
  puts_(w, "null");
}

void jw_real(jw *w, double v) {
  if (!isfinite(v)) {
    fail(w, "non-finite number");
    return;
  }
  before_value(w);
  char b[40];
  /* the fewest digits that read back as the same double, so the text is
   * both short and a fixed point of parse -> write */
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(b, sizeof b, "%.*g", prec, v);
    if (strtod(b, NULL) == v) break;
  }
  if (!strpbrk(b, ".eE")) strcat(b, ".0");
  puts_(w, b);
}

static void json_value(jw *w, const json_t *v, int depth) {
  if (w->st != FLOE_OK) return;
  if (depth > JW_MAX_DEPTH) {
    fail(w, "nesting too deep");
    return;
  }
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    jw_obj_begin(w);
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
      jw_key(w, k);
      json_value(w, x, depth + 1);
    }
    jw_obj_end(w);
    break;
  }
  case JSON_ARRAY:
    jw_arr_begin(w);
    for (size_t i = 0; i < json_array_size(v); i++)
      json_value(w, json_array_get(v, i), depth + 1);
    jw_arr_end(w);
    break;
  case JSON_STRING:
    jw_strn(w, json_string_value(v), json_string_length(v));
    break;
  case JSON_INTEGER: jw_int(w, json_integer_value(v)); break;
  case JSON_REAL: jw_real(w, json_real_value(v)); break;
  case JSON_TRUE: jw_bool(w, true); break;
  case JSON_FALSE: jw_bool(w, false); break;
  case JSON_NULL: jw_null(w); break;
  }
}

void jw_json(jw *w, const json_t *v) { json_value(w, v, 0); }

floe_status jw_finish(jw *w) {
  if (w->st == FLOE_OK && (w->level != 0 || w->after_key))
    fail(w, "unclosed container");
  return w->st;
}

void jw_kstr(jw *w, const char *key, const char *s) {
  jw_key(w, key);
  jw_str(w, s);
}

void jw_kint(jw *w, const char *key, int64_t v) {
  jw_key(w, key);
  jw_int(w, v);
}

void jw_kbool(jw *w, const char *key, bool v) {
  jw_key(w, key);
  jw_bool(w, v);
}
