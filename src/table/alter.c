/*
 * Schema changes (floe_table_alter, floe_table_rename_column), called on
 * the ingest thread: flush and commit what is applied (data files keep the
 * schema they were written with; Iceberg reads them by field id), commit the
 * new Iceberg schema, then convert what is still in memory (mem batches if
 * any, open transactions' rows and keys) to it and swap the schema in.
 * Spill files of open transactions keep their schema, like data files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table/txn_int.h"

/* Iceberg has one 32-bit "int": an int16 column reads back as int32. */
static bool same_type(col_dtype a, col_dtype b) {
  if (a.id == COL_INT16) a.id = COL_INT32;
  if (b.id == COL_INT16) b.id = COL_INT32;
  if (a.id == COL_LIST) {
    if (a.elem == COL_INT16) a.elem = COL_INT32;
    if (b.elem == COL_INT16) b.elem = COL_INT32;
  }
  if (a.id != b.id) return false;
  if (a.id == COL_DECIMAL && (a.precision != b.precision || a.scale != b.scale))
    return false;
  if (a.id == COL_LIST &&
      (a.elem != b.elem ||
       (a.elem == COL_DECIMAL && (a.elem_precision != b.elem_precision ||
                                  a.elem_scale != b.elem_scale))))
    return false;
  return true;
}

bool tbl_same_type(col_dtype a, col_dtype b) { return same_type(a, b); }

/* Iceberg has one 32-bit int: int16 columns are int32 columns. */
static col_dtype int32_for_int16(col_dtype t) {
  if (t.id == COL_INT16) t.id = COL_INT32;
  if (t.id == COL_LIST && t.elem == COL_INT16) t.elem = COL_INT32;
  return t;
}

/* Converts batch b into schema to by field id (defaults per field of to). */
static floe_status convert_to(const col_batch *b, col_schema *to,
                              const tbl_schema *s, col_batch **out,
                              floe_error *err) {
  col_batch *nb = NULL;
  FLOE_TRY(col_batch_new(to, &nb, err));
  floe_status st = FLOE_OK;
  for (int i = 0; i < to->nfields && !st; i++) {
    int32_t id = to->fields[i].id;
    int k = col_schema_find_id(b->schema, id);
    if (k >= 0) {
      st = tbl_col_convert(&nb->cols[i], &b->cols[k], 0, b->length, err);
    } else {
      int c = col_schema_find_id(s->cols, id);
      st = tbl_col_default(&nb->cols[i],
                           c >= 0 ? s->fcols[c].initial_default : NULL,
                           b->length, err);
    }
  }
  if (!st) st = col_batch_seal(nb, err);
  if (!st) nb->length = b->length;
  if (st) {
    col_batch_free(nb);
    return st;
  }
  *out = nb;
  return FLOE_OK;
}

/* Whether rows hash differently under b than under a. A table without a
 * key hashes every column, so adding or dropping one changes every row's
 * hash; a key table's key columns can only widen, which keeps hashes. */
static bool ident_changed(const tbl_schema *a, const tbl_schema *b) {
  if (a->nident != b->nident) return true;
  for (int k = 0; k < a->nident; k++)
    if (a->cols->fields[a->ident[k]].id != b->cols->fields[b->ident[k]].id)
      return true;
  return false;
}

/* The converted batches and txn state, built before anything is swapped so
 * a failure leaves the table as it was. With rehash (the identity changed)
 * also every identity hash the engine keeps, recomputed: mem batches and
 * their index, private chunks, op-log keys, spill segment indexes and one
 * new index over every data file. */
typedef struct conv {
  int nmem;
  tbl_batch **mem; /* replacements for t->mem[i] */
  int ntxn;
  col_batch ***chunks; /* per txn, per chunk */
  col_batch **opkeys;  /* per txn */
  bool rehash;
  uint64_t ***chash;  /* per txn, per chunk */
  uint64_t **ophash;  /* per txn: per opkeys row */
  tbl_fidx ***segidx; /* per txn, per spill segment */
  tidx_mem *gen;      /* the mem index over the converted batches */
  tbl_fidx *fidx;     /* over every data file (NULL: none) */
  int nold;
  tbl_fidx **old; /* the replaced indexes, dropped after the locks */
} conv;

static void fidx_drop(tbl_fidx *x) {
  if (!x) return;
  x->unlink = true;
  tbl_fidx_unref(x);
}

