/*
 * Read states: a pinned, consistent view at a commit boundary (files with
 * their deletion vectors, mem batches with their bitmaps, the schema), taken
 * under mu in O(files + batches) with no I/O, and streamed through the Arrow
 * C stream interface: data files through ice_scan over a plan made of the
 * pinned files, then the batches with deleted rows masked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iceberg/scan.h"
#include "table/table_int.h"

typedef struct rs_batch {
  tbl_batch *b; /* rows [0, n) are the view's */
  tbl_bits *del;
  int64_t n;
} rs_batch;

typedef struct rs_file {
  tbl_file *f;
  tbl_dv *del;
} rs_file;

struct floe_read_state {
  atomic_int refs; /* the caller's + one per open stream */
  floe_table *t;   /* one table reference */
  tbl_schema *schema;
  uint64_t lsn;
  int nfiles;
  rs_file *files;
  int nbatch;
  rs_batch *batches;
  int64_t rows;
};

static void rs_unref(floe_read_state *rs) {
  if (!rs || atomic_fetch_sub(&rs->refs, 1) != 1) return;
  for (int i = 0; i < rs->nfiles; i++) {
    tbl_file_unref(rs->files[i].f);
    tbl_dv_unref(rs->files[i].del);
  }
  free(rs->files);
  for (int i = 0; i < rs->nbatch; i++) {
    tbl_batch_unref(rs->batches[i].b);
    tbl_bits_unref(rs->batches[i].del);
  }
  free(rs->batches);
  tbl_schema_unref(rs->schema);
  floe_table *t = rs->t;
  free(rs);
  tbl_table_unref(t);
}

void floe_read_state_release(floe_read_state *rs) { rs_unref(rs); }

uint64_t floe_read_state_lsn(const floe_read_state *rs) {
  return rs ? rs->lsn : 0;
}

int64_t floe_read_state_rows(const floe_read_state *rs) {
  return rs ? rs->rows : 0;
}

/* A copy of the active batch's rows for read states (mu held): rows only
 * grow and the bitmap is copy-on-write, so the copy shares the bitmap. */
static floe_status active_snapshot(floe_table *t, floe_error *err) {
  tbl_batch *a = t->active;
  if (t->asnap && t->asnap_version == t->version && t->asnap->id == a->id &&
      t->asnap->b->length == a->b->length)
    return FLOE_OK;
  tbl_batch *c = calloc(1, sizeof *c);
  if (!c) return ferr_nomem(err, sizeof *c);
  atomic_init(&c->refs, 1);
  c->id = a->id;
  c->cap = a->cap;
  c->del = tbl_bits_ref(a->del);
  floe_status st = col_batch_new(a->b->schema, &c->b, err);
  for (int i = 0; i < a->b->schema->nfields && !st; i++)
    st = col_append_range(&c->b->cols[i], &a->b->cols[i], 0, a->b->length, err);
  if (st) {
    tbl_batch_unref(c);
    return st;
  }
  c->b->length = a->b->length;
  tbl_batch_unref(t->asnap);
  t->asnap = c;
  t->asnap_version = t->version;
  return FLOE_OK;
}

/* Pins the view (mu held). */
static floe_status pin(floe_table *t, floe_read_state *rs, floe_error *err) {
  rs->schema = tbl_schema_ref(t->schema);
  rs->lsn = t->applied;
  rs->files = calloc((size_t)t->nfiles + 1, sizeof *rs->files);
  rs->batches = calloc((size_t)t->nmem + 1, sizeof *rs->batches);
  if (!rs->files || !rs->batches)
    return ferr_nomem(err, (size_t)(t->nfiles + t->nmem) * 16);
  for (int i = 0; i < t->nfiles; i++) {
    tbl_file *f = t->files[i];
    rs->files[i].f = tbl_file_ref(f);
    rs->files[i].del = tbl_dv_ref(f->del);
    rs->rows += f->rows - f->del->ndel;
    rs->nfiles++;
  }
  for (int i = 0; i < t->nmem; i++) {
    tbl_batch *b = t->mem[i];
    if (b == t->active) {
      if (!b->b->length) continue;
      FLOE_TRY(active_snapshot(t, err));
      b = t->asnap;
    }
    rs_batch *r = &rs->batches[rs->nbatch++];
    r->b = tbl_batch_ref(b);
    r->del = tbl_bits_ref(b->del);
    r->n = b->b->length;
    rs->rows += r->n - r->del->ndel;
  }
  return FLOE_OK;
}

floe_status floe_read_state_get(floe_table *t, uint64_t min_lsn,
                                int64_t timeout_ms, floe_read_state **out,
                                floe_error *err) {
  if (!t || !out)
    return ferr_set(err, FLOE_EINVAL, "floe_read_state_get: NULL argument");
  *out = NULL;
  floe_read_state *rs = calloc(1, sizeof *rs);
  if (!rs) return ferr_nomem(err, sizeof *rs);
  atomic_init(&rs->refs, 1);
  atomic_fetch_add(&t->refs, 1);
  rs->t = t;
  struct timespec until;
  if (timeout_ms >= 0) {
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000;
    }
  }
  floe_status st = FLOE_OK;
  pthread_mutex_lock(&t->mu);
  while (t->applied < min_lsn && !st) {
    if (timeout_ms < 0) {
      pthread_cond_wait(&t->cv, &t->mu);
    } else if (pthread_cond_timedwait(&t->cv, &t->mu, &until) == ETIMEDOUT &&
               t->applied < min_lsn) {
      char a[24], b[24];
      st = ferr_set(err, FLOE_ETIMEDOUT,
                    "LSN %s not applied within %lld ms (applied: %s)",
                    floe_lsn_format(min_lsn, a), (long long)timeout_ms,
                    floe_lsn_format(t->applied, b));
    }
  }
  if (!st) st = pin(t, rs, err);
  pthread_mutex_unlock(&t->mu);
  if (st) {
    rs_unref(rs);
    return st;
  }
  *out = rs;
  return FLOE_OK;
}

