#!/usr/bin/env bash
# Connections, publications, slots and table discovery (src/pg) against a
# private Postgres server.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
BIN=${FLOE_BUILD:?set FLOE_BUILD to the build directory}/pg_setup
pg_start
export FLOE_PG_TEST=1
"$BIN"
