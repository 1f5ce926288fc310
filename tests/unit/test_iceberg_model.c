/*
 * A randomized model test of the whole Iceberg layer (table.h): the write
 * half (ice_table_write_data, ice_txn_*, expire, orphans, schema updates)
 * and the read half (ice_table_plan, ice_scan_*) against a plain in-memory
 * model of the table: its live data files, each with its rows by position
 * and a deleted flag per position.
 *
 * After every random step a fresh plan + scan must equal the model row for
 * row (sorted by id), the snapshot summary totals must match it, and time
 * travel to remembered older snapshots must still give their rows (until
 * expired). Steps: append, delete rows, update (delete + append in one
 * txn), remove a file, compaction (replace), abort, reopen, a second handle
 * committing concurrently, expire + orphans, schema evolution.
 *
 * Seeds are fixed (reproducible); FLOE_MODEL_STEPS sets the steps per seed
 * (default keeps the test at a few seconds), FLOE_MODEL_SEED offsets the
 * filesystem seeds to explore others. With FLOE_DUMP_DIR set, one
 * extra run leaves its finished table db.model in that warehouse for the
 * interop tests (tests/interop/iceberg.test.mjs).
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "iceberg/manifest.h"
#include "iceberg/schema.h"
#include "iceberg/table.h"

#define OK(x)                                                                  \
  do {                                                                         \
    floe_error e_;                                                             \
    floe_status s_ = (x);                                                      \
    if (s_ != FLOE_OK) fail_msg("%s: %s", #x, e_.msg);                         \
  } while (0)

/* Field ids of the model table. */
enum { F_ID = 1, F_A = 2, F_S = 3, F_N = 4, F_X = 5 };
#define X_DEFAULT 7

typedef struct row {
  int64_t id;
  int64_t a;
  char s[16];
  bool n_null;
  int64_t n;
  int32_t x; /* the added column (X_DEFAULT for rows written before) */
} row;

typedef struct mfile {
  char *path;
  int nrows;
  row *rows;
  bool *del;
  int64_t frid; /* first_row_id once seen, else -2 */
} mfile;

typedef struct model {
  int nfiles, cap;
  mfile *f;
} model;

/* Schema evolution stages reached so far. */
typedef struct evo {
  bool added, renamed, widened, dropped;
} evo;

typedef struct remembered {
  int64_t sid;
  int n;
  row *rows; /* sorted by id */
} remembered;

#define NREM 4

typedef struct world {
  char dir[256];
  char uri[300];
  bool sqlite;
  bool keep;        /* FLOE_DUMP_DIR: leave the warehouse */
  bool partitioned; /* bucket[2](id) */
  bool hold_drop;   /* the dump run drops its column only at the end */
  ice_catalog *cat;
  ice_table *t;
  model m;
  evo ev;
  int64_t next_id;
  uint64_t rng;
  remembered rem[NREM];
  int nrem;
  int step;
  int *counts; /* per step kind, summed over runs (coverage check) */
} world;

enum {
  K_APPEND,
  K_DELETE,
  K_UPDATE,
  K_REMOVE,
  K_COMPACT,
  K_ABORT,
  K_REOPEN,
  K_CONCURRENT,
  K_CONFLICT, /* the stale commit touched a removed file */
  K_EXPIRE,
  K_SAME_FILE,    /* both handles delete rows of one file */
  K_TWO_TXNS,     /* two txns of one handle interleaved */
  K_COMPACT_RACE, /* a delete lands between a rewrite's read and commit */
  K_STALE_SCHEMA, /* a stale txn lands across another handle's schema change */
  K_EXPIRED_TT,   /* a remembered snapshot went away */
  K_EVOLVE,
  K_TIME_TRAVEL,
  K_COUNT
};
static const char *const kind_names[K_COUNT] = {
    "append",    "delete",     "update",       "remove",       "compact",
    "abort",     "reopen",     "concurrent",   "conflict",     "expire",
    "same-file", "two-txns",   "compact-race", "stale-schema", "expired-tt",
    "evolve",    "time-travel"};

static uint64_t rnd(world *w) {
  /* xorshift64*: reproducible per seed */
  w->rng ^= w->rng >> 12;
  w->rng ^= w->rng << 25;
  w->rng ^= w->rng >> 27;
  return w->rng * 2685821657736338717ULL;
}
static int rint_(world *w, int n) { return (int)(rnd(w) % (uint64_t)n); }

