/*
 * Arrow C Data Interface export. Every exported node (schema or array)
 * carries a private block that owns what the node points at; the release
 * callback releases the children that are still live (a consumer may have
 * moved some out, which marks them released), frees the block and marks the
 * node released by setting release to NULL, as the specification requires.
 *
 * Arrays are zero-copy: the column buffers are taken out of the batch
 * (fbuf_take) and the exported buffers[] are those very pointers.
 */
#include "columnar/arrow.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- schema ---- */

typedef struct schema_priv {
  char *format;
  char *name;
  char *metadata;
  struct ArrowSchema **children; /* n_children structs we allocated */
  int64_t n_children;
} schema_priv;

static void release_schema(struct ArrowSchema *s) {
  if (!s || !s->release) return;
  schema_priv *p = s->private_data;
  if (p) {
    for (int64_t i = 0; i < p->n_children; i++) {
      struct ArrowSchema *ch = p->children[i];
      if (ch && ch->release) ch->release(ch);
      free(ch);
    }
    free(p->children);
    free(p->format);
    free(p->name);
    free(p->metadata);
    free(p);
  }
  s->release = NULL;
}

static char *dup_str(const char *s, floe_error *err) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (!d) {
    ferr_nomem(err, n);
    return NULL;
  }
  memcpy(d, s, n);
  return d;
}

/* Arrow's metadata encoding: int32 pair count, then per pair int32 key
 * length + key bytes and int32 value length + value bytes, native endian. */
static char *encode_metadata(const char *const *kv, int npairs,
                             floe_error *err) {
  fbuf b = FBUF_INIT;
  floe_status st = fbuf_put_le32(&b, (uint32_t)npairs, err);
  for (int i = 0; st == FLOE_OK && i < 2 * npairs; i++) {
    uint32_t n = (uint32_t)strlen(kv[i]);
    st = fbuf_put_le32(&b, n, err);
    if (st == FLOE_OK) st = fbuf_append(&b, kv[i], n, err);
  }
  if (st != FLOE_OK) {
    fbuf_free(&b);
    return NULL;
  }
  return (char *)fbuf_take(&b);
}

static void scalar_format(col_type id, int p, int s, char *out, size_t n) {
  const char *f = "";
  switch (id) {
  case COL_BOOL: f = "b"; break;
  case COL_INT16: f = "s"; break;
  case COL_INT32: f = "i"; break;
  case COL_INT64: f = "l"; break;
  case COL_FLOAT32: f = "f"; break;
  case COL_FLOAT64: f = "g"; break;
  case COL_DECIMAL: snprintf(out, n, "d:%d,%d", p, s); return;
  case COL_UTF8: f = "u"; break;
  case COL_BINARY: f = "z"; break;
  case COL_DATE: f = "tdD"; break;
  case COL_TIME: f = "ttu"; break;
  case COL_TIMESTAMP: f = "tsu:"; break;
  case COL_TIMESTAMPTZ: f = "tsu:UTC"; break;
  case COL_UUID: f = "w:16"; break;
  case COL_LIST: f = "+l"; break;
  case COL_TYPE_COUNT: break;
  }
  snprintf(out, n, "%s", f);
}

/* Fills *out as a node; on failure out stays released (release == NULL) and
 * nothing leaks. */
static floe_status schema_node(struct ArrowSchema *out, const char *format,
                               const char *name, int32_t field_id, bool has_id,
                               bool uuid, bool nullable, int64_t n_children,
                               floe_error *err) {
  memset(out, 0, sizeof *out);
  schema_priv *p = calloc(1, sizeof *p);
  if (!p) return ferr_nomem(err, sizeof *p);
  out->private_data = p;
  out->release = release_schema;
  p->format = dup_str(format, err);
  p->name = dup_str(name, err);
  if (!p->format || !p->name) goto fail;
  if (has_id) {
    char id[16];
    snprintf(id, sizeof id, "%d", (int)field_id);
    const char *kv[] = {"PARQUET:field_id",         id,
                        "ARROW:extension:name",     "arrow.uuid",
                        "ARROW:extension:metadata", ""};
    p->metadata = encode_metadata(kv, uuid ? 3 : 1, err);
    if (!p->metadata) goto fail;
  }
  if (n_children) {
    p->children = calloc((size_t)n_children, sizeof *p->children);
    if (!p->children) {
      ferr_nomem(err, (size_t)n_children * sizeof *p->children);
      goto fail;
    }
    p->n_children = n_children;
    for (int64_t i = 0; i < n_children; i++) {
      p->children[i] = calloc(1, sizeof **p->children);
      if (!p->children[i]) {
        ferr_nomem(err, sizeof **p->children);
        goto fail;
      }
    }
  }
  out->format = p->format;
  out->name = p->name;
  out->metadata = p->metadata;
  out->flags = nullable ? ARROW_FLAG_NULLABLE : 0;
  out->n_children = n_children;
  out->children = p->children;
  return FLOE_OK;
fail:
  release_schema(out); /* every failure above is an allocation */
  return FLOE_ENOMEM;
}

