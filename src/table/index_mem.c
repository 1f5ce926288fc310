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
 * Two slot layouts. Wide (tidx_mem_new): 16 bytes, the 64-bit hash and
 * location + 1 (any location but UINT64_MAX). Compact
 * (tidx_mem_new_batches, the engine's mem index generations): 8 bytes, a
 * 32-bit tag = the top half of the Fibonacci-mixed hash (which holds the
 * home slot's bits, so the table never needs the full hash) and the
 * location packed in 32 bits relative to the generation's first batch id,
 * + 1. A tag match is only a candidate (hashes equal in 32 mixed bits):
 * every caller compares key values anyway. An empty slot holds 0: zero as
 * the empty marker lets a large table come from fresh anonymous pages, no
 * memset of the whole table when it is made.
 *
 * Growth is incremental: past load 0.8 a table twice the size is mapped
 * (untouched pages, so this costs nothing up front) and the old one is
 * migrated a few slots per insert, in slot order. Meanwhile an entry lives
 * in exactly one of the two: the new table, or the old one at a position at
 * or past the migration cursor. Lookups and removals visit both. So no
 * single insert pays for rehashing the whole table: a doubling of a
 * multi-million-entry table used to stall the commit holding the index
 * lock for 100-700 ms. The migrated part of the old table is handed back
 * to the kernel as the cursor passes it. Small tables (the private index of
 * a small transaction) still grow in one step: that is cheap.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "table/index.h"
#include "util/error.h"

#define TM_MIN_BITS 4
#define TM_MAX_BITS 40
#define TM_MAX_BITS_COMPACT 32 /* the tag holds the home bits */
/* Tables up to this many slots grow in one step. */
#define TM_SYNC_SLOTS ((uint64_t)1 << 12)
/* Old slots migrated per entry inserted: the migration must end before the
 * new table (load 0.4 at the start) reaches 0.8, i.e. within 0.8 * oldcap
 * inserts; 8 per insert ends it within oldcap / 8, which keeps short the
 * stretch during which both tables take RAM (1.5x the bytes). */
#define TM_MIGRATE_PER 8
/* Tables of at least this many bytes are mapped directly (zero pages on
 * demand, returned to the kernel on free or as a migration passes). */
#define TM_MAP_BYTES ((size_t)1 << 20)
#define TM_RELEASE_BYTES ((size_t)1 << 20)
#define TM_FIB 0x9e3779b97f4a7c15ULL

typedef struct tm_wslot {
  uint64_t key; /* the hash */
  uint64_t v;   /* location + 1; 0 = empty */
} tm_wslot;

typedef struct tm_cslot {
  uint32_t key; /* tag: (hash * TM_FIB) >> 32 */
  uint32_t v;   /* packed location + 1; 0 = empty */
} tm_cslot;

typedef struct tm_tab {
  void *slots;
  uint64_t mask; /* cap - 1 */
  int shift;     /* 64 - log2(cap) */
  bool mapped;
} tm_tab;

struct tidx_mem {
  bool compact;
  size_t slot_bytes;
  /* compact: locations TIDX_LOC(id, row), base <= id, packed as
   * (id - base) << row_bits | row */
  uint32_t base;
  int row_bits;
  tm_tab cur;
  int64_t count;   /* entries, in both tables */
  int64_t grow_at; /* count that triggers a doubling of cur */
  /* a migration in progress: old.slots non-NULL, slots [0, cursor)
   * moved to cur, released up to byte `released` */
  tm_tab old;
  uint64_t cursor;
  size_t released;
};

static inline uint64_t tm_decode(const tidx_mem *m, uint64_t v) {
  if (!m->compact) return v - 1;
  uint64_t e = v - 1;
  return TIDX_LOC(m->base + (uint32_t)(e >> m->row_bits),
                  e & (((uint64_t)1 << m->row_bits) - 1));
}

/* The stored value of loc; false when loc cannot be stored. */
static inline bool tm_encode(const tidx_mem *m, uint64_t loc, uint64_t *v) {
  if (!m->compact) {
    *v = loc + 1;
    return loc != UINT64_MAX;
  }
  uint32_t id = TIDX_LOC_ID(loc), row = TIDX_LOC_ROW(loc);
  if (id < m->base || row >> m->row_bits) return false;
  uint64_t e = ((uint64_t)(id - m->base) << m->row_bits) | row;
  if (e >= UINT32_MAX) return false;
  *v = e + 1;
  return true;
}

static inline uint64_t tm_key(const tidx_mem *m, uint64_t hash) {
  return m->compact ? (hash * TM_FIB) >> 32 : hash;
}

/* Fibonacci hashing: one multiply spreads even a poorly mixed hash (a test's
 * small integers) over the table; the top bits index it. */
#define TM_FN(name) tmw_##name
#define TM_SLOT tm_wslot
#define TM_HOME(t, k) (((k)*TM_FIB) >> (t)->shift)
#include "table/index_mem_impl.h"

#define TM_FN(name) tmc_##name
#define TM_SLOT tm_cslot
#define TM_HOME(t, k) ((k) >> ((t)->shift - 32))
#include "table/index_mem_impl.h"

static size_t tm_tab_bytes(const tidx_mem *m, const tm_tab *t) {
  return t->slots ? ((size_t)t->mask + 1) * m->slot_bytes : 0;
}

static floe_status tm_tab_alloc(const tidx_mem *m, tm_tab *t, int bits,
                                floe_error *err) {
  size_t cap = (size_t)1 << bits, bytes = cap * m->slot_bytes;
  /* No MADV_HUGEPAGE: with the kernel's usual defrag=madvise a huge-page
   * fault compacts memory synchronously, measured here at over a second for
   * a 512 MiB table: a stall on the ingest path worth more than the ~10%
   * faster probes. */
  void *s;
  bool mapped = bytes >= TM_MAP_BYTES;
  if (mapped) {
    s = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (s == MAP_FAILED) s = NULL;
  } else {
    s = calloc(cap, m->slot_bytes);
  }
  if (!s) return ferr_nomem(err, bytes);
  t->slots = s;
  t->mask = cap - 1;
  t->shift = 64 - bits;
  t->mapped = mapped;
  return FLOE_OK;
}

static void tm_tab_free(const tidx_mem *m, tm_tab *t) {
  if (!t->slots) return;
  if (t->mapped)
    munmap(t->slots, tm_tab_bytes(m, t));
  else
    free(t->slots);
  t->slots = NULL;
}

/* Moves up to n more old slots into cur; frees the old table at the end. */
static void tm_migrate(tidx_mem *m, uint64_t n) {
  if (!m->old.slots) return;
  uint64_t cap = m->old.mask + 1, end = m->cursor + n;
  if (end > cap || n == UINT64_MAX) end = cap;
  if (m->compact)
    tmc_move(&m->cur, &m->old, m->cursor, end);
  else
    tmw_move(&m->cur, &m->old, m->cursor, end);
  m->cursor = end;
  if (end == cap) {
    tm_tab_free(m, &m->old);
    return;
  }
  if (m->old.mapped) {
    /* give back the pages behind the cursor (nothing reads them again) */
    size_t done = (size_t)end * m->slot_bytes;
    done -= done % TM_RELEASE_BYTES;
    if (done > m->released) {
      madvise((char *)m->old.slots + m->released, done - m->released,
              MADV_DONTNEED);
      m->released = done;
    }
  }
}

static void tm_set_grow_at(tidx_mem *m) {
  m->grow_at = (int64_t)((m->cur.mask + 1) / 5 * 4);
}

static int tm_max_bits(const tidx_mem *m) {
  return m->compact ? TM_MAX_BITS_COMPACT : TM_MAX_BITS;
}

/* Room for n more entries: a migration in progress is finished first when
 * cur cannot take them, then cur is replaced by a table big enough for
 * count + n at load 0.8 (at least twice the size). */
static floe_status tm_reserve(tidx_mem *m, int64_t n, floe_error *err) {
  if (m->count + n <= m->grow_at) return FLOE_OK;
  tm_migrate(m, UINT64_MAX);
  int bits = 64 - m->cur.shift + 1;
  while (bits <= tm_max_bits(m) &&
         (int64_t)(((uint64_t)1 << bits) / 5 * 4) < m->count + n)
    bits++;
  if (bits > tm_max_bits(m))
    return ferr_set(err, FLOE_ENOMEM, "mem index: more than 2^%d slots",
                    tm_max_bits(m));
  tm_tab nt;
  FLOE_TRY(tm_tab_alloc(m, &nt, bits, err));
  m->old = m->cur;
  m->cur = nt;
  m->cursor = 0;
  m->released = 0;
  tm_set_grow_at(m);
  if (m->old.mask + 1 <= TM_SYNC_SLOTS) tm_migrate(m, UINT64_MAX);
  return FLOE_OK;
}

static floe_status tm_new(int64_t expected, bool compact, uint32_t base,
                          int row_bits, tidx_mem **out, floe_error *err) {
  *out = NULL;
  tidx_mem *m = calloc(1, sizeof *m);
  if (!m) return ferr_nomem(err, sizeof *m);
  m->compact = compact;
  m->slot_bytes = compact ? sizeof(tm_cslot) : sizeof(tm_wslot);
  m->base = base;
  m->row_bits = row_bits;
  int bits = TM_MIN_BITS;
  while (bits < tm_max_bits(m) && ((int64_t)1 << bits) / 5 * 4 < expected)
    bits++;
  floe_status st = tm_tab_alloc(m, &m->cur, bits, err);
  if (st != FLOE_OK) {
    free(m);
    return st;
  }
  tm_set_grow_at(m);
  *out = m;
  return FLOE_OK;
}

floe_status tidx_mem_new(int64_t expected, tidx_mem **out, floe_error *err) {
  return tm_new(expected, false, 0, 0, out, err);
}

floe_status tidx_mem_new_batches(int64_t expected, uint32_t base_id,
                                 int64_t batch_rows, tidx_mem **out,
                                 floe_error *err) {
  int row_bits = 0;
  while (row_bits < 32 && ((int64_t)1 << row_bits) < batch_rows) row_bits++;
  if (row_bits > 24)
    return ferr_set(err, FLOE_EINVAL, "mem index: batches of %lld rows",
                    (long long)batch_rows);
  return tm_new(expected, true, base_id, row_bits, out, err);
}

void tidx_mem_free(tidx_mem *m) {
  if (!m) return;
  tm_tab_free(m, &m->cur);
  tm_tab_free(m, &m->old);
  free(m);
}

static floe_status tm_unstorable(const tidx_mem *m, uint64_t loc,
                                 floe_error *err) {
  if (!m->compact || loc == UINT64_MAX)
    return ferr_set(err, FLOE_EINVAL, "mem index: location 0x%llx reserved",
                    (unsigned long long)loc);
  return ferr_set(err, FLOE_ERANGE,
                  "mem index: location 0x%llx outside the generation "
                  "(batches %u.. of %d row bits)",
                  (unsigned long long)loc, m->base, m->row_bits);
}

floe_status tidx_mem_insert(tidx_mem *m, uint64_t hash, uint64_t loc,
                            floe_error *err) {
  uint64_t v;
  if (FLOE_UNLIKELY(!tm_encode(m, loc, &v))) return tm_unstorable(m, loc, err);
  if (FLOE_UNLIKELY(m->count >= m->grow_at)) FLOE_TRY(tm_reserve(m, 1, err));
  if (m->compact)
    tmc_place(&m->cur, tm_key(m, hash), v);
  else
    tmw_place(&m->cur, hash, v);
  m->count++;
  if (FLOE_UNLIKELY(m->old.slots != NULL)) tm_migrate(m, TM_MIGRATE_PER);
  return FLOE_OK;
}

floe_status tidx_mem_insert_run(tidx_mem *m, const uint64_t *hashes, int64_t n,
                                uint32_t id, uint32_t row0, floe_error *err) {
  if (n <= 0) return FLOE_OK;
  uint64_t v0, v1;
  if (FLOE_UNLIKELY((uint64_t)row0 + (uint64_t)n - 1 > UINT32_MAX))
    return tm_unstorable(m, TIDX_LOC(id, UINT32_MAX), err);
  uint64_t last = TIDX_LOC(id, row0 + (uint32_t)(n - 1));
  if (FLOE_UNLIKELY(!tm_encode(m, TIDX_LOC(id, row0), &v0)))
    return tm_unstorable(m, TIDX_LOC(id, row0), err);
  if (FLOE_UNLIKELY(!tm_encode(m, last, &v1)))
    return tm_unstorable(m, last, err);
  FLOE_TRY(tm_reserve(m, n, err));
  /* The home slots are random: fetching a few entries ahead overlaps the
   * cache misses that dominate a large table's inserts. Consecutive rows
   * of one batch have consecutive stored values in both layouts. */
  enum { AHEAD = 8 };
  tm_tab *t = &m->cur;
  if (m->compact) {
    tm_cslot *slots = t->slots;
    for (int64_t r = 0; r < n; r++) {
      if (r + AHEAD < n)
        __builtin_prefetch(&slots[tmc_home(t, tm_key(m, hashes[r + AHEAD]))],
                           1);
      tmc_place(t, tm_key(m, hashes[r]), v0 + (uint64_t)r);
    }
  } else {
    tm_wslot *slots = t->slots;
    for (int64_t r = 0; r < n; r++) {
      if (r + AHEAD < n)
        __builtin_prefetch(&slots[tmw_home(t, hashes[r + AHEAD])], 1);
      tmw_place(t, hashes[r], v0 + (uint64_t)r);
    }
  }
  m->count += n;
  if (m->old.slots) tm_migrate(m, (uint64_t)n * TM_MIGRATE_PER);
  return FLOE_OK;
}

bool tidx_mem_remove(tidx_mem *m, uint64_t hash, uint64_t loc) {
  uint64_t v;
  if (!tm_encode(m, loc, &v)) return false;
  uint64_t k = tm_key(m, hash);
  uint64_t (*find)(const tm_tab *, uint64_t, uint64_t, uint64_t) =
      m->compact ? tmc_find : tmw_find;
  void (*erase)(tm_tab *, uint64_t, uint64_t) =
      m->compact ? tmc_erase : tmw_erase;
  uint64_t pos = find(&m->cur, 0, k, v);
  if (pos != UINT64_MAX) {
    erase(&m->cur, 0, pos);
  } else {
    if (!m->old.slots) return false;
    pos = find(&m->old, m->cursor, k, v);
    if (pos == UINT64_MAX) return false;
    erase(&m->old, m->cursor, pos);
  }
  m->count--;
  return true;
}

void tidx_mem_lookup(const tidx_mem *m, uint64_t hash, tidx_visit_fn fn,
                     void *arg) {
  uint64_t k = tm_key(m, hash);
  int (*visit)(const tidx_mem *, const tm_tab *, uint64_t, uint64_t,
               tidx_visit_fn, void *) = m->compact ? tmc_visit : tmw_visit;
  if (visit(m, &m->cur, 0, k, fn, arg)) return;
  if (m->old.slots) visit(m, &m->old, m->cursor, k, fn, arg);
}

void tidx_mem_prefetch(const tidx_mem *m, uint64_t hash) {
  const tm_tab *t = &m->cur;
  if (m->compact)
    __builtin_prefetch(
        &((const tm_cslot *)t->slots)[tmc_home(t, tm_key(m, hash))]);
  else
    __builtin_prefetch(&((const tm_wslot *)t->slots)[tmw_home(t, hash)]);
}

void tidx_mem_clear(tidx_mem *m) {
  tm_tab_free(m, &m->old);
  memset(m->cur.slots, 0, tm_tab_bytes(m, &m->cur));
  m->count = 0;
}

int64_t tidx_mem_count(const tidx_mem *m) { return m->count; }

int64_t tidx_mem_bytes(const tidx_mem *m) {
  size_t old = tm_tab_bytes(m, &m->old);
  return (int64_t)sizeof *m + (int64_t)tm_tab_bytes(m, &m->cur) +
         (int64_t)(old > m->released ? old - m->released : 0);
}
