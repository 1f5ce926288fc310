/* Compression codecs for Parquet pages. */
#include "parquet/codec.h"

#include <snappy-c.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

int pq_codec_parse(const char *s) {
  if (strcasecmp(s, "zstd") == 0) return PQ_CODEC_ZSTD;
  if (strcasecmp(s, "snappy") == 0) return PQ_CODEC_SNAPPY;
  if (strcasecmp(s, "gzip") == 0) return PQ_CODEC_GZIP;
  if (strcasecmp(s, "none") == 0 || strcasecmp(s, "uncompressed") == 0)
    return PQ_CODEC_NONE;
  return -1;
}

const char *pq_codec_name(pq_codec c) {
  switch (c) {
  case PQ_CODEC_NONE: return "UNCOMPRESSED";
  case PQ_CODEC_SNAPPY: return "SNAPPY";
  case PQ_CODEC_GZIP: return "GZIP";
  case PQ_CODEC_ZSTD: return "ZSTD";
  }
  return "UNKNOWN";
}

size_t pq_codec_bound(pq_codec c, size_t n) {
  switch (c) {
  case PQ_CODEC_NONE: return n;
  case PQ_CODEC_SNAPPY: return snappy_max_compressed_length(n);
  case PQ_CODEC_GZIP: return compressBound((uLong)n) + 32;
  case PQ_CODEC_ZSTD: return ZSTD_compressBound(n);
  }
  return n;
}

void *pq_zstd_cctx_new(void) { return ZSTD_createCCtx(); }
void pq_zstd_cctx_free(void *ctx) { ZSTD_freeCCtx(ctx); }
void *pq_zstd_dctx_new(void) { return ZSTD_createDCtx(); }
void pq_zstd_dctx_free(void *ctx) { ZSTD_freeDCtx(ctx); }

/* gzip framing (not raw deflate or zlib): windowBits 15 + 16 */
static floe_status gzip_compress(int level, const void *src, size_t n,
                                 void *dst, size_t cap, size_t *out,
                                 floe_error *err) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                   15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return ferr_set(err, FLOE_ENOMEM, "gzip: deflateInit failed");
  z.next_in = (Bytef *)(uintptr_t)src;
  z.avail_in = (uInt)n;
  z.next_out = dst;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  *out = z.total_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END)
    return ferr_set(err, FLOE_EIO, "gzip: deflate failed (%d)", rc);
  return FLOE_OK;
}

static floe_status gzip_decompress(const void *src, size_t n, void *dst,
                                   size_t len, floe_error *err) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 32) != Z_OK)
    return ferr_set(err, FLOE_ENOMEM, "gzip: inflateInit failed");
  z.next_in = (Bytef *)(uintptr_t)src;
  z.avail_in = (uInt)n;
  z.next_out = dst;
  z.avail_out = (uInt)len;
  int rc = inflate(&z, Z_FINISH);
  size_t got = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || got != len)
    return ferr_corrupt(err, "gzip page does not inflate to %zu bytes", len);
  return FLOE_OK;
}

floe_status pq_compress(pq_codec c, int level, void *zctx, const void *src,
                        size_t n, void *dst, size_t dst_cap, size_t *dst_len,
                        floe_error *err) {
  switch (c) {
  case PQ_CODEC_NONE:
    if (dst_cap < n) return ferr_set(err, FLOE_EINVAL, "codec: dst too small");
    memcpy(dst, src, n);
    *dst_len = n;
    return FLOE_OK;
  case PQ_CODEC_SNAPPY: {
    size_t out = dst_cap;
    if (snappy_compress(src, n, dst, &out) != SNAPPY_OK)
      return ferr_set(err, FLOE_EIO, "snappy: compression failed");
    *dst_len = out;
    return FLOE_OK;
  }
  case PQ_CODEC_GZIP:
    return gzip_compress(level, src, n, dst, dst_cap, dst_len, err);
  case PQ_CODEC_ZSTD: {
    size_t r =
        zctx ? ZSTD_compressCCtx(zctx, dst, dst_cap, src, n, level ? level : 3)
             : ZSTD_compress(dst, dst_cap, src, n, level ? level : 3);
    if (ZSTD_isError(r))
      return ferr_set(err, FLOE_EIO, "zstd: %s", ZSTD_getErrorName(r));
    *dst_len = r;
    return FLOE_OK;
  }
  }
  return ferr_set(err, FLOE_EUNSUPPORTED, "codec %d not supported", (int)c);
}

floe_status pq_decompress(pq_codec c, void *zctx, const void *src, size_t n,
                          void *dst, size_t dst_len, floe_error *err) {
  switch (c) {
  case PQ_CODEC_NONE:
    if (n != dst_len)
      return ferr_corrupt(
          err, "uncompressed page is %zu bytes, header says %zu", n, dst_len);
    memcpy(dst, src, n);
    return FLOE_OK;
  case PQ_CODEC_SNAPPY: {
    size_t out;
    if (snappy_uncompressed_length(src, n, &out) != SNAPPY_OK || out != dst_len)
      return ferr_corrupt(err, "snappy page does not expand to %zu bytes",
                          dst_len);
    if (snappy_uncompress(src, n, dst, &out) != SNAPPY_OK || out != dst_len)
      return ferr_corrupt(err, "snappy page is corrupt");
    return FLOE_OK;
  }
  case PQ_CODEC_GZIP: return gzip_decompress(src, n, dst, dst_len, err);
  case PQ_CODEC_ZSTD: {
    size_t r = zctx ? ZSTD_decompressDCtx(zctx, dst, dst_len, src, n)
                    : ZSTD_decompress(dst, dst_len, src, n);
    if (ZSTD_isError(r))
      return ferr_corrupt(err, "zstd page: %s", ZSTD_getErrorName(r));
    if (r != dst_len)
      return ferr_corrupt(
          err, "zstd page expands to %zu bytes, header says %zu", r, dst_len);
    return FLOE_OK;
  }
  }
  return ferr_set(err, FLOE_EUNSUPPORTED, "compression codec %d not supported",
                  (int)c);
}
