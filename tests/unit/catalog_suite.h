/*
 * Backend-independent catalog tests, included by tests/unit/test_catalog.c
 * (filesystem, SQLite) and tests/pg/catalog_pg.c (Postgres). Each test gets
 * a cat_env naming how to open fresh handles on one catalog; the metadata
 * "files" are JSON text (the catalog treats them as bytes).
 */
#ifndef FLOE_TESTS_CATALOG_SUITE_H
#define FLOE_TESTS_CATALOG_SUITE_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "iceberg/catalog.h"

typedef struct cat_env {
  char uri[512];
  char wh[256];    /* warehouse directory */
  const char *whp; /* what to pass as warehouse (NULL for file catalogs) */
  char name[64];   /* catalog name, NULL-equivalent when empty */
  bool sql;
} cat_env;

static ice_catalog *env_open(const cat_env *e) {
  ice_catalog *c = NULL;
  floe_error err;
  floe_status st =
      ice_catalog_open(e->uri, e->whp, e->name[0] ? e->name : NULL, &c, &err);
  if (st != FLOE_OK) fail_msg("open %s: %s", e->uri, err.msg);
  return c;
}

/* Number of *.metadata.json files of ns.tbl. */
static int count_metadata(const cat_env *e, const char *ns, const char *tbl) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/%s/%s/metadata", e->wh, ns, tbl);
  DIR *d = opendir(dir);
  if (!d) return 0;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t l = strlen(de->d_name);
    if (de->d_name[0] != '.' && l > 14 &&
        strcmp(de->d_name + l - 14, ".metadata.json") == 0)
      n++;
  }
  closedir(d);
  return n;
}

static bool path_exists(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0;
}

static void md_text(char *buf, size_t n, const cat_env *e, const char *ns,
                    const char *tbl, int gen) {
  snprintf(buf, n,
           "{\"format-version\":3,\"location\":\"%s/%s/%s\",\"gen\":%d}", e->wh,
           ns, tbl, gen);
}

static void expect_load(ice_catalog *c, const char *ns, const char *tbl,
                        const char *want_md, const char *want_loc) {
  ice_catalog_table t;
  floe_error err;
  floe_status st = ice_catalog_load(c, ns, tbl, &t, &err);
  if (st != FLOE_OK) fail_msg("load %s.%s: %s", ns, tbl, err.msg);
  assert_int_equal(t.metadata.len, strlen(want_md));
  assert_memory_equal(t.metadata.data, want_md, strlen(want_md));
  if (want_loc) assert_string_equal(t.metadata_location, want_loc);
  ice_catalog_table_free(&t);
}

