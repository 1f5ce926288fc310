/*
 * floe_commit: resolves a transaction's deletes of committed rows by key,
 * then publishes everything in one step under mu, so a read state sees all
 * of a commit or none of it.
 *
 *   1. spill files move into the table's data directory (no lock: I/O)
 *   2. under ix: each delete finds its row (index candidates, minus deleted
 *      and already chosen rows, key values compared); a missing row fails
 *      the commit with FLOE_ENOTFOUND before anything changed
 *   3. under ix + mu: truncate, deletion bitmaps (copy-on-write), full
 *      private chunks become sealed batches as they are, the rest is copied
 *      into the active batch, spill files join the file list; applied_lsn
 *   4. under ix: index entries for the new rows
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "table/txn_int.h"
#include "util/hash.h"

/* ---- a set of locations (open addressing) ---- */

typedef struct lset {
  uint64_t *v;
  int64_t cap, n;
} lset;

/* small: LSET_SMALL slots the caller provides (a few deletes per commit
 * need no malloc); s->v != small means it was allocated */
#define LSET_SMALL 64
static floe_status lset_init(lset *s, int64_t n, uint64_t *small,
                             floe_error *err) {
  s->cap = 16;
  while (s->cap < n * 2) s->cap *= 2;
  if (s->cap <= LSET_SMALL) {
    s->cap = LSET_SMALL;
    s->v = small;
  } else {
    s->v = malloc((size_t)s->cap * sizeof *s->v);
  }
  if (!s->v) return ferr_nomem(err, (size_t)s->cap * 8);
  memset(s->v, 0xff, (size_t)s->cap * sizeof *s->v);
  s->n = 0;
  return FLOE_OK;
}

static bool lset_has(const lset *s, uint64_t k) {
  int64_t i = (int64_t)(fhash_u64(k) & (uint64_t)(s->cap - 1));
  while (s->v[i] != TBL_LOC_NONE) {
    if (s->v[i] == k) return true;
    i = (i + 1) & (s->cap - 1);
  }
  return false;
}

/* The caller sized the set for every key it adds. */
static void lset_add(lset *s, uint64_t k) {
  int64_t i = (int64_t)(fhash_u64(k) & (uint64_t)(s->cap - 1));
  while (s->v[i] != TBL_LOC_NONE) {
    if (s->v[i] == k) return;
    i = (i + 1) & (s->cap - 1);
  }
  s->v[i] = k;
  s->n++;
}

/* ---- resolving deletes ---- */

typedef struct resolver {
  floe_table *t;
  const tbl_schema *s;
  const col_batch *keys;
  int64_t krow;
  const lset *pend;
  uint64_t found;
  int nfile;
  uint64_t fcand[8];
} resolver;

static int visit_resolve(void *arg, uint64_t loc) {
  resolver *r = arg;
  if (lset_has(r->pend, loc)) return 0;
  tbl_batch *b;
  tbl_file *f;
  if (!tbl_loc_live(r->t, loc, &b, &f)) return 0;
  if (b) {
    if (tkey_equal(b->b->cols, r->s->ident, TIDX_LOC_ROW(loc), r->keys->cols,
                   r->s->seq, r->krow, r->s->nident)) {
      r->found = loc;
      return 1;
    }
    return 0;
  }
  if (r->nfile < 8) r->fcand[r->nfile++] = loc;
  return 0;
}

/* Row of one delete; TBL_LOC_NONE when missing. A lone file candidate is
 * taken on its 64-bit hash (the source says the row exists); several are
 * told apart by reading their keys. */
