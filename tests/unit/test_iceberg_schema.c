/* Unit tests for src/iceberg schema evolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iceberg/schema.h"

#define OK(expr)                                                               \
  do {                                                                         \
    floe_error e_ = {0};                                                       \
    floe_status st_ = (expr);                                                  \
    (void)e_;                                                                  \
    if (st_ != FLOE_OK) fail_msg("%s failed: %d", #expr, st_);                 \
  } while (0)

/* Expects a refusal with code and a message containing msg. */
static void refused(floe_status st, const floe_error *e, floe_status code,
                    const char *msg) {
  if (st != code || !strstr(e->msg, msg))
    fail_msg("expected %d \"%s\", got %d \"%s\"", code, msg, st, e->msg);
}

static const col_dtype T_LONG = {.id = COL_INT64};
static const col_dtype T_INT = {.id = COL_INT32};
static const col_dtype T_STR = {.id = COL_UTF8};

/* id long required, ts timestamptz, tags list<string>, amount
 * decimal(10,2), n int16, f float; partitioned by day(ts). */
static ice_metadata *new_table(int format_version) {
  col_field f[6] = {
      {.id = 1, .name = "id", .type = {.id = COL_INT64}},
      {.id = 2,
       .name = "ts",
       .type = {.id = COL_TIMESTAMPTZ},
       .nullable = true},
      {.id = 3,
       .name = "tags",
       .type = {.id = COL_LIST, .elem = COL_UTF8},
       .nullable = true,
       .elem_id = 4,
       .elem_nullable = true},
      {.id = 5,
       .name = "amount",
       .type = {.id = COL_DECIMAL, .precision = 10, .scale = 2},
       .nullable = true},
      {.id = 6, .name = "n", .type = {.id = COL_INT16}, .nullable = true},
      {.id = 7, .name = "f", .type = {.id = COL_FLOAT32}},
  };
  col_schema *s;
  assert_int_equal(col_schema_new(f, 6, &s, NULL), FLOE_OK);
  ice_partition_field pf = {.source_id = 2, .name = "ts_day"};
  assert_int_equal(ice_transform_parse("day", &pf.transform, NULL), FLOE_OK);
  ice_partition_spec spec = {.nfields = 1, .fields = &pf};
  ice_metadata *md;
  floe_error e;
  if (ice_metadata_new("/t", s, &spec, "9c12d441-03fe-4693-9a96-a0705ddf69c1",
                       1, &md, &e) != FLOE_OK)
    fail_msg("new: %s", e.msg);
  md->format_version = format_version;
  ice_transform_clear(&pf.transform);
  col_schema_unref(s);
  return md;
}

static const col_field *field(const ice_metadata *md, const char *name) {
  const ice_schema *s = ice_metadata_current_schema(md);
  int i = col_schema_find(s->cols, name);
  return i < 0 ? NULL : &s->cols->fields[i];
}

static char *schema_json(const ice_metadata *md) {
  fbuf b = FBUF_INIT;
  assert_int_equal(
      ice_schema_write_json(ice_metadata_current_schema(md), &b, NULL),
      FLOE_OK);
  assert_int_equal(fbuf_put_u8(&b, 0, NULL), FLOE_OK);
  return (char *)fbuf_take(&b);
}

/* metadata -> JSON -> metadata -> JSON is a fixed point, and the schemas
 * survive the trip. */
static void assert_roundtrip(const ice_metadata *md) {
  fbuf a = FBUF_INIT, b = FBUF_INIT;
  floe_error e;
  assert_int_equal(ice_metadata_write(md, true, &a, &e), FLOE_OK);
  ice_metadata *md2;
  if (ice_metadata_parse((const char *)a.data, a.len, "evolved", &md2, &e))
    fail_msg("reparse: %s", e.msg);
  assert_int_equal(ice_metadata_write(md2, true, &b, &e), FLOE_OK);
  assert_int_equal(a.len, b.len);
  assert_memory_equal(a.data, b.data, a.len);
  assert_int_equal(md2->nschemas, md->nschemas);
  assert_int_equal(md2->last_column_id, md->last_column_id);
  ice_metadata_free(md2);
  fbuf_free(&a);
  fbuf_free(&b);
}

