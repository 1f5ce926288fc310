/*
 * Puffin files (puffin-spec.md): Magic Blob1..BlobN Footer, where Footer is
 * Magic JSON-payload u32-LE-payload-size u32-LE-flags Magic.
 *
 * floe writes one Puffin file per commit holding the deletion vectors
 * (`deletion-vector-v1` blobs) of every data file that gained deletes, and
 * reads any Puffin file whose footer is uncompressed.
 */
#ifndef FLOE_ICEBERG_PUFFIN_H
#define FLOE_ICEBERG_PUFFIN_H

#include "iceberg/dv.h"

#define ICE_DV_BLOB_TYPE "deletion-vector-v1"
/* The reserved field id of the row position (_pos) column. */
#define ICE_FIELD_ID_POS 2147483645

typedef struct ice_puffin_blob {
  char *type;                 /* owned */
  char *referenced_data_file; /* owned; NULL when the blob has none */
  int64_t cardinality;        /* -1 when absent */
  int64_t snapshot_id;
  int64_t sequence_number;
  int64_t offset;
  int64_t length;
  int32_t field0; /* first entry of "fields", or 0 */
} ice_puffin_blob;

typedef struct ice_puffin {
  int nblobs;
  ice_puffin_blob *blobs;
} ice_puffin;

void ice_puffin_free(ice_puffin *p);

/* Writes a complete Puffin file with one DV blob per data file into out
 * (appended; out should start empty so offsets are file offsets). On
 * success blob_out[i] gets the offset/length/cardinality of dvs[i] (its
 * strings borrow data_files[i]: do not free them with ice_puffin_free).
 * Each DV is run-optimized in place. */
floe_status ice_puffin_write_dvs(ice_dv *const *dvs,
                                 const char *const *data_files, int n,
                                 const char *created_by, fbuf *out,
                                 ice_puffin_blob *blob_out, floe_error *err);

/* Parses and validates the footer of the whole file in p[0..n): magics,
 * sizes, flags, JSON fields, every blob inside the blob area. name is used
 * in error messages. Caller frees *out with ice_puffin_free. */
floe_status ice_puffin_read(const uint8_t *p, size_t n, const char *name,
                            ice_puffin **out, floe_error *err);

/* Decodes blob b of the file p[0..n) as a deletion vector. */
floe_status ice_puffin_read_dv(const uint8_t *p, size_t n,
                               const ice_puffin_blob *b, ice_dv **out,
                               floe_error *err);

#endif
