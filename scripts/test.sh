#!/usr/bin/env bash
# Run the test suite against a throwaway PostgreSQL + Redis (`make test`).
#
#   scripts/test.sh [PYTEST ARGS...]
#   make test PYTEST_ARGS='-k "import and not slow" -x'
#
# PYTEST_ARGS is split like a shell command line (quotes work); arguments
# given to the script are appended after it. pytest's exit code is returned.
set -euo pipefail
LOG_PREFIX="test"
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$LABELHUB_ROOT"

ensure_venv dev

args=()
if [[ -n ${PYTEST_ARGS:-} ]]; then
    eval "args=($PYTEST_ARGS)"
fi
args+=("$@")

# Playwright's sync API runs an event loop in the test thread; Django would
# otherwise refuse ORM calls from it (SynchronousOnlyOperation).
export DJANGO_ALLOW_ASYNC_UNSAFE=true
# labelhub.settings turns the production knobs (https redirect, secure
# cookies, required SECRET_KEY) on when DEBUG is off; the test client talks
# plain http, so tests load settings with DEBUG=true unless told otherwise.
# (pytest-django still runs each test with settings.DEBUG = False.)
export DEBUG="${DEBUG:-true}"
export PYTHONPATH="$LABELHUB_ROOT${PYTHONPATH:+:$PYTHONPATH}"

# The embedded model (llama.cpp server + SmolLM2) for the end-to-end generation tests: built
# once per machine (about 10 minutes on 2 cores), then cached under ~/.cache/labelhub.
log "preparing the embedded model server (cached after the first build)"
bash "$LABELHUB_ROOT/scripts/embedded-model.sh" >/dev/null
export LABELHUB_REQUIRE_MODEL=1

exec "$LABELHUB_ROOT/scripts/with-services.sh" "$LABELHUB_ROOT/.venv/bin/pytest" "${args[@]}"