static void test_add_columns(void **state) {
  (void)state;
  ice_metadata *md = new_table(3);
  assert_int_equal(md->last_column_id, 7);
  ice_schema_update *u;
  floe_error e;
  int32_t id;
  OK(ice_schema_update_new(md, &u, &e));
  OK(ice_schema_add_column(u, "region", T_STR, true, false, NULL, NULL,
                           "sales region", &id, &e));
  assert_int_equal(id, 8);
  /* a Postgres `qty int NOT NULL DEFAULT 0` becomes a v3 initial-default:
   * old files need no rewrite */
  OK(ice_schema_add_column(u, "qty", T_INT, false, false, "0", NULL, NULL, &id,
                           &e));
  assert_int_equal(id, 9);
  col_dtype li = {.id = COL_LIST, .elem = COL_INT32};
  OK(ice_schema_add_column(u, "codes", li, true, false, "[1, 2]", "[]", NULL,
                           &id, &e));
  assert_int_equal(id, 10); /* element gets 11 */
  OK(ice_schema_add_column(u, "status", T_STR, false, false, "\"new\"",
                           "\"open\"", NULL, NULL, &e));
  /* refusals */
  refused(ice_schema_add_column(u, "req", T_INT, false, false, NULL, NULL, NULL,
                                NULL, &e),
          &e, FLOE_EINVAL,
          "required column \"req\" needs a non-null initial-default");
  refused(ice_schema_add_column(u, "req", T_INT, false, false, "null", NULL,
                                NULL, NULL, &e),
          &e, FLOE_EINVAL, "needs a non-null initial-default");
  refused(ice_schema_add_column(u, "req", T_INT, true, false, "\"x\"", NULL,
                                NULL, NULL, &e),
          &e, FLOE_EINVAL,
          "initial-default of column \"req\": default value \"x\" for type "
          "int: expected a 32-bit integer");
  refused(ice_schema_add_column(u, "qty", T_LONG, true, false, NULL, NULL, NULL,
                                NULL, &e),
          &e, FLOE_EINVAL, "column \"qty\" already exists");
  refused(ice_schema_add_column(u, "", T_LONG, true, false, NULL, NULL, NULL,
                                NULL, &e),
          &e, FLOE_EINVAL, "empty column name");
  col_dtype bad = {.id = COL_DECIMAL, .precision = 40};
  refused(ice_schema_add_column(u, "d", bad, true, false, NULL, NULL, NULL,
                                NULL, &e),
          &e, FLOE_EINVAL, "precision must be 1..38");
  int32_t sid;
  OK(ice_schema_update_apply(u, md, &sid, &e));
  ice_schema_update_free(u);
  assert_int_equal(sid, 1);
  assert_int_equal(md->current_schema_id, 1);
  assert_int_equal(md->nschemas, 2);
  assert_int_equal(md->last_column_id, 12);
  /* the old schema is untouched */
  assert_int_equal(md->schemas[0].cols->nfields, 6);
  const col_field *f = field(md, "codes");
  assert_int_equal(f->id, 10);
  assert_int_equal(f->elem_id, 11);
  assert_false(f->elem_nullable);
  assert_int_equal(field(md, "status")->id, 12);
  char *j = schema_json(md);
  assert_non_null(strstr(j, "{\"id\":8,\"name\":\"region\",\"required\":false,"
                            "\"type\":\"string\",\"doc\":\"sales region\"}"));
  assert_non_null(strstr(j, "{\"id\":9,\"name\":\"qty\",\"required\":true,"
                            "\"type\":\"int\",\"initial-default\":0,"
                            "\"write-default\":0}"));
  assert_non_null(strstr(j, "\"element-required\":true},\"initial-default\":"
                            "[1,2],\"write-default\":[]}"));
  assert_non_null(strstr(j, "\"initial-default\":\"new\",\"write-default\":"
                            "\"open\"}"));
  assert_non_null(strstr(j, "{\"type\":\"struct\",\"schema-id\":1,"));
  free(j);
  assert_roundtrip(md);
  ice_metadata_free(md);
}

