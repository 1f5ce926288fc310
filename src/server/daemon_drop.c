/* `floe drop` and table purges: what removes a mirror's traces. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iceberg/catalog.h"
#include "pg/slot.h"
#include "server/client.h"
#include "server/daemon_int.h"

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw) {
  (void)sb, (void)ftw;
  return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT
             ? 0
             : -1;
}

/* rm -r dir; a missing dir is fine. */
static floe_status remove_tree(const char *dir, floe_error *err) {
  if (access(dir, F_OK) != 0) return FLOE_OK;
  if (nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    return ferr_set(err, FLOE_EIO, "remove %s: %s", dir, strerror(errno));
  return FLOE_OK;
}

/* The Iceberg table and local state of schema.table. */
static floe_status purge(const char *catalog_uri, const char *catalog_wh,
                         const char *warehouse, const char *schema,
                         const char *table, floe_error *err) {
  ice_catalog *cat;
  FLOE_TRY(ice_catalog_open(catalog_uri, catalog_wh, NULL, &cat, err));
  floe_status st = ice_catalog_drop(cat, schema, table, true, err);
  ice_catalog_free(cat);
  if (st == FLOE_ENOTFOUND) st = FLOE_OK; /* never committed */
  if (st != FLOE_OK) return st;
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s/.floe/%s.%s", warehouse, schema, table) >=
      (int)sizeof dir)
    return ferr_set(err, FLOE_EINVAL, "state directory path too long");
  return remove_tree(dir, err);
}

floe_status dmn_purge_table(dmn_daemon *d, const char *schema,
                            const char *table, floe_error *err) {
  return purge(d->catalog_uri, d->catalog_wh, d->warehouse, schema, table, err);
}

floe_status dmn_drop(const cfg_daemon *c, bool purge_tables, const flog *log,
                     floe_error *err) {
  FLOE_TRY(cfg_check(c, 1, err));
  const char *name = c->name ? c->name : "floe";
  char wh[PATH_MAX];
  if (!realpath(c->warehouse, wh))
    return ferr_set(err, FLOE_ENOTFOUND, "warehouse %s: %s", c->warehouse,
                    strerror(errno));
  char *rpath;
  FLOE_TRY(dmn_registry_path(wh, name, &rpath, err));
  dmn_registry reg;
  bool found;
  floe_status st = dmn_registry_load(rpath, &reg, &found, err);
  free(rpath);
  if (st == FLOE_OK && !found)
    st = ferr_set(err, FLOE_ENOTFOUND,
                  "no mirror '%s' in %s (no registry at %s; --name picks "
                  "another mirror)",
                  name, wh, reg.path);
  /* a running daemon holds the slot: refuse rather than fail halfway */
  char sock[108];
  if (st == FLOE_OK) {
    if (c->socket)
      snprintf(sock, sizeof sock, "%s", c->socket);
    else
      st = cfg_socket_default(name, sock, sizeof sock, err);
  }
  if (st == FLOE_OK) {
    rpc_client *cl;
    floe_error e2;
    if (rpc_client_connect(sock, "floe-drop", 2000, &cl, &e2) == FLOE_OK) {
      rpc_client_close(cl);
      st = ferr_set(err, FLOE_EEXIST,
                    "the daemon of mirror '%s' is running (socket %s): stop "
                    "it first (SIGTERM or Ctrl-C)",
                    name, sock);
    }
  }
  const char *conninfo = c->source ? c->source : reg.source;
  if (st == FLOE_OK && !conninfo)
    st =
        ferr_set(err, FLOE_EINVAL, "the registry has no source: give --source");
  pgx_conn *pg = NULL;
  if (st == FLOE_OK) st = pgx_conn_open(conninfo, PGX_CONN_SQL, &pg, err);
  char obj[PGX_NAME_MAX];
  if (st == FLOE_OK) st = pgx_mirror_object_name(name, obj, err);
  bool dropped = false;
  if (st == FLOE_OK) st = pgx_slot_drop(pg, obj, &dropped, err);
  if (st == FLOE_OK)
    flog_write(log, FLOG_INFO, "replication slot %s %s", obj,
               dropped ? "dropped" : "was not there");
  if (st == FLOE_OK) st = pgx_pub_drop(pg, obj, err);
  if (st == FLOE_OK) flog_write(log, FLOG_INFO, "publication %s dropped", obj);
  pgx_conn_close(pg);
  if (st == FLOE_OK && purge_tables) {
    const char *cat = reg.catalog ? reg.catalog : "fs";
    const char *uri = wh, *cwh = NULL;
    if (strncmp(cat, "sqlite:", 7) == 0)
      uri = cat, cwh = wh;
    else if (strncmp(cat, "postgres:", 9) == 0)
      uri = cat + 9, cwh = wh;
    for (int i = 0; st == FLOE_OK && i < reg.ntables; i++) {
      char s[64], t[64];
      st = dmn_table_name_parse(reg.tables[i].name, s, t, err);
      if (st == FLOE_OK) st = purge(uri, cwh, wh, s, t, err);
      if (st == FLOE_OK)
        flog_write(log, FLOG_INFO, "table %s: Iceberg table and state removed",
                   reg.tables[i].name);
    }
  }
  if (st == FLOE_OK && unlink(reg.path) != 0 && errno != ENOENT)
    st = ferr_set(err, FLOE_EIO, "remove %s: %s", reg.path, strerror(errno));
  if (st == FLOE_OK)
    flog_write(log, FLOG_INFO, "mirror '%s' dropped%s", name,
               purge_tables ? " with its Iceberg tables"
                            : "; its Iceberg tables stay in the warehouse");
  dmn_registry_free(&reg);
  return st;
}
