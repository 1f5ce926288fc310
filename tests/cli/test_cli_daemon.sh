#!/usr/bin/env bash
# The CLI's daemon commands against tests/tools/cli_mirror (the real RPC
# server loop and renderer over an engine table; the real daemon's own tests
# are elsewhere): scan (fresh rows, read-your-writes by LSN, --latest, key
# filter, every format), status (table, --json, --watch), tables, snapshot,
# optimize, add-table, drop-table, the socket rules and the exit codes.
set -euo pipefail
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
BUILD=${FLOE_BUILD:?set FLOE_BUILD to the build directory}
W=$T/wh
SOCK=$T/m.sock
"$BUILD/cli_mirror" "$W" "$SOCK" >"$T/mirror.out" 2>"$T/mirror.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$T"' EXIT
for _ in $(seq 200); do
  grep -q '^ready' "$T/mirror.out" 2>/dev/null && break
  sleep 0.05
done
grep -q '^ready' "$T/mirror.out" || fail "cli_mirror did not start: $(cat "$T/mirror.err")"

# no daemon: exit 3, and the message says what to do
expect_rc 3 "$FLOE" scan public.items --socket "$T/none.sock"
expect_err "cannot connect to $T/none.sock: is \`floe mirror\` running? (start it, or pass --warehouse DIR"
expect_rc 3 "$FLOE" status --socket "$T/none.sock"
expect_err "pass --socket PATH or set FLOE_SOCKET"
# the default socket: \$XDG_RUNTIME_DIR/floe-NAME.sock (as the daemon's)
XDG_RUNTIME_DIR=$T expect_rc 3 "$FLOE" tables --name shop
expect_err "cannot connect to $T/floe-shop.sock"
ln -s "$SOCK" "$T/floe-floe.sock"
XDG_RUNTIME_DIR=$T expect_rc 0 "$FLOE" tables
export FLOE_SOCKET=$SOCK

expect_rc 0 "$FLOE" tables
[ "$(cat "$T/out")" = "$(printf 'public.items\trunning')" ] || fail "tables: $(cat "$T/out")"

# status: a table, and JSON with LSNs in Postgres text form
expect_rc 0 "$FLOE" status
grep -q '^TABLE  *STATE  *ROWS  *APPLIED  *DURABLE  *LAG  *LAG_MS  *CHG/S  *FILES  *DVS  *MEM  *ERROR$' "$T/out" ||
  fail "status header: $(cat "$T/out")"
grep -qE '^public\.items +running +194 +0/12C +0/C8 ' "$T/out" || fail "status row: $(cat "$T/out")"
expect_rc 0 "$FLOE" status --json
for want in '"name":"public.items"' '"state":"running"' '"rows":194' '"applied_lsn":"0/12C"' \
  '"durable_lsn":"0/C8"' '"last_error":null' '"data_files":1' '"server":"test"'; do
  grep -qF "$want" "$T/out" || fail "status --json lacks $want: $(cat "$T/out")"
done
expect_rc 0 "$FLOE" status --json --watch --count 2
[ "$(grep -c '"tables":\[' "$T/out")" = 2 ] || fail "--watch --count 2: $(cat "$T/out")"
expect_rc 1 "$FLOE" status public.nope
expect_err "no table public.nope"
expect_rc 2 "$FLOE" status --count 2

# scan: the fresh state (rows only in memory), as csv and in every format
expect_rc 0 "$FLOE" scan public.items --columns id --format jsonl
[ "$(wc -l <"$T/out")" = 194 ] || fail "fresh scan rows: $(wc -l <"$T/out")"
grep -qx '{"id":1004}' "$T/out" || fail "row 1004 (in memory) missing"
! grep -qx '{"id":0}' "$T/out" || fail "row 0 (deleted in memory) present"
expect_rc 0 "$FLOE" scan public.items --where-key id=1
cp "$T/out" "$T/one.csv"
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --where-key id=1
same "$T/out" "$T/one.csv"
expect_rc 0 "$FLOE" scan public.items --format parquet
cp "$T/out" "$T/d.parquet"
expect_rc 0 "$FLOE" scan public.items
cp "$T/out" "$T/d.csv"
expect_rc 0 "$FLOE" parquet cat "$T/d.parquet"
same "$T/out" "$T/d.csv"
expect_rc 0 "$FLOE" scan public.items --format jsonl
sort "$T/out" >"$T/d.jsonl"
expect_rc 0 "$FLOE" scan public.items --format arrow
[ "$(tail -c8 "$T/out" | od -An -tx1 | tr -d ' ')" = ffffffff00000000 ] || fail "arrow end marker"