static floe_status resolve_one(floe_table *t, const tbl_txn *x, const tbl_op *o,
                               const lset *pend, uint64_t *out,
                               floe_error *err) {
  resolver r = {t,    x->schema,    x->opkeys, o->key_row,
                pend, TBL_LOC_NONE, 0,         {0}};
  tbl_lookup(t, o->hash, visit_resolve, &r);
  *out = r.found;
  if (r.found != TBL_LOC_NONE || r.nfile == 0) return FLOE_OK;
  if (r.nfile == 1) {
    *out = r.fcand[0];
    return FLOE_OK;
  }
  /* the identity columns only */
  const tbl_schema *s = x->schema;
  bool *want = calloc((size_t)s->ncols, sizeof *want);
  if (!want) return ferr_nomem(err, (size_t)s->ncols);
  for (int k = 0; k < s->nident; k++) want[s->ident[k]] = true;
  for (int i = 0; i < r.nfile; i++) {
    tbl_file *f = tbl_find_file(t, TIDX_LOC_ID(r.fcand[i]));
    int64_t pos = TIDX_LOC_ROW(r.fcand[i]);
    col_batch *b = NULL;
    floe_status st = col_batch_new(x->schema->cols, &b, err);
    if (st) {
      free(want);
      return st;
    }
    st = tbl_read_file_cols(t->cat, f->df.file_path, false, x->schema, want,
                            &pos, 1, b, err);
    bool eq = !st && tkey_equal(b->cols, x->schema->ident, 0, x->opkeys->cols,
                                x->schema->seq, o->key_row, x->schema->nident);
    col_batch_free(b);
    if (st || eq) {
      free(want);
      if (eq) *out = r.fcand[i];
      return st;
    }
  }
  free(want);
  return FLOE_OK;
}

/* ---- spill files ---- */

/* Moves spill file tmp to the data file path (same filesystem: rename;
 * else a copy). Its mtime is set to now first, so an orphan sweep that
 * lists the data directory after the move sees a young file. */
static floe_status move_file(floe_table *t, const char *tmp, const char *dst,
                             floe_error *err) {
  if (utimensat(AT_FDCWD, tmp, NULL, 0) != 0)
    return ferr_set(err, FLOE_EIO, "touch %s: %s", tmp, strerror(errno));
  const char *slash = strrchr(dst, '/');
  if (slash) {
    char *dir = strndup(dst, (size_t)(slash - dst));
    if (!dir) return ferr_nomem(err, strlen(dst));
    floe_status st = tbl_mkdirs(dir, err);
    free(dir);
    FLOE_TRY(st);
  }
  if (rename(tmp, dst) == 0) {
    /* the snapshot that will name the file is made durable by fsyncs of the
     * metadata directory only: the entry in the data directory needs its
     * own (a flushed file gets it from the store) */
    char *dir = strndup(dst, slash ? (size_t)(slash - dst) : 1);
    if (!dir) return ferr_nomem(err, strlen(dst));
    if (!slash) dir[0] = '.';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    floe_status st = FLOE_OK;
    if (fd < 0 || fsync(fd) != 0)
      st = ferr_set(err, FLOE_EIO, "fsync %s: %s", dir, strerror(errno));
    if (fd >= 0) close(fd);
    free(dir);
    return st;
  }
  if (errno != EXDEV)
    return ferr_set(err, FLOE_EIO, "rename %s to %s: %s", tmp, dst,
                    strerror(errno));
  /* another filesystem: copy through the store */
  char *key = NULL;
  FLOE_TRY(ice_catalog_key(t->cat, dst, &key, err));
  fstore_writer *w = NULL;
  floe_status st = fstore_writer_open(t->cat->store, key, &w, err);
  free(key);
  FLOE_TRY(st);
  FILE *fp = fopen(tmp, "rb");
  if (!fp) {
    fstore_writer_abort(w);
    return ferr_set(err, FLOE_EIO, "open %s: %s", tmp, strerror(errno));
  }
  char buf[1 << 16];
  size_t n;
  while (!st && (n = fread(buf, 1, sizeof buf, fp)) > 0)
    st = fstore_writer_write(w, buf, n, err);
  if (!st && ferror(fp))
    st = ferr_set(err, FLOE_EIO, "read %s: %s", tmp, strerror(errno));
  fclose(fp);
  if (!st)
    st = fstore_writer_commit(w, true, err);
  else
    fstore_writer_abort(w);
  if (!st) unlink(tmp);
  return st;
}

