#!/usr/bin/env bash
# `floe scan --warehouse`: the last Iceberg snapshot of a table the engine
# wrote (tests/tools/cli_mirror: a column of every type), in every format.
# csv is checked value by value on known rows; parquet reads back through
# `floe parquet cat` to the same csv; arrow is framed as an IPC stream
# (value checks: tests/interop/render.test.mjs, tests/unit/test_render.c).
set -euo pipefail
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
BUILD=${FLOE_BUILD:?set FLOE_BUILD to the build directory}
W=$T/wh
"$BUILD/cli_mirror" "$W" || fail "cli_mirror could not build the warehouse"

expect_rc 0 "$FLOE" scan --warehouse "$W" public.items
cp "$T/out" "$T/all.csv"
head -1 "$T/all.csv" | grep -qx 'id,b,s,i,l,f,d,m,big,t,bin,dt,tm,ts,tz,u,li,ls' ||
  fail "header: $(head -1 "$T/all.csv")"
# the same rows as the generic Iceberg reader prints them
expect_rc 0 "$FLOE" iceberg scan "$W" public.items
same "$T/out" "$T/all.csv"

# one row, every type: row 1 as cli_mirror makes it
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --where-key id=1
cat >"$T/want" <<'CSV'
id,b,s,i,l,f,d,m,big,t,bin,dt,tm,ts,tz,u,li,ls
1,false,-32437,506952113,9223372036854775806,-1.5,-0,-499876.55,18446826059238.768102895,"",\x25,1945-08-17,00:20:34.567891,1966-11-26 07:30:22.219812,1973-02-05 16:29:38.280188+00,0d1e2f40-5162-7384-95a6-b7c8d9eafb0c,,"[""""]"
CSV
same "$T/out" "$T/want"
# updated and deleted rows, NULLs, projection order
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --where-key id=12 --columns t,id --format jsonl
[ "$(cat "$T/out")" = '{"t":"updated 12","id":12}' ] || fail "row 12: $(cat "$T/out")"
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --where-key id=25
[ "$(wc -l <"$T/out")" = 1 ] || fail "deleted row 25 is back: $(cat "$T/out")"
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --where-key id=3 --columns id,b,li
[ "$(tail -1 "$T/out")" = '3,,' ] || fail "row 3 should be NULLs: $(cat "$T/out")"
# 190 rows: 0..199 less 20..29 (jsonl has one line per row)
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --format jsonl
[ "$(wc -l <"$T/out")" = 190 ] || fail "jsonl rows: $(wc -l <"$T/out")"
grep -q '"big":"18446826059238.768102895"' "$T/out" || fail "decimal(38,9) in jsonl"

# parquet: one file whose rows print as the csv did
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --format parquet
cp "$T/out" "$T/all.parquet"
[ "$(head -c4 "$T/all.parquet")" = PAR1 ] || fail "parquet magic"
expect_rc 0 "$FLOE" parquet cat "$T/all.parquet"
same "$T/out" "$T/all.csv"
expect_rc 0 "$FLOE" parquet cat --columns u,id "$T/all.parquet"
cp "$T/out" "$T/ui.csv"
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --columns u,id
same "$T/out" "$T/ui.csv"

# arrow: continuation token and 8-byte aligned length first, end-of-stream
# marker last
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --format arrow
[ "$(head -c4 "$T/out" | od -An -tx1 | tr -d ' ')" = ffffffff ] || fail "arrow: no continuation token"
len=$(head -c8 "$T/out" | tail -c4 | od -An -tu4 | tr -d ' ')
[ $((len % 8)) = 0 ] || fail "arrow: metadata length $len not a multiple of 8"
[ "$(tail -c8 "$T/out" | od -An -tx1 | tr -d ' ')" = ffffffff00000000 ] || fail "arrow: no end-of-stream marker"
# parquet cat renders arrow too, through the same library
expect_rc 0 "$FLOE" parquet cat --format arrow "$T/all.parquet"
cp "$T/out" "$T/b.arrow"
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --format arrow
same "$T/out" "$T/b.arrow"

# --at-lsn against the snapshot's floe.source-lsn (0/C8)
expect_rc 0 "$FLOE" scan --warehouse "$W" public.items --at-lsn 0/C8 --columns id
expect_rc 4 "$FLOE" scan --warehouse "$W" public.items --at-lsn 0/C9
expect_err "covers LSN 0/C8, not 0/C9"

# errors that say what is wrong
expect_rc 1 "$FLOE" scan --warehouse "$W" public.nope
expect_err "no table public.nope in $W"
expect_rc 1 "$FLOE" scan --warehouse "$W" public.items --columns id,zz
expect_err "no column 'zz' (the columns are: id, b, s"
expect_rc 1 "$FLOE" scan --warehouse "$W" public.items --where-key id=abc
expect_err "key id=abc"
expect_rc 1 "$FLOE" scan --warehouse "$W" public.items --where-key li=1
expect_err "is a list"
expect_rc 2 "$FLOE" scan --warehouse "$W" public.items --latest
expect_err "--latest needs the daemon"
expect_rc 2 "$FLOE" scan --warehouse "$W" public.items --format xml
expect_rc 2 "$FLOE" scan --warehouse "$W" items
expect_err "not SCHEMA.TABLE"
expect_rc 2 "$FLOE" scan --warehouse "$W" public.items --where-key id
expect_err "is not COLUMN=VALUE"
expect_rc 2 "$FLOE" scan --warehouse "$W" public.items --at-lsn zz
expect_rc 2 "$FLOE" scan --catalog fs public.items
echo "ok"
