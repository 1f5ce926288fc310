/* `floe parquet write | cat | meta`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/args.h"
#include "cli/csv.h"
#include "cli/rows.h"
#include "cli/spec.h"
#include "columnar/text.h"
#include "parquet/parquet.h"

/* The writer gets a batch every this many rows, or sooner once the CSV text
 * behind the batch passes CLI_BATCH_BYTES, so wide rows stay bounded too. */
#define CLI_BATCH_ROWS 65536
#define CLI_BATCH_BYTES ((size_t)64 << 20)

static const char parquet_help[] =
    "usage: floe parquet <subcommand> [options]\n"
    "\n"
    "Subcommands:\n"
    "  write   convert a CSV file into a Parquet file\n"
    "  cat     print a Parquet file's rows as CSV or JSON lines\n"
    "  meta    describe a Parquet file's footer\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help and exit\n"
    "\n"
    "Run 'floe parquet <subcommand> --help' for the options of each.\n"
    "\n"
    "Exit status: 0 success; 1 failure (reason on stderr); 2 usage error.\n";

static const char write_help[] =
    "usage: floe parquet write --schema SPEC [options] IN.csv OUT.parquet\n"
    "\n"
    "Converts a CSV file into a Parquet file. IN.csv may be '-' for standard\n"
    "input. OUT.parquet is written to a temporary file next to it and renamed\n"
    "into place only once complete, so a failure never leaves a partial file\n"
    "(an existing OUT.parquet is replaced only on success).\n"
    "\n"
    "Options:\n"
    "  --schema SPEC           the columns (required; see below)\n"
    "  --compression CODEC     zstd (default), snappy, gzip or none\n"
    "  --row-group-size BYTES  target uncompressed size of a row group\n"
    "                          (default 64M); suffixes K, M, G mean KiB, MiB,\n"
    "                          GiB\n"
    "  --page-version 1|2      data page header version (default 1)\n"
    "  -h, --help              show this help and exit\n"
    "\n"
    "SPEC is a comma-separated list of name:type. A trailing '!' makes the\n"
    "column required (a NULL in it is an error). Commas inside (...) or <...>\n"
    "belong to the type.\n"
    "  types: bool, int16, int32, int64, float32, float64, decimal(P,S) with\n"
    "         P in 1..38 and S in 0..P, utf8, binary, date, time, timestamp,\n"
    "         timestamptz, uuid, list<T> with T one of the scalar types;\n"
    "         list elements may be null, list<T!> makes them required.\n"
    "  field ids: the columns get 1..n in order; list elements get n+1, n+2,\n"
    "         ... in column order. Example:\n"
    "           --schema 'id:int64!,tags:list<utf8!>,price:decimal(10,2),\n"
    "                     scores:list<float64>'\n"
    "         gives id=1, tags=2, price=3, scores=4, the tags element 5 and\n"
    "         the scores element 6.\n"
    "\n"
    "CSV input follows RFC 4180: fields separated by commas, records by LF or\n"
    "CRLF; a field in double quotes may hold commas, line breaks and \"\" "
    "(one\n"
    "quote). The first record is a header that must list the SPEC's names in\n"
    "order. An empty unquoted field is NULL; a quoted empty field \"\" is the\n"
    "empty string. Values are written as `floe parquet cat` prints them:\n"
    "  bool          true, false\n"
    "  int*, float*  decimal text; floats also NaN, Infinity, -Infinity\n"
    "  decimal       -12.30 (at most S fraction digits)\n"
    "  date          2024-02-29\n"
    "  time          13:45:00, 13:45:00.123456\n"
    "  timestamp     2024-02-29 13:45:00.5\n"
    "  timestamptz   2024-02-29 13:45:00+00 (any +HH[:MM], -HH[:MM] or Z is\n"
    "                converted to UTC)\n"
    "  utf8          the text itself\n"
    "  binary        \\x followed by hex digits: \\x00ff\n"
    "  uuid          123e4567-e89b-12d3-a456-426614174000\n"
    "  list<T>       a JSON array: [1,null,3], [\"a\",\"b\"], []\n"
    "\n"
    "Exit status: 0 success; 1 failure, e.g. bad input, whose message names\n"
    "the line and column (\"in.csv line 7, column 3 (price): ...\"); 2 usage\n"
    "error, including a bad SPEC.\n";