/* Registers the store key of a spill file about to move into the data
 * directory (tbl_keep_file). */
static floe_status moving_add(floe_table *t, const char *path,
                              floe_error *err) {
  char *key = NULL;
  FLOE_TRY(ice_catalog_key(t->cat, path, &key, err));
  floe_status st = FLOE_OK;
  pthread_mutex_lock(&t->mu);
  if (t->nmoving == t->capmoving) {
    int cap = t->capmoving ? t->capmoving * 2 : 8;
    void *q = realloc(t->moving, (size_t)cap * sizeof *t->moving);
    if (q) {
      t->moving = q;
      t->capmoving = cap;
    } else {
      st = ferr_nomem(err, (size_t)cap * sizeof *t->moving);
    }
  }
  if (!st) t->moving[t->nmoving++] = key;
  pthread_mutex_unlock(&t->mu);
  if (st) free(key);
  return st;
}

/* Forgets the moving files: they are in files[] now, or deleted. */
static void moving_clear(floe_table *t) {
  if (!t->nmoving) return; /* only this thread adds */
  pthread_mutex_lock(&t->mu);
  for (int i = 0; i < t->nmoving; i++) free(t->moving[i]);
  t->nmoving = 0;
  pthread_mutex_unlock(&t->mu);
}

/* ---- publishing ---- */

/* Dead rows of chunk c as a batch bitmap: c->del itself, with the rows
 * truncated or inserted by aborted subtransactions added (the txn ends with
 * this commit, and a row marked there was dead already). A full chunk's
 * bitmap has batch_rows bits (chunk_fit). */
static tbl_bits *chunk_dead(const tbl_txn *x, tbl_chunk *c) {
  if (x->ntmark || x->naborted)
    for (int64_t r = 0; r < c->b->length; r++)
      if (tbl_txn_dead(x, c->g0 + r)) tbl_bits_set(c->del, r);
  return tbl_bits_ref(c->del);
}

/* Index entries to add: hashes[r] -> (id, row0 + r), r < n. The hashes
 * live in the chunk or batch until the txn is freed. */
typedef struct newrun {
  const uint64_t *hashes;
  int64_t n;
  uint32_t id, row0;
} newrun;

/* The arrays point at the small inline ones when they fit (a commit of a
 * few rows does no malloc), else at heap ones. */
#define PLAN_SMALL 4
typedef struct plan {
  bool trunc;
  int nloc;
  uint64_t *locs; /* rows to delete */
  int nbatch;
  tbl_batch **batches; /* full chunks as sealed batches */
  tbl_bits **dead;     /* per chunk (NULL for full ones) */
  int nfile;
  tbl_file **files; /* spill files */
  tbl_fidx **fidx;
  int64_t nnew; /* rows in runs */
  int nrun, caprun;
  newrun *runs;
  uint64_t locs_s[4 * PLAN_SMALL];
  tbl_batch *batches_s[PLAN_SMALL];
  tbl_bits *dead_s[PLAN_SMALL];
  tbl_file *files_s[PLAN_SMALL];
  tbl_fidx *fidx_s[PLAN_SMALL];
  newrun runs_s[4 * PLAN_SMALL];
} plan;

/* n zeroed elements of size sz: the inline array small (cap elements) when
 * they fit, else a new one (NULL when out of memory). */
static void *plan_array(void *small, size_t cap, size_t n, size_t sz) {
  if (n <= cap) {
    memset(small, 0, n * sz);
    return small;
  }
  return calloc(n, sz);
}

