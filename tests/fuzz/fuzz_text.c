/*
 * Fuzz target for the text parser (CSV/JSONL cells are outside bytes).
 * Byte 0 picks the type (14 scalars, then a list of each), the rest is the
 * text. Property: no crash, and whatever parses formats to a text that parses
 * back to the same value.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "columnar/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int k = data[0] % 28;
  col_dtype t = {0};
  if (k < 14) {
    t.id = (col_type)k;
    t.precision = 38;
    t.scale = (uint8_t)(data[0] / 28 % 39);
  } else {
    t.id = COL_LIST;
    t.elem = (col_type)(k - 14);
    t.elem_precision = 10;
    t.elem_scale = 2;
  }
  col_column c;
  if (col_init(&c, t, NULL) != FLOE_OK) return 0;
  fbuf out = FBUF_INIT;
  if (col_text_append(&c, (const char *)data + 1, size - 1, NULL) == FLOE_OK) {
    if (col_text_format(&c, 0, false, &out, NULL) != FLOE_OK) __builtin_trap();
    if (col_text_append(&c, (const char *)out.data, out.len, NULL) != FLOE_OK)
      __builtin_trap();
    if (!col_value_equal(&c, 0, &c, 1)) __builtin_trap();
    fbuf_reset(&out);
    if (col_text_format(&c, 0, true, &out, NULL) != FLOE_OK) __builtin_trap();
  }
  fbuf_free(&out);
  col_free(&c);
  return 0;
}
