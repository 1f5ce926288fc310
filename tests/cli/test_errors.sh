#!/usr/bin/env bash
# Bad input: exit 1, a message naming the line and column, and no output file
# (not even a temporary one) left behind.
set -euo pipefail
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

SPEC='id:int64!,name:utf8,price:decimal(10,2),tags:list<int32!>'
mkdir "$T/out_dir"
OUT="$T/out_dir/out.parquet"

# expect_bad CSV_TEXT MESSAGE...: writing fails with every MESSAGE on stderr.
expect_bad() {
  printf '%s' "$1" >"$T/in.csv"
  shift
  expect_rc 1 "$FLOE" parquet write --schema "$SPEC" "$T/in.csv" "$OUT"
  grep -q '^floe: ' "$T/err" || fail "message not prefixed 'floe: ': $(cat "$T/err")"
  for m in "$@"; do expect_err "$m"; done
  [ -z "$(ls -A "$T/out_dir")" ] || fail "left behind: $(ls -A "$T/out_dir")"
}

# the header is part of printf formats on purpose
# shellcheck disable=SC2059
H='id,name,price,tags\n'
expect_bad "$(printf "$H"'1,a,1.00,[]\n2,b,12.345,[]\n')" \
  "in.csv line 3, column 3 (price)" "12.345"
expect_bad "$(printf "$H"'1,a,1.00,[]\n,b,2.00,[]\n')" \
  "in.csv line 3, column 1 (id)" "required"
expect_bad "$(printf "$H"'1,a,1.00,[]\n2,b,2.00,"[1,null]"\n')" \
  "in.csv line 3, column 4 (tags)" "null element"
expect_bad "$(printf "$H"'1,a,1.00,[]\n2,b,2.00\n')" \
  "in.csv line 3" "3 fields, expected 4"
expect_bad "$(printf "$H"'1,a,1.00,[],extra\n')" \
  "in.csv line 2" "5 fields, expected 4"
expect_bad "$(printf "$H"'x1,a,1.00,[]\n')" \
  "in.csv line 2, column 1 (id)"
expect_bad "$(printf "$H"'1,a,1.00,"1,2"\n')" \
  "in.csv line 2, column 4 (tags)"
# a quoted field spanning lines: the error names the line where it starts
expect_bad "$(printf "$H"'1,"multi\nline",1.00,[]\n2,"open,2.00,[]\n')" \
  "in.csv line 4, column 2 (name)" "never closed"
expect_bad "$(printf "$H"'1,a"b,1.00,[]\n')" \
  "in.csv line 2, column 2 (name)" "quote inside"
expect_bad "$(printf 'id,nom,price,tags\n')" \
  "in.csv line 1, column 2" "'nom'" "'name'"
expect_bad "$(printf 'id,name,price\n')" "header has 3 columns"
expect_bad "" "empty"
# failing after many rows (past the first batch) still leaves nothing
{
  printf "$H"
  seq 1 70000 | sed 's/$/,n,1.00,[]/'
  printf '70001,n,bad,[]\n'
} >"$T/big.csv"
expect_rc 1 "$FLOE" parquet write --schema "$SPEC" "$T/big.csv" "$OUT"
expect_err "big.csv line 70002, column 3 (price)"
[ -z "$(ls -A "$T/out_dir")" ] || fail "left behind: $(ls -A "$T/out_dir")"

# stdin is named in messages
printf "$H"'1,a,x,[]\n' | {
  expect_rc 1 "$FLOE" parquet write --schema "$SPEC" - "$OUT"
}
expect_err "stdin line 2, column 3 (price)"

# an existing output survives a failed write untouched
printf "$H"'1,a,1.00,[]\n' >"$T/good.csv"
expect_rc 0 "$FLOE" parquet write --schema "$SPEC" "$T/good.csv" "$OUT"
cp "$OUT" "$T/saved.parquet"
printf "$H"'1,a,oops,[]\n' >"$T/bad.csv"
expect_rc 1 "$FLOE" parquet write --schema "$SPEC" "$T/bad.csv" "$OUT"
same "$T/saved.parquet" "$OUT"
[ "$(ls -A "$T/out_dir")" = out.parquet ] || fail "stray files: $(ls -A "$T/out_dir")"

# missing input, unwritable output directory, unreadable parquet
expect_rc 1 "$FLOE" parquet write --schema "$SPEC" "$T/nope.csv" "$T/x.parquet"
expect_err "nope.csv"
expect_rc 1 "$FLOE" parquet write --schema "$SPEC" "$T/good.csv" "$T/no/such/dir/x.parquet"
expect_err "no/such/dir"
expect_rc 1 "$FLOE" parquet cat "$T/nope.parquet"
expect_rc 1 "$FLOE" parquet meta "$T/good.csv"
expect_rc 1 "$FLOE" parquet cat "$T/good.csv"
echo ok
