/*
 * Reuse of transaction memory (txn_int.h tbl_pool): many source
 * transactions in a row - inserts, updates (some with an unchanged TOAST
 * column), deletes, savepoints rolled back, whole aborts, a second
 * transaction interleaved, now and then one large enough to seal full
 * chunks or to spill - must leave exactly the rows a model says, and once
 * warm, small transactions must build nothing new (the pool's counters).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine_util.h"
#include "table/txn_int.h"

#define MAXID 20000

typedef struct model {
  bool live[MAXID];
  int32_t ver[MAXID], vver[MAXID]; /* the row's version; v's version */
} model;

typedef struct op {
  int kind; /* 0 insert, 1 update, 2 update with v unchanged, 3 delete */
  int64_t id;
  int32_t ver;
} op;

typedef struct fx {
  efx *f;
  model committed, cur; /* cur: committed + the open txn's live ops */
  op ops[4096];
  int nop;
  int64_t next_id;
  int32_t next_ver;
  uint32_t xid, next_sub;
  uint64_t lsn, rng;
} fx;

static uint64_t rnd(fx *x) {
  x->rng ^= x->rng << 13;
  x->rng ^= x->rng >> 7;
  x->rng ^= x->rng << 17;
  return x->rng;
}

static void apply(model *m, const op *o) {
  switch (o->kind) {
  case 0:
    m->live[o->id] = true;
    m->ver[o->id] = m->vver[o->id] = o->ver;
    break;
  case 1: m->ver[o->id] = m->vver[o->id] = o->ver; break;
  case 2: m->ver[o->id] = o->ver; break;
  default: m->live[o->id] = false;
  }
}

static void fill(fx *x, floe_row *r, int64_t id, int32_t ver, int32_t vver,
                 bool toast) {
  char v[32];
  snprintf(v, sizeof v, "v%" PRId64 "_%d", id, (int)vver);
  erow_set(r, id, toast ? NULL : v, ver % 5 != 0, ver % 1000);
  if (toast) EOK(floe_row_set_unchanged(r, 1, E));
  (void)x;
}

static void check(fx *x) {
  eset want = {0, 0, NULL};
  char v[32];
  for (int64_t id = 0; id < x->next_id; id++) {
    if (!x->committed.live[id]) continue;
    snprintf(v, sizeof v, "v%" PRId64 "_%d", id, (int)x->committed.vver[id]);
    int32_t ver = x->committed.ver[id];
    eset_add(&want, id, v, ver % 5 != 0, ver % 5 ? ver % 1000 : 0);
  }
  assert_int_equal(check_view(x->f->t, &want, "txnpool"), 0);
  eset_free(&want);
}

/* A live id from the txn's point of view (-1 when none found quickly). */
static int64_t pick_live(fx *x) {
  if (!x->next_id) return -1;
  for (int i = 0; i < 64; i++) {
    int64_t id = (int64_t)(rnd(x) % (uint64_t)x->next_id);
    if (x->cur.live[id]) return id;
  }
  return -1;
}

/* One change in subtransaction sub of the open txn. */
static void change(fx *x, uint32_t sub) {
  efx *f = x->f;
  op o = {0, 0, x->next_ver++};
  uint64_t r = rnd(x) % 10;
  int64_t id = r < 4 ? -1 : pick_live(x);
  if (id < 0 || x->next_id + 1 >= MAXID) {
    if (x->next_id + 1 >= MAXID) return;
    o.kind = 0;
    o.id = x->next_id++;
    fill(x, f->r, o.id, o.ver, o.ver, false);
    EOK(floe_insert(f->t, x->xid, sub, f->r, E));
  } else if (r < 7) {
    o.kind = r == 6 ? 2 : 1;
    o.id = id;
    fill(x, f->r, id, o.ver, o.ver, o.kind == 2);
    EOK(floe_update(f->t, x->xid, sub, NULL, f->r, E));
  } else {
    o.kind = 3;
    o.id = id;
    erow_set(f->o, id, NULL, 0, 0);
    EOK(floe_delete(f->t, x->xid, sub, f->o, E));
  }
  apply(&x->cur, &o);
  x->ops[x->nop++] = o;
}

/* A transaction of nchanges changes, maybe with a savepoint rolled back,
 * committed or (rollback) aborted. */
static void txn(fx *x, int nchanges, bool savepoint, bool rollback) {
  efx *f = x->f;
  x->nop = 0;
  x->cur = x->committed;
  int sp_at = savepoint ? (int)(rnd(x) % (uint64_t)(nchanges + 1)) : -1;
  uint32_t sub = x->xid;
  int sp_op = 0;
  for (int i = 0; i < nchanges; i++) {
    if (i == sp_at) {
      sub = x->next_sub++;
      sp_op = x->nop;
    }
    change(x, sub);
  }
  if (savepoint && sub != x->xid) {
    /* ROLLBACK TO SAVEPOINT: its changes go, then one more change */
    EOK(floe_abort(f->t, x->xid, sub, E));
    x->nop = sp_op;
    x->cur = x->committed;
    for (int i = 0; i < x->nop; i++) apply(&x->cur, &x->ops[i]);
    change(x, x->xid);
  }
  if (rollback) {
    EOK(floe_abort(f->t, x->xid, x->xid, E));
  } else {
    x->lsn += 16;
    EOK(floe_commit(f->t, x->xid, x->lsn, E));
    x->committed = x->cur;
  }
  x->xid++;
}

