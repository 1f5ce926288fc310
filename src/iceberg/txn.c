/*
 * Commits (ice_txn_*): the state machine of table.h. One attempt works
 * against the handle's current metadata: it locates the files the txn
 * touches through the parsed-manifest cache, writes one Puffin file with
 * the merged DVs, the manifests that change, the manifest list and the new
 * metadata, and swaps it in through the catalog. On FLOE_ECONFLICT the
 * attempt's files are deleted, the table reloaded and the attempt redone.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iceberg/puffin.h"
#include "iceberg/table_commit.h"

#define MAX_TRIES 4
/* Merge policy: manifests of one content and spec fall into tiers by live
 * entry count (tier k holds [F^k, F^(k+1)) entries, F the fan-out); when a
 * tier holds F manifests they are merged into one of the next tier, so at
 * most F-1 manifests sit in each tier. Manifests at or above the size cap
 * are never merged (a merge rewrites at most about a cap's worth of
 * entries). Manifests that must be rewritten because entries leave them (a
 * replaced DV, a removed file) are rewritten together into one file per
 * content and spec, up to the cap: random deletes touch many delete
 * manifests, and one file instead of one per manifest saves a write and an
 * Avro header each. */
#define MERGE_FANOUT 4
#define DATA_MANIFEST_CAP 4096
/* Delete manifests: a commit pays a fixed cost per file it writes (a PUT,
 * or two fsyncs locally: ~0.5-1 ms) and ~0.25 us plus ~245 bytes per entry
 * it rewrites (kept entries are copied, not encoded: see ice_cfile). DVs on
 * random files touch nearly every delete manifest until there are many more
 * than the DVs a commit replaces, and the touched ones are rewritten into as
 * few files as the cap allows: 1024 keeps that at one file up to 1024 live
 * DVs (measured with bench/iceberg_commits: 256 wrote 4.6 manifests per
 * commit at 1,000 commits, 7.9 ms on ext4; 1024 writes 2, 5.0 ms); far past
 * it, smaller manifests would rewrite fewer entries per commit but make the
 * manifest list longer (src/iceberg/README.md, "What a commit's cost still
 * grows with"). */
#define DELETE_MANIFEST_CAP 1024

typedef struct del_req {
  char *file;
  ice_dv *dv;
} del_req;

struct ice_txn {
  ice_table *t;
  int nadd, capadd;
  ice_data_file *adds;
  int ndel, capdel;
  del_req *dels;
  int nrm, caprm;
  char **rms;
  char **rm_dv; /* per remove: the DV seen at the first attempt ("" none) */
  /* the handle's snapshot at begin: what the caller read before removing
   * (rewriting) files; deletes added to them since must not be lost */
  int64_t base_sid;
  bool replace;
  ice_kv summary;
};

static floe_status grow(void **p, int *cap, int need, size_t sz,
                        floe_error *err) {
  if (need <= *cap) return FLOE_OK;
  int c = *cap ? *cap * 2 : 8;
  while (c < need) c *= 2;
  void *q = realloc(*p, (size_t)c * sz);
  if (!q) return ferr_nomem(err, (size_t)c * sz);
  *p = q;
  *cap = c;
  return FLOE_OK;
}

floe_status ice_txn_begin(ice_table *t, ice_txn **out, floe_error *err) {
  ice_txn *x = calloc(1, sizeof *x);
  if (!x) return ferr_nomem(err, sizeof *x);
  x->t = t;
  x->base_sid = t->md->current_snapshot_id;
  *out = x;
  return FLOE_OK;
}

void ice_txn_abort(ice_txn *x) {
  if (!x) return;
  for (int i = 0; i < x->nadd; i++) ice_data_file_free(&x->adds[i]);
  free(x->adds);
  for (int i = 0; i < x->ndel; i++) {
    free(x->dels[i].file);
    ice_dv_free(x->dels[i].dv);
  }
  free(x->dels);
  for (int i = 0; i < x->nrm; i++) {
    free(x->rms[i]);
    if (x->rm_dv) free(x->rm_dv[i]);
  }
  free(x->rms);
  free(x->rm_dv);
  ice_kv_free(&x->summary);
  free(x);
}

floe_status ice_txn_append(ice_txn *x, const ice_data_file *f,
                           floe_error *err) {
  if (f->content != ICE_CONTENT_DATA)
    return ferr_set(err, FLOE_EINVAL, "append %s: not a data file",
                    f->file_path);
  FLOE_TRY(
      grow((void **)&x->adds, &x->capadd, x->nadd + 1, sizeof *x->adds, err));
  ice_data_file *d = &x->adds[x->nadd];
  memset(d, 0, sizeof *d);
  FLOE_TRY(ice_data_file_copy(d, f, err));
  d->first_row_id = ICE_NONE; /* assigned by inheritance at commit */
  x->nadd++;
  return FLOE_OK;
}

floe_status ice_txn_delete_rows(ice_txn *x, const char *data_file,
                                const ice_dv *rows, floe_error *err) {
  for (int i = 0; i < x->ndel; i++)
    if (!strcmp(x->dels[i].file, data_file))
      return ice_dv_merge(x->dels[i].dv, rows, err);
  FLOE_TRY(
      grow((void **)&x->dels, &x->capdel, x->ndel + 1, sizeof *x->dels, err));
  del_req *d = &x->dels[x->ndel];
  d->file = strdup(data_file);
  d->dv = NULL;
  if (!d->file) return ferr_nomem(err, strlen(data_file) + 1);
  floe_status st = ice_dv_new(&d->dv, err);
  if (!st) st = ice_dv_merge(d->dv, rows, err);
  if (st) {
    free(d->file);
    ice_dv_free(d->dv);
    return st;
  }
  x->ndel++;
  return FLOE_OK;
}

floe_status ice_txn_remove_file(ice_txn *x, const char *data_file,
                                floe_error *err) {
  for (int i = 0; i < x->nrm; i++)
    if (!strcmp(x->rms[i], data_file)) return FLOE_OK;
  FLOE_TRY(grow((void **)&x->rms, &x->caprm, x->nrm + 1, sizeof *x->rms, err));
  x->rms[x->nrm] = strdup(data_file);
  if (!x->rms[x->nrm]) return ferr_nomem(err, strlen(data_file) + 1);
  x->nrm++;
  return FLOE_OK;
}

void ice_txn_set_replace(ice_txn *x) { x->replace = true; }

