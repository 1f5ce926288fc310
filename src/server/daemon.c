/* The daemon: settings and registry, the threads' loops, jobs, memory. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "pg/conn.h"
#include "server/daemon_int.h"

/* How long one poll of the source may take: bounds how late a parked read
 * learns that its LSN was applied, and how late jobs start. */
#define POLL_MS 10
/* Memory: over this share of the limit the biggest tables are flushed;
 * over the limit reading pauses until they are. */
#define RELIEVE_AT 0.75
#define RELIEVE_TO 0.5
#define MEM_CHECK_MS 20
/* While a reader waits for an LSN, ask for the server's WAL position this
 * often (an idle table advances only on keepalives). */
#define KEEPALIVE_MS 20
/* ... and at least this often anyway (see dmn_run_source) */
#define IDLE_KEEPALIVE_MS 1000
/* Per-table share of the memory limit, at least this. */
#define TABLE_MEM_MIN ((int64_t)16 << 20)

int64_t dmn_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t dmn_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- jobs ---- */

dmn_job *dmn_job_new(dmn_job_kind kind, floe_error *err) {
  dmn_job *j = calloc(1, sizeof *j);
  if (!j) {
    ferr_nomem(err, sizeof *j);
    return NULL;
  }
  atomic_init(&j->refs, 1);
  atomic_init(&j->done, false);
  j->kind = kind;
  farena_init(&j->arena, 4096, 16 << 20);
  ferr_clear(&j->err);
  return j;
}

void dmn_job_unref(dmn_job *j) {
  if (!j || atomic_fetch_sub(&j->refs, 1) != 1) return;
  farena_free(&j->arena);
  free(j);
}

static bool maint_job(dmn_job_kind k) {
  return k == DMN_JOB_FLUSH || k == DMN_JOB_COMPACT || k == DMN_JOB_RELIEVE;
}

void dmn_job_submit(dmn_daemon *d, dmn_job *j) {
  atomic_fetch_add(&j->refs, 1);
  pthread_mutex_lock(&d->mu);
  dmn_job **q = maint_job(j->kind) ? &d->maint_q : &d->ingest_q;
  while (*q) q = &(*q)->next;
  j->next = NULL;
  *q = j;
  pthread_cond_signal(maint_job(j->kind) ? &d->maint_cv : &d->src_cv);
  pthread_mutex_unlock(&d->mu);
}

void dmn_job_finish(dmn_daemon *d, dmn_job *j) {
  atomic_store(&j->done, true);
  if (d->srv) srv_wake(d->srv);
  dmn_job_unref(j);
}

static dmn_job *pop_job(dmn_job **q) {
  dmn_job *j = *q;
  if (j) *q = j->next;
  return j;
}

/* Fails every queued job of q (the daemon is stopping). Called under mu. */
static void fail_jobs(dmn_daemon *d, dmn_job **q) {
  dmn_job *j;
  while ((j = pop_job(q))) {
    j->st = ferr_set(&j->err, FLOE_EIO, "the daemon is stopping");
    dmn_job_finish(d, j);
  }
}

/* ---- settings ---- */

/* The bit cfg_engine uses for key (0 when key is no engine knob). */
static uint32_t knob_bit(const char *key, const char *sample) {
  cfg_engine e;
  memset(&e, 0, sizeof e);
  floe_error err;
  if (cfg_engine_set(&e, key, sample, &err) != FLOE_OK) return 0;
  return e.set;
}

floe_status dmn_table_config(dmn_daemon *d, const dmn_reg_table *t,
                             floe_table_config *out, floe_error *err) {
  *out = d->table_cfg;
  cfg_engine own;
  memset(&own, 0, sizeof own);
  for (int i = 0; t && i < t->nopt; i++)
    FLOE_TRY(ferr_prefix(err,
                         cfg_engine_set(&own, t->keys[i], t->values[i], err),
                         "table %s", t->name));
  cfg_engine_apply(&own, out);
  uint32_t mem_bit = knob_bit("table-memory-limit", "16MiB");
  if (!((d->knobs.set | own.set) & mem_bit)) {
    /* every table may take its share; the daemon's own check (flushes,
     * then a pause) bounds the sum */
    int n = d->reg.ntables > 0 ? d->reg.ntables : 1;
    int64_t share = d->memory_limit / n;
    out->memory_limit = share > TABLE_MEM_MIN ? share : TABLE_MEM_MIN;
  }
  return FLOE_OK;
}

