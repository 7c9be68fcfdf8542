#!/usr/bin/env bash
# Start the server on 127.0.0.1:8000 with the memory engine and a development config.
# The config (config.json) is generated with random secrets when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh run
if [ ! -f config.json ]; then
  .venv/bin/gyre genconfig -c config.json
  echo "generated config.json (token_hmac_secret_key, api_key ... are random)"
fi
exec .venv/bin/gyre -c config.json --address 127.0.0.1 --port 8000 --health "$@"
