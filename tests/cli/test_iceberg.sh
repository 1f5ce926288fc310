#!/usr/bin/env bash
# floe iceberg inspect / scan over the tables the unit test test_iceberg_scan
# builds (FLOE_DUMP_DIR): db.events (two data files, deletion vectors with a
# run and scattered positions, a replaced DV) and db.evolve (renamed, added
# and widened columns).
set -euo pipefail
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

UNIT="$(dirname "$FLOE")/test_iceberg_scan"
[ -x "$UNIT" ] || fail "$UNIT missing: build the unit tests"
W="$T/wh"
mkdir -p "$W"
FLOE_DUMP_DIR="$W" "$UNIT" >"$T/unit.log" 2>&1 || fail "test_iceberg_scan: $(tail -20 "$T/unit.log")"

# ---- inspect ----
expect_rc 0 "$FLOE" iceberg inspect "$W" db.events
for want in "metadata: $W/db/events/metadata/v4.metadata.json" \
  "location: $W/db/events" "format-version: 3" "current-snapshot-id: 3" \
  "snapshot 3 (current)" "    parent: 2" "    operation: delete" \
  "    floe.source-lsn: 0/3000" "files of snapshot 3: 2 data files" \
  "    records: 1000  size: " "    deletion vector: 55 rows" \
  "    deletion vector: 2 rows" \
  "rows: records 1010, deleted 57, live 953" "  schema 0 (current)" \
  "    1 id long required" "    2 name string" \
  "  spec 0 (default): unpartitioned" "properties: 0"; do
  grep -qxF -- "$want" "$T/out" || grep -qF -- "$want" "$T/out" ||
    fail "inspect lacks '$want': $(cat "$T/out")"
done
expect_rc 0 "$FLOE" iceberg inspect --snapshot 1 "file:$W" db.events
grep -qF "rows: records 1000, deleted 0, live 1000 (" "$T/out" || fail "inspect --snapshot 1: $(cat "$T/out")"
expect_rc 0 "$FLOE" iceberg inspect "$W" db.evolve
grep -qxF "  schema 1 (current)" "$T/out" || fail "evolve: no schema 1"
grep -qxF '    4 region string required initial-default="eu" write-default="eu"' "$T/out" ||
  fail "evolve: region default: $(cat "$T/out")"
grep -qxF "    2 label string" "$T/out" || fail "evolve: rename"
expect_rc 0 "$FLOE" iceberg inspect "$W" db.empty
grep -qxF "current-snapshot-id: -" "$T/out" || fail "empty: $(cat "$T/out")"
grep -qxF "rows: records 0, deleted 0, live 0 (data bytes 0)" "$T/out" || fail "empty rows"

# ---- scan: the data files as `floe parquet cat` prints them, minus the
# DVs' positions (line = position + 2, after the header) ----
a="$W/db/events/data/00000-test.parquet"
b="$W/db/events/data/00003-test.parquet"
"$FLOE" parquet cat "$b" | awk 'NR != 4 && NR != 5' >"$T/want"
"$FLOE" parquet cat "$a" | awk 'NR > 1 { p = NR - 2;
  if (p == 0 || p == 5 || p == 7 || p == 600 || p == 999 || (p >= 100 && p < 150)) next }
  NR > 1' >>"$T/want"
[ "$(wc -l <"$T/want")" = 954 ] || fail "expected 953 rows + header"
expect_rc 0 "$FLOE" iceberg scan "$W" db.events
same "$T/out" "$T/want"
expect_rc 0 "$FLOE" iceberg scan --format jsonl --columns v,id "$W" db.events
head -3 "$T/out" >"$T/head"
printf '%s\n' '{"v":500,"id":1000}' '{"v":500.5,"id":1001}' '{"v":502,"id":1004}' >"$T/want"
same "$T/head" "$T/want"
# time travel: snapshot 2 still has B's rows 2 and 3 and A's row 7
expect_rc 0 "$FLOE" iceberg scan --snapshot 2 --columns id "$W" db.events
[ "$(wc -l <"$T/out")" = 957 ] || fail "snapshot 2: $(wc -l <"$T/out") lines"
grep -qx 1002 "$T/out" && grep -qx 7 "$T/out" || fail "snapshot 2 rows"

expect_rc 0 "$FLOE" iceberg scan "$W" db.evolve
printf '%s\n' 'id,label,price,region,qty,note' '5000000000,new,0.1,us,,hi' \
  '-2,na,0,eu,7,' '0,nc,0.5,eu,7,' '1,nd,0.75,eu,7,' >"$T/want"
same "$T/out" "$T/want"
expect_rc 0 "$FLOE" iceberg scan --format jsonl --columns qty,label "$W" db.evolve
printf '%s\n' '{"qty":null,"label":"new"}' '{"qty":7,"label":"na"}' \
  '{"qty":7,"label":"nc"}' '{"qty":7,"label":"nd"}' >"$T/want"
same "$T/out" "$T/want"
# only columns the old files lack: their rows come from the defaults alone
expect_rc 0 "$FLOE" iceberg scan --columns region,note "$W" db.evolve
printf '%s\n' 'region,note' 'us,hi' 'eu,' 'eu,' 'eu,' >"$T/want"
same "$T/out" "$T/want"
expect_rc 0 "$FLOE" iceberg scan --snapshot 10 "$W" db.evolve
printf '%s\n' 'id,name,price' '-2,na,0' '-1,nb,0.25' '0,nc,0.5' '1,nd,0.75' >"$T/want"
same "$T/out" "$T/want"
expect_rc 0 "$FLOE" iceberg scan "$W" db.empty
printf '%s\n' 'id,name,v' >"$T/want"
same "$T/out" "$T/want"

# ---- errors ----
expect_rc 1 "$FLOE" iceberg scan "$W" db.nothere
expect_rc 1 "$FLOE" iceberg scan "$W" nodot
expect_err "not <namespace>.<table>"
expect_rc 1 "$FLOE" iceberg scan --columns id,zzz "$W" db.events
expect_err "no column 'zzz'"
expect_rc 1 "$FLOE" iceberg inspect --snapshot 99 "$W" db.events
expect_err "no snapshot 99"
expect_rc 2 "$FLOE" iceberg scan --snapshot abc "$W" db.events
expect_rc 2 "$FLOE" iceberg scan --format xml "$W" db.events
expect_rc 2 "$FLOE" iceberg scan --columns id,id "$W" db.events
expect_rc 2 "$FLOE" iceberg scan "$W"
expect_rc 2 "$FLOE" iceberg frob
expect_err "unknown subcommand 'frob'"
# a corrupt manifest list is named
ml=$(sed -n 's/^    manifest-list: //p' <("$FLOE" iceberg inspect "$W" db.events) | tail -1)
printf 'garbage' >"$ml"
expect_rc 1 "$FLOE" iceberg scan "$W" db.events
expect_err "$ml"
echo ok