/* The knobs that are set, as key/value text (cfg_write's lines). */
static floe_status knobs_text(const cfg_engine *k, dmn_registry *r,
                              floe_error *err) {
  cfg_daemon tmp;
  cfg_init(&tmp);
  tmp.engine = *k;
  fbuf b = FBUF_INIT;
  floe_status st = cfg_write(&tmp, &b, err);
  if (st == FLOE_OK) st = fbuf_put_u8(&b, 0, err);
  cfg_free(&tmp);
  int n = 0, cap = 0;
  char **keys = NULL, **vals = NULL;
  char *save = NULL;
  for (char *line = st == FLOE_OK ? strtok_r((char *)b.data, "\n", &save)
                                  : NULL;
       line; line = strtok_r(NULL, "\n", &save)) {
    if (line[0] == '#') continue;
    char *eq = strstr(line, " = ");
    if (!eq) continue;
    *eq = '\0';
    const char *val = eq + 3;
    bool engine = false;
    for (int i = 0; cfg_key_name(i); i++)
      if (strcmp(cfg_key_name(i), line) == 0) engine = cfg_key_is_engine(i);
    if (!engine) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 8;
      char **nk = realloc(keys, (size_t)cap * sizeof *nk);
      if (nk) keys = nk;
      char **nv = realloc(vals, (size_t)cap * sizeof *nv);
      if (nv) vals = nv;
      if (!nk || !nv) {
        st = ferr_nomem(err, (size_t)cap * sizeof *nk);
        break;
      }
    }
    /* cfg_write quotes values that need it; knob values never do */
    keys[n] = strdup(line);
    vals[n] = strdup(val);
    n++;
    if (!keys[n - 1] || !vals[n - 1]) {
      st = ferr_nomem(err, 64);
      break;
    }
  }
  fbuf_free(&b);
  if (st != FLOE_OK) {
    for (int i = 0; i < n; i++) free(keys[i]), free(vals[i]);
    free(keys);
    free(vals);
    return st;
  }
  for (int i = 0; i < r->nknob; i++)
    free(r->knob_keys[i]), free(r->knob_values[i]);
  free(r->knob_keys);
  free(r->knob_values);
  r->knob_keys = keys;
  r->knob_values = vals;
  r->nknob = n;
  return FLOE_OK;
}

static char *dupstr(const char *s, floe_error *err) {
  char *p = strdup(s ? s : "");
  if (!p) ferr_nomem(err, strlen(s ? s : "") + 1);
  return p;
}

static floe_status mkdirs(const char *path, floe_error *err) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf)
    return ferr_set(err, FLOE_EINVAL, "bad directory '%s'", path);
  memcpy(buf, path, n + 1);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
      return ferr_set(err, FLOE_EIO, "mkdir %s: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST)
    return ferr_set(err, FLOE_EIO, "mkdir %s: %s", buf, strerror(errno));
  return FLOE_OK;
}

/* catalog setting -> floe_table_ref's catalog_uri and warehouse. */
static floe_status catalog_ref(dmn_daemon *d, floe_error *err) {
  const char *c = d->catalog;
  if (strcmp(c, "fs") == 0) {
    d->catalog_uri = dupstr(d->warehouse, err);
    d->catalog_wh = NULL;
    return d->catalog_uri ? FLOE_OK : FLOE_ENOMEM;
  }
  if (strncmp(c, "sqlite:", 7) == 0) {
    d->catalog_uri = dupstr(c, err);
  } else if (strncmp(c, "postgres:", 9) == 0) {
    d->catalog_uri = dupstr(c + 9, err);
  } else {
    return ferr_set(err, FLOE_EINVAL,
                    "catalog '%s': want fs, sqlite:PATH or postgres:CONNINFO",
                    c);
  }
  d->catalog_wh = dupstr(d->warehouse, err);
  return d->catalog_uri && d->catalog_wh ? FLOE_OK : FLOE_ENOMEM;
}

