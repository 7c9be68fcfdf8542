#!/usr/bin/env bash
# Make nats-server available (Debian package nats-server); the NATS broker tests start it on
# free loopback ports.  Idempotent and quiet: does nothing when it is already installed
# (Debian puts it in /usr/sbin).  Installing needs root (apt-get); a failure is reported on
# stderr with a non-zero exit.
set -euo pipefail

have() {
  command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || [ -x /usr/bin/nats-server ]
}

have && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_nats: nats-server is missing and apt-get is not available" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "ensure_nats: need root to install nats-server" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $sudo apt-get install -y -qq --no-install-recommends nats-server ||
  { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends nats-server; }; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "ensure_nats: apt-get install failed" >&2
  exit 1
fi
# The package may start a system nats-server on :4222; the tests never use it.
have || { echo "ensure_nats: nats-server still missing after install" >&2; exit 1; }
