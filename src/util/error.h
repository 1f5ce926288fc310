/*
 * Error reporting inside floe. A failing function fills a floe_error and
 * returns its status in one expression:
 *
 *     if (n > len - pos)
 *       return ferr_corrupt(err, "page header: %zu bytes past end", n);
 *
 * FLOE_TRY forwards a failure unchanged, so the deepest function that saw the
 * problem writes the message and callers above may prepend context with
 * ferr_prefix().
 */
#ifndef FLOE_UTIL_ERROR_H
#define FLOE_UTIL_ERROR_H

#include <stdarg.h>

#include "floe/floe.h"

#if defined(__GNUC__)
#define FLOE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define FLOE_LIKELY(x) __builtin_expect(!!(x), 1)
#define FLOE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define FLOE_PRINTF(a, b)
#define FLOE_LIKELY(x) (x)
#define FLOE_UNLIKELY(x) (x)
#endif

/* Sets err (if not NULL) to code and the formatted message; returns code. */
floe_status ferr_set(floe_error *err, floe_status code, const char *fmt, ...)
    FLOE_PRINTF(3, 4);
floe_status ferr_setv(floe_error *err, floe_status code, const char *fmt,
                      va_list ap);

/* Every corruption report goes through here: one place for a breakpoint. */
floe_status ferr_corrupt(floe_error *err, const char *fmt, ...)
    FLOE_PRINTF(2, 3);

/* Out-of-memory with the number of bytes asked for. */
floe_status ferr_nomem(floe_error *err, size_t bytes);

/* Prepends "<context>: " to the message already in err; returns err->code
 * (or FLOE_OK's opposite when err is NULL, i.e. the status it was given). */
floe_status ferr_prefix(floe_error *err, floe_status st, const char *fmt, ...)
    FLOE_PRINTF(3, 4);

/* Clears err to FLOE_OK with an empty message. */
void ferr_clear(floe_error *err);

#define FLOE_TRY(expr)                                                         \
  do {                                                                         \
    floe_status floe_try_st_ = (expr);                                         \
    if (FLOE_UNLIKELY(floe_try_st_ != FLOE_OK)) return floe_try_st_;           \
  } while (0)

#endif
