/* Puffin writer and reader; see puffin.h. The footer JSON uses jansson. */
#include "iceberg/puffin.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t PUFFIN_MAGIC[4] = {0x50, 0x46, 0x41, 0x31};

void ice_puffin_free(ice_puffin *p) {
  if (!p) return;
  for (int i = 0; i < p->nblobs; i++) {
    free(p->blobs[i].type);
    free(p->blobs[i].referenced_data_file);
  }
  free(p->blobs);
  free(p);
}

floe_status ice_puffin_write_dvs(ice_dv *const *dvs,
                                 const char *const *data_files, int n,
                                 const char *created_by, fbuf *out,
                                 ice_puffin_blob *blob_out, floe_error *err) {
  size_t base = out->len;
  FLOE_TRY(fbuf_append(out, PUFFIN_MAGIC, 4, err));
  json_t *blobs = json_array();
  json_t *root = json_object();
  if (!blobs || !root) {
    json_decref(blobs);
    json_decref(root);
    return ferr_nomem(err, 64);
  }
  floe_status st = FLOE_OK;
  for (int i = 0; i < n && st == FLOE_OK; i++) {
    size_t off = out->len - base;
    if ((st = ice_dv_serialize(dvs[i], out, err)) != FLOE_OK) break;
    size_t len = out->len - base - off;
    uint64_t card = ice_dv_cardinality(dvs[i]);
    char cardtxt[24];
    snprintf(cardtxt, sizeof cardtxt, "%llu", (unsigned long long)card);
    json_t *b = json_pack(
        "{s:s, s:[i], s:i, s:i, s:I, s:I, s:{s:s, s:s}}", "type",
        ICE_DV_BLOB_TYPE, "fields", (int)ICE_FIELD_ID_POS, "snapshot-id", -1,
        "sequence-number", -1, "offset", (json_int_t)off, "length",
        (json_int_t)len, "properties", "referenced-data-file", data_files[i],
        "cardinality", cardtxt);
    if (!b || json_array_append_new(blobs, b) != 0) {
      st = ferr_nomem(err, 64);
      break;
    }
    blob_out[i] = (ice_puffin_blob){(char *)ICE_DV_BLOB_TYPE,
                                    (char *)data_files[i],
                                    (int64_t)card,
                                    -1,
                                    -1,
                                    (int64_t)off,
                                    (int64_t)len,
                                    ICE_FIELD_ID_POS};
  }
  if (st == FLOE_OK) {
    json_object_set_new(root, "blobs", blobs);
    blobs = NULL;
    json_t *props =
        json_pack("{s:s}", "created-by", created_by ? created_by : "floe");
    json_object_set_new(root, "properties", props);
    char *payload = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!payload) {
      st = ferr_nomem(err, 64);
    } else {
      size_t plen = strlen(payload);
      uint32_t flags = 0;
      if ((st = fbuf_append(out, PUFFIN_MAGIC, 4, err)) == FLOE_OK &&
          (st = fbuf_append(out, payload, plen, err)) == FLOE_OK &&
          (st = fbuf_put_le32(out, (uint32_t)plen, err)) == FLOE_OK &&
          (st = fbuf_put_le32(out, flags, err)) == FLOE_OK)
        st = fbuf_append(out, PUFFIN_MAGIC, 4, err);
      free(payload);
    }
  }
  json_decref(blobs);
  json_decref(root);
  return st;
}

/* Reads an integer member; "required" ones must be present. */
static floe_status pf_int(json_t *o, const char *key, bool required,
                          int64_t dflt, int64_t *out, const char *name, int i,
                          floe_error *err) {
  json_t *v = json_object_get(o, key);
  if (!v) {
    if (required)
      return ferr_corrupt(err, "%s: puffin blob %d lacks \"%s\"", name, i, key);
    *out = dflt;
    return FLOE_OK;
  }
  if (!json_is_integer(v))
    return ferr_corrupt(err, "%s: puffin blob %d: \"%s\" is not an integer",
                        name, i, key);
  *out = json_integer_value(v);
  return FLOE_OK;
}

