/* Unit tests for src/table/index.h: key hashing/equality, the mem multimap,
 * the persisted file index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "table/index.h"
#include "util/hash.h"

#define OK(expr) assert_int_equal((expr), FLOE_OK)

static uint64_t rng_next(uint64_t *s) {
  /* splitmix64: seeded, reproducible */
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static col_column mkcol(col_type t) {
  col_column c;
  col_dtype d = {0};
  d.id = t;
  if (t == COL_DECIMAL) {
    d.precision = 10;
    d.scale = 2;
  }
  OK(col_init(&c, d, NULL));
  return c;
}

static col_column mklist(col_type elem) {
  col_column c;
  col_dtype d = {0};
  d.id = COL_LIST;
  d.elem = elem;
  if (elem == COL_DECIMAL) {
    d.elem_precision = 20;
    d.elem_scale = 2;
  }
  OK(col_init(&c, d, NULL));
  return c;
}

static uint64_t hash1(const col_column *c, int64_t row) {
  int key = 0;
  uint64_t h;
  tkey_hash(c, &key, 1, row, 1, &h);
  return h;
}

static bool eq1(const col_column *a, int64_t i, const col_column *b,
                int64_t j) {
  int key = 0;
  return tkey_equal(a, &key, i, b, &key, j, 1);
}

/* Integer-like widths, floats, decimals hash and compare by value. */
static void test_key_normalisation(void **state) {
  (void)state;
  col_column i16 = mkcol(COL_INT16), i32 = mkcol(COL_INT32),
             i64 = mkcol(COL_INT64), dt = mkcol(COL_DATE);
  int16_t vals[] = {0, 1, -1, 32767, -32768, 1234};
  for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
    OK(col_append_i16(&i16, vals[k], NULL));
    OK(col_append_i32(&i32, vals[k], NULL));
    OK(col_append_i64(&i64, vals[k], NULL));
    OK(col_append_i32(&dt, vals[k], NULL));
  }
  OK(col_append_null(&i16, NULL));
  OK(col_append_null(&i64, NULL));
  for (int64_t k = 0; k < 6; k++) {
    uint64_t h = hash1(&i16, k);
    assert_int_equal(h, hash1(&i32, k));
    assert_int_equal(h, hash1(&i64, k));
    assert_int_equal(h, hash1(&dt, k));
    assert_true(eq1(&i16, k, &i64, k));
    assert_true(eq1(&i32, k, &dt, k));
    for (int64_t j = 0; j < 6; j++) {
      if (j == k) continue;
      assert_int_not_equal(h, hash1(&i64, j));
      assert_false(eq1(&i16, k, &i64, j));
    }
  }
  /* nulls: a fixed marker, equal to each other, not to 0 */
  assert_int_equal(hash1(&i16, 6), hash1(&i64, 6));
  assert_int_not_equal(hash1(&i16, 6), hash1(&i64, 0));
  assert_true(eq1(&i16, 6, &i64, 6));
  assert_false(eq1(&i16, 6, &i64, 0));
  /* the columnar pass equals the per-row hashes (null_count > 0 path and
   * the fast path without nulls) */
  uint64_t all[7];
  int key = 0;
  tkey_hash(&i64, &key, 1, 0, 7, all);
  for (int k = 0; k < 7; k++) assert_int_equal(all[k], hash1(&i16, k));
  tkey_hash(&i32, &key, 1, 0, 6, all);
  for (int k = 0; k < 6; k++) assert_int_equal(all[k], hash1(&i16, k));

  /* floats: float32 1.5 and float64 1.5 */
  col_column f32 = mkcol(COL_FLOAT32), f64 = mkcol(COL_FLOAT64);
  OK(col_append_f32(&f32, 1.5f, NULL));
  OK(col_append_f64(&f64, 1.5, NULL));
  OK(col_append_f32(&f32, -0.0f, NULL));
  OK(col_append_f64(&f64, 0.0, NULL));
  OK(col_append_f32(&f32, 0.1f, NULL));
  OK(col_append_f64(&f64, 0.1, NULL));
  assert_int_equal(hash1(&f32, 0), hash1(&f64, 0));
  assert_true(eq1(&f32, 0, &f64, 0));
  /* values compare exactly: -0.0 is not 0.0, 0.1f is not 0.1 */
  assert_false(eq1(&f32, 1, &f64, 1));
  assert_int_not_equal(hash1(&f32, 1), hash1(&f64, 1));
  assert_false(eq1(&f32, 2, &f64, 2));
  /* an int and a float of the same value are different classes */
  assert_false(eq1(&i64, 1, &f64, 0));

  /* decimals: the unscaled value, whatever the precision */
  col_column d10 = mkcol(COL_DECIMAL);
  col_column d38;
  col_dtype dd = {.id = COL_DECIMAL, .precision = 38, .scale = 2};
  OK(col_init(&d38, dd, NULL));
  OK(col_append_dec(&d10, 12345, 0, NULL));
  OK(col_append_dec(&d38, 12345, 0, NULL));
  OK(col_append_dec(&d10, (uint64_t)-5, -1, NULL));
  OK(col_append_dec(&d38, (uint64_t)-5, -1, NULL));
  assert_int_equal(hash1(&d10, 0), hash1(&d38, 0));
  assert_int_equal(hash1(&d10, 1), hash1(&d38, 1));
  assert_int_not_equal(hash1(&d10, 0), hash1(&d10, 1));
  assert_true(eq1(&d10, 1, &d38, 1));
  assert_false(eq1(&d10, 0, &d38, 1));

  col_free(&i16);
  col_free(&i32);
  col_free(&i64);
  col_free(&dt);
  col_free(&f32);
  col_free(&f64);
  col_free(&d10);
  col_free(&d38);
}

