#!/usr/bin/env bash
# Every command's --help exits 0 and prints a usage line; usage errors exit 2.
set -euo pipefail
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

for cmd in "" "parquet" "parquet write" "parquet cat" "parquet meta" \
  "iceberg" "iceberg inspect" "iceberg scan" scan status tables snapshot \
  optimize add-table drop-table; do
  for h in --help -h; do
    # shellcheck disable=SC2086
    expect_rc 0 "$FLOE" $cmd $h
    grep -q '^usage: floe' "$T/out" || fail "floe $cmd $h: no usage line"
    grep -q 'Exit status' "$T/out" || fail "floe $cmd $h: exit codes undocumented"
  done
done
expect_rc 0 "$FLOE" parquet write --help
grep -q 'list elements get n+1' "$T/out" || fail "write --help lacks field id rule"
for word in --schema --compression --row-group-size --page-version; do
  grep -qF -- "$word" "$T/out" || fail "write --help lacks $word"
done
expect_rc 0 "$FLOE" parquet cat --help
grep -qF -- --columns "$T/out" || fail "cat --help lacks --columns"
grep -qF -- jsonl "$T/out" || fail "cat --help lacks jsonl"

expect_rc 0 "$FLOE" iceberg scan --help
for word in --columns --format --snapshot --warehouse initial-default; do
  grep -qF -- "$word" "$T/out" || fail "iceberg scan --help lacks $word"
done
expect_rc 0 "$FLOE" iceberg inspect --help
for word in --snapshot --warehouse floe.source-lsn cardinality; do
  grep -qF -- "$word" "$T/out" || fail "iceberg inspect --help lacks $word"
done

expect_rc 0 "$FLOE" scan --help
for word in --at-lsn --latest --timeout --columns --where-key --format --socket \
  --name --warehouse --catalog FLOE_SOCKET pg_current_wal_lsn arrow parquet; do
  grep -qF -- "$word" "$T/out" || fail "scan --help lacks $word"
done
expect_rc 0 "$FLOE" status --help
for word in --json --watch --count applied_lsn durable_lsn last_error; do
  grep -qF -- "$word" "$T/out" || fail "status --help lacks $word"
done
expect_rc 0 "$FLOE" --help
for word in scan status tables snapshot optimize add-table drop-table; do
  grep -qE "^  $word " "$T/out" || fail "floe --help lacks $word"
done

expect_rc 0 "$FLOE" --version
grep -qE '^floe [0-9]+\.[0-9]+\.[0-9]+$' "$T/out" || fail "bad --version: $(cat "$T/out")"

expect_rc 2 "$FLOE"
expect_rc 2 "$FLOE" frobnicate
expect_err "unknown command 'frobnicate'"
expect_rc 2 "$FLOE" --frob
expect_err "unknown option '--frob'"
expect_rc 2 "$FLOE" parquet
expect_rc 2 "$FLOE" parquet frob
expect_err "unknown subcommand 'frob'"
expect_rc 2 "$FLOE" parquet cat --bogus x.parquet
expect_err "unknown option '--bogus'"
expect_err "floe parquet cat --help"
expect_rc 2 "$FLOE" parquet write --schema a:int32 --level=3 in.csv out.parquet
expect_err "unknown option '--level'"
expect_rc 2 "$FLOE" parquet write in.csv out.parquet
expect_err "--schema"
expect_rc 2 "$FLOE" parquet write --schema a:int32 in.csv
expect_rc 2 "$FLOE" parquet write --schema a:int32 a b c
expect_err "unexpected argument 'c'"
expect_rc 2 "$FLOE" parquet write --schema a:int32 --compression lz5 in.csv o.parquet
expect_err "lz5"
expect_rc 2 "$FLOE" parquet write --schema a:int32 --page-version 3 in.csv o.parquet
expect_rc 2 "$FLOE" parquet write --schema a:int32 --row-group-size 0 in.csv o.parquet
expect_rc 2 "$FLOE" parquet write --schema a:int32 --row-group-size 12X in.csv o.parquet
expect_rc 2 "$FLOE" parquet write --schema 'a:int32,b:decimal(50,2)' in.csv o.parquet
expect_err "column 2 (b)"
expect_rc 2 "$FLOE" parquet write --schema
expect_err "needs a value"
expect_rc 2 "$FLOE" parquet cat --format xml x.parquet
expect_rc 2 "$FLOE" parquet cat --columns a,,b x.parquet
expect_rc 2 "$FLOE" parquet meta
expect_rc 2 "$FLOE" parquet meta a b
echo ok
