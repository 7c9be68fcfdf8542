#!/usr/bin/env bash
# Install the LOWEST versions pyproject.toml allows for every direct dependency (what a
# `pip install gyre` user may get) into .venv-floor and run the unit and integration tests
# there, so a wrong floor fails CI instead of a user. Resolution is pinned in time by
# [tool.uv] exclude-newer, so this gives the same versions on every machine.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=$(bash scripts/ensure_uv.sh)
venv=.venv-floor
[ -x "$venv/bin/python" ] || "$uv" venv --quiet --python "${PYTHON:-python3}" "$venv"
"$uv" pip install --quiet --python "$venv/bin/python" --resolution lowest-direct -e '.[test]'
"$uv" pip list --python "$venv/bin/python" 2>/dev/null |
  grep -iE '^(grpcio|protobuf|aiohttp|cryptography|msgspec|orjson|hiredis|prometheus-client|uvloop|pyyaml) ' |
  tr -s ' ' | paste -sd ',' | sed 's/^/floors: /'
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit tests/integration "$@"