/* Merges the registry (r, found or new) with the settings in c. */
static floe_status merge_settings(dmn_daemon *d, const cfg_daemon *c,
                                  bool found, floe_error *err) {
  dmn_registry *r = &d->reg;
  d->knobs = c->engine;
  if (!found) {
    if (!c->source)
      return ferr_set(err, FLOE_EINVAL,
                      "no mirror '%s' in %s (no registry at %s): give "
                      "--source CONNINFO and --table schema.table to create it",
                      d->name, d->warehouse, r->path);
    r->name = dupstr(d->name, err);
    if (!r->name) return FLOE_ENOMEM;
  } else if (!r->name || strcmp(r->name, d->name) != 0) {
    return ferr_corrupt(err, "registry %s names mirror '%s', not '%s'", r->path,
                        r->name ? r->name : "", d->name);
  }
  /* the source: the flag wins (and is remembered without its password) */
  if (c->source) {
    d->conninfo = dupstr(c->source, err);
    if (!d->conninfo) return FLOE_ENOMEM;
    char *stripped;
    bool had_pw;
    FLOE_TRY(dmn_conninfo_strip(c->source, &stripped, &had_pw, err));
    if (had_pw)
      flog_write(d->log, FLOG_WARN,
                 "the source connection string holds a password: it is not "
                 "written to the registry; a restart without --source needs "
                 "it from PGPASSWORD, ~/.pgpass or a PGPASSFILE");
    free(r->source);
    r->source = stripped;
  } else {
    if (!r->source)
      return ferr_set(err, FLOE_EINVAL,
                      "registry %s has no source: give --source", r->path);
    d->conninfo = dupstr(r->source, err);
    if (!d->conninfo) return FLOE_ENOMEM;
  }
  /* the catalog: a mirror keeps the one it was created with */
  const char *cat = c->catalog ? c->catalog : "fs";
  if (found && r->catalog && strcmp(cat, "fs") != 0 &&
      strcmp(cat, r->catalog) != 0)
    return ferr_set(err, FLOE_EINVAL,
                    "catalog '%s' differs from the mirror's '%s' (registry "
                    "%s): a mirror keeps its catalog",
                    cat, r->catalog, r->path);
  if (found && r->catalog) cat = r->catalog;
  d->catalog = dupstr(cat, err);
  if (!d->catalog) return FLOE_ENOMEM;
  if (cat != r->catalog) {
    free(r->catalog);
    r->catalog = dupstr(cat, err);
    if (!r->catalog) return FLOE_ENOMEM;
  }
  /* engine knobs: the registry's, unless set again now */
  for (int i = 0; i < r->nknob; i++) {
    uint32_t bit = knob_bit(r->knob_keys[i], r->knob_values[i]);
    if (bit & d->knobs.set) continue;
    FLOE_TRY(ferr_prefix(
        err, cfg_engine_set(&d->knobs, r->knob_keys[i], r->knob_values[i], err),
        "registry %s", r->path));
  }
  FLOE_TRY(knobs_text(&d->knobs, r, err));
  /* tables given now join the registry */
  for (int i = 0; i < c->ntables; i++) {
    char s[64], t[64], q[DMN_QNAME_MAX];
    FLOE_TRY(dmn_table_name_parse(c->tables[i], s, t, err));
    dmn_table_qname(s, t, q);
    if (dmn_registry_find(r, q) >= 0) continue;
    FLOE_TRY(dmn_registry_add(r, q, NULL, 0, dmn_wall_ms(), err));
  }
  /* a drop interrupted by a crash is finished: the table may have left the
   * publication already, so it must not resume */
  for (int i = 0; i < r->ntables;) {
    if (strcmp(r->tables[i].state, "dropping") == 0) {
      flog_write(d->log, FLOG_INFO,
                 "table %s: finishing its interrupted drop (its Iceberg table "
                 "stays)",
                 r->tables[i].name);
      dmn_registry_remove(r, i);
      continue;
    }
    i++;
  }
  if (r->ntables == 0)
    flog_write(d->log, FLOG_WARN,
               "mirror '%s' has no tables yet: add some with "
               "`floe add-table`",
               d->name);
  return FLOE_OK;
}

floe_status dmn_open(const dmn_options *o, dmn_daemon **out, floe_error *err) {
  *out = NULL;
  const cfg_daemon *c = o->cfg;
  FLOE_TRY(cfg_check(c, 1, err));
  dmn_daemon *d = calloc(1, sizeof *d);
  if (!d) return ferr_nomem(err, sizeof *d);
  pthread_mutex_init(&d->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&d->src_cv, &ca);
  pthread_cond_init(&d->maint_cv, &ca);
  pthread_cond_init(&d->aux_cv, &ca);
  pthread_condattr_destroy(&ca);
  d->ops = o->source ? o->source : &dmn_pg_source;
  d->log = o->log;
  d->started_ms = dmn_mono_ms();
  d->memory_limit = c->memory_limit;
  atomic_init(&d->src, NULL);
  floe_status st = FLOE_OK;
  d->name = dupstr(c->name ? c->name : "floe", err);
  if (!d->name) st = FLOE_ENOMEM;
  /* the warehouse as an absolute path: catalogs and the registry need one */
  if (st == FLOE_OK) st = mkdirs(c->warehouse, err);
  if (st == FLOE_OK) {
    char abs[PATH_MAX];
    if (!realpath(c->warehouse, abs))
      st = ferr_set(err, FLOE_EIO, "warehouse %s: %s", c->warehouse,
                    strerror(errno));
    else if (!(d->warehouse = dupstr(abs, err)))
      st = FLOE_ENOMEM;
  }
  char *rpath = NULL;
  bool found = false;
  if (st == FLOE_OK) st = dmn_registry_path(d->warehouse, d->name, &rpath, err);
  if (st == FLOE_OK) st = dmn_registry_load(rpath, &d->reg, &found, err);
  free(rpath);
  if (st == FLOE_OK) st = merge_settings(d, c, found, err);
  if (st == FLOE_OK) st = catalog_ref(d, err);
  if (st == FLOE_OK) {
    floe_error e2;
    if (pgx_conninfo_describe(d->conninfo, d->source_desc,
                              sizeof d->source_desc, &e2) != FLOE_OK)
      snprintf(d->source_desc, sizeof d->source_desc, "(unparsable)");
  }
  if (st == FLOE_OK) {
    floe_table_config_init(&d->table_cfg);
    cfg_engine_apply(&d->knobs, &d->table_cfg);
    if (d->table_cfg.state_dir) {
      flog_write(d->log, FLOG_WARN,
                 "state-dir applies to one table: pass it with "
                 "`floe add-table --option state-dir=DIR`; ignored here");
      d->table_cfg.state_dir = NULL;
    }
    st = dmn_registry_save(&d->reg, err);
  }
  /* the socket last: a daemon that cannot start must not take it */
  if (st == FLOE_OK) {
    char sock[108];
    if (c->socket)
      d->socket_path = dupstr(c->socket, err);
    else if ((st = cfg_socket_default(d->name, sock, sizeof sock, err)) ==
             FLOE_OK)
      d->socket_path = dupstr(sock, err);
    if (st == FLOE_OK && !d->socket_path) st = FLOE_ENOMEM;
  }
  if (st == FLOE_OK) {
    srv_config sc;
    srv_config_init(&sc);
    sc.socket_path = d->socket_path;
    sc.socket_mode = c->socket_mode;
    sc.socket_group = c->socket_group;
    sc.metrics_addr = c->metrics;
    sc.name = d->name;
    sc.max_clients = c->max_clients;
    sc.lease_ttl_ms = c->lease_ttl_ms;
    sc.io_timeout_ms = c->io_timeout_ms;
    sc.log = d->log;
    srv_handlers h;
    dmn_handlers(d, &h);
    st = srv_open(&sc, &h, &d->srv, err);
  }
  if (st != FLOE_OK) {
    dmn_close(d);
    return st;
  }
  flog_write(d->log, FLOG_INFO,
             "mirror '%s': source %s, warehouse %s, catalog %s, %d table(s), "
             "memory limit %lld MiB, socket %s%s%s",
             d->name, d->source_desc, d->warehouse, d->catalog, d->reg.ntables,
             (long long)(d->memory_limit >> 20), d->socket_path,
             c->metrics ? ", metrics " : "", c->metrics ? c->metrics : "");
  if (c->metrics) {
    /* the port the kernel chose for port 0: scrapers and tests read it */
    const char *colon = strrchr(c->metrics, ':');
    int hl = colon ? (int)(colon - c->metrics) : 0;
    flog_write(d->log, FLOG_INFO,
               "metrics HTTP on %.*s:%d (/metrics, /healthz)", hl, c->metrics,
               srv_metrics_port(d->srv));
  }
  *out = d;
  return FLOE_OK;
}

