/* Unit tests for src/iceberg metadata (table metadata JSON model). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iceberg/metadata.h"

/* Java-shaped fixtures: laid out exactly as Iceberg Java's
 * TableMetadataParser writes them (Jackson pretty printer). The v3 one only
 * holds what floe models, so floe must reproduce it byte for byte; the v2
 * one also carries statistics, which floe drops. */
static const char V3_JAVA[] =
    "{\n"
    "  \"format-version\" : 3,\n"
    "  \"table-uuid\" : \"9c12d441-03fe-4693-9a96-a0705ddf69c1\",\n"
    "  \"location\" : \"s3://bucket/warehouse/db/events\",\n"
    "  \"last-sequence-number\" : 2,\n"
    "  \"last-updated-ms\" : 1736200000500,\n"
    "  \"last-column-id\" : 7,\n"
    "  \"current-schema-id\" : 1,\n"
    "  \"schemas\" : [ {\n"
    "    \"type\" : \"struct\",\n"
    "    \"schema-id\" : 0,\n"
    "    \"identifier-field-ids\" : [ 1 ],\n"
    "    \"fields\" : [ {\n"
    "      \"id\" : 1,\n"
    "      \"name\" : \"id\",\n"
    "      \"required\" : true,\n"
    "      \"type\" : \"long\"\n"
    "    }, {\n"
    "      \"id\" : 2,\n"
    "      \"name\" : \"ts\",\n"
    "      \"required\" : false,\n"
    "      \"type\" : \"timestamptz\"\n"
    "    }, {\n"
    "      \"id\" : 3,\n"
    "      \"name\" : \"tags\",\n"
    "      \"required\" : false,\n"
    "      \"type\" : {\n"
    "        \"type\" : \"list\",\n"
    "        \"element-id\" : 4,\n"
    "        \"element\" : \"string\",\n"
    "        \"element-required\" : false\n"
    "      }\n"
    "    } ]\n"
    "  }, {\n"
    "    \"type\" : \"struct\",\n"
    "    \"schema-id\" : 1,\n"
    "    \"identifier-field-ids\" : [ 1 ],\n"
    "    \"fields\" : [ {\n"
    "      \"id\" : 1,\n"
    "      \"name\" : \"id\",\n"
    "      \"required\" : true,\n"
    "      \"type\" : \"long\"\n"
    "    }, {\n"
    "      \"id\" : 2,\n"
    "      \"name\" : \"ts\",\n"
    "      \"required\" : false,\n"
    "      \"type\" : \"timestamptz\"\n"
    "    }, {\n"
    "      \"id\" : 3,\n"
    "      \"name\" : \"tags\",\n"
    "      \"required\" : false,\n"
    "      \"type\" : {\n"
    "        \"type\" : \"list\",\n"
    "        \"element-id\" : 4,\n"
    "        \"element\" : \"string\",\n"
    "        \"element-required\" : false\n"
    "      }\n"
    "    }, {\n"
    "      \"id\" : 5,\n"
    "      \"name\" : \"amount\",\n"
    "      \"required\" : true,\n"
    "      \"type\" : \"decimal(10,2)\",\n"
    "      \"doc\" : \"order total\",\n"
    "      \"initial-default\" : \"0.00\",\n"
    "      \"write-default\" : \"0.00\"\n"
    "    }, {\n"
    "      \"id\" : 6,\n"
    "      \"name\" : \"flags\",\n"
    "      \"required\" : false,\n"
    "      \"type\" : {\n"
    "        \"type\" : \"list\",\n"
    "        \"element-id\" : 7,\n"
    "        \"element\" : \"int\",\n"
    "        \"element-required\" : true\n"
    "      },\n"
    "      \"initial-default\" : [ 1, 2 ],\n"
    "      \"write-default\" : [ ]\n"
    "    } ]\n"
    "  } ],\n"
    "  \"default-spec-id\" : 1,\n"
    "  \"partition-specs\" : [ {\n"
    "    \"spec-id\" : 0,\n"
    "    \"fields\" : [ {\n"
    "      \"name\" : \"ts_day\",\n"
    "      \"transform\" : \"day\",\n"
    "      \"source-id\" : 2,\n"
    "      \"field-id\" : 1000\n"
    "    }, {\n"
    "      \"name\" : \"id_bucket\",\n"
    "      \"transform\" : \"bucket[16]\",\n"
    "      \"source-id\" : 1,\n"
    "      \"field-id\" : 1001\n"
    "    } ]\n"
    "  }, {\n"
    "    \"spec-id\" : 1,\n"
    "    \"fields\" : [ {\n"
    "      \"name\" : \"ts_day\",\n"
    "      \"transform\" : \"day\",\n"
    "      \"source-id\" : 2,\n"
    "      \"field-id\" : 1000\n"
    "    }, {\n"
    "      \"name\" : \"id_bucket\",\n"
    "      \"transform\" : \"bucket[16]\",\n"
    "      \"source-id\" : 1,\n"
    "      \"field-id\" : 1001\n"
    "    }, {\n"
    "      \"name\" : \"id\",\n"
    "      \"transform\" : \"identity\",\n"
    "      \"source-id\" : 1,\n"
    "      \"field-id\" : 1002\n"
    "    } ]\n"
    "  } ],\n"
    "  \"last-partition-id\" : 1002,\n"
    "  \"default-sort-order-id\" : 1,\n"
    "  \"sort-orders\" : [ {\n"
    "    \"order-id\" : 0,\n"
    "    \"fields\" : [ ]\n"
    "  }, {\n"
    "    \"order-id\" : 1,\n"
    "    \"fields\" : [ {\n"
    "      \"transform\" : \"identity\",\n"
    "      \"source-id\" : 2,\n"
    "      \"direction\" : \"desc\",\n"
    "      \"null-order\" : \"nulls-last\"\n"
    "    }, {\n"
    "      \"transform\" : \"bucket[4]\",\n"
    "      \"source-id\" : 1,\n"
    "      \"direction\" : \"asc\",\n"
    "      \"null-order\" : \"nulls-first\"\n"
    "    } ]\n"
    "  } ],\n"
    "  \"properties\" : {\n"
    "    \"write.parquet.compression-codec\" : \"zstd\",\n"
    "    \"commit.retry.num-retries\" : \"4\"\n"
    "  },\n"
    "  \"current-snapshot-id\" : 5938215412316418723,\n"
    "  \"next-row-id\" : 15,\n"
    "  \"refs\" : {\n"
    "    \"main\" : {\n"
    "      \"snapshot-id\" : 5938215412316418723,\n"
    "      \"type\" : \"branch\"\n"
    "    },\n"
    "    \"audit\" : {\n"
    "      \"snapshot-id\" : 3051729675574597004,\n"
    "      \"type\" : \"tag\",\n"
    "      \"max-ref-age-ms\" : 86400000\n"
    "    },\n"
    "    \"dev\" : {\n"
    "      \"snapshot-id\" : 3051729675574597004,\n"
    "      \"type\" : \"branch\",\n"
    "      \"min-snapshots-to-keep\" : 2,\n"
    "      \"max-snapshot-age-ms\" : 3600000\n"
    "    }\n"
    "  },\n"
    "  \"snapshots\" : [ {\n"
    "    \"sequence-number\" : 1,\n"
    "    \"snapshot-id\" : 3051729675574597004,\n"
    "    \"timestamp-ms\" : 1736200000000,\n"
    "    \"summary\" : {\n"
    "      \"operation\" : \"append\",\n"
    "      \"added-data-files\" : \"1\",\n"
    "      \"added-records\" : \"10\",\n"
    "      \"total-records\" : \"10\"\n"
    "    },\n"
    "    \"manifest-list\" : "
    "\"s3://bucket/warehouse/db/events/metadata/"
    "snap-3051729675574597004-1-a1.avro\",\n"
    "    \"schema-id\" : 0,\n"
    "    \"first-row-id\" : 0,\n"
    "    \"added-rows\" : 10\n"
    "  }, {\n"
    "    \"sequence-number\" : 2,\n"
    "    \"snapshot-id\" : 5938215412316418723,\n"
    "    \"parent-snapshot-id\" : 3051729675574597004,\n"
    "    \"timestamp-ms\" : 1736200000400,\n"
    "    \"summary\" : {\n"
    "      \"operation\" : \"overwrite\",\n"
    "      \"added-data-files\" : \"1\",\n"
    "      \"deleted-records\" : \"3\",\n"
    "      \"total-records\" : \"12\"\n"
    "    },\n"
    "    \"manifest-list\" : "
    "\"s3://bucket/warehouse/db/events/metadata/"
    "snap-5938215412316418723-1-b2.avro\",\n"
    "    \"schema-id\" : 1,\n"
    "    \"first-row-id\" : 10,\n"
    "    \"added-rows\" : 5\n"
    "  } ],\n"
    "  \"statistics\" : [ ],\n"
    "  \"partition-statistics\" : [ ],\n"
    "  \"snapshot-log\" : [ {\n"
    "    \"timestamp-ms\" : 1736200000000,\n"
    "    \"snapshot-id\" : 3051729675574597004\n"
    "  }, {\n"
    "    \"timestamp-ms\" : 1736200000400,\n"
    "    \"snapshot-id\" : 5938215412316418723\n"
    "  } ],\n"
    "  \"metadata-log\" : [ {\n"
    "    \"timestamp-ms\" : 1736199999000,\n"
    "    \"metadata-file\" : "
    "\"s3://bucket/warehouse/db/events/metadata/00000-aaaa.metadata.json\"\n"
    "  }, {\n"
    "    \"timestamp-ms\" : 1736200000000,\n"
    "    \"metadata-file\" : "
    "\"s3://bucket/warehouse/db/events/metadata/00001-bbbb.metadata.json\"\n"
    "  } ]\n"
    "}";

