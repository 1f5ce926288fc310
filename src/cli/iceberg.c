/* `floe iceberg inspect | scan`. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/rows.h"
#include "iceberg/table.h"
#include "server/daemon.h"

static const char iceberg_help[] =
    "usage: floe iceberg <subcommand> [options]\n"
    "\n"
    "Subcommands:\n"
    "  inspect   describe an Iceberg table: snapshots, live files, row\n"
    "            counts, schemas, partition spec, properties\n"
    "  scan      print the live rows of an Iceberg table as CSV or JSON lines\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help and exit\n"
    "\n"
    "Run 'floe iceberg <subcommand> --help' for the options of each.\n"
    "\n"
    "Exit status: 0 success; 1 failure (reason on stderr); 2 usage error.\n";

#define CATALOG_HELP                                                           \
  "CATALOG is a warehouse directory (the filesystem catalog: tables at\n"      \
  "<dir>/<namespace>/<table> with metadata/vN.metadata.json), a\n"             \
  "'file:' URI of one, or a SQL catalog URI ('sqlite:/path/catalog.db',\n"     \
  "'postgresql://...'), which needs --warehouse. TABLE is\n"                   \
  "<namespace>.<table>.\n"

static const char inspect_help[] =
    "usage: floe iceberg inspect [options] CATALOG TABLE\n"
    "\n"
    "Describes an Iceberg table: the metadata file location, format version\n"
    "and UUID; every snapshot (id, parent, sequence number, time, operation\n"
    "and summary, including floe.source-lsn); the live files of a snapshot\n"
    "(data files with record counts and sizes, the deletion vector of each\n"
    "with its cardinality); its row counts (records, deleted, live); every\n"
    "schema with its fields; the partition specs; the properties.\n"
    "\n" CATALOG_HELP "\n"
    "Options:\n"
    "  --warehouse DIR   warehouse directory (SQL catalogs)\n"
    "  --snapshot ID     show the files of snapshot ID (default: current)\n"
    "  -h, --help        show this help and exit\n"
    "\n"
    "Exit status: 0 success; 1 failure (no such table or snapshot,\n"
    "unreadable or corrupt metadata, manifests or Puffin files); 2 usage\n"
    "error.\n";

static const char scan_help[] =
    "usage: floe iceberg scan [options] CATALOG TABLE\n"
    "\n"
    "Prints the live rows of an Iceberg table (rows removed by deletion\n"
    "vectors left out) to standard output, data file by data file in\n"
    "manifest order. Columns are read by field id, so renamed columns,\n"
    "columns added later (their initial-default, or NULL, in older files)\n"
    "and widened types (int to long, float to double, decimal precision)\n"
    "come out in the table's schema.\n"
    "\n" CATALOG_HELP "\n"
    "Options:\n"
    "  --columns A,B     print only these columns, in this order (default:\n"
    "                    all columns of the schema)\n"
    "  --format FMT      csv (default), jsonl, parquet or arrow, as 'floe\n"
    "                    parquet cat' writes them (see its --help)\n"
    "  --snapshot ID     read snapshot ID (time travel; its own schema)\n"
    "                    instead of the current one\n"
    "  --warehouse DIR   warehouse directory (SQL catalogs)\n"
    "  -h, --help        show this help and exit\n"
    "\n"
    "Exit status: 0 success; 1 failure (no such table, snapshot or column,\n"
    "unreadable or corrupt files, position or equality delete files, which\n"
    "floe does not read); 2 usage error.\n";

static int fail(const floe_error *err) {
  fprintf(stderr, "floe: %s\n", err->msg);
  return CLI_EXIT_FAIL;
}

/* An opened table: its catalog and the table handle (table.h), with its
 * current metadata and where it came from (borrowed from tbl). */
typedef struct table {
  ice_catalog *cat;
  ice_table *tbl;
  const ice_metadata *md;
  const char *mdloc;
} table;

static void table_close(table *t) {
  ice_table_free(t->tbl);
  ice_catalog_free(t->cat);
}

