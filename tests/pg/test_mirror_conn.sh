#!/usr/bin/env bash
# Connection and setup options of a mirror, end to end:
#   - password authentication (scram): refused without a password; the
#     password from a .pgpass file (PGPASSFILE), from PGPASSWORD, and inside
#     a URI all work, and the password never appears in the log, the status
#     or anything written to the warehouse;
#   - a user's own publication: used as is (never altered); a table it does
#     not publish is refused with the ALTER PUBLICATION to run, the others
#     stream; floe creates no publication of its own;
#   - skip the copy (changes only): the mirror holds only what changed after
#     the start.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
# shellcheck source=tests/pg/mirror_lib.sh
. "$HERE/mirror_lib.sh"
mirror_test_begin

PW='S3cr3t-pw%Zq'
sql <<SQL
CREATE ROLE pwuser LOGIN SUPERUSER PASSWORD '$PW';
CREATE TABLE pa (id int PRIMARY KEY, v text);
INSERT INTO pa SELECT g, 'a' || g FROM generate_series(1, 200) g;
CREATE TABLE pb (id int PRIMARY KEY, v text);
INSERT INTO pb SELECT g, 'b' || g FROM generate_series(1, 200) g;
CREATE TABLE pc (id int PRIMARY KEY, v text);
CREATE PUBLICATION userpub FOR TABLE pb;
CREATE TABLE sk (id int PRIMARY KEY, v text);
INSERT INTO sk SELECT g, 's' || g FROM generate_series(1, 100) g;
SQL
# pwuser must give a password over TCP (the rest of the test keeps trust)
hba="$PGTEST_DIR/data/pg_hba.conf"
{
  echo "host all pwuser 127.0.0.1/32 scram-sha-256"
  echo "host replication pwuser 127.0.0.1/32 scram-sha-256"
  cat "$hba"
} >"$hba.new"
cp "$hba.new" "$hba"
sql -c "SELECT pg_reload_conf()" >/dev/null

# no_secret: the password appears nowhere floe writes
no_secret() {
  if grep -rlF -- "$PW" "$MDIR/log" "$MWH" 2>/dev/null; then
    echo "the password leaked into the files above" >&2
    exit 1
  fi
  if mirror_status | grep -F -- "$PW"; then
    echo "the password leaked into the status" >&2
    exit 1
  fi
  # percent-encoded in the URI: its decoded form either
  if grep -rlF -- "S3cr3t-pw" "$MDIR/log" "$MWH" 2>/dev/null; then
    echo "the password leaked (decoded) into the files above" >&2
    exit 1
  fi
}

step "password required: refused without one"
mirror_init # (mirror_start_fail runs in a subshell below)
out=$(PGUSER=pwuser PGPASSFILE=/nonexistent mirror_start_fail --mirror m0 --table public.pa)
echo "$out" | tail -2
echo "$out" | grep -Eq "password authentication failed|no password supplied"

step "the password from PGPASSFILE"
printf '127.0.0.1:%s:*:pwuser:%s\n' "$PGPORT" "$PW" >"$PGTEST_DIR/pgpass"
chmod 600 "$PGTEST_DIR/pgpass"
PGUSER=pwuser PGPASSFILE="$PGTEST_DIR/pgpass" mirror_start --mirror m1 --table public.pa --commit-ms 200
sql -c "UPDATE pa SET v = 'pgpass' WHERE id % 3 = 0; DELETE FROM pa WHERE id = 7"
mirror_check public.pa
mirror_status | grep -F "source host=127.0.0.1 port=$PGPORT dbname=postgres user=pwuser" >/dev/null || {
  mirror_status >&2
  exit 1
}
no_secret
mirror_stop

step "the password from PGPASSWORD"
PGUSER=pwuser PGPASSWORD="$PW" PGPASSFILE=/nonexistent mirror_start --mirror m1 --table public.pa --commit-ms 200
sql -c "UPDATE pa SET v = 'pgpassword' WHERE id % 5 = 0"
mirror_check public.pa
no_secret
mirror_stop

step "a URI with the password, a user's own publication"
pwenc=${PW//%/%25}
mirror_start --mirror m2 --conninfo "postgresql://pwuser:$pwenc@127.0.0.1:$PGPORT/postgres" \
  --publication userpub --table public.pb --table public.pc --commit-ms 200
mirror_wait_state public.pc error
mirror_status | grep "table public.pc " | grep -F 'ALTER PUBLICATION "userpub" ADD TABLE' >/dev/null || {
  mirror_status >&2
  exit 1
}
sql -c "UPDATE pb SET v = 'userpub' WHERE id % 4 = 0; INSERT INTO pb VALUES (1000, 'new'); INSERT INTO pc VALUES (1, 'x')"
mirror_check public.pb
# floe never changed the user's publication, nor made its own
[ "$(sql -c "SELECT string_agg(tablename, ',') FROM pg_publication_tables WHERE pubname = 'userpub'")" = pb ]
[ "$(sql -c "SELECT count(*) FROM pg_publication WHERE pubname = 'floe_m2'")" = 0 ]
no_secret
mirror_stop

step "skip the copy: changes only"
mirror_start --mirror m3 --skip-copy --table public.sk --commit-ms 200
sql -c "INSERT INTO sk VALUES (101, 'new1'), (102, 'new2'), (103, 'new3'); DELETE FROM sk WHERE id = 102"
mirror_dump "$MDIR/dump"
sort "$MDIR/dump/public.sk" >"$MDIR/sk.got"
printf '101|6e657731\n103|6e657733\n' >"$MDIR/sk.want"
diff "$MDIR/sk.want" "$MDIR/sk.got"
mirror_stop
echo "test_mirror_conn: OK"
