#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (the PostgreSQL ledger's contract suite).
#
#   eval "$(scripts/pg-test-cluster.sh start)"   # prints LIPSYNC_TEST_DATABASE_URL=... and LIPSYNC_TEST_PG_DIR=...
#   export LIPSYNC_TEST_DATABASE_URL LIPSYNC_TEST_PG_DIR
#   npm test
#   scripts/pg-test-cluster.sh stop               # stops the cluster in $LIPSYNC_TEST_PG_DIR (or the folder given) and removes it
#
# The cluster lives in a temporary folder, listens on 127.0.0.1 only (on a free port, its socket in that
# folder too), trusts loopback connections and runs without fsync: test data only. PostgreSQL refuses to
# run as root, so as root the cluster belongs to the `postgres` user (Debian's package creates it).
# The binaries: initdb and pg_ctl on PATH, else the newest /usr/lib/postgresql/<version>/bin (Debian).
set -euo pipefail

die() {
  echo "pg-test-cluster: $*" >&2
  exit 1
}

find_bin() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return
  fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && [ -x "$dir/initdb" ] ||
    die "initdb not found (neither on PATH nor in /usr/lib/postgresql/<version>/bin): install PostgreSQL (apt-get install -y postgresql)"
  echo "$dir"
}

# Runs a command as the cluster's owner: root hands it to `postgres`, anyone else runs it as is.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

start() {
  local bin dir port
  bin=$(find_bin)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root, and there is no 'postgres' user to own the cluster (PostgreSQL refuses root): create one, or run as another user"
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/lipsync-pg.XXXXXX")
  chmod 0755 "$dir"
  mkdir -p "$dir/data" "$dir/sock"
  if [ "$(id -u)" = 0 ]; then chown -R postgres: "$dir"; fi
  if ! as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale \
    >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    die "initdb failed in $dir/data (log above)"
  fi
  local tries=0
  while :; do
    port=$(free_port)
    # -w waits until the server accepts connections.
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o \
      "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 3 ]; then
      tail -n 20 "$dir/server.log" >&2 || true
      die "the test cluster did not start (its log above; folder $dir)"
    fi
  done
  echo "pg-test-cluster: PostgreSQL $("$bin/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port, folder $dir" >&2
  echo "LIPSYNC_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
  echo "LIPSYNC_TEST_PG_DIR=$dir"
}

stop() {
  local dir=${1:-${LIPSYNC_TEST_PG_DIR:-}}
  [ -n "$dir" ] || die "which cluster? pass its folder, or set LIPSYNC_TEST_PG_DIR (printed by start)"
  [ -d "$dir/data" ] || die "$dir is not a test cluster folder (no data/ in it)"
  local bin
  bin=$(find_bin)
  # Immediate: the data are thrown away anyway.
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  echo "pg-test-cluster: stopped and removed $dir" >&2
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*) die "usage: $0 start | stop [folder]" ;;
esac