/* create / load / commit / list / drop, and the errors around them */
static void suite_basic(const cat_env *e) {
  ice_catalog *c = env_open(e);
  floe_error err;
  char md1[512], md2[512], loc[512];
  md_text(md1, sizeof md1, e, "public", "orders", 1);
  md_text(md2, sizeof md2, e, "public", "orders", 2);

  ice_catalog_table t;
  assert_int_equal(ice_catalog_load(c, "public", "orders", &t, &err),
                   FLOE_ENOTFOUND);
  assert_non_null(strstr(err.msg, "public.orders"));
  assert_null(t.metadata_location);

  char *l1 = NULL, *l2 = NULL, *tl = NULL;
  assert_int_equal(ice_catalog_table_location(c, "public", "orders", &tl, &err),
                   FLOE_OK);
  snprintf(loc, sizeof loc, "%s/public/orders", e->wh);
  assert_string_equal(tl, loc);
  free(tl);

  assert_int_equal(
      ice_catalog_create(c, "public", "orders", md1, strlen(md1), &l1, &err),
      FLOE_OK);
  snprintf(loc, sizeof loc, "%s/public/orders/metadata/", e->wh);
  assert_true(strncmp(l1, loc, strlen(loc)) == 0);
  assert_true(path_exists(l1));
  expect_load(c, "public", "orders", md1, l1);
  assert_int_equal(
      ice_catalog_create(c, "public", "orders", md2, strlen(md2), NULL, &err),
      FLOE_EEXIST);
  assert_non_null(strstr(err.msg, "already exists"));
  expect_load(c, "public", "orders", md1, l1);
  assert_int_equal(count_metadata(e, "public", "orders"), 1);

  assert_int_equal(ice_catalog_load(c, "public", "orders", &t, &err), FLOE_OK);
  int64_t v1 = t.version;
  ice_catalog_table_free(&t);
  assert_int_equal(ice_catalog_commit(c, "public", "orders", l1, md2,
                                      strlen(md2), &l2, &err),
                   FLOE_OK);
  assert_string_not_equal(l1, l2);
  expect_load(c, "public", "orders", md2, l2);
  assert_int_equal(ice_catalog_load(c, "public", "orders", &t, &err), FLOE_OK);
  assert_int_equal(t.version, v1 + 1);
  ice_catalog_table_free(&t);
  /* the old file stays (snapshots' metadata log points at it) */
  assert_true(path_exists(l1));

  /* commit to a missing table */
  assert_int_equal(
      ice_catalog_commit(c, "public", "nope", l2, md2, strlen(md2), NULL, &err),
      e->sql ? FLOE_ENOTFOUND : FLOE_EINVAL);

  /* listings */
  assert_int_equal(
      ice_catalog_create(c, "public", "items", md1, strlen(md1), NULL, &err),
      FLOE_OK);
  assert_int_equal(
      ice_catalog_create(c, "sales", "q1", md1, strlen(md1), NULL, &err),
      FLOE_OK);
  ice_names names;
  assert_int_equal(ice_catalog_list_tables(c, "public", &names, &err), FLOE_OK);
  assert_int_equal(names.n, 2);
  assert_string_equal(names.v[0], "items");
  assert_string_equal(names.v[1], "orders");
  ice_names_free(&names);
  assert_int_equal(ice_catalog_list_namespaces(c, &names, &err), FLOE_OK);
  assert_int_equal(names.n, 2);
  assert_string_equal(names.v[0], "public");
  assert_string_equal(names.v[1], "sales");
  ice_names_free(&names);
  assert_int_equal(ice_catalog_list_tables(c, "nosuch", &names, &err),
                   FLOE_ENOTFOUND);
  assert_non_null(strstr(err.msg, "namespace nosuch"));
  assert_int_equal(names.n, 0);

  /* drop without purge keeps data (SQL); a Hadoop table is its directory */
  char data[600];
  snprintf(data, sizeof data, "%s/public/items/data/x.parquet", e->wh);
  assert_int_equal(
      fstore_put(c->store, "public/items/data/x.parquet", "PAR1", 4, &err),
      FLOE_OK);
  assert_int_equal(ice_catalog_drop(c, "public", "items", false, &err),
                   FLOE_OK);
  assert_int_equal(ice_catalog_load(c, "public", "items", &t, &err),
                   FLOE_ENOTFOUND);
  assert_int_equal(path_exists(data), e->sql);
  assert_int_equal(ice_catalog_drop(c, "public", "items", false, &err),
                   FLOE_ENOTFOUND);
  /* drop with purge removes every file and the directories */
  assert_int_equal(
      fstore_put(c->store, "public/orders/data/y.parquet", "PAR1", 4, &err),
      FLOE_OK);
  assert_int_equal(ice_catalog_drop(c, "public", "orders", true, &err),
                   FLOE_OK);
  snprintf(loc, sizeof loc, "%s/public/orders", e->wh);
  assert_false(path_exists(loc));
  assert_false(path_exists(l1));
  assert_int_equal(ice_catalog_list_tables(c, "public", &names, &err),
                   e->sql ? FLOE_ENOTFOUND : FLOE_OK);
  assert_int_equal(names.n, 0);
  ice_names_free(&names);

  /* a dropped name can be created again */
  assert_int_equal(
      ice_catalog_create(c, "public", "orders", md2, strlen(md2), NULL, &err),
      FLOE_OK);
  expect_load(c, "public", "orders", md2, NULL);

  /* names */
  assert_int_equal(ice_catalog_create(c, "a/b", "t", md1, 1, NULL, &err),
                   FLOE_EINVAL);
  assert_int_equal(ice_catalog_create(c, "ns", "..", md1, 1, NULL, &err),
                   FLOE_EINVAL);
  assert_int_equal(ice_catalog_create(c, "ns", "", md1, 1, NULL, &err),
                   FLOE_EINVAL);
  assert_int_equal(ice_catalog_create(c, "a.b", "t", md1, 1, NULL, &err),
                   FLOE_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "nested namespaces"));
  assert_int_equal(ice_catalog_load(c, "ns", "x\ny", &t, &err), FLOE_EINVAL);

  free(l1);
  free(l2);
  ice_catalog_free(c);
}

