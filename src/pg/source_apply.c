/*
 * pgoutput messages -> engine calls (README "The source: message -> engine
 * mapping"). One message at a time on the ingest thread:
 *
 *   Begin            the non-streamed transaction (xid, commit LSN)
 *   Insert/Update/Delete/Truncate
 *                    rows decoded straight into floe rows, applied to the
 *                    transaction's xid; inside a stream to the stream's top
 *                    xid with the message's own (sub)xid
 *   Commit, Stream Commit
 *                    floe_commit(end LSN) on each table the transaction
 *                    touched, then floe_advance(end LSN) on every table
 *   Stream Abort     floe_abort(xid, subxid) on each table it touched
 *   Relation         the schema (source_schema.c)
 *   Type, Origin, Message   counted, nothing else
 *
 * Replays. After a reconnect (and for tables copied at a later snapshot
 * than the stream's start) the server sends transactions whose commit is at
 * or below a table's applied LSN. The engine skips them at floe_commit, but
 * their changes must not fail before that: an update carrying an unchanged
 * TOAST value copies the row's current value at the call, and the row may
 * be gone by now. A non-streamed transaction is recognised at once (its
 * commit LSN comes with Begin: Begin.final_lsn < applied means its commit
 * ends at or below applied) and skipped for that table; a streamed one is
 * not known until its Stream Commit, so a change of it that fails is
 * remembered and judged at the commit: a replay (end <= applied) is fine,
 * anything else puts the table into PGS_ERROR.
 *
 * A table whose copy runs while the stream goes on (a table added later)
 * spools its messages to a file; after the copy commits they are replayed
 * through the same functions in order (pgs_spool_replay).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg/source_int.h"
#include "table/ingest.h"

/* ---- transactions ---- */

static void xact_clear(pgs_xact *x) {
  for (int i = 0; i < x->n; i++) free(x->v[i].err);
  x->n = 0;
}

static void xact_free(pgs_xact *x) {
  xact_clear(x);
  free(x->v);
  x->v = NULL;
  x->cap = 0;
}

static pgs_xact *stx_find(pgs_source *s, uint32_t xid) {
  for (int i = 0; i < s->nstx; i++)
    if (s->stx[i].xid == xid) return &s->stx[i];
  return NULL;
}

static floe_status stx_get(pgs_source *s, uint32_t xid, pgs_xact **out,
                           floe_error *err) {
  pgs_xact *x = stx_find(s, xid);
  if (!x) {
    if (s->nstx == s->capstx) {
      int cap = s->capstx ? s->capstx * 2 : 8;
      pgs_xact *v = realloc(s->stx, (size_t)cap * sizeof *v);
      if (!v) return ferr_nomem(err, (size_t)cap * sizeof *v);
      s->stx = v;
      s->capstx = cap;
    }
    x = &s->stx[s->nstx++];
    memset(x, 0, sizeof *x);
    x->xid = xid;
    x->streamed = true;
  }
  *out = x;
  return FLOE_OK;
}

static void stx_remove(pgs_source *s, pgs_xact *x) {
  xact_free(x);
  int i = (int)(x - s->stx);
  s->stx[i] = s->stx[--s->nstx];
}

static pgs_xtab *xtab_find(pgs_xact *x, const pgs_tab *tab) {
  for (int i = 0; i < x->n; i++)
    if (x->v[i].tab == tab) return &x->v[i];
  return NULL;
}

/* tab's part of x, made on first use (a non-streamed replay is skipped
 * from the start). */
static floe_status xtab_get(pgs_xact *x, pgs_tab *tab, pgs_xtab **out,
                            floe_error *err) {
  pgs_xtab *xt = xtab_find(x, tab);
  if (!xt) {
    if (x->n == x->cap) {
      int cap = x->cap ? x->cap * 2 : 4;
      pgs_xtab *v = realloc(x->v, (size_t)cap * sizeof *v);
      if (!v) return ferr_nomem(err, (size_t)cap * sizeof *v);
      x->v = v;
      x->cap = cap;
    }
    xt = &x->v[x->n++];
    memset(xt, 0, sizeof *xt);
    xt->tab = tab;
    if (!x->streamed && !tab->spool && tab->t)
      xt->skip = x->final_lsn < floe_applied_lsn(tab->t);
  }
  *out = xt;
  return FLOE_OK;
}

