/*
 * Fuzz target: Avro object container files.
 * Property: any bytes either open and decode record by record against the
 * header's schema, or fail with a clean error; never a crash, a leak, an
 * unbounded allocation or a sanitizer report. Records go into an arena with
 * a byte limit, reset between records as a manifest reader would.
 */
#include <stddef.h>
#include <stdint.h>

#include "iceberg/avro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  floe_error err;
  avro_reader *r;
  avro_reader_opts o = {8 << 20, 1 << 16};
  if (avro_reader_open(data, size, "fuzz", &o, &r, &err) != FLOE_OK) return 0;
  farena a;
  farena_init(&a, 0, 64 << 20);
  for (;;) {
    const avro_value *v;
    if (avro_reader_next(r, &a, &v, &err) != FLOE_OK) break;
    /* walk a little through the accessors */
    int64_t l;
    const char *s;
    (void)avro_value_long(v, &l, &err);
    (void)avro_value_string(avro_value_field(v, "file_path"), &s, NULL, &err);
    for (size_t i = 0; i < avro_value_array_len(v); i++)
      (void)avro_value_is_null(avro_value_array_at(v, i));
    farena_reset(&a);
  }
  farena_free(&a);
  avro_reader_free(r);
  return 0;
}
