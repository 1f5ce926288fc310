#!/usr/bin/env bash
# `floe mirror` end to end on a table whose schema and name need quoting
# everywhere (schema `Sch "1"`, table `Weird "Name"; x`), copied from 300k
# rows with stderr on a pseudo-terminal: the copy draws a progress bar
# (rows, MiB, MiB/s, rows/s, ETA); then inserts, updates and deletes stream
# in and the mirror equals the source (floe scan vs psql); status, tables
# and iceberg inspect take and show the name; floe drop removes slot and
# publication and the Iceberg table stays readable. A second run with
# stderr a file copies a table with progress as a log line and no bar, and
# so does a third on a terminal with --log-format json.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
pg_start
# shellcheck source=tests/pg/daemon_lib.sh
. "$HERE/daemon_lib.sh"
TPID=""
trap 'rc=$?; [ -n "$TPID" ] && kill -KILL "$TPID" 2>/dev/null; dmn_kill; pg_stop; exit $rc' EXIT
command -v script >/dev/null || dmn_fail "script(1) (util-linux) is missing"

# the SQL and floe spellings of the table: both double an inner '"'
QS='"Sch ""1"""'
QT="$QS.\"Weird \"\"Name\"\"; x\""
FT=$QT
sql -c "CREATE SCHEMA $QS" \
  -c "CREATE TABLE $QT (\"Id\" bigint PRIMARY KEY, \"v; x\" text, n int)" \
  -c "INSERT INTO $QT SELECT g, 'row ' || g, g % 97 FROM generate_series(1, 300000) g"

echo "copy on a terminal"
# script(1) gives floe a pty for stdin/stdout/stderr; what floe draws there
# comes out on script's stdout. The shell records its pid, then execs floe.
script -qec "echo \$\$ >'$DDIR/tty.pid'; exec '$FLOE' mirror --warehouse '$DWH' \
  --name t --socket '$DSOCK' --source '$DSRC' --table '$FT' \
  --commit-interval-ms 200ms" /dev/null >"$DDIR/tty.out" 2>&1 </dev/null &
for i in $(seq 1 300); do
  [ -s "$DDIR/tty.pid" ] && "$FLOE" tables >/dev/null 2>&1 && break
  sleep 0.05
done
TPID=$(cat "$DDIR/tty.pid")
for i in $(seq 1 300); do
  "$FLOE" tables >"$DDIR/tables"
  grep -q 'streaming$' "$DDIR/tables" && break
  sleep 0.05
done
grep -q 'streaming$' "$DDIR/tables" || dmn_fail "the quoted table never streamed"
# the final frame of the bar: 100%, all rows, the sizes, rates and an ETA
tr '\r' '\n' <"$DDIR/tty.out" >"$DDIR/tty.lines"
grep -Eq '\[#{30}\] 100% 300\.0k rows [0-9.]+ MiB [0-9.]+ MiB/s [0-9.]+[kM]? rows/s ETA 0:00' \
  "$DDIR/tty.lines" || { cat "$DDIR/tty.lines" >&2; dmn_fail "no final progress bar"; }
grep -q "Weird" "$DDIR/tty.lines" || dmn_fail "the bar does not name the table"
# a bar, not log lines, on the terminal
grep -q "copy .*ETA" "$DDIR/tty.lines" && dmn_fail "progress log lines on a terminal"

echo "stream into the quoted table"
sql -c "INSERT INTO $QT SELECT g, 'new ' || g, 1 FROM generate_series(300001, 300500) g" \
  -c "UPDATE $QT SET \"v; x\" = 'upd', n = -1 WHERE \"Id\" % 1000 = 7" \
  -c "DELETE FROM $QT WHERE \"Id\" % 5000 = 3 OR \"Id\" = 300500"
lsn=$(sql -c "SELECT pg_current_wal_lsn()")
"$FLOE" scan "$FT" --at-lsn "$lsn" --timeout 30s | tail -n +2 | LC_ALL=C sort >"$DDIR/m.csv"
src_rows "$QT" '"Id", "v; x", n' >"$DDIR/p.csv"
[ "$(wc -l <"$DDIR/p.csv")" = 300438 ] || dmn_fail "source rows: $(wc -l <"$DDIR/p.csv")"
cmp -s "$DDIR/m.csv" "$DDIR/p.csv" || { diff "$DDIR/p.csv" "$DDIR/m.csv" | head >&2; dmn_fail "mirror differs"; }
"$FLOE" scan "$FT" --at-lsn "$lsn" --where-key Id=7 --timeout 10s >"$DDIR/one.csv"
printf 'Id,v; x,n\n7,upd,-1\n' | cmp -s - "$DDIR/one.csv" ||
  { cat "$DDIR/one.csv" >&2; dmn_fail "a point read of the quoted table"; }