static void xtab_fail(pgs_xtab *xt, const char *msg) {
  if (xt->failed) return;
  xt->failed = true;
  xt->err = strdup(msg);
}

static void forget_in(pgs_xact *x, pgs_tab *tab) {
  pgs_xtab *xt = xtab_find(x, tab);
  if (!xt) return;
  if (tab->t && !tab->spool) (void)floe_abort(tab->t, x->xid, x->xid, NULL);
  free(xt->err);
  *xt = x->v[--x->n];
}

void pgs_xacts_forget_tab(pgs_source *s, pgs_tab *tab) {
  if (s->in_txn) forget_in(&s->cur, tab);
  for (int i = 0; i < s->nstx; i++) forget_in(&s->stx[i], tab);
}

void pgs_drop_xacts(pgs_source *s) {
  if (s->in_txn)
    for (int i = 0; i < s->cur.n; i++) {
      pgs_tab *tab = s->cur.v[i].tab;
      if (tab->t && !tab->spool)
        (void)floe_abort(tab->t, s->cur.xid, s->cur.xid, NULL);
    }
  xact_clear(&s->cur);
  s->in_txn = false;
  for (int k = 0; k < s->nstx; k++) {
    pgs_xact *x = &s->stx[k];
    for (int i = 0; i < x->n; i++) {
      pgs_tab *tab = x->v[i].tab;
      if (tab->t && !tab->spool) (void)floe_abort(tab->t, x->xid, x->xid, NULL);
    }
    xact_free(x);
  }
  s->nstx = 0;
}

static bool applying(const pgs_tab *tab) {
  return tab->t && tab->state == PGS_STREAMING && !tab->spool;
}

void pgs_advance_all(pgs_source *s, uint64_t lsn) {
  for (int i = 0; i < s->ntab; i++)
    if (applying(s->tabs[i])) (void)floe_advance(s->tabs[i]->t, lsn, NULL);
}

/* ---- the spool ---- */

enum {
  SP_DATA = 'D', /* a data message (payload) */
  SP_REL = 'R',  /* a Relation message (payload), lsn = Begin's final LSN */
  SP_TRUNC = 'T',
  SP_COMMIT = 'C', /* lsn = end LSN, aux = commit time */
  SP_ABORT = 'A',
  SP_RESTART = 'X',
};

typedef struct sp_rec {
  uint8_t kind;
  uint8_t streamed; /* the payload was sent inside a stream */
  uint16_t pad;
  uint32_t xid, sub;
  uint32_t len;
  uint64_t lsn;
  int64_t aux;
} sp_rec;

floe_status pgs_spool_open(pgs_source *s, pgs_spool **out, floe_error *err) {
  const char *dir = s->spool_dir;
  if (!dir) dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  size_t n = strlen(dir) + 32;
  char *path = malloc(n);
  if (!path) return ferr_nomem(err, n);
  snprintf(path, n, "%s/floe-spool-XXXXXX", dir);
  int fd = mkstemp(path);
  if (fd < 0) {
    floe_status st =
        ferr_set(err, FLOE_EIO, "spool file in %s: %s", dir, strerror(errno));
    free(path);
    return st;
  }
  /* unlinked at once: a crash leaves nothing behind (the copy restarts) */
  unlink(path);
  free(path);
  pgs_spool *sp = calloc(1, sizeof *sp);
  if (sp) sp->f = fdopen(fd, "w+b");
  if (!sp || !sp->f) {
    close(fd);
    free(sp);
    return ferr_nomem(err, sizeof *sp);
  }
  *out = sp;
  return FLOE_OK;
}

void pgs_spool_free(pgs_spool *sp) {
  if (!sp) return;
  if (sp->f) fclose(sp->f);
  free(sp);
}

