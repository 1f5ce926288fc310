#!/usr/bin/env bash
# SIGKILL at random moments under a running workload, ten times: after each
# restart (from the registry alone) the mirror must equal the source row for
# row (no loss, no duplicate: the key-less table counts duplicates), and the
# slot must never have confirmed more than the mirror had made durable.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
pg_start
# shellcheck source=tests/pg/daemon_lib.sh
. "$HERE/daemon_lib.sh"
trap 'rc=$?; [ -n "$WPID" ] && kill "$WPID" 2>/dev/null; dmn_kill; pg_stop; exit $rc' EXIT
work_setup
ROUNDS=${FLOE_KILL_ROUNDS:-10}

pause() { sleep "$((RANDOM % ${1:-1000} / 1000)).$(printf '%03d' $((RANDOM % 1000)))"; }

check_all() {
  work_pause
  local lsn
  lsn=$(sql -c "SELECT pg_current_wal_lsn()")
  dmn_check public.a "id,v,n" "$lsn"
  dmn_check public.b "k1,k2,v" "$lsn"
  dmn_check public.c "x,y" "$lsn"
  work_resume
}

# the first start is killed too, mid-copy or just after
sql -c "INSERT INTO a SELECT g, repeat('x', 500), 0 FROM generate_series(10000, 60000) g"
dmn_start --source "$DSRC" --table public.a --table public.b --table public.c
sleep 0.2
dmn_kill
dmn_start
for t in public.a public.b public.c; do dmn_wait_streaming "$t"; done
check_all

work_start 1
for i in $(seq 1 "$ROUNDS"); do
  pause 1000
  dmn_kill
  pause 400 # the workload goes on while the daemon is down
  dmn_start
  for t in public.a public.b public.c; do dmn_wait_streaming "$t"; done
  # the slot confirmed only what was durable: everything since is replayed
  pause 500
  check_all
  echo "round $i: ok ($(sql -c 'SELECT txns FROM work_ctl') workload transactions so far)"
done
work_stop
check_all
dmn_stop
grep -q "every table committed to Iceberg" "$DDIR/log" || dmn_fail "no final commit"
echo "ok"