static void test_drop_rename(void **state) {
  (void)state;
  ice_metadata *md = new_table(3);
  ice_schema_update *u;
  floe_error e;
  int32_t id;
  OK(ice_schema_update_new(md, &u, &e));
  OK(ice_schema_drop_column(u, "amount", &e));
  OK(ice_schema_drop_column_id(u, 3, &e)); /* tags (and its element 4) */
  refused(ice_schema_drop_column(u, "amount", &e), &e, FLOE_EINVAL,
          "no column \"amount\"");
  refused(ice_schema_drop_column_id(u, 99, &e), &e, FLOE_EINVAL,
          "no column with id 99");
  refused(ice_schema_drop_column(u, "ts", &e), &e, FLOE_EINVAL,
          "cannot drop column \"ts\": it is the source of partition field "
          "\"ts_day\"");
  OK(ice_schema_rename_column(u, "ts", "event_ts", &e));
  refused(ice_schema_rename_column(u, "event_ts", "id", &e), &e, FLOE_EINVAL,
          "cannot rename \"event_ts\" to \"id\": that name is taken");
  refused(ice_schema_rename_column(u, "nope", "x", &e), &e, FLOE_EINVAL,
          "no column \"nope\"");
  OK(ice_schema_rename_column(u, "n", "n", &e)); /* no-op */
  /* a dropped name can come back, with a fresh id */
  OK(ice_schema_add_column(u, "amount", T_LONG, true, false, NULL, NULL, NULL,
                           &id, &e));
  assert_int_equal(id, 8);
  OK(ice_schema_update_apply(u, md, NULL, &e));
  ice_schema_update_free(u);
  assert_int_equal(md->last_column_id, 8);
  assert_null(field(md, "tags"));
  assert_null(field(md, "ts"));
  assert_int_equal(field(md, "event_ts")->id, 2);
  assert_int_equal(field(md, "amount")->id, 8);
  assert_int_equal(field(md, "amount")->type.id, COL_INT64);

  /* dropping the newest column never lowers last-column-id */
  OK(ice_schema_update_new(md, &u, &e));
  OK(ice_schema_drop_column(u, "amount", &e));
  OK(ice_schema_update_apply(u, md, NULL, &e));
  ice_schema_update_free(u);
  assert_int_equal(md->last_column_id, 8);
  OK(ice_schema_update_new(md, &u, &e));
  OK(ice_schema_add_column(u, "x", T_LONG, true, false, NULL, NULL, NULL, &id,
                           &e));
  assert_int_equal(id, 9);
  /* dropping a list's element id alone is not a thing */
  col_dtype li = {.id = COL_LIST, .elem = COL_INT64};
  OK(ice_schema_add_column(u, "l", li, true, true, NULL, NULL, NULL, &id, &e));
  refused(ice_schema_drop_column_id(u, id + 1, &e), &e, FLOE_EINVAL,
          "is the element of list column \"l\"");
  /* added and dropped in one update: its ids stay spent */
  OK(ice_schema_drop_column(u, "l", &e));
  OK(ice_schema_update_apply(u, md, NULL, &e));
  ice_schema_update_free(u);
  assert_int_equal(md->last_column_id, 11);
  assert_int_equal(md->nschemas, 4);
  assert_roundtrip(md);
  ice_metadata_free(md);
}