static floe_status spool_put(pgs_spool *sp, uint8_t kind, bool streamed,
                             uint32_t xid, uint32_t sub, uint64_t lsn,
                             int64_t aux, const uint8_t *p, size_t n,
                             floe_error *err) {
  sp_rec r;
  memset(&r, 0, sizeof r);
  r.kind = kind;
  r.streamed = streamed;
  r.xid = xid;
  r.sub = sub;
  r.lsn = lsn;
  r.aux = aux;
  r.len = (uint32_t)n;
  if (fwrite(&r, sizeof r, 1, sp->f) != 1 || (n && fwrite(p, n, 1, sp->f) != 1))
    return ferr_set(err, FLOE_EIO, "spool write: %s", strerror(errno));
  sp->records++;
  sp->bytes += (int64_t)(sizeof r + n);
  return FLOE_OK;
}

/* ---- rows ---- */

static floe_status put_value(pgs_source *s, pgs_col *pc, floe_row *r,
                             const pgo_value *v, floe_error *err) {
  col_column *c = tbl_row_value_begin(r, pc->eng);
  if (!c) return ferr_set(err, FLOE_EINVAL, "column %s: no slot", pc->name);
  col_column *into = pc->convert ? &pc->sc : c;
  if (pc->convert) col_clear(into);
  floe_status st;
  if (v->kind == PGO_TEXT)
    st = pgt_append_text(into, &pc->map, (const char *)v->data, v->len,
                         &s->scratch, err);
  else if (pc->map.bin != PGT_BIN_NONE)
    st = pgt_append_binary(into, &pc->map, v->data, v->len, err);
  else
    st = ferr_set(err, FLOE_EUNSUPPORTED, "binary value of a text-only type");
  if (!st && pc->convert) {
    /* the only widening parsed in two steps: float32 -> float64 */
    if (!col_is_valid(into, 0))
      st = col_append_null(c, err);
    else
      st = col_append_f64(c, (double)*(const float *)col_get_fixed(into, 0, 4),
                          err);
  }
  tbl_row_value_end(r, pc->eng, st == FLOE_OK);
  return st ? ferr_prefix(err, st, "column %s", pc->name) : FLOE_OK;
}

/* Fills r from a tuple. unchanged: 'u' values allowed (an update's new
 * row). */
static floe_status fill_row(pgs_source *s, pgs_tab *tab, floe_row *r,
                            const pgo_tuple *tu, bool unchanged,
                            floe_error *err) {
  floe_row_reset(r);
  if (tu->ncols != tab->nrc)
    return ferr_set(err, FLOE_ECORRUPT,
                    "tuple of %u columns for a relation of %d", tu->ncols,
                    tab->nrc);
  for (int i = 0; i < tab->nrc; i++) {
    pgs_col *pc = &tab->rc[i];
    const pgo_value *v = &tu->cols[i];
    if (pc->eng < 0 || v->kind == PGO_NULL) continue;
    if (v->kind == PGO_UNCHANGED) {
      if (!unchanged)
        return ferr_set(err, FLOE_ECORRUPT,
                        "column %s: an unchanged value outside an update's "
                        "new row",
                        pc->name);
      FLOE_TRY(floe_row_set_unchanged(r, pc->eng, err));
      continue;
    }
    FLOE_TRY(put_value(s, pc, r, v, err));
  }
  return FLOE_OK;
}

/* One data message for tab, applied to xid/sub. */
static floe_status apply_change(pgs_source *s, pgs_tab *tab, uint32_t xid,
                                uint32_t sub, const pgo_msg *m,
                                floe_error *err) {
  if (m->kind == PGO_TRUNCATE) return floe_truncate(tab->t, xid, sub, err);
  if (!tab->rel_valid)
    return ferr_set(err, FLOE_ECORRUPT,
                    "a change of %s.%s before its Relation message",
                    tab->schema, tab->table);
  switch (m->kind) {
  case PGO_INSERT:
    FLOE_TRY(fill_row(s, tab, tab->row, &m->insert.newtup, false, err));
    return floe_insert(tab->t, xid, sub, tab->row, err);
  case PGO_UPDATE: {
    const floe_row *old = NULL;
    if (m->update.old_kind) {
      FLOE_TRY(fill_row(s, tab, tab->old, &m->update.oldtup, false, err));
      old = tab->old;
    }
    FLOE_TRY(fill_row(s, tab, tab->row, &m->update.newtup, true, err));
    return floe_update(tab->t, xid, sub, old, tab->row, err);
  }
  case PGO_DELETE:
    FLOE_TRY(fill_row(s, tab, tab->old, &m->del.oldtup, false, err));
    return floe_delete(tab->t, xid, sub, tab->old, err);
  default: return FLOE_OK;
  }
}