# read your writes: at the commit's LSN, past it (exit 4), --latest
expect_rc 0 "$FLOE" scan public.items --at-lsn 0/12C --where-key id=1003 --columns id
[ "$(tail -1 "$T/out")" = 1003 ] || fail "--at-lsn 0/12C: $(cat "$T/out")"
expect_rc 4 "$FLOE" scan public.items --at-lsn 0/12D --timeout 0
expect_err "0/12D"
expect_rc 0 "$FLOE" scan public.items --latest --where-key id=1002 --columns id
[ "$(tail -1 "$T/out")" = 1002 ] || fail "--latest: $(cat "$T/out")"
expect_rc 1 "$FLOE" scan public.nope
expect_err "no table public.nope is mirrored"
expect_rc 2 "$FLOE" scan public.items --at-lsn 0/1 --latest

# snapshot: the memory rows become durable, and a direct read sees them
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --columns id --where-key id=1004
[ "$(wc -l <"$T/out")" = 1 ] || fail "row 1004 durable before the snapshot"
expect_rc 0 "$FLOE" snapshot public.items
grep -Eq '^public.items durable at 0/12C, Iceberg snapshot [0-9]+$' "$T/out" || fail "snapshot: $(cat "$T/out")"
snap=$(sed 's/.*snapshot //' "$T/out")
# the id is the table's current snapshot, as Iceberg's metadata says
expect_rc 0 "$FLOE" iceberg inspect "$W" public.items
grep -q "^current-snapshot-id: $snap\$" "$T/out" || fail "snapshot $snap is not current: $(cat "$T/out")"
# (the same rows; the order is the files', so compare sorted JSON lines)
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --format jsonl
sort "$T/out" >"$T/w.jsonl"
same "$T/w.jsonl" "$T/d.jsonl"
expect_rc 0 "$FLOE" snapshot
grep -q "every table durable at 0/12C" "$T/out" || fail "snapshot of all: $(cat "$T/out")"
expect_rc 1 "$FLOE" snapshot public.nope

# optimize: two data files (the two snapshots) become one
expect_rc 0 "$FLOE" optimize public.items --force
[ "$(cat "$T/out")" = "public.items: 2 data files before, 1 after" ] || fail "optimize: $(cat "$T/out")"
expect_rc 0 "$FLOE" scan public.items --format jsonl
sort "$T/out" >"$T/o.jsonl"
same "$T/o.jsonl" "$T/d.jsonl"
expect_rc 2 "$FLOE" optimize

# add-table / drop-table
expect_rc 0 "$FLOE" add-table public.other --set batch-rows=100
grep -q "public.other added" "$T/out" || fail "add-table: $(cat "$T/out")"
expect_rc 1 "$FLOE" add-table public.items
expect_err "already mirrored"
expect_rc 1 "$FLOE" add-table public.x --set nope=1
expect_err "unknown setting 'nope'"
expect_rc 2 "$FLOE" add-table public.x --set nope
expect_rc 0 "$FLOE" tables
grep -q "^public.other" "$T/out" || fail "tables after add: $(cat "$T/out")"
expect_rc 0 "$FLOE" drop-table public.other --purge
grep -q "public.other dropped and its Iceberg table deleted" "$T/out" || fail "drop: $(cat "$T/out")"
expect_rc 1 "$FLOE" drop-table public.other
expect_rc 2 "$FLOE" drop-table other

kill -TERM $pid
wait $pid || fail "cli_mirror exited $?"
echo "ok"