static void conv_free(conv *c, floe_table *t) {
  for (int i = 0; i < c->nmem && c->mem; i++) tbl_batch_unref(c->mem[i]);
  free(c->mem);
  for (int i = 0; i < c->ntxn; i++) {
    const tbl_txn *x = t->txns[i];
    for (int k = 0; c->chunks && c->chunks[i] && k < x->nchunk; k++)
      col_batch_free(c->chunks[i][k]);
    if (c->chunks) free(c->chunks[i]);
    if (c->opkeys) col_batch_free(c->opkeys[i]);
    for (int k = 0; c->chash && c->chash[i] && k < x->nchunk; k++)
      free(c->chash[i][k]);
    if (c->chash) free(c->chash[i]);
    if (c->ophash) free(c->ophash[i]);
    for (int k = 0; c->segidx && c->segidx[i] && k < x->nseg; k++)
      fidx_drop(c->segidx[i][k]);
    if (c->segidx) free(c->segidx[i]);
  }
  free(c->chunks);
  free(c->opkeys);
  free(c->chash);
  free(c->ophash);
  free(c->segidx);
  tidx_mem_free(c->gen);
  fidx_drop(c->fidx);
  for (int i = 0; i < c->nold; i++) fidx_drop(c->old[i]);
  free(c->old);
}

/* A new index over spill segment k of x, its rows read back in schema s. */
static floe_status rehash_seg(floe_table *t, const tbl_txn *x, int k,
                              const tbl_schema *s, tbl_fidx **out,
                              floe_error *err) {
  const tbl_seg *sg = &x->segs[k];
  if (sg->rows > INT32_MAX)
    return ferr_set(err, FLOE_EUNSUPPORTED, "spill segment of %lld rows",
                    (long long)sg->rows);
  int64_t *pos = malloc((size_t)(sg->rows ? sg->rows : 1) * sizeof *pos);
  uint64_t *h = malloc((size_t)(sg->rows ? sg->rows : 1) * sizeof *h);
  col_batch *b = NULL;
  floe_status st = pos && h ? FLOE_OK : ferr_nomem(err, (size_t)sg->rows * 16);
  for (int64_t r = 0; r < sg->rows && !st; r++) pos[r] = r;
  if (!st) st = col_batch_new(s->cols, &b, err);
  if (!st)
    st = tbl_read_file_rows(NULL, sg->tmp, true, s, pos, (int)sg->rows, b, err);
  if (!st) tkey_hash(b->cols, s->ident, s->nident, 0, sg->rows, h);
  char *dir = NULL, *path = NULL;
  tidx_file *f = NULL;
  if (!st) {
    size_t n = strlen(t->state_dir) + 8;
    dir = malloc(n);
    if (!dir)
      st = ferr_nomem(err, n);
    else
      snprintf(dir, n, "%s/index", t->state_dir);
  }
  if (!st) st = tbl_path_uuid(dir, "", ".tidx", &path, err);
  if (!st) {
    tidx_cover cv = {sg->df.file_path, sg->rows, (uint32_t)k};
    st = tidx_file_build(path, &cv, 1, h, &f, err);
  }
  if (!st && !(*out = tbl_fidx_wrap(f))) {
    tidx_file_close(f, 1);
    st = ferr_nomem(err, sizeof **out);
  }
  col_batch_free(b);
  free(pos);
  free(h);
  free(dir);
  free(path);
  return st;
}

/* Inserts the live rows of batch b into m. */
static floe_status index_batch(tidx_mem *m, const tbl_batch *b,
                               floe_error *err) {
  int64_t n = b->b->length, r = 0;
  while (r < n) {
    if (tbl_bits_get(b->del, r)) {
      r++;
      continue;
    }
    int64_t e = r + 1;
    while (e < n && !tbl_bits_get(b->del, e)) e++;
    FLOE_TRY(
        tidx_mem_insert_run(m, b->hash + r, e - r, b->id, (uint32_t)r, err));
    r = e;
  }
  return FLOE_OK;
}