static int64_t tnow(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- model ---- */

static void mfile_free(mfile *f) {
  free(f->path);
  free(f->rows);
  free(f->del);
}

static void model_free(model *m) {
  for (int i = 0; i < m->nfiles; i++) mfile_free(&m->f[i]);
  free(m->f);
  memset(m, 0, sizeof *m);
}

static void model_add(model *m, const char *path, const row *rows, int n) {
  if (m->nfiles == m->cap) {
    m->cap = m->cap ? m->cap * 2 : 8;
    m->f = realloc(m->f, (size_t)m->cap * sizeof *m->f);
    assert_non_null(m->f);
  }
  mfile *f = &m->f[m->nfiles++];
  f->path = strdup(path);
  f->nrows = n;
  f->rows = malloc((size_t)n * sizeof *rows + 1);
  memcpy(f->rows, rows, (size_t)n * sizeof *rows);
  f->del = calloc((size_t)n + 1, 1);
  f->frid = -2;
}

static void model_remove(model *m, int i) {
  mfile_free(&m->f[i]);
  m->f[i] = m->f[--m->nfiles];
}

static int model_find(const model *m, const char *path) {
  for (int i = 0; i < m->nfiles; i++)
    if (!strcmp(m->f[i].path, path)) return i;
  return -1;
}

static int live_in(const mfile *f) {
  int n = 0;
  for (int i = 0; i < f->nrows; i++) n += !f->del[i];
  return n;
}

static int cmp_row(const void *a, const void *b) {
  const row *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* The model's live rows sorted by id (caller frees). */
static row *model_rows(const model *m, int *n) {
  int total = 0;
  for (int i = 0; i < m->nfiles; i++) total += live_in(&m->f[i]);
  row *r = malloc((size_t)total * sizeof *r + 1);
  int k = 0;
  for (int i = 0; i < m->nfiles; i++)
    for (int j = 0; j < m->f[i].nrows; j++)
      if (!m->f[i].del[j]) r[k++] = m->f[i].rows[j];
  qsort(r, (size_t)total, sizeof *r, cmp_row);
  *n = total;
  return r;
}

/* ---- table side ---- */

static int field_index(const col_schema *s, int32_t id) {
  for (int i = 0; i < s->nfields; i++)
    if (s->fields[i].id == id) return i;
  return -1;
}

static row make_row(world *w) {
  row r;
  memset(&r, 0, sizeof r);
  r.id = w->next_id++;
  /* before widening a must fit an int; afterwards use the long range */
  r.a = w->ev.widened ? (int64_t)(rnd(w) >> 1) - (INT64_MAX / 2)
                      : (int32_t)(uint32_t)rnd(w);
  snprintf(r.s, sizeof r.s, "s%" PRId64 "-%d", r.id, rint_(w, 1000));
  r.n_null = w->ev.dropped || rint_(w, 3) == 0;
  r.n = r.n_null ? 0 : (int64_t)rnd(w);
  r.x = w->ev.added ? (int32_t)rint_(w, 100000) : X_DEFAULT;
  return r;
}

/* Writes rows with the table's current schema: one data file, or one per
 * partition of a partitioned table (*files: caller frees). */
static int write_rows(world *w, const row *rows, int n, ice_data_file **files) {
  const ice_schema *is = ice_metadata_current_schema(ice_table_metadata(w->t));
  col_schema *cs = is->cols;
  col_batch *b = NULL;
  OK(col_batch_new(cs, &b, &e_));
  for (int c = 0; c < cs->nfields; c++) {
    col_column *col = &b->cols[c];
    for (int i = 0; i < n; i++) {
      const row *r = &rows[i];
      switch (cs->fields[c].id) {
      case F_ID: OK(col_append_i64(col, r->id, &e_)); break;
      case F_A:
        if (col->type.id == COL_INT64)
          OK(col_append_i64(col, r->a, &e_));
        else
          OK(col_append_i32(col, (int32_t)r->a, &e_));
        break;
      case F_S: OK(col_append_bytes(col, r->s, strlen(r->s), &e_)); break;
      case F_N:
        if (r->n_null)
          OK(col_append_null(col, &e_));
        else
          OK(col_append_i64(col, r->n, &e_));
        break;
      case F_X: OK(col_append_i32(col, r->x, &e_)); break;
      default: fail_msg("unexpected field %d", cs->fields[c].id);
      }
    }
  }
  OK(col_batch_seal(b, &e_));
  int nf = 0;
  OK(ice_table_write_data(w->t, &b, 1, files, &nf, &e_));
  col_batch_free(b);
  int64_t total = 0;
  for (int i = 0; i < nf; i++) total += (*files)[i].record_count;
  assert_int_equal(total, n);
  if (!w->partitioned) assert_int_equal(nf, 1);
  return nf;
}

/* Every row the scan of plan p returns, sorted by id. */
static row *scan_rows(ice_table *t, const ice_plan *p, int *nout) {
  ice_scan *s = NULL;
  OK(ice_scan_open(t, p, NULL, 0, &s, &e_));
  int n = 0, cap = 64;
  row *r = malloc((size_t)cap * sizeof *r);
  for (;;) {
    col_batch *b = NULL;
    OK(ice_scan_next(s, &b, &e_));
    if (!b) break;
    const col_schema *cs = b->schema;
    int ci = field_index(cs, F_ID), ca = field_index(cs, F_A),
        cstr = field_index(cs, F_S), cn = field_index(cs, F_N),
        cx = field_index(cs, F_X);
    assert_true(ci >= 0 && ca >= 0 && cstr >= 0);
    for (int64_t i = 0; i < b->length; i++) {
      if (n == cap) {
        cap *= 2;
        r = realloc(r, (size_t)cap * sizeof *r);
      }
      row *o = &r[n++];
      memset(o, 0, sizeof *o);
      o->id = *(const int64_t *)col_get_fixed(&b->cols[ci], i, 8);
      const col_column *a = &b->cols[ca];
      o->a = a->type.id == COL_INT64 ? *(const int64_t *)col_get_fixed(a, i, 8)
                                     : *(const int32_t *)col_get_fixed(a, i, 4);
      size_t len;
      const uint8_t *sp = col_get_bytes(&b->cols[cstr], i, &len);
      assert_true(len < sizeof o->s);
      memcpy(o->s, sp, len);
      o->n_null = true;
      if (cn >= 0 && col_is_valid(&b->cols[cn], i)) {
        o->n_null = false;
        o->n = *(const int64_t *)col_get_fixed(&b->cols[cn], i, 8);
      }
      o->x = -1;
      if (cx >= 0) {
        assert_true(col_is_valid(&b->cols[cx], i));
        o->x = *(const int32_t *)col_get_fixed(&b->cols[cx], i, 4);
      }
    }
    col_batch_free(b);
  }
  ice_scan_free(s);
  qsort(r, (size_t)n, sizeof *r, cmp_row);
  *nout = n;
  return r;
}

/* got (from a scan with schema sch) equals want. */
static void same_rows(world *w, const row *got, int ngot, const row *want,
                      int nwant, const ice_schema *sch, const char *what) {
  if (ngot != nwant)
    fail_msg("step %d %s: %d rows, model has %d", w->step, what, ngot, nwant);
  bool has_n = field_index(sch->cols, F_N) >= 0;
  bool has_x = field_index(sch->cols, F_X) >= 0;
  for (int i = 0; i < ngot; i++) {
    const row *g = &got[i], *m = &want[i];
    bool n_ok = !has_n
                    ? g->n_null
                    : (g->n_null == m->n_null && (m->n_null || g->n == m->n));
    if (g->id != m->id || g->a != m->a || strcmp(g->s, m->s) || !n_ok ||
        (has_x && g->x != m->x))
      fail_msg("step %d %s: row %d differs: id %" PRId64 "/%" PRId64
               " a %" PRId64 "/%" PRId64 " s %s/%s x %d/%d",
               w->step, what, i, g->id, m->id, g->a, m->a, g->s, m->s, g->x,
               m->x);
  }
}

static int64_t sumv(const ice_snapshot *s, const char *k) {
  const char *v = ice_kv_get(&s->summary, k);
  if (!v) fail_msg("summary has no %s", k);
  return strtoll(v, NULL, 10);
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* v3 row lineage: every live data file has a first_row_id (inherited or
 * explicit), it never changes once assigned (manifest rewrites keep it),
 * and the files' ranges [first_row_id, +record_count) are disjoint and
 * below next-row-id. */
static void check_row_ids(world *w, const ice_plan *p) {
  const ice_metadata *md = ice_table_metadata(w->t);
  int64_t *r = malloc((size_t)p->ntasks * 2 * sizeof *r + 1);
  for (int i = 0; i < p->ntasks; i++) {
    const ice_data_file *d = &p->tasks[i].file;
    if (d->first_row_id < 0)
      fail_msg("step %d: %s has no first_row_id", w->step, d->file_path);
    mfile *f = &w->m.f[model_find(&w->m, d->file_path)];
    if (f->frid != -2 && f->frid != d->first_row_id)
      fail_msg("step %d: first_row_id of %s moved from %" PRId64 " to %" PRId64,
               w->step, d->file_path, f->frid, d->first_row_id);
    f->frid = d->first_row_id;
    assert_true(d->first_row_id + d->record_count <= md->next_row_id);
    r[2 * i] = d->first_row_id;
    r[2 * i + 1] = d->record_count;
  }
  qsort(r, (size_t)p->ntasks, 2 * sizeof *r, cmp_i64);
  for (int i = 1; i < p->ntasks; i++)
    if (r[2 * i - 2] + r[2 * i - 1] > r[2 * i])
      fail_msg("step %d: row id ranges overlap at %" PRId64, w->step, r[2 * i]);
  free(r);
}

/* A count of the current snapshot's summary (0 when absent). */
static int64_t cur_sum(world *w, const char *k) {
  const ice_snapshot *s =
      ice_metadata_current_snapshot(ice_table_metadata(w->t));
  const char *v = ice_kv_get(&s->summary, k);
  return v ? strtoll(v, NULL, 10) : 0;
}

/* A scan of two columns in the order asked (string first, then id). */
static void check_projection(world *w, const ice_plan *p, const row *want,
                             int nwant) {
  int32_t ids[2] = {F_S, F_ID};
  ice_scan *s = NULL;
  OK(ice_scan_open(w->t, p, ids, 2, &s, &e_));
  const col_schema *cs = ice_scan_schema(s);
  assert_int_equal(cs->nfields, 2);
  assert_int_equal(cs->fields[0].id, F_S);
  assert_int_equal(cs->fields[1].id, F_ID);
  assert_string_equal(cs->fields[0].name, w->ev.renamed ? "name" : "s");
  int n = 0;
  for (;;) {
    col_batch *b = NULL;
    OK(ice_scan_next(s, &b, &e_));
    if (!b) break;
    assert_int_equal(b->schema->nfields, 2);
    for (int64_t i = 0; i < b->length; i++, n++) {
      int64_t id = *(const int64_t *)col_get_fixed(&b->cols[1], i, 8);
      /* want is sorted by id */
      int lo = 0, hi = nwant - 1, k = -1;
      while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (want[mid].id == id) {
          k = mid;
          break;
        }
        if (want[mid].id < id)
          lo = mid + 1;
        else
          hi = mid - 1;
      }
      if (k < 0)
        fail_msg("step %d: projection: id %" PRId64 " not live", w->step, id);
      size_t len;
      const uint8_t *sp = col_get_bytes(&b->cols[0], i, &len);
      assert_true(len == strlen(want[k].s) && !memcmp(sp, want[k].s, len));
    }
    col_batch_free(b);
  }
  ice_scan_free(s);
  assert_int_equal(n, nwant);
}

static void check(world *w) {
  const ice_metadata *md = ice_table_metadata(w->t);
  int nwant = 0;
  row *want = model_rows(&w->m, &nwant);
  ice_plan *p = NULL;
  OK(ice_table_plan(w->t, ICE_NONE, &p, &e_));
  assert_int_equal(p->ntasks, w->m.nfiles);
  int ngot = 0;
  row *got = scan_rows(w->t, p, &ngot);
  same_rows(w, got, ngot, want, nwant, ice_metadata_current_schema(md),
            "current");
  /* every task is a model file with its DV */
  for (int i = 0; i < p->ntasks; i++) {
    int k = model_find(&w->m, p->tasks[i].file.file_path);
    assert_true(k >= 0);
    const mfile *f = &w->m.f[k];
    assert_int_equal(p->tasks[i].file.record_count, f->nrows);
    uint64_t card =
        p->tasks[i].deletes ? ice_dv_cardinality(p->tasks[i].deletes) : 0;
    assert_int_equal(card, (uint64_t)(f->nrows - live_in(f)));
    for (int j = 0; j < f->nrows; j++)
      assert_int_equal(p->tasks[i].deletes &&
                           ice_dv_contains(p->tasks[i].deletes, (uint64_t)j),
                       f->del[j]);
  }
  check_row_ids(w, p);
  check_projection(w, p, want, nwant);
  ice_plan_free(p);
  free(got);
  free(want);

  const ice_snapshot *s = ice_metadata_current_snapshot(md);
  if (s) {
    int64_t recs = 0, pos = 0, dvs = 0;
    for (int i = 0; i < w->m.nfiles; i++) {
      const mfile *f = &w->m.f[i];
      recs += f->nrows;
      int d = f->nrows - live_in(f);
      pos += d;
      dvs += d > 0;
    }
    if (sumv(s, "total-records") != recs ||
        sumv(s, "total-data-files") != w->m.nfiles ||
        sumv(s, "total-delete-files") != dvs ||
        sumv(s, "total-position-deletes") != pos)
      fail_msg("step %d: summary totals records %" PRId64 "/%" PRId64
               " files %" PRId64 "/%d dvs %" PRId64 "/%" PRId64 " pos %" PRId64
               "/%" PRId64,
               w->step, sumv(s, "total-records"), recs,
               sumv(s, "total-data-files"), w->m.nfiles,
               sumv(s, "total-delete-files"), dvs,
               sumv(s, "total-position-deletes"), pos);
  }

  /* time travel */
  for (int i = 0; i < w->nrem; i++) {
    remembered *r = &w->rem[i];
    const ice_snapshot *rs = ice_metadata_snapshot(md, r->sid);
    assert_non_null(rs);
    OK(ice_table_plan(w->t, r->sid, &p, &e_));
    got = scan_rows(w->t, p, &ngot);
    const ice_schema *sch = ice_metadata_schema(
        md, rs->schema_id != ICE_NONE ? rs->schema_id : md->current_schema_id);
    same_rows(w, got, ngot, r->rows, r->n, sch, "time travel");
    w->counts[K_TIME_TRAVEL]++;
    free(got);
    ice_plan_free(p);
  }
}

static void remember(world *w) {
  const ice_snapshot *s =
      ice_metadata_current_snapshot(ice_table_metadata(w->t));
  if (!s) return;
  if (w->nrem == NREM) {
    /* forget a random one to keep a spread of ages */
    int k = rint_(w, NREM);
    free(w->rem[k].rows);
    w->rem[k] = w->rem[--w->nrem];
  }
  remembered *r = &w->rem[w->nrem++];
  r->sid = s->snapshot_id;
  r->rows = model_rows(&w->m, &r->n);
}

static void forget_expired(world *w) {
  const ice_metadata *md = ice_table_metadata(w->t);
  for (int i = 0; i < w->nrem;) {
    if (ice_metadata_snapshot(md, w->rem[i].sid)) {
      i++;
      continue;
    }
    ice_plan *p = NULL;
    floe_error e;
    assert_int_equal(ice_table_plan(w->t, w->rem[i].sid, &p, &e),
                     FLOE_ENOTFOUND);
    free(w->rem[i].rows);
    w->rem[i] = w->rem[--w->nrem];
    w->counts[K_EXPIRED_TT]++;
  }
}

static ice_dv *dv_of(const int *pos, int n) {
  ice_dv *dv = NULL;
  OK(ice_dv_new(&dv, &e_));
  for (int i = 0; i < n; i++) OK(ice_dv_add(dv, (uint64_t)pos[i], &e_));
  return dv;
}

/* Picks up to max live positions of file f (distinct, ascending). */
static int pick_live(world *w, const mfile *f, int max, int *pos) {
  int n = 0;
  for (int j = 0; j < f->nrows && n < max; j++)
    if (!f->del[j] && rint_(w, 3) == 0) pos[n++] = j;
  return n;
}

/* A random file with live rows, or -1. */
static int pick_file(world *w) {
  if (!w->m.nfiles) return -1;
  int k = rint_(w, w->m.nfiles);
  for (int i = 0; i < w->m.nfiles; i++) {
    int j = (k + i) % w->m.nfiles;
    if (live_in(&w->m.f[j])) return j;
  }
  return -1;
}

/* ---- steps ---- */

/* The ids of data file d in file order, read through a one-task scan (the
 * file is not committed yet). */
static int64_t *file_ids(world *w, const ice_data_file *d) {
  ice_scan_task task;
  memset(&task, 0, sizeof task);
  task.file = *d;
  ice_plan p;
  memset(&p, 0, sizeof p);
  p.snapshot_id = ice_table_metadata(w->t)->current_snapshot_id;
  p.schema_id = ice_table_metadata(w->t)->current_schema_id;
  p.ntasks = 1;
  p.tasks = &task;
  int32_t id = F_ID;
  ice_scan *s = NULL;
  OK(ice_scan_open(w->t, &p, &id, 1, &s, &e_));
  int64_t *ids = malloc((size_t)d->record_count * sizeof *ids + 1);
  int64_t n = 0;
  for (;;) {
    col_batch *b = NULL;
    OK(ice_scan_next(s, &b, &e_));
    if (!b) break;
    assert_true(n + b->length <= d->record_count);
    memcpy(ids + n, b->cols[0].values.data, (size_t)b->length * 8);
    n += b->length;
    col_batch_free(b);
  }
  ice_scan_free(s);
  assert_int_equal(n, d->record_count);
  return ids;
}

/* Writes rows, adds the files to x and to the model (positions as the
 * files hold them: a partitioned write splits the rows). */
static void write_append(world *w, ice_txn *x, const row *rows, int n) {
  ice_data_file *files = NULL;
  int nf = write_rows(w, rows, n, &files);
  row *frows = malloc((size_t)n * sizeof *frows + 1);
  for (int i = 0; i < nf; i++) {
    ice_data_file *d = &files[i];
    OK(ice_txn_append(x, d, &e_));
    if (nf == 1) {
      model_add(&w->m, d->file_path, rows, n);
    } else {
      int64_t *ids = file_ids(w, d);
      for (int64_t j = 0; j < d->record_count; j++) {
        int k = 0;
        while (k < n && rows[k].id != ids[j]) k++;
        assert_true(k < n);
        frows[j] = rows[k];
      }
      free(ids);
      model_add(&w->m, d->file_path, frows, (int)d->record_count);
    }
    ice_data_file_free(d);
  }
  free(frows);
  free(files);
}

static void step_append(world *w, ice_txn *x, int nrows) {
  row *rows = malloc((size_t)nrows * sizeof *rows);
  for (int i = 0; i < nrows; i++) rows[i] = make_row(w);
  write_append(w, x, rows, nrows);
  free(rows);
}

static void do_append(world *w) {
  ice_txn *x = NULL;
  OK(ice_txn_begin(w->t, &x, &e_));
  int nf = 1 + rint_(w, 2), rows = 0, before = w->m.nfiles;
  for (int i = 0; i < nf; i++) {
    int n = 1 + rint_(w, 40);
    step_append(w, x, n);
    rows += n;
  }
  OK(ice_txn_commit(x, NULL, &e_));
  assert_int_equal(cur_sum(w, "added-data-files"), w->m.nfiles - before);
  assert_int_equal(cur_sum(w, "added-records"), rows);
  assert_int_equal(cur_sum(w, "deleted-records"), 0);
  /* added-rows is an upper bound (as in Java, a rewritten manifest's
   * existing rows are counted again); next-row-id moves by it */
  const ice_snapshot *cs =
      ice_metadata_current_snapshot(ice_table_metadata(w->t));
  assert_true(cs->added_rows >= rows);
  assert_int_equal(ice_table_metadata(w->t)->next_row_id,
                   cs->first_row_id + cs->added_rows);
}

/* Deletes random live rows of one or two files in x; applies to the model. */
/* Files stage_delete touched: how many, and how many had a DV before. */
typedef struct touched {
  int files, had_dv;
  char *paths[2];
} touched;

static bool stage_delete(world *w, ice_txn *x, touched *tc) {
  bool any = false;
  for (int rep = 0; rep < 2; rep++) {
    int k = pick_file(w);
    if (k < 0) break;
    mfile *f = &w->m.f[k];
    int *pos = malloc((size_t)f->nrows * sizeof *pos + 1);
    int n = pick_live(w, f, 1 + rint_(w, 8), pos);
    if (n && tc) {
      bool seen = false;
      for (int i = 0; i < tc->files; i++)
        seen |= !strcmp(tc->paths[i], f->path);
      if (!seen) {
        tc->paths[tc->files++] = f->path;
        tc->had_dv += live_in(f) < f->nrows;
      }
    }
    if (n) {
      ice_dv *dv = dv_of(pos, n);
      OK(ice_txn_delete_rows(x, f->path, dv, &e_));
      ice_dv_free(dv);
      for (int i = 0; i < n; i++) f->del[pos[i]] = true;
      any = true;
    }
    free(pos);
  }
  return any;
}

static void do_delete(world *w, bool update) {
  ice_txn *x = NULL;
  OK(ice_txn_begin(w->t, &x, &e_));
  touched tc;
  memset(&tc, 0, sizeof tc);
  bool any = stage_delete(w, x, &tc);
  if (w->m.nfiles && rint_(w, 8) == 0) {
    /* an empty delete changes nothing (and writes no DV) */
    ice_dv *dv = dv_of(NULL, 0);
    OK(ice_txn_delete_rows(x, w->m.f[rint_(w, w->m.nfiles)].path, dv, &e_));
    ice_dv_free(dv);
  }
  int nrows = 1 + rint_(w, 10);
  if (update) step_append(w, x, nrows);
  if (!any && !update) {
    ice_txn_abort(x);
    return;
  }
  int64_t sid = 0;
  OK(ice_txn_commit(x, &sid, &e_));
  const char *op = ice_kv_get(
      &ice_metadata_current_snapshot(ice_table_metadata(w->t))->summary,
      "operation");
  assert_string_equal(op, update ? (any ? "overwrite" : "append") : "delete");
  /* one new DV per touched file, replacing its old one */
  assert_int_equal(cur_sum(w, "added-dvs"), tc.files);
  assert_int_equal(cur_sum(w, "added-delete-files"), tc.files);
  assert_int_equal(cur_sum(w, "removed-dvs"), tc.had_dv);
  assert_int_equal(cur_sum(w, "added-records"), update ? nrows : 0);
  assert_int_equal(cur_sum(w, "deleted-data-files"), 0);
}

static void do_remove(world *w) {
  if (!w->m.nfiles) return;
  int k = rint_(w, w->m.nfiles);
  ice_txn *x = NULL;
  OK(ice_txn_begin(w->t, &x, &e_));
  OK(ice_txn_remove_file(x, w->m.f[k].path, &e_));
  OK(ice_txn_commit(x, NULL, &e_));
  const mfile *f = &w->m.f[k];
  int del = f->nrows - live_in(f);
  assert_string_equal(
      ice_kv_get(
          &ice_metadata_current_snapshot(ice_table_metadata(w->t))->summary,
          "operation"),
      "delete");
  assert_int_equal(cur_sum(w, "deleted-data-files"), 1);
  assert_int_equal(cur_sum(w, "deleted-records"), f->nrows);
  assert_int_equal(cur_sum(w, "removed-dvs"), del > 0);
  assert_int_equal(cur_sum(w, "removed-position-deletes"), del);
  assert_int_equal(cur_sum(w, "added-records"), 0);
  model_remove(&w->m, k);
}

/* Rewrites one file's live rows (read through a one-task scan) into a new
 * file and swaps them in a "replace" commit. */
/* Rewrites one file's live rows (read through a one-task scan) into a new
 * file and swaps them in a "replace" commit. Sometimes another txn of the
 * same handle deletes a row of that file between the read and the commit:
 * the rewrite would bring the row back, so its commit must fail with
 * FLOE_ECONFLICT. */
static void do_compact(world *w) {
  if (!w->m.nfiles) return;
  int k = rint_(w, w->m.nfiles);
  ice_txn *x = NULL;
  OK(ice_txn_begin(w->t, &x, &e_));
  ice_plan *p = NULL;
  OK(ice_table_plan(w->t, ICE_NONE, &p, &e_));
  int ti = -1;
  for (int i = 0; i < p->ntasks; i++)
    if (!strcmp(p->tasks[i].file.file_path, w->m.f[k].path)) ti = i;
  assert_true(ti >= 0);
  ice_plan one = *p;
  one.ntasks = 1;
  one.tasks = &p->tasks[ti];
  ice_scan *s = NULL;
  OK(ice_scan_open(w->t, &one, NULL, 0, &s, &e_));
  col_batch *batches[64];
  int nb = 0;
  int64_t total = 0;
  for (;;) {
    col_batch *b = NULL;
    OK(ice_scan_next(s, &b, &e_));
    if (!b) break;
    assert_true(nb < 64);
    total += b->length;
    batches[nb++] = b;
  }
  ice_scan_free(s);
  ice_plan_free(p);
  mfile *f = &w->m.f[k];
  char *path = strdup(f->path);
  assert_int_equal(total, live_in(f));
  OK(ice_txn_remove_file(x, f->path, &e_));
  row *rows = malloc((size_t)f->nrows * sizeof *rows + 1);
  int n = 0;
  for (int j = 0; j < f->nrows; j++)
    if (!f->del[j]) rows[n++] = f->rows[j];
  char *newpath = NULL;
  if (total) {
    ice_data_file *files = NULL;
    int nf = 0;
    OK(ice_table_write_data(w->t, batches, nb, &files, &nf, &e_));
    assert_int_equal(nf, 1);
    assert_int_equal(files[0].record_count, total);
    OK(ice_txn_append(x, &files[0], &e_));
    newpath = strdup(files[0].file_path);
    ice_data_file_free(files);
    free(files);
  }
  for (int i = 0; i < nb; i++) col_batch_free(batches[i]);
  ice_txn_set_replace(x);
  bool race = total && rint_(w, 3) == 0;
  if (race) {
    int j = 0;
    while (f->del[j]) j++;
    ice_txn *y = NULL;
    OK(ice_txn_begin(w->t, &y, &e_));
    ice_dv *dv = dv_of(&j, 1);
    OK(ice_txn_delete_rows(y, path, dv, &e_));
    ice_dv_free(dv);
    OK(ice_txn_commit(y, NULL, &e_));
    f->del[j] = true;
    w->counts[K_COMPACT_RACE]++;
    floe_error e;
    assert_int_equal(ice_txn_commit(x, NULL, &e), FLOE_ECONFLICT);
  } else {
    OK(ice_txn_commit(x, NULL, &e_));
    const char *op = ice_kv_get(
        &ice_metadata_current_snapshot(ice_table_metadata(w->t))->summary,
        "operation");
    assert_string_equal(op, "replace");
    model_remove(&w->m, k);
    if (newpath) model_add(&w->m, newpath, rows, n);
  }
  free(newpath);
  free(path);
  free(rows);
}

static void do_abort(world *w) {
  const ice_metadata *md = ice_table_metadata(w->t);
  int64_t before = md->current_snapshot_id;
  /* staged on a scratch model copy-free way: remember nothing, restore */
  model saved;
  memset(&saved, 0, sizeof saved);
  for (int i = 0; i < w->m.nfiles; i++) {
    model_add(&saved, w->m.f[i].path, w->m.f[i].rows, w->m.f[i].nrows);
    memcpy(saved.f[i].del, w->m.f[i].del, (size_t)w->m.f[i].nrows);
  }
  int64_t next = w->next_id;
  ice_txn *x = NULL;
  OK(ice_txn_begin(w->t, &x, &e_));
  step_append(w, x, 5);
  stage_delete(w, x, NULL);
  ice_txn_abort(x);
  model_free(&w->m);
  w->m = saved;
  w->next_id = next;
  assert_int_equal(ice_table_metadata(w->t)->current_snapshot_id, before);
}

static void open_cat(world *w, ice_catalog **out) {
  if (w->sqlite)
    OK(ice_catalog_open(w->uri, w->dir, NULL, out, &e_));
  else
    OK(ice_catalog_fs_open(w->dir, out, &e_));
}

static void do_reopen(world *w) {
  ice_table_free(w->t);
  ice_catalog_free(w->cat);
  open_cat(w, &w->cat);
  OK(ice_table_load(w->cat, "db", "model", &w->t, &e_));
}

/* A second handle commits between this handle's txn begin and commit. */
static void do_evolve(world *w);

static void do_concurrent(world *w) {
  ice_catalog *c2 = NULL;
  open_cat(w, &c2);
  ice_table *t2 = NULL;
  OK(ice_table_load(c2, "db", "model", &t2, &e_));
  /* our txn: deletes in one file, plus an append staged before the other
   * handle acts (its orphan removal must spare files this new) */
  int64_t t0 = tnow();
  ice_txn *x = NULL;
  OK(ice_txn_begin(w->t, &x, &e_));
  int mine = pick_file(w);
  int *pos = NULL, npos = 0;
  char *mine_path = NULL;
  if (mine >= 0) {
    mfile *f = &w->m.f[mine];
    mine_path = strdup(f->path);
    pos = malloc((size_t)f->nrows * sizeof *pos);
    npos = pick_live(w, f, 4, pos);
    for (int j = 0; !npos && j < f->nrows; j++)
      if (!f->del[j]) pos[npos++] = j; /* pick_file found a live row */
    if (npos) {
      ice_dv *dv = dv_of(pos, npos);
      OK(ice_txn_delete_rows(x, f->path, dv, &e_));
      ice_dv_free(dv);
    }
  }
  /* the other handle: removes a file (often the one ours deletes from: the
   * conflict case), appends, or expires snapshots and removes orphans */
  int what = rint_(w, 5);
  char *victim = NULL;
  if (what == 0 && w->m.nfiles) {
    int k = mine >= 0 && rint_(w, 4) ? mine : rint_(w, w->m.nfiles);
    victim = strdup(w->m.f[k].path);
  }
  int before = w->m.nfiles;
  step_append(w, x, 2);
  int nmine = w->m.nfiles - before;
  char **added = calloc((size_t)nmine + 1, sizeof *added);
  for (int i = 0; i < nmine; i++) added[i] = strdup(w->m.f[before + i].path);
  ice_table *mainT = w->t;
  bool removed_mine = false;
  if (victim) {
    removed_mine = mine_path && !strcmp(victim, mine_path);
    ice_txn *y = NULL;
    OK(ice_txn_begin(t2, &y, &e_));
    OK(ice_txn_remove_file(y, victim, &e_));
    OK(ice_txn_commit(y, NULL, &e_));
    model_remove(&w->m, model_find(&w->m, victim));
  } else if (what == 3 && mine >= 0) {
    /* deletes in the same file as ours (other positions): our retry must
     * merge its DV with this one, not replace it */
    mfile *f = &w->m.f[model_find(&w->m, mine_path)];
    int *p2 = malloc((size_t)f->nrows * sizeof *p2 + 1);
    int n2 = 0;
    for (int j = 0; j < f->nrows; j++) {
      bool ours = false;
      for (int i = 0; i < npos; i++) ours |= pos[i] == j;
      if (!f->del[j] && !ours && rint_(w, 2)) p2[n2++] = j;
    }
    if (n2) {
      ice_txn *y = NULL;
      OK(ice_txn_begin(t2, &y, &e_));
      ice_dv *dv = dv_of(p2, n2);
      OK(ice_txn_delete_rows(y, f->path, dv, &e_));
      ice_dv_free(dv);
      OK(ice_txn_commit(y, NULL, &e_));
      for (int i = 0; i < n2; i++) f->del[p2[i]] = true;
      w->counts[K_SAME_FILE]++;
    }
    free(p2);
  } else if (what == 4 && !w->ev.dropped) {
    /* the other handle changes the schema: ours was written with the old
     * one and must still land (files are read by field id) */
    w->t = t2;
    do_evolve(w);
    w->t = mainT;
    w->counts[K_STALE_SCHEMA]++;
  } else if (what == 2) {
    OK(ice_table_expire_snapshots(t2, tnow() + 1, 1, NULL, &e_));
    /* a margin: file mtimes come from the kernel's coarse clock, which
     * lags CLOCK_REALTIME by up to a tick (seen: 1.4 ms), so "older than
     * t0 - 1" robbed a file staged after t0 */
    OK(ice_table_remove_orphans(t2, t0 - 1000, NULL, &e_));
  } else {
    w->t = t2; /* write_rows uses w->t's schema and location */
    ice_txn *y = NULL;
    OK(ice_txn_begin(t2, &y, &e_));
    step_append(w, y, 3);
    OK(ice_txn_commit(y, NULL, &e_));
    w->t = mainT;
  }
  floe_error e;
  floe_status st = ice_txn_commit(x, NULL, &e);
  if (removed_mine && npos) {
    assert_int_equal(st, FLOE_ECONFLICT);
    w->counts[K_CONFLICT]++;
    /* the appended files of ours never landed */
    for (int i = 0; i < nmine; i++)
      model_remove(&w->m, model_find(&w->m, added[i]));
    OK(ice_table_refresh(w->t, &e_));
  } else {
    if (st) fail_msg("step %d: stale commit: %s", w->step, e.msg);
    int k = mine_path ? model_find(&w->m, mine_path) : -1;
    if (k >= 0)
      for (int i = 0; i < npos; i++) w->m.f[k].del[pos[i]] = true;
  }
  forget_expired(w);
  for (int i = 0; i < nmine; i++) free(added[i]);
  free(added);
  free(victim);
  free(pos);
  free(mine_path);
  ice_table_free(t2);
  ice_catalog_free(c2);
}

/* Files under dir (recursively) named prefix...suffix, counted; with set,
 * each must be in it. */
static int count_files(const char *dir, const char *prefix, const char *suffix,
                       char **set, int nset) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  size_t sl = strlen(suffix);
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if (de->d_type == DT_DIR && de->d_name[0] != '.') {
      /* partition directories */
      char sub[1024];
      snprintf(sub, sizeof sub, "%s/%s", dir, de->d_name);
      n += count_files(sub, prefix, suffix, set, nset);
      continue;
    }
    if (l < sl || strcmp(de->d_name + l - sl, suffix) ||
        strncmp(de->d_name, prefix, strlen(prefix)))
      continue;
    n++;
    if (!set) continue;
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    bool found = false;
    for (int i = 0; i < nset && !found; i++) found = !strcmp(set[i], path);
    if (!found) fail_msg("orphan left behind: %s", path);
  }
  closedir(d);
  return n;
}

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  if (!fp) fail_msg("cannot open %s", path);
  fseek(fp, 0, SEEK_END);
  long l = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)l + 1);
  assert_int_equal(fread(b, 1, (size_t)l, fp), (size_t)l);
  fclose(fp);
  *n = (size_t)l;
  return b;
}

