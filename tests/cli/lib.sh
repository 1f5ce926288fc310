# shellcheck shell=bash disable=SC2034
# Helpers for tests/cli/test_*.sh (sourced, not run). Each test gets a fresh
# temporary directory $T, removed on exit.
FLOE=${FLOE_BIN:?set FLOE_BIN to the floe binary}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run CMD...: runs CMD with stdout in $T/out, stderr in $T/err, status in $rc.
run() {
  set +e
  "$@" >"$T/out" 2>"$T/err"
  rc=$?
  set -e
}

# expect_rc CODE CMD...: runs CMD and fails unless it exits with CODE.
expect_rc() {
  local want=$1
  shift
  run "$@"
  [ "$rc" = "$want" ] || fail "exit $rc, want $want: $* -- stderr: $(cat "$T/err")"
}

# expect_err TEXT: the last run's stderr contains TEXT.
expect_err() {
  grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1': $(cat "$T/err")"
}

# same A B: files are byte-identical.
same() {
  if ! cmp -s "$1" "$2"; then
    diff -u "$1" "$2" | head -60 >&2 || true
    fail "$1 and $2 differ"
  fi
}
