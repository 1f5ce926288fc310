/* The daemon's RPC handlers (docs/rpc.md): every one returns at once; work
 * for the ingest or maintenance thread is queued and the call parked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/daemon_int.h"

/* Retry interval of a parked call (besides srv_wake). */
#define PARK_MS 20

/* Parses and canonicalises a table name. */
static floe_status table_arg(const char *in, char s[64], char t[64],
                             char q[DMN_QNAME_MAX], floe_error *err) {
  FLOE_TRY(dmn_table_name_parse(in, s, t, err));
  dmn_table_qname(s, t, q);
  return FLOE_OK;
}

/* The registry state of qname (NULL: not mirrored), copied into st. */
static bool reg_state(dmn_daemon *d, const char *q, char st[16]) {
  pthread_mutex_lock(&d->mu);
  int i = dmn_registry_find(&d->reg, q);
  if (i >= 0) snprintf(st, 16, "%s", d->reg.tables[i].state);
  pthread_mutex_unlock(&d->mu);
  return i >= 0;
}

static floe_status not_mirrored(const char *q, floe_error *err) {
  return ferr_set(err, FLOE_ENOTFOUND,
                  "table %s is not mirrored (`floe tables` lists them)", q);
}

static dmn_pending *pending_new(dmn_pend_kind k, floe_error *err) {
  dmn_pending *p = calloc(1, sizeof *p);
  if (!p) ferr_nomem(err, sizeof *p);
  if (p) p->kind = k;
  return p;
}

static void park(srv_call *call, int64_t ms) {
  call->again = true;
  call->again_ms = ms;
}

/* Queues job j for call and parks it; the caller keeps no reference. */
static floe_status park_job(dmn_daemon *d, srv_call *call, dmn_job *j,
                            floe_error *err) {
  dmn_pending *p = pending_new(PEND_JOB, err);
  if (!p) {
    dmn_job_unref(j);
    return FLOE_ENOMEM;
  }
  p->job = j;
  call->pending = p;
  dmn_job_submit(d, j);
  park(call, 200);
  return FLOE_OK;
}

/* The parked job of call if it is done (then the pending is freed and the
 * caller owns the returned reference), else parks again and returns
 * NULL. */
static dmn_job *job_done(srv_call *call) {
  dmn_pending *p = call->pending;
  if (!atomic_load(&p->job->done)) {
    park(call, 200);
    return NULL;
  }
  dmn_job *j = p->job;
  free(p);
  call->pending = NULL;
  return j;
}

static void h_cancel(void *ctx, srv_call *call) {
  dmn_daemon *d = ctx;
  dmn_pending *p = call->pending;
  if (!p) return;
  if (p->kind == PEND_READ)
    atomic_fetch_sub(&d->parked_reads, 1);
  else
    dmn_job_unref(p->job);
  free(p);
  call->pending = NULL;
}

/* ---- status ---- */

floe_status dmn_status_build(dmn_daemon *d, farena *a, const char **names,
                             uint32_t n, rpc_status_ok *out, floe_error *err) {
  memset(out, 0, sizeof *out);
  out->server = d->name;
  out->floe_version = floe_version();
  out->uptime_ms = dmn_mono_ms() - d->started_ms;
  out->memory_limit = d->memory_limit;
  dmn_source_status ss = {0};
  void *src = atomic_load(&d->src);
  if (src) FLOE_TRY(d->ops->status(src, a, &ss, err));
  /* the registry decides what is mirrored; the source says how it goes */
  pthread_mutex_lock(&d->mu);
  uint32_t cap = (uint32_t)d->reg.ntables;
  rpc_table_status *v = farena_alloc(a, (cap ? cap : 1) * sizeof *v, err);
  floe_status st = v ? FLOE_OK : FLOE_ENOMEM;
  uint32_t k = 0;
  for (int i = 0; st == FLOE_OK && i < d->reg.ntables; i++) {
    const dmn_reg_table *rt = &d->reg.tables[i];
    if (n > 0) {
      bool want = false;
      for (uint32_t f = 0; f < n && !want; f++)
        want = strcmp(names[f], rt->name) == 0;
      if (!want) continue;
    }
    rpc_table_status *ts = &v[k++];
    memset(ts, 0, sizeof *ts);
    ts->state = "queued";
    ts->last_error = "";
    for (uint32_t s = 0; s < ss.ntables; s++)
      if (strcmp(ss.tables[s].name, rt->name) == 0) *ts = ss.tables[s];
    if (!(ts->name = farena_strdup(a, rt->name, err))) st = FLOE_ENOMEM;
    if (strcmp(rt->state, "dropping") == 0) ts->state = "dropping";
    if (!src && atomic_load(&d->failed)) {
      ts->state = "error";
      ts->last_error = farena_strdup(a, d->fail_msg, err);
      if (!ts->last_error) st = FLOE_ENOMEM;
    } else if (!src) {
      ts->state = "starting";
    }
    out->memory_bytes += ts->memory_bytes;
  }
  pthread_mutex_unlock(&d->mu);
  if (st != FLOE_OK) return st;
  /* a name asked for that is not mirrored */
  for (uint32_t f = 0; f < n; f++) {
    bool have = false;
    for (uint32_t i = 0; i < k && !have; i++)
      have = strcmp(v[i].name, names[f]) == 0;
    if (!have) return not_mirrored(names[f], err);
  }
  out->ntables = k;
  out->tables = v;
  return FLOE_OK;
}

