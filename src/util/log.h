/*
 * Logging. The library holds no global logger: a host passes a flog (level +
 * sink) to the objects that log. A NULL flog logs warnings and errors to
 * stderr, which is what a CLI wants by default.
 */
#ifndef FLOE_UTIL_LOG_H
#define FLOE_UTIL_LOG_H

#include "util/error.h"

typedef enum flog_level {
  FLOG_DEBUG = 0,
  FLOG_INFO = 1,
  FLOG_WARN = 2,
  FLOG_ERROR = 3,
  FLOG_OFF = 4,
} flog_level;

typedef void (*flog_sink_fn)(void *ctx, flog_level level, const char *msg);

typedef struct flog {
  flog_level level;  /* messages below this level are dropped */
  flog_sink_fn sink; /* NULL: write "floe LEVEL: msg" lines to stderr */
  void *ctx;
} flog;

void flog_write(const flog *lg, flog_level level, const char *fmt, ...)
    FLOE_PRINTF(3, 4);

/* Parses "debug", "info", "warn", "error", "off"; -1 if none of them. */
int flog_level_parse(const char *s);

#endif
