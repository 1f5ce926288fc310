# shellcheck shell=bash
# Helpers for the mirror tests (sourced after pgtest.sh): run the driver
# (pg_mirror_run) in the background, talk to it through a FIFO, and check
# that the mirror equals `SELECT * FROM source` exactly.
#
#   mirror_start ARGS...     starts the driver (a mirror named "t" unless
#                            ARGS has --mirror) on $MWH, commands on a FIFO
#   mirror_check S.T ...     mirror == source for each table, as of now
#   mirror_status            prints the driver's status reply
#   mirror_stop / mirror_kill   SIGTERM (graceful, waits) / SIGKILL
#   mirror_cmd_reply CMD...  runs a command and prints its reply

# mirror_test_begin: a mirror test's start: a private server, stopped (and
# the driver killed, its log shown on failure) when the test exits
mirror_test_begin() {
  pg_start
  # shellcheck disable=SC2154 # rc is assigned inside the trap
  trap 'rc=$?; mirror_on_exit $rc; pg_stop; exit $rc' EXIT
}

step() { echo "--- $(date +%T) $*"; }

# psql renders values with the settings floe's connections use
export PGOPTIONS="-c DateStyle=ISO -c IntervalStyle=postgres -c TimeZone=UTC -c extra_float_digits=3 -c bytea_output=hex"

MBIN=${FLOE_BUILD:?set FLOE_BUILD to the build directory}/pg_mirror_run
MDIR=""
MPID=""
MWH=""

mirror_init() {
  MDIR="$PGTEST_DIR/mirror"
  MWH="$MDIR/warehouse"
  mkdir -p "$MWH"
  mkfifo "$MDIR/cmd"
}

mirror_start() {
  [ -n "$MDIR" ] || mirror_init
  "$MBIN" --mirror t --warehouse "$MWH" --cmd "$MDIR/cmd" "$@" \
    >>"$MDIR/log" 2>&1 &
  MPID=$!
  # ready once it says so (or died)
  for _ in $(seq 1 600); do
    if grep -q "running" "$MDIR/log" 2>/dev/null &&
      [ "$(grep -c running "$MDIR/log")" -gt "${MSTARTS:-0}" ]; then
      MSTARTS=$(grep -c running "$MDIR/log")
      return 0
    fi
    if ! kill -0 "$MPID" 2>/dev/null; then
      echo "mirror_start: driver died:" >&2
      tail -20 "$MDIR/log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "mirror_start: driver not ready" >&2
  tail -20 "$MDIR/log" >&2
  return 1
}

# mirror_start_fail ARGS...: the driver must refuse to start; prints its log
mirror_start_fail() {
  [ -n "$MDIR" ] || mirror_init
  if "$MBIN" --mirror t --warehouse "$MWH" "$@" >"$MDIR/fail.log" 2>&1; then
    echo "mirror_start_fail: it started" >&2
    return 1
  fi
  cat "$MDIR/fail.log"
}

# _mcmd LINE: sends a command; a FIFO without its reader would block the
# writer forever, so the driver must be alive and the write is bounded
_mcmd() {
  if ! kill -0 "$MPID" 2>/dev/null; then
    echo "driver is not running; log:" >&2
    tail -30 "$MDIR/log" >&2
    return 1
  fi
  # shellcheck disable=SC2016 # $1 and $2 are the inner shell's
  timeout 20 bash -c 'echo "$1" >"$2"' _ "$1" "$MDIR/cmd" || {
    echo "driver does not read its commands" >&2
    return 1
  }
}

_mreply_wait() {
  local f=$1
  for _ in $(seq 1 1500); do
    [ -f "$f" ] && return 0
    if ! kill -0 "$MPID" 2>/dev/null; then
      echo "driver died; log:" >&2
      tail -30 "$MDIR/log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "no reply in $f" >&2
  return 1
}

mirror_cmd_reply() {
  local r="$MDIR/reply.$RANDOM$RANDOM"
  _mcmd "$* $r" || return 1
  _mreply_wait "$r" || return 1
  cat "$r"
  rm -f "$r"
}

mirror_status() { mirror_cmd_reply status; }

