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
 * A slot is 16 bytes (hash, location + 1); an empty slot holds 0 (the
 * location UINT64_MAX is reserved, so a stored value is never 0). Zero as
 * the empty marker lets a large table come from fresh anonymous pages: no
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
/* Tables up to this many slots grow in one step. */
#define TM_SYNC_SLOTS ((uint64_t)1 << 12)
/* Old slots migrated per entry inserted: the migration must end before the
 * new table (load 0.4 at the start) reaches 0.8, i.e. within 0.8 * oldcap
 * inserts; 4 per insert ends it within 0.25 * oldcap. */
#define TM_MIGRATE_PER 4
/* Tables of at least this many bytes are mapped directly (zero pages on
 * demand, returned to the kernel on free or as a migration passes). */
#define TM_MAP_BYTES ((size_t)1 << 20)
#define TM_RELEASE_BYTES ((size_t)1 << 20)

typedef struct tm_slot {
  uint64_t hash;
  uint64_t v; /* location + 1; 0 = empty */
} tm_slot;

typedef struct tm_tab {
  tm_slot *slots;
  uint64_t mask; /* cap - 1 */
  int shift;     /* 64 - log2(cap) */
  bool mapped;
} tm_tab;

struct tidx_mem {
  tm_tab cur;
  int64_t count;   /* entries, in both tables */
  int64_t grow_at; /* count that triggers a doubling of cur */
  /* a migration in progress: old.slots non-NULL, slots [0, cursor)
   * moved to cur, released up to byte `released` */
  tm_tab old;
  uint64_t cursor;
  size_t released;
};

/* Fibonacci hashing: one multiply spreads even a poorly mixed hash (a test's
 * small integers) over the table; the top bits index it. */
static inline uint64_t tm_home(const tm_tab *t, uint64_t hash) {
  return (hash * 0x9e3779b97f4a7c15ULL) >> t->shift;
}

static inline uint64_t tm_dist(const tm_tab *t, uint64_t pos, uint64_t hash) {
  return (pos - tm_home(t, hash)) & t->mask;
}

static size_t tm_tab_bytes(const tm_tab *t) {
  return t->slots ? ((size_t)t->mask + 1) * sizeof(tm_slot) : 0;
}

static floe_status tm_tab_alloc(tm_tab *t, int bits, floe_error *err) {
  size_t cap = (size_t)1 << bits, bytes = cap * sizeof(tm_slot);
  /* No MADV_HUGEPAGE: with the kernel's usual defrag=madvise a huge-page
   * fault compacts memory synchronously, measured here at over a second for
   * a 512 MiB table: a stall on the ingest path worth more than the ~10%
   * faster probes. */
  tm_slot *s;
  bool mapped = bytes >= TM_MAP_BYTES;
  if (mapped) {
    s = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
    if (s == MAP_FAILED) s = NULL;
  } else {
    s = calloc(cap, sizeof *s);
  }
  if (!s) return ferr_nomem(err, bytes);
  t->slots = s;
  t->mask = cap - 1;
  t->shift = 64 - bits;
  t->mapped = mapped;
  return FLOE_OK;
}

static void tm_tab_free(tm_tab *t) {
  if (!t->slots) return;
  if (t->mapped)
    munmap(t->slots, tm_tab_bytes(t));
  else
    free(t->slots);
  t->slots = NULL;
}

/* Robin Hood placement of an entry known to be new (no growth check). */
static inline void tm_place(tm_tab *t, uint64_t hash, uint64_t v) {
  uint64_t pos = tm_home(t, hash), d = 0;
  for (;;) {
    tm_slot *s = &t->slots[pos];
    if (!s->v) {
      s->hash = hash;
      s->v = v;
      return;
    }
    uint64_t sd = tm_dist(t, pos, s->hash);
    if (sd < d) {
      tm_slot x = *s;
      s->hash = hash;
      s->v = v;
      hash = x.hash;
      v = x.v;
      d = sd;
    }
    pos = (pos + 1) & t->mask;
    d++;
  }
}