typedef struct strs {
  int n;
  char **v;
} strs;

static void strs_add(strs *s, const char *p) {
  for (int i = 0; i < s->n; i++)
    if (!strcmp(s->v[i], p)) return;
  s->v = realloc(s->v, (size_t)(s->n + 1) * sizeof *s->v);
  s->v[s->n++] = strdup(p);
}

static floe_status puffin_of(void *ctx, const ice_manifest_entry *e,
                             floe_error *err) {
  (void)err;
  if (e->status != ICE_STATUS_DELETED && e->file.content != ICE_CONTENT_DATA)
    strs_add(ctx, e->file.file_path);
  return FLOE_OK;
}

/* The Puffin files live DV entries of md's snapshots point at, read from
 * the manifests themselves. */
static void puffins(const ice_metadata *md, strs *out) {
  for (int i = 0; i < md->nsnapshots; i++) {
    size_t n;
    uint8_t *b = slurp(md->snapshots[i].manifest_list, &n);
    ice_manifest_file *mfs = NULL;
    int nmf = 0;
    OK(ice_manifest_list_read(b, n, "list", &mfs, &nmf, &e_));
    free(b);
    for (int m = 0; m < nmf; m++) {
      if (mfs[m].content != ICE_MANIFEST_DELETES) continue;
      b = slurp(mfs[m].manifest_path, &n);
      OK(ice_manifest_read(b, n, "manifest", &mfs[m], puffin_of, out, &e_));
      free(b);
    }
    for (int m = 0; m < nmf; m++) ice_manifest_file_free(&mfs[m]);
    free(mfs);
  }
}

