# shellcheck shell=bash
# Shared helpers for the developer/CI scripts. Source it; it does nothing by itself.
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LABELHUB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export LABELHUB_ROOT

log() { printf '%s: %s\n' "${LOG_PREFIX:-labelhub}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------
# Debian packages: apt only runs when something is missing, and `apt-get
# update` at most once per script run.
# ---------------------------------------------------------------------------
_LABELHUB_APT_UPDATED=0

apt_install() {
    local sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install Debian packages: $*"
        sudo=(sudo)
    fi
    log "installing Debian packages: $*"
    if [[ $_LABELHUB_APT_UPDATED -eq 0 ]]; then
        "${sudo[@]}" apt-get update -qq
        _LABELHUB_APT_UPDATED=1
    fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@"
}

# Newest PostgreSQL server bin dir (/usr/lib/postgresql/N/bin), or nothing.
pg_bindir() {
    local initdb
    initdb=$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -n 1)
    [[ -n $initdb ]] && dirname "$initdb"
}

# ensure_debian_packages NAME... where NAME is one of the known keys below.
# Installs (in one apt call) whichever of them is missing.
ensure_debian_packages() {
    local key missing=()
    for key in "$@"; do
        case $key in
            postgresql) [[ -n $(pg_bindir) ]] || missing+=(postgresql) ;;
            redis-server) { command -v redis-server && command -v redis-cli; } >/dev/null 2>&1 || missing+=(redis-server) ;;
            chromium) command -v chromium >/dev/null 2>&1 || missing+=(chromium) ;;
            docker-compose) command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose) ;;
            *) command -v "$key" >/dev/null 2>&1 || missing+=("$key") ;;
        esac
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        apt_install "${missing[@]}"
    fi
}

# ---------------------------------------------------------------------------
# Python virtualenv in .venv, installed from one of two locks:
#   requirements.lock      what web, worker and beat import (`make run`, the Docker image)
#   requirements-dev.lock  the same pins plus the test, lint and bench tools (`make test`, `make lint`)
# The stamp .venv/.requirements.stamp records "<lock file> <sha256>" after the last good install;
# the install is skipped while it matches. A venv holding the dev lock also satisfies the runtime
# one (same pins, more packages), so `make run` after `make test` installs nothing.
# ---------------------------------------------------------------------------
_find_python311() {
    local py
    for py in "${PYTHON:-}" python3.11 python3; do
        [[ -n $py ]] || continue
        command -v "$py" >/dev/null 2>&1 || continue
        if "$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$py"
            return 0
        fi
    done
    return 1
}

_lock_stamp() {  # _lock_stamp LOCK_NAME: "<name> <sha256>" of that lock file
    [[ -f $LABELHUB_ROOT/$1 ]] || die "missing $LABELHUB_ROOT/$1"
    printf '%s %s\n' "$1" "$(sha256sum "$LABELHUB_ROOT/$1" | cut -d' ' -f1)"
}

# ensure_venv [runtime|dev]: .venv with that lock installed (default: runtime).
ensure_venv() {
    local kind=${1:-runtime} venv="$LABELHUB_ROOT/.venv" lock want have="" py
    case $kind in
        runtime) lock=requirements.lock ;;
        dev) lock=requirements-dev.lock ;;
        *) die "ensure_venv: unknown kind $kind (runtime or dev)" ;;
    esac
    local stamp="$venv/.requirements.stamp"
    want=$(_lock_stamp "$lock")

    # A venv whose interpreter vanished (pyenv upgrade, copied tree) is rebuilt.
    if [[ -d $venv ]] && ! "$venv/bin/python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        log "removing unusable virtualenv $venv"
        rm -rf "$venv"
    fi
    [[ -f $stamp ]] && have=$(cat "$stamp")
    if [[ $have == "$want" ]] || { [[ $kind == runtime ]] && [[ $have == "$(_lock_stamp requirements-dev.lock)" ]]; }; then
        return 0
    fi
    if [[ ! -x $venv/bin/python ]]; then
        py=$(_find_python311) || die "Python 3.11 not found (set PYTHON=/path/to/python3.11)"
        if ! "$py" -c 'import ensurepip, venv' 2>/dev/null; then
            apt_install python3-venv
        fi
        log "creating virtualenv with $py"
        "$py" -m venv "$venv"
    fi
    log "installing $lock into .venv"
    rm -f "$stamp" "$venv/.requirements.lock.sha256"
    "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$LABELHUB_ROOT/$lock"
    printf '%s\n' "$want" >"$stamp"
}

# ---------------------------------------------------------------------------
# Local settings file for `make run`: the first run writes .env (or
# $LABELHUB_ENV_FILE) with DEBUG=true and a generated SECRET_KEY, readable by
# the owner only. labelhub.settings reads that file, so `.venv/bin/python
# manage.py ...` in a new shell finds the same settings as the server. An
# existing file is never touched: it is the user's configuration.
# ---------------------------------------------------------------------------
ensure_local_env_file() {
    local file=${LABELHUB_ENV_FILE:-$LABELHUB_ROOT/.env} key
    [[ -e $file ]] && return 0
    key=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')
    (
        umask 077
        cat >"$file" <<EOF
# Written by make run for local development (see .env.example for every setting).
# labelhub.settings reads this file, so manage.py works in any shell. Not for production.
DEBUG=true
SECRET_KEY=$key
EOF
    )
    log "wrote $file (DEBUG=true, a generated SECRET_KEY) for local development"
}

# ---------------------------------------------------------------------------
# Ports and processes.
# ---------------------------------------------------------------------------

# free_ports N: print N distinct free TCP ports on 127.0.0.1 (all held open
# at once while choosing, so they differ).
free_ports() {
    python3 - "${1:-1}" <<'PY'
import socket
import sys

socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# port_is_free PORT: can we bind 0.0.0.0:PORT right now?
port_is_free() {
    python3 - "$1" <<'PY'
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("0.0.0.0", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
}

# tcp_open HOST PORT: is something accepting connections there?
tcp_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# wait_until TIMEOUT_SECONDS DESCRIPTION CMD...: poll CMD until it succeeds.
wait_until() {
    local timeout=$1 what=$2
    shift 2
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            log "timed out after ${timeout}s waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

# stop_group PGID [TIMEOUT]: SIGTERM a process group, SIGKILL it if it is
# still there after TIMEOUT seconds (default 10).
stop_group() {
    local pgid=$1 timeout=${2:-10}
    [[ -n $pgid ]] || return 0
    kill -TERM -- "-$pgid" 2>/dev/null || return 0
    local deadline=$((SECONDS + timeout))
    while kill -0 -- "-$pgid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            kill -KILL -- "-$pgid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
    wait "$pgid" 2>/dev/null || true
}