const char *dmn_socket_path(const dmn_daemon *d) { return d->socket_path; }
int dmn_metrics_port(const dmn_daemon *d) {
  return d->srv ? srv_metrics_port(d->srv) : -1;
}
bool dmn_finished(dmn_daemon *d) { return atomic_load(&d->finished); }

void dmn_request_stop(dmn_daemon *d, const char *why) {
  if (!atomic_exchange(&d->stopping, true))
    flog_write(d->log, FLOG_INFO, "stopping (%s): final flush and commit", why);
  void *src = atomic_load(&d->src);
  if (src) d->ops->request_stop(src);
  pthread_mutex_lock(&d->mu);
  pthread_cond_broadcast(&d->src_cv);
  pthread_cond_broadcast(&d->maint_cv);
  pthread_cond_broadcast(&d->aux_cv);
  pthread_mutex_unlock(&d->mu);
}

void dmn_close(dmn_daemon *d) {
  if (!d) return;
  if (d->srv) srv_close(d->srv);
  void *src = atomic_load(&d->src);
  if (src) d->ops->free(src);
  pthread_mutex_lock(&d->mu);
  fail_jobs(d, &d->ingest_q);
  fail_jobs(d, &d->maint_q);
  pthread_mutex_unlock(&d->mu);
  dmn_registry_free(&d->reg);
  free(d->conninfo);
  free(d->name);
  free(d->warehouse);
  free(d->catalog);
  free(d->catalog_uri);
  free(d->catalog_wh);
  free(d->socket_path);
  pthread_mutex_destroy(&d->mu);
  pthread_cond_destroy(&d->src_cv);
  pthread_cond_destroy(&d->maint_cv);
  pthread_cond_destroy(&d->aux_cv);
  free(d);
}

/* Waits on cv (with d->mu held) until the monotonic time until_ms. */
static void cv_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu,
                          int64_t until_ms) {
  struct timespec ts = {.tv_sec = until_ms / 1000,
                        .tv_nsec = (until_ms % 1000) * 1000000};
  pthread_cond_timedwait(cv, mu, &ts);
}

/* ---- the ingest thread ---- */