/* After expire + orphan removal the table directory holds exactly what
 * the metadata reaches: the data files of the retained snapshots, one
 * manifest list per snapshot, the current and logged metadata files. */
static void check_no_orphans(world *w) {
  const ice_metadata *md = ice_table_metadata(w->t);
  char **set = NULL;
  int nset = 0;
  for (int i = 0; i < md->nsnapshots; i++) {
    ice_plan *p = NULL;
    OK(ice_table_plan(w->t, md->snapshots[i].snapshot_id, &p, &e_));
    for (int k = 0; k < p->ntasks; k++) {
      bool dup = false;
      for (int j = 0; j < nset && !dup; j++)
        dup = !strcmp(set[j], p->tasks[k].file.file_path);
      if (dup) continue;
      set = realloc(set, (size_t)(nset + 1) * sizeof *set);
      set[nset++] = strdup(p->tasks[k].file.file_path);
    }
    ice_plan_free(p);
  }
  char dir[512];
  snprintf(dir, sizeof dir, "%s/data", md->location);
  assert_int_equal(count_files(dir, "", ".parquet", set, nset), nset);
  strs pf = {0, NULL};
  puffins(md, &pf);
  assert_int_equal(count_files(dir, "", ".puffin", pf.v, pf.n), pf.n);
  for (int i = 0; i < pf.n; i++) free(pf.v[i]);
  free(pf.v);
  snprintf(dir, sizeof dir, "%s/metadata", md->location);
  assert_int_equal(count_files(dir, "snap-", ".avro", NULL, 0), md->nsnapshots);
  assert_int_equal(count_files(dir, "", ".metadata.json", NULL, 0),
                   md->nmetadata_log + 1);
  for (int i = 0; i < nset; i++) free(set[i]);
  free(set);
}

