/*
 * The object-store interface: the only way floe's upper layers touch bytes at
 * rest. Keys are '/'-separated relative paths ("ns/tbl/data/x.parquet").
 *
 * Semantics every implementation keeps:
 *   - put and put-if-absent are atomic: a reader sees the old object, or the
 *     whole new one, never a part; put_if_absent fails with FLOE_EEXIST when
 *     the key exists (that is how two committers never both win).
 *   - an object is durable when put returns (local fs: fsync file + dir).
 *   - large objects are written through a writer (fstore_writer_*) that
 *     becomes visible only at commit.
 *
 * The local filesystem (store_fs.c) is the default; S3 comes later behind the
 * same vtable.
 */
#ifndef FLOE_STORAGE_STORE_H
#define FLOE_STORAGE_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct fstore fstore;
typedef struct fstore_writer fstore_writer;

/* Called once per key by fstore_list; a non-OK status stops the listing. */
typedef floe_status (*fstore_list_fn)(void *ctx, const char *key, uint64_t size,
                                      floe_error *err);

typedef struct fstore_ops {
  floe_status (*put)(fstore *s, const char *key, const void *p, size_t n,
                     bool if_absent, floe_error *err);
  floe_status (*get_range)(fstore *s, const char *key, uint64_t off, void *buf,
                           size_t n, floe_error *err);
  floe_status (*size)(fstore *s, const char *key, uint64_t *out,
                      floe_error *err);
  floe_status (*list)(fstore *s, const char *prefix, fstore_list_fn fn,
                      void *ctx, floe_error *err);
  floe_status (*del)(fstore *s, const char *key, floe_error *err);
  floe_status (*writer_open)(fstore *s, const char *key, fstore_writer **out,
                             floe_error *err);
  floe_status (*writer_write)(fstore_writer *w, const void *p, size_t n,
                              floe_error *err);
  floe_status (*writer_commit)(fstore_writer *w, bool if_absent,
                               floe_error *err);
  void (*writer_abort)(fstore_writer *w);
  void (*free)(fstore *s);
} fstore_ops;

struct fstore {
  const fstore_ops *ops;
};

/* Implementations embed this first in their writer struct. */
struct fstore_writer {
  fstore *store;
};

/* Opens the local-filesystem store rooted at dir (created if missing).
 * Caller frees with fstore_free. */
floe_status fstore_fs_open(const char *dir, fstore **out, floe_error *err);

static inline floe_status fstore_put(fstore *s, const char *key, const void *p,
                                     size_t n, floe_error *err) {
  return s->ops->put(s, key, p, n, false, err);
}
static inline floe_status fstore_put_if_absent(fstore *s, const char *key,
                                               const void *p, size_t n,
                                               floe_error *err) {
  return s->ops->put(s, key, p, n, true, err);
}
/* Reads exactly n bytes at off; a short object is FLOE_ECORRUPT. */
static inline floe_status fstore_get_range(fstore *s, const char *key,
                                           uint64_t off, void *buf, size_t n,
                                           floe_error *err) {
  return s->ops->get_range(s, key, off, buf, n, err);
}
static inline floe_status fstore_size(fstore *s, const char *key, uint64_t *out,
                                      floe_error *err) {
  return s->ops->size(s, key, out, err);
}
/* Every key starting with prefix, in no particular order. */
static inline floe_status fstore_list(fstore *s, const char *prefix,
                                      fstore_list_fn fn, void *ctx,
                                      floe_error *err) {
  return s->ops->list(s, prefix, fn, ctx, err);
}
/* Deleting a missing key is FLOE_ENOTFOUND. */
static inline floe_status fstore_del(fstore *s, const char *key,
                                     floe_error *err) {
  return s->ops->del(s, key, err);
}
static inline void fstore_free(fstore *s) {
  if (s) s->ops->free(s);
}

/* Reads a whole object into out (appended). max caps its size. */
floe_status fstore_get_all(fstore *s, const char *key, size_t max, fbuf *out,
                           floe_error *err);

/* Streaming writes. The object appears at commit (atomically); abort (or a
 * failed commit) leaves nothing behind. Both commit and abort free w. */
static inline floe_status fstore_writer_open(fstore *s, const char *key,
                                             fstore_writer **out,
                                             floe_error *err) {
  return s->ops->writer_open(s, key, out, err);
}
floe_status fstore_writer_write(fstore_writer *w, const void *p, size_t n,
                                floe_error *err);
floe_status fstore_writer_commit(fstore_writer *w, bool if_absent,
                                 floe_error *err);
void fstore_writer_abort(fstore_writer *w);

#endif
