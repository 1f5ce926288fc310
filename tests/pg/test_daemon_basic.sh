#!/usr/bin/env bash
# `floe mirror` end to end against a private Postgres: three tables (a
# primary key, a composite key, no key) under a concurrent workload;
# read-your-writes at random moments (--at-lsn and --latest); status --json
# and /metrics against the source's numbers (rows, LSNs, lag in bytes and
# ms, changes/s: under load and idle); snapshot (its Iceberg snapshot id)
# and optimize; the schema id over RPC across an ADD COLUMN; a table
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
POKE=${FLOE_BUILD:?}/rpc_poke

lsn_ge() { [ "$(sql -c "SELECT '$1'::pg_lsn >= '$2'::pg_lsn")" = t ]; }
lsn_num() { sql -c "SELECT '$1'::pg_lsn - '0/0'::pg_lsn"; }
json_field() { # JSON TABLE FIELD: a table's field from status --json
  printf '%s' "$1" | tr '{' '\n' | grep "\"name\":\"$2\"" |
    sed -n "s/.*\"$3\":\"\{0,1\}\([^,\"}]*\).*/\1/p"
}
# in_range X LO HI: LO <= X <= HI (numbers, decimals too)
in_range() { awk -v x="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(x != "" && x + 0 >= lo && x + 0 <= hi) }'; }

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

echo "lag and changes/s under load"
# the workload runs: changes flow, the lag is small but well formed
st=$("$FLOE" status --json)
total=$(json_field "$st" public.a changes)
for t in a b c; do
  cps=$(json_field "$st" "public.$t" changes_per_sec)
  in_range "$cps" 0.01 100000 || dmn_fail "changes_per_sec of $t under load: '$cps'"
  in_range "$(json_field "$st" "public.$t" lag_bytes)" 0 67108864 ||
    dmn_fail "lag_bytes of $t under load: $(json_field "$st" "public.$t" lag_bytes)"
  in_range "$(json_field "$st" "public.$t" lag_ms)" 0 10000 ||
    dmn_fail "lag_ms of $t under load: $(json_field "$st" "public.$t" lag_ms)"
done
in_range "$total" 20 100000000 || dmn_fail "changes of a: $total"
in_range "$(metric floe_table_changes_per_second '{table="public.a"}')" 0.01 100000 ||
  dmn_fail "/metrics changes/s under load"
in_range "$(metric floe_table_lag_seconds '{table="public.a"}')" 0 10 || dmn_fail "/metrics lag_seconds"
in_range "$(metric floe_table_lag_bytes '{table="public.a"}')" 0 67108864 || dmn_fail "/metrics lag_bytes"
# the table view: rows, LSNs, lag in bytes and ms, changes/s, files, DVs
st=$("$FLOE" status public.a)
grep -Eq '^public\.a +streaming +[0-9]+ +[0-9A-F]+/[0-9A-F]+ +[0-9A-F]+/[0-9A-F]+ +[0-9.]+ [KMGT]?i?B +[0-9]+ +[0-9]+\.[0-9] +[0-9]+ +[0-9]+ ' <<<"$st" ||
  dmn_fail "status table: $st"

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
# idle: everything applied, so no lag in ms, and the bytes behind shrink to
# what keepalives have not yet covered
for i in $(seq 1 100); do
  st=$("$FLOE" status --json public.a)
  [ "$(json_field "$st" public.a lag_ms)" = 0 ] && in_range "$(json_field "$st" public.a lag_bytes)" 0 65536 && break
  sleep 0.1
done
[ "$(json_field "$st" public.a lag_ms)" = 0 ] || dmn_fail "lag_ms idle: $(json_field "$st" public.a lag_ms)"
in_range "$(json_field "$st" public.a lag_bytes)" 0 65536 || dmn_fail "lag_bytes idle: $(json_field "$st" public.a lag_bytes)"
exec 3<>"/dev/tcp/127.0.0.1/$DPORT"
printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3
grep -q '^HTTP/1.[01] 200' <&3 || dmn_fail "/healthz"
exec 3<&-

echo "snapshot, optimize"
out=$("$FLOE" snapshot public.a)
durable=$(printf '%s' "$out" | sed -n 's/^public.a durable at \([0-9A-F]*\/[0-9A-F]*\), Iceberg snapshot [0-9]*$/\1/p')
lsn_ge "$durable" "$applied" || dmn_fail "snapshot durable '$durable' < applied $applied ($out)"
# the snapshot id printed is one of the table's Iceberg snapshots (the
# current one then; a background compaction may have added one since)
snap=${out##* }
# (into a file: grep -q leaving a pipe early fails the pipeline)
"$FLOE" iceberg inspect "$DWH" public.a >"$DDIR/inspect.txt"
grep -Eq "^  snapshot $snap( \(current\))?\$" "$DDIR/inspect.txt" ||
  dmn_fail "snapshot $snap is not one of public.a's"
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
# the RPC schema: columns and the Iceberg schema id (the current one of the
# table's metadata), which an ADD COLUMN moves on
cur_schema() { "$FLOE" iceberg inspect "$DWH" public.d | sed -n 's/^  schema \([0-9]*\) (current)$/\1/p'; }
id0=$(cur_schema)
[ -n "$id0" ] || dmn_fail "no current schema of d"
[ "$("$POKE" "$DSOCK" schema public.d | head -2 | tr '\n' ' ')" = "schema_id $id0 columns id,s " ] ||
  dmn_fail "schema of d: $("$POKE" "$DSOCK" schema public.d), Iceberg's current: $id0"
lsn=$(sql -c "ALTER TABLE d ADD COLUMN extra int DEFAULT 7" -c "INSERT INTO d VALUES (4000, 'x', 8)" \
  -c "SELECT pg_current_wal_lsn()")
[ "$("$FLOE" scan public.d --at-lsn "$lsn" --where-key id=4000 --timeout 10s | tail -1)" = "4000,x,8" ] ||
  dmn_fail "row after ADD COLUMN"
id1=$(cur_schema)
[ "$id1" -gt "$id0" ] || dmn_fail "Iceberg's schema id of d did not move: $id0 -> $id1"
[ "$("$POKE" "$DSOCK" schema public.d | head -2 | tr '\n' ' ')" = "schema_id $id1 columns id,s,extra " ] ||
  dmn_fail "schema of d after ADD COLUMN: $("$POKE" "$DSOCK" schema public.d), Iceberg's current: $id1"
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