/* Two txns of one handle, begun together and committed one after the
 * other, both deleting rows of the same file: the second is staged on the
 * view before the first committed and must merge with the first's DV. */
static void do_two_txns(world *w) {
  int k = pick_file(w);
  if (k < 0) return;
  mfile *f = &w->m.f[k];
  char *path = strdup(f->path);
  ice_txn *x1 = NULL, *x2 = NULL;
  OK(ice_txn_begin(w->t, &x1, &e_));
  OK(ice_txn_begin(w->t, &x2, &e_));
  int *p1 = malloc((size_t)f->nrows * sizeof *p1 + 1);
  int *p2 = malloc((size_t)f->nrows * sizeof *p2 + 1);
  int n1 = 0, n2 = 0;
  for (int j = 0; j < f->nrows; j++)
    if (!f->del[j]) {
      int r = rint_(w, 8);
      if (r < 3) p1[n1++] = j;
      if (r >= 2 && r < 5) p2[n2++] = j; /* r == 2: both delete it */
    }
  ice_dv *dv = dv_of(p1, n1);
  OK(ice_txn_delete_rows(x1, path, dv, &e_));
  ice_dv_free(dv);
  dv = dv_of(p2, n2);
  OK(ice_txn_delete_rows(x2, path, dv, &e_));
  ice_dv_free(dv);
  step_append(w, x2, 3);
  OK(ice_txn_commit(x1, NULL, &e_));
  OK(ice_txn_commit(x2, NULL, &e_));
  f = &w->m.f[model_find(&w->m, path)];
  for (int i = 0; i < n1; i++) f->del[p1[i]] = true;
  for (int i = 0; i < n2; i++) f->del[p2[i]] = true;
  free(p1);
  free(p2);
  free(path);
}

