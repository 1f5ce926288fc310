/*
 * floe: a streaming storage engine that mirrors Postgres tables into Apache
 * Iceberg. This header is the public contract of the library.
 *
 * Conventions that hold for every floe_ function:
 *   - A function that can fail returns floe_status; FLOE_OK is 0. On failure
 *     the message goes into the caller's floe_error (which may be NULL when
 *     the caller does not want the text).
 *   - The library keeps no global state, never exits, never installs signal
 *     handlers and never starts threads on its own: its host owns those.
 *   - Every returned pointer says who owns it and for how long.
 *   - Every *_free(NULL) is a no-op.
 */
#ifndef FLOE_FLOE_H
#define FLOE_FLOE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FLOE_VERSION_MAJOR 0
#define FLOE_VERSION_MINOR 1
#define FLOE_VERSION_PATCH 0
#define FLOE_VERSION_NUMBER                                                    \
  ((FLOE_VERSION_MAJOR << 24) | (FLOE_VERSION_MINOR << 16) | FLOE_VERSION_PATCH)

/* Run-time version, to compare with FLOE_VERSION_NUMBER from the header a
 * host compiled against. */
uint32_t floe_version(void);

/*
 * Status codes. The numbers are pinned: new codes are only appended. They sit
 * in their own range (1000+) so they are never mistaken for errno values.
 */
typedef enum floe_status {
  FLOE_OK = 0,
  FLOE_ENOMEM = 1001,       /* an allocation failed or a limit was hit */
  FLOE_EINVAL = 1002,       /* the caller passed something wrong */
  FLOE_EIO = 1003,          /* the operating system refused a read/write */
  FLOE_ECORRUPT = 1004,     /* outside bytes are malformed or inconsistent */
  FLOE_EUNSUPPORTED = 1005, /* well-formed, but a feature floe lacks */
  FLOE_ENOTFOUND = 1006,    /* a named thing does not exist */
  FLOE_ERANGE = 1007,       /* a value does not fit its type */
  FLOE_EEOF = 1008,         /* end of stream (not an error for iterators) */
  FLOE_EEXIST = 1009,       /* something already exists */
  FLOE_ECONFLICT = 1010,    /* a concurrent commit won; reload and retry */
} floe_status;

/* A short constant name for a status ("corrupt data"); never NULL. */
const char *floe_strerror(floe_status st);

#define FLOE_ERROR_MSG_MAX 512

/*
 * Where a failing call explains itself. Callers allocate it (usually on the
 * stack); the library only ever writes into it.
 */
typedef struct floe_error {
  floe_status code;
  char msg[FLOE_ERROR_MSG_MAX];
} floe_error;

#ifdef __cplusplus
}
#endif
#endif /* FLOE_FLOE_H */
