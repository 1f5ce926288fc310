/*
 * Fuzz target: the daemon config parser (cfg_parse). Property: any bytes
 * parse or fail with a message naming a line; a config that parses is
 * written by cfg_write into text that parses again; never a crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "server/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cfg_daemon c;
  cfg_init(&c);
  floe_error err;
  if (cfg_parse(&c, (const char *)data, size, "fuzz", &err) == FLOE_OK) {
    fbuf out = FBUF_INIT;
    if (cfg_write(&c, &out, &err) != FLOE_OK) __builtin_trap();
    cfg_daemon d;
    cfg_init(&d);
    if (cfg_parse(&d, (const char *)out.data, out.len, "rewritten", &err) !=
        FLOE_OK)
      __builtin_trap();
    if (d.ntables != c.ntables || d.engine.set != c.engine.set ||
        d.memory_limit != c.memory_limit)
      __builtin_trap();
    cfg_free(&d);
    fbuf_free(&out);
  } else if (strncmp(err.msg, "fuzz:", 5) != 0) {
    __builtin_trap(); /* every error names the line */
  }
  cfg_free(&c);
  return 0;
}
