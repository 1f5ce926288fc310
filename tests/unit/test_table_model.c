/*
 * A randomized model test of the streaming table engine (src/table) through
 * its public API only (include/floe/floe.h).
 *
 * The model is deliberately trivial: the committed table is a multiset of
 * rows (value tuples; a keyed table holds one row per key), every open source
 * transaction is a list of operations tagged with their subtransaction, a
 * commit applies the list in order and an abort drops ops by subxid. The
 * generator plays a Postgres source: interleaved transactions touch disjoint
 * rows (row locks), a TRUNCATE is exclusive (its lock), updates may change
 * the key and send unchanged TOAST columns (floe_row_set_unchanged: the model
 * keeps the old value). Besides changes the steps tick the engine with a fake
 * clock, force flushes and compactions, advance the LSN, close and reopen
 * the table, crash it (floe_table_free, then reopen: the model rolls back to
 * floe_durable_lsn and the test replays the later commits as a source
 * would; floe must skip commits <= its LSN), re-commit old LSNs (no effect),
 * delete rows that do not exist (FLOE_ENOTFOUND, table unchanged), and pin
 * read states across later steps.
 *
 * After EVERY step a fresh read state is scanned through the Arrow C stream
 * (decoded here from the Arrow layout, independent of the engine's code)
 * and compared row for row with the model (both sorted by a canonical
 * rendering); floe_read_state_rows, the stats, and the LSNs (applied and
 * durable monotonic, durable <= applied) are checked too.
 *
 * Reproducible: FLOE_MODEL_SEED=N runs seed N (default: fixed seeds),
 * FLOE_MODEL_STEPS=N steps per run, FLOE_MODEL_SCHEMA=wide|composite|nokey
 * picks one schema, FLOE_MODEL_VERBOSE=1 prints step counts. A failure
 * prints the seed, schema, config, failing step and the tail of the op
 * history. `make soak` runs many seeds with many steps.
 *
 * FLOE_DUMP_DIR=DIR: instead of the tests, one run per table (db.wide,
 * db.nokey) leaves its Iceberg table in the warehouse DIR after a crash,
 * with DIR/<table>.expected.json: the model's rows as of floe_durable_lsn in
 * floe's canonical JSON text, for tests/interop/table_engine.test.mjs.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <xxhash.h>

#include "columnar/arrow.h"
#include "columnar/text.h"
#include "floe/floe.h"

/* ====================================================================== */
/* small helpers                                                          */
/* ====================================================================== */

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) fail_msg("out of memory (%zu bytes)", n);
  return q;
}
static void *xcalloc(size_t n, size_t sz) {
  void *q = calloc(n ? n : 1, sz ? sz : 1);
  if (!q) fail_msg("out of memory");
  return q;
}
static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = xrealloc(NULL, n);
  memcpy(p, s, n);
  return p;
}

/* A growing string. */
typedef struct sb {
  char *p;
  size_t n, cap;
} sb;

static void sb_need(sb *s, size_t k) {
  if (s->n + k + 1 <= s->cap) return;
  size_t c = s->cap ? s->cap : 128;
  while (c < s->n + k + 1) c *= 2;
  s->p = xrealloc(s->p, c);
  s->cap = c;
}
static void sb_putc(sb *s, char c) {
  sb_need(s, 1);
  s->p[s->n++] = c;
  s->p[s->n] = 0;
}
static void sb_put(sb *s, const char *p, size_t n) {
  sb_need(s, n);
  memcpy(s->p + s->n, p, n);
  s->n += n;
  s->p[s->n] = 0;
}
static void sb_puts(sb *s, const char *p) { sb_put(s, p, strlen(p)); }
static void sb_printf(sb *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void sb_printf(sb *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char tmp[256];
  int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (k < (int)sizeof tmp) {
    sb_put(s, tmp, (size_t)k);
    return;
  }
  sb_need(s, (size_t)k);
  va_start(ap, fmt);
  vsnprintf(s->p + s->n, (size_t)k + 1, fmt, ap);
  va_end(ap);
  s->n += (size_t)k;
}
static void sb_i64(sb *s, int64_t v) {
  char tmp[24];
  int k = 24;
  uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  do {
    tmp[--k] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) tmp[--k] = '-';
  sb_put(s, tmp + k, (size_t)(24 - k));
}
static void sb_hex(sb *s, const uint8_t *p, size_t n) {
  static const char H[] = "0123456789abcdef";
  sb_need(s, 2 * n);
  for (size_t i = 0; i < n; i++) {
    s->p[s->n++] = H[p[i] >> 4];
    s->p[s->n++] = H[p[i] & 15];
  }
  s->p[s->n] = 0;
}
static void sb_reset(sb *s) {
  s->n = 0;
  if (s->p) s->p[0] = 0;
}
static void sb_free(sb *s) {
  free(s->p);
  memset(s, 0, sizeof *s);
}

/* A vector of strings: copies live in the vector's own pool (one malloc
 * per 64 KB, not per row: the test renders every row after every step),
 * or are borrowed (sv_ref: the owner outlives the vector). */
typedef struct strvec {
  char **v;
  int n, cap;
  char **chunks;
  int nchunks, capchunks;
  char *cur;
  size_t left;
} strvec;

static void sv_ref(strvec *s, const char *p) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 256;
    s->v = xrealloc(s->v, (size_t)s->cap * sizeof *s->v);
  }
  s->v[s->n++] = (char *)(uintptr_t)p;
}

static void sv_add(strvec *s, const char *p, size_t len) {
  if (len + 1 > s->left) {
    size_t sz = len + 1 > 16384 ? len + 1 : 65536;
    if (s->nchunks == s->capchunks) {
      s->capchunks = s->capchunks ? s->capchunks * 2 : 16;
      s->chunks = xrealloc(s->chunks, (size_t)s->capchunks * sizeof *s->chunks);
    }
    char *c = xrealloc(NULL, sz);
    s->chunks[s->nchunks++] = c;
    if (sz == 65536) {
      s->cur = c;
      s->left = sz;
    } else {
      memcpy(c, p, len);
      c[len] = 0;
      sv_ref(s, c);
      return;
    }
  }
  memcpy(s->cur, p, len);
  s->cur[len] = 0;
  sv_ref(s, s->cur);
  s->cur += len + 1;
  s->left -= len + 1;
}

static void sv_free(strvec *s) {
  for (int i = 0; i < s->nchunks; i++) free(s->chunks[i]);
  free(s->chunks);
  free(s->v);
  memset(s, 0, sizeof *s);
}
static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}
static void sv_sort(strvec *s) {
  if (s->n > 1) qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_str);
}

/* xorshift64*: reproducible per seed, independent of libc. */
typedef struct rng {
  uint64_t s;
} rng;
static uint64_t rnext(rng *r) {
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 2685821657736338717ULL;
}
static int rint_(rng *r, int n) { return (int)(rnext(r) % (uint64_t)n); }
static bool rpct(rng *r, int pct) { return rint_(r, 100) < pct; }
static void rseed(rng *r, uint64_t seed) {
  r->s = seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
  if (!r->s) r->s = 1;
  for (int i = 0; i < 4; i++) rnext(r);
}

/* ====================================================================== */
/* values and their canonical rendering                                   */
/* ====================================================================== */

/* One cell of the model (or, borrowed, one decoded Arrow cell). */
typedef struct mval {
  bool null;
  int64_t i; /* bool, ints, date, time, timestamps */
  double f;  /* float32 values are stored as (double)(float)x */
  uint64_t lo;
  int64_t hi; /* decimal128 unscaled */
  uint8_t *b; /* utf8, binary, uuid: owned bytes (borrowed when decoded) */
  uint32_t n;
  struct mval *el; /* list elements (owned) */
  int nel;
} mval;

static void mval_free(mval *v) {
  free(v->b);
  for (int i = 0; i < v->nel; i++) mval_free(&v->el[i]);
  free(v->el);
  memset(v, 0, sizeof *v);
}

static void mval_copy(mval *dst, const mval *src) {
  *dst = *src;
  if (src->b) {
    dst->b = xrealloc(NULL, src->n);
    memcpy(dst->b, src->b, src->n);
  }
  if (src->el) {
    dst->el = xcalloc((size_t)src->nel, sizeof *dst->el);
    for (int i = 0; i < src->nel; i++) mval_copy(&dst->el[i], &src->el[i]);
  }
}

/* The canonical rendering of a scalar: what both the model and the Arrow
 * decoder produce, so equality of rows is equality of strings. Floats by
 * their exact hex form (so -0 differs from 0; any NaN is "nan"), decimals
 * as their 128 bits, long byte strings by length + hash (a 40 KB value
 * renders in 20 bytes; a wrong byte still changes it). */
static void render_scalar(sb *o, floe_type t, const mval *v) {
  if (v->null) {
    sb_putc(o, '~');
    return;
  }
  switch (t) {
  case FLOE_BOOL: sb_putc(o, v->i ? 't' : 'f'); break;
  case FLOE_INT16:
  case FLOE_INT32:
  case FLOE_INT64:
  case FLOE_DATE:
  case FLOE_TIME:
  case FLOE_TIMESTAMP:
  case FLOE_TIMESTAMPTZ: sb_i64(o, v->i); break;
  case FLOE_FLOAT32:
  case FLOE_FLOAT64:
    if (isnan(v->f))
      sb_puts(o, "nan");
    else
      sb_printf(o, "%a", v->f);
    break;
  case FLOE_DECIMAL: {
    uint8_t be[16];
    for (int k = 0; k < 8; k++) {
      be[k] = (uint8_t)((uint64_t)v->hi >> (56 - 8 * k));
      be[8 + k] = (uint8_t)(v->lo >> (56 - 8 * k));
    }
    sb_putc(o, 'd');
    sb_hex(o, be, 16);
    break;
  }
  case FLOE_UTF8:
  case FLOE_BINARY:
    if (v->n > 48) {
      sb_printf(o, "#%u:%016llx", v->n,
                (unsigned long long)XXH64(v->b, v->n, 0));
      break;
    }
    sb_putc(o, '"');
    for (uint32_t k = 0; k < v->n; k++) {
      uint8_t c = v->b[k];
      if (c < 0x20 || c == '"' || c == '\\' || c == '|' || c >= 0x7f) {
        sb_putc(o, '\\');
        sb_hex(o, &c, 1);
      } else {
        sb_putc(o, (char)c);
      }
    }
    sb_putc(o, '"');
    break;
  case FLOE_UUID:
    sb_putc(o, 'u');
    sb_hex(o, v->b, v->n);
    break;
  case FLOE_LIST: sb_puts(o, "?list"); break;
  }
}

static void render_cell(sb *o, const floe_column *c, const mval *v) {
  if (c->type != FLOE_LIST || v->null) {
    render_scalar(o, c->type, v);
    return;
  }
  sb_putc(o, '[');
  for (int k = 0; k < v->nel; k++) {
    if (k) sb_putc(o, ',');
    render_scalar(o, c->elem, &v->el[k]);
  }
  sb_putc(o, ']');
}

/* ====================================================================== */
/* the Arrow C stream decoder                                             */
/* ====================================================================== */

/* The Arrow format string floe must export for a column type. */
static const char *arrow_format(floe_type t, int prec, int scale, char *buf,
                                size_t n) {
  switch (t) {
  case FLOE_BOOL: return "b";
  case FLOE_INT16: return "s";
  case FLOE_INT32: return "i";
  case FLOE_INT64: return "l";
  case FLOE_FLOAT32: return "f";
  case FLOE_FLOAT64: return "g";
  case FLOE_DECIMAL: snprintf(buf, n, "d:%d,%d", prec, scale); return buf;
  case FLOE_UTF8: return "u";
  case FLOE_BINARY: return "z";
  case FLOE_DATE: return "tdD";
  case FLOE_TIME: return "ttu";
  case FLOE_TIMESTAMP: return "tsu:";
  case FLOE_TIMESTAMPTZ: return "tsu:UTC";
  case FLOE_UUID: return "w:16";
  case FLOE_LIST: return "+l";
  }
  return "?";
}

static bool abit(const void *buf, int64_t i) {
  return (((const uint8_t *)buf)[i >> 3] >> (i & 7)) & 1;
}

/* Checks that the Arrow array a has the buffers its type needs. */
static bool arrow_shape_ok(floe_type t, const struct ArrowArray *a, char *why,
                           size_t n) {
  int64_t want = t == FLOE_UTF8 || t == FLOE_BINARY ? 3 : 2;
  if (a->n_buffers != want) {
    snprintf(why, n, "%" PRId64 " buffers, want %" PRId64, a->n_buffers, want);
    return false;
  }
  if (a->length > 0 && !a->buffers[1]) {
    snprintf(why, n, "no value buffer");
    return false;
  }
  if ((t == FLOE_UTF8 || t == FLOE_BINARY) && a->length > 0 && !a->buffers[2]) {
    /* an all-empty column may have no data buffer, but then every offset
     * is 0: checked when reading */
  }
  if (t == FLOE_LIST && (a->n_children != 1 || !a->children[0])) {
    snprintf(why, n, "list without its child");
    return false;
  }
  if (a->null_count > 0 && !a->buffers[0]) {
    snprintf(why, n, "null_count %" PRId64 " without a validity buffer",
             a->null_count);
    return false;
  }
  return true;
}

/* Decodes row i (logical, before a->offset) of a scalar Arrow array of type
 * t into v (bytes borrowed from the array). */
static bool arrow_scalar(floe_type t, const struct ArrowArray *a, int64_t i,
                         mval *v, char *why, size_t n) {
  memset(v, 0, sizeof *v);
  int64_t j = a->offset + i;
  if (a->buffers[0] && !abit(a->buffers[0], j)) {
    v->null = true;
    return true;
  }
  const uint8_t *d = a->buffers[1];
  switch (t) {
  case FLOE_BOOL: v->i = abit(d, j); break;
  case FLOE_INT16: {
    int16_t x;
    memcpy(&x, d + j * 2, 2);
    v->i = x;
    break;
  }
  case FLOE_INT32:
  case FLOE_DATE: {
    int32_t x;
    memcpy(&x, d + j * 4, 4);
    v->i = x;
    break;
  }
  case FLOE_INT64:
  case FLOE_TIME:
  case FLOE_TIMESTAMP:
  case FLOE_TIMESTAMPTZ: memcpy(&v->i, d + j * 8, 8); break;
  case FLOE_FLOAT32: {
    float x;
    memcpy(&x, d + j * 4, 4);
    v->f = x;
    break;
  }
  case FLOE_FLOAT64: memcpy(&v->f, d + j * 8, 8); break;
  case FLOE_DECIMAL:
    memcpy(&v->lo, d + j * 16, 8);
    memcpy(&v->hi, d + j * 16 + 8, 8);
    break;
  case FLOE_UUID:
    v->b = (uint8_t *)(uintptr_t)(d + j * 16);
    v->n = 16;
    break;
  case FLOE_UTF8:
  case FLOE_BINARY: {
    int32_t o0, o1;
    memcpy(&o0, d + j * 4, 4);
    memcpy(&o1, d + (j + 1) * 4, 4);
    if (o0 < 0 || o1 < o0) {
      snprintf(why, n, "bad offsets %d..%d at row %" PRId64, o0, o1, j);
      return false;
    }
    if (o1 > o0 && !a->buffers[2]) {
      snprintf(why, n, "bytes without a data buffer");
      return false;
    }
    v->b = o1 > o0 ? (uint8_t *)(uintptr_t)a->buffers[2] + o0 : NULL;
    v->n = (uint32_t)(o1 - o0);
    break;
  }
  case FLOE_LIST: snprintf(why, n, "nested list"); return false;
  }
  return true;
}