static floe_status field_export(const col_field *f, struct ArrowSchema *out,
                                floe_error *err) {
  char fmt[32];
  col_dtype t = f->type;
  scalar_format(t.id, t.precision, t.scale, fmt, sizeof fmt);
  FLOE_TRY(schema_node(out, fmt, f->name, f->id, true, t.id == COL_UUID,
                       f->nullable, t.id == COL_LIST, err));
  if (t.id == COL_LIST) {
    scalar_format(t.elem, t.elem_precision, t.elem_scale, fmt, sizeof fmt);
    floe_status st =
        schema_node(out->children[0], fmt, "item", f->elem_id, true,
                    t.elem == COL_UUID, f->elem_nullable, 0, err);
    if (st != FLOE_OK) {
      release_schema(out);
      return st;
    }
  }
  return FLOE_OK;
}

floe_status col_schema_export(const col_schema *s, struct ArrowSchema *out,
                              floe_error *err) {
  FLOE_TRY(schema_node(out, "+s", "", 0, false, false, false, s->nfields, err));
  for (int i = 0; i < s->nfields; i++) {
    floe_status st = field_export(&s->fields[i], out->children[i], err);
    if (st != FLOE_OK) {
      release_schema(out);
      return st;
    }
  }
  return FLOE_OK;
}

/* ---- arrays ---- */

typedef struct array_priv {
  uint8_t *owned[3]; /* the column buffers taken from the batch */
  const void *buffers[3];
  struct ArrowArray **children;
  int64_t n_children;
} array_priv;

/* Stand-in for empty value buffers: NULL is legal for zero-sized buffers
 * since Arrow 11, but older importers reject it, so they get a pointer to
 * zeros (read-only, never written, never freed). */
static const int64_t empty_buffer[2] = {0, 0};

static void release_array(struct ArrowArray *a) {
  if (!a || !a->release) return;
  array_priv *p = a->private_data;
  if (p) {
    for (int64_t i = 0; i < p->n_children; i++) {
      struct ArrowArray *ch = p->children[i];
      if (ch && ch->release) ch->release(ch);
      free(ch);
    }
    free(p->children);
    for (int i = 0; i < 3; i++) free(p->owned[i]);
    free(p);
  }
  a->release = NULL;
}

static floe_status array_node(struct ArrowArray *out, int64_t length,
                              int64_t null_count, int64_t n_buffers,
                              int64_t n_children, floe_error *err) {
  memset(out, 0, sizeof *out);
  array_priv *p = calloc(1, sizeof *p);
  if (!p) return ferr_nomem(err, sizeof *p);
  out->private_data = p;
  out->release = release_array;
  if (n_children) {
    p->children = calloc((size_t)n_children, sizeof *p->children);
    if (!p->children) {
      release_array(out);
      return ferr_nomem(err, (size_t)n_children * sizeof *p->children);
    }
    p->n_children = n_children;
    for (int64_t i = 0; i < n_children; i++) {
      p->children[i] = calloc(1, sizeof **p->children);
      if (!p->children[i]) {
        release_array(out);
        return ferr_nomem(err, sizeof **p->children);
      }
    }
  }
  out->length = length;
  out->null_count = null_count;
  out->n_buffers = n_buffers;
  out->buffers = p->buffers;
  out->n_children = n_children;
  out->children = p->children;
  return FLOE_OK;
}

/* Moves buffer b of the column into slot i of the node. */
static void move_buffer(struct ArrowArray *out, int i, fbuf *b, bool bitmap) {
  array_priv *p = out->private_data;
  p->owned[i] = fbuf_take(b);
  p->buffers[i] = p->owned[i];
  /* validity may stay NULL: only when null_count is 0, which the spec
   * allows */
  if (!p->buffers[i] && !bitmap) p->buffers[i] = empty_buffer;
}

static floe_status column_export(col_column *c, struct ArrowArray *out,
                                 floe_error *err) {
  col_type id = c->type.id;
  int64_t nbuf = (id == COL_UTF8 || id == COL_BINARY) ? 3 : 2;
  FLOE_TRY(
      array_node(out, c->length, c->null_count, nbuf, id == COL_LIST, err));
  move_buffer(out, 0, &c->validity, true);
  if (id == COL_LIST) {
    move_buffer(out, 1, &c->offsets, false);
    floe_status st = column_export(c->child, out->children[0], err);
    if (st != FLOE_OK) {
      release_array(out);
      return st;
    }
  } else if (nbuf == 3) {
    move_buffer(out, 1, &c->offsets, false);
    move_buffer(out, 2, &c->values, false);
  } else {
    move_buffer(out, 1, &c->values, false);
  }
  /* the column no longer owns anything; keep its bookkeeping consistent
   * with its (now empty) buffers */
  c->length = c->null_count = 0;
  return FLOE_OK;
}

