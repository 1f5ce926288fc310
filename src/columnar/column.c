/*
 * Columns in Arrow layout. The invariants every function here keeps (the
 * Arrow export and the Parquet writer read the buffers directly):
 *   validity.len == ceil(length / 8), and every bit past length is zero;
 *   bool values: same as validity;
 *   fixed width: values.len == length * width;
 *   utf8/binary/list: offsets.len == (length + 1) * 4, offsets[0] == 0,
 *     offsets[length] == values.len (or child->length for lists);
 *   nulls occupy a slot (zero bytes / repeated offset / zero bit).
 */
#include "columnar/column.h"

#include <stdio.h>
#include <stdlib.h>

int col_type_width(col_type t) {
  switch (t) {
  case COL_INT16: return 2;
  case COL_INT32:
  case COL_FLOAT32:
  case COL_DATE: return 4;
  case COL_INT64:
  case COL_FLOAT64:
  case COL_TIME:
  case COL_TIMESTAMP:
  case COL_TIMESTAMPTZ: return 8;
  case COL_DECIMAL:
  case COL_UUID: return 16;
  case COL_BOOL:
  case COL_UTF8:
  case COL_BINARY:
  case COL_LIST:
  case COL_TYPE_COUNT: return 0;
  }
  return 0;
}

const char *col_type_name(col_type t) {
  switch (t) {
  case COL_BOOL: return "bool";
  case COL_INT16: return "int16";
  case COL_INT32: return "int32";
  case COL_INT64: return "int64";
  case COL_FLOAT32: return "float32";
  case COL_FLOAT64: return "float64";
  case COL_DECIMAL: return "decimal";
  case COL_UTF8: return "utf8";
  case COL_BINARY: return "binary";
  case COL_DATE: return "date";
  case COL_TIME: return "time";
  case COL_TIMESTAMP: return "timestamp";
  case COL_TIMESTAMPTZ: return "timestamptz";
  case COL_UUID: return "uuid";
  case COL_LIST: return "list";
  case COL_TYPE_COUNT: break;
  }
  return "unknown";
}

col_dtype col_dtype_elem(col_dtype t) {
  col_dtype e = {0};
  e.id = t.elem;
  e.precision = t.elem_precision;
  e.scale = t.elem_scale;
  return e;
}

static void scalar_format(col_type id, int p, int s, char *out, size_t n) {
  if (id == COL_DECIMAL)
    snprintf(out, n, "decimal(%d,%d)", p, s);
  else
    snprintf(out, n, "%s", col_type_name(id));
}

char *col_dtype_format(col_dtype t, char *out, size_t n) {
  if (!n) return out;
  if (t.id == COL_LIST) {
    char e[32];
    scalar_format(t.elem, t.elem_precision, t.elem_scale, e, sizeof e);
    snprintf(out, n, "list<%s>", e);
  } else {
    scalar_format(t.id, t.precision, t.scale, out, n);
  }
  return out;
}

static bool var_width(col_type t) {
  return t == COL_UTF8 || t == COL_BINARY || t == COL_LIST;
}

static floe_status check_scalar(col_type id, int p, int s, floe_error *err) {
  if ((int)id < 0 || id >= COL_TYPE_COUNT || id == COL_LIST)
    return ferr_set(err, FLOE_EINVAL, "invalid column type %d", (int)id);
  if (id == COL_DECIMAL && (p < 1 || p > 38 || s > p))
    return ferr_set(err, FLOE_EINVAL,
                    "decimal(%d,%d): precision must be 1..38 and scale "
                    "0..precision",
                    p, s);
  return FLOE_OK;
}

floe_status col_dtype_check(col_dtype t, floe_error *err) {
  if (t.id == COL_LIST)
    return check_scalar(t.elem, t.elem_precision, t.elem_scale, err);
  return check_scalar(t.id, t.precision, t.scale, err);
}