static const char cat_help[] =
    "usage: floe parquet cat [options] FILE\n"
    "\n"
    "Prints the rows of a Parquet file to standard output.\n"
    "\n"
    "Options:\n"
    "  --columns A,B   print only these columns, in this order (default: all)\n"
    "  --format FMT    csv (default), jsonl, parquet or arrow\n"
    "  -h, --help      show this help and exit\n"
    "\n"
    "csv: a header row with the column names, then one record per row, LF\n"
    "line ends. A field is quoted when it contains a comma, quote, CR or LF,\n"
    "is empty, or starts or ends with a space or tab; quotes inside are\n"
    "doubled. NULL is an empty unquoted field, the empty string is \"\". The\n"
    "output reads back with `floe parquet write` unchanged.\n"
    "jsonl: one JSON object per row, keys the column names, null for NULL;\n"
    "booleans, integers and floats bare; decimals (exact), NaN, Infinity and\n"
    "the other types as strings; lists as arrays.\n"
    "parquet: one Parquet file of the rows (zstd); arrow: an Arrow IPC\n"
    "stream (schema, record batches, end-of-stream marker). Both are binary:\n"
    "redirect them to a file.\n"
    "Value texts are described in 'floe parquet write --help'.\n"
    "\n"
    "Exit status: 0 success; 1 failure (unreadable or corrupt file, unknown\n"
    "column); 2 usage error.\n";

static const char meta_help[] =
    "usage: floe parquet meta FILE\n"
    "\n"
    "Prints a description of a Parquet file's footer: the schema with field\n"
    "ids, the row groups, and for each column chunk its encodings, codec,\n"
    "sizes and statistics.\n"
    "\n"
    "Options:\n"
    "  -h, --help   show this help and exit\n"
    "\n"
    "Exit status: 0 success; 1 failure (unreadable or corrupt file); 2 usage\n"
    "error.\n";

static int fail(const floe_error *err) {
  fprintf(stderr, "floe: %s\n", err->msg);
  return CLI_EXIT_FAIL;
}

/* ---- write ---- */

/* "64M" -> 67108864. False on junk, zero or overflow. */
static bool parse_size(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || errno || v <= 0 || s[0] == '-' || s[0] == '+') return false;
  int shift = 0;
  if (*end == 'K' || *end == 'k')
    shift = 10, end++;
  else if (*end == 'M' || *end == 'm')
    shift = 20, end++;
  else if (*end == 'G' || *end == 'g')
    shift = 30, end++;
  if (*end != '\0') return false;
  if (v > (INT64_MAX >> shift)) return false;
  *out = (int64_t)v << shift;
  return true;
}

/* The output file under construction: a temporary sibling of the target. */
typedef struct out_file {
  char *tmp_path; /* owned */
  FILE *f;
} out_file;

static floe_status out_open(const char *path, out_file *o, floe_error *err) {
  size_t n = strlen(path);
  o->tmp_path = malloc(n + sizeof ".XXXXXX.tmp");
  if (!o->tmp_path) return ferr_nomem(err, n + sizeof ".XXXXXX.tmp");
  memcpy(o->tmp_path, path, n);
  memcpy(o->tmp_path + n, ".XXXXXX.tmp", sizeof ".XXXXXX.tmp");
  int fd = mkstemps(o->tmp_path, 4);
  if (fd < 0) {
    floe_status st = ferr_set(err, FLOE_EIO, "cannot create %s: %s",
                              o->tmp_path, strerror(errno));
    free(o->tmp_path);
    o->tmp_path = NULL;
    return st;
  }
  /* mkstemp makes the file 0600; give it the mode a plain create would. */
  mode_t um = umask(0);
  umask(um);
  if (fchmod(fd, 0666 & ~um) != 0 || !(o->f = fdopen(fd, "wb"))) {
    floe_status st = ferr_set(err, FLOE_EIO, "cannot set up %s: %s",
                              o->tmp_path, strerror(errno));
    close(fd);
    unlink(o->tmp_path);
    free(o->tmp_path);
    o->tmp_path = NULL;
    return st;
  }
  return FLOE_OK;
}