static floe_status convert_all(floe_table *t, const tbl_schema *s, conv *c,
                               floe_error *err) {
  memset(c, 0, sizeof *c);
  c->nmem = t->nmem;
  c->ntxn = t->ntxn;
  c->rehash = ident_changed(t->schema, s);
  c->mem = calloc((size_t)t->nmem + 1, sizeof *c->mem);
  c->chunks = calloc((size_t)t->ntxn + 1, sizeof *c->chunks);
  c->opkeys = calloc((size_t)t->ntxn + 1, sizeof *c->opkeys);
  if (!c->mem || !c->chunks || !c->opkeys) return ferr_nomem(err, 64);
  if (c->rehash) {
    c->chash = calloc((size_t)t->ntxn + 1, sizeof *c->chash);
    c->ophash = calloc((size_t)t->ntxn + 1, sizeof *c->ophash);
    c->segidx = calloc((size_t)t->ntxn + 1, sizeof *c->segidx);
    int nold = t->nfidx;
    for (int i = 0; i < t->ntxn; i++) nold += t->txns[i]->nseg;
    c->old = calloc((size_t)nold + 1, sizeof *c->old);
    if (!c->chash || !c->ophash || !c->segidx || !c->old)
      return ferr_nomem(err, 64);
    FLOE_TRY(tidx_mem_new_batches(
        t->mem_rows > t->cfg.batch_rows ? t->mem_rows : t->cfg.batch_rows,
        t->nmem ? t->mem[0]->id : t->next_id, t->cfg.batch_rows, &c->gen, err));
    /* the data files: read back, every row hashed anew (a table without a
     * key has no cheaper way to know its rows' new identities) */
    FLOE_TRY(tbl_index_files(t, s, t->files, t->nfiles, &c->fidx, err));
  }
  for (int i = 0; i < t->nmem; i++) {
    const tbl_batch *b = t->mem[i];
    tbl_batch *n = calloc(1, sizeof *n);
    if (!n) return ferr_nomem(err, sizeof *n);
    atomic_init(&n->refs, 1);
    c->mem[i] = n;
    n->id = b->id;
    n->cap = b->cap;
    n->bytes = b->bytes;
    n->born_ms = b->born_ms;
    n->del = tbl_bits_clone(b->del, b->cap);
    n->hash = malloc((size_t)b->cap * sizeof *n->hash);
    if (!n->del || !n->hash) return ferr_nomem(err, (size_t)b->cap * 8);
    memcpy(n->hash, b->hash, (size_t)b->b->length * sizeof *n->hash);
    FLOE_TRY(convert_to(b->b, s->cols, s, &n->b, err));
    if (c->rehash) {
      tkey_hash(n->b->cols, s->ident, s->nident, 0, n->b->length, n->hash);
      FLOE_TRY(index_batch(c->gen, n, err));
    }
  }
  for (int i = 0; i < t->ntxn; i++) {
    tbl_txn *x = t->txns[i];
    c->chunks[i] = calloc((size_t)x->nchunk + 1, sizeof **c->chunks);
    if (!c->chunks[i]) return ferr_nomem(err, 64);
    for (int k = 0; k < x->nchunk; k++)
      FLOE_TRY(convert_to(x->chunks[k].b, s->cols, s, &c->chunks[i][k], err));
    FLOE_TRY(convert_to(x->opkeys, s->ident_schema, s, &c->opkeys[i], err));
    if (!c->rehash) continue;
    c->chash[i] = calloc((size_t)x->nchunk + 1, sizeof **c->chash);
    c->segidx[i] = calloc((size_t)x->nseg + 1, sizeof **c->segidx);
    int64_t nk = c->opkeys[i]->length;
    c->ophash[i] = malloc((size_t)(nk ? nk : 1) * sizeof **c->ophash);
    if (!c->chash[i] || !c->segidx[i] || !c->ophash[i])
      return ferr_nomem(err, 64);
    for (int k = 0; k < x->nchunk; k++) {
      const col_batch *cb = c->chunks[i][k];
      c->chash[i][k] = malloc((size_t)x->batch_rows * sizeof ***c->chash);
      if (!c->chash[i][k]) return ferr_nomem(err, (size_t)x->batch_rows * 8);
      tkey_hash(cb->cols, s->ident, s->nident, 0, cb->length, c->chash[i][k]);
    }
    tkey_hash(c->opkeys[i]->cols, s->seq, s->nident, 0, nk, c->ophash[i]);
    for (int k = 0; k < x->nseg; k++)
      FLOE_TRY(rehash_seg(t, x, k, s, &c->segidx[i][k], err));
  }
  return FLOE_OK;
}

/* Swaps the recomputed hashes in (ix + mu held; cannot fail: fidx[] has
 * room for one, old[] for every index replaced). */