/* ---- scans ---- */

typedef struct scan_ctx {
  floe_read_state *rs; /* one reference */
  ice_plan plan;       /* tasks borrow the pinned files' entries */
  ice_scan *is;
  col_schema *schema; /* the stream's (borrowed from is) */
  int ncols;
  int *cols; /* projected column indexes into rs->schema */
  int next_batch;
} scan_ctx;

static void scan_free(void *p) {
  scan_ctx *c = p;
  if (!c) return;
  ice_scan_free(c->is);
  free(c->plan.tasks);
  free(c->cols);
  rs_unref(c->rs);
  free(c);
}

/* The live rows of mem batch r, projected. NULL when none survive. */
static floe_status batch_out(scan_ctx *c, const rs_batch *r, col_batch **out,
                             floe_error *err) {
  *out = NULL;
  if (r->n - r->del->ndel <= 0) return FLOE_OK;
  col_batch *o = NULL;
  FLOE_TRY(col_batch_new(c->schema, &o, err));
  floe_status st = FLOE_OK;
  const col_batch *b = r->b->b;
  int64_t i = 0;
  while (i < r->n && !st) {
    if (tbl_bits_get(r->del, i)) {
      i++;
      continue;
    }
    int64_t e = i + 1;
    while (e < r->n && !tbl_bits_get(r->del, e)) e++;
    for (int k = 0; k < c->ncols && !st; k++)
      st = col_append_range(&o->cols[k], &b->cols[c->cols[k]], i, e - i, err);
    o->length += e - i;
    i = e;
  }
  if (!st && c->ncols) st = col_batch_seal(o, err);
  if (st) {
    col_batch_free(o);
    return st;
  }
  *out = o;
  return FLOE_OK;
}

static floe_status scan_next(void *p, col_batch **out, floe_error *err) {
  scan_ctx *c = p;
  *out = NULL;
  if (c->is) {
    FLOE_TRY(ice_scan_next(c->is, out, err));
    if (*out) return FLOE_OK;
  }
  while (c->next_batch < c->rs->nbatch) {
    const rs_batch *r = &c->rs->batches[c->next_batch++];
    FLOE_TRY(batch_out(c, r, out, err));
    if (*out) return FLOE_OK;
  }
  return FLOE_OK;
}

floe_status floe_scan(floe_read_state *rs, const char *const *columns,
                      int ncolumns, struct ArrowArrayStream *out,
                      floe_error *err) {
  if (!rs || !out) return ferr_set(err, FLOE_EINVAL, "floe_scan: NULL");
  const tbl_schema *s = rs->schema;
  if (!columns || ncolumns <= 0) ncolumns = 0;
  int n = ncolumns ? ncolumns : s->ncols;
  scan_ctx *c = calloc(1, sizeof *c);
  if (!c) return ferr_nomem(err, sizeof *c);
  atomic_fetch_add(&rs->refs, 1);
  c->rs = rs;
  c->ncols = n;
  c->cols = calloc((size_t)n + 1, sizeof *c->cols);
  int32_t *ids = calloc((size_t)n + 1, sizeof *ids);
  c->plan.tasks = calloc((size_t)rs->nfiles + 1, sizeof *c->plan.tasks);
  floe_status st = FLOE_OK;
  if (!c->cols || !ids || !c->plan.tasks) st = ferr_nomem(err, (size_t)n * 8);
  for (int i = 0; i < n && !st; i++) {
    int k = i;
    if (ncolumns) {
      k = columns[i] ? col_schema_find(s->cols, columns[i]) : -1;
      if (k < 0) {
        st = ferr_set(err, FLOE_ENOTFOUND, "no column %s",
                      columns[i] ? columns[i] : "(null)");
        break;
      }
      for (int j = 0; j < i; j++)
        if (c->cols[j] == k)
          st = ferr_set(err, FLOE_EINVAL, "column %s requested twice",
                        columns[i]);
    }
    c->cols[i] = k;
    ids[i] = s->cols->fields[k].id;
  }
  if (!st) {
    /* a plan made of the pinned files: the entries are borrowed, the DVs
     * are the pinned (never modified) ones */
    for (int i = 0; i < rs->nfiles; i++) {
      ice_scan_task *tk = &c->plan.tasks[i];
      tk->file = rs->files[i].f->df;
      tk->deletes = rs->files[i].del->ndel ? rs->files[i].del->dv : NULL;
    }
    c->plan.ntasks = rs->nfiles;
    c->plan.snapshot_id = ICE_NONE;
    c->plan.schema_id = s->ice.schema_id;
    ice_metadata md;
    memset(&md, 0, sizeof md);
    md.location = rs->t->location;
    md.nschemas = 1;
    md.schemas = (ice_schema *)&s->ice;
    st = ice_scan_open_md(rs->t->cat, &md, &c->plan, ids, n, &c->is, err);
  }
  free(ids);
  if (!st) {
    c->schema = ice_scan_schema(c->is);
    st = col_stream_export(c->schema, scan_next, c, scan_free, out, err);
  }
  if (st) scan_free(c);
  return st;
}
