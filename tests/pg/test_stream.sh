#!/usr/bin/env bash
# The replication stream (src/pg/stream.c) against a private Postgres
# server, including a server restart mid-stream.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
BIN=${FLOE_BUILD:?set FLOE_BUILD to the build directory}/pg_stream
pg_start
export FLOE_PG_TEST=1
# how the test restarts the server (from / so the server user can run it)
ctl="$PG_BIN/pg_ctl -D $PGTEST_DIR/data -l $PGTEST_DIR/server.log -w -m fast restart"
if [ "$(id -u)" -eq 0 ]; then
  export FLOE_PG_RESTART="cd / && runuser -u postgres -- $ctl >/dev/null"
else
  export FLOE_PG_RESTART="cd / && $ctl >/dev/null"
fi
"$BIN"
