#!/usr/bin/env bash
# CSV -> Parquet -> CSV is byte-identical for canonical CSV covering every
# type, NULL vs empty string, quoting, lists and NaN/Infinity; with every
# codec, both page versions and small row groups; plus --columns and jsonl.
set -euo pipefail
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

SPEC='id:int64!,b:bool,s:int16,i:int32,f32:float32,f64:float64,dec:decimal(10,2),big:decimal(38,6),name:utf8,raw:binary,day:date,tod:time,ts:timestamp,tz:timestamptz,u:uuid,li:list<int32>,ls:list<utf8!>'

# Canonical CSV: every value in the text form `floe parquet cat` prints, and
# quoted exactly when floe quotes. Line 4 holds an embedded LF, line 6 a CRLF.
{
  echo 'id,b,s,i,f32,f64,dec,big,name,raw,day,tod,ts,tz,u,li,ls'
  echo '1,true,-32768,-2147483648,1.5,-0.25,-12.30,12345678901234567890123456789012.345678,plain,\x00ff,2024-02-29,13:45:00,2024-02-29 13:45:00.5,2024-02-29 13:45:00.123456+00,123e4567-e89b-12d3-a456-426614174000,"[1,null,3]","[""a"",""b""]"'
  echo '2,false,32767,2147483647,NaN,Infinity,0.00,-0.000001,"",\x,1970-01-01,00:00:00,1970-01-01 00:00:00,1970-01-01 00:00:00+00,00000000-0000-0000-0000-000000000000,[],[]'
  echo '3,,,,,,,,,,,,,,,,'
  echo '4,true,0,0,-Infinity,-Infinity,99999999.99,-99999999999999999999999999999999.999999,"say ""hi"", then
leave",\xdeadbeef,1900-01-01,23:59:59.999999,1899-12-31 23:59:59.000001,2262-04-11 23:47:16.854775+00,ffffffff-ffff-ffff-ffff-ffffffffffff,[null],"[""x,y"",""q\""""]"'
  echo '5,false,1,1,0.1,3.14159,-0.01,0.000000," leading and trailing ",\x00,2000-01-01,12:00:00.5,2000-01-01 12:00:00,1999-12-31 23:00:00+00,a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,"[2147483647,-2147483648]","[""""]"'
  printf '6,true,-1,-1,NaN,NaN,1.00,1.000000,"cr\r\nlf",\\x7f,2038-01-19,01:02:03.000004,2038-01-19 03:14:07,2038-01-19 03:14:07+00,123e4567-e89b-12d3-a456-426614174001,[],"[""unicode \xc3\xa9 \xe2\x9c\x93""]"\n'
  echo '7,,,,,,,,NULL,,,,,,,,'
} >"$T/all.csv"
for codec in zstd snappy gzip none; do
  for pv in 1 2; do
    expect_rc 0 "$FLOE" parquet write --schema "$SPEC" --compression $codec \
      --page-version $pv "$T/all.csv" "$T/all.parquet"
    expect_rc 0 "$FLOE" parquet cat "$T/all.parquet"
    same "$T/all.csv" "$T/out"
    expect_rc 0 "$FLOE" parquet meta "$T/all.parquet"
    [ -s "$T/out" ] || fail "meta printed nothing"
  done
done

# stdin input, --opt=value spelling
expect_rc 0 "$FLOE" parquet write --schema="$SPEC" --compression=snappy - "$T/stdin.parquet" <"$T/all.csv"
expect_rc 0 "$FLOE" parquet cat "$T/stdin.parquet"
same "$T/all.csv" "$T/out"

# --columns: projection in the order asked, including a list
expect_rc 0 "$FLOE" parquet cat --columns name,id,li "$T/all.parquet"
cat >"$T/want_cols.csv" <<'CSV'
name,id,li
plain,1,"[1,null,3]"
"",2,[]
,3,
"say ""hi"", then
leave",4,[null]
" leading and trailing ",5,"[2147483647,-2147483648]"
CSV
printf '"cr\r\nlf",6,[]\nNULL,7,\n' >>"$T/want_cols.csv"
same "$T/want_cols.csv" "$T/out"
expect_rc 1 "$FLOE" parquet cat --columns id,nope "$T/all.parquet"
expect_err "nope"

# jsonl: one object per row, keys in column order, null for NULL; numbers
# bare, decimals and NaN/Infinity as strings, lists as arrays.
expect_rc 0 "$FLOE" parquet cat --format jsonl "$T/all.parquet"
cat >"$T/want.jsonl" <<'JSONL'
{"id":1,"b":true,"s":-32768,"i":-2147483648,"f32":1.5,"f64":-0.25,"dec":"-12.30","big":"12345678901234567890123456789012.345678","name":"plain","raw":"\\x00ff","day":"2024-02-29","tod":"13:45:00","ts":"2024-02-29 13:45:00.5","tz":"2024-02-29 13:45:00.123456+00","u":"123e4567-e89b-12d3-a456-426614174000","li":[1,null,3],"ls":["a","b"]}
{"id":2,"b":false,"s":32767,"i":2147483647,"f32":"NaN","f64":"Infinity","dec":"0.00","big":"-0.000001","name":"","raw":"\\x","day":"1970-01-01","tod":"00:00:00","ts":"1970-01-01 00:00:00","tz":"1970-01-01 00:00:00+00","u":"00000000-0000-0000-0000-000000000000","li":[],"ls":[]}
{"id":3,"b":null,"s":null,"i":null,"f32":null,"f64":null,"dec":null,"big":null,"name":null,"raw":null,"day":null,"tod":null,"ts":null,"tz":null,"u":null,"li":null,"ls":null}
{"id":4,"b":true,"s":0,"i":0,"f32":"-Infinity","f64":"-Infinity","dec":"99999999.99","big":"-99999999999999999999999999999999.999999","name":"say \"hi\", then\nleave","raw":"\\xdeadbeef","day":"1900-01-01","tod":"23:59:59.999999","ts":"1899-12-31 23:59:59.000001","tz":"2262-04-11 23:47:16.854775+00","u":"ffffffff-ffff-ffff-ffff-ffffffffffff","li":[null],"ls":["x,y","q\""]}
{"id":5,"b":false,"s":1,"i":1,"f32":0.1,"f64":3.14159,"dec":"-0.01","big":"0.000000","name":" leading and trailing ","raw":"\\x00","day":"2000-01-01","tod":"12:00:00.5","ts":"2000-01-01 12:00:00","tz":"1999-12-31 23:00:00+00","u":"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","li":[2147483647,-2147483648],"ls":[""]}
{"id":6,"b":true,"s":-1,"i":-1,"f32":"NaN","f64":"NaN","dec":"1.00","big":"1.000000","name":"cr\r\nlf","raw":"\\x7f","day":"2038-01-19","tod":"01:02:03.000004","ts":"2038-01-19 03:14:07","tz":"2038-01-19 03:14:07+00","u":"123e4567-e89b-12d3-a456-426614174001","li":[],"ls":["unicode é ✓"]}
{"id":7,"b":null,"s":null,"i":null,"f32":null,"f64":null,"dec":null,"big":null,"name":"NULL","raw":null,"day":null,"tod":null,"ts":null,"tz":null,"u":null,"li":null,"ls":null}
JSONL
same "$T/want.jsonl" "$T/out"
expect_rc 0 "$FLOE" parquet cat --format=jsonl --columns ls,id "$T/all.parquet"
head -n 3 "$T/out" >"$T/head.jsonl"
printf '{"ls":["a","b"],"id":1}\n{"ls":[],"id":2}\n{"ls":null,"id":3}\n' >"$T/want_head.jsonl"
same "$T/want_head.jsonl" "$T/head.jsonl"
# a column name that needs JSON escaping
printf '"a ""b"""\n1\n' >"$T/key.csv"
expect_rc 0 "$FLOE" parquet write --schema 'a "b":int32' "$T/key.csv" "$T/key.parquet"
expect_rc 0 "$FLOE" parquet cat --format jsonl "$T/key.parquet"
printf '{"a \\"b\\"":1}\n' >"$T/want_key.jsonl"
same "$T/want_key.jsonl" "$T/out"
expect_rc 0 "$FLOE" parquet cat "$T/key.parquet"
same "$T/key.csv" "$T/out"

# CRLF line ends and a byte order mark read the same as LF
printf '\xef\xbb\xbfk,v\r\n1,a\r\n2,"b\r\nc"\r\n3,\r\n' >"$T/crlf.csv"
expect_rc 0 "$FLOE" parquet write --schema 'k:int32!,v:utf8' "$T/crlf.csv" "$T/crlf.parquet"
expect_rc 0 "$FLOE" parquet cat "$T/crlf.parquet"
printf 'k,v\n1,a\n2,"b\r\nc"\n3,\n' >"$T/want_crlf.csv"
same "$T/want_crlf.csv" "$T/out"

# Non-canonical input comes out canonical: time zones to UTC, trailing zeros.
cat >"$T/norm.csv" <<'CSV'
tz,t
2024-01-01 02:00:00+02,10:00:00.500000
2024-01-01 00:00:00Z,10:00:00.000000
2023-12-31 21:30:00-02:30,10:00:00
CSV
expect_rc 0 "$FLOE" parquet write --schema 'tz:timestamptz,t:time' "$T/norm.csv" "$T/norm.parquet"
expect_rc 0 "$FLOE" parquet cat "$T/norm.parquet"
cat >"$T/want_norm.csv" <<'CSV'
tz,t
2024-01-01 00:00:00+00,10:00:00.5
2024-01-01 00:00:00+00,10:00:00
2024-01-01 00:00:00+00,10:00:00
CSV
same "$T/want_norm.csv" "$T/out"

# A header-only file is a valid empty table.
echo 'a,b' >"$T/empty.csv"
expect_rc 0 "$FLOE" parquet write --schema 'a:int32,b:utf8' "$T/empty.csv" "$T/empty.parquet"
expect_rc 0 "$FLOE" parquet cat "$T/empty.parquet"
same "$T/empty.csv" "$T/out"

# A single nullable column: a NULL row is an empty line.
printf 'only\nx\n\n""\n' >"$T/one.csv"
expect_rc 0 "$FLOE" parquet write --schema 'only:utf8' "$T/one.csv" "$T/one.parquet"
expect_rc 0 "$FLOE" parquet cat "$T/one.parquet"
same "$T/one.csv" "$T/out"
echo ok