static void test_key_bytes_lists_multi(void **state) {
  (void)state;
  col_column s = mkcol(COL_UTF8), b = mkcol(COL_BINARY);
  const char *v[] = {"", "a", "ab", "héllo", "ab"};
  for (int k = 0; k < 5; k++) {
    OK(col_append_bytes(&s, v[k], strlen(v[k]), NULL));
    OK(col_append_bytes(&b, v[k], strlen(v[k]), NULL));
  }
  OK(col_append_null(&s, NULL));
  for (int k = 0; k < 5; k++) {
    assert_int_equal(hash1(&s, k), hash1(&b, k));
    assert_true(eq1(&s, k, &b, k));
  }
  assert_int_equal(hash1(&s, 2), hash1(&s, 4));
  assert_true(eq1(&s, 2, &s, 4));
  assert_false(eq1(&s, 1, &s, 2));
  assert_int_not_equal(hash1(&s, 0), hash1(&s, 5)); /* "" vs NULL */
  assert_false(eq1(&s, 0, &s, 5));
  assert_true(eq1(&s, 5, &s, 5));

  /* lists hash their elements: [1,2] int32 == [1,2] int64, != [2,1], != [1]
   * != [] != NULL; [NULL] != [] */
  col_column l32 = mklist(COL_INT32), l64 = mklist(COL_INT64);
  int32_t rows[][3] = {{2, 1, 2}, {2, 2, 1}, {1, 1, 0}, {0, 0, 0}};
  for (int r = 0; r < 4; r++) {
    for (int e = 0; e < rows[r][0]; e++) {
      OK(col_append_i32(l32.child, rows[r][1 + e], NULL));
      OK(col_append_i64(l64.child, rows[r][1 + e], NULL));
    }
    OK(col_list_end(&l32, NULL));
    OK(col_list_end(&l64, NULL));
  }
  OK(col_append_null(&l32, NULL));
  OK(col_append_null(l64.child, NULL));
  OK(col_list_end(&l64, NULL)); /* row 4 of l64: [NULL] */
  for (int r = 0; r < 4; r++) {
    assert_int_equal(hash1(&l32, r), hash1(&l64, r));
    assert_true(eq1(&l32, r, &l64, r));
    for (int q = 0; q < 5; q++) {
      if (q == r) continue;
      assert_int_not_equal(hash1(&l32, r), hash1(&l64, q));
      assert_false(eq1(&l32, r, &l64, q));
    }
  }
  assert_false(eq1(&l32, 4, &l64, 4));

  /* two key columns, in different column positions of the two tables */
  col_column t1[3], t2[2];
  t1[0] = mkcol(COL_UTF8);
  t1[1] = mkcol(COL_INT16);
  t1[2] = mkcol(COL_UTF8);
  t2[0] = mkcol(COL_INT64);
  t2[1] = mkcol(COL_UTF8);
  OK(col_append_bytes(&t1[0], "x", 1, NULL));
  OK(col_append_i16(&t1[1], 7, NULL));
  OK(col_append_bytes(&t1[2], "k", 1, NULL));
  OK(col_append_bytes(&t1[0], "y", 1, NULL));
  OK(col_append_i16(&t1[1], 8, NULL));
  OK(col_append_bytes(&t1[2], "k", 1, NULL));
  OK(col_append_i64(&t2[0], 8, NULL));
  OK(col_append_bytes(&t2[1], "k", 1, NULL));
  OK(col_append_i64(&t2[0], 7, NULL));
  OK(col_append_bytes(&t2[1], "k", 1, NULL));
  int k1[] = {1, 2}, k2[] = {0, 1}, k2r[] = {1, 0};
  uint64_t h1[2], h2[2], h2r[2];
  tkey_hash(t1, k1, 2, 0, 2, h1);
  tkey_hash(t2, k2, 2, 0, 2, h2);
  tkey_hash(t2, k2r, 2, 0, 2, h2r);
  assert_int_equal(h1[0], h2[1]);
  assert_int_equal(h1[1], h2[0]);
  assert_int_not_equal(h1[0], h2[0]);
  assert_int_not_equal(h2[0], h2r[0]); /* column order matters */
  assert_true(tkey_equal(t1, k1, 0, t2, k2, 1, 2));
  assert_true(tkey_equal(t1, k1, 1, t2, k2, 0, 2));
  assert_false(tkey_equal(t1, k1, 0, t2, k2, 0, 2));
  /* from > 0: the hash of a row does not depend on the range */
  uint64_t h1b;
  tkey_hash(t1, k1, 2, 1, 1, &h1b);
  assert_int_equal(h1b, h1[1]);

  for (int k = 0; k < 3; k++) col_free(&t1[k]);
  for (int k = 0; k < 2; k++) col_free(&t2[k]);
  col_free(&s);
  col_free(&b);
  col_free(&l32);
  col_free(&l64);
}