/* Flushes, syncs and renames onto path. */
static floe_status out_commit(out_file *o, const char *path, floe_error *err) {
  FILE *f = o->f;
  o->f = NULL;
  bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
  int e = errno;
  if (fclose(f) != 0 && ok) {
    ok = false;
    e = errno;
  }
  if (!ok)
    return ferr_set(err, FLOE_EIO, "writing %s: %s", o->tmp_path, strerror(e));
  if (rename(o->tmp_path, path) != 0)
    return ferr_set(err, FLOE_EIO, "cannot rename %s to %s: %s", o->tmp_path,
                    path, strerror(errno));
  free(o->tmp_path);
  o->tmp_path = NULL;
  return FLOE_OK;
}

/* Removes whatever is left of an uncommitted output. */
static void out_abort(out_file *o) {
  if (o->f) fclose(o->f);
  if (o->tmp_path) {
    unlink(o->tmp_path);
    free(o->tmp_path);
  }
  o->f = NULL;
  o->tmp_path = NULL;
}

static floe_status check_header(const cli_csv *csv, const col_schema *s,
                                floe_error *err) {
  for (int i = 0; i < csv->nfields && i < s->nfields; i++) {
    const cli_csv_field *f = &csv->fields[i];
    const char *name = s->fields[i].name;
    if (f->len != strlen(name) ||
        memcmp(csv->data.data + f->off, name, f->len) != 0)
      return ferr_set(err, FLOE_EINVAL,
                      "%s line %lld, column %d: header says '%.*s', the "
                      "schema's column %d is '%s'",
                      csv->name, (long long)f->line, i + 1,
                      (int)(f->len > 200 ? 200 : f->len),
                      (const char *)csv->data.data + f->off, i + 1, name);
  }
  if (csv->nfields != s->nfields)
    return ferr_set(
        err, FLOE_EINVAL, "%s line %lld: header has %d columns, the schema %d",
        csv->name, (long long)csv->record_line, csv->nfields, s->nfields);
  return FLOE_OK;
}

/* Appends one CSV record to the batch's columns. */
static floe_status append_record(const cli_csv *csv, col_batch *b,
                                 floe_error *err) {
  const col_schema *s = b->schema;
  if (csv->nfields != s->nfields)
    return ferr_set(err, FLOE_EINVAL, "%s line %lld: %d fields, expected %d",
                    csv->name, (long long)csv->record_line, csv->nfields,
                    s->nfields);
  for (int i = 0; i < s->nfields; i++) {
    const cli_csv_field *f = &csv->fields[i];
    const col_field *fd = &s->fields[i];
    col_column *c = &b->cols[i];
    floe_status st;
    if (!f->quoted && f->len == 0) {
      if (!fd->nullable)
        return ferr_set(err, FLOE_EINVAL,
                        "%s line %lld, column %d (%s): NULL (empty field) in "
                        "a required column",
                        csv->name, (long long)f->line, i + 1, fd->name);
      st = col_append_null(c, err);
    } else {
      int64_t child_nulls = fd->type.id == COL_LIST ? c->child->null_count : 0;
      st = col_text_append(c, (const char *)csv->data.data + f->off, f->len,
                           err);
      if (st == FLOE_OK && fd->type.id == COL_LIST && !fd->elem_nullable &&
          c->child->null_count != child_nulls)
        st = ferr_set(err, FLOE_EINVAL,
                      "null element in a list of required elements");
    }
    if (st != FLOE_OK)
      return ferr_prefix(err, st, "%s line %lld, column %d (%s)", csv->name,
                         (long long)f->line, i + 1, fd->name);
  }
  return FLOE_OK;
}

static floe_status flush_batch(pq_writer *w, col_batch *b, floe_error *err) {
  FLOE_TRY(col_batch_seal(b, err));
  if (b->length == 0) return FLOE_OK;
  FLOE_TRY(pq_writer_write(w, b, err));
  col_batch_clear(b);
  return FLOE_OK;
}

