/*
 * Iceberg catalogs: where a table's current metadata file is recorded, and
 * the compare-and-swap that makes a commit atomic.
 *
 * A catalog stores and loads metadata FILES as opaque bytes (the JSON text
 * ice_metadata_write produces); parsing is the caller's business. A table is
 * named by a namespace and a table name ("public", "orders"); its location is
 * <warehouse>/<namespace>/<table>, its metadata files live under
 * <location>/metadata/ and its data under <location>/data/. Locations are
 * absolute local paths.
 *
 * Three implementations behind one vtable:
 *   - filesystem (Hadoop layout, catalog_fs.c): metadata/vN.metadata.json
 *     plus metadata/version-hint.text; commit = put-if-absent of v(N+1).
 *   - SQL (catalog_sql.c), the tables of Iceberg Java's JdbcCatalog
 *     (iceberg_tables, iceberg_namespace_properties) in SQLite or Postgres;
 *     metadata files <VVVVV>-<uuid>.metadata.json; commit = UPDATE ... WHERE
 *     metadata_location = <expected>.
 *
 * Commit contract (every implementation): commit(expected, bytes) succeeds
 * only when the table's current metadata location is still `expected`. When
 * another committer won, it fails with FLOE_ECONFLICT and nothing it wrote is
 * visible: the caller reloads, re-applies its change and retries.
 *
 * Names: a namespace or table name is 1..255 bytes, without '/', '\\',
 * control characters, or a leading '.'; a namespace is one level (a '.' in
 * it is FLOE_EUNSUPPORTED, as nested namespaces are not supported).
 *
 * Threads: an ice_catalog (and its database connection) is used by one
 * thread at a time; separate handles (in any number of processes) may commit
 * to the same tables concurrently.
 */
#ifndef FLOE_ICEBERG_CATALOG_H
#define FLOE_ICEBERG_CATALOG_H

#include <stdbool.h>
#include <stdint.h>

#include "storage/store.h"
#include "util/buf.h"

/* Metadata files larger than this are refused on load (a bad pointer or a
 * hostile file must not make us allocate without bound). */
#define ICE_CATALOG_MAX_METADATA ((size_t)256 << 20)
#define ICE_CATALOG_NAME_MAX 255
#define ICE_CATALOG_DEFAULT_NAME "floe"

typedef struct ice_catalog ice_catalog;

/* A table's current metadata file, as load returns it. */
typedef struct ice_catalog_table {
  char *metadata_location; /* absolute path of the file, malloc'd */
  int64_t version; /* N of vN.metadata.json or V of V-<uuid>.metadata.json;
                      -1 when the file name carries none */
  fbuf metadata;   /* the file's bytes */
} ice_catalog_table;

/* Frees what t holds (not t itself) and leaves it empty; NULL is a no-op. */
void ice_catalog_table_free(ice_catalog_table *t);

/* A sorted (byte order), duplicate-free list of names. */
typedef struct ice_names {
  int n, cap;
  char **v; /* each malloc'd */
} ice_names;

void ice_names_free(ice_names *names);
/* Appends a copy of s (backends use it; the front door sorts). */
floe_status ice_names_push(ice_names *names, const char *s, floe_error *err);

typedef struct ice_catalog_ops {
  floe_status (*create)(ice_catalog *c, const char *ns, const char *name,
                        const void *md, size_t n, char **location,
                        floe_error *err);
  floe_status (*load)(ice_catalog *c, const char *ns, const char *name,
                      ice_catalog_table *out, floe_error *err);
  floe_status (*commit)(ice_catalog *c, const char *ns, const char *name,
                        const char *expected, const void *md, size_t n,
                        char **location, floe_error *err);
  /* Append names (any order, duplicates allowed) to out. */
  floe_status (*list_tables)(ice_catalog *c, const char *ns, ice_names *out,
                             floe_error *err);
  floe_status (*list_namespaces)(ice_catalog *c, ice_names *out,
                                 floe_error *err);
  floe_status (*drop)(ice_catalog *c, const char *ns, const char *name,
                      bool purge, floe_error *err);
  /* NULL when the backend cannot rename cheaply. */
  floe_status (*rename)(ice_catalog *c, const char *ns, const char *name,
                        const char *to_ns, const char *to_name,
                        floe_error *err);
  void (*free)(ice_catalog *c);
} ice_catalog_ops;

/* Implementations embed this first. */
struct ice_catalog {
  const ice_catalog_ops *ops;
  const char *kind; /* "file", "sqlite", "postgresql" (static) */
  char *warehouse;  /* absolute directory, no trailing '/', owned */
  fstore *store;    /* rooted at warehouse, owned */
};

/*
 * Opens a catalog from a URI:
 *   "file:/path/warehouse", "file:///path/warehouse", "/path/warehouse" or a
 *       relative path: the filesystem catalog; warehouse must be NULL or the
 *       same directory.
 *   "sqlite:/path/catalog.db" (or "sqlite:relative.db", "sqlite:///abs.db"):
 *       SQLite; the file is created when missing.
 *   "postgresql://..." / "postgres://..." or a libpq conninfo
 *       ("host=... dbname=..."): Postgres.
 * SQL catalogs need warehouse (a directory, "file:" prefix allowed; created
 * when missing) and take name as the catalog_name column (NULL: "floe");
 * they create their tables when missing. Caller frees with ice_catalog_free.
 */