/* Applies (or remembers the failure of) one change of tab in x. */
static void change_in(pgs_source *s, pgs_tab *tab, pgs_xact *x, pgs_xtab *xt,
                      uint32_t sub, const pgo_msg *m) {
  if (xt->skip || xt->failed || !applying(tab)) return;
  floe_error e;
  ferr_clear(&e);
  if (apply_change(s, tab, x->xid, sub, m, &e) == FLOE_OK) {
    xt->changes += m->kind == PGO_TRUNCATE ? 0 : 1;
    return;
  }
  char msg[FLOE_ERROR_MSG_MAX];
  snprintf(msg, sizeof msg, "%.60s.%.60s: %.380s", tab->schema, tab->table,
           e.msg);
  if (x->streamed) {
    xtab_fail(xt, msg);
    return;
  }
  pgs_tab_set_state(s, tab, PGS_ERROR, msg);
}

/* Commits x on each table it touched. */
static void commit_xact(pgs_source *s, pgs_xact *x, uint64_t end,
                        int64_t commit_time) {
  for (int i = 0; i < x->n; i++) {
    pgs_xtab *xt = &x->v[i];
    pgs_tab *tab = xt->tab;
    if (tab->spool) {
      floe_error e;
      if (spool_put(tab->spool, SP_COMMIT, x->streamed, x->xid, x->xid, end,
                    commit_time, NULL, 0, &e))
        pgs_tab_set_state(s, tab, PGS_ERROR, e.msg);
      continue;
    }
    if (!applying(tab)) continue;
    uint64_t applied = floe_applied_lsn(tab->t);
    if (xt->failed || xt->skip || end <= applied) {
      (void)floe_abort(tab->t, x->xid, x->xid, NULL);
      if (xt->failed && end > applied)
        pgs_tab_set_state(s, tab, PGS_ERROR, xt->err);
      continue;
    }
    floe_error e;
    if (floe_commit(tab->t, x->xid, end, &e)) {
      char msg[FLOE_ERROR_MSG_MAX];
      snprintf(msg, sizeof msg, "%.60s.%.60s: commit at %" PRIX64 ": %.360s",
               tab->schema, tab->table, end, e.msg);
      pgs_tab_set_state(s, tab, PGS_ERROR, msg);
      continue;
    }
    pthread_mutex_lock(&s->mu);
    tab->changes += xt->changes;
    tab->last_commit_us = pgo_unix_us(commit_time);
    pthread_mutex_unlock(&s->mu);
  }
  xact_clear(x);
}

static void abort_in(pgs_source *s, pgs_xact *x, uint32_t subxid) {
  for (int i = 0; i < x->n; i++) {
    pgs_tab *tab = x->v[i].tab;
    if (tab->spool) {
      floe_error e;
      if (spool_put(tab->spool, SP_ABORT, true, x->xid, subxid, 0, 0, NULL, 0,
                    &e))
        pgs_tab_set_state(s, tab, PGS_ERROR, e.msg);
    } else if (applying(tab)) {
      (void)floe_abort(tab->t, x->xid, subxid, NULL);
    }
  }
}

/* ---- one message ---- */

/* stale: the message comes with a replayed transaction (see pgs_relation) */
static floe_status relation_msg(pgs_source *s, pgs_tab *tab, bool stale,
                                const pgo_msg *m) {
  floe_error e;
  ferr_clear(&e);
  if (pgs_relation(s, tab, stale, m, &e) != FLOE_OK) {
    char msg[FLOE_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%.60s.%.60s: schema: %.360s", tab->schema,
             tab->table, e.msg);
    pgs_tab_set_state(s, tab, PGS_ERROR, msg);
  }
  return FLOE_OK;
}

/* The transaction a data message belongs to. */
static floe_status msg_xact(pgs_source *s, const pgo_msg *m, pgs_xact **x,
                            uint32_t *sub, floe_error *err) {
  if (m->has_xid) {
    FLOE_TRY(stx_get(s, s->stream_xid, x, err));
    *sub = m->xid;
    return FLOE_OK;
  }
  if (!s->in_txn)
    return ferr_set(err, FLOE_ECORRUPT, "pgoutput %s outside a transaction",
                    pgo_kind_name(m->kind));
  *x = &s->cur;
  *sub = s->cur.xid;
  return FLOE_OK;
}

