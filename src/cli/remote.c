/* Reaching the daemon (see remote.h). */
#include "cli/remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "floe/floe.h"
#include "server/config.h"

floe_status cli_socket_path(const char *socket, const char *name, char *buf,
                            size_t n, floe_error *err) {
  const char *env = getenv("FLOE_SOCKET");
  const char *p = socket ? socket : env && *env ? env : NULL;
  if (!p) return cfg_socket_default(name ? name : "floe", buf, n, err);
  if (strlen(p) >= n)
    return ferr_set(err, FLOE_EINVAL, "socket path '%s' is too long", p);
  memcpy(buf, p, strlen(p) + 1);
  return FLOE_OK;
}

floe_status cli_connect(const char *path, const char *hint, int64_t timeout_ms,
                        rpc_client **out, floe_error *err) {
  char client[32];
  snprintf(client, sizeof client, "floe-cli %d.%d.%d", FLOE_VERSION_MAJOR,
           FLOE_VERSION_MINOR, FLOE_VERSION_PATCH);
  floe_status st = rpc_client_connect(path, client, timeout_ms, out, err);
  if (st == FLOE_ENOTFOUND)
    return ferr_set(err, st,
                    "cannot connect to %s: is `floe mirror` running? (start "
                    "it, or %s)",
                    path,
                    hint ? hint
                         : "pass --socket PATH or set FLOE_SOCKET to the "
                           "socket it listens on");
  return st;
}

int cli_fail_remote(floe_status st, const floe_error *err) {
  fprintf(stderr, "floe: %s\n", err->msg);
  if (st == FLOE_ENOTFOUND && strstr(err->msg, "cannot connect to"))
    return CLI_EXIT_NO_DAEMON;
  if (st == FLOE_ETIMEDOUT) return CLI_EXIT_TIMEOUT;
  return 1;
}

bool cli_parse_ms(const char *s, int64_t *out) {
  floe_error e;
  return cfg_parse_ms(s, out, &e) == FLOE_OK && *out >= 0;
}

floe_status cli_call(const char *path, int64_t timeout_ms, rpc_msg *req,
                     farena *a, rpc_msg *reply, floe_error *err) {
  rpc_client *c = NULL;
  floe_status st = cli_connect(path, NULL, timeout_ms, &c, err);
  if (!st) st = rpc_client_call(c, req, a, reply, err);
  rpc_client_close(c);
  return st;
}