echo "status and tables name it"
# (names print as --table takes them: parts quoted as needed)
printf '%s\tstreaming\n' "$FT" >"$DDIR/want"
"$FLOE" tables >"$DDIR/tables"
cmp -s "$DDIR/want" "$DDIR/tables" || { cat "$DDIR/tables" >&2; dmn_fail "floe tables"; }
"$FLOE" status >"$DDIR/status"
awk -v t="$FT" 'index($0, t "  ") == 1 && $(NF - 12) == "streaming" && $(NF - 11) == 300438 { ok = 1 } END { exit !ok }' \
  "$DDIR/status" || { cat "$DDIR/status" >&2; dmn_fail "floe status"; }
"$FLOE" status --json >"$DDIR/status.json"
grep -Fq '"name":"\"Sch \"\"1\"\"\".\"Weird \"\"Name\"\"; x\"","state":"streaming"' "$DDIR/status.json" ||
  { cat "$DDIR/status.json" >&2; dmn_fail "floe status --json"; }
"$FLOE" status --json | grep -Fq '"rows":300438' || dmn_fail "status rows"

kill -TERM "$TPID"
for i in $(seq 1 200); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$TPID" 2>/dev/null && dmn_fail "floe mirror did not stop"
TPID=""
wait || true
# the committed Iceberg table alone (no daemon) holds the same rows
"$FLOE" scan "$FT" --warehouse "$DWH" | tail -n +2 | LC_ALL=C sort >"$DDIR/ice.csv"
cmp -s "$DDIR/ice.csv" "$DDIR/p.csv" || dmn_fail "the Iceberg table differs after the stop"

echo "copy with stderr a file: log lines"
sql -c "CREATE TABLE big (id bigint PRIMARY KEY, s text)" \
  -c "INSERT INTO big SELECT g, repeat('x', 20) FROM generate_series(1, 200000) g"
"$FLOE" iceberg inspect "$DWH" "$FT" >"$DDIR/inspect.txt"
grep -Eq '^  snapshot [0-9]+ \(current\)$' "$DDIR/inspect.txt" ||
  { cat "$DDIR/inspect.txt" >&2; dmn_fail "iceberg inspect of the quoted table"; }
# drop: slot and publication go, the quoted table's Iceberg table stays
"$FLOE" drop --warehouse "$DWH" --name t >/dev/null
[ "$(sql -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'floe_t'")" = 0 ] ||
  dmn_fail "slot left after drop"
[ "$(sql -c "SELECT count(*) FROM pg_publication WHERE pubname = 'floe_t'")" = 0 ] ||
  dmn_fail "publication left after drop"
[ ! -e "$DWH/.floe/mirror-t.json" ] || dmn_fail "registry left after drop"
"$FLOE" scan "$FT" --warehouse "$DWH" | tail -n +2 | LC_ALL=C sort >"$DDIR/ice.csv"
cmp -s "$DDIR/ice.csv" "$DDIR/p.csv" || dmn_fail "the Iceberg table differs after the drop"
dmn_start --source "$DSRC" --table public.big
dmn_wait_streaming public.big
grep -Eq 'info +copy public\.big: done, 100%, 200\.0k rows, [0-9.]+ MiB, [0-9.]+ MiB/s, [0-9.]+[kM]? rows/s, ETA 0:00$' \
  "$DDIR/log" || dmn_fail "no final progress log line"
grep -q $'\r' "$DDIR/log" && dmn_fail "a bar in the log file"
dmn_check public.big "id,s"
dmn_stop

echo "a terminal with JSON logs: log lines, no bar"
sql -c "CREATE TABLE small (id bigint PRIMARY KEY)" -c "INSERT INTO small SELECT generate_series(1, 50000)"
rm -f "$DDIR/tty.pid"
script -qec "echo \$\$ >'$DDIR/tty.pid'; exec '$FLOE' mirror --warehouse '$DDIR/wh2' \
  --name j --socket '$DDIR/j.sock' --source '$DSRC' --table public.small \
  --log-format json" /dev/null >"$DDIR/json.out" 2>&1 </dev/null &
for i in $(seq 1 300); do
  [ -s "$DDIR/tty.pid" ] && [ "$("$FLOE" tables --socket "$DDIR/j.sock" 2>/dev/null)" = "$(printf 'public.small\tstreaming')" ] && break
  sleep 0.05
done
TPID=$(cat "$DDIR/tty.pid")
kill -TERM "$TPID"
for i in $(seq 1 200); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.05; done
kill -0 "$TPID" 2>/dev/null && dmn_fail "floe mirror (json) did not stop"
TPID=""
wait || true
grep -q '"msg":"copy public.small: done, 100%, 50.0k rows, ' "$DDIR/json.out" ||
  { cat "$DDIR/json.out" >&2; dmn_fail "no JSON progress line"; }
# every line one JSON object: no bar frame in between (script writes CRLF)
tr -d '\r' <"$DDIR/json.out" | grep -v '^{".*}$' && dmn_fail "a line that is not JSON"
grep -q 'ETA.*ETA' "$DDIR/json.out" && dmn_fail "a bar frame in the JSON log"
echo "ok"