floe_status ice_txn_set_summary(ice_txn *x, const char *key, const char *val,
                                floe_error *err) {
  return ice_kv_set(&x->summary, key, val, err);
}

/* ---- one attempt ---- */

/* A manifest of the new list: kept as it is (mf from the base list, man
 * its parsed form) or to be written (entries, shallow copies that borrow
 * from cached manifests or the txn). */
typedef struct item {
  bool keep;
  int content;
  int32_t spec_id;
  int nlive;
  ice_manifest_file mf; /* keep: a copy; write: filled once written */
  const ice_cman *man;  /* keep only */
  int base;             /* keep only: index in the base list */
  int n, cap;
  ice_manifest_entry *e; /* write only */
  ice_cfile **cf;        /* write only: each entry's cached file (borrowed
                            from a base manifest) or NULL for a new one */
  bool dead;             /* merged into another item */
} item;

/* Where a live file sits: manifest index in the base list, entry index. */
typedef struct loc {
  int m, i;
} loc;

typedef struct attempt {
  ice_txn *x;
  bool swapped; /* the catalog swap was tried: its outcome may be unknown */
  const ice_metadata *md;
  const ice_snapshot *cur;
  int64_t sid, seq;
  int nmf;
  ice_manifest_file *mfs;
  ice_cman **mans;
  /* dropped (DELETED) entries per base manifest: flags per entry */
  bool **drop;
  int nitems, capitems;
  item *items;
  /* new DV entries and everything this attempt wrote */
  int ndv;
  ice_manifest_entry *dvs;
  int32_t *dv_spec; /* spec of each new DV (its data file's) */
  char *puffin_path;
  ice_strset written;
  char **written_list;
  int nwritten, capwritten;
  ice_cman **new_mans; /* parsed forms of written manifests, for the cache */
  int nnew, capnew;
  bool final; /* a failed validation: retrying cannot help */
  ice_commit_stats stats;
  /* summary counts */
  int64_t add_size, rm_size, add_files, rm_files, add_dvs, rm_dvs, add_rec,
      rm_rec, add_pos, rm_pos;
} attempt;

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static floe_status note_written(attempt *a, const char *path, floe_error *err) {
  FLOE_TRY(grow((void **)&a->written_list, &a->capwritten, a->nwritten + 1,
                sizeof(char *), err));
  a->written_list[a->nwritten] = strdup(path);
  if (!a->written_list[a->nwritten]) return ferr_nomem(err, strlen(path) + 1);
  a->nwritten++;
  return FLOE_OK;
}

static void attempt_clear(attempt *a, bool delete_files) {
  for (int i = 0; i < a->nwritten; i++) {
    if (delete_files) {
      floe_error e;
      (void)ice_table_del(a->x->t, a->written_list[i], &e);
    }
    free(a->written_list[i]);
  }
  free(a->written_list);
  ice_manifest_files_free(a->mfs, a->nmf);
  free(a->mans);
  for (int i = 0; i < a->nmf && a->drop; i++) free(a->drop[i]);
  free(a->drop);
  for (int i = 0; i < a->nitems; i++) {
    ice_manifest_file_free(&a->items[i].mf);
    free(a->items[i].e);
    free(a->items[i].cf);
  }
  free(a->items);
  for (int i = 0; i < a->ndv; i++) ice_manifest_entry_free(&a->dvs[i]);
  free(a->dvs);
  free(a->dv_spec);
  free(a->puffin_path);
  for (int i = 0; i < a->nnew; i++) ice_cman_free(a->new_mans[i]);
  free(a->new_mans);
  ice_strset_free(&a->written);
}

static bool find_live(const attempt *a, int content, const char *key,
                      loc *out) {
  for (int m = 0; m < a->nmf; m++) {
    if (a->mfs[m].content != content) continue;
    int i = ice_cman_find(a->mans[m], key);
    if (i >= 0) {
      out->m = m;
      out->i = i;
      return true;
    }
  }
  return false;
}

static const ice_manifest_entry *at(const attempt *a, loc l) {
  return &a->mans[l.m]->e[l.i];
}

static floe_status mark_drop(attempt *a, loc l, floe_error *err) {
  if (!a->drop[l.m]) {
    a->drop[l.m] = calloc((size_t)a->mans[l.m]->n, sizeof(bool));
    if (!a->drop[l.m]) return ferr_nomem(err, (size_t)a->mans[l.m]->n);
  }
  a->drop[l.m][l.i] = true;
  return FLOE_OK;
}

/* The DV identity recorded for conflict checks: "<puffin>@<offset>". */
static floe_status dv_ident(const ice_manifest_entry *e, char **out,
                            floe_error *err) {
  char buf[64];
  const char *p = e ? e->file.file_path : "";
  snprintf(buf, sizeof buf, "@%" PRId64, e ? e->file.content_offset : -1);
  size_t n = strlen(p) + strlen(buf) + 1;
  *out = malloc(n);
  if (!*out) return ferr_nomem(err, n);
  snprintf(*out, n, "%s%s", p, buf);
  return FLOE_OK;
}

static floe_status read_dv(attempt *a, const ice_manifest_entry *e,
                           ice_dv **out, floe_error *err) {
  const ice_data_file *f = &e->file;
  if (f->content_offset < 0 || f->content_size_in_bytes < 0 ||
      f->content_size_in_bytes > ((int64_t)1 << 31))
    return ferr_corrupt(err, "DV of %s in %s: bad offset/size",
                        f->referenced_data_file, f->file_path);
  char *key = NULL;
  FLOE_TRY(ice_catalog_key(a->x->t->cat, f->file_path, &key, err));
  size_t n = (size_t)f->content_size_in_bytes;
  uint8_t *buf = malloc(n ? n : 1);
  floe_status st = buf ? FLOE_OK : ferr_nomem(err, n);
  if (!st)
    st = fstore_get_range(a->x->t->cat->store, key, (uint64_t)f->content_offset,
                          buf, n, err);
  if (!st) st = ice_dv_deserialize(buf, n, out, err);
  if (st)
    st = ferr_prefix(err, st, "DV of %s in %s", f->referenced_data_file,
                     f->file_path);
  free(buf);
  free(key);
  return st;
}

typedef struct poscheck {
  int64_t limit;
  bool bad;
  uint64_t pos;
} poscheck;

static bool check_pos(void *ctx, uint64_t pos) {
  poscheck *c = ctx;
  if (pos >= (uint64_t)c->limit) {
    c->bad = true;
    c->pos = pos;
    return false;
  }
  return true;
}

