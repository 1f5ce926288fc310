/*
 * The Robin Hood table of index_mem.c for one slot layout, included once
 * per layout with:
 *   TM_FN(name)   the name of a function for this layout
 *   TM_SLOT       the slot type: { key; v } (v = stored value, 0 = empty)
 *   TM_HOME(t, k) the home slot of key k in table t
 * Private to index_mem.c.
 */

static inline uint64_t TM_FN(home)(const tm_tab *t, uint64_t k) {
  return TM_HOME(t, k);
}

static inline uint64_t TM_FN(dist)(const tm_tab *t, uint64_t pos, uint64_t k) {
  return (pos - TM_FN(home)(t, k)) & t->mask;
}

/* Robin Hood placement of an entry known to be new (no growth check). */
static inline void TM_FN(place)(tm_tab *t, uint64_t k, uint64_t v) {
  TM_SLOT *slots = t->slots;
  uint64_t pos = TM_FN(home)(t, k), d = 0;
  for (;;) {
    TM_SLOT *s = &slots[pos];
    if (!s->v) {
      s->key = k;
      s->v = v;
      return;
    }
    uint64_t sd = TM_FN(dist)(t, pos, s->key);
    if (sd < d) {
      TM_SLOT x = *s;
      s->key = k;
      s->v = v;
      k = x.key;
      v = x.v;
      d = sd;
    }
    pos = (pos + 1) & t->mask;
    d++;
  }
}

/* Moves old slots [from, end) into cur. */
static void TM_FN(move)(tm_tab *cur, const tm_tab *old, uint64_t from,
                        uint64_t end) {
  const TM_SLOT *slots = old->slots;
  for (uint64_t i = from; i < end; i++)
    if (slots[i].v) TM_FN(place)(cur, slots[i].key, slots[i].v);
}

/* The position of (k, v) in t, probing from its home but reading no slot
 * below `from` (a migrated part of an old table: the probe steps over it
 * and goes on with the distance it would have had; the entries there are
 * in the new table). UINT64_MAX when absent. */
static uint64_t TM_FN(find)(const tm_tab *t, uint64_t from, uint64_t k,
                            uint64_t v) {
  const TM_SLOT *slots = t->slots;
  uint64_t pos = TM_FN(home)(t, k), d = 0, cap = t->mask + 1;
  for (uint64_t steps = 0; steps < cap; steps++) {
    if (pos < from) {
      uint64_t skip = from - pos;
      if (steps + skip >= cap) return UINT64_MAX;
      steps += skip;
      d += skip;
      pos = from;
    }
    const TM_SLOT *s = &slots[pos];
    if (!s->v) return UINT64_MAX;
    if (s->key == k) {
      if (s->v == v) return pos;
    } else if (TM_FN(dist)(t, pos, s->key) < d) {
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
static void TM_FN(erase)(tm_tab *t, uint64_t from, uint64_t pos) {
  TM_SLOT *slots = t->slots;
  for (;;) {
    uint64_t next = (pos + 1) & t->mask;
    if (next < from) break;
    TM_SLOT *n = &slots[next];
    if (!n->v || TM_FN(dist)(t, next, n->key) == 0) break;
    slots[pos] = *n;
    pos = next;
  }
  slots[pos].key = 0;
  slots[pos].v = 0;
}

/* Calls fn for the entries of key k in t at positions >= from; nonzero
 * when fn stopped the walk. */
static int TM_FN(visit)(const tidx_mem *m, const tm_tab *t, uint64_t from,
                        uint64_t k, tidx_visit_fn fn, void *arg) {
  const TM_SLOT *slots = t->slots;
  uint64_t pos = TM_FN(home)(t, k), d = 0, cap = t->mask + 1;
  for (uint64_t steps = 0; steps < cap; steps++) {
    if (pos < from) {
      uint64_t skip = from - pos;
      if (steps + skip >= cap) return 0;
      steps += skip;
      d += skip;
      pos = from;
    }
    const TM_SLOT *s = &slots[pos];
    if (!s->v) return 0;
    if (s->key == k) {
      if (fn(arg, tm_decode(m, s->v))) return 1;
    } else if (TM_FN(dist)(t, pos, s->key) < d) {
      return 0;
    }
    pos = (pos + 1) & t->mask;
    d++;
  }
  return 0;
}

#undef TM_FN
#undef TM_SLOT
#undef TM_HOME
