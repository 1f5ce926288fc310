/*
 * tidx_mem: an open-addressing multimap hash -> location.
 *
 * Linear probing with Robin Hood ordering (an entry never sits further from
 * its home slot than the entry it passed), so a probe for an absent hash
 * stops as soon as it meets an entry closer to home than itself, and
 * deletions shift the following run back by one (no tombstones, so a table
 * with heavy update churn never degrades and never needs a rehash to clean
 * up). Duplicate hashes are plain entries next to each other.
 *
 * A slot is 16 bytes (hash, location); an empty slot has location
 * TM_EMPTY (a location the engine never produces: batch id and row both
 * 0xffffffff). The table doubles at load 0.8, so it holds between 20 and
 * 40 bytes per entry; the mem slice is bounded by the flush threshold, the
 * bulk of a table's rows is in the 8-byte file indexes.
 */
#include <stdlib.h>

#include "table/index.h"
#include "util/error.h"

#define TM_EMPTY UINT64_MAX
#define TM_MIN_BITS 4
#define TM_MAX_BITS 40

typedef struct tm_slot {
  uint64_t hash;
  uint64_t loc;
} tm_slot;

struct tidx_mem {
  tm_slot *slots;
  uint64_t mask;   /* cap - 1 */
  int shift;       /* 64 - log2(cap) */
  int64_t count;   /* entries */
  int64_t grow_at; /* count that triggers a doubling */
};

/* Fibonacci hashing: one multiply spreads even a poorly mixed hash (a test's
 * small integers) over the table; the top bits index it. */
static inline uint64_t tm_home(const tidx_mem *m, uint64_t hash) {
  return (hash * 0x9e3779b97f4a7c15ULL) >> m->shift;
}

static inline uint64_t tm_dist(const tidx_mem *m, uint64_t pos, uint64_t hash) {
  return (pos - tm_home(m, hash)) & m->mask;
}

static floe_status tm_alloc(tidx_mem *m, int bits, floe_error *err) {
  size_t cap = (size_t)1 << bits, bytes = cap * sizeof(tm_slot);
  /* No MADV_HUGEPAGE: with the kernel's usual defrag=madvise a huge-page
   * fault compacts memory synchronously, measured here at over a second for
   * a 512 MiB table: a stall on the ingest path worth more than the ~10%
   * faster probes. */
  tm_slot *s = malloc(bytes);
  if (!s) return ferr_nomem(err, bytes);
  memset(s, 0xff, bytes);
  m->slots = s;
  m->mask = cap - 1;
  m->shift = 64 - bits;
  m->grow_at = (int64_t)(cap / 5 * 4);
  return FLOE_OK;
}

/* Robin Hood placement of an entry known to be new (no growth check). */
static inline void tm_place(tidx_mem *m, uint64_t hash, uint64_t loc) {
  uint64_t pos = tm_home(m, hash), d = 0;
  for (;;) {
    tm_slot *s = &m->slots[pos];
    if (s->loc == TM_EMPTY) {
      s->hash = hash;
      s->loc = loc;
      return;
    }
    uint64_t sd = tm_dist(m, pos, s->hash);
    if (sd < d) {
      tm_slot t = *s;
      s->hash = hash;
      s->loc = loc;
      hash = t.hash;
      loc = t.loc;
      d = sd;
    }
    pos = (pos + 1) & m->mask;
    d++;
  }
}

static floe_status tm_grow(tidx_mem *m, floe_error *err) {
  int bits = 64 - m->shift + 1;
  if (bits > TM_MAX_BITS)
    return ferr_set(err, FLOE_ENOMEM, "mem index: more than 2^%d slots",
                    TM_MAX_BITS);
  tm_slot *old = m->slots;
  size_t oldcap = (size_t)m->mask + 1;
  FLOE_TRY(tm_alloc(m, bits, err));
  for (size_t i = 0; i < oldcap; i++)
    if (old[i].loc != TM_EMPTY) tm_place(m, old[i].hash, old[i].loc);
  free(old);
  return FLOE_OK;
}

