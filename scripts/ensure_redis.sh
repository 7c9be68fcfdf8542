#!/usr/bin/env bash
# Make redis-server, redis-sentinel and redis-cli available (Debian packages redis-server,
# redis-sentinel, redis-tools); the Redis engine integration tests start them on free
# loopback ports.  Idempotent and quiet: does nothing when all three are already on PATH.
# Installing needs root (apt-get); a failure is reported on stderr with a non-zero exit.
set -euo pipefail

have_all() {
  command -v redis-server >/dev/null 2>&1 &&
    command -v redis-sentinel >/dev/null 2>&1 &&
    command -v redis-cli >/dev/null 2>&1
}

have_all && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_redis: redis-server is missing and apt-get is not available" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "ensure_redis: need root to install redis" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends \
  redis-server redis-sentinel redis-tools; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "ensure_redis: apt-get install failed" >&2
  exit 1
fi
# The package may start a system redis-server on :6379; the tests never use it.
have_all || { echo "ensure_redis: redis binaries still missing after install" >&2; exit 1; }
