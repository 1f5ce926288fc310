/*
 * Fuzz target: the RPC frame decoder (src/server/rpc.c).
 * Property: any bytes either decode or fail with a clean status; never a
 * crash, a leak or a sanitizer report. A frame that decodes re-encodes to
 * exactly the same bytes (the encoding is canonical, so the decoder accepted
 * nothing it could not have produced). The input is tried three ways: as one
 * frame; as a payload behind a valid header whose type the first byte picks
 * (so payload decoders see deep inputs); and as a byte stream split into
 * frames the way the server does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/rpc_samples.h"
#include "server/rpc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const uint8_t *f, size_t n, farena *a) {
  rpc_msg m;
  floe_error err;
  if (rpc_decode(f, n, RPC_DEFAULT_MAX_FRAME, a, &m, &err) == FLOE_OK) {
    fbuf b = FBUF_INIT;
    if (rpc_encode(&b, &m, RPC_DEFAULT_MAX_FRAME, &err) != FLOE_OK ||
        b.len != n || memcmp(b.data, f, n) != 0)
      __builtin_trap();
    fbuf_free(&b);
  } else if (err.msg[0] == 0) {
    __builtin_trap(); /* every failure explains itself */
  }
  farena_reset(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  farena a;
  farena_init(&a, 4096, 64u << 20);
  check(data, size, &a);

  if (size >= 1) {
    fbuf b = FBUF_INIT;
    floe_error err;
    size_t start;
    uint16_t type = rpc_all_types[data[0] % RPC_NTYPES];
    if (rpc_frame_begin(&b, type, 1, &start, &err) == FLOE_OK &&
        fbuf_append(&b, data + 1, size - 1, &err) == FLOE_OK &&
        rpc_frame_finish(&b, start, RPC_DEFAULT_MAX_FRAME, &err) == FLOE_OK)
      check(b.data, b.len, &a);
    fbuf_free(&b);
  }

  size_t pos = 0;
  while (size - pos >= RPC_HEADER_LEN) {
    rpc_header h;
    floe_error err;
    if (rpc_header_parse(data + pos, size - pos, 4096, &h, &err) != FLOE_OK)
      break;
    if ((size_t)h.len + 4 > size - pos) break;
    check(data + pos, (size_t)h.len + 4, &a);
    pos += (size_t)h.len + 4;
  }
  farena_free(&a);
  return 0;
}
