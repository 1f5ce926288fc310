/* SCAN: a leased read state streamed in the requested format. */
#include "server/daemon_int.h"

floe_status dmn_scan_handler(void *ctx, srv_call *call, floe_error *err) {
  (void)ctx, (void)call;
  return ferr_set(err, FLOE_EUNSUPPORTED, "scan: not in this build yet");
}