/* Renders row i (logical) of column array a (type of c) into o. */
static bool arrow_cell(sb *o, const floe_column *c, const struct ArrowArray *a,
                       int64_t i, char *why, size_t n) {
  if (c->type != FLOE_LIST) {
    mval v;
    if (!arrow_scalar(c->type, a, i, &v, why, n)) return false;
    render_scalar(o, c->type, &v);
    return true;
  }
  int64_t j = a->offset + i;
  if (a->buffers[0] && !abit(a->buffers[0], j)) {
    sb_putc(o, '~');
    return true;
  }
  int32_t o0, o1;
  memcpy(&o0, (const uint8_t *)a->buffers[1] + j * 4, 4);
  memcpy(&o1, (const uint8_t *)a->buffers[1] + (j + 1) * 4, 4);
  const struct ArrowArray *ch = a->children[0];
  if (o0 < 0 || o1 < o0 || o1 > ch->length) {
    snprintf(why, n, "bad list offsets %d..%d (child length %" PRId64 ")", o0,
             o1, ch->length);
    return false;
  }
  if (!arrow_shape_ok(c->elem, ch, why, n)) return false;
  sb_putc(o, '[');
  for (int32_t k = o0; k < o1; k++) {
    if (k > o0) sb_putc(o, ',');
    mval v;
    if (!arrow_scalar(c->elem, ch, k, &v, why, n)) return false;
    render_scalar(o, c->elem, &v);
  }
  sb_putc(o, ']');
  return true;
}

/* Consumes stream s (and releases it): checks its schema against the
 * columns cols[proj[k]] (formats, names, list children) and appends the
 * rendering of every row to out, columns joined by '|'. NULL on success,
 * else why (a message in why[0..n)). */
static const char *arrow_read(struct ArrowArrayStream *s,
                              const floe_column *cols, const int *proj,
                              int nproj, strvec *out, char *why, size_t n) {
  struct ArrowSchema sch;
  memset(&sch, 0, sizeof sch);
  const char *res = NULL;
  if (s->get_schema(s, &sch) != 0) {
    const char *m = s->get_last_error ? s->get_last_error(s) : NULL;
    snprintf(why, n, "get_schema failed: %s", m ? m : "?");
    s->release(s);
    return why;
  }
  if (strcmp(sch.format, "+s") != 0 || sch.n_children != nproj) {
    snprintf(why, n,
             "stream schema %s with %" PRId64 " children, want +s with %d",
             sch.format, sch.n_children, nproj);
    res = why;
    goto done;
  }
  for (int k = 0; k < nproj; k++) {
    const floe_column *c = &cols[proj[k]];
    const struct ArrowSchema *f = sch.children[k];
    char buf[32];
    const char *want =
        arrow_format(c->type, c->precision, c->scale, buf, sizeof buf);
    if (strcmp(f->name, c->name) != 0 || strcmp(f->format, want) != 0) {
      snprintf(why, n, "field %d is %s:%s, want %s:%s", k, f->name, f->format,
               c->name, want);
      res = why;
      goto done;
    }
    if (c->type == FLOE_LIST) {
      want = arrow_format(c->elem, c->elem_precision, c->elem_scale, buf,
                          sizeof buf);
      if (f->n_children != 1 || strcmp(f->children[0]->format, want) != 0) {
        snprintf(why, n, "list field %s: element is not %s", c->name, want);
        res = why;
        goto done;
      }
    }
  }
  sb row = {0};
  for (;;) {
    struct ArrowArray a;
    memset(&a, 0, sizeof a);
    if (s->get_next(s, &a) != 0) {
      const char *m = s->get_last_error ? s->get_last_error(s) : NULL;
      snprintf(why, n, "get_next failed: %s", m ? m : "?");
      res = why;
      break;
    }
    if (!a.release) break; /* end of stream */
    if (a.n_children != nproj || a.length < 0 ||
        (a.buffers && a.n_buffers >= 1 && a.buffers[0] && a.null_count != 0)) {
      snprintf(why, n, "batch: %" PRId64 " children, length %" PRId64,
               a.n_children, a.length);
      res = why;
      a.release(&a);
      break;
    }
    for (int k = 0; k < nproj && !res; k++) {
      const struct ArrowArray *ch = a.children[k];
      if (ch->length < a.offset + a.length ||
          !arrow_shape_ok(cols[proj[k]].type, ch, why, n)) {
        if (ch->length < a.offset + a.length)
          snprintf(why, n, "column %s: length %" PRId64 " < %" PRId64,
                   cols[proj[k]].name, ch->length, a.offset + a.length);
        res = why;
      }
    }
    for (int64_t i = 0; i < a.length && !res; i++) {
      sb_reset(&row);
      for (int k = 0; k < nproj; k++) {
        if (k) sb_putc(&row, '|');
        if (!arrow_cell(&row, &cols[proj[k]], a.children[k], a.offset + i, why,
                        n)) {
          res = why;
          break;
        }
      }
      if (!res) sv_add(out, row.p ? row.p : "", row.n);
    }
    a.release(&a);
    if (res) break;
  }
  sb_free(&row);
done:
  if (sch.release) sch.release(&sch);
  s->release(s);
  return res;
}

/* ====================================================================== */
/* schemas                                                                */
/* ====================================================================== */

/* How the generator fills a column. */
enum {
  G_ID,     /* int64 key from the key space, extremes now and then */
  G_TENANT, /* int32 key part 0..3 */
  G_NAME,   /* utf8 key part: "k<n>", some padded to hundreds of bytes */
  G_I32,    /* int32, extremes included */
  G_I64,    /* full-range int64 */
  G_TEXT, /* utf8: empty, short multibyte, hundreds of bytes, 2-16 KB (TOAST) */
  G_DEC,  /* decimal(38,6): full 128-bit range within the precision */
  G_DEC12,   /* decimal(12,2) */
  G_TS,      /* timestamptz around 1900..2100 */
  G_BOOL,    /* bool */
  G_F8,      /* float64 with NaN, -0, +-inf, subnormals */
  G_F4,      /* float32 likewise */
  G_UUID,    /* 16 random bytes */
  G_LIST,    /* list<int32>: null, empty, nulls inside, extremes */
  G_BLOB,    /* binary, sometimes large */
  G_DATE,    /* date */
  G_SMALL_I, /* keyless: int32 0..2 or null: duplicates */
  G_SMALL_S, /* keyless: utf8 from three values or null */
  G_SMALL_F, /* keyless: float64 0, -0, NaN, 1.5 or null */
  G_SMALL_L, /* keyless: list<utf8>: null, [], ["a"], ["a",null] */
};

#define MAXC 16

typedef struct tspec {
  const char *name;
  int ncols;
  floe_column cols[MAXC];
  int gen[MAXC];
  int key[4], nkey;
  int target_rows; /* the generator keeps the table around this size */
  int keyspace;    /* keys drawn from 0..keyspace-1 */
} tspec;

#define COL(n, t) .name = n, .type = t, .nullable = 1
static const tspec SPEC_WIDE = {
    .name = "wide",
    .ncols = 14,
    .cols = {{.name = "id", .type = FLOE_INT64},
             {COL("i32", FLOE_INT32)},
             {COL("big", FLOE_INT64)},
             {COL("txt", FLOE_UTF8)},
             {COL("num", FLOE_DECIMAL), .precision = 38, .scale = 6},
             {COL("ts", FLOE_TIMESTAMPTZ)},
             {COL("flag", FLOE_BOOL)},
             {COL("f8", FLOE_FLOAT64)},
             {COL("f4", FLOE_FLOAT32)},
             {COL("u", FLOE_UUID)},
             {COL("tags", FLOE_LIST), .elem = FLOE_INT32},
             {COL("blob", FLOE_BINARY)},
             {COL("d", FLOE_DATE)},
             {COL("price", FLOE_DECIMAL), .precision = 12, .scale = 2}},
    .gen = {G_ID, G_I32, G_I64, G_TEXT, G_DEC, G_TS, G_BOOL, G_F8, G_F4, G_UUID,
            G_LIST, G_BLOB, G_DATE, G_DEC12},
    .key = {0},
    .nkey = 1,
    .target_rows = 240,
    .keyspace = 480,
};

/* The key is (tenant, name), in the opposite order of the columns. */
static const tspec SPEC_COMPOSITE = {
    .name = "composite",
    .ncols = 5,
    .cols = {{COL("val", FLOE_INT64)},
             {.name = "name", .type = FLOE_UTF8},
             {.name = "tenant", .type = FLOE_INT32},
             {COL("note", FLOE_UTF8)},
             {COL("amount", FLOE_DECIMAL), .precision = 12, .scale = 2}},
    .gen = {G_I64, G_NAME, G_TENANT, G_TEXT, G_DEC12},
    .key = {2, 1},
    .nkey = 2,
    .target_rows = 200,
    .keyspace = 400,
};

static const tspec SPEC_NOKEY = {
    .name = "nokey",
    .ncols = 4,
    .cols = {{COL("a", FLOE_INT32)},
             {COL("b", FLOE_UTF8)},
             {COL("c", FLOE_FLOAT64)},
             {COL("tags", FLOE_LIST), .elem = FLOE_UTF8}},
    .gen = {G_SMALL_I, G_SMALL_S, G_SMALL_F, G_SMALL_L},
    .nkey = 0,
    .target_rows = 120,
    .keyspace = 0,
};
#undef COL

static bool is_key(const tspec *sp, int c) {
  for (int k = 0; k < sp->nkey; k++)
    if (sp->key[k] == c) return true;
  return false;
}

/* ====================================================================== */
/* rows                                                                   */
/* ====================================================================== */

/* An immutable, refcounted row: shared by the committed set, the durable
 * base, transactions' op lists and the commit log. */
typedef struct mrow {
  int refs;
  mval *v;
  char *text;  /* rendering of all columns, '|'-joined */
  char *ident; /* rendering of the identity: key columns, or the row */
  uint64_t ih; /* hash of ident */
} mrow;

static mrow *mrow_new(const tspec *sp, mval *vals /* taken */) {
  mrow *r = xcalloc(1, sizeof *r);
  r->refs = 1;
  r->v = vals;
  sb o = {0};
  for (int c = 0; c < sp->ncols; c++) {
    if (c) sb_putc(&o, '|');
    render_cell(&o, &sp->cols[c], &vals[c]);
  }
  r->text = xstrdup(o.p);
  if (sp->nkey) {
    sb_reset(&o);
    for (int k = 0; k < sp->nkey; k++) {
      if (k) sb_putc(&o, '|');
      render_cell(&o, &sp->cols[sp->key[k]], &vals[sp->key[k]]);
    }
    r->ident = xstrdup(o.p);
  } else {
    r->ident = xstrdup(r->text);
  }
  r->ih = XXH64(r->ident, strlen(r->ident), 7);
  sb_free(&o);
  return r;
}

static mrow *mrow_ref(mrow *r) {
  if (r) r->refs++;
  return r;
}

static void mrow_unref(const tspec *sp, mrow *r) {
  if (!r || --r->refs > 0) return;
  for (int c = 0; c < sp->ncols; c++) mval_free(&r->v[c]);
  free(r->v);
  free(r->text);
  free(r->ident);
  free(r);
}

static bool same_ident(const mrow *a, const mrow *b) {
  return a->ih == b->ih && strcmp(a->ident, b->ident) == 0;
}

/* A multiset of rows (each entry holds a reference). */
typedef struct mset {
  mrow **r;
  int n, cap;
} mset;

static void mset_add(mset *s, mrow *r) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->r = xrealloc(s->r, (size_t)s->cap * sizeof *s->r);
  }
  s->r[s->n++] = mrow_ref(r);
}
static int mset_find(const mset *s, const mrow *like) {
  for (int i = 0; i < s->n; i++)
    if (same_ident(s->r[i], like)) return i;
  return -1;
}
static int mset_count(const mset *s, const mrow *like) {
  int k = 0;
  for (int i = 0; i < s->n; i++) k += same_ident(s->r[i], like);
  return k;
}
static void mset_remove_at(const tspec *sp, mset *s, int i) {
  mrow_unref(sp, s->r[i]);
  s->r[i] = s->r[--s->n];
}
static void mset_clear(const tspec *sp, mset *s) {
  for (int i = 0; i < s->n; i++) mrow_unref(sp, s->r[i]);
  s->n = 0;
}
static void mset_free(const tspec *sp, mset *s) {
  mset_clear(sp, s);
  free(s->r);
  memset(s, 0, sizeof *s);
}
static void mset_copy(const tspec *sp, mset *dst, const mset *src) {
  mset_clear(sp, dst);
  for (int i = 0; i < src->n; i++) mset_add(dst, src->r[i]);
}

/* ====================================================================== */
/* operations, transactions, the commit log                               */
/* ====================================================================== */

enum { OP_INSERT, OP_DELETE, OP_UPDATE, OP_TRUNCATE };
/* How the old row of a delete/update is passed to floe. */
enum {
  OLD_NULL,  /* update with an unchanged key: old = NULL */
  OLD_KEY,   /* only the key columns set */
  OLD_FULL,  /* the whole old row */
  OLD_NOISE, /* key columns + unrelated values elsewhere (ignored) */
};

typedef struct op {
  int kind;
  uint32_t subxid;
  mrow *old;  /* delete/update: the row replaced */
  mrow *nrow; /* insert/update: the resulting row (unchanged resolved) */
  uint32_t unchanged; /* update: columns sent as floe_row_set_unchanged */
  int old_mode;
  mrow *noise; /* OLD_NOISE: where the non-key columns come from */
} op;

static void op_free(const tspec *sp, op *o) {
  mrow_unref(sp, o->old);
  mrow_unref(sp, o->nrow);
  mrow_unref(sp, o->noise);
  memset(o, 0, sizeof *o);
}

/* Applies o to s; false when its old row is missing (a model bug). */
static bool mset_apply(const tspec *sp, mset *s, const op *o) {
  switch (o->kind) {
  case OP_INSERT: mset_add(s, o->nrow); return true;
  case OP_TRUNCATE: mset_clear(sp, s); return true;
  default: {
    int i = mset_find(s, o->old);
    if (i < 0) return false;
    mset_remove_at(sp, s, i);
    if (o->kind == OP_UPDATE) mset_add(s, o->nrow);
    return true;
  }
  }
}

typedef struct oplist {
  op *v;
  int n, cap;
} oplist;