/* The DV identity of data file `file` at snapshot sid (see dv_ident) and
 * whether the file was live there. FLOE_ECONFLICT when sid was expired
 * (nothing left to validate against). */
static floe_status dv_ident_at(ice_table *t, int64_t sid, const char *file,
                               char **out, bool *live, floe_error *err) {
  *out = NULL;
  *live = false;
  const ice_snapshot *s = ice_metadata_snapshot(t->md, sid);
  if (!s)
    return ferr_set(err, FLOE_ECONFLICT,
                    "remove %s: snapshot %" PRId64
                    " the txn began at was expired; its deletes cannot be "
                    "checked",
                    file, sid);
  ice_manifest_file *mfs = NULL;
  int n = 0;
  FLOE_TRY(ice_table_read_list(t, s, &mfs, &n, err));
  const ice_manifest_entry *dv = NULL;
  floe_status st = FLOE_OK;
  for (int m = 0; m < n && !st; m++) {
    ice_cman *cm = NULL;
    st = ice_table_cman(t, &mfs[m], &cm, err);
    int i = st ? -1 : ice_cman_find(cm, file);
    if (i < 0) continue;
    if (mfs[m].content == ICE_MANIFEST_DATA)
      *live = true;
    else
      dv = &cm->e[i];
  }
  if (!st) st = dv_ident(dv, out, err);
  ice_manifest_files_free(mfs, n);
  return st;
}

/* Locates every target and builds the new DVs and the Puffin file. */
static floe_status stage_deletes(attempt *a, bool first, floe_error *err) {
  ice_txn *x = a->x;
  floe_status gone = first ? FLOE_ENOTFOUND : FLOE_ECONFLICT;
  a->final = true; /* until the targets are all found */
  for (int r = 0; r < x->nrm; r++) {
    loc l, dl;
    if (!find_live(a, ICE_MANIFEST_DATA, x->rms[r], &l))
      return ferr_set(err, gone, "remove %s: not a live data file", x->rms[r]);
    FLOE_TRY(mark_drop(a, l, err));
    const ice_data_file *f = &at(a, l)->file;
    a->rm_files++;
    a->rm_rec += f->record_count;
    a->rm_size += f->file_size_in_bytes;
    bool has_dv = find_live(a, ICE_MANIFEST_DELETES, x->rms[r], &dl);
    char *id = NULL;
    FLOE_TRY(dv_ident(has_dv ? at(a, dl) : NULL, &id, err));
    if (first) {
      x->rm_dv[r] = id;
      if (x->base_sid != ICE_NONE &&
          a->md->current_snapshot_id != x->base_sid) {
        /* the handle moved on since begin (another txn of it committed):
         * the caller read the file as it was at begin */
        char *was = NULL;
        bool live = false;
        FLOE_TRY(dv_ident_at(x->t, x->base_sid, x->rms[r], &was, &live, err));
        bool same = !live || !strcmp(was, id);
        free(was);
        if (!same)
          return ferr_set(err, FLOE_ECONFLICT,
                          "remove %s: its deletes changed since the txn began",
                          x->rms[r]);
      }
    } else {
      /* rows deleted since we started would come back with the rewrite */
      bool same = !strcmp(id, x->rm_dv[r]);
      free(id);
      if (!same)
        return ferr_set(err, FLOE_ECONFLICT,
                        "remove %s: its deletes changed concurrently",
                        x->rms[r]);
    }
    if (has_dv) {
      FLOE_TRY(mark_drop(a, dl, err));
      a->rm_dvs++;
      a->rm_pos += at(a, dl)->file.record_count;
      a->rm_size += at(a, dl)->file.content_size_in_bytes;
    }
  }
  a->final = false;
  int n = 0;
  ice_dv **dvs = calloc((size_t)x->ndel + 1, sizeof *dvs);
  const char **names = calloc((size_t)x->ndel + 1, sizeof *names);
  loc *dloc = calloc((size_t)x->ndel + 1, sizeof *dloc);
  ice_puffin_blob *blobs = calloc((size_t)x->ndel + 1, sizeof *blobs);
  fbuf pf = FBUF_INIT;
  floe_status st = FLOE_OK;
  if (!dvs || !names || !dloc || !blobs)
    st = ferr_nomem(err, (size_t)x->ndel * sizeof *blobs);
  for (int d = 0; d < x->ndel && !st; d++) {
    const char *file = x->dels[d].file;
    /* nothing to delete: no DV (an empty one would count as a delete file) */
    if (ice_dv_cardinality(x->dels[d].dv) == 0) continue;
    bool removed = false;
    for (int r = 0; r < x->nrm && !removed; r++)
      removed = !strcmp(x->rms[r], file);
    if (removed) continue; /* the file goes away with its deletes */
    a->final = true;       /* a failed check below cannot be cured by a retry */
    loc l, dl;
    if (!find_live(a, ICE_MANIFEST_DATA, file, &l)) {
      /* a file appended by this txn (l.m = -1, l.i its index in adds): a
       * streaming writer deletes rows of files it has not committed yet */
      l.m = -1;
      l.i = -1;
      for (int k = 0; k < x->nadd && l.i < 0; k++)
        if (!strcmp(x->adds[k].file_path, file)) l.i = k;
    }
    if (l.i < 0) {
      st = ferr_set(err, gone, "delete from %s: not a live data file", file);
      break;
    }
    const ice_data_file *target = l.m < 0 ? &x->adds[l.i] : &at(a, l)->file;
    poscheck pc = {target->record_count, false, 0};
    ice_dv_iterate(x->dels[d].dv, check_pos, &pc);
    if (pc.bad) {
      st = ferr_set(err, FLOE_EINVAL,
                    "delete from %s: position %" PRIu64 " past its %" PRId64
                    " rows",
                    file, pc.pos, pc.limit);
      break;
    }
    a->final = false;
    if ((st = ice_dv_new(&dvs[n], err))) break;
    names[n] = file;
    dloc[n] = l;
    n++;
    if ((st = ice_dv_merge(dvs[n - 1], x->dels[d].dv, err))) break;
    if (find_live(a, ICE_MANIFEST_DELETES, file, &dl)) {
      /* at most one DV per data file: the new one absorbs the old */
      ice_dv *old = NULL;
      if ((st = read_dv(a, at(a, dl), &old, err))) break;
      st = ice_dv_merge(dvs[n - 1], old, err);
      ice_dv_free(old);
      if (st) break;
      if ((st = mark_drop(a, dl, err))) break;
      a->rm_dvs++;
      a->rm_pos += at(a, dl)->file.record_count;
      a->rm_size += at(a, dl)->file.content_size_in_bytes;
    }
  }
  if (!st && n > 0) {
    char uuid[37];
    fbuf path = FBUF_INIT;
    st = ice_uuid(uuid, err);
    if (!st)
      st = fbuf_printf(&path, err, "%s/data/%s-deletes.puffin%c",
                       a->md->location, uuid, 0);
    if (!st) a->puffin_path = (char *)fbuf_take(&path);
    fbuf_free(&path);
    if (!st) st = ice_puffin_write_dvs(dvs, names, n, "floe", &pf, blobs, err);
    if (!st) st = note_written(a, a->puffin_path, err);
    if (!st) st = ice_table_put(a->x->t, a->puffin_path, pf.data, pf.len, err);
    a->stats.puffin_bytes = (int64_t)pf.len;
    if (!st) {
      a->dvs = calloc((size_t)n, sizeof *a->dvs);
      a->dv_spec = calloc((size_t)n, sizeof *a->dv_spec);
      if (!a->dvs || !a->dv_spec)
        st = ferr_nomem(err, (size_t)n * sizeof *a->dvs);
    }
    for (int i = 0; i < n && !st; i++) {
      bool added = dloc[i].m < 0;
      const ice_data_file *df =
          added ? &x->adds[dloc[i].i] : &at(a, dloc[i])->file;
      ice_manifest_entry *e = &a->dvs[i];
      a->dv_spec[i] =
          added ? a->md->default_spec_id : a->mfs[dloc[i].m].partition_spec_id;
      a->ndv++;
      e->status = ICE_STATUS_ADDED;
      e->snapshot_id = ICE_NONE;
      e->sequence_number = ICE_NONE;
      e->file_sequence_number = ICE_NONE;
      ice_data_file *f = &e->file;
      /* partition values: the data file's (a DV lives in its partition) */
      ice_data_file tmp = *df;
      tmp.nmetrics = 0;
      tmp.metrics = NULL;
      tmp.nsplit_offsets = 0;
      tmp.split_offsets = NULL;
      tmp.file_path = a->puffin_path;
      tmp.file_format = "PUFFIN";
      tmp.referenced_data_file = (char *)names[i];
      tmp.nequality_ids = 0;
      tmp.equality_ids = NULL;
      if ((st = ice_data_file_copy(f, &tmp, err))) break;
      f->content = ICE_CONTENT_POS_DELETES;
      f->record_count = blobs[i].cardinality;
      f->file_size_in_bytes = (int64_t)pf.len;
      f->content_offset = blobs[i].offset;
      f->content_size_in_bytes = blobs[i].length;
      f->sort_order_id = ICE_NONE;
      f->first_row_id = ICE_NONE;
      a->add_dvs++;
      a->add_pos += f->record_count;
      a->add_size += f->content_size_in_bytes;
    }
  }
  for (int i = 0; i < n; i++) ice_dv_free(dvs[i]);
  free(dvs);
  free(names);
  free(dloc);
  free(blobs);
  fbuf_free(&pf);
  return st;
}