static floe_status data_msg(pgs_source *s, pgs_tab *tab, const pgo_msg *m,
                            const uint8_t *data, size_t len, floe_error *err) {
  pgs_xact *x = NULL;
  uint32_t sub = 0;
  FLOE_TRY(msg_xact(s, m, &x, &sub, err));
  pgs_xtab *xt = NULL;
  FLOE_TRY(xtab_get(x, tab, &xt, err));
  if (tab->spool) {
    floe_error e;
    uint8_t kind = m->kind == PGO_TRUNCATE ? SP_TRUNC : SP_DATA;
    if (spool_put(tab->spool, kind, m->has_xid, x->xid, sub, x->final_lsn, 0,
                  kind == SP_DATA ? data : NULL, kind == SP_DATA ? len : 0, &e))
      pgs_tab_set_state(s, tab, PGS_ERROR, e.msg);
    return FLOE_OK;
  }
  change_in(s, tab, x, xt, sub, m);
  return FLOE_OK;
}

static bool takes_changes(const pgs_tab *tab) {
  return tab->t && (tab->spool || tab->state == PGS_STREAMING);
}

floe_status pgs_handle(pgs_source *s, uint64_t wal_start, const uint8_t *data,
                       size_t len, floe_error *err) {
  pgo_msg m;
  bool in_stream = s->dec.in_stream;
  FLOE_TRY(pgo_decode(&s->dec, data, len, &m, err));
  s->n_msg++;
  switch (m.kind) {
  case PGO_BEGIN:
    if (s->in_txn)
      return ferr_set(err, FLOE_ECORRUPT,
                      "pgoutput Begin inside a transaction");
    xact_clear(&s->cur);
    s->cur.xid = m.xid;
    s->cur.streamed = false;
    s->cur.final_lsn = m.begin.final_lsn;
    s->in_txn = true;
    atomic_store(&s->caught_up, 0);
    return FLOE_OK;
  case PGO_COMMIT:
    if (!s->in_txn)
      return ferr_set(err, FLOE_ECORRUPT,
                      "pgoutput Commit outside a transaction");
    commit_xact(s, &s->cur, m.commit.end_lsn, m.commit.commit_time);
    s->in_txn = false;
    s->n_txn++;
    pgs_advance_all(s, m.commit.end_lsn);
    if (m.commit.end_lsn > s->pos) s->pos = m.commit.end_lsn;
    return FLOE_OK;
  case PGO_STREAM_START:
    s->stream_xid = m.xid;
    atomic_store(&s->caught_up, 0);
    return FLOE_OK;
  case PGO_STREAM_STOP: return FLOE_OK;
  case PGO_STREAM_COMMIT: {
    pgs_xact *x = stx_find(s, m.xid);
    if (x) {
      commit_xact(s, x, m.stream_commit.end_lsn, m.stream_commit.commit_time);
      stx_remove(s, x);
    }
    s->n_txn++;
    pgs_advance_all(s, m.stream_commit.end_lsn);
    if (m.stream_commit.end_lsn > s->pos) s->pos = m.stream_commit.end_lsn;
    return FLOE_OK;
  }
  case PGO_STREAM_ABORT: {
    pgs_xact *x = stx_find(s, m.xid);
    if (!x) return FLOE_OK;
    abort_in(s, x, m.stream_abort.subxid);
    if (m.stream_abort.subxid == m.xid) stx_remove(s, x);
    return FLOE_OK;
  }
  case PGO_RELATION: {
    pgs_tab *tab = pgs_tab_by_oid(s, m.relation.relid);
    if (tab) {
      uint8_t *raw = malloc(len + 1);
      if (!raw) return ferr_nomem(err, len);
      memcpy(raw, data, len);
      free(tab->rel_raw);
      tab->rel_raw = raw;
      tab->rel_raw_len = len;
    }
    if (!tab || !takes_changes(tab)) return FLOE_OK;
    if (tab->spool) {
      floe_error e;
      uint64_t fin = !in_stream && s->in_txn ? s->cur.final_lsn : 0;
      if (spool_put(tab->spool, SP_REL, in_stream, m.xid, m.xid, fin, 0, data,
                    len, &e))
        pgs_tab_set_state(s, tab, PGS_ERROR, e.msg);
      return FLOE_OK;
    }
    /* The walsender tags only a transaction's last write with an LSN
     * (Relation messages come with 0), so staleness is judged by the
     * transaction: a non-streamed one whose commit (Begin's final LSN) lies
     * below the table's applied LSN is a replay for this table */
    bool stale =
        !in_stream && s->in_txn && s->cur.final_lsn < floe_applied_lsn(tab->t);
    return relation_msg(s, tab, stale, &m);
  }
  case PGO_INSERT:
  case PGO_UPDATE:
  case PGO_DELETE: {
    uint32_t relid = m.kind == PGO_INSERT   ? m.insert.relid
                     : m.kind == PGO_UPDATE ? m.update.relid
                                            : m.del.relid;
    pgs_tab *tab = pgs_tab_by_oid(s, relid);
    if (!tab || !takes_changes(tab)) return FLOE_OK;
    return data_msg(s, tab, &m, data, len, err);
  }
  case PGO_TRUNCATE:
    /* CASCADE lists every relation it reached; only mirrored ones count */
    for (uint32_t i = 0; i < m.truncate.nrels; i++) {
      pgs_tab *tab = pgs_tab_by_oid(s, m.truncate.relids[i]);
      if (tab && tab->partitioned) {
        /* explains new leaf files in the catalog (check_leaves): the
         * commit's LSN, or inside a stream the change's (the commit lies
         * after it) */
        uint64_t at = !m.has_xid && s->in_txn ? s->cur.final_lsn : wal_start;
        if (at > tab->root_trunc_lsn) tab->root_trunc_lsn = at;
      }
      if (tab && takes_changes(tab))
        FLOE_TRY(data_msg(s, tab, &m, data, len, err));
    }
    return FLOE_OK;
  case PGO_TYPE:
  case PGO_ORIGIN:
  case PGO_MESSAGE: s->n_ign++; return FLOE_OK;
  }
  return FLOE_OK;
}

