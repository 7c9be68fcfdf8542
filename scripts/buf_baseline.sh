#!/usr/bin/env bash
# Store the protos of a release as the baseline `buf breaking` compares proto/ against
# (tests/unit/test_buf_lint.py): a buf image at tests/buf/release-v<version>.binpb, replacing
# the previous one. Run it at release time, on the release commit or with its tag:
#   bash scripts/buf_baseline.sh            # the committed tree at HEAD
#   bash scripts/buf_baseline.sh v0.2.0     # any git ref
# then commit tests/buf/. Uses `git archive`, so uncommitted edits never leak into a baseline.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:-HEAD}
buf=.venv/bin/buf
[ -x "$buf" ] || { echo "buf_baseline: $buf missing: run scripts/bootstrap.sh test" >&2; exit 1; }
version=$(git show "$ref:pyproject.toml" | sed -n 's/^version = "\(.*\)"$/\1/p' | head -n 1)
[ -n "$version" ] || { echo "buf_baseline: no project version in $ref:pyproject.toml" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive "$ref" proto buf.yaml | tar -x -C "$tmp"
out="tests/buf/release-v$version.binpb"
"$buf" build "$tmp" --exclude-source-info -o "$tmp/image.binpb"
rm -f tests/buf/release-v*.binpb
mv "$tmp/image.binpb" "$out"
echo "$out"