static floe_status table_open(const char *uri, const char *warehouse,
                              const char *name, table *t, floe_error *err) {
  memset(t, 0, sizeof *t);
  /* A name with quotes is floe's (a mirrored table's, as floe status
   * prints it: "Sch ""1""".x); others split at the first '.', which keeps
   * any Iceberg name of any length usable. */
  char qns[64], qtab[64];
  const char *tname;
  char *ns;
  if (strchr(name, '"')) {
    FLOE_TRY(dmn_table_name_parse(name, qns, qtab, err));
    ns = strdup(qns);
    tname = qtab;
  } else {
    const char *dot = strchr(name, '.');
    if (!dot)
      return ferr_set(err, FLOE_EINVAL, "table '%s' is not <namespace>.<table>",
                      name);
    ns = strndup(name, (size_t)(dot - name));
    tname = dot + 1;
  }
  if (!ns) return ferr_nomem(err, strlen(name) + 1);
  floe_status st = ice_catalog_open(uri, warehouse, NULL, &t->cat, err);
  if (!st) st = ice_table_load(t->cat, ns, tname, &t->tbl, err);
  if (!st) {
    t->md = ice_table_metadata(t->tbl);
    t->mdloc = ice_table_metadata_location(t->tbl);
  }
  free(ns);
  if (st) table_close(t);
  return st;
}

static bool parse_id(const char *s, int64_t *out) {
  char *end;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end) return false;
  *out = v;
  return true;
}

/* ---- inspect ---- */

static floe_status put_time(fbuf *o, int64_t ms, floe_error *err) {
  time_t sec = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  struct tm tm;
  if (!gmtime_r(&sec, &tm)) return fbuf_printf(o, err, "%" PRId64, ms);
  return fbuf_printf(o, err, "%04d-%02d-%02d %02d:%02d:%02d.%03d+00",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, (int)(ms - (int64_t)sec * 1000));
}

static floe_status put_id(fbuf *o, int64_t v, floe_error *err) {
  if (v == ICE_NONE) return fbuf_printf(o, err, "-");
  return fbuf_printf(o, err, "%" PRId64, v);
}

