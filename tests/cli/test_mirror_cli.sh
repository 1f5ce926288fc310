#!/usr/bin/env bash
# `floe mirror` and `floe drop` without a database: help, usage errors,
# --print-config (never the password), a missing registry, a corrupt one.
# The daemon against Postgres: tests/pg/test_daemon_*.sh.
set -euo pipefail
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

for cmd in mirror drop; do
  for h in --help -h; do
    expect_rc 0 "$FLOE" $cmd $h
    grep -q '^usage: floe' "$T/out" || fail "floe $cmd $h: no usage line"
    grep -q 'Exit status' "$T/out" || fail "floe $cmd $h: exit codes undocumented"
  done
done
expect_rc 0 "$FLOE" mirror --help
for word in --source --table --warehouse --catalog --name --socket --metrics \
  --memory-limit --log-format --config --print-config SIGTERM PGPASSWORD .pgpass \
  mirror-NAME.json; do
  grep -qF -- "$word" "$T/out" || fail "mirror --help lacks $word"
done
grep -q '^  mirror ' <("$FLOE" --help) || fail "floe --help lacks mirror"

# usage errors: exit 2, naming the problem
expect_rc 2 "$FLOE" mirror
expect_err "warehouse"
expect_rc 2 "$FLOE" mirror --warehouse "$T/w" --bogus 1
expect_err "unknown option '--bogus'"
expect_rc 2 "$FLOE" mirror --warehouse "$T/w" --memory-limit 1X
expect_err "memory-limit"
expect_rc 2 "$FLOE" mirror --warehouse "$T/w" --table
expect_err "needs a value"
expect_rc 2 "$FLOE" mirror --warehouse "$T/w" --print-config=yes
expect_rc 2 "$FLOE" drop --warehouse "$T/w" --table public.a
expect_err "unknown option '--table'"

# --print-config: flags and file merged, the password left out
cat >"$T/floe.conf" <<'EOF'
source = host=db dbname=shop user=u password=hunter2
table = public.a
memory-limit = 1GiB
EOF
expect_rc 0 "$FLOE" mirror --config "$T/floe.conf" --warehouse "$T/w" --table public.b \
  --batch-rows 8192 --print-config
grep -q 'hunter2' "$T/out" && fail "--print-config shows the password"
grep -qx "memory-limit = 1GiB" "$T/out" || fail "config file value missing: $(cat "$T/out")"
grep -qx "table = public.a" "$T/out" || fail "file table missing"
grep -qx "table = public.b" "$T/out" || fail "flag table missing"
grep -qx "batch-rows = 8192" "$T/out" || fail "engine knob missing"
grep -q "^source = .*dbname='shop'" "$T/out" || fail "source missing"
# it parses back
grep -v '^source' "$T/out" >"$T/again.conf"
expect_rc 0 "$FLOE" mirror --config "$T/again.conf" --print-config

# no registry and no source: says how to create the mirror
expect_rc 1 "$FLOE" mirror --warehouse "$T/w" --name m1 --socket "$T/s.sock"
expect_err "give --source"
expect_rc 1 "$FLOE" drop --warehouse "$T/w" --name m1
expect_err "no mirror 'm1'"
# a corrupt registry is named
mkdir -p "$T/w/.floe"
echo '{"format": 1, "name": "m1", "tables": {}}' >"$T/w/.floe/mirror-m1.json"
expect_rc 1 "$FLOE" mirror --warehouse "$T/w" --name m1 --socket "$T/s.sock"
expect_err "mirror-m1.json"
# a bad mirror name
expect_rc 2 "$FLOE" mirror --warehouse "$T/w" --name 'Bad-Name'
echo ok
