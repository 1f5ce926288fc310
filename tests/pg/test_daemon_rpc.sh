#!/usr/bin/env bash
# Bad RPC input against the real daemon while it mirrors a workload: random
# bytes, a huge length, a frame cut in half, an unknown request, a malformed
# payload, a stalled frame, garbage on the metrics port, clients holding
# leases and hanging up. Each gets its error or its connection closed
# (tests/tools/rpc_poke.c checks the answers), and ingestion goes on: the
# mirror still equals the source and reads its own writes afterwards.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/pg/pgtest.sh
. "$HERE/pgtest.sh"
pg_start
# shellcheck source=tests/pg/daemon_lib.sh
. "$HERE/daemon_lib.sh"
trap 'rc=$?; [ -n "$WPID" ] && kill "$WPID" 2>/dev/null; dmn_kill; pg_stop; exit $rc' EXIT
POKE=${FLOE_BUILD:?}/rpc_poke
work_setup

dmn_start --source "$DSRC" --table public.a --table public.b --table public.c \
  --io-timeout-ms 1s --lease-ttl-ms 1s
for t in public.a public.b public.c; do dmn_wait_streaming "$t"; done
work_start 1

for seed in $(seq 1 25); do
  "$POKE" "$DSOCK" random $((RANDOM % 5000 + 1)) "$seed" >/dev/null
done
"$POKE" "$DSOCK" huge
"$POKE" "$DSOCK" midframe
"$POKE" "$DSOCK" unknown
"$POKE" "$DSOCK" badpayload
"$POKE" "$DSOCK" stall 5000
# leases: held past their time to live, or dropped with the connection
holders=()
for i in 1 2 3 4 5; do
  "$POKE" "$DSOCK" hold public.a $((i * 400)) &
  holders+=($!)
done
for p in "${holders[@]}"; do wait "$p" || dmn_fail "a lease holder failed"; done
# garbage and a huge request line on the HTTP port
exec 3<>"/dev/tcp/127.0.0.1/$DPORT"
head -c 3000 /dev/urandom >&3 || true
grep -q '^HTTP/1.1 400' <&3 || dmn_fail "metrics port: no 400 for garbage"
exec 3<&-
kill -0 "$DPID" || dmn_fail "the daemon died"
grep -q "protocol error, closing" "$DDIR/log" || dmn_fail "no protocol error logged"

# ingestion went on all along
for i in 1 2 3; do
  lsn=$(sql -c "INSERT INTO a VALUES ($((950000 + i)), 'after', 0)" -c "SELECT pg_current_wal_lsn()")
  "$FLOE" scan public.a --at-lsn "$lsn" --where-key "id=$((950000 + i))" --timeout 10s |
    grep -q "^$((950000 + i)),after,0$" || dmn_fail "read-your-writes after bad input"
done
work_pause
lsn=$(sql -c "SELECT pg_current_wal_lsn()")
dmn_check public.a "id,v,n" "$lsn"
dmn_check public.b "k1,k2,v" "$lsn"
dmn_check public.c "x,y" "$lsn"
work_stop
dmn_stop
echo "ok"
