/*
 * Embedding floe: a host program that uses only the public header
 * <floe/floe.h> and libfloe. It opens a table in a temporary warehouse,
 * feeds it changes grouped in source transactions (inserts, an update, a
 * delete, an aborted transaction), takes a read state at an LSN, scans it as
 * an Arrow C stream, prints the rows, and closes the table (which commits an
 * Iceberg snapshot). It exits 0 only when the rows are the expected ones, so
 * `make check` runs it as a test.
 *
 * Build against an installed floe:
 *   cc embed.c $(pkg-config --cflags --libs floe) -o embed
 */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <floe/floe.h>

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The Arrow C stream interface is an ABI fixed by the Arrow specification
 * ("The Arrow C data interface"): a host declares the structs itself (or
 * includes Arrow's abi.h); the guards keep the two from clashing. */
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE
struct ArrowSchema {
  const char *format;
  const char *name;
  const char *metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema **children;
  struct ArrowSchema *dictionary;
  void (*release)(struct ArrowSchema *);
  void *private_data;
};
struct ArrowArray {
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void **buffers;
  struct ArrowArray **children;
  struct ArrowArray *dictionary;
  void (*release)(struct ArrowArray *);
  void *private_data;
};
#endif
#ifndef ARROW_C_STREAM_INTERFACE
#define ARROW_C_STREAM_INTERFACE
struct ArrowArrayStream {
  int (*get_schema)(struct ArrowArrayStream *, struct ArrowSchema *out);
  int (*get_next)(struct ArrowArrayStream *, struct ArrowArray *out);
  const char *(*get_last_error)(struct ArrowArrayStream *);
  void (*release)(struct ArrowArrayStream *);
  void *private_data;
};
#endif

/* Stops the program with the library's message. */
static void check(floe_status st, const floe_error *err, const char *what) {
  if (st == FLOE_OK) return;
  fprintf(stderr, "embed: %s: %s (%s)\n", what, err->msg, floe_strerror(st));
  exit(1);
}

enum { COL_ID, COL_NAME, COL_QTY };

static void set_row(floe_row *r, int64_t id, const char *name, int qty,
                    floe_error *err) {
  floe_row_reset(r);
  check(floe_row_set_int(r, COL_ID, id, err), err, "id");
  check(floe_row_set_bytes(r, COL_NAME, name, strlen(name), err), err, "name");
  if (qty >= 0)
    check(floe_row_set_int(r, COL_QTY, qty, err), err, "qty");
  else
    check(floe_row_set_null(r, COL_QTY, err), err, "qty"); /* NULL */
}

static int valid(const struct ArrowArray *a, int64_t i) {
  const uint8_t *v = a->buffers[0];
  i += a->offset;
  return !v || ((v[i >> 3] >> (i & 7)) & 1);
}

/* Prints the rows of one batch (a struct array: id int64, name utf8, qty
 * int32) into out; returns the row count. */
static int64_t print_batch(const struct ArrowArray *b, char *out, size_t n) {
  const struct ArrowArray *id = b->children[COL_ID];
  const struct ArrowArray *name = b->children[COL_NAME];
  const struct ArrowArray *qty = b->children[COL_QTY];
  const int64_t *ids = id->buffers[1];
  const int32_t *off = name->buffers[1];
  const char *chars = name->buffers[2];
  const int32_t *qtys = qty->buffers[1];
  for (int64_t i = 0; i < b->length; i++) {
    int64_t r = b->offset + i;
    size_t used = strlen(out);
    char q[16] = "NULL";
    if (valid(qty, r)) snprintf(q, sizeof q, "%d", qtys[qty->offset + r]);
    int32_t s = off[name->offset + r], e = off[name->offset + r + 1];
    snprintf(out + used, n - used, "id=%" PRId64 " name=%.*s qty=%s\n",
             ids[id->offset + r], (int)(e - s), chars + s, q);
  }
  return b->length;
}

static int rm_entry(const char *p, const struct stat *sb, int flag,
                    struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}

int main(void) {
  floe_error err;
  memset(&err, 0, sizeof err);
  char dir[] = "/tmp/floe-embed.XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }

  /* A table in a filesystem catalog rooted at dir: shop.items, key id. */
  floe_column cols[3];
  memset(cols, 0, sizeof cols);
  cols[COL_ID] = (floe_column){.name = "id", .type = FLOE_INT64};
  cols[COL_NAME] = (floe_column){.name = "name", .type = FLOE_UTF8};
  cols[COL_QTY] =
      (floe_column){.name = "qty", .type = FLOE_INT32, .nullable = 1};
  int key[] = {COL_ID};
  floe_table_ref ref = {.catalog_uri = dir, .ns = "shop", .name = "items"};
  floe_table_config cfg;
  floe_table_config_init(&cfg);
  floe_table *t = NULL;
  check(floe_table_open(&ref, cols, 3, key, 1, &cfg, &t, &err), &err, "open");

  floe_row *row = NULL, *old = NULL;
  check(floe_row_new(t, &row, &err), &err, "row");
  check(floe_row_new(t, &old, &err), &err, "row");

  /* Transaction 700: three inserts, committed at LSN 0/100. */
  set_row(row, 1, "apple", 5, &err);
  check(floe_insert(t, 700, 700, row, &err), &err, "insert");
  set_row(row, 2, "pear", 7, &err);
  check(floe_insert(t, 700, 700, row, &err), &err, "insert");
  set_row(row, 3, "plum", -1, &err);
  check(floe_insert(t, 700, 700, row, &err), &err, "insert");
  check(floe_commit(t, 700, 0x100, &err), &err, "commit");

  /* Transaction 701: pear renamed (same key), plum deleted; 0/200. */
  set_row(row, 2, "green pear", 8, &err);
  check(floe_update(t, 701, 701, NULL, row, &err), &err, "update");
  floe_row_reset(old);
  check(floe_row_set_int(old, COL_ID, 3, &err), &err, "key");
  check(floe_delete(t, 701, 701, old, &err), &err, "delete");
  check(floe_commit(t, 701, 0x200, &err), &err, "commit");

  /* Transaction 702 rolls back: its insert is never seen. */
  set_row(row, 4, "ghost", 1, &err);
  check(floe_insert(t, 702, 702, row, &err), &err, "insert");
  check(floe_abort(t, 702, 702, &err), &err, "abort");

  /* Read your writes: a state that includes every commit up to 0/200. */
  char lsn[32];
  floe_read_state *rs = NULL;
  check(floe_read_state_get(t, 0x200, 1000, &rs, &err), &err, "read state");
  printf("read state at %s: %" PRId64 " rows\n",
         floe_lsn_format(floe_read_state_lsn(rs), lsn),
         floe_read_state_rows(rs));
  struct ArrowArrayStream stream;
  check(floe_scan(rs, NULL, 0, &stream, &err), &err, "scan");
  floe_read_state_release(rs); /* the stream holds its own pin */

  char text[1024] = "";
  int64_t rows = 0;
  for (;;) {
    struct ArrowArray batch;
    if (stream.get_next(&stream, &batch) != 0) {
      fprintf(stderr, "embed: %s\n", stream.get_last_error(&stream));
      return 1;
    }
    if (!batch.release) break; /* end of stream */
    rows += print_batch(&batch, text, sizeof text);
    batch.release(&batch);
  }
  stream.release(&stream);
  fputs(text, stdout);

  floe_row_free(row);
  floe_row_free(old);
  /* A clean close commits an Iceberg snapshot covering 0/200. */
  check(floe_table_close(t, &err), &err, "close");
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

  const char *want = "id=1 name=apple qty=5\nid=2 name=green pear qty=8\n";
  if (rows != 2 || strcmp(text, want) != 0) {
    fprintf(stderr, "embed: unexpected rows:\n%s", text);
    return 1;
  }
  return 0;
}