static void run_ingest_job(dmn_daemon *d, void *src, dmn_job *j) {
  floe_error *e = &j->err;
  switch (j->kind) {
  case DMN_JOB_ADD: {
    dmn_table_def def = {j->schema, j->table, j->cfg};
    flog_write(d->log, FLOG_INFO, "table %s: adding (initial copy)", j->qname);
    j->st = d->ops->add_table(src, &def, e);
    if (j->st == FLOE_OK)
      flog_write(d->log, FLOG_INFO, "table %s: added", j->qname);
    else
      flog_write(d->log, FLOG_ERROR, "table %s: add failed: %s", j->qname,
                 e->msg);
    break;
  }
  case DMN_JOB_REMOVE: {
    j->st = d->ops->remove_table(src, j->schema, j->table, e);
    if (j->st == FLOE_ENOTFOUND) j->st = FLOE_OK; /* never opened */
    pthread_mutex_lock(&d->mu);
    int i = dmn_registry_find(&d->reg, j->qname);
    floe_error e2;
    if (i >= 0) {
      if (j->st == FLOE_OK)
        dmn_registry_remove(&d->reg, i);
      else
        dmn_registry_set_state(&d->reg, i, "active", &e2);
      if (dmn_registry_save(&d->reg, &e2) != FLOE_OK && j->st == FLOE_OK)
        j->st = ferr_set(e, e2.code, "%s", e2.msg);
    }
    pthread_mutex_unlock(&d->mu);
    if (j->st == FLOE_OK && (j->flags & RPC_DROP_PURGE))
      j->st = dmn_purge_table(d, j->schema, j->table, e);
    if (j->st == FLOE_OK)
      flog_write(d->log, FLOG_INFO, "table %s: dropped%s", j->qname,
                 (j->flags & RPC_DROP_PURGE) ? " and purged"
                                             : " (its Iceberg table stays)");
    else
      flog_write(d->log, FLOG_ERROR, "table %s: drop failed: %s", j->qname,
                 e->msg);
    break;
  }
  case DMN_JOB_SCHEMA:
    j->st =
        d->ops->schema(src, j->schema, j->table, &j->arena, &j->schema_ok, e);
    break;
  default: j->st = ferr_set(e, FLOE_EINVAL, "not an ingest job");
  }
}

/* Runs the queued ingest jobs. */
static void ingest_jobs(dmn_daemon *d, void *src) {
  for (;;) {
    pthread_mutex_lock(&d->mu);
    dmn_job *j = pop_job(&d->ingest_q);
    pthread_mutex_unlock(&d->mu);
    if (!j) return;
    run_ingest_job(d, src, j);
    dmn_job_finish(d, j);
    if (atomic_load(&d->stopping)) return;
  }
}

/* The row memory of every table (0 when the status fails). */
static int64_t memory_used(dmn_daemon *d, void *src) {
  farena a;
  farena_init(&a, 8192, 0);
  dmn_source_status ss;
  floe_error e2;
  int64_t used = 0;
  if (d->ops->status(src, &a, &ss, &e2) == FLOE_OK)
    for (uint32_t i = 0; i < ss.ntables; i++) used += ss.tables[i].memory_bytes;
  farena_free(&a);
  return used;
}

/* The memory check: relieves pressure, says whether to pause reading. */
static bool memory_over(dmn_daemon *d, void *src, int64_t now,
                        int64_t *grace_until) {
  int64_t used = memory_used(d, src);
  atomic_store(&d->mem_used, used);
  bool over = used > d->memory_limit;
  if (used > (int64_t)(d->memory_limit * RELIEVE_AT)) {
    pthread_mutex_lock(&d->mu);
    bool queued = d->relieve_queued;
    d->relieve_queued = true;
    pthread_mutex_unlock(&d->mu);
    if (!queued) {
      floe_error e2;
      dmn_job *j = dmn_job_new(DMN_JOB_RELIEVE, &e2);
      if (j) {
        dmn_job_submit(d, j);
        dmn_job_unref(j);
      }
    }
  }
  if (!over || now < *grace_until) {
    if (atomic_exchange(&d->paused, false))
      flog_write(d->log, FLOG_INFO,
                 "memory %lld MiB of %lld MiB: reading resumed",
                 (long long)(used >> 20), (long long)(d->memory_limit >> 20));
    return false;
  }
  /* a relief that found nothing to flush cannot help: the rest is open
   * transactions, which spill by themselves; read on for a while */
  pthread_mutex_lock(&d->mu);
  bool idle =
      !d->relieve_queued && d->relieve_freed == 0 && d->relieve_done > 0;
  pthread_mutex_unlock(&d->mu);
  if (idle) {
    *grace_until = now + 200;
    return false;
  }
  if (!atomic_exchange(&d->paused, true))
    flog_write(d->log, FLOG_WARN,
               "memory %lld MiB over the limit of %lld MiB: reading paused "
               "until flushes free memory (the server keeps the WAL)",
               (long long)(used >> 20), (long long)(d->memory_limit >> 20));
  return true;
}

static void set_failed(dmn_daemon *d, const char *what, const floe_error *e) {
  pthread_mutex_lock(&d->mu);
  size_t n = strlen(what);
  if (n > 64) n = 64;
  memcpy(d->fail_msg, what, n);
  snprintf(d->fail_msg + n, sizeof d->fail_msg - n, ": %.*s",
           (int)(sizeof d->fail_msg - n - 3), e->msg);
  pthread_mutex_unlock(&d->mu);
  atomic_store(&d->failed, true);
  flog_write(d->log, FLOG_ERROR, "%s: %s", what, e->msg);
}