static void do_expire(world *w) {
  int64_t removed = 0;
  OK(ice_table_expire_snapshots(w->t, tnow() + 1, 1 + rint_(w, 3), &removed,
                                &e_));
  forget_expired(w);
  /* written by aborted txns and lost attempts */
  OK(ice_table_remove_orphans(w->t, tnow() + 1000, &removed, &e_));
  check_no_orphans(w);
}

static void do_evolve(world *w) {
  if (w->hold_drop && w->ev.widened) return;
  ice_schema_update *u = NULL;
  OK(ice_schema_update_new(ice_table_metadata(w->t), &u, &e_));
  /* the model's rows follow the new schema only once it is committed */
  evo next = w->ev;
  if (!w->ev.added) {
    int32_t id = 0;
    OK(ice_schema_add_column(u, "x", (col_dtype){.id = COL_INT32}, false, false,
                             "7", NULL, NULL, &id, &e_));
    assert_int_equal(id, F_X);
    next.added = true;
  } else if (!w->ev.renamed) {
    OK(ice_schema_rename_column(u, "s", "name", &e_));
    next.renamed = true;
  } else if (!w->ev.widened) {
    OK(ice_schema_widen_column(u, "a", (col_dtype){.id = COL_INT64}, &e_));
    next.widened = true;
  } else if (!w->ev.dropped) {
    OK(ice_schema_drop_column(u, "n", &e_));
    next.dropped = true;
  }
  if (rint_(w, 2)) {
    /* another handle appends first: the stale schema commit must retry
     * and land, keeping that append */
    ice_catalog *c2 = NULL;
    open_cat(w, &c2);
    ice_table *t2 = NULL, *mainT = w->t;
    OK(ice_table_load(c2, "db", "model", &t2, &e_));
    w->t = t2;
    ice_txn *y = NULL;
    OK(ice_txn_begin(t2, &y, &e_));
    step_append(w, y, 2);
    OK(ice_txn_commit(y, NULL, &e_));
    w->t = mainT;
    ice_table_free(t2);
    ice_catalog_free(c2);
  }
  OK(ice_table_update_schema(w->t, u, &e_));
  w->ev = next;
  ice_schema_update_free(u);
  /* counted here, not per step: a long run's concurrent steps (their
   * stale-schema case) may make all four changes before the first fixed
   * point comes */
  w->counts[K_EVOLVE]++;
}