static floe_status h_status(void *ctx, srv_call *call, floe_error *err) {
  dmn_daemon *d = ctx;
  const rpc_status *rq = &call->req->u.status;
  const char **names = NULL;
  if (rq->ntables) {
    names = farena_alloc(call->arena, rq->ntables * sizeof *names, err);
    if (!names) return FLOE_ENOMEM;
    for (uint32_t i = 0; i < rq->ntables; i++) {
      char s[64], t[64], *q = farena_alloc(call->arena, DMN_QNAME_MAX, err);
      if (!q) return FLOE_ENOMEM;
      FLOE_TRY(table_arg(rq->tables[i], s, t, q, err));
      names[i] = q;
    }
  }
  return dmn_status_build(d, call->arena, names, rq->ntables,
                          &call->reply.u.status_ok, err);
}

static floe_status h_list(void *ctx, srv_call *call, floe_error *err) {
  dmn_daemon *d = ctx;
  rpc_status_ok st;
  FLOE_TRY(dmn_status_build(d, call->arena, NULL, 0, &st, err));
  rpc_table_entry *v =
      farena_alloc(call->arena, (st.ntables ? st.ntables : 1) * sizeof *v, err);
  if (!v) return FLOE_ENOMEM;
  for (uint32_t i = 0; i < st.ntables; i++)
    v[i] = (rpc_table_entry){st.tables[i].name, st.tables[i].state};
  call->reply.u.list_tables_ok = (rpc_list_tables_ok){st.ntables, v};
  return FLOE_OK;
}

static floe_status h_health(void *ctx, floe_error *err) {
  dmn_daemon *d = ctx;
  if (atomic_load(&d->failed)) {
    pthread_mutex_lock(&d->mu);
    ferr_set(err, FLOE_EIO, "%s", d->fail_msg);
    pthread_mutex_unlock(&d->mu);
    return FLOE_EIO;
  }
  farena a;
  farena_init(&a, 8192, 0);
  rpc_status_ok st;
  floe_status rc = dmn_status_build(d, &a, NULL, 0, &st, err);
  for (uint32_t i = 0; rc == FLOE_OK && i < st.ntables; i++)
    if (strcmp(st.tables[i].state, "error") == 0 ||
        strcmp(st.tables[i].state, "paused") == 0)
      rc = ferr_set(err, FLOE_EIO, "table %s is %s: %s", st.tables[i].name,
                    st.tables[i].state, st.tables[i].last_error);
  farena_free(&a);
  return rc;
}

/* ---- tables ---- */