static const char V2_JAVA[] =
    "{\n"
    "  \"format-version\" : 2,\n"
    "  \"table-uuid\" : \"5F2B1B0A-8C4E-4E5B-9C1D-2A3B4C5D6E7F\",\n"
    "  \"location\" : \"file:/tmp/warehouse/db/orders\",\n"
    "  \"last-sequence-number\" : 3,\n"
    "  \"last-updated-ms\" : 1700000300000,\n"
    "  \"last-column-id\" : 4,\n"
    "  \"current-schema-id\" : 0,\n"
    "  \"schemas\" : [ {\n"
    "    \"type\" : \"struct\",\n"
    "    \"schema-id\" : 0,\n"
    "    \"fields\" : [ {\n"
    "      \"id\" : 1,\n"
    "      \"name\" : \"order_id\",\n"
    "      \"required\" : true,\n"
    "      \"type\" : \"long\"\n"
    "    }, {\n"
    "      \"id\" : 2,\n"
    "      \"name\" : \"placed\",\n"
    "      \"required\" : true,\n"
    "      \"type\" : \"date\"\n"
    "    }, {\n"
    "      \"id\" : 3,\n"
    "      \"name\" : \"customer\",\n"
    "      \"required\" : false,\n"
    "      \"type\" : \"string\",\n"
    "      \"doc\" : \"customer \\\"name\\\"\\nsecond line\"\n"
    "    }, {\n"
    "      \"id\" : 4,\n"
    "      \"name\" : \"price\",\n"
    "      \"required\" : false,\n"
    "      \"type\" : \"decimal(9, 2)\"\n"
    "    } ]\n"
    "  } ],\n"
    "  \"default-spec-id\" : 0,\n"
    "  \"partition-specs\" : [ {\n"
    "    \"spec-id\" : 0,\n"
    "    \"fields\" : [ {\n"
    "      \"name\" : \"placed_day\",\n"
    "      \"transform\" : \"day\",\n"
    "      \"source-id\" : 2,\n"
    "      \"field-id\" : 1000\n"
    "    }, {\n"
    "      \"name\" : \"order_id_bucket\",\n"
    "      \"transform\" : \"bucket[8]\",\n"
    "      \"source-id\" : 1,\n"
    "      \"field-id\" : 1001\n"
    "    }, {\n"
    "      \"name\" : \"customer\",\n"
    "      \"transform\" : \"identity\",\n"
    "      \"source-id\" : 3,\n"
    "      \"field-id\" : 1002\n"
    "    } ]\n"
    "  } ],\n"
    "  \"last-partition-id\" : 1002,\n"
    "  \"default-sort-order-id\" : 1,\n"
    "  \"sort-orders\" : [ {\n"
    "    \"order-id\" : 1,\n"
    "    \"fields\" : [ {\n"
    "      \"transform\" : \"identity\",\n"
    "      \"source-id\" : 1,\n"
    "      \"direction\" : \"asc\",\n"
    "      \"null-order\" : \"nulls-first\"\n"
    "    } ]\n"
    "  } ],\n"
    "  \"properties\" : {\n"
    "    \"owner\" : \"floe\",\n"
    "    \"write.format.default\" : \"parquet\"\n"
    "  },\n"
    "  \"current-snapshot-id\" : 8333017788700497002,\n"
    "  \"refs\" : {\n"
    "    \"main\" : {\n"
    "      \"snapshot-id\" : 8333017788700497002,\n"
    "      \"type\" : \"branch\"\n"
    "    }\n"
    "  },\n"
    "  \"snapshots\" : [ {\n"
    "    \"sequence-number\" : 1,\n"
    "    \"snapshot-id\" : 1111,\n"
    "    \"timestamp-ms\" : 1700000100000,\n"
    "    \"summary\" : {\n"
    "      \"operation\" : \"append\",\n"
    "      \"spark.app.id\" : \"local-1\",\n"
    "      \"added-data-files\" : \"2\"\n"
    "    },\n"
    "    \"manifest-list\" : "
    "\"file:/tmp/warehouse/db/orders/metadata/snap-1111-1-x.avro\",\n"
    "    \"schema-id\" : 0\n"
    "  }, {\n"
    "    \"sequence-number\" : 3,\n"
    "    \"snapshot-id\" : 8333017788700497002,\n"
    "    \"parent-snapshot-id\" : 1111,\n"
    "    \"timestamp-ms\" : 1700000300000,\n"
    "    \"summary\" : {\n"
    "      \"added-delete-files\" : \"1\",\n"
    "      \"operation\" : \"delete\"\n"
    "    },\n"
    "    \"manifest-list\" : "
    "\"file:/tmp/warehouse/db/orders/metadata/"
    "snap-8333017788700497002-1-y.avro\",\n"
    "    \"schema-id\" : 0\n"
    "  } ],\n"
    "  \"statistics\" : [ {\n"
    "    \"snapshot-id\" : 8333017788700497002,\n"
    "    \"statistics-path\" : "
    "\"file:/tmp/warehouse/db/orders/metadata/stats.puffin\",\n"
    "    \"file-size-in-bytes\" : 413,\n"
    "    \"file-footer-size-in-bytes\" : 42,\n"
    "    \"blob-metadata\" : [ {\n"
    "      \"type\" : \"apache-datasketches-theta-v1\",\n"
    "      \"snapshot-id\" : 8333017788700497002,\n"
    "      \"sequence-number\" : 3,\n"
    "      \"fields\" : [ 1 ]\n"
    "    } ]\n"
    "  } ],\n"
    "  \"partition-statistics\" : [ {\n"
    "    \"snapshot-id\" : 8333017788700497002,\n"
    "    \"statistics-path\" : "
    "\"file:/tmp/warehouse/db/orders/metadata/part-stats.parquet\",\n"
    "    \"file-size-in-bytes\" : 1200\n"
    "  } ],\n"
    "  \"snapshot-log\" : [ {\n"
    "    \"timestamp-ms\" : 1700000100000,\n"
    "    \"snapshot-id\" : 1111\n"
    "  }, {\n"
    "    \"timestamp-ms\" : 1700000300000,\n"
    "    \"snapshot-id\" : 8333017788700497002\n"
    "  } ],\n"
    "  \"metadata-log\" : [ {\n"
    "    \"timestamp-ms\" : 1700000000000,\n"
    "    \"metadata-file\" : "
    "\"file:/tmp/warehouse/db/orders/metadata/v1.metadata.json\"\n"
    "  } ]\n"
    "}";

/* A small v3 document for rejection tests (compact). */
static const char MIN_V3[] =
    "{\"format-version\":3,\"table-uuid\":\"9c12d441-03fe-4693-9a96-"
    "a0705ddf69c1\",\"location\":\"/t\",\"last-sequence-number\":3,"
    "\"last-updated-ms\":5,\"last-column-id\":2,\"current-schema-id\":0,"
    "\"schemas\":[{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
    "{\"id\":1,\"name\":\"a\",\"required\":true,\"type\":\"long\"},"
    "{\"id\":2,\"name\":\"b\",\"required\":false,\"type\":\"string\"}]}],"
    "\"default-spec-id\":0,\"partition-specs\":[{\"spec-id\":0,\"fields\":[]}],"
    "\"last-partition-id\":999,\"default-sort-order-id\":0,\"sort-orders\":[{"
    "\"order-id\":0,\"fields\":[]}],\"properties\":{},\"current-snapshot-id\":"
    "7,"
    "\"next-row-id\":0,\"refs\":{},\"snapshots\":["
    "{\"sequence-number\":1,\"snapshot-id\":5,\"timestamp-ms\":1,\"summary\":{"
    "\"operation\":\"append\"},\"manifest-list\":\"/t/m5.avro\"},"
    "{\"sequence-number\":2,\"snapshot-id\":6,\"parent-snapshot-id\":5,"
    "\"timestamp-ms\":2,\"summary\":{\"operation\":\"append\"},"
    "\"manifest-list\":\"/t/m6.avro\"},"
    "{\"sequence-number\":3,\"snapshot-id\":7,\"parent-snapshot-id\":6,"
    "\"timestamp-ms\":3,\"summary\":{\"operation\":\"append\"},"
    "\"manifest-list\":\"/t/m7.avro\"}]}";

static char *replace(const char *s, const char *from, const char *to) {
  const char *p = strstr(s, from);
  if (!p) fail_msg("fixture has no \"%s\"", from);
  size_t a = (size_t)(p - s), fl = strlen(from), tl = strlen(to);
  char *r = malloc(strlen(s) - fl + tl + 1);
  memcpy(r, s, a);
  memcpy(r + a, to, tl);
  strcpy(r + a + tl, p + fl);
  return r;
}

static ice_metadata *parse_ok(const char *json) {
  ice_metadata *md = NULL;
  floe_error e = {0};
  floe_status st = ice_metadata_parse(json, strlen(json), "t.json", &md, &e);
  if (st != FLOE_OK) fail_msg("parse failed: %s", e.msg);
  return md;
}

static char *write_md(const ice_metadata *md, bool pretty) {
  fbuf b = FBUF_INIT;
  floe_error e = {0};
  if (ice_metadata_write(md, pretty, &b, &e) != FLOE_OK)
    fail_msg("write failed: %s", e.msg);
  assert_int_equal(fbuf_put_u8(&b, 0, &e), FLOE_OK);
  return (char *)fbuf_take(&b);
}

