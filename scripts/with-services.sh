#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL and Redis.
#
#   scripts/with-services.sh CMD [ARGS...]
#
# Installs what is missing (Debian packages postgresql, redis-server,
# chromium, docker-compose), creates a PostgreSQL cluster in a temp dir and a
# Redis server, each on a free port on 127.0.0.1, exports
#
#   DATABASE_URL=postgres://labelhub:labelhub@127.0.0.1:PGPORT/labelhub
#   CELERY_BROKER_URL=REDIS_URL=redis://127.0.0.1:REDISPORT/0
#
# runs CMD, then always stops both servers, deletes the temp dir and exits
# with CMD's exit code. The cluster trades durability for speed (fsync off).
# The role `labelhub` is a superuser so tests can create their own databases.
set -euo pipefail

LOG_PREFIX=with-services
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ $# -eq 0 ]]; then
    echo "usage: $0 CMD [ARGS...]" >&2
    exit 2
fi

ensure_debian_packages postgresql redis-server chromium docker-compose

PG_BIN=$(pg_bindir) || die "PostgreSQL server binaries not found under /usr/lib/postgresql"
read -r PG_PORT REDIS_PORT < <(free_ports 2)

SERVICES_DIR=$(mktemp -d /tmp/labelhub-services.XXXXXX)
# mktemp makes it 0700; the postgres user must be able to traverse it.
chmod 755 "$SERVICES_DIR"
PG_DIR=$SERVICES_DIR/pg          # owned by the server's user; also holds the socket
PGDATA_DIR=$PG_DIR/data
REDIS_DIR=$SERVICES_DIR/redis
mkdir -p "$PG_DIR" "$REDIS_DIR"

PG_STARTED=0
REDIS_PID=""

# PostgreSQL refuses to run as root: as root, run its tools as `postgres`.
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        (cd "$SERVICES_DIR" && runuser -u postgres -- "$@")
    else
        (cd "$SERVICES_DIR" && "$@")
    fi
}
if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "no 'postgres' user (is the postgresql package installed?)"
    chown postgres:postgres "$PG_DIR"
fi

# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    trap '' PIPE  # a closed terminal/pipe must not cut the cleanup short
    set +e
    if [[ $PG_STARTED -eq 1 ]]; then
        if ! as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w -t 30 stop >/dev/null 2>&1; then
            # Last resort: the postmaster's pid is the first line of postmaster.pid.
            local pm
            pm=$(head -n 1 "$PGDATA_DIR/postmaster.pid" 2>/dev/null)
            [[ -n $pm ]] && kill -KILL "$pm" 2>/dev/null
        fi
    fi
    if [[ -n $REDIS_PID ]]; then
        kill -TERM "$REDIS_PID" 2>/dev/null
        for _ in $(seq 50); do
            kill -0 "$REDIS_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$REDIS_PID" 2>/dev/null
        wait "$REDIS_PID" 2>/dev/null
    fi
    rm -rf "$SERVICES_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

show_log() {
    log "---- last lines of $1 ----"
    tail -n 40 "$1" >&2 2>/dev/null || true
}

# --- PostgreSQL -------------------------------------------------------------
as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$SERVICES_DIR/initdb.log" 2>&1 \
    || { show_log "$SERVICES_DIR/initdb.log"; die "initdb failed"; }
cat >>"$PGDATA_DIR/postgresql.conf" <<CONF

# --- throwaway test cluster (scripts/with-services.sh) ---
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
PG_STARTED=1
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -l "$PG_DIR/postgres.log" -w -t 60 start >/dev/null \
    || { show_log "$PG_DIR/postgres.log"; die "PostgreSQL did not start"; }
wait_until 30 "PostgreSQL on port $PG_PORT" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" \
    || { show_log "$PG_DIR/postgres.log"; die "PostgreSQL is not ready"; }
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres \
    -c "CREATE ROLE labelhub LOGIN SUPERUSER CREATEDB PASSWORD 'labelhub'" \
    -c "CREATE DATABASE labelhub OWNER labelhub" >/dev/null

# --- Redis (no persistence) -------------------------------------------------
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$REDIS_DIR" \
    --save '' --appendonly no --daemonize no --logfile "$REDIS_DIR/redis.log" &
REDIS_PID=$!
# shellcheck disable=SC2317  # called through wait_until
redis_ready() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }
wait_until 30 "Redis on port $REDIS_PORT" redis_ready \
    || { show_log "$REDIS_DIR/redis.log"; die "Redis is not ready"; }

export DATABASE_URL="postgres://labelhub:labelhub@127.0.0.1:$PG_PORT/labelhub"
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export REDIS_URL=$CELERY_BROKER_URL
export LABELHUB_SERVICES_DIR=$SERVICES_DIR
log "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT"

# Run in the foreground (keeps stdin and Ctrl-C behaviour); the EXIT trap
# cleans up and exits with the command's status.
set +e
"$@"
rc=$?
set -e
exit "$rc"
