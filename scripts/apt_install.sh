#!/usr/bin/env bash
# apt_install.sh NAME PACKAGE...: install Debian PACKAGEs quietly (apt-get update + install
# --no-install-recommends), as root or through sudo.  NAME prefixes the error messages.  On
# failure the apt-get output goes to stderr and the exit code is non-zero.  Used by the
# scripts/ensure_*.sh scripts once they found something missing.
set -euo pipefail
name=$1
shift
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$name: $* missing and apt-get is not available" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "$name: need root to install $*" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "$@"; } \
  >"$log" 2>&1; then
  cat "$log" >&2
  echo "$name: apt-get install $* failed" >&2
  exit 1
fi
