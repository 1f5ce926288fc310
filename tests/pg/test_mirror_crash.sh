#!/usr/bin/env bash
# Crashes and restarts under a running workload: the mirror is SIGKILLed at
# random moments and restarted several times while pgbench writes
# (updates, key changes, inserts, deletes, TOAST values, a key-less table,
# transactions big enough to be streamed in progress); then Postgres itself
# restarts mid-stream; a kill in the middle of a table's copy (the copy
# starts again). After each kill and restart the mirror equals the
# source exactly (the load frozen meanwhile, its transactions open): no lost
# change, no duplicate, nothing uncommitted.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
# shellcheck source=tests/pg/mirror_lib.sh
. "$HERE/mirror_lib.sh"
pg_start
load=""
# shellcheck disable=SC2154 # rc is assigned inside the trap
trap 'rc=$?; [ -n "$load" ] && kill -CONT "$load" 2>/dev/null && kill "$load" 2>/dev/null; mirror_on_exit $rc; pg_stop; exit $rc' EXIT

sql -c "ALTER SYSTEM SET logical_decoding_work_mem = '64kB'" -c "SELECT pg_reload_conf()" >/dev/null
sql <<'SQL'
CREATE TABLE acc (id int PRIMARY KEY, bal int8, note text);
ALTER TABLE acc ALTER note SET STORAGE EXTERNAL;
INSERT INTO acc SELECT g, 0, CASE WHEN g % 10 = 0 THEN repeat(md5(g::text), 200) ELSE 'n' END
  FROM generate_series(1, 5000) g;
CREATE TABLE hist (aid int, delta int, at text);
ALTER TABLE hist REPLICA IDENTITY FULL;
SQL
cat >"$PGTEST_DIR/load.sql" <<'SQL'
\set a random(1, 5000)
\set b random(1, 5000)
\set d random(-100, 100)
\set r random(1, 100)
BEGIN;
UPDATE acc SET bal = bal + :d WHERE id = :a;
INSERT INTO hist VALUES (:a, :d, 'x');
UPDATE acc SET bal = bal - :d WHERE id = :b;
INSERT INTO hist VALUES (:b, 0 - :d, 'x');
END;
\if :r = 1
BEGIN;
INSERT INTO acc SELECT 100000 + g + :a * 1000, 1, 'big' FROM generate_series(1, 600) g ON CONFLICT DO NOTHING;
DELETE FROM hist WHERE ctid IN (SELECT ctid FROM hist WHERE aid = :a LIMIT 1);
UPDATE acc SET id = id + 1000000 WHERE id = :b AND NOT EXISTS (SELECT 1 FROM acc WHERE id = :b + 1000000);
END;
\elif :r = 2
DELETE FROM acc WHERE id > 100000 AND id % 7 = :b % 7;
\elif :r = 3
UPDATE acc SET bal = bal + 1 WHERE id % 500 = :a % 500;
\endif
SQL

mirror_start --table public.acc --table public.hist --commit-ms 200

step "SIGKILL and restart the mirror under load; mirror == source after each"
# The load runs throughout; for each comparison its client is frozen
# (SIGSTOP) so the source holds still: transactions it has open stay open
# (uncommitted, some already streamed in progress to the mirror), which the
# mirror must not show either. -T is only an upper bound: it is ended below.
"$PG_BIN/pgbench" -n -c 2 -T 300 -f "$PGTEST_DIR/load.sql" >"$PGTEST_DIR/pgbench.log" 2>&1 &
load=$!
for round in 1 2 3 4; do
  sleep "0.$((RANDOM % 9 + 1))"
  sleep 1
  mirror_kill
  echo "killed (round $round)"
  sleep "0.$((RANDOM % 5))"
  mirror_start --table public.acc --table public.hist --commit-ms 200
  sleep "0.$((RANDOM % 5 + 3))"
  kill -STOP "$load"
  mirror_check public.acc public.hist
  echo "round $round: equal ($(sql -c "SELECT count(*) FROM acc") acc, $(sql -c "SELECT count(*) FROM hist") hist, $(sql -c "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'") open)"
  kill -CONT "$load"
done
kill -TERM "$load"
wait "$load" || true
load=""
if grep -q "aborted in command" "$PGTEST_DIR/pgbench.log"; then
  cat "$PGTEST_DIR/pgbench.log" >&2
  exit 1
fi
# the transactions the killed client left open are rolled back
mirror_check public.acc public.hist

step "SIGKILL right after a large streamed transaction starts"
sql -c "INSERT INTO acc SELECT g, 2, 'late' FROM generate_series(9000000, 9060000) g" &
p=$!
sleep 0.5
mirror_kill
wait "$p"
mirror_start --table public.acc --table public.hist --commit-ms 200
mirror_check public.acc public.hist

step "SIGKILL during the copy of a table added to the running mirror"
sql -c "CREATE TABLE big (id int PRIMARY KEY, v text, n int8);
  INSERT INTO big SELECT g, md5(g::text), g FROM generate_series(1, 1000000) g"
(mirror_cmd_reply add public.big >"$MDIR/add.out" 2>&1 || true) &
adder=$!
# the driver answers no command while it adds a table: the server shows
# the copy running
copying=0
for _ in $(seq 1 200); do
  if [ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE query ~ '^COPY .*big'")" -gt 0 ]; then
    copying=1
    break
  fi
  sleep 0.02
done
# at once: on a quiet machine the whole copy takes well under a second
mirror_kill
wait "$adder" || true
[ "$copying" = 1 ] || {
  echo "never saw public.big copying" >&2
  exit 1
}
sql -c "UPDATE big SET n = -n WHERE id % 1000 = 0; DELETE FROM big WHERE id % 777 = 0"
# killed mid-copy: the copy never finished before the restart
[ "$(grep -c 'public.big: copied' "$MDIR/log")" = 0 ] || {
  echo "the kill came after the copy" >&2
  exit 1
}
mirror_start --table public.acc --table public.hist --table public.big --commit-ms 200
[ "$(grep -c 'public.big: copied [0-9]* rows' "$MDIR/log")" = 1 ]
mirror_check public.acc public.hist public.big

step "Postgres restarts mid-stream"
"$PG_BIN/pgbench" -n -c 2 -T 4 -f "$PGTEST_DIR/load.sql" >/dev/null 2>&1 || true
ctl=("$PG_BIN/pg_ctl" -D "$PGTEST_DIR/data" -l "$PGTEST_DIR/server.log" -w -m fast restart)
if [ "$(id -u)" -eq 0 ]; then
  (cd / && runuser -u postgres -- "${ctl[@]}" >/dev/null)
else
  (cd / && "${ctl[@]}" >/dev/null)
fi
"$PG_BIN/pgbench" -n -c 2 -T 3 -f "$PGTEST_DIR/load.sql" >/dev/null 2>&1 || true
mirror_check public.acc public.hist public.big
mirror_status | grep -c 'reconnects=[1-9]' >/dev/null || {
  echo "the mirror did not reconnect" >&2
  mirror_status >&2
  exit 1
}
mirror_stop
echo "test_mirror_crash: OK"