static item *new_item(attempt *a, floe_error *err) {
  if (grow((void **)&a->items, &a->capitems, a->nitems + 1, sizeof *a->items,
           err))
    return NULL;
  item *it = &a->items[a->nitems++];
  memset(it, 0, sizeof *it);
  return it;
}

static floe_status item_push(item *it, const ice_manifest_entry *e,
                             ice_cfile *cf, int status, int64_t sid,
                             floe_error *err) {
  if (it->n == it->cap) {
    int cap = it->cap;
    FLOE_TRY(grow((void **)&it->e, &cap, it->n + 1, sizeof *it->e, err));
    FLOE_TRY(grow((void **)&it->cf, &it->cap, it->n + 1, sizeof *it->cf, err));
  }
  it->cf[it->n] = cf;
  ice_manifest_entry *d = &it->e[it->n++];
  *d = *e;
  d->status = status;
  if (status == ICE_STATUS_DELETED) d->snapshot_id = sid;
  if (status != ICE_STATUS_DELETED) it->nlive++;
  return FLOE_OK;
}

/* Copies the live (and this attempt's dropped) entries of base manifest m
 * into it. */
static floe_status push_base(attempt *a, item *it, int m, floe_error *err) {
  const ice_cman *c = a->mans[m];
  for (int i = 0; i < c->n; i++) {
    const ice_manifest_entry *e = &c->e[i];
    if (e->status == ICE_STATUS_DELETED) continue; /* an older snapshot's */
    bool dropped = a->drop[m] && a->drop[m][i];
    FLOE_TRY(item_push(it, e, c->cf[i],
                       dropped ? ICE_STATUS_DELETED : ICE_STATUS_EXISTING,
                       a->sid, err));
  }
  return FLOE_OK;
}

static int tier(int n) {
  int k = 0;
  while (n >= MERGE_FANOUT) {
    n /= MERGE_FANOUT;
    k++;
  }
  return k;
}

/* Merges items of one content/spec tier by tier (see MERGE_FANOUT). */
static floe_status merge_items(attempt *a, floe_error *err) {
  for (int round = 0; round < 16; round++) {
    bool merged = false;
    for (int i = 0; i < a->nitems && !merged; i++) {
      item *p = &a->items[i];
      int cap = p->content == ICE_MANIFEST_DATA ? DATA_MANIFEST_CAP
                                                : DELETE_MANIFEST_CAP;
      if (p->dead || p->nlive >= cap) continue;
      int tk = tier(p->nlive), cnt = 0;
      for (int j = 0; j < a->nitems; j++) {
        item *q = &a->items[j];
        if (!q->dead && q->content == p->content && q->spec_id == p->spec_id &&
            q->nlive < cap && tier(q->nlive) == tk)
          cnt++;
      }
      if (cnt < MERGE_FANOUT) continue;
      item *t = new_item(a, err);
      if (!t) return err ? err->code : FLOE_ENOMEM;
      p = &a->items[i]; /* items may have moved */
      t->content = p->content;
      t->spec_id = p->spec_id;
      int content = p->content;
      int32_t spec = p->spec_id;
      for (int j = 0; j < a->nitems - 1; j++) {
        item *q = &a->items[j];
        if (q->dead || q->content != content || q->spec_id != spec ||
            q->nlive >= cap || tier(q->nlive) != tk)
          continue;
        q->dead = true;
        if (q->keep) {
          FLOE_TRY(push_base(a, t, q->base, err));
        } else {
          for (int k = 0; k < q->n; k++) {
            /* an older snapshot's DELETED entries were dropped already */
            FLOE_TRY(
                item_push(t, &q->e[k], q->cf[k], q->e[k].status, a->sid, err));
          }
        }
      }
      merged = true;
    }
    if (!merged) break;
  }
  return FLOE_OK;
}