static floe_status h_add(void *ctx, srv_call *call, floe_error *err) {
  dmn_daemon *d = ctx;
  const rpc_add_table *rq = &call->req->u.add_table;
  char s[64], t[64], q[DMN_QNAME_MAX];
  FLOE_TRY(table_arg(rq->table, s, t, q, err));
  /* the options must be knobs with good values before anything changes */
  cfg_engine chk;
  memset(&chk, 0, sizeof chk);
  for (uint32_t i = 0; i < rq->noptions; i++) {
    floe_status st =
        cfg_engine_set(&chk, rq->options[i].key, rq->options[i].value, err);
    if (st == FLOE_ENOTFOUND)
      return ferr_set(err, FLOE_EINVAL,
                      "option '%s' is not an engine setting (docs/config.md "
                      "lists them)",
                      rq->options[i].key);
    if (st != FLOE_OK) return st;
  }
  dmn_job *j = dmn_job_new(DMN_JOB_ADD, err);
  if (!j) return FLOE_ENOMEM;
  snprintf(j->qname, sizeof j->qname, "%s", q);
  memcpy(j->schema, s, sizeof j->schema);
  memcpy(j->table, t, sizeof j->table);
  pthread_mutex_lock(&d->mu);
  floe_status st = FLOE_OK;
  int i = dmn_registry_find(&d->reg, q);
  if (i >= 0) {
    st = ferr_set(err, FLOE_EEXIST, "table %s is already mirrored%s", q,
                  strcmp(d->reg.tables[i].state, "dropping") == 0
                      ? " (its drop is in progress)"
                      : "");
  } else {
    st = dmn_registry_add(&d->reg, q, rq->options, (int)rq->noptions,
                          dmn_wall_ms(), err);
    if (st == FLOE_OK) {
      i = d->reg.ntables - 1;
      st = dmn_table_config(d, &d->reg.tables[i], &j->cfg, err);
      /* persisted before the copy: a crash mid-copy resumes it */
      if (st == FLOE_OK) st = dmn_registry_save(&d->reg, err);
      if (st != FLOE_OK) dmn_registry_remove(&d->reg, i);
    }
  }
  /* before the source is open, the source thread queues it (it looks
   * under mu when it publishes the source) */
  bool open = atomic_load(&d->src) != NULL;
  pthread_mutex_unlock(&d->mu);
  if (st != FLOE_OK) {
    dmn_job_unref(j);
    return st;
  }
  flog_write(d->log, FLOG_INFO, "table %s: registered; its copy is queued", q);
  if (open) dmn_job_submit(d, j);
  dmn_job_unref(j);
  return FLOE_OK;
}

static floe_status h_drop(void *ctx, srv_call *call, floe_error *err) {
  dmn_daemon *d = ctx;
  if (call->pending) {
    dmn_job *j = job_done(call);
    if (!j) return FLOE_OK;
    floe_status st = j->st;
    if (st != FLOE_OK) *err = j->err;
    dmn_job_unref(j);
    return st;
  }
  const rpc_drop_table *rq = &call->req->u.drop_table;
  if (rq->flags & ~RPC_DROP_PURGE)
    return ferr_set(err, FLOE_EINVAL, "drop_table: unknown flags 0x%x",
                    rq->flags);
  char s[64], t[64], q[DMN_QNAME_MAX];
  FLOE_TRY(table_arg(rq->table, s, t, q, err));
  if (!atomic_load(&d->src))
    return ferr_set(err, FLOE_EINVAL,
                    "the mirror is still starting (initial copy): drop %s "
                    "once `floe status` says it streams",
                    q);
  dmn_job *j = dmn_job_new(DMN_JOB_REMOVE, err);
  if (!j) return FLOE_ENOMEM;
  snprintf(j->qname, sizeof j->qname, "%s", q);
  memcpy(j->schema, s, sizeof j->schema);
  memcpy(j->table, t, sizeof j->table);
  j->flags = rq->flags;
  pthread_mutex_lock(&d->mu);
  floe_status st = FLOE_OK;
  int i = dmn_registry_find(&d->reg, q);
  if (i < 0)
    st = not_mirrored(q, err);
  else if (strcmp(d->reg.tables[i].state, "dropping") == 0)
    st = ferr_set(err, FLOE_EEXIST, "table %s is being dropped already", q);
  else if ((st = dmn_registry_set_state(&d->reg, i, "dropping", err)) ==
           FLOE_OK) {
    /* a crash from here on finishes the drop at the next start */
    st = dmn_registry_save(&d->reg, err);
    if (st != FLOE_OK) {
      floe_error e2;
      dmn_registry_set_state(&d->reg, i, "active", &e2);
    }
  }
  pthread_mutex_unlock(&d->mu);
  if (st != FLOE_OK) {
    dmn_job_unref(j);
    return st;
  }
  return park_job(d, call, j, err);
}

