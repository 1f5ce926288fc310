/*
 * Schema changes: columns added (with an initial default), widened, made
 * nullable, dropped, renamed; rows in data files, in the mem slice and in an
 * open transaction that spans the change all read back in the new schema;
 * refused changes leave the table as it was; a reopen sees the new schema.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "engine_util.h"

/* One scanned row of (id int64, n int64, w utf8) — the schema after the
 * changes below; nulls as has_* = 0. */
typedef struct arow {
  int64_t id, n;
  int has_n;
  char w[32];
  int has_w;
} arow;

static int arow_cmp(const void *a, const void *b) {
  const arow *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* Scans (id, n, w) from a fresh read state. */
static int scan3(floe_table *t, arow *out, int max) {
  floe_read_state *rs = NULL;
  EOK(floe_read_state_get(t, 0, 0, &rs, E));
  const char *cols[3] = {"id", "n", "w"};
  struct ArrowArrayStream st;
  EOK(floe_scan(rs, cols, 3, &st, E));
  int k = 0;
  struct ArrowArray a;
  for (;;) {
    memset(&a, 0, sizeof a);
    assert_int_equal(st.get_next(&st, &a), 0);
    if (!a.release) break;
    for (int64_t i = 0; i < a.length && k < max; i++, k++) {
      arow *r = &out[k];
      memset(r, 0, sizeof *r);
      r->id = ((const int64_t *)a.children[0]->buffers[1])[i];
      r->has_n = abit(a.children[1]->buffers[0], i);
      if (r->has_n) r->n = ((const int64_t *)a.children[1]->buffers[1])[i];
      r->has_w = abit(a.children[2]->buffers[0], i);
      if (r->has_w) {
        const int32_t *o = a.children[2]->buffers[1];
        snprintf(r->w, sizeof r->w, "%.*s", o[i + 1] - o[i],
                 (const char *)a.children[2]->buffers[2] + o[i]);
      }
    }
    a.release(&a);
  }
  st.release(&st);
  floe_read_state_release(rs);
  qsort(out, (size_t)k, sizeof *out, arow_cmp);
  return k;
}

static void test_alter(void **state) {
  (void)state;
  efx *f = efx_new(1);
  for (int i = 0; i < 10; i++) {
    erow_set(f->r, i, "v", 1, i);
    EOK(floe_insert(f->t, 1, 1, f->r, E));
  }
  EOK(floe_commit(f->t, 1, 10, E));
  EOK(floe_table_flush(f->t, E)); /* rows 0..9 in a file */
  for (int i = 10; i < 15; i++) {
    erow_set(f->r, i, "v", 1, i);
    EOK(floe_insert(f->t, 2, 2, f->r, E));
  }
  EOK(floe_commit(f->t, 2, 20, E)); /* 10..14 in memory */
  /* an open txn across the change */
  erow_set(f->r, 100, "open", 1, 100);
  EOK(floe_insert(f->t, 3, 3, f->r, E));
  erow_set(f->o, 2, NULL, 0, 0);
  EOK(floe_delete(f->t, 3, 3, f->o, E));

  /* refused: narrowing, a type change, NOT NULL, dropping the key */
  floe_column bad[3] = {ECOLS[0], ECOLS[1], ECOLS[2]};
  floe_error e;
  bad[2].type = FLOE_FLOAT64;
  assert_int_equal(floe_table_alter(f->t, bad, 3, &e), FLOE_EUNSUPPORTED);
  bad[2].type = FLOE_INT16; /* Iceberg has one int: a no-op */
  EOK(floe_table_alter(f->t, bad, 3, E));
  bad[2].type = FLOE_UTF8;
  assert_int_equal(floe_table_alter(f->t, bad, 3, &e), FLOE_EUNSUPPORTED);
  bad[2] = ECOLS[2];
  bad[1].nullable = 0;
  assert_int_equal(floe_table_alter(f->t, bad, 3, &e), FLOE_EUNSUPPORTED);
  assert_int_equal(floe_table_alter(f->t, &ECOLS[1], 2, &e), FLOE_EUNSUPPORTED);
  const floe_column *now = NULL;
  assert_int_equal(floe_table_columns(f->t, &now), 3);
  assert_int_equal(now[2].type, FLOE_INT32);

  /* n int32 -> int64, v dropped, w added with a default */
  floe_column nc[3] = {ECOLS[0], ECOLS[2], ECOLS[1]};
  nc[1].type = FLOE_INT64;
  nc[2].name = "w";
  nc[2].initial_default = "\"dflt\"";
  EOK(floe_table_alter(f->t, nc, 3, E));
  assert_int_equal(floe_table_columns(f->t, &now), 3);
  assert_string_equal(now[1].name, "n");
  assert_int_equal(now[1].type, FLOE_INT64);
  assert_string_equal(now[2].name, "w");

  /* rows built for the old schema are refused; new rows work */
  assert_int_equal(floe_insert(f->t, 3, 3, f->r, &e), FLOE_EINVAL);
  efx_drop_rows(f);
  EOK(floe_row_new(f->t, &f->r, E));
  EOK(floe_row_new(f->t, &f->o, E));
  floe_row_reset(f->r);
  EOK(floe_row_set_int(f->r, 0, 101, E));
  EOK(floe_row_set_int(f->r, 1, (int64_t)1 << 40, E));
  EOK(floe_row_set_bytes(f->r, 2, "new", 3, E));
  EOK(floe_insert(f->t, 3, 3, f->r, E));
  /* an update with w unchanged, of a row written before the change */
  floe_row_reset(f->r);
  EOK(floe_row_set_int(f->r, 0, 12, E));
  EOK(floe_row_set_int(f->r, 1, -12, E));
  EOK(floe_row_set_unchanged(f->r, 2, E));
  EOK(floe_update(f->t, 3, 3, NULL, f->r, E));
  EOK(floe_commit(f->t, 3, 30, E));

  arow got[64];
  int n = scan3(f->t, got, 64);
  assert_int_equal(n, 16); /* 15 - 1 deleted + 2 new */
  for (int i = 0; i < n; i++) {
    const arow *r = &got[i];
    assert_int_not_equal(r->id, 2);
    if (r->id == 101) {
      assert_int_equal(r->n, (int64_t)1 << 40);
      assert_string_equal(r->w, "new");
    } else if (r->id == 12) {
      assert_int_equal(r->n, -12);
      assert_string_equal(r->w, "dflt");
    } else {
      assert_true(r->has_n);
      assert_int_equal(r->n, r->id);
      assert_true(r->has_w);
      assert_string_equal(r->w, "dflt");
    }
  }
  /* rename, then reopen */
  EOK(floe_table_rename_column(f->t, "w", "w2", E));
  assert_int_equal(floe_table_columns(f->t, &now), 3);
  assert_string_equal(now[2].name, "w2");
  EOK(floe_table_rename_column(f->t, "w2", "w", E));
  efx_drop_rows(f);
  EOK(floe_table_close(f->t, E));
  f->t = NULL;
  floe_column again[3] = {ECOLS[0], nc[1], nc[2]};
  again[2].initial_default = NULL;
  EOK(floe_table_open(&f->ref, again, 3, EKEY, 1, &f->cfg, &f->t, E));
  n = scan3(f->t, got, 64);
  assert_int_equal(n, 16);
  assert_int_equal(got[n - 1].id, 101);
  /* the old definition no longer matches */
  floe_table *t2 = NULL;
  assert_int_equal(
      floe_table_open(&f->ref, ECOLS, 3, EKEY, 1, &f->cfg, &t2, &e),
      FLOE_EINVAL);
  efx_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alter),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
