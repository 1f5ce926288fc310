#!/usr/bin/env bash
# The replication stream (src/pg/stream.c) against a private Postgres
# server, including a server restart and an outage mid-stream.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
BIN=${FLOE_BUILD:?set FLOE_BUILD to the build directory}/pg_stream
pg_start
export FLOE_PG_TEST=1
# how the test restarts, stops and starts the server (from / so the server
# user can run pg_ctl there)
ctl="$PG_BIN/pg_ctl -D $PGTEST_DIR/data -l $PGTEST_DIR/server.log -w -m fast"
as=""
[ "$(id -u)" -eq 0 ] && as="runuser -u postgres --"
export FLOE_PG_RESTART="cd / && $as $ctl restart >/dev/null"
export FLOE_PG_STOP="cd / && $as $ctl stop >/dev/null"
export FLOE_PG_START="cd / && $as $ctl start >/dev/null"
"$BIN"