floe_status pgs_spool_relation(pgs_spool *sp, const uint8_t *p, size_t n,
                               floe_error *err) {
  /* outside a stream, no commit LSN: evolves the table like a live one */
  return spool_put(sp, SP_REL, false, 0, 0, 0, 0, p, n, err);
}

/* ---- replay of a spool ---- */

typedef struct replay {
  int n, cap;
  pgs_xact *v;
} replay;

static pgs_xact *rp_find(replay *r, uint32_t xid) {
  for (int i = 0; i < r->n; i++)
    if (r->v[i].xid == xid) return &r->v[i];
  return NULL;
}

static floe_status rp_get(replay *r, const sp_rec *rec, pgs_xact **out,
                          floe_error *err) {
  pgs_xact *x = rp_find(r, rec->xid);
  if (!x) {
    if (r->n == r->cap) {
      int cap = r->cap ? r->cap * 2 : 8;
      pgs_xact *v = realloc(r->v, (size_t)cap * sizeof *v);
      if (!v) return ferr_nomem(err, (size_t)cap * sizeof *v);
      r->v = v;
      r->cap = cap;
    }
    x = &r->v[r->n++];
    memset(x, 0, sizeof *x);
    x->xid = rec->xid;
    x->streamed = rec->streamed;
    x->final_lsn = rec->lsn;
  }
  *out = x;
  return FLOE_OK;
}

static void rp_remove(replay *r, pgs_xact *x) {
  xact_free(x);
  *x = r->v[--r->n];
}

static void rp_drop_all(replay *r, pgs_tab *tab) {
  for (int i = 0; i < r->n; i++) {
    (void)floe_abort(tab->t, r->v[i].xid, r->v[i].xid, NULL);
    xact_free(&r->v[i]);
  }
  r->n = 0;
}

