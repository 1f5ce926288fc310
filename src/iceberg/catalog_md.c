/*
 * The thin layer between the catalog (bytes) and metadata.h (parsed
 * metadata): serialise on the way in, (inflate and) parse on the way out.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "iceberg/catalog.h"
#include "iceberg/metadata.h"

/* Inflates a gzip member into out, refusing more than
 * ICE_CATALOG_MAX_METADATA bytes. */
static floe_status gunzip(const uint8_t *p, size_t n, const char *name,
                          fbuf *out, floe_error *err) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
    return ferr_set(err, FLOE_ENOMEM, "%s: inflateInit failed", name);
  floe_status st = FLOE_OK;
  size_t in_left = n;
  z.next_in = (Bytef *)p;
  for (;;) {
    if (z.avail_in == 0 && in_left > 0) {
      uInt chunk = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
      z.avail_in = chunk;
      in_left -= chunk;
    }
    if (out->len >= ICE_CATALOG_MAX_METADATA) {
      st = ferr_set(err, FLOE_ENOMEM, "%s inflates past %zu bytes", name,
                    ICE_CATALOG_MAX_METADATA);
      break;
    }
    size_t room = n * 4 + 4096;
    if (room > ICE_CATALOG_MAX_METADATA - out->len)
      room = ICE_CATALOG_MAX_METADATA - out->len;
    if (room > (1u << 30)) room = 1u << 30;
    if ((st = fbuf_reserve(out, room, err)) != FLOE_OK) break;
    z.next_out = out->data + out->len;
    z.avail_out = (uInt)room;
    int rc = inflate(&z, Z_NO_FLUSH);
    out->len += room - z.avail_out;
    if (rc == Z_STREAM_END) {
      if (z.avail_in > 0 || in_left > 0)
        st = ferr_corrupt(err, "%s: bytes after the gzip stream at offset %zu",
                          name, n - in_left - z.avail_in);
      break;
    }
    if (rc != Z_OK) {
      st = ferr_corrupt(err, "%s: bad gzip data near offset %zu: %s", name,
                        n - in_left - z.avail_in, z.msg ? z.msg : "?");
      break;
    }
    if (z.avail_in == 0 && in_left == 0 && z.avail_out != 0) {
      st = ferr_corrupt(err, "%s: truncated gzip data", name);
      break;
    }
  }
  inflateEnd(&z);
  return st;
}

floe_status ice_catalog_load_table(ice_catalog *c, const char *ns,
                                   const char *name, ice_metadata **md,
                                   char **metadata_location, floe_error *err) {
  *md = NULL;
  if (metadata_location) *metadata_location = NULL;
  ice_catalog_table t;
  FLOE_TRY(ice_catalog_load(c, ns, name, &t, err));
  const uint8_t *p = t.metadata.data;
  size_t n = t.metadata.len;
  fbuf plain = FBUF_INIT;
  floe_status st = FLOE_OK;
  if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
    st = gunzip(p, n, t.metadata_location, &plain, err);
    p = plain.data;
    n = plain.len;
  }
  if (st == FLOE_OK)
    st = ice_metadata_parse((const char *)p, n, t.metadata_location, md, err);
  fbuf_free(&plain);
  if (st == FLOE_OK && metadata_location) {
    *metadata_location = t.metadata_location;
    t.metadata_location = NULL;
  }
  ice_catalog_table_free(&t);
  return st;
}

floe_status ice_catalog_create_table(ice_catalog *c, const char *ns,
                                     const char *name, const ice_metadata *md,
                                     char **metadata_location,
                                     floe_error *err) {
  if (metadata_location) *metadata_location = NULL;
  char *want = NULL;
  FLOE_TRY(ice_catalog_table_location(c, ns, name, &want, err));
  floe_status st = FLOE_OK;
  /* purge and every reader find the files through this location */
  if (!md->location || strcmp(md->location, want) != 0)
    st = ferr_set(err, FLOE_EINVAL,
                  "create %s.%s: metadata location is %s, want %s", ns, name,
                  md->location ? md->location : "(none)", want);
  free(want);
  FLOE_TRY(st);
  fbuf b = FBUF_INIT;
  st = ice_metadata_write(md, false, &b, err);
  if (st == FLOE_OK)
    st = ice_catalog_create(c, ns, name, b.data, b.len, metadata_location, err);
  fbuf_free(&b);
  return st;
}

floe_status ice_catalog_commit_table(ice_catalog *c, const char *ns,
                                     const char *name, const char *expected,
                                     const ice_metadata *md,
                                     char **metadata_location,
                                     floe_error *err) {
  if (metadata_location) *metadata_location = NULL;
  fbuf b = FBUF_INIT;
  floe_status st = ice_metadata_write(md, false, &b, err);
  if (st == FLOE_OK)
    st = ice_catalog_commit(c, ns, name, expected, b.data, b.len,
                            metadata_location, err);
  fbuf_free(&b);
  return st;
}
