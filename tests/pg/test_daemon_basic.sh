#!/usr/bin/env bash
# `floe mirror` end to end against a private Postgres: three tables (a
# primary key, a composite key, no key) under a concurrent workload;
# read-your-writes at random moments (--at-lsn and --latest); status --json
# and /metrics against the source's numbers; snapshot and optimize; a table
# added and one dropped at runtime; a graceful stop (slot confirmed, kept)
# and a restart from the registry alone; `floe drop` with and without
# --purge. Mirror == source (floe scan vs psql, row for row) at each step.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
pg_start
# shellcheck source=tests/pg/daemon_lib.sh
. "$HERE/daemon_lib.sh"
trap 'rc=$?; [ -n "$WPID" ] && kill "$WPID" 2>/dev/null; dmn_kill; pg_stop; exit $rc' EXIT
work_setup

lsn_ge() { [ "$(sql -c "SELECT '$1'::pg_lsn >= '$2'::pg_lsn")" = t ]; }
lsn_num() { sql -c "SELECT '$1'::pg_lsn - '0/0'::pg_lsn"; }
json_field() { # JSON TABLE FIELD: a table's field from status --json
  printf '%s' "$1" | tr '{' '\n' | grep "\"name\":\"$2\"" |
    sed -n "s/.*\"$3\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}

dmn_start --source "$DSRC" --table public.a --table public.b --table public.c \
  --commit-interval-ms 200ms
for t in public.a public.b public.c; do dmn_wait_streaming "$t"; done
grep -q "password" "$DWH/.floe/mirror-t.json" && dmn_fail "registry holds a password"

echo "workload + read-your-writes"
work_start 1
sleep 2
for i in $(seq 1 20); do
  id=$((900000 + i))
  lsn=$(sql -c "INSERT INTO a VALUES ($id, 'ryw $i', 5); SELECT pg_current_wal_lsn()")
  out=$("$FLOE" scan public.a --at-lsn "$lsn" --where-key "id=$id" --timeout 10s)
  [ "$out" = "$(printf 'id,v,n\n%s,ryw %s,5' "$id" "$i")" ] ||
    dmn_fail "read-your-writes $i at $lsn: got '$out'"
  # --latest: the daemon asks Postgres for its position itself
  sql -c "UPDATE a SET n = $i WHERE id = $id"
  out=$("$FLOE" scan public.a --latest --where-key "id=$id" --columns n --timeout 10s)
  [ "$out" = "$(printf 'n\n%s' "$i")" ] || dmn_fail "--latest $i: got '$out'"
  sleep "0.$((RANDOM % 3))"
done

echo "mirror == source"
work_pause
lsn=$(sql -c "SELECT pg_current_wal_lsn()")
dmn_check public.a "id,v,n" "$lsn"
dmn_check public.b "k1,k2,v" "$lsn"
dmn_check public.c "x,y" "$lsn"
[ "$(sql -c 'SELECT txns FROM work_ctl')" -gt 20 ] || dmn_fail "the workload did not run"

echo "status --json and /metrics"
st=$("$FLOE" status --json)
for t in a b c; do
  n=$(sql -c "SELECT count(*) FROM $t")
  [ "$(json_field "$st" "public.$t" rows)" = "$n" ] ||
    dmn_fail "status rows of $t: $(json_field "$st" "public.$t" rows), want $n"
  [ "$(json_field "$st" "public.$t" state)" = streaming ] || dmn_fail "state of $t"
  applied=$(json_field "$st" "public.$t" applied_lsn)
  lsn_ge "$applied" "$lsn" || dmn_fail "applied $applied < $lsn"
  [ "$(metric floe_table_rows "{table=\"public.$t\"}")" = "$n" ] ||
    dmn_fail "/metrics rows of $t: $(metric floe_table_rows "{table=\"public.$t\"}"), want $n"
done
# (idle tables move with keepalives: /metrics is read after status)
applied=$(json_field "$("$FLOE" status --json public.a)" public.a applied_lsn)
m=$(metric floe_table_applied_lsn '{table="public.a"}')
[ "$m" -ge "$(lsn_num "$applied")" ] && [ "$m" -le "$(lsn_num "$(sql -c 'SELECT pg_current_wal_lsn()')")" ] ||
  dmn_fail "/metrics applied lsn $m, status said $applied"
[ "$(metric floe_tables '')" = 3 ] || dmn_fail "floe_tables"
[ "$(metric floe_table_changes_total '{table="public.a"}')" -gt 20 ] || dmn_fail "changes_total"
[ "$(metric process_resident_memory_bytes '')" -gt 1000000 ] || dmn_fail "rss"
exec 3<>"/dev/tcp/127.0.0.1/$DPORT"
printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3
grep -q '^HTTP/1.[01] 200' <&3 || dmn_fail "/healthz"
exec 3<&-

echo "snapshot, optimize"
durable=$("$FLOE" snapshot public.a | awk '{print $NF}')
lsn_ge "$durable" "$applied" || dmn_fail "snapshot durable $durable < applied $applied"
"$FLOE" snapshot >/dev/null
st=$("$FLOE" status --json public.b)
lsn_ge "$(json_field "$st" public.b durable_lsn)" "$lsn" || dmn_fail "durable of b"
"$FLOE" optimize public.a --force | grep -c . >/dev/null || dmn_fail "optimize printed nothing"
dmn_check public.a "id,v,n"

echo "add-table and drop-table at runtime"
sql -c "CREATE TABLE d (id bigint PRIMARY KEY, s text)" \
  -c "INSERT INTO d SELECT g, 's' || g FROM generate_series(1, 3000) g"
work_resume
"$FLOE" add-table public.d --set batch-rows=1024
dmn_wait_streaming public.d
sql -c "INSERT INTO d SELECT g, 'later' || g FROM generate_series(3001, 3500) g" \
  -c "DELETE FROM d WHERE id % 10 = 0" -c "UPDATE d SET s = 'u' WHERE id % 7 = 0"
grep -q '"batch-rows": "1024"' "$DWH/.floe/mirror-t.json" || dmn_fail "table settings not in the registry"
"$FLOE" drop-table public.b
"$FLOE" tables | grep -c '^public.b' >/dev/null && dmn_fail "public.b still listed"
grep -q '"public.b"' "$DWH/.floe/mirror-t.json" && dmn_fail "public.b still in the registry"
[ -d "$DWH/public/b/metadata" ] || dmn_fail "the Iceberg table of b went away"
sleep 1
work_pause
lsn=$(sql -c "SELECT pg_current_wal_lsn()")
dmn_check public.a "id,v,n" "$lsn"
dmn_check public.c "x,y" "$lsn"
dmn_check public.d "id,s" "$lsn"

echo "graceful stop, restart from the registry"
applied=$(json_field "$("$FLOE" status --json public.a)" public.a applied_lsn)
dmn_stop
grep -q "every table committed to Iceberg" "$DDIR/log" || dmn_fail "no final commit logged"
conf=$(sql -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'floe_t'")
lsn_ge "$conf" "$applied" || dmn_fail "slot confirmed $conf < applied $applied"
# the Iceberg snapshot alone holds every row (no daemon)
"$FLOE" scan public.d --warehouse "$DWH" --columns id,s | tail -n +2 | LC_ALL=C sort >"$DDIR/ice.csv"
src_rows d "id,s" >"$DDIR/src.csv"
cmp -s "$DDIR/ice.csv" "$DDIR/src.csv" || dmn_fail "Iceberg snapshot of d differs after the stop"
sql -c "INSERT INTO a VALUES (990001, 'while stopped', 1)" -c "DELETE FROM d WHERE id < 100"
dmn_start
# the restarted daemon reconnects before its tables report "streaming"
for i in $(seq 1 100); do
  "$FLOE" tables | sort >"$DDIR/tables"
  printf 'public.a\tstreaming\npublic.c\tstreaming\npublic.d\tstreaming\n' | cmp -s - "$DDIR/tables" && break
  sleep 0.2
done
printf 'public.a\tstreaming\npublic.c\tstreaming\npublic.d\tstreaming\n' | cmp -s - "$DDIR/tables" ||
  { cat "$DDIR/tables" >&2; dmn_fail "tables after restart"; }
work_resume
sleep 1
work_stop
lsn=$(sql -c "SELECT pg_current_wal_lsn()")
dmn_check public.a "id,v,n" "$lsn"
dmn_check public.c "x,y" "$lsn"
dmn_check public.d "id,s" "$lsn"
dmn_stop

echo "floe drop"
"$FLOE" drop --warehouse "$DWH" --name t --socket "$DSOCK"
[ "$(sql -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'floe_t'")" = 0 ] ||
  dmn_fail "slot left"
[ "$(sql -c "SELECT count(*) FROM pg_publication WHERE pubname = 'floe_t'")" = 0 ] ||
  dmn_fail "publication left"
[ ! -e "$DWH/.floe/mirror-t.json" ] || dmn_fail "registry left"
[ -d "$DWH/public/a/metadata" ] || dmn_fail "drop without --purge removed a table"
"$FLOE" drop --warehouse "$DWH" --name t 2>/dev/null && dmn_fail "a second drop succeeded"
# a new mirror of d, dropped with --purge: its Iceberg table goes too
rm -rf "$DWH/public/d" "$DWH/.floe/public.d"
dmn_start --source "$DSRC" --table public.d
dmn_wait_streaming public.d
dmn_stop
"$FLOE" drop --warehouse "$DWH" --name t --purge
[ ! -e "$DWH/public/d" ] || dmn_fail "--purge left public/d"
[ -d "$DWH/public/a/metadata" ] || dmn_fail "--purge removed another mirror's table"
echo "ok"
