#!/usr/bin/env bash
# The whole-daemon memory limit against a real Postgres: `floe mirror
# --memory-limit 32MiB`, with the per-table caps lifted (table-memory-limit,
# flush-bytes, flush-rows) and commits a minute apart so that only the
# daemon's limit holds memory down.
#   1. an initial copy of ~50 MB; then, at once, a bulk load committing 600k
#      rows (~100 MB) into one table and a 1M-row transaction into another
#      that Postgres streams while it runs (logical_decoding_work_mem =
#      64kB: the daemon spills it) and that rolls back at the end. The
#      daemon flushes and pushes back instead of growing: the row memory it
#      accounts stays near the limit, and its peak RSS stays within a bound
#      (measured 90-230 MB, about the same with a 1 GiB limit: what fills it
#      is indexes, Parquet and libpq buffers and allocator slack, which the
#      limit does not count; FLOE_TEST_LIMIT_MIB=1024 runs that comparison).
#   2. after a graceful restart, the 1M-row streamed transaction commits:
#      peak RSS bounded again.
# The mirror equals the source row for row after each step.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
pg_start
# shellcheck source=tests/pg/daemon_lib.sh
. "$HERE/daemon_lib.sh"
SPID=""
trap 'rc=$?; [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; dmn_kill; pg_stop; exit $rc' EXIT
step() { echo "--- $(date +%T) $*"; }
LIMIT_MIB=${FLOE_TEST_LIMIT_MIB:-32}
# RSS bounds: the limit, the indexes (~10 bytes a row, 1.9M rows), Parquet
# write buffers, allocator slack and the process itself
BOUND_KIB=$((288 * 1024))
BOUND2_KIB=$((288 * 1024))

sql -c "ALTER SYSTEM SET logical_decoding_work_mem = '64kB'" -c "SELECT pg_reload_conf()" >/dev/null
sql -c "CREATE TABLE big (id int8 PRIMARY KEY, v text, n int)" \
  -c "CREATE TABLE bulk (id int8 PRIMARY KEY, pad text)" \
  -c "INSERT INTO bulk SELECT g, repeat(md5(g::text), 5) FROM generate_series(1, 300000) g"

step "initial copy of ~50 MB under a ${LIMIT_MIB} MiB limit"
dmn_start --source "$DSRC" --table public.big --table public.bulk \
  --memory-limit "${LIMIT_MIB}MiB" --commit-interval-ms 60s \
  --table-memory-limit 1GiB --flush-bytes 1GiB --flush-rows 100000000
dmn_wait_streaming public.big
dmn_wait_streaming public.bulk
[ "$(metric floe_memory_limit_bytes '')" = $((LIMIT_MIB << 20)) ] || dmn_fail "floe_memory_limit_bytes"

# the largest memory the daemon accounts, sampled while the load runs
: >"$DDIR/mem.samples"
(while :; do metric floe_memory_used_bytes '' >>"$DDIR/mem.samples" 2>/dev/null || true; sleep 0.1; done) &
SPID=$!

step "a bulk load and, at once, a streamed 1M-row transaction that rolls back"
sql -c "BEGIN" -c "INSERT INTO big SELECT g, md5(g::text), g FROM generate_series(1, 1000000) g" \
  -c "ROLLBACK" &
big=$!
for k in 0 1 2 3 4 5; do
  sql -c "INSERT INTO bulk SELECT g, repeat(md5((g * 7)::text), 5)
          FROM generate_series(1000001 + $k * 100000, 1000000 + ($k + 1) * 100000) g"
done
sql -c "UPDATE bulk SET pad = 'u' || id WHERE id % 5 = 0" -c "DELETE FROM bulk WHERE id % 11 = 0"
wait "$big"
lsn=$(sql -c "SELECT pg_current_wal_lsn()")
# every change applied (the scans below decode whole data files, which is
# the read path's memory, not ingestion's: the peak is taken before them)
"$FLOE" scan public.bulk --at-lsn "$lsn" --where-key id=1 --timeout 60s >/dev/null ||
  dmn_fail "the mirror did not reach $lsn"
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$DPID/status")
kill "$SPID" 2>/dev/null || true
wait "$SPID" 2>/dev/null || true
SPID=""
dmn_check public.big "id,v,n" "$lsn"
dmn_check public.bulk "id,pad" "$lsn"

used=$(sort -n "$DDIR/mem.samples" | tail -1)
echo "peak RSS ${hwm} KiB (bound ${BOUND_KIB} KiB); accounted memory peaked at $((used >> 20)) MiB" \
  "of ${LIMIT_MIB} MiB; $(grep -c 'reading paused' "$DDIR/log" || true) pause(s)"
# the daemon relieved pressure: flushes of the biggest tables
grep -q "memory: flushing" "$DDIR/log" || dmn_fail "no memory relief flush logged"
# accounted memory: the limit plus what one read from the stream may add
[ "$used" -le $(((LIMIT_MIB + LIMIT_MIB / 2) << 20)) ] || dmn_fail "accounted memory $used past the limit"
sanitized() { grep -q "FLOE_SANITIZE:BOOL=ON" "${FLOE_BUILD:?}/CMakeCache.txt" 2>/dev/null; }
if sanitized; then
  echo "(sanitizer build: RSS not checked)"
else
  [ "$hwm" -le "$BOUND_KIB" ] || dmn_fail "peak RSS ${hwm} KiB past the bound of ${BOUND_KIB} KiB"
fi

step "graceful restart, then a streamed 1M-row transaction commits"
dmn_stop
dmn_start
dmn_wait_streaming public.big
sql -c "INSERT INTO big SELECT g, md5(g::text), g FROM generate_series(1, 1000000) g"
lsn=$(sql -c "DELETE FROM big WHERE id % 3 = 0" -c "SELECT pg_current_wal_lsn()")
"$FLOE" scan public.big --at-lsn "$lsn" --where-key id=1 --timeout 60s >/dev/null ||
  dmn_fail "the mirror did not reach $lsn"
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$DPID/status")
echo "peak RSS ${hwm} KiB (bound ${BOUND2_KIB} KiB)"
sanitized || [ "$hwm" -le "$BOUND2_KIB" ] || dmn_fail "peak RSS ${hwm} KiB past the bound of ${BOUND2_KIB} KiB"
dmn_check public.big "id,v,n" "$lsn"
dmn_check public.bulk "id,pad" "$lsn"
dmn_stop
echo "ok"