static floe_status describe(table *t, int64_t snapshot_id, fbuf *o,
                            floe_error *err) {
  const ice_metadata *md = t->md;
  FLOE_TRY(fbuf_printf(o, err,
                       "metadata: %s\nlocation: %s\nformat-version: %d\n"
                       "table-uuid: %s\nlast-sequence-number: %" PRId64
                       "\ncurrent-snapshot-id: ",
                       t->mdloc, md->location, md->format_version,
                       md->table_uuid, md->last_sequence_number));
  FLOE_TRY(put_id(o, md->current_snapshot_id, err));
  FLOE_TRY(fbuf_printf(o, err, "\n\nsnapshots: %d\n", md->nsnapshots));
  for (int i = 0; i < md->nsnapshots; i++) {
    const ice_snapshot *s = &md->snapshots[i];
    FLOE_TRY(fbuf_printf(
        o, err, "  snapshot %" PRId64 "%s\n    parent: ", s->snapshot_id,
        s->snapshot_id == md->current_snapshot_id ? " (current)" : ""));
    FLOE_TRY(put_id(o, s->parent_id, err));
    FLOE_TRY(fbuf_printf(o, err,
                         "\n    sequence-number: %" PRId64 "\n    timestamp: ",
                         s->sequence_number));
    FLOE_TRY(put_time(o, s->timestamp_ms, err));
    const char *op = ice_kv_get(&s->summary, "operation");
    FLOE_TRY(fbuf_printf(
        o, err, "\n    operation: %s\n    schema-id: ", op ? op : "-"));
    FLOE_TRY(put_id(o, s->schema_id, err));
    FLOE_TRY(
        fbuf_printf(o, err, "\n    manifest-list: %s\n", s->manifest_list));
    for (int k = 0; k < s->summary.n; k++)
      if (strcmp(s->summary.keys[k], "operation") != 0)
        FLOE_TRY(fbuf_printf(o, err, "    %s: %s\n", s->summary.keys[k],
                             s->summary.vals[k]));
  }

  ice_plan *p = NULL;
  FLOE_TRY(ice_table_plan(t->tbl, snapshot_id, &p, err));
  int64_t records = 0, deleted = 0, bytes = 0;
  floe_status st = fbuf_printf(o, err, "\nfiles of snapshot ");
  if (!st) st = put_id(o, p->snapshot_id, err);
  if (!st) st = fbuf_printf(o, err, ": %d data files\n", p->ntasks);
  for (int i = 0; i < p->ntasks && !st; i++) {
    const ice_scan_task *tk = &p->tasks[i];
    int64_t del = tk->deletes ? (int64_t)ice_dv_cardinality(tk->deletes) : 0;
    records += tk->file.record_count;
    deleted += del;
    bytes += tk->file.file_size_in_bytes;
    st = fbuf_printf(o, err,
                     "  %s\n    records: %" PRId64 "  size: %" PRId64
                     "  sequence-number: %" PRId64 "\n",
                     tk->file.file_path, tk->file.record_count,
                     tk->file.file_size_in_bytes, tk->data_sequence_number);
    if (!st && tk->deletes)
      st = fbuf_printf(o, err, "    deletion vector: %" PRId64 " rows\n", del);
  }
  if (!st)
    st = fbuf_printf(o, err,
                     "rows: records %" PRId64 ", deleted %" PRId64
                     ", live %" PRId64 " (data bytes %" PRId64 ")\n",
                     records, deleted, records - deleted, bytes);
  ice_plan_free(p);
  FLOE_TRY(st);

  FLOE_TRY(fbuf_printf(o, err, "\nschemas: %d\n", md->nschemas));
  for (int i = 0; i < md->nschemas; i++) {
    const ice_schema *s = &md->schemas[i];
    FLOE_TRY(
        fbuf_printf(o, err, "  schema %d%s\n", (int)s->schema_id,
                    s->schema_id == md->current_schema_id ? " (current)" : ""));
    for (int k = 0; k < s->cols->nfields; k++) {
      const col_field *f = &s->cols->fields[k];
      char tn[64];
      if (f->type.id == COL_LIST) {
        char en[64];
        snprintf(tn, sizeof tn, "list<%s>",
                 ice_type_name(col_dtype_elem(f->type), en, sizeof en));
      } else {
        ice_type_name(f->type, tn, sizeof tn);
      }
      FLOE_TRY(fbuf_printf(o, err, "    %d %s %s%s", (int)f->id, f->name, tn,
                           f->nullable ? "" : " required"));
      const ice_field_ext *x = ice_schema_ext(s, f->id);
      if (x && x->initial_default)
        FLOE_TRY(
            fbuf_printf(o, err, " initial-default=%s", x->initial_default));
      if (x && x->write_default)
        FLOE_TRY(fbuf_printf(o, err, " write-default=%s", x->write_default));
      FLOE_TRY(fbuf_put_u8(o, '\n', err));
    }
  }
  FLOE_TRY(fbuf_printf(o, err, "\npartition specs: %d\n", md->nspecs));
  for (int i = 0; i < md->nspecs; i++) {
    const ice_partition_spec *s = &md->specs[i];
    FLOE_TRY(fbuf_printf(o, err, "  spec %d%s%s\n", (int)s->spec_id,
                         s->spec_id == md->default_spec_id ? " (default)" : "",
                         s->nfields ? "" : ": unpartitioned"));
    for (int k = 0; k < s->nfields; k++)
      FLOE_TRY(fbuf_printf(o, err, "    %d %s = %s(source %d)\n",
                           (int)s->fields[k].field_id, s->fields[k].name,
                           s->fields[k].transform.text,
                           (int)s->fields[k].source_id));
  }
  FLOE_TRY(fbuf_printf(o, err, "\nproperties: %d\n", md->properties.n));
  for (int k = 0; k < md->properties.n; k++)
    FLOE_TRY(fbuf_printf(o, err, "  %s: %s\n", md->properties.keys[k],
                         md->properties.vals[k]));
  return FLOE_OK;
}

/* The arguments of inspect and scan: CATALOG TABLE, and the value the
 * parse leaves in *snapshot (--snapshot; NULL: ICE_NONE) into *snap.
 * Returns -1 to go on, else the exit code. */