floe_status col_batch_export(col_batch *b, struct ArrowArray *out,
                             floe_error *err) {
  memset(out, 0, sizeof *out);
  floe_status st = col_batch_seal(b, err);
  int n = b->schema->nfields;
  if (st == FLOE_OK) st = array_node(out, b->length, 0, 1, n, err);
  for (int i = 0; st == FLOE_OK && i < n; i++)
    st = column_export(&b->cols[i], out->children[i], err);
  if (st != FLOE_OK) release_array(out);
  col_batch_free(b);
  return st;
}

/* ---- streams ---- */

typedef struct stream_priv {
  col_schema *schema;
  col_batch_source_fn next;
  void *ctx;
  void (*ctx_free)(void *);
  bool failed; /* the last callback failed: err holds why */
  bool done;   /* the source said end of stream */
  floe_error err;
} stream_priv;

/* The stream interface speaks errno values. */
static int to_errno(floe_status st) {
  switch (st) {
  case FLOE_OK: return 0;
  case FLOE_ENOMEM: return ENOMEM;
  case FLOE_EINVAL: return EINVAL;
  case FLOE_ERANGE: return ERANGE;
  case FLOE_ENOTFOUND: return ENOENT;
  case FLOE_EUNSUPPORTED: return ENOSYS;
  case FLOE_EEXIST: return EEXIST;
  case FLOE_ECONFLICT: return EAGAIN;
  case FLOE_ETIMEDOUT: return ETIMEDOUT;
  case FLOE_EIO:
  case FLOE_ECORRUPT:
  case FLOE_EEOF: break;
  }
  return EIO;
}

static int stream_result(stream_priv *p, floe_status st) {
  p->failed = st != FLOE_OK;
  return to_errno(st);
}

static int stream_get_schema(struct ArrowArrayStream *s,
                             struct ArrowSchema *out) {
  stream_priv *p = s->private_data;
  return stream_result(p, col_schema_export(p->schema, out, &p->err));
}

static bool same_schema(const col_schema *a, const col_schema *b) {
  if (a == b) return true;
  if (a->nfields != b->nfields) return false;
  for (int i = 0; i < a->nfields; i++) {
    const col_field *x = &a->fields[i], *y = &b->fields[i];
    if (x->id != y->id || memcmp(&x->type, &y->type, sizeof x->type) != 0 ||
        strcmp(x->name, y->name) != 0)
      return false;
  }
  return true;
}

static int stream_get_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  stream_priv *p = s->private_data;
  memset(out, 0, sizeof *out); /* release == NULL marks the end */
  if (p->done) return stream_result(p, FLOE_OK);
  col_batch *b = NULL;
  floe_status st = p->next(p->ctx, &b, &p->err);
  if (st != FLOE_OK) {
    col_batch_free(b);
    return stream_result(p, st);
  }
  if (!b) {
    p->done = true;
    return stream_result(p, FLOE_OK);
  }
  if (!same_schema(b->schema, p->schema)) {
    col_batch_free(b);
    return stream_result(p, ferr_set(&p->err, FLOE_EINVAL,
                                     "stream: the source returned a batch "
                                     "whose schema differs from the stream's"));
  }
  return stream_result(p, col_batch_export(b, out, &p->err));
}

static const char *stream_last_error(struct ArrowArrayStream *s) {
  stream_priv *p = s->private_data;
  return p->failed ? p->err.msg : NULL;
}

static void stream_release(struct ArrowArrayStream *s) {
  if (!s || !s->release) return;
  stream_priv *p = s->private_data;
  if (p->ctx_free) p->ctx_free(p->ctx);
  col_schema_unref(p->schema);
  free(p);
  s->release = NULL;
}

floe_status col_stream_export(col_schema *schema, col_batch_source_fn next,
                              void *ctx, void (*ctx_free)(void *),
                              struct ArrowArrayStream *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  stream_priv *p = calloc(1, sizeof *p);
  if (!p) return ferr_nomem(err, sizeof *p);
  p->schema = col_schema_ref(schema);
  p->next = next;
  p->ctx = ctx;
  p->ctx_free = ctx_free;
  out->get_schema = stream_get_schema;
  out->get_next = stream_get_next;
  out->get_last_error = stream_last_error;
  out->release = stream_release;
  out->private_data = p;
  return FLOE_OK;
}