static floe_status build_items(attempt *a, floe_error *err) {
  ice_txn *x = a->x;
  if (x->nadd) {
    item *it = new_item(a, err);
    if (!it) return err ? err->code : FLOE_ENOMEM;
    it->content = ICE_MANIFEST_DATA;
    it->spec_id = a->md->default_spec_id;
    for (int i = 0; i < x->nadd; i++) {
      ice_manifest_entry e;
      memset(&e, 0, sizeof e);
      e.snapshot_id = e.sequence_number = e.file_sequence_number = ICE_NONE;
      e.file = x->adds[i];
      FLOE_TRY(item_push(it, &e, NULL, ICE_STATUS_ADDED, a->sid, err));
      a->add_files++;
      a->add_rec += x->adds[i].record_count;
      a->add_size += x->adds[i].file_size_in_bytes;
    }
  }
  /* one delete manifest per spec the new DVs fall in */
  for (int i = 0; i < a->ndv; i++) {
    item *it = NULL;
    for (int j = 0; j < a->nitems && !it; j++)
      if (!a->items[j].keep && a->items[j].content == ICE_MANIFEST_DELETES &&
          a->items[j].spec_id == a->dv_spec[i])
        it = &a->items[j];
    if (!it) {
      it = new_item(a, err);
      if (!it) return err ? err->code : FLOE_ENOMEM;
      it->content = ICE_MANIFEST_DELETES;
      it->spec_id = a->dv_spec[i];
    }
    FLOE_TRY(item_push(it, &a->dvs[i], NULL, ICE_STATUS_ADDED, a->sid, err));
  }
  for (int m = 0; m < a->nmf; m++) {
    const ice_cman *c = a->mans[m];
    if (a->drop[m]) {
      /* manifests that must be rewritten are rewritten together (with the
       * new entries of their kind): one file per commit, not one per
       * touched manifest */
      int cap = a->mfs[m].content == ICE_MANIFEST_DATA ? DATA_MANIFEST_CAP
                                                       : DELETE_MANIFEST_CAP;
      item *it = NULL;
      for (int j = 0; j < a->nitems && !it; j++)
        if (!a->items[j].keep && a->items[j].content == a->mfs[m].content &&
            a->items[j].spec_id == a->mfs[m].partition_spec_id &&
            a->items[j].nlive + c->nlive <= cap)
          it = &a->items[j];
      if (!it) {
        it = new_item(a, err);
        if (!it) return err ? err->code : FLOE_ENOMEM;
        it->content = a->mfs[m].content;
        it->spec_id = a->mfs[m].partition_spec_id;
      }
      FLOE_TRY(push_base(a, it, m, err));
    } else if (c->nlive > 0) {
      /* a manifest left with only an older snapshot's DELETED entries is
       * dropped, as Java does */
      item *it = new_item(a, err);
      if (!it) return err ? err->code : FLOE_ENOMEM;
      it->keep = true;
      it->content = a->mfs[m].content;
      it->spec_id = a->mfs[m].partition_spec_id;
      it->man = c;
      it->base = m;
      it->nlive = c->nlive;
      FLOE_TRY(ice_manifest_file_copy(&it->mf, &a->mfs[m], err));
    }
  }
  return merge_items(a, err);
}

/* The parsed form of a manifest this attempt wrote, as a reader would see
 * it with mf (inherited ids filled), for the handle's cache. Entries kept
 * from older manifests share their cached files; only new ones are copied. */
static floe_status cache_form(attempt *a, const item *it,
                              const ice_manifest_file *mf, floe_error *err) {
  ice_manifest_entry *e = calloc((size_t)it->n + 1, sizeof *e);
  ice_cfile **cf = calloc((size_t)it->n + 1, sizeof *cf);
  if (!e || !cf) {
    free(e);
    free(cf);
    return ferr_nomem(err, (size_t)it->n * sizeof *e);
  }
  floe_status st = FLOE_OK;
  int64_t next = mf->first_row_id;
  int i = 0;
  for (; i < it->n && !st; i++) {
    e[i] = it->e[i];
    if (e[i].snapshot_id == ICE_NONE) e[i].snapshot_id = a->sid;
    if (e[i].status == ICE_STATUS_ADDED) {
      if (e[i].sequence_number == ICE_NONE) e[i].sequence_number = a->seq;
      if (e[i].file_sequence_number == ICE_NONE)
        e[i].file_sequence_number = a->seq;
    }
    if (it->cf[i]) {
      /* a kept entry: its file (inherited first_row_id included) is the
       * cached one */
      cf[i] = it->cf[i];
      cf[i]->refs++;
    } else {
      ice_data_file f = it->e[i].file;
      if (mf->content == ICE_MANIFEST_DATA && next != ICE_NONE &&
          f.first_row_id == ICE_NONE) {
        f.first_row_id = next;
        next += f.record_count;
      }
      st = ice_cfile_new(&f, &cf[i], err);
      if (st) break;
    }
    e[i].file = cf[i]->f;
  }
  if (st) {
    for (int k = 0; k < i; k++) ice_cfile_unref(cf[k]);
    free(cf);
    free(e);
    return st;
  }
  ice_cman *c = NULL;
  FLOE_TRY(ice_cman_make(mf->manifest_path, mf->content, mf->partition_spec_id,
                         mf->manifest_length, e, cf, it->n, &c, err));
  if ((st = grow((void **)&a->new_mans, &a->capnew, a->nnew + 1,
                 sizeof *a->new_mans, err))) {
    ice_cman_free(c);
    return st;
  }
  a->new_mans[a->nnew++] = c;
  return FLOE_OK;
}

