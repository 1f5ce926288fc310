# shellcheck shell=bash
# Helpers for the daemon tests (sourced after pgtest.sh and pg_start): run
# `floe mirror` as a process, drive a workload inside Postgres, and check
# that what `floe scan` returns equals `SELECT` on the source, row for row.
#
#   dmn_start [ARGS...]   starts floe mirror on $DWH (socket $DSOCK, metrics
#                         on a free port, name "t"); waits until it answers
#   dmn_stop              SIGTERM, waits, fails unless it exited 0
#   dmn_kill              SIGKILL
#   dmn_wait_streaming T  waits until table T streams
#   dmn_check T COLS      mirror == source at the current WAL position
#   work_start / work_pause / work_resume / work_stop   the workload
#                         (tests/pg/daemon_workload.sql, in the server)

FLOE=${FLOE_BIN:?set FLOE_BIN to the floe binary}
DDIR="$PGTEST_DIR/daemon"
DWH="$DDIR/warehouse"
DSOCK="$DDIR/floe.sock"
DPID=""
DPORT=""
DSTARTS=0
mkdir -p "$DWH"
export FLOE_SOCKET="$DSOCK"
DSRC="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER"

sql() { psql -qAt -v ON_ERROR_STOP=1 "$@"; }

dmn_fail() {
  echo "FAIL: $*" >&2
  [ -f "$DDIR/log" ] && tail -30 "$DDIR/log" >&2
  exit 1
}

dmn_start() {
  DSTARTS=$((DSTARTS + 1))
  echo "---- start $DSTARTS: $*" >>"$DDIR/log"
  "$FLOE" mirror --warehouse "$DWH" --name t --socket "$DSOCK" \
    --metrics 127.0.0.1:0 --log-level debug "$@" >>"$DDIR/log" 2>&1 &
  DPID=$!
  local i
  for i in $(seq 1 300); do
    if "$FLOE" tables >/dev/null 2>&1; then
      # the port the kernel gave this start
      DPORT=$(sed -n 's/.*metrics HTTP on 127.0.0.1:\([0-9]*\).*/\1/p' \
        "$DDIR/log" | tail -1)
      return 0
    fi
    kill -0 "$DPID" 2>/dev/null || dmn_fail "floe mirror died at start"
    sleep 0.05
  done
  dmn_fail "floe mirror did not answer"
}

dmn_stop() {
  [ -n "$DPID" ] || return 0
  kill -TERM "$DPID"
  local rc=0
  wait "$DPID" || rc=$?
  DPID=""
  [ "$rc" = 0 ] || dmn_fail "floe mirror exited $rc after SIGTERM"
}

dmn_kill() {
  [ -n "$DPID" ] || return 0
  kill -KILL "$DPID" 2>/dev/null || true
  wait "$DPID" 2>/dev/null || true
  DPID=""
}

# dmn_state T: the table's state in `floe status --json`
dmn_state() {
  "$FLOE" status --json 2>/dev/null | tr '{' '\n' |
    grep "\"name\":\"$1\"" | sed -n 's/.*"state":"\([^"]*\)".*/\1/p'
}

dmn_wait_streaming() {
  local i
  for i in $(seq 1 600); do
    [ "$(dmn_state "$1")" = streaming ] && return 0
    sleep 0.05
  done
  "$FLOE" status >&2 || true
  dmn_fail "$1 never streamed"
}

# dmn_scan T LSN [ARGS]: the mirror's rows at LSN as sorted CSV (no header)
dmn_scan() {
  local t=$1 lsn=$2
  shift 2
  "$FLOE" scan "$t" --at-lsn "$lsn" --timeout 60s "$@" | tail -n +2 |
    LC_ALL=C sort
}

# src_rows T COLS: the source's rows as sorted CSV (Postgres' CSV and floe's
# agree for the types the tests use: integers and text without leading or
# trailing blanks)
src_rows() {
  sql -c "COPY (SELECT $2 FROM $1) TO STDOUT (FORMAT csv)" | LC_ALL=C sort
}

# dmn_check T COLS [LSN]: mirror == source at LSN (default: now). Call it
# with the workload paused (or stopped).
dmn_check() {
  local t=$1 cols=$2 lsn=${3:-}
  [ -n "$lsn" ] || lsn=$(sql -c "SELECT pg_current_wal_lsn()")
  dmn_scan "$t" "$lsn" --columns "$cols" >"$DDIR/m.csv" ||
    dmn_fail "scan of $t at $lsn failed"
  src_rows "$t" "$cols" >"$DDIR/p.csv"
  if ! cmp -s "$DDIR/m.csv" "$DDIR/p.csv"; then
    echo "mirror of $t differs from the source at $lsn" \
      "($(wc -l <"$DDIR/m.csv") vs $(wc -l <"$DDIR/p.csv") rows):" >&2
    diff "$DDIR/p.csv" "$DDIR/m.csv" | head -10 >&2
    dmn_fail "$t differs"
  fi
}

# ---- the workload (a procedure in the server; see daemon_workload.sql) ----

WPID=""

work_setup() {
  sql -f "$(dirname "${BASH_SOURCE[0]}")/daemon_workload.sql" >/dev/null
}

# work_start [SLEEP_MS]: runs work() in a session of its own
work_start() {
  sql -c "UPDATE work_ctl SET state = 'run'"
  psql -qAt -c "CALL work(${1:-2})" >>"$DDIR/work.log" 2>&1 &
  WPID=$!
}

# work_pause: no transaction in flight once it returns
work_pause() {
  [ -n "$WPID" ] || return 0
  sql -c "UPDATE work_ctl SET state = 'pause', ack = false"
  local i
  for i in $(seq 1 400); do
    [ "$(sql -c 'SELECT ack FROM work_ctl')" = t ] && return 0
    sleep 0.025
  done
  dmn_fail "the workload did not pause"
}

work_resume() {
  [ -n "$WPID" ] || return 0
  sql -c "UPDATE work_ctl SET state = 'run'"
}

work_stop() {
  [ -n "$WPID" ] || return 0
  sql -c "UPDATE work_ctl SET state = 'stop'"
  wait "$WPID" || true
  WPID=""
}

# metric NAME LABELS: one sample of /metrics (plain HTTP, no curl needed)
metric() {
  local body
  exec 3<>"/dev/tcp/127.0.0.1/$DPORT" || dmn_fail "metrics port $DPORT"
  printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
  body=$(cat <&3)
  exec 3<&-
  printf '%s\n' "$body" | tr -d '\r' | awk -v k="$1$2" '$1 == k {print $2}'
}
