/* Error objects: a pinned status code plus a human message. */
#include "util/error.h"

#include <stdio.h>
#include <string.h>

uint32_t floe_version(void) { return FLOE_VERSION_NUMBER; }

const char *floe_strerror(floe_status st) {
  switch (st) {
  case FLOE_OK: return "ok";
  case FLOE_ENOMEM: return "out of memory";
  case FLOE_EINVAL: return "invalid argument";
  case FLOE_EIO: return "i/o error";
  case FLOE_ECORRUPT: return "corrupt data";
  case FLOE_EUNSUPPORTED: return "unsupported";
  case FLOE_ENOTFOUND: return "not found";
  case FLOE_ERANGE: return "out of range";
  case FLOE_EEOF: return "end of stream";
  case FLOE_EEXIST: return "already exists";
  case FLOE_ECONFLICT: return "commit conflict";
  case FLOE_ETIMEDOUT: return "timed out";
  }
  return "unknown error";
}

floe_status ferr_setv(floe_error *err, floe_status code, const char *fmt,
                      va_list ap) {
  if (err) {
    err->code = code;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  }
  return code;
}

floe_status ferr_set(floe_error *err, floe_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ferr_setv(err, code, fmt, ap);
  va_end(ap);
  return code;
}

floe_status ferr_corrupt(floe_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ferr_setv(err, FLOE_ECORRUPT, fmt, ap);
  va_end(ap);
  return FLOE_ECORRUPT;
}

floe_status ferr_nomem(floe_error *err, size_t bytes) {
  return ferr_set(err, FLOE_ENOMEM, "out of memory allocating %zu bytes",
                  bytes);
}

floe_status ferr_prefix(floe_error *err, floe_status st, const char *fmt, ...) {
  if (!err) return st;
  char head[FLOE_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(head, sizeof head, fmt, ap);
  va_end(ap);
  if (n < 0) return st;
  /* shift the old message right and put "head: " in front of it */
  size_t h = strlen(head), old = strnlen(err->msg, sizeof err->msg - 1);
  if (h + 2 >= sizeof err->msg) h = sizeof err->msg - 3;
  size_t keep = sizeof err->msg - 1 - (h + 2);
  if (old > keep) old = keep;
  memmove(err->msg + h + 2, err->msg, old);
  memcpy(err->msg, head, h);
  err->msg[h] = ':';
  err->msg[h + 1] = ' ';
  err->msg[h + 2 + old] = '\0';
  err->code = st;
  return st;
}

void ferr_clear(floe_error *err) {
  if (err) {
    err->code = FLOE_OK;
    err->msg[0] = '\0';
  }
}