static floe_status write_manifest(attempt *a, item *it, floe_error *err) {
  const ice_schema *sc = ice_metadata_current_schema(a->md);
  const ice_partition_spec *sp = ice_metadata_spec(a->md, it->spec_id);
  if (!sc || !sp)
    return ferr_corrupt(err, "no schema or partition spec %d", it->spec_id);
  fbuf b = FBUF_INIT, path = FBUF_INIT;
  char uuid[37];
  ice_manifest_coder *k = NULL;
  const fbuf **pre = calloc((size_t)it->n + 1, sizeof *pre);
  floe_status st = pre ? FLOE_OK : ferr_nomem(err, (size_t)it->n * 8);
  if (!st) st = ice_manifest_coder_new(sc, sp, &k, err);
  /* entries kept from older manifests: their encoded bytes are copied
   * (encoded once per file, on its first rewrite) */
  for (int i = 0; i < it->n && !st; i++)
    if (it->cf[i]) st = ice_cfile_enc(it->cf[i], k, &pre[i], err);
  if (!st) st = ice_uuid(uuid, err);
  if (!st)
    st = ice_manifest_write_coded(k, it->content, it->e, pre, it->n, a->sid, &b,
                                  &it->mf, err);
  ice_manifest_coder_free(k);
  free(pre);
  if (!st)
    st = fbuf_printf(&path, err, "%s/metadata/%s-m0.avro%c", a->md->location,
                     uuid, 0);
  if (!st) {
    it->mf.manifest_path = (char *)fbuf_take(&path);
    it->mf.manifest_length = (int64_t)b.len;
    st = note_written(a, it->mf.manifest_path, err);
  }
  if (!st)
    st = ice_table_put(a->x->t, it->mf.manifest_path, b.data, b.len, err);
  a->stats.nmanifests_written++;
  a->stats.nentries_written += it->n;
  a->stats.manifest_bytes += (int64_t)b.len;
  fbuf_free(&b);
  fbuf_free(&path);
  return st;
}

static int64_t kv_long(const ice_kv *kv, const char *k, bool *ok) {
  const char *v = kv ? ice_kv_get(kv, k) : NULL;
  if (!v) {
    *ok = false;
    return 0;
  }
  char *end;
  long long n = strtoll(v, &end, 10);
  if (*end || end == v) *ok = false;
  return n;
}

static floe_status put_long(ice_kv *kv, const char *k, int64_t v,
                            floe_error *err) {
  char b[24];
  snprintf(b, sizeof b, "%" PRId64, v);
  return ice_kv_set(kv, k, b, err);
}

/* The snapshot summary, keys in the order Java's SnapshotSummary writes
 * them; totals carried from the parent so they cost O(changes). */