/* Builds the source's arguments from the registry and opens it. */
static floe_status open_source(dmn_daemon *d, void **src, int *nopened,
                               floe_error *err) {
  pthread_mutex_lock(&d->mu);
  int n = d->reg.ntables;
  *nopened = n;
  dmn_table_def *defs = calloc((size_t)(n ? n : 1), sizeof *defs);
  char(*names)[2][64] = calloc((size_t)(n ? n : 1), sizeof *names);
  floe_status st = defs && names ? FLOE_OK : ferr_nomem(err, 64);
  for (int i = 0; i < n && st == FLOE_OK; i++) {
    st = dmn_table_name_parse(d->reg.tables[i].name, names[i][0], names[i][1],
                              err);
    defs[i].schema = names[i][0];
    defs[i].table = names[i][1];
  }
  for (int i = 0; i < n && st == FLOE_OK; i++)
    st = dmn_table_config(d, &d->reg.tables[i], &defs[i].cfg, err);
  floe_table_config dflt;
  if (st == FLOE_OK) st = dmn_table_config(d, NULL, &dflt, err);
  pthread_mutex_unlock(&d->mu);
  if (st == FLOE_OK) {
    dmn_source_args a = {
        .conninfo = d->conninfo,
        .mirror = d->name,
        .catalog_uri = d->catalog_uri,
        .warehouse = d->catalog_wh,
        .tables = defs,
        .ntables = n,
        .log = d->log,
    };
    a.table_cfg = dflt;
    st = d->ops->open(&a, src, err);
  }
  free(defs);
  free(names);
  return st;
}

floe_status dmn_run_source(dmn_daemon *d, floe_error *err) {
  void *src = NULL;
  floe_status st = FLOE_OK;
  if (!atomic_load(&d->stopping)) {
    flog_write(d->log, FLOG_INFO, "source %s: connecting", d->source_desc);
    int nopened = 0;
    st = open_source(d, &src, &nopened, err);
    if (st != FLOE_OK) {
      set_failed(d, "source", err);
    } else {
      pthread_mutex_lock(&d->mu);
      atomic_store(&d->src, src);
      /* tables registered while the source opened (ADD_TABLE appends) */
      for (int i = nopened; i < d->reg.ntables; i++) {
        floe_error e2;
        dmn_job *j = dmn_job_new(DMN_JOB_ADD, &e2);
        if (!j) break;
        snprintf(j->qname, sizeof j->qname, "%s", d->reg.tables[i].name);
        if (dmn_table_name_parse(j->qname, j->schema, j->table, &e2) ==
                FLOE_OK &&
            dmn_table_config(d, &d->reg.tables[i], &j->cfg, &e2) == FLOE_OK) {
          j->next = NULL;
          dmn_job **q = &d->ingest_q;
          while (*q) q = &(*q)->next;
          *q = j; /* the queue's reference */
        } else {
          dmn_job_unref(j);
        }
      }
      pthread_cond_broadcast(&d->maint_cv);
      pthread_cond_broadcast(&d->aux_cv);
      pthread_mutex_unlock(&d->mu);
      flog_write(d->log, FLOG_INFO, "source %s: streaming", d->source_desc);
      /* a stop asked during the open could not reach the source */
      if (atomic_load(&d->stopping)) d->ops->request_stop(src);
    }
  }
  int64_t last_mem = 0, last_ka = 0, grace = 0;
  while (src && !atomic_load(&d->stopping)) {
    ingest_jobs(d, src);
    int64_t now = dmn_mono_ms();
    /* the server sends keepalives on its own only when the client is
     * silent, and the stream answers every second: without asking, an
     * idle table would never reach the server's WAL end (status would show
     * lag, the slot would pin WAL) */
    if (d->ops->keepalive &&
        ((atomic_load(&d->want_keepalive) && now - last_ka >= KEEPALIVE_MS) ||
         now - last_ka >= IDLE_KEEPALIVE_MS)) {
      atomic_store(&d->want_keepalive, false);
      last_ka = now;
      floe_error e2;
      d->ops->keepalive(src, &e2);
    }
    /* near the limit every poll is checked: one poll can bring a lot */
    if (now - last_mem >= MEM_CHECK_MS || atomic_load(&d->paused) ||
        atomic_load(&d->mem_used) > d->memory_limit / 2) {
      last_mem = now;
      if (memory_over(d, src, now, &grace)) {
        pthread_mutex_lock(&d->mu);
        if (!d->ingest_q && !atomic_load(&d->stopping))
          cv_wait_until(&d->src_cv, &d->mu, now + 50);
        pthread_mutex_unlock(&d->mu);
        continue;
      }
    }
    floe_error e2;
    floe_status ps = d->ops->poll(src, POLL_MS, &e2);
    if (ps == FLOE_EEOF) break;
    if (ps != FLOE_OK) {
      set_failed(d, "source", &e2);
      *err = e2;
      st = ps;
      break;
    }
    if (atomic_load(&d->parked_reads) > 0) srv_wake(d->srv);
  }
  /* stop: maintenance first (the final commit closes the tables) */
  atomic_store(&d->stopping, true);
  pthread_mutex_lock(&d->mu);
  pthread_cond_broadcast(&d->maint_cv);
  pthread_cond_broadcast(&d->aux_cv);
  while (!atomic_load(&d->maint_exited))
    cv_wait_until(&d->src_cv, &d->mu, dmn_mono_ms() + 100);
  fail_jobs(d, &d->ingest_q);
  pthread_mutex_unlock(&d->mu);
  if (src) {
    floe_error e2;
    int64_t t0 = dmn_mono_ms();
    floe_status ss = d->ops->stop(src, &e2);
    if (ss != FLOE_OK) {
      flog_write(d->log, FLOG_ERROR,
                 "final commit failed: %s (a restart resumes from the last "
                 "durable position)",
                 e2.msg);
      if (st == FLOE_OK) {
        st = ss;
        *err = e2;
      }
    } else {
      flog_write(d->log, FLOG_INFO,
                 "stopped: every table committed to Iceberg and confirmed "
                 "to the source in %lld ms; the slot stays",
                 (long long)(dmn_mono_ms() - t0));
    }
  }
  atomic_store(&d->finished, true);
  if (d->srv) srv_stop(d->srv);
  pthread_mutex_lock(&d->mu);
  pthread_cond_broadcast(&d->aux_cv);
  pthread_mutex_unlock(&d->mu);
  return st;
}

