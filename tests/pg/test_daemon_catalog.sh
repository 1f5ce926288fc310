#!/usr/bin/env bash
# `floe mirror` with each SQL catalog (--catalog sqlite:PATH and
# --catalog postgres:CONNINFO, the latter in the test server itself), logging
# JSON: the initial copy and streamed changes reach the mirror, a graceful
# stop commits them, the tables are in the catalog (a direct read through it
# equals the source) and a restart from the registry alone uses the same
# catalog. The log (--log-format json) is one JSON object a line.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
pg_start
# shellcheck source=tests/pg/daemon_lib.sh
. "$HERE/daemon_lib.sh"
trap 'rc=$?; dmn_kill; pg_stop; exit $rc' EXIT

sql -c "CREATE TABLE t (id int PRIMARY KEY, v text, n int)" \
  -c "INSERT INTO t SELECT g, 'v' || g, g % 5 FROM generate_series(1, 2000) g"

run_with() { # CATALOG NAME
  local cat=$1 name=$2
  echo "--- catalog $cat"
  rm -rf "$DWH"
  mkdir -p "$DWH"
  : >"$DDIR/log"
  # the slot and publication of the previous round go with `floe drop`
  dmn_start --source "$DSRC" --table public.t --catalog "$cat" --log-format json
  dmn_wait_streaming public.t
  local lsn
  lsn=$(sql -c "INSERT INTO t VALUES (5000, '$name', 1)" -c "UPDATE t SET n = n + 1 WHERE id % 3 = 0" \
    -c "DELETE FROM t WHERE id % 7 = 0" -c "SELECT pg_current_wal_lsn()")
  [ "$("$FLOE" scan public.t --at-lsn "$lsn" --where-key id=5000 --columns v --timeout 10s | tail -1)" = "$name" ] ||
    dmn_fail "read-your-writes with $cat"
  dmn_check public.t "id,v,n" "$lsn"
  dmn_stop
  # the Iceberg table is in that catalog: read it directly, no daemon
  "$FLOE" scan public.t --warehouse "$DWH" --catalog "$cat" --columns id,v,n | tail -n +2 |
    LC_ALL=C sort >"$DDIR/ice.csv"
  src_rows t "id,v,n" >"$DDIR/src.csv"
  cmp -s "$DDIR/ice.csv" "$DDIR/src.csv" || dmn_fail "direct read through $cat differs from the source"
  # a restart with no flags finds the catalog in the registry
  sql -c "INSERT INTO t VALUES (5001, 'restart', 2)"
  dmn_start
  grep -q "\"catalog\": \"$cat\"" "$DWH/.floe/mirror-t.json" || dmn_fail "catalog not in the registry"
  dmn_wait_streaming public.t
  dmn_check public.t "id,v,n"
  dmn_stop
  # the first start's stderr (--log-format json; a process setting, not
  # kept in the registry): every line one JSON object with level and msg
  awk '/^---- start/ { n++; next } n == 1' "$DDIR/log" >"$DDIR/json.log"
  jq -e -s 'length > 5 and all(.[]; (.level | type) == "string" and (.msg | type) == "string")' \
    "$DDIR/json.log" >/dev/null || dmn_fail "the log is not JSON lines: $(head -3 "$DDIR/json.log")"
  grep -q '"msg":"stopped: every table committed' "$DDIR/json.log" || dmn_fail "no final commit in the JSON log"
  "$FLOE" drop --warehouse "$DWH" --name t
  sql -c "DELETE FROM t WHERE id >= 5000"
}

run_with "sqlite:$DDIR/catalog.db" sqlite
[ -s "$DDIR/catalog.db" ] || dmn_fail "no sqlite catalog file"
sql -c "CREATE DATABASE cat"
run_with "postgres:host=$PGHOST port=$PGPORT dbname=cat user=$PGUSER" postgres
[ "$(psql -qAt -d cat -c "SELECT count(*) FROM iceberg_tables WHERE table_name = 't'")" = 1 ] ||
  dmn_fail "public.t not in the postgres catalog"
echo "ok"
