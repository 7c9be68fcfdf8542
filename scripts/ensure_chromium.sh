#!/usr/bin/env bash
# Make Debian's `chromium` available: the WebTransport browser test runs centrifuge-js in
# headless Chromium against the HTTP/3 listener.  Idempotent and quiet: does nothing when
# `chromium` is already on PATH.  Installing needs root (apt-get).
set -euo pipefail

command -v chromium >/dev/null 2>&1 && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: chromium is missing and apt-get is not available" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "ensure_chromium: need root to install chromium" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends \
  chromium; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "ensure_chromium: apt-get install failed" >&2
  exit 1
fi
command -v chromium >/dev/null 2>&1 || { echo "ensure_chromium: still missing after install" >&2; exit 1; }
