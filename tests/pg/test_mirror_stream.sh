#!/usr/bin/env bash
# Streamed in-progress transactions through the source (logical_decoding_
# work_mem = 64kB, so Postgres streams anything bigger while it runs):
#   a 2M-row transaction applied within the memory limit (peak RSS
#   asserted), a streamed transaction that aborts, SAVEPOINT / ROLLBACK TO
#   (nested, released, rolled back) inside streamed transactions, updates
#   and deletes of committed and in-transaction rows inside a stream.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
# shellcheck source=tests/pg/mirror_lib.sh
. "$HERE/mirror_lib.sh"
mirror_test_begin

sql -c "ALTER SYSTEM SET logical_decoding_work_mem = '64kB'" -c "SELECT pg_reload_conf()" >/dev/null
sql -c "CREATE TABLE big (id int8 PRIMARY KEY, v text, n int);
  CREATE TABLE sp (id int PRIMARY KEY, v text, n int);
  INSERT INTO sp SELECT g, 'c' || g, g FROM generate_series(1, 1000) g"
# 48 MiB for the engine's rows: a transaction spills past 8 MiB
mirror_start --table public.big --table public.sp --memory-limit 50331648 \
  --spill-bytes 8388608 --commit-ms 500

step "a 2M-row transaction, streamed while it runs"
rss0=$(mirror_status | awk '/^maxrss_kb/ {print $2}')
sql -c "INSERT INTO big SELECT g, substr(md5(g::text), 1, 16), g FROM generate_series(1, 2000000) g"
mirror_wait
st=$(mirror_status)
rss=$(awk '/^maxrss_kb/ {print $2}' <<<"$st")
echo "peak RSS: ${rss0} KiB before, ${rss} KiB after the 2M-row transaction; $(grep cpu_s <<<"$st")"
# the transaction's rows are ~100 MB as engine rows; the mirror must not
# hold them: bounded by the memory limit plus the engine's fixed costs
if grep -q '^sanitized 1' <<<"$st"; then
  echo "(sanitizer build: RSS not checked)"
elif [ "$rss" -gt 100000 ]; then
  echo "peak RSS ${rss} KiB is past the bound" >&2
  exit 1
fi
mirror_check public.big

step "a streamed transaction that aborts"
sql -c "BEGIN; INSERT INTO sp SELECT g, 'gone', g FROM generate_series(5001, 60000) g;
  UPDATE sp SET v = 'gone' WHERE id <= 500; DELETE FROM sp WHERE id > 900 AND id <= 1000; ROLLBACK"
mirror_check public.sp

step "SAVEPOINT / ROLLBACK TO inside streamed transactions"
sql <<'SQL'
BEGIN;
INSERT INTO sp SELECT g, 'top', g FROM generate_series(10001, 30000) g;
SAVEPOINT a;
INSERT INTO sp SELECT g, 'in a', g FROM generate_series(30001, 50000) g;
UPDATE sp SET v = 'a updated' WHERE id <= 100;
DELETE FROM sp WHERE id BETWEEN 10001 AND 10100;
ROLLBACK TO a;
UPDATE sp SET v = 'after a' WHERE id BETWEEN 50 AND 150;
SAVEPOINT b;
INSERT INTO sp SELECT g, 'in b', g FROM generate_series(50001, 70000) g;
SAVEPOINT c;
DELETE FROM sp WHERE id BETWEEN 50001 AND 50500;
UPDATE sp SET n = -n WHERE id BETWEEN 10001 AND 12000;
ROLLBACK TO c;
DELETE FROM sp WHERE id BETWEEN 60001 AND 60010;
RELEASE b;
SAVEPOINT d;
UPDATE sp SET id = id + 1000000 WHERE id BETWEEN 69001 AND 70000;
RELEASE d;
COMMIT;
SQL
mirror_check public.sp

step "two streamed transactions interleaved, one aborting a subtransaction"
sql -c "BEGIN; INSERT INTO sp SELECT g, 'x1', g FROM generate_series(200001, 230000) g; SELECT pg_sleep(0.5);
  UPDATE sp SET v = 'x1 late' WHERE id BETWEEN 200001 AND 200050; COMMIT" >/dev/null &
p1=$!
sql -c "BEGIN; INSERT INTO sp SELECT g, 'x2', g FROM generate_series(300001, 330000) g;
  SAVEPOINT s; DELETE FROM sp WHERE id BETWEEN 300001 AND 310000; SELECT pg_sleep(0.3); ROLLBACK TO s;
  DELETE FROM sp WHERE id = 300005; COMMIT" >/dev/null &
p2=$!
wait "$p1"
wait "$p2"
mirror_check public.sp public.big
mirror_status | grep -c 'state=error' >/dev/null && {
  mirror_status >&2
  exit 1
}
mirror_stop
echo "test_mirror_stream: OK"
