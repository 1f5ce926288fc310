#!/usr/bin/env bash
# Many rows: several writer batches (65536 rows each) and, with a small
# --row-group-size, several row groups; the round trip stays byte-identical
# and the row count survives.
set -euo pipefail
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

ROWS=150000
awk -v n=$ROWS 'BEGIN {
  print "id,name,price,at,tags"
  for (i = 1; i <= n; i++) {
    name = (i % 97 == 0) ? "" : ((i % 89 == 0) ? "\"\"" : "n" (i * 7919 % 100003))
    price = sprintf("%d.%02d", i % 100000, i % 100)
    at = sprintf("2024-01-%02d %02d:%02d:%02d", 1 + i % 28, i % 24, i % 60, (i * 13) % 60)
    tags = (i % 5 == 0) ? "[]" : "\"[" i % 1000 ",null]\""
    print i "," name "," price "," at "," tags
  }
}' >"$T/big.csv"
SPEC='id:int64!,name:utf8,price:decimal(12,2),at:timestamp,tags:list<int32>'

expect_rc 0 "$FLOE" parquet write --schema "$SPEC" --row-group-size 512K "$T/big.csv" "$T/big.parquet"
expect_rc 0 "$FLOE" parquet meta "$T/big.parquet"
groups=$(grep -c '^row_group [0-9]' "$T/out" || true)
[ "$groups" -gt 1 ] || fail "expected several row groups, meta shows $groups"
grep -q "num_rows: $ROWS" "$T/out" || fail "meta lacks num_rows: $ROWS"
expect_rc 0 "$FLOE" parquet cat "$T/big.parquet"
same "$T/big.csv" "$T/out"

# the default row group size: one group, same rows
expect_rc 0 "$FLOE" parquet write --schema "$SPEC" - "$T/one.parquet" <"$T/big.csv"
expect_rc 0 "$FLOE" parquet cat "$T/one.parquet"
same "$T/big.csv" "$T/out"
echo ok