floe_status col_init(col_column *c, col_dtype t, floe_error *err) {
  memset(c, 0, sizeof *c);
  FLOE_TRY(col_dtype_check(t, err));
  c->type = t;
  if (var_width(t.id)) {
    /* offsets[0] = 0 is there from the start, so an empty column is already
     * a valid Arrow array. */
    FLOE_TRY(fbuf_put_le32(&c->offsets, 0, err));
  }
  if (t.id == COL_LIST) {
    c->child = malloc(sizeof *c->child);
    if (!c->child) {
      fbuf_free(&c->offsets);
      return ferr_nomem(err, sizeof *c->child);
    }
    floe_status st = col_init(c->child, col_dtype_elem(t), err);
    if (st != FLOE_OK) {
      free(c->child);
      c->child = NULL;
      fbuf_free(&c->offsets);
      return st;
    }
  }
  return FLOE_OK;
}

void col_free(col_column *c) {
  if (!c) return;
  fbuf_free(&c->validity);
  fbuf_free(&c->values);
  fbuf_free(&c->offsets);
  if (c->child) {
    col_free(c->child);
    free(c->child);
    c->child = NULL;
  }
  c->length = c->null_count = 0;
}

void col_clear(col_column *c) { col_truncate(c, 0); }

/* Clears the bits at and past len in the last byte, so later ORs start from
 * zero (the bitmap invariant). */
static void bits_truncate(fbuf *b, int64_t len) {
  b->len = (size_t)((len + 7) >> 3);
  if (len & 7) b->data[len >> 3] &= (uint8_t)((1u << (len & 7)) - 1);
}

static int64_t count_set_bits(const uint8_t *p, int64_t off, int64_t n) {
  int64_t count = 0;
  while (n > 0 && (off & 7)) {
    count += (p[off >> 3] >> (off & 7)) & 1;
    off++;
    n--;
  }
  const uint8_t *q = p + (off >> 3);
  for (; n >= 64; n -= 64, q += 8) {
    uint64_t w;
    memcpy(&w, q, 8);
    count += __builtin_popcountll(w);
  }
  for (; n >= 8; n -= 8) count += __builtin_popcount(*q++);
  if (n > 0) count += __builtin_popcount(*q & ((1u << n) - 1));
  return count;
}

void col_truncate(col_column *c, int64_t len) {
  if (len < 0 || len >= c->length) return;
  int64_t dropped_valid =
      count_set_bits(c->validity.data, len, c->length - len);
  c->null_count -= (c->length - len) - dropped_valid;
  bits_truncate(&c->validity, len);
  int w = col_type_width(c->type.id);
  if (c->type.id == COL_BOOL) {
    bits_truncate(&c->values, len);
  } else if (w) {
    c->values.len = (size_t)len * (size_t)w;
  } else {
    int32_t end;
    memcpy(&end, c->offsets.data + (size_t)len * 4, 4);
    c->offsets.len = (size_t)(len + 1) * 4;
    if (c->type.id == COL_LIST)
      col_truncate(c->child, end);
    else
      c->values.len = (size_t)end;
  }
  c->length = len;
}

floe_status col_reserve(col_column *c, int64_t n, size_t nbytes,
                        floe_error *err) {
  if (n < 0 || n > (INT64_MAX >> 5) - c->length)
    return ferr_set(err, FLOE_EINVAL, "col_reserve: bad row count %lld",
                    (long long)n);
  size_t bits = (size_t)((c->length + n + 7) >> 3);
  FLOE_TRY(fbuf_reserve(&c->validity, bits - c->validity.len, err));
  int w = col_type_width(c->type.id);
  if (c->type.id == COL_BOOL) {
    FLOE_TRY(fbuf_reserve(&c->values, bits - c->values.len, err));
  } else if (w) {
    if ((uint64_t)n > SIZE_MAX / (size_t)w) return ferr_nomem(err, SIZE_MAX);
    FLOE_TRY(fbuf_reserve(&c->values, (size_t)n * (size_t)w, err));
  } else {
    FLOE_TRY(fbuf_reserve(&c->offsets, (size_t)n * 4, err));
    if (c->type.id != COL_LIST) FLOE_TRY(fbuf_reserve(&c->values, nbytes, err));
  }
  return FLOE_OK;
}