static void test_widen_nullability(void **state) {
  (void)state;
  ice_metadata *md = new_table(3);
  ice_schema_update *u;
  floe_error e;
  OK(ice_schema_update_new(md, &u, &e));
  col_dtype d12 = {.id = COL_DECIMAL, .precision = 12, .scale = 2};
  col_dtype d12s3 = {.id = COL_DECIMAL, .precision = 12, .scale = 3};
  col_dtype d9 = {.id = COL_DECIMAL, .precision = 9, .scale = 2};
  col_dtype dbl = {.id = COL_FLOAT64};
  col_dtype lint = {.id = COL_LIST, .elem = COL_INT32};
  OK(ice_schema_widen_column(u, "n", T_INT, &e)); /* int16 is Iceberg int */
  OK(ice_schema_widen_column(u, "n", T_LONG, &e));
  OK(ice_schema_widen_column(u, "amount", d12, &e));
  OK(ice_schema_widen_column(u, "f", dbl, &e));
  refused(ice_schema_widen_column(u, "amount", d12s3, &e), &e, FLOE_EINVAL,
          "column \"amount\" cannot change from decimal(12,2) to "
          "decimal(12,3)");
  refused(ice_schema_widen_column(u, "amount", d9, &e), &e, FLOE_EINVAL,
          "from decimal(12,2) to decimal(9,2)");
  refused(ice_schema_widen_column(u, "id", T_INT, &e), &e, FLOE_EINVAL,
          "from long to int");
  refused(ice_schema_widen_column(u, "id", T_STR, &e), &e, FLOE_EINVAL,
          "from long to string");
  refused(ice_schema_widen_column(u, "tags", lint, &e), &e, FLOE_EINVAL,
          "from list<string> to list<int>");
  refused(ice_schema_widen_column(u, "n", lint, &e), &e, FLOE_EINVAL,
          "from long to list<int>");
  /* nullability: only ever loosened */
  refused(ice_schema_set_required(u, "ts", true, &e), &e, FLOE_EINVAL,
          "column \"ts\" is optional and cannot be made required");
  OK(ice_schema_set_required(u, "f", true, &e)); /* already required */
  OK(ice_schema_set_required(u, "f", false, &e));
  OK(ice_schema_update_apply(u, md, NULL, &e));
  ice_schema_update_free(u);
  assert_int_equal(field(md, "n")->type.id, COL_INT64);
  assert_int_equal(field(md, "amount")->type.precision, 12);
  assert_int_equal(field(md, "f")->type.id, COL_FLOAT64);
  assert_true(field(md, "f")->nullable);

  /* list elements widen too */
  OK(ice_schema_update_new(md, &u, &e));
  OK(ice_schema_add_column(u, "li", lint, true, false, NULL, NULL, NULL, NULL,
                           &e));
  OK(ice_schema_update_apply(u, md, NULL, &e));
  ice_schema_update_free(u);
  OK(ice_schema_update_new(md, &u, &e));
  col_dtype llong = {.id = COL_LIST, .elem = COL_INT64};
  OK(ice_schema_widen_column(u, "li", llong, &e));
  OK(ice_schema_update_apply(u, md, NULL, &e));
  ice_schema_update_free(u);
  assert_int_equal(field(md, "li")->type.elem, COL_INT64);
  assert_roundtrip(md);
  ice_metadata_free(md);
}

static void test_identifier_fields(void **state) {
  (void)state;
  ice_metadata *md = new_table(3);
  ice_schema_update *u;
  floe_error e;
  OK(ice_schema_update_new(md, &u, &e));
  const char *id[] = {"id"};
  const char *ts[] = {"ts"};
  const char *fl[] = {"f"};
  const char *tg[] = {"tags"};
  const char *no[] = {"nope"};
  const char *twice[] = {"id", "id"};
  refused(ice_schema_set_identifier_fields(u, ts, 1, &e), &e, FLOE_EINVAL,
          "identifier field \"ts\" must be required");
  refused(ice_schema_set_identifier_fields(u, fl, 1, &e), &e, FLOE_EINVAL,
          "identifier field \"f\" cannot be float, double or a list");
  refused(ice_schema_set_identifier_fields(u, tg, 1, &e), &e, FLOE_EINVAL,
          "identifier field \"tags\" must be required");
  col_dtype li = {.id = COL_LIST, .elem = COL_INT32};
  const char *rl[] = {"rl"};
  OK(ice_schema_add_column(u, "rl", li, false, false, "[]", NULL, NULL, NULL,
                           &e));
  refused(ice_schema_set_identifier_fields(u, rl, 1, &e), &e, FLOE_EINVAL,
          "identifier field \"rl\" cannot be float, double or a list");
  OK(ice_schema_drop_column(u, "rl", &e));
  refused(ice_schema_set_identifier_fields(u, no, 1, &e), &e, FLOE_EINVAL,
          "no column \"nope\"");
  refused(ice_schema_set_identifier_fields(u, twice, 2, &e), &e, FLOE_EINVAL,
          "named twice");
  OK(ice_schema_set_identifier_fields(u, id, 1, &e));
  refused(ice_schema_drop_column(u, "id", &e), &e, FLOE_EINVAL,
          "cannot drop column \"id\": it is an identifier field");
  refused(ice_schema_set_required(u, "id", false, &e), &e, FLOE_EINVAL,
          "column \"id\" is an identifier field and must stay required");
  OK(ice_schema_update_apply(u, md, NULL, &e));
  ice_schema_update_free(u);
  const ice_schema *s = ice_metadata_current_schema(md);
  assert_int_equal(s->nidentifier, 1);
  assert_int_equal(s->identifier_ids[0], 1);
  char *j = schema_json(md);
  assert_non_null(strstr(j, "\"schema-id\":1,\"identifier-field-ids\":[1],"));
  free(j);
  /* clearing them makes the drop possible */
  OK(ice_schema_update_new(md, &u, &e));
  OK(ice_schema_set_identifier_fields(u, NULL, 0, &e));
  OK(ice_schema_drop_column(u, "id", &e));
  OK(ice_schema_update_apply(u, md, NULL, &e));
  ice_schema_update_free(u);
  assert_null(field(md, "id"));
  assert_int_equal(ice_metadata_current_schema(md)->nidentifier, 0);
  assert_roundtrip(md);
  ice_metadata_free(md);
}

