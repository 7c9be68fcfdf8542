#!/usr/bin/env python3
"""Refresh uv.lock to today's releases and regenerate the stubs with the newest generator.

One command does the whole refresh, so the lock, the generator pin, the stubs in generated/ and
the grpcio/protobuf floors can never drift apart:

    python3 scripts/relock.py            # then: scripts/test.sh, and commit what changed

Steps: move ``[tool.uv] exclude-newer`` to now; re-resolve every package to its newest release
(``uv lock --upgrade``) with the generator unpinned; pin ``grpcio-tools`` to the release the lock
chose; regenerate generated/ with it; raise the grpcio/protobuf floors to the versions the new
stubs check at import; lock again and sync .venv. tests/unit/test_dependency_floors.py and
tests/unit/test_generated_fresh.py check the result.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def uv() -> str:
    out = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ensure_uv.sh")],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def run(*cmd: str) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def sub(pattern: str, repl: str, text: str) -> str:
    new, count = re.subn(pattern, repl, text, flags=re.M)
    if count != 1:
        raise SystemExit(f"relock: expected one match of {pattern!r} in pyproject.toml")
    return new


def locked_version(name: str) -> str:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    for package in lock["package"]:
        if package["name"] == name:
            return str(package["version"])
    raise SystemExit(f"relock: {name} is not in uv.lock")


def stub_header(pattern: str, glob: str) -> str:
    versions = set()
    for path in (ROOT / "generated").rglob(glob):
        match = re.search(pattern, path.read_text(), re.M)
        if match:
            versions.add(match.group(1))
    if len(versions) != 1:
        raise SystemExit(f"relock: expected one version in generated/{glob}, found {versions}")
    return versions.pop()


def main() -> int:
    tool = uv()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = PYPROJECT.read_text()
    text = sub(r'^exclude-newer = ".*"$', f'exclude-newer = "{now}"', text)
    text = sub(r'"grpcio-tools==[0-9.]+"', '"grpcio-tools"', text)
    PYPROJECT.write_text(text)
    run(tool, "lock", "--upgrade")

    generator = locked_version("grpcio-tools")
    PYPROJECT.write_text(sub(r'"grpcio-tools"', f'"grpcio-tools=={generator}"', text))
    run(tool, "sync", "--frozen", "--extra", "test")
    run(str(ROOT / ".venv" / "bin" / "python"), "scripts/gen_protos.py")

    grpc_floor = stub_header(r"^GRPC_GENERATED_VERSION = '([0-9.]+)'", "*_pb2_grpc.py")
    gencode = stub_header(r"^# Protobuf Python Version: ([0-9.]+)", "*_pb2.py")
    text = PYPROJECT.read_text()
    # grpcio-health-checking/-reflection release on their own cadence (their floors are the
    # first releases that accept protobuf's current major; scripts/check_floors.sh proves them).
    text = sub(r'"grpcio>=[0-9.]+"', f'"grpcio>={grpc_floor}"', text)
    major = int(gencode.split(".")[0])
    text = sub(r'"protobuf>=[0-9.]+,<[0-9]+"', f'"protobuf>={gencode},<{major + 1}"', text)
    PYPROJECT.write_text(text)
    run(tool, "lock")
    run(tool, "sync", "--frozen", "--extra", "test")
    print(
        f"relock: generator grpcio-tools=={generator}; floors grpcio>={grpc_floor}, "
        f"protobuf>={gencode},<{major + 1}; resolved as of {now}"
    )
    print("relock: now run scripts/test.sh and commit pyproject.toml, uv.lock and generated/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