floe_status col_grow_(col_column *c, size_t vbytes, floe_error *err) {
  FLOE_TRY(fbuf_reserve(&c->values, vbytes, err));
  FLOE_TRY(fbuf_reserve(&c->validity, 1, err));
  if (var_width(c->type.id)) FLOE_TRY(fbuf_reserve(&c->offsets, 4, err));
  return FLOE_OK;
}

floe_status col_type_mismatch_(const col_column *c, const char *what,
                               floe_error *err) {
  char t[48];
  return ferr_set(err, FLOE_EINVAL, "append of %s to a %s column", what,
                  col_dtype_format(c->type, t, sizeof t));
}

floe_status col_too_big_(const col_column *c, size_t n, floe_error *err) {
  char t[48];
  return ferr_set(err, FLOE_ERANGE,
                  "%s column: %zu more bytes would pass the 2^31-1 byte "
                  "limit of int32 offsets (%zu bytes held); flush the batch "
                  "earlier",
                  col_dtype_format(c->type, t, sizeof t), n, c->values.len);
}

static inline void push_offset(col_column *c, int32_t v) {
  memcpy(c->offsets.data + c->offsets.len, &v, 4);
  c->offsets.len += 4;
}

static inline int32_t last_offset(const col_column *c) {
  int32_t v;
  memcpy(&v, c->offsets.data + c->offsets.len - 4, 4);
  return v;
}

floe_status col_append_nulls(col_column *c, int64_t n, floe_error *err) {
  if (n == 0) return FLOE_OK;
  FLOE_TRY(col_reserve(c, n, 0, err));
  size_t bits = (size_t)((c->length + n + 7) >> 3);
  /* Zero validity bits: the new bytes are zeroed, old bits past length are
   * already zero. */
  memset(c->validity.data + c->validity.len, 0, bits - c->validity.len);
  c->validity.len = bits;
  int w = col_type_width(c->type.id);
  if (c->type.id == COL_BOOL) {
    memset(c->values.data + c->values.len, 0, bits - c->values.len);
    c->values.len = bits;
  } else if (w) {
    memset(c->values.data + c->values.len, 0, (size_t)n * (size_t)w);
    c->values.len += (size_t)n * (size_t)w;
  } else {
    int32_t end = last_offset(c);
    for (int64_t i = 0; i < n; i++) push_offset(c, end);
  }
  c->length += n;
  c->null_count += n;
  return FLOE_OK;
}

/* Sets bits [from, from + n) of a bitmap whose bytes up to from + n exist
 * and are zero past from. */
static void bits_set_range(uint8_t *d, int64_t from, int64_t n) {
  while (n > 0 && (from & 7)) {
    d[from >> 3] |= (uint8_t)(1u << (from & 7));
    from++;
    n--;
  }
  if (n >= 8) {
    memset(d + (from >> 3), 0xff, (size_t)(n >> 3));
    from += n & ~(int64_t)7;
    n &= 7;
  }
  for (; n > 0; n--, from++) d[from >> 3] |= (uint8_t)(1u << (from & 7));
}

floe_status col_extend_fixed(col_column *c, int64_t n, uint8_t **vals,
                             floe_error *err) {
  int w = col_type_width(c->type.id);
  if (w == 0 || c->type.id == COL_BOOL)
    return col_type_mismatch_(c, "fixed-width run", err);
  FLOE_TRY(col_reserve(c, n, 0, err));
  size_t bits = (size_t)((c->length + n + 7) >> 3);
  memset(c->validity.data + c->validity.len, 0, bits - c->validity.len);
  c->validity.len = bits;
  bits_set_range(c->validity.data, c->length, n);
  *vals = c->values.data + c->values.len;
  c->values.len += (size_t)n * (size_t)w;
  c->length += n;
  return FLOE_OK;
}

