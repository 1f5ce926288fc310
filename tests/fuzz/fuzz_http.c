/*
 * Fuzz target: the HTTP request-head parser of the metrics endpoint
 * (met_http_parse). Property: any bytes give 0 (need more), 1 (a head whose
 * length lies within the input and whose path starts with '/'), or an HTTP
 * error status; feeding the same bytes in two pieces never changes a
 * final answer into a different one; never a crash.
 */
#include <stddef.h>
#include <stdint.h>

#include "server/metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  met_http_req r;
  int whole = met_http_parse((const char *)data, size, &r);
  if (whole == 1) {
    if (r.len == 0 || r.len > size || r.path[0] != '/') __builtin_trap();
  } else if (whole != 0 && (whole < 400 || whole > 505)) {
    __builtin_trap();
  }
  /* a prefix either needs more, or already has the same verdict (an
   * error found early stays an error; a complete head stays complete) */
  size_t cut = size / 2;
  met_http_req p;
  int part = met_http_parse((const char *)data, cut, &p);
  if (part == 1 && (whole != 1 || p.len != r.len)) __builtin_trap();
  if (part >= 400 && part != 431 && whole != part) __builtin_trap();
  return 0;
}
