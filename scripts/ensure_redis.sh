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
bash "$(dirname "$0")/apt_install.sh" ensure_redis redis-server redis-sentinel redis-tools
# The package may start a system redis-server on :6379; the tests never use it.
have_all || { echo "ensure_redis: redis binaries still missing after install" >&2; exit 1; }