static floe_status convert(const cli_spec *spec, const pq_writer_opts *opts,
                           const char *in_path, const char *out_path,
                           floe_error *err) {
  floe_status st = FLOE_OK;
  bool from_stdin = strcmp(in_path, "-") == 0;
  const char *in_name = from_stdin ? "stdin" : in_path;
  FILE *in = NULL;
  col_schema *schema = NULL;
  col_batch *batch = NULL;
  pq_writer *w = NULL;
  cli_csv csv;
  out_file out = {NULL, NULL};
  const char **names = NULL;
  memset(&csv, 0, sizeof csv);

  in = from_stdin ? stdin : fopen(in_path, "rb");
  if (!in) {
    st =
        ferr_set(err, FLOE_EIO, "cannot open %s: %s", in_path, strerror(errno));
    goto done;
  }
  if ((st = col_schema_new(spec->fields, spec->nfields, &schema, err)) ||
      (st = col_batch_new(schema, &batch, err)) ||
      (st = cli_csv_init(&csv, cli_read_file, in, in_name, 0, err)))
    goto done;
  names = malloc((size_t)spec->nfields * sizeof *names);
  if (!names) {
    st = ferr_nomem(err, (size_t)spec->nfields * sizeof *names);
    goto done;
  }
  for (int i = 0; i < spec->nfields; i++) names[i] = spec->fields[i].name;
  csv.colnames = names;
  csv.ncolnames = spec->nfields;

  bool got;
  if ((st = cli_csv_next(&csv, &got, err))) goto done;
  if (!got) {
    st = ferr_set(err, FLOE_EINVAL,
                  "%s is empty (expected a header line naming the columns)",
                  in_name);
    goto done;
  }
  if ((st = check_header(&csv, schema, err))) goto done;

  if ((st = out_open(out_path, &out, err))) goto done;
  pq_sink sink = {pq_sink_file_write, out.f};
  if ((st = pq_writer_open(schema, opts, sink, &w, err))) goto done;

  int64_t rows = 0;
  size_t bytes = 0;
  for (;;) {
    if ((st = cli_csv_next(&csv, &got, err))) goto done;
    if (!got) break;
    if ((st = append_record(&csv, batch, err))) goto done;
    rows++;
    bytes += csv.data.len;
    if (rows == CLI_BATCH_ROWS || bytes >= CLI_BATCH_BYTES) {
      if ((st = flush_batch(w, batch, err))) goto done;
      rows = 0;
      bytes = 0;
    }
  }
  if ((st = flush_batch(w, batch, err)) ||
      (st = pq_writer_close(w, NULL, err)) ||
      (st = out_commit(&out, out_path, err)))
    goto done;

done:
  pq_writer_free(w);
  out_abort(&out);
  cli_csv_free(&csv);
  free(names);
  col_batch_free(batch);
  col_schema_unref(schema);
  if (in && !from_stdin) fclose(in);
  return st;
}

static int cmd_write(int argc, char **argv) {
  static const char cmd[] = "floe parquet write";
  const char *schema = NULL, *codec = NULL, *rg = NULL, *pagever = NULL;
  cli_opt opts[] = {
      {"--schema", true, &schema, NULL},
      {"--compression", true, &codec, NULL},
      {"--row-group-size", true, &rg, NULL},
      {"--page-version", true, &pagever, NULL},
  };
  const char *pos[2];
  int npos;
  int rc = cli_command_args(cmd, write_help, argc, argv, opts, 4, pos, 2, 2,
                            &npos, "IN.csv and OUT.parquet");
  if (rc >= 0) return rc;
  if (!schema) return cli_usage_error(cmd, "--schema SPEC is required");
  if (strcmp(pos[1], "-") == 0)
    return cli_usage_error(cmd, "OUT.parquet must be a file, not '-'");

  pq_writer_opts wo;
  pq_writer_opts_default(&wo);
  if (codec) {
    int c = pq_codec_parse(codec);
    if (c < 0)
      return cli_usage_error(
          cmd, "--compression: unknown codec '%s' (zstd, snappy, gzip, none)",
          codec);
    wo.codec = (pq_codec)c;
  }
  if (rg && !parse_size(rg, &wo.row_group_bytes))
    return cli_usage_error(
        cmd,
        "--row-group-size: '%s' is not a positive size like 1048576 or 64M",
        rg);
  if (pagever) {
    if (strcmp(pagever, "1") == 0)
      wo.data_page_v2 = false;
    else if (strcmp(pagever, "2") == 0)
      wo.data_page_v2 = true;
    else
      return cli_usage_error(cmd, "--page-version: '%s' is not 1 or 2",
                             pagever);
  }

  floe_error err;
  ferr_clear(&err);
  cli_spec spec;
  if (cli_spec_parse(schema, &spec, &err) != FLOE_OK) {
    cli_spec_free(&spec);
    return cli_usage_error(cmd, "--schema: %s", err.msg);
  }
  floe_status st = convert(&spec, &wo, pos[0], pos[1], &err);
  cli_spec_free(&spec);
  return st == FLOE_OK ? CLI_EXIT_OK : fail(&err);
}

