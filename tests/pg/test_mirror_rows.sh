#!/usr/bin/env bash
# The Postgres source end to end (src/pg/source*.c through tests/pg/
# pg_mirror_run): after each step the mirror, read through the engine,
# equals SELECT * FROM source value for value.
#   every type with edge values (initial copy and stream), TOAST updates
#   (unchanged large text while another column changes, also once the row
#   is in Parquet), key-changing updates, composite keys, a key-less table
#   with duplicate rows, interleaved concurrent transactions, TRUNCATE of
#   several tables and CASCADE, a table without identity refused (naming
#   the ALTER) and accepted with the flag, a corrupt message mid-stream.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
# shellcheck source=tests/pg/mirror_lib.sh
. "$HERE/mirror_lib.sh"
mirror_test_begin

sql <<'SQL'
CREATE EXTENSION citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE DOMAIN short AS varchar(8);
CREATE TABLE types (
  id int8 PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,
  n numeric(12,3), nbig numeric(38,0), nneg numeric(5,-2), nfree numeric,
  t text, vc varchar(10), c char(5), nm name, ci citext, ch "char", by bytea,
  d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
  u uuid, js json, jb jsonb, e mood, dp posint, ds short, ia int4[],
  ta text[], na numeric(6,2)[], o oid, ip inet, cid cidr, mac macaddr,
  mo money, pt point, x xml);
CREATE FUNCTION fill(lo int, hi int) RETURNS void LANGUAGE sql AS $$
INSERT INTO types SELECT g, g % 2 = 0,
  (ARRAY[-32768, 32767, 0])[g % 3 + 1], (ARRAY[-2147483648, 2147483647, 7])[g % 3 + 1],
  (ARRAY[-9223372036854775808, 9223372036854775807, 0])[g % 3 + 1],
  (ARRAY['NaN', 'Infinity', '-Infinity', '-0', '1.17549435e-38', '3.4028235e38', '0.1'])[g % 7 + 1]::float4,
  (ARRAY['NaN', 'Infinity', '-Infinity', '-0', '5e-324', '1.7976931348623157e308', '0.1'])[g % 7 + 1]::float8,
  (ARRAY[-999999999.999, 999999999.999, 0, 0.001])[g % 4 + 1],
  (ARRAY['99999999999999999999999999999999999999', '-1', '0'])[g % 3 + 1]::numeric,
  (ARRAY[-9999900, 100, 0])[g % 3 + 1],
  (ARRAY['NaN', 'Infinity', '-Infinity', '1e-20', '123456789012345678901234567890.123456789'])[g % 5 + 1]::numeric,
  CASE WHEN g % 5 = 0 THEN NULL WHEN g % 5 = 1 THEN '' ELSE 'tab	nl
 bs\ quote" é€𝄞 ' || g END,
  'v' || g, 'ab', 'name' || g, 'MiXeD' || g, 'x', decode('00ff' || lpad(to_hex(g), 8, '0'), 'hex'),
  (ARRAY['infinity', '-infinity', '2000-02-29', '0001-01-01 BC', '5874897-12-31'])[g % 5 + 1]::date,
  (ARRAY['00:00', '24:00:00', '23:59:59.999999', '12:34:56.5'])[g % 4 + 1]::time,
  (ARRAY['12:00+02', '00:00:00.1-14:59'])[g % 2 + 1]::timetz,
  (ARRAY['infinity', '-infinity', '2020-01-01 00:00:00.000001', '4713-01-01 00:00 BC', '294200-12-31 23:59:59'])[g % 5 + 1]::timestamp,
  (ARRAY['infinity', '-infinity', '2020-06-01 12:00:00.5+02', '1900-01-01 00:00+00'])[g % 4 + 1]::timestamptz,
  make_interval(g, -g, 0, g, 1, 2, 3.5), md5(g::text)::uuid,
  ('{"a": ' || g || ', "s": "x\"y"}')::json, jsonb_build_object('k', g, 'arr', jsonb_build_array(1, null)),
  (ARRAY['sad', 'ok', 'happy'])[g % 3 + 1]::mood, g, 'd' || (g % 1000),
  CASE WHEN g % 3 = 0 THEN NULL WHEN g % 3 = 1 THEN '{}'::int4[] ELSE ARRAY[g, NULL, -g] END,
  ARRAY['a,b', 'q"t', NULL, '', 'NULL', 'back\slash'],
  ARRAY[1.5, -2.25, NULL]::numeric(6,2)[], g::oid, '192.168.0.1/24', '10.0.0.0/8',
  '08:00:2b:01:02:03', 12.34, point(g, -0.5), ('<a>' || g || '</a>')::xml
FROM generate_series(lo, hi) g
$$;
SELECT fill(1, 300);
INSERT INTO types (id) VALUES (0);

CREATE TABLE toast (id int PRIMARY KEY, big text, n int);
ALTER TABLE toast ALTER big SET STORAGE EXTERNAL;
INSERT INTO toast SELECT g, repeat(md5(g::text), 4000), g FROM generate_series(1, 20) g;

CREATE TABLE comp (a int, b text, c int, v text, PRIMARY KEY (b, a));
INSERT INTO comp SELECT g % 10, 'k' || (g / 10), g, 'v' || g FROM generate_series(1, 200) g;

CREATE TABLE nokey (a int, b text);
ALTER TABLE nokey REPLICA IDENTITY FULL;
INSERT INTO nokey VALUES (1, 'dup'), (1, 'dup'), (1, 'dup'), (2, NULL), (2, NULL);

CREATE TABLE parent (id int PRIMARY KEY);
CREATE TABLE child (id int PRIMARY KEY, p int REFERENCES parent);
INSERT INTO parent SELECT generate_series(1, 50);
INSERT INTO child SELECT g, g FROM generate_series(1, 50) g;