floe_status col_append_null(col_column *c, floe_error *err) {
  return col_append_nulls(c, 1, err);
}

floe_status col_list_end(col_column *c, floe_error *err) {
  COL_CHECK_(c, c->type.id == COL_LIST, "list", err);
  if (c->child->length > INT32_MAX) {
    char t[48];
    return ferr_set(err, FLOE_ERANGE,
                    "%s column: %lld elements pass the 2^31-1 limit of int32 "
                    "offsets; flush the batch earlier",
                    col_dtype_format(c->type, t, sizeof t),
                    (long long)c->child->length);
  }
  if (FLOE_UNLIKELY(!col_room_(c, 0) || c->offsets.cap - c->offsets.len < 4))
    FLOE_TRY(col_grow_(c, 0, err));
  push_offset(c, (int32_t)c->child->length);
  col_push_bit_(&c->validity, c->length, true);
  c->length++;
  return FLOE_OK;
}

/*
 * Appends n bits of src starting at bit soff to the bitmap dst that holds
 * dlen bits. Whole bytes when both sides are byte aligned; otherwise one
 * output byte at a time from two shifted source bytes, so the cost is per
 * byte, not per bit.
 */
static floe_status bits_append(fbuf *dst, int64_t dlen, const uint8_t *src,
                               int64_t soff, int64_t n, floe_error *err) {
  size_t need = (size_t)((dlen + n + 7) >> 3);
  FLOE_TRY(fbuf_reserve(dst, need - dst->len, err));
  memset(dst->data + dst->len, 0, need - dst->len);
  dst->len = need;
  uint8_t *d = dst->data;
  /* head: single bits until the destination is byte aligned */
  while (n > 0 && (dlen & 7)) {
    d[dlen >> 3] |=
        (uint8_t)(((src[soff >> 3] >> (soff & 7)) & 1) << (dlen & 7));
    dlen++;
    soff++;
    n--;
  }
  uint8_t *dp = d + (dlen >> 3);
  const uint8_t *sp = src + (soff >> 3);
  int s = (int)(soff & 7);
  int64_t full = n >> 3;
  if (s == 0) {
    memcpy(dp, sp, (size_t)full);
  } else {
    /* bits p..p+7 end inside src, so sp[k + 1] is always in bounds */
    for (int64_t k = 0; k < full; k++)
      dp[k] = (uint8_t)((sp[k] >> s) | (sp[k + 1] << (8 - s)));
  }
  int64_t done = full << 3;
  dlen += done;
  soff += done;
  n -= done;
  for (; n > 0; n--, dlen++, soff++)
    d[dlen >> 3] |=
        (uint8_t)(((src[soff >> 3] >> (soff & 7)) & 1) << (dlen & 7));
  return FLOE_OK;
}

static bool same_type(col_dtype a, col_dtype b) {
  if (a.id != b.id) return false;
  if (a.id == COL_DECIMAL)
    return a.precision == b.precision && a.scale == b.scale;
  if (a.id == COL_LIST) return same_type(col_dtype_elem(a), col_dtype_elem(b));
  return true;
}