/* write -> parse -> write must give the same bytes (both layouts). */
static void assert_fixed_point(const ice_metadata *md) {
  for (int pretty = 0; pretty < 2; pretty++) {
    char *a = write_md(md, pretty);
    ice_metadata *md2 = parse_ok(a);
    char *b = write_md(md2, pretty);
    assert_string_equal(a, b);
    free(a);
    free(b);
    ice_metadata_free(md2);
  }
}

static void expect_err(const char *json, floe_status code, const char *msg) {
  ice_metadata *md = NULL;
  floe_error e = {0};
  floe_status st =
      ice_metadata_parse(json, strlen(json), "v3.metadata.json", &md, &e);
  if (st != code || !strstr(e.msg, msg))
    fail_msg("expected %d \"%s\", got %d \"%s\"", code, msg, st, e.msg);
  assert_null(md);
}

static void expect_err_repl(const char *from, const char *to, floe_status code,
                            const char *msg) {
  char *j = replace(MIN_V3, from, to);
  expect_err(j, code, msg);
  free(j);
}

/* ---- new tables ---- */

static col_schema *test_schema(void) {
  col_field f[5] = {
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
  };
  col_schema *s;
  assert_int_equal(col_schema_new(f, 5, &s, NULL), FLOE_OK);
  return s;
}

static const char NEW_UNPARTITIONED[] =
    "{\n"
    "  \"format-version\" : 3,\n"
    "  \"table-uuid\" : \"0d5f1c2e-1b7a-4c3d-8e9f-a0b1c2d3e4f5\",\n"
    "  \"location\" : \"/tmp/t\",\n"
    "  \"last-sequence-number\" : 0,\n"
    "  \"last-updated-ms\" : 1700000000000,\n"
    "  \"last-column-id\" : 1,\n"
    "  \"current-schema-id\" : 0,\n"
    "  \"schemas\" : [ {\n"
    "    \"type\" : \"struct\",\n"
    "    \"schema-id\" : 0,\n"
    "    \"fields\" : [ {\n"
    "      \"id\" : 1,\n"
    "      \"name\" : \"id\",\n"
    "      \"required\" : true,\n"
    "      \"type\" : \"long\"\n"
    "    } ]\n"
    "  } ],\n"
    "  \"default-spec-id\" : 0,\n"
    "  \"partition-specs\" : [ {\n"
    "    \"spec-id\" : 0,\n"
    "    \"fields\" : [ ]\n"
    "  } ],\n"
    "  \"last-partition-id\" : 999,\n"
    "  \"default-sort-order-id\" : 0,\n"
    "  \"sort-orders\" : [ {\n"
    "    \"order-id\" : 0,\n"
    "    \"fields\" : [ ]\n"
    "  } ],\n"
    "  \"properties\" : { },\n"
    "  \"current-snapshot-id\" : null,\n"
    "  \"next-row-id\" : 0,\n"
    "  \"refs\" : { },\n"
    "  \"snapshots\" : [ ],\n"
    "  \"statistics\" : [ ],\n"
    "  \"partition-statistics\" : [ ],\n"
    "  \"snapshot-log\" : [ ],\n"
    "  \"metadata-log\" : [ ]\n"
    "}";

static void test_new_unpartitioned(void **state) {
  (void)state;
  col_field f = {.id = 1, .name = "id", .type = {.id = COL_INT64}};
  col_schema *s;
  assert_int_equal(col_schema_new(&f, 1, &s, NULL), FLOE_OK);
  ice_metadata *md;
  floe_error e;
  assert_int_equal(ice_metadata_new("/tmp/t", s, NULL,
                                    "0D5F1C2E-1B7A-4C3D-8E9F-A0B1C2D3E4F5",
                                    1700000000000, &md, &e),
                   FLOE_OK);
  col_schema_unref(s); /* the metadata holds its own reference */
  char *j = write_md(md, true);
  assert_string_equal(j, NEW_UNPARTITIONED);
  free(j);
  j = write_md(md, false);
  assert_non_null(strstr(j, "\"current-snapshot-id\":null,\"next-row-id\":0,"
                            "\"refs\":{},\"snapshots\":[]"));
  free(j);
  assert_fixed_point(md);
  assert_null(ice_metadata_current_snapshot(md));
  assert_int_equal(md->last_partition_id, 999);
  ice_metadata_free(md);
}

static void test_new_partitioned(void **state) {
  (void)state;
  col_schema *s = test_schema();
  ice_partition_field pf[2] = {{.source_id = 2, .name = "ts_day"},
                               {.source_id = 1, .name = "id_bucket"}};
  assert_int_equal(ice_transform_parse("day", &pf[0].transform, NULL), FLOE_OK);
  assert_int_equal(ice_transform_parse("bucket[16]", &pf[1].transform, NULL),
                   FLOE_OK);
  ice_partition_spec spec = {.spec_id = 9, .nfields = 2, .fields = pf};
  ice_metadata *md;
  floe_error e;
  assert_int_equal(ice_metadata_new("s3://b/t", s, &spec, NULL, 42, &md, &e),
                   FLOE_OK);
  assert_int_equal(md->format_version, 3);
  assert_int_equal(md->last_column_id, 6);
  assert_int_equal(md->last_partition_id, 1001);
  assert_int_equal(md->specs[0].spec_id, 0);
  assert_int_equal(md->specs[0].fields[0].field_id, 1000);
  assert_int_equal(md->specs[0].fields[1].field_id, 1001);
  assert_string_equal(md->specs[0].fields[1].transform.text, "bucket[16]");
  /* a random v4 UUID */
  const char *u = md->table_uuid;
  assert_int_equal(strlen(u), 36);
  assert_int_equal(u[14], '4');
  assert_non_null(strchr("89ab", u[19]));
  ice_metadata *md2;
  assert_int_equal(ice_metadata_new("s3://b/t", s, &spec, NULL, 42, &md2, &e),
                   FLOE_OK);
  assert_string_not_equal(md->table_uuid, md2->table_uuid);
  ice_metadata_free(md2);

  /* manifest header JSON: compact schema and spec fields */
  fbuf b = FBUF_INIT;
  assert_int_equal(ice_schema_write_json(&md->schemas[0], &b, &e), FLOE_OK);
  assert_int_equal(fbuf_put_u8(&b, 0, &e), FLOE_OK);
  assert_string_equal(
      (char *)b.data,
      "{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":"
      "\"id\",\"required\":true,\"type\":\"long\"},{\"id\":2,\"name\":\"ts\","
      "\"required\":false,\"type\":\"timestamptz\"},{\"id\":3,\"name\":"
      "\"tags\",\"required\":false,\"type\":{\"type\":\"list\",\"element-id\":"
      "4,\"element\":\"string\",\"element-required\":false}},{\"id\":5,"
      "\"name\":\"amount\",\"required\":false,\"type\":\"decimal(10,2)\"},"
      "{\"id\":6,\"name\":\"n\",\"required\":false,\"type\":\"int\"}]}");
  fbuf_reset(&b);
  assert_int_equal(ice_spec_fields_write_json(&md->specs[0], &b, &e), FLOE_OK);
  assert_int_equal(fbuf_put_u8(&b, 0, &e), FLOE_OK);
  assert_string_equal(
      (char *)b.data,
      "[{\"name\":\"ts_day\",\"transform\":\"day\",\"source-id\":"
      "2,\"field-id\":1000},{\"name\":\"id_bucket\","
      "\"transform\":\"bucket[16]\",\"source-id\":1,"
      "\"field-id\":1001}]");
  fbuf_free(&b);
  assert_fixed_point(md);
  ice_metadata_free(md);

  /* refusals: bad source, transform on the wrong type, name clash */
  pf[0].source_id = 99;
  assert_int_equal(ice_metadata_new("/t", s, &spec, NULL, 1, &md, &e),
                   FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "source column 99 does not exist"));
  pf[0].source_id = 3; /* a list */
  assert_int_equal(ice_metadata_new("/t", s, &spec, NULL, 1, &md, &e),
                   FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "not primitive"));
  pf[0].source_id = 5; /* day(decimal) */
  assert_int_equal(ice_metadata_new("/t", s, &spec, NULL, 1, &md, &e),
                   FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "\"day\" cannot be applied to type "
                                "decimal(10,2)"));
  pf[0].source_id = 2;
  pf[0].name = "id";
  assert_int_equal(ice_metadata_new("/t", s, &spec, NULL, 1, &md, &e),
                   FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "has the name of a column"));
  assert_int_equal(ice_metadata_new("", s, NULL, NULL, 1, &md, &e),
                   FLOE_EINVAL);
  assert_int_equal(ice_metadata_new("/t", s, NULL, "not-a-uuid", 1, &md, &e),
                   FLOE_EINVAL);
  ice_transform_clear(&pf[0].transform);
  ice_transform_clear(&pf[1].transform);
  col_schema_unref(s);
}

/* ---- Java-written documents ---- */