static void swap_hashes(floe_table *t, conv *c) {
  for (int g = 0; g < t->ngen; g++) tidx_mem_free(t->gen[g].m);
  t->gen[0].m = c->gen;
  t->gen[0].max_id = UINT32_MAX;
  t->ngen = 1;
  c->gen = NULL;
  /* unmapped and unlinked after the locks (conv_free) */
  for (int i = 0; i < t->nfidx; i++) c->old[c->nold++] = t->fidx[i];
  t->nfidx = 0;
  if (c->fidx) t->fidx[t->nfidx++] = c->fidx;
  c->fidx = NULL;
  for (int i = 0; i < t->ntxn; i++) {
    tbl_txn *x = t->txns[i];
    for (int k = 0; k < x->nchunk; k++) {
      free(x->chunks[k].hash);
      x->chunks[k].hash = c->chash[i][k];
      c->chash[i][k] = NULL;
    }
    for (int k = 0; k < x->nop; k++)
      if (x->ops[k].kind == TBL_OP_DEL)
        x->ops[k].hash = c->ophash[i][x->ops[k].key_row];
    for (int k = 0; k < x->nseg; k++) {
      c->old[c->nold++] = x->segs[k].idx;
      x->segs[k].idx = c->segidx[i][k];
      c->segidx[i][k] = NULL;
    }
    /* the private index is rebuilt from the chunk hashes on its next use */
    tidx_mem_free(x->idx);
    x->idx = NULL;
    x->idx_upto = x->spilled;
  }
}

/* Swaps the converted state in (ix + mu held; cannot fail). */
static void swap_in(floe_table *t, tbl_schema *s, conv *c) {
  if (c->rehash) swap_hashes(t, c);
  for (int i = 0; i < t->nmem; i++) {
    if (t->active == t->mem[i]) t->active = c->mem[i];
    tbl_batch_unref(t->mem[i]);
    t->mem[i] = c->mem[i];
    c->mem[i] = NULL;
  }
  for (int i = 0; i < t->ntxn; i++) {
    tbl_txn *x = t->txns[i];
    for (int k = 0; k < x->nchunk; k++) {
      col_batch_free(x->chunks[k].b);
      x->chunks[k].b = c->chunks[i][k];
      c->chunks[i][k] = NULL;
    }
    col_batch_free(x->opkeys);
    x->opkeys = c->opkeys[i];
    c->opkeys[i] = NULL;
    tbl_schema_unref(x->schema);
    x->schema = tbl_schema_ref(s);
    /* the private index holds hashes, which survive widenings */
  }
  tbl_batch_unref(t->asnap);
  t->asnap = NULL;
  tbl_schema_unref(t->schema);
  t->schema = s;
  t->version++;
}

/* Applies u (built by the caller from the current metadata) and swaps the
 * engine over to the new schema. maint held. rehash: the change adds or
 * drops columns of a table without a key, so every identity hash changes:
 * the persisted indexes are deleted first (a crash after the schema commit
 * must not reuse them; a reopen rebuilds what is missing) and rebuilt. */
static floe_status apply(floe_table *t, ice_schema_update *u, bool rehash,
                         floe_error *err) {
  if (rehash) {
    pthread_mutex_lock(&t->ix);
    for (int i = 0; i < t->nfidx; i++) {
      t->fidx[i]->unlink = true;
      (void)unlink(tidx_file_path(t->fidx[i]->f));
    }
    pthread_mutex_unlock(&t->ix);
  }
  FLOE_TRY(ice_table_update_schema(t->ice, u, err));
  const ice_metadata *md = ice_table_metadata(t->ice);
  const ice_schema *is = ice_metadata_current_schema(md);
  int32_t *key = calloc((size_t)t->schema->nkey + 1, sizeof *key);
  if (!key) return ferr_nomem(err, 64);
  for (int k = 0; k < t->schema->nkey; k++)
    key[k] = t->schema->cols->fields[t->schema->key[k]].id;
  tbl_schema *s = NULL;
  floe_status st = tbl_schema_make(is, key, t->schema->nkey, &s, err);
  free(key);
  FLOE_TRY(st);
  conv c;
  /* the ingest thread (us) and maintenance (maint) are the only writers of
   * what convert_all reads */
  st = convert_all(t, s, &c, err);
  if (!st && c.rehash) {
    pthread_mutex_lock(&t->ix);
    st = tbl_fidx_reserve(t, 1, err);
    pthread_mutex_unlock(&t->ix);
  }
  if (st) {
    conv_free(&c, t);
    tbl_schema_unref(s);
    /* Iceberg already has the new schema: reopen to continue */
    atomic_store(&t->broken, true);
    return ferr_prefix(err, st, "converting rows to the new schema");
  }
  pthread_mutex_lock(&t->ix);
  pthread_mutex_lock(&t->mu);
  swap_in(t, s, &c);
  pthread_mutex_unlock(&t->mu);
  pthread_mutex_unlock(&t->ix);
  conv_free(&c, t);
  return FLOE_OK;
}

static int find_col(const floe_column *cols, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (cols[i].name && !strcmp(cols[i].name, name)) return i;
  return -1;
}