static void test_defaults(void **state) {
  (void)state;
  ice_metadata *md = new_table(3);
  ice_schema_update *u;
  floe_error e;
  OK(ice_schema_update_new(md, &u, &e));
  OK(ice_schema_add_column(u, "qty", T_INT, false, false, "0", NULL, NULL, NULL,
                           &e));
  OK(ice_schema_set_write_default(u, "qty", "5", &e));
  refused(ice_schema_set_write_default(u, "qty", NULL, &e), &e, FLOE_EINVAL,
          "required column \"qty\" must keep a non-null write-default");
  refused(ice_schema_set_write_default(u, "qty", "1.5", &e), &e, FLOE_EINVAL,
          "expected a 32-bit integer");
  OK(ice_schema_set_write_default(u, "ts", "\"2024-01-01T00:00:00+00:00\"",
                                  &e));
  OK(ice_schema_set_write_default(u, "ts", "null", &e)); /* removes it */
  OK(ice_schema_set_doc(u, "qty", "quantity", &e));
  OK(ice_schema_update_apply(u, md, NULL, &e));
  ice_schema_update_free(u);
  const ice_schema *s = ice_metadata_current_schema(md);
  const ice_field_ext *x = ice_schema_ext(s, 8);
  assert_string_equal(x->initial_default, "0");
  assert_string_equal(x->write_default, "5");
  assert_string_equal(x->doc, "quantity");
  assert_null(ice_schema_ext(s, 2));
  assert_roundtrip(md);
  ice_metadata_free(md);

  /* default values are a v3 feature */
  md = new_table(2);
  OK(ice_schema_update_new(md, &u, &e));
  refused(ice_schema_add_column(u, "qty", T_INT, true, false, "0", NULL, NULL,
                                NULL, &e),
          &e, FLOE_EINVAL,
          "initial-default of column \"qty\": default values need format "
          "version 3 (the table is v2)");
  OK(ice_schema_add_column(u, "qty", T_INT, true, false, "null", NULL, NULL,
                           NULL, &e));
  OK(ice_schema_update_apply(u, md, NULL, &e));
  ice_schema_update_free(u);
  assert_null(ice_schema_ext(ice_metadata_current_schema(md), 8));
  assert_roundtrip(md);
  ice_metadata_free(md);
}