/* ---- the maintenance thread ---- */

/* Flushes one table or (qname "") every table; j->lsn = lowest durable,
 * j->snapshot_id = the one table's snapshot (-1 for every table: there is
 * no single one). */
static floe_status job_flush(dmn_daemon *d, void *src, dmn_job *j) {
  j->snapshot_id = -1;
  if (j->table[0]) {
    return d->ops->flush(src, j->schema, j->table, &j->lsn, &j->snapshot_id,
                         &j->err);
  }
  farena a;
  farena_init(&a, 8192, 0);
  dmn_source_status ss;
  floe_status st = d->ops->status(src, &a, &ss, &j->err);
  uint64_t low = UINT64_MAX;
  for (uint32_t i = 0; st == FLOE_OK && i < ss.ntables; i++) {
    char s[64], t[64];
    if (dmn_table_name_parse(ss.tables[i].name, s, t, &j->err) != FLOE_OK)
      continue;
    uint64_t lsn = 0;
    int64_t snap;
    floe_status fs = d->ops->flush(src, s, t, &lsn, &snap, &j->err);
    if (fs == FLOE_ENOTFOUND) continue; /* dropped meanwhile */
    if (fs != FLOE_OK) {
      st = ferr_prefix(&j->err, fs, "table %s", ss.tables[i].name);
      break;
    }
    if (lsn < low) low = lsn;
  }
  farena_free(&a);
  j->lsn = low == UINT64_MAX ? 0 : low;
  return st;
}

/* Memory pressure: flushes the tables holding the most memory until the
 * rest is under RELIEVE_TO of the limit. */
static void job_relieve(dmn_daemon *d, void *src, dmn_job *j) {
  farena a;
  farena_init(&a, 8192, 0);
  dmn_source_status ss;
  int64_t freed = 0;
  if (d->ops->status(src, &a, &ss, &j->err) == FLOE_OK) {
    int64_t used = 0;
    for (uint32_t i = 0; i < ss.ntables; i++) used += ss.tables[i].memory_bytes;
    int64_t before = used;
    int64_t target = (int64_t)(d->memory_limit * RELIEVE_TO);
    while (used > target) {
      int best = -1;
      for (uint32_t i = 0; i < ss.ntables; i++)
        if (ss.tables[i].memory_bytes > 0 &&
            (best < 0 ||
             ss.tables[i].memory_bytes > ss.tables[best].memory_bytes))
          best = (int)i;
      if (best < 0) break;
      char s[64], t[64];
      rpc_table_status *ts = &ss.tables[best];
      used -= ts->memory_bytes;
      ts->memory_bytes = 0;
      if (dmn_table_name_parse(ts->name, s, t, &j->err) != FLOE_OK) continue;
      uint64_t lsn;
      int64_t snap;
      floe_error e2;
      flog_write(d->log, FLOG_DEBUG, "memory: flushing %s", ts->name);
      if (d->ops->flush(src, s, t, &lsn, &snap, &e2) != FLOE_OK)
        flog_write(d->log, FLOG_WARN, "memory: flush of %s failed: %s",
                   ts->name, e2.msg);
      if (atomic_load(&d->stopping)) break;
    }
    /* what the flushes freed: a table whose memory is open transactions
     * frees nothing (they spill by themselves as they grow), and reading
     * must not stay paused waiting for it */
    freed = before - memory_used(d, src);
  }
  farena_free(&a);
  pthread_mutex_lock(&d->mu);
  d->relieve_queued = false;
  d->relieve_done++;
  d->relieve_freed = freed > 0 ? freed : 0;
  pthread_cond_broadcast(&d->src_cv);
  pthread_mutex_unlock(&d->mu);
}

