#!/usr/bin/env bash
# Installs the npm packages of the JS end-to-end tests (tests/e2e/js: centrifuge, ws,
# eventsource) with `npm ci` from the committed package-lock.json, when node_modules is
# missing or older than the lock file.  Installs Node.js from Debian's packages when absent.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=tests/e2e/js

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "ensure_node_deps: installing nodejs and npm from Debian packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "ensure_node_deps: node/npm not found; JS e2e tests will be skipped" >&2
    exit 0
  fi
fi

stamp="$dir/node_modules/.gyre-lock.sha256"
want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -d "$dir/node_modules/centrifuge" ]; then
  exit 0
fi
echo "ensure_node_deps: npm ci in $dir"
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
echo "$want" > "$stamp"
