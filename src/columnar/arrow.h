/*
 * Export of batches through the Arrow C Data Interface. The structs below are
 * the ABI from the Arrow specification ("The Arrow C data interface"); any
 * Arrow implementation imports them without copying.
 *
 * Exporting moves the batch's buffers into the exported ArrowArray: the batch
 * is consumed (freed) and the consumer calls array->release when done.
 */
#ifndef FLOE_COLUMNAR_ARROW_H
#define FLOE_COLUMNAR_ARROW_H

#include <stdint.h>

#include "columnar/batch.h"

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  const char *format;
  const char *name;
  const char *metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;
  void (*release)(struct ArrowSchema *);
  void *private_data;
};

struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void **buffers;
  struct ArrowArray **children;
  struct ArrowArray *dictionary;
  void (*release)(struct ArrowArray *);
  void *private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE

struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
  int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
  const char *(*get_last_error)(struct ArrowArrayStream *);
  void (*release)(struct ArrowArrayStream *);
  void *private_data;
};

#endif /* ARROW_C_STREAM_INTERFACE */

/* Exports schema as a struct type ("+s") with one child per field. Field ids
 * travel as "PARQUET:field_id" metadata (list elements too, on the child
 * "item"); uuid fields carry ARROW:extension:name = arrow.uuid. The caller
 * releases out. On failure out is left released (release == NULL). */
floe_status col_schema_export(const col_schema *s, struct ArrowSchema *out,
                              floe_error *err);

/* Exports batch as a struct array and frees the batch (its buffers now
 * belong to out: the exported buffers[] are the column buffers themselves).
 * The caller releases out. The batch is consumed even on failure (columns of
 * unequal length, no memory); out is then left released. */
floe_status col_batch_export(col_batch *b, struct ArrowArray *out,
                             floe_error *err);

/* A pull source of batches; the stream calls it until *out is NULL. */
typedef floe_status (*col_batch_source_fn)(void *ctx, col_batch **out,
                                           floe_error *err);

/* Wraps a batch source into an ArrowArrayStream. ctx_free (may be NULL) is
 * called with ctx when the stream is released. The schema is referenced.
 * Callbacks return 0 or an errno value (ENOMEM, EINVAL, EIO, ...);
 * get_last_error gives the floe_error message of the failed call. Batches
 * whose schema differs from the stream's are refused (EINVAL). If this
 * function fails, ctx still belongs to the caller. */
floe_status col_stream_export(col_schema *schema, col_batch_source_fn next,
                              void *ctx, void (*ctx_free)(void *),
                              struct ArrowArrayStream *out, floe_error *err);

#endif