static int command_args(const char *cmd, const char *help, int argc,
                        char **argv, const cli_opt *opts, int nopts,
                        const char **pos, int *npos,
                        const char *const *snapshot, int64_t *snap) {
  int rc = cli_command_args(cmd, help, argc, argv, opts, nopts, pos, 2, 2, npos,
                            "CATALOG and TABLE");
  if (rc >= 0) return rc;
  *snap = ICE_NONE;
  if (*snapshot && !parse_id(*snapshot, snap))
    return cli_usage_error(cmd, "--snapshot: '%s' is not a snapshot id",
                           *snapshot);
  return -1;
}

static int cmd_inspect(int argc, char **argv) {
  static const char cmd[] = "floe iceberg inspect";
  const char *warehouse = NULL, *snapshot = NULL;
  cli_opt opts[] = {
      {"--warehouse", true, &warehouse, NULL},
      {"--snapshot", true, &snapshot, NULL},
  };
  const char *pos[2];
  int npos;
  int64_t snap;
  int rc = command_args(cmd, inspect_help, argc, argv, opts, 2, pos, &npos,
                        &snapshot, &snap);
  if (rc >= 0) return rc;
  floe_error err;
  ferr_clear(&err);
  table t;
  floe_status st = table_open(pos[0], warehouse, pos[1], &t, &err);
  if (st) return fail(&err);
  fbuf out = FBUF_INIT;
  st = describe(&t, snap, &out, &err);
  if (!st) st = cli_out_flush(&out, &err);
  if (!st) st = cli_out_end(&err);
  fbuf_free(&out);
  table_close(&t);
  return st == FLOE_OK ? CLI_EXIT_OK : fail(&err);
}

/* ---- scan ---- */

static floe_status scan_print(table *t, int64_t snap, const char **names,
                              int nnames, col_format fmt, floe_error *err) {
  ice_plan *p = NULL;
  ice_scan *s = NULL;
  int32_t *ids = NULL;
  floe_status st = ice_table_plan(t->tbl, snap, &p, err);
  if (!st && names) {
    const ice_schema *is = ice_metadata_schema(t->md, p->schema_id);
    ids = malloc((size_t)nnames * sizeof *ids);
    if (!ids) st = ferr_nomem(err, (size_t)nnames * sizeof *ids);
    for (int k = 0; k < nnames && !st; k++) {
      int i = col_schema_find(is->cols, names[k]);
      if (i < 0)
        st = ferr_set(err, FLOE_ENOTFOUND, "schema %d has no column '%s'",
                      (int)is->schema_id, names[k]);
      else
        ids[k] = is->cols->fields[i].id;
    }
  }
  if (!st) st = ice_scan_open(t->tbl, p, ids, nnames, &s, err);
  if (!st) {
    col_render_opts ro = {.format = fmt};
    st = cli_render_ice_scan(s, &ro, err);
  }
  free(ids);
  ice_scan_free(s);
  ice_plan_free(p);
  return st;
}

static int cmd_scan(int argc, char **argv) {
  static const char cmd[] = "floe iceberg scan";
  const char *warehouse = NULL, *snapshot = NULL, *columns = NULL,
             *format = NULL;
  cli_opt opts[] = {
      {"--warehouse", true, &warehouse, NULL},
      {"--snapshot", true, &snapshot, NULL},
      {"--columns", true, &columns, NULL},
      {"--format", true, &format, NULL},
  };
  const char *pos[2];
  int npos;
  int64_t snap;
  int rc = command_args(cmd, scan_help, argc, argv, opts, 4, pos, &npos,
                        &snapshot, &snap);
  if (rc >= 0) return rc;
  cli_rows rows;
  rc = cli_rows_args(cmd, format, columns, &rows);
  if (rc >= 0) return rc;
  floe_error err;
  ferr_clear(&err);
  table t;
  floe_status st = table_open(pos[0], warehouse, pos[1], &t, &err);
  if (!st) {
    st = scan_print(&t, snap, rows.names, rows.ncolumns, rows.fmt, &err);
    table_close(&t);
  }
  cli_rows_free(&rows);
  return st == FLOE_OK ? CLI_EXIT_OK : fail(&err);
}

int cli_iceberg_main(int argc, char **argv) {
  static const cli_sub subs[] = {{"inspect", cmd_inspect}, {"scan", cmd_scan}};
  return cli_subcommand("floe iceberg", iceberg_help, argc, argv, subs, 2);
}