/* Two commits based on the same version: one wins, the other conflicts
 * without a trace, then succeeds after reloading. */
static void suite_conflict(const cat_env *e) {
  ice_catalog *a = env_open(e), *b = env_open(e);
  floe_error err;
  char md1[512], mda[512], mdb[512];
  md_text(md1, sizeof md1, e, "public", "t", 1);
  md_text(mda, sizeof mda, e, "public", "t", 2);
  md_text(mdb, sizeof mdb, e, "public", "t", 3);
  assert_int_equal(
      ice_catalog_create(a, "public", "t", md1, strlen(md1), NULL, &err),
      FLOE_OK);
  ice_catalog_table ta, tb;
  assert_int_equal(ice_catalog_load(a, "public", "t", &ta, &err), FLOE_OK);
  assert_int_equal(ice_catalog_load(b, "public", "t", &tb, &err), FLOE_OK);
  assert_string_equal(ta.metadata_location, tb.metadata_location);

  char *la = NULL, *lb = NULL;
  assert_int_equal(ice_catalog_commit(a, "public", "t", ta.metadata_location,
                                      mda, strlen(mda), &la, &err),
                   FLOE_OK);
  assert_int_equal(ice_catalog_commit(b, "public", "t", tb.metadata_location,
                                      mdb, strlen(mdb), &lb, &err),
                   FLOE_ECONFLICT);
  assert_null(lb);
  /* nothing of the loser is visible */
  expect_load(b, "public", "t", mda, la);
  assert_int_equal(count_metadata(e, "public", "t"), 2);

  /* reload and retry */
  ice_catalog_table_free(&tb);
  assert_int_equal(ice_catalog_load(b, "public", "t", &tb, &err), FLOE_OK);
  assert_int_equal(ice_catalog_commit(b, "public", "t", tb.metadata_location,
                                      mdb, strlen(mdb), &lb, &err),
                   FLOE_OK);
  expect_load(a, "public", "t", mdb, lb);
  assert_int_equal(count_metadata(e, "public", "t"), 3);
  /* a commit based on a version two behind conflicts too */
  assert_int_equal(ice_catalog_commit(a, "public", "t", ta.metadata_location,
                                      mda, strlen(mda), NULL, &err),
                   FLOE_ECONFLICT);
  assert_int_equal(count_metadata(e, "public", "t"), 3);
  ice_catalog_table_free(&ta);
  ice_catalog_table_free(&tb);
  free(la);
  free(lb);
  ice_catalog_free(a);
  ice_catalog_free(b);
}

/* Processes racing for real: NPROC handles load the same version, wait at a
 * barrier, and commit at once. Exactly one wins. */