/* Moves up to n more old slots into cur; frees the old table at the end. */
static void tm_migrate(tidx_mem *m, uint64_t n) {
  if (!m->old.slots) return;
  uint64_t cap = m->old.mask + 1, end = m->cursor + n;
  if (end > cap || n == UINT64_MAX) end = cap;
  for (uint64_t i = m->cursor; i < end; i++) {
    const tm_slot *s = &m->old.slots[i];
    if (s->v) tm_place(&m->cur, s->hash, s->v);
  }
  m->cursor = end;
  if (end == cap) {
    tm_tab_free(&m->old);
    return;
  }
  if (m->old.mapped) {
    /* give back the pages behind the cursor (nothing reads them again) */
    size_t done = (size_t)end * sizeof(tm_slot);
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

/* Room for n more entries: a migration in progress is finished first when
 * cur cannot take them, then cur is replaced by a table big enough for
 * count + n at load 0.8 (at least twice the size). */
static floe_status tm_reserve(tidx_mem *m, int64_t n, floe_error *err) {
  if (m->count + n <= m->grow_at) return FLOE_OK;
  tm_migrate(m, UINT64_MAX);
  int bits = 64 - m->cur.shift + 1;
  while (bits <= TM_MAX_BITS &&
         (int64_t)(((uint64_t)1 << bits) / 5 * 4) < m->count + n)
    bits++;
  if (bits > TM_MAX_BITS)
    return ferr_set(err, FLOE_ENOMEM, "mem index: more than 2^%d slots",
                    TM_MAX_BITS);
  tm_tab nt;
  FLOE_TRY(tm_tab_alloc(&nt, bits, err));
  m->old = m->cur;
  m->cur = nt;
  m->cursor = 0;
  m->released = 0;
  tm_set_grow_at(m);
  if (m->old.mask + 1 <= TM_SYNC_SLOTS) tm_migrate(m, UINT64_MAX);
  return FLOE_OK;
}

floe_status tidx_mem_new(int64_t expected, tidx_mem **out, floe_error *err) {
  *out = NULL;
  int bits = TM_MIN_BITS;
  while (bits < TM_MAX_BITS && ((int64_t)1 << bits) / 5 * 4 < expected) bits++;
  tidx_mem *m = calloc(1, sizeof *m);
  if (!m) return ferr_nomem(err, sizeof *m);
  floe_status st = tm_tab_alloc(&m->cur, bits, err);
  if (st != FLOE_OK) {
    free(m);
    return st;
  }
  tm_set_grow_at(m);
  *out = m;
  return FLOE_OK;
}

void tidx_mem_free(tidx_mem *m) {
  if (!m) return;
  tm_tab_free(&m->cur);
  tm_tab_free(&m->old);
  free(m);
}

floe_status tidx_mem_insert(tidx_mem *m, uint64_t hash, uint64_t loc,
                            floe_error *err) {
  if (FLOE_UNLIKELY(loc == UINT64_MAX))
    return ferr_set(err, FLOE_EINVAL, "mem index: location 0x%llx reserved",
                    (unsigned long long)loc);
  if (FLOE_UNLIKELY(m->count >= m->grow_at)) FLOE_TRY(tm_reserve(m, 1, err));
  tm_place(&m->cur, hash, loc + 1);
  m->count++;
  if (FLOE_UNLIKELY(m->old.slots != NULL)) tm_migrate(m, TM_MIGRATE_PER);
  return FLOE_OK;
}

floe_status tidx_mem_insert_run(tidx_mem *m, const uint64_t *hashes, int64_t n,
                                uint32_t id, uint32_t row0, floe_error *err) {
  if (n <= 0) return FLOE_OK;
  if (FLOE_UNLIKELY(id == UINT32_MAX &&
                    (uint64_t)row0 + (uint64_t)n > (uint64_t)UINT32_MAX))
    return ferr_set(err, FLOE_EINVAL, "mem index: location 0x%llx reserved",
                    (unsigned long long)UINT64_MAX);
  FLOE_TRY(tm_reserve(m, n, err));
  /* The home slots are random: fetching a few entries ahead overlaps the
   * cache misses that dominate a large table's inserts. */
  enum { AHEAD = 8 };
  tm_tab *t = &m->cur;
  for (int64_t r = 0; r < n; r++) {
    if (r + AHEAD < n)
      __builtin_prefetch(&t->slots[tm_home(t, hashes[r + AHEAD])], 1);
    tm_place(t, hashes[r], TIDX_LOC(id, row0 + (uint32_t)r) + 1);
  }
  m->count += n;
  if (m->old.slots) tm_migrate(m, (uint64_t)n * TM_MIGRATE_PER);
  return FLOE_OK;
}

/* The position of (hash, v) in t, probing from its home but reading no slot
 * below `from` (a migrated part of an old table: the probe steps over it
 * and goes on with the distance it would have had; the entries there are
 * in the new table). UINT64_MAX when absent. */
static uint64_t tm_find(const tm_tab *t, uint64_t from, uint64_t hash,
                        uint64_t v) {
  uint64_t pos = tm_home(t, hash), d = 0, cap = t->mask + 1;
  for (uint64_t steps = 0; steps < cap; steps++) {
    if (pos < from) {
      uint64_t skip = from - pos;
      if (steps + skip >= cap) return UINT64_MAX;
      steps += skip;
      d += skip;
      pos = from;
    }
    const tm_slot *s = &t->slots[pos];
    if (!s->v) return UINT64_MAX;
    if (s->hash == hash) {
      if (s->v == v) return pos;
    } else if (tm_dist(t, pos, s->hash) < d) {
      return UINT64_MAX;
    }
    pos = (pos + 1) & t->mask;
    d++;
  }
  return UINT64_MAX;
}

/* Backward shift: pull the run after pos one slot closer to home until an
 * empty slot or an entry already at home (or, in an old table, the
 * migrated part: its entries are in the new table). */
static void tm_erase(tm_tab *t, uint64_t from, uint64_t pos) {
  for (;;) {
    uint64_t next = (pos + 1) & t->mask;
    if (next < from) break;
    tm_slot *n = &t->slots[next];
    if (!n->v || tm_dist(t, next, n->hash) == 0) break;
    t->slots[pos] = *n;
    pos = next;
  }
  t->slots[pos].hash = 0;
  t->slots[pos].v = 0;
}

bool tidx_mem_remove(tidx_mem *m, uint64_t hash, uint64_t loc) {
  if (loc == UINT64_MAX) return false;
  uint64_t pos = tm_find(&m->cur, 0, hash, loc + 1);
  if (pos != UINT64_MAX) {
    tm_erase(&m->cur, 0, pos);
  } else {
    if (!m->old.slots) return false;
    pos = tm_find(&m->old, m->cursor, hash, loc + 1);
    if (pos == UINT64_MAX) return false;
    tm_erase(&m->old, m->cursor, pos);
  }
  m->count--;
  return true;
}

/* Calls fn for the entries of hash in t at positions >= from; nonzero when
 * fn stopped the walk. */
static int tm_visit(const tm_tab *t, uint64_t from, uint64_t hash,
                    tidx_visit_fn fn, void *arg) {
  uint64_t pos = tm_home(t, hash), d = 0, cap = t->mask + 1;
  for (uint64_t steps = 0; steps < cap; steps++) {
    if (pos < from) {
      uint64_t skip = from - pos;
      if (steps + skip >= cap) return 0;
      steps += skip;
      d += skip;
      pos = from;
    }
    const tm_slot *s = &t->slots[pos];
    if (!s->v) return 0;
    if (s->hash == hash) {
      if (fn(arg, s->v - 1)) return 1;
    } else if (tm_dist(t, pos, s->hash) < d) {
      return 0;
    }
    pos = (pos + 1) & t->mask;
    d++;
  }
  return 0;
}

void tidx_mem_lookup(const tidx_mem *m, uint64_t hash, tidx_visit_fn fn,
                     void *arg) {
  if (tm_visit(&m->cur, 0, hash, fn, arg)) return;
  if (m->old.slots) tm_visit(&m->old, m->cursor, hash, fn, arg);
}

void tidx_mem_prefetch(const tidx_mem *m, uint64_t hash) {
  __builtin_prefetch(&m->cur.slots[tm_home(&m->cur, hash)]);
}

void tidx_mem_clear(tidx_mem *m) {
  tm_tab_free(&m->old);
  memset(m->cur.slots, 0, tm_tab_bytes(&m->cur));
  m->count = 0;
}

int64_t tidx_mem_count(const tidx_mem *m) { return m->count; }

int64_t tidx_mem_bytes(const tidx_mem *m) {
  size_t old = tm_tab_bytes(&m->old);
  return (int64_t)sizeof *m + (int64_t)tm_tab_bytes(&m->cur) +
         (int64_t)(old > m->released ? old - m->released : 0);
}