static void test_reuse_conflict_history(void **state) {
  (void)state;
  ice_metadata *md = new_table(3);
  ice_schema_update *u;
  floe_error e;
  int32_t sid;
  /* an update with no changes reuses the current schema */
  OK(ice_schema_update_new(md, &u, &e));
  OK(ice_schema_update_apply(u, md, &sid, &e));
  ice_schema_update_free(u);
  assert_int_equal(sid, 0);
  assert_int_equal(md->nschemas, 1);
  /* refused calls leave nothing behind: still the same schema */
  OK(ice_schema_update_new(md, &u, &e));
  assert_int_equal(ice_schema_widen_column(u, "id", T_STR, &e), FLOE_EINVAL);
  assert_int_equal(ice_schema_drop_column(u, "ts", &e), FLOE_EINVAL);
  OK(ice_schema_update_apply(u, md, &sid, &e));
  ice_schema_update_free(u);
  assert_int_equal(sid, 0);
  assert_int_equal(md->nschemas, 1);
  /* two updates from the same base: the second one must start again */
  ice_schema_update *a, *b;
  OK(ice_schema_update_new(md, &a, &e));
  OK(ice_schema_update_new(md, &b, &e));
  OK(ice_schema_add_column(a, "x", T_LONG, true, false, NULL, NULL, NULL, NULL,
                           &e));
  OK(ice_schema_add_column(b, "y", T_LONG, true, false, NULL, NULL, NULL, NULL,
                           &e));
  OK(ice_schema_update_apply(a, md, &sid, &e));
  assert_int_equal(sid, 1);
  refused(ice_schema_update_apply(b, md, &sid, &e), &e, FLOE_ECONFLICT,
          "schema changed since the update started");
  ice_schema_update_free(a);
  ice_schema_update_free(b);
  /* going back to schema 0's exact shape reuses id 0 (a rollback) */
  ice_schema s0;
  OK(ice_schema_copy(&s0, &md->schemas[0], &e));
  OK(ice_metadata_add_schema(md, &s0, &sid, &e));
  assert_int_equal(sid, 0);
  assert_int_equal(md->current_schema_id, 0);
  assert_int_equal(md->nschemas, 2);
  assert_int_equal(md->last_column_id, 8);
  /* hand-built schemas cannot reuse ids */
  col_field f1[2] = {{.id = 1, .name = "id", .type = {.id = COL_UTF8}},
                     {.id = 9, .name = "z", .type = {.id = COL_INT32}}};
  ice_schema s = {0};
  OK(col_schema_new(f1, 2, &s.cols, &e));
  refused(ice_metadata_add_schema(md, &s, NULL, &e), &e, FLOE_EINVAL,
          "field id 1 (\"id\") was long and cannot become string");
  assert_null(s.cols); /* consumed */
  col_field f2[2] = {{.id = 1, .name = "id", .type = {.id = COL_INT64}},
                     {.id = 8, .name = "zz", .type = {.id = COL_UTF8}}};
  OK(col_schema_new(f2, 2, &s.cols, &e));
  /* 8 was "x", a long, in schema 1: coming back as a string is refused */
  refused(ice_metadata_add_schema(md, &s, NULL, &e), &e, FLOE_EINVAL,
          "field id 8 (\"zz\") was long and cannot become string");
  col_field f3[1] = {{.id = 1, .name = "id", .type = {.id = COL_INT64}}};
  OK(col_schema_new(f3, 1, &s.cols, &e));
  s.identifier_ids = malloc(sizeof(int32_t));
  s.identifier_ids[0] = 1;
  s.nidentifier = 1;
  OK(ice_metadata_add_schema(md, &s, &sid, &e));
  assert_int_equal(sid, 2);
  assert_int_equal(md->last_column_id, 8);
  assert_roundtrip(md);
  ice_metadata_free(md);

  /* an id at or below last-column-id that no schema knows was dropped with
   * a schema that is gone: never reused */
  md = new_table(3);
  md->last_column_id = 20;
  col_field f4[2] = {{.id = 1, .name = "id", .type = {.id = COL_INT64}},
                     {.id = 15, .name = "q", .type = {.id = COL_INT64}}};
  OK(col_schema_new(f4, 2, &s.cols, &e));
  refused(ice_metadata_add_schema(md, &s, NULL, &e), &e, FLOE_EINVAL,
          "field \"q\" reuses id 15 (at or below last-column-id 20)");
  col_field f5[2] = {{.id = 1, .name = "id", .type = {.id = COL_INT64}},
                     {.id = 1, .name = "q", .type = {.id = COL_INT64}}};
  assert_int_equal(col_schema_new(f5, 2, &s.cols, &e), FLOE_EINVAL);
  ice_metadata_free(md);
}

/* The clone an update is applied to is independent of the base. */
static void test_apply_to_clone(void **state) {
  (void)state;
  ice_metadata *base = new_table(3);
  ice_schema_update *u;
  floe_error e;
  OK(ice_schema_update_new(base, &u, &e));
  OK(ice_schema_add_column(u, "x", T_LONG, true, false, "7", NULL, "doc", NULL,
                           &e));
  ice_metadata *c;
  OK(ice_metadata_clone(base, &c, &e));
  OK(ice_schema_update_apply(u, c, NULL, &e));
  ice_schema_update_free(u);
  assert_int_equal(base->nschemas, 1);
  assert_int_equal(base->last_column_id, 7);
  ice_metadata_free(base);
  assert_int_equal(c->nschemas, 2);
  assert_string_equal(ice_schema_ext(ice_metadata_current_schema(c), 8)->doc,
                      "doc");
  assert_roundtrip(c);
  ice_metadata_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_columns),
      cmocka_unit_test(test_drop_rename),
      cmocka_unit_test(test_widen_nullability),
      cmocka_unit_test(test_identifier_fields),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_reuse_conflict_history),
      cmocka_unit_test(test_apply_to_clone),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