floe_status col_append_range(col_column *c, const col_column *src, int64_t from,
                             int64_t n, floe_error *err) {
  if (!same_type(c->type, src->type)) {
    char a[48], b[48];
    return ferr_set(err, FLOE_EINVAL, "append_range: %s rows into a %s column",
                    col_dtype_format(src->type, a, sizeof a),
                    col_dtype_format(c->type, b, sizeof b));
  }
  if (from < 0 || n < 0 || from > src->length || n > src->length - from)
    return ferr_set(err, FLOE_EINVAL,
                    "append_range: rows [%lld, +%lld) outside 0..%lld",
                    (long long)from, (long long)n, (long long)src->length);
  if (n == 0) return FLOE_OK;
  int64_t old_len = c->length;
  const int32_t *so = NULL;
  size_t nbytes = 0;
  if (var_width(c->type.id)) {
    so = col_offsets(src);
    int64_t span = (int64_t)so[from + n] - so[from];
    int64_t base = last_offset(c);
    if (span > INT32_MAX - base) {
      char t[48];
      return ferr_set(err, FLOE_ERANGE,
                      "%s column: appending %lld more %s would pass the "
                      "2^31-1 limit of int32 offsets; flush the batch earlier",
                      col_dtype_format(c->type, t, sizeof t), (long long)span,
                      c->type.id == COL_LIST ? "elements" : "bytes");
    }
    if (c->type.id != COL_LIST) nbytes = (size_t)span;
  }
  FLOE_TRY(col_reserve(c, n, nbytes, err));
  /* src may be c itself: reread its buffers after the reserve moved them */
  if (so) so = col_offsets(src);
  /* Reserved above, so the copies below cannot fail except for the list
   * child; a child failure rolls the parent back. */
  int64_t valid;
  if (src->null_count == 0)
    valid = n;
  else if (src->null_count == src->length)
    valid = 0;
  else
    valid = count_set_bits(src->validity.data, from, n);
  FLOE_TRY(
      bits_append(&c->validity, c->length, src->validity.data, from, n, err));
  int w = col_type_width(c->type.id);
  if (c->type.id == COL_BOOL) {
    FLOE_TRY(
        bits_append(&c->values, c->length, src->values.data, from, n, err));
  } else if (w) {
    memcpy(c->values.data + c->values.len,
           src->values.data + (size_t)from * (size_t)w, (size_t)n * (size_t)w);
    c->values.len += (size_t)n * (size_t)w;
  } else {
    int32_t base = last_offset(c);
    int32_t sbase = so[from];
    int32_t delta = base - sbase; /* fits: both within 0..INT32_MAX */
    for (int64_t k = 1; k <= n; k++) push_offset(c, so[from + k] + delta);
    if (c->type.id == COL_LIST) {
      floe_status st = col_append_range(c->child, src->child, sbase,
                                        (int64_t)so[from + n] - sbase, err);
      if (st != FLOE_OK) {
        c->length += n;
        c->null_count += n - valid;
        col_truncate(c, old_len);
        return st;
      }
    } else if (nbytes) {
      memcpy(c->values.data + c->values.len, src->values.data + sbase, nbytes);
      c->values.len += nbytes;
    }
  }
  c->length += n;
  c->null_count += n - valid;
  return FLOE_OK;
}

bool col_value_equal(const col_column *a, int64_t i, const col_column *b,
                     int64_t j) {
  bool va = col_is_valid(a, i), vb = col_is_valid(b, j);
  if (!va || !vb) return va == vb;
  if (a->type.id != b->type.id) return false;
  int w = col_type_width(a->type.id);
  if (a->type.id == COL_BOOL) return col_get_bool(a, i) == col_get_bool(b, j);
  if (w)
    return memcmp(col_get_fixed(a, i, w), col_get_fixed(b, j, w), (size_t)w) ==
           0;
  const int32_t *oa = col_offsets(a), *ob = col_offsets(b);
  int32_t na = oa[i + 1] - oa[i], nb = ob[j + 1] - ob[j];
  if (na != nb) return false;
  if (a->type.id == COL_LIST) {
    for (int32_t k = 0; k < na; k++)
      if (!col_value_equal(a->child, oa[i] + k, b->child, ob[j] + k))
        return false;
    return true;
  }
  return na == 0 || memcmp(a->values.data + oa[i], b->values.data + ob[j],
                           (size_t)na) == 0;
}