#define NPROC 4
static void suite_race(const cat_env *e) {
  floe_error err;
  char md[512];
  md_text(md, sizeof md, e, "public", "race", 0);
  ice_catalog *c = env_open(e);
  assert_int_equal(
      ice_catalog_create(c, "public", "race", md, strlen(md), NULL, &err),
      FLOE_OK);
  ice_catalog_free(c);
  for (int round = 0; round < 3; round++) {
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pids[NPROC];
    for (int i = 0; i < NPROC; i++) {
      pids[i] = fork();
      assert_true(pids[i] >= 0);
      if (pids[i] == 0) {
        close(go[1]);
        ice_catalog *h = NULL;
        floe_error ce;
        ice_catalog_table t;
        if (ice_catalog_open(e->uri, e->whp, e->name[0] ? e->name : NULL, &h,
                             &ce) != FLOE_OK ||
            ice_catalog_load(h, "public", "race", &t, &ce) != FLOE_OK)
          _exit(3);
        char b;
        if (read(go[0], &b, 1) != 1) _exit(4);
        char mine[512];
        md_text(mine, sizeof mine, e, "public", "race", 100 * round + i + 1);
        floe_status st =
            ice_catalog_commit(h, "public", "race", t.metadata_location, mine,
                               strlen(mine), NULL, &ce);
        if (st != FLOE_OK && st != FLOE_ECONFLICT)
          fprintf(stderr, "child %d: %s\n", i, ce.msg);
        ice_catalog_table_free(&t);
        ice_catalog_free(h);
        _exit(st == FLOE_OK ? 0 : st == FLOE_ECONFLICT ? 1 : 2);
      }
    }
    close(go[0]);
    usleep(200 * 1000); /* let every child load before the start */
    char ones[NPROC];
    memset(ones, 'g', sizeof ones);
    assert_int_equal(write(go[1], ones, sizeof ones), NPROC);
    close(go[1]);
    int won = 0, lost = 0, winner = -1;
    for (int i = 0; i < NPROC; i++) {
      int status;
      assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
      assert_true(WIFEXITED(status));
      int code = WEXITSTATUS(status);
      if (code == 0) {
        won++;
        winner = i;
      } else if (code == 1) {
        lost++;
      } else {
        fail_msg("child %d exited %d", i, code);
      }
    }
    assert_int_equal(won, 1);
    assert_int_equal(lost, NPROC - 1);
    assert_int_equal(count_metadata(e, "public", "race"), round + 2);
    c = env_open(e);
    md_text(md, sizeof md, e, "public", "race", 100 * round + winner + 1);
    expect_load(c, "public", "race", md, NULL);
    ice_catalog_free(c);
  }
}

/* Rename where cheap (SQL); the filesystem catalog refuses. */
static void suite_rename(const cat_env *e) {
  ice_catalog *c = env_open(e);
  floe_error err;
  char md[512];
  md_text(md, sizeof md, e, "public", "r1", 1);
  char *l1 = NULL;
  assert_int_equal(
      ice_catalog_create(c, "public", "r1", md, strlen(md), &l1, &err),
      FLOE_OK);
  assert_int_equal(
      ice_catalog_create(c, "public", "r2", md, strlen(md), NULL, &err),
      FLOE_OK);
  if (!e->sql) {
    assert_int_equal(
        ice_catalog_rename(c, "public", "r1", "public", "r3", &err),
        FLOE_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "cannot rename"));
  } else {
    assert_int_equal(
        ice_catalog_rename(c, "public", "r1", "public", "r2", &err),
        FLOE_EEXIST);
    assert_non_null(strstr(err.msg, "public.r2 already exists"));
    assert_int_equal(ice_catalog_rename(c, "public", "r1", "other", "r3", &err),
                     FLOE_OK);
    ice_catalog_table t;
    assert_int_equal(ice_catalog_load(c, "public", "r1", &t, &err),
                     FLOE_ENOTFOUND);
    /* the files stay where they were */
    expect_load(c, "other", "r3", md, l1);
    assert_int_equal(ice_catalog_rename(c, "public", "r1", "x", "y", &err),
                     FLOE_ENOTFOUND);
    /* commits after a rename land beside the old files */
    char *l2 = NULL;
    assert_int_equal(
        ice_catalog_commit(c, "other", "r3", l1, md, strlen(md), &l2, &err),
        FLOE_OK);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/public/r1/metadata/00001-", e->wh);
    assert_true(strncmp(l2, dir, strlen(dir)) == 0);
    /* purge of a renamed table deletes its real location */
    assert_int_equal(ice_catalog_drop(c, "other", "r3", true, &err), FLOE_OK);
    snprintf(dir, sizeof dir, "%s/public/r1", e->wh);
    assert_false(path_exists(dir));
    free(l2);
  }
  free(l1);
  ice_catalog_free(c);
}

#endif