CREATE TABLE bare (a int, b text);
INSERT INTO bare VALUES (1, 'x');
SQL

step "a table without a row identity is refused with the ALTER to run"
mirror_start --table public.bare
out=$(mirror_status)
grep -q 'state=error .*ALTER TABLE "public"."bare" REPLICA IDENTITY FULL' <<<"$out" || {
  echo "refusal does not name the ALTER: $out" >&2
  exit 1
}
mirror_stop

step "initial copy of every type, then streamed changes"
T="public.types public.toast public.comp public.nokey public.parent public.child public.bare"
# shellcheck disable=SC2046
mirror_start --commit-ms 300 --replica-full $(for t in $T; do echo --table "$t"; done)
# shellcheck disable=SC2086
mirror_check $T
sql -c "SELECT fill(301, 600); UPDATE types SET t = 'changed ' || id, f8 = -f8 WHERE id % 4 = 0;
  DELETE FROM types WHERE id % 9 = 0; UPDATE types SET id = -id WHERE id % 50 = 1;
  UPDATE types SET ia = NULL, ta = '{}' WHERE id % 7 = 1"
mirror_check public.types

step "TOAST: an unchanged large value stays while other columns change"
sql -c "UPDATE toast SET n = n + 100 WHERE id <= 10"
mirror_check public.toast
sleep 1 # the next Iceberg commit flushes those rows to Parquet
sql -c "UPDATE toast SET n = -n WHERE id <= 15; UPDATE toast SET id = id + 1000 WHERE id = 3"
mirror_check public.toast
sql -c "BEGIN; UPDATE toast SET n = 1 WHERE id = 4; UPDATE toast SET n = 2 WHERE id = 4; COMMIT"
mirror_check public.toast

step "composite keys, key changes"
sql -c "UPDATE comp SET a = a + 100 WHERE c % 3 = 0; UPDATE comp SET v = 'w' WHERE c % 5 = 0;
  DELETE FROM comp WHERE c % 7 = 0; UPDATE comp SET b = b || 'x', v = 'moved' WHERE c % 11 = 0"
mirror_check public.comp

step "key-less table: duplicate rows, delete one of two identical"
sql -c "DELETE FROM nokey WHERE ctid = (SELECT min(ctid) FROM nokey WHERE a = 1);
  UPDATE nokey SET b = 'one' WHERE ctid = (SELECT min(ctid) FROM nokey WHERE a = 2);
  INSERT INTO nokey VALUES (3, 'dup'), (3, 'dup')"
mirror_check public.nokey
sql -c "DELETE FROM nokey WHERE ctid = (SELECT max(ctid) FROM nokey WHERE a = 3)"
mirror_check public.nokey public.bare

step "interleaved concurrent transactions"
pids=""
for k in 1 2 3 4; do
  sql -c "BEGIN; INSERT INTO comp VALUES ($k, 'conc', 1000 + $k, 'a');
    SELECT pg_sleep(0.$((5 - k))); UPDATE comp SET v = 'b$k' WHERE b = 'conc' AND a = $k;
    SELECT pg_sleep(0.2); DELETE FROM comp WHERE c = $((k * 13)); COMMIT" >/dev/null &
  pids="$pids $!"
done
for p in $pids; do wait "$p"; done
mirror_check public.comp

step "TRUNCATE of several tables, and CASCADE"
sql -c "BEGIN; INSERT INTO nokey VALUES (9, 'gone'); TRUNCATE nokey, toast; INSERT INTO toast VALUES (1, 'after', 1); COMMIT"
sql -c "TRUNCATE parent CASCADE"
sql -c "INSERT INTO parent VALUES (7); INSERT INTO child VALUES (7, 7)"
mirror_check public.nokey public.toast public.parent public.child
mirror_status | grep '^table' | grep -v 'state=streaming' && {
  echo "a table left streaming" >&2
  exit 1
}

step "graceful stop and restart resume without a copy"
mirror_stop
sql -c "UPDATE types SET i4 = 1 WHERE id % 3 = 0; INSERT INTO comp VALUES (1, 'z', 1, 'z')"
# shellcheck disable=SC2046
mirror_start --commit-ms 300 $(for t in $T; do echo --table "$t"; done)
# shellcheck disable=SC2086
mirror_check $T
mirror_status | grep 'public.types ' | grep -c 'copy_rows=0 ' >/dev/null || {
  echo "the restart copied again" >&2
  exit 1
}

step "an idle mirror confirms up to the server's WAL position (no WAL pinned)"
lsn=$(sql -c "SELECT pg_current_wal_lsn()")
mirror_wait
ok=""
for _ in $(seq 1 50); do
  ok=$(sql -c "SELECT confirmed_flush_lsn >= '$lsn' FROM pg_replication_slots WHERE slot_name = 'floe_t'")
  [ "$ok" = t ] && break
  sleep 0.2
done
[ "$ok" = t ] || {
  echo "slot not confirmed up to $lsn: $(sql -c "SELECT confirmed_flush_lsn FROM pg_replication_slots")" >&2
  mirror_status >&2
  exit 1
}

step "a corrupt message mid-stream: the mirror reports an error, no crash"
out=$(mirror_cmd_reply corrupt)
grep -q '^failed .*pgoutput Insert' <<<"$out" || {
  echo "corrupt message: $out" >&2
  exit 1
}
st=$(mirror_status)
if ! grep -q '^mirror error ' <<<"$st" || ! grep -q 'state=error' <<<"$st" ||
  ! grep -q 'mirror stopped: ' <<<"$st"; then
  echo "status after a corrupt message: $st" >&2
  exit 1
fi
mirror_kill; cp "$MDIR/log" /tmp/mt/last.log || true
echo "test_mirror_rows: OK"