/* ---- mem multimap vs a naive model ---- */

typedef struct model_ent {
  uint64_t hash, loc;
} model_ent;

typedef struct collect {
  uint64_t locs[4096];
  int n;
  int stop_after; /* 0: never */
} collect;

static int collect_fn(void *arg, uint64_t loc) {
  collect *c = arg;
  if (c->n < 4096) c->locs[c->n] = loc;
  c->n++;
  return c->stop_after && c->n >= c->stop_after;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void check_lookup_mem(const tidx_mem *m, const model_ent *mod, int nmod,
                             uint64_t hash) {
  collect c = {.n = 0};
  tidx_mem_lookup(m, hash, collect_fn, &c);
  uint64_t want[4096];
  int nw = 0;
  for (int i = 0; i < nmod; i++)
    if (mod[i].hash == hash) want[nw++] = mod[i].loc;
  assert_int_equal(c.n, nw);
  qsort(c.locs, (size_t)c.n, 8, cmp_u64);
  qsort(want, (size_t)nw, 8, cmp_u64);
  for (int i = 0; i < nw; i++) assert_int_equal(c.locs[i], want[i]);
}

static void run_mem_model(uint64_t seed, int nhash_bits, int ops) {
  uint64_t rs = seed;
  tidx_mem *m;
  OK(tidx_mem_new(0, &m, NULL));
  int cap = 20000, n = 0;
  model_ent *mod = malloc((size_t)cap * sizeof *mod);
  assert_non_null(mod);
  uint64_t nextloc = 0;
  /* few distinct hashes (duplicates, equal homes) or full 64-bit ones */
  uint64_t hmask =
      nhash_bits >= 64 ? UINT64_MAX : (((uint64_t)1 << nhash_bits) - 1);
  for (int op = 0; op < ops; op++) {
    uint64_t r = rng_next(&rs) % 100;
    if (r < 50 && n < cap) {
      uint64_t h = rng_next(&rs) & hmask;
      uint64_t loc = nextloc++;
      OK(tidx_mem_insert(m, h, loc, NULL));
      mod[n].hash = h;
      mod[n].loc = loc;
      n++;
    } else if (r < 80 && n > 0) {
      int i = (int)(rng_next(&rs) % (uint64_t)n);
      assert_true(tidx_mem_remove(m, mod[i].hash, mod[i].loc));
      assert_false(tidx_mem_remove(m, mod[i].hash, mod[i].loc));
      mod[i] = mod[--n];
    } else if (r < 85) {
      /* absent (hash, loc) pair */
      assert_false(tidx_mem_remove(m, rng_next(&rs) & hmask, nextloc + 5));
    } else {
      uint64_t h = (n > 0 && (r & 1)) ? mod[rng_next(&rs) % (uint64_t)n].hash
                                      : rng_next(&rs) & hmask;
      check_lookup_mem(m, mod, n, h);
    }
    assert_int_equal(tidx_mem_count(m), n);
    if (op % 997 == 0) {
      for (uint64_t h = 0; h <= (hmask < 64 ? hmask : 64); h++)
        check_lookup_mem(m, mod, n, h);
    }
  }
  for (int i = 0; i < n; i++) check_lookup_mem(m, mod, n, mod[i].hash);
  tidx_mem_clear(m);
  assert_int_equal(tidx_mem_count(m), 0);
  if (n) check_lookup_mem(m, mod, 0, mod[0].hash);
  free(mod);
  tidx_mem_free(m);
}

static void test_mem_model(void **state) {
  (void)state;
  run_mem_model(1, 64, 60000); /* distinct hashes */
  run_mem_model(2, 10, 60000); /* many duplicates */
  run_mem_model(3, 3, 20000);  /* 8 hashes: long duplicate runs */
  run_mem_model(4, 0, 3000);   /* one hash for everything */
}

typedef struct first_loc {
  int n;
  uint64_t loc;
} first_loc;

static int first_fn(void *arg, uint64_t loc) {
  first_loc *f = arg;
  f->n++;
  f->loc = loc;
  return 0;
}

/* A table grown well past the sizes that migrate in one step (and past the
 * mapped-table size): inserts in runs, removals of every third entry while
 * migrations are in progress, and every entry looked up at the end, each
 * found exactly once (in the new table or the old one, never both). */
static void test_mem_incremental_growth(void **state) {
  (void)state;
  enum { N = 400000, RUN = 1000 };
  tidx_mem *m;
  OK(tidx_mem_new(0, &m, NULL));
  uint64_t *hs = malloc((size_t)N * sizeof *hs);
  assert_non_null(hs);
  for (int i = 0; i < N; i++) hs[i] = fhash_u64((uint64_t)i);
  int64_t maxbytes = 0, live = 0;
  for (int i = 0; i < N; i += RUN) {
    OK(tidx_mem_insert_run(m, hs + i, RUN, (uint32_t)(i / RUN), 0, NULL));
    live += RUN;
    /* remove every third entry of the previous run (its rows may sit in
     * the old table or the new one) */
    if (i >= RUN)
      for (int j = i - RUN; j < i; j += 3) {
        assert_true(tidx_mem_remove(m, hs[j], TIDX_LOC((j / RUN), j % RUN)));
        live--;
      }
    assert_int_equal(tidx_mem_count(m), live);
    if (tidx_mem_bytes(m) > maxbytes) maxbytes = tidx_mem_bytes(m);
    /* spot checks during the migration */
    for (int j = 0; j <= i; j += 7919) {
      first_loc f = {0, 0};
      tidx_mem_lookup(m, hs[j], first_fn, &f);
      bool removed = j < i && (j % RUN) % 3 == 0;
      assert_int_equal(f.n, removed ? 0 : 1);
      if (!removed) assert_int_equal(f.loc, TIDX_LOC(j / RUN, j % RUN));
    }
  }
  for (int j = 0; j < N; j++) {
    first_loc f = {0, 0};
    tidx_mem_lookup(m, hs[j], first_fn, &f);
    bool removed = j < N - RUN && (j % RUN) % 3 == 0;
    assert_int_equal(f.n, removed ? 0 : 1);
    if (!removed) assert_int_equal(f.loc, TIDX_LOC(j / RUN, j % RUN));
  }
  /* 16-byte slots at load <= 0.8 in the new table, plus the part of the
   * old one not yet handed back */
  assert_true(maxbytes <= (int64_t)N * 60);
  tidx_mem_clear(m);
  assert_int_equal(tidx_mem_count(m), 0);
  first_loc f = {0, 0};
  tidx_mem_lookup(m, hs[5], first_fn, &f);
  assert_int_equal(f.n, 0);
  free(hs);
  tidx_mem_free(m);
}

/* The compact layout (8-byte slots, batch locations packed against a base
 * id): the same model as run_mem_model, with batch locations; a lookup may
 * return extra candidates whose hash agrees in 32 mixed bits only, which
 * the model tells apart (the engine compares key values). Also: locations
 * outside the generation are refused, and the table takes about half the
 * bytes of the wide one. */
static void test_mem_compact(void **state) {
  (void)state;
  enum { BR = 64, CAP = 30000 };
  const uint32_t base = 1000;
  for (int pass = 0; pass < 3; pass++) {
    int hbits = pass == 0 ? 64 : pass == 1 ? 12 : 2;
    uint64_t hmask = hbits >= 64 ? UINT64_MAX : (((uint64_t)1 << hbits) - 1);
    uint64_t rs = 77 + (uint64_t)pass;
    tidx_mem *m;
    OK(tidx_mem_new_batches(0, base, BR, &m, NULL));
    model_ent *mod = malloc((size_t)CAP * sizeof *mod);
    assert_non_null(mod);
    int n = 0;
    uint64_t next = 0;
    int ops = pass == 2 ? 6000 : 80000;
    for (int op = 0; op < ops; op++) {
      uint64_t r = rng_next(&rs) % 100;
      if (r < 55 && n < CAP) {
        uint64_t h = rng_next(&rs) & hmask;
        uint64_t loc = TIDX_LOC(base + (uint32_t)(next / BR), next % BR);
        next++;
        OK(tidx_mem_insert(m, h, loc, NULL));
        mod[n].hash = h;
        mod[n].loc = loc;
        n++;
      } else if (r < 80 && n > 0) {
        int i = (int)(rng_next(&rs) % (uint64_t)n);
        assert_true(tidx_mem_remove(m, mod[i].hash, mod[i].loc));
        assert_false(tidx_mem_remove(m, mod[i].hash, mod[i].loc));
        mod[i] = mod[--n];
      } else if (n > 0) {
        uint64_t h = mod[rng_next(&rs) % (uint64_t)n].hash;
        collect c = {.n = 0};
        tidx_mem_lookup(m, h, collect_fn, &c);
        int want = 0, got = 0;
        for (int i = 0; i < n; i++) want += mod[i].hash == h;
        /* every returned location is a live entry; those of hash h are
         * exactly the model's */
        for (int j = 0; j < c.n; j++) {
          int i = 0;
          while (i < n && mod[i].loc != c.locs[j]) i++;
          assert_true(i < n);
          got += mod[i].hash == h;
        }
        assert_int_equal(got, want);
      }
      assert_int_equal(tidx_mem_count(m), n);
    }
    free(mod);
    tidx_mem_free(m);
  }
  tidx_mem *m;
  floe_error e;
  OK(tidx_mem_new_batches(1000, base, 4096, &m, NULL));
  assert_int_equal(tidx_mem_insert(m, 1, TIDX_LOC(base - 1, 0), &e),
                   FLOE_ERANGE);
  assert_int_equal(tidx_mem_insert(m, 1, TIDX_LOC(base, 4096), &e),
                   FLOE_ERANGE);
  assert_int_equal(tidx_mem_insert(m, 1, TIDX_LOC(base + (1u << 20), 0), &e),
                   FLOE_ERANGE);
  uint64_t hs[4096];
  for (int i = 0; i < 4096; i++) hs[i] = fhash_u64((uint64_t)i);
  assert_int_equal(tidx_mem_insert_run(m, hs, 4096, base, 1, &e), FLOE_ERANGE);
  assert_int_equal(tidx_mem_count(m), 0);
  OK(tidx_mem_insert_run(m, hs, 4096, base + 5, 0, NULL));
  assert_false(tidx_mem_remove(m, hs[3], TIDX_LOC(base - 1, 3)));
  assert_true(tidx_mem_remove(m, hs[3], TIDX_LOC(base + 5, 3)));
  /* 8 bytes a slot at load <= 0.8 */
  assert_true(tidx_mem_bytes(m) <= 4096 * 20 + 256);
  tidx_mem_free(m);
}

static void test_mem_basics(void **state) {
  (void)state;
  tidx_mem *m;
  floe_error e;
  OK(tidx_mem_new(1000, &m, NULL));
  int64_t b0 = tidx_mem_bytes(m);
  assert_true(b0 >= 1000 * 16);
  assert_int_equal(tidx_mem_insert(m, 5, UINT64_MAX, &e), FLOE_EINVAL);
  uint64_t hs[3000];
  for (int i = 0; i < 3000; i++) hs[i] = (uint64_t)i % 1500;
  OK(tidx_mem_insert_run(m, hs, 3000, 7, 100, NULL));
  assert_int_equal(tidx_mem_count(m), 3000);
  assert_true(tidx_mem_bytes(m) > b0); /* grew */
  assert_true(tidx_mem_bytes(m) <= 3000 * 40 + 64);
  collect c = {.n = 0};
  tidx_mem_lookup(m, 10, collect_fn, &c);
  assert_int_equal(c.n, 2);
  qsort(c.locs, 2, 8, cmp_u64);
  assert_int_equal(c.locs[0], TIDX_LOC(7, 110));
  assert_int_equal(c.locs[1], TIDX_LOC(7, 1610));
  assert_int_equal(TIDX_LOC_ID(c.locs[1]), 7);
  assert_int_equal(TIDX_LOC_ROW(c.locs[1]), 1610);
  /* early stop */
  c.n = 0;
  c.stop_after = 1;
  tidx_mem_lookup(m, 10, collect_fn, &c);
  assert_int_equal(c.n, 1);
  /* the reserved location is refused in runs too */
  assert_int_equal(
      tidx_mem_insert_run(m, hs, 2, UINT32_MAX, UINT32_MAX - 1, &e),
      FLOE_EINVAL);
  tidx_mem_free(m);
  tidx_mem_free(NULL);
}

/* ---- persisted file index ---- */

static char tmpdir[256];

static int setup_dir(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/floe-tidx-XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state) {
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static void tpath(char *out, size_t n, const char *name) {
  snprintf(out, n, "%s/%s", tmpdir, name);
}

/* One indexed row of the model: its hash and where it lives. */
typedef struct frow {
  uint64_t hash;
  uint32_t slot, row;
} frow;

/* Checks lookup(hash) against the model: every row with an equal hash is
 * returned, and nothing whose top 32 bits differ (the file keeps >= 32 bits;
 * exact_bits > 0: it keeps exactly that many top bits). */
static void check_lookup_file(const tidx_file *f, const frow *mod, int n,
                              uint64_t hash, int exact_bits) {
  collect c = {.n = 0};
  tidx_file_lookup(f, hash, collect_fn, &c);
  assert_true(c.n <= 4096);
  uint64_t want[4096];
  int nw = 0, nmax = 0;
  uint64_t m32 = ~(uint64_t)0 << 32;
  uint64_t mx = exact_bits >= 64 ? ~(uint64_t)0 : ~(~(uint64_t)0 >> exact_bits);
  for (int i = 0; i < n; i++) {
    uint64_t loc = TIDX_LOC(mod[i].slot, mod[i].row);
    if (exact_bits ? (mod[i].hash & mx) == (hash & mx) : mod[i].hash == hash)
      want[nw++] = loc;
    if ((mod[i].hash & m32) == (hash & m32)) nmax++;
  }
  qsort(c.locs, (size_t)c.n, 8, cmp_u64);
  qsort(want, (size_t)nw, 8, cmp_u64);
  if (exact_bits) {
    assert_int_equal(c.n, nw);
    for (int i = 0; i < nw; i++) assert_int_equal(c.locs[i], want[i]);
  } else {
    assert_true(c.n >= nw && c.n <= nmax);
    /* want is a subset of the result */
    int j = 0;
    for (int i = 0; i < c.n && j < nw; i++)
      if (c.locs[i] == want[j]) j++;
    assert_int_equal(j, nw);
  }
}

/* Builds covers + hashes: random 64-bit hashes, with duplicates and hashes
 * that share their top 40 or 56 bits (collisions inside a bucket). */
static void gen_rows(uint64_t *rs, const tidx_cover *cv, int ncv, frow *mod,
                     uint64_t *hashes, int *n) {
  int k = 0;
  for (int i = 0; i < ncv; i++) {
    for (int64_t r = 0; r < cv[i].rows; r++, k++) {
      uint64_t x = rng_next(rs), h;
      if (k > 0 && x % 10 == 0)
        h = hashes[rng_next(rs) % (uint64_t)k]; /* duplicate */
      else if (k > 0 && x % 10 == 1)
        h = (hashes[rng_next(rs) % (uint64_t)k] & ~(uint64_t)0xffffff) |
            (rng_next(rs) & 0xffffff); /* same top 40 bits */
      else if (k > 0 && x % 10 == 2)
        h = hashes[rng_next(rs) % (uint64_t)k] ^ 1; /* same top 63 */
      else
        h = rng_next(rs);
      hashes[k] = h;
      mod[k].hash = h;
      mod[k].slot = cv[i].slot;
      mod[k].row = (uint32_t)r;
    }
  }
  *n = k;
}

static void test_file_build_lookup(void **state) {
  (void)state;
  uint64_t rs = 42;
  char p[512];
  tpath(p, sizeof p, "a.idx");
  tidx_cover cv[3] = {{"data/f1.parquet", 1000, 10},
                      {"data/empty.parquet", 0, 11},
                      {"data/f3.parquet", 2500, 12}};
  int n;
  frow *mod = malloc(3500 * sizeof *mod);
  uint64_t *hs = malloc(3500 * sizeof *hs);
  gen_rows(&rs, cv, 3, mod, hs, &n);
  assert_int_equal(n, 3500);
  tidx_file *f;
  OK(tidx_file_build(p, cv, 3, hs, &f, NULL));
  assert_int_equal(tidx_file_rows(f), 3500);
  assert_int_equal(tidx_file_ncovers(f), 3);
  int64_t rows;
  assert_string_equal(tidx_file_cover_path(f, 2, &rows), "data/f3.parquet");
  assert_int_equal(rows, 2500);
  assert_int_equal(tidx_file_slot(f, 1), 11);
  assert_string_equal(tidx_file_path(f), p);
  for (int i = 0; i < n; i++) check_lookup_file(f, mod, n, mod[i].hash, 0);
  for (int i = 0; i < 2000; i++) check_lookup_file(f, mod, n, rng_next(&rs), 0);
  /* this file knows >= 40 bits: hashes differing below bit 24 collide,
   * hashes differing in bit 63 do not */
  collect c = {.n = 0};
  tidx_file_lookup(f, hs[0] ^ 1, collect_fn, &c);
  int same = 0;
  for (int i = 0; i < n; i++) same += (hs[i] | 1) == (hs[0] | 1);
  assert_true(c.n >= same);
  c.n = 0;
  tidx_file_lookup(f, hs[0] ^ ((uint64_t)1 << 63), collect_fn, &c);
  for (int i = 0; i < c.n; i++) assert_true(c.locs[i] != TIDX_LOC(10, 0));
  int64_t b = tidx_file_bytes(f);
  assert_true(b > 0 && b < 3500 * 16 + 4096 * 2);
  tidx_file_close(f, 0);

  /* reopen: same answers once the slots are set */
  OK(tidx_file_open(p, &f, NULL));
  assert_int_equal(tidx_file_slot(f, 2), 2);
  for (int i = 0; i < 3; i++) tidx_file_set_slot(f, i, cv[i].slot);
  for (int i = 0; i < n; i += 3) check_lookup_file(f, mod, n, mod[i].hash, 42);
  tidx_file_close(f, 1);
  assert_int_equal(access(p, F_OK), -1); /* unlinked */
  floe_error e;
  assert_int_equal(tidx_file_open(p, &f, &e), FLOE_ENOTFOUND);

  /* empty index, and one with every hash equal */
  tidx_cover none = {"x", 0, 1};
  OK(tidx_file_build(p, &none, 1, hs, &f, NULL));
  c.n = 0;
  tidx_file_lookup(f, hs[0], collect_fn, &c);
  assert_int_equal(c.n, 0);
  tidx_file_close(f, 1);
  OK(tidx_file_build(p, NULL, 0, hs, &f, NULL));
  assert_int_equal(tidx_file_rows(f), 0);
  tidx_file_close(f, 1);
  tidx_cover dup = {"dup", 3000, 5};
  for (int i = 0; i < 3000; i++) hs[i] = 0xabcdef0123456789ULL;
  OK(tidx_file_build(p, &dup, 1, hs, &f, NULL));
  c.n = 0;
  tidx_file_lookup(f, hs[0], collect_fn, &c);
  assert_int_equal(c.n, 3000);
  qsort(c.locs, 3000, 8, cmp_u64);
  for (int i = 0; i < 3000; i++) assert_int_equal(c.locs[i], TIDX_LOC(5, i));
  c.n = 0;
  c.stop_after = 2;
  tidx_file_lookup(f, hs[0], collect_fn, &c);
  assert_int_equal(c.n, 2);
  tidx_file_close(f, 1);
  free(mod);
  free(hs);
}

static bool live_fn(void *arg, uint32_t slot) {
  const uint32_t *dead = arg;
  for (int i = 0; dead[i]; i++)
    if (dead[i] == slot) return false;
  return true;
}

static void test_file_merge(void **state) {
  (void)state;
  uint64_t rs = 7;
  /* three inputs of different sizes (different directory bits) */
  tidx_cover ca[2] = {{"a1", 300, 1}, {"a2", 200, 2}};
  tidx_cover cb[1] = {{"b1", 20000, 3}};
  tidx_cover cc[3] = {{"c1", 40, 4}, {"c2", 7000, 5}, {"c3", 1, 6}};
  tidx_cover *ins[3] = {ca, cb, cc};
  int nins[3] = {2, 1, 3};
  frow *mod = malloc(30000 * sizeof *mod);
  uint64_t *hs = malloc(30000 * sizeof *hs);
  int total = 0;
  tidx_file *f[3];
  for (int i = 0; i < 3; i++) {
    char p[512], name[16];
    snprintf(name, sizeof name, "in%d.idx", i);
    tpath(p, sizeof p, name);
    int n;
    gen_rows(&rs, ins[i], nins[i], mod + total, hs + total, &n);
    /* later inputs also repeat hashes of earlier ones (duplicate keys
     * across files, as updates make) */
    for (int k = 0; total > 0 && k < n; k += 5) {
      hs[total + k] = hs[rng_next(&rs) % (uint64_t)total];
      mod[total + k].hash = hs[total + k];
    }
    OK(tidx_file_build(p, ins[i], nins[i], hs + total, &f[i], NULL));
    total += n;
  }
  /* drop a2 and c2 */
  uint32_t dead[] = {2, 5, 0};
  int nlive = 0;
  frow *live = malloc((size_t)total * sizeof *live);
  for (int i = 0; i < total; i++)
    if (mod[i].slot != 2 && mod[i].slot != 5) live[nlive++] = mod[i];
  char p[512];
  tpath(p, sizeof p, "merged.idx");
  tidx_file *m;
  OK(tidx_file_merge(p, f, 3, live_fn, dead, &m, NULL));
  assert_int_equal(tidx_file_rows(m), nlive);
  assert_int_equal(tidx_file_ncovers(m), 4);
  const char *names[] = {"a1", "b1", "c1", "c3"};
  uint32_t slots[] = {1, 3, 4, 6};
  for (int i = 0; i < 4; i++) {
    int64_t r;
    assert_string_equal(tidx_file_cover_path(m, i, &r), names[i]);
    assert_int_equal(tidx_file_slot(m, i), slots[i]);
  }
  /* the inputs knew 7 + 32, 13 + 32 and 11 + 32 bits: the output 39 */
  for (int i = 0; i < nlive; i++)
    check_lookup_file(m, live, nlive, live[i].hash, 39);
  for (int i = 0; i < total; i++) {
    if (mod[i].slot == 2 || mod[i].slot == 5)
      check_lookup_file(m, live, nlive, mod[i].hash, 39);
  }
  for (int i = 0; i < 2000; i++)
    check_lookup_file(m, live, nlive, rng_next(&rs), 39);
  /* the merged file reopens and is the same */
  tidx_file *m2;
  OK(tidx_file_open(p, &m2, NULL));
  for (int i = 0; i < 4; i++) tidx_file_set_slot(m2, i, slots[i]);
  for (int i = 0; i < nlive; i += 7)
    check_lookup_file(m2, live, nlive, live[i].hash, 39);
  /* merging a merged file again (with a small one), everything live */
  char p2[512];
  tpath(p2, sizeof p2, "merged2.idx");
  tidx_file *ins2[2] = {m2, f[0]};
  tidx_file *m3;
  uint32_t none[] = {0};
  OK(tidx_file_merge(p2, ins2, 2, live_fn, none, &m3, NULL));
  assert_int_equal(tidx_file_rows(m3), nlive + 500);
  for (int i = 0; i < total; i++) {
    if (mod[i].slot != 1 && mod[i].slot != 2) continue;
    live[nlive++] = mod[i]; /* a1 twice now (two covers with slot 1) */
  }
  for (int i = 0; i < nlive; i += 3)
    check_lookup_file(m3, live, nlive, live[i].hash, 39);
  tidx_file_close(m3, 1);
  /* all dead: an empty index */
  uint32_t all[] = {1, 2, 3, 4, 5, 6, 0};
  OK(tidx_file_merge(p2, f, 3, live_fn, all, &m3, NULL));
  assert_int_equal(tidx_file_rows(m3), 0);
  assert_int_equal(tidx_file_ncovers(m3), 0);
  collect c = {.n = 0};
  tidx_file_lookup(m3, hs[0], collect_fn, &c);
  assert_int_equal(c.n, 0);
  tidx_file_close(m3, 1);
  tidx_file_close(m2, 0);
  tidx_file_close(m, 1);
  for (int i = 0; i < 3; i++) tidx_file_close(f[i], 1);
  free(live);
  free(mod);
  free(hs);
}

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  long len = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)len + 1);
  assert_int_equal(fread(b, 1, (size_t)len, fp), (size_t)len);
  fclose(fp);
  *n = (size_t)len;
  return b;
}