/* Builds the update: drops, widenings, nullability, adds. *colset: columns
 * are added or dropped. */
static floe_status plan_alter(floe_table *t, const floe_column *cols, int ncols,
                              ice_schema_update *u, bool *colset,
                              floe_error *err) {
  const tbl_schema *s = t->schema;
  bool changed = false;
  *colset = false;
  for (int i = 0; i < ncols; i++) {
    if (!cols[i].name || !*cols[i].name)
      return ferr_set(err, FLOE_EINVAL, "column %d has no name", i);
    if (find_col(cols, i, cols[i].name) >= 0)
      return ferr_set(err, FLOE_EINVAL, "column %s appears twice",
                      cols[i].name);
    FLOE_TRY(col_dtype_check(tbl_dtype(&cols[i]), err));
  }
  for (int i = 0; i < s->ncols; i++) {
    const col_field *f = &s->cols->fields[i];
    int k = find_col(cols, ncols, f->name);
    if (k < 0) {
      for (int j = 0; j < s->nkey; j++)
        if (s->key[j] == i)
          return ferr_set(err, FLOE_EUNSUPPORTED,
                          "key column %s cannot be dropped", f->name);
      FLOE_TRY(ice_schema_drop_column(u, f->name, err));
      changed = *colset = true;
      continue;
    }
    col_dtype nt = int32_for_int16(tbl_dtype(&cols[k]));
    if (!same_type(f->type, nt)) {
      char a[64], b[64];
      floe_status st = ice_schema_widen_column(u, f->name, nt, err);
      if (st)
        return ferr_set(err, FLOE_EUNSUPPORTED,
                        "column %s: %s -> %s is not a widening", f->name,
                        col_dtype_format(f->type, a, sizeof a),
                        col_dtype_format(nt, b, sizeof b));
      changed = true;
    }
    if (!f->nullable && cols[k].nullable) {
      FLOE_TRY(ice_schema_set_required(u, f->name, false, err));
      changed = true;
    } else if (f->nullable && !cols[k].nullable) {
      return ferr_set(err, FLOE_EUNSUPPORTED,
                      "column %s cannot become NOT NULL (old rows may hold "
                      "nulls)",
                      f->name);
    }
  }
  for (int i = 0; i < ncols; i++) {
    if (col_schema_find(s->cols, cols[i].name) >= 0) continue;
    FLOE_TRY(ice_schema_add_column(
        u, cols[i].name, int32_for_int16(tbl_dtype(&cols[i])),
        cols[i].nullable != 0, true, cols[i].initial_default, NULL, NULL, NULL,
        err));
    changed = *colset = true;
  }
  return changed ? FLOE_OK : FLOE_EEOF;
}

floe_status floe_table_alter(floe_table *t, const floe_column *cols, int ncols,
                             floe_error *err) {
  if (!t || !cols || ncols <= 0)
    return ferr_set(err, FLOE_EINVAL, "floe_table_alter: no columns");
  if (atomic_load(&t->broken))
    return ferr_set(err, FLOE_EIO, "table is broken by an earlier failure");
  pthread_mutex_lock(&t->maint);
  ice_schema_update *u = NULL;
  floe_status st = tbl_flush(t, true, err);
  if (!st) st = ice_schema_update_new(ice_table_metadata(t->ice), &u, err);
  bool colset = false;
  if (!st) st = plan_alter(t, cols, ncols, u, &colset, err);
  if (st == FLOE_EEOF) {
    st = FLOE_OK; /* nothing changes */
  } else if (!st) {
    st = apply(t, u, colset && !t->schema->nkey, err);
  }
  ice_schema_update_free(u);
  pthread_mutex_unlock(&t->maint);
  return st;
}

floe_status floe_table_rename_column(floe_table *t, const char *from,
                                     const char *to, floe_error *err) {
  if (!t || !from || !to || !*to)
    return ferr_set(err, FLOE_EINVAL, "floe_table_rename_column: bad names");
  if (atomic_load(&t->broken))
    return ferr_set(err, FLOE_EIO, "table is broken by an earlier failure");
  pthread_mutex_lock(&t->maint);
  ice_schema_update *u = NULL;
  floe_status st = tbl_flush(t, true, err);
  if (!st) st = ice_schema_update_new(ice_table_metadata(t->ice), &u, err);
  if (!st) st = ice_schema_rename_column(u, from, to, err);
  if (!st) st = apply(t, u, false, err);
  ice_schema_update_free(u);
  pthread_mutex_unlock(&t->maint);
  return st;
}