static floe_status h_schema(void *ctx, srv_call *call, floe_error *err) {
  dmn_daemon *d = ctx;
  if (call->pending) {
    dmn_job *j = job_done(call);
    if (!j) return FLOE_OK;
    floe_status st = j->st;
    if (st != FLOE_OK) {
      *err = j->err;
    } else {
      /* the job's arena dies with it: copy the reply into the call's */
      rpc_schema_ok *o = &call->reply.u.schema_ok;
      *o = j->schema_ok;
      o->columns =
          farena_dup(call->arena, j->schema_ok.columns,
                     (j->schema_ok.ncolumns ? j->schema_ok.ncolumns : 1) *
                         sizeof *o->columns,
                     err);
      o->key = farena_dup(
          call->arena, j->schema_ok.key,
          (j->schema_ok.nkey ? j->schema_ok.nkey : 1) * sizeof *o->key, err);
      if (!o->columns || !o->key) st = FLOE_ENOMEM;
      for (uint32_t i = 0; st == FLOE_OK && i < o->ncolumns; i++) {
        rpc_column *c = &o->columns[i];
        if (!(c->name = farena_strdup(call->arena, c->name, err)))
          st = FLOE_ENOMEM;
        if (st == FLOE_OK && c->initial_default &&
            !(c->initial_default =
                  farena_strdup(call->arena, c->initial_default, err)))
          st = FLOE_ENOMEM;
      }
    }
    dmn_job_unref(j);
    return st;
  }
  char s[64], t[64], q[DMN_QNAME_MAX], state[16];
  FLOE_TRY(table_arg(call->req->u.table.table, s, t, q, err));
  if (!reg_state(d, q, state)) return not_mirrored(q, err);
  if (!atomic_load(&d->src)) {
    park(call, 200); /* the source is starting */
    return FLOE_OK;
  }
  dmn_job *j = dmn_job_new(DMN_JOB_SCHEMA, err);
  if (!j) return FLOE_ENOMEM;
  snprintf(j->qname, sizeof j->qname, "%s", q);
  memcpy(j->schema, s, sizeof j->schema);
  memcpy(j->table, t, sizeof j->table);
  return park_job(d, call, j, err);
}

/* COMMIT and OPTIMIZE: handed to the maintenance thread. */
static floe_status maint_call(dmn_daemon *d, srv_call *call, dmn_job_kind kind,
                              floe_error *err) {
  if (call->pending) {
    dmn_job *j = job_done(call);
    if (!j) return FLOE_OK;
    floe_status st = j->st;
    if (st != FLOE_OK)
      *err = j->err;
    else if (kind == DMN_JOB_FLUSH)
      call->reply.u.commit_ok = (rpc_commit_ok){j->lsn, j->snapshot_id};
    else
      call->reply.u.optimize_ok = (rpc_optimize_ok){j->before, j->after};
    dmn_job_unref(j);
    return st;
  }
  const rpc_table_req *rq = &call->req->u.table;
  uint32_t allowed = kind == DMN_JOB_COMPACT ? RPC_OPTIMIZE_FORCE : 0;
  if (rq->flags & ~allowed)
    return ferr_set(err, FLOE_EINVAL, "%s: unknown flags 0x%x",
                    rpc_type_name(call->req->type), rq->flags);
  dmn_job *j = dmn_job_new(kind, err);
  if (!j) return FLOE_ENOMEM;
  j->flags = rq->flags;
  if (rq->table[0] || kind == DMN_JOB_COMPACT) {
    char state[16];
    floe_status st = table_arg(rq->table, j->schema, j->table, j->qname, err);
    if (st == FLOE_OK && !reg_state(d, j->qname, state))
      st = not_mirrored(j->qname, err);
    if (st != FLOE_OK) {
      dmn_job_unref(j);
      return st;
    }
  }
  return park_job(d, call, j, err);
}

static floe_status h_commit(void *ctx, srv_call *call, floe_error *err) {
  return maint_call(ctx, call, DMN_JOB_FLUSH, err);
}

static floe_status h_optimize(void *ctx, srv_call *call, floe_error *err) {
  return maint_call(ctx, call, DMN_JOB_COMPACT, err);
}