static void ol_push(oplist *l, op o /* taken */) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 16;
    l->v = xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
  }
  l->v[l->n++] = o;
}
static void ol_free(const tspec *sp, oplist *l) {
  for (int i = 0; i < l->n; i++) op_free(sp, &l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

#define MAXTXN 5
#define MAXDEPTH 4
#define MAXSUBS 12

/* A savepoint level: its subxid plus the subxids of savepoints released
 * into it (rolling back to it aborts all of them, one floe_abort each, as
 * the WAL abort record lists them). */
typedef struct level {
  uint32_t subs[MAXSUBS];
  int n;
} level;

typedef struct txn {
  uint32_t xid;
  oplist ops;
  level lv[MAXDEPTH + 1]; /* lv[0] = the top level (subxid xid) */
  int depth;              /* lv[depth] is current */
} txn;

static uint32_t txn_cur(const txn *T) {
  const level *l = &T->lv[T->depth];
  return l->subs[0];
}

typedef struct logent {
  uint64_t lsn;
  uint32_t xid;
  oplist ops;
} logent;

/* ====================================================================== */
/* the world: engine + model                                              */
/* ====================================================================== */

enum {
  K_INSERT,
  K_UPDATE,
  K_DELETE,
  K_SAVEPOINT,
  K_ROLLBACK_TO,
  K_RELEASE,
  K_TRUNCATE,
  K_COMMIT,
  K_ABORT,
  K_TICK,
  K_FLUSH,
  K_COMPACT,
  K_ADVANCE,
  K_REOPEN,
  K_CRASH,
  K_REPLAY_SKIP,
  K_NOTFOUND,
  K_PIN,
  K_UNPIN,
  K_BIGTXN,
  K_COUNT
};
static const char *const kind_names[K_COUNT] = {
    "insert",      "update",   "delete",  "savepoint", "rollback-to",
    "release",     "truncate", "commit",  "abort",     "tick",
    "flush",       "compact",  "advance", "reopen",    "crash",
    "replay-skip", "notfound", "pin",     "unpin",     "big-txn"};

#define HIST 40
#define NOLD 4
#define MAXPIN 2

typedef struct pinned {
  floe_read_state *rs;
  uint64_t lsn;
  strvec want; /* sorted renderings */
} pinned;

typedef struct world {
  const tspec *sp;
  rng r;
  uint64_t seed;
  int step, steps;
  char dir[256];
  floe_table_config cfg;
  char cfgdesc[400];
  floe_table *t;
  floe_row *ra, *rb;
  mset committed;           /* the model as of last_commit_lsn */
  mset base;                /* the model as of base_lsn (durable) */
  uint64_t base_lsn;        /* LSN of the last commit folded into base */
  uint64_t base_change_lsn; /* ... of the last one with changes */
  logent *log;              /* applied commits past base, in LSN order */
  int nlog, caplog;
  logent old[NOLD]; /* the last commits folded (for replay-skip) */
  int nold;
  txn txns[MAXTXN];
  int ntxn;
  uint32_t next_xid;
  uint64_t last_lsn;        /* highest LSN handed to floe */
  uint64_t last_commit_lsn; /* highest LSN of an applied commit */
  uint64_t last_change_lsn; /* ... of one with changes */
  uint64_t seen_applied, seen_durable;
  int64_t now_ms;
  int64_t big_keys; /* keys of big transactions, past the key space */
  pinned pins[MAXPIN];
  int npins;
  char hist[HIST][240];
  int nhist;
  int *counts;           /* per step kind, summed over runs */
  int durable_regressed; /* reopen after a crash reported less durable */
  int reopen_regressed;  /* ... after a clean close */
  /* engine work seen (floe_table_stats, summed over the table's opens) */
  int64_t st_commits, st_flushes, st_compactions, max_files, max_dvs;
  struct conc *cc; /* the concurrent mode's threads, or NULL */
} world;

static void hist(world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void hist(world *w, const char *fmt, ...) {
  char *p = w->hist[w->nhist % HIST];
  int k = snprintf(p, 24, "%5d ", w->step);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p + k, sizeof w->hist[0] - (size_t)k, fmt, ap);
  va_end(ap);
  w->nhist++;
}

static const char *env_schema(void) { return getenv("FLOE_MODEL_SCHEMA"); }

static void wfail(world *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void conc_stop(world *w);
static void wfail(world *w, const char *fmt, ...) {
  conc_stop(w); /* no thread may outlive the world */
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr,
          "\n==== table model FAILED: schema %s, seed %" PRIu64
          ", step %d of %d\n"
          "  reproduce: FLOE_MODEL_SCHEMA=%s FLOE_MODEL_SEED=%" PRIu64
          " FLOE_MODEL_STEPS=%d build/test_table_model\n"
          "  config: %s\n  warehouse: %s (left in place)\n"
          "  open txns: %d, model rows: %d, last commit LSN %" PRIu64
          ", durable base %" PRIu64 "\n  last ops:\n",
          w->sp->name, w->seed, w->step, w->steps, w->sp->name, w->seed,
          w->step + 1, w->cfgdesc, w->dir, w->ntxn, w->committed.n,
          w->last_commit_lsn, w->base_lsn);
  int from = w->nhist > HIST ? w->nhist - HIST : 0;
  for (int i = from; i < w->nhist; i++)
    fprintf(stderr, "    %s\n", w->hist[i % HIST]);
  fprintf(stderr, "  failure: %s\n", msg);
  fail_msg("table model: schema %s seed %" PRIu64 " step %d: %s", w->sp->name,
           w->seed, w->step, msg);
  __builtin_unreachable(); /* fail_msg jumps out */
}

#define E(w, call)                                                             \
  do {                                                                         \
    floe_error e_;                                                             \
    memset(&e_, 0, sizeof e_);                                                 \
    floe_status s_ = (call);                                                   \
    if (s_ != FLOE_OK)                                                         \
      wfail((w), "%s: %s: %s", #call, floe_strerror(s_), e_.msg);              \
  } while (0)

/* ---- value generation ---- */

static const char *const PIECES[] = {
    "a", "b",  "z",  "Q",  " ", "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x99\x82",
    "|", "\"", "\\", "\n", "0", "9",        "\xc3\x9f",     ","};

static void gen_text(rng *r, mval *v, int len) {
  sb o = {0};
  if (len > 1000) {
    /* TOAST-sized: ASCII, built 8 letters per draw */
    sb_need(&o, (size_t)len);
    while ((int)o.n < len) {
      uint64_t x = rnext(r);
      for (int k = 0; k < 8 && (int)o.n < len; k++, x >>= 6)
        o.p[o.n++] = (char)('a' + (x & 63) % 26);
    }
    o.p[o.n] = 0;
  } else {
    while ((int)o.n < len)
      sb_puts(&o, PIECES[rint_(r, (int)(sizeof PIECES / sizeof *PIECES))]);
  }
  v->n = (uint32_t)o.n;
  v->b = (uint8_t *)(o.p ? o.p : xcalloc(1, 1));
}

static void gen_bytes(rng *r, mval *v, int len) {
  v->b = xrealloc(NULL, (size_t)len);
  v->n = (uint32_t)len;
  for (int k = 0; k < len; k++) v->b[k] = (uint8_t)rnext(r);
}

static double gen_f8(rng *r) {
  switch (rint_(r, 12)) {
  case 0: return NAN;
  case 1: return -0.0;
  case 2: return 0.0;
  case 3: return INFINITY;
  case 4: return -INFINITY;
  case 5: return 5e-324;
  case 6: return -1.7976931348623157e308;
  default: {
    double m = (double)(int64_t)rnext(r) / 9.2233720368547758e18;
    return ldexp(m, rint_(r, 200) - 100);
  }
  }
}

static void gen_i32_list(rng *r, mval *v) {
  v->nel = rint_(r, 6);
  v->el = xcalloc((size_t)v->nel, sizeof *v->el);
  for (int k = 0; k < v->nel; k++) {
    int x = rint_(r, 10);
    if (x == 0)
      v->el[k].null = true;
    else if (x == 1)
      v->el[k].i = rpct(r, 50) ? INT32_MIN : INT32_MAX;
    else
      v->el[k].i = rint_(r, 2001) - 1000;
  }
}

/* A random value for a non-key column. */
static void gen_val(world *w, int g, const floe_column *c, mval *v) {
  rng *r = &w->r;
  memset(v, 0, sizeof *v);
  if (c->nullable && g < G_SMALL_I && rpct(r, 9)) {
    v->null = true;
    return;
  }
  switch (g) {
  case G_I32: {
    int x = rint_(r, 10);
    v->i = x == 0 ? INT32_MIN : x == 1 ? INT32_MAX : (int32_t)rnext(r);
    break;
  }
  case G_I64:
    v->i =
        rpct(r, 10) ? (rpct(r, 50) ? INT64_MIN : INT64_MAX) : (int64_t)rnext(r);
    break;
  case G_TEXT: {
    int x = rint_(r, 100);
    int len = x < 10   ? 0
              : x < 72 ? 1 + rint_(r, 24)
              : x < 93 ? 100 + rint_(r, 300)
                       : 2000 + rint_(r, 14000);
    gen_text(r, v, len);
    break;
  }
  case G_BLOB:
    gen_bytes(r, v, rpct(r, 5) ? 3000 + rint_(r, 17000) : rint_(r, 41));
    break;
  case G_DEC:
    if (rpct(r, 30)) {
      int64_t x = rint_(r, 2000001) - 1000000;
      v->lo = (uint64_t)x;
      v->hi = x < 0 ? -1 : 0;
    } else {
      /* |v| < 2^124 < 10^37: inside decimal(38,6) */
      v->hi = (int64_t)(rnext(r) >> 4) - (int64_t)(1ULL << 59);
      v->lo = rnext(r);
    }
    break;
  case G_DEC12: {
    int64_t x = (int64_t)(rnext(r) % 1999999999999ULL) - 999999999999LL;
    v->lo = (uint64_t)x;
    v->hi = x < 0 ? -1 : 0;
    break;
  }
  case G_TS:
    v->i = rpct(r, 5)
               ? 0
               : (int64_t)(rnext(r) % 6400000000000000ULL) - 2200000000000000LL;
    break;
  case G_BOOL: v->i = rpct(r, 50); break;
  case G_F8: v->f = gen_f8(r); break;
  case G_F4: v->f = (double)(float)gen_f8(r); break;
  case G_UUID: gen_bytes(r, v, 16); break;
  case G_LIST:
    if (rpct(r, 10)) {
      v->null = true;
      break;
    }
    gen_i32_list(r, v);
    break;
  case G_DATE: v->i = rint_(r, 80001) - 40000; break;
  case G_SMALL_I:
    if (rpct(r, 15))
      v->null = true;
    else
      v->i = rint_(r, 3);
    break;
  case G_SMALL_S: {
    int x = rint_(r, 4);
    if (x == 3) {
      v->null = true;
      break;
    }
    static const char *const S[] = {"x", "", "\xe4\xb8\xad|y"};
    v->n = (uint32_t)strlen(S[x]);
    v->b = xrealloc(NULL, v->n + 1u);
    memcpy(v->b, S[x], v->n + 1u);
    break;
  }
  case G_SMALL_F: {
    int x = rint_(r, 5);
    if (x == 4)
      v->null = true;
    else
      v->f = x == 0 ? 0.0 : x == 1 ? -0.0 : x == 2 ? NAN : 1.5;
    break;
  }
  case G_SMALL_L: {
    int x = rint_(r, 4);
    if (x == 0) {
      v->null = true;
      break;
    }
    v->nel = x - 1;
    v->el = xcalloc(2, sizeof *v->el);
    for (int k = 0; k < v->nel; k++) {
      if (k == 1) {
        v->el[k].null = true;
        continue;
      }
      v->el[k].b = xrealloc(NULL, 1);
      v->el[k].b[0] = 'a';
      v->el[k].n = 1;
    }
    break;
  }
  default: fail_msg("gen_val: generator %d is a key generator", g);
  }
}

/* Key n (0 <= n < keyspace, or past it for big transactions) into the key
 * columns of vals. */
static void set_key(const tspec *sp, mval *vals, int64_t n) {
  for (int k = 0; k < sp->nkey; k++) {
    int c = sp->key[k];
    mval *v = &vals[c];
    mval_free(v);
    switch (sp->gen[c]) {
    case G_ID:
      v->i = n == sp->keyspace - 1   ? INT64_MAX
             : n == sp->keyspace - 2 ? INT64_MIN
                                     : n - sp->keyspace / 4;
      break;
    case G_TENANT: v->i = n >= sp->keyspace ? 9 : n % 4; break;
    case G_NAME: {
      sb o = {0};
      sb_printf(&o, "k%" PRId64, n >= sp->keyspace ? n : n / 4);
      if ((n / 4) % 7 == 3) /* some long keys */
        while (o.n < 300) sb_printf(&o, "-%" PRId64, n);
      v->n = (uint32_t)o.n;
      v->b = (uint8_t *)o.p;
      break;
    }
    default: fail_msg("set_key: column %d is not a key generator", c);
    }
  }
}

static mval *gen_vals(world *w) {
  const tspec *sp = w->sp;
  mval *vals = xcalloc(MAXC, sizeof *vals);
  for (int c = 0; c < sp->ncols; c++)
    if (!is_key(sp, c)) gen_val(w, sp->gen[c], &sp->cols[c], &vals[c]);
  return vals;
}

static mval *copy_vals(const tspec *sp, const mrow *r) {
  mval *vals = xcalloc(MAXC, sizeof *vals);
  for (int c = 0; c < sp->ncols; c++) mval_copy(&vals[c], &r->v[c]);
  return vals;
}

/* ---- engine rows ---- */

static void set_val(world *w, floe_row *r, int col, const floe_column *c,
                    const mval *v, uint64_t h) {
  if (v->null) {
    /* an unset column is NULL too: use both ways */
    if ((h >> (col % 60)) & 1) E(w, floe_row_set_null(r, col, &e_));
    return;
  }
  floe_type t = c->type;
  if (t == FLOE_LIST) {
    E(w, floe_row_list_begin(r, col, &e_));
    for (int k = 0; k < v->nel; k++) {
      const mval *x = &v->el[k];
      if (x->null)
        E(w, floe_row_set_null(r, FLOE_ELEM, &e_));
      else if (c->elem == FLOE_UTF8)
        E(w, floe_row_set_bytes(r, FLOE_ELEM, x->b, x->n, &e_));
      else
        E(w, floe_row_set_int(r, FLOE_ELEM, x->i, &e_));
    }
    E(w, floe_row_list_end(r, &e_));
    return;
  }
  switch (t) {
  case FLOE_BOOL: E(w, floe_row_set_bool(r, col, (int)v->i, &e_)); break;
  case FLOE_FLOAT32:
  case FLOE_FLOAT64: E(w, floe_row_set_float(r, col, v->f, &e_)); break;
  case FLOE_DECIMAL:
    E(w, floe_row_set_decimal(r, col, v->lo, v->hi, &e_));
    break;
  case FLOE_UTF8:
  case FLOE_BINARY:
  case FLOE_UUID: E(w, floe_row_set_bytes(r, col, v->b, v->n, &e_)); break;
  default: E(w, floe_row_set_int(r, col, v->i, &e_)); break;
  }
}

/* Fills engine row r from model row m: all columns, or only the key
 * columns (key_only), non-key columns from noise when given, columns in
 * unchanged marked unchanged. */
static void fill(world *w, floe_row *r, const mrow *m, bool key_only,
                 const mrow *noise, uint32_t unchanged) {
  const tspec *sp = w->sp;
  floe_row_reset(r);
  for (int c = 0; c < sp->ncols; c++) {
    bool k = is_key(sp, c);
    if (key_only && !k) continue;
    if (unchanged & (1u << c)) {
      E(w, floe_row_set_unchanged(r, c, &e_));
      continue;
    }
    const mrow *src = noise && !k ? noise : m;
    set_val(w, r, c, &sp->cols[c], &src->v[c], m->ih);
  }
}

/* Hands o (a change of transaction xid) to floe. */
static floe_status issue(world *w, uint32_t xid, const op *o, floe_error *e) {
  switch (o->kind) {
  case OP_INSERT:
    fill(w, w->ra, o->nrow, false, NULL, 0);
    return floe_insert(w->t, xid, o->subxid, w->ra, e);
  case OP_TRUNCATE: return floe_truncate(w->t, xid, o->subxid, e);
  default: break;
  }
  const floe_row *old = NULL;
  if (o->old_mode != OLD_NULL) {
    fill(w, w->ra, o->old, o->old_mode == OLD_KEY,
         o->old_mode == OLD_NOISE ? o->noise : NULL, 0);
    old = w->ra;
  }
  if (o->kind == OP_DELETE) return floe_delete(w->t, xid, o->subxid, old, e);
  fill(w, w->rb, o->nrow, false, NULL, o->unchanged);
  return floe_update(w->t, xid, o->subxid, old, w->rb, e);
}

static const char *op_name(int k) {
  return k == OP_INSERT   ? "insert"
         : k == OP_DELETE ? "delete"
         : k == OP_UPDATE ? "update"
                          : "truncate";
}

/* A short description of o for the history. */
static void op_desc(const op *o, char *buf, size_t n) {
  const char *id = o->old ? o->old->ident : o->nrow ? o->nrow->ident : "";
  snprintf(buf, n, "%s sub=%u %.60s%s%.60s%s", op_name(o->kind), o->subxid, id,
           o->kind == OP_UPDATE ? " -> " : "",
           o->kind == OP_UPDATE ? o->nrow->ident : "",
           o->unchanged ? " (unchanged cols)" : "");
}

/* ====================================================================== */
/* transactions and the source's locks                                    */
/* ====================================================================== */

static txn *txn_begin(world *w) {
  if (w->ntxn == MAXTXN) return NULL;
  txn *T = &w->txns[w->ntxn++];
  memset(T, 0, sizeof *T);
  T->xid = w->next_xid;
  w->next_xid += 1 + (uint32_t)rint_(&w->r, 3);
  T->lv[0].subs[0] = T->xid;
  T->lv[0].n = 1;
  hist(w, "begin xid=%u", T->xid);
  return T;
}

static void txn_remove(world *w, txn *T) {
  ol_free(w->sp, &T->ops);
  *T = w->txns[--w->ntxn];
}

/* The rows transaction T sees: committed rows + its own ops. */
static void view_of(world *w, const txn *T, mset *out) {
  mset_copy(w->sp, out, &w->committed);
  for (int i = 0; T && i < T->ops.n; i++)
    if (!mset_apply(w->sp, out, &T->ops.v[i]))
      wfail(w, "model: op %d of xid %u lost its row", i, T->xid);
}

/* Keyed tables: a row lock. True when another open transaction has a live
 * change of this key (Postgres would make T wait for it). */
static bool locked_by_others(const world *w, const txn *T, const mrow *like) {
  for (int u = 0; u < w->ntxn; u++) {
    const txn *U = &w->txns[u];
    if (U == T) continue;
    for (int i = 0; i < U->ops.n; i++) {
      const op *o = &U->ops.v[i];
      if ((o->old && same_ident(o->old, like)) ||
          (o->nrow && same_ident(o->nrow, like)))
        return true;
    }
  }
  return false;
}

/* Keyless tables: how many committed copies of this row the other open
 * transactions have deleted (each deletes its own inserted copies first,
 * as the engine does; which copy goes does not matter between equals). */
static int reserved_by_others(const world *w, const txn *T, const mrow *like) {
  int total = 0;
  for (int u = 0; u < w->ntxn; u++) {
    const txn *U = &w->txns[u];
    if (U == T) continue;
    int own = 0, used = 0;
    for (int i = 0; i < U->ops.n; i++) {
      const op *o = &U->ops.v[i];
      if (o->kind == OP_TRUNCATE) {
        own = 0;
        used = 1 << 20;
        continue;
      }
      if (o->old && same_ident(o->old, like)) {
        if (own)
          own--;
        else
          used++;
      }
      if (o->nrow && same_ident(o->nrow, like)) own++;
    }
    total += used;
  }
  return total;
}

/* TRUNCATE takes an exclusive table lock: while another open transaction
 * holds a live truncate, T may change nothing. */
static bool truncate_blocked(const world *w, const txn *T) {
  for (int u = 0; u < w->ntxn; u++) {
    const txn *U = &w->txns[u];
    if (U == T) continue;
    for (int i = 0; i < U->ops.n; i++)
      if (U->ops.v[i].kind == OP_TRUNCATE) return true;
  }
  return false;
}

static bool others_idle(const world *w, const txn *T) {
  for (int u = 0; u < w->ntxn; u++)
    if (&w->txns[u] != T && w->txns[u].ops.n) return false;
  return true;
}

/* May T insert row r (view: T's rows)? */
static bool can_insert(const world *w, const txn *T, const mset *view,
                       const mrow *r) {
  if (!w->sp->nkey) return true;
  return mset_find(view, r) < 0 && !locked_by_others(w, T, r);
}

/* May T delete / update existing row r of its view? */
static bool can_change(const world *w, const txn *T, const mset *view,
                       const mrow *r) {
  if (w->sp->nkey) return !locked_by_others(w, T, r);
  return mset_count(view, r) - reserved_by_others(w, T, r) >= 1;
}

/* An open transaction to make a change in (maybe a new one), or NULL. */
static txn *pick_txn(world *w) {
  txn *T = NULL;
  if (w->ntxn == 0 || (w->ntxn < MAXTXN && rpct(&w->r, 20)))
    T = txn_begin(w);
  else
    T = &w->txns[rint_(&w->r, w->ntxn)];
  if (T && truncate_blocked(w, T)) {
    /* only the truncating transaction may go on */
    for (int u = 0; u < w->ntxn; u++)
      if (!truncate_blocked(w, &w->txns[u])) return &w->txns[u];
    return NULL;
  }
  return T;
}

static uint64_t next_lsn(world *w) {
  uint64_t l = w->last_lsn + 1 + (uint64_t)rint_(&w->r, 300);
  if (rpct(&w->r, 1)) l += 1ULL << 32; /* cross into the next "X/" */
  w->last_lsn = l;
  return l;
}

/* Hands o to floe as a change of T and records it. */
static void txn_push(world *w, txn *T, op o) {
  char d[200];
  op_desc(&o, d, sizeof d);
  hist(w, "xid=%u %s", T->xid, d);
  floe_error e;
  memset(&e, 0, sizeof e);
  floe_status st = issue(w, T->xid, &o, &e);
  if (st != FLOE_OK)
    wfail(w, "%s of xid %u: %s: %s", op_name(o.kind), T->xid, floe_strerror(st),
          e.msg);
  ol_push(&T->ops, o);
}

/* A new row from template values tmpl with key n. */
static mrow *make_row(const tspec *sp, const mval *tmpl, int64_t n) {
  mval *vals = xcalloc(MAXC, sizeof *vals);
  for (int c = 0; c < sp->ncols; c++) mval_copy(&vals[c], &tmpl[c]);
  if (sp->nkey) set_key(sp, vals, n);
  return mrow_new(sp, vals);
}

static void free_vals(const tspec *sp, mval *vals) {
  for (int c = 0; c < sp->ncols; c++) mval_free(&vals[c]);
  free(vals);
}

/* A row T may insert (fresh key), or NULL after a few tries. */
static mrow *fresh_row(world *w, const txn *T, const mset *view) {
  mval *tmpl = gen_vals(w);
  mrow *r = NULL;
  for (int tries = 0; tries < 16 && !r; tries++) {
    r = make_row(w->sp, tmpl, w->sp->nkey ? rint_(&w->r, w->sp->keyspace) : 0);
    if (!can_insert(w, T, view, r)) {
      mrow_unref(w->sp, r);
      r = NULL;
    }
  }
  free_vals(w->sp, tmpl);
  return r;
}

/* A random row of view that T may change, or NULL. */
static mrow *pick_row(world *w, const txn *T, const mset *view) {
  for (int tries = 0; tries < 16 && view->n; tries++) {
    mrow *r = view->r[rint_(&w->r, view->n)];
    if (can_change(w, T, view, r)) return r;
  }
  return NULL;
}

static int pick_old_mode(world *w, bool key_changed) {
  if (!w->sp->nkey) return OLD_FULL;
  int m = rint_(&w->r, 4);
  if (m == OLD_NULL && key_changed) m = OLD_KEY;
  return m;
}

/* The new version of row old for an update by T: some columns redrawn,
 * the key changed now and then (to a key T may take), unchanged TOAST-able
 * columns marked. */
static op make_update(world *w, const txn *T, const mset *view, mrow *old) {
  const tspec *sp = w->sp;
  mval *fresh = gen_vals(w);
  mval *vals = copy_vals(sp, old);
  uint32_t kept = 0;
  for (int c = 0; c < sp->ncols; c++) {
    if (is_key(sp, c)) continue;
    if (rpct(&w->r, 40)) {
      mval_free(&vals[c]);
      mval_copy(&vals[c], &fresh[c]);
    } else {
      kept |= 1u << c;
    }
  }
  free_vals(sp, fresh);
  bool key_changed = false;
  if (sp->nkey && rpct(&w->r, 25)) {
    for (int tries = 0; tries < 8; tries++) {
      mrow *probe = make_row(sp, vals, rint_(&w->r, sp->keyspace));
      bool ok = can_insert(w, T, view, probe);
      if (ok) {
        for (int k = 0; k < sp->nkey; k++) {
          int c = sp->key[k];
          mval_free(&vals[c]);
          mval_copy(&vals[c], &probe->v[c]);
        }
        key_changed = true;
      }
      mrow_unref(sp, probe);
      if (ok) break;
    }
  }
  mrow *nrow = mrow_new(sp, vals);
  op o = {.kind = OP_UPDATE, .subxid = txn_cur(T), .old = mrow_ref(old)};
  for (int c = 0; c < sp->ncols; c++) {
    floe_type t = sp->cols[c].type;
    bool toastable = t == FLOE_UTF8 || t == FLOE_BINARY || t == FLOE_DECIMAL ||
                     t == FLOE_LIST;
    if ((kept & (1u << c)) && toastable && rpct(&w->r, 50))
      o.unchanged |= 1u << c;
  }
  o.nrow = nrow;
  o.old_mode = pick_old_mode(w, key_changed);
  if (o.old_mode == OLD_NOISE) {
    mval *nv = gen_vals(w);
    o.noise = mrow_new(sp, nv);
  }
  return o;
}

static op make_delete(world *w, const txn *T, mrow *old) {
  op o = {.kind = OP_DELETE, .subxid = txn_cur(T), .old = mrow_ref(old)};
  o.old_mode = pick_old_mode(w, true);
  if (o.old_mode == OLD_NOISE) o.noise = mrow_new(w->sp, gen_vals(w));
  return o;
}

/* ====================================================================== */
/* checking                                                               */
/* ====================================================================== */

/* The model's rows rendered (projected on proj, or whole rows), sorted.
 * Whole rows are borrowed from the rows unless copy: a vector that
 * outlives the rows of s (pins, the crash check) copies. */
static void model_texts(const mset *s, const int *proj, int nproj,
                        const tspec *sp, strvec *out, bool copy) {
  sb o = {0};
  for (int i = 0; i < s->n; i++) {
    if (!proj) {
      if (copy)
        sv_add(out, s->r[i]->text, strlen(s->r[i]->text));
      else
        sv_ref(out, s->r[i]->text);
      continue;
    }
    sb_reset(&o);
    for (int k = 0; k < nproj; k++) {
      if (k) sb_putc(&o, '|');
      render_cell(&o, &sp->cols[proj[k]], &s->r[i]->v[proj[k]]);
    }
    sv_add(out, o.p ? o.p : "", o.n);
  }
  sb_free(&o);
  sv_sort(out);
}

/* Compares sorted want and got; on a difference prints both sides' extra
 * rows and fails. */
static void compare(world *w, const strvec *want, const strvec *got,
                    const char *what) {
  bool same = want->n == got->n;
  for (int i = 0; same && i < want->n; i++)
    same = strcmp(want->v[i], got->v[i]) == 0;
  if (same) return;
  fprintf(stderr, "%s: model has %d rows, floe %d\n", what, want->n, got->n);
  int i = 0, j = 0, shown = 0;
  while ((i < want->n || j < got->n) && shown < 12) {
    int c = i == want->n ? 1 : j == got->n ? -1 : strcmp(want->v[i], got->v[j]);
    if (c == 0) {
      i++, j++;
      continue;
    }
    if (c < 0)
      fprintf(stderr, "  model only: %.400s\n", want->v[i++]);
    else
      fprintf(stderr, "  floe only:  %.400s\n", got->v[j++]);
    shown++;
  }
  wfail(w, "%s differs from the model", what);
}

/* Scans rs (projected on proj, or all columns) and compares with want. */
static void scan_compare(world *w, floe_read_state *rs, const int *proj,
                         int nproj, bool names, bool release_first,
                         const strvec *want, const char *what) {
  const tspec *sp = w->sp;
  int all[MAXC];
  for (int c = 0; c < sp->ncols; c++) all[c] = c;
  const char *cn[MAXC];
  if (!proj) {
    proj = all;
    nproj = sp->ncols;
  }
  for (int k = 0; k < nproj; k++) cn[k] = sp->cols[proj[k]].name;
  struct ArrowArrayStream s;
  memset(&s, 0, sizeof s);
  E(w, floe_scan(rs, names ? cn : NULL, names ? nproj : 0, &s, &e_));
  if (release_first) floe_read_state_release(rs);
  strvec got = {0};
  char why[512];
  const char *err =
      arrow_read(&s, sp->cols, proj, nproj, &got, why, sizeof why);
  if (err) wfail(w, "%s: reading the Arrow stream: %s", what, err);
  sv_sort(&got);
  compare(w, want, &got, what);
  sv_free(&got);
}

/* ====================================================================== */
/* the concurrent mode: a maintenance thread and a reader thread          */
/* ====================================================================== */

/* The model's content at a commit: an order-independent hash of its row
 * renderings and their count. */
typedef struct hentry {
  uint64_t lsn, hash;
  int64_t n;
} hentry;

typedef struct conc {
  world *w;
  pthread_t maint, reader;
  bool running;
  _Atomic int stop;
  pthread_mutex_t mu;       /* guards h, err */
  pthread_mutex_t maint_mu; /* a tick never overlaps flush/compact */
  hentry *h;
  int nh, caph;
  char err[1024];
  _Atomic int failed;
  _Atomic int64_t reads, ticks;
} conc;

static uint64_t row_hash(const char *text) {
  return XXH64(text, strlen(text), 99);
}

static void set_hash(const mset *s, uint64_t *hash, int64_t *n) {
  uint64_t h = 0;
  for (int i = 0; i < s->n; i++) h += row_hash(s->r[i]->text);
  *hash = h;
  *n = s->n;
}

/* Records the model's content as of lsn: before floe_commit, so a reader
 * never sees an LSN the history lacks. */
static void history_add(world *w, uint64_t lsn) {
  conc *cc = w->cc;
  if (!cc) return;
  hentry e = {.lsn = lsn};
  set_hash(&w->committed, &e.hash, &e.n);
  pthread_mutex_lock(&cc->mu);
  if (cc->nh == cc->caph) {
    cc->caph = cc->caph ? cc->caph * 2 : 256;
    cc->h = xrealloc(cc->h, (size_t)cc->caph * sizeof *cc->h);
  }
  cc->h[cc->nh++] = e;
  pthread_mutex_unlock(&cc->mu);
}

static void conc_fail(conc *cc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void conc_fail(conc *cc, const char *fmt, ...) {
  pthread_mutex_lock(&cc->mu);
  if (!atomic_load(&cc->failed)) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cc->err, sizeof cc->err, fmt, ap);
    va_end(ap);
    atomic_store(&cc->failed, 1);
  }
  pthread_mutex_unlock(&cc->mu);
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_us(int us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
  nanosleep(&ts, NULL);
}

/* The maintenance thread: floe_table_tick on the real clock, as the
 * daemon would, every 1-3 ms. */
static void *maint_main(void *arg) {
  conc *cc = arg;
  rng r;
  rseed(&r, cc->w->seed + 17);
  while (!atomic_load(&cc->stop)) {
    floe_error e;
    int64_t next = 0;
    pthread_mutex_lock(&cc->maint_mu);
    floe_status st = floe_table_tick(cc->w->t, mono_ms(), &next, &e);
    pthread_mutex_unlock(&cc->maint_mu);
    if (st != FLOE_OK) {
      conc_fail(cc, "maintenance thread: floe_table_tick: %s: %s",
                floe_strerror(st), e.msg);
      break;
    }
    atomic_fetch_add(&cc->ticks, 1);
    sleep_us(1000 + rint_(&r, 2000));
  }
  return NULL;
}

/* The reader thread: takes the current read state (now and then holds it
 * a while first), scans it and checks it against the model's history: it
 * must be exactly the content of the newest commit at or below its LSN. */
static void *reader_main(void *arg) {
  conc *cc = arg;
  const tspec *sp = cc->w->sp;
  rng r;
  rseed(&r, cc->w->seed + 29);
  int proj[MAXC];
  for (int c = 0; c < sp->ncols; c++) proj[c] = c;
  while (!atomic_load(&cc->stop)) {
    floe_error e;
    floe_read_state *rs = NULL;
    floe_status st = floe_read_state_get(cc->w->t, 0, 10000, &rs, &e);
    if (st != FLOE_OK) {
      conc_fail(cc, "reader thread: floe_read_state_get: %s: %s",
                floe_strerror(st), e.msg);
      break;
    }
    uint64_t l = floe_read_state_lsn(rs);
    int64_t nrows = floe_read_state_rows(rs);
    if (rpct(&r, 30)) sleep_us(500 + rint_(&r, 3000)); /* pinned a while */
    struct ArrowArrayStream s;
    memset(&s, 0, sizeof s);
    bool early = rpct(&r, 50);
    st = floe_scan(rs, NULL, 0, &s, &e);
    if (st != FLOE_OK) {
      floe_read_state_release(rs);
      conc_fail(cc, "reader thread: floe_scan at %" PRIu64 ": %s: %s", l,
                floe_strerror(st), e.msg);
      break;
    }
    if (early) floe_read_state_release(rs);
    strvec got = {0};
    char why[512];
    const char *err =
        arrow_read(&s, sp->cols, proj, sp->ncols, &got, why, sizeof why);
    if (!early) floe_read_state_release(rs);
    if (err) {
      sv_free(&got);
      conc_fail(cc, "reader thread: stream at %" PRIu64 ": %s", l, err);
      break;
    }
    uint64_t h = 0;
    for (int i = 0; i < got.n; i++) h += row_hash(got.v[i]);
    hentry want = {0};
    bool found = false;
    pthread_mutex_lock(&cc->mu);
    for (int i = cc->nh - 1; i >= 0 && !found; i--)
      if (cc->h[i].lsn <= l) {
        want = cc->h[i];
        found = true;
      }
    pthread_mutex_unlock(&cc->mu);
    if (found && (want.hash != h || want.n != got.n || nrows != got.n)) {
      conc_fail(cc,
                "reader thread: read state at LSN %" PRIu64 " has %d rows "
                "(floe_read_state_rows %" PRId64
                "), the model at commit %" PRIu64 " has %" PRId64 " rows%s",
                l, got.n, nrows, want.lsn, want.n,
                want.n == got.n ? " with other contents" : "");
      sv_free(&got);
      break;
    }
    sv_free(&got);
    atomic_fetch_add(&cc->reads, 1);
    sleep_us(1000 + rint_(&r, 2000)); /* leave the ingest thread the CPU */
  }
  return NULL;
}

/* Starts the threads on the current table; the history restarts at the
 * model's current content. */
static void conc_start(world *w) {
  conc *cc = w->cc;
  if (!cc || cc->running) return;
  pthread_mutex_lock(&cc->mu);
  cc->nh = 0;
  pthread_mutex_unlock(&cc->mu);
  history_add(w, w->last_commit_lsn);
  atomic_store(&cc->stop, 0);
  if (pthread_create(&cc->maint, NULL, maint_main, cc) != 0 ||
      pthread_create(&cc->reader, NULL, reader_main, cc) != 0)
    fail_msg("pthread_create failed");
  cc->running = true;
}

static void conc_stop(world *w) {
  conc *cc = w->cc;
  if (!cc || !cc->running) return;
  atomic_store(&cc->stop, 1);
  pthread_join(cc->maint, NULL);
  pthread_join(cc->reader, NULL);
  cc->running = false;
}

static void conc_check(world *w) {
  if (w->cc && atomic_load(&w->cc->failed)) {
    conc_stop(w);
    wfail(w, "%s", w->cc->err);
  }
}

/* After every step: LSNs, a fresh read state's rows and scan. */
static void check(world *w) {
  conc_check(w);
  floe_table *t = w->t;
  uint64_t ap = floe_applied_lsn(t), du = floe_durable_lsn(t);
  if (du > ap) wfail(w, "durable LSN %" PRIu64 " > applied %" PRIu64, du, ap);
  if (ap < w->seen_applied)
    wfail(w, "applied LSN went back: %" PRIu64 " after %" PRIu64, ap,
          w->seen_applied);
  if (du < w->seen_durable)
    wfail(w, "durable LSN went back: %" PRIu64 " after %" PRIu64, du,
          w->seen_durable);
  if (ap < w->last_commit_lsn)
    wfail(w, "applied LSN %" PRIu64 " < last commit %" PRIu64, ap,
          w->last_commit_lsn);
  w->seen_applied = ap;
  w->seen_durable = du;

  floe_read_state *rs = NULL;
  E(w, floe_read_state_get(t, w->last_commit_lsn, 10000, &rs, &e_));
  uint64_t rl = floe_read_state_lsn(rs);
  if (rl < w->last_commit_lsn || rl > floe_applied_lsn(t))
    wfail(w, "read state LSN %" PRIu64 " outside [%" PRIu64 ", %" PRIu64 "]",
          rl, w->last_commit_lsn, floe_applied_lsn(t));
  if (floe_read_state_rows(rs) != w->committed.n)
    wfail(w, "floe_read_state_rows %" PRId64 ", model %d",
          floe_read_state_rows(rs), w->committed.n);
  strvec want = {0};
  model_texts(&w->committed, NULL, 0, w->sp, &want, false);
  scan_compare(w, rs, NULL, 0, rpct(&w->r, 50), false, &want, "scan");
  sv_free(&want);
  if (rpct(&w->r, 15)) {
    /* a projection: a random subset in random order */
    int proj[MAXC], n = 0;
    for (int c = 0; c < w->sp->ncols; c++)
      if (rpct(&w->r, 50)) proj[n++] = c;
    if (!n) proj[n++] = rint_(&w->r, w->sp->ncols);
    for (int k = n - 1; k > 0; k--) {
      int j = rint_(&w->r, k + 1), x = proj[k];
      proj[k] = proj[j];
      proj[j] = x;
    }
    model_texts(&w->committed, proj, n, w->sp, &want, false);
    scan_compare(w, rs, proj, n, true, false, &want, "projected scan");
    sv_free(&want);
  }
  floe_read_state_release(rs);

  /* the maintenance thread may move durable meanwhile */
  uint64_t du1 = floe_durable_lsn(t);
  floe_table_stats st;
  floe_table_stats_get(t, &st);
  uint64_t du2 = floe_durable_lsn(t);
  if (st.data_files > w->max_files) w->max_files = st.data_files;
  if (st.deletion_vectors > w->max_dvs) w->max_dvs = st.deletion_vectors;
  if (st.rows != w->committed.n || st.applied_lsn != floe_applied_lsn(t) ||
      st.durable_lsn < du1 || st.durable_lsn > du2)
    wfail(w,
          "stats: rows %" PRId64 " applied %" PRIu64 " durable %" PRIu64
          "; model rows %d, applied %" PRIu64 " durable %" PRIu64,
          st.rows, st.applied_lsn, st.durable_lsn, w->committed.n,
          floe_applied_lsn(t), floe_durable_lsn(t));
  if (rpct(&w->r, 5)) {
    /* an LSN not reached yet times out */
    floe_error e;
    floe_status s = floe_read_state_get(t, ap + 1, 1, &rs, &e);
    if (s != FLOE_ETIMEDOUT) {
      if (s == FLOE_OK) floe_read_state_release(rs);
      wfail(w, "read state for LSN %" PRIu64 " (applied %" PRIu64 "): %s",
            ap + 1, ap, floe_strerror(s));
    }
  }
}

/* Folds the commits that became durable into the base model. */
static void fold(world *w) {
  uint64_t du = floe_durable_lsn(w->t);
  int k = 0;
  for (; k < w->nlog && w->log[k].lsn <= du; k++) {
    logent *L = &w->log[k];
    for (int i = 0; i < L->ops.n; i++)
      if (!mset_apply(w->sp, &w->base, &L->ops.v[i]))
        wfail(w, "model: folding commit %" PRIu64 " lost a row", L->lsn);
    w->base_lsn = L->lsn;
    if (L->ops.n) w->base_change_lsn = L->lsn;
    if (w->nold == NOLD) {
      ol_free(w->sp, &w->old[0].ops);
      memmove(w->old, w->old + 1, (NOLD - 1) * sizeof *w->old);
      w->nold--;
    }
    w->old[w->nold++] = *L;
  }
  if (k) {
    memmove(w->log, w->log + k, (size_t)(w->nlog - k) * sizeof *w->log);
    w->nlog -= k;
  }
}

static void log_push(world *w, uint64_t lsn, uint32_t xid, oplist ops) {
  if (w->nlog == w->caplog) {
    w->caplog = w->caplog ? w->caplog * 2 : 64;
    w->log = xrealloc(w->log, (size_t)w->caplog * sizeof *w->log);
  }
  w->log[w->nlog++] = (logent){lsn, xid, ops};
}

/* ====================================================================== */
/* opening, pins, replay                                                  */
/* ====================================================================== */

static void open_table(world *w, bool with_cols) {
  const tspec *sp = w->sp;
  floe_table_ref ref = {.catalog_uri = w->dir, .ns = "db", .name = sp->name};
  E(w, floe_table_open(&ref, with_cols ? sp->cols : NULL,
                       with_cols ? sp->ncols : 0, sp->key, sp->nkey, &w->cfg,
                       &w->t, &e_));
  const floe_column *cols = NULL;
  int n = floe_table_columns(w->t, &cols);
  if (n != sp->ncols) wfail(w, "reopened with %d columns", n);
  for (int c = 0; c < n; c++)
    if (strcmp(cols[c].name, sp->cols[c].name) != 0 ||
        cols[c].type != sp->cols[c].type)
      wfail(w, "column %d is %s after open", c, cols[c].name);
  const int *key = NULL;
  if (floe_table_key(w->t, &key) != sp->nkey ||
      (sp->nkey && memcmp(key, sp->key, (size_t)sp->nkey * sizeof *key) != 0))
    wfail(w, "key columns differ after open");
  E(w, floe_row_new(w->t, &w->ra, &e_));
  E(w, floe_row_new(w->t, &w->rb, &e_));
}

/* Adds the engine's counters of this open to the run's totals. */
static void take_stats(world *w) {
  floe_table_stats st;
  floe_table_stats_get(w->t, &st);
  w->st_commits += st.commits;
  w->st_flushes += st.flushes;
  w->st_compactions += st.compactions;
}

static void close_rows(world *w) {
  floe_row_free(w->ra);
  floe_row_free(w->rb);
  w->ra = w->rb = NULL;
}

/* Scans pin i against what it saw when taken, then releases it. */
static void unpin(world *w, int i) {
  pinned *p = &w->pins[i];
  bool first = rpct(&w->r, 50);
  hist(w, "unpin LSN %" PRIu64 "%s", p->lsn,
       first ? " (released before the stream is read)" : "");
  scan_compare(w, p->rs, NULL, 0, false, first, &p->want, "pinned read state");
  if (!first) floe_read_state_release(p->rs);
  sv_free(&p->want);
  w->pins[i] = w->pins[--w->npins];
}

static void unpin_all(world *w) {
  while (w->npins) unpin(w, w->npins - 1);
}

/* The source resends the changes of the transactions still open. */
static void resend_open(world *w) {
  for (int u = 0; u < w->ntxn; u++) {
    txn *T = &w->txns[u];
    for (int i = 0; i < T->ops.n; i++) {
      floe_error e;
      floe_status st = issue(w, T->xid, &T->ops.v[i], &e);
      if (st != FLOE_OK)
        wfail(w, "resending %s of open xid %u: %s: %s",
              op_name(T->ops.v[i].kind), T->xid, floe_strerror(st), e.msg);
    }
  }
  if (w->ntxn) hist(w, "resent %d open transactions", w->ntxn);
}

/* Replays committed transaction L (as a source would after a restart);
 * skip: its LSN is at or below floe's, so it must change nothing (changes
 * may then be refused with FLOE_ENOTFOUND/EEXIST at the call: their rows
 * are gone or already there). */
static void replay(world *w, const logent *L, bool skip) {
  for (int i = 0; i < L->ops.n; i++) {
    floe_error e;
    floe_status st = issue(w, L->xid, &L->ops.v[i], &e);
    if (st == FLOE_OK) continue;
    if (skip && (st == FLOE_ENOTFOUND || st == FLOE_EEXIST)) continue;
    wfail(w, "replaying %s of xid %u (commit %" PRIu64 "): %s: %s",
          op_name(L->ops.v[i].kind), L->xid, L->lsn, floe_strerror(st), e.msg);
  }
  if (skip) {
    E(w, floe_commit(w->t, L->xid, L->lsn, &e_));
    return;
  }
  for (int i = 0; i < L->ops.n; i++)
    if (!mset_apply(w->sp, &w->committed, &L->ops.v[i]))
      wfail(w, "model: replaying commit %" PRIu64 " lost a row", L->lsn);
  history_add(w, L->lsn);
  E(w, floe_commit(w->t, L->xid, L->lsn, &e_));
  w->last_commit_lsn = L->lsn;
  if (L->ops.n) w->last_change_lsn = L->lsn;
}

/* ====================================================================== */
/* steps                                                                  */
/* ====================================================================== */

static void do_insert(world *w) {
  txn *T = pick_txn(w);
  if (!T) return;
  mset view = {0};
  view_of(w, T, &view);
  int n = 1 + rint_(&w->r, 4);
  for (int i = 0; i < n; i++) {
    mrow *r = fresh_row(w, T, &view);
    if (!r) break;
    mset_add(&view, r);
    txn_push(w, T, (op){.kind = OP_INSERT, .subxid = txn_cur(T), .nrow = r});
  }
  mset_free(w->sp, &view);
}

static void do_update(world *w) {
  txn *T = pick_txn(w);
  if (!T) return;
  mset view = {0};
  view_of(w, T, &view);
  mrow *old = pick_row(w, T, &view);
  if (old) {
    op o = make_update(w, T, &view, old);
    txn_push(w, T, o);
  }
  mset_free(w->sp, &view);
}

static void do_delete(world *w) {
  txn *T = pick_txn(w);
  if (!T) return;
  mset view = {0};
  view_of(w, T, &view);
  int n = 1 + rint_(&w->r, 3);
  for (int i = 0; i < n; i++) {
    mrow *old = pick_row(w, T, &view);
    if (!old) break;
    op o = make_delete(w, T, old);
    mset_apply(w->sp, &view, &o);
    txn_push(w, T, o);
  }
  mset_free(w->sp, &view);
}

static void do_truncate(world *w) {
  /* a TRUNCATE waits for every other writer: only a transaction whose
   * peers have no live changes may run it */
  txn *T = NULL;
  for (int u = 0; u < w->ntxn && !T; u++)
    if (others_idle(w, &w->txns[u])) T = &w->txns[u];
  if (!T && w->ntxn < MAXTXN && others_idle(w, NULL)) T = txn_begin(w);
  if (!T) return;
  txn_push(w, T, (op){.kind = OP_TRUNCATE, .subxid = txn_cur(T)});
}

static void savepoint(world *w, txn *T) {
  if (T->depth == MAXDEPTH) return;
  level *l = &T->lv[++T->depth];
  l->n = 1;
  l->subs[0] = w->next_xid++;
  hist(w, "xid=%u savepoint: subxid %u (depth %d)", T->xid, l->subs[0],
       T->depth);
}

static void do_savepoint(world *w) {
  if (w->ntxn) savepoint(w, &w->txns[rint_(&w->r, w->ntxn)]);
}

/* Drops T's ops of subxid sub and tells floe. */
static void abort_sub(world *w, txn *T, uint32_t sub) {
  E(w, floe_abort(w->t, T->xid, sub, &e_));
  int k = 0;
  for (int i = 0; i < T->ops.n; i++) {
    if (T->ops.v[i].subxid == sub)
      op_free(w->sp, &T->ops.v[i]);
    else
      T->ops.v[k++] = T->ops.v[i];
  }
  hist(w, "xid=%u abort subxid %u: %d ops dropped", T->xid, sub, T->ops.n - k);
  T->ops.n = k;
}

/* ROLLBACK TO SAVEPOINT at level L: every subxact from L up is aborted (one
 * floe_abort per subxid, the released ones included); the savepoint stays
 * (a new subxid), or is released too. */
static void rollback_to(world *w, txn *T, int L) {
  for (int d = T->depth; d >= L; d--)
    for (int k = T->lv[d].n - 1; k >= 0; k--) abort_sub(w, T, T->lv[d].subs[k]);
  if (rpct(&w->r, 70)) {
    T->depth = L;
    T->lv[L].n = 1;
    T->lv[L].subs[0] = w->next_xid++;
  } else {
    T->depth = L - 1;
  }
}

static void do_rollback_to(world *w) {
  if (!w->ntxn) return;
  txn *T = &w->txns[rint_(&w->r, w->ntxn)];
  if (!T->depth) return;
  rollback_to(w, T, 1 + rint_(&w->r, T->depth));
}

static void do_release(world *w) {
  if (!w->ntxn) return;
  txn *T = &w->txns[rint_(&w->r, w->ntxn)];
  if (!T->depth) return;
  level *top = &T->lv[T->depth], *up = &T->lv[T->depth - 1];
  if (up->n + top->n > MAXSUBS) return;
  memcpy(up->subs + up->n, top->subs, (size_t)top->n * sizeof *top->subs);
  up->n += top->n;
  T->depth--;
  hist(w, "xid=%u release savepoint (depth %d)", T->xid, T->depth);
}

static void commit_txn(world *w, txn *T) {
  uint64_t lsn = next_lsn(w);
  char b[24];
  hist(w, "commit xid=%u at %s (%d ops)", T->xid, floe_lsn_format(lsn, b),
       T->ops.n);
  for (int i = 0; i < T->ops.n; i++)
    if (!mset_apply(w->sp, &w->committed, &T->ops.v[i]))
      wfail(w, "model: commit of xid %u lost a row", T->xid);
  history_add(w, lsn);
  E(w, floe_commit(w->t, T->xid, lsn, &e_));
  w->last_commit_lsn = lsn;
  if (T->ops.n) w->last_change_lsn = lsn;
  log_push(w, lsn, T->xid, T->ops);
  memset(&T->ops, 0, sizeof T->ops);
  txn_remove(w, T);
}

static void do_commit(world *w) {
  if (!w->ntxn) {
    if (!rpct(&w->r, 20)) return;
    txn_begin(w); /* an empty transaction */
  }
  commit_txn(w, &w->txns[rint_(&w->r, w->ntxn)]);
}

static void do_abort(world *w) {
  if (!w->ntxn) return;
  txn *T = &w->txns[rint_(&w->r, w->ntxn)];
  hist(w, "abort xid=%u (%d ops)", T->xid, T->ops.n);
  E(w, floe_abort(w->t, T->xid, T->xid, &e_));
  txn_remove(w, T);
}

static void do_tick(world *w) {
  if (w->cc) return; /* the maintenance thread ticks on the real clock */
  int x = rint_(&w->r, 20);
  w->now_ms += x == 0   ? 0
               : x < 17 ? rint_(&w->r, 1500)
                        : 5000 + rint_(&w->r, 60000);
  int64_t next = 0;
  hist(w, "tick now=%" PRId64, w->now_ms);
  E(w, floe_table_tick(w->t, w->now_ms, &next, &e_));
}

static void do_flush(world *w) {
  hist(w, "flush");
  if (w->cc) pthread_mutex_lock(&w->cc->maint_mu);
  floe_error e;
  floe_status st = floe_table_flush(w->t, &e);
  if (w->cc) pthread_mutex_unlock(&w->cc->maint_mu);
  if (st != FLOE_OK)
    wfail(w, "floe_table_flush: %s: %s", floe_strerror(st), e.msg);
  uint64_t ap = floe_applied_lsn(w->t), du = floe_durable_lsn(w->t);
  if (du != ap)
    wfail(w, "after floe_table_flush durable %" PRIu64 " != applied %" PRIu64,
          du, ap);
}

static void do_compact(world *w) {
  int force = rpct(&w->r, 40);
  hist(w, "compact force=%d", force);
  if (w->cc) pthread_mutex_lock(&w->cc->maint_mu);
  floe_error e;
  floe_status st = floe_table_compact(w->t, force, &e);
  if (w->cc) pthread_mutex_unlock(&w->cc->maint_mu);
  if (st != FLOE_OK)
    wfail(w, "floe_table_compact: %s: %s", floe_strerror(st), e.msg);
}

static void do_advance(world *w) {
  uint64_t lsn = next_lsn(w);
  char b[24];
  hist(w, "advance to %s", floe_lsn_format(lsn, b));
  E(w, floe_advance(w->t, lsn, &e_));
  if (floe_applied_lsn(w->t) < lsn)
    wfail(w, "after floe_advance(%" PRIu64 ") applied is %" PRIu64, lsn,
          floe_applied_lsn(w->t));
}

static void do_reopen(world *w) {
  conc_stop(w);
  conc_check(w);
  unpin_all(w);
  uint64_t ap = floe_applied_lsn(w->t);
  hist(w, "close + reopen");
  take_stats(w);
  close_rows(w);
  floe_error e;
  floe_status st = floe_table_close(w->t, &e);
  w->t = NULL;
  if (st != FLOE_OK)
    wfail(w, "floe_table_close: %s: %s", floe_strerror(st), e.msg);
  open_table(w, rpct(&w->r, 50));
  uint64_t ap2 = floe_applied_lsn(w->t), du2 = floe_durable_lsn(w->t);
  /* everything applied was durable at the close; the reopened table knows
   * the LSN of its last snapshot, which may be below an LSN reached by
   * commits without changes or floe_advance (the rows are the same), but
   * never below a commit with changes */
  if (ap2 != du2 || du2 > ap || du2 < w->last_change_lsn)
    wfail(w,
          "after close + open: applied %" PRIu64 " durable %" PRIu64
          ", want both in [last commit with changes %" PRIu64
          ", applied at the close %" PRIu64 "]",
          ap2, du2, w->last_change_lsn, ap);
  if (du2 < ap) {
    w->reopen_regressed++;
    hist(w, "reopened at %" PRIu64 " (applied was %" PRIu64 ")", du2, ap);
  }
  w->seen_applied = ap2;
  w->seen_durable = du2;
  if (w->last_commit_lsn > du2) w->last_commit_lsn = du2;
  resend_open(w);
  conc_start(w);
}

static void do_crash(world *w) {
  conc_stop(w);
  conc_check(w);
  unpin_all(w);
  fold(w);
  uint64_t du = floe_durable_lsn(w->t);
  strvec before = {0};
  model_texts(&w->committed, NULL, 0, w->sp, &before, true);
  hist(w, "crash (durable %" PRIu64 ", %d commits after it)", du, w->nlog);
  take_stats(w);
  close_rows(w);
  floe_table_free(w->t);
  w->t = NULL;
  open_table(w, rpct(&w->r, 50));
  uint64_t ap2 = floe_applied_lsn(w->t), du2 = floe_durable_lsn(w->t);
  if (ap2 != du2)
    wfail(w, "recovered applied %" PRIu64 " != durable %" PRIu64, ap2, du2);
  /* durable may come back lower than before (an LSN reached by
   * floe_advance or by empty commits is not in any snapshot), but never
   * below a commit with changes that was durable */
  if (du2 > du || du2 < w->base_change_lsn)
    wfail(w,
          "recovered durable %" PRIu64 " outside [last durable commit with "
          "changes %" PRIu64 ", durable before the crash %" PRIu64 "]",
          du2, w->base_change_lsn, du);
  if (du2 < du) w->durable_regressed++;
  w->seen_applied = ap2;
  w->seen_durable = du2;
  /* the model rolls back to what was durable ... */
  mset_copy(w->sp, &w->committed, &w->base);
  w->last_commit_lsn = w->base_lsn < du2 ? w->base_lsn : du2;
  w->last_change_lsn = w->base_change_lsn;
  check(w);
  /* ... the source replays a few old commits (skipped) and then every one
   * floe lost, in commit order, then resends the open transactions */
  for (int i = 0; i < w->nold; i++)
    if (w->old[i].lsn > du2 || rpct(&w->r, 50))
      replay(w, &w->old[i], w->old[i].lsn <= du2);
  for (int i = 0; i < w->nlog; i++) replay(w, &w->log[i], false);
  strvec after = {0};
  model_texts(&w->committed, NULL, 0, w->sp, &after, false);
  compare(w, &before, &after, "model after replay (a test bug)");
  sv_free(&before);
  sv_free(&after);
  resend_open(w);
  conc_start(w);
}

static void do_replay_skip(world *w) {
  int n = w->nold + w->nlog;
  if (!n) return;
  int i = rint_(&w->r, n);
  const logent *L = i < w->nold ? &w->old[i] : &w->log[i - w->nold];
  char b[24];
  hist(w, "replay old commit xid=%u at %s (applied %" PRIu64 ")", L->xid,
       floe_lsn_format(L->lsn, b), floe_applied_lsn(w->t));
  replay(w, L, true);
}

/* A delete or update of a row that does not exist: FLOE_ENOTFOUND at the
 * call (the rest of the transaction stands) or at commit (nothing of it
 * stands). */
static void do_notfound(world *w) {
  const tspec *sp = w->sp;
  txn *T = txn_begin(w);
  if (!T) return;
  if (truncate_blocked(w, T)) {
    txn_remove(w, T);
    return;
  }
  mset view = {0};
  view_of(w, T, &view);
  int nins = rint_(&w->r, 3);
  for (int i = 0; i < nins; i++) {
    mrow *r = fresh_row(w, T, &view);
    if (!r) break;
    mset_add(&view, r);
    txn_push(w, T, (op){.kind = OP_INSERT, .subxid = txn_cur(T), .nrow = r});
  }
  mrow *ghost = NULL;
  if (sp->nkey) {
    ghost = fresh_row(w, T, &view);
  } else {
    mval *vals = gen_vals(w);
    vals[0].null = false;
    vals[0].i = 1000 + rint_(&w->r, 1000); /* never generated otherwise */
    ghost = mrow_new(sp, vals);
  }
  if (!ghost) {
    mset_free(sp, &view);
    commit_txn(w, T);
    return;
  }
  op o = {.subxid = txn_cur(T), .old = ghost};
  if (rpct(&w->r, 50)) {
    o.kind = OP_DELETE;
    o.old_mode = sp->nkey ? OLD_KEY : OLD_FULL;
  } else {
    o.kind = OP_UPDATE;
    o.old_mode = sp->nkey ? OLD_KEY : OLD_FULL;
    o.nrow = mrow_ref(ghost);
  }
  hist(w, "xid=%u %s of a missing row %.80s", T->xid, op_name(o.kind),
       ghost->ident);
  floe_error e;
  memset(&e, 0, sizeof e);
  floe_status st = issue(w, T->xid, &o, &e);
  op_free(sp, &o);
  mset_free(sp, &view);
  if (st == FLOE_ENOTFOUND) {
    hist(w, "  refused at the call");
    commit_txn(w, T);
    return;
  }
  if (st != FLOE_OK)
    wfail(w, "change of a missing row: %s: %s (want FLOE_ENOTFOUND)",
          floe_strerror(st), e.msg);
  uint64_t lsn = next_lsn(w);
  st = floe_commit(w->t, T->xid, lsn, &e);
  if (st != FLOE_ENOTFOUND)
    wfail(w, "commit of a change of a missing row: %s (want FLOE_ENOTFOUND)",
          floe_strerror(st));
  hist(w, "  refused at commit %" PRIu64, lsn);
  E(w, floe_abort(w->t, T->xid, T->xid, &e_));
  txn_remove(w, T);
}

static void do_pin(world *w) {
  if (w->npins == MAXPIN) return;
  pinned *p = &w->pins[w->npins];
  memset(p, 0, sizeof *p);
  E(w, floe_read_state_get(w->t, w->last_commit_lsn, 10000, &p->rs, &e_));
  p->lsn = floe_read_state_lsn(p->rs);
  model_texts(&w->committed, NULL, 0, w->sp, &p->want, true);
  w->npins++;
  hist(w, "pin read state at %" PRIu64 " (%d rows)", p->lsn, w->committed.n);
}

static void do_unpin(world *w) {
  if (w->npins) unpin(w, rint_(&w->r, w->npins));
}

/* A large transaction (past txn_spill_bytes in most configs): many
 * inserts, updates and deletes of its own rows, a rolled back savepoint,
 * then commit or abort. */
static void do_bigtxn(world *w) {
  const tspec *sp = w->sp;
  txn *T = txn_begin(w);
  if (!T) return;
  if (truncate_blocked(w, T)) {
    txn_remove(w, T);
    return;
  }
  int n = 100 + rint_(&w->r, 250);
  hist(w, "big transaction xid=%u: %d inserts", T->xid, n);
  mrow **mine = xcalloc((size_t)n, sizeof *mine);
  int nm = 0;
  mset view = {0};
  view_of(w, T, &view);
  for (int i = 0; i < n; i++) {
    mval *tmpl = gen_vals(w);
    mrow *r = make_row(sp, tmpl, sp->keyspace + w->big_keys++);
    free_vals(sp, tmpl);
    /* quietly: hundreds of lines of history say nothing */
    floe_error e;
    op o = {.kind = OP_INSERT, .subxid = txn_cur(T), .nrow = r};
    floe_status st = issue(w, T->xid, &o, &e);
    if (st != FLOE_OK)
      wfail(w, "big txn insert %d: %s: %s", i, floe_strerror(st), e.msg);
    ol_push(&T->ops, o);
    mset_add(&view, r);
    mine[nm++] = r;
  }
  /* a savepoint whose deletes are rolled back */
  savepoint(w, T);
  if (T->depth) {
    int depth = T->depth;
    for (int i = 0; i < 20; i++) {
      mrow *r = mine[rint_(&w->r, nm)];
      if (mset_find(&view, r) < 0 || !can_change(w, T, &view, r)) continue;
      op o = make_delete(w, T, r);
      mset_apply(sp, &view, &o);
      txn_push(w, T, o);
    }
    rollback_to(w, T, depth);
  }
  mset_free(sp, &view);
  view_of(w, T, &view);
  /* updates, then deletes of most rows */
  for (int i = 0; i < n / 5; i++) {
    int k = rint_(&w->r, nm);
    if (mset_find(&view, mine[k]) < 0 || !can_change(w, T, &view, mine[k]))
      continue;
    op o = make_update(w, T, &view, mine[k]);
    mset_apply(sp, &view, &o);
    mine[k] = o.nrow;
    txn_push(w, T, o);
  }
  for (int i = 0; i < nm - 15; i++) {
    int k = rint_(&w->r, nm);
    if (mset_find(&view, mine[k]) < 0 || !can_change(w, T, &view, mine[k]))
      continue;
    op o = make_delete(w, T, mine[k]);
    mset_apply(sp, &view, &o);
    txn_push(w, T, o);
  }
  mset_free(sp, &view);
  free(mine);
  if (rpct(&w->r, 75)) {
    commit_txn(w, T);
  } else {
    hist(w, "abort big xid=%u", T->xid);
    E(w, floe_abort(w->t, T->xid, T->xid, &e_));
    txn_remove(w, T);
  }
}

/* ====================================================================== */
/* runs                                                                   */
/* ====================================================================== */

static int pick_kind(world *w) {
  int wt[K_COUNT] = {
      [K_INSERT] = 170,     [K_UPDATE] = 150,     [K_DELETE] = 90,
      [K_SAVEPOINT] = 30,   [K_ROLLBACK_TO] = 25, [K_RELEASE] = 15,
      [K_TRUNCATE] = 3,     [K_COMMIT] = 150,     [K_ABORT] = 15,
      [K_TICK] = 110,       [K_FLUSH] = 15,       [K_COMPACT] = 15,
      [K_ADVANCE] = 10,     [K_REOPEN] = 5,       [K_CRASH] = 6,
      [K_REPLAY_SKIP] = 10, [K_NOTFOUND] = 8,     [K_PIN] = 10,
      [K_UNPIN] = 10,       [K_BIGTXN] = 3,
  };
  int n = w->committed.n, target = w->sp->target_rows;
  if (n > target + target / 3) {
    wt[K_INSERT] = 50;
    wt[K_DELETE] = 250;
  } else if (n < target / 2) {
    wt[K_INSERT] = 300;
    wt[K_DELETE] = 30;
    wt[K_TRUNCATE] = 0;
  }
  int sum = 0;
  for (int k = 0; k < K_COUNT; k++) sum += wt[k];
  int x = rint_(&w->r, sum);
  for (int k = 0; k < K_COUNT; k++) {
    if (x < wt[k]) return k;
    x -= wt[k];
  }
  return K_TICK;
}

static void do_step(world *w, int k) {
  w->counts[k]++;
  switch (k) {
  case K_INSERT: do_insert(w); break;
  case K_UPDATE: do_update(w); break;
  case K_DELETE: do_delete(w); break;
  case K_SAVEPOINT: do_savepoint(w); break;
  case K_ROLLBACK_TO: do_rollback_to(w); break;
  case K_RELEASE: do_release(w); break;
  case K_TRUNCATE: do_truncate(w); break;
  case K_COMMIT: do_commit(w); break;
  case K_ABORT: do_abort(w); break;
  case K_TICK: do_tick(w); break;
  case K_FLUSH: do_flush(w); break;
  case K_COMPACT: do_compact(w); break;
  case K_ADVANCE: do_advance(w); break;
  case K_REOPEN: do_reopen(w); break;
  case K_CRASH: do_crash(w); break;
  case K_REPLAY_SKIP: do_replay_skip(w); break;
  case K_NOTFOUND: do_notfound(w); break;
  case K_PIN: do_pin(w); break;
  case K_UNPIN: do_unpin(w); break;
  case K_BIGTXN: do_bigtxn(w); break;
  }
}

/* Small thresholds so a short run sees many batches, flushes, files,
 * spills, compactions and expiries; drawn from the seed. */
static void pick_config(world *w) {
  floe_table_config *c = &w->cfg;
  rng *r = &w->r;
  floe_table_config_init(c);
  static const int batch[] = {5, 16, 64};
  static const int64_t flush_rows[] = {40, 150, 1000};
  static const int64_t spill[] = {8 << 10, 64 << 10, 16 << 20};
  c->batch_rows = batch[rint_(r, 3)];
  c->flush_rows = flush_rows[rint_(r, 3)];
  c->flush_bytes = rpct(r, 50) ? 256 << 10 : 64 << 20;
  c->flush_age_ms = rpct(r, 50) ? 0 : 3000;
  c->commit_interval_ms = rpct(r, 50) ? 500 : 3000;
  c->memory_limit = rpct(r, 50) ? 1 << 20 : 256 << 20;
  c->txn_spill_bytes = spill[rint_(r, 3)];
  c->keep_snapshots = 1 + rint_(r, 4);
  c->snapshot_max_age_ms = rpct(r, 50) ? 0 : 10000;
  c->orphan_age_ms = rpct(r, 30) ? 0 : 3600000;
  c->housekeeping_interval_ms = rpct(r, 70) ? 5000 : 0;
  c->target_file_bytes = rpct(r, 50) ? 64 << 10 : 1 << 20;
  c->compact_min_files = 2 + rint_(r, 3);
  c->compact_delete_fraction = rpct(r, 50) ? 0.1 : 0.3;
  c->compact_interval_ms = rpct(r, 50) ? 1000 : 10000;
  snprintf(
      w->cfgdesc, sizeof w->cfgdesc,
      "batch_rows %d flush_rows %" PRId64 " flush_bytes %" PRId64
      " flush_age %" PRId64 " commit_interval %" PRId64 " memory_limit %" PRId64
      " txn_spill %" PRId64 " keep_snapshots %d snapshot_age %" PRId64
      " orphan_age %" PRId64 " housekeeping %" PRId64 " target_file %" PRId64
      " compact_min_files %d delete_fraction %.1f compact_interval %" PRId64,
      c->batch_rows, c->flush_rows, c->flush_bytes, c->flush_age_ms,
      c->commit_interval_ms, c->memory_limit, c->txn_spill_bytes,
      c->keep_snapshots, c->snapshot_max_age_ms, c->orphan_age_ms,
      c->housekeeping_interval_ms, c->target_file_bytes, c->compact_min_files,
      c->compact_delete_fraction, c->compact_interval_ms);
}

static void world_init(world *w, const tspec *sp, uint64_t seed, int steps,
                       int *counts, const char *dir) {
  memset(w, 0, sizeof *w);
  w->sp = sp;
  w->seed = seed;
  w->steps = steps;
  w->counts = counts;
  rseed(&w->r, seed * 31 + (uint64_t)sp->ncols);
  w->next_xid = 700 + (uint32_t)rint_(&w->r, 100);
  w->last_lsn = 0x16B3748ULL + (uint64_t)rint_(&w->r, 1000);
  w->now_ms = 1000;
  if (dir) {
    snprintf(w->dir, sizeof w->dir, "%s", dir);
  } else {
    /* tmpfs when there is one: the engine fsyncs every Iceberg commit, and
     * the warehouse is scratch (FLOE_MODEL_TMP picks another place) */
    const char *base = getenv("FLOE_MODEL_TMP");
    if (!base) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(w->dir, sizeof w->dir, "%s/floe-tmodel-XXXXXX", base);
    if (!mkdtemp(w->dir)) fail_msg("mkdtemp failed");
  }
  pick_config(w);
}

static void world_free(world *w) {
  const tspec *sp = w->sp;
  unpin_all(w);
  close_rows(w);
  while (w->ntxn) txn_remove(w, &w->txns[0]);
  for (int i = 0; i < w->nlog; i++) ol_free(sp, &w->log[i].ops);
  free(w->log);
  for (int i = 0; i < w->nold; i++) ol_free(sp, &w->old[i].ops);
  mset_free(sp, &w->committed);
  mset_free(sp, &w->base);
}

static void rm_rf(const char *dir) {
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fail_msg("%s failed", cmd);
}

/* One seeded run: steps random steps, each followed by the full check;
 * then a clean close, a reopen that must show the same rows, and a close. */
static void run(world *w) {
  open_table(w, true);
  check(w);
  conc_start(w);
  int local[K_COUNT] = {0};
  for (w->step = 0; w->step < w->steps; w->step++) {
    int k = pick_kind(w);
    local[k]++;
    do_step(w, k);
    fold(w);
    check(w);
    if (w->step == w->steps * 2 / 3) {
      /* rare kinds the dice skipped so far: once each, so every run
       * covers them all */
      for (k = 0; k < K_COUNT; k++) {
        if (local[k]) continue;
        local[k]++;
        do_step(w, k);
        fold(w);
        check(w);
      }
    }
  }
  hist(w, "final close + reopen");
  w->step = w->steps;
  while (w->ntxn) {
    /* the source finishes its transactions */
    if (rpct(&w->r, 50))
      commit_txn(w, &w->txns[0]);
    else {
      E(w, floe_abort(w->t, w->txns[0].xid, w->txns[0].xid, &e_));
      txn_remove(w, &w->txns[0]);
    }
  }
  check(w);
  do_reopen(w);
  fold(w);
  check(w);
  conc_stop(w);
  conc_check(w);
  unpin_all(w);
  take_stats(w);
  close_rows(w);
  E(w, floe_table_close(w->t, &e_));
  w->t = NULL;
}

static int env_int(const char *name, int dflt) {
  const char *v = getenv(name);
  int n = v ? atoi(v) : dflt;
  return n > 0 ? n : dflt;
}

static void run_schema(const tspec *sp, const uint64_t *seeds, int nseeds,
                       int steps) {
  const char *only = env_schema();
  if (only && strcmp(only, sp->name) != 0) skip();
  int counts[K_COUNT] = {0};
  const char *sv = getenv("FLOE_MODEL_SEED");
  uint64_t one = sv ? strtoull(sv, NULL, 10) : 0;
  if (sv) {
    seeds = &one;
    nseeds = 1;
  }
  int durable_regressed = 0, reopen_regressed = 0;
  int64_t commits = 0, flushes = 0, compactions = 0, files = 0, dvs = 0;
  for (int i = 0; i < nseeds; i++) {
    world w;
    world_init(&w, sp, seeds[i], steps, counts, NULL);
    run(&w);
    durable_regressed += w.durable_regressed;
    reopen_regressed += w.reopen_regressed;
    commits += w.st_commits;
    flushes += w.st_flushes;
    compactions += w.st_compactions;
    if (w.max_files > files) files = w.max_files;
    if (w.max_dvs > dvs) dvs = w.max_dvs;
    world_free(&w);
    rm_rf(w.dir);
  }
  if (getenv("FLOE_MODEL_VERBOSE")) {
    fprintf(stderr, "%s:", sp->name);
    for (int k = 0; k < K_COUNT; k++)
      fprintf(stderr, " %s=%d", kind_names[k], counts[k]);
    fprintf(stderr,
            " durable-below-applied: after-crash=%d after-close=%d\n"
            "  engine: %" PRId64 " Iceberg commits, %" PRId64
            " flushes, %" PRId64 " compactions; at most %" PRId64
            " data files, %" PRId64 " with deletes\n",
            durable_regressed, reopen_regressed, commits, flushes, compactions,
            files, dvs);
  }
  /* the default seeds between them must reach every kind of step */
  if (steps >= 3)
    for (int k = 0; k < K_COUNT; k++)
      if (!counts[k])
        fail_msg("%s: no step of kind %s ran", sp->name, kind_names[k]);
}

#define DEFAULT_STEPS 400

/* The same runs with the host's threads: a maintenance thread ticking on
 * the real clock (short intervals: flushes, Iceberg commits, compactions
 * and housekeeping run while the ingest thread works) and a reader thread
 * checking every read state it takes against the model's history. */
static void run_concurrent(const tspec *sp, uint64_t seed, int steps) {
  const char *only = env_schema();
  if (only && strcmp(only, sp->name) != 0) return;
  const char *sv = getenv("FLOE_MODEL_SEED");
  if (sv) seed = strtoull(sv, NULL, 10);
  int counts[K_COUNT] = {0};
  world w;
  world_init(&w, sp, seed, steps, counts, NULL);
  w.cfg.commit_interval_ms = 20 + rint_(&w.r, 80);
  w.cfg.compact_interval_ms = 50;
  if (w.cfg.housekeeping_interval_ms) w.cfg.housekeeping_interval_ms = 200;
  if (w.cfg.flush_age_ms) w.cfg.flush_age_ms = 30;
  snprintf(w.cfgdesc + strlen(w.cfgdesc), sizeof w.cfgdesc - strlen(w.cfgdesc),
           " (concurrent: commit_interval %" PRId64 ")",
           w.cfg.commit_interval_ms);
  conc cc;
  memset(&cc, 0, sizeof cc);
  cc.w = &w;
  pthread_mutex_init(&cc.mu, NULL);
  pthread_mutex_init(&cc.maint_mu, NULL);
  w.cc = &cc;
  run(&w);
  if (getenv("FLOE_MODEL_VERBOSE"))
    fprintf(stderr,
            "%s concurrent: %" PRId64 " ticks, %" PRId64
            " reads; engine: %" PRId64 " Iceberg commits, %" PRId64
            " flushes, %" PRId64 " compactions\n",
            sp->name, atomic_load(&cc.ticks), atomic_load(&cc.reads),
            w.st_commits, w.st_flushes, w.st_compactions);
  if (!atomic_load(&cc.ticks) || !atomic_load(&cc.reads))
    fail_msg("%s concurrent: the threads did nothing", sp->name);
  world_free(&w);
  rm_rf(w.dir);
  free(cc.h);
  pthread_mutex_destroy(&cc.mu);
  pthread_mutex_destroy(&cc.maint_mu);
}

static void test_concurrent(void **state) {
  (void)state;
  int steps = env_int("FLOE_MODEL_STEPS", DEFAULT_STEPS);
  run_concurrent(&SPEC_WIDE, 6, steps);
  /* the printed reproduction sets FLOE_MODEL_STEPS: then both take it */
  run_concurrent(&SPEC_NOKEY, 7,
                 getenv("FLOE_MODEL_STEPS") ? steps : steps / 2);
}

static void test_wide(void **state) {
  (void)state;
  static const uint64_t seeds[] = {1};
  run_schema(&SPEC_WIDE, seeds, 1, env_int("FLOE_MODEL_STEPS", DEFAULT_STEPS));
}

static void test_composite(void **state) {
  (void)state;
  static const uint64_t seeds[] = {3};
  run_schema(&SPEC_COMPOSITE, seeds, 1,
             env_int("FLOE_MODEL_STEPS", DEFAULT_STEPS));
}

static void test_nokey(void **state) {
  (void)state;
  static const uint64_t seeds[] = {4, 5};
  run_schema(&SPEC_NOKEY, seeds, 2, env_int("FLOE_MODEL_STEPS", DEFAULT_STEPS));
}

/* ====================================================================== */
/* the Arrow decoder against the columnar layer's own export              */
/* ====================================================================== */

static col_dtype dtype_of(const floe_column *c) {
  return (col_dtype){.id = (col_type)c->type,
                     .precision = c->precision,
                     .scale = c->scale,
                     .elem = (col_type)c->elem,
                     .elem_precision = c->elem_precision,
                     .elem_scale = c->elem_scale};
}

static col_schema *schema_of(const tspec *sp) {
  col_field f[MAXC];
  for (int c = 0; c < sp->ncols; c++)
    f[c] = (col_field){.id = c + 1,
                       .name = (char *)(uintptr_t)sp->cols[c].name,
                       .type = dtype_of(&sp->cols[c]),
                       .nullable = sp->cols[c].nullable,
                       .elem_id = sp->ncols + 1 + c,
                       .elem_nullable = true};
  col_schema *s = NULL;
  floe_error e;
  if (col_schema_new(f, sp->ncols, &s, &e) != FLOE_OK)
    fail_msg("col_schema_new: %s", e.msg);
  return s;
}

static void col_put(col_column *c, floe_type t, const mval *v) {
  floe_error e;
  floe_status st = FLOE_OK;
  if (v->null) {
    st = col_append_null(c, &e);
  } else {
    switch (t) {
    case FLOE_BOOL: st = col_append_bool(c, v->i != 0, &e); break;
    case FLOE_INT16: st = col_append_i16(c, (int16_t)v->i, &e); break;
    case FLOE_INT32:
    case FLOE_DATE: st = col_append_i32(c, (int32_t)v->i, &e); break;
    case FLOE_FLOAT32: st = col_append_f32(c, (float)v->f, &e); break;
    case FLOE_FLOAT64: st = col_append_f64(c, v->f, &e); break;
    case FLOE_DECIMAL: st = col_append_dec(c, v->lo, v->hi, &e); break;
    case FLOE_UTF8:
    case FLOE_BINARY: st = col_append_bytes(c, v->b, v->n, &e); break;
    case FLOE_UUID: st = col_append_uuid(c, v->b, &e); break;
    case FLOE_LIST: fail_msg("col_put: list"); break;
    default: st = col_append_i64(c, v->i, &e); break;
    }
  }
  if (st != FLOE_OK) fail_msg("col_put: %s", e.msg);
}

static void batch_put(col_batch *b, const tspec *sp, const mrow *r) {
  floe_error e;
  for (int c = 0; c < sp->ncols; c++) {
    const floe_column *fc = &sp->cols[c];
    const mval *v = &r->v[c];
    if (fc->type != FLOE_LIST || v->null) {
      col_put(&b->cols[c], fc->type, v);
      continue;
    }
    for (int k = 0; k < v->nel; k++)
      col_put(b->cols[c].child, fc->elem, &v->el[k]);
    if (col_list_end(&b->cols[c], &e) != FLOE_OK) fail_msg("%s", e.msg);
  }
  if (col_batch_seal(b, &e) != FLOE_OK) fail_msg("%s", e.msg);
}

typedef struct src_ctx {
  col_batch *b[3];
  int n, next;
} src_ctx;

static floe_status src_next(void *ctx, col_batch **out, floe_error *err) {
  (void)err;
  src_ctx *s = ctx;
  *out = s->next < s->n ? s->b[s->next] : NULL;
  if (*out) s->b[s->next++] = NULL;
  return FLOE_OK;
}

static void src_free(void *ctx) {
  src_ctx *s = ctx;
  for (int i = 0; i < s->n; i++) col_batch_free(s->b[i]);
}

/* A one-array stream over an ArrowArray prepared by the test (offsets set
 * by hand), for the decoder's offset handling. */
typedef struct one_stream {
  const col_schema *schema;
  struct ArrowArray arr;
  bool given;
} one_stream;

static int one_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  one_stream *o = s->private_data;
  floe_error e;
  return col_schema_export(o->schema, out, &e) == FLOE_OK ? 0 : 22;
}
static int one_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  one_stream *o = s->private_data;
  if (o->given) {
    memset(out, 0, sizeof *out);
    return 0;
  }
  *out = o->arr;
  o->arr.release = NULL;
  o->given = true;
  return 0;
}
static const char *one_error(struct ArrowArrayStream *s) {
  (void)s;
  return "none";
}
static void one_release(struct ArrowArrayStream *s) {
  one_stream *o = s->private_data;
  if (o->arr.release) o->arr.release(&o->arr);
  s->release = NULL;
}

static void test_arrow_reader(void **state) {
  (void)state;
  const tspec *specs[] = {&SPEC_WIDE, &SPEC_COMPOSITE, &SPEC_NOKEY};
  for (int si = 0; si < 3; si++) {
    const tspec *sp = specs[si];
    world w;
    memset(&w, 0, sizeof w);
    w.sp = sp;
    rseed(&w.r, 77 + (uint64_t)si);
    enum { N = 300 };
    mrow *rows[N];
    col_schema *schema = schema_of(sp);
    src_ctx ctx = {.n = 3};
    floe_error e;
    for (int b = 0; b < 3; b++)
      if (col_batch_new(schema, &ctx.b[b], &e) != FLOE_OK)
        fail_msg("%s", e.msg);
    strvec want = {0};
    for (int i = 0; i < N; i++) {
      mval *vals = gen_vals(&w);
      if (sp->nkey) set_key(sp, vals, i);
      rows[i] = mrow_new(sp, vals);
      /* batch 1 stays empty: empty arrays in a stream are legal */
      batch_put(ctx.b[i % 2 ? 2 : 0], sp, rows[i]);
      sv_add(&want, rows[i]->text, strlen(rows[i]->text));
    }
    sv_sort(&want);
    struct ArrowArrayStream s;
    if (col_stream_export(schema, src_next, &ctx, src_free, &s, &e) != FLOE_OK)
      fail_msg("%s", e.msg);
    strvec got = {0};
    int proj[MAXC];
    for (int c = 0; c < sp->ncols; c++) proj[c] = c;
    char why[256];
    const char *err =
        arrow_read(&s, sp->cols, proj, sp->ncols, &got, why, sizeof why);
    if (err) fail_msg("%s: %s", sp->name, err);
    sv_sort(&got);
    assert_int_equal(got.n, N);
    for (int i = 0; i < N; i++) assert_string_equal(got.v[i], want.v[i]);
    sv_free(&got);
    sv_free(&want);

    /* offsets: the struct starts at row 3; column 1 additionally at 2 more */
    col_batch *b = NULL;
    if (col_batch_new(schema, &b, &e) != FLOE_OK) fail_msg("%s", e.msg);
    for (int i = 0; i < 20; i++) batch_put(b, sp, rows[i]);
    one_stream os = {.schema = schema};
    if (col_batch_export(b, &os.arr, &e) != FLOE_OK) fail_msg("%s", e.msg);
    os.arr.offset = 3;
    os.arr.length = 10;
    os.arr.children[1]->offset = 2;
    os.arr.children[1]->length -= 2;
    s = (struct ArrowArrayStream){.get_schema = one_schema,
                                  .get_next = one_next,
                                  .get_last_error = one_error,
                                  .release = one_release,
                                  .private_data = &os};
    err = arrow_read(&s, sp->cols, proj, sp->ncols, &got, why, sizeof why);
    if (err) fail_msg("%s offsets: %s", sp->name, err);
    assert_int_equal(got.n, 10);
    sb o = {0};
    for (int i = 0; i < 10; i++) {
      sb_reset(&o);
      for (int c = 0; c < sp->ncols; c++) {
        if (c) sb_putc(&o, '|');
        const mrow *r = rows[3 + i + (c == 1 ? 2 : 0)];
        render_cell(&o, &sp->cols[c], &r->v[c]);
      }
      assert_string_equal(got.v[i], o.p);
    }
    sb_free(&o);
    sv_free(&got);

    /* a wrong schema is reported, not misread */
    tspec bad = *sp;
    bad.cols[0].type = bad.cols[0].type == FLOE_INT64 ? FLOE_INT32 : FLOE_INT64;
    ctx = (src_ctx){.n = 1};
    if (col_batch_new(schema, &ctx.b[0], &e) != FLOE_OK) fail_msg("%s", e.msg);
    if (col_stream_export(schema, src_next, &ctx, src_free, &s, &e) != FLOE_OK)
      fail_msg("%s", e.msg);
    err = arrow_read(&s, bad.cols, proj, sp->ncols, &got, why, sizeof why);
    assert_non_null(err);
    assert_non_null(strstr(err, "field 0"));
    sv_free(&got);

    for (int i = 0; i < N; i++) mrow_unref(sp, rows[i]);
    col_schema_unref(schema);
  }
}

/* ====================================================================== */
/* FLOE_DUMP_DIR: tables for the interop test                             */
/* ====================================================================== */

/* Writes DIR/<table>.expected.json: the rows of s in floe's canonical
 * JSON text (src/columnar/text.h), which the interop test compares with
 * what DuckDB reads from the Iceberg table. */
static void dump_expected(world *w, const mset *s, uint64_t durable) {
  const tspec *sp = w->sp;
  char path[400];
  snprintf(path, sizeof path, "%s/%s.expected.json", w->dir, sp->name);
  FILE *f = fopen(path, "w");
  if (!f) fail_msg("cannot write %s", path);
  fprintf(f, "{\"table\": \"db.%s\", \"durable_lsn\": \"%" PRIu64 "\",\n",
          sp->name, durable);
  fprintf(f, " \"key\": [");
  for (int k = 0; k < sp->nkey; k++)
    fprintf(f, "%s\"%s\"", k ? ", " : "", sp->cols[sp->key[k]].name);
  fprintf(f, "],\n \"columns\": [");
  for (int c = 0; c < sp->ncols; c++) {
    char tn[64];
    col_dtype_format(dtype_of(&sp->cols[c]), tn, sizeof tn);
    fprintf(f, "%s{\"name\": \"%s\", \"type\": \"%s\"}", c ? ", " : "",
            sp->cols[c].name, tn);
  }
  fprintf(f, "],\n \"rows\": [\n");
  floe_error e;
  fbuf out = {0};
  for (int i = 0; i < s->n; i++) {
    fprintf(f, "  [");
    for (int c = 0; c < sp->ncols; c++) {
      const mval *v = &s->r[i]->v[c];
      if (c) fputs(", ", f);
      if (v->null) {
        fputs("null", f);
        continue;
      }
      col_column col;
      if (col_init(&col, dtype_of(&sp->cols[c]), &e) != FLOE_OK)
        fail_msg("%s", e.msg);
      if (sp->cols[c].type == FLOE_LIST) {
        for (int k = 0; k < v->nel; k++)
          col_put(col.child, sp->cols[c].elem, &v->el[k]);
        if (col_list_end(&col, &e) != FLOE_OK) fail_msg("%s", e.msg);
      } else {
        col_put(&col, sp->cols[c].type, v);
      }
      fbuf_reset(&out);
      if (col_text_format(&col, 0, true, &out, &e) != FLOE_OK)
        fail_msg("col_text_format: %s", e.msg);
      fwrite(out.data, 1, out.len, f);
      col_free(&col);
    }
    fprintf(f, "]%s\n", i + 1 < s->n ? "," : "");
  }
  fprintf(f, " ]}\n");
  fbuf_free(&out);
  if (fclose(f) != 0) fail_msg("writing %s failed", path);
}

/* A run that ends in a crash with changes past durable_lsn: the Iceberg
 * table must hold exactly the model as of durable_lsn, with DVs in it. */
static void dump_table(const tspec *sp, const char *dir, int *counts) {
  world w;
  world_init(&w, sp, 4242, 300, counts, dir);
  /* thresholds that leave several files with deletion vectors */
  w.cfg.batch_rows = 16;
  w.cfg.flush_rows = 60;
  w.cfg.compact_min_files = 1000;
  w.cfg.compact_delete_fraction = 0.99;
  w.cfg.keep_snapshots = 3;
  w.cfg.orphan_age_ms = 3600000;
  open_table(&w, true);
  for (w.step = 0; w.step < w.steps; w.step++) {
    int k = pick_kind(&w);
    if (k == K_CRASH || k == K_REOPEN || k == K_TRUNCATE) k = K_TICK;
    do_step(&w, k);
    fold(&w);
    check(&w);
  }
  while (w.ntxn) commit_txn(&w, &w.txns[0]);
  do_flush(&w);
  /* deletes of flushed rows: deletion vectors in the data files */
  for (int i = 0; i < 3; i++) {
    do_delete(&w);
    do_update(&w);
    while (w.ntxn) commit_txn(&w, &w.txns[0]);
  }
  do_flush(&w);
  fold(&w);
  check(&w);
  /* applied but not durable: must not be in the Iceberg table */
  do_insert(&w);
  do_delete(&w);
  while (w.ntxn) commit_txn(&w, &w.txns[0]);
  check(&w);
  fold(&w);
  uint64_t du = floe_durable_lsn(w.t);
  if (du >= w.last_commit_lsn && w.nlog == 0)
    fprintf(stderr, "dump %s: every commit is durable already\n", sp->name);
  dump_expected(&w, &w.base, du);
  unpin_all(&w);
  close_rows(&w);
  floe_table_free(w.t);
  w.t = NULL;
  world_free(&w);
}

static void test_dump(void **state) {
  (void)state;
  const char *d = getenv("FLOE_DUMP_DIR");
  if (!d) skip();
  int counts[K_COUNT] = {0};
  dump_table(&SPEC_WIDE, d, counts);
  dump_table(&SPEC_NOKEY, d, counts);
}

int main(void) {
  if (getenv("FLOE_DUMP_DIR")) {
    const struct CMUnitTest dump[] = {cmocka_unit_test(test_dump)};
    return cmocka_run_group_tests(dump, NULL, NULL);
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_arrow_reader), cmocka_unit_test(test_wide),
      cmocka_unit_test(test_composite),    cmocka_unit_test(test_nokey),
      cmocka_unit_test(test_concurrent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