static void run(world *w, int steps, bool dump) {
  col_field fl[4] = {{F_ID, "id", {.id = COL_INT64}, false, 0, false},
                     {F_A, "a", {.id = COL_INT32}, false, 0, false},
                     {F_S, "s", {.id = COL_UTF8}, false, 0, false},
                     {F_N, "n", {.id = COL_INT64}, true, 0, false}};
  col_schema *sc = NULL;
  OK(col_schema_new(fl, 4, &sc, &e_));
  open_cat(w, &w->cat);
  ice_partition_field pf = {.source_id = F_ID, .name = "id_bucket"};
  OK(ice_transform_parse("bucket[2]", &pf.transform, &e_));
  ice_partition_spec spec = {0, 1, &pf};
  OK(ice_table_create(w->cat, "db", "model", sc, w->partitioned ? &spec : NULL,
                      NULL, &w->t, &e_));
  ice_transform_clear(&pf.transform);
  col_schema_unref(sc);
  w->next_id = 1;
  check(w);
  for (w->step = 0; w->step < steps; w->step++) {
    int r = rint_(w, 100), kind;
    /* evolution at fixed points so every run covers it */
    if (w->step > 0 && w->step % (steps / 5 > 0 ? steps / 5 : 1) == 0 &&
        !w->ev.dropped)
      kind = K_EVOLVE;
    else if (r < 25 || w->m.nfiles < 1)
      kind = K_APPEND;
    else if (r < 45)
      kind = K_DELETE;
    else if (r < 55)
      kind = K_UPDATE;
    else if (r < 60)
      kind = K_REMOVE;
    else if (r < 70)
      kind = K_COMPACT;
    else if (r < 74)
      kind = K_ABORT;
    else if (r < 80)
      kind = K_REOPEN;
    else if (r < 88)
      kind = K_CONCURRENT;
    else if (r < 93)
      kind = K_TWO_TXNS;
    else
      kind = K_EXPIRE;
    if (kind != K_EVOLVE) w->counts[kind]++;
    switch (kind) {
    case K_EVOLVE: do_evolve(w); break;
    case K_APPEND: do_append(w); break;
    case K_DELETE: do_delete(w, false); break;
    case K_UPDATE: do_delete(w, true); break;
    case K_REMOVE: do_remove(w); break;
    case K_COMPACT: do_compact(w); break;
    case K_ABORT: do_abort(w); break;
    case K_REOPEN: do_reopen(w); break;
    case K_CONCURRENT: do_concurrent(w); break;
    case K_TWO_TXNS: do_two_txns(w); break;
    default: do_expire(w); break;
    }
    check(w);
    if (rint_(w, 3) == 0) remember(w);
  }
  if (dump) {
    /* the interop table: DVs in several files, a compaction, evolved; a
     * snapshot with the schema before the last change stays retained (no
     * expire from here on) for the time-travel check */
    do_append(w);
    w->hold_drop = false;
    while (!w->ev.dropped) do_evolve(w);
    do_append(w);
    do_append(w);
    do_compact(w);
    for (int i = 0; i < 3; i++) do_delete(w, false);
    check(w);
  }
  ice_table_free(w->t);
  ice_catalog_free(w->cat);
  model_free(&w->m);
  for (int i = 0; i < w->nrem; i++) free(w->rem[i].rows);
}

