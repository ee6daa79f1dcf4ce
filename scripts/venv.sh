#!/usr/bin/env bash
# Create .venv and install a lock into it (no-op when up to date).
#
#   scripts/venv.sh          requirements-dev.lock: runtime + test, lint and bench tools (`make venv`)
#   scripts/venv.sh runtime  requirements.lock only: what `make run` and the Docker image install
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_venv "${1:-dev}"
