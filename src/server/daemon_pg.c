/* The Postgres source behind dmn_source_ops (src/pg/source.h). */
#include "server/daemon_int.h"

static floe_status pg_open(const dmn_source_args *a, void **src,
                           floe_error *err) {
  (void)a, (void)src;
  return ferr_set(err, FLOE_EUNSUPPORTED,
                  "the Postgres source is not in this build yet");
}

const dmn_source_ops dmn_pg_source = {.open = pg_open};
