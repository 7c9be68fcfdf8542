#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs Python deps (.venv, exactly as uv.lock
# pins them), redis-server, nats-server, chromium (admin UI browser tests), the Helm binary and
# the Node packages the tests need, runs lint and type checks, then the tests in two pytest
# runs (the centrifuge-python SDK ships its own copy of client.proto's protobuf module, which
# cannot be loaded in one process with ours, so SDK tests run apart).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== setup"
scripts/bootstrap.sh test
[ -x scripts/ensure_redis.sh ] && bash scripts/ensure_redis.sh
[ -x scripts/ensure_nats.sh ] && bash scripts/ensure_nats.sh
[ -x scripts/ensure_chromium.sh ] && bash scripts/ensure_chromium.sh
[ -x scripts/ensure_helm.sh ] && bash scripts/ensure_helm.sh >/dev/null
[ -x scripts/ensure_node_deps.sh ] && bash scripts/ensure_node_deps.sh
[ -x scripts/ensure_chromium.sh ] && bash scripts/ensure_chromium.sh

echo "== lint and types"
.venv/bin/ruff check service tests bench scripts
.venv/bin/ruff format --check service tests bench scripts
.venv/bin/mypy

status=0
echo "== lowest allowed dependency versions (what pip install gyre may give)"
bash scripts/check_floors.sh || status=$?
echo "== unit, integration and chart tests"
.venv/bin/python -m pytest -q -p no:cacheprovider tests --ignore=tests/e2e "$@" || status=$?
echo "== end-to-end tests (real server process, official SDKs)"
.venv/bin/python -m pytest -q -p no:cacheprovider tests/e2e "$@" || status=$?
exit $status
