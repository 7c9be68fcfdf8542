#!/usr/bin/env bash
# Create .venv with exactly the versions pinned in uv.lock (runtime set; with "test", the test
# extra too). uv itself is installed at a pinned version into .tools/uv the first time.
# Idempotent and fast when nothing changed (uv checks the venv against the lock).
#   scripts/bootstrap.sh        runtime dependencies (keeps anything else already installed)
#   scripts/bootstrap.sh test   runtime + test extra, exactly as locked
set -euo pipefail
cd "$(dirname "$0")/.."
uv=$(bash scripts/ensure_uv.sh)
PY=${PYTHON:-python3}
if [ "${1:-run}" = "test" ]; then
  "$uv" sync --quiet --frozen --python "$PY" --extra test
else
  "$uv" sync --quiet --frozen --python "$PY" --inexact
fi