floe_status tidx_mem_new(int64_t expected, tidx_mem **out, floe_error *err) {
  *out = NULL;
  int bits = TM_MIN_BITS;
  while (bits < TM_MAX_BITS && ((int64_t)1 << bits) / 5 * 4 < expected) bits++;
  tidx_mem *m = calloc(1, sizeof *m);
  if (!m) return ferr_nomem(err, sizeof *m);
  floe_status st = tm_alloc(m, bits, err);
  if (st != FLOE_OK) {
    free(m);
    return st;
  }
  *out = m;
  return FLOE_OK;
}

void tidx_mem_free(tidx_mem *m) {
  if (!m) return;
  free(m->slots);
  free(m);
}

floe_status tidx_mem_insert(tidx_mem *m, uint64_t hash, uint64_t loc,
                            floe_error *err) {
  if (FLOE_UNLIKELY(loc == TM_EMPTY))
    return ferr_set(err, FLOE_EINVAL, "mem index: location 0x%llx reserved",
                    (unsigned long long)loc);
  if (FLOE_UNLIKELY(m->count >= m->grow_at)) FLOE_TRY(tm_grow(m, err));
  tm_place(m, hash, loc);
  m->count++;
  return FLOE_OK;
}

floe_status tidx_mem_insert_run(tidx_mem *m, const uint64_t *hashes, int64_t n,
                                uint32_t id, uint32_t row0, floe_error *err) {
  if (n <= 0) return FLOE_OK;
  if (FLOE_UNLIKELY(id == UINT32_MAX &&
                    (uint64_t)row0 + (uint64_t)n > (uint64_t)UINT32_MAX))
    return ferr_set(err, FLOE_EINVAL, "mem index: location 0x%llx reserved",
                    (unsigned long long)TM_EMPTY);
  while (m->count + n > m->grow_at) FLOE_TRY(tm_grow(m, err));
  /* The home slots are random: fetching a few entries ahead overlaps the
   * cache misses that dominate a large table's inserts. */
  enum { AHEAD = 8 };
  for (int64_t r = 0; r < n; r++) {
    if (r + AHEAD < n)
      __builtin_prefetch(&m->slots[tm_home(m, hashes[r + AHEAD])], 1);
    tm_place(m, hashes[r], TIDX_LOC(id, row0 + (uint32_t)r));
  }
  m->count += n;
  return FLOE_OK;
}

bool tidx_mem_remove(tidx_mem *m, uint64_t hash, uint64_t loc) {
  uint64_t pos = tm_home(m, hash), d = 0;
  for (;;) {
    tm_slot *s = &m->slots[pos];
    if (s->loc == TM_EMPTY) return false;
    if (s->hash == hash) {
      if (s->loc == loc) break;
    } else if (tm_dist(m, pos, s->hash) < d) {
      return false;
    }
    pos = (pos + 1) & m->mask;
    d++;
  }
  /* Backward shift: pull the run after pos one slot closer to home until an
   * empty slot or an entry already at home. */
  for (;;) {
    uint64_t next = (pos + 1) & m->mask;
    tm_slot *n = &m->slots[next];
    if (n->loc == TM_EMPTY || tm_dist(m, next, n->hash) == 0) break;
    m->slots[pos] = *n;
    pos = next;
  }
  m->slots[pos].hash = UINT64_MAX;
  m->slots[pos].loc = TM_EMPTY;
  m->count--;
  return true;
}

void tidx_mem_lookup(const tidx_mem *m, uint64_t hash, tidx_visit_fn fn,
                     void *arg) {
  uint64_t pos = tm_home(m, hash), d = 0;
  for (;;) {
    const tm_slot *s = &m->slots[pos];
    if (s->loc == TM_EMPTY) return;
    if (s->hash == hash) {
      if (fn(arg, s->loc)) return;
    } else if (tm_dist(m, pos, s->hash) < d) {
      return;
    }
    pos = (pos + 1) & m->mask;
    d++;
  }
}

void tidx_mem_clear(tidx_mem *m) {
  memset(m->slots, 0xff, ((size_t)m->mask + 1) * sizeof *m->slots);
  m->count = 0;
}

int64_t tidx_mem_count(const tidx_mem *m) { return m->count; }

int64_t tidx_mem_bytes(const tidx_mem *m) {
  return (int64_t)sizeof *m + (int64_t)((m->mask + 1) * sizeof *m->slots);
}
