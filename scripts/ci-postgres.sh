#!/usr/bin/env bash
# A throwaway PostgreSQL on 127.0.0.1 for the server test suites.
#
#   eval "$(bash scripts/ci-postgres.sh)"      # exports AGENT_WARDEN_TEST_PG_URL
#   bash scripts/ci-postgres.sh stop            # stops it
#
# Installs Debian's `postgresql` with apt-get when no server binaries are present (as root), creates a
# cluster in $AW_PG_DIR (default /tmp/agent-warden-pg) owned by the non-root `postgres` user (PostgreSQL
# refuses to run as root), starts it on 127.0.0.1:$AW_PG_PORT (default 54329; no other address, trust
# authentication for loopback only), creates the database agent_warden_test and prints the export line on
# standard output. Everything else goes to standard error. Running it again reuses a running cluster.
set -euo pipefail

PORT="${AW_PG_PORT:-54329}"
DIR="${AW_PG_DIR:-/tmp/agent-warden-pg}"
DB="${AW_PG_DB:-agent_warden_test}"
log() { echo "ci-postgres: $*" >&2; }

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

BIN="$(find_bin || true)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  if [ "$(id -u)" != 0 ]; then
    log "PostgreSQL server binaries not found and not root: apt-get install postgresql first"
    exit 1
  fi
  log "installing postgresql (apt-get)"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
  BIN="$(find_bin)"
fi

# Run the server tools as a non-root user.
if [ "$(id -u)" = 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  as_pg() { runuser -u postgres -- "$@"; }
  OWNER=postgres
else
  as_pg() { "$@"; }
  OWNER="$(id -un)"
fi

if [ "${1:-}" = "stop" ]; then
  if [ -f "$DIR/data/postmaster.pid" ]; then as_pg "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true; fi
  exit 0
fi

mkdir -p "$DIR"
chown "$OWNER" "$DIR"
chmod 700 "$DIR"

if ! as_pg "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
  if [ ! -f "$DIR/data/PG_VERSION" ]; then
    log "initialising a cluster in $DIR/data"
    as_pg "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust --encoding=UTF8 --no-sync >&2
  fi
  rm -f "$DIR/data/postmaster.pid.stale"
  log "starting PostgreSQL on 127.0.0.1:$PORT"
  # fsync=off: a test cluster; the suites kill the Warden server, never PostgreSQL itself.
  as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c max_connections=200" start >&2
fi

if ! as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
  as_pg "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -qc "CREATE DATABASE $DB" >&2
fi

URL="postgres://postgres@127.0.0.1:${PORT}/${DB}"
log "ready: $URL"
echo "export AGENT_WARDEN_TEST_PG_URL=$URL"