static void run_maint_job(dmn_daemon *d, void *src, dmn_job *j) {
  switch (j->kind) {
  case DMN_JOB_FLUSH: {
    int64_t t0 = dmn_mono_ms();
    j->st = job_flush(d, src, j);
    if (j->st == FLOE_OK)
      flog_write(d->log, FLOG_INFO, "commit %s: durable in %lld ms",
                 j->table[0] ? j->qname : "of every table",
                 (long long)(dmn_mono_ms() - t0));
    break;
  }
  case DMN_JOB_COMPACT:
    j->st = d->ops->compact(src, j->schema, j->table,
                            (j->flags & RPC_OPTIMIZE_FORCE) != 0, &j->before,
                            &j->after, &j->err);
    if (j->st == FLOE_OK)
      flog_write(d->log, FLOG_INFO, "optimize %s: %lld -> %lld data files",
                 j->qname, (long long)j->before, (long long)j->after);
    break;
  case DMN_JOB_RELIEVE: job_relieve(d, src, j); break;
  default: j->st = ferr_set(&j->err, FLOE_EINVAL, "not a maintenance job");
  }
}

floe_status dmn_run_maintenance(dmn_daemon *d, floe_error *err) {
  (void)err;
  int64_t next_tick = 0, last_warn = 0;
  pthread_mutex_lock(&d->mu);
  while (!atomic_load(&d->stopping)) {
    void *src = atomic_load(&d->src);
    if (!src) {
      cv_wait_until(&d->maint_cv, &d->mu, dmn_mono_ms() + 200);
      continue;
    }
    dmn_job *j = pop_job(&d->maint_q);
    if (j) {
      pthread_mutex_unlock(&d->mu);
      run_maint_job(d, src, j);
      dmn_job_finish(d, j);
      pthread_mutex_lock(&d->mu);
      continue;
    }
    int64_t now = dmn_mono_ms();
    if (now >= next_tick) {
      pthread_mutex_unlock(&d->mu);
      floe_error e2;
      int64_t next = now + 1000;
      if (d->ops->tick(src, now, &next, &e2) != FLOE_OK &&
          now - last_warn > 10000) {
        last_warn = now;
        flog_write(d->log, FLOG_WARN, "maintenance: %s", e2.msg);
      }
      /* the engine says when; never sleep long: new tables need ticks */
      now = dmn_mono_ms();
      next_tick = next < now + 1000 ? next : now + 1000;
      if (next_tick < now + 1) next_tick = now + 1;
      pthread_mutex_lock(&d->mu);
      continue;
    }
    if (!d->maint_q) cv_wait_until(&d->maint_cv, &d->mu, next_tick);
  }
  fail_jobs(d, &d->maint_q);
  atomic_store(&d->maint_exited, true);
  pthread_cond_broadcast(&d->src_cv);
  pthread_mutex_unlock(&d->mu);
  return FLOE_OK;
}

/* ---- the server and aux threads ---- */

floe_status dmn_run_server(dmn_daemon *d, floe_error *err) {
  floe_status st = srv_run(d->srv, err);
  if (st != FLOE_OK) {
    flog_write(d->log, FLOG_ERROR, "rpc server: %s", err->msg);
    dmn_request_stop(d, "the RPC server failed");
  }
  return st;
}

floe_status dmn_run_aux(dmn_daemon *d, floe_error *err) {
  (void)err;
  pthread_mutex_lock(&d->mu);
  while (!atomic_load(&d->finished)) {
    void *src = atomic_load(&d->src);
    if (!src || d->lsn_req == d->lsn_done || !d->ops->wal_lsn) {
      if (!src && d->lsn_req != d->lsn_done && atomic_load(&d->stopping)) {
        d->lsn_st = ferr_set(&d->lsn_err, FLOE_EIO, "the daemon is stopping");
        d->lsn_done = d->lsn_req;
        if (d->srv) srv_wake(d->srv);
      }
      cv_wait_until(&d->aux_cv, &d->mu, dmn_mono_ms() + 500);
      continue;
    }
    uint64_t target = d->lsn_req;
    pthread_mutex_unlock(&d->mu);
    uint64_t lsn = 0;
    floe_error e2;
    ferr_clear(&e2);
    floe_status st = d->ops->wal_lsn(src, &lsn, &e2);
    pthread_mutex_lock(&d->mu);
    d->lsn_value = lsn;
    d->lsn_st = st;
    d->lsn_err = e2;
    d->lsn_done = target;
    if (d->srv) srv_wake(d->srv);
  }
  pthread_mutex_unlock(&d->mu);
  return FLOE_OK;
}