/* A second transaction interleaved with x's next one: inserts only, of
 * ids no one else touches. */
static void interleaved(fx *x) {
  efx *f = x->f;
  uint32_t other = x->xid + 1000000;
  op o = {0, x->next_id++, x->next_ver++};
  fill(x, f->r, o.id, o.ver, o.ver, false);
  EOK(floe_insert(f->t, other, other, f->r, E));
  txn(x, 2, false, false);
  x->lsn += 16;
  EOK(floe_commit(f->t, other, x->lsn, E));
  apply(&x->committed, &o);
}

static void test_pool_many_txns(void **state) {
  (void)state;
  fx *x = calloc(1, sizeof *x);
  assert_non_null(x);
  x->f = efx_new(1);
  /* reopen with 64-row chunks and a small spill threshold */
  efx *f = x->f;
  efx_drop_rows(f);
  floe_table_free(f->t);
  f->cfg.batch_rows = 64;
  f->cfg.txn_spill_bytes = 8192;
  efx_open(f, 1);
  x->xid = 100;
  x->next_sub = 5000000;
  x->lsn = 1000;
  x->rng = 0x1234567;

  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 300; i++) {
      uint64_t r = rnd(x) % 100;
      if (r < 3)
        txn(x, 150 + (int)(rnd(x) % 200), r == 0, false); /* seals/spills */
      else if (r < 8)
        interleaved(x);
      else
        txn(x, 1 + (int)(rnd(x) % 3), r % 3 == 0, r % 10 == 9);
      if (i % 50 == 0) check(x);
    }
    check(x);
    if (round == 1) EOK(floe_table_flush(f->t, E)); /* TOAST from files */
  }

  /* warm: small transactions of every kind build nothing new */
  for (int i = 0; i < 20; i++) txn(x, 3, i % 2, false);
  tbl_pool *p = f->t->pool;
  assert_non_null(p);
  int64_t ft = p->fresh_txns, fc = p->fresh_chunks;
  for (int i = 0; i < 500; i++) {
    uint64_t r = rnd(x) % 10;
    if (r == 0)
      interleaved(x);
    else
      txn(x, 1 + (int)(rnd(x) % 3), r < 4, r == 9);
  }
  check(x);
  assert_int_equal(p->fresh_txns, ft);
  assert_int_equal(p->fresh_chunks, fc);
  /* bounded: at most the pool's capacity is kept */
  assert_true(p->ntxn <= TBL_POOL_TXNS && p->nchunk <= TBL_POOL_CHUNKS);
  efx_free(f);
  free(x);
}

/* A schema change while a transaction is open: chunks pooled before it
 * must not be handed to the converted transaction. */
static void test_pool_schema_change(void **state) {
  (void)state;
  efx *f = efx_new(1); /* batch_rows 8 */
  for (int64_t id = 2; id < 5; id++) {
    erow_set(f->r, id, "b", 1, (int32_t)id);
    EOK(floe_insert(f->t, 11, 11, f->r, E));
  }
  /* another txn commits while 11 is open: its chunk goes to the pool */
  erow_set(f->r, 1, "a", 1, 1);
  EOK(floe_insert(f->t, 10, 10, f->r, E));
  EOK(floe_commit(f->t, 10, 100, E));
  floe_column cols[4];
  memcpy(cols, ECOLS, sizeof ECOLS);
  memset(&cols[3], 0, sizeof cols[3]);
  cols[3].name = "extra";
  cols[3].type = FLOE_INT64;
  cols[3].nullable = 1;
  EOK(floe_table_alter(f->t, cols, 4, E));
  efx_drop_rows(f);
  EOK(floe_row_new(f->t, &f->r, E));
  EOK(floe_row_new(f->t, &f->o, E));
  /* past the open chunk: a new one is needed */
  for (int64_t id = 5; id < 25; id++) {
    erow_set(f->r, id, "c", 1, (int32_t)id);
    EOK(floe_row_set_int(f->r, 3, id * 10, E));
    EOK(floe_insert(f->t, 11, 11, f->r, E));
  }
  EOK(floe_commit(f->t, 11, 200, E));
  /* and new transactions after it */
  for (uint32_t xid = 12; xid < 40; xid++) {
    erow_set(f->r, 100 + xid, "d", 0, 0);
    EOK(floe_insert(f->t, xid, xid, f->r, E));
    EOK(floe_commit(f->t, xid, 200 + xid, E));
  }
  floe_read_state *rs = NULL;
  EOK(floe_read_state_get(f->t, 0, 0, &rs, E));
  assert_int_equal(floe_read_state_rows(rs), 24 + 28);
  const char *col = "extra";
  struct ArrowArrayStream st;
  EOK(floe_scan(rs, &col, 1, &st, E));
  int64_t sum = 0, n = 0;
  struct ArrowArray a;
  while (st.get_next(&st, &a) == 0 && a.release) {
    const int64_t *v = a.children[0]->buffers[1];
    const uint8_t *valid = a.children[0]->buffers[0];
    for (int64_t i = 0; i < a.length; i++) {
      int64_t k = i + a.children[0]->offset;
      if (!valid || (valid[k >> 3] >> (k & 7)) & 1) {
        sum += v[k];
        n++;
      }
    }
    a.release(&a);
  }
  st.release(&st);
  floe_read_state_release(rs);
  assert_int_equal(n, 20);
  assert_int_equal(sum, 10 * (5 + 24) * 20 / 2);
  efx_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pool_many_txns),
      cmocka_unit_test(test_pool_schema_change),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
