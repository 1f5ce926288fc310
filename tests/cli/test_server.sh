#!/usr/bin/env bash
# The server loop as a process (tests/tools/fake_daemon.c: the real
# src/server loop with a fake handler table): /metrics and /healthz through
# curl, an HTTP client on the RPC socket (random bytes to it), socket mode,
# and a clean stop on SIGTERM.
set -euo pipefail
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
BUILD=${FLOE_BUILD:?set FLOE_BUILD to the build directory}
command -v curl >/dev/null || { echo "curl missing: skipped"; exit 0; }

SOCK=$T/floe.sock
"$BUILD/fake_daemon" "$SOCK" 127.0.0.1:0 >"$T/daemon.out" 2>"$T/daemon.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$T"' EXIT
for _ in $(seq 100); do
  grep -q '^ready' "$T/daemon.out" 2>/dev/null && break
  sleep 0.05
done
port=$(sed -n 's/^ready metrics_port=//p' "$T/daemon.out")
[ -n "$port" ] || fail "daemon did not start: $(cat "$T/daemon.err")"
[ "$(stat -c %a "$SOCK")" = 600 ] || fail "socket mode $(stat -c %a "$SOCK"), want 600"

base=http://127.0.0.1:$port
curl -sfS -D "$T/h" "$base/metrics" >"$T/m" || fail "GET /metrics failed"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/h" || fail "content type: $(cat "$T/h")"
for want in '# TYPE floe_table_rows gauge' 'floe_table_rows{table="public.a"} 1000' \
  'floe_table_applied_lsn{table="public.a"} 23803720' \
  '# TYPE floe_table_changes_total counter' 'floe_table_error{table="public.b"} 1' \
  'floe_table_state{table="public.b",state="error"} 1' 'floe_tables 2'; do
  grep -qxF "$want" "$T/m" || fail "/metrics lacks '$want'"
done
rss=$(sed -n 's/^process_resident_memory_bytes //p' "$T/m")
[ "${rss:-0}" -gt 0 ] || fail "no process memory in /metrics"
# every sample line belongs to a family declared just before with TYPE
awk '/^# TYPE / {fam=$3; next} /^#/ {next}
     { name=$1; sub(/\{.*/, "", name); if (name != fam) { print "stray " $0; exit 1 } }' \
  "$T/m" || fail "a sample outside its family"

code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
[ "$(code "$base/healthz")" = 200 ] || fail "/healthz not 200"
[ "$(curl -s "$base/healthz")" = ok ] || fail "/healthz body"
[ "$(code -0 "$base/healthz")" = 200 ] || fail "HTTP/1.0 /healthz not 200"
[ "$(code -I "$base/metrics")" = 200 ] || fail "HEAD /metrics not 200"
[ "$(code "$base/nope")" = 404 ] || fail "unknown path not 404"
[ "$(code -X POST "$base/metrics")" = 405 ] || fail "POST not 405"
[ "$(code -X DELETE "$base/healthz")" = 405 ] || fail "DELETE not 405"
[ "$(code -H 'Transfer-Encoding: chunked' -d x "$base/metrics")" = 405 ] || fail "POST with body"

# an HTTP client on the RPC socket is bytes the protocol refuses: the
# daemon answers with an error frame and closes; it keeps running (random
# bytes, huge lengths and the rest: tests/unit/test_server.c)
run curl -s --max-time 5 --unix-socket "$SOCK" http://x/metrics
[ "$rc" != 0 ] || fail "curl on the RPC socket succeeded"
[ "$(code "$base/healthz")" = 200 ] || fail "daemon unhealthy after bad input"
grep -q 'protocol error, closing' "$T/daemon.err" || fail "no protocol error logged: $(cat "$T/daemon.err")"

kill -TERM $pid
wait $pid || fail "daemon exited $? after SIGTERM"
[ ! -e "$SOCK" ] || fail "socket file left behind"
echo "ok"