static char *pf_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static floe_status pf_blob(json_t *b, int i, size_t blob_end, const char *name,
                           ice_puffin_blob *out, floe_error *err) {
  if (!json_is_object(b))
    return ferr_corrupt(err, "%s: puffin blob %d is not an object", name, i);
  json_t *type = json_object_get(b, "type");
  json_t *fields = json_object_get(b, "fields");
  if (!json_is_string(type))
    return ferr_corrupt(err, "%s: puffin blob %d: \"type\" missing", name, i);
  if (!json_is_array(fields))
    return ferr_corrupt(err, "%s: puffin blob %d: \"fields\" missing", name, i);
  FLOE_TRY(pf_int(b, "snapshot-id", true, 0, &out->snapshot_id, name, i, err));
  FLOE_TRY(pf_int(b, "sequence-number", true, 0, &out->sequence_number, name, i,
                  err));
  FLOE_TRY(pf_int(b, "offset", true, 0, &out->offset, name, i, err));
  FLOE_TRY(pf_int(b, "length", true, 0, &out->length, name, i, err));
  if (out->offset < 4 || out->length < 0 || (uint64_t)out->offset > blob_end ||
      (uint64_t)out->length > blob_end - (uint64_t)out->offset)
    return ferr_corrupt(err,
                        "%s: puffin blob %d [%lld, +%lld) lies outside the "
                        "blob area [4, %zu)",
                        name, i, (long long)out->offset, (long long)out->length,
                        blob_end);
  json_t *f0 = json_array_get(fields, 0);
  out->field0 = json_is_integer(f0) ? (int32_t)json_integer_value(f0) : 0;
  if (json_object_get(b, "compression-codec") &&
      strcmp(json_string_value(type), ICE_DV_BLOB_TYPE) == 0)
    return ferr_corrupt(err, "%s: deletion vector blob %d is compressed", name,
                        i);
  out->cardinality = -1;
  json_t *props = json_object_get(b, "properties");
  if (props && json_is_object(props)) {
    json_t *ref = json_object_get(props, "referenced-data-file");
    json_t *card = json_object_get(props, "cardinality");
    if (json_is_string(ref)) {
      out->referenced_data_file = pf_strdup(json_string_value(ref));
      if (!out->referenced_data_file) return ferr_nomem(err, 64);
    }
    if (json_is_string(card)) {
      char *end;
      long long v = strtoll(json_string_value(card), &end, 10);
      if (*end || v < 0)
        return ferr_corrupt(err, "%s: puffin blob %d: bad cardinality", name,
                            i);
      out->cardinality = v;
    }
  }
  out->type = pf_strdup(json_string_value(type));
  if (!out->type) return ferr_nomem(err, 64);
  return FLOE_OK;
}

floe_status ice_puffin_read(const uint8_t *p, size_t n, const char *name,
                            ice_puffin **out, floe_error *err) {
  if (n < 4 + 4 + 12)
    return ferr_corrupt(err, "%s: %zu bytes is too short for a puffin file",
                        name, n);
  if (memcmp(p, PUFFIN_MAGIC, 4) != 0 || memcmp(p + n - 4, PUFFIN_MAGIC, 4))
    return ferr_corrupt(err, "%s: not a puffin file (bad magic)", name);
  uint32_t plen = fle32(p + n - 12);
  uint32_t flags = fle32(p + n - 8);
  if (flags & 1)
    return ferr_set(err, FLOE_EUNSUPPORTED,
                    "%s: compressed puffin footers (lz4) are not supported",
                    name);
  if ((size_t)plen > n - 4 - 4 - 12)
    return ferr_corrupt(err, "%s: footer payload size %u exceeds the file",
                        name, plen);
  size_t fstart = n - 12 - plen - 4;
  if (memcmp(p + fstart, PUFFIN_MAGIC, 4) != 0)
    return ferr_corrupt(err, "%s at offset %zu: bad footer magic", name,
                        fstart);
  json_error_t jerr;
  json_t *root = json_loadb((const char *)p + fstart + 4, plen, 0, &jerr);
  if (!root)
    return ferr_corrupt(err, "%s: footer JSON: %s (position %d)", name,
                        jerr.text, jerr.position);
  json_t *blobs = json_object_get(root, "blobs");
  if (!json_is_array(blobs)) {
    json_decref(root);
    return ferr_corrupt(err, "%s: footer lacks a \"blobs\" list", name);
  }
  ice_puffin *pf = calloc(1, sizeof *pf);
  size_t nb = json_array_size(blobs);
  if (pf) pf->blobs = calloc(nb ? nb : 1, sizeof *pf->blobs);
  if (!pf || !pf->blobs) {
    free(pf);
    json_decref(root);
    return ferr_nomem(err, nb * sizeof *pf->blobs);
  }
  floe_status st = FLOE_OK;
  for (size_t i = 0; i < nb && st == FLOE_OK; i++) {
    st = pf_blob(json_array_get(blobs, i), (int)i, fstart, name, &pf->blobs[i],
                 err);
    pf->nblobs = (int)i + 1;
  }
  json_decref(root);
  if (st != FLOE_OK) {
    ice_puffin_free(pf);
    return st;
  }
  *out = pf;
  return FLOE_OK;
}

floe_status ice_puffin_read_dv(const uint8_t *p, size_t n,
                               const ice_puffin_blob *b, ice_dv **out,
                               floe_error *err) {
  if (strcmp(b->type, ICE_DV_BLOB_TYPE) != 0)
    return ferr_set(err, FLOE_EINVAL, "puffin blob of type %s is not a DV",
                    b->type);
  if (b->offset < 0 || b->length < 0 || (uint64_t)b->offset > n ||
      (uint64_t)b->length > n - (uint64_t)b->offset)
    return ferr_corrupt(err, "puffin blob [%lld, +%lld) outside the file",
                        (long long)b->offset, (long long)b->length);
  FLOE_TRY(ice_dv_deserialize(p + b->offset, (size_t)b->length, out, err));
  if (b->cardinality >= 0 &&
      (uint64_t)b->cardinality != ice_dv_cardinality(*out)) {
    floe_status st = ferr_corrupt(
        err, "deletion vector holds %llu positions, metadata says %lld",
        (unsigned long long)ice_dv_cardinality(*out),
        (long long)b->cardinality);
    ice_dv_free(*out);
    *out = NULL;
    return st;
  }
  return FLOE_OK;
}