static void test_parse_v3_java(void **state) {
  (void)state;
  ice_metadata *md = parse_ok(V3_JAVA);
  assert_int_equal(md->format_version, 3);
  assert_string_equal(md->table_uuid, "9c12d441-03fe-4693-9a96-a0705ddf69c1");
  assert_string_equal(md->location, "s3://bucket/warehouse/db/events");
  assert_int_equal(md->last_sequence_number, 2);
  assert_int_equal(md->last_updated_ms, 1736200000500);
  assert_int_equal(md->last_column_id, 7);
  assert_int_equal(md->nschemas, 2);
  assert_int_equal(md->current_schema_id, 1);
  const ice_schema *s = ice_metadata_current_schema(md);
  assert_ptr_equal(s, &md->schemas[1]);
  assert_int_equal(s->nidentifier, 1);
  assert_int_equal(s->identifier_ids[0], 1);
  assert_int_equal(s->cols->nfields, 5);
  const col_field *f = s->cols->fields;
  assert_string_equal(f[0].name, "id");
  assert_int_equal(f[0].type.id, COL_INT64);
  assert_false(f[0].nullable);
  assert_int_equal(f[1].type.id, COL_TIMESTAMPTZ);
  assert_true(f[1].nullable);
  assert_int_equal(f[2].type.id, COL_LIST);
  assert_int_equal(f[2].type.elem, COL_UTF8);
  assert_int_equal(f[2].elem_id, 4);
  assert_true(f[2].elem_nullable);
  assert_int_equal(f[3].type.id, COL_DECIMAL);
  assert_int_equal(f[3].type.precision, 10);
  assert_int_equal(f[3].type.scale, 2);
  assert_false(f[3].nullable);
  assert_int_equal(f[4].type.elem, COL_INT32);
  assert_false(f[4].elem_nullable);
  assert_int_equal(ice_schema_max_id(s), 7);
  const ice_field_ext *x = ice_schema_ext(s, 5);
  assert_non_null(x);
  assert_string_equal(x->doc, "order total");
  assert_string_equal(x->initial_default, "\"0.00\"");
  assert_string_equal(x->write_default, "\"0.00\"");
  x = ice_schema_ext(s, 6);
  assert_string_equal(x->initial_default, "[1,2]");
  assert_string_equal(x->write_default, "[]");
  assert_null(x->doc);
  assert_null(ice_schema_ext(s, 1));

  assert_int_equal(md->nspecs, 2);
  assert_int_equal(md->default_spec_id, 1);
  const ice_partition_spec *sp = ice_metadata_spec(md, 1);
  assert_int_equal(sp->nfields, 3);
  assert_string_equal(sp->fields[0].name, "ts_day");
  assert_int_equal(sp->fields[0].transform.kind, ICE_T_DAY);
  assert_int_equal(sp->fields[0].source_id, 2);
  assert_int_equal(sp->fields[1].transform.kind, ICE_T_BUCKET);
  assert_int_equal(sp->fields[1].transform.param, 16);
  assert_int_equal(sp->fields[1].field_id, 1001);
  assert_int_equal(sp->fields[2].transform.kind, ICE_T_IDENTITY);
  assert_int_equal(sp->fields[2].field_id, 1002);
  assert_int_equal(md->last_partition_id, 1002);

  assert_int_equal(md->nsort_orders, 2);
  assert_int_equal(md->default_sort_order_id, 1);
  const ice_sort_order *so = &md->sort_orders[1];
  assert_int_equal(so->nfields, 2);
  assert_true(so->fields[0].descending);
  assert_false(so->fields[0].nulls_first);
  assert_int_equal(so->fields[1].transform.kind, ICE_T_BUCKET);
  assert_int_equal(so->fields[1].transform.param, 4);
  assert_false(so->fields[1].descending);
  assert_true(so->fields[1].nulls_first);

  assert_int_equal(md->properties.n, 2);
  assert_string_equal(md->properties.keys[0],
                      "write.parquet.compression-codec");
  assert_string_equal(ice_kv_get(&md->properties, "commit.retry.num-retries"),
                      "4");
  assert_int_equal(md->current_snapshot_id, 5938215412316418723LL);
  assert_int_equal(md->next_row_id, 15);

  assert_int_equal(md->nsnapshots, 2);
  const ice_snapshot *cur = ice_metadata_current_snapshot(md);
  assert_ptr_equal(cur, &md->snapshots[1]);
  assert_int_equal(cur->sequence_number, 2);
  assert_int_equal(cur->parent_id, 3051729675574597004LL);
  assert_int_equal(cur->timestamp_ms, 1736200000400);
  assert_string_equal(cur->manifest_list,
                      "s3://bucket/warehouse/db/events/metadata/"
                      "snap-5938215412316418723-1-b2.avro");
  assert_int_equal(cur->schema_id, 1);
  assert_int_equal(cur->first_row_id, 10);
  assert_int_equal(cur->added_rows, 5);
  assert_int_equal(cur->summary.n, 4);
  assert_string_equal(cur->summary.keys[0], "operation");
  assert_string_equal(cur->summary.vals[0], "overwrite");
  assert_string_equal(ice_kv_get(&cur->summary, "deleted-records"), "3");
  assert_int_equal(md->snapshots[0].parent_id, ICE_NONE);
  assert_int_equal(md->snapshots[0].first_row_id, 0);

  assert_int_equal(md->nrefs, 3);
  assert_string_equal(md->refs[0].name, "main");
  assert_false(md->refs[0].tag);
  assert_int_equal(md->refs[0].snapshot_id, 5938215412316418723LL);
  assert_int_equal(md->refs[0].min_snapshots_to_keep, ICE_NONE);
  assert_string_equal(md->refs[1].name, "audit");
  assert_true(md->refs[1].tag);
  assert_int_equal(md->refs[1].max_ref_age_ms, 86400000);
  assert_int_equal(md->refs[1].max_snapshot_age_ms, ICE_NONE);
  assert_int_equal(md->refs[2].min_snapshots_to_keep, 2);
  assert_int_equal(md->refs[2].max_snapshot_age_ms, 3600000);

  assert_int_equal(md->nsnapshot_log, 2);
  assert_int_equal(md->snapshot_log[1].snapshot_id, 5938215412316418723LL);
  assert_int_equal(md->snapshot_log[1].timestamp_ms, 1736200000400);
  assert_int_equal(md->nmetadata_log, 2);
  assert_string_equal(md->metadata_log[0].file,
                      "s3://bucket/warehouse/db/events/metadata/"
                      "00000-aaaa.metadata.json");
  assert_int_equal(md->metadata_log[0].timestamp_ms, 1736199999000);

  /* floe writes exactly what Java wrote */
  char *j = write_md(md, true);
  assert_string_equal(j, V3_JAVA);
  free(j);
  assert_fixed_point(md);
  ice_metadata_free(md);
}

static void test_parse_v2_java(void **state) {
  (void)state;
  ice_metadata *md = parse_ok(V2_JAVA);
  assert_int_equal(md->format_version, 2);
  /* UUIDs are kept in canonical lower case */
  assert_string_equal(md->table_uuid, "5f2b1b0a-8c4e-4e5b-9c1d-2a3b4c5d6e7f");
  assert_int_equal(md->last_sequence_number, 3);
  assert_int_equal(md->next_row_id, 0);
  const ice_schema *s = ice_metadata_current_schema(md);
  assert_int_equal(s->cols->nfields, 4);
  assert_int_equal(s->nidentifier, 0);
  assert_int_equal(s->cols->fields[1].type.id, COL_DATE);
  /* "decimal(9, 2)": whitespace accepted */
  assert_int_equal(s->cols->fields[3].type.precision, 9);
  assert_int_equal(s->cols->fields[3].type.scale, 2);
  assert_string_equal(ice_schema_ext(s, 3)->doc,
                      "customer \"name\"\nsecond line");
  const ice_partition_spec *sp = ice_metadata_spec(md, 0);
  assert_int_equal(sp->nfields, 3);
  assert_int_equal(sp->fields[0].transform.kind, ICE_T_DAY);
  assert_int_equal(sp->fields[1].transform.param, 8);
  assert_int_equal(sp->fields[2].transform.kind, ICE_T_IDENTITY);
  assert_string_equal(sp->fields[2].name, "customer");
  assert_int_equal(md->nsort_orders, 1);
  assert_int_equal(md->sort_orders[0].order_id, 1);
  assert_string_equal(ice_kv_get(&md->properties, "owner"), "floe");
  assert_int_equal(md->nsnapshots, 2);
  assert_int_equal(md->snapshots[0].snapshot_id, 1111);
  assert_int_equal(md->snapshots[0].first_row_id, ICE_NONE);
  assert_int_equal(md->snapshots[0].added_rows, ICE_NONE);
  assert_string_equal(ice_kv_get(&md->snapshots[0].summary, "spark.app.id"),
                      "local-1");
  /* operation moves to the front */
  assert_string_equal(md->snapshots[1].summary.keys[0], "operation");
  assert_string_equal(md->snapshots[1].summary.vals[0], "delete");
  assert_int_equal(md->nrefs, 1);
  assert_int_equal(md->nmetadata_log, 1);

  char *j = write_md(md, true);
  /* statistics are dropped, v2 shape kept (no next-row-id) */
  assert_non_null(strstr(j, "  \"statistics\" : [ ],\n"
                            "  \"partition-statistics\" : [ ],\n"));
  assert_null(strstr(j, "next-row-id"));
  assert_non_null(strstr(j, "\"type\" : \"decimal(9,2)\""));
  assert_non_null(strstr(j, "\"doc\" : \"customer \\\"name\\\"\\nsecond "
                            "line\""));
  assert_non_null(strstr(j, "\"summary\" : {\n"
                            "      \"operation\" : \"delete\",\n"
                            "      \"added-delete-files\" : \"1\"\n"));
  free(j);
  assert_fixed_point(md);
  ice_metadata_free(md);

  /* v2: "no snapshot" is -1 on both sides; refs absent with a current
   * snapshot gets a main branch */
  char *v = replace(MIN_V3, "\"format-version\":3", "\"format-version\":2");
  char *w =
      replace(v, "\"current-snapshot-id\":7", "\"current-snapshot-id\":-1");
  md = parse_ok(w);
  assert_int_equal(md->current_snapshot_id, ICE_NONE);
  assert_int_equal(md->nrefs, 0);
  j = write_md(md, false);
  assert_non_null(strstr(j, "\"current-snapshot-id\":-1,\"refs\":{}"));
  free(j);
  ice_metadata_free(md);
  free(w);
  w = replace(v, ",\"refs\":{}", "");
  md = parse_ok(w);
  assert_int_equal(md->nrefs, 1);
  assert_string_equal(md->refs[0].name, "main");
  assert_int_equal(md->refs[0].snapshot_id, 7);
  j = write_md(md, false);
  assert_non_null(
      strstr(j, "\"refs\":{\"main\":{\"snapshot-id\":7,\"type\":\"branch\"}}"));
  free(j);
  assert_fixed_point(md);
  ice_metadata_free(md);
  free(w);
  free(v);
}

