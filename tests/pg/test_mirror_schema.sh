#!/usr/bin/env bash
# Schema changes, partitioned tables, and tables coming and going while a
# mirror runs:
#   ADD COLUMN (no default, a constant default for existing rows, a
#   volatile default on a non-empty table: paused), DROP COLUMN, RENAME
#   (also a swap of two names), widening type changes, a change floe cannot
#   map (paused, the other tables keep streaming, resync resumes it); a
#   partitioned table (publish_via_partition_root); a table added to the
#   running mirror while it is being written to; a table removed; a source
#   table dropped (stopped, the others continue).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
# shellcheck source=tests/pg/mirror_lib.sh
. "$HERE/mirror_lib.sh"
mirror_test_begin

sql <<'SQL'
CREATE TABLE s (id int PRIMARY KEY, a text, b int4, c numeric(10,2), d int2);
INSERT INTO s SELECT g, 'a' || g, g, g / 7.0, g % 100 FROM generate_series(1, 500) g;
CREATE TABLE other (id int PRIMARY KEY, v text);
INSERT INTO other SELECT g, 'o' || g FROM generate_series(1, 100) g;
CREATE TABLE m (k int, region text, v text, PRIMARY KEY (k, region)) PARTITION BY LIST (region);
CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('eu');
CREATE TABLE m_us PARTITION OF m FOR VALUES IN ('us') PARTITION BY RANGE (k);
CREATE TABLE m_us_lo PARTITION OF m_us FOR VALUES FROM (0) TO (1000);
CREATE TABLE m_us_hi PARTITION OF m_us FOR VALUES FROM (1000) TO (100000);
INSERT INTO m SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, 'v' || g FROM generate_series(1, 3000) g;
CREATE TABLE later (id int PRIMARY KEY, v text, n int);
INSERT INTO later SELECT g, repeat('x', g % 50), g FROM generate_series(1, 200000) g;
CREATE TABLE doomed (id int PRIMARY KEY, v text);
INSERT INTO doomed VALUES (1, 'one');
SQL
mirror_start --table public.s --table public.other --table public.m \
  --table public.doomed --commit-ms 300

step "ADD COLUMN with and without a default, mid-stream"
sql -c "UPDATE s SET a = 'before' WHERE id <= 5;
  ALTER TABLE s ADD COLUMN e text DEFAULT 'dflt', ADD COLUMN f int, ADD COLUMN g timestamptz DEFAULT '2020-01-02 03:04:05.5+00';
  INSERT INTO s (id, a) VALUES (1001, 'new'); UPDATE s SET f = id WHERE id % 10 = 0"
mirror_check public.s

step "DROP and RENAME (a swap too)"
sql -c "ALTER TABLE s DROP COLUMN b; UPDATE s SET a = 'after drop' WHERE id % 17 = 0"
sql -c "ALTER TABLE s RENAME COLUMN a TO a2; INSERT INTO s (id, a2) VALUES (1002, 'renamed')"
sql -c "BEGIN; ALTER TABLE s RENAME COLUMN a2 TO tmp; ALTER TABLE s RENAME COLUMN e TO a2;
  ALTER TABLE s RENAME COLUMN tmp TO e; COMMIT; UPDATE s SET f = -1 WHERE id % 3 = 0"
mirror_check public.s
# the rename kept the values: a column dropped and added would read defaults
[ "$(sql -c "SELECT count(*) FROM s WHERE e LIKE 'a%'")" -gt 400 ]

step "widening type changes"
sql -c "ALTER TABLE s ALTER COLUMN d TYPE int8, ALTER COLUMN c TYPE numeric(14,2);
  UPDATE s SET d = 9000000000, c = 123456789012.25 WHERE id = 7"
mirror_check public.s

step "a change floe cannot map pauses the table; the others stream"
sql -c "ALTER TABLE s ALTER COLUMN f TYPE text; UPDATE s SET f = 'text now' WHERE id = 10;
  UPDATE other SET v = 'still' WHERE id <= 10"
mirror_wait_state public.s paused
mirror_status | grep 'public.s ' | grep -c 'changed type from int32 to utf8' >/dev/null || {
  mirror_status >&2
  exit 1
}
mirror_check public.other

step "resync resumes the paused table"
out=$(mirror_cmd_reply resync public.s)
[[ "$out" == ok* ]] || {
  echo "resync: $out" >&2
  exit 1
}
sql -c "UPDATE s SET f = 'after resync' WHERE id = 11"
mirror_check public.s

step "ADD COLUMN with a volatile default rewrites the table: paused"
sql -c "ALTER TABLE s ADD COLUMN r float8 DEFAULT random(); UPDATE s SET a2 = 'x' WHERE id = 1"
mirror_wait_state public.s paused
mirror_status | grep 'public.s ' | grep -c 'volatile default' >/dev/null || {
  mirror_status >&2
  exit 1
}

step "a partitioned table streams as one table"
sql -c "UPDATE m SET v = 'upd' WHERE k % 5 = 0; DELETE FROM m WHERE k % 7 = 0;
  INSERT INTO m VALUES (5000, 'us', 'hi'), (5001, 'eu', 'eu');
  UPDATE m SET region = 'eu' WHERE k = 999; UPDATE m SET k = k + 50000 WHERE k = 3"
mirror_check public.m

step "a table added to the running mirror while it is written to"
(
  for i in $(seq 1 40); do
    sql -c "UPDATE later SET n = n + 1, v = v || 'u' WHERE id % 997 = $i;
      DELETE FROM later WHERE id = $((i * 1000)); INSERT INTO later VALUES ($((300000 + i)), 'ins', $i);
      UPDATE other SET v = 'during add $i' WHERE id = $i"
    sleep 0.05
  done
) &
load=$!
out=$(mirror_cmd_reply add public.later)
wait "$load"
[[ "$out" == ok* ]] || {
  echo "add: $out" >&2
  exit 1
}
sql -c "UPDATE later SET v = 'after' WHERE id % 1001 = 0"
mirror_check public.later public.other public.m

step "a table removed from the mirror"
out=$(mirror_cmd_reply remove public.other)
[[ "$out" == ok* ]] || {
  echo "remove: $out" >&2
  exit 1
}
[ "$(sql -c "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'floe_t' AND tablename = 'other'")" = 0 ]
sql -c "UPDATE other SET v = 'unmirrored'"

step "a source table dropped: stopped, the others continue"
sql -c "INSERT INTO doomed VALUES (2, 'two'); DROP TABLE doomed; UPDATE later SET n = 0 WHERE id = 5"
mirror_wait_state public.doomed stopped
mirror_status | grep 'public.doomed ' | grep -c 'rows=2 .*was dropped' >/dev/null || {
  mirror_status >&2
  exit 1
}
mirror_check public.later public.m
mirror_stop
echo "test_mirror_schema: OK"
