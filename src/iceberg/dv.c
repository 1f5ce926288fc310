/*
 * Deletion vectors on top of CRoaring's 32-bit bitmaps. See dv.h for the
 * byte layout. Deletes arrive mostly in ascending file positions and almost
 * always below 2^32, so the key array is tiny (usually one entry) and a
 * lookup is a short scan.
 */
#include "iceberg/dv.h"

#include <roaring/roaring.h>
#include <stdlib.h>

#include "util/hash.h"

#define DV_MAGIC0 0xD1
#define DV_MAGIC1 0xD3
#define DV_MAGIC2 0x39
#define DV_MAGIC3 0x64

struct ice_dv {
  int n, cap;
  uint32_t *keys;          /* ascending */
  roaring_bitmap_t **maps; /* maps[i] holds low halves for keys[i] */
};

floe_status ice_dv_new(ice_dv **out, floe_error *err) {
  ice_dv *dv = calloc(1, sizeof *dv);
  if (!dv) return ferr_nomem(err, sizeof *dv);
  *out = dv;
  return FLOE_OK;
}

void ice_dv_free(ice_dv *dv) {
  if (!dv) return;
  for (int i = 0; i < dv->n; i++) roaring_bitmap_free(dv->maps[i]);
  free(dv->keys);
  free(dv->maps);
  free(dv);
}

/* Index of key, or -(insertion point) - 1. */
static int dv_find(const ice_dv *dv, uint32_t key) {
  int lo = 0, hi = dv->n - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2;
    if (dv->keys[mid] == key) return mid;
    if (dv->keys[mid] < key)
      lo = mid + 1;
    else
      hi = mid - 1;
  }
  return -lo - 1;
}

/* The bitmap for key, created (empty) when missing. */
static floe_status dv_slot(ice_dv *dv, uint32_t key, roaring_bitmap_t **out,
                           floe_error *err) {
  int i = dv_find(dv, key);
  if (i >= 0) {
    *out = dv->maps[i];
    return FLOE_OK;
  }
  i = -i - 1;
  if (dv->n == dv->cap) {
    int cap = dv->cap ? dv->cap * 2 : 4;
    uint32_t *k = realloc(dv->keys, (size_t)cap * sizeof *k);
    if (!k) return ferr_nomem(err, (size_t)cap * sizeof *k);
    dv->keys = k;
    roaring_bitmap_t **m = realloc(dv->maps, (size_t)cap * sizeof *m);
    if (!m) return ferr_nomem(err, (size_t)cap * sizeof *m);
    dv->maps = m;
    dv->cap = cap;
  }
  roaring_bitmap_t *r = roaring_bitmap_create();
  if (!r) return ferr_nomem(err, sizeof(void *));
  memmove(dv->keys + i + 1, dv->keys + i,
          (size_t)(dv->n - i) * sizeof *dv->keys);
  memmove(dv->maps + i + 1, dv->maps + i,
          (size_t)(dv->n - i) * sizeof *dv->maps);
  dv->keys[i] = key;
  dv->maps[i] = r;
  dv->n++;
  *out = r;
  return FLOE_OK;
}

floe_status ice_dv_add(ice_dv *dv, uint64_t pos, floe_error *err) {
  if (pos >> 63)
    return ferr_set(err, FLOE_ERANGE, "deletion vector: position %llu >= 2^63",
                    (unsigned long long)pos);
  roaring_bitmap_t *r;
  FLOE_TRY(dv_slot(dv, (uint32_t)(pos >> 32), &r, err));
  roaring_bitmap_add(r, (uint32_t)pos);
  return FLOE_OK;
}

bool ice_dv_contains(const ice_dv *dv, uint64_t pos) {
  int i = dv_find(dv, (uint32_t)(pos >> 32));
  return i >= 0 && roaring_bitmap_contains(dv->maps[i], (uint32_t)pos);
}

uint64_t ice_dv_cardinality(const ice_dv *dv) {
  uint64_t n = 0;
  for (int i = 0; i < dv->n; i++)
    n += roaring_bitmap_get_cardinality(dv->maps[i]);
  return n;
}

floe_status ice_dv_merge(ice_dv *dst, const ice_dv *src, floe_error *err) {
  for (int i = 0; i < src->n; i++) {
    roaring_bitmap_t *r;
    FLOE_TRY(dv_slot(dst, src->keys[i], &r, err));
    roaring_bitmap_or_inplace(r, src->maps[i]);
  }
  return FLOE_OK;
}

typedef struct dv_iter {
  uint64_t high;
  bool (*fn)(void *ctx, uint64_t pos);
  void *ctx;
} dv_iter;

static bool dv_iter_one(uint32_t low, void *arg) {
  dv_iter *it = arg;
  return it->fn(it->ctx, it->high | low);
}

