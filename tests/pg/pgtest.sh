# shellcheck shell=bash
# A private, throw-away Postgres server for tests (sourced, not run).
#
#   . tests/pg/pgtest.sh
#   pg_start            # initdb + start; exports PGHOST PGPORT PGUSER PGDATABASE
#   psql -c 'select 1'  # any libpq client now talks to it
#   # pg_stop runs from an EXIT trap (also on failure); call it yourself when
#   # your script installs its own EXIT trap afterwards.
#
# The server lives in a fresh temp directory (data/, sock/, server.log),
# listens on 127.0.0.1 at a free port and its own socket directory, trusts
# local connections, and is configured for logical decoding (wal_level
# logical, replication slots and WAL senders). fsync is off: test data only.
# It never touches any other server. As root the server runs as the postgres
# user (Postgres refuses root); otherwise as the current user.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PGTEST_DIR=""

# _pg_as CMD...: runs CMD as the server's user.
_pg_as() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# _pg_port_free PORT: nothing accepts connections on 127.0.0.1:PORT.
_pg_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pg_stop() {
  [ -n "$PGTEST_DIR" ] || return 0
  if [ -f "$PGTEST_DIR/data/postmaster.pid" ]; then
    _pg_as "$PG_BIN/pg_ctl" -D "$PGTEST_DIR/data" -m fast -w stop \
      >/dev/null 2>&1 || true
  fi
  rm -rf "$PGTEST_DIR"
  PGTEST_DIR=""
}

pg_start() {
  [ -x "$PG_BIN/initdb" ] || {
    echo "pgtest: no initdb in $PG_BIN (set PG_BIN)" >&2
    return 1
  }
  # shellcheck disable=SC2154 # pgtest_rc is assigned inside the trap
  trap 'pgtest_rc=$?; pg_stop; exit $pgtest_rc' EXIT
  PGTEST_DIR=$(mktemp -d "${TMPDIR:-/tmp}/floe-pg-XXXXXX")
  # the server user must be able to reach its directory
  chmod 755 "$PGTEST_DIR"
  local d
  d=$(dirname "$PGTEST_DIR")
  while [ "$d" != / ]; do
    if [ "$(( 0$(stat -c %a "$d") & 1 ))" -eq 0 ]; then
      echo "pgtest: $d is not world-searchable; set TMPDIR elsewhere" >&2
      return 1
    fi
    d=$(dirname "$d")
  done
  mkdir "$PGTEST_DIR/sock"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$PGTEST_DIR" "$PGTEST_DIR/sock"
  fi
  if ! _pg_as "$PG_BIN/initdb" -D "$PGTEST_DIR/data" -U postgres \
    --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGTEST_DIR/initdb.log" 2>&1; then
    echo "pgtest: initdb failed:" >&2
    cat "$PGTEST_DIR/initdb.log" >&2
    return 1
  fi
  cp "$PGTEST_DIR/data/postgresql.conf" "$PGTEST_DIR/postgresql.conf.orig"
  local tries port
  for tries in 1 2 3 4 5 6 7 8; do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    _pg_port_free "$port" || continue
    cp "$PGTEST_DIR/postgresql.conf.orig" "$PGTEST_DIR/data/postgresql.conf"
    cat >>"$PGTEST_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$PGTEST_DIR/sock'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
fsync = off
CONF
    # someone may take the port between the check and the start: retry
    if _pg_as "$PG_BIN/pg_ctl" -D "$PGTEST_DIR/data" \
      -l "$PGTEST_DIR/server.log" -w start >/dev/null 2>&1; then
      export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
      export PGTEST_DIR PGTEST_SOCK="$PGTEST_DIR/sock"
      return 0
    fi
    echo "pgtest: start on port $port failed (try $tries)" >&2
  done
  echo "pgtest: could not start postgres; log:" >&2
  tail -20 "$PGTEST_DIR/server.log" >&2 || true
  return 1
}