floe_status ice_catalog_open(const char *uri, const char *warehouse,
                             const char *name, ice_catalog **out,
                             floe_error *err);
void ice_catalog_free(ice_catalog *c);

/* Backend constructors (ice_catalog_open picks one). dir/warehouse must be
 * absolute. */
floe_status ice_catalog_fs_open(const char *dir, ice_catalog **out,
                                floe_error *err);
floe_status ice_catalog_sqlite_open(const char *path, const char *warehouse,
                                    const char *name, ice_catalog **out,
                                    floe_error *err);
floe_status ice_catalog_pg_open(const char *conninfo, const char *warehouse,
                                const char *name, ice_catalog **out,
                                floe_error *err);

/* "<warehouse>/<ns>/<name>", the location a new table's metadata must carry.
 * *out is malloc'd. */
floe_status ice_catalog_table_location(const ice_catalog *c, const char *ns,
                                       const char *name, char **out,
                                       floe_error *err);

/* Creates the table with md (its first metadata file). FLOE_EEXIST when it
 * exists. *location (optional, malloc'd) gets the metadata file's path. */
floe_status ice_catalog_create(ice_catalog *c, const char *ns, const char *name,
                               const void *md, size_t n, char **location,
                               floe_error *err);
/* The current metadata. FLOE_ENOTFOUND when there is no such table. On
 * failure out is left empty. */
floe_status ice_catalog_load(ice_catalog *c, const char *ns, const char *name,
                             ice_catalog_table *out, floe_error *err);
/* Makes md the current metadata if the current metadata location is still
 * expected (from load). FLOE_ECONFLICT when another commit won (nothing of
 * this one is visible), FLOE_ENOTFOUND when the table is gone. *location
 * (optional, malloc'd) gets the new file's path. */
floe_status ice_catalog_commit(ice_catalog *c, const char *ns, const char *name,
                               const char *expected, const void *md, size_t n,
                               char **location, floe_error *err);
/* Tables of ns. FLOE_ENOTFOUND when the namespace does not exist. */
floe_status ice_catalog_list_tables(ice_catalog *c, const char *ns,
                                    ice_names *out, floe_error *err);
floe_status ice_catalog_list_namespaces(ice_catalog *c, ice_names *out,
                                        floe_error *err);
/* Removes the table from the catalog; purge also deletes every file under
 * its location. The filesystem catalog always deletes the table directory
 * (a Hadoop table is its directory). FLOE_ENOTFOUND when missing. */
floe_status ice_catalog_drop(ice_catalog *c, const char *ns, const char *name,
                             bool purge, floe_error *err);
/* Renames within the catalog (files stay where they are, as in Java).
 * FLOE_EUNSUPPORTED for the filesystem catalog, FLOE_EEXIST when the target
 * exists, FLOE_ENOTFOUND when the source does not. */
floe_status ice_catalog_rename(ice_catalog *c, const char *ns, const char *name,
                               const char *to_ns, const char *to_name,
                               floe_error *err);

/* ---- on top of metadata.h (catalog_md.c): parsed metadata in and out ----
 *
 * Files are written as Iceberg Java's TableMetadataParser writes them
 * (compact JSON); gzip-compressed files (Java's
 * write.metadata.compression-codec=gzip) are inflated on load. The caller
 * builds the new metadata from the loaded one, including its metadata-log
 * entry for the file it replaces (Java's addPreviousFile), and on
 * FLOE_ECONFLICT reloads and rebuilds. */
struct ice_metadata;

/* md->location must be ice_catalog_table_location(ns, name). */
floe_status ice_catalog_create_table(ice_catalog *c, const char *ns,
                                     const char *name,
                                     const struct ice_metadata *md,
                                     char **metadata_location, floe_error *err);
/* *md: caller frees with ice_metadata_free; *metadata_location (malloc'd)
 * is the `expected` of the next commit. */
floe_status ice_catalog_load_table(ice_catalog *c, const char *ns,
                                   const char *name, struct ice_metadata **md,
                                   char **metadata_location, floe_error *err);
floe_status ice_catalog_commit_table(ice_catalog *c, const char *ns,
                                     const char *name, const char *expected,
                                     const struct ice_metadata *md,
                                     char **metadata_location, floe_error *err);

/* Checks a namespace / table name against the rules above. */
floe_status ice_catalog_check_name(const char *what, const char *s,
                                   bool is_namespace, floe_error *err);

/* ---- helpers shared by the implementations ---- */

/* Maps an absolute path (or "file:" URI) under the warehouse to its store
 * key (malloc'd). FLOE_EUNSUPPORTED when it lies outside the warehouse. */
floe_status ice_catalog_key(const ice_catalog *c, const char *path, char **out,
                            floe_error *err);
/* Deletes every object under key prefix dir ("ns/tbl"), then removes the
 * directories left empty. */
floe_status ice_catalog_purge(ice_catalog *c, const char *dir, floe_error *err);
/* Fills the common part of c (warehouse copy, store). */
floe_status ice_catalog_init_base(ice_catalog *c, const ice_catalog_ops *ops,
                                  const char *kind, const char *warehouse,
                                  floe_error *err);
void ice_catalog_free_base(ice_catalog *c);

#endif