/* ---- read states ---- */

static floe_status h_read_state(void *ctx, srv_call *call, floe_error *err) {
  dmn_daemon *d = ctx;
  const rpc_read_state *rq = &call->req->u.read_state;
  char s[64], t[64], q[DMN_QNAME_MAX], state[16];
  dmn_pending *p = call->pending;
  floe_status st = FLOE_OK;
  if (!p) {
    if (rq->flags & ~RPC_READ_LATEST)
      return ferr_set(err, FLOE_EINVAL, "read_state: unknown flags 0x%x",
                      rq->flags);
    FLOE_TRY(table_arg(rq->table, s, t, q, err));
    if (!reg_state(d, q, state)) return not_mirrored(q, err);
    if (!(p = pending_new(PEND_READ, err))) return FLOE_ENOMEM;
    p->min_lsn = rq->min_lsn;
    /* LATEST: the source's WAL position now. An LSN given is raised to it
     * too: `psql -c "INSERT ...; SELECT pg_current_wal_lsn()"` runs both in
     * one transaction, so its LSN lies before the transaction's commit
     * record, and a keepalive may move the table past it before that
     * commit arrives; the position at the request (taken after the client
     * saw its commit) covers the commit. One query answers every request
     * made before it started. */
    if ((rq->flags & RPC_READ_LATEST) || rq->min_lsn > 0) {
      p->lenient = !(rq->flags & RPC_READ_LATEST);
      pthread_mutex_lock(&d->mu);
      p->lsn_seq = ++d->lsn_req;
      pthread_cond_signal(&d->aux_cv);
      pthread_mutex_unlock(&d->mu);
    } else {
      p->have_lsn = true;
    }
    call->pending = p;
    atomic_fetch_add(&d->parked_reads, 1);
  } else {
    FLOE_TRY(table_arg(rq->table, s, t, q, err));
  }
  if (!p->have_lsn) {
    pthread_mutex_lock(&d->mu);
    bool ready = d->lsn_done >= p->lsn_seq;
    if (ready) {
      st = d->lsn_st;
      if (st != FLOE_OK && p->lenient) {
        /* Postgres unreachable: the LSN given is all there is */
        st = FLOE_OK;
      } else if (st != FLOE_OK) {
        ferr_set(err, st, "the source's WAL position: %s", d->lsn_err.msg);
      } else if (d->lsn_value > p->min_lsn)
        p->min_lsn = d->lsn_value;
    }
    pthread_mutex_unlock(&d->mu);
    if (!ready) {
      park(call, PARK_MS);
      return FLOE_OK;
    }
    p->have_lsn = true;
  }
  void *src = atomic_load(&d->src);
  if (st == FLOE_OK && !src) {
    park(call, 100);
    return FLOE_OK;
  }
  floe_read_state *rs = NULL;
  if (st == FLOE_OK) st = d->ops->read_state(src, s, t, p->min_lsn, &rs, err);
  if (st == FLOE_ETIMEDOUT) {
    /* an idle table moves only with the server's keepalives: ask */
    atomic_store(&d->want_keepalive, true);
    park(call, PARK_MS);
    return FLOE_OK;
  }
  call->pending = NULL;
  free(p);
  atomic_fetch_sub(&d->parked_reads, 1);
  if (st != FLOE_OK) return st;
  call->lease_state = rs;
  call->reply.u.read_state_ok.lsn = floe_read_state_lsn(rs);
  call->reply.u.read_state_ok.rows = floe_read_state_rows(rs);
  return FLOE_OK;
}

static void h_release(void *ctx, void *lease_state) {
  (void)ctx;
  floe_read_state_release(lease_state);
}

floe_status dmn_scan_handler(void *ctx, srv_call *call, floe_error *err);

void dmn_handlers(dmn_daemon *d, srv_handlers *h) {
  memset(h, 0, sizeof *h);
  h->ctx = d;
  h->list_tables = h_list;
  h->status = h_status;
  h->add_table = h_add;
  h->drop_table = h_drop;
  h->read_state = h_read_state;
  h->scan = dmn_scan_handler;
  h->commit = h_commit;
  h->optimize = h_optimize;
  h->schema = h_schema;
  h->release = h_release;
  h->cancel = h_cancel;
  h->health = h_health;
}