void ice_dv_iterate(const ice_dv *dv, bool (*fn)(void *ctx, uint64_t pos),
                    void *ctx) {
  for (int i = 0; i < dv->n; i++) {
    dv_iter it = {(uint64_t)dv->keys[i] << 32, fn, ctx};
    if (!roaring_iterate(dv->maps[i], dv_iter_one, &it)) return;
  }
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

floe_status ice_dv_serialize(ice_dv *dv, fbuf *out, floe_error *err) {
  /* empty bitmaps (possible after none were added to a slot) are dropped */
  uint64_t count = 0;
  size_t vec = 8;
  for (int i = 0; i < dv->n; i++) {
    if (roaring_bitmap_is_empty(dv->maps[i])) continue;
    roaring_bitmap_run_optimize(dv->maps[i]);
    vec += 4 + roaring_bitmap_portable_size_in_bytes(dv->maps[i]);
    count++;
  }
  if (vec + 4 > UINT32_MAX)
    return ferr_set(err, FLOE_ERANGE, "deletion vector too large (%zu bytes)",
                    vec);
  size_t start = out->len;
  FLOE_TRY(fbuf_reserve(out, 4 + 4 + vec + 4, err));
  uint8_t *p = out->data + start;
  put_be32(p, (uint32_t)(4 + vec));
  p[4] = DV_MAGIC0;
  p[5] = DV_MAGIC1;
  p[6] = DV_MAGIC2;
  p[7] = DV_MAGIC3;
  memcpy(p + 8, &count, 8);
  size_t off = 16;
  for (int i = 0; i < dv->n; i++) {
    if (roaring_bitmap_is_empty(dv->maps[i])) continue;
    memcpy(p + off, &dv->keys[i], 4);
    off += 4;
    off += roaring_bitmap_portable_serialize(dv->maps[i], (char *)p + off);
  }
  put_be32(p + off, fcrc32(0, p + 4, off - 4));
  out->len = start + off + 4;
  return FLOE_OK;
}

/* CRoaring 0.2.66's _safe only bounds reads; the structure (sorted arrays,
 * non-overlapping runs) is checked here by walking the values. */
typedef struct dv_check {
  bool first;
  uint32_t last;
  uint64_t count;
  bool ok;
} dv_check;

static bool dv_check_one(uint32_t v, void *arg) {
  dv_check *c = arg;
  if (!c->first && v <= c->last) {
    c->ok = false;
    return false;
  }
  c->first = false;
  c->last = v;
  c->count++;
  return true;
}

floe_status ice_dv_deserialize(const uint8_t *p, size_t n, ice_dv **out,
                               floe_error *err) {
  fcur c = fcur_make(p, n, "deletion vector", 0);
  uint32_t len;
  FLOE_TRY(fcur_be32(&c, &len, err));
  if (len < 12 || len != n - 8)
    return fcur_fail(&c, err, "length field %u does not match blob size %zu",
                     len, n);
  const uint8_t *body = p + 4;
  if (body[0] != DV_MAGIC0 || body[1] != DV_MAGIC1 || body[2] != DV_MAGIC2 ||
      body[3] != DV_MAGIC3)
    return fcur_fail(&c, err, "bad magic (want D1 D3 39 64)");
  uint32_t want = fbe32(p + 4 + len);
  uint32_t got = fcrc32(0, body, len);
  if (want != got)
    return ferr_corrupt(err,
                        "deletion vector: CRC mismatch (stored %08x, "
                        "computed %08x)",
                        want, got);
  c = fcur_make(body, len, "deletion vector", 4);
  FLOE_TRY(fcur_skip(&c, 4, err));
  uint64_t count;
  FLOE_TRY(fcur_le64(&c, &count, err));
  /* each bitmap takes at least 4 (key) + 8 (portable header) bytes */
  if (count > fcur_left(&c) / 12)
    return fcur_fail(&c, err, "%llu bitmaps cannot fit in %zu bytes",
                     (unsigned long long)count, fcur_left(&c));
  ice_dv *dv = NULL;
  FLOE_TRY(ice_dv_new(&dv, err));
  floe_status st = FLOE_OK;
  for (uint64_t i = 0; i < count && st == FLOE_OK; i++) {
    uint32_t key;
    if ((st = fcur_le32(&c, &key, err)) != FLOE_OK) break;
    if (dv->n > 0 && key <= dv->keys[dv->n - 1]) {
      st = fcur_fail(&c, err, "bitmap keys not ascending (%u after %u)", key,
                     dv->keys[dv->n - 1]);
      break;
    }
    const char *at = (const char *)c.p + c.pos;
    size_t size = roaring_bitmap_portable_deserialize_size(at, fcur_left(&c));
    roaring_bitmap_t *r =
        size ? roaring_bitmap_portable_deserialize_safe(at, fcur_left(&c))
             : NULL;
    if (!r) {
      st = fcur_fail(&c, err, "malformed roaring bitmap for key %u", key);
      break;
    }
    dv_check chk = {true, 0, 0, true};
    roaring_iterate(r, dv_check_one, &chk);
    if (!chk.ok || chk.count != roaring_bitmap_get_cardinality(r) ||
        (key >> 31)) {
      roaring_bitmap_free(r);
      st = fcur_fail(&c, err, "roaring bitmap for key %u is not well-formed",
                     key);
      break;
    }
    /* keys ascend, so the new slot is the last one: take r as it is */
    roaring_bitmap_t *slot;
    if ((st = dv_slot(dv, key, &slot, err)) != FLOE_OK) {
      roaring_bitmap_free(r);
      break;
    }
    roaring_bitmap_free(slot);
    dv->maps[dv->n - 1] = r;
    c.pos += size;
  }
  if (st == FLOE_OK) st = fcur_end(&c, err);
  if (st != FLOE_OK) {
    ice_dv_free(dv);
    return st;
  }
  *out = dv;
  return FLOE_OK;
}
