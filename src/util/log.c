/* Leveled logging into a host-chosen sink (stderr by default). */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *level_name[] = {"debug", "info", "warn", "error", "off"};

void flog_write(const flog *lg, flog_level level, const char *fmt, ...) {
  flog_level min = lg ? lg->level : FLOG_WARN;
  if (level < min || level >= FLOG_OFF) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (lg && lg->sink) {
    lg->sink(lg->ctx, level, msg);
    return;
  }
  fprintf(stderr, "floe %s: %s\n", level_name[level], msg);
}

int flog_level_parse(const char *s) {
  for (int i = 0; i <= FLOG_OFF; i++)
    if (strcmp(s, level_name[i]) == 0) return i;
  return -1;
}