static void plan_init(plan *p) {
  p->trunc = false;
  p->nloc = p->nbatch = p->nfile = p->nrun = 0;
  p->nnew = 0;
  p->locs = NULL;
  p->batches = NULL;
  p->dead = NULL;
  p->files = NULL;
  p->fidx = NULL;
  p->runs = p->runs_s;
  p->caprun = 4 * PLAN_SMALL;
}

static void plan_free(plan *p, int nchunk) {
  if (p->locs != p->locs_s) free(p->locs);
  for (int i = 0; i < p->nbatch; i++) tbl_batch_unref(p->batches[i]);
  if (p->batches != p->batches_s) free(p->batches);
  for (int i = 0; i < nchunk && p->dead; i++) tbl_bits_unref(p->dead[i]);
  if (p->dead != p->dead_s) free(p->dead);
  for (int i = 0; i < p->nfile; i++) {
    tbl_file_unref(p->files[i]);
    tbl_fidx_unref(p->fidx[i]);
  }
  if (p->files != p->files_s) free(p->files);
  if (p->fidx != p->fidx_s) free(p->fidx);
  if (p->runs != p->runs_s) free(p->runs);
}

static floe_status add_run(plan *p, const uint64_t *h, int64_t n, uint32_t id,
                           uint32_t row0, floe_error *err) {
  if (p->nrun == p->caprun) {
    int cap = p->caprun * 2;
    newrun *q = p->runs == p->runs_s ? NULL : p->runs;
    q = realloc(q, (size_t)cap * sizeof *p->runs);
    if (!q) return ferr_nomem(err, (size_t)cap * sizeof *p->runs);
    if (p->runs == p->runs_s)
      memcpy(q, p->runs_s, (size_t)p->nrun * sizeof *p->runs);
    p->runs = q;
    p->caprun = cap;
  }
  newrun *r = &p->runs[p->nrun++];
  r->hashes = h;
  r->n = n;
  r->id = id;
  r->row0 = row0;
  p->nnew += n;
  return FLOE_OK;
}

/* Marks the committed row at loc deleted, cloning a pinned bitmap. mu. */
static floe_status delete_loc(floe_table *t, uint64_t loc, floe_error *err) {
  uint32_t id = TIDX_LOC_ID(loc), row = TIDX_LOC_ROW(loc);
  if (id & TBL_FILE_BIT) {
    tbl_file *f = tbl_find_file(t, id);
    if (atomic_load(&f->del->refs) > 1) {
      tbl_dv *d = NULL;
      FLOE_TRY(tbl_dv_clone(f->del, &d, err));
      tbl_dv_unref(f->del);
      f->del = d;
    }
    /* resolve_one found it live (ix held since) and pend keeps a location
     * from being chosen twice */
    return tbl_dv_add_new(f->del, row, err);
  }
  tbl_batch *b = tbl_find_batch(t, id);
  if (atomic_load(&b->del->refs) > 1) {
    tbl_bits *c = tbl_bits_clone(b->del, b->cap);
    if (!c) return ferr_nomem(err, (size_t)b->cap / 8);
    tbl_bits_unref(b->del);
    b->del = c;
  }
  tbl_bits_set(b->del, row);
  /* its index entry goes too (ix is held): a row updated over and over
   * would otherwise leave a trail of dead entries under one hash that every
   * later lookup and insert of that key walks (quadratic in the updates
   * between two flushes). Its generation is the oldest one covering id. */
  for (int g = 0; g < t->ngen; g++)
    if (t->gen[g].max_id >= id) {
      tidx_mem_remove(t->gen[g].m, b->hash[row], loc);
      break;
    }
  return FLOE_OK;
}

/* Drops every committed row. mu. */
static floe_status truncate_view(floe_table *t, floe_error *err) {
  for (int i = 0; i < t->nfiles; i++) {
    tbl_file *f = t->files[i];
    FLOE_TRY(tbl_flist_push(f->ice == TBL_ICE_LIVE ? &t->removed : &t->trash, f,
                            err));
    t->files[i] = NULL;
  }
  t->nfiles = 0;
  for (int i = 0; i < t->nmem; i++) tbl_batch_unref(t->mem[i]);
  t->nmem = 0;
  t->active = NULL;
  t->mem_rows = 0;
  t->mem_bytes = 0;
  t->trunc_gen++;
  return FLOE_OK;
}