/* ---- cat ---- */

typedef struct pq_next_ctx {
  pq_reader *r;
  col_batch *b; /* refilled by each call */
} pq_next_ctx;

static floe_status pq_next(void *ctx, col_batch **b, floe_error *err) {
  pq_next_ctx *c = ctx;
  FLOE_TRY(pq_reader_next_into(c->r, c->b, err));
  *b = c->b;
  return FLOE_OK;
}

static floe_status print_rows(pq_reader *r, const char *const *names, int n,
                              col_format fmt, floe_error *err) {
  col_schema *s = pq_reader_schema(r);
  col_render_opts ro = {.format = fmt, .columns = names, .ncolumns = n};
  pq_next_ctx c = {r, NULL};
  floe_status st = col_batch_new(s, &c.b, err);
  if (!st) st = cli_render_stdout(s, &ro, pq_next, &c, err);
  col_batch_free(c.b);
  return st;
}

static int cmd_cat(int argc, char **argv) {
  static const char cmd[] = "floe parquet cat";
  const char *columns = NULL, *format = NULL;
  cli_opt opts[] = {
      {"--columns", true, &columns, NULL},
      {"--format", true, &format, NULL},
  };
  const char *pos[1];
  int npos;
  int rc = cli_command_args(cmd, cat_help, argc, argv, opts, 2, pos, 1, 1,
                            &npos, "a FILE");
  if (rc >= 0) return rc;
  cli_rows rows;
  rc = cli_rows_args(cmd, format, columns, &rows);
  if (rc >= 0) return rc;
  const char **names = rows.names;
  int nnames = rows.ncolumns;

  floe_error err;
  ferr_clear(&err);
  pq_reader_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.columns = names;
  ro.ncolumns = nnames;
  pq_reader *r = NULL;
  floe_status st = pq_reader_open_file(pos[0], &ro, &r, &err);
  /* Printed in the order asked for, whatever order the projection has. */
  for (int k = 0; k < nnames && !st; k++)
    if (col_schema_find(pq_reader_schema(r), names[k]) < 0)
      st = ferr_set(&err, FLOE_ENOTFOUND, "%s has no column '%s'", pos[0],
                    names[k]);
  if (!st) st = print_rows(r, names, nnames, rows.fmt, &err);
  pq_reader_free(r);
  cli_rows_free(&rows);
  return st == FLOE_OK ? CLI_EXIT_OK : fail(&err);
}

/* ---- meta ---- */

static int cmd_meta(int argc, char **argv) {
  static const char cmd[] = "floe parquet meta";
  const char *pos[1];
  int npos;
  int rc = cli_command_args(cmd, meta_help, argc, argv, NULL, 0, pos, 1, 1,
                            &npos, "a FILE");
  if (rc >= 0) return rc;
  floe_error err;
  ferr_clear(&err);
  pq_reader *r = NULL;
  fbuf out = FBUF_INIT;
  floe_status st = pq_reader_open_file(pos[0], NULL, &r, &err);
  if (!st) st = pq_reader_describe(r, &out, &err);
  if (!st) st = cli_out_flush(&out, &err);
  if (!st) st = cli_out_end(&err);
  fbuf_free(&out);
  pq_reader_free(r);
  return st == FLOE_OK ? CLI_EXIT_OK : fail(&err);
}

int cli_parquet_main(int argc, char **argv) {
  static const cli_sub subs[] = {
      {"write", cmd_write}, {"cat", cmd_cat}, {"meta", cmd_meta}};
  return cli_subcommand("floe parquet", parquet_help, argc, argv, subs, 3);
}