static const char V1_DOC[] =
    "{\"format-version\":1,\"location\":\"/w/v1\",\"last-updated-ms\":9,"
    "\"last-column-id\":2,\"schema\":{\"type\":\"struct\",\"fields\":[{\"id\":"
    "1,"
    "\"name\":\"k\",\"required\":true,\"type\":\"int\"},{\"id\":2,\"name\":"
    "\"s\",\"required\":false,\"type\":\"string\"}]},\"partition-spec\":[{"
    "\"name\":\"k_trunc\",\"transform\":\"truncate[10]\",\"source-id\":1},{"
    "\"name\":\"s_z\",\"transform\":\"zorder\",\"source-id\":2}],"
    "\"properties\":{},\"current-snapshot-id\":-1,\"snapshots\":[],"
    "\"unknown-key\":{\"x\":[1,2]}}";

static void test_parse_v1(void **state) {
  (void)state;
  ice_metadata *md = parse_ok(V1_DOC);
  assert_int_equal(md->format_version, 1);
  assert_string_equal(md->table_uuid, "");
  assert_int_equal(md->nschemas, 1);
  assert_int_equal(md->current_schema_id, 0);
  assert_int_equal(md->nspecs, 1);
  const ice_partition_spec *sp = &md->specs[0];
  assert_int_equal(sp->fields[0].field_id, 1000);
  assert_int_equal(sp->fields[0].transform.kind, ICE_T_TRUNCATE);
  assert_int_equal(sp->fields[0].transform.param, 10);
  /* unknown transforms are kept verbatim (v3 readers must tolerate them) */
  assert_int_equal(sp->fields[1].field_id, 1001);
  assert_int_equal(sp->fields[1].transform.kind, ICE_T_UNKNOWN);
  assert_string_equal(sp->fields[1].transform.text, "zorder");
  assert_int_equal(md->last_partition_id, 1001);
  assert_int_equal(md->nsort_orders, 1);
  assert_int_equal(md->sort_orders[0].nfields, 0);
  char *j = write_md(md, false);
  assert_string_equal(
      j,
      "{\"format-version\":1,\"location\":\"/w/v1\",\"last-updated-ms\":9,"
      "\"last-column-id\":2,\"schema\":{\"type\":\"struct\",\"schema-id\":0,"
      "\"fields\":[{\"id\":1,\"name\":\"k\",\"required\":true,\"type\":"
      "\"int\"},{\"id\":2,\"name\":\"s\",\"required\":false,\"type\":"
      "\"string\"}]},\"current-schema-id\":0,\"schemas\":[{\"type\":\"struct\","
      "\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"k\",\"required\":true,"
      "\"type\":\"int\"},{\"id\":2,\"name\":\"s\",\"required\":false,\"type\":"
      "\"string\"}]}],\"partition-spec\":[{\"name\":\"k_trunc\",\"transform\":"
      "\"truncate[10]\",\"source-id\":1,\"field-id\":1000},{\"name\":\"s_z\","
      "\"transform\":\"zorder\",\"source-id\":2,\"field-id\":1001}],"
      "\"default-spec-id\":0,\"partition-specs\":[{\"spec-id\":0,\"fields\":[{"
      "\"name\":\"k_trunc\",\"transform\":\"truncate[10]\",\"source-id\":1,"
      "\"field-id\":1000},{\"name\":\"s_z\",\"transform\":\"zorder\","
      "\"source-id\":2,\"field-id\":1001}]}],\"last-partition-id\":1001,"
      "\"default-sort-order-id\":0,\"sort-orders\":[{\"order-id\":0,\"fields\":"
      "[]}],\"properties\":{},\"current-snapshot-id\":-1,\"refs\":{},"
      "\"snapshots\":[],\"statistics\":[],\"partition-statistics\":[],"
      "\"snapshot-log\":[],\"metadata-log\":[]}");
  free(j);
  assert_fixed_point(md);
  ice_metadata_free(md);
  /* v1 snapshots listing manifests inline are refused, by name */
  char *v = replace(V1_DOC, "\"snapshots\":[]",
                    "\"snapshots\":[{\"snapshot-id\":1,\"timestamp-ms\":1,"
                    "\"manifests\":[\"/m.avro\"]}]");
  expect_err(v, FLOE_EUNSUPPORTED,
             "snapshots[0].manifests: v1 snapshots with embedded manifest");
  free(v);
}

/* ---- rejections ---- */