/* Copies the live rows of chunk c (dead: its dead rows) into the active
 * batch, sealing it when full, and records their index entries. mu. */
static floe_status copy_tail(floe_table *t, const tbl_chunk *c,
                             const tbl_bits *dead, plan *p, floe_error *err) {
  int64_t len = c->b->length;
  int64_t r = 0;
  while (r < len) {
    if (tbl_bits_get(dead, r)) {
      r++;
      continue;
    }
    if (!t->active || t->active->b->length >= t->active->cap) {
      tbl_batch *a = NULL;
      FLOE_TRY(tbl_batch_new(t->schema->cols, t->cfg.batch_rows, &a, err));
      a->id = t->next_id++;
      a->born_ms = tbl_mono_ms();
      floe_status st = tbl_mem_push(t, a, err);
      if (st) {
        tbl_batch_unref(a);
        return st;
      }
      t->active = a;
    }
    tbl_batch *a = t->active;
    int64_t room = a->cap - a->b->length;
    int64_t e = r;
    while (e < len && e - r < room && !tbl_bits_get(dead, e)) e++;
    int64_t n = e - r, at = a->b->length;
    for (int i = 0; i < t->schema->ncols; i++)
      FLOE_TRY(col_append_range(&a->b->cols[i], &c->b->cols[i], r, n, err));
    memcpy(a->hash + at, c->hash + r, (size_t)n * sizeof *a->hash);
    a->b->length = at + n;
    FLOE_TRY(add_run(p, c->hash + r, n, a->id, (uint32_t)at, err));
    int64_t bytes = c->bytes * n / (len ? len : 1);
    a->bytes += bytes;
    t->mem_bytes += bytes;
    t->mem_rows += n;
    r = e;
  }
  return FLOE_OK;
}

/* A commit that failed before publishing anything: the spill files it moved
 * into the data directory and their indexes are deleted, the txn dropped
 * (the table is as it was). */
static floe_status abandon(floe_table *t, tbl_txn *x, plan *p, int nchunk,
                           floe_status st) {
  for (int i = 0; i < p->nfile; i++) {
    char *key = NULL;
    floe_error e2;
    if (ice_catalog_key(t->cat, p->files[i]->df.file_path, &key, &e2) ==
        FLOE_OK)
      (void)fstore_del(t->cat->store, key, &e2);
    free(key);
    if (p->fidx[i]) p->fidx[i]->unlink = true;
  }
  moving_clear(t);
  plan_free(p, nchunk);
  tbl_txn_free(t, x);
  return st;
}

static bool txn_empty(const tbl_txn *x) {
  if (x->nrows) return false;
  for (int i = 0; i < x->nop; i++)
    if (!x->ops[i].dead) return false;
  return true;
}

static floe_status advance_to(floe_table *t, uint64_t lsn) {
  pthread_mutex_lock(&t->mu);
  if (lsn > t->applied) t->applied = lsn;
  tbl_wake(t);
  pthread_mutex_unlock(&t->mu);
  return FLOE_OK;
}

floe_status floe_advance(floe_table *t, uint64_t lsn, floe_error *err) {
  if (!t) return ferr_set(err, FLOE_EINVAL, "floe_advance: NULL table");
  return advance_to(t, lsn);
}

static floe_status broken(floe_table *t, floe_status st, floe_error *err) {
  t->broken = true;
  return ferr_prefix(err, st,
                     "commit failed half-way: the table must be reopened");
}

