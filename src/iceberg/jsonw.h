/*
 * jw: a streaming JSON writer that reproduces the byte layout of Iceberg
 * Java's output (Jackson). Iceberg tools diff and hash metadata files, and
 * floe's own round-trip guarantee (parse -> write is a fixed point) needs one
 * canonical layout, so floe does not use jansson's dumper for documents.
 *
 * Layouts:
 *   compact  {"a":1,"b":[1,2],"c":{}}
 *   pretty   Jackson's DefaultPrettyPrinter: objects open one entry per line
 *            indented 2 spaces per open object, `"key" : value`; arrays stay
 *            inline as `[ 1, 2 ]` (`[ {` ... `}, {` ... `} ]` for objects);
 *            empty containers are `{ }` and `[ ]`; no trailing newline.
 *
 * Errors are sticky: the first failure (out of memory, nesting past
 * JW_MAX_DEPTH, a key outside an object) is kept and returned by jw_finish;
 * later calls do nothing. Strings are written as given (UTF-8 passed through)
 * with `"`, `\` and control characters escaped as Jackson does.
 */
#ifndef FLOE_ICEBERG_JSONW_H
#define FLOE_ICEBERG_JSONW_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"

#define JW_MAX_DEPTH 32

typedef struct jw {
  fbuf *out; /* borrowed; output is appended */
  bool pretty;
  int level;   /* open containers */
  int objects; /* open objects (the indentation unit; arrays are inline) */
  bool is_obj[JW_MAX_DEPTH];
  int64_t count[JW_MAX_DEPTH]; /* entries written in each open container */
  bool after_key;              /* a key was written, its value comes next */
  floe_status st;
  floe_error *err;
} jw;

void jw_init(jw *w, fbuf *out, bool pretty, floe_error *err);
void jw_obj_begin(jw *w);
void jw_obj_end(jw *w);
void jw_arr_begin(jw *w);
void jw_arr_end(jw *w);
/* Starts an object entry; the next value call writes its value. */
void jw_key(jw *w, const char *key);
void jw_str(jw *w, const char *s);
void jw_strn(jw *w, const char *s, size_t n);
void jw_int(jw *w, int64_t v);
void jw_bool(jw *w, bool v);
void jw_null(jw *w);
/* Shortest text that reads back as the same double; always has a '.' or an
 * exponent so it stays a real. Non-finite values fail (JSON has none). */
void jw_real(jw *w, double v);
/* Writes a jansson value in this writer's layout (object keys in their
 * stored order). */
void jw_json(jw *w, const json_t *v);
/* Writes s[0..n) as one value, verbatim: a value this writer (same
 * layout, at top level) rendered earlier. Only compact text splices into a
 * pretty document unchanged, so callers splice into compact writers. */
void jw_raw(jw *w, const char *s, size_t n);
/* The first error, or FLOE_OK when every container was closed. */
floe_status jw_finish(jw *w);

/* Convenience: key + value. */
void jw_kstr(jw *w, const char *key, const char *s);
void jw_kint(jw *w, const char *key, int64_t v);
void jw_kbool(jw *w, const char *key, bool v);

#endif