static void spill(const char *path, const uint8_t *b, size_t n) {
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(b, 1, n, fp), n);
  fclose(fp);
}

static void expect_corrupt(const char *path) {
  tidx_file *f = (tidx_file *)1;
  floe_error e;
  floe_status st = tidx_file_open(path, &f, &e);
  if (st != FLOE_ECORRUPT) fprintf(stderr, "status %d: %s\n", st, e.msg);
  assert_int_equal(st, FLOE_ECORRUPT);
  assert_null(f);
  assert_non_null(strstr(e.msg, path));
}

/* Every truncation, every single-byte change and appended bytes are
 * refused as corrupt, naming the file. */
static void test_file_corrupt(void **state) {
  (void)state;
  uint64_t rs = 99;
  char p[512], q[512];
  tpath(p, sizeof p, "ok.idx");
  tpath(q, sizeof q, "bad.idx");
  tidx_cover cv[2] = {{"one.parquet", 150, 1}, {"two.parquet", 90, 2}};
  frow mod[240];
  uint64_t hs[240];
  int n;
  gen_rows(&rs, cv, 2, mod, hs, &n);
  tidx_file *f;
  OK(tidx_file_build(p, cv, 2, hs, &f, NULL));
  tidx_file_close(f, 0);
  size_t len;
  uint8_t *b = slurp(p, &len);
  assert_true(len > 240 * 8);
  for (size_t cut = 0; cut < len; cut++) {
    spill(q, b, cut);
    expect_corrupt(q);
  }
  for (size_t off = 0; off < len; off++) {
    uint8_t keep = b[off];
    b[off] ^= (uint8_t)(1u << (off % 8));
    spill(q, b, len);
    expect_corrupt(q);
    b[off] = (uint8_t)(keep + 0x55);
    spill(q, b, len);
    expect_corrupt(q);
    b[off] = keep;
  }
  uint8_t *longer = malloc(len + 8);
  memcpy(longer, b, len);
  memset(longer + len, 0, 8);
  spill(q, longer, len + 8);
  expect_corrupt(q);
  /* the intact bytes open; a well-formed future version is unsupported */
  spill(q, b, len);
  OK(tidx_file_open(q, &f, NULL));
  tidx_file_close(f, 0);
  uint32_t hl, v2 = 2;
  memcpy(&hl, b + 12, 4);
  memcpy(b + 8, &v2, 4);
  uint32_t crc = fcrc32(0, b, hl);
  memcpy(b + hl, &crc, 4);
  spill(q, b, len);
  floe_error e;
  assert_int_equal(tidx_file_open(q, &f, &e), FLOE_EUNSUPPORTED);
  assert_non_null(strstr(e.msg, "version 2"));
  free(longer);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_key_normalisation),
      cmocka_unit_test(test_key_bytes_lists_multi),
      cmocka_unit_test(test_mem_basics),
      cmocka_unit_test(test_mem_compact),
      cmocka_unit_test(test_mem_incremental_growth),
      cmocka_unit_test(test_mem_model),
      cmocka_unit_test(test_file_build_lookup),
      cmocka_unit_test(test_file_merge),
      cmocka_unit_test(test_file_corrupt),
  };
  return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
