/*
 * Internals shared by reader.c and describe.c: the reader object and the
 * mapping of Parquet leaf columns to floe fields. Not part of any contract.
 */
#ifndef FLOE_PARQUET_READER_INT_H
#define FLOE_PARQUET_READER_INT_H

#include "parquet/decode.h"
#include "parquet/footer.h"
#include "parquet/parquet.h"

/* How a leaf's physical values become floe values. */
typedef enum pq_conv {
  PQC_BOOL,
  PQC_I16,     /* INT32 -> int16 (range-checked) */
  PQC_I32,     /* INT32 -> int32 / date */
  PQC_U32,     /* INT32 holding UINT_32 -> int64 */
  PQC_I32_MUL, /* INT32 * mul -> int64 (TIME_MILLIS) */
  PQC_I64,     /* INT64 -> int64, times mul or floor-divided by div */
  PQC_F32,
  PQC_F64,
  PQC_DEC32,
  PQC_DEC64,
  PQC_DEC_BYTES, /* big-endian two's complement (BYTE_ARRAY or FLBA) */
  PQC_BYTES,     /* utf8 / binary */
  PQC_UUID,
} pq_conv;

/* One top-level field of the file and the leaf column that stores it. */
typedef struct pq_leaf {
  col_field field; /* name borrowed from the footer */
  bool supported;
  bool id_given, elem_id_given; /* field_id present in the file */
  char why[160];                /* why not, when !supported */
  int chunk;                    /* column chunk index in each row group */
  int elem;                     /* schema element index of the leaf */
  int phys;
  int32_t type_length;
  col_dtype vtype; /* the scalar type of the values (list: element) */
  pq_conv conv;
  int64_t mul, div;
  bool is_list;
  int max_def, max_rep;
  int list_def; /* list: def level of an empty list */
  int elem_def; /* list: def level of a null element */
} pq_leaf;

typedef struct pq_colr pq_colr;

struct pq_reader {
  pq_source src;
  int fd; /* owned when opened by path, else -1 */
  char *name;
  int64_t batch_rows;
  pq_skip_fn skip;
  void *skip_ctx;
  size_t max_alloc;
  uint64_t data_end; /* first byte of the footer */
  pq_footer f;
  int nleaves_total; /* leaf columns in the file (chunks per row group) */
  pq_leaf *fields;   /* top-level fields of the file */
  int nfields;
  col_schema *schema; /* projected */
  pq_colr *cols;      /* one per projected field */
  int ncols;
  /* position */
  int rg;
  bool rg_loaded;
  int64_t rg_row;   /* rows of the current row group done */
  int64_t row_base; /* file row of the current row group's first row */
  bool ranged;      /* only rows [range_first, range_end) (set_rows) */
  int64_t range_first, range_end;
  uint8_t *live;
  void *zdctx;
  floe_status failed;
};

/* Appends one PLAIN-encoded physical value (as in Statistics, without a
 * length prefix) of leaf l to dst, converted like page values. */
floe_status pq_leaf_append_plain(const pq_leaf *l, const uint8_t *p, size_t n,
                                 col_column *dst, floe_error *err);

#endif