static floe_status make_summary(attempt *a, ice_kv *s, floe_error *err) {
  ice_txn *x = a->x;
  const char *op = x->replace           ? "replace"
                   : !x->nrm && !a->ndv ? "append"
                   : !x->nadd           ? "delete"
                                        : "overwrite";
  FLOE_TRY(ice_kv_set(s, "operation", op, err));
  struct {
    const char *k;
    int64_t v;
  } c[] = {
      {"added-files-size", a->add_size},
      {"removed-files-size", a->rm_size},
      {"added-data-files", a->add_files},
      {"deleted-data-files", a->rm_files},
      {"added-dvs", a->add_dvs},
      {"removed-dvs", a->rm_dvs},
      {"added-delete-files", a->add_dvs},
      {"removed-delete-files", a->rm_dvs},
      {"added-records", a->add_rec},
      {"deleted-records", a->rm_rec},
      {"added-position-deletes", a->add_pos},
      {"removed-position-deletes", a->rm_pos},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
    if (c[i].v > 0) FLOE_TRY(put_long(s, c[i].k, c[i].v, err));
  const ice_kv *p = a->cur ? &a->cur->summary : NULL;
  struct {
    const char *k;
    int64_t d;
  } t[] = {
      {"total-records", a->add_rec - a->rm_rec},
      {"total-files-size", a->add_size - a->rm_size},
      {"total-data-files", a->add_files - a->rm_files},
      {"total-delete-files", a->add_dvs - a->rm_dvs},
      {"total-position-deletes", a->add_pos - a->rm_pos},
      {"total-equality-deletes", 0},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    bool ok = true;
    int64_t base = p ? kv_long(p, t[i].k, &ok) : 0;
    /* a parent without the total (another writer's) leaves it unknown */
    if (ok) FLOE_TRY(put_long(s, t[i].k, base + t[i].d, err));
  }
  for (int i = 0; i < x->summary.n; i++)
    FLOE_TRY(ice_kv_set(s, x->summary.keys[i], x->summary.vals[i], err));
  return FLOE_OK;
}

static floe_status set_main(ice_metadata *nm, int64_t sid, floe_error *err) {
  for (int i = 0; i < nm->nrefs; i++)
    if (!strcmp(nm->refs[i].name, "main")) {
      nm->refs[i].snapshot_id = sid;
      return FLOE_OK;
    }
  void *p = realloc(nm->refs, (size_t)(nm->nrefs + 1) * sizeof *nm->refs);
  if (!p) return ferr_nomem(err, sizeof *nm->refs);
  nm->refs = p;
  ice_ref *r = &nm->refs[nm->nrefs];
  memset(r, 0, sizeof *r);
  r->name = strdup("main");
  if (!r->name) return ferr_nomem(err, 5);
  r->snapshot_id = sid;
  r->min_snapshots_to_keep = ICE_NONE;
  r->max_snapshot_age_ms = ICE_NONE;
  r->max_ref_age_ms = ICE_NONE;
  nm->nrefs++;
  return FLOE_OK;
}

/* Adds the metadata-log entry for the file being replaced and prunes the
 * log to write.metadata.previous-versions-max; *pruned gets the files that
 * fell off (caller frees each and the array). */
floe_status ice_md_log_previous(ice_metadata *nm, const ice_metadata *base,
                                const char *base_loc, char ***pruned,
                                int *npruned, floe_error *err) {
  *pruned = NULL;
  *npruned = 0;
  void *p = realloc(nm->metadata_log,
                    (size_t)(nm->nmetadata_log + 1) * sizeof *nm->metadata_log);
  if (!p) return ferr_nomem(err, sizeof *nm->metadata_log);
  nm->metadata_log = p;
  ice_log_entry *l = &nm->metadata_log[nm->nmetadata_log];
  memset(l, 0, sizeof *l);
  l->timestamp_ms = base->last_updated_ms;
  l->snapshot_id = ICE_NONE;
  l->file = strdup(base_loc);
  if (!l->file) return ferr_nomem(err, strlen(base_loc) + 1);
  nm->nmetadata_log++;
  const char *v =
      ice_kv_get(&nm->properties, "write.metadata.previous-versions-max");
  long max = v ? strtol(v, NULL, 10) : 100;
  if (max < 1) max = 1;
  int drop = nm->nmetadata_log - (int)max;
  if (drop <= 0) return FLOE_OK;
  char **out = calloc((size_t)drop, sizeof *out);
  if (!out) return ferr_nomem(err, (size_t)drop * sizeof *out);
  for (int i = 0; i < drop; i++) out[i] = nm->metadata_log[i].file;
  memmove(nm->metadata_log, nm->metadata_log + drop,
          (size_t)(nm->nmetadata_log - drop) * sizeof *nm->metadata_log);
  nm->nmetadata_log -= drop;
  *pruned = out;
  *npruned = drop;
  return FLOE_OK;
}

/* Deletes metadata files pruned from the log when the table asks for it
 * (best effort: a leftover file is only an orphan). */
void ice_md_delete_pruned(ice_table *t, const ice_metadata *nm, char **pruned,
                          int n) {
  const char *v =
      ice_kv_get(&nm->properties, "write.metadata.delete-after-commit.enabled");
  bool on = v && !strcmp(v, "true");
  for (int i = 0; i < n; i++) {
    floe_error e;
    if (on) (void)ice_table_del(t, pruned[i], &e);
    free(pruned[i]);
  }
  free(pruned);
}

/* Frees metadata whose first nshared snapshots belong to another metadata
 * (see build_metadata). */
static void free_shared_md(ice_metadata *nm, int nshared) {
  if (!nm) return;
  nm->nsnapshots -= nshared;
  memmove(nm->snapshots, nm->snapshots + nshared,
          (size_t)nm->nsnapshots * sizeof *nm->snapshots);
  ice_metadata_free(nm);
}

/* The next metadata: a copy of a->md plus the new snapshot. Snapshots are
 * immutable and a table keeps up to thousands of them, so they are not
 * deep-copied: *out's first *nshared snapshots are a->md's own (their
 * strings still owned by a->md). Free *out with free_shared_md; once it
 * replaces a->md, a->md gives up its snapshots (disown_snapshots). */
static floe_status build_metadata(attempt *a, ice_kv *summary,
                                  const char *list_path, int64_t next_row,
                                  ice_metadata **out, int *nshared,
                                  char ***pruned, int *npruned,
                                  floe_error *err) {
  ice_metadata *nm = NULL;
  ice_metadata base = *a->md;
  base.snapshots = NULL;
  base.nsnapshots = 0;
  *nshared = 0;
  FLOE_TRY(ice_metadata_clone(&base, &nm, err));
  floe_status st = FLOE_OK;
  int n0 = a->md->nsnapshots;
  free(nm->snapshots); /* the clone's (empty) array */
  nm->snapshots = malloc((size_t)(n0 + 1) * sizeof *nm->snapshots);
  if (!nm->snapshots) {
    ice_metadata_free(nm);
    return ferr_nomem(err, (size_t)(n0 + 1) * sizeof *nm->snapshots);
  }
  if (n0 > 0)
    memcpy(nm->snapshots, a->md->snapshots, (size_t)n0 * sizeof *nm->snapshots);
  nm->nsnapshots = n0;
  int64_t now = ice_now_ms();
  if (now <= a->md->last_updated_ms) now = a->md->last_updated_ms + 1;
  void *p = realloc(nm->snapshots,
                    (size_t)(nm->nsnapshots + 1) * sizeof *nm->snapshots);
  if (!p) st = ferr_nomem(err, sizeof *nm->snapshots);
  if (!st) {
    nm->snapshots = p;
    ice_snapshot *s = &nm->snapshots[nm->nsnapshots];
    memset(s, 0, sizeof *s);
    s->snapshot_id = a->sid;
    s->parent_id = a->cur ? a->cur->snapshot_id : ICE_NONE;
    s->sequence_number = a->seq;
    s->timestamp_ms = now;
    s->manifest_list = strdup(list_path);
    s->summary = *summary;
    memset(summary, 0, sizeof *summary);
    s->schema_id = a->md->current_schema_id;
    s->first_row_id = a->md->next_row_id;
    s->added_rows = next_row - a->md->next_row_id;
    nm->nsnapshots++;
    if (!s->manifest_list) st = ferr_nomem(err, strlen(list_path) + 1);
  }
  if (!st) {
    nm->last_sequence_number = a->seq;
    nm->last_updated_ms = now;
    nm->next_row_id = next_row;
    nm->current_snapshot_id = a->sid;
    st = set_main(nm, a->sid, err);
  }
  if (!st) {
    p = realloc(nm->snapshot_log,
                (size_t)(nm->nsnapshot_log + 1) * sizeof *nm->snapshot_log);
    if (!p) st = ferr_nomem(err, sizeof *nm->snapshot_log);
  }
  if (!st) {
    nm->snapshot_log = p;
    ice_log_entry *l = &nm->snapshot_log[nm->nsnapshot_log++];
    memset(l, 0, sizeof *l);
    l->timestamp_ms = now;
    l->snapshot_id = a->sid;
  }
  if (!st)
    st = ice_md_log_previous(nm, a->md, a->x->t->md_loc, pruned, npruned, err);
  if (st) {
    free_shared_md(nm, n0);
    return st;
  }
  *out = nm;
  *nshared = n0;
  return FLOE_OK;
}

/* md's snapshots now belong to the metadata that replaces it: drop them
 * without freeing their contents. */
static void disown_snapshots(ice_metadata *md) {
  free(md->snapshots);
  md->snapshots = NULL;
  md->nsnapshots = 0;
}

static floe_status run_attempt(attempt *a, bool first, int64_t *sid_out,
                               floe_error *err) {
  ice_txn *x = a->x;
  ice_table *t = x->t;
  a->md = t->md;
  a->cur = ice_metadata_current_snapshot(a->md);
  a->seq = a->md->last_sequence_number + 1;
  do {
    FLOE_TRY(ice_random_id(&a->sid, err));
  } while (ice_metadata_snapshot(a->md, a->sid));
  double t0 = mono_s(), t1;
  FLOE_TRY(ice_table_read_list(t, a->cur, &a->mfs, &a->nmf, err));
  a->mans = calloc((size_t)a->nmf + 1, sizeof *a->mans);
  a->drop = calloc((size_t)a->nmf + 1, sizeof *a->drop);
  if (!a->mans || !a->drop) return ferr_nomem(err, (size_t)a->nmf * 16);
  for (int m = 0; m < a->nmf; m++)
    FLOE_TRY(ice_table_cman(t, &a->mfs[m], &a->mans[m], err));
  a->stats.locate_s = mono_s() - t0;
  FLOE_TRY(stage_deletes(a, first, err));
  t1 = mono_s();
  a->stats.puffin_s = t1 - t0 - a->stats.locate_s;
  t0 = t1;
  FLOE_TRY(build_items(a, err));
  /* written manifests first (data, then deletes), then the reused ones */
  int n = 0;
  ice_manifest_file *mfs = calloc((size_t)a->nitems + 1, sizeof *mfs);
  int *from = calloc((size_t)a->nitems + 1, sizeof *from);
  floe_status st = (mfs && from) ? FLOE_OK : ferr_nomem(err, 64);
  for (int pass = 0; pass < 3 && !st; pass++)
    for (int i = 0; i < a->nitems && !st; i++) {
      item *it = &a->items[i];
      if (it->dead) continue;
      if (pass < 2 && (it->keep || it->content != pass)) continue;
      if (pass == 2 && !it->keep) continue;
      if (!it->keep) st = write_manifest(a, it, err);
      if (!st) st = ice_manifest_file_copy(&mfs[n], &it->mf, err);
      if (!st) from[n++] = i;
    }
  t1 = mono_s();
  a->stats.manifests_s = t1 - t0;
  t0 = t1;
  fbuf lb = FBUF_INIT, lp = FBUF_INIT;
  int64_t next_row = 0;
  char uuid[37];
  if (!st) st = ice_uuid(uuid, err);
  if (!st)
    st = ice_manifest_list_write(
        mfs, n, a->sid, a->cur ? a->cur->snapshot_id : ICE_NONE, a->seq,
        a->md->next_row_id, &lb, &next_row, err);
  if (!st)
    st = fbuf_printf(&lp, err, "%s/metadata/snap-%" PRId64 "-1-%s.avro%c",
                     a->md->location, a->sid, uuid, 0);
  if (!st) st = note_written(a, (const char *)lp.data, err);
  if (!st) st = ice_table_put(t, (const char *)lp.data, lb.data, lb.len, err);
  a->stats.nlist = n;
  a->stats.list_bytes = (int64_t)lb.len;
  t1 = mono_s();
  a->stats.list_s = t1 - t0;
  t0 = t1;
  for (int k = 0; k < n && !st; k++)
    if (!a->items[from[k]].keep)
      st = cache_form(a, &a->items[from[k]], &mfs[k], err);
  ice_kv sum;
  memset(&sum, 0, sizeof sum);
  if (!st) st = make_summary(a, &sum, err);
  ice_metadata *nm = NULL;
  int nshared = 0;
  char **pruned = NULL;
  int npruned = 0;
  if (!st)
    st = build_metadata(a, &sum, (const char *)lp.data, next_row, &nm, &nshared,
                        &pruned, &npruned, err);
  char *loc = NULL;
  const char *doc = NULL;
  size_t doclen = 0;
  if (!st && !t->jcache && !(t->jcache = ice_md_jcache_new()))
    st = ferr_nomem(err, 64);
  /* the document stays in the cache (no copy); it is borrowed until the
   * next render */
  if (!st) st = ice_metadata_render_cached(nm, t->jcache, &doc, &doclen, err);
  a->stats.metadata_bytes = (int64_t)doclen;
  t1 = mono_s();
  a->stats.metadata_s = t1 - t0;
  t0 = t1;
  /* what ice_catalog_commit_table does, split to time the two halves */
  if (!st) {
    a->swapped = true;
    st = ice_catalog_commit(t->cat, t->ns, t->name, t->md_loc, doc, doclen,
                            &loc, err);
  }
  a->stats.swap_s = mono_s() - t0;
  if (!st) {
    disown_snapshots(t->md);
    a->cur = NULL; /* pointed into t->md's snapshot array */
    ice_table_set_md(t, nm, loc);
    nm = NULL;
    ice_md_delete_pruned(t, t->md, pruned, npruned);
    pruned = NULL;
    npruned = 0;
    for (int k = 0; k < a->nnew; k++) {
      floe_error e;
      (void)ice_table_cache_put(t, a->new_mans[k], &e);
      a->new_mans[k] = NULL;
    }
    ice_table_cache_trim(t, mfs, n);
    if (sid_out) *sid_out = a->sid;
    t->last = a->stats;
  }
  for (int i = 0; i < npruned; i++) free(pruned[i]);
  free(pruned);
  free_shared_md(nm, nshared);
  ice_kv_free(&sum);
  fbuf_free(&lb);
  fbuf_free(&lp);
  ice_manifest_files_free(mfs, n);
  free(from);
  return st;
}

floe_status ice_txn_commit(ice_txn *x, int64_t *snapshot_id, floe_error *err) {
  floe_status st = FLOE_OK;
  x->rm_dv = calloc((size_t)x->nrm + 1, sizeof *x->rm_dv);
  if (!x->rm_dv) st = ferr_nomem(err, (size_t)x->nrm * sizeof *x->rm_dv);
  for (int tries = 0; !st; tries++) {
    attempt a;
    memset(&a, 0, sizeof a);
    a.x = x;
    st = run_attempt(&a, tries == 0, snapshot_id, err);
    /* nothing of a failed attempt is referenced: take its files back,
     * unless the swap failed in a way that may have landed (e.g. a lost
     * connection): then they stay for orphan removal to judge */
    bool final = a.final;
    attempt_clear(&a, st != FLOE_OK && (st == FLOE_ECONFLICT || !a.swapped));
    if (st != FLOE_ECONFLICT || final) break;
    if (tries + 1 >= MAX_TRIES) {
      st = ferr_set(err, FLOE_ECONFLICT,
                    "commit to %s.%s: still conflicting after %d tries",
                    x->t->ns, x->t->name, MAX_TRIES);
      break;
    }
    floe_error e2;
    st = ice_table_refresh(x->t, &e2);
    if (st) {
      if (err) *err = e2;
      break;
    }
  }
  ice_txn_abort(x);
  return st;
}