static void test_reject(void **state) {
  (void)state;
  ice_metadata *md = parse_ok(MIN_V3);
  ice_metadata_free(md);
  expect_err_repl("\"format-version\":3", "\"format-version\":4",
                  FLOE_EUNSUPPORTED,
                  "v3.metadata.json: format-version: version 4 is newer than "
                  "floe reads (1..3)");
  expect_err_repl("\"format-version\":3", "\"format-version\":0", FLOE_ECORRUPT,
                  "format-version: 0 is not 1..3");
  expect_err_repl("\"format-version\":3,", "", FLOE_ECORRUPT,
                  "v3.metadata.json: format-version: missing");
  expect_err_repl("\"location\":\"/t\",", "", FLOE_ECORRUPT,
                  "v3.metadata.json: location: missing");
  expect_err_repl("\"location\":\"/t\"", "\"location\":5", FLOE_ECORRUPT,
                  "v3.metadata.json: location: expected string");
  expect_err_repl("\"current-schema-id\":0", "\"current-schema-id\":3",
                  FLOE_ECORRUPT,
                  "v3.metadata.json: current-schema-id: schema 3 does not "
                  "exist");
  expect_err_repl("\"default-spec-id\":0", "\"default-spec-id\":2",
                  FLOE_ECORRUPT, "default-spec-id: spec 2 does not exist");
  expect_err_repl("\"default-sort-order-id\":0", "\"default-sort-order-id\":2",
                  FLOE_ECORRUPT,
                  "default-sort-order-id: sort order 2 does "
                  "not exist");
  expect_err_repl("\"current-snapshot-id\":7", "\"current-snapshot-id\":8",
                  FLOE_ECORRUPT,
                  "current-snapshot-id: snapshot 8 does not "
                  "exist");
  expect_err_repl("{\"id\":2,", "{\"id\":1,", FLOE_ECORRUPT,
                  "v3.metadata.json: schemas[0].fields: field id 1 is used "
                  "twice");
  expect_err_repl("\"name\":\"b\"", "\"name\":\"a\"", FLOE_ECORRUPT,
                  "schemas[0].fields: field name \"a\" is used twice");
  expect_err_repl("\"manifest-list\":\"/t/m7.avro\"", "\"manifest-list\":7",
                  FLOE_ECORRUPT,
                  "v3.metadata.json: snapshots[2].manifest-list: expected "
                  "string");
  expect_err_repl("\"required\":true", "\"required\":\"yes\"", FLOE_ECORRUPT,
                  "schemas[0].fields[0].required: expected boolean");
  expect_err_repl("\"last-column-id\":2", "\"last-column-id\":\"2\"",
                  FLOE_ECORRUPT, "last-column-id: expected integer");
  expect_err_repl("\"last-column-id\":2", "\"last-column-id\":1", FLOE_ECORRUPT,
                  "last-column-id: 1 is below field id 2 of schema 0");
  expect_err_repl("\"last-column-id\":2", "\"last-column-id\":4294967296",
                  FLOE_ECORRUPT,
                  "last-column-id: 4294967296 is out of int "
                  "range");
  expect_err_repl("\"schemas\":[", "\"schemas\":{\"a\":[", FLOE_ECORRUPT,
                  "invalid JSON");
  expect_err_repl("\"properties\":{}", "\"properties\":{\"a\":1}",
                  FLOE_ECORRUPT, "properties.a: expected string");
  expect_err_repl("\"properties\":{}", "\"properties\":[]", FLOE_ECORRUPT,
                  "properties: expected object");
  expect_err_repl("\"next-row-id\":0,", "", FLOE_ECORRUPT,
                  "next-row-id: missing");
  expect_err_repl("\"next-row-id\":0", "\"next-row-id\":-4", FLOE_ECORRUPT,
                  "next-row-id: must not be negative (-4)");
  expect_err_repl("\"table-uuid\":\"9c12d441-03fe-4693-9a96-a0705ddf69c1\"",
                  "\"table-uuid\":\"xyz\"", FLOE_ECORRUPT,
                  "table-uuid: \"xyz\" is not a UUID");
  expect_err_repl("\"sequence-number\":3", "\"sequence-number\":4",
                  FLOE_ECORRUPT,
                  "snapshots[2]: sequence-number 4 is above "
                  "last-sequence-number 3");
  expect_err_repl("\"snapshot-id\":6,", "\"snapshot-id\":5,", FLOE_ECORRUPT,
                  "snapshots: snapshot-id 5 is used twice");
  expect_err_repl("\"summary\":{\"operation\":\"append\"},\"manifest-list\":"
                  "\"/t/m5.avro\"",
                  "\"summary\":{\"operation\":\"append\",\"n\":1},"
                  "\"manifest-list\":\"/t/m5.avro\"",
                  FLOE_ECORRUPT, "snapshots[0].summary.n: expected string");
  expect_err_repl("\"refs\":{}",
                  "\"refs\":{\"main\":{\"snapshot-id\":5,\"type\":\"branch\"}}",
                  FLOE_ECORRUPT,
                  "refs.main: main points at 5, current-snapshot-id is 7");
  expect_err_repl(
      "\"refs\":{}", "\"refs\":{\"x\":{\"snapshot-id\":99,\"type\":\"tag\"}}",
      FLOE_ECORRUPT, "refs.x.snapshot-id: snapshot 99 does not exist");
  expect_err_repl("\"refs\":{}",
                  "\"refs\":{\"x\":{\"snapshot-id\":5,\"type\":\"leaf\"}}",
                  FLOE_ECORRUPT, "refs.x.type: expected \"branch\" or \"tag\"");
  expect_err_repl("\"refs\":{}",
                  "\"refs\":{\"x\":{\"snapshot-id\":5,\"type\":\"tag\","
                  "\"min-snapshots-to-keep\":2}}",
                  FLOE_ECORRUPT,
                  "refs.x: a tag cannot have branch retention settings");
  expect_err_repl("\"fields\":[]}],\"last-partition-id\":999",
                  "\"fields\":[{\"name\":\"p\",\"transform\":\"identity\","
                  "\"source-id\":1,\"field-id\":1000},{\"name\":\"q\","
                  "\"transform\":\"void\",\"source-id\":2}]}],"
                  "\"last-partition-id\":1000",
                  FLOE_ECORRUPT,
                  "partition-specs[0].fields: 1 of 2 partition fields have "
                  "no field-id");
  expect_err_repl("\"fields\":[]}],\"last-partition-id\":999",
                  "\"fields\":[{\"name\":\"p\",\"transform\":\"identity\","
                  "\"source-id\":1,\"field-id\":1000}]}],"
                  "\"last-partition-id\":999",
                  FLOE_ECORRUPT,
                  "last-partition-id: 999 is below partition field id 1000");
  expect_err_repl("\"fields\":[]}],\"last-partition-id\":999",
                  "\"fields\":[{\"name\":\"p\",\"transform\":\"bucket[0]\","
                  "\"source-id\":1,\"field-id\":1000}]}],"
                  "\"last-partition-id\":1000",
                  FLOE_ECORRUPT,
                  "partition-specs[0].fields[0].transform: transform "
                  "\"bucket[0]\": parameter must be 1..");
  expect_err_repl("\"fields\":[]}],\"last-partition-id\":999",
                  "\"fields\":[{\"name\":\"p\",\"transform\":\"bucket[2]\","
                  "\"source-ids\":[1,2],\"field-id\":1000}]}],"
                  "\"last-partition-id\":1000",
                  FLOE_EUNSUPPORTED, "multi-argument transforms");
  expect_err_repl("{\"order-id\":0,\"fields\":[]}",
                  "{\"order-id\":0,\"fields\":[{\"transform\":\"identity\","
                  "\"source-id\":1,\"direction\":\"up\",\"null-order\":"
                  "\"nulls-last\"}]}",
                  FLOE_ECORRUPT,
                  "sort-orders[0].fields[0].direction: expected \"asc\" or "
                  "\"desc\"");
  expect_err_repl("\"fields\":[]}],\"last-partition-id\"",
                  "\"fields\":[]},{\"spec-id\":0,\"fields\":[]}],"
                  "\"last-partition-id\"",
                  FLOE_ECORRUPT, "partition-specs: spec-id 0 is used twice");
  /* defaults must fit the type */
  expect_err_repl("\"type\":\"long\"}",
                  "\"type\":\"long\",\"initial-default\":\"x\"}", FLOE_ECORRUPT,
                  "schemas[0].fields[0].initial-default: expected an integer");
  expect_err_repl("\"type\":\"string\"}",
                  "\"type\":\"decimal(5,2)\",\"write-default\":\"1.5\"}",
                  FLOE_ECORRUPT,
                  "schemas[0].fields[1].write-default: expected a decimal "
                  "string with exactly the column's scale");
  /* types floe has no column for */
  static const struct {
    const char *type, *msg;
  } unsup[] = {
      {"{\"type\":\"struct\",\"fields\":[]}",
       "schemas[0].fields[1].type: field \"b\": Iceberg type struct is not "
       "supported by floe"},
      {"{\"type\":\"map\",\"key-id\":3,\"key\":\"string\",\"value-id\":4,"
       "\"value\":\"int\",\"value-required\":false}",
       "Iceberg type map is not supported"},
      {"\"fixed[16]\"", "field \"b\": Iceberg type fixed[16] is not supported"},
      {"\"timestamp_ns\"", "Iceberg type timestamp_ns is not supported"},
      {"\"variant\"", "Iceberg type variant is not supported"},
      {"\"geometry(srid:4326)\"", "Iceberg type geometry(srid:4326)"},
      {"{\"type\":\"list\",\"element-id\":3,\"element-required\":true,"
       "\"element\":{\"type\":\"list\",\"element-id\":4,\"element-required\":"
       "true,\"element\":\"int\"}}",
       "schemas[0].fields[1].type.element: field \"b\": list of list is not "
       "supported"},
  };
  for (size_t i = 0; i < sizeof unsup / sizeof *unsup; i++) {
    char to[300];
    snprintf(to, sizeof to, "\"type\":%s}", unsup[i].type);
    char *j = replace(MIN_V3, "\"type\":\"string\"}", to);
    char *k = replace(j, "\"last-column-id\":2", "\"last-column-id\":9");
    expect_err(k, FLOE_EUNSUPPORTED, unsup[i].msg);
    free(j);
    free(k);
  }
  expect_err_repl("\"type\":\"string\"}", "\"type\":\"decimal(39,1)\"}",
                  FLOE_ECORRUPT, "decimal precision 39 of field \"b\"");
  expect_err_repl("\"type\":\"string\"}", "\"type\":\"strin\"}", FLOE_ECORRUPT,
                  "schemas[0].fields[1].type: unknown type \"strin\"");
  /* v2 needs what v1 could leave out */
  char *v = replace(MIN_V3, "\"format-version\":3", "\"format-version\":2");
  char *w = replace(
      v, "\"table-uuid\":\"9c12d441-03fe-4693-9a96-a0705ddf69c1\",", "");
  expect_err(w, FLOE_ECORRUPT, "table-uuid: missing");
  free(w);
  w = replace(v, "\"last-sequence-number\":3,", "");
  expect_err(w, FLOE_ECORRUPT, "last-sequence-number: missing");
  free(w);
  w = replace(v, ",\"sort-orders\":[{\"order-id\":0,\"fields\":[]}]", "");
  expect_err(w, FLOE_ECORRUPT, "sort-orders: missing");
  free(w);
  free(v);
  /* not JSON, not an object, duplicate keys */
  expect_err("{", FLOE_ECORRUPT, "v3.metadata.json: invalid JSON at line 1");
  expect_err("[1]", FLOE_ECORRUPT, "v3.metadata.json: expected a JSON object");
  expect_err_repl("\"location\":\"/t\"",
                  "\"location\":\"/t\",\"location\":\"/u\"", FLOE_ECORRUPT,
                  "duplicate object key");
  expect_err("", FLOE_ECORRUPT, "invalid JSON");
}