floe_status floe_commit(floe_table *t, uint32_t xid, uint64_t commit_lsn,
                        floe_error *err) {
  if (!t) return ferr_set(err, FLOE_EINVAL, "floe_commit: NULL table");
  if (t->broken)
    return ferr_set(err, FLOE_EIO, "table is broken by an earlier failure");
  tbl_txn *x = tbl_txn_find(t, xid);
  if (x) tbl_txn_forget(t, x);
  /* applied only moves on this thread: no lock to read it */
  if (commit_lsn <= t->applied || !x || txn_empty(x)) {
    tbl_txn_free(t, x);
    return advance_to(t, commit_lsn);
  }
  plan p;
  plan_init(&p);
  int nchunk = x->nchunk;
  floe_status st = FLOE_OK;

  /* 1. spill files: their dead rows; the live ones move into the data
   * directory (a segment with no live row stays a spill file, deleted
   * with the txn) */
  tbl_dv **sdv = NULL;
  char **moved = NULL;
  int nmoved = 0;
  if (x->nseg) {
    sdv = calloc((size_t)x->nseg, sizeof *sdv);
    moved = calloc((size_t)x->nseg, sizeof *moved);
    if (!sdv || !moved) st = ferr_nomem(err, (size_t)x->nseg * sizeof *sdv);
  }
  for (int i = 0; i < x->nseg && !st; i++) {
    tbl_seg *sg = &x->segs[i];
    st = tbl_dv_new(&sdv[i], err);
    for (int64_t r = 0; r < sg->rows && !st; r++)
      if (tbl_txn_dead(x, sg->g0 + r))
        st = tbl_dv_add(sdv[i], (uint64_t)r, err);
  }
  for (int i = 0; i < x->nseg && !st; i++) {
    tbl_seg *sg = &x->segs[i];
    if (sdv[i]->ndel == sg->rows) continue;
    st = moving_add(t, sg->df.file_path, err);
    if (!st) st = move_file(t, sg->tmp, sg->df.file_path, err);
    if (!st && !(moved[nmoved] = strdup(sg->df.file_path)))
      st = ferr_nomem(err, strlen(sg->df.file_path));
    if (!st) nmoved++;
  }

  if (!st) {
    size_t nc = (size_t)nchunk + 1, ns = (size_t)x->nseg + 1;
    p.dead = plan_array(p.dead_s, PLAN_SMALL, nc, sizeof *p.dead);
    p.batches = plan_array(p.batches_s, PLAN_SMALL, nc, sizeof *p.batches);
    p.files = plan_array(p.files_s, PLAN_SMALL, ns, sizeof *p.files);
    p.fidx = plan_array(p.fidx_s, PLAN_SMALL, ns, sizeof *p.fidx);
    p.locs = plan_array(p.locs_s, 4 * PLAN_SMALL, (size_t)x->nop + 1,
                        sizeof *p.locs);
    if (!p.dead || !p.batches || !p.files || !p.fidx || !p.locs)
      st = ferr_nomem(err, (size_t)nchunk * sizeof *p.dead);
  }
  for (int i = 0; i < nchunk && !st; i++) {
    p.dead[i] = chunk_dead(x, &x->chunks[i]);
    if (!p.dead[i]) st = ferr_nomem(err, (size_t)x->batch_rows / 8);
  }
  /* moved segments become files */
  for (int i = 0; i < x->nseg && !st; i++) {
    tbl_seg *sg = &x->segs[i];
    if (sdv[i]->ndel == sg->rows) continue;
    tbl_file *f = NULL;
    ice_data_file df = sg->df;
    memset(&sg->df, 0, sizeof sg->df);
    st = tbl_file_new(&df, 0, &f, err);
    if (st) {
      ice_data_file_free(&df);
      break;
    }
    tbl_dv_unref(f->del);
    f->del = sdv[i];
    sdv[i] = NULL;
    p.files[p.nfile] = f;
    p.fidx[p.nfile] = sg->idx;
    sg->idx = NULL;
    p.nfile++;
    free(sg->tmp); /* moved: not a spill file any more */
    sg->tmp = NULL;
  }
  for (int i = 0; i < x->nseg && sdv; i++) tbl_dv_unref(sdv[i]);
  free(sdv);
  if (st) {
    /* the moved files become orphans: delete them */
    for (int i = 0; i < nmoved; i++) {
      char *key = NULL;
      floe_error e2;
      if (ice_catalog_key(t->cat, moved[i], &key, &e2) == FLOE_OK)
        (void)fstore_del(t->cat->store, key, &e2);
      free(key);
    }
    for (int i = 0; i < nmoved; i++) free(moved[i]);
    free(moved);
    for (int i = 0; i < p.nfile; i++) p.fidx[i]->unlink = true;
    moving_clear(t);
    plan_free(&p, nchunk);
    tbl_txn_free(t, x);
    return st;
  }
  for (int i = 0; i < nmoved; i++) free(moved[i]);
  free(moved);

  /* 2. resolve deletes of committed rows */
  pthread_mutex_lock(&t->ix);
  int last_trunc = -1;
  for (int i = 0; i < x->nop; i++)
    if (!x->ops[i].dead && x->ops[i].kind == TBL_OP_TRUNC) last_trunc = i;
  p.trunc = last_trunc >= 0;
  lset pend = {NULL, 0, 0};
  uint64_t pend_small[LSET_SMALL];
  st = lset_init(&pend, x->nop, pend_small, err);
  /* Each key costs a few cache misses in every index (mem generations,
   * several file indexes; in a big table each a miss to RAM): a software
   * pipeline, directory words two keys ahead and entries one key ahead,
   * overlaps them instead of taking them one after the other. */
  enum { AHEAD = 2 };
  if (!p.trunc)
    for (int i = last_trunc + 1; i < x->nop && i <= last_trunc + AHEAD; i++) {
      tbl_lookup_prefetch(t, x->ops[i].hash, 0);
      if (i == last_trunc + 1) tbl_lookup_prefetch(t, x->ops[i].hash, 1);
    }
  for (int i = last_trunc + 1; i < x->nop && !st; i++) {
    const tbl_op *o = &x->ops[i];
    if (!p.trunc && i + AHEAD < x->nop)
      tbl_lookup_prefetch(t, x->ops[i + AHEAD].hash, 0);
    if (!p.trunc && i + 1 < x->nop)
      tbl_lookup_prefetch(t, x->ops[i + 1].hash, 1);
    if (o->dead) continue;
    uint64_t loc = TBL_LOC_NONE;
    if (!p.trunc) st = resolve_one(t, x, o, &pend, &loc, err);
    if (!st && loc == TBL_LOC_NONE)
      st = ferr_set(err, FLOE_ENOTFOUND,
                    "transaction %u deletes a row that does not exist: the "
                    "table needs a resync",
                    xid);
    if (!st) {
      lset_add(&pend, loc);
      p.locs[p.nloc++] = loc;
    }
  }
  if (pend.v != pend_small) free(pend.v);
  if (st) {
    pthread_mutex_unlock(&t->ix);
    return abandon(t, x, &p, nchunk, st);
  }

  /* full chunks become sealed batches (ids under ix) */
  int64_t born = tbl_mono_ms();
  for (int i = 0; i < nchunk; i++) {
    tbl_chunk *c = &x->chunks[i];
    if (c->b->length < x->batch_rows || p.dead[i]->ndel == c->b->length)
      continue;
    tbl_batch *b = calloc(1, sizeof *b);
    if (!b) {
      st = ferr_nomem(err, sizeof *b);
      break;
    }
    atomic_init(&b->refs, 1);
    b->id = t->next_id++;
    b->b = c->b;
    b->hash = c->hash;
    b->cap = x->batch_rows;
    b->del = p.dead[i];
    b->bytes = c->bytes;
    b->born_ms = born;
    c->b = NULL;
    c->hash = NULL;
    p.dead[i] = NULL;
    p.batches[p.nbatch++] = b;
    for (int64_t r = 0; r < x->batch_rows && !st;) {
      if (tbl_bits_get(b->del, r)) {
        r++;
        continue;
      }
      int64_t e = r + 1;
      while (e < x->batch_rows && !tbl_bits_get(b->del, e)) e++;
      st = add_run(&p, b->hash + r, e - r, b->id, (uint32_t)r, err);
      r = e;
    }
  }
  for (int i = 0; i < p.nfile && !st; i++) {
    p.files[i]->slot = TBL_FILE_BIT | t->next_slot++;
    tidx_file_set_slot(p.fidx[i]->f, 0, p.files[i]->slot);
  }
  if (st) {
    pthread_mutex_unlock(&t->ix);
    return abandon(t, x, &p, nchunk, st);
  }

  /* 3. publish */
  pthread_mutex_lock(&t->mu);
  if (p.trunc) st = truncate_view(t, err);
  for (int i = 0; i < p.nloc && !st; i++) st = delete_loc(t, p.locs[i], err);
  for (int i = 0; i < p.nbatch && !st; i++) {
    st = tbl_mem_push(t, p.batches[i], err);
    if (!st) {
      t->mem_rows += p.batches[i]->b->length;
      t->mem_bytes += p.batches[i]->bytes;
      p.batches[i] = NULL;
    }
  }
  for (int i = 0; i < nchunk && !st; i++)
    if (x->chunks[i].b) st = copy_tail(t, &x->chunks[i], p.dead[i], &p, err);
  for (int i = 0; i < p.nfile && !st; i++) {
    st = tbl_files_push(t, p.files[i], err);
    if (!st) p.files[i] = NULL;
  }
  if (!st) {
    t->applied = commit_lsn;
    if (p.trunc || p.nloc || p.nnew || p.nfile) {
      t->version++;
      t->changes++;
    }
    t->n_changes += (int64_t)p.nloc + p.nnew + x->spilled;
    tbl_wake(t);
  }
  pthread_mutex_unlock(&t->mu);
  moving_clear(t); /* in files[] now (or the table is broken) */

  /* 4. index */
  if (!st && p.trunc) {
    for (int g = 0; g < t->ngen; g++) tidx_mem_free(t->gen[g].m);
    t->ngen = 0;
    for (int i = 0; i < t->nfidx; i++) {
      t->fidx[i]->unlink = true;
      tbl_fidx_unref(t->fidx[i]);
    }
    t->nfidx = 0;
    /* this commit's batches (ids given before the truncate) */
    uint32_t base = t->next_id;
    for (int i = 0; i < p.nrun; i++)
      if (p.runs[i].id < base) base = p.runs[i].id;
    st = tidx_mem_new_batches(t->cfg.batch_rows, base, t->cfg.batch_rows,
                              &t->gen[0].m, err);
    if (!st) {
      t->gen[0].max_id = UINT32_MAX;
      t->ngen = 1;
    }
  }
  tidx_mem *m = t->ngen ? t->gen[t->ngen - 1].m : NULL;
  for (int i = 0; i < p.nrun && !st; i++)
    st = tidx_mem_insert_run(m, p.runs[i].hashes, p.runs[i].n, p.runs[i].id,
                             p.runs[i].row0, err);
  for (int i = 0; i < p.nfile && !st; i++) {
    st = tbl_fidx_push(t, p.fidx[i], err);
    if (!st) p.fidx[i] = NULL;
  }
  pthread_mutex_unlock(&t->ix);
  plan_free(&p, nchunk);
  tbl_txn_free(t, x);
  if (st) return broken(t, st, err);
  /* The commit is visible; now the ingest thread pays if the mem slice
   * outran the flushes (README: back-pressure). An error here leaves the
   * commit applied (a retry is skipped as a replay). */
  return tbl_backpressure(t, err);
}