static int steps_per_seed(void) {
  const char *v = getenv("FLOE_MODEL_STEPS");
  int n = v ? atoi(v) : 60;
  return n > 0 ? n : 60;
}

static void run_seed(uint64_t seed, bool sqlite, bool partitioned,
                     int *counts) {
  world w;
  memset(&w, 0, sizeof w);
  w.counts = counts;
  w.rng = seed * 0x9E3779B97F4A7C15ULL + 1;
  w.sqlite = sqlite;
  w.partitioned = partitioned;
  strcpy(w.dir, "/tmp/floe-model-XXXXXX");
  assert_non_null(mkdtemp(w.dir));
  snprintf(w.uri, sizeof w.uri, "sqlite:%s/catalog.db", w.dir);
  run(&w, steps_per_seed(), false);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf %s", w.dir);
  assert_int_equal(system(cmd), 0);
}

static void test_fs_seeds(void **state) {
  (void)state;
  int counts[K_COUNT] = {0};
  /* FLOE_MODEL_SEED moves the seeds, to explore */
  const char *v = getenv("FLOE_MODEL_SEED");
  uint64_t base = v ? strtoull(v, NULL, 10) : 0;
  for (uint64_t s = 1; s <= 4; s++) run_seed(base + s, false, s == 4, counts);
  /* the seeds must between them reach every kind of step */
  for (int k = 0; k < K_COUNT; k++) {
    if (getenv("FLOE_MODEL_VERBOSE"))
      fprintf(stderr, "%s: %d\n", kind_names[k], counts[k]);
    if (!counts[k]) fail_msg("no step of kind %s ran", kind_names[k]);
  }
}

static void test_sqlite_seed(void **state) {
  (void)state;
  int counts[K_COUNT] = {0};
  run_seed(99, true, true, counts);
  assert_true(counts[K_CONCURRENT] > 0);
}

/* Two handles evolve the schema at once: the second one's update was
 * built on a schema that no longer is current, so it must fail with
 * FLOE_ECONFLICT and leave the first one's schema in place. */
static void test_schema_conflict(void **state) {
  (void)state;
  char dir[64];
  strcpy(dir, "/tmp/floe-model-XXXXXX");
  assert_non_null(mkdtemp(dir));
  ice_catalog *c1 = NULL, *c2 = NULL;
  OK(ice_catalog_fs_open(dir, &c1, &e_));
  OK(ice_catalog_fs_open(dir, &c2, &e_));
  col_field fl[1] = {{1, "id", {.id = COL_INT64}, false, 0, false}};
  col_schema *sc = NULL;
  OK(col_schema_new(fl, 1, &sc, &e_));
  ice_table *t1 = NULL, *t2 = NULL;
  OK(ice_table_create(c1, "db", "t", sc, NULL, NULL, &t1, &e_));
  col_schema_unref(sc);
  OK(ice_table_load(c2, "db", "t", &t2, &e_));
  ice_schema_update *u1 = NULL, *u2 = NULL;
  OK(ice_schema_update_new(ice_table_metadata(t1), &u1, &e_));
  OK(ice_schema_update_new(ice_table_metadata(t2), &u2, &e_));
  OK(ice_schema_add_column(u1, "a", (col_dtype){.id = COL_UTF8}, true, false,
                           NULL, NULL, NULL, NULL, &e_));
  OK(ice_schema_add_column(u2, "b", (col_dtype){.id = COL_INT32}, true, false,
                           NULL, NULL, NULL, NULL, &e_));
  OK(ice_table_update_schema(t1, u1, &e_));
  floe_error e;
  assert_int_equal(ice_table_update_schema(t2, u2, &e), FLOE_ECONFLICT);
  OK(ice_table_refresh(t2, &e_));
  const ice_schema *s = ice_metadata_current_schema(ice_table_metadata(t2));
  assert_int_equal(s->cols->nfields, 2);
  assert_string_equal(s->cols->fields[1].name, "a");
  assert_int_equal(s->cols->fields[1].id, 2);
  assert_int_equal(ice_table_metadata(t2)->nschemas, 2);
  assert_int_equal(ice_table_metadata(t2)->nmetadata_log, 1);
  /* started again from the new schema it lands */
  ice_schema_update_free(u2);
  OK(ice_schema_update_new(ice_table_metadata(t2), &u2, &e_));
  OK(ice_schema_add_column(u2, "b", (col_dtype){.id = COL_INT32}, true, false,
                           NULL, NULL, NULL, NULL, &e_));
  OK(ice_table_update_schema(t2, u2, &e_));
  s = ice_metadata_current_schema(ice_table_metadata(t2));
  assert_int_equal(s->cols->nfields, 3);
  assert_int_equal(s->cols->fields[2].id, 3);
  assert_int_equal(ice_table_metadata(t2)->current_snapshot_id, ICE_NONE);
  ice_schema_update_free(u1);
  ice_schema_update_free(u2);
  ice_table_free(t1);
  ice_table_free(t2);
  ice_catalog_free(c1);
  ice_catalog_free(c2);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_dump(void **state) {
  (void)state;
  const char *d = getenv("FLOE_DUMP_DIR");
  if (!d) skip();
  world w;
  memset(&w, 0, sizeof w);
  int counts[K_COUNT] = {0};
  w.counts = counts;
  w.rng = 12345;
  w.partitioned = true;
  w.hold_drop = true;
  snprintf(w.dir, sizeof w.dir, "%s", d);
  run(&w, 40, true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fs_seeds),
      cmocka_unit_test(test_sqlite_seed),
      cmocka_unit_test(test_schema_conflict),
      cmocka_unit_test(test_dump),
  };
  /* the interop tests want only the table */
  if (getenv("FLOE_DUMP_DIR")) {
    const struct CMUnitTest dump[] = {cmocka_unit_test(test_dump)};
    return cmocka_run_group_tests(dump, NULL, NULL);
  }
  return cmocka_run_group_tests(tests, NULL, NULL);
}
