/*
 * Page compression: zstd, snappy, gzip (zlib) and none, behind one pair of
 * calls so the writer and reader never name a library.
 */
#ifndef FLOE_PARQUET_CODEC_H
#define FLOE_PARQUET_CODEC_H

#include "parquet/parquet.h"

/* Upper bound of the compressed size of n bytes. */
size_t pq_codec_bound(pq_codec c, size_t n);

/* Compresses src into dst (capacity dst_cap >= pq_codec_bound). *dst_len
 * gets the compressed size. level 0 = the codec's default. zctx (may be NULL)
 * is a reusable ZSTD_CCtx*, owned by the caller. */
floe_status pq_compress(pq_codec c, int level, void *zctx, const void *src,
                        size_t n, void *dst, size_t dst_cap, size_t *dst_len,
                        floe_error *err);

/* Decompresses src into dst, which must receive exactly dst_len bytes (the
 * page header's uncompressed size); anything else is corruption. zctx (may
 * be NULL) is a reusable ZSTD_DCtx*. */
floe_status pq_decompress(pq_codec c, void *zctx, const void *src, size_t n,
                          void *dst, size_t dst_len, floe_error *err);

/* Context helpers so callers can reuse zstd state across pages. The caller
 * owns the returned context and frees it with the matching _free (NULL is
 * a no-op); NULL means out of memory, and the codec calls then fall back to
 * one-shot (de)compression. */
void *pq_zstd_cctx_new(void);
void pq_zstd_cctx_free(void *ctx);
void *pq_zstd_dctx_new(void);
void pq_zstd_dctx_free(void *ctx);

#endif
