#!/usr/bin/env bash
# Changes that the stream does not describe as row changes:
#   - the row identity changes mid-stream (a new primary key, REPLICA
#     IDENTITY USING INDEX, FULL with the key dropped): the table pauses
#     before applying anything under the new identity, with a message
#     naming the old and new key; REPLICA IDENTITY FULL on a table that
#     keeps its primary key is followed;
#   - a partitioned table published via its root: a TRUNCATE of the whole
#     table is streamed (and followed), a TRUNCATE of one partition or a
#     DETACH is not: the table pauses (never a silent divergence), and a
#     resync brings it back equal.
# The other tables keep streaming throughout.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
# shellcheck source=tests/pg/mirror_lib.sh
. "$HERE/mirror_lib.sh"
mirror_test_begin

# expect_paused S.T TEXT: the table pauses with TEXT in its status
expect_paused() {
  mirror_wait_state "$1" paused
  mirror_status | grep "table $1 " | grep -F -- "$2" >/dev/null || {
    echo "$1: status does not say: $2" >&2
    mirror_status >&2
    exit 1
  }
  mirror_status | grep "table $1 "
}

resync() {
  local out
  out=$(mirror_cmd_reply resync "$1")
  [[ "$out" == ok* ]] || {
    echo "resync $1: $out" >&2
    exit 1
  }
}

sql <<'SQL'
CREATE TABLE ok (id int PRIMARY KEY, v text);
INSERT INTO ok SELECT g, 'o' || g FROM generate_series(1, 100) g;
CREATE TABLE idk (id int PRIMARY KEY, b int NOT NULL UNIQUE, v text);
INSERT INTO idk SELECT g, 1000 + g, 'k' || g FROM generate_series(1, 100) g;
CREATE TABLE idx (id int PRIMARY KEY, u int NOT NULL, v text);
CREATE UNIQUE INDEX idx_u ON idx (u);
INSERT INTO idx SELECT g, g, 'x' || g FROM generate_series(1, 100) g;
CREATE TABLE idf (id int PRIMARY KEY, v text);
INSERT INTO idf SELECT g, 'f' || g FROM generate_series(1, 100) g;
CREATE TABLE pm (k int, r text, v text, PRIMARY KEY (k, r)) PARTITION BY LIST (r);
CREATE TABLE pm_a PARTITION OF pm FOR VALUES IN ('a');
CREATE TABLE pm_b PARTITION OF pm FOR VALUES IN ('b');
CREATE TABLE pm_c PARTITION OF pm FOR VALUES IN ('c');
INSERT INTO pm SELECT g, (ARRAY['a','b','c'])[g % 3 + 1], 'p' || g FROM generate_series(1, 3000) g;
SQL
mirror_start --table public.ok --table public.idk --table public.idx \
  --table public.idf --table public.pm --commit-ms 300

step "REPLICA IDENTITY FULL, primary key kept: followed"
sql -c "ALTER TABLE idf REPLICA IDENTITY FULL; UPDATE idf SET v = 'full' WHERE id % 3 = 0;
  DELETE FROM idf WHERE id % 7 = 0; UPDATE idf SET id = id + 1000 WHERE id = 5"
mirror_check public.idf
[ "$(mirror_state public.idf)" = streaming ]

step "a new primary key: paused before the change is applied"
sql -c "UPDATE idk SET v = 'before' WHERE id = 1"
mirror_check public.idk
sql -c "ALTER TABLE idk DROP CONSTRAINT idk_pkey, ADD PRIMARY KEY (b);
  UPDATE idk SET v = 'after' WHERE id = 2; UPDATE ok SET v = 'still' WHERE id = 1"
expect_paused public.idk "row identity of public.idk changed from (id) to (b)"
# the mirror holds the table as it was before the first change under the new key
[ "$(grep -c '|after' "$MDIR/dump/public.idk" || true)" = 0 ]
mirror_check public.ok

step "REPLICA IDENTITY USING INDEX: paused"
sql -c "ALTER TABLE idx REPLICA IDENTITY USING INDEX idx_u; UPDATE idx SET v = 'u' WHERE id = 3"
expect_paused public.idx "changed from (id) to (u)"

step "FULL, then the primary key dropped: paused"
sql -c "ALTER TABLE idf DROP CONSTRAINT idf_pkey; INSERT INTO idf VALUES (1, 'dup')"
expect_paused public.idf "primary key is no longer"

step "a partitioned table: TRUNCATE of the whole table is streamed"
sql -c "TRUNCATE pm; INSERT INTO pm SELECT g, (ARRAY['a','b','c'])[g % 3 + 1], 'q' || g FROM generate_series(1, 3000) g"
mirror_check public.pm
sleep 2.5 # a catalog check sees the new leaf files: explained by the TRUNCATE
sql -c "UPDATE pm SET v = 'later' WHERE k % 10 = 0"
mirror_check public.pm
[ "$(mirror_state public.pm)" = streaming ]

step "TRUNCATE of one partition (not streamed): paused, resync"
sql -c "TRUNCATE pm_a; UPDATE pm SET v = 'after leaf truncate' WHERE k % 9 = 0"
expect_paused public.pm "partition public.pm_a has a new relfilenode"
resync public.pm
mirror_wait_state public.pm streaming
sql -c "UPDATE pm SET v = 'after resync' WHERE k % 11 = 0"
mirror_check public.pm

step "DETACH PARTITION (not streamed): paused, resync"
sql -c "ALTER TABLE pm DETACH PARTITION pm_b; INSERT INTO pm VALUES (99999, 'c', 'x')"
expect_paused public.pm "partition public.pm_b was detached or dropped"
resync public.pm
mirror_wait_state public.pm streaming
mirror_check public.pm

step "the other tables streamed throughout"
sql -c "UPDATE ok SET v = 'end' WHERE id % 2 = 0"
mirror_check public.ok
mirror_stop
echo "test_mirror_identity: OK"
