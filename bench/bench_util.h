/* Helpers the engine benchmarks share (header only: every bench/ .c file is
 * a program of its own). Define BENCH_PROG, the program's name for error
 * messages, before including it. */
#ifndef FLOE_BENCH_UTIL_H
#define FLOE_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "floe/floe.h"

static inline int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* CPU time of the calling thread: on a shared machine the wall-clock cost
 * of a change moves with the load, this one much less. */
static inline int64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A benchmark has no use for a half-run: any failure ends the program. */
static inline void die(const char *what, const floe_error *e) {
  fprintf(stderr, "%s: %s: %s\n", BENCH_PROG, what, e ? e->msg : "");
  exit(1);
}

#define TRY(what, call)                                                        \
  do {                                                                         \
    floe_error e_;                                                             \
    if ((call) != FLOE_OK) die(what, &e_);                                     \
  } while (0)

#endif