/* Lenient reads that Java also accepts. */
static void test_lenient(void **state) {
  (void)state;
  /* a summary without "operation" reads as an overwrite (Java) */
  char *j =
      replace(MIN_V3,
              "\"summary\":{\"operation\":\"append\"},"
              "\"manifest-list\":\"/t/m5.avro\"",
              "\"summary\":{\"k\":\"v\"},\"manifest-list\":\"/t/m5.avro\"");
  ice_metadata *md = parse_ok(j);
  assert_string_equal(md->snapshots[0].summary.keys[0], "operation");
  assert_string_equal(md->snapshots[0].summary.vals[0], "overwrite");
  assert_string_equal(md->snapshots[0].summary.vals[1], "v");
  assert_fixed_point(md);
  ice_metadata_free(md);
  free(j);
  /* null for optional fields, -1 for no snapshot, sequence-number 0 */
  j = replace(MIN_V3, "\"current-snapshot-id\":7",
              "\"current-snapshot-id\":-1");
  char *k = replace(j, "\"refs\":{}", "\"refs\":null");
  md = parse_ok(k);
  assert_int_equal(md->current_snapshot_id, ICE_NONE);
  char *o = write_md(md, false);
  assert_non_null(strstr(o, "\"current-snapshot-id\":null,"));
  free(o);
  ice_metadata_free(md);
  free(j);
  free(k);
  /* defaults of every floe type, canonicalised */
  static const struct {
    col_dtype t;
    const char *in, *out;
  } ok[] = {
      {{.id = COL_BOOL}, "true", "true"},
      {{.id = COL_INT16}, "-32768", "-32768"},
      {{.id = COL_INT32}, " 7 ", "7"},
      {{.id = COL_INT64}, "9007199254740993", "9007199254740993"},
      {{.id = COL_FLOAT32}, "1.5", "1.5"},
      {{.id = COL_FLOAT64}, "0.1", "0.1"},
      {{.id = COL_FLOAT64}, "1e300", "1e+300"},
      {{.id = COL_FLOAT64}, "2", "2"},
      {{.id = COL_DECIMAL, .precision = 5, .scale = 2},
       "\"-123.45\"",
       "\"-123.45\""},
      {{.id = COL_DECIMAL, .precision = 3, .scale = 0}, "\"007\"", "\"007\""},
      {{.id = COL_UTF8}, "\"a\\u00e9\\n\"", "\"a\xc3\xa9\\n\""},
      {{.id = COL_BINARY}, "\"00ff\"", "\"00ff\""},
      {{.id = COL_DATE}, "\"2024-02-29\"", "\"2024-02-29\""},
      {{.id = COL_TIME}, "\"22:31:08.123456\"", "\"22:31:08.123456\""},
      {{.id = COL_TIMESTAMP},
       "\"2017-11-16T22:31:08\"",
       "\"2017-11-16T22:31:08\""},
      {{.id = COL_TIMESTAMPTZ},
       "\"2017-11-16T22:31:08.1+00:00\"",
       "\"2017-11-16T22:31:08.1+00:00\""},
      {{.id = COL_UUID},
       "\"f79c3e09-677c-4bbd-a479-3f349cb785e7\"",
       "\"f79c3e09-677c-4bbd-a479-3f349cb785e7\""},
      {{.id = COL_LIST, .elem = COL_INT32}, "[1, null, 3]", "[1,null,3]"},
      {{.id = COL_UTF8}, "null", "null"},
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    char *c;
    floe_error e = {0};
    if (ice_default_canonical(ok[i].t, true, ok[i].in, &c, &e) != FLOE_OK)
      fail_msg("default %s: %s", ok[i].in, e.msg);
    assert_string_equal(c, ok[i].out);
    free(c);
  }
  static const struct {
    col_dtype t;
    bool elem_nullable;
    const char *in;
  } bad[] = {
      {{.id = COL_BOOL}, false, "1"},
      {{.id = COL_INT16}, false, "40000"},
      {{.id = COL_INT32}, false, "2147483648"},
      {{.id = COL_INT32}, false, "1.0"},
      {{.id = COL_FLOAT32}, false, "1e300"},
      {{.id = COL_DECIMAL, .precision = 4, .scale = 2}, false, "\"123.45\""},
      {{.id = COL_DECIMAL, .precision = 5, .scale = 2}, false, "\"1.5\""},
      {{.id = COL_DECIMAL, .precision = 5, .scale = 2}, false, "12.50"},
      {{.id = COL_BINARY}, false, "\"0f0\""},
      {{.id = COL_DATE}, false, "\"2023-02-29\""},
      {{.id = COL_TIME}, false, "\"24:00:00\""},
      {{.id = COL_TIME}, false, "\"10:00:00.1234567\""},
      {{.id = COL_TIMESTAMP}, false, "\"2017-11-16T22:31:08+00:00\""},
      {{.id = COL_TIMESTAMPTZ}, false, "\"2017-11-16T22:31:08+01:00\""},
      {{.id = COL_UUID}, false, "\"f79c3e09677c4bbda4793f349cb785e7\""},
      {{.id = COL_LIST, .elem = COL_INT32}, false, "[1, null]"},
      {{.id = COL_LIST, .elem = COL_INT32}, true, "1"},
      {{.id = COL_UTF8}, false, "{\"a\":"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char *c = NULL;
    floe_error e = {0};
    if (ice_default_canonical(bad[i].t, bad[i].elem_nullable, bad[i].in, &c,
                              &e) != FLOE_EINVAL)
      fail_msg("default %s accepted", bad[i].in);
    assert_null(c);
  }
}

static void test_transforms(void **state) {
  (void)state;
  static const struct {
    const char *in;
    ice_transform_kind kind;
    int32_t param;
    const char *text;
  } cases[] = {
      {"identity", ICE_T_IDENTITY, 0, "identity"},
      {"Identity", ICE_T_IDENTITY, 0, "identity"},
      {"bucket[16]", ICE_T_BUCKET, 16, "bucket[16]"},
      {"BUCKET[016]", ICE_T_BUCKET, 16, "bucket[16]"},
      {"truncate[2147483647]", ICE_T_TRUNCATE, INT32_MAX,
       "truncate[2147483647]"},
      {"year", ICE_T_YEAR, 0, "year"},
      {"month", ICE_T_MONTH, 0, "month"},
      {"day", ICE_T_DAY, 0, "day"},
      {"hour", ICE_T_HOUR, 0, "hour"},
      {"void", ICE_T_VOID, 0, "void"},
      {"zorder", ICE_T_UNKNOWN, 0, "zorder"},
      {"bucket", ICE_T_UNKNOWN, 0, "bucket"},
      {"bucket[x]", ICE_T_UNKNOWN, 0, "bucket[x]"},
      {"bucket[ 4]", ICE_T_UNKNOWN, 0, "bucket[ 4]"},
      {"identity[3]", ICE_T_UNKNOWN, 0, "identity[3]"},
      {"", ICE_T_UNKNOWN, 0, ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    ice_transform t;
    assert_int_equal(ice_transform_parse(cases[i].in, &t, NULL), FLOE_OK);
    assert_int_equal(t.kind, cases[i].kind);
    assert_int_equal(t.param, cases[i].param);
    assert_string_equal(t.text, cases[i].text);
    ice_transform_clear(&t);
  }
  ice_transform t;
  floe_error e;
  assert_int_equal(ice_transform_parse("bucket[0]", &t, &e), FLOE_EINVAL);
  assert_int_equal(ice_transform_parse("truncate[2147483648]", &t, &e),
                   FLOE_EINVAL);
  assert_int_equal(ice_transform_parse("hour", &t, NULL), FLOE_OK);
  col_dtype ts = {.id = COL_TIMESTAMP}, date = {.id = COL_DATE};
  assert_int_equal(ice_transform_check(&t, ts, NULL), FLOE_OK);
  assert_int_equal(ice_transform_check(&t, date, &e), FLOE_EINVAL);
  assert_string_equal(e.msg, "transform \"hour\" cannot be applied to type "
                             "date");
  ice_transform_clear(&t);
  assert_int_equal(ice_transform_parse("day", &t, NULL), FLOE_OK);
  assert_int_equal(ice_transform_result_type(&t, ts).id, COL_DATE);
  ice_transform_clear(&t);
  assert_int_equal(ice_transform_parse("truncate[3]", &t, NULL), FLOE_OK);
  col_dtype s = {.id = COL_UTF8}, u = {.id = COL_UUID};
  assert_int_equal(ice_transform_check(&t, s, NULL), FLOE_OK);
  assert_int_equal(ice_transform_check(&t, u, NULL), FLOE_EINVAL);
  assert_int_equal(ice_transform_result_type(&t, s).id, COL_UTF8);
  ice_transform_clear(&t);
  assert_int_equal(ice_transform_parse("zorder", &t, NULL), FLOE_OK);
  assert_int_equal(ice_transform_check(&t, s, &e), FLOE_EINVAL);
  assert_non_null(strstr(e.msg, "unknown"));
  ice_transform_clear(&t);
  char buf[48];
  col_dtype d = {.id = COL_DECIMAL, .precision = 38, .scale = 10};
  assert_string_equal(ice_type_name(d, buf, sizeof buf), "decimal(38,10)");
  col_dtype l = {.id = COL_LIST, .elem = COL_INT16};
  assert_string_equal(ice_type_name(l, buf, sizeof buf), "list<int>");
}

static void test_kv(void **state) {
  (void)state;
  ice_kv kv = {0};
  for (int i = 0; i < 20; i++) {
    char k[8], v[8];
    snprintf(k, sizeof k, "k%d", i);
    snprintf(v, sizeof v, "v%d", i);
    assert_int_equal(ice_kv_set(&kv, k, v, NULL), FLOE_OK);
  }
  assert_int_equal(ice_kv_set(&kv, "k3", "new", NULL), FLOE_OK);
  assert_int_equal(kv.n, 20);
  assert_string_equal(kv.keys[3], "k3");
  assert_string_equal(ice_kv_get(&kv, "k3"), "new");
  assert_null(ice_kv_get(&kv, "nope"));
  ice_kv c;
  assert_int_equal(ice_kv_copy(&c, &kv, NULL), FLOE_OK);
  ice_kv_free(&kv);
  assert_string_equal(ice_kv_get(&c, "k19"), "v19");
  ice_kv_free(&c);
  ice_kv_free(NULL);
}

/* The clone must not share anything freeable with the original (ASan
 * catches a use after free here). */
static void test_clone(void **state) {
  (void)state;
  ice_metadata *md = parse_ok(V3_JAVA);
  ice_metadata *c;
  assert_int_equal(ice_metadata_clone(md, &c, NULL), FLOE_OK);
  ice_metadata_free(md);
  char *j = write_md(c, true);
  assert_string_equal(j, V3_JAVA);
  free(j);
  /* edits to the clone stay in the clone */
  ice_metadata *c2;
  assert_int_equal(ice_metadata_clone(c, &c2, NULL), FLOE_OK);
  assert_int_equal(ice_kv_set(&c2->properties, "owner", "x", NULL), FLOE_OK);
  assert_int_equal(
      ice_kv_set(&c2->snapshots[0].summary, "operation", "replace", NULL),
      FLOE_OK);
  assert_null(ice_kv_get(&c->properties, "owner"));
  assert_string_equal(c->snapshots[0].summary.vals[0], "append");
  ice_metadata_free(c);
  j = write_md(c2, false);
  assert_non_null(strstr(j, "\"owner\":\"x\""));
  free(j);
  ice_metadata_free(c2);
  ice_metadata_free(NULL);
}

static char *write_cached(const ice_metadata *md, bool pretty,
                          ice_md_jcache *c) {
  fbuf b = FBUF_INIT;
  assert_int_equal(ice_metadata_write_cached(md, pretty, c, &b, NULL), FLOE_OK);
  assert_int_equal(fbuf_append(&b, "", 1, NULL), FLOE_OK);
  return (char *)fbuf_take(&b);
}

/* Spliced snapshot text must give exactly the plain writer's bytes: on a
 * miss, on a hit, after a snapshot went away, and when a snapshot under a
 * cached id differs (re-rendered, not the stale text). */
static void check_cached(const char *doc) {
  ice_metadata *md = parse_ok(doc);
  ice_md_jcache *c = ice_md_jcache_new();
  assert_non_null(c);
  char *want = write_md(md, false);
  for (int round = 0; round < 2; round++) {
    char *got = write_cached(md, false, c);
    assert_string_equal(got, want);
    free(got);
  }
  char *pw = write_md(md, true), *pg = write_cached(md, true, c);
  assert_string_equal(pg, pw);
  free(pw);
  free(pg);
  /* drop the first snapshot (restored before freeing) */
  md->snapshots++;
  md->nsnapshots--;
  char *w2 = write_md(md, false), *g2 = write_cached(md, false, c);
  assert_string_equal(g2, w2);
  assert_string_not_equal(w2, want);
  free(w2);
  free(g2);
  md->snapshots--;
  md->nsnapshots++;
  char *g3 = write_cached(md, false, c); /* the dropped one is a miss again */
  assert_string_equal(g3, want);
  free(g3);
  /* same id, other manifest list */
  md->snapshots[1].manifest_list[0] = 'x';
  char *w4 = write_md(md, false), *g4 = write_cached(md, false, c);
  assert_string_equal(g4, w4);
  assert_string_not_equal(w4, want);
  free(w4);
  free(g4);
  free(want);
  ice_md_jcache_free(c);
  ice_md_jcache_free(NULL);
  ice_metadata_free(md);
}

/* Random edits of the three cached arrays (snapshots, snapshot-log,
 * metadata-log) between renders, as commits and expiry make them (append,
 * drop from the front or anywhere, duplicates, reorders, a snapshot id
 * reused with other contents): the cached render equals the plain writer
 * byte for byte every time. The arrays are shallow views over a pool the
 * test owns; md's own arrays are put back before it is freed. */
#define POOL 48
static void test_write_cached_random(void **state) {
  (void)state;
  ice_metadata *md = parse_ok(V3_JAVA);
  assert_true(md->nsnapshots > 0);
  ice_snapshot *own_s = md->snapshots;
  ice_log_entry *own_sl = md->snapshot_log, *own_ml = md->metadata_log;
  int own_ns = md->nsnapshots, own_nsl = md->nsnapshot_log,
      own_nml = md->nmetadata_log;
  int own_nrefs = md->nrefs;
  int64_t own_cur = md->current_snapshot_id;
  static ice_snapshot pool[POOL];
  static ice_log_entry slog_pool[POOL], mlog_pool[POOL];
  static char lists[POOL][64], files[POOL][64];
  for (int i = 0; i < POOL; i++) {
    pool[i] = own_s[i % own_ns]; /* shares the summary (never freed here) */
    /* a few pool snapshots share an id with other contents */
    pool[i].snapshot_id = 1000 + (i % 40);
    pool[i].sequence_number = i;
    pool[i].timestamp_ms = 1700000000000 + i;
    snprintf(lists[i], sizeof lists[i], "s3://b/t/metadata/snap-%d.avro", i);
    pool[i].manifest_list = lists[i];
    slog_pool[i] = (ice_log_entry){1700000000000 + i % 30, 1000 + i % 40, NULL};
    snprintf(files[i], sizeof files[i], "s3://b/t/metadata/v%d.json", i % 35);
    mlog_pool[i] = (ice_log_entry){1700000000000 + i % 37, ICE_NONE, files[i]};
  }
  ice_snapshot snaps[POOL];
  ice_log_entry sl[POOL], ml[POOL];
  int ns = 0, nsl = 0, nml = 0;
  ice_md_jcache *c = ice_md_jcache_new();
  assert_non_null(c);
  uint64_t rng = 12345;
  for (int round = 0; round < 400; round++) {
    for (int arr = 0; arr < 3; arr++) {
      int *n = arr == 0 ? &ns : arr == 1 ? &nsl : &nml;
      size_t sz = arr == 0 ? sizeof *snaps : sizeof *sl;
      char *base = arr == 0   ? (char *)snaps
                   : arr == 1 ? (char *)sl
                              : (char *)ml;
      for (int edit = 0; edit < 2; edit++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        int op = (int)(rng >> 60) % 6, pi = (int)((rng >> 20) % POOL);
        int at = *n ? (int)((rng >> 40) % (uint64_t)*n) : 0;
        const void *src = arr == 0   ? (const void *)&pool[pi]
                          : arr == 1 ? (const void *)&slog_pool[pi]
                                     : (const void *)&mlog_pool[pi];
        if ((op <= 1 || *n == 0) && *n < POOL) { /* append */
          memcpy(base + (size_t)*n * sz, src, sz);
          (*n)++;
        } else if (op == 2 && *n > 0) { /* drop from the front */
          int k = 1 + at % 3 > *n ? *n : 1 + at % 3;
          memmove(base, base + (size_t)k * sz, (size_t)(*n - k) * sz);
          *n -= k;
        } else if (op == 3 && *n > 0) { /* drop anywhere */
          memmove(base + (size_t)at * sz, base + (size_t)(at + 1) * sz,
                  (size_t)(*n - at - 1) * sz);
          (*n)--;
        } else if (op == 4 && *n > 0) { /* replace one */
          memcpy(base + (size_t)at * sz, src, sz);
        } else if (*n > 1) { /* swap two */
          char tmp[sizeof(ice_snapshot)];
          memcpy(tmp, base + (size_t)at * sz, sz);
          memcpy(base + (size_t)at * sz, base, sz);
          memcpy(base, tmp, sz);
        }
      }
    }
    md->snapshots = snaps;
    md->nsnapshots = ns;
    md->snapshot_log = sl;
    md->nsnapshot_log = nsl;
    md->metadata_log = ml;
    md->nmetadata_log = nml;
    /* refs and the current snapshot must resolve: none */
    int nrefs = md->nrefs;
    int64_t cur = md->current_snapshot_id;
    md->nrefs = 0;
    md->current_snapshot_id = ICE_NONE;
    char *want = write_md(md, false);
    const char *doc;
    size_t len;
    assert_int_equal(ice_metadata_render_cached(md, c, &doc, &len, NULL),
                     FLOE_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(doc, want, len);
    if (round % 50 == 7) { /* through the copying entry point too */
      char *got = write_cached(md, false, c);
      assert_string_equal(got, want);
      free(got);
    }
    free(want);
    md->nrefs = nrefs;
    md->current_snapshot_id = cur;
  }
  /* and the hits are real: a field outside a snapshot's key (never
   * changed on a real snapshot, which is immutable) keeps the cached text */
  if (ns > 0) {
    md->snapshots = snaps;
    md->nsnapshots = ns;
    md->snapshot_log = sl;
    md->nsnapshot_log = nsl;
    md->metadata_log = ml;
    md->nmetadata_log = nml;
    md->nrefs = 0;
    md->current_snapshot_id = ICE_NONE;
    char *before = write_md(md, false);
    const char *doc;
    size_t len;
    assert_int_equal(ice_metadata_render_cached(md, c, &doc, &len, NULL),
                     FLOE_OK);
    snaps[0].schema_id += 1000;
    char *after = write_md(md, false);
    assert_string_not_equal(before, after);
    assert_int_equal(ice_metadata_render_cached(md, c, &doc, &len, NULL),
                     FLOE_OK);
    assert_int_equal(len, strlen(before));
    assert_memory_equal(doc, before, len);
    snaps[0].schema_id -= 1000;
    free(before);
    free(after);
  }
  ice_md_jcache_free(c);
  md->nrefs = own_nrefs;
  md->current_snapshot_id = own_cur;
  md->snapshots = own_s;
  md->nsnapshots = own_ns;
  md->snapshot_log = own_sl;
  md->nsnapshot_log = own_nsl;
  md->metadata_log = own_ml;
  md->nmetadata_log = own_nml;
  ice_metadata_free(md);
}

static void test_write_cached(void **state) {
  (void)state;
  check_cached(V3_JAVA);
  check_cached(V2_JAVA);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_unpartitioned),
      cmocka_unit_test(test_new_partitioned),
      cmocka_unit_test(test_parse_v3_java),
      cmocka_unit_test(test_parse_v2_java),
      cmocka_unit_test(test_parse_v1),
      cmocka_unit_test(test_reject),
      cmocka_unit_test(test_lenient),
      cmocka_unit_test(test_transforms),
      cmocka_unit_test(test_kv),
      cmocka_unit_test(test_clone),
      cmocka_unit_test(test_write_cached),
      cmocka_unit_test(test_write_cached_random),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
