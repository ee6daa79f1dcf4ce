#!/usr/bin/env bash
# Create .venv and install requirements.lock into it (no-op when up to date).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ensure_venv