floe_status pgs_spool_replay(pgs_source *s, pgs_tab *tab, floe_error *err) {
  pgs_spool *sp = tab->spool;
  tab->spool = NULL; /* from here on the table takes changes directly */
  replay r = {0, 0, NULL};
  pgo_decoder d;
  fbuf buf = FBUF_INIT;
  floe_status st = pgo_decoder_init(&d, 2, err);
  if (!st && fseek(sp->f, 0, SEEK_SET) != 0)
    st = ferr_set(err, FLOE_EIO, "spool rewind: %s", strerror(errno));
  int64_t n = 0;
  while (!st && applying(tab)) {
    sp_rec rec;
    size_t got = fread(&rec, 1, sizeof rec, sp->f);
    if (got == 0) break;
    if (got != sizeof rec) {
      st = ferr_set(err, FLOE_EIO, "spool: short record");
      break;
    }
    fbuf_reset(&buf);
    if (rec.len) {
      st = fbuf_reserve(&buf, rec.len, err);
      if (!st && fread(buf.data, rec.len, 1, sp->f) != 1)
        st = ferr_set(err, FLOE_EIO, "spool: short payload");
      if (st) break;
      buf.len = rec.len;
    }
    n++;
    pgo_msg m;
    pgs_xact *x = NULL;
    pgs_xtab *xt = NULL;
    switch (rec.kind) {
    case SP_REL:
      d.in_stream = rec.streamed;
      st = pgo_decode(&d, buf.data, buf.len, &m, err);
      if (!st)
        st = relation_msg(
            s, tab,
            !rec.streamed && rec.lsn && rec.lsn < floe_applied_lsn(tab->t), &m);
      break;
    case SP_DATA:
    case SP_TRUNC:
      st = rp_get(&r, &rec, &x, err);
      if (!st) st = xtab_get(x, tab, &xt, err);
      if (st) break;
      if (rec.kind == SP_TRUNC) {
        memset(&m, 0, sizeof m);
        m.kind = PGO_TRUNCATE;
      } else {
        d.in_stream = rec.streamed;
        st = pgo_decode(&d, buf.data, buf.len, &m, err);
        if (st) break;
      }
      change_in(s, tab, x, xt, rec.sub, &m);
      break;
    case SP_COMMIT:
      x = rp_find(&r, rec.xid);
      if (x) {
        commit_xact(s, x, rec.lsn, rec.aux);
        rp_remove(&r, x);
      }
      break;
    case SP_ABORT:
      x = rp_find(&r, rec.xid);
      if (!x) break;
      (void)floe_abort(tab->t, rec.xid, rec.sub, NULL);
      if (rec.sub == rec.xid) rp_remove(&r, x);
      break;
    case SP_RESTART: rp_drop_all(&r, tab); break;
    default:
      st = ferr_set(err, FLOE_ECORRUPT, "spool: record kind %d", rec.kind);
    }
  }
  /* transactions still open go on live: hand over what replay learned */
  for (int i = 0; i < r.n && !st; i++) {
    pgs_xact *rx = &r.v[i];
    pgs_xact *live = rx->streamed                         ? stx_find(s, rx->xid)
                     : s->in_txn && s->cur.xid == rx->xid ? &s->cur
                                                          : NULL;
    pgs_xtab *from = xtab_find(rx, tab),
             *to = live ? xtab_find(live, tab) : NULL;
    if (!to || !from) {
      if (tab->t) (void)floe_abort(tab->t, rx->xid, rx->xid, NULL);
      continue;
    }
    to->skip = from->skip;
    to->changes = from->changes;
    if (from->failed && !to->failed) xtab_fail(to, from->err);
  }
  for (int i = 0; i < r.n; i++) xact_free(&r.v[i]);
  free(r.v);
  fbuf_free(&buf);
  pgo_decoder_free(&d);
  flog_write(s->o.log, FLOG_INFO,
             "%s.%s: replayed %" PRId64 " spooled stream records", tab->schema,
             tab->table, n);
  pgs_spool_free(sp);
  return st;
}

/* A reconnect: spooling tables note it (their open transactions restart). */
floe_status pgs_spool_restart(pgs_source *s, floe_error *err) {
  for (int i = 0; i < s->ntab; i++)
    if (s->tabs[i]->spool)
      FLOE_TRY(spool_put(s->tabs[i]->spool, SP_RESTART, false, 0, 0, 0, 0, NULL,
                         0, err));
  return FLOE_OK;
}
