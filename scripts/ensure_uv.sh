#!/usr/bin/env bash
# Print the path of a uv binary of the pinned version (installing it into .tools/uv with pip
# the first time). Progress goes to stderr so callers can use "$(scripts/ensure_uv.sh)".
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
uv=.tools/uv/bin/uv
if [ -x "$uv" ] && [ "$("$uv" --version 2>/dev/null | cut -d' ' -f2)" = "$UV_VERSION" ]; then
  echo "$PWD/$uv"
  exit 0
fi
echo "ensure_uv: installing uv $UV_VERSION into .tools/uv" >&2
rm -rf .tools/uv
"${PYTHON:-python3}" -m venv .tools/uv
.tools/uv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" >&2
echo "$PWD/$uv"
