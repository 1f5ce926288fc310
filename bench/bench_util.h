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

/* The table the engine benchmarks share: id int64 (the key), qty int64,
 * status int32, note text, price float64, ts timestamptz; default config.
 * Returns the open table (the caller closes and frees it). */
static inline floe_table *bench_table_open(const char *dir, const char *name) {
  static const floe_column cols[] = {
      {.name = "id", .type = FLOE_INT64},
      {.name = "qty", .type = FLOE_INT64, .nullable = 1},
      {.name = "status", .type = FLOE_INT32, .nullable = 1},
      {.name = "note", .type = FLOE_UTF8, .nullable = 1},
      {.name = "price", .type = FLOE_FLOAT64, .nullable = 1},
      {.name = "ts", .type = FLOE_TIMESTAMPTZ, .nullable = 1},
  };
  const int key[] = {0};
  floe_table_config cfg;
  floe_table_config_init(&cfg);
  floe_table_ref ref = {.catalog_uri = dir, .ns = "bench", .name = name};
  floe_table *t = NULL;
  TRY("open", floe_table_open(&ref, cols, 6, key, 1, &cfg, &t, &e_));
  return t;
}

#endif