# mirror_state S.T: the table's state word
mirror_state() {
  mirror_status | awk -v t="table $1" 'index($0, t " ") == 1 {
    for (i = 1; i <= NF; i++) if ($i ~ /^state=/) { sub("state=", "", $i); print $i } }'
}

# mirror_wait_state S.T STATE [seconds]
mirror_wait_state() {
  local n=${3:-30}
  for _ in $(seq 1 $((n * 10))); do
    [ "$(mirror_state "$1")" = "$2" ] && return 0
    sleep 0.1
  done
  echo "mirror_wait_state: $1 is $(mirror_state "$1"), want $2" >&2
  mirror_status >&2
  psql -X -c "SELECT pid, backend_type, state, wait_event_type, wait_event, backend_xmin, left(query, 60) FROM pg_stat_activity" >&2
  psql -X -c "SELECT slot_name, active, restart_lsn, confirmed_flush_lsn, catalog_xmin FROM pg_replication_slots" -c "SELECT pg_current_wal_lsn()" >&2
  return 1
}

# mirror_dump DIR: waits until the mirror applied the current WAL position,
# renders every table into DIR
mirror_dump() {
  local d=$1 lsn
  rm -rf "$d"
  mkdir -p "$d"
  lsn=$(psql -qAt -c "SELECT pg_current_wal_lsn()")
  _mcmd "dump $lsn $d" || return 1
  _mreply_wait "$d/.done" || return 1
  if head -1 "$d/.done" | grep -c '^failed' >/dev/null; then
    echo "dump failed:" >&2
    cat "$d/.done" >&2
    return 1
  fi
}

# mirror_wait: waits until the mirror applied the current WAL position
mirror_wait() {
  local lsn out
  lsn=$(psql -qAt -c "SELECT pg_current_wal_lsn()")
  out=$(mirror_cmd_reply wait "$lsn")
  [[ "$out" == ok* ]] || {
    echo "mirror_wait: $out" >&2
    return 1
  }
}

# mirror_check S.T...: mirror == source, row for row, value for value
mirror_check() {
  local d="$MDIR/dump" t sql bad=0
  mirror_dump "$d" || return 1
  for t in "$@"; do
    sql=$(mirror_cmd_reply sql "$t")
    if [[ "$sql" == failed* ]]; then
      echo "mirror_check $t: $sql" >&2
      return 1
    fi
    psql -qAt -v ON_ERROR_STOP=1 -c "$sql" | LC_ALL=C sort >"$d/$t.pg"
    if [ ! -f "$d/$t" ]; then
      echo "mirror_check $t: no mirror rows (table state: $(mirror_state "$t"))" >&2
      bad=1
      continue
    fi
    LC_ALL=C sort -o "$d/$t" "$d/$t"
    if ! cmp -s "$d/$t" "$d/$t.pg"; then
      echo "mirror_check $t: mirror differs from source ($(wc -l <"$d/$t") vs $(wc -l <"$d/$t.pg") rows):" >&2
      diff "$d/$t.pg" "$d/$t" | head -10 >&2
      bad=1
    fi
  done
  return $bad
}

mirror_stop() {
  [ -n "$MPID" ] || return 0
  kill -TERM "$MPID" 2>/dev/null || true
  wait "$MPID" || {
    echo "mirror_stop: driver exited with $?" >&2
    tail -20 "$MDIR/log" >&2
    MPID=""
    return 1
  }
  MPID=""
}

# mirror_on_exit RC: from the test's EXIT trap: stops the driver, and on
# failure shows the end of its log
mirror_on_exit() {
  if [ "$1" != 0 ] && [ -n "$MDIR" ] && [ -f "$MDIR/log" ]; then
    echo "--- driver log (last 30 lines):" >&2
    tail -30 "$MDIR/log" >&2
  fi
  mirror_kill
}

mirror_kill() {
  [ -n "$MPID" ] || return 0
  kill -KILL "$MPID" 2>/dev/null || true
  wait "$MPID" 2>/dev/null || true
  MPID=""
}

# psql with errors fatal
sql() { psql -qAt -v ON_ERROR_STOP=1 "$@"; }
